//! Capture histories with individual covariates (for Huggins conditional-likelihood models).
//!
//! A wide CSV file carries, beside its 0/1 occasion columns, covariate columns:
//!
//! * an **individual covariate** is one column (`sex`, `weight`, `age`): numeric, or
//!   categorical when any value is not a number (levels sorted, the first is the reference
//!   level of treatment contrasts, as R's `factor` and the counts layout do);
//! * a **time-varying covariate** `z` is one numeric column per occasion, named `z` followed
//!   by the occasion number, optionally zero-padded: `z1..z10` or `z01..z10` (VGAM's
//!   `Huggins89table1` writes `t01..t10`). Name it by its prefix (`--covariates z`); the
//!   reader finds the `t` columns.
//!
//! Occasion columns are the columns that are not named as covariates, are not `id`, `freq`
//! (`frequency`, `n`) or `stratum`, and hold only 0 and 1. Other columns are ignored and
//! listed in [`CovariateHistories::ignored_columns`]. A binary covariate (`fat` = 0/1) must
//! be named, or it is read as an occasion.
//!
//! A long file (one row per record: `id`, `occasion`, as [`super::csv_io`] reads them) carries
//! individual covariates as columns holding one value per unit, the same on each of its
//! records (a record that disagrees is refused at its line).
//!
//! Strata (a `stratum` column, or the one [`ReadOptions::stratum_column`] names) are kept
//! in the histories, so that each stratum can be analysed on its own
//! ([`CovariateHistories::split_by_stratum`]); a stratum column named among the
//! covariates is a covariate instead, and the units are one population.

use super::counts::{Covariate, CovariateValues};
use super::csv_io::{DataSet, Layout, OccasionOrder, ReadOptions, capture_flag};
use super::histories::CaptureHistories;
use crate::error::{Error, Location, Result};
use serde::{Deserialize, Serialize};

/// A numeric covariate that takes one value per unit and occasion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeVarying {
    /// Covariate name (the column prefix).
    pub name: String,
    /// Values, row-major: `values[row * occasions + j]`.
    pub values: Vec<f64>,
}

/// Capture histories (one row per unit, or per unit type with a frequency) with individual
/// and time-varying covariates.
///
/// # Examples
/// ```
/// use darkfigure::data::{CaptureHistories, CovariateHistories, CovariateValues};
/// let h = CaptureHistories::from_rows(&[[1u8, 0, 1], [0, 1, 0], [1, 1, 1]]).unwrap();
/// let d = CovariateHistories::new(h)
///     .with_covariate("sex", CovariateValues::categorical(&["f", "m", "f"]))
///     .unwrap();
/// assert_eq!(d.covariates().len(), 1);
/// assert_eq!(d.histories().observed(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CovariateHistories {
    histories: CaptureHistories,
    covariates: Vec<Covariate>,
    time_varying: Vec<TimeVarying>,
    ignored_columns: Vec<String>,
    /// How a long file's occasions were put in order (`None`: a wide file or no file).
    #[serde(default)]
    occasion_order: Option<OccasionOrder>,
    /// What the reader of a long file said about it (dates grouped, units that moved
    /// between strata, repeated records).
    #[serde(default)]
    notes: Vec<String>,
}

impl CovariateHistories {
    /// Histories without covariates yet.
    pub fn new(histories: CaptureHistories) -> Self {
        CovariateHistories {
            histories,
            covariates: Vec::new(),
            time_varying: Vec::new(),
            ignored_columns: Vec::new(),
            occasion_order: None,
            notes: Vec::new(),
        }
    }

    fn check_name(&self, name: &str) -> Result<()> {
        if self.covariates.iter().any(|c| c.name == name)
            || self.time_varying.iter().any(|c| c.name == name)
        {
            return Err(Error::invalid(format!("covariate `{name}` given twice")));
        }
        Ok(())
    }

    /// Adds an individual covariate (one value per row).
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a length mismatch, a duplicate name or a non-finite value.
    pub fn with_covariate(
        mut self,
        name: impl Into<String>,
        values: CovariateValues,
    ) -> Result<Self> {
        let name = name.into();
        self.check_name(&name)?;
        if values.len() != self.histories.n_rows() {
            return Err(Error::invalid(format!(
                "covariate `{name}` has {} values for {} rows",
                values.len(),
                self.histories.n_rows()
            )));
        }
        if let CovariateValues::Numeric(v) = &values
            && let Some(i) = v.iter().position(|x| !x.is_finite())
        {
            return Err(Error::invalid_row(
                i,
                format!("covariate `{name}` is not a finite number"),
            ));
        }
        self.covariates.push(Covariate { name, values });
        Ok(self)
    }

    /// Adds a time-varying numeric covariate, `values[row][occasion]`.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for a shape mismatch, a duplicate name or a non-finite value.
    pub fn with_time_varying(
        mut self,
        name: impl Into<String>,
        values: &[Vec<f64>],
    ) -> Result<Self> {
        let name = name.into();
        self.check_name(&name)?;
        let t = self.histories.occasions();
        if values.len() != self.histories.n_rows() {
            return Err(Error::invalid(format!(
                "time-varying covariate `{name}` has {} rows for {} rows of histories",
                values.len(),
                self.histories.n_rows()
            )));
        }
        let mut flat = Vec::with_capacity(values.len() * t);
        for (i, r) in values.iter().enumerate() {
            if r.len() != t {
                return Err(Error::invalid_row(
                    i,
                    format!(
                        "time-varying covariate `{name}` has {} values for {t} occasions",
                        r.len()
                    ),
                ));
            }
            if r.iter().any(|x| !x.is_finite()) {
                return Err(Error::invalid_row(
                    i,
                    format!("time-varying covariate `{name}` is not a finite number"),
                ));
            }
            flat.extend_from_slice(r);
        }
        self.time_varying.push(TimeVarying { name, values: flat });
        Ok(self)
    }

    /// The capture histories.
    pub fn histories(&self) -> &CaptureHistories {
        &self.histories
    }

    /// Individual covariates.
    pub fn covariates(&self) -> &[Covariate] {
        &self.covariates
    }

    /// Time-varying covariates.
    pub fn time_varying(&self) -> &[TimeVarying] {
        &self.time_varying
    }

    /// An individual covariate by name.
    pub fn covariate(&self, name: &str) -> Option<&Covariate> {
        self.covariates.iter().find(|c| c.name == name)
    }

    /// A time-varying covariate by name.
    pub fn time_varying_covariate(&self, name: &str) -> Option<&TimeVarying> {
        self.time_varying.iter().find(|c| c.name == name)
    }

    /// Columns of the file that were neither occasions nor requested covariates.
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored_columns
    }

    /// How the occasions of a long file were put in order (`None` for a wide file).
    pub fn occasion_order(&self) -> Option<OccasionOrder> {
        self.occasion_order
    }

    /// What the reader said about a long file, as [`DataSet::Histories`] notes.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Splits the data by stratum: `(name, data)` per stratum of the histories, in their
    /// order, each with its units' covariates (a categorical covariate keeps the levels
    /// its stratum holds, so the first of those is the reference). Empty when the
    /// histories have no strata.
    ///
    /// # Examples
    /// ```
    /// use darkfigure::data::{CaptureHistories, CovariateHistories, CovariateValues};
    /// let h = CaptureHistories::from_rows(&[[1u8, 0], [0, 1], [1, 1]])
    ///     .unwrap()
    ///     .with_strata(&["buyer", "seller", "buyer"])
    ///     .unwrap();
    /// let d = CovariateHistories::new(h)
    ///     .with_covariate("age", CovariateValues::categorical(&["30+", "<18", "<30"]))
    ///     .unwrap();
    /// let parts = d.split_by_stratum();
    /// assert_eq!(parts[0].0, "buyer");
    /// assert_eq!(parts[0].1.histories().observed(), 2);
    /// assert_eq!(parts[0].1.covariate("age").unwrap().values.label(1), "<30");
    /// ```
    pub fn split_by_stratum(&self) -> Vec<(String, CovariateHistories)> {
        let Some(st) = self.histories.strata() else {
            return Vec::new();
        };
        st.names
            .iter()
            .filter_map(|name| {
                let rows = self.histories.stratum_rows(name)?;
                Some((name.clone(), self.subset_rows(&rows)))
            })
            .collect()
    }

    /// The same units and covariates as one population: the strata dropped.
    pub fn without_strata(&self) -> CovariateHistories {
        CovariateHistories {
            histories: self.histories.clone().without_strata(),
            ..self.clone()
        }
    }

    /// The units of `rows` (each below the number of rows), their covariates with the
    /// levels of all the data: a categorical covariate keeps its levels and codes even
    /// where `rows` holds none of a level, so that a model's design columns mean the
    /// same on the part as on the whole.
    pub(crate) fn rows(&self, rows: &[usize]) -> CovariateHistories {
        let mut out = self.subset_rows(rows);
        for (c, full) in out.covariates.iter_mut().zip(&self.covariates) {
            if let CovariateValues::Categorical { levels, codes } = &full.values {
                c.values = CovariateValues::Categorical {
                    levels: levels.clone(),
                    codes: rows.iter().map(|&i| codes[i]).collect(),
                };
            }
        }
        out
    }

    fn subset_rows(&self, rows: &[usize]) -> CovariateHistories {
        let t = self.histories.occasions();
        let covariates = self
            .covariates
            .iter()
            .map(|c| Covariate {
                name: c.name.clone(),
                values: match &c.values {
                    CovariateValues::Numeric(v) => {
                        CovariateValues::Numeric(rows.iter().map(|&i| v[i]).collect())
                    }
                    CovariateValues::Categorical { levels, codes } => {
                        let labels: Vec<&str> = rows
                            .iter()
                            .map(|&i| levels[codes[i] as usize].as_str())
                            .collect();
                        CovariateValues::categorical(&labels)
                    }
                },
            })
            .collect();
        let time_varying = self
            .time_varying
            .iter()
            .map(|c| TimeVarying {
                name: c.name.clone(),
                values: rows
                    .iter()
                    .flat_map(|&i| c.values[i * t..(i + 1) * t].iter().copied())
                    .collect(),
            })
            .collect();
        CovariateHistories {
            histories: self.histories.subset_rows(rows),
            covariates,
            time_varying,
            ignored_columns: self.ignored_columns.clone(),
            occasion_order: self.occasion_order,
            notes: Vec::new(),
        }
    }
}

const FREQ: [&str; 3] = ["freq", "frequency", "n"];

/// Reads a wide CSV file of capture histories with the covariates named in `covariates`
/// (individual columns, or prefixes of time-varying column groups; see the module docs).
///
/// # Errors
/// [`Error::CsvFormat`] for a malformed file, a covariate that names no column, or no
/// occasion column; [`Error::CsvValue`] for a bad value, naming line, column and value
/// (an occasion value other than 0/1, a non-numeric time-varying value, a bad frequency).
pub fn read_covariate_histories_str(
    text: &str,
    file: &str,
    covariates: &[String],
) -> Result<CovariateHistories> {
    read_covariate_histories_with(text, file, covariates, &ReadOptions::default())
}

/// Reads a wide or long CSV file of capture histories with the covariates named in
/// `covariates`; `opts` names the columns and the long layout's choices (occasion order,
/// periods of dates, units in two strata) as for [`super::csv_io::read_str`].
///
/// # Errors
/// As [`read_covariate_histories_str`] for a wide file and [`super::csv_io::read_str`]
/// for a long one; [`Error::CsvValue`] where a unit's covariate differs between its
/// records.
pub fn read_covariate_histories_with(
    text: &str,
    file: &str,
    covariates: &[String],
    opts: &ReadOptions,
) -> Result<CovariateHistories> {
    if super::csv_io::layout_of(text, file, opts)? == Layout::Long {
        return read_long(text, file, covariates, opts);
    }
    let loc = |line: Option<usize>, column: Option<&str>| Location {
        file: file.to_string(),
        line,
        column: column.map(str::to_string),
    };
    // The checks every reader shares: unterminated quotes, ragged rows, comment lines, a
    // repeated header, the delimiter (commas, semicolons with decimal commas, tabs).
    let (headers, rows) = super::csv_io::read_cells(text, file)?;
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let freq_col = FREQ.iter().find_map(|n| find(n));
    let mut used = vec![false; headers.len()];
    for n in ["id", "stratum"] {
        if let Some(c) = find(n) {
            used[c] = true;
        }
    }
    // The strata: `stratum` or the column `opts.stratum_column` names, unless it is
    // among the covariates (then the units are one population whose catchability
    // depends on it).
    let stratum_name = opts.stratum_column.as_deref().unwrap_or("stratum");
    let stratum_col = match find(stratum_name) {
        Some(_)
            if covariates
                .iter()
                .any(|c| c.eq_ignore_ascii_case(stratum_name)) =>
        {
            None
        }
        Some(c) => {
            used[c] = true;
            Some(c)
        }
        None if opts.stratum_column.is_some() => {
            return Err(Error::CsvFormat {
                at: loc(Some(1), None),
                reason: format!(
                    "no column named `{stratum_name}` for the stratum (stratum_column; the \
                     columns are {})",
                    headers.join(", ")
                ),
            });
        }
        None => None,
    };
    if let Some(c) = freq_col {
        used[c] = true;
    }
    // Covariates: an exact column, or a group `name<digits>`.
    enum Spec {
        Individual(usize),
        TimeVarying(Vec<usize>),
    }
    let mut specs = Vec::new();
    for name in covariates {
        if let Some(c) = find(name) {
            used[c] = true;
            specs.push((name.clone(), Spec::Individual(c)));
            continue;
        }
        let mut group: Vec<(usize, usize)> = headers
            .iter()
            .enumerate()
            .filter_map(|(c, h)| {
                let rest = h.get(name.len()..)?;
                (h[..name.len()].eq_ignore_ascii_case(name)
                    && !rest.is_empty()
                    && rest.bytes().all(|b| b.is_ascii_digit()))
                .then(|| rest.parse::<usize>().ok().map(|j| (j, c)))
                .flatten()
            })
            .collect();
        if group.is_empty() {
            return Err(Error::CsvFormat {
                at: loc(Some(1), Some(name)),
                reason: format!(
                    "no column `{name}` (nor `{name}1`, `{name}2`, ... for a time-varying covariate); columns are {}",
                    headers.join(", ")
                ),
            });
        }
        group.sort();
        for &(_, c) in &group {
            used[c] = true;
        }
        specs.push((
            name.clone(),
            Spec::TimeVarying(group.into_iter().map(|(_, c)| c).collect()),
        ));
    }
    let mut occ = Vec::new();
    let mut ignored = Vec::new();
    for (c, h) in headers.iter().enumerate() {
        if used[c] {
            continue;
        }
        if rows
            .iter()
            .all(|(_, r)| r.get(c).is_some_and(|v| capture_flag(v).is_some()))
        {
            occ.push(c);
        } else {
            ignored.push(h.clone());
        }
    }
    if occ.is_empty() {
        return Err(Error::CsvFormat {
            at: loc(Some(1), None),
            reason: "no occasion column: expected columns holding only 0 and 1".into(),
        });
    }
    let t = occ.len();
    let mut hist = Vec::with_capacity(rows.len());
    let mut freq = Vec::with_capacity(rows.len());
    for (line, r) in &rows {
        if r.len() != headers.len() {
            return Err(Error::CsvFormat {
                at: loc(Some(*line), None),
                reason: format!(
                    "the row has {} fields, the header has {}",
                    r.len(),
                    headers.len()
                ),
            });
        }
        let mut h = 0u64;
        for (j, &c) in occ.iter().enumerate() {
            if capture_flag(&r[c]) == Some(true) {
                h |= 1 << j;
            }
        }
        let f = match freq_col {
            Some(c) => r[c].parse::<u64>().map_err(|_| Error::CsvValue {
                at: loc(Some(*line), Some(&headers[c])),
                value: r[c].clone(),
                expected: "a frequency: a non-negative whole number".into(),
            })?,
            None => 1,
        };
        if h == 0 && f > 0 {
            // every such row, so that they can be removed in one go
            let zero: Vec<usize> = rows
                .iter()
                .filter(|(_, r)| {
                    r.len() == headers.len()
                        && occ.iter().all(|&c| r[c] != "1")
                        && freq_col.is_none_or(|c| r[c].trim() != "0")
                })
                .map(|(l, _)| *l)
                .collect();
            let shown: Vec<String> = zero.iter().take(10).map(usize::to_string).collect();
            return Err(Error::CsvValue {
                at: loc(Some(*line), None),
                value: "all zeros".into(),
                expected: format!(
                    "a unit seen at least once (never-seen units cannot be in the data; {} \
                     {} no capture: line{} {}{}; remove {})",
                    zero.len(),
                    if zero.len() == 1 {
                        "row has"
                    } else {
                        "rows have"
                    },
                    if zero.len() == 1 { "" } else { "s" },
                    shown.join(", "),
                    if zero.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    },
                    if zero.len() == 1 { "it" } else { "them" }
                ),
            });
        }
        hist.push(h);
        freq.push(f);
    }
    let names: Vec<String> = occ.iter().map(|&c| headers[c].clone()).collect();
    let mut h = CaptureHistories::new(t, hist, freq)?.with_occasion_names(names)?;
    if let Some(c) = stratum_col {
        if let Some((line, expected)) = super::csv_io::blank_stratum(&rows, c) {
            return Err(Error::CsvValue {
                at: loc(Some(line), Some(&headers[c])),
                value: String::new(),
                expected,
            });
        }
        let labels: Vec<&str> = rows.iter().map(|(_, r)| r[c].as_str()).collect();
        h = h.with_strata(&labels)?;
    }
    let mut out = CovariateHistories::new(h);
    for (name, spec) in specs {
        match spec {
            Spec::Individual(c) => {
                let vals: Vec<&str> = rows.iter().map(|(_, r)| r[c].as_str()).collect();
                let lines: Vec<usize> = rows.iter().map(|(l, _)| *l).collect();
                let values = individual_values(&vals, &lines, |l| loc(Some(l), Some(&headers[c])))?;
                out = out.with_covariate(name, values)?;
            }
            Spec::TimeVarying(cols) => {
                if cols.len() != t {
                    return Err(Error::CsvFormat {
                        at: loc(Some(1), Some(&name)),
                        reason: format!(
                            "time-varying covariate `{name}` has {} columns for {t} occasions",
                            cols.len()
                        ),
                    });
                }
                let mut vals = Vec::with_capacity(rows.len());
                for (line, r) in &rows {
                    let mut row = Vec::with_capacity(t);
                    for &c in &cols {
                        let x = r[c]
                            .parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite())
                            .ok_or_else(|| Error::CsvValue {
                                at: loc(Some(*line), Some(&headers[c])),
                                value: r[c].clone(),
                                expected: "a finite number (time-varying covariates are numeric)"
                                    .into(),
                            })?;
                        row.push(x);
                    }
                    vals.push(row);
                }
                out = out.with_time_varying(name, &vals)?;
            }
        }
    }
    out.ignored_columns = ignored;
    Ok(out)
}

/// One value per unit: numbers, or categories when any value is not a number. `lines`
/// gives each value's line, `at` its location in errors.
fn individual_values(
    vals: &[&str],
    lines: &[usize],
    at: impl Fn(usize) -> Location,
) -> Result<CovariateValues> {
    if let Some(i) = vals
        .iter()
        .position(|v| v.is_empty() || v.eq_ignore_ascii_case("NA"))
    {
        return Err(Error::CsvValue {
            at: at(lines[i]),
            value: vals[i].to_string(),
            expected: "a value (missing covariates are not supported)".into(),
        });
    }
    let nums: Option<Vec<f64>> = vals.iter().map(|v| v.parse::<f64>().ok()).collect();
    Ok(match nums {
        Some(v) => {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::CsvValue {
                    at: at(lines[i]),
                    value: vals[i].to_string(),
                    expected: "a finite number".into(),
                });
            }
            CovariateValues::Numeric(v)
        }
        None => CovariateValues::categorical(vals),
    })
}

/// A long file: histories by unit (with their strata), each covariate one value per unit.
fn read_long(
    text: &str,
    file: &str,
    covariates: &[String],
    opts: &ReadOptions,
) -> Result<CovariateHistories> {
    let opts = ReadOptions {
        covariates: Some(covariates.to_vec()),
        ..opts.clone()
    };
    let (set, values) = super::csv_io::read_long_with_unit_values(text, file, &opts, covariates)?;
    let DataSet::Histories {
        data,
        occasion_order,
        notes,
        ..
    } = set
    else {
        unreachable!("the long layout reads histories")
    };
    let mut h = CaptureHistories::new(
        data.occasions(),
        data.histories().to_vec(),
        data.frequencies().to_vec(),
    )?
    .with_occasion_names(data.occasion_names().to_vec())?;
    if let Some(ids) = data.ids() {
        h = h.with_ids(ids.to_vec())?;
    }
    // The strata stay (each analysed on its own) unless the stratum column is among the
    // covariates: then the units are one population whose catchability depends on it.
    let stratum = opts.stratum_column.as_deref().unwrap_or("stratum");
    if let Some(st) = data
        .strata()
        .filter(|_| !covariates.iter().any(|c| c.eq_ignore_ascii_case(stratum)))
    {
        let labels: Vec<&str> = st
            .codes
            .iter()
            .map(|&c| st.names[c as usize].as_str())
            .collect();
        h = h.with_strata(&labels)?;
        h.order_strata(st.names.iter().map(String::as_str));
    }
    let mut out = CovariateHistories::new(h);
    for (name, (vals, lines)) in covariates.iter().zip(values) {
        let vals: Vec<&str> = vals.iter().map(String::as_str).collect();
        let values = individual_values(&vals, &lines, |l| Location {
            file: file.to_string(),
            line: Some(l),
            column: Some(name.clone()),
        })?;
        out = out.with_covariate(name.clone(), values)?;
    }
    out.occasion_order = occasion_order;
    out.notes = notes;
    Ok(out)
}

/// Reads a wide CSV file with covariates from disk; see [`read_covariate_histories_str`].
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; otherwise as [`read_covariate_histories_str`].
pub fn read_covariate_histories_path(
    path: impl AsRef<std::path::Path>,
    covariates: &[String],
) -> Result<CovariateHistories> {
    let p = path.as_ref();
    let text = std::fs::read_to_string(p).map_err(|source| Error::Io {
        path: p.display().to_string(),
        source,
    })?;
    read_covariate_histories_str(&text, &p.display().to_string(), covariates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_individual_and_time_varying() {
        let text = "c1,c2,c3,sex,w,z01,z02,z03,junk\n1,0,1,m,2.5,1,2,3,x\n0,1,1,f,3,1,2,4,y\n";
        let d =
            read_covariate_histories_str(text, "<memory>", &["sex".into(), "w".into(), "z".into()])
                .unwrap();
        assert_eq!(d.histories().occasions(), 3);
        assert_eq!(d.histories().histories(), &[0b101, 0b110]);
        assert_eq!(d.covariates().len(), 2);
        assert_eq!(
            d.time_varying()[0].values,
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 4.0]
        );
        assert_eq!(d.ignored_columns(), &["junk".to_string()]);
    }

    #[test]
    fn bad_values_name_line_and_column() {
        let text = "c1,c2,z1,z2\n1,0,1,a\n";
        let e = read_covariate_histories_str(text, "f.csv", &["z".into()]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("line 2") && msg.contains("z2") && msg.contains("`a`"),
            "{msg}"
        );
        let e = read_covariate_histories_str(text, "f.csv", &["sex".into()]).unwrap_err();
        assert!(e.to_string().contains("no column `sex`"));
    }
}
