//! A plan as text, Markdown or JSON: the answer (the cheapest design meeting the target)
//! first, then the target and assumptions, the least effort per number of operations,
//! and every simulated design with Monte-Carlo errors.

use super::{Criterion, Effort, Plan, PlanRow, Search};
use crate::error::{Error, Result};
use std::fmt::Write;

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else if x.is_nan() {
        "n/a".into()
    } else {
        "unbounded".into()
    }
}

fn pct_mc(v: super::Mc) -> String {
    if v.value.is_finite() && v.mcse.is_finite() {
        format!("{:.1}% ± {:.1}", 100.0 * v.value, 100.0 * v.mcse)
    } else {
        pct(v.value)
    }
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e9 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn effort_phrase(plan: &Plan, effort: f64, operations: usize) -> String {
    match plan.spec.effort {
        Effort::MetPerOperation(_) => format!(
            "{} people met per operation ({} in total)",
            num(effort),
            num(effort * operations as f64)
        ),
        Effort::Probability(_) => format!("capture probability {} per operation", num(effort)),
    }
}

/// The target in words.
pub fn target_line(plan: &Plan) -> String {
    let s = &plan.spec;
    let level = format!("{:.0}%", 100.0 * s.level);
    let crit = match s.goal.criterion {
        Criterion::HalfWidth { max, quantile } => {
            let q = if quantile == 0.5 {
                "median".to_string()
            } else {
                format!("{:.0}th percentile", 100.0 * quantile)
            };
            format!(
                "{q} relative half-width of the {level} interval ≤ {}",
                pct(max)
            )
        }
        Criterion::Rmse { max } => format!("relative RMSE ≤ {}", pct(max)),
    };
    let ns: Vec<String> = s.population.iter().map(|n| n.to_string()).collect();
    format!(
        "{crit}, coverage ≥ {}, failures ≤ {}, at every N in {{{}}}",
        pct(s.goal.min_coverage),
        pct(s.goal.max_failure),
        ns.join(", ")
    )
}

/// The population assumptions in words.
pub fn assumptions_line(plan: &Plan) -> String {
    let s = &plan.spec;
    let het = match &s.heterogeneity {
        Some(v) if v.ratio != 1.0 => {
            let sds: Vec<f64> = plan
                .designs
                .iter()
                .flat_map(|d| d.rows.iter().map(|r| r.sd))
                .collect();
            let lo = sds.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = sds.iter().copied().fold(0.0, f64::max);
            format!(
                "the most visible {:.0}% are {}× as likely to be met as the average (logit-normal σ {:.2}–{:.2})",
                100.0 * v.top_share,
                num(v.ratio),
                lo,
                hi
            )
        }
        _ => "everybody equally likely to be met".into(),
    };
    let beh = if s.behaviour_odds_ratio == 1.0 {
        "no behaviour effect".to_string()
    } else {
        format!(
            "after a first capture the odds of being met are × {}",
            num(s.behaviour_odds_ratio)
        )
    };
    let dep = if s.dependence.is_empty() {
        "independent lists".to_string()
    } else {
        s.dependence
            .iter()
            .map(|d| {
                format!(
                    "lists {} and {} log odds ratio {}",
                    d.lists[0],
                    d.lists[1],
                    num(d.log_odds_ratio)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{het}; {beh}; {dep}")
}

/// The answer in one sentence per judged estimator.
pub fn answer_lines(plan: &Plan) -> Vec<String> {
    plan.judged
        .iter()
        .map(|label| match plan.answers.iter().find(|a| &a.estimator == label) {
            Some(a) => {
                let w = &a.worst;
                format!(
                    "{label}: {} operations, {} — interval ±{} (median; 90th percentile ±{}) at N = {}, coverage {}, failures {}",
                    a.operations,
                    effort_phrase(plan, a.effort, a.operations),
                    pct(w.half_width_median.value),
                    pct(w.half_width_p90.value),
                    w.population,
                    pct(w.coverage.value),
                    pct(w.failure.value)
                )
            }
            None => {
                // the closest: among designs that keep coverage and failures, the most
                // precise; otherwise the one with the best coverage
                let cands: Vec<_> = plan
                    .designs
                    .iter()
                    .filter_map(|d| d.worst(label).map(|w| (d, w)))
                    .collect();
                let keeps = |d: &super::DesignResult| {
                    d.rows.iter().filter(|r| &r.estimator == label).all(|r| {
                        r.coverage.value >= plan.spec.goal.min_coverage
                            && r.failure.value <= plan.spec.goal.max_failure
                    })
                };
                let min_cov = |d: &super::DesignResult| {
                    d.rows
                        .iter()
                        .filter(|r| &r.estimator == label)
                        .map(|r| r.coverage.value)
                        .fold(f64::INFINITY, f64::min)
                };
                let best = if cands.iter().any(|(d, _)| keeps(d)) {
                    cands.into_iter().filter(|(d, _)| keeps(d)).min_by(|a, b| {
                        a.1.criterion
                            .value
                            .partial_cmp(&b.1.criterion.value)
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
                } else {
                    cands.into_iter().max_by(|a, b| {
                        min_cov(a.0)
                            .partial_cmp(&min_cov(b.0))
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
                };
                match best {
                    Some((d, w)) => format!(
                        "{label}: no design in the space meets the target; the closest simulated, {} operations with {}, gives ±{} (median) at N = {}, but {}",
                        d.operations,
                        effort_phrase(plan, d.effort, d.operations),
                        pct(w.half_width_median.value),
                        w.population,
                        d.rows
                            .iter()
                            .filter(|r| &r.estimator == label && !r.meets)
                            .map(|r| format!(
                                "at N = {}: {}",
                                r.population,
                                shortfalls(plan, r).join(", ")
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    None => format!("{label}: no design in the space meets the target"),
                }
            }
        })
        .collect()
}

/// The conditions of the goal a row misses, in words.
pub fn shortfalls(plan: &Plan, r: &PlanRow) -> Vec<String> {
    let g = &plan.spec.goal;
    let mut v = Vec::new();
    let precise = r.criterion.value <= g.criterion.max();
    let covers = r.coverage.value >= g.min_coverage;
    let fits = r.failure.value <= g.max_failure;
    if !precise {
        v.push(match g.criterion {
            Criterion::HalfWidth { .. } => format!(
                "the half-width criterion is {} > {}",
                pct(r.criterion.value),
                pct(g.criterion.max())
            ),
            Criterion::Rmse { max } => {
                format!("relative RMSE {} > {}", pct(r.rel_rmse.value), pct(max))
            }
        });
    }
    if !covers {
        v.push(format!(
            "coverage {} < {}",
            pct(r.coverage.value),
            pct(g.min_coverage)
        ));
    }
    if !fits {
        v.push(format!(
            "failures {} > {}",
            pct(r.failure.value),
            pct(g.max_failure)
        ));
    }
    v
}

fn search_line(plan: &Plan) -> String {
    let s = &plan.spec;
    format!(
        "{} search: {} of {} designs simulated, {} replicates per design and N, seed {}, estimators {}",
        match s.search {
            Search::Adaptive => "adaptive",
            Search::Grid => "grid",
        },
        plan.designs.len(),
        plan.grid_size,
        s.replicates,
        s.seed,
        s.estimators.join(", ")
    )
}

fn frontier_rows(plan: &Plan) -> Vec<[String; 2]> {
    plan.frontier
        .iter()
        .map(|f| {
            let e = match f.effort {
                Some(e) => num(e),
                None if f.simulated || plan.spec.search == Search::Grid => format!(
                    "none up to {}",
                    num(*plan.spec.effort.values().last().unwrap_or(&0.0))
                ),
                None => "not searched".into(),
            };
            [f.operations.to_string(), e]
        })
        .collect()
}

const HEAD: [&str; 13] = [
    "estimator",
    "ops",
    "effort",
    "N",
    "p̄",
    "σ",
    "half-width median",
    "p90",
    "rel. bias",
    "rel. RMSE",
    "coverage",
    "failed",
    "meets",
];

fn design_rows(plan: &Plan) -> Vec<[String; 13]> {
    let mut out = Vec::new();
    for d in &plan.designs {
        for r in d.rows.iter().filter(|r| plan.judged.contains(&r.estimator)) {
            out.push(row_cells(d.operations, d.effort, r));
        }
    }
    out
}

fn row_cells(t: usize, effort: f64, r: &PlanRow) -> [String; 13] {
    [
        r.estimator.clone(),
        t.to_string(),
        num(effort),
        r.population.to_string(),
        format!("{:.3}", r.p_bar),
        format!("{:.2}", r.sd),
        pct_mc(r.half_width_median),
        pct_mc(r.half_width_p90),
        pct_mc(r.rel_bias),
        pct_mc(r.rel_rmse),
        pct_mc(r.coverage),
        pct(r.failure.value),
        if r.meets { "yes" } else { "no" }.into(),
    ]
}

fn text_table<const K: usize>(head: [&str; K], rows: &[[String; K]]) -> String {
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (k, c) in r.iter().enumerate() {
            w[k] = w[k].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{c:<width$}", width = w[k]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut s = line(head.to_vec());
    s.push('\n');
    for r in rows {
        s.push_str(&line(r.iter().map(String::as_str).collect()));
        s.push('\n');
    }
    s
}

fn md_table<const K: usize>(head: [&str; K], rows: &[[String; K]]) -> String {
    let mut s = format!("| {} |\n|{}\n", head.join(" | "), "---|".repeat(K));
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

/// The plan as plain text (answer first).
pub fn to_text(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Plan: {}", plan.spec.name);
    let _ = writeln!(s, "Answer (the cheapest design meeting the target):");
    for l in answer_lines(plan) {
        let _ = writeln!(s, "  {l}");
    }
    let _ = writeln!(s, "Target: {}", target_line(plan));
    let _ = writeln!(s, "Population: {}", assumptions_line(plan));
    let _ = writeln!(s, "Search: {}", search_line(plan));
    let _ = writeln!(
        s,
        "\nLeast effort ({}) meeting the target, by number of operations ({}):",
        plan.spec.effort.unit(),
        plan.judged.first().map_or("", String::as_str)
    );
    s.push_str(&text_table(["operations", "effort"], &frontier_rows(plan)));
    let _ = writeln!(
        s,
        "\nDesigns simulated (value ± Monte-Carlo SE, in percentage points):"
    );
    s.push_str(&text_table(HEAD, &design_rows(plan)));
    s
}

/// The plan as Markdown (answer first).
pub fn to_markdown(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Plan: {}\n", plan.spec.name);
    let _ = writeln!(s, "**Answer** (the cheapest design meeting the target):\n");
    for l in answer_lines(plan) {
        let _ = writeln!(s, "- {l}");
    }
    let _ = writeln!(s, "\n- Target: {}", target_line(plan));
    let _ = writeln!(s, "- Population: {}", assumptions_line(plan));
    let _ = writeln!(s, "- Search: {}\n", search_line(plan));
    let _ = writeln!(
        s,
        "Least effort ({}) meeting the target, by number of operations:\n",
        plan.spec.effort.unit()
    );
    s.push_str(&md_table(["operations", "effort"], &frontier_rows(plan)));
    let _ = writeln!(
        s,
        "\nDesigns simulated (value ± Monte-Carlo SE, in percentage points):\n"
    );
    s.push_str(&md_table(HEAD, &design_rows(plan)));
    s
}

/// The plan as JSON: `answer_lines` first, then the full [`Plan`].
///
/// # Errors
/// [`Error::Numerical`] if serialisation fails.
pub fn to_json(plan: &Plan) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        answer: Vec<String>,
        #[serde(flatten)]
        plan: &'a Plan,
    }
    serde_json::to_string_pretty(&Out {
        answer: answer_lines(plan),
        plan,
    })
    .map_err(|e| Error::Numerical {
        reason: format!("JSON: {e}"),
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plan as one self-contained HTML page (inline CSS and SVG, no scripts): the answer
/// first, then one precision figure per number of operations — the criterion of each
/// simulated effort (worst over the plausible population sizes, with ±2 Monte-Carlo
/// errors) against the target drawn as a line — then the tables of [`to_markdown`].
///
/// # Errors
/// [`Error::InvalidData`] when no design has a finite criterion to draw.
pub fn to_html(plan: &Plan) -> Result<String> {
    use crate::report::plot::{Point, dot_plot};
    let target = plan.spec.goal.criterion.max();
    let mut ops: Vec<usize> = plan.designs.iter().map(|d| d.operations).collect();
    ops.sort_unstable();
    ops.dedup();
    let mut figures = Vec::new();
    for &k in &ops {
        let mut designs: Vec<&super::DesignResult> =
            plan.designs.iter().filter(|d| d.operations == k).collect();
        designs.sort_by(|a, b| a.effort.total_cmp(&b.effort));
        let points: Vec<Point> = designs
            .iter()
            .filter_map(|d| {
                let worst = d
                    .rows
                    .iter()
                    .filter(|r| r.criterion.value.is_finite())
                    .max_by(|a, b| a.criterion.value.total_cmp(&b.criterion.value))?;
                let (v, e) = (worst.criterion.value, 2.0 * worst.criterion.mcse);
                Some(Point {
                    label: format!(
                        "{} {}",
                        crate::report::plot::axis_number(d.effort),
                        plan.spec.effort.unit()
                    ),
                    value: v,
                    lower: v - e,
                    upper: v + e,
                })
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        figures.push(dot_plot(
            &format!("{k} operations: precision against effort"),
            "relative half-width of the 95% interval (worst plausible N)",
            &points,
            Some((target, "target")),
        )?);
    }
    if figures.is_empty() {
        return Err(Error::invalid(
            "no simulated design has a finite precision to draw",
        ));
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}\
         .answer{{border-left:6px solid #c0392b;background:#fbf3f2;padding:0.6em 1em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px}}\
         figure{{margin:1em 0;page-break-inside:avoid}}pre{{overflow-x:auto;font-size:0.8em}}</style></head><body>",
        esc(&plan.spec.name)
    );
    let _ = writeln!(s, "<h1>Plan: {}</h1>", esc(&plan.spec.name));
    let _ = writeln!(s, "<div class=\"answer\"><ul>");
    for l in answer_lines(plan) {
        let _ = writeln!(s, "<li>{}</li>", esc(&l));
    }
    let _ = writeln!(s, "</ul></div>");
    let _ = writeln!(
        s,
        "<p>Target: {}<br>Population: {}<br>Search: {}</p>",
        esc(&target_line(plan)),
        esc(&assumptions_line(plan)),
        esc(&search_line(plan))
    );
    for f in figures {
        let _ = writeln!(s, "<figure>{f}</figure>");
    }
    let _ = writeln!(
        s,
        "<h2>Designs simulated</h2><pre>{}</pre>",
        esc(&to_text(plan))
    );
    let _ = writeln!(s, "</body></html>");
    Ok(s)
}
