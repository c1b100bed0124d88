//! The Huggins section of a report: M0, Mt, Mb and Mtb with and without the individual
//! covariates, fitted to histories with covariates and listed by AIC.
//!
//! # In the full analysis ([`analyse_with_covariates`])
//! With covariates, the headline is made from the **Huggins family**: M0, Mt, Mb and Mtb
//! each without and with the covariates, all on the conditional likelihood, so that their
//! AICs compare and can weight an average (the rule of [`crate::recommend`]). The
//! conditional likelihood is *not* the full (log-linear, Otis) likelihood of the
//! `closedp.t` models, and its AIC is on another scale: the `closedp.t` models stay in the
//! report and in the headline's candidate table as a **comparison** (no ΔAIC, no weight).
//! A check compares the two answers: when the figure the same rule gives without the
//! covariates (from the `closedp.t` models) falls outside the covariate headline's
//! interval, a warning says so and in which direction (otherwise a line gives that
//! figure). Ignoring covariates that drive capture biases N̂ down (units hard to catch are under-represented among those seen;
//! Huggins 1989, Alho 1990), so "below" is the expected direction.

use super::{AnalysisOptions, Failure, Report, Row, Section};
use crate::data::CovariateHistories;
use crate::data::csv_io::Layout;
use crate::data::{DataSet, ReadOptions, read_covariate_histories_with};
use crate::error::Result;
use crate::estimate::fmt_num;
use crate::huggins::{Huggins, HugginsFit, HugginsParams};
use serde::Serialize;

/// The candidate Huggins fits of a data set, ordered by AIC (models that cannot be fitted
/// are listed with the reason).
#[derive(Debug, Clone, Serialize)]
pub struct HugginsSection {
    /// Covariates used.
    pub covariates: Vec<String>,
    /// Fits, best AIC first.
    pub fits: Vec<HugginsFit>,
    /// Models that failed, with the error.
    pub failed: Vec<(String, String)>,
}

/// Fits M0, Mt, Mb, Mtb without covariates and, when `covariates` is not empty, with them.
///
/// # Errors
/// None for a failed model (it is listed in [`HugginsSection::failed`]); the function
/// itself returns `Ok` unless `level` is invalid.
pub fn section(
    data: &CovariateHistories,
    covariates: &[String],
    level: f64,
) -> Result<HugginsSection> {
    crate::ci::check_level(level)?;
    let bases = [Huggins::m0, Huggins::mt, Huggins::mb, Huggins::mtb];
    let mut specs = Vec::new();
    for b in bases {
        specs.push(b().level(level));
        if !covariates.is_empty() {
            specs.push(b().covariates(covariates).level(level));
        }
    }
    let mut fits = Vec::new();
    let mut failed = Vec::new();
    for s in specs {
        match s.fit(data) {
            Ok(f) => fits.push(f),
            Err(e) => failed.push((s.label(), e.to_string())),
        }
    }
    fits.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    Ok(HugginsSection {
        covariates: covariates.to_vec(),
        fits,
        failed,
    })
}

/// The section as a Markdown table.
///
/// # Errors
/// As [`section`].
pub fn table(data: &CovariateHistories, covariates: &[String], level: f64) -> Result<String> {
    let s = section(data, covariates, level)?;
    let mut out = format!(
        "Huggins conditional-likelihood models ({} seen, {} occasions), by AIC\n\n\
         | model | k | logLik | AIC | ΔAIC | N̂ | SE | {:.0} % CI (log-normal) | dark figure | warnings |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        data.histories().observed(),
        data.histories().occasions(),
        100.0 * level
    );
    let best = s.fits.first().map(|f| f.aic).unwrap_or(f64::NAN);
    for f in &s.fits {
        let e = &f.estimate;
        out.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | [{}, {}] | {} | {} |\n",
            f.model,
            f.coef.len(),
            f.loglik,
            f.aic,
            f.aic - best,
            fmt_num(e.n_hat),
            fmt_num(e.se),
            fmt_num(e.interval.lower),
            fmt_num(e.interval.upper),
            fmt_num(e.dark_figure),
            e.warnings
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    for (m, e) in &s.failed {
        out.push_str(&format!("| {m} | | | | | not fitted: {e} | | | | |\n"));
    }
    Ok(out)
}

/// Reads `path` as capture histories with the named covariates when it is one: a file
/// without a count column (`count`, `nbcap` or `opts.count_column`) whose other columns give
/// at least two occasions (wide 0/1 columns, or a long file's records). `Ok(None)` means
/// "not histories with covariates" (a counts file).
///
/// # Errors
/// [`crate::Error::Io`] when the file cannot be read; the reader's errors for a histories
/// file with a bad value.
pub fn histories_with_covariates(
    path: &std::path::Path,
    covariates: &[String],
    opts: &ReadOptions,
) -> Result<Option<CovariateHistories>> {
    let text = std::fs::read_to_string(path).map_err(|source| crate::Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    histories_with_covariates_str(&text, &path.display().to_string(), covariates, opts)
}

/// As [`histories_with_covariates`], from the text of a file named `file`.
///
/// # Errors
/// The reader's errors for a histories file with a bad value.
pub fn histories_with_covariates_str(
    text: &str,
    file: &str,
    covariates: &[String],
    opts: &ReadOptions,
) -> Result<Option<CovariateHistories>> {
    let header = text.lines().next().unwrap_or_default();
    let is_counts = header.split([',', ';', '\t']).any(|h| {
        let h = h.trim().trim_matches('"');
        h.eq_ignore_ascii_case("count")
            || h.eq_ignore_ascii_case("nbcap")
            || opts
                .count_column
                .as_deref()
                .is_some_and(|c| h.eq_ignore_ascii_case(c))
    });
    if is_counts || covariates.is_empty() || opts.layout == Some(Layout::Counts) {
        return Ok(None);
    }
    let d = read_covariate_histories_with(text, file, covariates, opts)?;
    Ok((d.histories().occasions() >= 2).then_some(d))
}

/// The section rendered as Markdown, or as JSON when `json` is set.
///
/// # Errors
/// As [`section`].
pub fn render(
    data: &CovariateHistories,
    covariates: &[String],
    level: f64,
    json: bool,
) -> Result<String> {
    if json {
        let s = section(data, covariates, level)?;
        serde_json::to_string_pretty(&s).map_err(|e| crate::Error::Numerical {
            reason: format!("cannot write JSON: {e}"),
        })
    } else {
        table(data, covariates, level)
    }
}

/// Title of the Huggins section of a report (the headline rule recognises it by this
/// prefix).
pub const TITLE: &str = super::headline::HUGGINS_TITLE;

/// Label of a Huggins model in a report: `Huggins ` and the model (`Huggins Mt + sex`), so
/// that it never reads as the `closedp.t` model of the same name.
pub fn report_label(fit: &HugginsFit) -> String {
    format!("{TITLE} {}", fit.model)
}

/// The Huggins models as a report [`Section`]: M0, Mt, Mb, Mtb, each without and with
/// `covariates`, in that order; each row carries the covariates it uses (empty for the
/// models without). On lists (unordered sources) Mb and Mtb are not run: their behavioural
/// effect depends on the order of the columns.
///
/// # Errors
/// [`crate::Error::InvalidParameter`] for a bad level; a model that cannot be fitted is
/// listed among the section's failures.
pub fn report_section(
    data: &CovariateHistories,
    covariates: &[String],
    stratum: Option<String>,
    level: f64,
) -> Result<Section> {
    crate::ci::check_level(level)?;
    let n = data.histories().observed();
    let lists = data.histories().is_lists();
    let title = if covariates.is_empty() {
        format!("{TITLE} (conditional likelihood)")
    } else {
        format!(
            "{TITLE} (conditional likelihood; covariates {})",
            covariates.join(", ")
        )
    };
    let mut s = Section::new(title, stratum, n);
    for spec in model_set(lists, covariates, level) {
        match spec.fit(data) {
            Ok(f) => s.rows.push(huggins_row(&f, f.estimate.clone())),
            Err(e) => s.failures.push(Failure {
                model: format!("{TITLE} {}", spec.label()),
                reason: e.to_string(),
            }),
        }
    }
    if lists {
        s.notes.push(
            "lists: Huggins Mb and Mtb depend on the order of the columns and were not run".into(),
        );
    }
    s.notes.push(
        "Huggins (1989) conditional likelihood, N̂ = Σ 1/p̂ᵢ(seen) (Horvitz-Thompson) with \
         Huggins's variance, log-normal interval on the dark figure; AIC compares these \
         models with each other only, not with the closedp.t models (full likelihood)"
            .into(),
    );
    Ok(s)
}

/// The models of a Huggins section, in its order: M0, Mt, Mb, Mtb, each without and
/// with `covariates` (on lists, M0 and Mt only).
fn model_set(lists: bool, covariates: &[String], level: f64) -> Vec<HugginsParams> {
    let bases = [Huggins::m0, Huggins::mt, Huggins::mb, Huggins::mtb];
    let mut specs = Vec::new();
    for (k, b) in bases.into_iter().enumerate() {
        if lists && k >= 2 {
            continue;
        }
        specs.push(b().level(level));
        if !covariates.is_empty() {
            specs.push(b().covariates(covariates).level(level));
        }
    }
    specs
}

/// A report row of a Huggins fit: `estimate` (the fit's, or one derived from it),
/// labelled as the report labels the model, with the covariates the fit uses.
fn huggins_row(f: &HugginsFit, mut estimate: crate::estimate::Estimate) -> Row {
    estimate.model = report_label(f);
    Row {
        estimate,
        covariates: Some(f.covariates.clone()),
        gof: None,
        degenerate: false,
        posterior: None,
    }
}

/// Whether a subgroup column's value says yes or no, as
/// [`crate::data::csv_io::read_str_where`] reads it.
fn says_yes(column: &str, value: &str) -> Result<bool> {
    crate::data::csv_io::yes_no(value).ok_or_else(|| {
        crate::Error::invalid(format!(
            "subgroup column `{column}` holds `{value}`, expected 1/yes/true or 0/no/false"
        ))
    })
}

/// Adds the headlines of a subgroup (the minors among the sellers) to a report made by
/// [`analyse_with_covariates`]: in each stratum (or in all the data), every Huggins model
/// of that stratum gives the subgroup's figure derived from its fit to the whole stratum
/// ([`HugginsParams::subgroup`]: the Horvitz-Thompson sum over the subgroup's units
/// seen), and the figures are averaged with the weights of the stratum's models. The
/// headline is named `"<stratum>: <subgroup>"` (or the subgroup without strata), placed
/// after its stratum's; strata where no unit of the subgroup was seen get none. The
/// subgroup column must be one of `data`'s covariates (`1`/`yes`/`true` or `0`/`no`/
/// `false`); when it is not among `covariates` too, the models take the subgroup to be
/// caught as the others with its covariates, and a line under the headline says so.
///
/// # Errors
/// [`crate::Error::InvalidParameter`] when `subgroup` is not a covariate of `data`;
/// [`crate::Error::InvalidData`] for a value that is neither yes nor no, or a subgroup
/// seen nowhere.
pub fn add_subgroup(
    report: &mut Report,
    data: &CovariateHistories,
    covariates: &[String],
    subgroup: &str,
    opts: &AnalysisOptions,
) -> Result<()> {
    if data.covariate(subgroup).is_none() {
        return Err(crate::Error::param(
            "subgroup",
            subgroup,
            "a column read with the covariates (one value per unit)",
        ));
    }
    let parts: Vec<(Option<String>, CovariateHistories)> = match data.split_by_stratum() {
        p if p.is_empty() => vec![(None, data.clone())],
        p => p.into_iter().map(|(n, d)| (Some(n), d)).collect(),
    };
    let in_models = covariates.iter().any(|c| c == subgroup);
    let mut added = 0;
    for (stratum, part) in parts {
        let Some(cov) = part.covariate(subgroup) else {
            continue;
        };
        let mut rows = Vec::new();
        for i in 0..cov.values.len() {
            if says_yes(subgroup, &cov.values.label(i))? {
                rows.push(i);
            }
        }
        let seen: u64 = rows
            .iter()
            .map(|&i| part.histories().frequencies()[i])
            .sum();
        if seen == 0 {
            continue;
        }
        let (varying, _) = split_constant(&part, covariates);
        let label = match &stratum {
            Some(s) => format!("{s}: {subgroup}"),
            None => subgroup.to_string(),
        };
        let mut sec = Section::new(
            format!("{TITLE} (conditional likelihood; subgroup {subgroup})"),
            Some(label.clone()),
            seen,
        );
        for spec in model_set(part.histories().is_lists(), &varying, opts.level) {
            let derived = spec
                .fit(&part)
                .and_then(|f| spec.subgroup(&part, &f, &rows).map(|e| (f, e)));
            match derived {
                Ok((f, e)) => sec.rows.push(huggins_row(&f, e)),
                Err(e) => sec.failures.push(Failure {
                    model: format!("{TITLE} {}", spec.label()),
                    reason: e.to_string(),
                }),
            }
        }
        let one = Report {
            headline: Vec::new(),
            data: report.data.clone(),
            truth: Vec::new(),
            sections: vec![sec],
            open: Vec::new(),
            jolly_seber: None,
            level: report.level,
        };
        let Some(mut h) = super::headline::build(&one, &dataset(&part))
            .into_iter()
            .next()
        else {
            continue;
        };
        h.truth = report.truth_for(Some(&label));
        h.stratum = Some(label);
        h.basis = format!(
            "{} (subgroup `{subgroup}`: each model's figure for its units, from the model fitted \
             to {})",
            h.basis,
            stratum.as_deref().unwrap_or("all the data")
        );
        if !in_models {
            h.warnings.push(format!(
                "`{subgroup}` is not among the covariates: this figure takes the subgroup to be \
                 caught as often as the other units with the same covariates (add it to \
                 --covariates to let it differ)."
            ));
        }
        super::analyse::insert_after_stratum(&mut report.headline, stratum.as_deref(), h);
        added += 1;
    }
    if added == 0 {
        return Err(crate::Error::invalid(format!(
            "no unit with `{subgroup}` = yes was seen: the subgroup is empty"
        )));
    }
    Ok(())
}

/// The full analysis of capture histories with individual covariates: everything
/// [`super::analyse`] runs on the histories alone, plus the Huggins models
/// ([`report_section`]), with the headline made from the Huggins family (see the module
/// docs: the `closedp.t` models are shown beside it as a comparison, and a check warns
/// when the figure without the covariates falls outside the covariate headline's
/// interval). With strata, each stratum has its own Huggins models (a covariate that
/// takes one value in a stratum is left out of that stratum's models, and a stratum
/// where all do gets the figure of the models without covariates, its basis saying
/// why), the total is the sum of the stratum figures, and the strata pooled are fitted
/// for comparison; to analyse the strata as one population instead, name the stratum
/// column among the covariates.
///
/// ```text
/// candidates: Huggins M0, Mt, Mb, Mtb, each ± covariates     (one conditional likelihood)
/// N̄ = Σ w_i N̂_i,  w_i ∝ exp(−ΔAIC_i / 2)                     (crate::recommend)
/// ```
///
/// # Errors
/// As [`super::analyse`]; [`crate::Error::InvalidParameter`] for a bad level.
///
/// # References
/// Huggins (1989); Alho (1990); Buckland, Burnham & Augustin (1997); R:
/// `VGAM::posbernoulli.t`, `posbernoulli.b`, `posbernoulli.tb`.
pub fn analyse_with_covariates(
    data: &CovariateHistories,
    covariates: &[String],
    opts: &AnalysisOptions,
) -> Result<Report> {
    let set = dataset(data);
    let mut report = super::analyse(&set, opts)?;
    let parts = data.split_by_stratum();
    // Strata whose units all share the covariates' values: no Huggins models there.
    let mut without: Vec<(String, String)> = Vec::new();
    if parts.is_empty() {
        let sec = report_section(data, covariates, None, opts.level)?;
        report.sections.insert(0, sec);
    } else {
        let mut by_stratum = Vec::new();
        for (name, part) in &parts {
            let (varying, constant) = split_constant(part, covariates);
            if varying.is_empty() {
                without.push((name.clone(), constant.join(", ")));
                continue;
            }
            let mut sec = report_section(part, &varying, Some(name.clone()), opts.level)?;
            if !constant.is_empty() {
                sec.notes.push(format!(
                    "left out of this stratum's models, as every unit in it has the same value: \
                     {}",
                    constant.join(", ")
                ));
            }
            let at = report
                .sections
                .iter()
                .position(|s| s.stratum.as_deref() == Some(name.as_str()))
                .unwrap_or(report.sections.len());
            report.sections.insert(at, sec.clone());
            by_stratum.push(sec);
        }
        if let Some(at) = report
            .sections
            .iter()
            .position(|s| s.stratum.as_deref() == Some(super::POOLED))
        {
            let pooled = data.without_strata();
            let sec = report_section(&pooled, covariates, Some(super::POOLED.into()), opts.level)?;
            report.sections.insert(at, sec);
        }
        let first = by_stratum.first().map(|s| s.title.clone());
        if by_stratum.len() == parts.len()
            && by_stratum.iter().all(|s| Some(&s.title) == first.as_ref())
            && let Some(title) = first
        {
            let group: Vec<&Section> = by_stratum.iter().collect();
            let sum = super::analyse::sum_over_strata(&title, &group, opts.level);
            let at = report
                .sections
                .iter()
                .position(|s| s.stratum.as_deref() == Some(super::SUMMED))
                .unwrap_or(report.sections.len());
            report.sections.insert(at, sum);
        }
    }
    let t = data.histories().occasions();
    let cells = if t <= super::analyse::MAX_T_FOR_HISTORY_MODELS {
        (1u64 << t) as f64
    } else {
        0.0
    };
    super::headline::mark_degenerate(&mut report.sections, cells);
    let before = std::mem::take(&mut report.headline);
    let mut headline = super::headline::build(&report, &set);
    super::headline::add_bayes_flags(&report, &mut headline);
    report.headline = headline;
    super::analyse::keep_cautions(&before, &mut report.headline);
    for (stratum, covs) in &without {
        if let Some(h) = report
            .headline
            .iter_mut()
            .find(|h| h.stratum.as_deref() == Some(stratum.as_str()))
        {
            // In the basis, so that the figure's own line says why it has no covariates.
            h.basis = format!(
                "{}, without the covariates (every unit in this stratum has {covs})",
                h.basis.trim_end_matches('.')
            );
        }
    }
    super::analyse::add_parts_caution(&mut report.headline);
    super::headline::add_roles_caution(&mut report.headline, &set);
    Ok(report)
}

/// The covariates of `data` that vary among its units, and those that take one value
/// (named with it: `minor = no`).
fn split_constant(data: &CovariateHistories, covariates: &[String]) -> (Vec<String>, Vec<String>) {
    let mut varying = Vec::new();
    let mut constant = Vec::new();
    for name in covariates {
        let one = if let Some(c) = data.covariate(name) {
            let same = match &c.values {
                crate::data::CovariateValues::Numeric(v) => v.windows(2).all(|w| w[0] == w[1]),
                crate::data::CovariateValues::Categorical { levels, .. } => levels.len() <= 1,
            };
            (same && !c.values.is_empty()).then(|| format!("{name} = {}", c.values.label(0)))
        } else if let Some(c) = data.time_varying_covariate(name) {
            let same = c.values.windows(2).all(|w| w[0] == w[1]);
            (same && !c.values.is_empty()).then(|| format!("{name} = {}", c.values[0]))
        } else {
            None
        };
        match one {
            Some(v) => constant.push(v),
            None => varying.push(name.clone()),
        }
    }
    (varying, constant)
}

/// The histories of `data` as a [`DataSet`] (the layout it was read in), for the report
/// writers.
pub fn dataset(data: &CovariateHistories) -> DataSet {
    DataSet::Histories {
        data: data.histories().clone(),
        layout: match data.occasion_order() {
            Some(_) => Layout::Long,
            None => Layout::Wide,
        },
        occasion_order: data.occasion_order(),
        notes: data.notes().to_vec(),
        file_rows: None,
    }
}
