//! Statistical and reproducibility tests of the simulation module.
//!
//! Goodness-of-fit tests use Pearson's chi-square with retries (DESIGN.md §8): a check
//! passes when one of three independent seeds gives p > 0.001, so a correct generator
//! fails with probability about 1e-9 while a wrong one fails every time.

use darkfigure::ci;
use darkfigure::sim::{
    self, Behaviour, CellSampler, CountDist, Dependence, Generator, Heterogeneity, Model,
    RawResults, RunOptions, SimData, Study, UnitSampler, builtin_estimators, cell_probabilities,
    stream,
};
use darkfigure::two_source::{TwoSample, chapman};

/// Pearson chi-square p-value of observed counts against probabilities, pooling cells
/// with expected count below 5 into one.
fn chi2_p(obs: &[u64], probs: &[f64]) -> f64 {
    let n: u64 = obs.iter().sum();
    let (mut x2, mut df) = (0.0, 0i64);
    let (mut po, mut pe) = (0.0, 0.0);
    for (&o, &p) in obs.iter().zip(probs) {
        let e = n as f64 * p;
        if e < 5.0 {
            po += o as f64;
            pe += e;
        } else {
            x2 += (o as f64 - e).powi(2) / e;
            df += 1;
        }
    }
    if pe > 0.0 {
        x2 += (po - pe).powi(2) / pe.max(1e-300);
        df += 1;
    }
    ci::chi2_sf(x2, (df - 1) as f64)
}

/// Two-sample chi-square test of homogeneity on two count vectors.
fn chi2_two_sample(a: &[u64], b: &[u64]) -> f64 {
    let (na, nb) = (a.iter().sum::<u64>() as f64, b.iter().sum::<u64>() as f64);
    let (mut x2, mut df) = (0.0, 0i64);
    for (&x, &y) in a.iter().zip(b) {
        let tot = (x + y) as f64;
        if tot < 10.0 {
            continue;
        }
        let (ea, eb) = (tot * na / (na + nb), tot * nb / (na + nb));
        x2 += (x as f64 - ea).powi(2) / ea + (y as f64 - eb).powi(2) / eb;
        df += 1;
    }
    ci::chi2_sf(x2, (df - 1) as f64)
}

fn with_retries(name: &str, mut attempt: impl FnMut(u64) -> f64) {
    let ps: Vec<f64> = (0..3).map(|k| attempt(1000 + k)).collect();
    assert!(
        ps.iter().any(|&p| p > 1e-3),
        "{name}: chi-square p-values {ps:?}"
    );
}

fn cases() -> Vec<(&'static str, Vec<f64>, Heterogeneity, Option<Behaviour>)> {
    vec![
        ("M0", vec![0.3; 4], Heterogeneity::None, None),
        ("Mt", vec![0.1, 0.4, 0.25, 0.6], Heterogeneity::None, None),
        (
            "Mb trap-shy",
            vec![0.3; 4],
            Heterogeneity::None,
            Some(Behaviour { logit_shift: -1.0 }),
        ),
        (
            "Mh logit-normal",
            vec![0.2; 4],
            Heterogeneity::LogitNormal { sd: 1.5 },
            None,
        ),
        (
            "Mh beta",
            vec![0.25; 4],
            Heterogeneity::Beta { a: 1.0, b: 3.0 },
            None,
        ),
        (
            "Mh mixture + Mtb",
            vec![0.1, 0.2, 0.3, 0.4],
            Heterogeneity::Mixture {
                weights: vec![0.7, 0.3],
                shifts: vec![-1.0, 1.5],
            },
            Some(Behaviour { logit_shift: 0.7 }),
        ),
        (
            "Mh covariate",
            vec![0.2; 4],
            Heterogeneity::Covariate {
                coef: 0.8,
                covariate: sim::CovariateDist::Normal { mean: 0.5, sd: 1.2 },
            },
            None,
        ),
    ]
}

#[test]
fn aggregated_generator_matches_cell_probabilities() {
    for (name, p, het, b) in cases() {
        let cs = CellSampler::new(&p, &het, b.as_ref(), &[]).unwrap();
        with_retries(name, |seed| {
            let mut rng = stream(seed, 0, 0);
            let mut out = vec![0u64; 16];
            cs.sample_dense(&mut rng, 200_000, &mut out);
            chi2_p(&out, cs.probabilities())
        });
    }
}

#[test]
fn unit_generator_matches_cell_probabilities_and_aggregated() {
    for (name, p, het, b) in cases() {
        let probs = cell_probabilities(&p, &het, b.as_ref(), &[]).unwrap();
        let us = UnitSampler::new(&p, &het, b.as_ref()).unwrap();
        let cs = CellSampler::new(&p, &het, b.as_ref(), &[]).unwrap();
        with_retries(name, |seed| {
            let mut rng = stream(seed, 1, 0);
            let mut out = vec![0u64; 16];
            us.sample_dense(&mut rng, 200_000, &mut out);
            chi2_p(&out, &probs)
        });
        with_retries(name, |seed| {
            let mut rng = stream(seed, 2, 0);
            let (mut a, mut c) = (vec![0u64; 16], vec![0u64; 16]);
            us.sample_dense(&mut rng, 100_000, &mut a);
            cs.sample_dense(&mut rng, 100_000, &mut c);
            chi2_two_sample(&a, &c)
        });
    }
}

#[test]
fn list_dependence_matches_loglinear_probabilities() {
    let dep = [Dependence {
        lists: [1, 2],
        log_odds_ratio: 1.2,
    }];
    let p = [0.3, 0.2, 0.25];
    let probs = cell_probabilities(&p, &Heterogeneity::None, None, &dep).unwrap();
    // odds ratio of lists 1 and 2 given list 3 absent: p(11)p(00)/(p(10)p(01)) = e^1.2
    let or = probs[0b011] * probs[0] / (probs[0b001] * probs[0b010]);
    assert!((or.ln() - 1.2).abs() < 1e-12);
    let cs = CellSampler::new(&p, &Heterogeneity::None, None, &dep).unwrap();
    with_retries("dependence", |seed| {
        let mut rng = stream(seed, 3, 0);
        let mut out = vec![0u64; 8];
        cs.sample_dense(&mut rng, 100_000, &mut out);
        chi2_p(&out, &probs)
    });
}

fn study(json: &str) -> Study {
    Study::from_json(json).unwrap()
}

#[test]
fn count_generators_match_their_pmf() {
    // aggregated Poisson-gamma and unit-by-unit one-inflated (a zero covariate effect
    // forces the unit path) against count_pmf
    for (dist, cov) in [
        (
            r#"{"kind": "poisson_gamma", "mean": 0.8, "shape": 0.7}"#,
            false,
        ),
        (
            r#"{"kind": "one_inflated", "lambda": 1.1, "omega": 0.3}"#,
            true,
        ),
        (r#"{"kind": "poisson", "lambda": 1.3}"#, true),
    ] {
        let covj = if cov {
            r#", "covariate": {"coef": 0.0, "covariate": {"dist": "normal", "mean": 0, "sd": 1}}"#
        } else {
            ""
        };
        let s = study(&format!(
            r#"{{"name": "c", "scenarios": [{{"name": "c", "model": {{"kind": "counts",
               "strata": [{{"n": 100000, "dist": {dist}{covj}}}]}}}}]}}"#
        ));
        let Model::Counts(spec) = &s.scenarios[0].model else {
            unreachable!()
        };
        let pmf = sim::generate::count_pmf(&spec.strata[0].dist).unwrap();
        let g = Generator::new(&s.scenarios[0]).unwrap();
        with_retries(dist, |seed| {
            let rep = g.generate(&mut stream(seed, 0, 0));
            let Ok(SimData::Counts(d)) = &rep.targets[0].data else {
                panic!()
            };
            let mut obs = vec![0u64; pmf.len()];
            obs[0] = 100_000 - d.observed();
            for (k, f) in d.frequency_table().iter().enumerate() {
                obs[k + 1] += f;
            }
            if cov {
                assert!(d.covariate("x").is_some());
            }
            chi2_p(&obs, &pmf)
        });
    }
}

#[test]
fn closed_open_population_equals_m0() {
    // survival 1 and no entries: the open generator must give M0
    let s = study(
        r#"{"name": "o", "scenarios": [{"name": "o", "model": {"kind": "open", "occasions": 4,
            "strata": [{"initial": 100000, "entries": 0, "survival": 1, "p": 0.3}]}}]}"#,
    );
    let g = Generator::new(&s.scenarios[0]).unwrap();
    let probs = cell_probabilities(&[0.3; 4], &Heterogeneity::None, None, &[]).unwrap();
    with_retries("open = M0", |seed| {
        let rep = g.generate(&mut stream(seed, 0, 0));
        let Ok(SimData::Histories(h)) = &rep.targets[0].data else {
            panic!()
        };
        let mut cells = h.cell_counts().unwrap();
        cells[0] = 100_000 - h.observed();
        chi2_p(&cells, &probs)
    });
}

fn ln_fact(n: usize) -> Vec<f64> {
    let mut v = vec![0.0; n + 1];
    for k in 1..=n {
        v[k] = v[k - 1] + (k as f64).ln();
    }
    v
}

/// z_{0.975}, the two-sided 95% normal quantile (Abramowitz & Stegun 26.2; qnorm(0.975)
/// in R), written out so the oracle shares no code with `darkfigure::ci`.
const Z95: f64 = 1.959963984540054;

/// Chao's (1987) log-normal interval for N written out from its closed form, independent
/// of `darkfigure::ci::log_normal`:
///
/// ```text
/// f0 = N̂ − n,  C = exp(z · sqrt(ln(1 + SE²/f0²))),  [n + f0/C, n + f0·C]
/// ```
/// (`[n, max(n, N̂)]` when f0 ≤ 0).
fn chao_log_normal(n_hat: f64, se: f64, observed: f64) -> (f64, f64) {
    let f0 = n_hat - observed;
    if f0 <= 0.0 {
        return (observed, observed.max(n_hat));
    }
    let c = (Z95 * (1.0 + (se / f0).powi(2)).ln().sqrt()).exp();
    (observed + f0 / c, observed + f0 * c)
}

/// Exact coverage of Chapman's primary (log-normal) interval under M0 with t = 2:
/// n1, n2 ~ Bin(N, p) independent and m | n1, n2 ~ Hypergeometric(N, n1, n2); sum the
/// probabilities of the (n1, n2, m) whose interval contains N (terms below 1e-15
/// dropped; the dropped mass is reported).
fn exact_chapman_coverage(n: usize, p: f64) -> (f64, f64) {
    let lf = ln_fact(n);
    let lc = |a: usize, b: usize| lf[a] - lf[b] - lf[a - b];
    let binom: Vec<f64> = (0..=n)
        .map(|k| (lc(n, k) + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp())
        .collect();
    let support: Vec<usize> = (0..=n).filter(|&k| binom[k] > 1e-15).collect();
    let (mut cover, mut mass) = (0.0, 0.0);
    for &n1 in &support {
        for &n2 in &support {
            let w = binom[n1] * binom[n2];
            let lo = (n1 + n2).saturating_sub(n);
            for m in lo..=n1.min(n2) {
                let h = (lc(n1, m) + lc(n - n1, n2 - m) - lc(n, n2)).exp();
                if h < 1e-15 {
                    continue;
                }
                mass += w * h;
                let (a, b, mm) = (n1 as f64, n2 as f64, m as f64);
                let nh = (a + 1.0) * (b + 1.0) / (mm + 1.0) - 1.0;
                let var =
                    (a + 1.0) * (b + 1.0) * (a - mm) * (b - mm) / ((mm + 1.0).powi(2) * (mm + 2.0));
                let (lo, hi) = chao_log_normal(nh, var.sqrt(), (n1 + n2 - m) as f64);
                if lo <= n as f64 && n as f64 <= hi {
                    cover += w * h;
                }
            }
        }
    }
    (cover, mass)
}

#[test]
fn chapman_coverage_matches_exact_theory() {
    // The oracle (Chapman's N̂, Seber's variance, Chao's log-normal interval with z
    // written out) shares no code with darkfigure; chapman() must agree with it to 1e-12.
    for (n1, n2, m) in [(300, 310, 90), (280, 320, 75), (948, 421, 167)] {
        let e = chapman(&TwoSample::new(n1, n2, m).unwrap(), 0.95).unwrap();
        let (a, b, mm) = (n1 as f64, n2 as f64, m as f64);
        let nh = (a + 1.0) * (b + 1.0) / (mm + 1.0) - 1.0;
        let var = (a + 1.0) * (b + 1.0) * (a - mm) * (b - mm) / ((mm + 1.0).powi(2) * (mm + 2.0));
        let (lo, hi) = chao_log_normal(nh, var.sqrt(), (n1 + n2 - m) as f64);
        for (what, got, want) in [
            ("N", e.n_hat, nh),
            ("SE", e.se, var.sqrt()),
            ("lower", e.interval.lower, lo),
            ("upper", e.interval.upper, hi),
        ] {
            assert!(
                (got - want).abs() <= 1e-12 * want,
                "({n1}, {n2}, {m}) {what}: chapman {got}, closed form {want}"
            );
        }
        assert_eq!(e.interval.level, 0.95);
    }
    let (exact, mass) = exact_chapman_coverage(1000, 0.3);
    assert!(mass > 1.0 - 1e-9, "enumerated mass {mass}");
    // Up to three independent seeds, each within 2 MCSE of the exact coverage: a correct
    // interval fails all three with probability 0.0455³ ≈ 1e-4 (the false-alarm rate);
    // a one-sided z (coverage 0.895 against 0.948, 15 MCSE) fails every time.
    let ok = (0..3).any(|k| {
        let s = study(&format!(
            r#"{{"name": "chapman", "replicates": 4000, "seed": {k}, "estimators": ["chapman"],
               "scenarios": [{{"name": "M0", "model": {{"kind": "closed", "occasions": 2,
               "strata": [{{"n": 1000, "p": 0.3}}]}}}}]}}"#
        ));
        let t = sim::run_study(&s, None).unwrap();
        let r = t.row("M0", "all", "Chapman").unwrap();
        let c = r.primary().unwrap();
        assert_eq!(c.method, "log-normal");
        let mcse = (exact * (1.0 - exact) / c.n as f64).sqrt();
        eprintln!(
            "Chapman coverage: simulated {:.4}, exact {exact:.5}, MCSE {mcse:.4}",
            c.coverage
        );
        (c.coverage - exact).abs() <= 2.0 * mcse
    });
    assert!(
        ok,
        "simulated coverage not within 2 MCSE of the exact {exact}"
    );
}

fn count_row(dist: &str, estimator: &str, label: &str) -> sim::MetricRow {
    let s = study(&format!(
        r#"{{"name": "chao", "replicates": 1000, "seed": 5, "estimators": ["{estimator}"],
           "scenarios": [{{"name": "s", "model": {{"kind": "counts",
           "strata": [{{"name": "all", "n": 2000, "dist": {dist}}}]}}}}]}}"#
    ));
    sim::run_study(&s, None)
        .unwrap()
        .row("s", "all", label)
        .unwrap()
        .clone()
}

fn unbiased(r: &sim::MetricRow) -> bool {
    r.rel_bias.abs() < 3.0 * r.rel_bias_mcse.max(1e-3)
}

#[test]
fn chao_biased_low_under_heterogeneity_unbiased_under_homogeneity() {
    // single-source counts: f1²/(2 f2) estimates f0 = N e^{-λ} without bias under
    // Poisson counts and is a lower bound under Poisson-gamma (mixed) counts
    let m0 = count_row(
        r#"{"kind": "poisson", "lambda": 1.0}"#,
        "chao-lb",
        "Chao LB",
    );
    assert!(
        unbiased(&m0),
        "Poisson: relative bias {} (MCSE {})",
        m0.rel_bias,
        m0.rel_bias_mcse
    );
    let mh = count_row(
        r#"{"kind": "poisson_gamma", "mean": 1.0, "shape": 0.5}"#,
        "chao-lb",
        "Chao LB",
    );
    assert!(
        mh.rel_bias + 3.0 * mh.rel_bias_mcse < -0.05,
        "Poisson-gamma: relative bias {}",
        mh.rel_bias
    );
    // closedp.0 in continuous time: M0 unbiased under Poisson counts
    let m0 = count_row(r#"{"kind": "poisson", "lambda": 1.0}"#, "closedp:M0", "M0");
    assert!(unbiased(&m0), "closedp.0 M0: {}", m0.rel_bias);
}

/// The closed log-linear models in a study: M0 with its profile interval under M0, the
/// Chao (LB) model under logit-normal heterogeneity.
#[test]
fn closed_models_in_a_study() {
    let s = study(
        r#"{"name": "closed", "replicates": 400, "seed": 11,
            "estimators": ["closedp:M0*, Mt, Mh Chao (LB)*, Mb, Mth Chao"],
            "scenarios": [
              {"name": "M0", "model": {"kind": "closed", "occasions": 5,
               "strata": [{"n": 1000, "p": 0.3}]}},
              {"name": "Mh", "model": {"kind": "closed", "occasions": 5,
               "strata": [{"n": 1000, "p": 0.3,
                           "heterogeneity": {"kind": "logit_normal", "sd": 1.5}}]}},
              {"name": "two", "model": {"kind": "closed", "occasions": 2,
               "strata": [{"n": 1000, "p": 0.3}]}}]}"#,
    );
    let t = sim::run_study(&s, None).unwrap();
    // Rcapture's labels; heterogeneous models are not reported on two occasions
    for label in ["M0", "Mt", "Mh Chao (LB)", "Mb", "Mth Chao (LB)"] {
        let r = t.row("M0", "all", label).unwrap();
        assert_eq!(r.replicates, 400, "{label}");
        assert!(r.failed_share < 0.01, "{label}: {}", r.failed_share);
    }
    assert!(t.row("two", "all", "Mh Chao (LB)").is_none());
    assert!(t.row("two", "all", "Mt").is_some());
    // profile intervals only where asked for
    let m0 = t.row("M0", "all", "M0").unwrap();
    assert_eq!(m0.primary().unwrap().method, "profile-likelihood");
    assert_eq!(
        t.row("M0", "all", "Mt").unwrap().primary().unwrap().method,
        "log-normal"
    );
    // M0 is unbiased under M0 and its profile interval covers near 95%
    assert!(unbiased(m0), "M0: {} ({})", m0.rel_bias, m0.rel_bias_mcse);
    let c = m0.primary().unwrap();
    assert!(
        (c.coverage - 0.95).abs() < 3.0 * c.coverage_mcse.max(0.011),
        "M0 coverage {} ({})",
        c.coverage,
        c.coverage_mcse
    );
    // under heterogeneity M0 is biased low and Mh Chao (LB) much less so
    let m0h = t.row("Mh", "all", "M0").unwrap();
    let chao = t.row("Mh", "all", "Mh Chao (LB)").unwrap();
    assert!(
        m0h.rel_bias + 3.0 * m0h.rel_bias_mcse < -0.1,
        "{}",
        m0h.rel_bias
    );
    assert!(
        chao.rel_bias.abs() + 3.0 * chao.rel_bias_mcse < m0h.rel_bias.abs(),
        "Mh Chao {} vs M0 {}",
        chao.rel_bias,
        m0h.rel_bias
    );
    // Chao's lower bound in its log-linear form on capture histories (Rivest &
    // Baillargeon 2007): unbiased under M0, biased low under strong logit-normal
    // heterogeneity (sd 1.5), as Chao (1987) and the literature report.
    // Under M0 it is consistent; what remains at N = 1000 is the small-sample ratio bias
    // of f1²/f2 (about +1% here, O(1/N)), far below the heterogeneity bias.
    let chao0 = t.row("M0", "all", "Mh Chao (LB)").unwrap();
    assert!(
        chao0.rel_bias.abs() + 3.0 * chao0.rel_bias_mcse < 0.02,
        "Mh Chao under M0: {} ({})",
        chao0.rel_bias,
        chao0.rel_bias_mcse
    );
    assert!(
        chao.rel_bias + 3.0 * chao.rel_bias_mcse < 0.0,
        "Mh Chao under heterogeneity: {} ({})",
        chao.rel_bias,
        chao.rel_bias_mcse
    );
    // What the study shows comes first in every output: M0 is reliable under M0 and not
    // under heterogeneity, where its bias is named.
    let f = sim::findings(&t);
    let names = |i: usize| -> Vec<&str> {
        f.scenarios[i]
            .reliable
            .iter()
            .map(|p| p.estimator.as_str())
            .collect()
    };
    assert_eq!(f.scenarios[0].scenario, "M0");
    assert!(names(0).contains(&"M0"), "{:?}", names(0));
    assert!(!names(1).contains(&"M0"), "{:?}", names(1));
    assert!(
        f.scenarios[1].reliable.iter().all(|p| p.coverage >= 0.90),
        "{:?}",
        f.scenarios[1]
    );
    let text = sim::report::to_text(&t);
    let shows = text
        .find("== What the study shows ==")
        .expect("findings in text");
    assert!(shows < text.find("rel. bias %").unwrap(), "{text}");
    assert!(text.contains(&f.scenarios[1].sentence), "{text}");
    let md = sim::report::to_markdown(&t);
    assert!(md.find("## What the study shows").unwrap() < md.find("| scenario |").unwrap());
    let json = sim::report::to_json(&t).unwrap();
    assert!(
        json.trim_start().starts_with("{\n  \"findings\": {"),
        "{}",
        &json[..80]
    );
    let html = sim::report::to_html(&t);
    assert!(html.find("What the study shows").unwrap() < html.find("<figure").unwrap());
}

fn small_study() -> Study {
    let mut s = sim::police_study();
    s.replicates = 60;
    s
}

fn run_on(threads: usize, s: &Study, range: Option<std::ops::Range<u64>>) -> RawResults {
    let est = builtin_estimators(&s.estimators, s.level).unwrap();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| {
            sim::run(
                s,
                &est,
                &RunOptions {
                    replicates: range,
                    progress: None,
                },
            )
            .unwrap()
        })
}

#[test]
fn same_seed_same_numbers_on_1_and_2_threads() {
    let s = small_study();
    let a = run_on(1, &s, None);
    let b = run_on(2, &s, None);
    assert_eq!(a, b);
    let ja = sim::report::to_json(&a.metrics()).unwrap();
    assert_eq!(ja, sim::report::to_json(&b.metrics()).unwrap());
    // a different seed changes the numbers
    let mut s2 = s.clone();
    s2.seed += 1;
    assert_ne!(
        ja,
        sim::report::to_json(&run_on(2, &s2, None).metrics()).unwrap()
    );
}

#[test]
fn shards_merge_to_the_unsharded_result() {
    let s = small_study();
    let full = run_on(2, &s, None);
    let a = run_on(2, &s, Some(0..25));
    let b = run_on(1, &s, Some(25..60));
    let merged = b.clone().merge(a.clone()).unwrap();
    assert_eq!(merged, full);
    assert_eq!(
        sim::report::to_csv(&merged.metrics()).unwrap(),
        sim::report::to_csv(&full.metrics()).unwrap()
    );
    // overlapping shards are refused
    assert!(matches!(
        a.clone().merge(a.clone()),
        Err(darkfigure::Error::InvalidData { .. })
    ));
    // shards saved as JSON merge bit-exactly
    let a_back: RawResults = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    let b_back: RawResults = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
    assert_eq!(a_back, a);
    assert_eq!(a_back.merge(b_back).unwrap(), full);
}

#[test]
fn failures_are_counted_not_hidden() {
    // tiny p: many replicates without recaptures (Lincoln-Petersen fails) or nobody seen
    let s = study(
        r#"{"name": "f", "replicates": 300, "seed": 9, "estimators": ["lincoln-petersen", "chapman"],
            "scenarios": [{"name": "sparse", "model": {"kind": "closed", "occasions": 2,
            "strata": [{"n": 30, "p": 0.05}]}}]}"#,
    );
    let t = sim::run_study(&s, None).unwrap();
    let lp = t.row("sparse", "all", "Lincoln-Petersen").unwrap();
    let ch = t.row("sparse", "all", "Chapman").unwrap();
    assert_eq!(lp.replicates, 300);
    assert!(lp.failed_share > 0.5, "{}", lp.failed_share);
    assert!(
        lp.failures[0].0.contains("no recaptures"),
        "{:?}",
        lp.failures
    );
    assert!(ch.no_data > 0);
    assert_eq!(ch.estimates + ch.no_data, 300);
    assert!(ch.flagged_share > 0.5);
}

#[test]
fn example_study_file_parses_and_runs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/police.json");
    let mut s = Study::from_path(path).unwrap();
    assert_eq!(s, sim::police_study());
    s.replicates = 5;
    let t = sim::run_study(&s, None).unwrap();
    assert!(!t.rows.is_empty());
    let md = sim::report::to_markdown(&t);
    assert!(md.contains("| Chapman |") || md.contains("Chapman"));
    let csv = sim::report::to_csv(&t).unwrap();
    assert!(csv.lines().count() > t.rows.len());
    let lists = study(
        r#"{"name": "l", "replicates": 3, "scenarios": [{"name": "l", "model": {"kind": "closed",
            "occasions": 3, "output": "lists", "strata": [{"n": 500, "p": 0.3}],
            "dependence": [{"lists": [1, 3], "log_odds_ratio": 1.0}]}}]}"#,
    );
    let g = Generator::new(&lists.scenarios[0]).unwrap();
    let rep = g.generate(&mut stream(1, 0, 0));
    assert!(matches!(rep.targets[0].data, Ok(SimData::Lists(_))));
}

#[test]
fn count_distribution_settings_are_checked() {
    let bad = r#"{"name": "c", "scenarios": [{"name": "c", "model": {"kind": "counts",
        "strata": [{"name": "buyers", "n": 10, "dist": {"kind": "one_inflated", "lambda": 1, "omega": 2}}]}}]}"#;
    let e = Study::from_json(bad).unwrap_err().to_string();
    assert!(e.contains("buyers") && e.contains("omega"), "{e}");
    let _ = CountDist::Poisson { lambda: 1.0 };
}

#[test]
fn grid_file_exercises_every_generator() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/grid.json");
    let mut s = Study::from_path(path).unwrap();
    s.replicates = 20;
    let t = sim::run_study(&s, None).unwrap();
    for sc in &s.scenarios {
        assert!(
            t.rows.iter().any(|r| r.scenario == sc.name),
            "no rows for {}",
            sc.name
        );
    }
    // list tables get the closed log-linear models and SparseMSE's stepwise search;
    // counts get closedp.0 (M0 and Mh) but no time or behaviour model
    let lists = "Three lists, positive dependence between lists 1 and 2";
    for label in ["Stepwise (SparseMSE)", "Mt", "Mh Chao (LB)"] {
        let r = t
            .row(lists, "all", label)
            .unwrap_or_else(|| panic!("{label}"));
        assert!(r.estimates > 0, "{label}");
    }
    // Mtb (t + 2 parameters on 7 cells) often has no finite MLE on three lists: its
    // failures are reported, not dropped
    let mtb = t.row(lists, "all", "Mtb").unwrap();
    assert_eq!(mtb.replicates, 20);
    assert!(mtb.failed_share == 0.0 || !mtb.failures.is_empty());
    let counts = "Police records with a covariate (Poisson)";
    assert!(t.row(counts, "all", "M0").is_some());
    assert!(t.row(counts, "all", "Mt").is_none());
    assert!(t.row(counts, "all", "Stepwise (SparseMSE)").is_none());
    // per-stratum targets of the open and count scenarios
    assert!(t.rows.iter().any(|r| r.target == "sellers"));
    assert!(t.rows.iter().any(|r| r.target == "women"));
    // open populations: the truth is the realised super-population (> initial)
    let open = t
        .rows
        .iter()
        .find(|r| r.scenario.starts_with("Open") && r.target == "buyers")
        .unwrap();
    assert!(open.truth > 2000.0 + 4.0 * 200.0 * 0.8, "{}", open.truth);
}
