//! Headline-first reports for the key-population methods: the figure to cite, its interval
//! and what it rests on come first, then the evidence tables. Rendered as text, Markdown
//! or JSON; the `keypop` example binary only parses arguments and prints these.

use crate::error::{Error, Result};
use crate::estimate::{Estimate, Interval, IntervalMethod};
use crate::kp::multiplier::MultiplierFit;
use crate::kp::nsum::{InternalConsistency, NsumFit};
use crate::kp::rds::{RdsDiagnostics, RdsProportion};
use crate::kp::sspse::{ReportFormat, SizePrior, SspseFit, SspseForm};
use crate::kp::triangulate::TriangulationFit;
use crate::report::html::{
    AnswerCard, Page, ReportContext, interval_method_words, json_number, level_pct,
};
use crate::report::plot::{self, Point, Reference, Series};
use crate::report::{Figure, count_words};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

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
    /// Checks run on the figure (benchmark consistency, convergence, …), passed or not.
    pub checks: Vec<Check>,
    /// What `se` is: "SE", or "posterior SD" beside a credible interval.
    pub se_label: String,
    /// Whether the figure is a proportion (printed with 4 decimals) rather than a count.
    pub proportion: bool,
}

/// A check run on the headline figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Whether it passed.
    pub passed: bool,
    /// What was checked and what it showed, in words.
    pub what: String,
}

impl Check {
    fn new(passed: bool, what: impl Into<String>) -> Self {
        Check {
            passed,
            what: what.into(),
        }
    }
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
    /// The papers and R functions the methods follow.
    pub references: Vec<String>,
    /// Figures of the HTML report (not in the JSON).
    #[serde(skip)]
    pub figures: Vec<Figure>,
    /// Figures that could not be drawn, and why (said in the HTML report).
    #[serde(skip)]
    pub figure_notes: Vec<String>,
}

fn fmt_value(x: f64, proportion: bool) -> String {
    if proportion {
        format!("{x:.4}")
    } else {
        count_words(x)
    }
}

/// The interval method in words; "N̂" reads "estimate" for a proportion.
fn method_words(i: &Interval, proportion: bool) -> String {
    let w = interval_method_words(i);
    if proportion {
        w.replace("N̂", "estimate")
    } else {
        w.to_string()
    }
}

fn se_label(i: Option<&Interval>) -> String {
    if i.is_some_and(|i| i.method == IntervalMethod::Credible) {
        "posterior SD".into()
    } else {
        "SE".into()
    }
}

/// The SE (or posterior SD) in words; an infinite one says why it is not a number.
fn se_words(h: &KpHeadline) -> Option<String> {
    let s = h.se?;
    Some(if s.is_finite() {
        format!("{} {}", h.se_label, fmt_value(s, h.proportion))
    } else {
        format!(
            "{} infinite (a heavy right tail: cite the median and the interval)",
            h.se_label
        )
    })
}

/// Draws a figure into `figs`, or says in `notes` why it could not be drawn.
fn push_figure(
    figs: &mut Vec<Figure>,
    notes: &mut Vec<String>,
    id: &str,
    caption: String,
    svg: Result<String>,
) {
    match svg {
        Ok(svg) => figs.push(Figure {
            id: id.into(),
            caption,
            svg,
        }),
        Err(e) => notes.push(format!("Figure `{id}` not drawn: {e}")),
    }
}

fn point(label: impl Into<String>, value: f64, i: &Interval) -> Point {
    Point {
        label: label.into(),
        value,
        lower: i.lower,
        upper: i.upper,
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
        checks: Vec::new(),
        se_label: se_label(Some(&e.interval)),
        proportion: false,
    }
}

fn estimate_row(label: &str, e: &Estimate) -> Vec<String> {
    vec![
        label.to_string(),
        count_words(e.n_hat),
        count_words(e.se),
        fmt_interval(&e.interval, false),
    ]
}

fn est_columns() -> Vec<String> {
    ["estimator", "N̂", "SE", "interval"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Report of the multiplier method; `unweighted` is the same survey fitted without its
/// weights (shown beside the weighted figure when weights were used).
pub fn multiplier_report(fit: &MultiplierFit, unweighted: Option<&MultiplierFit>) -> KpReport {
    let e = &fit.estimate;
    let citable = fit.checks.iter().all(|c| c.estimate_ok);
    let basis = format!(
        "multiplier N̂ = M / P̂ = {} / {:.4} ({} P̂, delta method with design effect {})",
        count_words(fit.benchmark),
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
        count_words(fit.benchmark)
    )];
    let mut headline = headline_from(e, "population size", basis, extra, citable);
    for c in &fit.checks {
        headline.checks.push(Check::new(
            c.estimate_ok && c.lower_ok,
            format!(
                "benchmark consistency against {} = {}: N̂ {} it, lower limit {} it",
                c.against.name,
                count_words(c.against.count),
                if c.estimate_ok {
                    "is not below"
                } else {
                    "is BELOW"
                },
                if c.lower_ok {
                    "is not below"
                } else {
                    "is BELOW"
                },
            ),
        ));
    }
    let mut rows = vec![estimate_row(&e.model, e)];
    if let Some(u) = unweighted {
        rows.push(estimate_row(&u.estimate.model, &u.estimate));
    }
    for i in &e.other_intervals {
        rows.push(vec![
            format!("{} (bootstrap)", e.model),
            count_words(e.n_hat),
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
                    count_words(c.against.count),
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
    let mut points = vec![point(
        format!(
            "{} P̂, delta method",
            if fit.weighted {
                "weighted"
            } else {
                "unweighted"
            }
        ),
        e.n_hat,
        &e.interval,
    )];
    for i in &e.other_intervals {
        points.push(point(
            format!(
                "{} P̂, {}",
                if fit.weighted {
                    "weighted"
                } else {
                    "unweighted"
                },
                i.method
            ),
            e.n_hat,
            i,
        ));
    }
    if let Some(u) = unweighted {
        points.push(point(
            "unweighted P̂, delta method",
            u.estimate.n_hat,
            &u.estimate.interval,
        ));
    }
    points.push(point(
        "Lincoln-Petersen (unweighted)",
        fit.lincoln_petersen.n_hat,
        &fit.lincoln_petersen.interval,
    ));
    points.push(point(
        "Chapman (unweighted)",
        fit.chapman.n_hat,
        &fit.chapman.interval,
    ));
    let (mut figures, mut figure_notes) = (Vec::new(), Vec::new());
    // The most binding count: the largest already observed (the benchmark M at least).
    let (bind_name, bind_count) = fit
        .checks
        .iter()
        .map(|c| (c.against.name.as_str(), c.against.count))
        .chain(std::iter::once(("benchmark M", fit.benchmark)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("benchmark M", fit.benchmark));
    let m_label = format!("{bind_name} = {}", count_words(bind_count));
    push_figure(
        &mut figures,
        &mut figure_notes,
        "multiplier_estimates",
        format!(
            "Population size by estimator with its {} interval. The red line is the largest \
             count already observed ({bind_name}, {}): a population cannot be smaller than the \
             number already counted in it, so an estimate or interval left of the line fails the \
             consistency check (Hickman et al. 2006).",
            level_pct(e.interval.level),
            count_words(bind_count)
        ),
        plot::dot_plot(
            "Multiplier estimates of the population size",
            "Estimated population size, with interval",
            &points,
            Some((bind_count, &m_label)),
        ),
    );
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
        details: serde_json::json!({ "fit": fit, "unweighted": unweighted }),
        references: vec![
            "UNAIDS/WHO (2010) Guidelines on estimating the size of populations most at risk to HIV (multiplier method)".into(),
            "Gutreuter (2019), RDSpopsize::RDS_2S_PSE (weighted multiplier and its bootstrap)".into(),
            "Seber (1982); Chapman (1951) (the two-source forms)".into(),
            "Hickman et al. (2006) (benchmark consistency)".into(),
        ],
        figures,
        figure_notes,
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
            count_words(total),
            main.n_used,
            count_words(main.sum_d_hat)
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
                count_words(f.estimate.n_hat),
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
                count_words(ic.rmse)
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
                        count_words(h.known_size),
                        count_words(h.estimate),
                        format!("{:.3}", h.relerr),
                    ]
                })
                .collect(),
        });
        headline.checks.push(Check::new(
            ic.are <= 0.5,
            format!(
                "internal consistency: each of the {} known populations held out and estimated from the others is off by {:.0}% on average (up to 50% passes){}",
                ic.results.len(),
                100.0 * ic.are,
                if ic.are > 0.5 {
                    ": the degree estimates, and so this figure, are unreliable"
                } else {
                    ""
                }
            ),
        ));
    }
    let (mut figures, mut figure_notes) = (Vec::new(), Vec::new());
    let mut points = Vec::new();
    for (f, p) in fits.iter().zip(pimle) {
        points.push(point(
            format!("{}: ratio of sums, Killworth SE", f.hidden),
            f.estimate.n_hat,
            &f.estimate.interval,
        ));
        for i in &f.estimate.other_intervals {
            points.push(point(
                format!("{}: ratio of sums, {}", f.hidden, i.method),
                f.estimate.n_hat,
                i,
            ));
        }
        points.push(point(format!("{}: PIMLE", f.hidden), p.n_hat, &p.interval));
    }
    push_figure(
        &mut figures,
        &mut figure_notes,
        "nsum_estimates",
        format!(
            "Scale-up estimates of each hidden population with their {} intervals; the red line is \
             the headline figure.",
            level_pct(iv.level)
        ),
        plot::dot_plot(
            "Network scale-up estimates",
            "Estimated population size, with interval",
            &points,
            Some((e.n_hat, "headline")),
        ),
    );
    if let Some(ic) = ic {
        let errs: Vec<Point> = ic
            .results
            .iter()
            .map(|h| {
                let v = 100.0 * h.err / h.known_size;
                // Beyond ±ERR_AXIS % the dot sits at the edge with its value in the label.
                let (label, shown) = if v.abs() > ERR_AXIS {
                    (
                        format!("{} ({v:+.0}%)", h.name),
                        v.clamp(-ERR_AXIS, ERR_AXIS),
                    )
                } else {
                    (h.name.clone(), v)
                };
                Point {
                    label,
                    value: shown,
                    lower: shown,
                    upper: shown,
                }
            })
            .collect();
        push_figure(
            &mut figures,
            &mut figure_notes,
            "nsum_internal_consistency",
            "Internal consistency: each known population is held out in turn and estimated by \
             scale-up from the others; the dot is its relative error in % (right of the line: \
             over-estimated; errors beyond ±300% are drawn at the edge with their value beside \
             the name). Large errors mean the degree estimates, and so the headline, are \
             unreliable."
                .into(),
            plot::dot_plot(
                "Known populations held out: relative error of their scale-up estimate",
                "(estimate − known size) / known size, %",
                &errs,
                Some((0.0, "no error")),
            ),
        );
    }
    KpReport {
        title: "Network scale-up estimate".into(),
        headline,
        tables,
        details: serde_json::json!({ "fits": fits, "pimle": pimle, "internal_consistency": ic }),
        references: vec![
            "Killworth et al. (1998) (degrees, scale-up estimator and SE), as networkreporting::kp.degree.estimator and nsum.estimator".into(),
            "Feehan & Salganik (2016) (degree-ratio and transmission adjustments)".into(),
            "Rao & Wu (1988); Rust & Rao (1996) (rescaled bootstrap), as networkreporting::bootstrap.estimates".into(),
        ],
        figures,
        figure_notes,
    }
}

/// Relative error (%) beyond which the internal-consistency figure cuts its axis.
const ERR_AXIS: f64 = 300.0;

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
    let checks = vec![
        Check::new(
            diag.convergence_drift <= 0.05,
            format!(
                "convergence: over the second half of the sample the RDS-II estimate moved by at most {:.3} (up to 0.05 passes)",
                diag.convergence_drift
            ),
        ),
        Check::new(
            diag.max_wave >= 3,
            format!(
                "recruitment depth: {} waves from {} seeds (3 or more pass)",
                diag.max_wave, diag.seeds
            ),
        ),
    ];
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
                .map(|n| format!(", N = {}", count_words(n)))
                .unwrap_or_default()
        ),
        rests_on: e
            .assumptions
            .iter()
            .map(|a| a.describe().to_string())
            .collect(),
        warnings,
        checks,
        se_label: se_label(Some(&e.interval)),
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
    let (mut figures, mut figure_notes) = (Vec::new(), Vec::new());
    let conv_series = Series {
        label: "RDS-II estimate from the first k respondents".into(),
        points: diag
            .convergence
            .iter()
            .map(|&(k, v)| (k as f64, v))
            .collect(),
    };
    // The curve is RDS-II's: it is judged against RDS-II's final estimate.
    let final_ii = estimates
        .iter()
        .find(|x| x.weighting == "RDS-II")
        .unwrap_or(e);
    let cited = Reference {
        label: format!(
            "{} estimate from all {} respondents, {:.3}",
            final_ii.weighting, final_ii.n, final_ii.estimate
        ),
        value: final_ii.estimate,
        band: Some((final_ii.interval.lower, final_ii.interval.upper)),
    };
    push_figure(
        &mut figures,
        &mut figure_notes,
        "rds_convergence",
        format!(
            "Convergence over the sample order: the RDS-II estimate computed from the first k \
             respondents, k growing, against its value from the whole sample (red line, {} \
             interval shaded). A curve that has flattened inside the band means more recruitment \
             would not have moved it much; a curve still drifting means the sample may not have \
             escaped the seeds' influence. (The cited figure, {} = {:.3}, uses other weights \
             on the same respondents.)",
            level_pct(final_ii.interval.level),
            e.weighting,
            e.estimate
        ),
        plot::lines(
            &format!("Convergence of the estimated proportion with `{outcome}`"),
            "Respondents included, in recruitment order (k)",
            "Estimated proportion",
            &[conv_series],
            Some(&cited),
            None,
        ),
    );
    let points: Vec<Point> = estimates
        .iter()
        .map(|x| point(x.weighting.clone(), x.estimate, &x.interval))
        .collect();
    push_figure(
        &mut figures,
        &mut figure_notes,
        "rds_estimates",
        format!(
            "The proportion under each weighting with its {} interval; the red line is the \
             cited estimate. Weightings that disagree show how much the answer rests on the \
             sampling model.",
            level_pct(e.interval.level)
        ),
        plot::dot_plot(
            "Estimated proportion by weighting",
            "Estimated population proportion, with interval",
            &points,
            Some((e.estimate, "cited estimate")),
        ),
    );
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
        references: vec![
            "Salganik & Heckathorn (2004) (RDS-I), as RDS::RDS.I.estimates".into(),
            "Volz & Heckathorn (2008) (RDS-II), as RDS::RDS.II.estimates".into(),
            "Gile (2011) (successive-sampling weights), as RDS::RDS.SS.estimates".into(),
        ],
        figures,
        figure_notes,
    }
}

/// Report of a triangulation.
pub fn triangulation_report(fit: &TriangulationFit) -> KpReport {
    let p = &fit.posterior;
    let mut headline = headline_from(
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
                    count_words(s.estimate),
                    count_words(s.lower),
                    count_words(s.upper),
                    s.confidence * 100.0
                )
            })
            .collect(),
        true,
    );
    let mut rows = vec![
        vec![
            "full model".into(),
            count_words(p.median),
            count_words(p.mean),
            count_words(p.sd),
            fmt_interval(&p.interval, false),
        ],
        vec![
            "τ = 0".into(),
            count_words(fit.tau0.median),
            count_words(fit.tau0.mean),
            count_words(fit.tau0.sd),
            fmt_interval(&fit.tau0.interval, false),
        ],
    ];
    let m = &fit.median_of_methods;
    rows.push(vec![
        "median of methods".into(),
        count_words(m.point),
        "".into(),
        "".into(),
        format!(
            "plausible bounds [{}, {}]",
            count_words(m.lower),
            count_words(m.upper)
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
                    u.median_without
                        .map(count_words)
                        .unwrap_or_else(|| "—".into()),
                    u.log_shift
                        .map(|x| format!("{x:+.3}"))
                        .unwrap_or_else(|| "—".into()),
                ]
            })
            .collect(),
    };
    let outside: Vec<&str> = fit
        .studies
        .iter()
        .filter(|s| !(s.lower <= p.median && p.median <= s.upper))
        .map(|s| s.name.as_str())
        .collect();
    headline.checks.push(Check::new(
        outside.is_empty(),
        if outside.is_empty() {
            format!(
                "agreement: the consensus median lies inside every input's interval ({} inputs)",
                fit.studies.len()
            )
        } else {
            format!(
                "agreement: the consensus median lies outside the interval of {}: the inputs disagree, check their designs",
                outside.join(", ")
            )
        },
    ));
    let (mut figures, mut figure_notes) = (Vec::new(), Vec::new());
    let mut points: Vec<Point> = fit
        .studies
        .iter()
        .map(|s| Point {
            label: format!("{} (confidence {:.0}%)", s.name, 100.0 * s.confidence),
            value: s.estimate,
            lower: s.lower,
            upper: s.upper,
        })
        .collect();
    points.push(point("consensus (full model)", p.median, &p.interval));
    points.push(point(
        "consensus (τ = 0)",
        fit.tau0.median,
        &fit.tau0.interval,
    ));
    let m = &fit.median_of_methods;
    points.push(Point {
        label: "median of methods".into(),
        value: m.point,
        lower: m.lower,
        upper: m.upper,
    });
    push_figure(
        &mut figures,
        &mut figure_notes,
        "triangulation_inputs",
        format!(
            "Each input estimate with its interval (the analyst's confidence in its design in \
             brackets: a low confidence widens its interval in the model and lowers its pull), \
             then the consensus: the full model's posterior median with its {} credible interval, \
             the τ = 0 form (no between-method variance), and the median-of-methods convention \
             with its plausible bounds. The red line is the consensus median.",
            level_pct(p.interval.level)
        ),
        plot::dot_plot(
            "Inputs and consensus",
            "Population size, with interval",
            &points,
            Some((p.median, "consensus median")),
        ),
    );
    if !p.quantiles.is_empty() {
        let mut series = vec![Series {
            label: "posterior of N (full model)".into(),
            points: p.quantiles.iter().map(|&(q, n)| (n, q)).collect(),
        }];
        let (mu, sd) = fit.prior_log;
        if mu.is_finite() && sd.is_finite() && sd > 0.0 {
            let nd = statrs::distribution::Normal::standard();
            use statrs::distribution::ContinuousCDF;
            let (lo, hi) = (p.quantiles[0].1, p.quantiles[p.quantiles.len() - 1].1);
            series.push(Series {
                label: "prior of N".into(),
                points: (0..=40)
                    .map(|k| {
                        let n = lo + (hi - lo) * k as f64 / 40.0;
                        (n, nd.cdf((n.ln() - mu) / sd))
                    })
                    .collect(),
            });
        }
        push_figure(
            &mut figures,
            &mut figure_notes,
            "triangulation_posterior",
            format!(
                "Posterior distribution of the population size: the probability that N is at most \
                 the value on the horizontal axis. The curve crosses the red line (probability one \
                 half) at the median, {}; the {} credible interval runs from where it reaches {:.1}% \
                 to where it reaches {:.1}%{}.",
                count_words(p.median),
                level_pct(p.interval.level),
                50.0 * (1.0 - p.interval.level),
                50.0 * (1.0 + p.interval.level),
                if series.len() > 1 {
                    "; the prior is drawn for comparison: where the two curves differ, the inputs moved the answer away from the prior"
                } else {
                    ""
                }
            ),
            plot::lines(
                "Posterior of the population size",
                "Population size N",
                "Probability N is at most this",
                &series,
                Some(&Reference {
                    label: "probability one half".into(),
                    value: 0.5,
                    band: None,
                }),
                Some((0.0, 1.0)),
            ),
        );
    }
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
        references: vec![
            "Fellows et al., triangulator (R package and Shiny app, fellstat/triangulator), log-scale hierarchical model".into(),
            "Okal et al. (2013) (median of methods with plausible bounds)".into(),
            "UNAIDS/WHO (2010) Guidelines on estimating the size of populations most at risk to HIV (triangulation)".into(),
        ],
        figures,
        figure_notes,
    }
}

/// Report of an SS-PSE fit: the posterior median and credible interval of N first, the
/// convergence checks (split R̂, effective sample size) beside it; then the posterior
/// summaries, the diagnostics, a histogram of the posterior and a trace per chain.
///
/// # Errors
/// [`Error::Numerical`] if the fit cannot be serialised.
pub fn sspse_report(fit: &SspseFit) -> Result<KpReport> {
    let e = &fit.estimate;
    let p = &fit.n;
    let json: serde_json::Value =
        serde_json::from_str(&fit.report(ReportFormat::Json)?).map_err(|e| Error::Numerical {
            reason: format!("SS-PSE JSON: {e}"),
        })?;
    let rests_on = fit.rests_on();
    let form = match fit.form {
        SspseForm::OneSample => "one survey",
        SspseForm::Recapture => "two surveys (capture-recapture)",
    };
    let mut headline = headline_from(
        e,
        "population size (SS-PSE)",
        format!(
            "SS-PSE posterior median from {form}{}, {} chains × {} draws",
            if fit.params.visibility {
                " with the visibility model"
            } else {
                ""
            },
            fit.params.chains,
            fit.params.samples
        ),
        Vec::new(),
        true,
    );
    // the model's own account (the generic assumptions of the Estimate speak of occasions)
    headline.rests_on = rests_on;
    headline.checks = vec![
        Check::new(
            p.rhat < 1.05,
            format!(
                "chains agree: split R̂ of N = {:.3} over {} chains (below 1.05 passes)",
                p.rhat, fit.params.chains
            ),
        ),
        Check::new(
            p.ess >= 400.0,
            format!(
                "enough independent draws: effective sample size of N = {:.0} (400 or more passes{})",
                p.ess,
                if p.ess >= 400.0 {
                    ""
                } else {
                    "; run more draws with --samples, or more chains"
                }
            ),
        ),
    ];
    if let SizePrior::Beta { median } = fit.params.prior {
        // how far the data narrowed the prior: the width of the posterior's 90% interval
        // against the prior's (a posterior median near the prior median can still be well
        // informed, and a moved median can sit in an interval as wide as the prior's)
        let prior_w = fit.prior_eq90[1] - fit.prior_eq90[0];
        let post_w = p.eq90[1] - p.eq90[0];
        let ratio = post_w / prior_w;
        let informed = prior_w > 0.0 && ratio < 0.75;
        headline.checks.push(Check::new(
            informed,
            format!(
                "the data narrowed the prior: posterior 90% interval {} to {} is {:.0}% as wide as the prior's ({} to {}); posterior median {} against prior median {}{}",
                count_words(p.eq90[0]),
                count_words(p.eq90[1]),
                100.0 * ratio,
                count_words(fit.prior_eq90[0]),
                count_words(fit.prior_eq90[1]),
                count_words(p.median),
                count_words(median),
                if informed {
                    ""
                } else if (p.median / median).ln().abs() > 0.1 {
                    " (below 75% passes): the data shifted the posterior but did not narrow it, so the interval mostly reflects the prior's spread; report it with the prior and compare other prior medians"
                } else {
                    " (below 75% passes): the figure largely restates the prior; report it with the prior and compare other prior medians"
                }
            ),
        ));
    }
    let range = |v: [f64; 2]| format!("{} to {}", count_words(v[0]), count_words(v[1]));
    let posterior = EvidenceTable {
        title: "Posterior of the population size N".into(),
        columns: vec!["summary".into(), "value".into()],
        rows: vec![
            vec!["median (the figure cited)".into(), count_words(p.median)],
            vec!["mean".into(), count_words(p.mean)],
            vec!["SD".into(), count_words(p.sd)],
            vec!["90% equal-tailed interval".into(), range(p.eq90)],
            vec!["90% highest-density interval".into(), range(p.hpd90)],
            vec!["95% equal-tailed interval".into(), range(p.eq95)],
            vec!["95% highest-density interval".into(), range(p.hpd95)],
            vec![
                "never surveyed (median N − respondents)".into(),
                count_words(p.median - fit.n_seen as f64),
            ],
            vec![
                "mean network size (posterior median)".into(),
                format!("{:.2}", fit.mean_degree.median),
            ],
        ],
    };
    let mut data_rows = vec![
        vec!["distinct respondents".into(), fit.n_seen.to_string()],
        vec![
            "respondents per survey".into(),
            fit.survey_sizes
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ],
    ];
    if let Some(r) = fit.recaptures {
        data_rows.push(vec!["in both surveys".into(), r.to_string()]);
    }
    data_rows.push(vec![
        "prior on N".into(),
        format!(
            "{} (median on its support {}, N below {})",
            fit.params.prior.label(),
            count_words(fit.prior_median),
            group(fit.max_n)
        ),
    ]);
    data_rows.push(vec![
        "network sizes capped at K".into(),
        fit.params.k.to_string(),
    ]);
    let convergence = EvidenceTable {
        title: "Convergence of the sampler".into(),
        columns: vec!["diagnostic".into(), "value".into()],
        rows: vec![
            vec![
                "chains × retained draws".into(),
                format!("{} × {}", fit.params.chains, fit.params.samples),
            ],
            vec![
                "warm-up sweeps, thinning".into(),
                format!(
                    "{}, every {}th sweep",
                    fit.params.warmup, fit.params.interval
                ),
            ],
            vec!["seed".into(), fit.params.seed.to_string()],
            vec![
                "split R̂ of N (1 = chains agree)".into(),
                format!("{:.3}", p.rhat),
            ],
            vec!["effective sample size of N".into(), format!("{:.0}", p.ess)],
            vec![
                "split R̂ of the mean network size".into(),
                format!("{:.3}", fit.mean_degree.rhat),
            ],
            vec![
                "θ acceptance rate".into(),
                format!("{:.2}", fit.theta_acceptance),
            ],
        ],
    };
    let (mut figures, mut figure_notes) = (Vec::new(), Vec::new());
    let pooled: Vec<f64> = fit.draws.iter().flatten().copied().collect();
    let mut marks = vec![
        ("posterior median".to_string(), p.median),
        (
            format!("{} interval, lower", level_pct(e.interval.level)),
            e.interval.lower,
        ),
        (
            format!("{} interval, upper", level_pct(e.interval.level)),
            e.interval.upper,
        ),
    ];
    if let SizePrior::Beta { median } = fit.params.prior {
        marks.push(("prior median".into(), median));
    }
    push_figure(
        &mut figures,
        &mut figure_notes,
        "sspse_posterior",
        format!(
            "Posterior distribution of the population size: the {} draws of all chains pooled. \
             The red line is the posterior median (the figure cited), the dashed lines the ends of \
             its {} credible interval and the prior median. A posterior piled against the prior \
             median says the survey carries little information on N.",
            pooled.len(),
            level_pct(e.interval.level)
        ),
        plot::histogram(
            "Posterior of the population size N",
            "Population size N",
            &pooled,
            40,
            &marks,
        ),
    );
    let series: Vec<Series> = fit
        .draws
        .iter()
        .enumerate()
        .map(|(c, d)| Series {
            label: format!("chain {}", c + 1),
            points: d
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v))
                .collect(),
        })
        .collect();
    push_figure(
        &mut figures,
        &mut figure_notes,
        "sspse_trace",
        format!(
            "Trace of N in each chain, draw by draw after warm-up. Chains that overlap and wander \
             over the same range (split R̂ {:.3}, effective sample size {:.0}) have converged to \
             the same posterior; a chain stuck apart from the others would make the figure \
             unreliable.",
            p.rhat, p.ess
        ),
        plot::lines(
            "Trace of N per chain",
            "Retained draw",
            "Population size N",
            &series,
            Some(&Reference {
                label: format!("posterior median {}", count_words(p.median)),
                value: p.median,
                band: None,
            }),
            None,
        ),
    );
    Ok(KpReport {
        title: "Population size from respondent-driven sampling (SS-PSE)".into(),
        headline,
        tables: vec![
            posterior,
            convergence,
            EvidenceTable {
                title: "Data and prior".into(),
                columns: vec!["quantity".into(), "value".into()],
                rows: data_rows,
            },
        ],
        details: json,
        references: vec![
            "Handcock, Gile & Mar (2014, 2015) (SS-PSE), as sspse::posteriorsize".into(),
            "Kim & Handcock (2021) (two surveys), as sspse::posteriorsize(previous = \"recapture\")".into(),
            "Gelman et al. (2013) §11.4 (split R̂ and effective sample size)".into(),
        ],
        figures,
        figure_notes,
    })
}

fn group(v: u64) -> String {
    plot::group_thousands(i64::try_from(v).unwrap_or(i64::MAX))
}

/// What a report file needs beyond the analysis: the input files (read and hashed for the
/// provenance), the command line that reproduces it, and the seed.
#[derive(Debug, Clone, Default)]
pub struct ReportInputs {
    /// Input files, in the order given.
    pub files: Vec<PathBuf>,
    /// The arguments after the program name (`--report FILE` is dropped).
    pub args: Vec<String>,
    /// The seed, when random numbers were drawn.
    pub seed: Option<u64>,
}

impl KpReport {
    /// The answer box of the HTML report.
    fn answer_card(&self) -> AnswerCard {
        let h = &self.headline;
        let shown = |x: f64| (fmt_value(x, h.proportion), json_number(x));
        let mut title = h.what.clone();
        if let Some(c) = title.get(..1) {
            title = c.to_uppercase() + &title[1..];
        }
        let mut sentence = match (h.value, h.interval) {
            (Some(v), Some(i)) => format!(
                "{}: {}, with {} from {} to {} at the {} level.",
                title,
                fmt_value(v, h.proportion),
                method_words(&i, h.proportion),
                fmt_value(i.lower, h.proportion),
                fmt_value(i.upper, h.proportion),
                level_pct(i.level)
            ),
            _ => {
                let failed: Vec<&str> = h
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.what.as_str())
                    .collect();
                format!(
                    "The estimate is not a figure to cite: it failed {} (listed below). {}",
                    if failed.len() == 1 {
                        "a check"
                    } else {
                        "checks"
                    },
                    "Report the evidence below with that failure, or correct the inputs."
                )
            }
        };
        if let Some(s) = se_words(h).filter(|_| h.value.is_some()) {
            sentence.push_str(&format!(
                " {}{}.",
                s.get(..1).unwrap_or("").to_uppercase(),
                s.get(1..).unwrap_or("")
            ));
        }
        let mut checks: Vec<(bool, String)> = h
            .checks
            .iter()
            .map(|c| (c.passed, c.what.clone()))
            .collect();
        checks.extend(h.warnings.iter().map(|w| (false, format!("Warning: {w}"))));
        let mut details = vec![format!("How it was computed: {}.", h.basis)];
        details.extend(h.rests_on.iter().map(|r| format!("Rests on: {r}.")));
        AnswerCard {
            title,
            figure: h.value.map(shown),
            interval: h.value.and(h.interval).map(|i| {
                (
                    level_pct(i.level),
                    method_words(&i, h.proportion),
                    shown(i.lower),
                    shown(i.upper),
                )
            }),
            sentence,
            checks,
            details,
        }
    }

    fn page(&self, inputs: &ReportInputs) -> Result<Page> {
        let mut page = Page::new(self.title.clone());
        page.answer(self.answer_card());
        page.heading(2, "Evidence");
        let mut tables = self.tables.iter();
        if let Some(t) = tables.next() {
            page.table(t.title.clone(), t.columns.clone(), t.rows.clone());
        }
        for f in &self.figures {
            page.figure(f.clone());
        }
        if !self.figure_notes.is_empty() {
            page.list(self.figure_notes.clone());
        }
        for t in tables {
            page.table(t.title.clone(), t.columns.clone(), t.rows.clone());
        }
        let mut files = Vec::new();
        for f in &inputs.files {
            let bytes = std::fs::read(f).map_err(|e| Error::Io {
                path: f.display().to_string(),
                source: e,
            })?;
            files.push((f.display().to_string(), bytes));
        }
        let args = ReportContext::new(None, "", b"")
            .with_options(inputs.args.iter().cloned())
            .options;
        page.provenance(
            &files,
            inputs.seed,
            &format!("keypop {}", args.join(" ")),
            &self.references,
        );
        Ok(page)
    }

    /// The report as one self-contained HTML page (inline CSS and SVG, no scripts): the
    /// answer with its interval and checks first, then the evidence (tables and figures),
    /// the provenance (each input file's SHA-256, the command, the seed) and the methods'
    /// references.
    ///
    /// # Errors
    /// [`Error::Io`] when an input file cannot be read for its hash.
    pub fn to_html(&self, inputs: &ReportInputs) -> Result<String> {
        Ok(self.page(inputs)?.to_html())
    }

    /// Writes the report to `path`: HTML for `.html`, Markdown with the figures as SVG
    /// files beside it for `.md`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for another extension; [`Error::Io`] when a file cannot
    /// be read or written.
    pub fn write_report(&self, path: &std::path::Path, inputs: &ReportInputs) -> Result<()> {
        self.page(inputs)?.write(path)
    }

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
                se_words(h).map(|s| format!(", {s}")).unwrap_or_default()
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
        for c in &h.checks {
            out.push(format!(
                "{}: {}",
                if c.passed {
                    "check passed"
                } else {
                    "CHECK FAILED"
                },
                c.what
            ));
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
