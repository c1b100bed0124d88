//! The estimator abstraction of the Monte-Carlo runner and its built-in implementations.
//!
//! Anything that turns [`SimData`] into labelled estimates implements [`SimEstimator`];
//! estimators that do not apply to a data type (Chapman on five occasions, a capture
//! model on counts) return an empty list and are simply not reported for that scenario.
//! [`HistoriesFn`] and [`DataFn`] register closures, so estimator families from other
//! modules plug in without new types.

use super::generate::SimData;
use crate::bayes;
use crate::closed::{self, ClosedModel, ClosedSettings};
use crate::counts;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::Estimate;
use crate::model_table::ModelTable;
use crate::sparse;
use crate::two_source::{self, TwoSample};

/// An estimator (or a family of estimators) run on every simulated data set.
pub trait SimEstimator: Send + Sync {
    /// Name of the estimator family (used for failures that cannot be attributed to one
    /// model).
    fn name(&self) -> String;

    /// Estimates from one data set: one row per model (its label, then the estimate or
    /// why there is none); an empty table when the estimator does not apply to this kind
    /// of data.
    fn estimate(&self, data: &SimData) -> ModelTable<Estimate>;
}

/// A table of one row.
fn single(label: String, r: Result<Estimate>) -> ModelTable<Estimate> {
    let mut t = ModelTable::new();
    t.push(label, r);
    t
}

/// Names accepted by [`builtin_estimators`]; besides these, `closedp:<models>` selects
/// closed log-linear models ([`ClosedLogLinear::from_spec`], e.g.
/// `closedp:M0*,Mt*,Mh Chao*,Mb,Mth Chao`, `*` = profile interval).
pub const BUILTIN_ESTIMATORS: &[&str] = &[
    "lincoln-petersen",
    "chapman",
    "bailey",
    "schnabel",
    "schumacher-eschmeyer",
    "chao-lb",
    "chao-bc",
    "zelterman",
    "closedp",
    "closedp-profile",
    "mtb",
    "mtbh-normal",
    "sparse-stepwise",
    "recommended",
    "lcmcr",
    "dga",
    "huggins",
];

pub use super::scenario::DEFAULT_ESTIMATORS;

/// Which two-source estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoSourceKind {
    /// [`two_source::lincoln_petersen`].
    LincolnPetersen,
    /// [`two_source::chapman`].
    Chapman,
    /// [`two_source::bailey`].
    Bailey,
}

/// Lincoln-Petersen, Chapman or Bailey on two-occasion histories or two-list tables.
#[derive(Debug, Clone, Copy)]
pub struct TwoSource {
    /// Which estimator.
    pub kind: TwoSourceKind,
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for TwoSource {
    fn name(&self) -> String {
        match self.kind {
            TwoSourceKind::LincolnPetersen => "Lincoln-Petersen",
            TwoSourceKind::Chapman => "Chapman",
            TwoSourceKind::Bailey => "Bailey",
        }
        .into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let Some(h) = data.histories() else {
            return ModelTable::new();
        };
        if h.occasions() != 2 {
            return ModelTable::new();
        }
        let r = TwoSample::from_histories(&h).and_then(|s| match self.kind {
            TwoSourceKind::LincolnPetersen => two_source::lincoln_petersen(&s, self.level),
            TwoSourceKind::Chapman => two_source::chapman(&s, self.level),
            TwoSourceKind::Bailey => two_source::bailey(&s, self.level),
        });
        single(self.name(), r)
    }
}

/// Which multi-occasion ratio estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatioKind {
    /// [`two_source::schnabel`].
    Schnabel,
    /// [`two_source::schumacher_eschmeyer`].
    SchumacherEschmeyer,
}

/// Schnabel or Schumacher-Eschmeyer on histories with t ≥ 3.
#[derive(Debug, Clone, Copy)]
pub struct Ratio {
    /// Which estimator.
    pub kind: RatioKind,
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for Ratio {
    fn name(&self) -> String {
        match self.kind {
            RatioKind::Schnabel => "Schnabel",
            RatioKind::SchumacherEschmeyer => "Schumacher-Eschmeyer",
        }
        .into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let Some(h) = data.histories() else {
            return ModelTable::new();
        };
        if h.occasions() < 3 {
            return ModelTable::new();
        }
        let r = match self.kind {
            RatioKind::Schnabel => two_source::schnabel(&h, self.level),
            RatioKind::SchumacherEschmeyer => two_source::schumacher_eschmeyer(&h, self.level),
        };
        single(self.name(), r)
    }
}

/// Which frequency-of-capture estimator ([`Frequency`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrequencyKind {
    /// [`counts::chao_lower_bound`] (label `Chao LB`).
    ChaoLowerBound,
    /// [`counts::chao_bias_corrected`] (label `Chao BC`).
    ChaoBiasCorrected,
    /// [`counts::zelterman`] (label `Zelterman`).
    Zelterman,
}

/// Chao's lower bound, its bias-corrected form or Zelterman's estimator, from the
/// frequencies f_k of units seen k times: single-source counts as they are, capture
/// histories and list tables through [`CaptureHistories::capture_counts`].
///
/// ```text
/// Chao LB    N̂ = n + f1² / (2 f2)
/// Chao BC    N̂ = n + f1 (f1 − 1) / (2 (f2 + 1))
/// Zelterman  N̂ = n / (1 − exp(−2 f2 / f1))
/// ```
/// These are the counts module's estimators unchanged. On t capture occasions under M0
/// the f1²/(2f2) term estimates the dark figure times t/(t − 1) (the count-data form
/// assumes Poisson counts); the log-linear `Mh Chao (LB)` of [`ClosedLogLinear`] is the
/// t-occasion version.
///
/// # References
/// Chao, A. (1987) *Biometrics* 43, 783-791; Zelterman, D. (1988) *J. Statist. Plann.
/// Inference* 18, 225-237; singleRcapture `chao()`, `zelterman()`.
#[derive(Debug, Clone, Copy)]
pub struct Frequency {
    /// Which estimator.
    pub kind: FrequencyKind,
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for Frequency {
    fn name(&self) -> String {
        match self.kind {
            FrequencyKind::ChaoLowerBound => "Chao LB",
            FrequencyKind::ChaoBiasCorrected => "Chao BC",
            FrequencyKind::Zelterman => "Zelterman",
        }
        .into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let converted;
        let counts = match data {
            SimData::Counts(c) => c,
            _ => {
                let Some(h) = data.histories() else {
                    return ModelTable::new();
                };
                if h.occasions() < 2 {
                    return ModelTable::new();
                }
                match h.capture_counts() {
                    Ok(c) => {
                        converted = c;
                        &converted
                    }
                    Err(e) => return single(self.name(), Err(e)),
                }
            }
        };
        let r = match self.kind {
            FrequencyKind::ChaoLowerBound => counts::chao_lower_bound(counts, self.level),
            FrequencyKind::ChaoBiasCorrected => counts::chao_bias_corrected(counts, self.level),
            FrequencyKind::Zelterman => counts::zelterman(counts, self.level),
        };
        single(self.name(), r)
    }
}

/// One closed log-linear model of [`ClosedLogLinear`] and whether it gets a profile
/// interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosedChoice {
    /// The model.
    pub model: ClosedModel,
    /// Profile-likelihood interval (`closedpCI.t`); otherwise the log-normal interval of
    /// `closedp.t`. Ignored for Mb and Mbh, which have no profile interval in Rcapture.
    pub profile: bool,
}

/// The models of `Rcapture::closedp.t` whose profile intervals the speed target of the
/// simulation issue asks for: M0, Mt and Mh Chao (LB).
pub const DEFAULT_PROFILE_MODELS: &[&str] = &["M0", "Mt", "Mh Chao (LB)"];

/// Closed-population log-linear models ([`crate::closed`]): on capture histories and
/// list tables the `closedp.t` models ([`closed::fit_standard`]), on single-source counts
/// the `closedp.0` models in continuous time ([`closed::fit_zero`] with t = ∞: M0 and
/// the Mh models of the selection). Each estimate is labelled as Rcapture prints it
/// (`M0`, `Mt`, `Mh Chao (LB)`, `Mth Poisson2`, `Mb`, ...); models that need more
/// occasions than the data have are not reported.
///
/// ```text
/// E[y_ω] = exp(β₀ + x_ωᵀβ),  N̂ = n + exp(β̂₀)      (see crate::closed)
/// ```
/// Profile-likelihood intervals cost several refits each, so they are computed only for
/// the models chosen ([`ClosedChoice::profile`]); the others get the log-normal interval.
///
/// # References
/// `Rcapture::closedp.t`, `Rcapture::closedpCI.t`, `Rcapture::closedp.0`; Baillargeon,
/// S. & Rivest, L.-P. (2007) *J. Stat. Software* 19(5).
#[derive(Debug, Clone)]
pub struct ClosedLogLinear {
    /// Models to fit, in order.
    pub models: Vec<ClosedChoice>,
    /// Settings (the `profile` flag is taken per model from `models`).
    pub settings: ClosedSettings,
}

impl ClosedLogLinear {
    /// The 12 `closedp.t` models, with profile intervals for the models named in
    /// `profile` (labels as [`parse_closed_model`] reads them).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown model name.
    pub fn closedp(profile: &[&str], level: f64) -> Result<Self> {
        let prof = profile
            .iter()
            .map(|s| parse_closed_model(s))
            .collect::<Result<Vec<_>>>()?;
        Ok(ClosedLogLinear {
            models: ClosedModel::closedp_t_models()
                .into_iter()
                .map(|m| ClosedChoice {
                    model: m,
                    profile: prof.contains(&m),
                })
                .collect(),
            settings: ClosedSettings {
                level,
                ..ClosedSettings::default()
            },
        })
    }

    /// A selection from a specification such as `M0*, Mt*, Mh Chao*, Mb, Mth Chao`:
    /// comma-separated model names ([`parse_closed_model`]), a trailing `*` asking for
    /// the profile interval.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty list or an unknown model name.
    pub fn from_spec(spec: &str, level: f64) -> Result<Self> {
        let models = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (name, profile) = match s.strip_suffix('*') {
                    Some(n) => (n, true),
                    None => (s, false),
                };
                Ok(ClosedChoice {
                    model: parse_closed_model(name)?,
                    profile,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if models.is_empty() {
            return Err(Error::param(
                "estimators",
                spec,
                "closedp: followed by model names, e.g. closedp:M0*,Mt*,Mh Chao*,Mb",
            ));
        }
        Ok(ClosedLogLinear {
            models,
            settings: ClosedSettings {
                level,
                ..ClosedSettings::default()
            },
        })
    }

    fn settings_for(&self, profile: bool) -> ClosedSettings {
        ClosedSettings {
            profile,
            ..self.settings.clone()
        }
    }
}

/// Reads a closed model name: `M0`, `Mt`, `Mb`, `Mbh`, or `Mh`/`Mth` followed by a
/// heterogeneity form as Rcapture labels it or as [`closed::Heterogeneity::parse`] reads
/// it (`Mh Chao (LB)`, `Mh Chao`, `Mth Poisson2`, `Mh poisson:3`, `Mth Gamma3.5`,
/// `Mh Darroch`); case-insensitive.
///
/// # Errors
/// [`Error::InvalidParameter`] for another name.
pub fn parse_closed_model(name: &str) -> Result<ClosedModel> {
    let bad = || {
        Error::param(
            "model",
            name,
            "M0, Mt, Mb, Mbh, or Mh/Mth with Chao (LB), Poisson2, Darroch or Gamma3.5",
        )
    };
    let lower = name.trim().to_ascii_lowercase();
    let (head, rest) = match lower.split_once(char::is_whitespace) {
        Some((h, r)) => (h.to_string(), r.trim().to_string()),
        None => (lower.clone(), String::new()),
    };
    let het = |r: &str| -> Result<closed::Heterogeneity> {
        let r = r.trim_end_matches("(lb)").trim();
        // Rcapture's labels glue θ to the name: Poisson2, Gamma3.5
        let split = r
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .filter(|&i| i > 0 && !r.contains(':'));
        let r = match split {
            Some(i) => format!("{}:{}", &r[..i], &r[i..]),
            None => r.to_string(),
        };
        closed::Heterogeneity::parse(&r).map_err(|_| bad())
    };
    match (head.as_str(), rest.is_empty()) {
        ("m0", true) => Ok(ClosedModel::M0),
        ("mt", true) => Ok(ClosedModel::Mt),
        ("mb", true) => Ok(ClosedModel::Mb),
        ("mbh", true) => Ok(ClosedModel::Mbh),
        ("mh", false) => Ok(ClosedModel::Mh(het(&rest)?)),
        ("mth", false) => Ok(ClosedModel::Mth(het(&rest)?)),
        _ => Err(bad()),
    }
}

impl SimEstimator for ClosedLogLinear {
    fn name(&self) -> String {
        "closedp".into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        if let SimData::Counts(c) = data {
            let f_k = c.frequency_table();
            let t0 = f_k.len();
            return self
                .models
                .iter()
                .filter_map(|ch| match ch.model {
                    ClosedModel::M0 => Some((None, ch)),
                    ClosedModel::Mh(h) if t0 >= 3 => Some((Some(h), ch)),
                    _ => None,
                })
                .map(|(h, ch)| {
                    let r = closed::fit_zero(&f_k, None, None, h, &self.settings_for(ch.profile))
                        .map(|e| e.estimate);
                    (ch.model.label(), r)
                })
                .collect();
        }
        let Some(h) = data.histories() else {
            return ModelTable::new();
        };
        let t = h.occasions();
        self.models
            .iter()
            .filter(|ch| t >= ch.model.min_occasions())
            .map(|ch| {
                let r = closed::fit_standard(&h, ch.model, &self.settings_for(ch.profile))
                    .map(|e| e.estimate);
                (ch.model.label(), r)
            })
            .collect()
    }
}

/// Model Mtb (`Rcapture::closedp.Mtb`, [`closed::closedp_mtb`]) on histories and list
/// tables with t ≥ 3 (label `Mtb`).
#[derive(Debug, Clone, Copy)]
pub struct Mtb {
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for Mtb {
    fn name(&self) -> String {
        "Mtb".into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let Some(h) = data.histories() else {
            return ModelTable::new();
        };
        if h.occasions() < 3 {
            return ModelTable::new();
        }
        single(
            self.name(),
            closed::closedp_mtb(&h, self.level).map(|f| f.estimate),
        )
    }
}

/// Mtbh Normal ([`crate::huggins::closedp_mtbh_normal`]): time, a behavioural response
/// and logit-normal heterogeneity, on histories over 3 to 20 occasions.
#[derive(Debug, Clone, Copy)]
pub struct MtbhNormal {
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for MtbhNormal {
    fn name(&self) -> String {
        "Mtbh Normal".into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let Some(h) = data.histories() else {
            return ModelTable::new();
        };
        if !(3..=20).contains(&h.occasions()) {
            return ModelTable::new();
        }
        single(
            self.name(),
            crate::huggins::closedp_mtbh_normal(&h, self.level).map(|f| f.estimate),
        )
    }
}

/// SparseMSE's stepwise model selection ([`sparse::stepwise`]) on list tables only
/// (label `Stepwise (SparseMSE)`), with the default threshold 0.02.
///
/// # References
/// `SparseMSE::estimatepopulation.0(method = "stepwise")`; Chan, Silverman & Vincent
/// (2021).
#[derive(Debug, Clone, Copy)]
pub struct SparseStepwise {
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for SparseStepwise {
    fn name(&self) -> String {
        "Stepwise (SparseMSE)".into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let SimData::Lists(l) = data else {
            return ModelTable::new();
        };
        let params = sparse::StepwiseParams {
            level: self.level,
            ..Default::default()
        };
        single(
            self.name(),
            sparse::stepwise(l, &params).map(|f| f.estimate),
        )
    }
}

/// The headline of [`crate::recommend`] (label `recommended`): the figure the `estimate`
/// command would tell an analyst to cite, made by the same analysis (histories as
/// occasions, list tables as lists, counts as counts; with strata, the total; histories
/// with covariates with all their covariates, as `estimate --covariates`, so the
/// headline is the Huggins family's). Only the estimators the headline rests on are run.
#[derive(Debug, Clone, Copy)]
pub struct Recommended {
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for Recommended {
    fn name(&self) -> String {
        "recommended".into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        use crate::data::DataSet;
        use crate::data::csv_io::Layout;
        if let SimData::Covariates(d) = data {
            // With covariates, the analyst runs `estimate --covariates` on every one.
            let names: Vec<String> = d.covariates().iter().map(|c| c.name.clone()).collect();
            let opts = crate::report::AnalysisOptions {
                level: self.level,
                headline_only: true,
                ..Default::default()
            };
            let r = crate::report::analyse_with_covariates(d, &names, &opts).and_then(|rep| {
                rep.headline
                    .last()
                    .ok_or_else(|| Error::no_estimate("the analysis produced no headline"))?
                    .to_estimate()
            });
            return single(self.name(), r);
        }
        let set = match data {
            SimData::Histories(h) => DataSet::Histories {
                data: h.clone(),
                layout: Layout::Aggregated,
                occasion_order: None,
                notes: Vec::new(),
                file_rows: None,
            },
            SimData::Lists(l) => match l.to_histories() {
                Ok(h) => DataSet::Histories {
                    data: h.with_lists(true),
                    layout: Layout::Aggregated,
                    occasion_order: None,
                    notes: Vec::new(),
                    file_rows: None,
                },
                Err(e) => return single(self.name(), Err(e)),
            },
            SimData::Counts(c) => DataSet::Counts {
                data: c.clone(),
                count_column: "count".into(),
            },
            SimData::Covariates(_) => unreachable!("handled above"),
        };
        let opts = crate::report::AnalysisOptions {
            level: self.level,
            headline_only: true,
            ..Default::default()
        };
        let r = crate::report::analyse(&set, &opts).and_then(|rep| {
            let h = rep
                .headline
                .last()
                .ok_or_else(|| Error::no_estimate("the analysis produced no headline"))?;
            h.to_estimate()
        });
        single(self.name(), r)
    }
}

/// The Huggins conditional-likelihood models ([`crate::huggins`]): M0, Mt, Mb and Mtb,
/// each without the covariates and, on data with covariates ([`SimData::Covariates`]),
/// with all of them (labels `Huggins M0`, `Huggins M0 + repeat`, ...). On histories
/// without covariates, the four models without.
///
/// ```text
/// logit p_ij = α_j + x_iᵀγ  (+ b after the first capture),   N̂ = Σ_i 1 / (1 − Π_j (1 − p̂_ij))
/// ```
///
/// # References
/// Huggins (1989); R: `VGAM::posbernoulli.t`, `posbernoulli.b`, `posbernoulli.tb`.
#[derive(Debug, Clone, Copy)]
pub struct HugginsModels {
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for HugginsModels {
    fn name(&self) -> String {
        "huggins".into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let owned;
        let (d, names): (&crate::data::CovariateHistories, Vec<String>) = match data {
            SimData::Covariates(d) => (d, d.covariates().iter().map(|c| c.name.clone()).collect()),
            _ => {
                let Some(h) = data.histories() else {
                    return ModelTable::new();
                };
                owned = crate::data::CovariateHistories::new(h.into_owned());
                (&owned, Vec::new())
            }
        };
        let Ok(section) = crate::report::huggins::report_section(d, &names, None, self.level)
        else {
            return ModelTable::new();
        };
        section
            .rows
            .into_iter()
            .map(|r| (r.estimate.model.clone(), Ok(r.estimate)))
            .chain(
                section
                    .failures
                    .into_iter()
                    .map(|f| (f.model, Err(Error::no_estimate(f.reason)))),
            )
            .collect()
    }
}

/// The table of a list scenario, or of closed capture histories (2 to 20 occasions).
fn list_table(data: &SimData) -> Option<Result<crate::data::ListTable>> {
    match data {
        SimData::Lists(l) => Some(Ok(l.clone())),
        SimData::Histories(h) if (2..=20).contains(&h.occasions()) => {
            Some(crate::data::ListTable::from_histories(h))
        }
        _ => None,
    }
}

/// The latent-class model ([`bayes::lcmcr()`]) on list tables or closed histories, label
/// `LCMCR (K = k)`. The seed of each data set is mixed from `params.seed` and the table's
/// counts, so a replicate's draws depend only on its data (never on the thread).
///
/// Simulation settings (default, [`Lcmcr::new`]): K = 10, burn-in 2,000, 1,000 draws
/// thinned by 2 in each of 2 chains — shorter than LCMCR's documentation example, so a
/// study of hundreds of replicates runs in seconds; runs that do not mix are flagged.
///
/// # References
/// `LCMCR::lcmCR` + `lcmCR_PostSampl`; Manrique-Vallier (2016).
#[derive(Debug, Clone, Copy)]
pub struct Lcmcr {
    /// Sampler settings (`seed` is the base mixed with each table's counts).
    pub params: bayes::LcmcrParams,
}

impl Lcmcr {
    /// The simulation settings at credible level `level`.
    pub fn new(level: f64) -> Self {
        Lcmcr {
            params: bayes::LcmcrParams {
                k: 10,
                burnin: 2_000,
                samples: 500,
                thinning: 2,
                chains: 2,
                seed: 0x1c3c,
                level,
                ..Default::default()
            },
        }
    }
}

impl SimEstimator for Lcmcr {
    fn name(&self) -> String {
        format!("LCMCR (K = {})", self.params.k)
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let Some(t) = list_table(data) else {
            return ModelTable::new();
        };
        let r = t.and_then(|t| {
            let seed = crate::rng::mix(self.params.seed, t.counts());
            let p = bayes::LcmcrParams {
                seed,
                ..self.params
            };
            bayes::lcmcr(&t, &p).map(|f| f.estimate)
        });
        single(self.name(), r)
    }
}

/// Model averaging over decomposable graphs ([`bayes::bma`]) on list tables or closed
/// histories with 2 to 6 lists (automatic grid, δ = 2^−p, 1/N prior), label `dga BMA`.
///
/// # References
/// `dga::bma.cr`; Madigan & York (1997).
#[derive(Debug, Clone, Copy)]
pub struct Dga {
    /// Credible level.
    pub level: f64,
}

impl SimEstimator for Dga {
    fn name(&self) -> String {
        "dga BMA".into()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let Some(t) = list_table(data) else {
            return ModelTable::new();
        };
        let r = t.and_then(|t| {
            if t.n_lists() > 6 {
                return Err(Error::param(
                    "lists",
                    t.n_lists(),
                    "at most 6 for dga model averaging in a simulation",
                ));
            }
            let p = bayes::DgaParams {
                level: self.level,
                ..Default::default()
            };
            bayes::bma(&t, None, &p).map(|f| f.estimate)
        });
        single(self.name(), r)
    }
}

/// Adapter: any `Fn(&CaptureHistories) -> Result<Vec<Estimate>>` as a [`SimEstimator`].
/// Each estimate is labelled with its `model`; an error is reported under the adapter's
/// name (the replicate then counts as failed for every model of the family). Data that
/// are not histories (or list tables) are skipped.
///
/// # Examples
/// ```
/// use darkfigure::sim::{self, HistoriesFn, RunOptions, SimEstimator, Study};
/// use darkfigure::two_source::schnabel;
/// let study = Study::from_json(r#"{"name": "plug-in", "replicates": 100, "seed": 7,
///   "scenarios": [{"name": "M0", "model": {"kind": "closed", "occasions": 5,
///                  "strata": [{"n": 2000, "p": 0.2}]}}]}"#)?;
/// let est: Vec<Box<dyn SimEstimator>> =
///     vec![Box::new(HistoriesFn::new("schnabel", |h| Ok(vec![schnabel(h, 0.95)?])))];
/// let table = sim::run(&study, &est, &RunOptions::default())?.metrics();
/// let row = &table.rows[0];
/// assert_eq!((row.estimator.as_str(), row.estimates), ("Schnabel", 100));
/// assert!(row.rel_bias.abs() < 0.02);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub struct HistoriesFn<F> {
    name: String,
    f: F,
}

impl<F> HistoriesFn<F>
where
    F: Fn(&CaptureHistories) -> Result<Vec<Estimate>> + Send + Sync,
{
    /// Wraps `f` under `name`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        HistoriesFn {
            name: name.into(),
            f,
        }
    }
}

impl<F> SimEstimator for HistoriesFn<F>
where
    F: Fn(&CaptureHistories) -> Result<Vec<Estimate>> + Send + Sync,
{
    fn name(&self) -> String {
        self.name.clone()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        let Some(h) = data.histories() else {
            return ModelTable::new();
        };
        match (self.f)(&h) {
            Ok(v) => v.into_iter().map(|e| (e.model.clone(), Ok(e))).collect(),
            Err(e) => single(self.name.clone(), Err(e)),
        }
    }
}

/// Adapter: any `Fn(&SimData) -> T` as a [`SimEstimator`], where `T` is a
/// [`ModelTable<Estimate>`] or anything that converts into one (such as a
/// `Vec<(String, Result<Estimate>)>` of labelled results).
pub struct DataFn<F> {
    name: String,
    f: F,
}

impl<F, T> DataFn<F>
where
    F: Fn(&SimData) -> T + Send + Sync,
    T: Into<ModelTable<Estimate>>,
{
    /// Wraps `f` under `name`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        DataFn {
            name: name.into(),
            f,
        }
    }
}

impl<F, T> SimEstimator for DataFn<F>
where
    F: Fn(&SimData) -> T + Send + Sync,
    T: Into<ModelTable<Estimate>>,
{
    fn name(&self) -> String {
        self.name.clone()
    }

    fn estimate(&self, data: &SimData) -> ModelTable<Estimate> {
        (self.f)(data).into()
    }
}

/// The built-in estimators by name ([`BUILTIN_ESTIMATORS`]), at confidence `level`.
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name.
pub fn builtin_estimators(names: &[String], level: f64) -> Result<Vec<Box<dyn SimEstimator>>> {
    names
        .iter()
        .map(|n| -> Result<Box<dyn SimEstimator>> {
            Ok(match n.as_str() {
                "lincoln-petersen" => Box::new(TwoSource {
                    kind: TwoSourceKind::LincolnPetersen,
                    level,
                }),
                "chapman" => Box::new(TwoSource {
                    kind: TwoSourceKind::Chapman,
                    level,
                }),
                "bailey" => Box::new(TwoSource {
                    kind: TwoSourceKind::Bailey,
                    level,
                }),
                "schnabel" => Box::new(Ratio {
                    kind: RatioKind::Schnabel,
                    level,
                }),
                "schumacher-eschmeyer" => Box::new(Ratio {
                    kind: RatioKind::SchumacherEschmeyer,
                    level,
                }),
                "chao-lb" | "chao" => Box::new(Frequency {
                    kind: FrequencyKind::ChaoLowerBound,
                    level,
                }),
                "chao-bc" => Box::new(Frequency {
                    kind: FrequencyKind::ChaoBiasCorrected,
                    level,
                }),
                "zelterman" => Box::new(Frequency {
                    kind: FrequencyKind::Zelterman,
                    level,
                }),
                "closedp" => Box::new(ClosedLogLinear::closedp(DEFAULT_PROFILE_MODELS, level)?),
                "closedp-profile" => Box::new(ClosedLogLinear::closedp(
                    &[
                        "M0",
                        "Mt",
                        "Mh Chao",
                        "Mh Poisson2",
                        "Mh Darroch",
                        "Mh Gamma3.5",
                        "Mth Chao",
                        "Mth Poisson2",
                        "Mth Darroch",
                        "Mth Gamma3.5",
                    ],
                    level,
                )?),
                "mtb" => Box::new(Mtb { level }),
                "mtbh-normal" => Box::new(MtbhNormal { level }),
                "sparse-stepwise" => Box::new(SparseStepwise { level }),
                "recommended" => Box::new(Recommended { level }),
                "lcmcr" => Box::new(Lcmcr::new(level)),
                "dga" => Box::new(Dga { level }),
                "huggins" => Box::new(HugginsModels { level }),
                spec if spec.starts_with("closedp:") => Box::new(ClosedLogLinear::from_spec(
                    &spec["closedp:".len()..],
                    level,
                )?),
                other => {
                    return Err(Error::param(
                        "estimators",
                        other,
                        format!(
                            "one of {}, or closedp:<models>",
                            BUILTIN_ESTIMATORS.join(", ")
                        ),
                    ));
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chao_from_counts_and_from_histories_agree() {
        // the Dutch immigrants (literature.md §2.1): 1880 + 1645²/(2·183) = 9273.5
        let c = crate::data::CountData::from_frequency_table(&[
            (1, 1645),
            (2, 183),
            (3, 37),
            (4, 13),
            (5, 1),
            (6, 1),
        ])
        .unwrap();
        let e = Frequency {
            kind: FrequencyKind::ChaoLowerBound,
            level: 0.95,
        };
        let r = e.estimate(&SimData::Counts(c));
        let n = r.fitted("Chao LB").unwrap().n_hat;
        assert!(
            (n - (1880.0 + 1645.0f64.powi(2) / 366.0)).abs() < 1e-9,
            "{n}"
        );
        // histories: f1 = 3, f2 = 2 (codes 1, 2, 4 once; 3, 6 twice), n = 6
        let h = CaptureHistories::from_strings(&[
            ("100", 1),
            ("010", 1),
            ("001", 1),
            ("110", 1),
            ("011", 1),
            ("111", 1),
        ])
        .unwrap();
        let r = e.estimate(&SimData::Histories(h));
        assert_eq!(r.labels().collect::<Vec<_>>(), ["Chao LB"]);
        let n = r.fitted("Chao LB").unwrap().n_hat;
        assert!((n - (6.0 + 9.0 / 4.0)).abs() < 1e-12, "{n}");
    }

    #[test]
    fn closed_model_names_read_rcapture_labels() {
        for m in ClosedModel::closedp_t_models() {
            assert_eq!(parse_closed_model(&m.label()).unwrap(), m, "{}", m.label());
        }
        assert_eq!(
            parse_closed_model("mh chao").unwrap(),
            ClosedModel::Mh(closed::Heterogeneity::Chao)
        );
        assert_eq!(
            parse_closed_model("Mth poisson:3").unwrap(),
            ClosedModel::Mth(closed::Heterogeneity::Poisson(3.0))
        );
        assert!(parse_closed_model("Mx").is_err());
        assert!(parse_closed_model("Mh nothing").is_err());
        let c = ClosedLogLinear::from_spec("M0*, Mt, Mh Chao (LB)*", 0.95).unwrap();
        assert_eq!(
            c.models.iter().map(|m| m.profile).collect::<Vec<_>>(),
            [true, false, true]
        );
        assert!(ClosedLogLinear::from_spec(" , ", 0.95).is_err());
    }

    #[test]
    fn closedp_labels_and_intervals() {
        let h = CaptureHistories::from_strings(&[("11", 167), ("10", 781), ("01", 254)]).unwrap();
        let est = builtin_estimators(&["closedp".into()], 0.95).unwrap();
        let r = est[0].estimate(&SimData::Histories(h));
        // two occasions: only M0, Mt and Mb apply
        let labels: Vec<&str> = r.labels().collect();
        assert_eq!(labels, ["M0", "Mt", "Mb"]);
        let mt = r.fitted("Mt").unwrap();
        assert!((mt.n_hat - 2389.86826347304).abs() < 1e-6); // Rcapture closedp.t
        assert_eq!(
            mt.interval.method,
            crate::estimate::IntervalMethod::ProfileLikelihood
        );
        let mb = r.fitted("Mb").unwrap();
        assert_eq!(
            mb.interval.method,
            crate::estimate::IntervalMethod::LogNormal
        );
    }

    #[test]
    fn unknown_estimator_is_refused() {
        let e = builtin_estimators(&["nope".into()], 0.95).err().unwrap();
        assert!(e.to_string().contains("nope"));
    }
}
