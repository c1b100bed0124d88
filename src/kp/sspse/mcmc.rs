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
use super::visibility::{SSPSE_EVERY, VisState, Visibility};
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
    /// exp(c[m−1] − c[m]) for m ≥ 1 (index 0 unused).
    inv_ratio: Vec<f64>,
    /// Whether c[m] − c[m−1] decreases in m (then the N-conditional is log-concave).
    concave: bool,
    /// ln p for the primes p ≤ K.
    ln_primes: Vec<f64>,
    /// For k = 1..=K (index k−1): (index of the smallest prime factor of k in `ln_primes`,
    /// k / that prime); unused for k = 1.
    factor: Vec<(usize, usize)>,
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
        let mut inv_ratio = vec![1.0; c.len()];
        let mut concave = true;
        for m in 1..c.len() {
            let d = c[m] - c[m - 1];
            ratio[m] = d.exp();
            inv_ratio[m] = (-d).exp();
            if m >= 2 && d > c[m - 1] - c[m - 2] + 1e-12 {
                concave = false;
            }
        }
        let mut ln_primes = Vec::new();
        let mut primes = Vec::new();
        let mut factor = vec![(0usize, 1usize); k];
        for j in 2..=k {
            match primes.iter().position(|&p| j % p == 0) {
                Some(i) => factor[j - 1] = (i, j / primes[i]),
                None => {
                    primes.push(j);
                    ln_primes.push((j as f64).ln());
                    factor[j - 1] = (primes.len() - 1, 1);
                }
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
            inv_ratio,
            concave,
            ln_primes,
            factor,
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

/// The truncated CMP on 1..K by two passes with a running maximum (safe for any θ; the
/// fallback of [`Model::cmp_fast`]). Fills `probs` (unnormalised, relative to the
/// largest term) when given.
fn cmp_eval(lnlam: f64, nu: f64, lgk: &[f64], probs: Option<&mut [f64]>) -> (Cmp, f64) {
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
    let mean = s1 / s;
    (
        Cmp {
            lnlam,
            nu,
            logz: mx + s.ln(),
            mean,
            var: (s2 / s - mean * mean).max(1e-300),
        },
        s,
    )
}

/// Per-chain work buffers, allocated once.
struct Buffers {
    /// p^{−ν} for the primes p ≤ K.
    pw: Vec<f64>,
    /// k^{−ν}, index k−1.
    kp: Vec<f64>,
    /// Unnormalised CMP weights of the current θ and of the proposal.
    e_cur: Vec<f64>,
    e_prop: Vec<f64>,
    /// Exponential variates for the arrival-time update.
    exps: Vec<f64>,
}

/// Whether each sweep adds the Metropolis move of N with the arrival times integrated out
/// (see [`Model::move_m`]).
const MOVE_N: bool = true;

/// Work buffers of [`Model::move_m`].
struct MoveBuffers {
    /// Tilted size weights π_k e^{−ρk}.
    w: Vec<f64>,
    /// 1/(U + outside + suffix_i).
    inv: Vec<f64>,
    /// The unseen units' sizes, one entry per unit (rebuilt from the counts when N was
    /// redrawn).
    flat: Vec<u32>,
    /// Counts by size of the units a move proposes to add.
    added: Vec<u64>,
}

/// Adds a multinomial(count; weights / total) draw to `into` by successive binomials and
/// returns the total size Σ k·x_k added.
fn multinomial_add(
    count: u64,
    weights: &[f64],
    total: f64,
    into: &mut [u64],
    rng: &mut Xoshiro256PlusPlus,
) -> f64 {
    let k = weights.len();
    let mut left = count;
    let mut wleft = total;
    let mut size = 0.0;
    for j in 0..k {
        if left == 0 {
            break;
        }
        let x = if j == k - 1 {
            left
        } else {
            let p = (weights[j] / wleft).clamp(0.0, 1.0);
            let x = Binomial::new(left, p).map(|b| b.sample(rng)).unwrap_or(0);
            wleft -= weights[j];
            x
        };
        into[j] += x;
        left -= x;
        size += x as f64 * (j + 1) as f64;
    }
    size
}

/// ρ(U) = Σ_surveys Σ_i 1/(U + outside + suffix_i), the rate at which the likelihood
/// L(U) = Π_i 1/(U + outside + suffix_i) falls with the unseen total size U; the terms
/// 1/(U + outside + suffix_i) are left in `inv` (surveys one after the other).
fn rate_at(passes: &[(&[f64], f64)], u: f64, inv: &mut Vec<f64>) -> f64 {
    inv.clear();
    for &(suffix, outside) in passes {
        let base = u + outside;
        inv.extend(suffix.iter().map(|b| 1.0 / (base + b)));
    }
    let mut acc = [0.0f64; 4];
    let c = inv.chunks_exact(4);
    for x in c.remainder() {
        acc[0] += x;
    }
    for x4 in c {
        for l in 0..4 {
            acc[l] += x4[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Σ_i ln(1 + h·inv_i), by products of eight factors per logarithm: with `inv` at U,
/// ln L(U) − ln L(U + h).
fn sum_ln1p(inv: &[f64], h: f64) -> f64 {
    let c = inv.chunks_exact(8);
    let mut tail = 1.0;
    for x in c.remainder() {
        tail *= 1.0 + h * x;
    }
    let mut out = tail.ln();
    for x8 in c {
        let mut p = 1.0;
        for x in x8 {
            p *= 1.0 + h * x;
        }
        out += p.ln();
    }
    out
}

/// Whether the θ update integrates the unseen sizes out (θ | N, r, seen sizes) instead of
/// conditioning on them; see [`Model::run`].
const COLLAPSED_THETA: bool = true;

impl Model {
    /// Unnormalised truncated-CMP weights e_k = exp(t_k − t_1) = λ^{k−1}/(k!)^ν at
    /// (log λ, ν), built by products: k^{−ν} from the prime factors of k, so one `exp` per
    /// prime ≤ K (11 for K = 35) instead of one per k. Returns the summary and Σ e_k, or
    /// `None` when the products leave the floating-point range (then use [`cmp_eval`]).
    fn cmp_fast(&self, lnlam: f64, nu: f64, b: &mut Buffers, prop: bool) -> Option<(Cmp, f64)> {
        for (p, l) in b.pw.iter_mut().zip(&self.ln_primes) {
            *p = (-nu * l).exp();
        }
        let lam = lnlam.exp();
        let e = if prop { &mut b.e_prop } else { &mut b.e_cur };
        b.kp[0] = 1.0;
        e[0] = 1.0;
        let (mut s, mut s1, mut s2) = (1.0, 1.0, 1.0);
        for j in 1..self.k {
            let (i, rest) = self.factor[j];
            let kp = b.pw[i] * b.kp[rest - 1];
            b.kp[j] = kp;
            let v = e[j - 1] * lam * kp;
            e[j] = v;
            let kf = (j + 1) as f64;
            s += v;
            s1 += kf * v;
            s2 += kf * kf * v;
        }
        if !(s2.is_finite() && lam > 0.0) {
            return None;
        }
        let mean = s1 / s;
        Some((
            Cmp {
                lnlam,
                nu,
                logz: lnlam + s.ln(),
                mean,
                var: (s2 / s - mean * mean).max(1e-300),
            },
            s,
        ))
    }

    /// The CMP at θ with its weights in `e_cur` (`prop = false`) or `e_prop`.
    fn cmp_weights(&self, lnlam: f64, nu: f64, b: &mut Buffers, prop: bool) -> (Cmp, f64) {
        if let Some(x) = self.cmp_fast(lnlam, nu, b, prop) {
            return x;
        }
        let e = if prop { &mut b.e_prop } else { &mut b.e_cur };
        cmp_eval(lnlam, nu, &self.lgk, Some(e))
    }

    /// log prior of θ up to a constant: σ² ~ Scale-Inv-χ²(df_σ, σ₀²) and
    /// μ | σ ~ N(μ₀, σ²/df_μ), as functions of the CMP's mean μ and variance σ²:
    /// `−(df_σ/2 + 3/2) ln σ² − (df_σ σ₀²/2 + df_μ (μ − μ₀)²/2) / σ²`.
    fn log_prior_theta(&self, c: &Cmp) -> f64 {
        let d = c.mean - self.mu0;
        -(0.5 * self.df_sigma + 1.5) * c.var.ln()
            - (0.5 * self.df_sigma * self.sigma0 * self.sigma0 + 0.5 * self.df_mu * d * d) / c.var
    }

    /// Runs one chain from its own stream.
    ///
    /// The θ update is partially collapsed: θ | N, r with the unseen sizes integrated out,
    /// `ln p(θ | ·) = ln prior(θ) + Σ_seen ln π_θ(d_i) + (N − n) ln γ_θ(r)`, which is
    /// followed by the joint draw of N and the unseen sizes given (θ, r), so the chain keeps
    /// the same target while θ no longer waits for the unseen sizes to move.
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
        let longest = self
            .passes
            .iter()
            .map(|p| p.suffix.len())
            .max()
            .unwrap_or(0);
        let mut b = Buffers {
            pw: vec![0.0; self.ln_primes.len()],
            kp: vec![0.0; k],
            e_cur: vec![0.0; k],
            e_prop: vec![0.0; k],
            exps: vec![0.0; longest],
        };
        let mut weights = vec![0.0; k];
        // e^{−r k}, index k−1
        let mut qk = vec![0.0; k];
        let mut unseen = vec![0u64; k];
        let mut scratch = vec![0.0; self.c.len()];
        // initial θ from the prior hyperparameters (as sspse: log λ = log μ0, ν = σ0²/μ0)
        let (mut cur, _) = self.cmp_weights(
            self.mu0.ln(),
            (self.sigma0 * self.sigma0 / self.mu0).max(0.05),
            &mut b,
            false,
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
            self.draw_r(u_total, &mut b.exps, rng)
        };
        let mut out = ChainDraws::default();
        // proposal scales, tuned during warm-up only (towards 30% acceptance), then fixed
        let (mut sd_lnlam, mut sd_nu) = (self.lnlam_proposal, self.nu_proposal);
        let (mut win_acc, mut win_prop) = (0usize, 0usize);
        let total = s.warmup + s.samples * s.interval;
        let pass_refs: Vec<(&[f64], f64)> = self
            .passes
            .iter()
            .map(|p| (&p.suffix[..], p.outside))
            .collect();
        let mut mv = MoveBuffers {
            w: vec![0.0; k],
            inv: Vec::new(),
            flat: Vec::new(),
            added: vec![0; k],
        };
        let mut sd_m = 0.1 * self.n as f64 + 10.0;
        let (mut m_acc, mut m_prop) = (0usize, 0usize);
        for step in 1..=total {
            // e^{−r k}
            let q = (-r).exp();
            let mut qp = 1.0;
            for x in qk.iter_mut() {
                qp *= q;
                *x = qp;
            }
            // θ | seen sizes, N, r (unseen sizes integrated out), or θ | all sizes
            let (mut s1, mut sl, mut ntot) = (0.0, 0.0, 0.0);
            for j in 0..k {
                let c = if COLLAPSED_THETA {
                    seen[j]
                } else {
                    seen[j] + unseen[j]
                } as f64;
                s1 += c * (j + 1) as f64;
                sl += c * self.lgk[j];
                ntot += c;
            }
            let mf = m as f64;
            let loglik = |c: &Cmp, e: &[f64], z: f64| {
                let base = c.lnlam * s1 - c.nu * sl - ntot * c.logz;
                if COLLAPSED_THETA {
                    let g: f64 = e.iter().zip(&qk).map(|(x, y)| x * y).sum::<f64>() / z;
                    base + if m > 0 { mf * g.ln() } else { 0.0 }
                } else {
                    base
                }
            };
            let (c0, z0) = self.cmp_weights(cur.lnlam, cur.nu, &mut b, false);
            cur = c0;
            let mut cur_z = z0;
            let mut cur_ll = loglik(&cur, &b.e_cur, cur_z);
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
                let (prop, pz) = self.cmp_weights(lnlam, nu, &mut b, true);
                let p_lp = self.log_prior_theta(&prop);
                let p_ll = loglik(&prop, &b.e_prop, pz);
                // ln(ν*/ν) = sd_ν z₂: the Jacobian of the log-scale walk on ν
                let a = p_lp + p_ll - cur_lp - cur_ll + sd_nu * z2;
                if a.is_finite() && (a >= 0.0 || -rng.sample::<f64, _>(Exp1) < a) {
                    cur = prop;
                    cur_z = pz;
                    cur_lp = p_lp;
                    cur_ll = p_ll;
                    std::mem::swap(&mut b.e_cur, &mut b.e_prop);
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
            for (p, e) in probs.iter_mut().zip(&b.e_cur) {
                *p = e / cur_z;
            }
            // N | θ, r
            let mut gamma = 0.0;
            for j in 0..k {
                weights[j] = probs[j] * qk[j];
                gamma += weights[j];
            }
            m = self.draw_m(gamma.ln(), &mut scratch, rng);
            // unseen sizes | N, r: multinomial by successive binomials
            unseen.iter_mut().for_each(|x| *x = 0);
            u_total = multinomial_add(m as u64, &weights, gamma, &mut unseen, rng);
            mv.flat.clear();
            // (N, unseen sizes) | θ with the arrival times integrated out: Metropolis
            if MOVE_N {
                let accepted = if vis.is_some() {
                    let pass = [(&vis_suffix[..], 0.0)];
                    self.move_m(
                        &mut m,
                        &mut unseen,
                        &mut u_total,
                        &probs,
                        &pass,
                        sd_m,
                        &mut mv,
                        rng,
                    )
                } else {
                    self.move_m(
                        &mut m,
                        &mut unseen,
                        &mut u_total,
                        &probs,
                        &pass_refs,
                        sd_m,
                        &mut mv,
                        rng,
                    )
                };
                m_prop += 1;
                m_acc += accepted as usize;
                if step <= s.warmup && step.is_multiple_of(50) {
                    let rate = m_acc as f64 / m_prop as f64;
                    sd_m = (sd_m * (2.0 * (rate - 0.3)).exp().clamp(0.5, 2.0)).max(1.0);
                    m_acc = 0;
                    m_prop = 0;
                }
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
                r = self.draw_r(u_total, &mut b.exps, rng);
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

    /// r = Σ_surveys Σ_i E_i / (U + outside + suffix_i): the variates are drawn first,
    /// then summed in four lanes (the divisions vectorise).
    fn draw_r(&self, u_total: f64, exps: &mut [f64], rng: &mut Xoshiro256PlusPlus) -> f64 {
        let mut r = 0.0;
        for p in &self.passes {
            let base = u_total + p.outside;
            let buf = &mut exps[..p.suffix.len()];
            for x in buf.iter_mut() {
                *x = rng.sample(Exp1);
            }
            let mut acc = [0.0f64; 4];
            let ec = buf.chunks_exact(4);
            let bc = p.suffix.chunks_exact(4);
            let (er, br) = (ec.remainder(), bc.remainder());
            for (e4, b4) in ec.zip(bc) {
                for l in 0..4 {
                    acc[l] += e4[l] / (base + b4[l]);
                }
            }
            for (e, bb) in er.iter().zip(br) {
                acc[0] += e / (base + bb);
            }
            r += (acc[0] + acc[1]) + (acc[2] + acc[3]);
        }
        r
    }

    /// A Metropolis move of (m, unseen sizes) that leaves p(m, sizes | θ, data) invariant
    /// with the arrival times integrated out:
    /// ```text
    /// p(m, c | θ) ∝ exp(c[m]) · Mult(c; m, π_θ) · Π_i 1/(U(c) + outside + suffix_i)
    /// m* = m + δ, δ = round(s z): δ > 0 adds δ units with sizes ∝ π_k e^{−ρk},
    ///   ρ = ρ(U) = Σ_i 1/(U + outside + suffix_i); δ < 0 removes |δ| unseen units at random
    /// accept: exp(c[m*] − c[m]) · L(U*)/L(U) · γ(ρ)^δ · e^{ρ (U* − U)},
    ///   γ(ρ) = Σ_k π_k e^{−ρk}, ρ taken at the smaller of the two states
    /// ```
    /// The Gibbs draw of N given the arrival times moves N by about its conditional s.d.;
    /// this move walks along the ridge where N, the unseen sizes and the times move
    /// together. Returns whether it was accepted.
    #[allow(clippy::too_many_arguments)]
    fn move_m(
        &self,
        m: &mut usize,
        unseen: &mut [u64],
        u_total: &mut f64,
        probs: &[f64],
        passes: &[(&[f64], f64)],
        sd: f64,
        b: &mut MoveBuffers,
        rng: &mut Xoshiro256PlusPlus,
    ) -> bool {
        let z: f64 = rng.sample(StandardNormal);
        let d = (sd * z).round() as i64;
        let m_new = *m as i64 + d;
        if d == 0 || m_new < 0 || m_new >= self.c.len() as i64 {
            return false;
        }
        let m_new = m_new as usize;
        let tilt = |rho: f64, w: &mut [f64]| -> f64 {
            let q = (-rho).exp();
            let mut qp = 1.0;
            let mut g = 0.0;
            for (wk, pk) in w.iter_mut().zip(probs) {
                qp *= q;
                *wk = pk * qp;
                g += *wk;
            }
            g
        };
        let (u_new, rho, g, ln_l) = if d > 0 {
            let rho = rate_at(passes, *u_total, &mut b.inv);
            let g = tilt(rho, &mut b.w);
            // δ sizes from π_k e^{−ρk}/γ(ρ)
            b.added.iter_mut().for_each(|x| *x = 0);
            let added = multinomial_add(d as u64, &b.w, g, &mut b.added, rng);
            // (U' + o + b)/(U + o + b) = 1 + ΔU/(U + o + b)
            let ln_l = -sum_ln1p(&b.inv, added);
            (*u_total + added, rho, g, ln_l)
        } else {
            // |δ| of the m unseen units, uniformly without replacement (partial shuffle to
            // the end of `flat`, the unseen units one by one, in no particular order)
            if b.flat.len() != *m {
                b.flat.clear();
                for (j, &c) in unseen.iter().enumerate() {
                    let at = b.flat.len();
                    b.flat.resize(at + c as usize, (j + 1) as u32);
                }
            }
            let len = b.flat.len();
            let mut removed = 0.0;
            for i in 0..(-d) as usize {
                let last = len - 1 - i;
                let j = rng.random_range(0..=last);
                b.flat.swap(j, last);
                removed += b.flat[last] as f64;
            }
            let u_new = *u_total - removed;
            let rho = rate_at(passes, u_new, &mut b.inv);
            let g = tilt(rho, &mut b.w);
            // (U + o + b)/(U' + o + b) = 1 + removed/(U' + o + b)
            let ln_l = sum_ln1p(&b.inv, removed);
            (u_new, rho, g, ln_l)
        };
        if g.is_nan() || g <= 0.0 {
            return false;
        }
        let a = self.c[m_new] - self.c[*m] + ln_l + d as f64 * g.ln() + rho * (u_new - *u_total);
        if a.is_finite() && (a >= 0.0 || -rng.sample::<f64, _>(Exp1) < a) {
            if d > 0 {
                unseen.iter_mut().zip(&b.added).for_each(|(x, a)| *x += a);
                b.flat.clear();
            } else {
                for &x in &b.flat[m_new..] {
                    unseen[x as usize - 1] -= 1;
                }
                b.flat.truncate(m_new);
            }
            *m = m_new;
            *u_total = u_new;
            true
        } else {
            false
        }
    }

    /// Draws m = N − n from p(m) ∝ exp(m g + c[m]) by inversion. When the table is
    /// log-concave the weights are built outwards from the mode by products (w · ratio · e^g
    /// going up, w · (1/ratio) · e^{−g} going down: no division, no exp per entry) until
    /// they fall below 1e-17 of the mode, and the draw searches outwards from the mode.
    fn draw_m(&self, g: f64, w: &mut [f64], rng: &mut Xoshiro256PlusPlus) -> usize {
        let len = self.c.len();
        const TINY: f64 = 1e-17;
        if !self.concave {
            let mut best = (0, f64::NEG_INFINITY);
            for (i, ci) in self.c.iter().enumerate() {
                let v = i as f64 * g + ci;
                if v > best.1 {
                    best = (i, v);
                }
            }
            let top = best.1;
            let mut total = 0.0;
            for (i, ci) in self.c.iter().enumerate() {
                w[i] = (i as f64 * g + ci - top).exp();
                total += w[i];
            }
            let mut u = rng.random::<f64>() * total;
            for (i, wi) in w[..len].iter().enumerate() {
                u -= wi;
                if u <= 0.0 {
                    return i;
                }
            }
            return len - 1;
        }
        // the mode: the first m whose step up is a step down, g + c[m] − c[m−1] < 0
        let (mut lo, mut hi) = (1usize, len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if g + (self.c[mid] - self.c[mid - 1]) < 0.0 {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let mode = lo - 1;
        let q = g.exp();
        let iq = 1.0 / q;
        let mut v = 1.0;
        let mut up = 0.0;
        let mut hi = mode;
        while hi + 1 < len {
            v *= self.ratio[hi + 1] * q;
            if v < TINY {
                break;
            }
            hi += 1;
            w[hi] = v;
            up += v;
        }
        let mut v = 1.0;
        let mut down = 0.0;
        let mut lo = mode;
        while lo > 0 {
            v *= self.inv_ratio[lo] * iq;
            if v < TINY {
                break;
            }
            lo -= 1;
            w[lo] = v;
            down += v;
        }
        let mut u = rng.random::<f64>() * (1.0 + up + down);
        if u < 1.0 {
            return mode;
        }
        u -= 1.0;
        if u < up {
            for (i, wi) in w[mode + 1..=hi].iter().enumerate() {
                u -= wi;
                if u <= 0.0 {
                    return mode + 1 + i;
                }
            }
            return hi;
        }
        u -= up;
        for i in (lo..mode).rev() {
            u -= w[i];
            if u <= 0.0 {
                return i;
            }
        }
        lo
    }
}
