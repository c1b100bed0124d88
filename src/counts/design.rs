//! Design matrices for the two linear predictors, with identical rows aggregated into
//! frequency weights (units sharing count and covariate pattern contribute identically).

use crate::data::{CountData, CovariateValues};
use crate::error::{Error, Result};
use std::collections::HashMap;

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

/// Writes `cols` into the row-major `m` (as many columns as `cols`), a column at a time.
fn fill(m: &mut [f64], cols: &[Column]) {
    let p = cols.len();
    if p == 0 {
        return;
    }
    for (j, c) in cols.iter().enumerate() {
        let rows = m.chunks_exact_mut(p);
        match c {
            Column::Intercept => rows.for_each(|r| r[j] = 1.0),
            Column::Numeric(v) => rows.zip(v.iter()).for_each(|(r, &a)| r[j] = a),
            Column::Dummy(codes, l) => rows
                .zip(codes.iter())
                .for_each(|(r, &k)| r[j] = f64::from(u8::from(k == *l))),
        }
    }
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
        // One zeroed allocation of exact size each (fresh zero pages: nothing is zeroed
        // twice), filled a column at a time.
        let mut x = vec![0.0; n * p1];
        let mut z = vec![0.0; n * p2];
        fill(&mut x, &cols1);
        fill(&mut z, &cols2);
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
