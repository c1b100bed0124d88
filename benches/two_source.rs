//! Benchmarks of the foundation: CSV reading, summaries and the classic estimators.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use darkfigure::data::CaptureHistories;
use darkfigure::data::csv_io::{ReadOptions, read_str};
use darkfigure::two_source::{self, TwoSample};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;

fn random_histories(n: usize, t: usize, p: f64, seed: u64) -> CaptureHistories {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut h = Vec::with_capacity(n);
    while h.len() < n {
        let mut code = 0u64;
        for j in 0..t {
            if rng.random::<f64>() < p {
                code |= 1 << j;
            }
        }
        if code != 0 {
            h.push(code);
        }
    }
    CaptureHistories::new(t, h, vec![1; n]).unwrap()
}

fn bench(c: &mut Criterion) {
    let s = TwoSample::new(1381, 1469, 521).unwrap();
    c.bench_function("chapman_with_three_intervals", |b| {
        b.iter(|| two_source::chapman(black_box(&s), 0.95).unwrap())
    });
    let police = include_str!("../examples/data/police_operations.csv");
    c.bench_function("read_police_long_csv", |b| {
        b.iter(|| read_str(black_box(police), "police.csv", &ReadOptions::default()).unwrap())
    });
    let mut g = c.benchmark_group("summary_and_schnabel");
    for &(n, t) in &[(10_000usize, 5usize), (1_000_000, 10)] {
        let h = random_histories(n, t, 0.2, 42);
        g.bench_with_input(
            BenchmarkId::new("summary", format!("N{n}_t{t}")),
            &h,
            |b, h| b.iter(|| h.summary()),
        );
        g.bench_with_input(
            BenchmarkId::new("schnabel", format!("N{n}_t{t}")),
            &h,
            |b, h| b.iter(|| two_source::schnabel(h, 0.95).unwrap()),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
