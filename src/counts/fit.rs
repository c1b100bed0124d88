//! Maximum-likelihood fit of a count family and the Horvitz-Thompson population size.

use super::design::Design;
use super::dual::D2;
use super::family::Family;
use super::fused;
use super::kernel::{Rising, unit_loglik};
use crate::ci;
use crate::error::{Error, Result};
use crate::estimate::{Assumption, Estimate, FitStats, Warning};
use crate::glm::{Newton, Objective, StopReason};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Rows above which sums over units run in parallel.
const PAR_ROWS: usize = 8192;

/// Rows per chunk of the parallel sums (fixed, so that the order of the additions, and
/// with it every digit, does not depend on the number of threads).
const CHUNK: usize = 4096;

/// Σ over rows of w·(value, gradient, Hessian) of a per-row dual function, mapped from
/// the two predictors to the coefficients.
pub(crate) fn accumulate(
    d: &Design,
    beta: &[f64],
    f: impl Fn(u64, D2, D2) -> Option<D2> + Sync,
) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
    accumulate_scalar(d, beta, |y, e1, e2| f(y, D2::var(e1, 0), D2::var(e2, 1)))
}

type Acc = (f64, Vec<f64>, Vec<f64>);

/// [`accumulate`] with the per-row function taking the two linear predictors as plain
/// numbers (closed-form kernels skip the dual arithmetic). One pass over the rows, in
/// fixed chunks of [`CHUNK`] rows (in parallel above [`PAR_ROWS`] rows), the partial
/// sums added in chunk order.
pub(crate) fn accumulate_scalar(
    d: &Design,
    beta: &[f64],
    f: impl Fn(u64, f64, f64) -> Option<D2> + Sync,
) -> Option<(f64, DVector<f64>, DMatrix<f64>)> {
    let p = d.p();
    let (p1, p2) = (d.p1, d.p2);
    let (b1, b2) = beta.split_at(p1);
    let run = |lo: usize, hi: usize, acc: &mut Acc| -> bool {
        let (v, g, h) = (&mut acc.0, &mut acc.1, &mut acc.2);
        for i in lo..hi {
            let w = d.w[i];
            if w == 0.0 {
                continue;
            }
            let x = &d.x[i * p1..(i + 1) * p1];
            let z = &d.z[i * p2..(i + 1) * p2];
            let e1: f64 = x.iter().zip(b1).map(|(a, b)| a * b).sum();
            let e2: f64 = z.iter().zip(b2).map(|(a, b)| a * b).sum();
            let Some(r) = f(d.y[i], e1, e2) else {
                continue;
            };
            if !(r.v.is_finite() && r.g.iter().chain(&r.h).all(|v| v.is_finite())) {
                return false;
            }
            *v += w * r.v;
            let (wg0, wh0) = (w * r.g[0], w * r.h[0]);
            for a in 0..p1 {
                g[a] += wg0 * x[a];
                let ha = wh0 * x[a];
                for (hb, xb) in h[a * p..a * p + a + 1].iter_mut().zip(x) {
                    *hb += ha * xb;
                }
            }
            if p2 > 0 {
                let (wg1, wh1, wh2) = (w * r.g[1], w * r.h[1], w * r.h[2]);
                for a in 0..p2 {
                    g[p1 + a] += wg1 * z[a];
                    let row = &mut h[(p1 + a) * p..(p1 + a) * p + p1 + a + 1];
                    let (hx, hz) = row.split_at_mut(p1);
                    let ha = wh1 * z[a];
                    for (hb, xb) in hx.iter_mut().zip(x) {
                        *hb += ha * xb;
                    }
                    let ha = wh2 * z[a];
                    for (hb, zb) in hz.iter_mut().zip(z) {
                        *hb += ha * zb;
                    }
                }
            }
        }
        true
    };
    let zero = || (0.0, vec![0.0; p], vec![0.0; p * p]);
    let n = d.n();
    let (v, g, h) = if n >= PAR_ROWS {
        let chunks: Vec<Option<Acc>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut acc = zero();
                run(c * CHUNK, ((c + 1) * CHUNK).min(n), &mut acc).then_some(acc)
            })
            .collect();
        let mut tot = zero();
        for c in chunks {
            let c = c?;
            tot.0 += c.0;
            tot.1.iter_mut().zip(&c.1).for_each(|(a, b)| *a += b);
            tot.2.iter_mut().zip(&c.2).for_each(|(a, b)| *a += b);
        }
        tot
    } else {
        let mut acc = zero();
        if !run(0, n, &mut acc) {
            return None;
        }
        acc
    };
    let mut hm = DMatrix::from_row_slice(p, p, &h);
    for a in 0..p {
        for b in 0..a {
            hm[(b, a)] = hm[(a, b)];
        }
    }
    Some((v, DVector::from_vec(g), hm))
}

type Evaluation = Option<(f64, DVector<f64>, DMatrix<f64>)>;

struct LogLik<'a> {
    family: Family,
    design: &'a Design,
    /// The last full evaluation: the maximiser asks for the value at a candidate and
    /// then for the derivatives at the same point, so on large data `value` computes
    /// everything once and `eval` reuses it.
    cache: std::sync::Mutex<Option<(DVector<f64>, Evaluation)>>,
    /// The second predictor is an intercept (one α for all units).
    alpha_intercept_only: bool,
    /// The largest count.
    max_y: u64,
}

impl<'a> LogLik<'a> {
    fn new(family: Family, design: &'a Design) -> Self {
        LogLik {
            family,
            design,
            cache: std::sync::Mutex::new(None),
            alpha_intercept_only: design.p2 == 1 && design.z.iter().all(|&v| v == 1.0),
            max_y: design.y.iter().copied().max().unwrap_or(0),
        }
    }
}

impl LogLik<'_> {
    fn full(&self, theta: &DVector<f64>) -> Evaluation {
        if let Ok(c) = self.cache.lock()
            && let Some((t, r)) = c.as_ref()
            && t == theta
        {
            return r.clone();
        }
        let fam = self.family;
        let d = self.design;
        // One α for every unit: tabulate the negative binomial's sums over the count.
        let rise = (fam == Family::ZtNegBin && self.alpha_intercept_only)
            .then(|| Rising::new((-theta[d.p1]).exp(), self.max_y))
            .flatten();
        let r = accumulate_scalar(d, theta.as_slice(), |y, e1, e2| {
            fam.uses(y)
                .then(|| unit_loglik(fam, y, e1, e2, rise.as_ref()))
        });
        if let Ok(mut c) = self.cache.lock() {
            *c = Some((theta.clone(), r.clone()));
        }
        r
    }
}

impl Objective for LogLik<'_> {
    fn eval(&self, theta: &DVector<f64>) -> Evaluation {
        self.full(theta)
    }

    fn value(&self, theta: &DVector<f64>) -> Option<f64> {
        self.full(theta).map(|r| r.0)
    }
}

/// Which information matrix gave the coefficient covariance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CovarianceType {
    /// Inverse of the observed information (singleRcapture `covType = "observedInform"`).
    ObservedInformation,
    /// Inverse of the expected (Fisher) information, used when the observed information
    /// is not positive definite (singleRcapture's fallback).
    Fisher,
}

/// Parts of the analytic variance of N̂.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PopVariance {
    /// N̂ = Σ wᵢ·cᵢ.
    pub n_hat: f64,
    /// Horvitz-Thompson term Σ wᵢ·vᵢ (variance of N̂ with the coefficients known).
    pub ht_term: f64,
    /// Delta-method term ∇N̂ᵀ·Cov(β̂)·∇N̂.
    pub delta_term: f64,
}

impl PopVariance {
    /// The total variance.
    pub fn variance(&self) -> f64 {
        self.ht_term + self.delta_term
    }
}

/// One unit's HT contribution (value, ∂/∂η₁, ∂/∂η₂) and variance term, with a closed
/// form for the zero-truncated Poisson.
#[inline]
fn unit_contribution(family: Family, y: u64, e1: f64, e2: f64) -> (f64, [f64; 2], f64) {
    if family == Family::ZtPoisson {
        // c = 1/(1 − e^{−λ}),  ∂c/∂η = −λ e^{−λ}/(1 − e^{−λ})²,  v = e^{−λ}/(1 − e^{−λ})²
        let lam = e1.exp();
        let q = -(-lam).exp_m1();
        let e = 1.0 - q;
        let v = e / (q * q);
        return (1.0 / q, [-lam * v, 0.0], v);
    }
    if let Some(r) = super::inflated::contribution(family, y, e1, e2) {
        return r;
    }
    let (c, v) = family.contribution(y, D2::var(e1, 0), D2::var(e2, 1));
    (c.v, c.g, v)
}

/// N̂, its HT term, its gradient and the largest single contribution over the rows of
/// `d` selected by `keep`.
pub(crate) fn pop_parts(
    family: Family,
    d: &Design,
    beta: &[f64],
    keep: impl Fn(usize) -> bool + Sync,
) -> (f64, f64, DVector<f64>, f64) {
    let p = d.p();
    let zero = || (0.0, 0.0, vec![0.0; p], 0.0f64);
    let one = |acc: &mut (f64, f64, Vec<f64>, f64), i: usize| {
        if !keep(i) || d.w[i] == 0.0 {
            return;
        }
        let w = d.w[i];
        let (e1, e2) = d.etas(i, beta);
        let (c, cg, v) = unit_contribution(family, d.y[i], e1, e2);
        acc.0 += w * c;
        acc.1 += w * v;
        acc.3 = acc.3.max(c);
        for (a, xa) in d.xrow(i).iter().enumerate() {
            acc.2[a] += w * cg[0] * xa;
        }
        for (a, za) in d.zrow(i).iter().enumerate() {
            acc.2[d.p1 + a] += w * cg[1] * za;
        }
    };
    let merge = |mut a: (f64, f64, Vec<f64>, f64), b: (f64, f64, Vec<f64>, f64)| {
        a.0 += b.0;
        a.1 += b.1;
        a.2.iter_mut().zip(&b.2).for_each(|(x, y)| *x += y);
        a.3 = a.3.max(b.3);
        a
    };
    let r = if d.n() >= PAR_ROWS {
        (0..d.n())
            .into_par_iter()
            .chunks(8192)
            .map(|idx| {
                let mut acc = zero();
                for i in idx {
                    one(&mut acc, i);
                }
                acc
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold(zero(), merge)
    } else {
        let mut acc = zero();
        for i in 0..d.n() {
            one(&mut acc, i);
        }
        acc
    };
    (r.0, r.1, DVector::from_vec(r.2), r.3)
}

/// Expected (Fisher) information of the coefficients.
fn fisher_information(family: Family, d: &Design, beta: &[f64]) -> Option<DMatrix<f64>> {
    let r = accumulate(d, beta, |y, e1, e2| {
        if !family.uses(y) {
            return None;
        }
        let (lo, hi_cap) = match family {
            Family::Chao | Family::Zelterman => (1u64, 2u64),
            Family::ZotPoisson | Family::ZotGeom | Family::ZotNegBin => (2, 1_000),
            _ => (1, 1_000),
        };
        // E_y[ℓ''(y)] under the distribution of the units entering the likelihood.
        let mut acc = D2::c(0.0);
        let mut mass = 0.0;
        let mut k = lo;
        loop {
            let l = family.loglik(k, e1, e2);
            let pk = l.v.exp();
            if !pk.is_finite() {
                return None;
            }
            acc = acc
                + D2 {
                    v: 0.0,
                    g: [0.0; 2],
                    h: [pk * l.h[0], pk * l.h[1], pk * l.h[2]],
                };
            mass += pk;
            if k >= hi_cap || (mass > 1.0 - 1e-13 && k > lo + 2) {
                break;
            }
            k += 1;
        }
        Some(acc)
    })?;
    Some(-r.2)
}

fn inverse_pd(m: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let c = m.clone().cholesky()?;
    let inv = c.inverse();
    inv.iter().all(|v| v.is_finite()).then_some(inv)
}

/// A fitted single-source count model.
///
/// `estimate` carries N̂ with the log-normal interval (Chao 1987) and, in
/// `other_intervals`, the normal interval; fit statistics; and warnings for degenerate
/// fits. Coefficients are named as singleRcapture names them (`(Intercept)`,
/// `gendermale`, `(Intercept):omega`...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountFit {
    /// The family.
    pub family: Family,
    /// Covariates of the first (λ) predictor.
    pub covariates: Vec<String>,
    /// Covariates of the second predictor (α or ω); empty = intercept only.
    pub second_covariates: Vec<String>,
    /// Coefficient names.
    pub coef_names: Vec<String>,
    /// Coefficients.
    pub coefficients: Vec<f64>,
    /// Standard errors (square roots of the covariance diagonal).
    pub std_errors: Vec<f64>,
    /// Covariance of the coefficients.
    pub covariance: DMatrix<f64>,
    /// Which information gave `covariance`.
    pub covariance_type: CovarianceType,
    /// Log-likelihood at the maximum (with all constants, as `logLik`).
    pub log_lik: f64,
    /// Number of estimated parameters.
    pub n_params: usize,
    /// Units observed (Σ frequencies).
    pub observed: u64,
    /// Why the maximiser stopped.
    pub stop: StopReason,
    /// Parts of the analytic variance of N̂.
    pub pop_variance: PopVariance,
    /// The population-size estimate.
    pub estimate: Estimate,
    /// Whether the fit is degenerate (a parameter at a boundary, no convergence,
    /// non-finite or absurd N̂): then `estimate.warnings` says why and the figure must
    /// not be read as a plain number.
    pub degenerate: bool,
    /// The design the model was fitted to (shared between the fits of one
    /// [`fit_all`](super::fit_all) call).
    #[serde(skip)]
    pub(crate) design: Arc<Design>,
}

impl crate::model_table::HasEstimate for CountFit {
    fn estimate(&self) -> &Estimate {
        &self.estimate
    }
}

/// Settings of a count-model fit: `CountModel::params(Family::ZtPoisson).covariates(&[..]).fit(&data)`.
///
/// ```text
/// maximise ℓ(β) = Σᵢ wᵢ ln P(yᵢ | ηᵢ)     (damped Newton, analytic derivatives)
/// N̂ = Σᵢ wᵢ cᵢ(η̂ᵢ),  cᵢ = 1/(1 − P(0 | ηᵢ)) (model-specific variants)
/// Var(N̂) = Σᵢ wᵢ vᵢ + ∇N̂ᵀ (−∇²ℓ)⁻¹ ∇N̂
/// ```
/// # References
/// singleRcapture 0.2.3 `estimatePopsize` (analytic `popVar`, `covType = "observedInform"`
/// with the Fisher fallback); van der Heijden et al. (2003) Statistical Modelling 3,
/// 305-322.
///
/// # Examples
/// ```
/// use darkfigure::counts::{CountModel, Family};
/// use darkfigure::data::csv_io::{ReadOptions, read_counts_str};
/// let csv = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/counts/netherlandsimmigrant.csv"));
/// let opts = ReadOptions { count_column: Some("capture".into()), ..Default::default() };
/// let d = read_counts_str(csv, "netherlandsimmigrant", &opts)?;
/// let fit = CountModel::params(Family::ZtPoisson).covariates(&["gender", "age", "nation"]).fit(&d)?;
/// assert!((fit.estimate.n_hat - 12690.353652568).abs() < 1e-5);   // van der Heijden et al. (2003)
/// assert!((fit.estimate.se - 2808.168836225).abs() < 1e-5);
/// assert!((fit.coefficient("gendermale").unwrap() - 0.397179258670).abs() < 1e-8);
/// # Ok::<(), darkfigure::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CountModel {
    /// The family.
    pub family: Family,
    /// Covariates of the λ predictor.
    pub covariates: Vec<String>,
    /// Covariates of the second (α / ω) predictor; empty = intercept only (the default
    /// `alphaFormula = ~1`, `omegaFormula = ~1`).
    pub second_covariates: Vec<String>,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Newton settings.
    pub newton: Newton,
    /// Starting coefficients (else defaults).
    pub start: Option<Vec<f64>>,
}

impl CountModel {
    /// Default settings for `family`: intercept only, 95% intervals.
    pub fn params(family: Family) -> Self {
        CountModel {
            family,
            covariates: Vec::new(),
            second_covariates: Vec::new(),
            level: 0.95,
            newton: Newton {
                tol: 1e-15,
                grad_tol: 1e-9,
                max_iter: crate::prec::MAX_ITER,
            },
            start: None,
        }
    }

    /// Covariates of the λ predictor.
    pub fn covariates<S: AsRef<str>>(mut self, c: &[S]) -> Self {
        self.covariates = c.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// Covariates of the second predictor.
    pub fn second_covariates<S: AsRef<str>>(mut self, c: &[S]) -> Self {
        self.second_covariates = c.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// Confidence level.
    pub fn level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }

    /// Fits the model.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a bad level or unknown covariate;
    /// [`Error::EstimateDoesNotExist`] when no unit enters the likelihood (Chao and
    /// Zelterman need units seen once or twice, zot models units seen twice or more) or
    /// the likelihood is undefined at the start; [`Error::Numerical`] when the
    /// information matrix cannot be inverted.
    pub fn fit(&self, data: &crate::data::CountData) -> Result<CountFit> {
        ci::check_level(self.level)?;
        self.fit_design(self.design(data)?)
    }

    /// The design of this model's predictors on `data` (rows aggregated unless the
    /// covariates are numeric and the data large). The second predictor's names carry no
    /// `:alpha`/`:omega` suffix (the fit adds it), so one design serves every family
    /// with the same predictors.
    pub(crate) fn design(&self, data: &crate::data::CountData) -> Result<Design> {
        let second = self
            .family
            .second_parameter()
            .map(|_| self.second_covariates.as_slice());
        let rows = Design::rows(data, &self.covariates, second)?;
        // Aggregating identical (count, covariate) rows pays when covariates are
        // categorical or the data are small; with continuous covariates on large data
        // nearly every row is distinct.
        let numeric = self
            .covariates
            .iter()
            .chain(&self.second_covariates)
            .any(|c| {
                matches!(
                    data.covariate(c).map(|c| &c.values),
                    Some(crate::data::CovariateValues::Numeric(_))
                )
            });
        Ok(if numeric && rows.n() > 50_000 {
            rows
        } else {
            rows.aggregated()
        })
    }

    pub(crate) fn fit_design(&self, design: impl Into<Arc<Design>>) -> Result<CountFit> {
        self.fit_shared(design.into(), false)
    }

    /// Fits to a (possibly shared) design; `rank_checked` skips the rank check of a
    /// design already checked.
    pub(crate) fn fit_shared(&self, design: Arc<Design>, rank_checked: bool) -> Result<CountFit> {
        ci::check_level(self.level)?;
        let fam = self.family;
        // (weights are frequencies: never negative)
        let used = (0..design.n()).any(|i| design.w[i] > 0.0 && fam.uses(design.y[i]));
        if !used {
            return Err(Error::no_estimate(format!(
                "{fam}: no unit has a count the model uses (Chao and Zelterman use counts 1 and 2, zero-one-truncated models counts of 2 or more)"
            )));
        }
        let p = design.p();
        let sq = if rank_checked {
            None
        } else {
            Some(check_rank(&design)?)
        };
        // Zero-truncated Poisson and negative binomial: one fused pass per Newton step.
        let kind = match fam {
            Family::ZtPoisson => Some(fused::Kind::ZtPoisson),
            Family::ZtNegBin => Some(fused::Kind::ZtNegBin),
            _ => None,
        };
        if let Some(f) = kind.and_then(|k| fused::fit(k, &design, self.start.as_deref())) {
            let s = f.pass;
            let pop = (s.n_hat, s.ht, s.pop_grad, s.max_c);
            return self.finish_with(design, f.theta, s.value, s.hess, f.stop, Some(pop), sq);
        }
        let start = match &self.start {
            Some(s) if s.len() == p => DVector::from_vec(s.clone()),
            _ => DVector::from_vec(default_start(fam, &design)),
        };
        let obj = LogLik::new(fam, &design);
        let nf = self.newton.maximize(&obj, start)?;
        self.finish_with(design, nf.theta, nf.value, nf.hessian, nf.stop, None, sq)
    }

    /// The fit at `theta`, given the sums of N̂ (N̂, HT term, ∇N̂, largest contribution)
    /// when the fit already has them there, and the columns' weighted sums of squares
    /// when [`check_rank`] gave them.
    #[allow(clippy::too_many_arguments)]
    fn finish_with(
        &self,
        design: Arc<Design>,
        theta: DVector<f64>,
        loglik: f64,
        hessian: DMatrix<f64>,
        stop: StopReason,
        pop: Option<(f64, f64, DVector<f64>, f64)>,
        sq: Option<Vec<f64>>,
    ) -> Result<CountFit> {
        let fam = self.family;
        let beta = theta.as_slice();
        let mut warnings = Vec::new();
        let (cov, cov_type) = match inverse_pd(&(-&hessian)) {
            Some(c) => (c, CovarianceType::ObservedInformation),
            None => {
                let info =
                    fisher_information(fam, &design, beta).ok_or_else(|| Error::Numerical {
                        reason: "the Fisher information could not be computed".into(),
                    })?;
                let c = inverse_pd(&info)
                    .or_else(|| info.clone().try_inverse())
                    .ok_or_else(|| Error::Numerical {
                        reason: format!("{fam}: the information matrix is singular"),
                    })?;
                warnings.push(Warning::Other {
                    message: "observed information not positive definite: Fisher information used"
                        .into(),
                });
                (c, CovarianceType::Fisher)
            }
        };
        let (n_hat, ht, grad, max_contr) =
            pop.unwrap_or_else(|| pop_parts(fam, &design, beta, |_| true));
        let delta = (grad.transpose() * &cov * &grad)[(0, 0)];
        let pv = PopVariance {
            n_hat,
            ht_term: ht,
            delta_term: delta,
        };
        let observed_f: f64 = design.w.iter().sum();
        let observed = observed_f.round() as u64;
        let var = pv.variance();
        let se = var.sqrt();
        let level = self.level;
        let mut est = Estimate::new(
            fam.label(),
            model_label(fam, &self.covariates),
            n_hat,
            se,
            ci::log_normal(n_hat, se, observed_f, level),
            observed,
        )
        .with_other_interval(ci::wald(n_hat, se, observed_f, level))
        .with_assumptions(&match fam {
            Family::Chao | Family::Zelterman => {
                vec![
                    Assumption::ClosedPopulation,
                    Assumption::LowCountsInformative,
                ]
            }
            _ => vec![Assumption::ClosedPopulation, Assumption::CountDistribution],
        });
        let k = design.p();
        let n_obs = observed_f;
        est = est.with_fit(FitStats {
            deviance: -2.0 * loglik,
            df: n_obs as i64 - k as i64,
            aic: -2.0 * loglik + 2.0 * k as f64,
            bic: -2.0 * loglik + k as f64 * n_obs.ln(),
        });
        // Degeneracy checks.
        if !stop.converged() {
            warnings.push(Warning::NotConverged {
                iterations: stop.iterations(),
            });
        }
        let std_errors: Vec<f64> = (0..k).map(|i| cov[(i, i)].max(0.0).sqrt()).collect();
        if let Some(s) = fam.second_parameter() {
            let extreme = (0..design.n()).any(|i| design.etas(i, beta).1.abs() > 12.0);
            if extreme {
                warnings.push(Warning::Boundary {
                    parameter: format!(
                        "{s} (fitted {s} at the edge of its range: ln α or logit ω beyond ±12)"
                    ),
                });
            }
        }
        if max_contr > 1e6 {
            warnings.push(Warning::Boundary {
                parameter: format!(
                    "lambda (some units have fitted P(0) within {:.0e} of 1: one unit stands for {:.3e})",
                    1.0 / max_contr,
                    max_contr
                ),
            });
        }
        let suffix = fam.second_parameter().map(|s| format!(":{s}"));
        let names: Vec<String> = design
            .names1
            .iter()
            .cloned()
            .chain(design.names2.iter().map(|n| match &suffix {
                Some(s) if !n.ends_with(s.as_str()) => format!("{n}{s}"),
                _ => n.clone(),
            }))
            .collect();
        // A coefficient is unidentified when its uncertainty moves the linear predictor of
        // a typical unit by more than 50 (root-mean-square of its column as the scale).
        let wsum = observed_f;
        let sq = sq.filter(|s| s.len() == k).unwrap_or_else(|| {
            let mut sq = vec![0.0; k];
            for i in 0..design.n() {
                let w = design.w[i];
                for (s, v) in sq
                    .iter_mut()
                    .zip(design.xrow(i).iter().chain(design.zrow(i)))
                {
                    *s += w * v * v;
                }
            }
            sq
        });
        let scale = |j: usize| -> f64 { (sq[j] / wsum).sqrt() };
        let unidentified: Vec<String> = names
            .iter()
            .zip(&std_errors)
            .enumerate()
            .filter(|(j, (_, s))| !s.is_finite() || **s * scale(*j) > 50.0)
            .map(|(_, (n, _))| n.clone())
            .collect();
        if !unidentified.is_empty() {
            warnings.push(Warning::Other {
                message: format!(
                    "coefficients not identified (standard error × column scale above 50): {}",
                    unidentified.join(", ")
                ),
            });
        }
        if !n_hat.is_finite() || !se.is_finite() {
            warnings.push(Warning::Other {
                message: "N̂ or its standard error is not finite".into(),
            });
        } else if n_hat > 1000.0 * observed_f {
            warnings.push(Warning::Other {
                message: format!(
                    "N̂ is more than 1000 times the {observed} units observed: the model has degenerated"
                ),
            });
        }
        let degenerate = !warnings.is_empty()
            && warnings.iter().any(|w| !matches!(w, Warning::Other { message } if message.starts_with("observed information")));
        for w in warnings {
            est = est.with_warning(w);
        }
        Ok(CountFit {
            family: fam,
            covariates: self.covariates.clone(),
            second_covariates: self.second_covariates.clone(),
            coef_names: names,
            coefficients: beta.to_vec(),
            std_errors,
            covariance: cov,
            covariance_type: cov_type,
            log_lik: loglik,
            n_params: k,
            observed,
            stop,
            pop_variance: pv,
            estimate: est,
            degenerate,
            design,
        })
    }
}

/// A start for the second parameter (α or ω) from the score at its boundary α = 0 or
/// ω = 0, given `base`, the coefficients of the family without it (ztpoisson for
/// ztnegbin, ztoi* and oizt*). With θ = α or ω, near the boundary
/// ℓ ≈ ℓ₀ + Sθ − Iθ²/2 and ∂ℓ/∂η₂ ≈ θ(S − Iθ):
///
/// ```text
/// S = g₂(η₂ = −20)/θ(−20)                  (one pass at the base fit)
/// S < 0: the maximum is on the boundary; start where g₂ = 10⁻¹⁰, so that Newton
///        confirms it in a step or two instead of walking η₂ down by one per iteration
/// S > 0: I = (S − g₂(−5)/θ(−5))/θ(−5),  start at θ* = S/I   (one more pass)
/// ```
/// Near-boundary fits (α or ω small but positive on large data) then converge in a few
/// Newton steps rather than ~20. `None` (use the default start) when the design's second
/// predictor is not an intercept, the quadratic gives no positive θ*, or the likelihood
/// cannot be evaluated.
pub(crate) fn boundary_start(fam: Family, design: &Design, base: &[f64]) -> Option<Vec<f64>> {
    if design.p2 != 1 || base.len() != design.p1 || !design.z.iter().all(|&v| v == 1.0) {
        return None;
    }
    let omega = fam.second_parameter() == Some("omega");
    let theta_of = |e2: f64| {
        if omega {
            1.0 / (1.0 + (-e2).exp())
        } else {
            e2.exp()
        }
    };
    let obj = LogLik::new(fam, design);
    let g2_at = |e2: f64| -> Option<f64> {
        let mut theta = base.to_vec();
        theta.push(e2);
        let (_, g, _) = obj.eval(&DVector::from_vec(theta))?;
        g[design.p1].is_finite().then_some(g[design.p1])
    };
    const PROBE: f64 = -20.0;
    let g2 = g2_at(PROBE)?;
    let mut theta = base.to_vec();
    if g2 < 0.0 {
        theta.push(PROBE + (1e-10 / -g2).ln());
        return Some(theta);
    }
    const PROBE2: f64 = -5.0;
    let score = g2 / theta_of(PROBE);
    let t2 = theta_of(PROBE2);
    let info = (score - g2_at(PROBE2)? / t2) / t2;
    let best = score / info;
    if !(info > 0.0 && best.is_finite() && best > 0.0) || (omega && best >= 0.5) {
        return None;
    }
    let e2 = if omega {
        (best / (1.0 - best)).ln()
    } else {
        best.ln()
    };
    theta.push(e2.clamp(-15.0, 3.0));
    Some(theta)
}

/// Refuses designs whose columns are linearly dependent (a covariate constant, or
/// collinear with others), naming the offending column. On success returns the
/// weighted sums of squares Σ wᵢxᵢⱼ² of the columns (first predictor, then second): the
/// diagonal of the Gram matrix, which [`CountModel::finish_with`] uses as column scales.
pub(crate) fn check_rank(d: &Design) -> Result<Vec<f64>> {
    let mut sq = Vec::with_capacity(d.p());
    for (cols, names, block) in [(d.p1, &d.names1, 0usize), (d.p2, &d.names2, 1)] {
        if cols == 0 {
            continue;
        }
        let m = if block == 0 { &d.x } else { &d.z };
        let acc = gram(m, &d.w, cols);
        let g = DMatrix::from_row_slice(cols, cols, &acc);
        sq.extend((0..cols).map(|k| g[(k, k)]));
        // Gram-Schmidt on the Gram matrix: column k is dependent when its residual
        // squared norm is a negligible fraction of its norm.
        let mut l = DMatrix::<f64>::zeros(cols, cols);
        for k in 0..cols {
            for j in 0..=k {
                let gkj = if k >= j { g[(k, j)] } else { g[(j, k)] };
                let s: f64 = (0..j).map(|m| l[(k, m)] * l[(j, m)]).sum();
                if j == k {
                    let r2 = gkj - s;
                    if r2 <= 1e-10 * g[(k, k)].max(f64::MIN_POSITIVE) {
                        return Err(Error::InvalidData {
                            row: None,
                            reason: format!(
                                "design column `{}` is constant or a linear combination of the columns before it",
                                names[k]
                            ),
                        });
                    }
                    l[(k, k)] = r2.sqrt();
                } else if l[(j, j)] > 0.0 {
                    l[(k, j)] = (gkj - s) / l[(j, j)];
                }
            }
        }
    }
    Ok(sq)
}

/// Rows per chunk of the Gram sums (fixed: the same digits on any number of threads).
const GRAM_CHUNK: usize = 4096;

/// Lower triangle (row-major, `cols` × `cols`, b ≤ a) of Σ wᵢ xᵢxᵢᵀ over the row-major
/// `m`; rows summed in fixed chunks (in parallel on large designs), chunks added in order.
fn gram(m: &[f64], w: &[f64], cols: usize) -> Vec<f64> {
    fn chunk_sum(m: &[f64], w: &[f64], cols: usize) -> Vec<f64> {
        macro_rules! by_p {
            ($($n:literal)*) => {
                match cols {
                    $($n => gram_p::<$n>(m, w),)*
                    _ => gram_dyn(m, w, cols),
                }
            };
        }
        by_p!(1 2 3 4 5 6 7 8 9 10 11 12)
    }
    let n = w.len();
    let chunks = n.div_ceil(GRAM_CHUNK);
    let part = |c: usize| {
        let (lo, hi) = (c * GRAM_CHUNK, ((c + 1) * GRAM_CHUNK).min(n));
        chunk_sum(&m[lo * cols..hi * cols], &w[lo..hi], cols)
    };
    let parts: Vec<Vec<f64>> = if n >= 2 * GRAM_CHUNK {
        use rayon::prelude::*;
        (0..chunks).into_par_iter().map(part).collect()
    } else {
        (0..chunks).map(part).collect()
    };
    let mut acc = vec![0.0; cols * cols];
    for p in &parts {
        for (a, b) in acc.iter_mut().zip(p) {
            *a += b;
        }
    }
    acc
}

/// [`gram`] on one chunk with `P` columns (unrolled).
#[allow(clippy::needless_range_loop)]
fn gram_p<const P: usize>(m: &[f64], w: &[f64]) -> Vec<f64> {
    let mut h = [[0.0; P]; P];
    let (rows, _) = m.as_chunks::<P>();
    for (r, &w) in rows.iter().zip(w) {
        for a in 0..P {
            let wa = w * r[a];
            for b in 0..=a {
                h[a][b] += wa * r[b];
            }
        }
    }
    h.iter().flatten().copied().collect()
}

/// [`gram`] on one chunk, any number of columns.
fn gram_dyn(m: &[f64], w: &[f64], cols: usize) -> Vec<f64> {
    let mut acc = vec![0.0; cols * cols];
    for (r, &w) in m.chunks_exact(cols).zip(w) {
        for a in 0..cols {
            let wa = w * r[a];
            for (gb, rb) in acc[a * cols..a * cols + a + 1].iter_mut().zip(r) {
                *gb += wa * rb;
            }
        }
    }
    acc
}

/// `family ~ a + b` (or `~ 1`).
pub(crate) fn model_label(f: Family, covs: &[String]) -> String {
    if covs.is_empty() {
        format!("{} ~ 1", f.label())
    } else {
        format!("{} ~ {}", f.label(), covs.join(" + "))
    }
}

fn default_start(fam: Family, d: &Design) -> Vec<f64> {
    let mut s = vec![0.0; d.p()];
    let wsum = |pred: &dyn Fn(u64) -> bool| -> f64 {
        (0..d.n()).filter(|&i| pred(d.y[i])).map(|i| d.w[i]).sum()
    };
    s[0] = match fam {
        Family::Chao | Family::Zelterman => {
            let (f1, f2) = (wsum(&|y| y == 1), wsum(&|y| y == 2));
            ((f2 + 0.5) / (f1 + 0.5)).ln()
        }
        _ => {
            let n: f64 = d.w.iter().sum();
            let m: f64 = (0..d.n()).map(|i| d.w[i] * d.y[i] as f64).sum::<f64>() / n;
            (m - 0.5).max(0.1).ln()
        }
    };
    if d.p2 > 0 {
        s[d.p1] = fam.start_second();
    }
    s
}

impl CountFit {
    /// The coefficient named `name`.
    pub fn coefficient(&self, name: &str) -> Option<f64> {
        self.coef_names
            .iter()
            .position(|n| n == name)
            .map(|i| self.coefficients[i])
    }

    /// The standard error of the coefficient named `name`.
    pub fn std_error(&self, name: &str) -> Option<f64> {
        self.coef_names
            .iter()
            .position(|n| n == name)
            .map(|i| self.std_errors[i])
    }

    /// Akaike information criterion.
    pub fn aic(&self) -> f64 {
        -2.0 * self.log_lik + 2.0 * self.n_params as f64
    }

    /// Bayesian information criterion (n = units observed).
    pub fn bic(&self) -> f64 {
        -2.0 * self.log_lik + self.n_params as f64 * (self.observed as f64).ln()
    }

    /// Variance of N̂ with another coefficient covariance (e.g. a sandwich).
    pub fn variance_with(&self, cov: &DMatrix<f64>) -> PopVariance {
        let (n_hat, ht, grad, _) =
            pop_parts(self.family, &self.design, &self.coefficients, |_| true);
        PopVariance {
            n_hat,
            ht_term: ht,
            delta_term: (grad.transpose() * cov * &grad)[(0, 0)],
        }
    }
}

impl std::fmt::Display for CountFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.estimate.model)?;
        writeln!(
            f,
            "  {:<28} {:>14} {:>12}",
            "coefficient", "estimate", "std. error"
        )?;
        for ((n, c), s) in self
            .coef_names
            .iter()
            .zip(&self.coefficients)
            .zip(&self.std_errors)
        {
            writeln!(f, "  {n:<28} {c:>14.6} {s:>12.6}")?;
        }
        writeln!(
            f,
            "  log-likelihood {:.4}, AIC {:.4}, BIC {:.4}",
            self.log_lik,
            self.aic(),
            self.bic()
        )?;
        if self.degenerate {
            writeln!(
                f,
                "  DEGENERATE FIT: N̂ below is not an estimate of the population size"
            )?;
        }
        write!(f, "{}", self.estimate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{CountData, CovariateValues};

    fn small() -> CountData {
        CountData::from_frequency_table(&[(1, 60), (2, 25), (3, 10), (1, 40), (2, 10), (3, 2)])
            .unwrap()
            .with_covariate(
                "g",
                CovariateValues::categorical(&["a", "a", "a", "b", "b", "b"]),
            )
            .unwrap()
            .with_covariate("c", CovariateValues::Numeric(vec![1.0; 6]))
            .unwrap()
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        let d = small();
        assert!(matches!(
            CountModel::params(Family::ZtPoisson)
                .covariates(&["nope"])
                .fit(&d),
            Err(Error::InvalidParameter {
                name: "covariates",
                ..
            })
        ));
        assert!(matches!(
            CountModel::params(Family::ZtPoisson).level(1.5).fit(&d),
            Err(Error::InvalidParameter { name: "level", .. })
        ));
        // a constant covariate is aliased with the intercept
        let e = CountModel::params(Family::ZtPoisson)
            .covariates(&["c"])
            .fit(&d)
            .unwrap_err();
        assert!(e.to_string().contains("`c`"), "{e}");
        // Chao needs counts 1 or 2; zot models counts ≥ 2
        let ones = CountData::from_frequency_table(&[(3, 5), (4, 2)]).unwrap();
        assert!(matches!(
            CountModel::params(Family::Chao).fit(&ones),
            Err(Error::EstimateDoesNotExist { .. })
        ));
        let only1 = CountData::from_frequency_table(&[(1, 5)]).unwrap();
        assert!(matches!(
            CountModel::params(Family::ZotPoisson).fit(&only1),
            Err(Error::EstimateDoesNotExist { .. })
        ));
    }

    #[test]
    fn all_ones_is_flagged_not_printed_as_a_number() {
        // Nobody seen twice: the ZTP MLE runs to λ → 0 and N̂ → ∞.
        let d = CountData::from_frequency_table(&[(1, 50)]).unwrap();
        let f = CountModel::params(Family::ZtPoisson).fit(&d).unwrap();
        assert!(f.degenerate, "{f}");
        assert!(f.estimate.is_flagged());
        assert!(f.to_string().contains("DEGENERATE"));
    }

    /// 40,000 rows (parallel passes, subsample start) of zero-truncated Poisson and
    /// negative binomial (α = 1) counts drawn with a fixed generator.
    fn large(nb: bool) -> Design {
        let mut s: u64 = 7;
        let mut u = move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let mut d = Design {
            p1: 3,
            p2: usize::from(nb),
            ..Default::default()
        };
        while d.n() < 40_000 {
            let (x1, x2) = (2.0 * u() - 1.0, if u() < 0.4 { 1.0 } else { 0.0 });
            let mut lam = (0.2 + 0.5 * x1 - 0.4 * x2).exp();
            if nb {
                lam *= -u().ln(); // gamma(1, 1) mixing: NB2 with α = 1
            }
            // Poisson(λ) by inversion
            let (mut y, mut p, v) = (0u64, (-lam).exp(), u());
            let mut cdf = p;
            while cdf < v && y < 1000 {
                y += 1;
                p *= lam / y as f64;
                cdf += p;
            }
            if y > 0 {
                d.y.push(y);
                d.w.push(1.0);
                d.x.extend([1.0, x1, x2]);
                if nb {
                    d.z.push(1.0);
                }
            }
        }
        d
    }

    /// The fused fit gives the same digits on 1 and 2 threads, and the maximum and N̂ of
    /// the general damped Newton.
    #[test]
    fn fused_fit_matches_the_general_newton_on_any_thread_count() {
        for (fam, kind) in [
            (Family::ZtPoisson, fused::Kind::ZtPoisson),
            (Family::ZtNegBin, fused::Kind::ZtNegBin),
        ] {
            let d = large(kind == fused::Kind::ZtNegBin);
            let on = |threads: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| fused::fit(kind, &d, None).unwrap_or_else(|| panic!("{fam}")))
            };
            let (a, b) = (on(1), on(2));
            assert_eq!(a.theta, b.theta, "{fam}");
            assert_eq!(a.pass.value.to_bits(), b.pass.value.to_bits(), "{fam}");
            assert_eq!(a.pass.n_hat.to_bits(), b.pass.n_hat.to_bits(), "{fam}");
            assert_eq!(a.pass.hess, b.pass.hess, "{fam}");
            assert!(
                a.stop.converged() && a.stop.iterations() <= 6,
                "{fam} {:?}",
                a.stop
            );
            let mut start = default_start(fam, &d);
            if fam == Family::ZtNegBin {
                start[0] -= 0.5;
            }
            let g = CountModel::params(fam)
                .newton
                .maximize(&LogLik::new(fam, &d), DVector::from_vec(start))
                .unwrap();
            let rel = |x: f64, y: f64| (x - y).abs() / y.abs().max(1e-3);
            for (x, y) in a.theta.iter().zip(g.theta.iter()) {
                assert!(rel(*x, *y) < 1e-8, "{fam}: {:?} vs {:?}", a.theta, g.theta);
            }
            assert!(rel(a.pass.value, g.value) < 1e-12, "{fam}");
            let (n_hat, ht, pg, _) = pop_parts(fam, &d, g.theta.as_slice(), |_| true);
            assert!(
                rel(a.pass.n_hat, n_hat) < 1e-9,
                "{fam}: {} vs {n_hat}",
                a.pass.n_hat
            );
            assert!(
                rel(a.pass.ht, ht) < 1e-6 && (&a.pass.pop_grad - &pg).amax() < 1e-6 * pg.amax()
            );
            assert!(
                (&a.pass.hess - &g.hessian).amax() < 1e-6 * g.hessian.amax(),
                "{fam}"
            );
        }
    }

    #[test]
    fn categorical_names_follow_r() {
        let f = CountModel::params(Family::ZtGeom)
            .covariates(&["g"])
            .fit(&small())
            .unwrap();
        assert_eq!(f.coef_names, vec!["(Intercept)", "gb"]);
        let o = CountModel::params(Family::OiztPoisson)
            .fit(&small())
            .unwrap();
        assert_eq!(o.coef_names, vec!["(Intercept)", "(Intercept):omega"]);
    }
}
