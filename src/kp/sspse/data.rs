//! An RDS sample as SS-PSE needs it: network sizes in recruitment order, and (optionally)
//! who recruited whom and which respondents were seen in an earlier survey.

use crate::error::{Error, Location, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One respondent-driven sample, rows in recruitment order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RdsSample {
    /// Respondent ids (as text), when the data carry them.
    pub ids: Option<Vec<String>>,
    /// Reported network size (degree) of each respondent, in recruitment order.
    pub degrees: Vec<u32>,
    /// Number of people each respondent recruited (0 when the recruiter column is absent).
    pub recruits: Vec<u32>,
    /// Whether each respondent is a seed (no recruiter in the sample).
    pub is_seed: Vec<bool>,
    /// For a second survey: whether each respondent was also in the first one.
    pub recaptured: Option<Vec<bool>>,
}

impl RdsSample {
    /// A sample from degrees alone (recruitment order = slice order, no tree information).
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the sample is empty.
    pub fn from_degrees(degrees: &[u32]) -> Result<Self> {
        if degrees.is_empty() {
            return Err(Error::invalid(
                "an RDS sample needs at least one respondent",
            ));
        }
        Ok(RdsSample {
            ids: None,
            degrees: degrees.to_vec(),
            recruits: vec![0; degrees.len()],
            is_seed: vec![false; degrees.len()],
            recaptured: None,
        })
    }

    /// Number of respondents.
    pub fn len(&self) -> usize {
        self.degrees.len()
    }

    /// Whether the sample has no respondents (never true for a validated sample).
    pub fn is_empty(&self) -> bool {
        self.degrees.is_empty()
    }

    /// Marks the respondents of this (second) sample that appear in `first`, by id.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when either sample has no ids.
    pub fn mark_recaptures_from(&mut self, first: &RdsSample) -> Result<()> {
        let (Some(mine), Some(theirs)) = (&self.ids, &first.ids) else {
            return Err(Error::invalid(
                "recaptures need an `id` column in both samples (or a `recapture` column in the second)",
            ));
        };
        let set: std::collections::HashSet<&String> = theirs.iter().collect();
        self.recaptured = Some(mine.iter().map(|i| set.contains(i)).collect());
        Ok(())
    }

    /// The unit sizes SS-PSE uses (sspse's `include.tree = TRUE`): the reported degree,
    /// raised to the number of recruits plus one for the recruiter where that is larger.
    pub fn tree_sizes(&self) -> Vec<u32> {
        self.degrees
            .iter()
            .zip(&self.recruits)
            .zip(&self.is_seed)
            .map(|((&d, &r), &s)| d.max(r + u32::from(!s)))
            .collect()
    }

    /// Reads an RDS sample from CSV text. Columns: `degree` (or `network.size`), required;
    /// `id` and `recruiter.id` (`seed`, `0`, empty or `NA` for seeds), optional;
    /// `recapture` (0/1), optional. Rows must be in recruitment order.
    ///
    /// # Errors
    /// [`Error::CsvFormat`] without a degree column; [`Error::CsvValue`] naming the line
    /// and column of a degree that is not a non-negative integer, or a `recapture` that is
    /// not 0/1.
    pub fn from_csv_str(text: &str, file: &str) -> Result<Self> {
        let loc = |line: Option<usize>, col: Option<&str>| Location {
            file: file.to_string(),
            line,
            column: col.map(str::to_string),
        };
        // The reader's shared checks: delimiter, quotes, comments, true line numbers.
        let (headers, rows) = crate::data::csv_io::read_cells(text, file)?;
        let col = |name: &str| headers.iter().position(|h| h == name);
        let deg_col = col("degree")
            .or_else(|| col("network.size"))
            .ok_or_else(|| Error::CsvFormat {
                at: loc(Some(1), None),
                reason: "no `degree` (or `network.size`) column".into(),
            })?;
        let id_col = col("id");
        let rec_col = col("recruiter.id");
        let rc_col = col("recapture");
        let mut ids = Vec::new();
        let mut recruiter = Vec::new();
        let mut degrees = Vec::new();
        let mut recaptured = Vec::new();
        for (line, row) in &rows {
            let line = *line;
            let get = |c: usize| row.get(c).map_or("", String::as_str);
            let dv = get(deg_col);
            let d: u32 = dv.parse().map_err(|_| Error::CsvValue {
                at: loc(Some(line), Some(&headers[deg_col])),
                value: dv.to_string(),
                expected: "a non-negative whole number (the respondent's network size)".into(),
            })?;
            degrees.push(d);
            if let Some(c) = id_col {
                ids.push(get(c).to_string());
            }
            if let Some(c) = rec_col {
                recruiter.push(get(c).to_string());
            }
            if let Some(c) = rc_col {
                let v = get(c);
                recaptured.push(match v {
                    "1" | "TRUE" | "true" => true,
                    "0" | "FALSE" | "false" => false,
                    _ => {
                        return Err(Error::CsvValue {
                            at: loc(Some(line), Some("recapture")),
                            value: v.to_string(),
                            expected: "0 or 1".into(),
                        });
                    }
                });
            }
        }
        if degrees.is_empty() {
            return Err(Error::CsvFormat {
                at: loc(None, None),
                reason: "no respondents".into(),
            });
        }
        let n = degrees.len();
        let mut recruits = vec![0u32; n];
        let mut is_seed = vec![false; n];
        if rec_col.is_some() {
            let seedish = |r: &str| matches!(r, "seed" | "0" | "" | "NA");
            let index: HashMap<&str, usize> = ids
                .iter()
                .enumerate()
                .map(|(i, s)| (s.as_str(), i))
                .collect();
            for (i, r) in recruiter.iter().enumerate() {
                if seedish(r) {
                    is_seed[i] = true;
                } else if let Some(&j) = index.get(r.as_str()) {
                    recruits[j] += 1;
                }
            }
        }
        Ok(RdsSample {
            ids: id_col.map(|_| ids),
            degrees,
            recruits,
            is_seed,
            recaptured: rc_col.map(|_| recaptured),
        })
    }

    /// Reads an RDS sample from a CSV file (see [`RdsSample::from_csv_str`]).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; otherwise as `from_csv_str`.
    pub fn from_csv_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let p = path.as_ref();
        let text = std::fs::read_to_string(p).map_err(|e| Error::Io {
            path: p.display().to_string(),
            source: e,
        })?;
        Self::from_csv_str(&text, &p.display().to_string())
    }
}
