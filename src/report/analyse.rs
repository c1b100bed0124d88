//! Runs every estimator that applies to a data set and collects a [`Report`].

use super::{DataSummary, Report, Section, Truth};
use crate::ci;
use crate::data::{CaptureHistories, DataSet};
use crate::error::Result;
use crate::estimate::{Estimate, Warning};
use crate::two_source;

/// What to run and how.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOptions {
    /// Confidence level of every interval.
    pub level: f64,
    /// Name of the data source, for the report.
    pub source: String,
    /// Known true sizes (simulated data), shown beside the estimates.
    pub truth: Vec<Truth>,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            level: 0.95,
            source: "<data>".into(),
            truth: Vec::new(),
        }
    }
}

/// Runs every estimator that applies to `data` and returns the report: for capture
/// histories with strata, one set of tables per stratum, one for the strata pooled and
/// one summing the stratum estimates.
///
/// # Errors
/// [`crate::Error::InvalidParameter`] for a level outside (0, 1).
pub fn analyse(data: &DataSet, opts: &AnalysisOptions) -> Result<Report> {
    ci::check_level(opts.level)?;
    let (summary, sections) = match data {
        DataSet::Histories { data: h, layout } => {
            let strata: Vec<String> = h.strata().map(|s| s.names.clone()).unwrap_or_default();
            let summary = DataSummary {
                source: opts.source.clone(),
                layout: layout.name().into(),
                observed: h.observed(),
                occasions: Some(h.occasions()),
                rows: h.n_rows(),
                strata,
                occasion_names: h.occasion_names().to_vec(),
            };
            (summary, histories_sections(h, opts.level))
        }
        DataSet::Counts { data: d, .. } => {
            let summary = DataSummary {
                source: opts.source.clone(),
                layout: "counts".into(),
                observed: d.observed(),
                occasions: None,
                rows: d.n_rows(),
                strata: Vec::new(),
                occasion_names: Vec::new(),
            };
            let mut s = Section::new("Single-source count models", None, d.observed());
            s.notes
                .push("no single-source count estimator is available in this build".into());
            (summary, vec![s])
        }
    };
    Ok(Report {
        data: summary,
        truth: opts.truth.clone(),
        sections,
        level: opts.level,
    })
}

fn histories_sections(h: &CaptureHistories, level: f64) -> Vec<Section> {
    let strata = h.split_by_stratum();
    if strata.is_empty() {
        return one_population(h, None, level);
    }
    let mut out = Vec::new();
    let mut per_stratum = Vec::new();
    for (name, hs) in &strata {
        let secs = one_population(hs, Some(name.clone()), level);
        per_stratum.push(secs.clone());
        out.extend(secs);
    }
    out.extend(one_population(h, Some(super::POOLED.into()), level));
    if let Some(first) = per_stratum.first() {
        for (k, sec) in first.iter().enumerate() {
            let group: Vec<&Section> = per_stratum.iter().filter_map(|v| v.get(k)).collect();
            out.push(sum_over_strata(&sec.title, &group, level));
        }
    }
    out
}

fn one_population(h: &CaptureHistories, stratum: Option<String>, level: f64) -> Vec<Section> {
    let mut classic = Section::new("Classic estimators", stratum, h.observed());
    for (label, r) in two_source::all(h, level) {
        classic.push(label, r);
    }
    vec![classic]
}

/// Sums each model's estimate over strata (models present in every stratum):
///
/// ```text
/// N̂ = Σ_s N̂_s,   SE = sqrt(Σ_s SE_s²)   (strata estimated independently)
/// ```
/// with a log-normal interval (Chao 1987) on the summed dark figure.
pub fn sum_over_strata(title: &str, strata: &[&Section], level: f64) -> Section {
    let observed: u64 = strata.iter().map(|s| s.observed).sum();
    let mut out = Section::new(title, Some(super::SUMMED.into()), observed);
    let Some(first) = strata.first() else {
        return out;
    };
    for e in &first.estimates {
        let parts: Vec<&Estimate> = strata
            .iter()
            .filter_map(|s| s.estimates.iter().find(|x| x.model == e.model))
            .collect();
        if parts.len() != strata.len() {
            out.failures.push(super::Failure {
                model: e.model.clone(),
                reason: "not estimable in every stratum".into(),
            });
            continue;
        }
        let n_hat: f64 = parts.iter().map(|p| p.n_hat).sum();
        let se = parts.iter().map(|p| p.se * p.se).sum::<f64>().sqrt();
        let interval = ci::log_normal(n_hat, se, observed as f64, level);
        let mut sum = Estimate::new(
            format!("{} (sum over strata)", e.method),
            e.model.clone(),
            n_hat,
            se,
            interval,
            observed,
        )
        .with_assumptions(&e.assumptions);
        if parts.iter().any(|p| p.is_flagged()) {
            sum.warnings.push(Warning::Other {
                message: "a stratum estimate carries warnings".into(),
            });
        }
        out.estimates.push(sum);
    }
    out
}
