//! Design matrices of the closed-population log-linear models (Rcapture's `Xclosedp`),
//! built directly on grouped cells.
#![allow(
    clippy::needless_range_loop,
    clippy::neg_cmp_op_on_partial_ord,
    clippy::redundant_guards
)]

use super::product::ProductCounts;
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::glm::{GlmFit, GroupedCounts, PoissonGlm};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// The form of the heterogeneity column(s) added to a log-linear model, as functions of
/// the number of captures k (Rivest & Baillargeon 2007; Rcapture's `h` argument).
///
/// ```text
/// Chao (LB)   t − 2 columns  η_j(k) = max(k − j + 1, 0),  j = 3..t
/// Poisson(θ)  θ^k − 1
/// Darroch     k² / 2
/// Gamma(θ)    −ln(θ + k) + ln θ
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Heterogeneity {
    /// Chao's lower bound: t − 2 "eta" columns, negative etas dropped.
    Chao,
    /// Poisson mixture with parameter θ (Rcapture default 2).
    Poisson(f64),
    /// Darroch et al. (1993): k²/2.
    Darroch,
    /// Gamma mixture with parameter θ (Rcapture default 3.5).
    Gamma(f64),
}

impl Heterogeneity {
    /// Label as Rcapture prints it: `Chao (LB)`, `Poisson2`, `Darroch`, `Gamma3.5`.
    pub fn label(&self) -> String {
        match self {
            Heterogeneity::Chao => "Chao (LB)".into(),
            Heterogeneity::Poisson(th) => format!("Poisson{}", fmt_theta(*th)),
            Heterogeneity::Darroch => "Darroch".into(),
            Heterogeneity::Gamma(th) => format!("Gamma{}", fmt_theta(*th)),
        }
    }

    /// Parses `chao`/`lb`, `poisson`, `darroch`, `gamma` (default θ), or `poisson:3`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for another name or a non-positive θ.
    pub fn parse(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let (name, theta) = match lower.split_once(':') {
            Some((a, b)) => (
                a.to_string(),
                Some(
                    b.parse::<f64>()
                        .map_err(|_| Error::param("heterogeneity", s, "a positive θ after ':'"))?,
                ),
            ),
            None => (lower.clone(), None),
        };
        if let Some(th) = theta
            && !(th > 0.0 && th.is_finite())
        {
            return Err(Error::param("heterogeneity", s, "a positive θ"));
        }
        match name.as_str() {
            "chao" | "lb" => Ok(Heterogeneity::Chao),
            "poisson" => Ok(Heterogeneity::Poisson(theta.unwrap_or(2.0))),
            "darroch" => Ok(Heterogeneity::Darroch),
            "gamma" => Ok(Heterogeneity::Gamma(theta.unwrap_or(3.5))),
            _ => Err(Error::param(
                "heterogeneity",
                s,
                "chao, poisson, darroch or gamma",
            )),
        }
    }

    pub(crate) fn columns(&self, t: usize) -> usize {
        match self {
            Heterogeneity::Chao => t.saturating_sub(2),
            _ => 1,
        }
    }

    pub(crate) fn names(&self, t: usize) -> Vec<String> {
        match self {
            Heterogeneity::Chao => (3..=t).map(|j| format!("eta{j}")).collect(),
            _ => vec!["tau".into()],
        }
    }

    pub(crate) fn values(&self, k: f64, t: usize, out: &mut Vec<f64>) {
        match *self {
            Heterogeneity::Chao => {
                for j in 3..=t {
                    out.push((k - j as f64 + 1.0).max(0.0));
                }
            }
            Heterogeneity::Poisson(th) => out.push(th.powf(k) - 1.0),
            Heterogeneity::Darroch => out.push(k * k / 2.0),
            Heterogeneity::Gamma(th) => out.push(-(th + k).ln() + th.ln()),
        }
    }
}

fn fmt_theta(th: f64) -> String {
    if th.fract() == 0.0 && th.abs() < 1e15 {
        format!("{}", th as i64)
    } else {
        format!("{th}")
    }
}

/// A closed-population model of Rcapture's `closedp.t` family.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ClosedModel {
    /// Constant capture probability.
    M0,
    /// Time (occasion) effects.
    Mt,
    /// Heterogeneous capture probabilities.
    Mh(Heterogeneity),
    /// Time effects and heterogeneity.
    Mth(Heterogeneity),
    /// Behavioural response (trap happiness/shyness).
    Mb,
    /// Behavioural response and heterogeneity (Rcapture's Mbh).
    Mbh,
}

impl ClosedModel {
    /// The twelve models of `closedp.t`, in Rcapture's order.
    pub fn closedp_t_models() -> Vec<ClosedModel> {
        use Heterogeneity::*;
        let hs = [Chao, Poisson(2.0), Darroch, Gamma(3.5)];
        let mut v = vec![ClosedModel::M0, ClosedModel::Mt];
        v.extend(hs.iter().map(|h| ClosedModel::Mh(*h)));
        v.extend(hs.iter().map(|h| ClosedModel::Mth(*h)));
        v.push(ClosedModel::Mb);
        v.push(ClosedModel::Mbh);
        v
    }

    /// Label as Rcapture prints it (`M0`, `Mh Chao (LB)`, `Mth Gamma3.5`...).
    pub fn label(&self) -> String {
        match self {
            ClosedModel::M0 => "M0".into(),
            ClosedModel::Mt => "Mt".into(),
            ClosedModel::Mh(h) => format!("Mh {}", h.label()),
            ClosedModel::Mth(h) => format!("Mth {}", h.label()),
            ClosedModel::Mb => "Mb".into(),
            ClosedModel::Mbh => "Mbh".into(),
        }
    }

    /// The heterogeneity form, if any.
    pub fn heterogeneity(&self) -> Option<Heterogeneity> {
        match self {
            ClosedModel::Mh(h) | ClosedModel::Mth(h) => Some(*h),
            _ => None,
        }
    }

    /// Minimum number of occasions.
    pub fn min_occasions(&self) -> usize {
        match self {
            ClosedModel::Mh(_) | ClosedModel::Mth(_) | ClosedModel::Mbh => 3,
            _ => 2,
        }
    }
}

/// A design ready to fit: grouped counts (column 0 = intercept), coefficient names and
/// the number of leading columns that do not model heterogeneity (for Chao's `neg` rule).
#[derive(Debug, Clone)]
pub(crate) struct Design {
    pub counts: GroupedCounts,
    pub names: Vec<String>,
    /// Number of columns (with the intercept) before the Chao eta columns, when the
    /// heterogeneity is Chao's.
    pub chao_nca: Option<usize>,
    /// Number of captures of each group's cells (for parameters and `.0` bookkeeping).
    pub group_k: Vec<usize>,
    /// First capture occasion (1-based) of each group, when known.
    pub group_first: Vec<usize>,
    /// When set, the model is fitted from sufficient statistics (Mt, Mth) and
    /// `counts` is unused.
    pub product: Option<ProductCounts>,
}

impl Design {
    /// Total count over the cells of the fit.
    pub fn total(&self) -> f64 {
        match &self.product {
            Some(pc) => pc.obs.iter().map(|c| c.1).sum::<f64>() + pc.zero_cell.unwrap_or(0.0),
            None => self.counts.total(),
        }
    }

    /// Fits the design along R's path.
    pub fn fit(&self, glm: &PoissonGlm) -> Result<GlmFit> {
        match &self.product {
            Some(pc) => pc.fit(glm),
            None => glm.fit(&self.counts),
        }
    }

    /// Removes coefficient column `j` (not the intercept).
    pub fn drop_column(&mut self, j: usize) {
        if let Some(pc) = self.product.as_mut() {
            pc.drop_column(j);
            self.names.remove(j);
            return;
        }
        let x = std::mem::replace(&mut self.counts.x, DMatrix::zeros(0, 0));
        self.counts.x = x.remove_column(j);
        self.names.remove(j);
    }

    /// The design with one more group: the never-seen cell (zero design row, intercept
    /// 1, offset 0) holding `n0` units.
    pub fn augmented(&self, n0: f64) -> Design {
        let mut d = self.clone();
        if let Some(pc) = d.product.as_mut() {
            pc.zero_cell = Some(n0);
            return d;
        }
        let g = d.counts.x.nrows();
        let x = std::mem::replace(&mut d.counts.x, DMatrix::zeros(0, 0));
        let mut x = x.insert_row(g, 0.0);
        x[(g, 0)] = 1.0;
        d.counts.x = x;
        d.counts.offset.push(0.0);
        d.counts.cells.push(0.0);
        d.counts.y_sum.push(0.0);
        d.counts.start_w.push(0.0);
        d.counts.start_wz.push(0.0);
        d.counts.ylogy_group.push(0.0);
        d.counts.add_cells(g, 1.0, n0);
        d.group_k.push(0);
        d.group_first.push(0);
        d
    }
}

pub(crate) fn binom(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    let mut r = 1.0f64;
    for i in 0..k {
        r = r * (n - i) as f64 / (i + 1) as f64;
    }
    r.round()
}

/// Observed (history, count) pairs with positive counts, aggregated.
pub(crate) fn observed_cells(h: &CaptureHistories) -> Vec<(u64, f64)> {
    h.pooled()
        .iter()
        .filter(|&(c, f)| f > 0 && c != 0)
        .map(|(c, f)| (c, f as f64))
        .collect()
}

/// Builds the design of one of the standard models on t occasions from the observed
/// cells.
pub(crate) fn standard_design_obs(
    t: usize,
    obs: Vec<(u64, f64)>,
    model: ClosedModel,
) -> Result<Design> {
    if t < model.min_occasions() {
        return Err(Error::TooFewOccasions {
            method: format!(
                "{} (heterogeneous models require at least 3 capture occasions)",
                model.label()
            ),
            needed: model.min_occasions(),
            got: t,
        });
    }
    match model {
        ClosedModel::M0 | ClosedModel::Mh(_) => {
            let het = model.heterogeneity();
            let mut names = vec!["(Intercept)".to_string(), "beta".to_string()];
            if let Some(hh) = het {
                names.extend(hh.names(t));
            }
            let p = names.len();
            let mut x = DMatrix::zeros(t, p);
            let mut row = Vec::with_capacity(p);
            for k in 1..=t {
                row.clear();
                row.push(1.0);
                row.push(k as f64);
                if let Some(hh) = het {
                    hh.values(k as f64, t, &mut row);
                }
                for (j, v) in row.iter().enumerate() {
                    x[(k - 1, j)] = *v;
                }
            }
            grouped(
                x,
                t,
                |c| c.count_ones() as usize - 1,
                &obs,
                |g| binom(t, g + 1),
                names,
                het,
                2,
                |g| (g + 1, 0),
            )
        }
        ClosedModel::Mb | ClosedModel::Mbh => {
            // Groups by (first capture f, captures k): index over f = 1..t, k = 1..t-f+1.
            let mut index = vec![vec![0usize; t + 1]; t + 1];
            let mut keys = Vec::new();
            for f in 1..=t {
                for k in 1..=(t - f + 1) {
                    index[f][k] = keys.len();
                    keys.push((f, k));
                }
            }
            let behav_h = model == ClosedModel::Mbh;
            let names: Vec<String> = if behav_h {
                vec![
                    "(Intercept)".into(),
                    "eta".into(),
                    "beta1".into(),
                    "beta2".into(),
                ]
            } else {
                vec!["(Intercept)".into(), "beta1".into(), "beta2".into()]
            };
            let mut x = DMatrix::zeros(keys.len(), names.len());
            for (g, &(f, k)) in keys.iter().enumerate() {
                let mut row = vec![1.0];
                if behav_h {
                    row.push(if f > 1 { 1.0 } else { 0.0 });
                }
                row.push((f - 1) as f64);
                row.push((k - 1) as f64);
                for (j, v) in row.iter().enumerate() {
                    x[(g, j)] = *v;
                }
            }
            let keys2 = keys.clone();
            grouped(
                x,
                keys.len(),
                |c| {
                    let f = c.trailing_zeros() as usize + 1;
                    index[f][c.count_ones() as usize]
                },
                &obs,
                |g| binom(t - keys2[g].0, keys2[g].1 - 1),
                names,
                None,
                0,
                |g| (keys2[g].1, keys2[g].0),
            )
        }
        ClosedModel::Mt | ClosedModel::Mth(_) => {
            if t > 62 {
                return Err(Error::param(
                    "occasions",
                    t,
                    "at most 62 for models with time effects",
                ));
            }
            let het = model.heterogeneity();
            let mut names = vec!["(Intercept)".to_string()];
            names.extend((1..=t).map(|j| format!("beta{j}")));
            if let Some(hh) = het {
                names.extend(hh.names(t));
            }
            let het_cols: Vec<Vec<f64>> = match het {
                None => Vec::new(),
                Some(hh) => {
                    let m = hh.columns(t);
                    let mut cols = vec![vec![0.0; t + 1]; m];
                    let mut v = Vec::new();
                    for k in 1..=t {
                        v.clear();
                        hh.values(k as f64, t, &mut v);
                        for c in 0..m {
                            cols[c][k] = v[c];
                        }
                    }
                    cols
                }
            };
            Ok(Design {
                counts: GroupedCounts::new(DMatrix::zeros(0, names.len()), vec![], &[], &[])?,
                names,
                chao_nca: if het == Some(Heterogeneity::Chao) {
                    Some(t + 1)
                } else {
                    None
                },
                group_k: Vec::new(),
                group_first: Vec::new(),
                product: Some(ProductCounts::new(t, het_cols, obs)),
            })
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn grouped(
    x: DMatrix<f64>,
    groups: usize,
    group_of: impl Fn(u64) -> usize,
    obs: &[(u64, f64)],
    cells_in: impl Fn(usize) -> f64,
    names: Vec<String>,
    het: Option<Heterogeneity>,
    nca: usize,
    k_first: impl Fn(usize) -> (usize, usize),
) -> Result<Design> {
    let mut lists: Vec<Vec<f64>> = vec![Vec::new(); groups];
    for &(c, y) in obs {
        lists[group_of(c)].push(y);
    }
    let zeros: Vec<f64> = (0..groups)
        .map(|g| cells_in(g) - lists[g].len() as f64)
        .collect();
    let counts = GroupedCounts::new(x, vec![0.0; groups], &lists, &zeros)?;
    let (group_k, group_first): (Vec<usize>, Vec<usize>) = (0..groups).map(k_first).unzip();
    Ok(Design {
        counts,
        names,
        chao_nca: if het == Some(Heterogeneity::Chao) {
            Some(nca)
        } else {
            None
        },
        group_k,
        group_first,
        product: None,
    })
}

/// Largest t for which a design with one row per cell is built.
pub(crate) const MAX_CELLWISE_T: usize = 20;

/// One group per cell: columns = intercept, one column per interaction term (bit mask of
/// occasions: the product of their indicators), then heterogeneity columns.
pub(crate) fn cellwise(
    h: &CaptureHistories,
    t: usize,
    terms: &[u64],
    het: Option<Heterogeneity>,
    names: Vec<String>,
    obs: &[(u64, f64)],
) -> Result<Design> {
    if t > MAX_CELLWISE_T {
        return Err(Error::param(
            "occasions",
            t,
            format!("at most {MAX_CELLWISE_T} for models with time effects or interactions"),
        ));
    }
    let _ = h;
    let ncell = (1usize << t) - 1;
    let p = 1 + terms.len() + het.map(|hh| hh.columns(t)).unwrap_or(0);
    let mut x = DMatrix::zeros(ncell, p);
    let mut counts: Vec<Vec<f64>> = vec![Vec::new(); ncell];
    let mut zeros = vec![1.0; ncell];
    for &(c, y) in obs {
        let i = c as usize - 1;
        counts[i].push(y);
        zeros[i] = 0.0;
    }
    let mut row = Vec::with_capacity(p);
    let mut group_k = Vec::with_capacity(ncell);
    let mut group_first = Vec::with_capacity(ncell);
    for i in 0..ncell {
        let c = (i + 1) as u64;
        let k = c.count_ones() as usize;
        row.clear();
        row.push(1.0);
        for &m in terms {
            row.push(if c & m == m { 1.0 } else { 0.0 });
        }
        if let Some(hh) = het {
            hh.values(k as f64, t, &mut row);
        }
        for (j, v) in row.iter().enumerate() {
            x[(i, j)] = *v;
        }
        group_k.push(k);
        group_first.push(c.trailing_zeros() as usize + 1);
    }
    let counts = GroupedCounts::new(x, vec![0.0; ncell], &counts, &zeros)?;
    Ok(Design {
        counts,
        names,
        chao_nca: if het == Some(Heterogeneity::Chao) {
            Some(1 + terms.len())
        } else {
            None
        },
        group_k,
        group_first,
        product: None,
    })
}

/// Design of a `.0` model on the counts f_1..f_t0 (rows k = t0..1 as Rcapture), with
/// offset ln C(t, k), or −ln k! when t is infinite.
pub(crate) fn zero_design(
    f_k: &[f64],
    t: Option<usize>,
    t0: usize,
    het: Option<Heterogeneity>,
) -> Result<Design> {
    let mut names = vec!["(Intercept)".to_string(), "beta".to_string()];
    if let Some(hh) = het {
        names.extend(hh.names(t0));
    }
    let p = names.len();
    let mut x = DMatrix::zeros(t0, p);
    let mut offset = Vec::with_capacity(t0);
    let mut lists = Vec::with_capacity(t0);
    let mut group_k = Vec::with_capacity(t0);
    let mut row = Vec::with_capacity(p);
    for (r, k) in (1..=t0).rev().enumerate() {
        row.clear();
        row.push(1.0);
        row.push(k as f64);
        if let Some(hh) = het {
            hh.values(k as f64, t0, &mut row);
        }
        for (j, v) in row.iter().enumerate() {
            x[(r, j)] = *v;
        }
        offset.push(match t {
            Some(tt) => binom(tt, k).ln(),
            None => -statrs::function::gamma::ln_gamma(k as f64 + 1.0),
        });
        lists.push(vec![f_k.get(k - 1).copied().unwrap_or(0.0)]);
        group_k.push(k);
    }
    let counts = GroupedCounts::new(x, offset, &lists, &vec![0.0; t0])?;
    Ok(Design {
        counts,
        names,
        chao_nca: if het == Some(Heterogeneity::Chao) {
            Some(2)
        } else {
            None
        },
        group_k,
        group_first: vec![0; t0],
        product: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_as_rcapture() {
        let labels: Vec<String> = ClosedModel::closedp_t_models()
            .iter()
            .map(|m| m.label())
            .collect();
        assert_eq!(labels[2], "Mh Chao (LB)");
        assert_eq!(labels[3], "Mh Poisson2");
        assert_eq!(labels[5], "Mh Gamma3.5");
        assert_eq!(labels[9], "Mth Gamma3.5");
        assert_eq!(
            Heterogeneity::parse("gamma:2.5").unwrap(),
            Heterogeneity::Gamma(2.5)
        );
        assert!(Heterogeneity::parse("normal").is_err());
    }

    #[test]
    fn binomials() {
        assert_eq!(binom(50, 25), 126410606437752.0);
        assert_eq!(binom(4, 5), 0.0);
    }
}
