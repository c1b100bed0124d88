//! Simulation studies for the key-population methods, with seeded, thread-independent
//! replicates (replicate r of scenario s draws from [`crate::rng::stream`]`(seed, &[s, r])`).
//!
//! **Multiplier + RDS.** A hidden population of N members on a random network
//! (configuration model: degrees drawn from a discretised log-normal, stubs paired at
//! random, self-loops and repeated ties dropped). M unique objects go to M distinct
//! members, drawn without replacement with probability ∝ degree^γ (γ = 0: receipt
//! unrelated to degree; γ = 1: proportional to it). An RDS survey of n respondents starts
//! from seeds drawn at random, each respondent passing `coupons` coupons to randomly chosen
//! not-yet-sampled contacts (a new seed when every chain dies). The multiplier is then
//! estimated with P̂ unweighted and with RDS-II weights.
//!
//! **NSUM.** A frame of size N with known groups of given sizes and one hidden group of
//! size H; respondents (simple random sample) have degrees dᵢ from a log-normal and know
//! yᵢⱼ ~ Binomial(dᵢ, Nⱼ/N) members of known group j (random mixing). Barrier effect: they
//! know yᵢH ~ Binomial(dᵢ, δ·H/N) hidden members (δ < 1: hidden members are less connected to
//! the frame), of whom each is recognised as such with probability τ (transmission).
//! Estimators: the basic scale-up, and the scale-up adjusted with the true δ and τ.
//!
//! Metrics per estimator: mean N̂, relative bias, relative RMSE and the coverage of the
//! nominal 95% interval.

use crate::error::{Error, Result};
use crate::kp::multiplier::{Multiplier, ReceiptSurvey};
use crate::kp::nsum::{self, ArdSurvey, KnownPopulations, ScaleUp};
use crate::kp::rds;
use rand::RngExt;
use rand_distr::{Binomial, Distribution, LogNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;

/// A multiplier-with-RDS scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiplierScenario {
    /// Label.
    pub name: String,
    /// Hidden population size N.
    pub population: usize,
    /// Mean degree (log-normal, σ = `degree_sigma` on the log scale).
    pub mean_degree: f64,
    /// Log-scale SD of degree.
    pub degree_sigma: f64,
    /// Objects distributed M.
    pub objects: usize,
    /// Receipt ∝ degree^γ.
    pub gamma: f64,
    /// RDS sample size.
    pub sample: usize,
    /// Number of seeds.
    pub seeds: usize,
    /// Coupons per respondent.
    pub coupons: usize,
    /// Design effect used in the delta-method interval.
    pub design_effect: f64,
}

/// An NSUM scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NsumScenario {
    /// Label.
    pub name: String,
    /// Frame size N.
    pub total: f64,
    /// Hidden group size H.
    pub hidden: f64,
    /// Known group sizes.
    pub known: Vec<f64>,
    /// Respondents.
    pub respondents: usize,
    /// Mean degree.
    pub mean_degree: f64,
    /// Log-scale SD of degree.
    pub degree_sigma: f64,
    /// Degree ratio δ (barrier effect).
    pub degree_ratio: f64,
    /// Transmission rate τ.
    pub transmission: f64,
}

/// One estimator's performance in one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimRow {
    /// Scenario.
    pub scenario: String,
    /// Estimator.
    pub estimator: String,
    /// True size.
    pub truth: f64,
    /// Replicates with an estimate.
    pub replicates: usize,
    /// Mean N̂.
    pub mean: f64,
    /// (mean − truth)/truth.
    pub rel_bias: f64,
    /// sqrt(mean (N̂ − truth)²)/truth.
    pub rel_rmse: f64,
    /// Share of 95% intervals containing the truth.
    pub coverage: f64,
}

fn lognormal_degrees(rng: &mut Xoshiro256PlusPlus, n: usize, mean: f64, sigma: f64) -> Vec<usize> {
    let mu = mean.ln() - 0.5 * sigma * sigma;
    let ln = LogNormal::new(mu, sigma).unwrap_or_else(|_| LogNormal::new(0.0, 1.0).expect("valid"));
    (0..n)
        .map(|_| (ln.sample(rng).round() as usize).max(1))
        .collect()
}

/// Configuration-model network: adjacency lists.
fn network(rng: &mut Xoshiro256PlusPlus, deg: &[usize]) -> Vec<Vec<usize>> {
    let mut stubs: Vec<usize> = deg
        .iter()
        .enumerate()
        .flat_map(|(i, &d)| std::iter::repeat_n(i, d))
        .collect();
    for i in (1..stubs.len()).rev() {
        let j = rng.random_range(0..=i);
        stubs.swap(i, j);
    }
    let mut adj = vec![Vec::new(); deg.len()];
    for pair in stubs.chunks_exact(2) {
        let (a, b) = (pair[0], pair[1]);
        if a != b && !adj[a].contains(&b) {
            adj[a].push(b);
            adj[b].push(a);
        }
    }
    adj
}

/// An RDS sample: sampled nodes in recruitment order with their recruiter.
fn rds_sample(
    rng: &mut Xoshiro256PlusPlus,
    adj: &[Vec<usize>],
    s: &MultiplierScenario,
) -> Vec<(usize, Option<usize>)> {
    let n = adj.len();
    let mut sampled = vec![false; n];
    let mut out: Vec<(usize, Option<usize>)> = Vec::with_capacity(s.sample);
    let mut queue = std::collections::VecDeque::new();
    let add_seed = |rng: &mut Xoshiro256PlusPlus,
                    sampled: &mut Vec<bool>,
                    out: &mut Vec<(usize, Option<usize>)>,
                    queue: &mut std::collections::VecDeque<usize>| {
        for _ in 0..100 * n {
            let v = rng.random_range(0..n);
            if !sampled[v] && !adj[v].is_empty() {
                sampled[v] = true;
                out.push((v, None));
                queue.push_back(v);
                return true;
            }
        }
        false
    };
    for _ in 0..s.seeds {
        add_seed(rng, &mut sampled, &mut out, &mut queue);
    }
    while out.len() < s.sample {
        let Some(v) = queue.pop_front() else {
            if !add_seed(rng, &mut sampled, &mut out, &mut queue) {
                break;
            }
            continue;
        };
        let mut cand: Vec<usize> = adj[v].iter().copied().filter(|&u| !sampled[u]).collect();
        for _ in 0..s.coupons {
            if cand.is_empty() || out.len() >= s.sample {
                break;
            }
            let k = rng.random_range(0..cand.len());
            let u = cand.swap_remove(k);
            sampled[u] = true;
            out.push((u, Some(v)));
            queue.push_back(u);
        }
    }
    out
}

struct Rep {
    est: Vec<Option<(f64, f64, f64)>>,
}

fn summarise(name: &str, labels: &[&str], truth: f64, reps: &[Rep]) -> Vec<SimRow> {
    labels
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let v: Vec<(f64, f64, f64)> = reps.iter().filter_map(|r| r.est[k]).collect();
            let m = v.len() as f64;
            let mean = v.iter().map(|x| x.0).sum::<f64>() / m;
            SimRow {
                scenario: name.into(),
                estimator: l.to_string(),
                truth,
                replicates: v.len(),
                mean,
                rel_bias: (mean - truth) / truth,
                rel_rmse: (v.iter().map(|x| (x.0 - truth).powi(2)).sum::<f64>() / m).sqrt() / truth,
                coverage: v.iter().filter(|x| x.1 <= truth && truth <= x.2).count() as f64 / m,
            }
        })
        .collect()
}

/// Runs a multiplier scenario: estimators `multiplier, unweighted P̂` and `multiplier,
/// RDS-II weighted P̂` (delta-method 95% intervals with the scenario's design effect).
///
/// # Errors
/// [`Error::InvalidParameter`] for an inconsistent scenario (M or n above N, no
/// replicates).
pub fn run_multiplier(
    s: &MultiplierScenario,
    replicates: usize,
    seed: u64,
    index: u64,
) -> Result<Vec<SimRow>> {
    if s.objects > s.population || s.sample > s.population || replicates == 0 || s.sample < 2 {
        return Err(Error::param(
            "scenario",
            &s.name,
            "M ≤ N, 2 ≤ n ≤ N and at least one replicate",
        ));
    }
    let reps: Vec<Rep> = (0..replicates)
        .into_par_iter()
        .map(|r| {
            let mut rng = crate::rng::stream(seed, &[index, r as u64]);
            let deg = lognormal_degrees(&mut rng, s.population, s.mean_degree, s.degree_sigma);
            let adj = network(&mut rng, &deg);
            // objects: PPS without replacement ∝ degree^γ via exponential keys
            let mut keys: Vec<(f64, usize)> = (0..s.population)
                .map(|i| {
                    let w = (adj[i].len().max(1) as f64).powf(s.gamma);
                    let e: f64 = -(1.0 - rng.random::<f64>()).ln();
                    (e / w, i)
                })
                .collect();
            keys.select_nth_unstable_by(s.objects - 1, |a, b| a.0.total_cmp(&b.0));
            let mut got = vec![false; s.population];
            keys[..s.objects].iter().for_each(|k| got[k.1] = true);
            let smp = rds_sample(&mut rng, &adj, s);
            let received: Vec<bool> = smp.iter().map(|(v, _)| got[*v]).collect();
            let degrees: Vec<f64> = smp.iter().map(|(v, _)| adj[*v].len() as f64).collect();
            let m = Multiplier::new(s.objects as f64).design_effect(s.design_effect);
            let fit = |sv: Result<ReceiptSurvey>| {
                sv.and_then(|sv| m.fit(&sv)).ok().map(|f| {
                    (
                        f.estimate.n_hat,
                        f.estimate.interval.lower,
                        f.estimate.interval.upper,
                    )
                })
            };
            let w = rds::vh_weights(&degrees, None);
            Rep {
                est: vec![
                    fit(ReceiptSurvey::new(received.clone(), None)),
                    fit(ReceiptSurvey::new(received, Some(w))),
                ],
            }
        })
        .collect();
    Ok(summarise(
        &s.name,
        &["multiplier, unweighted P̂", "multiplier, RDS-II weighted P̂"],
        s.population as f64,
        &reps,
    ))
}

/// Runs an NSUM scenario: the basic scale-up (Killworth 95% interval) and the scale-up
/// adjusted with the true δ and τ.
///
/// # Errors
/// [`Error::InvalidParameter`] for an inconsistent scenario.
pub fn run_nsum(s: &NsumScenario, replicates: usize, seed: u64, index: u64) -> Result<Vec<SimRow>> {
    if s.known.is_empty()
        || s.respondents < 2
        || replicates == 0
        || s.hidden <= 0.0
        || s.hidden >= s.total
    {
        return Err(Error::param(
            "scenario",
            &s.name,
            "known groups, n ≥ 2, 0 < H < N, replicates ≥ 1",
        ));
    }
    let names: Vec<String> = (0..s.known.len()).map(|j| format!("k{j}")).collect();
    let known = KnownPopulations::new(names.clone(), s.known.clone())?;
    let mut cols = names.clone();
    cols.push("hidden".into());
    let reps: Vec<Rep> = (0..replicates)
        .into_par_iter()
        .map(|r| {
            let mut rng = crate::rng::stream(seed, &[index, r as u64]);
            let deg = lognormal_degrees(&mut rng, s.respondents, s.mean_degree, s.degree_sigma);
            let mut data = vec![Vec::with_capacity(s.respondents); s.known.len() + 1];
            for &d in &deg {
                for (j, nj) in s.known.iter().enumerate() {
                    let y = Binomial::new(d as u64, nj / s.total).map_or(0, |b| b.sample(&mut rng));
                    data[j].push(Some(y as f64));
                }
                let ph = (s.degree_ratio * s.hidden / s.total).min(1.0);
                let contacts = Binomial::new(d as u64, ph).map_or(0, |b| b.sample(&mut rng));
                let aware = Binomial::new(contacts, s.transmission.min(1.0))
                    .map_or(0, |b| b.sample(&mut rng));
                data[s.known.len()].push(Some(aware as f64));
            }
            let est = (|| -> Result<Vec<Option<(f64, f64, f64)>>> {
                let sv = ArdSurvey::new(cols.clone(), data)?;
                let d = nsum::killworth_degrees(&sv, &known, s.total)?;
                let one = |p: ScaleUp| {
                    nsum::scale_up(&sv, &d, "hidden", &p).ok().map(|f| {
                        (
                            f.estimate.n_hat,
                            f.estimate.interval.lower,
                            f.estimate.interval.upper,
                        )
                    })
                };
                Ok(vec![
                    one(ScaleUp::new(s.total)),
                    one(ScaleUp::new(s.total).adjust(s.degree_ratio, s.transmission)),
                ])
            })()
            .unwrap_or_else(|_| vec![None, None]);
            Rep { est }
        })
        .collect();
    Ok(summarise(
        &s.name,
        &["scale-up, basic", "scale-up, adjusted (true δ, τ)"],
        s.hidden,
        &reps,
    ))
}

/// The default study: multiplier with receipt unrelated to / proportional to degree, and
/// NSUM without and with barrier and transmission effects.
pub fn default_scenarios() -> (Vec<MultiplierScenario>, Vec<NsumScenario>) {
    let m = |name: &str, gamma: f64| MultiplierScenario {
        name: name.into(),
        population: 5000,
        mean_degree: 8.0,
        degree_sigma: 0.8,
        objects: 1000,
        gamma,
        sample: 500,
        seeds: 10,
        coupons: 3,
        design_effect: 2.0,
    };
    let n = |name: &str, delta: f64, tau: f64| NsumScenario {
        name: name.into(),
        total: 1_000_000.0,
        hidden: 5000.0,
        known: vec![5000.0, 10000.0, 20000.0, 40000.0, 8000.0, 15000.0],
        respondents: 1000,
        mean_degree: 300.0,
        degree_sigma: 0.6,
        degree_ratio: delta,
        transmission: tau,
    };
    (
        vec![
            m("receipt unrelated to degree (γ = 0)", 0.0),
            m("receipt ∝ degree (γ = 1)", 1.0),
        ],
        vec![
            n("no barrier (δ = 1, τ = 1)", 1.0, 1.0),
            n("barrier δ = 0.6, τ = 1", 0.6, 1.0),
            n("barrier δ = 0.6, transmission τ = 0.7", 0.6, 0.7),
        ],
    )
}

/// Runs the default study.
///
/// # Errors
/// As [`run_multiplier`] and [`run_nsum`].
pub fn run_default(replicates: usize, seed: u64) -> Result<Vec<SimRow>> {
    let (ms, ns) = default_scenarios();
    let mut out = Vec::new();
    for (i, s) in ms.iter().enumerate() {
        out.extend(run_multiplier(s, replicates, seed, i as u64)?);
    }
    for (i, s) in ns.iter().enumerate() {
        out.extend(run_nsum(s, replicates, seed, (100 + i) as u64)?);
    }
    Ok(out)
}

/// What the study shows, one sentence per scenario: the estimators that were reliable
/// (the rule of [`mod@crate::sim::findings`] for 95% intervals: coverage at least 90%, mean
/// bias within ±10%) and the others with their bias and coverage.
pub fn findings(rows: &[SimRow]) -> Vec<String> {
    use crate::sim::findings::{COVERAGE_SHORTFALL, MAX_REL_BIAS};
    let mut scenarios: Vec<&str> = Vec::new();
    for r in rows {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
    }
    let brief = |r: &SimRow| {
        format!(
            "{} (bias {}, coverage {:.1}%)",
            r.estimator,
            crate::sim::findings::signed_pct(r.rel_bias),
            100.0 * r.coverage
        )
    };
    scenarios
        .into_iter()
        .map(|sc| {
            let here: Vec<&SimRow> = rows.iter().filter(|r| r.scenario == sc).collect();
            let (good, bad): (Vec<&SimRow>, Vec<&SimRow>) = here.iter().partition(|r| {
                r.coverage >= 0.95 - COVERAGE_SHORTFALL
                    && r.rel_bias.is_finite()
                    && r.rel_bias.abs() <= MAX_REL_BIAS
            });
            let list = |v: &[&SimRow]| v.iter().map(|r| brief(r)).collect::<Vec<_>>().join("; ");
            let truth = here.first().map_or(f64::NAN, |r| r.truth);
            let mut out = format!("{sc} (N = {truth:.0}): ");
            if good.is_empty() {
                out.push_str("no estimator is reliable");
            } else {
                out.push_str(&format!("reliable: {}", list(&good)));
            }
            if !bad.is_empty() {
                out.push_str(&format!("; not reliable: {}", list(&bad)));
            }
            out.push('.');
            out
        })
        .collect()
}

/// A Markdown table of the rows, after what the study shows ([`findings`]).
pub fn to_markdown(rows: &[SimRow]) -> String {
    let mut s = String::from("## What the study shows\n\n");
    for f in findings(rows) {
        s.push_str(&format!("- {f}\n"));
    }
    s.push_str(&format!(
        "\n*Reliable: the 95% interval covers the true size in at least {:.0}% of replicates \
         and the mean bias is within ±{:.0}%.*\n\n## The table\n\n",
        100.0 * (0.95 - crate::sim::findings::COVERAGE_SHORTFALL),
        100.0 * crate::sim::findings::MAX_REL_BIAS
    ));
    s.push_str(
        "| scenario | estimator | truth | mean N̂ | rel. bias | rel. RMSE | 95% coverage | reps |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:+.3} | {:.3} | {:.3} | {} |\n",
            r.scenario,
            r.estimator,
            r.truth,
            r.mean,
            r.rel_bias,
            r.rel_rmse,
            r.coverage,
            r.replicates
        ));
    }
    s
}
