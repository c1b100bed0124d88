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
#![allow(
    clippy::needless_range_loop,
    clippy::neg_cmp_op_on_partial_ord,
    clippy::redundant_guards
)]

use crate::error::{Error, Result};
use crate::glm::{RGlm, RGlmFit, StopReason};
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

    /// Fits along R's path with normal equations.
    pub fn fit(&self, settings: &RGlm) -> Result<RGlmFit> {
        let p = self.p();
        let t = self.t;
        let mut row = vec![0.0; p];
        // Sufficient statistics and constants (observed cells cached, never-seen cell added).
        let st = &self.stats;
        let mut s = st.s.clone();
        let (mut ylogy, mut lfact, mut total, mut start_dev) =
            (st.ylogy, st.lfact, st.total, st.start_dev);
        let mut n_pos = st.n_pos;
        let c0 = C0;
        let mut start_a = st.start_a.clone();
        let mut start_b = st.start_b.clone();
        if let Some(y) = self.zero_cell.filter(|&y| y > 0.0) {
            s[0] += y;
            ylogy += y * y.ln();
            lfact += ln_gamma(y + 1.0);
            total += y;
            n_pos += 1.0;
            start_dev += 2.0 * (y * (y / (y + 0.1)).ln() + 0.1);
            start_a[(0, 0)] += y;
            start_b[0] += (y + 0.1) * (y + 0.1).ln() - 0.1 - c0;
        }
        let _ = &mut row;
        start_dev += 0.2 * (self.n_cells() - n_pos);
        let zero_beta = vec![0.0; p];
        let m0 = self.moments(&zero_beta);
        start_a += &m0 * 0.1;
        start_b += m0.column(0) * c0;

        let mut beta: Vec<f64> = match &settings.start {
            Some(b) if b.len() == p => b
                .iter()
                .map(|v| if v.is_finite() { *v } else { 0.0 })
                .collect(),
            Some(b) => return Err(Error::param("start", b.len(), format!("{p} coefficients"))),
            None => vec![0.0; p],
        };
        let deviance = |beta: &[f64], mom: &DMatrix<f64>| -> f64 {
            let sb: f64 = (0..p).map(|i| s[i] * beta[i]).sum();
            2.0 * (ylogy - sb + mom[(0, 0)] - total)
        };
        let mut have_start = settings.start.is_some();
        let mut mom = if have_start {
            self.moments(&beta)
        } else {
            DMatrix::zeros(p, p)
        };
        let mut devold = if have_start {
            deviance(&beta, &mom)
        } else {
            start_dev
        };
        let mut coefold: Option<Vec<f64>> = if have_start { Some(beta.clone()) } else { None };
        let mut last_info = DMatrix::zeros(0, 0);
        let mut kept: Vec<usize> = Vec::new();
        let mut conv = false;
        let mut iterations = 0;
        let mut dev = devold;
        let mut boundary = false;
        let tol = 1e-7;
        for iter in 1..=settings.maxit {
            iterations = iter;
            let (a, b) = if !have_start {
                (start_a.clone(), start_b.clone())
            } else {
                let bv = DVector::from_column_slice(&beta);
                let xmu = mom.column(0).into_owned();
                let rhs = &mom * &bv + &s - xmu;
                (mom.clone(), rhs)
            };
            have_start = true;
            // Cholesky in column order, dropping columns with a negligible residual.
            let (sol, k, info) = chol_solve(&a, &b, tol)?;
            let mut newbeta = vec![0.0; p];
            for (i, &j) in k.iter().enumerate() {
                newbeta[j] = sol[i];
            }
            if newbeta.iter().any(|v| !v.is_finite()) {
                break;
            }
            last_info = info;
            kept = k;
            let mut m2 = self.moments(&newbeta);
            let mut d2 = deviance(&newbeta, &m2);
            if !d2.is_finite() {
                let Some(old) = coefold.clone() else {
                    return Err(Error::Numerical {
                        reason: "no valid set of coefficients has been found".into(),
                    });
                };
                let mut ii = 1;
                while !d2.is_finite() {
                    if ii > settings.maxit {
                        return Err(Error::Numerical {
                            reason: "inner loop 1; cannot correct step size".into(),
                        });
                    }
                    ii += 1;
                    for j in 0..p {
                        newbeta[j] = (newbeta[j] + old[j]) / 2.0;
                    }
                    m2 = self.moments(&newbeta);
                    d2 = deviance(&newbeta, &m2);
                }
                boundary = true;
            }
            beta = newbeta;
            mom = m2;
            dev = d2;
            if (dev - devold).abs() / (dev.abs() + 0.1) < settings.epsilon {
                conv = true;
                break;
            }
            devold = dev;
            coefold = Some(beta.clone());
        }
        if kept.is_empty() {
            return Err(Error::Numerical {
                reason: "IRLS produced no valid step".into(),
            });
        }
        let cov_k = last_info
            .clone()
            .cholesky()
            .map(|c| c.inverse())
            .or_else(|| last_info.clone().try_inverse())
            .ok_or_else(|| Error::Numerical {
                reason: "singular information matrix".into(),
            })?;
        let mut covariance = DMatrix::from_element(p, p, f64::NAN);
        for (a, &ja) in kept.iter().enumerate() {
            for (b, &jb) in kept.iter().enumerate() {
                covariance[(ja, jb)] = cov_k[(a, b)];
            }
        }
        let aliased: Vec<usize> = (0..p).filter(|j| !kept.contains(j)).collect();
        let mut coefficients = beta.clone();
        for &j in &aliased {
            coefficients[j] = f64::NAN;
        }
        let sb: f64 = (0..p).map(|i| s[i] * beta[i]).sum();
        let loglik = sb - mom[(0, 0)] - lfact;
        let rank = kept.len();
        let _ = t;
        Ok(RGlmFit {
            coefficients,
            aliased,
            covariance,
            fitted: Vec::new(),
            deviance: dev,
            loglik,
            rank,
            df_residual: self.n_cells() as i64 - rank as i64,
            stop: if conv {
                StopReason::Converged { iterations }
            } else {
                StopReason::MaxIterations { iterations }
            },
            fitted_zero: self.min_mu(&beta) < 10.0 * f64::EPSILON,
            boundary,
        })
    }

    /// Rcapture's asymptotic bias of n + exp(β₀), by enumerating the cells.
    pub fn bias(&self, f: &RGlmFit) -> Option<f64> {
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
        for code in first..(1u64 << self.t) {
            self.row(code, &mut row);
            let eta: f64 = (0..p).map(|i| row[i] * beta[i]).sum();
            let mu = eta.exp();
            for i in 0..p {
                let mut acc = 0.0;
                for j in 0..p {
                    acc += v[(i, j)] * row[j];
                }
                vx[i] = acc;
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

/// Solves A x = b by Cholesky in column order, dropping columns whose residual norm
/// falls below `tol` times their original norm (R's rank rule on normal equations).
/// Returns (solution on kept columns, kept indices, A restricted to kept columns).
fn chol_solve(
    a: &DMatrix<f64>,
    b: &DVector<f64>,
    tol: f64,
) -> Result<(Vec<f64>, Vec<usize>, DMatrix<f64>)> {
    let p = a.nrows();
    let mut kept: Vec<usize> = Vec::new();
    let mut l: Vec<Vec<f64>> = Vec::new(); // rows of L for kept columns
    for j in 0..p {
        let ajj = a[(j, j)];
        if !(ajj > 0.0) {
            continue;
        }
        let mut lrow = Vec::with_capacity(kept.len() + 1);
        for (r, &kr) in kept.iter().enumerate() {
            let mut s = a[(j, kr)];
            for c in 0..r {
                s -= lrow[c] * l[r][c];
            }
            lrow.push(s / l[r][r]);
        }
        let d = ajj - lrow.iter().map(|v| v * v).sum::<f64>();
        if d <= tol * tol * ajj || !(d.is_finite()) {
            continue;
        }
        lrow.push(d.sqrt());
        l.push(lrow);
        kept.push(j);
    }
    let r = kept.len();
    if r == 0 {
        return Err(Error::Numerical {
            reason: "no estimable column".into(),
        });
    }
    // forward then backward substitution
    let mut y = vec![0.0; r];
    for i in 0..r {
        let mut s = b[kept[i]];
        for c in 0..i {
            s -= l[i][c] * y[c];
        }
        y[i] = s / l[i][i];
    }
    let mut x = vec![0.0; r];
    for i in (0..r).rev() {
        let mut s = y[i];
        for rr in i + 1..r {
            s -= l[rr][i] * x[rr];
        }
        x[i] = s / l[i][i];
    }
    let ak = DMatrix::from_fn(r, r, |i, jj| a[(kept[i], kept[jj])]);
    Ok((x, kept, ak))
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
