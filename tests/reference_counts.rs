//! Reference tests for `darkfigure::counts` against singleRcapture 0.2.3.
//!
//! Figures: `tests/fixtures/counts/singleRcapture.json` (a copy of
//! `shared/reference/singleRcapture.json`, key `fits.<data>__<family>__<formula>`), data:
//! the package's bundled data sets exported to CSV (see `tests/fixtures/counts/README.md`).
//! Calls: `estimatePopsize(formula, data, model = <family>)` with defaults (IRLS,
//! analytic variance, α = 0.05). Tolerances: 1e-6 relative on N̂, SE and the analytic
//! intervals, 1e-6 (absolute below 1) on coefficients; 5e-6 for the two fits R leaves
//! under-converged (`UNDERCONVERGED_IN_R`, with the figures).

use darkfigure::counts::{self, CountFit, CountModel, Family};
use darkfigure::data::CountData;
use darkfigure::data::csv_io::{ReadOptions, read_counts_str};
use serde_json::Value;
use std::sync::OnceLock;

fn fixture(name: &str) -> String {
    let p = format!(
        "{}/tests/fixtures/counts/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn reference() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| serde_json::from_str(&fixture("singleRcapture.json")).unwrap())
}

fn dataset(name: &str) -> CountData {
    let col = if name == "netherlandsimmigrant" {
        "capture"
    } else {
        "TOTAL_SUB"
    };
    let opts = ReadOptions {
        count_column: Some(col.into()),
        ..Default::default()
    };
    read_counts_str(&fixture(&format!("{name}.csv")), name, &opts).unwrap()
}

fn data(name: &str) -> &'static CountData {
    static N: OnceLock<CountData> = OnceLock::new();
    static F: OnceLock<CountData> = OnceLock::new();
    static C: OnceLock<CountData> = OnceLock::new();
    match name {
        "netherlandsimmigrant" => N.get_or_init(|| dataset(name)),
        "farmsubmission" => F.get_or_init(|| dataset(name)),
        _ => C.get_or_init(|| dataset(name)),
    }
}

fn covariates(data: &str, formula: &str) -> Vec<String> {
    let v: &[&str] = match formula {
        "intercept" => &[],
        "gender_age_nation" => &["gender", "age", "nation"],
        "gender_age_reason_nation" => &["gender", "age", "reason", "nation"],
        "all" => &["log_size", "log_distance", "C_TYPE"],
        _ => panic!("unknown formula {formula} for {data}"),
    };
    v.iter().map(|s| s.to_string()).collect()
}

fn close(what: &str, got: f64, want: f64, rtol: f64) {
    if let Err(e) = near(what, got, want, rtol) {
        panic!("{e}");
    }
}

fn near(what: &str, got: f64, want: f64, rtol: f64) -> Result<(), String> {
    if (got - want).abs() <= rtol * want.abs().max(1.0) {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {got}, reference {want} (rel. diff {:.2e})",
            (got - want).abs() / want.abs()
        ))
    }
}

fn fit_key(key: &str) -> (String, Family, Vec<String>, darkfigure::Result<CountFit>) {
    let parts: Vec<&str> = key.split("__").collect();
    let fam = Family::from_label(parts[1]).unwrap();
    let covs = covariates(parts[0], parts[2]);
    let r = CountModel::params(fam)
        .covariates(&covs)
        .fit(data(parts[0]));
    (parts[0].to_string(), fam, covs, r)
}

/// Keys of the deterministic, default-settings fits of the families darkfigure
/// implements.
fn keys() -> Vec<String> {
    reference()["fits"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| {
            let parts: Vec<&str> = k.split("__").collect();
            parts.len() == 3 && Family::from_label(parts[1]).is_some()
        })
        .cloned()
        .collect()
}

/// Fits where singleRcapture's IRLS stops (coefficient change below 1e-8 per step) while
/// the coefficients are still ~1e-6 from the maximum of a flat likelihood: its logLik
/// agrees with darkfigure's to 1e-12 relative, but the intercept and SE(N̂) only to a few
/// 1e-6 (ztgeom: intercept −1.8129348 against −1.8129312, 1.95e-6; SE 900.26876 against
/// 900.26760, 1.29e-6; ztoigeom: intercept −1.3754766 against −1.3754726, 2.92e-6).
/// darkfigure converges further (gradient below 1e-9); these two are compared at 5e-6,
/// every other fit (negative binomial included) at 1e-6.
const UNDERCONVERGED_IN_R: [&str; 2] = [
    "carcassubmission__ztgeom__all",
    "carcassubmission__ztoigeom__all",
];

fn check_fit(key: &str, r: &Value, fit: &CountFit) -> Vec<String> {
    let tol = if UNDERCONVERGED_IN_R.contains(&key) {
        5e-6
    } else {
        1e-6
    };
    let mut bad = Vec::new();
    let mut close = |what: &str, got: f64, want: f64, tol: f64| {
        if let Err(e) = near(what, got, want, tol) {
            bad.push(e);
        }
    };
    for (name, want) in r["coefficients"].as_object().unwrap() {
        let got = fit
            .coefficient(name)
            .unwrap_or_else(|| panic!("{key}: no coefficient {name}"));
        close(
            &format!("{key} coef {name}"),
            got,
            want.as_f64().unwrap(),
            tol,
        );
    }
    for (name, want) in r["std_errors"].as_object().unwrap() {
        let got = fit.std_error(name).unwrap();
        close(
            &format!("{key} se {name}"),
            got,
            want.as_f64().unwrap(),
            tol,
        );
    }
    let e = &fit.estimate;
    close(
        &format!("{key} N"),
        e.n_hat,
        r["N_hat"].as_f64().unwrap(),
        tol,
    );
    close(&format!("{key} SE"), e.se, r["N_se"].as_f64().unwrap(), tol);
    let ln = &r["N_confint"]["logNormal"];
    close(
        &format!("{key} lnorm lo"),
        e.interval.lower,
        ln["lowerBound"].as_f64().unwrap(),
        tol,
    );
    close(
        &format!("{key} lnorm hi"),
        e.interval.upper,
        ln["upperBound"].as_f64().unwrap(),
        tol,
    );
    let no = &r["N_confint"]["normal"];
    close(
        &format!("{key} normal lo"),
        e.other_intervals[0].lower,
        no["lowerBound"].as_f64().unwrap(),
        tol,
    );
    close(
        &format!("{key} normal hi"),
        e.other_intervals[0].upper,
        no["upperBound"].as_f64().unwrap(),
        tol,
    );
    close(
        &format!("{key} logLik"),
        fit.log_lik,
        r["logLik"].as_f64().unwrap(),
        tol,
    );
    close(
        &format!("{key} AIC"),
        fit.aic(),
        r["AIC"].as_f64().unwrap(),
        tol,
    );
    close(
        &format!("{key} BIC"),
        fit.bic(),
        r["BIC"].as_f64().unwrap(),
        tol,
    );
    close(
        &format!("{key} logLik (1e-10)"),
        fit.log_lik,
        r["logLik"].as_f64().unwrap(),
        1e-10,
    );
    bad
}

/// Fits where singleRcapture itself degenerates or fails (its `notes`; the JSON keeps
/// what it printed): ztnegbin on netherlandsimmigrant (α → boundary, N̂ = 5.35e14;
/// with covariates IRLS stops with "non-conformable arguments"), zotpoisson with
/// covariates on netherlandsimmigrant (coefficients → −∞, N̂ = 3.2e12), ztnegbin
/// intercept-only on farmsubmission and both ztnegbin fits on carcassubmission (no
/// convergence, N̂ from 1.8e7 to 1.7e12), ztHurdlepoisson with covariates on
/// netherlandsimmigrant (40 iterations, N̂ = 1.7e13).
///
/// darkfigure instead follows the likelihood to the boundary, and marks the fit
/// `degenerate` with typed warnings (`Boundary` for α or λ, unidentified coefficients,
/// N̂ more than 1000 × n): the number is kept for inspection but never printed as an
/// estimate without the warnings.
const DEGENERATE: [&str; 7] = [
    "netherlandsimmigrant__ztHurdlepoisson__gender_age_nation",
    "netherlandsimmigrant__ztnegbin__intercept",
    "netherlandsimmigrant__ztnegbin__gender_age_nation",
    "netherlandsimmigrant__zotpoisson__gender_age_nation",
    "farmsubmission__ztnegbin__intercept",
    "carcassubmission__ztnegbin__intercept",
    "carcassubmission__ztnegbin__all",
];

#[test]
fn regular_fits_match_singlercapture() {
    let mut checked = 0;
    let mut bad = Vec::new();
    for key in keys() {
        if DEGENERATE.contains(&key.as_str()) {
            continue;
        }
        let (_, _, _, r) = fit_key(&key);
        let fit = r.unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(
            !fit.degenerate,
            "{key}: flagged {:?}",
            fit.estimate.warnings
        );
        bad.extend(check_fit(&key, &reference()["fits"][&key], &fit));
        checked += 1;
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert_eq!(checked, 46);
}

#[test]
fn degenerate_fits_are_flagged() {
    // every one of them returns a fit (an error here would be a regression): flagged,
    // with its warnings, and printed as DEGENERATE rather than as a number
    for key in DEGENERATE {
        let (_, _, _, r) = fit_key(key);
        let fit = r.unwrap_or_else(|e| panic!("{key}: expected a flagged fit, got {e}"));
        assert!(fit.degenerate, "{key} not flagged");
        assert!(fit.estimate.is_flagged(), "{key}");
        assert!(!fit.estimate.warnings.is_empty(), "{key}: no warning");
        assert!(fit.to_string().contains("DEGENERATE"), "{key}");
    }
}

#[test]
fn van_der_heijden_2003() {
    let d = data("netherlandsimmigrant");
    let with = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(d)
        .unwrap();
    assert_eq!(with.estimate.n_hat.round(), 12690.0); // 12,690.35: "12,691" in the paper
    let without = CountModel::params(Family::ZtPoisson).fit(d).unwrap();
    assert_eq!(without.estimate.n_hat.round(), 7080.0);
}

#[test]
fn closed_forms_equal_intercept_only_models() {
    for name in ["netherlandsimmigrant", "farmsubmission", "carcassubmission"] {
        let d = data(name);
        let f = &reference()["fits"];
        let chao = counts::chao_lower_bound(d, 0.95).unwrap();
        close(
            &format!("{name} chao"),
            chao.n_hat,
            f[format!("{name}__chao__intercept")]["N_hat"]
                .as_f64()
                .unwrap(),
            1e-9,
        );
        let z = counts::zelterman(d, 0.95).unwrap();
        let r = &f[format!("{name}__zelterman__intercept")];
        close(
            &format!("{name} zelterman"),
            z.n_hat,
            r["N_hat"].as_f64().unwrap(),
            1e-9,
        );
        close(
            &format!("{name} zelterman se"),
            z.se,
            r["N_se"].as_f64().unwrap(),
            1e-9,
        );
        let bc = counts::chao_bias_corrected(d, 0.95).unwrap();
        assert!(bc.n_hat < chao.n_hat && bc.n_hat > d.observed() as f64);
        check_chao_bias_corrected(name, d, &bc);
    }
}

/// Chao's bias-corrected estimator. singleRcapture has no such model and no published
/// figure on these data was found, so the oracle is the closed form written out here
/// (Chao 2005, Encyclopedia of Statistical Sciences; the variance of Chiu et al. 2014,
/// Biometrics 70, eq. for Chao1-bc), from f1, f2 counted in this test, 1e-12 relative:
///
/// ```text
/// f0 = f1 (f1 − 1) / (2 (f2 + 1)),  N̂ = n + f0
/// Var = f0 + f1 (2 f1 − 1)² / (4 (f2 + 1)²) + f1² (f1 − 1)² f2 / (4 (f2 + 1)⁴)
/// log-normal interval: n + f0 / C, n + f0 · C,  C = exp(z sqrt(ln(1 + Var / f0²)))
/// ```
fn check_chao_bias_corrected(name: &str, d: &CountData, bc: &darkfigure::Estimate) {
    const Z95: f64 = 1.959963984540054; // qnorm(0.975)
    let t = d.frequency_table();
    let (f1, f2) = (t[0] as f64, t[1] as f64);
    let n: f64 = t.iter().map(|&f| f as f64).sum();
    let f0 = f1 * (f1 - 1.0) / (2.0 * (f2 + 1.0));
    let var = f0
        + f1 * (2.0 * f1 - 1.0).powi(2) / (4.0 * (f2 + 1.0).powi(2))
        + f1 * f1 * (f1 - 1.0).powi(2) * f2 / (4.0 * (f2 + 1.0).powi(4));
    let c = (Z95 * (1.0 + var / (f0 * f0)).ln().sqrt()).exp();
    close(&format!("{name} chao-bc N"), bc.n_hat, n + f0, 1e-12);
    close(&format!("{name} chao-bc SE"), bc.se, var.sqrt(), 1e-12);
    close(
        &format!("{name} chao-bc lo"),
        bc.interval.lower,
        n + f0 / c,
        1e-12,
    );
    close(
        &format!("{name} chao-bc hi"),
        bc.interval.upper,
        n + f0 * c,
        1e-12,
    );
}

/// Chao's bias-corrected estimator on the netherlandsimmigrant table (f1 = 1645,
/// f2 = 183, n = 1880), by hand: f0 = 1645 · 1644 / (2 · 184) = 7348.8586956521...
#[test]
fn chao_bias_corrected_by_hand() {
    let d = data("netherlandsimmigrant");
    assert_eq!(&d.frequency_table()[..2], &[1645, 183]);
    let bc = counts::chao_bias_corrected(d, 0.95).unwrap();
    close(
        "chao-bc N",
        bc.n_hat,
        1880.0 + 1645.0 * 1644.0 / 368.0,
        1e-12,
    );
    close("chao-bc N (digits)", bc.n_hat, 9228.858695652174, 1e-12);
}

#[test]
fn frequency_table_gives_the_unit_level_fit() {
    let d = data("netherlandsimmigrant");
    let t: Vec<(u64, u64)> = d
        .frequency_table()
        .iter()
        .enumerate()
        .map(|(k, &f)| (k as u64 + 1, f))
        .collect();
    let ft = CountData::from_frequency_table(&t).unwrap();
    for fam in [Family::ZtPoisson, Family::ZtGeom, Family::OiztPoisson] {
        let a = CountModel::params(fam).fit(d).unwrap();
        let b = CountModel::params(fam).fit(&ft).unwrap();
        close("table N", b.estimate.n_hat, a.estimate.n_hat, 1e-12);
        close("table SE", b.estimate.se, a.estimate.se, 1e-10);
    }
}

#[test]
#[ignore]
fn survey() {
    for key in keys() {
        let (_, _, _, r) = fit_key(&key);
        let rf = &reference()["fits"][&key];
        match r {
            Ok(f) => {
                let want = rf["N_hat"].as_f64().unwrap_or(f64::NAN);
                let wse = rf["N_se"].as_f64().unwrap_or(f64::NAN);
                println!(
                    "{key:55} N {:>16.6} ref {:>16.6} rel {:9.2e} | se rel {:9.2e} | ll {:.9} ref {:.9} deg {} {:?}",
                    f.estimate.n_hat,
                    want,
                    (f.estimate.n_hat - want) / want,
                    (f.estimate.se - wse) / wse,
                    f.log_lik,
                    rf["logLik"].as_f64().unwrap_or(f64::NAN),
                    f.degenerate,
                    f.estimate.warnings
                );
            }
            Err(e) => println!("{key:55} ERROR {e}"),
        }
    }
}

/// `summary(marginalFreq(fit), df = 1, dropl5 = "group")` for ztpoisson ~ gender + age +
/// nation (key `gof_netherlandsimmigrant_ztpoisson_gender_age_nation`; singleRcapture
/// rounds the statistics to 2 decimals, so they are compared to ±0.005).
#[test]
fn goodness_of_fit_matches() {
    let fit = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(data("netherlandsimmigrant"))
        .unwrap();
    let m = counts::marginal_freq(&fit);
    let t = m.gof(Some(1.0)).unwrap();
    let r = &reference()["gof_netherlandsimmigrant_ztpoisson_gender_age_nation"]["test"];
    let stats = r["Test statistics"].as_array().unwrap();
    assert!(
        (t.chi2 - stats[0].as_f64().unwrap()).abs() <= 0.005 + 1e-9,
        "chi2 {}",
        t.chi2
    );
    assert!(
        (t.g - stats[1].as_f64().unwrap()).abs() <= 0.005 + 1e-9,
        "G {}",
        t.g
    );
    let p = r["P(>X^2)"].as_array().unwrap();
    assert!((t.p_chi2 / p[0].as_f64().unwrap() - 1.0).abs() < 0.05);
    assert!((t.p_g / p[1].as_f64().unwrap() - 1.0).abs() < 0.05);
    // fitted frequencies of 1..6 sum to the units observed, less the mass above 6
    let tot: f64 = m.table.iter().map(|r| r.2).sum();
    assert!(tot < 1880.0 && tot > 1879.99, "{tot}");
}

/// `stratifyPopsize(fit, ~gender)` (key
/// `strata_netherlandsimmigrant_ztpoisson_gender_age_nation_by_gender`), 1e-6 relative.
#[test]
fn stratified_estimates_match() {
    let d = data("netherlandsimmigrant");
    let fit = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(d)
        .unwrap();
    let s = counts::stratify(&fit, d, "gender", 0.95).unwrap();
    let r = &reference()["strata_netherlandsimmigrant_ztpoisson_gender_age_nation_by_gender"];
    for (j, st) in s.iter().enumerate() {
        assert_eq!(st.name, r["name"][j].as_str().unwrap());
        let g = |k: &str| r[k][j].as_f64().unwrap();
        close("observed", st.observed, g("Observed"), 1e-12);
        close("estimated", st.estimated, g("Estimated"), 1e-6);
        close("pct", st.observed_percentage, g("ObservedPercentage"), 1e-6);
        close("se", st.se, g("StdError"), 1e-6);
        close("normal lo", st.normal.lower, g("normalLowerBound"), 1e-6);
        close("normal hi", st.normal.upper, g("normalUpperBound"), 1e-6);
        close(
            "lnorm lo",
            st.log_normal.lower,
            g("logNormalLowerBound"),
            1e-6,
        );
        close(
            "lnorm hi",
            st.log_normal.upper,
            g("logNormalUpperBound"),
            1e-6,
        );
    }
}

/// Sandwich and cluster-robust SEs of N̂ for ztpoisson ~ gender + age + nation on
/// netherlandsimmigrant: `tests/fixtures/counts/singleRcapture-sandwich.json` (singleRcapture
/// 0.2.3 + sandwich 3.0.2, `redoPopEstimation(fit, cov = vcovHC(fit, type = "HC0"))` and
/// `cov = vcovCL(fit, cluster = ~ nation)`), 1e-6 relative on N̂, SE and both intervals.
#[test]
fn sandwich_and_cluster_variances_match_singlercapture() {
    let r: Value = serde_json::from_str(&fixture("singleRcapture-sandwich.json")).unwrap();
    let d = data("netherlandsimmigrant");
    let fit = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(d)
        .unwrap();
    close(
        "analytic N",
        fit.estimate.n_hat,
        r["analytic"]["n_hat"].as_f64().unwrap(),
        1e-6,
    );
    close(
        "analytic SE",
        fit.estimate.se,
        r["analytic"]["se"].as_f64().unwrap(),
        1e-6,
    );
    for (key, cluster) in [("HC0", None), ("cluster_nation", Some("nation"))] {
        let e = counts::robust_variance(&fit, d, cluster).unwrap();
        let w = &r[key];
        let g = |k: &str| w[k].as_f64().unwrap();
        close(&format!("{key} N"), e.n_hat, g("n_hat"), 1e-6);
        close(&format!("{key} SE"), e.se, g("se"), 1e-6);
        close(
            &format!("{key} lnorm lo"),
            e.interval.lower,
            g("lognormal_lower"),
            1e-6,
        );
        close(
            &format!("{key} lnorm hi"),
            e.interval.upper,
            g("lognormal_upper"),
            1e-6,
        );
        close(
            &format!("{key} normal lo"),
            e.other_intervals[0].lower,
            g("normal_lower"),
            1e-6,
        );
        close(
            &format!("{key} normal hi"),
            e.other_intervals[0].upper,
            g("normal_upper"),
            1e-6,
        );
    }
    assert!(matches!(
        counts::robust_variance(&fit, d, Some("nope")),
        Err(darkfigure::Error::InvalidParameter { .. })
    ));
}

fn boot(fit: &CountFit, kind: counts::BootType, b: usize, seed: u64) -> counts::BootResult {
    counts::bootstrap(fit, &counts::Bootstrap::new(kind, b, seed)).unwrap()
}

/// Parametric bootstrap of ztpoisson ~ 1 (key
/// `netherlandsimmigrant__ztpoisson__intercept__boot_parametric`, B = 500, set.seed(123),
/// percentile). R's random numbers cannot be replayed, so agreement is within Monte-Carlo
/// error: with B = 1000 here and 500 there, the SE of a 2.5%/97.5% quantile is about 50
/// (normal approximation, SD 357) and the relative SE of a bootstrap SD about 3%; the
/// tolerances are 4 of those (200 on each limit, 12% on the SE).
#[test]
fn parametric_bootstrap_agrees_within_monte_carlo_error() {
    let fit = CountModel::params(Family::ZtPoisson)
        .fit(data("netherlandsimmigrant"))
        .unwrap();
    let r = &reference()["fits"]["netherlandsimmigrant__ztpoisson__intercept__boot_parametric"];
    let b = boot(&fit, counts::BootType::Parametric, 1000, 2024);
    assert_eq!(b.failed, 0);
    let se = r["N_se"].as_f64().unwrap();
    assert!(
        (b.estimate.se / se - 1.0).abs() < 0.12,
        "SE {} vs {se}",
        b.estimate.se
    );
    let lo = r["N_confint"]["lowerBound"].as_f64().unwrap();
    let hi = r["N_confint"]["upperBound"].as_f64().unwrap();
    assert!(
        (b.estimate.interval.lower - lo).abs() < 200.0,
        "{} vs {lo}",
        b.estimate.interval.lower
    );
    assert!(
        (b.estimate.interval.upper - hi).abs() < 200.0,
        "{} vs {hi}",
        b.estimate.interval.upper
    );
}

/// The covariate model's bootstrap distributions have outlying replicates (sparse nation
/// levels; R's percentile upper limits are 1.4e7 to 2.8e7), so only the lower limits
/// (keys `..._gender_age_nation__boot_{parametric,nonparametric,semiparametric}`, near
/// 10,000) are compared, within 10% (several times their Monte-Carlo error).
#[test]
fn covariate_bootstrap_lower_limits_agree() {
    let fit = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(data("netherlandsimmigrant"))
        .unwrap();
    for (kind, key) in [
        (counts::BootType::Parametric, "parametric"),
        (counts::BootType::NonParametric, "nonparametric"),
        (counts::BootType::SemiParametric, "semiparametric"),
    ] {
        let r = &reference()["fits"]
            [format!("netherlandsimmigrant__ztpoisson__gender_age_nation__boot_{key}")];
        let lo = r["N_confint"]["lowerBound"].as_f64().unwrap();
        let b = boot(&fit, kind, 500, 7);
        println!(
            "{key}: {} {} se {} failed {} degenerate {}",
            b.estimate.interval.lower,
            b.estimate.interval.upper,
            b.estimate.se,
            b.failed,
            b.degenerate
        );
        // R keeps the runaway replicates; so does `percentile_all` (the estimate's own
        // interval is not available when too many ran away).
        assert!(
            (b.percentile_all.lower / lo - 1.0).abs() < 0.10,
            "{key}: {} vs {lo}",
            b.percentile_all.lower
        );
        assert!(b.percentile_all.upper > fit.estimate.n_hat);
    }
}

#[test]
fn bootstrap_is_reproducible_on_any_thread_count() {
    let fit = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(data("netherlandsimmigrant"))
        .unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| boot(&fit, counts::BootType::NonParametric, 200, 99))
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.replicates, b.replicates);
    // (the estimate's own interval is NaN here: too many replicates run away)
    assert_eq!(a.percentile_all, b.percentile_all);
    assert_eq!(a.runaway, b.runaway);
    let c = boot(&fit, counts::BootType::NonParametric, 200, 100);
    assert_ne!(a.replicates, c.replicates);
}

/// The one-call API the `estimate` binary uses: every family intercept-only and with
/// the covariates; errors and degenerate fits are reported, never panics.
#[test]
fn fit_all_runs_every_model() {
    for name in ["netherlandsimmigrant", "carcassubmission", "farmsubmission"] {
        let d = data(name);
        let covs: Vec<String> = d
            .covariates()
            .iter()
            .map(|c| c.name.clone())
            .filter(|n| n != "reason")
            .collect();
        let t = std::time::Instant::now();
        let all = counts::fit_all(d, &covs, 0.95);
        assert_eq!(all.len(), 2 * Family::ALL.len());
        for (label, r) in &all {
            match r {
                Ok(f) => {
                    assert_eq!(&f.estimate.model, label);
                    assert!(
                        f.degenerate || (f.estimate.n_hat.is_finite() && f.estimate.se.is_finite()),
                        "{label}"
                    );
                }
                Err(e) => println!("{name} {label}: {e}"),
            }
        }
        println!("{name}: {:?}", t.elapsed());
    }
    let all = counts::fit_all(data("netherlandsimmigrant"), &[], 0.95);
    assert_eq!(all.len(), Family::ALL.len());
    let zt = all.fitted("ztnegbin ~ 1").unwrap();
    assert!(zt.degenerate);
}

/// The 100,000-unit synthetic size test (`singleRcapture-synthetic.json`, fits on the
/// reference folder's `data/synthetic/ztpois_100k_3cov_seed2024.csv`). The 4 MB data file
/// is not copied into the fixtures, so this test is `#[ignore]`d; run it with the file's
/// location in `DARKFIGURE_SYNTHETIC_100K` (see the README, "Mutation check"):
/// `DARKFIGURE_SYNTHETIC_100K=<path> cargo test --release --test reference_counts -- --ignored synthetic_100k`.
/// Without the variable, or with a file that cannot be read, it fails.
#[test]
#[ignore]
fn synthetic_100k_matches() {
    let path = std::env::var("DARKFIGURE_SYNTHETIC_100K")
        .expect("set DARKFIGURE_SYNTHETIC_100K to the path of ztpois_100k_3cov_seed2024.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let r: Value = serde_json::from_str(&fixture("singleRcapture-synthetic.json")).unwrap();
    let opts = ReadOptions {
        count_column: Some("y".into()),
        ..Default::default()
    };
    let d = read_counts_str(&text, "synthetic", &opts).unwrap();
    for fam in ["ztpoisson", "ztgeom", "zelterman", "chao"] {
        let f = CountModel::params(Family::from_label(fam).unwrap())
            .covariates(&["x1", "x2", "x3"])
            .fit(&d)
            .unwrap();
        let rf = &r[fam];
        for (name, want) in rf["coefficients"].as_object().unwrap() {
            close(
                &format!("{fam} {name}"),
                f.coefficient(name).unwrap(),
                want.as_f64().unwrap(),
                1e-6,
            );
        }
        close(
            &format!("{fam} N"),
            f.estimate.n_hat,
            rf["N_hat"].as_f64().unwrap(),
            1e-6,
        );
        close(
            &format!("{fam} SE"),
            f.estimate.se,
            rf["N_se"].as_f64().unwrap(),
            1e-6,
        );
        close(
            &format!("{fam} AIC"),
            f.aic(),
            rf["AIC"].as_f64().unwrap(),
            1e-6,
        );
        let ln = &rf["confint"]["logNormal"];
        close(
            &format!("{fam} lo"),
            f.estimate.interval.lower,
            ln["lowerBound"].as_f64().unwrap(),
            1e-6,
        );
        close(
            &format!("{fam} hi"),
            f.estimate.interval.upper,
            ln["upperBound"].as_f64().unwrap(),
            1e-6,
        );
    }
}

/// A frequency table as CSV (`capture,freq`) runs without expanding to units.
#[test]
fn frequency_csv_input() {
    let csv = "capture,freq\n1,1645\n2,183\n3,37\n4,13\n5,1\n6,1\n";
    let opts = ReadOptions {
        count_column: Some("capture".into()),
        ..Default::default()
    };
    let d = read_counts_str(csv, "table", &opts).unwrap();
    assert_eq!(d.observed(), 1880);
    let f = CountModel::params(Family::ZtPoisson).fit(&d).unwrap();
    let r = &reference()["fits"]["netherlandsimmigrant__ztpoisson__intercept"];
    close("N", f.estimate.n_hat, r["N_hat"].as_f64().unwrap(), 1e-9);
    close("SE", f.estimate.se, r["N_se"].as_f64().unwrap(), 1e-9);
    close("BIC", f.bic(), r["BIC"].as_f64().unwrap(), 1e-9);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Proptest configuration with the random stream pinned (ChaCha, fixed seed), so CI meets
    /// the same cases on every run; saved regressions (`*.proptest-regressions`) replay first.
    /// Edit the seed here to explore new cases deliberately.
    fn pinned(cases: u32) -> ProptestConfig {
        ProptestConfig {
            cases,
            rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x6461_726b_0002),
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(pinned(48))]
        /// Every family fits a random frequency table; N̂ ≥ n, SE ≥ 0 and the intervals
        /// contain N̂ for every non-degenerate fit, and a degenerate one is flagged.
        #[test]
        fn n_hat_at_least_observed(f1 in 1u64..500, f2 in 1u64..200, f3 in 0u64..60, f4 in 0u64..20) {
            let d = CountData::from_frequency_table(&[(1, f1), (2, f2), (3, f3), (4, f4)]).unwrap();
            for fam in [Family::ZtPoisson, Family::ZtGeom, Family::Chao, Family::Zelterman, Family::OiztPoisson] {
                // every family fits every such table (f1, f2 ≥ 1): an error fails the
                // property; a degenerate fit must carry its flag and warnings
                let fit = CountModel::params(fam).fit(&d);
                prop_assert!(fit.is_ok(), "{fam}: {:?}", fit.err());
                let fit = fit.unwrap();
                if fit.degenerate {
                    prop_assert!(fit.estimate.is_flagged() && !fit.estimate.warnings.is_empty());
                } else {
                    let e = &fit.estimate;
                    prop_assert!(e.n_hat >= d.observed() as f64 - 1e-9, "{fam}: {}", e.n_hat);
                    prop_assert!(e.se >= 0.0);
                    prop_assert!(e.interval.contains(e.n_hat) && e.other_intervals[0].contains(e.n_hat));
                }
            }
        }
    }
}
