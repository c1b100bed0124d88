//! SS-PSE timings on fauxmadrona (n = 500) at sspse's default draws (warm-up 5,000,
//! 1,000 draws every 10th sweep): one chain, and 4 chains in parallel.

use criterion::{Criterion, criterion_group, criterion_main};
use darkfigure::kp::sspse::{RdsSample, SizePrior, Sspse};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let path = format!(
        "{}/tests/fixtures/sspse/fauxmadrona.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let s = RdsSample::from_csv_path(path).unwrap();
    let p = Sspse::params(SizePrior::Beta { median: 1000.0 }).seed(1);
    let mut g = c.benchmark_group("sspse_fauxmadrona");
    g.sample_size(10);
    let one = p.clone().chains(1);
    g.bench_function("no_visibility_1_chain", |b| {
        b.iter(|| black_box(one.fit(black_box(&s)).unwrap().n.median))
    });
    let four = p.clone().chains(4);
    g.bench_function("no_visibility_4_chains_parallel", |b| {
        b.iter(|| black_box(four.fit(black_box(&s)).unwrap().n.median))
    });
    let vis = p.clone().chains(1).visibility(true);
    g.bench_function("visibility_1_chain", |b| {
        b.iter(|| black_box(vis.fit(black_box(&s)).unwrap().n.median))
    });
    let vis4 = p.clone().chains(4).visibility(true);
    g.bench_function("visibility_4_chains_parallel", |b| {
        b.iter(|| black_box(vis4.fit(black_box(&s)).unwrap().n.median))
    });
    let r1 = RdsSample::from_csv_path(format!(
        "{}/tests/fixtures/sspse/fauxmadrona2_rds1.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let r2 = RdsSample::from_csv_path(format!(
        "{}/tests/fixtures/sspse/fauxmadrona2_rds2.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let crc = Sspse::params(SizePrior::Beta { median: 1250.0 }).chains(1);
    g.bench_function("recapture_1_chain", |b| {
        b.iter(|| black_box(crc.fit_recapture(&r1, &r2).unwrap().n.median))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
