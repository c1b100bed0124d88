//! Successive-sampling population size estimation (SS-PSE) from respondent-driven samples.
//!
//! SS-PSE (Handcock, Gile & Mar 2014, 2015) treats an RDS survey as successive sampling
//! without replacement with probability proportional to each member's unit size (network
//! size, capped at K): early recruits have larger degrees than late ones, and how fast the
//! degrees fall along the recruitment order tells how much of the population is left.
//! With a prior on N, the posterior of N follows by MCMC.
//!
//! ```text
//! likelihood of the order:  P(s₁, …, s_n | N, sizes) = Π_{i=1..n} s_i / (Σ_{j ∈ pop} u_j − Σ_{l<i} s_l)
//! unit sizes:               u_j ~ CMP(λ, ν) truncated to 1..K      (sspse's default "cmp")
//! prior on θ:               σ² ~ Scale-Inv-χ²(3, σ₀²),  μ | σ ~ N(μ₀, σ²/1)   (μ, σ: mean, s.d. of u)
//! prior on N:               Beta(α, β) on n/N with median M (default), flat, or 1/N
//! two surveys (recapture):  both are successive samples of the same population; their
//!                           likelihoods multiply, N counts the distinct members seen.
//! ```
//! The sampler (module `mcmc`) augments the order with exponential arrival times, so that
//! the unseen sizes and N have closed-form full conditionals; see [`SspseParams::fit`].
//!
//! # The two-sample (capture-recapture) form, and where sspse's `gcmp2` departs from it
//!
//! ```text
//! population: N units, unit sizes u_j ~ π_θ independently (CMP truncated to 1..K)
//! survey s = 1, 2: a successive sample of n_s units; at its step i it takes unit j with
//!     probability u_j / (Σ_all u − sizes survey s already took); the surveys are independent
//!     given the sizes; n₀ respondents are in both, n = n₁ + n₂ − n₀ distinct are seen
//! p(data, unseen sizes | N, θ) ∝ N!/(N − n)! · Π_seen π_θ(d) · Mult(c; N − n, π_θ)
//!                                · Π_{s=1,2} Π_{i=1..n_s} d_{s,i} / R_{s,i}
//! R_{s,i} = U + O_s + Σ_{l ≥ i} d_{s,l}     total size survey s has not taken at its step i
//!     U   = Σ sizes of the N − n units neither survey saw (counts c by size)
//!     O₁  = Σ sizes of the units only survey 2 saw (never taken by survey 1)
//!     O₂  = Σ sizes of the units only survey 1 saw (never taken by survey 2)
//! arrival times: r = Σ_s Σ_i E_{s,i}/R_{s,i}, E ~ Exp(1) (r = r₁ + r₂); an unseen unit of
//!     size k escaped both surveys with weight e^{−r k}, so
//!     N | θ, r ∝ prior(N) · N!/(N − n)! · γ(r)^{N−n},   γ(r) = Σ_k π_k e^{−r k}
//!     c | N, θ, r ~ Mult(N − n; π_k e^{−r k}/γ(r))
//!
//! sspse 1.1.0-6 (`gcmp2`, called by posteriorsize(s, s2, previous = "recapture")):
//!     O₁ ← sizes of n − n₁ units drawn once, at random, from survey 1's last 10 recruits
//!          (the sizes of the units only survey 2 saw are overwritten)
//!     O₂ ← Σ sizes of the units only survey 1 saw + sizes of n − n₂ units drawn once from
//!          survey 2's last 10 recruits (the survey-1-only units are counted twice)
//!     and, smaller: r is drawn from the previous sweep's unseen sizes (before they are
//!     redrawn), unseen units never get size K, θ moves every 10th sweep.
//! ```
//! The double count is the one that matters: O₂ roughly doubles, survey 2's R_{2,i} are too
//! large, r too small, γ(r) too large, and the posterior puts more units outside both
//! surveys. On fauxmadrona2 (true N = 1,000; 400 and 350 respondents, 164 in both) sspse
//! gives a posterior median of 1,148 and a 95% interval (1026, 1305) that misses the truth;
//! the model above gives about 960, 90% interval (886, 1043). `sspse_compat(true)` reproduces the two
//! totals (with phantom sizes from our own stream) and lands within a few seed-SDs of the
//! package; it is for comparison only, the default is the model.
//!
//! Visibility (`visibility(true)`, one survey): sspse's measurement-error model, the sizes
//! that drive the sampling are latent visibilities and the reported degree a noisy measure
//! of them (module `visibility`, formulas there). Visibilities are drawn from their exact
//! full conditional; `sspse_compat(true)` draws them as sspse 1.1.0-6 does.
//!
//! # References
//! - Handcock, M. S., Gile, K. J. & Mar, C. M. (2014). Estimating hidden population size
//!   using respondent-driven sampling data. *Electronic Journal of Statistics* 8, 1491–1521.
//! - Handcock, Gile & Mar (2015). Estimating the size of populations at high risk for HIV
//!   using respondent-driven sampling data. *Biometrics* 71, 258–266.
//! - Kim, B. J. & Handcock, M. S. (2021). Population size estimation using multiple
//!   respondent-driven sampling surveys. *JSSAM* 9, 94–120.
//! - R package `sspse` 1.1.0-6, `posteriorsize(visibility = FALSE)` and
//!   `posteriorsize(s, s2, previous = "recapture", visibility = FALSE)`.

mod data;
mod mcmc;
mod prior;
mod report;
pub mod sim;
mod summary;
mod visibility;

pub use data::RdsSample;
pub use prior::{SizePrior, TabulatedPrior};
pub use report::ReportFormat;
pub use summary::{PosteriorSummary, ess, hpd_sorted, quantile_sorted, split_rhat};

use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, Interval, IntervalMethod, Warning};
use mcmc::{ChainDraws, ChainSettings, Model, Pass};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use visibility::{Visibility, VisibilityInput};

/// sspse 1.1.0-6's cap on unit sizes (`K <- 35` in `posteriorsize`).
pub const DEFAULT_K: usize = 35;

/// Settings of an SS-PSE fit; build with [`Sspse::params`], then call [`SspseParams::fit`]
/// or [`SspseParams::fit_recapture`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SspseParams {
    /// Prior on N.
    pub prior: SizePrior,
    /// Cap on unit sizes (sizes above K count as K).
    pub k: usize,
    /// Number of chains (run in parallel; chain c draws from `rng::stream(seed, &[c])`).
    pub chains: usize,
    /// Retained draws per chain (sspse `samplesize`, 1000).
    pub samples: usize,
    /// Sweeps between retained draws (sspse `interval`, 10).
    pub interval: usize,
    /// Sweeps discarded first (sspse `warmup`, 5000).
    pub warmup: usize,
    /// Metropolis steps for θ per sweep.
    pub theta_steps: usize,
    /// Base seed.
    pub seed: u64,
    /// Raise each degree to the respondent's recruits + 1 (sspse `include.tree = TRUE`).
    pub include_tree: bool,
    /// Two surveys: map the second survey's degrees onto the first's by rank (sspse
    /// `equalize = TRUE`).
    pub equalize: bool,
    /// Reproduce sspse 1.1.0-6's arithmetic where it departs from the model (off by default;
    /// for comparison with the package):
    /// - two surveys: `gcmp2` overwrites the second-survey-only sizes of survey 1 and adds
    ///   n − n₂ phantom units to survey 2, both drawn from each survey's last 10 recruits,
    ///   instead of the model's exact totals;
    /// - visibility model: each visibility is drawn from π_u·P(report | u)·P(recruits | u)·u,
    ///   without the arrival-time factor e^{−u t} of the exact full conditional, every 20th
    ///   sweep (`gcmpwpvis`).
    #[serde(default)]
    pub sspse_compat: bool,
    /// Visibility model (one survey; sspse's `visibility = TRUE`): the unit sizes are latent
    /// visibilities u; the reported degree, divided by ω = mean degree/8 (sspse's fixed
    /// optimism), is P(d' | u) ∝ NB(d'; mean u, variance α·u)·exp(−|d' − u|/σ), and the
    /// number of recruits is Poisson with log-mean β₀ + β_t log(rank) + β_u log u, censored
    /// at the coupon limit. See [`SspseParams::fit`].
    #[serde(default)]
    pub visibility: bool,
    /// Variance-to-mean ratio α of the reporting model (sspse's `mem.overdispersion`, 15).
    #[serde(default = "default_overdispersion")]
    pub visibility_overdispersion: f64,
    /// Prior centre of the reporting-error scale σ (sspse's `mem.scale.prior`, 2; prior
    /// σ² ~ Scale-Inv-χ²(10, σ₀²)).
    #[serde(default = "default_scale_prior")]
    pub visibility_scale_prior: f64,
    /// Also model the number of recruits given visibility (sspse's recruitment component;
    /// off by default). sspse 1.1.0-6 includes it but moves β_u by steps of 0.001, so β_u
    /// stays near its prior mean 0, where the recruits say nothing about visibility. Sampled
    /// properly, β_u soaks up the end-of-fieldwork drop in recruiting (respondents reached
    /// late recruit nobody because the survey closes), which β_t·log(rank) cannot follow,
    /// and drags N down: on fauxmadrona the median falls from about 1,010 to 780.
    #[serde(default)]
    pub visibility_recruitment: bool,
    /// Prior mean μ₀ of the unit-size distribution (default: from the data, see `fit`).
    pub mean_prior_degree: Option<f64>,
    /// Prior s.d. σ₀ of the unit-size distribution (default: from the data).
    pub sd_prior_degree: Option<f64>,
    /// Prior degrees of freedom for μ (sspse `df.mean.prior.visibility`, 1).
    pub df_mean_prior: f64,
    /// Prior degrees of freedom for σ (sspse `df.sd.prior.visibility`, 3).
    pub df_sd_prior: f64,
    /// Level of the credible interval carried by the [`Estimate`] (0.90).
    pub level: f64,
}

fn default_overdispersion() -> f64 {
    15.0
}

fn default_scale_prior() -> f64 {
    2.0
}

/// Entry point of SS-PSE.
#[derive(Debug, Clone, Copy)]
pub struct Sspse;

impl Sspse {
    /// The defaults of sspse 1.1.0-6's `posteriorsize(visibility = FALSE)` with the given
    /// prior on N, run as 4 chains of 1,000 draws.
    pub fn params(prior: SizePrior) -> SspseParams {
        SspseParams {
            prior,
            k: DEFAULT_K,
            chains: 4,
            samples: 1000,
            interval: 10,
            warmup: 5000,
            theta_steps: 4,
            seed: 1,
            include_tree: true,
            equalize: true,
            sspse_compat: false,
            visibility: false,
            visibility_overdispersion: 15.0,
            visibility_scale_prior: 2.0,
            visibility_recruitment: false,
            mean_prior_degree: None,
            sd_prior_degree: None,
            df_mean_prior: 1.0,
            df_sd_prior: 3.0,
            level: 0.90,
        }
    }
}

/// Which form of SS-PSE was fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SspseForm {
    /// One RDS survey.
    OneSample,
    /// Two RDS surveys with matched respondents (sspse `previous = "recapture"`).
    Recapture,
}

/// A fitted SS-PSE posterior.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SspseFit {
    /// One survey or two.
    pub form: SspseForm,
    /// The settings used.
    pub params: SspseParams,
    /// Distinct respondents seen (n; n₁ + n₂ − n₀ for two surveys).
    pub n_seen: u64,
    /// Respondents per survey.
    pub survey_sizes: Vec<u64>,
    /// Respondents of the second survey also in the first (n₀).
    pub recaptures: Option<u64>,
    /// Prior mean μ₀ and s.d. σ₀ of the unit-size distribution actually used.
    pub degree_prior: [f64; 2],
    /// Largest N the prior allows (N < `max_n`).
    pub max_n: u64,
    /// Beta prior shapes (α, β) on n/N, NaN for other priors.
    pub prior_shapes: [f64; 2],
    /// Prior median of N on its tabulated support.
    pub prior_median: f64,
    /// Prior 5% and 95% quantiles of N on its tabulated support (to judge how far the data
    /// narrowed the prior).
    #[serde(default)]
    pub prior_eq90: [f64; 2],
    /// Posterior of N.
    pub n: PosteriorSummary,
    /// Posterior of the mean unit size μ.
    pub mean_degree: PosteriorSummary,
    /// Acceptance rate of the θ Metropolis steps.
    pub theta_acceptance: f64,
    /// Draws of N, one vector per chain.
    pub draws: Vec<Vec<f64>>,
    /// The estimate to cite: posterior median, posterior s.d., equal-tailed credible
    /// interval (HPD interval beside it).
    pub estimate: Estimate,
}

fn check(p: &SspseParams) -> Result<()> {
    if p.k < 2 {
        return Err(Error::param("K", p.k, "at least 2"));
    }
    if p.chains == 0 {
        return Err(Error::param("chains", p.chains, "at least 1"));
    }
    if p.samples < 4 {
        return Err(Error::param("samples", p.samples, "at least 4"));
    }
    if p.interval == 0 {
        return Err(Error::param("interval", p.interval, "at least 1"));
    }
    if !(p.level > 0.0 && p.level < 1.0) {
        return Err(Error::param("level", p.level, "a probability in (0, 1)"));
    }
    for (name, v) in [
        ("df_mean_prior", p.df_mean_prior),
        ("df_sd_prior", p.df_sd_prior),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::param(name, v, "a positive number"));
        }
    }
    Ok(())
}

fn cap(x: u32, k: usize) -> usize {
    (x.max(1) as usize).min(k)
}

/// sspse's empirical prior for the unit-size distribution: degrees rescaled by
/// mean(degree)/8, capped at K, then the 1/size-weighted (Volz-Heckathorn) mean and s.d.
fn degree_prior(prior_sizes: &[u32], raw: &[u32], k: usize) -> (f64, f64) {
    let mean_raw = raw.iter().map(|&d| d as f64).sum::<f64>() / raw.len() as f64;
    let scale = if mean_raw > 0.0 { mean_raw / 8.0 } else { 1.0 };
    let ds: Vec<f64> = prior_sizes
        .iter()
        .map(|&d| {
            let v = (d as f64 / scale).min(k as f64);
            if v == 0.0 { 1.0 } else { v }
        })
        .collect();
    let (mut sw, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for d in &ds {
        let w = 1.0 / d;
        sw += w;
        s1 += w * d;
        s2 += w * d * d;
    }
    let mu = s1 / sw;
    let sd = (s2 / sw - mu * mu).max(1e-6).sqrt().min(4.0 * mu);
    (mu, sd)
}

fn suffix(d: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; d.len()];
    let mut acc = 0.0;
    for i in (0..d.len()).rev() {
        acc += d[i];
        out[i] = acc;
    }
    out
}

fn validate_sample(s: &RdsSample, which: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::invalid(format!(
            "the {which} survey has no respondents"
        )));
    }
    if s.recruits.len() != s.len() || s.is_seed.len() != s.len() {
        return Err(Error::invalid(format!(
            "the {which} survey's recruit and seed columns do not match its {} degrees",
            s.len()
        )));
    }
    Ok(())
}

impl SspseParams {
    /// Sets the number of chains.
    pub fn chains(mut self, c: usize) -> Self {
        self.chains = c;
        self
    }
    /// Sets the base seed.
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// Sets retained draws per chain.
    pub fn samples(mut self, s: usize) -> Self {
        self.samples = s;
        self
    }
    /// Sets warm-up sweeps.
    pub fn warmup(mut self, w: usize) -> Self {
        self.warmup = w;
        self
    }
    /// Sets sweeps between retained draws.
    pub fn interval(mut self, i: usize) -> Self {
        self.interval = i;
        self
    }
    /// Sets the cap K on unit sizes.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }
    /// Sets the level of the reported credible interval.
    pub fn level(mut self, l: f64) -> Self {
        self.level = l;
        self
    }
    /// Whether to fit the visibility (reporting-error) model (one survey only).
    pub fn visibility(mut self, b: bool) -> Self {
        self.visibility = b;
        self
    }
    /// Whether to reproduce sspse's two-survey arithmetic (see the field).
    pub fn sspse_compat(mut self, b: bool) -> Self {
        self.sspse_compat = b;
        self
    }
    /// Whether to raise degrees to recruits + 1 (sspse `include.tree`).
    pub fn include_tree(mut self, b: bool) -> Self {
        self.include_tree = b;
        self
    }

    fn sizes(&self, s: &RdsSample) -> Vec<u32> {
        if self.include_tree {
            s.tree_sizes()
        } else {
            s.degrees.clone()
        }
    }

    /// Fits SS-PSE to one RDS survey (sspse `posteriorsize(s, median.prior.size = M,
    /// visibility = FALSE)`).
    ///
    /// Unit sizes: the reported degrees (raised to recruits + 1 when `include_tree`),
    /// 0 read as 1, capped at K. Unless given, the prior mean and s.d. of the unit-size
    /// distribution are sspse's empirical ones (degrees rescaled to mean 8, capped at K,
    /// 1/size-weighted mean and s.d.; sspse then refits them through a CMP fit, which we
    /// skip: the prior has 1 and 3 degrees of freedom and barely moves the posterior).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for settings out of range or a prior median not above
    /// n; [`Error::InvalidData`] for an empty sample.
    ///
    /// # Examples
    /// ```
    /// use darkfigure::kp::sspse::{RdsSample, SizePrior, Sspse};
    /// // a small successive sample: big degrees first, small ones later
    /// let degs: Vec<u32> = (0..120).map(|i| 2 + ((119 - i) / 12) as u32).collect();
    /// let s = RdsSample::from_degrees(&degs)?;
    /// let fit = Sspse::params(SizePrior::Beta { median: 300.0 })
    ///     .chains(2).warmup(500).samples(200).interval(2).fit(&s)?;
    /// assert!(fit.n.median > 120.0);
    /// assert!(fit.estimate.interval.contains(fit.estimate.n_hat));
    /// # Ok::<(), darkfigure::Error>(())
    /// ```
    pub fn fit(&self, s: &RdsSample) -> Result<SspseFit> {
        check(self)?;
        validate_sample(s, "first")?;
        let k = self.k;
        let raw = self.sizes(s);
        let d: Vec<usize> = raw.iter().map(|&x| cap(x, k)).collect();
        let mut counts = vec![0u64; k];
        for &x in &d {
            counts[x - 1] += 1;
        }
        let n = s.len() as u64;
        let df: Vec<f64> = d.iter().map(|&x| x as f64).collect();
        let passes = vec![Pass {
            suffix: suffix(&df),
            outside: 0.0,
        }];
        let (mu0, sd0) = degree_prior(&raw, &s.degrees, k);
        let vis = if self.visibility {
            let phi = self.visibility_overdispersion;
            if !(phi.is_finite() && phi > 1.0) {
                return Err(Error::param(
                    "visibility_overdispersion",
                    phi,
                    "a number above 1 (variance/mean of the reporting model)",
                ));
            }
            let sc = self.visibility_scale_prior;
            if !(sc.is_finite() && sc > 0.0) {
                return Err(Error::param(
                    "visibility_scale_prior",
                    sc,
                    "a positive number",
                ));
            }
            Some(Visibility::new(VisibilityInput {
                sizes: &raw,
                raw_degrees: &s.degrees,
                recruits: &s.recruits,
                k,
                overdispersion: phi,
                scale_prior: sc,
                scale_df: 10.0,
                recruitment: self.visibility_recruitment,
                exact: !self.sspse_compat,
            }))
        } else {
            None
        };
        self.run(
            SspseForm::OneSample,
            counts,
            passes,
            vis,
            n,
            vec![n],
            None,
            (mu0, sd0),
        )
    }

    /// Fits two-survey (capture-recapture) SS-PSE: sspse `posteriorsize(s1, s2,
    /// previous = "recapture", visibility = FALSE)`.
    ///
    /// `second.recaptured` marks the respondents of the second survey who were also in
    /// the first (from its `recapture` column, or
    /// [`RdsSample::mark_recaptures_from`]). When `equalize` is on (the sspse default),
    /// the second survey's degrees are first replaced by the first survey's sorted degrees
    /// matched by rank (ties broken at random from the seed), as sspse does.
    ///
    /// # Errors
    /// As [`SspseParams::fit`]; [`Error::InvalidData`] when the second survey has no
    /// recapture marks, or more recaptures than the first survey has respondents.
    pub fn fit_recapture(&self, first: &RdsSample, second: &RdsSample) -> Result<SspseFit> {
        check(self)?;
        validate_sample(first, "first")?;
        validate_sample(second, "second")?;
        let rc = second.recaptured.as_ref().ok_or_else(|| {
            Error::invalid("the second survey needs recapture marks (a `recapture` column or ids)")
        })?;
        if rc.len() != second.len() {
            return Err(Error::invalid(
                "recapture marks do not match the second survey",
            ));
        }
        let n1 = first.len();
        let n2 = second.len();
        let n0 = rc.iter().filter(|&&b| b).count();
        if n0 > n1 {
            return Err(Error::invalid(format!(
                "{n0} recaptures but only {n1} respondents in the first survey"
            )));
        }
        let k = self.k;
        let mut second = second.clone();
        if self.equalize {
            equalize(&first.degrees, &mut second.degrees, self.seed);
        }
        let raw1 = self.sizes(first);
        let raw2 = self.sizes(&second);
        let d1: Vec<f64> = raw1.iter().map(|&x| cap(x, k) as f64).collect();
        let d2: Vec<f64> = raw2.iter().map(|&x| cap(x, k) as f64).collect();
        let mut counts = vec![0u64; k];
        let mut prior_sizes = raw1.clone();
        for &x in &d1 {
            counts[x as usize - 1] += 1;
        }
        let mut only2 = 0.0;
        let mut rc2 = 0.0;
        for (i, &x) in d2.iter().enumerate() {
            if rc[i] {
                rc2 += x;
            } else {
                counts[x as usize - 1] += 1;
                only2 += x;
                prior_sizes.push(raw2[i]);
            }
        }
        let total1: f64 = d1.iter().sum();
        let mut outside1 = only2;
        let mut outside2 = (total1 - rc2).max(0.0);
        let n = (n1 + n2 - n0) as u64;
        if self.sspse_compat {
            use rand::RngExt;
            let mut rng = crate::rng::stream(self.seed, &[u64::MAX - 1]);
            let mut last10 = |d: &[f64], count: usize| -> f64 {
                let lo = d.len().saturating_sub(10);
                (0..count)
                    .map(|_| d[rng.random_range(lo..d.len())])
                    .sum::<f64>()
            };
            outside1 = last10(&d1, n as usize - n1);
            outside2 += last10(&d2, n as usize - n2);
        }
        let passes = vec![
            Pass {
                suffix: suffix(&d1),
                outside: outside1,
            },
            Pass {
                suffix: suffix(&d2),
                outside: outside2,
            },
        ];
        let (mu0, sd0) = degree_prior(&prior_sizes, &first.degrees, k);
        if self.visibility {
            return Err(Error::param(
                "visibility",
                "true",
                "false for two surveys: the two-survey visibility model is not implemented",
            ));
        }
        self.run(
            SspseForm::Recapture,
            counts,
            passes,
            None,
            n,
            vec![n1 as u64, n2 as u64],
            Some(n0 as u64),
            (mu0, sd0),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        form: SspseForm,
        counts: Vec<u64>,
        passes: Vec<Pass>,
        vis: Option<Visibility>,
        n: u64,
        survey_sizes: Vec<u64>,
        recaptures: Option<u64>,
        (mu0, sd0): (f64, f64),
    ) -> Result<SspseFit> {
        let prior = self.prior.tabulate(n)?;
        let mu0 = self.mean_prior_degree.unwrap_or(mu0);
        let sd0 = self.sd_prior_degree.unwrap_or(sd0);
        if !(mu0.is_finite() && mu0 >= 1.0 && sd0.is_finite() && sd0 > 0.0) {
            return Err(Error::param(
                "degree prior (mean, s.d.)",
                format!("({mu0}, {sd0})"),
                "a mean of at least 1 and a positive s.d.",
            ));
        }
        let prior_median = prior.quantile(0.5) as f64;
        let prior_eq90 = [prior.quantile(0.05) as f64, prior.quantile(0.95) as f64];
        let max_n = prior.max_n;
        let shapes = [prior.alpha, prior.beta];
        let mut model = Model::new(
            self.k,
            counts,
            passes,
            n,
            prior,
            mu0,
            sd0,
            self.df_mean_prior,
            self.df_sd_prior,
        );
        model.visibility = vis;
        let settings = ChainSettings {
            warmup: self.warmup,
            samples: self.samples,
            interval: self.interval,
            theta_steps: self.theta_steps,
        };
        let chains: Vec<ChainDraws> = (0..self.chains)
            .into_par_iter()
            .map(|c| {
                let mut rng = crate::rng::stream(self.seed, &[c as u64]);
                model.run(&settings, &mut rng)
            })
            .collect();
        let draws: Vec<Vec<f64>> = chains.iter().map(|c| c.n.clone()).collect();
        let mus: Vec<Vec<f64>> = chains.iter().map(|c| c.mu.clone()).collect();
        let acc = chains.iter().map(|c| c.theta_accepted).sum::<usize>() as f64
            / chains
                .iter()
                .map(|c| c.theta_proposed)
                .sum::<usize>()
                .max(1) as f64;
        let post = PosteriorSummary::from_chains(&draws);
        let mean_degree = PosteriorSummary::from_chains(&mus);
        let estimate = self.estimate(form, &post, &draws, n, max_n);
        Ok(SspseFit {
            form,
            params: self.clone(),
            n_seen: n,
            survey_sizes,
            recaptures,
            degree_prior: [mu0, sd0],
            max_n,
            prior_shapes: shapes,
            prior_median,
            prior_eq90,
            n: post,
            mean_degree,
            theta_acceptance: acc,
            draws,
            estimate,
        })
    }

    fn estimate(
        &self,
        form: SspseForm,
        post: &PosteriorSummary,
        draws: &[Vec<f64>],
        n: u64,
        max_n: u64,
    ) -> Estimate {
        let mut all: Vec<f64> = draws.iter().flatten().copied().collect();
        all.sort_by(f64::total_cmp);
        let a = (1.0 - self.level) / 2.0;
        let eq = Interval {
            lower: quantile_sorted(&all, a),
            upper: quantile_sorted(&all, 1.0 - a),
            level: self.level,
            method: IntervalMethod::Credible,
        };
        let hpd = hpd_sorted(&all, self.level);
        let model = match form {
            SspseForm::OneSample => "SS-PSE (CMP unit sizes)",
            SspseForm::Recapture => "SS-PSE capture-recapture (CMP unit sizes)",
        };
        let mut e = Estimate::new("sspse", model, post.median, post.sd, eq, n).with_other_interval(
            Interval {
                lower: hpd[0],
                upper: hpd[1],
                level: self.level,
                method: IntervalMethod::Credible,
            },
        );
        let mut assumptions = vec![
            Assumption::ClosedDuringSurvey,
            Assumption::SuccessiveSampling,
            if self.visibility {
                Assumption::DegreeWithError
            } else {
                Assumption::ExactDegree
            },
        ];
        if form == SspseForm::Recapture {
            assumptions.push(Assumption::IndependentSurveys);
            assumptions.push(Assumption::PerfectMatching);
        }
        e = e.with_assumptions(&assumptions);
        if self.chains > 1 && post.rhat > 1.05 {
            e = e.with_warning(Warning::Other {
                message: format!(
                    "chains disagree (split R̂ = {:.3} > 1.05): run longer before citing",
                    post.rhat
                ),
            });
        }
        if post.ess < 100.0 {
            e = e.with_warning(Warning::Other {
                message: format!(
                    "effective sample size of N is only {:.0}: the interval ends are rough",
                    post.ess
                ),
            });
        }
        let near_top =
            all.iter().filter(|&&x| x >= 0.95 * max_n as f64).count() as f64 / all.len() as f64;
        if near_top > 0.01 {
            e = e.with_warning(Warning::Other {
                message: format!(
                    "{:.1}% of the posterior lies within 5% of the prior's ceiling N < {max_n}: \
                     the upper end reflects the prior, not the data",
                    100.0 * near_top
                ),
            });
        }
        e
    }
}

/// sspse's `equalize`: the second survey's degrees replaced by the first survey's sorted
/// degrees matched by rank (ties in random order).
fn equalize(first: &[u32], second: &mut [u32], seed: u64) {
    use rand::RngExt;
    let n1 = first.len();
    let n2 = second.len();
    let mut rng = crate::rng::stream(seed, &[u64::MAX]);
    let keys: Vec<f64> = (0..n2).map(|_| rng.random::<f64>()).collect();
    let mut order: Vec<usize> = (0..n2).collect();
    order.sort_by(|&a, &b| second[a].cmp(&second[b]).then(keys[a].total_cmp(&keys[b])));
    // rank[i] in 1..=n2
    let mut rank = vec![0usize; n2];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r + 1;
    }
    if n1 >= n2 {
        let mut src: Vec<u32> = first[..n2].to_vec();
        src.sort_unstable();
        for i in 0..n2 {
            second[i] = src[rank[i] - 1];
        }
    } else {
        let mut src: Vec<u32> = first.to_vec();
        src.sort_unstable();
        for i in 0..n2 {
            let a = ((n1 as f64) * rank[i] as f64 / n2 as f64).round() as usize;
            second[i] = src[a.clamp(1, n1) - 1];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equalize_maps_ranks() {
        let first = [5, 1, 9, 3];
        let mut second = [10, 2, 7];
        equalize(&first, &mut second, 1);
        // sorted first[..3] = [1, 5, 9]; ranks of second: 3, 1, 2
        assert_eq!(second, [9, 1, 5]);
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        let s = RdsSample::from_degrees(&[3, 2, 1]).unwrap();
        let p = Sspse::params(SizePrior::Beta { median: 10.0 });
        assert!(matches!(
            p.clone().chains(0).fit(&s),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            p.clone().level(1.5).fit(&s),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            Sspse::params(SizePrior::Beta { median: 2.0 }).fit(&s),
            Err(Error::InvalidParameter { .. })
        ));
    }
}
