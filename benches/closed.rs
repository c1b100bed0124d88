//! Benchmarks of the closed-population models (Rcapture timings in
//! `shared/anchors/rcapture-timings.md`). Data are simulated as in Rcapture's timing
//! script: logit p_ij = a_j + e_i, e_i ~ N(0, 1), a_j = logit(0.15) + 0.3 sin(j).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use darkfigure::closed::{self, ClosedModel, ClosedSettings, Heterogeneity};
use darkfigure::data::CaptureHistories;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;

fn simulate(n: usize, t: usize, seed: u64) -> CaptureHistories {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let norm = Normal::new(0.0, 1.0).unwrap();
    let base = (0.15f64 / 0.85).ln();
    let mut counts = std::collections::BTreeMap::<u64, u64>::new();
    for _ in 0..n {
        let e: f64 = norm.sample(&mut rng);
        let mut code = 0u64;
        for j in 0..t {
            let a = base + 0.3 * ((j + 1) as f64).sin();
            let p = 1.0 / (1.0 + (-(a + e)).exp());
            if rng.random::<f64>() < p {
                code |= 1 << j;
            }
        }
        if code != 0 {
            *counts.entry(code).or_default() += 1;
        }
    }
    let (h, f): (Vec<u64>, Vec<u64>) = counts.into_iter().unzip();
    CaptureHistories::new(t, h, f).unwrap()
}

fn no_profile() -> ClosedSettings {
    ClosedSettings {
        profile: false,
        ..Default::default()
    }
}

fn bench_closedp(c: &mut Criterion) {
    let mut g = c.benchmark_group("closedp_t_12_models");
    for &(t, n) in &[
        (5usize, 10_000usize),
        (6, 10_000),
        (10, 10_000),
        (15, 10_000),
    ] {
        let h = simulate(n, t, 42 + t as u64);
        let s = no_profile();
        g.bench_with_input(BenchmarkId::new(format!("t{t}"), n), &h, |b, h| {
            b.iter(|| black_box(closed::closedp_t_with(h, &s).unwrap()))
        });
    }
    g.finish();
}

fn bench_profile(c: &mut Criterion) {
    let mut g = c.benchmark_group("profile_interval");
    for &t in &[5usize, 10] {
        let h = simulate(10_000, t, 7 + t as u64);
        let s = ClosedSettings::default();
        for (name, m) in [
            ("Mt", ClosedModel::Mt),
            ("MhChao", ClosedModel::Mh(Heterogeneity::Chao)),
        ] {
            g.bench_with_input(BenchmarkId::new(name, t), &h, |b, h| {
                b.iter(|| black_box(closed::fit_standard(h, m, &s).unwrap()))
            });
        }
    }
    g.finish();
}

fn bench_zero(c: &mut Criterion) {
    let ill = [1645u64, 183, 37, 13, 1, 1];
    c.bench_function("closedp_0_ill_with_profiles", |b| {
        b.iter(|| black_box(closed::closedp_0(&ill, None, None, 0.95).unwrap()))
    });
}

fn bench_large(c: &mut Criterion) {
    let mut g = c.benchmark_group("closedp_t_12_models_large");
    g.sample_size(10);
    let h = simulate(100_000, 20, 20);
    let s = no_profile();
    g.bench_with_input(BenchmarkId::new("t20", 100_000), &h, |b, h| {
        b.iter(|| black_box(closed::closedp_t_with(h, &s).unwrap()))
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_closedp,
    bench_profile,
    bench_zero,
    bench_large
);
criterion_main!(benches);
