//! The one result type every estimator returns.
//!
//! An [`Estimate`] carries the population size N̂, its standard error, a confidence
//! interval with its method named, the number observed and the dark figure (N̂ − observed,
//! with its own interval), the model label as the R packages print it, the fit statistics
//! where a likelihood exists, typed warnings and the assumptions the method rests on.
//! `Display` prints a short human report; serde gives the JSON used by the `estimate`
//! binary.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// How a confidence interval was computed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IntervalMethod {
    /// N̂ ± z·SE (clipped below at the number observed).
    #[serde(rename = "wald")]
    Wald,
    /// Log-normal interval on the dark figure f0 = N̂ − n (Chao 1987):
    /// `[n + f0/C, n + f0·C]`, `C = exp(z·sqrt(ln(1 + SE²/f0²)))`.
    #[serde(rename = "log-normal")]
    LogNormal,
    /// Inversion of the likelihood-ratio test on a profile likelihood for N.
    #[serde(rename = "profile-likelihood")]
    ProfileLikelihood,
    /// Wald interval on 1/N̂ inverted (Schnabel, Schumacher-Eschmeyer; Seber 1982 §6.2).
    #[serde(rename = "inverse-wald")]
    InverseWald,
    /// Bootstrap percentile interval.
    #[serde(rename = "bootstrap-percentile")]
    BootstrapPercentile,
    /// Bootstrap normal interval (bootstrap SE, centred on N̂).
    #[serde(rename = "bootstrap-normal")]
    BootstrapNormal,
    /// Bootstrap basic (reverse percentile) interval.
    #[serde(rename = "bootstrap-basic")]
    BootstrapBasic,
    /// Bias-corrected and accelerated bootstrap interval (Efron 1987).
    #[serde(rename = "bootstrap-bca")]
    BootstrapBca,
    /// Bayesian credible interval (posterior quantiles).
    #[serde(rename = "credible")]
    Credible,
}

impl IntervalMethod {
    /// The label used in reports and JSON.
    pub fn label(self) -> &'static str {
        match self {
            IntervalMethod::Wald => "wald",
            IntervalMethod::LogNormal => "log-normal",
            IntervalMethod::ProfileLikelihood => "profile-likelihood",
            IntervalMethod::InverseWald => "inverse-wald",
            IntervalMethod::BootstrapPercentile => "bootstrap-percentile",
            IntervalMethod::BootstrapNormal => "bootstrap-normal",
            IntervalMethod::BootstrapBasic => "bootstrap-basic",
            IntervalMethod::BootstrapBca => "bootstrap-bca",
            IntervalMethod::Credible => "credible",
        }
    }
}

impl fmt::Display for IntervalMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A confidence (or credible) interval with its level and the method that made it.
///
/// An upper limit of `f64::INFINITY` means "unbounded above" (the data put no upper limit
/// on N); it is printed as `∞` and written as `null` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower limit.
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_as_nan")]
    pub lower: f64,
    /// Upper limit (`f64::INFINITY` when unbounded).
    #[serde(
        serialize_with = "finite_or_null",
        deserialize_with = "null_as_infinity"
    )]
    pub upper: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// How it was computed.
    pub method: IntervalMethod,
}

impl Interval {
    /// Whether the interval has no finite upper limit.
    pub fn is_unbounded_above(&self) -> bool {
        !self.upper.is_finite()
    }

    /// Whether `x` lies in `[lower, upper]`.
    pub fn contains(&self, x: f64) -> bool {
        x >= self.lower && x <= self.upper
    }

    /// Width `upper − lower` (infinite when unbounded).
    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }

    /// The same interval shifted by `-by` (used to turn an interval for N into one for
    /// the dark figure N − n).
    pub fn shifted(&self, by: f64) -> Interval {
        Interval {
            lower: self.lower - by,
            upper: self.upper - by,
            ..*self
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {}] ({:.0}% {})",
            fmt_num(self.lower),
            fmt_num(self.upper),
            self.level * 100.0,
            self.method
        )
    }
}

/// Fit statistics of a likelihood-based model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitStats {
    /// Deviance (or −2 log-likelihood where no saturated model is defined).
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_as_nan")]
    pub deviance: f64,
    /// Residual degrees of freedom.
    pub df: i64,
    /// Akaike information criterion.
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_as_nan")]
    pub aic: f64,
    /// Bayesian information criterion.
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_as_nan")]
    pub bic: f64,
}

/// A warning attached to an estimate: the estimate exists, but the reader must know this.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// The iterative fit stopped at its iteration limit.
    NotConverged {
        /// Iterations done.
        iterations: usize,
    },
    /// A parameter sits on the boundary of its space (a probability at 0 or 1, a
    /// dispersion running to infinity...).
    Boundary {
        /// Which parameter.
        parameter: String,
    },
    /// The design matrix was not of full rank; these columns were dropped (aliased).
    RankDeficient {
        /// Names of the dropped columns.
        dropped: Vec<String>,
    },
    /// The interval has no finite upper limit.
    UnboundedInterval {
        /// Why.
        reason: String,
    },
    /// The profile-likelihood search for the upper limit hit its ceiling; the printed
    /// upper limit is only a lower bound for the true one.
    IntervalSearchLimit {
        /// The ceiling that was hit.
        limit: f64,
    },
    /// The lower limit was clipped at the number of units observed.
    LowerLimitClipped {
        /// Value it was clipped to.
        observed: f64,
    },
    /// The asymptotic bias of N̂ is large relative to its standard error.
    LargeBias {
        /// Estimated bias.
        bias: f64,
    },
    /// Few recaptures: the estimator is biased and its normal approximation poor.
    FewRecaptures {
        /// Number of recaptures.
        m: u64,
    },
    /// The estimate cannot be printed as a number (negative, below the number seen,
    /// non-finite or absurd N̂, or a fit that ran away); reports print `DEGENERATE`.
    Degenerate {
        /// Why, in words.
        reason: String,
    },
    /// Anything else, in words.
    Other {
        /// The message.
        message: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NotConverged { iterations } => {
                write!(f, "fit did not converge in {iterations} iterations")
            }
            Warning::Boundary { parameter } => {
                write!(f, "parameter `{parameter}` is on the boundary")
            }
            Warning::RankDeficient { dropped } => {
                write!(f, "design not of full rank; dropped {}", dropped.join(", "))
            }
            Warning::UnboundedInterval { reason } => {
                write!(f, "interval unbounded above: {reason}")
            }
            Warning::IntervalSearchLimit { limit } => write!(
                f,
                "upper limit search stopped at {}: the true limit is higher",
                fmt_num(*limit)
            ),
            Warning::LowerLimitClipped { observed } => {
                write!(
                    f,
                    "lower limit clipped at the {} observed",
                    fmt_num(*observed)
                )
            }
            Warning::LargeBias { bias } => {
                write!(f, "asymptotic bias is large ({})", fmt_num(*bias))
            }
            Warning::FewRecaptures { m } => write!(
                f,
                "only {m} recaptures: the estimate is unstable (fewer than 7; Robson & Regier 1964)"
            ),
            Warning::Degenerate { reason } => write!(f, "DEGENERATE: {reason}"),
            Warning::Other { message } => f.write_str(message),
        }
    }
}

/// An assumption an estimate rests on. Reports print them so that a reader can judge
/// whether the data can bear the estimate.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assumption {
    /// No births, deaths, arrivals or departures between the first and last occasion.
    ClosedPopulation,
    /// Every unit has the same capture probability on a given occasion.
    HomogeneousCapture,
    /// Capture probabilities are the same on every occasion.
    ConstantOverTime,
    /// Being caught does not change the chance of being caught again.
    NoBehaviouralResponse,
    /// Captures on different occasions or lists are independent for each unit.
    IndependentSources,
    /// Units are matched without error across occasions (no lost or misread marks).
    PerfectMatching,
    /// Heterogeneity is allowed, in the form the model names.
    ModelledHeterogeneity,
    /// List dependencies are captured by the log-linear terms in the model; the highest
    /// order interaction is zero.
    NoHighestOrderInteraction,
    /// The count distribution (given covariates) is the one named by the model.
    CountDistribution,
    /// Only the units seen once and twice inform the estimate (Chao, Zelterman).
    LowCountsInformative,
    /// Key populations: the benchmark count and the survey share one definition of the
    /// population, area and reference period.
    SameDefinition,
    /// Key populations: respondents report receipt (or their contacts) accurately.
    AccurateReporting,
    /// Key populations: the survey, with its weights, represents the population the
    /// benchmark or the frame counts.
    RepresentativeSurvey,
    /// RDS: recruitment is random among contacts, ties are reciprocal, degrees are
    /// reported accurately.
    RandomRecruitment,
    /// NSUM: respondents' contacts are a random draw from the population, and they know
    /// their contacts' group membership, up to the adjustment factors given.
    RandomMixing,
    /// Triangulation: the biases of the studies are exchangeable draws around the true
    /// size on the log scale.
    ExchangeableStudies,
    /// RDS survey: nobody enters or leaves the population while the survey is in the field.
    ClosedDuringSurvey,
    /// SS-PSE: recruitment acts as successive sampling, without replacement, with
    /// probability proportional to network size (visibility).
    SuccessiveSampling,
    /// SS-PSE: respondents report their network size exactly.
    ExactDegree,
    /// SS-PSE visibility model: the reported network size measures visibility with error,
    /// in the form the model names.
    DegreeWithError,
    /// Two RDS surveys: they recruit independently of each other.
    IndependentSurveys,
    /// Multiplier: being in the benchmark (receiving the object, being registered) does
    /// not change the chance of being in the survey.
    IndependentBenchmark,
}

impl Assumption {
    /// One-line statement of the assumption.
    pub fn describe(self) -> &'static str {
        match self {
            Assumption::ClosedPopulation => {
                "closed population: nobody enters or leaves between occasions"
            }
            Assumption::HomogeneousCapture => {
                "homogeneity: all units share the capture probability of an occasion"
            }
            Assumption::ConstantOverTime => "capture probability is the same on every occasion",
            Assumption::NoBehaviouralResponse => {
                "no behavioural response: a capture does not change later capture chances"
            }
            Assumption::IndependentSources => {
                "independence: occasions or lists capture each unit independently"
            }
            Assumption::PerfectMatching => "records are matched without error across occasions",
            Assumption::ModelledHeterogeneity => "heterogeneity follows the form the model names",
            Assumption::NoHighestOrderInteraction => {
                "list dependence is captured by the model's interaction terms"
            }
            Assumption::CountDistribution => "counts follow the model's distribution",
            Assumption::LowCountsInformative => {
                "the units seen once and twice represent those never seen"
            }
            Assumption::SameDefinition => {
                "benchmark and survey share one population definition, area and period"
            }
            Assumption::AccurateReporting => "respondents report receipt or contacts accurately",
            Assumption::RepresentativeSurvey => {
                "the (weighted) survey represents its population (the frame, or the one the benchmark counts)"
            }
            Assumption::RandomRecruitment => {
                "RDS: random recruitment among contacts, reciprocal ties, accurate degrees"
            }
            Assumption::RandomMixing => {
                "NSUM: contacts are a random draw and their membership is known (up to the adjustments)"
            }
            Assumption::ExchangeableStudies => {
                "study biases are exchangeable around the true size (log scale)"
            }
            Assumption::ClosedDuringSurvey => {
                "closed population: nobody enters or leaves while the survey is in the field"
            }
            Assumption::SuccessiveSampling => {
                "successive sampling: recruitment draws people without replacement, with probability proportional to network size (visibility)"
            }
            Assumption::ExactDegree => "network sizes are reported exactly",
            Assumption::DegreeWithError => {
                "reported network sizes measure visibility with error, in the form the model names"
            }
            Assumption::IndependentSurveys => "the two surveys recruit independently of each other",
            Assumption::IndependentBenchmark => {
                "independence: being in the benchmark (receiving the object, being registered) does not change the chance of being surveyed"
            }
        }
    }
}

impl fmt::Display for Assumption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A population-size estimate with everything a report needs to cite it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimator family (e.g. `two-source`, `closedp.t`, `closedp.0`, `ztpoisson`).
    pub method: String,
    /// The model label, as the R reference packages print it (`Chapman`, `M0`,
    /// `Mh Chao (LB)`...).
    pub model: String,
    /// Estimated population size N̂.
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_as_nan")]
    pub n_hat: f64,
    /// Standard error of N̂.
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_as_nan")]
    pub se: f64,
    /// Confidence interval for N.
    pub interval: Interval,
    /// Number of distinct units observed.
    pub observed: u64,
    /// Dark figure N̂ − observed.
    #[serde(serialize_with = "finite_or_null", deserialize_with = "null_as_nan")]
    pub dark_figure: f64,
    /// Interval for the dark figure (the interval for N shifted by `observed`).
    pub dark_figure_interval: Interval,
    /// Fit statistics, where a likelihood defines them.
    pub fit: Option<FitStats>,
    /// Other intervals computed for the same estimate (e.g. Wald beside log-normal).
    #[serde(default)]
    pub other_intervals: Vec<Interval>,
    /// Warnings the reader must see.
    pub warnings: Vec<Warning>,
    /// Assumptions the method rests on.
    pub assumptions: Vec<Assumption>,
}

impl Estimate {
    /// Builds an estimate and its dark-figure interval from the pieces.
    pub fn new(
        method: impl Into<String>,
        model: impl Into<String>,
        n_hat: f64,
        se: f64,
        interval: Interval,
        observed: u64,
    ) -> Self {
        Estimate {
            method: method.into(),
            model: model.into(),
            n_hat,
            se,
            interval,
            observed,
            dark_figure: n_hat - observed as f64,
            dark_figure_interval: interval.shifted(observed as f64),
            fit: None,
            other_intervals: Vec::new(),
            warnings: Vec::new(),
            assumptions: Vec::new(),
        }
    }

    /// Adds fit statistics.
    pub fn with_fit(mut self, fit: FitStats) -> Self {
        self.fit = Some(fit);
        self
    }

    /// Adds a warning.
    pub fn with_warning(mut self, w: Warning) -> Self {
        self.warnings.push(w);
        self
    }

    /// Sets the assumptions.
    pub fn with_assumptions(mut self, a: &[Assumption]) -> Self {
        self.assumptions = a.to_vec();
        self
    }

    /// Adds an alternative interval.
    pub fn with_other_interval(mut self, i: Interval) -> Self {
        self.other_intervals.push(i);
        self
    }

    /// Raises an N̂ below the number observed to the number observed, with a
    /// [`Warning::Boundary`]: no population is smaller than what was seen.
    pub fn clamp_to_observed(mut self) -> Self {
        let n = self.observed as f64;
        if self.n_hat < n {
            self.warnings.push(Warning::Boundary {
                parameter: format!(
                    "N (estimate {} fell below the {} seen and was set to it)",
                    fmt_num(self.n_hat),
                    self.observed
                ),
            });
            self.n_hat = n;
            self.dark_figure = 0.0;
            for i in std::iter::once(&mut self.interval).chain(self.other_intervals.iter_mut()) {
                i.lower = i.lower.max(n).min(i.upper.max(n));
                i.upper = i.upper.max(n);
            }
            self.dark_figure_interval = self.interval.shifted(n);
        }
        self
    }

    /// Whether the estimate carries any warning.
    pub fn is_flagged(&self) -> bool {
        !self.warnings.is_empty()
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({})", self.model, self.method)?;
        writeln!(f, "  N̂           {}", fmt_num(self.n_hat))?;
        writeln!(f, "  SE           {}", fmt_num(self.se))?;
        writeln!(f, "  interval     {}", self.interval)?;
        for i in &self.other_intervals {
            writeln!(f, "               {i}")?;
        }
        writeln!(f, "  observed     {}", self.observed)?;
        writeln!(
            f,
            "  dark figure  {} [{}, {}]",
            fmt_num(self.dark_figure),
            fmt_num(self.dark_figure_interval.lower),
            fmt_num(self.dark_figure_interval.upper)
        )?;
        if let Some(fit) = &self.fit {
            writeln!(
                f,
                "  fit          deviance {} on {} df, AIC {}, BIC {}",
                fmt_num(fit.deviance),
                fit.df,
                fmt_num(fit.aic),
                fmt_num(fit.bic)
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "  WARNING      {w}")?;
        }
        if !self.assumptions.is_empty() {
            writeln!(f, "  assumes")?;
            for a in &self.assumptions {
                writeln!(f, "    - {a}")?;
            }
        }
        Ok(())
    }
}

/// Formats a number for reports: `∞` for infinity, `NA` for NaN, one decimal for
/// ordinary magnitudes, scientific notation for very large or small ones.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "NA".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "∞".into() } else { "-∞".into() }
    } else if x != 0.0 && (x.abs() >= 1e9 || x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        format!("{x:.1}")
    }
}

/// Serialises a float as a JSON number when finite, as `null` otherwise.
pub(crate) fn finite_or_null<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.is_finite() {
        s.serialize_f64(*x)
    } else {
        s.serialize_none()
    }
}

/// Reads a JSON number, or `null` as NaN (the inverse of [`finite_or_null`]).
pub(crate) fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Reads a JSON number, or `null` as +∞ (an interval's unbounded upper limit).
pub(crate) fn null_as_infinity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}
