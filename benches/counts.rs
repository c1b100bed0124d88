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

/// Zero-truncated Poisson counts with `k` (3 or 4) covariates, seeded: x1 normal, x2 a
/// 0/1 dummy (40%), x3 uniform, x4 normal; log λ = −0.3 + 0.4 x1 + 0.5 x2 − 0.6 x3 + 0.2 x4.
fn draw(n: usize, seed: u64, k: usize) -> CountData {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let norm = Normal::new(0.0, 1.0).unwrap();
    let beta = [0.4, 0.5, -0.6, 0.2];
    let mut y = vec![];
    let mut xs: Vec<Vec<f64>> = vec![vec![]; k];
    while y.len() < n {
        let mut x = [0.0; 4];
        x[0] = norm.sample(&mut rng);
        x[1] = if rng.random::<f64>() < 0.4 { 1.0 } else { 0.0 };
        x[2] = rng.random::<f64>();
        if k == 4 {
            x[3] = norm.sample(&mut rng);
        }
        let eta: f64 = -0.3 + (0..k).map(|j| beta[j] * x[j]).sum::<f64>();
        let c = Poisson::new(eta.exp()).unwrap().sample(&mut rng) as u64;
        if c > 0 {
            y.push(c);
            for (j, col) in xs.iter_mut().enumerate() {
                col.push(x[j]);
            }
        }
    }
    let mut d = CountData::new(y).unwrap();
    for (j, col) in xs.into_iter().enumerate() {
        d = d
            .with_covariate(format!("x{}", j + 1), CovariateValues::Numeric(col))
            .unwrap();
    }
    d
}

fn synthetic(n: usize, seed: u64) -> CountData {
    draw(n, seed, 4)
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
    draw(n, seed, 3)
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
