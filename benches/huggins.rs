//! Benchmark of the Huggins conditional-likelihood fit.
//!
//! - `mtb_3cov_1e5`: Huggins Mtb with 3 categorical covariates (sex, age group with 3
//!   levels, previous arrest; 4 design columns) on ≈ 10⁵ simulated individuals seen over
//!   t = 10 occasions (seeded), fit plus N̂, SE and interval. Target: under 1 s on 2 cores.
//!   Units are grouped by identical (history, covariate row) before the Newton iterations.
//! - `logit_normal_all_police_buyers`: Mh, Mth, Mbh and Mtbh Normal
//!   (`huggins::closedp_logit_normal_all`) on the embedded police register's buyers (257
//!   seen, 5 occasions), the four fits the headline adds on occasions. No target; the
//!   README quotes the figure.

use criterion::{Criterion, criterion_group, criterion_main};
use darkfigure::huggins::Huggins;
use darkfigure::sim::covariates::{CovariateScenario, SimCovariate};
use std::hint::black_box;

fn scenario() -> CovariateScenario {
    let cov = |name: &str, levels: &[&str], probs: &[f64], effects: &[f64]| SimCovariate {
        name: name.into(),
        levels: levels.iter().map(|s| s.to_string()).collect(),
        probs: probs.to_vec(),
        effects: effects.to_vec(),
    };
    CovariateScenario {
        population: 125_000,
        intercepts: (0..10).map(|j| -2.0 + 0.05 * j as f64).collect(),
        behaviour: 0.4,
        covariates: vec![
            cov("sex", &["f", "m"], &[0.4, 0.6], &[0.0, 0.3]),
            cov(
                "age",
                &["18-29", "30-49", "50+"],
                &[0.3, 0.5, 0.2],
                &[0.0, -0.2, -0.5],
            ),
            cov("arrest", &["no", "yes"], &[0.8, 0.2], &[0.0, 0.9]),
        ],
    }
}

fn bench(c: &mut Criterion) {
    let s = scenario();
    let d = s
        .generate(&mut darkfigure::rng::stream(2026, &[0]))
        .unwrap();
    eprintln!(
        "mtb_3cov_1e5: {} individuals seen",
        d.histories().observed()
    );
    let model = Huggins::mtb().covariates(&["sex", "age", "arrest"]);
    let mut g = c.benchmark_group("huggins");
    g.sample_size(10);
    g.bench_function("mtb_3cov_1e5", |b| {
        b.iter(|| black_box(model.fit(black_box(&d)).unwrap().estimate.n_hat))
    });
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/police_operations.csv"
    ))
    .unwrap();
    let opts = darkfigure::data::csv_io::ReadOptions::default();
    let buyers = match darkfigure::data::csv_io::read_str(&text, "police", &opts).unwrap() {
        darkfigure::data::csv_io::DataSet::Histories { data, .. } => data.stratum("buyer").unwrap(),
        _ => unreachable!(),
    };
    g.bench_function("logit_normal_all_police_buyers", |b| {
        b.iter(|| {
            black_box(
                darkfigure::huggins::closedp_logit_normal_all(black_box(&buyers), 0.95).unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
