//! The interval toolkit shared by every estimator: normal and chi-square quantiles, Wald
//! and log-normal (Chao 1987) intervals, and the root search used to invert a profile
//! likelihood.

use crate::error::{Error, Result};
use crate::estimate::{Interval, IntervalMethod};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Checks a confidence level lies strictly between 0 and 1.
pub fn check_level(level: f64) -> Result<()> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(Error::param("level", level, "a number strictly between 0 and 1"))
    }
}

/// Two-sided standard-normal quantile z such that P(|Z| ≤ z) = `level`.
pub fn z_two_sided(level: f64) -> f64 {
    let n = Normal::standard();
    n.inverse_cdf(0.5 + level / 2.0)
}

/// Quantile of the chi-square distribution with `df` degrees of freedom.
pub fn chi2_quantile(p: f64, df: f64) -> f64 {
    // statrs only fails for df <= 0, which callers never pass.
    ChiSquared::new(df)
        .map(|c| c.inverse_cdf(p))
        .unwrap_or(f64::NAN)
}

/// Upper-tail probability of the chi-square distribution with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    ChiSquared::new(df)
        .map(|c| c.sf(x.max(0.0)))
        .unwrap_or(f64::NAN)
}

/// Wald interval N̂ ± z·SE, with the lower limit clipped at the number observed.
///
/// ```text
/// [max(n, N̂ − z·SE), N̂ + z·SE]
/// ```
pub fn wald(n_hat: f64, se: f64, observed: f64, level: f64) -> Interval {
    let z = z_two_sided(level);
    Interval {
        lower: (n_hat - z * se).max(observed),
        upper: n_hat + z * se,
        level,
        method: IntervalMethod::Wald,
    }
}

/// Log-normal interval on the dark figure (Chao 1987, Biometrics 43, 783-791).
///
/// ```text
/// f0 = N̂ − n,  C = exp( z · sqrt( ln(1 + SE² / f0²) ) )
/// [n + f0 / C,  n + f0 · C]
/// ```
/// When f0 = 0 the interval collapses to `[n, n]`.
pub fn log_normal(n_hat: f64, se: f64, observed: f64, level: f64) -> Interval {
    let z = z_two_sided(level);
    let f0 = n_hat - observed;
    let (lower, upper) = if f0 <= 0.0 {
        (observed, observed.max(n_hat))
    } else {
        let c = (z * (1.0 + se * se / (f0 * f0)).ln().sqrt()).exp();
        (observed + f0 / c, observed + f0 * c)
    };
    Interval {
        lower,
        upper,
        level,
        method: IntervalMethod::LogNormal,
    }
}

/// Finds x in `[lo, hi]` with `f(x) = 0` by the Illinois variant of false position,
/// given `f(lo)` and `f(hi)` of opposite signs. Returns `None` when they are not, or when
/// `f` is not finite along the way.
pub fn find_root(mut f: impl FnMut(f64) -> f64, lo: f64, hi: f64, tol: f64) -> Option<f64> {
    let (mut a, mut b) = (lo, hi);
    let (mut fa, mut fb) = (f(a), f(b));
    if !(fa.is_finite() && fb.is_finite()) || fa * fb > 0.0 {
        return None;
    }
    if fa == 0.0 {
        return Some(a);
    }
    for _ in 0..300 {
        if fb == 0.0 || (b - a).abs() <= tol * (1.0 + b.abs()) {
            return Some(b);
        }
        let mut x = b - fb * (b - a) / (fb - fa);
        let (mn, mx) = if a < b { (a, b) } else { (b, a) };
        if !(x > mn && x < mx) {
            x = 0.5 * (a + b);
        }
        let fx = f(x);
        if !fx.is_finite() {
            return None;
        }
        if fx * fb < 0.0 {
            a = b;
            fa = fb;
        } else {
            fa *= 0.5;
        }
        b = x;
        fb = fx;
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_tables() {
        assert!((z_two_sided(0.95) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((chi2_quantile(0.95, 1.0) - 3.841_458_820_694_124).abs() < 1e-9);
    }

    #[test]
    fn log_normal_collapses_when_nothing_missing() {
        let i = log_normal(100.0, 0.0, 100.0, 0.95);
        assert_eq!((i.lower, i.upper), (100.0, 100.0));
    }

    #[test]
    fn root_finder_finds_sqrt2() {
        let r = find_root(|x| x * x - 2.0, 0.0, 2.0, 1e-14).unwrap();
        assert!((r - 2f64.sqrt()).abs() < 1e-10);
        assert!(find_root(|x| x * x + 1.0, 0.0, 2.0, 1e-12).is_none());
    }
}
