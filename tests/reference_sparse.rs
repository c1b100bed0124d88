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
    BootstrapParams, Model, StepwiseParams, bootstrap, check_identifiability, fit_model, stepwise,
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
