//! Text and Markdown renderings of the headlines: the figure to cite first (at most five
//! lines per stratum), then the compact candidate table, then the warnings.

use super::Report;
use crate::estimate::fmt_num;
use crate::recommend::{Candidate, Headline};
use std::fmt::Write as _;

/// The heading of a headline: the stratum name, `Total (sum over strata)` or `All data`.
pub fn title(h: &Headline) -> String {
    match h.stratum.as_deref() {
        None => "All data".to_string(),
        Some("total") => "Total (sum over strata)".to_string(),
        Some(s) => s.to_string(),
    }
}

pub use super::common::num;

/// `x` at the precision [`num`] gives `like`: whole numbers once `like` is 100 or more, so
/// a dark figure reads as whole people beside a whole N̂ ("212 in all … about 41", not
/// "about 41.4").
fn num_as(x: f64, like: f64) -> String {
    if x.is_finite() && like.abs() >= 100.0 && x.abs() < 100.0 {
        format!("{:.0}", x.round() + 0.0)
    } else {
        num(x)
    }
}

/// A whole count for a reader: thousands separators from 1,000 up.
pub fn count(n: u64) -> String {
    if n < 100 {
        n.to_string()
    } else {
        num(n as f64)
    }
}

/// The figure in one sentence, or why there is none.
pub fn sentence(h: &Headline) -> String {
    if !h.n_hat.is_finite() {
        return format!(
            "No figure can be cited ({} seen): {}",
            count(h.observed),
            h.warnings.first().map_or("", |w| w
                .strip_prefix("No figure can be cited: ")
                .unwrap_or(w))
        );
    }
    let i = &h.interval;
    let d = &h.dark_figure_interval;
    format!(
        "Estimated {} in all ({:.0}% interval {} to {}, {}); {} {} seen, so about {} ({} to {}) were never recorded.",
        num(h.n_hat),
        i.level * 100.0,
        num(i.lower),
        num(i.upper),
        i.method.label(),
        count(h.observed),
        if h.observed == 1 { "was" } else { "were" },
        num_as(h.dark_figure, h.n_hat),
        num_as(d.lower, h.n_hat),
        num_as(d.upper, h.n_hat)
    )
}

fn models_line(h: &Headline) -> String {
    let shown: Vec<String> = h
        .models
        .iter()
        .take(4)
        .map(|m| format!("{} {:.0}%", m.model, 100.0 * m.weight))
        .collect();
    let more = h.models.len().saturating_sub(4);
    let mut s = shown.join(", ");
    if more > 0 {
        let _ = write!(s, " and {more} more");
    }
    s
}

fn range_line(h: &Headline) -> Option<String> {
    let s = h.sensitivity.as_ref().filter(|s| !one_model(s))?;
    Some(format!(
        "Range over plausible models: {} ({}) to {} ({}); interval limits {} to {}.",
        num(s.lower),
        s.models.first().map_or("", String::as_str),
        num(s.upper),
        s.models.get(1).map_or("", String::as_str),
        num(s.interval_lower),
        num(s.interval_upper)
    ))
}

fn truth_line(h: &Headline) -> Option<String> {
    let t = h.truth?;
    let covered = h.interval.contains(t as f64);
    Some(format!(
        "Known true size {t}: {}.",
        if covered {
            "inside the interval"
        } else {
            "NOT inside the interval"
        }
    ))
}

fn rests_on(h: &Headline) -> String {
    let a: Vec<&str> = h.assumptions.iter().map(|a| a.describe()).collect();
    if a.is_empty() {
        String::new()
    } else {
        format!(" Rests on: {}.", a.join("; "))
    }
}

/// Whether a candidate's N̂ must not be printed as a number (excluded for an impossible
/// or absurd N̂): every format prints `DEGENERATE` instead.
pub(super) fn n_hat_unprintable(c: &Candidate) -> bool {
    c.excluded.is_some() && (!(c.n_hat.is_finite() && c.n_hat >= 0.0) || interval_unprintable(c))
}

/// Whether a candidate's interval must not be printed (excluded because of its N̂).
pub(super) fn interval_unprintable(c: &Candidate) -> bool {
    c.excluded.as_deref().is_some_and(|r| r.contains("N̂"))
}

/// Candidates ordered as the tables show them: by criterion difference, then the
/// candidates without one: the closed-form alternatives (which enter the range) before
/// the excluded models, each in their order.
pub(super) fn by_criterion(h: &Headline) -> Vec<&Candidate> {
    let mut v: Vec<&Candidate> = h.candidates.iter().collect();
    v.sort_by(|a, b| {
        let key = |c: &Candidate| c.delta_ic.unwrap_or(f64::INFINITY);
        key(a)
            .total_cmp(&key(b))
            .then(a.excluded.is_some().cmp(&b.excluded.is_some()))
    });
    v
}

fn candidate_cells(c: &Candidate) -> Vec<String> {
    vec![
        c.model.clone(),
        c.delta_ic.map_or("-".into(), |d| format!("{d:.2}")),
        if c.weight > 0.0 {
            format!("{:.3}", c.weight)
        } else {
            "-".into()
        },
        if n_hat_unprintable(c) {
            "DEGENERATE".into()
        } else {
            fmt_num(c.n_hat)
        },
        if interval_unprintable(c) {
            "-".into()
        } else {
            format!(
                "[{}, {}]",
                fmt_num(c.interval.lower),
                fmt_num(c.interval.upper)
            )
        },
        c.gof_p.map_or("-".into(), |p| format!("{p:.3}")),
        c.excluded.clone().unwrap_or_default(),
    ]
}

const CANDIDATE_HEADERS: [&str; 7] = [
    "model", "ΔIC", "weight", "N̂", "interval", "GOF p", "excluded",
];

/// Candidates shown in the compact table: every candidate with a weight or a criterion
/// difference within 10, the excluded ones, and the closed-form alternatives; at most 25
/// rows (the best by the criterion first).
fn shown(h: &Headline) -> (Vec<&Candidate>, Hidden) {
    let v = by_criterion(h);
    let keep: Vec<&Candidate> = v
        .iter()
        .copied()
        .filter(|c| c.delta_ic.is_none_or(|d| d <= 10.0) || c.weight > 0.0)
        .collect();
    let hidden = Hidden {
        far: v.len() - keep.len(),
        beyond: keep.len().saturating_sub(MAX_SHOWN),
    };
    (keep.into_iter().take(MAX_SHOWN).collect(), hidden)
}

/// Most rows in the compact table of candidates.
const MAX_SHOWN: usize = 25;

/// The candidates the compact table leaves out, and why.
#[derive(Clone, Copy)]
struct Hidden {
    /// With a criterion difference above 10 and no weight.
    far: usize,
    /// Past the table's last row (`MAX_SHOWN`): the excluded models come last.
    beyond: usize,
}

impl Hidden {
    fn any(self) -> bool {
        self.far + self.beyond > 0
    }

    /// `5 more with ΔIC > 10`, `3 more past the first 25 rows`, or both.
    fn words(self) -> String {
        let mut parts = Vec::new();
        if self.far > 0 {
            parts.push(format!("{} more with ΔIC > 10", self.far));
        }
        if self.beyond > 0 {
            parts.push(format!(
                "{} more past the first {MAX_SHOWN} rows",
                self.beyond
            ));
        }
        parts.join(" and ")
    }
}

/// `Bayesian cross-check: dga X (95% CrI a–b), LCMCR Y (a–b)` under the headline the
/// `--bayes` section belongs to; `None` without `--bayes`. The posteriors are shown, not
/// averaged in (see [`super::headline::BayesCrossCheck`]).
pub(super) fn bayes_line(r: &Report, h: &Headline) -> Option<String> {
    if !super::headline::is_bayes_headline(r, h) {
        return None;
    }
    let (checks, _) = super::headline::bayes_cross_check(r, h);
    if checks.is_empty() {
        return None;
    }
    let parts: Vec<String> = checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{} {} ({}{} to {}){}",
                c.method,
                num(c.median),
                if i == 0 {
                    format!("{:.0}% CrI ", r.level * 100.0)
                } else {
                    String::new()
                },
                num(c.lower),
                num(c.upper),
                if c.converged { "" } else { ", not mixed" }
            )
        })
        .collect();
    Some(format!(
        "Bayesian cross-check (not in the average): {}.",
        parts.join(", ")
    ))
}

/// The warnings shown beside the figure: another reading of the data fits where this one
/// does not (as lists, [`super::common::LISTS_HINT`]; as an open population,
/// [`super::common::OPEN_HINT`]), or, without such a reading, that the best model fits
/// poorly (a figure from a model the data reject must not be read without it); and a
/// doubt about the interval itself ([`crate::recommend::is_interval_doubt`]).
pub fn cautions(h: &Headline) -> Vec<&String> {
    let mut out: Vec<&String> = h
        .warnings
        .iter()
        .filter(|w| super::common::is_caution(w))
        .collect();
    if out.is_empty() {
        out.extend(
            h.warnings
                .iter()
                .filter(|w| crate::recommend::is_poor_fit(w)),
        );
    }
    out.extend(
        h.warnings
            .iter()
            .filter(|w| crate::recommend::is_interval_doubt(w)),
    );
    out
}

/// The warnings listed under the candidates: all but those beside the figure.
pub fn checks(h: &Headline) -> impl Iterator<Item = &String> {
    let beside = cautions(h);
    h.warnings
        .iter()
        .filter(move |w| !beside.iter().any(|b| std::ptr::eq(*b, *w)))
}

/// A range over one plausible model only (nothing to show: its interval is the headline's).
pub fn one_model(s: &crate::recommend::Sensitivity) -> bool {
    s.lower == s.upper && s.models.first() == s.models.get(1)
}

/// Text rendering of the headlines.
pub fn text(r: &Report, out: &mut String) {
    for h in &r.headline {
        let _ = writeln!(out, "\n== {} ==", title(h));
        let _ = writeln!(out, "{}", sentence(h));
        if h.n_hat.is_finite() {
            let _ = writeln!(
                out,
                "Basis: {}; {}.",
                h.basis,
                if h.models.is_empty() {
                    String::new()
                } else {
                    models_line(h)
                }
            );
            if let Some(l) = range_line(h) {
                let _ = writeln!(out, "{l}");
            }
            let rest = rests_on(h);
            if !rest.is_empty() {
                let _ = writeln!(out, "{}", rest.trim_start());
            }
            if let Some(l) = truth_line(h) {
                let _ = writeln!(out, "{l}");
            }
            if let Some(l) = bayes_line(r, h) {
                let _ = writeln!(out, "{l}");
            }
            for w in cautions(h) {
                let _ = writeln!(out, "Caution: {w}");
            }
        }
    }
    for h in &r.headline {
        if h.candidates.is_empty() && checks(h).next().is_none() {
            continue;
        }
        let _ = writeln!(out, "\n-- {}: candidates and checks --", title(h));
        if !h.candidates.is_empty() {
            let (rows, hidden) = shown(h);
            let cells: Vec<Vec<String>> = rows.iter().map(|c| candidate_cells(c)).collect();
            let right: Vec<bool> = (0..CANDIDATE_HEADERS.len())
                .map(|k| (1..=5).contains(&k))
                .collect();
            out.push_str(&super::common::aligned(&CANDIDATE_HEADERS, &right, &cells));
            if hidden.any() {
                let _ = writeln!(out, "({}: --all or --format json)", hidden.words());
            }
        }
        for w in checks(h) {
            let _ = writeln!(out, "  ! {w}");
        }
    }
}

/// Markdown rendering of the headlines.
pub fn markdown(r: &Report, out: &mut String) {
    let _ = writeln!(out, "\n## The figure to cite\n");
    let esc = |s: String| s.replace('|', "\\|");
    for h in &r.headline {
        let _ = writeln!(out, "**{}.** {}  ", esc(title(h)), sentence(h));
        if h.n_hat.is_finite() {
            let _ = writeln!(
                out,
                "*Basis:* {}; {}.  ",
                esc(h.basis.clone()),
                esc(models_line(h))
            );
            if let Some(l) = range_line(h) {
                let _ = writeln!(out, "*{}*{}  ", esc(l), rests_on(h));
            }
            if let Some(l) = truth_line(h) {
                let _ = writeln!(out, "{l}  ");
            }
            if let Some(l) = bayes_line(r, h) {
                let _ = writeln!(out, "{}  ", esc(l));
            }
            for w in cautions(h) {
                let _ = writeln!(out, "**Caution:** {}  ", esc(w.clone()));
            }
        }
        let _ = writeln!(out);
    }
    for h in &r.headline {
        if h.candidates.is_empty() && checks(h).next().is_none() {
            continue;
        }
        let _ = writeln!(out, "\n### {}: candidates and checks\n", title(h));
        if !h.candidates.is_empty() {
            let (rows, hidden) = shown(h);
            let _ = writeln!(out, "| {} |", CANDIDATE_HEADERS.join(" | "));
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
            for c in rows {
                let cells: Vec<String> = candidate_cells(c)
                    .into_iter()
                    .map(|x| x.replace('|', "\\|"))
                    .collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            if hidden.any() {
                let _ = writeln!(
                    out,
                    "\n{} (see the full tables or the JSON).",
                    hidden.words()
                );
            }
        }
        if checks(h).next().is_some() {
            let _ = writeln!(out);
            for w in checks(h) {
                let _ = writeln!(out, "- {w}");
            }
        }
    }
}
