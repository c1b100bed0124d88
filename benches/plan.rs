//! Benchmarks of the planning layer: a plan over 20 designs × 500 replicates.
//!
//! `cargo bench --bench plan -- --warm-up-time 1 --measurement-time 3`
//! (`-- closedp` for the 12-model plan only)

use criterion::{Criterion, criterion_group, criterion_main};
use darkfigure::plan::{self, CLOSEDP_LOGNORMAL, Effort, PlanSpec, Search, Visibility};
use std::hint::black_box;

/// 5 numbers of operations × 4 efforts = 20 designs at N = 1000, 500 replicates each,
/// the most visible 10% twice as likely to be met (grid search: every design simulated).
fn spec(estimator: &str) -> PlanSpec {
    let mut s = PlanSpec::new(
        vec![4, 5, 6, 7, 8],
        Effort::MetPerOperation(vec![40.0, 60.0, 80.0, 100.0]),
        vec![1000],
    );
    s.estimators = vec![estimator.into()];
    s.heterogeneity = Some(Visibility::top10(2.0));
    s.replicates = 500;
    s.search = Search::Grid;
    s
}

fn plans(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan/20_designs_x_500");
    g.sample_size(10);
    let s = spec(CLOSEDP_LOGNORMAL);
    g.bench_function("closedp_12_models", |b| {
        b.iter(|| black_box(plan::run_plan(&s, None).unwrap().designs.len()))
    });
    // the recommended headline (the estimators it rests on, then the rule) is about three
    // times slower than the 12 models without profile intervals
    let s = spec(plan::DEFAULT_PLAN_ESTIMATOR);
    g.bench_function("recommended", |b| {
        b.iter(|| black_box(plan::run_plan(&s, None).unwrap().designs.len()))
    });
    g.finish();
}

criterion_group!(benches, plans);
criterion_main!(benches);
