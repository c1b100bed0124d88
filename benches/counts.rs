//! Benchmarks of the single-source count models.
//!
//! - `ztp_1m_4cov`: zero-truncated Poisson with 4 covariates on 1,000,000 observed units
//!   (seeded synthetic data), fit plus analytic variance of N̂. Target: under 1 s.
//! - `bootstrap_nonparametric`: 1,000 non-parametric bootstrap replicates of
//!   ztpoisson ~ gender + age + nation on netherlandsimmigrant. Target: under 2 s on 2 cores.

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

criterion_group!(benches, bench);
criterion_main!(benches);
