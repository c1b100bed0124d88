//! The policy report of the embedded police example: the analysis with its headlines
//! (every stratum and the total), then the HTML report with all its figures (forest, f_k
//! diagnostic and profile likelihood per stratum). Target: under 200 ms from a warm start.

use criterion::{Criterion, criterion_group, criterion_main};
use darkfigure::data::csv_io;
use darkfigure::report::{self, AnalysisOptions, ReportContext};
use std::hint::black_box;

const POLICE: &str = include_str!("../examples/data/police_operations.csv");
const TRUTH: &str = include_str!("../examples/data/police_operations_truth.csv");

fn bench(c: &mut Criterion) {
    let data = csv_io::read_str(POLICE, "police_operations.csv", &Default::default()).unwrap();
    let opts = AnalysisOptions {
        source: "examples/data/police_operations.csv".into(),
        truth: report::truth_from_csv(TRUTH, "truth.csv", true).unwrap(),
        ..Default::default()
    };
    let r = report::analyse(&data, &opts).unwrap();
    let ctx = ReportContext::new(Some(&data), "police_operations.csv", POLICE.as_bytes());
    assert!(r.headline.len() >= 3, "strata and total");
    assert!(r.to_html(&ctx).matches("<svg").count() >= 6);

    let mut g = c.benchmark_group("police_report");
    g.sample_size(20);
    g.bench_function("html_only", |b| b.iter(|| black_box(r.to_html(&ctx))));
    g.bench_function("analyse_and_html", |b| {
        b.iter(|| {
            let r = report::analyse(black_box(&data), &opts).unwrap();
            black_box(r.to_html(&ctx))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
