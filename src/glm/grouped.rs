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
//! that R stopped early. The iterations are the crate's one R-path loop,
//! [`irls_r_path`](crate::glm::irls_r_path); this module supplies the grouped weighted rows ([`WlsSystem::Rows`]).
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

use super::irls::{IrlsModel, IrlsSummary, WlsSystem};
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
    /// Σ y ln y over the cells of each group (the deviance is summed per group, as R sums
    /// it per cell, rather than as a difference of totals that cancel).
    pub ylogy_group: Vec<f64>,
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
            ylogy_group: vec![0.0; g],
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
            self.ylogy_group[g] += m * y * ly;
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

/// Per-group η and μ at β (the state the next R-path step starts from).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedState {
    eta: Vec<f64>,
    mu: Vec<f64>,
}

const MU_FLOOR: f64 = f64::EPSILON;

impl IrlsModel for GroupedCounts {
    type State = GroupedState;

    fn n_coef(&self) -> usize {
        self.x.ncols()
    }

    fn start_deviance(&self) -> f64 {
        self.start_dev
    }

    fn evaluate(&self, beta: &[f64]) -> (GroupedState, f64) {
        let g = self.x.nrows();
        let mut eta = vec![0.0; g];
        let mut mu = vec![0.0; g];
        // Deviance per group, 2 [Y ln(Ȳ/μ) − (Y − mμ) + (Σ y ln y − Y ln Ȳ)]: R's per-cell
        // form, accurate near the fit. Summing Σ y ln y − Σ Y ln μ − Σ Y + Σ mμ instead
        // cancels terms of order Σ y ln y and leaves rounding noise (≈ 1e-12 on a few
        // thousand units) that can exceed ε·0.1 and stop a tight fit from converging.
        let mut dev = 0.0;
        for i in 0..g {
            let mut e = self.offset[i];
            for (j, b) in beta.iter().enumerate() {
                if *b != 0.0 {
                    e += self.x[(i, j)] * b;
                }
            }
            eta[i] = e;
            let m = e.exp().max(MU_FLOOR);
            mu[i] = m;
            let (y, c) = (self.y_sum[i], self.cells[i]);
            let mut d = c * m - y;
            if y > 0.0 {
                let ybar = y / c;
                d += y * (ybar / m).ln() + (self.ylogy_group[i] - y * ybar.ln());
            }
            dev += d;
        }
        let dev = 2.0 * dev;
        (GroupedState { eta, mu }, dev)
    }

    /// One row per group: weights summed, working responses averaged over its cells.
    fn system(&self, at: Option<(&[f64], &GroupedState)>) -> WlsSystem {
        let (g, p) = self.x.shape();
        let mut a = DMatrix::zeros(g, p);
        let mut b = DVector::zeros(g);
        for i in 0..g {
            let (w, wz) = match at {
                None => (self.start_w[i], self.start_wz[i]),
                Some((_, st)) => {
                    let (eta, mu) = (st.eta[i], st.mu[i]);
                    let w = self.cells[i] * mu;
                    let z = eta - self.offset[i]
                        + (self.y_sum[i] / self.cells[i].max(1e-300) - mu) / mu;
                    (w, w * z)
                }
            };
            if w <= 0.0 {
                continue;
            }
            let sw = w.sqrt();
            for j in 0..p {
                a[(i, j)] = self.x[(i, j)] * sw;
            }
            b[i] = wz / sw;
        }
        WlsSystem::Rows { a, b }
    }

    fn summary(&self, _beta: &[f64], state: GroupedState) -> IrlsSummary {
        let mu = state.mu;
        let mut loglik = -self.lfact;
        for i in 0..mu.len() {
            if self.y_sum[i] > 0.0 {
                loglik += self.y_sum[i] * mu[i].ln();
            }
            loglik -= self.cells[i] * mu[i];
        }
        let fitted_zero = (0..mu.len()).any(|i| self.cells[i] > 0.0 && mu[i] < 10.0 * f64::EPSILON);
        IrlsSummary {
            loglik,
            fitted: mu,
            fitted_zero,
            n_cells: self.n_cells().round() as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glm::PoissonGlm;

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
        let f = PoissonGlm::params().fit(&d).unwrap();
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
        let f2 = PoissonGlm::params().fit(&d2).unwrap();
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
        let f = PoissonGlm::params().fit(&d).unwrap();
        assert_eq!(f.aliased, vec![2]);
        assert!(f.coefficients[2].is_nan());
        assert_eq!(f.rank, 2);
    }
}
