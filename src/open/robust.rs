//! Pollock's robust design as log-linear models (`Rcapture::robustd.t`, `robustd.0`).

use super::demog::demography;
use super::dual::Dual;
use super::factored::{Factored, FactoredFit};
use super::loglinear::se_minus;
use super::{Coef, Figure, ModelFit, OpenFit, RobustFit};
#[cfg(test)]
use super::{
    factored::z_delta,
    loglinear::{model_fit, neg_loop, test_fit},
};
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::glm::StopReason;
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

pub use crate::closed::Heterogeneity;

/// Rcapture's `robustd` label of a heterogeneity form (`Chao`, `Poisson2`, ...).
fn het_label(h: &Heterogeneity) -> String {
    match h {
        Heterogeneity::Chao => "Chao".into(),
        other => other.label(),
    }
}

/// Heterogeneity columns for k captures out of t.
fn het_columns(h: &Heterogeneity, k: usize, t: usize) -> Vec<f64> {
    let mut v = Vec::new();
    h.values(k as f64, t, &mut v);
    v
}

/// Closed-population model within a primary period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ClosedModel {
    /// No model: one parameter for "caught at least once".
    None,
    /// Equal capture probabilities.
    M0,
    /// Time effects (`robustd.t` only).
    Mt,
    /// Heterogeneity.
    Mh(Heterogeneity),
    /// Time and heterogeneity (`robustd.t` only).
    Mth(Heterogeneity),
}

impl ClosedModel {
    /// Rcapture's label ("M0", "Mh Chao", "Mh Poisson2", ...).
    pub fn label(&self) -> String {
        match self {
            ClosedModel::None => "none".into(),
            ClosedModel::M0 => "M0".into(),
            ClosedModel::Mt => "Mt".into(),
            ClosedModel::Mh(h) => format!("Mh {}", het_label(h)),
            ClosedModel::Mth(h) => format!("Mth {}", het_label(h)),
        }
    }

    fn has_time(&self) -> bool {
        matches!(self, ClosedModel::Mt | ClosedModel::Mth(_))
    }

    /// Number of block columns for t occasions.
    fn n_columns(&self, t: usize) -> usize {
        match self {
            ClosedModel::None | ClosedModel::M0 => 1,
            ClosedModel::Mt => t,
            ClosedModel::Mh(h) => 1 + h.columns(t),
            ClosedModel::Mth(h) => t + h.columns(t),
        }
    }

    /// Block columns of a within-period pattern (bit j = secondary occasion j + 1).
    fn features_t(&self, pattern: u64, t: usize) -> Vec<f64> {
        let k = pattern.count_ones() as usize;
        let bits = || (0..t).map(|j| (pattern >> j & 1) as f64);
        match self {
            ClosedModel::None => vec![1.0],
            ClosedModel::M0 => vec![k as f64],
            ClosedModel::Mt => bits().collect(),
            ClosedModel::Mh(h) => std::iter::once(k as f64)
                .chain(het_columns(h, k, t))
                .collect(),
            ClosedModel::Mth(h) => bits().chain(het_columns(h, k, t)).collect(),
        }
    }

    /// Block columns of a count k of captures (robustd.0).
    fn features_0(&self, k: usize, t: usize) -> Vec<f64> {
        match self {
            ClosedModel::None => vec![1.0],
            ClosedModel::M0 => vec![k as f64],
            ClosedModel::Mh(h) => std::iter::once(k as f64)
                .chain(het_columns(h, k, t))
                .collect(),
            ClosedModel::Mt | ClosedModel::Mth(_) => unreachable!("checked in robustd_0"),
        }
    }

    /// Indices (within the block) of the Chao eta columns, tested by the `neg` rule.
    fn eta_columns(&self, t: usize) -> Vec<usize> {
        match self {
            ClosedModel::Mh(Heterogeneity::Chao) => (1..1 + t.saturating_sub(2)).collect(),
            ClosedModel::Mth(Heterogeneity::Chao) => (t..t + t.saturating_sub(2)).collect(),
            _ => Vec::new(),
        }
    }
}

/// Settings of [`robustd_t`] and [`robustd_0`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustParams {
    /// One model per primary period, or a single model used for all.
    pub models: Vec<ClosedModel>,
    /// Set negative gammas (and Chao etas) to zero and refit.
    pub neg: bool,
}

impl Default for RobustParams {
    fn default() -> Self {
        RobustParams {
            models: vec![ClosedModel::M0],
            neg: true,
        }
    }
}

impl RobustParams {
    /// Default settings (M0 in every period, `neg = TRUE`), as Rcapture.
    pub fn params() -> Self {
        Self::default()
    }

    /// One model for every period.
    pub fn model(mut self, m: ClosedModel) -> Self {
        self.models = vec![m];
        self
    }

    /// One model per period.
    pub fn models(mut self, m: Vec<ClosedModel>) -> Self {
        self.models = m;
        self
    }

    /// Sets the `neg` rule.
    pub fn neg(mut self, neg: bool) -> Self {
        self.neg = neg;
        self
    }

    fn resolve(&self, i_n: usize) -> Result<Vec<ClosedModel>> {
        let m = match self.models.len() {
            1 => vec![self.models[0]; i_n],
            k if k == i_n => self.models.clone(),
            k => {
                return Err(Error::param(
                    "models",
                    k,
                    format!("one model, or one per primary period ({i_n})"),
                ));
            }
        };
        for model in &m {
            if let ClosedModel::Mh(Heterogeneity::Poisson(t) | Heterogeneity::Gamma(t))
            | ClosedModel::Mth(Heterogeneity::Poisson(t) | Heterogeneity::Gamma(t)) = model
                && !(t.is_finite() && *t > 0.0)
            {
                return Err(Error::param(
                    "theta",
                    t,
                    "a positive heterogeneity parameter",
                ));
            }
        }
        Ok(m)
    }
}

/// Column layout shared by both forms.
struct Layout {
    i_n: usize,
    t: Vec<usize>,
    models: Vec<ClosedModel>,
    block_start: Vec<usize>,
    p: usize,
}

impl Layout {
    fn new(t: &[usize], models: Vec<ClosedModel>) -> Self {
        let i_n = t.len();
        let mut block_start = Vec::with_capacity(i_n);
        let mut p = 1 + 2 * i_n - 2;
        for (i, m) in models.iter().enumerate() {
            block_start.push(p);
            p += m.n_columns(t[i]);
        }
        Layout {
            i_n,
            t: t.to_vec(),
            models,
            block_start,
            p,
        }
    }

    fn tested(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (1..2 * self.i_n - 1).collect();
        for i in 0..self.i_n {
            v.extend(
                self.models[i]
                    .eta_columns(self.t[i])
                    .into_iter()
                    .map(|c| self.block_start[i] + c),
            );
        }
        v
    }

    fn names(&self) -> Vec<String> {
        let mut names = vec!["intercept".to_string()];
        names.extend((1..=2 * self.i_n - 2).map(|k| format!("gamma{k}")));
        for i in 0..self.i_n {
            let t = self.t[i];
            let m = &self.models[i];
            let mut block: Vec<String> = if m.has_time() {
                (1..=t).map(|j| format!("beta{j}.{}", i + 1)).collect()
            } else {
                vec![format!("beta.{}", i + 1)]
            };
            match m {
                ClosedModel::Mh(Heterogeneity::Chao) | ClosedModel::Mth(Heterogeneity::Chao) => {
                    block.extend((3..=t).map(|j| format!("eta{j}.{}", i + 1)))
                }
                ClosedModel::Mh(_) | ClosedModel::Mth(_) => block.push(format!("tau.{}", i + 1)),
                _ => {}
            }
            names.extend(block);
        }
        names
    }

    /// Periods 2..I−1 (0-based) with a closed model, for the emigration tests, and the
    /// number of periods with a model.
    fn emigration_periods(&self) -> (Vec<usize>, usize) {
        let with = self
            .models
            .iter()
            .filter(|m| **m != ClosedModel::None)
            .count();
        let mid = (1..self.i_n - 1)
            .filter(|&i| self.models[i] != ClosedModel::None)
            .collect();
        (mid, with)
    }

    /// Per-period states (multiplicity, block features): all 2^t − 1 patterns (.t) or the
    /// t counts with multiplicity C(t, k) (.0).
    fn states(&self, i: usize, counts: bool) -> Vec<(f64, Vec<f64>)> {
        let t = self.t[i];
        if counts {
            (1..=t)
                .map(|k| (binom(t, k), self.models[i].features_0(k, t)))
                .collect()
        } else {
            (1..(1u64 << t))
                .map(|c| (1.0, self.models[i].features_t(c, t)))
                .collect()
        }
    }
}

fn binom(n: usize, k: usize) -> f64 {
    let mut r = 1.0;
    for j in 0..k {
        r = r * (n - j) as f64 / (j + 1) as f64;
    }
    r
}

fn check_periods(h: &CaptureHistories, periods: &[usize]) -> Result<()> {
    if periods.len() < 2
        || periods.contains(&0)
        || periods
            .iter()
            .try_fold(0usize, |acc, &l| acc.checked_add(l))
            != Some(h.occasions())
    {
        return Err(Error::param(
            "periods",
            format!("{periods:?}"),
            format!(
                "at least two positive numbers of secondary occasions summing to {}",
                h.occasions()
            ),
        ));
    }
    Ok(())
}

/// Common output assembly from the full coefficient vector and covariance.
#[allow(clippy::too_many_arguments)]
fn assemble(
    lay: &Layout,
    counts: bool,
    label: String,
    n: u64,
    beta: &[f64],
    cov: &DMatrix<f64>,
    fit: ModelFit,
    tests: Vec<ModelFit>,
    test_params: Vec<Coef>,
    zeroed: Vec<usize>,
    warnings: Vec<String>,
    stop: StopReason,
) -> OpenFit {
    let p = lay.p;
    let i_n = lay.i_n;
    let interc = Dual::var(beta[0], 0, p);
    let alpha: Vec<Dual> = (0..2 * i_n - 2)
        .map(|k| Dual::var(beta[1 + k], 1 + k, p))
        .collect();
    let pstar: Vec<Dual> = (0..i_n)
        .map(|i| {
            let b0 = lay.block_start[i];
            let mut s = Dual::cst(0.0, p);
            for (mult, x) in lay.states(i, counts) {
                let mut eta = Dual::cst(0.0, p);
                for (c, xv) in x.iter().enumerate() {
                    if *xv != 0.0 {
                        eta = &eta + &Dual::var(beta[b0 + c], b0 + c, p).scale(*xv);
                    }
                }
                s = &s + &eta.exp().scale(mult);
            }
            &s / &s.add_c(1.0)
        })
        .collect();
    let d = demography(&interc, &alpha, pstar);
    let se = |v: &Dual| v.variance(cov).sqrt();
    let b: Vec<Dual> = (0..i_n - 1)
        .map(|i| &d.n[i + 1] - &(&d.n[i] * &d.phi[i]))
        .collect();
    let tot = &d.n[0] + &Dual::sum(&b, p);
    let names = lay.names();
    OpenFit {
        model: label,
        period_models: lay.models.iter().map(|m| m.label()).collect(),
        n,
        periods: i_n,
        fit,
        tests,
        test_params,
        capture_p: d.pstar.iter().map(|v| Figure::new(v.v, se(v))).collect(),
        survival: d.phi.iter().map(|v| Figure::new(v.v, se(v))).collect(),
        n_hat: d
            .n
            .iter()
            .map(|v| Figure::new(v.v, se_minus(v.variance(cov), v.v)))
            .collect(),
        births: b.iter().map(|v| Figure::new(v.v, se(v))).collect(),
        total: Figure::new(tot.v, se_minus(tot.variance(cov), tot.v)),
        coefficients: names
            .iter()
            .enumerate()
            .map(|(j, nm)| Coef {
                name: nm.clone(),
                estimate: super::finite(beta[j]),
                se: beta[j].is_finite().then(|| cov[(j, j)].max(0.0).sqrt()),
            })
            .collect(),
        zeroed,
        warnings,
        stop,
    }
}

fn label_of(models: &[ClosedModel]) -> String {
    let first = models[0].label();
    if models.iter().all(|m| m.label() == first) {
        first
    } else {
        models
            .iter()
            .map(|m| m.label())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Splits a history into its per-period patterns.
fn split(code: u64, t: &[usize]) -> Vec<u64> {
    let mut out = Vec::with_capacity(t.len());
    let mut start = 0;
    for &len in t {
        out.push((code >> start) & ((1u64 << len) - 1));
        start += len;
    }
    out
}

/// Robust design on per-period numbers of captures, as `Rcapture::robustd.0`: the
/// closed model in each primary period (none, M0 or Mh) acts on the count k_i of captures
/// in that period, so the table has Π(t_i + 1) − 1 cells however many secondary
/// occasions there are.
///
/// ```text
/// log E[n_k] = Σ_i ln C(t_i, k_i) + μ + Σ_j γ_j Z_j(δ) + Σ_i x_i(k_i)ᵀ β_i,  δ_i = 1{k_i > 0}
/// p*_i = S_i / (1 + S_i),  S_i = Σ_k C(t_i, k) exp(x_i(k)ᵀ β_i)
/// ```
/// Survivals, abundances, births and the total follow from μ, γ and p* as in [`super::openp`]
/// (ep form). The temporary-emigration tests add δ_i for the middle periods (one column
/// each, and their sum).
///
/// # Errors
/// [`Error::InvalidParameter`] for periods that do not sum to the occasions, a model
/// list of the wrong length, Mt/Mth (time effects need [`robustd_t`]) or a bad θ;
/// [`Error::InvalidData`] when the table would exceed 2 million cells;
/// [`Error::NotConverged`] when IRLS does not converge.
///
/// # References
/// Rivest & Daigle (2004) *Biometrics* 60, 100-107; Pollock (1982). Matches
/// `Rcapture::robustd.0(X, vt, vm, vh, vtheta, neg)`.
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// use darkfigure::open::{robustd_0, RobustParams};
/// let h = CaptureHistories::from_strings(&[
///     ("110110", 6), ("100000", 9), ("010011", 4), ("000011", 8), ("111000", 5),
///     ("001001", 3), ("000110", 7), ("011100", 4), ("100101", 2)]).unwrap();
/// let f = robustd_0(&h, &[2, 2, 2], &RobustParams::params()).unwrap();
/// assert!(f.total.estimate.unwrap() >= 48.0);
/// ```
pub fn robustd_0(
    h: &CaptureHistories,
    periods: &[usize],
    params: &RobustParams,
) -> Result<RobustFit> {
    check_periods(h, periods)?;
    let models = params.resolve(periods.len())?;
    if let Some(m) = models.iter().find(|m| m.has_time()) {
        return Err(Error::param(
            "models",
            m.label(),
            "none, M0 or Mh in robustd_0 (time effects need robustd_t)",
        ));
    }
    factored_robust(h, periods, Layout::new(periods, models), true, params.neg)
}

/// The same fit as [`robustd_0`] on the explicit Π(t_i + 1) − 1 cells with the shared
/// [`crate::glm::PoissonGlm`] engine ([`PoissonGlm::fit_dense`](crate::glm::PoissonGlm::fit_dense)) (a cross-check of the factorised fit).
#[cfg(test)]
pub(crate) fn robustd_0_dense(
    h: &CaptureHistories,
    periods: &[usize],
    params: &RobustParams,
) -> Result<RobustFit> {
    check_periods(h, periods)?;
    let i_n = periods.len();
    let models = params.resolve(i_n)?;
    if let Some(m) = models.iter().find(|m| m.has_time()) {
        return Err(Error::param(
            "models",
            m.label(),
            "none, M0 or Mh in robustd_0 (time effects need robustd_t)",
        ));
    }
    let ncell: f64 = periods.iter().map(|&t| (t + 1) as f64).product::<f64>() - 1.0;
    if ncell > 2e6 {
        return Err(Error::invalid(format!(
            "{ncell} cells: robustd_0 accepts at most 2 million"
        )));
    }
    let lay = Layout::new(periods, models);
    let ncell = ncell as usize;
    // Enumerate count vectors (mixed radix t_i + 1), skipping the all-zero one.
    let radix: Vec<usize> = periods.iter().map(|t| t + 1).collect();
    let index_of = |k: &[usize]| -> usize {
        let mut idx = 0;
        for i in (0..i_n).rev() {
            idx = idx * radix[i] + k[i];
        }
        idx - 1
    };
    let mut y = vec![0.0; ncell];
    for (code, f) in h.iter() {
        if f == 0 {
            continue;
        }
        let k: Vec<usize> = split(code, periods)
            .iter()
            .map(|c| c.count_ones() as usize)
            .collect();
        y[index_of(&k)] += f as f64;
    }
    let mut x = DMatrix::zeros(ncell, lay.p);
    let mut offset = vec![0.0; ncell];
    let mut deltas = vec![0u64; ncell];
    let mut k = vec![0usize; i_n];
    for r in 0..ncell {
        // increment k (mixed radix) to cell r + 1
        for i in 0..i_n {
            k[i] += 1;
            if k[i] < radix[i] {
                break;
            }
            k[i] = 0;
        }
        let mut delta = 0u64;
        for i in 0..i_n {
            if k[i] > 0 {
                delta |= 1 << i;
                offset[r] += binom(periods[i], k[i]).ln();
                for (c, v) in lay.models[i]
                    .features_0(k[i], periods[i])
                    .into_iter()
                    .enumerate()
                {
                    x[(r, lay.block_start[i] + c)] = v;
                }
            }
        }
        deltas[r] = delta;
        x[(r, 0)] = 1.0;
        for (c, z) in z_delta(delta, i_n).into_iter().enumerate() {
            x[(r, 1 + c)] = z;
        }
    }
    let (fit, cols, zeroed) = neg_loop(&x, &y, Some(&offset), None, &lay.tested(), params.neg)?;
    let mut warnings = Vec::new();
    if !fit.aliased.is_empty() {
        warnings.push("some loglinear parameter estimations cannot be evaluated".to_string());
    }
    let (beta, cov) = super::loglinear::expand(&fit, &cols, lay.p);
    let (mid, with) = lay.emigration_periods();
    let mut tests = Vec::new();
    let mut test_params = Vec::new();
    let dcol = |i: usize| -> Vec<f64> { deltas.iter().map(|d| (d >> i & 1) as f64).collect() };
    if with >= 3 && !mid.is_empty() {
        let het_cols: Vec<Vec<f64>> = mid.iter().map(|&i| dcol(i)).collect();
        let het_names: Vec<String> = mid.iter().map(|i| format!("period {}", i + 1)).collect();
        let het = test_fit(&x, &cols, &het_cols, &het_names, &y, Some(&offset), None)?;
        if with > 3 {
            let sum: Vec<f64> = (0..ncell)
                .map(|r| het_cols.iter().map(|c| c[r]).sum())
                .collect();
            let hom = test_fit(
                &x,
                &cols,
                &[sum],
                &["homogenous".to_string()],
                &y,
                Some(&offset),
                None,
            )?;
            if let Some((f, _)) = &hom {
                tests.push(model_fit("model with homogeneous temporary emigration", f));
            }
            if let Some((f, c)) = het {
                tests.push(model_fit("model with temporary emigration", &f));
                test_params.extend(c);
            }
            if let Some((_, c)) = hom {
                test_params.extend(c);
            }
        } else if let Some((f, c)) = het {
            tests.push(model_fit("model with temporary emigration", &f));
            test_params.extend(c);
        }
    }
    let label = label_of(&lay.models);
    Ok(assemble(
        &lay,
        true,
        label,
        h.observed(),
        &beta,
        &cov,
        model_fit("fitted model", &fit),
        tests,
        test_params,
        zeroed,
        warnings,
        fit.stop,
    ))
}

/// Robust design on the full capture histories, as `Rcapture::robustd.t`: closed models
/// M0, Mt, Mh or Mth (or none) within each primary period, the log-linear Jolly-Seber
/// model between periods.
///
/// ```text
/// log E[n_ω] = μ + Σ_j γ_j Z_j(δ(ω)) + Σ_i x_i(ω_i)ᵀ β_i      (2^{Σ t_i} − 1 histories)
/// p*_i = S_i / (1 + S_i),  S_i = Σ_{ω_i ≠ 0} exp(x_i(ω_i)ᵀ β_i)
/// ```
/// The Poisson likelihood factorises over periods given δ, so the fit never forms the
/// 2^{Σ t_i}-cell table: Σ μ, Xᵀμ and XᵀWX are sums over the 2^I − 1 period patterns δ of
/// products of per-period sums. The iterations are R's `glm` IRLS steps (start
/// μ = y + 0.1, relative deviance change 1e-8); deviance, df and AIC refer to all
/// 2^{Σ t_i} − 1 cells, as in Rcapture.
///
/// # Errors
/// As [`robustd_0`] (Mt and Mth allowed); [`Error::InvalidData`] when a period has more
/// than 20 secondary occasions or there are more than 20 primary periods.
///
/// # References
/// Rivest & Daigle (2004) *Biometrics* 60, 100-107. Matches
/// `Rcapture::robustd.t(X, vt, vm, vh, vtheta, neg)`.
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// use darkfigure::open::{robustd_t, RobustParams, ClosedModel};
/// let h = CaptureHistories::from_strings(&[
///     ("110110", 6), ("100000", 9), ("010011", 4), ("000011", 8), ("111000", 5),
///     ("001001", 3), ("000110", 7), ("011100", 4), ("100101", 2)]).unwrap();
/// let f = robustd_t(&h, &[2, 2, 2], &RobustParams::params().model(ClosedModel::Mt)).unwrap();
/// assert!(f.total.estimate.unwrap() >= 48.0);
/// ```
pub fn robustd_t(
    h: &CaptureHistories,
    periods: &[usize],
    params: &RobustParams,
) -> Result<RobustFit> {
    check_periods(h, periods)?;
    let i_n = periods.len();
    if i_n > 20 || periods.iter().any(|&t| t > 20) {
        return Err(Error::invalid(
            "robustd_t accepts at most 20 primary periods of at most 20 occasions each",
        ));
    }
    let models = params.resolve(i_n)?;
    factored_robust(h, periods, Layout::new(periods, models), false, params.neg)
}

/// Both robust-design forms on the factorised Poisson engine: states are the
/// within-period patterns (`counts = false`) or the numbers of captures with offset
/// ln C(t, k) (`counts = true`).
fn factored_robust(
    h: &CaptureHistories,
    periods: &[usize],
    lay: Layout,
    counts: bool,
    neg: bool,
) -> Result<RobustFit> {
    let i_n = periods.len();
    let (states, offsets): (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>) = (0..i_n)
        .map(|i| {
            let st = lay.states(i, counts);
            (
                st.iter().map(|s| s.1.clone()).collect(),
                st.iter().map(|s| s.0.ln()).collect(),
            )
        })
        .unzip();
    // Observed histories, aggregated, as per-period states (pattern or count).
    let mut obs: std::collections::BTreeMap<Vec<u64>, f64> = std::collections::BTreeMap::new();
    for (code, f) in h.iter() {
        if f > 0 {
            let mut key = split(code, periods);
            if counts {
                key.iter_mut().for_each(|c| *c = c.count_ones() as u64);
            }
            *obs.entry(key).or_default() += f as f64;
        }
    }
    let observed: Vec<(Vec<u64>, f64)> = obs.into_iter().collect();
    let model = Factored::new(
        i_n,
        lay.block_start.clone(),
        lay.p,
        states,
        offsets,
        observed,
    );
    let tested = lay.tested();
    let (fit, zeroed) = model.fit_neg(&tested, neg, &[])?;
    let (mid, with) = lay.emigration_periods();
    let mut tests = Vec::new();
    let mut test_params = Vec::new();
    let delta_col =
        |i: usize| -> Vec<f64> { (0..1usize << i_n).map(|d| (d >> i & 1) as f64).collect() };
    let run_test = |cols: Vec<Vec<f64>>, names: Vec<String>| -> Result<(FactoredFit, Vec<Coef>)> {
        let f = model.fit_extra(&fit.active, &cols)?;
        let coefs = names
            .into_iter()
            .enumerate()
            .map(|(b, nm)| Coef {
                name: nm,
                estimate: Some(f.beta[lay.p + b]),
                se: Some(f.cov[(lay.p + b, lay.p + b)].max(0.0).sqrt()),
            })
            .collect();
        Ok((f, coefs))
    };
    if with >= 3 && !mid.is_empty() {
        let het_cols: Vec<Vec<f64>> = mid.iter().map(|&i| delta_col(i)).collect();
        let het_names: Vec<String> = mid.iter().map(|i| format!("period {}", i + 1)).collect();
        let (hf, hc) = run_test(het_cols.clone(), het_names)?;
        if with > 3 {
            let sum: Vec<f64> = (0..1usize << i_n)
                .map(|d| het_cols.iter().map(|c| c[d]).sum())
                .collect();
            let (of, oc) = run_test(vec![sum], vec!["homogenous".into()])?;
            tests.push(of.model_fit("model with homogeneous temporary emigration"));
            tests.push(hf.model_fit("model with temporary emigration"));
            test_params.extend(hc);
            test_params.extend(oc);
        } else {
            tests.push(hf.model_fit("model with temporary emigration"));
            test_params.extend(hc);
        }
    }
    let label = label_of(&lay.models);
    Ok(assemble(
        &lay,
        counts,
        label,
        h.observed(),
        &fit.beta,
        &fit.cov,
        fit.model_fit("fitted model"),
        tests,
        test_params,
        zeroed,
        Vec::new(),
        fit.stop,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv_io::{ReadOptions, read_histories_str};

    fn mvole() -> CaptureHistories {
        let text = include_str!("../../tests/fixtures/open/mvole.csv");
        read_histories_str(text, "mvole.csv", &ReadOptions::default()).unwrap()
    }

    /// The factorised fit and the shared PoissonGlm engine on the explicit cells agree.
    #[test]
    fn factorised_matches_dense_cells() {
        let h = mvole();
        for m in [
            ClosedModel::M0,
            ClosedModel::Mh(Heterogeneity::Poisson(2.0)),
        ] {
            let p = RobustParams::params().model(m);
            let a = robustd_0(&h, &[5; 6], &p).unwrap();
            let b = robustd_0_dense(&h, &[5; 6], &p).unwrap();
            assert_eq!(a.fit.df, b.fit.df);
            assert!((a.fit.deviance - b.fit.deviance).abs() < 1e-6 * b.fit.deviance);
            assert!((a.fit.aic - b.fit.aic).abs() < 1e-6 * b.fit.aic);
            for i in 0..6 {
                let (x, y) = (a.n_hat[i].estimate.unwrap(), b.n_hat[i].estimate.unwrap());
                assert!((x - y).abs() < 1e-6 * y, "{x} {y}");
                let (x, y) = (a.n_hat[i].se.unwrap(), b.n_hat[i].se.unwrap());
                assert!((x - y).abs() < 1e-5 * y, "{x} {y}");
            }
        }
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        let h = mvole();
        assert!(matches!(
            robustd_0(&h, &[5; 5], &RobustParams::params()),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            robustd_0(&h, &[5; 6], &RobustParams::params().model(ClosedModel::Mt)),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            robustd_t(
                &h,
                &[5; 6],
                &RobustParams::params().models(vec![ClosedModel::M0; 4])
            ),
            Err(Error::InvalidParameter { .. })
        ));
    }
}
