//! The planning layer: closed forms against the simulation, the adaptive search against
//! an exhaustive grid, determinism over thread counts, and the report formats.
//!
//! `cargo test --release --test plan`

use darkfigure::plan::{
    self, Criterion, Effort, PlanSpec, Search, Visibility, closed_form, evaluate_design,
};
use darkfigure::sim::{self, builtin_estimators};

/// The two-source closed form (Robson & Regier 1964) against simulated Chapman estimates
/// on six designs: the empirical relative SE sd(N̂)/N must match √((1 − p)²/(N p²))
/// within 3 Monte-Carlo SEs. The designs have at least 100 expected recaptures so the
/// large-sample form applies (its own error is O(1/m), under 1% of the SE here).
#[test]
fn two_source_closed_form_matches_simulation() {
    let designs: [(u64, f64); 6] = [
        (1000, 0.4),
        (2000, 0.3),
        (500, 0.6),
        (5000, 0.2),
        (4000, 0.25),
        (10000, 0.1),
    ];
    let est = builtin_estimators(&["chapman".into()], 0.95).unwrap();
    for (k, &(n, p)) in designs.iter().enumerate() {
        let mut spec = PlanSpec::new(vec![2], Effort::Probability(vec![p]), vec![n]);
        spec.estimators = vec!["chapman".into()];
        spec.replicates = 4000;
        spec.seed = 11 + k as u64;
        let d = evaluate_design(&spec, &est, 2, p, None).unwrap();
        let r = &d.rows[0];
        assert_eq!(r.estimator, "Chapman");
        let cf = closed_form::two_source_precision(n as f64, p, p, 0.95).unwrap();
        let diff = (r.rel_sd.value - cf.rel_se).abs();
        assert!(
            diff < 3.0 * r.rel_sd.mcse,
            "N = {n}, p = {p}: simulated {} ± {}, closed form {}",
            r.rel_sd.value,
            r.rel_sd.mcse,
            cf.rel_se
        );
        // the Chapman estimator is nearly unbiased here: RMSE ≈ SE as well
        assert!((r.rel_rmse.value - cf.rel_se).abs() < 3.0 * r.rel_rmse.mcse + 0.002);
        // and its interval keeps its coverage
        assert!(r.coverage.value > 0.92, "{}", r.coverage.value);
        assert_eq!(r.failure.value, 0.0);
    }
}

/// Darroch's (1958) form for model Mt on four occasions against simulated Mt fits.
#[test]
fn mt_closed_form_matches_simulation() {
    let est = builtin_estimators(&["closedp:Mt".into()], 0.95).unwrap();
    for (k, &(n, p)) in [(1000u64, 0.2), (3000, 0.15), (500, 0.35)]
        .iter()
        .enumerate()
    {
        let mut spec = PlanSpec::new(vec![4], Effort::Probability(vec![p]), vec![n]);
        spec.estimators = vec!["closedp:Mt".into()];
        spec.replicates = 3000;
        spec.seed = 40 + k as u64;
        let d = evaluate_design(&spec, &est, 4, p, None).unwrap();
        let r = &d.rows[0];
        let cf = closed_form::mt_rel_se(n as f64, &[p; 4]).unwrap();
        assert!(
            (r.rel_sd.value - cf).abs() < 3.0 * r.rel_sd.mcse,
            "N = {n}, p = {p}: simulated {} ± {}, Darroch {cf}",
            r.rel_sd.value,
            r.rel_sd.mcse
        );
    }
}

/// The multiplier's delta-method form against a direct simulation of N̂ = M / P̂.
#[test]
fn multiplier_delta_method_matches_simulation() {
    use darkfigure::sim::rng::binomial;
    let big_m = 600.0; // people on the benchmark list
    for (k, &(prop, s)) in [
        (0.3, 400u64),
        (0.15, 800),
        (0.5, 200),
        (0.2, 1500),
        (0.4, 300),
    ]
    .iter()
    .enumerate()
    {
        let n_true = big_m / prop;
        let reps = 20_000u64;
        let rel: Vec<f64> = (0..reps)
            .map(|i| {
                let mut rng = darkfigure::rng::stream(77, &[k as u64, i]);
                let x = binomial(&mut rng, s, prop) as f64;
                (big_m / (x / s as f64) - n_true) / n_true
            })
            .collect();
        let mean = rel.iter().sum::<f64>() / reps as f64;
        let sd = (rel.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (reps - 1) as f64).sqrt();
        let mcse = sd / (2.0 * (reps - 1) as f64).sqrt();
        let cf = closed_form::multiplier_precision(prop, s as f64, 1.0, 0.95).unwrap();
        // the delta method drops terms of order 1/(sP): allow them beside the MC error
        let tol = 3.0 * mcse + 1.5 * cf.rel_se / (s as f64 * prop);
        assert!(
            (sd - cf.rel_se).abs() < tol,
            "P = {prop}, s = {s}: simulated {sd} ± {mcse}, delta method {}",
            cf.rel_se
        );
    }
}

fn small_spec(search: Search) -> PlanSpec {
    let mut spec = PlanSpec::new(
        vec![2, 3, 4, 5, 6],
        Effort::MetPerOperation(vec![20.0, 30.0, 40.0, 60.0, 80.0, 100.0]),
        vec![300, 600],
    );
    spec.estimators = vec!["closedp:Mt".into()];
    spec.replicates = 150;
    spec.seed = 5;
    spec.search = search;
    spec.goal.criterion = Criterion::HalfWidth {
        max: 0.2,
        quantile: 0.5,
    };
    spec
}

/// The staircase bisection finds the same least effort per number of operations, and the
/// same cheapest design, as simulating the whole grid, with fewer designs.
#[test]
fn adaptive_search_matches_exhaustive_grid() {
    let grid = plan::run_plan(&small_spec(Search::Grid), None).unwrap();
    let adaptive = plan::run_plan(&small_spec(Search::Adaptive), None).unwrap();
    assert_eq!(grid.designs.len(), 30);
    assert!(adaptive.designs.len() < 20, "{}", adaptive.designs.len());
    // the grid is monotone in effort and operations here (otherwise the comparison
    // would not be the one the search assumes)
    for f in &grid.frontier {
        for d in grid.designs.iter().filter(|d| d.operations == f.operations) {
            let expected = f.effort.is_some_and(|e| d.effort >= e);
            assert_eq!(d.meets("Mt"), expected, "{} {}", d.operations, d.effort);
        }
    }
    let ge: Vec<_> = grid.frontier.iter().map(|f| f.effort).collect();
    let ae: Vec<_> = adaptive.frontier.iter().map(|f| f.effort).collect();
    assert_eq!(ge, ae);
    assert!(adaptive.frontier.iter().all(|f| f.simulated));
    let (g, a) = (grid.answer().unwrap(), adaptive.answer().unwrap());
    assert_eq!((g.operations, g.effort), (a.operations, a.effort));
    assert_eq!(g.worst, a.worst); // common random numbers: the same simulation
    // the frontier falls with more operations, and is not flat
    let reached: Vec<f64> = ge.iter().flatten().copied().collect();
    assert!(reached.windows(2).all(|w| w[1] <= w[0]), "{ge:?}");
    assert!(
        reached.len() >= 3 && reached[0] > reached[reached.len() - 1],
        "{ge:?}"
    );

    // one effort value: bisection over the number of operations
    let one = |search| {
        let mut s = small_spec(search);
        s.effort = Effort::MetPerOperation(vec![45.0]);
        s.operations = (2..=10).collect();
        plan::run_plan(&s, None).unwrap()
    };
    let (g1, a1) = (one(Search::Grid), one(Search::Adaptive));
    assert!(a1.designs.len() <= 5, "{}", a1.designs.len());
    let (g, a) = (g1.answer().unwrap(), a1.answer().unwrap());
    assert_eq!((g.operations, g.effort), (a.operations, a.effort));
    assert!(g.operations > 2 && g.operations < 10, "{}", g.operations);
}

/// A misspecified model (Mt under heterogeneity) loses coverage as effort grows: the
/// designs meeting the goal form a band, not an upper set. The adaptive search (which
/// bisects on precision only, then steps up) still finds the grid's answer.
#[test]
fn adaptive_search_handles_coverage_falling_with_effort() {
    let run = |search| {
        let mut s = small_spec(search);
        s.effort = Effort::MetPerOperation(vec![40.0]);
        s.operations = (3..=12).collect();
        s.population = vec![150, 300];
        s.heterogeneity = Some(Visibility::top10(1.5));
        s.replicates = 200;
        s.goal.criterion = Criterion::HalfWidth {
            max: 0.25,
            quantile: 0.5,
        };
        plan::run_plan(&s, None).unwrap()
    };
    let (g, a) = (run(Search::Grid), run(Search::Adaptive));
    let meets: Vec<bool> = g.designs.iter().map(|d| d.meets("Mt")).collect();
    let first = meets.iter().position(|m| *m).expect("some design meets");
    // coverage is lost again further up
    assert!(meets[first..].iter().any(|m| !m), "{meets:?}");
    let (ga, aa) = (g.answer().unwrap(), a.answer().unwrap());
    assert_eq!(ga.operations, aa.operations);
    assert!(a.designs.len() < g.designs.len());
}

/// Same seed, same plan, on 1 and 2 threads (heterogeneity and behaviour included).
#[test]
fn same_plan_on_one_and_two_threads() {
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut s = small_spec(Search::Adaptive);
            s.heterogeneity = Some(Visibility::top10(2.0));
            s.behaviour_odds_ratio = 0.7;
            s.estimators = vec!["closedp:Mt,Mh Chao (LB)".into()];
            s.judge = Some("Mh Chao (LB)".into());
            plan::report::to_json(&plan::run_plan(&s, None).unwrap()).unwrap()
        })
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a, b);
    assert!(a.contains("Mh Chao (LB)"));
}

/// Answer first in every format; heterogeneity stated in words with its σ; JSON parses.
#[test]
fn reports_put_the_answer_first() {
    let mut s = small_spec(Search::Adaptive);
    s.heterogeneity = Some(Visibility::top10(2.0));
    s.estimators = vec!["closedp:Mh Chao (LB)".into()];
    let p = plan::run_plan(&s, None).unwrap();
    let text = plan::report::to_text(&p);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].starts_with("Answer"), "{text}");
    assert!(lines[2].contains("Mh Chao (LB)") && lines[2].contains("operations"));
    assert!(text.contains("most visible 10% are 2× as likely"), "{text}");
    let md = plan::report::to_markdown(&p);
    assert!(md.lines().nth(2).unwrap().starts_with("**Answer**"));
    let v: serde_json::Value = serde_json::from_str(&plan::report::to_json(&p).unwrap()).unwrap();
    assert!(v["answer"][0].as_str().unwrap().contains("operations"));
    assert_eq!(v["designs"].as_array().unwrap().len(), p.designs.len());
    // HTML: answer first, one precision figure per number of operations, each valid XML
    // with the target drawn, no script.
    let html = plan::report::to_html(&p).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let sel = |q: &str| scraper::Selector::parse(q).unwrap();
    let answer = doc
        .select(&sel("div.answer li"))
        .next()
        .expect("answer block");
    assert!(
        answer.text().collect::<String>().contains("operations"),
        "{html}"
    );
    let svgs: Vec<_> = doc.select(&sel("svg")).collect();
    let mut ops: Vec<usize> = p
        .designs
        .iter()
        .filter(|d| d.rows.iter().any(|r| r.criterion.value.is_finite()))
        .map(|d| d.operations)
        .collect();
    ops.sort_unstable();
    ops.dedup();
    assert!(!ops.is_empty());
    assert_eq!(
        svgs.len(),
        ops.len(),
        "one figure per number of operations with a precision to draw"
    );
    for svg in svgs {
        roxmltree::Document::parse(&svg.html()).expect("SVG parses as XML");
        assert!(svg.html().contains("target"));
    }
    assert!(!html.contains("<script"));
    // an unreachable target says so and names the closest design
    let mut s = small_spec(Search::Adaptive);
    s.goal.criterion = Criterion::HalfWidth {
        max: 0.001,
        quantile: 0.9,
    };
    let p = plan::run_plan(&s, None).unwrap();
    assert!(p.answer().is_none());
    assert!(plan::report::to_text(&p).contains("no design in the space meets the target"));
}

/// Several labels and no judge: a typed error naming them.
#[test]
fn adaptive_search_needs_a_judge_among_several_models() {
    let mut s = small_spec(Search::Adaptive);
    s.estimators = vec!["closedp:M0,Mt".into()];
    let e = plan::run_plan(&s, None).unwrap_err().to_string();
    assert!(e.contains("M0") && e.contains("Mt"), "{e}");
    // the simulation module's estimators are named as in a study file
    assert!(sim::BUILTIN_ESTIMATORS.contains(&"chapman"));
}
