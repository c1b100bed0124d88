//! Scenario descriptions: what a simulated population looks like and how it is sampled.
//!
//! Scenarios are plain serde structs read from JSON (see `examples/data/*.json`). A
//! [`Study`] holds a grid of [`Scenario`]s, the estimators to run, the number of
//! replicates, the confidence level and the seed.
//!
//! # Capture model (closed and open populations)
//! ```text
//! logit P(unit i caught on occasion j | not caught before) = logit p_j + e_i
//! logit P(unit i caught on occasion j | caught before)     = logit p_j + e_i + b
//! ```
//! `p_j` are the occasion probabilities (time effects), `e_i` the unit effect drawn from
//! the [`Heterogeneity`] distribution and `b` the behavioural response ([`Behaviour`]:
//! b < 0 trap-shy, b > 0 trap-happy). List dependence multiplies the probability of a
//! history by `exp(Σ γ_jk h_j h_k)` and renormalises (a log-linear two-factor
//! interaction), so the marginal capture probabilities then differ from `p_j`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

pub use super::limits::{MAX_SIM_N, MAX_SIM_OCCASIONS};

/// One value for every occasion, or one value per occasion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PerOccasion {
    /// The same value on every occasion.
    Same(f64),
    /// One value per occasion (or per interval between occasions, where so documented).
    Each(Vec<f64>),
}

impl PerOccasion {
    /// The values expanded to `len` entries.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when a list has the wrong length.
    pub fn expand(&self, len: usize, what: &str) -> Result<Vec<f64>> {
        match self {
            PerOccasion::Same(v) => Ok(vec![*v; len]),
            PerOccasion::Each(v) if v.len() == len => Ok(v.clone()),
            PerOccasion::Each(v) => Err(Error::invalid(format!(
                "{what}: {} values given, expected 1 or {len}",
                v.len()
            ))),
        }
    }
}

/// A study: scenarios × estimators × replicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// Title of the study.
    pub name: String,
    /// Base seed; replicate i of scenario s uses `mix(seed, s, i)`.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Replicates per scenario.
    #[serde(default = "default_replicates")]
    pub replicates: u64,
    /// Confidence level of the intervals.
    #[serde(default = "default_level")]
    pub level: f64,
    /// Names of the built-in estimators to run (see
    /// [`builtin_estimators`](super::estimators::builtin_estimators)).
    #[serde(default = "default_estimators")]
    pub estimators: Vec<String>,
    /// The scenarios.
    pub scenarios: Vec<Scenario>,
}

/// The default seed of a study.
pub const DEFAULT_SEED: u64 = 20_240_601;

/// The estimators of a study file that names none: the two-source and ratio estimators,
/// Chao's lower bound and the 12 `closedp` models (profile intervals for M0, Mt and
/// Mh Chao (LB)).
pub const DEFAULT_ESTIMATORS: &[&str] = &[
    "lincoln-petersen",
    "chapman",
    "bailey",
    "schnabel",
    "schumacher-eschmeyer",
    "chao-lb",
    "closedp",
];

fn default_seed() -> u64 {
    DEFAULT_SEED
}
fn default_replicates() -> u64 {
    1000
}
fn default_level() -> f64 {
    0.95
}
fn default_estimators() -> Vec<String> {
    DEFAULT_ESTIMATORS.iter().map(|s| s.to_string()).collect()
}

impl Study {
    /// Reads a study from JSON text.
    ///
    /// # Errors
    /// [`Error::InvalidData`] naming the JSON line and column of a syntax or schema error,
    /// or the field of an out-of-range value.
    pub fn from_json(text: &str) -> Result<Study> {
        let s: Study =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("study file: {e}")))?;
        s.validate()?;
        Ok(s)
    }

    /// Reads a study from a JSON file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; otherwise as [`Study::from_json`].
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Study> {
        let p = path.as_ref();
        let text = std::fs::read_to_string(p).map_err(|source| Error::Io {
            path: p.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] / [`Error::InvalidData`] naming the scenario, stratum
    /// and field of the first bad value.
    pub fn validate(&self) -> Result<()> {
        crate::ci::check_level(self.level)?;
        if self.replicates == 0 {
            return Err(Error::param("replicates", 0, "at least 1"));
        }
        if self.scenarios.is_empty() {
            return Err(Error::invalid("the study has no scenarios"));
        }
        for s in &self.scenarios {
            s.validate()?;
        }
        Ok(())
    }
}

/// One data-generating mechanism.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name used in reports.
    pub name: String,
    /// Also estimate each stratum on its own (targets named after the strata), besides
    /// the pooled data (target `all`).
    #[serde(default)]
    pub by_stratum: bool,
    /// The population and sampling model.
    pub model: Model,
}

/// The population and sampling model of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    /// Closed population sampled on `occasions` occasions (or by that many lists).
    Closed(ClosedSpec),
    /// Open population: entries and exits between occasions.
    Open(OpenSpec),
    /// Single-source counts: how many times each unit was recorded.
    Counts(CountSpec),
    /// A closed population whose capture probability depends on individual covariates
    /// (e.g. repeat buyers caught more often), generated unit by unit; the data carry the
    /// covariates of the units seen ([`super::SimData::Covariates`]), for the Huggins
    /// models (see [`super::covariates`]).
    Covariates(super::covariates::CovariateScenario),
}

/// Which data type a closed scenario produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// [`CaptureHistories`](crate::data::CaptureHistories) (with stratum labels).
    #[default]
    Histories,
    /// A [`ListTable`](crate::data::ListTable) (strata pooled).
    Lists,
}

/// How a closed population is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// Aggregated (multinomial over the 2^t cells) for closed populations.
    #[default]
    Auto,
    /// Multinomial over the 2^t cells; cost grows with 2^t, not N. Continuous unit
    /// effects are integrated by quadrature.
    Aggregated,
    /// Unit by unit (the unit effect of each unit drawn, then its captures).
    Unit,
}

/// A closed population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedSpec {
    /// Number of occasions (lists), 1..=20.
    pub occasions: usize,
    /// The strata (at least one).
    pub strata: Vec<Stratum>,
    /// Pairwise list dependence (log-linear two-factor interactions).
    #[serde(default)]
    pub dependence: Vec<Dependence>,
    /// Output data type.
    #[serde(default)]
    pub output: Output,
    /// Generation method.
    #[serde(default)]
    pub generation: Generation,
}

/// One stratum of a closed population (e.g. buyers, sellers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stratum {
    /// Stratum label.
    #[serde(default = "default_stratum")]
    pub name: String,
    /// Number of units N.
    pub n: u64,
    /// Capture probability per occasion (one value, or one per occasion).
    pub p: PerOccasion,
    /// Unit heterogeneity.
    #[serde(default)]
    pub heterogeneity: Heterogeneity,
    /// Behavioural response after the first capture.
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
}

fn default_stratum() -> String {
    "all".into()
}

/// Distribution of the unit effect `e_i` added to the logit capture probability.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Heterogeneity {
    /// e_i = 0 (models M0, Mt, Mb).
    #[default]
    None,
    /// `q_i ~ Beta(a, b)`, `e_i = logit q_i − logit(a / (a + b))`: with a constant `p`
    /// equal to the beta mean, the capture probability of unit i is exactly `q_i`.
    Beta {
        /// First shape.
        a: f64,
        /// Second shape.
        b: f64,
    },
    /// `e_i ~ Normal(0, sd²)` (logit-normal heterogeneity, Coull & Agresti 1999).
    LogitNormal {
        /// Standard deviation on the logit scale.
        sd: f64,
    },
    /// A finite mixture of classes: `e_i = shifts[k]` with probability `weights[k]`
    /// (Pledger 2000).
    Mixture {
        /// Class weights (normalised).
        weights: Vec<f64>,
        /// Class effects on the logit scale.
        shifts: Vec<f64>,
    },
    /// Covariate-driven: `e_i = coef · x_i` with `x_i` drawn from `covariate`.
    Covariate {
        /// Effect of the covariate on the logit (or log, for counts) scale.
        coef: f64,
        /// Distribution of the covariate.
        covariate: CovariateDist,
    },
}

/// Distribution of a simulated covariate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum CovariateDist {
    /// Normal(mean, sd²).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Bernoulli(p): a 0/1 covariate.
    Bernoulli {
        /// P(x = 1).
        p: f64,
    },
}

/// Behavioural response after the first capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Shift `b` of the logit capture probability after the first capture (negative:
    /// trap-shy, e.g. deterred by arrest; positive: trap-happy).
    pub logit_shift: f64,
}

/// A two-factor interaction between lists `lists[0]` and `lists[1]` (1-based).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependence {
    /// The two lists, 1-based.
    pub lists: [usize; 2],
    /// Log odds ratio γ between them (positive: a case on one list is more likely on the
    /// other).
    pub log_odds_ratio: f64,
}

/// An open population (generated unit by unit).
///
/// `initial` units are present at occasion 1; before each occasion j = 2..t a
/// Poisson(`entries[j−2]`) number of new units enters; a unit present at occasion j is
/// still present at j + 1 with probability `survival[j−1]`. The truth is the number of
/// units ever present (the super-population).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSpec {
    /// Number of occasions, 2..=20.
    pub occasions: usize,
    /// The strata.
    pub strata: Vec<OpenStratum>,
}

/// One stratum of an open population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenStratum {
    /// Stratum label.
    #[serde(default = "default_stratum")]
    pub name: String,
    /// Units present at the first occasion.
    pub initial: u64,
    /// Mean number of entrants before occasions 2..t (one value, or t − 1).
    pub entries: PerOccasion,
    /// Probability of staying from one occasion to the next (one value, or t − 1).
    pub survival: PerOccasion,
    /// Capture probability per occasion.
    pub p: PerOccasion,
    /// Unit heterogeneity.
    #[serde(default)]
    pub heterogeneity: Heterogeneity,
    /// Behavioural response.
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
}

/// Single-source counts (e.g. a year of police records: times each person was stopped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountSpec {
    /// The strata (a categorical covariate `stratum` is attached when there are several).
    pub strata: Vec<CountStratum>,
}

/// One stratum of a count scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountStratum {
    /// Stratum label.
    #[serde(default = "default_stratum")]
    pub name: String,
    /// Number of units N (including those never recorded).
    pub n: u64,
    /// Count distribution.
    pub dist: CountDist,
    /// A covariate acting on the log mean (`log μ_i = log μ + coef · x_i`), attached to the
    /// data as a numeric column `x`; forces unit-by-unit generation.
    #[serde(default)]
    pub covariate: Option<CountCovariate>,
}

/// Covariate of a count stratum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountCovariate {
    /// Effect on the log mean.
    pub coef: f64,
    /// Distribution of x.
    pub covariate: CovariateDist,
}

/// Distribution of the number of times a unit is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CountDist {
    /// Poisson(λ).
    Poisson {
        /// Mean λ.
        lambda: f64,
    },
    /// Poisson-gamma (negative binomial) with mean μ and gamma shape k
    /// (variance μ + μ²/k).
    PoissonGamma {
        /// Mean μ.
        mean: f64,
        /// Gamma shape k.
        shape: f64,
    },
    /// One-inflated Poisson (Böhning & Friedl 2021): with probability ω a unit that
    /// would be recorded at least once is recorded exactly once.
    OneInflated {
        /// Mean λ of the underlying Poisson.
        lambda: f64,
        /// One-inflation probability ω.
        omega: f64,
    },
}

fn check_prob(v: f64, what: &str) -> Result<()> {
    if !(0.0..=1.0).contains(&v) {
        return Err(Error::invalid(format!(
            "{what} = {v}: expected a probability in [0, 1]"
        )));
    }
    Ok(())
}

fn check_finite(v: f64, what: &str) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::invalid(format!(
            "{what} = {v}: expected a finite number"
        )));
    }
    Ok(())
}

fn check_pos(v: f64, what: &str) -> Result<()> {
    if !(v > 0.0 && v.is_finite()) {
        return Err(Error::invalid(format!(
            "{what} = {v}: expected a positive number"
        )));
    }
    Ok(())
}

impl Heterogeneity {
    pub(crate) fn validate(&self, at: &str) -> Result<()> {
        match self {
            Heterogeneity::None => Ok(()),
            Heterogeneity::Beta { a, b } => {
                check_pos(*a, &format!("{at}: heterogeneity.a"))?;
                check_pos(*b, &format!("{at}: heterogeneity.b"))
            }
            Heterogeneity::LogitNormal { sd } => {
                if !(*sd >= 0.0 && *sd <= 10.0) {
                    return Err(Error::invalid(format!(
                        "{at}: heterogeneity.sd = {sd}: expected a number in [0, 10]"
                    )));
                }
                Ok(())
            }
            Heterogeneity::Mixture { weights, shifts } => {
                if weights.is_empty() || weights.len() != shifts.len() {
                    return Err(Error::invalid(format!(
                        "{at}: mixture has {} weights and {} shifts: expected equal, non-zero lengths",
                        weights.len(),
                        shifts.len()
                    )));
                }
                for (k, w) in weights.iter().enumerate() {
                    if !(*w >= 0.0 && w.is_finite()) {
                        return Err(Error::invalid(format!(
                            "{at}: mixture weights[{k}] = {w}: expected a non-negative number"
                        )));
                    }
                }
                if weights.iter().sum::<f64>() <= 0.0 {
                    return Err(Error::invalid(format!("{at}: mixture weights sum to 0")));
                }
                for (k, s) in shifts.iter().enumerate() {
                    check_finite(*s, &format!("{at}: mixture shifts[{k}]"))?;
                }
                Ok(())
            }
            Heterogeneity::Covariate { coef, covariate } => {
                check_finite(*coef, &format!("{at}: heterogeneity.coef"))?;
                covariate.validate(at)
            }
        }
    }
}

impl CovariateDist {
    pub(crate) fn validate(&self, at: &str) -> Result<()> {
        match self {
            CovariateDist::Normal { mean, sd } => {
                check_finite(*mean, &format!("{at}: covariate.mean"))?;
                if !(*sd >= 0.0 && sd.is_finite()) {
                    return Err(Error::invalid(format!(
                        "{at}: covariate.sd = {sd}: expected a non-negative number"
                    )));
                }
                Ok(())
            }
            CovariateDist::Bernoulli { p } => check_prob(*p, &format!("{at}: covariate.p")),
        }
    }
}

fn check_n(n: u64, at: &str) -> Result<()> {
    if n > MAX_SIM_N {
        return Err(Error::invalid(format!(
            "{at}: n = {n}: at most {MAX_SIM_N} units per stratum"
        )));
    }
    Ok(())
}

fn check_occasions(t: usize, min: usize, at: &str) -> Result<()> {
    if !(min..=MAX_SIM_OCCASIONS).contains(&t) {
        return Err(Error::invalid(format!(
            "{at}: occasions = {t}: expected {min} to {MAX_SIM_OCCASIONS}"
        )));
    }
    Ok(())
}

fn check_unique(names: &[&str], at: &str) -> Result<()> {
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(Error::invalid(format!(
                "{at}: stratum name `{n}` used twice"
            )));
        }
    }
    Ok(())
}

impl Scenario {
    /// Checks every setting of the scenario.
    ///
    /// # Errors
    /// [`Error::InvalidData`] naming the scenario, stratum and field.
    pub fn validate(&self) -> Result<()> {
        let sc = format!("scenario `{}`", self.name);
        match &self.model {
            Model::Closed(c) => {
                check_occasions(c.occasions, 1, &sc)?;
                if c.strata.is_empty() {
                    return Err(Error::invalid(format!("{sc}: no strata")));
                }
                check_unique(
                    &c.strata.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
                    &sc,
                )?;
                for s in &c.strata {
                    let at = format!("{sc}, stratum `{}`", s.name);
                    check_n(s.n, &at)?;
                    for (j, p) in
                        s.p.expand(c.occasions, &format!("{at}: p"))?
                            .iter()
                            .enumerate()
                    {
                        check_prob(*p, &format!("{at}: p[{}]", j + 1))?;
                    }
                    s.heterogeneity.validate(&at)?;
                    if let Some(b) = &s.behaviour {
                        check_finite(b.logit_shift, &format!("{at}: behaviour.logit_shift"))?;
                    }
                }
                for d in &c.dependence {
                    let [a, b] = d.lists;
                    if a == b || a == 0 || b == 0 || a > c.occasions || b > c.occasions {
                        return Err(Error::invalid(format!(
                            "{sc}: dependence lists [{a}, {b}]: expected two different lists in 1..={}",
                            c.occasions
                        )));
                    }
                    check_finite(
                        d.log_odds_ratio,
                        &format!("{sc}: dependence.log_odds_ratio"),
                    )?;
                }
                if !c.dependence.is_empty() && c.generation == Generation::Unit {
                    return Err(Error::invalid(format!(
                        "{sc}: list dependence needs the aggregated generator (generation = \"aggregated\" or \"auto\")"
                    )));
                }
                if c.output == Output::Lists && c.occasions < 2 {
                    return Err(Error::invalid(format!(
                        "{sc}: a list table needs at least 2 lists"
                    )));
                }
                Ok(())
            }
            Model::Open(o) => {
                check_occasions(o.occasions, 2, &sc)?;
                if o.strata.is_empty() {
                    return Err(Error::invalid(format!("{sc}: no strata")));
                }
                check_unique(
                    &o.strata.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
                    &sc,
                )?;
                let t = o.occasions;
                for s in &o.strata {
                    let at = format!("{sc}, stratum `{}`", s.name);
                    check_n(s.initial, &at)?;
                    for (j, p) in s.p.expand(t, &format!("{at}: p"))?.iter().enumerate() {
                        check_prob(*p, &format!("{at}: p[{}]", j + 1))?;
                    }
                    for (j, e) in s
                        .entries
                        .expand(t - 1, &format!("{at}: entries"))?
                        .iter()
                        .enumerate()
                    {
                        if !(*e >= 0.0 && *e <= MAX_SIM_N as f64) {
                            return Err(Error::invalid(format!(
                                "{at}: entries[{}] = {e}: expected a mean number of entrants in [0, {MAX_SIM_N}]",
                                j + 1
                            )));
                        }
                    }
                    for (j, f) in s
                        .survival
                        .expand(t - 1, &format!("{at}: survival"))?
                        .iter()
                        .enumerate()
                    {
                        check_prob(*f, &format!("{at}: survival[{}]", j + 1))?;
                    }
                    s.heterogeneity.validate(&at)?;
                    if let Some(b) = &s.behaviour {
                        check_finite(b.logit_shift, &format!("{at}: behaviour.logit_shift"))?;
                    }
                }
                Ok(())
            }
            Model::Covariates(c) => c.check().map_err(|e| Error::invalid(format!("{sc}: {e}"))),
            Model::Counts(c) => {
                if c.strata.is_empty() {
                    return Err(Error::invalid(format!("{sc}: no strata")));
                }
                check_unique(
                    &c.strata.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
                    &sc,
                )?;
                let with_cov = c.strata.iter().filter(|s| s.covariate.is_some()).count();
                if with_cov != 0 && with_cov != c.strata.len() {
                    return Err(Error::invalid(format!(
                        "{sc}: either every stratum has a covariate or none has"
                    )));
                }
                for s in &c.strata {
                    let at = format!("{sc}, stratum `{}`", s.name);
                    check_n(s.n, &at)?;
                    match &s.dist {
                        CountDist::Poisson { lambda } => check_lambda(*lambda, &at)?,
                        CountDist::PoissonGamma { mean, shape } => {
                            check_lambda(*mean, &at)?;
                            check_pos(*shape, &format!("{at}: shape"))?;
                        }
                        CountDist::OneInflated { lambda, omega } => {
                            check_lambda(*lambda, &at)?;
                            check_prob(*omega, &format!("{at}: omega"))?;
                        }
                    }
                    if let Some(cv) = &s.covariate {
                        check_finite(cv.coef, &format!("{at}: covariate.coef"))?;
                        cv.covariate.validate(&at)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Names of the strata.
    pub fn stratum_names(&self) -> Vec<String> {
        match &self.model {
            Model::Closed(c) => c.strata.iter().map(|s| s.name.clone()).collect(),
            Model::Open(o) => o.strata.iter().map(|s| s.name.clone()).collect(),
            Model::Counts(c) => c.strata.iter().map(|s| s.name.clone()).collect(),
            Model::Covariates(_) => vec![default_stratum()],
        }
    }
}

fn check_lambda(l: f64, at: &str) -> Result<()> {
    if !(l > 0.0 && l <= 1e4) {
        return Err(Error::invalid(format!(
            "{at}: mean count = {l}: expected a number in (0, 10000]"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let s = Study::from_json(
            r#"{"name": "x", "replicates": 10, "scenarios": [
                {"name": "m0", "model": {"kind": "closed", "occasions": 3,
                  "strata": [{"n": 100, "p": 0.2}]}},
                {"name": "mh", "model": {"kind": "closed", "occasions": 3,
                  "strata": [{"n": 100, "p": [0.1, 0.2, 0.3],
                              "heterogeneity": {"kind": "logit_normal", "sd": 1.0},
                              "behaviour": {"logit_shift": -1.0}}]}},
                {"name": "c", "model": {"kind": "counts",
                  "strata": [{"n": 100, "dist": {"kind": "poisson", "lambda": 0.5}}]}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(s.scenarios.len(), 3);
        assert_eq!(s.seed, DEFAULT_SEED);
        let bad = r#"{"name": "x", "scenarios": [{"name": "bad", "model": {"kind": "closed",
            "occasions": 3, "strata": [{"name": "buyers", "n": 100, "p": [0.1, 1.2, 0.3]}]}}]}"#;
        let e = Study::from_json(bad).unwrap_err().to_string();
        assert!(e.contains("buyers") && e.contains("p[2]"), "{e}");
        let bad = r#"{"name": "x", "scenarios": [{"name": "t", "model": {"kind": "closed",
            "occasions": 21, "strata": [{"n": 100, "p": 0.1}]}}]}"#;
        assert!(
            Study::from_json(bad)
                .unwrap_err()
                .to_string()
                .contains("occasions = 21")
        );
    }
}
