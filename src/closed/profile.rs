//! Multinomial profile-likelihood intervals for N (Cormack 1992; Rcapture's
//! `closedpCI.t` / `closedpCI.0`).

use super::design::Design;
use super::fit::fit_design;
use crate::ci::{chi2_quantile, find_root};
use crate::error::{Error, Result};
use crate::glm::PoissonGlm;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

/// A profile-likelihood interval for N and the profile maximiser it surrounds.
///
/// The interval surrounds `ci_abundance`, the maximiser of the multinomial profile
/// likelihood, **not** the Poisson-regression N̂ (which is slightly larger; Rcapture
/// reports both, e.g. hare Mh Chao 79.84 against 78.38).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileInterval {
    /// Maximiser of the multinomial profile log-likelihood (Rcapture's `CI[,"abundance"]`).
    pub ci_abundance: f64,
    /// Lower limit.
    pub lower: f64,
    /// Upper limit (the search ceiling when `upper_limit_hit`).
    pub upper: f64,
    /// Confidence level.
    pub level: f64,
    /// The lower limit was clipped at n (the profile stays above its threshold down to n).
    pub lower_clipped: bool,
    /// The upper limit lies beyond the search ceiling `fmax · N̂`.
    pub upper_limit_hit: bool,
    /// The search ceiling `fmax · N̂`.
    pub search_limit: f64,
    /// Profile log-likelihood at the maximum.
    pub max_loglik: f64,
    /// Evaluated points (N, profile log-likelihood), sorted by N.
    pub curve: Vec<(f64, f64)>,
}

/// Cormack's (1992) correction turning the Poisson deviance into a multinomial profile
/// log-likelihood, exactly as Rcapture computes it (Stirling form above N = 100).
fn cormack(n_total: f64, n0: f64) -> f64 {
    if n_total > 100.0 {
        if n0 == 0.0 || n0 == 1.0 {
            -n_total + 0.5 * (2.0 * std::f64::consts::PI * n_total).ln()
        } else {
            n0 - n_total - 0.5 * (n0 / n_total).ln()
        }
    } else {
        let a = if n0 > 0.0 { n0 * n0.ln() } else { 0.0 };
        a + ln_gamma(n_total + 1.0) - n_total * n_total.ln() - ln_gamma(n0 + 1.0)
    }
}

/// Brent's minimiser on [a, b] (golden section with parabolic steps).
fn brent_min(mut f: impl FnMut(f64) -> f64, a: f64, b: f64, tol: f64) -> (f64, f64) {
    let c = 0.5 * (3.0 - 5f64.sqrt());
    let (mut a, mut b) = (a, b);
    let mut v = a + c * (b - a);
    let mut w = v;
    let mut x = v;
    let mut fx = f(x);
    let mut fv = fx;
    let mut fw = fx;
    let mut d: f64 = 0.0;
    let mut e: f64 = 0.0;
    for _ in 0..200 {
        let xm = 0.5 * (a + b);
        let tol1 = tol * x.abs() + 1e-10;
        let tol2 = 2.0 * tol1;
        if (x - xm).abs() <= tol2 - 0.5 * (b - a) {
            break;
        }
        let mut golden = true;
        if e.abs() > tol1 {
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            }
            q = q.abs();
            let etemp = e;
            e = d;
            if p.abs() < (0.5 * q * etemp).abs() && p > q * (a - x) && p < q * (b - x) {
                d = p / q;
                let u = x + d;
                if u - a < tol2 || b - u < tol2 {
                    d = if xm >= x { tol1 } else { -tol1 };
                }
                golden = false;
            }
        }
        if golden {
            e = if x >= xm { a - x } else { b - x };
            d = c * e;
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else {
            x + tol1 * d.signum()
        };
        let fu = f(u);
        if fu <= fx {
            if u >= x {
                a = x;
            } else {
                b = x;
            }
            v = w;
            fv = fw;
            w = x;
            fw = fx;
            x = u;
            fx = fu;
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                v = w;
                fv = fw;
                w = u;
                fw = fu;
            } else if fu <= fv || v == x || v == w {
                v = u;
                fv = fu;
            }
        }
    }
    (x, fx)
}

/// Profile log-likelihood evaluator for one design.
pub(crate) struct Profile<'a> {
    design: &'a Design,
    n: f64,
    neg: bool,
    glm: PoissonGlm,
    pub curve: Vec<(f64, f64)>,
}

impl<'a> Profile<'a> {
    pub fn new(design: &'a Design, n: f64, neg: bool) -> Self {
        Profile {
            design,
            n,
            neg,
            glm: PoissonGlm::params().epsilon(1e-11).maxit(100),
            curve: Vec::new(),
        }
    }

    /// Multinomial profile log-likelihood at N.
    pub fn loglik(&mut self, big_n: f64) -> f64 {
        let n0 = (big_n - self.n).max(0.0);
        let d = self.design.augmented(n0);
        let mut res = fit_design(d.clone(), self.neg, &self.glm);
        let warm = self.glm.start.is_some();
        if warm
            && !res
                .as_ref()
                .is_ok_and(|f| f.glm.stop.converged() && f.glm.deviance.is_finite())
        {
            // The warm start failed: fall back to R's start.
            self.glm.start = None;
            res = fit_design(d, self.neg, &self.glm);
        }
        let dev = match res {
            Ok(f) => {
                // Warm start of the next evaluation (the profile needs converged fits,
                // not R's path).
                self.glm.start = (f.dropped.is_empty() && f.glm.stop.converged())
                    .then(|| f.glm.coefficients.clone());
                f.glm.deviance
            }
            Err(_) => {
                self.glm.start = None;
                return f64::NAN;
            }
        };
        // Rcapture's N in the correction is the sum of the augmented counts, which
        // leaves out units caught more than t0 times in `.0` fits.
        let l = -dev / 2.0 + cormack(self.design.total() + n0, n0);
        self.curve.push((big_n, l));
        l
    }
}

/// Computes the profile interval of a design whose Poisson estimate is `n_hat`.
///
/// # Errors
/// [`Error::Numerical`] when the profile cannot be evaluated or has no interior maximum.
pub(crate) fn profile_interval(
    design: &Design,
    n: f64,
    n_hat: f64,
    neg: bool,
    level: f64,
    fmax: f64,
) -> Result<ProfileInterval> {
    let mut pr = Profile::new(design, n, neg);
    let hi = (1.5 * n_hat).max(n + 1.0);
    let (nmax, negl) = brent_min(|x| -pr.loglik(x), n, hi, 1e-10);
    let lmax = -negl;
    if !lmax.is_finite() {
        return Err(Error::Numerical {
            reason: "the multinomial profile likelihood could not be evaluated".into(),
        });
    }
    let lmin = lmax - chi2_quantile(level, 1.0) / 2.0;
    let tol = 1e-10;
    let f_n = pr.loglik(n) - lmin;
    let (lower, lower_clipped) = if f_n > 0.0 || nmax <= n {
        (n, true)
    } else {
        match find_root(|x| pr.loglik(x) - lmin, n, nmax, tol) {
            Some(r) => (r, false),
            None => (n, true),
        }
    };
    let limit = fmax * n_hat;
    let f_hi = pr.loglik(limit) - lmin;
    let (upper, upper_limit_hit) = if f_hi > 0.0 {
        (limit, true)
    } else {
        match find_root(|x| pr.loglik(x) - lmin, nmax, limit, tol) {
            Some(r) => (r, false),
            None => (limit, true),
        }
    };
    let mut curve = pr.curve;
    curve.retain(|p| p.1.is_finite());
    curve.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(ProfileInterval {
        ci_abundance: nmax,
        lower,
        upper,
        level,
        lower_clipped,
        upper_limit_hit,
        search_limit: limit,
        max_loglik: lmax,
        curve,
    })
}

impl std::fmt::Display for ProfileInterval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::estimate::fmt_num;
        write!(
            f,
            "multinomial N̂ {} [{}{}, {}{}] ({:.0}% profile likelihood)",
            fmt_num(self.ci_abundance),
            if self.lower_clipped { "=n " } else { "" },
            fmt_num(self.lower),
            if self.upper_limit_hit { ">" } else { "" },
            fmt_num(self.upper),
            self.level * 100.0
        )
    }
}
