//! Simulation with individual covariates: capture depends on who a unit is (a repeat
//! buyer is caught more often), and the Huggins model that uses the covariate is compared
//! with the models that ignore it.
//!
//! ```text
//! unit i: covariates drawn from their level probabilities
//! logit p_ij = α_j + Σ_c effect_c[level_ic]        (not caught before occasion j)
//! logit c_ij = logit p_ij + behaviour              (caught before)
//! ```
//! A study runs it as the scenario model `{"kind": "covariates", ...}` through the JSON
//! [`Study`](super::Study) framework ([`super::run`], [`super::run_study`]), which draws
//! each replicate from its own stream and fits the Huggins models with and without the
//! covariates ([`super::HugginsModels`]); `examples/data/police_covariates.json` is the
//! worked study.
//!
//! # References
//! Huggins (1989), Alho (1990): ignoring heterogeneity explained by covariates biases N̂
//! down (units hard to catch are under-represented among those seen).

use crate::data::{CaptureHistories, CovariateHistories, CovariateValues};
use crate::error::{Error, Result};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// A categorical individual covariate of the simulated population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimCovariate {
    /// Column name.
    pub name: String,
    /// Level names; the first is the reference level.
    pub levels: Vec<String>,
    /// Probability of each level in the population.
    pub probs: Vec<f64>,
    /// Effect of each level on logit p (the reference level's is usually 0).
    pub effects: Vec<f64>,
}

/// A closed population whose capture probability depends on individual covariates.
///
/// In a study file it is the model `{"kind": "covariates", "population", "intercepts",
/// "behaviour" (default 0), "covariates": [{"name", "levels", "probs", "effects"}]}`;
/// replicate i of the study draws it from the runner's stream, unit by unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CovariateScenario {
    /// True population size N.
    pub population: usize,
    /// Baseline logit capture probability per occasion (its length is the number of
    /// occasions).
    pub intercepts: Vec<f64>,
    /// Behavioural effect on the logit after the first capture (0: none).
    #[serde(default)]
    pub behaviour: f64,
    /// Covariates.
    pub covariates: Vec<SimCovariate>,
}

impl CovariateScenario {
    /// The repeat-buyer scenario: 2,000 buyers over 5 police operations, 30 % repeat
    /// buyers caught with odds 6 times higher (logit +1.8), baseline p ≈ 0.08.
    pub fn repeat_buyers() -> Self {
        CovariateScenario {
            population: 2000,
            intercepts: vec![-2.4; 5],
            behaviour: 0.0,
            covariates: vec![SimCovariate {
                name: "repeat".into(),
                levels: vec!["no".into(), "yes".into()],
                probs: vec![0.7, 0.3],
                effects: vec![0.0, 1.8],
            }],
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first bad field.
    pub fn check(&self) -> Result<()> {
        let t = self.intercepts.len();
        if !(2..=super::limits::MAX_SIM_OCCASIONS).contains(&t) {
            return Err(Error::param(
                "intercepts",
                t,
                format!(
                    "between 2 and {} occasions",
                    super::limits::MAX_SIM_OCCASIONS
                ),
            ));
        }
        if self.population as u64 > super::limits::MAX_SIM_N {
            return Err(Error::param(
                "population",
                self.population,
                format!("at most {}", super::limits::MAX_SIM_N),
            ));
        }
        if self.population == 0 {
            return Err(Error::param("population", 0, "at least 1"));
        }
        for c in &self.covariates {
            let s: f64 = c.probs.iter().sum();
            if c.levels.is_empty()
                || c.levels.len() != c.probs.len()
                || c.levels.len() != c.effects.len()
                || c.probs.iter().any(|p| !(0.0..=1.0).contains(p))
                || (s - 1.0).abs() > 1e-9
            {
                return Err(Error::param(
                    "covariates",
                    &c.name,
                    "levels, probabilities (summing to 1) and effects of equal length",
                ));
            }
        }
        if self
            .intercepts
            .iter()
            .chain([&self.behaviour])
            .any(|x| !x.is_finite())
        {
            return Err(Error::param("intercepts", "non-finite", "finite logits"));
        }
        Ok(())
    }

    /// Draws one population and returns the units seen, with their covariates.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an invalid scenario; [`Error::InvalidData`] when no
    /// unit is seen.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<CovariateHistories> {
        self.check()?;
        let t = self.intercepts.len();
        let mut hist = Vec::new();
        let mut codes: Vec<Vec<usize>> = vec![Vec::new(); self.covariates.len()];
        let mut lv = vec![0usize; self.covariates.len()];
        for _ in 0..self.population {
            let mut shift = 0.0;
            for (c, cov) in self.covariates.iter().enumerate() {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                lv[c] = cov.levels.len() - 1;
                for (l, p) in cov.probs.iter().enumerate() {
                    acc += p;
                    if u < acc {
                        lv[c] = l;
                        break;
                    }
                }
                shift += cov.effects[lv[c]];
            }
            let mut h = 0u64;
            for j in 0..t {
                let eta = self.intercepts[j] + shift + if h != 0 { self.behaviour } else { 0.0 };
                let p = 1.0 / (1.0 + (-eta).exp());
                if rng.random::<f64>() < p {
                    h |= 1 << j;
                }
            }
            if h != 0 {
                hist.push(h);
                for (c, &l) in lv.iter().enumerate() {
                    codes[c].push(l);
                }
            }
        }
        if hist.is_empty() {
            return Err(Error::invalid(
                "no unit was seen in the simulated population",
            ));
        }
        let n = hist.len();
        let mut d = CovariateHistories::new(CaptureHistories::new(t, hist, vec![1; n])?);
        for (c, cov) in self.covariates.iter().enumerate() {
            // Keep the scenario's level order (reference first) rather than sorted order.
            let keep: Vec<usize> = (0..cov.levels.len())
                .filter(|&l| codes[c].contains(&l))
                .collect();
            let levels: Vec<String> = keep.iter().map(|&l| cov.levels[l].clone()).collect();
            let remap: Vec<u32> = (0..cov.levels.len())
                .map(|l| keep.iter().position(|&k| k == l).unwrap_or(0) as u32)
                .collect();
            d = d.with_covariate(
                cov.name.clone(),
                CovariateValues::Categorical {
                    levels,
                    codes: codes[c].iter().map(|&l| remap[l]).collect(),
                },
            )?;
        }
        Ok(d)
    }
}
