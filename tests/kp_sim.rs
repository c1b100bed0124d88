//! The key-population simulation: replay on 1 and 2 threads, and the expected biases
//! (multiplier under degree-related receipt; NSUM under a barrier effect).

use darkfigure::kp::sim::{default_scenarios, findings, run_multiplier, run_nsum, to_markdown};

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn multiplier_scenario_replays_and_shows_degree_bias() {
    let (ms, _) = default_scenarios();
    let s = &ms[1]; // receipt ∝ degree
    let a = pool(1).install(|| run_multiplier(s, 30, 5, 1).unwrap());
    let b = pool(2).install(|| run_multiplier(s, 30, 5, 1).unwrap());
    assert_eq!(a, b);
    assert!(
        a[0].rel_bias < -0.2,
        "unweighted multiplier should underestimate: {:?}",
        a[0]
    );
    assert!(
        a[1].rel_bias.abs() < 0.15,
        "RDS-II weighting should remove most of the bias: {:?}",
        a[1]
    );
}

#[test]
fn nsum_scenario_replays_and_adjustment_removes_barrier_bias() {
    let (_, ns) = default_scenarios();
    let s = &ns[2];
    let a = pool(1).install(|| run_nsum(s, 40, 9, 3).unwrap());
    let b = pool(2).install(|| run_nsum(s, 40, 9, 3).unwrap());
    assert_eq!(a, b);
    assert!(
        (a[0].rel_bias - (0.6 * 0.7 - 1.0)).abs() < 0.05,
        "{:?}",
        a[0]
    );
    assert!(a[1].rel_bias.abs() < 0.03, "{:?}", a[1]);
    // what the study shows, before the table: the basic scale-up is not reliable under
    // the barrier, the adjusted one is
    let f = findings(&a);
    assert_eq!(f.len(), 1);
    let (ok, not) = f[0].split_once("; not reliable: ").expect("both kinds");
    assert!(ok.contains("reliable: scale-up, adjusted"), "{}", f[0]);
    assert!(not.starts_with("scale-up, basic (bias -5"), "{}", f[0]);
    let md = to_markdown(&a);
    assert!(md.starts_with("## What the study shows"), "{md}");
    assert!(md.find(&f[0]).unwrap() < md.find("| scenario |").unwrap());
}
