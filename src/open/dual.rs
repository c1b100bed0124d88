//! Forward-mode dual numbers with a gradient vector, for delta-method (linearisation)
//! standard errors of the demographic parameters derived from log-linear coefficients.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// A value with its gradient with respect to the coefficient vector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dual {
    pub v: f64,
    pub g: Vec<f64>,
}

impl Dual {
    /// A constant (zero gradient) in a space of dimension `p`.
    pub fn cst(v: f64, p: usize) -> Self {
        Dual { v, g: vec![0.0; p] }
    }

    /// The coefficient `i` itself (unit gradient).
    pub fn var(v: f64, i: usize, p: usize) -> Self {
        let mut g = vec![0.0; p];
        g[i] = 1.0;
        Dual { v, g }
    }

    pub fn exp(&self) -> Self {
        let e = self.v.exp();
        Dual {
            v: e,
            g: self.g.iter().map(|d| d * e).collect(),
        }
    }

    pub fn ln(&self) -> Self {
        let inv = 1.0 / self.v;
        Dual {
            v: self.v.ln(),
            g: self.g.iter().map(|d| d * inv).collect(),
        }
    }

    /// ln Γ(x).
    pub fn ln_gamma(&self) -> Self {
        let dg = statrs::function::gamma::digamma(self.v);
        Dual {
            v: statrs::function::gamma::ln_gamma(self.v),
            g: self.g.iter().map(|d| d * dg).collect(),
        }
    }

    /// Logistic function 1 / (1 + e^{−x}).
    pub fn expit(&self) -> Self {
        let e = 1.0 / (1.0 + (-self.v).exp());
        let d = e * (1.0 - e);
        Dual {
            v: e,
            g: self.g.iter().map(|x| x * d).collect(),
        }
    }

    pub fn scale(&self, c: f64) -> Self {
        Dual {
            v: self.v * c,
            g: self.g.iter().map(|d| d * c).collect(),
        }
    }

    pub fn add_c(&self, c: f64) -> Self {
        Dual {
            v: self.v + c,
            g: self.g.clone(),
        }
    }

    /// 1 − x.
    pub fn one_minus(&self) -> Self {
        Dual {
            v: 1.0 - self.v,
            g: self.g.iter().map(|d| -d).collect(),
        }
    }

    /// Linearised variance gᵀ V g.
    pub fn variance(&self, cov: &nalgebra::DMatrix<f64>) -> f64 {
        let p = self.g.len();
        let mut s = 0.0;
        for a in 0..p {
            let ga = self.g[a];
            if ga == 0.0 {
                continue;
            }
            let mut r = 0.0;
            for b in 0..p {
                r += cov[(a, b)] * self.g[b];
            }
            s += ga * r;
        }
        s
    }

    pub fn sum(items: &[Dual], p: usize) -> Dual {
        let mut out = Dual::cst(0.0, p);
        for d in items {
            out.add_assign(d);
        }
        out
    }

    pub fn prod(items: &[Dual], p: usize) -> Dual {
        let mut out = Dual::cst(1.0, p);
        for d in items {
            out.mul_assign(d);
        }
        out
    }

    // In-place forms of the operations: each entry rounded as by the operator or
    // method of the same name (`a.mul_assign(b)` gives `&a * b` bit for bit), without
    // a new gradient vector.

    /// self = self + o.
    pub fn add_assign(&mut self, o: &Dual) {
        for (a, b) in self.g.iter_mut().zip(&o.g) {
            *a += b;
        }
        self.v += o.v;
    }

    /// self = self · o.
    pub fn mul_assign(&mut self, o: &Dual) {
        let sv = self.v;
        for (a, b) in self.g.iter_mut().zip(&o.g) {
            *a = *a * o.v + sv * b;
        }
        self.v = sv * o.v;
    }

    /// self = l · self.
    pub fn lmul_assign(&mut self, l: &Dual) {
        let ov = self.v;
        for (b, a) in self.g.iter_mut().zip(&l.g) {
            *b = a * ov + l.v * *b;
        }
        self.v = l.v * ov;
    }

    /// self = self / o.
    pub fn div_assign(&mut self, o: &Dual) {
        let inv = 1.0 / o.v;
        let q = self.v * inv;
        for (a, b) in self.g.iter_mut().zip(&o.g) {
            *a = (*a - q * b) * inv;
        }
        self.v = q;
    }

    /// self = num / self.
    pub fn rdiv_assign(&mut self, num: &Dual) {
        let inv = 1.0 / self.v;
        let q = num.v * inv;
        for (b, a) in self.g.iter_mut().zip(&num.g) {
            *b = (a - q * *b) * inv;
        }
        self.v = q;
    }

    /// self = e^self.
    pub fn exp_assign(&mut self) {
        let e = self.v.exp();
        for d in &mut self.g {
            *d *= e;
        }
        self.v = e;
    }

    /// self = c · self.
    pub fn scale_assign(&mut self, c: f64) {
        for d in &mut self.g {
            *d *= c;
        }
        self.v *= c;
    }

    /// self = self + c.
    pub fn add_c_assign(&mut self, c: f64) {
        self.v += c;
    }

    /// self = 1 − self.
    pub fn one_minus_assign(&mut self) {
        for d in &mut self.g {
            *d = -*d;
        }
        self.v = 1.0 - self.v;
    }
}

impl Add for &Dual {
    type Output = Dual;
    fn add(self, o: &Dual) -> Dual {
        Dual {
            v: self.v + o.v,
            g: self.g.iter().zip(&o.g).map(|(a, b)| a + b).collect(),
        }
    }
}

impl Sub for &Dual {
    type Output = Dual;
    fn sub(self, o: &Dual) -> Dual {
        Dual {
            v: self.v - o.v,
            g: self.g.iter().zip(&o.g).map(|(a, b)| a - b).collect(),
        }
    }
}

#[allow(clippy::suspicious_arithmetic_impl)]
impl Mul for &Dual {
    type Output = Dual;
    fn mul(self, o: &Dual) -> Dual {
        Dual {
            v: self.v * o.v,
            g: self
                .g
                .iter()
                .zip(&o.g)
                .map(|(a, b)| a * o.v + self.v * b)
                .collect(),
        }
    }
}

impl Div for &Dual {
    type Output = Dual;
    fn div(self, o: &Dual) -> Dual {
        let inv = 1.0 / o.v;
        let q = self.v * inv;
        Dual {
            v: q,
            g: self
                .g
                .iter()
                .zip(&o.g)
                .map(|(a, b)| (a - q * b) * inv)
                .collect(),
        }
    }
}

impl Neg for &Dual {
    type Output = Dual;
    fn neg(self) -> Dual {
        self.scale(-1.0)
    }
}
