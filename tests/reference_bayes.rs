//! Reference tests of the `bayes` module against the R packages dga 2.0.2 (deterministic,
//! 1e-6 relative) and LCMCR 0.4.14 (stochastic: within Monte-Carlo tolerance).
//!
//! Fixtures in `tests/fixtures/bayes/` (see the README there): `dga.json` and `LCMCR.json`
//! are unchanged copies of `shared/reference/`, `graphs{3,4,5}.csv` of dga's bundled graph
//! lists, `kosovo_aggregate_table.csv` and `UKdat.csv` of the data sets.

use darkfigure::bayes::graphs::{DecomposableGraph, decomposable_graphs};
use darkfigure::bayes::{DgaParams, NGrid, PriorN, bma};
use darkfigure::data::ListTable;
use darkfigure::data::csv_io::{DataSet, ReadOptions, read_str};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Tolerance for dga's deterministic figures.
const RTOL: f64 = 1e-6;

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/bayes/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn close(a: f64, b: f64, rtol: f64, what: &str) {
    assert!(
        (a - b).abs() <= rtol * b.abs().max(1e-300),
        "{what}: got {a}, reference {b} (rel. diff {:.2e})",
        ((a - b) / b).abs()
    );
}

/// Cliques and separators of one graph, as 1-based vertex lists.
type Lists = (Vec<Vec<usize>>, Vec<Vec<usize>>);

/// dga's graph list `graphs{p}` read from the long-format CSV export.
fn shipped_graphs(p: usize) -> Vec<DecomposableGraph> {
    let text = fixture(&format!("graphs{p}.csv"));
    let mut by_graph: BTreeMap<usize, Lists> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').map(|s| s.trim_matches('"')).collect();
        let g: usize = f[0].parse().unwrap();
        let members: Vec<usize> = f[3].split(' ').map(|v| v.parse().unwrap()).collect();
        let e = by_graph.entry(g).or_default();
        if f[1] == "C" {
            e.0.push(members);
        } else {
            e.1.push(members);
        }
    }
    by_graph
        .values()
        .map(|(c, s)| DecomposableGraph::from_lists(p, c, s).unwrap())
        .collect()
}

#[test]
fn enumeration_matches_dga_graph_lists() {
    for (p, n) in [(3, 8), (4, 61), (5, 822)] {
        let ours = decomposable_graphs(p).unwrap();
        let theirs = shipped_graphs(p);
        assert_eq!(ours.len(), n);
        assert_eq!(theirs.len(), n);
        let a: HashSet<_> = ours.into_iter().collect();
        let b: HashSet<_> = theirs.into_iter().collect();
        assert_eq!(
            a, b,
            "p = {p}: cliques and separators differ from dga's graphs{p}"
        );
    }
}

#[test]
fn enumeration_p6() {
    assert_eq!(decomposable_graphs(6).unwrap().len(), 18_154);
}

/// p = 7: 617,675 decomposable graphs out of 2^21 (about 0.5 s in release mode).
/// `cargo test --release --test reference_bayes -- --ignored enumeration_p7`
#[test]
#[ignore]
fn enumeration_p7() {
    assert_eq!(decomposable_graphs(7).unwrap().len(), 617_675);
}

fn table_from_y(y: &Value) -> ListTable {
    let y: Vec<u64> = y
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as u64)
        .collect();
    let p = y.len().trailing_zeros() as usize;
    let names = (1..=p).map(|j| format!("L{j}")).collect();
    ListTable::new(names, y).unwrap()
}

/// Every figure of every `dga.json` result: posterior mean, SD, mode, median, 2.5/5/95/97.5%
/// quantiles, mass at the grid end and the top five models (cliques, probability, mean N
/// given the model), run with dga's own graph lists (so the model indices compare) and with
/// ours.
#[test]
fn dga_bma_matches_every_reference_figure() {
    let reference = json("dga.json");
    let results = reference["results"].as_object().unwrap();
    assert_eq!(results.len(), 7);
    for (key, r) in results {
        let table = table_from_y(&r["Y_vector_firstindex_fastest"]);
        let p = table.n_lists();
        let range = r["Nmissing_range"].as_array().unwrap();
        let (from, to) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
        let prior = if r["logprior"].as_str().unwrap().starts_with("custom") {
            let a = r["prior"]["a"].as_f64().unwrap();
            let b = r["prior"]["b"].as_f64().unwrap();
            use statrs::function::gamma::ln_gamma;
            PriorN::Function(Arc::new(move |n: f64| {
                n * b.ln() - (n + a) * (1.0 + b).ln() + ln_gamma(n + a)
                    - ln_gamma(n + 1.0)
                    - ln_gamma(a)
            }))
        } else {
            PriorN::Scale
        };
        let params = DgaParams {
            delta: Some(r["delta"].as_f64().unwrap()),
            grid: NGrid::Range { from, to },
            prior,
            log_model_weights: None,
            level: 0.95,
        };
        let shipped = shipped_graphs(p);
        let fits = [
            (
                "dga's graphs",
                bma(&table, Some(&shipped), &params).unwrap(),
            ),
            ("our graphs", bma(&table, None, &params).unwrap()),
        ];
        for (which, fit) in &fits {
            let w = format!("{key} ({which})");
            assert_eq!(fit.models.len() as u64, r["n_models"].as_u64().unwrap());
            let q = |p: f64| {
                fit.posterior
                    .quantiles
                    .iter()
                    .find(|x| (x.0 - p).abs() < 1e-12)
                    .unwrap()
                    .1
            };
            let f = |k: &str| r[k].as_f64().unwrap();
            close(
                fit.posterior.mean,
                f("post_mean_N"),
                RTOL,
                &format!("{w} mean"),
            );
            close(fit.posterior.sd, f("post_sd_N"), RTOL, &format!("{w} sd"));
            close(fit.mode, f("post_mode_N"), RTOL, &format!("{w} mode"));
            close(
                fit.posterior.median,
                f("post_median_N"),
                RTOL,
                &format!("{w} median"),
            );
            close(q(0.025), f("post_q025_N"), RTOL, &format!("{w} q025"));
            close(q(0.05), f("post_q05_N"), RTOL, &format!("{w} q05"));
            close(q(0.95), f("post_q95_N"), RTOL, &format!("{w} q95"));
            close(q(0.975), f("post_q975_N"), RTOL, &format!("{w} q975"));
            close(fit.estimate.interval.lower, f("post_q025_N"), RTOL, &w);
            close(fit.estimate.interval.upper, f("post_q975_N"), RTOL, &w);
            close(
                fit.mass_at_upper_end,
                f("mass_at_upper_end_of_grid"),
                RTOL,
                &format!("{w} mass at grid end"),
            );
            let top = fit.top_models(5);
            for (i, m) in r["top_models"].as_array().unwrap().iter().enumerate() {
                let ref_label = m["cliques"].as_str().unwrap();
                let ref_graph = &shipped[m["index"].as_u64().unwrap() as usize - 1];
                let ours = fit
                    .models
                    .iter()
                    .find(|x| x.cliques == ref_graph.label())
                    .unwrap_or_else(|| panic!("{w}: model {ref_label} missing"));
                let pm = m["posterior_prob"].as_f64().unwrap();
                close(ours.probability, pm, RTOL, &format!("{w} P({ref_label})"));
                close(
                    ours.mean_n,
                    m["post_mean_N_given_model"].as_f64().unwrap(),
                    RTOL,
                    &format!("{w} E[N | {ref_label}]"),
                );
                assert_eq!(top[i].cliques, ref_graph.label(), "{w}: rank {i}");
                if *which == "dga's graphs" {
                    assert_eq!(top[i].index + 1, m["index"].as_u64().unwrap() as usize);
                }
            }
        }
        // Ned_5 is grid-limited: the flag must say so; the others are not.
        let flagged = !fits[0].1.estimate.warnings.is_empty();
        assert_eq!(flagged, key.starts_with("Ned_5"), "{key}: grid warning");
    }
}

// ---------------------------------------------------------------------------------------
// LCMCR (stochastic)

use darkfigure::bayes::{LcmcrParams, lcmcr};

fn kosovo() -> ListTable {
    let text = fixture("kosovo_aggregate_table.csv");
    let mut counts = vec![0u64; 16];
    for line in text.lines().skip(1) {
        let f: Vec<u64> = line
            .split(',')
            .map(|s| s.trim_matches('"').parse().unwrap())
            .collect();
        let code = (0..4).fold(0usize, |c, j| c | ((f[j] as usize) << j));
        counts[code] += f[4];
    }
    let names = ["EXH", "ABA", "OSCE", "HRW"].map(String::from).to_vec();
    ListTable::new(names, counts).unwrap()
}

fn ukdat() -> ListTable {
    let text = fixture("UKdat.csv");
    match read_str(&text, "UKdat", &ReadOptions::default()).unwrap() {
        DataSet::Histories { data, .. } => ListTable::from_histories(&data).unwrap(),
        _ => panic!("UKdat: not histories"),
    }
}

/// The settings of a `LCMCR.json` run, for each of 4 chains (pooled: the Monte-Carlo
/// error of a single chain's 2.5% quantile on Kosovo is about 5%).
fn run_params(run: &Value, seed: u64) -> LcmcrParams {
    let u = |k: &str| run[k].as_u64().unwrap() as usize;
    LcmcrParams {
        k: u("K"),
        a_alpha: run["a_alpha"].as_f64().unwrap(),
        b_alpha: run["b_alpha"].as_f64().unwrap(),
        burnin: u("burnin"),
        samples: u("samples"),
        thinning: u("thinning"),
        chains: 4,
        seed,
        ..Default::default()
    }
}

/// Median within 3% and 95% interval ends within 10% of the pooled LCMCR reference runs
/// (the mean over the seeds recorded in `LCMCR.json`), for each of several seeds of ours
/// whose 4 chains mixed (R̂ ≤ 1.01, ESS ≥ 400); a run that did not mix must be flagged,
/// and at least half the seeds must mix.
/// Tolerances from the issue: LCMCR's own runs differ by up to 0.7% in the median and 6%
/// in the upper limit from seed to seed (13280.8 against 14071.4 on Kosovo).
fn check_against_lcmcr(table: &ListTable, runs: &[&str], seeds: &[u64]) {
    let reference = json("LCMCR.json");
    let r: Vec<&Value> = runs.iter().map(|k| &reference["runs"][*k]).collect();
    let pooled = |f: &dyn Fn(&Value) -> f64| r.iter().map(|v| f(v)).sum::<f64>() / r.len() as f64;
    let med = pooled(&|v| v["N_median"].as_f64().unwrap());
    let lo = pooled(&|v| v["N_95CI"][0].as_f64().unwrap());
    let hi = pooled(&|v| v["N_95CI"][1].as_f64().unwrap());
    let p = run_params(r[0], 0);
    assert_eq!(p.samples * p.thinning + p.burnin, 110_000);
    eprintln!(
        "{}: pooled reference median {med}, 95% [{lo}, {hi}]",
        runs[0]
    );
    let mut matched = 0;
    for &seed in seeds {
        let fit = lcmcr(table, &LcmcrParams { seed, ..p }).unwrap();
        let e = &fit.estimate;
        let what = format!("{} seed {seed}", runs[0]);
        eprintln!(
            "{what}: median {}, 95% {}",
            fit.posterior.median, e.interval
        );
        if e.warnings.is_empty() {
            close(fit.posterior.median, med, 0.03, &format!("{what} median"));
            close(e.interval.lower, lo, 0.10, &format!("{what} lower"));
            close(e.interval.upper, hi, 0.10, &format!("{what} upper"));
            matched += 1;
        } else {
            // UKdat's posterior has a second, small-N mode (α ≈ 10, N ≈ 5,300) that chains
            // fall into and leave only rarely; the run must then be flagged by R̂.
            let d = fit.posterior.diagnostics.unwrap();
            eprintln!("{what}: flagged, R̂ {:.3}", d.n.rhat);
            assert!(d.n.rhat > 1.01 || d.n.ess_bulk < 400.0 || d.n.ess_tail < 400.0);
        }
    }
    assert!(
        matched * 2 >= seeds.len(),
        "{}: only {matched} of {} seeds mixed",
        runs[0],
        seeds.len()
    );
}

#[test]
fn lcmcr_kosovo_matches_reference_runs() {
    check_against_lcmcr(
        &kosovo(),
        &[
            "kosovo_K10_seed12345",
            "kosovo_K10_seed2024",
            "kosovo_K10_seed7",
            "kosovo_K10_seed12345_long",
        ],
        &[1, 2],
    );
}

/// UKdat (6 lists): the posterior has a second, small-N mode (α ≈ 10, N ≈ 5,300) that chains
/// enter and leave rarely, so at LCMCR's settings some of our 4-chain runs are flagged (R̂ up
/// to 1.4 over seeds 1–4 while developing) and their 2.5% quantiles fall far below LCMCR's
/// single run, which did not visit that mode. Checked: every run whose chains mixed (no
/// flag) has the median within 3% and the interval ends within 10% of LCMCR's run, and at
/// least one of three seeds mixes.
#[test]
fn lcmcr_ukdat_agrees_with_reference_run_when_mixed() {
    let reference = json("LCMCR.json");
    let r = &reference["runs"]["UKdat_K10_seed12345"];
    let p = run_params(r, 0);
    let med = r["N_median"].as_f64().unwrap();
    let (lo, hi) = (
        r["N_95CI"][0].as_f64().unwrap(),
        r["N_95CI"][1].as_f64().unwrap(),
    );
    let mut mixed = 0;
    for seed in [1, 2, 3] {
        let fit = lcmcr(&ukdat(), &LcmcrParams { seed, ..p }).unwrap();
        let d = fit.posterior.diagnostics.unwrap();
        eprintln!(
            "UKdat seed {seed}: median {}, {}, R̂ {:.3}, flagged {}",
            fit.posterior.median,
            fit.estimate.interval,
            d.n.rhat,
            fit.estimate.is_flagged()
        );
        if fit.estimate.is_flagged() {
            continue;
        }
        let w = format!("UKdat seed {seed}");
        close(fit.posterior.median, med, 0.03, &format!("{w} median"));
        close(fit.estimate.interval.lower, lo, 0.10, &format!("{w} lower"));
        close(fit.estimate.interval.upper, hi, 0.10, &format!("{w} upper"));
        mixed += 1;
    }
    assert!(mixed >= 1, "no seed of three mixed on UKdat");
}

/// Same seed: identical draws on 1 and 2 threads (4 chains); another seed: other draws.
#[test]
fn lcmcr_identical_on_one_and_two_threads() {
    let p = LcmcrParams {
        k: 10,
        burnin: 500,
        samples: 200,
        thinning: 5,
        chains: 4,
        seed: 99,
        ..Default::default()
    };
    let t = kosovo();
    let run = |threads: usize, p: &LcmcrParams| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| lcmcr(&t, p).unwrap())
    };
    let a = run(1, &p);
    let b = run(2, &p);
    assert_eq!(a.draws, b.draws);
    assert_eq!(a.alpha_draws, b.alpha_draws);
    assert_eq!(a.estimate, b.estimate);
    let c = run(2, &LcmcrParams { seed: 100, ..p });
    assert_ne!(a.draws, c.draws);
    // chains differ from each other
    assert_ne!(a.draws[0], a.draws[1]);
}

// ---------------------------------------------------------------------------------------
// Recovery on simulated latent-class data, and the simulation estimators

use darkfigure::sim::{self, Study};

/// Coverage of LCMCR's 95% credible interval over 200 simulated replicates with known N.
fn lcmcr_coverage(scenario: &str, params: LcmcrParams) -> (f64, f64, f64, f64) {
    let study = Study::from_json(&format!(
        r#"{{"name": "lc", "replicates": 200, "seed": 2026,
            "scenarios": [{{"name": "s", "model": {{"kind": "closed", "output": "lists",
            {scenario} }}}}]}}"#
    ))
    .unwrap();
    let est: Vec<Box<dyn sim::SimEstimator>> = vec![Box::new(sim::Lcmcr { params })];
    let t = sim::run(&study, &est, &sim::RunOptions::default())
        .unwrap()
        .metrics();
    let row = &t.rows[0];
    assert_eq!(row.estimates, 200);
    let cov = row.intervals.iter().find(|i| i.primary).unwrap();
    eprintln!(
        "LCMCR coverage {:.3} ± {:.3}, rel. bias {:.3}, flagged {:.2}",
        cov.coverage, cov.coverage_mcse, row.rel_bias, row.flagged_share
    );
    (
        cov.coverage,
        cov.coverage_mcse,
        row.rel_bias,
        row.flagged_share,
    )
}

/// Recovery when the lists are independent and homogeneous (the one-class case of the
/// latent-class model): N = 2000, 4 lists, p = 0.3, at the simulation settings of
/// `sim::Lcmcr::new`. The 95% credible interval must cover N in at least 90% of 200
/// replicates (Monte-Carlo SE of a 95% coverage over 200 replicates: 1.5 points); measured
/// 0.95 on 60 replicates while developing.
///
/// `cargo test --release --test reference_bayes -- --ignored lcmcr_recovers_n --nocapture`
/// (about 10 s of CPU).
#[test]
#[ignore]
fn lcmcr_recovers_n_one_class() {
    let (cov, _, bias, _) = lcmcr_coverage(
        r#""occasions": 4, "strata": [{"n": 2000, "p": 0.3}]"#,
        sim::Lcmcr::new(0.95).params,
    );
    assert!(cov >= 0.90, "coverage {cov}");
    assert!(bias.abs() < 0.02, "relative bias {bias}");
}

/// KNOWN SHORTFALL (fails today): two latent classes (N = 2000; capture probabilities
/// 0.35–0.5 on 6 lists in the visible 70%, logit − 1 in the hidden 30%) — data from the
/// latent-class model itself. Target: 95% credible interval covers N in ≥ 90% of 200
/// replicates. Measured with K = 10, 2 chains of 5,000 + 5,000 sweeps: coverage 0.43 ±
/// 0.035, relative bias −2.9%, 87% of runs flagged as not mixed (4 lists: 0.37, −4.4%).
/// The same sampler agrees with LCMCR on Kosovo and UKdat and covers in the one-class case,
/// so the suspects are mixing at these chain lengths and the prior on α pulling towards
/// fewer classes; not resolved.
///
/// `cargo test --release --test reference_bayes -- --ignored lcmcr_two_class --nocapture`
/// (several minutes of CPU).
#[test]
#[ignore]
fn lcmcr_two_class_recovery_known_shortfall() {
    let (cov, _, bias, _) = lcmcr_coverage(
        r#""occasions": 6, "strata": [{"n": 2000, "p": [0.45, 0.4, 0.5, 0.35, 0.4, 0.45],
            "heterogeneity": {"kind": "mixture", "weights": [0.7, 0.3], "shifts": [0.0, -1.0]}}]"#,
        LcmcrParams {
            k: 10,
            burnin: 5_000,
            samples: 1_000,
            thinning: 5,
            chains: 2,
            seed: 11,
            ..Default::default()
        },
    );
    assert!(cov >= 0.90, "coverage {cov}");
    assert!(bias.abs() < 0.05, "relative bias {bias}");
}

/// dga and LCMCR run as simulation estimators on a list-dependence scenario beside the
/// log-linear models; dga's interval is credible and covers N in most replicates.
#[test]
fn bayesian_simulation_estimators_on_list_dependence() {
    let study = Study::from_json(
        r#"{"name": "dep", "replicates": 20, "seed": 7,
            "estimators": ["dga", "lcmcr", "sparse-stepwise"],
            "scenarios": [{"name": "dep", "model": {"kind": "closed", "occasions": 4,
            "output": "lists", "strata": [{"n": 1000, "p": 0.3}],
            "dependence": [{"lists": [1, 2], "log_odds_ratio": 1.0}]}}]}"#,
    )
    .unwrap();
    let t = sim::run_study(&study, None).unwrap();
    for name in ["dga BMA", "LCMCR (K = 10)"] {
        let row = t.rows.iter().find(|r| r.estimator == name).unwrap();
        assert_eq!(row.estimates, 20, "{name}");
        let cov = row.intervals.iter().find(|i| i.primary).unwrap();
        assert_eq!(cov.method, "credible");
        eprintln!(
            "{name}: coverage {}, rel. bias {:.3}",
            cov.coverage, row.rel_bias
        );
    }
    let dga = t.rows.iter().find(|r| r.estimator == "dga BMA").unwrap();
    assert!(dga.intervals[0].coverage >= 0.8);
    assert!(dga.rel_bias.abs() < 0.1);
}

/// `estimate --bayes`: the report gets a Bayesian section whose JSON rows carry a credible
/// interval and a `posterior` object (mean, median, quantiles; diagnostics for LCMCR).
#[test]
fn report_bayes_section_in_json() {
    use darkfigure::report::{self, AnalysisOptions, Format};
    let text = fixture("kosovo_aggregate_table.csv");
    let data = read_str(&text, "kosovo", &ReadOptions::default()).unwrap();
    let r = report::analyse(
        &data,
        &AnalysisOptions {
            bayes: true,
            ..Default::default()
        },
    )
    .unwrap();
    let j: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
    let rows: Vec<&Value> = j["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["posterior"].is_object())
        .collect();
    assert_eq!(rows.len(), 2);
    for e in &rows {
        assert_eq!(e["interval"]["method"], "credible");
        assert!(e["posterior"]["median"].as_f64().unwrap() > 4400.0);
        assert!(e["posterior"]["quantiles"].as_array().unwrap().len() >= 7);
    }
    assert_eq!(rows[0]["method"], "dga");
    assert_eq!(rows[0]["n_hat"].as_f64().unwrap(), 12595.0);
    assert!(rows[1]["posterior"]["diagnostics"]["n"]["rhat"].is_number());
    assert!(r.to_text().contains("Bayesian multiple-systems estimation"));
}
