//! The posterior of a total over strata analysed independently: the sum of independent
//! stratum totals N = N₁ + … + N_S, from each stratum's posterior.
//!
//! ```text
//! dga:    P(N = k) = Σ_{k₁+…+k_S = k} Π_s P(N_s = k_s)      (the pmfs convolved)
//! LCMCR:  N⁽ᶜ,ⁱ⁾ = Σ_s N_s⁽ᶜ,ⁱ⁾                             (draw i of chain c, summed)
//! ```
//!
//! The strata's samplers must run on independent random streams (different seeds), or the
//! summed draws share their randomness and the total's spread is wrong.

use super::Posterior;
use super::dga::{DgaFit, grid_posterior};
use super::diag::{Diagnostic, Diagnostics};
use super::lcmcr::{LcmcrFit, summarise_draws};
use crate::error::{Error, Result};

/// Mass left off each end of a stratum's posterior before the convolution (at most twice
/// this per stratum is dropped; the result is renormalised).
pub const TAIL_TRIM: f64 = 1e-12;

/// A stratum's pmf on a grid of consecutive whole numbers, without the ends that hold less
/// than [`TAIL_TRIM`]: `(first N, probabilities)`.
fn trimmed(fit: &DgaFit) -> Result<(f64, Vec<f64>)> {
    let g = &fit.n_grid;
    if g.is_empty() || g.windows(2).any(|w| w[1] - w[0] != 1.0) {
        return Err(Error::invalid(
            "the total over strata needs each stratum's dga grid to be every whole number in \
             a range",
        ));
    }
    let p = &fit.posterior_n;
    let (mut lo, mut acc) = (0, 0.0);
    while lo + 1 < p.len() && acc + p[lo] < TAIL_TRIM {
        acc += p[lo];
        lo += 1;
    }
    let (mut hi, mut acc) = (p.len() - 1, 0.0);
    while hi > lo && acc + p[hi] < TAIL_TRIM {
        acc += p[hi];
        hi -= 1;
    }
    Ok((g[lo], p[lo..=hi].to_vec()))
}

/// The posterior of the sum of the strata's N from their dga fits: the pmfs convolved
/// (each trimmed of [`TAIL_TRIM`] at either end, the result renormalised), with its
/// summary and central credible interval at `level`.
///
/// # Errors
/// [`Error::InvalidData`] with no fit, or a grid that is not every whole number in a range.
pub fn dga_total(fits: &[&DgaFit], level: f64) -> Result<(Posterior, (f64, f64))> {
    let Some((first, rest)) = fits.split_first() else {
        return Err(Error::invalid("no stratum to add up"));
    };
    let (mut start, mut pmf) = trimmed(first)?;
    for fit in rest {
        let (s, q) = trimmed(fit)?;
        let mut out = vec![0.0; pmf.len() + q.len() - 1];
        for (i, &a) in pmf.iter().enumerate() {
            if a == 0.0 {
                continue;
            }
            for (o, &b) in out[i..].iter_mut().zip(&q) {
                *o += a * b;
            }
        }
        start += s;
        pmf = out;
    }
    let total: f64 = pmf.iter().sum();
    pmf.iter_mut().for_each(|p| *p /= total);
    let grid: Vec<f64> = (0..pmf.len()).map(|i| start + i as f64).collect();
    Ok(grid_posterior(&grid, &pmf, level))
}

/// The posterior of the sum of the strata's N from their LCMCR draws: draw i of chain c
/// summed over the strata (the chains cut to the shortest one's length, so that they stay
/// of equal length), summarised as [`summarise_draws`] does. The diagnostics are the worse
/// of the summed chains' and every stratum's own (the largest R̂, the smallest ESS), so a
/// total has mixed only when each of its strata has.
///
/// # Errors
/// [`Error::InvalidData`] with no fit, or fits with different numbers of chains.
pub fn lcmcr_total(fits: &[&LcmcrFit], level: f64) -> Result<Posterior> {
    let Some(first) = fits.first() else {
        return Err(Error::invalid("no stratum to add up"));
    };
    let chains = first.draws.len();
    if chains == 0 || fits.iter().any(|f| f.draws.len() != chains) {
        return Err(Error::invalid(
            "the total over strata needs the same number of LCMCR chains in every stratum",
        ));
    }
    let len = fits
        .iter()
        .flat_map(|f| f.draws.iter().map(Vec::len))
        .min()
        .unwrap_or(0);
    if len < 4 {
        return Err(Error::invalid(
            "too few LCMCR draws per chain to add the strata up",
        ));
    }
    let summed: Vec<Vec<f64>> = (0..chains)
        .map(|c| {
            (0..len)
                .map(|i| fits.iter().map(|f| f.draws[c][i]).sum())
                .collect()
        })
        .collect();
    let worse = |a: Diagnostic, b: Diagnostic| Diagnostic {
        rhat: a.rhat.max(b.rhat),
        ess_bulk: a.ess_bulk.min(b.ess_bulk),
        ess_tail: a.ess_tail.min(b.ess_tail),
    };
    let own = fits.iter().filter_map(|f| f.posterior.diagnostics);
    let n = own
        .clone()
        .map(|d| d.n)
        .fold(Diagnostic::of(&summed), worse);
    let alpha = own.map(|d| d.alpha).reduce(worse).unwrap_or(Diagnostic {
        rhat: f64::NAN,
        ess_bulk: f64::NAN,
        ess_tail: f64::NAN,
    });
    let diagnostics = Diagnostics {
        chains,
        draws_per_chain: len,
        n,
        alpha,
    };
    Ok(summarise_draws(&summed, level, Some(diagnostics)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayes::{DgaParams, LcmcrParams, NGrid, bma, lcmcr};
    use crate::data::ListTable;

    fn table(y: Vec<u64>) -> ListTable {
        ListTable::new(vec!["A".into(), "B".into(), "C".into()], y).unwrap()
    }

    /// The convolution against a brute-force double sum over both grids.
    #[test]
    fn dga_total_is_the_convolution_of_the_strata() {
        let p = DgaParams {
            grid: NGrid::Range { from: 0, to: 300 },
            ..Default::default()
        };
        let a = bma(&table(vec![0, 30, 25, 8, 20, 6, 5, 3]), None, &p).unwrap();
        let b = bma(&table(vec![0, 12, 9, 4, 10, 2, 3, 1]), None, &p).unwrap();
        let (post, (lo, hi)) = dga_total(&[&a, &b], 0.95).unwrap();
        let mut brute = std::collections::BTreeMap::<i64, f64>::new();
        for (na, pa) in a.n_grid.iter().zip(&a.posterior_n) {
            for (nb, pb) in b.n_grid.iter().zip(&b.posterior_n) {
                *brute.entry((na + nb) as i64).or_default() += pa * pb;
            }
        }
        let mean: f64 = brute.iter().map(|(n, p)| *n as f64 * p).sum();
        assert!(
            (post.mean - mean).abs() < 1e-6 * mean,
            "{} {mean}",
            post.mean
        );
        assert!((post.mean - a.posterior.mean - b.posterior.mean).abs() < 1e-6 * mean);
        let var = a.posterior.sd.powi(2) + b.posterior.sd.powi(2);
        assert!((post.sd.powi(2) - var).abs() < 1e-6 * var);
        let cdf_at = |x: f64| brute.range(..=(x as i64)).map(|(_, p)| p).sum::<f64>();
        assert!(cdf_at(post.median) >= 0.5 && cdf_at(post.median - 1.0) < 0.5);
        assert!(cdf_at(lo) >= 0.025 && cdf_at(lo - 1.0) < 0.025);
        assert!(cdf_at(hi) >= 0.975 && cdf_at(hi - 1.0) < 0.975);
    }

    /// Summed draws: their mean is the sum of the strata's means, and a total of one
    /// stratum is that stratum's posterior.
    #[test]
    fn lcmcr_total_sums_draw_by_draw() {
        let p = |seed| LcmcrParams {
            k: 5,
            burnin: 200,
            samples: 200,
            thinning: 2,
            max_samples: 200,
            chains: 2,
            seed,
            ..Default::default()
        };
        let a = lcmcr(&table(vec![0, 30, 25, 8, 20, 6, 5, 3]), &p(1)).unwrap();
        let b = lcmcr(&table(vec![0, 12, 9, 4, 10, 2, 3, 1]), &p(2)).unwrap();
        let t = lcmcr_total(&[&a, &b], 0.95).unwrap();
        let m = a.posterior.mean + b.posterior.mean;
        assert!((t.mean - m).abs() < 1e-9 * m, "{} {m}", t.mean);
        let one = lcmcr_total(&[&a], 0.95).unwrap();
        assert_eq!(one.median, a.posterior.median);
        assert_eq!(one.quantiles, a.posterior.quantiles);
        let d = t.diagnostics.unwrap();
        let (da, db) = (
            a.posterior.diagnostics.unwrap(),
            b.posterior.diagnostics.unwrap(),
        );
        assert!(d.n.rhat >= da.n.rhat.max(db.n.rhat));
        assert!(d.n.ess_bulk <= da.n.ess_bulk.min(db.n.ess_bulk));
        assert!(lcmcr_total(&[], 0.95).is_err());
    }
}
