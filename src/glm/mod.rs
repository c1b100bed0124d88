//! The one Poisson-GLM engine (IRLS with step-halving) shared by every log-linear and
//! count model, and a damped Newton maximiser for likelihoods that are not GLMs.
//!
//! [`PoissonGlm`] (settings) runs R's `glm.fit` iterations ([`irls_r_path`]) for any
//! [`IrlsModel`] and returns one result type, [`GlmFit`]: a plain design with offset and
//! prior weights ([`DenseCounts`], [`PoissonGlm::fit_dense`]), cells grouped by design row
//! ([`GroupedCounts`]), the closed Mt/Mth models from sufficient statistics and the robust
//! design's factorised cells. The models differ only in how they form the weighted
//! least-squares step; iterations, rank detection, step-halving and covariance are shared.
//!
//! Fits say why they stopped ([`StopReason`]), as argmin's `TerminationReason` does.

mod dense;
mod newton;

pub use dense::{DenseCounts, DenseState};
pub use newton::{Newton, NewtonFit, Objective, numerical_eval, numerical_hessian};

use serde::{Deserialize, Serialize};

/// Why an iterative fit stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// The convergence criterion was met.
    Converged {
        /// Iterations done.
        iterations: usize,
    },
    /// The iteration cap was reached first.
    MaxIterations {
        /// Iterations done.
        iterations: usize,
    },
    /// Step-halving could not find a step that improves the objective.
    Diverged {
        /// Iterations done.
        iterations: usize,
    },
}

impl StopReason {
    /// Whether the fit converged.
    pub fn converged(&self) -> bool {
        matches!(self, StopReason::Converged { .. })
    }

    /// Iterations done.
    pub fn iterations(&self) -> usize {
        match *self {
            StopReason::Converged { iterations }
            | StopReason::MaxIterations { iterations }
            | StopReason::Diverged { iterations } => iterations,
        }
    }
}

mod grouped;
mod irls;
pub use grouped::{GroupedCounts, GroupedState};
pub(crate) use irls::{CovNeeded, irls_r_path_cov};
pub use irls::{GlmFit, IrlsModel, IrlsSummary, PoissonGlm, WlsSystem, irls_r_path};
