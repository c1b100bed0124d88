//! Single-source count data: how many times each unit was recorded, with covariates.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The largest count a unit may have (times recorded). Larger counts are refused: they
/// are data errors in practice, and the count models' work grows with the largest count.
pub const MAX_COUNT: u64 = 1_000_000;

/// The largest number of units a data set may hold (Σ frequencies): 2⁵³, beyond which
/// counts are no longer exact in the f64 arithmetic of the estimators.
pub const MAX_UNITS: u64 = 1 << 53;

/// Σ frequencies with checked arithmetic, refusing totals above [`MAX_UNITS`].
///
/// # Errors
/// [`Error::InvalidData`] naming the row where the total passes [`MAX_UNITS`].
pub fn counts_total(freq: &[u64]) -> Result<u64> {
    checked_total(freq)
}

/// Σ frequencies with checked arithmetic, refusing totals above [`MAX_UNITS`].
pub(crate) fn checked_total(freq: &[u64]) -> Result<u64> {
    let mut total = 0u64;
    for (i, &f) in freq.iter().enumerate() {
        total = total
            .checked_add(f)
            .filter(|&t| t <= MAX_UNITS)
            .ok_or_else(|| {
                Error::invalid_row(
                    i,
                    format!("the frequencies add up to more than {MAX_UNITS} units by this row"),
                )
            })?;
    }
    Ok(total)
}

/// The values of one covariate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CovariateValues {
    /// A numeric covariate.
    Numeric(Vec<f64>),
    /// A categorical covariate: `codes[unit]` indexes `levels`. The first level is the
    /// reference level of treatment contrasts.
    Categorical {
        /// Level names; `levels[0]` is the reference.
        levels: Vec<String>,
        /// Per unit, the index into `levels`.
        codes: Vec<u32>,
    },
}

impl CovariateValues {
    /// Builds a categorical covariate from labels; levels are sorted (as R's `factor`
    /// does by default), so the reference level is the first in sort order.
    pub fn categorical<S: AsRef<str>>(labels: &[S]) -> Self {
        let mut levels: Vec<String> = labels.iter().map(|s| s.as_ref().to_string()).collect();
        levels.sort();
        levels.dedup();
        let codes = labels
            .iter()
            .map(|l| {
                levels
                    .binary_search_by(|x| x.as_str().cmp(l.as_ref()))
                    .unwrap_or(0) as u32
            })
            .collect();
        CovariateValues::Categorical { levels, codes }
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        match self {
            CovariateValues::Numeric(v) => v.len(),
            CovariateValues::Categorical { codes, .. } => codes.len(),
        }
    }

    /// Whether there are no units.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of unit `i` as text.
    pub fn label(&self, i: usize) -> String {
        match self {
            CovariateValues::Numeric(v) => format!("{}", v[i]),
            CovariateValues::Categorical { levels, codes } => levels[codes[i] as usize].clone(),
        }
    }
}

/// A named covariate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Covariate {
    /// Column name.
    pub name: String,
    /// Values, one per row.
    pub values: CovariateValues,
}

/// Per unit (or per row of a frequency table) the number of times it was recorded (≥ 1),
/// a frequency weight, and named covariates.
///
/// # Examples
/// ```
/// use darkfigure::data::CountData;
/// // The Dutch illegal immigrants (van der Heijden et al. 2003): f1..f6.
/// let d = CountData::from_frequency_table(&[(1, 1645), (2, 183), (3, 37), (4, 13), (5, 1), (6, 1)]).unwrap();
/// assert_eq!(d.observed(), 1880);
/// assert_eq!(d.frequency_of(2), 183);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CountDataFields")]
pub struct CountData {
    counts: Vec<u64>,
    freq: Vec<u64>,
    covariates: Vec<Covariate>,
}

/// The serialised fields of [`CountData`], validated on the way in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountDataFields {
    counts: Vec<u64>,
    freq: Vec<u64>,
    #[serde(default)]
    covariates: Vec<Covariate>,
}

impl TryFrom<CountDataFields> for CountData {
    type Error = Error;
    fn try_from(f: CountDataFields) -> Result<Self> {
        let mut d = CountData::with_frequencies(f.counts, f.freq)?;
        for c in f.covariates {
            d = d.with_covariate(c.name, c.values)?;
        }
        Ok(d)
    }
}

impl CountData {
    /// One row per unit.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when a count is 0 (a unit never recorded cannot be in the
    /// data) or there are no units.
    pub fn new(counts: Vec<u64>) -> Result<Self> {
        let n = counts.len();
        Self::with_frequencies(counts, vec![1; n])
    }

    /// Rows with frequency weights.
    ///
    /// # Errors
    /// As [`CountData::new`], plus lengths that differ, a count above [`MAX_COUNT`] or
    /// frequencies adding up to more than [`MAX_UNITS`].
    pub fn with_frequencies(counts: Vec<u64>, freq: Vec<u64>) -> Result<Self> {
        if counts.len() != freq.len() {
            return Err(Error::invalid(format!(
                "{} counts but {} frequencies",
                counts.len(),
                freq.len()
            )));
        }
        if let Some(i) = counts
            .iter()
            .zip(&freq)
            .position(|(&c, &f)| c == 0 && f > 0)
        {
            return Err(Error::invalid_row(
                i,
                "count 0: a unit never recorded cannot be in single-source data",
            ));
        }
        if let Some(i) = counts.iter().position(|&c| c > MAX_COUNT) {
            return Err(Error::invalid_row(
                i,
                format!(
                    "count {}: at most {MAX_COUNT} records per unit are supported",
                    counts[i]
                ),
            ));
        }
        checked_total(&freq)?;
        if freq.iter().all(|&f| f == 0) {
            return Err(Error::invalid("no unit was recorded: the data are empty"));
        }
        Ok(CountData {
            counts,
            freq,
            covariates: Vec::new(),
        })
    }

    /// From a frequency table of `(count, number of units)` pairs.
    ///
    /// # Errors
    /// As [`CountData::new`].
    pub fn from_frequency_table(table: &[(u64, u64)]) -> Result<Self> {
        let (c, f) = table.iter().copied().unzip();
        Self::with_frequencies(c, f)
    }

    /// Adds a covariate (one value per row).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a length mismatch, a duplicate name, a non-finite
    /// numeric value, or a categorical covariate without levels or with a code beyond them.
    pub fn with_covariate(
        mut self,
        name: impl Into<String>,
        values: CovariateValues,
    ) -> Result<Self> {
        let name = name.into();
        if values.len() != self.counts.len() {
            return Err(Error::invalid(format!(
                "covariate `{name}` has {} values for {} rows",
                values.len(),
                self.counts.len()
            )));
        }
        if self.covariates.iter().any(|c| c.name == name) {
            return Err(Error::invalid(format!("covariate `{name}` given twice")));
        }
        if let CovariateValues::Numeric(v) = &values
            && let Some(i) = v.iter().position(|x| !x.is_finite())
        {
            return Err(Error::invalid_row(
                i,
                format!("covariate `{name}` is not a finite number"),
            ));
        }
        if let CovariateValues::Categorical { levels, codes } = &values {
            if levels.is_empty() {
                return Err(Error::invalid(format!(
                    "categorical covariate `{name}` has no levels"
                )));
            }
            if let Some(i) = codes.iter().position(|&c| c as usize >= levels.len()) {
                return Err(Error::invalid_row(
                    i,
                    format!(
                        "categorical covariate `{name}`: code {} but only {} levels",
                        codes[i],
                        levels.len()
                    ),
                ));
            }
        }
        self.covariates.push(Covariate { name, values });
        Ok(self)
    }

    /// Counts, one per row.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Frequency weights, one per row.
    pub fn frequencies(&self) -> &[u64] {
        &self.freq
    }

    /// Covariates.
    pub fn covariates(&self) -> &[Covariate] {
        &self.covariates
    }

    /// A covariate by name.
    pub fn covariate(&self, name: &str) -> Option<&Covariate> {
        self.covariates.iter().find(|c| c.name == name)
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.counts.len()
    }

    /// Units observed: Σ frequencies.
    pub fn observed(&self) -> u64 {
        self.freq.iter().sum()
    }

    /// Largest count.
    pub fn max_count(&self) -> u64 {
        self.counts
            .iter()
            .zip(&self.freq)
            .filter(|&(_, &f)| f > 0)
            .map(|(&c, _)| c)
            .max()
            .unwrap_or(0)
    }

    /// Units recorded exactly `k` times.
    pub fn frequency_of(&self, k: u64) -> u64 {
        self.counts
            .iter()
            .zip(&self.freq)
            .filter(|&(&c, _)| c == k)
            .map(|(_, &f)| f)
            .sum()
    }

    /// `f[k-1]` = units recorded exactly k times, k = 1..max_count.
    pub fn frequency_table(&self) -> Vec<u64> {
        let mut f = vec![0u64; self.max_count() as usize];
        for (&c, &w) in self.counts.iter().zip(&self.freq) {
            if w > 0 {
                f[c as usize - 1] += w;
            }
        }
        f
    }

    /// Keeps the rows for which `keep(row)` is true.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when no unit is left.
    pub fn filter(&self, keep: impl Fn(usize) -> bool) -> Result<CountData> {
        let idx: Vec<usize> = (0..self.n_rows()).filter(|&i| keep(i)).collect();
        let counts = idx.iter().map(|&i| self.counts[i]).collect();
        let freq = idx.iter().map(|&i| self.freq[i]).collect();
        let mut out = CountData::with_frequencies(counts, freq)?;
        for c in &self.covariates {
            let values = match &c.values {
                CovariateValues::Numeric(v) => {
                    CovariateValues::Numeric(idx.iter().map(|&i| v[i]).collect())
                }
                CovariateValues::Categorical { levels, codes } => CovariateValues::Categorical {
                    levels: levels.clone(),
                    codes: idx.iter().map(|&i| codes[i]).collect(),
                },
            };
            out.covariates.push(Covariate {
                name: c.name.clone(),
                values,
            });
        }
        Ok(out)
    }

    /// Splits by the levels of a covariate (numeric values are taken as labels).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when there is no such covariate.
    pub fn split_by(&self, name: &str) -> Result<Vec<(String, CountData)>> {
        let cov = self
            .covariate(name)
            .ok_or_else(|| Error::param("by", name, "the name of a covariate column"))?;
        let mut labels: Vec<String> = (0..self.n_rows()).map(|i| cov.values.label(i)).collect();
        let row_labels = labels.clone();
        labels.sort();
        labels.dedup();
        labels
            .into_iter()
            .map(|l| {
                let d = self.filter(|i| row_labels[i] == l)?;
                Ok((l, d))
            })
            .collect()
    }
}
