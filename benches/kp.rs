//! Benchmarks of the key-population methods: network scale-up with 1,000 rescaled-bootstrap
//! replicates on networkreporting's 2,406-respondent example (target < 0.5 s), and the
//! triangulation model on 5 estimates (target < 50 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use darkfigure::kp::nsum::{self, ArdSurvey, KnownPopulations, ScaleUp};
use darkfigure::kp::table::Table;
use darkfigure::kp::triangulate::{Prior, Study, Triangulation, triangulate};
use std::hint::black_box;

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/kp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn bench(c: &mut Criterion) {
    let survey_text = fixture("nsum_example_survey.csv");
    let known_text = fixture("nsum_known_populations.csv");
    c.bench_function(
        "nsum_example_read_degrees_scaleup_1000_rescaled_bootstrap",
        |b| {
            b.iter(|| {
                let known =
                    KnownPopulations::from_table(&Table::parse(&known_text, "known").unwrap())
                        .unwrap();
                let mut cols: Vec<&str> = known.names.iter().map(String::as_str).collect();
                cols.push("clients");
                let t = Table::parse(&survey_text, "survey").unwrap();
                let mut s = ArdSurvey::from_table(
                    &t,
                    &cols,
                    Some("indweight"),
                    Some("cluster"),
                    Some("region"),
                )
                .unwrap();
                let kn: Vec<&str> = known.names.iter().map(String::as_str).collect();
                s.topcode(&kn, 30.0).unwrap();
                let d = nsum::killworth_degrees(&s, &known, 1e7).unwrap();
                let p = ScaleUp::new(1e7).weighted(true);
                let f = nsum::scale_up(&s, &d, "clients", &p).unwrap();
                let boot = nsum::rescaled_bootstrap(&s, &d, "clients", &p, 1000, 1).unwrap();
                black_box((f, boot))
            })
        },
    );
    let studies = vec![
        Study::new("3S-CRC", 2000.0, 1000.0, 3000.0).confidence(0.9),
        Study::new("2S-CRC", 2500.0, 1500.0, 3500.0).confidence(0.7),
        Study::new("multiplier", 1000.0, 250.0, 2500.0).confidence(0.2),
        Study::new("NSUM", 3500.0, 2000.0, 6000.0).confidence(0.5),
        Study::new("literature", 2800.0, 1500.0, 5000.0).confidence(0.3),
    ];
    let t = Triangulation::new(Prior::MedianQ75 {
        median: 3000.0,
        q75: 4000.0,
    })
    .bounds(Some(800.0), None);
    c.bench_function("triangulate_5_estimates_with_pulls", |b| {
        b.iter(|| black_box(triangulate(&studies, &t).unwrap()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
