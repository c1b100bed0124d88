//! The analyses behind the `keypop` binary, as plain settings structs: each reads its
//! files, runs the estimators and returns a [`KpReport`]. The binary only parses
//! arguments into these.

use crate::error::{Error, Result};
use crate::kp::multiplier::{BenchmarkInBootstrap, Multiplier, ReceiptSurvey};
use crate::kp::nsum::{self, ArdSurvey, KnownPopulations, ScaleUp};
use crate::kp::rds::{self, RdsSample, RdsWeighting};
use crate::kp::report::{self, KpReport};
use crate::kp::sspse::{self, SizePrior, Sspse};
use crate::kp::table::Table;
use crate::kp::triangulate::{self, Prior, Triangulation};
use std::path::PathBuf;

/// Multiplier analysis of a survey file.
#[derive(Debug, Clone)]
pub struct MultiplierJob {
    /// Survey CSV (one row per respondent).
    pub file: PathBuf,
    /// Benchmark count M.
    pub objects: f64,
    /// 0/1 column: received.
    pub received: String,
    /// Optional weight column.
    pub weight: Option<String>,
    /// The weight column is ∝ inclusion probability (RDSpopsize's `Weight`, a degree).
    pub weight_is_inclusion: bool,
    /// Design effect.
    pub design_effect: f64,
    /// Bootstrap replicates (0 = none).
    pub bootstrap: usize,
    /// Seed.
    pub seed: u64,
    /// Use RDSpopsize's bootstrap (M* = M − m + m*).
    pub rdspopsize_bootstrap: bool,
    /// Other observed counts (name, count).
    pub observed: Vec<(String, f64)>,
    /// Level.
    pub level: f64,
}

impl MultiplierJob {
    /// Runs it.
    ///
    /// # Errors
    /// Input errors naming file, line, column and value; estimator errors.
    pub fn run(&self) -> Result<KpReport> {
        let t = Table::read(&self.file)?;
        let s = ReceiptSurvey::from_table(
            &t,
            &self.received,
            self.weight.as_deref(),
            self.weight_is_inclusion,
        )?;
        let mut m = Multiplier::new(self.objects)
            .level(self.level)
            .design_effect(self.design_effect);
        if self.bootstrap > 0 {
            let how = if self.rdspopsize_bootstrap {
                BenchmarkInBootstrap::RdsPopSize
            } else {
                BenchmarkInBootstrap::Fixed
            };
            m = m.bootstrap(self.bootstrap, self.seed, how);
        }
        for (n, c) in &self.observed {
            m = m.observed_count(n.clone(), *c);
        }
        let fit = m.fit(&s)?;
        // The same survey without its weights, for comparison in the report.
        let unweighted = if s.weights.is_some() {
            let plain = ReceiptSurvey {
                received: s.received.clone(),
                weights: None,
            };
            let mut u = Multiplier::new(self.objects)
                .level(self.level)
                .design_effect(self.design_effect);
            for (n, c) in &self.observed {
                u = u.observed_count(n.clone(), *c);
            }
            Some(u.fit(&plain)?)
        } else {
            None
        };
        Ok(report::multiplier_report(&fit, unweighted.as_ref()))
    }
}

/// Network scale-up analysis.
#[derive(Debug, Clone)]
pub struct NsumJob {
    /// Survey CSV.
    pub survey: PathBuf,
    /// Known populations CSV (name, size).
    pub known: PathBuf,
    /// Total population N.
    pub total: f64,
    /// Hidden-population columns (the first is the headline).
    pub hidden: Vec<String>,
    /// Topcode for the known-population answers.
    pub topcode: Option<f64>,
    /// Weight column.
    pub weight: Option<String>,
    /// Cluster (PSU) column.
    pub cluster: Option<String>,
    /// Stratum column.
    pub strata: Option<String>,
    /// Degree ratio δ.
    pub degree_ratio: f64,
    /// Transmission rate τ.
    pub transmission: f64,
    /// Rescaled-bootstrap replicates (0 = none).
    pub bootstrap: usize,
    /// Seed.
    pub seed: u64,
    /// Run the internal-consistency check.
    pub consistency: bool,
    /// Level.
    pub level: f64,
}

impl NsumJob {
    /// Runs it.
    ///
    /// # Errors
    /// Input errors naming file, line, column and value (a known-population size of 0, a
    /// negative count, a missing column); estimator errors.
    pub fn run(&self) -> Result<KpReport> {
        if self.hidden.is_empty() {
            return Err(Error::param(
                "hidden",
                "none",
                "at least one hidden-population column",
            ));
        }
        let known = KnownPopulations::from_table(&Table::read(&self.known)?)?;
        let t = Table::read(&self.survey)?;
        for name in &known.names {
            if t.find(name).is_none() {
                return Err(nsum::missing_known_column(&t.file, name));
            }
        }
        let mut cols: Vec<&str> = known.names.iter().map(String::as_str).collect();
        cols.extend(self.hidden.iter().map(String::as_str));
        let mut s = ArdSurvey::from_table(
            &t,
            &cols,
            self.weight.as_deref(),
            self.cluster.as_deref(),
            self.strata.as_deref(),
        )?;
        if let Some(tc) = self.topcode {
            let kn: Vec<&str> = known.names.iter().map(String::as_str).collect();
            s.topcode(&kn, tc)?;
        }
        let d = nsum::killworth_degrees(&s, &known, self.total)?;
        let mut p = ScaleUp::new(self.total)
            .weighted(self.weight.is_some())
            .adjust(self.degree_ratio, self.transmission);
        p.level = self.level;
        let mut fits = Vec::new();
        let mut pimle = Vec::new();
        for h in &self.hidden {
            let mut f = nsum::scale_up(&s, &d, h, &p)?;
            if self.bootstrap > 0 {
                let b = nsum::rescaled_bootstrap(&s, &d, h, &p, self.bootstrap, self.seed)?;
                f = nsum::with_bootstrap(f, b);
            }
            fits.push(f);
            pimle.push(nsum::pimle(&s, &d, h, &p)?);
        }
        let ic = if self.consistency {
            Some(nsum::internal_consistency(&s, &known, self.total)?)
        } else {
            None
        };
        Ok(report::nsum_report(&fits, &pimle, ic.as_ref(), self.total))
    }
}

/// RDS analysis of a recruitment tree.
#[derive(Debug, Clone)]
pub struct RdsJob {
    /// CSV in recruitment order.
    pub file: PathBuf,
    /// Outcome column (0/1).
    pub outcome: String,
    /// Id column.
    pub id: String,
    /// Recruiter column.
    pub recruiter: String,
    /// Degree column.
    pub degree: String,
    /// Population size N (enables SS weights and the finite-population factor).
    pub population_size: Option<f64>,
    /// Seed of the SS-weight simulation.
    pub seed: u64,
    /// Level.
    pub level: f64,
}

impl RdsJob {
    /// Runs it: RDS-SS first when N is given (Gile 2011 recommends it when the sample is a
    /// sizeable fraction of N), else RDS-II; RDS-I and RDS-II beside it.
    ///
    /// # Errors
    /// Input errors naming file, line, column and value (an unknown recruiter id, a
    /// negative degree); estimator errors.
    pub fn run(&self) -> Result<KpReport> {
        let t = Table::read(&self.file)?;
        let s = RdsSample::from_table(&t, &self.id, &self.recruiter, &self.degree, &self.outcome)?;
        let n = self.population_size;
        let mut ests = Vec::new();
        if let Some(nn) = n {
            ests.push(rds::estimate(
                &s,
                RdsWeighting::ss(self.seed),
                Some(nn),
                self.level,
            )?);
        }
        ests.push(rds::estimate(&s, RdsWeighting::RdsII, n, self.level)?);
        ests.push(rds::estimate(&s, RdsWeighting::RdsI, n, self.level)?);
        let mut r = report::rds_report(&self.outcome, &ests, &rds::diagnostics(&s));
        if !s.imputed_degree.is_empty() {
            r.headline.warnings.push(format!(
                "{} respondents reported degree 0 or none; set to the largest degree (as the RDS package)",
                s.imputed_degree.len()
            ));
        }
        Ok(r)
    }
}

/// Triangulation of several estimates.
#[derive(Debug, Clone)]
pub struct TriangulateJob {
    /// CSV: name, estimate, lower95, upper95[, design_confidence_pct].
    pub file: PathBuf,
    /// Prior median and 75th percentile (`None` = flat).
    pub prior: Option<(f64, f64)>,
    /// Plausibility bounds.
    pub lower_bound: Option<f64>,
    /// Upper plausibility bound.
    pub upper_bound: Option<f64>,
    /// τ multiplier.
    pub tau_multiplier: f64,
    /// Level.
    pub level: f64,
}

impl TriangulateJob {
    /// Runs it.
    ///
    /// # Errors
    /// Input errors naming file, line, column and value; model errors.
    pub fn run(&self) -> Result<KpReport> {
        let studies = triangulate::studies_from_table(&Table::read(&self.file)?)?;
        let prior = match self.prior {
            Some((median, q75)) => Prior::MedianQ75 { median, q75 },
            None => Prior::Flat,
        };
        let t = Triangulation::new(prior)
            .bounds(self.lower_bound, self.upper_bound)
            .tau_multiplier(self.tau_multiplier)
            .level(self.level);
        Ok(report::triangulation_report(&triangulate::triangulate(
            &studies, &t,
        )?))
    }
}

/// SS-PSE population size from one RDS survey (or two with matched respondents).
#[derive(Debug, Clone)]
pub struct SspseJob {
    /// CSV of the (first) survey in recruitment order, with a `degree` column.
    pub file: PathBuf,
    /// Second survey for the capture-recapture form.
    pub second: Option<PathBuf>,
    /// Prior median of N (sspse's beta prior on n/N).
    pub prior_median: f64,
    /// Visibility (reporting-error) model.
    pub visibility: bool,
    /// Chains (run in parallel).
    pub chains: usize,
    /// Retained draws per chain (`None`: sspse's 1,000).
    pub samples: Option<usize>,
    /// Warm-up sweeps (`None`: sspse's 5,000).
    pub warmup: Option<usize>,
    /// Base seed.
    pub seed: u64,
    /// Level of the credible interval.
    pub level: f64,
}

impl SspseJob {
    /// Runs it: the posterior median of N and its equal-tailed credible interval.
    ///
    /// # Errors
    /// Input errors naming file, row, column and value; [`Error::InvalidParameter`] for a
    /// prior median, chain count or level out of range; sampler errors.
    pub fn run(&self) -> Result<KpReport> {
        let first = sspse::RdsSample::from_csv_path(&self.file)?;
        let defaults = Sspse::params(SizePrior::Beta {
            median: self.prior_median,
        });
        let p = sspse::SspseParams {
            samples: self.samples.unwrap_or(defaults.samples),
            warmup: self.warmup.unwrap_or(defaults.warmup),
            level: self.level,
            ..defaults
        }
        .chains(self.chains)
        .seed(self.seed)
        .visibility(self.visibility);
        let fit = match &self.second {
            None => p.fit(&first)?,
            Some(f) => {
                let mut second = sspse::RdsSample::from_csv_path(f)?;
                if second.recaptured.is_none() {
                    second.mark_recaptures_from(&first)?;
                }
                p.fit_recapture(&first, &second)?
            }
        };
        report::sspse_report(&fit)
    }
}
