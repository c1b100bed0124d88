//! Log-linear Jolly-Seber model for open populations (`Rcapture::openp`).

use super::demog::demography;
use super::dual::Dual;
use super::factored::z_delta;
use super::jscells::{CellFit, JsCells, JsColumn};
use super::{Coef, Figure, ModelFit, OpenFit};
use crate::data::CaptureHistories;
use crate::data::canonical_history;
use crate::error::{Error, Result};
use crate::glm::{GlmFit, PoissonGlm};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Capture-probability structure of [`openp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpenModel {
    /// Unconstrained capture probabilities ("up"): first and last periods' p, N, the
    /// last survival and the first and last births are not estimable.
    Up,
    /// Equal capture probabilities ("ep"): everything estimable.
    Ep,
}

impl OpenModel {
    /// Rcapture's label.
    pub fn label(self) -> &'static str {
        match self {
            OpenModel::Up => "up",
            OpenModel::Ep => "ep",
        }
    }
}

/// Which capture histories enter the fit (Rcapture's `keep`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Keep {
    /// All 2^I − 1 histories.
    #[default]
    All,
    /// Only histories with at least this many captures (e.g. 2 to set aside transients).
    MinCaptures(u32),
    /// All histories except these (bit codes, bit j = period j + 1).
    Exclude(Vec<u64>),
}

/// Settings of [`openp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenParams {
    /// Capture-probability structure.
    pub model: OpenModel,
    /// Set negative gamma parameters to zero and refit (survivals in [0, 1], births ≥ 0).
    pub neg: bool,
    /// Histories used in the fit.
    pub keep: Keep,
}

impl Default for OpenParams {
    fn default() -> Self {
        OpenParams {
            model: OpenModel::Up,
            neg: true,
            keep: Keep::All,
        }
    }
}

impl OpenParams {
    /// Default settings (`up`, `neg = TRUE`, all histories), as Rcapture.
    pub fn params() -> Self {
        Self::default()
    }

    /// Sets the model.
    pub fn model(mut self, m: OpenModel) -> Self {
        self.model = m;
        self
    }

    /// Sets the `neg` rule.
    pub fn neg(mut self, neg: bool) -> Self {
        self.neg = neg;
        self
    }

    /// Sets the histories kept.
    pub fn keep(mut self, keep: Keep) -> Self {
        self.keep = keep;
        self
    }
}

/// Largest number of periods accepted by the 2^I-cell log-linear fits.
pub(crate) const MAX_PERIODS_T: usize = 20;

/// IRLS as R's `glm` (start from μ = y + 0.1, relative deviance change 1e-8, 25
/// iterations, covariance at the last step's weights as `summary.glm`) on the selected
/// columns, so that boundary fits stop where R stops.
pub(crate) fn r_glm(
    x: &DMatrix<f64>,
    cols: &[usize],
    y: &[f64],
    offset: Option<&[f64]>,
    weights: Option<&[f64]>,
) -> Result<(GlmFit, DMatrix<f64>)> {
    let xs = x.select_columns(cols.iter());
    let f = PoissonGlm::params().fit_dense(&xs, y, offset, weights)?;
    Ok((f, xs))
}

/// Full-length coefficients and covariance (zeros for removed columns, NaN coefficient
/// for aliased ones) from a fit on the `cols` subset.
pub(crate) fn expand(f: &GlmFit, cols: &[usize], p: usize) -> (Vec<f64>, DMatrix<f64>) {
    let mut beta = vec![0.0; p];
    let mut cov = DMatrix::zeros(p, p);
    for (a, &ja) in cols.iter().enumerate() {
        beta[ja] = f.coefficients[a];
        if f.coefficients[a].is_nan() {
            continue;
        }
        for (b, &jb) in cols.iter().enumerate() {
            if f.coefficients[b].is_nan() {
                continue;
            }
            cov[(ja, jb)] = f.covariance[(a, b)];
        }
    }
    (beta, cov)
}

/// Refits after zeroing negative parameters one at a time (Rcapture's `neg` rule): the
/// first negative tested coefficient (in column order) is removed, the model refitted,
/// until none is negative. Returns the fit, the active columns and the 1-based removed
/// positions.
#[allow(clippy::type_complexity)]
pub(crate) fn neg_loop(
    x: &DMatrix<f64>,
    y: &[f64],
    offset: Option<&[f64]>,
    weights: Option<&[f64]>,
    tested: &[usize],
    neg: bool,
) -> Result<(GlmFit, Vec<usize>, Vec<usize>)> {
    let p = x.ncols();
    let mut cols: Vec<usize> = (0..p).collect();
    let (mut fit, _) = r_glm(x, &cols, y, offset, weights)?;
    if !fit.stop.converged() {
        return Err(Error::NotConverged {
            iterations: fit.stop.iterations(),
            reason: "the Poisson log-linear fit (IRLS, as R's glm) did not converge".into(),
        });
    }
    let mut removed = Vec::new();
    if neg {
        loop {
            let (beta, _) = expand(&fit, &cols, p);
            let Some(&pos) = tested.iter().find(|&&j| cols.contains(&j) && beta[j] < 0.0) else {
                break;
            };
            removed.push(pos + 1);
            cols.retain(|&j| j != pos);
            fit = r_glm(x, &cols, y, offset, weights)?.0;
        }
    }
    removed.sort_unstable();
    Ok((fit, cols, removed))
}

fn coef_list(names: &[String], beta: &[f64], cov: &DMatrix<f64>) -> Vec<Coef> {
    names
        .iter()
        .enumerate()
        .map(|(j, n)| Coef {
            name: n.clone(),
            estimate: super::finite(beta[j]),
            se: if beta[j].is_finite() {
                Some(cov[(j, j)].max(0.0).sqrt())
            } else {
                None
            },
        })
        .collect()
}

pub(crate) fn model_fit(label: &str, f: &GlmFit) -> ModelFit {
    ModelFit {
        label: label.to_string(),
        deviance: f.deviance,
        df: f.df_residual,
        aic: f.aic(),
    }
}

/// Extra test columns appended to the active design: returns the fit and its coefficients
/// for the added columns, or `None` when all were aliased.
pub(crate) fn test_fit(
    x: &DMatrix<f64>,
    cols: &[usize],
    extra: &[Vec<f64>],
    names: &[String],
    y: &[f64],
    offset: Option<&[f64]>,
    weights: Option<&[f64]>,
) -> Result<Option<(GlmFit, Vec<Coef>)>> {
    let n = x.nrows();
    let q = cols.len();
    let mut m = DMatrix::zeros(n, q + extra.len());
    for (a, &j) in cols.iter().enumerate() {
        m.set_column(a, &x.column(j));
    }
    for (b, c) in extra.iter().enumerate() {
        for i in 0..n {
            m[(i, q + b)] = c[i];
        }
    }
    let all: Vec<usize> = (0..q + extra.len()).collect();
    let (f, _) = r_glm(&m, &all, y, offset, weights)?;
    let se = f.std_errors();
    let coefs: Vec<Coef> = (0..extra.len())
        .filter(|b| f.coefficients[q + b].is_finite())
        .map(|b| Coef {
            name: names[b].clone(),
            estimate: Some(f.coefficients[q + b]),
            se: Some(se[q + b]),
        })
        .collect();
    if coefs.is_empty() {
        return Ok(None);
    }
    Ok(Some((f, coefs)))
}

/// √max(Var − N, 0), Rcapture's abundance SE (the Poisson part of the variance removed);
/// NaN stays NaN.
pub(crate) fn se_minus(var: f64, n: f64) -> f64 {
    if var.is_nan() || n.is_nan() {
        f64::NAN
    } else {
        (var - n).max(0.0).sqrt()
    }
}

fn logistic(b: &Dual) -> Dual {
    let e = b.exp();
    &e / &e.add_c(1.0)
}

/// The sparse cells of one history set (all histories kept), built once for every model
/// of a set and every test fit. Columns: the intercept, the 2I − 2 Z_δ gammas, up's
/// I − 2 capture betas (when up is fitted), ep's beta (when ep is), the homogeneous
/// trap effect Σ_j ω_j ω_{j+1}, and up's period trap effects ω_j ω_{j+1} for
/// j = 2..I−2 (I ≥ 5). A fit uses only its active columns and each entry of XᵀWX is
/// formed from its own two columns, so a model's fits do not depend on which other
/// models share the cells (same figures, bit for bit, as cells built for one model).
struct SetCells {
    i_n: usize,
    cells: JsCells,
    /// First column of up's betas.
    up_beta: usize,
    /// Column of ep's beta.
    ep_beta: usize,
    /// Column of the homogeneous trap effect.
    hom: usize,
    /// First of the `n_het` period trap-effect columns (up, I ≥ 5).
    het: usize,
    n_het: usize,
}

/// A model's main fit on the shared cells, after the `neg` rule.
struct MainFit {
    model: OpenModel,
    /// The model's columns (its coefficient order) among the cells' columns.
    cols: Vec<usize>,
    /// Active columns after the `neg` rule.
    active: Vec<bool>,
    fit: CellFit,
    /// 1-based positions zeroed by the `neg` rule.
    zeroed: Vec<usize>,
}

/// Demographic figures and coefficients of a model, from its coefficients and their
/// covariance.
struct Figures {
    capture_p: Vec<Figure>,
    survival: Vec<Figure>,
    n_hat: Vec<Figure>,
    births: Vec<Figure>,
    total: Figure,
    coefficients: Vec<Coef>,
}

impl SetCells {
    fn new(h: &CaptureHistories, i_n: usize, models: &[OpenModel]) -> Result<Self> {
        let all = (1u64 << i_n) - 1;
        let mut cols = vec![JsColumn::Poly(vec![(0, 1.0)])];
        // Z_δ: not caught in periods 1..k+1, not caught in periods I−m..I.
        cols.extend((0..i_n - 1).map(|k| JsColumn::Zero((1 << (k + 1)) - 1)));
        cols.extend((0..i_n - 1).map(|m| JsColumn::Zero(all & !((1 << (i_n - 1 - m)) - 1))));
        let has_up = models.contains(&OpenModel::Up);
        let up_beta = cols.len();
        if has_up {
            cols.extend((1..i_n - 1).map(|j| JsColumn::Poly(vec![(1 << j, 1.0)])));
        }
        let ep_beta = cols.len();
        if models.contains(&OpenModel::Ep) {
            cols.push(JsColumn::Poly((0..i_n).map(|j| (1 << j, 1.0)).collect()));
        }
        // Trap effects: Σ_j ω_j ω_{j+1}, then ω_j ω_{j+1} for j = 2..I−2.
        let hom = cols.len();
        cols.push(JsColumn::Poly(
            (0..i_n - 1).map(|j| (3 << j, 1.0)).collect(),
        ));
        let het = cols.len();
        let n_het = if has_up && i_n >= 5 { i_n - 3 } else { 0 };
        cols.extend((0..n_het).map(|k| JsColumn::Poly(vec![(3 << (k + 1), 1.0)])));
        let y: Vec<f64> = h.cell_counts()?.iter().map(|&v| v as f64).collect();
        Ok(SetCells {
            i_n,
            cells: JsCells::new(i_n, cols, y)?,
            up_beta,
            ep_beta,
            hom,
            het,
            n_het,
        })
    }

    /// The model's columns in its coefficient order (intercept, gammas, betas).
    fn model_cols(&self, model: OpenModel) -> Vec<usize> {
        let i_n = self.i_n;
        let mut c: Vec<usize> = (0..2 * i_n - 1).collect();
        match model {
            OpenModel::Up => c.extend(self.up_beta..self.up_beta + i_n - 2),
            OpenModel::Ep => c.push(self.ep_beta),
        }
        c
    }

    /// The model's fit, with the `neg` rule: negative gammas (those that map to
    /// survival > 1 or births < 0) set to 0 one at a time (first in column order) and
    /// the model refitted.
    #[inline(never)]
    fn main_fit(&self, model: OpenModel, neg: bool) -> Result<MainFit> {
        let i_n = self.i_n;
        let cols = self.model_cols(model);
        let mut active = vec![false; self.cells.n_cols()];
        for &j in &cols {
            active[j] = true;
        }
        let mut fit = self.cells.fit(&active, 0)?;
        if !fit.stop.converged() {
            return Err(Error::NotConverged {
                iterations: fit.stop.iterations(),
                reason: "the Poisson log-linear fit (IRLS, as R's glm) did not converge".into(),
            });
        }
        // Gammas whose sign is checked by the neg rule (the model's 0-based columns).
        let tested: Vec<usize> = match model {
            OpenModel::Ep => (1..2 * i_n - 1).collect(),
            OpenModel::Up => (2..i_n - 1).chain(i_n + 1..2 * i_n - 1).collect(),
        };
        let mut zeroed = Vec::new();
        if neg {
            while let Some(&pos) = tested
                .iter()
                .find(|&&j| active[cols[j]] && fit.beta[cols[j]] < 0.0)
            {
                zeroed.push(pos + 1);
                active[cols[pos]] = false;
                fit = self.cells.fit(&active, 0)?;
            }
        }
        zeroed.sort_unstable();
        Ok(MainFit {
            model,
            cols,
            active,
            fit,
            zeroed,
        })
    }

    /// The homogeneous trap-effect test: the model's active columns and Σ_j ω_j ω_{j+1}.
    #[inline(never)]
    fn hom_fit(&self, m: &MainFit) -> Option<CellFit> {
        let mut act = m.active.clone();
        act[self.hom] = true;
        self.cells.fit(&act, 1).ok()
    }

    /// The period trap-effect test (up, I ≥ 5): the model's active columns and
    /// ω_j ω_{j+1} for j = 2..I−2.
    #[inline(never)]
    fn het_fit(&self, m: &MainFit) -> Option<CellFit> {
        if m.model != OpenModel::Up || self.n_het == 0 {
            return None;
        }
        let mut act = m.active.clone();
        act[self.het..self.het + self.n_het]
            .iter_mut()
            .for_each(|a| *a = true);
        self.cells.fit(&act, self.n_het).ok()
    }

    /// Demography, the total and the coefficients of a main fit.
    #[inline(never)]
    fn figures(&self, m: &MainFit) -> Figures {
        let cols = &m.cols;
        let p = cols.len();
        let beta: Vec<f64> = cols.iter().map(|&j| m.fit.beta[j]).collect();
        let cov = DMatrix::from_fn(p, p, |a, b| m.fit.cov(cols[a], cols[b]));
        let up_grad = (m.model == OpenModel::Up).then(|| {
            let g = self.cells.xt(&m.fit.mu);
            cols.iter().map(|&j| g[j]).collect()
        });
        figures(
            m.model,
            self.i_n,
            &beta,
            &cov,
            0.0,
            up_grad,
            self.cells.n_total(),
        )
    }

    /// The model's [`OpenFit`] from its main fit, its test fits and its figures.
    fn assemble(
        &self,
        h: &CaptureHistories,
        m: MainFit,
        hom: Option<CellFit>,
        het: Option<CellFit>,
        f: Figures,
    ) -> OpenFit {
        fn coef(f: &CellFit, j: usize, name: String) -> Coef {
            Coef {
                name,
                estimate: Some(f.beta[j]),
                se: Some(f.cov(j, j).max(0.0).sqrt()),
            }
        }
        let mut tests = Vec::new();
        let mut test_params = Vec::new();
        if let Some(f) = &hom {
            tests.push(f.model_fit("model with homogenous trap effect"));
        }
        if let Some(f) = &het {
            tests.push(f.model_fit("model with trap effect"));
            test_params.extend(
                (0..self.n_het)
                    .map(|b| coef(f, self.het + b, format!("period {}_{}", b + 2, b + 3))),
            );
        }
        if let Some(f) = &hom {
            test_params.push(coef(f, self.hom, "homogenous trap effect".into()));
        }
        OpenFit {
            model: m.model.label().to_string(),
            period_models: Vec::new(),
            n: h.observed(),
            periods: self.i_n,
            fit: m.fit.model_fit("fitted model"),
            tests,
            test_params,
            capture_p: f.capture_p,
            survival: f.survival,
            n_hat: f.n_hat,
            births: f.births,
            total: f.total,
            coefficients: f.coefficients,
            zeroed: m.zeroed,
            warnings: Vec::new(),
            stop: m.fit.stop,
        }
    }
}

/// I checked against `openp`'s range (3..=20 periods).
fn openp_periods(h: &CaptureHistories) -> Result<usize> {
    let i_n = h.occasions();
    if i_n < 3 {
        return Err(Error::TooFewOccasions {
            method: "openp (log-linear Jolly-Seber)".into(),
            needed: 3,
            got: i_n,
        });
    }
    if i_n > MAX_PERIODS_T {
        return Err(Error::invalid(format!(
            "{i_n} periods: openp fits 2^I − 1 cells and accepts at most {MAX_PERIODS_T} periods"
        )));
    }
    Ok(i_n)
}

/// One piece of a model set's work: task `4k + r` is piece r of model k.
#[derive(Clone, Copy)]
enum Piece {
    Main = 0,
    Figures = 1,
    Hom = 2,
    Het = 3,
}

/// The pieces of a model set on shared cells, each computed once by whichever thread
/// claims it first; every piece is a pure function of the cells and its model's main
/// fit, so the results do not depend on the thread or the order.
struct SetWork<'a> {
    /// Built by the calling thread while the pool's threads wake up; `None` when the
    /// build failed (the caller returns its error).
    cells: OnceLock<Option<SetCells>>,
    models: &'a [OpenModel],
    neg: bool,
    claimed: Vec<AtomicBool>,
    main: Vec<OnceLock<Result<MainFit>>>,
    figures: Vec<OnceLock<Figures>>,
    hom: Vec<OnceLock<Option<CellFit>>>,
    het: Vec<OnceLock<Option<CellFit>>>,
}

impl SetWork<'_> {
    /// Runs the pieces in `order` (task numbers) as they become claimable, first the
    /// earliest in `order` whose model's main fit is done, until none is left that
    /// this thread can start (the thread running a main fit runs what depends on it).
    fn run(&self, order: &[usize]) {
        // A helper woken before the cells are built waits for them (~20 µs).
        let mut spins = 0u32;
        let cells = loop {
            match self.cells.get() {
                Some(Some(c)) => break c,
                Some(None) => return,
                None if spins < 1 << 12 => {
                    spins += 1;
                    std::hint::spin_loop()
                }
                None => std::thread::yield_now(),
            }
        };
        'scan: loop {
            for &t in order {
                let k = t / 4;
                let ready =
                    t % 4 == Piece::Main as usize || matches!(self.main[k].get(), Some(Ok(_)));
                if !ready || self.claimed[t].swap(true, Ordering::AcqRel) {
                    continue;
                }
                let main = || match self.main[k].get() {
                    Some(Ok(m)) => m,
                    _ => unreachable!("a piece claimed before its main fit"),
                };
                match t % 4 {
                    0 => {
                        let _ = self.main[k].set(cells.main_fit(self.models[k], self.neg));
                    }
                    1 => {
                        let _ = self.figures[k].set(cells.figures(main()));
                    }
                    2 => {
                        let _ = self.hom[k].set(cells.hom_fit(main()));
                    }
                    _ => {
                        let _ = self.het[k].set(cells.het_fit(main()));
                    }
                }
                continue 'scan;
            }
            break;
        }
    }
}

/// Fits several `openp` models to the same histories at once, in the order given. With
/// all histories kept, the cells are built once for all models and each model's work is
/// split in pieces (the main fit with the `neg` rule, each trap-effect test fit, the
/// demography): the calling thread starts with the first model's main fit, a thread of
/// rayon's pool with the second's, and each takes the next piece it can start as it
/// finishes one (so list the slowest first; the `estimate --open` model set is
/// `[Up, Ep]`). Each fit is exactly what [`openp`] gives, on any number of threads.
/// `params.model` is ignored; every other setting applies to each model.
///
/// # Errors
/// The first model's error, in the order given, as [`openp`].
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// use darkfigure::open::{openp_models, OpenParams, OpenModel};
/// let h = CaptureHistories::from_strings(&[
///     ("111", 10), ("110", 12), ("101", 6), ("100", 30),
///     ("011", 14), ("010", 25), ("001", 40)]).unwrap();
/// let fits = openp_models(&h, &[OpenModel::Up, OpenModel::Ep], &OpenParams::params()).unwrap();
/// assert_eq!(fits[1].model, "ep");
/// ```
pub fn openp_models(
    h: &CaptureHistories,
    models: &[OpenModel],
    params: &OpenParams,
) -> Result<Vec<OpenFit>> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    if params.keep != Keep::All {
        return openp_models_dense(h, models, params);
    }
    let i_n = openp_periods(h)?;
    let nm = models.len();
    let set_owned = SetWork {
        cells: OnceLock::new(),
        models,
        neg: params.neg,
        claimed: (0..4 * nm).map(|_| AtomicBool::new(false)).collect(),
        main: (0..nm).map(|_| OnceLock::new()).collect(),
        figures: (0..nm).map(|_| OnceLock::new()).collect(),
        hom: (0..nm).map(|_| OnceLock::new()).collect(),
        het: (0..nm).map(|_| OnceLock::new()).collect(),
    };
    // Thread w starts with model w's main fit and its own model's pieces, then the
    // others' pieces, models in order from w on.
    let order = |w: usize, own: &[Piece], others: &[Piece]| -> Vec<usize> {
        (0..nm)
            .map(|i| (w + i) % nm)
            .flat_map(|k| {
                let pieces = if k == w { own } else { others };
                pieces.iter().map(move |&r| 4 * k + r as usize)
            })
            .collect()
    };
    let helpers = nm.min(rayon::current_num_threads()) - 1;
    let set = &set_owned;
    let mut build = Ok(());
    rayon::in_place_scope(|s| {
        // The helpers are spawned first, so that their wake-up overlaps the cells' build.
        for w in 1..=helpers {
            s.spawn(move |_| {
                set.run(&order(
                    w,
                    &[Piece::Main, Piece::Figures, Piece::Hom, Piece::Het],
                    &[Piece::Het, Piece::Hom, Piece::Figures, Piece::Main],
                ))
            });
        }
        // Whatever happens in the build (even a panic), the helpers stop waiting.
        struct Release<'a>(&'a OnceLock<Option<SetCells>>);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                let _ = self.0.set(None);
            }
        }
        let _release = Release(&set.cells);
        match SetCells::new(h, i_n, models) {
            Ok(c) => {
                let _ = set.cells.set(Some(c));
            }
            Err(e) => {
                let _ = set.cells.set(None);
                build = Err(e);
                return;
            }
        }
        set.run(&order(
            0,
            &[Piece::Main, Piece::Figures, Piece::Het, Piece::Hom],
            &[Piece::Main, Piece::Hom, Piece::Het, Piece::Figures],
        ));
    });
    build?;
    let SetWork {
        cells,
        main,
        figures,
        hom,
        het,
        ..
    } = set_owned;
    let cells = cells
        .into_inner()
        .flatten()
        .expect("the cells are built when the build succeeded");
    let mut fits = Vec::with_capacity(nm);
    for ((m, f), (ho, he)) in main.into_iter().zip(figures).zip(hom.into_iter().zip(het)) {
        let m = m.into_inner().expect("every main fit is run")?;
        let f = f
            .into_inner()
            .expect("every fitted model's figures are formed");
        let (ho, he) = (ho.into_inner().flatten(), he.into_inner().flatten());
        fits.push(cells.assemble(h, m, ho, he, f));
    }
    Ok(fits)
}

/// [`openp_models`] with a subset of histories: each model's [`openp`], the first on
/// the calling thread, the others on rayon's pool.
fn openp_models_dense(
    h: &CaptureHistories,
    models: &[OpenModel],
    params: &OpenParams,
) -> Result<Vec<OpenFit>> {
    let fit = |model: OpenModel| {
        openp(
            h,
            &OpenParams {
                model,
                ..params.clone()
            },
        )
    };
    let mut fits: Vec<Option<Result<OpenFit>>> = models.iter().map(|_| None).collect();
    if let Some((first, rest)) = fits.split_first_mut() {
        let fit = &fit;
        rayon::in_place_scope(|s| {
            for (slot, &model) in rest.iter_mut().zip(&models[1..]) {
                s.spawn(move |_| *slot = Some(fit(model)));
            }
            *first = Some(fit(models[0]));
        });
    }
    fits.into_iter().flatten().collect()
}

/// Fits the log-linear Jolly-Seber model of Cormack (1989) and Rivest & Daigle (2004)
/// to histories over I ≥ 3 periods, as `Rcapture::openp`.
///
/// ```text
/// log E[n_ω] = μ + Σ_j γ_j Z_j(ω) + Σ_i β_i ω_i          (2^I − 1 histories ω)
/// up: β_i free for periods 2..I−1;  ep: one β for all periods
/// p*_i = e^{β_i} / (1 + e^{β_i}),  φ, N, B from the gammas (see `demog`)
/// N_tot = N_1 + Σ B_i (ep);  a closed form in μ, γ for up
/// SE: delta method on the Poisson covariance, Var(N̂) − N̂ for abundances
/// ```
/// With `neg`, negative gammas (those that map to survival > 1 or births < 0) are set
/// to 0 one at a time and the model is refitted. Trap-effect tests add Σ_j ω_j ω_{j+1}
/// (homogeneous) and, for `up` with I ≥ 5, ω_j ω_{j+1} for j = 2..I−2.
///
/// # Errors
/// [`Error::TooFewOccasions`] for I < 3; [`Error::InvalidData`] for I > 20 (2^I cells);
/// [`Error::NotConverged`] when IRLS does not converge (as R's `glm` within 25
/// iterations).
///
/// # References
/// Cormack (1989) *Biometrics* 45, 395-413; Rivest & Daigle (2004) *Biometrics* 60,
/// 100-107; Baillargeon & Rivest (2007) *J. Stat. Softw.* 19(5). Matches
/// `Rcapture::openp(X, dfreq = TRUE, m, neg, keep)`.
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// use darkfigure::open::{openp, OpenParams, OpenModel};
/// // Three periods, a handful of histories.
/// let h = CaptureHistories::from_strings(&[
///     ("111", 10), ("110", 12), ("101", 6), ("100", 30),
///     ("011", 14), ("010", 25), ("001", 40)]).unwrap();
/// let f = openp(&h, &OpenParams::params().model(OpenModel::Ep)).unwrap();
/// assert!(f.total.estimate.unwrap() > 137.0);
/// ```
pub fn openp(h: &CaptureHistories, params: &OpenParams) -> Result<OpenFit> {
    let i_n = openp_periods(h)?;
    if params.keep != Keep::All {
        return openp_dense(h, params, i_n);
    }
    // All histories: sparse cells, one build for the model and both trap-effect tests.
    let cells = SetCells::new(h, i_n, &[params.model])?;
    let m = cells.main_fit(params.model, params.neg)?;
    let hom = cells.hom_fit(&m);
    let het = cells.het_fit(&m);
    let f = cells.figures(&m);
    Ok(cells.assemble(h, m, hom, het, f))
}

/// [`openp`] on a subset of histories: the shared PoissonGlm engine with zero weights.
fn openp_dense(h: &CaptureHistories, params: &OpenParams, i_n: usize) -> Result<OpenFit> {
    let ncell = (1usize << i_n) - 1;
    let y: Vec<f64> = h
        .canonical_frequencies()?
        .iter()
        .map(|&v| v as f64)
        .collect();
    let codes: Vec<u64> = (0..ncell).map(|r| canonical_history(i_n, r)).collect();
    let keep: Vec<bool> = match &params.keep {
        Keep::All => vec![true; ncell],
        Keep::MinCaptures(k) => codes.iter().map(|c| c.count_ones() >= *k).collect(),
        Keep::Exclude(ex) => codes.iter().map(|c| !ex.contains(c)).collect(),
    };
    if keep.iter().filter(|&&k| k).count() < 2 {
        return Err(Error::param(
            "keep",
            format!("{:?}", params.keep),
            "at least two histories kept",
        ));
    }
    let weights: Vec<f64> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
    let bit = |c: u64, j: usize| (c >> j & 1) as f64;

    // Design: intercept, gamma_1..gamma_{2I-2}, betas.
    let nbeta = match params.model {
        OpenModel::Up => i_n - 2,
        OpenModel::Ep => 1,
    };
    let p = 1 + (2 * i_n - 2) + nbeta;
    // Cell c's design row (intercept, Z_δ, capture columns) into `row[..p]`.
    let fill_row = |c: u64, row: &mut [f64]| {
        row[0] = 1.0;
        for (k, z) in z_delta(c, i_n).into_iter().enumerate() {
            row[1 + k] = z;
        }
        match params.model {
            OpenModel::Up => {
                for j in 1..i_n - 1 {
                    row[2 * i_n - 1 + (j - 1)] = bit(c, j);
                }
            }
            OpenModel::Ep => row[2 * i_n - 1] = c.count_ones() as f64,
        }
    };
    // Gammas whose sign is checked by the neg rule (0-based columns).
    let tested: Vec<usize> = match params.model {
        OpenModel::Ep => (1..2 * i_n - 1).collect(),
        OpenModel::Up => (2..i_n - 1).chain(i_n + 1..2 * i_n - 1).collect(),
    };
    // Trap-effect columns by bit code: Σ_j ω_j ω_{j+1}, and ω_j ω_{j+1} for
    // j = 2..I−2 (up, I ≥ 5).
    let n_het = if params.model == OpenModel::Up && i_n >= 5 {
        i_n - 3
    } else {
        0
    };
    let homog = || -> Vec<f64> {
        (0..1u64 << i_n)
            .map(|c| (0..i_n - 1).map(|j| bit(c, j) * bit(c, j + 1)).sum())
            .collect()
    };
    let het_cols = || -> Vec<Vec<f64>> {
        (1..n_het + 1)
            .map(|j| {
                (0..1u64 << i_n)
                    .map(|c| bit(c, j) * bit(c, j + 1))
                    .collect()
            })
            .collect()
    };
    let het_names: Vec<String> = (1..i_n - 2)
        .map(|j| format!("period {}_{}", j + 1, j + 2))
        .collect();
    let by_code = |col: &[f64]| -> Vec<f64> { codes.iter().map(|&c| col[c as usize]).collect() };
    let mut tests = Vec::new();
    let mut test_params = Vec::new();
    let mut warnings = Vec::new();
    let mut x = DMatrix::zeros(ncell, p);
    let mut row = vec![0.0; p];
    for (r, &c) in codes.iter().enumerate() {
        row.iter_mut().for_each(|v| *v = 0.0);
        fill_row(c, &mut row);
        for (j, v) in row.iter().enumerate() {
            x[(r, j)] = *v;
        }
    }
    let (fit, cols, zeroed) = neg_loop(&x, &y, None, Some(&weights), &tested, params.neg)?;
    if !fit.aliased.is_empty() {
        warnings.push(
            "the design matrix is not of full rank; some loglinear parameter estimations cannot be evaluated"
                .to_string(),
        );
    }
    let (beta, cov) = expand(&fit, &cols, p);
    let hom = test_fit(
        &x,
        &cols,
        &[by_code(&homog())],
        &["homogenous trap effect".to_string()],
        &y,
        None,
        Some(&weights),
    )?;
    let het = if n_het == 0 {
        None
    } else {
        let extra: Vec<Vec<f64>> = het_cols().iter().map(|c| by_code(c)).collect();
        test_fit(&x, &cols, &extra, &het_names, &y, None, Some(&weights))?
    };
    if let Some((f, _)) = &hom {
        tests.push(model_fit("model with homogenous trap effect", f));
    }
    if let Some((f, c)) = &het {
        tests.push(model_fit("model with trap effect", f));
        test_params.extend(c.iter().cloned());
    }
    if let Some((_, c)) = hom {
        test_params.extend(c);
    }
    // Correction for histories set aside with `keep`.
    let corr: f64 = (0..ncell)
        .filter(|&r| !keep[r])
        .map(|r| y[r] - fit.fitted[r])
        .sum();
    // Σ_c μ_c x_c over all cells (the observed-count term of the `up` total).
    let mut g = vec![0.0; p];
    for r in 0..ncell {
        let eta: f64 = (0..p).map(|j| x[(r, j)] * beta[j]).sum();
        let mu = eta.exp();
        for (j, gj) in g.iter_mut().enumerate() {
            *gj += mu * x[(r, j)];
        }
    }
    let n_total: f64 = y.iter().sum();
    let f = figures(params.model, i_n, &beta, &cov, corr, Some(g), n_total);
    Ok(OpenFit {
        model: params.model.label().to_string(),
        period_models: Vec::new(),
        n: h.observed(),
        periods: i_n,
        fit: model_fit("fitted model", &fit),
        tests,
        test_params,
        capture_p: f.capture_p,
        survival: f.survival,
        n_hat: f.n_hat,
        births: f.births,
        total: f.total,
        coefficients: f.coefficients,
        zeroed,
        warnings,
        stop: fit.stop,
    })
}

/// Demographic parameters, the total and the coefficient table from a model's
/// coefficients `beta` (intercept, gammas, betas) and their covariance: delta-method
/// SEs, Var(N̂) − N̂ for abundances; `corr` is added to the abundances (histories set
/// aside), `up_grad` is Σ_c μ_c x_c (up's total), `n_total` the number caught.
#[inline(never)]
fn figures(
    model: OpenModel,
    i_n: usize,
    beta: &[f64],
    cov: &DMatrix<f64>,
    corr: f64,
    up_grad: Option<Vec<f64>>,
    n_total: f64,
) -> Figures {
    let p = beta.len();
    let interc = Dual::var(beta[0], 0, p);
    let alpha: Vec<Dual> = (0..2 * i_n - 2)
        .map(|k| Dual::var(beta[1 + k], 1 + k, p))
        .collect();
    let pstar: Vec<Dual> = match model {
        OpenModel::Up => (0..i_n)
            .map(|i| {
                if i == 0 || i == i_n - 1 {
                    Dual::cst(0.5, p)
                } else {
                    let c = 2 * i_n - 1 + (i - 1);
                    logistic(&Dual::var(beta[c], c, p))
                }
            })
            .collect(),
        OpenModel::Ep => {
            let c = 2 * i_n - 1;
            let pe = logistic(&Dual::var(beta[c], c, p));
            vec![pe; i_n]
        }
    };
    let d = demography(&interc, &alpha, pstar);
    let se_of = |v: &Dual| v.variance(cov).sqrt();
    let n_se: Vec<f64> = d.n.iter().map(|v| se_minus(v.variance(cov), v.v)).collect();
    let n_corr: Vec<Dual> = d.n.iter().map(|v| v.add_c(corr)).collect();
    let b: Vec<Dual> = (0..i_n - 1)
        .map(|i| &n_corr[i + 1] - &(&n_corr[i] * &d.phi[i]))
        .collect();
    let total = match model {
        OpenModel::Ep => {
            let t = &n_corr[0] + &Dual::sum(&b, p);
            Figure::new(t.v, se_minus(t.variance(cov), t.v))
        }
        OpenModel::Up => {
            let g = up_grad.expect("up's total needs Σ μ x");
            let t = up_total(g, &interc, &alpha, n_total, i_n);
            Figure::new(t.v, se_minus(t.variance(cov), t.v))
        }
    };
    let mut capture_p: Vec<Figure> = d.pstar.iter().map(|v| Figure::new(v.v, se_of(v))).collect();
    let mut survival: Vec<Figure> = d.phi.iter().map(|v| Figure::new(v.v, se_of(v))).collect();
    let mut n_hat: Vec<Figure> = n_corr
        .iter()
        .zip(&n_se)
        .map(|(v, s)| Figure::new(v.v, *s))
        .collect();
    let mut births: Vec<Figure> = b.iter().map(|v| Figure::new(v.v, se_of(v))).collect();
    if model == OpenModel::Up {
        capture_p[0] = Figure::na();
        capture_p[i_n - 1] = Figure::na();
        survival[i_n - 2] = Figure::na();
        n_hat[0] = Figure::na();
        n_hat[i_n - 1] = Figure::na();
        births[0] = Figure::na();
        births[i_n - 2] = Figure::na();
    }
    let mut names = vec!["intercept".to_string()];
    names.extend((1..=2 * i_n - 2).map(|k| format!("gamma{k}")));
    match model {
        OpenModel::Up => names.extend((2..i_n).map(|k| format!("beta{k}"))),
        OpenModel::Ep => names.push("beta".into()),
    }
    Figures {
        capture_p,
        survival,
        n_hat,
        births,
        total,
        coefficients: coef_list(&names, beta, cov),
    }
}

/// Total number ever present under `up` (Rivest & Daigle 2004): the number caught plus
/// the estimated never-caught units that entered after period 1 and left before period I,
/// a closed form in μ and the gammas; aliased gammas count as 0 in its sums, as in
/// Rcapture.
/// `g` is Σ_c μ_c x_c over all cells, the gradient of the observed-count term.
fn up_total(g: Vec<f64>, interc: &Dual, alpha: &[Dual], n: f64, i_n: usize) -> Dual {
    let p = g.len();
    let nterm = Dual { v: n, g };
    // 1-based alpha accessor with NA-as-zero sums.
    let a = |k: usize| &alpha[k - 1];
    let sum_na = |from: usize, to: usize| -> Dual {
        let mut s = Dual::cst(0.0, p);
        if from <= to {
            for k in from..=to {
                if a(k).v.is_finite() {
                    s = &s + a(k);
                }
            }
        }
        s
    };
    let base = interc + a(1);
    if i_n == 3 {
        let t1 = (&base + a(3)).exp();
        let t2 = base.exp();
        return &(&nterm + &t1) - &t2;
    }
    let big_a = (&base + &sum_na(i_n, 2 * i_n - 3)).exp();
    let big_b = (&base + &sum_na(i_n, 2 * i_n - 4)).exp();
    let e1 = (&sum_na(2, i_n - 2) - &sum_na(i_n + 1, 2 * i_n - 3))
        .exp()
        .add_c(1.0);
    let mut t = &(&nterm + &(&big_a * &e1)) - &big_b;
    for i in 2..=i_n.saturating_sub(3) {
        let ea = (&sum_na(2, i) - &sum_na(2 * i_n - 1 - i, 2 * i_n - 3)).exp();
        let eb = (&sum_na(2, i) - &sum_na(2 * i_n - 2 - i, 2 * i_n - 4)).exp();
        t = &(&t + &(&big_a * &ea)) - &(&big_b * &eb);
    }
    t
}
