//! Benchmarks of `darkfigure::sparse` (SparseMSE): the stepwise fit and the BCa bootstrap
//! on UKdat (6 lists, n = 2744). Target: 1,000 bootstrap replicates under 5 s on 2 cores
//! (SparseMSE 2.0.1: about 6 minutes of CPU).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use darkfigure::data::ListTable;
use darkfigure::data::csv_io::{DataSet, ReadOptions, read_str};
use darkfigure::sparse::{BootstrapParams, StepwiseParams, bootstrap, stepwise};
use std::hint::black_box;

fn table(name: &str) -> ListTable {
    let p = format!(
        "{}/tests/fixtures/sparse/{name}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(p).unwrap();
    match read_str(&text, name, &ReadOptions::default()).unwrap() {
        DataSet::Histories { data, .. } => ListTable::from_histories(&data).unwrap(),
        _ => unreachable!(),
    }
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sparse_stepwise");
    for name in ["UKdat", "Ned", "NewOrl"] {
        let t = table(name);
        g.bench_with_input(BenchmarkId::from_parameter(name), &t, |b, t| {
            b.iter(|| stepwise(black_box(t), &StepwiseParams::default()).unwrap())
        });
    }
    g.finish();
    let mut g = c.benchmark_group("sparse_bootstrap");
    g.sample_size(10);
    let t = table("UKdat");
    for reps in [200usize, 1000] {
        g.bench_with_input(BenchmarkId::new("UKdat", reps), &reps, |b, &reps| {
            let p = BootstrapParams {
                replicates: reps,
                seed: 1234,
                ..Default::default()
            };
            b.iter(|| bootstrap(black_box(&t), &p).unwrap())
        });
    }
    g.finish();
}

criterion_group!(sparse, benches);
criterion_main!(sparse);
