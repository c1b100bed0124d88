//! Closed-form unit log-likelihoods of the one-inflated families (ztoi*, oizt*, Poisson
//! and geometric bases) with their derivatives in the two linear predictors, so that
//! large data do not go through the dual numbers of [`Family::loglik`] (the same values,
//! checked against them in the tests, at a fraction of the work).

use super::dual::D2;
use super::family::{Family, ln_factorial};

/// `ln(ω + (1 − ω)·q(η₁))` with ω = logistic(η₂), from q, its derivatives q₁, q₂ in η₁
/// and 1 − q (passed separately to keep its digits):
///
/// ```text
/// M = ω + (1−ω)q,  M₁ = (1−ω)q₁,  M₁₁ = (1−ω)q₂,  M₂ = ω(1−ω)(1−q),
/// M₁₂ = −ω(1−ω)q₁,  M₂₂ = ω(1−ω)(1−2ω)(1−q)
/// ∇ ln M = ∇M/M,  ∇² ln M = ∇²M/M − ∇M∇Mᵀ/M²
/// ```
#[inline]
fn ln_mix(om: f64, omc: f64, q: f64, q1: f64, q2: f64, one_minus_q: f64) -> D2 {
    let m = om + omc * q;
    let oo = om * omc;
    let (m1, m11) = (omc * q1, omc * q2);
    let m2 = oo * one_minus_q;
    let m12 = -oo * q1;
    let m22 = oo * (omc - om) * one_minus_q;
    let (g1, g2) = (m1 / m, m2 / m);
    D2 {
        v: m.ln(),
        g: [g1, g2],
        h: [m11 / m - g1 * g1, m12 / m - g1 * g2, m22 / m - g2 * g2],
    }
}

/// ω = logistic(η₂), 1 − ω and ln(1 − ω) = −softplus(η₂), each computed stably.
#[inline]
fn omega(e2: f64) -> (f64, f64, f64) {
    let e = (-e2.abs()).exp();
    let (om, omc) = if e2 > 0.0 {
        (1.0 / (1.0 + e), e / (1.0 + e))
    } else {
        (e / (1.0 + e), 1.0 / (1.0 + e))
    };
    (om, omc, -(e2.max(0.0) + e.ln_1p()))
}

/// The untruncated base distribution at η₁: ln P(y) with its two derivatives, and P(0),
/// 1 − P(0) with the derivatives of P(0).
#[inline]
fn base(geom: bool, y: u64, e1: f64) -> ([f64; 3], [f64; 4]) {
    let yf = y as f64;
    if geom {
        let e = (-e1.abs()).exp();
        let (sg, omsg) = if e1 > 0.0 {
            (1.0 / (1.0 + e), e / (1.0 + e))
        } else {
            (e / (1.0 + e), 1.0 / (1.0 + e))
        };
        let sp = e1.max(0.0) + e.ln_1p();
        let ss = sg * omsg;
        (
            [
                yf * e1 - (yf + 1.0) * sp,
                yf - (yf + 1.0) * sg,
                -(yf + 1.0) * ss,
            ],
            [omsg, sg, -ss, -ss * (omsg - sg)],
        )
    } else {
        let lam = e1.exp();
        let p0 = (-lam).exp();
        (
            [yf * e1 - lam - ln_factorial(y), yf - lam, -lam],
            [p0, -(-lam).exp_m1(), -lam * p0, (lam * lam - lam) * p0],
        )
    }
}

/// The unit log-likelihood of a one-inflated family (`None` for the other families).
///
/// ```text
/// ztoi   y = 1: ln(ω + (1−ω)P_zt(1)),   y ≥ 2: ln(1−ω) + ln P_zt(y)
/// oizt   y = 1: ln(ω + (1−ω)P(1)) − ln D,   y ≥ 2: ln(1−ω) + ln P(y) − ln D,
///        D = 1 − (1−ω)P(0) = ω + (1−ω)(1 − P(0))
/// ```
#[inline]
pub(crate) fn loglik(fam: Family, y: u64, e1: f64, e2: f64) -> Option<D2> {
    let (geom, ztoi) = match fam {
        Family::ZtoiPoisson => (false, true),
        Family::ZtoiGeom => (true, true),
        Family::OiztPoisson => (false, false),
        Family::OiztGeom => (true, false),
        _ => return None,
    };
    let (om, omc, ln_omc) = omega(e2);
    let (lp, p0) = base(geom, y, e1);
    if ztoi {
        // ln P_zt(y) = ln P(y) − ln(1 − P(0)); derivatives as the zero-truncated
        // kernels write them (Poisson: y − m, −(m − m²P(0)), m = λ/(1 − P(0));
        // geometric: (y − 1) − yσ, −yσ(1 − σ))
        let l = lp[0]
            - if p0[0] < 0.5 {
                (-p0[0]).ln_1p()
            } else {
                p0[1].ln()
            };
        let yf = y as f64;
        let (l1, l2) = if geom {
            let (sg, omsg) = (p0[1], p0[0]);
            ((yf - 1.0) - yf * sg, -yf * sg * omsg)
        } else {
            let m = e1.exp() / p0[1];
            (yf - m, -(m - m * m * p0[0]))
        };
        if y == 1 {
            let q = l.exp();
            return Some(ln_mix(om, omc, q, q * l1, q * (l1 * l1 + l2), -l.exp_m1()));
        }
        return Some(D2 {
            v: ln_omc + l,
            g: [l1, -om],
            h: [l2, 0.0, -om * omc],
        });
    }
    // ln D: a mix with q = 1 − P(0)
    let d = ln_mix(om, omc, p0[1], -p0[2], -p0[3], p0[0]);
    let num = if y == 1 {
        let q = lp[0].exp();
        ln_mix(
            om,
            omc,
            q,
            q * lp[1],
            q * (lp[1] * lp[1] + lp[2]),
            -lp[0].exp_m1(),
        )
    } else {
        D2 {
            v: ln_omc + lp[0],
            g: [lp[1], -om],
            h: [lp[2], 0.0, -om * omc],
        }
    };
    Some(num - d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// The closed forms equal the dual-number log-likelihoods of `Family::loglik`.
    #[test]
    fn one_inflated_kernels_match_the_dual_numbers() {
        let mut n = 0;
        for fam in [
            Family::ZtoiPoisson,
            Family::ZtoiGeom,
            Family::OiztPoisson,
            Family::OiztGeom,
        ] {
            for &y in &[1u64, 2, 3, 7, 40, 300] {
                for &e1 in &[-6.0, -1.3, 0.0, 0.4, 2.5, 5.0] {
                    for &e2 in &[-30.0, -14.0, -2.0, 0.0, 0.7, 3.0, 14.0] {
                        let want = fam.loglik(y, D2::var(e1, 0), D2::var(e2, 1));
                        if !(want.v.is_finite() && want.h.iter().all(|v| v.is_finite())) {
                            continue;
                        }
                        let got = loglik(fam, y, e1, e2).unwrap();
                        let ok = close(got.v, want.v)
                            && (0..2).all(|k| close(got.g[k], want.g[k]))
                            && (0..3).all(|k| close(got.h[k], want.h[k]));
                        assert!(ok, "{fam} y={y} e1={e1} e2={e2}: {got:?} vs {want:?}");
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 900, "{n}");
        assert!(loglik(Family::ZtPoisson, 1, 0.0, 0.0).is_none());
    }
}
