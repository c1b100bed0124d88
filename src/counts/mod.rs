//! Single-source count models: how often each unit was recorded, to the number never
//! recorded.
//!
//! - Closed forms: [`chao_lower_bound`], [`chao_bias_corrected`], [`zelterman`].
//! - Regressions ([`CountModel`], [`Family`]): zero-truncated Poisson, negative binomial
//!   and geometric; zero-one-truncated; one-inflated in both orders; Chao and Zelterman
//!   with covariates. N̂ is the Horvitz-Thompson sum with the analytic variance of
//!   singleRcapture (HT term + delta-method term).
//! - Diagnostics: [`marginal_freq`] and [`MarginalFreq::gof`] (χ² and G), [`stratify`].
//! - Robust and bootstrap variances: [`robust_variance`], [`bootstrap`].
//! - One call for reports: [`fit_all`].
//!
//! # Examples
//! ```
//! use darkfigure::counts::{CountModel, Family};
//! use darkfigure::data::CountData;
//! // The Dutch illegal immigrants (van der Heijden et al. 2003), f1..f6.
//! let d = CountData::from_frequency_table(&[(1, 1645), (2, 183), (3, 37), (4, 13), (5, 1), (6, 1)])?;
//! let fit = CountModel::params(Family::ZtPoisson).fit(&d)?;
//! assert!((fit.estimate.n_hat - 7079.928149533).abs() < 1e-5); // singleRcapture::estimatePopsize
//! # Ok::<(), darkfigure::Error>(())
//! ```

mod closed;
mod design;
mod diag;
mod dual;
mod family;
mod fit;
mod fused;
mod inflated;
mod kernel;
mod resample;

pub use closed::{chao_bias_corrected, chao_lower_bound, zelterman};
pub use diag::{DENSE_COUNTS, GofTest, MarginalFreq, StratumEstimate, marginal_freq, stratify};
pub use family::Family;
pub use fit::{CountFit, CountModel, CovarianceType, PopVariance};
pub use resample::{
    BootCi, BootResult, BootType, Bootstrap, MAX_RUNAWAY_SHARE, RUNAWAY_FACTOR, bootstrap,
    robust_variance,
};

use crate::data::CountData;
use crate::model_table::ModelTable;
use design::Design;
use std::sync::Arc;

/// Fits every family, intercept-only and (when `covariates` is not empty) with the
/// covariates on the λ predictor, at confidence `level`. Entries are labelled
/// `"<family> ~ 1"` / `"<family> ~ a + b"`; a model that cannot be fitted carries its
/// error, a degenerate one carries warnings in its estimate (see [`CountFit::degenerate`]).
///
/// This is the call the `estimate` binary makes on count input.
pub fn fit_all(data: &CountData, covariates: &[String], level: f64) -> ModelTable<CountFit> {
    let mut out = ModelTable::new();
    let sets: Vec<&[String]> = if covariates.is_empty() {
        vec![&[]]
    } else {
        vec![&[], covariates]
    };
    // One design per covariate set and number of predictors, built and rank-checked once
    // and shared by every family that uses it (`None`: the design cannot be built, and
    // each fit reports why).
    let designs: Vec<[SharedDesign; 2]> = sets
        .iter()
        .map(|covs| {
            [Family::ZtPoisson, Family::ZtoiPoisson].map(|fam| {
                let d = CountModel::params(fam).covariates(covs).design(data).ok()?;
                let ok = fit::check_rank(&d).is_ok();
                Some((Arc::new(d), ok))
            })
        })
        .collect();
    // Coefficients of the fits without a second parameter, to test the boundary of α
    // and ω from (see `fit::boundary_start`).
    let mut base: Vec<(Family, usize, Vec<f64>)> = Vec::new();
    for fam in Family::ALL {
        for (si, covs) in sets.iter().enumerate() {
            let label = fit::model_label(fam, covs);
            let model = CountModel::params(fam).covariates(covs).level(level);
            let two = fam.second_parameter().is_some();
            let r = match &designs[si][two as usize] {
                Some((d, ok)) => {
                    let start = boundary_base(fam).and_then(|b| {
                        let (_, _, beta) = base.iter().find(|(f, s, _)| *f == b && *s == si)?;
                        fit::boundary_start(fam, d, beta)
                    });
                    CountModel { start, ..model }.fit_shared(Arc::clone(d), *ok)
                }
                None => model.fit(data),
            };
            if let Ok(f) = &r
                && !f.degenerate
                && !two
            {
                base.push((fam, si, f.coefficients.clone()));
            }
            out.push(label, r);
        }
    }
    out
}

/// A design shared by the fits of [`fit_all`] and whether its rank was checked (`None`:
/// it could not be built).
type SharedDesign = Option<(Arc<Design>, bool)>;

/// The family without the second parameter that `fam` reduces to on the boundary α → 0
/// or ω → 0.
fn boundary_base(fam: Family) -> Option<Family> {
    match fam {
        Family::ZtNegBin | Family::ZtoiPoisson | Family::OiztPoisson => Some(Family::ZtPoisson),
        Family::ZotNegBin => Some(Family::ZotPoisson),
        Family::ZtoiGeom | Family::OiztGeom => Some(Family::ZtGeom),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Poisson-like counts: the geometric one-inflated models want ω < 0 and stop on the
    /// boundary, which `fit_all` starts from (one Newton step instead of ~30); the
    /// figures agree with the direct fits, interior fits are the very same.
    #[test]
    fn fit_all_boundary_starts_agree_with_direct_fits() {
        let d = CountData::from_frequency_table(&[
            (1, 582),
            (2, 291),
            (3, 97),
            (4, 24),
            (5, 5),
            (6, 1),
        ])
        .unwrap();
        let all = fit_all(&d, &[], 0.95);
        for fam in [Family::ZtoiGeom, Family::OiztGeom] {
            let shared = all.fitted(&format!("{fam} ~ 1")).unwrap();
            let direct = CountModel::params(fam).fit(&d).unwrap();
            assert!(shared.degenerate && direct.degenerate, "{fam}");
            assert!(shared.stop.iterations() <= 3, "{fam}: {:?}", shared.stop);
            assert!(direct.stop.iterations() > 10, "{fam}: {:?}", direct.stop);
            let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
            assert!(
                rel(shared.estimate.n_hat, direct.estimate.n_hat) < 1e-9,
                "{fam}"
            );
            assert!(rel(shared.estimate.se, direct.estimate.se) < 1e-6, "{fam}");
            assert!(rel(shared.log_lik, direct.log_lik) < 1e-12, "{fam}");
        }
        // interior, started near the maximum from the boundary score: the same maximum
        let shared = all.fitted("ztoipoisson ~ 1").unwrap();
        let direct = CountModel::params(Family::ZtoiPoisson).fit(&d).unwrap();
        assert_eq!(shared.degenerate, direct.degenerate);
        for (a, b) in shared.coefficients.iter().zip(&direct.coefficients) {
            assert!((a - b).abs() < 1e-8 * b.abs().max(1.0), "{a} vs {b}");
        }
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        assert!(rel(shared.estimate.n_hat, direct.estimate.n_hat) < 1e-9);
        assert!(rel(shared.estimate.se, direct.estimate.se) < 1e-9);
        // families without a second parameter: the very same fit
        for fam in [Family::ZtPoisson, Family::ZtHurdleGeom] {
            let shared = all.fitted(&format!("{fam} ~ 1")).unwrap();
            let direct = CountModel::params(fam).fit(&d).unwrap();
            assert_eq!(shared.coefficients, direct.coefficients, "{fam}");
            assert_eq!(shared.coef_names, direct.coef_names, "{fam}");
            assert_eq!(shared.estimate.se, direct.estimate.se, "{fam}");
        }
    }
}
