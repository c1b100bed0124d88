//! The Huggins conditional log-likelihood, its gradient and information, on units grouped
//! by first-capture occasion and covariate row.
//!
//! The likelihood depends on a unit's history only through its first capture f (which
//! occasions are in the not-yet-caught state) and, linearly, through the captures y_ij.
//! Units with the same covariate row and the same f therefore collapse into one group
//! holding their number W and, per occasion, their number of captures Y_j:
//!
//! ```text
//! ℓ_g = Σ_j [ Y_j η_j − W log(1 + e^{η_j}) ] − W log(1 − Q_g)
//! ```
//! so a fit on 10⁵ units with a few categorical covariates works on a few hundred groups.
//!
//! Sums run over fixed chunks of groups in parallel and are added in chunk order, so the
//! result does not depend on the number of threads.

#![allow(clippy::needless_range_loop)] // index loops over the k×k lower triangle read best

use crate::glm::Objective;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use std::collections::HashMap;

/// Groups per parallel chunk (fixed, so that sums do not depend on the thread count).
const CHUNK: usize = 512;

/// Which parameters the model has, in coefficient order:
/// `[b] [α_1..α_τ or α] [γ (x)] [δ (z)] [β_b]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub t: usize,
    pub behaviour: bool,
    pub n_b: usize,
    pub time: bool,
    pub n_x: usize,
    pub n_z: usize,
}

impl Layout {
    fn off_a(&self) -> usize {
        usize::from(self.behaviour)
    }
    fn n_a(&self) -> usize {
        if self.time { self.t } else { 1 }
    }
    fn off_x(&self) -> usize {
        self.off_a() + self.n_a()
    }
    fn off_z(&self) -> usize {
        self.off_x() + self.n_x
    }
    fn off_bc(&self) -> usize {
        self.off_z() + self.n_z
    }
    pub fn n_params(&self) -> usize {
        self.off_bc() + self.n_b
    }
}

/// One group of identical units.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// First-capture occasion (0-based).
    pub first: usize,
    /// Number of units.
    pub weight: f64,
}

/// Units grouped by identical history and covariate values.
#[derive(Debug, Clone)]
pub(crate) struct Groups {
    pub(crate) layout: Layout,
    groups: Vec<Group>,
    /// Per group and occasion, the number of captures Y_j (row-major, t per group).
    ycount: Vec<f64>,
    x: Vec<f64>,
    b: Vec<f64>,
    z: Vec<f64>,
}

struct Acc {
    ll: f64,
    grad: Vec<f64>,
    info: Vec<f64>,
}

/// Horvitz-Thompson pieces.
pub(crate) struct Ht {
    pub n_hat: f64,
    pub var_sampling: f64,
    pub d: Vec<f64>,
    pub min_seen: f64,
}

#[inline]
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

#[inline]
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl Groups {
    /// Groups units given as columns: `histories[i]`, `freq[i]`, the individual design
    /// columns `x_cols[c][i]`, behaviour columns `b_cols[c][i]` and time-varying values
    /// `z_vals[c][i * t + j]`.
    pub(crate) fn from_columns(
        layout: Layout,
        histories: &[u64],
        freq: &[u64],
        x_cols: &[Vec<f64>],
        b_cols: &[Vec<f64>],
        z_vals: &[&[f64]],
    ) -> Groups {
        // Group by (first capture, covariate values); then order groups by that key, so
        // the result does not depend on the order of the rows.
        let t = layout.t;
        let mut map: HashMap<Vec<u64>, usize> = HashMap::new();
        // Per group: the key, the weight, Y_j.
        let mut slots: Vec<(Vec<u64>, usize, f64, Vec<f64>)> = Vec::new();
        let mut key: Vec<u64> = Vec::new();
        for (i, (&h, &f)) in histories.iter().zip(freq).enumerate() {
            if f == 0 || h == 0 {
                continue;
            }
            key.clear();
            key.push(u64::from(h.trailing_zeros()));
            key.extend(x_cols.iter().map(|c| c[i].to_bits()));
            key.extend(b_cols.iter().map(|c| c[i].to_bits()));
            for j in 0..t {
                key.extend(z_vals.iter().map(|v| v[i * t + j].to_bits()));
            }
            let g = match map.get(key.as_slice()) {
                Some(&g) => g,
                None => {
                    map.insert(key.clone(), slots.len());
                    slots.push((key.clone(), i, 0.0, vec![0.0; t]));
                    slots.len() - 1
                }
            };
            let w = f as f64;
            let slot = &mut slots[g];
            slot.2 += w;
            let mut bits = h;
            while bits != 0 {
                let j = bits.trailing_zeros() as usize;
                slot.3[j] += w;
                bits &= bits - 1;
            }
        }
        slots.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut out = Groups {
            layout,
            groups: Vec::with_capacity(slots.len()),
            ycount: Vec::with_capacity(slots.len() * t),
            x: Vec::new(),
            b: Vec::new(),
            z: Vec::new(),
        };
        for (key, i, w, y) in slots {
            out.groups.push(Group {
                first: key[0] as usize,
                weight: w,
            });
            out.ycount.extend_from_slice(&y);
            out.x.extend(x_cols.iter().map(|c| c[i]));
            out.b.extend(b_cols.iter().map(|c| c[i]));
            for j in 0..t {
                out.z.extend(z_vals.iter().map(|v| v[i * t + j]));
            }
        }
        out
    }

    /// The groups (history and weight).
    #[allow(dead_code)]
    pub(crate) fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Number of groups.
    #[allow(dead_code)]
    pub(crate) fn n_groups(&self) -> usize {
        self.groups.len()
    }

    /// Number of units, Σ weights.
    pub(crate) fn n_units(&self) -> f64 {
        self.groups.iter().map(|g| g.weight).sum()
    }

    /// Starting values: intercepts at the logit of the overall capture rate.
    pub(crate) fn start(&self) -> DVector<f64> {
        let l = &self.layout;
        let caps: f64 = self.ycount.iter().sum();
        let rate = (caps / (self.n_units() * l.t as f64)).clamp(0.02, 0.98);
        let mut th = DVector::zeros(l.n_params());
        for a in 0..l.n_a() {
            th[l.off_a() + a] = (rate / (1.0 - rate)).ln();
        }
        th
    }

    /// η of p on occasion j for group g, and the behavioural shift.
    #[inline]
    fn etas(&self, g: usize, theta: &[f64], j: usize) -> (f64, f64) {
        let l = &self.layout;
        let mut e = theta[l.off_a() + if l.time { j } else { 0 }];
        let x = &self.x[g * l.n_x..(g + 1) * l.n_x];
        for (c, v) in x.iter().enumerate() {
            e += theta[l.off_x() + c] * v;
        }
        let z = &self.z[(g * l.t + j) * l.n_z..(g * l.t + j + 1) * l.n_z];
        for (c, v) in z.iter().enumerate() {
            e += theta[l.off_z() + c] * v;
        }
        let mut shift = 0.0;
        if l.behaviour {
            shift = theta[0];
            let b = &self.b[g * l.n_b..(g + 1) * l.n_b];
            for (c, v) in b.iter().enumerate() {
                shift += theta[l.off_bc() + c] * v;
            }
        }
        (e, shift)
    }

    /// Fills `d` with the design row of logit p on occasion j (c-state adds the shift part).
    #[inline]
    fn design(&self, g: usize, j: usize, cstate: bool, d: &mut [f64]) {
        let l = &self.layout;
        d.fill(0.0);
        d[l.off_a() + if l.time { j } else { 0 }] = 1.0;
        d[l.off_x()..l.off_z()].copy_from_slice(&self.x[g * l.n_x..(g + 1) * l.n_x]);
        d[l.off_z()..l.off_bc()]
            .copy_from_slice(&self.z[(g * l.t + j) * l.n_z..(g * l.t + j + 1) * l.n_z]);
        if cstate {
            d[0] = 1.0;
            d[l.off_bc()..].copy_from_slice(&self.b[g * l.n_b..(g + 1) * l.n_b]);
        }
    }

    fn chunk_eval(&self, range: std::ops::Range<usize>, theta: &[f64], want_derivs: bool) -> Acc {
        let l = &self.layout;
        let k = l.n_params();
        let mut acc = Acc {
            ll: 0.0,
            grad: vec![0.0; if want_derivs { k } else { 0 }],
            info: vec![0.0; if want_derivs { k * k } else { 0 }],
        };
        let mut dp = vec![0.0; k];
        let mut ds = vec![0.0; k];
        let mut gsum = vec![0.0; k];
        let mut amat = vec![0.0; if want_derivs { k * k } else { 0 }];
        for g in range {
            let grp = &self.groups[g];
            let w = grp.weight;
            let mut lq = 0.0; // log Q = Σ log(1 − p_j)
            let mut ll = 0.0;
            if want_derivs {
                gsum.fill(0.0);
                amat.fill(0.0);
            }
            let yc = &self.ycount[g * l.t..(g + 1) * l.t];
            for j in 0..l.t {
                let (ep, shift) = self.etas(g, theta, j);
                let y = yc[j];
                lq -= softplus(ep);
                let cstate = l.behaviour && j > grp.first;
                let eta = if cstate { ep + shift } else { ep };
                ll += y * eta - w * softplus(eta);
                if want_derivs {
                    let p = sigmoid(ep);
                    self.design(g, j, false, &mut dp);
                    for a in 0..k {
                        gsum[a] += p * dp[a];
                    }
                    let pq = p * (1.0 - p);
                    // Denominator curvature term Σ p(1−p) D_p D_pᵀ (scaled by r later).
                    for a in 0..k {
                        if dp[a] == 0.0 {
                            continue;
                        }
                        let s = pq * dp[a];
                        for bb in 0..=a {
                            amat[a * k + bb] += s * dp[bb];
                        }
                    }
                    let pi = if cstate { sigmoid(eta) } else { p };
                    let dsr: &[f64] = if cstate {
                        self.design(g, j, true, &mut ds);
                        &ds
                    } else {
                        &dp
                    };
                    let resid = y - w * pi;
                    let wpi = w * pi * (1.0 - pi);
                    for a in 0..k {
                        if dsr[a] == 0.0 {
                            continue;
                        }
                        acc.grad[a] += resid * dsr[a];
                        let s = wpi * dsr[a];
                        for bb in 0..=a {
                            acc.info[a * k + bb] += s * dsr[bb];
                        }
                    }
                }
            }
            // log(1 − Q) with Q = exp(lq).
            let log_seen = (-lq.exp_m1()).ln();
            acc.ll += ll - w * log_seen;
            if want_derivs {
                let q = lq.exp();
                let one_m_q = -lq.exp_m1();
                let r = q / one_m_q;
                let r2 = r / one_m_q;
                for a in 0..k {
                    acc.grad[a] -= w * r * gsum[a];
                    for bb in 0..=a {
                        acc.info[a * k + bb] +=
                            w * (r * amat[a * k + bb] - r2 * gsum[a] * gsum[bb]);
                    }
                }
            }
        }
        acc
    }

    fn eval_all(&self, theta: &[f64], want_derivs: bool) -> Acc {
        let k = self.layout.n_params();
        let n = self.groups.len();
        let chunks: Vec<std::ops::Range<usize>> = (0..n)
            .step_by(CHUNK)
            .map(|s| s..(s + CHUNK).min(n))
            .collect();
        let parts: Vec<Acc> = if chunks.len() > 1 {
            chunks
                .into_par_iter()
                .map(|r| self.chunk_eval(r, theta, want_derivs))
                .collect()
        } else {
            chunks
                .into_iter()
                .map(|r| self.chunk_eval(r, theta, want_derivs))
                .collect()
        };
        let mut tot = Acc {
            ll: 0.0,
            grad: vec![0.0; if want_derivs { k } else { 0 }],
            info: vec![0.0; if want_derivs { k * k } else { 0 }],
        };
        for p in parts {
            tot.ll += p.ll;
            for (a, b) in tot.grad.iter_mut().zip(&p.grad) {
                *a += b;
            }
            for (a, b) in tot.info.iter_mut().zip(&p.info) {
                *a += b;
            }
        }
        tot
    }

    /// Log-likelihood, gradient and Hessian (= −information).
    pub(crate) fn eval(&self, theta: &DVector<f64>) -> (f64, DVector<f64>, DMatrix<f64>) {
        let k = self.layout.n_params();
        let acc = self.eval_all(theta.as_slice(), true);
        let mut h = DMatrix::zeros(k, k);
        for a in 0..k {
            for b in 0..=a {
                h[(a, b)] = -acc.info[a * k + b];
                h[(b, a)] = -acc.info[a * k + b];
            }
        }
        (acc.ll, DVector::from_vec(acc.grad), h)
    }

    /// Expected information under the conditional model (the state of occasion j — not yet
    /// caught or caught before — averaged over the first-capture time given the unit is
    /// seen). Equal to the observed information for models without a behavioural effect.
    ///
    /// ```text
    /// I = Σ_i w_i [ Σ_j ( P_ij c(1−c) D_c D_cᵀ + (1 − P_ij) p(1−p) D_p D_pᵀ ) + r A − r/(1−Q) g gᵀ ]
    /// P_ij = (1 − Π_{l<j}(1 − p_il)) / (1 − Q_i)   (caught before j, given seen)
    /// ```
    pub(crate) fn expected_info(&self, theta: &DVector<f64>) -> DMatrix<f64> {
        let l = &self.layout;
        let k = l.n_params();
        let th = theta.as_slice();
        let mut info = DMatrix::zeros(k, k);
        let mut dp = vec![0.0; k];
        let mut dc = vec![0.0; k];
        for (g, grp) in self.groups.iter().enumerate() {
            let w = grp.weight;
            let mut lq = 0.0;
            for j in 0..l.t {
                lq -= softplus(self.etas(g, th, j).0);
            }
            let q = lq.exp();
            let seen = -lq.exp_m1();
            let r = q / seen;
            let r2 = r / seen;
            let mut gsum = DVector::zeros(k);
            let mut before: f64 = 0.0; // log Π_{l<j}(1 − p_l)
            for j in 0..l.t {
                let (ep, shift) = self.etas(g, th, j);
                let p = sigmoid(ep);
                self.design(g, j, false, &mut dp);
                let dpv = DVector::from_column_slice(&dp);
                let pc = if l.behaviour {
                    -before.exp_m1() / seen
                } else {
                    0.0
                };
                info += &dpv * dpv.transpose() * (w * (1.0 - pc + r) * p * (1.0 - p));
                if l.behaviour {
                    let c = sigmoid(ep + shift);
                    self.design(g, j, true, &mut dc);
                    let dcv = DVector::from_column_slice(&dc);
                    info += &dcv * dcv.transpose() * (w * pc * c * (1.0 - c));
                }
                gsum += dpv * p;
                before -= softplus(ep);
            }
            info -= &gsum * gsum.transpose() * (w * r2);
        }
        info
    }

    /// N̂ = Σ w/(1 − Q), the sampling variance Σ w Q/(1 − Q)², and d = ∂N̂/∂θ.
    pub(crate) fn horvitz_thompson(&self, theta: &DVector<f64>) -> Ht {
        let l = &self.layout;
        let k = l.n_params();
        let th = theta.as_slice();
        let mut out = Ht {
            n_hat: 0.0,
            var_sampling: 0.0,
            d: vec![0.0; k],
            min_seen: f64::INFINITY,
        };
        let mut dp = vec![0.0; k];
        let mut gsum = vec![0.0; k];
        for (g, grp) in self.groups.iter().enumerate() {
            let mut lq = 0.0;
            gsum.fill(0.0);
            for j in 0..l.t {
                let (ep, _) = self.etas(g, th, j);
                lq -= softplus(ep);
                let p = sigmoid(ep);
                self.design(g, j, false, &mut dp);
                for a in 0..k {
                    gsum[a] += p * dp[a];
                }
            }
            let q = lq.exp();
            let seen = -lq.exp_m1();
            out.min_seen = out.min_seen.min(seen);
            let w = grp.weight;
            out.n_hat += w / seen;
            let s = w * q / (seen * seen);
            out.var_sampling += s;
            for a in 0..k {
                out.d[a] -= s * gsum[a];
            }
        }
        out
    }

    /// Smallest and largest fitted capture probability (p and, where used, c).
    pub(crate) fn prob_range(&self, theta: &DVector<f64>) -> (f64, f64) {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for g in 0..self.groups.len() {
            for j in 0..self.layout.t {
                let (ep, shift) = self.etas(g, theta.as_slice(), j);
                for e in [ep, ep + shift] {
                    let p = sigmoid(e);
                    lo = lo.min(p);
                    hi = hi.max(p);
                }
            }
        }
        (lo, hi)
    }
}

impl Objective for Groups {
    fn eval(&self, theta: &DVector<f64>) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
        let (v, g, h) = Groups::eval(self, theta);
        (v.is_finite() && g.iter().all(|x| x.is_finite())).then_some((v, g, h))
    }

    fn value(&self, theta: &DVector<f64>) -> Option<f64> {
        let v = self.eval_all(theta.as_slice(), false).ll;
        v.is_finite().then_some(v)
    }
}
