//! Model selection over hierarchical log-linear models (`Rcapture::closedpMS.t`) and
//! model averaging (Buckland, Burnham & Augustin 1997).

use super::design::Heterogeneity;
use super::fit::ClosedFit;
use super::loglinear::LogLinearModel;
use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, Interval, IntervalMethod, Warning};
use serde::{Deserialize, Serialize};

/// The criterion models are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Criterion {
    /// Akaike's information criterion.
    Aic,
    /// Schwarz's criterion with ln(n units caught), as Rcapture.
    Bic,
}

/// One model of the selection table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionRow {
    /// Hierarchical name, e.g. `[12,3,4]`.
    pub name: String,
    /// All terms of the model (bit masks), in column order.
    pub terms: Vec<u64>,
    /// The fit, when it succeeded.
    pub fit: Option<ClosedFit>,
    /// Why the fit failed, otherwise.
    pub error: Option<String>,
    /// Akaike (or BIC) weight in the model average.
    pub weight: f64,
}

/// The model-selection table and the model-averaged estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSelection {
    /// The criterion used for ranking and weights.
    pub criterion: Criterion,
    /// Heterogeneity column added to every model.
    pub heterogeneity: Option<Heterogeneity>,
    /// Rows sorted by the criterion (failed fits last).
    pub rows: Vec<SelectionRow>,
    /// The model-averaged estimate (method `closedpMS.t`, model `model average`).
    pub averaged: Estimate,
}

/// Every hierarchical model with all main effects and interactions up to `maxorder`.
/// Generators are named higher orders first (`[123,24,1]` style).
pub fn all_models(t: usize, maxorder: usize) -> Result<Vec<LogLinearModel>> {
    if !(2..=9).contains(&t) {
        return Err(Error::param(
            "occasions",
            t,
            "between 2 and 9 for hierarchical model names",
        ));
    }
    if maxorder == 0 || maxorder >= t {
        return Err(Error::param(
            "maxorder",
            maxorder,
            format!("between 1 and {}", t - 1),
        ));
    }
    let mut terms: Vec<u64> = (1u64..(1 << t))
        .filter(|m| (2..=maxorder as u32).contains(&m.count_ones()))
        .collect();
    terms.sort_by_key(|m| (m.count_ones(), *m));
    let mut out: Vec<Vec<u64>> = Vec::new();
    let mut cur: Vec<u64> = Vec::new();
    const CAP: usize = 50_000;
    fn rec(
        i: usize,
        terms: &[u64],
        cur: &mut Vec<u64>,
        out: &mut Vec<Vec<u64>>,
        cap: usize,
    ) -> bool {
        if out.len() > cap {
            return false;
        }
        if i == terms.len() {
            out.push(cur.clone());
            return true;
        }
        let m = terms[i];
        // allowed if every sub-term of one order less (of order ≥ 2) is present
        let ok = m.count_ones() == 2
            || (0..64)
                .filter(|j| m >> j & 1 == 1)
                .all(|j| cur.contains(&(m & !(1u64 << j))));
        if ok {
            cur.push(m);
            if !rec(i + 1, terms, cur, out, cap) {
                return false;
            }
            cur.pop();
        }
        rec(i + 1, terms, cur, out, cap)
    }
    if !rec(0, &terms, &mut cur, &mut out, CAP) {
        return Err(Error::param(
            "maxorder",
            maxorder,
            format!("fewer than {CAP} models: lower maxorder"),
        ));
    }
    let mut models = Vec::with_capacity(out.len());
    for set in out {
        // generators: maximal terms, plus main effects not covered
        let mut gens: Vec<u64> = set
            .iter()
            .copied()
            .filter(|&m| !set.iter().any(|&o| o != m && o & m == m))
            .collect();
        for j in 0..t {
            let b = 1u64 << j;
            if !set.iter().any(|&o| o & b != 0) {
                gens.push(b);
            }
        }
        gens.sort_by(|a, b| b.count_ones().cmp(&a.count_ones()).then(a.cmp(b)));
        models.push(LogLinearModel {
            occasions: t,
            generators: gens,
            heterogeneity: None,
        });
    }
    Ok(models)
}

/// Fits every hierarchical model up to `maxorder` (default t − 1), optionally with a
/// heterogeneity column, ranks them by AIC or BIC and averages N̂ with the criterion's
/// weights, with an unconditional standard error that accounts for model uncertainty:
///
/// ```text
/// w_i = exp(−Δ_i/2) / Σ_j exp(−Δ_j/2)
/// N̄ = Σ w_i N̂_i,   SE(N̄) = Σ w_i sqrt(SE_i² + (N̂_i − N̄)²)
/// interval: log-normal on N̄ − n with SE(N̄) (Chao 1987)
/// ```
/// Only models that fitted with a full-rank design and without convergence warnings
/// enter the average.
///
/// # Errors
/// [`Error::InvalidParameter`] for t outside 2..=9, a bad `maxorder` or level;
/// [`Error::EstimateDoesNotExist`] when no model could be averaged.
///
/// # References
/// `Rcapture::closedpMS.t`; Buckland, S. T., Burnham, K. P. & Augustin, N. H. (1997)
/// Model selection: an integral part of inference. *Biometrics* 53, 603-618; Burnham &
/// Anderson (2002) *Model Selection and Multimodel Inference*, §4.3.
pub fn select(
    h: &CaptureHistories,
    maxorder: Option<usize>,
    heterogeneity: Option<Heterogeneity>,
    criterion: Criterion,
    level: f64,
) -> Result<ModelSelection> {
    ci::check_level(level)?;
    let t = h.occasions();
    let maxorder = maxorder.unwrap_or(t.saturating_sub(1));
    let models = all_models(t, maxorder)?;
    let rows: Vec<SelectionRow> = models
        .into_iter()
        .map(|m| fit_row(m.with_heterogeneity(heterogeneity), h))
        .collect();
    rank_and_average(rows, criterion, heterogeneity, h, level)
}

/// Ranks fitted rows by the criterion and averages the usable ones (Buckland et al. 1997).
fn rank_and_average(
    mut rows: Vec<SelectionRow>,
    criterion: Criterion,
    heterogeneity: Option<Heterogeneity>,
    h: &CaptureHistories,
    level: f64,
) -> Result<ModelSelection> {
    let crit = |r: &SelectionRow| -> f64 {
        r.fit
            .as_ref()
            .map(|f| match criterion {
                Criterion::Aic => f.aic,
                Criterion::Bic => f.bic,
            })
            .filter(|v| v.is_finite())
            .unwrap_or(f64::INFINITY)
    };
    rows.sort_by(|a, b| crit(a).total_cmp(&crit(b)));
    let usable = |r: &SelectionRow| {
        r.fit.as_ref().is_some_and(|f| {
            f.abundance.is_finite()
                && f.stderr.is_finite()
                && !f.warnings.iter().any(|w| {
                    matches!(
                        w,
                        Warning::RankDeficient { .. } | Warning::NotConverged { .. }
                    )
                })
        })
    };
    let best = rows
        .iter()
        .filter(|r| usable(r))
        .map(crit)
        .fold(f64::INFINITY, f64::min);
    if !best.is_finite() {
        return Err(Error::no_estimate(
            "no model could be averaged (every fit failed or was flagged)",
        ));
    }
    let mut total = 0.0;
    for r in rows.iter_mut() {
        if usable(r) {
            r.weight = (-(crit(r) - best) / 2.0).exp();
            total += r.weight;
        }
    }
    for r in rows.iter_mut() {
        r.weight /= total;
    }
    let nbar: f64 = rows
        .iter()
        .filter(|r| r.weight > 0.0)
        .map(|r| r.weight * r.fit.as_ref().unwrap().abundance)
        .sum();
    let se: f64 = rows
        .iter()
        .filter(|r| r.weight > 0.0)
        .map(|r| {
            let f = r.fit.as_ref().unwrap();
            r.weight * (f.stderr * f.stderr + (f.abundance - nbar).powi(2)).sqrt()
        })
        .sum();
    let n = h.observed();
    let ln = ci::log_normal(nbar, se, n as f64, level);
    let interval = Interval {
        method: IntervalMethod::LogNormal,
        ..ln
    };
    let mut averaged = Estimate::new("closedpMS.t", "model average", nbar, se, interval, n)
        .with_other_interval(ci::wald(nbar, se, n as f64, level))
        .with_assumptions(&[
            Assumption::ClosedPopulation,
            Assumption::PerfectMatching,
            Assumption::NoHighestOrderInteraction,
        ]);
    let dropped = rows.iter().filter(|r| r.weight == 0.0).count();
    if dropped > 0 {
        averaged.warnings.push(Warning::Other {
            message: format!(
                "{dropped} models left out of the average (failed, rank-deficient or not converged)"
            ),
        });
    }
    Ok(ModelSelection {
        criterion,
        heterogeneity,
        rows,
        averaged,
    })
}

fn fit_row(m: LogLinearModel, h: &CaptureHistories) -> SelectionRow {
    let name = {
        let full = m.name();
        full.split(" + ").next().unwrap_or(&full).to_string()
    };
    let terms = m.terms();
    match m.fit_only(h, true) {
        Ok((fit, _)) => SelectionRow {
            name,
            terms,
            fit: Some(fit),
            error: None,
            weight: 0.0,
        },
        Err(e) => SelectionRow {
            name,
            terms,
            fit: None,
            error: Some(e.to_string()),
            weight: 0.0,
        },
    }
}

/// Forward search over two-list interactions: from the independence model, add at each
/// step the two-list term that lowers the criterion most, until none does; every model
/// fitted on the way is ranked and averaged as in [`select`] (an Occam's-window-style
/// average over the models the search visited; Madigan & Raftery 1994). For many lists,
/// where the 2^(t(t−1)/2) two-list models are too many to fit.
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad level or fewer than 3 occasions;
/// [`Error::EstimateDoesNotExist`] when no visited model can be averaged.
///
/// # References
/// Madigan, D. & Raftery, A. E. (1994) Model selection and accounting for model
/// uncertainty in graphical models using Occam's window. *JASA* 89, 1535-1546.
pub fn forward_search(
    h: &CaptureHistories,
    criterion: Criterion,
    level: f64,
) -> Result<ModelSelection> {
    ci::check_level(level)?;
    let t = h.occasions();
    if t < 3 {
        return Err(Error::param("occasions", t, "at least 3 for interactions"));
    }
    let pairs: Vec<(usize, usize)> = (1..=t)
        .flat_map(|i| ((i + 1)..=t).map(move |j| (i, j)))
        .collect();
    let model_of = |chosen: &[(usize, usize)]| -> Result<LogLinearModel> {
        let mut terms: Vec<Vec<usize>> = chosen.iter().map(|&(i, j)| vec![i, j]).collect();
        for j in 1..=t {
            if !chosen.iter().any(|&(a, b)| a == j || b == j) {
                terms.push(vec![j]);
            }
        }
        LogLinearModel::from_terms(t, &terms)
    };
    let value = |r: &SelectionRow| -> f64 {
        r.fit
            .as_ref()
            .filter(|f| {
                f.abundance.is_finite()
                    && f.stderr.is_finite()
                    && !f.warnings.iter().any(|w| {
                        matches!(
                            w,
                            Warning::RankDeficient { .. } | Warning::NotConverged { .. }
                        )
                    })
            })
            .map(|f| match criterion {
                Criterion::Aic => f.aic,
                Criterion::Bic => f.bic,
            })
            .filter(|v| v.is_finite())
            .unwrap_or(f64::INFINITY)
    };
    let mut rows = vec![fit_row(model_of(&[])?, h)];
    let mut chosen: Vec<(usize, usize)> = Vec::new();
    let mut current = value(&rows[0]);
    loop {
        let mut best: Option<(f64, (usize, usize))> = None;
        for &p in pairs.iter().filter(|p| !chosen.contains(p)) {
            let mut next = chosen.clone();
            next.push(p);
            let row = fit_row(model_of(&next)?, h);
            let v = value(&row);
            if v < best.map_or(f64::INFINITY, |b| b.0) {
                best = Some((v, p));
            }
            rows.push(row);
        }
        match best {
            Some((v, p)) if v < current => {
                chosen.push(p);
                current = v;
            }
            _ => break,
        }
    }
    // The same model can be reached twice; keep one row per model.
    let mut seen = std::collections::HashSet::new();
    rows.retain(|r| seen.insert(r.name.clone()));
    rank_and_average(rows, criterion, None, h, level)
}

impl std::fmt::Display for ModelSelection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::estimate::fmt_num;
        let crit = match self.criterion {
            Criterion::Aic => "AIC",
            Criterion::Bic => "BIC",
        };
        writeln!(
            f,
            "{:<22} {:>12} {:>10} {:>10} {:>4} {:>10} {:>10} {:>5} {:>7}",
            "model", "abundance", "stderr", "deviance", "df", "AIC", "BIC", "info", "weight"
        )?;
        for r in &self.rows {
            match &r.fit {
                Some(x) => writeln!(
                    f,
                    "{:<22} {:>12} {:>10} {:>10.3} {:>4} {:>10.3} {:>10.3} {:>5} {:>7.4}",
                    r.name,
                    fmt_num(x.abundance),
                    fmt_num(x.stderr),
                    x.deviance,
                    x.df,
                    x.aic,
                    x.bic,
                    x.info_code(),
                    r.weight
                )?,
                None => writeln!(
                    f,
                    "{:<22} error: {}",
                    r.name,
                    r.error.as_deref().unwrap_or("?")
                )?,
            }
        }
        writeln!(f, "ranked by {crit}; model average ({crit} weights):")?;
        write!(f, "{}", self.averaged)
    }
}
