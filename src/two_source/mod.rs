//! Two-source estimators (Lincoln-Petersen, Chapman, Bailey) and the classic
//! multi-occasion ratio estimators (Schnabel, Schumacher-Eschmeyer).
//!
//! Each returns an [`Estimate`] whose primary interval is the log-normal interval on the
//! dark figure (Chao 1987); the Wald interval and a likelihood-based interval (the
//! profile likelihood of the two-sample multinomial model Mt, as
//! `Rcapture::closedpCI.t(m = "Mt")`) come in `other_intervals`.

mod multi;
mod profile;

pub use multi::{schnabel, schumacher_eschmeyer};
pub use profile::{MtProfile, mt_profile_interval};

use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, Interval, IntervalMethod, Warning};

/// Method family label of the two-source estimators.
pub const METHOD: &str = "two-source";

/// The assumptions of every two-source estimator.
pub const ASSUMPTIONS: &[Assumption] = &[
    Assumption::ClosedPopulation,
    Assumption::HomogeneousCapture,
    Assumption::IndependentSources,
    Assumption::PerfectMatching,
];

/// Fewer recaptures than this earn a [`Warning::FewRecaptures`] (Robson & Regier 1964:
/// Chapman is nearly unbiased when m ≥ 7).
pub const FEW_RECAPTURES: u64 = 7;

/// Counts of a two-sample (two-list) study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "TwoSampleFields")]
pub struct TwoSample {
    /// Caught (listed) in the first sample.
    pub n1: u64,
    /// Caught in the second sample.
    pub n2: u64,
    /// Caught in both (recaptures).
    pub m: u64,
}

/// The serialized fields of a [`TwoSample`], checked by [`TwoSample::new`] when read.
#[derive(serde::Deserialize)]
struct TwoSampleFields {
    n1: u64,
    n2: u64,
    m: u64,
}

impl TryFrom<TwoSampleFields> for TwoSample {
    type Error = Error;
    fn try_from(f: TwoSampleFields) -> Result<Self> {
        TwoSample::new(f.n1, f.n2, f.m)
    }
}

impl TwoSample {
    /// Validates the counts.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when m exceeds n1 or n2, or nobody was caught.
    pub fn new(n1: u64, n2: u64, m: u64) -> Result<Self> {
        if m > n1 || m > n2 {
            return Err(Error::invalid(format!(
                "m = {m} recaptures exceeds a sample size (n1 = {n1}, n2 = {n2})"
            )));
        }
        match n1.checked_add(n2) {
            Some(0) => return Err(Error::invalid("both samples are empty")),
            Some(s) if s - m <= crate::data::MAX_UNITS => {}
            _ => {
                return Err(Error::invalid(format!(
                    "n1 = {n1}, n2 = {n2}, m = {m}: more units seen (n1 + n2 − m) than the \
                     {} the data layer holds",
                    crate::data::MAX_UNITS
                )));
            }
        }
        Ok(TwoSample { n1, n2, m })
    }

    /// Counts from two-occasion capture histories.
    ///
    /// # Errors
    /// [`Error::TooFewOccasions`]-style [`Error::InvalidData`] unless t = 2.
    pub fn from_histories(h: &CaptureHistories) -> Result<Self> {
        if h.occasions() != 2 {
            return Err(Error::invalid(format!(
                "two-source estimators need exactly 2 occasions, the data have {}",
                h.occasions()
            )));
        }
        let s = h.summary();
        Self::new(s.n_j[0], s.n_j[1], s.f_k[1])
    }

    /// Distinct units seen: n1 + n2 − m.
    pub fn observed(&self) -> u64 {
        self.n1 + self.n2 - self.m
    }

    /// The same counts as two-occasion capture histories (`10`: n1 − m, `01`: n2 − m,
    /// `11`: m), named `names`, so that every estimator of histories (and the headline)
    /// runs on summary counts: the two-source estimators see the same n1, n2 and m.
    ///
    /// # Errors
    /// As [`CaptureHistories::new`] (e.g. more units than the data layer holds).
    ///
    /// # Examples
    /// ```
    /// use darkfigure::two_source::TwoSample;
    /// let h = TwoSample::new(792, 353, 45)?.to_histories(["objects", "survey"])?;
    /// assert_eq!(h.observed(), 1100);
    /// assert_eq!(TwoSample::from_histories(&h)?, TwoSample::new(792, 353, 45)?);
    /// # Ok::<(), darkfigure::Error>(())
    /// ```
    pub fn to_histories(&self, names: [&str; 2]) -> Result<CaptureHistories> {
        let cells = [
            (0b01, self.n1 - self.m),
            (0b10, self.n2 - self.m),
            (0b11, self.m),
        ];
        let (codes, freq): (Vec<u64>, Vec<u64>) = cells.into_iter().filter(|c| c.1 > 0).unzip();
        CaptureHistories::new(2, codes, freq)?
            .with_occasion_names(names.iter().map(|n| n.to_string()).collect())
    }
}

fn finish(model: &str, s: &TwoSample, n_hat: f64, var: f64, level: f64) -> Result<Estimate> {
    ci::check_level(level)?;
    let r = s.observed() as f64;
    let se = var.max(0.0).sqrt();
    let primary = ci::log_normal(n_hat, se, r, level);
    let mut e = Estimate::new(METHOD, model, n_hat, se, primary, s.observed())
        .with_assumptions(ASSUMPTIONS)
        .with_other_interval(ci::wald(n_hat, se, r, level));
    let prof = mt_profile_interval(&[s.n1, s.n2], s.observed(), level)?;
    if prof.interval.is_unbounded_above() {
        e.warnings.push(Warning::UnboundedInterval {
            reason: "no recaptures: the likelihood does not fall off as N grows, so the data set no upper limit".into(),
        });
        // The point estimate is not the likelihood maximiser (that is at infinity), so
        // the profile interval is widened down to N̂ where it starts above it.
        let mut prof = prof;
        prof.interval.lower = prof.interval.lower.min(n_hat).max(r);
        e.interval = prof.interval;
        e.dark_figure_interval = prof.interval.shifted(r);
        e.other_intervals.insert(0, primary);
    } else {
        e.other_intervals.push(prof.interval);
    }
    if s.m < FEW_RECAPTURES {
        e.warnings.push(Warning::FewRecaptures { m: s.m });
    }
    Ok(e.clamp_to_observed())
}

/// Lincoln-Petersen estimator.
///
/// ```text
/// N̂ = n1·n2 / m
/// Var(N̂) = n1·n2·(n1 − m)(n2 − m) / m³        (Seber 1982, eq. 3.2)
/// ```
///
/// # Errors
/// [`Error::NoRecaptures`] when m = 0 (the estimate does not exist; use
/// [`chapman`]); [`Error::InvalidParameter`] for a level outside (0, 1).
///
/// # References
/// Seber, G. A. F. (1982) *The Estimation of Animal Abundance*, 2nd ed., §3.1.1.
/// Matches `Rcapture::closedp.t` model `Mt` for t = 2.
///
/// # Examples
/// ```
/// use darkfigure::two_source::{lincoln_petersen, TwoSample};
/// // Bulawayo sex-worker study (Weir et al. 2003): published 3,894.
/// let e = lincoln_petersen(&TwoSample::new(1381, 1469, 521).unwrap(), 0.95).unwrap();
/// assert_eq!(e.n_hat.round(), 3894.0);
/// ```
pub fn lincoln_petersen(s: &TwoSample, level: f64) -> Result<Estimate> {
    if s.m == 0 {
        return Err(Error::NoRecaptures { n1: s.n1, n2: s.n2 });
    }
    let (n1, n2, m) = (s.n1 as f64, s.n2 as f64, s.m as f64);
    let n_hat = n1 * n2 / m;
    let var = n1 * n2 * (n1 - m) * (n2 - m) / (m * m * m);
    finish("Lincoln-Petersen", s, n_hat, var, level)
}

/// Chapman's nearly unbiased modification of Lincoln-Petersen.
///
/// ```text
/// N̂ = (n1 + 1)(n2 + 1) / (m + 1) − 1
/// Var(N̂) = (n1 + 1)(n2 + 1)(n1 − m)(n2 − m) / ((m + 1)²(m + 2))   (Seber 1970; Wittes 1972)
/// ```
/// Defined for m = 0; its profile-likelihood interval is then unbounded above, which is
/// flagged and made the primary interval.
///
/// # Errors
/// [`Error::InvalidParameter`] for a level outside (0, 1).
///
/// # References
/// Chapman, D. G. (1951) *Univ. Calif. Publ. Stat.* 1, 131-160; Seber (1982) §3.1.1.
/// Matches `Rcapture::closedp.bc(m = "Mt")` for t = 2.
///
/// # Examples
/// ```
/// use darkfigure::two_source::{chapman, TwoSample};
/// let e = chapman(&TwoSample::new(948, 421, 167).unwrap(), 0.95).unwrap();
/// assert!((e.n_hat - 2382.797619047619).abs() < 1e-9); // Seber (1982) p. 107 data
/// ```
pub fn chapman(s: &TwoSample, level: f64) -> Result<Estimate> {
    let (n1, n2, m) = (s.n1 as f64, s.n2 as f64, s.m as f64);
    let n_hat = (n1 + 1.0) * (n2 + 1.0) / (m + 1.0) - 1.0;
    let var = (n1 + 1.0) * (n2 + 1.0) * (n1 - m) * (n2 - m) / ((m + 1.0).powi(2) * (m + 2.0));
    finish("Chapman", s, n_hat, var, level)
}

/// Bailey's binomial modification of Lincoln-Petersen (sampling with replacement).
///
/// ```text
/// N̂ = n1 (n2 + 1) / (m + 1)
/// Var(N̂) = n1² (n2 + 1)(n2 − m) / ((m + 1)² (m + 2))
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a level outside (0, 1).
///
/// # References
/// Bailey, N. T. J. (1951) *Biometrika* 38, 293-306; Seber (1982) §3.1.1.
pub fn bailey(s: &TwoSample, level: f64) -> Result<Estimate> {
    let (n1, n2, m) = (s.n1 as f64, s.n2 as f64, s.m as f64);
    let n_hat = n1 * (n2 + 1.0) / (m + 1.0);
    let var = n1 * n1 * (n2 + 1.0) * (n2 - m) / ((m + 1.0).powi(2) * (m + 2.0));
    finish("Bailey", s, n_hat, var, level)
}

/// Runs every classic estimator that applies to the histories: Lincoln-Petersen,
/// Chapman and Bailey for t = 2; Schnabel and Schumacher-Eschmeyer for t > 2.
/// Estimators whose estimate does not exist are returned as `Err` beside their label.
pub fn all(h: &CaptureHistories, level: f64) -> Vec<(&'static str, Result<Estimate>)> {
    if h.occasions() == 2 {
        let s = match TwoSample::from_histories(h) {
            Ok(s) => s,
            Err(e) => return vec![("Lincoln-Petersen", Err(e))],
        };
        vec![
            ("Lincoln-Petersen", lincoln_petersen(&s, level)),
            ("Chapman", chapman(&s, level)),
            ("Bailey", bailey(&s, level)),
        ]
    } else if h.occasions() > 2 {
        vec![
            ("Schnabel", schnabel(h, level)),
            ("Schumacher-Eschmeyer", schumacher_eschmeyer(h, level)),
        ]
    } else {
        Vec::new()
    }
}

pub(crate) fn inverse_wald(
    n_hat_inv: f64,
    se_inv: f64,
    q: f64,
    level: f64,
    observed: f64,
) -> Interval {
    let lo_inv = n_hat_inv - q * se_inv;
    let hi_inv = n_hat_inv + q * se_inv;
    Interval {
        lower: (1.0 / hi_inv).max(observed),
        upper: if lo_inv > 0.0 {
            1.0 / lo_inv
        } else {
            f64::INFINITY
        },
        level,
        method: IntervalMethod::InverseWald,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulawayo_figures() {
        // Weir et al. (2003): LP 3,894; Chapman 3,890.84, SE 107.81 (literature.md §2.4).
        let s = TwoSample::new(1381, 1469, 521).unwrap();
        let lp = lincoln_petersen(&s, 0.95).unwrap();
        assert_eq!(lp.n_hat.round(), 3894.0);
        let c = chapman(&s, 0.95).unwrap();
        assert!((c.n_hat - 3890.84).abs() < 0.005);
        assert!((c.se - 107.81).abs() < 0.005);
    }

    #[test]
    fn no_recaptures() {
        let s = TwoSample::new(30, 40, 0).unwrap();
        assert!(matches!(
            lincoln_petersen(&s, 0.95),
            Err(Error::NoRecaptures { n1: 30, n2: 40 })
        ));
        let c = chapman(&s, 0.95).unwrap();
        assert!(c.n_hat.is_finite());
        assert!(c.interval.is_unbounded_above());
        assert!(
            c.warnings
                .iter()
                .any(|w| matches!(w, Warning::UnboundedInterval { .. }))
        );
    }

    #[test]
    fn bad_counts_and_level() {
        assert!(TwoSample::new(5, 5, 6).is_err());
        // n1 + n2 overflowing, or more units than the data layer holds: refused
        let e = TwoSample::new(u64::MAX, 5, 1).unwrap_err();
        assert!(e.to_string().contains("n1 + n2 − m"), "{e}");
        assert!(TwoSample::new(crate::data::MAX_UNITS, 1, 0).is_err());
        assert!(TwoSample::new(crate::data::MAX_UNITS, 1, 1).is_ok());
        // deserialised counts are checked the same way
        let ok: TwoSample = serde_json::from_str(r#"{"n1": 50, "n2": 40, "m": 10}"#).unwrap();
        assert_eq!(ok, TwoSample::new(50, 40, 10).unwrap());
        let bad = serde_json::from_str::<TwoSample>(r#"{"n1": 5, "n2": 5, "m": 6}"#);
        assert!(bad.unwrap_err().to_string().contains("m = 6"));
        let s = TwoSample::new(50, 50, 10).unwrap();
        assert!(chapman(&s, 1.5).is_err());
        assert!(chapman(&s, f64::NAN).is_err());
    }
}
