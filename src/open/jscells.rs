//! The 2^I − 1 cells of `openp`'s log-linear Jolly-Seber model as sparse design rows.
//!
//! A history touches the intercept, the Z_δ columns set by its first and last capture,
//! its capture columns and the trap-effect columns of its adjacent captures: about 8 of
//! 20-30 columns on 8 periods. One IRLS step then costs O(Σ_c nnz_c²), not O(cells·p²):
//!
//! ```text
//! η_c = Σ_{k ∈ nz(c)} x_ck β_k,   μ_c = e^{η_c}
//! XᵀWX = Σ_c μ_c x_c x_cᵀ   (upper triangle over nz(c) × nz(c), then mirrored)
//! Xᵀ(y − μ) = Xᵀy − Σ_c μ_c x_c
//! deviance = 2 [Σ y ln y − βᵀXᵀy − Σ y + Σ μ]
//! ```
//! The iterations are R's `glm` path run by the crate's one engine
//! ([`crate::glm::irls_r_path`]): start μ = y + 0.1, Newton steps, stop when the
//! relative deviance change is below 1e-8. (The covariance is R's, at the weights of
//! the last step, so each fit runs R's whole path: a warm start would move the standard
//! errors by ~1e-5.)
//!
//! The rounding of XᵀWX matters at the reference tolerance: on rbvole collapsed to 6
//! periods (a boundary fit), summing the cells in reverse order moves survival[1]'s SE
//! to 1.19e-6 relative from R's, and compensated (Dot2) sums move survival[0]'s SE to
//! 4.8e-6 and N[0]'s SE from R's 0 to 0.10. A faster XᵀWX (another summation order,
//! superset sums over the capture bits) therefore needs that boundary fit's tolerances
//! revisited. Gathering XᵀWX entry by entry in the same order (bit-identical) saved
//! only ~12% of the step and cost more to set up than it saved.

use super::ModelFit;
use crate::error::Result;
use crate::glm::{IrlsModel, IrlsSummary, PoissonGlm, StopReason, WlsSystem, irls_r_path};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

/// Sparse rows of the cells with their counts.
pub(crate) struct JsCells {
    /// Number of columns.
    ncol: usize,
    /// Row c's nonzeros are `idx[start[c]..start[c + 1]]` (ascending) and `val[..]`.
    start: Vec<usize>,
    idx: Vec<usize>,
    val: Vec<f64>,
    /// Cell counts.
    y: Vec<f64>,
    /// Σ y ln y.
    ylny: f64,
    /// Σ ln y!.
    lgy: f64,
}

/// A fit on a set of active columns: full-length coefficients (0 for inactive columns)
/// and covariance (0 rows/columns for inactive ones).
pub(crate) struct CellFit {
    pub beta: Vec<f64>,
    pub cov: DMatrix<f64>,
    pub deviance: f64,
    pub aic: f64,
    pub df: i64,
    pub stop: StopReason,
    /// Fitted means per cell.
    pub mu: Vec<f64>,
}

impl CellFit {
    pub fn model_fit(&self, label: &str) -> ModelFit {
        ModelFit {
            label: label.into(),
            deviance: self.deviance,
            df: self.df,
            aic: self.aic,
        }
    }
}

impl JsCells {
    /// Cells from their counts and a function filling each cell's dense design row
    /// (length `ncol`, zeroed before each call).
    pub fn new(ncol: usize, y: Vec<f64>, mut row: impl FnMut(usize, &mut [f64])) -> Self {
        let mut start = Vec::with_capacity(y.len() + 1);
        let mut idx = Vec::with_capacity(y.len() * 8);
        let mut val = Vec::with_capacity(y.len() * 8);
        let mut dense = vec![0.0; ncol];
        start.push(0);
        for c in 0..y.len() {
            dense.iter_mut().for_each(|v| *v = 0.0);
            row(c, &mut dense);
            for (k, &v) in dense.iter().enumerate() {
                if v != 0.0 {
                    idx.push(k);
                    val.push(v);
                }
            }
            start.push(idx.len());
        }
        let ylny = y.iter().filter(|&&v| v > 0.0).map(|v| v * v.ln()).sum();
        let lgy = y.iter().map(|v| ln_gamma(v + 1.0)).sum();
        JsCells {
            ncol,
            start,
            idx,
            val,
            y,
            ylny,
            lgy,
        }
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        self.y.len()
    }

    /// Σ_c μ_c x_c over every column.
    pub fn xt(&self, mu: &[f64]) -> Vec<f64> {
        let mut g = vec![0.0; self.ncol];
        for (c, &m) in mu.iter().enumerate() {
            for k in self.start[c]..self.start[c + 1] {
                g[self.idx[k]] += m * self.val[k];
            }
        }
        g
    }

    /// Fits the columns in `active` (the others held at 0) along R's path.
    pub fn fit(&self, active: &[bool]) -> Result<CellFit> {
        let model = ActiveCells::new(self, active);
        let f = irls_r_path(&model, &PoissonGlm::default())?;
        Ok(model.expand(f))
    }
}

/// [`JsCells`] restricted to active columns (indices renumbered), the model
/// [`irls_r_path`] iterates on.
struct ActiveCells<'a> {
    cells: &'a JsCells,
    /// Active column indices.
    act: Vec<usize>,
    idx: Vec<usize>,
    val: Vec<f64>,
    start: Vec<usize>,
    /// Xᵀy on the active columns.
    xty: Vec<f64>,
    /// Σ y.
    n: f64,
}

impl<'a> ActiveCells<'a> {
    fn new(cells: &'a JsCells, active: &[bool]) -> Self {
        let act: Vec<usize> = (0..cells.ncol).filter(|&j| active[j]).collect();
        let mut pos = vec![usize::MAX; cells.ncol];
        for (a, &j) in act.iter().enumerate() {
            pos[j] = a;
        }
        let mut idx = Vec::with_capacity(cells.idx.len());
        let mut val = Vec::with_capacity(cells.idx.len());
        let mut start = Vec::with_capacity(cells.start.len());
        let mut xty = vec![0.0; act.len()];
        start.push(0);
        for c in 0..cells.n_cells() {
            for k in cells.start[c]..cells.start[c + 1] {
                let a = pos[cells.idx[k]];
                if a != usize::MAX {
                    idx.push(a);
                    val.push(cells.val[k]);
                    xty[a] += cells.val[k] * cells.y[c];
                }
            }
            start.push(idx.len());
        }
        ActiveCells {
            cells,
            act,
            idx,
            val,
            start,
            xty,
            n: cells.y.iter().sum(),
        }
    }

    fn eta(&self, c: usize, beta: &[f64]) -> f64 {
        let mut e = 0.0;
        for k in self.start[c]..self.start[c + 1] {
            e += self.val[k] * beta[self.idx[k]];
        }
        e
    }

    /// Σ_c w_c x_c x_cᵀ and Σ_c r_c x_c.
    fn normal(
        &self,
        w: impl Fn(usize) -> f64,
        r: impl Fn(usize) -> f64,
    ) -> (DMatrix<f64>, Vec<f64>) {
        let q = self.act.len();
        let mut h = vec![0.0; q * q];
        let mut s = vec![0.0; q];
        for c in 0..self.cells.n_cells() {
            let (wc, rc) = (w(c), r(c));
            let row = self.start[c]..self.start[c + 1];
            let (ix, vx) = (&self.idx[row.clone()], &self.val[row]);
            for (i, (&a, &va)) in ix.iter().zip(vx).enumerate() {
                s[a] += rc * va;
                let wa = wc * va;
                let col = &mut h[a * q..a * q + q];
                for (&b, &vb) in ix[i..].iter().zip(&vx[i..]) {
                    col[b] += wa * vb;
                }
            }
        }
        // h[a * q + b] holds (a, b) for a ≤ b: mirror into the lower triangle.
        for a in 0..q {
            for b in a + 1..q {
                h[b * q + a] = h[a * q + b];
            }
        }
        (DMatrix::from_vec(q, q, h), s)
    }

    fn expand(&self, f: crate::glm::GlmFit) -> CellFit {
        let p = self.cells.ncol;
        let mut beta = vec![0.0; p];
        let mut cov = DMatrix::zeros(p, p);
        for (a, &ja) in self.act.iter().enumerate() {
            beta[ja] = f.coefficients[a];
            for (b, &jb) in self.act.iter().enumerate() {
                cov[(ja, jb)] = f.covariance[(a, b)];
            }
        }
        CellFit {
            beta,
            cov,
            deviance: f.deviance,
            aic: f.aic(),
            df: f.df_residual,
            stop: f.stop,
            mu: f.fitted,
        }
    }
}

impl IrlsModel for ActiveCells<'_> {
    /// Fitted means per cell.
    type State = Vec<f64>;

    fn n_coef(&self) -> usize {
        self.act.len()
    }

    fn start_deviance(&self) -> f64 {
        let mut d = 0.0;
        for &y in &self.cells.y {
            if y > 0.0 {
                d += y * (y / (y + 0.1)).ln();
            }
            d += 0.1;
        }
        2.0 * d
    }

    fn evaluate(&self, beta: &[f64]) -> (Vec<f64>, f64) {
        let mu: Vec<f64> = (0..self.cells.n_cells())
            .map(|c| self.eta(c, beta).exp())
            .collect();
        let yeta: f64 = self.xty.iter().zip(beta).map(|(a, b)| a * b).sum();
        let tot: f64 = mu.iter().sum();
        let dev = 2.0 * (self.cells.ylny - yeta - (self.n - tot));
        (mu, dev)
    }

    /// Newton steps: at β, XᵀWX = Σ μ x xᵀ and the score Xᵀ(y − μ); at R's start
    /// (β = 0, W = y + 0.1), XᵀWX and XᵀWz with Wz = W ln W − 0.1.
    fn system(&self, at: Option<(&[f64], &Vec<f64>)>) -> WlsSystem {
        let y = &self.cells.y;
        let (xtwx, s) = match at {
            Some((_, mu)) => {
                let (h, s) = self.normal(|c| mu[c], |c| mu[c]);
                let score: Vec<f64> = self.xty.iter().zip(&s).map(|(a, b)| a - b).collect();
                (h, score)
            }
            None => self.normal(
                |c| y[c] + 0.1,
                |c| {
                    let w = y[c] + 0.1;
                    w * w.ln() - 0.1
                },
            ),
        };
        WlsSystem::Newton {
            xtwx,
            score: DVector::from_vec(s),
        }
    }

    fn summary(&self, beta: &[f64], mu: Vec<f64>) -> IrlsSummary {
        let yeta: f64 = self.xty.iter().zip(beta).map(|(a, b)| a * b).sum();
        let tot: f64 = mu.iter().sum();
        IrlsSummary {
            loglik: yeta - tot - self.cells.lgy,
            fitted: mu,
            fitted_zero: false,
            n_cells: self.cells.n_cells() as i64,
        }
    }
}
