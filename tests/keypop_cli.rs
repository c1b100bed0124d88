//! The `keypop` example binary on the shipped example data: every subcommand exits 0,
//! prints the headline first, writes valid JSON whose headline interval names its method,
//! and writes an HTML report (answer first, figures, provenance); bad input exits
//! non-zero with an error naming the file, row, column and value.
//!
//! The binary is the one `cargo test` built for this profile (see `tests/common`).

#[allow(dead_code)]
mod common;

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(common::example_binary("keypop"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("keypop runs")
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "keypop {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

fn failure(args: &[&str]) -> String {
    let o = run(args);
    assert!(!o.status.success(), "keypop {args:?} should fail");
    assert!(o.stdout.is_empty(), "nothing on stdout when it fails");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The error message names every one of `parts` (file, line, column, value).
fn names(e: &str, parts: &[&str]) {
    for p in parts {
        assert!(e.contains(p), "{p:?} not in the error: {e}");
    }
}

fn kp(name: &str) -> String {
    format!("tests/fixtures/kp/{name}")
}

fn sspse_fixture(name: &str) -> String {
    format!("tests/fixtures/sspse/{name}")
}

/// Runs `args` as text, JSON and with `--report`; checks the headline comes first, the
/// JSON's headline interval names `method`, and the report has the answer, at least
/// `figures` figures and the input files' hashes. Returns (text, JSON, HTML).
fn check_all_forms(
    tag: &str,
    args: &[&str],
    method: &str,
    figures: usize,
) -> (String, serde_json::Value, String) {
    let text = ok(args);
    let mut lines = text.lines();
    let title = lines.next().unwrap();
    assert!(
        lines.next().unwrap().starts_with("==="),
        "title underlined: {text}"
    );
    let headline = lines.next().unwrap();
    assert!(
        headline.contains(": ") && headline.contains('[') && headline.contains(method_word(method)),
        "headline with its interval and method on the first line after {title:?}: {headline}"
    );
    let mut jargs = vec!["--format", "json"];
    jargs.extend_from_slice(args);
    let json: serde_json::Value = serde_json::from_str(&ok(&jargs)).expect("valid JSON");
    let h = &json["headline"];
    assert_eq!(h["interval"]["method"], method, "{h}");
    assert!(h["value"].as_f64().is_some(), "{h}");
    assert!(h["interval"]["lower"].as_f64().unwrap() <= h["value"].as_f64().unwrap());
    assert!(h["interval"]["upper"].as_f64().unwrap() >= h["value"].as_f64().unwrap());
    assert!(!h["checks"].as_array().unwrap().is_empty(), "{h}");
    let scratch = common::Scratch::new(&format!("keypop-{tag}"));
    let out = scratch.join("report.html");
    let out_s = out.display().to_string();
    let mut rargs = args.to_vec();
    rargs.extend_from_slice(&["--report", &out_s]);
    let again = ok(&rargs);
    assert_eq!(again, text, "--report does not change what is printed");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"));
    let answer = html.find("class=\"headline\"").expect("answer box");
    let evidence = html.find("<h2>Evidence</h2>").expect("evidence");
    assert!(answer < evidence, "the answer comes first");
    assert!(
        html.contains(&format!("value=\"{}\"", h["value"])),
        "the cited figure is in the report"
    );
    assert!(
        html.matches("<svg").count() >= figures,
        "{} figures",
        html.matches("<svg").count()
    );
    assert!(html.contains("Provenance") && html.contains("How to cite"));
    for a in args.iter().filter(|a| a.ends_with(".csv")) {
        let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(a)).unwrap();
        assert!(
            html.contains(&darkfigure::report::sha256_hex(&bytes)),
            "hash of {a}"
        );
    }
    assert!(
        !html.contains("--report"),
        "the report file is not part of the command"
    );
    (text, json, html)
}

fn method_word(method: &str) -> &str {
    match method {
        "credible" => "credible",
        _ => "",
    }
}

fn interval_method(j: &serde_json::Value) -> String {
    j["headline"]["interval"]["method"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn multiplier_headline_json_and_report() {
    let f = kp("fsw_unique_object.csv");
    let args = [
        "multiplier",
        &f,
        "--objects",
        "1000",
        "--received",
        "received_object",
        "--weight",
        "weight",
        "--weight-is-inclusion",
        "--bootstrap",
        "200",
    ];
    let j: serde_json::Value =
        serde_json::from_str(&ok(&[&["--format", "json"], &args[..]].concat())).unwrap();
    let method = interval_method(&j);
    let (text, json, html) = check_all_forms("mult", &args, &method, 1);
    assert!(
        text.contains("check passed: benchmark consistency"),
        "{text}"
    );
    assert!(
        json["details"]["unweighted"]["estimate"]["n_hat"]
            .as_f64()
            .is_some()
    );
    assert!(
        html.contains("unweighted P̂"),
        "weighted and unweighted side by side"
    );
    // an estimate below a count already observed fails the check and is not cited
    let low = ok(&[&args[..], &["--observed", "register=1000000"]].concat());
    assert!(
        low.contains("CHECK FAILED: benchmark consistency against register"),
        "{low}"
    );
    assert!(low.contains("no figure can be cited"), "{low}");
}

#[test]
fn nsum_headline_json_and_report() {
    let s = kp("nsum_example_survey.csv");
    let k = kp("nsum_known_populations.csv");
    let args = [
        "nsum",
        &s,
        &k,
        "--total",
        "10000000",
        "--hidden",
        "clients",
        "--topcode",
        "30",
        "--weight",
        "indweight",
        "--cluster",
        "cluster",
        "--strata",
        "region",
        "--bootstrap",
        "100",
    ];
    let j: serde_json::Value =
        serde_json::from_str(&ok(&[&["--format", "json"], &args[..]].concat())).unwrap();
    assert!(
        interval_method(&j).starts_with("bootstrap"),
        "{}",
        j["headline"]
    );
    let (text, _, html) = check_all_forms("nsum", &args, &interval_method(&j), 2);
    assert!(text.contains("internal consistency"), "{text}");
    assert!(html.contains("nsum_internal_consistency"));
}

#[test]
fn rds_headline_json_and_report() {
    let f = kp("fauxmadrona.csv");
    let args = [
        "rds",
        &f,
        "--outcome",
        "disease",
        "--recruiter",
        "recruiter.id",
        "--population-size",
        "1000",
    ];
    let j: serde_json::Value =
        serde_json::from_str(&ok(&[&["--format", "json"], &args[..]].concat())).unwrap();
    let (text, json, html) = check_all_forms("rds", &args, &interval_method(&j), 2);
    assert!(json["headline"]["proportion"].as_bool().unwrap());
    assert!(text.contains("convergence"), "{text}");
    assert!(html.contains("rds_convergence"));
}

#[test]
fn triangulate_prints_a_posterior_sd_never_zero() {
    let f = kp("triangulator_docs_example.csv");
    // flat prior: the posterior mean and SD of N do not exist; it used to print "SE 0.0"
    let (text, json, html) = check_all_forms("tri", &["triangulate", &f], "credible", 2);
    let head = text.lines().nth(2).unwrap();
    assert!(!head.contains("SE 0"), "{head}");
    assert!(head.contains("posterior SD infinite"), "{head}");
    assert!(
        json["headline"]["se"].is_null(),
        "an infinite SD is null in JSON"
    );
    assert_eq!(json["headline"]["se_label"], "posterior SD");
    assert!(text.contains("do not exist"), "{text}");
    assert!(html.contains("Posterior SD infinite"));
    // with a prior the SD is finite and labelled as the posterior SD
    let text = ok(&[
        "triangulate",
        &f,
        "--prior-median",
        "3000",
        "--prior-q75",
        "4000",
    ]);
    let head = text.lines().nth(2).unwrap();
    let sd: f64 = head
        .rsplit("posterior SD ")
        .next()
        .unwrap()
        .trim()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("{head}"));
    assert!(sd > 300.0 && sd < 700.0, "{head}");
}

#[test]
fn sspse_one_and_two_surveys() {
    let f = sspse_fixture("fauxmadrona.csv");
    let quick = ["--samples", "300", "--warmup", "1000", "--chains", "2"];
    let args = [&["sspse", &f, "--prior-median", "1000"], &quick[..]].concat();
    let (text, json, html) = check_all_forms("sspse", &args, "credible", 2);
    assert!(text.contains("split R̂"), "{text}");
    assert!(json["details"]["posterior_n"]["rhat"].as_f64().is_some());
    assert!(html.contains("sspse_trace") && html.contains("sspse_posterior"));
    let n = json["headline"]["value"].as_f64().unwrap();
    assert!(n > 500.0 && n < 5000.0, "{n}");
    // same seed, same output
    assert_eq!(ok(&args), text);
    let r1 = sspse_fixture("fauxmadrona2_rds1.csv");
    let r2 = sspse_fixture("fauxmadrona2_rds2.csv");
    let two = ok(&[
        &[
            "--format",
            "json",
            "sspse",
            &r1,
            "--second",
            &r2,
            "--prior-median",
            "1250",
        ],
        &quick[..],
    ]
    .concat());
    let two: serde_json::Value = serde_json::from_str(&two).unwrap();
    assert_eq!(two["headline"]["interval"]["method"], "credible");
    assert!(
        two["headline"]["basis"]
            .as_str()
            .unwrap()
            .contains("two surveys")
    );
    let vis = ok(&[
        &["sspse", &f, "--prior-median", "1000", "--visibility"],
        &["--samples", "100", "--warmup", "200", "--chains", "2"][..],
    ]
    .concat());
    assert!(vis.contains("visibility"), "{vis}");
}

#[test]
fn bad_input_names_file_row_column_and_value() {
    let scratch = common::Scratch::new("keypop-bad");
    let bad = |name: &str, text: &str| scratch.file(name, text).display().to_string();
    // a recruiter id that is not in the file
    let t = bad(
        "tree.csv",
        "id,recruiter,degree,y\n1,seed,3,0\n2,1,4,1\n3,9,2,0\n",
    );
    let e = failure(&["rds", &t, "--outcome", "y"]);
    names(&e, &["tree.csv", "line 4", "`recruiter`", "9"]);
    // a negative degree
    let t = bad(
        "negdeg.csv",
        "id,recruiter,degree,y\n1,seed,3,0\n2,1,-4,1\n",
    );
    let e = failure(&["rds", &t, "--outcome", "y"]);
    names(&e, &["negdeg.csv", "line 3", "`degree`", "-4"]);
    // a known population of size zero
    let k = bad("known.csv", "known_popn,size\nteacher,4000\npriest,0\n");
    let s = bad("survey.csv", "teacher,priest,clients\n1,0,0\n2,1,1\n");
    let e = failure(&["nsum", &s, &k, "--total", "100000", "--hidden", "clients"]);
    names(&e, &["known.csv", "line 3", "`size`", "0"]);
    // nobody received the object
    let r = bad("receipt.csv", "received\n0\n0\n0\n");
    let e = failure(&["multiplier", &r, "--objects", "100"]);
    names(&e, &["receipt.csv", "`received`", "0 of 3"]);
    // an SS-PSE survey with a negative degree
    let t = bad(
        "sspse.csv",
        "id,recruiter.id,degree\n1,seed,3\n2,1,-2\n3,1,4\n",
    );
    let e = failure(&["sspse", &t, "--prior-median", "100"]);
    names(&e, &["sspse.csv", "-2"]);
    // a report name that is neither .html nor .md
    let f = kp("triangulator_docs_example.csv");
    let e = failure(&["triangulate", &f, "--report", "out.pdf"]);
    names(&e, &["out.pdf", ".html"]);
}
