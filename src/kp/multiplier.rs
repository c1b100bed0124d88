//! The multiplier (benchmark, unique-object) method: a count M of people who received an
//! object or service, divided by the share P̂ of a survey who report receiving it.
//!
//! ```text
//! P̂  = Σ wᵢ Iᵢ / Σ wᵢ                      (wᵢ = 1 unweighted; RDS weights otherwise)
//! N̂  = M / P̂
//! Var(N̂) ≈ M² · deff · P̂(1 − P̂)/n / P̂⁴     (delta method with design effect deff)
//! ```
//! Unweighted, the method is a two-source capture-recapture study (n1 = M objects,
//! n2 = n respondents, m = receivers), so Lincoln-Petersen with Seber's variance and
//! Chapman's estimator are reported beside it. A bootstrap over respondents (seeded,
//! replicate b drawing from [`crate::rng::stream`]`(seed, &[b])`) gives a percentile
//! interval that is the same on any number of threads.
//!
//! Checks (Hickman et al. 2006): an N̂, or a lower interval limit, below the benchmark M
//! or below any other count already observed is flagged; such a figure cannot be cited.
//!
//! # References
//! - UNAIDS/WHO (2010) *Guidelines on estimating the size of populations most at risk to
//!   HIV*, ch. 4 (multiplier method).
//! - Gutreuter, S. (2019) RDSpopsize: `RDS_2S_PSE` (the weighted statistic and its
//!   bootstrap, matched here).
//! - Fearon, E. et al. (2017) How to estimate the size of a hidden population using a
//!   multiplier method with RDS. *JMIR Public Health Surveill.* 3(4), e59 (delta method).
//! - Hickman, M. et al. (2006) Estimating the prevalence of problematic drug use: a review
//!   of methods and their application. *Bull. Narcotics* 54, 15-32; Hickman et al. (2006)
//!   *J. Public Health* 28, 274-281 (multipliers below the capture-recapture lower limit).

use crate::ci;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, Interval, IntervalMethod, Warning, fmt_num};
use crate::kp::table::Table;
use rand::RngExt;
use rayon::prelude::*;
use serde::Serialize;

/// Survey answers to "did you receive the object / use the service?", with optional
/// analysis weights (inverse inclusion probabilities, e.g. RDS weights).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiptSurvey {
    /// One entry per respondent.
    pub received: Vec<bool>,
    /// Analysis weights (∝ 1 / inclusion probability); `None` = unweighted.
    pub weights: Option<Vec<f64>>,
}

impl ReceiptSurvey {
    /// Validates answers and weights.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for an empty survey, a weight vector of another length, or a
    /// weight that is not finite and positive (row given).
    pub fn new(received: Vec<bool>, weights: Option<Vec<f64>>) -> Result<Self> {
        if received.is_empty() {
            return Err(Error::invalid("the survey has no respondents"));
        }
        if let Some(w) = &weights {
            if w.len() != received.len() {
                return Err(Error::invalid(format!(
                    "{} weights for {} respondents",
                    w.len(),
                    received.len()
                )));
            }
            if let Some(i) = w.iter().position(|x| !(x.is_finite() && *x > 0.0)) {
                return Err(Error::invalid_row(
                    i,
                    format!("weight {} is not a positive number", w[i]),
                ));
            }
        }
        Ok(ReceiptSurvey { received, weights })
    }

    /// Builds a survey from weights proportional to the inclusion probability (a degree,
    /// or RDSpopsize's `Weight` column, which `RDS_2S_PSE` divides by): the analysis
    /// weight is its inverse.
    ///
    /// # Errors
    /// As [`ReceiptSurvey::new`].
    pub fn from_inclusion(received: Vec<bool>, inclusion: &[f64]) -> Result<Self> {
        if let Some(i) = inclusion.iter().position(|x| !(x.is_finite() && *x > 0.0)) {
            return Err(Error::invalid_row(
                i,
                format!("inclusion weight {} is not a positive number", inclusion[i]),
            ));
        }
        ReceiptSurvey::new(received, Some(inclusion.iter().map(|x| 1.0 / x).collect()))
    }

    /// Reads a survey from a CSV table: a 0/1 column `received` and an optional weight
    /// column (`inclusion = true` when the column is proportional to the inclusion
    /// probability, as RDSpopsize's `Weight`).
    ///
    /// # Errors
    /// [`Error::CsvValue`] naming file, line, column and value for a bad indicator or
    /// weight, and for a survey in which nobody received the object (P̂ = 0 makes
    /// N̂ = M / P̂ infinite).
    pub fn from_table(
        t: &Table,
        received: &str,
        weight: Option<&str>,
        inclusion: bool,
    ) -> Result<Self> {
        let rc = t.column(received)?;
        let wc = weight.map(|w| t.column(w)).transpose()?;
        let mut rec = Vec::with_capacity(t.len());
        let mut w = Vec::new();
        for r in 0..t.len() {
            rec.push(t.indicator(r, rc)?);
            if let Some(c) = wc {
                let x = t.number(r, c)?;
                if x <= 0.0 {
                    return Err(t.value_error(r, c, "a positive weight"));
                }
                w.push(if inclusion { 1.0 / x } else { x });
            }
        }
        if !rec.iter().any(|&b| b) {
            return Err(Error::CsvValue {
                at: crate::error::Location {
                    file: t.file.clone(),
                    line: None,
                    column: Some(t.headers[rc].clone()),
                },
                value: format!("0 of {} respondents", rec.len()),
                expected: "at least one respondent who received the object (with P̂ = 0, N̂ = M/P̂ does not exist)".into(),
            });
        }
        ReceiptSurvey::new(rec, wc.map(|_| w))
    }

    /// Number of respondents.
    pub fn n(&self) -> usize {
        self.received.len()
    }

    /// Number who received.
    pub fn receivers(&self) -> usize {
        self.received.iter().filter(|&&b| b).count()
    }

    /// The (weighted) proportion who received.
    pub fn proportion(&self) -> f64 {
        proportion(&self.received, self.weights.as_deref(), None)
    }
}

fn proportion(rec: &[bool], w: Option<&[f64]>, idx: Option<&[usize]>) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    let mut add = |i: usize| {
        let wi = w.map_or(1.0, |w| w[i]);
        den += wi;
        if rec[i] {
            num += wi;
        }
    };
    match idx {
        Some(ix) => ix.iter().for_each(|&i| add(i)),
        None => (0..rec.len()).for_each(&mut add),
    }
    num / den
}

/// How bootstrap replicates treat the benchmark count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BenchmarkInBootstrap {
    /// M is a fixed, known count (the standard multiplier bootstrap).
    Fixed,
    /// RDSpopsize's `RDS_2S_PSE`: M* = (M − m) + m*, where m* counts receivers in the
    /// resample (the first capture's unrecaptured part held fixed).
    RdsPopSize,
}

/// Settings of a respondent bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapSettings {
    /// Number of replicates.
    pub replicates: usize,
    /// Base seed.
    pub seed: u64,
    /// Treatment of M.
    pub benchmark: BenchmarkInBootstrap,
}

/// Summary of bootstrap replicates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapSummary {
    /// Replicates run.
    pub replicates: usize,
    /// Base seed.
    pub seed: u64,
    /// Replicates that gave a finite estimate.
    pub finite: usize,
    /// Mean of the finite replicates.
    pub mean: f64,
    /// Median (R type 7).
    pub median: f64,
    /// Standard deviation (n − 1).
    pub sd: f64,
    /// Percentile interval.
    pub percentile: Interval,
}

impl BootstrapSummary {
    /// Summarises replicate estimates (non-finite ones are counted out).
    pub fn from_replicates(reps: &[f64], seed: u64, level: f64) -> Self {
        let mut s: Vec<f64> = reps.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(|a, b| a.total_cmp(b));
        let n = s.len() as f64;
        let mean = s.iter().sum::<f64>() / n;
        BootstrapSummary {
            replicates: reps.len(),
            seed,
            finite: s.len(),
            mean,
            median: ci::bootstrap::quantile_sorted(&s, 0.5),
            sd: ci::bootstrap::sd(&s),
            percentile: ci::bootstrap::percentile(&s, level),
        }
    }
}

/// A count already observed that the population size cannot fall below.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedCount {
    /// What was counted (e.g. "benchmark", "programme register 2023").
    pub name: String,
    /// The count.
    pub count: f64,
}

/// The outcome of one benchmark-consistency check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsistencyCheck {
    /// The count compared against.
    pub against: ObservedCount,
    /// N̂ ≥ count.
    pub estimate_ok: bool,
    /// Lower interval limit ≥ count.
    pub lower_ok: bool,
}

/// Settings of the multiplier method; [`Multiplier::fit`] runs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Multiplier {
    /// The benchmark count M (objects distributed, people registered at a service).
    pub benchmark: f64,
    /// Confidence level.
    pub level: f64,
    /// Design effect of the survey (1 for simple random sampling; RDS surveys are often
    /// given 2, or the estimate from [`crate::kp::rds`]).
    pub design_effect: f64,
    /// Respondent bootstrap, if wanted.
    pub bootstrap: Option<BootstrapSettings>,
    /// Other counts already observed (the check always includes M).
    pub observed: Vec<ObservedCount>,
}

impl Multiplier {
    /// The multiplier method with benchmark count `m`, 95% intervals, design effect 1 and
    /// no bootstrap.
    pub fn new(benchmark: f64) -> Self {
        Multiplier {
            benchmark,
            level: 0.95,
            design_effect: 1.0,
            bootstrap: None,
            observed: Vec::new(),
        }
    }

    /// Sets the confidence level.
    pub fn level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }

    /// Sets the design effect.
    pub fn design_effect(mut self, deff: f64) -> Self {
        self.design_effect = deff;
        self
    }

    /// Adds a respondent bootstrap.
    pub fn bootstrap(
        mut self,
        replicates: usize,
        seed: u64,
        benchmark: BenchmarkInBootstrap,
    ) -> Self {
        self.bootstrap = Some(BootstrapSettings {
            replicates,
            seed,
            benchmark,
        });
        self
    }

    /// Adds a count already observed (checked against N̂ and its lower limit).
    pub fn observed_count(mut self, name: impl Into<String>, count: f64) -> Self {
        self.observed.push(ObservedCount {
            name: name.into(),
            count,
        });
        self
    }

    fn check(&self) -> Result<()> {
        ci::check_level(self.level)?;
        if !(self.benchmark.is_finite() && self.benchmark > 0.0) {
            return Err(Error::param(
                "benchmark",
                self.benchmark,
                "a positive count M",
            ));
        }
        if !(self.design_effect.is_finite() && self.design_effect > 0.0) {
            return Err(Error::param(
                "design_effect",
                self.design_effect,
                "a positive number (1 = simple random sampling)",
            ));
        }
        if let Some(b) = &self.bootstrap
            && b.replicates < 2
        {
            return Err(Error::param("replicates", b.replicates, "at least 2"));
        }
        Ok(())
    }

    /// Runs the multiplier method on a survey.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad setting; [`Error::EstimateDoesNotExist`] when
    /// nobody in the survey received (P̂ = 0) or everybody did with weights that make
    /// P̂ = 1 meaningless for the variance (N̂ = M is still returned then).
    pub fn fit(&self, survey: &ReceiptSurvey) -> Result<MultiplierFit> {
        self.check()?;
        let n = survey.n();
        let m = survey.receivers();
        if m == 0 {
            return Err(Error::no_estimate(format!(
                "none of the {n} respondents received the object: P̂ = 0 and N̂ = M/P̂ is infinite"
            )));
        }
        let big_m = self.benchmark;
        let p_unw = m as f64 / n as f64;
        let p = survey.proportion();
        let weighted = survey.weights.is_some();
        let n_hat = big_m / p;
        let var = big_m * big_m * self.design_effect * p * (1.0 - p) / n as f64 / p.powi(4);
        let se = var.sqrt();
        let observed = big_m.round().max(0.0) as u64;
        let model = if weighted {
            "multiplier (weighted P̂)"
        } else {
            "multiplier (unweighted P̂)"
        };
        let mut estimate = Estimate::new(
            "multiplier",
            model,
            n_hat,
            se,
            ci::wald(n_hat, se, big_m, self.level),
            observed,
        )
        .with_assumptions(&[
            Assumption::SameDefinition,
            Assumption::AccurateReporting,
            Assumption::RepresentativeSurvey,
            Assumption::IndependentBenchmark,
        ]);
        if p >= 1.0 {
            estimate = estimate.with_warning(Warning::Boundary {
                parameter: "P̂ = 1: every respondent received; the variance is zero".into(),
            });
        }
        let (n1, n2, mm) = (big_m, n as f64, m as f64);
        let lp = n1 * n2 / mm;
        let lp_se = (n1 * n2 * (n1 - mm) * (n2 - mm) / mm.powi(3))
            .max(0.0)
            .sqrt();
        let ch = (n1 + 1.0) * (n2 + 1.0) / (mm + 1.0) - 1.0;
        let ch_se = ((n1 + 1.0) * (n2 + 1.0) * (n1 - mm) * (n2 - mm)
            / ((mm + 1.0).powi(2) * (mm + 2.0)))
            .max(0.0)
            .sqrt();
        let lincoln_petersen = Estimate::new(
            "two-source",
            "Lincoln-Petersen",
            lp,
            lp_se,
            ci::wald(lp, lp_se, big_m, self.level),
            observed,
        )
        .with_assumptions(&[
            Assumption::IndependentSources,
            Assumption::HomogeneousCapture,
        ]);
        let chapman = Estimate::new(
            "two-source",
            "Chapman",
            ch,
            ch_se,
            ci::wald(ch, ch_se, big_m, self.level),
            observed,
        )
        .with_assumptions(&[
            Assumption::IndependentSources,
            Assumption::HomogeneousCapture,
        ]);
        let bootstrap = self.bootstrap.map(|b| {
            let reps = bootstrap_replicates(survey, big_m, &b);
            BootstrapSummary::from_replicates(&reps, b.seed, self.level)
        });
        if let Some(b) = &bootstrap {
            estimate = estimate.with_other_interval(b.percentile);
        }
        let mut against = vec![ObservedCount {
            name: "benchmark M".into(),
            count: big_m,
        }];
        against.extend(self.observed.iter().cloned());
        let checks = consistency(&mut estimate, &against);
        Ok(MultiplierFit {
            benchmark: big_m,
            n,
            receivers: m,
            p_unweighted: p_unw,
            p_hat: p,
            weighted,
            design_effect: self.design_effect,
            estimate,
            lincoln_petersen,
            chapman,
            bootstrap,
            checks,
        })
    }
}

/// Checks an estimate against observed counts, adding a warning for each failure.
pub fn consistency(estimate: &mut Estimate, against: &[ObservedCount]) -> Vec<ConsistencyCheck> {
    let mut out = Vec::new();
    for c in against {
        let estimate_ok = estimate.n_hat >= c.count;
        let lower_ok = estimate.interval.lower >= c.count;
        if !estimate_ok {
            estimate.warnings.push(Warning::Other {
                message: format!(
                    "N̂ = {} is below the {} already observed ({}): the figure cannot be cited (cf. Hickman et al. 2006)",
                    crate::report::count_words(estimate.n_hat),
                    c.name,
                    crate::report::count_words(c.count)
                ),
            });
        } else if !lower_ok {
            estimate.warnings.push(Warning::Other {
                message: format!(
                    "the interval's lower limit {} is below the {} already observed ({})",
                    crate::report::count_words(estimate.interval.lower),
                    c.name,
                    crate::report::count_words(c.count)
                ),
            });
        }
        out.push(ConsistencyCheck {
            against: c.clone(),
            estimate_ok,
            lower_ok,
        });
    }
    out
}

fn bootstrap_replicates(s: &ReceiptSurvey, big_m: f64, b: &BootstrapSettings) -> Vec<f64> {
    let n = s.n();
    let m = s.receivers() as f64;
    (0..b.replicates)
        .into_par_iter()
        .map_init(
            || vec![0usize; n],
            |idx, r| {
                let mut rng = crate::rng::stream(b.seed, &[r as u64]);
                for slot in idx.iter_mut() {
                    *slot = rng.random_range(0..n);
                }
                let p = proportion(&s.received, s.weights.as_deref(), Some(idx));
                let mm = match b.benchmark {
                    BenchmarkInBootstrap::Fixed => big_m,
                    BenchmarkInBootstrap::RdsPopSize => {
                        let ms = idx.iter().filter(|&&i| s.received[i]).count() as f64;
                        big_m - m + ms
                    }
                };
                if p > 0.0 { mm / p } else { f64::INFINITY }
            },
        )
        .collect()
}

/// The multiplier method's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiplierFit {
    /// Benchmark count M.
    pub benchmark: f64,
    /// Respondents.
    pub n: usize,
    /// Respondents who received.
    pub receivers: usize,
    /// m / n.
    pub p_unweighted: f64,
    /// The P̂ used (weighted when weights were given).
    pub p_hat: f64,
    /// Whether P̂ is weighted.
    pub weighted: bool,
    /// Design effect used in the delta-method variance.
    pub design_effect: f64,
    /// N̂ = M / P̂ with the delta-method SE and Wald interval (bootstrap percentile
    /// interval among `other_intervals` when run).
    pub estimate: Estimate,
    /// The two-source form: Lincoln-Petersen with Seber's variance (unweighted counts).
    pub lincoln_petersen: Estimate,
    /// Chapman's estimator with its variance (unweighted counts).
    pub chapman: Estimate,
    /// Bootstrap summary, when run.
    pub bootstrap: Option<BootstrapSummary>,
    /// Benchmark-consistency checks (M first).
    pub checks: Vec<ConsistencyCheck>,
}

/// Several estimates of one population combined by inverse-variance weighting on the log
/// scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Combined {
    /// The combined estimate (log-normal interval `exp(μ̂ ± z·s)`; SE by the delta method).
    pub estimate: Estimate,
    /// Weight of each input (sums to 1).
    pub weights: Vec<f64>,
    /// Cochran's Q heterogeneity statistic on the log scale.
    pub q: f64,
    /// Its p-value (χ² with k − 1 df).
    pub q_p_value: f64,
    /// I² = max(0, (Q − df)/Q).
    pub i_squared: f64,
}

/// Combines several multiplier (or other) estimates of one population.
///
/// ```text
/// yₖ = ln N̂ₖ,  vₖ = (SEₖ / N̂ₖ)²,  wₖ = 1/vₖ
/// μ̂ = Σ wₖ yₖ / Σ wₖ,  Var(μ̂) = 1/Σ wₖ,   N̂ = exp(μ̂),  SE(N̂) = N̂ · sqrt(Var μ̂)
/// Q = Σ wₖ (yₖ − μ̂)²
/// ```
/// A fixed-effect pool: it assumes the estimates differ only by sampling error. A large
/// Q (small p-value) is flagged: the multipliers disagree beyond chance, and the
/// triangulation model ([`crate::kp::triangulate`]) with its between-study variance is the
/// better tool.
///
/// # Errors
/// [`Error::InvalidData`] when fewer than one estimate is given or an estimate or SE is
/// not positive and finite.
pub fn combine(estimates: &[Estimate], level: f64) -> Result<Combined> {
    ci::check_level(level)?;
    if estimates.is_empty() {
        return Err(Error::invalid("no estimates to combine"));
    }
    let mut y = Vec::new();
    let mut w = Vec::new();
    for (i, e) in estimates.iter().enumerate() {
        if !(e.n_hat.is_finite() && e.n_hat > 0.0 && e.se.is_finite() && e.se > 0.0) {
            return Err(Error::invalid_row(
                i,
                format!(
                    "estimate {} with SE {} cannot be combined (both must be positive)",
                    fmt_num(e.n_hat),
                    fmt_num(e.se)
                ),
            ));
        }
        y.push(e.n_hat.ln());
        w.push((e.n_hat / e.se).powi(2));
    }
    let sw: f64 = w.iter().sum();
    let mu = y.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let s = (1.0 / sw).sqrt();
    let q: f64 = y.iter().zip(&w).map(|(a, b)| b * (a - mu).powi(2)).sum();
    let df = (estimates.len() - 1) as f64;
    let q_p = if df > 0.0 { ci::chi2_sf(q, df) } else { 1.0 };
    let z = ci::z_two_sided(level);
    let n_hat = mu.exp();
    let interval = Interval {
        lower: (mu - z * s).exp(),
        upper: (mu + z * s).exp(),
        level,
        method: IntervalMethod::LogNormal,
    };
    let observed = estimates.iter().map(|e| e.observed).max().unwrap_or(0);
    let mut estimate = Estimate::new(
        "multiplier",
        "inverse-variance (log scale)",
        n_hat,
        n_hat * s,
        interval,
        observed,
    )
    .with_assumptions(&[Assumption::SameDefinition, Assumption::RepresentativeSurvey]);
    if df > 0.0 && q_p < 0.05 {
        estimate = estimate.with_warning(Warning::Other {
            message: format!(
                "the estimates disagree beyond sampling error (Q = {q:.2} on {df} df, p = {q_p:.3}); consider triangulation with a between-study variance"
            ),
        });
    }
    Ok(Combined {
        estimate,
        weights: w.iter().map(|x| x / sw).collect(),
        q,
        q_p_value: q_p,
        i_squared: if q > 0.0 {
            ((q - df) / q).max(0.0)
        } else {
            0.0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unweighted_matches_lincoln_petersen() {
        let rec: Vec<bool> = (0..353).map(|i| i < 45).collect();
        let s = ReceiptSurvey::new(rec, None).unwrap();
        let f = Multiplier::new(792.0).fit(&s).unwrap();
        assert!((f.estimate.n_hat - 6212.8).abs() < 1e-9);
        assert!((f.lincoln_petersen.n_hat - 6212.8).abs() < 1e-9);
    }

    #[test]
    fn combine_equal_inputs() {
        let e = |n: f64| Estimate::new("x", "x", n, n * 0.1, ci::wald(n, n * 0.1, 0.0, 0.95), 0);
        let c = combine(&[e(1000.0), e(1000.0)], 0.95).unwrap();
        assert!((c.estimate.n_hat - 1000.0).abs() < 1e-9);
        assert!((c.weights[0] - 0.5).abs() < 1e-12);
        assert!(c.q.abs() < 1e-12);
    }

    #[test]
    fn flags_estimate_below_benchmark() {
        let rec: Vec<bool> = (0..10).map(|_| true).collect();
        let s = ReceiptSurvey::new(rec, None).unwrap();
        let f = Multiplier::new(100.0)
            .observed_count("register", 150.0)
            .fit(&s)
            .unwrap();
        assert!(!f.checks[1].estimate_ok);
        assert!(f.estimate.is_flagged());
    }
}
