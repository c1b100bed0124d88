//! Runs a simulation study and reports bias, RMSE and interval coverage per estimator.
//!
//! ```text
//! cargo run --release --example simulate                        # built-in police study
//! cargo run --release --example simulate -- examples/data/police.json --out sim-out
//! cargo run --release --example simulate -- --replicates 200 --format markdown
//! ```
//! Writes `metrics.csv`, `metrics.json` and `metrics.md` into `--out` (default
//! `sim-out`); prints the table to stdout in `--format` (text, markdown, json). A
//! progress bar goes to stderr, only when stderr is a terminal.
//!
//! Estimators are named in the study file (`"estimators": [...]`, see
//! `darkfigure::sim::builtin_estimators`), e.g. `"closedp"` for the 12 Rcapture models or
//! `"closedp:M0*,Mt*,Mh Chao*,Mb"` for a selection with profile intervals (`*`).
//!
//! Sharding: `--shard 1/2 --raw a.json` and `--shard 2/2 --raw b.json` (e.g. on two
//! machines), then `--merge a.json b.json` reports exactly what the unsharded run does.

mod common;

use clap::{Parser, ValueEnum};
use darkfigure::sim::{self, Study, report};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Markdown,
    Json,
}

/// Monte-Carlo simulation studies of population-size estimators.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Study file (JSON); the built-in police-operations study when omitted.
    study: Option<PathBuf>,
    /// Directory for metrics.csv, metrics.json and metrics.md.
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Base seed (overrides the study file's).
    #[arg(long)]
    seed: Option<u64>,
    /// Replicates per scenario (overrides the study file's).
    #[arg(long)]
    replicates: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Also write an HTML report (bias and coverage figures, table, provenance) to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Write the built-in study as JSON to stdout and exit.
    #[arg(long)]
    print_builtin: bool,
    /// Run only shard K of M (e.g. `2/4`): an equal share of the replicates.
    #[arg(long, value_name = "K/M")]
    shard: Option<String>,
    /// Also write the raw per-replicate results (mergeable) to this file.
    #[arg(long, value_name = "FILE")]
    raw: Option<PathBuf>,
    /// Merge raw result files (from --raw) instead of running a study.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    merge: Vec<PathBuf>,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(out) => common::emit(&out),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<String, Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.print_builtin {
        return Ok(serde_json::to_string_pretty(&sim::police_study())? + "\n");
    }
    let raw = if !args.merge.is_empty() {
        let mut acc: Option<sim::RawResults> = None;
        for p in &args.merge {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
            let r = sim::RawResults::from_json(&text)?;
            acc = Some(match acc {
                None => r,
                Some(a) => a.merge(r)?,
            });
        }
        acc.ok_or("--merge needs at least one file")?
    } else {
        run(&args)?
    };
    if let Some(p) = &args.raw {
        std::fs::write(p, raw.to_json()?)?;
    }
    let table = raw.metrics();
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("metrics.csv"), report::to_csv(&table)?)?;
    std::fs::write(args.out.join("metrics.json"), report::to_json(&table)?)?;
    std::fs::write(args.out.join("metrics.md"), report::to_markdown(&table))?;
    if let Some(p) = &args.report {
        std::fs::write(p, report::to_html(&table))?;
    }
    Ok(match args.format {
        Format::Text => report::to_text(&table),
        Format::Markdown => report::to_markdown(&table),
        Format::Json => report::to_json(&table)? + "\n",
    })
}

fn run(args: &Args) -> Result<sim::RawResults, Box<dyn std::error::Error>> {
    let mut study = match &args.study {
        Some(p) => Study::from_path(p)?,
        None => sim::police_study(),
    };
    if let Some(s) = args.seed {
        study.seed = s;
    }
    if let Some(r) = args.replicates {
        study.replicates = r;
    }
    study.validate()?;
    let range = match &args.shard {
        None => None,
        Some(spec) => {
            let (k, m) = spec
                .split_once('/')
                .and_then(|(k, m)| Some((k.trim().parse().ok()?, m.trim().parse().ok()?)))
                .ok_or_else(|| format!("--shard `{spec}`: expected K/M, e.g. 1/4"))?;
            Some(sim::shard_range(study.replicates, k, m)?)
        }
    };
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()?;
    }
    let total = range
        .as_ref()
        .map(|r| r.end - r.start)
        .unwrap_or(study.replicates)
        * study.scenarios.len() as u64;
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(total);
        b.set_style(ProgressStyle::with_template(
            "{bar:40} {pos}/{len} replicates, {elapsed} elapsed, ETA {eta}",
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
    let raw = sim::run_study_raw(&study, range, Some(&tick))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(raw)
}
