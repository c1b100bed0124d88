//! Diagnostics: observed against fitted count frequencies with χ² and G tests, and
//! population size by stratum.

use super::design::Design;
use super::fit::{CountFit, pop_parts};
use crate::ci;
use crate::data::CountData;
use crate::error::{Error, Result};
use crate::estimate::Interval;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Observed and fitted frequencies of each count (as singleRcapture's `marginalFreq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginalFreq {
    /// Family label.
    pub family: String,
    /// Fitted number of units never recorded, N̂ − n.
    pub fitted_zeros: f64,
    /// `(k, observed f_k, fitted f_k)` for every count k from 1 to the largest observed
    /// (at most [`DENSE_COUNTS`]), then for each larger count observed, in increasing k.
    pub table: Vec<(u64, u64, f64)>,
    /// Number of coefficients (for the default degrees of freedom).
    pub n_params: usize,
}

/// A goodness-of-fit test of the fitted count frequencies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GofTest {
    /// Pearson χ² = Σ (O − E)²/E.
    pub chi2: f64,
    /// G = 2 Σ O ln(O/E).
    pub g: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// P(χ²_df > chi2).
    pub p_chi2: f64,
    /// P(χ²_df > g).
    pub p_g: f64,
}

/// Counts up to this value get a row of [`MarginalFreq::table`] each, observed or not;
/// above it only the counts somebody had (a count nobody had adds nothing to the tests,
/// and a table to a count of 10⁶ would cost a million probabilities per fitted unit).
pub const DENSE_COUNTS: u64 = 1000;

/// Fitted frequencies of counts under a fitted model: every count from 1 to the largest
/// observed or [`DENSE_COUNTS`], whichever is smaller, then each larger count observed.
///
/// ```text
/// Ê f_k = Σᵢ wᵢ P(y = k | η̂ᵢ, y ≥ 1)
/// ```
/// For Chao and Zelterman the zero-truncated Poisson with their λ; for zero-one-truncated
/// models the fitted frequency of 1 is the observed f1 (it is not modelled). The work is
/// (fitted rows) × (counts in the table), not (fitted rows) × (largest count).
///
/// # References
/// singleRcapture 0.2.3 `marginalFreq` (whose table runs to the largest count; the rows
/// left out here have no observations, and its χ² and G tests drop such cells).
pub fn marginal_freq(fit: &CountFit) -> MarginalFreq {
    let d = &fit.design;
    let max = d.y.iter().copied().max().unwrap_or(1);
    let dense = max.min(DENSE_COUNTS) as usize;
    let mut obs = vec![0u64; dense + 1];
    let mut sparse_obs = std::collections::BTreeMap::<u64, u64>::new();
    for i in 0..d.n() {
        let w = d.w[i].round() as u64;
        match d.y[i] {
            y if y as usize <= dense => obs[y as usize] += w,
            y => *sparse_obs.entry(y).or_default() += w,
        }
    }
    let sparse: Vec<u64> = sparse_obs.keys().copied().collect();
    let zot = matches!(
        fit.family,
        super::Family::ZotPoisson | super::Family::ZotGeom | super::Family::ZotNegBin
    );
    // Fixed chunks of rows, summed in chunk order: the same digits on any number of
    // threads. Entries 0..=dense are the dense counts, then one per sparse count.
    const CHUNK: usize = 8192;
    let chunk = |c: usize| -> Vec<f64> {
        let mut fitted = vec![0.0; dense + 1 + sparse.len()];
        let mut pk = vec![0.0; dense + 1];
        for i in c * CHUNK..((c + 1) * CHUNK).min(d.n()) {
            let (e1, e2) = d.etas(i, &fit.coefficients);
            if !fit.family.observed_pmfs(e1, e2, &mut pk) {
                for (k, p) in pk.iter_mut().enumerate().skip(1) {
                    *p = fit.family.observed_pmf(k as u64, e1, e2);
                }
            }
            for (f, p) in fitted.iter_mut().zip(&pk).skip(1) {
                *f += d.w[i] * p;
            }
            for (f, &k) in fitted[dense + 1..].iter_mut().zip(&sparse) {
                *f += d.w[i] * fit.family.observed_pmf(k, e1, e2);
            }
        }
        fitted
    };
    let parts: Vec<Vec<f64>> = (0..d.n().div_ceil(CHUNK))
        .into_par_iter()
        .map(chunk)
        .collect();
    let mut fitted = vec![0.0; dense + 1 + sparse.len()];
    for p in parts {
        fitted.iter_mut().zip(&p).for_each(|(f, v)| *f += v);
    }
    if zot && dense >= 1 {
        fitted[1] = obs[1] as f64;
    }
    let mut table: Vec<(u64, u64, f64)> =
        (1..=dense).map(|k| (k as u64, obs[k], fitted[k])).collect();
    table.extend(
        sparse
            .iter()
            .zip(&fitted[dense + 1..])
            .map(|(&k, &e)| (k, sparse_obs[&k], e)),
    );
    MarginalFreq {
        family: fit.family.label().to_string(),
        fitted_zeros: fit.estimate.n_hat - fit.observed as f64,
        table,
        n_params: fit.n_params,
    }
}

impl MarginalFreq {
    /// χ² and G tests over the observed count values, cells with fitted frequency below
    /// 5 grouped into one (singleRcapture `summary(marginalFreq(fit), df, dropl5 =
    /// "group")`); zero-one-truncated models leave out the count 1. `df` defaults to
    /// cells − coefficients (at least 1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive `df`.
    pub fn gof(&self, df: Option<f64>) -> Result<GofTest> {
        let zot = self.family.starts_with("zot");
        let cells: Vec<(f64, f64)> = self
            .table
            .iter()
            .filter(|(k, o, _)| *o > 0 && !(zot && *k == 1))
            .map(|&(_, o, e)| (o as f64, e))
            .collect();
        type Cells = Vec<(f64, f64)>;
        let (mut big, small): (Cells, Cells) = cells.iter().partition(|(_, e)| *e >= 5.0);
        if !small.is_empty() {
            let o = small.iter().map(|c| c.0).sum();
            let e = small.iter().map(|c| c.1).sum();
            big.push((o, e));
        }
        let df = df.unwrap_or_else(|| (cells.len() as f64 - self.n_params as f64).max(1.0));
        if df.is_nan() || df <= 0.0 {
            return Err(Error::param(
                "df",
                df,
                "a positive number of degrees of freedom",
            ));
        }
        let chi2: f64 = big.iter().map(|(o, e)| (e - o).powi(2) / e).sum();
        let g: f64 = 2.0
            * big
                .iter()
                .filter(|(o, _)| *o > 0.0)
                .map(|(o, e)| o * (o / e).ln())
                .sum::<f64>();
        Ok(GofTest {
            chi2,
            g,
            df,
            p_chi2: ci::chi2_sf(chi2, df),
            p_g: ci::chi2_sf(g, df),
        })
    }
}

/// Population size of one stratum (as a row of singleRcapture's `stratifyPopsize`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StratumEstimate {
    /// `name==level`.
    pub name: String,
    /// Units observed in the stratum.
    pub observed: f64,
    /// N̂ of the stratum.
    pub estimated: f64,
    /// 100 · observed / N̂.
    pub observed_percentage: f64,
    /// Standard error.
    pub se: f64,
    /// Normal interval (lower limit clipped at the stratum's observed).
    pub normal: Interval,
    /// Log-normal interval.
    pub log_normal: Interval,
}

/// N̂ by the levels of a covariate, from a fit on the whole data.
///
/// ```text
/// N̂_s = Σ_{i∈s} wᵢ cᵢ,  Var = Σ_{i∈s} wᵢ vᵢ + ∇N̂_sᵀ Cov(β̂) ∇N̂_s
/// ```
/// # Errors
/// [`Error::InvalidParameter`] when `by` is not a covariate of `data` or a bad level;
/// errors of the design when `data` lacks the fit's covariates.
///
/// # References
/// singleRcapture 0.2.3 `stratifyPopsize(fit, ~by)`.
pub fn stratify(
    fit: &CountFit,
    data: &CountData,
    by: &str,
    level: f64,
) -> Result<Vec<StratumEstimate>> {
    ci::check_level(level)?;
    let cov = data
        .covariate(by)
        .ok_or_else(|| Error::param("by", by, "the name of a covariate column"))?;
    let second = fit
        .family
        .second_parameter()
        .map(|_| fit.second_covariates.as_slice());
    let d = Design::rows(data, &fit.covariates, second)?;
    let labels: Vec<String> = (0..data.n_rows()).map(|i| cov.values.label(i)).collect();
    let mut levels = labels.clone();
    levels.sort();
    levels.dedup();
    let mut out = Vec::new();
    for l in levels {
        let keep = |i: usize| labels[i] == l;
        let (n, ht, g, _) = pop_parts(fit.family, &d, &fit.coefficients, keep);
        let var = ht + (g.transpose() * &fit.covariance * &g)[(0, 0)];
        let obs: f64 = (0..d.n()).filter(|&i| keep(i)).map(|i| d.w[i]).sum();
        let se = var.sqrt();
        out.push(StratumEstimate {
            name: format!("{by}=={l}"),
            observed: obs,
            estimated: n,
            observed_percentage: 100.0 * obs / n,
            se,
            normal: ci::wald(n, se, obs, level),
            log_normal: ci::log_normal(n, se, obs, level),
        });
    }
    Ok(out)
}

impl CountFit {
    /// Observed against fitted frequencies ([`marginal_freq`]).
    pub fn marginal_freq(&self) -> MarginalFreq {
        marginal_freq(self)
    }

    /// χ² and G goodness-of-fit tests with the default degrees of freedom
    /// ([`MarginalFreq::gof`]).
    ///
    /// # Errors
    /// As [`MarginalFreq::gof`].
    pub fn gof(&self) -> Result<GofTest> {
        marginal_freq(self).gof(None)
    }
}

impl std::fmt::Display for MarginalFreq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}: observed and fitted frequencies", self.family)?;
        writeln!(f, "  {:>6} {:>10} {:>12}", "count", "observed", "fitted")?;
        writeln!(f, "  {:>6} {:>10} {:>12.3}", 0, "-", self.fitted_zeros)?;
        for (k, o, e) in &self.table {
            writeln!(f, "  {k:>6} {o:>10} {e:>12.3}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for GofTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chi-squared {:.2} (p = {:.2e}), G {:.2} (p = {:.2e}) on {} df",
            self.chi2, self.p_chi2, self.g, self.p_g, self.df
        )
    }
}

impl std::fmt::Display for StratumEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: observed {}, N̂ {:.2} (SE {:.2}), {} {}",
            self.name, self.observed, self.estimated, self.se, self.log_normal, self.normal
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counts::{CountModel, Family};

    #[test]
    fn counts_past_the_dense_range_give_the_tests_of_the_full_table() {
        // A heavy-tailed fit (geometric) with three units recorded 1,500 and 2,400 times:
        // the table lists 1..1000 and the two large counts; the tests equal those of
        // singleRcapture's full table to 2,400 (its unobserved cells are dropped).
        let d = CountData::from_frequency_table(&[
            (1, 300),
            (2, 120),
            (3, 50),
            (5, 20),
            (40, 3),
            (1500, 1),
            (2400, 2),
        ])
        .unwrap();
        for family in [Family::ZtGeom, Family::ZotGeom, Family::OiztGeom] {
            let fit = CountModel::params(family).fit(&d).unwrap();
            let m = fit.marginal_freq();
            assert_eq!(m.table.len(), DENSE_COUNTS as usize + 2);
            assert_eq!(m.table[1000].0, 1500);
            assert_eq!(m.table[1001], (2400, 2, m.table[1001].2));
            let dsg = &fit.design;
            let full: Vec<(u64, u64, f64)> = (1..=2400u64)
                .map(|k| {
                    let o: u64 = (0..dsg.n())
                        .filter(|&i| dsg.y[i] == k)
                        .map(|i| dsg.w[i] as u64)
                        .sum();
                    let e: f64 = (0..dsg.n())
                        .map(|i| {
                            let (e1, e2) = dsg.etas(i, &fit.coefficients);
                            dsg.w[i] * fit.family.observed_pmf(k, e1, e2)
                        })
                        .sum();
                    let e = if family == Family::ZotGeom && k == 1 {
                        o as f64
                    } else {
                        e
                    };
                    (k, o, e)
                })
                .collect();
            for &(k, _, e) in &m.table {
                let want = full[k as usize - 1].2;
                assert!(
                    (e - want).abs() <= 1e-9 * want.abs() + 1e-300,
                    "{family} k={k}: {e} vs {want}"
                );
            }
            let dense = MarginalFreq {
                table: full,
                ..m.clone()
            };
            let (a, b) = (m.gof(None).unwrap(), dense.gof(None).unwrap());
            assert_eq!(a.df, b.df, "{family}");
            for (x, y) in [(a.chi2, b.chi2), (a.g, b.g), (a.p_chi2, b.p_chi2)] {
                assert!((x - y).abs() <= 1e-9 * y.abs(), "{family}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn fitted_frequencies_of_intercept_ztp_sum_to_n() {
        let d = CountData::from_frequency_table(&[(1, 60), (2, 25), (3, 10), (4, 5)]).unwrap();
        let fit = CountModel::params(Family::ZtPoisson).fit(&d).unwrap();
        let m = fit.marginal_freq();
        let tot: f64 = m.table.iter().map(|r| r.2).sum();
        assert!(tot < 100.0 && tot > 99.0);
        // the ZTP MLE matches the mean: λ/(1 − e^{−λ}) = Σ k f_k / n = 160/100, and
        // Σ_k k Ê f_k over all k equals Σ k f_k = 160: the table's k = 1..4 plus the
        // fitted tail above 4, n/(1 − e^{−λ}) Σ_{k>4} k e^{−λ} λ^k / k!
        let lambda = fit.coefficients[0].exp();
        let trunc = 1.0 - (-lambda).exp();
        assert!((lambda / trunc - 1.6).abs() < 1e-9, "λ = {lambda}");
        let (mut pk, mut tail) = ((-lambda).exp(), 0.0);
        for k in 1..80 {
            pk *= lambda / k as f64;
            if k > 4 {
                tail += k as f64 * pk;
            }
        }
        tail *= 100.0 / trunc;
        let head: f64 = m.table.iter().map(|r| r.0 as f64 * r.2).sum();
        assert!((head + tail - 160.0).abs() < 1e-6, "{head} + {tail}");
        let g = fit.gof().unwrap();
        assert!(g.chi2 >= 0.0 && g.g >= 0.0 && g.p_chi2 <= 1.0);
        assert!(matches!(
            m.gof(Some(0.0)),
            Err(crate::Error::InvalidParameter { .. })
        ));
        assert!(!m.to_string().is_empty() && !g.to_string().is_empty());
    }

    #[test]
    fn stratify_sums_to_the_total() {
        let d =
            CountData::from_frequency_table(&[(1, 60), (2, 25), (3, 10), (1, 40), (2, 10), (3, 2)])
                .unwrap()
                .with_covariate(
                    "g",
                    crate::data::CovariateValues::categorical(&["a", "a", "a", "b", "b", "b"]),
                )
                .unwrap();
        let fit = CountModel::params(Family::ZtPoisson)
            .covariates(&["g"])
            .fit(&d)
            .unwrap();
        let s = stratify(&fit, &d, "g", 0.95).unwrap();
        let tot: f64 = s.iter().map(|x| x.estimated).sum();
        assert!((tot - fit.estimate.n_hat).abs() < 1e-9 * tot);
        assert!(matches!(
            stratify(&fit, &d, "nope", 0.95),
            Err(crate::Error::InvalidParameter { .. })
        ));
    }
}
