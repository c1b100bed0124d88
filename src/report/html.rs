//! The report a policy brief can cite: one self-contained HTML file (inline CSS and inline
//! SVG figures, no scripts, prints on A4) or Markdown with the figures as SVG files beside
//! it.
//!
//! Both are built from the same document: the headline of every stratum and the total in
//! plain words, a methods paragraph generated from what ran, the data summary, the
//! candidate tables and warnings, the figures of [`super::plot`], the provenance (software
//! version, input file and its SHA-256, every option given) and how to cite. The same
//! report and context give the same bytes: nothing depends on the clock unless
//! [`ReportContext::generated_at`] is set.

use super::plot::{self, Band, FittedSeries, ForestRow, Point};
use super::{POOLED, Report, SUMMED, Section};
use crate::closed::{self, ClosedModel};
use crate::counts;
use crate::data::{CaptureHistories, CountData, DataSet, OccasionOrder};
use crate::error::{Error, Result};
use crate::estimate::{Interval, fmt_num};
use crate::recommend::Headline;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

/// Most candidates drawn in one forest plot (the rest are listed in the table only).
pub const MAX_FOREST_ROWS: usize = 40;

/// Models named in a headline's summary (the rest are counted).
pub const MAX_MODELS_NAMED: usize = 5;

/// Lists or occasions beyond which the pairwise overlap table is left out.
pub const MAX_OVERLAP_COLUMNS: usize = 12;

/// What a report needs besides the analysis: the data (for the summaries and the
/// diagnostic figures) and what reproduces it (input bytes, options, seed).
#[derive(Debug, Clone)]
pub struct ReportContext<'a> {
    /// The data that were analysed (the report draws the data summary and the f_k and
    /// profile figures from them); `None` leaves those parts out.
    pub data: Option<&'a DataSet>,
    /// Input file name as the user gave it.
    pub input_name: String,
    /// SHA-256 of the input bytes, lower-case hex.
    pub input_sha256: String,
    /// Size of the input in bytes.
    pub input_bytes: usize,
    /// The options given, as on the command line (without the report's own file name).
    pub options: Vec<String>,
    /// The seed, when random numbers were drawn.
    pub seed: Option<u64>,
    /// A time stamp to print; `None` (the default) keeps reports byte-identical.
    pub generated_at: Option<String>,
    /// Title of the report.
    pub title: String,
}

impl<'a> ReportContext<'a> {
    /// A context for the input `input_name` whose bytes are `input` (hashed here).
    pub fn new(data: Option<&'a DataSet>, input_name: impl Into<String>, input: &[u8]) -> Self {
        ReportContext {
            data,
            input_name: input_name.into(),
            input_sha256: sha256_hex(input),
            input_bytes: input.len(),
            options: Vec::new(),
            seed: None,
            generated_at: None,
            title: "Estimate of a hidden population".into(),
        }
    }

    /// Records the command-line arguments (program name excluded), dropping `--report
    /// FILE` (or `--report=FILE`) so that the same analysis written to two files gives
    /// the same bytes.
    pub fn with_options<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = Vec::new();
        let mut skip = false;
        for a in args {
            let a: String = a.into();
            if skip {
                skip = false;
                continue;
            }
            if a == "--report" {
                skip = true;
                continue;
            }
            if a.starts_with("--report=") {
                continue;
            }
            out.push(a);
        }
        self.options = out;
        self
    }

    /// Sets the seed printed in the provenance.
    pub fn with_seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }
}

/// SHA-256 of `bytes` as lower-case hex (FIPS 180-4).
///
/// ```
/// assert_eq!(
///     darkfigure::report::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One figure of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Short identifier, used for the SVG file name of the Markdown report.
    pub id: String,
    /// Caption in words.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// A block of the report, rendered as HTML or Markdown.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading(u8, String),
    Para(String),
    Headline(Box<HeadlineCard>),
    Table {
        caption: String,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    List(Vec<String>),
    Figure(Figure),
    Code(String),
    Answer(Box<AnswerCard>),
}

#[derive(Debug, Clone, PartialEq)]
struct HeadlineCard {
    title: String,
    /// (display text, exact value as JSON writes it) for N̂, lower, upper, dark figure.
    n_hat: (String, String),
    lower: (String, String),
    upper: (String, String),
    dark: (String, String),
    level: String,
    sentence: String,
    details: Vec<String>,
    /// Whether there is a figure to cite (otherwise `sentence` says why not).
    estimable: bool,
}

/// A count of individuals in words: rounded to a whole number with thousands separators
/// (one decimal below 10); `∞` for an unbounded limit and `not estimable` for NaN.
pub fn count_words(x: f64) -> String {
    if x.is_nan() {
        "not estimable".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        }
    } else if x.abs() < 10.0 && x.fract() != 0.0 {
        format!("{x:.1}")
    } else if x.abs() >= super::common::LARGE {
        format!("{x:.3e}")
    } else {
        plot::group_thousands(x.round() as i64)
    }
}

pub(crate) fn json_number(x: f64) -> String {
    if x.is_finite() {
        serde_json::to_string(&x).unwrap_or_else(|_| "null".into())
    } else {
        "null".into()
    }
}

pub(crate) fn level_pct(level: f64) -> String {
    let p = level * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p}%")
    }
}

fn headline_title(h: &Headline) -> String {
    match h.stratum.as_deref() {
        None => "All data".into(),
        Some("total") => "Total over all strata".into(),
        Some(s) if s == SUMMED || s == POOLED => s.to_string(),
        Some(s) => match s.split_once(": ") {
            Some((stratum, sub)) => format!("Stratum: {stratum} — subgroup {sub}"),
            None => format!("Stratum: {s}"),
        },
    }
}

fn headline_short(h: &Headline) -> String {
    match h.stratum.as_deref() {
        None => "all data".into(),
        Some("total") => "the total".into(),
        Some(s) => s.to_string(),
    }
}

fn interval_words(i: &Interval) -> String {
    format!(
        "{} interval {} to {}",
        level_pct(i.level),
        count_words(i.lower),
        count_words(i.upper)
    )
}

pub(crate) fn interval_method_words(i: &Interval) -> &'static str {
    use crate::estimate::IntervalMethod as M;
    match i.method {
        M::Wald => "a Wald interval (N̂ ± z·SE)",
        M::LogNormal => "a log-normal interval on the number never seen (Chao 1987)",
        M::ProfileLikelihood => "a profile-likelihood interval (Cormack 1992)",
        M::InverseWald => "a Wald interval on 1/N̂, inverted (Seber 1982)",
        M::BootstrapPercentile => "a bootstrap percentile interval",
        M::BootstrapNormal => "a bootstrap normal interval",
        M::BootstrapBasic => "a basic bootstrap interval",
        M::BootstrapBca => "a bias-corrected and accelerated bootstrap interval (Efron 1987)",
        M::Credible => "a Bayesian credible interval",
    }
}

fn card(h: &Headline) -> HeadlineCard {
    let present = if h.kind == crate::recommend::DataKind::Open {
        " present at some time during the study"
    } else {
        ""
    };
    let estimable = h.n_hat.is_finite();
    let mut sentence = if estimable {
        format!(
            "An estimated {} individuals{present} ({}), of whom about {} were never recorded ({}). {} {} seen.",
            count_words(h.n_hat),
            interval_words(&h.interval),
            count_words(h.dark_figure),
            interval_words(&h.dark_figure_interval),
            count_words(h.observed as f64),
            if h.observed == 1 { "was" } else { "were" },
        )
    } else {
        let why = h.warnings.first().map_or("", |w| {
            w.strip_prefix("No figure can be cited: ")
                .unwrap_or(w)
                .trim_end_matches('.')
        });
        let mut why = why.to_string();
        if let Some(c) = why.get(..1) {
            why.replace_range(..1, &c.to_uppercase());
        }
        format!(
            "{why}. {} {} seen.",
            count_words(h.observed as f64),
            if h.observed == 1 {
                "individual was"
            } else {
                "individuals were"
            }
        )
    };
    if let Some(t) = h.truth {
        let inside = h.interval.contains(t as f64);
        let _ = write!(
            sentence,
            " The true size of these simulated data is {}: {} the interval.",
            count_words(t as f64),
            if inside { "inside" } else { "outside" }
        );
    }
    let mut details = vec![format!("Rests on: {}.", h.basis.trim_end_matches('.'))];
    for (i, w) in super::headline_fmt::cautions(h).into_iter().enumerate() {
        details.insert(i, format!("Caution: {w}"));
    }
    if !h.models.is_empty() {
        let mut sorted: Vec<_> = h.models.iter().collect();
        sorted.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        let shown = sorted.len().min(MAX_MODELS_NAMED);
        let mut models: Vec<String> = sorted[..shown]
            .iter()
            .map(|m| {
                format!(
                    "{} (weight {:.2}, N̂ {})",
                    m.model,
                    m.weight,
                    count_words(m.n_hat)
                )
            })
            .collect();
        if sorted.len() > shown {
            let rest: f64 = sorted[shown..].iter().map(|m| m.weight).sum();
            models.push(format!(
                "and {} more with weight {rest:.2} in all",
                sorted.len() - shown
            ));
        }
        details.push(format!("Models: {}.", models.join("; ")));
    }
    if !h.assumptions.is_empty() {
        let a: Vec<&str> = h.assumptions.iter().map(|a| a.describe()).collect();
        details.push(format!("Assumes: {}.", a.join("; ")));
    }
    if let Some(s) = h
        .sensitivity
        .as_ref()
        .filter(|s| !super::headline_fmt::one_model(s))
    {
        let lo = s.models.first().map(String::as_str).unwrap_or("?");
        let hi = s.models.last().map(String::as_str).unwrap_or("?");
        details.push(format!(
            "Depending on the model assumed, between {} ({lo}) and {} ({hi}); interval limits from {} to {} ({}).",
            count_words(s.lower),
            count_words(s.upper),
            count_words(s.interval_lower),
            count_words(s.interval_upper),
            s.rule.trim_end_matches('.')
        ));
    }
    HeadlineCard {
        title: headline_title(h),
        n_hat: (count_words(h.n_hat), json_number(h.n_hat)),
        lower: (count_words(h.interval.lower), json_number(h.interval.lower)),
        upper: (count_words(h.interval.upper), json_number(h.interval.upper)),
        dark: (count_words(h.dark_figure), json_number(h.dark_figure)),
        level: level_pct(h.interval.level),
        sentence,
        details,
        estimable,
    }
}

/// References (author-year) and the R function matched, by report section.
fn section_references(title: &str) -> &'static [(&'static str, &'static str)] {
    if title.starts_with("Classic") {
        &[
            (
                "Chapman (1951); Seber (1982)",
                "Rcapture::closedp.t (Mt, t = 2)",
            ),
            (
                "Schnabel (1938); Schumacher & Eschmeyer (1943)",
                "FSA::mrClosed",
            ),
        ]
    } else if title.starts_with("closedp.t") {
        &[
            (
                "Otis et al. (1978); Rivest & Baillargeon (2007)",
                "Rcapture::closedp.t",
            ),
            (
                "Cormack (1992), profile likelihood",
                "Rcapture::closedpCI.t",
            ),
            (
                "Coull & Agresti (1999); Pledger (2000), logit-normal heterogeneity on occasions",
                "Rcapture::closedpCI.t with h = \"Normal\" (Mh, Mth; Mbh and Mtbh Normal have none)",
            ),
        ]
    } else if title.starts_with("closedp.bc") {
        &[("Rivest & Lévesque (2001)", "Rcapture::closedp.bc")]
    } else if title.starts_with("closedp.0") {
        &[("Rivest & Baillargeon (2007)", "Rcapture::closedp.0")]
    } else if title.starts_with("closedpMS") {
        &[
            (
                "Buckland, Burnham & Augustin (1997), model averaging",
                "Rcapture::closedpMS.t",
            ),
            (
                "Fienberg (1972), log-linear models",
                "Rcapture::closedpCI.t",
            ),
        ]
    } else if title.starts_with("SparseMSE") {
        &[(
            "Chan, Silverman & Vincent (2021)",
            "SparseMSE::estimatepopulation",
        )]
    } else if title.starts_with("Single-source") {
        &[
            (
                "van der Heijden et al. (2003); Böhning & van der Heijden (2009)",
                "singleRcapture::estimatePopsize",
            ),
            (
                "Chao (1987); Zelterman (1988)",
                "singleRcapture::estimatePopsize",
            ),
        ]
    } else if title.starts_with("stratifyPopsize") {
        &[(
            "van der Heijden et al. (2003)",
            "singleRcapture::stratifyPopsize",
        )]
    } else if title.starts_with("Huggins") {
        &[(
            "Huggins (1989); Alho (1990), conditional likelihood",
            "VGAM::posbernoulli.t, posbernoulli.b, posbernoulli.tb",
        )]
    } else if title.starts_with("model ") {
        &[("Fienberg (1972); Cormack (1989)", "Rcapture::closedpCI.t")]
    } else {
        &[]
    }
}

const OPEN_REFERENCES: &[(&str, &str)] = &[
    (
        "Cormack (1989); Rivest & Daigle (2004)",
        "Rcapture::openp, Rcapture::robustd.0",
    ),
    ("Jolly (1965); Seber (1965, 1982)", "Jolly-Seber table"),
];

/// The software citation line (kept in step with `CITATION.cff`).
pub fn software_citation() -> String {
    format!(
        "darkfigure contributors ({}). darkfigure: estimating hidden populations, version {}. \
         Rust library and command-line tools.",
        CITATION_YEAR,
        env!("CARGO_PKG_VERSION")
    )
}

/// Year of the release cited in `CITATION.cff`.
pub const CITATION_YEAR: u32 = 2026;

fn section_titles(r: &Report) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for s in &r.sections {
        if !v.contains(&s.title) {
            v.push(s.title.clone());
        }
    }
    v
}

fn is_lists(data: Option<&DataSet>) -> bool {
    matches!(data, Some(DataSet::Histories { data: h, .. }) if h.is_lists())
}

fn methods_paragraph(r: &Report, lists: bool) -> Vec<String> {
    let d = &r.data;
    let mut paras = Vec::new();
    let summary = d.layout == super::SUMMARY_LAYOUT;
    let mut p = if summary {
        format!(
            "The data ({}) were entered as summary counts: {} individuals seen",
            d.source,
            plot::group_thousands(d.observed as i64)
        )
    } else {
        format!(
            "The data ({}) were read in the {} layout: {} individuals seen",
            d.source,
            d.layout,
            plot::group_thousands(d.observed as i64)
        )
    };
    match d.occasions {
        Some(t) => {
            let _ = write!(
                p,
                " {} {t} {} ({})",
                if lists { "on" } else { "over" },
                if lists {
                    "lists (unordered sources)"
                } else if matches!(
                    d.occasion_order,
                    Some(OccasionOrder::FirstAppearance | OccasionOrder::AmbiguousDates)
                ) {
                    "occasions in the order they first appear in the file"
                } else {
                    "occasions in time order"
                },
                d.occasion_names.join(", ")
            );
        }
        None => {
            p.push_str(" a number of times each (single-source counts");
            if let Some(c) = &d.count_column {
                let _ = write!(p, " in column {c}");
            }
            p.push(')');
            if !d.occasion_names.is_empty() {
                let _ = write!(p, ", with covariates {}", d.occasion_names.join(", "));
            }
        }
    }
    if !summary {
        let _ = write!(
            p,
            ", {} rows in the file",
            plot::group_thousands(d.rows as i64)
        );
    }
    if !d.strata.is_empty() {
        let _ = write!(
            p,
            ", in {} strata ({})",
            d.strata.len(),
            d.strata.join(", ")
        );
    }
    p.push('.');
    paras.push(p);

    let mut p = String::new();
    let titles = section_titles(r);
    if !titles.is_empty() {
        let per: Vec<String> = titles
            .iter()
            .map(|t| {
                let n = r
                    .sections
                    .iter()
                    .filter(|s| &s.title == t)
                    .map(|s| s.rows.len())
                    .max()
                    .unwrap_or(0);
                format!("{t} ({n} models)")
            })
            .collect();
        let _ = write!(
            p,
            "Every estimator that applies to these data was run: {}.",
            per.join("; ")
        );
    }
    if !r.open.is_empty() {
        let models: Vec<&str> = r.open.iter().map(|o| o.model.as_str()).collect();
        let _ = write!(
            p,
            "{}Open-population models were fitted: {} (log-linear Jolly-Seber models).",
            if p.is_empty() { "" } else { " " },
            models.join(", ")
        );
    }
    // The rules of the stratum headlines (not the total, the sum of the others, nor a
    // subgroup, whose card says how it was made): one sentence when they agree, one
    // clause per stratum when they do not (covariates that vary in some strata only).
    let parts: Vec<&Headline> = r
        .headline
        .iter()
        .filter(|h| h.stratum.as_deref() != Some("total") && !h.basis.contains("(subgroup `"))
        .collect();
    let differ = parts.iter().any(|h| h.basis != parts[0].basis);
    if differ {
        let rules: Vec<String> = parts
            .iter()
            .map(|h| {
                format!(
                    "{}: {}",
                    h.stratum.as_deref().unwrap_or("all data"),
                    h.basis.trim_end_matches('.')
                )
            })
            .collect();
        let _ = write!(
            p,
            " The figure to cite was chosen stratum by stratum: {}{}. Each interval is {} at the \
             {} level.",
            rules.join("; "),
            if r.headline
                .iter()
                .any(|h| h.stratum.as_deref() == Some("total"))
            {
                "; the total is the sum of the stratum figures"
            } else {
                ""
            },
            interval_method_words(&parts[0].interval),
            level_pct(parts[0].interval.level)
        );
        p.push_str(" Each headline above lists the assumptions of the models it rests on.");
    } else if let Some(h) = r.headline.first() {
        let _ = write!(
            p,
            " The figure to cite was chosen by this rule: {}. Its interval is {} at the {} level.",
            h.basis.trim_end_matches('.'),
            interval_method_words(&h.interval),
            level_pct(h.interval.level)
        );
        p.push_str(" Each headline above lists the assumptions of the models it rests on.");
    } else {
        let _ = write!(
            p,
            " No headline figure was computed for these data; the tables below list every estimate ({}).",
            level_pct(r.level)
        );
    }
    paras.push(p.trim().to_string());

    let mut refs: Vec<String> = Vec::new();
    for t in &titles {
        for (cite, rfun) in section_references(t) {
            let line = format!("{cite} — matches {rfun}");
            if !refs.contains(&line) {
                refs.push(line);
            }
        }
    }
    if !r.open.is_empty() {
        for (cite, rfun) in OPEN_REFERENCES {
            refs.push(format!("{cite} — matches {rfun}"));
        }
    }
    if !refs.is_empty() {
        paras.push(format!("References of the models: {}.", refs.join("; ")));
    }
    paras
}

/// The histories of a headline's stratum, when the data have them.
fn stratum_histories(data: &DataSet, stratum: Option<&str>) -> Option<CaptureHistories> {
    match data {
        DataSet::Histories { data: h, .. } => match stratum {
            None => Some(h.clone()),
            Some("total") => None,
            Some(s) if s == POOLED => Some(h.pooled()),
            Some(s) => h.stratum(s),
        },
        _ => None,
    }
}

fn overlap_table(h: &CaptureHistories) -> Vec<Vec<u64>> {
    let t = h.occasions();
    let mut m = vec![vec![0u64; t]; t];
    for (code, f) in h.iter() {
        for (i, row) in m.iter_mut().enumerate() {
            if code >> i & 1 == 1 {
                for (j, cell) in row.iter_mut().enumerate() {
                    if code >> j & 1 == 1 {
                        *cell += f;
                    }
                }
            }
        }
    }
    m
}

fn data_blocks(r: &Report, data: &DataSet, out: &mut Vec<Block>) {
    match data {
        DataSet::Histories { data: h, .. } => {
            let t = h.occasions();
            let unit = if h.is_lists() { "list" } else { "occasion" };
            let names = h.occasion_names().to_vec();
            let mut groups: Vec<(String, CaptureHistories)> = vec![("all".into(), h.clone())];
            for (name, part) in h.split_by_stratum() {
                groups.push((name, part));
            }
            let mut header = vec!["".to_string(), "seen".to_string()];
            header.extend(names.iter().cloned());
            let rows: Vec<Vec<String>> = groups
                .iter()
                .map(|(name, g)| {
                    let s = g.summary();
                    let mut row = vec![name.clone(), plot::group_thousands(s.n as i64)];
                    row.extend(s.n_j.iter().map(|&v| plot::group_thousands(v as i64)));
                    row
                })
                .collect();
            out.push(Block::Table {
                caption: format!("Individuals seen on each {} (n_j)", unit),
                header,
                rows,
            });
            let mut header = vec!["".to_string()];
            header.extend((1..=t).map(|k| format!("k = {k}")));
            let rows: Vec<Vec<String>> = groups
                .iter()
                .map(|(name, g)| {
                    let s = g.summary();
                    let mut row = vec![name.clone()];
                    row.extend(s.f_k.iter().map(|&v| plot::group_thousands(v as i64)));
                    row
                })
                .collect();
            out.push(Block::Table {
                caption: "Individuals seen exactly k times (f_k)".into(),
                header,
                rows,
            });
            if (2..=MAX_OVERLAP_COLUMNS).contains(&t) {
                let m = overlap_table(h);
                let mut header = vec!["".to_string()];
                header.extend(names.iter().cloned());
                let rows = m
                    .iter()
                    .enumerate()
                    .map(|(i, row)| {
                        let mut v = vec![names[i].clone()];
                        v.extend(row.iter().map(|&c| plot::group_thousands(c as i64)));
                        v
                    })
                    .collect();
                out.push(Block::Table {
                    caption: format!(
                        "Overlap: individuals on both the row's and the column's {unit} (the diagonal is n_j)"
                    ),
                    header,
                    rows,
                });
            }
        }
        DataSet::Counts { data: d, .. } => {
            // At most F_K_COLUMNS values of k per table, so that the page keeps its width
            // (farm submissions reach k = 47).
            let f = d.frequency_table();
            for (i, part) in f.chunks(F_K_COLUMNS).enumerate() {
                let first = i * F_K_COLUMNS + 1;
                let ks = first..first + part.len();
                let header: Vec<String> = std::iter::once("k".to_string())
                    .chain(ks.clone().map(|k| k.to_string()))
                    .collect();
                let mut row = vec!["f_k".to_string()];
                row.extend(part.iter().map(|&v| plot::group_thousands(v as i64)));
                out.push(Block::Table {
                    caption: if i == 0 {
                        "Individuals recorded exactly k times (f_k)".into()
                    } else {
                        format!("f_k, continued (k = {} to {})", ks.start, ks.end - 1)
                    },
                    header,
                    rows: vec![row],
                });
            }
            if !d.covariates().is_empty() {
                let names: Vec<String> = d.covariates().iter().map(|c| c.name.clone()).collect();
                out.push(Block::Para(format!("Covariates: {}.", names.join(", "))));
            }
        }
    }
    let _ = r;
}

/// Most values of k in one row of the f_k table.
const F_K_COLUMNS: usize = 20;

fn candidate_table(h: &Headline) -> Block {
    use super::headline_fmt::{by_criterion, interval_unprintable, n_hat_unprintable};
    let candidates = by_criterion(h);
    // The source column only when the candidates come from more than one table.
    let one_source = candidates.windows(2).all(|w| w[0].section == w[1].section);
    let header = [
        "model", "from", "ΔIC", "weight", "N̂", "interval", "GOF p", "note",
    ]
    .iter()
    .filter(|&&c| !(one_source && c == "from"))
    .map(|s| s.to_string())
    .collect();
    let rows = candidates
        .iter()
        .map(|c| {
            let mut row = vec![c.model.clone()];
            if !one_source {
                row.push(c.section.clone());
            }
            row.extend([
                c.delta_ic.map(|d| format!("{d:.2}")).unwrap_or_default(),
                format!("{:.3}", c.weight),
                if n_hat_unprintable(c) {
                    "DEGENERATE".into()
                } else if c.excluded.is_some() && !c.n_hat.is_finite() {
                    "—".into()
                } else {
                    count_words(c.n_hat)
                },
                if interval_unprintable(c) {
                    "—".into()
                } else {
                    interval_cell(&c.interval)
                },
                c.gof_p.map(|p| format!("{p:.3}")).unwrap_or_default(),
                c.excluded.clone().unwrap_or_default(),
            ]);
            row
        })
        .collect();
    let from = match candidates.first() {
        Some(c) if one_source => format!(", all from {}", c.section),
        _ => String::new(),
    };
    Block::Table {
        caption: format!("Candidates for the headline ({}{from})", headline_title(h)),
        header,
        rows,
    }
}

/// `lower to upper (method)`, in words for large numbers: a table cell.
fn interval_cell(i: &Interval) -> String {
    format!(
        "{} to {} ({})",
        count_words(i.lower),
        count_words(i.upper),
        i.method
    )
}

fn estimates_table(s: &Section) -> Block {
    let header = ["model", "N̂", "SE", "interval", "dark figure", "flags"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = s
        .rows
        .iter()
        .map(|row| {
            let e = &row.estimate;
            let degenerate = row.degenerate || !e.n_hat.is_finite() || e.n_hat < e.observed as f64;
            vec![
                e.model.clone(),
                if degenerate {
                    "DEGENERATE".into()
                } else {
                    count_words(e.n_hat)
                },
                if degenerate {
                    String::new()
                } else {
                    fmt_num(e.se)
                },
                if degenerate {
                    String::new()
                } else {
                    interval_cell(&e.interval)
                },
                if degenerate {
                    String::new()
                } else {
                    count_words(e.n_hat - e.observed as f64)
                },
                if e.is_flagged() {
                    "warnings".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    Block::Table {
        caption: format!(
            "{} — {}",
            s.title,
            s.stratum.as_deref().unwrap_or("all data")
        ),
        header,
        rows,
    }
}

/// f_k fitted by the `closedp.0` heterogeneity models (the same N̂ as their `closedp.t`
/// counterparts on histories, since f_k is sufficient for them): `values[k − 1]`.
fn fitted_fk(f_k: &[u64], t: Option<usize>, level: f64) -> Vec<FittedSeries> {
    let wanted = ["M0", "Mh Chao (LB)", "Mh Poisson2", "Mh Darroch"];
    let Ok(table) = closed::closedp_0(f_k, t, None, level) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (label, r) in table {
        if !wanted.contains(&label.as_str()) {
            continue;
        }
        if let Ok(ce) = r {
            // The closedp.0 design lists k from t0 down to 1.
            let mut values = ce.fit.fitted.clone();
            values.reverse();
            if values.len() == f_k.len().min(values.len()) && values.iter().all(|v| v.is_finite()) {
                out.push(FittedSeries { label, values });
            }
        }
    }
    out
}

/// Count models for the f_k diagnostic and the rootogram: the headline's count models
/// (highest weight first), else the intercept-only zero-truncated Poisson and negative
/// binomial.
fn count_series(
    d: &CountData,
    h: Option<&Headline>,
    level: f64,
) -> Vec<(String, counts::MarginalFreq)> {
    let mut wanted: Vec<String> = Vec::new();
    if let Some(h) = h {
        let mut ms: Vec<_> = h.models.iter().collect();
        ms.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        wanted.extend(ms.iter().take(3).map(|m| m.model.clone()));
    }
    let covs: Vec<String> = if wanted.iter().any(|w| w.contains('~')) {
        d.covariates().iter().map(|c| c.name.clone()).collect()
    } else {
        Vec::new()
    };
    let all = counts::fit_all(d, &covs, level);
    let mut out = Vec::new();
    for w in &wanted {
        if let Some(fit) = all.fitted(w) {
            out.push((w.clone(), fit.marginal_freq()));
        }
    }
    if out.is_empty() {
        for (label, r) in &all {
            if (label == "ztpoisson" || label == "ztnegbin")
                && let Ok(fit) = r
            {
                out.push((label.to_string(), fit.marginal_freq()));
            }
        }
    }
    out
}

/// Points drawn on a profile curve between its interval limits and a margin beyond.
const PROFILE_GRID: usize = 60;

/// Model label, its profile interval and the curve to draw.
type ProfileFigure = (String, closed::ProfileInterval, Vec<(f64, f64)>);

/// The profile of the headline's leading closed model, refitted on its stratum, with its
/// log-likelihood on a grid across the interval (`closed::profile_loglik`).
fn headline_profile(h: &Headline, hs: &CaptureHistories) -> Option<ProfileFigure> {
    let mut ms: Vec<_> = h.models.iter().collect();
    ms.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    let level = h.interval.level;
    for m in ms {
        let label = m.model.as_str();
        let settings = closed::ClosedSettings {
            level,
            ..Default::default()
        };
        let fit = if let Some(model) = ClosedModel::closedp_t_models()
            .into_iter()
            .find(|cm| cm.label() == label)
        {
            closed::fit_standard(hs, model, &settings).ok()
        } else if label.starts_with('[') {
            closed::fit_model(hs, label, None, level).ok()
        } else {
            None
        };
        let Some(p) = fit.and_then(|f| f.profile) else {
            continue;
        };
        let n = hs.observed() as f64;
        let lo = (p.lower - 0.5 * (p.ci_abundance - p.lower)).max(n);
        let hi = p.upper + 0.5 * (p.upper - p.ci_abundance);
        let grid: Vec<f64> = (0..=PROFILE_GRID)
            .map(|i| lo + (hi - lo) * i as f64 / PROFILE_GRID as f64)
            .collect();
        let mut curve =
            closed::profile_loglik(hs, label, None, settings.neg, &grid).unwrap_or_default();
        curve.extend(p.curve.iter().copied().filter(|q| q.0 >= lo && q.0 <= hi));
        curve.sort_by(|a, b| a.0.total_cmp(&b.0));
        curve.dedup_by(|a, b| a.0 == b.0);
        return Some((label.to_string(), p, curve));
    }
    None
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

fn headline_figures(r: &Report, h: &Headline, data: Option<&DataSet>, out: &mut Vec<Block>) {
    let name = h.stratum.clone().unwrap_or_else(|| "all".into());
    let id = slug(&name);
    let title_of = |what: &str| match h.stratum.as_deref() {
        None => what.to_string(),
        Some(s) => format!("{what} — {s}"),
    };
    let mut sorted: Vec<&crate::recommend::Candidate> = h.candidates.iter().collect();
    // Included candidates by ΔIC (those without one after), excluded ones last.
    sorted.sort_by(|a, b| {
        (a.excluded.is_some(), a.delta_ic.is_none())
            .cmp(&(b.excluded.is_some(), b.delta_ic.is_none()))
            .then(
                a.delta_ic
                    .unwrap_or(0.0)
                    .total_cmp(&b.delta_ic.unwrap_or(0.0)),
            )
    });
    // An impossible or absurd N̂ is not drawn (it is not printed either: it would
    // stretch the axis to 10¹⁸).
    let printable = |c: &&crate::recommend::Candidate| {
        c.n_hat.is_finite() && !super::headline_fmt::n_hat_unprintable(c)
    };
    let forest_rows: Vec<ForestRow> = sorted
        .into_iter()
        .filter(printable)
        .take(MAX_FOREST_ROWS)
        .map(|c| ForestRow {
            label: c.model.clone(),
            n_hat: c.n_hat,
            lower: c.interval.lower,
            upper: c.interval.upper,
            weight: c.weight,
            excluded: c.excluded.is_some(),
        })
        .collect();
    let drawn = forest_rows.len();
    let finite = h.candidates.iter().filter(printable).count();
    let unprintable = h
        .candidates
        .iter()
        .filter(|c| super::headline_fmt::n_hat_unprintable(c))
        .count();
    if let Ok(svg) = plot::forest(
        &title_of("Every candidate's estimate and interval"),
        &forest_rows,
        Some(Band {
            n_hat: h.n_hat,
            lower: h.interval.lower,
            upper: h.interval.upper,
        }),
        h.observed as f64,
        h.truth.map(|t| t as f64),
    ) {
        let mut caption = format!(
            "Forest plot: each candidate model's N̂ (dot, larger for more weight) and {} interval; \
             the shaded band is the headline's interval, the red line its N̂, the black line the \
             number seen ({}).",
            level_pct(h.interval.level),
            count_words(h.observed as f64)
        );
        if unprintable > 0 {
            let _ = write!(
                caption,
                " {unprintable} candidate{} with an impossible or absurd N̂ (DEGENERATE in the \
                 table) {} not drawn.",
                if unprintable == 1 { "" } else { "s" },
                if unprintable == 1 { "is" } else { "are" }
            );
        }
        if drawn < finite {
            let _ = write!(
                caption,
                " The first {drawn} of {finite} candidates with an estimate are drawn."
            );
        }
        let skipped = h.candidates.len() - finite - unprintable;
        if skipped > 0 {
            let _ = write!(
                caption,
                " {skipped} candidate(s) without a finite estimate are not drawn."
            );
        }
        out.push(Block::Figure(Figure {
            id: format!("forest_{id}"),
            caption,
            svg,
        }));
    }
    let Some(data) = data else { return };
    match data {
        // The closed-population diagnostics do not apply to an open population.
        DataSet::Histories { .. } if !r.open.is_empty() => {}
        DataSet::Histories { .. } => {
            let Some(hs) = stratum_histories(data, h.stratum.as_deref()) else {
                return;
            };
            let s = hs.summary();
            let fitted = fitted_fk(&s.f_k, Some(hs.occasions()), r.level);
            if let Ok(svg) = plot::frequencies(
                &title_of("How often individuals were seen, and what models expect"),
                &s.f_k,
                &fitted,
            ) {
                out.push(Block::Figure(Figure {
                    id: format!("fk_{id}"),
                    caption: "Heterogeneity diagnostic: the number of individuals seen exactly k \
                              times (black dots) against the frequencies fitted by the \
                              homogeneous model M0 and the heterogeneity models (lines), on a log \
                              scale. Observed points above M0's line at k = 1 and at large k \
                              signal that some individuals are much easier to catch than others."
                        .into(),
                    svg,
                }));
            }
            if let Some((model, p, curve)) = headline_profile(h, &hs)
                && let Ok(svg) = plot::profile(
                    &title_of(&format!("Profile likelihood of N, model {model}")),
                    &curve,
                    p.ci_abundance,
                    p.lower,
                    p.upper,
                    p.level,
                )
            {
                out.push(Block::Figure(Figure {
                    id: format!("profile_{id}"),
                    caption: format!(
                        "Profile log-likelihood of the population size under {model}, the \
                             headline's leading model: N values above the horizontal cut-off \
                             form its {} profile-likelihood interval ({} to {}).",
                        level_pct(p.level),
                        count_words(p.lower),
                        count_words(p.upper)
                    ),
                    svg,
                }));
            }
        }
        DataSet::Counts { data: d, .. } => {
            if h.stratum.as_deref().is_some_and(|s| s != POOLED) {
                return;
            }
            let series = count_series(d, Some(h), r.level);
            // Counts past DENSE_COUNTS are drawn no further (the tables of fitted
            // frequencies list only the observed ones there).
            let mut f = d.frequency_table();
            f.truncate(counts::DENSE_COUNTS as usize);
            let dense = |mf: &counts::MarginalFreq| -> Vec<f64> {
                mf.table
                    .iter()
                    .take_while(|row| row.0 <= counts::DENSE_COUNTS)
                    .map(|row| row.2)
                    .collect()
            };
            let fitted: Vec<FittedSeries> = series
                .iter()
                .map(|(label, mf)| FittedSeries {
                    label: label.clone(),
                    values: dense(mf),
                })
                .collect();
            if let Ok(svg) = plot::frequencies(
                &title_of("How often individuals were recorded, and what models expect"),
                &f,
                &fitted,
            ) {
                out.push(Block::Figure(Figure {
                    id: format!("fk_{id}"),
                    caption: "Observed numbers of individuals recorded exactly k times (black \
                              dots) against the frequencies fitted by the count models (lines), \
                              log scale (singleRcapture::marginalFreq)."
                        .into(),
                    svg,
                }));
            }
            if let Some((label, mf)) = series.first() {
                let expected = dense(mf);
                if let Ok(svg) = plot::rootogram(
                    &title_of(&format!("Hanging rootogram, {label}")),
                    &f,
                    &expected,
                ) {
                    out.push(Block::Figure(Figure {
                        id: format!("rootogram_{id}"),
                        caption: format!(
                            "Hanging rootogram of {label}: bars of height √(observed f_k) hang \
                             from the fitted curve √(expected f_k); a bar ending below zero \
                             means more individuals seen k times than the model expects, above \
                             zero fewer."
                        ),
                        svg,
                    }));
                }
            }
        }
    }
}

fn open_figures(r: &Report, out: &mut Vec<Block>) {
    let Some(best) = r
        .open
        .iter()
        .filter(|o| o.fit.aic.is_finite())
        .min_by(|a, b| a.fit.aic.total_cmp(&b.fit.aic))
        .or_else(|| r.open.first())
    else {
        return;
    };
    let z = crate::ci::z_two_sided(r.level);
    let pts = |v: &[crate::open::Figure], label: &dyn Fn(usize) -> String| -> Vec<Point> {
        v.iter()
            .enumerate()
            .map(|(i, f)| {
                let e = f.estimate.unwrap_or(f64::NAN);
                let se = f.se.unwrap_or(f64::NAN);
                Point {
                    label: label(i),
                    value: e,
                    lower: e - z * se,
                    upper: e + z * se,
                }
            })
            .collect()
    };
    let level = level_pct(r.level);
    let model = &best.model;
    let period = |i: usize| format!("{}", i + 1);
    let between = |i: usize| format!("{}→{}", i + 1, i + 2);
    let figs = [
        (
            "n",
            format!("Population size per period (model {model})"),
            "Period",
            "Estimated population size",
            pts(&best.n_hat, &period),
            (0.0, f64::INFINITY),
            format!(
                "Estimated population size in each period under {model} (lowest AIC among the \
                 open models), with {level} Wald intervals (N̂ ± z·SE)."
            ),
        ),
        (
            "survival",
            format!("Survival between periods (model {model})"),
            "Between periods",
            "Probability of surviving and staying",
            pts(&best.survival, &between),
            (0.0, 1.0),
            format!(
                "Apparent survival from one period to the next under {model}, with {level} Wald \
                 intervals cut at 0 and 1; not estimable values are left out."
            ),
        ),
        (
            "births",
            format!("New arrivals between periods (model {model})"),
            "Between periods",
            "Estimated number of new arrivals",
            pts(&best.births, &between),
            (0.0, f64::INFINITY),
            format!(
                "New arrivals (births and immigrants) between periods under {model}, with \
                 {level} Wald intervals cut at 0; not estimable values are left out."
            ),
        ),
    ];
    for (id, title, xd, yd, points, clamp, caption) in figs {
        if let Ok(svg) = plot::periods(&title, xd, yd, &points, clamp) {
            out.push(Block::Figure(Figure {
                id: format!("open_{id}"),
                caption,
                svg,
            }));
        }
    }
    let mut rows = Vec::new();
    for o in &r.open {
        for i in 0..o.periods {
            let f = |v: &[crate::open::Figure]| {
                v.get(i)
                    .and_then(|f| f.estimate)
                    .map(|x| {
                        if x.abs() < 1.5 {
                            format!("{x:.3}")
                        } else {
                            count_words(x)
                        }
                    })
                    .unwrap_or_else(|| "—".into())
            };
            rows.push(vec![
                o.model.clone(),
                (i + 1).to_string(),
                f(&o.n_hat),
                f(&o.capture_p),
                f(&o.survival),
                f(&o.births),
            ]);
        }
    }
    out.push(Block::Table {
        caption: "Open-population models, per period (— not estimable)".into(),
        header: [
            "model",
            "period",
            "N̂",
            "capture p",
            "survival to next",
            "arrivals before next",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows,
    });
}

impl Report {
    /// The figures of the report, in the order they appear.
    pub fn figures(&self, ctx: &ReportContext<'_>) -> Vec<Figure> {
        self.blocks(ctx)
            .into_iter()
            .filter_map(|b| match b {
                Block::Figure(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    fn blocks(&self, ctx: &ReportContext<'_>) -> Vec<Block> {
        let mut out = Vec::new();
        out.push(Block::Heading(1, ctx.title.clone()));
        // 1. The answer.
        if self.headline.is_empty() {
            out.push(Block::Para(
                "No single figure to cite was computed for these data: see the estimates below."
                    .into(),
            ));
        }
        for h in &self.headline {
            let mut c = card(h);
            // `--bayes`: the posteriors beside the figure, after the cautions
            if let Some(line) = super::headline_fmt::bayes_line(self, h) {
                let at = c
                    .details
                    .iter()
                    .position(|d| !d.starts_with("Caution: "))
                    .unwrap_or(c.details.len());
                c.details.insert(at, line);
            }
            out.push(Block::Headline(Box::new(c)));
        }
        // 2. Methods.
        out.push(Block::Heading(2, "Methods".into()));
        for p in methods_paragraph(self, is_lists(ctx.data)) {
            out.push(Block::Para(p));
        }
        // 3. Data.
        out.push(Block::Heading(2, "The data".into()));
        let d = &self.data;
        let mut items = if d.layout == super::SUMMARY_LAYOUT {
            vec![
                format!("Source: {}", d.source),
                "Entered as summary counts (no file)".to_string(),
                format!(
                    "Individuals seen: {}",
                    plot::group_thousands(d.observed as i64)
                ),
            ]
        } else {
            vec![
                format!("Source: {}", d.source),
                format!("Layout: {}", d.layout),
                format!(
                    "Individuals seen: {}; rows in the file: {}",
                    plot::group_thousands(d.observed as i64),
                    plot::group_thousands(d.rows as i64)
                ),
            ]
        };
        if let Some(t) = d.occasions {
            let lists = is_lists(ctx.data);
            let mut item = format!(
                "{}: {t} ({})",
                if lists { "Lists" } else { "Occasions" },
                d.occasion_names.join(", ")
            );
            if !lists {
                // The names are listed: for dates, the order is all the note adds.
                if d.occasion_order == Some(OccasionOrder::Chronological) {
                    item.push_str(", in calendar order");
                } else if let Some(o) = d.order_note() {
                    let _ = write!(item, ", {o}");
                }
                if let Some(e) = d.empty_note() {
                    let _ = write!(item, "; {e}");
                }
            }
            items.push(item);
        }
        if !d.strata.is_empty() {
            items.push(format!("Strata: {}", d.strata.join(", ")));
        }
        items.extend(d.notes.iter().map(|n| format!("Note: {n}")));
        out.push(Block::List(items));
        if let Some(data) = ctx.data {
            data_blocks(self, data, &mut out);
        }
        // 4. Per headline: candidates, warnings, figures.
        for h in &self.headline {
            out.push(Block::Heading(
                2,
                format!("Evidence for {}", headline_short(h)),
            ));
            if !h.candidates.is_empty() {
                out.push(candidate_table(h));
            }
            let checks: Vec<String> = super::headline_fmt::checks(h).cloned().collect();
            if !checks.is_empty() {
                out.push(Block::Para("Warnings and checks:".into()));
                out.push(Block::List(checks));
            }
            headline_figures(self, h, ctx.data, &mut out);
        }
        if self.headline.is_empty() {
            for s in &self.sections {
                out.push(estimates_table(s));
            }
        }
        if !self.open.is_empty() {
            out.push(Block::Heading(
                2,
                "Open population: change over time".into(),
            ));
            open_figures(self, &mut out);
        }
        let failures: Vec<String> = self
            .sections
            .iter()
            .flat_map(|s| {
                s.failures.iter().map(move |f| {
                    format!(
                        "{} ({}, {}): {}",
                        f.model,
                        s.title,
                        s.stratum.as_deref().unwrap_or("all data"),
                        f.reason
                    )
                })
            })
            .collect();
        if !failures.is_empty() {
            out.push(Block::Heading(2, "Estimators without an estimate".into()));
            out.push(Block::List(failures));
        }
        // 5. Provenance.
        out.push(Block::Heading(2, "Provenance".into()));
        let mut items = vec![
            format!("Software: darkfigure {}", env!("CARGO_PKG_VERSION")),
            format!("Input file: {}", ctx.input_name),
            format!("Input SHA-256: {}", ctx.input_sha256),
            format!(
                "Input size: {} bytes; {} rows; {} individuals seen",
                plot::group_thousands(ctx.input_bytes as i64),
                plot::group_thousands(self.data.rows as i64),
                plot::group_thousands(self.data.observed as i64)
            ),
            format!("Confidence level: {}", level_pct(self.level)),
            match ctx.seed {
                Some(s) => format!("Seed: {s}"),
                None => "Seed: none (no random numbers were drawn)".into(),
            },
        ];
        if let Some(t) = &ctx.generated_at {
            items.push(format!("Generated: {t}"));
        }
        out.push(Block::List(items));
        out.push(Block::Para(
            "Options given (reproduce with the estimate command):".into(),
        ));
        out.push(Block::Code(if ctx.options.is_empty() {
            "estimate   (no options: the defaults)".into()
        } else {
            format!("estimate {}", ctx.options.join(" "))
        }));
        // 6. How to cite.
        out.push(Block::Heading(2, "How to cite".into()));
        out.push(Block::Para(format!(
            "Software: {} See CITATION.cff in the repository.",
            software_citation()
        )));
        let mut refs: Vec<String> = Vec::new();
        for h in &self.headline {
            for m in &h.models {
                for c in h.candidates.iter().filter(|c| c.model == m.model) {
                    for (cite, rfun) in section_references(&c.section) {
                        let line = format!("{cite} (as {rfun})");
                        if !refs.contains(&line) {
                            refs.push(line);
                        }
                    }
                }
            }
        }
        if refs.is_empty() {
            for t in section_titles(self) {
                for (cite, rfun) in section_references(&t) {
                    let line = format!("{cite} (as {rfun})");
                    if !refs.contains(&line) {
                        refs.push(line);
                    }
                }
            }
        }
        if !self.open.is_empty() {
            for (cite, rfun) in OPEN_REFERENCES {
                refs.push(format!("{cite} (as {rfun})"));
            }
        }
        if !refs.is_empty() {
            out.push(Block::Para("Methods of the chosen models:".into()));
            out.push(Block::List(refs));
        }
        out
    }

    /// The report as one self-contained HTML document (inline CSS and SVG, no scripts).
    ///
    /// # Examples
    /// ```
    /// use darkfigure::data::csv_io;
    /// use darkfigure::report::{analyse, AnalysisOptions, ReportContext};
    /// let text = "c1,c2,c3,freq\n1,1,1,3\n1,1,0,5\n1,0,1,4\n0,1,1,6\n1,0,0,20\n0,1,0,22\n0,0,1,18\n";
    /// let data = csv_io::read_str(text, "tiny.csv", &Default::default())?;
    /// let report = analyse(&data, &AnalysisOptions::default())?;
    /// let ctx = ReportContext::new(Some(&data), "tiny.csv", text.as_bytes());
    /// let html = report.to_html(&ctx);
    /// assert!(html.starts_with("<!DOCTYPE html>") && html.contains(&ctx.input_sha256));
    /// # Ok::<(), darkfigure::Error>(())
    /// ```
    pub fn to_html(&self, ctx: &ReportContext<'_>) -> String {
        document_html(&ctx.title, &self.blocks(ctx))
    }

    /// The report as Markdown, with the figures returned separately to be written beside
    /// it: `(markdown, [(file name, svg)])`, each file named `{stem}_{figure id}.svg`.
    pub fn to_markdown_report(
        &self,
        ctx: &ReportContext<'_>,
        stem: &str,
    ) -> (String, Vec<(String, String)>) {
        document_markdown(&self.blocks(ctx), stem)
    }

    /// Writes the report to `path`: HTML for `.html`/`.htm`, Markdown (with its SVG
    /// figures beside it) for `.md`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for another extension; [`Error::Io`] when a file cannot
    /// be written.
    pub fn write_report(&self, ctx: &ReportContext<'_>, path: &Path) -> Result<()> {
        let blocks = self.blocks(ctx);
        write_document(path, &ctx.title, &blocks)
    }
}

fn document_html(title: &str, blocks: &[Block]) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(s, "<title>{}</title>", esc(title));
    let _ = writeln!(
        s,
        "<meta name=\"generator\" content=\"darkfigure {}\">",
        env!("CARGO_PKG_VERSION")
    );
    s.push_str("<style>\n");
    s.push_str(CSS);
    s.push_str("</style>\n</head>\n<body>\n<main>\n");
    for b in blocks {
        render_html(b, &mut s);
    }
    s.push_str("</main>\n</body>\n</html>\n");
    s
}

fn document_markdown(blocks: &[Block], stem: &str) -> (String, Vec<(String, String)>) {
    let mut s = String::new();
    let mut files = Vec::new();
    for b in blocks {
        render_md(b, stem, &mut s, &mut files);
    }
    (s, files)
}

/// Writes `blocks` to `path`: HTML for `.html`/`.htm`, Markdown (with its SVG figures
/// beside it) for `.md`.
fn write_document(path: &Path, title: &str, blocks: &[Block]) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        source: e,
    };
    match ext.as_str() {
        "html" | "htm" => {
            std::fs::write(path, document_html(title, blocks)).map_err(|e| io(path, e))
        }
        "md" | "markdown" => {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("report")
                .to_string();
            let (md, files) = document_markdown(blocks, &stem);
            let dir = path.parent().unwrap_or_else(|| Path::new(""));
            for (name, svg) in files {
                let p = dir.join(name);
                std::fs::write(&p, svg).map_err(|e| io(&p, e))?;
            }
            std::fs::write(path, md).map_err(|e| io(path, e))
        }
        _ => Err(Error::param(
            "report",
            path.display().to_string(),
            "a file name ending in .html or .md",
        )),
    }
}

/// The answer of a report built with [`Page`]: the figure to cite, its interval, a
/// sentence in words, the checks passed or failed, and what the figure rests on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AnswerCard {
    /// What the figure is ("Population size of clients").
    pub title: String,
    /// The figure (display text, exact value as JSON writes it); `None` when it cannot
    /// be cited.
    pub figure: Option<(String, String)>,
    /// Its interval: level in words ("95%"), method in words, lower and upper (display,
    /// exact).
    pub interval: Option<AnswerInterval>,
    /// The answer in one or two sentences.
    pub sentence: String,
    /// Checks: (passed, what was checked and what it showed).
    pub checks: Vec<(bool, String)>,
    /// What the figure rests on, warnings and settings.
    pub details: Vec<String>,
}

/// The interval of an [`AnswerCard`]: level in words ("95%"), method in words, lower and
/// upper limits (display text, exact value as JSON writes it).
pub(crate) type AnswerInterval = (String, String, (String, String), (String, String));

/// A report assembled outside this module (the key-population reports of
/// `kp::report`): the same blocks, style and writers as the `estimate` report.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Page {
    title: String,
    blocks: Vec<Block>,
}

impl Page {
    /// A page with this title as its first heading.
    pub fn new(title: impl Into<String>) -> Self {
        let title = title.into();
        Page {
            blocks: vec![Block::Heading(1, title.clone())],
            title,
        }
    }

    /// A section heading (level 2) or sub-heading (3).
    pub fn heading(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }

    /// A paragraph.
    pub fn para(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }

    /// A bullet list.
    pub fn list(&mut self, items: Vec<String>) {
        self.blocks.push(Block::List(items));
    }

    /// A table with its caption.
    pub fn table(
        &mut self,
        caption: impl Into<String>,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    ) {
        self.blocks.push(Block::Table {
            caption: caption.into(),
            header,
            rows,
        });
    }

    /// A figure.
    pub fn figure(&mut self, f: Figure) {
        self.blocks.push(Block::Figure(f));
    }

    /// Preformatted text (a command line).
    pub fn code(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Code(text.into()));
    }

    /// The answer box.
    pub fn answer(&mut self, card: AnswerCard) {
        self.blocks.push(Block::Answer(Box::new(card)));
    }

    /// The provenance and how-to-cite sections shared by every report: software version,
    /// each input file with its size and SHA-256, the seed, the command that reproduces
    /// the report, then the software citation and the method references given.
    pub fn provenance(
        &mut self,
        inputs: &[(String, Vec<u8>)],
        seed: Option<u64>,
        command: &str,
        references: &[String],
    ) {
        self.heading(2, "Provenance");
        let mut items = vec![format!(
            "Software: darkfigure {}",
            env!("CARGO_PKG_VERSION")
        )];
        for (name, bytes) in inputs {
            items.push(format!(
                "Input file: {name} ({} bytes, SHA-256 {})",
                plot::group_thousands(bytes.len() as i64),
                sha256_hex(bytes)
            ));
        }
        items.push(match seed {
            Some(s) => format!("Seed: {s}"),
            None => "Seed: none (no random numbers were drawn)".into(),
        });
        self.list(items);
        self.para("Command that reproduces this report:");
        self.code(command);
        self.heading(2, "How to cite");
        self.para(format!(
            "Software: {} See CITATION.cff in the repository.",
            software_citation()
        ));
        if !references.is_empty() {
            self.para("Methods:");
            self.list(references.to_vec());
        }
    }

    /// The page as one self-contained HTML document.
    pub fn to_html(&self) -> String {
        document_html(&self.title, &self.blocks)
    }

    /// Writes the page to `path` (`.html`, or `.md` with the figures as SVG files beside
    /// it).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for another extension; [`Error::Io`] when a file cannot
    /// be written.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_document(path, &self.title, &self.blocks)
    }
}

/// What the `estimate` command calls for `--report FILE`: builds the [`ReportContext`]
/// (hashing `input`, the bytes analysed; when `input` is empty, the file `source` is read
/// and hashed) from the command-line arguments `args` (program name excluded) and writes
/// the report with [`Report::write_report`].
///
/// # Errors
/// [`Error::Io`] when the input cannot be read or the report cannot be written;
/// [`Error::InvalidParameter`] for an output name that does not end in `.html` or `.md`.
pub fn write_report_for<I, S>(
    report: &Report,
    data: &DataSet,
    source: &str,
    input: &[u8],
    args: I,
    out: &Path,
) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let read;
    let bytes = if input.is_empty() {
        read = std::fs::read(source).map_err(|e| Error::Io {
            path: source.to_string(),
            source: e,
        })?;
        &read[..]
    } else {
        input
    };
    let ctx = ReportContext::new(Some(data), source, bytes).with_options(args);
    report.write_report(&ctx, out)
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// Escapes running text for HTML and sets each `quoted` name (a column, an option, as
/// the text output quotes it) in `<code>`; an unpaired backtick is kept as it is.
pub fn prose(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let mut o = String::with_capacity(s.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        let inside = i % 2 == 1;
        if inside && i + 1 == parts.len() {
            // no closing backtick
            o.push('`');
            o.push_str(&esc(part));
        } else if inside {
            let _ = write!(o, "<code>{}</code>", esc(part));
        } else {
            o.push_str(&esc(part));
        }
    }
    o
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn render_html(b: &Block, s: &mut String) {
    match b {
        Block::Heading(level, text) => {
            let _ = writeln!(s, "<h{level}>{}</h{level}>", esc(text));
        }
        Block::Para(text) => {
            let _ = writeln!(s, "<p>{}</p>", prose(text));
        }
        Block::Headline(c) => {
            s.push_str("<section class=\"headline\">\n");
            let _ = writeln!(s, "<h2>{}</h2>", esc(&c.title));
            if !c.estimable {
                let _ = writeln!(
                    s,
                    "<p class=\"figure\"><data class=\"n-hat\" value=\"null\">No figure can be cited</data></p>"
                );
            }
            if c.estimable {
                let _ = writeln!(
                    s,
                    "<p class=\"figure\"><data class=\"n-hat\" value=\"{}\">{}</data> \
                 <span class=\"interval\">({} interval <data class=\"lower\" value=\"{}\">{}</data> \
                 to <data class=\"upper\" value=\"{}\">{}</data>)</span></p>",
                    c.n_hat.1,
                    esc(&c.n_hat.0),
                    esc(&c.level),
                    c.lower.1,
                    esc(&c.lower.0),
                    c.upper.1,
                    esc(&c.upper.0)
                );
                let _ = writeln!(
                    s,
                    "<p class=\"dark\">Never recorded (the dark figure): about \
                 <data class=\"dark-figure\" value=\"{}\">{}</data></p>",
                    c.dark.1,
                    esc(&c.dark.0)
                );
            }
            let _ = writeln!(s, "<p class=\"sentence\">{}</p>", prose(&c.sentence));
            s.push_str("<ul class=\"details\">\n");
            for d in &c.details {
                let _ = writeln!(s, "<li>{}</li>", prose(d));
            }
            s.push_str("</ul>\n</section>\n");
        }
        Block::Table {
            caption,
            header,
            rows,
        } => {
            s.push_str("<table>\n");
            let _ = writeln!(s, "<caption>{}</caption>", esc(caption));
            s.push_str("<thead><tr>");
            for h in header {
                let _ = write!(s, "<th>{}</th>", esc(h));
            }
            s.push_str("</tr></thead>\n<tbody>\n");
            for r in rows {
                s.push_str("<tr>");
                for c in r {
                    let _ = write!(s, "<td>{}</td>", prose(c));
                }
                s.push_str("</tr>\n");
            }
            s.push_str("</tbody>\n</table>\n");
        }
        Block::List(items) => {
            s.push_str("<ul>\n");
            for i in items {
                let _ = writeln!(s, "<li>{}</li>", prose(i));
            }
            s.push_str("</ul>\n");
        }
        Block::Figure(f) => {
            let _ = writeln!(s, "<figure id=\"{}\">", esc(&f.id));
            s.push_str(&f.svg);
            if !f.svg.ends_with('\n') {
                s.push('\n');
            }
            let _ = writeln!(
                s,
                "<figcaption>{}</figcaption>\n</figure>",
                prose(&f.caption)
            );
        }
        Block::Code(text) => {
            let _ = writeln!(s, "<pre><code>{}</code></pre>", esc(text));
        }
        Block::Answer(c) => render_answer_html(c, s),
    }
}

fn render_answer_html(c: &AnswerCard, s: &mut String) {
    s.push_str("<section class=\"headline\">\n");
    let _ = writeln!(s, "<h2>{}</h2>", esc(&c.title));
    match (&c.figure, &c.interval) {
        (Some(f), Some((level, method, lo, hi))) => {
            let _ = writeln!(
                s,
                "<p class=\"figure\"><data class=\"n-hat\" value=\"{}\">{}</data> \
                 <span class=\"interval\">({} interval <data class=\"lower\" value=\"{}\">{}</data> \
                 to <data class=\"upper\" value=\"{}\">{}</data>; {})</span></p>",
                f.1,
                esc(&f.0),
                esc(level),
                lo.1,
                esc(&lo.0),
                hi.1,
                esc(&hi.0),
                esc(method)
            );
        }
        (Some(f), None) => {
            let _ = writeln!(
                s,
                "<p class=\"figure\"><data class=\"n-hat\" value=\"{}\">{}</data></p>",
                f.1,
                esc(&f.0)
            );
        }
        _ => s.push_str("<p class=\"figure\">No figure can be cited: see the checks.</p>\n"),
    }
    let _ = writeln!(s, "<p class=\"sentence\">{}</p>", prose(&c.sentence));
    if !c.checks.is_empty() {
        s.push_str("<ul class=\"checks\">\n");
        for (ok, text) in &c.checks {
            let _ = writeln!(
                s,
                "<li class=\"{}\">{} {}</li>",
                if *ok { "pass" } else { "fail" },
                if *ok { "✓" } else { "✗" },
                prose(text)
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str("<ul class=\"details\">\n");
    for d in &c.details {
        let _ = writeln!(s, "<li>{}</li>", prose(d));
    }
    s.push_str("</ul>\n</section>\n");
}

fn render_md(b: &Block, stem: &str, s: &mut String, files: &mut Vec<(String, String)>) {
    match b {
        Block::Heading(level, text) => {
            let _ = writeln!(s, "{} {text}\n", "#".repeat(*level as usize));
        }
        Block::Para(text) => {
            let _ = writeln!(s, "{text}\n");
        }
        Block::Headline(c) => {
            let _ = writeln!(s, "## {}\n", c.title);
            if c.estimable {
                let _ = writeln!(
                    s,
                    "**{}** ({} interval {} to {}); never recorded: about **{}**.\n",
                    c.n_hat.0, c.level, c.lower.0, c.upper.0, c.dark.0
                );
            } else {
                let _ = writeln!(s, "**No figure can be cited.**\n");
            }
            let _ = writeln!(s, "{}\n", c.sentence);
            for d in &c.details {
                let _ = writeln!(s, "- {d}");
            }
            s.push('\n');
        }
        Block::Table {
            caption,
            header,
            rows,
        } => {
            let _ = writeln!(s, "*{caption}*\n");
            let _ = writeln!(
                s,
                "| {} |",
                header
                    .iter()
                    .map(|h| md_cell(h))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            let _ = writeln!(s, "|{}", "---|".repeat(header.len()));
            for r in rows {
                let _ = writeln!(
                    s,
                    "| {} |",
                    r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                );
            }
            s.push('\n');
        }
        Block::List(items) => {
            for i in items {
                let _ = writeln!(s, "- {i}");
            }
            s.push('\n');
        }
        Block::Figure(f) => {
            let name = format!("{stem}_{}.svg", f.id);
            let _ = writeln!(s, "![{}]({name})\n\n*{}*\n", f.id, f.caption);
            files.push((name, f.svg.clone()));
        }
        Block::Code(text) => {
            let _ = writeln!(s, "```text\n{text}\n```\n");
        }
        Block::Answer(c) => {
            let _ = writeln!(s, "## {}\n", c.title);
            match (&c.figure, &c.interval) {
                (Some(f), Some((level, method, lo, hi))) => {
                    let _ = writeln!(
                        s,
                        "**{}** ({level} interval {} to {}; {method})\n",
                        f.0, lo.0, hi.0
                    );
                }
                (Some(f), None) => {
                    let _ = writeln!(s, "**{}**\n", f.0);
                }
                _ => s.push_str("**No figure can be cited: see the checks.**\n\n"),
            }
            let _ = writeln!(s, "{}\n", c.sentence);
            for (ok, text) in &c.checks {
                let _ = writeln!(s, "- {} {text}", if *ok { "✓" } else { "✗" });
            }
            for d in &c.details {
                let _ = writeln!(s, "- {d}");
            }
            s.push('\n');
        }
    }
}

pub(crate) const CSS: &str = r#"@page { size: A4; margin: 16mm 15mm; }
html { font-family: "Helvetica Neue", Arial, "Liberation Sans", sans-serif; font-size: 10.5pt; color: #222; }
body { margin: 0; }
main { max-width: 180mm; margin: 0 auto; padding: 8mm 4mm; }
h1 { font-size: 20pt; margin: 0 0 4mm 0; }
h2 { font-size: 14pt; margin: 7mm 0 2mm 0; border-bottom: 1px solid #ccc; }
p { line-height: 1.45; margin: 1.5mm 0; }
section.headline { border-left: 5px solid #c0392b; background: #fbf3f1; padding: 2mm 5mm 3mm 5mm; margin: 4mm 0; page-break-inside: avoid; break-inside: avoid; }
section.headline h2 { border: none; margin-top: 1mm; font-size: 12pt; }
section.headline p.figure { font-size: 13pt; margin: 1mm 0; }
section.headline p.figure data.n-hat { font-size: 26pt; font-weight: bold; color: #c0392b; }
section.headline p.dark { font-size: 12pt; }
section.headline p.dark data { font-weight: bold; }
section.headline ul.details { font-size: 9.5pt; color: #444; margin: 1mm 0; padding-left: 5mm; }
section.headline ul.checks { list-style: none; padding-left: 0; margin: 1.5mm 0; font-size: 10pt; }
section.headline ul.checks li.pass { color: #1b6e3a; }
section.headline ul.checks li.fail { color: #b03a2e; font-weight: bold; }
table { border-collapse: collapse; margin: 3mm 0; font-size: 8.5pt; page-break-inside: avoid; break-inside: avoid; }
caption { text-align: left; font-style: italic; padding-bottom: 1mm; }
th, td { border-bottom: 1px solid #ddd; padding: 0.6mm 2mm; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 1.5px solid #888; }
figure { margin: 4mm 0; page-break-inside: avoid; break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 9pt; color: #444; margin-top: 1mm; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; background: #f2f2f2; padding: 0 0.5mm; }
pre code { background: none; padding: 0; font-size: inherit; }
pre { background: #f4f4f4; padding: 2mm; white-space: pre-wrap; word-break: break-all; font-size: 8.5pt; }
ul { margin: 1mm 0; }
@media print { main { padding: 0; max-width: none; } h2 { page-break-after: avoid; break-after: avoid; } }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_names_are_set_as_code_and_the_rest_escaped() {
        assert_eq!(
            prose("column `role` is not used (--stratum role) & `a<b`"),
            "column <code>role</code> is not used (--stratum role) &amp; <code>a&lt;b</code>"
        );
        assert_eq!(prose("no quotes"), "no quotes");
        assert_eq!(prose("one ` left"), "one ` left");
        assert_eq!(prose("``"), "<code></code>");
    }
    use crate::estimate::{Assumption, IntervalMethod};
    use crate::recommend::{Candidate, HeadlineModel, Sensitivity};

    fn hare_text() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/data/hare.csv"
        ))
        .unwrap()
    }

    fn interval(lower: f64, upper: f64) -> Interval {
        Interval {
            lower,
            upper,
            level: 0.95,
            method: IntervalMethod::ProfileLikelihood,
        }
    }

    /// A headline built by hand (the procedure that fills it lives in `recommend`).
    fn hand_headline(report: &Report) -> Headline {
        let est = report
            .find("closedp.t", None, "Mh Chao (LB)")
            .expect("hare has Mh Chao")
            .clone();
        let m0 = report.find("closedp.t", None, "M0").unwrap().clone();
        Headline {
            kind: crate::recommend::DataKind::Occasions,
            stratum: None,
            observed: est.observed,
            n_hat: est.n_hat,
            se: est.se,
            interval: est.interval,
            dark_figure: est.n_hat - est.observed as f64,
            dark_figure_interval: est.interval.shifted(est.observed as f64),
            basis: "hand-made for a test".into(),
            models: vec![HeadlineModel {
                model: est.model.clone(),
                weight: 1.0,
                n_hat: est.n_hat,
            }],
            sensitivity: Some(Sensitivity {
                lower: m0.n_hat,
                upper: est.n_hat,
                models: vec!["M0".into(), est.model.clone()],
                interval_lower: m0.interval.lower,
                interval_upper: est.interval.upper,
                rule: "a test rule".into(),
            }),
            candidates: vec![
                Candidate {
                    model: est.model.clone(),
                    section: "closedp.t (profile-likelihood intervals)".into(),
                    delta_ic: Some(0.0),
                    weight: 1.0,
                    n_hat: est.n_hat,
                    interval: est.interval,
                    gof_p: Some(0.5),
                    excluded: None,
                },
                Candidate {
                    model: "M0".into(),
                    section: "closedp.t (profile-likelihood intervals)".into(),
                    delta_ic: Some(3.0),
                    weight: 0.0,
                    n_hat: m0.n_hat,
                    interval: m0.interval,
                    gof_p: Some(0.01),
                    excluded: None,
                },
                Candidate {
                    model: "Mb".into(),
                    section: "closedp.t (profile-likelihood intervals)".into(),
                    delta_ic: None,
                    weight: 0.0,
                    n_hat: f64::NAN,
                    interval: interval(f64::NAN, f64::INFINITY),
                    gof_p: None,
                    excluded: Some("degenerate fit".into()),
                },
            ],
            warnings: vec!["a <warning> & more".into()],
            assumptions: vec![
                Assumption::ClosedPopulation,
                Assumption::ModelledHeterogeneity,
            ],
            truth: None,
        }
    }

    fn hare_report() -> (DataSet, Report, String) {
        let text = hare_text();
        let data = crate::data::csv_io::read_str(&text, "hare.csv", &Default::default()).unwrap();
        let mut report = super::super::analyse(
            &data,
            &super::super::AnalysisOptions {
                source: "hare.csv".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let h = hand_headline(&report);
        report.headline = vec![h];
        (data, report, text)
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn options_drop_the_report_file() {
        let ctx = ReportContext::new(None, "x.csv", b"").with_options([
            "x.csv",
            "--report",
            "a.html",
            "--level",
            "0.9",
            "--report=b.md",
        ]);
        assert_eq!(ctx.options, vec!["x.csv", "--level", "0.9"]);
    }

    #[test]
    fn closedp0_fitted_frequencies_are_in_k_order() {
        // hare f_k; every fitted series sums to n (Poisson GLM with an intercept).
        let (data, _, _) = hare_report();
        let DataSet::Histories { data: h, .. } = &data else {
            panic!("hare is histories")
        };
        let s = h.summary();
        let series = fitted_fk(&s.f_k, Some(6), 0.95);
        assert_eq!(series.len(), 4);
        let n: f64 = s.f_k.iter().sum::<u64>() as f64;
        for f in &series {
            let total: f64 = f.values.iter().sum();
            assert!((total - n).abs() < 1e-6 * n, "{}: {total} vs {n}", f.label);
            // f_1 is the largest observed frequency in hare and so is the fitted f_1.
            assert!(f.values[0] > f.values[5], "{}: {:?}", f.label, f.values);
        }
    }

    #[test]
    fn html_report_has_the_headline_figures_and_parses() {
        let (data, report, text) = hare_report();
        let ctx = ReportContext::new(Some(&data), "hare.csv", text.as_bytes())
            .with_options(["hare.csv", "--report", "x.html"]);
        let html = report.to_html(&ctx);
        let h = &report.headline[0];
        assert!(html.contains(&format!("value=\"{}\"", json_number(h.n_hat))));
        assert!(html.contains(&format!("value=\"{}\"", json_number(h.interval.lower))));
        assert!(html.contains(&ctx.input_sha256));
        assert!(html.contains("a &lt;warning&gt; &amp; more"));
        assert!(html.contains("How to cite"));
        assert!(!html.contains("<script"));
        // forest, f_k, profile
        assert!(
            html.matches("<svg").count() >= 3,
            "{}",
            html.matches("<svg").count()
        );
        assert_eq!(html, report.to_html(&ctx));
        let (md, files) = report.to_markdown_report(&ctx, "hare");
        assert!(md.contains("## Provenance"));
        assert_eq!(files.len(), html.matches("<svg").count());
        assert!(files.iter().all(|(n, _)| md.contains(n.as_str())));
    }
}
