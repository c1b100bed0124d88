//! Reference tests of `darkfigure::sparse` against SparseMSE 2.0.1 (R 4.2.2).
//!
//! Data: `tests/fixtures/sparse/*.csv` (SparseMSE's bundled data sets); figures:
//! `tests/fixtures/sparse/SparseMSE_reference.json`, extracted from
//! `shared/reference/SparseMSE.json` (see the fixture README for the keys).
//! Deterministic figures (stepwise model, coefficients, N̂, model-based interval, AIC,
//! deviance) are compared at 1e-6 relative; `checkident` verdicts exactly; bootstrap
//! limits within Monte-Carlo error (tolerances stated at each test).

use darkfigure::data::ListTable;
use darkfigure::data::csv_io::{DataSet, ReadOptions, read_str};
use darkfigure::sparse::{
    BootstrapParams, Model, StepwiseParams, bootstrap, check_identifiability, fit_model,
    jackknife_acceleration, stepwise,
};
use serde_json::Value;

const RTOL: f64 = 1e-6;

fn fixture(name: &str) -> String {
    let p = format!(
        "{}/tests/fixtures/sparse/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn table(name: &str) -> ListTable {
    let text = fixture(&format!("{name}.csv"));
    match read_str(&text, name, &ReadOptions::default()).unwrap() {
        DataSet::Histories { data, .. } => ListTable::from_histories(&data).unwrap(),
        _ => panic!("{name}: not histories"),
    }
}

fn reference() -> Value {
    serde_json::from_str(&fixture("SparseMSE_reference.json")).unwrap()
}

fn close(a: f64, b: f64, rtol: f64, what: &str) {
    assert!(
        (a - b).abs() <= rtol * b.abs().max(1e-300),
        "{what}: got {a}, SparseMSE {b} (rel. diff {:.2e})",
        ((a - b) / b).abs()
    );
}

/// Compares a fit's terms, coefficients, SEs, deviance, df, adjusted AIC, N̂ and the
/// model-based 95% interval with one `results.<data>.<which>` entry.
fn compare_fit(
    data: &str,
    which: &str,
    fit: &darkfigure::sparse::ModelFit,
    est: &darkfigure::Estimate,
    r: &Value,
) -> usize {
    let r = &r["results"][data][which];
    let mut checks = 0;
    let terms: Vec<String> = r["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(fit.terms, terms, "{data} {which}: terms");
    for (i, t) in terms.iter().enumerate() {
        close(
            fit.coefficients[i],
            r["coefficients"][t].as_f64().unwrap(),
            RTOL,
            &format!("{data} {which} coef {t}"),
        );
        close(
            fit.std_errors[i],
            r["std_errors"][t].as_f64().unwrap(),
            RTOL,
            &format!("{data} {which} se {t}"),
        );
        checks += 2;
    }
    close(
        fit.deviance,
        r["deviance"].as_f64().unwrap(),
        RTOL,
        &format!("{data} {which} deviance"),
    );
    close(
        fit.aic,
        r["AIC_adjusted"].as_f64().unwrap(),
        RTOL,
        &format!("{data} {which} AIC"),
    );
    assert_eq!(
        fit.df_residual,
        r["df_residual"].as_i64().unwrap(),
        "{data} {which} df"
    );
    let e = &r["estimate"];
    close(
        est.n_hat,
        e["point est."].as_f64().unwrap(),
        RTOL,
        &format!("{data} {which} N"),
    );
    close(
        est.interval.lower,
        e["2.5%"].as_f64().unwrap(),
        RTOL,
        &format!("{data} {which} lower"),
    );
    close(
        est.interval.upper,
        e["97.5%"].as_f64().unwrap(),
        RTOL,
        &format!("{data} {which} upper"),
    );
    let mut empty: Vec<String> = fit
        .empty_overlaps
        .iter()
        .map(|e| e.effect.clone())
        .collect();
    let mut rempty: Vec<String> = r["emptyoverlaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    empty.sort();
    rempty.sort();
    assert_eq!(empty, rempty, "{data} {which}: empty overlaps");
    for eo in &fit.empty_overlaps {
        close(
            eo.p_empty,
            r["poisspempty"][&eo.effect].as_f64().unwrap(),
            RTOL,
            &format!("{data} {which} poisspempty {}", eo.effect),
        );
        checks += 1;
    }
    checks + 7
}

/// `estimatepopulation.0(zdat, method = "stepwise", pthresh = 0.02)`: the selected model
/// (terms in order of selection) and every figure of its fit, 1e-6 relative.
#[test]
fn stepwise_matches_sparsemse() {
    let r = reference();
    let mut checks = 0;
    for data in [
        "UKdat",
        "UKdat_5",
        "Ned",
        "Ned_5",
        "NewOrl",
        "NewOrl_5",
        "Western",
        "Artificial_3",
    ] {
        let t = table(data);
        let s = stepwise(&t, &StepwiseParams::default()).unwrap();
        assert!(s.dropped.is_empty(), "{data}: no list is non-informative");
        checks += compare_fit(data, "stepwise", &s.fit, &s.estimate, &r);
    }
    eprintln!("stepwise: {checks} figures matched");
}

/// `estimatepopulation.0(zdat, method = "main")`, 1e-6 relative.
#[test]
fn main_effects_match_sparsemse() {
    let r = reference();
    for data in [
        "UKdat",
        "UKdat_5",
        "Ned",
        "Ned_5",
        "NewOrl",
        "NewOrl_5",
        "Western",
        "Artificial_3",
    ] {
        let t = table(data);
        let (fit, est) = fit_model(&t, &Model::main_effects(), 0.95).unwrap();
        compare_fit(data, "main_effects", &fit, &est, &r);
    }
}

/// `checkident(zdat, mX = 0)` on every data set, and the Artificial_3 counter-examples
/// of Chan, Silverman & Vincent (Table 2): main 0, AB 1, AC 0, AC+BC 0, all 2.
#[test]
fn checkident_verdicts() {
    let r = reference();
    for data in [
        "UKdat",
        "UKdat_5",
        "Ned",
        "Ned_5",
        "NewOrl",
        "NewOrl_5",
        "Western",
        "Artificial_3",
    ] {
        let t = table(data);
        let v = check_identifiability(&t, &Model::all_pairs(t.n_lists())).unwrap();
        let want = r["results"][data]["checkident_all_twoway"]
            .as_u64()
            .unwrap() as u8;
        assert_eq!(v.code, want, "{data}: checkident(mX = 0) {v}");
    }
    let t = table("Artificial_3");
    let cases = &r["results"]["Artificial_3"]["checkident_cases"];
    for (key, effects) in [
        ("main", vec![]),
        ("AB", vec!["A:B"]),
        ("AC", vec!["A:C"]),
        ("AC_BC", vec!["A:C", "B:C"]),
        ("all", vec!["A:B", "A:C", "B:C"]),
    ] {
        let m = Model::from_labels(&t, &effects).unwrap();
        let v = check_identifiability(&t, &m).unwrap();
        assert_eq!(
            v.code as u64,
            cases[key].as_u64().unwrap(),
            "Artificial_3 {key}: {v}"
        );
    }
    // A model whose MLE does not exist is refused with a typed error, not a huge N̂.
    let m = Model::from_labels(&t, &["A:B"]).unwrap();
    match fit_model(&t, &m, 0.95) {
        Err(darkfigure::Error::EstimateDoesNotExist { reason }) => {
            assert!(reason.contains("does not exist"), "{reason}")
        }
        other => panic!("expected EstimateDoesNotExist, got {other:?}"),
    }
}

fn bca_ref(data: &str, p: &str) -> f64 {
    reference()["results"][data]["bootstrap"]["BCaquantiles"][p]
        .as_f64()
        .unwrap()
}

/// Exploration behind the tolerances of `bootstrap_bca_within_monte_carlo_error`: the
/// spread of our BCa limits over seeds (`cargo test --release --test reference_sparse
/// -- --ignored --nocapture`).
#[test]
#[ignore]
fn bootstrap_seed_spread() {
    for (data, b) in [("UKdat", 1000usize), ("Western", 200)] {
        let t = table(data);
        let mut lo = Vec::new();
        let mut hi = Vec::new();
        let t0 = std::time::Instant::now();
        for seed in 1200..1260u64 {
            let f = bootstrap(
                &t,
                &BootstrapParams {
                    replicates: b,
                    seed,
                    ..Default::default()
                },
            )
            .unwrap();
            lo.push(f.estimate.interval.lower);
            hi.push(f.estimate.interval.upper);
            if seed == 1200 {
                eprintln!(
                    "{data} B={b}: z0 {} ahat {} (ref {})",
                    f.z0,
                    f.ahat,
                    reference()["results"][data]["bootstrap"]["ahat"]
                );
            }
        }
        let ms = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
            (m, s)
        };
        let mut sl = lo.clone();
        sl.sort_by(f64::total_cmp);
        let mut sh = hi.clone();
        sh.sort_by(f64::total_cmp);
        eprintln!(
            "{data} lower sorted {:?}",
            sl.iter().map(|x| x.round()).collect::<Vec<_>>()
        );
        eprintln!(
            "{data} upper sorted {:?}",
            sh.iter().map(|x| x.round()).collect::<Vec<_>>()
        );
        eprintln!(
            "{data} B={b}: lower {:?} ref {}, upper {:?} ref {}  ({:.2?} for 60 runs)",
            ms(&lo),
            bca_ref(data, "0.025"),
            ms(&hi),
            bca_ref(data, "0.975"),
            t0.elapsed()
        );
    }
}

/// The jackknife acceleration â of `estimatepopulation` is deterministic (the stepwise
/// choice re-run on every leave-one-case-out table, 13-25 tables per data set): 1e-6
/// relative on every data set.
#[test]
fn jackknife_acceleration_matches_sparsemse() {
    let r = reference();
    for data in [
        "UKdat", "UKdat_5", "Ned", "Ned_5", "NewOrl", "NewOrl_5", "Western",
    ] {
        let (a, jack) = jackknife_acceleration(&table(data), 0.02).unwrap();
        assert!(jack.iter().all(|j| j.is_finite()), "{data}");
        close(
            a,
            r["results"][data]["bootstrap"]["ahat"].as_f64().unwrap(),
            RTOL,
            &format!("{data} ahat"),
        );
    }
}

/// BCa limits of `estimatepopulation(zdat, iseed = 1234)` within Monte-Carlo error.
///
/// Our resamples come from Xoshiro256++ streams, R's from Mersenne-Twister, so the two
/// runs are independent realisations and agree only up to Monte-Carlo error. Over 60
/// seeds of our implementation (`bootstrap_seed_spread`, ignored) the limits have
/// (mean, standard deviation): UKdat, B = 1000: 2.5% (9058, 362), 97.5% (14423, 310);
/// Western, B = 200: 2.5% (1378, 128), 97.5% (3733, 215); SparseMSE's limits (9267,
/// 14307; 1326, 3564) lie within 0.4-0.8 SD of our means. The spread is wide because
/// the stepwise choice changes between resamples, so the lower quantiles jump between
/// clusters. The difference of two independent runs has SD √2 times ours; we allow 4 of
/// those: UKdat 2.5% ± 22%, 97.5% ± 13%; Western 2.5% ± 55%, 97.5% ± 35% (B = 200, as
/// the reference run). The point estimate and â, which are deterministic, are checked at
/// 1e-6.
#[test]
fn bootstrap_bca_within_monte_carlo_error() {
    let r = reference();
    for (data, b, tol_lo, tol_hi) in [
        ("UKdat", 1000usize, 0.22, 0.13),
        ("Western", 200, 0.55, 0.35),
    ] {
        let f = bootstrap(
            &table(data),
            &BootstrapParams {
                replicates: b,
                seed: 1234,
                ..Default::default()
            },
        )
        .unwrap();
        let rb = &r["results"][data]["bootstrap"];
        assert_eq!(rb["nboot"].as_u64().unwrap() as usize, b);
        close(
            f.estimate.n_hat,
            rb["popest"].as_f64().unwrap(),
            RTOL,
            &format!("{data} popest"),
        );
        close(
            f.ahat,
            rb["ahat"].as_f64().unwrap(),
            RTOL,
            &format!("{data} ahat"),
        );
        close(
            f.estimate.interval.lower,
            bca_ref(data, "0.025"),
            tol_lo,
            &format!("{data} BCa 2.5%"),
        );
        close(
            f.estimate.interval.upper,
            bca_ref(data, "0.975"),
            tol_hi,
            &format!("{data} BCa 97.5%"),
        );
        assert_eq!(f.bca_quantiles[0], f.estimate.interval.lower);
        assert_eq!(f.draws.len(), b);
        assert!(
            f.bca_quantiles.windows(2).all(|w| w[0] <= w[1]),
            "{data}: BCa quantiles ordered"
        );
    }
}

/// Same seed, same draws and interval on 1 and 2 threads; another seed, other draws.
#[test]
fn bootstrap_reproducible_on_any_thread_count() {
    let t = table("Western");
    let p = BootstrapParams {
        replicates: 100,
        seed: 42,
        ..Default::default()
    };
    let run = |threads: usize, p: &BootstrapParams| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| bootstrap(&t, p).unwrap())
    };
    let a = run(1, &p);
    let b = run(2, &p);
    assert_eq!(a.draws, b.draws);
    assert_eq!(a.estimate.interval, b.estimate.interval);
    assert_eq!(a.bca_quantiles, b.bca_quantiles);
    let c = run(
        2,
        &BootstrapParams {
            seed: 43,
            ..p.clone()
        },
    );
    assert_ne!(a.draws, c.draws);
}

/// Lists that carry no information are dropped (SparseMSE `removenoninformativelists`),
/// and a table whose lists do not overlap has no estimate (typed error, not 1e12).
#[test]
fn noninformative_lists_and_nonexistent_estimates() {
    let t = table("Western");
    // Add an empty list F and a copy of A (G): both are dropped, the fit is unchanged.
    let k = t.n_lists();
    let mut counts = vec![0u64; 1 << (k + 2)];
    for (c, &v) in t.counts().iter().enumerate() {
        let a = c & 1;
        counts[c | (a << (k + 1))] += v;
    }
    let mut names = t.names().to_vec();
    names.push("F".into());
    names.push("G".into());
    let t2 = ListTable::new(names, counts).unwrap();
    let s1 = stepwise(&t, &StepwiseParams::default()).unwrap();
    let s2 = stepwise(&t2, &StepwiseParams::default()).unwrap();
    let dropped: Vec<(&str, &str)> = s2
        .dropped
        .iter()
        .map(|d| (d.list.as_str(), d.reason.as_str()))
        .collect();
    assert_eq!(dropped, vec![("F", "no case"), ("G", "duplicates A")]);
    assert!((s1.estimate.n_hat - s2.estimate.n_hat).abs() < 1e-9 * s1.estimate.n_hat);
    // Two lists with no case in common: N is unbounded, the MLE does not exist.
    let t3 = ListTable::new(vec!["A".into(), "B".into()], vec![0, 10, 7, 0]).unwrap();
    assert!(matches!(
        stepwise(&t3, &StepwiseParams::default()),
        Err(darkfigure::Error::EstimateDoesNotExist { .. })
    ));
    let v = check_identifiability(&t3, &Model::main_effects()).unwrap();
    assert!(!v.exists && v.code == 1, "{v}");
}

/// Prints the stepwise reports (`-- --ignored --nocapture`), for reading.
#[test]
#[ignore]
fn print_reports() {
    for data in [
        "UKdat",
        "UKdat_5",
        "Ned",
        "Ned_5",
        "NewOrl",
        "NewOrl_5",
        "Western",
        "Artificial_3",
    ] {
        let s = stepwise(&table(data), &StepwiseParams::default()).unwrap();
        eprintln!(
            "=== {data}\n{s}\nthin: {:?} without empty: {:?}\n",
            s.thin_effects, s.n_hat_without_empty_overlaps
        );
    }
    for data in ["Western", "Ned", "NewOrl"] {
        let b = bootstrap(
            &table(data),
            &BootstrapParams {
                replicates: 200,
                ..Default::default()
            },
        )
        .unwrap();
        eprintln!("=== bootstrap {data}\n{b}\n{:?}", b.summary);
    }
}

/// SparseMSE prints tied BCa quantiles for Ned (upper: 90%, 95%, 97.5% all 146,408) and
/// NewOrl (lower: 2.5%-16% all 790.7) without comment: the adjusted percentiles lie
/// beyond the bootstrap's range, so those "limits" are just the extreme draw. We must
/// reproduce the situation (B = 200, as the reference run) and say so: every quantile
/// SparseMSE ties is flagged `beyond_range`, and the estimate carries a warning.
#[test]
fn degenerate_bca_limits_are_reported_not_copied() {
    let r = reference();
    for (data, side) in [("Ned", "upper"), ("NewOrl", "lower")] {
        let f = bootstrap(
            &table(data),
            &BootstrapParams {
                replicates: 200,
                seed: 1234,
                ..Default::default()
            },
        )
        .unwrap();
        let q = &r["results"][data]["bootstrap"]["BCaquantiles"];
        let probs = [
            "0.025", "0.05", "0.1", "0.16", "0.84", "0.9", "0.95", "0.975",
        ];
        let vals: Vec<f64> = probs.iter().map(|p| q[*p].as_f64().unwrap()).collect();
        let extreme = if side == "upper" { vals[7] } else { vals[0] };
        for (p, v) in probs.iter().zip(&vals) {
            if *v == extreme {
                let p: f64 = p.parse().unwrap();
                assert!(
                    f.beyond_range.contains(&p),
                    "{data}: SparseMSE ties the {p} quantile; ours {:?}",
                    f.beyond_range
                );
            }
        }
        let flagged = f
            .estimate
            .warnings
            .iter()
            .any(|w| w.to_string().contains(&format!("BCa {side} limit is the")));
        assert!(flagged, "{data}: {:?}", f.estimate.warnings);
    }
}

fn permuted(t: &ListTable, perm: &[usize]) -> ListTable {
    // New list l is old list perm[l].
    let k = t.n_lists();
    let mut counts = vec![0u64; 1 << k];
    for (c, &v) in t.counts().iter().enumerate() {
        let mut code = 0;
        for (l, &old) in perm.iter().enumerate() {
            code |= ((c >> old) & 1) << l;
        }
        counts[code] += v;
    }
    ListTable::new(perm.iter().map(|&o| t.names()[o].clone()).collect(), counts).unwrap()
}

/// Refitting with the lists in another order gives the same N̂ and the same effects.
#[test]
fn list_order_does_not_matter() {
    for data in ["UKdat", "Ned", "NewOrl", "Western"] {
        let t = table(data);
        let k = t.n_lists();
        let s0 = stepwise(&t, &StepwiseParams::default()).unwrap();
        let mut e0: Vec<String> = s0.steps.iter().map(|s| s.effect.clone()).collect();
        e0.sort();
        for shift in 1..k {
            let perm: Vec<usize> = (0..k).map(|l| (k - 1 - l + shift) % k).collect();
            let tp = permuted(&t, &perm);
            let s = stepwise(&tp, &StepwiseParams::default()).unwrap();
            close(
                s.estimate.n_hat,
                s0.estimate.n_hat,
                1e-8,
                &format!("{data} permuted {perm:?}"),
            );
            let mut e: Vec<String> = s
                .steps
                .iter()
                .map(|st| {
                    // Name pairs in the original order for comparison.
                    let (a, b) = st.effect.split_once(':').unwrap();
                    let (ia, ib) = (
                        t.names().iter().position(|n| n == a).unwrap(),
                        t.names().iter().position(|n| n == b).unwrap(),
                    );
                    if ia < ib {
                        format!("{a}:{b}")
                    } else {
                        format!("{b}:{a}")
                    }
                })
                .collect();
            e.sort();
            assert_eq!(e, e0, "{data} permuted {perm:?}");
        }
    }
}

/// Bad settings give typed errors naming the setting.
#[test]
fn bad_settings_are_refused() {
    let t = table("Western");
    let name = |e: darkfigure::Error| match e {
        darkfigure::Error::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    };
    let bp = |f: fn(&mut BootstrapParams)| {
        let mut p = BootstrapParams {
            replicates: 10,
            ..Default::default()
        };
        f(&mut p);
        bootstrap(&t, &p).unwrap_err()
    };
    assert_eq!(name(bp(|p| p.replicates = 1)), "replicates");
    assert_eq!(name(bp(|p| p.probs = vec![0.0])), "probs");
    assert_eq!(name(bp(|p| p.pthresh = 1.5)), "pthresh");
    assert_eq!(
        name(
            stepwise(
                &t,
                &StepwiseParams {
                    pthresh: -0.1,
                    ..Default::default()
                }
            )
            .unwrap_err()
        ),
        "pthresh"
    );
    assert_eq!(name(Model::from_labels(&t, &["A:Q"]).unwrap_err()), "model");
    assert_eq!(name(Model::from_labels(&t, &["A-B"]).unwrap_err()), "model");
    assert_eq!(
        name(
            check_identifiability(
                &t,
                &Model {
                    pairs: vec![(3, 1)]
                }
            )
            .unwrap_err()
        ),
        "model"
    );
    assert!(matches!(
        fit_model(&t, &Model::main_effects(), 1.5).unwrap_err(),
        darkfigure::Error::InvalidParameter { .. }
    ));
}

/// Resamples whose estimate does not exist (no case on both lists: N unbounded) count as
/// N̂* = ∞ and are reported; the upper limit is then unbounded, never a huge number.
#[test]
fn nonexistent_resamples_are_counted_as_unbounded() {
    let t = ListTable::new(vec!["A".into(), "B".into()], vec![0, 10, 7, 1]).unwrap();
    let f = bootstrap(
        &t,
        &BootstrapParams {
            replicates: 200,
            seed: 7,
            ..Default::default()
        },
    )
    .unwrap();
    let n_inf = f.draws.iter().filter(|d| d.is_infinite()).count();
    assert!(
        n_inf > 50,
        "P(no overlap in a resample) = (17/18)^18 ≈ 0.36: got {n_inf}"
    );
    assert_eq!(f.summary.n_nonexistent, n_inf);
    assert!(f.estimate.interval.is_unbounded_above());
    assert!(f.draws.iter().all(|d| d.is_infinite() || *d < 1e6));
    assert!(
        f.estimate
            .warnings
            .iter()
            .any(|w| matches!(w, darkfigure::Warning::UnboundedInterval { .. }))
    );
    // Point estimate: Lincoln-Petersen 11·8/1 = 88 (saturated main-effects model).
    close(f.estimate.n_hat, 88.0, 1e-9, "two-list N̂");
    let json = serde_json::to_string(&f).unwrap();
    assert!(json.contains("\"upper\":null"));
}

/// `stepwisefit(pthresh = 0)` is the main-effects model; `pthresh = 1` the model with every
/// two-list effect when `checkident(mX = 0)` passes (UKdat: code 0).
#[test]
fn pthresh_extremes() {
    let t = table("UKdat");
    let r = reference();
    let s0 = stepwise(
        &t,
        &StepwiseParams {
            pthresh: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s0.fit.label, "[main]");
    close(
        s0.estimate.n_hat,
        r["results"]["UKdat"]["main_effects"]["estimate"]["point est."]
            .as_f64()
            .unwrap(),
        RTOL,
        "UKdat main",
    );
    let s1 = stepwise(
        &t,
        &StepwiseParams {
            pthresh: 1.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s1.fit.model.pairs.len(), 15);
    assert!(s1.fit.verdict.ok());
}
