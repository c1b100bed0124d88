//! Posterior summaries and convergence diagnostics of a set of chains.

use serde::{Deserialize, Serialize};

/// Summary of the posterior draws of one quantity pooled over chains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PosteriorSummary {
    /// Posterior median (R `quantile(type = 7)`).
    pub median: f64,
    /// Posterior mean.
    pub mean: f64,
    /// Posterior standard deviation.
    pub sd: f64,
    /// Equal-tailed 90% interval (5% and 95% quantiles).
    pub eq90: [f64; 2],
    /// Equal-tailed 95% interval.
    pub eq95: [f64; 2],
    /// Highest-posterior-density 90% interval (`coda::HPDinterval`).
    pub hpd90: [f64; 2],
    /// Highest-posterior-density 95% interval.
    pub hpd95: [f64; 2],
    /// Split-R̂ (Gelman et al. 2013, §11.4): near 1 when the chains agree.
    pub rhat: f64,
    /// Effective sample size over all chains (Geyer's initial monotone sequence).
    pub ess: f64,
    /// Number of draws pooled.
    pub draws: usize,
}

/// Quantile of sorted values, R's type 7.
pub fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Shortest interval holding `round(n·prob)` gaps of the sorted draws (`coda::HPDinterval`).
pub fn hpd_sorted(v: &[f64], prob: f64) -> [f64; 2] {
    let n = v.len();
    if n < 2 {
        return [v[0], v[0]];
    }
    let gap = ((n as f64 * prob).round() as usize).clamp(1, n - 1);
    let mut best = 0;
    for i in 0..(n - gap) {
        if v[i + gap] - v[i] < v[best + gap] - v[best] {
            best = i;
        }
    }
    [v[best], v[best + gap]]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn var(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// Split-R̂ of equal-length chains.
pub fn split_rhat(chains: &[Vec<f64>]) -> f64 {
    let t = chains.iter().map(Vec::len).min().unwrap_or(0) / 2;
    if t < 2 {
        return f64::NAN;
    }
    let halves: Vec<&[f64]> = chains
        .iter()
        .flat_map(|c| [&c[..t], &c[t..2 * t]])
        .collect();
    let w = halves.iter().map(|h| var(h)).sum::<f64>() / halves.len() as f64;
    let means: Vec<f64> = halves.iter().map(|h| mean(h)).collect();
    let b = t as f64 * var(&means);
    if w <= 0.0 {
        return if b <= 0.0 { 1.0 } else { f64::INFINITY };
    }
    let vplus = (t as f64 - 1.0) / t as f64 * w + b / t as f64;
    (vplus / w).sqrt()
}

/// Effective sample size of equal-length chains (Stan's multi-chain estimator with
/// Geyer's initial monotone positive sequence).
pub fn ess(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let t = chains.iter().map(Vec::len).min().unwrap_or(0);
    if t < 4 {
        return f64::NAN;
    }
    let chains: Vec<&[f64]> = chains.iter().map(|c| &c[..t]).collect();
    let acov: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| {
            let mu = mean(c);
            let d: Vec<f64> = c.iter().map(|x| x - mu).collect();
            (0..t)
                .map(|lag| {
                    d[..t - lag]
                        .iter()
                        .zip(&d[lag..])
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                        / t as f64
                })
                .collect()
        })
        .collect();
    let w = chains.iter().map(|c| var(c)).sum::<f64>() / m as f64;
    let b = if m > 1 {
        let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
        t as f64 * var(&means)
    } else {
        0.0
    };
    let vplus = (t as f64 - 1.0) / t as f64 * w + b / t as f64;
    if vplus <= 0.0 {
        return (m * t) as f64;
    }
    let rho = |lag: usize| {
        let mean_acov = acov.iter().map(|a| a[lag]).sum::<f64>() / m as f64;
        1.0 - (w - mean_acov) / vplus
    };
    let mut sum = 0.0;
    let mut prev = f64::INFINITY;
    let mut lag = 0;
    while lag + 1 < t {
        let p = rho(lag) + rho(lag + 1);
        if p <= 0.0 {
            break;
        }
        let p = p.min(prev);
        sum += p;
        prev = p;
        lag += 2;
    }
    let tau = (-1.0 + 2.0 * sum).max(1.0 / ((m * t) as f64).log10());
    (m * t) as f64 / tau
}

impl PosteriorSummary {
    /// Summarises the draws of one quantity, one vector per chain.
    pub fn from_chains(chains: &[Vec<f64>]) -> PosteriorSummary {
        let mut all: Vec<f64> = chains.iter().flatten().copied().collect();
        all.sort_by(f64::total_cmp);
        let q = |p| quantile_sorted(&all, p);
        PosteriorSummary {
            median: q(0.5),
            mean: mean(&all),
            sd: var(&all).sqrt(),
            eq90: [q(0.05), q(0.95)],
            eq95: [q(0.025), q(0.975)],
            hpd90: hpd_sorted(&all, 0.90),
            hpd95: hpd_sorted(&all, 0.95),
            rhat: split_rhat(chains),
            ess: ess(chains),
            draws: all.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_type7_and_hpd() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((quantile_sorted(&v, 0.5) - 5.5).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.05) - 1.45).abs() < 1e-12);
        // coda: gap = round(10·0.9) = 9 → [1, 10]
        assert_eq!(hpd_sorted(&v, 0.9), [1.0, 10.0]);
    }

    #[test]
    fn rhat_flags_disagreeing_chains() {
        let a: Vec<f64> = (0..200).map(|i| (i % 7) as f64).collect();
        let b: Vec<f64> = (0..200).map(|i| (i % 7) as f64 + 50.0).collect();
        assert!(split_rhat(&[a.clone(), b]) > 2.0);
        assert!((split_rhat(&[a.clone(), a]) - 1.0).abs() < 0.05);
    }
}
