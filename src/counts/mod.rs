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
mod inflated;
mod kernel;
mod resample;

pub use closed::{chao_bias_corrected, chao_lower_bound, zelterman};
pub use diag::{GofTest, MarginalFreq, StratumEstimate, marginal_freq, stratify};
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
