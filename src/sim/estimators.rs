//! The estimator abstraction of the Monte-Carlo runner and its built-in implementations.
//!
//! Anything that turns [`SimData`] into labelled estimates implements [`SimEstimator`];
//! estimators that do not apply to a data type (Chapman on five occasions, a capture
//! model on counts) return an empty list and are simply not reported for that scenario.
//! [`HistoriesFn`] and [`DataFn`] register closures, so estimator families from other
//! modules plug in without new types.

use super::generate::SimData;
use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, Warning};
use crate::two_source::{self, TwoSample};

/// An estimator (or a family of estimators) run on every simulated data set.
pub trait SimEstimator: Send + Sync {
    /// Name of the estimator family (used for failures that cannot be attributed to one
    /// model).
    fn name(&self) -> String;

    /// Estimates from one data set: `(label, result)` per model; empty when the estimator
    /// does not apply to this kind of data.
    fn estimate(&self, data: &SimData) -> Vec<(String, Result<Estimate>)>;
}

/// Names accepted by [`builtin_estimators`].
pub const BUILTIN_ESTIMATORS: &[&str] = &[
    "lincoln-petersen",
    "chapman",
    "bailey",
    "schnabel",
    "schumacher-eschmeyer",
    "chao-lb",
];

/// Which two-source estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoSourceKind {
    /// [`two_source::lincoln_petersen`].
    LincolnPetersen,
    /// [`two_source::chapman`].
    Chapman,
    /// [`two_source::bailey`].
    Bailey,
}

/// Lincoln-Petersen, Chapman or Bailey on two-occasion histories or two-list tables.
#[derive(Debug, Clone, Copy)]
pub struct TwoSource {
    /// Which estimator.
    pub kind: TwoSourceKind,
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for TwoSource {
    fn name(&self) -> String {
        match self.kind {
            TwoSourceKind::LincolnPetersen => "Lincoln-Petersen",
            TwoSourceKind::Chapman => "Chapman",
            TwoSourceKind::Bailey => "Bailey",
        }
        .into()
    }

    fn estimate(&self, data: &SimData) -> Vec<(String, Result<Estimate>)> {
        let Some(h) = data.histories() else {
            return Vec::new();
        };
        if h.occasions() != 2 {
            return Vec::new();
        }
        let r = TwoSample::from_histories(&h).and_then(|s| match self.kind {
            TwoSourceKind::LincolnPetersen => two_source::lincoln_petersen(&s, self.level),
            TwoSourceKind::Chapman => two_source::chapman(&s, self.level),
            TwoSourceKind::Bailey => two_source::bailey(&s, self.level),
        });
        vec![(self.name(), r)]
    }
}

/// Which multi-occasion ratio estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatioKind {
    /// [`two_source::schnabel`].
    Schnabel,
    /// [`two_source::schumacher_eschmeyer`].
    SchumacherEschmeyer,
}

/// Schnabel or Schumacher-Eschmeyer on histories with t ≥ 3.
#[derive(Debug, Clone, Copy)]
pub struct Ratio {
    /// Which estimator.
    pub kind: RatioKind,
    /// Confidence level.
    pub level: f64,
}

impl SimEstimator for Ratio {
    fn name(&self) -> String {
        match self.kind {
            RatioKind::Schnabel => "Schnabel",
            RatioKind::SchumacherEschmeyer => "Schumacher-Eschmeyer",
        }
        .into()
    }

    fn estimate(&self, data: &SimData) -> Vec<(String, Result<Estimate>)> {
        let Some(h) = data.histories() else {
            return Vec::new();
        };
        if h.occasions() < 3 {
            return Vec::new();
        }
        let r = match self.kind {
            RatioKind::Schnabel => two_source::schnabel(&h, self.level),
            RatioKind::SchumacherEschmeyer => two_source::schumacher_eschmeyer(&h, self.level),
        };
        vec![(self.name(), r)]
    }
}

/// **Stand-in** for the counts module's Chao estimator (to be replaced by `counts::chao`
/// when the modules merge): Chao's (1987) lower bound from the units seen once and twice.
///
/// ```text
/// N̂ = n + A f1² / (2 f2)                          (f2 > 0)
/// N̂ = n + A f1 (f1 − 1) / 2                        (f2 = 0, flagged)
/// Var = f2 [ A/2 r² + A² r³ + A²/4 r⁴ ],  r = f1/f2
/// A = (t − 1)/t for t capture occasions, A = 1 for single-source counts
/// ```
/// The interval is the log-normal interval on the dark figure ([`ci::log_normal`]).
/// With A = 1 the variance is Chao's (1987) formula; the factor A removes the bias
/// t/(t − 1) of f1²/(2 f2) under binomial capture counts (model M0).
///
/// # References
/// Chao, A. (1987) *Biometrics* 43, 783-791; Chao, A. (1989) *Biometrics* 45, 427-438.
#[derive(Debug, Clone, Copy)]
pub struct ChaoLowerBound {
    /// Confidence level.
    pub level: f64,
}

/// The Chao lower bound from the number seen `n`, seen once `f1`, twice `f2`, and the
/// factor `A` ((t−1)/t, or 1 for counts). See [`ChaoLowerBound`].
///
/// # Errors
/// [`Error::EstimateDoesNotExist`] when nobody was seen once or twice at all;
/// [`Error::InvalidParameter`] for a bad level.
pub fn chao_lower_bound(n: u64, f1: u64, f2: u64, a: f64, level: f64) -> Result<Estimate> {
    ci::check_level(level)?;
    if f1 + f2 == 0 {
        return Err(Error::no_estimate(
            "no unit was seen once or twice: Chao's bound is undefined",
        ));
    }
    let (f1f, f2f) = (f1 as f64, f2 as f64);
    let nf = n as f64;
    let (n_hat, var, flag) = if f2 > 0 {
        let r = f1f / f2f;
        let var = f2f * (a / 2.0 * r * r + a * a * r.powi(3) + a * a / 4.0 * r.powi(4));
        (nf + a * f1f * f1f / (2.0 * f2f), var, false)
    } else {
        // bias-corrected form (Chao 1989) with f2 = 0
        let f0 = a * f1f * (f1f - 1.0) / 2.0;
        let var = a * f1f * (f1f - 1.0) / 2.0 + a * a * f1f * (2.0 * f1f - 1.0).powi(2) / 4.0;
        (nf + f0, var, true)
    };
    let se = var.max(0.0).sqrt();
    let interval = ci::log_normal(n_hat, se, nf, level);
    let mut e = Estimate::new(
        "chao-lb (sim stand-in)",
        "Mh Chao (LB)",
        n_hat,
        se,
        interval,
        n,
    )
    .with_assumptions(&[
        Assumption::ClosedPopulation,
        Assumption::ModelledHeterogeneity,
        Assumption::LowCountsInformative,
    ])
    .with_other_interval(ci::wald(n_hat, se, nf, level));
    if flag {
        e = e.with_warning(Warning::Other {
            message: "nobody was seen twice: bias-corrected form used".into(),
        });
    }
    Ok(e)
}

impl SimEstimator for ChaoLowerBound {
    fn name(&self) -> String {
        "Chao LB".into()
    }

    fn estimate(&self, data: &SimData) -> Vec<(String, Result<Estimate>)> {
        let r = match data {
            SimData::Counts(c) => chao_lower_bound(
                c.observed(),
                c.frequency_of(1),
                c.frequency_of(2),
                1.0,
                self.level,
            ),
            _ => {
                let Some(h) = data.histories() else {
                    return Vec::new();
                };
                let t = h.occasions();
                if t < 2 {
                    return Vec::new();
                }
                let (mut f1, mut f2) = (0u64, 0u64);
                for (code, f) in h.iter() {
                    match code.count_ones() {
                        1 => f1 += f,
                        2 => f2 += f,
                        _ => {}
                    }
                }
                chao_lower_bound(
                    h.observed(),
                    f1,
                    f2,
                    (t as f64 - 1.0) / t as f64,
                    self.level,
                )
            }
        };
        vec![(self.name(), r)]
    }
}

/// Adapter: any `Fn(&CaptureHistories) -> Result<Vec<Estimate>>` as a [`SimEstimator`].
/// Each estimate is labelled with its `model`; an error is reported under the adapter's
/// name (the replicate then counts as failed for every model of the family). Data that
/// are not histories (or list tables) are skipped.
///
/// # Examples
/// ```
/// use darkfigure::sim::{self, HistoriesFn, RunOptions, SimEstimator, Study};
/// use darkfigure::two_source::schnabel;
/// let study = Study::from_json(r#"{"name": "plug-in", "replicates": 100, "seed": 7,
///   "scenarios": [{"name": "M0", "model": {"kind": "closed", "occasions": 5,
///                  "strata": [{"n": 2000, "p": 0.2}]}}]}"#)?;
/// let est: Vec<Box<dyn SimEstimator>> =
///     vec![Box::new(HistoriesFn::new("schnabel", |h| Ok(vec![schnabel(h, 0.95)?])))];
/// let table = sim::run(&study, &est, &RunOptions::default())?.metrics();
/// let row = &table.rows[0];
/// assert_eq!((row.estimator.as_str(), row.estimates), ("Schnabel", 100));
/// assert!(row.rel_bias.abs() < 0.02);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub struct HistoriesFn<F> {
    name: String,
    f: F,
}

impl<F> HistoriesFn<F>
where
    F: Fn(&CaptureHistories) -> Result<Vec<Estimate>> + Send + Sync,
{
    /// Wraps `f` under `name`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        HistoriesFn {
            name: name.into(),
            f,
        }
    }
}

impl<F> SimEstimator for HistoriesFn<F>
where
    F: Fn(&CaptureHistories) -> Result<Vec<Estimate>> + Send + Sync,
{
    fn name(&self) -> String {
        self.name.clone()
    }

    fn estimate(&self, data: &SimData) -> Vec<(String, Result<Estimate>)> {
        let Some(h) = data.histories() else {
            return Vec::new();
        };
        match (self.f)(&h) {
            Ok(v) => v.into_iter().map(|e| (e.model.clone(), Ok(e))).collect(),
            Err(e) => vec![(self.name.clone(), Err(e))],
        }
    }
}

/// Adapter: any `Fn(&SimData) -> Vec<(String, Result<Estimate>)>` as a [`SimEstimator`].
pub struct DataFn<F> {
    name: String,
    f: F,
}

impl<F> DataFn<F>
where
    F: Fn(&SimData) -> Vec<(String, Result<Estimate>)> + Send + Sync,
{
    /// Wraps `f` under `name`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        DataFn {
            name: name.into(),
            f,
        }
    }
}

impl<F> SimEstimator for DataFn<F>
where
    F: Fn(&SimData) -> Vec<(String, Result<Estimate>)> + Send + Sync,
{
    fn name(&self) -> String {
        self.name.clone()
    }

    fn estimate(&self, data: &SimData) -> Vec<(String, Result<Estimate>)> {
        (self.f)(data)
    }
}

/// The built-in estimators by name ([`BUILTIN_ESTIMATORS`]), at confidence `level`.
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown name.
pub fn builtin_estimators(names: &[String], level: f64) -> Result<Vec<Box<dyn SimEstimator>>> {
    names
        .iter()
        .map(|n| -> Result<Box<dyn SimEstimator>> {
            Ok(match n.as_str() {
                "lincoln-petersen" => Box::new(TwoSource {
                    kind: TwoSourceKind::LincolnPetersen,
                    level,
                }),
                "chapman" => Box::new(TwoSource {
                    kind: TwoSourceKind::Chapman,
                    level,
                }),
                "bailey" => Box::new(TwoSource {
                    kind: TwoSourceKind::Bailey,
                    level,
                }),
                "schnabel" => Box::new(Ratio {
                    kind: RatioKind::Schnabel,
                    level,
                }),
                "schumacher-eschmeyer" => Box::new(Ratio {
                    kind: RatioKind::SchumacherEschmeyer,
                    level,
                }),
                "chao-lb" | "chao" => Box::new(ChaoLowerBound { level }),
                other => {
                    return Err(Error::param(
                        "estimators",
                        other,
                        format!("one of {}", BUILTIN_ESTIMATORS.join(", ")),
                    ));
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chao_on_dutch_immigrants() {
        // literature.md §2.1: 1880 + 1645²/(2·183) = 9273.5, SE 662.6
        let e = chao_lower_bound(1880, 1645, 183, 1.0, 0.95).unwrap();
        assert!(
            (e.n_hat - (1880.0 + 1645.0f64.powi(2) / 366.0)).abs() < 1e-9,
            "{}",
            e.n_hat
        );
        assert!((e.se - 662.6).abs() < 0.05, "{}", e.se);
        assert!(e.interval.contains(e.n_hat));
        assert!(chao_lower_bound(0, 0, 0, 1.0, 0.95).is_err());
    }

    #[test]
    fn unknown_estimator_is_refused() {
        let e = builtin_estimators(&["nope".into()], 0.95).err().unwrap();
        assert!(e.to_string().contains("nope"));
    }
}
