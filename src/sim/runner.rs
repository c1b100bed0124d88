//! The Monte-Carlo runner: scenarios × estimators × replicates, in parallel, with
//! results that do not depend on the thread count or on how the replicates are sharded.
//!
//! Replicate i of scenario s draws from its own stream `mix(seed, s, i)`
//! ([`stream`]). Each replicate's outcomes are kept as small [`Record`]s; metrics are
//! computed from the records in replicate order, so 1 thread, 16 threads, or two shards
//! merged with [`RawResults::merge`] give bit-identical numbers. Data are generated,
//! estimated and dropped one replicate at a time per thread: nothing but the records is
//! held.

use super::estimators::SimEstimator;
use super::generate::Generator;
use super::rng::stream;
use super::scenario::Study;
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One interval of one estimate, reduced to what the metrics need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntervalRecord {
    /// Method label (`log-normal`, `wald`, `profile-likelihood`...).
    pub method: String,
    /// Lower limit.
    #[serde(with = "exact")]
    pub lower: f64,
    /// Upper limit (`inf` when unbounded).
    #[serde(with = "exact")]
    pub upper: f64,
}

/// Floats written as strings in Rust's shortest round-trip form and read back with the
/// correctly rounded `str::parse`, so shard files merge bit-exactly (`inf`, `NaN` kept).
mod exact {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{x:?}"))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let t = String::deserialize(d)?;
        t.parse::<f64>()
            .map_err(|e| D::Error::custom(format!("`{t}` is not a number: {e}")))
    }
}

/// [`exact`] for `(replicate, value)` pairs.
mod exact_pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};
    pub fn serialize<S: Serializer>(v: &[(u64, f64)], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(|(i, x)| (*i, format!("{x:?}")))
            .collect::<Vec<_>>()
            .serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u64, f64)>, D::Error> {
        Vec::<(u64, String)>::deserialize(d)?
            .into_iter()
            .map(|(i, t)| {
                t.parse::<f64>()
                    .map(|x| (i, x))
                    .map_err(|e| D::Error::custom(format!("`{t}` is not a number: {e}")))
            })
            .collect()
    }
}

/// What one estimator gave on one replicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// An estimate.
    Ok {
        /// N̂.
        #[serde(with = "exact")]
        n_hat: f64,
        /// Its standard error.
        #[serde(with = "exact")]
        se: f64,
        /// Whether it carried warnings.
        flagged: bool,
        /// Primary interval first, then the others.
        intervals: Vec<IntervalRecord>,
    },
    /// No estimate (the error message).
    Failed {
        /// Why.
        error: String,
    },
}

/// One replicate's outcome for one (scenario, target, estimator) series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Replicate index.
    pub replicate: u64,
    /// True population size of this replicate.
    #[serde(with = "exact")]
    pub truth: f64,
    /// The outcome.
    pub outcome: Outcome,
}

/// All records of one estimator on one target of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Index of the scenario in the study.
    pub scenario_index: usize,
    /// Scenario name.
    pub scenario: String,
    /// Target (`all` or a stratum).
    pub target: String,
    /// Estimator label.
    pub estimator: String,
    /// Records sorted by replicate.
    pub records: Vec<Record>,
}

/// Per (scenario, target): replicates run and replicates whose sample was empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetTally {
    /// Index of the scenario in the study.
    pub scenario_index: usize,
    /// Scenario name.
    pub scenario: String,
    /// Target name.
    pub target: String,
    /// `(replicate, true size)` for every replicate run, by index.
    #[serde(with = "exact_pairs")]
    pub truths: Vec<(u64, f64)>,
    /// Replicates without data (nobody caught), by index.
    pub no_data: Vec<u64>,
}

/// Raw results of a study (or of a shard of it): mergeable, serialisable. Floats are
/// written as strings in shortest round-trip form, so shards saved as JSON and merged
/// give bit-identical metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawResults {
    /// Study name.
    pub study: String,
    /// Base seed.
    pub seed: u64,
    /// Confidence level.
    #[serde(with = "exact")]
    pub level: f64,
    /// Replicate ranges covered, sorted and disjoint.
    pub ranges: Vec<(u64, u64)>,
    /// Per (scenario, target) tallies, sorted by (scenario index, target order).
    pub targets: Vec<TargetTally>,
    /// The series, sorted by (scenario index, target, estimator) in first-seen order.
    pub series: Vec<Series>,
}

/// Options of [`run`].
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Only run these replicates (a shard); `None` = `0..study.replicates`.
    pub replicates: Option<Range<u64>>,
    /// Called once per finished replicate (from worker threads).
    pub progress: Option<&'a (dyn Fn() + Sync)>,
}

/// The replicate range of shard `k` (1-based) of `m` equal shards of `replicates`.
///
/// # Errors
/// [`Error::InvalidParameter`] unless 1 ≤ k ≤ m.
pub fn shard_range(replicates: u64, k: u64, m: u64) -> Result<Range<u64>> {
    if m == 0 || k == 0 || k > m {
        return Err(Error::param(
            "shard",
            format!("{k}/{m}"),
            "k/m with 1 ≤ k ≤ m",
        ));
    }
    let at = |j: u64| ((replicates as u128 * j as u128) / m as u128) as u64;
    Ok(at(k - 1)..at(k))
}

impl RawResults {
    /// Writes the raw results as JSON (floats exact, see the type's docs).
    ///
    /// # Errors
    /// [`Error::Numerical`] if serialisation fails.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Numerical {
            reason: format!("JSON: {e}"),
        })
    }

    /// Reads raw results written by [`RawResults::to_json`].
    ///
    /// # Errors
    /// [`Error::InvalidData`] naming the JSON position of a malformed file.
    pub fn from_json(text: &str) -> Result<RawResults> {
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("raw results: {e}")))
    }

    /// Number of replicates covered.
    pub fn replicates(&self) -> u64 {
        self.ranges.iter().map(|r| r.1 - r.0).sum()
    }

    /// Merges the results of another shard of the same study.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the studies differ (name, seed, level) or the replicate
    /// ranges overlap.
    pub fn merge(mut self, other: RawResults) -> Result<RawResults> {
        if self.study != other.study || self.seed != other.seed || self.level != other.level {
            return Err(Error::invalid(format!(
                "cannot merge shards of different studies (`{}` seed {} vs `{}` seed {})",
                self.study, self.seed, other.study, other.seed
            )));
        }
        let mut ranges = self.ranges.clone();
        ranges.extend(other.ranges.iter().copied());
        ranges.sort();
        for w in ranges.windows(2) {
            if w[0].1 > w[1].0 {
                return Err(Error::invalid(format!(
                    "shards overlap: replicates {}..{} and {}..{}",
                    w[0].0, w[0].1, w[1].0, w[1].1
                )));
            }
        }
        // coalesce adjacent ranges
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for r in ranges {
            match merged.last_mut() {
                Some(last) if last.1 == r.0 => last.1 = r.1,
                _ => merged.push(r),
            }
        }
        self.ranges = merged;
        for t in other.targets {
            match self
                .targets
                .iter_mut()
                .find(|x| x.scenario_index == t.scenario_index && x.target == t.target)
            {
                Some(x) => {
                    x.truths.extend(t.truths);
                    x.truths.sort_by_key(|r| r.0);
                    x.no_data.extend(t.no_data);
                    x.no_data.sort_unstable();
                }
                None => self.targets.push(t),
            }
        }
        for s in other.series {
            match self.series.iter_mut().find(|x| {
                x.scenario_index == s.scenario_index
                    && x.target == s.target
                    && x.estimator == s.estimator
            }) {
                Some(x) => {
                    x.records.extend(s.records);
                    x.records.sort_by_key(|r| r.replicate);
                }
                None => self.series.push(s),
            }
        }
        self.canonical_order();
        Ok(self)
    }

    fn canonical_order(&mut self) {
        // targets: by scenario, then `all` first, then name; series likewise, then estimator
        let key = |t: &str| (t != "all", t.to_string());
        self.targets.sort_by(|a, b| {
            (a.scenario_index, key(&a.target)).cmp(&(b.scenario_index, key(&b.target)))
        });
        self.series.sort_by(|a, b| {
            (a.scenario_index, key(&a.target), a.estimator.clone()).cmp(&(
                b.scenario_index,
                key(&b.target),
                b.estimator.clone(),
            ))
        });
    }
}

/// Replicates run per parallel batch.
const CHUNK: u64 = 8192;

/// Per target of a replicate: name, truth, whether there were data, the outcomes.
type TargetOut = (String, f64, bool, Vec<(String, Outcome)>);

/// What one replicate produced: per target, truth, data-or-not and the estimates.
struct RepOut {
    scenario: usize,
    replicate: u64,
    targets: Vec<TargetOut>,
}

fn to_outcome(r: Result<crate::Estimate>) -> Outcome {
    match r {
        Ok(e) if e.n_hat.is_finite() => {
            let mut intervals = Vec::with_capacity(1 + e.other_intervals.len());
            for i in std::iter::once(&e.interval).chain(e.other_intervals.iter()) {
                intervals.push(IntervalRecord {
                    method: i.method.label().to_string(),
                    lower: i.lower,
                    upper: i.upper,
                });
            }
            Outcome::Ok {
                n_hat: e.n_hat,
                se: e.se,
                flagged: e.is_flagged(),
                intervals,
            }
        }
        Ok(e) => Outcome::Failed {
            error: format!("non-finite estimate {}", e.n_hat),
        },
        Err(e) => Outcome::Failed {
            error: e.to_string(),
        },
    }
}

/// Runs a study (or the shard `opts.replicates` of it) with the given estimators, in
/// parallel on the current rayon pool.
///
/// # Errors
/// The study's validation errors; [`Error::InvalidParameter`] for a shard range beyond
/// the study's replicates.
pub fn run(
    study: &Study,
    estimators: &[Box<dyn SimEstimator>],
    opts: &RunOptions<'_>,
) -> Result<RawResults> {
    study.validate()?;
    let range = opts.replicates.clone().unwrap_or(0..study.replicates);
    if range.end > study.replicates || range.start > range.end {
        return Err(Error::param(
            "replicates",
            format!("{}..{}", range.start, range.end),
            format!("a range within 0..{}", study.replicates),
        ));
    }
    let gens: Vec<Generator> = study
        .scenarios
        .iter()
        .map(Generator::new)
        .collect::<Result<_>>()?;
    let per = range.end - range.start;
    let total = per * gens.len() as u64;
    let mut raw = RawResults {
        study: study.name.clone(),
        seed: study.seed,
        level: study.level,
        ranges: if per > 0 {
            vec![(range.start, range.end)]
        } else {
            Vec::new()
        },
        targets: Vec::new(),
        series: Vec::new(),
    };
    for (s, g) in gens.iter().enumerate() {
        for t in g.target_names() {
            raw.targets.push(TargetTally {
                scenario_index: s,
                scenario: study.scenarios[s].name.clone(),
                target: t,
                truths: Vec::new(),
                no_data: Vec::new(),
            });
        }
    }
    // replicates are run in chunks so that only one chunk's outputs are held besides
    // the compact records
    let mut chunk = 0u64;
    while chunk < total {
        let outs: Vec<RepOut> = (chunk..(chunk + CHUNK).min(total))
            .into_par_iter()
            .map(|k| {
                let s = (k / per) as usize;
                let i = range.start + k % per;
                let mut rng = stream(study.seed, s as u64, i);
                let rep = gens[s].generate(&mut rng);
                let targets = rep
                    .targets
                    .into_iter()
                    .map(|t| {
                        let (has, res) = match &t.data {
                            Ok(d) => (
                                true,
                                estimators
                                    .iter()
                                    .flat_map(|e| e.estimate(d))
                                    .map(|(l, r)| (l, to_outcome(r)))
                                    .collect(),
                            ),
                            Err(_) => (false, Vec::new()),
                        };
                        (t.name, t.truth, has, res)
                    })
                    .collect();
                if let Some(p) = opts.progress {
                    p();
                }
                RepOut {
                    scenario: s,
                    replicate: i,
                    targets,
                }
            })
            .collect();
        for o in outs {
            for (tname, truth, has, res) in o.targets {
                let tally = raw
                    .targets
                    .iter_mut()
                    .find(|x| x.scenario_index == o.scenario && x.target == tname)
                    .expect("target registered");
                tally.truths.push((o.replicate, truth));
                if !has {
                    tally.no_data.push(o.replicate);
                }
                for (label, outcome) in res {
                    let pos = raw.series.iter().position(|x| {
                        x.scenario_index == o.scenario && x.target == tname && x.estimator == label
                    });
                    let rec = Record {
                        replicate: o.replicate,
                        truth,
                        outcome,
                    };
                    match pos {
                        Some(p) => raw.series[p].records.push(rec),
                        None => raw.series.push(Series {
                            scenario_index: o.scenario,
                            scenario: study.scenarios[o.scenario].name.clone(),
                            target: tname.clone(),
                            estimator: label,
                            records: vec![rec],
                        }),
                    }
                }
            }
        }
        chunk += CHUNK;
    }
    raw.canonical_order();
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges_tile_the_replicates() {
        let r: Vec<Range<u64>> = (1..=3).map(|k| shard_range(10, k, 3).unwrap()).collect();
        assert_eq!(r, vec![0..3, 3..6, 6..10]);
        assert!(shard_range(10, 0, 3).is_err());
        assert!(shard_range(10, 4, 3).is_err());
    }
}
