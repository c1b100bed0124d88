use darkfigure::closed::{self, ClosedModel, ClosedSettings};
use darkfigure::data::CaptureHistories;
#[test]
fn timing() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/closed/hare.csv")).unwrap();
    let rows: Vec<(String,u64)> = text.lines().skip(1).map(|l| (l.split(',').collect::<String>(), 1)).filter(|r| r.0.contains('1')).collect();
    let h = CaptureHistories::from_strings(&rows).unwrap().aggregated();
    let s = ClosedSettings { profile: false, ..Default::default() };
    for m in ClosedModel::closedp_t_models() {
        let t0 = std::time::Instant::now();
        let mut it = 0;
        for _ in 0..2000 { let e = closed::fit_standard(&h, m, &s).unwrap(); it = e.fit.iterations; }
        println!("{:16} {:8.2} us  iters {}", m.label(), t0.elapsed().as_secs_f64()/2000.0*1e6, it);
    }
}
