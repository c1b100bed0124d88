//! Benchmarks of `darkfigure::bayes`: the LCMCR sampler on Kosovo (K = 10, 110,000
//! sweeps; targets: one chain < 0.3 s, 4 chains < 0.5 s on 2 cores, not met: 0.56 s and
//! 1.14 s on a quiet machine before the changes listed below, see there for after; LCMCR
//! 0.4.14 takes ~5 s) and dga model averaging (Kosovo, 4 lists, grid 0..20000 < 50 ms;
//! UKdat_5, 5 lists, grid 0..40000 < 0.5 s, dga 2.0.2 ~2 s; UKdat, 6 lists and 18,154
//! graphs, reported).
//!
//! Where an LCMCR sweep went (~5 µs, 56k instructions; per sweep on Kosovo): the class
//! allocation of the 15 observed cells ~64% (≈20 BTRS binomials, 13 by inversion and
//! ≈258 units placed one by one; a fifth of it is the bookkeeping of weights and totals),
//! λ ~19% (≈28 beta variates from gamma pairs: about 7 of the 10 classes are occupied),
//! stick-breaking ~8%, n0 and the unobserved cell (6,000 units, 2 BTRS) ~6%, α 1%.
//! Tried and measured without gain: classes ordered by weight within each cell
//! (persisted insertion sort), the unit-by-unit threshold at 12 or 64 instead of 32,
//! Cheng's BB beta sampler (slower than the gamma pair here).
//!
//! Second round (instructions by callgrind on one Kosovo chain, 120,500 sweeps with the
//! warm-up; time by `perf record -e cpu-clock` shares and interleaved runs, the machine
//! shared): 6.76 G → 5.05 G instructions (56k → 42k per sweep, −25%), CPU time of one
//! chain −16% (best of 3 interleaved runs under load: 0.92 s → 0.77 s; ≈0.47 s, 3.9
//! µs/sweep, expected on a quiet machine). Kept, each exact:
//! - units of the small tail placed by 31-bit uniforms, two per random word, against
//!   integer thresholds in all classes at once, counted per lane (no store per unit),
//!   53 more bits drawn only on a tie: 6.59 → 6.00 G (scratch copy of the sampler);
//! - a hand-rolled Marsaglia–Tsang gamma (rand_distr's ziggurat normal, no
//!   `Gamma::new` per draw): 6.00 → 5.70 G;
//! - BTRS's log terms out of line (the compiler computed ln(p/q) on every draw ahead of
//!   the rare test that uses it): 5.70 → 5.53 G, same draws;
//! - the observed cells' weights from per-sweep tables in class order, one row per code
//!   (π folded in; the same products), the cell loop in its own function: 5.53 → 5.21 G,
//!   same draws.
//!
//! Where the time now goes (perf): multinomial 37% (inversion binomials wait on the
//! division w_i/Σ and on the q^n squaring chain; the unit placement ~12%), BTRS 16% (the
//! √ → division set-up chain and mispredicted branches; one reciprocal instead of two
//! divisions and one division in the hat test gave no measurable change), λ 15%, the cell
//! loop 10%, the rest of the observed step 6%, π 4%, logarithms 4%. Not helped or not
//! kept: the unit-by-unit threshold lowered to 8–20 (3% fewer instructions, more
//! branches; not timed on a quiet machine), a portable count loop written as a closure
//! (not inlined: 24% more instructions). Not tried: an inlined ziggurat normal (the
//! rand_distr one is a call, ~45 instructions with its prologue, ≈75 per sweep).
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use darkfigure::bayes::{DgaParams, LcmcrParams, NGrid, bma, decomposable_graphs, lcmcr};
use darkfigure::data::ListTable;
use darkfigure::data::csv_io::{DataSet, ReadOptions, read_str};
use std::hint::black_box;

fn table(path: &str) -> ListTable {
    let p = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(p).unwrap();
    match read_str(&text, path, &ReadOptions::default()).unwrap() {
        DataSet::Histories { data, .. } => ListTable::from_histories(&data).unwrap(),
        _ => unreachable!(),
    }
}

fn kosovo() -> ListTable {
    let y = vec![
        0, 1131, 845, 177, 936, 228, 217, 181, 306, 106, 31, 18, 123, 42, 32, 27,
    ];
    let names = ["EXH", "ABA", "OSCE", "HRW"].map(String::from).to_vec();
    ListTable::new(names, y).unwrap()
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("lcmcr_kosovo_K10_110k");
    g.sample_size(10);
    let t = kosovo();
    for chains in [1usize, 4] {
        g.bench_with_input(BenchmarkId::new("chains", chains), &chains, |b, &chains| {
            let p = LcmcrParams {
                k: 10,
                burnin: 10_000,
                samples: 1_000,
                thinning: 100,
                chains,
                seed: 12345,
                ..Default::default()
            };
            b.iter(|| lcmcr(black_box(&t), &p).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("dga");
    g.sample_size(10);
    let grid = |to| DgaParams {
        grid: NGrid::Range { from: 0, to },
        ..Default::default()
    };
    let g4 = decomposable_graphs(4).unwrap();
    g.bench_function("kosovo_4lists_grid20000", |b| {
        b.iter(|| bma(black_box(&t), Some(&g4), &grid(20_000)).unwrap())
    });
    let uk5 = table("sparse/UKdat_5.csv");
    let g5 = decomposable_graphs(5).unwrap();
    g.bench_function("ukdat_5lists_grid40000", |b| {
        b.iter(|| bma(black_box(&uk5), Some(&g5), &grid(40_000)).unwrap())
    });
    let uk6 = table("bayes/UKdat.csv");
    let g6 = decomposable_graphs(6).unwrap();
    g.bench_function("ukdat_6lists_grid40000", |b| {
        b.iter(|| bma(black_box(&uk6), Some(&g6), &grid(40_000)).unwrap())
    });
    g.bench_function("enumerate_graphs_p6", |b| {
        b.iter(|| decomposable_graphs(black_box(6)).unwrap())
    });
    g.finish();
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
