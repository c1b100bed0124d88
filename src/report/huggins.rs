//! The Huggins section of a report: M0, Mt, Mb and Mtb with and without the individual
//! covariates, fitted to histories with covariates and listed by AIC.

use crate::data::CovariateHistories;
use crate::error::Result;
use crate::estimate::fmt_num;
use crate::huggins::{Huggins, HugginsFit};
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
/// without a count column (`count`, `nbcap` or `count_column`) whose other columns give at
/// least two 0/1 occasions. `Ok(None)` means "not histories with covariates" (a counts file).
///
/// # Errors
/// [`crate::Error::Io`] when the file cannot be read; the reader's errors for a histories
/// file with a bad value.
pub fn histories_with_covariates(
    path: &std::path::Path,
    covariates: &[String],
    count_column: Option<&str>,
) -> Result<Option<CovariateHistories>> {
    let text = std::fs::read_to_string(path).map_err(|source| crate::Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let header = text.lines().next().unwrap_or_default();
    let is_counts = header.split(',').any(|h| {
        let h = h.trim().trim_matches('"');
        h.eq_ignore_ascii_case("count")
            || h.eq_ignore_ascii_case("nbcap")
            || count_column.is_some_and(|c| h.eq_ignore_ascii_case(c))
    });
    if is_counts || covariates.is_empty() {
        return Ok(None);
    }
    let d =
        crate::data::read_covariate_histories_str(&text, &path.display().to_string(), covariates)?;
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
