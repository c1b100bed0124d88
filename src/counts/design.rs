//! Design matrices for the two linear predictors, with identical rows aggregated into
//! frequency weights (units sharing count and covariate pattern contribute identically).

use crate::data::{CountData, CovariateValues};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::collections::HashMap;

/// Rows above which the design is built in parallel.
const PAR_ROWS: usize = 8192;

/// Rows (possibly aggregated) of a count model's design.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Design {
    /// Count of each row.
    pub y: Vec<u64>,
    /// Frequency weight of each row.
    pub w: Vec<f64>,
    /// First predictor's design, row-major n × p1.
    pub x: Vec<f64>,
    /// Second predictor's design, row-major n × p2 (p2 = 0 for one-predictor families).
    pub z: Vec<f64>,
    /// Columns of `x`.
    pub p1: usize,
    /// Columns of `z`.
    pub p2: usize,
    /// Names of the first predictor's columns.
    pub names1: Vec<String>,
    /// Names of the second predictor's columns.
    pub names2: Vec<String>,
}

/// One column of a treatment-contrast design, read from the data where it lies.
enum Column<'a> {
    Intercept,
    Numeric(&'a [f64]),
    /// 1 where the code is the level, else 0.
    Dummy(&'a [u32], u32),
}

/// Columns of a treatment-contrast design for `covs` (intercept first), R's names.
fn columns<'a>(data: &'a CountData, covs: &[String]) -> Result<(Vec<String>, Vec<Column<'a>>)> {
    let mut names = vec!["(Intercept)".to_string()];
    let mut cols = vec![Column::Intercept];
    for c in covs {
        let cov = data.covariate(c).ok_or_else(|| {
            Error::param("covariates", c, "names of covariate columns in the data")
        })?;
        match &cov.values {
            CovariateValues::Numeric(v) => {
                names.push(c.clone());
                cols.push(Column::Numeric(v));
            }
            CovariateValues::Categorical { levels, codes } => {
                for (l, level) in levels.iter().enumerate().skip(1) {
                    names.push(format!("{c}{level}"));
                    cols.push(Column::Dummy(codes, l as u32));
                }
            }
        }
    }
    Ok((names, cols))
}

impl Column<'_> {
    #[inline(always)]
    fn at(&self, i: usize) -> f64 {
        match self {
            Column::Intercept => 1.0,
            Column::Numeric(v) => v[i],
            Column::Dummy(codes, l) => f64::from(u8::from(codes[i] == *l)),
        }
    }
}

/// The row-major `n` × `cols.len()` matrix of `cols`: one allocation of exact size,
/// each element written once (no zeroing first), rows of up to 12 columns assembled
/// as arrays (in parallel on large data).
fn row_major(cols: &[Column], n: usize) -> Vec<f64> {
    fn fixed<const P: usize>(cols: &[Column], n: usize) -> Vec<f64> {
        let cols: &[Column; P] = cols.try_into().expect("P columns");
        let row = |i: usize| -> [f64; P] { std::array::from_fn(|j| cols[j].at(i)) };
        // (a copy: the same rows on any number of threads)
        let rows: Vec<[f64; P]> = if n >= PAR_ROWS {
            (0..n).into_par_iter().with_min_len(4096).map(row).collect()
        } else {
            (0..n).map(row).collect()
        };
        rows.into_flattened()
    }
    macro_rules! by_p {
        ($($n:literal)*) => {
            match cols.len() {
                0 => Vec::new(),
                $($n => fixed::<$n>(cols, n),)*
                p => {
                    let mut m = Vec::with_capacity(n * p);
                    for i in 0..n {
                        m.extend(cols.iter().map(|c| c.at(i)));
                    }
                    m
                }
            }
        };
    }
    by_p!(1 2 3 4 5 6 7 8 9 10 11 12)
}

impl Design {
    /// One row per data row (no aggregation).
    pub fn rows(data: &CountData, covs1: &[String], covs2: Option<&[String]>) -> Result<Design> {
        let (names1, cols1) = columns(data, covs1)?;
        let (names2, cols2) = match covs2 {
            Some(c) => columns(data, c)?,
            None => (Vec::new(), Vec::new()),
        };
        let n = data.n_rows();
        let (p1, p2) = (cols1.len(), cols2.len());
        let x = row_major(&cols1, n);
        let z = row_major(&cols2, n);
        Ok(Design {
            y: data.counts().to_vec(),
            w: data.frequencies().iter().map(|&f| f as f64).collect(),
            x,
            z,
            p1,
            p2,
            names1,
            names2,
        })
    }

    /// Merges rows with the same count and covariate pattern, summing weights; drops
    /// rows of weight 0. Row order: first appearance.
    pub fn aggregated(&self) -> Design {
        let mut map: HashMap<(u64, Vec<u64>), usize> = HashMap::new();
        let mut out = Design {
            p1: self.p1,
            p2: self.p2,
            names1: self.names1.clone(),
            names2: self.names2.clone(),
            ..Default::default()
        };
        for i in 0..self.n() {
            if self.w[i] <= 0.0 {
                continue;
            }
            let key: Vec<u64> = self
                .xrow(i)
                .iter()
                .chain(self.zrow(i))
                .map(|v| v.to_bits())
                .collect();
            match map.get(&(self.y[i], key.clone())) {
                Some(&j) => out.w[j] += self.w[i],
                None => {
                    map.insert((self.y[i], key), out.y.len());
                    out.y.push(self.y[i]);
                    out.w.push(self.w[i]);
                    out.x.extend_from_slice(self.xrow(i));
                    out.z.extend_from_slice(self.zrow(i));
                }
            }
        }
        out
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// Row i of the first design.
    #[inline]
    pub fn xrow(&self, i: usize) -> &[f64] {
        &self.x[i * self.p1..(i + 1) * self.p1]
    }

    /// Row i of the second design.
    #[inline]
    pub fn zrow(&self, i: usize) -> &[f64] {
        &self.z[i * self.p2..(i + 1) * self.p2]
    }

    /// Total number of coefficients.
    pub fn p(&self) -> usize {
        self.p1 + self.p2
    }

    /// Linear predictors of row i.
    #[inline]
    pub fn etas(&self, i: usize, beta: &[f64]) -> (f64, f64) {
        let e1 = self
            .xrow(i)
            .iter()
            .zip(&beta[..self.p1])
            .map(|(a, b)| a * b)
            .sum();
        let e2 = self
            .zrow(i)
            .iter()
            .zip(&beta[self.p1..])
            .map(|(a, b)| a * b)
            .sum();
        (e1, e2)
    }
}
