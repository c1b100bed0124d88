//! Plans a capture-recapture study: the smallest design (operations × effort) whose
//! interval meets a precision target at every plausible population size.
//!
//! ```text
//! cargo run --release --example plan -- --operations 3..10 --met-per-operation 40..120 \
//!     --population 300..2000 --heterogeneity 2 --target 0.2
//! cargo run --release --example plan -- --operations 2 --p 0.1..0.5:0.05 --population 1000 \
//!     --estimator chapman --format markdown
//! ```
//! Ranges: `a..b` (operations: every integer; effort: `--effort-points` evenly spaced
//! values, default 9; population: `--population-points` sizes evenly spaced on the log
//! scale, default 3), `a..b:step`, or a comma list `3,5,8`. `--heterogeneity k`: the most
//! visible 10% (`--top-share`) are k times as likely to be met as the average.
//! `--behaviour r`: after a first capture the odds of being met are multiplied by r.
//! `--dependence 1,2:0.7`: log odds ratio 0.7 between lists 1 and 2 (repeatable).
//! `--estimator NAME` (repeatable): a simulation estimator (`recommended`, `chapman`,
//! `closedp`, `closedp:Mh Chao (LB)`, ...); `--judge LABEL` picks the estimate judged when
//! they give several. A progress bar goes to stderr when it is a terminal.

mod common;

use clap::{Parser, ValueEnum};
use darkfigure::plan::{
    self, Criterion, DEFAULT_PLAN_ESTIMATOR, Effort, PlanSpec, Search, Visibility,
};
use darkfigure::sim::Dependence;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Markdown,
    Json,
}

/// Plan the next operation: how many operations, and how large, for a figure precise
/// enough to cite.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Numbers of operations (lists): `3..10`, `3,5,8` or `6`.
    #[arg(long, default_value = "3..10")]
    operations: String,
    /// Expected people met per operation: `40..120`, `40..120:20` or `40,80`.
    #[arg(long, conflicts_with = "p")]
    met_per_operation: Option<String>,
    /// Capture probability per operation instead: `0.05..0.3`.
    #[arg(long)]
    p: Option<String>,
    /// Values of an `a..b` effort range.
    #[arg(long, default_value_t = 9)]
    effort_points: usize,
    /// Plausible population sizes: `300..2000` or `300,800,2000`.
    #[arg(long)]
    population: String,
    /// Sizes of an `a..b` population range (log-spaced).
    #[arg(long, default_value_t = 3)]
    population_points: usize,
    /// The most visible `--top-share` are this many times as likely to be met as the
    /// average (1 = everybody alike).
    #[arg(long, default_value_t = 1.0)]
    heterogeneity: f64,
    /// Share of "the most visible" in `--heterogeneity`.
    #[arg(long, default_value_t = 0.1)]
    top_share: f64,
    /// Odds ratio of being met after a first capture (0.5: an arrest halves the odds).
    #[arg(long, default_value_t = 1.0)]
    behaviour: f64,
    /// List dependence `j,k:log_odds_ratio` (repeatable).
    #[arg(long)]
    dependence: Vec<String>,
    /// Simulation estimator (repeatable).
    #[arg(long)]
    estimator: Vec<String>,
    /// The estimate judged against the target when the estimators give several.
    #[arg(long)]
    judge: Option<String>,
    /// Target: largest relative half-width of the interval (0.2 = ±20%).
    #[arg(long, default_value_t = 0.2)]
    target: f64,
    /// Quantile of the half-width over replicates that must meet the target (0.5 =
    /// median; 0.9 = in 9 studies out of 10).
    #[arg(long, default_value_t = 0.5)]
    quantile: f64,
    /// Read `--target` as a largest relative RMSE instead.
    #[arg(long)]
    rmse: bool,
    /// Smallest acceptable coverage of the interval.
    #[arg(long, default_value_t = 0.9)]
    min_coverage: f64,
    /// Largest acceptable share of replicates without an estimate.
    #[arg(long, default_value_t = 0.05)]
    max_failure: f64,
    /// Confidence level.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Replicates per design and population size.
    #[arg(long, default_value_t = 500)]
    replicates: u64,
    /// Base seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Simulate every design instead of searching adaptively.
    #[arg(long)]
    grid: bool,
    /// Title of the plan.
    #[arg(long, default_value = "capture-recapture study design")]
    name: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Also write an HTML report (answer first, a precision figure per number of
    /// operations with the target as a line).
    #[arg(long)]
    report: Option<std::path::PathBuf>,
}

fn parse_f64s(what: &str, s: &str, points: usize) -> Result<Vec<f64>, String> {
    let bad = || format!("--{what} `{s}`: expected a..b, a..b:step or a comma list");
    let num = |x: &str| x.trim().parse::<f64>().map_err(|_| bad());
    if let Some((a, rest)) = s.split_once("..") {
        let (b, step) = match rest.split_once(':') {
            Some((b, st)) => (num(b)?, Some(num(st)?)),
            None => (num(rest)?, None),
        };
        let a = num(a)?;
        if b < a || b.is_nan() {
            return Err(bad());
        }
        return Ok(match step {
            Some(st) if st > 0.0 => {
                let k = ((b - a) / st + 1e-9).floor() as usize;
                (0..=k).map(|i| a + st * i as f64).collect()
            }
            Some(_) => return Err(bad()),
            None => plan::linear_grid(a, b, points),
        });
    }
    s.split(',').map(num).collect()
}

fn parse_ops(s: &str) -> Result<Vec<usize>, String> {
    let bad = || format!("--operations `{s}`: expected a..b or a comma list of integers");
    let int = |x: &str| x.trim().parse::<usize>().map_err(|_| bad());
    if let Some((a, b)) = s.split_once("..") {
        let (a, b) = (int(a)?, int(b.trim_start_matches('='))?);
        return Ok((a..=b).collect());
    }
    s.split(',').map(int).collect()
}

fn parse_population(s: &str, points: usize) -> Result<Vec<u64>, String> {
    let bad = || format!("--population `{s}`: expected a..b or a comma list of integers");
    let int = |x: &str| x.trim().parse::<u64>().map_err(|_| bad());
    if let Some((a, b)) = s.split_once("..") {
        return Ok(plan::log_grid(int(a)?, int(b)?, points));
    }
    s.split(',').map(int).collect()
}

fn parse_dependence(s: &str) -> Result<Dependence, String> {
    let bad = || format!("--dependence `{s}`: expected j,k:log_odds_ratio, e.g. 1,2:0.7");
    let (lists, g) = s.split_once(':').ok_or_else(bad)?;
    let (j, k) = lists.split_once(',').ok_or_else(bad)?;
    Ok(Dependence {
        lists: [
            j.trim().parse().map_err(|_| bad())?,
            k.trim().parse().map_err(|_| bad())?,
        ],
        log_odds_ratio: g.trim().parse().map_err(|_| bad())?,
    })
}

fn spec(args: &Args) -> Result<PlanSpec, String> {
    let effort = match (&args.met_per_operation, &args.p) {
        (Some(m), None) => {
            Effort::MetPerOperation(parse_f64s("met-per-operation", m, args.effort_points)?)
        }
        (None, Some(p)) => Effort::Probability(parse_f64s("p", p, args.effort_points)?),
        _ => return Err("give --met-per-operation or --p".into()),
    };
    let mut s = PlanSpec::new(
        parse_ops(&args.operations)?,
        effort,
        parse_population(&args.population, args.population_points)?,
    );
    s.name = args.name.clone();
    if args.heterogeneity != 1.0 {
        s.heterogeneity = Some(Visibility {
            top_share: args.top_share,
            ratio: args.heterogeneity,
        });
    }
    s.behaviour_odds_ratio = args.behaviour;
    s.dependence = args
        .dependence
        .iter()
        .map(|d| parse_dependence(d))
        .collect::<Result<_, _>>()?;
    s.estimators = if args.estimator.is_empty() {
        vec![DEFAULT_PLAN_ESTIMATOR.into()]
    } else {
        args.estimator.clone()
    };
    s.judge = args.judge.clone();
    s.goal.criterion = if args.rmse {
        Criterion::Rmse { max: args.target }
    } else {
        Criterion::HalfWidth {
            max: args.target,
            quantile: args.quantile,
        }
    };
    s.goal.min_coverage = args.min_coverage;
    s.goal.max_failure = args.max_failure;
    s.level = args.level;
    s.replicates = args.replicates;
    if let Some(seed) = args.seed {
        s.seed = seed;
    }
    s.search = if args.grid {
        Search::Grid
    } else {
        Search::Adaptive
    };
    Ok(s)
}

fn run(args: Args) -> Result<String, Box<dyn std::error::Error>> {
    let s = spec(&args)?;
    s.validate()?;
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()?;
    }
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(s.max_replicates());
        b.set_style(ProgressStyle::with_template(
            "{bar:40} {pos} replicates (at most {len}), {elapsed} elapsed",
        )?);
        Some(b)
    } else {
        None
    };
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let p = plan::run_plan(&s, Some(&tick))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let out = match args.format {
        Format::Text => plan::report::to_text(&p),
        Format::Markdown => plan::report::to_markdown(&p),
        Format::Json => plan::report::to_json(&p)?,
    };
    if let Some(path) = &args.report {
        let html = plan::report::to_html(&p)?;
        std::fs::write(path, html).map_err(|source| darkfigure::Error::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(out) => common::emit(&out),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
