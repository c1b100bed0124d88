//! Formatting of a [`MetricsTable`]: plain text, Markdown, JSON and CSV.

use super::findings::findings;
use super::metrics::{MetricRow, MetricsTable};
use crate::error::{Error, Result};

/// From this size up a figure is written in scientific notation (as the analysis
/// reports write counts).
const LARGE: f64 = 1e15;

/// A figure of the table; from 10¹⁵ up (a mean over fits that ran away) in scientific
/// notation, not as hundreds of digits.
fn num(x: f64, digits: usize) -> String {
    if x.is_nan() {
        "NA".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else if x.abs() >= LARGE {
        format!("{x:.2e}")
    } else {
        format!("{x:.digits$}")
    }
}

fn pct(x: f64) -> String {
    if !x.is_finite() {
        "NA".into()
    } else if (100.0 * x).abs() >= LARGE {
        format!("{:.2e}", 100.0 * x)
    } else {
        format!("{:.1}", 100.0 * x)
    }
}

fn with_se(x: f64, se: f64, pct_scale: bool) -> String {
    if pct_scale {
        format!("{} ({})", pct(x), pct(se))
    } else {
        format!("{} ({})", num(x, 1), num(se, 1))
    }
}

fn cells(r: &MetricRow) -> Vec<String> {
    let (cov, width, method) = match r.primary() {
        Some(p) => {
            let width = if p.unbounded == 0 {
                num(p.mean_width, 0)
            } else if p.unbounded == p.n {
                "∞".to_string()
            } else {
                format!("{} ({} ∞)", num(p.mean_width, 0), p.unbounded)
            };
            (
                with_se(p.coverage, p.coverage_mcse, true),
                width,
                p.method.clone(),
            )
        }
        None => ("NA".into(), "NA".into(), "-".into()),
    };
    vec![
        r.scenario.clone(),
        r.target.clone(),
        r.estimator.clone(),
        num(r.truth, 0),
        with_se(r.mean_n_hat, r.mean_n_hat_mcse, false),
        num(r.median_n_hat, 1),
        with_se(r.rel_bias, r.rel_bias_mcse, true),
        num(r.rmse, 1),
        cov,
        method,
        width,
        if r.runaway_share > 0.0 {
            format!(
                "{} ({} ran away)",
                pct(r.failed_share),
                pct(r.runaway_share)
            )
        } else {
            pct(r.failed_share)
        },
        pct(r.flagged_share),
    ]
}

const HEADER: [&str; 13] = [
    "scenario",
    "target",
    "estimator",
    "N",
    "mean N̂ (MCSE)",
    "median N̂",
    "rel. bias % (MCSE)",
    "RMSE",
    "coverage % (MCSE)",
    "interval",
    "mean width",
    "failed %",
    "flagged %",
];

/// A Markdown table: one line per (scenario, target, estimator), coverage of the primary
/// interval, Monte-Carlo SEs in parentheses. The mean width is over bounded intervals;
/// `(k ∞)` counts the intervals unbounded above, `∞` means all were.
pub fn to_markdown(t: &MetricsTable) -> String {
    let mut s = format!(
        "**{}**: {} replicates per scenario, seed {}, {:.0}% intervals.\n\n",
        t.study,
        t.replicates,
        t.seed,
        t.level * 100.0
    );
    let f = findings(t);
    s.push_str(&format!("## What the study shows\n\n{}\n\n", f.summary));
    for sc in &f.scenarios {
        s.push_str(&format!("- {}\n", sc.sentence));
    }
    s.push_str(&format!("\n*{}.*\n\n## The table\n\n", capitalise(&f.rule)));
    s.push_str(&format!("| {} |\n", HEADER.join(" | ")));
    s.push_str(&format!(
        "|{}|\n",
        HEADER
            .iter()
            .enumerate()
            .map(|(i, _)| if i < 3 || i == 9 { "---" } else { "---:" })
            .collect::<Vec<_>>()
            .join("|")
    ));
    for r in &t.rows {
        s.push_str(&format!("| {} |\n", cells(r).join(" | ")));
    }
    s
}

/// A fixed-width text table (same columns as [`to_markdown`]).
pub fn to_text(t: &MetricsTable) -> String {
    let rows: Vec<Vec<String>> = t.rows.iter().map(cells).collect();
    let mut w: Vec<usize> = HEADER.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (k, c) in r.iter().enumerate() {
            w[k] = w[k].max(c.chars().count());
        }
    }
    let line = |cols: Vec<String>| -> String {
        cols.iter()
            .enumerate()
            .map(|(k, c)| {
                let pad = w[k] - c.chars().count();
                if k < 3 || k == 9 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut s = format!(
        "{}: {} replicates per scenario, seed {}, {:.0}% intervals\n",
        t.study,
        t.replicates,
        t.seed,
        t.level * 100.0
    );
    let f = findings(t);
    s.push_str(&format!("\n== What the study shows ==\n{}\n", f.summary));
    for sc in &f.scenarios {
        s.push_str(&format!("- {}\n", sc.sentence));
    }
    s.push_str(&format!("({})\n\n", f.rule));
    s.push_str(&line(HEADER.iter().map(|h| h.to_string()).collect()));
    s.push('\n');
    for r in rows {
        s.push_str(&line(r));
        s.push('\n');
    }
    s
}

/// The full table as pretty JSON (every interval type, all MCSEs; non-finite numbers
/// as `null`).
///
/// # Errors
/// [`Error::Numerical`] if serialisation fails (it does not for these types).
pub fn to_json(t: &MetricsTable) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        findings: super::findings::Findings,
        #[serde(flatten)]
        table: &'a MetricsTable,
    }
    serde_json::to_string_pretty(&Out {
        findings: findings(t),
        table: t,
    })
    .map_err(|e| Error::Numerical {
        reason: format!("JSON: {e}"),
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Long-format CSV: one line per (scenario, target, estimator, interval type); rows with
/// no interval have empty interval columns.
///
/// # Errors
/// [`Error::Numerical`] if the CSV writer fails (it does not write to memory).
pub fn to_csv(t: &MetricsTable) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Numerical {
        reason: format!("CSV: {e}"),
    };
    w.write_record([
        "scenario",
        "target",
        "estimator",
        "truth",
        "replicates",
        "estimates",
        "failed_share",
        "flagged_share",
        "no_data",
        "mean_n_hat",
        "mean_n_hat_mcse",
        "median_n_hat",
        "bias",
        "bias_mcse",
        "rel_bias",
        "rel_bias_mcse",
        "rmse",
        "rmse_mcse",
        "empirical_se",
        "mean_se",
        "interval",
        "primary",
        "coverage",
        "coverage_mcse",
        "mean_width",
        "mean_width_mcse",
        "unbounded",
    ])
    .map_err(fail)?;
    let f = |x: f64| {
        if x.is_finite() {
            format!("{x}")
        } else {
            String::new()
        }
    };
    for r in &t.rows {
        let base = vec![
            r.scenario.clone(),
            r.target.clone(),
            r.estimator.clone(),
            f(r.truth),
            r.replicates.to_string(),
            r.estimates.to_string(),
            f(r.failed_share),
            f(r.flagged_share),
            r.no_data.to_string(),
            f(r.mean_n_hat),
            f(r.mean_n_hat_mcse),
            f(r.median_n_hat),
            f(r.bias),
            f(r.bias_mcse),
            f(r.rel_bias),
            f(r.rel_bias_mcse),
            f(r.rmse),
            f(r.rmse_mcse),
            f(r.empirical_se),
            f(r.mean_se),
        ];
        if r.intervals.is_empty() {
            let mut rec = base.clone();
            rec.extend(std::iter::repeat_n(String::new(), 7));
            w.write_record(&rec).map_err(fail)?;
        }
        for i in &r.intervals {
            let mut rec = base.clone();
            rec.extend([
                i.method.clone(),
                i.primary.to_string(),
                f(i.coverage),
                f(i.coverage_mcse),
                f(i.mean_width),
                f(i.mean_width_mcse),
                i.unbounded.to_string(),
            ]);
            w.write_record(&rec).map_err(fail)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| Error::Numerical {
        reason: format!("CSV: {e}"),
    })?;
    String::from_utf8(bytes).map_err(|e| Error::Numerical {
        reason: format!("CSV: {e}"),
    })
}

/// Relative bias (in %) beyond which a simulation figure cuts the axis (the value is
/// printed beside the estimator's name instead).
pub const BIAS_AXIS_LIMIT: f64 = 100.0;

/// A self-contained HTML page of a study (inline CSS and SVG, no scripts): for each
/// scenario and target, the relative bias of every estimator and the coverage of its
/// primary interval, each with error bars of ±1.96 Monte-Carlo standard errors, the
/// coverage against the nominal level drawn as a line; then the table of
/// [`to_markdown`]'s columns, the provenance (study, seed, replicates, software version)
/// and how to cite. Byte-identical for the same table.
///
/// Biases beyond ±[`BIAS_AXIS_LIMIT`] % are drawn at the edge with their value in the
/// label.
pub fn to_html(t: &MetricsTable) -> String {
    use crate::report::html::{CSS, esc};
    use crate::report::plot::{self, Point};
    use std::fmt::Write as _;
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(s, "<title>Simulation study: {}</title>", esc(&t.study));
    s.push_str("<style>\n");
    s.push_str(CSS);
    s.push_str("</style>\n</head>\n<body>\n<main>\n");
    let _ = writeln!(s, "<h1>Simulation study: {}</h1>", esc(&t.study));
    let _ = writeln!(
        s,
        "<p>{} replicates per scenario, seed {}, {:.0}% intervals. Each figure shows, per \
         estimator, the mean relative bias of N̂ and the share of replicates whose interval \
         covered the true size, with error bars of ±1.96 Monte-Carlo standard errors; the red \
         line is zero bias, or the nominal coverage.</p>",
        t.replicates,
        t.seed,
        t.level * 100.0
    );
    let f = findings(t);
    let _ = writeln!(
        s,
        "<section class=\"headline\">\n<h2>What the study shows</h2>\n<p>{}</p>\n<ul>",
        esc(&f.summary)
    );
    for sc in &f.scenarios {
        let _ = writeln!(s, "<li>{}</li>", esc(&sc.sentence));
    }
    let _ = writeln!(
        s,
        "</ul>\n<p class=\"note\">{}.</p>\n</section>",
        esc(&capitalise(&f.rule))
    );
    let mut groups: Vec<(String, String)> = Vec::new();
    for r in &t.rows {
        let key = (r.scenario.clone(), r.target.clone());
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    let nominal = format!("nominal {:.0}%", t.level * 100.0);
    for (g, (scenario, target)) in groups.iter().enumerate() {
        let rows: Vec<&MetricRow> = t
            .rows
            .iter()
            .filter(|r| &r.scenario == scenario && &r.target == target)
            .collect();
        let title = if target == "all" {
            scenario.clone()
        } else {
            format!("{scenario} — {target}")
        };
        let _ = writeln!(s, "<h2>{}</h2>", esc(&title));
        let bias: Vec<Point> = rows
            .iter()
            .map(|r| {
                let v = 100.0 * r.rel_bias;
                let e = 1.96 * 100.0 * r.rel_bias_mcse;
                let lim = BIAS_AXIS_LIMIT;
                if v.is_finite() && v.abs() > lim {
                    Point {
                        label: if v.abs() < 1e4 {
                            format!("{} ({v:+.0}%)", r.estimator)
                        } else {
                            format!("{} ({v:+.1e}%)", r.estimator)
                        },
                        value: v.clamp(-lim, lim),
                        lower: v.clamp(-lim, lim),
                        upper: v.clamp(-lim, lim),
                    }
                } else {
                    Point {
                        label: r.estimator.clone(),
                        value: v,
                        lower: v - e,
                        upper: v + e,
                    }
                }
            })
            .collect();
        if let Ok(svg) = plot::dot_plot(
            &format!("Relative bias, {title}"),
            "Mean relative bias of N̂ (%)",
            &bias,
            Some((0.0, "no bias")),
        ) {
            let _ = writeln!(
                s,
                "<figure id=\"bias_{g}\">\n{svg}<figcaption>Relative bias (N̂ − N)/N in % with ±1.96 Monte-Carlo SE; biases beyond ±{BIAS_AXIS_LIMIT}% are drawn at the edge with their value in the label.</figcaption>\n</figure>"
            );
        }
        let cov: Vec<Point> = rows
            .iter()
            .filter_map(|r| {
                r.primary().map(|p| {
                    let v = 100.0 * p.coverage;
                    let e = 1.96 * 100.0 * p.coverage_mcse;
                    Point {
                        label: format!("{} ({})", r.estimator, p.method),
                        value: v,
                        lower: (v - e).max(0.0),
                        upper: (v + e).min(100.0),
                    }
                })
            })
            .collect();
        if let Ok(svg) = plot::dot_plot(
            &format!("Interval coverage, {title}"),
            "Share of intervals covering the true size (%)",
            &cov,
            Some((t.level * 100.0, &nominal)),
        ) {
            let _ = writeln!(
                s,
                "<figure id=\"coverage_{g}\">\n{svg}<figcaption>Coverage of each estimator's primary interval (method in brackets) with ±1.96 Monte-Carlo SE, against the nominal level.</figcaption>\n</figure>"
            );
        }
    }
    s.push_str("<h2>The table</h2>\n<table>\n<thead><tr>");
    for h in HEADER {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        s.push_str("<tr>");
        for c in cells(r) {
            let _ = write!(s, "<td>{}</td>", esc(&c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    let _ = writeln!(
        s,
        "<h2>Provenance</h2>\n<ul>\n<li>Software: darkfigure {}</li>\n<li>Study: {}</li>\n\
         <li>Seed: {}</li>\n<li>Replicates per scenario: {}</li>\n<li>Confidence level: {:.0}%</li>\n</ul>",
        env!("CARGO_PKG_VERSION"),
        esc(&t.study),
        t.seed,
        t.replicates,
        t.level * 100.0
    );
    let _ = writeln!(
        s,
        "<h2>How to cite</h2>\n<p>{} See CITATION.cff in the repository.</p>",
        esc(&crate::report::software_citation())
    );
    s.push_str("</main>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mean_over_runaway_fits_is_written_in_scientific_notation() {
        assert_eq!(num(2136.24, 1), "2136.2");
        assert_eq!(num(8.767e305, 1), "8.77e305");
        assert_eq!(num(f64::INFINITY, 1), "inf");
        assert_eq!(pct(0.125), "12.5");
        assert_eq!(pct(4.38e303), "4.38e305");
    }
}
