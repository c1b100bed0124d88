//! The `estimate` command on capture histories with individual covariates: the full
//! analysis, with the Huggins covariate models as the headline's candidates (issue 12).
//!
//! Data: `examples/data/police_covariates.csv` (written by `examples/make_police_covariates.rs`:
//! 1,500 buyers, 6 operations, logit p = −2.2 + 0.4 male − 0.3 age 30-49 − 0.7 age 50+ +
//! 1.2 prior arrest), also embedded as `--example police-covariates`.

mod common;

use serde_json::Value;
use std::process::Command;

const TRUE_N: f64 = 1500.0;

fn run(args: &[&str]) -> String {
    let out = Command::new(common::estimate_binary())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("estimate runs");
    assert!(
        out.status.success(),
        "estimate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&run(args)).expect("JSON output")
}

#[test]
fn covariate_run_puts_the_huggins_headline_first() {
    let text = run(&[
        "examples/data/police_covariates.csv",
        "--covariates",
        "sex,age,prior",
    ]);
    let head: String = text.lines().take(8).collect::<Vec<_>>().join("\n");
    assert!(head.contains("Estimated"), "{head}");
    assert!(
        head.contains("AIC model average of ln N̂ over 8 Huggins models"),
        "{head}"
    );
    assert!(head.contains("Huggins M0 + sex + age + prior"), "{head}");
    // The closedp.t models are in the candidate table as a comparison (no ΔIC, no weight).
    let mh = text
        .lines()
        .find(|l| l.starts_with("Mh Chao (LB)"))
        .expect("closedp.t row in the candidate table");
    assert!(mh.split_whitespace().nth(3) == Some("-"), "{mh}");
    // The check against the headline without covariates is printed.
    assert!(
        text.contains("ignoring the covariates (sex, age, prior)"),
        "{text}"
    );
    // The Huggins table is printed without --all, with the covariates column.
    assert!(text.contains("== Huggins (conditional likelihood; covariates sex, age, prior)"));
}

#[test]
fn covariate_json_averages_the_huggins_models_and_carries_covariates() {
    let v = json(&[
        "examples/data/police_covariates.csv",
        "--covariates",
        "sex,age,prior",
        "--format",
        "json",
    ]);
    let h = &v["headline"][0];
    let models = h["models"].as_array().unwrap();
    // The headline rests on Huggins models only, led by a covariate model.
    assert!(
        models
            .iter()
            .all(|m| m["model"].as_str().unwrap().starts_with("Huggins ")),
        "{models:?}"
    );
    let top = models[0]["model"].as_str().unwrap();
    assert!(top.ends_with("+ sex + age + prior"), "{top}");
    let w: f64 = models.iter().map(|m| m["weight"].as_f64().unwrap()).sum();
    assert!((w - 1.0).abs() < 1e-3, "weights sum to {w}");
    // Candidates: the 8 Huggins models weighted, the closedp.t models without weight.
    let cands = h["candidates"].as_array().unwrap();
    let weighted: Vec<&Value> = cands.iter().filter(|c| !c["delta_ic"].is_null()).collect();
    assert_eq!(weighted.len(), 8, "{cands:?}");
    assert!(
        weighted
            .iter()
            .all(|c| c["section"].as_str().unwrap().starts_with("Huggins"))
    );
    assert!(cands.iter().any(|c| {
        c["section"].as_str().unwrap().starts_with("closedp.t") && c["weight"] == 0.0
    }));
    // Every Huggins estimate carries its covariates, as count models do.
    let est = v["estimates"].as_array().unwrap();
    let hug: Vec<&Value> = est
        .iter()
        .filter(|e| e["section"].as_str().unwrap().starts_with("Huggins"))
        .collect();
    assert_eq!(hug.len(), 8);
    for e in &hug {
        let model = e["model"].as_str().unwrap();
        let covs = e["covariates"].as_array().expect("covariates field");
        if model.contains('+') {
            assert_eq!(e["covariates"], serde_json::json!(["sex", "age", "prior"]));
        } else {
            assert!(covs.is_empty(), "{model}");
        }
    }
    // The covariate model recovers the truth where the models ignoring it fall short.
    let nhat = |m: &str| {
        est.iter()
            .find(|e| e["model"] == m)
            .map(|e| e["n_hat"].as_f64().unwrap())
            .unwrap()
    };
    let cov = est
        .iter()
        .find(|e| e["model"] == "Huggins M0 + sex + age + prior")
        .unwrap();
    assert!(cov["interval"]["lower"].as_f64().unwrap() < TRUE_N);
    assert!(cov["interval"]["upper"].as_f64().unwrap() > TRUE_N);
    for m in ["Huggins M0", "Huggins Mt", "M0", "Mt"] {
        assert!(nhat(m) < 0.85 * TRUE_N, "{m}: {}", nhat(m));
    }
}

#[test]
fn embedded_police_covariates_example_matches_the_file() {
    let a = json(&["--example", "police-covariates", "--format", "json"]);
    let b = json(&[
        "examples/data/police_covariates.csv",
        "--covariates",
        "sex,age,prior",
        "--format",
        "json",
    ]);
    assert_eq!(a["headline"][0]["n_hat"], b["headline"][0]["n_hat"]);
    // The embedded example knows its truth and says whether the interval covers it.
    assert_eq!(a["headline"][0]["truth"], 1500);
    let text = run(&["--example", "police-covariates"]);
    assert!(text.contains("Known true size 1500"), "{text}");
}

#[test]
fn covariate_markdown_and_html_show_the_covariate_models() {
    let md = run(&["--example", "police-covariates", "--format", "markdown"]);
    assert!(md.contains("Huggins M0 + sex + age + prior"), "{md}");
    assert!(md.contains("| sex + age + prior |"), "{md}");
    let scratch = common::Scratch::new("huggins");
    let dir = scratch.path();
    let path = dir.join("report.html");
    run(&[
        "--example",
        "police-covariates",
        "--report",
        path.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.contains("Huggins M0 + sex + age + prior"));
    assert!(html.contains("posbernoulli"));
}

#[test]
fn covariates_with_lists_or_unknown_names_are_refused() {
    let out = Command::new(common::estimate_binary())
        .args([
            "examples/data/police_covariates.csv",
            "--covariates",
            "sex,colour",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("colour"), "{err}");
    let out = Command::new(common::estimate_binary())
        .args([
            "examples/data/police_covariates.csv",
            "--covariates",
            "sex",
            "--lists",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lists"));
}

/// stderr of a run expected to fail.
fn run_err(args: &[&str]) -> String {
    let out = Command::new(common::estimate_binary())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("estimate runs");
    assert!(!out.status.success(), "estimate {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn covariate_hint_names_the_binary_covariate_beside_occasion_columns() {
    // deermice: c1..c6, then sex (0/1), age (y/a), weight. Leaving the 0/1 `sex` out of
    // the suggested --covariates would make it a seventh occasion.
    let err = run_err(&["tests/fixtures/huggins/deermice.csv"]);
    assert!(err.contains("--covariates sex,age,weight"), "{err}");
    let text = run(&[
        "tests/fixtures/huggins/deermice.csv",
        "--covariates",
        "sex,age,weight",
    ]);
    assert!(text.contains("6 occasions"), "{text}");
    assert!(text.contains("Huggins Mb + sex + age + weight"), "{text}");
}

#[test]
fn covariates_that_no_model_can_fit_leave_the_headline_to_the_models_without() {
    // prinia: cap + noncap = 19 for every bird, so no Huggins model with all four
    // covariates has a full-rank design. The headline is then the closedp.t rule's, as
    // without --covariates, and says why, naming the aliased covariate.
    let with = run(&[
        "tests/fixtures/huggins/prinia.csv",
        "--covariates",
        "length,fat,cap,noncap",
    ]);
    assert!(
        with.contains("No Huggins model with the covariates could be fitted"),
        "{with}"
    );
    assert!(with.contains("`noncap` is a linear combination"), "{with}");
    assert!(!with.contains("Ignoring the covariates ()"), "{with}");
    let sentence = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Estimated"))
            .map(str::to_owned)
            .expect("a headline")
    };
    // the same figure as the histories alone (the covariate columns dropped)
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/huggins/prinia.csv"),
    )
    .unwrap();
    let scratch = common::Scratch::new("prinia");
    let dir = scratch.path();
    let plain = dir.join("prinia_histories.csv");
    let kept: Vec<String> = text
        .lines()
        .map(|l| l.split(',').take(19).collect::<Vec<_>>().join(","))
        .collect();
    std::fs::write(&plain, kept.join("\n")).unwrap();
    let without = run(&[plain.to_str().unwrap()]);
    assert_eq!(sentence(&with), sentence(&without));
}

#[test]
fn cautions_of_another_reading_survive_the_covariate_headline() {
    // Bunting (8 years, an open population) one row per bird with a made-up covariate:
    // the Huggins models with it become the headline's candidates, and the closed models
    // still fit poorly, so the Caution lines (read as lists, read as open) stay beside the
    // figure rather than being lost when the headline is rebuilt; a third says that the
    // models without the covariate give far more.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/open/bunting.csv"),
    )
    .unwrap();
    let mut rows = vec!["c1,c2,c3,c4,c5,c6,c7,c8,x".to_string()];
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let freq: usize = cells[8].parse().unwrap();
        for _ in 0..freq {
            rows.push(format!("{},{}", cells[..8].join(","), rows.len() % 2));
        }
    }
    let scratch = common::Scratch::new("bunting");
    let dir = scratch.path();
    let path = dir.join("bunting_units.csv");
    std::fs::write(&path, rows.join("\n")).unwrap();
    let out = run(&[path.to_str().unwrap(), "--covariates", "x"]);
    assert!(out.contains("Huggins"), "{out}");
    let cautions: Vec<&str> = out.lines().filter(|l| l.starts_with("Caution: ")).collect();
    assert_eq!(cautions.len(), 3, "{out}");
    assert!(cautions[1].contains("run with --open"), "{out}");
    // and the closed models without the covariate give far more than the Huggins ones
    assert!(
        cautions[2].starts_with("Caution: Ignoring the covariates gives more: the same rule without them (x) gives 37,200"),
        "{out}"
    );
}

#[test]
fn a_long_register_takes_covariates_in_each_stratum_or_as_one_population() {
    // The police register (one row per record; 420 buyers and 180 sellers). By default each
    // stratum has its own Huggins models: `minor` varies among the sellers only, so the
    // buyers' figure comes from the models without covariates, with a line saying why.
    let text = run(&[
        "examples/data/police_operations.csv",
        "--covariates",
        "minor",
    ]);
    assert!(
        text.contains(
            "(long layout, 690 rows): 405 units seen, 5 occasions, 2 strata (buyer, seller)"
        ),
        "{text}"
    );
    let block = |name: &str| -> String {
        let start = text
            .find(&format!("== {name} =="))
            .unwrap_or_else(|| panic!("{text}"));
        text[start..].split("\n\n").next().unwrap().to_string()
    };
    assert!(
        block("buyer").contains(
            "closedp.t models (Buckland et al. 1997; forms of one structure share its best \
             form's weight), unconditional SE, log-normal interval, without the covariates (every unit in this stratum has minor = 0)"
        ),
        "{text}"
    );
    assert!(
        block("seller").contains("AIC model average of ln N̂ over 8 Huggins models"),
        "{text}"
    );
    assert!(
        block("Total (sum over strata)").contains("sum of the 2 stratum headlines"),
        "{text}"
    );
    assert!(
        text.contains("== Huggins (conditional likelihood; covariates minor) — all strata pooled"),
        "{text}"
    );
    let v = json(&[
        "examples/data/police_operations.csv",
        "--covariates",
        "minor",
        "--format",
        "json",
    ]);
    let hl = v["headline"].as_array().unwrap();
    assert_eq!(hl.len(), 3);
    // each stratum's interval covers its truth, and the total is their sum
    for (h, truth) in hl.iter().zip([420.0, 180.0]) {
        let lo = h["interval"]["lower"].as_f64().unwrap();
        let hi = h["interval"]["upper"].as_f64().unwrap();
        assert!(lo < truth && truth < hi, "{h}");
    }
    let sum = hl[0]["n_hat"].as_f64().unwrap() + hl[1]["n_hat"].as_f64().unwrap();
    assert!((hl[2]["n_hat"].as_f64().unwrap() - sum).abs() < 1e-9 * sum);

    // With the stratum column among the covariates the register is one population whose
    // catchability depends on it; with `minor` alone as one population (`--stratum minor`
    // takes the column as the covariate it also is) the Huggins models see too little
    // heterogeneity, and a Caution says the models without the covariate give more.
    let one = run(&[
        "examples/data/police_operations.csv",
        "--covariates",
        "minor,stratum",
    ]);
    assert!(one.contains("== All data =="), "{one}");
    assert!(one.contains("Huggins Mtb + minor + stratum"), "{one}");
    let pooled = run(&[
        "examples/data/police_operations.csv",
        "--covariates",
        "minor",
        "--stratum",
        "minor",
    ]);
    let head: String = pooled.lines().take(10).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("AIC model average of ln N̂ over 8 Huggins models"),
        "{head}"
    );
    assert!(
        head.contains(
            "Caution: Ignoring the covariates gives more: the same rule without them (minor) gives"
        ),
        "{head}"
    );
}

#[test]
fn a_wide_file_with_strata_and_covariates_is_analysed_stratum_by_stratum() {
    // The covariate example with a stratum column made from `sex`: each sex gets its own
    // Huggins models with `age` and `prior`, and `sex` itself (one value per stratum) is
    // left out of them, said in a note.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/data/police_covariates.csv"),
    )
    .unwrap();
    let mut lines = text.lines();
    let mut rows = vec![format!("{},stratum", lines.next().unwrap())];
    for l in lines {
        let sex = l.split(',').nth(6).unwrap();
        rows.push(format!("{l},{sex}"));
    }
    let scratch = common::Scratch::new("strata");
    let path = scratch.path().join("by_sex.csv");
    std::fs::write(&path, rows.join("\n")).unwrap();
    let out = run(&[path.to_str().unwrap(), "--covariates", "sex,age,prior"]);
    assert!(out.contains("== f ==") && out.contains("== m =="), "{out}");
    assert!(out.contains("== Total (sum over strata) =="), "{out}");
    assert!(out.contains("Huggins M0 + age + prior"), "{out}");
    assert!(
        out.contains(
            "left out of this stratum's models, as every unit in it has the same value: sex = f"
        ),
        "{out}"
    );
    // the Huggins models' figures add up over the strata
    assert!(
        out.contains(
            "== Huggins (conditional likelihood; covariates age, prior) — total (sum over strata)"
        ),
        "{out}"
    );
}

#[test]
fn a_subgroup_with_covariates_is_derived_from_its_strata_models() {
    // The minors among the sellers: each Huggins model fitted to the sellers gives the
    // minors' figure (the sum of 1/p̂ over the minors seen), averaged with the sellers'
    // weights; the buyers (no minor seen) get no subgroup headline.
    let v = json(&[
        "examples/data/police_operations.csv",
        "--covariates",
        "minor",
        "--subgroup",
        "minor",
        "--format",
        "json",
    ]);
    let hl = v["headline"].as_array().unwrap();
    let strata: Vec<&str> = hl.iter().map(|h| h["stratum"].as_str().unwrap()).collect();
    assert_eq!(strata, ["buyer", "seller", "seller: minor", "total"]);
    let minor = &hl[2];
    assert_eq!(minor["observed"].as_u64(), Some(25));
    let n = minor["n_hat"].as_f64().unwrap();
    // about a fifth of the 180 sellers are minors, harder to meet
    assert!(
        n > 25.0 && n < hl[1]["n_hat"].as_f64().unwrap() / 3.0,
        "{n}"
    );
    let basis = minor["basis"].as_str().unwrap();
    assert!(
        basis.contains("Huggins models") && basis.contains("subgroup `minor`"),
        "{basis}"
    );
    // the total is still the buyers and the sellers
    let sum = hl[0]["n_hat"].as_f64().unwrap() + hl[1]["n_hat"].as_f64().unwrap();
    assert!((hl[3]["n_hat"].as_f64().unwrap() - sum).abs() < 1e-9 * sum);
    // The report's Methods name the rule of each stratum, as they differ.
    let scratch = common::Scratch::new("subgroup_report");
    let html = scratch.path().join("r.html");
    run(&[
        "examples/data/police_operations.csv",
        "--covariates",
        "minor",
        "--subgroup",
        "minor",
        "--report",
        html.to_str().unwrap(),
    ]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(
            "chosen stratum by stratum: buyer: AIC model average of ln N̂ over 17 closedp.t models"
        ) && page.contains("; seller: AIC model average of ln N̂ over 8 Huggins models")
            && page.contains("the total is the sum of the stratum figures"),
        "{page}"
    );

    // A subgroup that is not among the covariates is taken to be caught as the others
    // with its covariates, and the headline says so.
    let out = run(&[
        "examples/data/police_covariates.csv",
        "--covariates",
        "sex,age",
        "--subgroup",
        "prior",
    ]);
    assert!(out.contains("== prior =="), "{out}");
    assert!(
        out.contains("`prior` is not among the covariates: this figure takes the subgroup"),
        "{out}"
    );
    let out = run(&[
        "examples/data/police_covariates.csv",
        "--covariates",
        "sex,age,prior",
        "--subgroup",
        "prior",
    ]);
    assert!(out.contains("== prior ==") && !out.contains("is not among the covariates"));
    // A column that is not yes/no is refused by name and value.
    let e = run_err(&[
        "examples/data/police_covariates.csv",
        "--covariates",
        "sex",
        "--subgroup",
        "age",
    ]);
    assert!(
        e.contains("subgroup column `age` holds `") && e.contains("expected 1/yes/true"),
        "{e}"
    );
    // The stratum column cannot be the subgroup too.
    let e = run_err(&[
        "examples/data/police_covariates.csv",
        "--covariates",
        "age",
        "--stratum",
        "prior",
        "--subgroup",
        "prior",
    ]);
    assert!(
        e.contains("a column other than the stratum column `prior`"),
        "{e}"
    );
}

#[test]
fn covariates_on_an_embedded_example_are_used_not_ignored() {
    // `--covariates minor` on the embedded police register (no FILE) used to be dropped
    // silently; it now runs the covariate analysis with the example's truth and its
    // default subgroup (the minors: 34 among the 180 sellers).
    let out = run(&["--covariates", "minor"]);
    let start = out
        .find("== seller: minor ==")
        .unwrap_or_else(|| panic!("{out}"));
    let block = out[start..].split("\n\n").next().unwrap();
    assert!(block.contains("subgroup `minor`"), "{block}");
    assert!(
        block.contains("Known true size 34: inside the interval."),
        "{block}"
    );
    assert!(
        out.contains("Known true size 180: inside the interval."),
        "{out}"
    );
    // An embedded example without that column says so.
    let e = run_err(&["--example", "hare", "--covariates", "sex"]);
    assert!(e.contains("no column `sex`"), "{e}");
}
