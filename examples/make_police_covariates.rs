//! Writes `examples/data/police_covariates.csv`: a synthetic police register of buyers met
//! in 6 operations, one row per person seen, with the covariates a register holds (sex, age
//! group, a previous arrest) and a known effect of each on the chance of being stopped.
//!
//! Truth (logit of the capture probability on each operation):
//! baseline −2.2; male +0.4; age 30-49 −0.3, 50+ −0.7; previous arrest +1.2; a stop makes
//! a later stop no more or less likely. Population N = 1500. The truth goes to
//! `examples/data/police_covariates_truth.txt`.
//!
//! ```text
//! cargo run --release --example make_police_covariates
//! ```

use darkfigure::sim::covariates::{CovariateScenario, SimCovariate};
use std::fmt::Write as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cov = |name: &str, levels: &[&str], probs: &[f64], effects: &[f64]| SimCovariate {
        name: name.into(),
        levels: levels.iter().map(|s| s.to_string()).collect(),
        probs: probs.to_vec(),
        effects: effects.to_vec(),
    };
    let s = CovariateScenario {
        population: 1500,
        intercepts: vec![-2.2; 6],
        behaviour: 0.0,
        covariates: vec![
            cov("sex", &["f", "m"], &[0.35, 0.65], &[0.0, 0.4]),
            cov(
                "age",
                &["18-29", "30-49", "50+"],
                &[0.4, 0.4, 0.2],
                &[0.0, -0.3, -0.7],
            ),
            cov("prior", &["no", "yes"], &[0.75, 0.25], &[0.0, 1.2]),
        ],
    };
    let d = s.generate(&mut darkfigure::rng::stream(20261130, &[0]))?;
    let h = d.histories();
    let mut out = String::from("op1,op2,op3,op4,op5,op6,sex,age,prior\n");
    for i in 0..h.n_rows() {
        for j in 0..6 {
            write!(out, "{},", u8::from(h.caught(i, j)))?;
        }
        let labels: Vec<String> = d.covariates().iter().map(|c| c.values.label(i)).collect();
        writeln!(out, "{}", labels.join(","))?;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    std::fs::write(dir.join("police_covariates.csv"), out)?;
    std::fs::write(
        dir.join("police_covariates_truth.txt"),
        format!(
            "N = {}\nseen = {}\nlogit p = -2.2 + 0.4 male - 0.3 age30-49 - 0.7 age50+ + 1.2 prior\n",
            s.population,
            h.observed()
        ),
    )?;
    println!("wrote {} people seen of {}", h.observed(), s.population);
    Ok(())
}
