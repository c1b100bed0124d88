//! Simulation studies: scenarios, fast generators, a parallel Monte-Carlo runner and
//! performance metrics with Monte-Carlo standard errors.
//!
//! ```text
//! Study (JSON) ──► Generator (per scenario, prepared once) ──► SimData per replicate
//!      ──► SimEstimator(s) ──► Records (per replicate) ──► MetricsTable ──► report
//! ```
//! Replicate i of scenario s draws from [`crate::rng::stream`]`(seed, &[s, i])`, so results
//! are identical on any number of threads and shards merge exactly
//! ([`RawResults::merge`]).
//!
//! # Estimators
//! [`builtin_estimators`] by name: `lincoln-petersen`, `chapman`, `bailey` (two
//! occasions), `schnabel`, `schumacher-eschmeyer` (t ≥ 3), `chao-lb`, `chao-bc`,
//! `zelterman` (the counts module's estimators on the frequencies f_k), `closedp` (the 12
//! `closedp.t` models, labelled as Rcapture prints them, with profile intervals for M0,
//! Mt and Mh Chao (LB); `closedp.0` on single-source counts), `closedp-profile` (profile
//! intervals for all), `closedp:<models>` (a selection, `*` = profile interval, e.g.
//! `closedp:M0*,Mt*,Mh Chao*,Mb,Mth Chao`), `mtb`, `mtbh-normal` (time, behaviour and
//! logit-normal heterogeneity, [`MtbhNormal`]) and `sparse-stepwise` (list tables),
//! `huggins` (the Huggins models M0, Mt, Mb, Mtb, with and without the covariates of a
//! `covariates` scenario, [`HugginsModels`]), `lcmcr` and `dga` (the Bayesian models).
//! Other estimators plug in through [`HistoriesFn`], [`DataFn`] or [`SimEstimator`].
//!
//! # One call
//! ```
//! use darkfigure::sim::{self, Study};
//! let study = Study::from_json(r#"{
//!   "name": "M0, two occasions", "replicates": 200, "seed": 1,
//!   "estimators": ["chapman"],
//!   "scenarios": [{"name": "M0", "model": {"kind": "closed", "occasions": 2,
//!                  "strata": [{"n": 1000, "p": 0.3}]}}]}"#)?;
//! let table = sim::run_study(&study, None)?;
//! let row = table.row("M0", "all", "Chapman").unwrap();
//! assert!(row.rel_bias.abs() < 0.02);                 // Chapman is nearly unbiased
//! assert!(row.primary().unwrap().coverage > 0.85);
//! println!("{}", sim::report::to_markdown(&table));
//! # Ok::<(), darkfigure::Error>(())
//! ```
//!
//! # References
//! Morris, T. P., White, I. R. & Crowther, M. J. (2019) Using simulation studies to
//! evaluate statistical methods. *Statistics in Medicine* 38, 2074-2102.

pub mod covariates;
pub mod estimators;
pub mod findings;
pub mod generate;
pub mod limits;
pub mod metrics;
pub mod report;
pub mod rng;
pub mod runner;
pub mod scenario;

pub use estimators::{
    BUILTIN_ESTIMATORS, ClosedChoice, ClosedLogLinear, DEFAULT_ESTIMATORS, DEFAULT_PROFILE_MODELS,
    DataFn, Dga, Frequency, FrequencyKind, HistoriesFn, HugginsModels, Lcmcr, Mtb, MtbhNormal,
    Recommended, SimEstimator, SparseStepwise, builtin_estimators, parse_closed_model,
};
pub use findings::{Findings, findings};
pub use generate::{
    CellSampler, Generator, Replicate, SimData, Target, UnitSampler, cell_probabilities,
};
pub use metrics::{IntervalMetrics, MetricRow, MetricsTable};
pub use rng::{SimRng, mix, stream};
pub use runner::{RawResults, RunOptions, run, shard_range};
pub use scenario::{
    Behaviour, ClosedSpec, CountCovariate, CountDist, CountSpec, CountStratum, CovariateDist,
    Dependence, Generation, Heterogeneity, Model, OpenSpec, OpenStratum, Output, PerOccasion,
    Scenario, Stratum, Study,
};

/// Runs a study (or the replicates `range` of it, a shard) with its built-in estimators
/// and returns the raw, mergeable results.
///
/// # Errors
/// As [`run_study`].
pub fn run_study_raw(
    study: &Study,
    range: Option<std::ops::Range<u64>>,
    progress: Option<&(dyn Fn() + Sync)>,
) -> crate::Result<RawResults> {
    let est = builtin_estimators(&study.estimators, study.level)?;
    run(
        study,
        &est,
        &RunOptions {
            replicates: range,
            progress,
        },
    )
}

/// Runs a study with its built-in estimators (`study.estimators`) on the current rayon
/// pool and returns the metrics. `progress` is called once per finished replicate.
///
/// # Errors
/// Validation errors of the study; [`crate::Error::InvalidParameter`] for an unknown
/// estimator name.
pub fn run_study(
    study: &Study,
    progress: Option<&(dyn Fn() + Sync)>,
) -> crate::Result<MetricsTable> {
    let est = builtin_estimators(&study.estimators, study.level)?;
    let raw = run(
        study,
        &est,
        &RunOptions {
            replicates: None,
            progress,
        },
    )?;
    Ok(raw.metrics())
}

fn closed(name: &str, t: usize, strata: Vec<Stratum>, by_stratum: bool) -> Scenario {
    Scenario {
        name: name.into(),
        by_stratum,
        model: Model::Closed(ClosedSpec {
            occasions: t,
            strata,
            dependence: Vec::new(),
            output: Output::Histories,
            generation: Generation::Auto,
        }),
    }
}

fn stratum(name: &str, n: u64, p: PerOccasion, het: Heterogeneity, b: Option<f64>) -> Stratum {
    Stratum {
        name: name.into(),
        n,
        p,
        heterogeneity: het,
        behaviour: b.map(|logit_shift| Behaviour { logit_shift }),
    }
}

/// The estimators of [`police_study`]: the two-source and ratio estimators, the
/// frequency estimators and the 12 `closedp.t` models (`closedp.0` on the count
/// scenarios) with profile intervals for M0, Mt and Mh Chao (LB).
pub const POLICE_ESTIMATORS: &[&str] = &[
    "lincoln-petersen",
    "chapman",
    "bailey",
    "schnabel",
    "schumacher-eschmeyer",
    "chao-lb",
    "zelterman",
    "closedp",
    "recommended",
];

/// The built-in study: police operations against a street sex market.
///
/// Six operations (capture occasions) against a market of 2,000 buyers and 300
/// sellers; buyers differ in how often they visit (logit-normal heterogeneity) and an
/// arrest deters them (trap-shy); sellers are easier to find and do not leave
/// (beta heterogeneity, trap-happy). Scenarios add one departure from M0 at a time, then
/// the full market, an open market, two-operation designs (Lincoln-Petersen, Chapman,
/// Bailey) and a year of police records as single-source counts.
pub fn police_study() -> Study {
    use Heterogeneity as H;
    use PerOccasion::{Each, Same};
    let seasonal = || Each(vec![0.05, 0.07, 0.12, 0.10, 0.06, 0.09]);
    let buyers_p = 0.08;
    let scenarios = vec![
        closed(
            "M0: 6 operations",
            6,
            vec![stratum("buyers", 2000, Same(buyers_p), H::None, None)],
            false,
        ),
        closed(
            "Mt: seasonal effort",
            6,
            vec![stratum("buyers", 2000, seasonal(), H::None, None)],
            false,
        ),
        closed(
            "Mh: buyers differ (logit-normal sd 1)",
            6,
            vec![stratum(
                "buyers",
                2000,
                Same(buyers_p),
                H::LogitNormal { sd: 1.0 },
                None,
            )],
            false,
        ),
        closed(
            "Mb: arrest deters (trap-shy)",
            6,
            vec![stratum("buyers", 2000, Same(buyers_p), H::None, Some(-1.5))],
            false,
        ),
        closed(
            "Market: buyers Mthb, sellers Mh trap-happy",
            6,
            vec![
                stratum(
                    "buyers",
                    2000,
                    seasonal(),
                    H::LogitNormal { sd: 1.0 },
                    Some(-1.5),
                ),
                stratum(
                    "sellers",
                    300,
                    Same(0.25),
                    H::Beta { a: 2.0, b: 6.0 },
                    Some(0.5),
                ),
            ],
            true,
        ),
        Scenario {
            name: "Four agency lists, two positively dependent".into(),
            by_stratum: false,
            model: Model::Closed(ClosedSpec {
                occasions: 4,
                strata: vec![stratum(
                    "victims",
                    1000,
                    Each(vec![0.25, 0.2, 0.3, 0.15]),
                    H::None,
                    None,
                )],
                dependence: vec![Dependence {
                    lists: [1, 2],
                    log_odds_ratio: 1.0,
                }],
                output: Output::Lists,
                generation: Generation::Auto,
            }),
        },
        Scenario {
            name: "Open market: buyers come and go".into(),
            by_stratum: false,
            model: Model::Open(OpenSpec {
                occasions: 6,
                strata: vec![OpenStratum {
                    name: "buyers".into(),
                    initial: 1500,
                    entries: Same(150.0),
                    survival: Same(0.9),
                    p: Same(0.1),
                    heterogeneity: H::None,
                    behaviour: None,
                }],
            }),
        },
        closed(
            "Two operations: M0",
            2,
            vec![stratum("buyers", 2000, Same(0.15), H::None, None)],
            false,
        ),
        closed(
            "Two operations: Mh (logit-normal sd 1)",
            2,
            vec![stratum(
                "buyers",
                2000,
                Same(0.15),
                H::LogitNormal { sd: 1.0 },
                None,
            )],
            false,
        ),
        Scenario {
            name: "Police records: Poisson-gamma counts".into(),
            by_stratum: false,
            model: Model::Counts(CountSpec {
                strata: vec![CountStratum {
                    name: "buyers".into(),
                    n: 5000,
                    dist: CountDist::PoissonGamma {
                        mean: 0.4,
                        shape: 1.0,
                    },
                    covariate: None,
                }],
            }),
        },
        Scenario {
            name: "Police records: one-inflated (deterrence)".into(),
            by_stratum: false,
            model: Model::Counts(CountSpec {
                strata: vec![CountStratum {
                    name: "buyers".into(),
                    n: 5000,
                    dist: CountDist::OneInflated {
                        lambda: 0.4,
                        omega: 0.3,
                    },
                    covariate: None,
                }],
            }),
        },
    ];
    Study {
        name: "Police operations against a street sex market".into(),
        seed: scenario::DEFAULT_SEED,
        replicates: 1000,
        level: 0.95,
        estimators: POLICE_ESTIMATORS.iter().map(|s| s.to_string()).collect(),
        scenarios,
    }
}
