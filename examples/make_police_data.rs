//! Generates the embedded example data `examples/data/police_operations.csv`: a
//! synthetic series of five police operations against a street and online sex market.
//!
//! ```sh
//! cargo run --example make_police_data      # rewrites examples/data/police_operations*.csv
//! ```
//!
//! The population (the truth the estimates are judged against, also written to
//! `examples/data/police_operations_truth.csv`):
//! - 420 buyers and 180 sellers, present throughout (a closed population);
//! - each operation has its own intensity (logit of the capture probability), lower for
//!   buyers than for sellers, who are met by outreach workers during the operations;
//! - heterogeneous catchability: each person's logit is shifted by a normal effect
//!   (sd 0.9 for buyers, 0.7 for sellers): some people are much easier to meet;
//! - behavioural response: a buyer once arrested avoids the street (logit − 0.8, trap-shy);
//!   a seller once offered support is a little easier to meet again (logit + 0.3);
//! - about a fifth of the sellers are minors (column `minor`, 1 or 0; drawn from a stream
//!   of its own), who are harder to meet (logit − 0.4): the truth file gives their number
//!   as `seller: minor`.
//!
//! The output is a police register in the long layout: one row per time a person was
//! recorded (`id,occasion,stratum,minor`); people never recorded do not appear. The seed is
//! fixed, and the generator uses `Xoshiro256PlusPlus` (value-stable across releases), so
//! the file is reproducible.

use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::fmt::Write as _;

struct Group {
    name: &'static str,
    prefix: char,
    size: usize,
    intensity: [f64; 5],
    heterogeneity_sd: f64,
    after_first_capture: f64,
    /// Share of the group that are minors (a second grouping column), and how much
    /// harder minors are to meet (logit shift).
    minor_share: f64,
    minor_shift: f64,
}

const SEED: u64 = 20_261_128;

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn main() -> std::io::Result<()> {
    let groups = [
        Group {
            name: "buyer",
            prefix: 'B',
            size: 420,
            intensity: [-1.6, -1.2, -1.9, -1.4, -1.1],
            heterogeneity_sd: 0.9,
            after_first_capture: -0.8,
            minor_share: 0.0,
            minor_shift: 0.0,
        },
        Group {
            name: "seller",
            prefix: 'S',
            size: 180,
            intensity: [-1.0, -0.8, -1.2, -0.9, -0.7],
            heterogeneity_sd: 0.7,
            after_first_capture: 0.3,
            minor_share: 0.2,
            minor_shift: -0.4,
        },
    ];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
    let unif = Uniform::new(0.0, 1.0).expect("valid range");
    // Minor status comes from a stream of its own.
    let mut minor_rng = Xoshiro256PlusPlus::seed_from_u64(SEED + 1);
    let mut csv = String::from("id,occasion,stratum,minor\n");
    let mut minors_total = Vec::new();
    let mut truth = String::from("stratum,N\n");
    let mut total = 0;
    for g in &groups {
        let effect = Normal::new(0.0, g.heterogeneity_sd).expect("valid sd");
        let mut minors = 0;
        for i in 0..g.size {
            let minor = unif.sample(&mut minor_rng) < g.minor_share;
            minors += usize::from(minor);
            let u = effect.sample(&mut rng) + if minor { g.minor_shift } else { 0.0 };
            let mut caught_before = false;
            for (j, &a) in g.intensity.iter().enumerate() {
                let shift = if caught_before {
                    g.after_first_capture
                } else {
                    0.0
                };
                if unif.sample(&mut rng) < logistic(a + u + shift) {
                    caught_before = true;
                    let _ = writeln!(
                        csv,
                        "{}{:03},{},{},{}",
                        g.prefix,
                        i + 1,
                        j + 1,
                        g.name,
                        u8::from(minor)
                    );
                }
            }
        }
        let _ = writeln!(truth, "{},{}", g.name, g.size);
        if minors > 0 {
            minors_total.push((g.name, minors));
        }
        total += g.size;
    }
    for (name, m) in minors_total {
        let _ = writeln!(truth, "{name}: minor,{m}");
    }
    let _ = writeln!(truth, "total,{total}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("police_operations.csv"), csv)?;
    std::fs::write(dir.join("police_operations_truth.csv"), truth)?;
    println!("wrote {}", dir.display());
    Ok(())
}
