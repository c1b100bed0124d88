//! The headline ("answer first", `darkfigure::recommend`) on real data sets: present,
//! finite, at least the number seen, inside its interval, with its basis named; no
//! order-dependent model among the candidates of lists; published figures checked, not
//! tuned (Kosovo: Ball et al. 2002; UK 2013: Silverman 2014).

use darkfigure::data::DataSet;
use darkfigure::data::csv_io::{self, ReadOptions};
use darkfigure::recommend::{DataKind, Headline};
use darkfigure::report::{self, AnalysisOptions};

fn fixture(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

fn read(path: &str, lists: bool, opts: &ReadOptions) -> DataSet {
    match csv_io::read_str(&fixture(path), path, opts).expect("fixture reads") {
        DataSet::Histories {
            data,
            layout,
            occasion_order,
            notes,
            file_rows,
        } => DataSet::Histories {
            data: data.with_lists(lists),
            layout,
            occasion_order,
            notes,
            file_rows,
        },
        other => other,
    }
}

fn headlines(path: &str, lists: bool, open: bool) -> Vec<Headline> {
    let ro = ReadOptions {
        count_column: path.contains("immigrant").then(|| "capture".to_string()),
        ..Default::default()
    };
    let data = read(path, lists, &ro);
    let opts = AnalysisOptions {
        source: path.into(),
        open,
        ..Default::default()
    };
    let r = report::analyse(&data, &opts).expect("analysis runs");
    assert!(!r.headline.is_empty(), "{path}: no headline");
    // JSON carries the same headline array, first.
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("valid JSON");
    let json = v["headline"].as_array().expect("headline array");
    assert_eq!(json.len(), r.headline.len(), "{path}");
    // The data block says what its columns are.
    let expected = match r.headline[0].kind {
        DataKind::Lists => Some("lists"),
        DataKind::Occasions | DataKind::Open => Some("occasions"),
        DataKind::Counts => None,
    };
    assert_eq!(v["data"]["sources"].as_str(), expected, "{path}");
    for (h, j) in r.headline.iter().zip(json) {
        for key in [
            "stratum",
            "observed",
            "n_hat",
            "se",
            "interval",
            "dark_figure",
            "basis",
            "models",
            "sensitivity",
            "warnings",
        ] {
            assert!(j.get(key).is_some(), "{path}: headline JSON lacks `{key}`");
        }
        assert_eq!(j["n_hat"].as_f64(), Some(h.n_hat), "{path}");
        assert!(j["interval"]["method"].is_string(), "{path}");
    }
    r.headline
}

fn check(path: &str, h: &Headline) {
    let n = h.observed as f64;
    assert!(
        h.n_hat.is_finite() && h.se.is_finite(),
        "{path}: {:?} not finite: {h:#?}",
        h.stratum
    );
    assert!(h.n_hat >= n, "{path}: N̂ {} below the {n} seen", h.n_hat);
    assert!(
        h.interval.lower >= n - 1e-9 && h.interval.contains(h.n_hat),
        "{path}: interval {:?} vs N̂ {}",
        h.interval,
        h.n_hat
    );
    assert!((h.dark_figure - (h.n_hat - n)).abs() < 1e-9 * h.n_hat.max(1.0));
    assert!(!h.basis.is_empty(), "{path}: no basis");
    let weights: f64 = h.candidates.iter().map(|c| c.weight).sum();
    if !h.candidates.is_empty() {
        assert!(
            (weights - 1.0).abs() < 1e-9,
            "{path}: weights sum to {weights}"
        );
    }
    // Excluded candidates never carry weight.
    for c in &h.candidates {
        if c.excluded.is_some() {
            assert_eq!(c.weight, 0.0, "{path}: excluded {} has weight", c.model);
        }
    }
}

#[test]
fn headline_on_occasions_hare_and_hiv() {
    for path in ["closed/hare.csv", "closed/HIV.csv"] {
        let hs = headlines(path, false, false);
        assert_eq!(hs.len(), 1);
        assert_eq!(hs[0].stratum, None);
        assert_eq!(hs[0].kind, DataKind::Occasions);
        check(path, &hs[0]);
    }
}

#[test]
fn kosovo_as_lists_is_near_the_published_figure() {
    let hs = headlines("recommend/kosovo.csv", true, false);
    let h = &hs[0];
    check("kosovo", h);
    assert_eq!(h.kind, DataKind::Lists);
    // Ball et al. (2002): 10,356 (9,002 to 12,122). The headline is a BIC model average,
    // so it need not equal the single best model; it must land in the published range.
    assert!((9_002.0..=12_122.0).contains(&h.n_hat), "{}", h.n_hat);
    assert!(h.interval.contains(10_356.0), "{:?}", h.interval);
    assert!(h.basis.contains("BIC"), "{}", h.basis);
}

#[test]
fn uk_and_netherlands_lists() {
    let hs = headlines("sparse/UKdat.csv", true, false);
    check("UKdat", &hs[0]);
    // Silverman (2014): 10,000 to 13,000 victims of modern slavery in the UK in 2013.
    assert!(
        (10_000.0..=13_000.0).contains(&hs[0].n_hat),
        "{}",
        hs[0].n_hat
    );
    let hs = headlines("sparse/Ned.csv", true, false);
    check("Ned", &hs[0]);
}

/// 46614 -> "46,614".
fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The hint of a headline whose columns were read as occasions that would fit as lists.
fn lists_hint(h: &Headline) -> Option<&String> {
    h.warnings.iter().find(|w| w.contains("run with --lists"))
}

#[test]
fn list_data_read_as_occasions_name_the_list_figure() {
    // Ned read as occasions: Mtb wins with p ~ 1e-39 and gives 8,793; as lists a model
    // that fits gives 46,513. The occasion headline must say so, with the list figure.
    for path in ["sparse/Ned.csv", "sparse/UKdat.csv", "closed/diabetes.csv"] {
        let as_lists = headlines(path, true, false);
        assert!(lists_hint(&as_lists[0]).is_none(), "{path}: hint on lists");
        let as_occasions = headlines(path, false, false);
        let h = &as_occasions[0];
        assert_eq!(h.kind, DataKind::Occasions);
        let hint = lists_hint(h).unwrap_or_else(|| panic!("{path}: no hint in {:?}", h.warnings));
        let best = as_lists[0]
            .candidates
            .iter()
            .find(|c| c.delta_ic == Some(0.0))
            .expect("a best list model");
        let figure = thousands(as_lists[0].n_hat.round() as u64);
        assert!(hint.contains(&figure), "{path}: {hint} lacks {figure}");
        assert!(
            hint.contains(&best.model),
            "{path}: {hint} lacks {}",
            best.model
        );
        assert!(best.gof_p.is_some_and(|p| p >= 0.05), "{path}");
        // Ned and UKdat are sparse tables (most of their cells hold fewer than 5
        // people): the list model's p is said to be a rough guide; diabetes' is not.
        assert_eq!(
            hint.contains("a rough guide only: the table is sparse"),
            !path.contains("diabetes"),
            "{path}: {hint}"
        );
    }
    // Occasions that fit (hare) or lists that fit no better (HIV): no hint.
    for path in ["closed/hare.csv", "closed/HIV.csv"] {
        let hs = headlines(path, false, false);
        assert!(lists_hint(&hs[0]).is_none(), "{path}: {:?}", hs[0].warnings);
    }
}

/// The hint of a headline whose occasions fit as an open population.
fn open_hint(h: &Headline) -> Option<&String> {
    h.warnings.iter().find(|w| w.contains("run with --open"))
}

#[test]
fn open_population_read_as_closed_names_the_open_figure() {
    // Bunting (8 years of mist-netting) read as closed: Mth Gamma3.5 wins with p ~ 1e-36
    // and the figure is ~29,800; openp's up fits (p = 0.745) and gives ~3,008 ever
    // present. The closed headline must say so, with the open figure and model.
    let open = headlines("open/bunting.csv", false, true);
    assert!(open_hint(&open[0]).is_none(), "hint on an open run");
    let closed = headlines("open/bunting.csv", false, false);
    let h = &closed[0];
    assert_eq!(h.kind, DataKind::Occasions);
    assert!(h.n_hat > 20_000.0, "{}", h.n_hat);
    let hint = open_hint(h).unwrap_or_else(|| panic!("no hint in {:?}", h.warnings));
    let figure = thousands(open[0].n_hat.round() as u64);
    assert!(hint.contains(&figure), "{hint} lacks {figure}");
    assert!(hint.contains("openp up (ever present)"), "{hint}");
    assert!(hint.contains("p = 0.745"), "{hint}");
    // beside the figure, after the lists hint, not among the checks
    let text = darkfigure::report::analyse(
        &read("open/bunting.csv", false, &ReadOptions::default()),
        &AnalysisOptions::default(),
    )
    .unwrap()
    .to_text();
    let cautions: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Caution: "))
        .collect();
    assert_eq!(cautions.len(), 2, "{text}");
    assert!(cautions[1].contains("run with --open"), "{text}");
    assert!(
        !text.contains("! The population was taken as closed"),
        "{text}"
    );
    // Occasions that fit (hare), and three occasions (too few to tell): no hint.
    for path in ["closed/hare.csv", "sparse/Artificial_3.csv"] {
        let hs = headlines(path, false, false);
        assert!(open_hint(&hs[0]).is_none(), "{path}: {:?}", hs[0].warnings);
    }
}

#[test]
fn lists_have_no_order_dependent_candidate() {
    for path in [
        "recommend/kosovo.csv",
        "sparse/UKdat.csv",
        "closed/HIV.csv",
        "sparse/Western.csv",
    ] {
        for h in headlines(path, true, false) {
            for c in &h.candidates {
                for m in [
                    "Mb",
                    "Mbh",
                    "Mtb",
                    "Schnabel",
                    "Schumacher-Eschmeyer",
                    "Bailey",
                ] {
                    assert_ne!(c.model, m, "{path}: order-dependent {m} on lists");
                }
            }
        }
    }
}

#[test]
fn counts_and_open_headlines() {
    let hs = headlines("counts/netherlandsimmigrant.csv", false, false);
    assert_eq!(hs[0].kind, DataKind::Counts);
    check("netherlandsimmigrant", &hs[0]);
    let hs = headlines("open/bunting.csv", false, true);
    assert_eq!(hs[0].kind, DataKind::Open);
    check("bunting", &hs[0]);
}

#[test]
fn police_example_strata_subgroup_and_total() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    let text = std::fs::read_to_string(root.join("police_operations.csv")).unwrap();
    let truth = std::fs::read_to_string(root.join("police_operations_truth.csv")).unwrap();
    let data = csv_io::read_str(&text, "police", &ReadOptions::default()).unwrap();
    let opts = AnalysisOptions {
        truth: report::truth_from_csv(&truth, "truth", true).unwrap(),
        ..Default::default()
    };
    let mut r = report::analyse(&data, &opts).unwrap();
    let sub = csv_io::read_str_where(&text, "police", &ReadOptions::default(), "minor").unwrap();
    report::add_subgroup(&mut r, &sub, "minor", &opts).unwrap();
    let names: Vec<Option<&str>> = r.headline.iter().map(|h| h.stratum.as_deref()).collect();
    assert_eq!(
        names,
        [
            Some("buyer"),
            Some("seller"),
            Some("seller: minor"),
            Some("total")
        ]
    );
    for h in &r.headline {
        check("police", h);
        assert!(h.truth.is_some(), "{:?} has no known truth", h.stratum);
    }
    // The total is the sum of the stratum headlines (not of the subgroup).
    let total = &r.headline[3];
    assert!((total.n_hat - (r.headline[0].n_hat + r.headline[1].n_hat)).abs() < 1e-9);
    let se = (r.headline[0].se.powi(2) + r.headline[1].se.powi(2)).sqrt();
    assert!((total.se - se).abs() < 1e-9);
    assert_eq!(total.truth, Some(600));
    // The buyers' interval is in doubt (behaviour beside heterogeneity), and the total
    // that adds it says so beside its own figure; the sellers' carries no caution.
    let doubt = |h: &Headline| {
        h.warnings
            .iter()
            .any(|w| w.starts_with("A behavioural response is also plausible"))
    };
    assert!(doubt(&r.headline[0]));
    assert!(!doubt(&r.headline[1]));
    assert_eq!(
        total.warnings[0],
        "This total adds stratum figures that carry a caution: buyer (see the Caution beside \
         it); the total inherits it."
    );
    let text = r.to_text();
    let total_block = &text[text.find("== Total").unwrap()..];
    assert!(
        total_block
            .lines()
            .any(|l| l.starts_with("Caution: This total adds stratum figures")),
        "{total_block}"
    );
}

#[test]
fn a_degenerate_fit_is_never_printed_as_a_number() {
    use darkfigure::recommend::degenerate_reason;
    use darkfigure::{Estimate, ci};
    let e = Estimate::new(
        "closedp.t",
        "Mb",
        -16_535.0,
        10.0,
        ci::log_normal(100.0, 10.0, 50.0, 0.95),
        50,
    );
    assert!(degenerate_reason(&e, 16.0).unwrap().contains("negative"));
    let e = Estimate::new("x", "y", 40.0, 1.0, ci::wald(40.0, 1.0, 50.0, 0.95), 50);
    assert!(degenerate_reason(&e, 16.0).unwrap().contains("below"));
    let e = Estimate::new(
        "x",
        "y",
        60.0,
        f64::NAN,
        ci::wald(60.0, 1.0, 50.0, 0.95),
        50,
    );
    assert!(degenerate_reason(&e, 16.0).is_some());
    let e = Estimate::new("x", "y", 60.0, 3.0, ci::wald(60.0, 3.0, 50.0, 0.95), 50);
    assert!(degenerate_reason(&e, 16.0).is_none());
}

/// A model whose interval leaves out its own N̂ (mvole closedp.0 M0: 171.3 beside a
/// profile-likelihood interval of 171.0 to 171.0, as Rcapture reports it) takes no share
/// of the figure to cite, whatever its AIC; the reason names the interval.
#[test]
fn a_model_whose_interval_leaves_out_its_estimate_is_excluded() {
    use darkfigure::estimate::{Interval, IntervalMethod};
    use darkfigure::recommend::{Criterion, Offer, Rule, recommend};
    use darkfigure::{Estimate, FitStats, ci};
    let est = |m: &str, n: f64, interval: Interval, aic: f64| {
        Estimate::new("closedp.t", m, n, 2.0, interval, 100).with_fit(FitStats {
            deviance: 5.0,
            df: 4,
            aic,
            bic: aic,
        })
    };
    let broken = Interval {
        lower: 100.0,
        upper: 100.0,
        level: 0.95,
        method: IntervalMethod::ProfileLikelihood,
    };
    let offers = vec![
        Offer::new("closedp.t", est("M0", 101.3, broken, 10.0)),
        Offer::new(
            "closedp.t",
            est("Mt", 120.0, ci::log_normal(120.0, 8.0, 100.0, 0.95), 30.0),
        ),
    ];
    let h = recommend(
        None,
        100,
        offers,
        &Rule {
            kind: DataKind::Occasions,
            criterion: Criterion::Aic,
            level: 0.95,
            gof_reliable: true,
            preferred: None,
            candidates_text: "two models".into(),
            recaptures: None,
        },
        None,
    );
    assert!((h.n_hat - 120.0).abs() < 1e-9, "{}", h.n_hat);
    let m0 = h.candidates.iter().find(|c| c.model == "M0").unwrap();
    let why = m0.excluded.as_deref().unwrap();
    assert!(
        why.contains("100.0 to 100.0") && why.contains("leaves out"),
        "{why}"
    );
}

/// The dark figure reads at the precision of N̂: whole people beside a whole N̂ (mvole:
/// "212 in all … about 41 (15 to 83)", not "about 41.4 (15.5 to 82.6)"), and the three
/// figures add up to what was seen.
#[test]
fn dark_figure_is_whole_beside_a_whole_estimate() {
    let data = read("closed/mvole.csv", false, &ReadOptions::default());
    let opts = AnalysisOptions {
        source: "mvole.csv".into(),
        ..Default::default()
    };
    let r = report::analyse(&data, &opts).expect("analysis runs");
    let text = r.to_text();
    let line = text
        .lines()
        .find(|l| l.starts_with("Estimated "))
        .expect("headline sentence");
    assert!(
        line.contains("Estimated 212 in all (95% interval 186 to 254")
            && line.contains("171 were seen, so about 41 (15 to 83) were never recorded"),
        "{line}"
    );
}

/// A best model that fits poorly, with no other reading that fits, is said beside the
/// figure (duck as closed: Mth Gamma3.5, p ≈ 3.6e-32), once, not only among the checks;
/// where another reading fits (bunting), that reading's Caution says it, and the poor fit
/// stays among the checks.
#[test]
fn poor_fit_without_another_reading_is_said_beside_the_figure() {
    let text_of = |path: &str| {
        report::analyse(
            &read(path, false, &ReadOptions::default()),
            &AnalysisOptions::default(),
        )
        .unwrap()
        .to_text()
    };
    let duck = text_of("open/duck.csv");
    let cautions: Vec<&str> = duck
        .lines()
        .filter(|l| l.starts_with("Caution: "))
        .collect();
    assert_eq!(cautions.len(), 1, "{duck}");
    assert!(
        cautions[0].starts_with("Caution: The best model (Mth Gamma3.5) fits poorly"),
        "{duck}"
    );
    assert_eq!(duck.matches("fits poorly").count(), 1, "{duck}");
    // the JSON names the same cautions beside the headline
    let json: serde_json::Value = serde_json::from_str(
        &report::analyse(
            &read("open/duck.csv", false, &ReadOptions::default()),
            &AnalysisOptions::default(),
        )
        .unwrap()
        .to_json(),
    )
    .unwrap();
    let c = json["headline"][0]["cautions"]
        .as_array()
        .expect("cautions");
    assert_eq!(c.len(), 1);
    assert!(
        c[0].as_str()
            .unwrap()
            .starts_with("The best model (Mth Gamma3.5) fits poorly")
    );
    let bunting = text_of("open/bunting.csv");
    assert!(
        bunting
            .lines()
            .any(|l| l.starts_with("  ! The best model (Mth Gamma3.5) fits poorly")),
        "{bunting}"
    );
    // occasions that fit: no caution of fit or of another reading (hare's one caution is
    // the doubt about the interval where behaviour is plausible beside heterogeneity)
    let hare = text_of("closed/hare.csv");
    let cautions: Vec<&str> = hare
        .lines()
        .filter(|l| l.starts_with("Caution: "))
        .collect();
    assert!(
        cautions
            .iter()
            .all(|c| c.starts_with("Caution: A behavioural response is also plausible")),
        "{hare}"
    );
    // that doubt is beside the figure, not repeated among the checks
    assert_eq!(
        hare.matches("A behavioural response is also plausible")
            .count(),
        cautions.len()
    );
}

/// The range names only models that could be cited, and the compact table shows them.
/// Carcass submissions (single-source counts): the range used to run from closedp.0's M0
/// (4,702, the same model as `ztpoisson ~ 1`, which the table excluded for failing its
/// goodness of fit at p ≈ 1e-85), a row hidden past the table's 25 rows under a note that
/// called it "ΔIC > 10". The closedp.0 rows of counts now carry their deviance test, the
/// closed-form alternatives come before the excluded models, and the note says why rows
/// are left out.
#[test]
fn the_range_names_models_the_table_shows() {
    let hs = headlines("counts/carcassubmission.csv", false, false);
    let h = &hs[0];
    check("carcassubmission", h);
    let m0 = h
        .candidates
        .iter()
        .find(|c| c.model == "M0")
        .expect("closedp.0 M0 among the candidates");
    assert!(m0.gof_p.is_some_and(|p| p < 1e-10), "{m0:?}");
    assert!(
        m0.excluded
            .as_deref()
            .is_some_and(|r| r.contains("fails goodness of fit")),
        "{m0:?}"
    );
    let s = h.sensitivity.as_ref().expect("a range");
    for m in &s.models {
        let c = h.candidates.iter().find(|c| &c.model == m).unwrap();
        assert!(c.excluded.is_none(), "range names excluded {m}");
    }
    let data = read(
        "counts/carcassubmission.csv",
        false,
        &ReadOptions::default(),
    );
    let r = report::analyse(&data, &AnalysisOptions::default()).unwrap();
    let text = r.to_text();
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("-- All data: candidates and checks"))
        .take_while(|l| !l.starts_with("  !"))
        .collect();
    for m in &s.models {
        assert!(
            table.iter().any(|l| l.starts_with(&format!("{m} "))),
            "{m} is in the range but not in the table:\n{text}"
        );
    }
    let note = table.last().unwrap();
    assert!(
        note.starts_with("(") && note.contains("past the first 25 rows") && !note.contains("ΔIC"),
        "{note}"
    );
}

/// A closed-form alternative that passes its goodness of fit (farm submissions: closedp.0's
/// Mh Chao, p = 0.55) does not exclude every weighted model that fails its own: a figure
/// is still cited (ztnegbin with covariates, with the poor fit beside it), while the
/// closed-form alternatives that fail (M0, p < 1e-300) leave the range.
#[test]
fn a_fitting_alternative_leaves_a_figure_to_cite() {
    let hs = headlines("counts/farmsubmission.csv", false, false);
    let h = &hs[0];
    check("farmsubmission", h);
    assert!(h.basis.starts_with("ztnegbin ~ "), "{}", h.basis);
    let by = |m: &str| h.candidates.iter().find(|c| c.model == m).unwrap();
    assert!(by("Mh Chao (LB)").excluded.is_none());
    assert!(
        by("M0")
            .excluded
            .as_deref()
            .is_some_and(|r| r == "fails goodness of fit (p < 1e-300) where other models pass"),
        "{:?}",
        by("M0")
    );
    assert!(
        h.warnings
            .iter()
            .any(|w| darkfigure::recommend::is_poor_fit(w)),
        "{:?}",
        h.warnings
    );
}

/// The rule's check of recaptures: none, no figure (the data bound N from below only);
/// 1 to 6 on occasions or lists, a caution beside the figure quoting the small-study
/// simulation; 7 or more, or counts, no caution.
#[test]
fn recaptures_decide_between_no_figure_a_caution_and_none() {
    use darkfigure::recommend::{
        Criterion, FEW_RECAPTURES_START, Offer, Rule, is_interval_doubt, recommend,
    };
    use darkfigure::{Estimate, FitStats, ci};
    let est = |m: &str, n: f64, aic: f64| {
        Estimate::new(
            "closedp.t",
            m,
            n,
            4.0,
            ci::log_normal(n, 4.0, 20.0, 0.95),
            20,
        )
        .with_fit(FitStats {
            deviance: 5.0,
            df: 4,
            aic,
            bic: aic,
        })
    };
    let headline = |kind: DataKind, recaptures: Option<u64>| {
        let offers = vec![
            Offer::new("closedp.t", est("M0", 24.0, 30.0)),
            Offer::new("closedp.t", est("Mt", 26.0, 31.0)),
        ];
        let rule = Rule {
            kind,
            criterion: Criterion::Aic,
            level: 0.95,
            gof_reliable: true,
            preferred: None,
            candidates_text: "two models".into(),
            recaptures,
        };
        recommend(None, 20, offers, &rule, None)
    };
    let few = |h: &Headline| {
        h.warnings
            .iter()
            .filter(|w| w.starts_with(FEW_RECAPTURES_START))
            .cloned()
            .collect::<Vec<_>>()
    };

    for kind in [DataKind::Occasions, DataKind::Lists, DataKind::Counts] {
        let h = headline(kind, Some(0));
        assert!(h.n_hat.is_nan() && h.interval.lower.is_nan(), "{kind:?}");
        assert!(
            h.warnings[0].starts_with("No figure can be cited: nobody"),
            "{:?}",
            h.warnings
        );
        assert!(
            h.warnings[0].contains("at least 20 exist"),
            "{:?}",
            h.warnings
        );
        assert!(h.basis.starts_with("no recaptures"), "{}", h.basis);
        assert!(
            h.candidates
                .iter()
                .all(|c| c.weight == 0.0 && c.excluded.is_some())
        );
        assert!(h.to_estimate().is_err());
    }
    let lists = headline(DataKind::Lists, Some(0));
    assert!(lists.warnings[0].contains("nobody is on more than one list"));

    let h = headline(DataKind::Occasions, Some(3));
    assert!(
        (h.n_hat - 24.0).abs() < 1.5,
        "the figure itself is unchanged: {}",
        h.n_hat
    );
    let w = few(&h);
    assert_eq!(w.len(), 1, "{:?}", h.warnings);
    assert!(is_interval_doubt(&w[0]), "shown beside the figure");
    assert!(
        w[0].contains("only 3 recaptures") && w[0].contains("fewer than 7"),
        "{}",
        w[0]
    );
    let one = few(&headline(DataKind::Lists, Some(1)));
    assert!(
        one[0].contains("only 1 appearance of someone already on another list"),
        "{one:?}"
    );
    assert!(few(&headline(DataKind::Occasions, Some(7))).is_empty());
    assert!(few(&headline(DataKind::Counts, Some(3))).is_empty());
    assert!(few(&headline(DataKind::Occasions, None)).is_empty());
    assert!(headline(DataKind::Occasions, None).n_hat.is_finite());
}

/// A near-census: the dark figure's log-normal interval never reaches 0, so its lower
/// limit a fraction of a person above the number seen is put at the number seen (N is a
/// whole number, and "nobody missed" must stay inside); a limit a person or more above it
/// stays.
#[test]
fn a_near_census_interval_starts_at_the_number_seen() {
    use darkfigure::recommend::{Criterion, Offer, Rule, recommend, whole_people};
    use darkfigure::{Estimate, FitStats, ci};
    let raw = ci::log_normal(20.05, 0.3, 20.0, 0.95);
    assert!(raw.lower > 20.0 && raw.lower < 21.0, "{raw:?}");
    let w = whole_people(raw, 20.0);
    assert_eq!((w.lower, w.upper), (20.0, raw.upper));
    let wide = ci::log_normal(40.0, 8.0, 20.0, 0.95);
    assert!(wide.lower > 21.0);
    assert_eq!(whole_people(wide, 20.0), wide);
    let e = Estimate::new("closedp.t", "M0", 20.05, 0.3, raw, 20).with_fit(FitStats {
        deviance: 5.0,
        df: 4,
        aic: 30.0,
        bic: 30.0,
    });
    let rule = Rule {
        kind: DataKind::Occasions,
        criterion: Criterion::Aic,
        level: 0.95,
        gof_reliable: true,
        preferred: None,
        candidates_text: "one model".into(),
        recaptures: Some(40),
    };
    let h = recommend(None, 20, vec![Offer::new("closedp.t", e)], &rule, Some(20));
    assert_eq!(h.interval.lower, 20.0);
    assert_eq!(h.dark_figure_interval.lower, 0.0);
    assert!(h.interval.contains(20.0));
}

/// On occasions the forms of one Otis structure share the weight their best form would
/// carry alone, and the figure is the weighted mean of ln N̂ with Buckland's SE on that
/// scale: written out here for three models of equal AIC, two of them forms of Mth.
#[test]
fn forms_of_one_structure_share_its_weight_and_the_average_is_on_the_log_scale() {
    use darkfigure::recommend::{Criterion, Offer, Rule, recommend};
    use darkfigure::{Estimate, FitStats, ci};
    let est = |m: &str, n: f64, se: f64, aic: f64| {
        Estimate::new(
            "closedp.t",
            m,
            n,
            se,
            ci::log_normal(n, se, 100.0, 0.95),
            100,
        )
        .with_fit(FitStats {
            deviance: 5.0,
            df: 4,
            aic,
            bic: aic,
        })
    };
    let rule = |kind| Rule {
        kind,
        criterion: Criterion::Aic,
        level: 0.95,
        gof_reliable: true,
        preferred: None,
        candidates_text: "three models".into(),
        recaptures: None,
    };
    let models = [
        ("Mth Chao (LB)", 150.0, 10.0),
        ("Mth Darroch", 200.0, 30.0),
        ("Mtbh Normal", 130.0, 12.0),
    ];
    let offers = || {
        models
            .iter()
            .map(|&(m, n, se)| Offer::new("closedp.t", est(m, n, se, 50.0)))
            .collect::<Vec<_>>()
    };
    let h = recommend(None, 100, offers(), &rule(DataKind::Occasions), None);
    let w = |m: &str| h.candidates.iter().find(|c| c.model == m).unwrap().weight;
    // Mth's two forms share one share: 1/4 each, Mtbh Normal 1/2.
    assert!((w("Mth Chao (LB)") - 0.25).abs() < 1e-12);
    assert!((w("Mth Darroch") - 0.25).abs() < 1e-12);
    assert!((w("Mtbh Normal") - 0.5).abs() < 1e-12);
    let ws = [0.25, 0.25, 0.5];
    let lbar: f64 = models.iter().zip(ws).map(|(m, w)| w * m.1.ln()).sum();
    let sl: f64 = models
        .iter()
        .zip(ws)
        .map(|(m, w)| w * ((m.2 / m.1).powi(2) + (m.1.ln() - lbar).powi(2)).sqrt())
        .sum();
    let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
    assert!(
        rel(h.n_hat, lbar.exp()) < 1e-12,
        "{} {}",
        h.n_hat,
        lbar.exp()
    );
    assert!(rel(h.se, lbar.exp() * sl) < 1e-12);
    assert!(
        h.basis.contains("share its best form's weight"),
        "{}",
        h.basis
    );
    // On lists every model is its own: equal AIC, equal weights, no sharing in the basis.
    let l = recommend(None, 100, offers(), &rule(DataKind::Lists), None);
    assert!(
        l.candidates
            .iter()
            .all(|c| (c.weight - 1.0 / 3.0).abs() < 1e-12)
    );
    assert!(!l.basis.contains("share"), "{}", l.basis);
    // A structure whose best form fits better carries more weight, however many forms
    // the other has: Mth's best form 2 AIC units behind Mtbh Normal.
    let mut o = offers();
    o[0] = Offer::new("closedp.t", est("Mth Chao (LB)", 150.0, 10.0, 52.0));
    o[1] = Offer::new("closedp.t", est("Mth Darroch", 200.0, 30.0, 52.0));
    let h = recommend(None, 100, o, &rule(DataKind::Occasions), None);
    let w = |m: &str| h.candidates.iter().find(|c| c.model == m).unwrap().weight;
    assert!(w("Mtbh Normal") > w("Mth Chao (LB)") + w("Mth Darroch"));
}
