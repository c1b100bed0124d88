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

/// A seeded single-source counts file of `n` rows: `count` (zero-truncated Poisson),
/// `x1` ~ N(0, 1) printed with 15 digits (every row distinct), `sex` (f/m), `region`
/// (5 levels).
pub fn counts_csv(n: usize, seed: u64) -> String {
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, Normal, Poisson};
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
    let norm = Normal::new(0.0, 1.0).unwrap();
    let mut s = String::with_capacity(n * 32);
    s.push_str("count,x1,sex,region\n");
    let mut rows = 0;
    while rows < n {
        let x1: f64 = norm.sample(&mut rng);
        let male = rng.random::<f64>() < 0.6;
        let region = rng.random_range(0..5u32);
        let lam = (-0.5 + 0.3 * x1 + if male { 0.4 } else { 0.0 } + 0.1 * region as f64).exp();
        let k = Poisson::new(lam).unwrap().sample(&mut rng) as u64;
        if k > 0 {
            let sex = if male { "m" } else { "f" };
            s.push_str(&format!("{k},{x1:.15},{sex},r{region}\n"));
            rows += 1;
        }
    }
    s
}

/// The default `estimate` report (analysis + text rendering, as the binary runs it) on a
/// 10⁶-row counts file. Issue 15: 55 s and 787 MB before; target < 10 s.
///
/// One report run (read + analyse + render, `/usr/bin/time -v`, on a machine shared by
/// ~10 builds, so CPU time is the steadier figure): before the shared designs, closed-form
/// kernels and boundary starts 50.0 s CPU, peak RSS 1.39 GB; after, 13.1 s CPU (CSV read
/// 1.2-1.5 s, `counts::fit_all` 10.4 s, marginal frequencies 1.4 s), peak RSS 427 MB (the
/// CSV reader's per-cell `String`s are most of it).
fn bench_counts_1e6(c: &mut Criterion) {
    let text = counts_csv(1_000_000, 15);
    let mut g = c.benchmark_group("counts_report");
    g.sample_size(10);
    g.bench_function("default_report_1e6_rows", |b| {
        b.iter(|| {
            let data =
                csv_io::read_str(black_box(&text), "counts.csv", &Default::default()).unwrap();
            let opts = AnalysisOptions {
                source: "counts.csv".into(),
                ..Default::default()
            };
            let r = report::analyse(&data, &opts).unwrap();
            black_box(r.render_with(report::Format::Text, false))
        })
    });
    g.finish();
}

criterion_group!(benches, bench, bench_counts_1e6);
criterion_main!(benches);
