//! Robust (sandwich, cluster-robust) and bootstrap variances of N̂.

use super::design::Design;
use super::dual::D2;
use super::fit::{CountFit, CountModel};
use crate::ci;
use crate::data::CountData;
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Interval, IntervalMethod, Warning};
use nalgebra::{DMatrix, DVector};
use rand_distr::{Binomial, Distribution};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// N̂ with a sandwich covariance of the coefficients: HC0 (`cluster = None`,
/// `sandwich::vcovHC(type = "HC0")`) or cluster-robust (`sandwich::vcovCL(cluster = ~ c)`),
/// summing the scores of the units sharing a value of the covariate `cluster`, with
/// vcovCL's default adjustment G / (G − 1) for G clusters.
///
/// ```text
/// Cov_s = B M B,  B = (−∇²ℓ)⁻¹,  M = Σ_c (Σ_{i∈c} wᵢ sᵢ)(Σ_{i∈c} wᵢ sᵢ)ᵀ   (HC0: one unit per cluster)
/// cluster-robust: M ← G/(G − 1) · M
/// Var(N̂) = Σ wᵢvᵢ + ∇N̂ᵀ Cov_s ∇N̂
/// ```
/// # Errors
/// [`Error::InvalidParameter`] for an unknown cluster column; design errors when `data`
/// lacks the fit's covariates.
///
/// # References
/// Zeileis (2006) J. Stat. Softw. 16(9); Zeileis, Köll & Graham (2020) J. Stat. Softw.
/// 95(1) (vcovCL); singleRcapture `redoPopEstimation(fit, cov = vcovHC(fit))` and
/// `redoPopEstimation(fit, cov = vcovCL(fit, cluster = ~ c))`.
pub fn robust_variance(
    fit: &CountFit,
    data: &CountData,
    cluster: Option<&str>,
) -> Result<Estimate> {
    let second = fit
        .family
        .second_parameter()
        .map(|_| fit.second_covariates.as_slice());
    let d = Design::rows(data, &fit.covariates, second)?;
    let labels: Option<Vec<String>> = match cluster {
        Some(c) => {
            let cov = data
                .covariate(c)
                .ok_or_else(|| Error::param("cluster", c, "the name of a covariate column"))?;
            Some((0..data.n_rows()).map(|i| cov.values.label(i)).collect())
        }
        None => None,
    };
    let p = d.p();
    let fam = fit.family;
    let mut sums: std::collections::BTreeMap<String, DVector<f64>> = Default::default();
    let mut meat = DMatrix::zeros(p, p);
    for i in 0..d.n() {
        if !fam.uses(d.y[i]) || d.w[i] == 0.0 {
            continue;
        }
        let (e1, e2) = d.etas(i, &fit.coefficients);
        let l = fam.loglik(d.y[i], D2::var(e1, 0), D2::var(e2, 1));
        let mut s = DVector::zeros(p);
        for (a, x) in d.xrow(i).iter().enumerate() {
            s[a] = l.g[0] * x;
        }
        for (a, z) in d.zrow(i).iter().enumerate() {
            s[d.p1 + a] = l.g[1] * z;
        }
        match &labels {
            Some(lab) => {
                let e = sums
                    .entry(lab[i].clone())
                    .or_insert_with(|| DVector::zeros(p));
                *e += s * d.w[i];
            }
            None => meat += &s * s.transpose() * d.w[i],
        }
    }
    for s in sums.values() {
        meat += s * s.transpose();
    }
    // sandwich::vcovCL's default small-sample adjustment G / (G − 1) for G clusters
    // (`cadjust = TRUE`; type HC0 for a non-lm fit)
    let g = sums.len() as f64;
    if g > 1.0 {
        meat *= g / (g - 1.0);
    }
    let cov = &fit.covariance * meat * &fit.covariance;
    let pv = fit.variance_with(&cov);
    let se = pv.variance().sqrt();
    let n = fit.observed as f64;
    let level = fit.estimate.interval.level;
    let mut e = fit.estimate.clone();
    e.se = se;
    e.interval = ci::log_normal(pv.n_hat, se, n, level);
    e.dark_figure_interval = e.interval.shifted(n);
    e.other_intervals = vec![ci::wald(pv.n_hat, se, n, level)];
    e.model = format!(
        "{} [{}]",
        e.model,
        cluster
            .map(|c| format!("cluster-robust by {c}"))
            .unwrap_or("sandwich HC0".into())
    );
    Ok(e)
}

/// Bootstrap scheme (singleRcapture `controlPopVar(bootType)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootType {
    /// Simulate a population of N̂ units from the fitted model, keep those recorded at
    /// least once, refit (Zwane & van der Heijden 2003).
    Parametric,
    /// Draw n* ~ Binomial(N̂, n/N̂), resample n* observed units (Norris & Pollock 1996).
    SemiParametric,
    /// Resample the n observed units with replacement.
    NonParametric,
}

/// Bootstrap interval type (singleRcapture `confType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BootCi {
    /// Quantiles of the replicates (R's `quantile` type 7).
    Percentile,
    /// N̂ ± z · SD of the replicates (lower limit clipped at n).
    Normal,
    /// 2N̂ − upper quantile, 2N̂ − lower quantile.
    Basic,
}

/// Bootstrap settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// Scheme.
    pub kind: BootType,
    /// Interval type.
    pub ci: BootCi,
    /// Number of replicates.
    pub replicates: usize,
    /// Seed: replicate i uses `darkfigure::rng::stream(seed, &[i])`, so the
    /// result does not depend on the number of threads.
    pub seed: u64,
}

impl Bootstrap {
    /// `replicates` replicates of `kind` with percentile intervals.
    pub fn new(kind: BootType, replicates: usize, seed: u64) -> Self {
        Bootstrap {
            kind,
            ci: BootCi::Percentile,
            replicates,
            seed,
        }
    }
}

/// A bootstrap replicate "runs away" when its N̂ exceeds this multiple of the number of
/// units observed in the original data (n): such a refit has found no finite maximum
/// in practice (N̂ of 10⁶ to 10²¹ for 1880 units seen), and one of them swamps the
/// standard deviation of all the others.
pub const RUNAWAY_FACTOR: f64 = 1000.0;

/// The largest share of failed plus runaway replicates for which the bootstrap SE and
/// interval are still computed (from the other replicates, with a warning). Above it
/// they are not available: the SE and the limits are NaN (printed `-`, written `null`)
/// and a warning says why. Leaving out a share s of the replicates, all in the upper
/// tail, moves the upper percentile limit from the 1 − α/2 quantile to at most the
/// 1 − α/2 − s quantile: a small bias for s ≤ 5%, an unknown one beyond.
pub const MAX_RUNAWAY_SHARE: f64 = 0.05;

/// The bootstrap distribution of N̂ and the interval from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootResult {
    /// The estimate with the bootstrap SE and interval (point estimate unchanged),
    /// computed from the replicates that neither failed nor ran away; NaN SE and
    /// limits, with a warning, when more than [`MAX_RUNAWAY_SHARE`] of them did.
    pub estimate: Estimate,
    /// Replicate estimates, in replicate order (failed refits left out, runaway ones
    /// kept).
    pub replicates: Vec<f64>,
    /// Replicates whose refit failed (error or non-finite N̂).
    pub failed: usize,
    /// Replicates whose N̂ ran away (above [`RUNAWAY_FACTOR`] × n; in `replicates`, but
    /// not in the SE and interval of `estimate`).
    pub runaway: usize,
    /// Replicates whose refit degenerated (kept in `replicates`, as singleRcapture does).
    pub degenerate: usize,
    /// The percentile interval of every finite replicate, runaway ones included, as
    /// singleRcapture computes it (for comparison with R; its upper limit is meaningless
    /// when replicates ran away).
    pub percentile_all: Interval,
}

impl BootResult {
    /// The share of replicates that failed or ran away.
    pub fn lost_share(&self) -> f64 {
        let total = self.replicates.len() + self.failed;
        if total == 0 {
            1.0
        } else {
            (self.failed + self.runaway) as f64 / total as f64
        }
    }
}

/// Multinomial(m; probabilities ∝ `mass`) by conditional binomials: cell j gets
/// Binomial(m left, mass_j / mass left). O(cells) draws, not O(m).
fn multinomial(rng: &mut Xoshiro256PlusPlus, mass: &[f64], m: u64) -> Vec<u64> {
    let mut out = vec![0u64; mass.len()];
    let mut left = m;
    let mut mass_left: f64 = mass.iter().sum();
    for (j, &pj) in mass.iter().enumerate() {
        if left == 0 {
            break;
        }
        let p = if j + 1 == mass.len() || mass_left <= 0.0 {
            1.0
        } else {
            (pj / mass_left).clamp(0.0, 1.0)
        };
        let k = if p >= 1.0 {
            left
        } else if p <= 0.0 {
            0
        } else {
            Binomial::new(left, p).map_or(0, |b| b.sample(rng))
        };
        out[j] = k;
        left -= k;
        mass_left -= pj;
    }
    out
}

/// The rows of `d` (distinct count and covariate patterns) with new frequencies; rows
/// drawn no time are dropped.
fn with_weights(d: &Design, w: &[u64]) -> Design {
    let mut out = Design {
        p1: d.p1,
        p2: d.p2,
        names1: d.names1.clone(),
        names2: d.names2.clone(),
        ..Default::default()
    };
    for (i, &wi) in w.iter().enumerate() {
        if wi > 0 {
            out.y.push(d.y[i]);
            out.w.push(wi as f64);
            out.x.extend_from_slice(d.xrow(i));
            out.z.extend_from_slice(d.zrow(i));
        }
    }
    out
}

/// Bootstraps N̂ of a fitted model, replicates in parallel (rayon).
///
/// # Errors
/// [`Error::InvalidParameter`] for fewer than 2 replicates; [`Error::EstimateDoesNotExist`]
/// when fewer than 2 replicates could be refitted.
///
/// # References
/// singleRcapture 0.2.3 `estimatePopsize(popVar = "bootstrap", controlPopVar(bootType,
/// B, confType))`; Zwane & van der Heijden (2003); Norris & Pollock (1996).
pub fn bootstrap(fit: &CountFit, b: &Bootstrap) -> Result<BootResult> {
    if b.replicates < 2 {
        return Err(Error::param("replicates", b.replicates, "at least 2"));
    }
    let d = &fit.design;
    let n_obs: f64 = d.w.iter().sum();
    let n_hat = fit.estimate.n_hat;
    if !n_hat.is_finite() {
        return Err(Error::no_estimate(
            "the fitted N̂ is not finite: nothing to bootstrap",
        ));
    }
    if n_hat > RUNAWAY_FACTOR * n_obs {
        return Err(Error::no_estimate(format!(
            "the fitted N̂ ({n_hat:.4e}) is more than {RUNAWAY_FACTOR} times the {n_obs} units \
             observed: the fit has degenerated, and a bootstrap would resample a population that large"
        )));
    }
    let model = CountModel {
        start: Some(fit.coefficients.clone()),
        covariates: fit.covariates.clone(),
        second_covariates: fit.second_covariates.clone(),
        ..CountModel::params(fit.family)
    };
    // Parametric: the population is N̂ units spread over the covariate patterns g (each
    // row stands for w·c units) and, within a pattern, over the counts k ≥ 0 by the
    // model's population distribution; units with k = 0 are not seen.
    let mut cells: Vec<(usize, u64)> = Vec::new(); // (a row of the pattern, k ≥ 1)
    let mut cell_mass: Vec<f64> = Vec::new(); // the k = 0 cells included
    let mut cell_seen: Vec<bool> = Vec::new();
    if b.kind == BootType::Parametric {
        let mut patterns: HashMap<Vec<u64>, usize> = HashMap::new();
        let mut pattern_rows: Vec<(usize, f64)> = Vec::new(); // (first row, population)
        for i in 0..d.n() {
            let key: Vec<u64> = d
                .xrow(i)
                .iter()
                .chain(d.zrow(i))
                .map(|v| v.to_bits())
                .collect();
            let (e1, e2) = d.etas(i, &fit.coefficients);
            let c = fit.family.contribution(d.y[i], D2::c(e1), D2::c(e2)).0.v;
            let g = *patterns.entry(key).or_insert_with(|| {
                pattern_rows.push((i, 0.0));
                pattern_rows.len() - 1
            });
            pattern_rows[g].1 += d.w[i] * c;
        }
        for &(i, pop) in &pattern_rows {
            let (e1, e2) = d.etas(i, &fit.coefficients);
            let mut s = 0.0;
            for k in 0..2000u64 {
                let pk = fit.family.population_pmf(k, e1, e2);
                s += pk;
                cells.push((i, k));
                cell_mass.push(pop * pk);
                cell_seen.push(k > 0);
                if s > 1.0 - 1e-13 {
                    break;
                }
            }
        }
    }
    let row_mass: Vec<f64> = d.w.clone();
    let one = |rep: usize| -> Option<(f64, bool)> {
        let mut rng = crate::rng::stream(b.seed, &[rep as u64]);
        let design = match b.kind {
            BootType::NonParametric => {
                with_weights(d, &multinomial(&mut rng, &row_mass, n_obs.round() as u64))
            }
            BootType::SemiParametric => {
                let m = Binomial::new(n_hat.round() as u64, (n_obs / n_hat).min(1.0))
                    .ok()?
                    .sample(&mut rng);
                with_weights(d, &multinomial(&mut rng, &row_mass, m))
            }
            BootType::Parametric => {
                let counts = multinomial(&mut rng, &cell_mass, n_hat.round() as u64);
                let mut nd = Design {
                    p1: d.p1,
                    p2: d.p2,
                    names1: d.names1.clone(),
                    names2: d.names2.clone(),
                    ..Default::default()
                };
                for (j, &m) in counts.iter().enumerate() {
                    if m > 0 && cell_seen[j] {
                        let (i, k) = cells[j];
                        nd.y.push(k);
                        nd.w.push(m as f64);
                        nd.x.extend_from_slice(d.xrow(i));
                        nd.z.extend_from_slice(d.zrow(i));
                    }
                }
                nd
            }
        };
        if design.n() == 0 {
            return None;
        }
        let f = model.fit_design(design).ok()?;
        f.estimate
            .n_hat
            .is_finite()
            .then_some((f.estimate.n_hat, f.degenerate))
    };
    let reps: Vec<Option<(f64, bool)>> = (0..b.replicates).into_par_iter().map(one).collect();
    let failed = reps.iter().filter(|r| r.is_none()).count();
    let degenerate = reps.iter().flatten().filter(|r| r.1).count();
    let values: Vec<f64> = reps.iter().flatten().map(|r| r.0).collect();
    if values.len() < 2 {
        return Err(Error::no_estimate(
            "fewer than 2 bootstrap replicates could be refitted",
        ));
    }
    let level = fit.estimate.interval.level;
    let percentile_all = crate::ci::bootstrap::percentile(&values, level);
    let limit = RUNAWAY_FACTOR * n_obs;
    let kept: Vec<f64> = values.iter().copied().filter(|&v| v <= limit).collect();
    let runaway = values.len() - kept.len();
    let lost = (failed + runaway) as f64 / b.replicates as f64;
    let available = lost <= MAX_RUNAWAY_SHARE && kept.len() >= 2;
    let values_for_ci = if available { kept } else { Vec::new() };
    let se = if available {
        let m = values_for_ci.len() as f64;
        let mean = values_for_ci.iter().sum::<f64>() / m;
        (values_for_ci
            .iter()
            .map(|v| (v - mean).powi(2))
            .sum::<f64>()
            / (m - 1.0))
            .sqrt()
    } else {
        f64::NAN
    };
    let mut sorted = values_for_ci;
    sorted.sort_by(|a, b| a.total_cmp(b));
    let a = (1.0 - level) / 2.0;
    let (lower, upper, method) = match b.ci {
        BootCi::Percentile => (
            crate::ci::bootstrap::quantile_sorted(&sorted, a),
            crate::ci::bootstrap::quantile_sorted(&sorted, 1.0 - a),
            IntervalMethod::BootstrapPercentile,
        ),
        BootCi::Normal => {
            let w = ci::wald(n_hat, se, n_obs, level);
            (w.lower, w.upper, IntervalMethod::BootstrapNormal)
        }
        BootCi::Basic => (
            2.0 * n_hat - crate::ci::bootstrap::quantile_sorted(&sorted, 1.0 - a),
            2.0 * n_hat - crate::ci::bootstrap::quantile_sorted(&sorted, a),
            IntervalMethod::BootstrapBasic,
        ),
    };
    let interval = Interval {
        lower,
        upper,
        level,
        method,
    };
    let interval = if available {
        interval
    } else {
        Interval {
            lower: f64::NAN,
            upper: f64::NAN,
            ..interval
        }
    };
    let mut e = fit.estimate.clone();
    e.se = se;
    e.interval = interval;
    e.dark_figure_interval = interval.shifted(n_obs);
    e.other_intervals.clear();
    if !available {
        e.warnings.push(Warning::Other {
            message: format!(
                "bootstrap: interval and SE not available: {failed} of {} replicates failed and \
                 {runaway} ran away (N̂ above {RUNAWAY_FACTOR} × the {n_obs} units observed), \
                 {:.1}% in all, more than the {:.0}% for which the others still give an interval",
                b.replicates,
                lost * 100.0,
                MAX_RUNAWAY_SHARE * 100.0
            ),
        });
    } else if runaway > 0 {
        e.warnings.push(Warning::Other {
            message: format!(
                "bootstrap: {runaway} of {} replicates ran away (N̂ above {RUNAWAY_FACTOR} × the {n_obs} \
                 units observed) and were left out of the SE and interval",
                b.replicates
            ),
        });
    }
    if failed > 0 || degenerate > 0 {
        e.warnings.push(Warning::Other {
            message: format!(
                "bootstrap: {failed} of {} replicates could not be refitted, {degenerate} degenerated (kept)",
                b.replicates
            ),
        });
    }
    Ok(BootResult {
        estimate: e,
        replicates: values,
        failed,
        runaway,
        degenerate,
        percentile_all,
    })
}

impl std::fmt::Display for BootResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "bootstrap: {} replicates ({} failed, {} ran away, {} degenerate)",
            self.replicates.len() + self.failed,
            self.failed,
            self.runaway,
            self.degenerate
        )?;
        write!(f, "{}", self.estimate)
    }
}
