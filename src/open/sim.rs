//! Simulating open-population capture histories (Jolly-Seber / POPAN process).

use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

/// A Jolly-Seber scenario: `n_super` units enter over K occasions with probabilities
/// `entry` (`entry[0]`: present at occasion 1), survive from occasion t to t + 1 with
/// `phi[t]` and are caught on occasion t with `p[t]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsScenario {
    /// Super-population size.
    pub n_super: usize,
    /// Entry probabilities (K, summing to 1).
    pub entry: Vec<f64>,
    /// Survival probabilities (K − 1).
    pub phi: Vec<f64>,
    /// Capture probabilities (K).
    pub p: Vec<f64>,
}

/// Mixes a base seed and a replicate index into a stream seed (the crate-wide
/// [`crate::rng::mix`]), so that replicate i gets the same stream on any number of threads.
pub fn mix_seed(seed: u64, i: u64) -> u64 {
    crate::rng::mix(seed, &[i])
}

impl JsScenario {
    /// Checks the scenario.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for inconsistent lengths or probabilities outside [0, 1].
    pub fn validate(&self) -> Result<()> {
        let k = self.p.len();
        if !(2..=64).contains(&k) || self.entry.len() != k || self.phi.len() + 1 != k {
            return Err(Error::param(
                "scenario",
                format!(
                    "entry {}, phi {}, p {}",
                    self.entry.len(),
                    self.phi.len(),
                    k
                ),
                "K entry and capture probabilities and K − 1 survivals, 2 ≤ K ≤ 64",
            ));
        }
        let all = self.entry.iter().chain(&self.phi).chain(&self.p);
        if all.clone().any(|v| !(0.0..=1.0).contains(v))
            || (self.entry.iter().sum::<f64>() - 1.0).abs() > 1e-9
        {
            return Err(Error::param(
                "scenario",
                "probabilities",
                "values in [0, 1], entries summing to 1",
            ));
        }
        Ok(())
    }

    /// Simulates one data set with the stream `Xoshiro256PlusPlus::seed_from_u64(seed)`.
    ///
    /// # Errors
    /// As [`JsScenario::validate`]; [`Error::InvalidData`] when nobody is caught.
    pub fn simulate(&self, seed: u64) -> Result<CaptureHistories> {
        self.validate()?;
        let k = self.p.len();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut cum = Vec::with_capacity(k);
        let mut acc = 0.0;
        for e in &self.entry {
            acc += e;
            cum.push(acc);
        }
        let mut hist = Vec::new();
        for _ in 0..self.n_super {
            let u: f64 = rng.random();
            let entry = cum.iter().position(|&c| u < c).unwrap_or(k - 1);
            let mut code = 0u64;
            let mut t = entry;
            loop {
                if rng.random::<f64>() < self.p[t] {
                    code |= 1 << t;
                }
                if t + 1 >= k || rng.random::<f64>() >= self.phi[t] {
                    break;
                }
                t += 1;
            }
            if code != 0 {
                hist.push(code);
            }
        }
        let n = hist.len();
        CaptureHistories::new(k, hist, vec![1; n])
    }
}
