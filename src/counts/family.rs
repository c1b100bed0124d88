//! The count-model families, each written once as a per-unit log-likelihood in the two
//! linear predictors, a Horvitz-Thompson contribution and its variance term.

use super::dual::D2;
use serde::{Deserialize, Serialize};
use statrs::function::gamma::{digamma, ln_gamma as statrs_ln_gamma};
use std::sync::OnceLock;

/// ln y!.
#[inline]
pub(crate) fn ln_factorial(y: u64) -> f64 {
    ln_gamma(y as f64 + 1.0)
}

/// ln Γ(x) with a table for the integer arguments 1..=1024 (ln k! of the counts).
fn ln_gamma(x: f64) -> f64 {
    static T: OnceLock<Vec<f64>> = OnceLock::new();
    if (1.0..=1024.0).contains(&x) && x.fract() == 0.0 {
        let t = T.get_or_init(|| (0..=1024).map(|k| statrs_ln_gamma(k as f64)).collect());
        t[x as usize]
    } else {
        statrs_ln_gamma(x)
    }
}

/// Above this count, Σ_{j<y} ln(a + j) is taken as ln Γ(a + y) − ln Γ(a) rather than
/// summed term by term (which costs y per unit and per iteration).
const NB_SUM_DIRECT: u64 = 64;

/// Trigamma ψ′(x) for x > 0: recurrence up to x ≥ 6, then the asymptotic series.
pub(crate) fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 6.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    // 1/x + 1/(2x²) + 1/(6x³) − 1/(30x⁵) + 1/(42x⁷) − 1/(30x⁹)
    acc + 1.0 / x
        + x2 / 2.0
        + (1.0 / 6.0 - (1.0 / 30.0 - (1.0 / 42.0 - x2 / 30.0) * x2) * x2) * x2 / x
}

/// Σ_{j=0}^{y−1} ln(a + j) = ln Γ(a + y) − ln Γ(a), as a function of `a`, in O(1).
fn ln_rising(a: D2, y: u64) -> D2 {
    let (av, yf) = (a.v, y as f64);
    a.chain(
        statrs_ln_gamma(av + yf) - statrs_ln_gamma(av),
        digamma(av + yf) - digamma(av),
        trigamma(av + yf) - trigamma(av),
    )
}

/// A single-source count model, labelled as singleRcapture's family functions.
///
/// ```text
/// λ = exp(η₁) (Chao, Zelterman: λ = 2·exp(η₁)),  α = exp(η₂),  ω = 1/(1 + exp(−η₂))
/// ztpoisson    P(y) = Pois(y; λ)/(1 − e^{−λ})
/// ztgeom       P(y) = λ^y/(1+λ)^{y+1} / (λ/(1+λ))
/// ztnegbin     P(y) = NB2(y; λ, α)/(1 − (1+αλ)^{−1/α})
/// zot*         the same on y ≥ 2, divided by 1 − P(0) − P(1)
/// ztoi*        P(1) = ω + (1−ω)·P_zt(1),  P(y) = (1−ω)·P_zt(y), y ≥ 2
/// oizt*        P(y) = (ω·1[y=1] + (1−ω)·P(y)) / (1 − (1−ω)·P(0))
/// zelterman    logistic regression of 1[y=2] on units with y ∈ {1,2}, λ/2 = e^{η}
/// chao         the same fit; N̂ = Σ 1 + 1[y∈{1,2}]/(λ + λ²/2)
/// ztHurdle*    P(1) = π,  P(y) = (1−π)·P(y)/(1 − P(0) − P(1)), y ≥ 2   (π = logistic(η₂))
/// Hurdlezt*    P(1) = π(1 − P(1))/D,  P(y) = (1−π)P(y)/D,  D = 1 − (1−π)P(0) − P(1)
/// ```
/// # References
/// singleRcapture 0.2.3, `ztpoisson()`, `ztnegbin()`, `ztgeom()`, `zot*()`, `ztoi*()`,
/// `oizt*()`, `zelterman()`, `chao()`; Böhning & van der Heijden (2009); Böhning et al.
/// (2013) Biometrics 69, 1033-1042; Böhning & van der Heijden (2019).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    /// Zero-truncated Poisson.
    ZtPoisson,
    /// Zero-truncated negative binomial (NB2), dispersion α with its own predictor.
    ZtNegBin,
    /// Zero-truncated geometric.
    ZtGeom,
    /// Zero-one-truncated Poisson.
    ZotPoisson,
    /// Zero-one-truncated negative binomial.
    ZotNegBin,
    /// Zero-one-truncated geometric.
    ZotGeom,
    /// Zero-truncated one-inflated Poisson.
    ZtoiPoisson,
    /// One-inflated zero-truncated Poisson.
    OiztPoisson,
    /// Zero-truncated one-inflated geometric.
    ZtoiGeom,
    /// One-inflated zero-truncated geometric.
    OiztGeom,
    /// Zelterman's estimator with covariates.
    Zelterman,
    /// Chao's lower bound with covariates.
    Chao,
    /// Zero-truncated hurdle Poisson: P(y = 1) = π, counts ≥ 2 zero-one-truncated Poisson.
    ZtHurdlePoisson,
    /// Zero-truncated hurdle geometric.
    ZtHurdleGeom,
    /// Hurdle zero-truncated Poisson: the hurdle at 1 placed before the zero truncation.
    HurdleZtPoisson,
    /// Hurdle zero-truncated geometric.
    HurdleZtGeom,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    Poisson,
    Geom,
    NegBin,
}

impl Family {
    /// Every family, in the order reports list them.
    pub const ALL: [Family; 16] = [
        Family::ZtPoisson,
        Family::ZtNegBin,
        Family::ZtGeom,
        Family::ZotPoisson,
        Family::ZotNegBin,
        Family::ZotGeom,
        Family::ZtoiPoisson,
        Family::OiztPoisson,
        Family::ZtoiGeom,
        Family::OiztGeom,
        Family::Zelterman,
        Family::Chao,
        Family::ZtHurdlePoisson,
        Family::ZtHurdleGeom,
        Family::HurdleZtPoisson,
        Family::HurdleZtGeom,
    ];

    /// singleRcapture's family name.
    pub fn label(self) -> &'static str {
        match self {
            Family::ZtPoisson => "ztpoisson",
            Family::ZtNegBin => "ztnegbin",
            Family::ZtGeom => "ztgeom",
            Family::ZotPoisson => "zotpoisson",
            Family::ZotNegBin => "zotnegbin",
            Family::ZotGeom => "zotgeom",
            Family::ZtoiPoisson => "ztoipoisson",
            Family::OiztPoisson => "oiztpoisson",
            Family::ZtoiGeom => "ztoigeom",
            Family::OiztGeom => "oiztgeom",
            Family::Zelterman => "zelterman",
            Family::Chao => "chao",
            Family::ZtHurdlePoisson => "ztHurdlepoisson",
            Family::ZtHurdleGeom => "ztHurdlegeom",
            Family::HurdleZtPoisson => "Hurdleztpoisson",
            Family::HurdleZtGeom => "Hurdleztgeom",
        }
    }

    /// Parses a singleRcapture family name.
    pub fn from_label(s: &str) -> Option<Family> {
        Family::ALL.iter().copied().find(|f| f.label() == s)
    }

    fn base(self) -> Base {
        use Family::*;
        match self {
            ZtPoisson | ZotPoisson | ZtoiPoisson | OiztPoisson | Zelterman | Chao
            | ZtHurdlePoisson | HurdleZtPoisson => Base::Poisson,
            ZtGeom | ZotGeom | ZtoiGeom | OiztGeom | ZtHurdleGeom | HurdleZtGeom => Base::Geom,
            ZtNegBin | ZotNegBin => Base::NegBin,
        }
    }

    /// Name of the second linear predictor (`alpha`, `omega`), if the family has one.
    pub fn second_parameter(self) -> Option<&'static str> {
        use Family::*;
        match self {
            ZtNegBin | ZotNegBin => Some("alpha"),
            ZtoiPoisson | OiztPoisson | ZtoiGeom | OiztGeom => Some("omega"),
            ZtHurdlePoisson | ZtHurdleGeom | HurdleZtPoisson | HurdleZtGeom => Some("pi"),
            _ => None,
        }
    }

    /// Whether a unit with count `y` enters the likelihood.
    pub fn uses(self, y: u64) -> bool {
        use Family::*;
        match self {
            Zelterman | Chao => y == 1 || y == 2,
            ZotPoisson | ZotNegBin | ZotGeom => y >= 2,
            _ => true,
        }
    }

    fn one_inflation(self) -> u8 {
        use Family::*;
        match self {
            ZtoiPoisson | ZtoiGeom => 1,
            OiztPoisson | OiztGeom => 2,
            _ => 0,
        }
    }

    fn zot(self) -> bool {
        matches!(
            self,
            Family::ZotPoisson | Family::ZotNegBin | Family::ZotGeom
        )
    }

    /// λ as a dual number.
    fn lambda(self, e1: D2) -> D2 {
        match self {
            Family::Zelterman | Family::Chao => (e1 + std::f64::consts::LN_2).exp(),
            _ => e1.exp(),
        }
    }

    /// ln P(0) of the base (untruncated) distribution, and ln P(1).
    fn base_log_p01(self, e1: D2, e2: D2) -> (D2, D2) {
        let lam = self.lambda(e1);
        match self.base() {
            Base::Poisson => (-lam, e1 - lam),
            Base::Geom => {
                let sp = e1.softplus(); // ln(1+λ)
                (-sp, e1 - sp * 2.0)
            }
            Base::NegBin => {
                // a = 1/α, ln(1+αλ) = softplus(η₁+η₂)
                let a = (-e2).exp();
                let l1 = (e1 + e2).softplus();
                let lp0 = -(a * l1);
                (lp0, lp0 + e1 - l1)
            }
        }
    }

    /// ln P(y) of the base distribution (y ≥ 0).
    fn base_log_p(self, y: u64, e1: D2, e2: D2) -> D2 {
        let yf = y as f64;
        match self.base() {
            Base::Poisson => {
                let lam = self.lambda(e1);
                let le = match self {
                    Family::Zelterman | Family::Chao => e1 + std::f64::consts::LN_2,
                    _ => e1,
                };
                le * yf - lam - ln_gamma(yf + 1.0)
            }
            Base::Geom => e1 * yf - e1.softplus() * (yf + 1.0),
            Base::NegBin => {
                let a = (-e2).exp();
                let l1 = (e1 + e2).softplus();
                let mut s = D2::c(-ln_gamma(yf + 1.0));
                if y <= NB_SUM_DIRECT {
                    for j in 0..y {
                        s = s + (a + j as f64).ln();
                    }
                } else {
                    s = s + ln_rising(a, y);
                }
                s + (e1 + e2) * yf - l1 * yf - a * l1
            }
        }
    }

    /// ln(1 − P(0)) of the base distribution.
    fn base_log_1mp0(self, e1: D2, e2: D2) -> D2 {
        match self.base() {
            Base::Poisson => self.lambda(e1).log1mexp(),
            Base::Geom => e1 - e1.softplus(),
            Base::NegBin => {
                let a = (-e2).exp();
                (a * (e1 + e2).softplus()).log1mexp()
            }
        }
    }

    /// ln(1 − P(0) − P(1)) of the base distribution.
    fn base_log_1mp01(self, e1: D2, e2: D2) -> D2 {
        match self.base() {
            Base::Poisson => self.lambda(e1).log_p_ge2_pois(),
            Base::Geom => (e1 - e1.softplus()) * 2.0,
            Base::NegBin => {
                let (l0, l1) = self.base_log_p01(e1, e2);
                (1.0 - l0.exp() - l1.exp()).ln()
            }
        }
    }

    /// Per-unit log-likelihood (with constants) in the linear predictors.
    pub(crate) fn loglik(self, y: u64, e1: D2, e2: D2) -> D2 {
        use Family::*;
        match self {
            Zelterman | Chao => {
                // P(y = 2 | y ∈ {1,2}) = (λ/2)/(1 + λ/2) = logistic(η)
                if y == 2 {
                    e1 - e1.softplus()
                } else {
                    -e1.softplus()
                }
            }
            ZtPoisson | ZtGeom | ZtNegBin => {
                self.base_log_p(y, e1, e2) - self.base_log_1mp0(e1, e2)
            }
            ZotPoisson | ZotGeom | ZotNegBin => {
                self.base_log_p(y, e1, e2) - self.base_log_1mp01(e1, e2)
            }
            ZtoiPoisson | ZtoiGeom => {
                let om = e2.logistic();
                let pzt = self.base_log_p(y, e1, e2) - self.base_log_1mp0(e1, e2);
                if y == 1 {
                    (om + (1.0 - om) * pzt.exp()).ln()
                } else {
                    (-e2.softplus()) + pzt
                }
            }
            ZtHurdlePoisson | ZtHurdleGeom => {
                if y == 1 {
                    e2 - e2.softplus()
                } else {
                    (-e2.softplus()) + self.base_log_p(y, e1, e2) - self.base_log_1mp01(e1, e2)
                }
            }
            HurdleZtPoisson | HurdleZtGeom => {
                let pi = e2.logistic();
                let (lp0, lp1) = self.base_log_p01(e1, e2);
                let denom = (1.0 - (1.0 - pi) * lp0.exp() - lp1.exp()).ln();
                if y == 1 {
                    (e2 - e2.softplus()) + (1.0 - lp1.exp()).ln() - denom
                } else {
                    (-e2.softplus()) + self.base_log_p(y, e1, e2) - denom
                }
            }
            OiztPoisson | OiztGeom => {
                let om = e2.logistic();
                let (lp0, _) = self.base_log_p01(e1, e2);
                let denom = (1.0 - (1.0 - om) * lp0.exp()).ln();
                let lp = self.base_log_p(y, e1, e2);
                if y == 1 {
                    (om + (1.0 - om) * lp.exp()).ln() - denom
                } else {
                    (-e2.softplus()) + lp - denom
                }
            }
        }
    }

    /// P(0) of the model (the probability of never being recorded), as a dual.
    fn p0(self, e1: D2, e2: D2) -> D2 {
        let (lp0, lp1) = self.base_log_p01(e1, e2);
        if matches!(self, Family::HurdleZtPoisson | Family::HurdleZtGeom) {
            return (1.0 - e2.logistic()) * lp0.exp() / (1.0 - lp1.exp());
        }
        if matches!(self, Family::ZtHurdlePoisson | Family::ZtHurdleGeom) {
            return lp0.exp() / (1.0 - lp1.exp());
        }
        if self.one_inflation() == 2 {
            (1.0 - e2.logistic()) * lp0.exp()
        } else {
            lp0.exp()
        }
    }

    /// Horvitz-Thompson contribution of one unit with count `y` (dual: value and
    /// derivatives in η), and the unit's term of the "HT" part of Var(N̂).
    pub(crate) fn contribution(self, y: u64, e1: D2, e2: D2) -> (D2, f64) {
        use Family::*;
        match self {
            Chao => {
                if y == 1 || y == 2 {
                    let lam = self.lambda(e1);
                    let d = lam + lam * lam * 0.5;
                    let c = D2::c(1.0) + D2::c(1.0) / d;
                    let l = lam.v;
                    let prob = (-l).exp() * (l + l * l / 2.0);
                    let t = 1.0 + (-l).exp() / prob;
                    (c, (1.0 - prob) * t * t)
                } else {
                    (D2::c(1.0), 0.0)
                }
            }
            _ if self.zot() => {
                if y >= 2 {
                    let (l0, l1) = self.base_log_p01(e1, e2);
                    let (p0, p1) = (l0.exp(), l1.exp());
                    let q = self.base_log_1mp01(e1, e2).exp();
                    let c = (1.0 - p1) / q;
                    let f2 = (1.0 - p1.v).powi(2) * (p0.v + p1.v) / (q.v * q.v);
                    (c, f2)
                } else {
                    (D2::c(1.0), 0.0)
                }
            }
            ZtHurdlePoisson | ZtHurdleGeom => {
                // c = (1 − P1)/(1 − P0 − P1), v = (1 − P1)·P0/(1 − P0 − P1)²
                let (l0, l1) = self.base_log_p01(e1, e2);
                let (p0, p1) = (l0.exp(), l1.exp());
                let q = self.base_log_1mp01(e1, e2).exp();
                ((1.0 - p1) / q, (1.0 - p1.v) * p0.v / (q.v * q.v))
            }
            OiztGeom => {
                let p0 = self.p0(e1, e2);
                let c = D2::c(1.0) / (1.0 - p0);
                // singleRcapture 0.2.3 `oiztgeom()$popVar` uses (1 − ω)/(λ + ω) for the
                // HT term (not P0/(1 − P0)²); kept to match its figures.
                let (lam, om) = (self.lambda(e1).v, e2.logistic().v);
                (c, (1.0 - om) / (lam + om))
            }
            _ => {
                let p0 = self.p0(e1, e2);
                let p = if self.one_inflation() == 2
                    || matches!(self, Family::HurdleZtPoisson | Family::HurdleZtGeom)
                {
                    1.0 - p0
                } else {
                    self.base_log_1mp0(e1, e2).exp()
                };
                let c = D2::c(1.0) / p;
                (c, p0.v / (p.v * p.v))
            }
        }
    }

    /// Zero-truncated probability of count `k ≥ 1` (the model's distribution of the
    /// observed counts; for Chao and Zelterman the zero-truncated Poisson, for zot*
    /// models the zero-one-truncated distribution on k ≥ 2), as `marginalFreq` uses.
    pub(crate) fn observed_pmf(self, k: u64, eta1: f64, eta2: f64) -> f64 {
        let (e1, e2) = (D2::c(eta1), D2::c(eta2));
        use Family::*;
        match self {
            Zelterman | Chao => (self.base_log_p(k, e1, e2) - self.base_log_1mp0(e1, e2))
                .v
                .exp(),
            _ if self.zot() => {
                if k < 2 {
                    0.0
                } else {
                    self.loglik(k, e1, e2).v.exp()
                }
            }
            _ => self.loglik(k, e1, e2).v.exp(),
        }
    }

    /// [`Family::observed_pmf`] for every count `k = 1..out.len()` at once (`out[0]` is
    /// set to 0), by the base distribution's recurrence rather than one log-likelihood
    /// per count:
    ///
    /// ```text
    /// Poisson  P(k) = P(k−1)·λ/k,   geometric  P(k) = P(k−1)·σ,
    /// NB2      P(k) = P(k−1)·(a + k − 1)/k·σ    (σ = αμ/(1 + αμ), a = 1/α)
    /// ```
    /// then the family's truncation and inflation in closed form. Returns `false`
    /// (leaving `out` unspecified) where the recurrence could lose digits (λ below 10⁻³,
    /// or for zero-one truncation below 0.05; P(0) below e^{−500}); the caller then
    /// uses [`Family::observed_pmf`] per count.
    pub(crate) fn observed_pmfs(self, eta1: f64, eta2: f64, out: &mut [f64]) -> bool {
        use Family::*;
        let Some(kmax) = out.len().checked_sub(1) else {
            return true;
        };
        let zot_like = self.zot() || matches!(self, ZtHurdlePoisson | ZtHurdleGeom);
        let lo = if zot_like { 0.05 } else { 1e-3 };
        // base P(0), 1 − P(0), 1 − P(0) − P(1), and the recurrence
        let (p0, q0, q01);
        match self.base() {
            Base::Poisson => {
                let lam = self.lambda(D2::c(eta1)).v;
                if !(lo..=500.0).contains(&lam) {
                    return false;
                }
                p0 = (-lam).exp();
                q0 = -(-lam).exp_m1();
                q01 = q0 - lam * p0;
                out[0] = p0;
                for k in 1..=kmax {
                    out[k] = out[k - 1] * (lam / k as f64);
                }
            }
            Base::Geom => {
                let lam = eta1.exp();
                if !(lo..=1e12).contains(&lam) {
                    return false;
                }
                let sg = lam / (1.0 + lam);
                p0 = 1.0 / (1.0 + lam);
                q0 = sg;
                q01 = sg * sg;
                out[0] = p0;
                for k in 1..=kmax {
                    out[k] = out[k - 1] * sg;
                }
            }
            Base::NegBin => {
                let a = (-eta2).exp();
                let am = (eta1 + eta2).exp();
                let u = a * am.ln_1p();
                if !(a.is_finite() && am.is_finite() && a > 0.0 && (lo..=500.0).contains(&u)) {
                    return false;
                }
                let sg = am / (1.0 + am);
                p0 = (-u).exp();
                q0 = -(-u).exp_m1();
                out[0] = p0;
                for k in 1..=kmax {
                    out[k] = out[k - 1] * ((a + (k - 1) as f64) / k as f64 * sg);
                }
                let p1 = if kmax >= 1 { out[1] } else { p0 * a * sg };
                q01 = 1.0 - p0 - p1;
            }
        }
        let p1 = if kmax >= 1 { out[1] } else { 0.0 };
        let logistic = |x: f64| 1.0 / (1.0 + (-x).exp());
        match self {
            Zelterman | Chao | ZtPoisson | ZtGeom | ZtNegBin => {
                let r = 1.0 / q0;
                for v in out.iter_mut() {
                    *v *= r;
                }
            }
            _ if self.zot() => {
                out.iter_mut().take(2).for_each(|v| *v = 0.0);
                let r = 1.0 / q01;
                for v in out.iter_mut().skip(2) {
                    *v *= r;
                }
            }
            ZtoiPoisson | ZtoiGeom => {
                let om = logistic(eta2);
                let r = (1.0 - om) / q0;
                for v in out.iter_mut() {
                    *v *= r;
                }
                if kmax >= 1 {
                    out[1] += om;
                }
            }
            OiztPoisson | OiztGeom => {
                let om = logistic(eta2);
                let d = 1.0 - (1.0 - om) * p0;
                let r = (1.0 - om) / d;
                for v in out.iter_mut() {
                    *v *= r;
                }
                if kmax >= 1 {
                    out[1] += om / d;
                }
            }
            ZtHurdlePoisson | ZtHurdleGeom => {
                let pi = logistic(eta2);
                let r = (1.0 - pi) / q01;
                for v in out.iter_mut().skip(2) {
                    *v *= r;
                }
                if kmax >= 1 {
                    out[1] = pi;
                }
            }
            HurdleZtPoisson | HurdleZtGeom => {
                let pi = logistic(eta2);
                let d = 1.0 - (1.0 - pi) * p0 - p1;
                let r = (1.0 - pi) / d;
                for v in out.iter_mut().skip(2) {
                    *v *= r;
                }
                if kmax >= 1 {
                    out[1] = pi * (1.0 - p1) / d;
                }
            }
            _ => return false,
        }
        out[0] = 0.0;
        true
    }

    /// Probability of count `k ≥ 0` in the whole population (used to simulate
    /// populations in the parametric bootstrap): P(0) from the model, then the
    /// zero-truncated distribution scaled by 1 − P(0).
    pub(crate) fn population_pmf(self, k: u64, eta1: f64, eta2: f64) -> f64 {
        let (e1, e2) = (D2::c(eta1), D2::c(eta2));
        let p0 = match self {
            Family::Chao | Family::Zelterman => (-self.lambda(e1).v).exp(),
            _ => self.p0(e1, e2).v,
        };
        if k == 0 {
            return p0;
        }
        let zt = match self {
            Family::Chao | Family::Zelterman => (self.base_log_p(k, e1, e2)
                - self.base_log_1mp0(e1, e2))
            .v
            .exp(),
            _ if self.zot() => (self.base_log_p(k, e1, e2) - self.base_log_1mp0(e1, e2))
                .v
                .exp(),
            _ => self.loglik(k, e1, e2).v.exp(),
        };
        (1.0 - p0) * zt
    }

    /// Default starting value of the second predictor's intercept.
    pub(crate) fn start_second(self) -> f64 {
        match self.second_parameter() {
            Some("alpha") => 0.0,
            Some("pi") => 0.0,
            Some(_) => -1.0,
            None => 0.0,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod rising_tests {
    use super::*;

    #[test]
    fn observed_pmfs_match_one_count_at_a_time() {
        let mut buf = vec![0.0; 31];
        let mut fast = 0;
        for fam in Family::ALL {
            for &e1 in &[-7.5, -3.0, -1.2, -0.3, 0.0, 0.8, 2.0, 4.5, 6.5] {
                for &e2 in &[-14.0, -3.0, -0.7, 0.0, 1.1, 4.0] {
                    if !fam.observed_pmfs(e1, e2, &mut buf) {
                        continue;
                    }
                    fast += 1;
                    assert_eq!(buf[0], 0.0);
                    for (k, got) in buf.iter().enumerate().skip(1) {
                        let want = fam.observed_pmf(k as u64, e1, e2);
                        let ok = (got - want).abs() <= 1e-11 * want.abs() + 1e-300;
                        assert!(ok, "{fam} k={k} e1={e1} e2={e2}: {got} vs {want}");
                    }
                }
            }
        }
        assert!(fast > 500, "{fast}");
    }

    #[test]
    fn ln_rising_matches_the_sum() {
        for &av in &[0.01, 0.7, 3.0, 250.0, 1.6e5] {
            let a = D2::var(av, 1);
            for &y in &[65u64, 200, 5000] {
                let mut s = D2::c(0.0);
                for j in 0..y {
                    s = s + (a + j as f64).ln();
                }
                let r = ln_rising(a, y);
                let rel = |x: f64, y: f64| (x - y).abs() / y.abs().max(1.0);
                assert!(rel(r.v, s.v) < 1e-9, "{av} {y}: {} vs {}", r.v, s.v);
                assert!(
                    rel(r.g[1], s.g[1]) < 1e-8,
                    "{av} {y}: {:?} vs {:?}",
                    r.g,
                    s.g
                );
                assert!(
                    rel(r.h[2], s.h[2]) < 1e-7,
                    "{av} {y}: {:?} vs {:?}",
                    r.h,
                    s.h
                );
            }
        }
    }
}
