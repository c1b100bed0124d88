//! Headline-first reports for the key-population methods: the figure to cite, its interval
//! and what it rests on come first, then the evidence tables. Rendered as text, Markdown
//! or JSON; the `keypop` example binary only parses arguments and prints these.

use crate::estimate::{Estimate, Interval, fmt_num};
use crate::kp::multiplier::MultiplierFit;
use crate::kp::nsum::{InternalConsistency, NsumFit};
use crate::kp::rds::{RdsDiagnostics, RdsProportion};
use crate::kp::triangulate::TriangulationFit;
use serde::Serialize;
use std::fmt::Write;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// JSON.
    Json,
}

impl std::str::FromStr for Format {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "txt" => Ok(Format::Text),
            "markdown" | "md" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            _ => Err(crate::Error::param("format", s, "text, markdown or json")),
        }
    }
}

/// The figure to cite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpHeadline {
    /// What the figure is ("population size of clients", "proportion with disease").
    pub what: String,
    /// The figure (`None` when it cannot be cited).
    pub value: Option<f64>,
    /// Its standard error.
    pub se: Option<f64>,
    /// Its interval with the method named.
    pub interval: Option<Interval>,
    /// The method and settings it comes from, in one line.
    pub basis: String,
    /// What it rests on (assumptions and inputs).
    pub rests_on: Vec<String>,
    /// Warnings and failed checks, in words.
    pub warnings: Vec<String>,
    /// Whether the figure is a proportion (printed with 4 decimals) rather than a count.
    pub proportion: bool,
}

/// An evidence table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceTable {
    /// Title.
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Cells.
    pub rows: Vec<Vec<String>>,
}

/// A headline-first report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpReport {
    /// Title.
    pub title: String,
    /// The headline.
    pub headline: KpHeadline,
    /// Evidence.
    pub tables: Vec<EvidenceTable>,
    /// Full results for JSON readers.
    pub details: serde_json::Value,
}

fn fmt_value(x: f64, proportion: bool) -> String {
    if proportion {
        format!("{x:.4}")
    } else {
        fmt_num(x)
    }
}

fn fmt_interval(i: &Interval, proportion: bool) -> String {
    format!(
        "[{}, {}] ({:.0}% {})",
        fmt_value(i.lower, proportion),
        fmt_value(i.upper, proportion),
        i.level * 100.0,
        i.method
    )
}

fn headline_from(
    e: &Estimate,
    what: &str,
    basis: String,
    extra: Vec<String>,
    citable: bool,
) -> KpHeadline {
    let mut rests_on: Vec<String> = e
        .assumptions
        .iter()
        .map(|a| a.describe().to_string())
        .collect();
    rests_on.extend(extra);
    KpHeadline {
        what: what.into(),
        value: citable.then_some(e.n_hat),
        se: citable.then_some(e.se),
        interval: citable.then_some(e.interval),
        basis,
        rests_on,
        warnings: e.warnings.iter().map(|w| w.to_string()).collect(),
        proportion: false,
    }
}

fn estimate_row(label: &str, e: &Estimate) -> Vec<String> {
    vec![
        label.to_string(),
        fmt_num(e.n_hat),
        fmt_num(e.se),
        fmt_interval(&e.interval, false),
    ]
}

fn est_columns() -> Vec<String> {
    ["estimator", "N̂", "SE", "interval"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Report of the multiplier method.
pub fn multiplier_report(fit: &MultiplierFit) -> KpReport {
    let e = &fit.estimate;
    let citable = fit.checks.iter().all(|c| c.estimate_ok);
    let basis = format!(
        "multiplier N̂ = M / P̂ = {} / {:.4} ({} P̂, delta method with design effect {})",
        fmt_num(fit.benchmark),
        fit.p_hat,
        if fit.weighted {
            "weighted"
        } else {
            "unweighted"
        },
        fit.design_effect
    );
    let extra = vec![format!(
        "{} of {} respondents reported receiving; benchmark count M = {}",
        fit.receivers,
        fit.n,
        fmt_num(fit.benchmark)
    )];
    let headline = headline_from(e, "population size", basis, extra, citable);
    let mut rows = vec![estimate_row(&e.model, e)];
    for i in &e.other_intervals {
        rows.push(vec![
            format!("{} (bootstrap)", e.model),
            fmt_num(e.n_hat),
            "".into(),
            fmt_interval(i, false),
        ]);
    }
    rows.push(estimate_row(
        "Lincoln-Petersen (Seber SE, unweighted)",
        &fit.lincoln_petersen,
    ));
    rows.push(estimate_row("Chapman (unweighted)", &fit.chapman));
    let checks = EvidenceTable {
        title: "Benchmark consistency (Hickman et al. 2006)".into(),
        columns: vec![
            "observed count".into(),
            "value".into(),
            "N̂ ≥ count".into(),
            "lower limit ≥ count".into(),
        ],
        rows: fit
            .checks
            .iter()
            .map(|c| {
                vec![
                    c.against.name.clone(),
                    fmt_num(c.against.count),
                    yes_no(c.estimate_ok),
                    yes_no(c.lower_ok),
                ]
            })
            .collect(),
    };
    let survey = EvidenceTable {
        title: "Survey".into(),
        columns: vec!["quantity".into(), "value".into()],
        rows: vec![
            vec!["respondents".into(), fit.n.to_string()],
            vec!["received".into(), fit.receivers.to_string()],
            vec!["P̂ unweighted".into(), format!("{:.4}", fit.p_unweighted)],
            vec!["P̂ used".into(), format!("{:.4}", fit.p_hat)],
            vec!["design effect".into(), format!("{}", fit.design_effect)],
        ],
    };
    KpReport {
        title: "Multiplier (benchmark) estimate".into(),
        headline,
        tables: vec![
            EvidenceTable {
                title: "Estimates".into(),
                columns: est_columns(),
                rows,
            },
            checks,
            survey,
        ],
        details: serde_json::to_value(fit).unwrap_or_default(),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "NO".into() }
}

/// Report of network scale-up: the first fit is the headline; others (other groups, PIMLE)
/// and the internal-consistency check are evidence.
pub fn nsum_report(
    fits: &[NsumFit],
    pimle: &[Estimate],
    ic: Option<&InternalConsistency>,
    total: f64,
) -> KpReport {
    let main = &fits[0];
    let e = &main.estimate;
    let iv = e.other_intervals.first().copied().unwrap_or(e.interval);
    let mut headline = headline_from(
        e,
        &format!("population size of `{}`", main.hidden),
        format!(
            "{} (N = {}, {} respondents, Σ d̂ = {})",
            e.model,
            fmt_num(total),
            main.n_used,
            fmt_num(main.sum_d_hat)
        ),
        vec!["degrees from the known populations (Killworth estimator)".into()],
        true,
    );
    headline.interval = Some(iv);
    if let Some(b) = &main.bootstrap {
        headline.se = Some(b.sd);
        headline.rests_on.push("interval and SE: rescaled bootstrap over clusters within strata (the Killworth SE ignores the design)".into());
    }
    let mut rows = Vec::new();
    for f in fits {
        rows.push(estimate_row(
            &format!("{} — {}", f.hidden, f.estimate.model),
            &f.estimate,
        ));
        for i in &f.estimate.other_intervals {
            rows.push(vec![
                format!("{} — bootstrap", f.hidden),
                fmt_num(f.estimate.n_hat),
                "".into(),
                fmt_interval(i, false),
            ]);
        }
    }
    for (f, p) in fits.iter().zip(pimle) {
        rows.push(estimate_row(&format!("{} — {}", f.hidden, p.model), p));
    }
    let mut tables = vec![EvidenceTable {
        title: "Estimates".into(),
        columns: est_columns(),
        rows,
    }];
    if let Some(ic) = ic {
        tables.push(EvidenceTable {
            title: format!(
                "Internal consistency (each known population held out): ARE {:.3}, RMSE {}",
                ic.are,
                fmt_num(ic.rmse)
            ),
            columns: vec![
                "known population".into(),
                "size".into(),
                "estimate".into(),
                "relative error".into(),
            ],
            rows: ic
                .results
                .iter()
                .map(|h| {
                    vec![
                        h.name.clone(),
                        fmt_num(h.known_size),
                        fmt_num(h.estimate),
                        format!("{:.3}", h.relerr),
                    ]
                })
                .collect(),
        });
        if ic.are > 0.5 {
            headline.warnings.push(format!(
                "the known populations are poorly recovered when held out (average relative error {:.2}): degree estimates are unreliable",
                ic.are
            ));
        }
    }
    KpReport {
        title: "Network scale-up estimate".into(),
        headline,
        tables,
        details: serde_json::json!({ "fits": fits, "pimle": pimle, "internal_consistency": ic }),
    }
}

/// Report of RDS estimates of a proportion with the recruitment diagnostics.
pub fn rds_report(outcome: &str, estimates: &[RdsProportion], diag: &RdsDiagnostics) -> KpReport {
    let e = &estimates[0];
    let mut warnings = Vec::new();
    if diag.convergence_drift > 0.05 {
        warnings.push(format!(
            "the estimate drifted by up to {:.3} over the second half of the sample: it may not have converged",
            diag.convergence_drift
        ));
    }
    if diag.max_wave < 3 {
        warnings.push(format!("recruitment reached only wave {}", diag.max_wave));
    }
    let headline = KpHeadline {
        what: format!("population proportion with `{outcome}`"),
        value: Some(e.estimate),
        se: Some(e.se),
        interval: Some(e.interval),
        basis: format!(
            "{} estimator over {} respondents (design effect {:.2}{})",
            e.weighting,
            e.n,
            e.design_effect,
            e.population_size
                .map(|n| format!(", N = {}", fmt_num(n)))
                .unwrap_or_default()
        ),
        rests_on: e
            .assumptions
            .iter()
            .map(|a| a.describe().to_string())
            .collect(),
        warnings,
        proportion: true,
    };
    let rows = estimates
        .iter()
        .map(|x| {
            vec![
                x.weighting.clone(),
                format!("{:.4}", x.estimate),
                format!("{:.4}", x.se),
                fmt_interval(&x.interval, true),
                format!("{:.3}", x.design_effect),
            ]
        })
        .collect();
    let mut drows = vec![
        vec!["respondents".into(), diag.n.to_string()],
        vec!["seeds".into(), diag.seeds.to_string()],
        vec!["deepest wave".into(), diag.max_wave.to_string()],
        vec![
            "respondents per wave".into(),
            diag.per_wave
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ],
        vec![
            "mean recruits per respondent".into(),
            format!("{:.2}", diag.mean_recruits),
        ],
        vec![
            "share recruiting nobody".into(),
            format!("{:.2}", diag.share_no_recruits),
        ],
        vec![
            "largest chain".into(),
            diag.chains
                .iter()
                .map(|c| c.1)
                .max()
                .unwrap_or(0)
                .to_string(),
        ],
        vec![
            "convergence drift (2nd half)".into(),
            format!("{:.4}", diag.convergence_drift),
        ],
    ];
    if let Some(h) = diag.homophily {
        drows.push(vec![
            "recruitment homophily (1 = none)".into(),
            format!("{h:.3}"),
        ]);
    }
    if let Some(h) = diag.heckathorn_homophily {
        drows.push(vec![
            "Heckathorn homophily (outcome = 1)".into(),
            format!("{h:.3}"),
        ]);
    }
    let conv = EvidenceTable {
        title: "Convergence over the sample order (RDS-II)".into(),
        columns: vec!["first k respondents".into(), "estimate".into()],
        rows: diag
            .convergence
            .iter()
            .map(|(k, v)| vec![k.to_string(), format!("{v:.4}")])
            .collect(),
    };
    KpReport {
        title: "RDS estimate of a proportion".into(),
        headline,
        tables: vec![
            EvidenceTable {
                title: "Estimates".into(),
                columns: ["weights", "estimate", "SE", "interval", "design effect"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                rows,
            },
            EvidenceTable {
                title: "Recruitment diagnostics".into(),
                columns: vec!["quantity".into(), "value".into()],
                rows: drows,
            },
            conv,
        ],
        details: serde_json::json!({ "estimates": estimates.iter().map(|e| serde_json::json!({
            "weighting": e.weighting, "estimate": e.estimate, "se": e.se, "interval": e.interval,
            "design_effect": e.design_effect, "n": e.n, "population_size": e.population_size })).collect::<Vec<_>>(),
            "diagnostics": diag }),
    }
}

/// Report of a triangulation.
pub fn triangulation_report(fit: &TriangulationFit) -> KpReport {
    let p = &fit.posterior;
    let headline = headline_from(
        &fit.estimate,
        "population size (consensus)",
        format!(
            "triangulator model by quadrature over {} estimates: posterior median, {:.0}% credible interval",
            fit.studies.len(),
            p.interval.level * 100.0
        ),
        fit.studies
            .iter()
            .map(|s| {
                format!(
                    "{}: {} [{}, {}], confidence {:.0}%",
                    s.name,
                    fmt_num(s.estimate),
                    fmt_num(s.lower),
                    fmt_num(s.upper),
                    s.confidence * 100.0
                )
            })
            .collect(),
        true,
    );
    let mut rows = vec![
        vec![
            "full model".into(),
            fmt_num(p.median),
            fmt_num(p.mean),
            fmt_num(p.sd),
            fmt_interval(&p.interval, false),
        ],
        vec![
            "τ = 0".into(),
            fmt_num(fit.tau0.median),
            fmt_num(fit.tau0.mean),
            fmt_num(fit.tau0.sd),
            fmt_interval(&fit.tau0.interval, false),
        ],
    ];
    let m = &fit.median_of_methods;
    rows.push(vec![
        "median of methods".into(),
        fmt_num(m.point),
        "".into(),
        "".into(),
        format!(
            "plausible bounds [{}, {}]",
            fmt_num(m.lower),
            fmt_num(m.upper)
        ),
    ]);
    let pulls = EvidenceTable {
        title: "Pull of each input".into(),
        columns: vec![
            "study".into(),
            "precision share".into(),
            "median without it".into(),
            "log shift".into(),
        ],
        rows: fit
            .pulls
            .iter()
            .map(|u| {
                vec![
                    u.name.clone(),
                    format!("{:.3}", u.weight),
                    u.median_without.map(fmt_num).unwrap_or_else(|| "—".into()),
                    u.log_shift
                        .map(|x| format!("{x:+.3}"))
                        .unwrap_or_else(|| "—".into()),
                ]
            })
            .collect(),
    };
    KpReport {
        title: "Triangulation".into(),
        headline,
        tables: vec![
            EvidenceTable {
                title: "Consensus".into(),
                columns: ["form", "median", "mean", "SD", "interval"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                rows,
            },
            pulls,
        ],
        details: serde_json::to_value(fit).unwrap_or_default(),
    }
}

impl KpReport {
    /// Renders the report.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Markdown => self.to_markdown(),
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default(),
        }
    }

    fn headline_lines(&self) -> Vec<String> {
        let h = &self.headline;
        let mut out = Vec::new();
        match (h.value, h.interval) {
            (Some(v), Some(i)) => out.push(format!(
                "{}: {} {}{}",
                h.what,
                fmt_value(v, h.proportion),
                fmt_interval(&i, h.proportion),
                h.se.map(|s| format!(", SE {}", fmt_value(s, h.proportion)))
                    .unwrap_or_default()
            )),
            _ => out.push(format!(
                "{}: no figure can be cited (see the warnings)",
                h.what
            )),
        }
        out.push(format!("basis: {}", h.basis));
        for r in &h.rests_on {
            out.push(format!("rests on: {r}"));
        }
        for w in &h.warnings {
            out.push(format!("WARNING: {w}"));
        }
        out
    }

    /// Plain text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}\n{}",
            self.title,
            "=".repeat(self.title.chars().count())
        );
        for l in self.headline_lines() {
            let _ = writeln!(s, "{l}");
        }
        for t in &self.tables {
            let _ = writeln!(s, "\n{}", t.title);
            let ncol = t.columns.len();
            let mut width = vec![0; ncol];
            for row in std::iter::once(&t.columns).chain(&t.rows) {
                for (j, c) in row.iter().enumerate().take(ncol) {
                    width[j] = width[j].max(c.chars().count());
                }
            }
            for row in std::iter::once(&t.columns).chain(&t.rows) {
                let line: Vec<String> = row
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        format!(
                            "{c}{}",
                            " ".repeat(width[j].saturating_sub(c.chars().count()))
                        )
                    })
                    .collect();
                let _ = writeln!(s, "  {}", line.join("  ").trim_end());
            }
        }
        s
    }

    /// Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# {}\n", self.title);
        let lines = self.headline_lines();
        let _ = writeln!(s, "**{}**\n", lines[0]);
        for l in &lines[1..] {
            let _ = writeln!(s, "- {l}");
        }
        for t in &self.tables {
            let _ = writeln!(s, "\n## {}\n", t.title);
            let _ = writeln!(s, "| {} |", t.columns.join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(t.columns.len()));
            for r in &t.rows {
                let _ = writeln!(s, "| {} |", r.join(" | "));
            }
        }
        s
    }
}
