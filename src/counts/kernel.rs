//! Closed-form per-unit log-likelihoods with their derivatives in the two linear
//! predictors, for the families that carry large data: zero-truncated Poisson, geometric
//! and negative binomial. The other families go through the dual numbers of
//! [`Family::loglik`]; these kernels give the same values with a fraction of the work
//! (one `exp`, `expm1` and `ln` per unit for the Poisson; five transcendental calls and no
//! loop over the count for the negative binomial).

use super::dual::D2;
use super::family::{Family, ln_factorial, trigamma};
use statrs::function::gamma::{digamma, ln_gamma};

/// Largest count for which the rising-factorial sums are tabulated per evaluation.
const TABLE_MAX: u64 = 1 << 20;

/// Counts up to which Σ ln(a + j) is summed term by term when not tabulated.
const DIRECT_MAX: u64 = 64;

/// Σ_{j<y} ln(a + j), Σ 1/(a + j), Σ 1/(a + j)² for every y ≤ the largest count, at one
/// value of a = 1/α (the dispersion predictor is an intercept: one α for every unit).
///
/// ```text
/// R₀(y) = Σ_{j<y} ln(a + j) = ln Γ(a + y) − ln Γ(a)
/// R₁(y) = Σ_{j<y} 1/(a + j) = ψ(a + y) − ψ(a)
/// R₂(y) = Σ_{j<y} 1/(a + j)² = ψ′(a) − ψ′(a + y)
/// ```
pub(crate) struct Rising {
    a: f64,
    r: Vec<[f64; 3]>,
}

impl Rising {
    /// The table at `a` up to `max_y`, or `None` when the counts are too large to tabulate.
    pub fn new(a: f64, max_y: u64) -> Option<Rising> {
        if max_y > TABLE_MAX || !(a.is_finite() && a > 0.0) {
            return None;
        }
        let mut r = Vec::with_capacity(max_y as usize + 1);
        let mut acc = [0.0; 3];
        r.push(acc);
        for j in 0..max_y {
            let x = a + j as f64;
            acc[0] += x.ln();
            acc[1] += 1.0 / x;
            acc[2] += 1.0 / (x * x);
            r.push(acc);
        }
        Some(Rising { a, r })
    }

    #[inline]
    pub fn get(&self, a: f64, y: u64) -> [f64; 3] {
        match self.r.get(y as usize) {
            Some(v) if a == self.a => *v,
            _ => rising(a, y),
        }
    }
}

/// R₀, R₁, R₂ of [`Rising`] for one unit: summed for small counts, from ln Γ, ψ and ψ′
/// otherwise.
pub(crate) fn rising(a: f64, y: u64) -> [f64; 3] {
    if y <= DIRECT_MAX {
        let mut acc = [0.0; 3];
        for j in 0..y {
            let x = a + j as f64;
            acc[0] += x.ln();
            acc[1] += 1.0 / x;
            acc[2] += 1.0 / (x * x);
        }
        acc
    } else {
        let yf = y as f64;
        [
            ln_gamma(a + yf) - ln_gamma(a),
            digamma(a + yf) - digamma(a),
            trigamma(a) - trigamma(a + yf),
        ]
    }
}

/// The unit log-likelihood of `fam` at count `y` and linear predictors `e1`, `e2`, with
/// its derivatives in (η₁, η₂); `rise` is the table of the current α for the negative
/// binomial (per-unit sums without it).
#[inline]
pub(crate) fn unit_loglik(fam: Family, y: u64, e1: f64, e2: f64, rise: Option<&Rising>) -> D2 {
    match fam {
        Family::ZtPoisson => ztpoisson(y, e1),
        Family::ZtGeom => ztgeom(y, e1),
        Family::ZtNegBin => {
            let a = (-e2).exp();
            let r = match rise {
                Some(t) => t.get(a, y),
                None => rising(a, y),
            };
            ztnegbin(y, e1, e2, a, r)
        }
        _ => super::inflated::loglik(fam, y, e1, e2)
            .or_else(|| super::inflated::loglik_other(fam, y, e1, e2))
            .unwrap_or_else(|| fam.loglik(y, D2::var(e1, 0), D2::var(e2, 1))),
    }
}

/// Zero-truncated Poisson, λ = e^η:
///
/// ```text
/// ℓ = yη − λ − ln(1 − e^{−λ}) − ln y!,  ℓ' = y − m,  ℓ'' = −(m − m² e^{−λ}),
/// m = λ/(1 − e^{−λ})
/// ```
#[inline]
pub(crate) fn ztpoisson(y: u64, eta: f64) -> D2 {
    let yf = y as f64;
    let lam = eta.exp();
    let e = (-lam).exp();
    // 1 − e^{−λ} loses digits only for small λ, where expm1 keeps them
    let q = if lam < 0.25 {
        -(-lam).exp_m1()
    } else {
        1.0 - e
    };
    let m = lam / q;
    let v = yf * eta - lam - q.ln() - ln_factorial(y);
    D2 {
        v,
        g: [yf - m, 0.0],
        h: [-(m - m * m * e), 0.0, 0.0],
    }
}

/// Zero-truncated geometric, λ = e^η, σ = λ/(1 + λ):
///
/// ```text
/// ℓ = (y − 1)η − y ln(1 + e^η),  ℓ' = (y − 1) − yσ,  ℓ'' = −yσ(1 − σ)
/// ```
#[inline]
pub(crate) fn ztgeom(y: u64, eta: f64) -> D2 {
    let yf = y as f64;
    let e = (-eta.abs()).exp();
    let (sg, omsg) = if eta > 0.0 {
        (1.0 / (1.0 + e), e / (1.0 + e))
    } else {
        (e / (1.0 + e), 1.0 / (1.0 + e))
    };
    let sp = eta.max(0.0) + e.ln_1p();
    D2 {
        v: (yf - 1.0) * eta - yf * sp,
        g: [(yf - 1.0) - yf * sg, 0.0],
        h: [-yf * sg * omsg, 0.0, 0.0],
    }
}

/// Zero-truncated negative binomial (NB2), μ = e^{η₁}, α = e^{η₂}, a = 1/α,
/// s = η₁ + η₂, L = ln(1 + αμ), σ = αμ/(1 + αμ), u = aL, P₀ = e^{−u}:
///
/// ```text
/// ℓ = R₀(y) − ln y! + y(s − L) − aL − ln(1 − P₀)
/// ∂₁ℓ = y(1 − σ) − aσ + f′u₁,           ∂₂ℓ = −aR₁ + y(1 − σ) + aL − aσ + f′u₂
/// u₁ = aσ,  u₂ = aσ − aL,  f′ = −P₀/(1 − P₀),  f″ = P₀/(1 − P₀)²
/// ∂₁₁ℓ = −(y + a)σ(1 − σ) + f″u₁² + f′aσ(1 − σ)
/// ∂₁₂ℓ = −yσ(1 − σ) + aσ² + f″u₁u₂ − f′aσ²
/// ∂₂₂ℓ = aR₁ − a²R₂ − yσ(1 − σ) − aL + 2aσ − aσ(1 − σ) + f″u₂² + f′(aL − 2aσ + aσ(1 − σ))
/// ```
#[inline]
fn ztnegbin(y: u64, e1: f64, e2: f64, a: f64, r: [f64; 3]) -> D2 {
    let yf = y as f64;
    let s = e1 + e2;
    let e = (-s.abs()).exp();
    let (sg, omsg) = if s > 0.0 {
        (1.0 / (1.0 + e), e / (1.0 + e))
    } else {
        (e / (1.0 + e), 1.0 / (1.0 + e))
    };
    let l = s.max(0.0) + e.ln_1p();
    let u = a * l;
    let q = -(-u).exp_m1(); // 1 − P₀
    let p0 = 1.0 - q;
    let (f1, f2) = (-p0 / q, p0 / (q * q));
    let (u1, u2) = (a * sg, a * sg - a * l);
    let ss = sg * omsg;
    let v = r[0] - ln_factorial(y) + yf * (s - l) - u - q.ln();
    let g1 = yf * omsg - a * sg + f1 * u1;
    let g2 = -a * r[1] + yf * omsg + a * l - a * sg + f1 * u2;
    let h11 = -(yf + a) * ss + f2 * u1 * u1 + f1 * a * ss;
    let h12 = -yf * ss + a * sg * sg + f2 * u1 * u2 - f1 * a * sg * sg;
    let c22 = -a * l + 2.0 * a * sg - a * ss;
    let h22 = a * r[1] - a * a * r[2] - yf * ss + c22 + f2 * u2 * u2 - f1 * c22;
    D2 {
        v,
        g: [g1, g2],
        h: [h11, h12, h22],
    }
}

/// 2^(j/32), j = 0..31, correctly rounded.
const EXP2_32: [f64; 32] = [
    f64::from_bits(0x3ff0000000000000), // 2^(0/32)
    f64::from_bits(0x3ff059b0d3158574), // 2^(1/32)
    f64::from_bits(0x3ff0b5586cf9890f), // 2^(2/32)
    f64::from_bits(0x3ff11301d0125b51), // 2^(3/32)
    f64::from_bits(0x3ff172b83c7d517b), // 2^(4/32)
    f64::from_bits(0x3ff1d4873168b9aa), // 2^(5/32)
    f64::from_bits(0x3ff2387a6e756238), // 2^(6/32)
    f64::from_bits(0x3ff29e9df51fdee1), // 2^(7/32)
    f64::from_bits(0x3ff306fe0a31b715), // 2^(8/32)
    f64::from_bits(0x3ff371a7373aa9cb), // 2^(9/32)
    f64::from_bits(0x3ff3dea64c123422), // 2^(10/32)
    f64::from_bits(0x3ff44e086061892d), // 2^(11/32)
    f64::from_bits(0x3ff4bfdad5362a27), // 2^(12/32)
    f64::from_bits(0x3ff5342b569d4f82), // 2^(13/32)
    f64::from_bits(0x3ff5ab07dd485429), // 2^(14/32)
    f64::from_bits(0x3ff6247eb03a5585), // 2^(15/32)
    f64::from_bits(0x3ff6a09e667f3bcd), // 2^(16/32)
    f64::from_bits(0x3ff71f75e8ec5f74), // 2^(17/32)
    f64::from_bits(0x3ff7a11473eb0187), // 2^(18/32)
    f64::from_bits(0x3ff82589994cce13), // 2^(19/32)
    f64::from_bits(0x3ff8ace5422aa0db), // 2^(20/32)
    f64::from_bits(0x3ff93737b0cdc5e5), // 2^(21/32)
    f64::from_bits(0x3ff9c49182a3f090), // 2^(22/32)
    f64::from_bits(0x3ffa5503b23e255d), // 2^(23/32)
    f64::from_bits(0x3ffae89f995ad3ad), // 2^(24/32)
    f64::from_bits(0x3ffb7f76f2fb5e47), // 2^(25/32)
    f64::from_bits(0x3ffc199bdd85529c), // 2^(26/32)
    f64::from_bits(0x3ffcb720dcef9069), // 2^(27/32)
    f64::from_bits(0x3ffd5818dcfba487), // 2^(28/32)
    f64::from_bits(0x3ffdfc97337b9b5f), // 2^(29/32)
    f64::from_bits(0x3ffea4afa2a490da), // 2^(30/32)
    f64::from_bits(0x3fff50765b6e4540), // 2^(31/32)
];

/// e^x within 2 ulp of `f64::exp`, inlined and without a library call on |x| < 700
/// (elsewhere, and for NaN, `f64::exp`):
///
/// ```text
/// x = (32m + j)·ln2/32 + r,  |r| ≤ ln2/64,  e^x = 2^m · 2^{j/32} · Σ_{k≤6} r^k/k!
/// ```
/// (the series' remainder is below r⁷/7! < 4e-18). The reduction is Cody-Waite's with
/// fdlibm's two-part ln 2, exact for |32m + j| < 2^21.
#[inline]
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() || x.abs() >= 700.0 {
        return x.exp();
    }
    const INV: f64 = 32.0 / std::f64::consts::LN_2;
    const HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000) / 32.0;
    const LO: f64 = f64::from_bits(0x3dea39ef35793c76) / 32.0;
    // round to nearest with the 1.5·2^52 shift: k sits in the low bits of `t`
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let t = x * INV + SHIFT;
    let kf = t - SHIFT;
    let k = t.to_bits().wrapping_sub(SHIFT.to_bits()) as i64;
    let r = (x - kf * HI) - kf * LO;
    // Σ_{1≤k≤6} r^k/k! in Estrin's order (short dependency chains)
    let r2 = r * r;
    let r4 = r2 * r2;
    let p = (r + r2 * (0.5 + r * (1.0 / 6.0)))
        + r4 * ((1.0 / 24.0 + r * (1.0 / 120.0)) + r2 * (1.0 / 720.0));
    let scaled = EXP2_32[(k & 31) as usize].to_bits() as i64 + ((k >> 5) << 52);
    let s = f64::from_bits(scaled as u64);
    s + s * p
}

/// One unit's terms of a fused Newton pass: the log-likelihood without −ln y! and its
/// derivatives in (η₁, η₂), the Horvitz-Thompson contribution c = 1/(1 − P₀) with its
/// derivatives, and the unit's HT variance term P₀/(1 − P₀)².
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct UnitTerms {
    /// ℓ + ln y!.
    pub v: f64,
    /// ∂ℓ/∂η₁, ∂ℓ/∂η₂.
    pub g: [f64; 2],
    /// ∂²ℓ/∂η₁², ∂²ℓ/∂η₁∂η₂, ∂²ℓ/∂η₂².
    pub h: [f64; 3],
    /// c = 1/(1 − P₀).
    pub c: f64,
    /// ∂c/∂η₁, ∂c/∂η₂.
    pub cg: [f64; 2],
    /// P₀/(1 − P₀)².
    pub ht: f64,
}

/// [`ztpoisson`] with the HT terms, from λ = e^η and e^{−λ} (the caller computes the
/// exponentials in blocks); `v` leaves out −ln(1 − e^{−λ}), and 1 − e^{−λ} is returned
/// for the caller to take the logarithm of a product of many:
///
/// ```text
/// c = 1/(1 − e^{−λ}),  v = e^{−λ}/(1 − e^{−λ})²,  ∂c/∂η = −λv
/// ```
#[inline(always)]
pub(crate) fn ztpoisson_terms(y: u64, eta: f64, lam: f64, e: f64) -> (UnitTerms, f64) {
    let yf = y as f64;
    // 1 − e^{−λ} loses digits only for small λ, where expm1 keeps them
    let q = if lam < 0.25 {
        -(-lam).exp_m1()
    } else {
        1.0 - e
    };
    let iq = 1.0 / q;
    let m = lam * iq;
    let ht = e * iq * iq;
    let t = UnitTerms {
        v: yf * eta - lam,
        g: [yf - m, 0.0],
        h: [-(m - m * m * e), 0.0, 0.0],
        c: iq,
        cg: [-lam * ht, 0.0],
        ht,
    };
    (t, q)
}

/// [`ztnegbin`] with the HT terms, at a = 1/α = e^{−η₂} and the rising sums `r` of the
/// count (see there for ℓ and its derivatives):
///
/// ```text
/// c = 1/(1 − P₀),  v = P₀/(1 − P₀)²,  ∂c/∂ηₖ = −v·uₖ
/// ```
#[inline]
pub(crate) fn ztnegbin_terms(y: u64, e1: f64, e2: f64, a: f64, r: [f64; 3]) -> UnitTerms {
    let yf = y as f64;
    let s = e1 + e2;
    let e = exp(-s.abs());
    let ie = 1.0 / (1.0 + e);
    let (sg, omsg) = if s > 0.0 { (ie, e * ie) } else { (e * ie, ie) };
    let l = s.max(0.0) + e.ln_1p();
    let u = a * l;
    let q = -(-u).exp_m1(); // 1 − P₀
    let p0 = 1.0 - q;
    let iq = 1.0 / q;
    let ht = p0 * iq * iq;
    let (f1, f2) = (-p0 * iq, ht);
    let (u1, u2) = (a * sg, a * sg - a * l);
    let ss = sg * omsg;
    let c22 = -a * l + 2.0 * a * sg - a * ss;
    UnitTerms {
        v: r[0] + yf * (s - l) - u - q.ln(),
        g: [
            yf * omsg - a * sg + f1 * u1,
            -a * r[1] + yf * omsg + a * l - a * sg + f1 * u2,
        ],
        h: [
            -(yf + a) * ss + f2 * u1 * u1 + f1 * a * ss,
            -yf * ss + a * sg * sg + f2 * u1 * u2 - f1 * a * sg * sg,
            a * r[1] - a * a * r[2] - yf * ss + c22 + f2 * u2 * u2 - f1 * c22,
        ],
        c: iq,
        cg: [-ht * u1, -ht * u2],
        ht,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// The inlined exponential is within 2 ulp of the library's on and off its range.
    #[test]
    fn exp_is_within_two_ulp() {
        let mut x = -760.0;
        while x < 760.0 {
            for dx in [
                0.0,
                1e-300,
                3.7e-9,
                0.010830424696249145,
                0.3465735902799726,
            ] {
                for v in [x + dx, -(x + dx)] {
                    let (got, want) = (exp(v), v.exp());
                    let d = (got.to_bits() as i64 - want.to_bits() as i64).abs();
                    assert!(
                        d <= 2 || (got == want),
                        "exp({v:e}) = {got:e}, library {want:e}"
                    );
                }
            }
            x += 0.0137;
        }
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(0.0), 1.0);
    }

    /// The fused terms equal the kernels and `Family::contribution`.
    #[test]
    fn fused_terms_match_the_kernels() {
        for &y in &[1u64, 2, 5, 40] {
            for &e1 in &[-6.0, -1.3, 0.0, 0.4, 2.5, 6.0] {
                let lam = exp(e1);
                let (t, q) = ztpoisson_terms(y, e1, lam, exp(-lam));
                let k = ztpoisson(y, e1);
                let (c, v) = Family::ZtPoisson.contribution(y, D2::var(e1, 0), D2::var(0.0, 1));
                let lf = ln_factorial(y);
                assert!(close(t.v - q.ln() - lf, k.v) && close(t.g[0], k.g[0]));
                assert!(close(t.h[0], k.h[0]) && close(t.c, c.v) && close(t.ht, v));
                assert!(close(t.cg[0], c.g[0]), "{y} {e1}");
                for &e2 in &[-3.0f64, 0.0, 1.5] {
                    let a = (-e2).exp();
                    let t = ztnegbin_terms(y, e1, e2, a, rising(a, y));
                    let k = unit_loglik(Family::ZtNegBin, y, e1, e2, None);
                    let (c, v) = Family::ZtNegBin.contribution(y, D2::var(e1, 0), D2::var(e2, 1));
                    assert!(close(t.v - lf, k.v) && (0..2).all(|i| close(t.g[i], k.g[i])));
                    assert!((0..3).all(|i| close(t.h[i], k.h[i])));
                    assert!(close(t.c, c.v) && close(t.ht, v), "{y} {e1} {e2}");
                    assert!((0..2).all(|i| close(t.cg[i], c.g[i])), "{y} {e1} {e2}");
                }
            }
        }
    }

    /// The closed forms equal the dual-number log-likelihoods of `Family::loglik`.
    #[test]
    fn kernels_match_the_dual_numbers() {
        for fam in [Family::ZtPoisson, Family::ZtGeom, Family::ZtNegBin] {
            for &y in &[1u64, 2, 3, 7, 40, 65, 300] {
                for &e1 in &[-6.0, -1.3, 0.0, 0.4, 2.5, 35.0] {
                    for &e2 in &[-14.0, -2.0, 0.0, 0.7, 3.0] {
                        let want = fam.loglik(y, D2::var(e1, 0), D2::var(e2, 1));
                        if !want.h.iter().all(|v| v.is_finite()) {
                            continue; // (the dual numbers overflow where the kernels do not)
                        }
                        let a = (-e2).exp();
                        let t = Rising::new(a, 400).unwrap();
                        for got in [
                            unit_loglik(fam, y, e1, e2, None),
                            unit_loglik(fam, y, e1, e2, Some(&t)),
                        ] {
                            let n = if fam == Family::ZtNegBin { 2 } else { 1 };
                            let ok = close(got.v, want.v)
                                && (0..n).all(|k| close(got.g[k], want.g[k]))
                                && (0..2 * n - 1).all(|k| close(got.h[k], want.h[k]));
                            assert!(ok, "{fam} y={y} e1={e1} e2={e2}: {got:?} vs {want:?}");
                        }
                    }
                }
            }
        }
    }
}
