//! Open-population benchmarks: openp on bunting, the robust design on rbvole
//! (6 periods x 3 occasions; Rcapture's robustd.t takes 21-61 s per model there).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use darkfigure::data::CaptureHistories;
use darkfigure::data::csv_io::{ReadOptions, read_histories_str};
use darkfigure::open::*;
use std::hint::black_box;

fn load(name: &str, text: &str) -> CaptureHistories {
    read_histories_str(text, name, &ReadOptions::default()).unwrap()
}

fn bench_openp(c: &mut Criterion) {
    let h = load(
        "bunting.csv",
        include_str!("../tests/fixtures/open/bunting.csv"),
    );
    let mut g = c.benchmark_group("openp_bunting");
    for m in [OpenModel::Up, OpenModel::Ep] {
        g.bench_with_input(BenchmarkId::from_parameter(m.label()), &m, |b, &m| {
            b.iter(|| openp(black_box(&h), &OpenParams::params().model(m)).unwrap())
        });
    }
    // The `estimate --open` model set: both models (issue 15: R 11.9 ms, target < 0.12 ms).
    // Each model is three fits along R's glm path (the model, the homogeneous and the
    // period trap-effect tests; 33 Newton steps and 5 starting steps for the pair): the
    // standard errors are R's covariance at the last step's weights, so every fit runs
    // R's whole path from μ = y + 0.1 (a warm start moves them by ~1e-5). `open::jscells`
    // forms XᵀWX from superset sums over the capture bits and the means from a
    // subset-product transform (no exponential per cell); the Newton steps are solved by
    // the engine's flat Cholesky. ~0.48 ms on an idle machine with sparse cells, ~0.22 ms
    // measured on a loaded one after (0.47-0.72 ms before, same load). In-place Newton
    // steps (no allocation per step), trailing-diagonal covariance for the test fits and
    // demography's products formed once: 0.225 -> 0.169 ms (load ~1); what is left:
    // Cholesky ~14% and its solves ~9% (n = 16-27), means ~11%, transforms ~18%,
    // allocation ~10% (demography's heap duals, the per-fit plans). Then, every figure
    // bit-identical: the Cholesky two columns per pass in register blocks, the forward
    // substitution in row blocks, demography's duals formed in place (~65 gradient
    // vectors per call instead of ~200), no 3 KB factor table cleared per mean, plans
    // built without reallocation: 2.98M -> 2.58M instructions per model set
    // (callgrind; up 1.98M -> 1.70M, ep 1.01M -> 0.88M; wall time not yet re-measured
    // on a quiet machine).
    // `openp_models` runs the first model (up, the longer) on the calling thread and the
    // other on rayon's pool: the figure on 2 cores, and the same work on one thread.
    // Measured on a slower, noisy 2-core machine (min of 100 blocks, old and new code
    // alternated): the set 237 -> 150 us; criterion there 0.179 ms (2 cores) and 0.29 ms
    // (one thread). Running up's two trap-effect test fits side by side as well (a join
    // or a spawn) was slower: waking a pool thread costs more than the smaller fit.
    // Then the set shares one build of the cells (both models' columns) and is split in
    // pieces claimed by whichever thread is free (callgrind, thousand instructions per
    // set: cells 187; up main fit with the neg refits 411, homogeneous test 400, period
    // test 462, demography 197; ep main 277, test 288, demography 109): the caller runs
    // the cells, up's main fit, demography and one test (~1.26M), the pool thread ep
    // and up's other test (~1.07M). XᵀWX entries are set from their runs of terms
    // instead of zeroing the matrix each step, and a fit keeps its covariance on the
    // active columns: 2.61M -> 2.31M instructions per set on one thread (up 1.70M ->
    // 1.58M, ep 0.88M -> 0.81M alone), every figure bit-identical. Wall
    // time on 2 cores not measured: during that session the machine ran at load 3-4
    // (old and new code alike ~225-245 us for the set on 2 cores, no faster than on
    // one); the longer thread's ~1.26M instructions at the ~11.5K per us measured for up
    // alone would be ~110 us plus the wake-up of the pool thread (an estimate).
    // Measured afterwards with the machine otherwise idle (min of 100 blocks of 50 sets,
    // old and new alternated 8 times): one thread 260 -> 236 us; 2 cores 159-173 us old,
    // 166-177 us new (no measurable gain from the split); criterion in the same hour
    // 0.217 ms (2 cores), 0.405 ms (one thread), with the VM ~1.5x slower than earlier.
    // Then two changes, every figure bit-identical (min of 100 blocks of 50 sets, the
    // three builds interleaved 4 times, machine otherwise idle): (1) the pool thread is
    // spawned before the cells are built and waits for them, so its wake-up overlaps the
    // build: 128-139 -> 121-131 us; (2) the plans of the column products and of each
    // active-column set depend only on I and the columns, not on the counts: they are
    // built once per process and design (`jscells::Design`, a bounded cache, as an FFT
    // library keeps its plans), so a bootstrap or a simulation pays for them once:
    // 106-112 us on 2 cores, 186-192 us on one thread. Criterion the same hour: 0.107 ms
    // (2 cores; the first call on a new design costs what (1) alone measures, ~0.125 ms)
    // and 0.193 ms (one thread).
    let both = [OpenModel::Up, OpenModel::Ep];
    g.bench_function("up_and_ep", |b| {
        b.iter(|| openp_models(black_box(&h), &both, &OpenParams::params()).unwrap())
    });
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("up_and_ep_1thread", |b| {
        b.iter(|| {
            one.install(|| openp_models(black_box(&h), &both, &OpenParams::params()).unwrap())
        })
    });
    g.finish();
}

fn models() -> Vec<(&'static str, ClosedModel)> {
    vec![
        ("M0", ClosedModel::M0),
        ("Mt", ClosedModel::Mt),
        ("Mh_Chao", ClosedModel::Mh(Heterogeneity::Chao)),
        ("Mh_Poisson2", ClosedModel::Mh(Heterogeneity::Poisson(2.0))),
        ("Mh_Darroch", ClosedModel::Mh(Heterogeneity::Darroch)),
        ("Mh_Gamma3.5", ClosedModel::Mh(Heterogeneity::Gamma(3.5))),
        ("Mth_Chao", ClosedModel::Mth(Heterogeneity::Chao)),
        (
            "Mth_Poisson2",
            ClosedModel::Mth(Heterogeneity::Poisson(2.0)),
        ),
    ]
}

fn bench_robust(c: &mut Criterion) {
    let h = load(
        "rbvole.csv",
        include_str!("../tests/fixtures/open/rbvole.csv"),
    );
    let mut g = c.benchmark_group("robustd_t_rbvole");
    for (name, m) in models() {
        g.bench_with_input(BenchmarkId::from_parameter(name), &m, |b, &m| {
            b.iter(|| robustd_t(black_box(&h), &[3; 6], &RobustParams::params().model(m)).unwrap())
        });
    }
    g.bench_function("all_models", |b| {
        b.iter(|| {
            for (_, m) in models() {
                black_box(robustd_t(&h, &[3; 6], &RobustParams::params().model(m)).unwrap());
            }
        })
    });
    g.finish();
    let mut g = c.benchmark_group("robustd_0_rbvole");
    for (name, m) in models()
        .into_iter()
        .filter(|(_, m)| !matches!(m, ClosedModel::Mt | ClosedModel::Mth(_)))
    {
        g.bench_with_input(BenchmarkId::from_parameter(name), &m, |b, &m| {
            b.iter(|| robustd_0(black_box(&h), &[3; 6], &RobustParams::params().model(m)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_openp, bench_robust);
criterion_main!(benches);
