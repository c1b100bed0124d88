//! Bayesian multiple-systems estimation.
//!
//! - [`dga`]: exact Bayesian model averaging over every decomposable graphical log-linear
//!   model (Madigan & York 1997; R package dga's `bma.cr`), on a grid of N, for 2 to
//!   [`graphs::MAX_VERTICES`] lists ([`graphs`] enumerates the models).
//! - [`mod@lcmcr`]: the non-parametric latent-class model (Manrique-Vallier 2016; R package
//!   LCMCR), a Gibbs sampler on the table of history counts, several chains in parallel on
//!   thread-independent streams, with convergence diagnostics ([`diag`]).
//!
//! - [`total`]: the posterior of a total over strata analysed independently.
//!
//! Both return a [`Posterior`] summary of N beside a [`crate::Estimate`] whose interval is
//! a credible interval ([`crate::IntervalMethod::Credible`]) and whose point estimate is
//! the posterior median.

pub mod dga;
pub mod diag;
pub mod graphs;
pub mod lcmcr;
pub mod total;

pub use dga::{DgaFit, DgaParams, ModelPosterior, NGrid, PriorN, bma};
pub use diag::{Diagnostics, ess_bulk, ess_tail, split_rhat};
pub use graphs::{DecomposableGraph, decomposable_graphs};
pub use lcmcr::{LcmcrFit, LcmcrParams, lcmcr};
pub use total::{dga_total, lcmcr_total};

use serde::{Deserialize, Serialize};

/// Summary of a posterior distribution of N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posterior {
    /// Posterior mean.
    pub mean: f64,
    /// Posterior median.
    pub median: f64,
    /// Posterior standard deviation.
    pub sd: f64,
    /// Quantiles `(probability, value)` at 2.5%, 5%, 25%, 50%, 75%, 95%, 97.5% and the
    /// two ends of the credible interval.
    pub quantiles: Vec<(f64, f64)>,
    /// Convergence diagnostics (samplers only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diagnostics: Option<Diagnostics>,
}

/// The probabilities at which [`Posterior::quantiles`] are reported (before the interval
/// ends are added).
pub const REPORTED_PROBS: [f64; 7] = [0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975];

/// The quantile probabilities to report: [`REPORTED_PROBS`] plus the two ends of a
/// central interval at `level`, sorted, without duplicates.
pub(crate) fn report_probs(level: f64) -> Vec<f64> {
    let mut p: Vec<f64> = REPORTED_PROBS.to_vec();
    for q in [(1.0 - level) / 2.0, (1.0 + level) / 2.0] {
        if !p.iter().any(|x| (x - q).abs() < 1e-12) {
            p.push(q);
        }
    }
    p.sort_by(|a, b| a.total_cmp(b));
    p
}
