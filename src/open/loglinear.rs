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

/// Fits several `openp` models to the same histories at once, in the order given: the
/// first on the calling thread, the others side by side on rayon's pool (so list the
/// slowest first; the `estimate --open` model set is `[Up, Ep]`). Each fit is exactly
/// what [`openp`] gives. `params.model` is ignored; every other setting applies to each
/// model.
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
        // The first model on this thread, the others on the pool (no wait for a worker
        // to wake before the first starts: list the longest first).
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
    let mut names = vec!["intercept".to_string()];
    names.extend((1..=2 * i_n - 2).map(|k| format!("gamma{k}")));
    match params.model {
        OpenModel::Up => names.extend((2..i_n).map(|k| format!("beta{k}"))),
        OpenModel::Ep => names.push("beta".into()),
    }
    // Gammas whose sign is checked by the neg rule (0-based columns).
    let tested: Vec<usize> = match params.model {
        OpenModel::Ep => (1..2 * i_n - 1).collect(),
        OpenModel::Up => (2..i_n - 1).chain(i_n + 1..2 * i_n - 1).collect(),
    };
    // Trap-effect columns of the dense path, by bit code: Σ_j ω_j ω_{j+1}, and
    // ω_j ω_{j+1} for j = 2..I−2 (up, I ≥ 5).
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
    let (beta, cov, main, zeroed, stop, corr, up_grad) = if params.keep == Keep::All {
        // All histories: sparse cells, one build for the model and both trap-effect
        // tests (columns: the model's p, the homogeneous trap effect, the period ones).
        let all = (1u64 << i_n) - 1;
        let mut cols = vec![JsColumn::Poly(vec![(0, 1.0)])];
        // Z_δ: not caught in periods 1..k+1, not caught in periods I−m..I.
        cols.extend((0..i_n - 1).map(|k| JsColumn::Zero((1 << (k + 1)) - 1)));
        cols.extend((0..i_n - 1).map(|m| JsColumn::Zero(all & !((1 << (i_n - 1 - m)) - 1))));
        match params.model {
            OpenModel::Up => {
                cols.extend((1..i_n - 1).map(|j| JsColumn::Poly(vec![(1 << j, 1.0)])));
            }
            OpenModel::Ep => cols.push(JsColumn::Poly((0..i_n).map(|j| (1 << j, 1.0)).collect())),
        }
        // Trap effects: Σ_j ω_j ω_{j+1}, then ω_j ω_{j+1} for j = 2..I−2.
        cols.push(JsColumn::Poly(
            (0..i_n - 1).map(|j| (3 << j, 1.0)).collect(),
        ));
        cols.extend((0..n_het).map(|k| JsColumn::Poly(vec![(3 << (k + 1), 1.0)])));
        let mut y_code = vec![0.0; 1 << i_n];
        for (r, &c) in codes.iter().enumerate() {
            y_code[c as usize] = y[r];
        }
        let cells = JsCells::new(i_n, cols, y_code)?;
        let mut active: Vec<bool> = (0..p + 1 + n_het).map(|j| j < p).collect();
        let mut fit = cells.fit(&active, 0)?;
        if !fit.stop.converged() {
            return Err(Error::NotConverged {
                iterations: fit.stop.iterations(),
                reason: "the Poisson log-linear fit (IRLS, as R's glm) did not converge".into(),
            });
        }
        let mut zeroed = Vec::new();
        if params.neg {
            while let Some(&pos) = tested.iter().find(|&&j| active[j] && fit.beta[j] < 0.0) {
                zeroed.push(pos + 1);
                active[pos] = false;
                fit = cells.fit(&active, 0)?;
            }
        }
        zeroed.sort_unstable();
        let coefs = |f: &CellFit, names: &[String], from: usize| -> Vec<Coef> {
            names
                .iter()
                .enumerate()
                .map(|(b, nm)| Coef {
                    name: nm.clone(),
                    estimate: Some(f.beta[from + b]),
                    se: Some(f.cov[(from + b, from + b)].max(0.0).sqrt()),
                })
                .collect()
        };
        let hom_names = ["homogenous trap effect".to_string()];
        let mut act_hom = active.clone();
        act_hom[p] = true;
        let hom = cells.fit(&act_hom, 1).ok();
        let het = if n_het == 0 {
            None
        } else {
            let mut act_het = active.clone();
            act_het[p + 1..].iter_mut().for_each(|a| *a = true);
            cells.fit(&act_het, n_het).ok()
        };
        if let Some(f) = &hom {
            tests.push(f.model_fit("model with homogenous trap effect"));
        }
        if let Some(f) = &het {
            tests.push(f.model_fit("model with trap effect"));
            test_params.extend(coefs(f, &het_names, p + 1));
        }
        if let Some(f) = &hom {
            test_params.extend(coefs(f, &hom_names, p));
        }
        let main = fit.model_fit("fitted model");
        let mut g = cells.xt(&fit.mu);
        g.truncate(p);
        let mut beta = fit.beta;
        beta.truncate(p);
        let cov = fit.cov.view((0, 0), (p, p)).into_owned();
        (beta, cov, main, zeroed, fit.stop, 0.0, g)
    } else {
        // A subset of histories: the shared PoissonGlm engine with zero weights.
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
        (
            beta,
            cov,
            model_fit("fitted model", &fit),
            zeroed,
            fit.stop,
            corr,
            g,
        )
    };

    // Demographic parameters.
    let interc = Dual::var(beta[0], 0, p);
    let alpha: Vec<Dual> = (0..2 * i_n - 2)
        .map(|k| Dual::var(beta[1 + k], 1 + k, p))
        .collect();
    let pstar: Vec<Dual> = match params.model {
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
    let se_of = |v: &Dual| v.variance(&cov).sqrt();
    let n_se: Vec<f64> =
        d.n.iter()
            .map(|v| se_minus(v.variance(&cov), v.v))
            .collect();
    let n_corr: Vec<Dual> = d.n.iter().map(|v| v.add_c(corr)).collect();
    let b: Vec<Dual> = (0..i_n - 1)
        .map(|i| &n_corr[i + 1] - &(&n_corr[i] * &d.phi[i]))
        .collect();
    let n_total: f64 = y.iter().sum();
    let total = match params.model {
        OpenModel::Ep => {
            let t = &n_corr[0] + &Dual::sum(&b, p);
            Figure::new(t.v, se_minus(t.variance(&cov), t.v))
        }
        OpenModel::Up => {
            let t = up_total(up_grad, &interc, &alpha, n_total, i_n);
            Figure::new(t.v, se_minus(t.variance(&cov), t.v))
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
    if params.model == OpenModel::Up {
        capture_p[0] = Figure::na();
        capture_p[i_n - 1] = Figure::na();
        survival[i_n - 2] = Figure::na();
        n_hat[0] = Figure::na();
        n_hat[i_n - 1] = Figure::na();
        births[0] = Figure::na();
        births[i_n - 2] = Figure::na();
    }
    Ok(OpenFit {
        model: params.model.label().to_string(),
        period_models: Vec::new(),
        n: h.observed(),
        periods: i_n,
        fit: main,
        tests,
        test_params,
        capture_p,
        survival,
        n_hat,
        births,
        total,
        coefficients: coef_list(&names, &beta, &cov),
        zeroed,
        warnings,
        stop,
    })
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
