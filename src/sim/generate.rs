//! Generators: scenarios → the crate's data types.
//!
//! Closed populations are drawn **aggregated** by default: the probability of each of the
//! 2^t histories is computed once per scenario (exactly for homogeneous strata, finite
//! mixtures and behavioural response; by quadrature over a continuous unit effect), and a
//! replicate draws the 2^t cell counts from one multinomial, at a cost that grows with
//! 2^t and not with N. **Unit by unit** generation (open populations, count data with
//! covariates, or on request) streams units through 32-bit threshold comparisons and
//! keeps only the cell counts, never the units.

use super::rng::{HalfWords, Multinomial, SimRng, Threshold, binomial, open01};
use super::scenario::{
    Behaviour, ClosedSpec, CountDist, CountSpec, CovariateDist, Dependence, Generation,
    Heterogeneity, Model, OpenSpec, Output, Scenario,
};
use crate::data::{CaptureHistories, CountData, CovariateValues, ListTable};
use crate::error::{Error, Result};
use rand::Rng;
use rand_distr::{Beta, Distribution, Gamma, Poisson, StandardNormal};

/// Simulated data, in the crate's own types, so every estimator runs on it unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum SimData {
    /// Capture histories (closed or open populations).
    Histories(CaptureHistories),
    /// Single-source counts.
    Counts(CountData),
    /// A multiple-systems list table.
    Lists(ListTable),
    /// Capture histories with the individual covariates of the units seen.
    Covariates(crate::data::CovariateHistories),
}

impl SimData {
    /// Units observed.
    pub fn observed(&self) -> u64 {
        match self {
            SimData::Histories(h) => h.observed(),
            SimData::Counts(c) => c.observed(),
            SimData::Lists(l) => l.observed(),
            SimData::Covariates(d) => d.histories().observed(),
        }
    }

    /// The data as capture histories (a list table is converted; counts give `None`).
    pub fn histories(&self) -> Option<std::borrow::Cow<'_, CaptureHistories>> {
        match self {
            SimData::Histories(h) => Some(std::borrow::Cow::Borrowed(h)),
            SimData::Lists(l) => l.to_histories().ok().map(std::borrow::Cow::Owned),
            SimData::Counts(_) => None,
            SimData::Covariates(d) => Some(std::borrow::Cow::Borrowed(d.histories())),
        }
    }
}

/// One estimation target of a replicate: the pooled data (`all`) or one stratum.
#[derive(Debug)]
pub struct Target {
    /// `all` or the stratum name.
    pub name: String,
    /// The true population size of this replicate (fixed N for closed populations; the
    /// realised super-population for open ones).
    pub truth: f64,
    /// The data, or the reason there are none (e.g. nobody was caught).
    pub data: Result<SimData>,
}

/// Everything one replicate produced.
#[derive(Debug)]
pub struct Replicate {
    /// The targets, pooled first.
    pub targets: Vec<Target>,
}

#[inline]
fn logistic_shift(p: f64, s: f64) -> f64 {
    if s == 0.0 || p <= 0.0 || p >= 1.0 {
        p
    } else {
        1.0 / (1.0 + (1.0 - p) / p * (-s).exp())
    }
}

/// The unit effect distribution as weighted nodes `(weight, e)` (weights sum to 1):
/// exact for no heterogeneity, finite mixtures and Bernoulli covariates; a trapezoid rule
/// on the logit scale (geometrically convergent for these smooth densities; truncated
/// mass below 1e-16) for the logit-normal, beta and normal-covariate cases.
pub fn effect_nodes(het: &Heterogeneity) -> Vec<(f64, f64)> {
    fn normal_nodes(mean: f64, sd: f64) -> Vec<(f64, f64)> {
        if sd == 0.0 {
            return vec![(1.0, mean)];
        }
        let h = (0.45 / sd).min(0.15);
        let m = (9.0 / h).ceil() as i64;
        let mut v: Vec<(f64, f64)> = (-m..=m)
            .map(|k| {
                let z = k as f64 * h;
                ((-0.5 * z * z).exp(), mean + sd * z)
            })
            .collect();
        normalise(&mut v);
        v
    }
    fn normalise(v: &mut [(f64, f64)]) {
        let s: f64 = v.iter().map(|x| x.0).sum();
        for x in v.iter_mut() {
            x.0 /= s;
        }
    }
    match het {
        Heterogeneity::None => vec![(1.0, 0.0)],
        Heterogeneity::LogitNormal { sd } => normal_nodes(0.0, *sd),
        Heterogeneity::Mixture { weights, shifts } => {
            let mut v: Vec<(f64, f64)> = weights
                .iter()
                .copied()
                .zip(shifts.iter().copied())
                .collect();
            normalise(&mut v);
            v
        }
        Heterogeneity::Covariate { coef, covariate } => match covariate {
            CovariateDist::Normal { mean, sd } => normal_nodes(coef * mean, (coef * sd).abs()),
            CovariateDist::Bernoulli { p } => vec![(1.0 - p, 0.0), (*p, *coef)],
        },
        Heterogeneity::Beta { a, b } => {
            // density of x = logit q: q^a (1 − q)^b / B(a, b)
            let centre = (a / b).ln();
            let lo = -37.0 / a - 1.0;
            let hi = 37.0 / b + 1.0;
            let h = 0.2;
            let m = ((hi - lo) / h).ceil() as usize;
            let mut v: Vec<(f64, f64)> = (0..=m)
                .map(|k| {
                    let x = lo + k as f64 * h;
                    // log q = −ln(1 + e^{−x}), log(1 − q) = −ln(1 + e^{x})
                    let lq = -softplus(-x);
                    let l1q = -softplus(x);
                    ((a * lq + b * l1q).exp(), x - centre)
                })
                .filter(|x| x.0 > 0.0)
                .collect();
            normalise(&mut v);
            v
        }
    }
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

/// Probabilities of the 2^t histories (index = bit code, cell 0 = never caught) under the
/// capture model of one closed stratum; they sum to 1.
///
/// ```text
/// P(h) = Σ_k w_k Π_j q_j(h, e_k)^{h_j} (1 − q_j(h, e_k))^{1−h_j} · D(h) / Z_k
/// ```
/// `q_j = logistic(logit p_j + e + b·[caught before j])`, `D(h) = exp(Σ γ_jk h_j h_k)`
/// (list dependence) and `Z_k` the normaliser; the product is built occasion by occasion
/// (cost 2^t per node).
///
/// # Errors
/// [`Error::InvalidData`] for more than 20 occasions or a `p` of the wrong length.
pub fn cell_probabilities(
    p: &[f64],
    het: &Heterogeneity,
    behaviour: Option<&Behaviour>,
    dependence: &[Dependence],
) -> Result<Vec<f64>> {
    let t = p.len();
    if t == 0 || t > super::scenario::MAX_SIM_OCCASIONS {
        return Err(Error::invalid(format!("{t} occasions: expected 1 to 20")));
    }
    let cells = 1usize << t;
    let b = behaviour.map(|b| b.logit_shift).unwrap_or(0.0);
    let dep: Option<Vec<f64>> = if dependence.is_empty() {
        None
    } else {
        Some(
            (0..cells)
                .map(|h| {
                    let s: f64 = dependence
                        .iter()
                        .filter(|d| {
                            h >> (d.lists[0] - 1) & 1 == 1 && h >> (d.lists[1] - 1) & 1 == 1
                        })
                        .map(|d| d.log_odds_ratio)
                        .sum();
                    s.exp()
                })
                .collect(),
        )
    };
    let mut total = vec![0.0; cells];
    let mut buf = vec![0.0; cells];
    for (w, e) in effect_nodes(het) {
        buf[0] = 1.0;
        for (j, &pj) in p.iter().enumerate() {
            let first = logistic_shift(pj, e);
            let after = logistic_shift(pj, e + b);
            let bit = 1usize << j;
            let (lo, hi) = buf[..2 * bit].split_at_mut(bit);
            hi[0] = lo[0] * first;
            lo[0] *= 1.0 - first;
            for (l, h) in lo[1..].iter_mut().zip(hi[1..].iter_mut()) {
                *h = *l * after;
                *l *= 1.0 - after;
            }
        }
        if let Some(d) = &dep {
            let mut z = 0.0;
            for (x, f) in buf.iter_mut().zip(d) {
                *x *= f;
                z += *x;
            }
            for x in buf.iter_mut() {
                *x /= z;
            }
        }
        for (acc, x) in total.iter_mut().zip(&buf) {
            *acc += w * x;
        }
    }
    let z: f64 = total.iter().sum();
    for x in total.iter_mut() {
        *x /= z;
    }
    Ok(total)
}

/// Draws unit effects `e_i` from a heterogeneity distribution.
#[derive(Debug, Clone)]
enum EffectSampler {
    Zero,
    Normal { mean: f64, sd: f64 },
    Beta { dist: Beta<f64>, centre: f64 },
    Discrete { cum: Vec<f64>, shifts: Vec<f64> },
}

impl EffectSampler {
    fn new(het: &Heterogeneity) -> Result<Self> {
        Ok(match het {
            Heterogeneity::None => EffectSampler::Zero,
            Heterogeneity::LogitNormal { sd } => EffectSampler::Normal { mean: 0.0, sd: *sd },
            Heterogeneity::Beta { a, b } => EffectSampler::Beta {
                dist: Beta::new(*a, *b)
                    .map_err(|e| Error::invalid(format!("beta heterogeneity: {e}")))?,
                centre: (a / b).ln(),
            },
            Heterogeneity::Mixture { weights, shifts } => Self::discrete(weights, shifts),
            Heterogeneity::Covariate { coef, covariate } => match covariate {
                CovariateDist::Normal { mean, sd } => EffectSampler::Normal {
                    mean: coef * mean,
                    sd: coef * sd,
                },
                CovariateDist::Bernoulli { p } => Self::discrete(&[1.0 - p, *p], &[0.0, *coef]),
            },
        })
    }

    fn discrete(weights: &[f64], shifts: &[f64]) -> Self {
        let s: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cum = weights
            .iter()
            .map(|w| {
                acc += w / s;
                acc
            })
            .collect();
        EffectSampler::Discrete {
            cum,
            shifts: shifts.to_vec(),
        }
    }

    fn is_zero(&self) -> bool {
        matches!(self, EffectSampler::Zero)
    }

    #[inline]
    fn sample(&self, rng: &mut SimRng) -> f64 {
        let e = match self {
            EffectSampler::Zero => 0.0,
            EffectSampler::Normal { mean, sd } => {
                let z: f64 = StandardNormal.sample(rng);
                mean + sd * z
            }
            EffectSampler::Beta { dist, centre } => {
                let q: f64 = dist.sample(rng);
                (q / (1.0 - q)).ln() - centre
            }
            EffectSampler::Discrete { cum, shifts } => {
                let u = open01(rng);
                let k = cum.iter().position(|&c| u < c).unwrap_or(shifts.len() - 1);
                shifts[k]
            }
        };
        e.clamp(-60.0, 60.0)
    }
}

/// Unit-by-unit sampler of closed-population capture histories.
///
/// Each unit draws its effect `e_i`, then one Bernoulli per occasion by comparing a
/// 32-bit uniform with a threshold (two occasions per `u64` drawn). Homogeneous strata
/// use thresholds prepared once; heterogeneous ones compute
/// `p_ij = 1 / (1 + odds_j⁻¹ · exp(−e_i))` with one `exp` per unit.
#[derive(Debug, Clone)]
pub struct UnitSampler {
    t: usize,
    inv_odds: Vec<f64>,
    inv_odds_after: Vec<f64>,
    first: Vec<Threshold>,
    after: Vec<Threshold>,
    effect: EffectSampler,
}

impl UnitSampler {
    /// Prepares the sampler for one stratum.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for t outside 1..=20 or bad heterogeneity settings.
    pub fn new(p: &[f64], het: &Heterogeneity, behaviour: Option<&Behaviour>) -> Result<Self> {
        let t = p.len();
        if t == 0 || t > super::scenario::MAX_SIM_OCCASIONS {
            return Err(Error::invalid(format!("{t} occasions: expected 1 to 20")));
        }
        het.validate("unit sampler")?;
        let b = behaviour.map(|b| b.logit_shift).unwrap_or(0.0);
        let inv = |p: f64| {
            if p <= 0.0 {
                f64::INFINITY
            } else {
                (1.0 - p) / p
            }
        };
        Ok(UnitSampler {
            t,
            inv_odds: p.iter().map(|&p| inv(p)).collect(),
            inv_odds_after: p.iter().map(|&p| inv(logistic_shift(p, b))).collect(),
            first: p.iter().map(|&p| Threshold::new(p)).collect(),
            after: p
                .iter()
                .map(|&p| Threshold::new(logistic_shift(p, b)))
                .collect(),
            effect: EffectSampler::new(het)?,
        })
    }

    /// Number of occasions.
    pub fn occasions(&self) -> usize {
        self.t
    }

    /// Draws the histories of `n` units and hands each code (0 = never caught) to `sink`.
    #[inline]
    pub fn for_each_unit(&self, rng: &mut SimRng, n: u64, mut sink: impl FnMut(u64)) {
        let t = self.t;
        if self.effect.is_zero() {
            for _ in 0..n {
                let mut code = 0u64;
                let mut j = 0;
                while j < t {
                    let w = rng.next_u64();
                    code |= self.bit_homogeneous(j, code, w as u32, rng) << j;
                    if j + 1 < t {
                        code |= self.bit_homogeneous(j + 1, code, (w >> 32) as u32, rng) << (j + 1);
                    }
                    j += 2;
                }
                sink(code);
            }
        } else {
            for _ in 0..n {
                let ex = (-self.effect.sample(rng)).exp();
                let mut code = 0u64;
                let mut j = 0;
                while j < t {
                    let w = rng.next_u64();
                    code |= self.bit_effect(j, code, ex, w as u32, rng) << j;
                    if j + 1 < t {
                        code |= self.bit_effect(j + 1, code, ex, (w >> 32) as u32, rng) << (j + 1);
                    }
                    j += 2;
                }
                sink(code);
            }
        }
    }

    /// One capture draw with a prepared threshold (branch-free except on an exact tie).
    #[inline(always)]
    fn bit_homogeneous(&self, j: usize, code: u64, u: u32, rng: &mut SimRng) -> u64 {
        let th = if code == 0 {
            self.first[j]
        } else {
            self.after[j]
        };
        if u != th.hi {
            (u < th.hi) as u64
        } else {
            th.draw(u, rng) as u64
        }
    }

    /// One capture draw for a unit with effect multiplier `ex = exp(−e)`:
    /// success iff `(u + v)·d < 2^32` with `d = 1 + odds_j⁻¹·ex = 1/p_ij` and `v` a
    /// uniform on [0, 1) drawn only when the 32-bit uniform `u` alone cannot decide.
    #[inline(always)]
    fn bit_effect(&self, j: usize, code: u64, ex: f64, u: u32, rng: &mut SimRng) -> u64 {
        const TWO32: f64 = 4_294_967_296.0;
        let io = if code == 0 {
            self.inv_odds[j]
        } else {
            self.inv_odds_after[j]
        };
        let d = 1.0 + io * ex;
        let y = u as f64 * d;
        // y + d ≤ 2^32: success whatever v is; y ≥ 2^32 (or NaN/∞ when p_ij = 0):
        // failure; in between (probability d/2^32) v decides
        if y < TWO32 && y + d > TWO32 {
            ((u as f64 + open01(rng)) * d < TWO32) as u64
        } else {
            (y + d <= TWO32) as u64
        }
    }

    /// Draws `n` units and adds their histories to dense cell counts (`out.len() = 2^t`).
    pub fn sample_dense(&self, rng: &mut SimRng, n: u64, out: &mut [u64]) {
        self.for_each_unit(rng, n, |c| out[c as usize] += 1);
    }

    /// Draws `n` units and returns the observed `(code, frequency)` rows, sorted by code.
    pub fn sample_rows(&self, rng: &mut SimRng, n: u64) -> Vec<(u64, u64)> {
        if (1u64 << self.t) <= n.saturating_mul(4).max(1 << 12) {
            let mut dense = vec![0u64; 1 << self.t];
            self.sample_dense(rng, n, &mut dense);
            dense_rows(&dense)
        } else {
            let mut codes = Vec::new();
            self.for_each_unit(rng, n, |c| {
                if c != 0 {
                    codes.push(c)
                }
            });
            rle(codes)
        }
    }
}

fn dense_rows(dense: &[u64]) -> Vec<(u64, u64)> {
    dense
        .iter()
        .enumerate()
        .skip(1)
        .filter(|&(_, &f)| f > 0)
        .map(|(h, &f)| (h as u64, f))
        .collect()
}

fn rle(mut codes: Vec<u64>) -> Vec<(u64, u64)> {
    codes.sort_unstable();
    let mut rows: Vec<(u64, u64)> = Vec::new();
    for c in codes {
        match rows.last_mut() {
            Some((h, f)) if *h == c => *f += 1,
            _ => rows.push((c, 1)),
        }
    }
    rows
}

/// Aggregated sampler of closed-population histories: one multinomial over the 2^t cells.
#[derive(Debug, Clone)]
pub struct CellSampler {
    t: usize,
    probs: Vec<f64>,
    multinomial: Multinomial,
}

impl CellSampler {
    /// Prepares the cell probabilities ([`cell_probabilities`]) and the multinomial.
    ///
    /// # Errors
    /// As [`cell_probabilities`]; [`Error::Numerical`] if the probabilities degenerate.
    pub fn new(
        p: &[f64],
        het: &Heterogeneity,
        behaviour: Option<&Behaviour>,
        dependence: &[Dependence],
    ) -> Result<Self> {
        let probs = cell_probabilities(p, het, behaviour, dependence)?;
        let multinomial = Multinomial::new(&probs).ok_or_else(|| Error::Numerical {
            reason: "cell probabilities do not sum to a positive number".into(),
        })?;
        Ok(CellSampler {
            t: p.len(),
            probs,
            multinomial,
        })
    }

    /// The 2^t cell probabilities.
    pub fn probabilities(&self) -> &[f64] {
        &self.probs
    }

    /// Draws `n` units and adds the cell counts into `out` (`out.len() = 2^t`).
    pub fn sample_dense(&self, rng: &mut SimRng, n: u64, out: &mut [u64]) {
        self.multinomial.sample_into(rng, n, out);
    }

    /// Draws `n` units and returns the observed `(code, frequency)` rows.
    pub fn sample_rows(&self, rng: &mut SimRng, n: u64) -> Vec<(u64, u64)> {
        let mut dense = vec![0u64; 1 << self.t];
        self.sample_dense(rng, n, &mut dense);
        dense_rows(&dense)
    }
}

#[derive(Debug, Clone)]
enum ClosedMethod {
    Cells(CellSampler),
    Units(UnitSampler),
}

#[derive(Debug, Clone)]
struct ClosedPlan {
    name: String,
    n: u64,
    method: ClosedMethod,
}

#[derive(Debug, Clone)]
struct OpenPlan {
    name: String,
    initial: u64,
    entries: Vec<f64>,
    survival: Vec<Threshold>,
    units: UnitSampler,
}

#[derive(Debug, Clone)]
enum CountMethod {
    /// pmf over 0..=K, multinomial.
    Aggregated(Multinomial, usize),
    Unit {
        dist: CountDist,
        coef: f64,
        cov: CovariateDist,
    },
}

#[derive(Debug, Clone)]
struct CountPlan {
    name: String,
    n: u64,
    method: CountMethod,
}

#[derive(Debug, Clone)]
enum Plan {
    Closed {
        t: usize,
        output: Output,
        strata: Vec<ClosedPlan>,
    },
    Open {
        t: usize,
        strata: Vec<OpenPlan>,
    },
    Counts {
        strata: Vec<CountPlan>,
        covariate: bool,
    },
    Covariates(super::covariates::CovariateScenario),
}

/// A scenario prepared for generation: validated, with cell probabilities and samplers
/// computed once and shared (read-only) by all replicates and threads.
#[derive(Debug, Clone)]
pub struct Generator {
    by_stratum: bool,
    plan: Plan,
}

/// Probabilities of the counts 0, 1, …, K of one count distribution: the ratios
/// `p(k+1)/p(k)` are applied outwards from the mode (value 1) and the terms normalised,
/// so large means do not underflow; the upper tail is cut beyond the mode where a
/// geometric bound on the remaining mass falls below 1e-20 of the mode's term. `None`
/// when that needs
/// more than 200,000 terms (very heavy Poisson-gamma tails); such strata are drawn unit
/// by unit.
pub fn count_pmf(dist: &CountDist) -> Option<Vec<f64>> {
    // limit of the ratio as k grows (bounds the tail beyond the cut)
    let mut q_limit = 0.0;
    let (mode, ratio): (f64, Box<dyn Fn(usize) -> f64>) = match *dist {
        CountDist::Poisson { lambda } | CountDist::OneInflated { lambda, .. } => {
            (lambda.floor(), Box::new(move |k| lambda / (k as f64 + 1.0)))
        }
        CountDist::PoissonGamma { mean, shape } => {
            let q = mean / (shape + mean);
            q_limit = q;
            let mode = if shape > 1.0 {
                ((shape - 1.0) * mean / shape).floor()
            } else {
                0.0
            };
            (
                mode,
                Box::new(move |k| (k as f64 + shape) / (k as f64 + 1.0) * q),
            )
        }
    };
    if mode > 150_000.0 {
        return None;
    }
    let m = mode as usize;
    let mut pmf = vec![0.0; m + 1];
    pmf[m] = 1.0;
    for k in (0..m).rev() {
        pmf[k] = pmf[k + 1] / ratio(k);
    }
    let mut k = m;
    loop {
        let next = pmf[k] * ratio(k);
        k += 1;
        pmf.push(next);
        // remaining tail ≤ next · r/(1 − r) with r bounding the later ratios
        let r = ratio(k).max(q_limit);
        if k > m && r < 1.0 && next * r / (1.0 - r) < 1e-20 {
            break;
        }
        if k > 200_000 {
            return None;
        }
    }
    let z: f64 = pmf.iter().sum();
    for x in pmf.iter_mut() {
        *x /= z;
    }
    if let CountDist::OneInflated { omega, .. } = *dist {
        let p0 = pmf[0];
        for x in pmf.iter_mut().skip(1) {
            *x *= 1.0 - omega;
        }
        pmf[1] += omega * (1.0 - p0);
    }
    Some(pmf)
}

fn poisson(rng: &mut SimRng, lambda: f64) -> u64 {
    if lambda.is_nan() || lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    match Poisson::new(lambda) {
        Ok(d) => {
            let x: f64 = d.sample(rng);
            x as u64
        }
        Err(_) => 0,
    }
}

fn covariate_value(rng: &mut SimRng, c: &CovariateDist) -> f64 {
    match *c {
        CovariateDist::Normal { mean, sd } => {
            let z: f64 = StandardNormal.sample(rng);
            mean + sd * z
        }
        CovariateDist::Bernoulli { p } => {
            if open01(rng) < p {
                1.0
            } else {
                0.0
            }
        }
    }
}

fn draw_count(rng: &mut SimRng, dist: &CountDist, scale: f64) -> u64 {
    match *dist {
        CountDist::Poisson { lambda } => poisson(rng, lambda * scale),
        CountDist::PoissonGamma { mean, shape } => {
            let g = Gamma::new(shape, mean * scale / shape)
                .map(|g| g.sample(rng))
                .unwrap_or(0.0);
            poisson(rng, g)
        }
        CountDist::OneInflated { lambda, omega } => {
            let y = poisson(rng, lambda * scale);
            if y > 1 && open01(rng) < omega { 1 } else { y }
        }
    }
}

fn list_names(t: usize) -> Vec<String> {
    (1..=t).map(|j| format!("L{j}")).collect()
}

fn histories_from(t: usize, parts: &[(&str, &[(u64, u64)])]) -> Result<CaptureHistories> {
    let mut codes = Vec::new();
    let mut freq = Vec::new();
    let mut labels = Vec::new();
    for (name, rows) in parts {
        for &(c, f) in rows.iter() {
            codes.push(c);
            freq.push(f);
            labels.push(*name);
        }
    }
    if freq.is_empty() {
        return Err(Error::no_estimate("no unit was caught in this replicate"));
    }
    let h = CaptureHistories::new(t, codes, freq)?;
    if parts.len() > 1 {
        h.with_strata(&labels)
    } else {
        Ok(h)
    }
}

fn lists_from(t: usize, parts: &[&[(u64, u64)]]) -> Result<ListTable> {
    let mut cells = vec![0u64; 1 << t];
    for rows in parts {
        for &(c, f) in rows.iter() {
            cells[c as usize] += f;
        }
    }
    if cells.iter().all(|&c| c == 0) {
        return Err(Error::no_estimate("no case was listed in this replicate"));
    }
    ListTable::new(list_names(t), cells)
}

impl Generator {
    /// Validates and prepares a scenario.
    ///
    /// # Errors
    /// The scenario's validation errors ([`Scenario::validate`]).
    pub fn new(s: &Scenario) -> Result<Self> {
        s.validate()?;
        let plan = match &s.model {
            Model::Closed(c) => Self::closed_plan(c)?,
            Model::Open(o) => Self::open_plan(o)?,
            Model::Counts(c) => Self::count_plan(c),
            Model::Covariates(c) => Plan::Covariates(c.clone()),
        };
        Ok(Generator {
            by_stratum: s.by_stratum,
            plan,
        })
    }

    fn closed_plan(c: &ClosedSpec) -> Result<Plan> {
        let t = c.occasions;
        let strata = c
            .strata
            .iter()
            .map(|s| {
                let p = s.p.expand(t, "p")?;
                let method = match c.generation {
                    Generation::Unit => ClosedMethod::Units(UnitSampler::new(
                        &p,
                        &s.heterogeneity,
                        s.behaviour.as_ref(),
                    )?),
                    Generation::Auto | Generation::Aggregated => {
                        ClosedMethod::Cells(CellSampler::new(
                            &p,
                            &s.heterogeneity,
                            s.behaviour.as_ref(),
                            &c.dependence,
                        )?)
                    }
                };
                Ok(ClosedPlan {
                    name: s.name.clone(),
                    n: s.n,
                    method,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan::Closed {
            t,
            output: c.output,
            strata,
        })
    }

    fn open_plan(o: &OpenSpec) -> Result<Plan> {
        let t = o.occasions;
        let strata = o
            .strata
            .iter()
            .map(|s| {
                let p = s.p.expand(t, "p")?;
                Ok(OpenPlan {
                    name: s.name.clone(),
                    initial: s.initial,
                    entries: s.entries.expand(t - 1, "entries")?,
                    survival: s
                        .survival
                        .expand(t - 1, "survival")?
                        .into_iter()
                        .map(Threshold::new)
                        .collect(),
                    units: UnitSampler::new(&p, &s.heterogeneity, s.behaviour.as_ref())?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan::Open { t, strata })
    }

    fn count_plan(c: &CountSpec) -> Plan {
        let covariate = c.strata.iter().any(|s| s.covariate.is_some());
        let strata = c
            .strata
            .iter()
            .map(|s| {
                let method = match &s.covariate {
                    Some(cv) => CountMethod::Unit {
                        dist: s.dist.clone(),
                        coef: cv.coef,
                        cov: cv.covariate.clone(),
                    },
                    None => match count_pmf(&s.dist).and_then(|pmf| {
                        let k = pmf.len();
                        Multinomial::new(&pmf).map(|m| (m, k))
                    }) {
                        Some((m, k)) => CountMethod::Aggregated(m, k),
                        // heavy tail: unit by unit with no covariate effect
                        None => CountMethod::Unit {
                            dist: s.dist.clone(),
                            coef: 0.0,
                            cov: CovariateDist::Normal { mean: 0.0, sd: 0.0 },
                        },
                    },
                };
                CountPlan {
                    name: s.name.clone(),
                    n: s.n,
                    method,
                }
            })
            .collect();
        Plan::Counts { strata, covariate }
    }

    /// Number of strata.
    pub fn n_strata(&self) -> usize {
        match &self.plan {
            Plan::Closed { strata, .. } => strata.len(),
            Plan::Open { strata, .. } => strata.len(),
            Plan::Counts { strata, .. } => strata.len(),
            Plan::Covariates(_) => 1,
        }
    }

    /// Target names of every replicate: `all`, then the strata when `by_stratum` is set.
    pub fn target_names(&self) -> Vec<String> {
        let mut v = vec!["all".to_string()];
        if self.by_stratum && self.n_strata() > 1 {
            match &self.plan {
                Plan::Closed { strata, .. } => v.extend(strata.iter().map(|s| s.name.clone())),
                Plan::Open { strata, .. } => v.extend(strata.iter().map(|s| s.name.clone())),
                Plan::Counts { strata, .. } => v.extend(strata.iter().map(|s| s.name.clone())),
                Plan::Covariates(_) => {}
            }
        }
        v
    }

    fn split(&self) -> bool {
        self.by_stratum && self.n_strata() > 1
    }

    /// Generates one replicate from `rng`.
    pub fn generate(&self, rng: &mut SimRng) -> Replicate {
        match &self.plan {
            Plan::Closed { t, output, strata } => {
                let rows: Vec<Vec<(u64, u64)>> = strata
                    .iter()
                    .map(|s| match &s.method {
                        ClosedMethod::Cells(c) => c.sample_rows(rng, s.n),
                        ClosedMethod::Units(u) => u.sample_rows(rng, s.n),
                    })
                    .collect();
                let truths: Vec<f64> = strata.iter().map(|s| s.n as f64).collect();
                let names: Vec<&str> = strata.iter().map(|s| s.name.as_str()).collect();
                self.histories_targets(*t, *output, &names, &rows, &truths)
            }
            Plan::Open { t, strata } => {
                let mut rows = Vec::with_capacity(strata.len());
                let mut truths = Vec::with_capacity(strata.len());
                for s in strata {
                    let (r, super_n) = Self::open_stratum(*t, s, rng);
                    rows.push(r);
                    truths.push(super_n as f64);
                }
                let names: Vec<&str> = strata.iter().map(|s| s.name.as_str()).collect();
                self.histories_targets(*t, Output::Histories, &names, &rows, &truths)
            }
            Plan::Counts { strata, covariate } => self.count_targets(strata, *covariate, rng),
            Plan::Covariates(c) => Replicate {
                targets: vec![Target {
                    name: "all".into(),
                    truth: c.population as f64,
                    data: c.generate(rng).map(SimData::Covariates),
                }],
            },
        }
    }

    fn open_stratum(t: usize, s: &OpenPlan, rng: &mut SimRng) -> (Vec<(u64, u64)>, u64) {
        let mut codes = Vec::new();
        let mut hw = HalfWords::new();
        let mut super_n = 0u64;
        for entry in 0..t {
            let n = if entry == 0 {
                s.initial
            } else {
                poisson(rng, s.entries[entry - 1])
            };
            super_n += n;
            for _ in 0..n {
                // last occasion present
                let mut last = entry;
                while last + 1 < t && s.survival[last].draw(hw.next(rng), rng) {
                    last += 1;
                }
                let mut code = 0u64;
                // capture occasions entry..=last, with this unit's effect
                let ex = if s.units.effect.is_zero() {
                    1.0
                } else {
                    (-s.units.effect.sample(rng)).exp()
                };
                for j in entry..=last {
                    let u = hw.next(rng);
                    code |= if s.units.effect.is_zero() {
                        s.units.bit_homogeneous(j, code, u, rng)
                    } else {
                        s.units.bit_effect(j, code, ex, u, rng)
                    } << j;
                }
                if code != 0 {
                    codes.push(code);
                }
            }
        }
        (rle(codes), super_n)
    }

    fn histories_targets(
        &self,
        t: usize,
        output: Output,
        names: &[&str],
        rows: &[Vec<(u64, u64)>],
        truths: &[f64],
    ) -> Replicate {
        let make = |parts: &[(&str, &[(u64, u64)])]| -> Result<SimData> {
            match output {
                Output::Histories => histories_from(t, parts).map(SimData::Histories),
                Output::Lists => lists_from(t, &parts.iter().map(|p| p.1).collect::<Vec<_>>())
                    .map(SimData::Lists),
            }
        };
        let parts: Vec<(&str, &[(u64, u64)])> = names
            .iter()
            .zip(rows)
            .map(|(n, r)| (*n, r.as_slice()))
            .collect();
        let mut targets = vec![Target {
            name: "all".into(),
            truth: truths.iter().sum(),
            data: make(&parts),
        }];
        if self.split() {
            for (k, part) in parts.iter().enumerate() {
                targets.push(Target {
                    name: part.0.to_string(),
                    truth: truths[k],
                    data: make(std::slice::from_ref(part)),
                });
            }
        }
        Replicate { targets }
    }

    fn count_targets(&self, strata: &[CountPlan], covariate: bool, rng: &mut SimRng) -> Replicate {
        // per stratum: rows (count, freq, x)
        let mut per: Vec<Vec<(u64, u64, f64)>> = Vec::with_capacity(strata.len());
        for s in strata {
            let mut rows = Vec::new();
            match &s.method {
                CountMethod::Aggregated(m, k) => {
                    let mut f = vec![0u64; *k];
                    m.sample_into(rng, s.n, &mut f);
                    rows.extend(
                        f.iter()
                            .enumerate()
                            .skip(1)
                            .filter(|x| *x.1 > 0)
                            .map(|(c, &n)| (c as u64, n, 0.0)),
                    );
                }
                CountMethod::Unit { dist, coef, cov } if covariate => {
                    for _ in 0..s.n {
                        let x = covariate_value(rng, cov);
                        let y = draw_count(rng, dist, (coef * x).exp());
                        if y > 0 {
                            rows.push((y, 1, x));
                        }
                    }
                }
                CountMethod::Unit { dist, .. } => {
                    // no covariate column: keep a frequency table, not the units
                    let mut table = std::collections::BTreeMap::<u64, u64>::new();
                    for _ in 0..s.n {
                        let y = draw_count(rng, dist, 1.0);
                        if y > 0 {
                            *table.entry(y).or_insert(0) += 1;
                        }
                    }
                    rows.extend(table.into_iter().map(|(c, f)| (c, f, 0.0)));
                }
            }
            per.push(rows);
        }
        let build = |idx: &[usize]| -> Result<SimData> {
            let mut counts = Vec::new();
            let mut freq = Vec::new();
            let mut xs = Vec::new();
            let mut labels = Vec::new();
            for &k in idx {
                for &(c, f, x) in &per[k] {
                    counts.push(c);
                    freq.push(f);
                    xs.push(x);
                    labels.push(strata[k].name.as_str());
                }
            }
            if counts.is_empty() {
                return Err(Error::no_estimate("no unit was recorded in this replicate"));
            }
            let mut d = CountData::with_frequencies(counts, freq)?;
            if covariate {
                d = d.with_covariate("x", CovariateValues::Numeric(xs))?;
            }
            if idx.len() > 1 {
                d = d.with_covariate("stratum", CovariateValues::categorical(&labels))?;
            }
            Ok(SimData::Counts(d))
        };
        let all: Vec<usize> = (0..strata.len()).collect();
        let mut targets = vec![Target {
            name: "all".into(),
            truth: strata.iter().map(|s| s.n as f64).sum(),
            data: build(&all),
        }];
        if self.split() {
            for (k, s) in strata.iter().enumerate() {
                targets.push(Target {
                    name: s.name.clone(),
                    truth: s.n as f64,
                    data: build(&[k]),
                });
            }
        }
        Replicate { targets }
    }
}

/// Draws one binomial (re-exported helper for custom generators).
pub fn draw_binomial(rng: &mut SimRng, n: u64, p: f64) -> u64 {
    binomial(rng, n, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m0_cell_probabilities_are_binomial_products() {
        let p = [0.3, 0.3, 0.3];
        let pr = cell_probabilities(&p, &Heterogeneity::None, None, &[]).unwrap();
        for (h, &x) in pr.iter().enumerate() {
            let k = (h as u32).count_ones() as i32;
            let e = 0.3f64.powi(k) * 0.7f64.powi(3 - k);
            assert!((x - e).abs() < 1e-15);
        }
    }

    #[test]
    fn behaviour_changes_recapture_only() {
        let p = [0.4, 0.4];
        let b = Behaviour { logit_shift: -1.0 };
        let pr = cell_probabilities(&p, &Heterogeneity::None, Some(&b), &[]).unwrap();
        let c = logistic_shift(0.4, -1.0);
        assert!((pr[0] - 0.36).abs() < 1e-15);
        assert!((pr[0b10] - 0.6 * 0.4).abs() < 1e-15);
        assert!((pr[0b01] - 0.4 * (1.0 - c)).abs() < 1e-15);
        assert!((pr[0b11] - 0.4 * c).abs() < 1e-15);
    }

    #[test]
    fn beta_nodes_reproduce_beta_binomial() {
        // p constant at the beta mean: P(caught k times) = C(t,k) B(a+k, b+t−k)/B(a,b)
        let (a, b) = (0.8, 2.4);
        let mean = a / (a + b);
        let t = 4;
        let pr =
            cell_probabilities(&vec![mean; t], &Heterogeneity::Beta { a, b }, None, &[]).unwrap();
        let lbeta = |x: f64, y: f64| {
            statrs::function::gamma::ln_gamma(x) + statrs::function::gamma::ln_gamma(y)
                - statrs::function::gamma::ln_gamma(x + y)
        };
        for (h, &x) in pr.iter().enumerate() {
            let k = (h as u32).count_ones() as f64;
            let e = (lbeta(a + k, b + t as f64 - k) - lbeta(a, b)).exp();
            assert!((x - e).abs() < 1e-9 * e.max(1e-3), "cell {h}: {x} vs {e}");
        }
    }

    #[test]
    fn logit_normal_marginal_matches_fine_integration() {
        let sd = 1.5;
        let pr =
            cell_probabilities(&[0.2, 0.2], &Heterogeneity::LogitNormal { sd }, None, &[]).unwrap();
        // P(caught on neither) = ∫ (1 − p(z))² φ(z) dz by a very fine midpoint rule
        let n = 200_000;
        let (lo, hi) = (-12.0, 12.0);
        let h = (hi - lo) / n as f64;
        let mut s = 0.0;
        for k in 0..n {
            let z = lo + (k as f64 + 0.5) * h;
            let p = logistic_shift(0.2, sd * z);
            s += (1.0 - p).powi(2) * (-0.5 * z * z).exp() * h;
        }
        s /= (2.0 * std::f64::consts::PI).sqrt();
        assert!((pr[0] - s).abs() < 1e-9, "{} vs {s}", pr[0]);
    }

    #[test]
    fn count_pmf_large_means_and_heavy_tails() {
        let p = count_pmf(&CountDist::Poisson { lambda: 5000.0 }).unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(
            count_pmf(&CountDist::PoissonGamma {
                mean: 1e4,
                shape: 0.01
            })
            .is_none()
        );
        let s = crate::sim::Study::from_json(
            r#"{"name": "h", "scenarios": [{"name": "h", "model": {"kind": "counts",
               "strata": [{"n": 1000, "dist": {"kind": "poisson_gamma", "mean": 10000, "shape": 0.01}}]}}]}"#,
        )
        .unwrap();
        let g = Generator::new(&s.scenarios[0]).unwrap();
        let rep = g.generate(&mut crate::sim::stream(1, 0, 0));
        let Ok(SimData::Counts(d)) = &rep.targets[0].data else {
            panic!("no data")
        };
        assert!(d.observed() > 0 && d.observed() <= 1000);
    }

    #[test]
    fn count_pmf_sums_to_one() {
        for d in [
            CountDist::Poisson { lambda: 0.7 },
            CountDist::PoissonGamma {
                mean: 0.7,
                shape: 0.5,
            },
            CountDist::OneInflated {
                lambda: 0.7,
                omega: 0.3,
            },
        ] {
            let s: f64 = count_pmf(&d).unwrap().iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "{d:?}: {s}");
        }
    }
}
