//! Benchmarks of the single-source count models.
//!
//! - `ztp_1m_4cov`: zero-truncated Poisson with 4 covariates on 1,000,000 observed units
//!   (seeded synthetic data), fit plus analytic variance of N̂. Target: under 1 s.
//! - `bootstrap_nonparametric`: 1,000 non-parametric bootstrap replicates of
//!   ztpoisson ~ gender + age + nation on netherlandsimmigrant. Target: under 2 s on 2 cores.
//! - Issue 15 (each beside its R anchor, 100x faster is the target):
//!   `ztp_3cov_100k`: ztpoisson ~ x1 + x2 + x3 on 100,000 units drawn as the R timing
//!   file `ztpois_100k_3cov_seed2024.csv` was (x1 ~ N(0,1), x2 ~ Bernoulli(0.4),
//!   x3 ~ U(0,1), y ~ Poisson(exp(−0.3 + 0.4x1 + 0.5x2 − 0.6x3)), y > 0; seeded here; set
//!   `DARKFIGURE_SYNTHETIC_100K` to that file to time the very same rows). R: 0.745 s; target
//!   < 7 ms.
//!   `ztnegbin_farmsubmission`: ztnegbin ~ log_size + log_distance + C_TYPE on
//!   farmsubmission (12,036 units). R `optim`: 2.06 s; target < 20 ms.
//!   `bootstrap_{parametric,nonparametric}/500`: ztpoisson ~ gender + age + nation on
//!   netherlandsimmigrant, 500 replicates. R: 13.7 s / 4 s; target < 40 ms.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use darkfigure::counts::{BootType, Bootstrap, CountModel, Family, bootstrap};
use darkfigure::data::csv_io::{ReadOptions, read_counts_str};
use darkfigure::data::{CountData, CovariateValues};
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal, Poisson};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;

fn synthetic(n: usize, seed: u64) -> CountData {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let norm = Normal::new(0.0, 1.0).unwrap();
    let (mut y, mut x1, mut x2, mut x3, mut x4) = (vec![], vec![], vec![], vec![], vec![]);
    while y.len() < n {
        let a: f64 = norm.sample(&mut rng);
        let b = if rng.random::<f64>() < 0.4 { 1.0 } else { 0.0 };
        let c: f64 = rng.random::<f64>();
        let d: f64 = norm.sample(&mut rng);
        let lam = (-0.3 + 0.4 * a + 0.5 * b - 0.6 * c + 0.2 * d).exp();
        let k = Poisson::new(lam).unwrap().sample(&mut rng) as u64;
        if k > 0 {
            y.push(k);
            x1.push(a);
            x2.push(b);
            x3.push(c);
            x4.push(d);
        }
    }
    CountData::new(y)
        .unwrap()
        .with_covariate("x1", CovariateValues::Numeric(x1))
        .unwrap()
        .with_covariate("x2", CovariateValues::Numeric(x2))
        .unwrap()
        .with_covariate("x3", CovariateValues::Numeric(x3))
        .unwrap()
        .with_covariate("x4", CovariateValues::Numeric(x4))
        .unwrap()
}

/// The R timing file's design (3 covariates), seeded.
fn synthetic3(n: usize, seed: u64) -> CountData {
    if let Ok(path) = std::env::var("DARKFIGURE_SYNTHETIC_100K") {
        let text = std::fs::read_to_string(&path).unwrap();
        let opts = ReadOptions {
            count_column: Some("y".into()),
            ..Default::default()
        };
        return read_counts_str(&text, "synthetic", &opts).unwrap();
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let norm = Normal::new(0.0, 1.0).unwrap();
    let (mut y, mut x1, mut x2, mut x3) = (vec![], vec![], vec![], vec![]);
    while y.len() < n {
        let a: f64 = norm.sample(&mut rng);
        let b = if rng.random::<f64>() < 0.4 { 1.0 } else { 0.0 };
        let c: f64 = rng.random::<f64>();
        let lam = (-0.3 + 0.4 * a + 0.5 * b - 0.6 * c).exp();
        let k = Poisson::new(lam).unwrap().sample(&mut rng) as u64;
        if k > 0 {
            y.push(k);
            x1.push(a);
            x2.push(b);
            x3.push(c);
        }
    }
    CountData::new(y)
        .unwrap()
        .with_covariate("x1", CovariateValues::Numeric(x1))
        .unwrap()
        .with_covariate("x2", CovariateValues::Numeric(x2))
        .unwrap()
        .with_covariate("x3", CovariateValues::Numeric(x3))
        .unwrap()
}

fn fixture(name: &str, col: &str) -> CountData {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/counts/{name}.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let opts = ReadOptions {
        count_column: Some(col.into()),
        ..Default::default()
    };
    read_counts_str(&text, name, &opts).unwrap()
}

/// The issue-15 workloads, each beside its R anchor.
fn bench_issue15(c: &mut Criterion) {
    let mut g = c.benchmark_group("issue15");
    g.sample_size(20);
    let d = synthetic3(100_000, 2024);
    g.bench_function("ztp_3cov_100k", |b| {
        b.iter(|| {
            let f = CountModel::params(Family::ZtPoisson)
                .covariates(&["x1", "x2", "x3"])
                .fit(black_box(&d))
                .unwrap();
            black_box(f.estimate.se)
        })
    });
    let farm = fixture("farmsubmission", "TOTAL_SUB");
    g.bench_function("ztnegbin_farmsubmission", |b| {
        b.iter(|| {
            let f = CountModel::params(Family::ZtNegBin)
                .covariates(&["log_size", "log_distance", "C_TYPE"])
                .fit(black_box(&farm))
                .unwrap();
            black_box(f.estimate.se)
        })
    });
    let ni = fixture("netherlandsimmigrant", "capture");
    let fit = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(&ni)
        .unwrap();
    for (name, kind) in [
        ("bootstrap_parametric", BootType::Parametric),
        ("bootstrap_nonparametric", BootType::NonParametric),
    ] {
        g.bench_with_input(BenchmarkId::new(name, 500), &kind, |b, &kind| {
            b.iter(|| {
                black_box(
                    bootstrap(&fit, &Bootstrap::new(kind, 500, 1))
                        .unwrap()
                        .replicates
                        .len(),
                )
            })
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("counts");
    g.sample_size(10);
    for n in [100_000usize, 1_000_000] {
        let d = synthetic(n, 2024);
        g.bench_with_input(
            BenchmarkId::new("ztp_4cov_fit_and_variance", n),
            &d,
            |b, d| {
                b.iter(|| {
                    let f = CountModel::params(Family::ZtPoisson)
                        .covariates(&["x1", "x2", "x3", "x4"])
                        .fit(black_box(d))
                        .unwrap();
                    black_box(f.estimate.se)
                })
            },
        );
    }
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/counts/netherlandsimmigrant.csv"
    ))
    .unwrap();
    let opts = ReadOptions {
        count_column: Some("capture".into()),
        ..Default::default()
    };
    let d = read_counts_str(&text, "netherlandsimmigrant", &opts).unwrap();
    let fit = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(&d)
        .unwrap();
    for reps in [200usize, 1000] {
        g.bench_with_input(
            BenchmarkId::new("bootstrap_nonparametric", reps),
            &reps,
            |b, &reps| {
                b.iter(|| {
                    black_box(
                        bootstrap(&fit, &Bootstrap::new(BootType::NonParametric, reps, 1))
                            .unwrap()
                            .estimate
                            .se,
                    )
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_issue15, bench);
criterion_main!(benches);
