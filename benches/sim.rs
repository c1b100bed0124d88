//! Benchmarks of the simulation module: generation (aggregated and unit by unit), the
//! estimators available to the runner, and whole studies.
//!
//! `cargo bench --bench sim -- --warm-up-time 1 --measurement-time 3`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use darkfigure::sim::{
    self, CellSampler, Heterogeneity, RunOptions, SimData, Study, UnitSampler, builtin_estimators,
    stream,
};
use std::hint::black_box;

/// Occasion probabilities of the Rcapture timing simulation (rcapture-timings.md):
/// logit p_j = logit(0.15) + 0.3 sin(j).
fn rcapture_p(t: usize) -> Vec<f64> {
    let a = (0.15f64 / 0.85).ln();
    (1..=t)
        .map(|j| 1.0 / (1.0 + (-(a + 0.3 * (j as f64).sin())).exp()))
        .collect()
}

fn generation(c: &mut Criterion) {
    let het = Heterogeneity::LogitNormal { sd: 1.0 };
    let mut g = c.benchmark_group("sim/prepare_cells");
    for t in [5usize, 10, 15, 20] {
        g.bench_with_input(BenchmarkId::new("logit_normal", t), &t, |b, &t| {
            b.iter(|| CellSampler::new(black_box(&rcapture_p(t)), &het, None, &[]).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sim/generate_aggregated");
    for t in [5usize, 10, 15] {
        let cs = CellSampler::new(&rcapture_p(t), &het, None, &[]).unwrap();
        for n in [10_000u64, 1_000_000, 10_000_000] {
            g.bench_with_input(BenchmarkId::new(format!("t{t}"), n), &n, |b, &n| {
                let mut rng = stream(1, 0, 0);
                let mut out = vec![0u64; 1 << t];
                b.iter(|| {
                    out.iter_mut().for_each(|x| *x = 0);
                    cs.sample_dense(&mut rng, n, &mut out);
                    black_box(out[1])
                })
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("sim/generate_unit");
    for (label, het) in [
        ("homogeneous", Heterogeneity::None),
        ("logit_normal", het.clone()),
    ] {
        for t in [5usize, 10, 20] {
            let us = UnitSampler::new(&rcapture_p(t), &het, None).unwrap();
            for n in [10_000u64, 1_000_000] {
                g.throughput(Throughput::Elements(n * t as u64));
                g.bench_with_input(BenchmarkId::new(format!("{label}/t{t}"), n), &n, |b, &n| {
                    let mut rng = stream(2, 0, 0);
                    b.iter(|| {
                        let mut acc = 0u64;
                        us.for_each_unit(&mut rng, n, |c| acc = acc.wrapping_add(c));
                        black_box(acc)
                    })
                });
            }
        }
    }
    g.finish();
}

fn closed_study(n: u64, t: usize, replicates: u64, estimators: &[&str]) -> Study {
    closed_study_gen(n, t, replicates, estimators, "auto")
}

/// An Mth study (Rcapture timing shape, logit-normal sd 1) with generation `generation`
/// (`auto`: aggregated multinomial over the 2^t cells; `unit`: unit by unit).
fn closed_study_gen(
    n: u64,
    t: usize,
    replicates: u64,
    estimators: &[&str],
    generation: &str,
) -> Study {
    let p: Vec<String> = rcapture_p(t).iter().map(|x| x.to_string()).collect();
    Study::from_json(&format!(
        r#"{{"name": "bench", "replicates": {replicates}, "seed": 3,
            "estimators": [{}],
            "scenarios": [{{"name": "Mth", "model": {{"kind": "closed", "occasions": {t},
            "generation": "{generation}",
            "strata": [{{"n": {n}, "p": [{}], "heterogeneity": {{"kind": "logit_normal", "sd": 1.0}}}}]}}}}]}}"#,
        estimators.iter().map(|e| format!("\"{e}\"")).collect::<Vec<_>>().join(", "),
        p.join(", ")
    ))
    .unwrap()
}

fn estimators(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim/estimators");
    for (t, names) in [
        (
            2usize,
            vec!["lincoln-petersen", "chapman", "bailey", "chao-lb"],
        ),
        (
            5,
            vec![
                "schnabel",
                "schumacher-eschmeyer",
                "chao-lb",
                "zelterman",
                "mtb",
                "closedp",
                "closedp-profile",
            ],
        ),
    ] {
        let s = closed_study(10_000, t, 1, &[]);
        let gen_ = sim::Generator::new(&s.scenarios[0]).unwrap();
        let data: SimData = gen_
            .generate(&mut stream(4, 0, 0))
            .targets
            .remove(0)
            .data
            .unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        for (name, e) in names.iter().zip(builtin_estimators(&names, 0.95).unwrap()) {
            g.bench_function(BenchmarkId::new(name, format!("N10000_t{t}")), |b| {
                b.iter(|| black_box(e.estimate(black_box(&data))))
            });
        }
    }
    g.finish();
}

fn studies(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim/study");
    g.sample_size(10);
    // issue target (a): 1,000 replicates at N = 10,000, t = 5, each with all 12 closedp
    // models and profile intervals for M0, Mt and Mh Chao (LB)
    let s = closed_study(10_000, 5, 1000, &["closedp"]);
    let est = builtin_estimators(&s.estimators, s.level).unwrap();
    g.bench_function(BenchmarkId::new("1000reps_closedp", "N10000_t5"), |b| {
        b.iter(|| {
            black_box(
                sim::run(&s, &est, &RunOptions::default())
                    .unwrap()
                    .metrics(),
            )
        })
    });
    // issue target (b): one replicate at N = 10^7, t = 10, generated and fitted with M0,
    // Mt and Mh Chao (LB), each with its profile interval; aggregated generation (the
    // units are exchangeable) and, for comparison, unit by unit
    for generation in ["auto", "unit"] {
        let s = closed_study_gen(10_000_000, 10, 1, &["closedp:M0*,Mt*,Mh Chao*"], generation);
        let est = builtin_estimators(&s.estimators, s.level).unwrap();
        g.bench_function(
            BenchmarkId::new(format!("1rep_M0_Mt_MhChao_{generation}"), "N1e7_t10"),
            |b| {
                b.iter(|| {
                    black_box(
                        sim::run(&s, &est, &RunOptions::default())
                            .unwrap()
                            .metrics(),
                    )
                })
            },
        );
    }
    // the built-in police study at 200 replicates
    let mut p = sim::police_study();
    p.replicates = 200;
    g.bench_function(BenchmarkId::new("police", 200), |b| {
        b.iter(|| black_box(sim::run_study(&p, None).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, generation, estimators, studies);
criterion_main!(benches);
