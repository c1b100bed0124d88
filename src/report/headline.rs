//! From the report's tables to its headlines: which rows are offered to the rule
//! ([`crate::recommend`]) for each stratum, and how.

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
    o.order_dependent = super::analyse::ORDER_DEPENDENT.contains(&o.model.as_str());
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
        return vec![open_headline(report, level)];
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
            let without = recommend::recommend(name, observed, offers, &rule, truth);
            h.warnings.extend(covariate_check(&h, &without, &secs));
        }
        out.push(h);
    }
    if out.len() > 1 {
        let parts: Vec<&Headline> = out.iter().collect();
        let truth = report
            .truth_for(Some(SUMMED))
            .or_else(|| report.truth_for(Some(POOLED)));
        let total = sum_headlines(&parts, level, truth);
        out.push(total);
    }
    out
}

/// Whether a section holds the Huggins covariate models ([`super::huggins::report_section`]).
fn is_huggins(title: &str) -> bool {
    title.starts_with(super::huggins::TITLE)
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
    let why = if side == "below" {
        "capture probability depends on them, and models that ignore it under-count the people who are hard to catch (Huggins 1989; the covariate simulation in the README)"
    } else {
        "the models without covariates may be fitting heterogeneity or behaviour the covariates do not explain; look at the candidate tables"
    };
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
fn open_headline(report: &Report, level: f64) -> Headline {
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
    };
    recommend::recommend(None, n, offers, &rule, report.truth_for(None))
}
