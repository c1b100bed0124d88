//! The SS-PSE Gibbs sampler (Handcock, Gile & Mar 2014, §3): one chain.
//!
//! State: the population size N, the unit sizes of the N − n unseen members (kept as
//! counts per size), the degree-distribution parameters θ = (log λ, ν) of a
//! Conway-Maxwell-Poisson law truncated to 1..K, and the latent time r at which the last
//! respondent of each survey was reached (successive sampling as exponential arrival
//! times: unit j arrives at Exp(rate = size_j)). One sweep:
//! ```text
//! θ | sizes           : `theta_steps` Metropolis steps, log λ* = log λ + 0.1 z₁, ν* = ν e^{0.15 z₂}
//! N | θ, r            : p(N) ∝ prior(N) · N!/(N−n)! · γ(r)^(N−n),  γ(r) = Σ_k π_k(θ) e^{−r k}
//! unseen sizes | N, r : multinomial(N − n, π_k e^{−r k}/γ(r))
//! r | sizes           : Σ_surveys Σ_i E_i/R_i,  E_i ~ Exp(1), R_i = total size not yet sampled at step i
//! ```

use super::prior::TabulatedPrior;
use super::visibility::{SSPSE_EVERY, VisState, Visibility, ln_scl_inv_chisq};
use rand::RngExt;
use rand_distr::{Binomial, Distribution, Exp1, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use statrs::function::gamma::ln_gamma;

/// One survey's contribution to the arrival-time update.
#[derive(Debug, Clone)]
pub(crate) struct Pass {
    /// suffix[i] = sizes of this survey's respondents i, i+1, … (still unsampled at step i).
    pub suffix: Vec<f64>,
    /// Total size of the seen units that this survey did not sample.
    pub outside: f64,
}

/// Everything a chain needs that does not change during sampling.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub k: usize,
    /// Counts of the (capped) sizes of the n distinct seen units, index k−1.
    pub seen_counts: Vec<u64>,
    pub passes: Vec<Pass>,
    pub visibility: Option<Visibility>,
    pub n: u64,
    pub prior: TabulatedPrior,
    /// Prior hyperparameters on the mean and s.d. of the size distribution.
    pub mu0: f64,
    pub sigma0: f64,
    pub df_mu: f64,
    pub df_sigma: f64,
    pub lnlam_proposal: f64,
    pub nu_proposal: f64,
    /// ln k!, index k−1.
    lgk: Vec<f64>,
    /// c[m] = ln((n+m)!/m!) + ln prior(n+m).
    c: Vec<f64>,
    /// exp(c[m] − c[m−1]) for m ≥ 1 (index 0 unused).
    ratio: Vec<f64>,
    /// Whether c[m] − c[m−1] decreases in m (then the N-conditional is log-concave).
    concave: bool,
}

impl Model {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        k: usize,
        seen_counts: Vec<u64>,
        passes: Vec<Pass>,
        n: u64,
        prior: TabulatedPrior,
        mu0: f64,
        sigma0: f64,
        df_mu: f64,
        df_sigma: f64,
    ) -> Model {
        let lgk = (1..=k).map(|j| ln_gamma(j as f64 + 1.0)).collect();
        let nf = n as f64;
        let c: Vec<f64> = prior
            .log_p
            .iter()
            .enumerate()
            .map(|(m, lp)| ln_gamma(nf + m as f64 + 1.0) - ln_gamma(m as f64 + 1.0) + lp)
            .collect();
        let mut ratio = vec![1.0; c.len()];
        let mut concave = true;
        for m in 1..c.len() {
            let d = c[m] - c[m - 1];
            ratio[m] = d.exp();
            if m >= 2 && d > c[m - 1] - c[m - 2] + 1e-12 {
                concave = false;
            }
        }
        Model {
            k,
            seen_counts,
            passes,
            visibility: None,
            n,
            prior,
            mu0,
            sigma0,
            df_mu,
            df_sigma,
            lnlam_proposal: 0.1,
            nu_proposal: 0.15,
            lgk,
            c,
            ratio,
            concave,
        }
    }
}

/// Sweeps between updates of the reporting and recruitment parameters (exact sampler).
const VIS_PARAM_EVERY: usize = 10;
/// Metropolis steps per such update.
const VIS_PARAM_STEPS: usize = 10;

/// Settings of one chain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainSettings {
    pub warmup: usize,
    pub samples: usize,
    pub interval: usize,
    pub theta_steps: usize,
}

/// The retained draws of one chain.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChainDraws {
    pub n: Vec<f64>,
    pub mu: Vec<f64>,
    pub sigma: Vec<f64>,
    pub theta_accepted: usize,
    pub theta_proposed: usize,
}

/// The truncated CMP on 1..K at (log λ, ν): log normaliser, mean, variance.
#[derive(Debug, Clone, Copy)]
struct Cmp {
    lnlam: f64,
    nu: f64,
    logz: f64,
    mean: f64,
    var: f64,
}

fn cmp_eval(lnlam: f64, nu: f64, lgk: &[f64], probs: Option<&mut [f64]>) -> Cmp {
    // terms t_k = k log λ − ν log k!
    let mut mx = f64::NEG_INFINITY;
    for (j, l) in lgk.iter().enumerate() {
        let t = (j + 1) as f64 * lnlam - nu * l;
        if t > mx {
            mx = t;
        }
    }
    let (mut s, mut s1, mut s2) = (0.0, 0.0, 0.0);
    let mut tmp = probs;
    for (j, l) in lgk.iter().enumerate() {
        let kf = (j + 1) as f64;
        let e = (kf * lnlam - nu * l - mx).exp();
        s += e;
        s1 += kf * e;
        s2 += kf * kf * e;
        if let Some(p) = tmp.as_deref_mut() {
            p[j] = e;
        }
    }
    if let Some(p) = tmp {
        for v in p.iter_mut() {
            *v /= s;
        }
    }
    let mean = s1 / s;
    Cmp {
        lnlam,
        nu,
        logz: mx + s.ln(),
        mean,
        var: (s2 / s - mean * mean).max(1e-300),
    }
}

fn ln_norm(x: f64, m: f64, s: f64) -> f64 {
    let z = (x - m) / s;
    -0.5 * z * z - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

impl Model {
    fn log_prior_theta(&self, c: &Cmp) -> f64 {
        let sd = c.var.sqrt();
        let mut lp = ln_scl_inv_chisq(c.var, self.df_sigma, self.sigma0 * self.sigma0);
        if self.df_mu > 0.0 {
            lp += ln_norm(c.mean, self.mu0, sd / self.df_mu.sqrt());
        }
        lp
    }

    /// Runs one chain from its own stream.
    pub fn run(&self, s: &ChainSettings, rng: &mut Xoshiro256PlusPlus) -> ChainDraws {
        let k = self.k;
        let mut probs = vec![0.0; k];
        let mut seen = self.seen_counts.clone();
        let mut vis: Option<VisState> = self.visibility.as_ref().map(VisState::new);
        let mut vis_suffix: Vec<f64> = Vec::new();
        let mut times: Vec<f64> = Vec::new();
        if let Some(vs) = &vis {
            seen = vec![0; k];
            for &x in &vs.u {
                seen[x - 1] += 1;
            }
            vis_suffix = vec![0.0; vs.u.len()];
            times = vec![0.0; vs.u.len()];
        }
        let mut weights = vec![0.0; k];
        let mut unseen = vec![0u64; k];
        let mut scratch = vec![0.0; self.c.len()];
        // initial θ from the prior hyperparameters (as sspse: log λ = log μ0, ν = σ0²/μ0)
        let mut cur = cmp_eval(
            self.mu0.ln(),
            (self.sigma0 * self.sigma0 / self.mu0).max(0.05),
            &self.lgk,
            None,
        );
        let mut cur_lp = self.log_prior_theta(&cur);
        // initial N: a prior draw; initial unseen sizes from the seen size distribution
        let u0: f64 = rng.random();
        let mut m = (self.prior.quantile(u0.clamp(0.05, 0.95)) - self.n) as usize;
        let seen_total: u64 = seen.iter().sum();
        for _ in 0..m {
            let mut pick = rng.random_range(0..seen_total);
            for (j, &cnt) in seen.iter().enumerate() {
                if pick < cnt {
                    unseen[j] += 1;
                    break;
                }
                pick -= cnt;
            }
        }
        let mut u_total: f64 = unseen
            .iter()
            .enumerate()
            .map(|(j, &c)| (j + 1) as f64 * c as f64)
            .sum();
        let mut r = if let Some(vs) = &vis {
            self.draw_times(u_total, &vs.u, &mut vis_suffix, &mut times, rng)
        } else {
            self.draw_r(u_total, rng)
        };
        let mut out = ChainDraws::default();
        // proposal scales, tuned during warm-up only (towards 30% acceptance), then fixed
        let (mut sd_lnlam, mut sd_nu) = (self.lnlam_proposal, self.nu_proposal);
        let (mut win_acc, mut win_prop) = (0usize, 0usize);
        let total = s.warmup + s.samples * s.interval;
        for step in 1..=total {
            // θ | all sizes
            let (mut s1, mut sl, mut ntot) = (0.0, 0.0, 0.0);
            for j in 0..k {
                let c = (seen[j] + unseen[j]) as f64;
                s1 += c * (j + 1) as f64;
                sl += c * self.lgk[j];
                ntot += c;
            }
            let loglik = |c: &Cmp| c.lnlam * s1 - c.nu * sl - ntot * c.logz;
            let mut cur_ll = loglik(&cur);
            for _ in 0..s.theta_steps {
                let z1: f64 = rng.sample(StandardNormal);
                let z2: f64 = rng.sample(StandardNormal);
                let lnlam = cur.lnlam + sd_lnlam * z1;
                let nu = cur.nu * (sd_nu * z2).exp();
                if step > s.warmup {
                    out.theta_proposed += 1;
                }
                win_prop += 1;
                if !(lnlam.is_finite() && nu.is_finite() && nu > 1e-8) {
                    continue;
                }
                let prop = cmp_eval(lnlam, nu, &self.lgk, None);
                let p_lp = self.log_prior_theta(&prop);
                let p_ll = loglik(&prop);
                let a = p_lp + p_ll - cur_lp - cur_ll + (nu / cur.nu).ln();
                if a.is_finite() && (a >= 0.0 || rng.random::<f64>().ln() < a) {
                    cur = prop;
                    cur_lp = p_lp;
                    cur_ll = p_ll;
                    if step > s.warmup {
                        out.theta_accepted += 1;
                    }
                    win_acc += 1;
                }
            }
            if step <= s.warmup && step.is_multiple_of(50) && win_prop > 0 {
                let rate = win_acc as f64 / win_prop as f64;
                let f = (2.0 * (rate - 0.3)).exp().clamp(0.5, 2.0);
                sd_lnlam *= f;
                sd_nu *= f;
                win_acc = 0;
                win_prop = 0;
            }
            let _ = cur_ll;
            cmp_eval(cur.lnlam, cur.nu, &self.lgk, Some(&mut probs));
            // N | θ, r
            let mut gamma = 0.0;
            for j in 0..k {
                weights[j] = probs[j] * (-r * (j + 1) as f64).exp();
                gamma += weights[j];
            }
            m = self.draw_m(gamma.ln(), &mut scratch, rng);
            // unseen sizes | N, r: multinomial by successive binomials
            let mut left = m as u64;
            let mut wleft = gamma;
            u_total = 0.0;
            for j in 0..k {
                if left == 0 || j == k - 1 {
                    unseen[j] = left;
                } else {
                    let p = (weights[j] / wleft).clamp(0.0, 1.0);
                    let x = Binomial::new(left, p).map(|b| b.sample(rng)).unwrap_or(0);
                    unseen[j] = x;
                    wleft -= weights[j];
                }
                left -= unseen[j];
                u_total += unseen[j] as f64 * (j + 1) as f64;
            }
            // r | sizes
            if let (Some(v), Some(vs)) = (&self.visibility, vis.as_mut()) {
                // visibilities | θ, arrival times (exact) or | θ (sspse), then the times
                let every = if v.exact {
                    VIS_PARAM_EVERY
                } else {
                    SSPSE_EVERY
                };
                if step.is_multiple_of(every) || step == 1 {
                    let adapt = step <= s.warmup;
                    vs.update_parameters(v, VIS_PARAM_STEPS, adapt, rng);
                    if !v.exact {
                        vs.draw_visibilities(&probs, None, &mut seen, &mut weights, rng);
                    }
                }
                if v.exact {
                    vs.draw_visibilities(&probs, Some(&times), &mut seen, &mut weights, rng);
                }
                r = self.draw_times(u_total, &vs.u, &mut vis_suffix, &mut times, rng);
            } else {
                r = self.draw_r(u_total, rng);
            }
            if step > s.warmup && (step - s.warmup).is_multiple_of(s.interval) {
                out.n.push((self.n + m as u64) as f64);
                out.mu.push(cur.mean);
                out.sigma.push(cur.var.sqrt());
            }
        }
        out
    }

    /// Arrival times of the respondents given all sizes (one survey): gaps
    /// Exp(rate = total size not yet sampled); returns the last time.
    fn draw_times(
        &self,
        u_total: f64,
        u: &[usize],
        suffix: &mut [f64],
        times: &mut [f64],
        rng: &mut Xoshiro256PlusPlus,
    ) -> f64 {
        let mut acc = 0.0;
        for i in (0..u.len()).rev() {
            acc += u[i] as f64;
            suffix[i] = acc;
        }
        let mut t = 0.0;
        for i in 0..u.len() {
            let e: f64 = rng.sample(Exp1);
            t += e / (u_total + suffix[i]);
            times[i] = t;
        }
        t
    }

    fn draw_r(&self, u_total: f64, rng: &mut Xoshiro256PlusPlus) -> f64 {
        let mut r = 0.0;
        for p in &self.passes {
            let base = u_total + p.outside;
            for b in &p.suffix {
                let e: f64 = rng.sample(Exp1);
                r += e / (base + b);
            }
        }
        r
    }

    /// Draws m = N − n from p(m) ∝ exp(m g + c[m]).
    fn draw_m(&self, g: f64, w: &mut [f64], rng: &mut Xoshiro256PlusPlus) -> usize {
        let len = self.c.len();
        let mode = if self.concave {
            // first m whose step up is a step down: g + c[m] − c[m−1] < 0
            let (mut lo, mut hi) = (1usize, len);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if g + (self.c[mid] - self.c[mid - 1]) < 0.0 {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            lo - 1
        } else {
            let mut best = (0, f64::NEG_INFINITY);
            for (i, ci) in self.c.iter().enumerate() {
                let v = i as f64 * g + ci;
                if v > best.1 {
                    best = (i, v);
                }
            }
            best.0
        };
        let q = g.exp();
        const TINY: f64 = 1e-17;
        let (lo, hi) = if self.concave {
            // walk up and down from the mode multiplicatively (log-concave: unimodal)
            w[mode] = 1.0;
            let mut hi = mode;
            while hi + 1 < len {
                let v = w[hi] * self.ratio[hi + 1] * q;
                if v < TINY {
                    break;
                }
                hi += 1;
                w[hi] = v;
            }
            let mut lo = mode;
            while lo > 0 {
                let v = w[lo] / (self.ratio[lo] * q);
                if v < TINY {
                    break;
                }
                lo -= 1;
                w[lo] = v;
            }
            (lo, hi)
        } else {
            let top = mode as f64 * g + self.c[mode];
            for (i, ci) in self.c.iter().enumerate() {
                w[i] = (i as f64 * g + ci - top).exp();
            }
            (0, len - 1)
        };
        let total: f64 = w[lo..=hi].iter().sum();
        let mut u = rng.random::<f64>() * total;
        for (i, wi) in w[lo..=hi].iter().enumerate() {
            u -= wi;
            if u <= 0.0 {
                return lo + i;
            }
        }
        hi
    }
}
