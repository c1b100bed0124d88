//! Schnabel and Schumacher-Eschmeyer: the classic ratio estimators for t > 2 occasions.

use super::{ASSUMPTIONS, inverse_wald};
use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Warning};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Per occasion: caught C_t, marked before M_t, recaptured R_t.
fn sessions(h: &CaptureHistories, method: &str) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    if h.occasions() < 3 {
        return Err(Error::TooFewOccasions {
            method: method.into(),
            needed: 3,
            got: h.occasions(),
        });
    }
    let s = h.summary();
    let c: Vec<f64> = s.n_j.iter().map(|&x| x as f64).collect();
    let r: Vec<f64> = s
        .n_j
        .iter()
        .zip(&s.u_j)
        .map(|(&n, &u)| (n - u) as f64)
        .collect();
    let mut m = Vec::with_capacity(c.len());
    let mut marked = 0.0;
    for &u in &s.u_j {
        m.push(marked);
        marked += u as f64;
    }
    Ok((c, m, r))
}

/// Schnabel's estimator for t ≥ 3 occasions.
///
/// ```text
/// N̂ = Σ C_t M_t / Σ R_t
/// SE(1/N̂) = sqrt(Σ R_t) / Σ C_t M_t        (Σ R_t treated as Poisson)
/// SE(N̂)   = N̂ / sqrt(Σ R_t)                 (delta method)
/// ```
/// C_t caught on occasion t, M_t marked before t, R_t recaptures on t. The interval
/// inverts the Wald interval for 1/N̂ (unbounded above when Σ R_t is small).
///
/// # Errors
/// [`Error::TooFewOccasions`] for t < 3; [`Error::EstimateDoesNotExist`] with no
/// recaptures; [`Error::InvalidParameter`] for a bad level.
///
/// # References
/// Schnabel, Z. E. (1938) *Amer. Math. Monthly* 45, 348-352; Seber (1982) §4.1.2;
/// Krebs (1999) *Ecological Methodology* §2.2.
pub fn schnabel(h: &CaptureHistories, level: f64) -> Result<Estimate> {
    ci::check_level(level)?;
    let (c, m, r) = sessions(h, "Schnabel")?;
    let scm: f64 = c.iter().zip(&m).map(|(c, m)| c * m).sum();
    let sr: f64 = r.iter().sum();
    if sr == 0.0 {
        return Err(Error::no_estimate(
            "no recaptures on any occasion: the Schnabel estimate is infinite",
        ));
    }
    let n_hat = scm / sr;
    let se = n_hat / sr.sqrt();
    let n = h.observed();
    let z = ci::z_two_sided(level);
    let interval = inverse_wald(sr / scm, sr.sqrt() / scm, z, level, n as f64);
    let mut e = Estimate::new(super::METHOD, "Schnabel", n_hat, se, interval, n)
        .with_assumptions(ASSUMPTIONS)
        .with_other_interval(ci::log_normal(n_hat, se, n as f64, level));
    if (sr as u64) < super::FEW_RECAPTURES {
        e.warnings.push(Warning::FewRecaptures { m: sr as u64 });
    }
    flag_unbounded(&mut e);
    Ok(e.clamp_to_observed())
}

/// Schumacher-Eschmeyer's regression estimator for t ≥ 3 occasions.
///
/// ```text
/// N̂ = Σ C_t M_t² / Σ R_t M_t
/// s² = [ Σ R_t²/C_t − (Σ R_t M_t)² / Σ C_t M_t² ] / (t − 2)
/// SE(1/N̂) = sqrt( s² / Σ C_t M_t² ),   SE(N̂) = N̂² · SE(1/N̂)
/// ```
/// The interval inverts a Student-t interval (t − 2 df) for 1/N̂.
///
/// # Errors
/// [`Error::TooFewOccasions`] for t < 3; [`Error::EstimateDoesNotExist`] with no
/// recaptures; [`Error::InvalidParameter`] for a bad level.
///
/// # References
/// Schumacher, F. X. & Eschmeyer, R. W. (1943) *J. Tennessee Acad. Sci.* 18, 228-249;
/// Seber (1982) §4.1.3; Krebs (1999) §2.2.
pub fn schumacher_eschmeyer(h: &CaptureHistories, level: f64) -> Result<Estimate> {
    ci::check_level(level)?;
    let (c, m, r) = sessions(h, "Schumacher-Eschmeyer")?;
    let scm2: f64 = c.iter().zip(&m).map(|(c, m)| c * m * m).sum();
    let srm: f64 = r.iter().zip(&m).map(|(r, m)| r * m).sum();
    let sr: f64 = r.iter().sum();
    if srm == 0.0 {
        return Err(Error::no_estimate(
            "no recaptures on any occasion: the Schumacher-Eschmeyer estimate is infinite",
        ));
    }
    let sr2c: f64 = r
        .iter()
        .zip(&c)
        .filter(|(_, c)| **c > 0.0)
        .map(|(r, c)| r * r / c)
        .sum();
    let t = c.len() as f64;
    let s2 = ((sr2c - srm * srm / scm2) / (t - 2.0)).max(0.0);
    let inv = srm / scm2;
    let se_inv = (s2 / scm2).sqrt();
    let n_hat = 1.0 / inv;
    let se = n_hat * n_hat * se_inv;
    let q = StudentsT::new(0.0, 1.0, t - 2.0)
        .map(|d| d.inverse_cdf(0.5 + level / 2.0))
        .map_err(|e| Error::Numerical {
            reason: format!("Student t quantile: {e}"),
        })?;
    let n = h.observed();
    let interval = inverse_wald(inv, se_inv, q, level, n as f64);
    let mut e = Estimate::new(
        super::METHOD,
        "Schumacher-Eschmeyer",
        n_hat,
        se,
        interval,
        n,
    )
    .with_assumptions(ASSUMPTIONS)
    .with_other_interval(ci::log_normal(n_hat, se, n as f64, level));
    if (sr as u64) < super::FEW_RECAPTURES {
        e.warnings.push(Warning::FewRecaptures { m: sr as u64 });
    }
    flag_unbounded(&mut e);
    Ok(e.clamp_to_observed())
}

/// Flags an interval whose inversion left it unbounded above (1/N̂'s lower limit ≤ 0).
fn flag_unbounded(e: &mut Estimate) {
    if e.interval.is_unbounded_above() {
        e.warnings.push(Warning::UnboundedInterval {
            reason: "the interval for 1/N reaches 0: too few recaptures to bound N above".into(),
        });
    }
}
