//! The `estimate` example binary, run as an analyst would: embedded data, files in each
//! layout, JSON output, and bad input that must exit non-zero with a clear message.
//!
//! `cargo test` builds the examples before running integration tests; the binary sits in
//! `target/<profile>/examples/` (built on demand when this target runs alone).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn binary() -> PathBuf {
    common::estimate_binary()
}

fn run(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn default_run_analyses_embedded_police_data() {
    // The default output starts with the figure to cite, stratum by stratum.
    let o = run(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    let first: Vec<&str> = out.lines().take(6).collect();
    assert!(
        first.iter().any(|l| l.starts_with("Estimated ")),
        "the headline is not in the first lines:\n{out}"
    );
    assert!(out.contains("== Total (sum over strata) =="), "{out}");
    assert!(out.contains("Known true size 420"), "{out}");
    assert!(
        !out.contains("Schnabel  "),
        "full tables only with --all:\n{out}"
    );
    let o = run(&["--all"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("police_operations.csv (long layout"), "{out}");
    assert!(
        out.contains("5 occasions") && out.contains("2 strata (buyer, seller)"),
        "{out}"
    );
    assert!(
        out.contains("true N = 420") && out.contains("true N = 180"),
        "{out}"
    );
    assert!(out.contains("Schnabel"), "{out}");
    assert!(out.contains("total (sum over strata)"), "{out}");
}

#[test]
fn json_has_the_fixed_shape() {
    let o = run(&["--example", "seber", "--format", "json", "--level", "0.9"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["data"]["layout"], "wide");
    assert_eq!(v["data"]["observed"], 1202);
    assert_eq!(v["data"]["occasions"], 2);
    let est = v["estimates"].as_array().unwrap();
    let chapman = est
        .iter()
        .find(|e| e["model"] == "Chapman")
        .expect("Chapman row");
    for key in [
        "method",
        "model",
        "n_hat",
        "se",
        "interval",
        "dark_figure",
        "fit",
        "warnings",
    ] {
        assert!(chapman.get(key).is_some(), "missing key {key}");
    }
    for key in ["lower", "upper", "level", "method"] {
        assert!(
            chapman["interval"].get(key).is_some(),
            "missing interval key {key}"
        );
    }
    assert_eq!(chapman["interval"]["level"], 0.9);
    assert!((chapman["n_hat"].as_f64().unwrap() - 2382.797619047619).abs() < 1e-6);
    let labels: Vec<&str> = est.iter().map(|e| e["model"].as_str().unwrap()).collect();
    for l in ["Lincoln-Petersen", "Chapman", "Bailey"] {
        assert!(labels.contains(&l), "{labels:?}");
    }
}

#[test]
fn markdown_and_files_in_each_layout() {
    let scratch = common::Scratch::new("cli");
    let wide = scratch.file("wide.csv", "op1,op2,freq\n1,1,30\n1,0,70\n0,1,50\n");
    let long = scratch.file("long.csv", "id,occasion\na,1\na,2\nb,1\nc,2\nd,3\nd,1\n");
    let agg = scratch.file(
        "agg.csv",
        "history,freq\n110,12\n100,30\n010,25\n001,20\n011,5\n",
    );
    for (p, layout) in [(&wide, "wide"), (&long, "long"), (&agg, "aggregated")] {
        let o = run(&[p.to_str().unwrap(), "--format", "markdown"]);
        assert!(
            o.status.success(),
            "{layout}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = stdout(&o);
        assert!(out.contains(&format!("{layout} layout")), "{out}");
        assert!(out.contains("| model |"), "{out}");
    }
}

#[test]
fn bad_input_exits_non_zero_with_a_clear_message() {
    let scratch = common::Scratch::new("cli");
    let cases = [
        (
            "bad_value.csv",
            "op1,op2\n1,0\n1,yes\n",
            "line 3, column `op2`: value `yes`",
        ),
        (
            "ragged.csv",
            "op1,op2\n1,0\n1\n",
            "line 3: the row has 1 fields",
        ),
        (
            "neg.csv",
            "op1,op2,freq\n1,0,-1\n",
            "column `freq`: value `-1`",
        ),
        ("empty.csv", "", "empty"),
        ("zeros.csv", "op1,op2,freq\n0,0,4\n", "never seen"),
    ];
    for (name, text, needle) in cases {
        let p = scratch.file(name, text);
        let o = run(&[p.to_str().unwrap()]);
        assert!(!o.status.success(), "{name} must fail");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(name),
            "{name}: message must name the file: {err}"
        );
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = run(&["/no/such/file.csv"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/no/such/file.csv"));
    let o = run(&["--example", "seber", "--level", "1.5"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("level"));
}

#[test]
fn closed_models_selection_and_single_model() {
    let scratch = common::Scratch::new("cli");
    let o = run(&["--example", "hare", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let est = v["estimates"].as_array().unwrap();
    let m0 = est
        .iter()
        .find(|e| e["model"] == "M0" && e["section"].as_str().unwrap().starts_with("closedp.t"))
        .expect("closedp.t M0");
    // Rcapture::closedp.t(hare) M0: 75.4336186292542 (tests/reference_closed.rs checks all).
    assert!((m0["n_hat"].as_f64().unwrap() - 75.4336186292542).abs() < 1e-6);
    assert_eq!(m0["interval"]["method"], "profile-likelihood");
    assert!(m0["fit"]["aic"].is_number());
    assert!(
        est.iter()
            .any(|e| e["section"].as_str().unwrap().starts_with("closedp.bc"))
    );
    // Six lists: too many hierarchical models, refused with advice.
    let o = run(&["--example", "hare", "--select", "bic"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--select stepwise"));

    let lists = scratch.file(
        "four.csv",
        "A,B,C,D,n\n1,0,0,0,40\n0,1,0,0,35\n0,0,1,0,30\n0,0,0,1,20\n1,1,0,0,12\n1,0,1,0,9\n0,1,1,0,8\n1,1,1,0,4\n1,0,0,1,6\n0,0,1,1,5\n0,1,0,1,3\n1,1,1,1,1\n",
    );
    let o = run(&[
        lists.to_str().unwrap(),
        "--select",
        "aic",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ms: Vec<&serde_json::Value> = v["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["section"].as_str().unwrap().starts_with("closedpMS.t"))
        .collect();
    assert!(
        ms.len() > 100,
        "every hierarchical model of 4 lists (113) plus the average"
    );

    let o = run(&[
        "--example",
        "hare",
        "--model",
        "[12,3,4,5,6]",
        "--heterogeneity",
        "chao",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("model [12,3,4,5,6]"));
    let o = run(&["--example", "hare", "--model", "[12,x]"]);
    assert!(!o.status.success());
}

#[test]
fn stepwise_open_and_counts() {
    let scratch = common::Scratch::new("cli");
    let lists = scratch.file(
        "lists.csv",
        "A,B,C,count\n1,0,0,40\n0,1,0,35\n0,0,1,30\n1,1,0,12\n1,0,1,9\n0,1,1,8\n1,1,1,4\n",
    );
    let o = run(&[lists.to_str().unwrap(), "--select", "stepwise", "--all"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("SparseMSE stepwise"));

    let o = run(&["--open", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let open = v["open"].as_array().expect("open array");
    assert_eq!(open.len(), 2);
    assert_eq!(open[0]["periods"].as_array().unwrap().len(), 5);
    assert!(open[0]["total"]["n_hat"].is_number());

    let counts = scratch.file(
        "counts.csv",
        "count,sex\n1,f\n1,m\n1,m\n2,f\n1,f\n3,m\n1,m\n2,m\n1,f\n1,m\n",
    );
    let o = run(&[counts.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let est = v["estimates"].as_array().unwrap();
    let ztp = est
        .iter()
        .find(|e| e["model"] == "ztpoisson ~ sex")
        .expect("ztpoisson with covariates");
    assert_eq!(ztp["covariates"], serde_json::json!(["sex"]));
    assert!(est.iter().any(|e| e["model"] == "ztpoisson ~ 1"));
}

/// Deterministic fits: the same input gives byte-identical output from run to run (no
/// hash-map iteration order leaks into a sum).
#[test]
fn output_is_identical_from_run_to_run() {
    for args in [
        &["--example", "hare", "--format", "json"][..],
        &["--format", "json"][..],
    ] {
        let a = run(args);
        let b = run(args);
        assert!(a.status.success());
        assert_eq!(a.stdout, b.stdout, "{args:?}");
    }
}

/// Every CSV in the test fixtures and the embedded examples, run with `--all`: a run
/// either succeeds or exits non-zero with a message; no N̂ that is negative is printed
/// anywhere (impossible values are printed as DEGENERATE with the reason in words), and
/// in JSON every estimate not marked degenerate is at least the number seen.
#[test]
fn no_negative_estimate_is_printed_for_any_fixture() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut stack = vec![root.join("tests/fixtures"), root.join("examples/data")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "csv") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 30, "{} CSV files", files.len());
    let mut ran = 0;
    let mut impossible = 0;
    let mut withheld = 0;
    for f in &files {
        let path = f.to_str().unwrap();
        let o = run(&[path, "--all"]);
        if !o.status.success() {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.starts_with("error: "), "{path}: {err}");
            continue;
        }
        ran += 1;
        for line in stdout(&o).lines() {
            if line.contains("bias") {
                continue; // an asymptotic bias may be negative
            }
            let negative = line
                .split(|c: char| c.is_whitespace() || c == '[' || c == '(' || c == ',')
                .any(|tok| {
                    tok.starts_with('-') && tok[1..].starts_with(|c: char| c.is_ascii_digit())
                });
            assert!(!negative, "{path}: negative number printed: {line}");
        }
        let o = run(&[path, "--format", "json"]);
        assert!(o.status.success(), "{path}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        // No N̂ below the units seen is printed as a number, not even for a degenerate
        // row (it is `null` there, with the reason among the warnings).
        let below = |n: &serde_json::Value, seen: &serde_json::Value| matches!((n.as_f64(), seen.as_f64()), (Some(n), Some(s)) if n < s - 1e-6 * s);
        for e in v["estimates"].as_array().unwrap() {
            assert!(!below(&e["n_hat"], &e["observed"]), "{path}: {e}");
            // A degenerate row keeps none of its figures, as the text prints DEGENERATE.
            if e["degenerate"] == serde_json::Value::Bool(true) {
                withheld += 1;
                for x in [
                    &e["n_hat"],
                    &e["se"],
                    &e["dark_figure"],
                    &e["interval"]["lower"],
                    &e["interval"]["upper"],
                    &e["dark_figure_interval"]["upper"],
                ] {
                    assert!(x.is_null(), "{path}: degenerate row with a figure: {e}");
                }
                assert!(
                    !e["warnings"].as_array().unwrap().is_empty(),
                    "{path}: no reason: {e}"
                );
            }
        }
        for h in v["headline"].as_array().unwrap() {
            let seen = &h["observed"];
            assert!(!below(&h["n_hat"], seen), "{path}: {h}");
            for c in h["candidates"].as_array().unwrap() {
                assert!(!below(&c["n_hat"], seen), "{path}: {c}");
                if c["excluded"].as_str().is_some_and(|r| r.contains("N̂")) {
                    assert!(c["n_hat"].is_null(), "{path}: {c}");
                    assert!(c["interval"]["lower"].is_null(), "{path}: {c}");
                }
                impossible += c["n_hat"].is_null() as usize;
            }
            for m in h["models"].as_array().unwrap() {
                assert!(!below(&m["n_hat"], seen), "{path}: {m}");
            }
        }
    }
    assert!(ran >= 25, "only {ran} fixtures ran");
    // the fixtures hold impossible fits (Mb on the SparseMSE tables): the check above bit
    assert!(impossible > 0, "no candidate with a withheld N̂");
    assert!(withheld > 0, "no degenerate row in the fixtures' JSON");
}

/// The command-line cases of issue 15 (options a hostile user gives), run end to end:
/// each exits 0 or 1 (never a panic or an abort), within 10 s, and a refused option is
/// named in the message.
#[test]
fn hostile_options_exit_cleanly_and_quickly() {
    let scratch = common::Scratch::new("cli");
    let dutch = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/netherlandsimmigrant.csv"
    );
    let police = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/police_operations.csv"
    );
    let wide = scratch.file("hostile_wide.csv", "A,B,C\n1,0,1\n0,1,1\n1,1,0\n1,0,0\n");
    let one = scratch.file("hostile_one.csv", "A\n1\n1\n");
    let (wide, one) = (wide.to_str().unwrap(), one.to_str().unwrap());
    // (arguments, exit code, text the output or message must hold)
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![dutch, "--count", "capture", "--t0", "1000"],
            0,
            "Estimated",
        ),
        (
            vec![dutch, "--count", "capture", "--t0", "10000000", "--all"],
            0,
            "invalid parameter `t0` = 10000000",
        ),
        (
            vec![dutch, "--count", "capture", "--occasions", "300"],
            0,
            "Estimated",
        ),
        (
            vec![dutch, "--count", "capture", "--occasions", "1000000000"],
            1,
            "`occasions` = 1000000000",
        ),
        (
            vec![police, "--periods", "18446744073709551615,1,18"],
            1,
            "`periods`",
        ),
        (vec![wide, "--layout", "long"], 1, "`id` and `occasion`"),
        (vec![wide, "--model", "[]"], 1, "`model` = []"),
        (vec![wide, "--model", "[1,1]"], 1, "`model` = [1,1]"),
        (vec![one, "--model", "[1]"], 1, "at least 2 occasions"),
        (vec![one], 1, "at least 2 occasions"),
        (vec![wide, "--freq", "nosuch"], 1, "`nosuch`"),
    ];
    for (args, code, needle) in cases {
        let start = std::time::Instant::now();
        let o = run(&args);
        let took = start.elapsed();
        let (out, err) = (stdout(&o), String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            out.contains(needle) || err.contains(needle),
            "{args:?}: `{needle}` not in\n{out}\n{err}"
        );
        assert!(took.as_secs_f64() < 10.0, "{args:?} took {took:?}");
    }
}

#[test]
fn two_source_counts_on_the_command_line_equal_the_same_histories_in_a_file() {
    let scratch = common::Scratch::new("cli");
    // Luanda MSM (kp/two_source_counts.csv): 792 objects, 353 surveyed, 45 with one.
    let inline = run(&["--two-source", "792,353,45", "--format", "json"]);
    assert!(
        inline.status.success(),
        "{}",
        String::from_utf8_lossy(&inline.stderr)
    );
    let file = scratch.file(
        "luanda_histories.csv",
        "c1,c2,freq\n1,0,747\n0,1,308\n1,1,45\n",
    );
    let from_file = run(&[file.to_str().unwrap(), "--format", "json"]);
    assert!(from_file.status.success());
    let a: serde_json::Value = serde_json::from_str(&stdout(&inline)).unwrap();
    let b: serde_json::Value = serde_json::from_str(&stdout(&from_file)).unwrap();
    assert_eq!(a["headline"][0]["n_hat"], b["headline"][0]["n_hat"]);
    assert_eq!(a["headline"][0]["interval"], b["headline"][0]["interval"]);
    // Chapman: (n1 + 1)(n2 + 1)/(m + 1) − 1
    let chapman = 793.0 * 354.0 / 46.0 - 1.0;
    let n_hat = a["headline"][0]["n_hat"].as_f64().unwrap();
    assert!(
        (n_hat - chapman).abs() < 1e-9 * chapman,
        "{n_hat} vs {chapman}"
    );
    assert_eq!(a["headline"][0]["observed"], 1100);
    // entered as summary counts: no file layout, no rows
    assert_eq!(a["data"]["layout"], "summary counts");
    let text = stdout(&run(&["--two-source", "792,353,45"]));
    assert!(
        text.contains("data: two-source counts n1 = 792, n2 = 353, m = 45: 1,100 units seen"),
        "{text}"
    );
    assert!(!text.contains("rows"), "{text}");
    // Bad counts are refused, naming what is wrong.
    let e = run(&["--two-source", "10,20,30"]);
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("m = 30"));
    let e = run(&["--two-source", "10,20"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("2 count(s)"));
    let e = run(&[file.to_str().unwrap(), "--two-source", "10,20,5"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("given with a FILE"));
}

#[test]
fn no_recaptures_give_no_figure_but_a_lower_limit() {
    // Two sources, nobody on both: Chapman's (n1 + 1)(n2 + 1) − 1 is a formula's output
    // with no upper limit, so no figure is cited; the lower limit is given.
    let o = run(&["--two-source", "1000,512,0"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("No figure can be cited (1,512 seen): no recaptures"),
        "{text}"
    );
    assert!(text.contains("at least"), "{text}");
    assert!(!text.contains("Estimated 513,512"), "{text}");
    let o = run(&["--two-source", "1000,512,0", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["headline"][0]["n_hat"].is_null(), "{}", v["headline"][0]);
}

#[test]
fn a_file_of_two_source_summaries_is_answered_with_the_commands() {
    let scratch = common::Scratch::new("cli");
    let f = scratch.file(
        "two_source_counts.csv",
        "dataset,n1_marked,n2_survey,m_recaptured,population\n\
         RDSpopsize_FSW,1000,512,82,simulated female sex workers\n\
         Luanda_MSM,792,353,45,men who have sex with men\n",
    );
    let o = run(&[f.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--two-source 1000,512,82 (RDSpopsize_FSW)"),
        "{err}"
    );
    assert!(
        err.contains("--two-source 792,353,45 (Luanda_MSM)"),
        "{err}"
    );
}

#[test]
fn register_columns_are_named_on_the_command_line() {
    let scratch = common::Scratch::new("cli");
    // A police export with its own column names: --id, --occasion and --stratum read it.
    let text = "suspect,raid_date,role\n\
                a,2024-03-01,buyer\nb,2024-01-15,seller\na,2024-01-15,buyer\nc,2024-02-10,seller\n\
                b,2024-02-10,seller\nd,2024-03-01,buyer\ne,2024-01-15,buyer\ne,2024-03-01,buyer\n";
    let p = scratch.file("register.csv", text);
    let path = p.to_str().unwrap();
    let o = run(&[
        path,
        "--id",
        "suspect",
        "--occasion",
        "raid_date",
        "--stratum",
        "role",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(
        out.contains("5 units seen, 3 occasions (in calendar order, 2024-01-15 to 2024-03-01), 2 strata (buyer, seller)"),
        "{out}"
    );
    assert!(!out.contains("note:"), "{out}");
    // The HTML report lists the dated occasions in order, and the notes of a guessed read.
    let html = p.with_extension("html");
    let o = run(&[path, "--report", html.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Occasions: 3 (2024-01-15, 2024-02-10, 2024-03-01), in calendar order<"),
        "{page}"
    );
    assert!(
        page.contains("Note: column <code>role</code> is not used"),
        "{page}"
    );
    // Without the options the names are read as they sound, and the data line says so.
    let o = run(&[path]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    for line in [
        "note: read `suspect` as the unit identifier and `raid_date` as the occasion of each record (name the columns with --id and --occasion to change this)",
        "note: column `role` is not used (--stratum role would give estimates by its values)",
    ] {
        assert!(out.contains(line), "{out}");
    }
}

/// A wide file with a 0/1 trait column: refused without a role (the message names the
/// options), read with `--subgroup` as three occasions plus a headline for the subgroup.
#[test]
fn a_trait_column_of_a_wide_file_takes_the_role_given_on_the_command_line() {
    let scratch = common::Scratch::new("cli");
    let mut text = String::from("op1,op2,op3,female\n");
    for i in 0..120u32 {
        let h = 1 + i % 7; // every non-empty history of 3 occasions
        text.push_str(&format!(
            "{},{},{},{}\n",
            h & 1,
            (h >> 1) & 1,
            (h >> 2) & 1,
            i % 2
        ));
    }
    let p = scratch.file("traits.csv", &text);
    let path = p.to_str().unwrap();
    let o = run(&[path]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("column `female`") && err.contains("--subgroup female"),
        "{err}"
    );
    let o = run(&[path, "--subgroup", "female"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("120 units seen, 3 occasions"), "{out}");
    assert!(out.contains("== female =="), "{out}");
}

/// A stratum without recaptures has no figure, so the strata give no total; the total's
/// line still says what the data do: the strata with a figure add up to so much, and the
/// total is at least their lower limit plus the least the others can be.
#[test]
fn a_total_without_a_figure_says_what_the_strata_with_one_add_up_to() {
    let scratch = common::Scratch::new("cli");
    let mut text = String::from("id,occasion,stratum\n");
    for i in 0..60 {
        // buyers: 40 on operation 1, 40 on 2, 20 on both
        if i < 40 {
            text.push_str(&format!("b{i},1,buyer\n"));
        }
        if i >= 20 {
            text.push_str(&format!("b{i},2,buyer\n"));
        }
    }
    text.push_str("m1,1,manager\nm2,2,manager\nm3,1,manager\n");
    let p = scratch.file("strata.csv", &text);
    let o = run(&[p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    let total = &out[out.find("== Total").expect("a total")..];
    let line = total.lines().nth(1).unwrap();
    assert!(
        line.contains("a stratum has no figure (manager: at least 3)"),
        "{line}"
    );
    // Chapman on 40, 40, 20: 41 · 41 / 21 − 1 = 79.05; the floor adds the 3 managers seen.
    assert!(
        line.contains("The strata with a figure (buyer) add up to 79 (95% interval 68 to 104), so the total is at least 68 + 3 = 71."),
        "{line}"
    );
}

#[test]
fn a_reader_that_stops_early_gets_no_panic() {
    // `estimate ... | head -3`: the pipe closes before the report is written.
    use std::process::Stdio;
    let mut child = Command::new(binary())
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("binary ends");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_unit_in_two_strata_is_placed_as_the_option_says() {
    let scratch = common::Scratch::new("cli");
    let police = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/police_operations.csv"
    ))
    .expect("police register");
    // B002, a buyer on operations 1, 2 and 4, is supported as a seller on operation 5
    let f = scratch.file("moved.csv", format!("{police}B002,5,seller,0\n"));
    let f = f.to_str().unwrap();
    let o = run(&[f]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 692, column `stratum`") && err.contains("--unit-stratum first or last"),
        "{err}"
    );
    let o = run(&[f, "--unit-stratum", "last"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(
        out.contains("2 strata (buyer, seller)")
            && out.contains("1 unit recorded in more than one stratum is counted in the stratum of its last occasion")
            && out.contains("405 units seen"),
        "{out}"
    );
    let o = run(&[f, "--unit-stratum", "sometimes"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("one of first, last, each, refuse"));
}

/// Under `--unit-stratum each` a person in two roles is in both role populations: each
/// stratum's figure is the one its own records give (the register cut to that stratum),
/// and the total says that it counts roles, not people.
#[test]
fn each_role_population_is_estimated_from_its_own_records() {
    let scratch = common::Scratch::new("cli");
    let police = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/police_operations.csv"
    ))
    .expect("police register");
    // B002 and B005, buyers, are also met as sellers on operations 3 and 5
    let extra = "B002,3,seller,0\nB002,5,seller,0\nB005,5,seller,0\n";
    let both = scratch.file("roles.csv", format!("{police}{extra}"));
    let o = run(&[both.to_str().unwrap(), "--unit-stratum", "each"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(
        out.contains("407 units seen")
            && out.contains("2 units recorded in more than one stratum are counted in each")
            && out.contains("first: `B002`, in `buyer` and `seller`"),
        "{out}"
    );
    let total = out.split("== Total").nth(1).expect("a total");
    assert!(
        total.contains("Caution: This figure counts roles, not people: 2 units recorded in more than one stratum (first: `B002`) are counted once in each"),
        "{total}"
    );
    // an open reading pools the strata: its figure says the same
    let o = run(&[both.to_str().unwrap(), "--unit-stratum", "each", "--open"]);
    let open = stdout(&o);
    assert!(
        open.contains("Caution: This figure counts roles, not people: 2 units")
            && open.matches("counts roles").count() == 1,
        "{open}"
    );
    // each stratum as if its records alone had been given
    let header = police.lines().next().unwrap();
    let only = |role: &str| {
        let rows: String = police
            .lines()
            .skip(1)
            .chain(extra.lines())
            .filter(|l| l.split(',').nth(2) == Some(role))
            .map(|l| format!("{l}\n"))
            .collect();
        let f = scratch.file(&format!("{role}.csv"), format!("{header}\n{rows}"));
        stdout(&run(&[f.to_str().unwrap()]))
    };
    let figure = |text: &str, heading: &str| -> String {
        let sec = text.split(heading).nth(1).expect(heading);
        sec.lines()
            .find(|l| l.starts_with("Estimated "))
            .expect("a figure")
            .to_string()
    };
    for role in ["buyer", "seller"] {
        let heading = format!("== {role} ==");
        assert_eq!(
            figure(&out, &heading),
            figure(&only(role), &heading),
            "{role}"
        );
    }
}

#[test]
fn one_unit_seen_reads_in_the_singular() {
    let out = stdout(&run(&["--two-source", "1,1,1"]));
    assert!(out.contains(": 1 unit seen, 2 occasions"), "{out}");
    assert!(out.contains("; 1 was seen, so about"), "{out}");
    let out = stdout(&run(&["--two-source", "2,1,1"]));
    assert!(
        out.contains(": 2 units seen") && out.contains("; 2 were seen"),
        "{out}"
    );
}

/// Data without a recapture get no figure, and the reason says so; a few recaptures get a
/// caution beside the figure, which a total over strata inherits; an `id` column of a
/// counts file is not a covariate.
#[test]
fn recaptures_are_checked_before_a_figure_is_cited() {
    let dir = common::Scratch::new("recaptures");
    let zero = dir.file("zero.csv", "id,occasion\nA,1\nB,2\nC,4\nD,4\nE,5\n");
    let out = stdout(&run(&[zero.to_str().unwrap()]));
    assert!(
        out.contains("No figure can be cited (5 seen): nobody was caught more than once"),
        "{out}"
    );
    assert!(!out.contains("Estimated "), "{out}");
    let o = run(&[zero.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(v["headline"][0]["n_hat"].is_null(), "{v}");

    // Two operations with 3 people met twice: Chapman, with the caution beside it.
    let mut two = String::from("id,occasion\n");
    for i in 0..40 {
        two.push_str(&format!("a{i},1\n"));
    }
    for i in 37..80 {
        two.push_str(&format!("a{i},2\n"));
    }
    let two = dir.file("two.csv", two);
    let out = stdout(&run(&[two.to_str().unwrap()]));
    assert!(
        out.contains("Caution: Few recaptures: only 3 recaptures"),
        "{out}"
    );

    // A stratum of two people, one of them met twice, beside the police register.
    let mut text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/police_operations.csv"
    ))
    .unwrap();
    text.push_str("X1,1,other,0\nX1,3,other,0\nX2,2,other,0\n");
    let tiny = dir.file("tiny.csv", text);
    let out = stdout(&run(&[tiny.to_str().unwrap()]));
    let other = out
        .split("== other ==")
        .nth(1)
        .expect("the stratum's headline");
    let other = other.split("\n\n").next().unwrap();
    assert!(
        other.contains(
            "Caution: Few recaptures: only 1 recapture (a capture of someone caught before)"
        ),
        "{other}"
    );
    let total = out.split("== Total (sum over strata) ==").nth(1).unwrap();
    assert!(total.contains("carry a caution: buyer, other"), "{total}");

    let counts = dir.file("counts.csv", "id,count\nA,1\nB,1\nC,1\nD,1\nE,2\nF,1\n");
    let out = stdout(&run(&[counts.to_str().unwrap()]));
    assert!(
        !out.contains("covariates id") && !out.contains("~ id"),
        "{out}"
    );
}
