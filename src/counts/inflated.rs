//! Closed-form unit log-likelihoods of the families that `kernel.rs` does not cover:
//! one-inflated (ztoi*, oizt*), hurdle (ztHurdle*, Hurdlezt*) and zero-one-truncated
//! (Poisson and geometric bases), Chao and Zelterman, with their derivatives in the two
//! linear predictors, so that large data do not go through the dual numbers of
//! [`Family::loglik`] (the same values, checked against them in the tests, at a fraction
//! of the work).

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

/// `(e^{−|η|}, σ(η), 1 − σ(η))` without overflow for either sign of η.
#[inline]
fn sigmoid_pair(e1: f64) -> (f64, f64, f64) {
    let e = (-e1.abs()).exp();
    let (sg, omsg) = if e1 > 0.0 {
        (1.0 / (1.0 + e), e / (1.0 + e))
    } else {
        (e / (1.0 + e), 1.0 / (1.0 + e))
    };
    (e, sg, omsg)
}

/// The untruncated base distribution at η₁: ln P(y) with its two derivatives, and P(0),
/// 1 − P(0) with the derivatives of P(0).
#[inline]
fn base(geom: bool, y: u64, e1: f64) -> ([f64; 3], [f64; 4]) {
    let yf = y as f64;
    if geom {
        let (e, sg, omsg) = sigmoid_pair(e1);
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

/// 1 − P(0) − P(1) of the base distribution with its derivatives in η₁, and P(1) with
/// its derivatives (`q01`, `p1`, each [value, first, second]).
///
/// ```text
/// Poisson  q01 = 1 − e^{−λ}(1 + λ),  q01′ = λ²e^{−λ},  q01″ = (2λ² − λ³)e^{−λ}
///          P1 = λe^{−λ},  P1′ = (λ − λ²)e^{−λ},  P1″ = (λ − 3λ² + λ³)e^{−λ}
/// geometric  q01 = σ²,  q01′ = 2σ²(1−σ),  q01″ = 2σ²(1−σ)(2 − 3σ)
///          P1 = σ(1−σ),  P1′ = σ(1−σ)(1−2σ),  P1″ = σ(1−σ)(1 − 6σ + 6σ²)
/// ```
#[inline]
fn ge2(geom: bool, e1: f64) -> ([f64; 3], [f64; 3]) {
    if geom {
        let (_, sg, omsg) = sigmoid_pair(e1);
        let ss = sg * omsg;
        (
            [sg * sg, 2.0 * sg * ss, 2.0 * sg * ss * (2.0 - 3.0 * sg)],
            [ss, ss * (omsg - sg), ss * (1.0 - 6.0 * ss)],
        )
    } else {
        let x = e1.exp();
        let e = (-x).exp();
        let q = if x < 0.05 {
            // Σ_{k≥2} (−1)^k (k−1) x^k / k!
            let mut term = x * x / 2.0;
            let mut s = term;
            for k in 3..20 {
                term *= -x / k as f64;
                s += term * (k - 1) as f64;
            }
            s
        } else {
            -(-x).exp_m1() - x * e
        };
        let x2 = x * x;
        (
            [q, x2 * e, (2.0 * x2 - x2 * x) * e],
            [x * e, (x - x2) * e, (x - 3.0 * x2 + x2 * x) * e],
        )
    }
}

/// ln f for f with value and derivatives [f, f′, f″] in η₁ (η₂ not involved).
#[inline]
fn ln1(f: [f64; 3]) -> D2 {
    let g = f[1] / f[0];
    D2 {
        v: f[0].ln(),
        g: [g, 0.0],
        h: [f[2] / f[0] - g * g, 0.0, 0.0],
    }
}

/// ln(1 − f) for f with value and derivatives [f, f′, f″] in η₁, f < 1.
#[inline]
fn ln1m(f: [f64; 3]) -> D2 {
    let m = 1.0 - f[0];
    let g = -f[1] / m;
    D2 {
        v: (-f[0]).ln_1p(),
        g: [g, 0.0],
        h: [-f[2] / m - g * g, 0.0, 0.0],
    }
}

/// The unit log-likelihood of a hurdle, zero-one-truncated (Poisson, geometric), Chao
/// or Zelterman family (`None` for the others).
///
/// ```text
/// zot          ln P(y) − ln q01
/// ztHurdle     y = 1: ln π,   y ≥ 2: ln(1−π) + ln P(y) − ln q01
/// Hurdlezt     y = 1: ln π + ln(1 − P1) − ln D,   y ≥ 2: ln(1−π) + ln P(y) − ln D,
///              D = πP0 + q01
/// Chao, Zelterman  1[y=2]η − ln(1 + e^η)
/// ```
#[inline]
pub(crate) fn loglik_other(fam: Family, y: u64, e1: f64, e2: f64) -> Option<D2> {
    use Family::*;
    let geom = match fam {
        Chao | Zelterman => {
            let (sg, omsg, ln_1ms) = omega(e1);
            let two = if y == 2 { 1.0 } else { 0.0 };
            return Some(D2 {
                v: two * e1 + ln_1ms,
                g: [two - sg, 0.0],
                h: [-sg * omsg, 0.0, 0.0],
            });
        }
        ZotPoisson | ZtHurdlePoisson | HurdleZtPoisson => false,
        ZotGeom | ZtHurdleGeom | HurdleZtGeom => true,
        _ => return None,
    };
    let (q01, p1) = ge2(geom, e1);
    let (lp, p0) = base(geom, y, e1);
    let lpd = D2 {
        v: lp[0],
        g: [lp[1], 0.0],
        h: [lp[2], 0.0, 0.0],
    };
    match fam {
        ZotPoisson | ZotGeom => Some(lpd - ln1(q01)),
        ZtHurdlePoisson | ZtHurdleGeom => {
            let (pi, pic, ln_pic) = omega(e2);
            let pp = pi * pic;
            Some(if y == 1 {
                D2 {
                    v: e2 + ln_pic,
                    g: [0.0, pic],
                    h: [0.0, 0.0, -pp],
                }
            } else {
                lpd - ln1(q01)
                    + D2 {
                        v: ln_pic,
                        g: [0.0, -pi],
                        h: [0.0, 0.0, -pp],
                    }
            })
        }
        _ => {
            let (pi, pic, ln_pic) = omega(e2);
            let pp = pi * pic;
            // ln D, D = πP0 + q01
            let d = pi * p0[0] + q01[0];
            let (d1, d2) = (pi * p0[2] + q01[1], pp * p0[0]);
            let (d11, d12, d22) = (pi * p0[3] + q01[2], pp * p0[2], pp * (pic - pi) * p0[0]);
            let (g1, g2) = (d1 / d, d2 / d);
            let ln_d = D2 {
                v: d.ln(),
                g: [g1, g2],
                h: [d11 / d - g1 * g1, d12 / d - g1 * g2, d22 / d - g2 * g2],
            };
            Some(if y == 1 {
                ln1m(p1)
                    + D2 {
                        v: e2 + ln_pic,
                        g: [0.0, pic],
                        h: [0.0, 0.0, -pp],
                    }
                    - ln_d
            } else {
                lpd + D2 {
                    v: ln_pic,
                    g: [0.0, -pi],
                    h: [0.0, 0.0, -pp],
                } - ln_d
            })
        }
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

/// A unit's Horvitz-Thompson contribution c, its derivatives in (η₁, η₂) and its
/// variance term v, in closed form for the zero-truncated geometric and the
/// one-inflated, hurdle and zero-one-truncated families with Poisson or geometric base
/// (`None` for the others): the same figures as [`Family::contribution`].
///
/// ```text
/// zt base (ztgeom, ztoi*)  c = 1/(1 − P0),  v = P0/(1 − P0)²
/// oizt*        c = 1/D, D = ω + (1−ω)(1 − P0),  v = (1−ω)P0/D²  (oiztgeom: (1−ω)/(λ+ω))
/// zot* (y ≥ 2) c = (1 − P1)/q01,  v = (1 − P1)²(P0 + P1)/q01²
/// ztHurdle*    c = (1 − P1)/q01,  v = (1 − P1)P0/q01²
/// Hurdlezt*    c = (1 − P1)/D, D = πP0 + q01,  v = p0/(1 − p0)², p0 = (1−π)P0/(1 − P1)
/// ```
#[inline]
pub(crate) fn contribution(fam: Family, y: u64, e1: f64, e2: f64) -> Option<(f64, [f64; 2], f64)> {
    use Family::*;
    let geom = match fam {
        ZtGeom | ZtoiGeom | OiztGeom | ZotGeom | ZtHurdleGeom | HurdleZtGeom => true,
        ZtoiPoisson | OiztPoisson | ZotPoisson | ZtHurdlePoisson | HurdleZtPoisson => false,
        _ => return None,
    };
    let (_, p0) = base(geom, 0, e1);
    match fam {
        ZtGeom | ZtoiGeom | ZtoiPoisson => {
            let q = p0[1];
            Some((1.0 / q, [p0[2] / (q * q), 0.0], p0[0] / (q * q)))
        }
        OiztPoisson | OiztGeom => {
            let (om, omc, _) = omega(e2);
            let d = om + omc * p0[1];
            let (d1, d2) = (-omc * p0[2], om * omc * p0[0]);
            let v = if geom {
                omc / (e1.exp() + om)
            } else {
                omc * p0[0] / (d * d)
            };
            Some((1.0 / d, [-d1 / (d * d), -d2 / (d * d)], v))
        }
        ZotPoisson | ZotGeom | ZtHurdlePoisson | ZtHurdleGeom => {
            if fam.uses(y) && (y >= 2 || matches!(fam, ZtHurdlePoisson | ZtHurdleGeom)) {
                let (q01, p1) = ge2(geom, e1);
                let (q, m) = (q01[0], 1.0 - p1[0]);
                let c = m / q;
                let g = (-p1[1] * q - m * q01[1]) / (q * q);
                let v = if matches!(fam, ZotPoisson | ZotGeom) {
                    m * m * (p0[0] + p1[0]) / (q * q)
                } else {
                    m * p0[0] / (q * q)
                };
                Some((c, [g, 0.0], v))
            } else {
                Some((1.0, [0.0, 0.0], 0.0))
            }
        }
        _ => {
            let (q01, p1) = ge2(geom, e1);
            let (pi, pic, _) = omega(e2);
            let m = 1.0 - p1[0];
            let d = pi * p0[0] + q01[0];
            let (d1, d2) = (pi * p0[2] + q01[1], pi * pic * p0[0]);
            let c = m / d;
            let g1 = (-p1[1] * d - m * d1) / (d * d);
            let g2 = -m * d2 / (d * d);
            let pz = pic * p0[0] / m;
            Some((c, [g1, g2], pz / ((1.0 - pz) * (1.0 - pz))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// The closed forms equal the dual-number log-likelihoods of `Family::loglik`.
    /// Compares `kernel` with the dual-number log-likelihood over a grid of counts and
    /// linear predictors (points where the dual numbers overflow are skipped); returns
    /// the number of points compared.
    fn compare_with_duals(
        fams: &[Family],
        e1s: &[f64],
        kernel: fn(Family, u64, f64, f64) -> Option<D2>,
    ) -> usize {
        let mut n = 0;
        for &fam in fams {
            for &y in &[1u64, 2, 3, 7, 40, 300] {
                if !fam.uses(y) {
                    continue;
                }
                for &e1 in e1s {
                    for &e2 in &[-30.0, -14.0, -2.0, 0.0, 0.7, 3.0, 14.0] {
                        let want = fam.loglik(y, D2::var(e1, 0), D2::var(e2, 1));
                        if !(want.v.is_finite() && want.h.iter().all(|v| v.is_finite())) {
                            continue;
                        }
                        let got = kernel(fam, y, e1, e2).unwrap();
                        let ok = close(got.v, want.v)
                            && (0..2).all(|k| close(got.g[k], want.g[k]))
                            && (0..3).all(|k| close(got.h[k], want.h[k]));
                        assert!(ok, "{fam} y={y} e1={e1} e2={e2}: {got:?} vs {want:?}");
                        n += 1;
                    }
                }
            }
        }
        n
    }

    #[test]
    fn one_inflated_kernels_match_the_dual_numbers() {
        let fams = [
            Family::ZtoiPoisson,
            Family::ZtoiGeom,
            Family::OiztPoisson,
            Family::OiztGeom,
        ];
        let n = compare_with_duals(&fams, &[-6.0, -1.3, 0.0, 0.4, 2.5, 5.0], loglik);
        assert!(n > 900, "{n}");
        assert!(loglik(Family::ZtPoisson, 1, 0.0, 0.0).is_none());
    }

    #[test]
    fn hurdle_zot_and_chao_kernels_match_the_dual_numbers() {
        let fams = [
            Family::ZotPoisson,
            Family::ZotGeom,
            Family::ZtHurdlePoisson,
            Family::ZtHurdleGeom,
            Family::HurdleZtPoisson,
            Family::HurdleZtGeom,
            Family::Chao,
            Family::Zelterman,
        ];
        let e1s = [-6.0, -3.5, -1.3, 0.0, 0.4, 2.5, 5.0];
        let n = compare_with_duals(&fams, &e1s, loglik_other);
        assert!(n > 1000, "{n}");
        assert!(loglik_other(Family::ZtoiGeom, 1, 0.0, 0.0).is_none());
    }

    #[test]
    fn contributions_match_the_dual_numbers() {
        let mut n = 0;
        for fam in Family::ALL {
            for &y in &[1u64, 2, 5] {
                for &e1 in &[-6.0, -3.5, -1.3, 0.0, 0.4, 2.5, 5.0] {
                    for &e2 in &[-30.0, -14.0, -2.0, 0.0, 0.7, 3.0, 14.0] {
                        let Some((c, g, v)) = contribution(fam, y, e1, e2) else {
                            continue;
                        };
                        let (wc, wv) = fam.contribution(y, D2::var(e1, 0), D2::var(e2, 1));
                        if !(wc.v.is_finite() && wv.is_finite()) {
                            continue;
                        }
                        let ok = close(c, wc.v)
                            && close(g[0], wc.g[0])
                            && close(g[1], wc.g[1])
                            && close(v, wv);
                        assert!(
                            ok,
                            "{fam} y={y} e1={e1} e2={e2}: {c} {g:?} {v} vs {wc:?} {wv}"
                        );
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 1500, "{n}");
    }
}
