//! The numerical core shared by the one-shot fit, the bootstrap and the jackknife:
//! designs on the 2^k − 1 cells, the existence/identifiability check, the Poisson fit,
//! the Poisson p-values and the stepwise search. Works on raw `(k, counts)` tables so
//! that bootstrap replicates allocate little.

use super::lp;
use crate::error::{Error, Result};
use crate::glm::{GlmFit, PoissonGlm};
use nalgebra::DMatrix;
use statrs::function::gamma::ln_gamma;

/// A pair of lists (0-based, `i < j`).
pub(crate) type Pair = (usize, usize);

/// All pairs in SparseMSE's order: (1,2), (1,3), …, (1,k), (2,3), …
pub(crate) fn all_pairs(k: usize) -> Vec<Pair> {
    let mut v = Vec::with_capacity(k * (k - 1) / 2);
    for i in 0..k {
        for j in i + 1..k {
            v.push((i, j));
        }
    }
    v
}

/// Number of triples of lists whose three pairs all overlap (`SparseMSE::count_triples`).
pub(crate) fn count_triples(counts: &[u64], k: usize) -> usize {
    let ov: Vec<Vec<bool>> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| i != j && overlap(counts, (i.min(j), i.max(j))) > 0)
                .collect()
        })
        .collect();
    let mut n = 0;
    for a in 0..k {
        for b in a + 1..k {
            for c in b + 1..k {
                if ov[a][b] && ov[a][c] && ov[b][c] {
                    n += 1;
                }
            }
        }
    }
    n
}

/// Cases on both lists of a pair, whatever else they are on.
pub(crate) fn overlap(counts: &[u64], (i, j): Pair) -> u64 {
    let mask = (1usize << i) | (1usize << j);
    counts
        .iter()
        .enumerate()
        .filter(|(c, _)| c & mask == mask)
        .map(|(_, &v)| v)
        .sum()
}

/// The design of a model on the cells that remain once the cells holding an empty
/// overlap of the model are removed (their expected counts are 0 in the extended MLE).
pub(crate) struct Design {
    /// Bit codes of the cells kept (rows).
    pub cells: Vec<usize>,
    /// Pairs of the model whose overlap is not empty (interaction columns, in order).
    pub active: Vec<Pair>,
    /// Pairs of the model whose overlap is empty (parameter −∞, cells removed).
    pub empty: Vec<Pair>,
    /// Row-major design: intercept, k main effects, active pairs.
    pub x: Vec<f64>,
    /// Number of columns.
    pub p: usize,
}

pub(crate) fn build_design(counts: &[u64], k: usize, pairs: &[Pair]) -> Design {
    let mut active = Vec::new();
    let mut empty = Vec::new();
    for &pr in pairs {
        if overlap(counts, pr) == 0 {
            empty.push(pr);
        } else {
            active.push(pr);
        }
    }
    let masks: Vec<usize> = empty.iter().map(|&(i, j)| (1 << i) | (1 << j)).collect();
    let cells: Vec<usize> = (1..1usize << k)
        .filter(|c| masks.iter().all(|m| c & m != *m))
        .collect();
    let p = 1 + k + active.len();
    let mut x = vec![0.0; cells.len() * p];
    for (r, &c) in cells.iter().enumerate() {
        let row = &mut x[r * p..(r + 1) * p];
        row[0] = 1.0;
        for l in 0..k {
            row[1 + l] = ((c >> l) & 1) as f64;
        }
        for (a, &(i, j)) in active.iter().enumerate() {
            row[1 + k + a] = ((c >> i) & (c >> j) & 1) as f64;
        }
    }
    Design {
        cells,
        active,
        empty,
        x,
        p,
    }
}

/// Result of the existence (linear program) and identifiability (rank) checks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawVerdict {
    pub lp_objective: f64,
    pub exists: bool,
    pub rank_deficiency: usize,
}

/// SparseMSE `checkident`: the extended MLE exists iff some strictly positive table has
/// the observed sufficient statistics, i.e. iff the LP `max s: Aᵀy = t, y ≥ s ≥ 0` has a
/// positive optimum (Fienberg & Rinaldo 2012); identifiable iff the design restricted to
/// the remaining cells has full column rank.
pub(crate) fn check(counts: &[u64], k: usize, pairs: &[Pair]) -> RawVerdict {
    let d = build_design(counts, k, pairs);
    let m = d.cells.len();
    let p = d.p;
    let n: f64 = counts.iter().sum::<u64>() as f64;
    let rankdef = p - lp::rank(&d.x, m, p);
    // Variables y_1..y_m, s (x = y + s·1): Aᵀ y + s·Aᵀ1 = t/n.
    let cols = m + 1;
    let mut a = vec![0.0; p * cols];
    let mut b = vec![0.0; p];
    for (r, &c) in d.cells.iter().enumerate() {
        let cnt = counts[c] as f64 / n;
        for j in 0..p {
            let v = d.x[r * p + j];
            if v != 0.0 {
                a[j * cols + r] = v;
                a[j * cols + m] += v;
                b[j] += v * cnt;
            }
        }
    }
    let mut obj = vec![0.0; cols];
    obj[m] = 1.0;
    let s = lp::maximize(&obj, &a, &b, p, cols).unwrap_or(0.0);
    RawVerdict {
        lp_objective: s * n,
        exists: s > 1e-10,
        rank_deficiency: rankdef,
    }
}

/// A fitted model on a raw table.
pub(crate) struct RawFit {
    pub design: Design,
    pub glm: GlmFit,
    /// Observed total (cases on at least one list of this table).
    pub observed: u64,
}

impl RawFit {
    /// N̂ = n + exp(intercept).
    pub fn n_hat(&self) -> f64 {
        self.observed as f64 + self.glm.coefficients[0].exp()
    }
}

pub(crate) fn fit(counts: &[u64], k: usize, pairs: &[Pair]) -> Result<RawFit> {
    let design = build_design(counts, k, pairs);
    let m = design.cells.len();
    let x = DMatrix::from_row_slice(m, design.p, &design.x);
    let y: Vec<f64> = design.cells.iter().map(|&c| counts[c] as f64).collect();
    let glm = PoissonGlm::params()
        .epsilon(R_GLM_EPSILON)
        .fit_dense(&x, &y, None, None)?;
    if glm.coefficients[0].is_nan() {
        return Err(Error::no_estimate("the intercept (dark figure) is aliased"));
    }
    Ok(RawFit {
        design,
        glm,
        observed: counts.iter().sum(),
    })
}

/// R's `glm.control()$epsilon`: SparseMSE's fits stop at this relative change in
/// deviance, and the stepwise choice and N̂ are reproduced by stopping at the same
/// iterate (the engine's iterates are R's: same start μ = y + 0.1, same criterion), and
/// the standard errors are R's `summary.glm` ones (covariance at the last step's weights).
pub(crate) const R_GLM_EPSILON: f64 = 1e-8;

/// ln P(X = x) for X ~ Poisson(λ), λ > 0.
fn ln_pmf(x: u64, lambda: f64) -> f64 {
    x as f64 * lambda.ln() - lambda - ln_gamma(x as f64 + 1.0)
}

/// SparseMSE's two-sided-by-minimum Poisson p-value `min(P(X ≤ n), P(X ≥ n))`,
/// X ~ Poisson(λ), computed by summing the short tail so that tiny p-values keep their
/// relative precision (R's `ppois`).
pub(crate) fn poisson_p(n: u64, lambda: f64) -> f64 {
    if lambda.is_nan() || lambda <= 0.0 {
        // X = 0 surely: P(X ≤ n) = 1, P(X ≥ n) = [n = 0].
        return if n == 0 { 1.0 } else { 0.0 };
    }
    let pk = ln_pmf(n, lambda).exp();
    if (n as f64) <= lambda {
        // Lower tail: Σ_{x ≤ n} pmf(x), summed downward from n.
        let mut term = pk;
        let mut sum = pk;
        let mut x = n;
        while x > 0 {
            term *= x as f64 / lambda;
            x -= 1;
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
        }
        let lower = sum.min(1.0);
        let upper = (1.0 - lower + pk).clamp(0.0, 1.0);
        lower.min(upper)
    } else {
        // Upper tail: Σ_{x ≥ n} pmf(x), summed upward from n.
        let mut term = pk;
        let mut sum = pk;
        let mut x = n;
        loop {
            x += 1;
            term *= lambda / x as f64;
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
        }
        let upper = sum.min(1.0);
        let lower = (1.0 - upper + pk).clamp(0.0, 1.0);
        lower.min(upper)
    }
}

/// One step of the stepwise search.
#[derive(Debug, Clone)]
pub(crate) struct RawStep {
    pub pair: Pair,
    pub p_value: f64,
    /// Candidates with a smaller p-value skipped because they failed `checkident`.
    pub rejected: Vec<(Pair, u8)>,
}

pub(crate) struct RawStepwise {
    pub pairs: Vec<Pair>,
    pub steps: Vec<RawStep>,
    pub fit: RawFit,
}

/// SparseMSE `stepwisefit`: forward selection of two-list effects by the Poisson
/// p-value of each candidate's total overlap under the current model; a candidate that
/// fails `checkident` is never added; ties go to the earlier pair.
pub(crate) fn stepwise(counts: &[u64], k: usize, pthresh: f64) -> Result<RawStepwise> {
    let ints = all_pairs(k);
    let nstar: Vec<u64> = ints.iter().map(|&pr| overlap(counts, pr)).collect();
    let mut pairs: Vec<Pair> = Vec::new();
    let mut included = vec![false; ints.len()];
    let mut steps = Vec::new();
    if pthresh >= 1.0 {
        // SparseMSE: with pthresh = 1 the model with every pair is used when it passes.
        let v = check(counts, k, &ints);
        if v.exists && v.rank_deficiency == 0 {
            return Ok(RawStepwise {
                pairs: ints.clone(),
                steps,
                fit: fit(counts, k, &ints)?,
            });
        }
    }
    let mut cur = fit(counts, k, &pairs)?;
    if pthresh <= 0.0 {
        return Ok(RawStepwise {
            pairs,
            steps,
            fit: cur,
        });
    }
    loop {
        let mu = &cur.glm.fitted;
        let mut cand: Vec<(f64, usize)> = Vec::new();
        for (idx, &(i, j)) in ints.iter().enumerate() {
            if included[idx] {
                continue;
            }
            let mask = (1usize << i) | (1usize << j);
            let pstar: f64 = cur
                .design
                .cells
                .iter()
                .enumerate()
                .filter(|(_, c)| *c & mask == mask)
                .map(|(r, _)| mu[r])
                .sum();
            cand.push((poisson_p(nstar[idx], pstar), idx));
        }
        cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut chosen = None;
        let mut rejected = Vec::new();
        for &(pv, idx) in &cand {
            if pv.is_nan() || pv >= pthresh {
                break;
            }
            let mut trial = pairs.clone();
            trial.push(ints[idx]);
            let v = check(counts, k, &trial);
            let code = u8::from(!v.exists) + 2 * u8::from(v.rank_deficiency > 0);
            if code == 0 {
                chosen = Some((pv, idx));
                break;
            }
            rejected.push((ints[idx], code));
        }
        let Some((pv, idx)) = chosen else { break };
        pairs.push(ints[idx]);
        included[idx] = true;
        steps.push(RawStep {
            pair: ints[idx],
            p_value: pv,
            rejected,
        });
        cur = fit(counts, k, &pairs)?;
        if included.iter().all(|&b| b) {
            break;
        }
    }
    Ok(RawStepwise {
        pairs,
        steps,
        fit: cur,
    })
}

/// Why a list was dropped as non-informative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropReason {
    Duplicate(usize),
    Empty,
    ContainsAll,
}

pub(crate) struct Reduced {
    pub kept: Vec<usize>,
    pub counts: Vec<u64>,
    pub dropped: Vec<(usize, DropReason)>,
}

/// SparseMSE `removenoninformativelists`: drop a list whose column duplicates an earlier
/// one over the rows `rows` (the histories of the data set), then lists holding no case
/// or every case. Cases left on no remaining list join the unobserved cell.
pub(crate) fn reduce(counts: &[u64], k: usize, rows: &[usize]) -> Reduced {
    let mut dropped = Vec::new();
    let mut uniq: Vec<usize> = Vec::new();
    for j in 0..k {
        match uniq
            .iter()
            .find(|&&l| rows.iter().all(|&c| (c >> l) & 1 == (c >> j) & 1))
        {
            Some(&l) => dropped.push((j, DropReason::Duplicate(l))),
            None => uniq.push(j),
        }
    }
    let n: u64 = counts.iter().sum();
    let mut kept = Vec::new();
    for &j in &uniq {
        let tot: u64 = counts
            .iter()
            .enumerate()
            .filter(|(c, _)| (c >> j) & 1 == 1)
            .map(|(_, &v)| v)
            .sum();
        if tot == 0 {
            dropped.push((j, DropReason::Empty));
        } else if tot == n {
            dropped.push((j, DropReason::ContainsAll));
        } else {
            kept.push(j);
        }
    }
    dropped.sort_by_key(|d| d.0);
    if kept.len() == k {
        return Reduced {
            kept,
            counts: counts.to_vec(),
            dropped,
        };
    }
    let mut out = vec![0u64; 1 << kept.len()];
    for (c, &v) in counts.iter().enumerate() {
        if v == 0 {
            continue;
        }
        let mut code = 0;
        for (b, &j) in kept.iter().enumerate() {
            code |= ((c >> j) & 1) << b;
        }
        out[code] += v;
    }
    out[0] = 0;
    Reduced {
        kept,
        counts: out,
        dropped,
    }
}

/// Point estimate of one (resampled) table as `estimatepopulation.0(method =
/// "stepwise")` after dropping non-informative lists: `Ok(None)` when the estimate does
/// not exist (fewer than two informative lists, or a selected model without MLE).
pub(crate) fn replicate_n_hat(
    counts: &[u64],
    k: usize,
    rows: &[usize],
    pthresh: f64,
) -> Result<Option<f64>> {
    let red = reduce(counts, k, rows);
    let kk = red.kept.len();
    if kk < 2 {
        return Ok(None);
    }
    let sw = stepwise(&red.counts, kk, pthresh)?;
    if sw.pairs.is_empty() {
        let v = check(&red.counts, kk, &[]);
        if !v.exists || v.rank_deficiency > 0 {
            return Ok(None);
        }
    }
    // Cases only on a dropped list count as unseen by the remaining lists: N̂ is
    // estimated from those lists alone (as SparseMSE, whose total sums the fit's cells).
    let nh = sw.fit.n_hat();
    Ok(if nh.is_finite() { Some(nh) } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_p_matches_direct_sums() {
        // P(X ≤ 2; 5) = e^-5 (1 + 5 + 12.5)
        let lower = (-5f64).exp() * 18.5;
        assert!((poisson_p(2, 5.0) - lower).abs() < 1e-15);
        // P(X ≥ 12; 3): tiny, relative precision kept.
        let mut up = 0.0;
        for x in 12..60u64 {
            up += (x as f64 * 3f64.ln() - 3.0 - ln_gamma(x as f64 + 1.0)).exp();
        }
        assert!((poisson_p(12, 3.0) / up - 1.0).abs() < 1e-12);
        assert_eq!(poisson_p(0, 0.0), 1.0);
    }
}
