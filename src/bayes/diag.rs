//! Convergence diagnostics for several Markov chains: rank-normalised split-R̂ and bulk /
//! tail effective sample sizes (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021).
//!
//! ```text
//! split each of the M chains in two halves (2M chains of S draws);
//! rank-normalise: z = Φ⁻¹((r − 3/8) / (2MS + 1/4)), r = rank among all draws (ties averaged)
//! R̂(z)  = sqrt(((S − 1)/S · W + B/S) / W),   W = mean within-chain variance,
//!                                             B/S = variance of the chain means
//! split-R̂ = max(R̂(z), R̂(z of |θ − median θ|))
//! ESS     = 2MS / τ,  τ = −1 + 2 Σ_{t} P_t  (Geyer's initial monotone sequence of
//!           paired autocorrelations ρ_t = 1 − (W − mean_m γ_m(t)) / var⁺)
//! bulk-ESS = ESS(z);   tail-ESS = min(ESS(1{θ ≤ q_0.05}), ESS(1{θ ≤ q_0.95}))
//! ```
//!
//! # References
//! Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. & Bürkner, P.-C. (2021)
//! Rank-normalization, folding, and localization: an improved R̂ for assessing convergence
//! of MCMC. *Bayesian Analysis* 16(2), 667–718. R package posterior: `rhat`, `ess_bulk`,
//! `ess_tail`.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// R̂ above which chains are not considered mixed (Vehtari et al. 2021).
pub const RHAT_WARN: f64 = 1.01;

/// Effective sample size below which the posterior summaries are not trusted.
pub const ESS_WARN: f64 = 400.0;

/// Diagnostics of one quantity across chains.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Rank-normalised split-R̂ (max of bulk and folded).
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    #[serde(deserialize_with = "crate::estimate::null_as_nan")]
    pub rhat: f64,
    /// Bulk effective sample size.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    #[serde(deserialize_with = "crate::estimate::null_as_nan")]
    pub ess_bulk: f64,
    /// Tail effective sample size.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    #[serde(deserialize_with = "crate::estimate::null_as_nan")]
    pub ess_tail: f64,
}

impl Diagnostic {
    /// Diagnostics of `chains` (each the draws of one chain, equal lengths).
    pub fn of(chains: &[Vec<f64>]) -> Self {
        Diagnostic {
            rhat: split_rhat(chains),
            ess_bulk: ess_bulk(chains),
            ess_tail: ess_tail(chains),
        }
    }

    /// Whether R̂ ≤ [`RHAT_WARN`] and both ESS ≥ [`ESS_WARN`].
    pub fn ok(&self) -> bool {
        self.rhat <= RHAT_WARN && self.ess_bulk >= ESS_WARN && self.ess_tail >= ESS_WARN
    }
}

/// Diagnostics of a sampler run: N and the Dirichlet-process concentration α.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Number of chains.
    pub chains: usize,
    /// Draws kept per chain.
    pub draws_per_chain: usize,
    /// Diagnostics of N.
    pub n: Diagnostic,
    /// Diagnostics of α.
    pub alpha: Diagnostic,
}

fn split(chains: &[Vec<f64>]) -> Vec<&[f64]> {
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        let h = c.len() / 2;
        // drop the middle draw of an odd-length chain, as posterior does
        out.push(&c[..h]);
        out.push(&c[c.len() - h..]);
    }
    out
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn var(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// Ranks of all draws pooled (ties get their average rank), normal scores.
fn rank_normalise(chains: &[&[f64]]) -> Vec<Vec<f64>> {
    let all: Vec<(f64, usize, usize)> = chains
        .iter()
        .enumerate()
        .flat_map(|(c, x)| x.iter().enumerate().map(move |(i, &v)| (v, c, i)))
        .collect();
    let s = all.len();
    let mut idx: Vec<usize> = (0..s).collect();
    idx.sort_by(|&a, &b| all[a].0.total_cmp(&all[b].0));
    let mut ranks = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && all[idx[j + 1]].0 == all[idx[i]].0 {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    let normal = Normal::standard();
    let mut out: Vec<Vec<f64>> = chains.iter().map(|x| vec![0.0; x.len()]).collect();
    for (k, &(_, c, i)) in all.iter().enumerate() {
        out[c][i] = normal.inverse_cdf((ranks[k] - 0.375) / (s as f64 + 0.25));
    }
    out
}

fn rhat_raw(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let w = mean(&chains.iter().map(|c| var(c)).collect::<Vec<_>>());
    let b_over_n = var(&means);
    (((n - 1.0) / n * w + b_over_n) / w).sqrt()
}

/// Rank-normalised split-R̂ of `chains` (NaN when fewer than 4 draws per chain or the
/// draws are constant).
pub fn split_rhat(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains.iter().any(|c| c.len() < 4) {
        return f64::NAN;
    }
    let sp = split(chains);
    let z = rank_normalise(&sp);
    let bulk = rhat_raw(&z);
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let med = median(&all);
    let folded: Vec<Vec<f64>> = sp
        .iter()
        .map(|c| c.iter().map(|v| (v - med).abs()).collect())
        .collect();
    let fr: Vec<&[f64]> = folded.iter().map(|v| v.as_slice()).collect();
    let tail = rhat_raw(&rank_normalise(&fr));
    if bulk.is_nan() || tail.is_nan() {
        return f64::NAN;
    }
    bulk.max(tail)
}

fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    crate::ci::bootstrap::quantile_sorted(&v, 0.5)
}

/// Autocovariance of `x` at lags 0..n (biased estimator, divisor n).
fn autocov(x: &[f64], max_lag: usize) -> Vec<f64> {
    let n = x.len();
    let m = mean(x);
    let d: Vec<f64> = x.iter().map(|v| v - m).collect();
    (0..max_lag.min(n))
        .map(|t| {
            d[..n - t]
                .iter()
                .zip(&d[t..])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / n as f64
        })
        .collect()
}

/// Multi-chain effective sample size of `chains` (no splitting or ranking; Stan's method).
pub fn ess_raw(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains[0].len();
    if n < 4 {
        return f64::NAN;
    }
    let acov: Vec<Vec<f64>> = chains.iter().map(|c| autocov(c, n)).collect();
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let mean_var = acov.iter().map(|a| a[0]).sum::<f64>() / m as f64 * n as f64 / (n as f64 - 1.0);
    let mut var_plus = mean_var * (n as f64 - 1.0) / n as f64;
    if m > 1 {
        var_plus += var(&means);
    }
    if var_plus.is_nan() || var_plus <= 0.0 {
        return f64::NAN;
    }
    let rho = |t: usize| -> f64 {
        let g = acov.iter().map(|a| a[t]).sum::<f64>() / m as f64;
        1.0 - (mean_var - g) / var_plus
    };
    // Geyer's initial positive and monotone sequence on pairs (ρ_{2k} + ρ_{2k+1}).
    let mut p_prev = f64::INFINITY;
    let mut sum = 0.0;
    let mut t = 0;
    while t + 1 < n {
        let mut p = rho(t) + rho(t + 1);
        if p < 0.0 {
            break;
        }
        if p > p_prev {
            p = p_prev;
        }
        sum += p;
        p_prev = p;
        t += 2;
    }
    let tau = (-1.0 + 2.0 * sum).max(1.0 / ((m * n) as f64).log10());
    (m * n) as f64 / tau
}

/// Bulk effective sample size: the ESS of the rank-normalised split chains.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains.iter().any(|c| c.len() < 4) {
        return f64::NAN;
    }
    let z = rank_normalise(&split(chains));
    ess_raw(&z)
}

/// Tail effective sample size: the smaller ESS of the indicators of the 5% and 95%
/// quantiles, on split chains.
pub fn ess_tail(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains.iter().any(|c| c.len() < 4) {
        return f64::NAN;
    }
    let all: Vec<f64> = {
        let mut v: Vec<f64> = chains.iter().flatten().copied().collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v
    };
    let sp = split(chains);
    let mut out = f64::INFINITY;
    for q in [0.05, 0.95] {
        let cut = crate::ci::bootstrap::quantile_sorted(&all, q);
        let ind: Vec<Vec<f64>> = sp
            .iter()
            .map(|c| c.iter().map(|&v| f64::from(u8::from(v <= cut))).collect())
            .collect();
        let e = ess_raw(&ind);
        if e.is_nan() {
            return f64::NAN;
        }
        out = out.min(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use rand_distr::{Distribution, StandardNormal};

    fn iid(chains: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
        (0..chains)
            .map(|c| {
                let mut r = crate::rng::stream(seed, &[c as u64]);
                (0..n)
                    .map(|_| StandardNormal.sample(&mut r))
                    .collect::<Vec<f64>>()
            })
            .collect()
    }

    #[test]
    fn iid_chains_mix() {
        let ch = iid(4, 1000, 1);
        let r = split_rhat(&ch);
        assert!(r < 1.01, "rhat {r}");
        let e = ess_bulk(&ch);
        assert!(e > 3000.0 && e < 5000.0, "ess {e}");
        let t = ess_tail(&ch);
        assert!(t > 2500.0, "tail ess {t}");
    }

    #[test]
    fn shifted_chain_is_detected() {
        let mut ch = iid(4, 1000, 2);
        ch[0].iter_mut().for_each(|v| *v += 2.0);
        assert!(split_rhat(&ch) > 1.1);
    }

    #[test]
    fn autocorrelated_chain_has_small_ess() {
        // AR(1), phi = 0.9: ESS ≈ n (1 − φ)/(1 + φ) ≈ n/19
        let mut r = crate::rng::stream(3, &[]);
        let ch: Vec<Vec<f64>> = (0..4)
            .map(|_| {
                let mut x = 0.0;
                (0..4000)
                    .map(|_| {
                        let e: f64 = StandardNormal.sample(&mut r);
                        x = 0.9 * x + e;
                        x
                    })
                    .collect()
            })
            .collect();
        let e = ess_bulk(&ch);
        assert!(e > 500.0 && e < 1300.0, "ess {e}");
        let _: f64 = r.random();
    }
}
