//! The crate's one error type.
//!
//! Every variant carries the evidence a user needs to find and fix the problem: the file,
//! row and column of a bad CSV value, the counts that make an estimate undefined, the
//! parameter that was out of range. Nothing in the crate panics on user data or returns a
//! silent NaN; where an estimate does not exist the caller gets one of these variants.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Where a CSV error happened: the file (or `<memory>` for in-memory input), the
/// 1-based line number in the file (the header is line 1) and the column name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name, or `<memory>` / `<stdin>` when the input was not a file.
    pub file: String,
    /// 1-based line number in the file (the header is line 1); `None` for the header itself.
    pub line: Option<usize>,
    /// Column name (or `None` when the problem concerns a whole row).
    pub column: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(col) = &self.column {
            write!(f, ", column `{col}`")?;
        }
        Ok(())
    }
}

/// All the ways darkfigure refuses input or reports that an estimate does not exist.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value in a CSV file could not be accepted.
    #[error("{at}: value `{value}` is not valid: expected {expected}")]
    CsvValue {
        /// Where the value sits.
        at: Location,
        /// The offending text, as read.
        value: String,
        /// What was expected instead, in words.
        expected: String,
    },
    /// A CSV file is malformed as a whole (empty, wrong header, wrong column count...).
    #[error("{at}: {reason}")]
    CsvFormat {
        /// Where the problem was found.
        at: Location,
        /// What is wrong, in words.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path that failed.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Data built from Rust values failed validation (row is the 0-based index of the unit
    /// or cell, when the problem concerns one).
    #[error("invalid data{}: {reason}", row.map(|r| format!(" at row {r}")).unwrap_or_default())]
    InvalidData {
        /// 0-based index of the offending row, unit or cell, if any.
        row: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// An estimator setting is out of its range.
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParameter {
        /// Name of the setting.
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// The accepted range, in words.
        expected: String,
    },
    /// Lincoln-Petersen (and other ratio estimators) need at least one recapture.
    #[error(
        "no recaptures (n1 = {n1}, n2 = {n2}, m = 0): the Lincoln-Petersen estimate does not exist; \
         Chapman's estimator stays defined"
    )]
    NoRecaptures {
        /// Caught in the first sample.
        n1: u64,
        /// Caught in the second sample.
        n2: u64,
    },
    /// The method needs more occasions (or lists) than the data have.
    #[error("{method} needs at least {needed} occasions, the data have {got}")]
    TooFewOccasions {
        /// The method that refused.
        method: String,
        /// Minimum number of occasions.
        needed: usize,
        /// Occasions in the data.
        got: usize,
    },
    /// The estimate does not exist for these data (boundary MLE, non-identifiable model,
    /// empty cells that make N unbounded...).
    #[error("the estimate does not exist: {reason}")]
    EstimateDoesNotExist {
        /// Why, in words.
        reason: String,
    },
    /// An iterative fit did not reach its tolerance.
    #[error("the fit did not converge after {iterations} iterations: {reason}")]
    NotConverged {
        /// Iterations done.
        iterations: usize,
        /// What happened.
        reason: String,
    },
    /// A linear-algebra step failed (singular information matrix and the like).
    #[error("numerical failure: {reason}")]
    Numerical {
        /// What failed.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidData`] about the whole input.
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Error::InvalidData {
            row: None,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidData`] about one row.
    pub(crate) fn invalid_row(row: usize, reason: impl Into<String>) -> Self {
        Error::InvalidData {
            row: Some(row),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidParameter`].
    pub(crate) fn param(
        name: &'static str,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// Shorthand for [`Error::EstimateDoesNotExist`].
    pub(crate) fn no_estimate(reason: impl Into<String>) -> Self {
        Error::EstimateDoesNotExist {
            reason: reason.into(),
        }
    }
}
