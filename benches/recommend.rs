//! The headline ("answer first"): the full analysis behind one figure to cite.
//!
//! Targets (issue "Answer first"): a t = 5 data set (12 models + intervals + selection)
//! under 2 ms. `headline_only` runs just the estimators the headline rests on (the
//! `closedp.t` models with profile intervals and Mtb, then the rule); `full` is what the
//! `estimate` command runs (adds the classic and bias-corrected tables).

use criterion::{Criterion, criterion_group, criterion_main};
use darkfigure::data::DataSet;
use darkfigure::data::csv_io::{self, ReadOptions};
use darkfigure::report::{self, AnalysisOptions};
use std::hint::black_box;

fn data(path: &str) -> DataSet {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    csv_io::read_path(p, &ReadOptions::default()).expect("data reads")
}

fn bench_headline(c: &mut Criterion) {
    let police = data("examples/data/police_operations.csv");
    let buyers = match &police {
        DataSet::Histories {
            data,
            layout,
            occasion_order,
            notes,
            file_rows,
        } => DataSet::Histories {
            data: data.stratum("buyer").expect("buyer stratum"),
            layout: *layout,
            occasion_order: *occasion_order,
            notes: notes.clone(),
            file_rows: *file_rows,
        },
        DataSet::Counts { .. } => unreachable!("histories"),
    };
    let lean = AnalysisOptions {
        headline_only: true,
        ..Default::default()
    };
    let mut g = c.benchmark_group("recommend");
    g.bench_function("t5_buyers_headline_only", |b| {
        b.iter(|| report::analyse(black_box(&buyers), &lean).unwrap())
    });
    g.bench_function("t5_police_strata_headline_only", |b| {
        b.iter(|| report::analyse(black_box(&police), &lean).unwrap())
    });
    g.bench_function("t5_police_strata_full", |b| {
        b.iter(|| report::analyse(black_box(&police), &AnalysisOptions::default()).unwrap())
    });
    let kosovo = match data("tests/fixtures/recommend/kosovo.csv") {
        DataSet::Histories {
            data,
            layout,
            occasion_order,
            notes,
            file_rows,
        } => DataSet::Histories {
            data: data.with_lists(true),
            layout,
            occasion_order,
            notes,
            file_rows,
        },
        other => other,
    };
    g.bench_function("kosovo_lists_headline_only", |b| {
        b.iter(|| report::analyse(black_box(&kosovo), &lean).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_headline);
criterion_main!(benches);
