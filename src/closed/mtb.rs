//! Model Mtb (time and behavioural effects), a non-linear Poisson model, as
//! `Rcapture::closedp.Mtb`.

use super::fit::ClosedFit;
use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, FitStats, Warning};
use crate::glm::{Newton, Objective};
use nalgebra::{DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

/// Poisson log-likelihood of Mtb over the 2^t − 1 observable cells.
///
/// θ = (ln N, logit p₁..p_t, b); logit c_j = logit p_j + b for recaptures:
/// ```text
/// ln μ_ω = ln N + Σ_{j<f} ln(1 − p_j) + ln p_f + Σ_{j>f} [ω_j ln c_j + (1 − ω_j) ln(1 − c_j)]
/// ```
struct MtbLik {
    t: usize,
    cells: Vec<(u64, f64)>, // all observable cells with their counts
    lfact: f64,
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl MtbLik {
    /// η, ∂η (dense) and the non-zero second derivatives of η for one cell.
    fn cell(
        &self,
        th: &DVector<f64>,
        c: u64,
        g: &mut [f64],
        h: &mut [(usize, usize, f64)],
        nh: &mut usize,
    ) -> f64 {
        let t = self.t;
        let b = th[t + 1];
        for v in g.iter_mut() {
            *v = 0.0;
        }
        *nh = 0;
        let f = c.trailing_zeros() as usize; // 0-based first capture
        let mut eta = th[0];
        g[0] = 1.0;
        for j in 0..t {
            let a = th[1 + j];
            if j < f {
                eta -= softplus(a);
                let s = sigmoid(a);
                g[1 + j] -= s;
                h[*nh] = (1 + j, 1 + j, -s * (1.0 - s));
                *nh += 1;
            } else if j == f {
                eta += a - softplus(a);
                let s = sigmoid(a);
                g[1 + j] += 1.0 - s;
                h[*nh] = (1 + j, 1 + j, -s * (1.0 - s));
                *nh += 1;
            } else {
                let x = a + b;
                let w = (c >> j & 1) as f64;
                eta += w * x - softplus(x);
                let s = sigmoid(x);
                g[1 + j] += w - s;
                g[t + 1] += w - s;
                let d = -s * (1.0 - s);
                h[*nh] = (1 + j, 1 + j, d);
                h[*nh + 1] = (1 + j, t + 1, d);
                h[*nh + 2] = (t + 1, t + 1, d);
                *nh += 3;
            }
        }
        eta
    }
}

impl Objective for MtbLik {
    fn eval(&self, th: &DVector<f64>) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
        let p = self.t + 2;
        let mut val = -self.lfact;
        let mut grad = DVector::zeros(p);
        let mut hess = DMatrix::zeros(p, p);
        let mut g = vec![0.0; p];
        let mut hs = vec![(0, 0, 0.0); 3 * self.t + 2];
        let mut nh = 0;
        for &(c, y) in &self.cells {
            let eta = self.cell(th, c, &mut g, &mut hs, &mut nh);
            let mu = eta.exp();
            if !mu.is_finite() {
                return None;
            }
            val += y * eta - mu;
            let r = y - mu;
            for i in 0..p {
                if g[i] == 0.0 {
                    continue;
                }
                grad[i] += r * g[i];
                for j in 0..p {
                    hess[(i, j)] -= mu * g[i] * g[j];
                }
            }
            for &(i, j, d) in &hs[..nh] {
                hess[(i, j)] += r * d;
                if i != j {
                    hess[(j, i)] += r * d;
                }
            }
        }
        val.is_finite().then_some((val, grad, hess))
    }
}

/// The fitted Mtb model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MtbFit {
    /// The table row (abundance, stderr, deviance, df, AIC, BIC, warnings).
    pub fit: ClosedFit,
    /// Capture probabilities p₁..p_t.
    pub p: Vec<f64>,
    /// Recapture probabilities c₂..c_t.
    pub c: Vec<f64>,
    /// The estimate.
    pub estimate: Estimate,
}

/// Fits model Mtb by maximum likelihood (damped Newton on the Poisson likelihood of the
/// observable cells), as `Rcapture::closedp.Mtb`.
///
/// ```text
/// N̂ = exp(θ̂₀),  SE² = N̂² [(−H)⁻¹]₀₀ − N̂,  df = 2^t − 1 − (t + 2)
/// ```
/// Rcapture maximises with `optim(BFGS)`, so its figures agree with these only to that
/// optimiser's accuracy (about 1e-5 relative); it also refuses cell counts above 170,
/// which this fit does not need to.
///
/// # Errors
/// [`Error::TooFewOccasions`] for t < 3; [`Error::InvalidParameter`] for t > 20;
/// [`Error::Numerical`] when the likelihood cannot be maximised.
///
/// # References
/// Rivest & Lévesque (2001); Baillargeon & Rivest (2007); `Rcapture::closedp.Mtb`.
pub fn closedp_mtb(h: &CaptureHistories, level: f64) -> Result<MtbFit> {
    ci::check_level(level)?;
    let t = h.occasions();
    if t < 3 {
        return Err(Error::TooFewOccasions {
            method: "Mtb".into(),
            needed: 3,
            got: t,
        });
    }
    if t > 20 {
        return Err(Error::param("occasions", t, "at most 20 for Mtb"));
    }
    let counts = h.cell_counts()?;
    let cells: Vec<(u64, f64)> = (1..counts.len())
        .map(|c| (c as u64, counts[c] as f64))
        .collect();
    let lfact = cells.iter().map(|(_, y)| ln_gamma(y + 1.0)).sum();
    let n = h.observed();
    let lik = MtbLik { t, cells, lfact };
    let mut start = DVector::zeros(t + 2);
    start[0] = (n as f64).ln();
    let nf = Newton::params().maximize(&lik, start)?;
    let th = &nf.theta;
    let big_n = th[0].exp();
    if !(big_n.is_finite() && big_n < 1e4 * n as f64) {
        return Err(Error::no_estimate(format!(
            "Mtb: the likelihood keeps increasing as N grows (N = {big_n:.3e} with capture probabilities near 0): \
             the maximum-likelihood estimate is infinite"
        )));
    }
    let cov = nf.covariance().ok_or_else(|| Error::Numerical {
        reason: "Mtb: the information matrix is singular".into(),
    })?;
    let se = (big_n * big_n * cov[(0, 0)] - big_n).sqrt();
    let ylogy: f64 = lik
        .cells
        .iter()
        .filter(|c| c.1 > 0.0)
        .map(|(_, y)| y * y.ln())
        .sum();
    // Rcapture: dev = 2 Σ y (max(ln y, 0) − ln μ), i.e. without the −(y − μ) terms.
    let mut ylogmu = 0.0;
    let mut g = vec![0.0; t + 2];
    let mut hs = vec![(0, 0, 0.0); 3 * t + 2];
    let mut nh = 0;
    for &(c, y) in &lik.cells {
        if y > 0.0 {
            ylogmu += y * lik.cell(th, c, &mut g, &mut hs, &mut nh);
        }
    }
    let deviance = 2.0 * (ylogy - ylogmu);
    let k = (t + 2) as f64;
    let aic = -2.0 * nf.value + 2.0 * k;
    let bic = -2.0 * nf.value + (n as f64).ln() * k;
    let df = ((1i64 << t) - 1) - (t as i64 + 2);
    let mut warnings = Vec::new();
    if !nf.stop.converged() {
        warnings.push(Warning::NotConverged {
            iterations: nf.stop.iterations(),
        });
    }
    if !se.is_finite() {
        return Err(Error::no_estimate(
            "Mtb: the standard error is not defined (N̂² Var(ln N̂) < N̂)",
        ));
    }
    let p: Vec<f64> = (0..t).map(|j| sigmoid(th[1 + j])).collect();
    let c: Vec<f64> = (1..t).map(|j| sigmoid(th[1 + j] + th[t + 1])).collect();
    let fit = ClosedFit {
        model: "Mtb".into(),
        n,
        abundance: big_n,
        stderr: se,
        deviance,
        df,
        aic,
        bic,
        bias: None,
        coefficients: (0..t + 2)
            .map(|i| {
                let name = if i == 0 {
                    "log N".to_string()
                } else if i <= t {
                    format!("logit p{i}")
                } else {
                    "b".into()
                };
                (name, th[i])
            })
            .collect(),
        dropped_eta: Vec::new(),
        warnings: warnings.clone(),
        iterations: nf.stop.iterations(),
        fitted: Vec::new(),
    };
    let interval = ci::log_normal(big_n, se, n as f64, level);
    let mut e = Estimate::new("closedp.Mtb", "Mtb", big_n, se, interval, n)
        .with_fit(FitStats {
            deviance,
            df,
            aic,
            bic,
        })
        .with_assumptions(&[
            Assumption::ClosedPopulation,
            Assumption::PerfectMatching,
            Assumption::HomogeneousCapture,
        ]);
    e.warnings = warnings;
    Ok(MtbFit {
        fit,
        p,
        c,
        estimate: e,
    })
}

impl std::fmt::Display for MtbFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.fit)?;
        write!(f, "{}", self.estimate)
    }
}
