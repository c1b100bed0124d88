//! Closed-form precision of simple designs: checks on the simulation and fast paths.
//!
//! ```text
//! two sources (Lincoln-Petersen / Chapman), capture probabilities p1, p2:
//!     Var(N̂) ≈ N (1 − p1)(1 − p2) / (p1 p2)
//!     relative SE  r = √((1 − p1)(1 − p2) / (N p1 p2)),   relative half-width A = z r
//!     equal effort, target A:  p = 1 / (1 + (A / z) √N)
//! t occasions, model Mt (Darroch 1958):
//!     Var(N̂) ≈ N / (Π (1 − p_j)⁻¹ + t − 1 − Σ (1 − p_j)⁻¹)
//! multiplier (benchmark count M known, survey proportion P from s respondents,
//! design effect d):  N̂ = M / P̂,  relative SE ≈ √(d (1 − P) / (s P))   (delta method)
//!     target A:  s = d z² (1 − P) / (A² P)
//! ```
//! These are large-sample (delta-method) forms: they hold when the expected number of
//! recaptures (two sources: N p1 p2) is large, say 30 or more; for smaller designs use
//! the simulation ([`super::run_plan`]), which also covers heterogeneity, behaviour and
//! list dependence, none of which the closed forms know about.
//!
//! # References
//! Robson, D. S. & Regier, H. A. (1964) Sample size in Petersen mark-recapture
//! experiments. *Trans. Amer. Fish. Soc.* 93, 215-226. Darroch, J. N. (1958) The
//! multiple-recapture census I. *Biometrika* 45, 343-359. UNAIDS/WHO (2010) *Guidelines
//! on estimating the size of populations most at risk to HIV* (multiplier method).

use crate::ci::{check_level, z_two_sided};
use crate::error::{Error, Result};
use serde::Serialize;

/// Expected counts and precision of a two-source design.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TwoSourcePrecision {
    /// Population size N.
    pub population: f64,
    /// Capture probabilities of the two sources.
    pub p: [f64; 2],
    /// Expected numbers caught by each source, N p_j.
    pub expected_caught: [f64; 2],
    /// Expected number caught by both, N p1 p2.
    pub expected_recaptures: f64,
    /// Relative standard error of N̂ (SE / N).
    pub rel_se: f64,
    /// Relative half-width of the `level` Wald interval, z · rel_se (Robson & Regier's
    /// accuracy A: P(|N̂ − N| ≤ A N) ≈ level).
    pub rel_half_width: f64,
    /// Confidence level.
    pub level: f64,
}

fn check_p(p: f64, name: &'static str) -> Result<()> {
    if !(p > 0.0 && p < 1.0) {
        return Err(Error::param(
            name,
            p,
            "a probability strictly between 0 and 1",
        ));
    }
    Ok(())
}

fn check_pos(x: f64, name: &'static str) -> Result<()> {
    if !(x > 0.0 && x.is_finite()) {
        return Err(Error::param(name, x, "a positive number"));
    }
    Ok(())
}

/// Large-sample precision of the Lincoln-Petersen / Chapman estimator for a population of
/// `n` and capture probabilities `p1`, `p2` (Robson & Regier 1964).
///
/// ```text
/// relative SE = √((1 − p1)(1 − p2) / (N p1 p2)),  half-width = z_{level} · relative SE
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for `n` ≤ 0, a probability outside (0, 1) or a level
/// outside (0, 1).
///
/// # Examples
/// ```
/// use darkfigure::plan::closed_form::two_source_precision;
/// // 1,000 people, each list meets 30%: about 90 on both lists
/// let r = two_source_precision(1000.0, 0.3, 0.3, 0.95)?;
/// assert!((r.expected_recaptures - 90.0).abs() < 1e-9);
/// assert!((r.rel_se - (0.49f64 / 90.0).sqrt()).abs() < 1e-12);
/// # Ok::<(), darkfigure::Error>(())
/// ```
///
/// # References
/// Robson & Regier (1964), eq. for the Petersen estimator's variance.
pub fn two_source_precision(n: f64, p1: f64, p2: f64, level: f64) -> Result<TwoSourcePrecision> {
    check_pos(n, "population")?;
    check_p(p1, "p1")?;
    check_p(p2, "p2")?;
    check_level(level)?;
    let rel_se = ((1.0 - p1) * (1.0 - p2) / (n * p1 * p2)).sqrt();
    Ok(TwoSourcePrecision {
        population: n,
        p: [p1, p2],
        expected_caught: [n * p1, n * p2],
        expected_recaptures: n * p1 * p2,
        rel_se,
        rel_half_width: z_two_sided(level) * rel_se,
        level,
    })
}

/// The capture probability per source (the same for both) that gives a two-source
/// Lincoln-Petersen / Chapman estimate the relative half-width `target` at `level`, for a
/// population of `n`: `p = 1 / (1 + (A / z) √N)`.
///
/// # Errors
/// [`Error::InvalidParameter`] for `n` ≤ 0, `target` ≤ 0 or a level outside (0, 1).
///
/// # Examples
/// ```
/// use darkfigure::plan::closed_form::{two_source_precision, two_source_required_p};
/// let p = two_source_required_p(1000.0, 0.2, 0.95)?;
/// let r = two_source_precision(1000.0, p, p, 0.95)?;
/// assert!((r.rel_half_width - 0.2).abs() < 1e-12);
/// # Ok::<(), darkfigure::Error>(())
/// ```
///
/// # References
/// Robson & Regier (1964) give this as charts of n1 = n2 against N and A.
pub fn two_source_required_p(n: f64, target: f64, level: f64) -> Result<f64> {
    check_pos(n, "population")?;
    check_pos(target, "target")?;
    check_level(level)?;
    Ok(1.0 / (1.0 + target / z_two_sided(level) * n.sqrt()))
}

/// Large-sample relative SE of N̂ under model Mt with occasion probabilities `p`
/// (Darroch 1958): `Var(N̂) = N / (Π(1 − p_j)⁻¹ + t − 1 − Σ(1 − p_j)⁻¹)`, so the relative
/// SE is √(Var / N²). For t = 2 it is the two-source form.
///
/// # Errors
/// [`Error::InvalidParameter`] for fewer than two occasions, `n` ≤ 0 or a probability
/// outside (0, 1).
///
/// # References
/// Darroch, J. N. (1958) *Biometrika* 45, 343-359, eq. (3.13); `Rcapture::closedp.t`
/// model Mt is the estimator.
pub fn mt_rel_se(n: f64, p: &[f64]) -> Result<f64> {
    check_pos(n, "population")?;
    if p.len() < 2 {
        return Err(Error::param("occasions", p.len(), "at least 2"));
    }
    for &q in p {
        check_p(q, "p")?;
    }
    let prod: f64 = p.iter().map(|q| 1.0 / (1.0 - q)).product();
    let sum: f64 = p.iter().map(|q| 1.0 / (1.0 - q)).sum();
    let info = prod + p.len() as f64 - 1.0 - sum;
    Ok((n / info).sqrt() / n)
}

/// Precision of a multiplier (benchmark) estimate N̂ = M / P̂.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiplierPrecision {
    /// Share P of the population on the benchmark list.
    pub proportion: f64,
    /// Survey respondents s.
    pub survey_size: f64,
    /// Design effect of the survey (1 for simple random sampling; respondent-driven
    /// samples often 2 or more).
    pub design_effect: f64,
    /// Relative SE of N̂ (delta method).
    pub rel_se: f64,
    /// Relative half-width of the `level` interval.
    pub rel_half_width: f64,
    /// Confidence level.
    pub level: f64,
}

/// Delta-method precision of the multiplier estimate N̂ = M / P̂ when the benchmark
/// count M is known and P̂ is the share of `survey_size` respondents who report being on
/// the benchmark (e.g. received the unique object), with design effect `design_effect`.
///
/// ```text
/// Var(N̂) / N² ≈ Var(P̂) / P² = d (1 − P) / (s P)
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a proportion outside (0, 1), a survey size or design
/// effect that is not positive, or a level outside (0, 1).
///
/// # References
/// UNAIDS/WHO (2010) *Guidelines on estimating the size of populations most at risk to
/// HIV*, section on the multiplier method (the same delta-method form).
pub fn multiplier_precision(
    proportion: f64,
    survey_size: f64,
    design_effect: f64,
    level: f64,
) -> Result<MultiplierPrecision> {
    check_p(proportion, "proportion")?;
    check_pos(survey_size, "survey_size")?;
    check_pos(design_effect, "design_effect")?;
    check_level(level)?;
    let rel_se = (design_effect * (1.0 - proportion) / (survey_size * proportion)).sqrt();
    Ok(MultiplierPrecision {
        proportion,
        survey_size,
        design_effect,
        rel_se,
        rel_half_width: z_two_sided(level) * rel_se,
        level,
    })
}

/// The survey size that gives a multiplier estimate the relative half-width `target`:
/// `s = d z² (1 − P) / (A² P)` (not rounded).
///
/// # Errors
/// As [`multiplier_precision`]; `target` must be positive.
pub fn multiplier_required_survey(
    proportion: f64,
    target: f64,
    design_effect: f64,
    level: f64,
) -> Result<f64> {
    check_p(proportion, "proportion")?;
    check_pos(target, "target")?;
    check_pos(design_effect, "design_effect")?;
    check_level(level)?;
    let z = z_two_sided(level);
    Ok(design_effect * z * z * (1.0 - proportion) / (target * target * proportion))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_invert_and_agree() {
        // Mt with t = 2 is the two-source form
        let a = two_source_precision(500.0, 0.2, 0.35, 0.95).unwrap();
        let b = mt_rel_se(500.0, &[0.2, 0.35]).unwrap();
        assert!((a.rel_se - b).abs() < 1e-12 * b);
        let s = multiplier_required_survey(0.25, 0.1, 2.0, 0.9).unwrap();
        let m = multiplier_precision(0.25, s, 2.0, 0.9).unwrap();
        assert!((m.rel_half_width - 0.1).abs() < 1e-12);
        // more occasions at the same p: more precise
        assert!(mt_rel_se(500.0, &[0.2; 3]).unwrap() < mt_rel_se(500.0, &[0.2; 2]).unwrap());
        assert!(two_source_precision(500.0, 1.0, 0.2, 0.95).is_err());
        assert!(two_source_required_p(-1.0, 0.2, 0.95).is_err());
        assert!(mt_rel_se(10.0, &[0.5]).is_err());
    }
}
