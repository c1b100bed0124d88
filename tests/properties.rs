//! Property tests: invariants of the estimators on random valid inputs, and CSV round
//! trips for each layout.

use darkfigure::Estimate;
use darkfigure::data::CaptureHistories;
use darkfigure::data::csv_io::{self, ReadOptions};
use darkfigure::two_source::{self, TwoSample};
use proptest::prelude::*;

fn check(e: &Estimate) -> Result<(), TestCaseError> {
    let n = e.observed as f64;
    prop_assert!(e.n_hat.is_finite(), "{e}");
    prop_assert!(e.n_hat >= n, "N̂ {} below observed {n}", e.n_hat);
    prop_assert!(e.se >= 0.0 && !e.se.is_nan(), "{e}");
    prop_assert!(
        e.interval.lower <= e.n_hat && e.n_hat <= e.interval.upper,
        "{e}"
    );
    prop_assert!(e.interval.lower >= n - 1e-9, "{e}");
    prop_assert!((e.dark_figure - (e.n_hat - n)).abs() < 1e-6);
    Ok(())
}

fn two_sample() -> impl Strategy<Value = TwoSample> {
    (0u64..3000, 0u64..3000)
        .prop_flat_map(|(n1, n2)| (Just(n1), Just(n2), 0..=n1.min(n2)))
        .prop_filter("some unit seen", |(n1, n2, _)| n1 + n2 > 0)
        .prop_map(|(n1, n2, m)| TwoSample::new(n1, n2, m).unwrap())
}

fn histories() -> impl Strategy<Value = CaptureHistories> {
    (1usize..=8)
        .prop_flat_map(|t| {
            let max = (1u64 << t) - 1;
            (
                Just(t),
                prop::collection::vec((1..=max, 0u64..6, 0u8..3), 1..25),
            )
        })
        .prop_filter("some unit seen", |(_, rows)| rows.iter().any(|r| r.1 > 0))
        .prop_map(|(t, rows)| {
            let h = rows.iter().map(|r| r.0).collect();
            let f = rows.iter().map(|r| r.1).collect();
            let strata: Vec<String> = rows
                .iter()
                .map(|r| ["buyer", "seller", "x"][r.2 as usize].to_string())
                .collect();
            CaptureHistories::new(t, h, f)
                .unwrap()
                .with_strata(&strata)
                .unwrap()
        })
}

/// Proptest configuration with the random stream pinned (ChaCha, fixed seed), so CI meets
/// the same cases on every run; saved regressions (`*.proptest-regressions`) replay first.
/// Edit the seed here to explore new cases deliberately.
fn pinned(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6461_726b_0001),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(pinned(300))]

    #[test]
    fn two_source_invariants(s in two_sample(), level in 0.5f64..0.999) {
        for r in [two_source::lincoln_petersen(&s, level), two_source::chapman(&s, level), two_source::bailey(&s, level)] {
            match r {
                Ok(e) => check(&e)?,
                Err(darkfigure::Error::NoRecaptures { .. }) => prop_assert_eq!(s.m, 0),
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            }
        }
    }

    #[test]
    fn multi_occasion_invariants(h in histories(), level in 0.5f64..0.999) {
        for (_, r) in two_source::all(&h, level) {
            match r {
                Ok(e) => check(&e)?,
                Err(darkfigure::Error::EstimateDoesNotExist { .. } | darkfigure::Error::NoRecaptures { .. }) => {}
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            }
        }
    }

    #[test]
    fn wide_round_trip(h in histories()) {
        let mut buf = Vec::new();
        csv_io::write_wide(&h, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let back = csv_io::read_histories_str(&text, "rt.csv", &ReadOptions::default()).unwrap();
        prop_assert_eq!(&back, &h);
        // CSV -> data -> CSV gives the same text.
        let mut again = Vec::new();
        csv_io::write_wide(&back, &mut again).unwrap();
        prop_assert_eq!(String::from_utf8(again).unwrap(), text);
    }

    #[test]
    fn aggregated_round_trip(h in histories()) {
        let mut buf = Vec::new();
        csv_io::write_aggregated(&h, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let back = csv_io::read_histories_str(&text, "rt.csv", &ReadOptions::default()).unwrap();
        prop_assert_eq!(back.histories(), h.histories());
        prop_assert_eq!(back.frequencies(), h.frequencies());
        prop_assert_eq!(back.strata(), h.strata());
    }

    #[test]
    fn long_round_trip(h in histories()) {
        let mut buf = Vec::new();
        csv_io::write_long(&h, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let back = csv_io::read_histories_str(&text, "rt.csv", &ReadOptions::default()).unwrap();
        // One row per unit comes back; the same units with the same histories and strata.
        // Occasions before the first and after the last one anybody was seen on are not in
        // a register export (its labels are counted from the smallest).
        let seen = h.histories().iter().zip(h.frequencies()).filter(|p| *p.1 > 0).map(|p| p.0).fold(0, |a, b| a | b);
        let (first_seen, last_seen) = (seen.trailing_zeros() as usize, 64 - seen.leading_zeros() as usize);
        prop_assert_eq!(back.occasions(), last_seen - first_seen);
        let key = |x: &CaptureHistories| {
            let x = x.aggregated();
            let s = x.strata().unwrap();
            let mut v: Vec<(String, u64, u64)> = x
                .iter()
                .zip(&s.codes)
                .map(|((h, f), &c)| (s.names[c as usize].clone(), h, f))
                .collect();
            v.sort();
            v
        };
        prop_assert_eq!(key(&back), key(&h.window(first_seen, last_seen).unwrap()));
    }

    #[test]
    fn counts_round_trip(rows in prop::collection::vec((1u64..20, 1u64..5, -5.0f64..5.0, 0u8..3), 1..40)) {
        use darkfigure::data::{CountData, CovariateValues};
        let d = CountData::with_frequencies(rows.iter().map(|r| r.0).collect(), rows.iter().map(|r| r.1).collect()).unwrap()
            .with_covariate("x", CovariateValues::Numeric(rows.iter().map(|r| r.2).collect())).unwrap()
            .with_covariate("sex", CovariateValues::categorical(&rows.iter().map(|r| ["f", "m", "u"][r.3 as usize]).collect::<Vec<_>>())).unwrap();
        let mut buf = Vec::new();
        csv_io::write_counts(&d, &mut buf).unwrap();
        let back = csv_io::read_counts_str(std::str::from_utf8(&buf).unwrap(), "c.csv", &ReadOptions::default()).unwrap();
        prop_assert_eq!(back.counts(), d.counts());
        prop_assert_eq!(back.frequencies(), d.frequencies());
        prop_assert_eq!(back.covariate("x"), d.covariate("x"));
        let labels = |x: &CountData| (0..x.n_rows()).map(|i| x.covariate("sex").unwrap().values.label(i)).collect::<Vec<_>>();
        prop_assert_eq!(labels(&back), labels(&d));
    }
}
