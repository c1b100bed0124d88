//! Network scale-up (NSUM): how many people respondents know in groups of known size
//! gives their personal network size (degree); how many they know in the hidden group,
//! scaled up by the degrees, gives the hidden group's size.
//!
//! ```text
//! degree (Killworth known-population estimator):  d̂ᵢ = N · Σⱼ yᵢⱼ / Σⱼ Nⱼ
//! basic scale-up (ratio of sums):  N̂_H = N · Σ wᵢ yᵢH / Σ wᵢ d̂ᵢ  / (δ · τ)
//! PIMLE (mean of ratios):          N̂_H = N · Σ wᵢ (yᵢH / d̂ᵢ) / Σ wᵢ   over d̂ᵢ > 0
//! Killworth SE:                    N · sqrt(p̂(1 − p̂) / Σ wᵢ d̂ᵢ),  p̂ = Σ wᵢ yᵢH / Σ wᵢ d̂ᵢ
//! ```
//! δ is the degree ratio (hidden members' average degree relative to the frame's) and τ
//! the transmission rate (the share of a hidden member's contacts who know of their
//! membership): the generalized scale-up adjustment factors of Feehan & Salganik (2016).
//! networkreporting does not divide the Killworth SE by δτ; darkfigure's [`Estimate`]
//! does (the SE of the adjusted estimate), and [`NsumFit::killworth_se`] keeps the
//! package's figure.
//!
//! Missing answers: as networkreporting 0.3.1. In the degree sum a missing known-population
//! answer counts as 0 (`rowSums(na.rm = TRUE)`); in the scale-up estimator respondents
//! with a missing hidden-population answer (or degree, or weight) are dropped
//! (`missing = "complete.obs"`). The rescaled bootstrap keeps every respondent in the
//! resampled clusters and drops the same incomplete ones.
//!
//! # References
//! - Killworth, P. D. et al. (1998) *Evaluation Review* 22, 289-308 (estimator and SE).
//! - Zheng, Salganik & Gelman (2006); Rwanda Biomedical Center (2012) NSUM report.
//! - Feehan, D. M. & Salganik, M. J. (2016) Generalizing the network scale-up method.
//!   *Sociological Methodology* 46, 153-186.
//! - Rao, J. N. K. & Wu, C. F. J. (1988) *JASA* 83, 231-241; Rust & Rao (1996) (rescaled
//!   bootstrap).
//! - R: `networkreporting::kp.individual.estimator_`, `nsum.estimator`,
//!   `nsum.internal.consistency`, `topcode.data`; `surveybootstrap::rescaled.bootstrap.sample`.

use crate::ci;
use crate::error::{Error, Location, Result};
use crate::estimate::{Assumption, Estimate, Interval, IntervalMethod};
use crate::kp::multiplier::BootstrapSummary;
use crate::kp::table::Table;
use rand::RngExt;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// Aggregated relational data: one row per respondent, one count column per group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArdSurvey {
    /// Count columns by name.
    pub columns: Vec<String>,
    /// `data[c][i]`: respondent i's answer for column c (`None` = missing).
    pub data: Vec<Vec<Option<f64>>>,
    /// Survey weights (`None` = equal).
    pub weights: Option<Vec<f64>>,
    /// Primary sampling unit of each respondent (cluster index).
    pub cluster: Option<Vec<usize>>,
    /// Stratum of each respondent.
    pub strata: Option<Vec<usize>>,
    /// Number of respondents.
    pub n: usize,
}

fn label_index(t: &Table, col: usize) -> Vec<usize> {
    let mut map: BTreeMap<String, usize> = BTreeMap::new();
    (0..t.len())
        .map(|r| {
            let v = t.cell(r, col).to_string();
            let k = map.len();
            *map.entry(v).or_insert(k)
        })
        .collect()
}

impl ArdSurvey {
    /// Reads the survey: `counts` are the ARD columns to keep (known and hidden groups),
    /// `weight`, `cluster`, `strata` optional design columns.
    ///
    /// # Errors
    /// [`Error::CsvFormat`] for a missing column; [`Error::CsvValue`] naming file, line,
    /// column and value for a negative or non-numeric count or a non-positive weight.
    pub fn from_table(
        t: &Table,
        counts: &[&str],
        weight: Option<&str>,
        cluster: Option<&str>,
        strata: Option<&str>,
    ) -> Result<Self> {
        let mut data = Vec::with_capacity(counts.len());
        for c in counts {
            let ci = t.column(c)?;
            let mut col = Vec::with_capacity(t.len());
            for r in 0..t.len() {
                let v = t.number_or_missing(r, ci)?;
                if let Some(x) = v
                    && x < 0.0
                {
                    return Err(t.value_error(r, ci, "a count ≥ 0 (number of people known)"));
                }
                col.push(v);
            }
            data.push(col);
        }
        let weights = match weight {
            Some(w) => {
                let wc = t.column(w)?;
                let mut v = Vec::with_capacity(t.len());
                for r in 0..t.len() {
                    let x = t.number(r, wc)?;
                    if x <= 0.0 {
                        return Err(t.value_error(r, wc, "a positive survey weight"));
                    }
                    v.push(x);
                }
                Some(v)
            }
            None => None,
        };
        let cluster = cluster
            .map(|c| t.column(c).map(|ci| label_index(t, ci)))
            .transpose()?;
        let strata = strata
            .map(|c| t.column(c).map(|ci| label_index(t, ci)))
            .transpose()?;
        Ok(ArdSurvey {
            columns: counts.iter().map(|s| s.to_string()).collect(),
            data,
            weights,
            cluster,
            strata,
            n: t.len(),
        })
    }

    /// Builds a survey from Rust values (column-major), no design columns.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for columns of different lengths or a negative count.
    pub fn new(columns: Vec<String>, data: Vec<Vec<Option<f64>>>) -> Result<Self> {
        let n = data.first().map_or(0, Vec::len);
        if columns.len() != data.len() || data.iter().any(|c| c.len() != n) || n == 0 {
            return Err(Error::invalid(
                "ARD columns must be non-empty and of equal length",
            ));
        }
        for col in &data {
            if let Some(i) = col
                .iter()
                .position(|v| v.is_some_and(|x| x < 0.0 || !x.is_finite()))
            {
                return Err(Error::invalid_row(i, "a count is negative or not finite"));
            }
        }
        Ok(ArdSurvey {
            columns,
            data,
            weights: None,
            cluster: None,
            strata: None,
            n,
        })
    }

    /// Index of a column.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the column.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            Error::param(
                "column",
                name.to_string(),
                format!("one of {}", self.columns.join(", ")),
            )
        })
    }

    /// Answers above `max` in the named columns are set to `max`
    /// (`networkreporting::topcode.data`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an unknown column.
    pub fn topcode(&mut self, columns: &[&str], max: f64) -> Result<()> {
        for c in columns {
            let ci = self.col(c)?;
            for v in self.data[ci].iter_mut().flatten() {
                if *v > max {
                    *v = max;
                }
            }
        }
        Ok(())
    }
}

/// Groups of known size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnownPopulations {
    /// Column names in the survey.
    pub names: Vec<String>,
    /// Sizes.
    pub sizes: Vec<f64>,
}

impl KnownPopulations {
    /// Builds the list.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a size that is not positive (row given).
    pub fn new(names: Vec<String>, sizes: Vec<f64>) -> Result<Self> {
        if names.len() != sizes.len() || names.is_empty() {
            return Err(Error::invalid(
                "known populations: names and sizes differ in length or are empty",
            ));
        }
        if let Some(i) = sizes.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::invalid_row(
                i,
                format!("known-population size {} is not positive", sizes[i]),
            ));
        }
        Ok(KnownPopulations { names, sizes })
    }

    /// Reads a two-column table (name, size); the columns may be named `known_popn` /
    /// `size`, otherwise the first two are used.
    ///
    /// # Errors
    /// [`Error::CsvValue`] naming file, line, column and value for a size that is zero,
    /// negative or not a number.
    pub fn from_table(t: &Table) -> Result<Self> {
        let nc = t.find("known_popn").or_else(|| t.find("name")).unwrap_or(0);
        let sc = t.find("size").unwrap_or(1.min(t.headers.len() - 1));
        let mut names = Vec::new();
        let mut sizes = Vec::new();
        for r in 0..t.len() {
            let s = t.number(r, sc)?;
            if s <= 0.0 {
                return Err(t.value_error(r, sc, "a known-population size > 0"));
            }
            names.push(t.cell(r, nc).to_string());
            sizes.push(s);
        }
        KnownPopulations::new(names, sizes)
    }

    /// Σ Nⱼ.
    pub fn total(&self) -> f64 {
        self.sizes.iter().sum()
    }
}

/// Killworth's known-population degree estimates `d̂ᵢ = N Σⱼ yᵢⱼ / Σⱼ Nⱼ` (missing answers
/// count as 0, as `networkreporting::kp.individual.estimator_`).
///
/// # Errors
/// [`Error::InvalidParameter`] when a known population is not a survey column or N is not
/// positive.
pub fn killworth_degrees(
    survey: &ArdSurvey,
    known: &KnownPopulations,
    total: f64,
) -> Result<Vec<f64>> {
    degrees_excluding(survey, known, total, None)
}

fn degrees_excluding(
    survey: &ArdSurvey,
    known: &KnownPopulations,
    total: f64,
    skip: Option<usize>,
) -> Result<Vec<f64>> {
    if !(total.is_finite() && total > 0.0) {
        return Err(Error::param("total", total, "a positive population size N"));
    }
    let cols: Vec<usize> = known
        .names
        .iter()
        .map(|n| survey.col(n))
        .collect::<Result<_>>()?;
    let mut sum_n = 0.0;
    let mut d = vec![0.0; survey.n];
    for (j, &c) in cols.iter().enumerate() {
        if Some(j) == skip {
            continue;
        }
        sum_n += known.sizes[j];
        for (i, v) in survey.data[c].iter().enumerate() {
            d[i] += v.unwrap_or(0.0);
        }
    }
    Ok(d.into_iter().map(|s| total * s / sum_n).collect())
}

/// Settings of the scale-up estimator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScaleUp {
    /// Total population size N of the frame.
    pub total: f64,
    /// Use the survey weights.
    pub weighted: bool,
    /// Degree ratio δ (1 = no adjustment).
    pub degree_ratio: f64,
    /// Transmission rate τ (1 = no adjustment).
    pub transmission: f64,
    /// Confidence level.
    pub level: f64,
}

impl ScaleUp {
    /// Basic, unweighted, unadjusted, 95%.
    pub fn new(total: f64) -> Self {
        ScaleUp {
            total,
            weighted: false,
            degree_ratio: 1.0,
            transmission: 1.0,
            level: 0.95,
        }
    }

    /// Use survey weights.
    pub fn weighted(mut self, yes: bool) -> Self {
        self.weighted = yes;
        self
    }

    /// Generalized-NSUM adjustment factors δ and τ.
    pub fn adjust(mut self, degree_ratio: f64, transmission: f64) -> Self {
        self.degree_ratio = degree_ratio;
        self.transmission = transmission;
        self
    }

    fn check(&self) -> Result<()> {
        ci::check_level(self.level)?;
        if !(self.total.is_finite() && self.total > 0.0) {
            return Err(Error::param(
                "total",
                self.total,
                "a positive population size N",
            ));
        }
        for (name, v) in [
            ("degree_ratio", self.degree_ratio),
            ("transmission", self.transmission),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::param(
                    name,
                    v,
                    "a positive factor (1 = no adjustment)",
                ));
            }
        }
        Ok(())
    }
}

/// A scale-up estimate with the figures networkreporting prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NsumFit {
    /// Hidden-population column.
    pub hidden: String,
    /// N̂ with SE (Killworth, divided by δτ) and Wald interval; rescaled-bootstrap
    /// interval among `other_intervals` when run.
    pub estimate: Estimate,
    /// (Weighted) connections to the hidden group, divided by δτ as the package does.
    pub tot_connections: f64,
    /// (Weighted) sum of degrees.
    pub sum_d_hat: f64,
    /// Killworth SE as networkreporting prints it (weighted sums, not divided by δτ).
    pub killworth_se: f64,
    /// Killworth SE from unweighted sums (`killworth.se.wgtdenom`).
    pub killworth_se_wgtdenom: f64,
    /// Respondents used (complete cases).
    pub n_used: usize,
    /// Bootstrap summary, when run.
    pub bootstrap: Option<BootstrapSummary>,
}

fn complete(survey: &ArdSurvey, y: usize, degrees: &[f64]) -> Vec<usize> {
    (0..survey.n)
        .filter(|&i| survey.data[y][i].is_some() && degrees[i].is_finite())
        .collect()
}

/// The basic scale-up estimator (ratio of sums) with the Killworth SE
/// (`networkreporting::nsum.estimator`).
///
/// # Errors
/// [`Error::InvalidParameter`] for bad settings or an unknown column;
/// [`Error::InvalidData`] when weights are asked for but the survey has none, or the
/// degree vector has the wrong length; [`Error::EstimateDoesNotExist`] when the degrees sum
/// to zero.
pub fn scale_up(survey: &ArdSurvey, degrees: &[f64], hidden: &str, p: &ScaleUp) -> Result<NsumFit> {
    p.check()?;
    let y = survey.col(hidden)?;
    if degrees.len() != survey.n {
        return Err(Error::invalid("one degree per respondent is needed"));
    }
    if p.weighted && survey.weights.is_none() {
        return Err(Error::invalid(
            "weighted scale-up asked for, but the survey has no weights",
        ));
    }
    let rows = complete(survey, y, degrees);
    let w = |i: usize| {
        if p.weighted {
            survey.weights.as_ref().map_or(1.0, |w| w[i])
        } else {
            1.0
        }
    };
    let (mut sy, mut sd, mut uy, mut ud) = (0.0, 0.0, 0.0, 0.0);
    for &i in &rows {
        let yi = survey.data[y][i].unwrap_or(0.0);
        sy += w(i) * yi;
        sd += w(i) * degrees[i];
        uy += yi;
        ud += degrees[i];
    }
    if sd.is_nan() || sd <= 0.0 {
        return Err(Error::no_estimate(
            "the respondents' degrees sum to zero: nothing to scale up",
        ));
    }
    let adj = p.degree_ratio * p.transmission;
    let n_hat = p.total * sy / sd / adj;
    let pw = sy / sd;
    let pu = uy / ud;
    let kse = p.total * (pw * (1.0 - pw) / sd).max(0.0).sqrt();
    let kse_u = p.total * (pu * (1.0 - pu) / ud).max(0.0).sqrt();
    let se = kse / adj;
    let model = if adj != 1.0 {
        format!("scale-up (δ = {}, τ = {})", p.degree_ratio, p.transmission)
    } else if p.weighted {
        "scale-up (weighted)".into()
    } else {
        "scale-up".into()
    };
    let z = ci::z_two_sided(p.level);
    let estimate = Estimate::new(
        "nsum",
        model,
        n_hat,
        se,
        Interval {
            lower: (n_hat - z * se).max(0.0),
            upper: n_hat + z * se,
            level: p.level,
            method: IntervalMethod::Wald,
        },
        0,
    )
    .with_assumptions(&[
        Assumption::RandomMixing,
        Assumption::AccurateReporting,
        Assumption::RepresentativeSurvey,
    ]);
    Ok(NsumFit {
        hidden: hidden.to_string(),
        estimate,
        tot_connections: sy / adj,
        sum_d_hat: sd,
        killworth_se: kse,
        killworth_se_wgtdenom: kse_u,
        n_used: rows.len(),
        bootstrap: None,
    })
}

/// The mean-of-ratios (PIMLE) estimator `N Σ wᵢ(yᵢ/d̂ᵢ) / Σ wᵢ` over respondents with
/// d̂ᵢ > 0, with SE from the spread of the ratios (`N · sd(yᵢ/d̂ᵢ)/sqrt(n)`, unweighted
/// form) and a Wald interval. Divided by δτ like the basic estimator.
///
/// # Errors
/// As [`scale_up`]; [`Error::EstimateDoesNotExist`] when no respondent has a positive
/// degree.
pub fn pimle(survey: &ArdSurvey, degrees: &[f64], hidden: &str, p: &ScaleUp) -> Result<Estimate> {
    p.check()?;
    let y = survey.col(hidden)?;
    if degrees.len() != survey.n {
        return Err(Error::invalid("one degree per respondent is needed"));
    }
    let rows: Vec<usize> = complete(survey, y, degrees)
        .into_iter()
        .filter(|&i| degrees[i] > 0.0)
        .collect();
    if rows.is_empty() {
        return Err(Error::no_estimate("no respondent has a positive degree"));
    }
    let w = |i: usize| {
        if p.weighted {
            survey.weights.as_ref().map_or(1.0, |w| w[i])
        } else {
            1.0
        }
    };
    let r: Vec<f64> = rows
        .iter()
        .map(|&i| survey.data[y][i].unwrap_or(0.0) / degrees[i])
        .collect();
    let sw: f64 = rows.iter().map(|&i| w(i)).sum();
    let mean = rows.iter().zip(&r).map(|(&i, x)| w(i) * x).sum::<f64>() / sw;
    let m = rows.len() as f64;
    let mu = r.iter().sum::<f64>() / m;
    let sd = (r.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (m - 1.0).max(1.0)).sqrt();
    let adj = p.degree_ratio * p.transmission;
    let n_hat = p.total * mean / adj;
    let se = p.total * sd / m.sqrt() / adj;
    let z = ci::z_two_sided(p.level);
    Ok(Estimate::new(
        "nsum",
        "PIMLE (mean of ratios)",
        n_hat,
        se,
        Interval {
            lower: (n_hat - z * se).max(0.0),
            upper: n_hat + z * se,
            level: p.level,
            method: IntervalMethod::Wald,
        },
        0,
    )
    .with_assumptions(&[Assumption::RandomMixing, Assumption::AccurateReporting]))
}

/// One known population held out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldOut {
    /// Known population.
    pub name: String,
    /// Its true size.
    pub known_size: f64,
    /// Scale-up estimate with degrees from the other known populations.
    pub estimate: f64,
    /// Σ d̂ᵢ over all respondents with a degree, as networkreporting prints it (the
    /// estimate itself uses only respondents who answered for the held-out group).
    pub d_hat_sum: f64,
    /// Killworth SE.
    pub killworth_se: f64,
    /// estimate − truth.
    pub err: f64,
    /// |err| / truth.
    pub relerr: f64,
}

/// The internal-consistency (leave-one-out) check of the known populations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InternalConsistency {
    /// Per known population.
    pub results: Vec<HoldOut>,
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Average relative error (mean |err|/truth).
    pub are: f64,
    /// Mean absolute error.
    pub mae: f64,
}

/// Holds each known population out in turn, re-estimates degrees from the others and
/// scales its size up (`networkreporting::nsum.internal.consistency` with
/// `kp.method = TRUE`, unweighted).
///
/// # Errors
/// As [`killworth_degrees`] and [`scale_up`]; at least two known populations are needed.
pub fn internal_consistency(
    survey: &ArdSurvey,
    known: &KnownPopulations,
    total: f64,
) -> Result<InternalConsistency> {
    if known.names.len() < 2 {
        return Err(Error::invalid(
            "the internal-consistency check needs at least two known populations",
        ));
    }
    let results = (0..known.names.len())
        .into_par_iter()
        .map(|j| {
            let d = degrees_excluding(survey, known, total, Some(j))?;
            let f = scale_up(survey, &d, &known.names[j], &ScaleUp::new(total))?;
            let err = f.estimate.n_hat - known.sizes[j];
            Ok(HoldOut {
                name: known.names[j].clone(),
                known_size: known.sizes[j],
                estimate: f.estimate.n_hat,
                d_hat_sum: d.iter().filter(|x| x.is_finite()).sum(),
                killworth_se: f.killworth_se,
                err,
                relerr: err.abs() / known.sizes[j],
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let k = results.len() as f64;
    let mse = results.iter().map(|r| r.err * r.err).sum::<f64>() / k;
    Ok(InternalConsistency {
        mse,
        rmse: mse.sqrt(),
        are: results.iter().map(|r| r.relerr).sum::<f64>() / k,
        mae: results.iter().map(|r| r.err.abs()).sum::<f64>() / k,
        results,
    })
}

/// The rescaled bootstrap (Rao & Wu 1988, mᵢ = nᵢ − 1) for a stratified cluster design:
/// in each stratum with nₕ clusters, nₕ − 1 clusters are drawn with replacement and each
/// respondent's weight is multiplied by nₕ/(nₕ − 1) × (times their cluster was drawn);
/// the scale-up estimate is recomputed with those weights and the degrees held fixed
/// (as `surveybootstrap::bootstrap.estimates(..., bootstrap.fn =
/// "rescaled.bootstrap.sample")`). Without clusters every respondent is a cluster;
/// without strata there is one stratum. Replicate b draws from
/// [`crate::rng::stream`]`(seed, &[b])`.
///
/// # Errors
/// As [`scale_up`]; [`Error::InvalidData`] when a stratum has a single cluster (no
/// resampling variance can be formed).
pub fn rescaled_bootstrap(
    survey: &ArdSurvey,
    degrees: &[f64],
    hidden: &str,
    p: &ScaleUp,
    replicates: usize,
    seed: u64,
) -> Result<BootstrapSummary> {
    let reps = rescaled_bootstrap_replicates(survey, degrees, hidden, p, replicates, seed)?;
    Ok(BootstrapSummary::from_replicates(&reps, seed, p.level))
}

/// The replicate estimates of [`rescaled_bootstrap`].
///
/// # Errors
/// As [`rescaled_bootstrap`].
pub fn rescaled_bootstrap_replicates(
    survey: &ArdSurvey,
    degrees: &[f64],
    hidden: &str,
    p: &ScaleUp,
    replicates: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    p.check()?;
    if replicates < 2 {
        return Err(Error::param("replicates", replicates, "at least 2"));
    }
    let y = survey.col(hidden)?;
    if degrees.len() != survey.n {
        return Err(Error::invalid("one degree per respondent is needed"));
    }
    let rows = complete(survey, y, degrees);
    let cluster: Vec<usize> = match &survey.cluster {
        Some(c) => c.clone(),
        None => (0..survey.n).collect(),
    };
    let stratum: Vec<usize> = match &survey.strata {
        Some(s) => s.clone(),
        None => vec![0; survey.n],
    };
    // cluster sums of w·y and w·d over complete rows; clusters grouped by stratum
    let nc = cluster.iter().copied().max().map_or(0, |m| m + 1);
    let mut cy = vec![0.0; nc];
    let mut cd = vec![0.0; nc];
    let mut cstr = vec![usize::MAX; nc];
    for i in 0..survey.n {
        let c = cluster[i];
        if cstr[c] == usize::MAX {
            cstr[c] = stratum[i];
        } else if cstr[c] != stratum[i] {
            return Err(Error::invalid_row(i, "a cluster spans two strata"));
        }
    }
    for &i in &rows {
        let w = if p.weighted {
            survey.weights.as_ref().map_or(1.0, |w| w[i])
        } else {
            1.0
        };
        cy[cluster[i]] += w * survey.data[y][i].unwrap_or(0.0);
        cd[cluster[i]] += w * degrees[i];
    }
    let ns = stratum.iter().copied().max().map_or(0, |m| m + 1);
    let mut by_stratum: Vec<Vec<usize>> = vec![Vec::new(); ns];
    for (c, &s) in cstr.iter().enumerate() {
        if s != usize::MAX {
            by_stratum[s].push(c);
        }
    }
    by_stratum.retain(|v| !v.is_empty());
    if let Some(s) = by_stratum.iter().find(|v| v.len() < 2) {
        return Err(Error::invalid(format!(
            "a stratum has a single cluster (cluster {}): the rescaled bootstrap needs at least two per stratum",
            s[0]
        )));
    }
    let adj = p.degree_ratio * p.transmission;
    Ok((0..replicates)
        .into_par_iter()
        .map(|b| {
            let mut rng = crate::rng::stream(seed, &[b as u64]);
            let (mut sy, mut sd) = (0.0, 0.0);
            for cl in &by_stratum {
                let nh = cl.len();
                let f = nh as f64 / (nh as f64 - 1.0);
                for _ in 0..nh - 1 {
                    let c = cl[rng.random_range(0..nh)];
                    sy += f * cy[c];
                    sd += f * cd[c];
                }
            }
            if sd > 0.0 {
                p.total * sy / sd / adj
            } else {
                f64::NAN
            }
        })
        .collect())
}

/// Attaches a bootstrap summary to a fit (its percentile interval becomes an
/// alternative interval of the estimate).
pub fn with_bootstrap(mut fit: NsumFit, b: BootstrapSummary) -> NsumFit {
    fit.estimate = fit.estimate.with_other_interval(b.percentile);
    fit.bootstrap = Some(b);
    fit
}

/// Location-free helper used by readers: an error for a known population missing from
/// the survey.
pub fn missing_known_column(file: &str, name: &str) -> Error {
    Error::CsvFormat {
        at: Location {
            file: file.to_string(),
            line: None,
            column: Some(name.to_string()),
        },
        reason: format!("known population `{name}` is not a column of the survey"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (ArdSurvey, KnownPopulations) {
        let s = ArdSurvey::new(
            vec!["a".into(), "b".into(), "h".into()],
            vec![
                vec![Some(2.0), Some(1.0), Some(0.0)],
                vec![Some(1.0), None, Some(3.0)],
                vec![Some(1.0), Some(0.0), Some(2.0)],
            ],
        )
        .unwrap();
        let k = KnownPopulations::new(vec!["a".into(), "b".into()], vec![100.0, 200.0]).unwrap();
        (s, k)
    }

    #[test]
    fn degrees_count_missing_as_zero() {
        let (s, k) = toy();
        let d = killworth_degrees(&s, &k, 3000.0).unwrap();
        assert_eq!(d, vec![30.0, 10.0, 30.0]);
    }

    #[test]
    fn basic_ratio_of_sums() {
        let (s, k) = toy();
        let d = killworth_degrees(&s, &k, 3000.0).unwrap();
        let f = scale_up(&s, &d, "h", &ScaleUp::new(3000.0)).unwrap();
        assert!((f.estimate.n_hat - 3000.0 * 3.0 / 70.0).abs() < 1e-9);
        let g = scale_up(&s, &d, "h", &ScaleUp::new(3000.0).adjust(0.5, 0.5)).unwrap();
        assert!((g.estimate.n_hat - 4.0 * f.estimate.n_hat).abs() < 1e-9);
    }

    #[test]
    fn known_size_zero_is_refused() {
        assert!(KnownPopulations::new(vec!["a".into()], vec![0.0]).is_err());
    }
}
