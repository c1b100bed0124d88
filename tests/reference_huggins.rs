//! Huggins conditional-likelihood models against VGAM 1.1-7 (`tests/fixtures/huggins/vgam.json`):
//! `posbernoulli.t`, `posbernoulli.b`, `posbernoulli.tb` and `posbinomial` on the snowshoe
//! hares (Rcapture's `hare`), the deer mice and the prinia data (VGAM's `deermice`,
//! `prinia`).
//!
//! Two checks per fit:
//!
//! 1. **At VGAM's coefficients**, our log-likelihood, AIC, BIC and N̂ equal VGAM's at 1e-6
//!    relative (they agree to ~1e-12): the likelihood and the Horvitz-Thompson estimate
//!    are VGAM's exactly.
//! 2. **At our maximum**, coefficients, N̂, log-likelihood, AIC and BIC at 1e-6 relative,
//!    and our log-likelihood is at least VGAM's — except for the four behavioural fits in
//!    [`VGAM_STOPPED_SHORT`]: VGAM's Fisher scoring (expected information, which differs
//!    from the observed one when capture depends on the first-capture time) converges
//!    only linearly there and stops with its log-likelihood 4e-10 to 2e-8 below our
//!    maximum (hare Mtb 4.1e-9, deermice Mb + sex + weight 8.8e-9, deermice Mtb 4.0e-10,
//!    deermice Mtb + sex + weight 2.1e-8), so its coefficients sit up to 1e-4 (absolute)
//!    from the maximum and its N̂ up to 3.1e-5 relative (deermice Mtb + sex + weight
//!    51.0208 vs our 51.0192). Those are compared at [`SHORT_COEF_ATOL`] and
//!    [`SHORT_NHAT_RTOL`].
//!
//! The SE of N̂ follows VGAM (Huggins's variance with the *expected* information). VGAM
//! takes the information from the R factor of its last IRLS iteration, whose weights are
//! those of the penultimate coefficients, not of the estimate it prints; the same model
//! fitted twice by VGAM shows the effect (hare M0 by `posbernoulli.t` SE 3.454972487, by
//! `posbernoulli.b` 3.454999941; we give 3.454999953). The entries of [`LOOSE_SE`] differ
//! from ours by more than 1e-6 for that reason (largest: prinia Mb, 266.2302 vs our
//! 266.3504, 4.5e-4) and are compared at [`SE_VGAM_RTOL`]; the other nine at 1e-6.

use darkfigure::data::{
    CountData, CovariateHistories, CovariateValues, read_covariate_histories_path,
    read_covariate_histories_str,
};
use darkfigure::huggins::{Huggins, HugginsFit, HugginsParams, posbinomial};
use serde_json::Value;

const RTOL: f64 = 1e-6;
/// Rcapture's `optim` (BFGS, reltol 1e-8) limits Mh Normal's N̂ to 2.5e-6 (hare).
const NORMAL_OPTIM_RTOL: f64 = 1e-5;
/// ... and its SE to 9.1e-6 (hare; optim's finite-difference Hessian).
const NORMAL_SE_RTOL: f64 = 2e-5;
/// The SE tolerance forced by VGAM's last-iteration weights (prinia Mb: 4.5e-4).
const SE_VGAM_RTOL: f64 = 5e-4;
/// Entries whose VGAM SE uses weights of its penultimate iteration (data set, key).
const LOOSE_SE: &[(&str, &str)] = &[
    ("hare", "M0 posbernoulli.t(parallel.t=TRUE~1)"),
    ("hare", "Mt posbernoulli.t()"),
    ("hare", "Mb posbernoulli.b()"),
    ("hare", "Mtb posbernoulli.tb()"),
    ("deermice", "Mb posbernoulli.b()"),
    ("deermice", "Mtb posbernoulli.tb()"),
    ("deermice", "Mb + sex + weight posbernoulli.b()"),
    ("deermice", "Mtb + sex + weight posbernoulli.tb()"),
    ("prinia", "M0 posbernoulli.b(drop.b=FALSE~0)"),
    ("prinia", "Mb posbernoulli.b()"),
    (
        "prinia",
        "M0 + length + fat posbinomial(omit.constant=TRUE)",
    ),
];
/// Fits where VGAM's Fisher scoring stopped short of the maximum (see the module docs).
const VGAM_STOPPED_SHORT: &[(&str, &str)] = &[
    ("hare", "Mtb posbernoulli.tb()"),
    ("deermice", "Mtb posbernoulli.tb()"),
    ("deermice", "Mb + sex + weight posbernoulli.b()"),
    ("deermice", "Mtb + sex + weight posbernoulli.tb()"),
];
/// Coefficient tolerance (absolute, logit scale) for [`VGAM_STOPPED_SHORT`]: deermice
/// Mtb + sex + weight `(Intercept):1` 1.701534 (ours) vs 1.701634 (VGAM), 9.9e-5.
const SHORT_COEF_ATOL: f64 = 2e-4;
/// N̂ tolerance for [`VGAM_STOPPED_SHORT`]: deermice Mtb + sex + weight, 3.1e-5.
const SHORT_NHAT_RTOL: f64 = 5e-5;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/huggins")
        .join(name)
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("vgam.json")).unwrap()).unwrap()
}

fn data(set: &str) -> CovariateHistories {
    let covs: Vec<String> = match set {
        "hare" => vec![],
        "deermice" => vec!["sex".into(), "age".into(), "weight".into()],
        "prinia" => vec!["length".into(), "fat".into()],
        _ => unreachable!(),
    };
    let d = read_covariate_histories_path(fixture(&format!("{set}.csv")), &covs).unwrap();
    let t = match set {
        "prinia" => 19,
        _ => 6,
    };
    assert_eq!(d.histories().occasions(), t, "{set}");
    d
}

/// The model of a vgam.json key: `"Mtb + sex + weight posbernoulli.tb()"`.
fn spec(key: &str) -> (HugginsParams, bool) {
    let mut words = key.split_whitespace();
    let mut p = match words.next().unwrap() {
        "M0" => Huggins::m0(),
        "Mt" => Huggins::mt(),
        "Mb" => Huggins::mb(),
        "Mtb" => Huggins::mtb(),
        m => panic!("unknown model {m}"),
    };
    let mut covs = Vec::new();
    let mut binomial = false;
    while let Some(w) = words.next() {
        if w == "+" {
            covs.push(words.next().unwrap().to_string());
        } else {
            binomial = w.starts_with("posbinomial");
            break;
        }
    }
    p = p.covariates(&covs);
    (p, binomial)
}

fn close(bad: &mut Vec<String>, ours: f64, theirs: f64, tol: f64, what: &str) {
    let rel = (ours - theirs).abs() / theirs.abs().max(1e-300);
    if rel > tol || rel.is_nan() {
        bad.push(format!(
            "{what}: ours {ours:.12} reference {theirs:.12} (relative {rel:.2e} > {tol:.0e})"
        ));
    }
}

fn fit_entry(set: &str, key: &str, d: &CovariateHistories) -> HugginsFit {
    let (p, binomial) = spec(key);
    if binomial {
        // Times caught out of 19, with the covariates (VGAM: cbind(cap, noncap) ~ length + fat).
        let caps: Vec<u64> = (0..d.histories().n_rows())
            .map(|i| u64::from(d.histories().histories()[i].count_ones()))
            .collect();
        let mut c = CountData::new(caps).unwrap();
        for cov in d.covariates() {
            c = c
                .with_covariate(cov.name.clone(), cov.values.clone())
                .unwrap();
        }
        let covs: Vec<&str> = key
            .split(" + ")
            .skip(1)
            .map(|s| s.split(' ').next().unwrap())
            .collect();
        posbinomial(&c, d.histories().occasions(), &covs, 0.95).unwrap()
    } else {
        p.fit(d).unwrap_or_else(|e| panic!("{set} {key}: {e}"))
    }
}

/// Evaluated at VGAM's own coefficients, our likelihood, N̂ and SE formulas give VGAM's
/// figures: this checks the likelihood and the Horvitz-Thompson variance exactly,
/// whatever VGAM's convergence.
#[test]
fn our_formulas_at_vgam_coefficients_give_vgam_figures() {
    let r = reference();
    let mut bad = Vec::new();
    let mut checked = 0;
    for set in ["hare", "deermice", "prinia"] {
        let d = data(set);
        for (key, v) in r[set]["vglm"].as_object().unwrap() {
            let (p, binomial) = spec(key);
            let fit0 = fit_entry(set, key, &d);
            let coef: Vec<f64> = fit0
                .coef_names
                .iter()
                .map(|n| {
                    v["coef"][n.as_str()]
                        .as_f64()
                        .unwrap_or_else(|| panic!("{set} {key}: {n}"))
                })
                .collect();
            let at = if binomial {
                posbinomial_at(&d, key, &coef)
            } else {
                p.evaluate(&d, &coef).unwrap()
            };
            let what = format!("{set} {key} at VGAM's coefficients");
            // Our maximum is at least VGAM's.
            assert!(fit0.loglik >= at.loglik - 1e-12 * at.loglik.abs(), "{what}");
            close(
                &mut bad,
                at.loglik,
                v["loglik"].as_f64().unwrap(),
                RTOL,
                &format!("{what}: logLik"),
            );
            close(
                &mut bad,
                at.aic,
                v["AIC"].as_f64().unwrap(),
                RTOL,
                &format!("{what}: AIC"),
            );
            close(
                &mut bad,
                at.bic,
                v["BIC"].as_f64().unwrap(),
                RTOL,
                &format!("{what}: BIC"),
            );
            close(
                &mut bad,
                at.estimate.n_hat,
                v["abundance"].as_f64().unwrap(),
                RTOL,
                &format!("{what}: N̂"),
            );
            let se_tol = if LOOSE_SE.contains(&(set, key.as_str())) {
                SE_VGAM_RTOL
            } else {
                RTOL
            };
            close(
                &mut bad,
                at.estimate.se,
                v["stderr"].as_f64().unwrap(),
                se_tol,
                &format!("{what}: SE"),
            );
            checked += 1;
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(checked, 20);
}

fn posbinomial_at(d: &CovariateHistories, _key: &str, coef: &[f64]) -> HugginsFit {
    // posbinomial is M0 with covariates on the times caught: the same likelihood.
    Huggins::m0()
        .covariates(&["length", "fat"])
        .evaluate(d, coef)
        .unwrap()
}

#[test]
fn every_vgam_fit_matches() {
    let r = reference();
    let mut checked = 0;
    let mut bad = Vec::new();
    for set in ["hare", "deermice", "prinia"] {
        let d = data(set);
        assert_eq!(d.histories().observed(), r[set]["n"].as_u64().unwrap());
        for (key, v) in r[set]["vglm"].as_object().unwrap() {
            let fit = fit_entry(set, key, &d);
            let what = format!("{set} {key}");
            let short = VGAM_STOPPED_SHORT.contains(&(set, key.as_str()));
            let coef = v["coef"].as_object().unwrap();
            assert_eq!(fit.coef.len(), coef.len(), "{what}: number of coefficients");
            for (name, c) in coef {
                let i = fit
                    .coef_names
                    .iter()
                    .position(|n| n == name)
                    .unwrap_or_else(|| {
                        panic!("{what}: no coefficient {name} in {:?}", fit.coef_names)
                    });
                // Coefficients near 0 compared absolutely at the same scale.
                let c = c.as_f64().unwrap();
                let tol = if short {
                    SHORT_COEF_ATOL / c.abs()
                } else if c.abs() < 1e-2 {
                    // weight (0.006 per g): compared at the scale of the other coefficients.
                    RTOL * 1e-2 / c.abs()
                } else {
                    RTOL
                };
                close(
                    &mut bad,
                    fit.coef[i],
                    c,
                    tol,
                    &format!("{what} coef {name}"),
                );
            }
            let ll = v["loglik"].as_f64().unwrap();
            close(&mut bad, fit.loglik, ll, RTOL, &format!("{what} logLik"));
            assert!(
                fit.loglik >= ll - 1e-9 * ll.abs(),
                "{what}: our logLik {} below VGAM's {ll}",
                fit.loglik
            );
            close(
                &mut bad,
                fit.aic,
                v["AIC"].as_f64().unwrap(),
                RTOL,
                &format!("{what} AIC"),
            );
            close(
                &mut bad,
                fit.bic,
                v["BIC"].as_f64().unwrap(),
                RTOL,
                &format!("{what} BIC"),
            );
            close(
                &mut bad,
                fit.estimate.n_hat,
                v["abundance"].as_f64().unwrap(),
                if short { SHORT_NHAT_RTOL } else { RTOL },
                &format!("{what} N̂"),
            );
            let se_tol = if LOOSE_SE.contains(&(set, key.as_str())) {
                SE_VGAM_RTOL
            } else {
                RTOL
            };
            close(
                &mut bad,
                fit.estimate.se,
                v["stderr"].as_f64().unwrap(),
                se_tol,
                &format!("{what} SE"),
            );
            assert!(fit.estimate.interval.contains(fit.estimate.n_hat));
            assert!(
                fit.estimate.warnings.is_empty(),
                "{what}: {:?}",
                fit.estimate.warnings
            );
            checked += 1;
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(checked, 6 + 10 + 4);
}

#[test]
fn aliased_design_is_a_typed_error() {
    // Huggins (1989) table 1: the time-varying covariate is the same for every animal, so
    // beside occasion intercepts it is aliased; with one intercept it is identified.
    // Two animals of the table were never caught (all zeros); a conditional likelihood
    // cannot use them, and the reader refuses them, so they are dropped here.
    let text = std::fs::read_to_string(fixture("Huggins89table1.csv")).unwrap();
    let e = read_covariate_histories_str(&text, "Huggins89table1.csv", &["x2".to_string()])
        .unwrap_err();
    assert!(e.to_string().contains("line 7"), "{e}");
    // every never-seen row is named, so that all can be removed at once
    assert!(
        e.to_string()
            .contains("2 rows have no capture: lines 7, 13"),
        "{e}"
    );
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("0,0,0,0,0,0,0,0,0,0,"))
        .collect();
    let d = read_covariate_histories_str(
        &kept.join("\n"),
        "Huggins89table1.csv",
        &["x2".to_string(), "t".to_string()],
    )
    .unwrap();
    assert_eq!(d.histories().occasions(), 10);
    let e = Huggins::mt().time_varying(&["t"]).fit(&d).unwrap_err();
    assert!(e.to_string().contains("not of full rank"), "{e}");
    let fit = Huggins::m0()
        .covariates(&["x2"])
        .time_varying(&["t"])
        .fit(&d)
        .unwrap();
    assert_eq!(fit.coef_names, vec!["(Intercept)", "x2", "t"]);
    assert!(fit.estimate.n_hat >= 18.0 && fit.estimate.se > 0.0);
}

#[test]
fn unknown_covariate_is_named() {
    let d = data("deermice");
    let e = Huggins::m0().covariates(&["colour"]).fit(&d).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
    let e = Huggins::m0()
        .behaviour_covariates(&["sex"])
        .fit(&d)
        .unwrap_err();
    assert!(e.to_string().contains("behaviour"), "{e}");
    let _ = CovariateValues::Numeric(vec![]);
}

/// Rcapture 1.4-4 `closedpCI.t(hare, m = "Mh", h = "Normal")`: Rcapture minimises the
/// deviance with `optim` (BFGS, default `reltol` 1e-8, numerical gradient) and takes the
/// variance from `optim`'s finite-difference Hessian (step 1e-3), so its figures carry
/// that optimiser's error; we minimise to a gradient of 1e-7 with Newton steps. Our
/// deviance is 4e-10 *below* Rcapture's (61.74460927637 vs 61.74460927675) and matches it,
/// AIC and BIC at 1e-6; N̂ (91.710608 vs 91.710834, 2.5e-6) and the interval limits
/// (upper 4.1e-6) at [`NORMAL_OPTIM_RTOL`]; the SE (10.460575 vs 10.460670, 9.1e-6, which
/// also carries optim's step-1e-3 Hessian) at [`NORMAL_SE_RTOL`].
#[test]
fn mh_normal_matches_rcapture_on_hare() {
    use darkfigure::data::CaptureHistories;
    use darkfigure::huggins::{NormalModel, closedp_normal};
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("rcapture_normal.json")).unwrap())
            .unwrap();
    let v = &r["hare"]["closedpCI.t"]["Mh Normal"];
    let text = std::fs::read_to_string(fixture("hare.csv")).unwrap();
    let rows: Vec<Vec<u8>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|x| x.trim().parse::<u8>().unwrap())
                .collect()
        })
        .collect();
    let h = CaptureHistories::from_rows(&rows).unwrap();
    let fit = closedp_normal(&h, &NormalModel::Mh, 0.95).unwrap();
    let mut bad = Vec::new();
    let e = &fit.estimate;
    close(
        &mut bad,
        e.n_hat,
        v["abundance"].as_f64().unwrap(),
        NORMAL_OPTIM_RTOL,
        "N̂",
    );
    close(
        &mut bad,
        e.se,
        v["stderr"].as_f64().unwrap(),
        NORMAL_SE_RTOL,
        "SE",
    );
    assert!(fit.deviance <= v["deviance"].as_f64().unwrap() + 1e-12);
    close(
        &mut bad,
        fit.deviance,
        v["deviance"].as_f64().unwrap(),
        RTOL,
        "deviance",
    );
    close(&mut bad, fit.aic, v["AIC"].as_f64().unwrap(), RTOL, "AIC");
    close(&mut bad, fit.bic, v["BIC"].as_f64().unwrap(), RTOL, "BIC");
    close(
        &mut bad,
        e.interval.lower,
        v["ci_lower"].as_f64().unwrap(),
        NORMAL_OPTIM_RTOL,
        "lower",
    );
    close(
        &mut bad,
        e.interval.upper,
        v["ci_upper"].as_f64().unwrap(),
        NORMAL_OPTIM_RTOL,
        "upper",
    );
    assert_eq!(fit.df, v["df"].as_i64().unwrap());
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The embedded police example with covariates (`examples/make_police_covariates.rs`,
/// N = 1500): the covariate model recovers N, the model without covariates falls short.
#[test]
fn police_covariates_example() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data/police_covariates.csv");
    let covs = ["sex".to_string(), "age".into(), "prior".into()];
    let d = read_covariate_histories_path(path, &covs).unwrap();
    assert_eq!(d.histories().occasions(), 6);
    let with = Huggins::m0().covariates(&covs).fit(&d).unwrap();
    let without = Huggins::m0().fit(&d).unwrap();
    assert!(with.estimate.interval.contains(1500.0), "{with}");
    assert!(without.estimate.interval.upper < 1500.0, "{without}");
    assert!(with.aic < without.aic);
    let s = darkfigure::report::huggins::section(&d, &covs, 0.95).unwrap();
    assert_eq!(s.fits.len() + s.failed.len(), 8);
    assert_eq!(s.fits[0].covariates, covs.to_vec());
}

/// The fit sums groups in fixed chunks, so it gives bit-identical results on 1 and 2
/// threads (3,000 units with a numeric covariate: 3,000 groups, several chunks).
#[test]
fn same_fit_on_one_and_two_threads() {
    use darkfigure::data::CaptureHistories;
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    let (mut hist, mut x) = (Vec::new(), Vec::new());
    while hist.len() < 3000 {
        let w: f64 = rng.random::<f64>() * 2.0 - 1.0;
        let p = 1.0 / (1.0 + (-(-1.0 + 0.8 * w)).exp());
        let mut h = 0u64;
        for j in 0..8 {
            if rng.random::<f64>() < p {
                h |= 1 << j;
            }
        }
        if h != 0 {
            hist.push(h);
            x.push(w);
        }
    }
    let n = hist.len();
    let d = CovariateHistories::new(CaptureHistories::new(8, hist, vec![1; n]).unwrap())
        .with_covariate("w", CovariateValues::Numeric(x))
        .unwrap();
    let fit = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Huggins::mtb().covariates(&["w"]).fit(&d).unwrap())
    };
    let (a, b) = (fit(1), fit(2));
    assert_eq!(a.coef, b.coef);
    assert_eq!(a.estimate.n_hat.to_bits(), b.estimate.n_hat.to_bits());
    assert_eq!(a.estimate.se.to_bits(), b.estimate.se.to_bits());
}

/// Separation: a level whose every unit was caught on every occasion drives its
/// coefficient to +∞; the fit is returned with a boundary warning, never a panic or a
/// silent NaN.
#[test]
fn separation_is_flagged() {
    use darkfigure::data::CaptureHistories;
    let rows: Vec<[u8; 4]> = vec![
        [1, 1, 1, 1],
        [1, 1, 1, 1],
        [1, 1, 1, 1],
        [1, 0, 0, 1],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [1, 0, 1, 0],
        [0, 0, 0, 1],
    ];
    let g = ["a", "a", "a", "b", "b", "b", "b", "b"];
    let d = CovariateHistories::new(CaptureHistories::from_rows(&rows).unwrap())
        .with_covariate("g", CovariateValues::categorical(&g))
        .unwrap();
    let f = Huggins::m0().covariates(&["g"]).fit(&d).unwrap();
    assert!(f.estimate.n_hat.is_finite());
    assert!(
        f.estimate
            .warnings
            .iter()
            .any(|w| matches!(w, darkfigure::Warning::Boundary { .. })),
        "{f}"
    );
}

/// Rcapture 1.4-4 `closedpCI.t(diabetes, dfreq = TRUE, mX = ~ . + c1:c3 + c2:c4 + c3:c4,
/// h = "Normal")` (Rcapture's help example, Rivest 2011; entry `Mth normal with I`): the
/// custom-design path. As on the hare, `optim` stops short of the maximum: our deviance is
/// 1.3e-9 *below* Rcapture's (8.2235921306 vs 8.2235921318), deviance, AIC and BIC agree
/// at 1e-6, and N̂ (2763.530768 vs 2763.526583, 1.5e-6), the interval limits (1.6e-6) and
/// the SE (100.86065 vs 100.86034, 3.1e-6) at [`NORMAL_OPTIM_RTOL`]. σ̂ is reported
/// positive: the quadrature nodes are symmetric, so σ and −σ give the same likelihood.
#[test]
fn mth_normal_with_interactions_matches_rcapture_on_diabetes() {
    use darkfigure::data::{CaptureHistories, canonical_history};
    use darkfigure::huggins::{NormalModel, closedp_normal};
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("rcapture_normal.json")).unwrap())
            .unwrap();
    let v = &r["diabetes"]["closedpCI.t"]["Mth normal with I"];
    let text = std::fs::read_to_string(fixture("diabetes.csv")).unwrap();
    let mut rows = Vec::new();
    for l in text.lines().skip(1) {
        let v: Vec<u64> = l.split(',').map(|x| x.trim().parse().unwrap()).collect();
        let s: String = v[..4].iter().map(|x| x.to_string()).collect();
        rows.push((s, v[4]));
    }
    let rows: Vec<(&str, u64)> = rows.iter().map(|(s, f)| (s.as_str(), *f)).collect();
    let h = CaptureHistories::from_strings(&rows).unwrap();
    assert_eq!(h.observed(), 2069);
    // Rcapture's design: the 4 list effects (`.`), then c1:c3, c2:c4, c3:c4, one row per
    // observable history in Rcapture's order.
    let (t, m) = (4, 15);
    let bit = |r: usize, j: usize| ((canonical_history(t, r) >> j) & 1) as f64;
    let design = nalgebra::DMatrix::from_fn(m, 7, |r, c| match c {
        0..=3 => bit(r, c),
        4 => bit(r, 0) * bit(r, 2),
        5 => bit(r, 1) * bit(r, 3),
        _ => bit(r, 2) * bit(r, 3),
    });
    let model = NormalModel::Custom {
        name: "Mth normal with I".into(),
        design,
    };
    let fit = closedp_normal(&h, &model, 0.95).unwrap();
    let e = &fit.estimate;
    let num = |k: &str| v[k].as_f64().unwrap();
    let mut bad = Vec::new();
    close(&mut bad, e.n_hat, num("abundance"), NORMAL_OPTIM_RTOL, "N̂");
    close(&mut bad, e.se, num("stderr"), NORMAL_OPTIM_RTOL, "SE");
    close(&mut bad, fit.deviance, num("deviance"), RTOL, "deviance");
    close(&mut bad, fit.aic, num("AIC"), RTOL, "AIC");
    close(&mut bad, fit.bic, num("BIC"), RTOL, "BIC");
    close(
        &mut bad,
        e.interval.lower,
        num("ci_lower"),
        NORMAL_OPTIM_RTOL,
        "lower",
    );
    close(
        &mut bad,
        e.interval.upper,
        num("ci_upper"),
        NORMAL_OPTIM_RTOL,
        "upper",
    );
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(fit.df, v["df"].as_i64().unwrap());
    // Rcapture's optimiser stopped short: our deviance is at most its.
    assert!(
        fit.deviance <= num("deviance"),
        "{} > {}",
        fit.deviance,
        num("deviance")
    );
    let sigma = *fit.coef.last().unwrap();
    assert!(sigma > 0.5, "σ̂ = {sigma}");
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
}

#[test]
fn a_long_register_with_a_unit_covariate_reads_as_its_wide_form() {
    use darkfigure::data::{ReadOptions, read_covariate_histories_with};
    // The police register, one row per record, `minor` on every record of a person.
    let long = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/police_operations.csv"
    ))
    .unwrap();
    let covs = ["minor".to_string()];
    let d = read_covariate_histories_str(&long, "police_operations.csv", &covs).unwrap();
    // The strata stay, in the order of the file, each with its people's covariates; a
    // stratum column named among the covariates is a covariate instead.
    let st = d.histories().strata().unwrap();
    assert_eq!(st.names, ["buyer", "seller"]);
    let parts = d.split_by_stratum();
    let seen: Vec<u64> = parts
        .iter()
        .map(|(_, p)| p.histories().observed())
        .collect();
    assert_eq!(seen, [257, 148]);
    let levels =
        |p: &darkfigure::data::CovariateHistories| match &p.covariate("minor").unwrap().values {
            darkfigure::data::CovariateValues::Numeric(v) => {
                let mut v: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                v.sort();
                v.dedup();
                v
            }
            other => panic!("{other:?}"),
        };
    assert_eq!(levels(&parts[0].1), ["0"]);
    assert_eq!(levels(&parts[1].1), ["0", "1"]);
    let both = ["minor".to_string(), "stratum".to_string()];
    let pooled = read_covariate_histories_str(&long, "police_operations.csv", &both).unwrap();
    assert!(pooled.histories().strata().is_none());
    assert!(pooled.split_by_stratum().is_empty());
    assert_eq!(pooled.histories().observed(), 405);
    // The same register written wide by hand: one row per person, occasions 1..5.
    let mut people: Vec<(String, u8, String)> = Vec::new();
    for line in long.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let occ: usize = f[1].parse().unwrap();
        match people.iter_mut().find(|p| p.0 == f[0]) {
            Some(p) => p.1 |= 1 << (occ - 1),
            None => people.push((f[0].to_string(), 1 << (occ - 1), f[3].to_string())),
        }
    }
    let mut wide = String::from("id,o1,o2,o3,o4,o5,minor\n");
    for (id, h, minor) in &people {
        let bits: Vec<String> = (0..5).map(|j| (h >> j & 1).to_string()).collect();
        wide += &format!("{id},{},{minor}\n", bits.join(","));
    }
    let w = read_covariate_histories_str(&wide, "wide.csv", &covs).unwrap();
    assert_eq!(d.histories().histories(), w.histories().histories());
    assert_eq!(d.covariates(), w.covariates());
    for model in [Huggins::m0(), Huggins::mt(), Huggins::mb()] {
        let a = model.clone().covariates(&["minor"]).fit(&d).unwrap();
        let b = model.covariates(&["minor"]).fit(&w).unwrap();
        assert_eq!(a.estimate.n_hat, b.estimate.n_hat);
        assert_eq!(a.estimate.se, b.estimate.se);
    }
    // A person whose covariate changes between records is refused at the record.
    let changed = long.replacen("B002,2,buyer,0", "B002,2,buyer,1", 1);
    let e = read_covariate_histories_str(&changed, "police_operations.csv", &covs).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("line 3, column `minor`")
            && msg.contains("`0` as on line 2, where unit `B002` was recorded before"),
        "{msg}"
    );
    // Time-varying covariates need one column per occasion.
    let e = read_covariate_histories_str(&long, "police_operations.csv", &["age".to_string()])
        .unwrap_err();
    assert!(e.to_string().contains("no column `age`"), "{e}");
    // The long reader's options apply: a unit in two strata placed by its first occasion.
    let moved = format!("{long}B002,5,seller,0\n");
    assert!(read_covariate_histories_str(&moved, "p.csv", &covs).is_err());
    let o = ReadOptions {
        unit_stratum: darkfigure::data::UnitStratum::First,
        ..Default::default()
    };
    let d = read_covariate_histories_with(&moved, "p.csv", &covs, &o).unwrap();
    assert_eq!(d.histories().histories()[0], 0b11011);
}
