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
        Err(Error::param(
            "level",
            level,
            "a number strictly between 0 and 1",
        ))
    }
}

/// Two-sided standard-normal quantile z such that P(|Z| ≤ z) = `level`.
///
/// A level outside (0, 1) (or NaN) gives NaN rather than a panic, and so do the
/// intervals built on it ([`wald`], [`log_normal`], the bootstrap intervals): the
/// estimators refuse such a level up front with [`check_level`]; callers of these
/// functions should do the same.
pub fn z_two_sided(level: f64) -> f64 {
    if check_level(level).is_err() {
        return f64::NAN;
    }
    let n = Normal::standard();
    n.inverse_cdf(0.5 + level / 2.0)
}

/// Quantile of the chi-square distribution with `df` degrees of freedom.
pub fn chi2_quantile(p: f64, df: f64) -> f64 {
    // statrs fails for df <= 0 and panics for p outside [0, 1]: NaN instead.
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
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

/// Bootstrap confidence intervals from replicate estimates (Efron & Tibshirani 1993,
/// ch. 13-14; Davison & Hinkley 1997 §5.2-5.3).
pub mod bootstrap {
    use super::z_two_sided;
    use crate::estimate::{Interval, IntervalMethod};
    use statrs::distribution::{ContinuousCDF, Normal};

    /// Empirical quantile of sorted values (linear interpolation, R's type 7).
    pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
        let lo = h.floor() as usize;
        let hi = h.ceil() as usize;
        sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
    }

    fn sorted_finite(reps: &[f64]) -> Vec<f64> {
        let mut v: Vec<f64> = reps.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v
    }

    /// Percentile interval: the α/2 and 1 − α/2 quantiles of the replicates.
    pub fn percentile(reps: &[f64], level: f64) -> Interval {
        let s = sorted_finite(reps);
        let a = (1.0 - level) / 2.0;
        Interval {
            lower: quantile_sorted(&s, a),
            upper: quantile_sorted(&s, 1.0 - a),
            level,
            method: IntervalMethod::BootstrapPercentile,
        }
    }

    /// Basic (reverse percentile) interval: `[2θ̂ − q(1 − α/2), 2θ̂ − q(α/2)]`.
    pub fn basic(theta: f64, reps: &[f64], level: f64) -> Interval {
        let p = percentile(reps, level);
        Interval {
            lower: 2.0 * theta - p.upper,
            upper: 2.0 * theta - p.lower,
            level,
            method: IntervalMethod::BootstrapBasic,
        }
    }

    /// Standard deviation of the finite replicates (n − 1 denominator).
    pub fn sd(reps: &[f64]) -> f64 {
        let v = sorted_finite(reps);
        let n = v.len() as f64;
        if n < 2.0 {
            return f64::NAN;
        }
        let m = v.iter().sum::<f64>() / n;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    }

    /// Normal interval: `θ̂ ± z · sd(replicates)`.
    pub fn normal(theta: f64, reps: &[f64], level: f64) -> Interval {
        let z = z_two_sided(level);
        let s = sd(reps);
        Interval {
            lower: theta - z * s,
            upper: theta + z * s,
            level,
            method: IntervalMethod::BootstrapNormal,
        }
    }

    /// Acceleration of the BCa interval from jackknife (or other influence) values:
    /// `a = Σ (θ̄ − θ_i)³ / (6 [Σ (θ̄ − θ_i)²]^{3/2})`.
    pub fn acceleration(jackknife: &[f64]) -> f64 {
        let n = jackknife.len() as f64;
        let m = jackknife.iter().sum::<f64>() / n;
        let num: f64 = jackknife.iter().map(|t| (m - t).powi(3)).sum();
        let den: f64 = jackknife
            .iter()
            .map(|t| (m - t).powi(2))
            .sum::<f64>()
            .powf(1.5);
        if den > 0.0 { num / (6.0 * den) } else { 0.0 }
    }

    /// Bias-corrected and accelerated interval (Efron 1987):
    ///
    /// ```text
    /// z0 = Φ⁻¹( #{θ*_b < θ̂} / B ),   α_{1,2} = Φ( z0 + (z0 + z_{α/2, 1−α/2}) / (1 − a (z0 + z_{…})) )
    /// ```
    /// Replicates equal to θ̂ count half (a standard tie rule). Returns the percentile
    /// interval's limits at the adjusted levels α1, α2.
    pub fn bca(theta: f64, reps: &[f64], accel: f64, level: f64) -> Interval {
        let s = sorted_finite(reps);
        if s.is_empty() || super::check_level(level).is_err() || !accel.is_finite() {
            return Interval {
                lower: f64::NAN,
                upper: f64::NAN,
                level,
                method: IntervalMethod::BootstrapBca,
            };
        }
        let std = Normal::standard();
        let b = s.len() as f64;
        let below = s.iter().filter(|&&x| x < theta).count() as f64
            + 0.5 * s.iter().filter(|&&x| x == theta).count() as f64;
        let prop = (below / b).clamp(0.5 / b, 1.0 - 0.5 / b);
        let z0 = std.inverse_cdf(prop);
        let a = (1.0 - level) / 2.0;
        let adj = |q: f64| {
            let zq = std.inverse_cdf(q);
            std.cdf(z0 + (z0 + zq) / (1.0 - accel * (z0 + zq)))
        };
        Interval {
            lower: quantile_sorted(&s, adj(a)),
            upper: quantile_sorted(&s, adj(1.0 - a)),
            level,
            method: IntervalMethod::BootstrapBca,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn quantile_type7_matches_r() {
            // quantile(1:10, c(.025, .5, .975)) = 1.225 5.5 9.775
            let v: Vec<f64> = (1..=10).map(|x| x as f64).collect();
            assert!((quantile_sorted(&v, 0.025) - 1.225).abs() < 1e-12);
            assert!((quantile_sorted(&v, 0.5) - 5.5).abs() < 1e-12);
            assert!((quantile_sorted(&v, 0.975) - 9.775).abs() < 1e-12);
        }

        #[test]
        fn symmetric_replicates_give_matching_intervals() {
            let reps: Vec<f64> = (0..1001)
                .map(|i| 100.0 + (i as f64 - 500.0) / 50.0)
                .collect();
            let p = percentile(&reps, 0.9);
            let b = bca(100.0, &reps, 0.0, 0.9);
            assert!((p.lower - b.lower).abs() < 1e-9 && (p.upper - b.upper).abs() < 1e-9);
            let k = basic(100.0, &reps, 0.9);
            assert!((k.lower - p.lower).abs() < 1e-9);
            assert!((quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.5) - 2.5).abs() < 1e-12);
        }
    }
}
