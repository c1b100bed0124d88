//! Triangulation: several estimates of one population, each with its interval and the
//! analyst's confidence in its design, combined into one consensus figure.
//!
//! The model is the triangulator app's (Fellows et al., fellstat/triangulator,
//! `inst/stan/combine_estimates.stan`), on the log scale:
//! ```text
//! yᵢ = ln N̂ᵢ,   σᵢ = (ln Uᵢ − ln Lᵢ) / (2 · 1.96)    (95% inputs; z(level) otherwise)
//! yᵢ ~ Normal(θ, sqrt(τ² + (σᵢ/cᵢ)²))               cᵢ = design confidence in (0, 1]
//! θ ~ Normal(ln m, (ln q₇₅ − ln m)/0.674)            prior median m, 75th percentile q₇₅
//!     (or flat), truncated to [ln lower, ln upper] when plausibility bounds are given
//! τ ~ half-Cauchy(0, multiplier · sqrt(var(y) + 10⁻⁶))   (multiplier 0.01 in the app)
//! N = exp(θ)
//! ```
//! Instead of MCMC, θ is integrated analytically given τ (a normal, truncated when bounds
//! are given), and τ numerically: composite Simpson on t = ln τ over
//! [ln s − 23, ln(s + range(y) + max σ) + 12] (s the Cauchy scale) with 1,200 panels;
//! grid points whose weight is below 10⁻¹⁵ of the total are dropped.
//! The posterior of θ is then a finite mixture of (truncated) normals, so the median,
//! quantiles (by root search), mean and SD of N are exact up to the τ rule; doubling the
//! panels changes the reference example's figures by less than 1e-9 relative (tested).
//! With τ = 0 the model has a closed form (a precision-weighted normal-normal update),
//! also returned.
//!
//! Each input's *pull*: its share of the consensus precision at the posterior mean of τ²,
//! and the shift of the consensus median when it is left out.
//!
//! The simple published convention (e.g. Okal et al. 2013): the median of the methods'
//! estimates is the point estimate and the other methods' extremes the plausible bounds
//! ([`median_of_methods`]).
//!
//! # References
//! - Fellows, I. E. et al. triangulator (Shiny app and R package), GitHub
//!   fellstat/triangulator; docs/math.md.
//! - Okal, J. et al. (2013) Estimates of the size of key populations at risk for HIV
//!   infection: men who have sex with men, female sex workers and injecting drug users in
//!   Nairobi, Kenya. *Sex. Transm. Infect.* 89, 366-371.
//! - UNAIDS/WHO (2010) *Guidelines on estimating the size of populations most at risk to
//!   HIV* (triangulation, plausibility bounds).

use crate::ci;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, Interval, IntervalMethod, Warning};
use crate::kp::table::Table;
use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// One input estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    /// Name (method, study).
    pub name: String,
    /// Point estimate.
    pub estimate: f64,
    /// Lower interval limit.
    pub lower: f64,
    /// Upper interval limit.
    pub upper: f64,
    /// Level of that interval (0.95 usually).
    pub level: f64,
    /// Confidence in the study's design, in (0, 1]; 0.5 doubles its standard error.
    pub confidence: f64,
}

impl Study {
    /// A study with a 95% interval and full confidence.
    pub fn new(name: impl Into<String>, estimate: f64, lower: f64, upper: f64) -> Self {
        Study {
            name: name.into(),
            estimate,
            lower,
            upper,
            level: 0.95,
            confidence: 1.0,
        }
    }

    /// Sets the design confidence (0-1).
    pub fn confidence(mut self, c: f64) -> Self {
        self.confidence = c;
        self
    }

    fn check(&self, row: usize) -> Result<()> {
        let ok = self.lower > 0.0
            && self.lower.is_finite()
            && self.upper.is_finite()
            && self.lower <= self.estimate
            && self.estimate <= self.upper
            && self.lower < self.upper;
        if !ok {
            return Err(Error::invalid_row(
                row,
                format!(
                    "study `{}`: need 0 < lower ≤ estimate ≤ upper with lower < upper (got {}, {}, {})",
                    self.name, self.lower, self.estimate, self.upper
                ),
            ));
        }
        if !(self.confidence > 0.0 && self.confidence <= 1.0) {
            return Err(Error::invalid_row(
                row,
                format!(
                    "study `{}`: confidence {} is not in (0, 1]",
                    self.name, self.confidence
                ),
            ));
        }
        ci::check_level(self.level)
    }

    /// σ on the log scale (the app's 2·1.96 for 95% intervals).
    pub fn sigma(&self) -> f64 {
        let z = if (self.level - 0.95).abs() < 1e-12 {
            1.96
        } else {
            ci::z_two_sided(self.level)
        };
        (self.upper.ln() - self.lower.ln()) / (2.0 * z)
    }
}

/// Reads studies from a table with columns `name`, `estimate`, `lower95`, `upper95` and
/// optionally `design_confidence_pct` (0-100, default 100).
///
/// # Errors
/// [`Error::CsvFormat`] for a missing column; [`Error::CsvValue`] naming file, line, column
/// and value for a non-positive estimate or limit, limits that do not bracket the
/// estimate, or a confidence outside (0, 100].
pub fn studies_from_table(t: &Table) -> Result<Vec<Study>> {
    let nc = t.find("name").unwrap_or(0);
    let ec = t.column("estimate")?;
    let lc = t.find("lower95").map_or_else(|| t.column("lower"), Ok)?;
    let uc = t.find("upper95").map_or_else(|| t.column("upper"), Ok)?;
    let cc = t
        .find("design_confidence_pct")
        .or_else(|| t.find("confidence"));
    let mut out = Vec::new();
    for r in 0..t.len() {
        let e = t.number(r, ec)?;
        if e <= 0.0 {
            return Err(t.value_error(r, ec, "a positive estimate"));
        }
        let l = t.number(r, lc)?;
        if !(l > 0.0 && l <= e) {
            return Err(t.value_error(r, lc, "a positive lower limit ≤ the estimate"));
        }
        let u = t.number(r, uc)?;
        if !(u >= e && u > l) {
            return Err(t.value_error(r, uc, "an upper limit ≥ the estimate"));
        }
        let c = match cc {
            Some(c) => {
                let v = t.number(r, c)?;
                if !(v > 0.0 && v <= 100.0) {
                    return Err(t.value_error(r, c, "a confidence in (0, 100]"));
                }
                v / 100.0
            }
            None => 1.0,
        };
        out.push(Study {
            name: t.cell(r, nc).to_string(),
            estimate: e,
            lower: l,
            upper: u,
            level: 0.95,
            confidence: c,
        });
    }
    Ok(out)
}

/// Prior on the population size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Prior {
    /// Log-normal with this median and 75th percentile (sd = ln(q75/median)/0.674).
    MedianQ75 {
        /// Prior median.
        median: f64,
        /// Prior 75th percentile.
        q75: f64,
    },
    /// Flat on the log scale (needs at least one study).
    Flat,
}

/// Settings of the triangulation model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Triangulation {
    /// Prior on N.
    pub prior: Prior,
    /// Lower plausibility bound (truncates the prior).
    pub lower_bound: Option<f64>,
    /// Upper plausibility bound.
    pub upper_bound: Option<f64>,
    /// τ's half-Cauchy scale as a multiple of sd(y) (0.01 in the app).
    pub tau_multiplier: f64,
    /// Credible level.
    pub level: f64,
    /// Simpson panels over ln τ.
    pub panels: usize,
}

impl Triangulation {
    /// The app's defaults with the given prior: no bounds, τ multiplier 0.01, 95%.
    pub fn new(prior: Prior) -> Self {
        Triangulation {
            prior,
            lower_bound: None,
            upper_bound: None,
            tau_multiplier: 0.01,
            level: 0.95,
            panels: 1200,
        }
    }

    /// Sets plausibility bounds on N.
    pub fn bounds(mut self, lower: Option<f64>, upper: Option<f64>) -> Self {
        self.lower_bound = lower;
        self.upper_bound = upper;
        self
    }

    /// Sets the credible level.
    pub fn level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }

    /// Sets τ's scale multiplier.
    pub fn tau_multiplier(mut self, m: f64) -> Self {
        self.tau_multiplier = m;
        self
    }
}

/// Posterior summaries of N.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Posterior {
    /// Posterior median of N.
    pub median: f64,
    /// Posterior mean of N.
    pub mean: f64,
    /// Posterior SD of N.
    pub sd: f64,
    /// Equal-tailed credible interval at the chosen level.
    pub interval: Interval,
    /// Quantiles of N at 2.5, 5, 10, 20, …, 90, 95, 97.5%.
    pub quantiles: Vec<(f64, f64)>,
    /// Posterior mean of θ = ln N.
    pub mean_log: f64,
    /// Posterior SD of θ.
    pub sd_log: f64,
    /// Posterior mean of τ (NaN for the τ = 0 form).
    pub tau_mean: f64,
}

/// One input's pull on the consensus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pull {
    /// Study name.
    pub name: String,
    /// Share of the consensus precision at the posterior mean of τ² (the prior takes the rest).
    pub weight: f64,
    /// Consensus median with this study left out (`None` with a single study).
    pub median_without: Option<f64>,
    /// ln(median / median_without): how far the study pulls the consensus (log scale).
    pub log_shift: Option<f64>,
}

/// The triangulation result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriangulationFit {
    /// Inputs.
    pub studies: Vec<Study>,
    /// Full model (τ integrated numerically).
    pub posterior: Posterior,
    /// τ = 0 closed form.
    pub tau0: Posterior,
    /// The consensus as an [`Estimate`] (posterior median, SD, credible interval).
    pub estimate: Estimate,
    /// Pull of each input.
    pub pulls: Vec<Pull>,
    /// The median-of-methods convention on the same inputs.
    pub median_of_methods: MedianOfMethods,
    /// Half-Cauchy scale of τ used.
    pub tau_scale: f64,
    /// Prior mean and SD of θ (NaN when flat).
    pub prior_log: (f64, f64),
}

#[derive(Clone, Copy)]
struct Comp {
    w: f64,
    fa: f64,
    m: f64,
    s: f64,
    za: f64,
    zb: f64,
    z: f64,
}

struct Setup {
    y: Vec<f64>,
    s2: Vec<f64>,
    mu0: f64,
    p0: f64, // prior precision (0 = flat)
    a: f64,
    b: f64,
    scale: f64,
}

fn norm() -> Normal {
    Normal::standard()
}

/// Conditional posterior of θ given τ²: (mean, sd, log marginal likelihood up to a constant).
fn conditional(st: &Setup, tau2: f64) -> (f64, f64, f64) {
    let mut prec = st.p0;
    let mut num = st.p0 * st.mu0;
    let mut ssq = st.p0 * st.mu0 * st.mu0;
    let mut logdet = 0.0;
    for (y, s2) in st.y.iter().zip(&st.s2) {
        let v = tau2 + s2;
        prec += 1.0 / v;
        num += y / v;
        ssq += y * y / v;
        logdet += v.ln();
    }
    let m = num / prec;
    let s = (1.0 / prec).sqrt();
    let ll = -0.5 * logdet - 0.5 * prec.ln() - 0.5 * (ssq - m * m * prec);
    (m, s, ll)
}

fn comp(st: &Setup, w: f64, m: f64, s: f64) -> Comp {
    let za = if st.a.is_finite() {
        (st.a - m) / s
    } else {
        f64::NEG_INFINITY
    };
    let zb = if st.b.is_finite() {
        (st.b - m) / s
    } else {
        f64::INFINITY
    };
    let fa = norm().cdf(za);
    let z = (norm().cdf(zb) - fa).max(1e-300);
    Comp {
        w,
        fa,
        m,
        s,
        za,
        zb,
        z,
    }
}

fn summarise(
    st: &Setup,
    comps: &[Comp],
    level: f64,
    tau_mean: f64,
    full: bool,
) -> Result<Posterior> {
    let nd = norm();
    let cdf = |x: f64| -> f64 {
        comps
            .iter()
            .map(|c| {
                let zx = ((x - c.m) / c.s).clamp(c.za, c.zb);
                c.w * (nd.cdf(zx) - c.fa) / c.z
            })
            .sum()
    };
    let lo = comps
        .iter()
        .map(|c| {
            if c.za.is_finite() {
                st.a
            } else {
                c.m - 40.0 * c.s
            }
        })
        .fold(f64::INFINITY, f64::min);
    let hi = comps
        .iter()
        .map(|c| {
            if c.zb.is_finite() {
                st.b
            } else {
                c.m + 40.0 * c.s
            }
        })
        .fold(f64::NEG_INFINITY, f64::max);
    // moments of e^θ (on the log scale: a wide component overflows e^{s²/2} while its
    // truncation factor underflows) and of θ under truncated normals
    let mut ln_e1 = Vec::with_capacity(comps.len());
    let mut ln_e2 = Vec::with_capacity(comps.len());
    let mut t1 = 0.0;
    let mut t2 = 0.0;
    for c in comps {
        let ln_tr =
            |k: f64| ln_normal_mass(c.za - k * c.s, c.zb - k * c.s) - ln_normal_mass(c.za, c.zb);
        ln_e1.push(c.w.ln() + c.m + 0.5 * c.s * c.s + ln_tr(1.0));
        ln_e2.push(c.w.ln() + 2.0 * c.m + 2.0 * c.s * c.s + ln_tr(2.0));
        // truncated-normal mean and variance of θ
        let pdf = |z: f64| {
            if z.is_finite() {
                (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
            } else {
                0.0
            }
        };
        let zf = |z: f64| if z.is_finite() { z } else { 0.0 };
        let (pa, pb) = (pdf(c.za), pdf(c.zb));
        let mean = c.m + c.s * (pa - pb) / c.z;
        let var =
            c.s * c.s * (1.0 + (zf(c.za) * pa - zf(c.zb) * pb) / c.z - ((pa - pb) / c.z).powi(2));
        t1 += c.w * mean;
        t2 += c.w * (var + mean * mean);
    }
    let sd_log = (t2 - t1 * t1).max(0.0).sqrt();
    let (e1, sd_n) = moments_of_n(log_sum_exp(&ln_e1), log_sum_exp(&ln_e2));
    let pdf = |x: f64| -> f64 {
        comps
            .iter()
            .map(|c| {
                let z = (x - c.m) / c.s;
                if z < c.za || z > c.zb {
                    0.0
                } else {
                    c.w * (-0.5 * z * z).exp() / (c.s * c.z * (2.0 * std::f64::consts::PI).sqrt())
                }
            })
            .sum()
    };
    // safeguarded Newton from the normal approximation, bisection when a step leaves
    // the bracket
    let q = |p: f64| -> Result<f64> {
        let (mut a, mut b) = (lo, hi);
        let mut x = (t1 + sd_log * nd.inverse_cdf(p)).clamp(lo, hi);
        for _ in 0..200 {
            let f = cdf(x) - p;
            if f == 0.0 {
                return Ok(x);
            }
            if f < 0.0 {
                a = x;
            } else {
                b = x;
            }
            let d = pdf(x);
            let mut nx = if d > 0.0 { x - f / d } else { f64::NAN };
            if !(nx > a && nx < b) {
                nx = 0.5 * (a + b);
            }
            if (nx - x).abs() <= 1e-14 * (1.0 + x.abs()) || (b - a) <= 1e-14 * (1.0 + x.abs()) {
                return Ok(nx);
            }
            x = nx;
        }
        Err(Error::Numerical {
            reason: format!("posterior quantile {p} did not converge"),
        })
    };
    let a = (1.0 - level) / 2.0;
    if !full {
        let med = q(0.5)?.exp();
        let nan = f64::NAN;
        return Ok(Posterior {
            median: med,
            mean: e1,
            sd: sd_n,
            interval: Interval {
                lower: nan,
                upper: nan,
                level,
                method: IntervalMethod::Credible,
            },
            quantiles: Vec::new(),
            mean_log: t1,
            sd_log,
            tau_mean,
        });
    }
    let probs = [
        0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975,
    ];
    let mut quantiles = Vec::with_capacity(probs.len());
    for p in probs {
        quantiles.push((p, q(p)?.exp()));
    }
    Ok(Posterior {
        median: q(0.5)?.exp(),
        mean: e1,
        sd: sd_n,
        interval: Interval {
            lower: q(a)?.exp(),
            upper: q(1.0 - a)?.exp(),
            level,
            method: IntervalMethod::Credible,
        },
        quantiles,
        mean_log: t1,
        sd_log,
        tau_mean,
    })
}

/// ln Φ(x), accurate far into the lower tail (Φ underflows below x ≈ −38).
fn ln_phi(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if x > -30.0 {
        norm().cdf(x).ln()
    } else {
        // Mills-ratio expansion: Φ(x) = φ(x)/|x| · (1 − 1/x² + 3/x⁴ − …)
        let x2 = x * x;
        -0.5 * x2 - (-x).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (1.0 - 1.0 / x2 + 3.0 / (x2 * x2)).ln()
    }
}

/// ln(Φ(hi) − Φ(lo)) for lo < hi, without cancellation in either tail.
fn ln_normal_mass(lo: f64, hi: f64) -> f64 {
    if lo > 0.0 {
        return ln_normal_mass(-hi, -lo);
    }
    let (a, b) = (ln_phi(hi), ln_phi(lo));
    a + (-(b - a).exp()).ln_1p()
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let mx = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !mx.is_finite() {
        return mx;
    }
    mx + v.iter().map(|x| (x - mx).exp()).sum::<f64>().ln()
}

/// Mean and SD of N from ln E[N] and ln E[N²]. Either is infinite when the posterior's
/// right tail is too heavy for it to exist (a flat prior on ln N with no upper bound:
/// given τ, θ is normal with variance growing like τ², and E[e^θ | τ] = e^{m + s²/2}
/// is not integrable against τ's polynomial tail).
fn moments_of_n(ln_e1: f64, ln_e2: f64) -> (f64, f64) {
    let e1 = ln_e1.exp();
    let sd = if ln_e1.is_finite() && ln_e2.is_finite() {
        // Var = E[N]² (E[N²]/E[N]² − 1), without cancelling two large numbers.
        e1 * (ln_e2 - 2.0 * ln_e1).exp_m1().max(0.0).sqrt()
    } else {
        f64::INFINITY
    };
    (e1, sd)
}

fn setup(studies: &[Study], t: &Triangulation) -> Result<Setup> {
    let y: Vec<f64> = studies.iter().map(|s| s.estimate.ln()).collect();
    let s2: Vec<f64> = studies
        .iter()
        .map(|s| (s.sigma() / s.confidence).powi(2))
        .collect();
    let (mu0, p0) = match t.prior {
        Prior::MedianQ75 { median, q75 } => {
            if !(median > 0.0 && q75 > median && q75.is_finite()) {
                return Err(Error::param(
                    "prior",
                    format!("median {median}, q75 {q75}"),
                    "0 < median < 75th percentile",
                ));
            }
            let sd = (q75.ln() - median.ln()) / 0.674;
            (median.ln(), 1.0 / (sd * sd))
        }
        Prior::Flat => (0.0, 0.0),
    };
    let a = t.lower_bound.map_or(f64::NEG_INFINITY, f64::ln);
    let b = t.upper_bound.map_or(f64::INFINITY, f64::ln);
    let n = y.len() as f64;
    let var = if y.len() > 1 {
        let mean = y.iter().sum::<f64>() / n;
        y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    Ok(Setup {
        y,
        s2,
        mu0,
        p0,
        a,
        b,
        scale: t.tau_multiplier * (var + 1e-6).sqrt(),
    })
}

fn full_components(st: &Setup, panels: usize) -> (Vec<Comp>, f64, f64) {
    let spread = st.y.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - st.y.iter().copied().fold(f64::INFINITY, f64::min);
    let smax = st.s2.iter().copied().fold(0.0, f64::max).sqrt();
    let lo = st.scale.ln() - 23.0;
    let hi = (st.scale + spread + smax).ln() + 12.0;
    let panels = panels + panels % 2;
    let h = (hi - lo) / panels as f64;
    let mut raw = Vec::with_capacity(panels + 1);
    for k in 0..=panels {
        let t = lo + h * k as f64;
        let tau = t.exp();
        // half-Cauchy density × Jacobian τ (constants dropped)
        let lp = t - (1.0 + (tau / st.scale).powi(2)).ln();
        let (m, s, ll) = conditional(st, tau * tau);
        let c = comp(st, 0.0, m, s);
        let sw: f64 = if k == 0 || k == panels {
            1.0
        } else if k % 2 == 1 {
            4.0
        } else {
            2.0
        };
        raw.push((lp + ll + c.z.ln() + sw.ln(), c, tau));
    }
    let mx = raw.iter().map(|r| r.0).fold(f64::NEG_INFINITY, f64::max);
    let tot: f64 = raw.iter().map(|r| (r.0 - mx).exp()).sum();
    let mut tau_mean = 0.0;
    let mut tau2_mean = 0.0;
    let mut comps: Vec<Comp> = Vec::with_capacity(raw.len());
    let mut kept = 0.0;
    for (l, mut c, tau) in raw {
        c.w = (l - mx).exp() / tot;
        tau_mean += c.w * tau;
        tau2_mean += c.w * tau * tau;
        if c.w > 1e-15 {
            kept += c.w;
            comps.push(c);
        }
    }
    comps.iter_mut().for_each(|c| c.w /= kept);
    (comps, tau_mean, tau2_mean)
}

fn check_inputs(studies: &[Study], t: &Triangulation) -> Result<()> {
    if studies.is_empty() {
        return Err(Error::invalid("no estimates to triangulate"));
    }
    for (i, s) in studies.iter().enumerate() {
        s.check(i)?;
    }
    ci::check_level(t.level)?;
    if !(t.tau_multiplier > 0.0 && t.tau_multiplier.is_finite()) {
        return Err(Error::param(
            "tau_multiplier",
            t.tau_multiplier,
            "a positive number",
        ));
    }
    if t.panels < 10 {
        return Err(Error::param("panels", t.panels, "at least 10"));
    }
    if let (Some(a), Some(b)) = (t.lower_bound, t.upper_bound)
        && a >= b
    {
        return Err(Error::param(
            "bounds",
            format!("[{a}, {b}]"),
            "lower bound < upper bound",
        ));
    }
    for b in [t.lower_bound, t.upper_bound].into_iter().flatten() {
        if !(b > 0.0 && b.is_finite()) {
            return Err(Error::param("bounds", b, "positive plausibility bounds"));
        }
    }
    Ok(())
}

fn posterior_full(
    studies: &[Study],
    t: &Triangulation,
    full: bool,
) -> Result<(Posterior, Setup, f64)> {
    let st = setup(studies, t)?;
    let (comps, tau_mean, tau2) = full_components(&st, t.panels);
    let post = summarise(&st, &comps, t.level, tau_mean, full)?;
    Ok((post, st, tau2))
}

/// Runs the triangulation model.
///
/// # Errors
/// [`Error::InvalidData`] naming the study for a bad estimate, interval or confidence;
/// [`Error::InvalidParameter`] for a bad prior, bound or level; [`Error::Numerical`] if a
/// posterior quantile cannot be bracketed.
///
/// # Examples
/// ```
/// use darkfigure::kp::triangulate::{Prior, Study, Triangulation, triangulate};
/// // the triangulator documentation's example
/// let studies = vec![
///     Study::new("3S-CRC", 2000.0, 1000.0, 3000.0).confidence(0.9),
///     Study::new("2S-CRC", 2500.0, 1500.0, 3500.0).confidence(0.7),
///     Study::new("Service Multiplier", 1000.0, 250.0, 2500.0).confidence(0.2),
/// ];
/// let fit = triangulate(&studies, &Triangulation::new(Prior::MedianQ75 { median: 3000.0, q75: 4000.0 }))?;
/// assert!((fit.posterior.median - 2371.256439314026).abs() / 2371.26 < 1e-4);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn triangulate(studies: &[Study], t: &Triangulation) -> Result<TriangulationFit> {
    check_inputs(studies, t)?;
    let (posterior, st, tau2) = posterior_full(studies, t, true)?;
    let (m0, s0, _) = conditional(&st, 0.0);
    let c0 = comp(&st, 1.0, m0, s0);
    let tau0 = summarise(&st, &[c0], t.level, f64::NAN, true)?;
    // pulls
    let prec: Vec<f64> = st.s2.iter().map(|s2| 1.0 / (tau2 + s2)).collect();
    let tot = prec.iter().sum::<f64>() + st.p0;
    let pulls = studies
        .par_iter()
        .enumerate()
        .map(|(i, s)| {
            let without = if studies.len() > 1 {
                let rest: Vec<Study> = studies
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, s)| s.clone())
                    .collect();
                posterior_full(&rest, t, false).ok().map(|p| p.0.median)
            } else {
                None
            };
            Pull {
                name: s.name.clone(),
                weight: prec[i] / tot,
                median_without: without,
                log_shift: without.map(|w| (posterior.median / w).ln()),
            }
        })
        .collect();
    let estimate = Estimate::new(
        "triangulation",
        "triangulator (log-scale hierarchical, quadrature)",
        posterior.median,
        posterior.sd,
        posterior.interval,
        0,
    )
    .with_assumptions(&[Assumption::ExchangeableStudies]);
    let estimate = if posterior.sd.is_finite() {
        estimate
    } else {
        estimate.with_warning(Warning::Other {
            message: format!(
                "the posterior mean and SD of N do not exist (a flat prior on ln N without an upper \
                 bound leaves a heavy right tail): cite the median and the credible interval; the \
                 posterior SD of ln N is {:.3}",
                posterior.sd_log
            ),
        })
    };
    let mom = median_of_methods(
        &studies
            .iter()
            .map(|s| (s.name.clone(), s.estimate))
            .collect::<Vec<_>>(),
    )?;
    Ok(TriangulationFit {
        studies: studies.to_vec(),
        posterior,
        tau0,
        estimate,
        pulls,
        median_of_methods: mom,
        tau_scale: st.scale,
        prior_log: if st.p0 > 0.0 {
            (st.mu0, (1.0 / st.p0).sqrt())
        } else {
            (f64::NAN, f64::NAN)
        },
    })
}

/// The median-of-methods convention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MedianOfMethods {
    /// Median of the estimates (mean of the middle two for an even count).
    pub point: f64,
    /// Smallest estimate (lower plausible bound).
    pub lower: f64,
    /// Largest estimate (upper plausible bound).
    pub upper: f64,
    /// Methods at the bounds: (lower's name, upper's name).
    pub bound_methods: (String, String),
}

/// The median of several methods as the point estimate, the smallest and largest of the
/// others as plausible bounds (Okal et al. 2013 for three methods).
///
/// # Errors
/// [`Error::InvalidData`] for no estimates or a non-finite one.
pub fn median_of_methods(estimates: &[(String, f64)]) -> Result<MedianOfMethods> {
    if estimates.is_empty() {
        return Err(Error::invalid("no estimates"));
    }
    if let Some(i) = estimates.iter().position(|e| !e.1.is_finite()) {
        return Err(Error::invalid_row(i, "estimate is not finite"));
    }
    let mut v = estimates.to_vec();
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    let n = v.len();
    let point = if n % 2 == 1 {
        v[n / 2].1
    } else {
        0.5 * (v[n / 2 - 1].1 + v[n / 2].1)
    };
    Ok(MedianOfMethods {
        point,
        lower: v[0].1,
        upper: v[n - 1].1,
        bound_methods: (v[0].0.clone(), v[n - 1].0.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_three() {
        let m =
            median_of_methods(&[("a".into(), 3.0), ("b".into(), 1.0), ("c".into(), 2.0)]).unwrap();
        assert_eq!((m.point, m.lower, m.upper), (2.0, 1.0, 3.0));
    }

    #[test]
    fn bounds_truncate() {
        let s = vec![
            Study::new("a", 1000.0, 500.0, 2000.0),
            Study::new("b", 1500.0, 900.0, 2500.0),
        ];
        let t = Triangulation::new(Prior::Flat).bounds(Some(1200.0), None);
        let f = triangulate(&s, &t).unwrap();
        assert!(f.posterior.interval.lower >= 1200.0 - 1e-6);
        assert!(f.posterior.median > 1200.0);
    }

    fn docs_example() -> Vec<Study> {
        vec![
            Study::new("3S-CRC", 2000.0, 1000.0, 3000.0).confidence(0.9),
            Study::new("2S-CRC", 2500.0, 1500.0, 3500.0).confidence(0.7),
            Study::new("Service Multiplier", 1000.0, 250.0, 2500.0).confidence(0.2),
        ]
    }

    #[test]
    fn flat_prior_sd_is_infinite_not_zero() {
        // The triangulator example with the flat prior: the credible interval is
        // 1,445–3,434 but E[N] diverges; the SD used to print as 0.0 (NaN clamped).
        let f = triangulate(&docs_example(), &Triangulation::new(Prior::Flat)).unwrap();
        assert!(f.posterior.interval.lower > 1400.0 && f.posterior.interval.upper < 3500.0);
        assert_eq!(f.posterior.sd, f64::INFINITY);
        assert_eq!(f.estimate.se, f64::INFINITY);
        assert!(
            f.estimate
                .warnings
                .iter()
                .any(|w| w.to_string().contains("do not exist"))
        );
        assert!(f.posterior.sd_log > 0.1 && f.posterior.sd_log < 0.5);
    }

    #[test]
    fn upper_bound_makes_the_sd_finite_and_positive() {
        let t = Triangulation::new(Prior::Flat).bounds(Some(1000.0), Some(5000.0));
        let f = triangulate(&docs_example(), &t).unwrap();
        let p = &f.posterior;
        assert!(p.sd.is_finite() && p.sd > 0.0, "{}", p.sd);
        // a bounded posterior: mean within the bounds, SD below half their width, and of
        // the order of the credible interval's width / (2 × 1.96)
        assert!(p.mean > 1000.0 && p.mean < 5000.0);
        let w = (p.interval.upper - p.interval.lower) / 3.92;
        assert!(p.sd > 0.5 * w && p.sd < 2.0 * w, "sd {} vs {w}", p.sd);
        assert!(f.estimate.warnings.is_empty());
    }

    #[test]
    fn log_scale_moments_match_the_direct_formula() {
        // a log-normal: E[N] = e^{m+s²/2}, SD = E[N] √(e^{s²} − 1)
        let (m, s2) = (7.5_f64, 0.04_f64);
        let (e1, sd) = moments_of_n(m + s2 / 2.0, 2.0 * m + 2.0 * s2);
        assert!((e1 - (m + s2 / 2.0).exp()).abs() < 1e-9 * e1);
        let want = e1 * s2.exp_m1().sqrt();
        assert!((sd - want).abs() < 1e-9 * want);
        // Φ's lower tail: ln Φ(−40) from the expansion against the exact value
        // (−804.608442013754…, Abramowitz & Stegun 26.2.12 with more terms).
        assert!((ln_phi(-40.0) + 804.608_442_013_754).abs() < 1e-6);
        // 1e-9: statrs' Φ (through its erfc) is not accurate to the last bits.
        assert!((ln_normal_mass(-1.0, 1.0) - 0.682_689_492_137_086f64.ln()).abs() < 1e-9);
        assert!((ln_normal_mass(2.0, 3.0) - (0.021_400_233_916_549f64).ln()).abs() < 1e-9);
    }
}
