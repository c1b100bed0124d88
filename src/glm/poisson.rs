//! Poisson regression with log link by iteratively reweighted least squares.

use super::StopReason;
use crate::error::{Error, Result};
use crate::prec::{IRLS_TOL, MAX_ITER};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

/// Settings of a Poisson log-linear fit: `PoissonGlm::params().fit(&x, &y)`.
///
/// ```text
/// y_i ~ Poisson(μ_i),  log μ_i = offset_i + x_iᵀ β,  prior weights w_i
/// IRLS:  z = η − offset + (y − μ)/μ,  W = w·μ,  β ← (XᵀWX)⁻¹ XᵀWz
/// ```
/// Starts from μ = y + 0.1 (as R's `poisson()$initialize`), stops when the relative
/// change in deviance is below `tol` (as `glm.control`, tighter by default), halves the
/// step when the deviance rises or is not finite. Columns that are linear combinations
/// of earlier columns are aliased (dropped and reported), as R's pivoting QR does.
///
/// # References
/// McCullagh & Nelder (1989) *Generalized Linear Models*, 2nd ed., §2.5; R's `glm.fit`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoissonGlm {
    /// Convergence tolerance on the relative change in deviance.
    pub tol: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Relative tolerance of the rank detection (Gram-Schmidt residual norm).
    pub rank_tol: f64,
    /// Starting coefficients (length = columns of X); `None` starts from μ = y + 0.1.
    pub start: Option<Vec<f64>>,
}

impl Default for PoissonGlm {
    fn default() -> Self {
        PoissonGlm {
            tol: IRLS_TOL,
            max_iter: MAX_ITER,
            rank_tol: 1e-9,
            start: None,
        }
    }
}

/// A fitted Poisson GLM. Vectors indexed by coefficient have the full length of the
/// design; aliased coefficients are NaN there and absent from `covariance`'s support.
#[derive(Debug, Clone, PartialEq)]
pub struct GlmFit {
    /// Coefficients (NaN for aliased columns).
    pub coefficients: DVector<f64>,
    /// Indices of aliased (dropped) columns.
    pub aliased: Vec<usize>,
    /// Covariance of the estimable coefficients, full size with zeros in aliased rows
    /// and columns (inverse Fisher information, dispersion 1).
    pub covariance: DMatrix<f64>,
    /// Fitted means μ.
    pub fitted: DVector<f64>,
    /// Deviance 2 Σ w [y ln(y/μ) − (y − μ)].
    pub deviance: f64,
    /// Poisson log-likelihood Σ w [y ln μ − μ − ln y!].
    pub loglik: f64,
    /// Number of estimable coefficients.
    pub rank: usize,
    /// Observations with positive weight.
    pub n_obs: usize,
    /// Residual degrees of freedom n_obs − rank.
    pub df_residual: i64,
    /// Why IRLS stopped.
    pub stop: StopReason,
}

impl GlmFit {
    /// AIC = −2 log L + 2·rank.
    pub fn aic(&self) -> f64 {
        -2.0 * self.loglik + 2.0 * self.rank as f64
    }

    /// BIC = −2 log L + ln(n)·rank, with the sample size `n` chosen by the caller
    /// (Rcapture uses the number of units caught, not the number of cells).
    pub fn bic(&self, n: f64) -> f64 {
        -2.0 * self.loglik + n.ln() * self.rank as f64
    }

    /// Standard errors of the coefficients (NaN for aliased ones).
    pub fn std_errors(&self) -> DVector<f64> {
        DVector::from_fn(self.coefficients.len(), |i, _| {
            if self.aliased.contains(&i) {
                f64::NAN
            } else {
                self.covariance[(i, i)].max(0.0).sqrt()
            }
        })
    }
}

impl PoissonGlm {
    /// Default settings.
    pub fn params() -> Self {
        Self::default()
    }

    /// Sets the convergence tolerance.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the iteration cap.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }

    /// Sets starting coefficients.
    pub fn start(mut self, beta: Vec<f64>) -> Self {
        self.start = Some(beta);
        self
    }

    /// Fits y on X with no offset and unit weights.
    ///
    /// # Errors
    /// As [`PoissonGlm::fit_with`].
    pub fn fit(&self, x: &DMatrix<f64>, y: &[f64]) -> Result<GlmFit> {
        self.fit_with(x, y, None, None)
    }

    /// Fits y on X with an optional offset and prior weights.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for bad settings; [`Error::InvalidData`] for
    /// mismatched lengths, negative or non-finite responses, weights or offsets;
    /// [`Error::Numerical`] when the information matrix cannot be factorised.
    /// Non-convergence is not an error: it is reported in [`GlmFit::stop`].
    pub fn fit_with(
        &self,
        x: &DMatrix<f64>,
        y: &[f64],
        offset: Option<&[f64]>,
        weights: Option<&[f64]>,
    ) -> Result<GlmFit> {
        let (n, p) = x.shape();
        if self.tol.is_nan() || self.tol <= 0.0 || self.max_iter == 0 {
            return Err(Error::param(
                "tol/max_iter",
                format!("{}/{}", self.tol, self.max_iter),
                "a positive tolerance and at least one iteration",
            ));
        }
        if y.len() != n {
            return Err(Error::invalid(format!(
                "{} responses for {n} design rows",
                y.len()
            )));
        }
        if let Some(i) = y.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::invalid_row(
                i,
                format!("response {} is not a count", y[i]),
            ));
        }
        let off: Vec<f64> = match offset {
            Some(o) if o.len() == n => o.to_vec(),
            Some(o) => return Err(Error::invalid(format!("{} offsets for {n} rows", o.len()))),
            None => vec![0.0; n],
        };
        if let Some(i) = off.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid_row(i, "offset is not finite"));
        }
        let w: Vec<f64> = match weights {
            Some(w) if w.len() == n => w.to_vec(),
            Some(w) => return Err(Error::invalid(format!("{} weights for {n} rows", w.len()))),
            None => vec![1.0; n],
        };
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::invalid_row(
                i,
                "prior weight is negative or not finite",
            ));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid("design matrix has a non-finite entry"));
        }

        // Rank detection: Gram-Schmidt over columns in order (rows with zero weight ignored).
        let keep = independent_columns(x, &w, self.rank_tol);
        let aliased: Vec<usize> = (0..p).filter(|j| !keep.contains(j)).collect();
        let xr = x.select_columns(keep.iter());
        let q = keep.len();

        let mut beta = match &self.start {
            Some(b) if b.len() == p => DVector::from_iterator(q, keep.iter().map(|&j| b[j])),
            Some(b) => {
                return Err(Error::param(
                    "start",
                    b.len(),
                    format!("{p} starting coefficients"),
                ));
            }
            None => {
                // One weighted least-squares step from μ = y + 0.1.
                let mu0: Vec<f64> = y.iter().map(|v| v + 0.1).collect();
                let eta0: Vec<f64> = mu0.iter().map(|m| m.ln()).collect();
                let z: Vec<f64> = (0..n)
                    .map(|i| eta0[i] - off[i] + (y[i] - mu0[i]) / mu0[i])
                    .collect();
                let ww: Vec<f64> = (0..n).map(|i| w[i] * mu0[i]).collect();
                wls(&xr, &ww, &z)?
            }
        };
        let mut eta = &xr * &beta + DVector::from_column_slice(&off);
        let mut dev = deviance(y, &w, &eta);
        if !dev.is_finite() {
            // Fall back to a safe start: intercept-like zero coefficients.
            beta = DVector::zeros(q);
            eta = &xr * &beta + DVector::from_column_slice(&off);
            dev = deviance(y, &w, &eta);
        }
        let mut stop = StopReason::MaxIterations {
            iterations: self.max_iter,
        };
        for it in 1..=self.max_iter {
            let mu: Vec<f64> = eta.iter().map(|e| e.exp()).collect();
            let z: Vec<f64> = (0..n)
                .map(|i| {
                    eta[i] - off[i]
                        + if mu[i] > 0.0 {
                            (y[i] - mu[i]) / mu[i]
                        } else {
                            0.0
                        }
                })
                .collect();
            let ww: Vec<f64> = (0..n).map(|i| w[i] * mu[i]).collect();
            let mut new_beta = wls(&xr, &ww, &z)?;
            let mut new_eta = &xr * &new_beta + DVector::from_column_slice(&off);
            let mut new_dev = deviance(y, &w, &new_eta);
            let mut halvings = 0;
            while !new_dev.is_finite() || new_dev > dev * (1.0 + 1e-12) + 1e-12 {
                halvings += 1;
                if halvings > 40 {
                    break;
                }
                new_beta = (&new_beta + &beta) * 0.5;
                new_eta = &xr * &new_beta + DVector::from_column_slice(&off);
                new_dev = deviance(y, &w, &new_eta);
            }
            if !new_dev.is_finite() {
                stop = StopReason::Diverged { iterations: it };
                break;
            }
            let change = (new_dev - dev).abs() / (new_dev.abs() + 0.1);
            beta = new_beta;
            eta = new_eta;
            dev = new_dev;
            if change < self.tol {
                stop = StopReason::Converged { iterations: it };
                break;
            }
            if halvings > 40 {
                stop = StopReason::Diverged { iterations: it };
                break;
            }
        }
        let mu = eta.map(|e| e.exp());
        let ww: Vec<f64> = (0..n).map(|i| w[i] * mu[i]).collect();
        let info = weighted_crossprod(&xr, &ww);
        let cov_r = info
            .clone()
            .cholesky()
            .map(|c| c.inverse())
            .or_else(|| info.try_inverse())
            .ok_or_else(|| Error::Numerical {
                reason: "the Fisher information of the Poisson fit is singular".into(),
            })?;
        let mut coefficients = DVector::from_element(p, f64::NAN);
        let mut covariance = DMatrix::zeros(p, p);
        for (a, &ja) in keep.iter().enumerate() {
            coefficients[ja] = beta[a];
            for (b, &jb) in keep.iter().enumerate() {
                covariance[(ja, jb)] = cov_r[(a, b)];
            }
        }
        let loglik = (0..n)
            .map(|i| {
                if w[i] == 0.0 {
                    0.0
                } else {
                    w[i] * (if y[i] > 0.0 { y[i] * eta[i] } else { 0.0 }
                        - mu[i]
                        - ln_gamma(y[i] + 1.0))
                }
            })
            .sum();
        let n_obs = w.iter().filter(|&&v| v > 0.0).count();
        Ok(GlmFit {
            coefficients,
            aliased,
            covariance,
            fitted: mu,
            deviance: dev,
            loglik,
            rank: q,
            n_obs,
            df_residual: n_obs as i64 - q as i64,
            stop,
        })
    }
}

fn deviance(y: &[f64], w: &[f64], eta: &DVector<f64>) -> f64 {
    let mut d = 0.0;
    for i in 0..y.len() {
        if w[i] == 0.0 {
            continue;
        }
        let mu = eta[i].exp();
        let term = if y[i] > 0.0 {
            y[i] * (y[i].ln() - eta[i]) - (y[i] - mu)
        } else {
            mu
        };
        d += w[i] * term;
    }
    2.0 * d
}

/// XᵀWX for diagonal weights.
fn weighted_crossprod(x: &DMatrix<f64>, w: &[f64]) -> DMatrix<f64> {
    let (n, p) = x.shape();
    let mut m = DMatrix::zeros(p, p);
    for a in 0..p {
        let ca = x.column(a);
        for b in 0..=a {
            let cb = x.column(b);
            let mut s = 0.0;
            for i in 0..n {
                s += ca[i] * w[i] * cb[i];
            }
            m[(a, b)] = s;
            m[(b, a)] = s;
        }
    }
    m
}

/// Solves the weighted least-squares normal equations (XᵀWX) β = XᵀWz.
fn wls(x: &DMatrix<f64>, w: &[f64], z: &[f64]) -> Result<DVector<f64>> {
    let (n, p) = x.shape();
    let m = weighted_crossprod(x, w);
    let mut rhs = DVector::zeros(p);
    for a in 0..p {
        let ca = x.column(a);
        let mut s = 0.0;
        for i in 0..n {
            s += ca[i] * w[i] * z[i];
        }
        rhs[a] = s;
    }
    if let Some(ch) = m.clone().cholesky() {
        return Ok(ch.solve(&rhs));
    }
    m.lu().solve(&rhs).ok_or_else(|| Error::Numerical {
        reason: "weighted least-squares system is singular (fitted means collapsed to 0?)".into(),
    })
}

/// Indices of columns that are not (numerically) linear combinations of earlier columns,
/// by modified Gram-Schmidt over rows with positive weight.
fn independent_columns(x: &DMatrix<f64>, w: &[f64], tol: f64) -> Vec<usize> {
    let rows: Vec<usize> = (0..x.nrows()).filter(|&i| w[i] > 0.0).collect();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut keep = Vec::new();
    for j in 0..x.ncols() {
        let mut v: Vec<f64> = rows.iter().map(|&i| x[(i, j)]).collect();
        let norm0 = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm0 == 0.0 {
            continue;
        }
        for _ in 0..2 {
            for b in &basis {
                let d: f64 = v.iter().zip(b).map(|(a, c)| a * c).sum();
                for (a, c) in v.iter_mut().zip(b) {
                    *a -= d * c;
                }
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > tol * norm0 {
            for a in v.iter_mut() {
                *a /= norm;
            }
            basis.push(v);
            keep.push(j);
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_saturated_fit_and_aliasing() {
        // Two groups, intercept + group + a duplicated group column (aliased).
        let x = DMatrix::from_row_slice(4, 3, &[1., 0., 0., 1., 0., 0., 1., 1., 1., 1., 1., 1.]);
        let y = [2.0, 4.0, 10.0, 14.0];
        let f = PoissonGlm::params().fit(&x, &y).unwrap();
        assert!(f.stop.converged());
        assert_eq!(f.aliased, vec![2]);
        assert!((f.coefficients[0] - 3f64.ln()).abs() < 1e-10);
        assert!((f.coefficients[1] - 4f64.ln()).abs() < 1e-10);
        assert_eq!(f.df_residual, 2);
        // Var(log mean) = 1 / Σy in each group.
        assert!((f.covariance[(0, 0)] - 1.0 / 6.0).abs() < 1e-8);
    }

    #[test]
    fn rejects_bad_response() {
        let x = DMatrix::from_element(2, 1, 1.0);
        assert!(PoissonGlm::params().fit(&x, &[1.0, -1.0]).is_err());
        assert!(PoissonGlm::params().fit(&x, &[1.0]).is_err());
    }
}
