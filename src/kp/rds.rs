//! Respondent-driven sampling (RDS): estimators of a population proportion from a
//! recruitment tree, their standard errors, successive-sampling weights and the
//! recruitment diagnostics a reviewer asks for.
//!
//! ```text
//! RDS-II (Volz-Heckathorn):  p̂ = Σ yᵢ/dᵢ / Σ 1/dᵢ
//! RDS-I (Salganik-Heckathorn): transitions tᵍʰ recruiter group g → recruit group h,
//!     P = row-normalised t, q = stationary distribution of P (qP = q),
//!     hᵍ = harmonic mean degree in group g,  p̂ᵍ = (qᵍ/hᵍ) / Σₖ qₖ/hₖ
//! RDS-SS (Gile 2011): wᵢ = 1/π(dᵢ), π(k) the inclusion probability of a unit of degree k
//!     under successive sampling (PPS without replacement ∝ degree) of n from N,
//!     estimated by simulation with the population degree distribution updated in turn.
//! SE ("EL", as RDS::RDS.estimates.local): pairwise weights wᵢⱼ = wᵢwⱼ capped at 10·median,
//!     oᵢⱼ = (yᵢ + yⱼ)/2, ê = Σ_{i>j} oᵢⱼwᵢⱼ / Σ_{i>j} wᵢⱼ,
//!     Gᵢ = Σ_{j<i} wᵢⱼ²(oᵢⱼ − ê),  V = 4 Σ Gᵢ² / (Σ_{i>j} wᵢⱼ²)²,
//!     SE = sqrt((N − n)/(N − 1) · V)   (no finite-population factor without N)
//! design effect = SE² / ((N − n)/(N − 1) · s²/n), s² the weighted variance
//!     Σ wᵢ(yᵢ − p̂)²/(Σ wᵢ − 1) with the weights wᵢ summing to N (Hmisc's `wtd.var`)
//! ```
//!
//! # References
//! - Salganik, M. J. & Heckathorn, D. D. (2004) *Sociological Methodology* 34, 193-239.
//! - Volz, E. & Heckathorn, D. D. (2008) *J. Official Statistics* 24, 79-97.
//! - Gile, K. J. (2011) Improved inference for respondent-driven sampling data with
//!   application to HIV prevalence estimation. *JASA* 106, 135-146.
//! - Gile, K. J. & Handcock, M. S. (2010) *Sociological Methodology* 40, 285-327.
//! - R package RDS 0.9-10: `RDS.I.estimates`, `RDS.II.estimates`, `RDS.SS.estimates`,
//!   `rds.I.weights`, `vh.weights`, `gile.ss.weights` (matched).

use crate::ci;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Interval, IntervalMethod};
use crate::kp::table::{Table, is_missing};
use rand::RngExt;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// A respondent-driven sample: who recruited whom, degrees, and one 0/1 (or numeric)
/// outcome, in recruitment order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RdsSample {
    /// Respondent ids as given.
    pub ids: Vec<String>,
    /// Index of each respondent's recruiter (`None` for seeds).
    pub recruiter: Vec<Option<usize>>,
    /// Reported degree (network size); a zero or missing degree is replaced by the largest
    /// degree, as the RDS package does (listed in `imputed_degree`).
    pub degree: Vec<f64>,
    /// Outcome (0/1 for a proportion).
    pub outcome: Vec<f64>,
    /// Rows whose degree was zero or missing and was set to the maximum.
    pub imputed_degree: Vec<usize>,
}

/// Values of the recruiter column that mark a seed.
fn is_seed_marker(v: &str) -> bool {
    is_missing(v) || v.eq_ignore_ascii_case("seed") || v == "-1"
}

impl RdsSample {
    /// Builds a sample from Rust values (`recruiter[i] = None` for a seed).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for vectors of different lengths, a negative or non-finite
    /// degree, a recruiter index out of range, a respondent recruiting themself, or a
    /// recruitment cycle.
    pub fn new(
        ids: Vec<String>,
        recruiter: Vec<Option<usize>>,
        degree: Vec<f64>,
        outcome: Vec<f64>,
    ) -> Result<Self> {
        let n = ids.len();
        if n == 0 {
            return Err(Error::invalid("the sample is empty"));
        }
        if recruiter.len() != n || degree.len() != n || outcome.len() != n {
            return Err(Error::invalid(
                "ids, recruiters, degrees and outcomes differ in length",
            ));
        }
        for (i, d) in degree.iter().enumerate() {
            if d.is_finite() && *d < 0.0 {
                return Err(Error::invalid_row(i, format!("degree {d} is negative")));
            }
        }
        for (i, r) in recruiter.iter().enumerate() {
            if let Some(r) = r
                && (*r >= n || *r == i)
            {
                return Err(Error::invalid_row(
                    i,
                    format!("recruiter index {r} is not valid"),
                ));
            }
        }
        // cycle check: following recruiters must reach a seed within n steps
        for i in 0..n {
            let mut j = i;
            let mut steps = 0;
            while let Some(r) = recruiter[j] {
                j = r;
                steps += 1;
                if steps > n {
                    return Err(Error::invalid_row(i, "recruitment chain has a cycle"));
                }
            }
        }
        if recruiter.iter().all(|r| r.is_some()) {
            return Err(Error::invalid("no seed: every respondent has a recruiter"));
        }
        let max = degree
            .iter()
            .copied()
            .filter(|d| d.is_finite() && *d > 0.0)
            .fold(0.0, f64::max);
        if max <= 0.0 {
            return Err(Error::invalid("no respondent reports a positive degree"));
        }
        let mut degree = degree;
        let mut imputed = Vec::new();
        for (i, d) in degree.iter_mut().enumerate() {
            if !(d.is_finite() && *d > 0.0) {
                *d = max;
                imputed.push(i);
            }
        }
        Ok(RdsSample {
            ids,
            recruiter,
            degree,
            outcome,
            imputed_degree: imputed,
        })
    }

    /// Reads a recruitment tree from a CSV table with columns `id`, `recruiter`
    /// (recruiter's id; `seed`, `NA`, empty, `-1`, or `0` when no respondent has id 0,
    /// mark a seed), `degree` and the outcome column. Rows are taken in file order, which
    /// should be the recruitment order.
    ///
    /// # Errors
    /// [`Error::CsvValue`] naming file, line, column and value for a recruiter id that is
    /// not in the file, a negative or non-numeric degree, a duplicated id, or a missing or
    /// non-numeric outcome; [`Error::CsvFormat`] for a missing column.
    pub fn from_table(
        t: &Table,
        id: &str,
        recruiter: &str,
        degree: &str,
        outcome: &str,
    ) -> Result<Self> {
        let (ic, rc, dc, oc) = (
            t.column(id)?,
            t.column(recruiter)?,
            t.column(degree)?,
            t.column(outcome)?,
        );
        let mut index: HashMap<&str, usize> = HashMap::new();
        for r in 0..t.len() {
            let v = t.cell(r, ic);
            if is_missing(v) {
                return Err(t.value_error(r, ic, "a respondent id"));
            }
            if index.insert(v, r).is_some() {
                return Err(t.value_error(
                    r,
                    ic,
                    "a unique respondent id (this one appears twice)",
                ));
            }
        }
        let zero_is_seed = !index.contains_key("0");
        let mut recs = Vec::with_capacity(t.len());
        let mut degs = Vec::with_capacity(t.len());
        let mut outs = Vec::with_capacity(t.len());
        for r in 0..t.len() {
            let v = t.cell(r, rc);
            let rec = if is_seed_marker(v) || (zero_is_seed && v == "0") {
                None
            } else {
                match index.get(v) {
                    Some(&j) if j != r => Some(j),
                    Some(_) => {
                        return Err(t.value_error(
                            r,
                            rc,
                            "another respondent's id (a respondent cannot recruit themself)",
                        ));
                    }
                    None => {
                        return Err(t.value_error(
                            r,
                            rc,
                            "the id of a respondent in the file, or `seed`/NA for a seed",
                        ));
                    }
                }
            };
            recs.push(rec);
            let d = t.number_or_missing(r, dc)?;
            if let Some(d) = d
                && d < 0.0
            {
                return Err(t.value_error(r, dc, "a degree (network size) ≥ 0"));
            }
            degs.push(d.unwrap_or(f64::NAN));
            outs.push(t.number(r, oc)?);
        }
        let ids = (0..t.len()).map(|r| t.cell(r, ic).to_string()).collect();
        RdsSample::new(ids, recs, degs, outs).map_err(|e| match e {
            Error::InvalidData {
                row: Some(r),
                reason,
            } => Error::CsvValue {
                at: crate::error::Location {
                    file: t.file.clone(),
                    line: Some(t.rows[r].0),
                    column: Some(t.headers[rc].clone()),
                },
                value: t.cell(r, rc).to_string(),
                expected: reason,
            },
            e => e,
        })
    }

    /// Sample size.
    pub fn n(&self) -> usize {
        self.ids.len()
    }

    /// Recruitment wave of each respondent (0 for seeds).
    pub fn waves(&self) -> Vec<usize> {
        (0..self.n())
            .map(|i| {
                let mut w = 0;
                let mut j = i;
                while let Some(r) = self.recruiter[j] {
                    j = r;
                    w += 1;
                }
                w
            })
            .collect()
    }

    /// The seed at the root of each respondent's chain.
    pub fn seed_of(&self) -> Vec<usize> {
        (0..self.n())
            .map(|i| {
                let mut j = i;
                while let Some(r) = self.recruiter[j] {
                    j = r;
                }
                j
            })
            .collect()
    }

    /// The same sample with another outcome column.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the length differs.
    pub fn with_outcome(&self, outcome: Vec<f64>) -> Result<Self> {
        if outcome.len() != self.n() {
            return Err(Error::invalid(
                "outcome length differs from the sample size",
            ));
        }
        Ok(RdsSample {
            outcome,
            ..self.clone()
        })
    }
}

/// Which RDS weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum RdsWeighting {
    /// Salganik-Heckathorn (Markov-chain) estimator.
    RdsI,
    /// Volz-Heckathorn inverse-degree weights.
    RdsII,
    /// Gile's successive-sampling weights (need N).
    SuccessiveSampling {
        /// Samples simulated per iteration (RDS default 500).
        samples_per_iteration: usize,
        /// Iterations (RDS default 5).
        iterations: usize,
        /// Base seed of the simulation.
        seed: u64,
    },
}

impl RdsWeighting {
    /// Gile's SS with the RDS package's defaults (500 samples, 5 iterations).
    pub fn ss(seed: u64) -> Self {
        RdsWeighting::SuccessiveSampling {
            samples_per_iteration: 500,
            iterations: 5,
            seed,
        }
    }

    /// Label as the RDS package prints it.
    pub fn label(&self) -> &'static str {
        match self {
            RdsWeighting::RdsI => "RDS-I",
            RdsWeighting::RdsII => "RDS-II",
            RdsWeighting::SuccessiveSampling { .. } => "Gile's SS",
        }
    }
}

/// An RDS estimate of a population proportion (or mean).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RdsProportion {
    /// Weight type (`RDS-I`, `RDS-II`, `Gile's SS`).
    pub weighting: String,
    /// Estimated proportion with outcome 1 (mean of the outcome).
    pub estimate: f64,
    /// Standard error (RDS package "EL" form).
    pub se: f64,
    /// `estimate ± z·SE` (Wald; the RDS package uses z = 1.96 exactly).
    pub interval: Interval,
    /// Design effect relative to simple random sampling.
    pub design_effect: f64,
    /// Sample size.
    pub n: usize,
    /// Population size used (finite-population factor and weight scale).
    pub population_size: Option<f64>,
    /// Weights per respondent (sum N when N is given).
    pub weights: Vec<f64>,
    /// Assumptions.
    pub assumptions: Vec<Assumption>,
}

/// Estimates the population mean of `sample.outcome`.
///
/// `population_size` is N: the finite-population factor of the SE and the scale of the
/// weights; it is required for successive-sampling weights.
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad level, or a missing or too small N for SS
/// weights; [`Error::EstimateDoesNotExist`] when the outcome does not vary between
/// recruiter groups enough for RDS-I (no recruitment out of a group).
///
/// # Examples
/// ```
/// use darkfigure::kp::rds::{RdsSample, RdsWeighting, estimate};
/// let s = RdsSample::new(
///     (0..4).map(|i| i.to_string()).collect(),
///     vec![None, Some(0), Some(0), Some(1)],
///     vec![2.0, 4.0, 4.0, 8.0],
///     vec![1.0, 0.0, 1.0, 0.0],
/// )?;
/// let e = estimate(&s, RdsWeighting::RdsII, None, 0.95)?;
/// // (1/2 + 1/4) / (1/2 + 1/4 + 1/4 + 1/8)
/// assert!((e.estimate - 0.75 / 1.125).abs() < 1e-12);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn estimate(
    sample: &RdsSample,
    weighting: RdsWeighting,
    population_size: Option<f64>,
    level: f64,
) -> Result<RdsProportion> {
    ci::check_level(level)?;
    let n = sample.n();
    if let Some(nn) = population_size
        && !(nn.is_finite() && nn >= n as f64)
    {
        return Err(Error::param(
            "population_size",
            nn,
            format!("a population size at least the sample size {n}"),
        ));
    }
    let y = &sample.outcome;
    let weights = match weighting {
        RdsWeighting::RdsII => vh_weights(&sample.degree, population_size),
        RdsWeighting::RdsI => rds_i_weights(sample, population_size)?,
        RdsWeighting::SuccessiveSampling {
            samples_per_iteration,
            iterations,
            seed,
        } => {
            let nn = population_size.ok_or_else(|| {
                Error::param(
                    "population_size",
                    "none",
                    "N is required for successive-sampling weights",
                )
            })?;
            ss_weights(&sample.degree, nn, samples_per_iteration, iterations, seed)?
        }
    };
    let sw: f64 = weights.iter().sum();
    let est = weights.iter().zip(y).map(|(w, y)| w * y).sum::<f64>() / sw;
    let se = el_se(&weights, y, population_size);
    let fpc = population_size.map_or(1.0, |nn| (nn - n as f64) / (nn - 1.0));
    let var_outcome = weights
        .iter()
        .zip(y)
        .map(|(w, y)| w * (y - est).powi(2))
        .sum::<f64>()
        / (sw - 1.0);
    let var_srs = fpc * var_outcome / n as f64;
    let z = ci::z_two_sided(level);
    Ok(RdsProportion {
        weighting: weighting.label().into(),
        estimate: est,
        se,
        interval: Interval {
            lower: est - z * se,
            upper: est + z * se,
            level,
            method: IntervalMethod::Wald,
        },
        design_effect: se * se / var_srs,
        n,
        population_size,
        weights,
        assumptions: vec![Assumption::RandomRecruitment],
    })
}

/// Volz-Heckathorn weights 1/dᵢ (scaled to sum N when given, else degrees are first
/// normalised to mean 1, as `RDS::vh.weights`).
pub fn vh_weights(degree: &[f64], population_size: Option<f64>) -> Vec<f64> {
    let n = degree.len() as f64;
    let sd: f64 = degree.iter().sum();
    let w: Vec<f64> = degree.iter().map(|d| 1.0 / (n * d / sd)).collect();
    scale(w, population_size)
}

fn scale(w: Vec<f64>, population_size: Option<f64>) -> Vec<f64> {
    match population_size {
        Some(nn) => {
            let s: f64 = w.iter().sum();
            w.into_iter().map(|x| nn * x / s).collect()
        }
        None => w,
    }
}

/// The distinct outcome values, sorted (the groups of RDS-I).
fn groups(y: &[f64]) -> Vec<f64> {
    let mut g: Vec<f64> = y.to_vec();
    g.sort_by(|a, b| a.total_cmp(b));
    g.dedup();
    g
}

/// Salganik-Heckathorn RDS-I weights (`RDS::rds.I.weights`).
///
/// # Errors
/// [`Error::EstimateDoesNotExist`] when the transition matrix has no unique stationary
/// distribution.
pub fn rds_i_weights(sample: &RdsSample, population_size: Option<f64>) -> Result<Vec<f64>> {
    let y = &sample.outcome;
    let g = groups(y);
    let k = g.len();
    let n = y.len();
    if k < 2 {
        return Ok(scale(vec![1.0 / n as f64; n], population_size));
    }
    let gi: Vec<usize> = y
        .iter()
        .map(|v| g.iter().position(|x| x == v).unwrap_or(0))
        .collect();
    let mut t = vec![vec![0.0; k]; k];
    for (i, r) in sample.recruiter.iter().enumerate() {
        if let Some(r) = r {
            t[gi[*r]][gi[i]] += 1.0;
        }
    }
    for row in t.iter_mut() {
        if row.iter().sum::<f64>() == 0.0 {
            row.iter_mut().for_each(|x| *x = 0.1);
        }
    }
    let p: Vec<Vec<f64>> = t
        .iter()
        .map(|row| {
            let s: f64 = row.iter().sum();
            row.iter().map(|x| x / s).collect()
        })
        .collect();
    let q = stationary(&p).ok_or_else(|| {
        Error::no_estimate(
            "the recruitment transition matrix has no unique stationary distribution",
        )
    })?;
    let mut h = vec![0.0; k];
    let mut cnt = vec![0usize; k];
    for (i, d) in sample.degree.iter().enumerate() {
        h[gi[i]] += 1.0 / d;
        cnt[gi[i]] += 1;
    }
    let hm: Vec<f64> = (0..k).map(|j| cnt[j] as f64 / h[j]).collect();
    let raw: Vec<f64> = (0..k).map(|j| q[j] / hm[j]).collect();
    let s: f64 = raw.iter().sum();
    let w: Vec<f64> = gi.iter().map(|&j| raw[j] / s / cnt[j] as f64).collect();
    Ok(scale(w, population_size))
}

/// Stationary distribution of a row-stochastic matrix: solves q(P − I) = 0, Σq = 1.
fn stationary(p: &[Vec<f64>]) -> Option<Vec<f64>> {
    let k = p.len();
    let mut a = nalgebra::DMatrix::<f64>::zeros(k, k);
    let mut b = nalgebra::DVector::<f64>::zeros(k);
    for i in 0..k - 1 {
        for j in 0..k {
            a[(i, j)] = p[j][i] - if i == j { 1.0 } else { 0.0 };
        }
    }
    for j in 0..k {
        a[(k - 1, j)] = 1.0;
    }
    b[k - 1] = 1.0;
    let q = a.lu().solve(&b)?;
    if q.iter().all(|x| x.is_finite() && *x >= -1e-12) {
        Some(q.iter().map(|x| x.max(0.0)).collect())
    } else {
        None
    }
}

/// The RDS package's "EL" standard error of a weighted mean (second-order form with
/// homophily 1; see the module docs).
pub fn el_se(weights: &[f64], y: &[f64], population_size: Option<f64>) -> f64 {
    let n = weights.len();
    let mut all: Vec<f64> = Vec::with_capacity(n * n);
    for &wi in weights {
        for &wj in weights {
            all.push(wi * wj);
        }
    }
    let cap = 10.0 * median_in_place(&mut all);
    let mut num = 0.0;
    let mut den = 0.0;
    for i in 0..n {
        for j in 0..i {
            let w = (weights[i] * weights[j]).min(cap);
            num += 0.5 * (y[i] + y[j]) * w;
            den += w;
        }
    }
    let e = num / den;
    let mut sg2 = 0.0;
    let mut swv = 0.0;
    for i in 0..n {
        let mut g = 0.0;
        for j in 0..i {
            let w = (weights[i] * weights[j]).min(cap);
            let w2 = w * w;
            g += w2 * (0.5 * (y[i] + y[j]) - e);
            swv += w2;
        }
        sg2 += g * g;
    }
    let v = 4.0 * sg2 / (swv * swv);
    match population_size {
        Some(nn) => ((nn - n as f64) * v / (nn - 1.0)).sqrt(),
        None => v.sqrt(),
    }
}

/// Median (R's definition: mean of the two middle values for even length).
fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    let hi = *m;
    if n % 2 == 1 {
        hi
    } else {
        let lo = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lo + hi)
    }
}

/// Gile's successive-sampling weights (`RDS::gile.ss.weights`, Hajek form).
///
/// ```text
/// start: population degree shares ∝ nₖ/k (inverse degree), Nₖ = round(N · shareₖ)
/// repeat `iterations` + 1 times:
///   simulate `samples` successive samples of n units, PPS without replacement ∝ degree,
///   from the population with Nₖ units of degree k;  Sₖ = units of degree k drawn in all
///   πₖ = n · (Sₖ + nₖ)/(Σ S + n) / Nₖ;   shareₖ ∝ nₖ/πₖ
/// wᵢ = 1/π(dᵢ), scaled to sum N
/// ```
/// When n < 0.04·N successive sampling is indistinguishable from sampling with
/// replacement and the RDS-II (inverse-degree) weights are returned. Replicate s of
/// iteration t draws from [`crate::rng::stream`]`(seed, &[t, s])`: the weights do not
/// depend on the number of threads.
///
/// # Errors
/// [`Error::InvalidParameter`] when N is smaller than the sample or `samples` is 0.
pub fn ss_weights(
    degree: &[f64],
    population_size: f64,
    samples: usize,
    iterations: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let n = degree.len();
    let big_n = population_size.round() as usize;
    if big_n < n {
        return Err(Error::param(
            "population_size",
            population_size,
            format!("at least the sample size {n}"),
        ));
    }
    if samples == 0 {
        return Err(Error::param("samples_per_iteration", samples, "at least 1"));
    }
    let mut classes: Vec<f64> = degree.to_vec();
    classes.sort_by(|a, b| a.total_cmp(b));
    classes.dedup();
    let k = classes.len();
    let nums: Vec<f64> = classes
        .iter()
        .map(|c| degree.iter().filter(|d| *d == c).count() as f64)
        .collect();
    let class_of = |d: f64| classes.iter().position(|c| *c == d).unwrap_or(0);
    if (n as f64) <= 0.04 * big_n as f64 {
        return Ok(vh_weights(degree, Some(population_size)));
    }
    // initial shares: inverse degree
    let mut props: Vec<f64> = (0..k).map(|j| nums[j] / classes[j]).collect();
    let mut pi = vec![0.0; k];
    for it in 0..=iterations {
        let s: f64 = props.iter().sum();
        props.iter_mut().for_each(|p| *p /= s);
        let nby = class_counts(&props, big_n, seed, it as u64);
        let drawn = simulate_ss(&classes, &nby, n, samples, seed, it as u64);
        let tot: f64 = drawn.iter().sum();
        for j in 0..k {
            pi[j] = n as f64 * (drawn[j] + nums[j]) / (tot + n as f64) / nby[j] as f64;
        }
        props = (0..k).map(|j| nums[j] / pi[j]).collect();
    }
    let w: Vec<f64> = degree.iter().map(|&d| 1.0 / pi[class_of(d)]).collect();
    Ok(scale(w, Some(population_size)))
}

/// Units per degree class: round(N·share), at least 1, adjusted to sum N by random
/// moves weighted by the rounding error (as `getinclCstacked`).
fn class_counts(props: &[f64], big_n: usize, seed: u64, it: u64) -> Vec<usize> {
    let nf = big_n as f64;
    let mut nby: Vec<usize> = props
        .iter()
        .map(|p| ((nf * p).round() as usize).max(1))
        .collect();
    let mut rng = crate::rng::stream(seed, &[it, u64::MAX]);
    let pick = |rng: &mut rand_xoshiro::Xoshiro256PlusPlus, w: &[f64]| -> usize {
        let s: f64 = w.iter().sum();
        if s <= 0.0 {
            return rng.random_range(0..w.len());
        }
        let mut u = rng.random::<f64>() * s;
        for (i, x) in w.iter().enumerate() {
            if u < *x {
                return i;
            }
            u -= x;
        }
        w.len() - 1
    };
    loop {
        let total: usize = nby.iter().sum();
        if total == big_n {
            break;
        }
        if total < big_n {
            let dif: Vec<f64> = props
                .iter()
                .zip(&nby)
                .map(|(p, &c)| (p - c as f64 / nf).max(0.0))
                .collect();
            let j = pick(&mut rng, &dif);
            nby[j] += 1;
        } else {
            let dif: Vec<f64> = props
                .iter()
                .zip(&nby)
                .map(|(p, &c)| {
                    if c <= 1 {
                        0.0
                    } else {
                        (c as f64 / nf - p).max(0.0)
                    }
                })
                .collect();
            let dif = if dif.iter().all(|x| *x == 0.0) {
                nby.iter()
                    .map(|&c| if c <= 1 { 0.0 } else { 1.0 })
                    .collect()
            } else {
                dif
            };
            let j = pick(&mut rng, &dif);
            nby[j] -= 1;
        }
    }
    nby
}

/// Total draws per class over `samples` successive samples of size n.
fn simulate_ss(
    classes: &[f64],
    nby: &[usize],
    n: usize,
    samples: usize,
    seed: u64,
    it: u64,
) -> Vec<f64> {
    let k = classes.len();
    (0..samples)
        .into_par_iter()
        .map(|s| {
            let mut rng = crate::rng::stream(seed, &[it, s as u64]);
            let mut left: Vec<f64> = nby.iter().map(|&c| c as f64).collect();
            let mut mass: f64 = left.iter().zip(classes).map(|(c, d)| c * d).sum();
            let mut got = vec![0.0; k];
            for _ in 0..n {
                let mut u = rng.random::<f64>() * mass;
                let mut pick = k - 1;
                for j in 0..k {
                    let m = left[j] * classes[j];
                    if u < m {
                        pick = j;
                        break;
                    }
                    u -= m;
                }
                if left[pick] <= 0.0 {
                    // floating-point edge: take the last class with units left
                    pick = (0..k).rev().find(|&j| left[j] > 0.0).unwrap_or(pick);
                }
                left[pick] -= 1.0;
                got[pick] += 1.0;
                mass = left.iter().zip(classes).map(|(c, d)| c * d).sum();
            }
            got
        })
        .reduce(
            || vec![0.0; k],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

/// Recruitment diagnostics for an RDS sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RdsDiagnostics {
    /// Sample size.
    pub n: usize,
    /// Number of seeds.
    pub seeds: usize,
    /// Deepest wave reached.
    pub max_wave: usize,
    /// Respondents per wave (index = wave).
    pub per_wave: Vec<usize>,
    /// Per seed: (seed id, chain size, deepest wave).
    pub chains: Vec<(String, usize, usize)>,
    /// Mean number of recruits per respondent.
    pub mean_recruits: f64,
    /// Share of respondents who recruited nobody.
    pub share_no_recruits: f64,
    /// Convergence: RDS-II estimate after the first k respondents, at k = 10%, 20%, …,
    /// 100% of the sample (`(k, estimate)`).
    pub convergence: Vec<(usize, f64)>,
    /// Largest |estimate(k) − final| over the second half of the sample.
    pub convergence_drift: f64,
    /// Recruitment homophily on the outcome (0/1): share of recruits in the recruiter's
    /// group divided by the share expected if recruits were drawn from the population
    /// (RDS-II proportions). 1 = no homophily.
    pub homophily: Option<f64>,
    /// Heckathorn's homophily index for outcome = 1: (S₁₁ − p̂₁)/(1 − p̂₁) when S₁₁ ≥ p̂₁,
    /// else (S₁₁ − p̂₁)/p̂₁, with S₁₁ the share of group-1 recruits who are in group 1.
    pub heckathorn_homophily: Option<f64>,
}

/// Computes the recruitment diagnostics.
pub fn diagnostics(sample: &RdsSample) -> RdsDiagnostics {
    let n = sample.n();
    let waves = sample.waves();
    let seed_of = sample.seed_of();
    let max_wave = waves.iter().copied().max().unwrap_or(0);
    let mut per_wave = vec![0; max_wave + 1];
    waves.iter().for_each(|&w| per_wave[w] += 1);
    let seeds: Vec<usize> = (0..n).filter(|&i| sample.recruiter[i].is_none()).collect();
    let chains = seeds
        .iter()
        .map(|&s| {
            let members: Vec<usize> = (0..n).filter(|&i| seed_of[i] == s).collect();
            let depth = members.iter().map(|&i| waves[i]).max().unwrap_or(0);
            (sample.ids[s].clone(), members.len(), depth)
        })
        .collect();
    let mut recruits = vec![0usize; n];
    for r in sample.recruiter.iter().flatten() {
        recruits[*r] += 1;
    }
    let mean_recruits = recruits.iter().sum::<usize>() as f64 / n as f64;
    let share_no = recruits.iter().filter(|&&c| c == 0).count() as f64 / n as f64;
    let (mut num, mut den) = (0.0, 0.0);
    let mut running = Vec::with_capacity(n);
    for i in 0..n {
        num += sample.outcome[i] / sample.degree[i];
        den += 1.0 / sample.degree[i];
        running.push(num / den);
    }
    let fin = running[n - 1];
    let convergence = (1..=10)
        .map(|d| {
            let k = ((n * d) as f64 / 10.0).ceil().max(1.0) as usize;
            (k, running[k - 1])
        })
        .collect();
    let drift = running[n / 2..]
        .iter()
        .map(|e| (e - fin).abs())
        .fold(0.0, f64::max);
    let binary = sample.outcome.iter().all(|y| *y == 0.0 || *y == 1.0);
    let (homophily, heck) = if binary {
        let p1 = fin;
        let (mut same, mut total) = (0.0, 0.0);
        let (mut expected, mut from1, mut to1) = (0.0, 0.0, 0.0);
        for (i, r) in sample.recruiter.iter().enumerate() {
            if let Some(r) = r {
                let gr = sample.outcome[*r];
                total += 1.0;
                if sample.outcome[i] == gr {
                    same += 1.0;
                }
                expected += if gr == 1.0 { p1 } else { 1.0 - p1 };
                if gr == 1.0 {
                    from1 += 1.0;
                    if sample.outcome[i] == 1.0 {
                        to1 += 1.0;
                    }
                }
            }
        }
        let h = if total > 0.0 && expected > 0.0 {
            Some((same / total) / (expected / total))
        } else {
            None
        };
        let heck = if from1 > 0.0 && p1 > 0.0 && p1 < 1.0 {
            let s11 = to1 / from1;
            Some(if s11 >= p1 {
                (s11 - p1) / (1.0 - p1)
            } else {
                (s11 - p1) / p1
            })
        } else {
            None
        };
        (h, heck)
    } else {
        (None, None)
    };
    RdsDiagnostics {
        n,
        seeds: seeds.len(),
        max_wave,
        per_wave,
        chains,
        mean_recruits,
        share_no_recruits: share_no,
        convergence,
        convergence_drift: drift,
        homophily,
        heckathorn_homophily: heck,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> RdsSample {
        RdsSample::new(
            (0..6).map(|i| i.to_string()).collect(),
            vec![None, Some(0), Some(0), Some(1), None, Some(4)],
            vec![2.0, 4.0, 4.0, 8.0, 3.0, 0.0],
            vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0],
        )
        .unwrap()
    }

    #[test]
    fn zero_degree_becomes_max() {
        let s = tiny();
        assert_eq!(s.imputed_degree, vec![5]);
        assert_eq!(s.degree[5], 8.0);
    }

    #[test]
    fn waves_and_diagnostics() {
        let s = tiny();
        assert_eq!(s.waves(), vec![0, 1, 1, 2, 0, 1]);
        let d = diagnostics(&s);
        assert_eq!(d.seeds, 2);
        assert_eq!(d.per_wave, vec![2, 3, 1]);
        assert_eq!(d.chains[0].1, 4);
    }

    #[test]
    fn stationary_two_state() {
        let q = stationary(&[vec![0.9, 0.1], vec![0.3, 0.7]]).unwrap();
        assert!((q[0] - 0.75).abs() < 1e-12);
    }

    #[test]
    fn ss_weights_replay() {
        let d: Vec<f64> = (0..200).map(|i| (1 + i % 7) as f64).collect();
        let a = ss_weights(&d, 400.0, 50, 2, 3).unwrap();
        let b = ss_weights(&d, 400.0, 50, 2, 3).unwrap();
        assert_eq!(a, b);
        assert!((a.iter().sum::<f64>() - 400.0).abs() < 1e-9);
    }
}
