//! Poisson log-linear fits on *grouped* cells, following R's `glm.fit` path step by step.
//!
//! Many capture-recapture designs give identical design rows to many cells (M0 and the
//! Mh models depend on a history only through its number of captures; Mb through the
//! first capture and the number of captures; the `.0` models are already grouped). A
//! weighted least-squares problem whose rows repeat can be solved on one row per group
//! with the weights summed and the working responses averaged, so IRLS costs
//! O(groups · p²) instead of O(cells · p²).
//!
//! The path is R's: start from μ = y + 0.1 *per cell*, stop when
//! `|dev − dev_old| / (|dev| + 0.1) < ε` (ε = 1e-8, at most 25 iterations unless told
//! otherwise), report the covariance from the QR factor of the last weighted
//! least-squares step, floor fitted values at machine epsilon. This is what makes
//! figures printed by R packages reproducible to 1e-6 and beyond, including those of fits
//! that R stopped early.
#![allow(
    clippy::needless_range_loop,
    clippy::neg_cmp_op_on_partial_ord,
    clippy::redundant_guards
)]

use super::StopReason;
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

/// A grouped Poisson response: groups of cells that share a design row and offset.
///
/// ```text
/// group g:  m_g cells,  design row x_g,  offset o_g,  counts y_{g,1..m_g}
/// log μ_{g,i} = o_g + x_gᵀβ   for every cell i of the group
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedCounts {
    /// Design, one row per group (no implicit intercept).
    pub x: DMatrix<f64>,
    /// Offset per group.
    pub offset: Vec<f64>,
    /// Number of cells per group.
    pub cells: Vec<f64>,
    /// Σ y over the cells of each group.
    pub y_sum: Vec<f64>,
    /// Σ [(y + 0.1)·(ln(y + 0.1) − o) − 0.1] per group (R's first working response × weight).
    pub start_wz: Vec<f64>,
    /// Σ (y + 0.1) per group (R's first weights).
    pub start_w: Vec<f64>,
    /// Σ over all cells of y ln y.
    pub ylogy: f64,
    /// Σ over all cells of ln y!.
    pub lfact: f64,
    /// Deviance of the starting values μ = y + 0.1.
    pub start_dev: f64,
}

impl GroupedCounts {
    /// Builds groups from a design with one row per group and, per group, the list of
    /// cell counts it holds (`counts[g]`; zero cells may be given as a count of zeros:
    /// `zeros[g]` extra cells with y = 0).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for mismatched lengths or negative/non-finite counts.
    pub fn new(
        x: DMatrix<f64>,
        offset: Vec<f64>,
        counts: &[Vec<f64>],
        zeros: &[f64],
    ) -> Result<Self> {
        let g = x.nrows();
        if offset.len() != g || counts.len() != g || zeros.len() != g {
            return Err(Error::invalid(format!(
                "grouped counts: {g} design rows, {} offsets, {} count lists, {} zero counts",
                offset.len(),
                counts.len(),
                zeros.len()
            )));
        }
        let mut s = GroupedCounts {
            x,
            offset,
            cells: vec![0.0; g],
            y_sum: vec![0.0; g],
            start_wz: vec![0.0; g],
            start_w: vec![0.0; g],
            ylogy: 0.0,
            lfact: 0.0,
            start_dev: 0.0,
        };
        for gi in 0..g {
            let z = zeros[gi];
            if !(z.is_finite() && z >= 0.0) {
                return Err(Error::invalid_row(
                    gi,
                    "number of empty cells is not a count",
                ));
            }
            s.add_cells(gi, z, 0.0);
            for &y in &counts[gi] {
                if !(y.is_finite() && y >= 0.0) {
                    return Err(Error::invalid_row(gi, format!("count {y} is not a count")));
                }
                s.add_cells(gi, 1.0, y);
            }
        }
        Ok(s)
    }

    /// Adds `m` cells holding count `y` each to group `g`.
    pub fn add_cells(&mut self, g: usize, m: f64, y: f64) {
        if m == 0.0 {
            return;
        }
        let o = self.offset[g];
        let y1 = y + 0.1;
        let ly1 = y1.ln();
        self.cells[g] += m;
        self.y_sum[g] += m * y;
        self.start_w[g] += m * y1;
        self.start_wz[g] += m * (y1 * (ly1 - o) - 0.1);
        if y > 0.0 {
            let ly = y.ln();
            self.ylogy += m * y * ly;
            self.lfact += m * ln_gamma(y + 1.0);
            self.start_dev += m * 2.0 * (y * (ly - ly1) + 0.1);
        } else {
            self.start_dev += m * 2.0 * 0.1;
        }
    }

    /// Number of cells.
    pub fn n_cells(&self) -> f64 {
        self.cells.iter().sum()
    }

    /// Total count.
    pub fn total(&self) -> f64 {
        self.y_sum.iter().sum()
    }
}

/// Settings of the R-path fit.
#[derive(Debug, Clone, PartialEq)]
pub struct RGlm {
    /// R's `glm.control(epsilon)`: relative deviance change at which to stop.
    pub epsilon: f64,
    /// R's `glm.control(maxit)`.
    pub maxit: usize,
    /// Starting coefficients (R's `start`); `None` starts from μ = y + 0.1.
    pub start: Option<Vec<f64>>,
}

impl Default for RGlm {
    fn default() -> Self {
        RGlm {
            epsilon: 1e-8,
            maxit: 25,
            start: None,
        }
    }
}

/// The result of [`RGlm::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct RGlmFit {
    /// Coefficients (NaN for aliased columns).
    pub coefficients: Vec<f64>,
    /// Aliased column indices.
    pub aliased: Vec<usize>,
    /// Unscaled covariance (R's `vcov`), full size with NaN rows/columns for aliased
    /// coefficients.
    pub covariance: DMatrix<f64>,
    /// Fitted mean of each cell of each group.
    pub fitted: Vec<f64>,
    /// Deviance.
    pub deviance: f64,
    /// Poisson log-likelihood Σ [y ln μ − μ − ln y!].
    pub loglik: f64,
    /// Rank.
    pub rank: usize,
    /// Residual degrees of freedom: cells − rank.
    pub df_residual: i64,
    /// Why the iteration stopped.
    pub stop: StopReason,
    /// Whether some fitted value fell below 10·ε (R: "fitted rates numerically 0").
    pub fitted_zero: bool,
    /// Whether step-halving was needed (R's `boundary`).
    pub boundary: bool,
}

impl RGlmFit {
    /// AIC = −2 log L + 2 rank (R's `glm()$aic`).
    pub fn aic(&self) -> f64 {
        -2.0 * self.loglik + 2.0 * self.rank as f64
    }
}

/// Householder QR with R's limited column pivoting (LINPACK `dqrdc2`): a column whose
/// remaining norm falls below `tol` times its original norm is moved to the end.
/// Returns (R factor of the kept columns, kept column indices, Qᵀb).
fn qr_solve(a: &mut DMatrix<f64>, b: &mut DVector<f64>, tol: f64) -> (DMatrix<f64>, Vec<usize>) {
    let (n, p) = a.shape();
    let orig: Vec<f64> = (0..p).map(|j| a.column(j).norm()).collect();
    let mut kept: Vec<usize> = Vec::with_capacity(p);
    let mut k = 0; // next pivot row
    for j in 0..p {
        if k >= n {
            break;
        }
        let norm = a.view((k, j), (n - k, 1)).norm();
        if orig[j] == 0.0 || norm < tol * orig[j] || norm == 0.0 {
            continue;
        }
        // Householder vector for column j, rows k..n.
        let alpha = if a[(k, j)] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..n).map(|i| a[(i, j)]).collect();
        v[0] -= alpha;
        let vnorm2: f64 = v.iter().map(|x| x * x).sum();
        if vnorm2 > 0.0 {
            for jj in j..p {
                let d: f64 = (k..n).map(|i| v[i - k] * a[(i, jj)]).sum::<f64>() * 2.0 / vnorm2;
                for i in k..n {
                    a[(i, jj)] -= d * v[i - k];
                }
            }
            let d: f64 = (k..n).map(|i| v[i - k] * b[i]).sum::<f64>() * 2.0 / vnorm2;
            for i in k..n {
                b[i] -= d * v[i - k];
            }
        }
        kept.push(j);
        k += 1;
    }
    let r = kept.len();
    let mut rm = DMatrix::zeros(r, r);
    for (row, _) in kept.iter().enumerate() {
        for (col, &jc) in kept.iter().enumerate() {
            if col >= row {
                rm[(row, col)] = a[(row, jc)];
            }
        }
    }
    (rm, kept)
}

fn back_solve(r: &DMatrix<f64>, b: &[f64]) -> Vec<f64> {
    let k = r.nrows();
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = b[i];
        for j in i + 1..k {
            s -= r[(i, j)] * x[j];
        }
        x[i] = s / r[(i, i)];
    }
    x
}

/// (RᵀR)⁻¹ for upper-triangular R (R's `chol2inv`).
fn chol2inv(r: &DMatrix<f64>) -> DMatrix<f64> {
    let k = r.nrows();
    let mut rinv = DMatrix::zeros(k, k);
    for c in 0..k {
        let mut e = vec![0.0; k];
        e[c] = 1.0;
        let col = back_solve(r, &e);
        for i in 0..k {
            rinv[(i, c)] = col[i];
        }
    }
    &rinv * rinv.transpose()
}

const MU_FLOOR: f64 = f64::EPSILON;

impl RGlm {
    /// R's defaults (ε = 1e-8, 25 iterations).
    pub fn params() -> Self {
        Self::default()
    }

    /// Sets ε.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }

    /// Sets the iteration cap.
    pub fn maxit(mut self, m: usize) -> Self {
        self.maxit = m;
        self
    }

    /// Sets starting coefficients.
    pub fn start(mut self, b: Vec<f64>) -> Self {
        self.start = Some(b);
        self
    }

    fn eval(&self, d: &GroupedCounts, beta: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
        let g = d.x.nrows();
        let mut eta = vec![0.0; g];
        let mut mu = vec![0.0; g];
        let mut dev_lin = 0.0; // Σ Y log μ
        let mut mu_tot = 0.0;
        for i in 0..g {
            let mut e = d.offset[i];
            for (j, b) in beta.iter().enumerate() {
                if *b != 0.0 {
                    e += d.x[(i, j)] * b;
                }
            }
            eta[i] = e;
            let m = e.exp().max(MU_FLOOR);
            mu[i] = m;
            if d.y_sum[i] > 0.0 {
                dev_lin += d.y_sum[i] * m.ln();
            }
            mu_tot += d.cells[i] * m;
        }
        let dev = 2.0 * (d.ylogy - dev_lin - d.total() + mu_tot);
        (eta, mu, dev)
    }

    /// Fits the grouped Poisson model along R's `glm.fit` path.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad ε, iteration cap or start length;
    /// [`Error::Numerical`] when no finite deviance can be reached (R: "inner loop 1;
    /// cannot correct step size") or the design has no estimable column.
    pub fn fit(&self, d: &GroupedCounts) -> Result<RGlmFit> {
        let (g, p) = d.x.shape();
        if !(self.epsilon > 0.0) || self.maxit == 0 {
            return Err(Error::param(
                "epsilon/maxit",
                format!("{}/{}", self.epsilon, self.maxit),
                "positive",
            ));
        }
        let tol = (1e-7f64).min(self.epsilon / 1000.0);
        let mut beta = vec![0.0; p];
        let mut coefold: Option<Vec<f64>> = None;
        let (mut eta, mut mu, mut devold);
        match &self.start {
            Some(s) => {
                if s.len() != p {
                    return Err(Error::param("start", s.len(), format!("{p} coefficients")));
                }
                beta = s
                    .iter()
                    .map(|v| if v.is_finite() { *v } else { 0.0 })
                    .collect();
                let e = self.eval(d, &beta);
                eta = e.0;
                mu = e.1;
                devold = e.2;
                coefold = Some(beta.clone());
            }
            None => {
                eta = Vec::new();
                mu = Vec::new();
                devold = d.start_dev;
            }
        }
        let mut conv = false;
        let mut boundary = false;
        let mut iterations = 0;
        let mut last_r = DMatrix::zeros(0, 0);
        let mut kept: Vec<usize> = Vec::new();
        let mut dev = devold;
        let mut a = DMatrix::zeros(g, p);
        let mut b = DVector::zeros(g);
        for iter in 1..=self.maxit {
            iterations = iter;
            // Weighted least squares system on groups.
            a.fill(0.0);
            b.fill(0.0);
            for i in 0..g {
                let (w, wz) = if eta.is_empty() {
                    (d.start_w[i], d.start_wz[i])
                } else {
                    let w = d.cells[i] * mu[i];
                    let z = eta[i] - d.offset[i]
                        + (d.y_sum[i] / d.cells[i].max(1e-300) - mu[i]) / mu[i];
                    (w, w * z)
                };
                if w <= 0.0 {
                    continue;
                }
                let sw = w.sqrt();
                for j in 0..p {
                    a[(i, j)] = d.x[(i, j)] * sw;
                }
                b[i] = wz / sw;
            }
            let (r, k) = qr_solve(&mut a, &mut b, tol);
            if k.is_empty() {
                return Err(Error::Numerical {
                    reason: "the design has no estimable column".into(),
                });
            }
            let qtb: Vec<f64> = (0..k.len()).map(|i| b[i]).collect();
            let sol = back_solve(&r, &qtb);
            let mut newbeta = vec![0.0; p];
            for (i, &j) in k.iter().enumerate() {
                newbeta[j] = sol[i];
            }
            if newbeta.iter().any(|v| !v.is_finite()) {
                break;
            }
            last_r = r;
            kept = k;
            let (mut e2, mut m2, mut d2) = self.eval(d, &newbeta);
            if !d2.is_finite() {
                let Some(old) = coefold.clone() else {
                    return Err(Error::Numerical {
                        reason: "no valid set of coefficients has been found".into(),
                    });
                };
                let mut ii = 1;
                while !d2.is_finite() {
                    if ii > self.maxit {
                        return Err(Error::Numerical {
                            reason: "inner loop 1; cannot correct step size".into(),
                        });
                    }
                    ii += 1;
                    for j in 0..p {
                        newbeta[j] = (newbeta[j] + old[j]) / 2.0;
                    }
                    let e = self.eval(d, &newbeta);
                    e2 = e.0;
                    m2 = e.1;
                    d2 = e.2;
                }
                boundary = true;
            }
            beta = newbeta;
            eta = e2;
            mu = m2;
            dev = d2;
            if (dev - devold).abs() / (dev.abs() + 0.1) < self.epsilon {
                conv = true;
                break;
            }
            devold = dev;
            coefold = Some(beta.clone());
        }
        if eta.is_empty() {
            return Err(Error::Numerical {
                reason: "IRLS produced no valid step".into(),
            });
        }
        let rank = kept.len();
        let aliased: Vec<usize> = (0..p).filter(|j| !kept.contains(j)).collect();
        let mut coefficients = beta.clone();
        for &j in &aliased {
            coefficients[j] = f64::NAN;
        }
        let cov_r = chol2inv(&last_r);
        let mut covariance = DMatrix::from_element(p, p, f64::NAN);
        for (a, &ja) in kept.iter().enumerate() {
            for (b, &jb) in kept.iter().enumerate() {
                covariance[(ja, jb)] = cov_r[(a, b)];
            }
        }
        let mut loglik = -d.lfact;
        for i in 0..g {
            if d.y_sum[i] > 0.0 {
                loglik += d.y_sum[i] * mu[i].ln();
            }
            loglik -= d.cells[i] * mu[i];
        }
        let fitted_zero = (0..g).any(|i| d.cells[i] > 0.0 && mu[i] < 10.0 * f64::EPSILON);
        let n_cells = d.n_cells().round() as i64;
        Ok(RGlmFit {
            coefficients,
            aliased,
            covariance,
            fitted: mu,
            deviance: dev,
            loglik,
            rank,
            df_residual: n_cells - rank as i64,
            stop: if conv {
                StopReason::Converged { iterations }
            } else {
                StopReason::MaxIterations { iterations }
            },
            fitted_zero,
            boundary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_equals_ungrouped() {
        // 4 cells in 2 groups with identical rows: grouped and ungrouped fits agree.
        let x = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 1.0, 1.0]);
        let d = GroupedCounts::new(
            x,
            vec![0.0; 2],
            &[vec![3.0, 5.0], vec![10.0, 0.0]],
            &[0.0, 0.0],
        )
        .unwrap();
        let f = RGlm::params().fit(&d).unwrap();
        assert!((f.coefficients[0] - 4f64.ln()).abs() < 1e-8);
        assert!((f.coefficients[1] - (5f64 / 4.0).ln()).abs() < 1e-8);
        let x2 = DMatrix::from_row_slice(4, 2, &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        let d2 = GroupedCounts::new(
            x2,
            vec![0.0; 4],
            &[vec![3.0], vec![5.0], vec![10.0], vec![0.0]],
            &[0.0; 4],
        )
        .unwrap();
        let f2 = RGlm::params().fit(&d2).unwrap();
        assert!((f.deviance - f2.deviance).abs() < 1e-9);
        assert!((f.covariance[(1, 1)] - f2.covariance[(1, 1)]).abs() < 1e-9);
        assert_eq!(f.stop.iterations(), f2.stop.iterations());
    }

    #[test]
    fn detects_aliasing() {
        let x = DMatrix::from_row_slice(3, 3, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0]);
        let d = GroupedCounts::new(
            x,
            vec![0.0; 3],
            &[vec![2.0], vec![4.0], vec![9.0]],
            &[0.0; 3],
        )
        .unwrap();
        let f = RGlm::params().fit(&d).unwrap();
        assert_eq!(f.aliased, vec![2]);
        assert!(f.coefficients[2].is_nan());
        assert_eq!(f.rank, 2);
    }
}
