//! Mtbh Normal: capture probabilities that vary with the occasion, with a behavioural
//! response after the first capture, and between units by a logit-normal random effect,
//! the model the built-in simulation's buyers follow (`examples/data/police.json`) and
//! none of Rcapture's models contains:
//!
//! ```text
//! logit p_j(s) = α_j + s            before the first capture (occasion j)
//! logit c_j(s) = α_j + b + s        after it
//! s ~ N(0, σ²)
//! P(ω | s) = Π_{j<f} (1 − p_j) · p_f · Π_{j>f} c_j^{ω_j} (1 − c_j)^{1−ω_j}   (f: first capture)
//! ```
//!
//! fitted, as Rcapture fits its Normal models (`closedpCI.t(..., h = "Normal")`), by
//! Poisson likelihood on the observed histories with the integral over s taken by 20-point
//! Gauss-Hermite quadrature:
//!
//! ```text
//! μ_ω = e^{β0} P̄(ω) / P̄(0),   P̄(ω) = Σ_i w_i P(ω | √2 σ z_i) / √π
//! N̂ = n + e^{β0}
//! ```
//! With b = 0 this is exactly Rcapture's Mth Normal (the log-linear form of the same
//! integral), which the tests check. The deviance (and so the AIC) needs μ only on the
//! histories seen, since Σ_{ω≠0} μ_ω = e^{β0} (1 − P̄(0)) / P̄(0): any number of occasions.
//!
//! The standard error is the delta method on e^{β0} with the inverse observed information
//! (half the inverse Hessian of the deviance, not Rcapture's full inverse Hessian of the
//! deviance, which is half the variance: no R function fits this model, so no figure
//! needs its convention), plus the Poisson part e^{β0}; the interval is log-normal on
//! the dark figure (Chao 1987).
//!
//! Heterogeneity and a trap-shy response pull the recapture pattern in opposite
//! directions, so b and σ are estimated from little information when recaptures are few:
//! the fit says so through its standard error, and a b̂ beyond ±[`B_EDGE`] is flagged as on
//! the boundary.
//!
//! # References
//! - Coull, B. A. & Agresti, A. (1999). The use of mixed logit models to reflect
//!   heterogeneity in capture-recapture studies. *Biometrics* 55, 294-301.
//! - Pledger, S. (2000). Unified maximum likelihood estimates for closed capture-recapture
//!   models using mixtures. *Biometrics* 56, 434-442 (the Mtbh family).
//! - Rivest, L.-P. (2011). A lower bound model for multiple record systems estimation with
//!   heterogeneous catchability. *Int. J. Biostatistics* 7(1).

use super::normal::{
    GH_POINTS, NormalFit, NormalModel, closedp_normal, gauss_hermite, normal_estimate,
    occasions_3_to_20,
};
use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, FitStats, Warning};
use crate::glm::{Newton, Objective, numerical_eval, numerical_hessian};
use nalgebra::DVector;

/// |b̂| beyond this (a behavioural effect of e^8 ≈ 3,000 on the odds) is reported as on the
/// boundary: the data cannot tell it from a larger one.
pub const B_EDGE: f64 = 8.0;

/// The observed histories and the quadrature.
struct Problem {
    t: usize,
    /// Distinct observed histories (bit j = occasion j + 1) and their counts.
    codes: Vec<u64>,
    y: Vec<f64>,
    /// Σ y.
    n: f64,
    /// Σ ln y! over the histories.
    lgy: f64,
    /// Nodes √2 z_i and weights w_i / √π.
    nodes: Vec<f64>,
    weights: Vec<f64>,
    /// A fixed b (the test against Mth Normal), or `None`: b is θ[t + 1].
    fixed_b: Option<f64>,
}

/// ln σ(x) and ln(1 − σ(x)) without overflow.
fn log_sigmoids(x: f64) -> (f64, f64) {
    // ln σ(x) = −ln(1 + e^{−x}); ln(1 − σ(x)) = −ln(1 + e^{x})
    let softplus = |v: f64| {
        if v > 0.0 {
            v + (-v).exp().ln_1p()
        } else {
            v.exp().ln_1p()
        }
    };
    (-softplus(-x), -softplus(x))
}

impl Problem {
    /// (β0, α, b, σ) from θ.
    fn split<'a>(&self, th: &'a [f64]) -> (f64, &'a [f64], f64, f64) {
        let t = self.t;
        match self.fixed_b {
            Some(b) => (th[0], &th[1..=t], b, th[t + 1]),
            None => (th[0], &th[1..=t], th[t + 1], th[t + 2]),
        }
    }

    /// ln μ_ω for the observed histories, and Σ_{ω≠0} μ_ω.
    fn log_mu(&self, th: &[f64]) -> (Vec<f64>, f64) {
        let (b0, alpha, b, sigma) = self.split(th);
        let t = self.t;
        let mut pbar = vec![0.0; self.codes.len()];
        let mut p0bar = 0.0;
        let (mut lp, mut lq, mut lc, mut l1c) =
            (vec![0.0; t], vec![0.0; t], vec![0.0; t], vec![0.0; t]);
        for (&z, &w) in self.nodes.iter().zip(&self.weights) {
            let s = sigma * z;
            let mut l0 = 0.0;
            for j in 0..t {
                (lp[j], lq[j]) = log_sigmoids(alpha[j] + s);
                (lc[j], l1c[j]) = log_sigmoids(alpha[j] + b + s);
                l0 += lq[j];
            }
            p0bar += w * l0.exp();
            for (pb, &code) in pbar.iter_mut().zip(&self.codes) {
                let f = code.trailing_zeros() as usize;
                let mut l = lp[f] + lq[..f].iter().sum::<f64>();
                for j in f + 1..t {
                    l += if code >> j & 1 == 1 { lc[j] } else { l1c[j] };
                }
                *pb += w * l.exp();
            }
        }
        let lm = pbar.iter().map(|&p| b0 + p.ln() - p0bar.ln()).collect();
        (lm, b0.exp() * (1.0 - p0bar) / p0bar)
    }

    /// Poisson log-likelihood over all 2^t − 1 histories (zeros included, as Rcapture's
    /// AIC), up to nothing: Σ_{y>0} (y ln μ − ln y!) − Σ μ.
    fn loglik(&self, th: &[f64]) -> f64 {
        let (lm, total) = self.log_mu(th);
        let s: f64 = lm.iter().zip(&self.y).map(|(l, y)| y * l).sum();
        s - self.lgy - total
    }

    /// Poisson deviance: 2 Σ_{y>0} y ln(y/μ) − 2n + 2 Σ μ.
    fn deviance(&self, th: &[f64]) -> f64 {
        let (lm, total) = self.log_mu(th);
        let s: f64 = lm.iter().zip(&self.y).map(|(l, &y)| y * (y.ln() - l)).sum();
        2.0 * (s - self.n + total)
    }
}

impl Objective for Problem {
    fn eval(&self, theta: &DVector<f64>) -> Option<(f64, DVector<f64>, nalgebra::DMatrix<f64>)> {
        numerical_eval(|t| -0.5 * self.deviance(t.as_slice()), theta)
    }
    fn value(&self, theta: &DVector<f64>) -> Option<f64> {
        let v = -0.5 * self.deviance(theta.as_slice());
        v.is_finite().then_some(v)
    }
}

/// The problem on `h`'s histories, b fixed at `fixed_b` when given.
fn problem(h: &CaptureHistories, fixed_b: Option<f64>) -> Result<Problem> {
    let t = occasions_3_to_20(h, "Mtbh Normal")?;
    let agg = h.aggregated();
    let (codes, y): (Vec<u64>, Vec<f64>) = agg
        .iter()
        .filter(|&(c, f)| c != 0 && f > 0)
        .map(|(c, f)| (c, f as f64))
        .unzip();
    let (z, w) = gauss_hermite(GH_POINTS);
    let sqpi = std::f64::consts::PI.sqrt();
    Ok(Problem {
        t,
        n: y.iter().sum(),
        lgy: y
            .iter()
            .map(|&v| statrs::function::gamma::ln_gamma(v + 1.0))
            .sum(),
        codes,
        y,
        nodes: z.iter().map(|v| std::f64::consts::SQRT_2 * v).collect(),
        weights: w.iter().map(|v| v / sqpi).collect(),
        fixed_b,
    })
}

/// Fits Mtbh Normal (module docs) to capture histories over 3 to 20 occasions, from the
/// Mth Normal fit (b = 0).
///
/// # Errors
/// [`Error::TooFewOccasions`] below 3 occasions; [`Error::InvalidData`] above 20;
/// [`Error::Numerical`] when the deviance's Hessian is singular at the estimate; the
/// errors of the Mth Normal start ([`closedp_normal`]).
pub fn closedp_mtbh_normal(h: &CaptureHistories, level: f64) -> Result<NormalFit> {
    fit(h, None, level)
}

/// [`closedp_mtbh_normal`] with b fixed at `b` (b = 0: Mth Normal).
pub(crate) fn fit(h: &CaptureHistories, fixed_b: Option<f64>, level: f64) -> Result<NormalFit> {
    ci::check_level(level)?;
    let prob = problem(h, fixed_b)?;
    let t = prob.t;
    let start = closedp_normal(h, &NormalModel::Mth, level)?;
    // Mth Normal's (β0, β_1..t, σ) are (β0, α, σ) at b = 0.
    let mut th: Vec<f64> = start.coef[..=t].to_vec();
    if fixed_b.is_none() {
        th.push(0.0);
    }
    th.push(start.coef[t + 1].max(0.2));
    let nf = Newton {
        tol: 1e-14,
        grad_tol: 1e-7,
        max_iter: 200,
    }
    .maximize(&prob, DVector::from_vec(th))?;
    let npar = nf.theta.len();
    let mut th = nf.theta.clone();
    th[npar - 1] = th[npar - 1].abs();
    let (b0, _, b, sigma) = prob.split(th.as_slice());
    let name = "Mtbh Normal";
    let dev_hess = numerical_hessian(|x| prob.deviance(x.as_slice()), &th, 1e-4);
    let v = dev_hess.try_inverse().ok_or_else(|| Error::Numerical {
        reason: format!("{name}: the Hessian of the deviance is singular at the estimate"),
    })? * 2.0;
    let e0 = b0.exp();
    let se = (e0 + e0 * e0 * v[(0, 0)]).max(0.0).sqrt();
    let n = prob.n;
    let n_hat = n + e0;
    let loglik = prob.loglik(th.as_slice());
    let aic = -2.0 * loglik + 2.0 * npar as f64;
    let bic = -2.0 * loglik + n.ln() * npar as f64;
    let deviance = prob.deviance(th.as_slice());
    let df = ((1i64 << t) - 1) - npar as i64;
    let mut est = normal_estimate(
        name,
        (n_hat, se, n, level),
        FitStats {
            deviance,
            df,
            aic,
            bic,
        },
        &[
            Assumption::ClosedPopulation,
            Assumption::PerfectMatching,
            Assumption::ModelledHeterogeneity,
        ],
        (nf.stop, sigma),
    );
    if b.abs() > B_EDGE {
        est = est.with_warning(Warning::Boundary {
            parameter: format!(
                "b (the behavioural effect, {b:.1} on the logit scale: the data cannot bound it)"
            ),
        });
    }
    Ok(NormalFit {
        coef: th.iter().copied().collect(),
        deviance,
        df,
        aic,
        bic,
        estimate: est,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> CaptureHistories {
        let p = format!(
            "{}/tests/fixtures/closed/hare.csv",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(p).unwrap();
        crate::data::csv_io::read_histories_str(
            &text,
            "hare.csv",
            &crate::data::csv_io::ReadOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn with_no_behavioural_effect_it_is_mth_normal() {
        let h = data();
        let mth = closedp_normal(&h, &NormalModel::Mth, 0.95).unwrap();
        let b0 = fit(&h, Some(0.0), 0.95).unwrap();
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        assert!(
            rel(b0.deviance, mth.deviance) < 1e-7,
            "{} {}",
            b0.deviance,
            mth.deviance
        );
        assert!(rel(b0.aic, mth.aic) < 1e-7, "{} {}", b0.aic, mth.aic);
        assert!(
            rel(b0.estimate.n_hat, mth.estimate.n_hat) < 1e-6,
            "{} {}",
            b0.estimate.n_hat,
            mth.estimate.n_hat
        );
        // the free b can only fit better, by one parameter
        let free = closedp_mtbh_normal(&h, 0.95).unwrap();
        assert!(free.deviance <= b0.deviance + 1e-6);
        assert_eq!(free.df, b0.df - 1);
    }
}
