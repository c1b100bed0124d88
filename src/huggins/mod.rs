//! Huggins conditional-likelihood models: closed-population capture-recapture with
//! individual covariates (VGAM's `posbernoulli.t`, `posbernoulli.b`, `posbernoulli.tb` and
//! `posbinomial`).
//!
//! Unit i, seen at least once in τ occasions, has on occasion j the capture probability
//! `p_ij` while it has not been caught before, and `c_ij` once it has:
//!
//! ```text
//! logit p_ij = α_j + x_iᵀγ + z_ijᵀδ            (α_j = α for all j without a time effect)
//! logit c_ij = logit p_ij + b + x_iᵀβ_b         (b, β_b only with a behavioural effect)
//! Q_i  = Π_j (1 − p_ij)                         (never caught)
//! ℓ    = Σ_i w_i [ Σ_j y_ij log π_ij + (1 − y_ij) log(1 − π_ij) − log(1 − Q_i) ]
//! ```
//! where `π_ij` is `p_ij` up to and including the first capture and `c_ij` after it. The
//! model names are Otis et al.'s: M0 (no time, no behaviour), Mt (α_j), Mb (b), Mtb (both).
//! The likelihood is maximised by Newton-Raphson on the exact observed information (for
//! the logit link this is also the expected information of Mt, the matrix VGAM's Fisher
//! scoring uses). The population size is the Horvitz-Thompson estimate with Huggins's
//! (1989) variance, as VGAM computes it:
//!
//! ```text
//! N̂    = Σ_i w_i / (1 − Q̂_i)
//! Var  = Σ_i w_i Q̂_i / (1 − Q̂_i)²  +  dᵀ V d,   d = ∂N̂/∂θ = −Σ_i w_i Q̂_i/(1 − Q̂_i)² Σ_j p̂_ij D_ij
//! ```
//! with V the inverse information and D_ij the design row of `logit p_ij`. The interval is
//! the log-normal interval on the dark figure N̂ − n (Chao 1987), the Wald interval beside it.
//!
//! # Coefficient order and names (VGAM's)
//! `(Intercept):1` is the behavioural effect b when there is one, then the occasion
//! intercepts (`(Intercept):2..` with behaviour, `(Intercept):1..τ` without), then the
//! individual covariates (a categorical covariate `age` with levels `a`, `y` gives `agey`),
//! then the time-varying covariates, then the behaviour-by-covariate terms (`b:sex`).
//!
//! # References
//! - Huggins, R. M. (1989). On the statistical analysis of capture experiments.
//!   *Biometrika* 76, 133-140.
//! - Huggins, R. M. (1991). Some practical aspects of a conditional likelihood approach to
//!   capture experiments. *Biometrics* 47, 725-732.
//! - Alho, J. M. (1990). Logistic regression in capture-recapture models. *Biometrics* 46,
//!   623-635.
//! - Yee, T. W., Stoklosa, J. and Huggins, R. M. (2015). The VGAM package for
//!   capture-recapture data using the conditional likelihood. *J. Stat. Softw.* 65(5).
//!   R: `VGAM::posbernoulli.t`, `posbernoulli.b`, `posbernoulli.tb`, `posbinomial`.

mod engine;
mod mtbh;
mod normal;

pub use mtbh::{
    B_EDGE, LogitNormal, closedp_logit_normal, closedp_logit_normal_all, closedp_mtbh_normal,
};
pub use normal::{GH_POINTS, NormalFit, NormalModel, SIGMA_ZERO, closedp_normal, gauss_hermite};

use engine::Groups;

use crate::ci;
use crate::data::{CovariateHistories, CovariateValues};
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, FitStats, Warning};
use crate::glm::StopReason;
use crate::glm::{Newton, Objective};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// VGAM's `p.small`: a fitted probability of being seen below it makes N̂ unstable.
pub const P_SMALL: f64 = 1e-4;

/// A Huggins model specification (validated at [`HugginsParams::fit`]).
///
/// # Examples
/// ```
/// use darkfigure::data::{CaptureHistories, CovariateHistories, CovariateValues};
/// use darkfigure::huggins::Huggins;
/// let h = CaptureHistories::from_rows(&[
///     [1u8, 0, 1, 0], [0, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 0], [0, 1, 1, 1],
/// ]).unwrap();
/// let d = CovariateHistories::new(h)
///     .with_covariate("sex", CovariateValues::categorical(&["f", "m", "f", "m", "m", "f"]))
///     .unwrap();
/// let fit = Huggins::m0().covariates(&["sex"]).fit(&d).unwrap();
/// assert!(fit.estimate.n_hat >= 6.0);
/// assert_eq!(fit.coef_names, vec!["(Intercept)", "sexm"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HugginsParams {
    time: bool,
    behaviour: bool,
    covariates: Vec<String>,
    time_varying: Vec<String>,
    behaviour_covariates: Vec<String>,
    level: f64,
}

/// Entry points to the Huggins models.
pub struct Huggins;

impl Huggins {
    /// M0: one capture probability (VGAM `posbernoulli.t(parallel.t = TRUE ~ 1)`,
    /// `posbernoulli.b(drop.b = FALSE ~ 0)`, `posbinomial`).
    pub fn m0() -> HugginsParams {
        HugginsParams {
            time: false,
            behaviour: false,
            covariates: Vec::new(),
            time_varying: Vec::new(),
            behaviour_covariates: Vec::new(),
            level: 0.95,
        }
    }
    /// Mt: one intercept per occasion (VGAM `posbernoulli.t()`; with covariates,
    /// `posbernoulli.t(parallel.t = TRUE)`: covariate effects common to all occasions).
    pub fn mt() -> HugginsParams {
        HugginsParams {
            time: true,
            ..Self::m0()
        }
    }
    /// Mb: a behavioural (trap-happy/shy) effect on the intercept (VGAM `posbernoulli.b()`).
    pub fn mb() -> HugginsParams {
        HugginsParams {
            behaviour: true,
            ..Self::m0()
        }
    }
    /// Mtb: occasion intercepts plus an additive behavioural effect (VGAM
    /// `posbernoulli.tb()`).
    pub fn mtb() -> HugginsParams {
        HugginsParams {
            time: true,
            behaviour: true,
            ..Self::m0()
        }
    }
}

impl HugginsParams {
    /// Individual covariates (names of [`CovariateHistories::covariates`]), acting on both
    /// p and c (VGAM's default constraint for covariates).
    pub fn covariates<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.covariates = names.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }
    /// Time-varying covariates (names of [`CovariateHistories::time_varying`]).
    pub fn time_varying<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.time_varying = names.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }
    /// Individual covariates that also modify the behavioural effect (VGAM
    /// `drop.b = FALSE ~ 1 + sex`); requires a behavioural model.
    pub fn behaviour_covariates<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.behaviour_covariates = names.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }
    /// Confidence level of the interval (default 0.95).
    pub fn level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }

    /// The model label: `M0`, `Mt`, `Mb`, `Mtb`, followed by ` + covariate` terms.
    pub fn label(&self) -> String {
        let mut s = match (self.time, self.behaviour) {
            (false, false) => "M0",
            (true, false) => "Mt",
            (false, true) => "Mb",
            (true, true) => "Mtb",
        }
        .to_string();
        for c in self.covariates.iter().chain(&self.time_varying) {
            s.push_str(" + ");
            s.push_str(c);
        }
        for c in &self.behaviour_covariates {
            s.push_str(" + b:");
            s.push_str(c);
        }
        s
    }

    /// Fits the model to histories with covariates.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown covariate name, behaviour covariates
    /// without behaviour, or a bad level; [`Error::TooFewOccasions`] for fewer than 2
    /// occasions; [`Error::Numerical`] when the design is not of full rank (aliased
    /// covariates) or the information matrix is singular at the estimate;
    /// [`Error::EstimateDoesNotExist`] when the fitted probability of being seen is 0.
    pub fn fit(&self, data: &CovariateHistories) -> Result<HugginsFit> {
        let (groups, names) = self.prepare(data)?;
        let observed = data.histories().observed();
        let mut fit = fit_groups(&groups, names, self.label(), self.level, observed)?;
        fit.covariates = self.covariate_names();
        Ok(fit)
    }

    /// The covariates the model uses, as given: individual, time-varying, behavioural.
    pub fn covariate_names(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        let all = self.covariates.iter().chain(&self.time_varying);
        for c in all.chain(&self.behaviour_covariates) {
            if !v.contains(c) {
                v.push(c.clone());
            }
        }
        v
    }

    /// Everything a fit reports (log-likelihood, AIC, BIC, N̂, SE, interval), evaluated at
    /// given coefficients instead of the maximum: to check another program's estimates
    /// against this likelihood (VGAM's, in the reference tests), or to score a model.
    ///
    /// # Errors
    /// As [`HugginsParams::fit`], plus [`Error::InvalidParameter`] when `coef` has the
    /// wrong length.
    pub fn evaluate(&self, data: &CovariateHistories, coef: &[f64]) -> Result<HugginsFit> {
        let (groups, names) = self.prepare(data)?;
        if coef.len() != names.len() {
            return Err(Error::param(
                "coef",
                coef.len(),
                format!("{} coefficients ({})", names.len(), names.join(", ")),
            ));
        }
        let theta = DVector::from_column_slice(coef);
        let loglik = groups.value(&theta).ok_or_else(|| Error::Numerical {
            reason: "the log-likelihood is undefined at these coefficients".into(),
        })?;
        let mut fit = summarize(
            &groups,
            names,
            self.label(),
            self.level,
            data.histories().observed(),
            theta,
            loglik,
            StopReason::Converged { iterations: 0 },
        )?;
        fit.covariates = self.covariate_names();
        Ok(fit)
    }

    /// The number of units in a **subgroup** (the units of `rows`: the minors, the women),
    /// derived from `fit`, this model's fit to all of `data`: the Horvitz-Thompson sum over
    /// the subgroup's units seen, with the delta-method variance of the whole fit's
    /// coefficients (the derived parameters of MARK; Huggins 1989):
    ///
    /// ```text
    /// N̂_s = Σ_{i∈s} 1/(1 − Q̂ᵢ)      Var = Σ_{i∈s} Q̂ᵢ/(1 − Q̂ᵢ)² + d_sᵀ V d_s,  d_s = ∂N̂_s/∂θ
    /// ```
    ///
    /// V is the inverse information of the whole fit, so the subgroup borrows strength
    /// from every unit: its catchability is the model's for units with its covariates.
    /// Over a partition of the units the parts add up to the fit's N̂ (their variances
    /// do not: the parts share θ̂). The estimate carries the fit's statistics (deviance,
    /// AIC) and warnings, so that subgroup figures of several models average with the
    /// weights of the whole fits.
    ///
    /// # Examples
    /// ```
    /// use darkfigure::data::{CaptureHistories, CovariateHistories, CovariateValues};
    /// use darkfigure::huggins::Huggins;
    /// let h = CaptureHistories::from_rows(&[
    ///     [1u8, 0, 1], [0, 1, 0], [1, 1, 1], [1, 0, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0],
    /// ])
    /// .unwrap();
    /// let d = CovariateHistories::new(h)
    ///     .with_covariate("minor", CovariateValues::Numeric(vec![1., 0., 0., 1., 0., 0., 1., 0.]))
    ///     .unwrap();
    /// let m = Huggins::m0().covariates(&["minor"]);
    /// let fit = m.fit(&d).unwrap();
    /// let minors = m.subgroup(&d, &fit, &[0, 3, 6]).unwrap();
    /// let others = m.subgroup(&d, &fit, &[1, 2, 4, 5, 7]).unwrap();
    /// assert!((minors.n_hat + others.n_hat - fit.estimate.n_hat).abs() < 1e-9);
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `fit` has another number of coefficients than this
    /// model on `data`, or a row is out of range; [`Error::EstimateDoesNotExist`] when no
    /// unit of `rows` was seen; [`Error::Numerical`] when the information matrix is
    /// singular at the fit; as [`HugginsParams::fit`] for the data.
    pub fn subgroup(
        &self,
        data: &CovariateHistories,
        fit: &HugginsFit,
        rows: &[usize],
    ) -> Result<Estimate> {
        let (groups, names) = self.prepare(data)?;
        if fit.coef.len() != names.len() {
            return Err(Error::param(
                "fit",
                &fit.model,
                format!(
                    "a fit of {} to these data ({} coefficients: {})",
                    self.label(),
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
        let n_rows = data.histories().n_rows();
        if let Some(&r) = rows.iter().find(|&&r| r >= n_rows) {
            return Err(Error::param(
                "rows",
                r,
                format!("rows of the data, below {n_rows}"),
            ));
        }
        let mut rows = rows.to_vec();
        rows.sort_unstable();
        rows.dedup();
        let part = data.rows(&rows);
        let observed = part.histories().observed();
        if observed == 0 {
            return Err(Error::no_estimate(
                "no unit of the subgroup was seen, so it has no estimate",
            ));
        }
        let theta = DVector::from_column_slice(&fit.coef);
        let v = groups
            .expected_info(&theta)
            .cholesky()
            .map(|c| c.inverse())
            .ok_or_else(|| Error::Numerical {
                reason: format!(
                    "the information matrix of {} is singular at the fit",
                    fit.model
                ),
            })?;
        let (sub, _) = self.prepare(&part)?;
        let ht = sub.horvitz_thompson(&theta);
        if ht.min_seen.is_nan() || ht.min_seen <= 0.0 || !ht.n_hat.is_finite() {
            return Err(Error::no_estimate(format!(
                "{}: the fitted probability of being seen is 0 for some units of the subgroup, \
                 so its N̂ is infinite",
                fit.model
            )));
        }
        let d = DVector::from_vec(ht.d);
        let var = ht.var_sampling + (d.transpose() * &v * &d)[(0, 0)];
        let se = var.max(0.0).sqrt();
        let n = observed as f64;
        let mut est = Estimate::new(
            "huggins (subgroup)",
            fit.model.clone(),
            ht.n_hat,
            se,
            ci::log_normal(ht.n_hat, se, n, self.level),
            observed,
        )
        .with_other_interval(ci::wald(ht.n_hat, se, n, self.level))
        .with_assumptions(&fit.estimate.assumptions);
        est.fit = fit.estimate.fit;
        est.warnings = fit.estimate.warnings.clone();
        Ok(est)
    }

    fn prepare(&self, data: &CovariateHistories) -> Result<(Groups, Vec<String>)> {
        ci::check_level(self.level)?;
        let t = data.histories().occasions();
        if t < 2 {
            return Err(Error::TooFewOccasions {
                method: "Huggins".into(),
                needed: 2,
                got: t,
            });
        }
        if !self.behaviour && !self.behaviour_covariates.is_empty() {
            return Err(Error::param(
                "behaviour_covariates",
                self.behaviour_covariates.join(","),
                "none unless the model has a behavioural effect (Mb, Mtb)",
            ));
        }
        // Individual design columns.
        let mut x_names = Vec::new();
        let mut x_cols: Vec<Vec<f64>> = Vec::new();
        let expand =
            |name: &str, names: &mut Vec<String>, cols: &mut Vec<Vec<f64>>| -> Result<()> {
                let cov = data.covariate(name).ok_or_else(|| {
                    Error::param(
                        "covariates",
                        name,
                        format!(
                            "one of the individual covariates: {}",
                            data.covariates()
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
                match &cov.values {
                    CovariateValues::Numeric(v) => {
                        names.push(name.to_string());
                        cols.push(v.clone());
                    }
                    CovariateValues::Categorical { levels, codes } => {
                        for (l, lev) in levels.iter().enumerate().skip(1) {
                            names.push(format!("{name}{lev}"));
                            cols.push(
                                codes
                                    .iter()
                                    .map(|&c| f64::from(c as usize == l as u32 as usize))
                                    .collect(),
                            );
                        }
                    }
                }
                Ok(())
            };
        for name in &self.covariates {
            expand(name, &mut x_names, &mut x_cols)?;
        }
        let mut b_names = Vec::new();
        let mut b_cols = Vec::new();
        for name in &self.behaviour_covariates {
            expand(name, &mut b_names, &mut b_cols)?;
        }
        let mut z_names = Vec::new();
        let mut z_vals: Vec<&[f64]> = Vec::new();
        for name in &self.time_varying {
            let tv = data.time_varying_covariate(name).ok_or_else(|| {
                Error::param(
                    "time_varying",
                    name,
                    format!(
                        "one of the time-varying covariates: {}",
                        data.time_varying()
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            z_names.push(name.clone());
            z_vals.push(&tv.values);
        }
        let layout = engine::Layout {
            t,
            behaviour: self.behaviour,
            n_b: b_cols.len(),
            time: self.time,
            n_x: x_cols.len(),
            n_z: z_vals.len(),
        };
        let h = data.histories();
        let groups = Groups::from_columns(
            layout,
            h.histories(),
            h.frequencies(),
            &x_cols,
            &b_cols,
            &z_vals,
        );
        let mut names = Vec::new();
        if self.behaviour {
            names.push("(Intercept):1".to_string());
        }
        let first = usize::from(self.behaviour) + 1;
        if self.time {
            names.extend((0..t).map(|j| format!("(Intercept):{}", first + j)));
        } else if self.behaviour {
            names.push("(Intercept):2".into());
        } else {
            names.push("(Intercept)".into());
        }
        names.extend(x_names);
        names.extend(z_names);
        names.extend(b_names.into_iter().map(|n| format!("b:{n}")));
        Ok((groups, names))
    }
}

/// A fitted Huggins model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HugginsFit {
    /// The model label (`Mtb + sex + weight`).
    pub model: String,
    /// Coefficient names (VGAM's order and names; see the module docs).
    pub coef_names: Vec<String>,
    /// Coefficients (logit scale).
    pub coef: Vec<f64>,
    /// Standard errors of the coefficients (inverse observed information).
    pub coef_se: Vec<f64>,
    /// Maximised conditional log-likelihood.
    pub loglik: f64,
    /// Number of units seen, n (Σ weights).
    pub n_units: f64,
    /// Akaike information criterion −2ℓ + 2k.
    pub aic: f64,
    /// Bayesian information criterion −2ℓ + k log n (n = units seen, as VGAM).
    pub bic: f64,
    /// Newton iterations.
    pub iterations: usize,
    /// Smallest fitted probability of being seen, 1 − Q̂_i, over units.
    pub min_seen_prob: f64,
    /// Names of the covariates in the model, as given (individual, time-varying,
    /// behavioural); empty for models without covariates.
    pub covariates: Vec<String>,
    /// N̂, SE, intervals, warnings and assumptions.
    pub estimate: Estimate,
}

impl std::fmt::Display for HugginsFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Huggins {} : logLik {:.4}, AIC {:.4}, BIC {:.4}",
            self.model, self.loglik, self.aic, self.bic
        )?;
        for ((n, c), s) in self.coef_names.iter().zip(&self.coef).zip(&self.coef_se) {
            writeln!(f, "  {n:<16} {c:>10.4} ({s:.4})")?;
        }
        write!(f, "{}", self.estimate)
    }
}

/// Fits the Huggins likelihood on prepared groups. `names` label the coefficients.
pub(crate) fn fit_groups(
    groups: &Groups,
    names: Vec<String>,
    model: String,
    level: f64,
    observed: u64,
) -> Result<HugginsFit> {
    let k = groups.layout.n_params();
    debug_assert_eq!(names.len(), k);
    let start = groups.start();
    // Aliased columns show as a singular information matrix at the start.
    let (_, _, h0) = groups.eval(&start);
    let info = -&h0;
    if !full_rank(&info) {
        let aliased: Vec<&str> = aliased_columns(&info)
            .into_iter()
            .map(|j| names[j].as_str())
            .collect();
        return Err(Error::Numerical {
            reason: format!(
                "the information matrix of {model} is singular: the design is not of full rank \
                 ({} a linear combination of the design columns before {}: a covariate constant \
                 over the units, covariates that add up to a constant or to another, or a \
                 time-varying covariate that is the same for every unit beside occasion \
                 intercepts); coefficients {}",
                if aliased.len() == 1 {
                    format!("`{}` is", aliased[0])
                } else {
                    format!(
                        "{} are each",
                        aliased
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                if aliased.len() == 1 { "it" } else { "them" },
                names.join(", ")
            ),
        });
    }
    let newton = Newton {
        tol: 1e-15,
        grad_tol: 1e-10,
        max_iter: 200,
    };
    let nf = newton.maximize(groups, start)?;
    summarize(
        groups, names, model, level, observed, nf.theta, nf.value, nf.stop,
    )
}

/// Whether an information matrix is numerically of full rank: the smallest eigenvalue of
/// its correlation form above 1e-10.
/// The columns of a singular information matrix that add nothing to the columns before
/// them (greedy: column j is aliased when the principal submatrix of the columns kept so
/// far and j is singular; XᵀWX with W > 0 is singular on a set of columns exactly when
/// those columns of X are linearly dependent).
fn aliased_columns(info: &nalgebra::DMatrix<f64>) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    let mut aliased = Vec::new();
    for j in 0..info.nrows() {
        let mut idx = kept.clone();
        idx.push(j);
        let sub = nalgebra::DMatrix::from_fn(idx.len(), idx.len(), |a, b| info[(idx[a], idx[b])]);
        if full_rank(&sub) {
            kept.push(j);
        } else {
            aliased.push(j);
        }
    }
    aliased
}

fn full_rank(info: &nalgebra::DMatrix<f64>) -> bool {
    let k = info.nrows();
    let d: Vec<f64> = (0..k).map(|i| info[(i, i)]).collect();
    if d.iter().any(|&x| x.is_nan() || x <= 0.0 || !x.is_finite()) {
        return false;
    }
    let scaled = nalgebra::DMatrix::from_fn(k, k, |i, j| info[(i, j)] / (d[i] * d[j]).sqrt());
    let eig = scaled.symmetric_eigenvalues();
    eig.iter().all(|&e| e > 1e-10)
}

/// The fit's report at coefficients `theta` with log-likelihood `loglik`.
#[allow(clippy::too_many_arguments)]
fn summarize(
    groups: &Groups,
    names: Vec<String>,
    model: String,
    level: f64,
    observed: u64,
    theta: DVector<f64>,
    loglik: f64,
    stop: StopReason,
) -> Result<HugginsFit> {
    let k = groups.layout.n_params();
    let iterations = match stop {
        StopReason::Converged { iterations }
        | StopReason::MaxIterations { iterations }
        | StopReason::Diverged { iterations } => iterations,
    };
    let info = groups.expected_info(&theta);
    let v = info
        .clone()
        .cholesky()
        .map(|c| c.inverse())
        .ok_or_else(|| Error::Numerical {
            reason: format!(
                "the information matrix of {model} is singular at the estimate: a coefficient \
                 is not identified (separation, or a capture probability at 0 or 1)"
            ),
        })?;
    let ht = groups.horvitz_thompson(&theta);
    if ht.min_seen.is_nan() || ht.min_seen <= 0.0 || !ht.n_hat.is_finite() {
        return Err(Error::no_estimate(format!(
            "{model}: the fitted probability of being seen is 0 for some units, so N̂ is infinite"
        )));
    }
    let d = DVector::from_vec(ht.d.clone());
    let var = ht.var_sampling + (d.transpose() * &v * &d)[(0, 0)];
    let se = var.max(0.0).sqrt();
    let n = groups.n_units();
    let kf = k as f64;
    let aic = -2.0 * loglik + 2.0 * kf;
    let bic = -2.0 * loglik + kf * n.ln();
    let interval = ci::log_normal(ht.n_hat, se, observed as f64, level);
    let mut est = Estimate::new("huggins", model.clone(), ht.n_hat, se, interval, observed)
        .with_other_interval(ci::wald(ht.n_hat, se, observed as f64, level))
        .with_fit(FitStats {
            deviance: -2.0 * loglik,
            df: (n - kf).round() as i64,
            aic,
            bic,
        });
    if !stop.converged() {
        est = est.with_warning(Warning::NotConverged { iterations });
    }
    if ht.min_seen < P_SMALL {
        est = est.with_warning(Warning::Boundary {
            parameter: format!(
                "probability of being seen ({:.2e} < {P_SMALL}): the abundance estimate is unstable",
                ht.min_seen
            ),
        });
    }
    let (pmin, pmax) = groups.prob_range(&theta);
    if pmax > 1.0 - 1e-8 || pmin < 1e-8 {
        est = est.with_warning(Warning::Boundary {
            parameter: format!(
                "capture probability (fitted range [{pmin:.3e}, {pmax:.3e}]): separation, a \
                 coefficient runs to ±∞"
            ),
        });
    }
    if let Some((i, c)) = theta.iter().enumerate().find(|(_, c)| c.abs() > 15.0) {
        est = est.with_warning(Warning::Boundary {
            parameter: format!(
                "{} = {c:.2} (|coefficient| > 15 on the logit scale: separation)",
                names[i]
            ),
        });
    }
    let mut assumptions = vec![
        Assumption::ClosedPopulation,
        Assumption::PerfectMatching,
        Assumption::IndependentSources,
    ];
    if groups.layout.n_x + groups.layout.n_z + groups.layout.n_b > 0 {
        assumptions.push(Assumption::ModelledHeterogeneity);
    } else {
        assumptions.push(Assumption::HomogeneousCapture);
    }
    if !groups.layout.time {
        assumptions.push(Assumption::ConstantOverTime);
    }
    if !groups.layout.behaviour {
        assumptions.push(Assumption::NoBehaviouralResponse);
    }
    est = est.with_assumptions(&assumptions);
    let coef_se = v.diagonal().iter().map(|x| x.max(0.0).sqrt()).collect();
    let covariates = names
        .iter()
        .filter(|n| !n.starts_with("(Intercept)"))
        .cloned()
        .collect();
    Ok(HugginsFit {
        model,
        coef_names: names,
        coef: theta.iter().copied().collect(),
        coef_se,
        loglik,
        n_units: n,
        aic,
        bic,
        iterations,
        min_seen_prob: ht.min_seen,
        covariates,
        estimate: est,
    })
}

/// `posbinomial`: M0 with covariates for data given as the number of times each unit was
/// caught out of `occasions` (VGAM `posbinomial(omit.constant = TRUE)`; the binomial
/// coefficient is left out of the log-likelihood, as there).
///
/// ```text
/// ℓ = Σ_i w_i [ y_i log p_i + (τ − y_i) log(1 − p_i) − log(1 − (1 − p_i)^τ) ],  logit p_i = x_iᵀγ
/// ```
///
/// # Errors
/// [`Error::InvalidData`] for a count above `occasions` or 0; otherwise as
/// [`HugginsParams::fit`].
///
/// # References
/// Huggins (1989); R: `VGAM::posbinomial`.
pub fn posbinomial<S: AsRef<str>>(
    counts: &crate::data::CountData,
    occasions: usize,
    covariates: &[S],
    level: f64,
) -> Result<HugginsFit> {
    if occasions > crate::data::MAX_OCCASIONS {
        return Err(Error::param(
            "occasions",
            occasions,
            format!("at most {}", crate::data::MAX_OCCASIONS),
        ));
    }
    let mut hist = Vec::with_capacity(counts.n_rows());
    for (i, &c) in counts.counts().iter().enumerate() {
        if c as usize > occasions || c == 0 {
            return Err(Error::invalid_row(
                i,
                format!("caught {c} times out of {occasions} occasions"),
            ));
        }
        // Under M0 only the number of captures matters: any history with c captures.
        hist.push(if c as usize >= 64 {
            u64::MAX
        } else {
            (1u64 << c) - 1
        });
    }
    let h = crate::data::CaptureHistories::new(occasions, hist, counts.frequencies().to_vec())?;
    let mut d = CovariateHistories::new(h);
    for c in counts.covariates() {
        d = d.with_covariate(c.name.clone(), c.values.clone())?;
    }
    Huggins::m0().covariates(covariates).level(level).fit(&d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::read_covariate_histories_str;

    fn police() -> CovariateHistories {
        let text = include_str!("../../examples/data/police_covariates.csv");
        let covs = ["sex", "age", "prior"].map(String::from);
        read_covariate_histories_str(text, "police_covariates.csv", &covs).unwrap()
    }

    fn women(d: &CovariateHistories) -> (Vec<usize>, Vec<usize>) {
        let sex = &d.covariate("sex").unwrap().values;
        (0..sex.len()).partition(|&i| sex.label(i) == "f")
    }

    #[test]
    fn subgroup_figures_add_up_to_the_whole_and_follow_the_delta_method() {
        let d = police();
        let (f, m) = women(&d);
        for spec in [
            Huggins::m0().covariates(&["sex", "age", "prior"]),
            Huggins::mtb().covariates(&["age", "prior"]),
            Huggins::mt(),
        ] {
            let fit = spec.fit(&d).unwrap();
            let whole = &fit.estimate;
            let all: Vec<usize> = (0..d.histories().n_rows()).collect();
            let same = spec.subgroup(&d, &fit, &all).unwrap();
            assert!((same.n_hat - whole.n_hat).abs() <= 1e-12 * whole.n_hat);
            assert!((same.se - whole.se).abs() <= 1e-10 * whole.se);
            assert_eq!(same.fit, whole.fit);
            let sf = spec.subgroup(&d, &fit, &f).unwrap();
            let sm = spec.subgroup(&d, &fit, &m).unwrap();
            assert!((sf.n_hat + sm.n_hat - whole.n_hat).abs() <= 1e-10 * whole.n_hat);
            assert_eq!(sf.observed, f.len() as u64);
            // The variance, computed another way: from N̂ alone (the Horvitz-Thompson sum at
            // given coefficients), 1/(1 − Q̂ᵢ) unit by unit as what the women's N̂ loses
            // without woman i, and ∂N̂_f/∂θ by central differences; V from the whole fit.
            let theta = fit.coef.clone();
            let n_of = |rows: &[usize], theta: &[f64]| {
                let (g, _) = spec.prepare(&d.rows(rows)).unwrap();
                g.horvitz_thompson(&DVector::from_column_slice(theta)).n_hat
            };
            let n_f = n_of(&f, &theta);
            assert!((n_f - sf.n_hat).abs() <= 1e-10 * n_f);
            let mut var = 0.0;
            for i in 0..f.len() {
                let rest: Vec<usize> = f.iter().copied().filter(|&r| r != f[i]).collect();
                let inv = n_f - n_of(&rest, &theta);
                var += inv * inv - inv;
            }
            let k = theta.len();
            let mut grad = DVector::zeros(k);
            for a in 0..k {
                let h = 1e-5 * theta[a].abs().max(1.0);
                let at = |s: f64| {
                    let mut t = theta.clone();
                    t[a] += s * h;
                    n_of(&f, &t)
                };
                grad[a] = (at(1.0) - at(-1.0)) / (2.0 * h);
            }
            let (groups, _) = spec.prepare(&d).unwrap();
            let v = groups
                .expected_info(&DVector::from_column_slice(&theta))
                .cholesky()
                .unwrap()
                .inverse();
            var += (grad.transpose() * &v * &grad)[(0, 0)];
            let rel = (sf.se - var.sqrt()).abs() / sf.se;
            assert!(
                rel < 1e-6,
                "{}: SE {} against {} ({rel:e})",
                fit.model,
                sf.se,
                var.sqrt()
            );
        }
    }

    #[test]
    fn subgroup_of_another_fit_or_of_nobody_is_an_error() {
        let d = police();
        let (f, _) = women(&d);
        let m0 = Huggins::m0().covariates(&["sex"]);
        let fit = m0.fit(&d).unwrap();
        let other = Huggins::mt().covariates(&["sex"]);
        let e = other.subgroup(&d, &fit, &f).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
        let e = m0
            .subgroup(&d, &fit, &[d.histories().n_rows()])
            .unwrap_err();
        assert!(e.to_string().contains("below 834"), "{e}");
        let e = m0.subgroup(&d, &fit, &[]).unwrap_err();
        assert!(matches!(e, Error::EstimateDoesNotExist { .. }), "{e}");
    }
}
