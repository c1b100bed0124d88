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
/// enter and leave rarely, so at LCMCR's settings many of our 4-chain runs are flagged
/// (R̂ > 1.01) and their 2.5% quantiles fall far below LCMCR's single run, which did not
/// visit that mode. Checked: at least one of six seeds mixes (no flag), and the draws of the
/// runs that mixed, pooled, have their median within 3% and their interval ends within 10%
/// of LCMCR's run (the issue's criterion, over several seeds).
///
/// Why pooled and not run by run: at these settings a single run's median moves by about
/// 10% (SD) from seed to seed. Over 160 single chains at LCMCR's settings the pooled median
/// is 22,290 with the sampler before the December 2026 speed-up and 22,190 with it
/// (means of the chain medians agree within their errors; Kosovo: 10,409 and 10,417), about
/// 4% below LCMCR's one run (23,185), i.e. 0.4 of a single run's SD: LCMCR's figure carries
/// that Monte-Carlo error too. Run by run, a mixed seed may land 3.5% below it (seed 4
/// now); the pooled runs land 2.8% below.
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
    let mut pooled: Vec<f64> = Vec::new();
    let mut mixed = 0;
    for seed in 1..=6 {
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
        pooled.extend(fit.draws.iter().flatten());
        mixed += 1;
    }
    assert!(mixed >= 1, "no seed of six mixed on UKdat");
    pooled.sort_by(|a, b| a.total_cmp(b));
    let w = format!("UKdat, {mixed} mixed runs pooled");
    eprintln!(
        "{w}: median {}, 95% [{}, {}]",
        q7(&pooled, 0.5),
        q7(&pooled, 0.025),
        q7(&pooled, 0.975)
    );
    close(q7(&pooled, 0.5), med, 0.03, &format!("{w} median"));
    close(q7(&pooled, 0.025), lo, 0.10, &format!("{w} lower"));
    close(q7(&pooled, 0.975), hi, 0.10, &format!("{w} upper"));
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

/// Chains that have not mixed continue, `samples` draws at a time, up to `max_samples`:
/// the draws are those of one longer run with the same seed, and the run stops as soon as
/// the diagnostics of N pass (or at the cap, still warning).
#[test]
fn lcmcr_continues_unmixed_chains_as_one_longer_run() {
    let t = kosovo();
    // 4 chains × 50 draws, thinning 2: far from 400 ESS, so every extension is taken
    let short = LcmcrParams {
        k: 10,
        burnin: 200,
        samples: 50,
        thinning: 2,
        chains: 4,
        seed: 7,
        ..Default::default()
    };
    let a = lcmcr(&t, &short).unwrap();
    assert_eq!(a.draws[0].len(), 50);
    assert!(!a.posterior.diagnostics.unwrap().n.ok());
    let extended = lcmcr(
        &t,
        &LcmcrParams {
            max_samples: 120,
            ..short
        },
    )
    .unwrap();
    let long = lcmcr(
        &t,
        &LcmcrParams {
            samples: 120,
            ..short
        },
    )
    .unwrap();
    // 50 + 50 + 20 draws, identical to one run of 120
    assert_eq!(extended.draws, long.draws);
    assert_eq!(extended.alpha_draws, long.alpha_draws);
    assert_eq!(extended.posterior.diagnostics.unwrap().draws_per_chain, 120);
    assert!(
        extended
            .estimate
            .warnings
            .iter()
            .any(|w| w.to_string().contains("not mixed after 440 sweeps"))
    );
    // the report's settings on Kosovo: 1,000 draws do not mix, 2,000 do, and it stops there
    let p = darkfigure::report::bayes::report_lcmcr_params(0.95);
    let fit = lcmcr(&t, &p).unwrap();
    let d = fit.posterior.diagnostics.unwrap();
    assert_eq!(d.draws_per_chain, 2_000);
    assert!(d.n.ok(), "{d:?}");
    assert!(fit.estimate.warnings.is_empty());
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

// ---------------------------------------------------------------------------------------
// Recovery on data drawn from the latent-class model itself, and checks of the sampler
// against posteriors computed independently of it.

/// Draws a list table of `n` units from a latent-class model: class weights `w`, capture
/// probabilities `lam[class][list]`; the all-zero cell is dropped.
fn latent_class_table(seed: u64, n: usize, w: &[f64], lam: &[&[f64]]) -> ListTable {
    use rand::RngExt;
    let mut r = darkfigure::rng::stream(seed, &[]);
    let j = lam[0].len();
    let mut counts = vec![0u64; 1 << j];
    for _ in 0..n {
        let u: f64 = r.random::<f64>();
        let mut acc = 0.0;
        let mut k = w.len() - 1;
        for (i, wi) in w.iter().enumerate() {
            acc += wi;
            if u < acc {
                k = i;
                break;
            }
        }
        let mut code = 0;
        for (jj, &l) in lam[k].iter().enumerate() {
            if r.random::<f64>() < l {
                code |= 1 << jj;
            }
        }
        counts[code] += 1;
    }
    counts[0] = 0;
    ListTable::new((1..=j).map(|i| format!("L{i}")).collect(), counts).unwrap()
}

/// The simulation scenario of Manrique-Vallier (2016, §5): N = 2000, 5 lists, two latent
/// classes — 90% of units rarely listed (capture probabilities 0.033–0.132), 10% often
/// listed (0.66–0.99). Strong heterogeneity that log-linear models miss, yet N identified:
/// the rare class is seen 29% of the time, so its size is well estimated from the
/// pattern of its sightings.
const MV_WEIGHTS: [f64; 2] = [0.9, 0.1];
const MV_LAMBDA: [&[f64]; 2] = [
    &[0.033, 0.033, 0.099, 0.132, 0.033],
    &[0.66, 0.825, 0.759, 0.99, 0.693],
];

/// Coverage of the 95% credible interval over `reps` replicates of the MV 2016 scenario,
/// LCMCR's prior (K = 10, α ~ Gamma(0.25, 0.25), λ ~ Beta(1, 1)), 2 chains of 5,000
/// burn-in + 1,000 × 5 sweeps. Returns (coverage, its Monte-Carlo SE, mean relative error
/// of the median, share of runs flagged as not mixed).
fn mv_coverage(reps: u64) -> (f64, f64, f64, f64) {
    use rayon::prelude::*;
    let n = 2000.0;
    let rows: Vec<(bool, f64, bool)> = (0..reps)
        .into_par_iter()
        .map(|rep| {
            let t = latent_class_table(1000 + rep, 2000, &MV_WEIGHTS, &MV_LAMBDA);
            let p = LcmcrParams {
                k: 10,
                burnin: 5_000,
                samples: 1_000,
                thinning: 5,
                chains: 2,
                seed: 77 + rep,
                ..Default::default()
            };
            let f = lcmcr(&t, &p).unwrap();
            let iv = f.estimate.interval;
            let flagged = !f.estimate.warnings.is_empty();
            (
                iv.lower <= n && n <= iv.upper,
                f.posterior.median / n - 1.0,
                flagged,
            )
        })
        .collect();
    let m = reps as f64;
    let cov = rows.iter().filter(|r| r.0).count() as f64 / m;
    let bias = rows.iter().map(|r| r.1).sum::<f64>() / m;
    let flagged = rows.iter().filter(|r| r.2).count() as f64 / m;
    let mcse = (cov * (1.0 - cov) / m).sqrt();
    eprintln!(
        "LCMCR on the MV 2016 scenario, {reps} replicates: coverage {cov:.3} ± {mcse:.3}, \
         relative error of the median {bias:+.3}, flagged {flagged:.2}"
    );
    (cov, mcse, bias, flagged)
}

/// Recovery, 200 replicates of the MV 2016 scenario: the 95% credible interval covers
/// N = 2000 in at least 90% of them. Measured 0.925 ± 0.019 (185 of 200; the Monte-Carlo
/// SE of a coverage near 95% over 200 replicates is 1.5 points), relative error of the
/// median −3.9% (the posterior of N is right-skewed), 74% of runs flagged as short of
/// ESS 400 at these chain lengths.
///
/// `cargo test --release --test reference_bayes -- --ignored lcmcr_recovers_n_latent_classes --nocapture`
/// (about 30 s of CPU).
#[test]
#[ignore]
fn lcmcr_recovers_n_latent_classes() {
    let (cov, _, bias, _) = mv_coverage(200);
    assert!(cov >= 0.90, "coverage {cov}");
    assert!(bias.abs() < 0.08, "relative error {bias}");
}

/// The fast version of [`lcmcr_recovers_n_latent_classes`]: 40 replicates (Monte-Carlo SE
/// 3.4 points near 95%), coverage at least 85% (measured 38 of 40).
#[test]
fn lcmcr_recovers_n_latent_classes_fast() {
    let (cov, _, _, _) = mv_coverage(40);
    assert!(cov >= 0.85, "coverage {cov}");
}

fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

/// Quantiles (type 7) of sorted draws.
fn q7(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// With one class the model is M_t with Beta(1, 1) capture probabilities and the 1/N
/// prior, whose posterior of N is known in closed form up to a constant:
///
/// ```text
/// p(N | x) ∝ (1/N) · N! / (N − n)! · Π_j B(1 + n_j, 1 + N − n_j)
/// ```
///
/// The sampler (K = 1, 4 chains × 20,000 draws) matches its mean and 2.5/50/97.5%
/// quantiles, computed on the grid n..n + 20,000, within Monte-Carlo error (posterior SD
/// ≈ 45; tolerances 3 for the mean, 6 for the quantiles: a few Monte-Carlo SEs).
#[test]
fn lcmcr_one_class_matches_exact_posterior() {
    let t = latent_class_table(5, 2000, &[1.0], &[&[0.3, 0.25, 0.35, 0.2]]);
    let n = t.observed() as f64;
    let nj: Vec<f64> = (0..4)
        .map(|jj| {
            t.counts()
                .iter()
                .enumerate()
                .filter(|(c, _)| c >> jj & 1 == 1)
                .map(|(_, &v)| v as f64)
                .sum()
        })
        .collect();
    let grid: Vec<(f64, f64)> = (0..20_000)
        .map(|i| {
            let nn = n + i as f64;
            let mut v = -nn.ln() + ln_gamma(nn + 1.0) - ln_gamma(nn - n + 1.0);
            for &m in &nj {
                v += ln_gamma(1.0 + m) + ln_gamma(1.0 + nn - m) - ln_gamma(2.0 + nn);
            }
            (nn, v)
        })
        .collect();
    let mx = grid.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    let tot: f64 = grid.iter().map(|x| (x.1 - mx).exp()).sum();
    let mut cum = 0.0;
    let mut mean = 0.0;
    let mut exact_q = [f64::NAN; 3];
    for &(nn, v) in &grid {
        let p = (v - mx).exp() / tot;
        mean += nn * p;
        let before = cum;
        cum += p;
        for (q, pr) in exact_q.iter_mut().zip([0.025, 0.5, 0.975]) {
            if before < pr && cum >= pr {
                *q = nn;
            }
        }
    }
    let p = LcmcrParams {
        k: 1,
        burnin: 1_000,
        samples: 20_000,
        thinning: 1,
        chains: 4,
        seed: 3,
        ..Default::default()
    };
    let f = lcmcr(&t, &p).unwrap();
    let mut all: Vec<f64> = f.draws.iter().flatten().copied().collect();
    all.sort_by(|a, b| a.total_cmp(b));
    eprintln!(
        "K = 1: exact mean {mean:.2}, quantiles {exact_q:?}; sampler mean {:.2}, \
         quantiles {:?}",
        f.posterior.mean,
        [0.025, 0.5, 0.975].map(|p| q7(&all, p))
    );
    assert!((f.posterior.mean - mean).abs() < 3.0);
    for (e, pr) in exact_q.iter().zip([0.025, 0.5, 0.975]) {
        assert!((q7(&all, pr) - e).abs() <= 6.0, "quantile {pr}: exact {e}");
    }
}

/// An independent random-walk Metropolis sampler of the K = 2 model (LCMCR's truncated
/// stick-breaking prior: π_1 = V ~ Beta(1, α), α ~ Gamma(0.25, 0.25), λ ~ Beta(1, 1),
/// p(N) ∝ 1/N) on the marginal likelihood of the table — no data augmentation, no class
/// allocations:
///
/// ```text
/// p(N, λ, V, α | x) ∝ (1/N) · N! / (N − n)! · p_0^(N − n) · Π_h p_h^(x_h) · priors,
/// p_h = Σ_k π_k Π_j λ_jk^(h_j) (1 − λ_jk)^(1 − h_j)
/// ```
///
/// Returns the draws of N after a fifth of the iterations as burn-in.
fn metropolis_k2(t: &ListTable, iters: usize, seed: u64) -> Vec<f64> {
    use rand::RngExt;
    let j = t.n_lists();
    let cells: Vec<(usize, f64)> = t
        .counts()
        .iter()
        .enumerate()
        .filter(|(c, v)| *c > 0 && **v > 0)
        .map(|(c, &v)| (c, v as f64))
        .collect();
    let n: f64 = cells.iter().map(|c| c.1).sum();
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    // θ: logit λ (2j), logit V, ln α
    let np = 2 * j + 2;
    let log_post = |nn: f64, th: &[f64]| -> f64 {
        let v = sig(th[2 * j]);
        let alpha = th[2 * j + 1].exp();
        let w = [v, 1.0 - v];
        let cell = |code: usize| -> f64 {
            (0..2)
                .map(|k| {
                    (0..j).fold(w[k], |acc, jj| {
                        let l = sig(th[k * j + jj]);
                        acc * if code >> jj & 1 == 1 { l } else { 1.0 - l }
                    })
                })
                .sum()
        };
        let mut lp: f64 = cells.iter().map(|&(c, x)| x * cell(c).ln()).sum();
        lp += (nn - n) * cell(0).ln() - nn.ln() + ln_gamma(nn + 1.0) - ln_gamma(nn - n + 1.0);
        for &x in &th[..2 * j] {
            let l = sig(x);
            lp += l.ln() + (1.0 - l).ln(); // uniform λ, logit Jacobian
        }
        lp += alpha.ln() + (alpha - 1.0) * (1.0 - v).ln() + v.ln() + (1.0 - v).ln();
        lp += (0.25 - 1.0) * alpha.ln() - 0.25 * alpha + alpha.ln();
        lp
    };
    let mut r = darkfigure::rng::stream(seed, &[]);
    let mut normal = move || -> (f64, f64) {
        let u1: f64 = r.random::<f64>();
        let u2: f64 = r.random::<f64>();
        let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (z, r.random::<f64>())
    };
    let mut th = vec![0.0; np];
    for jj in 0..j {
        th[jj] = 0.5;
        th[j + jj] = -1.0;
    }
    let mut nn = (n * 1.1).round();
    let mut cur = log_post(nn, &th);
    let mut step = vec![0.3; np + 1];
    step[np] = (n * 0.03).max(3.0);
    let mut acc = vec![0usize; np + 1];
    let burn = iters / 5;
    let mut out = Vec::with_capacity(iters - burn);
    for it in 0..iters {
        for i in 0..=np {
            let (z, u) = normal();
            let (old_th, old_n) = (if i < np { th[i] } else { 0.0 }, nn);
            if i < np {
                th[i] += step[i] * z;
            } else {
                nn += (step[np] * z).round();
                if nn < n {
                    nn = old_n;
                    continue;
                }
            }
            let prop = log_post(nn, &th);
            if u.ln() < prop - cur {
                cur = prop;
                acc[i] += 1;
            } else if i < np {
                th[i] = old_th;
            } else {
                nn = old_n;
            }
        }
        if it < burn && (it + 1) % 200 == 0 {
            for i in 0..=np {
                let a = acc[i] as f64 / 200.0;
                step[i] *= if a > 0.35 {
                    1.3
                } else if a < 0.2 {
                    0.7
                } else {
                    1.0
                };
                acc[i] = 0;
            }
            step[np] = step[np].max(1.0);
        }
        if it >= burn {
            out.push(nn);
        }
    }
    out
}

/// The Gibbs sampler with K = 2 against [`metropolis_k2`] on two data sets: 4 lists,
/// two classes with crossed list patterns (N = 600), and 6 lists, two classes that differ
/// by a logit shift of 1 on every list (N = 2000). Medians agree within 0.3% and the
/// 2.5%/97.5% quantiles within 1% (measured: medians within 0.2%, interval ends within
/// 0.7%).
///
/// The second data set is one where the posterior — of either sampler — excludes the true
/// N = 2000 (95% interval about 1910–1985): with classes this weakly separated the data
/// hardly tell heterogeneity from dependence, and the posterior sits near the one-class
/// answer. That is the model at a weakly identified truth, not a sampler fault, and why
/// the recovery test uses the scenario of Manrique-Vallier (2016) instead.
///
/// The second data set's Metropolis chain runs 1.2 million iterations: at 300,000 its
/// 97.5% quantile carried about 1% of Monte-Carlo error (1,993, against 1,975 from 40
/// Gibbs chains of either sampler and 1,985 at 1.2 million).
///
/// `cargo test --release --test reference_bayes -- --ignored lcmcr_two_classes_matches_metropolis --nocapture`
/// (about 3 minutes of CPU).
#[test]
#[ignore]
fn lcmcr_two_classes_matches_metropolis() {
    let crossed: [&[f64]; 2] = [&[0.7, 0.6, 0.3, 0.4], &[0.2, 0.3, 0.6, 0.1]];
    let shifted: [&[f64]; 2] = [
        &[0.45, 0.4, 0.5, 0.35, 0.4, 0.45],
        &[0.23, 0.2, 0.27, 0.16, 0.2, 0.23],
    ];
    for (t, iters) in [
        (latent_class_table(42, 600, &[0.5, 0.5], &crossed), 300_000),
        (
            latent_class_table(1013, 2000, &[0.7, 0.3], &shifted),
            1_200_000,
        ),
    ] {
        let mut mh = metropolis_k2(&t, iters, 9);
        mh.sort_by(|a, b| a.total_cmp(b));
        let p = LcmcrParams {
            k: 2,
            burnin: 5_000,
            samples: 50_000,
            thinning: 2,
            chains: 4,
            seed: 3,
            ..Default::default()
        };
        let f = lcmcr(&t, &p).unwrap();
        let mut gibbs: Vec<f64> = f.draws.iter().flatten().copied().collect();
        gibbs.sort_by(|a, b| a.total_cmp(b));
        let qs = [0.025, 0.5, 0.975];
        let (a, b) = (qs.map(|p| q7(&mh, p)), qs.map(|p| q7(&gibbs, p)));
        eprintln!("observed {}: Metropolis {a:?}, Gibbs {b:?}", t.observed());
        assert!((a[1] / b[1] - 1.0).abs() < 0.003);
        assert!((a[0] / b[0] - 1.0).abs() < 0.01 && (a[2] / b[2] - 1.0).abs() < 0.01);
    }
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
    // The headline shows both posteriors as a cross-check (not averaged in) and flags a
    // converged median more than DISAGREE_FACTOR away from it, or unmixed chains.
    use darkfigure::report::BayesFlag;
    let (checks, flags) = r.bayes_cross_check();
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[0].method, "dga");
    assert_eq!(checks[0].median, 12595.0);
    let h = r.headline[0].n_hat;
    eprintln!("headline {h}; cross-check {checks:?}; flags {flags:?}");
    for c in &checks {
        let factor = c.median.max(h) / c.median.min(h);
        let flagged = flags
            .iter()
            .any(|f| matches!(f, BayesFlag::Disagrees { method, .. } if method == &c.method));
        assert_eq!(
            flagged,
            c.converged && factor > darkfigure::recommend::DISAGREE_FACTOR,
            "{c:?}"
        );
    }
    let text = r.to_text();
    assert!(text.contains("Bayesian cross-check (not in the average): dga 12,595 (95% CrI"));
    for f in &flags {
        assert!(text.contains(&f.to_string()));
    }
    // Without --bayes there is nothing to cross-check.
    let plain = report::analyse(&data, &AnalysisOptions::default()).unwrap();
    assert!(plain.bayes_cross_check().0.is_empty());
    assert!(!plain.to_text().contains("Bayesian cross-check"));
}

/// `NGrid::Auto` looks at a grid far too short on every 8th point only: the grid it picks,
/// and the fit on it, are those of doubling with the full grid at every step (the
/// smallest doubling of max(10 n, 1000) whose top 5% holds at most 1e-6 of the posterior).
#[test]
fn dga_auto_grid_is_the_smallest_full_grid_that_passes() {
    let uk5 = {
        let p = format!(
            "{}/tests/fixtures/sparse/UKdat_5.csv",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(p).unwrap();
        match read_str(&text, "UKdat_5", &ReadOptions::default()).unwrap() {
            DataSet::Histories { data, .. } => ListTable::from_histories(&data).unwrap(),
            _ => panic!("UKdat_5: not histories"),
        }
    };
    for (name, t) in [("Kosovo", kosovo()), ("UKdat_5", uk5)] {
        let graphs = decomposable_graphs(t.n_lists()).unwrap();
        let auto = bma(&t, Some(&graphs), &DgaParams::default()).unwrap();
        let n = t.observed();
        let upper = *auto.n_grid.last().unwrap() as u64 - n;
        let full = |to: u64| {
            bma(
                &t,
                Some(&graphs),
                &DgaParams {
                    grid: NGrid::Range { from: 0, to },
                    ..Default::default()
                },
            )
            .unwrap()
        };
        let exact = full(upper);
        assert_eq!(auto.estimate.n_hat, exact.estimate.n_hat, "{name}");
        assert_eq!(auto.posterior_n, exact.posterior_n, "{name}");
        assert!(exact.tail_mass <= 1e-6, "{name}: {}", exact.tail_mass);
        let start = (10 * n).max(1000);
        assert!(
            upper >= start && (upper / start).is_power_of_two(),
            "{name}: {upper}"
        );
        if upper > start {
            assert!(
                full(upper / 2).tail_mass > 1e-6,
                "{name}: {upper} not the smallest"
            );
        }
    }
}

/// `estimate --bayes` on stratified data (the embedded police register: buyers and
/// sellers): each stratum gets its own posteriors beside its own headline, on its own
/// random stream, and the total gets the posterior of the sum of the strata's N (dga's
/// pmfs convolved, LCMCR's draws added), beside the total of the headline; the same on 1
/// and 2 threads.
#[test]
fn report_bayes_by_stratum_and_for_the_total() {
    use darkfigure::report::{self, AnalysisOptions, Format};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/police_operations.csv"
    );
    let input = std::fs::read_to_string(path).unwrap();
    let data = read_str(&input, "police", &ReadOptions::default()).unwrap();
    let opts = AnalysisOptions {
        bayes: true,
        ..Default::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| report::analyse(&data, &opts).unwrap())
    };
    let r = run(2);
    assert_eq!(
        r.render(Format::Json),
        run(1).render(Format::Json),
        "thread count changed the report"
    );
    let bayes: Vec<_> = r
        .sections
        .iter()
        .filter(|s| s.title.starts_with("Bayesian"))
        .collect();
    let strata: Vec<Option<&str>> = bayes.iter().map(|s| s.stratum.as_deref()).collect();
    assert_eq!(
        strata,
        [Some("buyer"), Some("seller"), Some(report::SUMMED)],
        "one section per stratum and one for the total, no pooled one"
    );
    let post = |s: usize, row: usize| bayes[s].rows[row].posterior.clone().unwrap();
    for row in 0..2 {
        let (a, b, t) = (post(0, row), post(1, row), post(2, row));
        // The mean of a sum is the sum of the means (LCMCR: 4 × 1000 draws each, added
        // draw by draw; dga: the convolution, trimmed of 1e-12 at either end).
        assert!(
            (t.mean - a.mean - b.mean).abs() < 1e-6 * t.mean,
            "row {row}: {} vs {} + {}",
            t.mean,
            a.mean,
            b.mean
        );
        assert!(t.median > a.median + b.median - 3.0 * t.sd);
        assert!(t.sd * t.sd <= 1.2 * (a.sd * a.sd + b.sd * b.sd));
    }
    // The strata's chains differ: their own seeds.
    let seeds: Vec<&String> = bayes[..2]
        .iter()
        .flat_map(|s| s.notes.iter().filter(|n| n.starts_with("LCMCR:")))
        .collect();
    assert!(
        seeds[0].contains("seed 1)") && seeds[1].contains("seed 2)"),
        "{seeds:?}"
    );
    // Beside each headline, its own cross-check; the total's is the default one.
    for stratum in ["buyer", "seller", "total"] {
        let (checks, _) = r.bayes_cross_check_for(Some(stratum));
        assert_eq!(checks.len(), 2, "{stratum}");
    }
    assert!(r.bayes_cross_check_for(Some("seller: minor")).0.is_empty());
    let (total, _) = r.bayes_cross_check();
    assert_eq!(total[0].median, post(2, 0).median);
    let text = r.to_text();
    assert_eq!(
        text.matches("Bayesian cross-check (not in the average)")
            .count(),
        3
    );
    // The JSON headlines carry them too: method, median, credible interval, mixed.
    let j: Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
    for h in j["headline"].as_array().unwrap() {
        let n = h["bayes"].as_array().map_or(0, Vec::len);
        let subgroup = h["stratum"].as_str().is_some_and(|s| s.contains(':'));
        assert_eq!(n, if subgroup { 0 } else { 2 }, "{}", h["stratum"]);
        if n > 0 {
            assert_eq!(h["bayes"][0]["method"], "dga");
            assert!(
                h["bayes"][1]["lower"].as_f64().unwrap()
                    < h["bayes"][1]["median"].as_f64().unwrap()
            );
            assert_eq!(h["bayes"][1]["converged"], true);
        }
    }
    // The HTML report's cards carry the same lines.
    let ctx = report::ReportContext::new(Some(&data), "police", input.as_bytes());
    let html = r.to_html(&ctx);
    assert_eq!(
        html.matches("Bayesian cross-check (not in the average)")
            .count(),
        3
    );
}
