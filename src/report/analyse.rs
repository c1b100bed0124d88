//! Runs every estimator that applies to a data set and collects a [`Report`].

use super::common::{LISTS_HINT, OPEN_HINT, ORDER_DEPENDENT, PARTS_CAUTION};
use super::headline_fmt::num;
use super::{DataSummary, Gof, POOLED, Report, Row, SUMMED, Section, Truth};
use crate::ci;
use crate::closed::{self, ClosedFit, Heterogeneity};
use crate::counts;
use crate::data::{CaptureHistories, CountData, DataSet, ListTable};
use crate::error::{Error, Result};
use crate::estimate::{Estimate, FitStats, Warning};
use crate::open;
use crate::recommend::{GOF_PASS, Headline};
use crate::sparse;
use crate::two_source;

/// Largest t for which the `closedp.t` table (2^t − 1 cells) is fitted by default; above
/// it the models are fitted from the capture counts f_k (`closedp.0`).
pub const MAX_T_FOR_HISTORY_MODELS: usize = 20;

/// Largest t for which model Mtb (a non-linear fit over 2^t − 1 cells) and the four
/// Normal heterogeneity models (`huggins::closedp_logit_normal_all`, whose exact
/// information costs t² per observed history and quadrature node: 2.1 s on a register of
/// 81,313 units and 6,248 histories over 20 occasions) are added.
pub const MAX_T_FOR_MTB: usize = 12;

/// Most lists for `--select stepwise`: each step fits every remaining two-list effect on
/// the 2^t − 1 cells, which grows too slow for an interactive command beyond this (the
/// SparseMSE data sets have 3 to 8 lists; 18 lists take about a minute).
pub const MAX_LISTS_FOR_STEPWISE: usize = 12;

/// Most hierarchical models a `--select aic|bic` table fits (Rcapture's `closedpMS.t`
/// stops at 10,000 unless told otherwise).
pub const MAX_SELECTION_MODELS: usize = 10_000;

/// A model-selection table to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every hierarchical log-linear model ranked by AIC (`closedpMS.t`).
    Aic,
    /// Ranked by BIC (`closedpMS.t`'s default).
    Bic,
    /// SparseMSE's stepwise choice of two-list effects (p-value threshold 0.02).
    Stepwise,
}

impl std::str::FromStr for Selection {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "aic" => Ok(Selection::Aic),
            "bic" => Ok(Selection::Bic),
            "stepwise" => Ok(Selection::Stepwise),
            _ => Err(Error::param("select", s, "aic, bic or stepwise")),
        }
    }
}

/// Number of occasions behind single-source counts, for the `closedp.0` models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasions {
    /// t discrete occasions.
    Finite(usize),
    /// Continuous time (repeated counting; Rcapture's `t = Inf`).
    Continuous,
}

/// The most occasions accepted behind single-source counts.
pub const MAX_OCCASIONS_COUNTS: usize = 100_000;

impl std::str::FromStr for Occasions {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "inf" | "infinity" | "continuous" => Ok(Occasions::Continuous),
            v => v
                .parse::<usize>()
                .ok()
                .filter(|&t| (2..=MAX_OCCASIONS_COUNTS).contains(&t))
                .map(Occasions::Finite)
                .ok_or_else(|| {
                    Error::param(
                        "occasions",
                        s,
                        format!(
                            "a whole number from 2 to {MAX_OCCASIONS_COUNTS}, or inf (for more occasions, \
                             continuous time is the same model in the limit)"
                        ),
                    )
                }),
        }
    }
}

/// Parses a heterogeneity name as the command line gives it.
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name.
pub fn parse_heterogeneity(s: &str) -> Result<Heterogeneity> {
    match s.to_ascii_lowercase().as_str() {
        "chao" | "lb" => Ok(Heterogeneity::Chao),
        "poisson" => Ok(Heterogeneity::Poisson(2.0)),
        "darroch" => Ok(Heterogeneity::Darroch),
        "gamma" => Ok(Heterogeneity::Gamma(3.5)),
        _ => Err(Error::param(
            "heterogeneity",
            s,
            "chao, poisson, darroch or gamma",
        )),
    }
}

/// What to run and how.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOptions {
    /// Confidence level of every interval.
    pub level: f64,
    /// Name of the data source, for the report.
    pub source: String,
    /// Known true sizes (simulated data), shown beside the estimates.
    pub truth: Vec<Truth>,
    /// Add a model-selection table.
    pub select: Option<Selection>,
    /// Fit this one hierarchical log-linear model (e.g. `[12,3,4]`) with its profile
    /// interval.
    pub model: Option<String>,
    /// Heterogeneity column of `model` (and of the `aic`/`bic` selection).
    pub heterogeneity: Option<Heterogeneity>,
    /// Fit open-population models (Jolly-Seber) instead of closed ones.
    pub open: bool,
    /// Occasions per primary period (robust design); collapses periods for `open`.
    pub periods: Option<Vec<usize>>,
    /// Covariates of the count models (all covariate columns when `None`).
    pub covariates: Option<Vec<String>>,
    /// Report count models per level of this covariate.
    pub by: Option<String>,
    /// Occasions behind count data, for the `closedp.0` models (continuous time when
    /// `None`).
    pub occasions: Option<Occasions>,
    /// Fit `closedp.0` models only to units caught at most this many times.
    pub t0: Option<usize>,
    /// Run only the estimators the headline rests on (no bias-corrected table, no
    /// Schnabel or Schumacher-Eschmeyer): for simulations and benchmarks of the headline.
    pub headline_only: bool,
    /// Add the Bayesian section (dga model averaging, LCMCR latent classes).
    pub bayes: bool,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            level: 0.95,
            source: "<data>".into(),
            truth: Vec::new(),
            select: None,
            model: None,
            heterogeneity: None,
            open: false,
            periods: None,
            covariates: None,
            by: None,
            occasions: None,
            t0: None,
            headline_only: false,
            bayes: false,
        }
    }
}

/// Refuses an option that the analysis of `data` would otherwise ignore in silence: the
/// model options of capture histories (`model`, `select`, `heterogeneity`, `open`,
/// `periods`, `bayes`) on single-source counts, the count-model options (`by`,
/// `occasions`, `t0`) on capture histories, and the closed-population options (`model`,
/// `select`, `heterogeneity`, `bayes`) with `open`.
///
/// # Errors
/// [`Error::InvalidParameter`] naming the first such option and the data it applies to.
pub fn check_options_apply(data: &DataSet, opts: &AnalysisOptions) -> Result<()> {
    let histories_only = [
        ("model", opts.model.is_some()),
        ("select", opts.select.is_some()),
        ("heterogeneity", opts.heterogeneity.is_some()),
        ("periods", opts.periods.is_some()),
        ("open", opts.open),
        ("bayes", opts.bayes),
    ];
    let counts_only = [
        ("by", opts.by.is_some()),
        ("occasions", opts.occasions.is_some()),
        ("t0", opts.t0.is_some()),
    ];
    let (given, data_kind, applies_to) = match data {
        DataSet::Counts { .. } => (
            histories_only.iter().find(|(_, set)| *set),
            "single-source counts",
            "capture histories (two or more occasions or lists); the count models, Chao's and \
             Zelterman's estimators and the closedp.0 models all run on counts by default \
             (options of counts: --covariates, --by, --occasions, --t0)",
        ),
        DataSet::Histories { .. } if opts.open => (
            counts_only
                .iter()
                .chain(
                    histories_only
                        .iter()
                        .filter(|(n, _)| !matches!(*n, "open" | "periods")),
                )
                .find(|(_, set)| *set),
            "an open-population run",
            "closed populations; open-population runs fit the Jolly-Seber models (openp up and \
             ep, and the robust design with --periods)",
        ),
        DataSet::Histories { .. } => (
            counts_only.iter().find(|(_, set)| *set),
            "capture histories",
            "single-source counts (one count of times recorded per unit)",
        ),
    };
    match given {
        Some((name, _)) => Err(Error::InvalidParameter {
            name,
            value: format!("set on {data_kind}"),
            expected: format!("the option only with {applies_to}"),
        }),
        None => Ok(()),
    }
}

/// Runs every estimator that applies to `data` and returns the report.
///
/// Capture histories: the classic estimators, the `closedp.t` models with their profile
/// intervals (`closedp.0` from the counts f_k when t > 20), model Mtb, the bias-corrected
/// `closedp.bc` estimates, and the optional model-selection table and single model; with
/// strata, one set of tables per stratum, one for the strata pooled and one summing the
/// stratum estimates. With `open`, the Jolly-Seber models instead (`openp`, or the robust
/// design when `periods` are given). Single-source counts: every count model,
/// intercept-only and with covariates, Chao's and Zelterman's closed forms, and the
/// `closedp.0` models.
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad level or option, and for an option that does not
/// apply to the data (see [`check_options_apply`]); errors of a single requested model
/// (`model`) or of the open-population fits are returned as errors.
pub fn analyse(data: &DataSet, opts: &AnalysisOptions) -> Result<Report> {
    ci::check_level(opts.level)?;
    check_options_apply(data, opts)?;
    let mut open_fits = Vec::new();
    let mut js = None;
    let (summary, sections) = match data {
        DataSet::Histories { data: h, .. } => {
            if h.occasions() < 2 {
                return Err(Error::TooFewOccasions {
                    method: "capture-recapture (one occasion is a single source: give its counts \
                             of times recorded per unit, the counts layout, instead)"
                        .into(),
                    needed: 2,
                    got: h.occasions(),
                });
            }
            let strata: Vec<String> = h.strata().map(|s| s.names.clone()).unwrap_or_default();
            let summary = DataSummary {
                source: opts.source.clone(),
                layout: data.layout().name().into(),
                observed: h.observed(),
                occasions: Some(h.occasions()),
                // The long layout has one row per record: a unit's captures.
                rows: if let DataSet::Histories {
                    file_rows: Some(r), ..
                } = data
                {
                    *r
                } else if data.layout() == crate::data::csv_io::Layout::Long {
                    h.iter()
                        .map(|(code, f)| code.count_ones() as usize * f as usize)
                        .sum()
                } else {
                    h.n_rows()
                },
                strata,
                occasion_names: h.occasion_names().to_vec(),
                count_column: None,
                occasion_order: match data {
                    DataSet::Histories { occasion_order, .. } => *occasion_order,
                    DataSet::Counts { .. } => None,
                },
                notes: match data {
                    DataSet::Histories { notes, .. } => notes.clone(),
                    DataSet::Counts { .. } => Vec::new(),
                },
                empty_occasions: {
                    let n_j = h.summary().n_j;
                    h.occasion_names()
                        .iter()
                        .zip(&n_j)
                        .filter(|&(_, &n)| n == 0)
                        .map(|(name, _)| name.clone())
                        .collect()
                },
            };
            if opts.open {
                open_fits = open_models(h, opts)?;
                let periods = match &opts.periods {
                    Some(p) => h.collapse_periods(p)?,
                    None => h.clone(),
                };
                js = open::jolly_seber(&periods).ok();
                (summary, Vec::new())
            } else {
                let mut sections = histories_sections(h, opts)?;
                if let (
                    DataSet::Histories {
                        occasion_order: Some(o),
                        ..
                    },
                    Some(first),
                ) = (data, sections.first_mut())
                {
                    first.notes.push(format!("long layout: {}", o.describe()));
                }
                (summary, sections)
            }
        }
        DataSet::Counts {
            data: d,
            count_column,
        } => {
            let summary = DataSummary {
                source: opts.source.clone(),
                layout: "counts".into(),
                observed: d.observed(),
                occasions: None,
                rows: d.n_rows(),
                strata: Vec::new(),
                occasion_names: d.covariates().iter().map(|c| c.name.clone()).collect(),
                count_column: Some(count_column.clone()),
                occasion_order: None,
                empty_occasions: Vec::new(),
                notes: Vec::new(),
            };
            (summary, counts_sections(d, opts)?)
        }
    };
    let mut sections = sections;
    if opts.bayes && !opts.open {
        sections.extend(super::bayes::bayes_sections(data, opts.level)?);
    }
    let cells = match data {
        DataSet::Histories { data: h, .. } if h.occasions() <= MAX_T_FOR_HISTORY_MODELS => {
            (1u64 << h.occasions()) as f64
        }
        _ => 0.0,
    };
    super::headline::mark_degenerate(&mut sections, cells);
    let mut report = Report {
        headline: Vec::new(),
        data: summary,
        truth: opts.truth.clone(),
        sections,
        open: open_fits,
        jolly_seber: js,
        level: opts.level,
    };
    report.headline = super::headline::build(&report, data);
    let mut headline = std::mem::take(&mut report.headline);
    super::headline::add_bayes_flags(&report, &mut headline);
    report.headline = headline;
    if let DataSet::Histories { data: h, .. } = data
        && !opts.open
        && !opts.headline_only
    {
        add_lists_hint(data, h, opts, &mut report.headline);
        add_open_hint(data, h, opts, &mut report.headline);
    }
    add_parts_caution(&mut report.headline);
    super::headline::add_roles_caution(&mut report.headline, data);
    Ok(report)
}

/// A total over strata whose parts carry a caution beside their figure says so beside its
/// own: the sum inherits them (the embedded police data: the buyers' interval is in
/// doubt, so the total's is).
pub(super) fn add_parts_caution(headline: &mut [Headline]) {
    let parts: Vec<String> = headline
        .iter()
        .filter(|h| h.stratum.as_deref() != Some("total"))
        .filter(|h| !super::headline_fmt::cautions(h).is_empty())
        .filter_map(|h| h.stratum.clone())
        .collect();
    if parts.is_empty() {
        return;
    }
    if let Some(total) = headline
        .iter_mut()
        .find(|h| h.stratum.as_deref() == Some("total"))
    {
        total.warnings.insert(
            0,
            format!(
                "{PARTS_CAUTION} {} (see the Caution beside {}); the total inherits {}.",
                parts.join(", "),
                if parts.len() == 1 { "it" } else { "each" },
                if parts.len() == 1 { "it" } else { "them" }
            ),
        );
    }
}

/// Options of another reading of the same data (as lists, or as an open population):
/// the headline only, with the model choices of this reading left out.
fn reading_options(opts: &AnalysisOptions, open: bool) -> AnalysisOptions {
    AnalysisOptions {
        open,
        headline_only: true,
        bayes: false,
        select: None,
        model: None,
        heterogeneity: None,
        covariates: None,
        ..opts.clone()
    }
}

/// Whether some headline's best model fits poorly (what makes another reading worth
/// fitting).
fn any_poor_fit(headline: &[Headline]) -> bool {
    headline
        .iter()
        .any(|hl| best_fit(hl).is_some_and(|(_, p)| p < GOF_PASS))
}

/// The headline of another reading (`others`) for the stratum of `hl`, when `hl`'s best
/// model fits poorly and the other reading's best model fits, with a finite figure and
/// interval: that headline, its best model and the model's goodness-of-fit p.
fn fitting_reading<'a>(
    hl: &Headline,
    others: &'a [Headline],
) -> Option<(&'a Headline, &'a str, f64)> {
    if !best_fit(hl).is_some_and(|(_, p)| p < GOF_PASS) {
        return None;
    }
    let other = others.iter().find(|o| o.stratum == hl.stratum)?;
    let (model, p) = best_fit(other).filter(|&(_, p)| p >= GOF_PASS)?;
    (other.n_hat.is_finite() && other.interval.upper.is_finite()).then_some((other, model, p))
}

/// Most columns for which [`add_lists_hint`] reads occasions as lists to compare (the
/// list analysis of 8 columns, a forward BIC search, takes about 0.1 s).
pub const MAX_T_FOR_LISTS_HINT: usize = 8;

/// The best candidate of a headline (ΔIC 0, not excluded) and its goodness-of-fit p.
fn best_fit(h: &Headline) -> Option<(&str, f64)> {
    h.candidates
        .iter()
        .filter(|c| c.excluded.is_none() && c.delta_ic.is_some_and(|d| d == 0.0))
        .find_map(|c| c.gof_p.map(|p| (c.model.as_str(), p)))
}

/// Columns read as occasions in time whose best model fits poorly: the same histories
/// read as unordered lists (agency registers), and, when the best list model does fit,
/// a warning with the figure the list analysis gives, so that an analyst who forgot
/// `--lists` sees it. Multiple-systems data read as occasions are otherwise explained by
/// order-dependent models (Mb, Mtb: a "behavioural response" between registers), which
/// can put the figure far off (SparseMSE's Ned: 8,793 as occasions, Mtb with p ≈ 1e-39;
/// 46,513 as lists, with a model that fits).
fn add_lists_hint(
    data: &DataSet,
    h: &CaptureHistories,
    opts: &AnalysisOptions,
    headline: &mut [Headline],
) {
    let t = h.occasions();
    if h.is_lists() || !(3..=MAX_T_FOR_LISTS_HINT).contains(&t) || !any_poor_fit(headline) {
        return;
    }
    let DataSet::Histories {
        layout,
        occasion_order,
        ..
    } = data
    else {
        return;
    };
    let as_lists = DataSet::Histories {
        data: h.clone().with_lists(true),
        layout: *layout,
        occasion_order: *occasion_order,
        notes: Vec::new(),
        file_rows: None,
    };
    let Ok(lists) = analyse(&as_lists, &reading_options(opts, false)) else {
        return;
    };
    for hl in headline.iter_mut() {
        let Some((other, model, p)) = fitting_reading(hl, &lists.headline) else {
            continue;
        };
        // A sparse table's χ² reference is unreliable: its p (often 1.000 for a model
        // with many interactions) says little about the fit.
        let reliable = match hl.stratum.as_deref() {
            None => super::headline::gof_reliable(h),
            Some(name) => h
                .stratum(name)
                .is_none_or(|x| super::headline::gof_reliable(&x)),
        };
        let sparse = if reliable {
            ""
        } else {
            ", a rough guide only: the table is sparse"
        };
        hl.warnings.insert(
            0,
            format!(
                "{LISTS_HINT} Read as unordered lists (agency registers), the best list model {model} fits (goodness-of-fit \
             p = {p:.3}{sparse}) and the figure would be {} ({:.0}% interval {} to {}). If the columns \
             are separate lists rather than repeated occasions, run with --lists (or add the line \
             \"# sources: lists\" above the header).",
                num(other.n_hat),
                100.0 * opts.level,
                num(other.interval.lower),
                num(other.interval.upper),
            ),
        );
    }
}

/// Carries the cautions (another reading of the data fits: lists, an open population) of
/// the headlines `before` over to the rebuilt headlines `after` of the same strata, where
/// the best model still does not fit (a rebuilt headline whose best model fits, e.g. one
/// with covariates, needs no other reading).
pub(super) fn keep_cautions(before: &[Headline], after: &mut [Headline]) {
    for hl in after.iter_mut() {
        if best_fit(hl).is_some_and(|(_, p)| p >= GOF_PASS) {
            continue;
        }
        let Some(old) = before.iter().find(|b| b.stratum == hl.stratum) else {
            continue;
        };
        let cautions: Vec<String> = old
            .warnings
            .iter()
            .filter(|w| super::common::is_caution(w) && !w.starts_with(PARTS_CAUTION))
            .cloned()
            .collect();
        for (i, w) in cautions.into_iter().enumerate() {
            if !hl.warnings.contains(&w) {
                hl.warnings.insert(i, w);
            }
        }
    }
}

/// Fewest occasions for which [`add_open_hint`] fits the open-population models: with 3,
/// the first and last occasions' entries and capture chances are confounded and the
/// figure ever present rests on them (SparseMSE's Artificial_3 as occasions: 216, interval
/// 96 to 1,265,637).
pub const MIN_T_FOR_OPEN_HINT: usize = 4;

/// Most occasions for which [`add_open_hint`] fits the open-population models to compare.
pub const MAX_T_FOR_OPEN_HINT: usize = 12;

/// Occasions whose best closed-population model fits poorly: the same histories under
/// the open-population models (`openp` up and ep, Jolly-Seber), and, when the best of
/// those fits, a warning with the figure they give, so that an analyst who forgot
/// `--open` sees it. Births, deaths and migration between occasions look to the closed
/// models like strong heterogeneity, and Mh/Mth can then put the figure far off (Rcapture's
/// bunting, 8 years of mist-netting: 37,200 closed, Mth Gamma3.5 with p ≈ 1e-36; 3,008
/// ever present under openp's `up`, with p = 0.745).
fn add_open_hint(
    data: &DataSet,
    h: &CaptureHistories,
    opts: &AnalysisOptions,
    headline: &mut [Headline],
) {
    let t = h.occasions();
    if h.is_lists()
        || !(MIN_T_FOR_OPEN_HINT..=MAX_T_FOR_OPEN_HINT).contains(&t)
        || !any_poor_fit(headline)
    {
        return;
    }
    let Ok(open) = analyse(data, &reading_options(opts, true)) else {
        return;
    };
    for hl in headline.iter_mut() {
        let Some((other, model, p)) = fitting_reading(hl, &open.headline) else {
            continue;
        };
        // after the lists hint, before every other warning
        let at = hl
            .warnings
            .iter()
            .take_while(|w| w.starts_with(LISTS_HINT))
            .count();
        hl.warnings.insert(
            at,
            format!(
                "{OPEN_HINT} Read as an open population (births, deaths or migration between \
                 occasions; Jolly-Seber), the best model, openp {model}, fits (goodness-of-fit \
                 p = {p:.3}), and the figure would be {} present at some time during the \
                 study ({:.0}% interval {} to {}). If individuals can enter or leave between \
                 occasions, run with --open.",
                num(other.n_hat),
                100.0 * opts.level,
                num(other.interval.lower),
                num(other.interval.upper),
            ),
        );
    }
}

/// Adds the headlines of a subgroup (e.g. the minors among the sellers) to a report:
/// `sub` holds the subgroup's records only (see
/// [`crate::data::csv_io::read_str_where`]); each of its strata gets a headline named
/// `"<stratum>: <name>"` (or `name` without strata), placed after that stratum's own
/// headline. Subgroups are part of their stratum, so the total does not add them again.
///
/// # Errors
/// As [`analyse`].
pub fn add_subgroup(
    report: &mut Report,
    sub: &DataSet,
    name: &str,
    opts: &AnalysisOptions,
) -> Result<()> {
    let lean = AnalysisOptions {
        headline_only: true,
        truth: Vec::new(),
        ..opts.clone()
    };
    let r = analyse(sub, &lean)?;
    let parts: Vec<_> = if r.headline.len() > 1 {
        r.headline
            .iter()
            .filter(|h| h.stratum.as_deref() != Some("total"))
            .cloned()
            .collect()
    } else {
        r.headline.clone()
    };
    for mut h in parts {
        let parent = h.stratum.clone();
        let label = match &parent {
            Some(s) => format!("{s}: {name}"),
            None => name.to_string(),
        };
        h.truth = report.truth_for(Some(&label));
        h.stratum = Some(label);
        h.basis = format!("{} (subgroup `{name}`)", h.basis);
        insert_after_stratum(&mut report.headline, parent.as_deref(), h);
    }
    Ok(())
}

/// Puts a subgroup's headline right after the headline of its stratum (`None`: all the
/// data), or last when there is none.
pub(super) fn insert_after_stratum(
    headline: &mut Vec<Headline>,
    stratum: Option<&str>,
    h: Headline,
) {
    let pos = headline
        .iter()
        .position(|x| x.stratum.as_deref() == stratum)
        .map_or(headline.len(), |i| i + 1);
    headline.insert(pos, h);
}

/// The `openp` models of the open-population model set.
const OPEN_MODELS: [open::OpenModel; 2] = [open::OpenModel::Up, open::OpenModel::Ep];

fn open_models(h: &CaptureHistories, opts: &AnalysisOptions) -> Result<Vec<open::OpenFit>> {
    let defaults = open::OpenParams::default();
    let Some(p) = &opts.periods else {
        return open::openp_models(h, &OPEN_MODELS, &defaults);
    };
    let mut fits = open::openp_models(&h.collapse_periods(p)?, &OPEN_MODELS, &defaults)?;
    fits.push(open::robustd_0(h, p, &open::RobustParams::params())?);
    let mh = open::RobustParams::params().model(open::ClosedModel::Mh(open::Heterogeneity::Chao));
    match open::robustd_0(h, p, &mh) {
        Ok(f) => fits.push(f),
        Err(Error::TooFewOccasions { .. }) => {}
        Err(e) => return Err(e),
    }
    Ok(fits)
}

fn histories_sections(h: &CaptureHistories, opts: &AnalysisOptions) -> Result<Vec<Section>> {
    let strata = h.split_by_stratum();
    if strata.is_empty() {
        return one_population(h, None, opts);
    }
    let mut out = Vec::new();
    let mut per_stratum = Vec::new();
    for (name, hs) in &strata {
        let secs = one_population(hs, Some(name.clone()), opts)?;
        per_stratum.push(secs.clone());
        out.extend(secs);
    }
    if !opts.headline_only {
        let mut pooled = one_population(h, Some(POOLED.into()), opts)?;
        if let Some(first) = pooled.first_mut() {
            first.notes.push(
                "strata pooled: one fit to all units as if they shared capture probabilities. \
                 It differs from the total of the headline (the sum of the stratum figures) when \
                 the strata are caught at different rates: pooling them is then a form of \
                 heterogeneity and biases the pooled N̂ low, so the headline uses the sum."
                    .into(),
            );
        }
        out.extend(pooled);
    }
    if let Some(first) = per_stratum.first() {
        for (k, sec) in first.iter().enumerate() {
            let group: Vec<&Section> = per_stratum.iter().filter_map(|v| v.get(k)).collect();
            if group.len() == per_stratum.len() && group.iter().all(|g| g.title == sec.title) {
                out.push(sum_over_strata(&sec.title, &group, opts.level));
            }
        }
    }
    Ok(out)
}

/// The rows of a model-selection table, each with its MLE-existence check, then the
/// model average.
fn push_selection(s: &mut Section, h: &CaptureHistories, ms: &closed::ModelSelection, level: f64) {
    for row in &ms.rows {
        match (&row.fit, &row.error) {
            (Some(f), _) => {
                let mut e = fit_estimate("closedpMS.t", f, level);
                if let Some(reason) = mle_missing(h, &row.terms) {
                    e.warnings.push(Warning::Degenerate { reason });
                }
                s.rows.push(closed_row(e));
            }
            (None, Some(e)) => s.failures.push(super::Failure {
                model: row.name.clone(),
                reason: e.clone(),
            }),
            (None, None) => {}
        }
    }
    s.rows.push(ms.averaged.clone().into());
}

/// A closed-model row with its deviance goodness-of-fit test.
fn closed_row(e: Estimate) -> Row {
    let gof = e.fit.as_ref().and_then(|f| {
        crate::recommend::gof_p_value(f.deviance, f.df).map(|p| Gof {
            chi2: f.deviance,
            df: f.df as f64,
            p_value: p,
            test: "deviance",
        })
    });
    Row {
        estimate: e,
        covariates: None,
        gof,
        degenerate: false,
        posterior: None,
    }
}

/// Why a log-linear model with two-list interactions only has no MLE (SparseMSE's
/// linear-programming test), or `None` when it has one or the test does not apply
/// (interactions of three or more lists, or a heterogeneity column).
fn mle_missing(h: &CaptureHistories, terms: &[u64]) -> Option<String> {
    let mut pairs = Vec::new();
    for &m in terms {
        match m.count_ones() {
            0 | 1 => {}
            2 => {
                let i = m.trailing_zeros() as usize;
                let j = 63 - m.leading_zeros() as usize;
                pairs.push((i, j));
            }
            _ => return None,
        }
    }
    let table = ListTable::from_histories(h).ok()?;
    let v = sparse::check_identifiability(&table, &sparse::Model { pairs }).ok()?;
    (!v.exists).then(|| {
        "the maximum-likelihood estimate does not exist (SparseMSE's linear-programming test)"
            .to_string()
    })
}

/// An [`Estimate`] for a fit without its own interval (model-selection rows): the
/// log-normal interval (Chao 1987) around the Poisson-regression N̂.
fn fit_estimate(method: &str, f: &ClosedFit, level: f64) -> Estimate {
    let n = f.n as f64;
    let mut e = Estimate::new(
        method,
        f.model.clone(),
        f.abundance,
        f.stderr,
        ci::log_normal(f.abundance, f.stderr, n, level),
        f.n,
    )
    .with_fit(FitStats {
        deviance: f.deviance,
        df: f.df,
        aic: f.aic,
        bic: f.bic,
    });
    e.warnings = f.warnings.clone();
    e
}

fn one_population(
    h: &CaptureHistories,
    stratum: Option<String>,
    opts: &AnalysisOptions,
) -> Result<Vec<Section>> {
    let level = opts.level;
    let n = h.observed();
    let t = h.occasions();
    let mut out = Vec::new();

    let lists = h.is_lists();
    let mut classic = Section::new("Classic estimators", stratum.clone(), n);
    for (label, r) in two_source::all(h, level) {
        if (lists && ORDER_DEPENDENT.contains(&label)) || (opts.headline_only && t > 2) {
            continue;
        }
        classic.push(label, r);
    }
    if lists && t > 2 {
        classic.notes.push(
            "lists: Schnabel and Schumacher-Eschmeyer depend on the order of the columns and were not run"
                .into(),
        );
    }
    if !classic.rows.is_empty() || !classic.failures.is_empty() {
        out.push(classic);
    }

    if t <= MAX_T_FOR_HISTORY_MODELS {
        let mut s = Section::new(
            "closedp.t (profile-likelihood intervals)",
            stratum.clone(),
            n,
        );
        // The headline alone needs no profile interval for each candidate: the averaged
        // figure has its own (log-normal) interval.
        let settings = closed::ClosedSettings {
            level,
            profile: !opts.headline_only,
            ..Default::default()
        };
        for (label, r) in closed::closedp_t_with(h, &settings)? {
            if lists && ORDER_DEPENDENT.contains(&label.as_str()) {
                continue;
            }
            s.push_row(&label, r.map(|c| closed_row(c.estimate)));
        }
        if (3..=MAX_T_FOR_MTB).contains(&t) && !lists {
            s.push_row(
                "Mtb",
                closed::closedp_mtb(h, level).map(|m| closed_row(m.estimate)),
            );
        }
        if (3..=MAX_T_FOR_MTB).contains(&t) && !lists {
            for (m, r) in crate::huggins::closedp_logit_normal_all(h, level)? {
                s.push_row(m.label(), r.map(|f| closed_row(f.estimate)));
            }
            s.notes.push(
                "Mh, Mth, Mbh and Mtbh Normal: logit-normal heterogeneity (with a \
                 behavioural effect in Mbh and Mtbh) by maximum likelihood; standard error \
                 from the observed information, log-normal interval"
                    .into(),
            );
        }
        if lists {
            s.notes.push(
                "lists: Mb, Mbh and Mtb depend on the order of the columns and were not run".into(),
            );
        }
        s.notes.push(
            "N̂ is the Poisson-regression estimate; the profile interval surrounds the \
             multinomial profile maximiser (Rcapture's closedpCI ci_abundance)"
                .into(),
        );
        out.push(s);
    } else {
        let f_k = h.summary().f_k;
        let mut s = Section::new("closedp.0 (from the capture counts)", stratum.clone(), n);
        for (label, r) in closed::closedp_0(&f_k, Some(t), None, level)? {
            s.push_row(&label, r.map(|c| closed_row(c.estimate)));
        }
        s.notes.push(format!(
            "t = {t} > {MAX_T_FOR_HISTORY_MODELS}: models without time effects, fitted to f_1..f_t"
        ));
        s.notes.extend(zero_t0_note(&f_k, Some(t), None));
        out.push(s);
    }

    let mut bc = Section::new("closedp.bc (bias-corrected)", stratum.clone(), n);
    for (label, r) in closed::closedp_bc_all(h, level) {
        if opts.headline_only {
            break;
        }
        if lists && ORDER_DEPENDENT.contains(&label.as_str()) {
            continue;
        }
        bc.push(&label, r);
    }
    if !opts.headline_only {
        out.push(bc);
    }

    if let Some(name) = &opts.model {
        let mut s = Section::new(format!("model {name}"), stratum.clone(), n);
        let r = closed::fit_model(h, name, opts.heterogeneity, level)?;
        s.rows.push(closed_row(r.estimate));
        out.push(s);
    }

    let select = match opts.select {
        None if lists && (3..=4).contains(&t) => Some(Selection::Bic),
        None if lists && (5..=MAX_LISTS_FOR_STEPWISE).contains(&t) => {
            // Two-list interactions only: every such model for 5 lists (1,024), a forward
            // search for more.
            let ms = if t == 5 {
                closed::select(h, Some(2), None, closed::Criterion::Bic, level)
            } else {
                closed::forward_search(h, closed::Criterion::Bic, level)
            };
            let title = if t == 5 {
                "closedpMS.t (two-list interactions, ranked by BIC)"
            } else {
                "closedpMS.t (forward search over two-list interactions, BIC)"
            };
            let mut s = Section::new(title, stratum.clone(), n);
            match ms {
                Ok(ms) => push_selection(&mut s, h, &ms, level),
                Err(e) => s.failures.push(super::Failure {
                    model: "model selection".into(),
                    reason: e.to_string(),
                }),
            }
            out.push(s);
            None
        }
        other => other,
    };
    match select {
        Some(sel @ (Selection::Aic | Selection::Bic)) => {
            let crit = if sel == Selection::Aic {
                closed::Criterion::Aic
            } else {
                closed::Criterion::Bic
            };
            // Every hierarchical model up to order t − 1 (Rcapture's default), or with
            // two-list interactions only when that is too many; like Rcapture, refuse
            // more than MAX_SELECTION_MODELS models.
            let count = |o: usize| {
                closed::all_models(t, o)
                    .map(|m| m.len())
                    .unwrap_or(usize::MAX)
            };
            let maxorder = if t >= 2 && count(t - 1) <= MAX_SELECTION_MODELS {
                None
            } else if t > 2 && count(2) <= MAX_SELECTION_MODELS {
                Some(2)
            } else {
                return Err(Error::param(
                    "select",
                    format!("{sel:?}").to_lowercase(),
                    format!(
                        "at most {MAX_SELECTION_MODELS} hierarchical models: with {t} lists there are more; \
                         use --select stepwise or fit one --model"
                    ),
                ));
            };
            let ms = closed::select(h, maxorder, opts.heterogeneity, crit, level)?;
            let mut s = Section::new(
                format!(
                    "closedpMS.t (ranked by {})",
                    if sel == Selection::Aic { "AIC" } else { "BIC" }
                ),
                stratum.clone(),
                n,
            );
            push_selection(&mut s, h, &ms, level);
            if maxorder.is_some() {
                s.notes.push(format!(
                    "t = {t}: models with interactions up to order 2 only ({} models)",
                    ms.rows.len()
                ));
            }
            out.push(s);
        }
        Some(Selection::Stepwise) => {
            let mut s = Section::new("SparseMSE stepwise", stratum.clone(), n);
            let r = if t > MAX_LISTS_FOR_STEPWISE {
                Err(Error::param(
                    "select",
                    "stepwise",
                    format!(
                        "at most {MAX_LISTS_FOR_STEPWISE} lists for the stepwise search over \
                         two-list effects (the data have {t}); merge lists or fit one --model"
                    ),
                ))
            } else {
                ListTable::from_histories(h)
                    .and_then(|table| sparse::stepwise(&table, &sparse::StepwiseParams::default()))
            };
            match r {
                Ok(fit) => {
                    for d in &fit.dropped {
                        s.notes
                            .push(format!("list {} dropped: {}", d.list, d.reason));
                    }
                    s.rows.push(fit.estimate.clone().into());
                }
                Err(e) => s.failures.push(super::Failure {
                    model: "SparseMSE stepwise".into(),
                    reason: e.to_string(),
                }),
            }
            out.push(s);
        }
        None => {}
    }
    Ok(out)
}

fn counts_sections(d: &CountData, opts: &AnalysisOptions) -> Result<Vec<Section>> {
    let covs: Vec<String> = match &opts.covariates {
        Some(c) => {
            for name in c {
                if d.covariate(name).is_none() {
                    return Err(Error::param(
                        "covariates",
                        name,
                        "names of covariate columns in the file",
                    ));
                }
            }
            c.clone()
        }
        None => d
            .covariates()
            .iter()
            .map(|c| c.name.clone())
            .filter(|c| Some(c) != opts.by.as_ref())
            .collect(),
    };
    let mut out = Vec::new();
    match &opts.by {
        None => out.extend(count_models(d, &covs, None, opts)?),
        Some(by) => {
            let parts = d.split_by(by)?;
            for (label, part) in &parts {
                out.extend(count_models(
                    part,
                    &covs,
                    Some(format!("{by} = {label}")),
                    opts,
                )?);
            }
            let mut all = count_models(d, &covs, Some(POOLED.into()), opts)?;
            out.append(&mut all);
            out.push(stratified(d, &covs, by, opts.level));
        }
    }
    Ok(out)
}

fn count_models(
    d: &CountData,
    covs: &[String],
    stratum: Option<String>,
    opts: &AnalysisOptions,
) -> Result<Vec<Section>> {
    let level = opts.level;
    let n = d.observed();
    let mut s = Section::new("Single-source count models", stratum.clone(), n);
    for (label, r) in counts::fit_all(d, covs, level) {
        let row = r.map(|fit| {
            let gof = counts::marginal_freq(&fit).gof(None).ok().map(|g| Gof {
                chi2: g.chi2,
                df: g.df,
                p_value: g.p_chi2,
                test: "pearson",
            });
            Row {
                estimate: fit.estimate.clone(),
                covariates: Some(fit.covariates.clone()),
                gof,
                degenerate: fit.degenerate,
                posterior: None,
            }
        });
        s.push_row(&label, row);
    }
    s.push(
        "chao (bias-corrected)",
        counts::chao_bias_corrected(d, level),
    );
    let mut out = vec![s];

    let f_k = d.frequency_table();
    let t = match opts.occasions {
        Some(Occasions::Finite(t)) => Some(t),
        _ => None,
    };
    let mut c0 = Section::new("closedp.0 (log-linear, from the counts f_k)", stratum, n);
    match closed::closedp_0(&f_k, t, opts.t0, level) {
        Ok(v) => {
            for (label, r) in v {
                c0.push_row(&label, r.map(|c| closed_row(c.estimate)));
            }
        }
        Err(e) => c0.failures.push(super::Failure {
            model: "closedp.0".into(),
            reason: e.to_string(),
        }),
    }
    c0.notes.push(match t {
        Some(t) => format!("{t} occasions"),
        None => "continuous time (t = ∞; set --occasions for discrete occasions)".into(),
    });
    c0.notes.extend(zero_t0_note(&f_k, t, opts.t0));
    out.push(c0);
    Ok(out)
}

/// The note saying that the `.0` models were truncated at an automatic t0.
fn zero_t0_note(f_k: &[u64], t: Option<usize>, t0: Option<usize>) -> Option<String> {
    let (t0, capped) = closed::zero_t0(f_k, t, t0);
    capped.then(|| {
        let above: u64 = f_k.iter().skip(t0).sum();
        format!(
            "fitted to the units caught at most t0 = {t0} times (t0 chosen automatically to keep \
             the fit fast; {above} units caught more often count in N̂ but not in the fit); set --t0 to change"
        )
    })
}

/// `stratifyPopsize`: N̂ per level of `by` from one zero-truncated Poisson fit on all the
/// data (with `by` among its covariates), rather than separate fits per level.
fn stratified(d: &CountData, covs: &[String], by: &str, level: f64) -> Section {
    let mut model_covs = covs.to_vec();
    if !model_covs.iter().any(|c| c == by) {
        model_covs.push(by.to_string());
    }
    let label = format!("ztpoisson ~ {}", model_covs.join(" + "));
    let mut s = Section::new(
        format!("stratifyPopsize ({label})"),
        Some(format!("by {by}")),
        d.observed(),
    );
    let r = counts::CountModel::params(counts::Family::ZtPoisson)
        .covariates(&model_covs)
        .level(level)
        .fit(d)
        .and_then(|fit| counts::stratify(&fit, d, by, level));
    match r {
        Ok(rows) => {
            for st in rows {
                let observed = st.observed.round() as u64;
                let e = Estimate::new(
                    "stratifyPopsize",
                    st.name.clone(),
                    st.estimated,
                    st.se,
                    st.log_normal,
                    observed,
                )
                .with_other_interval(st.normal);
                s.rows.push(e.into());
            }
        }
        Err(e) => s.failures.push(super::Failure {
            model: label,
            reason: e.to_string(),
        }),
    }
    s
}

/// Sums each model's estimate over strata (models present in every stratum):
///
/// ```text
/// N̂ = Σ_s N̂_s,   SE = sqrt(Σ_s SE_s²)   (strata estimated independently)
/// ```
/// with a log-normal interval (Chao 1987) on the summed dark figure.
pub fn sum_over_strata(title: &str, strata: &[&Section], level: f64) -> Section {
    let observed: u64 = strata.iter().map(|s| s.observed).sum();
    let mut out = Section::new(title, Some(SUMMED.into()), observed);
    let Some(first) = strata.first() else {
        return out;
    };
    for e in first.estimates() {
        let parts: Vec<&Estimate> = strata
            .iter()
            .filter_map(|s| s.estimates().find(|x| x.model == e.model))
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
        out.rows.push(sum.into());
    }
    out
}
