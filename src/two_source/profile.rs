//! Profile likelihood for N under model Mt (time-varying capture probabilities), the
//! likelihood-based interval of the classic estimators.

use crate::ci::{self, find_root};
use crate::error::{Error, Result};
use crate::estimate::{Interval, IntervalMethod};
use crate::prec::PROFILE_ROOT_TOL;
use statrs::function::gamma::{digamma, ln_gamma};

/// The maximiser of the Mt profile likelihood and the interval around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MtProfile {
    /// Maximiser of the profile likelihood (infinite when there are no recaptures).
    pub n_max: f64,
    /// The profile-likelihood interval.
    pub interval: Interval,
}

/// Profile log-likelihood of N under Mt, up to a constant:
///
/// ```text
/// l(N) = ln Γ(N + 1) − ln Γ(N − r + 1) + Σ_j [ n_j ln(n_j / N) + (N − n_j) ln(1 − n_j / N) ]
/// ```
/// with `r` distinct units seen and `n_j` caught on occasion j.
fn loglik(n: f64, n_j: &[u64], r: f64) -> f64 {
    let mut l = ln_gamma(n + 1.0) - ln_gamma(n - r + 1.0);
    for &nj in n_j {
        let nj = nj as f64;
        if nj > 0.0 {
            l += nj * (nj / n).ln();
        }
        if n > nj {
            l += (n - nj) * (1.0 - nj / n).ln();
        }
    }
    l
}

/// Limit of `loglik` as N → ∞ when Σ n_j = r (no recaptures).
fn loglik_at_infinity(n_j: &[u64]) -> f64 {
    n_j.iter()
        .map(|&nj| {
            let nj = nj as f64;
            if nj > 0.0 { nj * nj.ln() - nj } else { 0.0 }
        })
        .sum()
}

fn score(n: f64, n_j: &[u64], r: f64) -> f64 {
    let mut s = digamma(n + 1.0) - digamma(n - r + 1.0);
    for &nj in n_j {
        s += (1.0 - nj as f64 / n).ln();
    }
    s
}

/// Profile-likelihood interval for N under model Mt (Otis et al. 1978; Cormack 1992),
/// the multinomial profile that `Rcapture::closedpCI.t(m = "Mt")` inverts.
///
/// ```text
/// { N ≥ r : 2 [ l(N̂) − l(N) ] ≤ χ²₁(level) }
/// ```
/// With no recaptures (Σ n_j = r) the likelihood rises to a finite limit as N → ∞: the
/// interval is then unbounded above.
///
/// # Errors
/// [`Error::InvalidParameter`] for a level outside (0, 1); [`Error::Numerical`] when the
/// root search fails.
pub fn mt_profile_interval(n_j: &[u64], r: u64, level: f64) -> Result<MtProfile> {
    ci::check_level(level)?;
    let rf = r as f64;
    let total: u64 = n_j.iter().sum();
    let crit = ci::chi2_quantile(level, 1.0) / 2.0;
    let lo_n = (*n_j.iter().max().unwrap_or(&0) as f64).max(rf);
    let fail = |what: &str| Error::Numerical {
        reason: format!("Mt profile likelihood: {what}"),
    };
    if total == r {
        // No recaptures: maximum at infinity.
        let lmax = loglik_at_infinity(n_j);
        let g = |n: f64| lmax - loglik(n, n_j, rf) - crit;
        let lower = if g(lo_n) <= 0.0 {
            lo_n
        } else {
            let mut hi = lo_n * 2.0 + 1.0;
            while g(hi) > 0.0 {
                hi *= 2.0;
                if hi > 1e18 {
                    return Err(fail("lower limit not found"));
                }
            }
            find_root(g, lo_n, hi, PROFILE_ROOT_TOL).ok_or_else(|| fail("lower limit"))?
        };
        return Ok(MtProfile {
            n_max: f64::INFINITY,
            interval: Interval {
                lower,
                upper: f64::INFINITY,
                level,
                method: IntervalMethod::ProfileLikelihood,
            },
        });
    }
    // Maximiser: the score decreases in N; bracket its root.
    let start = lo_n + 1e-9 * (1.0 + lo_n);
    let n_max = if score(start, n_j, rf) <= 0.0 {
        lo_n
    } else {
        let mut hi = 2.0 * lo_n + 1.0;
        while score(hi, n_j, rf) > 0.0 {
            hi *= 2.0;
            if hi > 1e18 {
                return Err(fail("maximiser not found"));
            }
        }
        find_root(|n| score(n, n_j, rf), start, hi, PROFILE_ROOT_TOL)
            .ok_or_else(|| fail("maximiser"))?
    };
    let lmax = loglik(n_max, n_j, rf);
    let g = |n: f64| lmax - loglik(n, n_j, rf) - crit;
    let lower = if g(lo_n) <= 0.0 {
        lo_n
    } else {
        find_root(g, lo_n, n_max, PROFILE_ROOT_TOL).ok_or_else(|| fail("lower limit"))?
    };
    let mut hi = 2.0 * n_max + 1.0;
    while g(hi) < 0.0 {
        hi *= 2.0;
        if hi > 1e18 {
            return Err(fail("upper limit not found"));
        }
    }
    let upper = find_root(g, n_max, hi, PROFILE_ROOT_TOL).ok_or_else(|| fail("upper limit"))?;
    Ok(MtProfile {
        n_max,
        interval: Interval {
            lower,
            upper,
            level,
            method: IntervalMethod::ProfileLikelihood,
        },
    })
}
