//! From every candidate estimate to the figure to cite: the headline.
//!
//! (Types first; the procedure lands in this module's `select` submodule.)

use crate::estimate::{Assumption, Interval};
use serde::Serialize;

/// One model's share of the headline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadlineModel {
    /// Model label as printed in the candidate table (e.g. `Mh Chao`, `[12,3,4]`).
    pub model: String,
    /// Its weight in the headline (1 for a single chosen model).
    pub weight: f64,
    /// Its N̂.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub n_hat: f64,
}

/// The range of N̂ over the plausible candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    /// Smallest N̂ among the plausible candidates.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub lower: f64,
    /// Largest N̂ among the plausible candidates.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub upper: f64,
    /// The models at the two ends: `[lowest, highest]`.
    pub models: Vec<String>,
    /// Smallest lower interval limit among the plausible candidates.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub interval_lower: f64,
    /// Largest upper interval limit among the plausible candidates.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub interval_upper: f64,
    /// How "plausible" was defined, in words.
    pub rule: String,
}

/// One row of the compact candidate table printed under a headline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Model label.
    pub model: String,
    /// The report section it came from.
    pub section: String,
    /// Difference in the information criterion to the best candidate (`None` when the
    /// candidate has no likelihood on the common scale).
    pub delta_ic: Option<f64>,
    /// Weight in the headline (0 when it takes no part).
    pub weight: f64,
    /// N̂.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub n_hat: f64,
    /// Its interval.
    pub interval: Interval,
    /// Goodness-of-fit p-value (deviance on its df, or Pearson χ² for count models).
    pub gof_p: Option<f64>,
    /// Why it cannot be cited, when excluded.
    pub excluded: Option<String>,
}

/// The figure to cite for one stratum (or the data as a whole, or the total over strata).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// `None` when the data have no strata; a stratum name; or `"total"`.
    pub stratum: Option<String>,
    /// Units seen.
    pub observed: u64,
    /// The population size to cite.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub n_hat: f64,
    /// Its standard error.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub se: f64,
    /// Its interval, with the method named.
    pub interval: Interval,
    /// N̂ − observed.
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    pub dark_figure: f64,
    /// Interval of the dark figure.
    pub dark_figure_interval: Interval,
    /// One line: the procedure and the criterion.
    pub basis: String,
    /// The models the figure rests on, with their weights.
    pub models: Vec<HeadlineModel>,
    /// Range over the plausible candidates.
    pub sensitivity: Option<Sensitivity>,
    /// The candidate table (included and excluded).
    pub candidates: Vec<Candidate>,
    /// Checks and warnings in plain words.
    pub warnings: Vec<String>,
    /// The assumptions of the chosen model(s).
    pub assumptions: Vec<Assumption>,
    /// Known true size (simulated data), if any.
    pub truth: Option<u64>,
}
