//! Planning a capture-recapture study: how many operations (lists), and how large, give a
//! figure precise enough to cite?
//!
//! A [`PlanSpec`] describes a **design space** (numbers of operations × effort per
//! operation, evaluated at several plausible population sizes, under the heterogeneity,
//! behaviour effect and list dependence the analyst fears), the **estimator** that will be
//! used, and a **target** (relative half-width of the interval, or relative RMSE, with the
//! coverage and failure share it must keep). [`run_plan`] simulates designs with the
//! Monte-Carlo runner ([`crate::sim::run`]) and returns, per design and population size,
//! the median and 90th percentile of the relative half-width, bias, RMSE, coverage and
//! failure share with their Monte-Carlo errors, and the **answer**: the cheapest design
//! that meets the target at every population size.
//!
//! # Design and effort
//! Effort per operation is given either as the expected number of people met in one
//! operation, m (so the capture probability of a person not yet caught is p̄ = m / N), or
//! directly as p̄. The cost of a design is operations × effort (people met in total, or
//! the sum of capture probabilities). A design meets the target when, at every
//! population size of the range,
//! ```text
//! criterion ≤ target       (quantile q of the relative half-width (U − L) / (2 N),
//!                           failures counted as +∞; or relative RMSE √mean((N̂ − N)²/N²))
//! coverage  ≥ min_coverage (share of intervals containing N, among estimates)
//! failures  ≤ max_failure  (share of replicates without an estimate)
//! ```
//!
//! # Heterogeneity in words
//! "The most visible `top_share` (e.g. 10%) are `ratio` (k) times as likely to be met as
//! the average" ([`Visibility`]) is translated to logit-normal heterogeneity
//! (`logit p_i = μ + σ Z`, Z standard normal, Coull & Agresti 1999): σ and μ solve
//! ```text
//! E[expit(μ + σZ)] = p̄          E[expit(μ + σZ) | Z > z_{1 − top_share}] = k p̄
//! ```
//! by nested bisection (both sides are monotone in σ and μ), with the expectations by
//! composite Simpson quadrature on [−8, 8]. k = 1 is no heterogeneity. k is bounded
//! by 1/top_share and 1/p̄ (the most visible cannot be met more than always); a larger
//! k is refused with a typed error. The σ found is reported with each design, as it
//! depends on p̄ (hence on N and the effort).
//!
//! # Behaviour and dependence
//! `behaviour_odds_ratio` multiplies the odds of being met after a first capture (0.5:
//! an arrest halves the odds, trap-shy; 2: trap-happy); the logit shift is its log.
//! `dependence` adds log-linear two-list interactions ([`crate::sim::Dependence`]).
//!
//! # Search
//! Precision (and the failure share) improve with effort and with the number of
//! operations; coverage need not: a model that ignores the heterogeneity is biased, and
//! as its interval narrows with effort it covers the truth less often. With
//! [`Search::Adaptive`] the runner bisects the precision part of the goal over effort for
//! each number of operations, using the previous precision frontier as the upper bound
//! (a staircase: the least effort reaching the precision cannot grow with more
//! operations), then steps up from there until coverage is kept as well; with a single
//! effort value it bisects over the number of operations, then steps up. Every design
//! reported was simulated; a design assumed precise by monotonicity that is not
//! (Monte-Carlo noise) makes the search step up. Because precision is monotone, the
//! answer is the grid's whenever the designs meeting the whole goal above the precision
//! frontier form a block; [`Search::Grid`] simulates every design and shows where
//! coverage breaks down. Every design's replicate
//! i at population size j draws from `stream(seed, j, i)` whatever the design (common
//! random numbers), so neighbouring designs differ by their design, not by noise, and a
//! plan is identical on any number of threads.
//!
//! # Monte-Carlo errors
//! Means and shares as in [`crate::sim::metrics`] (Morris, White & Crowther 2019). For a
//! quantile q of R values, the order statistics at R q ± √(R q (1 − q)) bracket one
//! standard error either side; half their distance is reported as the MCSE.
//!
//! # Examples
//! ```
//! use darkfigure::plan::{self, Criterion, Effort, PlanSpec};
//! let mut spec = PlanSpec::new(vec![2], Effort::Probability(vec![0.2, 0.3, 0.4]), vec![1000]);
//! spec.estimators = vec!["chapman".into()];
//! spec.replicates = 200;
//! spec.goal.criterion = Criterion::HalfWidth { max: 0.2, quantile: 0.5 };
//! let plan = plan::run_plan(&spec, None)?;
//! let a = plan.answer().unwrap();
//! // closed form (Robson & Regier 1964): p = 0.3 gives ±17.9%, p = 0.2 gives ±27.8%
//! assert_eq!((a.operations, a.effort), (2, 0.3));
//! # Ok::<(), darkfigure::Error>(())
//! ```
//!
//! # References
//! Robson & Regier (1964); Darroch (1958); Coull, B. A. & Agresti, A. (1999) The use of
//! mixed logit models to reflect heterogeneity in capture-recapture studies.
//! *Biometrics* 55, 294-301; Morris, White & Crowther (2019) *Statistics in Medicine* 38,
//! 2074-2102. shinyrecap (Fellows 2019) asks for heterogeneity in the same words.

pub mod closed_form;
pub mod report;

use crate::error::{Error, Result};
use crate::sim::{
    self, Behaviour, ClosedSpec, Dependence, Generation, Heterogeneity, Model, Output, PerOccasion,
    RunOptions, Scenario, SimEstimator, Stratum, Study,
    runner::{Outcome, RawResults},
};
use serde::Serialize;
use std::collections::BTreeMap;

/// "The most visible `top_share` of the population are `ratio` times as likely to be met
/// as the average person" (see the module docs for the translation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Visibility {
    /// Share of the most visible people (0.1 = the top 10%).
    pub top_share: f64,
    /// How many times as likely as the average they are to be met (1 = everybody alike).
    pub ratio: f64,
}

impl Visibility {
    /// The top 10% are `ratio` times as likely to be met as the average.
    pub fn top10(ratio: f64) -> Self {
        Visibility {
            top_share: 0.1,
            ratio,
        }
    }
}

/// The logit-normal parameters of [`Visibility`] at mean capture probability p̄.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogitNormal {
    /// Location μ (logit of the median person's capture probability).
    pub mu: f64,
    /// Scale σ on the logit scale.
    pub sd: f64,
}

const Q_LO: f64 = -8.0;
const Q_HI: f64 = 8.0;
const Q_STEPS: usize = 400; // even

fn expit(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// ∫_a^{Q_HI} expit(μ + σz) φ(z) dz by composite Simpson.
fn expit_moment(mu: f64, sd: f64, a: f64) -> f64 {
    let h = (Q_HI - a) / Q_STEPS as f64;
    let phi = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let f = |z: f64| expit(mu + sd * z) * phi(z);
    let mut s = f(a) + f(Q_HI);
    for k in 1..Q_STEPS {
        let z = a + k as f64 * h;
        s += if k % 2 == 1 { 4.0 } else { 2.0 } * f(z);
    }
    s * h / 3.0
}

fn mu_for_mean(p_bar: f64, sd: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0, 40.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if expit_moment(mid, sd, Q_LO) < p_bar {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

impl Visibility {
    /// The logit-normal heterogeneity that gives mean capture probability `p_bar` and
    /// this top-share ratio (module docs).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a share outside (0, 1), a ratio below 1, or a
    /// ratio that cannot be reached at `p_bar` (at least 1/top_share or 1/p̄).
    pub fn logit_normal(&self, p_bar: f64) -> Result<LogitNormal> {
        if !(self.top_share > 0.0 && self.top_share < 1.0) {
            return Err(Error::param(
                "heterogeneity share",
                self.top_share,
                "a share strictly between 0 and 1 (0.1 = the most visible 10%)",
            ));
        }
        if !(self.ratio >= 1.0 && self.ratio.is_finite()) {
            return Err(Error::param(
                "heterogeneity",
                self.ratio,
                "a ratio of at least 1 (1 = everybody equally likely to be met)",
            ));
        }
        if !(p_bar > 0.0 && p_bar < 1.0) {
            return Err(Error::param(
                "capture probability",
                p_bar,
                "a probability strictly between 0 and 1",
            ));
        }
        let logit = |p: f64| (p / (1.0 - p)).ln();
        if self.ratio == 1.0 {
            return Ok(LogitNormal {
                mu: logit(p_bar),
                sd: 0.0,
            });
        }
        let cap = (1.0 / self.top_share).min(1.0 / p_bar);
        if self.ratio >= cap * 0.98 {
            return Err(Error::param(
                "heterogeneity",
                self.ratio,
                format!(
                    "a ratio below {:.2}: at a mean capture probability of {p_bar:.3} the most visible {:.0}% cannot be more than that many times as likely to be met as the average",
                    cap * 0.98,
                    100.0 * self.top_share
                ),
            ));
        }
        let z = crate::ci::z_two_sided(1.0 - 2.0 * self.top_share);
        let ratio_at = |sd: f64| {
            let mu = mu_for_mean(p_bar, sd);
            (expit_moment(mu, sd, z) / self.top_share / p_bar, mu)
        };
        let (mut lo, mut hi) = (0.0, 1.0);
        while ratio_at(hi).0 < self.ratio {
            hi *= 2.0;
            if hi > 64.0 {
                return Err(Error::param(
                    "heterogeneity",
                    self.ratio,
                    format!("a smaller ratio (not reached at p̄ = {p_bar:.3})"),
                ));
            }
        }
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if ratio_at(mid).0 < self.ratio {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let sd = 0.5 * (lo + hi);
        Ok(LogitNormal {
            mu: ratio_at(sd).1,
            sd,
        })
    }
}

/// Effort per operation: a grid of values, ascending.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "values", rename_all = "snake_case")]
pub enum Effort {
    /// Expected number of people met per operation (p̄ = m / N).
    MetPerOperation(Vec<f64>),
    /// Capture probability per occasion p̄.
    Probability(Vec<f64>),
}

impl Effort {
    /// The grid values.
    pub fn values(&self) -> &[f64] {
        match self {
            Effort::MetPerOperation(v) | Effort::Probability(v) => v,
        }
    }

    /// Mean capture probability of a person not yet caught, at population `n`.
    fn p_bar(&self, value: f64, n: u64) -> f64 {
        match self {
            Effort::MetPerOperation(_) => value / n as f64,
            Effort::Probability(_) => value,
        }
    }

    /// Label of the effort unit.
    pub fn unit(&self) -> &'static str {
        match self {
            Effort::MetPerOperation(_) => "met per operation",
            Effort::Probability(_) => "capture probability per occasion",
        }
    }
}

/// What must be small.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Criterion {
    /// Quantile `quantile` (0.5 = median, 0.9 = in 9 studies out of 10) of the relative
    /// half-width (U − L) / (2 N) of the primary interval (N the true size) must be at
    /// most `max`.
    HalfWidth {
        /// Largest acceptable relative half-width (0.2 = ±20%).
        max: f64,
        /// Quantile over replicates.
        quantile: f64,
    },
    /// The relative RMSE √mean(((N̂ − N)/N)²) must be at most `max`.
    Rmse {
        /// Largest acceptable relative RMSE.
        max: f64,
    },
}

impl Criterion {
    /// The threshold.
    pub fn max(&self) -> f64 {
        match self {
            Criterion::HalfWidth { max, .. } | Criterion::Rmse { max } => *max,
        }
    }
}

/// The target a design must meet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Goal {
    /// The precision criterion.
    pub criterion: Criterion,
    /// Smallest acceptable coverage of the primary interval.
    pub min_coverage: f64,
    /// Largest acceptable share of replicates without an estimate.
    pub max_failure: f64,
}

impl Default for Goal {
    fn default() -> Self {
        Goal {
            criterion: Criterion::HalfWidth {
                max: 0.2,
                quantile: 0.5,
            },
            min_coverage: 0.9,
            max_failure: 0.05,
        }
    }
}

/// How designs are chosen for simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// Bisection over effort (staircase over operations); see the module docs.
    #[default]
    Adaptive,
    /// Every design of the grid.
    Grid,
}

/// The estimator of a plan when none is named: the recommended headline procedure.
pub const DEFAULT_PLAN_ESTIMATOR: &str = "recommended";

/// A plan-only estimator name: the 12 `closedp.t` models with the log-normal intervals
/// `closedp.t` prints (no profile intervals: about 5 times faster than `closedp`).
pub const CLOSEDP_LOGNORMAL: &str = "closedp-lognormal";

/// The simulation estimators of a plan: [`CLOSEDP_LOGNORMAL`], or any name
/// [`crate::sim::builtin_estimators`] reads.
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name.
pub fn plan_estimators(names: &[String], level: f64) -> Result<Vec<Box<dyn SimEstimator>>> {
    let mut out: Vec<Box<dyn SimEstimator>> = Vec::new();
    for n in names {
        if n == CLOSEDP_LOGNORMAL {
            out.push(Box::new(sim::ClosedLogLinear::closedp(&[], level)?));
        } else {
            out.extend(sim::builtin_estimators(std::slice::from_ref(n), level)?);
        }
    }
    Ok(out)
}

/// A planning question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSpec {
    /// Title.
    pub name: String,
    /// Numbers of operations (lists) to consider, ascending, each at least 2.
    pub operations: Vec<usize>,
    /// Effort per operation, ascending.
    pub effort: Effort,
    /// Plausible population sizes; a design must meet the target at every one.
    pub population: Vec<u64>,
    /// Heterogeneity in words (`None`: everybody alike).
    pub heterogeneity: Option<Visibility>,
    /// Odds ratio of being met after a first capture (1: no behaviour effect).
    pub behaviour_odds_ratio: f64,
    /// Two-list dependence.
    pub dependence: Vec<Dependence>,
    /// Simulation estimators by name ([`plan_estimators`]).
    pub estimators: Vec<String>,
    /// The estimate label judged against the target (needed when the estimators give
    /// several labels and the search is adaptive; e.g. `Mh Chao (LB)`).
    pub judge: Option<String>,
    /// The target.
    pub goal: Goal,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Replicates per design and population size.
    pub replicates: u64,
    /// Base seed.
    pub seed: u64,
    /// Search strategy.
    pub search: Search,
}

impl PlanSpec {
    /// A plan with defaults: the recommended estimator, the default [`Goal`] (±20% median
    /// half-width, coverage ≥ 90%, failures ≤ 5%), 95% intervals, 500 replicates,
    /// adaptive search, no heterogeneity, behaviour or dependence.
    pub fn new(operations: Vec<usize>, effort: Effort, population: Vec<u64>) -> Self {
        PlanSpec {
            name: "capture-recapture study design".into(),
            operations,
            effort,
            population,
            heterogeneity: None,
            behaviour_odds_ratio: 1.0,
            dependence: Vec::new(),
            estimators: vec![DEFAULT_PLAN_ESTIMATOR.into()],
            judge: None,
            goal: Goal::default(),
            level: 0.95,
            replicates: 500,
            seed: sim::scenario::DEFAULT_SEED,
            search: Search::Adaptive,
        }
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first bad setting.
    pub fn validate(&self) -> Result<()> {
        crate::ci::check_level(self.level)?;
        let ascending = |v: &[f64]| v.windows(2).all(|w| w[0] < w[1]);
        if self.operations.is_empty()
            || !self.operations.windows(2).all(|w| w[0] < w[1])
            || self.operations[0] < 2
            || *self.operations.last().unwrap() > sim::scenario::MAX_SIM_OCCASIONS
        {
            return Err(Error::param(
                "operations",
                format!("{:?}", self.operations),
                format!(
                    "ascending numbers of operations from 2 to {}",
                    sim::scenario::MAX_SIM_OCCASIONS
                ),
            ));
        }
        let e = self.effort.values();
        if e.is_empty() || !ascending(e) || e.iter().any(|x| !(*x > 0.0 && x.is_finite())) {
            return Err(Error::param(
                "effort",
                format!("{e:?}"),
                "ascending positive values",
            ));
        }
        if let Effort::Probability(v) = &self.effort
            && v.iter().any(|p| *p >= 1.0)
        {
            return Err(Error::param(
                "capture probability",
                format!("{v:?}"),
                "probabilities below 1",
            ));
        }
        if self.population.is_empty()
            || self
                .population
                .iter()
                .any(|n| *n == 0 || *n > sim::scenario::MAX_SIM_N)
        {
            return Err(Error::param(
                "population",
                format!("{:?}", self.population),
                "one or more population sizes from 1 to 10⁹",
            ));
        }
        if let Effort::MetPerOperation(m) = &self.effort {
            let top = m.last().copied().unwrap_or(0.0);
            for &n in &self.population {
                if top >= n as f64 {
                    return Err(Error::param(
                        "met per operation",
                        top,
                        format!("fewer than the population size {n}"),
                    ));
                }
            }
        }
        if !(self.behaviour_odds_ratio > 0.0 && self.behaviour_odds_ratio.is_finite()) {
            return Err(Error::param(
                "behaviour odds ratio",
                self.behaviour_odds_ratio,
                "a positive number (1 = no effect)",
            ));
        }
        if self.replicates < 2 {
            return Err(Error::param("replicates", self.replicates, "at least 2"));
        }
        if self.estimators.is_empty() {
            return Err(Error::param("estimators", "none", "at least one estimator"));
        }
        let g = &self.goal;
        if !(g.criterion.max() > 0.0 && g.criterion.max().is_finite()) {
            return Err(Error::param(
                "target",
                g.criterion.max(),
                "a positive number",
            ));
        }
        if let Criterion::HalfWidth { quantile, .. } = g.criterion
            && !(quantile > 0.0 && quantile < 1.0)
        {
            return Err(Error::param("quantile", quantile, "between 0 and 1"));
        }
        if !(0.0..=1.0).contains(&g.min_coverage) || !(0.0..=1.0).contains(&g.max_failure) {
            return Err(Error::param(
                "coverage / failure share",
                format!("{} / {}", g.min_coverage, g.max_failure),
                "shares in [0, 1]",
            ));
        }
        if let Some(v) = &self.heterogeneity {
            // checks share and ratio (the reachability is checked per design)
            v.logit_normal(0.01)?;
        }
        Ok(())
    }

    /// Upper bound on the replicates simulated (all designs of the grid), for progress
    /// bars.
    pub fn max_replicates(&self) -> u64 {
        (self.operations.len() * self.effort.values().len() * self.population.len()) as u64
            * self.replicates
    }

    /// The simulation scenario of design (operations `t`, effort `value`) at population
    /// size `n`, with the heterogeneity it translates to.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the heterogeneity cannot be reached or the capture
    /// probability is not in (0, 1).
    pub fn scenario(&self, t: usize, value: f64, n: u64) -> Result<(Scenario, f64, f64)> {
        let p_bar = self.effort.p_bar(value, n);
        if !(p_bar > 0.0 && p_bar < 1.0) {
            return Err(Error::param(
                "capture probability",
                p_bar,
                format!("a probability in (0, 1) (effort {value} at N = {n})"),
            ));
        }
        let ln = match &self.heterogeneity {
            Some(v) => v.logit_normal(p_bar)?,
            None => LogitNormal {
                mu: (p_bar / (1.0 - p_bar)).ln(),
                sd: 0.0,
            },
        };
        let heterogeneity = if ln.sd > 0.0 {
            Heterogeneity::LogitNormal { sd: ln.sd }
        } else {
            Heterogeneity::None
        };
        let behaviour = (self.behaviour_odds_ratio != 1.0).then(|| Behaviour {
            logit_shift: self.behaviour_odds_ratio.ln(),
        });
        let sc = Scenario {
            name: format!("t={t} effort={value} N={n}"),
            by_stratum: false,
            model: Model::Closed(ClosedSpec {
                occasions: t,
                strata: vec![Stratum {
                    name: "all".into(),
                    n,
                    p: PerOccasion::Same(expit(ln.mu)),
                    heterogeneity,
                    behaviour,
                }],
                dependence: self.dependence.clone(),
                output: Output::Histories,
                generation: Generation::Auto,
            }),
        };
        Ok((sc, p_bar, ln.sd))
    }
}

/// A value with its Monte-Carlo standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Mc {
    /// The estimate (may be +∞, e.g. a half-width quantile when too many replicates fail).
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub value: f64,
    /// Its Monte-Carlo SE.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub mcse: f64,
}

/// One estimator at one design and population size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanRow {
    /// Estimate label.
    pub estimator: String,
    /// Population size N.
    pub population: u64,
    /// Mean capture probability p̄ of a person not yet caught.
    pub p_bar: f64,
    /// Logit-normal σ the heterogeneity translated to.
    pub sd: f64,
    /// Replicates run.
    pub replicates: u64,
    /// Replicates with an estimate.
    pub estimates: u64,
    /// Median relative half-width (failures count as +∞).
    pub half_width_median: Mc,
    /// 90th percentile of the relative half-width.
    pub half_width_p90: Mc,
    /// The criterion's value (the quantile asked for, or the relative RMSE).
    pub criterion: Mc,
    /// Mean (N̂ − N)/N.
    pub rel_bias: Mc,
    /// √mean(((N̂ − N)/N)²).
    pub rel_rmse: Mc,
    /// sd(N̂)/N (the empirical relative SE).
    pub rel_sd: Mc,
    /// Coverage of the primary interval.
    pub coverage: Mc,
    /// Share of replicates without an estimate.
    pub failure: Mc,
    /// Whether this row meets the goal.
    pub meets: bool,
    /// Whether it meets the precision criterion and the failure share (coverage aside).
    pub precise: bool,
}

/// One design: a number of operations and an effort, at every population size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignResult {
    /// Number of operations (lists).
    pub operations: usize,
    /// Effort per operation.
    pub effort: f64,
    /// Cost: operations × effort.
    pub cost: f64,
    /// Rows: per estimator label, per population size.
    pub rows: Vec<PlanRow>,
}

impl DesignResult {
    /// Whether `label` meets the goal at every population size (false when absent).
    pub fn meets(&self, label: &str) -> bool {
        let mut any = false;
        for r in self.rows.iter().filter(|r| r.estimator == label) {
            any = true;
            if !r.meets {
                return false;
            }
        }
        any
    }

    /// Whether `label` meets the precision criterion and the failure share (not
    /// necessarily the coverage) at every population size: the part of the goal that
    /// improves with effort.
    pub fn precise(&self, label: &str) -> bool {
        let mut any = false;
        for r in self.rows.iter().filter(|r| r.estimator == label) {
            any = true;
            if !r.precise {
                return false;
            }
        }
        any
    }

    /// The row of `label` with the largest criterion value (the binding population size).
    pub fn worst(&self, label: &str) -> Option<&PlanRow> {
        self.rows
            .iter()
            .filter(|r| r.estimator == label)
            .max_by(|a, b| {
                (!a.meets, a.criterion.value)
                    .partial_cmp(&(!b.meets, b.criterion.value))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }

    /// The estimate labels, in row order.
    pub fn labels(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for r in &self.rows {
            if !v.contains(&r.estimator) {
                v.push(r.estimator.clone());
            }
        }
        v
    }
}

/// The cheapest design meeting the goal for one estimator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// Estimate label.
    pub estimator: String,
    /// Number of operations.
    pub operations: usize,
    /// Effort per operation.
    pub effort: f64,
    /// Operations × effort.
    pub cost: f64,
    /// The binding row (the population size where the criterion is largest).
    pub worst: PlanRow,
}

/// The least effort meeting the goal for each number of operations (one point of the
/// precision curve), for the judged estimator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrontierPoint {
    /// Number of operations.
    pub operations: usize,
    /// Least effort per operation meeting the goal (`None`: none found).
    pub effort: Option<f64>,
    /// Whether the designs with this number of operations were searched (the adaptive
    /// search skips numbers of operations that cannot reach the precision, and stops
    /// early when a single effort is given).
    pub simulated: bool,
}

/// The result of [`run_plan`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The question.
    pub spec: PlanSpec,
    /// The estimator judged (adaptive search) or every label (grid search).
    pub judged: Vec<String>,
    /// The cheapest design meeting the goal, per judged estimator (absent when none in
    /// the space does).
    pub answers: Vec<Answer>,
    /// Per number of operations, the least effort meeting the goal (first judged
    /// estimator).
    pub frontier: Vec<FrontierPoint>,
    /// Every simulated design, ordered by (operations, effort).
    pub designs: Vec<DesignResult>,
    /// Designs in the grid.
    pub grid_size: usize,
}

impl Plan {
    /// The answer for the first judged estimator.
    pub fn answer(&self) -> Option<&Answer> {
        self.judged
            .first()
            .and_then(|l| self.answers.iter().find(|a| &a.estimator == l))
    }

    /// The design with (operations, effort), if simulated.
    pub fn design(&self, operations: usize, effort: f64) -> Option<&DesignResult> {
        self.designs
            .iter()
            .find(|d| d.operations == operations && d.effort == effort)
    }
}

/// Sorted-sample quantile (type 7), +∞ aware.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    let (a, b) = (sorted[lo], sorted[hi]);
    if lo == hi || a == b {
        return a;
    }
    if !b.is_finite() {
        return f64::INFINITY;
    }
    a + (h - lo as f64) * (b - a)
}

/// Quantile with its order-statistic MCSE (module docs).
fn quantile_mc(sorted: &[f64], q: f64) -> Mc {
    let r = sorted.len() as f64;
    let value = quantile(sorted, q);
    if sorted.len() < 2 {
        return Mc {
            value,
            mcse: f64::NAN,
        };
    }
    let d = (r * q * (1.0 - q)).sqrt();
    let j = ((r * q - d).floor().max(0.0) as usize).min(sorted.len() - 1);
    let k = ((r * q + d).ceil() as usize).min(sorted.len() - 1);
    let mcse = if sorted[k].is_finite() {
        (sorted[k] - sorted[j]) / 2.0
    } else {
        f64::INFINITY
    };
    Mc { value, mcse }
}

fn mean_mc(v: &[f64]) -> Mc {
    let n = v.len() as f64;
    if v.is_empty() {
        return Mc {
            value: f64::NAN,
            mcse: f64::NAN,
        };
    }
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        f64::NAN
    };
    Mc {
        value: m,
        mcse: (var / n).sqrt(),
    }
}

fn share_mc(k: u64, n: u64) -> Mc {
    if n == 0 {
        return Mc {
            value: f64::NAN,
            mcse: f64::NAN,
        };
    }
    let c = k as f64 / n as f64;
    Mc {
        value: c,
        mcse: (c * (1.0 - c) / n as f64).sqrt(),
    }
}

/// Plan metrics of one series (module docs).
fn row_from_records(
    label: &str,
    population: u64,
    p_bar: f64,
    sd: f64,
    runs: u64,
    outcomes: &[(f64, &Outcome)],
    goal: &Goal,
) -> PlanRow {
    let mut hw = Vec::with_capacity(runs as usize);
    let mut rel = Vec::new();
    let mut covered = 0u64;
    let mut with_interval = 0u64;
    for (truth, o) in outcomes {
        if let Outcome::Ok {
            n_hat, intervals, ..
        } = o
        {
            rel.push((n_hat - truth) / truth);
            match intervals.first() {
                Some(i) => {
                    with_interval += 1;
                    if i.lower <= *truth && *truth <= i.upper {
                        covered += 1;
                    }
                    let h = (i.upper - i.lower) / (2.0 * truth);
                    hw.push(if h.is_finite() { h } else { f64::INFINITY });
                }
                None => hw.push(f64::INFINITY),
            }
        }
    }
    let estimates = rel.len() as u64;
    // failed replicates: no usable figure, an infinitely wide interval
    hw.resize(runs as usize, f64::INFINITY);
    hw.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let half_width_median = quantile_mc(&hw, 0.5);
    let half_width_p90 = quantile_mc(&hw, 0.9);
    let rel_bias = mean_mc(&rel);
    let sq: Vec<f64> = rel.iter().map(|x| x * x).collect();
    let msq = mean_mc(&sq);
    let rmse = msq.value.sqrt();
    let rel_rmse = Mc {
        value: rmse,
        mcse: msq.mcse / (2.0 * rmse),
    };
    let n = rel.len() as f64;
    let rel_sd = if rel.len() > 1 {
        let var = rel
            .iter()
            .map(|x| (x - rel_bias.value).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        Mc {
            value: var.sqrt(),
            mcse: var.sqrt() / (2.0 * (n - 1.0)).sqrt(),
        }
    } else {
        Mc {
            value: f64::NAN,
            mcse: f64::NAN,
        }
    };
    let coverage = share_mc(covered, with_interval);
    let failure = share_mc(runs - estimates, runs);
    let criterion = match goal.criterion {
        Criterion::HalfWidth { quantile: q, .. } => quantile_mc(&hw, q),
        Criterion::Rmse { .. } => rel_rmse,
    };
    let precise = criterion.value <= goal.criterion.max() && failure.value <= goal.max_failure;
    let meets = precise && coverage.value >= goal.min_coverage;
    PlanRow {
        estimator: label.to_string(),
        population,
        p_bar,
        sd,
        replicates: runs,
        estimates,
        half_width_median,
        half_width_p90,
        criterion,
        rel_bias,
        rel_rmse,
        rel_sd,
        coverage,
        failure,
        meets,
        precise,
    }
}

/// Simulates one design at every population size of the spec.
///
/// # Errors
/// Scenario errors ([`PlanSpec::scenario`]) and the runner's errors.
pub fn evaluate_design(
    spec: &PlanSpec,
    estimators: &[Box<dyn SimEstimator>],
    t: usize,
    effort: f64,
    progress: Option<&(dyn Fn() + Sync)>,
) -> Result<DesignResult> {
    let mut scenarios = Vec::new();
    let mut conds = Vec::new();
    for &n in &spec.population {
        let (sc, p_bar, sd) = spec.scenario(t, effort, n)?;
        scenarios.push(sc);
        conds.push((n, p_bar, sd));
    }
    let study = Study {
        name: spec.name.clone(),
        seed: spec.seed,
        replicates: spec.replicates,
        level: spec.level,
        estimators: Vec::new(),
        scenarios,
    };
    let raw: RawResults = sim::run(
        &study,
        estimators,
        &RunOptions {
            replicates: None,
            progress,
        },
    )?;
    let mut rows = Vec::new();
    // labels in the order the estimators produced them on the first scenario
    let mut labels: Vec<String> = Vec::new();
    for s in &raw.series {
        if !labels.contains(&s.estimator) {
            labels.push(s.estimator.clone());
        }
    }
    for label in &labels {
        for (j, &(n, p_bar, sd)) in conds.iter().enumerate() {
            let runs = raw
                .targets
                .iter()
                .find(|x| x.scenario_index == j)
                .map_or(0, |x| x.truths.len() as u64);
            let outcomes: Vec<(f64, &Outcome)> = raw
                .series
                .iter()
                .filter(|s| s.scenario_index == j && &s.estimator == label)
                .flat_map(|s| s.records.iter().map(|r| (r.truth, &r.outcome)))
                .collect();
            rows.push(row_from_records(
                label, n, p_bar, sd, runs, &outcomes, &spec.goal,
            ));
        }
    }
    Ok(DesignResult {
        operations: t,
        effort,
        cost: t as f64 * effort,
        rows,
    })
}

/// Runs a plan with the built-in estimators named in `spec.estimators`.
///
/// # Errors
/// [`PlanSpec::validate`]'s errors, an unknown estimator name, a heterogeneity that
/// cannot be reached at some design, or a judged label the estimators do not produce.
pub fn run_plan(spec: &PlanSpec, progress: Option<&(dyn Fn() + Sync)>) -> Result<Plan> {
    spec.validate()?;
    let est = plan_estimators(&spec.estimators, spec.level)?;
    run_plan_with(spec, &est, progress)
}

/// Runs a plan with the given estimators (any [`SimEstimator`]).
///
/// # Errors
/// As [`run_plan`].
pub fn run_plan_with(
    spec: &PlanSpec,
    estimators: &[Box<dyn SimEstimator>],
    progress: Option<&(dyn Fn() + Sync)>,
) -> Result<Plan> {
    spec.validate()?;
    let ops = &spec.operations;
    let eff = spec.effort.values();
    let mut cache: BTreeMap<(usize, usize), DesignResult> = BTreeMap::new();
    let eval = |cache: &mut BTreeMap<(usize, usize), DesignResult>,
                ti: usize,
                ei: usize|
     -> Result<DesignResult> {
        if let Some(d) = cache.get(&(ti, ei)) {
            return Ok(d.clone());
        }
        let d = evaluate_design(spec, estimators, ops[ti], eff[ei], progress)?;
        cache.insert((ti, ei), d.clone());
        Ok(d)
    };
    let judge_of = |d: &DesignResult| -> Result<String> {
        let labels = d.labels();
        match &spec.judge {
            Some(j) if labels.contains(j) => Ok(j.clone()),
            Some(j) => Err(Error::param(
                "judge",
                j,
                format!("one of the estimates: {}", labels.join(", ")),
            )),
            None if labels.len() == 1 => Ok(labels[0].clone()),
            None => Err(Error::param(
                "judge",
                "none",
                format!(
                    "the estimate to judge by (the estimators give {}): name one",
                    labels.join(", ")
                ),
            )),
        }
    };
    let mut frontier: Vec<FrontierPoint>;
    let judged: Vec<String>;
    match spec.search {
        Search::Grid => {
            for ti in 0..ops.len() {
                for ei in 0..eff.len() {
                    eval(&mut cache, ti, ei)?;
                }
            }
            let first = cache.values().next().expect("non-empty grid");
            judged = match &spec.judge {
                Some(_) => vec![judge_of(first)?],
                None => first.labels(),
            };
            frontier = (0..ops.len())
                .map(|ti| {
                    let e = (0..eff.len()).find(|&ei| cache[&(ti, ei)].meets(&judged[0]));
                    FrontierPoint {
                        operations: ops[ti],
                        effort: e.map(|ei| eff[ei]),
                        simulated: true,
                    }
                })
                .collect();
        }
        Search::Adaptive => {
            let first = eval(&mut cache, ops.len() - 1, eff.len() - 1)?;
            let label = judge_of(&first)?;
            let meets = |d: &DesignResult| d.meets(&label);
            let precise = |d: &DesignResult| d.precise(&label);
            frontier = ops
                .iter()
                .map(|&t| FrontierPoint {
                    operations: t,
                    effort: None,
                    simulated: false,
                })
                .collect();
            // precision (and the failure share) improve with effort: bisect on them; the
            // coverage of a misspecified model may fall with effort, so from the least
            // precise-enough design step up until the whole goal is met
            if eff.len() == 1 {
                // bisection over operations
                if precise(&eval(&mut cache, ops.len() - 1, 0)?) {
                    let (mut lo, mut hi) = (0usize, ops.len() - 1);
                    while lo < hi {
                        let mid = (lo + hi) / 2;
                        if precise(&eval(&mut cache, mid, 0)?) {
                            hi = mid;
                        } else {
                            lo = mid + 1;
                        }
                    }
                    for (ti, point) in frontier.iter_mut().enumerate().skip(hi) {
                        if meets(&eval(&mut cache, ti, 0)?) {
                            point.effort = Some(eff[0]);
                            break;
                        }
                    }
                }
                for (ti, point) in frontier.iter_mut().enumerate() {
                    point.simulated = cache.contains_key(&(ti, 0));
                }
            } else {
                // staircase: bisection over effort, bounded by the previous frontier of
                // precision (which cannot rise with more operations)
                let mut bound: Option<usize> = None;
                for (ti, point) in frontier.iter_mut().enumerate() {
                    point.simulated = true;
                    let mut hi = match bound {
                        Some(b) => b,
                        None => {
                            if !precise(&eval(&mut cache, ti, eff.len() - 1)?) {
                                continue;
                            }
                            eff.len() - 1
                        }
                    };
                    let mut lo = 0usize;
                    while lo < hi {
                        let mid = (lo + hi) / 2;
                        if precise(&eval(&mut cache, ti, mid)?) {
                            hi = mid;
                        } else {
                            lo = mid + 1;
                        }
                    }
                    // confirm the design assumed by monotonicity (step up on noise), then
                    // step up until coverage is kept as well
                    let mut precise_at = None;
                    for (ei, &e) in eff.iter().enumerate().skip(hi) {
                        let d = eval(&mut cache, ti, ei)?;
                        if precise_at.is_none() && precise(&d) {
                            precise_at = Some(ei);
                        }
                        if meets(&d) {
                            point.effort = Some(e);
                            point.simulated = true;
                            break;
                        }
                    }
                    if precise_at.is_some() {
                        bound = precise_at;
                    }
                }
            }
            judged = vec![label];
        }
    }
    let designs: Vec<DesignResult> = cache.into_values().collect();
    let mut answers = Vec::new();
    for label in &judged {
        let best = designs.iter().filter(|d| d.meets(label)).min_by(|a, b| {
            (a.cost, a.operations)
                .partial_cmp(&(b.cost, b.operations))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if let Some(d) = best {
            answers.push(Answer {
                estimator: label.clone(),
                operations: d.operations,
                effort: d.effort,
                cost: d.cost,
                worst: d.worst(label).expect("label present").clone(),
            });
        }
    }
    Ok(Plan {
        spec: spec.clone(),
        judged,
        answers,
        frontier,
        designs,
        grid_size: ops.len() * eff.len(),
    })
}

/// `count` values from `lo` to `hi` inclusive, evenly spaced (integers when both ends
/// are integers and the step is whole).
pub fn linear_grid(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if count <= 1 || hi <= lo {
        return vec![lo];
    }
    (0..count)
        .map(|k| lo + (hi - lo) * k as f64 / (count - 1) as f64)
        .collect()
}

/// `count` population sizes from `lo` to `hi`, evenly spaced on the log scale, rounded.
pub fn log_grid(lo: u64, hi: u64, count: usize) -> Vec<u64> {
    if count <= 1 || hi <= lo {
        return vec![lo];
    }
    let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
    let mut v: Vec<u64> = (0..count)
        .map(|k| (a + (b - a) * k as f64 / (count - 1) as f64).exp().round() as u64)
        .collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_translates_to_logit_normal() {
        let v = Visibility::top10(3.0);
        let ln = v.logit_normal(0.1).unwrap();
        let mean = expit_moment(ln.mu, ln.sd, Q_LO);
        assert!((mean - 0.1).abs() < 1e-9, "{mean}");
        let z = crate::ci::z_two_sided(0.8);
        let top = expit_moment(ln.mu, ln.sd, z) / 0.1;
        assert!((top / mean - 3.0).abs() < 1e-6, "{}", top / mean);
        assert_eq!(Visibility::top10(1.0).logit_normal(0.1).unwrap().sd, 0.0);
        // stronger heterogeneity needs a larger σ
        assert!(Visibility::top10(4.0).logit_normal(0.1).unwrap().sd > ln.sd);
        // unreachable: the top 10% cannot be 12 times the average
        let e = Visibility::top10(12.0).logit_normal(0.01).unwrap_err();
        assert!(e.to_string().contains("12"), "{e}");
        assert!(Visibility::top10(0.5).logit_normal(0.1).is_err());
    }

    #[test]
    fn quantiles_and_their_errors() {
        let v: Vec<f64> = (0..101).map(f64::from).collect();
        let m = quantile_mc(&v, 0.5);
        assert_eq!(m.value, 50.0);
        assert_eq!(m.mcse, 5.5); // order statistics 45 and 56 (50.5 ∓ √25.25)
        let mut w = v.clone();
        w[100] = f64::INFINITY;
        assert_eq!(quantile(&w, 1.0), f64::INFINITY);
        assert_eq!(quantile(&w, 0.5), 50.0);
    }

    #[test]
    fn bad_specs_are_refused() {
        let ok = PlanSpec::new(vec![3, 4], Effort::MetPerOperation(vec![40.0]), vec![300]);
        assert!(ok.validate().is_ok());
        let mut s = ok.clone();
        s.operations = vec![4, 3];
        assert!(s.validate().unwrap_err().to_string().contains("operations"));
        let mut s = ok.clone();
        s.effort = Effort::MetPerOperation(vec![400.0]);
        assert!(s.validate().unwrap_err().to_string().contains("300"));
        let mut s = ok.clone();
        s.behaviour_odds_ratio = 0.0;
        assert!(s.validate().is_err());
        let mut s = ok;
        s.heterogeneity = Some(Visibility::top10(0.9));
        assert!(s.validate().is_err());
        assert_eq!(log_grid(300, 2000, 3), vec![300, 775, 2000]);
        assert_eq!(
            linear_grid(40.0, 120.0, 5),
            vec![40.0, 60.0, 80.0, 100.0, 120.0]
        );
    }
}
