//! The one Poisson-GLM engine (IRLS with step-halving) shared by every log-linear and
//! count model, and a damped Newton maximiser for likelihoods that are not GLMs.
//!
//! [`irls_r_path`] runs R's `glm.fit` iterations for any [`IrlsModel`]: cells grouped by
//! design row ([`GroupedCounts`], fitted by [`RGlm::fit`]), the closed Mt/Mth models from
//! sufficient statistics and the robust design's factorised cells. [`PoissonGlm`] is the
//! plain dense fit (its own path: step-halving on any deviance increase, covariance at the
//! final fit).
//!
//! Both say why they stopped ([`StopReason`]), as argmin's `TerminationReason` does.

mod newton;
mod poisson;

pub use newton::{Newton, NewtonFit, Objective, numerical_hessian};
pub use poisson::{GlmFit, PoissonGlm};

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
pub use irls::{IrlsModel, IrlsSummary, RGlm, RGlmFit, WlsSystem, irls_r_path};
