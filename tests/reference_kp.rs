//! Reference tests for `darkfigure::kp` against `tests/fixtures/kp/kp.json` (a copy of
//! `shared/reference/kp.json`, made by `refs/kp/ref_kp.R` with RDSpopsize 0.2,
//! networkreporting 0.3.1 + surveybootstrap 0.2.1, RDS 0.9-10 and the triangulator model).
//! Data: the CSV exports in `tests/fixtures/kp/` (see its README).
//!
//! Tolerances: 1e-6 relative for every deterministic figure (`REL`); the triangulation
//! quadrature to 1e-4 relative (`QUAD`: the reference itself is a 24001 × 4000 grid
//! integration, good to about 1e-5); bootstrap and simulation-based figures within four
//! Monte-Carlo SDs of the mean over the reference's seeds (`mc_spread`).

use darkfigure::kp::multiplier::{BenchmarkInBootstrap, Multiplier, ReceiptSurvey, combine};
use darkfigure::kp::nsum::{self, ArdSurvey, KnownPopulations, ScaleUp};
use darkfigure::kp::rds::{self, RdsSample, RdsWeighting};
use darkfigure::kp::table::Table;
use darkfigure::kp::triangulate::{Prior, Triangulation, studies_from_table, triangulate};
use serde_json::Value;
use std::sync::OnceLock;

const REL: f64 = 1e-6;
const QUAD: f64 = 1e-4;

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/kp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn table(name: &str) -> Table {
    Table::parse(&fixture(name), name).unwrap()
}

fn reference() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| serde_json::from_str(&fixture("kp.json")).unwrap())
}

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('/') {
        cur = cur
            .get(k)
            .unwrap_or_else(|| panic!("kp.json: no key {path}"));
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("kp.json: {path} is not a number"))
}

#[track_caller]
fn close(got: f64, want: f64, tol: f64, what: &str) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        rel <= tol,
        "{what}: got {got}, want {want} (rel {rel:.2e} > {tol:.0e})"
    );
}

#[track_caller]
fn within_mc(got: f64, spread: &Value, what: &str) {
    let (m, sd) = (num(spread, "mean"), num(spread, "sd"));
    assert!(
        (got - m).abs() <= 4.0 * sd,
        "{what}: got {got}, reference mean {m} ± 4·{sd}"
    );
}

fn fsw() -> ReceiptSurvey {
    ReceiptSurvey::from_table(
        &table("fsw_unique_object.csv"),
        "received_object",
        None,
        false,
    )
    .unwrap()
}

fn fsw_weighted() -> ReceiptSurvey {
    ReceiptSurvey::from_table(
        &table("fsw_unique_object.csv"),
        "received_object",
        Some("weight"),
        true,
    )
    .unwrap()
}

/// multiplier.FSW.naive: Lincoln-Petersen, Seber variance, Chapman, Wald 95%.
#[test]
fn multiplier_fsw_naive() {
    let r = &reference()["multiplier"]["FSW"]["naive"];
    let f = Multiplier::new(1000.0).fit(&fsw()).unwrap();
    assert_eq!((f.n, f.receivers), (512, 82));
    close(f.p_hat, num(r, "P_hat"), REL, "P_hat");
    // The multiplier's independence is between benchmark and survey, not between
    // "occasions or lists"; its two-source forms keep the capture-recapture wording.
    use darkfigure::Assumption;
    assert!(
        f.estimate
            .assumptions
            .contains(&Assumption::IndependentBenchmark)
    );
    assert!(
        !f.estimate
            .assumptions
            .contains(&Assumption::IndependentSources)
    );
    assert!(
        f.chapman
            .assumptions
            .contains(&Assumption::IndependentSources)
    );
    let lp = &f.lincoln_petersen;
    close(lp.n_hat, num(r, "lincoln_petersen"), REL, "LP");
    close(lp.se, num(r, "seber_se"), REL, "Seber SE");
    close(lp.interval.lower, num(r, "wald95_lower"), REL, "LP lower");
    close(lp.interval.upper, num(r, "wald95_upper"), REL, "LP upper");
    close(f.chapman.n_hat, num(r, "chapman"), REL, "Chapman");
    close(f.chapman.se, num(r, "chapman_se"), REL, "Chapman SE");
    close(
        f.chapman.interval.lower,
        num(r, "chapman_wald95_lower"),
        REL,
        "Chapman lower",
    );
    close(
        f.chapman.interval.upper,
        num(r, "chapman_wald95_upper"),
        REL,
        "Chapman upper",
    );
}

/// multiplier.FSW.rds_weighted and delta_method (deff 1 and 2, naive and weighted P).
#[test]
fn multiplier_fsw_weighted_and_delta() {
    let r = &reference()["multiplier"]["FSW"];
    let w = Multiplier::new(1000.0).fit(&fsw_weighted()).unwrap();
    close(w.p_hat, num(r, "rds_weighted/P_hat_weighted"), REL, "P_w");
    close(w.estimate.n_hat, num(r, "rds_weighted/N_hat"), REL, "N_w");
    for (key, survey) in [("naive_P", fsw()), ("weighted_P", fsw_weighted())] {
        for deff in [1.0, 2.0] {
            let k = format!("delta_method/{key}_deff{deff}");
            let f = Multiplier::new(1000.0)
                .design_effect(deff)
                .fit(&survey)
                .unwrap();
            close(f.estimate.n_hat, num(r, &format!("{k}/N")), REL, &k);
            close(f.estimate.se, num(r, &format!("{k}/se")), REL, &k);
            close(
                f.estimate.interval.lower,
                num(r, &format!("{k}/wald95_lower")),
                REL,
                &k,
            );
            close(
                f.estimate.interval.upper,
                num(r, &format!("{k}/wald95_upper")),
                REL,
                &k,
            );
        }
    }
}

/// multiplier.FSW.package_RDS_2S_PSE: the package's bootstrap (2,000 replicates, M* =
/// (M − m) + m*), percentile limits within the spread over five seeds.
#[test]
fn multiplier_fsw_bootstrap_within_mc_spread() {
    let r = &reference()["multiplier"]["FSW"]["package_RDS_2S_PSE"];
    let f = Multiplier::new(1000.0)
        .bootstrap(2000, 20261130, BenchmarkInBootstrap::RdsPopSize)
        .fit(&fsw_weighted())
        .unwrap();
    let b = f.bootstrap.unwrap();
    within_mc(
        b.percentile.lower,
        &r["mc_spread_perc95_lower"],
        "boot lower",
    );
    within_mc(
        b.percentile.upper,
        &r["mc_spread_perc95_upper"],
        "boot upper",
    );
}

/// Same bootstrap numbers on 1 and 2 threads.
#[test]
fn multiplier_bootstrap_thread_independent() {
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                Multiplier::new(1000.0)
                    .bootstrap(300, 7, BenchmarkInBootstrap::Fixed)
                    .fit(&fsw_weighted())
                    .unwrap()
                    .bootstrap
                    .unwrap()
            })
    };
    assert_eq!(run(1), run(2));
}

/// multiplier.Luanda_MSM: two-source counts (n1 = 792 objects, n2 = 353, m = 45).
#[test]
fn multiplier_luanda() {
    let r = &reference()["multiplier"]["Luanda_MSM"];
    let rec: Vec<bool> = (0..353).map(|i| i < 45).collect();
    let f = Multiplier::new(792.0)
        .fit(&ReceiptSurvey::new(rec, None).unwrap())
        .unwrap();
    close(
        f.lincoln_petersen.n_hat,
        num(r, "lincoln_petersen"),
        REL,
        "LP",
    );
    close(f.lincoln_petersen.se, num(r, "seber_se"), REL, "Seber SE");
    close(
        f.lincoln_petersen.interval.lower,
        num(r, "wald95_lower"),
        REL,
        "lower",
    );
    close(
        f.lincoln_petersen.interval.upper,
        num(r, "wald95_upper"),
        REL,
        "upper",
    );
    close(f.chapman.n_hat, num(r, "chapman"), REL, "Chapman");
    close(f.chapman.se, num(r, "chapman_se"), REL, "Chapman SE");
    close(
        f.chapman.interval.lower,
        num(r, "chapman_wald95_lower"),
        REL,
        "Chapman lower",
    );
    close(
        f.chapman.interval.upper,
        num(r, "chapman_wald95_upper"),
        REL,
        "Chapman upper",
    );
    // Rcapture's bias-corrected Mt is Chapman
    close(
        f.chapman.n_hat,
        num(r, "Rcapture/Mt_bias_corrected"),
        REL,
        "closedp.bc",
    );
    // two multipliers combined on the log scale lie between them
    let g = Multiplier::new(1000.0).fit(&fsw()).unwrap();
    let c = combine(&[f.estimate.clone(), g.estimate.clone()], 0.95).unwrap();
    assert!(c.estimate.n_hat > f.estimate.n_hat.min(g.estimate.n_hat));
    assert!(c.estimate.n_hat < f.estimate.n_hat.max(g.estimate.n_hat));
}

fn nsum_data() -> (ArdSurvey, KnownPopulations) {
    let known = KnownPopulations::from_table(&table("nsum_known_populations.csv")).unwrap();
    let mut cols: Vec<&str> = known.names.iter().map(String::as_str).collect();
    cols.extend(["sex.workers", "msm", "idu", "clients"]);
    let t = table("nsum_example_survey.csv");
    let mut s = ArdSurvey::from_table(
        &t,
        &cols,
        Some("indweight"),
        Some("cluster"),
        Some("region"),
    )
    .unwrap();
    let kn: Vec<&str> = known.names.iter().map(String::as_str).collect();
    s.topcode(&kn, 30.0).unwrap();
    (s, known)
}

fn nsum_cached() -> &'static (ArdSurvey, KnownPopulations, Vec<f64>) {
    static D: OnceLock<(ArdSurvey, KnownPopulations, Vec<f64>)> = OnceLock::new();
    D.get_or_init(|| {
        let (s, k) = nsum_data();
        let d = nsum::killworth_degrees(&s, &k, 1e7).unwrap();
        (s, k, d)
    })
}

/// nsum.degree: every respondent's Killworth degree.
#[test]
fn nsum_degrees() {
    let r = &reference()["nsum"]["degree"];
    let (_, k, d) = nsum_cached();
    assert_eq!(k.total(), 1186543.0);
    let want = r["d_hat"].as_array().unwrap();
    assert_eq!(d.len(), want.len());
    for (i, (g, w)) in d.iter().zip(want).enumerate() {
        let w = w.as_f64().unwrap();
        assert!((g - w).abs() <= REL * w.max(1.0), "d_hat[{i}]: {g} vs {w}");
    }
    close(d.iter().sum::<f64>(), num(r, "sum"), REL, "sum");
    assert_eq!(
        d.iter().filter(|x| **x == 0.0).count() as f64,
        num(r, "n_zero")
    );
}

/// nsum.basic_unweighted, basic_weighted, adjusted: estimate, connections, Σd, Killworth SEs.
#[test]
fn nsum_basic_weighted_adjusted() {
    let (s, _, d) = nsum_cached();
    let z = 1.959963984540054;
    for (key, p) in [
        ("basic_unweighted", ScaleUp::new(1e7)),
        ("basic_weighted", ScaleUp::new(1e7).weighted(true)),
        ("adjusted", ScaleUp::new(1e7).adjust(0.7, 0.8)),
    ] {
        for h in ["sex.workers", "msm", "idu", "clients"] {
            let r = &reference()["nsum"][key]["estimates"][h];
            let f = nsum::scale_up(s, d, h, &p).unwrap();
            let what = format!("{key}/{h}");
            close(f.estimate.n_hat, num(r, "estimate"), REL, &what);
            close(f.tot_connections, num(r, "tot.connections"), REL, &what);
            close(f.sum_d_hat, num(r, "sum.d.hat"), REL, &what);
            close(f.killworth_se, num(r, "killworth.se"), REL, &what);
            close(
                f.killworth_se_wgtdenom,
                num(r, "killworth.se.wgtdenom"),
                REL,
                &what,
            );
            close(
                f.estimate.n_hat - z * f.killworth_se,
                num(r, "killworth_wald95_lower"),
                REL,
                &what,
            );
            close(
                f.estimate.n_hat + z * f.killworth_se,
                num(r, "killworth_wald95_upper"),
                REL,
                &what,
            );
            if key != "adjusted" {
                close(
                    f.estimate.interval.lower,
                    num(r, "killworth_wald95_lower"),
                    REL,
                    &what,
                );
            }
        }
    }
}

/// nsum.pimle_formula.
#[test]
fn nsum_pimle() {
    let r = &reference()["nsum"]["pimle_formula"];
    let (s, _, d) = nsum_cached();
    for h in ["sex.workers", "msm", "idu", "clients"] {
        let e = nsum::pimle(s, d, h, &ScaleUp::new(1e7)).unwrap();
        close(e.n_hat, num(r, &format!("estimates/{h}")), REL, h);
    }
}

/// nsum.variant_vignette_NA_degree_dropped: the older networkreporting that gave the
/// respondent with a missing answer no degree.
#[test]
fn nsum_vignette_variant() {
    let r = &reference()["nsum"]["variant_vignette_NA_degree_dropped"]["clients"];
    let (s, k, d) = nsum_cached();
    let mut d2 = d.clone();
    for name in &k.names {
        let c = s.col(name).unwrap();
        for (i, v) in s.data[c].iter().enumerate() {
            if v.is_none() {
                d2[i] = f64::NAN;
            }
        }
    }
    let f = nsum::scale_up(s, &d2, "clients", &ScaleUp::new(1e7)).unwrap();
    close(f.estimate.n_hat, num(r, "estimate"), REL, "estimate");
    close(f.sum_d_hat, num(r, "sum.d.hat"), REL, "sum.d.hat");
}

/// nsum.internal_consistency: 22 hold-outs and the summary errors.
#[test]
fn nsum_internal_consistency() {
    let r = &reference()["nsum"]["internal_consistency"];
    let (s, k, _) = nsum_cached();
    let ic = nsum::internal_consistency(s, k, 1e7).unwrap();
    assert_eq!(ic.results.len(), 22);
    for h in &ic.results {
        let x = &r["results"][&h.name];
        close(h.estimate, num(x, "nsum_holdout_est"), REL, &h.name);
        close(h.d_hat_sum, num(x, "d_hat_sum"), REL, &h.name);
        close(h.killworth_se, num(x, "killworth_se"), REL, &h.name);
        close(h.err, num(x, "err"), REL, &h.name);
        close(h.relerr, num(x, "relerr"), REL, &h.name);
    }
    close(ic.mse, num(r, "mse"), REL, "mse");
    close(ic.rmse, num(r, "rmse"), REL, "rmse");
    close(ic.are, num(r, "are"), REL, "are");
    close(ic.mae, num(r, "mae"), REL, "mae");
}

/// nsum.rescaled_bootstrap_clients_weighted: 1,000 replicates, within the spread over five
/// seeds; identical on 1 and 2 threads.
#[test]
fn nsum_rescaled_bootstrap() {
    let r = &reference()["nsum"]["rescaled_bootstrap_clients_weighted"];
    let (s, _, d) = nsum_cached();
    let p = ScaleUp::new(1e7).weighted(true);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| nsum::rescaled_bootstrap(s, d, "clients", &p, 1000, 2026).unwrap())
    };
    let b = run(2);
    assert_eq!(b, run(1));
    let m = &r["mc_spread"];
    within_mc(b.median, &m["median"], "median");
    within_mc(b.sd, &m["sd"], "sd");
    within_mc(b.percentile.lower, &m["perc95_lower"], "lower");
    within_mc(b.percentile.upper, &m["perc95_upper"], "upper");
}

fn faux() -> RdsSample {
    RdsSample::from_table(
        &table("fauxmadrona.csv"),
        "id",
        "recruiter.id",
        "degree",
        "disease",
    )
    .unwrap()
}

/// rds.rds_ii_package and rds_i_package: estimate, SE, design effect (N = 1000), and the
/// package's interval estimate ± 1.96·SE.
#[test]
fn rds_i_and_ii() {
    let r = &reference()["rds"];
    let s = faux();
    assert_eq!(s.n(), 500);
    close(
        s.outcome.iter().sum::<f64>() / 500.0,
        num(r, "sample_mean_disease"),
        REL,
        "mean",
    );
    for (key, w) in [
        ("rds_ii_package", RdsWeighting::RdsII),
        ("rds_i_package", RdsWeighting::RdsI),
    ] {
        let e = rds::estimate(&s, w, Some(1000.0), 0.95).unwrap();
        close(e.estimate, num(r, &format!("{key}/estimate")), REL, key);
        close(e.se, num(r, &format!("{key}/se")), REL, key);
        close(
            e.design_effect,
            num(r, &format!("{key}/design_effect")),
            REL,
            key,
        );
        close(
            e.estimate - 1.96 * e.se,
            num(r, &format!("{key}/lower95")),
            REL,
            key,
        );
        close(
            e.estimate + 1.96 * e.se,
            num(r, &format!("{key}/upper95")),
            REL,
            key,
        );
    }
    close(
        rds::estimate(&s, RdsWeighting::RdsII, None, 0.95)
            .unwrap()
            .estimate,
        num(r, "rds_ii_formula/estimate"),
        REL,
        "VH formula",
    );
}

/// rds.rds_ss_package: Gile's SS weights are simulated, so compare within the spread over
/// five seeds; same weights on 1 and 2 threads.
#[test]
fn rds_ss_within_mc_spread() {
    let r = &reference()["rds"]["rds_ss_package"]["mc_spread"];
    let s = faux();
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| rds::estimate(&s, RdsWeighting::ss(11), Some(1000.0), 0.95).unwrap())
    };
    let e = run(2);
    assert_eq!(e, run(1));
    within_mc(e.estimate, &r["estimate"], "SS estimate");
    within_mc(e.se, &r["se"], "SS se");
}

fn docs_example() -> Vec<darkfigure::kp::triangulate::Study> {
    studies_from_table(&table("triangulator_docs_example.csv")).unwrap()
}

/// triangulation.inputs and tau0_closed_form.
#[test]
fn triangulation_closed_form() {
    let r = &reference()["triangulation"];
    let studies = docs_example();
    for (i, s) in studies.iter().enumerate() {
        close(
            s.estimate.ln(),
            r["inputs"]["y"][i].as_f64().unwrap(),
            REL,
            "y",
        );
        close(
            s.sigma(),
            r["inputs"]["sigma"][i].as_f64().unwrap(),
            REL,
            "sigma",
        );
    }
    let fit = triangulate(
        &studies,
        &Triangulation::new(Prior::MedianQ75 {
            median: 3000.0,
            q75: 4000.0,
        }),
    )
    .unwrap();
    close(fit.prior_log.0, num(r, "inputs/prior_mu"), REL, "prior mu");
    close(fit.prior_log.1, num(r, "inputs/prior_sd"), REL, "prior sd");
    close(fit.tau_scale, num(r, "inputs/tau_scale"), REL, "tau scale");
    let t0 = &fit.tau0;
    close(
        t0.mean_log,
        num(r, "tau0_closed_form/post_mean_log"),
        REL,
        "mean log",
    );
    close(
        t0.sd_log,
        num(r, "tau0_closed_form/post_sd_log"),
        REL,
        "sd log",
    );
    close(t0.median, num(r, "tau0_closed_form/median"), REL, "median");
    close(t0.mean, num(r, "tau0_closed_form/mean"), REL, "mean");
    close(
        t0.interval.lower,
        r["tau0_closed_form"]["eq95"][0].as_f64().unwrap(),
        REL,
        "eq95 lower",
    );
    close(
        t0.interval.upper,
        r["tau0_closed_form"]["eq95"][1].as_f64().unwrap(),
        REL,
        "eq95 upper",
    );
    let q = |p: f64| {
        t0.quantiles
            .iter()
            .find(|x| (x.0 - p).abs() < 1e-12)
            .unwrap()
            .1
    };
    close(
        q(0.05),
        r["tau0_closed_form"]["eq90"][0].as_f64().unwrap(),
        REL,
        "eq90 lower",
    );
    close(
        q(0.95),
        r["tau0_closed_form"]["eq90"][1].as_f64().unwrap(),
        REL,
        "eq90 upper",
    );
}

/// triangulation.full_model_quadrature: median, mean, SD and 13 quantiles to 1e-4.
#[test]
fn triangulation_full_model() {
    let r = &reference()["triangulation"]["full_model_quadrature"];
    let fit = triangulate(
        &docs_example(),
        &Triangulation::new(Prior::MedianQ75 {
            median: 3000.0,
            q75: 4000.0,
        }),
    )
    .unwrap();
    let p = &fit.posterior;
    close(p.median, num(r, "median"), QUAD, "median");
    close(p.mean, num(r, "mean"), QUAD, "mean");
    close(p.sd, num(r, "sd"), QUAD, "sd");
    for (prob, got) in &p.quantiles {
        let key = format!("{}%", prob * 100.0);
        close(*got, num(&r["quantiles"], &key), QUAD, &key);
    }
    close(
        p.interval.lower,
        r["eq95"][0].as_f64().unwrap(),
        QUAD,
        "eq95 lower",
    );
    close(
        p.interval.upper,
        r["eq95"][1].as_f64().unwrap(),
        QUAD,
        "eq95 upper",
    );
    assert_eq!(p.interval.method, darkfigure::IntervalMethod::Credible);
    // the published (Stan) screenshot agrees within its Monte-Carlo error (~0.5%)
    let s = &reference()["triangulation"]["published_screenshot"];
    close(p.median, num(s, "median"), 5e-3, "screenshot median");
    // the quadrature is converged: doubling the panels moves nothing beyond 1e-9
    let mut t2 = Triangulation::new(Prior::MedianQ75 {
        median: 3000.0,
        q75: 4000.0,
    });
    t2.panels *= 2;
    let fit2 = triangulate(&docs_example(), &t2).unwrap();
    close(fit2.posterior.median, p.median, 1e-9, "panel doubling");
    close(fit2.posterior.sd, p.sd, 1e-9, "panel doubling sd");
}

/// triangulation.okal2013_nairobi: the median-of-methods convention returns the point and
/// bounds when given the three published figures.
#[test]
fn okal_median_of_methods() {
    let t = table("okal2013_nairobi.csv");
    for r in 0..t.len() {
        let v: Vec<f64> = (1..4).map(|c| t.number(r, c).unwrap()).collect();
        let m = darkfigure::kp::triangulate::median_of_methods(&[
            ("a".into(), v[1]),
            ("b".into(), v[0]),
            ("c".into(), v[2]),
        ])
        .unwrap();
        let pop = t.cell(r, 0);
        let want = &reference()["triangulation"]["okal2013_nairobi"][pop];
        assert_eq!(m.point, want[0].as_f64().unwrap());
        assert_eq!(
            (m.lower, m.upper),
            (want[1].as_f64().unwrap(), want[2].as_f64().unwrap())
        );
    }
}
