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
    fn get(&self, a: f64, y: u64) -> [f64; 3] {
        match self.r.get(y as usize) {
            Some(v) if a == self.a => *v,
            _ => rising(a, y),
        }
    }
}

/// R₀, R₁, R₂ of [`Rising`] for one unit: summed for small counts, from ln Γ, ψ and ψ′
/// otherwise.
fn rising(a: f64, y: u64) -> [f64; 3] {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
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
