//! Simulation: a hidden population on a random network, an RDS sample drawn from it
//! without replacement, and the coverage of SS-PSE's credible interval over replicates.

use super::{RdsSample, SizePrior, Sspse, SspseParams};
use crate::error::{Error, Result};
use rand::RngExt;
use rand_distr::{Distribution, Gamma, Poisson};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};

/// A population on a network and how it is sampled by RDS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RdsScenario {
    /// True population size N.
    pub population: usize,
    /// Mean target degree (negative binomial, shape `degree_shape`, at least 1).
    pub mean_degree: f64,
    /// Shape of the gamma mixing of the degree (smaller: more spread).
    pub degree_shape: f64,
    /// Respondents to recruit (n).
    pub sample_size: usize,
    /// Seeds, drawn with probability proportional to degree.
    pub seeds: usize,
    /// Coupons per respondent (each to a random not-yet-recruited contact).
    pub coupons: usize,
}

impl RdsScenario {
    /// fauxmadrona-like: N = 1,000, mean degree 8, n = 500, 10 seeds, 2 coupons.
    pub fn fauxmadrona_like() -> Self {
        RdsScenario {
            population: 1000,
            mean_degree: 8.0,
            degree_shape: 4.0,
            sample_size: 500,
            seeds: 10,
            coupons: 2,
        }
    }

    fn check(&self) -> Result<()> {
        if self.sample_size == 0 || self.sample_size >= self.population {
            return Err(Error::param(
                "sample_size",
                self.sample_size,
                format!("between 1 and the population size {} − 1", self.population),
            ));
        }
        if !(self.mean_degree >= 1.0 && self.degree_shape > 0.0) || self.seeds == 0 {
            return Err(Error::param(
                "scenario",
                format!("{self:?}"),
                "mean degree ≥ 1, positive shape, at least one seed",
            ));
        }
        Ok(())
    }

    /// Draws the network (configuration model on negative-binomial degrees, self-loops and
    /// repeated ties dropped) and an RDS sample from it: seeds ∝ degree, each respondent
    /// passes up to `coupons` coupons to random unrecruited contacts, first come first
    /// served; when the chains die out a new seed is drawn ∝ degree. Degrees recorded are
    /// the network degrees.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an impossible scenario.
    pub fn draw(&self, rng: &mut Xoshiro256PlusPlus) -> Result<RdsSample> {
        self.check()?;
        let n_pop = self.population;
        let gamma = Gamma::new(self.degree_shape, self.mean_degree / self.degree_shape)
            .map_err(|e| Error::param("degree_shape", self.degree_shape, e.to_string()))?;
        let mut stubs = Vec::new();
        for v in 0..n_pop {
            let lam: f64 = gamma.sample(rng);
            let d = Poisson::new(lam.max(1e-9))
                .map(|p| p.sample(rng) as usize)
                .unwrap_or(0)
                .max(1);
            stubs.extend(std::iter::repeat_n(v, d));
        }
        // shuffle stubs and pair them
        for i in (1..stubs.len()).rev() {
            let j = rng.random_range(0..=i);
            stubs.swap(i, j);
        }
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n_pop];
        let mut seen_edges = HashSet::new();
        for pair in stubs.chunks_exact(2) {
            let (a, b) = (pair[0].min(pair[1]), pair[0].max(pair[1]));
            if a != b && seen_edges.insert((a, b)) {
                adj[a].push(b);
                adj[b].push(a);
            }
        }
        let mut recruited = vec![false; n_pop];
        let mut degrees = Vec::new();
        let mut recruits = Vec::new();
        let mut is_seed = Vec::new();
        let mut index = vec![usize::MAX; n_pop];
        let mut queue = VecDeque::new();
        let mut recruited_by = vec![0u32; n_pop];
        let pick_seed = |recruited: &[bool], rng: &mut Xoshiro256PlusPlus| -> Option<usize> {
            let total: usize = (0..n_pop)
                .filter(|&v| !recruited[v])
                .map(|v| adj[v].len().max(1))
                .sum();
            if total == 0 {
                return None;
            }
            let mut x = rng.random_range(0..total);
            for v in 0..n_pop {
                if recruited[v] {
                    continue;
                }
                let w = adj[v].len().max(1);
                if x < w {
                    return Some(v);
                }
                x -= w;
            }
            None
        };
        let mut add = |v: usize, seed: bool, recruited: &mut Vec<bool>, degrees: &mut Vec<u32>| {
            recruited[v] = true;
            index[v] = degrees.len();
            degrees.push(adj[v].len() as u32);
            recruits.push(0u32);
            is_seed.push(seed);
        };
        for _ in 0..self.seeds.min(self.sample_size) {
            if let Some(v) = pick_seed(&recruited, rng) {
                add(v, true, &mut recruited, &mut degrees);
                queue.push_back(v);
            }
        }
        while degrees.len() < self.sample_size {
            let Some(v) = queue.pop_front() else {
                match pick_seed(&recruited, rng) {
                    Some(s) => {
                        add(s, true, &mut recruited, &mut degrees);
                        queue.push_back(s);
                        continue;
                    }
                    None => break,
                }
            };
            let mut free: Vec<usize> = adj[v].iter().copied().filter(|&w| !recruited[w]).collect();
            for _ in 0..self.coupons {
                if free.is_empty() || degrees.len() >= self.sample_size {
                    break;
                }
                let j = rng.random_range(0..free.len());
                let w = free.swap_remove(j);
                add(w, false, &mut recruited, &mut degrees);
                recruited_by[v] += 1;
                queue.push_back(w);
            }
        }
        for (v, &i) in index.iter().enumerate() {
            if i != usize::MAX {
                recruits[i] = recruited_by[v];
            }
        }
        Ok(RdsSample {
            ids: None,
            degrees,
            recruits,
            is_seed,
            recaptured: None,
        })
    }
}

/// Result of a coverage study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageResult {
    /// The scenario.
    pub scenario: RdsScenario,
    /// Prior median used.
    pub prior_median: f64,
    /// Replicates run.
    pub replicates: usize,
    /// Share of replicates whose credible interval (at the params' level) covers N.
    pub coverage: f64,
    /// Monte-Carlo standard error of the coverage.
    pub coverage_se: f64,
    /// Median over replicates of the posterior median.
    pub median_of_medians: f64,
    /// Mean over replicates of the posterior median.
    pub mean_of_medians: f64,
}

/// Runs SS-PSE (no visibility) on `replicates` simulated RDS samples; replicate i draws
/// from `rng::stream(seed, &[i])` and fits with chain seed `mix(seed, i)`, so results do
/// not depend on the number of threads.
///
/// # Errors
/// As [`RdsScenario::draw`] and [`SspseParams::fit`].
pub fn coverage_study(
    scenario: &RdsScenario,
    params: &SspseParams,
    replicates: usize,
    seed: u64,
) -> Result<CoverageResult> {
    let prior_median = match params.prior {
        SizePrior::Beta { median } => median,
        _ => f64::NAN,
    };
    let results: Vec<Result<(bool, f64)>> = (0..replicates)
        .into_par_iter()
        .map(|i| {
            let mut rng = crate::rng::stream(seed, &[i as u64]);
            let s = scenario.draw(&mut rng)?;
            let fit = params
                .clone()
                .seed(crate::rng::mix(seed, &[i as u64, 1]))
                .fit(&s)?;
            let truth = scenario.population as f64;
            Ok((fit.estimate.interval.contains(truth), fit.n.median))
        })
        .collect();
    let mut hits = 0usize;
    let mut meds = Vec::with_capacity(replicates);
    for r in results {
        let (h, m) = r?;
        hits += usize::from(h);
        meds.push(m);
    }
    meds.sort_by(f64::total_cmp);
    let cov = hits as f64 / replicates.max(1) as f64;
    Ok(CoverageResult {
        scenario: *scenario,
        prior_median,
        replicates,
        coverage: cov,
        coverage_se: (cov * (1.0 - cov) / replicates.max(1) as f64).sqrt(),
        median_of_medians: super::quantile_sorted(&meds, 0.5),
        mean_of_medians: meds.iter().sum::<f64>() / meds.len().max(1) as f64,
    })
}

/// Convenience: SS-PSE with sspse's defaults, one chain, for simulation studies.
pub fn default_params(prior_median: f64) -> SspseParams {
    Sspse::params(SizePrior::Beta {
        median: prior_median,
    })
    .chains(1)
}
