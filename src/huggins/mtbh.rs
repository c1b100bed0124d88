//! The logit-normal heterogeneity models Mh, Mth, Mbh and Mtbh Normal: capture
//! probabilities that vary between units by a logit-normal random effect, with or without
//! occasion effects and a behavioural response after the first capture. Mtbh, with all
//! three, is the model the built-in simulation's buyers follow (`examples/data/police.json`)
//! and none of Rcapture's models contains:
//!
//! ```text
//! logit p_j(s) = α_j + s            before the first capture (occasion j)
//! logit c_j(s) = α_j + b + s        after it
//! s ~ N(0, σ²)
//! P(ω | s) = Π_{j<f} (1 − p_j) · p_f · Π_{j>f} c_j^{ω_j} (1 − c_j)^{1−ω_j}   (f: first capture)
//! ```
//! with α_j = α for all j without a time effect (Mh, Mbh) and b = 0 without a behavioural
//! one (Mh, Mth). They are fitted, as Rcapture fits its Normal models (`closedpCI.t(...,
//! h = "Normal")`), by Poisson likelihood on the observed histories with the integral over
//! s taken by 20-point Gauss-Hermite quadrature:
//!
//! ```text
//! μ_ω = e^{β0} P̄(ω) / P̄(0),   P̄(ω) = Σ_i w_i P(ω | √2 σ z_i) / √π
//! N̂ = n + e^{β0}
//! ```
//! Mh and Mth Normal are exactly Rcapture's (the log-linear form of the same integral),
//! which the tests check. The likelihood (and so the AIC) needs μ only on the histories
//! seen, since Σ_{ω≠0} μ_ω = e^{β0} (1 − P̄(0)) / P̄(0): any number of occasions. It is
//! maximised by Newton's method on its exact gradient and Hessian
//! ([`Problem::derivs`], checked against numerical derivatives), about 3 ms for the four
//! models on six occasions.
//!
//! The standard error is the delta method on e^{β0} with the inverse observed information,
//! plus the Poisson part e^{β0}; the interval is log-normal on the dark figure (Chao 1987).
//! Rcapture's Mh and Mth Normal use the inverse Hessian of the deviance instead, half the
//! variance ([`closedp_normal`](super::closedp_normal) keeps that convention to match it).
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

use super::normal::{GH_POINTS, NormalFit, gauss_hermite, normal_fit, occasions_3_to_20};
use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Warning};
use crate::glm::{Newton, Objective};
use nalgebra::DVector;

/// |b̂| beyond this (a behavioural effect of e^8 ≈ 3,000 on the odds) is reported as on the
/// boundary: the data cannot tell it from a larger one.
pub const B_EDGE: f64 = 8.0;

/// Newton iterations before a fit is reported as not converged. With the exact
/// information a fit converges in 2 to 30 (3,000 fits of the built-in study's closed
/// scenarios); the searches that took longer were all running away, to N̂ above 10⁶ times
/// the number seen, where σ and b are not identified.
const MAX_ITER: usize = 40;

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
    /// Whether α varies by occasion (α_1..α_t) or is one α for all.
    time: bool,
    /// A fixed b (0 without a behavioural effect), or `None`: b is the parameter after α.
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
    /// The number of α parameters: t with a time effect, else 1.
    fn n_alpha(&self) -> usize {
        if self.time { self.t } else { 1 }
    }

    /// (β0, α, b, σ) from θ = (β0, α..., [b], σ); α has [`Problem::n_alpha`] entries.
    fn split<'a>(&self, th: &'a [f64]) -> (f64, &'a [f64], f64, f64) {
        let a = self.n_alpha();
        match self.fixed_b {
            Some(b) => (th[0], &th[1..=a], b, th[a + 1]),
            None => (th[0], &th[1..=a], th[a + 1], th[a + 2]),
        }
    }

    /// ln μ_ω for the observed histories, and Σ_{ω≠0} μ_ω.
    fn log_mu(&self, th: &[f64]) -> (Vec<f64>, f64) {
        let (b0, alpha, b, sigma) = self.split(th);
        let t = self.t;
        let mut pbar = vec![0.0; self.codes.len()];
        let (mut p0bar, mut seen) = (0.0, 0.0);
        let (mut lp, mut lq, mut lc, mut l1c) =
            (vec![0.0; t], vec![0.0; t], vec![0.0; t], vec![0.0; t]);
        for (&z, &w) in self.nodes.iter().zip(&self.weights) {
            let s = sigma * z;
            let mut l0 = 0.0;
            for j in 0..t {
                let a = alpha[if self.time { j } else { 0 }];
                (lp[j], lq[j]) = log_sigmoids(a + s);
                (lc[j], l1c[j]) = log_sigmoids(a + b + s);
                l0 += lq[j];
            }
            p0bar += w * l0.exp();
            seen += w * -l0.exp_m1(); // 1 − P(0 | s) without cancellation
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
        (lm, (b0 - p0bar.ln()).exp() * seen)
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

impl Problem {
    /// The Poisson log-likelihood ℓ (as [`Problem::loglik`]) with its exact gradient and
    /// Hessian in θ (module docs: ln μ_ω = β0 + ln P̄(ω) − ln P̄(0)):
    ///
    /// ```text
    /// ∂ℓ/∂β0 = n − e^{β0} (1/P̄0 − 1)
    /// ∂ℓ/∂φ  = Σ_ω y_ω ∇ln P̄_ω − n ∇ln P̄0 + (e^{β0}/P̄0) ∇ln P̄0
    /// ∇ln P̄_ω  = E_ω[g],  ∇²ln P̄_ω = E_ω[H + g gᵀ] − E_ω[g] E_ω[g]ᵀ
    /// ```
    /// where, at node s, g and H are the gradient and Hessian of ln P(ω | s) (logistic
    /// terms: residual x − p and curvature −p(1 − p) on each occasion's linear predictor)
    /// and E_ω weights the nodes by w_i P(ω | s_i) / P̄_ω.
    fn derivs(&self, th: &[f64]) -> Option<(f64, DVector<f64>, nalgebra::DMatrix<f64>)> {
        let (b0, alpha, b, sigma) = self.split(th);
        let t = self.t;
        let np = th.len();
        let ib = self.fixed_b.is_none().then_some(1 + self.n_alpha());
        let is = np - 1;
        let ia = |j: usize| 1 + if self.time { j } else { 0 };
        let k = self.nodes.len();
        // Per node: probabilities and log-probabilities before and after a first capture.
        let mut pre = vec![0.0; k * t];
        let mut post = vec![0.0; k * t];
        let mut lpre = vec![(0.0, 0.0); k * t];
        let mut lpost = vec![(0.0, 0.0); k * t];
        for (i, &z) in self.nodes.iter().enumerate() {
            let s = sigma * z;
            for j in 0..t {
                let a = alpha[if self.time { j } else { 0 }];
                let (e, c) = (a + s, a + b + s);
                pre[i * t + j] = 1.0 / (1.0 + (-e).exp());
                post[i * t + j] = 1.0 / (1.0 + (-c).exp());
                lpre[i * t + j] = log_sigmoids(e);
                lpost[i * t + j] = log_sigmoids(c);
            }
        }
        let ln_w: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        // ln P̄, ∇ln P̄ and ∇²ln P̄ (over θ without β0, indexed as θ) of one history
        // (code 0: never caught).
        let mut g_i = vec![0.0; np];
        let mut ls = vec![0.0; k];
        // Row i: √π_i · g_i, so that Σ_i π_i g_i g_iᵀ = Gᵀ G in one product.
        let mut gm = nalgebra::DMatrix::<f64>::zeros(k, np);
        let mut curv = vec![[0.0f64; 3]; t];
        let mut one =
            |code: u64, grad: &mut DVector<f64>, hess: &mut nalgebra::DMatrix<f64>| -> f64 {
                let f = if code == 0 {
                    t
                } else {
                    code.trailing_zeros() as usize
                };
                for (i, l) in ls.iter_mut().enumerate() {
                    let mut v = ln_w[i];
                    for j in 0..t.min(f) {
                        v += lpre[i * t + j].1;
                    }
                    if f < t {
                        v += lpre[i * t + f].0;
                        for j in f + 1..t {
                            let (lc, l1c) = lpost[i * t + j];
                            v += if code >> j & 1 == 1 { lc } else { l1c };
                        }
                    }
                    *l = v;
                }
                let m = ls.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                let tot: f64 = ls.iter().map(|l| (l - m).exp()).sum();
                let lnp = m + tot.ln();
                grad.fill(0.0);
                hess.fill(0.0);
                gm.fill(0.0);
                // Σ_i π_i v_ij (1, z_i, z_i²) per occasion j: the curvature of the
                // logistic terms, added to the Hessian once per history below.
                curv.iter_mut().for_each(|c| *c = [0.0; 3]);
                for (i, &z) in self.nodes.iter().enumerate() {
                    let pi = (ls[i] - lnp).exp();
                    if pi == 0.0 {
                        continue;
                    }
                    g_i.iter_mut().for_each(|v| *v = 0.0);
                    let (mut rsum, mut rb) = (0.0, 0.0);
                    for (j, cj) in curv.iter_mut().enumerate() {
                        let (r, v) = if j < f {
                            let p = pre[i * t + j];
                            (-p, p * (1.0 - p))
                        } else if j == f {
                            let p = pre[i * t + j];
                            (1.0 - p, p * (1.0 - p))
                        } else {
                            let c = post[i * t + j];
                            let x = (code >> j & 1) as f64;
                            rb += x - c;
                            (x - c, c * (1.0 - c))
                        };
                        g_i[ia(j)] += r;
                        rsum += r;
                        let pv = pi * v;
                        cj[0] += pv;
                        cj[1] += pv * z;
                        cj[2] += pv * z * z;
                    }
                    g_i[is] = rsum * z;
                    if let Some(ib) = ib {
                        g_i[ib] = rb;
                    }
                    let root = pi.sqrt();
                    for r in 1..np {
                        grad[r] += pi * g_i[r];
                        gm[(i, r)] = root * g_i[r];
                    }
                }
                for (j, &[c0, c1, c2]) in curv.iter().enumerate() {
                    let a = ia(j);
                    hess[(a, a)] -= c0;
                    hess[(a, is)] -= c1;
                    hess[(is, a)] -= c1;
                    hess[(is, is)] -= c2;
                    if let (true, Some(ib)) = (j > f, ib) {
                        hess[(ib, ib)] -= c0;
                        hess[(a, ib)] -= c0;
                        hess[(ib, a)] -= c0;
                        hess[(ib, is)] -= c1;
                        hess[(is, ib)] -= c1;
                    }
                }
                // + Σ_i π_i g_i g_iᵀ − ḡ ḡᵀ (column 0, β0, is zero in both)
                hess.gemm_tr(1.0, &gm, &gm, 1.0);
                hess.ger(-1.0, grad, grad, 1.0);
                lnp
            };
        let mut g0 = DVector::zeros(np);
        let mut h0 = nalgebra::DMatrix::zeros(np, np);
        let lnp0 = one(0, &mut g0, &mut h0);
        let mut grad = DVector::zeros(np);
        let mut hess = nalgebra::DMatrix::zeros(np, np);
        let mut gw = DVector::zeros(np);
        let mut hw = nalgebra::DMatrix::zeros(np, np);
        let mut ll = -self.lgy;
        for (&code, &y) in self.codes.iter().zip(&self.y) {
            let lnp = one(code, &mut gw, &mut hw);
            ll += y * (b0 + lnp - lnp0);
            grad.axpy(y, &gw, 1.0);
            hess += &hw * y;
        }
        let n = self.n;
        let r0 = (b0 - lnp0).exp(); // e^{β0} / P̄0
        // Σ_{ω≠0} μ_ω = e^{β0} (1 − P̄0) / P̄0, with 1 − P̄0 summed without cancellation
        let seen: f64 = self
            .nodes
            .iter()
            .zip(&self.weights)
            .enumerate()
            .map(|(i, (_, w))| {
                let l0: f64 = (0..t).map(|j| lpre[i * t + j].1).sum();
                w * -l0.exp_m1()
            })
            .sum();
        ll -= r0 * seen;
        grad.axpy(r0 - n, &g0, 1.0);
        hess += &h0 * (r0 - n);
        hess -= (&g0 * g0.transpose()) * r0;
        grad[0] = n - r0 * seen;
        hess[(0, 0)] = -r0 * seen;
        for c in 1..np {
            hess[(0, c)] = r0 * g0[c];
            hess[(c, 0)] = r0 * g0[c];
        }
        (ll.is_finite() && grad.iter().all(|v| v.is_finite())).then_some((ll, grad, hess))
    }
}

impl Objective for Problem {
    fn eval(&self, theta: &DVector<f64>) -> Option<(f64, DVector<f64>, nalgebra::DMatrix<f64>)> {
        let (_, g, h) = self.derivs(theta.as_slice())?;
        Some((-0.5 * self.deviance(theta.as_slice()), g, h))
    }
    fn value(&self, theta: &DVector<f64>) -> Option<f64> {
        let v = -0.5 * self.deviance(theta.as_slice());
        v.is_finite().then_some(v)
    }
}

/// The problem of `model` on `h`'s histories.
fn problem(h: &CaptureHistories, model: LogitNormal) -> Result<Problem> {
    let t = occasions_3_to_20(h, model.label())?;
    // One count per history (strata, if any, pooled: a history seen in two strata is one
    // cell of the table fitted here).
    let mut cells = std::collections::BTreeMap::<u64, u64>::new();
    for (c, f) in h.iter() {
        if c != 0 && f > 0 {
            *cells.entry(c).or_default() += f;
        }
    }
    let (codes, y): (Vec<u64>, Vec<f64>) = cells.into_iter().map(|(c, f)| (c, f as f64)).unzip();
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
        time: model.time(),
        fixed_b: (!model.behaviour()).then_some(0.0),
    })
}

/// Which effects a logit-normal heterogeneity model (module docs) has beside σ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogitNormal {
    /// One α for every occasion, no behavioural effect (Rcapture's Mh Normal).
    Mh,
    /// α_j by occasion, no behavioural effect (Rcapture's Mth Normal).
    Mth,
    /// One α and a behavioural effect b.
    Mbh,
    /// α_j by occasion and a behavioural effect b.
    Mtbh,
}

impl LogitNormal {
    /// All four, simplest first.
    pub const ALL: [LogitNormal; 4] = [
        LogitNormal::Mh,
        LogitNormal::Mth,
        LogitNormal::Mbh,
        LogitNormal::Mtbh,
    ];

    /// `Mh Normal`, `Mth Normal`, `Mbh Normal` or `Mtbh Normal`.
    pub fn label(self) -> &'static str {
        match self {
            LogitNormal::Mh => "Mh Normal",
            LogitNormal::Mth => "Mth Normal",
            LogitNormal::Mbh => "Mbh Normal",
            LogitNormal::Mtbh => "Mtbh Normal",
        }
    }

    /// Whether capture probabilities vary by occasion.
    pub fn time(self) -> bool {
        matches!(self, LogitNormal::Mth | LogitNormal::Mtbh)
    }

    /// Whether a first capture changes later capture probabilities.
    pub fn behaviour(self) -> bool {
        matches!(self, LogitNormal::Mbh | LogitNormal::Mtbh)
    }
}

/// Fits Mtbh Normal (module docs) to capture histories over 3 to 20 occasions, from the
/// Mth Normal fit (b = 0).
///
/// # Errors
/// [`Error::TooFewOccasions`] below 3 occasions; [`Error::InvalidData`] above 20;
/// [`Error::Numerical`] when the deviance's Hessian is singular at the estimate; the
/// errors of the Mth Normal start ([`closedp_normal`](super::closedp_normal)).
pub fn closedp_mtbh_normal(h: &CaptureHistories, level: f64) -> Result<NormalFit> {
    closedp_logit_normal(h, LogitNormal::Mtbh, level)
}

/// Fits one of the logit-normal heterogeneity models (module docs; b = 0 without a
/// behavioural effect, α_j = α without a time effect) by maximum likelihood (Newton's
/// method on the exact information). Each starts from the fit of the simpler model it
/// extends (Mh from a moment start, Mth and Mbh from Mh, Mtbh from Mth), as
/// [`closedp_logit_normal_all`] fits them. Mh and Mth Normal are Rcapture's models
/// (`closedpCI.t(..., h = "Normal")`, [`closedp_normal`](super::closedp_normal)) with the same N̂, deviance and AIC;
/// their standard error here is the observed information's (module docs), not Rcapture's,
/// which is √2 smaller on the e^{β0} part.
///
/// # Errors
/// [`Error::TooFewOccasions`] below 3 occasions; [`Error::InvalidData`] above 20;
/// [`Error::Numerical`] when the information is singular at the estimate or the search
/// finds no finite likelihood; the errors of the simpler fits it starts from.
pub fn closedp_logit_normal(
    h: &CaptureHistories,
    model: LogitNormal,
    level: f64,
) -> Result<NormalFit> {
    ci::check_level(level)?;
    let mh = fit_from(h, LogitNormal::Mh, None, level)?;
    match model {
        LogitNormal::Mh => Ok(mh),
        LogitNormal::Mth | LogitNormal::Mbh => fit_from(h, model, Some(&mh), level),
        LogitNormal::Mtbh => {
            let mth = fit_from(h, LogitNormal::Mth, Some(&mh), level)?;
            fit_from(h, model, Some(&mth), level)
        }
    }
}

/// The four logit-normal models ([`LogitNormal::ALL`]) on `h`, each from the fit of the
/// simpler one it extends (see [`closedp_logit_normal`]).
///
/// # Errors
/// [`Error::TooFewOccasions`] below 3 occasions, [`Error::InvalidData`] above 20 or an
/// invalid `level`, for all four at once; a failed fit is that model's error.
pub fn closedp_logit_normal_all(
    h: &CaptureHistories,
    level: f64,
) -> Result<Vec<(LogitNormal, Result<NormalFit>)>> {
    ci::check_level(level)?;
    occasions_3_to_20(h, "the Normal heterogeneity models")?;
    let mh = fit_from(h, LogitNormal::Mh, None, level);
    let from_mh = |m| match &mh {
        Ok(f) => fit_from(h, m, Some(f), level),
        Err(_) => fit_from(h, m, None, level),
    };
    let mth = from_mh(LogitNormal::Mth);
    let mbh = from_mh(LogitNormal::Mbh);
    let mtbh = match &mth {
        Ok(f) => fit_from(h, LogitNormal::Mtbh, Some(f), level),
        Err(_) => fit_from(h, LogitNormal::Mtbh, None, level),
    };
    Ok(vec![
        (LogitNormal::Mh, mh),
        (LogitNormal::Mth, mth),
        (LogitNormal::Mbh, mbh),
        (LogitNormal::Mtbh, mtbh),
    ])
}

/// The start of `model` on `prob` from the fit of a simpler model (`from`: Mh for Mth and
/// Mbh, Mth for Mtbh, with b = 0 and the α's spread as the captures per occasion), or
/// from moments without one: N₀ = n + f₁²/(2f₂) (Chao's lower bound), α = logit of the
/// captures per unit and occasion under N₀, σ = 0.5.
fn start(prob: &Problem, model: LogitNormal, from: Option<&NormalFit>) -> Vec<f64> {
    let t = prob.t;
    let mut per_occasion = vec![0.0; t];
    let (mut f1, mut f2) = (0.0, 0.0);
    for (&code, &y) in prob.codes.iter().zip(&prob.y) {
        for (j, v) in per_occasion.iter_mut().enumerate() {
            if code >> j & 1 == 1 {
                *v += y;
            }
        }
        match code.count_ones() {
            1 => f1 += y,
            2 => f2 += y,
            _ => {}
        }
    }
    let mean = per_occasion.iter().sum::<f64>() / t as f64;
    let spread = |j: usize| (per_occasion[j].max(0.5) / mean.max(0.5)).ln();
    let logit = |p: f64| {
        let p = p.clamp(1e-4, 1.0 - 1e-4);
        (p / (1.0 - p)).ln()
    };
    let mut th = Vec::with_capacity(t + 3);
    match from {
        Some(f) => {
            // (β0, α..., [b], σ) of the simpler model
            th.push(f.coef[0]);
            let simple_alpha = f.coef[1..f.coef.len() - 1].to_vec();
            let a = simple_alpha[0];
            if model.time() && simple_alpha.len() == 1 {
                th.extend((0..t).map(|j| a + spread(j)));
            } else if model.time() {
                th.extend_from_slice(&simple_alpha[..t]);
            } else {
                th.push(a);
            }
            if model.behaviour() {
                th.push(0.0);
            }
            th.push(f.coef[f.coef.len() - 1].max(0.2));
        }
        None => {
            let n = prob.n;
            let extra = if f2 > 0.0 { f1 * f1 / (2.0 * f2) } else { n };
            let n0 = n + extra.max(1.0);
            th.push(extra.max(1.0).ln());
            let a = logit(mean / n0);
            if model.time() {
                th.extend((0..t).map(|j| a + spread(j)));
            } else {
                th.push(a);
            }
            if model.behaviour() {
                th.push(0.0);
            }
            th.push(0.5);
        }
    }
    th
}

/// Fits `model` on `h` from the start [`start`] makes.
fn fit_from(
    h: &CaptureHistories,
    model: LogitNormal,
    from: Option<&NormalFit>,
    level: f64,
) -> Result<NormalFit> {
    let prob = problem(h, model)?;
    let t = prob.t;
    let th = start(&prob, model, from);
    let nf = Newton {
        tol: 1e-14,
        grad_tol: 1e-7,
        max_iter: MAX_ITER,
    }
    .maximize(&prob, DVector::from_vec(th))?;
    let npar = nf.theta.len();
    let mut th = nf.theta.clone();
    th[npar - 1] = th[npar - 1].abs();
    let (b0, _, b, sigma) = prob.split(th.as_slice());
    let name = model.label();
    let singular = || Error::Numerical {
        reason: format!("{name}: the information matrix is singular at the estimate"),
    };
    let (_, _, hess) = prob.derivs(th.as_slice()).ok_or_else(singular)?;
    let v = (-hess).try_inverse().ok_or_else(singular)?;
    let e0 = b0.exp();
    let se = (e0 + e0 * e0 * v[(0, 0)]).max(0.0).sqrt();
    let n = prob.n;
    let n_hat = n + e0;
    let loglik = prob.loglik(th.as_slice());
    let deviance = prob.deviance(th.as_slice());
    let mut assumptions = vec![
        Assumption::ClosedPopulation,
        Assumption::PerfectMatching,
        Assumption::ModelledHeterogeneity,
    ];
    if !model.behaviour() {
        assumptions.push(Assumption::NoBehaviouralResponse);
    }
    if !model.time() {
        assumptions.push(Assumption::ConstantOverTime);
    }
    let mut fit = normal_fit(
        name,
        th.iter().copied().collect(),
        (n_hat, se, n, level),
        (deviance, loglik, (1usize << t) - 1),
        &assumptions,
        (nf.stop, sigma),
    );
    if b.abs() > B_EDGE {
        fit.estimate = fit.estimate.with_warning(Warning::Boundary {
            parameter: format!(
                "b (the behavioural effect, {b:.1} on the logit scale: the data cannot bound it)"
            ),
        });
    }
    Ok(fit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::Estimate;
    use crate::glm::numerical_eval;
    use crate::huggins::{NormalModel, closedp_normal};

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
    fn the_exact_derivatives_are_the_numerical_ones() {
        let h = data();
        for model in LogitNormal::ALL {
            let prob = problem(&h, model).unwrap();
            let np = 1 + prob.n_alpha() + usize::from(model.behaviour()) + 1;
            let th = DVector::from_fn(np, |i, _| match i {
                0 => 5.0,
                i if i == np - 1 => 0.7,
                i => -1.5 + 0.1 * i as f64,
            });
            let (ll, g, hs) = prob.derivs(th.as_slice()).unwrap();
            assert!((ll - prob.loglik(th.as_slice())).abs() < 1e-8 * ll.abs());
            let (_, gn, hn) = numerical_eval(|x| prob.loglik(x.as_slice()), &th).unwrap();
            for i in 0..np {
                assert!(
                    (g[i] - gn[i]).abs() < 1e-5 * gn[i].abs().max(1.0),
                    "{model:?} g{i}: {} {}",
                    g[i],
                    gn[i]
                );
                for j in 0..np {
                    let (a, b) = (hs[(i, j)], hn[(i, j)]);
                    assert!(
                        (a - b).abs() < 1e-4 * b.abs().max(1.0),
                        "{model:?} H{i}{j}: {a} {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_history_repeated_in_two_strata_is_one_cell() {
        let h = data();
        let (codes, freq): (Vec<u64>, Vec<u64>) = h.aggregated().iter().unzip();
        // every history split over two rows of two strata
        let (mut c2, mut f2, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for (&c, &f) in codes.iter().zip(&freq) {
            c2.extend([c, c]);
            f2.extend([f / 2, f - f / 2]);
            labels.extend(["a", "b"]);
        }
        let split = CaptureHistories::new(h.occasions(), c2, f2)
            .unwrap()
            .with_strata(&labels)
            .unwrap();
        let one = closedp_logit_normal(&h, LogitNormal::Mh, 0.95).unwrap();
        let two = closedp_logit_normal(&split, LogitNormal::Mh, 0.95).unwrap();
        assert!((one.deviance - two.deviance).abs() < 1e-9 && one.deviance > 0.0);
        assert_eq!(one.estimate.n_hat, two.estimate.n_hat);
    }

    #[test]
    fn without_a_behavioural_effect_they_are_rcaptures_normal_models() {
        let h = data();
        let mth = closedp_normal(&h, &NormalModel::Mth, 0.95).unwrap();
        let b0 = closedp_logit_normal(&h, LogitNormal::Mth, 0.95).unwrap();
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
        // Mh Normal likewise: one α is Rcapture's one β on the number of captures
        let mh = closedp_normal(&h, &NormalModel::Mh, 0.95).unwrap();
        let ml = closedp_logit_normal(&h, LogitNormal::Mh, 0.95).unwrap();
        assert!(rel(ml.deviance, mh.deviance) < 1e-7);
        assert!(rel(ml.aic, mh.aic) < 1e-7);
        assert!(rel(ml.estimate.n_hat, mh.estimate.n_hat) < 1e-6);
        assert_eq!(ml.df, mh.df);
        // the observed information's variance is twice Rcapture's on the β0 part
        let part = |e: &Estimate| e.se * e.se - (e.n_hat - e.observed as f64);
        assert!(rel(part(&ml.estimate), 2.0 * part(&mh.estimate)) < 1e-3);
        // the free b can only fit better, by one parameter
        let free = closedp_mtbh_normal(&h, 0.95).unwrap();
        assert!(free.deviance <= b0.deviance + 1e-6);
        assert_eq!(free.df, b0.df - 1);
    }
}
