//! Key-population size estimation beyond capture-recapture: the multiplier (benchmark)
//! method, respondent-driven sampling (RDS) estimators, the network scale-up method
//! (NSUM), and triangulation of several estimates into one consensus figure.
//!
//! ```text
//! survey CSV ─► kp::table::Table ─► ReceiptSurvey / RdsSample / ArdSurvey / Study
//!    ─► multiplier::Multiplier::fit · rds::estimate · nsum::scale_up · triangulate::triangulate
//!    ─► crate::Estimate (SE, named interval, assumptions, warnings) ─► kp::report (text/md/json)
//! ```
//! - [`multiplier`]: N̂ = M / P̂ (unweighted or RDS-weighted), delta-method,
//!   Lincoln-Petersen/Seber and Chapman intervals, respondent bootstrap, inverse-variance
//!   combination on the log scale, benchmark-consistency checks (Hickman et al. 2006).
//! - [`rds`]: RDS-I, RDS-II and successive-sampling (Gile 2011) weights and proportions with
//!   the RDS package's standard errors and design effects; recruitment diagnostics.
//! - [`nsum`]: Killworth degrees with topcoding, basic (ratio of sums) and PIMLE
//!   scale-up, Killworth SE, weights, degree-ratio and transmission adjustments, the
//!   leave-one-out internal-consistency check and the rescaled bootstrap.
//! - [`triangulate`]: the triangulator app's log-scale hierarchical model by quadrature, its
//!   τ = 0 closed form, each input's pull, and the median-of-methods convention.
//! - [`sspse`]: successive-sampling population size estimation (SS-PSE) from one RDS
//!   survey, or two with matched respondents, by MCMC (Handcock, Gile & Mar 2014).
//! - [`report`]: headline-first text, Markdown and JSON reports for the `keypop` binary.
//! - [`sim`]: simulation of a population on a random network with a unique-object
//!   distribution, an RDS survey and an NSUM survey; bias and coverage of the estimators.

pub mod jobs;
pub mod multiplier;
pub mod nsum;
pub mod rds;
pub mod report;
pub mod sim;
pub mod sspse;
pub mod table;
pub mod triangulate;
