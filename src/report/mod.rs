//! Reports: one table of estimates per data set (and per stratum), printed as text,
//! Markdown or JSON. The `estimate` example binary only parses arguments, calls
//! [`analyse`] and prints what this module formats.

mod analyse;
pub mod bayes;
mod common;
mod format;
mod headline;
mod headline_fmt;
pub(crate) mod html;
pub mod huggins;
pub mod plot;

pub use analyse::{
    AnalysisOptions, MAX_OCCASIONS_COUNTS, Occasions, Selection, add_subgroup, analyse,
    check_options_apply, parse_heterogeneity, sum_over_strata,
};
pub use format::Format;
pub use headline::{BayesCrossCheck, BayesFlag};
pub use html::{
    CITATION_YEAR, Figure, MAX_FOREST_ROWS, ReportContext, count_words, sha256_hex,
    software_citation, write_report_for,
};
pub use huggins::analyse_with_covariates;

use crate::estimate::Estimate;
use serde::Serialize;

/// [`DataSummary::layout`] of data entered as summary counts rather than read from a file
/// (`estimate --two-source N1,N2,M`): the reports name no file layout and no rows.
pub const SUMMARY_LAYOUT: &str = "summary counts";

/// What was read: the layout, the number of units, occasions and strata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSummary {
    /// Where the data came from (a file name, or the name of an embedded example).
    pub source: String,
    /// The layout detected or forced (`wide`, `long`, `aggregated`, `counts`), or
    /// [`SUMMARY_LAYOUT`] for summary counts entered without a file.
    pub layout: String,
    /// Units seen at least once.
    pub observed: u64,
    /// Occasions (or lists); `None` for single-source counts.
    pub occasions: Option<usize>,
    /// Rows in the file.
    pub rows: usize,
    /// Stratum names, empty when there are none.
    pub strata: Vec<String>,
    /// Names of the occasions or lists (of the covariates for single-source counts).
    pub occasion_names: Vec<String>,
    /// Column holding the counts of single-source counts; `None` for capture histories.
    pub count_column: Option<String>,
    /// How the occasions of a long-layout file were put in order; `None` for other
    /// layouts, where the columns or history strings fix it.
    pub occasion_order: Option<crate::data::OccasionOrder>,
    /// Occasions on which nobody was recorded (names): kept as occasions, they pull the
    /// capture probabilities of models without time effects down.
    pub empty_occasions: Vec<String>,
    /// What the reader decided from the file that the reader of the results should know
    /// (columns read under another name, columns not used).
    pub notes: Vec<String>,
}

impl DataSummary {
    /// How the occasions were put in order, in words, where the reader should know it:
    /// dates (calendar order), labels kept in their order of first appearance, and whole
    /// numbers that start above 1 (counted from the smallest).
    pub fn order_note(&self) -> Option<String> {
        use crate::data::OccasionOrder as O;
        let names = &self.occasion_names;
        let listed = || {
            let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
            let more = names.len().saturating_sub(shown.len());
            if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            }
        };
        match self.occasion_order? {
            O::Chronological => Some(format!(
                "in calendar order, {} to {}",
                names.first()?,
                names.last()?
            )),
            O::FirstAppearance => Some(format!(
                "in order of first appearance in the file: {}; the labels are not numbers or \
                 dates, so check the order or set it with --occasion-order",
                listed()
            )),
            O::AmbiguousDates => Some(format!(
                "in order of first appearance in the file: {}; the labels are dates whose day \
                 and month cannot be told apart, so set the order with --occasion-order",
                listed()
            )),
            O::Numeric => {
                // Whole numbers are counted from the smallest: say so when that is not 0 or 1.
                let number = |n: &String| n.strip_prefix("occasion ")?.parse::<u64>().ok();
                let (lo, hi) = (number(names.first()?)?, number(names.last()?)?);
                (lo > 1).then(|| format!("numbered {lo} to {hi}: none before {lo} is counted"))
            }
            O::Given => None,
        }
    }

    /// The occasions on which nobody was recorded, in words (`None` when there are none).
    pub fn empty_note(&self) -> Option<String> {
        let bare: Vec<&str> = self
            .empty_occasions
            .iter()
            .map(|n| n.strip_prefix("occasion ").unwrap_or(n))
            .collect();
        let which = match bare.as_slice() {
            [] => return None,
            [one] => format!("occasion {one}"),
            many => format!("occasions {}", many.join(", ")),
        };
        let leave_out = if self.occasion_order.is_some() {
            "renumber the occasions or set --occasion-order"
        } else {
            "drop its column"
        };
        Some(format!(
            "nobody was recorded on {which}, which counts as an occasion without captures \
             (if no one was looking then, {leave_out})"
        ))
    }
}

/// A known true population size, shown beside the estimates (simulated data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    /// Stratum name, or `None` for the whole population.
    pub stratum: Option<String>,
    /// True population size.
    pub n: u64,
}

/// An estimator that ran but whose estimate does not exist for these data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// Model label.
    pub model: String,
    /// The error, in words.
    pub reason: String,
}

/// A goodness-of-fit test printed beside an estimate: Pearson's χ² on the observed
/// against fitted frequencies of 1, 2, 3... captures (count models, as
/// `singleRcapture::marginalFreq`), or the deviance on its residual df (log-linear models;
/// unreliable for sparse tables, where many cells hold fewer than 5 units).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gof {
    /// Pearson chi-square statistic.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub chi2: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Its p-value.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub p_value: f64,
    /// Which test: `pearson` or `deviance`.
    pub test: &'static str,
}

/// One line of a table: an estimate and what a table prints beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The estimate.
    pub estimate: Estimate,
    /// Covariates the model used (single-source count models), if any.
    pub covariates: Option<Vec<String>>,
    /// Goodness of fit, where computed.
    pub gof: Option<Gof>,
    /// The fit degenerated (a parameter at a boundary, no convergence, an absurd N̂):
    /// reports print no number for N̂, only the reasons.
    pub degenerate: bool,
    /// Posterior summary of N (Bayesian estimators only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posterior: Option<crate::bayes::Posterior>,
}

impl From<Estimate> for Row {
    fn from(estimate: Estimate) -> Self {
        Row {
            estimate,
            covariates: None,
            gof: None,
            degenerate: false,
            posterior: None,
        }
    }
}

/// One table: the estimates for one stratum (or for all data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Heading, e.g. `Classic estimators` or `closedp.t`.
    pub title: String,
    /// Stratum, or `None` for all data; [`POOLED`] and [`SUMMED`] for the totals.
    pub stratum: Option<String>,
    /// Units observed in this stratum.
    pub observed: u64,
    /// The estimates, in the order they were run.
    pub rows: Vec<Row>,
    /// Estimators whose estimate does not exist here.
    pub failures: Vec<Failure>,
    /// Free-text notes printed under the table.
    pub notes: Vec<String>,
}

impl Section {
    /// An empty section.
    pub fn new(title: impl Into<String>, stratum: Option<String>, observed: u64) -> Self {
        Section {
            title: title.into(),
            stratum,
            observed,
            rows: Vec::new(),
            failures: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds the outcome of one estimator.
    pub fn push(&mut self, model: &str, r: crate::Result<Estimate>) {
        self.push_row(model, r.map(Row::from));
    }

    /// Adds the outcome of one estimator, with what is printed beside it.
    pub fn push_row(&mut self, model: &str, r: crate::Result<Row>) {
        match r {
            Ok(row) => self.rows.push(row),
            Err(e) => self.failures.push(Failure {
                model: model.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// The estimates of this section.
    pub fn estimates(&self) -> impl Iterator<Item = &Estimate> {
        self.rows.iter().map(|r| &r.estimate)
    }
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The figures to cite: one per stratum and one for the total (or one when there are
    /// no strata). Filled by [`analyse`]; every output prints these first.
    pub headline: Vec<crate::recommend::Headline>,
    /// What was read.
    pub data: DataSummary,
    /// Known truths (simulated data only).
    pub truth: Vec<Truth>,
    /// The tables.
    pub sections: Vec<Section>,
    /// Open-population fits (Jolly-Seber, robust design), printed per period.
    pub open: Vec<crate::open::OpenFit>,
    /// The classical Jolly-Seber table (Seber 1982), printed with the open models.
    pub jolly_seber: Option<crate::open::JsTable>,
    /// The confidence level used.
    pub level: f64,
}

impl Report {
    /// Every estimate in the report, with the section it belongs to.
    pub fn all_estimates(&self) -> impl Iterator<Item = (&Section, &Estimate)> {
        self.sections
            .iter()
            .flat_map(|s| s.estimates().map(move |e| (s, e)))
    }

    /// The first estimate with this model label in a section with this title prefix for
    /// this stratum.
    pub fn find(&self, section: &str, stratum: Option<&str>, model: &str) -> Option<&Estimate> {
        self.all_estimates()
            .find(|(s, e)| {
                s.title.starts_with(section) && s.stratum.as_deref() == stratum && e.model == model
            })
            .map(|(_, e)| e)
    }

    /// The true size for a stratum, if known.
    pub fn truth_for(&self, stratum: Option<&str>) -> Option<u64> {
        self.truth
            .iter()
            .find(|t| t.stratum.as_deref() == stratum)
            .map(|t| t.n)
    }
}

/// Section label of the strata-pooled analysis.
pub const POOLED: &str = "all strata pooled";
/// Section label of the sum of per-stratum estimates.
pub const SUMMED: &str = "total (sum over strata)";

/// Reads known true sizes from CSV text `stratum,N` (a row `total` applies to the pooled
/// and summed sections; with no strata, `total` applies to the whole data).
///
/// # Errors
/// [`crate::Error::CsvValue`] for a size that is not a whole number.
pub fn truth_from_csv(text: &str, file: &str, has_strata: bool) -> crate::Result<Vec<Truth>> {
    // The reader's shared checks: delimiter, quotes, comments, true line numbers.
    let (headers, rows) = crate::data::csv_io::read_cells(text, file)?;
    let mut out = Vec::new();
    for (line, rec) in &rows {
        let name = rec.first().cloned().unwrap_or_default();
        let v = rec.get(1).map_or("", String::as_str);
        let n: u64 = v.parse().map_err(|_| crate::Error::CsvValue {
            at: crate::error::Location {
                file: file.into(),
                line: Some(*line),
                column: Some(headers.get(1).cloned().unwrap_or_else(|| "N".into())),
            },
            value: v.into(),
            expected: "a whole number".into(),
        })?;
        if name == "total" {
            if has_strata {
                out.push(Truth {
                    stratum: Some(POOLED.into()),
                    n,
                });
                out.push(Truth {
                    stratum: Some(SUMMED.into()),
                    n,
                });
            } else {
                out.push(Truth { stratum: None, n });
            }
        } else {
            out.push(Truth {
                stratum: Some(name),
                n,
            });
        }
    }
    Ok(out)
}
