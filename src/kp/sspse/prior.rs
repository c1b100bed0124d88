//! The prior on the population size N (sspse's `dsizeprior`).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The prior on the population size N.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SizePrior {
    /// sspse's default (`priorsizedistribution = "beta"`): a Beta(α, β) prior on the
    /// sample fraction n/N, with α = M/(M − n) and β chosen so that the prior median of N
    /// is `median` (M), truncated where the prior density falls to 1% of its mode.
    Beta {
        /// Prior median of N.
        median: f64,
    },
    /// Uniform on n ≤ N < `max` (sspse's `"flat"`, whose default `max` is 10·n).
    Flat {
        /// Upper limit of N (exclusive).
        max: u64,
    },
    /// p(N) ∝ 1/N on n ≤ N < `max` (the scale-invariant reference prior).
    Reciprocal {
        /// Upper limit of N (exclusive).
        max: u64,
    },
}

/// A prior on N tabulated on its support `n ≤ N < max_n`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabulatedPrior {
    /// The prior it tabulates.
    pub prior: SizePrior,
    /// Number of distinct respondents (the smallest possible N).
    pub n: u64,
    /// First value of N outside the support.
    pub max_n: u64,
    /// log p(N = n + m), m = 0, 1, … (normalised).
    pub log_p: Vec<f64>,
    /// Beta-prior shape α on n/N (NaN for the other priors).
    pub alpha: f64,
    /// Beta-prior shape β on n/N (NaN for the other priors).
    pub beta: f64,
}

/// Largest β sspse's search allows (`maxbeta` of `posteriorsize`).
const MAX_BETA: f64 = 90.0;
/// sspse's `maxNmax`.
const MAX_N_CAP: u64 = 200_000;

/// ln(x + ½ − n) and ln(x + ½) on the grid x = n..=max: the beta prior's log density is
/// `df·[(β−1)·ln(x+½−n) − (α+β)·ln(x+½)] + const`, and the constant (n^α Γ(α+β)/(Γ(α)Γ(β)))
/// drops out when the table is normalised.
struct BetaGrid {
    n: u64,
    l1: Vec<f64>,
    l2: Vec<f64>,
}

impl BetaGrid {
    fn new(n: u64, max: u64) -> BetaGrid {
        let nf = n as f64;
        let (l1, l2) = (n..=max)
            .map(|x| {
                let x = x as f64 + 0.5;
                ((x - nf).ln(), x.ln())
            })
            .unzip();
        BetaGrid { n, l1, l2 }
    }

    /// Unnormalised log densities on n..n + len.
    fn logs(&self, len: usize, a: f64, b: f64, df: f64) -> impl Iterator<Item = f64> + '_ {
        self.l1[..len]
            .iter()
            .zip(&self.l2[..len])
            .map(move |(l1, l2)| df * ((b - 1.0) * l1 - (a + b) * l2))
    }

    /// The prior's probabilities on N = n..=max (normalised, not logged).
    fn probs(&self, a: f64, b: f64, df: f64, out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.logs(self.l1.len(), a, b, df));
        let mx = out.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for v in out.iter_mut() {
            *v = (*v - mx).exp();
            s += *v;
        }
        for v in out.iter_mut() {
            *v /= s;
        }
    }

    /// β giving the prior median `m` on the grid (bisection: the median grows with β).
    fn fit_beta(&self, a: f64, m: f64, df: f64, buf: &mut Vec<f64>) -> f64 {
        let (mut lo, mut hi) = (1.0_f64, MAX_BETA);
        for _ in 0..50 {
            let mid = 0.5 * (lo + hi);
            self.probs(a, mid, df, buf);
            if discrete_median(self.n, buf) < m {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo < 1e-4 {
                break;
            }
        }
        0.5 * (lo + hi)
    }
}

fn normalised(logs: Vec<f64>) -> Vec<f64> {
    let mx = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = logs.iter().map(|l| (l - mx).exp()).sum();
    let lz = mx + s.ln();
    logs.into_iter().map(|l| l - lz).collect()
}

/// The discrete median as sspse computes it: (x + 0.5) at the first cumulative ≥ 0.5.
fn discrete_median(n: u64, p: &[f64]) -> f64 {
    let mut c = 0.0;
    for (i, pi) in p.iter().enumerate() {
        c += pi;
        if c >= 0.5 {
            return (n + i as u64) as f64 + 0.5;
        }
    }
    (n + p.len() as u64) as f64 - 0.5
}

impl SizePrior {
    /// Tabulates the prior for a sample of `n` distinct respondents.
    ///
    /// For the beta prior this follows sspse 1.1.0-6's `dsizeprior(type = "proportion",
    /// median.prior.size = M)`:
    /// ```text
    /// p(N) ∝ [n^α Γ(α+β)/(Γ(α)Γ(β)) (N+½−n)^(β−1) / (N+½)^(α+β)]^df,  α = M/(M−n),
    /// df = 1 (3 when M < 750), β: prior median = M on the grid n..maxN,
    /// maxN: start at 3M, ×1.1 / ×0.9 until p(maxN)/max p ∈ [0.005, 0.015];
    /// support finally n ≤ N < maxN − n (as the package does).
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a median that is not finite and above n, or an
    /// upper limit not above n.
    ///
    /// # References
    /// Handcock, Gile & Mar (2014) *Electronic Journal of Statistics* 8, 1491–1521;
    /// R `sspse::dsizeprior`.
    pub fn tabulate(self, n: u64) -> Result<TabulatedPrior> {
        match self {
            SizePrior::Beta { median } => {
                if !median.is_finite() || median <= n as f64 {
                    return Err(Error::param(
                        "prior median",
                        median,
                        format!("a number above the {n} respondents seen"),
                    ));
                }
                let df = if median < 750.0 { 3.0 } else { 1.0 };
                let a = median / (median - n as f64);
                let mut max = (3.0 * median).ceil() as u64;
                let mut buf = Vec::new();
                let mut grid = BetaGrid::new(n, max);
                let mut b = grid.fit_beta(a, median, df, &mut buf);
                for _ in 0..200 {
                    grid.probs(a, b, df, &mut buf);
                    let pmax = buf.iter().cloned().fold(0.0, f64::max);
                    let ratio = buf[buf.len() - 1] / pmax;
                    if (ratio - 0.01).abs() <= 0.005 {
                        break;
                    }
                    let f = if ratio > 0.01 { 1.1 } else { 0.9 };
                    max = ((max as f64) * f).round() as u64;
                    max = max.max(n + 2);
                    grid = BetaGrid::new(n, max);
                    b = grid.fit_beta(a, median, df, &mut buf);
                }
                let max_final = (max - n).clamp(n + 2, MAX_N_CAP);
                let grid = BetaGrid::new(n, max_final);
                let logs: Vec<f64> = grid.logs((max_final - n) as usize, a, b, df).collect();
                Ok(TabulatedPrior {
                    prior: self,
                    n,
                    max_n: max_final,
                    log_p: normalised(logs),
                    alpha: a,
                    beta: b,
                })
            }
            SizePrior::Flat { max } | SizePrior::Reciprocal { max } => {
                if max <= n + 1 {
                    return Err(Error::param(
                        "prior maximum",
                        max,
                        format!("a number above n + 1 = {}", n + 1),
                    ));
                }
                let recip = matches!(self, SizePrior::Reciprocal { .. });
                let logs: Vec<f64> = (n..max)
                    .map(|x| if recip { -(x as f64).ln() } else { 0.0 })
                    .collect();
                Ok(TabulatedPrior {
                    prior: self,
                    n,
                    max_n: max,
                    log_p: normalised(logs),
                    alpha: f64::NAN,
                    beta: f64::NAN,
                })
            }
        }
    }

    /// A short label for reports.
    pub fn label(&self) -> String {
        match self {
            SizePrior::Beta { median } => format!("beta prior on n/N, prior median {median}"),
            SizePrior::Flat { max } => format!("flat prior on N below {max}"),
            SizePrior::Reciprocal { max } => format!("1/N prior on N below {max}"),
        }
    }
}

impl TabulatedPrior {
    /// Prior quantile of N (smallest N with cumulative probability ≥ p).
    pub fn quantile(&self, p: f64) -> u64 {
        let mut c = 0.0;
        for (m, l) in self.log_p.iter().enumerate() {
            c += l.exp();
            if c >= p {
                return self.n + m as u64;
            }
        }
        self.max_n - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_prior_matches_sspse_summary() {
        // kp.json sspse package_summary_prior (median.prior.size = 1000, n = 500):
        // median 1000, 25% 748, 75% 1480, mode 680.
        let t = SizePrior::Beta { median: 1000.0 }.tabulate(500).unwrap();
        let med = t.quantile(0.5) as f64;
        assert!((med - 1000.0).abs() < 40.0, "median {med} maxN {}", t.max_n);
        assert!((t.alpha - 2.0).abs() < 1e-12);
    }

    #[test]
    fn bad_median_is_an_error() {
        assert!(SizePrior::Beta { median: 400.0 }.tabulate(500).is_err());
        assert!(SizePrior::Flat { max: 500 }.tabulate(500).is_err());
    }
}
