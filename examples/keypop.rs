//! `keypop`: key-population size estimation for analysts — multiplier (benchmark), network
//! scale-up, RDS proportions and triangulation. The library reads, estimates and formats;
//! this binary only parses arguments.
//!
//! ```sh
//! D=tests/fixtures/kp
//! cargo run --release --example keypop -- multiplier $D/fsw_unique_object.csv --objects 1000 \
//!     --received received_object --weight weight --weight-is-inclusion --bootstrap 2000
//! cargo run --release --example keypop -- nsum $D/nsum_example_survey.csv $D/nsum_known_populations.csv \
//!     --total 10000000 --hidden clients --topcode 30 --weight indweight --cluster cluster --strata region --bootstrap 1000
//! cargo run --release --example keypop -- rds $D/fauxmadrona.csv --outcome disease --recruiter recruiter.id --population-size 1000
//! cargo run --release --example keypop -- triangulate $D/triangulator_docs_example.csv --prior-median 3000 --prior-q75 4000
//! cargo run --release --example keypop -- sspse $D/fauxmadrona.csv --prior-median 1000 --report sspse.html
//! cargo run --release --example keypop -- simulate --replicates 1000 --seed 2026
//! ```
//! Every estimating subcommand takes `--report FILE.html` (or `.md`): the answer with its
//! interval and checks first, then the evidence tables and figures, the provenance and
//! the methods' references.

mod common;

use clap::{Parser, Subcommand};
use darkfigure::kp::jobs::{MultiplierJob, NsumJob, RdsJob, SspseJob, TriangulateJob};
use darkfigure::kp::report::{Format, ReportInputs};
use std::path::PathBuf;
use std::process::ExitCode;

/// Key-population size estimation: multiplier, network scale-up, RDS, triangulation.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Output format: text, markdown or json.
    #[arg(long, global = true, default_value = "text")]
    format: String,
    /// Confidence (credible) level.
    #[arg(long, global = true, default_value_t = 0.95)]
    level: f64,
    /// Seed of any bootstrap, simulation or MCMC.
    #[arg(long, global = true, default_value_t = 1)]
    seed: u64,
    /// Also write a report: FILE.html (one self-contained page) or FILE.md (with SVG
    /// figures beside it).
    #[arg(long, global = true)]
    report: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// N̂ = M / P̂: benchmark count over the share of a survey who received.
    Multiplier {
        /// Survey CSV, one row per respondent.
        file: PathBuf,
        /// Benchmark count M (objects distributed, people registered).
        #[arg(long)]
        objects: f64,
        /// 0/1 column: received the object.
        #[arg(long, default_value = "received")]
        received: String,
        /// Weight column (RDS weights).
        #[arg(long)]
        weight: Option<String>,
        /// The weight column is proportional to the inclusion probability (a degree).
        #[arg(long)]
        weight_is_inclusion: bool,
        /// Design effect for the delta-method interval.
        #[arg(long, default_value_t = 1.0)]
        deff: f64,
        /// Bootstrap replicates over respondents (0 = none).
        #[arg(long, default_value_t = 0)]
        bootstrap: usize,
        /// RDSpopsize's bootstrap (M* = M − m + m*) instead of a fixed M.
        #[arg(long)]
        rdspopsize_bootstrap: bool,
        /// Another count already observed, NAME=COUNT (repeatable).
        #[arg(long = "observed")]
        observed: Vec<String>,
    },
    /// Network scale-up from aggregated relational data.
    Nsum {
        /// Survey CSV.
        survey: PathBuf,
        /// Known populations CSV (known_popn, size).
        known: PathBuf,
        /// Total population size of the frame.
        #[arg(long)]
        total: f64,
        /// Hidden-population column(s), comma-separated; the first is the headline.
        #[arg(long, value_delimiter = ',')]
        hidden: Vec<String>,
        /// Topcode the known-population answers at this value.
        #[arg(long)]
        topcode: Option<f64>,
        /// Survey weight column.
        #[arg(long)]
        weight: Option<String>,
        /// Cluster (PSU) column for the rescaled bootstrap.
        #[arg(long)]
        cluster: Option<String>,
        /// Stratum column for the rescaled bootstrap.
        #[arg(long)]
        strata: Option<String>,
        /// Degree ratio δ.
        #[arg(long, default_value_t = 1.0)]
        degree_ratio: f64,
        /// Transmission rate τ.
        #[arg(long, default_value_t = 1.0)]
        transmission: f64,
        /// Rescaled-bootstrap replicates (0 = none).
        #[arg(long, default_value_t = 0)]
        bootstrap: usize,
        /// Skip the internal-consistency check.
        #[arg(long)]
        no_consistency: bool,
    },
    /// RDS estimates of a proportion with recruitment diagnostics.
    Rds {
        /// CSV in recruitment order.
        file: PathBuf,
        /// Outcome column (0/1).
        #[arg(long)]
        outcome: String,
        /// Id column.
        #[arg(long, default_value = "id")]
        id: String,
        /// Recruiter id column.
        #[arg(long, default_value = "recruiter")]
        recruiter: String,
        /// Degree (network size) column.
        #[arg(long, default_value = "degree")]
        degree: String,
        /// Population size N (enables successive-sampling weights).
        #[arg(long)]
        population_size: Option<f64>,
    },
    /// Population size from an RDS survey by SS-PSE (successive-sampling population size
    /// estimation), one survey or two with matched respondents.
    Sspse {
        /// CSV of the (first) survey in recruitment order, with a `degree` column.
        file: PathBuf,
        /// Prior median of N (beta prior on n/N, sspse's default).
        #[arg(long)]
        prior_median: f64,
        /// Visibility (reporting-error) model: reported degree as a noisy measure.
        #[arg(long)]
        visibility: bool,
        /// Second survey (capture-recapture SS-PSE), matched by a `recapture` column or ids.
        #[arg(long)]
        second: Option<PathBuf>,
        /// Number of chains (run in parallel).
        #[arg(long, default_value_t = 4)]
        chains: usize,
        /// Retained draws per chain (default: sspse's 1,000).
        #[arg(long)]
        samples: Option<usize>,
        /// Warm-up sweeps (default: sspse's 5,000).
        #[arg(long)]
        warmup: Option<usize>,
    },
    /// Simulation study: multiplier bias under degree-related receipt (RDS survey on a
    /// random network) and NSUM under barrier and transmission effects.
    Simulate {
        /// Replicates per scenario.
        #[arg(long, default_value_t = 200)]
        replicates: usize,
    },
    /// Combine several estimates into one consensus figure.
    Triangulate {
        /// CSV: name, estimate, lower95, upper95[, design_confidence_pct].
        file: PathBuf,
        /// Prior median (with --prior-q75; flat prior without).
        #[arg(long, requires = "prior_q75")]
        prior_median: Option<f64>,
        /// Prior 75th percentile.
        #[arg(long, requires = "prior_median")]
        prior_q75: Option<f64>,
        /// Lower plausibility bound.
        #[arg(long)]
        lower_bound: Option<f64>,
        /// Upper plausibility bound.
        #[arg(long)]
        upper_bound: Option<f64>,
        /// τ prior scale multiplier.
        #[arg(long, default_value_t = 0.01)]
        tau_multiplier: f64,
    },
}

fn run(a: Args) -> darkfigure::Result<String> {
    let format: Format = a.format.parse()?;
    let report_path = a.report.clone();
    let mut inputs = ReportInputs {
        files: Vec::new(),
        args: std::env::args().skip(1).collect(),
        seed: None,
    };
    let report = match a.cmd {
        Cmd::Multiplier {
            file,
            objects,
            received,
            weight,
            weight_is_inclusion,
            deff,
            bootstrap,
            rdspopsize_bootstrap,
            observed,
        } => {
            let observed = observed
                .iter()
                .map(|o| {
                    o.split_once('=')
                        .and_then(|(n, c)| {
                            c.trim()
                                .parse::<f64>()
                                .ok()
                                .map(|c| (n.trim().to_string(), c))
                        })
                        .ok_or_else(|| darkfigure::Error::InvalidParameter {
                            name: "observed",
                            value: o.clone(),
                            expected: "NAME=COUNT".into(),
                        })
                })
                .collect::<darkfigure::Result<Vec<_>>>()?;
            inputs.files = vec![file.clone()];
            inputs.seed = (bootstrap > 0).then_some(a.seed);
            MultiplierJob {
                file,
                objects,
                received,
                weight,
                weight_is_inclusion,
                design_effect: deff,
                bootstrap,
                seed: a.seed,
                rdspopsize_bootstrap,
                observed,
                level: a.level,
            }
            .run()?
        }
        Cmd::Nsum {
            survey,
            known,
            total,
            hidden,
            topcode,
            weight,
            cluster,
            strata,
            degree_ratio,
            transmission,
            bootstrap,
            no_consistency,
        } => {
            inputs.files = vec![survey.clone(), known.clone()];
            inputs.seed = (bootstrap > 0).then_some(a.seed);
            NsumJob {
                survey,
                known,
                total,
                hidden,
                topcode,
                weight,
                cluster,
                strata,
                degree_ratio,
                transmission,
                bootstrap,
                seed: a.seed,
                consistency: !no_consistency,
                level: a.level,
            }
            .run()?
        }
        Cmd::Rds {
            file,
            outcome,
            id,
            recruiter,
            degree,
            population_size,
        } => {
            inputs.files = vec![file.clone()];
            inputs.seed = population_size.map(|_| a.seed);
            RdsJob {
                file,
                outcome,
                id,
                recruiter,
                degree,
                population_size,
                seed: a.seed,
                level: a.level,
            }
            .run()?
        }
        Cmd::Sspse {
            file,
            prior_median,
            visibility,
            second,
            chains,
            samples,
            warmup,
        } => {
            inputs.files = std::iter::once(file.clone())
                .chain(second.clone())
                .collect();
            inputs.seed = Some(a.seed);
            SspseJob {
                file,
                second,
                prior_median,
                visibility,
                chains,
                samples,
                warmup,
                seed: a.seed,
                level: a.level,
            }
            .run()?
        }
        Cmd::Simulate { replicates } => {
            if let Some(r) = &report_path {
                return Err(darkfigure::Error::InvalidParameter {
                    name: "report",
                    value: r.display().to_string(),
                    expected: "no --report for simulate (its table is printed; use --format json)"
                        .into(),
                });
            }
            let rows = darkfigure::kp::sim::run_default(replicates, a.seed)?;
            return Ok(match format {
                Format::Json => serde_json::to_string_pretty(&serde_json::json!({
                    "findings": darkfigure::kp::sim::findings(&rows),
                    "rows": rows,
                }))
                .unwrap_or_default(),
                _ => darkfigure::kp::sim::to_markdown(&rows),
            });
        }
        Cmd::Triangulate {
            file,
            prior_median,
            prior_q75,
            lower_bound,
            upper_bound,
            tau_multiplier,
        } => {
            inputs.files = vec![file.clone()];
            TriangulateJob {
                file,
                prior: prior_median.zip(prior_q75),
                lower_bound,
                upper_bound,
                tau_multiplier,
                level: a.level,
            }
            .run()?
        }
    };
    if let Some(path) = &report_path {
        report.write_report(path, &inputs)?;
    }
    Ok(report.render(format))
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(out) => common::emit(&out),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
