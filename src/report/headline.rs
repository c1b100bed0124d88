//! From the report's tables to its headlines: which rows are offered to the rule
//! ([`crate::recommend`]) for each stratum, and how.

use super::common::ROLES_TOTAL;
use super::{POOLED, Report, SUMMED, Section};
use crate::data::{CaptureHistories, DataSet};
use crate::estimate::{Estimate, FitStats, Warning};
use crate::recommend::{
    self, Criterion, DataKind, Headline, Offer, Rule, degenerate_reason, sum_headlines,
};

/// Marks every row whose estimate cannot be printed as a number as degenerate, with a
/// typed [`Warning::Degenerate`]; `cells` is the number of cells of the fitted table.
pub(super) fn mark_degenerate(sections: &mut [Section], cells: f64) {
    for s in sections {
        for row in &mut s.rows {
            let e = &mut row.estimate;
            let already = e.warnings.iter().find_map(|w| match w {
                Warning::Degenerate { reason } => Some(reason.clone()),
                _ => None,
            });
            let reason = already.clone().or_else(|| degenerate_reason(e, cells));
            if let Some(r) = reason {
                row.degenerate = true;
                if already.is_none() {
                    e.warnings.push(Warning::Degenerate { reason: r });
                }
            }
        }
    }
}

/// Whether the deviance χ² reference can be trusted for these histories: at most a fifth
/// of the 2^t − 1 observable cells hold fewer than 5 units.
pub(super) fn gof_reliable(h: &CaptureHistories) -> bool {
    let t = h.occasions();
    if t > 20 {
        return true; // the f_k table is what is fitted
    }
    let Ok(cells) = h.cell_counts() else {
        return false;
    };
    let observable = cells.len().saturating_sub(1).max(1);
    let small = cells.iter().skip(1).filter(|&&c| c < 5).count();
    small * 5 <= observable
}

fn is_zt_family(model: &str) -> bool {
    let fam = model.split(" ~").next().unwrap_or(model);
    matches!(
        fam,
        "ztpoisson"
            | "ztnegbin"
            | "ztgeom"
            | "ztoipoisson"
            | "oiztpoisson"
            | "ztoigeom"
            | "oiztgeom"
    )
}

fn offer(s: &Section, row: &super::Row) -> Offer {
    let mut o = Offer::new(s.title.clone(), row.estimate.clone());
    o.gof_p = row.gof.map(|g| g.p_value);
    o.order_dependent = super::common::ORDER_DEPENDENT.contains(&o.model.as_str());
    if o.model.ends_with(" Normal") {
        // σ̂ = 0: the model is its twin without heterogeneity, a candidate already;
        // b̂ unbounded: N̂ runs with it.
        o.excluded = row.estimate.warnings.iter().find_map(|w| match w {
            Warning::Boundary { parameter } => Some(format!("on the boundary: {parameter}")),
            _ => None,
        });
    }
    if row.degenerate {
        o.excluded = row.estimate.warnings.iter().find_map(|w| match w {
            Warning::Degenerate { reason } => Some(reason.clone()),
            _ => None,
        });
        if o.excluded.is_none() {
            let why: Vec<String> = row
                .estimate
                .warnings
                .iter()
                .map(|w| w.to_string())
                .collect();
            o.excluded = Some(format!("the fit degenerated ({})", why.join("; ")));
        }
    }
    o
}

/// The offers and the rule for the sections of one stratum.
fn offers_for(sections: &[&Section], kind: DataKind, t: Option<usize>) -> (Vec<Offer>, Rule) {
    let mut offers = Vec::new();
    let mut weighted_sets: Vec<String> = Vec::new();
    let has_ms = sections.iter().any(|s| s.title.starts_with("closedpMS.t"));
    // With covariates the Huggins family is the candidate set; the full-likelihood models
    // are a comparison (their AIC is on another scale). See `report::huggins`.
    let huggins = sections.iter().any(|s| is_huggins(&s.title));
    for s in sections {
        let title = s.title.as_str();
        let (weighted, sensitivity) = match kind {
            DataKind::Occasions | DataKind::Lists if huggins => {
                if (title.starts_with("Classic") && t != Some(2)) || title.starts_with("closedp.bc")
                {
                    continue;
                }
                (is_huggins(title), false)
            }
            DataKind::Occasions | DataKind::Lists => {
                if title.starts_with("Classic") {
                    if t != Some(2) {
                        continue; // Schnabel and Schumacher-Eschmeyer: M0/Mt without a likelihood
                    }
                    (false, true)
                } else if ["closedp.t", "closedp.0", "closedpMS.t", "model "]
                    .iter()
                    .any(|p| title.starts_with(p))
                {
                    (true, false)
                } else if title.starts_with("SparseMSE") {
                    (false, true)
                } else {
                    continue; // closedp.bc: bias corrections of the same models
                }
            }
            DataKind::Counts => {
                if title.starts_with("Single-source") {
                    (true, false)
                } else if title.starts_with("closedp.0") {
                    (false, true)
                } else {
                    continue;
                }
            }
            DataKind::Open => continue,
        };
        let mut n_weighted = 0;
        for row in &s.rows {
            let model = row.estimate.model.as_str();
            if model == "model average" {
                continue;
            }
            // With the hierarchical set present, Mt is its independence model.
            if has_ms && title.starts_with("closedp.t") && model == "Mt" {
                continue;
            }
            let mut o = offer(s, row);
            o.weighted = weighted;
            o.sensitivity = sensitivity;
            let huggins_mb = is_huggins(title) && model.starts_with("Huggins Mb");
            if t == Some(2) && (model == "Mb" || huggins_mb) && o.excluded.is_none() {
                o.excluded = Some(
                    "with two occasions Mb fits the data exactly, as Mt does, and the data cannot tell them apart"
                        .into(),
                );
            }
            if kind == DataKind::Counts && title.starts_with("Single-source") {
                if model.contains("Hurdle") {
                    // Hurdle models define N differently (the hurdle at one counts
                    // people never at risk of a repeat): shown in the full tables only.
                    continue;
                }
                if !is_zt_family(model) {
                    o.weighted = false;
                    o.sensitivity = true;
                }
                if model.starts_with("chao") || model.starts_with("zelterman") {
                    o.sensitivity = true;
                }
            }
            if o.weighted {
                n_weighted += 1;
            }
            offers.push(o);
        }
        if n_weighted > 0 {
            let what = if title.starts_with("Single-source") {
                "zero-truncated count"
            } else {
                short_title(title)
            };
            weighted_sets.push(format!("{n_weighted} {what}"));
        }
    }
    let criterion = match kind {
        DataKind::Lists => Criterion::Bic,
        _ => Criterion::Aic,
    };
    let preferred =
        (t == Some(2) && !huggins && matches!(kind, DataKind::Occasions | DataKind::Lists))
            .then(|| "Chapman".to_string());
    let candidates_text = if weighted_sets.is_empty() {
        "no likelihood-based models".to_string()
    } else {
        format!("{} models", weighted_sets.join(" and "))
    };
    let rule = Rule {
        kind,
        criterion,
        level: 0.95,
        gof_reliable: true,
        preferred,
        candidates_text,
        recaptures: None,
    };
    (offers, rule)
}

fn short_title(title: &str) -> &str {
    title.split(" (").next().unwrap_or(title)
}

fn is_total(stratum: Option<&str>) -> bool {
    matches!(stratum, Some(POOLED) | Some(SUMMED)) || stratum.is_some_and(|s| s.starts_with("by "))
}

/// The headlines of a report: one per stratum and one for the total (the sum of the
/// stratum headlines), or one when there are no strata.
pub(super) fn build(report: &Report, data: &DataSet) -> Vec<Headline> {
    let level = report.level;
    let (kind, t) = match data {
        DataSet::Histories { data: h, .. } => {
            let kind = if !report.open.is_empty() {
                DataKind::Open
            } else if h.is_lists() {
                DataKind::Lists
            } else {
                DataKind::Occasions
            };
            (kind, Some(h.occasions()))
        }
        DataSet::Counts { .. } => (DataKind::Counts, None),
    };
    if kind == DataKind::Open {
        return vec![open_headline(report, level, recaptures(data, None))];
    }
    let reliable = |stratum: Option<&str>| match data {
        DataSet::Histories { data: h, .. } => match stratum {
            None => gof_reliable(h),
            Some(name) => h.stratum(name).is_none_or(|x| gof_reliable(&x)),
        },
        DataSet::Counts { .. } => true,
    };
    // Strata in the order their sections appear.
    let mut strata: Vec<Option<String>> = Vec::new();
    for s in &report.sections {
        let st = s.stratum.clone();
        if is_total(st.as_deref()) || strata.contains(&st) {
            continue;
        }
        strata.push(st);
    }
    let mut out = Vec::new();
    for st in &strata {
        let secs: Vec<&Section> = report
            .sections
            .iter()
            .filter(|s| &s.stratum == st)
            .collect();
        let observed = secs.first().map_or(0, |s| s.observed);
        let (offers, mut rule) = offers_for(&secs, kind, t);
        rule.level = level;
        rule.gof_reliable = reliable(st.as_deref());
        rule.recaptures = recaptures(data, st.as_deref());
        let truth = report.truth_for(st.as_deref());
        let name = st
            .as_deref()
            .map(|s| s.strip_prefix("by ").unwrap_or(s).to_string());
        let mut h = recommend::recommend(name.clone(), observed, offers, &rule, truth);
        if secs.iter().any(|s| is_huggins(&s.title)) {
            let plain: Vec<&Section> = secs
                .iter()
                .copied()
                .filter(|s| !is_huggins(&s.title))
                .collect();
            let (offers, mut rule) = offers_for(&plain, kind, t);
            rule.level = level;
            rule.gof_reliable = reliable(st.as_deref());
            rule.recaptures = recaptures(data, st.as_deref());
            let mut without = recommend::recommend(name, observed, offers, &rule, truth);
            match covariates_unfitted(&secs) {
                // the Huggins family without its covariates adds nothing to the closedp.t
                // models: the figure is theirs, as without --covariates
                Some(why) => {
                    without.warnings.insert(0, why);
                    h = without;
                }
                None => h.warnings.extend(covariate_check(&h, &without, &secs)),
            }
        }
        out.push(h);
    }
    if out.len() > 1 {
        let parts: Vec<&Headline> = out.iter().collect();
        let truth = report
            .truth_for(Some(SUMMED))
            .or_else(|| report.truth_for(Some(POOLED)));
        out.push(sum_headlines(&parts, level, truth));
    }
    out
}

/// A figure over strata (the total, or the pooled data of an open reading) in which some
/// units are counted more than once (`--unit-stratum each`: an identifier recorded in two
/// strata is a unit of each) says so beside it, with how many and the first.
pub(super) fn add_roles_caution(headline: &mut [Headline], data: &DataSet) {
    let Some(w) = roles_caution(data) else {
        return;
    };
    for h in headline
        .iter_mut()
        .filter(|h| matches!(h.stratum.as_deref(), None | Some("total")))
        .filter(|h| !h.warnings.contains(&w))
    {
        h.warnings.insert(0, w.clone());
    }
}

/// The caution of [`add_roles_caution`]; `None` when every identifier is in one stratum.
fn roles_caution(data: &DataSet) -> Option<String> {
    let DataSet::Histories { data: h, .. } = data else {
        return None;
    };
    let (ids, st) = (h.ids()?, h.strata()?);
    let mut first_code: std::collections::HashMap<&str, u32> = Default::default();
    let mut several: Vec<&str> = Vec::new();
    for (id, &code) in ids.iter().zip(&st.codes) {
        match first_code.get(id.as_str()) {
            None => {
                first_code.insert(id, code);
            }
            Some(&c) if c != code && !several.contains(&id.as_str()) => several.push(id),
            Some(_) => {}
        }
    }
    let first = several.first()?;
    let n = several.len();
    Some(format!(
        "{ROLES_TOTAL} {n} unit{} recorded in more than one stratum (first: `{first}`) {} \
         counted once in each (--unit-stratum each), so a person in two strata counts twice \
         in this figure and the number of distinct people is smaller. Cite the stratum \
         figures for the strata.",
        if n == 1 { "" } else { "s" },
        if n == 1 { "is" } else { "are" },
    ))
}

/// The records beyond each unit's first in one stratum (`None`: all the data), the
/// overlap the rule checks ([`Rule::recaptures`]): Σ captures − units seen for histories
/// (appearances beyond the first list for lists), Σ (count − 1) for counts. `None` when
/// the stratum cannot be found in the data (no check is made then).
fn recaptures(data: &DataSet, stratum: Option<&str>) -> Option<u64> {
    fn histories(h: &CaptureHistories) -> u64 {
        h.iter()
            .map(|(code, f)| u64::from(code.count_ones().saturating_sub(1)).saturating_mul(f))
            .fold(0, u64::saturating_add)
    }
    fn counts(c: &crate::data::CountData) -> u64 {
        c.counts()
            .iter()
            .zip(c.frequencies())
            .map(|(&y, &f)| y.saturating_sub(1).saturating_mul(f))
            .fold(0, u64::saturating_add)
    }
    match (data, stratum) {
        (DataSet::Histories { data: h, .. }, None) => Some(histories(h)),
        (DataSet::Histories { data: h, .. }, Some(name)) => h.stratum(name).map(|x| histories(&x)),
        (DataSet::Counts { data: c, .. }, None) => Some(counts(c)),
        // count strata are sections labelled `column = value`
        (DataSet::Counts { data: c, .. }, Some(label)) => {
            let (by, value) = label.split_once(" = ")?;
            let parts = c.split_by(by).ok()?;
            parts
                .iter()
                .find(|(v, _)| v == value)
                .map(|(_, part)| counts(part))
        }
    }
}

/// The title every Huggins covariate section starts with (`report::huggins` builds them;
/// the constant lives here so the headline does not depend on that module).
pub(crate) const HUGGINS_TITLE: &str = "Huggins";

/// Whether a section holds the Huggins covariate models (built by `report::huggins`).
fn is_huggins(title: &str) -> bool {
    title.starts_with(HUGGINS_TITLE)
}

/// When covariates were given but no Huggins model with them could be fitted: why, in
/// words, naming the first failure (`None` when one was fitted, or none was asked for).
fn covariates_unfitted(secs: &[&Section]) -> Option<String> {
    let huggins: Vec<&&Section> = secs.iter().filter(|s| is_huggins(&s.title)).collect();
    let with_covariates = |r: &super::Row| r.covariates.as_ref().is_some_and(|c| !c.is_empty());
    let asked = huggins
        .iter()
        .any(|s| s.title.contains("covariates ") || s.rows.iter().any(&with_covariates));
    let fitted = huggins.iter().any(|s| {
        s.rows
            .iter()
            .any(|r| with_covariates(r) && !r.degenerate && r.estimate.n_hat.is_finite())
    });
    if !asked || fitted {
        return None;
    }
    let first = huggins
        .iter()
        .flat_map(|s| &s.failures)
        .find(|f| f.model.contains(" + "))
        .map(|f| format!(" (first: {}: {})", f.model, f.reason))
        .unwrap_or_default();
    Some(format!(
        "No Huggins model with the covariates could be fitted{first}, so the figure comes from \
         the models without covariates, as if --covariates had not been given; drop or \
         recode the covariates the reason names."
    ))
}

/// The check of a covariate headline against the headline the same rule gives without
/// the covariates (`without`, from the full-likelihood models): a line giving the latter,
/// and a warning when it lies outside the former's interval, saying in which direction.
fn covariate_check(with: &Headline, without: &Headline, secs: &[&Section]) -> Option<String> {
    if !(with.n_hat.is_finite() && without.n_hat.is_finite()) {
        return None;
    }
    let covs: Vec<String> = secs
        .iter()
        .filter(|s| is_huggins(&s.title))
        .flat_map(|s| s.rows.iter().filter_map(|r| r.covariates.clone()))
        .flatten()
        .fold(Vec::new(), |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
    let i = &with.interval;
    let side = if without.n_hat < i.lower {
        "below"
    } else if without.n_hat > i.upper {
        "above"
    } else {
        return Some(format!(
            "Check: ignoring the covariates ({}), the same rule gives {} ({}), inside the covariate models' interval.",
            covs.join(", "),
            crate::estimate::fmt_num(without.n_hat),
            without.basis
        ));
    };
    if side == "above" {
        return Some(format!(
            "{} the same rule without them ({}) gives {} ({}), above the covariate models' interval {} to {}. The covariate models take catchability to vary only with the covariates; the models without them may be fitting heterogeneity or behaviour the covariates do not explain, and then the covariate figure is too low. Look at the candidate tables before citing it.",
            super::common::COVARIATES_SHORT,
            covs.join(", "),
            super::common::num(without.n_hat),
            without.basis,
            super::common::num(i.lower),
            super::common::num(i.upper),
        ));
    }
    let why = "capture probability depends on them, and models that ignore it under-count the people who are hard to catch (Huggins 1989; the covariate simulation in the README)";
    Some(format!(
        "Ignoring the covariates ({}), the same rule gives {} ({}), {side} the covariate models' interval {} to {}: {why}.",
        covs.join(", "),
        crate::estimate::fmt_num(without.n_hat),
        without.basis,
        crate::estimate::fmt_num(i.lower),
        crate::estimate::fmt_num(i.upper),
    ))
}

/// Open populations: the number of units ever present, AIC-averaged over the `openp`
/// models (up and ep).
fn open_headline(report: &Report, level: f64, recaptures: Option<u64>) -> Headline {
    let n = report.data.observed;
    let mut offers = Vec::new();
    for f in &report.open {
        let (Some(total), se) = (f.total.estimate, f.total.se) else {
            continue;
        };
        let se = se.unwrap_or(f64::NAN);
        let e = Estimate::new(
            "openp",
            format!("{} (ever present)", f.model),
            total,
            se,
            crate::ci::log_normal(total, se, n as f64, level),
            n,
        )
        .with_fit(FitStats {
            deviance: f.fit.deviance,
            df: f.fit.df,
            aic: f.fit.aic,
            bic: f64::NAN,
        })
        .with_assumptions(&[crate::estimate::Assumption::PerfectMatching]);
        let mut o = Offer::new("openp", e);
        o.gof_p = recommend::gof_p_value(f.fit.deviance, f.fit.df);
        // The robust design and openp fit different tables: weight openp only.
        o.weighted = f.period_models.is_empty();
        o.sensitivity = !o.weighted;
        offers.push(o);
    }
    let rule = Rule {
        kind: DataKind::Open,
        criterion: Criterion::Aic,
        level,
        gof_reliable: true,
        preferred: None,
        candidates_text: format!(
            "{} openp models",
            offers.iter().filter(|o| o.weighted).count()
        ),
        recaptures,
    };
    recommend::recommend(None, n, offers, &rule, report.truth_for(None))
}

/// The title of the `--bayes` sections ([`super::bayes`]).
pub(super) const BAYES_SECTION: &str = "Bayesian multiple-systems estimation";

/// One Bayesian posterior of N shown beside a headline (`--bayes`).
///
/// The Bayesian estimates are **not** headline candidates: a posterior is not a
/// likelihood-based fit whose AIC or BIC compares with the log-linear models' (dga averages
/// over its own model space with its own prior; LCMCR's latent classes have no maximised
/// likelihood at all), so neither can take an information-criterion weight. They are
/// shown as a cross-check instead, and a disagreement is flagged
/// ([`BayesFlag::Disagrees`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BayesCrossCheck {
    /// `dga` or `LCMCR`.
    pub method: String,
    /// Posterior median of N.
    pub median: f64,
    /// Lower end of the credible interval.
    pub lower: f64,
    /// Upper end of the credible interval.
    pub upper: f64,
    /// Whether the posterior can be trusted as computed: always for dga (exact on its
    /// grid), for LCMCR when R̂ ≤ 1.01 and the bulk and tail ESS of N are at least 400.
    pub converged: bool,
}

/// What the Bayesian cross-check found (shown among the headline's checks).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum BayesFlag {
    /// A converged posterior median and the headline differ by more than
    /// [`recommend::DISAGREE_FACTOR`].
    Disagrees {
        /// `dga` or `LCMCR`.
        method: String,
        /// Posterior median.
        median: f64,
        /// The headline's N̂.
        headline: f64,
        /// max/min of the two.
        factor: f64,
    },
    /// LCMCR's chains have not mixed (R̂ > 1.01 or an ESS of N below 400).
    NotMixed {
        /// R̂ of N.
        rhat: f64,
        /// Bulk ESS of N.
        ess_bulk: f64,
        /// Tail ESS of N.
        ess_tail: f64,
    },
}

impl std::fmt::Display for BayesFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BayesFlag::Disagrees {
                method,
                median,
                headline,
                factor,
            } => write!(
                f,
                "Bayesian cross-check: the {method} posterior median ({}) and the headline ({}) \
                 differ by a factor of {factor:.2} (more than {}): the models disagree about \
                 the unseen; report both and say which assumptions each makes.",
                crate::estimate::fmt_num(*median),
                crate::estimate::fmt_num(*headline),
                recommend::DISAGREE_FACTOR
            ),
            BayesFlag::NotMixed {
                rhat,
                ess_bulk,
                ess_tail,
            } => write!(
                f,
                "Bayesian cross-check: LCMCR's chains have not mixed (R̂ {rhat:.3}, bulk ESS \
                 {ess_bulk:.0}, tail ESS {ess_tail:.0}; want R̂ ≤ 1.01 and ESS ≥ 400): its \
                 figure is not a posterior summary yet."
            ),
        }
    }
}

/// The stratum of the headline a `--bayes` section belongs to: the headline of the data
/// when there are no strata, a stratum's own, and the total (`"total"`) for the section of
/// the total over strata (or of the strata pooled).
fn bayes_headline_stratum(section_stratum: Option<&str>) -> Option<&str> {
    match section_stratum {
        None => None,
        Some(SUMMED) | Some(POOLED) => Some("total"),
        Some(s) => Some(s),
    }
}

/// The `--bayes` section set beside headline `h`, if any.
fn bayes_section<'a>(report: &'a Report, h: &Headline) -> Option<&'a Section> {
    report.sections.iter().find(|s| {
        s.title == BAYES_SECTION
            && bayes_headline_stratum(s.stratum.as_deref()) == h.stratum.as_deref()
    })
}

/// The Bayesian posteriors of the `--bayes` section set beside headline `h` (empty
/// without one), and the flags they raise against its N̂.
pub(super) fn bayes_cross_check(
    report: &Report,
    h: &Headline,
) -> (Vec<BayesCrossCheck>, Vec<BayesFlag>) {
    let mut checks = Vec::new();
    let mut flags = Vec::new();
    let h_n_hat = h.n_hat;
    let Some(s) = bayes_section(report, h) else {
        return (checks, flags);
    };
    for row in &s.rows {
        let e = &row.estimate;
        let Some(post) = &row.posterior else { continue };
        if row.degenerate || !post.median.is_finite() {
            continue;
        }
        let method = if e.method == "lcmcr" { "LCMCR" } else { "dga" }.to_string();
        let diag = post.diagnostics.as_ref().map(|d| d.n);
        let converged = diag.is_none_or(|d| d.ok());
        if let Some(d) = diag.filter(|d| !d.ok()) {
            flags.push(BayesFlag::NotMixed {
                rhat: d.rhat,
                ess_bulk: d.ess_bulk,
                ess_tail: d.ess_tail,
            });
        }
        if converged && h_n_hat.is_finite() && h_n_hat > 0.0 {
            let factor = post.median.max(h_n_hat) / post.median.min(h_n_hat);
            if factor > recommend::DISAGREE_FACTOR {
                flags.push(BayesFlag::Disagrees {
                    method: method.clone(),
                    median: post.median,
                    headline: h_n_hat,
                    factor,
                });
            }
        }
        checks.push(BayesCrossCheck {
            method,
            median: post.median,
            lower: e.interval.lower,
            upper: e.interval.upper,
            converged,
        });
    }
    (checks, flags)
}

/// Whether headline `h` has a `--bayes` section set beside it.
pub(super) fn is_bayes_headline(report: &Report, h: &Headline) -> bool {
    bayes_section(report, h).is_some()
}

/// Adds the flags of the Bayesian cross-check to the warnings of the headline it belongs
/// to (see [`BayesCrossCheck`] for why the posteriors are not candidates).
pub(super) fn add_bayes_flags(report: &Report, headlines: &mut [Headline]) {
    for h in headlines.iter_mut() {
        let (_, flags) = bayes_cross_check(report, h);
        h.warnings.extend(flags.iter().map(|f| f.to_string()));
    }
}

impl Report {
    /// The Bayesian cross-check of the `--bayes` section against the headline it belongs
    /// to: the only headline, or the total over strata (each stratum has its own, see
    /// [`Report::bayes_cross_check_for`]). Empty without `--bayes`.
    pub fn bayes_cross_check(&self) -> (Vec<BayesCrossCheck>, Vec<BayesFlag>) {
        let total = self
            .headline
            .iter()
            .any(|h| h.stratum.as_deref() == Some("total"));
        let target = total.then_some("total");
        self.bayes_cross_check_for(target)
    }

    /// The Bayesian cross-check beside the headline of `stratum` (`None`: the data
    /// without strata; `Some("total")`: the total over strata). Empty without `--bayes`
    /// or without such a headline.
    pub fn bayes_cross_check_for(
        &self,
        stratum: Option<&str>,
    ) -> (Vec<BayesCrossCheck>, Vec<BayesFlag>) {
        match self
            .headline
            .iter()
            .find(|h| h.stratum.as_deref() == stratum)
        {
            Some(h) => bayes_cross_check(self, h),
            None => (Vec::new(), Vec::new()),
        }
    }
}
