//! Bias-corrected estimators (Rivest & Lévesque 2001), as `Rcapture::closedp.bc`.
#![allow(
    clippy::needless_range_loop,
    clippy::neg_cmp_op_on_partial_ord,
    clippy::redundant_guards
)]

use super::ClosedModel;
use super::design::{Design, Heterogeneity, observed_cells, standard_design_obs, zero_design};
use super::fit::{fit_design, glm_warnings_pub};
use crate::ci;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate};
use crate::glm::{GroupedCounts, PoissonGlm};
use crate::model_table::ModelTable;
use crate::two_source::{TwoSample, chapman};
use nalgebra::DMatrix;

fn het_delta(h: Heterogeneity) -> [f64; 3] {
    let f = |k: f64| {
        let mut v = Vec::new();
        h.values(k, 3, &mut v);
        v[0]
    };
    let cc = (f(2.0) - 2.0 * f(1.0)) / (f(3.0) - 2.0 * f(2.0) + f(1.0));
    [-(1.0 + cc) / 2.0, 1.0 + cc, (1.0 - cc) / 2.0]
}

fn estimate(model: &str, n_hat: f64, se: f64, n: u64, level: f64) -> Result<Estimate> {
    if !(n_hat.is_finite() && se.is_finite()) {
        return Err(Error::no_estimate(format!(
            "{model}: the bias-corrected estimate is not finite"
        )));
    }
    let i = ci::log_normal(n_hat, se, n as f64, level);
    Ok(Estimate::new("closedp.bc", model, n_hat, se, i, n)
        .with_assumptions(&[Assumption::ClosedPopulation, Assumption::PerfectMatching]))
}

/// Fits a design with frequency-modified counts and returns N̂ = n + exp(β₀), its SE
/// and the fit's warnings.
fn fit_standard_bc(
    design: Design,
    n: f64,
    neg: bool,
) -> Result<(f64, f64, Vec<crate::estimate::Warning>)> {
    let df = fit_design(design, neg, &PoissonGlm::params())?;
    let f = &df.glm;
    let e = f.coefficients[0].exp();
    let se = (e + e * e * f.covariance[(0, 0)]).sqrt();
    Ok((n + e, se, glm_warnings_pub(f, &df.design.names)))
}

/// Bias-corrected estimate from the counts f_k (models M0 and Mh of `closedp.bc` with
/// `dtype = "nbcap"`): the frequency modification
///
/// ```text
/// M0:  f₁ − ½, f₂ + 1
/// Mh:  c = (h(2) − 2h(1)) / (h(3) − 2h(2) + h(1));  f₁ − (1+c)/2, f₂ + 1 + c, f₃ + (1−c)/2
/// Mh Chao: N̂ = n + (t−1) f₁(f₁−1) / (2t(f₂+1))   (closed form)
/// ```
///
/// # Errors
/// [`Error::TooFewOccasions`] when t0 < 3 for Mh; [`Error::InvalidParameter`] for other
/// models, t = ∞ (Rcapture cannot bias-correct continuous-time data) or a bad level.
///
/// # References
/// Rivest, L.-P. & Lévesque, T. (2001) Improved log-linear model estimators of abundance
/// in capture-recapture experiments. *Can. J. Statist.* 29, 555-572. `Rcapture::closedp.bc`.
pub fn closedp_bc_counts(
    f_k: &[u64],
    t: usize,
    t0: Option<usize>,
    heterogeneity: Option<Heterogeneity>,
    level: f64,
) -> Result<Estimate> {
    ci::check_level(level)?;
    let n: u64 = f_k.iter().sum();
    if n == 0 {
        return Err(Error::invalid("no unit was caught"));
    }
    if f_k.len() > t && f_k[t..].iter().any(|&v| v > 0) {
        return Err(Error::invalid(format!(
            "units caught more than t = {t} times"
        )));
    }
    let t0 = t0.unwrap_or(t);
    if t0 < 2 || t0 > t {
        return Err(Error::param("t0", t0, format!("between 2 and {t}")));
    }
    let fk = |k: usize| f_k.get(k - 1).copied().unwrap_or(0) as f64;
    let label = match heterogeneity {
        None => "M0".to_string(),
        Some(h) => format!("Mh {}", h.label()),
    };
    let nn = n as f64;
    match heterogeneity {
        Some(Heterogeneity::Chao) => {
            if t < 3 {
                return Err(Error::TooFewOccasions {
                    method: "Mh (heterogeneous models require at least 3 capture occasions)".into(),
                    needed: 3,
                    got: t,
                });
            }
            let (f1, f2, tt) = (fk(1), fk(2), t as f64);
            let a = (tt - 1.0) * f1 * (f1 - 1.0) / (2.0 * tt * (f2 + 1.0));
            let var = a
                + (tt - 1.0).powi(2)
                    * f1
                    * (f1 - 1.0)
                    * (f1 * f1 + 4.0 * f1 * f2 + 3.0 * f1 - 6.0 * f2 - 6.0)
                    / (4.0 * tt * tt * (f2 + 1.0).powi(2) * (f2 + 2.0));
            estimate(&label, nn + a, var.sqrt(), n, level)
        }
        _ => {
            if heterogeneity.is_some() && t0 < 3 {
                return Err(Error::TooFewOccasions {
                    method: "Mh bias correction (at least 3 capture occasions)".into(),
                    needed: 3,
                    got: t0,
                });
            }
            let del = match heterogeneity {
                None => [-0.5, 1.0, 0.0],
                Some(h) => het_delta(h),
            };
            let mut f: Vec<f64> = (1..=t0).map(fk).collect();
            for (k, d) in del.iter().enumerate() {
                if k < f.len() {
                    f[k] = (f[k] + d).max(0.0);
                }
            }
            let design = zero_design(&f, Some(t), t0, heterogeneity)?;
            let (nh, se, w) = fit_standard_bc(design, nn, true)?;
            let mut e = estimate(&label, nh, se, n, level)?;
            e.warnings = w;
            Ok(e)
        }
    }
}

fn solve_mt(h: &CaptureHistories, level: f64) -> Result<Estimate> {
    let t = h.occasions();
    let s = h.summary();
    let n = s.n as f64;
    if t == 2 {
        let ts = TwoSample::from_histories(h)?;
        let mut e = chapman(&ts, level)?;
        e.method = "closedp.bc".into();
        e.model = "Mt".into();
        return Ok(e);
    }
    let tt = t as f64;
    let ni: Vec<f64> = s
        .n_j
        .iter()
        .map(|&v| v as f64 + (tt + 2.0) / (2.0 * tt))
        .collect();
    let nc = n + tt / 2.0;
    // Preliminary M0 estimate brackets the root (Rcapture: closedpCI.0 M0).
    let f_k: Vec<u64> = s.f_k.clone();
    let m0 = super::fit_zero(
        &f_k,
        Some(t),
        None,
        None,
        &super::ClosedSettings {
            profile: false,
            ..Default::default()
        },
    )?;
    let eqn = |big_n: f64| ni.iter().map(|v| 1.0 - v / big_n).product::<f64>() - (1.0 - nc / big_n);
    let root =
        r_zeroin(eqn, n, 2.0 * m0.estimate.n_hat, 1.220703125e-4, 1000).ok_or_else(|| {
            Error::no_estimate(
                "Mt bias correction: the estimating equation has no root in (n, 2 N̂(M0))",
            )
        })?;
    let big_n = root - tt / 2.0;
    let inv =
        1.0 / (root - nc) + (tt - 1.0) / root - ni.iter().map(|v| 1.0 / (root - v)).sum::<f64>();
    estimate("Mt", big_n, (1.0 / inv).sqrt(), s.n, level)
}

/// R's `uniroot` (Brent's `zeroin`, R_zeroin2) with its default tolerance, so that the
/// root is the one R reports (to R's own accuracy).
pub(crate) fn r_zeroin(
    mut f: impl FnMut(f64) -> f64,
    ax: f64,
    bx: f64,
    tol: f64,
    maxit: usize,
) -> Option<f64> {
    let eps = f64::EPSILON;
    let (mut a, mut b) = (ax, bx);
    let (mut fa, mut fb) = (f(a), f(b));
    if fa * fb > 0.0 || !fa.is_finite() || !fb.is_finite() {
        return None;
    }
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    let mut c = a;
    let mut fc = fa;
    for _ in 0..=maxit {
        let prev_step = b - a;
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol_act = 2.0 * eps * b.abs() + tol / 2.0;
        let mut new_step = (c - b) / 2.0;
        if new_step.abs() <= tol_act || fb == 0.0 {
            return Some(b);
        }
        if prev_step.abs() >= tol_act && fa.abs() > fb.abs() {
            let cb = c - b;
            let (mut p, mut q);
            if a == c {
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                let qq = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0));
                q = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if p < 0.75 * cb * q - (tol_act * q).abs() / 2.0 && p < (prev_step * q / 2.0).abs() {
                new_step = p / q;
            }
        }
        if new_step.abs() < tol_act {
            new_step = if new_step > 0.0 { tol_act } else { -tol_act };
        }
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b);
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            c = a;
            fc = fa;
        }
    }
    Some(b)
}

/// Calls `f` with every bit mask of k of the t occasions.
fn for_each_subset(t: usize, k: usize, mut f: impl FnMut(u64)) {
    fn rec(start: usize, t: usize, k: usize, cur: u64, f: &mut dyn FnMut(u64)) {
        if k == 0 {
            f(cur);
            return;
        }
        for j in start..t {
            rec(j + 1, t, k - 1, cur | (1u64 << j), f);
        }
    }
    rec(0, t, k, 0, &mut f);
}

/// Bias-corrected estimate of one model on capture histories (`Rcapture::closedp.bc`):
/// Mt by Chapman (t = 2) or the corrected estimating equation (t > 2); the others by a
/// Poisson regression on frequency-modified counts.
///
/// ```text
/// Mt (t > 2):  Π_j (1 − (n_j + (t+2)/(2t))/N*) = 1 − (n + t/2)/N*,   N̂ = N* − t/2
/// Mth Chao:     y_k=1 + (t−2)/(2t),  y_k=2 + 2/(t(t−1))
/// Mth Poisson2: y_k=1 + (2t−5)/(4t), y_k=2 + 3/(t(t−1)), y_k=3 + 3/(2t(t−1)(t−2))
/// Mth Darroch:  y_k=1 + (t−3)/(2t),  y_k=2 + 4/(t(t−1))
/// Mb, Mbh:      first-capture counts u_1 + 2, u_2 − 1, u_3 − 1;  N̂ = e^{β₀}/(1 − e^{β₁})
/// ```
///
/// # Errors
/// [`Error::TooFewOccasions`] as Rcapture (Mh, Mth, Mb need t ≥ 3, Mbh t ≥ 4);
/// [`Error::InvalidParameter`] for Mth with Gamma heterogeneity or Poisson θ ≠ 2.
///
/// # References
/// Rivest & Lévesque (2001); Seber (1982) pp. 60, 131; `Rcapture::closedp.bc`.
pub fn closedp_bc(h: &CaptureHistories, model: ClosedModel, level: f64) -> Result<Estimate> {
    ci::check_level(level)?;
    let t = h.occasions();
    let s = h.summary();
    let n = s.n;
    let nn = n as f64;
    let label = model.label();
    let need = |k: usize| -> Result<()> {
        if t < k {
            Err(Error::TooFewOccasions {
                method: format!("{label} bias correction"),
                needed: k,
                got: t,
            })
        } else {
            Ok(())
        }
    };
    match model {
        ClosedModel::M0 => closedp_bc_counts(&s.f_k, t, None, None, level),
        ClosedModel::Mh(het) => {
            need(3)?;
            closedp_bc_counts(&s.f_k, t, None, Some(het), level)
        }
        ClosedModel::Mt => solve_mt(h, level),
        ClosedModel::Mth(het) => {
            need(3)?;
            let tt = t as f64;
            let del = match het {
                Heterogeneity::Chao => [(tt - 2.0) / (2.0 * tt), 2.0 / (tt * (tt - 1.0)), 0.0],
                Heterogeneity::Poisson(th) if th == 2.0 => [
                    (2.0 * tt - 5.0) / (4.0 * tt),
                    3.0 / (tt * (tt - 1.0)),
                    3.0 / (2.0 * tt * (tt - 1.0) * (tt - 2.0)),
                ],
                Heterogeneity::Darroch => [(tt - 3.0) / (2.0 * tt), 4.0 / (tt * (tt - 1.0)), 0.0],
                _ => {
                    return Err(Error::param(
                        "heterogeneity",
                        het.label(),
                        "Chao, Poisson2 or Darroch for the Mth bias correction",
                    ));
                }
            };
            if t > 62 {
                return Err(Error::param("occasions", t, "at most 62 for Mth"));
            }
            // Frequency modification of every cell caught 1, 2 or 3 times (empty ones
            // included); the model is then fitted from sufficient statistics.
            let observed: std::collections::BTreeMap<u64, f64> =
                observed_cells(h).into_iter().collect();
            let mut obs: Vec<(u64, f64)> = observed
                .iter()
                .filter(|(c, _)| c.count_ones() > 3)
                .map(|(c, y)| (*c, *y))
                .collect();
            for k in 1..=3usize.min(t) {
                for_each_subset(t, k, |c| {
                    let y = observed.get(&c).copied().unwrap_or(0.0) + del[k - 1];
                    if y > 0.0 {
                        obs.push((c, y));
                    }
                });
            }
            let design = standard_design_obs(t, obs, ClosedModel::Mth(het))?;
            let (nh, se, w) = fit_standard_bc(design, nn, true)?;
            let mut e = estimate(&label, nh, se, n, level)?;
            e.warnings = w;
            Ok(e)
        }
        ClosedModel::Mb | ClosedModel::Mbh => {
            if model == ClosedModel::Mbh {
                need(4)?;
            } else {
                need(3)?;
            }
            let u: Vec<f64> = s.u_j.iter().map(|&v| v as f64).collect();
            let (omit, y): (f64, Vec<f64>) = if model == ClosedModel::Mbh {
                (u[0], u[1..].to_vec())
            } else {
                (0.0, u.clone())
            };
            let mut y = y;
            let dl = [2.0, -1.0, -1.0];
            for (i, d) in dl.iter().enumerate() {
                if i < y.len() {
                    y[i] = (y[i] + d).max(0.0);
                }
            }
            let r = y.len();
            let x = DMatrix::from_fn(r, 2, |i, j| if j == 0 { 1.0 } else { i as f64 });
            let lists: Vec<Vec<f64>> = y.iter().map(|&v| vec![v]).collect();
            let counts = GroupedCounts::new(x, vec![0.0; r], &lists, &vec![0.0; r])?;
            let f = PoissonGlm::params().fit(&counts)?;
            let (b0, b1) = (f.coefficients[0], f.coefficients[1]);
            let big_n = b0.exp() / (1.0 - b1.exp());
            let g = [big_n, big_n * b1.exp() / (1.0 - b1.exp())];
            let v = &f.covariance;
            let q =
                g[0] * g[0] * v[(0, 0)] + 2.0 * g[0] * g[1] * v[(0, 1)] + g[1] * g[1] * v[(1, 1)];
            let se = (q - big_n).sqrt();
            let mut e = estimate(&label, big_n + omit, se, n, level)?;
            e.warnings = glm_warnings_pub(&f, &["(Intercept)".into(), "beta".into()]);
            Ok(e)
        }
    }
}

/// The bias-corrected estimates of `closedp.bc` for every model it supports on capture
/// histories: M0, Mt, Mh (Chao, Poisson2, Darroch, Gamma3.5), Mth (Chao, Poisson2,
/// Darroch), Mb, Mbh.
pub fn closedp_bc_all(h: &CaptureHistories, level: f64) -> ModelTable<Estimate> {
    use Heterogeneity::*;
    let mut models = vec![ClosedModel::M0, ClosedModel::Mt];
    models.extend([Chao, Poisson(2.0), Darroch, Gamma(3.5)].map(ClosedModel::Mh));
    models.extend([Chao, Poisson(2.0), Darroch].map(ClosedModel::Mth));
    models.push(ClosedModel::Mb);
    models.push(ClosedModel::Mbh);
    models
        .into_iter()
        .map(|m| (m.label(), closedp_bc(h, m, level)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroin_finds_root() {
        let r = r_zeroin(|x| x * x - 2.0, 0.0, 2.0, 1e-12, 1000).unwrap();
        assert!((r - 2f64.sqrt()).abs() < 1e-10);
        assert!(r_zeroin(|x| x * x + 1.0, 0.0, 2.0, 1e-12, 1000).is_none());
    }
}
