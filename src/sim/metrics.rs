//! Performance measures of a simulation study, with Monte-Carlo standard errors
//! (Morris, White & Crowther 2019, Table 6).
//!
//! ```text
//! bias      = mean(N̂ − N)                 MCSE = sd(N̂ − N)/√R
//! rel. bias = mean((N̂ − N)/N)             MCSE = sd((N̂ − N)/N)/√R
//! RMSE      = √mean((N̂ − N)²)             MCSE = sd((N̂ − N)²)/(2·RMSE·√R)
//! coverage  = share of intervals ∋ N       MCSE = √(c(1 − c)/R)
//! width     = mean(upper − lower)          MCSE = sd(width)/√R   (finite widths)
//! ```
//! R counts the replicates with an estimate; the failed share is
//! `1 − R / replicates run` (a replicate whose sample was empty, or whose estimator
//! returned an error or a non-finite N̂, is a failure), the flagged share the estimates
//! that carried warnings.

use super::runner::{Outcome, RawResults};
use crate::estimate::finite_or_null;
use serde::Serialize;

/// Coverage and width of one interval type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalMetrics {
    /// Method label.
    pub method: String,
    /// Whether this is the estimator's primary interval.
    pub primary: bool,
    /// Estimates that carried this interval.
    pub n: u64,
    /// Share of intervals containing the true N.
    #[serde(serialize_with = "finite_or_null")]
    pub coverage: f64,
    /// Monte-Carlo SE of the coverage.
    #[serde(serialize_with = "finite_or_null")]
    pub coverage_mcse: f64,
    /// Mean width of the bounded intervals.
    #[serde(serialize_with = "finite_or_null")]
    pub mean_width: f64,
    /// Monte-Carlo SE of the mean width.
    #[serde(serialize_with = "finite_or_null")]
    pub mean_width_mcse: f64,
    /// Intervals unbounded above.
    pub unbounded: u64,
}

/// Performance of one estimator on one target of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// Scenario name.
    pub scenario: String,
    /// Target (`all` or a stratum).
    pub target: String,
    /// Estimator label.
    pub estimator: String,
    /// Mean true N over the replicates.
    #[serde(serialize_with = "finite_or_null")]
    pub truth: f64,
    /// Replicates run.
    pub replicates: u64,
    /// Replicates with an estimate.
    pub estimates: u64,
    /// Share of replicates without an estimate.
    pub failed_share: f64,
    /// Share of estimates carrying warnings (of the replicates run).
    pub flagged_share: f64,
    /// Share of the replicates run whose N̂ ran away: above
    /// [`RUNAWAY_FACTOR`](crate::counts::RUNAWAY_FACTOR) times the true N. They are
    /// included in the mean, bias and RMSE (which they dominate; see the median) and
    /// counted here so that a reader knows.
    pub runaway_share: f64,
    /// Replicates whose sample was empty.
    pub no_data: u64,
    /// Mean N̂.
    #[serde(serialize_with = "finite_or_null")]
    pub mean_n_hat: f64,
    /// Its MCSE.
    #[serde(serialize_with = "finite_or_null")]
    pub mean_n_hat_mcse: f64,
    /// Median of N̂ over the fits that gave an estimate: unlike the mean, not dominated
    /// by a few runaway fits.
    pub median_n_hat: f64,
    /// Mean N̂ − N.
    #[serde(serialize_with = "finite_or_null")]
    pub bias: f64,
    /// Its MCSE.
    #[serde(serialize_with = "finite_or_null")]
    pub bias_mcse: f64,
    /// Mean (N̂ − N)/N.
    #[serde(serialize_with = "finite_or_null")]
    pub rel_bias: f64,
    /// Its MCSE.
    #[serde(serialize_with = "finite_or_null")]
    pub rel_bias_mcse: f64,
    /// Root mean squared error.
    #[serde(serialize_with = "finite_or_null")]
    pub rmse: f64,
    /// Its MCSE.
    #[serde(serialize_with = "finite_or_null")]
    pub rmse_mcse: f64,
    /// Empirical SE (sd of N̂).
    #[serde(serialize_with = "finite_or_null")]
    pub empirical_se: f64,
    /// Mean model-based SE (finite ones).
    #[serde(serialize_with = "finite_or_null")]
    pub mean_se: f64,
    /// Per interval type, primary first.
    pub intervals: Vec<IntervalMetrics>,
    /// The most frequent reasons for failure (up to 3) with their counts (replicates
    /// without data are counted in `no_data`, not here).
    pub failures: Vec<(String, u64)>,
}

impl MetricRow {
    /// The primary interval's metrics, if any.
    pub fn primary(&self) -> Option<&IntervalMetrics> {
        self.intervals.iter().find(|i| i.primary)
    }

    /// The metrics of the interval with method label `method`.
    pub fn interval(&self, method: &str) -> Option<&IntervalMetrics> {
        self.intervals.iter().find(|i| i.method == method)
    }
}

/// The metrics of a whole study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsTable {
    /// Study name.
    pub study: String,
    /// Base seed.
    pub seed: u64,
    /// Replicates covered.
    pub replicates: u64,
    /// Confidence level.
    pub level: f64,
    /// One row per (scenario, target, estimator).
    pub rows: Vec<MetricRow>,
}

impl MetricsTable {
    /// The row for (scenario, target, estimator).
    pub fn row(&self, scenario: &str, target: &str, estimator: &str) -> Option<&MetricRow> {
        self.rows
            .iter()
            .find(|r| r.scenario == scenario && r.target == target && r.estimator == estimator)
    }
}

/// Mean and sample SD, accumulated in the order given (so equal inputs in equal order
/// give identical results).
#[derive(Default)]
struct Moments {
    n: u64,
    sum: f64,
    values: Vec<f64>,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.values.push(x);
    }
    fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.sum / self.n as f64
        }
    }
    fn sd(&self) -> f64 {
        if self.n < 2 {
            return f64::NAN;
        }
        let m = self.mean();
        let ss: f64 = self.values.iter().map(|x| (x - m) * (x - m)).sum();
        (ss / (self.n - 1) as f64).sqrt()
    }
    fn mcse(&self) -> f64 {
        self.sd() / (self.n as f64).sqrt()
    }
}

impl RawResults {
    /// Computes the performance measures.
    pub fn metrics(&self) -> MetricsTable {
        let mut rows = Vec::with_capacity(self.series.len());
        for s in &self.series {
            let tally = self
                .targets
                .iter()
                .find(|t| t.scenario_index == s.scenario_index && t.target == s.target);
            let (replicates, truth, no_data) = match tally {
                Some(t) => {
                    let n = t.truths.len() as u64;
                    let m = t.truths.iter().map(|x| x.1).sum::<f64>() / n.max(1) as f64;
                    (n, m, t.no_data.len() as u64)
                }
                None => (s.records.len() as u64, f64::NAN, 0),
            };
            let (mut nh, mut err, mut rel, mut sq, mut se) = (
                Moments::default(),
                Moments::default(),
                Moments::default(),
                Moments::default(),
                Moments::default(),
            );
            let mut flagged = 0u64;
            // interval accumulators in first-seen order
            struct Acc {
                method: String,
                primary: bool,
                n: u64,
                covered: u64,
                width: Moments,
                unbounded: u64,
            }
            let mut accs: Vec<Acc> = Vec::new();
            let mut errors: std::collections::BTreeMap<&str, u64> = Default::default();
            let mut all_n_hat: Vec<f64> = Vec::new();
            let mut runaway = 0u64;
            for r in &s.records {
                if let Outcome::Failed { error } = &r.outcome {
                    *errors.entry(error.as_str()).or_insert(0) += 1;
                }
                let Outcome::Ok {
                    n_hat,
                    se: s_e,
                    flagged: fl,
                    intervals,
                } = &r.outcome
                else {
                    continue;
                };
                nh.push(*n_hat);
                all_n_hat.push(*n_hat);
                if *n_hat > crate::counts::RUNAWAY_FACTOR * r.truth {
                    runaway += 1;
                }
                let e = n_hat - r.truth;
                err.push(e);
                rel.push(e / r.truth);
                sq.push(e * e);
                if s_e.is_finite() {
                    se.push(*s_e);
                }
                if *fl {
                    flagged += 1;
                }
                for (k, iv) in intervals.iter().enumerate() {
                    let pos = match accs.iter().position(|a| a.method == iv.method) {
                        Some(p) => p,
                        None => {
                            accs.push(Acc {
                                method: iv.method.clone(),
                                primary: false,
                                n: 0,
                                covered: 0,
                                width: Moments::default(),
                                unbounded: 0,
                            });
                            accs.len() - 1
                        }
                    };
                    let a = &mut accs[pos];
                    if k == 0 {
                        a.primary = true;
                    }
                    a.n += 1;
                    if r.truth >= iv.lower && r.truth <= iv.upper {
                        a.covered += 1;
                    }
                    if iv.upper.is_finite() {
                        a.width.push(iv.upper - iv.lower);
                    } else {
                        a.unbounded += 1;
                    }
                }
            }
            // a method that was primary in some replicate and secondary in others stays
            // marked primary; put primaries first
            accs.sort_by_key(|a| !a.primary);
            let ok = nh.n;
            let mse = sq.mean();
            let rmse = mse.sqrt();
            let intervals = accs
                .into_iter()
                .map(|a| {
                    let c = if a.n == 0 {
                        f64::NAN
                    } else {
                        a.covered as f64 / a.n as f64
                    };
                    IntervalMetrics {
                        method: a.method,
                        primary: a.primary,
                        n: a.n,
                        coverage: c,
                        coverage_mcse: (c * (1.0 - c) / a.n as f64).sqrt(),
                        mean_width: a.width.mean(),
                        mean_width_mcse: a.width.mcse(),
                        unbounded: a.unbounded,
                    }
                })
                .collect();
            let mut failures: Vec<(String, u64)> = errors
                .into_iter()
                .map(|(e, n)| (e.to_string(), n))
                .collect();
            failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            failures.truncate(3);
            all_n_hat.sort_by(|a, b| a.total_cmp(b));
            let median_n_hat = crate::ci::bootstrap::quantile_sorted(&all_n_hat, 0.5);
            rows.push(MetricRow {
                scenario: s.scenario.clone(),
                target: s.target.clone(),
                estimator: s.estimator.clone(),
                truth,
                replicates,
                estimates: ok,
                failed_share: if replicates == 0 {
                    0.0
                } else {
                    1.0 - ok as f64 / replicates as f64
                },
                flagged_share: if replicates == 0 {
                    0.0
                } else {
                    flagged as f64 / replicates as f64
                },
                runaway_share: if replicates == 0 {
                    0.0
                } else {
                    runaway as f64 / replicates as f64
                },
                no_data,
                mean_n_hat: nh.mean(),
                mean_n_hat_mcse: nh.mcse(),
                median_n_hat,
                bias: err.mean(),
                bias_mcse: err.mcse(),
                rel_bias: rel.mean(),
                rel_bias_mcse: rel.mcse(),
                rmse,
                rmse_mcse: sq.mcse() / (2.0 * rmse),
                empirical_se: nh.sd(),
                mean_se: se.mean(),
                intervals,
                failures,
            });
        }
        MetricsTable {
            study: self.study.clone(),
            seed: self.seed,
            replicates: self.replicates(),
            level: self.level,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::runner::{IntervalRecord, Outcome, RawResults, Record, Series, TargetTally};

    fn ok(rep: u64, n_hat: f64, lo: f64, hi: f64) -> Record {
        Record {
            replicate: rep,
            truth: 100.0,
            outcome: Outcome::Ok {
                n_hat,
                se: 10.0,
                flagged: rep == 1,
                intervals: vec![IntervalRecord {
                    method: "wald".into(),
                    lower: lo,
                    upper: hi,
                }],
            },
        }
    }

    #[test]
    fn hand_computed_metrics() {
        let raw = RawResults {
            study: "s".into(),
            seed: 1,
            level: 0.95,
            ranges: vec![(0, 4)],
            targets: vec![TargetTally {
                scenario_index: 0,
                scenario: "a".into(),
                target: "all".into(),
                truths: (0..4).map(|i| (i, 100.0)).collect(),
                no_data: vec![3],
            }],
            series: vec![Series {
                scenario_index: 0,
                scenario: "a".into(),
                target: "all".into(),
                estimator: "E".into(),
                records: vec![
                    ok(0, 90.0, 80.0, 99.0),
                    ok(1, 110.0, 95.0, f64::INFINITY),
                    Record {
                        replicate: 2,
                        truth: 100.0,
                        outcome: Outcome::Failed { error: "x".into() },
                    },
                ],
            }],
        };
        let t = raw.metrics();
        let r = &t.rows[0];
        assert_eq!((r.replicates, r.estimates, r.no_data), (4, 2, 1));
        assert_eq!(r.failed_share, 0.5);
        assert_eq!(r.failures, vec![("x".to_string(), 1)]);
        assert_eq!(r.flagged_share, 0.25);
        assert_eq!(r.mean_n_hat, 100.0);
        assert_eq!(r.median_n_hat, 100.0);
        assert_eq!(r.bias, 0.0);
        assert_eq!(r.rmse, 10.0);
        // sd of (−10, 10) = √200; MCSE = √200/√2 = 10
        assert!((r.bias_mcse - 10.0).abs() < 1e-12);
        let w = r.primary().unwrap();
        assert_eq!((w.n, w.unbounded), (2, 1));
        assert_eq!(w.coverage, 0.5);
        assert_eq!(w.mean_width, 19.0);
        assert!((w.coverage_mcse - 0.5f64.powi(2).sqrt() / 2f64.sqrt()).abs() < 1e-12);
    }
}
