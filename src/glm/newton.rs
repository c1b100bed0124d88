//! A damped Newton-Raphson maximiser for smooth log-likelihoods that are not Poisson
//! GLMs (zero-truncated count models, Mtb, CJS/POPAN...).

use super::StopReason;
use crate::error::{Error, Result};
use crate::prec::MAX_ITER;
use nalgebra::{DMatrix, DVector};

/// A log-likelihood to maximise.
pub trait Objective {
    /// Value, gradient and Hessian at `theta`; `None` where undefined (outside the
    /// parameter space, overflow...).
    fn eval(&self, theta: &DVector<f64>) -> Option<(f64, DVector<f64>, DMatrix<f64>)>;

    /// The value alone (defaults to [`Objective::eval`]); override when cheaper.
    fn value(&self, theta: &DVector<f64>) -> Option<f64> {
        self.eval(theta).map(|v| v.0)
    }
}

/// Settings of the Newton maximiser.
///
/// ```text
/// θ ← θ + s·(−H + λI)⁻¹ g,   s halved until the objective rises,
/// λ ≥ 0 raised until −H + λI is positive definite
/// ```
/// Stops when the relative change of the objective is below `tol` and the largest
/// gradient component is below `grad_tol`.
#[derive(Debug, Clone, PartialEq)]
pub struct Newton {
    /// Relative tolerance on the change of the objective.
    pub tol: f64,
    /// Absolute tolerance on the gradient's largest component.
    pub grad_tol: f64,
    /// Iteration cap.
    pub max_iter: usize,
}

impl Default for Newton {
    fn default() -> Self {
        Newton {
            tol: 1e-14,
            grad_tol: 1e-8,
            max_iter: MAX_ITER * 2,
        }
    }
}

/// The result of a Newton maximisation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewtonFit {
    /// The maximiser.
    pub theta: DVector<f64>,
    /// The objective at the maximiser.
    pub value: f64,
    /// The gradient there.
    pub gradient: DVector<f64>,
    /// The Hessian there.
    pub hessian: DMatrix<f64>,
    /// Why it stopped.
    pub stop: StopReason,
}

impl NewtonFit {
    /// Inverse of the observed information (−H)⁻¹, or `None` when −H is singular.
    pub fn covariance(&self) -> Option<DMatrix<f64>> {
        let info = -&self.hessian;
        info.clone()
            .cholesky()
            .map(|c| c.inverse())
            .or_else(|| info.try_inverse())
    }
}

impl Newton {
    /// Default settings.
    pub fn params() -> Self {
        Self::default()
    }

    /// Maximises `f` from `start`.
    ///
    /// # Errors
    /// [`Error::Numerical`] when the objective is undefined at the start.
    /// Non-convergence is reported in [`NewtonFit::stop`], not as an error.
    pub fn maximize<F: Objective + ?Sized>(&self, f: &F, start: DVector<f64>) -> Result<NewtonFit> {
        let mut theta = start;
        let (mut val, mut g, mut h) = f.eval(&theta).ok_or_else(|| Error::Numerical {
            reason: "the log-likelihood is undefined at the starting values".into(),
        })?;
        let p = theta.len();
        let mut stop = StopReason::MaxIterations {
            iterations: self.max_iter,
        };
        for it in 1..=self.max_iter {
            if g.amax() < self.grad_tol && it > 1 {
                stop = StopReason::Converged { iterations: it - 1 };
                break;
            }
            // Direction: (−H + λI)⁻¹ g with λ raised until positive definite.
            let neg_h = -&h;
            if !neg_h.iter().all(|v| v.is_finite()) || !g.iter().all(|v| v.is_finite()) {
                // a Hessian or gradient that over- or underflowed gives no direction
                stop = StopReason::Diverged { iterations: it };
                break;
            }
            let scale = neg_h.diagonal().amax().max(1e-8);
            let mut lambda = 0.0;
            let dir = loop {
                let mut m = neg_h.clone();
                for i in 0..p {
                    m[(i, i)] += lambda;
                }
                if let Some(c) = m.cholesky() {
                    break c.solve(&g);
                }
                lambda = if lambda == 0.0 {
                    1e-8 * scale
                } else {
                    lambda * 10.0
                };
                if lambda > 1e12 * scale {
                    break g.clone() / scale;
                }
            };
            let mut step = 1.0;
            let mut accepted = None;
            for _ in 0..60 {
                let cand = &theta + &dir * step;
                if let Some(v) = f.value(&cand)
                    && v.is_finite()
                    && v >= val - 1e-12 * val.abs().max(1.0)
                {
                    accepted = Some((cand, v));
                    break;
                }
                step *= 0.5;
            }
            let Some((cand, v)) = accepted else {
                stop = StopReason::Diverged { iterations: it };
                break;
            };
            let change = (v - val).abs() / (val.abs() + 0.1);
            theta = cand;
            let (v2, g2, h2) = f.eval(&theta).ok_or_else(|| Error::Numerical {
                reason: "the log-likelihood became undefined during the fit".into(),
            })?;
            val = v2;
            g = g2;
            h = h2;
            if change < self.tol && g.amax() < self.grad_tol.sqrt() {
                stop = StopReason::Converged { iterations: it };
                break;
            }
        }
        Ok(NewtonFit {
            theta,
            value: val,
            gradient: g,
            hessian: h,
            stop,
        })
    }
}

/// The value, central-difference gradient (step `1e-5·max(1, |θ_i|)`) and
/// [`numerical_hessian`] (step `1e-4`) of `f` at `theta`, what [`Objective::eval`] returns
/// for a likelihood without analytic derivatives; `None` when `f(theta)` is not finite.
pub fn numerical_eval(
    f: impl Fn(&DVector<f64>) -> f64,
    theta: &DVector<f64>,
) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
    let v = f(theta);
    if !v.is_finite() {
        return None;
    }
    let n = theta.len();
    let mut g = DVector::zeros(n);
    for i in 0..n {
        let h = 1e-5 * theta[i].abs().max(1.0);
        let mut a = theta.clone();
        a[i] += h;
        let mut b = theta.clone();
        b[i] -= h;
        g[i] = (f(&a) - f(&b)) / (2.0 * h);
    }
    let hm = numerical_hessian(&f, theta, 1e-4);
    Some((v, g, hm))
}

/// Central-difference Hessian of a scalar function (step `h·max(1, |θ_i|)`).
pub fn numerical_hessian(
    f: impl Fn(&DVector<f64>) -> f64,
    theta: &DVector<f64>,
    h: f64,
) -> DMatrix<f64> {
    let p = theta.len();
    let mut out = DMatrix::zeros(p, p);
    let steps: Vec<f64> = theta.iter().map(|t| h * t.abs().max(1.0)).collect();
    let f0 = f(theta);
    for i in 0..p {
        for j in 0..=i {
            let v = if i == j {
                let mut a = theta.clone();
                a[i] += steps[i];
                let mut b = theta.clone();
                b[i] -= steps[i];
                (f(&a) - 2.0 * f0 + f(&b)) / (steps[i] * steps[i])
            } else {
                let mut pp = theta.clone();
                pp[i] += steps[i];
                pp[j] += steps[j];
                let mut pm = theta.clone();
                pm[i] += steps[i];
                pm[j] -= steps[j];
                let mut mp = theta.clone();
                mp[i] -= steps[i];
                mp[j] += steps[j];
                let mut mm = theta.clone();
                mm[i] -= steps[i];
                mm[j] -= steps[j];
                (f(&pp) - f(&pm) - f(&mp) + f(&mm)) / (4.0 * steps[i] * steps[j])
            };
            out[(i, j)] = v;
            out[(j, i)] = v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quad;
    impl Objective for Quad {
        fn eval(&self, t: &DVector<f64>) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
            let v = -(t[0] - 1.0).powi(2) - 2.0 * (t[1] + 3.0).powi(2) - (t[0] - 1.0).powi(4);
            let g = DVector::from_vec(vec![
                -2.0 * (t[0] - 1.0) - 4.0 * (t[0] - 1.0).powi(3),
                -4.0 * (t[1] + 3.0),
            ]);
            let h = DMatrix::from_row_slice(
                2,
                2,
                &[-2.0 - 12.0 * (t[0] - 1.0).powi(2), 0.0, 0.0, -4.0],
            );
            Some((v, g, h))
        }
    }

    #[test]
    fn finds_maximum() {
        let f = Newton::params()
            .maximize(&Quad, DVector::from_vec(vec![5.0, 5.0]))
            .unwrap();
        assert!(f.stop.converged(), "{:?}", f.stop);
        assert!((f.theta[0] - 1.0).abs() < 1e-6);
        assert!((f.theta[1] + 3.0).abs() < 1e-8);
        let h = numerical_hessian(|t| Quad.value(t).unwrap(), &f.theta, 1e-4);
        assert!((h[(1, 1)] + 4.0).abs() < 1e-5);
    }

    /// A Hessian that overflowed (a numerical one next to a likelihood that runs off)
    /// stops the search as diverged: before, the damping loop compared with NaN forever.
    #[test]
    fn a_non_finite_hessian_stops_the_search() {
        struct NanHessian;
        impl Objective for NanHessian {
            fn value(&self, t: &DVector<f64>) -> Option<f64> {
                Some(-t[0] * t[0])
            }
            fn eval(&self, t: &DVector<f64>) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
                let h = DMatrix::from_element(1, 1, f64::NAN);
                Some((-t[0] * t[0], DVector::from_element(1, -2.0 * t[0]), h))
            }
        }
        let f = Newton::params()
            .maximize(&NanHessian, DVector::from_vec(vec![3.0]))
            .unwrap();
        assert_eq!(f.stop, StopReason::Diverged { iterations: 1 });
    }
}
