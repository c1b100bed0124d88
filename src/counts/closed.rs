//! Closed-form estimators from the numbers of units seen once (f1) and twice (f2).

use crate::ci;
use crate::data::CountData;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate};

fn f12(data: &CountData) -> (f64, f64, f64) {
    (
        data.frequency_of(1) as f64,
        data.frequency_of(2) as f64,
        data.observed() as f64,
    )
}

fn finish(method: &str, n: f64, var: f64, observed: f64, level: f64) -> Result<Estimate> {
    let se = var.sqrt();
    Ok(Estimate::new(
        method,
        method,
        n,
        se,
        ci::log_normal(n, se, observed, level),
        observed as u64,
    )
    .with_other_interval(ci::wald(n, se, observed, level))
    .with_assumptions(&[
        Assumption::ClosedPopulation,
        Assumption::LowCountsInformative,
    ]))
}

/// Chao's (1987) lower bound with its variance and log-normal interval.
///
/// ```text
/// N̂ = n + f1²/(2 f2)
/// Var = f2 · [ (f1/f2)⁴/4 + (f1/f2)³ + (f1/f2)²/2 ]
/// ```
/// Equals the intercept-only [`Family::Chao`](super::Family::Chao) fit's N̂.
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad level; [`Error::EstimateDoesNotExist`] when
/// f2 = 0 (use [`chao_bias_corrected`]).
///
/// # References
/// Chao, A. (1987) Biometrics 43, 783-791; singleRcapture `chao()` (point estimate).
///
/// # Examples
/// ```
/// use darkfigure::data::CountData;
/// let d = CountData::from_frequency_table(&[(1, 1645), (2, 183), (3, 37), (4, 13), (5, 1), (6, 1)])?;
/// let e = darkfigure::counts::chao_lower_bound(&d, 0.95)?;
/// assert!((e.n_hat - 9273.510928961).abs() < 1e-6);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn chao_lower_bound(data: &CountData, level: f64) -> Result<Estimate> {
    ci::check_level(level)?;
    let (f1, f2, n) = f12(data);
    if f2 == 0.0 {
        return Err(Error::no_estimate(
            "Chao's lower bound needs units seen twice (f2 = 0); use the bias-corrected form",
        ));
    }
    let r = f1 / f2;
    let var = f2 * (r.powi(4) / 4.0 + r.powi(3) + r * r / 2.0);
    finish("chao", n + f1 * f1 / (2.0 * f2), var, n, level)
}

/// Chao's bias-corrected lower bound (defined when f2 = 0).
///
/// ```text
/// N̂ = n + f1(f1 − 1) / (2(f2 + 1))
/// Var = f1(f1−1)/(2(f2+1)) + f1(2f1−1)²/(4(f2+1)²) + f1²(f1−1)² f2/(4(f2+1)⁴)
/// ```
/// # Errors
/// [`Error::InvalidParameter`] for a bad level.
///
/// # References
/// Chao, A. (2005) Species estimation and applications, Encyclopedia of Statistical
/// Sciences; Chiu, Wang, Walther & Chao (2014) Biometrics 70, 671-682.
pub fn chao_bias_corrected(data: &CountData, level: f64) -> Result<Estimate> {
    ci::check_level(level)?;
    let (f1, f2, n) = f12(data);
    let f0 = f1 * (f1 - 1.0) / (2.0 * (f2 + 1.0));
    let var = f0
        + f1 * (2.0 * f1 - 1.0).powi(2) / (4.0 * (f2 + 1.0).powi(2))
        + f1 * f1 * (f1 - 1.0).powi(2) * f2 / (4.0 * (f2 + 1.0).powi(4));
    finish("chao (bias-corrected)", n + f0, var, n, level)
}

/// Zelterman's (1988) estimator with its variance.
///
/// ```text
/// λ̂ = 2 f2 / f1,   N̂ = n / (1 − e^{−λ̂})
/// Var = n e^{−λ̂}/(1 − e^{−λ̂})² + (n λ̂ e^{−λ̂}/(1 − e^{−λ̂})²)² (1/f1 + 1/f2)
/// ```
/// (the HT term plus the delta-method term of ln λ̂, as singleRcapture's intercept-only
/// `zelterman` model).
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad level; [`Error::EstimateDoesNotExist`] when f1
/// or f2 is 0.
///
/// # References
/// Zelterman, D. (1988) J. Statist. Plann. Inference 18, 225-237; Böhning & van der
/// Heijden (2009) Ann. Appl. Stat. 3, 1652-1668; singleRcapture `zelterman()`.
///
/// # Examples
/// ```
/// use darkfigure::data::CountData;
/// let d = CountData::from_frequency_table(&[(1, 1645), (2, 183), (3, 37), (4, 13), (5, 1), (6, 1)])?;
/// let e = darkfigure::counts::zelterman(&d, 0.95)?;
/// assert!((e.n_hat - 9424.555193858).abs() < 1e-6);
/// assert!((e.se - 683.9706051355).abs() < 1e-6);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn zelterman(data: &CountData, level: f64) -> Result<Estimate> {
    ci::check_level(level)?;
    let (f1, f2, n) = f12(data);
    if f1 == 0.0 || f2 == 0.0 {
        return Err(Error::no_estimate(
            "Zelterman's estimator needs units seen once and twice (f1, f2 > 0)",
        ));
    }
    let lam = 2.0 * f2 / f1;
    let e = (-lam).exp();
    let p = 1.0 - e;
    let var = n * e / (p * p) + (n * lam * e / (p * p)).powi(2) * (1.0 / f1 + 1.0 / f2);
    finish("zelterman", n / p, var, n, level)
}
