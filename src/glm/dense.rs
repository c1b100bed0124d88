//! A Poisson log-linear model on a plain design matrix, one row per cell, with an
//! optional offset and prior weights: the [`IrlsModel`] behind [`PoissonGlm::fit_dense`].
//!
//! ```text
//! y_i ~ Poisson(μ_i),  log μ_i = o_i + x_iᵀβ,  prior weight w_i ≥ 0
//! deviance   2 Σ w_i [y_i ln(y_i/μ_i) − (y_i − μ_i)]        (R's poisson()$dev.resids)
//! WLS rows   √(w_i μ_i) x_i,  √(w_i μ_i) z_i,  z_i = η_i − o_i + (y_i − μ_i)/μ_i
//! ```
//! Rows with zero weight take no part in the fit (R's `good`), nor in the residual
//! degrees of freedom (R's `n.ok`). Fitted means are floored at machine epsilon, as
//! R's `poisson()$linkinv`.
#![allow(clippy::needless_range_loop)]

use super::irls::{GlmFit, IrlsModel, IrlsSummary, PoissonGlm, WlsSystem};
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

const MU_FLOOR: f64 = f64::EPSILON;

/// y on X, one design row per cell, with offset and prior weights (validated).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseCounts<'a> {
    x: &'a DMatrix<f64>,
    y: Vec<f64>,
    offset: Vec<f64>,
    weights: Vec<f64>,
}

/// η and μ per row at β.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseState {
    eta: Vec<f64>,
    mu: Vec<f64>,
}

impl<'a> DenseCounts<'a> {
    /// Checks and holds a Poisson response on a design.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for mismatched lengths, negative or non-finite responses,
    /// weights or offsets, or a non-finite design entry.
    pub fn new(
        x: &'a DMatrix<f64>,
        y: &[f64],
        offset: Option<&[f64]>,
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        let n = x.nrows();
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
        let offset = match offset {
            Some(o) if o.len() == n => o.to_vec(),
            Some(o) => return Err(Error::invalid(format!("{} offsets for {n} rows", o.len()))),
            None => vec![0.0; n],
        };
        if let Some(i) = offset.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid_row(i, "offset is not finite"));
        }
        let weights = match weights {
            Some(w) if w.len() == n => w.to_vec(),
            Some(w) => return Err(Error::invalid(format!("{} weights for {n} rows", w.len()))),
            None => vec![1.0; n],
        };
        if let Some(i) = weights.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(Error::invalid_row(
                i,
                "prior weight is negative or not finite",
            ));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid("design matrix has a non-finite entry"));
        }
        Ok(DenseCounts {
            x,
            y: y.to_vec(),
            offset,
            weights,
        })
    }

    fn rows(&self, mu: &[f64], eta: &[f64]) -> WlsSystem {
        let (n, p) = self.x.shape();
        let mut a = DMatrix::zeros(n, p);
        let mut b = DVector::zeros(n);
        for i in 0..n {
            let w = self.weights[i] * mu[i];
            if w.is_nan() || w <= 0.0 {
                continue;
            }
            let sw = w.sqrt();
            let z = eta[i] - self.offset[i] + (self.y[i] - mu[i]) / mu[i];
            for j in 0..p {
                a[(i, j)] = self.x[(i, j)] * sw;
            }
            b[i] = z * sw;
        }
        WlsSystem::Rows { a, b }
    }

    fn deviance(&self, mu: &[f64]) -> f64 {
        let mut d = 0.0;
        for i in 0..self.y.len() {
            let w = self.weights[i];
            if w == 0.0 {
                continue;
            }
            let y = self.y[i];
            let term = if y > 0.0 {
                y * (y / mu[i]).ln() - (y - mu[i])
            } else {
                mu[i]
            };
            d += w * term;
        }
        2.0 * d
    }
}

impl IrlsModel for DenseCounts<'_> {
    type State = DenseState;

    fn n_coef(&self) -> usize {
        self.x.ncols()
    }

    fn start_deviance(&self) -> f64 {
        let mu: Vec<f64> = self.y.iter().map(|y| y + 0.1).collect();
        self.deviance(&mu)
    }

    fn evaluate(&self, beta: &[f64]) -> (DenseState, f64) {
        let n = self.x.nrows();
        let mut eta = self.offset.clone();
        for (j, &b) in beta.iter().enumerate() {
            if b != 0.0 {
                for i in 0..n {
                    eta[i] += self.x[(i, j)] * b;
                }
            }
        }
        let mu: Vec<f64> = eta.iter().map(|e| e.exp().max(MU_FLOOR)).collect();
        let dev = self.deviance(&mu);
        (DenseState { eta, mu }, dev)
    }

    fn system(&self, at: Option<(&[f64], &DenseState)>) -> WlsSystem {
        match at {
            None => {
                let mu: Vec<f64> = self.y.iter().map(|y| y + 0.1).collect();
                let eta: Vec<f64> = mu.iter().map(|m| m.ln()).collect();
                self.rows(&mu, &eta)
            }
            Some((_, st)) => self.rows(&st.mu, &st.eta),
        }
    }

    fn summary(&self, _beta: &[f64], state: DenseState) -> IrlsSummary {
        let mut loglik = 0.0;
        let mut n_ok = 0;
        let mut fitted_zero = false;
        for i in 0..self.y.len() {
            let w = self.weights[i];
            if w == 0.0 {
                continue;
            }
            n_ok += 1;
            let (y, mu) = (self.y[i], state.mu[i]);
            fitted_zero |= mu < 10.0 * f64::EPSILON;
            let ylogmu = if y > 0.0 { y * mu.ln() } else { 0.0 };
            loglik += w * (ylogmu - mu - ln_gamma(y + 1.0));
        }
        IrlsSummary {
            loglik,
            fitted: state.mu,
            fitted_zero,
            n_cells: n_ok,
        }
    }
}

impl PoissonGlm {
    /// Fits y on X with an optional offset and prior weights along R's `glm.fit` path
    /// (`glm(y ~ X - 1, family = poisson, offset, weights)`).
    ///
    /// # Errors
    /// As [`DenseCounts::new`] and [`irls_r_path`](crate::glm::irls_r_path).
    /// Non-convergence is not an error: it is reported in [`GlmFit::stop`].
    ///
    /// # Examples
    /// ```
    /// use darkfigure::glm::PoissonGlm;
    /// use nalgebra::DMatrix;
    /// // Two groups: log μ = β₀ + β₁ [group 2]; group means 3 and 12.
    /// let x = DMatrix::from_row_slice(4, 2, &[1., 0., 1., 0., 1., 1., 1., 1.]);
    /// let f = PoissonGlm::params().fit_dense(&x, &[2.0, 4.0, 10.0, 14.0], None, None)?;
    /// assert!((f.coefficients[1] - 4f64.ln()).abs() < 1e-8);
    /// # Ok::<(), darkfigure::Error>(())
    /// ```
    pub fn fit_dense(
        &self,
        x: &DMatrix<f64>,
        y: &[f64],
        offset: Option<&[f64]>,
        weights: Option<&[f64]>,
    ) -> Result<GlmFit> {
        self.fit(&DenseCounts::new(x, y, offset, weights)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_saturated_fit_and_aliasing() {
        // Two groups, intercept + group + a duplicated group column (aliased).
        let x = DMatrix::from_row_slice(4, 3, &[1., 0., 0., 1., 0., 0., 1., 1., 1., 1., 1., 1.]);
        let y = [2.0, 4.0, 10.0, 14.0];
        let f = PoissonGlm::params().fit_dense(&x, &y, None, None).unwrap();
        assert!(f.stop.converged());
        assert_eq!(f.aliased, vec![2]);
        assert!((f.coefficients[0] - 3f64.ln()).abs() < 1e-8);
        assert!((f.coefficients[1] - 4f64.ln()).abs() < 1e-8);
        assert_eq!(f.df_residual, 2);
        // Var(log mean) = 1 / Σy in each group.
        assert!((f.covariance[(0, 0)] - 1.0 / 6.0).abs() < 1e-6);
        assert!(f.std_errors()[2].is_nan());
    }

    #[test]
    fn zero_weights_drop_rows() {
        let x = DMatrix::from_row_slice(3, 1, &[1.0, 1.0, 1.0]);
        let f = PoissonGlm::params()
            .fit_dense(&x, &[4.0, 6.0, 1000.0], None, Some(&[1.0, 1.0, 0.0]))
            .unwrap();
        assert!((f.coefficients[0] - 5f64.ln()).abs() < 1e-8);
        assert_eq!(f.df_residual, 1);
    }

    #[test]
    fn rejects_bad_response() {
        let x = DMatrix::from_element(2, 1, 1.0);
        let g = PoissonGlm::params();
        assert!(g.fit_dense(&x, &[1.0, -1.0], None, None).is_err());
        assert!(g.fit_dense(&x, &[1.0], None, None).is_err());
        assert!(
            g.fit_dense(&x, &[1.0, 1.0], Some(&[f64::NAN, 0.0]), None)
                .is_err()
        );
    }
}
