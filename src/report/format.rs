//! Text, Markdown and JSON renderings of a [`Report`].

use super::common::aligned;
use super::{Report, Section};
use crate::estimate::{FitStats, Interval, fmt_num};
use serde::Serialize;
use std::fmt::Write as _;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain-text tables for a terminal.
    Text,
    /// Markdown tables (for reports and READMEs).
    Markdown,
    /// One JSON object.
    Json,
}

impl std::str::FromStr for Format {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "text" => Ok(Format::Text),
            "markdown" | "md" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            _ => Err(crate::Error::param("format", s, "text, markdown or json")),
        }
    }
}

#[derive(Serialize)]
struct JsonData<'a> {
    source: &'a str,
    layout: &'a str,
    observed: u64,
    occasions: Option<usize>,
    /// What the columns are: `"lists"` (multiple systems: `occasions` counts lists and
    /// `occasion_names` names them), `"occasions"` (capture occasions in time order) or
    /// `null` (single-source counts).
    sources: Option<&'static str>,
    rows: usize,
    strata: &'a [String],
    occasion_names: &'a [String],
    /// How a long-layout file's occasions were ordered (`numeric`, `chronological`,
    /// `first_appearance`, `ambiguous_dates`, `given`); absent for other layouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    occasion_order: Option<crate::data::OccasionOrder>,
    /// Occasions on which nobody was recorded.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    empty_occasions: &'a [String],
    /// What the reader decided from the file: columns read under another name, columns
    /// not used.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonEstimate<'a> {
    section: &'a str,
    stratum: Option<&'a str>,
    method: &'a str,
    model: &'a str,
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    n_hat: f64,
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    se: f64,
    interval: Interval,
    observed: u64,
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    dark_figure: f64,
    dark_figure_interval: Interval,
    fit: Option<&'a FitStats>,
    other_intervals: Vec<Interval>,
    warnings: Vec<String>,
    assumptions: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    covariates: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gof: Option<&'a super::Gof>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    degenerate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    truth: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    posterior: Option<&'a crate::bayes::Posterior>,
}

#[derive(Serialize)]
struct JsonFailure<'a> {
    section: &'a str,
    stratum: Option<&'a str>,
    model: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    headline: Vec<JsonHeadline>,
    data: JsonData<'a>,
    level: f64,
    truth: &'a [super::Truth],
    estimates: Vec<JsonEstimate<'a>>,
    failures: Vec<JsonFailure<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    open: Vec<crate::open::OpenJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jolly_seber: Option<&'a crate::open::JsTable>,
}

/// A headline with the warnings the reports show beside its figure (`cautions`, also in
/// `warnings`), so that a reader of the JSON can show them as the text and HTML do, and
/// with `--bayes` the posteriors set beside it (`bayes`: method, median, credible
/// interval, whether the chains mixed).
#[derive(Serialize)]
struct JsonHeadline {
    #[serde(flatten)]
    headline: crate::recommend::Headline,
    cautions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bayes: Vec<super::headline::BayesCrossCheck>,
}

/// N̂, or NaN (JSON `null`) when it is below the units seen: an impossible value is
/// never printed as a number (the row says why, as the text table does).
fn possible(n_hat: f64, observed: u64) -> f64 {
    let n = observed as f64;
    if n_hat < n - 1e-6 * n.max(1.0) {
        f64::NAN
    } else {
        n_hat
    }
}

/// An interval whose limits are withheld (JSON `null`): it belongs to a figure that
/// cannot be cited.
fn withheld(i: &Interval) -> Interval {
    Interval {
        lower: f64::NAN,
        upper: f64::NAN,
        ..*i
    }
}

/// A headline for JSON, with [`possible`] applied to every N̂ it holds; a candidate the
/// tables print as `DEGENERATE` has its N̂ (and, when excluded for its N̂, its interval)
/// withheld as `null`, its reason in `excluded`.
fn possible_headline(h: &crate::recommend::Headline) -> crate::recommend::Headline {
    use super::headline_fmt::{interval_unprintable, n_hat_unprintable};
    let mut h = h.clone();
    let seen = h.observed;
    h.n_hat = possible(h.n_hat, seen);
    for m in &mut h.models {
        m.n_hat = possible(m.n_hat, seen);
    }
    for c in &mut h.candidates {
        c.n_hat = possible(c.n_hat, seen);
        if n_hat_unprintable(c) {
            c.n_hat = f64::NAN;
        }
        if interval_unprintable(c) {
            c.interval = withheld(&c.interval);
        }
    }
    h
}

impl Report {
    /// Renders the report in the chosen format.
    pub fn render(&self, format: Format) -> String {
        self.render_with(format, false)
    }

    /// Renders the report; with `all`, text and Markdown add every estimator's full table
    /// after the headlines (JSON always holds everything).
    pub fn render_with(&self, format: Format, all: bool) -> String {
        match format {
            Format::Text => self.to_text_with(all),
            Format::Markdown => self.to_markdown_with(all),
            Format::Json => self.to_json(),
        }
    }

    /// One JSON object: `{"headline": [...], "data": {...}, "estimates": [...],
    /// "failures": [...]}`; `headline` holds one object per stratum and one for the total
    /// (`stratum` null when the data have no strata), see [`crate::recommend::Headline`].
    /// A figure that cannot be cited is `null`, never a number: N̂ below the units seen,
    /// and every figure of an estimate marked `"degenerate": true` (N̂, SE, interval
    /// limits, dark figure; the reason is among its `warnings`) or of a candidate
    /// excluded for its N̂ (the reason is its `excluded`).
    pub fn to_json(&self) -> String {
        let d = &self.data;
        let estimates = self
            .sections
            .iter()
            .flat_map(|s| {
                s.rows.iter().map(move |row| {
                    let e = &row.estimate;
                    // A degenerate row's figures are withheld (`null`), as the text
                    // tables print DEGENERATE; the reason is among its warnings.
                    let cite = !row.degenerate && !possible(e.n_hat, e.observed).is_nan();
                    let keep = |x: f64| if cite { x } else { f64::NAN };
                    let interval = |i: &Interval| if cite { *i } else { withheld(i) };
                    JsonEstimate {
                        section: &s.title,
                        stratum: s.stratum.as_deref(),
                        method: &e.method,
                        model: &e.model,
                        n_hat: keep(e.n_hat),
                        se: keep(e.se),
                        interval: interval(&e.interval),
                        observed: e.observed,
                        dark_figure: keep(e.dark_figure),
                        dark_figure_interval: interval(&e.dark_figure_interval),
                        fit: e.fit.as_ref(),
                        other_intervals: e.other_intervals.iter().map(interval).collect(),
                        warnings: e.warnings.iter().map(|w| w.to_string()).collect(),
                        assumptions: e.assumptions.iter().map(|a| a.describe()).collect(),
                        covariates: row.covariates.as_deref(),
                        gof: row.gof.as_ref(),
                        degenerate: row.degenerate,
                        truth: self.truth_for(s.stratum.as_deref()),
                        posterior: row.posterior.as_ref(),
                    }
                })
            })
            .collect();
        let failures = self
            .sections
            .iter()
            .flat_map(|s| {
                s.failures.iter().map(move |f| JsonFailure {
                    section: &s.title,
                    stratum: s.stratum.as_deref(),
                    model: &f.model,
                    reason: &f.reason,
                })
            })
            .collect();
        let sources = d.occasions.map(|_| {
            if self.is_lists() {
                "lists"
            } else {
                "occasions"
            }
        });
        let r = JsonReport {
            headline: self
                .headline
                .iter()
                .map(|h| JsonHeadline {
                    cautions: super::headline_fmt::cautions(h)
                        .into_iter()
                        .cloned()
                        .collect(),
                    bayes: super::headline::bayes_cross_check(self, h).0,
                    headline: possible_headline(h),
                })
                .collect(),
            data: JsonData {
                source: &d.source,
                layout: &d.layout,
                observed: d.observed,
                occasions: d.occasions,
                sources,
                rows: d.rows,
                strata: &d.strata,
                occasion_names: &d.occasion_names,
                occasion_order: d.occasion_order,
                empty_occasions: &d.empty_occasions,
                notes: &d.notes,
            },
            level: self.level,
            truth: &self.truth,
            estimates,
            failures,
            open: self.open.iter().map(|f| f.to_json()).collect(),
            jolly_seber: self.jolly_seber.as_ref(),
        };
        serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Whether the sources are lists (multiple systems) rather than occasions.
    fn is_lists(&self) -> bool {
        self.headline
            .iter()
            .any(|h| h.kind == crate::recommend::DataKind::Lists)
    }

    fn data_line(&self) -> String {
        let d = &self.data;
        let units = if d.observed == 1 { "unit" } else { "units" };
        let mut s = if d.layout == super::SUMMARY_LAYOUT {
            format!(
                "{}: {} {units} seen",
                d.source,
                super::headline_fmt::count(d.observed)
            )
        } else {
            format!(
                "{} ({} layout, {} row{}): {} {units} seen",
                d.source,
                d.layout,
                super::headline_fmt::count(d.rows as u64),
                if d.rows == 1 { "" } else { "s" },
                super::headline_fmt::count(d.observed)
            )
        };
        if self.is_lists() {
            if let Some(t) = d.occasions {
                let _ = write!(s, ", {t} lists");
            }
            if !d.strata.is_empty() {
                let _ = write!(s, ", {} strata ({})", d.strata.len(), d.strata.join(", "));
            }
            return s;
        }
        if let Some(t) = d.occasions {
            let _ = write!(s, ", {t} occasions");
            if let Some(o) = d.order_note() {
                let _ = write!(s, " ({o})");
            }
            if let Some(e) = d.empty_note() {
                let _ = write!(s, "; {e}");
            }
        }
        if let Some(c) = &d.count_column {
            let _ = write!(s, "; counts in column `{c}`");
            if !d.occasion_names.is_empty() {
                let _ = write!(s, ", covariates {}", d.occasion_names.join(", "));
            }
        }
        if !d.strata.is_empty() {
            let _ = write!(s, ", {} strata ({})", d.strata.len(), d.strata.join(", "));
        }
        s
    }

    fn heading(&self, s: &Section) -> String {
        let mut h = s.title.clone();
        if let Some(st) = &s.stratum {
            let _ = write!(h, " — {st}");
        }
        let _ = write!(h, " ({} seen", s.observed);
        if let Some(t) = self.truth_for(s.stratum.as_deref()) {
            let _ = write!(h, "; true N = {t}");
        }
        h.push(')');
        h
    }

    /// The table of a section: headers, right-alignment flags and cells; columns that
    /// are empty in every row are left out.
    fn table(&self, s: &Section) -> (Vec<&'static str>, Vec<bool>, Vec<Vec<String>>) {
        let truth = self.truth_for(s.stratum.as_deref());
        let dash = || "-".to_string();
        let mut cols: Vec<(&'static str, bool, Vec<String>)> = [
            ("model", false),
            ("covariates", false),
            ("N̂", true),
            ("SE", true),
            ("interval", false),
            ("method", false),
            ("dark figure", true),
            ("deviance", true),
            ("df", true),
            ("AIC", true),
            ("BIC", true),
            ("GOF p", true),
            ("flags", false),
        ]
        .into_iter()
        .map(|(h, r)| (h, r, Vec::new()))
        .collect();
        for row in &s.rows {
            let e = &row.estimate;
            let fit = e.fit.as_ref();
            let mut flags = Vec::new();
            if !e.warnings.is_empty() {
                flags.push(format!("{} warning(s)", e.warnings.len()));
            }
            if let Some(t) = truth {
                let c = if e.interval.contains(t as f64) {
                    "covers truth"
                } else {
                    "MISSES truth"
                };
                flags.push(c.to_string());
            }
            let cells = [
                e.model.clone(),
                match &row.covariates {
                    Some(c) if c.is_empty() => "none".into(),
                    Some(c) => c.join(" + "),
                    None => dash(),
                },
                if row.degenerate {
                    "DEGENERATE".into()
                } else {
                    fmt_num(e.n_hat)
                },
                if row.degenerate {
                    dash()
                } else {
                    fmt_num(e.se)
                },
                if row.degenerate {
                    dash()
                } else {
                    format!(
                        "[{}, {}]",
                        fmt_num(e.interval.lower),
                        fmt_num(e.interval.upper)
                    )
                },
                e.interval.method.label().to_string(),
                if row.degenerate {
                    dash()
                } else {
                    fmt_num(e.dark_figure)
                },
                // A saturated model's deviance is 0 up to rounding (-7e-12 on Kosovo).
                fit.map(|f| {
                    fmt_num(if f.deviance > -1e-6 {
                        f.deviance.max(0.0)
                    } else {
                        f.deviance
                    })
                })
                .unwrap_or_else(dash),
                fit.map(|f| f.df.to_string()).unwrap_or_else(dash),
                fit.map(|f| fmt_num(f.aic)).unwrap_or_else(dash),
                fit.map(|f| fmt_num(f.bic)).unwrap_or_else(dash),
                row.gof
                    .map(|g| format!("{:.3}", g.p_value))
                    .unwrap_or_else(dash),
                flags.join("; "),
            ];
            for (c, v) in cols.iter_mut().zip(cells) {
                c.2.push(v);
            }
        }
        cols.retain(|c| c.0 == "model" || c.2.iter().any(|v| v != "-" && !v.is_empty()));
        let headers = cols.iter().map(|c| c.0).collect();
        let right = cols.iter().map(|c| c.1).collect();
        let rows = (0..s.rows.len())
            .map(|i| cols.iter().map(|c| c.2[i].clone()).collect())
            .collect();
        (headers, right, rows)
    }

    fn notes(&self, s: &Section, out: &mut String, bullet: &str) {
        for e in s.estimates() {
            for w in &e.warnings {
                let _ = writeln!(out, "{bullet}{}: {w}", e.model);
            }
        }
        for f in &s.failures {
            let _ = writeln!(out, "{bullet}{}: no estimate: {}", f.model, f.reason);
        }
        for n in &s.notes {
            let _ = writeln!(out, "{bullet}{n}");
        }
    }

    /// Plain text: the headlines first, then the candidate tables and warnings; with
    /// `all`, every estimator's full table after them.
    pub fn to_text_with(&self, all: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "darkfigure: how many are there, and which figure to cite"
        );
        let _ = writeln!(out, "data: {}", self.data_line());
        for n in &self.data.notes {
            let _ = writeln!(out, "note: {n}");
        }
        super::headline_fmt::text(self, &mut out);
        if all {
            let _ = writeln!(
                out,
                "\n#### Full tables (intervals: {:.0}% level; dark figure = N̂ − units seen)",
                self.level * 100.0
            );
        }
        for s in self.sections.iter().filter(|s| all || requested(s)) {
            let _ = writeln!(out, "\n== {} ==", self.heading(s));
            let (headers, right, rows) = self.table(s);
            if rows.is_empty() {
                let _ = writeln!(out, "(no estimate)");
            } else {
                out.push_str(&aligned(&headers, &right, &rows));
            }
            self.notes(s, &mut out, "  ! ");
            for a in section_assumptions(s) {
                let _ = writeln!(out, "  assumptions of {a}");
            }
        }
        if !all {
            let _ = writeln!(
                out,
                "\n(--all prints every estimator's full table: {} tables)",
                self.sections.len() + self.open.len() + usize::from(self.jolly_seber.is_some())
            );
            return out;
        }
        for f in &self.open {
            let _ = writeln!(out, "\n== open population: {} ==\n{f}", f.model);
        }
        if let Some(js) = &self.jolly_seber {
            let _ = writeln!(out, "\n== classical Jolly-Seber (Seber 1982) ==\n{js}");
        }
        out
    }

    /// Plain text, headlines first (see [`Report::to_text_with`]).
    pub fn to_text(&self) -> String {
        self.to_text_with(false)
    }

    /// Markdown: the headlines first, then the candidate tables and warnings; with `all`,
    /// every estimator's full table after them.
    pub fn to_markdown_with(&self, all: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "**Data:** {}  ", self.data_line().replace('|', "\\|"));
        for n in &self.data.notes {
            let _ = writeln!(out, "**Note:** {}  ", n.replace('|', "\\|"));
        }
        super::headline_fmt::markdown(self, &mut out);
        if all {
            let _ = writeln!(
                out,
                "\n## Full tables\n\nIntervals at the {:.0}% level; dark figure = N̂ − units seen.",
                self.level * 100.0
            );
        }
        for s in self.sections.iter().filter(|s| all || requested(s)) {
            let _ = writeln!(out, "\n### {}\n", self.heading(s));
            let (headers, right, rows) = self.table(s);
            if rows.is_empty() {
                let _ = writeln!(out, "(no estimate)");
            } else {
                let _ = writeln!(out, "| {} |", md_cells(&headers).join(" | "));
                let align: Vec<&str> = right
                    .iter()
                    .map(|&r| if r { "---:" } else { "---" })
                    .collect();
                let _ = writeln!(out, "|{}|", align.join("|"));
                for r in &rows {
                    let _ = writeln!(out, "| {} |", md_cells(r).join(" | "));
                }
            }
            let mut notes = String::new();
            self.notes(s, &mut notes, "- ");
            for a in section_assumptions(s) {
                let _ = writeln!(notes, "- assumptions of {a}");
            }
            if !notes.is_empty() {
                let _ = write!(out, "\n{notes}");
            }
        }
        if !all {
            return out;
        }
        for f in &self.open {
            let _ = writeln!(out, "\n### Open population: {}\n\n```text\n{f}```", f.model);
        }
        if let Some(js) = &self.jolly_seber {
            let _ = writeln!(
                out,
                "\n### Classical Jolly-Seber (Seber 1982)\n\n```text\n{js}```"
            );
        }
        out
    }

    /// Markdown, headlines first (see [`Report::to_markdown_with`]).
    pub fn to_markdown(&self) -> String {
        self.to_markdown_with(false)
    }
}

/// Tables printed without `--all`: those an option asked for by name (`--bayes`,
/// `--model`, `--by`, `--select stepwise`, `--covariates` on histories).
fn requested(s: &Section) -> bool {
    [
        "Bayesian",
        "model ",
        "SparseMSE",
        "stratifyPopsize",
        "Huggins",
    ]
    .iter()
    .any(|p| s.title.starts_with(p))
}

/// The assumptions of a section's models, grouped: one line per distinct set, naming
/// the models that share it (never one union, which would contradict itself).
fn section_assumptions(s: &Section) -> Vec<String> {
    let mut groups: Vec<(Vec<crate::estimate::Assumption>, Vec<String>)> = Vec::new();
    for e in s.estimates() {
        if e.assumptions.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|g| g.0 == e.assumptions) {
            Some(g) => g.1.push(e.model.clone()),
            None => groups.push((e.assumptions.clone(), vec![e.model.clone()])),
        }
    }
    groups
        .into_iter()
        .map(|(a, m)| {
            let a: Vec<&str> = a.iter().map(|x| x.describe()).collect();
            format!("{}: {}", m.join(", "), a.join("; "))
        })
        .collect()
}

/// Escapes what would break a Markdown table cell: `|` (a column name such as `a|b`) and
/// line ends.
fn md_cells<S: AsRef<str>>(cells: &[S]) -> Vec<String> {
    cells
        .iter()
        .map(|c| c.as_ref().replace('|', "\\|").replace(['\n', '\r'], " "))
        .collect()
}
