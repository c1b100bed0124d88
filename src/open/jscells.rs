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
use crate::glm::{
    CovNeeded, IrlsModel, IrlsSummary, PoissonGlm, StopReason, WlsSystem, irls_r_path_cov,
};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// Largest number of periods (the cells are indexed by u32 bit codes).
const MAX_I: usize = 20;

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
    s: u32,
    /// Index into the entries (row-major q × q upper triangle, then the q column sums).
    dest: u32,
    coef: f64,
}

/// Where each term is read from.
#[derive(Debug, Default, Clone)]
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
    /// An empty plan with room for the terms of `ncol` columns (no reallocation for
    /// the `openp` designs).
    fn new(i_n: usize, ncol: usize) -> Self {
        let per_bit = 4 * ncol;
        Plan {
            full: Vec::with_capacity(2 * ncol * ncol),
            low: (0..i_n).map(|_| Vec::with_capacity(per_bit)).collect(),
            high: (0..i_n).map(|_| Vec::with_capacity(per_bit)).collect(),
            inside: Vec::with_capacity(ncol * ncol / 2),
        }
    }

    fn push(&mut self, i_n: usize, m: u64, s: u64, dest: usize, coef: f64) -> Result<()> {
        if m & s != 0 {
            return Ok(());
        }
        let t = Term {
            s: s as u32,
            dest: dest as u32,
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
                s: (((1u64 << i_n) - 1) & !m) as u32,
                dest: dest as u32,
                coef,
            });
        } else {
            return Err(Error::Numerical {
                reason: format!("openp cells: no sum for the column product ({m:#b}, {s:#b})"),
            });
        }
        Ok(())
    }

    /// Terms of `Σ_c w_c a(c) b(c)` (b = None: the column sum of a).
    fn product(
        &mut self,
        i_n: usize,
        a: &JsColumn,
        b: Option<&JsColumn>,
        dest: usize,
    ) -> Result<()> {
        match (a, b) {
            (JsColumn::Zero(m), None) => self.push(i_n, *m, 0, dest, 1.0),
            (JsColumn::Poly(p), None) => {
                for &(s, c) in p {
                    self.push(i_n, 0, s, dest, c)?;
                }
                Ok(())
            }
            (JsColumn::Zero(m1), Some(JsColumn::Zero(m2))) => self.push(i_n, m1 | m2, 0, dest, 1.0),
            (JsColumn::Zero(m), Some(JsColumn::Poly(p)))
            | (JsColumn::Poly(p), Some(JsColumn::Zero(m))) => {
                for &(s, c) in p {
                    self.push(i_n, *m, s, dest, c)?;
                }
                Ok(())
            }
            (JsColumn::Poly(p), Some(JsColumn::Poly(q))) => {
                for &(s, c) in p {
                    for &(t, d) in q {
                        self.push(i_n, 0, s | t, dest, c * d)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// The terms in one array, by segment.
    fn flat(&self) -> FlatPlan {
        let i_n = self.low.len();
        let mut terms = Vec::new();
        let mut bounds = vec![0];
        for seg in self
            .low
            .iter()
            .chain([&self.full])
            .chain(&self.high)
            .chain([&self.inside])
        {
            terms.extend_from_slice(seg);
            bounds.push(terms.len());
        }
        FlatPlan { i_n, terms, bounds }
    }
}

/// A [`Plan`]'s terms in one array: segment k < I the reads of `low[k]`, segment I
/// `full`, segment I + 1 + k `high[k]`, segment 2I + 1 `inside`.
#[derive(Debug, Clone)]
struct FlatPlan {
    i_n: usize,
    terms: Vec<Term>,
    /// Segment j is `terms[bounds[j]..bounds[j + 1]]`.
    bounds: Vec<usize>,
}

impl FlatPlan {
    fn seg(&self, j: usize) -> &[Term] {
        &self.terms[self.bounds[j]..self.bounds[j + 1]]
    }

    /// The terms whose destination `map` keeps, renumbered (`map[dest] = u32::MAX`:
    /// dropped).
    fn select(&self, map: &[u32]) -> FlatPlan {
        let mut terms = Vec::with_capacity(self.terms.len());
        let mut bounds = Vec::with_capacity(self.bounds.len());
        bounds.push(0);
        for w in self.bounds.windows(2) {
            terms.extend(
                self.terms[w[0]..w[1]]
                    .iter()
                    .filter(|t| map[t.dest as usize] != u32::MAX)
                    .map(|t| Term {
                        dest: map[t.dest as usize],
                        ..*t
                    }),
            );
            bounds.push(terms.len());
        }
        FlatPlan {
            i_n: self.i_n,
            terms,
            bounds,
        }
    }

    /// Sets entry `dest` of `out` (continued by `more`: entry `out.len() + i` is
    /// `more[i]`) to the sum of its terms' `coef · D(M, S)` of `w` (by bit code,
    /// w[0] = 0); entries with no term are left as they are. `a` is scratch of 2^I
    /// entries.
    ///
    /// Each entry's terms are one run in one segment (one column product, one mask M),
    /// so each entry is set once, to `0.0 + Σ` (summed from 0.0 in term order): what
    /// adding the sum to a zeroed entry gives, bit for bit, without zeroing first.
    fn run(&self, w: &[f64], a: &mut [f64], out: &mut [f64], more: &mut [f64]) {
        let i_n = self.i_n;
        let nout = out.len();
        let mut out = |d: usize, v: f64| {
            if d < nout {
                out[d] = 0.0 + v;
            } else {
                more[d - nout] = 0.0 + v;
            }
        };
        // Terms of one entry are consecutive: summed in a register, then stored.
        fn read<F: FnMut(usize, f64)>(out: &mut F, terms: &[Term], a: &[f64]) {
            let mut i = 0;
            while i < terms.len() {
                let d = terms[i].dest;
                let mut acc = 0.0;
                while i < terms.len() && terms[i].dest == d {
                    acc += terms[i].coef * a[terms[i].s as usize];
                    i += 1;
                }
                out(d as usize, acc);
            }
        }
        a.copy_from_slice(w);
        for k in (0..i_n).rev() {
            read(&mut out, self.seg(k), a);
            superset_step(a, k);
        }
        read(&mut out, self.seg(i_n), a);
        if self.bounds[2 * i_n + 1] > self.bounds[i_n + 1] {
            // Reads before bit k touch S < 2^k only: the lower half suffices.
            let half = 1usize << (i_n - 1);
            let a = &mut a[..half];
            a.copy_from_slice(&w[..half]);
            for k in 0..i_n {
                read(&mut out, self.seg(i_n + 1 + k), a);
                if k + 1 < i_n {
                    superset_step(a, k);
                }
            }
        }
        for t in self.seg(2 * i_n + 1) {
            let m = t.s as usize;
            let mut sum = 0.0;
            let lo = m.trailing_zeros().min(usize::BITS - 1);
            let top = m >> lo;
            if top & (top + 1) == 0 {
                // No bit or a run of bits: its subsets, largest first, are j·2^lo for
                // j = top, top − 1, …, 0.
                for j in (0..=top).rev() {
                    sum += w[j << lo];
                }
            } else {
                let mut s = m;
                loop {
                    sum += w[s];
                    if s == 0 {
                        break;
                    }
                    s = (s - 1) & m;
                }
            }
            out(t.dest as usize, t.coef * sum);
        }
    }
}

/// What a set of cells shares with every other set on the same periods and columns: the
/// plans of the column products and sums, and the active-column plans of the fits run
/// so far. None of it depends on the counts, so it is built once per process and design
/// ([`Design::get`]) and shared, as an FFT library keeps its plans: a bootstrap or a
/// simulation of `openp` pays for it on its first replicate only.
struct Design {
    i_n: usize,
    cols: Vec<JsColumn>,
    /// Terms of every column pair (a ≤ b at a·ncol + b) and column sum (ncol² + a).
    plan: FlatPlan,
    /// Terms of the column sums alone (at a).
    sums: FlatPlan,
    /// Per entry of `plan`, whether any term sets it.
    has_terms: Vec<bool>,
    /// Distinct monomials S of the Poly columns.
    monos: Vec<usize>,
    /// Per cell, f·I + l for its first and last capture f ≤ l (0-based).
    first_last: Vec<u16>,
    /// The plans of the active-column sets fitted on this design (at most
    /// [`Design::MAX_ACTIVE`], the oldest dropped first).
    active: Mutex<Vec<(Vec<bool>, Arc<ActivePlan>)>>,
}

/// The plan of one set of active columns ([`FlatPlan::select`] of the design's).
struct ActivePlan {
    /// The terms of the active columns' pairs (a ≤ b at a·q + b) and sums (q² + a).
    plan: FlatPlan,
    /// The entries a ≤ b (at a·q + b) and sums (at q² + a) that no term sets: zeroed
    /// before each run of `plan`.
    unset: Vec<u32>,
}

/// Designs built so far (at most [`Design::MAX_DESIGNS`], the oldest dropped first).
static DESIGNS: Mutex<Vec<Arc<Design>>> = Mutex::new(Vec::new());

/// A lock that survives a panic elsewhere (the cached plans are never left half-made:
/// each is built outside the lock and pushed whole).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Design {
    const MAX_DESIGNS: usize = 16;
    const MAX_ACTIVE: usize = 64;

    /// The design of `cols` on `i_n` periods, from the cache or built (and cached).
    fn get(i_n: usize, cols: Vec<JsColumn>) -> Result<Arc<Design>> {
        if let Some(d) = lock(&DESIGNS)
            .iter()
            .find(|d| d.i_n == i_n && d.cols == cols)
        {
            return Ok(Arc::clone(d));
        }
        let d = Arc::new(Design::build(i_n, cols)?);
        let mut cache = lock(&DESIGNS);
        // Another thread may have built the same design meanwhile: keep one.
        if let Some(e) = cache.iter().find(|e| e.i_n == i_n && e.cols == d.cols) {
            return Ok(Arc::clone(e));
        }
        if cache.len() >= Self::MAX_DESIGNS {
            cache.remove(0);
        }
        cache.push(Arc::clone(&d));
        Ok(d)
    }

    fn build(i_n: usize, cols: Vec<JsColumn>) -> Result<Design> {
        let ncol = cols.len();
        let ncell = 1usize << i_n;
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
        let mut plan = Plan::new(i_n, ncol);
        let mut sums = Plan::new(i_n, ncol);
        for a in 0..ncol {
            for b in a..ncol {
                plan.product(i_n, &cols[a], Some(&cols[b]), a * ncol + b)?;
            }
            plan.product(i_n, &cols[a], None, ncol * ncol + a)?;
            sums.product(i_n, &cols[a], None, a)?;
        }
        let (plan, sums) = (plan.flat(), sums.flat());
        let mut has_terms = vec![false; ncol * ncol + ncol];
        for t in &plan.terms {
            has_terms[t.dest as usize] = true;
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
        let first_last = (0..ncell)
            .map(|c: usize| {
                if c == 0 {
                    0
                } else {
                    let l = (usize::BITS - 1 - c.leading_zeros()) as usize;
                    (c.trailing_zeros() as usize * i_n + l) as u16
                }
            })
            .collect();
        Ok(Design {
            i_n,
            cols,
            plan,
            sums,
            has_terms,
            monos,
            first_last,
            active: Mutex::new(Vec::new()),
        })
    }

    /// The plan of the columns where `active` is true, from the cache or built.
    fn active_plan(&self, active: &[bool]) -> Arc<ActivePlan> {
        if let Some((_, p)) = lock(&self.active).iter().find(|(a, _)| a == active) {
            return Arc::clone(p);
        }
        let ncol = self.cols.len();
        let act: Vec<usize> = (0..ncol).filter(|&j| active[j]).collect();
        let q = act.len();
        let mut map = vec![u32::MAX; ncol * ncol + ncol];
        for (a, &ja) in act.iter().enumerate() {
            for (b, &jb) in act.iter().enumerate().skip(a) {
                map[ja * ncol + jb] = (a * q + b) as u32;
            }
            map[ncol * ncol + ja] = (q * q + a) as u32;
        }
        let plan = self.plan.select(&map);
        let mut unset = Vec::new();
        for (a, &ja) in act.iter().enumerate() {
            for (b, &jb) in act.iter().enumerate().skip(a) {
                if !self.has_terms[ja * ncol + jb] {
                    unset.push((a * q + b) as u32);
                }
            }
            if !self.has_terms[ncol * ncol + ja] {
                unset.push((q * q + a) as u32);
            }
        }
        let p = Arc::new(ActivePlan { plan, unset });
        let mut cache = lock(&self.active);
        if let Some((_, e)) = cache.iter().find(|(a, _)| a == active) {
            return Arc::clone(e);
        }
        if cache.len() >= Self::MAX_ACTIVE {
            cache.remove(0);
        }
        cache.push((active.to_vec(), Arc::clone(&p)));
        p
    }
}

/// The cells with their counts, and the columns.
pub(crate) struct JsCells {
    i_n: usize,
    /// The plans, shared by every set of cells on the same periods and columns.
    design: Arc<Design>,
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
    /// XᵀWX (upper triangle) and XᵀWz (all columns) at R's start, W = y + 0.1,
    /// Wz = W ln W − 0.1.
    start: Vec<f64>,
}

/// A fit on a set of active columns: full-length coefficients (0 for inactive columns)
/// and the active columns' covariance ([`CellFit::cov`]: 0 for inactive ones).
pub(crate) struct CellFit {
    pub beta: Vec<f64>,
    /// Per column, its position among the active columns (`usize::MAX`: inactive).
    pos: Vec<usize>,
    /// Covariance of the active columns.
    cov_active: DMatrix<f64>,
    pub deviance: f64,
    pub aic: f64,
    pub df: i64,
    pub stop: StopReason,
    /// Fitted means by capture history (bit code).
    pub mu: Vec<f64>,
}

impl CellFit {
    /// Covariance of columns i and j (0 when either is inactive).
    pub fn cov(&self, i: usize, j: usize) -> f64 {
        match (self.pos[i], self.pos[j]) {
            (a, b) if a != usize::MAX && b != usize::MAX => self.cov_active[(a, b)],
            _ => 0.0,
        }
    }

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
    /// [`Error::InvalidData`] for more than 20 periods or counts not of length 2^I;
    /// [`Error::Numerical`] for a `Zero` mask that is neither a run of first nor of last
    /// periods.
    pub fn new(i_n: usize, cols: Vec<JsColumn>, mut y: Vec<f64>) -> Result<Self> {
        if !(1..=MAX_I).contains(&i_n) || y.len() != 1 << i_n {
            return Err(Error::invalid(format!(
                "openp cells: {i_n} periods and {} counts (at most {MAX_I} periods, 2^I counts)",
                y.len()
            )));
        }
        let ncol = cols.len();
        let ncell = 1usize << i_n;
        y[0] = 0.0;
        let design = Design::get(i_n, cols)?;
        let n = y.iter().sum();
        let ylny = y.iter().filter(|&&v| v > 0.0).map(|v| v * v.ln()).sum();
        let lgy = y
            .iter()
            .filter(|&&v| v > 1.0)
            .map(|v| ln_gamma(v + 1.0))
            .sum();
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
        let mut a = vec![0.0; ncell];
        let mut start = vec![0.0; ncol * ncol + ncol];
        let (xtwx0, sums0) = start.split_at_mut(ncol * ncol);
        design.plan.run(&w, &mut a, xtwx0, sums0);
        let mut xtwz = vec![0.0; ncol];
        design.sums.run(&r, &mut a, &mut xtwz, &mut []);
        start[ncol * ncol..].copy_from_slice(&xtwz);
        let mut xty = vec![0.0; ncol];
        design.sums.run(&y, &mut a, &mut xty, &mut []);
        Ok(JsCells {
            i_n,
            design,
            y,
            xty,
            n,
            ylny,
            lgy,
            start,
        })
    }

    fn ncol(&self) -> usize {
        self.design.cols.len()
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.design.cols.len()
    }

    /// Σ y, the number of units caught.
    pub fn n_total(&self) -> f64 {
        self.n
    }

    /// Number of cells.
    pub fn n_cells(&self) -> usize {
        (1 << self.i_n) - 1
    }

    /// Σ_c μ_c x_c over every column, μ by bit code.
    pub fn xt(&self, mu: &[f64]) -> Vec<f64> {
        let mut a = vec![0.0; mu.len()];
        let mut g = vec![0.0; self.ncol()];
        self.design.sums.run(mu, &mut a, &mut g, &mut []);
        g
    }

    /// μ_c = e^{η_c} by bit code (μ_0 = 0) at full-length coefficients β into `g`, and
    /// Σ μ; `lg` is scratch of 2^I entries, `efl` of I² entries.
    fn means(&self, beta: &[f64], g: &mut [f64], lg: &mut [f64], efl: &mut [f64]) -> f64 {
        let i_n = self.i_n;
        // ln of the factors: per monomial, per first capture f, per last capture l.
        let mut first = [0.0; MAX_I + 1];
        let mut last = [0.0; MAX_I + 1];
        for &s in &self.design.monos {
            lg[s] = 0.0;
        }
        for (col, &b) in self.design.cols.iter().zip(beta) {
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
                        // last capture l < k
                        last[k] += b;
                    }
                }
            }
        }
        g.fill(1.0);
        for &s in &self.design.monos {
            g[s] = lg[s].exp();
        }
        for k in 0..i_n {
            subset_product_step(g, k);
        }
        // e^{Σ β} over the Zero columns by first capture (cumulative upwards) and by last
        // capture (cumulative downwards).
        let mut ef = [0.0; MAX_I];
        let mut el = [0.0; MAX_I];
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
        for v in ef[..i_n].iter_mut().chain(el[..i_n].iter_mut()) {
            *v = v.exp();
        }
        // One factor per (first, last) capture pair, looked up by the cell's index.
        let efl = &mut efl[..i_n * i_n];
        for f in 0..i_n {
            for l in f..i_n {
                efl[f * i_n + l] = ef[f] * el[l];
            }
        }
        g[0] = 0.0;
        for (gc, &fl) in g[1..].iter_mut().zip(&self.design.first_last[1..]) {
            *gc *= efl[fl as usize];
        }
        // Σ μ over four accumulators; a non-finite mean makes it non-finite, and no
        // product of positive factors is negative.
        // (g[0] = 0 adds nothing.)
        let mut acc = [0.0f64; 4];
        for ch in g.chunks_exact(4) {
            for t in 0..4 {
                acc[t] += ch[t];
            }
        }
        let zero = g[1..].iter().fold(false, |z, &m| z | (m == 0.0));
        let mut tot = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for &m in g.chunks_exact(4).remainder() {
            tot += m;
        }
        let ok = tot.is_finite() && !zero;
        if !ok {
            tot = 0.0;
            for (c, gc) in g.iter_mut().enumerate().skip(1) {
                let eta: f64 = self
                    .design
                    .cols
                    .iter()
                    .zip(beta)
                    .map(|(col, b)| b * col.value(c as u64))
                    .sum();
                *gc = eta.exp();
                tot += *gc;
            }
        }
        tot
    }

    /// Fits the columns in `active` (the others held at 0) along R's path; `se_only`
    /// = k: only the variances of the last k active columns are computed (the other
    /// covariance entries are NaN), 0: the whole covariance.
    pub fn fit(&self, active: &[bool], se_only: usize) -> Result<CellFit> {
        let model = ActiveCells::new(self, active);
        let q = model.act.len();
        let cov = if se_only == 0 {
            CovNeeded::Full
        } else {
            CovNeeded::TrailingDiagonal(q.saturating_sub(se_only))
        };
        let f = irls_r_path_cov(&model, &PoissonGlm::default(), cov)?;
        Ok(model.expand(f))
    }
}

/// One step of the superset-sum transform: a[c] += a[c | 2^k] for c without bit k.
fn superset_step(a: &mut [f64], k: usize) {
    match k {
        0 => {
            for c in a.chunks_exact_mut(2) {
                c[0] += c[1];
            }
        }
        1 => {
            for c in a.chunks_exact_mut(4) {
                c[0] += c[2];
                c[1] += c[3];
            }
        }
        _ => {
            let h = 1usize << k;
            for chunk in a.chunks_exact_mut(2 * h) {
                let (lo, hi) = chunk.split_at_mut(h);
                for (x, y) in lo.iter_mut().zip(hi.iter()) {
                    *x += *y;
                }
            }
        }
    }
}

/// One step of the subset-product transform: g[c] *= g[c − 2^k] for c with bit k.
fn subset_product_step(g: &mut [f64], k: usize) {
    match k {
        0 => {
            for c in g.chunks_exact_mut(2) {
                c[1] *= c[0];
            }
        }
        1 => {
            for c in g.chunks_exact_mut(4) {
                c[2] *= c[0];
                c[3] *= c[1];
            }
        }
        _ => {
            let h = 1usize << k;
            for chunk in g.chunks_exact_mut(2 * h) {
                let (lo, hi) = chunk.split_at_mut(h);
                for (y, x) in hi.iter_mut().zip(lo.iter()) {
                    *y *= *x;
                }
            }
        }
    }
}

/// Scratch of one fit.
struct Scratch {
    /// 2^I entries for the transforms.
    a: Vec<f64>,
    /// The q column sums.
    out: Vec<f64>,
    /// The means at the last evaluated β, by bit code (the engine always steps from
    /// the β it evaluated last).
    mu: Vec<f64>,
    /// Full-length coefficients.
    beta: Vec<f64>,
    /// The I² (first, last) capture factors of [`JsCells::means`].
    efl: Vec<f64>,
}

/// [`JsCells`] restricted to active columns, the model [`irls_r_path`] iterates on.
struct ActiveCells<'a> {
    cells: &'a JsCells,
    /// Active column indices.
    act: Vec<usize>,
    /// The active columns' plan, from the design's cache.
    plan: Arc<ActivePlan>,
    scratch: RefCell<Scratch>,
}

impl<'a> ActiveCells<'a> {
    fn new(cells: &'a JsCells, active: &[bool]) -> Self {
        let act: Vec<usize> = (0..cells.ncol()).filter(|&j| active[j]).collect();
        let q = act.len();
        ActiveCells {
            cells,
            plan: cells.design.active_plan(active),
            scratch: RefCell::new(Scratch {
                a: vec![0.0; 1 << cells.i_n],
                out: vec![0.0; q],
                mu: vec![0.0; 1 << cells.i_n],
                beta: vec![0.0; cells.ncol()],
                efl: vec![0.0; cells.i_n * cells.i_n],
            }),
            act,
        }
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
        let mut pos = vec![usize::MAX; p];
        for (a, &ja) in self.act.iter().enumerate() {
            beta[ja] = f.coefficients[a];
            pos[ja] = a;
        }
        let aic = f.aic();
        CellFit {
            beta,
            pos,
            cov_active: f.covariance,
            deviance: f.deviance,
            aic,
            df: f.df_residual,
            stop: f.stop,
            mu: f.fitted,
        }
    }
}

impl IrlsModel for ActiveCells<'_> {
    /// The fitted means by bit code are kept in the scratch.
    type State = ();

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

    fn evaluate(&self, beta: &[f64]) -> ((), f64) {
        let tot = {
            let mut sc = self.scratch.borrow_mut();
            let Scratch {
                a,
                mu,
                beta: b,
                efl,
                ..
            } = &mut *sc;
            for (i, &j) in self.act.iter().enumerate() {
                b[j] = beta[i];
            }
            self.cells.means(b, mu, a, efl)
        };
        let dev = 2.0 * (self.cells.ylny - self.yeta(beta) - (self.cells.n - tot));
        ((), dev)
    }

    /// Newton steps: at β, XᵀWX = Σ μ x xᵀ and the score Xᵀ(y − μ); at R's start
    /// (β = 0, W = y + 0.1), XᵀWX and XᵀWz with Wz = W ln W − 0.1.
    fn system(&self, at: Option<(&[f64], &())>) -> WlsSystem {
        let q = self.act.len();
        let mut xtwx = DMatrix::zeros(q, q);
        let mut score = DVector::zeros(q);
        self.newton_in_place(at, xtwx.as_mut_slice(), score.as_mut_slice());
        xtwx.fill_upper_triangle_with_lower_triangle();
        WlsSystem::Newton { xtwx, score }
    }

    /// Newton steps: at β, XᵀWX = Σ μ x xᵀ and the score Xᵀ(y − μ); at R's start
    /// (β = 0, W = y + 0.1), XᵀWX and XᵀWz with Wz = W ln W − 0.1.
    fn newton_in_place(
        &self,
        at: Option<(&[f64], &())>,
        xtwx: &mut [f64],
        score: &mut [f64],
    ) -> bool {
        let q = self.act.len();
        let ncol = self.cells.ncol();
        match at {
            Some(_) => {
                let mut sc = self.scratch.borrow_mut();
                let Scratch { a, out, mu, .. } = &mut *sc;
                // Entry (a, b), a ≤ b, at a·q + b: column a, row b of the lower triangle,
                // every one set (the upper triangle is never read).
                for &d in &self.plan.unset {
                    let d = d as usize;
                    if d < q * q {
                        xtwx[d] = 0.0;
                    } else {
                        out[d - q * q] = 0.0;
                    }
                }
                self.plan.plan.run(mu, a, xtwx, out);
                for i in 0..q {
                    score[i] = self.cells.xty[self.act[i]] - out[i];
                }
            }
            None => {
                let st = &self.cells.start;
                for (i, &ji) in self.act.iter().enumerate() {
                    for (j, &jj) in self.act.iter().enumerate().skip(i) {
                        xtwx[i * q + j] = st[ji * ncol + jj];
                    }
                    score[i] = st[ncol * ncol + ji];
                }
            }
        }
        true
    }

    fn summary(&self, beta: &[f64], _: ()) -> IrlsSummary {
        let mu = std::mem::take(&mut self.scratch.borrow_mut().mu);
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
    fn cells_on_one_design_share_its_plans_and_fit_alike() {
        // Two sets of counts on the same periods and columns: one design, built once;
        // a fit on cells whose design came from the cache is the fit on a fresh build.
        let i_n = 6;
        let y1: Vec<f64> = (0..1 << i_n)
            .map(|c| ((c * 7919) % 13 + 1) as f64)
            .collect();
        let y2: Vec<f64> = (0..1 << i_n)
            .map(|c| ((c * 104729) % 11 + 2) as f64)
            .collect();
        let a = JsCells::new(i_n, columns(i_n), y1.clone()).unwrap();
        let b = JsCells::new(i_n, columns(i_n), y2).unwrap();
        assert!(Arc::ptr_eq(&a.design, &b.design));
        let active: Vec<bool> = (0..a.ncol()).map(|j| j < 2 * i_n - 1).collect();
        let cached = a.fit(&active, 0).unwrap();
        let fresh = JsCells {
            design: Arc::new(Design::build(i_n, columns(i_n)).unwrap()),
            ..JsCells::new(i_n, columns(i_n), y1).unwrap()
        };
        assert!(!Arc::ptr_eq(&a.design, &fresh.design));
        let again = fresh.fit(&active, 0).unwrap();
        assert_eq!(cached.beta, again.beta);
        assert_eq!(cached.deviance, again.deviance);
        assert_eq!(cached.cov_active, again.cov_active);
        // A different design is another entry.
        let c = JsCells::new(i_n + 1, columns(i_n + 1), vec![1.0; 1 << (i_n + 1)]).unwrap();
        assert!(!Arc::ptr_eq(&a.design, &c.design));
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
    fn each_entry_is_set_by_one_run_of_terms() {
        // `FlatPlan::run` sets each entry once (not adds): its terms must be one
        // consecutive run in one segment, and an `inside` entry one term.
        for i_n in 3..=9 {
            let cells = JsCells::new(i_n, columns(i_n), vec![1.0; 1 << i_n]).unwrap();
            for plan in [&cells.design.plan, &cells.design.sums] {
                let mut seen = std::collections::HashSet::new();
                let mut last = None;
                for w in plan.bounds.windows(2) {
                    for t in &plan.terms[w[0]..w[1]] {
                        if last != Some(t.dest) {
                            assert!(seen.insert(t.dest), "I = {i_n}: entry {} split", t.dest);
                        }
                        last = Some(t.dest);
                    }
                    last = None;
                }
                let inside = plan.seg(2 * i_n + 1);
                for w in inside.windows(2) {
                    assert_ne!(w[0].dest, w[1].dest);
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
            let mut m = vec![0.0; ncol * ncol + ncol];
            let (m0, m1) = m.split_at_mut(ncol * ncol);
            cells.design.plan.run(&w, &mut vec![0.0; ncell], m0, m1);
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
            let (mut mu, mut lg) = (vec![0.0; ncell], vec![0.0; ncell]);
            let mut efl = vec![0.0; i_n * i_n];
            let tot = cells.means(&beta, &mut mu, &mut lg, &mut efl);
            assert_eq!(mu[0], 0.0);
            assert!((tot - mu.iter().sum::<f64>()).abs() <= 1e-12 * tot);
            for c in 1..ncell {
                let eta: f64 = (0..ncol).map(|j| beta[j] * x(c, j)).sum();
                assert!((mu[c] - eta.exp()).abs() <= 1e-13 * eta.exp());
            }
            // Overflowing partial products fall back to e^η.
            let mut big = vec![0.0; ncol];
            big[0] = -700.0;
            big[ncol - 1] = 1e3;
            cells.means(&big, &mut mu, &mut lg, &mut efl);
            for c in 1..ncell {
                let eta: f64 = (0..ncol).map(|j| big[j] * x(c, j)).sum();
                assert_eq!(mu[c], eta.exp());
            }
        }
    }
}
