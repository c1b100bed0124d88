//! Likelihood models for open populations: Cormack-Jolly-Seber (survival and capture,
//! conditional on first captures) and POPAN (Schwarz & Arnason 1996), fitted by
//! maximum likelihood with [`crate::glm::Newton`].

use super::dual::Dual;
use crate::ci::z_two_sided;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::glm::{Newton, Objective, StopReason};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a parameter varies over occasions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Structure {
    /// One value for all occasions (`φ(.)`, `p(.)`).
    Constant,
    /// One value per occasion (`φ(t)`, `p(t)`).
    #[default]
    Time,
}

/// How groups (the strata of the histories, e.g. buyer / seller) enter a CJS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum GroupEffect {
    /// Groups pooled: one set of parameters.
    #[default]
    Pooled,
    /// Separate parameters per group (`φ(g*t)`).
    Separate,
    /// A group shift on the logit scale (`φ(g+t)`).
    Additive,
}

/// A derived or primary parameter with its SE and a (1 − α) interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Param {
    /// Estimate.
    pub estimate: Option<f64>,
    /// Standard error (delta method).
    pub se: Option<f64>,
    /// Lower limit (Wald on the link scale, back-transformed).
    pub lower: Option<f64>,
    /// Upper limit.
    pub upper: Option<f64>,
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "--".into());
        write!(
            f,
            "{:>10} {:>10} [{}, {}]",
            s(self.estimate),
            s(self.se),
            s(self.lower),
            s(self.upper)
        )
    }
}

/// Settings of [`cjs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CjsParams {
    /// Survival structure.
    pub phi: Structure,
    /// Capture structure.
    pub p: Structure,
    /// Group effect (uses the strata of the histories).
    pub groups: GroupEffect,
    /// Confidence level of the intervals.
    pub level: f64,
}

impl Default for CjsParams {
    fn default() -> Self {
        CjsParams {
            phi: Structure::Time,
            p: Structure::Time,
            groups: GroupEffect::Pooled,
            level: 0.95,
        }
    }
}

impl CjsParams {
    /// `φ(t) p(t)`, pooled, 95% intervals.
    pub fn params() -> Self {
        Self::default()
    }
    /// Sets the survival structure.
    pub fn phi(mut self, s: Structure) -> Self {
        self.phi = s;
        self
    }
    /// Sets the capture structure.
    pub fn p(mut self, s: Structure) -> Self {
        self.p = s;
        self
    }
    /// Sets the group effect.
    pub fn groups(mut self, g: GroupEffect) -> Self {
        self.groups = g;
        self
    }
}

/// A fitted Cormack-Jolly-Seber model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CjsFit {
    /// Model label, e.g. `phi(t) p(.)`.
    pub model: String,
    /// Group names (one "all" when pooled).
    pub groups: Vec<String>,
    /// `phi[g][i]`: survival from occasion i + 1 to i + 2 in group g.
    pub phi: Vec<Vec<Param>>,
    /// `p[g][j]`: capture probability on occasion j + 2 in group g.
    pub p: Vec<Vec<Param>>,
    /// Maximised log-likelihood (multinomial coefficients omitted).
    pub loglik: f64,
    /// Number of parameters.
    pub n_params: usize,
    /// AIC = −2 log L + 2 K.
    pub aic: f64,
    /// Boundary or non-identifiable parameters.
    pub warnings: Vec<String>,
    /// Why Newton stopped.
    pub stop: StopReason,
}

/// Parameter index sets: `idx[g][t]` lists the θ indices summed into the linear predictor.
fn index_map(
    structure: Structure,
    groups: GroupEffect,
    n_groups: usize,
    len: usize,
    start: usize,
) -> (Vec<Vec<Vec<usize>>>, usize) {
    let per = match structure {
        Structure::Constant => 1,
        Structure::Time => len,
    };
    let tix = |t: usize| if per == 1 { 0 } else { t };
    let mut out = vec![vec![Vec::new(); len]; n_groups];
    let used = match groups {
        GroupEffect::Pooled => {
            for row in out.iter_mut() {
                for (t, cell) in row.iter_mut().enumerate() {
                    cell.push(start + tix(t));
                }
            }
            per
        }
        GroupEffect::Separate => {
            for (g, row) in out.iter_mut().enumerate() {
                for (t, cell) in row.iter_mut().enumerate() {
                    cell.push(start + g * per + tix(t));
                }
            }
            per * n_groups
        }
        GroupEffect::Additive => {
            for (g, row) in out.iter_mut().enumerate() {
                for (t, cell) in row.iter_mut().enumerate() {
                    cell.push(start + tix(t));
                    if g > 0 {
                        cell.push(start + per + g - 1);
                    }
                }
            }
            per + n_groups - 1
        }
    };
    (out, used)
}

fn lin(theta: &[Dual], idx: &[usize]) -> Dual {
    let p = theta[0].g.len();
    let mut s = Dual::cst(0.0, p);
    for &i in idx {
        s = &s + &theta[i];
    }
    s
}

fn duals(theta: &DVector<f64>) -> Vec<Dual> {
    let p = theta.len();
    (0..p).map(|i| Dual::var(theta[i], i, p)).collect()
}

/// Objective wrapper: exact gradient by forward-mode duals, Hessian by central
/// differences of the gradient.
struct LikObjective<F: Fn(&[Dual]) -> Option<Dual>> {
    f: F,
}

impl<F: Fn(&[Dual]) -> Option<Dual>> LikObjective<F> {
    fn grad(&self, theta: &DVector<f64>) -> Option<(f64, DVector<f64>)> {
        let d = (self.f)(&duals(theta))?;
        if !d.v.is_finite() || d.g.iter().any(|x| !x.is_finite()) {
            return None;
        }
        Some((d.v, DVector::from_vec(d.g)))
    }
}

impl<F: Fn(&[Dual]) -> Option<Dual>> Objective for LikObjective<F> {
    fn eval(&self, theta: &DVector<f64>) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
        let (v, g) = self.grad(theta)?;
        let p = theta.len();
        let mut h = DMatrix::zeros(p, p);
        for j in 0..p {
            let step = 1e-5 * theta[j].abs().max(1.0);
            let mut a = theta.clone();
            a[j] += step;
            let mut b = theta.clone();
            b[j] -= step;
            let (_, ga) = self.grad(&a)?;
            let (_, gb) = self.grad(&b)?;
            for i in 0..p {
                h[(i, j)] = (ga[i] - gb[i]) / (2.0 * step);
            }
        }
        let hs = (&h + h.transpose()) * 0.5;
        Some((v, g, hs))
    }

    fn value(&self, theta: &DVector<f64>) -> Option<f64> {
        let d = (self.f)(&duals(theta))?;
        d.v.is_finite().then_some(d.v)
    }
}

/// A probability-scale parameter from a logit-scale dual, with a Wald interval on the
/// logit scale.
fn prob_param(eta: &Dual, cov: &DMatrix<f64>, z: f64) -> Param {
    let var = eta.variance(cov);
    let pr = eta.expit();
    let se = pr.variance(cov).sqrt();
    let sd = var.sqrt();
    let ex = |x: f64| 1.0 / (1.0 + (-x).exp());
    Param {
        estimate: super::finite(pr.v),
        se: super::finite(se),
        lower: super::finite(ex(eta.v - z * sd)),
        upper: super::finite(ex(eta.v + z * sd)),
    }
}

/// Warnings for probabilities on the boundary or not identifiable.
fn flag(name: &str, p: &Param, out: &mut Vec<String>) {
    match (p.estimate, p.se) {
        (Some(e), Some(se)) if se > 1.0 => out.push(format!(
            "{name} = {e:.4} is not identifiable (SE {se:.3e}): only a product with a neighbouring parameter is estimable"
        )),
        (Some(e), _) if !(1e-6..=1.0 - 1e-6).contains(&e) => {
            out.push(format!("{name} = {e:.6} is on the boundary of [0, 1]; its SE and interval are not reliable"))
        }
        _ => {}
    }
}

fn covariance_of(fit: &crate::glm::NewtonFit) -> Result<DMatrix<f64>> {
    fit.covariance().ok_or_else(|| Error::Numerical {
        reason:
            "the information matrix is singular at the maximum (a parameter is not identifiable)"
                .into(),
    })
}

fn check_level(level: f64) -> Result<f64> {
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::param("level", level, "a confidence level in (0, 1)"));
    }
    Ok(z_two_sided(level))
}

fn label(phi: Structure, p: Structure, g: GroupEffect) -> String {
    let s = |x: Structure| match (x, g) {
        (Structure::Constant, GroupEffect::Pooled) => "(.)",
        (Structure::Time, GroupEffect::Pooled) => "(t)",
        (Structure::Constant, GroupEffect::Separate) => "(g)",
        (Structure::Time, GroupEffect::Separate) => "(g*t)",
        (Structure::Constant, GroupEffect::Additive) => "(g)",
        (Structure::Time, GroupEffect::Additive) => "(g+t)",
    };
    format!("phi{} p{}", s(phi), s(p))
}

/// Fits the Cormack-Jolly-Seber model by maximum likelihood on the m-array of each group.
///
/// ```text
/// π_ij = Π_{h=i}^{j−1} φ_h · Π_{h=i+1}^{j−1} (1 − p_h) · p_j    (released at i, next seen at j)
/// χ_i  = 1 − Σ_j π_ij                                            (never seen again)
/// log L = Σ_g Σ_i [ Σ_j m_ij ln π_ij + (R_i − r_i) ln χ_i ]
/// logit φ, logit p linear in occasion and group effects; SEs by the delta method
/// ```
/// Under `φ(t) p(t)` the last survival and last capture probability are confounded
/// (only their product is estimable); they are reported as fitted.
///
/// # Errors
/// [`Error::TooFewOccasions`] for fewer than 3 occasions; [`Error::InvalidParameter`]
/// for a bad level; [`Error::Numerical`] when the information matrix is singular;
/// [`Error::NotConverged`] when Newton does not converge.
///
/// # References
/// Cormack (1964) *Biometrika* 51, 429-438; Lebreton, Burnham, Clobert & Anderson (1992)
/// *Ecol. Monogr.* 62, 67-118 (model notation). Matches `marked::crm(model = "cjs")`
/// and MARK's CJS.
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// use darkfigure::open::{cjs, CjsParams, Structure};
/// let h = CaptureHistories::from_strings(&[
///     ("1110", 20), ("1100", 30), ("0111", 25), ("0110", 40), ("1011", 10),
///     ("0011", 30), ("1000", 60), ("0100", 50), ("0010", 45), ("0001", 40)]).unwrap();
/// let f = cjs(&h, &CjsParams::params().phi(Structure::Constant).p(Structure::Constant)).unwrap();
/// let phi = f.phi[0][0].estimate.unwrap();
/// assert!(phi > 0.0 && phi < 1.0);
/// ```
pub fn cjs(h: &CaptureHistories, params: &CjsParams) -> Result<CjsFit> {
    let k = h.occasions();
    if k < 3 {
        return Err(Error::TooFewOccasions {
            method: "Cormack-Jolly-Seber".into(),
            needed: 3,
            got: k,
        });
    }
    let z = check_level(params.level)?;
    let parts: Vec<(String, CaptureHistories)> = match (params.groups, h.strata()) {
        (GroupEffect::Pooled, _) | (_, None) => vec![("all".to_string(), h.clone())],
        _ => h.split_by_stratum(),
    };
    let groups = if parts.len() == 1 {
        GroupEffect::Pooled
    } else {
        params.groups
    };
    let ng = parts.len();
    let (phi_idx, nphi) = index_map(params.phi, groups, ng, k - 1, 0);
    let (p_idx, np) = index_map(params.p, groups, ng, k - 1, nphi);
    let npar = nphi + np;
    let arrays: Vec<_> = parts.iter().map(|(_, g)| g.summary().m_array).collect();
    let f = |th: &[Dual]| -> Option<Dual> {
        let pdim = th.len();
        let mut ll = Dual::cst(0.0, pdim);
        for (g, ma) in arrays.iter().enumerate() {
            let phi: Vec<Dual> = (0..k - 1)
                .map(|t| lin(th, &phi_idx[g][t]).expit())
                .collect();
            // p[j] for occasion j (0-based), j >= 1
            let p: Vec<Dual> = (0..k - 1).map(|t| lin(th, &p_idx[g][t]).expit()).collect();
            for i in 0..k - 1 {
                let rel = ma.released[i] as f64;
                if rel == 0.0 {
                    continue;
                }
                let mut a = Dual::cst(1.0, pdim);
                let mut seen = Dual::cst(0.0, pdim);
                for j in i + 1..k {
                    a = &a * &phi[j - 1];
                    let pij = &a * &p[j - 1];
                    let mij = ma.m[i][j] as f64;
                    if mij > 0.0 {
                        ll = &ll + &pij.ln().scale(mij);
                    }
                    seen = &seen + &pij;
                    a = &a * &p[j - 1].one_minus();
                }
                let never = ma.never[i] as f64;
                if never > 0.0 {
                    let chi = seen.one_minus();
                    if chi.v <= 0.0 {
                        return None;
                    }
                    ll = &ll + &chi.ln().scale(never);
                }
            }
        }
        Some(ll)
    };
    let obj = LikObjective { f };
    let start = DVector::from_fn(npar, |i, _| if i < nphi { 1.0 } else { 0.0 });
    let fit = Newton::params().maximize(&obj, start)?;
    if !fit.stop.converged() {
        return Err(Error::NotConverged {
            iterations: fit.stop.iterations(),
            reason: "CJS likelihood maximisation".into(),
        });
    }
    let cov = covariance_of(&fit)?;
    let th = duals(&fit.theta);
    let phi: Vec<Vec<Param>> = (0..ng)
        .map(|g| {
            (0..k - 1)
                .map(|t| prob_param(&lin(&th, &phi_idx[g][t]), &cov, z))
                .collect()
        })
        .collect();
    let p: Vec<Vec<Param>> = (0..ng)
        .map(|g| {
            (0..k - 1)
                .map(|t| prob_param(&lin(&th, &p_idx[g][t]), &cov, z))
                .collect()
        })
        .collect();
    let mut warnings = Vec::new();
    for g in 0..ng {
        for t in 0..k - 1 {
            flag(
                &format!("phi {}->{} ({})", t + 1, t + 2, parts[g].0),
                &phi[g][t],
                &mut warnings,
            );
            flag(
                &format!("p {} ({})", t + 2, parts[g].0),
                &p[g][t],
                &mut warnings,
            );
        }
    }
    Ok(CjsFit {
        model: label(params.phi, params.p, groups),
        groups: parts.into_iter().map(|p| p.0).collect(),
        phi,
        p,
        loglik: fit.value,
        n_params: npar,
        aic: -2.0 * fit.value + 2.0 * npar as f64,
        warnings,
        stop: fit.stop,
    })
}

impl fmt::Display for CjsFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Cormack-Jolly-Seber {}: log L {:.4}, K {}, AIC {:.4}",
            self.model, self.loglik, self.n_params, self.aic
        )?;
        for (g, name) in self.groups.iter().enumerate() {
            writeln!(f, "group {name}")?;
            for (i, ph) in self.phi[g].iter().enumerate() {
                writeln!(
                    f,
                    "  phi {}->{}: {}   p {}: {}",
                    i + 1,
                    i + 2,
                    ph,
                    i + 2,
                    self.p[g][i]
                )?;
            }
        }
        Ok(())
    }
}

/// The likelihood for the number never caught in [`popan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PopanLikelihood {
    /// Multinomial given N (Schwarz & Arnason 1996): ln N!/(N − n)! + (N − n) ln P(0).
    #[default]
    Multinomial,
    /// Poisson counts with mean N P(ω) (as the log-linear models): n ln N − N (1 − P(0)).
    /// N̂ = n / (1 − P̂(0)) and the other estimates equal `openp`'s; the multinomial N̂ is
    /// slightly smaller (as Rcapture's profile N̂ against its Poisson N̂).
    Poisson,
}

/// Settings of [`popan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopanParams {
    /// Survival structure.
    pub phi: Structure,
    /// Capture structure.
    pub p: Structure,
    /// Likelihood for the never-caught count.
    pub likelihood: PopanLikelihood,
    /// Compute the profile-likelihood interval for N (a few dozen refits).
    pub profile: bool,
    /// Confidence level.
    pub level: f64,
}

impl Default for PopanParams {
    fn default() -> Self {
        PopanParams {
            phi: Structure::Time,
            p: Structure::Constant,
            likelihood: PopanLikelihood::Multinomial,
            profile: true,
            level: 0.95,
        }
    }
}

impl PopanParams {
    /// Whether to compute the profile-likelihood interval for N.
    pub fn profile(mut self, on: bool) -> Self {
        self.profile = on;
        self
    }

    /// Sets the likelihood for the never-caught count.
    pub fn likelihood(mut self, l: PopanLikelihood) -> Self {
        self.likelihood = l;
        self
    }
    /// `φ(t) p(.) b(t)`, 95% intervals.
    pub fn params() -> Self {
        Self::default()
    }
    /// Sets the survival structure.
    pub fn phi(mut self, s: Structure) -> Self {
        self.phi = s;
        self
    }
    /// Sets the capture structure.
    pub fn p(mut self, s: Structure) -> Self {
        self.p = s;
        self
    }
}

/// A fitted POPAN model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopanFit {
    /// Model label.
    pub model: String,
    /// Units caught.
    pub n: u64,
    /// Super-population size (total ever present); interval Wald on ln(N − n).
    pub n_super: Param,
    /// Profile-likelihood interval for N (`None` where the profile does not cross the
    /// critical value within the search range: unbounded).
    pub n_super_profile: (Option<f64>, Option<f64>),
    /// Entry probabilities b_0..b_{k−1} (b_0: present at occasion 1).
    pub entry: Vec<Param>,
    /// Survival from occasion i + 1 to i + 2.
    pub phi: Vec<Param>,
    /// Capture probability per occasion.
    pub p: Vec<Param>,
    /// Population size per occasion.
    pub n_hat: Vec<Param>,
    /// Entrants between occasion i + 1 and i + 2 (N b_{i+1}).
    pub births: Vec<Param>,
    /// Maximised log-likelihood (with the multinomial coefficient).
    pub loglik: f64,
    /// Number of parameters.
    pub n_params: usize,
    /// AIC.
    pub aic: f64,
    /// Boundary or non-identifiable parameters.
    pub warnings: Vec<String>,
    /// Why Newton stopped.
    pub stop: StopReason,
}

/// Fits the POPAN (Jolly-Seber super-population) model of Schwarz & Arnason (1996) by
/// maximum likelihood.
///
/// ```text
/// A_1 = b_1,  A_{t+1} = A_t (1 − p_t) φ_t + b_{t+1}             (alive, entered, unseen so far)
/// χ_K = 1,    χ_t = (1 − φ_t) + φ_t (1 − p_{t+1}) χ_{t+1}
/// P(ω) = A_f p_f Π_{h=f+1}^{l} φ_{h−1} p_h^{ω_h} (1 − p_h)^{1−ω_h} χ_l   (first f, last l)
/// P(0) = Σ_{t<K} A_t (1 − p_t)(1 − φ_t) + A_K (1 − p_K)
/// log L = ln N! − ln (N − n)! − Σ ln n_ω! + Σ n_ω ln P(ω) + (N − n) ln P(0)
/// N − n = e^{θ_0}; b by multinomial logit; logit φ, logit p
/// N_1 = N b_1, N_{t+1} = φ_t N_t + N b_{t+1}
/// ```
/// With `p(t)` the first and last capture probabilities are confounded with b_1 and
/// φ_{K−1}; use `p(.)` (the default) unless the design identifies them.
///
/// # Errors
/// As [`cjs`].
///
/// # References
/// Schwarz & Arnason (1996) *Biometrics* 52, 860-873; Crosbie & Manly (1985).
/// Matches `marked::crm(model = "js")` / MARK's POPAN.
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// use darkfigure::open::{popan, PopanParams};
/// let h = CaptureHistories::from_strings(&[
///     ("1110", 20), ("1100", 30), ("0111", 25), ("0110", 40), ("1011", 10),
///     ("0011", 30), ("1000", 60), ("0100", 50), ("0010", 45), ("0001", 40)]).unwrap();
/// let f = popan(&h, &PopanParams::params()).unwrap();
/// assert!(f.n_super.estimate.unwrap() > 350.0);
/// ```
pub fn popan(h: &CaptureHistories, params: &PopanParams) -> Result<PopanFit> {
    let k = h.occasions();
    if k < 3 {
        return Err(Error::TooFewOccasions {
            method: "POPAN".into(),
            needed: 3,
            got: k,
        });
    }
    let z = check_level(params.level)?;
    let agg = h.aggregated();
    let hist: Vec<(u64, f64)> = agg
        .iter()
        .filter(|x| x.1 > 0)
        .map(|(c, f)| (c, f as f64))
        .collect();
    let n: f64 = hist.iter().map(|x| x.1).sum();
    let const_term: f64 = hist
        .iter()
        .map(|x| statrs::function::gamma::ln_gamma(x.1 + 1.0))
        .sum();
    let (phi_idx, nphi) = index_map(params.phi, GroupEffect::Pooled, 1, k - 1, k);
    let (p_idx, np) = index_map(params.p, GroupEffect::Pooled, 1, k, k + nphi);
    let npar = k + nphi + np;
    let model = |th: &[Dual]| {
        let pdim = th.len();
        let big_n = th[0].exp().add_c(n);
        let e: Vec<Dual> = std::iter::once(Dual::cst(1.0, pdim))
            .chain((1..k).map(|j| th[j].exp()))
            .collect();
        let tot = Dual::sum(&e, pdim);
        let b: Vec<Dual> = e.iter().map(|x| x / &tot).collect();
        let phi: Vec<Dual> = (0..k - 1)
            .map(|t| lin(th, &phi_idx[0][t]).expit())
            .collect();
        let p: Vec<Dual> = (0..k).map(|t| lin(th, &p_idx[0][t]).expit()).collect();
        (big_n, b, phi, p)
    };
    let f = |th: &[Dual]| -> Option<Dual> {
        let pdim = th.len();
        let (big_n, b, phi, p) = model(th);
        let mut a = vec![b[0].clone()];
        for t in 0..k - 1 {
            let next = &(&(&a[t] * &p[t].one_minus()) * &phi[t]) + &b[t + 1];
            a.push(next);
        }
        let mut chi = vec![Dual::cst(1.0, pdim); k];
        for t in (0..k - 1).rev() {
            chi[t] = &phi[t].one_minus() + &(&(&phi[t] * &p[t + 1].one_minus()) * &chi[t + 1]);
        }
        let mut p0 = &a[k - 1] * &p[k - 1].one_minus();
        for t in 0..k - 1 {
            p0 = &p0 + &(&(&a[t] * &p[t].one_minus()) * &phi[t].one_minus());
        }
        if p0.v <= 0.0 {
            return None;
        }
        let mut ll = match params.likelihood {
            PopanLikelihood::Multinomial => {
                &(&big_n.add_c(1.0).ln_gamma() - &th[0].exp().add_c(1.0).ln_gamma())
                    + &(&p0.ln() * &th[0].exp())
            }
            PopanLikelihood::Poisson => &big_n.ln().scale(n) - &(&big_n * &p0.one_minus()),
        };
        ll = ll.add_c(-const_term);
        for &(code, cnt) in &hist {
            let first = code.trailing_zeros() as usize;
            let last = 63 - code.leading_zeros() as usize;
            let mut pr = &a[first] * &p[first];
            for hh in first + 1..=last {
                pr = &pr * &phi[hh - 1];
                pr = if code >> hh & 1 == 1 {
                    &pr * &p[hh]
                } else {
                    &pr * &p[hh].one_minus()
                };
            }
            pr = &pr * &chi[last];
            if pr.v <= 0.0 {
                return None;
            }
            ll = &ll + &pr.ln().scale(cnt);
        }
        Some(ll)
    };
    let obj = LikObjective { f };
    let start = DVector::from_fn(npar, |i, _| {
        if i == 0 {
            n.ln()
        } else if i < k {
            0.0
        } else if i < k + nphi {
            1.0
        } else {
            0.0
        }
    });
    let fit = Newton::params().maximize(&obj, start)?;
    if !fit.stop.converged() {
        return Err(Error::NotConverged {
            iterations: fit.stop.iterations(),
            reason: "POPAN likelihood maximisation".into(),
        });
    }
    let cov = covariance_of(&fit)?;
    let th = duals(&fit.theta);
    let (big_n, b, phi, _p) = model(&th);
    let wald = |d: &Dual| {
        let se = d.variance(&cov).sqrt();
        Param {
            estimate: super::finite(d.v),
            se: super::finite(se),
            lower: super::finite(d.v - z * se),
            upper: super::finite(d.v + z * se),
        }
    };
    // N: interval on log(N − n).
    let sd0 = cov[(0, 0)].max(0.0).sqrt();
    let n_super = Param {
        estimate: super::finite(big_n.v),
        se: super::finite(big_n.variance(&cov).sqrt()),
        lower: super::finite(n + (th[0].v - z * sd0).exp()),
        upper: super::finite(n + (th[0].v + z * sd0).exp()),
    };
    let mut nt = vec![&big_n * &b[0]];
    for t in 0..k - 1 {
        let next = &(&nt[t] * &phi[t]) + &(&big_n * &b[t + 1]);
        nt.push(next);
    }
    let births: Vec<Dual> = (1..k).map(|t| &big_n * &b[t]).collect();
    // Profile likelihood for ln(N − n): maximise over the rest with θ_0 fixed.
    let lmax = fit.value;
    let crit = crate::ci::chi2_quantile(params.level, 1.0) / 2.0;
    let rest0 = DVector::from_iterator(npar - 1, fit.theta.iter().skip(1).copied());
    let profile = |t0: f64| -> f64 {
        let g = |thr: &[Dual]| -> Option<Dual> {
            let mut full = Vec::with_capacity(npar);
            full.push(Dual::cst(t0, thr.len()));
            full.extend(thr.iter().cloned());
            f(&full)
        };
        let o = LikObjective { f: g };
        match Newton::params().maximize(&o, rest0.clone()) {
            Ok(r) if r.stop.converged() => lmax - r.value - crit,
            _ => f64::NAN,
        }
    };
    let t_hat = fit.theta[0];
    let search = |dir: f64| -> Option<f64> {
        let mut step = 0.25;
        let mut inner = t_hat;
        for _ in 0..40 {
            let outer = t_hat + dir * step;
            let v = profile(outer);
            if !v.is_finite() {
                return None;
            }
            if v > 0.0 {
                return crate::ci::find_root(profile, inner, outer, 1e-9).map(|t| n + t.exp());
            }
            inner = outer;
            step *= 2.0;
            if step > 40.0 {
                break;
            }
        }
        None
    };
    let n_super_profile = if params.profile {
        (search(-1.0).or(Some(n)), search(1.0))
    } else {
        (None, None)
    };
    let phi_p: Vec<Param> = (0..k - 1)
        .map(|t| prob_param(&lin(&th, &phi_idx[0][t]), &cov, z))
        .collect();
    let p_p: Vec<Param> = (0..k)
        .map(|t| prob_param(&lin(&th, &p_idx[0][t]), &cov, z))
        .collect();
    let mut warnings = Vec::new();
    for (t, x) in phi_p.iter().enumerate() {
        flag(&format!("phi {}->{}", t + 1, t + 2), x, &mut warnings);
    }
    for (t, x) in p_p.iter().enumerate() {
        flag(&format!("p {}", t + 1), x, &mut warnings);
    }
    Ok(PopanFit {
        model: format!(
            "POPAN phi{} p{} b(t)",
            if params.phi == Structure::Time {
                "(t)"
            } else {
                "(.)"
            },
            if params.p == Structure::Time {
                "(t)"
            } else {
                "(.)"
            }
        ),
        n: n as u64,
        n_super,
        entry: b.iter().map(wald).collect(),
        n_super_profile,
        phi: phi_p,
        p: p_p,
        n_hat: nt.iter().map(wald).collect(),
        births: births.iter().map(wald).collect(),
        loglik: fit.value,
        n_params: npar,
        aic: -2.0 * fit.value + 2.0 * npar as f64,
        warnings,
        stop: fit.stop,
    })
}

impl PopanFit {
    /// The JSON-ready shape.
    pub fn to_json(&self) -> super::OpenJson {
        let k = self.p.len();
        super::OpenJson {
            model: self.model.clone(),
            periods: (0..k)
                .map(|i| super::PeriodJson {
                    period: i + 1,
                    n_hat: self.n_hat[i].estimate,
                    se: self.n_hat[i].se,
                    capture_p: self.p[i].estimate,
                    survival: self.phi.get(i).and_then(|x| x.estimate),
                    births: self.births.get(i).and_then(|x| x.estimate),
                })
                .collect(),
            total: super::TotalJson {
                n_hat: self.n_super.estimate,
                se: self.n_super.se,
            },
            fit: serde_json::json!({"loglik": super::finite(self.loglik), "aic": super::finite(self.aic), "n_params": self.n_params}),
        }
    }
}

impl fmt::Display for PopanFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: log L {:.4}, K {}, AIC {:.4}",
            self.model, self.loglik, self.n_params, self.aic
        )?;
        writeln!(f, "super-population N: {}", self.n_super)?;
        let s = |v: Option<f64>| {
            v.map(|x| format!("{x:.2}"))
                .unwrap_or_else(|| "unbounded".into())
        };
        writeln!(
            f,
            "  profile-likelihood interval: [{}, {}]",
            s(self.n_super_profile.0),
            s(self.n_super_profile.1)
        )?;
        for i in 0..self.p.len() {
            writeln!(
                f,
                "  occasion {}: p {}  N {}",
                i + 1,
                self.p[i],
                self.n_hat[i]
            )?;
            if i + 1 < self.p.len() {
                writeln!(f, "    phi {}  B {}", self.phi[i], self.births[i])?;
            }
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}
