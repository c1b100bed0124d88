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
    for fam in Family::ALL {
        for covs in &sets {
            let label = fit::model_label(fam, covs);
            let r = CountModel::params(fam)
                .covariates(covs)
                .level(level)
                .fit(data);
            out.push(label, r);
        }
    }
    out
}
