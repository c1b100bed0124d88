//! The one R-path IRLS loop: R's `glm.fit` iterations for a Poisson log-linear model,
//! whatever way the model forms its weighted least-squares step.
//!
//! ```text
//! iteration 1:  W, z from μ = y + 0.1                      (R's poisson()$initialize)
//! iteration k:  β_k = argmin ‖√W (z − Xβ)‖²   at W = μ, z = η − o + (y − μ)/μ
//! stop when     |dev_k − dev_{k−1}| / (|dev_k| + 0.1) < ε   (ε = 1e-8, maxit 25)
//! non-finite deviance: halve towards β_{k−1} (R's "inner loop 1"), flag `boundary`
//! covariance:   (XᵀWX)⁻¹ at the last step's weights (R's chol2inv of the QR's R)
//! ```
//! A model ([`IrlsModel`]) says how the step's system is formed — weighted rows for R's
//! pivoted QR ([`WlsSystem::Rows`]: cells grouped by design row) or the normal equations
//! ([`WlsSystem::Normal`]: sums over 2^t cells from sufficient statistics; or, as a
//! Newton step for the change in β, [`WlsSystem::Newton`]: factorised robust-design
//! cells) — and how the deviance and the final log-likelihood follow from β. [`irls_r_path`] runs the iterations, the rank detection, the step-halving and the
//! covariance the same way for all of them.
//!
//! # References
//! R's `glm.fit` (R Core Team, `stats` package) and LINPACK `dqrdc2`.
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

use super::StopReason;
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};

/// Settings of a Poisson log-linear fit along R's `glm.fit` path, the crate's one
/// Poisson-GLM engine: `PoissonGlm::params().fit(&model)` for any [`IrlsModel`]
/// (grouped cells [`GroupedCounts`](crate::glm::GroupedCounts), a plain design
/// [`DenseCounts`](crate::glm::DenseCounts), sufficient statistics), or
/// [`PoissonGlm::fit_dense`] for y on X with an optional offset and prior weights.
///
/// ```text
/// y_i ~ Poisson(μ_i),  log μ_i = o_i + x_iᵀβ,  prior weights w_i
/// IRLS from μ = y + 0.1;  stop when |dev_k − dev_{k−1}| / (|dev_k| + 0.1) < ε
/// ```
///
/// # References
/// McCullagh & Nelder (1989) *Generalized Linear Models*, 2nd ed., §2.5; R's `glm.fit`
/// with `glm.control(epsilon, maxit)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoissonGlm {
    /// R's `glm.control(epsilon)`: relative deviance change at which to stop.
    pub epsilon: f64,
    /// R's `glm.control(maxit)`.
    pub maxit: usize,
    /// Starting coefficients (R's `start`); `None` starts from μ = y + 0.1.
    pub start: Option<Vec<f64>>,
}

impl Default for PoissonGlm {
    fn default() -> Self {
        PoissonGlm {
            epsilon: 1e-8,
            maxit: 25,
            start: None,
        }
    }
}

impl PoissonGlm {
    /// R's defaults (ε = 1e-8, 25 iterations).
    pub fn params() -> Self {
        Self::default()
    }

    /// Sets ε.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }

    /// Sets the iteration cap.
    pub fn maxit(mut self, m: usize) -> Self {
        self.maxit = m;
        self
    }

    /// Sets starting coefficients.
    pub fn start(mut self, b: Vec<f64>) -> Self {
        self.start = Some(b);
        self
    }

    /// Fits `model` along R's `glm.fit` path ([`irls_r_path`]).
    ///
    /// # Errors
    /// As [`irls_r_path`].
    pub fn fit<M: IrlsModel + ?Sized>(&self, model: &M) -> Result<GlmFit> {
        irls_r_path(model, self)
    }
}

/// A fitted Poisson GLM, whatever the [`IrlsModel`] ([`irls_r_path`], [`PoissonGlm::fit`]).
/// Vectors indexed by coefficient have the full length of the design.
#[derive(Debug, Clone, PartialEq)]
pub struct GlmFit {
    /// Coefficients (NaN for aliased columns).
    pub coefficients: Vec<f64>,
    /// Aliased column indices.
    pub aliased: Vec<usize>,
    /// Unscaled covariance (R's `vcov`), full size with NaN rows/columns for aliased
    /// coefficients.
    pub covariance: DMatrix<f64>,
    /// Fitted mean of each cell of each group (empty for models that never form the
    /// cells).
    pub fitted: Vec<f64>,
    /// Deviance.
    pub deviance: f64,
    /// Poisson log-likelihood Σ [y ln μ − μ − ln y!].
    pub loglik: f64,
    /// Rank.
    pub rank: usize,
    /// Residual degrees of freedom: cells − rank.
    pub df_residual: i64,
    /// Why the iteration stopped.
    pub stop: StopReason,
    /// Whether some fitted value fell below 10·ε (R: "fitted rates numerically 0").
    pub fitted_zero: bool,
    /// Whether step-halving was needed (R's `boundary`).
    pub boundary: bool,
}

impl GlmFit {
    /// AIC = −2 log L + 2 rank (R's `glm()$aic`).
    pub fn aic(&self) -> f64 {
        -2.0 * self.loglik + 2.0 * self.rank as f64
    }

    /// BIC = −2 log L + ln(n)·rank, with the sample size `n` chosen by the caller
    /// (Rcapture uses the number of units caught, not the number of cells).
    pub fn bic(&self, n: f64) -> f64 {
        -2.0 * self.loglik + n.ln() * self.rank as f64
    }

    /// Standard errors of the coefficients as R's `summary.glm` reports them (from the
    /// covariance at the last step's weights); NaN for aliased ones.
    pub fn std_errors(&self) -> Vec<f64> {
        (0..self.coefficients.len())
            .map(|i| {
                if self.aliased.contains(&i) {
                    f64::NAN
                } else {
                    self.covariance[(i, i)].max(0.0).sqrt()
                }
            })
            .collect()
    }
}

/// One weighted least-squares step, in the form the model can build it.
#[derive(Debug, Clone, PartialEq)]
pub enum WlsSystem {
    /// √W X and √W z, one row per (group of) cell(s); solved by Householder QR with R's
    /// limited column pivoting (`dqrdc2`), tolerance min(1e-7, ε/1000) as `glm.fit`.
    Rows {
        /// √W X.
        a: DMatrix<f64>,
        /// √W z.
        b: DVector<f64>,
    },
    /// XᵀWX and XᵀWz; solved by Cholesky in column order with the same rank rule on the
    /// pivots. The normal equations square the condition number, so the tolerance is
    /// 1e-7 whatever ε (its square, 1e-14, is just above the rounding of the pivots).
    Normal {
        /// XᵀWX.
        xtwx: DMatrix<f64>,
        /// XᵀWz.
        xtwz: DVector<f64>,
    },
    /// A full-rank Newton step: XᵀWX and the score Xᵀ(y − μ) at the current β (β = 0
    /// at the start), solved by Cholesky for the change in β. In exact arithmetic the
    /// same iterate as [`WlsSystem::Normal`] (XᵀWz = XᵀWX β + Xᵀ(y − μ)), but rounded
    /// relative to the change rather than to β. For models whose columns the caller has
    /// chosen: no column is dropped, and an XᵀWX that is not positive definite is an
    /// error.
    Newton {
        /// XᵀWX.
        xtwx: DMatrix<f64>,
        /// Xᵀ(y − μ).
        score: DVector<f64>,
    },
}

/// What the model-specific parts of a fit report once the iterations are done.
#[derive(Debug, Clone, PartialEq)]
pub struct IrlsSummary {
    /// Poisson log-likelihood at β.
    pub loglik: f64,
    /// Fitted means (empty when the model never forms its cells).
    pub fitted: Vec<f64>,
    /// Whether some fitted cell mean is below 10·ε.
    pub fitted_zero: bool,
    /// Number of cells (for the residual degrees of freedom).
    pub n_cells: i64,
}

/// A Poisson log-linear model as the R-path IRLS loop sees it.
///
/// ```text
/// log μ_c = o_c + x_cᵀβ over cells c;  the model forms, for a given β,
/// the deviance 2 Σ [y ln(y/μ) − (y − μ)] and the WLS system at W = μ
/// ```
pub trait IrlsModel {
    /// What [`IrlsModel::evaluate`] computes at β and the next step reuses (η and μ,
    /// or the moments Σ μ x xᵀ).
    type State;

    /// Number of coefficients.
    fn n_coef(&self) -> usize;

    /// Deviance of R's starting values μ = y + 0.1.
    fn start_deviance(&self) -> f64;

    /// The state at β and the deviance there (not finite when μ overflows).
    fn evaluate(&self, beta: &[f64]) -> (Self::State, f64);

    /// The weighted least-squares system at R's starting values (`None`) or at an
    /// evaluated β.
    fn system(&self, at: Option<(&[f64], &Self::State)>) -> WlsSystem;

    /// Log-likelihood, fitted values and cell count at the final β.
    fn summary(&self, beta: &[f64], state: Self::State) -> IrlsSummary;

    /// The [`WlsSystem::Newton`] step written in place, for models that form it so:
    /// the lower triangle of XᵀWX into `xtwx` (p × p column-major, entry (i, j), i ≥ j,
    /// at j·p + i; the upper triangle is never read) and the score into `score`, then
    /// `true`. The engine then keeps its buffers from step to step. The default
    /// returns `false` and the engine asks [`IrlsModel::system`].
    fn newton_in_place(
        &self,
        at: Option<(&[f64], &Self::State)>,
        xtwx: &mut [f64],
        score: &mut [f64],
    ) -> bool {
        let _ = (at, xtwx, score);
        false
    }
}

/// Which entries of the covariance a fit reports ([`irls_r_path_cov`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CovNeeded {
    /// The whole (XᵀWX)⁻¹.
    Full,
    /// Only the diagonal entries from this coefficient on (the others NaN), when the
    /// steps are full-rank Newton steps; the whole matrix otherwise.
    TrailingDiagonal(usize),
}

/// Fits `model` along R's `glm.fit` path.
///
/// ```text
/// iteration 1:  the model's system at μ = y + 0.1 (or at `settings.start`)
/// iteration k:  β_k from the WLS system at β_{k−1}; non-finite deviance: halve towards
///               β_{k−1} (R's "inner loop 1", flags `boundary`)
/// stop when     |dev_k − dev_{k−1}| / (|dev_k| + 0.1) < ε, or after maxit steps
/// covariance:   (XᵀWX)⁻¹ on the kept columns, from the last step's weights
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad ε, iteration cap or start length;
/// [`Error::Numerical`] when no finite deviance can be reached (R: "inner loop 1; cannot
/// correct step size"), no valid coefficients are found or the design has no estimable
/// column.
///
/// # Examples
/// ```
/// use darkfigure::glm::{GroupedCounts, PoissonGlm, irls_r_path};
/// use nalgebra::DMatrix;
/// // Two groups of two cells: log μ = β₀ + β₁ [group 2]; the means are 4 and 5.
/// let x = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 1.0, 1.0]);
/// let counts = [vec![3.0, 5.0], vec![10.0, 0.0]];
/// let d = GroupedCounts::new(x, vec![0.0; 2], &counts, &[0.0; 2])?;
/// let fit = irls_r_path(&d, &PoissonGlm::params())?;
/// assert!((fit.coefficients[1] - (5.0f64 / 4.0).ln()).abs() < 1e-8);
/// assert!(fit.stop.converged());
/// # Ok::<(), darkfigure::Error>(())
/// ```
///
/// # References
/// R's `glm.fit` (`stats`), with `control = glm.control(epsilon, maxit)`.
pub fn irls_r_path<M: IrlsModel + ?Sized>(model: &M, settings: &PoissonGlm) -> Result<GlmFit> {
    irls_r_path_cov(model, settings, CovNeeded::Full)
}

/// [`irls_r_path`] reporting only the covariance entries `cov` asks for.
pub(crate) fn irls_r_path_cov<M: IrlsModel + ?Sized>(
    model: &M,
    settings: &PoissonGlm,
    cov: CovNeeded,
) -> Result<GlmFit> {
    let p = model.n_coef();
    if !(settings.epsilon > 0.0) || settings.maxit == 0 {
        return Err(Error::param(
            "epsilon/maxit",
            format!("{}/{}", settings.epsilon, settings.maxit),
            "positive",
        ));
    }
    let qr_tol = (1e-7f64).min(settings.epsilon / 1000.0);
    let mut beta = vec![0.0; p];
    let mut coefold = vec![0.0; p];
    let mut has_coefold = false;
    let mut state: Option<M::State> = None;
    let mut devold = match &settings.start {
        Some(s) => {
            if s.len() != p {
                return Err(Error::param("start", s.len(), format!("{p} coefficients")));
            }
            for (b, v) in beta.iter_mut().zip(s) {
                *b = if v.is_finite() { *v } else { 0.0 };
            }
            let (st, d) = model.evaluate(&beta);
            state = Some(st);
            coefold.copy_from_slice(&beta);
            has_coefold = true;
            d
        }
        None => model.start_deviance(),
    };
    let mut conv = false;
    let mut boundary = false;
    let mut iterations = 0;
    let mut last = Factor::R(DMatrix::zeros(0, 0));
    let mut kept: Vec<usize> = Vec::new();
    let mut dev = devold;
    // Buffers of in-place Newton steps: XᵀWX, score, the factor of this step and of
    // the last accepted one, the solution.
    let mut xtwx = Vec::new();
    let mut score = Vec::new();
    let mut lbuf = Vec::new();
    let mut last_l = Vec::new();
    let mut sol = Vec::new();
    let mut newbeta = vec![0.0; p];
    let mut last_in_place = false;
    for iter in 1..=settings.maxit {
        iterations = iter;
        xtwx.resize(p * p, 0.0);
        score.resize(p, 0.0);
        let at = state.as_ref().map(|s| (beta.as_slice(), s));
        let in_place = model.newton_in_place(at, &mut xtwx, &mut score);
        let step_factor = if in_place {
            // Factorised where it was formed (the model rewrites it every step).
            std::mem::swap(&mut xtwx, &mut lbuf);
            if !cholesky_in_place(&mut lbuf, p) {
                return Err(singular_newton());
            }
            sol.clear();
            sol.extend_from_slice(&score);
            cholesky_solve_fast(&lbuf, p, &mut sol);
            if kept.len() != p {
                kept = (0..p).collect();
            }
            for j in 0..p {
                newbeta[j] = beta[j] + sol[j];
            }
            None
        } else {
            let system = model.system(at);
            let increment = matches!(system, WlsSystem::Newton { .. });
            let (sol, factor, k) = solve_wls(system, qr_tol)?;
            newbeta.fill(0.0);
            for (i, &j) in k.iter().enumerate() {
                newbeta[j] = if increment { beta[j] + sol[i] } else { sol[i] };
            }
            Some((factor, k))
        };
        if newbeta.iter().any(|v| !v.is_finite()) {
            break;
        }
        match step_factor {
            Some((factor, k)) => {
                last = factor;
                kept = k;
                last_in_place = false;
            }
            None => {
                std::mem::swap(&mut lbuf, &mut last_l);
                last_in_place = true;
            }
        }
        let (mut st2, mut d2) = model.evaluate(&newbeta);
        if !d2.is_finite() {
            if !has_coefold {
                return Err(Error::Numerical {
                    reason: "no valid set of coefficients has been found".into(),
                });
            }
            let mut ii = 1;
            while !d2.is_finite() {
                if ii > settings.maxit {
                    return Err(Error::Numerical {
                        reason: "inner loop 1; cannot correct step size".into(),
                    });
                }
                ii += 1;
                for j in 0..p {
                    newbeta[j] = (newbeta[j] + coefold[j]) / 2.0;
                }
                (st2, d2) = model.evaluate(&newbeta);
            }
            boundary = true;
        }
        std::mem::swap(&mut beta, &mut newbeta);
        state = Some(st2);
        dev = d2;
        if (dev - devold).abs() / (dev.abs() + 0.1) < settings.epsilon {
            conv = true;
            break;
        }
        devold = dev;
        coefold.copy_from_slice(&beta);
        has_coefold = true;
    }
    let Some(state) = state else {
        return Err(Error::Numerical {
            reason: "IRLS produced no valid step".into(),
        });
    };
    if last_in_place {
        last = Factor::Chol(last_l, p);
    }
    let rank = kept.len();
    let aliased: Vec<usize> = (0..p).filter(|j| !kept.contains(j)).collect();
    let covariance = match (&last, cov) {
        (Factor::Chol(l, n), CovNeeded::TrailingDiagonal(from)) => trailing_diagonal(l, *n, from),
        _ => {
            let cov_r = last.inverse()?;
            if rank == p {
                // Every column kept, in order: the covariance as it is.
                cov_r
            } else {
                let mut covariance = DMatrix::from_element(p, p, f64::NAN);
                for (a, &ja) in kept.iter().enumerate() {
                    for (b, &jb) in kept.iter().enumerate() {
                        covariance[(ja, jb)] = cov_r[(a, b)];
                    }
                }
                covariance
            }
        }
    };
    let summary = model.summary(&beta, state);
    let mut coefficients = beta;
    for &j in &aliased {
        coefficients[j] = f64::NAN;
    }
    Ok(GlmFit {
        coefficients,
        aliased,
        covariance,
        fitted: summary.fitted,
        deviance: dev,
        loglik: summary.loglik,
        rank,
        df_residual: summary.n_cells - rank as i64,
        stop: if conv {
            StopReason::Converged { iterations }
        } else {
            StopReason::MaxIterations { iterations }
        },
        fitted_zero: summary.fitted_zero,
        boundary,
    })
}

fn singular_newton() -> Error {
    Error::Numerical {
        reason: "the information matrix XᵀWX of the Newton step is singular".into(),
    }
}

/// The diagonal entries (XᵀWX)⁻¹_ii for i ≥ `from` (the others NaN) from the Cholesky
/// factor L (column-major): (LLᵀ)⁻¹_ii = Σ_{r ≥ i} (L⁻¹)_ri², and the trailing block of
/// L⁻¹ is the inverse of the trailing block of L.
fn trailing_diagonal(l: &[f64], n: usize, from: usize) -> DMatrix<f64> {
    let mut out = DMatrix::from_element(n, n, f64::NAN);
    let mut m = vec![0.0; n];
    for i in from.min(n)..n {
        // Column i of L⁻¹, rows i..n: forward substitution on e_i.
        m[i] = 1.0 / l[i * n + i];
        for r in i + 1..n {
            let mut s = 0.0;
            for k in i..r {
                s += l[k * n + r] * m[k];
            }
            m[r] = -s / l[r * n + r];
        }
        out[(i, i)] = m[i..n].iter().map(|v| v * v).sum();
    }
    out
}

/// What the covariance (XᵀWX)⁻¹ on the kept columns is computed from.
enum Factor {
    /// The QR's upper-triangular R (RᵀR = XᵀWX): R's `chol2inv`.
    R(DMatrix<f64>),
    /// XᵀWX itself (normal equations): inverted by Cholesky.
    Info(DMatrix<f64>),
    /// The Cholesky factor L of XᵀWX (column-major, [`cholesky_flat`]) and its order.
    Chol(Vec<f64>, usize),
}

impl Factor {
    fn inverse(&self) -> Result<DMatrix<f64>> {
        match self {
            Factor::R(r) => Ok(chol2inv(r)),
            Factor::Chol(l, n) => {
                // Column-major L is row-major Lᵀ: transpose.
                let n = *n;
                let mut r = vec![0.0; n * n];
                for j in 0..n {
                    for i in j..n {
                        r[i * n + j] = l[j * n + i];
                    }
                }
                Ok(cholesky_inverse(&r, n))
            }
            Factor::Info(a) => spd_inverse(a)
                .or_else(|| a.clone().try_inverse())
                .ok_or_else(|| Error::Numerical {
                    reason: "singular information matrix".into(),
                }),
        }
    }
}

/// The Cholesky factor L (A = LLᵀ) of a symmetric positive definite A, column-major
/// (L[i][j] at j·n + i), column by column with the updates subtracted in order (the
/// left-looking order of LAPACK's `dpotrf` and nalgebra); `None` when a pivot is not
/// positive.
fn cholesky_flat(a: &DMatrix<f64>) -> Option<Vec<f64>> {
    let n = a.nrows();
    let mut l = a.as_slice().to_vec();
    cholesky_in_place(&mut l, n).then_some(l)
}

/// [`cholesky_flat`] overwriting the lower triangle of the column-major `l` (the
/// upper triangle is never read); `false` when a pivot is not positive. Two columns
/// per pass, so that each loaded entry of a finished column updates both.
fn cholesky_in_place(l: &mut [f64], n: usize) -> bool {
    let mut j = 0;
    while j < n {
        if j + 1 == n {
            let (done, rest) = l.split_at_mut(j * n);
            let x = &mut rest[j];
            let mut acc = *x;
            for ck in done.chunks_exact(n) {
                acc -= ck[j] * ck[j];
            }
            if !(acc > 0.0) || !acc.is_finite() {
                return false;
            }
            *x = acc.sqrt();
            return true;
        }
        let (done, rest) = l.split_at_mut(j * n);
        let (ca, cb) = rest.split_at_mut(n);
        // Columns j and j + 1 from the finished columns k < j: rows j + 1.. of both
        // in register blocks (each entry subtracts l_jk l_ik one at a time for k = 0,
        // 1, …: the order, and so the rounding, of the plain left-looking loop), then
        // the diagonal entry of column j.
        let (xa, xb) = (&mut ca[j + 1..n], &mut cb[j + 1..n]);
        let i0 = update2_rows::<8>(xa, xb, done, n, j, 0);
        let i0 = update2_rows::<4>(xa, xb, done, n, j, i0);
        let i0 = update2_rows::<2>(xa, xb, done, n, j, i0);
        update2_rows::<1>(xa, xb, done, n, j, i0);
        let mut d = ca[j];
        for ck in done.chunks_exact(n) {
            d -= ck[j] * ck[j];
        }
        if !(d > 0.0) || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        ca[j] = d;
        let r = 1.0 / d;
        for x in &mut ca[j + 1..n] {
            *x *= r;
        }
        // Column j + 1: the update from column j, then its pivot.
        let lj = ca[j + 1];
        for (x, &c) in cb[j + 1..n].iter_mut().zip(&ca[j + 1..n]) {
            *x -= lj * c;
        }
        let d = cb[j + 1];
        if !(d > 0.0) || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        cb[j + 1] = d;
        let r = 1.0 / d;
        for x in &mut cb[j + 2..n] {
            *x *= r;
        }
        j += 2;
    }
    true
}

/// [`update2`] on the rows `i0..` of `xa` and `xb` (entry t is row j + 1 + t) in blocks
/// of B while B rows are left; returns the first row not done.
#[inline(always)]
fn update2_rows<const B: usize>(
    xa: &mut [f64],
    xb: &mut [f64],
    done: &[f64],
    n: usize,
    j: usize,
    mut i0: usize,
) -> usize {
    while i0 + B <= xa.len() {
        update2::<B>(
            &mut xa[i0..i0 + B],
            &mut xb[i0..i0 + B],
            done,
            n,
            j,
            j + 1 + i0,
        );
        i0 += B;
    }
    i0
}

/// `xa[t] -= l_jk · l_{row+t, k}` and `xb[t] -= l_{j+1,k} · l_{row+t, k}` for k =
/// 0, 1, … over the finished columns of the column-major factor in `done`, with the B
/// entries of both held in registers.
#[inline(always)]
fn update2<const B: usize>(
    xa: &mut [f64],
    xb: &mut [f64],
    done: &[f64],
    n: usize,
    j: usize,
    row: usize,
) {
    let mut a = [0.0; B];
    let mut b = [0.0; B];
    a.copy_from_slice(&xa[..B]);
    b.copy_from_slice(&xb[..B]);
    for ck in done.chunks_exact(n) {
        let la = ck[j];
        let lb = ck[j + 1];
        let c = &ck[row..row + B];
        for t in 0..B {
            a[t] -= la * c[t];
            b[t] -= lb * c[t];
        }
    }
    xa[..B].copy_from_slice(&a);
    xb[..B].copy_from_slice(&b);
}

/// Solves LLᵀx = b for the factor of [`cholesky_flat`].
fn cholesky_solve_flat(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = b.to_vec();
    cholesky_solve_in_place(l, n, &mut x);
    x
}

/// Solves Ly = x in place for the factor of [`cholesky_flat`] (the first half of both
/// Cholesky solves): rows in blocks of 4 held in registers, each entry subtracting
/// l_ri y_i for i = 0, 1, … in order and then divided by l_rr.
fn forward_substitute(l: &[f64], n: usize, x: &mut [f64]) {
    let mut r0 = 0;
    while r0 + 4 <= n {
        forward_block::<4>(l, n, x, r0);
        r0 += 4;
    }
    while r0 < n {
        forward_block::<1>(l, n, x, r0);
        r0 += 1;
    }
}

/// Rows r0..r0 + B of [`forward_substitute`], rows < r0 done.
#[inline(always)]
fn forward_block<const B: usize>(l: &[f64], n: usize, x: &mut [f64], r0: usize) {
    let (done, rest) = x.split_at_mut(r0);
    let mut acc = [0.0; B];
    acc.copy_from_slice(&rest[..B]);
    for (ci, &xi) in l.chunks_exact(n).zip(done.iter()) {
        let c: &[f64; B] = ci[r0..r0 + B].try_into().unwrap();
        for t in 0..B {
            acc[t] -= xi * c[t];
        }
    }
    for t in 0..B {
        let ct = &l[(r0 + t) * n + r0..(r0 + t) * n + r0 + B];
        let xt = acc[t] / ct[t];
        acc[t] = xt;
        for u in t + 1..B {
            acc[u] -= xt * ct[u];
        }
    }
    rest[..B].copy_from_slice(&acc);
}

/// [`cholesky_solve_flat`] overwriting the right-hand side `x` with the solution.
fn cholesky_solve_in_place(l: &[f64], n: usize, x: &mut [f64]) {
    forward_substitute(l, n, x);
    for i in (0..n).rev() {
        let col = &l[i * n + i..i * n + n];
        let mut s = x[i];
        for (&lr, &xr) in col[1..].iter().zip(&x[i + 1..]) {
            s -= lr * xr;
        }
        x[i] = s / col[0];
    }
}

/// [`cholesky_solve_in_place`] with the back substitution's sums split over four
/// accumulators (rounded differently, not serialised on one sum): the in-place Newton
/// steps ([`IrlsModel::newton_in_place`]).
fn cholesky_solve_fast(l: &[f64], n: usize, x: &mut [f64]) {
    forward_substitute(l, n, x);
    for i in (0..n).rev() {
        let col = &l[i * n + i + 1..i * n + n];
        let mut acc = [0.0f64; 4];
        let mut cc = col.chunks_exact(4);
        let mut xc = x[i + 1..].chunks_exact(4);
        for (c, v) in (&mut cc).zip(&mut xc) {
            let c: &[f64; 4] = c.try_into().unwrap();
            let v: &[f64; 4] = v.try_into().unwrap();
            for t in 0..4 {
                acc[t] += c[t] * v[t];
            }
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (&c, &v) in cc.remainder().iter().zip(xc.remainder()) {
            s += c * v;
        }
        x[i] = (x[i] - s) / l[i * n + i];
    }
}

/// (LLᵀ)⁻¹ = L⁻ᵀL⁻¹ from L (row-major lower triangle).
fn cholesky_inverse(l: &[f64], n: usize) -> DMatrix<f64> {
    // M = L⁻¹ (lower), stored by columns: M[i][j] = −Σ_{j≤k<i} L[i][k] M[k][j] / L[i][i].
    let mut m = vec![0.0; n * n];
    for j in 0..n {
        let mj = &mut m[j * n..j * n + n];
        mj[j] = 1.0 / l[j * n + j];
        for i in j + 1..n {
            let s: f64 = l[i * n + j..i * n + i]
                .iter()
                .zip(&mj[j..i])
                .map(|(a, b)| a * b)
                .sum();
            mj[i] = -s / l[i * n + i];
        }
    }
    // A⁻¹[i][j] = Σ_{k ≥ max(i, j)} M[k][i] M[k][j].
    let mut inv = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = m[i * n + i..i * n + n]
                .iter()
                .zip(&m[j * n + i..j * n + n])
                .map(|(a, b)| a * b)
                .sum();
            inv[(i, j)] = s;
            inv[(j, i)] = s;
        }
    }
    inv
}

/// A⁻¹ for a symmetric positive definite A by Cholesky (A = LLᵀ, A⁻¹ = L⁻ᵀL⁻¹) on
/// flat arrays; `None` when a pivot is not positive.
fn spd_inverse(a: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = a.nrows();
    // L, row-major lower triangle.
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let (ri, rj) = (&l[i * n..i * n + j], &l[j * n..j * n + j]);
            let s = a[(i, j)] - ri.iter().zip(rj).map(|(x, y)| x * y).sum::<f64>();
            if i == j {
                if !(s > 0.0) {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(cholesky_inverse(&l, n))
}

/// Solves one WLS step: (solution on the kept columns, what the covariance follows
/// from, kept column indices).
fn solve_wls(system: WlsSystem, qr_tol: f64) -> Result<(Vec<f64>, Factor, Vec<usize>)> {
    let (sol, r, kept) = match system {
        WlsSystem::Rows { mut a, mut b } => {
            let (r, kept) = qr_solve(&mut a, &mut b, qr_tol);
            let qtb: Vec<f64> = (0..kept.len()).map(|i| b[i]).collect();
            let sol = back_solve(&r, &qtb);
            (sol, Factor::R(r), kept)
        }
        WlsSystem::Normal { xtwx, xtwz } => {
            let (sol, kept) = chol_solve(&xtwx, &xtwz, 1e-7);
            let info = DMatrix::from_fn(kept.len(), kept.len(), |i, j| xtwx[(kept[i], kept[j])]);
            (sol, Factor::Info(info), kept)
        }
        WlsSystem::Newton { xtwx, score } => {
            let n = xtwx.nrows();
            let l = cholesky_flat(&xtwx).ok_or_else(singular_newton)?;
            let sol = cholesky_solve_flat(&l, n, score.as_slice());
            let kept = (0..n).collect();
            (sol, Factor::Chol(l, n), kept)
        }
    };
    if kept.is_empty() {
        return Err(Error::Numerical {
            reason: "the design has no estimable column".into(),
        });
    }
    Ok((sol, r, kept))
}

/// Householder QR with R's limited column pivoting (LINPACK `dqrdc2`): a column whose
/// remaining norm falls below `tol` times its original norm is moved to the end.
/// Returns (R factor of the kept columns, kept column indices); `b` becomes Qᵀb.
fn qr_solve(a: &mut DMatrix<f64>, b: &mut DVector<f64>, tol: f64) -> (DMatrix<f64>, Vec<usize>) {
    let (n, p) = a.shape();
    let orig: Vec<f64> = (0..p).map(|j| a.column(j).norm()).collect();
    let mut kept: Vec<usize> = Vec::with_capacity(p);
    let mut k = 0; // next pivot row
    for j in 0..p {
        if k >= n {
            break;
        }
        let norm = a.view((k, j), (n - k, 1)).norm();
        if orig[j] == 0.0 || norm < tol * orig[j] || norm == 0.0 {
            continue;
        }
        // Householder vector for column j, rows k..n.
        let alpha = if a[(k, j)] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..n).map(|i| a[(i, j)]).collect();
        v[0] -= alpha;
        let vnorm2: f64 = v.iter().map(|x| x * x).sum();
        if vnorm2 > 0.0 {
            for jj in j..p {
                let d: f64 = (k..n).map(|i| v[i - k] * a[(i, jj)]).sum::<f64>() * 2.0 / vnorm2;
                for i in k..n {
                    a[(i, jj)] -= d * v[i - k];
                }
            }
            let d: f64 = (k..n).map(|i| v[i - k] * b[i]).sum::<f64>() * 2.0 / vnorm2;
            for i in k..n {
                b[i] -= d * v[i - k];
            }
        }
        kept.push(j);
        k += 1;
    }
    let r = kept.len();
    let mut rm = DMatrix::zeros(r, r);
    for (row, _) in kept.iter().enumerate() {
        for (col, &jc) in kept.iter().enumerate() {
            if col >= row {
                rm[(row, col)] = a[(row, jc)];
            }
        }
    }
    (rm, kept)
}

/// Solves A x = b by Cholesky in column order, dropping columns whose residual norm
/// falls below `tol` times their original norm (R's rank rule on normal equations).
/// Returns (solution on kept columns, kept indices).
fn chol_solve(a: &DMatrix<f64>, b: &DVector<f64>, tol: f64) -> (Vec<f64>, Vec<usize>) {
    let p = a.nrows();
    let mut kept: Vec<usize> = Vec::new();
    let mut l: Vec<Vec<f64>> = Vec::new(); // rows of L for kept columns
    for j in 0..p {
        let ajj = a[(j, j)];
        if !(ajj > 0.0) {
            continue;
        }
        let mut lrow = Vec::with_capacity(kept.len() + 1);
        for (r, &kr) in kept.iter().enumerate() {
            let mut s = a[(j, kr)];
            for c in 0..r {
                s -= lrow[c] * l[r][c];
            }
            lrow.push(s / l[r][r]);
        }
        let d = ajj - lrow.iter().map(|v| v * v).sum::<f64>();
        if d <= tol * tol * ajj || !(d.is_finite()) {
            continue;
        }
        lrow.push(d.sqrt());
        l.push(lrow);
        kept.push(j);
    }
    let r = kept.len();
    // forward then backward substitution
    let mut y = vec![0.0; r];
    for i in 0..r {
        let mut s = b[kept[i]];
        for c in 0..i {
            s -= l[i][c] * y[c];
        }
        y[i] = s / l[i][i];
    }
    let mut x = vec![0.0; r];
    for i in (0..r).rev() {
        let mut s = y[i];
        for rr in i + 1..r {
            s -= l[rr][i] * x[rr];
        }
        x[i] = s / l[i][i];
    }
    (x, kept)
}

fn back_solve(r: &DMatrix<f64>, b: &[f64]) -> Vec<f64> {
    let k = r.nrows();
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = b[i];
        for j in i + 1..k {
            s -= r[(i, j)] * x[j];
        }
        x[i] = s / r[(i, i)];
    }
    x
}

/// (RᵀR)⁻¹ for upper-triangular R (R's `chol2inv`).
fn chol2inv(r: &DMatrix<f64>) -> DMatrix<f64> {
    let k = r.nrows();
    let mut rinv = DMatrix::zeros(k, k);
    for c in 0..k {
        let mut e = vec![0.0; k];
        e[c] = 1.0;
        let col = back_solve(r, &e);
        for i in 0..k {
            rinv[(i, c)] = col[i];
        }
    }
    &rinv * rinv.transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_and_normal_equations_agree() {
        // Same system both ways: solutions and RᵀR agree, an aliased column is dropped.
        let x = DMatrix::from_row_slice(
            4,
            3,
            &[1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 1.0, 2.0, 4.0, 1.0, 3.0, 6.0],
        );
        let z = DVector::from_column_slice(&[0.5, 1.0, 2.5, 2.0]);
        let (s1, r1, k1) = solve_wls(
            WlsSystem::Rows {
                a: x.clone(),
                b: z.clone(),
            },
            1e-11,
        )
        .unwrap();
        let (s2, r2, k2) = solve_wls(
            WlsSystem::Normal {
                xtwx: x.transpose() * &x,
                xtwz: x.transpose() * &z,
            },
            1e-11,
        )
        .unwrap();
        assert_eq!(k1, vec![0, 1]);
        assert_eq!(k1, k2);
        for i in 0..2 {
            assert!((s1[i] - s2[i]).abs() < 1e-10);
        }
        let (c1, c2) = (r1.inverse().unwrap(), r2.inverse().unwrap());
        assert!((&c1 - &c2).norm() < 1e-10);
    }
}
