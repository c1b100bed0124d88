//! Multiple-systems estimation for sparse lists, as the R package SparseMSE 2.0.1
//! (Chan, Silverman & Vincent 2021).
//!
//! A Poisson log-linear model on the 2^k − 1 observed cells of a [`ListTable`], with
//! main effects and chosen two-list interactions; the dark figure is `exp(intercept)`:
//!
//! ```text
//! log μ_ω = β0 + Σ_j β_j ω_j + Σ_{(i,j) ∈ M} β_ij ω_i ω_j      (ω ≠ 0)
//! N̂ = n + exp(β̂0)
//! ```
//!
//! What sets the sparse-list method apart:
//! - **Empty overlaps.** A pair (i, j) of the model whose lists share no case has
//!   β_ij = −∞ in the extended MLE: every cell holding both lists is removed from the fit
//!   and the parameter is counted in the AIC (`SparseMSE::modelfit`).
//! - **Existence and identifiability** of the MLE are checked before a model is used
//!   ([`check_identifiability`], `SparseMSE::checkident`): a linear program (Fienberg &
//!   Rinaldo 2012) and the rank of the design on the remaining cells.
//! - **Stepwise selection** ([`stepwise`], `SparseMSE::stepwisefit`): starting from main
//!   effects, add the two-list effect whose total overlap has the smallest Poisson
//!   p-value under the current model, while it is below `pthresh` (0.02) and the model
//!   passes the checks.
//! - **BCa bootstrap** ([`bootstrap`], `SparseMSE::estimatepopulation`): multinomial
//!   resamples of the observed cells with the stepwise choice re-run in every replicate,
//!   jackknife acceleration, in parallel, reproducible from a seed on any thread count.
//! - **Non-informative lists** (empty, holding every case, or duplicating another list)
//!   are dropped first (`SparseMSE::removenoninformativelists`).
//!
//! A model whose MLE does not exist gives [`Error::EstimateDoesNotExist`], never a huge
//! number. A BCa limit whose adjusted percentile lies beyond the bootstrap's range (SparseMSE
//! then prints tied quantiles, e.g. Ned's upper limits) is flagged, with a warning.
//!
//! The [`Estimate`] carries N̂, the delta-method SE `exp(β̂0)·se(β̂0)`, the model-based
//! log-normal interval of `estimatepopulation.0` (or the BCa interval, from
//! [`bootstrap`]), and fit statistics: deviance, residual df, SparseMSE's adjusted AIC, and
//! a BIC with n = cases observed counting empty-overlap effects as parameters (SparseMSE
//! reports no BIC). Standard errors are R's `summary.glm` ones (working weights of the last
//! IRLS step).
//!
//! One-call API: [`stepwise`] (point estimate and model), [`bootstrap`] (BCa interval),
//! [`fit_model`] (a given model), [`check_identifiability`] (checkident verdict).
//!
//! # References
//! - Chan, L., Silverman, B. W. & Vincent, K. (2021). Multiple systems estimation for
//!   sparse capture data: inferential challenges when there are nonoverlapping lists.
//!   *JASA* 116, 1297–1306 (arXiv:1902.05156). R package SparseMSE 2.0.1.
//! - Fienberg, S. E. & Rinaldo, A. (2012). Maximum likelihood estimation in log-linear
//!   models. *Ann. Statist.* 40, 996–1023.
//! - Efron, B. (1987). Better bootstrap confidence intervals. *JASA* 82, 171–185.

mod bootstrap;
mod core;
mod lp;

pub use bootstrap::{
    BootstrapFit, BootstrapParams, DrawSummary, bootstrap, jackknife_acceleration,
};

use self::core::{DropReason, Pair};
use crate::ci::check_level;
use crate::data::ListTable;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, FitStats, Interval, IntervalMethod, Warning, fmt_num};
use crate::glm::StopReason;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};
use std::fmt;

/// Method label carried by the estimates of this module.
pub const METHOD: &str = "SparseMSE stepwise";

/// Overlaps at or below this many cases make an included two-list effect "thin": the
/// stepwise fit reports N̂ refitted without it ([`ThinEffect`]).
pub const THIN_OVERLAP: u64 = 2;

/// A log-linear model: main effects plus the listed two-list effects (0-based list
/// indices, `i < j`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Model {
    /// Two-list effects, in the order given (or selected).
    pub pairs: Vec<(usize, usize)>,
}

impl Model {
    /// Main effects only.
    pub fn main_effects() -> Self {
        Model { pairs: Vec::new() }
    }

    /// Every two-list effect of k lists (`mX = 0` in SparseMSE).
    pub fn all_pairs(k: usize) -> Self {
        Model {
            pairs: core::all_pairs(k),
        }
    }

    /// Effects given by names such as `"LA:NG"`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown list name or a malformed effect.
    pub fn from_labels<S: AsRef<str>>(table: &ListTable, effects: &[S]) -> Result<Self> {
        let names = table.names();
        let mut pairs = Vec::new();
        for e in effects {
            let e = e.as_ref();
            let parts: Vec<&str> = e.split(':').map(str::trim).collect();
            let idx = |s: &str| names.iter().position(|n| n == s);
            match parts.as_slice() {
                [a, b] => match (idx(a), idx(b)) {
                    (Some(i), Some(j)) if i != j => pairs.push((i.min(j), i.max(j))),
                    _ => {
                        return Err(Error::param(
                            "model",
                            e,
                            format!("two different list names among {}", names.join(", ")),
                        ));
                    }
                },
                _ => return Err(Error::param("model", e, "an effect written `A:B`")),
            }
        }
        Ok(Model { pairs })
    }

    /// Label such as `[main + LA:NG + PF:GP]`.
    pub fn label(&self, names: &[String]) -> String {
        let mut s = String::from("[main");
        for &(i, j) in &self.pairs {
            s.push_str(&format!(" + {}:{}", names[i], names[j]));
        }
        s.push(']');
        s
    }

    fn validate(&self, k: usize) -> Result<()> {
        for &(i, j) in &self.pairs {
            if i >= j || j >= k {
                return Err(Error::param(
                    "model",
                    format!("({i}, {j})"),
                    format!("pairs (i, j) of 0-based list indices with i < j < {k}"),
                ));
            }
        }
        Ok(())
    }
}

fn pair_name(names: &[String], (i, j): Pair) -> String {
    format!("{}:{}", names[i], names[j])
}

/// Verdict of the existence and identifiability checks (`SparseMSE::checkident`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// SparseMSE's error code: 0 fine, 1 the MLE does not exist, 2 not identifiable,
    /// 3 both.
    pub code: u8,
    /// Whether the (extended) MLE exists: the linear program's optimum is positive.
    pub exists: bool,
    /// Whether the design on the remaining cells has full column rank.
    pub identifiable: bool,
    /// Optimum of the linear program `max s: Aᵀx = Aᵀn, x ≥ s, x ≥ 0` (on the scale of
    /// the counts; 0 means the MLE does not exist).
    pub lp_objective: f64,
    /// Column-rank deficiency of the design.
    pub rank_deficiency: usize,
    /// Effects of the model whose lists share no case (parameter −∞, cells removed).
    pub empty_overlaps: Vec<String>,
}

impl Verdict {
    /// Whether the model can be fitted (code 0).
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "checkident code {}: MLE {} (LP optimum {:.6}), {} (rank deficiency {})",
            self.code,
            if self.exists {
                "exists"
            } else {
                "does not exist"
            },
            self.lp_objective,
            if self.identifiable {
                "identifiable"
            } else {
                "not identifiable"
            },
            self.rank_deficiency
        )?;
        if !self.empty_overlaps.is_empty() {
            write!(f, "; empty overlaps {}", self.empty_overlaps.join(", "))?;
        }
        Ok(())
    }
}

fn verdict_from(names: &[String], counts: &[u64], k: usize, pairs: &[Pair]) -> Verdict {
    let v = core::check(counts, k, pairs);
    let empty = pairs
        .iter()
        .filter(|&&p| core::overlap(counts, p) == 0)
        .map(|&p| pair_name(names, p))
        .collect();
    Verdict {
        code: u8::from(!v.exists) + 2 * u8::from(v.rank_deficiency > 0),
        exists: v.exists,
        identifiable: v.rank_deficiency == 0,
        lp_objective: v.lp_objective,
        rank_deficiency: v.rank_deficiency,
        empty_overlaps: empty,
    }
}

/// Checks whether a model's maximum-likelihood estimate exists and is identifiable.
///
/// ```text
/// exists       ⇔  max { s : Aᵀx = Aᵀn, x_ω ≥ s ≥ 0 } > 0      (Fienberg & Rinaldo 2012)
/// identifiable ⇔  rank A = number of parameters
/// ```
/// A is the design on the cells left after removing those that hold an empty overlap of
/// the model, n the observed counts there.
///
/// # Errors
/// [`Error::InvalidParameter`] when a pair does not name two different lists.
///
/// # References
/// `SparseMSE::checkident` (Chan, Silverman & Vincent 2021, §2.3); Fienberg & Rinaldo (2012).
///
/// # Examples
/// ```
/// use darkfigure::data::ListTable;
/// use darkfigure::sparse::{Model, check_identifiability};
/// // Artificial_3 (Chan, Silverman & Vincent, Table 2): A 40, B 30, C 20, AB 6.
/// let t = ListTable::new(vec!["A".into(), "B".into(), "C".into()],
///                        vec![0, 40, 30, 6, 20, 0, 0, 0])?;
/// assert_eq!(check_identifiability(&t, &Model::main_effects())?.code, 0);
/// assert_eq!(check_identifiability(&t, &Model { pairs: vec![(0, 1)] })?.code, 1);
/// assert_eq!(check_identifiability(&t, &Model::all_pairs(3))?.code, 2);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn check_identifiability(table: &ListTable, model: &Model) -> Result<Verdict> {
    model.validate(table.n_lists())?;
    Ok(verdict_from(
        table.names(),
        table.counts(),
        table.n_lists(),
        &model.pairs,
    ))
}

/// Number of triples of lists in which every pair shares at least one case
/// (`SparseMSE::count_triples`); when it is 0 the model with every two-list effect is not
/// identifiable.
///
/// # References
/// `SparseMSE::count_triples` (Chan, Silverman & Vincent 2021).
///
/// # Examples
/// ```
/// use darkfigure::data::ListTable;
/// let t = ListTable::new(vec!["A".into(), "B".into(), "C".into()],
///                        vec![0, 40, 30, 6, 20, 0, 0, 0])?;
/// assert_eq!(darkfigure::sparse::count_triples(&t), 0);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn count_triples(table: &ListTable) -> usize {
    core::count_triples(table.counts(), table.n_lists())
}

/// An effect with an empty overlap that the model contains.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmptyOverlap {
    /// Effect name, e.g. `K:R`.
    pub effect: String,
    /// Poisson probability of seeing no case on both lists under the model refitted
    /// without this effect: `exp(−Σ_{ω_i = ω_j = 1} μ̂_ω)` (`poisspempty`).
    pub p_empty: f64,
}

/// A fitted sparse-list model (`SparseMSE::modelfit`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelFit {
    /// List names of the table fitted.
    pub lists: Vec<String>,
    /// The model.
    pub model: Model,
    /// Label, e.g. `[main + LA:NG]`.
    pub label: String,
    /// Coefficient names as R's glm prints them: `(Intercept)`, lists, `A:B`
    /// (effects with empty overlaps are not among them).
    pub terms: Vec<String>,
    /// Coefficients.
    pub coefficients: Vec<f64>,
    /// Standard errors.
    pub std_errors: Vec<f64>,
    /// Effects of the model with empty overlaps.
    pub empty_overlaps: Vec<EmptyOverlap>,
    /// Residual deviance.
    pub deviance: f64,
    /// Residual degrees of freedom (cells fitted − parameters).
    pub df_residual: i64,
    /// AIC of the glm plus 2 per empty-overlap effect (as SparseMSE).
    pub aic: f64,
    /// Poisson log-likelihood.
    pub loglik: f64,
    /// Cases on at least one list of this table.
    pub observed: u64,
    /// N̂ = n + exp(β̂0).
    pub n_hat: f64,
    /// Delta-method standard error exp(β̂0)·se(β̂0).
    pub se: f64,
    /// Existence and identifiability verdict of the model.
    pub verdict: Verdict,
    /// Why IRLS stopped.
    pub stop: StopReason,
}

impl ModelFit {
    fn from_raw(
        names: &[String],
        counts: &[u64],
        model: Model,
        raw: &core::RawFit,
        verdict: Verdict,
    ) -> Result<Self> {
        let k = names.len();
        let mut terms = vec!["(Intercept)".to_string()];
        terms.extend(names.iter().cloned());
        terms.extend(raw.design.active.iter().map(|&p| pair_name(names, p)));
        let coefficients: Vec<f64> = raw.glm.coefficients.clone();
        let std_errors = raw.glm.std_errors();
        // Probability that the overlap is empty under the model without that effect:
        // refit without it and sum the fitted means of the cells holding both lists.
        let mut empty_overlaps = Vec::new();
        for &(i, j) in &raw.design.empty {
            let without: Vec<Pair> = model
                .pairs
                .iter()
                .copied()
                .filter(|&p| p != (i, j))
                .collect();
            let f = core::fit(counts, k, &without)?;
            let mask = (1usize << i) | (1usize << j);
            let lambda: f64 = f
                .design
                .cells
                .iter()
                .zip(f.glm.fitted.iter())
                .filter(|(c, _)| *c & mask == mask)
                .map(|(_, m)| m)
                .sum();
            empty_overlaps.push(EmptyOverlap {
                effect: pair_name(names, (i, j)),
                p_empty: (-lambda).exp(),
            });
        }
        let _ = k;
        let f0 = coefficients[0].exp();
        Ok(ModelFit {
            lists: names.to_vec(),
            label: model.label(names),
            model,
            terms,
            se: f0 * std_errors[0],
            coefficients,
            std_errors,
            deviance: raw.glm.deviance,
            df_residual: raw.glm.df_residual,
            aic: raw.glm.aic() + 2.0 * raw.design.empty.len() as f64,
            loglik: raw.glm.loglik,
            observed: raw.observed,
            n_hat: raw.n_hat(),
            empty_overlaps,
            verdict,
            stop: raw.glm.stop,
        })
    }

    /// Number of parameters, counting the empty-overlap effects (as the adjusted AIC).
    pub fn n_parameters(&self) -> usize {
        self.coefficients.len() + self.empty_overlaps.len()
    }

    /// The model-based interval of `estimatepopulation.0`, log-normal on the dark
    /// figure: `n + exp(β̂0 ± z·se(β̂0))`.
    pub fn log_normal_interval(&self, level: f64) -> Interval {
        let z = crate::ci::z_two_sided(level);
        let (b0, s0) = (self.coefficients[0], self.std_errors[0]);
        let n = self.observed as f64;
        Interval {
            lower: n + (b0 - z * s0).exp(),
            upper: n + (b0 + z * s0).exp(),
            level,
            method: IntervalMethod::LogNormal,
        }
    }

    /// The fit as an [`Estimate`] (`observed_total` is the number of cases in the data
    /// before non-informative lists were dropped).
    fn to_estimate(&self, method: &str, level: f64, observed_total: u64) -> Estimate {
        let mut iv = self.log_normal_interval(level);
        // Cases only on dropped lists are inside N̂ (unseen by the lists kept).
        iv.lower = iv.lower.max(observed_total as f64);
        let npar = self.n_parameters() as f64;
        let bic = -2.0 * self.loglik + (self.observed as f64).ln() * npar;
        let mut e = Estimate::new(
            method,
            self.label.clone(),
            self.n_hat,
            self.se,
            iv,
            observed_total,
        )
        .with_fit(FitStats {
            deviance: self.deviance,
            df: self.df_residual,
            aic: self.aic,
            bic,
        })
        .with_assumptions(&[
            Assumption::ClosedPopulation,
            Assumption::PerfectMatching,
            Assumption::NoHighestOrderInteraction,
        ]);
        if !self.stop.converged() {
            e = e.with_warning(Warning::NotConverged {
                iterations: self.stop.iterations(),
            });
        }
        for eo in &self.empty_overlaps {
            e = e.with_warning(Warning::Boundary {
                parameter: format!("{} (empty overlap, effect set to −∞)", eo.effect),
            });
        }
        e
    }
}

impl fmt::Display for ModelFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}  N̂ = {}  (SE {})",
            self.label,
            fmt_num(self.n_hat),
            fmt_num(self.se)
        )?;
        writeln!(
            f,
            "  deviance {} on {} df, AIC (adjusted) {}",
            fmt_num(self.deviance),
            self.df_residual,
            fmt_num(self.aic)
        )?;
        for ((t, c), s) in self
            .terms
            .iter()
            .zip(&self.coefficients)
            .zip(&self.std_errors)
        {
            writeln!(f, "  {t:<14} {c:>10.5} ({s:.5})")?;
        }
        for eo in &self.empty_overlaps {
            writeln!(
                f,
                "  {:<14} −∞ (empty overlap; P(empty) = {:.3e})",
                eo.effect, eo.p_empty
            )?;
        }
        write!(f, "  {}", self.verdict)
    }
}

/// Fits one model (`SparseMSE::modelfit(check = TRUE)` / `estimatepopulation.0(method =
/// "fixed")`), after checking that its MLE exists and is identifiable.
///
/// ```text
/// N̂ = n + exp(β̂0),   SE = exp(β̂0)·se(β̂0),   interval n + exp(β̂0 ± z·se(β̂0))
/// ```
///
/// # Errors
/// [`Error::EstimateDoesNotExist`] when the check fails (the reason carries the verdict);
/// [`Error::InvalidParameter`] for a bad model or level; errors of the Poisson fit.
///
/// # References
/// `SparseMSE::modelfit`, `SparseMSE::estimatepopulation.0` (Chan, Silverman & Vincent 2021).
///
/// # Examples
/// ```
/// use darkfigure::data::ListTable;
/// use darkfigure::sparse::{Model, fit_model};
/// let t = ListTable::new(vec!["A".into(), "B".into(), "C".into()],
///                        vec![0, 40, 30, 6, 20, 0, 0, 0])?;
/// let (fit, est) = fit_model(&t, &Model::main_effects(), 0.95)?;
/// assert!((est.n_hat - 539.0939294286063).abs() < 1e-6 * 539.0);   // SparseMSE 2.0.1
/// assert_eq!(fit.df_residual, 3);
/// assert!(fit_model(&t, &Model { pairs: vec![(0, 1)] }, 0.95).is_err()); // MLE does not exist
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn fit_model(table: &ListTable, model: &Model, level: f64) -> Result<(ModelFit, Estimate)> {
    check_level(level)?;
    let k = table.n_lists();
    model.validate(k)?;
    let verdict = verdict_from(table.names(), table.counts(), k, &model.pairs);
    if !verdict.ok() {
        return Err(Error::no_estimate(format!(
            "model {} on these data: {verdict}",
            model.label(table.names())
        )));
    }
    let raw = core::fit(table.counts(), k, &model.pairs)?;
    let fit = ModelFit::from_raw(table.names(), table.counts(), model.clone(), &raw, verdict)?;
    let est = fit.to_estimate("SparseMSE fixed model", level, table.observed());
    Ok((fit, est))
}

/// Settings of the stepwise fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepwiseParams {
    /// p-value threshold for adding an effect (SparseMSE default 0.02; 0 = main effects).
    pub pthresh: f64,
    /// Level of the model-based interval.
    pub level: f64,
    /// Drop empty, all-holding and duplicate lists first (default true).
    pub drop_noninformative: bool,
}

impl Default for StepwiseParams {
    fn default() -> Self {
        StepwiseParams {
            pthresh: 0.02,
            level: 0.95,
            drop_noninformative: true,
        }
    }
}

impl StepwiseParams {
    fn validate(&self) -> Result<()> {
        check_level(self.level)?;
        if !(0.0..=1.0).contains(&self.pthresh) {
            return Err(Error::param(
                "pthresh",
                self.pthresh,
                "a probability in [0, 1]",
            ));
        }
        Ok(())
    }
}

/// A list dropped as non-informative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedList {
    /// List name.
    pub list: String,
    /// Why: `no case`, `every case`, or `duplicates <list>`.
    pub reason: String,
}

/// One effect added by the stepwise search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Effect added, e.g. `PF:NCA`.
    pub effect: String,
    /// Its Poisson p-value under the previous model.
    pub p_value: f64,
    /// Cases on both lists.
    pub overlap: u64,
    /// Candidates with smaller p-values passed over because the model with them fails
    /// `checkident` (effect, code 1/2/3).
    pub rejected: Vec<(String, u8)>,
}

/// An included effect resting on very few shared cases, with N̂ refitted without it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThinEffect {
    /// Effect name.
    pub effect: String,
    /// Cases on both lists.
    pub overlap: u64,
    /// N̂ of the selected model without this effect (`None` when that model fails the checks).
    pub n_hat_without: Option<f64>,
}

/// Result of [`stepwise`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepwiseFit {
    /// Lists dropped before fitting.
    pub dropped: Vec<DroppedList>,
    /// Steps of the search, in order.
    pub steps: Vec<Step>,
    /// The selected model's fit (on the lists kept).
    pub fit: ModelFit,
    /// Effects of the selected model with at most [`THIN_OVERLAP`] shared cases.
    pub thin_effects: Vec<ThinEffect>,
    /// N̂ of the selected model without its empty-overlap effects (`None` when it has
    /// none, or when that model fails the checks): how much N̂ rests on cells set to 0.
    pub n_hat_without_empty_overlaps: Option<f64>,
    /// The estimate (model-based log-normal interval).
    pub estimate: Estimate,
}

impl fmt::Display for StepwiseFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.dropped {
            writeln!(f, "dropped list {}: {}", d.list, d.reason)?;
        }
        for s in &self.steps {
            writeln!(
                f,
                "added {:<12} p = {:.3e} (overlap {})",
                s.effect, s.p_value, s.overlap
            )?;
        }
        writeln!(f, "{}", self.fit)?;
        write!(f, "{}", self.estimate)
    }
}

/// Reduces a table by SparseMSE's non-informative-list rule; returns the reduced table
/// and the lists dropped.
///
/// ```text
/// drop list j if its column duplicates an earlier list over the observed histories,
/// or if it holds no case, or every case
/// ```
/// Cases only on a dropped list holding every case become unseen by the lists kept.
///
/// # Errors
/// [`Error::EstimateDoesNotExist`] when fewer than two informative lists remain.
///
/// # References
/// `SparseMSE::removenoninformativelists`.
pub fn drop_noninformative_lists(table: &ListTable) -> Result<(ListTable, Vec<DroppedList>)> {
    let k = table.n_lists();
    let rows: Vec<usize> = (1..1 << k).filter(|&c| table.count(c) > 0).collect();
    let red = core::reduce(table.counts(), k, &rows);
    let names = table.names();
    let dropped: Vec<DroppedList> = red
        .dropped
        .iter()
        .map(|&(j, r)| DroppedList {
            list: names[j].clone(),
            reason: match r {
                DropReason::Empty => "no case".into(),
                DropReason::ContainsAll => "every case".into(),
                DropReason::Duplicate(l) => format!("duplicates {}", names[l]),
            },
        })
        .collect();
    if red.kept.len() < 2 {
        return Err(Error::no_estimate(format!(
            "fewer than two informative lists remain after dropping {}",
            dropped
                .iter()
                .map(|d| format!("{} ({})", d.list, d.reason))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if dropped.is_empty() {
        return Ok((table.clone(), dropped));
    }
    let kept_names = red.kept.iter().map(|&j| names[j].clone()).collect();
    Ok((ListTable::new(kept_names, red.counts)?, dropped))
}

/// Stepwise selection of two-list effects by Poisson p-values, then the fit of the model
/// chosen (`SparseMSE::estimatepopulation.0(method = "stepwise")`).
///
/// ```text
/// candidate (i, j):  N*_ij = Σ_{ω_i = ω_j = 1} n_ω,   λ_ij = Σ_{ω_i = ω_j = 1} μ̂_ω (current model)
///                    p_ij = min(P(X ≤ N*_ij), P(X ≥ N*_ij)),  X ~ Poisson(λ_ij)
/// add argmin p_ij while p_ij < pthresh and the enlarged model passes checkident
/// N̂ = n + exp(β̂0),   interval n + exp(β̂0 ± z·se(β̂0))
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for bad settings; [`Error::EstimateDoesNotExist`] when
/// fewer than two informative lists remain or the selected model (main effects, when no
/// effect was added) has no MLE; errors of the Poisson fit.
///
/// # References
/// `SparseMSE::stepwisefit`, `SparseMSE::estimatepopulation.0` (Chan, Silverman &
/// Vincent 2021, §3.2).
///
/// # Examples
/// ```
/// use darkfigure::data::ListTable;
/// use darkfigure::sparse::{StepwiseParams, stepwise};
/// // Western (Farrell et al. 2019), 5 lists: SparseMSE selects A:E, N̂ = 2483.384.
/// let mut c = vec![0u64; 32];
/// for (code, n) in [(1, 52), (2, 90), (4, 114), (8, 45), (16, 21), (5, 4), (9, 2), (17, 5),
///                   (6, 6), (10, 1), (24, 3), (21, 1), (14, 1)] { c[code] = n; }
/// let t = ListTable::new(["A", "B", "C", "D", "E"].map(String::from).to_vec(), c)?;
/// let s = stepwise(&t, &StepwiseParams::default())?;
/// assert_eq!(s.fit.label, "[main + A:E]");
/// assert!((s.estimate.n_hat - 2483.38392023013).abs() < 1e-6 * 2483.0);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn stepwise(table: &ListTable, params: &StepwiseParams) -> Result<StepwiseFit> {
    params.validate()?;
    let (tab, dropped) = if params.drop_noninformative {
        drop_noninformative_lists(table)?
    } else {
        (table.clone(), Vec::new())
    };
    let names = tab.names();
    let k = tab.n_lists();
    let counts = tab.counts();
    let sw = core::stepwise(counts, k, params.pthresh)?;
    let verdict = verdict_from(names, counts, k, &sw.pairs);
    if !verdict.ok() {
        return Err(Error::no_estimate(format!(
            "the stepwise model {} has no usable MLE: {verdict}",
            Model {
                pairs: sw.pairs.clone()
            }
            .label(names)
        )));
    }
    let model = Model {
        pairs: sw.pairs.clone(),
    };
    let fit = ModelFit::from_raw(names, counts, model, &sw.fit, verdict)?;
    let steps = sw
        .steps
        .iter()
        .map(|s| Step {
            effect: pair_name(names, s.pair),
            p_value: s.p_value,
            overlap: core::overlap(counts, s.pair),
            rejected: s
                .rejected
                .iter()
                .map(|&(p, c)| (pair_name(names, p), c))
                .collect(),
        })
        .collect();
    let mut thin_effects = Vec::new();
    for (idx, &pr) in sw.pairs.iter().enumerate() {
        let ov = core::overlap(counts, pr);
        if ov == 0 || ov > THIN_OVERLAP {
            continue;
        }
        let mut without = sw.pairs.clone();
        without.remove(idx);
        let v = core::check(counts, k, &without);
        let n_hat_without = if v.exists && v.rank_deficiency == 0 {
            core::fit(counts, k, &without).ok().map(|f| f.n_hat())
        } else {
            None
        };
        thin_effects.push(ThinEffect {
            effect: pair_name(names, pr),
            overlap: ov,
            n_hat_without,
        });
    }
    let n_hat_without_empty_overlaps = if sw.fit.design.empty.is_empty() {
        None
    } else {
        let without: Vec<Pair> = sw
            .pairs
            .iter()
            .copied()
            .filter(|p| !sw.fit.design.empty.contains(p))
            .collect();
        let v = core::check(counts, k, &without);
        if v.exists && v.rank_deficiency == 0 {
            core::fit(counts, k, &without).ok().map(|f| f.n_hat())
        } else {
            None
        }
    };
    let mut estimate = fit.to_estimate(METHOD, params.level, table.observed());
    if let Some(nw) = n_hat_without_empty_overlaps {
        let ratio = fit.n_hat / nw;
        if !(0.8..=1.25).contains(&ratio) {
            estimate = estimate.with_warning(Warning::Other {
                message: format!(
                    "N̂ rests on the empty-overlap effects {} (their cells are fitted as 0): without them N̂ = {} ({ratio:.2}×)",
                    fit.empty_overlaps
                        .iter()
                        .map(|e| e.effect.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    fmt_num(nw),
                ),
            });
        }
    }
    for d in &dropped {
        estimate = estimate.with_warning(Warning::Other {
            message: format!("list {} dropped as non-informative: {}", d.list, d.reason),
        });
    }
    for t in &thin_effects {
        if let Some(nw) = t.n_hat_without {
            let ratio = fit.n_hat / nw;
            if !(0.8..=1.25).contains(&ratio) {
                estimate = estimate.with_warning(Warning::Other {
                    message: format!(
                        "N̂ rests on {}, an effect estimated from {} shared case{}: without it N̂ = {} ({:.2}×)",
                        t.effect,
                        t.overlap,
                        if t.overlap == 1 { "" } else { "s" },
                        fmt_num(nw),
                        ratio
                    ),
                });
            }
        }
    }
    Ok(StepwiseFit {
        dropped,
        steps,
        fit,
        thin_effects,
        n_hat_without_empty_overlaps,
        estimate,
    })
}

/// Standard normal quantile.
pub(crate) fn qnorm(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Standard normal distribution function.
pub(crate) fn pnorm(x: f64) -> f64 {
    Normal::standard().cdf(x)
}
