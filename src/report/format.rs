//! Text, Markdown and JSON renderings of a [`Report`].

use super::{Report, Section, covers};
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
    rows: usize,
    strata: &'a [String],
    occasion_names: &'a [String],
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
    interval: &'a Interval,
    observed: u64,
    #[serde(serialize_with = "crate::estimate::finite_or_null")]
    dark_figure: f64,
    dark_figure_interval: &'a Interval,
    fit: Option<&'a FitStats>,
    other_intervals: &'a [Interval],
    warnings: Vec<String>,
    assumptions: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    truth: Option<u64>,
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
    data: JsonData<'a>,
    level: f64,
    truth: &'a [super::Truth],
    estimates: Vec<JsonEstimate<'a>>,
    failures: Vec<JsonFailure<'a>>,
}

impl Report {
    /// Renders the report in the chosen format.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Markdown => self.to_markdown(),
            Format::Json => self.to_json(),
        }
    }

    /// One JSON object: `{"data": {...}, "estimates": [...], "failures": [...]}`.
    pub fn to_json(&self) -> String {
        let d = &self.data;
        let estimates = self
            .sections
            .iter()
            .flat_map(|s| {
                s.estimates.iter().map(move |e| JsonEstimate {
                    section: &s.title,
                    stratum: s.stratum.as_deref(),
                    method: &e.method,
                    model: &e.model,
                    n_hat: e.n_hat,
                    se: e.se,
                    interval: &e.interval,
                    observed: e.observed,
                    dark_figure: e.dark_figure,
                    dark_figure_interval: &e.dark_figure_interval,
                    fit: e.fit.as_ref(),
                    other_intervals: &e.other_intervals,
                    warnings: e.warnings.iter().map(|w| w.to_string()).collect(),
                    assumptions: e.assumptions.iter().map(|a| a.describe()).collect(),
                    truth: self.truth_for(s.stratum.as_deref()),
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
        let r = JsonReport {
            data: JsonData {
                source: &d.source,
                layout: &d.layout,
                observed: d.observed,
                occasions: d.occasions,
                rows: d.rows,
                strata: &d.strata,
                occasion_names: &d.occasion_names,
            },
            level: self.level,
            truth: &self.truth,
            estimates,
            failures,
        };
        serde_json::to_string_pretty(&r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    fn data_line(&self) -> String {
        let d = &self.data;
        let mut s = format!(
            "{} ({} layout, {} rows): {} units seen",
            d.source, d.layout, d.rows, d.observed
        );
        if let Some(t) = d.occasions {
            let _ = write!(s, ", {t} occasions");
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

    fn rows(&self, s: &Section) -> Vec<[String; 9]> {
        let truth = self.truth_for(s.stratum.as_deref());
        s.estimates
            .iter()
            .map(|e| {
                let fit = e.fit.as_ref();
                let mut flags = String::new();
                if !e.warnings.is_empty() {
                    flags.push_str(&format!("{} warning(s)", e.warnings.len()));
                }
                if let Some(t) = truth {
                    if !flags.is_empty() {
                        flags.push_str("; ");
                    }
                    flags.push_str(if covers(&e.interval, t as f64) {
                        "covers truth"
                    } else {
                        "MISSES truth"
                    });
                }
                [
                    e.model.clone(),
                    fmt_num(e.n_hat),
                    fmt_num(e.se),
                    format!(
                        "[{}, {}]",
                        fmt_num(e.interval.lower),
                        fmt_num(e.interval.upper)
                    ),
                    e.interval.method.label().to_string(),
                    fmt_num(e.dark_figure),
                    fit.map(|f| fmt_num(f.deviance))
                        .unwrap_or_else(|| "-".into()),
                    fit.map(|f| fmt_num(f.aic)).unwrap_or_else(|| "-".into()),
                    flags,
                ]
            })
            .collect()
    }

    const HEADER: [&'static str; 9] = [
        "model",
        "N̂",
        "SE",
        "interval",
        "method",
        "dark figure",
        "deviance",
        "AIC",
        "flags",
    ];

    fn notes(&self, s: &Section, out: &mut String, bullet: &str) {
        for e in &s.estimates {
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

    fn assumptions(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for (_, e) in self.all_estimates() {
            for a in &e.assumptions {
                if !v.contains(&a.describe()) {
                    v.push(a.describe());
                }
            }
        }
        v
    }

    /// Plain-text tables.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "darkfigure: estimates of the hidden population");
        let _ = writeln!(out, "data: {}", self.data_line());
        let _ = writeln!(
            out,
            "intervals: {:.0}% level; dark figure = N̂ − units seen",
            self.level * 100.0
        );
        for s in &self.sections {
            let _ = writeln!(out, "\n== {} ==", self.heading(s));
            let rows = self.rows(s);
            if rows.is_empty() {
                let _ = writeln!(out, "(no estimate)");
            } else {
                let mut widths = Self::HEADER.map(|h| h.chars().count());
                for r in &rows {
                    for (w, c) in widths.iter_mut().zip(r) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                let line = |cells: [&str; 9]| {
                    let mut l = String::new();
                    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                        let pad = w - c.chars().count();
                        if i == 0 || i >= 3 && i != 5 && i != 6 && i != 7 {
                            l.push_str(c);
                            l.push_str(&" ".repeat(pad));
                        } else {
                            l.push_str(&" ".repeat(pad));
                            l.push_str(c);
                        }
                        l.push_str("  ");
                    }
                    l.trim_end().to_string()
                };
                let _ = writeln!(out, "{}", line(Self::HEADER));
                for r in &rows {
                    let cells: [&str; 9] = std::array::from_fn(|i| r[i].as_str());
                    let _ = writeln!(out, "{}", line(cells));
                }
            }
            self.notes(s, &mut out, "  ! ");
        }
        let a = self.assumptions();
        if !a.is_empty() {
            let _ = writeln!(out, "\nassumptions behind these estimates:");
            for x in a {
                let _ = writeln!(out, "  - {x}");
            }
        }
        out
    }

    /// Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "**Data:** {}  ", self.data_line());
        let _ = writeln!(
            out,
            "**Intervals:** {:.0}% level; dark figure = N̂ − units seen",
            self.level * 100.0
        );
        for s in &self.sections {
            let _ = writeln!(out, "\n### {}\n", self.heading(s));
            let rows = self.rows(s);
            if rows.is_empty() {
                let _ = writeln!(out, "(no estimate)");
            } else {
                let _ = writeln!(out, "| {} |", Self::HEADER.join(" | "));
                let _ = writeln!(
                    out,
                    "|{}|",
                    [
                        "---", "---:", "---:", "---", "---", "---:", "---:", "---:", "---"
                    ]
                    .join("|")
                );
                for r in &rows {
                    let _ = writeln!(out, "| {} |", r.join(" | "));
                }
            }
            let mut notes = String::new();
            self.notes(s, &mut notes, "- ");
            if !notes.is_empty() {
                let _ = write!(out, "\n{notes}");
            }
        }
        let a = self.assumptions();
        if !a.is_empty() {
            let _ = writeln!(out, "\n**Assumptions:**\n");
            for x in a {
                let _ = writeln!(out, "- {x}");
            }
        }
        out
    }
}
