//! Mt and Mth models fitted from sufficient statistics, without forming the 2^t-row
//! design.
//!
//! With log μ_ω = β₀ + Σ_j β_j ω_j + Σ_c τ_c h_c(k(ω)), every sum over cells that IRLS
//! needs is a sum over k of exp(β₀ + Σ τ_c h_c(k)) times an elementary symmetric
//! polynomial of x_j = exp(β_j):
//!
//! ```text
//! Σ_{|ω|=k} Π_j x_j^{ω_j}              = e_k(x)
//! Σ_{|ω|=k} ω_j Π x^ω                  = x_j e_{k−1}(x without j)
//! Σ_{|ω|=k} ω_j ω_l Π x^ω  (j ≠ l)     = x_j x_l e_{k−2}(x without j, l)
//! ```
//! so one IRLS step costs O(t⁴) instead of O(2^t p²). The step is R's weighted least
//! squares step written as normal equations, along R's path (start μ = y + 0.1 per cell,
//! R's stopping rule, covariance from the last step's weights).
#![allow(clippy::needless_range_loop)]

use crate::error::Result;
use crate::glm::{GlmFit, IrlsModel, IrlsSummary, PoissonGlm, WlsSystem, irls_r_path};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

/// Cells of an Mt/Mth model (and optionally the never-seen cell, for profiles).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProductCounts {
    pub t: usize,
    /// Heterogeneity columns: values h_c(k) for k = 0..=t (h_c(0) = 0).
    pub het: Vec<Vec<f64>>,
    /// Observed cells with positive counts (code ≠ 0).
    pub obs: Vec<(u64, f64)>,
    /// Count of the never-seen cell, when it is part of the fit.
    pub zero_cell: Option<f64>,
    /// Statistics of the observed cells (without the never-seen cell).
    stats: ObsStats,
}

/// Per-fit constants from the observed cells: X'y, Σ y ln y, Σ ln y!, Σ y, R's
/// starting system and deviance.
#[derive(Debug, Clone, PartialEq)]
struct ObsStats {
    s: DVector<f64>,
    ylogy: f64,
    lfact: f64,
    total: f64,
    n_pos: f64,
    start_dev: f64,
    start_a: DMatrix<f64>,
    start_b: DVector<f64>,
}

const C0: f64 = 0.1 * -std::f64::consts::LN_10 - 0.1;

/// Elementary symmetric polynomials of `xs` leaving out indices `s1` and `s2`.
fn esp_skip(xs: &[f64], s1: usize, s2: usize, out: &mut [f64]) {
    for v in out.iter_mut() {
        *v = 0.0;
    }
    out[0] = 1.0;
    let mut len = 0;
    for (i, &x) in xs.iter().enumerate() {
        if i == s1 || i == s2 {
            continue;
        }
        len += 1;
        for k in (1..=len.min(out.len() - 1)).rev() {
            out[k] += x * out[k - 1];
        }
    }
}

fn esp(xs: &[f64], out: &mut [f64]) {
    for v in out.iter_mut() {
        *v = 0.0;
    }
    out[0] = 1.0;
    let mut len = 0;
    for &x in xs {
        len += 1;
        for k in (1..=len.min(out.len() - 1)).rev() {
            out[k] += x * out[k - 1];
        }
    }
}

impl ProductCounts {
    pub fn new(t: usize, het: Vec<Vec<f64>>, obs: Vec<(u64, f64)>) -> Self {
        let mut pc = ProductCounts {
            t,
            het,
            obs,
            zero_cell: None,
            stats: ObsStats {
                s: DVector::zeros(0),
                ylogy: 0.0,
                lfact: 0.0,
                total: 0.0,
                n_pos: 0.0,
                start_dev: 0.0,
                start_a: DMatrix::zeros(0, 0),
                start_b: DVector::zeros(0),
            },
        };
        pc.prepare();
        pc
    }

    fn prepare(&mut self) {
        let p = self.p();
        let mut row = vec![0.0; p];
        let mut st = ObsStats {
            s: DVector::zeros(p),
            ylogy: 0.0,
            lfact: 0.0,
            total: 0.0,
            n_pos: 0.0,
            start_dev: 0.0,
            start_a: DMatrix::zeros(p, p),
            start_b: DVector::zeros(p),
        };
        for &(code, y) in &self.obs {
            if y <= 0.0 {
                continue;
            }
            self.row(code, &mut row);
            let wz = (y + 0.1) * (y + 0.1).ln() - 0.1 - C0;
            for a in 0..p {
                if row[a] == 0.0 {
                    continue;
                }
                st.s[a] += y * row[a];
                st.start_b[a] += wz * row[a];
                for b in 0..=a {
                    st.start_a[(a, b)] += y * row[a] * row[b];
                }
            }
            st.ylogy += y * y.ln();
            st.lfact += ln_gamma(y + 1.0);
            st.total += y;
            st.n_pos += 1.0;
            st.start_dev += 2.0 * (y * (y / (y + 0.1)).ln() + 0.1);
        }
        for a in 0..p {
            for b in 0..a {
                st.start_a[(b, a)] = st.start_a[(a, b)];
            }
        }
        self.stats = st;
    }

    pub fn p(&self) -> usize {
        1 + self.t + self.het.len()
    }

    fn row(&self, code: u64, out: &mut [f64]) {
        let k = code.count_ones() as usize;
        out[0] = 1.0;
        for j in 0..self.t {
            out[1 + j] = (code >> j & 1) as f64;
        }
        for (c, h) in self.het.iter().enumerate() {
            out[1 + self.t + c] = h[k];
        }
    }

    pub fn n_cells(&self) -> f64 {
        ((1u64 << self.t) - 1) as f64 + if self.zero_cell.is_some() { 1.0 } else { 0.0 }
    }

    /// Σ μ x xᵀ over all cells at β (μ = exp(Xβ)); returns the matrix (its first
    /// column is Σ μ x).
    fn moments(&self, beta: &[f64]) -> DMatrix<f64> {
        let t = self.t;
        let p = self.p();
        let x: Vec<f64> = (0..t).map(|j| beta[1 + j].exp()).collect();
        let kmin = if self.zero_cell.is_some() { 0 } else { 1 };
        let g: Vec<f64> = (0..=t)
            .map(|k| {
                let mut e = beta[0];
                for (c, h) in self.het.iter().enumerate() {
                    e += beta[1 + t + c] * h[k];
                }
                e.exp()
            })
            .collect();
        let mut e_all = vec![0.0; t + 1];
        esp(&x, &mut e_all);
        // M_k = g_k e_k ; A_kj = g_k x_j e_{k-1}(¬j) ; B_kjl = g_k x_j x_l e_{k-2}(¬j,l)
        let mut m_k = vec![0.0; t + 1];
        for k in kmin..=t {
            m_k[k] = g[k] * e_all[k];
        }
        let mut a = vec![0.0; t * (t + 1)];
        let mut buf = vec![0.0; t + 1];
        for j in 0..t {
            esp_skip(&x, j, usize::MAX, &mut buf[..t]);
            for k in 1..=t {
                a[j * (t + 1) + k] = g[k] * x[j] * buf[k - 1];
            }
        }
        let mut mom = DMatrix::zeros(p, p);
        let hc = self.het.len();
        // intercept and heterogeneity block
        for k in kmin..=t {
            mom[(0, 0)] += m_k[k];
            for c in 0..hc {
                let hv = self.het[c][k];
                mom[(0, 1 + t + c)] += hv * m_k[k];
                for d in 0..=c {
                    mom[(1 + t + c, 1 + t + d)] += hv * self.het[d][k] * m_k[k];
                }
            }
        }
        for j in 0..t {
            let mut s = 0.0;
            for k in 1..=t {
                let ajk = a[j * (t + 1) + k];
                s += ajk;
                for c in 0..hc {
                    mom[(1 + t + c, 1 + j)] += self.het[c][k] * ajk;
                }
            }
            mom[(0, 1 + j)] = s;
            mom[(1 + j, 1 + j)] = s;
        }
        if t >= 2 {
            let mut buf2 = vec![0.0; t.max(2) - 1];
            for j in 0..t {
                for l in 0..j {
                    esp_skip(&x, j, l, &mut buf2);
                    let mut s = 0.0;
                    for k in 2..=t {
                        s += g[k] * x[j] * x[l] * buf2[k - 2];
                    }
                    mom[(1 + j, 1 + l)] = s;
                }
            }
        }
        // symmetrise (lower ← upper for the blocks filled above the diagonal)
        for i in 0..p {
            for jj in 0..i {
                let v = mom[(i, jj)] + mom[(jj, i)];
                mom[(i, jj)] = v;
                mom[(jj, i)] = v;
            }
        }
        mom
    }

    /// Smallest fitted cell mean (for R's "fitted rates numerically 0" check).
    fn min_mu(&self, beta: &[f64]) -> f64 {
        let t = self.t;
        let mut xs: Vec<f64> = (0..t).map(|j| beta[1 + j]).collect();
        xs.sort_by(|a, b| a.total_cmp(b));
        let mut best = f64::INFINITY;
        let mut cum = 0.0;
        for k in 1..=t {
            cum += xs[k - 1];
            let mut e = beta[0] + cum;
            for (c, h) in self.het.iter().enumerate() {
                e += beta[1 + t + c] * h[k];
            }
            best = best.min(e.exp());
        }
        best
    }

    /// Fits along R's path ([`irls_r_path`]) with normal equations.
    pub fn fit(&self, settings: &PoissonGlm) -> Result<GlmFit> {
        irls_r_path(&ProductFit::new(self), settings)
    }

    /// Rcapture's asymptotic bias of n + exp(β₀), by enumerating the cells.
    pub fn bias(&self, f: &GlmFit) -> Option<f64> {
        if !f.aliased.is_empty() || self.t > 24 {
            return None;
        }
        let p = self.p();
        let v = &f.covariance;
        let beta = &f.coefficients;
        let mut psi = DVector::zeros(p);
        let mut row = vec![0.0; p];
        let first = if self.zero_cell.is_some() { 0u64 } else { 1 };
        let mut vx = vec![0.0; p];
        // V x accumulated column by column (contiguous in V's column-major storage, so
        // it vectorises; each vx[i] still sums over j in order, as V·x row by row).
        let vs = v.as_slice();
        for code in first..(1u64 << self.t) {
            self.row(code, &mut row);
            let eta: f64 = (0..p).map(|i| row[i] * beta[i]).sum();
            let mu = eta.exp();
            vx.fill(0.0);
            for (j, col) in vs.chunks_exact(p).enumerate() {
                let xj = row[j];
                for (acc, &vij) in vx.iter_mut().zip(col) {
                    *acc += vij * xj;
                }
            }
            let q: f64 = (0..p).map(|i| vx[i] * row[i]).sum();
            for i in 0..p {
                psi[i] += mu * q * row[i];
            }
        }
        psi[0] -= 1.0;
        let vec1 = -(v * psi);
        let b = 0.5 * beta[0].exp() * vec1[0];
        b.is_finite().then_some(b)
    }

    /// Removes coefficient column j (a heterogeneity column).
    pub fn drop_column(&mut self, j: usize) {
        let c = j - 1 - self.t;
        self.het.remove(c);
        self.prepare();
    }
}

/// A [`ProductCounts`] with the never-seen cell (when part of the fit) folded into the
/// sufficient statistics and R's starting system: the model [`irls_r_path`] iterates on.
struct ProductFit<'a> {
    pc: &'a ProductCounts,
    s: DVector<f64>,
    ylogy: f64,
    lfact: f64,
    total: f64,
    start_dev: f64,
    start_a: DMatrix<f64>,
    start_b: DVector<f64>,
}

impl<'a> ProductFit<'a> {
    fn new(pc: &'a ProductCounts) -> Self {
        let st = &pc.stats;
        let mut f = ProductFit {
            pc,
            s: st.s.clone(),
            ylogy: st.ylogy,
            lfact: st.lfact,
            total: st.total,
            start_dev: st.start_dev,
            start_a: st.start_a.clone(),
            start_b: st.start_b.clone(),
        };
        let mut n_pos = st.n_pos;
        if let Some(y) = pc.zero_cell.filter(|&y| y > 0.0) {
            f.s[0] += y;
            f.ylogy += y * y.ln();
            f.lfact += ln_gamma(y + 1.0);
            f.total += y;
            n_pos += 1.0;
            f.start_dev += 2.0 * (y * (y / (y + 0.1)).ln() + 0.1);
            f.start_a[(0, 0)] += y;
            f.start_b[0] += (y + 0.1) * (y + 0.1).ln() - 0.1 - C0;
        }
        f.start_dev += 0.2 * (pc.n_cells() - n_pos);
        let m0 = pc.moments(&vec![0.0; pc.p()]);
        f.start_a += &m0 * 0.1;
        f.start_b += m0.column(0) * C0;
        f
    }
}

impl IrlsModel for ProductFit<'_> {
    /// Σ μ x xᵀ over all cells at β.
    type State = DMatrix<f64>;

    fn n_coef(&self) -> usize {
        self.pc.p()
    }

    fn start_deviance(&self) -> f64 {
        self.start_dev
    }

    fn evaluate(&self, beta: &[f64]) -> (DMatrix<f64>, f64) {
        let mom = self.pc.moments(beta);
        let sb: f64 = (0..beta.len()).map(|i| self.s[i] * beta[i]).sum();
        let dev = 2.0 * (self.ylogy - sb + mom[(0, 0)] - self.total);
        (mom, dev)
    }

    /// XᵀWX = Σ μ x xᵀ and XᵀWz = XᵀWX β + Xᵀy − Xᵀμ.
    fn system(&self, at: Option<(&[f64], &DMatrix<f64>)>) -> WlsSystem {
        match at {
            None => WlsSystem::Normal {
                xtwx: self.start_a.clone(),
                xtwz: self.start_b.clone(),
            },
            Some((beta, mom)) => {
                let bv = DVector::from_column_slice(beta);
                let xmu = mom.column(0).into_owned();
                let rhs = mom * &bv + &self.s - xmu;
                WlsSystem::Normal {
                    xtwx: mom.clone(),
                    xtwz: rhs,
                }
            }
        }
    }

    fn summary(&self, beta: &[f64], mom: DMatrix<f64>) -> IrlsSummary {
        let sb: f64 = (0..beta.len()).map(|i| self.s[i] * beta[i]).sum();
        IrlsSummary {
            loglik: sb - mom[(0, 0)] - self.lfact,
            fitted: Vec::new(),
            fitted_zero: self.pc.min_mu(beta) < 10.0 * f64::EPSILON,
            n_cells: self.pc.n_cells() as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_match_enumeration() {
        let t = 5;
        let het = vec![
            (0..=t)
                .map(|k| (k as f64) * (k as f64) / 2.0)
                .collect::<Vec<f64>>(),
        ];
        let mut pc = ProductCounts::new(t, het, vec![(3, 4.0), (31, 1.0)]);
        pc.zero_cell = Some(7.0);
        let beta = [0.3, -0.5, 0.2, -1.0, 0.7, 0.1, -0.2];
        let m = pc.moments(&beta);
        let p = pc.p();
        let mut want: DMatrix<f64> = DMatrix::zeros(p, p);
        let mut row = vec![0.0; p];
        for code in 0..(1u64 << t) {
            pc.row(code, &mut row);
            let mu = (0..p).map(|i| row[i] * beta[i]).sum::<f64>().exp();
            for a in 0..p {
                for b in 0..p {
                    want[(a, b)] += mu * row[a] * row[b];
                }
            }
        }
        for a in 0..p {
            for b in 0..p {
                assert!(
                    (m[(a, b)] - want[(a, b)]).abs() < 1e-10 * want[(a, b)].abs().max(1.0),
                    "{a},{b}"
                );
            }
        }
    }

    #[test]
    fn esp_of_small_list() {
        let mut out = [0.0; 4];
        esp(&[1.0, 2.0, 3.0], &mut out);
        assert_eq!(out, [1.0, 6.0, 11.0, 6.0]);
    }
}
