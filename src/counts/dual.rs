//! Second-order forward-mode dual numbers in two variables (the two linear predictors
//! of a count model), so that every family writes its log-likelihood once and gets exact
//! gradients and Hessians with respect to the linear predictors.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// A value with its gradient and Hessian with respect to two variables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct D2 {
    /// Value.
    pub v: f64,
    /// Gradient (∂/∂η₁, ∂/∂η₂).
    pub g: [f64; 2],
    /// Hessian (∂²/∂η₁², ∂²/∂η₁∂η₂, ∂²/∂η₂²).
    pub h: [f64; 3],
}

impl D2 {
    /// A constant.
    pub fn c(v: f64) -> Self {
        D2 {
            v,
            g: [0.0; 2],
            h: [0.0; 3],
        }
    }

    /// The variable `i` (0 or 1) at value `v`.
    pub fn var(v: f64, i: usize) -> Self {
        let mut g = [0.0; 2];
        g[i] = 1.0;
        D2 { v, g, h: [0.0; 3] }
    }

    /// Applies a scalar function with value `f`, first derivative `d1`, second `d2`.
    #[inline]
    pub fn chain(self, f: f64, d1: f64, d2: f64) -> Self {
        let g = self.g;
        D2 {
            v: f,
            g: [d1 * g[0], d1 * g[1]],
            h: [
                d1 * self.h[0] + d2 * g[0] * g[0],
                d1 * self.h[1] + d2 * g[0] * g[1],
                d1 * self.h[2] + d2 * g[1] * g[1],
            ],
        }
    }

    pub fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e, e)
    }

    pub fn ln(self) -> Self {
        let x = self.v;
        self.chain(x.ln(), 1.0 / x, -1.0 / (x * x))
    }

    /// ln(1 + eˣ), computed stably.
    pub fn softplus(self) -> Self {
        let x = self.v;
        let f = if x > 30.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        };
        let s = 1.0 / (1.0 + (-x).exp());
        self.chain(f, s, s * (1.0 - s))
    }

    /// The logistic function 1 / (1 + e⁻ˣ).
    pub fn logistic(self) -> Self {
        let x = self.v;
        let s = 1.0 / (1.0 + (-x).exp());
        self.chain(s, s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s))
    }

    /// ln(1 − e⁻ˣ) for x > 0, computed stably.
    pub fn log1mexp(self) -> Self {
        let x = self.v;
        let f = if x < std::f64::consts::LN_2 {
            (-(-x).exp_m1()).ln()
        } else {
            (-(-x).exp()).ln_1p()
        };
        // f' = 1/(eˣ − 1), f'' = −eˣ/(eˣ − 1)²
        let em1 = x.exp_m1();
        let d1 = 1.0 / em1;
        let d2 = -(x.exp()) / (em1 * em1);
        self.chain(f, d1, d2)
    }

    /// ln(1 − e⁻ˣ(1 + x)) for x > 0: the log of P(Y ≥ 2) under Poisson(x), with a series
    /// for small x.
    pub fn log_p_ge2_pois(self) -> Self {
        let x = self.v;
        let q = if x < 0.05 {
            // Σ_{k≥2} (−1)^k (k−1) x^k / k!
            let mut term = x * x / 2.0; // k = 2
            let mut s = term;
            for k in 3..20 {
                term *= -x / k as f64;
                s += term * (k - 1) as f64;
            }
            s
        } else {
            -(-x).exp_m1() - x * (-x).exp()
        };
        let e = (-x).exp();
        let q1 = x * e;
        let q2 = (1.0 - x) * e;
        self.chain(q.ln(), q1 / q, q2 / q - (q1 / q) * (q1 / q))
    }
}

impl Add for D2 {
    type Output = D2;
    #[inline]
    fn add(self, o: D2) -> D2 {
        D2 {
            v: self.v + o.v,
            g: [self.g[0] + o.g[0], self.g[1] + o.g[1]],
            h: [self.h[0] + o.h[0], self.h[1] + o.h[1], self.h[2] + o.h[2]],
        }
    }
}

impl Sub for D2 {
    type Output = D2;
    #[inline]
    fn sub(self, o: D2) -> D2 {
        self + (-o)
    }
}

impl Neg for D2 {
    type Output = D2;
    #[inline]
    fn neg(self) -> D2 {
        D2 {
            v: -self.v,
            g: [-self.g[0], -self.g[1]],
            h: [-self.h[0], -self.h[1], -self.h[2]],
        }
    }
}

impl Mul for D2 {
    type Output = D2;
    #[inline]
    fn mul(self, o: D2) -> D2 {
        let (a, b) = (self, o);
        D2 {
            v: a.v * b.v,
            g: [a.v * b.g[0] + b.v * a.g[0], a.v * b.g[1] + b.v * a.g[1]],
            h: [
                a.v * b.h[0] + b.v * a.h[0] + 2.0 * a.g[0] * b.g[0],
                a.v * b.h[1] + b.v * a.h[1] + a.g[0] * b.g[1] + a.g[1] * b.g[0],
                a.v * b.h[2] + b.v * a.h[2] + 2.0 * a.g[1] * b.g[1],
            ],
        }
    }
}

impl Div for D2 {
    type Output = D2;
    #[inline]
    fn div(self, o: D2) -> D2 {
        let x = o.v;
        self * o.chain(1.0 / x, -1.0 / (x * x), 2.0 / (x * x * x))
    }
}

impl Add<f64> for D2 {
    type Output = D2;
    #[inline]
    fn add(mut self, o: f64) -> D2 {
        self.v += o;
        self
    }
}

impl Sub<f64> for D2 {
    type Output = D2;
    #[inline]
    fn sub(mut self, o: f64) -> D2 {
        self.v -= o;
        self
    }
}

impl Mul<f64> for D2 {
    type Output = D2;
    #[inline]
    fn mul(self, o: f64) -> D2 {
        D2 {
            v: self.v * o,
            g: [self.g[0] * o, self.g[1] * o],
            h: [self.h[0] * o, self.h[1] * o, self.h[2] * o],
        }
    }
}

impl Sub<D2> for f64 {
    type Output = D2;
    #[inline]
    fn sub(self, o: D2) -> D2 {
        -o + self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(f: impl Fn(f64, f64) -> f64, a: f64, b: f64) -> [f64; 5] {
        let h = 1e-4;
        [
            f(a, b),
            (f(a + h, b) - f(a - h, b)) / (2.0 * h),
            (f(a, b + h) - f(a, b - h)) / (2.0 * h),
            (f(a + h, b) - 2.0 * f(a, b) + f(a - h, b)) / (h * h),
            (f(a + h, b + h) - f(a + h, b - h) - f(a - h, b + h) + f(a - h, b - h)) / (4.0 * h * h),
        ]
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let f = |a: D2, b: D2| {
            (a.exp() * b.logistic() + a.softplus()).ln() - (a.exp() + b.exp()).log1mexp()
                + a.exp().log_p_ge2_pois() / (b * b + 1.0)
        };
        let (x, y) = (0.3, -0.7);
        let d = f(D2::var(x, 0), D2::var(y, 1));
        let n = num(|a, b| f(D2::c(a), D2::c(b)).v, x, y);
        assert!((d.v - n[0]).abs() < 1e-12);
        assert!((d.g[0] - n[1]).abs() < 1e-6);
        assert!((d.g[1] - n[2]).abs() < 1e-6);
        assert!((d.h[0] - n[3]).abs() < 1e-4);
        assert!((d.h[1] - n[4]).abs() < 1e-4);
        let small = D2::var(0.01, 0).log_p_ge2_pois().v;
        let direct = (1.0 - (-0.01f64).exp() * 1.01).ln();
        assert!((small - direct).abs() < 1e-8);
    }
}
