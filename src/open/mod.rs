//! Open populations: log-linear Jolly-Seber (`Rcapture::openp`), the robust design
//! (`Rcapture::robustd.t`, `robustd.0`), the classical Jolly-Seber moment estimators
//! from the m-array, and likelihood Cormack-Jolly-Seber and POPAN models.
//!
//! One-call API for the `estimate` binary:
//! - [`openp`]`(&histories, &OpenParams)` → [`OpenFit`]
//! - [`robustd_t`] / [`robustd_0`]`(&histories, periods, &RobustParams)` → [`RobustFit`]
//! - [`jolly_seber`]`(&histories)` → [`JsTable`]
//! - [`cjs`], [`popan`] for the likelihood models.
//!
//! Every fitted struct has `to_json()` giving the JSON-ready [`OpenJson`] shape
//! `{"model", "periods": [{"period", "n_hat", "se", "capture_p", "survival", "births"}],
//! "total": {"n_hat", "se"}, "fit": {...}}`, with `null` where a figure is not estimable.

mod demog;
mod dual;
mod factored;
mod js;
mod jscells;
mod lik;
mod loglinear;
mod robust;
pub mod sim;

pub use js::{JsInput, JsRow, JsTable, JsVariant, jolly_seber, jolly_seber_from};
pub use lik::{
    CjsFit, CjsParams, GroupEffect, Param, PopanFit, PopanLikelihood, PopanParams, Structure, cjs,
    popan,
};
pub use loglinear::{Keep, OpenModel, OpenParams, openp, openp_models};
pub use robust::{ClosedModel, Heterogeneity, RobustParams, robustd_0, robustd_t};

use crate::glm::StopReason;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An estimate with its standard error; `None` where not estimable (Rcapture's `NA`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Figure {
    /// Point estimate.
    pub estimate: Option<f64>,
    /// Standard error.
    pub se: Option<f64>,
}

impl Figure {
    pub(crate) fn new(estimate: f64, se: f64) -> Self {
        Figure {
            estimate: estimate.is_finite().then_some(estimate),
            se: (se.is_finite() && estimate.is_finite()).then_some(se),
        }
    }

    pub(crate) fn na() -> Self {
        Figure::default()
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self
            .estimate
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "--".into());
        let s = self
            .se
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "--".into());
        write!(f, "{e:>12} {s:>12}")
    }
}

/// Deviance, residual degrees of freedom and AIC of one Poisson log-linear fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFit {
    /// Which model (e.g. "fitted model", "model with homogenous trap effect").
    pub label: String,
    /// Deviance.
    pub deviance: f64,
    /// Residual degrees of freedom.
    pub df: i64,
    /// AIC.
    pub aic: f64,
}

/// A named coefficient with its standard error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coef {
    /// Name (as Rcapture prints it).
    pub name: String,
    /// Estimate (`None` when aliased).
    pub estimate: Option<f64>,
    /// Standard error.
    pub se: Option<f64>,
}

/// A fitted open-population log-linear model (`openp`) or robust design (`robustd.*`).
///
/// Per-period vectors: `capture_p`, `n_hat` have one entry per (primary) period;
/// `survival[i]` is the survival from period i + 1 to i + 2 and `births[i]` the number of
/// new arrivals between them (Rcapture's rows "period i -> i+1").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenFit {
    /// Model label ("up", "ep", or the robust-design label such as "M0").
    pub model: String,
    /// Closed model fitted in each primary period (robust design only; empty for openp).
    pub period_models: Vec<String>,
    /// Units caught at least once.
    pub n: u64,
    /// Number of (primary) periods.
    pub periods: usize,
    /// The fitted model's deviance, df and AIC.
    pub fit: ModelFit,
    /// Trap-effect (openp) or temporary-emigration (robust design) test models.
    pub tests: Vec<ModelFit>,
    /// Their extra parameters.
    pub test_params: Vec<Coef>,
    /// Capture probability (probability of being caught at least once) per period.
    pub capture_p: Vec<Figure>,
    /// Survival from period i to i + 1.
    pub survival: Vec<Figure>,
    /// Population size per period.
    pub n_hat: Vec<Figure>,
    /// New arrivals between period i and i + 1.
    pub births: Vec<Figure>,
    /// Total number of units ever present.
    pub total: Figure,
    /// Log-linear coefficients (intercept, gammas, betas...).
    pub coefficients: Vec<Coef>,
    /// Coefficients set to zero by the `neg` rule: 1-based positions in the coefficient
    /// vector with the intercept at 1 (Rcapture's `neg`).
    pub zeroed: Vec<usize>,
    /// Warnings (rank deficiency...).
    pub warnings: Vec<String>,
    /// Why the main IRLS fit stopped.
    pub stop: StopReason,
}

/// A fitted robust design: the same shape as [`OpenFit`].
pub type RobustFit = OpenFit;

/// One period of the JSON-ready shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodJson {
    /// 1-based period.
    pub period: usize,
    /// Population size.
    pub n_hat: Option<f64>,
    /// Its standard error.
    pub se: Option<f64>,
    /// Capture probability.
    pub capture_p: Option<f64>,
    /// Survival to the next period (`None` for the last).
    pub survival: Option<f64>,
    /// New arrivals before the next period (`None` for the last).
    pub births: Option<f64>,
}

/// Total number ever present in the JSON-ready shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotalJson {
    /// Estimate.
    pub n_hat: Option<f64>,
    /// Standard error.
    pub se: Option<f64>,
}

/// The JSON-ready shape of an open-population fit, as the `estimate` binary prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenJson {
    /// Model label.
    pub model: String,
    /// Per-period figures.
    pub periods: Vec<PeriodJson>,
    /// Total ever present.
    pub total: TotalJson,
    /// Fit statistics (deviance, df, AIC, and whatever else the model has).
    pub fit: serde_json::Value,
}

pub(crate) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl OpenFit {
    /// The JSON-ready shape (`null` where not estimable).
    pub fn to_json(&self) -> OpenJson {
        let periods = (0..self.periods)
            .map(|i| PeriodJson {
                period: i + 1,
                n_hat: self.n_hat[i].estimate,
                se: self.n_hat[i].se,
                capture_p: self.capture_p[i].estimate,
                survival: self.survival.get(i).and_then(|f| f.estimate),
                births: self.births.get(i).and_then(|f| f.estimate),
            })
            .collect();
        OpenJson {
            model: self.model.clone(),
            periods,
            total: TotalJson {
                n_hat: self.total.estimate,
                se: self.total.se,
            },
            fit: serde_json::json!({
                "deviance": finite(self.fit.deviance),
                "df": self.fit.df,
                "aic": finite(self.fit.aic),
                "n": self.n,
            }),
        }
    }
}

impl fmt::Display for OpenFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Open population model `{}` ({} periods, n = {})",
            self.model, self.periods, self.n
        )?;
        if !self.period_models.is_empty() {
            writeln!(
                f,
                "Closed models within periods: {}",
                self.period_models.join(", ")
            )?;
        }
        writeln!(
            f,
            "Fit: deviance {:.3}, df {}, AIC {:.3}",
            self.fit.deviance, self.fit.df, self.fit.aic
        )?;
        for t in &self.tests {
            writeln!(
                f,
                "  {}: deviance {:.3}, df {}, AIC {:.3}",
                t.label, t.deviance, t.df, t.aic
            )?;
        }
        writeln!(
            f,
            "{:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
            "period", "p", "se", "N", "se", "phi", "se", "B", "se"
        )?;
        for i in 0..self.periods {
            let na = Figure::na();
            let s = self.survival.get(i).unwrap_or(&na);
            let b = self.births.get(i).unwrap_or(&na);
            writeln!(
                f,
                "{:>8} {} {} {} {}",
                i + 1,
                self.capture_p[i],
                self.n_hat[i],
                s,
                b
            )?;
        }
        writeln!(f, "Total ever present: {}", self.total)?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}
