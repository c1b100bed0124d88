//! Closed-population log-linear models: the Otis models (M0, Mt, Mh, Mth, Mb, Mbh) and
//! multiple-systems estimation with list interactions, as `Rcapture`'s `closedp.t`,
//! `closedp.0`, `closedpCI.t`, `closedpCI.0`, `closedpMS.t`, `closedp.bc` and
//! `closedp.Mtb`.
//!
//! Every model is a Poisson regression on the 2^t − 1 observable capture histories
//! (Cormack 1989; Rivest & Baillargeon 2007):
//!
//! ```text
//! E[y_ω] = exp(β₀ + x_ωᵀβ),   ω ∈ {0,1}^t \ {0}
//! N̂ = n + exp(β̂₀),   SE(N̂)² = exp(β̂₀) + exp(2β̂₀)·Var(β̂₀)
//! M0   x_ω = k(ω)                         (k = number of captures)
//! Mt   x_ω = (ω₁, …, ω_t)
//! Mh   x_ω = (k, f(k)),  Mth x_ω = (ω₁, …, ω_t, f(k))
//!      Poisson2 f = 2^k − 1, Darroch f = k²/2, Gamma3.5 f = −ln(3.5 + k) + ln 3.5,
//!      Chao (LB): t − 2 columns max(k − j + 1, 0), j = 3..t, negative ones dropped
//! Mb   x_ω = (occasions before first capture, k − 1)
//! Mbh  x_ω = (1[first capture > 1], occasions before first capture, k − 1)
//! ```
//! Fits follow R's `glm.fit` path (start μ = y + 0.1, stop at a relative deviance change
//! of 1e-8), so the figures, warnings included, are those Rcapture prints. Cells that
//! share a design row are grouped, so M0, Mh, Mb and Mbh cost O(t²) whatever t.
//!
//! ## Entry points
//! - [`closedp_t`]: the 12 models of `closedp.t`, each with its profile interval
//!   (`closedpCI.t`); [`fit_standard`] for one model.
//! - [`closedp_0`] / [`fit_zero`]: the `closedp.0` models from the counts f_k (any t,
//!   t = ∞ for continuous time, truncation at t0), with profile intervals.
//! - [`fit_model`] / [`LogLinearModel`]: custom hierarchical models (`"[12,13,4]"`),
//!   optionally with heterogeneity.
//! - [`select`]: `closedpMS.t` model selection with a model-averaged N̂.
//! - [`closedp_bc`], [`closedp_bc_all`], [`closedp_bc_counts`]: bias-corrected
//!   estimators; [`closedp_mtb`]: model Mtb.
//!
//! # References
//! Baillargeon, S. & Rivest, L.-P. (2007) Rcapture: loglinear models for
//! capture-recapture in R. *J. Stat. Software* 19(5).
//! Rivest, L.-P. & Baillargeon, S. (2007) Applications and extensions of Chao's moment
//! estimator for the size of a closed population. *Biometrics* 63, 999-1006.
//! Cormack, R. M. (1989) Log-linear models for capture-recapture. *Biometrics* 45, 395-413.
//! Cormack, R. M. (1992) Interval estimation for mark-recapture studies of closed
//! populations. *Biometrics* 48, 567-576.

mod bc;
mod design;
mod fit;
mod loglinear;
mod mtb;
mod product;
mod profile;
mod select;

pub use bc::{closedp_bc, closedp_bc_all, closedp_bc_counts};
pub use design::{ClosedModel, Heterogeneity};
pub use fit::{ClosedFit, info_code};
pub use loglinear::LogLinearModel;
pub use mtb::{MtbFit, closedp_mtb};
pub use profile::ProfileInterval;
pub use select::{Criterion, ModelSelection, SelectionRow, all_models, forward_search, select};

use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, FitStats, Interval, IntervalMethod, Warning};
use crate::glm::PoissonGlm;
use crate::model_table::{HasEstimate, ModelTable};
use design::{Design, zero_design};
use fit::{AbundanceForm, fit_closed};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Default upper search limit of profile intervals, as a multiple of N̂ (Rcapture's
/// `fmaxSupCL`).
pub const DEFAULT_FMAX: f64 = 3.0;

/// A closed-population estimate: the [`Estimate`] every estimator returns, the fitted
/// model behind it and, when computed, its profile-likelihood interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedEstimate {
    /// The estimate: `n_hat` is the Poisson-regression N̂; `interval` is the profile
    /// interval (which surrounds `profile.ci_abundance`) or, when the profile could not
    /// be computed, a log-normal interval (Chao 1987).
    pub estimate: Estimate,
    /// The fitted model.
    pub fit: ClosedFit,
    /// The profile-likelihood interval, when computed.
    pub profile: Option<ProfileInterval>,
}

impl HasEstimate for ClosedEstimate {
    fn estimate(&self) -> &Estimate {
        &self.estimate
    }
}

impl fmt::Display for ClosedEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.estimate)?;
        if let Some(p) = &self.profile {
            writeln!(
                f,
                "  profile      maximiser {} (the interval surrounds it)",
                crate::estimate::fmt_num(p.ci_abundance)
            )?;
        }
        Ok(())
    }
}

/// Settings shared by the closed-population fits.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedSettings {
    /// Confidence level of the intervals.
    pub level: f64,
    /// Drop negative Chao eta parameters (Rcapture's `neg = TRUE`).
    pub neg: bool,
    /// Compute profile-likelihood intervals.
    pub profile: bool,
    /// Upper search limit of the profile interval, as a multiple of N̂.
    pub fmax: f64,
}

impl Default for ClosedSettings {
    fn default() -> Self {
        ClosedSettings {
            level: 0.95,
            neg: true,
            profile: true,
            fmax: DEFAULT_FMAX,
        }
    }
}

impl ClosedSettings {
    fn check(&self) -> Result<()> {
        ci::check_level(self.level)?;
        if !(self.fmax >= 1.5 && self.fmax.is_finite()) {
            return Err(Error::param(
                "fmax",
                self.fmax,
                "a finite multiple of N̂ of at least 1.5",
            ));
        }
        Ok(())
    }
}

fn assumptions_for(model: &str) -> Vec<Assumption> {
    let mut a = vec![Assumption::ClosedPopulation, Assumption::PerfectMatching];
    let het = model.contains("Chao")
        || model.contains("Poisson")
        || model.contains("Darroch")
        || model.contains("Gamma");
    if het || model.contains("Mbh") {
        a.push(Assumption::ModelledHeterogeneity);
    } else {
        a.push(Assumption::HomogeneousCapture);
    }
    if model.starts_with("M0") || model.starts_with("Mh ") || model == "Mb" || model == "Mbh" {
        a.push(Assumption::ConstantOverTime);
    }
    if !model.starts_with("Mb") {
        a.push(Assumption::NoBehaviouralResponse);
    }
    if model.starts_with('[') {
        a.push(Assumption::NoHighestOrderInteraction);
    } else if !model.starts_with("Mb") {
        a.push(Assumption::IndependentSources);
    }
    a
}

/// Builds the [`ClosedEstimate`] of a fitted design.
pub(crate) fn finish(
    method: &str,
    fit: ClosedFit,
    design: Option<&Design>,
    settings: &ClosedSettings,
) -> ClosedEstimate {
    let n = fit.n;
    let mut warnings = fit.warnings.clone();
    let mut profile = None;
    let rank_deficient = fit
        .warnings
        .iter()
        .any(|w| matches!(w, Warning::RankDeficient { .. }));
    let interval = match design {
        Some(d) if settings.profile && !rank_deficient => {
            match profile::profile_interval(
                d,
                n as f64,
                fit.abundance,
                settings.neg,
                settings.level,
                settings.fmax,
            ) {
                Ok(p) => {
                    if p.lower_clipped {
                        warnings.push(Warning::LowerLimitClipped { observed: n as f64 });
                    }
                    if p.upper_limit_hit {
                        warnings.push(Warning::IntervalSearchLimit {
                            limit: p.search_limit,
                        });
                    }
                    let i = Interval {
                        lower: p.lower,
                        upper: p.upper,
                        level: settings.level,
                        method: IntervalMethod::ProfileLikelihood,
                    };
                    profile = Some(p);
                    Some(i)
                }
                Err(e) => {
                    warnings.push(Warning::Other {
                        message: format!("profile interval not computed: {e}"),
                    });
                    None
                }
            }
        }
        Some(_) if settings.profile => {
            warnings.push(Warning::Other {
                message: "profile interval not computed: the design matrix is not of full rank"
                    .into(),
            });
            None
        }
        _ => None,
    };
    let interval = interval
        .unwrap_or_else(|| ci::log_normal(fit.abundance, fit.stderr, n as f64, settings.level));
    let mut e = Estimate::new(
        method,
        fit.model.clone(),
        fit.abundance,
        fit.stderr,
        interval,
        n,
    )
    .with_fit(FitStats {
        deviance: fit.deviance,
        df: fit.df,
        aic: fit.aic,
        bic: fit.bic,
    });
    e.warnings = warnings;
    e.assumptions = assumptions_for(&fit.model);
    ClosedEstimate {
        estimate: e,
        fit,
        profile,
    }
}

/// Fits one of the standard models on capture histories (a row of `closedp.t`, with
/// the profile interval of `closedpCI.t` when `settings.profile`).
///
/// # Errors
/// [`Error::TooFewOccasions`] for heterogeneous models with t < 3 (Rcapture:
/// "heterogeneous models require at least 3 capture occasions"); [`Error::Numerical`]
/// when the Poisson fit fails; [`Error::InvalidParameter`] for bad settings or time
/// models with more than 20 occasions.
///
/// # References
/// `Rcapture::closedp.t`, `Rcapture::closedpCI.t`.
pub fn fit_standard(
    h: &CaptureHistories,
    model: ClosedModel,
    settings: &ClosedSettings,
) -> Result<ClosedEstimate> {
    fit_standard_obs(
        h.occasions(),
        h.observed(),
        design::observed_cells(h),
        model,
        settings,
    )
}

fn fit_standard_obs(
    t: usize,
    n: u64,
    obs: Vec<(u64, f64)>,
    model: ClosedModel,
    settings: &ClosedSettings,
) -> Result<ClosedEstimate> {
    settings.check()?;
    let design = design::standard_design_obs(t, obs, model)?;
    let form = match model {
        ClosedModel::Mb => AbundanceForm::Mb { t },
        ClosedModel::Mbh => AbundanceForm::Mbh { t },
        _ => AbundanceForm::Standard,
    };
    // Profile intervals exist for the models closedpCI.t accepts (not Mb, Mbh).
    let prof = !matches!(model, ClosedModel::Mb | ClosedModel::Mbh) && settings.profile;
    let kept = prof.then(|| design.clone());
    let (fit, _) = fit_closed(
        &model.label(),
        design,
        n,
        form,
        settings.neg,
        &PoissonGlm::params(),
    )?;
    let method = "closedp.t";
    Ok(finish(method, fit, kept.as_ref(), settings))
}

/// The multinomial profile log-likelihood of N (Cormack 1992), evaluated at each N of
/// `grid` (values below the number seen are skipped), for a `closedp.t` model named by
/// its label (`M0`, `Mt`, `Mh Chao (LB)`, `Mth Darroch`...) or a hierarchical log-linear
/// model (`[12,3,4]`, with `heterogeneity`). This is the curve whose cut at
/// `max − χ²₁(level)/2` gives the profile interval of [`fit_standard`] and [`fit_model`];
/// reports draw it.
///
/// ```text
/// log L(N) = −D(N)/2 + C(N, N − n)   (D: Poisson deviance with N − n unseen; C: Cormack's correction)
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a model without a profile (Mb, Mbh) or an unknown
/// label; the errors of [`fit_model`] for a log-linear model.
///
/// # References
/// Cormack (1992); `Rcapture::closedpCI.t` (its `plotCI` plot).
pub fn profile_loglik(
    h: &CaptureHistories,
    model: &str,
    heterogeneity: Option<Heterogeneity>,
    neg: bool,
    grid: &[f64],
) -> Result<Vec<(f64, f64)>> {
    let design = if let Some(m) = ClosedModel::closedp_t_models()
        .into_iter()
        .filter(|m| !matches!(m, ClosedModel::Mb | ClosedModel::Mbh))
        .find(|m| m.label() == model)
    {
        design::standard_design_obs(h.occasions(), design::observed_cells(h), m)?
    } else if model.starts_with('[') {
        LogLinearModel::parse(model, h.occasions())?
            .with_heterogeneity(heterogeneity)
            .fit_only(h, neg)?
            .1
    } else {
        return Err(Error::param(
            "model",
            model,
            "a closedp.t model other than Mb and Mbh, or a log-linear model such as [12,3]",
        ));
    };
    let n = h.observed() as f64;
    let mut pr = profile::Profile::new(&design, n, neg);
    Ok(grid
        .iter()
        .filter(|&&x| x.is_finite() && x >= n)
        .map(|&x| (x, pr.loglik(x)))
        .filter(|p| p.1.is_finite())
        .collect())
}

/// All the models of `Rcapture::closedp.t` (12 models; M0, Mt and Mb when t = 2), each
/// with its profile-likelihood interval (as `closedpCI.t`; Mb and Mbh get a log-normal
/// interval, as Rcapture has no profile interval for them).
///
/// ```text
/// labels: M0, Mt, Mh Chao (LB), Mh Poisson2, Mh Darroch, Mh Gamma3.5,
///         Mth Chao (LB), Mth Poisson2, Mth Darroch, Mth Gamma3.5, Mb, Mbh
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad level; each model's own failure is in its
/// entry.
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// let h = CaptureHistories::from_strings(&[("11", 167), ("10", 781), ("01", 254)])?;
/// let table = darkfigure::closed::closedp_t(&h, 0.95)?;
/// let mt = table.fitted("Mt").unwrap();
/// assert!((mt.estimate.n_hat - 2389.86826347304).abs() < 1e-6); // Rcapture closedp.t
/// # Ok::<(), darkfigure::Error>(())
/// ```
///
/// # References
/// `Rcapture::closedp.t`; Baillargeon & Rivest (2007).
pub fn closedp_t(h: &CaptureHistories, level: f64) -> Result<ModelTable<ClosedEstimate>> {
    let settings = ClosedSettings {
        level,
        ..Default::default()
    };
    closedp_t_with(h, &settings)
}

/// [`closedp_t`] with explicit settings.
///
/// # Errors
/// As [`closedp_t`].
pub fn closedp_t_with(
    h: &CaptureHistories,
    settings: &ClosedSettings,
) -> Result<ModelTable<ClosedEstimate>> {
    settings.check()?;
    let models: Vec<ClosedModel> = if h.occasions() == 2 {
        vec![ClosedModel::M0, ClosedModel::Mt, ClosedModel::Mb]
    } else {
        ClosedModel::closedp_t_models()
    };
    let obs = design::observed_cells(h);
    let (t, n) = (h.occasions(), h.observed());
    Ok(models
        .into_iter()
        .map(|m| (m.label(), fit_standard_obs(t, n, obs.clone(), m, settings)))
        .collect())
}

/// The `closedp.0` models from the frequencies f_k of units caught k times alone.
///
/// ```text
/// E[f_k] = C(t, k) · exp(β₀ + β k + τ g(k)),  k = 1..t0   (t finite)
/// E[f_k] = exp(β₀ + β k + τ g(k)) / k!                    (t = ∞, continuous time)
/// ```
/// `f_k[k-1]` is the number of units caught k times; `t = None` means continuous time
/// (Rcapture's `t = Inf`), in which case t0 defaults to the largest observed count.
/// With `t0`, only the counts k ≤ t0 enter the fit (truncation of large counts); without
/// it, t0 is t (continuous time: the largest count) up to [`ZERO_T0_KEEP`] and
/// [`ZERO_T0_AUTO`] beyond (see [`zero_t0`]); at most [`ZERO_T0_MAX`] is accepted.
/// Models: M0, Mh Chao (LB), Mh Poisson2, Mh Darroch, Mh Gamma3.5 (only M0 when t0 = 2).
///
/// # Errors
/// [`Error::InvalidData`] for empty counts or counts beyond t; [`Error::InvalidParameter`]
/// for t0 outside 2..=t or a bad level.
///
/// # Examples
/// ```
/// // The Dutch illegal immigrants (van der Heijden et al. 2003), continuous time.
/// let f = [1645u64, 183, 37, 13, 1, 1];
/// let table = darkfigure::closed::closedp_0(&f, None, None, 0.95)?;
/// let chao = table.fitted("Mh Chao (LB)").unwrap();
/// assert_eq!(chao.estimate.model, "Mh Chao (LB)");
/// assert!((chao.estimate.n_hat - 9273.51092896175).abs() < 1e-5); // Rcapture closedp.0
/// # Ok::<(), darkfigure::Error>(())
/// ```
///
/// # References
/// `Rcapture::closedp.0`, `Rcapture::closedpCI.0`.
pub fn closedp_0(
    f_k: &[u64],
    t: Option<usize>,
    t0: Option<usize>,
    level: f64,
) -> Result<ModelTable<ClosedEstimate>> {
    let settings = ClosedSettings {
        level,
        ..Default::default()
    };
    closedp_0_with(f_k, t, t0, &settings)
}

/// The t0 the `.0` models use when none is given and t (continuous time: the largest
/// count) exceeds [`ZERO_T0_KEEP`]: units caught more often are counted in n but not
/// modelled. Rcapture's default (t0 = t) costs O(t0³) per iteration of the Chao model,
/// which has t0 − 2 columns, times the many refits of its profile interval; a count of
/// 200 took minutes. See [`zero_t0`].
pub const ZERO_T0_AUTO: usize = 30;

/// Up to this t (continuous time: the largest count) the `.0` models keep Rcapture's
/// default t0 = t (its BBS2001 example has t = 50).
pub const ZERO_T0_KEEP: usize = 50;

/// The largest t0 accepted for the `.0` models (a few seconds for the five models).
pub const ZERO_T0_MAX: usize = 60;

/// The truncation t0 the `.0` models use for counts `f_k` over `t` occasions (`None`:
/// continuous time) when the caller gives `t0` (or not): the given value, or the number
/// of occasions t (continuous time: the largest count) when t ≤ [`ZERO_T0_KEEP`], and
/// [`ZERO_T0_AUTO`] beyond.
/// Returns (t0, whether the cap applied).
pub fn zero_t0(f_k: &[u64], t: Option<usize>, t0: Option<usize>) -> (usize, bool) {
    let kmax = f_k.iter().rposition(|&v| v > 0).map(|i| i + 1).unwrap_or(0);
    let tt = t.unwrap_or(kmax);
    match t0 {
        Some(t0) => (t0, false),
        None if tt > ZERO_T0_KEEP => (ZERO_T0_AUTO, true),
        None => (tt, false),
    }
}

/// Checks and normalises `.0` input: returns (counts as f64, t0).
fn zero_input(f_k: &[u64], t: Option<usize>, t0: Option<usize>) -> Result<(Vec<f64>, usize, u64)> {
    let n = crate::data::counts_total(f_k)?;
    if n == 0 {
        return Err(Error::invalid(
            "no unit was caught: the counts f_k are all zero",
        ));
    }
    let kmax = f_k.iter().rposition(|&v| v > 0).map(|i| i + 1).unwrap_or(0);
    let tt = match t {
        Some(tt) => {
            if tt < 2 {
                return Err(Error::param("t", tt, "at least 2 occasions"));
            }
            if kmax > tt {
                return Err(Error::invalid_row(
                    kmax - 1,
                    format!("{kmax} captures with only t = {tt} occasions"),
                ));
            }
            tt
        }
        None => kmax,
    };
    if t0.is_none() && tt < 2 {
        return Err(Error::no_estimate(
            "every unit was caught exactly once: the closedp.0 models need units caught at least twice",
        ));
    }
    let given = t0.is_some();
    let (t0, _) = zero_t0(f_k, t, t0);
    let max_t0 = if t.is_some() { tt } else { usize::MAX }.min(ZERO_T0_MAX);
    if given && (t0 < 2 || t0 > max_t0) {
        return Err(Error::param(
            "t0",
            t0,
            format!(
                "an integer between 2 and {} (at most {ZERO_T0_MAX}: the Chao model has t0 − 2 columns)",
                max_t0.max(2)
            ),
        ));
    }
    Ok((f_k.iter().map(|&v| v as f64).collect(), t0, n))
}

/// One `.0` model.
///
/// # Errors
/// As [`closedp_0`], plus [`Error::TooFewOccasions`] for heterogeneity with t0 < 3.
pub fn fit_zero(
    f_k: &[u64],
    t: Option<usize>,
    t0: Option<usize>,
    heterogeneity: Option<Heterogeneity>,
    settings: &ClosedSettings,
) -> Result<ClosedEstimate> {
    settings.check()?;
    let (f, t0, n) = zero_input(f_k, t, t0)?;
    let label = match heterogeneity {
        None => "M0".to_string(),
        Some(h) => format!("Mh {}", h.label()),
    };
    if heterogeneity.is_some() && t0 < 3 {
        return Err(Error::TooFewOccasions {
            method: format!("{label} (heterogeneous models require at least 3 capture occasions)"),
            needed: 3,
            got: t0,
        });
    }
    // Units caught more than t0 times are excluded from the fit but counted in n.
    let design = zero_design(&f, t, t0, heterogeneity)?;
    let (fit, _) = fit_closed(
        &label,
        design.clone(),
        n,
        AbundanceForm::Standard,
        settings.neg,
        &PoissonGlm::params(),
    )?;
    Ok(finish("closedp.0", fit, Some(&design), settings))
}

/// [`closedp_0`] with explicit settings.
///
/// # Errors
/// As [`closedp_0`].
pub fn closedp_0_with(
    f_k: &[u64],
    t: Option<usize>,
    t0: Option<usize>,
    settings: &ClosedSettings,
) -> Result<ModelTable<ClosedEstimate>> {
    settings.check()?;
    let (_, t0v, _) = zero_input(f_k, t, t0)?;
    let mut hs: Vec<Option<Heterogeneity>> = vec![None];
    if t0v > 2 {
        hs.extend([
            Some(Heterogeneity::Chao),
            Some(Heterogeneity::Poisson(2.0)),
            Some(Heterogeneity::Darroch),
            Some(Heterogeneity::Gamma(3.5)),
        ]);
    }
    Ok(hs
        .into_iter()
        .map(|h| {
            let label = match h {
                None => "M0".to_string(),
                Some(hh) => format!("Mh {}", hh.label()),
            };
            (label, fit_zero(f_k, t, t0, h, settings))
        })
        .collect())
}

/// Fits one custom log-linear model given by its hierarchical name (`"[12,13,4]"`:
/// digits are occasions 1..9, each bracketed term brings all its sub-terms), optionally
/// with a heterogeneity column, with its profile-likelihood interval (as
/// `closedpCI.t(mX = ..., h = ...)`).
///
/// # Errors
/// [`Error::InvalidParameter`] for a malformed name or occasions beyond t; as
/// [`fit_standard`] otherwise.
///
/// # Examples
/// ```
/// use darkfigure::closed::fit_model;
/// use darkfigure::data::CaptureHistories;
/// let rows = [("1111", 0), ("1110", 3), ("1101", 1), ("1100", 33), ("1011", 0),
///     ("1010", 20), ("1001", 6), ("1000", 403), ("0111", 3), ("0110", 35), ("0101", 10),
///     ("0100", 545), ("0011", 11), ("0010", 621), ("0001", 205)];
/// let hiv = CaptureHistories::from_strings(&rows)?;
/// let e = fit_model(&hiv, "[12,3,4]", None, 0.95)?;
/// assert!((e.estimate.n_hat - 12318.4676767586).abs() < 1e-4); // Rcapture closedpCI.t
/// # Ok::<(), darkfigure::Error>(())
/// ```
///
/// # References
/// `Rcapture::closedpCI.t`.
pub fn fit_model(
    h: &CaptureHistories,
    name: &str,
    heterogeneity: Option<Heterogeneity>,
    level: f64,
) -> Result<ClosedEstimate> {
    let model = LogLinearModel::parse(name, h.occasions())?.with_heterogeneity(heterogeneity);
    let settings = ClosedSettings {
        level,
        ..Default::default()
    };
    model.fit(h, &settings)
}
