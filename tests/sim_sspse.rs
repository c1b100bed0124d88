//! SS-PSE recovery on simulated RDS samples (population on a network, sampled without
//! replacement). The full study is heavy: run it with
//! `cargo test --release --test sim_sspse -- --ignored --nocapture`.

use darkfigure::kp::sspse::sim::{RdsScenario, coverage_study, default_params};
use darkfigure::kp::sspse::{RdsSample, SizePrior, Sspse};

#[test]
fn rds_draw_is_a_valid_sample_and_replays() {
    let sc = RdsScenario::fauxmadrona_like();
    let a: RdsSample = sc.draw(&mut darkfigure::rng::stream(3, &[0])).unwrap();
    let b = sc.draw(&mut darkfigure::rng::stream(3, &[0])).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 500);
    assert!(a.is_seed.iter().filter(|&&s| s).count() >= 10);
    // successive sampling ∝ degree: early respondents have larger degrees than late ones
    let early: f64 = a.degrees[..100].iter().map(|&d| d as f64).sum::<f64>() / 100.0;
    let late: f64 = a.degrees[400..].iter().map(|&d| d as f64).sum::<f64>() / 100.0;
    assert!(early > late, "early {early}, late {late}");
}

#[test]
#[ignore = "heavy: 2 × 200 replicates at sspse's default draws (about a minute on 2 cores)"]
fn coverage_of_the_90_percent_interval_for_two_prior_medians() {
    // n = 250 of N = 1,000 (a prior median at half the truth must exceed n)
    let sc = RdsScenario {
        sample_size: 250,
        ..RdsScenario::fauxmadrona_like()
    };
    let mut medians = Vec::new();
    for factor in [0.5, 2.0] {
        let p = default_params(factor * sc.population as f64);
        let r = coverage_study(&sc, &p, 200, 20261130).unwrap();
        eprintln!(
            "prior median {:.0}: 90% coverage {:.3} (MC s.e. {:.3}), median of posterior medians {:.0}, mean {:.0}",
            r.prior_median, r.coverage, r.coverage_se, r.median_of_medians, r.mean_of_medians
        );
        assert_eq!(r.replicates, 200);
        medians.push(r.median_of_medians);
    }
    // the method is prior-sensitive: the posterior follows the prior median
    assert!(medians[1] > medians[0], "{medians:?}");
}

#[test]
#[ignore = "heavy: 12 × 200 replicates (about 15 minutes on the loaded 2-core machine)"]
fn coverage_by_prior_and_sample_fraction() {
    // Is the poor coverage at half the truth the method's prior sensitivity or a bug?
    // A flat prior on N (no prior information on N) should give near-nominal coverage if
    // the likelihood and sampler are right; and the prior's pull should shrink as the
    // sample fraction n/N grows (the degrees fall faster along the order).
    let mut rows = Vec::new();
    for (population, sample_size) in [(1000usize, 250usize), (1000, 400), (2000, 500), (2500, 250)]
    {
        let sc = RdsScenario {
            population,
            sample_size,
            ..RdsScenario::fauxmadrona_like()
        };
        let truth = population as f64;
        let priors = [
            (
                "half",
                SizePrior::Beta {
                    median: 0.5 * truth,
                },
            ),
            (
                "twice",
                SizePrior::Beta {
                    median: 2.0 * truth,
                },
            ),
            (
                "flat",
                SizePrior::Flat {
                    max: 5 * population as u64,
                },
            ),
        ];
        for (label, prior) in priors {
            let p = Sspse::params(prior).chains(1);
            let r = coverage_study(&sc, &p, 200, 20261201).unwrap();
            eprintln!(
                "N {population} n {sample_size} ({:.0}%) prior {label:5}: 90% coverage {:.3} (MC s.e. {:.3}), median of posterior medians {:.0}",
                100.0 * sample_size as f64 / truth,
                r.coverage,
                r.coverage_se,
                r.median_of_medians
            );
            rows.push((population, sample_size, label, r));
        }
    }
    // Observed (README): the 0% at half the truth for N = 1,000 comes from sspse's tripled
    // prior weight when the prior median is below 750 (df = 3); at N = 2,000 (median 1,000,
    // df = 1) half the truth covers 93.5%. A flat prior on N (up to 5N) covers 0.66-0.94:
    // it puts its mass on large N and the posterior medians sit far above the truth.
    for (population, _, label, r) in &rows {
        if *population == 2000 && *label == "half" {
            assert!(r.coverage >= 0.8, "N 2000 half: coverage {}", r.coverage);
        }
    }
}
