//! Mh Normal: logit-normal heterogeneity of capture probabilities, integrated by 20-point
//! Gauss-Hermite quadrature, as Rcapture's `closedpCI.t(..., h = "Normal")` (Rivest 2011;
//! Coull & Agresti 1999).
//!
//! The expected frequency of an observed history ω with k_ω captures is
//!
//! ```text
//! μ_ω  = exp( β0 + x_ωᵀβ + φ(k_ω) )
//! φ(k) = log[ Σ_i w_i e^{k s_i} C_i / Σ_i w_i C_i ],   s_i = √2 σ z_i
//! C_i  = 1 / (1 + Σ_ω exp(x_ωᵀβ + k_ω s_i))        (never caught given s_i)
//! ```
//! with (z_i, w_i) the 20 Gauss-Hermite nodes and weights, and x_ω the log-linear design
//! of M0 (one column: k_ω), Mt (one column per occasion) or a custom model. The Poisson
//! deviance is minimised over (β0, β, σ) by Newton's method on a finite-difference
//! Hessian; N̂ = n + e^{β0}. Rcapture's standard error and interval:
//!
//! ```text
//! SE = sqrt( e^{β0} + e^{2β0} V₁₁ ),   V = (∂²D/∂θ²)⁻¹  (the Hessian of the deviance D)
//! interval: log-normal on the dark figure (Chao 1987)
//! ```
//! V is the inverse Hessian of the *deviance*, i.e. half the inverse information: this is
//! Rcapture's formula (`solve(optim(..., hessian = TRUE)$hessian)`), kept so that figures
//! compare; the `stderr` Rcapture prints is that value.
//!
//! # References
//! - Rivest, L.-P. (2011). A lower bound model for multiple record systems estimation
//!   with heterogeneous catchability. *Int. J. Biostatistics* 7(1).
//! - Coull, B. A. & Agresti, A. (1999). The use of mixed logit models to reflect
//!   heterogeneity in capture-recapture studies. *Biometrics* 55, 294-301.
//!   R: `Rcapture::closedpCI.t(X, m = "Mh", h = "Normal")`.

use crate::ci;
use crate::data::{CaptureHistories, canonical_history};
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, FitStats, Warning};
use crate::glm::{Newton, Objective, numerical_eval, numerical_hessian};
use nalgebra::{DMatrix, DVector};

/// The n-point Gauss-Hermite rule (weight e^{-z²}) by Golub-Welsch: the nodes are the
/// eigenvalues of the Jacobi matrix with off-diagonal sqrt(i/2), the weights √π times the
/// squared first components of its eigenvectors.
pub fn gauss_hermite(n: usize) -> (Vec<f64>, Vec<f64>) {
    let j = DMatrix::from_fn(n, n, |a, b| {
        if a + 1 == b || b + 1 == a {
            ((a.max(b)) as f64 / 2.0).sqrt()
        } else {
            0.0
        }
    });
    let eig = j.symmetric_eigen();
    let mut pairs: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let v0 = eig.eigenvectors[(0, i)];
            (eig.eigenvalues[i], std::f64::consts::PI.sqrt() * v0 * v0)
        })
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    pairs.into_iter().unzip()
}

/// Number of quadrature nodes (Rcapture's 20, from Abramowitz & Stegun table 25.10).
pub const GH_POINTS: usize = 20;

/// σ̂ below this is reported as at the boundary 0 (no heterogeneity).
pub const SIGMA_ZERO: f64 = 1e-4;

/// Which log-linear part the Normal heterogeneity is added to.
#[derive(Debug, Clone, PartialEq)]
pub enum NormalModel {
    /// Mh Normal: x_ω = k_ω.
    Mh,
    /// Mth Normal: x_ω = ω (one column per occasion).
    Mth,
    /// A custom log-linear design: one row per observed history in Rcapture's canonical
    /// order (`histpos.t`), no intercept column; with a name for reports.
    Custom {
        /// Model name.
        name: String,
        /// The (2^t − 1) × p design.
        design: DMatrix<f64>,
    },
}

/// A fitted Mh/Mth Normal model.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalFit {
    /// (β0, β..., σ), σ ≥ 0.
    pub coef: Vec<f64>,
    /// Poisson deviance.
    pub deviance: f64,
    /// Residual degrees of freedom (cells − parameters).
    pub df: i64,
    /// Rcapture's AIC: −2 Σ log Poisson(y; μ̂) + 2 × parameters.
    pub aic: f64,
    /// BIC: −2 Σ log Poisson(y; μ̂) + log(n) × parameters.
    pub bic: f64,
    /// N̂, SE, log-normal interval.
    pub estimate: Estimate,
}

struct Problem {
    y: Vec<f64>,
    x: DMatrix<f64>,
    k: Vec<f64>,
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl Problem {
    /// log μ_ω for parameters (β0, β, σ).
    fn log_mu(&self, th: &[f64]) -> Vec<f64> {
        let p = self.x.ncols();
        let sig = th[p + 1];
        let lin: Vec<f64> = (0..self.y.len())
            .map(|r| (0..p).map(|c| self.x[(r, c)] * th[1 + c]).sum())
            .collect();
        let tmax = self.k.iter().fold(0.0f64, |a, &b| a.max(b)) as usize;
        let mut num = vec![0.0; tmax + 1];
        let mut den = 0.0;
        for (z, w) in self.nodes.iter().zip(&self.weights) {
            let si = std::f64::consts::SQRT_2 * sig * z;
            let tot: f64 = lin
                .iter()
                .zip(&self.k)
                .map(|(l, k)| (l + k * si).exp())
                .sum();
            let c = 1.0 / (1.0 + tot);
            den += w * c;
            for (kk, v) in num.iter_mut().enumerate() {
                *v += w * (kk as f64 * si).exp() * c;
            }
        }
        lin.iter()
            .zip(&self.k)
            .map(|(l, &k)| th[0] + l + (num[k as usize] / den).ln())
            .collect()
    }

    /// Poisson deviance.
    fn deviance(&self, th: &[f64]) -> f64 {
        self.log_mu(th)
            .iter()
            .zip(&self.y)
            .map(|(lm, &y)| {
                let mu = lm.exp();
                2.0 * (if y > 0.0 { y * (y.ln() - lm) } else { 0.0 } - (y - mu))
            })
            .sum()
    }
}

impl Objective for Problem {
    fn eval(&self, theta: &DVector<f64>) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
        numerical_eval(|t| -0.5 * self.deviance(t.as_slice()), theta)
    }
    fn value(&self, theta: &DVector<f64>) -> Option<f64> {
        let v = -0.5 * self.deviance(theta.as_slice());
        v.is_finite().then_some(v)
    }
}

/// A fitted Normal model from its coefficients and fit: the estimate N̂ with its SE and a
/// log-normal interval on the dark figure (`n` seen, at `level`); its deviance, df (the
/// `cells` fitted less the parameters) and Rcapture's AIC and BIC from the Poisson
/// log-likelihood `loglik`; its assumptions; and the warnings of its search (`stop`) and
/// of σ̂ at 0.
pub(super) fn normal_fit(
    name: &str,
    coef: Vec<f64>,
    (n_hat, se, n, level): (f64, f64, f64, f64),
    (deviance, loglik, cells): (f64, f64, usize),
    assumptions: &[Assumption],
    (stop, sigma): (crate::glm::StopReason, f64),
) -> NormalFit {
    let npar = coef.len() as f64;
    let fit = FitStats {
        deviance,
        df: cells as i64 - coef.len() as i64,
        aic: -2.0 * loglik + 2.0 * npar,
        bic: -2.0 * loglik + n.ln() * npar,
    };
    let mut est = Estimate::new(
        "closedpCI.t",
        name,
        n_hat,
        se,
        ci::log_normal(n_hat, se, n, level),
        n as u64,
    )
    .with_fit(fit)
    .with_assumptions(assumptions);
    if !stop.converged() {
        est = est.with_warning(Warning::NotConverged {
            iterations: stop.iterations(),
        });
    }
    if sigma < SIGMA_ZERO {
        est = est.with_warning(Warning::Boundary {
            parameter: "sigma (at 0: no heterogeneous catchability in the data)".into(),
        });
    }
    NormalFit {
        coef,
        deviance: fit.deviance,
        df: fit.df,
        aic: fit.aic,
        bic: fit.bic,
        estimate: est,
    }
}

/// The number of occasions of `h`, which the Normal models (`method`) fit on the 2^t − 1
/// histories: 3 to 20.
///
/// # Errors
/// [`Error::TooFewOccasions`] below 3, [`Error::InvalidData`] above 20.
pub(super) fn occasions_3_to_20(h: &CaptureHistories, method: &str) -> Result<usize> {
    let t = h.occasions();
    if t < 3 {
        return Err(Error::TooFewOccasions {
            method: method.into(),
            needed: 3,
            got: t,
        });
    }
    if t > 20 {
        return Err(Error::invalid(format!(
            "{t} occasions: {method} works on the 2^t − 1 histories, at most 20 occasions"
        )));
    }
    Ok(t)
}

/// Fits Mh/Mth/custom Normal heterogeneity to capture histories (Rcapture's
/// `closedpCI.t(X, m = "Mh", h = "Normal")`).
///
/// # Errors
/// [`Error::TooFewOccasions`] below 3 occasions; [`Error::InvalidData`] above 20 (the
/// 2^t − 1 cells) or a custom design with the wrong number of rows;
/// [`Error::Numerical`] when the deviance's Hessian is singular at the estimate.
pub fn closedp_normal(h: &CaptureHistories, model: &NormalModel, level: f64) -> Result<NormalFit> {
    ci::check_level(level)?;
    let t = occasions_3_to_20(h, "Mh Normal")?;
    let cells = h.cell_counts()?;
    let m = (1usize << t) - 1;
    let codes: Vec<u64> = (0..m).map(|i| canonical_history(t, i)).collect();
    let y: Vec<f64> = codes.iter().map(|&c| cells[c as usize] as f64).collect();
    let k: Vec<f64> = codes.iter().map(|&c| f64::from(c.count_ones())).collect();
    let (x, name) = match model {
        NormalModel::Mh => (DMatrix::from_fn(m, 1, |r, _| k[r]), "Mh Normal".to_string()),
        NormalModel::Mth => (
            DMatrix::from_fn(m, t, |r, c| f64::from((codes[r] >> c & 1) as u8)),
            "Mth Normal".to_string(),
        ),
        NormalModel::Custom { name, design } => {
            if design.nrows() != m {
                return Err(Error::invalid(format!(
                    "the custom design has {} rows for the {m} observable histories",
                    design.nrows()
                )));
            }
            (design.clone(), name.clone())
        }
    };
    let (nodes, weights) = gauss_hermite(GH_POINTS);
    let prob = Problem {
        y,
        x,
        k,
        nodes,
        weights,
    };
    let p = prob.x.ncols();
    let n: f64 = prob.y.iter().sum();
    // Start: β0 at log(n/2^t·…) via a crude Poisson fit of the log-linear part, σ = 0.2
    // (Rcapture's `initsig`).
    let mut start = DVector::zeros(p + 2);
    start[p + 1] = 0.2;
    start[0] = (n / m as f64).max(0.5).ln();
    let nf = Newton {
        tol: 1e-14,
        grad_tol: 1e-7,
        max_iter: 200,
    }
    .maximize(&prob, start)?;
    // The nodes are symmetric, so σ and −σ give the same likelihood: report |σ| (the
    // variance of β0, the only one used, does not change with the sign).
    let mut th = nf.theta.clone();
    th[p + 1] = th[p + 1].abs();
    let dev_hess = numerical_hessian(|t| prob.deviance(t.as_slice()), &th, 1e-4);
    let v = dev_hess
        .clone()
        .try_inverse()
        .ok_or_else(|| Error::Numerical {
            reason: format!("{name}: the Hessian of the deviance is singular at the estimate"),
        })?;
    let e0 = th[0].exp();
    let se = (e0 + e0 * e0 * v[(0, 0)]).max(0.0).sqrt();
    let n_hat = n + e0;
    let lm = prob.log_mu(th.as_slice());
    let loglik_pois: f64 = lm
        .iter()
        .zip(&prob.y)
        .map(|(l, &y)| y * l - l.exp() - statrs::function::gamma::ln_gamma(y + 1.0))
        .sum();
    let deviance = -2.0 * nf.value;
    Ok(normal_fit(
        &name,
        th.iter().copied().collect(),
        (n_hat, se, n, level),
        (deviance, loglik_pois, m),
        &[
            Assumption::ClosedPopulation,
            Assumption::PerfectMatching,
            Assumption::ModelledHeterogeneity,
            Assumption::NoBehaviouralResponse,
        ],
        (nf.stop, th[p + 1]),
    ))
}
