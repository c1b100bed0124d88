//! `sspse`: population size from a respondent-driven sample (SS-PSE).
//!
//! ```sh
//! cargo run --release --example sspse -- fauxmadrona.csv --prior-median 1000
//! cargo run --release --example sspse -- rds1.csv --second rds2.csv --prior-median 1250 --format json
//! ```

mod common;

use clap::Parser;
use darkfigure::kp::sspse::{RdsSample, ReportFormat, SizePrior, Sspse};
use std::process::ExitCode;

/// Estimate a hidden population's size from an RDS survey (rows in recruitment order,
/// a `degree` column; `id`, `recruiter.id`, `recapture` optional).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// CSV file of the (first) survey.
    file: std::path::PathBuf,
    /// Prior median of N (beta prior on n/N, sspse's default).
    #[arg(long)]
    prior_median: f64,
    /// Visibility (reporting-error) model: reported degree as a noisy measure of visibility.
    #[arg(long)]
    visibility: bool,
    /// Variance-to-mean ratio of the reporting model of --visibility (sspse's
    /// mem.overdispersion).
    #[arg(long, default_value_t = 15.0)]
    overdispersion: f64,
    /// With --visibility: also model the number of recruits given visibility.
    #[arg(long)]
    recruitment: bool,
    /// Reproduce sspse 1.1.0-6's arithmetic (two surveys: its size totals; visibility: its
    /// conditional draw of the visibilities) instead of the exact model.
    #[arg(long)]
    sspse_compat: bool,
    /// Second survey (capture-recapture SS-PSE); needs a `recapture` column or ids.
    #[arg(long)]
    second: Option<std::path::PathBuf>,
    /// Number of chains.
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Base seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output format: text, markdown or json.
    #[arg(long, default_value = "text")]
    format: String,
}

fn run(a: Args) -> darkfigure::Result<String> {
    let format: ReportFormat = a.format.parse()?;
    let first = RdsSample::from_csv_path(&a.file)?;
    let p = Sspse::params(SizePrior::Beta {
        median: a.prior_median,
    })
    .chains(a.chains)
    .seed(a.seed)
    .visibility(a.visibility)
    .sspse_compat(a.sspse_compat);
    let p = darkfigure::kp::sspse::SspseParams {
        visibility_overdispersion: a.overdispersion,
        visibility_recruitment: a.recruitment,
        ..p
    };
    let fit = match &a.second {
        None => p.fit(&first)?,
        Some(f) => {
            let mut second = RdsSample::from_csv_path(f)?;
            if second.recaptured.is_none() {
                second.mark_recaptures_from(&first)?;
            }
            p.fit_recapture(&first, &second)?
        }
    };
    fit.report(format)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(s) => common::emit(&s),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
