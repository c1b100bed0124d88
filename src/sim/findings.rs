//! What a simulation study shows, before its table: for each scenario (and target), how
//! the figure a report would cite fared (the `recommended` estimator, the headline rule),
//! which estimators were reliable, and the most accurate of them; then, over the study,
//! in how many scenarios the cited figure was reliable and where it was not.
//!
//! An estimator is **reliable** in a scenario when its primary interval covered the true
//! size in at least `level − `[`COVERAGE_SHORTFALL`] of the replicates (90% for 95%
//! intervals), its mean relative bias is within ±[`MAX_REL_BIAS`], and it failed in at
//! most [`MAX_FAILED`] of the replicates. The thresholds are points, not tests: with R
//! replicates a coverage has a Monte-Carlo SE of about √(0.95·0.05/R) (1.5 points at
//! R = 200), which the table gives beside every figure.

use super::metrics::{MetricRow, MetricsTable};
use serde::Serialize;

/// Largest shortfall of coverage below the nominal level that still counts as reliable.
pub const COVERAGE_SHORTFALL: f64 = 0.05;

/// Largest mean relative bias, either way, that still counts as reliable.
pub const MAX_REL_BIAS: f64 = 0.10;

/// Largest share of failed replicates that still counts as reliable.
pub const MAX_FAILED: f64 = 0.05;

/// The estimator label of the figure a report would cite (the headline rule).
pub const CITED: &str = "recommended";

/// A share as a signed percentage with one decimal, never "-0.0%" (a bias of −0.04%
/// reads "+0.0%").
pub fn signed_pct(x: f64) -> String {
    let v = (1000.0 * x).round() / 10.0;
    format!("{:+.1}%", v + 0.0)
}

/// Why an estimator is not reliable in a scenario (empty when it is).
fn shortfalls(r: &MetricRow, level: f64) -> Vec<String> {
    let mut out = Vec::new();
    match r.primary() {
        Some(p) if p.coverage.is_finite() => {
            if p.coverage < level - COVERAGE_SHORTFALL {
                out.push(format!(
                    "its interval covered the truth in {:.1}% of replicates",
                    100.0 * p.coverage
                ));
            }
        }
        _ => out.push("it gives no interval".into()),
    }
    if !r.rel_bias.is_finite() {
        out.push("it gave no estimate".into());
    } else if r.rel_bias.abs() > MAX_REL_BIAS {
        let mut b = format!("its mean bias is {}", signed_pct(r.rel_bias));
        let median_bias = r.median_n_hat / r.truth - 1.0;
        if r.truth > 0.0 && median_bias.is_finite() && (median_bias - r.rel_bias).abs() > 0.05 {
            // a heavy tail (or a few runaway fits) moves the mean: give the median too
            b.push_str(&format!(
                " (the median N̂ is {:.1}% too {}",
                100.0 * median_bias.abs(),
                if median_bias > 0.0 { "high" } else { "low" }
            ));
            if r.runaway_share > 0.0 {
                b.push_str(&format!(
                    "; N̂ ran away in {:.1}% of replicates",
                    100.0 * r.runaway_share
                ));
            }
            b.push(')');
        }
        out.push(b);
    }
    if r.failed_share > MAX_FAILED {
        out.push(format!(
            "it failed in {:.1}% of replicates",
            100.0 * r.failed_share
        ));
    }
    out
}

/// The performance of one estimator, as a finding quotes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Performance {
    /// Estimator label.
    pub estimator: String,
    /// Mean relative bias.
    pub rel_bias: f64,
    /// Coverage of the primary interval (NaN, `null` in JSON, without one).
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub coverage: f64,
    /// Root mean squared error.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub rmse: f64,
    /// Why it is not reliable (empty when it is).
    pub shortfalls: Vec<String>,
}

impl Performance {
    fn of(r: &MetricRow, level: f64) -> Self {
        Performance {
            estimator: r.estimator.clone(),
            rel_bias: r.rel_bias,
            coverage: r.primary().map_or(f64::NAN, |p| p.coverage),
            rmse: r.rmse,
            shortfalls: shortfalls(r, level),
        }
    }

    /// Whether it met every threshold.
    pub fn reliable(&self) -> bool {
        self.shortfalls.is_empty()
    }

    fn brief(&self) -> String {
        let cov = if self.coverage.is_finite() {
            format!(", coverage {:.1}%", 100.0 * self.coverage)
        } else {
            String::new()
        };
        format!("bias {}{cov}", signed_pct(self.rel_bias))
    }
}

/// What one scenario (and target) shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioFinding {
    /// Scenario name.
    pub scenario: String,
    /// Target (`all` or a stratum).
    pub target: String,
    /// Mean true size.
    pub truth: f64,
    /// The cited figure's performance, when the study ran the `recommended` estimator.
    pub cited: Option<Performance>,
    /// The reliable estimators, most accurate (lowest RMSE) first.
    pub reliable: Vec<Performance>,
    /// Estimators run in the scenario.
    pub estimators: usize,
    /// The sentence.
    pub sentence: String,
}

/// What the whole study shows: one finding per scenario and target, and a summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Findings {
    /// The summary sentence.
    pub summary: String,
    /// One per (scenario, target), in the table's order.
    pub scenarios: Vec<ScenarioFinding>,
    /// The thresholds a reliable estimator met.
    pub rule: String,
}

/// The rule in words, for a reader.
pub fn rule(level: f64) -> String {
    format!(
        "reliable: the interval covers the true size in at least {:.0}% of replicates, the \
         mean bias is within ±{:.0}%, and at most {:.0}% of replicates fail",
        100.0 * (level - COVERAGE_SHORTFALL),
        100.0 * MAX_REL_BIAS,
        100.0 * MAX_FAILED
    )
}

/// What the study `t` shows.
pub fn findings(t: &MetricsTable) -> Findings {
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for r in &t.rows {
        let key = (r.scenario.as_str(), r.target.as_str());
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    let scenarios: Vec<ScenarioFinding> = groups
        .into_iter()
        .map(|(scenario, target)| {
            let rows: Vec<&MetricRow> = t
                .rows
                .iter()
                .filter(|r| r.scenario == scenario && r.target == target)
                .collect();
            scenario_finding(&rows, scenario, target, t.level)
        })
        .collect();
    Findings {
        summary: summary(&scenarios),
        scenarios,
        rule: rule(t.level),
    }
}

fn title(scenario: &str, target: &str) -> String {
    if target == "all" {
        scenario.to_string()
    } else {
        format!("{scenario} ({target})")
    }
}

fn scenario_finding(
    rows: &[&MetricRow],
    scenario: &str,
    target: &str,
    level: f64,
) -> ScenarioFinding {
    let truth = rows.first().map_or(f64::NAN, |r| r.truth);
    let cited = rows
        .iter()
        .find(|r| r.estimator == CITED)
        .map(|r| Performance::of(r, level));
    let mut reliable: Vec<Performance> = rows
        .iter()
        .filter(|r| r.estimator != CITED)
        .map(|r| Performance::of(r, level))
        .filter(Performance::reliable)
        .collect();
    reliable.sort_by(|a, b| a.rmse.total_cmp(&b.rmse));
    let others = rows.iter().filter(|r| r.estimator != CITED).count();
    let mut sentence = format!("{} (N = {:.0}): ", title(scenario, target), truth);
    if let Some(c) = &cited {
        if c.reliable() {
            sentence.push_str(&format!("the cited figure is reliable ({})", c.brief()));
        } else {
            sentence.push_str(&format!(
                "the cited figure is not reliable: {}",
                c.shortfalls.join(", ")
            ));
        }
        sentence.push_str("; ");
    }
    match reliable.first() {
        Some(best) => sentence.push_str(&format!(
            "{} of {others} estimators {} reliable, the most accurate {} (RMSE {:.0}, {}).",
            reliable.len(),
            if reliable.len() == 1 { "is" } else { "are" },
            best.estimator,
            best.rmse,
            best.brief()
        )),
        None => {
            let least = rows
                .iter()
                .filter(|r| r.estimator != CITED && r.rel_bias.is_finite())
                .min_by(|a, b| a.rel_bias.abs().total_cmp(&b.rel_bias.abs()));
            sentence.push_str(&format!("none of the {others} estimators is reliable"));
            match least {
                Some(r) => sentence.push_str(&format!(
                    "; the least biased is {} ({}).",
                    r.estimator,
                    Performance::of(r, level).brief()
                )),
                None => sentence.push('.'),
            }
        }
    }
    ScenarioFinding {
        scenario: scenario.to_string(),
        target: target.to_string(),
        truth,
        cited,
        reliable,
        estimators: others,
        sentence,
    }
}

fn summary(scenarios: &[ScenarioFinding]) -> String {
    let with_cited: Vec<&ScenarioFinding> =
        scenarios.iter().filter(|s| s.cited.is_some()).collect();
    let mut out = String::new();
    if !with_cited.is_empty() {
        let bad: Vec<String> = with_cited
            .iter()
            .filter(|s| !s.cited.as_ref().is_some_and(Performance::reliable))
            .map(|s| title(&s.scenario, &s.target))
            .collect();
        out.push_str(&format!(
            "The cited figure (the headline rule) was reliable in {} of {} scenarios",
            with_cited.len() - bad.len(),
            with_cited.len()
        ));
        if bad.is_empty() {
            out.push('.');
        } else {
            out.push_str(&format!("; not in: {}.", bad.join("; ")));
        }
    }
    // estimators reliable everywhere
    let mut everywhere: Vec<&str> = match scenarios.first() {
        Some(s) => s.reliable.iter().map(|p| p.estimator.as_str()).collect(),
        None => Vec::new(),
    };
    everywhere.retain(|e| {
        scenarios
            .iter()
            .all(|s| s.reliable.iter().any(|p| p.estimator == *e))
    });
    everywhere.sort_unstable();
    if !out.is_empty() {
        out.push(' ');
    }
    if everywhere.is_empty() {
        out.push_str("No estimator was reliable in every scenario.");
    } else {
        out.push_str(&format!(
            "Reliable in every scenario: {}.",
            everywhere.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::metrics::IntervalMetrics;

    fn row(scenario: &str, estimator: &str, rel_bias: f64, coverage: f64, rmse: f64) -> MetricRow {
        MetricRow {
            scenario: scenario.into(),
            target: "all".into(),
            estimator: estimator.into(),
            truth: 1000.0,
            replicates: 200,
            estimates: 200,
            failed_share: 0.0,
            flagged_share: 0.0,
            runaway_share: 0.0,
            no_data: 0,
            mean_n_hat: 1000.0 * (1.0 + rel_bias),
            mean_n_hat_mcse: 1.0,
            median_n_hat: 1000.0,
            bias: 1000.0 * rel_bias,
            bias_mcse: 1.0,
            rel_bias,
            rel_bias_mcse: 0.001,
            rmse,
            rmse_mcse: 1.0,
            empirical_se: 1.0,
            mean_se: 1.0,
            intervals: vec![IntervalMetrics {
                method: "log-normal".into(),
                primary: true,
                n: 200,
                coverage,
                coverage_mcse: 0.01,
                mean_width: 100.0,
                mean_width_mcse: 1.0,
                unbounded: 0,
            }],
            failures: Vec::new(),
        }
    }

    #[test]
    fn signed_percentages_have_no_negative_zero() {
        assert_eq!(signed_pct(-0.0004), "+0.0%");
        assert_eq!(signed_pct(-0.0006), "-0.1%");
        assert_eq!(signed_pct(0.35), "+35.0%");
    }

    #[test]
    fn reliable_estimators_and_the_cited_figure() {
        let t = MetricsTable {
            study: "s".into(),
            seed: 1,
            replicates: 200,
            level: 0.95,
            rows: vec![
                row("A", "M0", 0.01, 0.95, 50.0),
                row("A", "Chao", 0.02, 0.91, 40.0),
                row("A", "Mb", 0.30, 0.95, 400.0),
                row("A", "recommended", 0.01, 0.96, 45.0),
                row("B", "M0", -0.35, 0.0, 700.0),
                row("B", "Chao", -0.03, 0.93, 170.0),
                row("B", "Mb", 0.05, 0.89, 300.0),
                row("B", "recommended", -0.35, 0.0, 700.0),
            ],
        };
        let f = findings(&t);
        let a = &f.scenarios[0];
        assert_eq!(
            a.reliable
                .iter()
                .map(|p| p.estimator.as_str())
                .collect::<Vec<_>>(),
            ["Chao", "M0"]
        );
        assert!(a.cited.as_ref().unwrap().reliable());
        assert!(
            a.sentence.starts_with("A (N = 1000): the cited figure is reliable (bias +1.0%, coverage 96.0%); 2 of 3 estimators are reliable, the most accurate Chao (RMSE 40"),
            "{}",
            a.sentence
        );
        let b = &f.scenarios[1];
        assert_eq!(b.reliable.len(), 1, "Mb's 89% coverage is below 90%");
        assert!(
            b.sentence.contains(
                "the cited figure is not reliable: its interval covered the truth in 0.0% of \
                 replicates, its mean bias is -35.0%"
            ),
            "{}",
            b.sentence
        );
        assert_eq!(
            f.summary,
            "The cited figure (the headline rule) was reliable in 1 of 2 scenarios; not in: B. \
             Reliable in every scenario: Chao."
        );
        // nothing reliable: the least biased is named
        let t2 = MetricsTable {
            rows: vec![
                row("C", "M0", -0.35, 0.0, 700.0),
                row("C", "Mb", 0.2, 0.5, 300.0),
            ],
            ..t
        };
        let f2 = findings(&t2);
        assert!(
            f2.scenarios[0]
                .sentence
                .ends_with("none of the 2 estimators is reliable; the least biased is Mb (bias +20.0%, coverage 50.0%)."),
            "{}",
            f2.scenarios[0].sentence
        );
        assert_eq!(f2.summary, "No estimator was reliable in every scenario.");
    }
}
