//! Bayesian model averaging over decomposable graphical log-linear models (dga's
//! `bma.cr`).
//!
//! Every decomposable graph on the p lists is a log-linear model whose interactions are
//! its cliques. With a hyper-Dirichlet prior (δ per cell of the full 2^p table, hence
//! δ·2^(p−|s|) per cell of the marginal table on the lists in s) the marginal likelihood of
//! the completed table, with `m` units on no list, factorises over cliques and separators.
//! The joint posterior of (model, m) is computed exactly on a grid of m:
//!
//! ```text
//! ML_s(m)   = lnΓ(m + D_s(0) + α_s) + Σ_{cells c ≠ 0} lnΓ(D_s(c) + α_s) − 2^|s| lnΓ(α_s),
//!             α_s = δ 2^(p−|s|),  D_s = marginal table of the observed counts on lists s
//! den(m)    = lnΓ(δ 2^p) − lnΓ(m + n + δ 2^p)
//! log w(G,m) = Σ_{C ∈ cliques(G)} ML_C(m) − Σ_{S ∈ separators(G)} ML_S(m)
//!              + (|cliques| − |separators|) den(m)
//!              + lnΓ(n + m + 1) − Σ_c lnΓ(y_c + 1) − lnΓ(m + 1)      (multinomial coefficient)
//!              + log prior(N = n + m) + log prior(G)
//! posterior(G, m) = exp(log w(G,m)) / Σ_{G', m'} exp(log w(G',m'))
//! ```
//!
//! The default prior on N is 1/N (`log prior = −ln N`), the default δ is 2^−p and the
//! model prior is uniform. Posterior quantiles are on the integer grid: the q-quantile is
//! the smallest N whose posterior distribution function reaches q.
//!
//! # References
//! Madigan, D. & York, J. C. (1997) Bayesian methods for estimation of the size of a
//! closed population. *Biometrika* 84(1), 19–31. R package dga 2.0.2 (Johndrow, Lum,
//! Ball; Binette), `bma.cr`, `MakeCompMatrix`, `CompLogML`.

use super::graphs::{self, DecomposableGraph};
use super::{Posterior, report_probs};
use crate::ci::check_level;
use crate::data::ListTable;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, Interval, IntervalMethod, Warning, fmt_num};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;
use std::fmt;
use std::sync::Arc;

/// Terms more than this many log units below the largest are dropped (e^-60 ≈ 9e-27).
const LOG_NEGLIGIBLE: f64 = 60.0;

/// Posterior mass in the watched tail up to which [`NGrid::Auto`] stops doubling the grid.
const AUTO_TAIL: f64 = 1e-6;

/// Most doublings of the grid by [`NGrid::Auto`].
const AUTO_DOUBLINGS: usize = 8;

/// [`NGrid::Auto`] first looks at every this-many-th grid point...
const COARSE_STRIDE: usize = 8;

/// ... on grids of at least this many points ...
const COARSE_MIN: u64 = 8192;

/// ... and skips the full grid when the tail mass seen is above this many times
/// [`AUTO_TAIL`].
const COARSE_MARGIN: f64 = 4.0;

/// Tail share of the grid watched for truncation: the top 5% of the grid range.
const TAIL_SHARE: f64 = 0.05;

/// Posterior mass in the watched tail above which the result is flagged as grid-limited.
pub const TAIL_MASS_WARN: f64 = 1e-3;

/// The values of m = N − n (units on no list) the posterior is computed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NGrid {
    /// Every integer from `from` to `to` inclusive (dga's `Nmissing = from:to`).
    Range {
        /// Smallest m.
        from: u64,
        /// Largest m.
        to: u64,
    },
    /// Explicit values (strictly increasing).
    Values(Vec<u64>),
    /// `0..=upper` with `upper` starting at max(10 n, 1000) and doubled (up to 8 times)
    /// while the posterior mass in the top 5% of the grid exceeds 1e-6.
    Auto,
}

/// The prior on N.
#[derive(Clone)]
pub enum PriorN {
    /// The improper scale prior p(N) ∝ 1/N (dga's default `logprior = -log(N)`).
    Scale,
    /// Log prior values, one per grid point (dga's `logprior` vector).
    LogValues(Vec<f64>),
    /// Log prior as a function of N.
    Function(Arc<dyn Fn(f64) -> f64 + Send + Sync>),
}

impl fmt::Debug for PriorN {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PriorN::Scale => f.write_str("Scale (1/N)"),
            PriorN::LogValues(v) => write!(f, "LogValues({} values)", v.len()),
            PriorN::Function(_) => f.write_str("Function"),
        }
    }
}

/// Settings of [`bma`].
#[derive(Debug, Clone)]
pub struct DgaParams {
    /// Hyper-Dirichlet parameter per cell; `None` = 2^−p (dga's suggestion).
    pub delta: Option<f64>,
    /// Grid of m = N − n.
    pub grid: NGrid,
    /// Prior on N.
    pub prior: PriorN,
    /// Log prior weight of each model, in the order of the `graphs` given (`None` =
    /// uniform; dga's `log.prior.model.weights`).
    pub log_model_weights: Option<Vec<f64>>,
    /// Credible level of the interval.
    pub level: f64,
}

impl Default for DgaParams {
    fn default() -> Self {
        DgaParams {
            delta: None,
            grid: NGrid::Auto,
            prior: PriorN::Scale,
            log_model_weights: None,
            level: 0.95,
        }
    }
}

/// Posterior of one graphical model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPosterior {
    /// Index in the list of graphs given to [`bma`] (0-based).
    pub index: usize,
    /// Cliques as dga prints them, e.g. `[1,2][1,3][4]`.
    pub cliques: String,
    /// Posterior probability of the model.
    pub probability: f64,
    /// Posterior mean of N given the model.
    pub mean_n: f64,
}

/// Result of [`bma`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DgaFit {
    /// Point estimate (posterior median), posterior SD, credible interval.
    pub estimate: Estimate,
    /// Posterior summary of N.
    pub posterior: Posterior,
    /// Posterior mode of N on the grid.
    pub mode: f64,
    /// The grid of N = n + m.
    pub n_grid: Vec<f64>,
    /// Posterior probability of each N on the grid (model-averaged).
    pub posterior_n: Vec<f64>,
    /// Every model, in the order given, with its posterior probability.
    pub models: Vec<ModelPosterior>,
    /// Posterior probability of the last grid point.
    pub mass_at_upper_end: f64,
    /// Posterior mass in the top 5% of the grid range.
    pub tail_mass: f64,
    /// δ used.
    pub delta: f64,
}

impl DgaFit {
    /// The `k` most probable models, most probable first.
    pub fn top_models(&self, k: usize) -> Vec<ModelPosterior> {
        let mut v = self.models.clone();
        v.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then(a.index.cmp(&b.index))
        });
        v.truncate(k);
        v
    }
}

impl fmt::Display for DgaFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.estimate)?;
        writeln!(
            f,
            "  posterior    mean {}, median {}, mode {}, SD {}",
            fmt_num(self.posterior.mean),
            fmt_num(self.posterior.median),
            fmt_num(self.mode),
            fmt_num(self.posterior.sd)
        )?;
        writeln!(f, "  top models")?;
        for m in self.top_models(5) {
            writeln!(
                f,
                "    {:<28} P = {:.4}  E[N | model] = {}",
                m.cliques,
                m.probability,
                fmt_num(m.mean_n)
            )?;
        }
        Ok(())
    }
}

/// The marginal-likelihood pieces shared by every model: for each subset s of lists,
/// `ML_s(m) + den(m)` on the grid.
struct Components {
    /// Indexed by subset bit mask (entry 0 unused).
    comp: Vec<Vec<f64>>,
    /// Multinomial coefficient + log prior on N, on the grid.
    base: Vec<f64>,
}

fn components(y: &[u64], delta: f64, m: &[f64], log_prior: &[f64]) -> Components {
    let p = y.len().trailing_zeros() as usize;
    let n: u64 = y.iter().sum();
    let n = n as f64;
    let sum_alpha = delta * (1u64 << p) as f64;
    let lg_sum_alpha = ln_gamma(sum_alpha);
    let den: Vec<f64> = m
        .iter()
        .map(|&mi| lg_sum_alpha - ln_gamma(mi + n + sum_alpha))
        .collect();
    let lg_y: f64 = y.iter().skip(1).map(|&c| ln_gamma(c as f64 + 1.0)).sum();
    let base: Vec<f64> = m
        .iter()
        .zip(log_prior)
        .map(|(&mi, &lp)| ln_gamma(mi + n + 1.0) - lg_y - ln_gamma(mi + 1.0) + lp)
        .collect();
    let comp: Vec<Vec<f64>> = (0..(1usize << p))
        .into_par_iter()
        .map(|s| {
            if s == 0 {
                return Vec::new();
            }
            let size = s.count_ones() as usize;
            let alpha = delta * (1u64 << (p - size)) as f64;
            // marginal table on the lists in s, indexed by the compressed pattern
            let mut d = vec![0u64; 1 << size];
            for (code, &c) in y.iter().enumerate() {
                let mut pat = 0usize;
                let mut bit = 0;
                for j in 0..p {
                    if s >> j & 1 == 1 {
                        if code >> j & 1 == 1 {
                            pat |= 1 << bit;
                        }
                        bit += 1;
                    }
                }
                d[pat] += c;
            }
            let constant: f64 = d
                .iter()
                .skip(1)
                .map(|&c| ln_gamma(c as f64 + alpha))
                .sum::<f64>()
                - (1u64 << size) as f64 * ln_gamma(alpha);
            let d0 = d[0] as f64;
            m.iter()
                .zip(&den)
                .map(|(&mi, &dn)| ln_gamma(mi + d0 + alpha) + constant + dn)
                .collect()
        })
        .collect();
    Components { comp, base }
}

/// The log joint posterior (unnormalised) of `graph` at grid points `range`, into `out`.
fn model_row(
    c: &Components,
    g: &DecomposableGraph,
    log_w: f64,
    range: std::ops::Range<usize>,
    out: &mut Vec<f64>,
) {
    out.clear();
    out.extend(c.base[range.clone()].iter().map(|b| b + log_w));
    for &cl in &g.cliques {
        for (o, v) in out.iter_mut().zip(&c.comp[cl as usize][range.clone()]) {
            *o += v;
        }
    }
    for &s in &g.separators {
        for (o, v) in out.iter_mut().zip(&c.comp[s as usize][range.clone()]) {
            *o -= v;
        }
    }
}

fn grid_values(grid: &NGrid) -> Result<Vec<u64>> {
    match grid {
        NGrid::Range { from, to } => {
            if from > to {
                return Err(Error::param(
                    "grid",
                    format!("{from}..={to}"),
                    "a range with from ≤ to",
                ));
            }
            Ok((*from..=*to).collect())
        }
        NGrid::Values(v) => {
            if v.is_empty() {
                return Err(Error::param("grid", "[]", "at least one value of N − n"));
            }
            if let Some(i) = v.windows(2).position(|w| w[1] <= w[0]) {
                return Err(Error::InvalidData {
                    row: Some(i + 1),
                    reason: format!(
                        "grid values must increase strictly: {} follows {}",
                        v[i + 1],
                        v[i]
                    ),
                });
            }
            Ok(v.clone())
        }
        NGrid::Auto => unreachable!("resolved by the caller"),
    }
}

/// Exact Bayesian model averaging over the decomposable graphical models `graphs` (all of
/// them, from [`graphs::decomposable_graphs`], when `None`).
///
/// The formula is in the [module docs](self). Posterior mean, SD and quantiles are those
/// of the model-averaged posterior of N on the grid; the estimate's `n_hat` is the
/// posterior median and its interval the central credible interval at `params.level`.
///
/// # Errors
/// [`Error::InvalidParameter`] for δ ≤ 0, a bad level, a prior vector or model-weight
/// vector of the wrong length, a NaN or +∞ log prior, or more than
/// [`graphs::MAX_VERTICES`] lists without explicit graphs; [`Error::InvalidData`] for a
/// graph with vertices outside the table or a non-increasing grid;
/// [`Error::EstimateDoesNotExist`] when every grid point has zero prior weight.
///
/// # Examples
/// ```
/// use darkfigure::bayes::{bma, DgaParams, NGrid};
/// use darkfigure::data::ListTable;
/// // Kosovo, 4 lists (dga.json, kosovo_4list): posterior median 12595.
/// let y = vec![0, 1131, 845, 177, 936, 228, 217, 181, 306, 106, 31, 18, 123, 42, 32, 27];
/// let t = ListTable::new(vec!["EXH".into(), "ABA".into(), "OSCE".into(), "HRW".into()], y)?;
/// let p = DgaParams { grid: NGrid::Range { from: 0, to: 20000 }, ..Default::default() };
/// let fit = bma(&t, None, &p)?;
/// assert_eq!(fit.posterior.median, 12595.0);
/// # Ok::<(), darkfigure::Error>(())
/// ```
///
/// # References
/// Madigan & York (1997); `dga::bma.cr(Y, Nmissing, delta, graphs, logprior,
/// log.prior.model.weights)`.
pub fn bma(
    table: &ListTable,
    graphs: Option<&[DecomposableGraph]>,
    params: &DgaParams,
) -> Result<DgaFit> {
    check_level(params.level)?;
    let p = table.n_lists();
    let owned;
    let graphs: &[DecomposableGraph] = match graphs {
        Some(g) => g,
        None => {
            owned = graphs::decomposable_graphs(p)?;
            &owned
        }
    };
    if graphs.is_empty() {
        return Err(Error::param("graphs", "[]", "at least one graph"));
    }
    for (i, g) in graphs.iter().enumerate() {
        let all = g
            .cliques
            .iter()
            .chain(&g.separators)
            .fold(0u32, |a, b| a | b);
        if g.p != p || (p < 32 && all >> p != 0) {
            return Err(Error::InvalidData {
                row: Some(i),
                reason: format!(
                    "graph {} has vertices outside the {p} lists of the table",
                    g.label()
                ),
            });
        }
    }
    let delta = params.delta.unwrap_or((0.5f64).powi(p as i32));
    if !(delta.is_finite() && delta > 0.0) {
        return Err(Error::param("delta", delta, "a positive number"));
    }
    if let Some(w) = &params.log_model_weights {
        if w.len() != graphs.len() {
            return Err(Error::param(
                "log_model_weights",
                format!("{} values", w.len()),
                format!("one per model ({})", graphs.len()),
            ));
        }
        if let Some(i) = w.iter().position(|x| x.is_nan() || *x == f64::INFINITY) {
            return Err(Error::param(
                "log_model_weights",
                w[i],
                format!("finite or −∞ (model {i})"),
            ));
        }
    }
    if let NGrid::Auto = params.grid {
        let n = table.observed();
        let mut upper = (10 * n).max(1000);
        // A log prior given as values has one per point of a grid the caller chose.
        let coarse = !matches!(params.prior, PriorN::LogValues(_));
        for step in 0..=AUTO_DOUBLINGS {
            // A grid far too short is seen on every COARSE_STRIDE-th point at an eighth of
            // the cost: the posterior is smooth on that scale, so its tail mass there is
            // within a few per cent of the full grid's, and only a tail more than
            // COARSE_MARGIN times the limit skips the full grid (whose test decides
            // otherwise, as without the look).
            if coarse && step < AUTO_DOUBLINGS && upper >= COARSE_MIN {
                let mut values: Vec<u64> = (0..=upper).step_by(COARSE_STRIDE).collect();
                if values.last() != Some(&upper) {
                    values.push(upper);
                }
                let look = DgaParams {
                    grid: NGrid::Values(values),
                    ..params.clone()
                };
                if bma_on_grid(table, graphs, delta, &look)?.tail_mass > COARSE_MARGIN * AUTO_TAIL {
                    upper *= 2;
                    continue;
                }
            }
            let p2 = DgaParams {
                grid: NGrid::Range { from: 0, to: upper },
                ..params.clone()
            };
            let fit = bma_on_grid(table, graphs, delta, &p2)?;
            if fit.tail_mass <= AUTO_TAIL || step == AUTO_DOUBLINGS {
                return Ok(fit);
            }
            upper *= 2;
        }
        unreachable!("the last doubling returns");
    }
    bma_on_grid(table, graphs, delta, params)
}

fn bma_on_grid(
    table: &ListTable,
    graphs: &[DecomposableGraph],
    delta: f64,
    params: &DgaParams,
) -> Result<DgaFit> {
    let y = table.counts();
    let n_obs = table.observed();
    let m_u = grid_values(&params.grid)?;
    let m: Vec<f64> = m_u.iter().map(|&v| v as f64).collect();
    let n_grid: Vec<f64> = m.iter().map(|&v| v + n_obs as f64).collect();
    let g_len = m.len();
    let log_prior: Vec<f64> = match &params.prior {
        PriorN::Scale => n_grid.iter().map(|&n| -n.ln()).collect(),
        PriorN::LogValues(v) => {
            if v.len() != g_len {
                return Err(Error::param(
                    "prior",
                    format!("{} log prior values", v.len()),
                    format!("one per grid point ({g_len})"),
                ));
            }
            v.clone()
        }
        PriorN::Function(f) => n_grid.iter().map(|&n| f(n)).collect(),
    };
    if let Some(i) = log_prior
        .iter()
        .position(|x| x.is_nan() || *x == f64::INFINITY)
    {
        return Err(Error::param(
            "prior",
            log_prior[i],
            format!("a finite log prior or −∞ (at N = {})", n_grid[i]),
        ));
    }
    let comps = components(y, delta, &m, &log_prior);
    let zero_w = vec![0.0; graphs.len()];
    let log_w = params.log_model_weights.as_deref().unwrap_or(&zero_w);

    // Pass 1: per model, log posterior mass and mean of N given the model.
    let per_model: Vec<(f64, f64)> = graphs
        .par_iter()
        .zip(log_w.par_iter())
        .map_init(Vec::new, |buf, (g, &lw)| {
            model_row(&comps, g, lw, 0..g_len, buf);
            let mx = buf.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !mx.is_finite() {
                return (f64::NEG_INFINITY, f64::NAN);
            }
            let (mut s, mut sn) = (0.0, 0.0);
            for (v, &n) in buf.iter().zip(&n_grid) {
                let d = v - mx;
                if d > -LOG_NEGLIGIBLE {
                    let e = d.exp();
                    s += e;
                    sn += e * n;
                }
            }
            (mx + s.ln(), sn / s)
        })
        .collect();
    let max_lm = per_model
        .iter()
        .map(|x| x.0)
        .fold(f64::NEG_INFINITY, f64::max);
    if !max_lm.is_finite() {
        return Err(Error::no_estimate(
            "the posterior is zero (or not finite) at every grid point and model",
        ));
    }
    let log_total = max_lm
        + per_model
            .iter()
            .map(|x| (x.0 - max_lm).exp())
            .sum::<f64>()
            .ln();
    let models: Vec<ModelPosterior> = graphs
        .iter()
        .zip(&per_model)
        .enumerate()
        .map(|(i, (g, &(lm, mean)))| ModelPosterior {
            index: i,
            cliques: g.label(),
            probability: (lm - log_total).exp(),
            mean_n: mean,
        })
        .collect();
    let selected: Vec<usize> = (0..graphs.len())
        .filter(|&i| per_model[i].0 - log_total > -LOG_NEGLIGIBLE)
        .collect();

    // Pass 2: the model-averaged posterior of N, by chunks of the grid (each chunk sums the
    // models in order, so the result does not depend on the thread count).
    const CHUNK: usize = 2048;
    let chunks: Vec<usize> = (0..g_len.div_ceil(CHUNK)).collect();
    let posterior_n: Vec<f64> = chunks
        .par_iter()
        .map_init(Vec::new, |buf, &c| {
            let r = c * CHUNK..((c + 1) * CHUNK).min(g_len);
            let mut acc = vec![0.0; r.len()];
            for &i in &selected {
                model_row(&comps, &graphs[i], log_w[i], r.clone(), buf);
                for (a, v) in acc.iter_mut().zip(buf.iter()) {
                    let d = v - log_total;
                    if d > -LOG_NEGLIGIBLE {
                        *a += d.exp();
                    }
                }
            }
            acc
        })
        .flatten()
        .collect();
    let total: f64 = posterior_n.iter().sum();
    let posterior_n: Vec<f64> = posterior_n.iter().map(|v| v / total).collect();
    summarise(
        table,
        delta,
        params.level,
        n_grid,
        posterior_n,
        models,
        graphs.len(),
    )
}

/// The summary of a posterior of N given as probabilities `pmf` on the increasing grid
/// `n_grid`: mean, SD, the quantiles of [`report_probs`] (the smallest grid value whose
/// cumulative probability reaches q), and the central credible interval at `level`.
pub(crate) fn grid_posterior(n_grid: &[f64], pmf: &[f64], level: f64) -> (Posterior, (f64, f64)) {
    let mean: f64 = n_grid.iter().zip(pmf).map(|(n, w)| n * w).sum();
    let var: f64 = n_grid
        .iter()
        .zip(pmf)
        .map(|(n, w)| (n - mean) * (n - mean) * w)
        .sum();
    let sd = var.sqrt();
    let mut cdf = Vec::with_capacity(pmf.len());
    let mut acc = 0.0;
    for w in pmf {
        acc += w;
        cdf.push(acc);
    }
    let quantile = |q: f64| -> f64 {
        let i = cdf.partition_point(|&c| c < q).min(n_grid.len() - 1);
        n_grid[i]
    };
    let probs = report_probs(level);
    let quantiles: Vec<(f64, f64)> = probs.iter().map(|&q| (q, quantile(q))).collect();
    let median = quantile(0.5);
    let interval = (quantile((1.0 - level) / 2.0), quantile((1.0 + level) / 2.0));
    let posterior = Posterior {
        mean,
        median,
        sd,
        quantiles,
        diagnostics: None,
    };
    (posterior, interval)
}

fn summarise(
    table: &ListTable,
    delta: f64,
    level: f64,
    n_grid: Vec<f64>,
    posterior_n: Vec<f64>,
    models: Vec<ModelPosterior>,
    n_models: usize,
) -> Result<DgaFit> {
    let (posterior, (lo, hi)) = grid_posterior(&n_grid, &posterior_n, level);
    let Posterior {
        mean,
        median,
        sd,
        quantiles,
        ..
    } = posterior;
    let mode_i = posterior_n
        .iter()
        .enumerate()
        .fold(0, |b, (i, &w)| if w > posterior_n[b] { i } else { b });
    let g_len = n_grid.len();
    let mass_at_upper_end = posterior_n[g_len - 1];
    let (first, last) = (n_grid[0], n_grid[g_len - 1]);
    let cut = last - TAIL_SHARE * (last - first);
    let tail_mass: f64 = n_grid
        .iter()
        .zip(&posterior_n)
        .filter(|(n, _)| **n >= cut)
        .map(|(_, w)| w)
        .sum();
    let interval = Interval {
        lower: lo,
        upper: hi,
        level,
        method: IntervalMethod::Credible,
    };
    let p = table.n_lists();
    let mut estimate = Estimate::new(
        "dga",
        format!("BMA over {n_models} decomposable graphs (δ = {delta})"),
        median,
        sd,
        interval,
        table.observed(),
    )
    .with_assumptions(&[
        Assumption::ClosedPopulation,
        Assumption::PerfectMatching,
        Assumption::NoHighestOrderInteraction,
    ]);
    if tail_mass > TAIL_MASS_WARN {
        estimate = estimate.with_warning(Warning::Other {
            message: format!(
                "{:.2}% of the posterior lies in the top 5% of the grid (N up to {}): the \
                 upper quantiles and the mean move with the grid limit; widen the grid or \
                 treat the upper limit as a lower bound",
                100.0 * tail_mass,
                fmt_num(last)
            ),
        });
    }
    if p > 1 && lists_disconnected(table) {
        estimate = estimate.with_warning(Warning::Other {
            message: "some lists share no case with the others: the posterior rests on the \
                      prior and model averaging alone"
                .into(),
        });
    }
    Ok(DgaFit {
        estimate,
        posterior: Posterior {
            mean,
            median,
            sd,
            quantiles,
            diagnostics: None,
        },
        mode: n_grid[mode_i],
        n_grid,
        posterior_n,
        models,
        mass_at_upper_end,
        tail_mass,
        delta,
    })
}

/// Whether the lists split into groups that share no case (dga runs silently then).
fn lists_disconnected(table: &ListTable) -> bool {
    let p = table.n_lists();
    let mut reach: u32 = 1;
    loop {
        let mut next = reach;
        for (code, &c) in table.counts().iter().enumerate() {
            if c > 0 && (code as u32) & reach != 0 {
                next |= code as u32;
            }
        }
        if next == reach {
            break;
        }
        reach = next;
    }
    reach.count_ones() as usize != p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kosovo() -> ListTable {
        let y = vec![
            0, 1131, 845, 177, 936, 228, 217, 181, 306, 106, 31, 18, 123, 42, 32, 27,
        ];
        ListTable::new(vec!["a".into(), "b".into(), "c".into(), "d".into()], y).unwrap()
    }

    #[test]
    fn posterior_sums_to_one_and_models_agree() {
        let p = DgaParams {
            grid: NGrid::Range { from: 0, to: 20000 },
            ..Default::default()
        };
        let f = bma(&kosovo(), None, &p).unwrap();
        let s: f64 = f.posterior_n.iter().sum();
        assert!((s - 1.0).abs() < 1e-12);
        let sm: f64 = f.models.iter().map(|m| m.probability).sum();
        assert!((sm - 1.0).abs() < 1e-9);
        // the mixture of the per-model means is the overall mean
        let mix: f64 = f.models.iter().map(|m| m.probability * m.mean_n).sum();
        assert!((mix - f.posterior.mean).abs() / f.posterior.mean < 1e-9);
    }

    #[test]
    fn bad_settings_are_refused() {
        let t = kosovo();
        let p = DgaParams {
            delta: Some(-1.0),
            grid: NGrid::Range { from: 0, to: 10 },
            ..Default::default()
        };
        assert!(bma(&t, None, &p).is_err());
        let p = DgaParams {
            grid: NGrid::Values(vec![3, 2]),
            ..Default::default()
        };
        assert!(matches!(
            bma(&t, None, &p),
            Err(Error::InvalidData { row: Some(1), .. })
        ));
        let p = DgaParams {
            grid: NGrid::Range { from: 0, to: 10 },
            prior: PriorN::LogValues(vec![0.0; 3]),
            ..Default::default()
        };
        assert!(bma(&t, None, &p).is_err());
    }

    #[test]
    fn disconnected_lists_are_flagged() {
        let t = ListTable::new(vec!["a".into(), "b".into()], vec![0, 10, 12, 0]).unwrap();
        let p = DgaParams {
            grid: NGrid::Range { from: 0, to: 2000 },
            ..Default::default()
        };
        let f = bma(&t, None, &p).unwrap();
        assert!(!f.estimate.warnings.is_empty());
    }
}
