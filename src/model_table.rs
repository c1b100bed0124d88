//! A set of fitted models, one row per model label, as the model-set functions return it
//! (`closedp_t`, `closedp_0`, `closedp_bc_all`, `counts::fit_all`): iterate in the
//! package's order, look a model up by its label, pick the best by AIC or BIC.
//!
//! A model that could not be fitted keeps its row, carrying its error, so that a table
//! always lists every model asked for (as Rcapture prints a row of `NA` with a note).

use crate::error::Result;
use crate::estimate::Estimate;
use serde::{Deserialize, Serialize};

/// An information criterion to choose a model by (smaller is better).
///
/// ```text
/// AIC = −2 log L + 2 p        BIC = −2 log L + ln(n) p
/// ```
/// Both are read from the model's [`FitStats`](crate::FitStats); the sample size in BIC
/// is the one the package uses (Rcapture: the number of units caught).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Akaike information criterion.
    Aic,
    /// Bayesian information criterion.
    Bic,
}

impl Criterion {
    /// The criterion's value for an estimate (`None` when it has no fit statistics or the
    /// value is not finite).
    pub fn of(self, e: &Estimate) -> Option<f64> {
        let s = e.fit.as_ref()?;
        let v = match self {
            Criterion::Aic => s.aic,
            Criterion::Bic => s.bic,
        };
        v.is_finite().then_some(v)
    }
}

/// What a row of a [`ModelTable`] holds: anything that carries an [`Estimate`].
pub trait HasEstimate {
    /// The estimate (N̂, interval, fit statistics).
    fn estimate(&self) -> &Estimate;
}

impl HasEstimate for Estimate {
    fn estimate(&self) -> &Estimate {
        self
    }
}

/// Fitted models in a fixed order, each under its label (the R package's label, e.g.
/// `"Mth Chao (LB)"`), each either fitted or carrying why it could not be.
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// use darkfigure::Criterion;
/// // Seber (1982, p. 107): two samples.
/// let h = CaptureHistories::from_strings(&[("11", 167), ("10", 781), ("01", 254)])?;
/// let table = darkfigure::closed::closedp_t(&h, 0.95)?;
/// assert_eq!(table.len(), 3); // M0, Mt, Mb on two occasions
/// let mt = table.fitted("Mt").unwrap();
/// assert!((mt.estimate.n_hat - 2389.86826347304).abs() < 1e-6); // Rcapture closedp.t
/// let (label, best) = table.best(Criterion::Aic).unwrap();
/// for (l, r) in &table {
///     if let Ok(e) = r {
///         assert!(e.estimate.fit.as_ref().unwrap().aic >= best.estimate.fit.as_ref().unwrap().aic);
///     }
///     assert!(table.get(l).is_some());
/// }
/// assert!(table.get(label).is_some());
/// # Ok::<(), darkfigure::Error>(())
/// ```
#[derive(Debug)]
pub struct ModelTable<T> {
    rows: Vec<(String, Result<T>)>,
}

impl<T> Default for ModelTable<T> {
    fn default() -> Self {
        ModelTable { rows: Vec::new() }
    }
}

impl<T> ModelTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a row.
    pub fn push(&mut self, label: impl Into<String>, result: Result<T>) {
        self.rows.push((label.into(), result));
    }

    /// Number of rows (fitted or not).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows in order: (label, fitted model or why not).
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            inner: self.rows.iter(),
        }
    }

    /// The labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().map(|(l, _)| l.as_str())
    }

    /// The row labelled `label` (the first one, should labels repeat).
    pub fn get(&self, label: &str) -> Option<&Result<T>> {
        self.rows.iter().find(|(l, _)| l == label).map(|(_, r)| r)
    }

    /// The fitted model labelled `label`; `None` when there is no such row or the model
    /// could not be fitted.
    pub fn fitted(&self, label: &str) -> Option<&T> {
        self.get(label).and_then(|r| r.as_ref().ok())
    }

    /// The fitted models only, in order.
    pub fn successes(&self) -> impl Iterator<Item = (&str, &T)> {
        self.rows
            .iter()
            .filter_map(|(l, r)| r.as_ref().ok().map(|t| (l.as_str(), t)))
    }

    /// The rows as a vector of (label, result).
    pub fn into_vec(self) -> Vec<(String, Result<T>)> {
        self.rows
    }
}

impl<T: HasEstimate> ModelTable<T> {
    /// The fitted model with the smallest criterion (the first in order on ties);
    /// `None` when no model has a finite value.
    pub fn best(&self, criterion: Criterion) -> Option<(&str, &T)> {
        let mut best: Option<(&str, &T, f64)> = None;
        for (l, t) in self.successes() {
            if let Some(v) = criterion.of(t.estimate())
                && best.is_none_or(|(_, _, b)| v < b)
            {
                best = Some((l, t, v));
            }
        }
        best.map(|(l, t, _)| (l, t))
    }
}

impl<T> From<Vec<(String, Result<T>)>> for ModelTable<T> {
    fn from(rows: Vec<(String, Result<T>)>) -> Self {
        ModelTable { rows }
    }
}

impl<T> FromIterator<(String, Result<T>)> for ModelTable<T> {
    fn from_iter<I: IntoIterator<Item = (String, Result<T>)>>(iter: I) -> Self {
        ModelTable {
            rows: iter.into_iter().collect(),
        }
    }
}

impl<T> IntoIterator for ModelTable<T> {
    type Item = (String, Result<T>);
    type IntoIter = std::vec::IntoIter<(String, Result<T>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a ModelTable<T> {
    type Item = (&'a str, &'a Result<T>);
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the rows of a [`ModelTable`]: (label, fitted model or why not).
#[derive(Debug, Clone)]
pub struct Iter<'a, T> {
    inner: std::slice::Iter<'a, (String, Result<T>)>,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (&'a str, &'a Result<T>);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(l, r)| (l.as_str(), r))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(l, r)| (l.as_str(), r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::estimate::{FitStats, Interval, IntervalMethod};

    fn est(aic: f64, bic: f64) -> Estimate {
        let i = Interval {
            lower: 90.0,
            upper: 110.0,
            level: 0.95,
            method: IntervalMethod::Wald,
        };
        Estimate::new("test", "m", 100.0, 5.0, i, 50).with_fit(FitStats {
            deviance: 0.0,
            df: 1,
            aic,
            bic,
        })
    }

    #[test]
    fn lookup_order_and_best() {
        let mut t = ModelTable::new();
        t.push("a", Ok(est(10.0, 30.0)));
        t.push("b", Err(Error::no_estimate("no recaptures")));
        t.push("c", Ok(est(8.0, 31.0)));
        t.push("d", Ok(est(f64::NAN, 29.0)));
        assert_eq!(t.len(), 4);
        assert_eq!(t.labels().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        assert!(t.get("b").unwrap().is_err());
        assert!(t.fitted("b").is_none() && t.get("z").is_none());
        assert_eq!(t.best(Criterion::Aic).unwrap().0, "c");
        assert_eq!(t.best(Criterion::Bic).unwrap().0, "d");
        assert_eq!(t.successes().count(), 3);
        let labels: Vec<&str> = (&t).into_iter().map(|(l, _)| l).collect();
        assert_eq!(labels, ["a", "b", "c", "d"]);
        let empty: ModelTable<Estimate> = ModelTable::new();
        assert!(empty.is_empty() && empty.best(Criterion::Aic).is_none());
    }
}
