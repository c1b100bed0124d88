//! Reference tests of the foundation: the data summaries and the two-source estimators
//! against Rcapture 1.4-4 (figures in `tests/fixtures/foundation/rcapture_foundation.json`,
//! extracted from `shared/reference/rcapture.json`) and against published figures.

use darkfigure::data::csv_io::{ReadOptions, read_histories_str};
use darkfigure::prec::REFERENCE_RTOL;
use darkfigure::two_source::{TwoSample, bailey, chapman, lincoln_petersen, mt_profile_interval};
use darkfigure::{Error, IntervalMethod};
use serde_json::Value;

const HARE: &str = include_str!("fixtures/foundation/hare.csv");
const SEBER: &str = include_str!("fixtures/foundation/seber1982_t2.csv");
const REF: &str = include_str!("fixtures/foundation/rcapture_foundation.json");

fn reference(key: &str) -> Value {
    let v: Value = serde_json::from_str(REF).expect("fixture is valid JSON");
    v[key].clone()
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    let rel = ((got - want) / want).abs();
    assert!(
        rel <= tol,
        "{what}: got {got}, want {want} (relative error {rel:e} > {tol:e})"
    );
}

/// `Rcapture::descriptive(hare)`: n, f_i, u_i, v_i, n_i, exactly.
#[test]
fn hare_descriptive_matches_rcapture() {
    let h = read_histories_str(HARE, "hare.csv", &ReadOptions::default()).unwrap();
    let d = h.summary();
    let r = reference("hare.descriptive");
    assert_eq!(d.n, r["n"].as_u64().unwrap());
    assert_eq!(d.f_k, u64s(&r["fi"]));
    assert_eq!(d.u_j, u64s(&r["ui"]));
    assert_eq!(d.v_j, u64s(&r["vi"]));
    assert_eq!(d.n_j, u64s(&r["ni"]));
    // m-array identities: every capture but the last of each unit is followed by a next
    // capture, so Σ_ij m_ij = Σ n_j − n, and released = next-captured + never.
    let m = &d.m_array;
    let total_m: u64 = m.m.iter().flatten().sum();
    assert_eq!(total_m, d.n_j.iter().sum::<u64>() - d.n);
    for i in 0..h.occasions() {
        assert_eq!(m.released[i], m.m[i].iter().sum::<u64>() + m.never[i]);
    }
    assert_eq!(m.never, d.v_j);
    // 2^6 − 1 canonical frequencies sum to n.
    let c = h.canonical_frequencies().unwrap();
    assert_eq!(c.len(), 63);
    assert_eq!(c.iter().sum::<u64>(), 68);
    assert_eq!(
        c[0], 2,
        "two hares were caught on all six occasions (f_6 = 2)"
    );
}

#[test]
fn seber_descriptive_matches_rcapture() {
    let h = read_histories_str(SEBER, "seber1982_t2.csv", &ReadOptions::default()).unwrap();
    let d = h.summary();
    let r = reference("seber1982_t2.descriptive");
    assert_eq!(d.n, r["n"].as_u64().unwrap());
    assert_eq!(d.f_k, u64s(&r["fi"]));
    assert_eq!(d.n_j, u64s(&r["ni"]));
    assert_eq!(d.u_j, u64s(&r["ui"]));
    assert_eq!(d.v_j, u64s(&r["vi"]));
}

/// Chapman and its Seber/Wittes SE = `Rcapture::closedp.bc(seber, m = "Mt")`, 1e-6 relative.
#[test]
fn chapman_matches_closedp_bc() {
    let h = read_histories_str(SEBER, "seber1982_t2.csv", &ReadOptions::default()).unwrap();
    let s = TwoSample::from_histories(&h).unwrap();
    assert_eq!((s.n1, s.n2, s.m), (948, 421, 167));
    let e = chapman(&s, 0.95).unwrap();
    let r = reference("seber1982_t2.closedp.bc.Mt");
    assert_rel(
        e.n_hat,
        r["abundance"].as_f64().unwrap(),
        REFERENCE_RTOL,
        "Chapman N",
    );
    assert_rel(
        e.se,
        r["stderr"].as_f64().unwrap(),
        REFERENCE_RTOL,
        "Chapman SE",
    );
    assert_eq!(e.model, "Chapman");
    assert_eq!(e.observed, 1202);
    assert!((e.dark_figure - (e.n_hat - 1202.0)).abs() < 1e-9);
}

/// Lincoln-Petersen and its SE = `Rcapture::closedp.t(seber)` model Mt (t = 2), 1e-6.
#[test]
fn lincoln_petersen_matches_closedp_t_mt() {
    let s = TwoSample::new(948, 421, 167).unwrap();
    let e = lincoln_petersen(&s, 0.95).unwrap();
    let r = reference("seber1982_t2.closedp.t.Mt");
    assert_rel(
        e.n_hat,
        r["abundance"].as_f64().unwrap(),
        REFERENCE_RTOL,
        "LP N",
    );
    assert_rel(e.se, r["stderr"].as_f64().unwrap(), REFERENCE_RTOL, "LP SE");
}

/// The likelihood-based interval = `Rcapture::closedpCI.t(seber, m = "Mt")`: the
/// multinomial profile maximiser and bounds, 1e-4 relative (Rcapture's own search
/// tolerance is coarser than ours).
#[test]
fn profile_interval_matches_closedp_ci_t() {
    let p = mt_profile_interval(&[948, 421], 1202, 0.95).unwrap();
    let r = reference("seber1982_t2.closedpCI.t.Mt");
    assert_rel(
        p.n_max,
        r["ci_abundance"].as_f64().unwrap(),
        1e-4,
        "profile maximiser",
    );
    assert_rel(
        p.interval.lower,
        r["ci_lower"].as_f64().unwrap(),
        1e-4,
        "lower bound",
    );
    assert_rel(
        p.interval.upper,
        r["ci_upper"].as_f64().unwrap(),
        1e-4,
        "upper bound",
    );
    assert_eq!(p.interval.method, IntervalMethod::ProfileLikelihood);
    let e = chapman(&TwoSample::new(948, 421, 167).unwrap(), 0.95).unwrap();
    assert!(
        e.other_intervals
            .iter()
            .any(|i| i.method == IntervalMethod::ProfileLikelihood)
    );
}

/// Weir et al. (2003), Bulawayo sex-worker study: published Lincoln-Petersen 3,894.
#[test]
fn bulawayo_lincoln_petersen() {
    let s = TwoSample::new(1381, 1469, 521).unwrap();
    let e = lincoln_petersen(&s, 0.95).unwrap();
    assert_eq!(e.n_hat.round(), 3894.0);
    assert!((e.n_hat - 1381.0 * 1469.0 / 521.0).abs() < 1e-9);
    let b = bailey(&s, 0.95).unwrap();
    assert!((b.n_hat - 1381.0 * 1470.0 / 522.0).abs() < 1e-9);
}

#[test]
fn no_recaptures_is_a_typed_error_for_lp_and_unbounded_for_chapman() {
    let s = TwoSample::new(120, 80, 0).unwrap();
    assert!(matches!(
        lincoln_petersen(&s, 0.95),
        Err(Error::NoRecaptures { n1: 120, n2: 80 })
    ));
    let c = chapman(&s, 0.95).unwrap();
    assert_eq!(c.n_hat, 121.0 * 81.0 - 1.0);
    assert!(c.interval.is_unbounded_above());
    assert!(c.interval.lower >= 200.0);
    let json = serde_json::to_value(&c).unwrap();
    assert!(
        json["interval"]["upper"].is_null(),
        "unbounded upper limit is null in JSON"
    );
}
