//! Numerical tolerances, in one place (as statrs's `prec`).
//!
//! Every iterative routine in the crate takes its default tolerance from here, so that a
//! reader can see at a glance how precisely each quantity is computed.

/// Relative change in deviance at which IRLS stops (R's `glm.control` uses 1e-8; we go
/// further so that reference figures match to 1e-6 relative with margin).
pub const IRLS_TOL: f64 = 1e-12;

/// Iteration cap for IRLS and Newton fits.
pub const MAX_ITER: usize = 100;

/// Relative tolerance of the root search that inverts a profile likelihood.
pub const PROFILE_ROOT_TOL: f64 = 1e-12;

/// Relative tolerance used in unit tests that compare closed-form estimators with their
/// reference values (1e-6 relative, the project's standard for deterministic fits).
pub const REFERENCE_RTOL: f64 = 1e-6;
