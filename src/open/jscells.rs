//! The 2^I − 1 cells of `openp`'s log-linear Jolly-Seber model, never stored as design
//! rows: every column is a function of the capture history c (bit j = caught in period
//! j + 1) of one of two kinds,
//!
//! ```text
//! Zero(M):  [c ∩ M = ∅]        M a run of first periods or of last periods (the Z_δ
//!                               columns: first capture after, last capture before)
//! Poly(P):  Σ_{S ∈ P} a_S [S ⊆ c]   capture bits and their products (intercept: S = ∅)
//! ```
//! so every entry of XᵀWX and Xᵀw is a combination of the sums
//!
//! ```text
//! D(M, S) = Σ_{c ∩ M = ∅, c ⊇ S} w_c
//! Poly × Poly:  Σ a_S b_T D(∅, S ∪ T)      Zero(M) × Poly:  Σ b_T D(M, T)
//! Zero(M) × Zero(M'):  D(M ∪ M', ∅)
//! ```
//! D(∅, ·) is the superset-sum (zeta) transform of w over the capture bits (I·2^{I−1}
//! additions). Run from the last bit down, just before bit k is summed the entries S
//! with no bit in 0..k hold D({0..k}, S); run from the first bit up, just before bit k
//! they hold D({k..I−1}, S) for S with no bit in k..I−1. Other D(M, ∅) (a run of first
//! and a run of last periods) sum the cells inside the remaining interval. The means
//! need no exponential per cell:
//!
//! ```text
//! μ_c = e^{η_c} = Π_{S ⊆ c} e^{h_S} · e^{Σ_{Zero(M) ∌ c} β}   h_S = Σ_{Poly} β a_S
//! ```
//! (a product transform over the bits, and one factor per first and per last capture);
//! when a partial product over- or underflows, μ_c = e^{η_c} is evaluated directly.
//!
//! The iterations are R's `glm` path run by the crate's one engine
//! ([`crate::glm::irls_r_path`]): start μ = y + 0.1, Newton steps, stop when the
//! relative deviance change is below 1e-8. (The covariance is R's, at the weights of
//! the last step, so each fit runs R's whole path: a warm start would move the standard
//! errors by ~1e-5.) The start step's XᵀWX and XᵀWz do not depend on the active
//! columns and are formed once for all fits on the same cells.

#![allow(clippy::needless_range_loop)]

use super::ModelFit;
use crate::error::{Error, Result};
use crate::glm::{IrlsModel, IrlsSummary, PoissonGlm, StopReason, WlsSystem, irls_r_path};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

/// One design column as a function of the capture history c (bit j = period j + 1).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsColumn {
    /// 1 when c has no capture in the mask, a run of the first periods (bits 0..=k) or
    /// of the last ones (bits k..I−1).
    Zero(u64),
    /// Σ a_S [S ⊆ c] over its (S, a_S).
    Poly(Vec<(u64, f64)>),
}

impl JsColumn {
    /// The column's value in cell c.
    pub fn value(&self, c: u64) -> f64 {
        match self {
            JsColumn::Zero(m) => {
                if c & m == 0 {
                    1.0
                } else {
                    0.0
                }
            }
            JsColumn::Poly(t) => t.iter().filter(|(s, _)| c & s == *s).map(|(_, a)| a).sum(),
        }
    }
}

/// One term of an entry of XᵀWX or Xᵀw: `coef · D(M, S)` added at `dest`.
#[derive(Debug, Clone, Copy)]
struct Term {
    /// S (or, for [`Plan::inside`], the cells' allowed bits).
    s: usize,
    /// Index into the entries (row-major ncol × ncol upper triangle, then the ncol column
    /// sums).
    dest: usize,
    coef: f64,
}

/// Where each term is read from.
#[derive(Debug, Default)]
struct Plan {
    /// D(∅, S): the full superset sums.
    full: Vec<Term>,
    /// Per bit k: D({0..k}, S), read in the descending pass before bit k is summed.
    low: Vec<Vec<Term>>,
    /// Per bit k: D({k..I−1}, S), read in the ascending pass before bit k is summed.
    high: Vec<Vec<Term>>,
    /// D(M, ∅) for other M: Σ of w over the cells ⊆ the complement of M.
    inside: Vec<Term>,
}

/// Run of first periods {0..k} → Some(k); other masks → None.
fn prefix_bit(m: u64, i_n: usize) -> Option<usize> {
    let k = 63 - m.leading_zeros() as usize;
    (m != 0 && k + 1 < i_n && m == (1u64 << (k + 1)) - 1).then_some(k)
}

/// Run of last periods {k..I−1} → Some(k); other masks → None.
fn suffix_bit(m: u64, i_n: usize) -> Option<usize> {
    let all = (1u64 << i_n) - 1;
    let k = m.trailing_zeros() as usize;
    (m != 0 && k > 0 && k < i_n && m == all & !((1u64 << k) - 1)).then_some(k)
}

impl Plan {
    fn push(&mut self, i_n: usize, m: u64, s: u64, dest: usize, coef: f64) -> Result<()> {
        if m & s != 0 {
            return Ok(());
        }
        let t = Term {
            s: s as usize,
            dest,
            coef,
        };
        if m == 0 {
            self.full.push(t);
        } else if let Some(k) = prefix_bit(m, i_n) {
            self.low[k].push(t);
        } else if let Some(k) = suffix_bit(m, i_n) {
            self.high[k].push(t);
        } else if s == 0 {
            self.inside.push(Term {
                s: (((1u64 << i_n) - 1) & !m) as usize,
                dest,
                coef,
            });
        } else {
            return Err(Error::Numerical {
                reason: format!("openp cells: no sum for the column product ({m:#b}, {s:#b})"),
            });
        }
        Ok(())
    }

    /// Terms of `coef · Σ_c w_c a(c) b(c)` (b = None: the column sum of a).
    fn product(
        &mut self,
        i_n: usize,
        a: &JsColumn,
        b: Option<&JsColumn>,
        dest: usize,
    ) -> Result<()> {
        let one = JsColumn::Poly(vec![(0, 1.0)]);
        match (a, b.unwrap_or(&one)) {
            (JsColumn::Zero(m1), JsColumn::Zero(m2)) => self.push(i_n, m1 | m2, 0, dest, 1.0),
            (JsColumn::Zero(m), JsColumn::Poly(p)) | (JsColumn::Poly(p), JsColumn::Zero(m)) => {
                for &(s, c) in p {
                    self.push(i_n, *m, s, dest, c)?;
                }
                Ok(())
            }
            (JsColumn::Poly(p), JsColumn::Poly(q)) => {
                for &(s, c) in p {
                    for &(t, d) in q {
                        self.push(i_n, 0, s | t, dest, c * d)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The cells with their counts, and the columns.
pub(crate) struct JsCells {
    i_n: usize,
    cols: Vec<JsColumn>,
    plan: Plan,
    /// Counts by capture history (bit code; cell 0, never caught, is not a cell).
    y: Vec<f64>,
    /// Xᵀy.
    xty: Vec<f64>,
    /// Σ y.
    n: f64,
    /// Σ y ln y.
    ylny: f64,
    /// Σ ln y!.
    lgy: f64,
    /// Distinct monomials S of the Poly columns.
    monos: Vec<usize>,
    /// XᵀWX and XᵀWz (all columns) at R's start, W = y + 0.1, Wz = W ln W − 0.1.
    start: Vec<f64>,
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
    /// Fitted means by capture history (bit code).
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
    /// Cells over `i_n` periods with counts `y` by bit code (`y[0]` is ignored) and
    /// design columns `cols`.
    ///
    /// # Errors
    /// [`Error::Numerical`] for a product of columns the sums above do not cover (a
    /// `Zero` mask that is neither a run of first nor of last periods, times a `Poly`).
    pub fn new(i_n: usize, cols: Vec<JsColumn>, mut y: Vec<f64>) -> Result<Self> {
        let ncol = cols.len();
        let ncell = 1usize << i_n;
        y[0] = 0.0;
        for col in &cols {
            if let JsColumn::Zero(m) = col
                && prefix_bit(*m, i_n).is_none()
                && suffix_bit(*m, i_n).is_none()
            {
                return Err(Error::Numerical {
                    reason: format!("openp cells: {m:#b} is not a run of first or last periods"),
                });
            }
        }
        let mut plan = Plan {
            low: vec![Vec::new(); i_n],
            high: vec![Vec::new(); i_n],
            ..Plan::default()
        };
        for a in 0..ncol {
            for b in a..ncol {
                plan.product(i_n, &cols[a], Some(&cols[b]), a * ncol + b)?;
            }
            plan.product(i_n, &cols[a], None, ncol * ncol + a)?;
        }
        let mut seen = vec![false; ncell];
        let mut monos = Vec::new();
        for col in &cols {
            if let JsColumn::Poly(p) = col {
                for &(s, _) in p {
                    if !seen[s as usize] {
                        seen[s as usize] = true;
                        monos.push(s as usize);
                    }
                }
            }
        }
        let mut cells = JsCells {
            i_n,
            cols,
            plan,
            y,
            xty: Vec::new(),
            n: 0.0,
            ylny: 0.0,
            lgy: 0.0,
            monos,
            start: Vec::new(),
        };
        let y = &cells.y;
        cells.n = y.iter().sum();
        cells.ylny = y.iter().filter(|&&v| v > 0.0).map(|v| v * v.ln()).sum();
        cells.lgy = y
            .iter()
            .filter(|&&v| v > 1.0)
            .map(|v| ln_gamma(v + 1.0))
            .sum();
        cells.xty = cells.moments(y)[ncol * ncol..].to_vec();
        // R's start: W = y + 0.1 on every cell, Wz = W ln W − 0.1.
        let w0 = 0.1f64 * 0.1f64.ln() - 0.1;
        let (w, r): (Vec<f64>, Vec<f64>) = (0..ncell)
            .map(|c| {
                if c == 0 {
                    (0.0, 0.0)
                } else if y[c] == 0.0 {
                    (0.1, w0)
                } else {
                    let w = y[c] + 0.1;
                    (w, w * w.ln() - 0.1)
                }
            })
            .unzip();
        let mut start = cells.moments(&w);
        start[ncol * ncol..].copy_from_slice(&cells.moments(&r)[ncol * ncol..]);
        cells.start = start;
        Ok(cells)
    }

    fn ncol(&self) -> usize {
        self.cols.len()
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        (1 << self.i_n) - 1
    }

    /// Σ_c w_c x_c x_cᵀ (upper triangle, row-major ncol × ncol) followed by Σ_c w_c x_c;
    /// `w` by bit code with w[0] = 0.
    fn moments(&self, w: &[f64]) -> Vec<f64> {
        let ncol = self.ncol();
        let mut out = vec![0.0; ncol * ncol + ncol];
        let read = |out: &mut [f64], terms: &[Term], a: &[f64]| {
            for t in terms {
                out[t.dest] += t.coef * a[t.s];
            }
        };
        let mut a = w.to_vec();
        for k in (0..self.i_n).rev() {
            read(&mut out, &self.plan.low[k], &a);
            superset_step(&mut a, k);
        }
        read(&mut out, &self.plan.full, &a);
        if self.plan.high.iter().any(|h| !h.is_empty()) {
            a.copy_from_slice(w);
            for k in 0..self.i_n {
                read(&mut out, &self.plan.high[k], &a);
                if k + 1 < self.i_n {
                    superset_step(&mut a, k);
                }
            }
        }
        for t in &self.plan.inside {
            let m = t.s;
            let mut s = m;
            let mut sum = 0.0;
            loop {
                sum += w[s];
                if s == 0 {
                    break;
                }
                s = (s - 1) & m;
            }
            out[t.dest] += t.coef * sum;
        }
        out
    }

    /// Σ_c μ_c x_c over every column, μ by bit code.
    pub fn xt(&self, mu: &[f64]) -> Vec<f64> {
        let ncol = self.ncol();
        self.moments(mu)[ncol * ncol..].to_vec()
    }

    /// μ_c = e^{η_c} by bit code (μ_0 = 0) at full-length coefficients β.
    fn means(&self, beta: &[f64]) -> Vec<f64> {
        let i_n = self.i_n;
        let ncell = 1usize << i_n;
        // ln of the factors: per monomial, per first capture f, per last capture l.
        let mut lg = vec![0.0; ncell];
        let mut first = vec![0.0; i_n + 1];
        let mut last = vec![0.0; i_n + 1];
        for (col, &b) in self.cols.iter().zip(beta) {
            if b == 0.0 {
                continue;
            }
            match col {
                JsColumn::Poly(p) => {
                    for &(s, a) in p {
                        lg[s as usize] += b * a;
                    }
                }
                JsColumn::Zero(m) => {
                    if let Some(k) = prefix_bit(*m, i_n) {
                        // first capture f > k
                        first[k + 1] += b;
                    } else if let Some(k) = suffix_bit(*m, i_n) {
                        // last capture l < k: added for l ≤ k − 1
                        last[k] += b;
                    }
                }
            }
        }
        let mut g = vec![1.0; ncell];
        for &s in &self.monos {
            g[s] = lg[s].exp();
        }
        for k in 0..i_n {
            subset_product_step(&mut g, k);
        }
        // first: cumulative over f ascending; last: cumulative over l descending.
        let mut ef = vec![0.0; i_n];
        let mut el = vec![0.0; i_n];
        let mut acc = 0.0;
        for f in 0..i_n {
            acc += first[f];
            ef[f] = acc;
        }
        acc = 0.0;
        for l in (0..i_n).rev() {
            acc += last[l + 1];
            el[l] = acc;
        }
        let ef: Vec<f64> = ef.iter().map(|v| v.exp()).collect();
        let el: Vec<f64> = el.iter().map(|v| v.exp()).collect();
        let mut ok = true;
        g[0] = 0.0;
        for c in 1..ncell {
            let f = c.trailing_zeros() as usize;
            let l = (usize::BITS - 1 - c.leading_zeros()) as usize;
            let m = g[c] * ef[f] * el[l];
            ok &= m.is_finite() && m > 0.0;
            g[c] = m;
        }
        if !ok {
            for (c, gc) in g.iter_mut().enumerate().skip(1) {
                let eta: f64 = self
                    .cols
                    .iter()
                    .zip(beta)
                    .map(|(col, b)| b * col.value(c as u64))
                    .sum();
                *gc = eta.exp();
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

/// One step of the superset-sum transform: a[c] += a[c | 2^k] for c without bit k.
fn superset_step(a: &mut [f64], k: usize) {
    let h = 1usize << k;
    for chunk in a.chunks_exact_mut(2 * h) {
        let (lo, hi) = chunk.split_at_mut(h);
        for (x, y) in lo.iter_mut().zip(hi.iter()) {
            *x += *y;
        }
    }
}

/// One step of the subset-product transform: g[c] *= g[c − 2^k] for c with bit k.
fn subset_product_step(g: &mut [f64], k: usize) {
    let h = 1usize << k;
    for chunk in g.chunks_exact_mut(2 * h) {
        let (lo, hi) = chunk.split_at_mut(h);
        for (y, x) in hi.iter_mut().zip(lo.iter()) {
            *y *= *x;
        }
    }
}

/// [`JsCells`] restricted to active columns, the model [`irls_r_path`] iterates on.
struct ActiveCells<'a> {
    cells: &'a JsCells,
    /// Active column indices.
    act: Vec<usize>,
}

impl<'a> ActiveCells<'a> {
    fn new(cells: &'a JsCells, active: &[bool]) -> Self {
        let act: Vec<usize> = (0..cells.ncol()).filter(|&j| active[j]).collect();
        ActiveCells { cells, act }
    }

    /// Full-length coefficients from the active ones.
    fn full_beta(&self, beta: &[f64]) -> Vec<f64> {
        let mut b = vec![0.0; self.cells.ncol()];
        for (a, &j) in self.act.iter().enumerate() {
            b[j] = beta[a];
        }
        b
    }

    /// XᵀWX and the column sums on the active columns from the entries of
    /// [`JsCells::moments`].
    fn select(&self, m: &[f64]) -> (DMatrix<f64>, Vec<f64>) {
        let ncol = self.cells.ncol();
        let q = self.act.len();
        let mut h = DMatrix::zeros(q, q);
        for (a, &ja) in self.act.iter().enumerate() {
            for (b, &jb) in self.act.iter().enumerate().skip(a) {
                let v = m[ja * ncol + jb];
                h[(a, b)] = v;
                h[(b, a)] = v;
            }
        }
        let s = self.act.iter().map(|&j| m[ncol * ncol + j]).collect();
        (h, s)
    }

    fn yeta(&self, beta: &[f64]) -> f64 {
        self.act
            .iter()
            .zip(beta)
            .map(|(&j, b)| self.cells.xty[j] * b)
            .sum()
    }

    fn expand(&self, f: crate::glm::GlmFit) -> CellFit {
        let p = self.cells.ncol();
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
    /// Fitted means by bit code.
    type State = Vec<f64>;

    fn n_coef(&self) -> usize {
        self.act.len()
    }

    fn start_deviance(&self) -> f64 {
        let mut d = 0.0;
        for &y in &self.cells.y[1..] {
            if y > 0.0 {
                d += y * (y / (y + 0.1)).ln();
            }
            d += 0.1;
        }
        2.0 * d
    }

    fn evaluate(&self, beta: &[f64]) -> (Vec<f64>, f64) {
        let mu = self.cells.means(&self.full_beta(beta));
        let tot: f64 = mu.iter().sum();
        let dev = 2.0 * (self.cells.ylny - self.yeta(beta) - (self.cells.n - tot));
        (mu, dev)
    }

    /// Newton steps: at β, XᵀWX = Σ μ x xᵀ and the score Xᵀ(y − μ); at R's start
    /// (β = 0, W = y + 0.1), XᵀWX and XᵀWz with Wz = W ln W − 0.1.
    fn system(&self, at: Option<(&[f64], &Vec<f64>)>) -> WlsSystem {
        let (xtwx, s) = match at {
            Some((_, mu)) => {
                let (h, s) = self.select(&self.cells.moments(mu));
                let score = self
                    .act
                    .iter()
                    .zip(&s)
                    .map(|(&j, b)| self.cells.xty[j] - b)
                    .collect();
                (h, score)
            }
            None => self.select(&self.cells.start),
        };
        WlsSystem::Newton {
            xtwx,
            score: DVector::from_vec(s),
        }
    }

    fn summary(&self, beta: &[f64], mu: Vec<f64>) -> IrlsSummary {
        let tot: f64 = mu.iter().sum();
        IrlsSummary {
            loglik: self.yeta(beta) - tot - self.cells.lgy,
            fitted: mu,
            fitted_zero: false,
            n_cells: self.cells.n_cells() as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open::factored::z_delta;

    /// The `openp` columns (up, with the trap-effect columns) over `i_n` periods.
    fn columns(i_n: usize) -> Vec<JsColumn> {
        let all = (1u64 << i_n) - 1;
        let mut cols = vec![JsColumn::Poly(vec![(0, 1.0)])];
        cols.extend((0..i_n - 1).map(|k| JsColumn::Zero((1 << (k + 1)) - 1)));
        cols.extend((0..i_n - 1).map(|m| JsColumn::Zero(all & !((1 << (i_n - 1 - m)) - 1))));
        cols.extend((1..i_n - 1).map(|j| JsColumn::Poly(vec![(1 << j, 1.0)])));
        cols.push(JsColumn::Poly((0..i_n).map(|j| (1 << j, 1.0)).collect()));
        cols.push(JsColumn::Poly(
            (0..i_n - 1).map(|j| (3 << j, 1.0)).collect(),
        ));
        cols.extend((1..i_n - 2).map(|j| JsColumn::Poly(vec![(3 << j, 1.0)])));
        cols
    }

    #[test]
    fn zero_columns_are_z_delta() {
        for i_n in 3..=8 {
            let cols = columns(i_n);
            for c in 1..1u64 << i_n {
                let z = z_delta(c, i_n);
                for (k, zk) in z.iter().enumerate() {
                    assert_eq!(cols[1 + k].value(c), *zk, "I = {i_n}, c = {c:b}, k = {k}");
                }
            }
        }
    }

    #[test]
    fn moments_and_means_match_the_dense_sums() {
        for i_n in [3usize, 4, 6, 8] {
            let cols = columns(i_n);
            let ncol = cols.len();
            let ncell = 1usize << i_n;
            let y: Vec<f64> = (0..ncell).map(|c| ((c * 7919) % 13) as f64).collect();
            let cells = JsCells::new(i_n, cols.clone(), y).unwrap();
            let w: Vec<f64> = (0..ncell)
                .map(|c| {
                    if c == 0 {
                        0.0
                    } else {
                        0.5 + ((c * 104729) % 17) as f64 / 3.0
                    }
                })
                .collect();
            let m = cells.moments(&w);
            let x = |c: usize, j: usize| cols[j].value(c as u64);
            for a in 0..ncol {
                for b in a..ncol {
                    let d: f64 = (1..ncell).map(|c| w[c] * x(c, a) * x(c, b)).sum();
                    let got = m[a * ncol + b];
                    assert!((got - d).abs() <= 1e-12 * d.abs(), "{a},{b}: {got} vs {d}");
                }
                let d: f64 = (1..ncell).map(|c| w[c] * x(c, a)).sum();
                assert!((m[ncol * ncol + a] - d).abs() <= 1e-12 * d.abs());
            }
            let beta: Vec<f64> = (0..ncol)
                .map(|j| ((j * 31) % 7) as f64 / 10.0 - 0.3)
                .collect();
            let mu = cells.means(&beta);
            assert_eq!(mu[0], 0.0);
            for c in 1..ncell {
                let eta: f64 = (0..ncol).map(|j| beta[j] * x(c, j)).sum();
                assert!((mu[c] - eta.exp()).abs() <= 1e-13 * eta.exp());
            }
            // Overflowing partial products fall back to e^η.
            let mut big = vec![0.0; ncol];
            big[0] = -700.0;
            big[ncol - 1] = 1e3;
            let mu = cells.means(&big);
            for c in 1..ncell {
                let eta: f64 = (0..ncol).map(|j| big[j] * x(c, j)).sum();
                assert_eq!(mu[c], eta.exp());
            }
        }
    }
}
