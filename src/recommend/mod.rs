//! From every candidate estimate to the figure to cite: the headline.
//!
//! Every analysis produces many estimates (twelve Otis models, hundreds of log-linear
//! models, sixteen count families...). This module turns them into one figure to cite per
//! stratum and for the total, with its interval, the models it rests on, the range over the
//! plausible alternatives, and the checks a reader needs. No R package does this step:
//! Rcapture, SparseMSE and singleRcapture print tables and leave the choice to the user.
//!
//! # The rule
//! 1. **Candidates** are the estimates the analysis produced for one data family:
//!    capture occasions (`closedp.t` models; Mtb, and Mh, Mth, Mbh and Mtbh Normal by
//!    maximum likelihood, [`crate::huggins::closedp_logit_normal`], up to 12 occasions;
//!    `closedp.0` from f_k when t > 20),
//!    unordered lists (the order-independent `closedp.t` models and every hierarchical
//!    log-linear model of `closedpMS.t`), single-source counts (the zero-truncated count
//!    regressions) or open populations (`openp` up and ep, total ever present).
//! 2. **Exclusions** (each named in the candidate table): a non-finite N̂ or SE; N̂ below the
//!    number seen; N̂ above [`ABSURD_FACTOR`] times the number seen; a deviance above
//!    [`ABSURD_DEVIANCE_FACTOR`] times the larger of the number seen and the number of
//!    cells (an IRLS fit that ran away); a fit the estimator itself flags as degenerate,
//!    rank-deficient or not converged; a Normal heterogeneity model with σ̂ at 0 (it is
//!    then its twin without heterogeneity, a candidate already) or an unbounded
//!    behavioural effect b̂; a log-linear model whose MLE does not exist
//!    (SparseMSE's linear-programming test, two-list models); on lists, a model whose
//!    meaning depends on the order of the columns (Mb, Mbh, Mtb, Schnabel,
//!    Schumacher-Eschmeyer, Bailey); and a fit that fails its goodness-of-fit test
//!    at the conventional 5% level (p < [`GOF_FAIL`]) when another candidate passes (p ≥
//!    [`GOF_PASS`]): a weighted candidate only when another weighted one passes, so that a
//!    closed-form alternative that fits never leaves no figure to cite. The test is the
//!    deviance on its residual df for log-linear models and Pearson's χ² on the marginal
//!    frequencies for count models; for sparse tables (more than a fifth of the cells
//!    with fewer than 5 units, or fewer cells than parameters plus 3) the χ² reference is
//!    unreliable and no candidate is excluded on it (the table still shows the p-value).
//! 3. **The figure**: model averaging with information-criterion weights
//!    `w_i ∝ q_i exp(−Δ_i / 2)` over the remaining candidates that share one likelihood
//!    (Buckland, Burnham & Augustin 1997), on the log scale, with the unconditional
//!    standard error on that scale:
//!    ```text
//!    ln N̄ = Σ w_i ln N̂_i,   SE(ln N̄) = Σ w_i sqrt( (SE_i/N̂_i)² + (ln N̂_i − ln N̄)² ),
//!    SE(N̄) = N̄ · SE(ln N̄)
//!    ```
//!    Averaging ln N̂ rather than N̂ keeps a weakly identified model (a behavioural or
//!    heterogeneity model whose N̂ is ten times the others', with an SE to match) from
//!    moving the figure by its size rather than its weight. The factor q_i is 1, except
//!    on capture occasions, where the candidates of one structure g (the Otis model a name
//!    starts with: Mh, Mth, Mbh, Mtbh...) share the weight the best-fitting of them would
//!    carry alone, q_i = max_{j∈g} L_j / Σ_{j∈g} L_j with L_j = exp(−Δ_j / 2): the five
//!    forms of heterogeneity of Mth are one hypothesis about how people are caught, not
//!    five (Burnham & Anderson 2002 on model redundancy), and a structure whose best form
//!    fits better always carries more weight than one whose best form fits worse. In the
//!    built-in simulation (docs/simulation.md) the two together, with the Normal
//!    heterogeneity models among the candidates, raised the coverage of a trap-shy
//!    response from 88% to 95% and of the flagship buyers (time, behaviour and
//!    heterogeneity) from 18% to 79%, and cut the RMSE under Mt by three quarters; the
//!    price is a larger RMSE under pure heterogeneity (275 to 366 for N = 2,000), from
//!    the behaviour-and-heterogeneity models' occasional large N̂.
//!    The interval is log-normal on the dark figure N̄ − n (Chao 1987), so that the lower
//!    limit never falls below the number seen. When one model carries at least 99% of the
//!    weight, its own interval (profile likelihood for the log-linear models) is used.
//!    A lower limit less than one person above the number seen is put at the number seen
//!    ([`whole_people`]): N is a whole number, and a near-census must not get an interval
//!    that leaves out that nobody was missed.
//!    The criterion is AIC (Akaike 1973; Burnham & Anderson 2002) for a small set of
//!    scientifically distinct models (occasions, counts, open models) and BIC (Schwarz
//!    1978) for the large sets of list-interaction models, where AIC is known to favour
//!    over-parameterised models and unstable estimates (Madigan & York 1997; Ball et al.
//!    2002 used BIC-type selection for Kosovo). With two occasions or lists only, the
//!    figure is Chapman's estimator (Seber 1982, §3.1.1).
//! 4. **Sensitivity**: the range of N̂ and of the interval limits over the *plausible*
//!    candidates: those not excluded with Δ ≤ [`PLAUSIBLE_DELTA`] on the criterion, plus the
//!    closed-form alternatives of the same family that are not excluded (Chao's and
//!    Zelterman's estimators for counts), with the models at the two ends named.
//! 5. **Checks**: goodness of fit of the best model; heterogeneity and behaviour signals
//!    (the share of the weight on models with them); the number seen as a floor; and a
//!    plain-words warning when the plausible candidates disagree by more than a factor
//!    [`DISAGREE_FACTOR`].
//!
//! For stratified data the total is the sum of the stratum headlines with their variances
//! added (strata are estimated independently), with a log-normal interval on the summed
//! dark figure; the pooled fit stays in the full tables.
//!
//! # References
//! Buckland, S. T., Burnham, K. P. & Augustin, N. H. (1997) Model selection: an integral
//! part of inference. *Biometrics* 53, 603-618. Burnham, K. P. & Anderson, D. R. (2002)
//! *Model Selection and Multimodel Inference*, 2nd ed., §4.3. Chao, A. (1987) *Biometrics*
//! 43, 783-791. Madigan, D. & York, J. C. (1997) *Biometrika* 84, 19-31. Ball, P. et al.
//! (2002) *Killings and refugee flow in Kosovo*. Seber, G. A. F. (1982) *The Estimation of
//! Animal Abundance*, 2nd ed.

mod rule;

pub use rule::{
    Criterion, DataKind, FEW_RECAPTURES, FEW_RECAPTURES_EVIDENCE, FEW_RECAPTURES_START,
    FewRecapturesEvidence, Offer, Rule, degenerate_reason, gof_p_value, is_interval_doubt,
    is_poor_fit, recommend, sum_headlines, whole_people,
};

use crate::estimate::{Assumption, Interval};
use serde::Serialize;

/// N̂ above this multiple of the number seen is absurd and marked degenerate.
pub const ABSURD_FACTOR: f64 = 1000.0;
/// A deviance above this multiple of max(number seen, cells) marks a fit that ran away, or a
/// model that cannot describe the data at all.
pub const ABSURD_DEVIANCE_FACTOR: f64 = 1000.0;
/// Goodness-of-fit p-value below which a candidate fails (when another passes).
pub const GOF_FAIL: f64 = 0.05;
/// Goodness-of-fit p-value at or above which a candidate passes.
pub const GOF_PASS: f64 = 0.05;
/// Largest criterion difference to the best model for a candidate to count as plausible.
pub const PLAUSIBLE_DELTA: f64 = 10.0;
/// Ratio of the largest to the smallest plausible N̂ above which a warning says the
/// models disagree.
pub const DISAGREE_FACTOR: f64 = 1.5;
/// Weight at or above which one model's own interval is the headline interval.
pub const SINGLE_MODEL_WEIGHT: f64 = 0.99;

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
    /// The data family the figure was made for.
    pub kind: DataKind,
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

impl Headline {
    /// The headline as an [`crate::Estimate`] (method `recommended`), for simulations and
    /// for code that takes estimates.
    ///
    /// # Errors
    /// [`crate::Error::EstimateDoesNotExist`] when no figure can be cited.
    pub fn to_estimate(&self) -> crate::Result<crate::Estimate> {
        if !(self.n_hat.is_finite() && self.se.is_finite()) {
            return Err(crate::Error::no_estimate(
                self.warnings
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "no figure can be cited".into()),
            ));
        }
        let mut e = crate::Estimate::new(
            "recommended",
            "recommended",
            self.n_hat,
            self.se,
            self.interval,
            self.observed,
        )
        .with_assumptions(&self.assumptions);
        e.dark_figure_interval = self.dark_figure_interval;
        Ok(e)
    }
}
