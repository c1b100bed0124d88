//! BCa bootstrap of the stepwise estimate (`SparseMSE::estimatepopulation`).

use super::core;
use super::{StepwiseFit, StepwiseParams, pnorm, qnorm, stepwise};
use crate::data::ListTable;
use crate::error::{Error, Result};
use crate::estimate::{Estimate, Interval, IntervalMethod, Warning, fmt_num};
use rand::Rng;
use rand_distr::{Binomial, Distribution};
use rayon::prelude::*;
use serde::Serialize;
use std::fmt;

/// Settings of [`bootstrap`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapParams {
    /// Number of bootstrap replicates (SparseMSE default 1000).
    pub replicates: usize,
    /// Seed; replicate i draws from `darkfigure::rng::stream(seed, &[i])`.
    pub seed: u64,
    /// Level of the BCa interval reported in the [`Estimate`].
    pub level: f64,
    /// p-value threshold of the stepwise choice (0.02).
    pub pthresh: f64,
    /// Quantiles reported (SparseMSE's `alpha`).
    pub probs: Vec<f64>,
}

impl Default for BootstrapParams {
    fn default() -> Self {
        BootstrapParams {
            replicates: 1000,
            seed: 1234,
            level: 0.95,
            pthresh: 0.02,
            probs: vec![0.025, 0.05, 0.1, 0.16, 0.84, 0.9, 0.95, 0.975],
        }
    }
}

/// Summary of the bootstrap draws of N̂.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrawSummary {
    /// Mean of the finite draws.
    pub mean: f64,
    /// Standard deviation of the finite draws.
    pub sd: f64,
    /// 2.5% quantile (R type 7, as `quantile()`), over all draws.
    pub q025: f64,
    /// Median.
    pub median: f64,
    /// 97.5% quantile.
    pub q975: f64,
    /// Replicates whose estimate does not exist (counted as N̂ = ∞).
    pub n_nonexistent: usize,
}

/// Result of [`bootstrap`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapFit {
    /// The stepwise fit on the data.
    pub point: StepwiseFit,
    /// Settings used.
    pub params: BootstrapParams,
    /// N̂ of every replicate, in replicate order (`f64::INFINITY` where the estimate
    /// of the resample does not exist).
    #[serde(skip)]
    pub draws: Vec<f64>,
    /// Summary of the draws.
    pub summary: DrawSummary,
    /// Bias correction z0 = Φ⁻¹(#{N̂* < N̂}/B).
    pub z0: f64,
    /// Jackknife acceleration â.
    pub ahat: f64,
    /// BCa quantiles at `params.probs`.
    pub bca_quantiles: Vec<f64>,
    /// The adjusted percentiles Φ(z0 + (z0 + z_α)/(1 − â(z0 + z_α))) behind them.
    pub adjusted_probs: Vec<f64>,
    /// Probabilities of `params.probs` whose adjusted percentile lies beyond the range
    /// the draws resolve (type-8 quantile clamped at the smallest or largest draw): the
    /// BCa quantile there is only the bootstrap's extreme, not a limit (SparseMSE prints
    /// such tied values, e.g. Ned's upper quantiles, without saying so).
    pub beyond_range: Vec<f64>,
    /// The estimate with the BCa interval at `params.level` (the model-based log-normal
    /// interval among `other_intervals`).
    pub estimate: Estimate,
}

impl fmt::Display for BootstrapFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.point)?;
        writeln!(
            f,
            "bootstrap: {} replicates (seed {}), mean {}, sd {}, z0 {:.5}, â {:.5}",
            self.params.replicates,
            self.params.seed,
            fmt_num(self.summary.mean),
            fmt_num(self.summary.sd),
            self.z0,
            self.ahat
        )?;
        for ((p, q), a) in self
            .params
            .probs
            .iter()
            .zip(&self.bca_quantiles)
            .zip(&self.adjusted_probs)
        {
            let note = if self.beyond_range.contains(p) {
                "  (extreme draw: beyond the bootstrap's range)"
            } else {
                ""
            };
            writeln!(
                f,
                "  BCa {:>5.1}%  {}  (adjusted percentile {a:.4}){note}",
                p * 100.0,
                fmt_num(*q)
            )?;
        }
        write!(f, "{}", self.estimate)
    }
}

/// Multinomial draw of `n` cases over the cells `rows` with probabilities ∝ `counts`.
fn resample<R: Rng>(rng: &mut R, counts: &[u64], rows: &[usize], n: u64) -> Result<Vec<u64>> {
    let mut out = vec![0u64; counts.len()];
    let mut left = n;
    let mut mass: f64 = rows.iter().map(|&c| counts[c] as f64).sum();
    for (idx, &c) in rows.iter().enumerate() {
        if left == 0 {
            break;
        }
        let w = counts[c] as f64;
        let draw = if idx + 1 == rows.len() {
            left
        } else {
            let p = (w / mass).clamp(0.0, 1.0);
            Binomial::new(left, p)
                .map_err(|e| Error::Numerical {
                    reason: format!("binomial draw: {e}"),
                })?
                .sample(rng)
        };
        out[c] = draw;
        left -= draw;
        mass -= w;
    }
    Ok(out)
}

/// R's `quantile(x, p, type = 8)` (Hyndman & Fan 1996, median-unbiased), on sorted x.
pub(crate) fn quantile_type8(sorted: &[f64], p: f64) -> f64 {
    quantile_ab(sorted, p, 1.0 / 3.0)
}

fn quantile_ab(sorted: &[f64], p: f64, a: f64) -> f64 {
    let n = sorted.len();
    let fuzz = 4.0 * f64::EPSILON;
    let nppm = a + p * (n as f64 + 1.0 - 2.0 * a);
    let j = (nppm + fuzz).floor();
    let mut h = nppm - j;
    if h.abs() < fuzz {
        h = 0.0;
    }
    // x padded as R does: x[1], x[1], x..., x[n], x[n]; qs = x[j + 2].
    let at = |idx: i64| -> f64 {
        // idx is the 1-based index into the padded vector.
        // padded[i] = x[i − 2] (1-based) = sorted[i − 3], clamped at both ends.
        let k = idx - 3;
        sorted[k.clamp(0, n as i64 - 1) as usize]
    };
    let j = j as i64;
    let lo = at(j + 2);
    let hi = at(j + 3);
    if h == 0.0 || lo == hi {
        lo
    } else if h == 1.0 {
        hi
    } else {
        (1.0 - h) * lo + h * hi
    }
}

/// Jackknife acceleration of the BCa interval: the stepwise estimate re-run with one case
/// of each observed history removed. Returns `(â, leave-one-out estimates by history in
/// bit-code order)`; a leave-one-out estimate that does not exist is `f64::INFINITY`
/// (and â is then not finite).
///
/// ```text
/// N̂_(ω) = estimate with one case of history ω removed;  d_ω = Σ n_ω N̂_(ω)/n − N̂_(ω)
/// â     = Σ n_ω d_ω³ / (6 (Σ n_ω d_ω²)^{3/2})
/// ```
///
/// # Errors
/// Errors of the Poisson fits.
///
/// # References
/// `SparseMSE::estimatepopulation` (Chan, Silverman & Vincent 2021, §3.3);
/// Efron (1987) *JASA* 82, 171–185.
pub fn jackknife_acceleration(table: &ListTable, pthresh: f64) -> Result<(f64, Vec<f64>)> {
    let k = table.n_lists();
    let counts = table.counts();
    let rows: Vec<usize> = (1..1 << k).filter(|&c| counts[c] > 0).collect();
    let jack: Vec<f64> = rows
        .par_iter()
        .map(|&c| {
            let mut jc = counts.to_vec();
            jc[c] -= 1;
            Ok(core::replicate_n_hat(&jc, k, &rows, pthresh)?.unwrap_or(f64::INFINITY))
        })
        .collect::<Result<Vec<f64>>>()?;
    let w: Vec<f64> = rows.iter().map(|&c| counts[c] as f64).collect();
    let wsum: f64 = w.iter().sum();
    let jmean = w.iter().zip(&jack).map(|(a, b)| a * b).sum::<f64>() / wsum;
    let (mut s2, mut s3) = (0.0, 0.0);
    for (wi, ji) in w.iter().zip(&jack) {
        let d = jmean - ji;
        s2 += wi * d * d;
        s3 += wi * d * d * d;
    }
    Ok((s3 / (6.0 * s2.powf(1.5)), jack))
}

/// BCa bootstrap interval of the stepwise estimate: multinomial resamples of the
/// observed cells, the stepwise choice re-run in every replicate, jackknife acceleration.
///
/// ```text
/// N̂*_b  = stepwise estimate of resample b,  b = 1..B   (counts ~ Multinomial(n, n_ω/n))
/// z0    = Φ⁻¹( #{N̂*_b < N̂} / B )
/// N̂_(ω) = estimate with one case of history ω removed;  d_ω = Σ n_ω N̂_(ω)/n − N̂_(ω)
/// â     = Σ n_ω d_ω³ / (6 (Σ n_ω d_ω²)^{3/2})
/// limit(α) = quantile_type8( N̂*, Φ(z0 + (z0 + z_α)/(1 − â(z0 + z_α))) )
/// ```
/// Replicates run in parallel (rayon); replicate i uses its own
/// `darkfigure::rng::stream(seed, &[i])` stream, so the draws and limits do
/// not depend on the number of threads. Each resample first drops non-informative lists
/// (a resample may empty a small list). A resample whose selected model fails the
/// existence check (only possible for the main-effects model: every added effect passed
/// it) counts as N̂* = ∞, and an upper limit among such draws is reported as unbounded.
/// That is exact when the failure makes N unbounded (lists without common cases) and
/// conservative when the extended MLE would put the dark figure at 0 (a list nested in
/// another), where SparseMSE's glm returns about n; the count is in
/// [`DrawSummary::n_nonexistent`] and a warning.
///
/// # Errors
/// [`Error::InvalidParameter`] for bad settings; errors of [`stepwise`] on the data;
/// [`Error::EstimateDoesNotExist`] when every draw falls on one side of N̂ (z0 infinite).
///
/// # References
/// `SparseMSE::estimatepopulation` and `bcaconfvalues` (Chan, Silverman & Vincent 2021,
/// §3.3); Efron (1987) *JASA* 82, 171–185; DiCiccio & Efron (1996) *Statist. Sci.* 11.
///
/// # Examples
/// ```
/// use darkfigure::data::ListTable;
/// use darkfigure::sparse::{BootstrapParams, bootstrap};
/// let mut c = vec![0u64; 32];
/// for (code, n) in [(1, 52), (2, 90), (4, 114), (8, 45), (16, 21), (5, 4), (9, 2), (17, 5),
///                   (6, 6), (10, 1), (24, 3), (21, 1), (14, 1)] { c[code] = n; }
/// let t = ListTable::new(["A", "B", "C", "D", "E"].map(String::from).to_vec(), c)?;
/// let b = bootstrap(&t, &BootstrapParams { replicates: 50, ..Default::default() })?;
/// assert!(b.estimate.interval.lower < b.estimate.n_hat);
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn bootstrap(table: &ListTable, params: &BootstrapParams) -> Result<BootstrapFit> {
    crate::ci::check_level(params.level)?;
    if params.replicates < 2 {
        return Err(Error::param("replicates", params.replicates, "at least 2"));
    }
    if let Some(p) = params.probs.iter().find(|p| !(**p > 0.0 && **p < 1.0)) {
        return Err(Error::param(
            "probs",
            p,
            "probabilities strictly between 0 and 1",
        ));
    }
    let sp = StepwiseParams {
        pthresh: params.pthresh,
        level: params.level,
        drop_noninformative: true,
    };
    let point = stepwise(table, &sp)?;
    let popest = point.fit.n_hat;
    let k = table.n_lists();
    let counts = table.counts();
    let n = table.observed();
    let rows: Vec<usize> = (1..1 << k).filter(|&c| counts[c] > 0).collect();
    let pthresh = params.pthresh;

    let draws: Vec<f64> = (0..params.replicates)
        .into_par_iter()
        .map(|i| {
            let mut rng = crate::rng::stream(params.seed, &[i as u64]);
            let rc = resample(&mut rng, counts, &rows, n)?;
            Ok(core::replicate_n_hat(&rc, k, &rows, pthresh)?.unwrap_or(f64::INFINITY))
        })
        .collect::<Result<Vec<f64>>>()?;

    let (ahat, _) = jackknife_acceleration(table, pthresh)?;
    let mut ahat = ahat;
    let mut warnings = Vec::new();
    if !ahat.is_finite() {
        warnings.push(Warning::Other {
            message: "jackknife acceleration undefined (a leave-one-out estimate does not exist or all are equal); â = 0 used".into(),
        });
        ahat = 0.0;
    }

    let below = draws.iter().filter(|&&d| d < popest).count();
    if below == 0 || below == draws.len() {
        return Err(Error::no_estimate(format!(
            "BCa interval: {below} of {} bootstrap estimates lie below N̂ = {}, so the bias correction is infinite",
            draws.len(),
            fmt_num(popest)
        )));
    }
    let z0 = qnorm(below as f64 / draws.len() as f64);
    let mut sorted = draws.clone();
    sorted.sort_by(f64::total_cmp);
    let adjust = |alpha: f64| {
        let za0 = qnorm(alpha) + z0;
        pnorm(z0 + za0 / (1.0 - ahat * za0))
    };
    let nb = sorted.len() as f64;
    let clamped = |q: f64| {
        let nppm = 1.0 / 3.0 + q * (nb + 1.0 / 3.0);
        !q.is_finite() || nppm < 1.0 || nppm >= nb
    };
    let adjusted_probs: Vec<f64> = params.probs.iter().map(|&p| adjust(p)).collect();
    let bca_quantiles: Vec<f64> = adjusted_probs
        .iter()
        .map(|&q| quantile_type8(&sorted, q))
        .collect();
    let beyond_range: Vec<f64> = params
        .probs
        .iter()
        .zip(&adjusted_probs)
        .filter(|(_, q)| clamped(**q))
        .map(|(p, _)| *p)
        .collect();
    let half = (1.0 - params.level) / 2.0;
    let (qlo, qhi) = (adjust(half), adjust(1.0 - half));
    let interval = Interval {
        lower: quantile_type8(&sorted, qlo),
        upper: quantile_type8(&sorted, qhi),
        level: params.level,
        method: IntervalMethod::BootstrapBca,
    };
    for (q, side, extreme) in [(qlo, "lower", "smallest"), (qhi, "upper", "largest")] {
        if clamped(q) {
            warnings.push(Warning::Other {
                message: format!(
                    "the BCa {side} limit is the {extreme} of the {} bootstrap estimates: its adjusted percentile {q:.4} lies beyond what they resolve, so the true limit is further out (more replicates needed, or the bootstrap distribution is degenerate)",
                    sorted.len()
                ),
            });
        }
    }

    let finite: Vec<f64> = draws.iter().copied().filter(|d| d.is_finite()).collect();
    let n_nonexistent = draws.len() - finite.len();
    let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    let sd = if finite.len() > 1 {
        (finite.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (finite.len() - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    let summary = DrawSummary {
        mean,
        sd,
        q025: crate::ci::bootstrap::quantile_sorted(&sorted, 0.025),
        median: crate::ci::bootstrap::quantile_sorted(&sorted, 0.5),
        q975: crate::ci::bootstrap::quantile_sorted(&sorted, 0.975),
        n_nonexistent,
    };

    let p = &point.estimate;
    let mut estimate = Estimate::new(
        format!("{} + BCa bootstrap", super::METHOD),
        p.model.clone(),
        p.n_hat,
        p.se,
        interval,
        p.observed,
    )
    .with_assumptions(&p.assumptions)
    .with_other_interval(p.interval);
    if let Some(fs) = p.fit {
        estimate = estimate.with_fit(fs);
    }
    for w in p.warnings.iter().cloned().chain(warnings) {
        estimate = estimate.with_warning(w);
    }
    if n_nonexistent > 0 {
        estimate = estimate.with_warning(Warning::Other {
            message: format!(
                "{n_nonexistent} of {} bootstrap resamples have no estimate (counted as N̂* = ∞)",
                draws.len()
            ),
        });
    }
    if interval.is_unbounded_above() {
        estimate = estimate.with_warning(Warning::UnboundedInterval {
            reason: "the upper BCa quantile falls among resamples whose estimate does not exist"
                .into(),
        });
    }
    Ok(BootstrapFit {
        point,
        params: params.clone(),
        draws,
        summary,
        z0,
        ahat,
        bca_quantiles,
        adjusted_probs,
        beyond_range,
        estimate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type8_matches_r() {
        // R: quantile(1:10, c(0.01, 0.25, 0.5, 0.99), type = 8) = 1, 2.916667, 5.5, 10
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_type8(&x, 0.01), 1.0);
        assert!((quantile_type8(&x, 0.25) - 2.916_666_666_666_667).abs() < 1e-12);
        assert!((quantile_type8(&x, 0.5) - 5.5).abs() < 1e-12);
        assert_eq!(quantile_type8(&x, 0.99), 10.0);
    }

    #[test]
    fn resample_keeps_total() {
        let counts = [0, 5, 7, 0, 9];
        let mut rng = crate::rng::stream(1, &[]);
        let r = resample(&mut rng, &counts, &[1, 2, 4], 21).unwrap();
        assert_eq!(r.iter().sum::<u64>(), 21);
        assert_eq!(r[3], 0);
    }
}
