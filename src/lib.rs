//! # darkfigure
//!
//! Estimating hidden populations: how many people (or animals) a set of records never
//! saw. darkfigure fits capture-recapture and multiple-systems estimators and returns,
//! for every estimate, its standard error, a confidence interval with its method named,
//! the number observed and the dark figure, the model's fit statistics and the
//! assumptions it rests on.
//!
//! ## Quick start
//! Read a CSV, run every estimator that applies, print the figure to cite:
//! ```
//! use darkfigure::report::{AnalysisOptions, analyse};
//!
//! // Police operations: one row per sighting (id, occasion, stratum), layout detected.
//! let data = darkfigure::read_csv("examples/data/police_operations.csv")?;
//! let report = analyse(&data, &AnalysisOptions::default())?;
//! // One headline per stratum and one for the total, each saying what it rests on.
//! for h in &report.headline {
//!     let who = h.stratum.as_deref().unwrap_or("all");
//!     println!("{who}: N̂ = {:.0}, {}, {} seen; {}", h.n_hat, h.interval, h.observed, h.basis);
//!     if h.n_hat.is_finite() {
//!         assert!(h.n_hat >= h.observed as f64 && h.interval.contains(h.n_hat));
//!     }
//! }
//! assert!(report.headline.iter().any(|h| h.n_hat.is_finite()));
//! print!("{}", report.to_text()); // the headline first, then every model's evidence
//! # Ok::<(), darkfigure::Error>(())
//! ```
//! The same from inline numbers, one estimator at a time:
//! ```
//! use darkfigure::prelude::*;
//!
//! // Seber (1982, p. 107): 948 caught first, 421 second, 167 in both.
//! let h = CaptureHistories::from_strings(&[("11", 167), ("10", 781), ("01", 254)])?;
//! let e = chapman(&TwoSample::from_histories(&h)?, 0.95)?;
//! assert!((e.n_hat - 2382.7976).abs() < 1e-3);   // Rcapture::closedp.bc(m = "Mt")
//! // The Otis models of Rcapture::closedp.t as a table: by label, or the best by AIC.
//! let table = darkfigure::closed::closedp_t(&h, 0.95)?;
//! let (label, best) = table.best(Criterion::Aic).expect("a model fits");
//! println!("{e}\nbest by AIC: {label}, N̂ = {:.1}", best.estimate.n_hat);
//! # Ok::<(), darkfigure::Error>(())
//! ```
//!
//! ## Layout
//! - [`data`]: the data model ([`data::CaptureHistories`], [`data::CountData`],
//!   [`data::ListTable`]), summaries and CSV input/output.
//! - [`estimate`]: the [`Estimate`] every estimator returns.
//! - [`ci`]: the interval toolkit.
//! - [`model_table`]: [`ModelTable`], the set of models a model-set function returns
//!   (look up by label, best by [`Criterion`]).
//! - [`glm`]: the Poisson-GLM engine (IRLS) and the Newton maximiser every model uses.
//! - [`two_source`]: Lincoln-Petersen, Chapman, Bailey, Schnabel, Schumacher-Eschmeyer.
//! - [`closed`]: the Otis models and multiple-systems log-linear models (Rcapture's
//!   `closedp.t`, `closedp.0`, `closedpCI`, `closedpMS.t`, `closedp.bc`, `closedp.Mtb`).
//! - [`sparse`]: multiple-systems estimation for sparse lists (SparseMSE).
//! - [`counts`]: single-source count models with covariates (singleRcapture).
//! - [`huggins`]: Huggins conditional-likelihood models with individual covariates (VGAM's
//!   `posbernoulli.t/.b/.tb`, `posbinomial`).
//! - [`open`]: Jolly-Seber, robust design, CJS and POPAN.
//! - [`bayes`]: Bayesian multiple-systems estimation: latent classes (LCMCR) and
//!   decomposable-graph model averaging (dga), with convergence diagnostics.
//! - [`kp`]: key-population methods: multiplier, RDS, network scale-up, triangulation,
//!   and SS-PSE from respondent-driven samples.
//! - [`sim`]: simulation studies (scenarios, generators, Monte-Carlo runner, metrics).
//! - [`plan`]: planning a study by simulation: the smallest design whose interval meets a
//!   precision target, with closed forms (Robson & Regier) as checks.
//! - [`recommend`]: from the candidate estimates to the headline, the figure to cite.
//! - [`report`]: text, Markdown and JSON reports.
//! - [`rng`]: thread-independent random streams.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bayes;
pub mod ci;
pub mod closed;
pub mod counts;
pub mod data;
pub mod error;
pub mod estimate;
pub mod glm;
pub mod huggins;
pub mod kp;
pub mod model_table;
pub mod open;
pub mod plan;
pub mod prec;
pub mod prelude;
pub mod recommend;
pub mod report;
pub mod rng;
pub mod sim;
pub mod sparse;
pub mod two_source;

pub use data::csv_io::read_csv;
pub use error::{Error, Result};
pub use estimate::{Assumption, Estimate, FitStats, Interval, IntervalMethod, Warning};
pub use model_table::{Criterion, ModelTable};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
