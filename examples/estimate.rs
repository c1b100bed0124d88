//! `estimate`: the analyst's command. Reads a CSV file of capture histories (wide, long
//! or aggregated layout) or single-source counts, runs every estimator that applies and
//! prints one table of estimates per stratum.
//!
//! ```sh
//! cargo run --release --example estimate                       # embedded police-operations data
//! cargo run --release --example estimate -- data.csv --format json --level 0.9
//! cargo run --release --example estimate -- --example hare     # another embedded data set
//! cargo run --release --example estimate -- --example police-covariates   # Huggins covariate models
//! cargo run --release --example estimate -- lists.csv --bayes  # + dga and LCMCR (credible)
//! ```

mod common;

use clap::Parser;
use darkfigure::data::csv_io::{self, ReadOptions};
use darkfigure::report::{self, AnalysisOptions, Format};
use std::process::ExitCode;

const POLICE: &str = include_str!("data/police_operations.csv");
const POLICE_TRUTH: &str = include_str!("data/police_operations_truth.csv");
const HARE: &str = include_str!("data/hare.csv");
const SEBER: &str = include_str!("data/seber1982_t2.csv");
/// The police register with individual covariates (sex, age, prior arrest): 1,500 buyers,
/// capture depending on the covariates (`examples/make_police_covariates.rs`).
const POLICE_COVARIATES: &str = include_str!("data/police_covariates.csv");
/// Covariates of the embedded `police-covariates` example.
const POLICE_COVARIATE_NAMES: [&str; 3] = ["sex", "age", "prior"];
/// Its true population size.
const POLICE_COVARIATES_N: u64 = 1500;

/// Estimate how many people a set of records never saw.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// CSV file to analyse; without it, an embedded example (see --example).
    file: Option<std::path::PathBuf>,
    /// Two-source summary counts instead of a FILE: N1,N2,M, the numbers caught by the
    /// first source, by the second, and by both (e.g. objects handed out, survey
    /// respondents, respondents who had one). Runs the two-occasion estimators
    /// (Lincoln-Petersen, Chapman, Bailey, Mt) and their headline.
    #[arg(long, value_name = "N1,N2,M", value_delimiter = ',')]
    two_source: Option<Vec<u64>>,
    /// Output format: text, markdown or json.
    #[arg(long, default_value = "text")]
    format: String,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Embedded data set when no FILE is given: police, police-covariates (the police
    /// register with sex, age and prior arrest: the covariate models), hare or seber.
    #[arg(long, default_value = "police")]
    example: String,
    /// Force the layout: wide, long, aggregated or counts (detected otherwise).
    #[arg(long)]
    layout: Option<String>,
    /// Name of the count column (single-source counts; without it `count`, `nbcap`, or the
    /// one repeating column of whole numbers ≥ 1 in a file that is not 0/1 histories).
    #[arg(long)]
    count: Option<String>,
    /// Name of the frequency column.
    #[arg(long)]
    freq: Option<String>,
    /// Covariates to use, comma-separated: single-source counts (all other columns by
    /// default), or capture histories with covariate columns (the Huggins models join the
    /// analysis and make the headline, stratum by stratum; name the stratum column among
    /// them to analyse the strata as one population instead).
    #[arg(long, value_delimiter = ',')]
    covariates: Option<Vec<String>>,
    /// Report single-source count models per level of this column.
    #[arg(long)]
    by: Option<String>,
    /// Occasions behind single-source counts, for the closedp.0 models (a number, or inf).
    #[arg(long)]
    occasions: Option<String>,
    /// Fit closedp.0 models to units caught at most this many times.
    #[arg(long)]
    t0: Option<usize>,
    /// Add a model-selection table: aic, bic (every hierarchical log-linear model, as
    /// Rcapture::closedpMS.t) or stepwise (SparseMSE's stepwise two-list effects).
    #[arg(long)]
    select: Option<String>,
    /// Fit one hierarchical log-linear model, e.g. "[12,3,4]", with its profile interval.
    #[arg(long)]
    model: Option<String>,
    /// Heterogeneity column for --model and --select aic|bic: chao, poisson, darroch, gamma.
    #[arg(long)]
    heterogeneity: Option<String>,
    /// Open population: Jolly-Seber log-linear models (Rcapture::openp) instead of closed ones.
    #[arg(long)]
    open: bool,
    /// Occasions per primary period, e.g. 5,5,5 (robust design; implies --open).
    #[arg(long, value_delimiter = ',')]
    periods: Option<Vec<usize>>,
    /// The columns are unordered lists (agency registers), not occasions ordered in time:
    /// models that depend on the order of the columns are not run. A file can declare the
    /// same with a comment line `# sources: lists` before its header.
    #[arg(long)]
    lists: bool,
    /// Print every estimator's full table after the headlines.
    #[arg(long)]
    all: bool,
    /// A 0/1 column marking a subgroup within each stratum (e.g. `minor`): adds a headline
    /// for the subgroup of every stratum (any history layout; in a wide file the column is
    /// not an occasion). The embedded police example uses `minor`. With --covariates, the
    /// subgroup's figure is derived from the Huggins models of its whole stratum.
    #[arg(long)]
    subgroup: Option<String>,
    /// Long layout: the occasion labels in order, comma-separated (default: numeric order
    /// when every label is a number, calendar order when every label is a date such as
    /// 2024-03-01 or 15/01/2024, otherwise order of first appearance).
    #[arg(long, value_delimiter = ',')]
    occasion_order: Option<Vec<String>>,
    /// Long layout with dated records (an arrest register): group the dates into calendar
    /// periods, each one occasion: day, week (ISO, Monday to Sunday), month, quarter or
    /// year. Without it every distinct date is an occasion (at most 64).
    #[arg(long)]
    occasion_period: Option<String>,
    /// Column identifying the units (default: `id`, or the one column named like an
    /// identifier, such as person_id or CaseID).
    #[arg(long)]
    id: Option<String>,
    /// Long layout: column naming each record's occasion (default: `occasion`, or beside
    /// a repeating identifier the one column named like an occasion, such as operation,
    /// date, period or wave).
    #[arg(long)]
    occasion: Option<String>,
    /// Column naming each unit's stratum, for estimates by stratum and for the total
    /// (default: `stratum`).
    #[arg(long)]
    stratum: Option<String>,
    /// A unit recorded in more than one stratum (arrested as a buyer, later supported as a
    /// seller) is counted in the stratum of its `first` or `last` occasion, with all its
    /// captures, or in `each` stratum with the captures recorded there (strata that are
    /// roles, each role's population a target; the total then counts roles, not people);
    /// by default (`refuse`) such a file is refused at the first such record.
    #[arg(long, default_value = "refuse")]
    unit_stratum: String,
    /// Add Bayesian estimates: dga model averaging over decomposable graphs (up to 6
    /// lists) and the LCMCR latent-class sampler (4 chains of 1,000 draws, continued up to
    /// 4,000 while they have not mixed; seed 1), with credible intervals.
    #[arg(long)]
    bayes: bool,
    /// Also write a report a policy brief can cite: FILE.html (self-contained, with
    /// figures) or FILE.md (Markdown, figures as SVG files beside it).
    #[arg(long)]
    report: Option<std::path::PathBuf>,
}

fn run(args: Args) -> darkfigure::Result<String> {
    let format: Format = args.format.parse()?;
    let subgroup = args.subgroup.clone().or_else(|| {
        (args.file.is_none() && args.two_source.is_none() && args.example == "police")
            .then(|| "minor".to_string())
    });
    let opts = ReadOptions {
        layout: args.layout.as_deref().map(str::parse).transpose()?,
        count_column: args.count.clone(),
        freq_column: args.freq.clone(),
        covariates: None,
        occasion_order: args.occasion_order.clone(),
        occasion_period: args
            .occasion_period
            .as_deref()
            .map(str::parse)
            .transpose()?,
        id_column: args.id.clone(),
        occasion_column: args.occasion.clone(),
        stratum_column: args.stratum.clone(),
        unit_stratum: args.unit_stratum.parse()?,
        subgroup_column: subgroup.clone(),
    };
    // Histories with covariate columns: the Huggins models join the analysis (issue 12).
    if let Some(input) = covariate_input(&args, &opts)? {
        return run_covariates(&args, format, input);
    }
    let subgroup_text: Option<String>;
    let (data, source, truth) = match (&args.file, &args.two_source) {
        (_, Some(counts)) => {
            let d = two_source_data(&args, counts)?;
            // the input a report's provenance records
            subgroup_text = Some(format!(
                "n1,n2,m\n{}\n",
                counts
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ));
            d
        }
        (Some(path), None) => {
            let bytes = std::fs::read(path).map_err(|source| darkfigure::Error::Io {
                path: path.display().to_string(),
                source,
            })?;
            let text = csv_io::decode_utf8(bytes, &path.display().to_string())?;
            // Large files take seconds to read: a spinner on the terminal meanwhile.
            let reading = terminal_spinner("reading the file…");
            let data = csv_io::read_str(&text, &path.display().to_string(), &opts);
            if let Some(s) = reading {
                s.finish_and_clear();
            }
            let data = data?;
            subgroup_text = Some(text);
            (data, path.display().to_string(), None)
        }
        (None, None) => {
            let (text, name, truth) = embedded(&args.example)?;
            subgroup_text = Some(text.to_string());
            (
                csv_io::read_str(text, name, &opts)?,
                name.to_string(),
                truth,
            )
        }
    };
    let data = match data {
        darkfigure::data::DataSet::Histories {
            data,
            layout,
            occasion_order,
            notes,
            file_rows,
        } if args.lists => {
            if args.open || args.periods.is_some() {
                return Err(darkfigure::Error::InvalidParameter {
                    name: "lists",
                    value: "--lists with --open/--periods".into(),
                    expected:
                        "occasions ordered in time for open-population models (lists have no order)"
                            .into(),
                });
            }
            darkfigure::data::DataSet::Histories {
                data: data.with_lists(true),
                layout,
                occasion_order,
                notes,
                file_rows,
            }
        }
        darkfigure::data::DataSet::Counts { .. } if args.lists => {
            return Err(darkfigure::Error::InvalidParameter {
                name: "lists",
                value: "set on single-source counts".into(),
                expected: "the option only with capture histories whose columns are lists".into(),
            });
        }
        other => other,
    };
    let has_strata = match &data {
        darkfigure::data::DataSet::Histories { data, .. } => data.strata().is_some(),
        _ => false,
    };
    let truth = match truth {
        Some(t) => report::truth_from_csv(t, "police_operations_truth.csv", has_strata)?,
        None => Vec::new(),
    };
    let analysis = AnalysisOptions {
        level: args.level,
        source,
        truth,
        select: args.select.as_deref().map(str::parse).transpose()?,
        model: args.model.clone(),
        heterogeneity: args
            .heterogeneity
            .as_deref()
            .map(report::parse_heterogeneity)
            .transpose()?,
        open: args.open || args.periods.is_some(),
        periods: args.periods.clone(),
        covariates: args.covariates.clone(),
        by: args.by.clone(),
        occasions: args.occasions.as_deref().map(str::parse).transpose()?,
        t0: args.t0,
        headline_only: false,
        bayes: args.bayes,
    };
    // A spinner on the terminal while the models run (selection over many models, large
    // files and robust designs can take seconds); nothing when stderr is redirected.
    let spinner = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let s = indicatif::ProgressBar::new_spinner().with_message("fitting the models…");
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    let r = report::analyse(&data, &analysis).and_then(|mut r| {
        if args.two_source.is_some() {
            r.data.layout = report::SUMMARY_LAYOUT.into();
            r.data.rows = 0;
        }
        if let (Some(col), Some(text)) = (&subgroup, &subgroup_text) {
            let sub = csv_io::read_str_where(text, &analysis.source, &opts, col)?;
            report::add_subgroup(&mut r, &sub, col, &analysis)?;
        }
        Ok(r)
    });
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let r = r?;
    if let Some(out) = &args.report {
        let input = subgroup_text.as_deref().unwrap_or_default().as_bytes();
        report::write_report_for(
            &r,
            &data,
            &r.data.source,
            input,
            std::env::args().skip(1),
            out,
        )?;
    }
    Ok(r.render_with(format, args.all))
}

/// An embedded example without covariates (police, hare, seber): its text, its name as
/// a path, and the police example's truth file.
fn embedded(
    example: &str,
) -> darkfigure::Result<(&'static str, &'static str, Option<&'static str>)> {
    Ok(match example {
        "police" => (
            POLICE,
            "examples/data/police_operations.csv",
            Some(POLICE_TRUTH),
        ),
        "hare" => (HARE, "examples/data/hare.csv", None),
        "seber" => (SEBER, "examples/data/seber1982_t2.csv", None),
        other => {
            return Err(darkfigure::Error::InvalidParameter {
                name: "example",
                value: other.into(),
                expected: "police, police-covariates, hare or seber".into(),
            });
        }
    })
}

/// Capture histories with covariates to analyse: the file (or embedded example), its
/// text, the covariates and the known truth.
struct CovariateInput {
    data: darkfigure::data::CovariateHistories,
    covariates: Vec<String>,
    /// `--subgroup`: a yes/no column of unit traits (read with the covariates).
    subgroup: Option<String>,
    source: String,
    text: String,
    truth: Vec<report::Truth>,
}

/// The covariate input when the run has one: a histories FILE with `--covariates`, or the
/// embedded `police-covariates` example (covariates sex, age, prior unless given).
/// The data of `--two-source N1,N2,M`: two-occasion histories with the same counts, the
/// source named by its counts. Refused with a FILE, an embedded example, or an option
/// that reads a file (layout, columns, covariates, subgroup).
fn two_source_data(
    args: &Args,
    counts: &[u64],
) -> darkfigure::Result<(darkfigure::data::DataSet, String, Option<&'static str>)> {
    let refuse = |value: &str| darkfigure::Error::InvalidParameter {
        name: "two-source",
        value: value.into(),
        expected: "three counts N1,N2,M and no FILE, --example, --layout, --count, --freq, \
                   --covariates, --subgroup or --occasion-order (they describe a file)"
            .into(),
    };
    let file_options = [
        ("a FILE", args.file.is_some()),
        ("--layout", args.layout.is_some()),
        ("--count", args.count.is_some()),
        ("--freq", args.freq.is_some()),
        ("--covariates", args.covariates.is_some()),
        ("--subgroup", args.subgroup.is_some()),
        ("--occasion-order", args.occasion_order.is_some()),
        ("--example", args.example != "police"),
    ];
    if let Some((name, _)) = file_options.iter().find(|(_, set)| *set) {
        return Err(refuse(&format!("given with {name}")));
    }
    let &[n1, n2, m] = counts else {
        return Err(refuse(&format!(
            "{} count(s): {}",
            counts.len(),
            counts
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        )));
    };
    let s = darkfigure::two_source::TwoSample::new(n1, n2, m)?;
    let h = s.to_histories(["first", "second"])?;
    Ok((
        darkfigure::data::DataSet::Histories {
            data: h,
            layout: csv_io::Layout::Aggregated,
            occasion_order: None,
            notes: Vec::new(),
            file_rows: None,
        },
        format!("two-source counts n1 = {n1}, n2 = {n2}, m = {m}"),
        None,
    ))
}

fn covariate_input(args: &Args, opts: &ReadOptions) -> darkfigure::Result<Option<CovariateInput>> {
    let (text, source, covs, truth) = match (&args.file, &args.covariates) {
        (Some(path), Some(covs)) => {
            let bytes = std::fs::read(path).map_err(|source| darkfigure::Error::Io {
                path: path.display().to_string(),
                source,
            })?;
            let text = csv_io::decode_utf8(bytes, &path.display().to_string())?;
            (text, path.display().to_string(), covs.clone(), Vec::new())
        }
        // --covariates on another embedded example: its columns, as a file's.
        (None, Some(covs)) if args.example != "police-covariates" => {
            let (text, name, truth) = embedded(&args.example)?;
            let truth = match truth {
                Some(t) => report::truth_from_csv(t, "police_operations_truth.csv", true)?,
                None => Vec::new(),
            };
            (text.to_string(), name.to_string(), covs.clone(), truth)
        }
        (None, covs) if args.example == "police-covariates" => (
            POLICE_COVARIATES.to_string(),
            "examples/data/police_covariates.csv".to_string(),
            covs.clone().unwrap_or_else(|| {
                POLICE_COVARIATE_NAMES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }),
            vec![report::Truth {
                stratum: None,
                n: POLICE_COVARIATES_N,
            }],
        ),
        _ => return Ok(None),
    };
    // The subgroup column is read as one more unit trait (it is not an occasion); it
    // cannot be the stratum column too (read as a covariate, that column would stop
    // making strata).
    let subgroup = opts.subgroup_column.clone();
    let stratum = args.stratum.as_deref().unwrap_or("stratum");
    if let Some(g) = subgroup
        .as_ref()
        .filter(|g| g.eq_ignore_ascii_case(stratum))
    {
        return Err(darkfigure::Error::InvalidParameter {
            name: "subgroup",
            value: g.clone(),
            expected: format!(
                "a column other than the stratum column `{stratum}`: a subgroup is a part of \
                 each stratum"
            ),
        });
    }
    let mut read = covs.clone();
    if let Some(g) = subgroup.as_ref().filter(|g| !covs.contains(g)) {
        read.push(g.clone());
    }
    let Some(data) = report::huggins::histories_with_covariates_str(&text, &source, &read, opts)?
    else {
        return Ok(None);
    };
    if args.open || args.periods.is_some() || args.lists {
        return Err(darkfigure::Error::InvalidParameter {
            name: "covariates",
            value: covs.join(","),
            expected: "capture histories with covariates are analysed as closed populations \
                       (one per stratum) of occasions: without --open, --periods or --lists"
                .into(),
        });
    }
    Ok(Some(CovariateInput {
        data,
        covariates: covs,
        subgroup,
        source,
        text,
        truth,
    }))
}

/// The full analysis with the Huggins covariate models as the headline's candidates.
fn run_covariates(
    args: &Args,
    format: Format,
    input: CovariateInput,
) -> darkfigure::Result<String> {
    let analysis = AnalysisOptions {
        level: args.level,
        source: input.source.clone(),
        truth: input.truth,
        select: args.select.as_deref().map(str::parse).transpose()?,
        model: args.model.clone(),
        heterogeneity: args
            .heterogeneity
            .as_deref()
            .map(report::parse_heterogeneity)
            .transpose()?,
        covariates: Some(input.covariates.clone()),
        bayes: args.bayes,
        // Options of counts are refused on these histories rather than ignored.
        by: args.by.clone(),
        occasions: args.occasions.as_deref().map(str::parse).transpose()?,
        t0: args.t0,
        ..AnalysisOptions::default()
    };
    let mut r = report::analyse_with_covariates(&input.data, &input.covariates, &analysis)?;
    if let Some(g) = &input.subgroup {
        report::huggins::add_subgroup(&mut r, &input.data, &input.covariates, g, &analysis)?;
    }
    if let Some(out) = &args.report {
        let data = report::huggins::dataset(&input.data);
        report::write_report_for(
            &r,
            &data,
            &r.data.source,
            input.text.as_bytes(),
            std::env::args().skip(1),
            out,
        )?;
    }
    Ok(r.render_with(format, args.all))
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

/// A spinner with `message` on stderr when it is a terminal (nothing otherwise).
fn terminal_spinner(message: &'static str) -> Option<indicatif::ProgressBar> {
    std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let s = indicatif::ProgressBar::new_spinner().with_message(message);
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    })
}
