//! Fused Newton for the two families that carry large data: the zero-truncated Poisson
//! and the zero-truncated negative binomial with one dispersion (`alphaFormula = ~1`).
//!
//! Each Newton iteration is one pass over the contiguous row-major design that sums, per
//! row and from one set of transcendental calls, the log-likelihood, its gradient, the
//! lower triangle of its Hessian and the Horvitz-Thompson sums of N̂ (value, gradient,
//! variance term). The pass at the maximum therefore also gives N̂ and its analytic
//! variance: no separate pass is needed after the fit. No dual numbers, no allocation per
//! row; the number of first-predictor columns is a const generic (1 to [`MAX_P1`]), so
//! the per-row loops are unrolled.
//!
//! Rows are summed in fixed chunks of [`CHUNK`] rows (in parallel above [`PAR_ROWS`]
//! rows) and the chunk sums added in chunk order: every digit is the same on any number
//! of threads.
//!
//! Starting values: the intercept-only maximum of the zero-truncated Poisson (solved in
//! closed iteration from the mean count); on large designs first a fit on an evenly
//! spaced subsample of rows, so that the passes over all rows start within a few
//! standard errors of the maximum. The negative binomial starts from the zero-truncated
//! Poisson coefficients and a moment estimate of α.
//!
//! Far from the maximum the Newton direction is damped (−H + μI, μ raised until positive
//! definite). Anything unusual (a step that cannot be made to increase the likelihood, no
//! convergence within [`MAX_NEWTON`] steps) returns `None`, and the caller runs the
//! general damped Newton of [`crate::glm::Newton`].

// Index loops over the const-size rows: the form the compiler unrolls.
#![allow(clippy::needless_range_loop)]

use super::design::Design;
use super::family::ln_factorial;
use super::kernel::{Rising, UnitTerms, exp, rising, ztnegbin_terms, ztpoisson_terms};
use crate::glm::StopReason;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

/// Rows above which a pass runs in parallel.
const PAR_ROWS: usize = 8192;

/// Rows per chunk of a pass (fixed, so that the order of the additions does not depend
/// on the number of threads).
const CHUNK: usize = 4096;

/// Most first-predictor columns with a fused kernel.
pub(crate) const MAX_P1: usize = 12;

/// Newton steps before the fused fit gives up and leaves the data to the general one.
const MAX_NEWTON: usize = 40;

/// Rows above which the start comes from a subsample.
const SUB_ROWS: usize = 32_768;

/// Rows of that subsample (about).
const SUB_TARGET: usize = 8192;

/// Convergence: the Newton decrement δ = gᵀ(−H)⁻¹g (twice the log-likelihood still to
/// gain, the squared length of the next step d in standard-error units) below this, or,
/// on designs of at least [`SUB_ROWS`] units, below [`DEC_PER_UNIT`] × units. The last
/// step d is then taken to first order (see [`newton`]): what it leaves out is O(δ) in
/// the coefficients (in standard errors) and N̂, O(√δ/√n) relative in the variances —
/// on 10⁵ units below 1e-9 standard errors and about 1e-7 relative.
const DEC_TOL: f64 = 1e-20;

/// See [`DEC_TOL`].
const DEC_PER_UNIT: f64 = 1e-14;

/// The same for the start (a subsample fit or the Poisson start of the negative
/// binomial): a few hundredths of a standard error is close enough.
const DEC_START: f64 = 1.0;

/// The family fitted by a fused pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Zero-truncated Poisson, coefficients β.
    ZtPoisson,
    /// Zero-truncated negative binomial, coefficients (β, ln α).
    ZtNegBin,
}

/// The sums of one pass at θ.
#[derive(Debug, Clone)]
pub(crate) struct Pass {
    /// Log-likelihood (with all constants).
    pub value: f64,
    /// Its gradient.
    pub grad: DVector<f64>,
    /// Its Hessian.
    pub hess: DMatrix<f64>,
    /// N̂ = Σ wᵢcᵢ.
    pub n_hat: f64,
    /// HT variance term Σ wᵢvᵢ.
    pub ht: f64,
    /// ∇N̂.
    pub pop_grad: DVector<f64>,
    /// Largest single cᵢ.
    pub max_c: f64,
}

/// The fused maximum.
#[derive(Debug, Clone)]
pub(crate) struct FusedFit {
    /// The maximiser.
    pub theta: DVector<f64>,
    /// The pass there.
    pub pass: Pass,
    /// Newton steps taken.
    pub stop: StopReason,
}

/// Partial sums of a chunk of rows, `P` first-predictor columns.
#[derive(Clone, Copy)]
struct Acc<const P: usize> {
    v: f64,
    g: [f64; P],
    g2: f64,
    /// Lower triangle (b ≤ a) of the β block.
    h: [[f64; P]; P],
    /// The (ln α, β) row.
    h2: [f64; P],
    h22: f64,
    n: f64,
    ht: f64,
    cg: [f64; P],
    cg2: f64,
    max_c: f64,
}

impl<const P: usize> Acc<P> {
    fn zero() -> Self {
        Acc {
            v: 0.0,
            g: [0.0; P],
            g2: 0.0,
            h: [[0.0; P]; P],
            h2: [0.0; P],
            h22: 0.0,
            n: 0.0,
            ht: 0.0,
            cg: [0.0; P],
            cg2: 0.0,
            max_c: 0.0,
        }
    }

    fn add(&mut self, o: &Self) {
        self.v += o.v;
        self.g2 += o.g2;
        self.h22 += o.h22;
        self.n += o.n;
        self.ht += o.ht;
        self.cg2 += o.cg2;
        self.max_c = self.max_c.max(o.max_c);
        for a in 0..P {
            self.g[a] += o.g[a];
            self.h2[a] += o.h2[a];
            self.cg[a] += o.cg[a];
            for b in 0..=a {
                self.h[a][b] += o.h[a][b];
            }
        }
    }
}

/// What a pass needs besides θ.
struct Ctx<'a> {
    kind: Kind,
    d: &'a Design,
    /// Σ wᵢ ln yᵢ!.
    ln_fact: f64,
    /// The largest count.
    max_y: u64,
}

impl<'a> Ctx<'a> {
    fn new(kind: Kind, d: &'a Design) -> Self {
        // Σ w ln y!: the weights of the small counts (most rows) summed per count, the
        // large counts one by one; the largest count in the same pass.
        let mut per = [0.0; 64];
        let (mut big, mut max_y) = (0.0, 0);
        for (&y, &w) in d.y.iter().zip(&d.w) {
            max_y = max_y.max(y);
            match per.get_mut(y as usize) {
                Some(s) => *s += w,
                None if w != 0.0 => big += w * ln_factorial(y),
                None => {}
            }
        }
        let ln_fact = per
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != 0.0)
            .map(|(y, w)| w * ln_factorial(y as u64))
            .sum::<f64>()
            + big;
        Ctx {
            kind,
            d,
            ln_fact,
            max_y,
        }
    }
}

/// Rows per block of the zero-truncated Poisson pass: the two exponentials of a block
/// are taken in their own loops (independent iterations, no calls), the logarithm of
/// 1 − e^{−λ} once per block on the product of the block's factors.
const BLOCK: usize = 64;

/// Products of the 1 − e^{−λ} factors are logged before they fall below this.
const PROD_FLOOR: f64 = 1e-280;

/// Adds one row's terms (weight `w`, design row `x`) to `acc`.
#[inline(always)]
fn add_row<const P: usize, const NB: bool>(acc: &mut Acc<P>, w: f64, x: &[f64; P], t: &UnitTerms) {
    acc.v += w * t.v;
    acc.n += w * t.c;
    acc.ht += w * t.ht;
    acc.max_c = acc.max_c.max(t.c);
    let (wg, wh, wc) = (w * t.g[0], w * t.h[0], w * t.cg[0]);
    for k in 0..P {
        acc.g[k] += wg * x[k];
        acc.cg[k] += wc * x[k];
        let hk = wh * x[k];
        for j in 0..=k {
            acc.h[k][j] += hk * x[j];
        }
    }
    if NB {
        acc.g2 += w * t.g[1];
        acc.cg2 += w * t.cg[1];
        acc.h22 += w * t.h[2];
        let wh1 = w * t.h[1];
        for k in 0..P {
            acc.h2[k] += wh1 * x[k];
        }
    }
}

/// The zero-truncated Poisson over rows `lo..hi` at coefficients `b`.
fn run_ztp<const P: usize>(d: &Design, b: &[f64; P], lo: usize, hi: usize) -> Acc<P> {
    let mut acc = Acc::<P>::zero();
    let (rows, _) = d.x[lo * P..hi * P].as_chunks::<P>();
    let (ys, ws) = (&d.y[lo..hi], &d.w[lo..hi]);
    // Σ w ln(1 − e^{−λ}): rows of weight 1 through products, the others one by one
    let (mut ln_q, mut prod) = (0.0, 1.0);
    let mut eta = [0.0; BLOCK];
    let mut lam = [0.0; BLOCK];
    let mut em = [0.0; BLOCK];
    for start in (0..rows.len()).step_by(BLOCK) {
        let xs = &rows[start..(start + BLOCK).min(rows.len())];
        let nb = xs.len();
        for (e, x) in eta.iter_mut().zip(xs) {
            let mut s = 0.0;
            for k in 0..P {
                s += x[k] * b[k];
            }
            *e = s;
        }
        for i in 0..nb {
            lam[i] = exp(eta[i]);
        }
        for i in 0..nb {
            em[i] = exp(-lam[i]);
        }
        for (i, x) in xs.iter().enumerate() {
            let w = ws[start + i];
            if w == 0.0 {
                continue;
            }
            let (t, q) = ztpoisson_terms(ys[start + i], eta[i], lam[i], em[i]);
            if w == 1.0 {
                prod *= q;
                if prod < PROD_FLOOR || prod.is_nan() {
                    ln_q += prod.ln();
                    prod = 1.0;
                }
            } else {
                ln_q += w * q.ln();
            }
            add_row::<P, false>(&mut acc, w, x, &t);
        }
    }
    acc.v -= ln_q + prod.ln();
    acc
}

/// The negative binomial over rows `lo..hi` at first-predictor coefficients `b`, η₂ =
/// `e2`, a = e^{−η₂} with its rising table.
fn run_nb<const P: usize>(
    d: &Design,
    b: &[f64; P],
    (e2, a, rise): (f64, f64, Option<&Rising>),
    lo: usize,
    hi: usize,
) -> Acc<P> {
    let mut acc = Acc::<P>::zero();
    let (rows, _) = d.x[lo * P..hi * P].as_chunks::<P>();
    for ((x, &y), &w) in rows.iter().zip(&d.y[lo..hi]).zip(&d.w[lo..hi]) {
        if w == 0.0 {
            continue;
        }
        let mut eta = 0.0;
        for k in 0..P {
            eta += x[k] * b[k];
        }
        let r = match rise {
            Some(t) => t.get(a, y),
            None => rising(a, y),
        };
        add_row::<P, true>(&mut acc, w, x, &ztnegbin_terms(y, eta, e2, a, r));
    }
    acc
}

/// One pass at θ with `P` first-predictor columns.
fn pass_p<const P: usize>(ctx: &Ctx, theta: &[f64]) -> Option<Pass> {
    let d = ctx.d;
    let nb = ctx.kind == Kind::ZtNegBin;
    let b: [f64; P] = theta.get(..P)?.try_into().ok()?;
    let (e2, a) = if nb {
        let e2 = *theta.get(P)?;
        (e2, (-e2).exp())
    } else {
        (0.0, 1.0)
    };
    // One α for every unit: the sums over the count are tabulated once per pass.
    let rise = if nb { Rising::new(a, ctx.max_y) } else { None };
    let args = (e2, a, rise.as_ref());
    let chunk = |c: usize| {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(d.n()));
        if nb {
            run_nb::<P>(d, &b, args, lo, hi)
        } else {
            run_ztp::<P>(d, &b, lo, hi)
        }
    };
    let chunks = d.n().div_ceil(CHUNK);
    let mut tot = Acc::<P>::zero();
    if d.n() >= PAR_ROWS {
        let parts: Vec<Acc<P>> = (0..chunks).into_par_iter().map(chunk).collect();
        for part in &parts {
            tot.add(part);
        }
    } else {
        for c in 0..chunks {
            tot.add(&chunk(c));
        }
    }
    let p = if nb { P + 1 } else { P };
    let mut hess = DMatrix::zeros(p, p);
    for k in 0..P {
        for j in 0..=k {
            hess[(k, j)] = tot.h[k][j];
            hess[(j, k)] = tot.h[k][j];
        }
    }
    let mut grad = DVector::from_row_slice(&tot.g);
    let mut pop_grad = DVector::from_row_slice(&tot.cg);
    if nb {
        for k in 0..P {
            hess[(P, k)] = tot.h2[k];
            hess[(k, P)] = tot.h2[k];
        }
        hess[(P, P)] = tot.h22;
        grad = grad.push(tot.g2);
        pop_grad = pop_grad.push(tot.cg2);
    }
    let out = Pass {
        value: tot.v - ctx.ln_fact,
        grad,
        hess,
        n_hat: tot.n,
        ht: tot.ht,
        pop_grad,
        max_c: tot.max_c,
    };
    let finite = out.value.is_finite()
        && out
            .grad
            .iter()
            .chain(out.hess.iter())
            .all(|v| v.is_finite())
        && out.n_hat.is_finite()
        && out.ht.is_finite()
        && out.pop_grad.iter().all(|v| v.is_finite());
    finite.then_some(out)
}

/// One pass at θ.
fn pass(ctx: &Ctx, theta: &[f64]) -> Option<Pass> {
    macro_rules! by_p1 {
        ($($n:literal)*) => {
            match ctx.d.p1 {
                $($n => pass_p::<$n>(ctx, theta),)*
                _ => None,
            }
        };
    }
    by_p1!(1 2 3 4 5 6 7 8 9 10 11 12)
}

/// Damped Newton from `theta` until the decrement is below `tol`.
fn newton(ctx: &Ctx, mut theta: DVector<f64>, tol: f64) -> Option<FusedFit> {
    let mut cur = pass(ctx, theta.as_slice())?;
    for it in 0..MAX_NEWTON {
        // Direction (−H + μI)⁻¹g, μ raised from 0 until −H + μI is positive definite
        // (far from the maximum the negative binomial's Hessian need not be).
        let neg = -&cur.hess;
        let scale = neg.diagonal().amax().max(1e-8);
        let mut mu = 0.0;
        let dir = loop {
            let mut m = neg.clone();
            for i in 0..m.nrows() {
                m[(i, i)] += mu;
            }
            if let Some(c) = m.cholesky() {
                break c.solve(&cur.grad);
            }
            mu = if mu == 0.0 { 1e-8 * scale } else { mu * 10.0 };
            if mu > 1e12 * scale {
                return None;
            }
        };
        let dec = cur.grad.dot(&dir);
        if !dec.is_finite() {
            return None;
        }
        if dec < tol && mu == 0.0 {
            // The last step, to first order: ℓ(θ + d) = ℓ + δ/2, N̂(θ + d) = N̂ + ∇N̂ᵀd
            // (errors O(δ) in standard-error units squared); the Hessian and the
            // variance terms stay those at θ (relative error O(√δ/√n)).
            cur.value += 0.5 * dec;
            cur.n_hat += cur.pop_grad.dot(&dir);
            return Some(FusedFit {
                theta: theta + dir,
                pass: cur,
                stop: StopReason::Converged { iterations: it },
            });
        }
        let floor = cur.value - 1e-12 * cur.value.abs().max(1.0);
        let mut step = 1.0;
        let mut next = None;
        for _ in 0..40 {
            let cand = &theta + &dir * step;
            if let Some(p) = pass(ctx, cand.as_slice())
                && p.value >= floor
            {
                next = Some((cand, p));
                break;
            }
            step *= 0.5;
        }
        (theta, cur) = next?;
    }
    None
}

/// The maximum of the intercept-only zero-truncated Poisson: λ with λ/(1 − e^{−λ}) = ȳ.
fn ztp_intercept(d: &Design) -> f64 {
    let (mut n, mut s) = (0.0, 0.0);
    for (&y, &w) in d.y.iter().zip(&d.w) {
        n += w;
        s += w * y as f64;
    }
    let m = s / n;
    if m.is_nan() || m <= 1.0 {
        return (0.1f64).ln();
    }
    // Newton in η = ln λ on μ(η) − ȳ, μ = λ/(1 − e^{−λ}) increasing from 1 + λ/2 to λ.
    let mut eta = (2.0 * (m - 1.0)).min(m).ln();
    for _ in 0..50 {
        let lam = eta.exp();
        let q = -(-lam).exp_m1();
        let mu = lam / q;
        let dmu = mu - mu * mu * (1.0 - q); // dμ/dη = Var
        let step = (mu - m) / dmu;
        eta -= step.clamp(-2.0, 2.0);
        if step.abs() < 1e-12 {
            break;
        }
    }
    eta
}

/// Every k-th row of `d`, about [`SUB_TARGET`] rows.
fn subsample(d: &Design) -> Design {
    let k = d.n().div_ceil(SUB_TARGET).max(1);
    let mut s = Design {
        p1: d.p1,
        p2: d.p2,
        ..Default::default()
    };
    for i in (0..d.n()).step_by(k) {
        s.y.push(d.y[i]);
        s.w.push(d.w[i]);
        s.x.extend_from_slice(d.xrow(i));
        s.z.extend_from_slice(d.zrow(i));
    }
    s
}

/// Starting coefficients of the zero-truncated Poisson.
fn ztp_start(d: &Design) -> Option<DVector<f64>> {
    let mut s = DVector::zeros(d.p1);
    if d.n() > SUB_ROWS {
        let sub = subsample(d);
        s[0] = ztp_intercept(&sub);
        let f = newton(&Ctx::new(Kind::ZtPoisson, &sub), s, DEC_START)?;
        return Some(f.theta);
    }
    s[0] = ztp_intercept(d);
    Some(s)
}

/// Whether the fused fit handles `kind` on `d`: an intercept-first design of at most
/// [`MAX_P1`] columns; for the negative binomial one dispersion for all units.
fn applicable(kind: Kind, d: &Design) -> bool {
    let cols = (1..=MAX_P1).contains(&d.p1) && d.n() > 0;
    match kind {
        Kind::ZtPoisson => cols && d.p2 == 0,
        Kind::ZtNegBin => cols && d.p2 == 1 && d.z.iter().all(|&v| v == 1.0),
    }
}

/// Fits `kind` on `d` from `start` (else the starts described in the module docs).
/// `None` when the design is not one the fused fit handles or the fit runs into
/// anything unusual (see the module docs): then the general Newton takes over.
pub(crate) fn fit(kind: Kind, d: &Design, start: Option<&[f64]>) -> Option<FusedFit> {
    if !applicable(kind, d) {
        return None;
    }
    let p = d.p1 + usize::from(kind == Kind::ZtNegBin);
    let start = match start {
        Some(s) if s.len() == p => DVector::from_column_slice(s),
        _ => match kind {
            Kind::ZtPoisson => ztp_start(d)?,
            Kind::ZtNegBin => nb_start(d)?,
        },
    };
    let units: f64 = d.w.iter().sum();
    let tol = if units >= SUB_ROWS as f64 {
        DEC_TOL.max(DEC_PER_UNIT * units)
    } else {
        DEC_TOL
    };
    newton(&Ctx::new(kind, d), start, tol)
}

/// Starting coefficients of the negative binomial: the zero-truncated Poisson β and
/// ln α from the moments of the counts about the Poisson means,
///
/// ```text
/// α₀ = Σ wᵢ((yᵢ − μᵢ)² − μᵢ) / Σ wᵢμᵢ²,  μᵢ = λᵢ/(1 − e^{−λᵢ}),  clamped to [0.01, 100]
/// ```
fn nb_start(d: &Design) -> Option<DVector<f64>> {
    // (a zero-truncated Poisson pass reads only the first predictor's design)
    let beta = newton(&Ctx::new(Kind::ZtPoisson, d), ztp_start(d)?, DEC_START)?.theta;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..d.n() {
        let eta: f64 = d.xrow(i).iter().zip(beta.iter()).map(|(x, b)| x * b).sum();
        let lam = eta.exp();
        let mu = lam / -(-lam).exp_m1();
        let r = d.y[i] as f64 - mu;
        num += d.w[i] * (r * r - mu);
        den += d.w[i] * mu * mu;
    }
    let alpha = (num / den).clamp(0.01, 100.0);
    let alpha = if alpha.is_finite() { alpha } else { 1.0 };
    Some(beta.push(alpha.ln()))
}
