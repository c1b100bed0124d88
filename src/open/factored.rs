//! A Poisson log-linear fit over all 2^{Σ t_i} − 1 capture histories of a robust design
//! that never forms the table: given the period-capture pattern δ, the model factorises
//! over primary periods, so Σ μ, Xᵀμ and XᵀWX are sums over the 2^I − 1 patterns δ of
//! products of per-period sums.
//!
//! ```text
//! η(ω) = θ_0 + z(δ)ᵀθ_z + Σ_{i∈δ} x_i(ω_i)ᵀθ_i
//! S_i = Σ_s e^{x_i(s)ᵀθ_i},  e_i = Σ_s e^{·} x_i(s) / S_i,  C_i = Cov_s(x_i)
//! M_δ = e^{θ_0 + z(δ)ᵀθ_z} Π_{i∈δ} S_i,  v_δ = (1, z(δ), e_i for i ∈ δ)
//! Xᵀμ = Σ_δ M_δ v_δ,   XᵀWX = Σ_δ M_δ v_δ v_δᵀ + Σ_i C_i Σ_{δ∋i} M_δ
//! ```
//! The iterations are R's `glm` path, run by the crate's one engine
//! ([`crate::glm::irls_r_path`]): start μ = y + 0.1, IRLS = Newton for the canonical
//! link, stop when the relative deviance change is below 1e-8.

#![allow(clippy::needless_range_loop)]

use super::ModelFit;
use crate::error::{Error, Result};
use crate::glm::{IrlsModel, IrlsSummary, PoissonGlm, StopReason, WlsSystem, irls_r_path};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

/// The Zδ matrix of Rivest & Daigle (2004): 2I − 2 columns of a period-capture
/// indicator vector δ (bit i = caught in period i + 1).
///
/// ```text
/// Z_j     = Π_{k ≤ j} (1 − δ_k),            j = 1..I−1  (not caught in periods 1..j)
/// Z_{I+m} = Π_{k = I−m..I} (1 − δ_k),       m = 0..I−2  (not caught in the last m+1)
/// ```
pub(crate) fn z_delta(delta: u64, i_n: usize) -> Vec<f64> {
    let mut z = Vec::with_capacity(2 * i_n - 2);
    let mut run = 1.0;
    for k in 0..i_n - 1 {
        if delta >> k & 1 == 1 {
            run = 0.0;
        }
        z.push(run);
    }
    run = 1.0;
    for m in 0..i_n - 1 {
        if delta >> (i_n - 1 - m) & 1 == 1 {
            run = 0.0;
        }
        z.push(run);
    }
    z
}

pub(crate) struct Factored {
    i_n: usize,
    block_start: Vec<usize>,
    p: usize,
    /// Per period, per state (pattern code − 1), the block features.
    states: Vec<Vec<Vec<f64>>>,
    /// Per period, per state, the offset (ln of the multiplicity; 0 for histories).
    offsets: Vec<Vec<f64>>,
    /// Observed histories: per-period patterns and frequency.
    observed: Vec<(Vec<u64>, f64)>,
    ncells: f64,
}

pub(crate) struct FactoredFit {
    pub beta: Vec<f64>,
    pub cov: DMatrix<f64>,
    pub deviance: f64,
    pub aic: f64,
    pub df: i64,
    pub stop: StopReason,
    pub active: Vec<bool>,
}

impl FactoredFit {
    pub fn model_fit(&self, label: &str) -> ModelFit {
        ModelFit {
            label: label.into(),
            deviance: self.deviance,
            df: self.df,
            aic: self.aic,
        }
    }
}

struct Moments {
    tot: f64,
    g: DVector<f64>,
    h: DMatrix<f64>,
}

impl Factored {
    pub fn new(
        i_n: usize,
        block_start: Vec<usize>,
        p: usize,
        states: Vec<Vec<Vec<f64>>>,
        offsets: Vec<Vec<f64>>,
        observed: Vec<(Vec<u64>, f64)>,
    ) -> Self {
        let ncells = states.iter().map(|s| (s.len() + 1) as f64).product::<f64>() - 1.0;
        Factored {
            i_n,
            block_start,
            p,
            states,
            offsets,
            observed,
            ncells,
        }
    }

    fn z_row(&self, delta: usize, extra: &[Vec<f64>]) -> Vec<f64> {
        let mut z = z_delta(delta as u64, self.i_n);
        z.extend(extra.iter().map(|c| c[delta]));
        z
    }

    /// Dense design row and offset of an observed history.
    fn obs_row(&self, pats: &[u64], extra: &[Vec<f64>]) -> (Vec<f64>, f64) {
        let big_p = self.p + extra.len();
        let mut x = vec![0.0; big_p];
        let mut off = 0.0;
        let mut delta = 0usize;
        for (i, &pt) in pats.iter().enumerate() {
            if pt != 0 {
                delta |= 1 << i;
                off += self.offsets[i][pt as usize - 1];
                for (c, v) in self.states[i][pt as usize - 1].iter().enumerate() {
                    x[self.block_start[i] + c] += *v;
                }
            }
        }
        x[0] = 1.0;
        let z = self.z_row(delta, extra);
        let nz = 2 * self.i_n - 2;
        for (k, v) in z.iter().enumerate() {
            if k < nz {
                x[1 + k] = *v;
            } else {
                x[self.p + k - nz] = *v;
            }
        }
        (x, off)
    }

    /// Σ over all cells of x_c · o_c (unit weights), for the first IRLS step with offsets.
    fn offset_moment(&self, extra: &[Vec<f64>]) -> DVector<f64> {
        let big_p = self.p + extra.len();
        let nz = 2 * self.i_n - 2;
        let kk: Vec<f64> = self.states.iter().map(|s| s.len() as f64).collect();
        let oo: Vec<f64> = self.offsets.iter().map(|o| o.iter().sum()).collect();
        let x1: Vec<Vec<f64>> = self
            .states
            .iter()
            .map(|st| {
                let q = st[0].len();
                (0..q).map(|a| st.iter().map(|x| x[a]).sum()).collect()
            })
            .collect();
        let xo: Vec<Vec<f64>> = self
            .states
            .iter()
            .zip(&self.offsets)
            .map(|(st, of)| {
                let q = st[0].len();
                (0..q)
                    .map(|a| st.iter().zip(of).map(|(x, o)| x[a] * o).sum())
                    .collect()
            })
            .collect();
        let mut t = DVector::zeros(big_p);
        for delta in 1..(1usize << self.i_n) {
            let inn: Vec<usize> = (0..self.i_n).filter(|&i| delta >> i & 1 == 1).collect();
            let prod: f64 = inn.iter().map(|&i| kk[i]).product();
            let so: f64 = inn.iter().map(|&i| oo[i] * prod / kk[i]).sum();
            let z = self.z_row(delta, extra);
            t[0] += so;
            for (k, zv) in z.iter().enumerate() {
                let col = if k < nz { 1 + k } else { self.p + k - nz };
                t[col] += zv * so;
            }
            for &i in &inn {
                let others: f64 = inn
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| oo[j] * prod / (kk[i] * kk[j]))
                    .sum();
                let b0 = self.block_start[i];
                for a in 0..x1[i].len() {
                    t[b0 + a] += xo[i][a] * prod / kk[i] + x1[i][a] * others;
                }
            }
        }
        t
    }

    /// Σ μ, Xᵀμ and XᵀWX over all cells at θ (`None`: every cell has μ = 1).
    fn moments(&self, theta: Option<&[f64]>, extra: &[Vec<f64>]) -> Moments {
        let big_p = self.p + extra.len();
        let nz = 2 * self.i_n - 2;
        let mut s = vec![0.0; self.i_n];
        let mut e: Vec<Vec<f64>> = Vec::with_capacity(self.i_n);
        let mut c: Vec<DMatrix<f64>> = Vec::with_capacity(self.i_n);
        for i in 0..self.i_n {
            let b0 = self.block_start[i];
            let q = self.states[i][0].len();
            let mut m1 = vec![0.0; q];
            let mut m2 = DMatrix::zeros(q, q);
            let mut si = 0.0;
            for (x, o) in self.states[i].iter().zip(&self.offsets[i]) {
                let w = match theta {
                    Some(t) => (x
                        .iter()
                        .enumerate()
                        .map(|(k, v)| v * t[b0 + k])
                        .sum::<f64>()
                        + o)
                        .exp(),
                    None => 1.0,
                };
                si += w;
                for a in 0..q {
                    m1[a] += w * x[a];
                    for b in 0..q {
                        m2[(a, b)] += w * x[a] * x[b];
                    }
                }
            }
            let ei: Vec<f64> = m1.iter().map(|v| v / si).collect();
            let mut ci = m2 / si;
            for a in 0..q {
                for b in 0..q {
                    ci[(a, b)] -= ei[a] * ei[b];
                }
            }
            s[i] = si;
            e.push(ei);
            c.push(ci);
        }
        let mut tot = 0.0;
        let mut g = DVector::zeros(big_p);
        let mut h = DMatrix::zeros(big_p, big_p);
        let mut a_i = vec![0.0; self.i_n];
        let mut v = vec![0.0; big_p];
        let mut nzidx: Vec<usize> = Vec::with_capacity(big_p);
        for delta in 1..(1usize << self.i_n) {
            let z = self.z_row(delta, extra);
            let mut lam = 0.0;
            if let Some(t) = theta {
                lam = t[0];
                for (k, zv) in z.iter().enumerate() {
                    let col = if k < nz { 1 + k } else { self.p + k - nz };
                    lam += zv * t[col];
                }
            }
            let mut m = lam.exp();
            for i in 0..self.i_n {
                if delta >> i & 1 == 1 {
                    m *= s[i];
                }
            }
            v.iter_mut().for_each(|x| *x = 0.0);
            v[0] = 1.0;
            for (k, zv) in z.iter().enumerate() {
                let col = if k < nz { 1 + k } else { self.p + k - nz };
                v[col] = *zv;
            }
            for i in 0..self.i_n {
                if delta >> i & 1 == 1 {
                    a_i[i] += m;
                    for (k, ev) in e[i].iter().enumerate() {
                        v[self.block_start[i] + k] += *ev;
                    }
                }
            }
            tot += m;
            nzidx.clear();
            nzidx.extend((0..big_p).filter(|&k| v[k] != 0.0));
            for &a in &nzidx {
                g[a] += m * v[a];
                let mv = m * v[a];
                for &b in &nzidx {
                    h[(a, b)] += mv * v[b];
                }
            }
        }
        for i in 0..self.i_n {
            let b0 = self.block_start[i];
            let q = e[i].len();
            for a in 0..q {
                for b in 0..q {
                    h[(b0 + a, b0 + b)] += a_i[i] * c[i][(a, b)];
                }
            }
        }
        Moments { tot, g, h }
    }

    /// R-style IRLS ([`irls_r_path`]) with the columns in `active` (length p +
    /// extra.len()); the others are held at 0.
    pub fn fit(&self, active: &[bool], extra: &[Vec<f64>]) -> Result<FactoredFit> {
        let big_p = self.p + extra.len();
        let model = FactoredModel::new(self, active, extra);
        let f = irls_r_path(&model, &PoissonGlm::default())?;
        let act = &model.act;
        let mut beta = vec![0.0; big_p];
        let mut cov = DMatrix::zeros(big_p, big_p);
        for (a, &ja) in act.iter().enumerate() {
            beta[ja] = f.coefficients[a];
            for (b, &jb) in act.iter().enumerate() {
                cov[(ja, jb)] = f.covariance[(a, b)];
            }
        }
        Ok(FactoredFit {
            beta,
            cov,
            deviance: f.deviance,
            aic: f.aic(),
            df: f.df_residual,
            stop: f.stop,
            active: active.to_vec(),
        })
    }

    /// Fit with Rcapture's `neg` rule on the `tested` columns; returns the fit and the
    /// 1-based zeroed positions.
    pub fn fit_neg(
        &self,
        tested: &[usize],
        neg: bool,
        extra: &[Vec<f64>],
    ) -> Result<(FactoredFit, Vec<usize>)> {
        let mut active = vec![true; self.p + extra.len()];
        let mut fit = self.fit(&active, extra)?;
        if !fit.stop.converged() {
            return Err(Error::NotConverged {
                iterations: fit.stop.iterations(),
                reason: "the robust-design log-linear fit (IRLS, as R's glm) did not converge"
                    .into(),
            });
        }
        let mut zeroed = Vec::new();
        if neg {
            while let Some(&pos) = tested.iter().find(|&&j| active[j] && fit.beta[j] < 0.0) {
                zeroed.push(pos + 1);
                active[pos] = false;
                fit = self.fit(&active, extra)?;
            }
        }
        zeroed.sort_unstable();
        Ok((fit, zeroed))
    }

    /// Refits with extra δ-columns appended (all active) to the base active set.
    pub fn fit_extra(&self, base_active: &[bool], extra: &[Vec<f64>]) -> Result<FactoredFit> {
        let mut active = base_active[..self.p].to_vec();
        active.extend(std::iter::repeat_n(true, extra.len()));
        self.fit(&active, extra)
    }
}

/// A [`Factored`] model restricted to its active columns, with the observed histories'
/// design rows formed once: the model [`irls_r_path`] iterates on.
struct FactoredModel<'a> {
    f: &'a Factored,
    extra: &'a [Vec<f64>],
    /// Active column indices into θ (length p + extra.len()).
    act: Vec<usize>,
    /// Observed histories: full design row, count, offset.
    rows: Vec<(Vec<f64>, f64, f64)>,
    /// Σ y over the observed histories.
    n: f64,
    /// Xᵀy on the active columns.
    xty: DVector<f64>,
}

impl<'a> FactoredModel<'a> {
    fn new(f: &'a Factored, active: &[bool], extra: &'a [Vec<f64>]) -> Self {
        let big_p = f.p + extra.len();
        let act: Vec<usize> = (0..big_p).filter(|&j| active[j]).collect();
        let rows: Vec<(Vec<f64>, f64, f64)> = f
            .observed
            .iter()
            .map(|(pats, y)| {
                let (x, o) = f.obs_row(pats, extra);
                (x, *y, o)
            })
            .collect();
        let n: f64 = rows.iter().map(|r| r.1).sum();
        let mut xty = DVector::zeros(act.len());
        for (x, y, _) in &rows {
            for (a, &j) in act.iter().enumerate() {
                xty[a] += x[j] * y;
            }
        }
        FactoredModel {
            f,
            extra,
            act,
            rows,
            n,
            xty,
        }
    }

    /// θ with the active coefficients `beta` and the others 0.
    fn theta(&self, beta: &[f64]) -> Vec<f64> {
        let mut theta = vec![0.0; self.f.p + self.extra.len()];
        for (a, &j) in self.act.iter().enumerate() {
            theta[j] = beta[a];
        }
        theta
    }

    fn eta(x: &[f64], o: f64, theta: &[f64]) -> f64 {
        o + x.iter().zip(theta).map(|(a, b)| a * b).sum::<f64>()
    }

    fn restrict(&self, h: &DMatrix<f64>, g: &DVector<f64>) -> (DMatrix<f64>, DVector<f64>) {
        let q = self.act.len();
        let hs = DMatrix::from_fn(q, q, |a, b| h[(self.act[a], self.act[b])]);
        let gs = DVector::from_fn(q, |a, _| g[self.act[a]]);
        (hs, gs)
    }
}

impl IrlsModel for FactoredModel<'_> {
    type State = Moments;

    fn n_coef(&self) -> usize {
        self.act.len()
    }

    fn start_deviance(&self) -> f64 {
        let mut d = 0.0;
        for (_, y, _) in &self.rows {
            d += y * (y / (y + 0.1)).ln() + 0.1;
        }
        2.0 * (d + 0.1 * (self.f.ncells - self.rows.len() as f64))
    }

    fn evaluate(&self, beta: &[f64]) -> (Moments, f64) {
        let theta = self.theta(beta);
        let mom = self.f.moments(Some(&theta), self.extra);
        let mut d = 0.0;
        for (x, y, o) in &self.rows {
            d += y * (y.ln() - Self::eta(x, *o, &theta));
        }
        let dev = 2.0 * (d - (self.n - mom.tot));
        (mom, dev)
    }

    /// Full-rank Newton steps on the active columns. At β: XᵀWX = H and the score
    /// Xᵀy − Xᵀμ. At the start (β = 0; μ = y + 0.1, 0.1 in the unobserved cells): XᵀWX
    /// is 0.1 × the unit-μ moments plus Σ y x xᵀ over the observed cells, and XᵀWz the
    /// same with the working responses.
    fn system(&self, at: Option<(&[f64], &Moments)>) -> WlsSystem {
        let big_p = self.f.p + self.extra.len();
        match at {
            Some((_, mom)) => {
                let (h, g) = self.restrict(&mom.h, &mom.g);
                WlsSystem::Newton {
                    xtwx: h,
                    score: &self.xty - g,
                }
            }
            None => {
                let all = self.f.moments(None, self.extra);
                let c0 = 0.1 * 0.1f64.ln() - 0.1;
                let mut h1 = &all.h * 0.1;
                let mut rhs = &all.g * c0;
                if self.f.offsets.iter().flatten().any(|&o| o != 0.0) {
                    rhs -= self.f.offset_moment(self.extra) * 0.1;
                }
                for (x, y, o) in &self.rows {
                    let w = y + 0.1;
                    let add = w * (w.ln() - o) - 0.1 * (0.1f64.ln() - o);
                    for a in 0..big_p {
                        if x[a] == 0.0 {
                            continue;
                        }
                        rhs[a] += x[a] * add;
                        for b in 0..big_p {
                            h1[(a, b)] += y * x[a] * x[b];
                        }
                    }
                }
                let (xtwx, score) = self.restrict(&h1, &rhs);
                WlsSystem::Newton { xtwx, score }
            }
        }
    }

    fn summary(&self, beta: &[f64], mom: Moments) -> IrlsSummary {
        let theta = self.theta(beta);
        let mut ll = -mom.tot;
        for (x, y, o) in &self.rows {
            ll += y * Self::eta(x, *o, &theta) - ln_gamma(y + 1.0);
        }
        IrlsSummary {
            loglik: ll,
            fitted: Vec::new(),
            fitted_zero: false,
            n_cells: self.f.ncells as i64,
        }
    }
}
