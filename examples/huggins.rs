//! Fits the Huggins models (M0, Mt, Mb, Mtb) with and without individual covariates to a
//! wide CSV file of capture histories with covariate columns, and prints them by AIC.
//!
//! ```text
//! cargo run --release --example huggins -- examples/data/police_covariates.csv sex,age,prior
//! ```

mod common;

use darkfigure::data::read_covariate_histories_path;

fn main() -> Result<std::process::ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: huggins FILE.csv [covariate,covariate,...]");
        std::process::exit(2);
    };
    let covs: Vec<String> = args
        .get(1)
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let d = read_covariate_histories_path(path, &covs)?;
    let out = darkfigure::report::huggins::table(&d, &covs, 0.95)?;
    Ok(common::emit(&format!("{out}\n")))
}
