//! sspse's visibility (measurement-error) model: the unit size that drives the successive
//! sampling is a latent visibility u ∈ 1..K; what respondents report is a noisy measure of
//! it, and how many people they recruit depends on it.
//!
//! ```text
//! scaled report   d'_j = max(1, round(d_j / ω)),  ω = mean(max(d, 1)) / 8   (optimism, fixed)
//! reporting       P(d' | u) ∝ NB(d'; mean u, variance α·u) · exp(−|d' − u| / σ),   d' = 1..10K
//!                 (sspse's "exponentially weighted Poisson"; α = mem.overdispersion = 15)
//! σ² prior        σ² ~ Scale-Inv-χ²(10, 2²) · σ⁻¹   (mem.scale.prior = 2, df 10; the σ⁻¹ is
//!                 sspse's normal prior on the fixed log-optimism, whose s.d. is σ/√10001)
//! recruits        r_j ~ Poisson(λ_j), λ_j = exp(β₀ + β_t log τ_j + β_u log u_j), censored at
//!                 the coupon limit c: P(r_j ≥ c) when r_j ≥ c;  β ~ N((−3, 0, 0), 10²)
//! visibility      p(u_j = u | ·) ∝ π_u(θ) · P(d'_j | u) · P(r_j | u) · u · e^{−u t_j}
//! ```
//! t_j is respondent j's arrival time in the exponential-clock augmentation of successive
//! sampling (module `mcmc`); that factor makes the last line the exact full conditional.
//! sspse 1.1.0-6 (`gcmpwpvis`) leaves it out — it draws each visibility as if the
//! respondent were the first one sampled — and redraws the visibilities every 20th sweep;
//! `sspse_compat` does the same.

use rand::RngExt;
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use statrs::function::gamma::ln_gamma;

/// The fixed inputs of the visibility model for one survey.
#[derive(Debug, Clone)]
pub(crate) struct Visibility {
    /// Cap on visibilities.
    pub k: usize,
    /// Largest scaled report modelled (10K, as sspse).
    pub dmax: usize,
    /// Index of respondent j's scaled report in `values`.
    pub report_index: Vec<usize>,
    /// Distinct scaled reports.
    pub values: Vec<usize>,
    /// ln NB(d'; mean u, variance α u), row u − 1, column d' − 1 (unnormalised in d').
    ln_nb: Vec<f64>,
    /// Number of recruits of each respondent.
    pub recruits: Vec<u32>,
    /// ln(r_j!).
    ln_fact: Vec<f64>,
    /// ln τ_j (recruitment time: rank in the sample, 1..n).
    pub ln_time: Vec<f64>,
    /// Coupon limit c (0: no recruitment model).
    pub max_coupons: u32,
    /// Prior (df, scale²) of σ².
    pub scale_prior: (f64, f64),
    /// Normal prior (mean, s.d.) of β₀, β_t, β_u.
    pub beta_prior: [(f64, f64); 3],
    /// Exact conditional (with the arrival-time factor), redrawn every sweep; false:
    /// sspse's conditional, redrawn every `sspse_every` sweeps.
    pub exact: bool,
    /// Initial visibilities (1..=K).
    pub init: Vec<usize>,
    /// Initial σ².
    pub sigma2_init: f64,
}

/// sspse redraws the visibilities (and β, σ) every 20th sweep.
pub(crate) const SSPSE_EVERY: usize = 20;

/// Inputs to [`Visibility::new`].
pub(crate) struct VisibilityInput<'a> {
    pub sizes: &'a [u32],
    pub raw_degrees: &'a [u32],
    pub recruits: &'a [u32],
    pub k: usize,
    pub overdispersion: f64,
    pub scale_prior: f64,
    pub scale_df: f64,
    pub recruitment: bool,
    pub exact: bool,
}

impl Visibility {
    pub fn new(inp: VisibilityInput<'_>) -> Visibility {
        let k = inp.k;
        let n = inp.sizes.len();
        let mean_raw = inp
            .raw_degrees
            .iter()
            .map(|&d| d.max(1) as f64)
            .sum::<f64>()
            / n.max(1) as f64;
        let omega = mean_raw / 8.0;
        let dmax = 10 * k;
        let scaled: Vec<usize> = inp
            .sizes
            .iter()
            .map(|&d| ((d as f64 / omega).round() as usize).clamp(1, dmax))
            .collect();
        let init: Vec<usize> = scaled.iter().map(|&d| d.min(k)).collect();
        let mut values = scaled.clone();
        values.sort_unstable();
        values.dedup();
        let report_index = scaled
            .iter()
            .map(|d| values.binary_search(d).unwrap_or(0))
            .collect();
        // NB with mean m = u and variance α m: size r = m/(α − 1), success prob p = (α−1)/α
        let alpha = inp.overdispersion;
        let p = (alpha - 1.0) / alpha;
        let mut ln_nb = Vec::with_capacity(k * dmax);
        for u in 1..=k {
            let r = u as f64 / (alpha - 1.0);
            let c = -ln_gamma(r) + r * (1.0 - p).ln();
            for d in 1..=dmax {
                let df = d as f64;
                ln_nb.push(c + ln_gamma(df + r) - ln_gamma(df + 1.0) + df * p.ln());
            }
        }
        let max_coupons = if inp.recruitment {
            inp.recruits.iter().copied().max().unwrap_or(0)
        } else {
            0
        };
        Visibility {
            k,
            dmax,
            report_index,
            values,
            ln_nb,
            recruits: inp.recruits.to_vec(),
            ln_fact: inp
                .recruits
                .iter()
                .map(|&r| ln_gamma(r as f64 + 1.0))
                .collect(),
            ln_time: (1..=n).map(|t| (t as f64).ln()).collect(),
            max_coupons,
            scale_prior: (inp.scale_df, inp.scale_prior * inp.scale_prior),
            beta_prior: [(-3.0, 10.0), (0.0, 10.0), (0.0, 10.0)],
            exact: inp.exact,
            init,
            sigma2_init: inp.scale_prior * inp.scale_prior,
        }
    }

    /// ln P(d' = values[v] | u), row u − 1 (K × values.len()), at σ² = `sigma2`.
    fn report_table(&self, sigma2: f64, out: &mut [f64]) {
        let s = sigma2.sqrt();
        let nv = self.values.len();
        let reach = (45.0 * s).ceil() as usize + 1;
        for u in 1..=self.k {
            let row = &self.ln_nb[(u - 1) * self.dmax..u * self.dmax];
            let lo = u.saturating_sub(reach).max(1);
            let hi = (u + reach).min(self.dmax);
            let term = |d: usize| row[d - 1] - (d as f64 - u as f64).abs() / s;
            let mx = (lo..=hi).map(term).fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = (lo..=hi).map(|d| (term(d) - mx).exp()).sum();
            let lz = mx + z.ln();
            for (v, &d) in self.values.iter().enumerate() {
                out[(u - 1) * nv + v] = term(d) - lz;
            }
        }
    }

    fn report_loglik(&self, table: &[f64], u: &[usize]) -> f64 {
        let nv = self.values.len();
        u.iter()
            .zip(&self.report_index)
            .map(|(&ui, &v)| table[(ui - 1) * nv + v])
            .sum()
    }

    /// ln P(r_j | u) under β.
    fn ln_recruits(&self, j: usize, ln_u: f64, beta: &[f64; 3]) -> f64 {
        if self.max_coupons == 0 {
            return 0.0;
        }
        let ln_lam = beta[0] + beta[1] * self.ln_time[j] + beta[2] * ln_u;
        let r = self.recruits[j];
        if r < self.max_coupons {
            r as f64 * ln_lam - ln_lam.exp() - self.ln_fact[j]
        } else {
            ln_poisson_upper(self.max_coupons, ln_lam.exp())
        }
    }

    fn recruit_loglik(&self, u: &[usize], beta: &[f64; 3]) -> f64 {
        if self.max_coupons == 0 {
            return 0.0;
        }
        u.iter()
            .enumerate()
            .map(|(j, &ui)| self.ln_recruits(j, (ui as f64).ln(), beta))
            .sum()
    }
}

/// ln P(X ≥ c) for X ~ Poisson(λ), c ≥ 1.
fn ln_poisson_upper(c: u32, lam: f64) -> f64 {
    if lam.is_nan() || lam <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if lam.is_infinite() {
        return 0.0;
    }
    if lam < c as f64 {
        // e^{−λ} Σ_{k ≥ c} λ^k / k!, summed upwards (no cancellation)
        let mut term = (c as f64 * lam.ln() - lam - ln_gamma(c as f64 + 1.0)).exp();
        let mut s = 0.0;
        let mut k = c as f64;
        while term > s * 1e-17 && k < c as f64 + 1000.0 {
            s += term;
            k += 1.0;
            term *= lam / k;
        }
        s.ln()
    } else {
        // 1 − e^{−λ} Σ_{k < c} λ^k / k!
        let mut term = 1.0;
        let mut s = 1.0;
        for k in 1..c {
            term *= lam / k as f64;
            s += term;
        }
        (-(-lam + s.ln()).exp()).ln_1p()
    }
}

/// The chain's state of the visibility model.
#[derive(Debug, Clone)]
pub(crate) struct VisState {
    /// Visibilities of the respondents (1..=K).
    pub u: Vec<usize>,
    pub beta: [f64; 3],
    pub sigma2: f64,
    /// ln P(d' | u) at the current σ².
    table: Vec<f64>,
    scratch: Vec<f64>,
    /// W[j][u−1] = P(d'_j | u) P(r_j | u) u, rescaled per respondent (row max 1).
    w: Vec<f64>,
    beta_sd: [f64; 3],
    sigma_sd: f64,
    acc: [usize; 4],
    prop: [usize; 4],
}

impl VisState {
    pub fn new(v: &Visibility) -> VisState {
        let nv = v.values.len();
        let mut s = VisState {
            u: v.init.clone(),
            beta: [-3.0, 0.0, 0.0],
            sigma2: v.sigma2_init,
            table: vec![0.0; v.k * nv],
            scratch: vec![0.0; v.k * nv],
            w: vec![0.0; v.u_len() * v.k],
            beta_sd: [0.2, 0.05, 0.05],
            sigma_sd: 0.15,
            acc: [0; 4],
            prop: [0; 4],
        };
        v.report_table(s.sigma2, &mut s.table);
        s.rebuild(v);
        s
    }

    fn rebuild(&mut self, v: &Visibility) {
        let k = v.k;
        let nv = v.values.len();
        let ln_u: Vec<f64> = (1..=k).map(|u| (u as f64).ln()).collect();
        for j in 0..self.u.len() {
            let row = &mut self.w[j * k..(j + 1) * k];
            let vi = v.report_index[j];
            let mut mx = f64::NEG_INFINITY;
            for u in 0..k {
                let l = self.table[u * nv + vi] + v.ln_recruits(j, ln_u[u], &self.beta) + ln_u[u];
                row[u] = l;
                mx = mx.max(l);
            }
            for x in row.iter_mut() {
                *x = (*x - mx).exp();
            }
        }
    }

    /// Metropolis updates of β (component-wise) and σ² given the visibilities, then the
    /// per-respondent weight table. `adapt`: tune the proposal scales (warm-up only).
    pub fn update_parameters(
        &mut self,
        v: &Visibility,
        steps: usize,
        adapt: bool,
        rng: &mut Xoshiro256PlusPlus,
    ) {
        let ln_norm = |x: f64, (m, s): (f64, f64)| -0.5 * ((x - m) / s).powi(2);
        // σ²: log-normal random walk; prior Scale-Inv-χ²(df, scale²) × σ⁻¹
        let ln_prior_s =
            |s2: f64| ln_scl_inv_chisq(s2, v.scale_prior.0, v.scale_prior.1) - 0.5 * s2.ln();
        let mut cur_rep = v.report_loglik(&self.table, &self.u);
        for _ in 0..steps {
            let z: f64 = rng.sample(StandardNormal);
            let prop = self.sigma2 * (self.sigma_sd * z).exp();
            self.prop[3] += 1;
            if prop.is_finite() && prop > 1e-6 && prop < 1e6 {
                v.report_table(prop, &mut self.scratch);
                let p_rep = v.report_loglik(&self.scratch, &self.u);
                let a = p_rep - cur_rep + ln_prior_s(prop) - ln_prior_s(self.sigma2)
                    + (prop / self.sigma2).ln();
                if a >= 0.0 || rng.random::<f64>().ln() < a {
                    self.sigma2 = prop;
                    std::mem::swap(&mut self.table, &mut self.scratch);
                    cur_rep = p_rep;
                    self.acc[3] += 1;
                }
            }
        }
        if v.max_coupons > 0 {
            let mut cur = v.recruit_loglik(&self.u, &self.beta);
            for _ in 0..steps {
                for c in 0..3 {
                    let z: f64 = rng.sample(StandardNormal);
                    let mut b = self.beta;
                    b[c] += self.beta_sd[c] * z;
                    self.prop[c] += 1;
                    let p = v.recruit_loglik(&self.u, &b);
                    let a = p - cur + ln_norm(b[c], v.beta_prior[c])
                        - ln_norm(self.beta[c], v.beta_prior[c]);
                    if a.is_finite() && (a >= 0.0 || rng.random::<f64>().ln() < a) {
                        self.beta = b;
                        cur = p;
                        self.acc[c] += 1;
                    }
                }
            }
        }
        if adapt {
            for c in 0..4 {
                if self.prop[c] >= 20 {
                    let rate = self.acc[c] as f64 / self.prop[c] as f64;
                    let f = (2.0 * (rate - 0.3)).exp().clamp(0.5, 2.0);
                    if c < 3 {
                        self.beta_sd[c] *= f;
                    } else {
                        self.sigma_sd *= f;
                    }
                    self.acc[c] = 0;
                    self.prop[c] = 0;
                }
            }
        }
        self.rebuild(v);
    }

    /// Redraws every visibility: p(u_j = u) ∝ π_u W_j(u) q_j^u, with q_j = e^{−t_j} (exact)
    /// or 1 (sspse). Updates the size counts `seen`.
    pub fn draw_visibilities(
        &mut self,
        probs: &[f64],
        times: Option<&[f64]>,
        seen: &mut [u64],
        weights: &mut [f64],
        rng: &mut Xoshiro256PlusPlus,
    ) {
        let k = probs.len();
        for j in 0..self.u.len() {
            let row = &self.w[j * k..(j + 1) * k];
            let q = times.map_or(1.0, |t| (-t[j]).exp());
            let mut qp = 1.0;
            let mut tot = 0.0;
            for u in 0..k {
                qp *= q;
                weights[u] = probs[u] * row[u] * qp;
                tot += weights[u];
            }
            let mut x = rng.random::<f64>() * tot;
            let mut pick = k - 1;
            for (u, w) in weights.iter().enumerate().take(k) {
                x -= w;
                if x <= 0.0 {
                    pick = u;
                    break;
                }
            }
            seen[self.u[j] - 1] -= 1;
            self.u[j] = pick + 1;
            seen[pick] += 1;
        }
    }
}

impl Visibility {
    fn u_len(&self) -> usize {
        self.report_index.len()
    }
}

/// log density of the scaled inverse chi-square (df, scale) at x, as sspse's `dsclinvchisq`.
pub(crate) fn ln_scl_inv_chisq(x: f64, df: f64, scale: f64) -> f64 {
    let y = df * scale / x;
    // log dchisq(y, df)
    let lchi = (df / 2.0 - 1.0) * y.ln()
        - y / 2.0
        - (df / 2.0) * std::f64::consts::LN_2
        - ln_gamma(df / 2.0);
    lchi + (scale * df / (x * x)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_upper_tail() {
        // P(X ≥ 2), λ = 0.5: 1 − e^{−0.5}(1.5)
        let want = 1.0 - (-0.5f64).exp() * 1.5;
        assert!((ln_poisson_upper(2, 0.5).exp() - want).abs() < 1e-14);
        let want = 1.0 - (-3.0f64).exp() * (1.0 + 3.0 + 4.5);
        assert!((ln_poisson_upper(3, 3.0).exp() - want).abs() < 1e-14);
        // tiny λ: λ²/2 to first order
        assert!((ln_poisson_upper(2, 1e-8).exp() / 5e-17 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn report_table_is_a_distribution() {
        let sizes: Vec<u32> = (1..=30).collect();
        let v = Visibility::new(VisibilityInput {
            sizes: &sizes,
            raw_degrees: &sizes,
            recruits: &[0; 30],
            k: 20,
            overdispersion: 15.0,
            scale_prior: 2.0,
            scale_df: 10.0,
            recruitment: false,
            exact: true,
        });
        // with all values 1..dmax present the rows sum to 1; here check one row by brute force
        let s2: f64 = 4.0;
        let u = 7usize;
        let terms: Vec<f64> = (1..=v.dmax)
            .map(|d| v.ln_nb[(u - 1) * v.dmax + d - 1] - (d as f64 - u as f64).abs() / s2.sqrt())
            .collect();
        let z: f64 = terms.iter().map(|t| t.exp()).sum();
        let mut tab = vec![0.0; v.k * v.values.len()];
        v.report_table(s2, &mut tab);
        let nv = v.values.len();
        for (vi, &d) in v.values.iter().enumerate() {
            let want = terms[d - 1].exp() / z;
            let got = tab[(u - 1) * nv + vi].exp();
            assert!(
                (got - want).abs() < 1e-12 * want.max(1e-300),
                "{d}: {got} {want}"
            );
        }
    }
}
