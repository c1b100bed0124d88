//! A small CSV table for the key-population readers: every value keeps its file, line and
//! column so that a bad value is reported where it sits.

use crate::error::{Error, Location, Result};

/// A CSV file read into text cells, with the line number of every row.
#[derive(Debug, Clone)]
pub struct Table {
    /// File name used in error messages.
    pub file: String,
    /// Column names as in the header.
    pub headers: Vec<String>,
    /// `(line, cells)`; the header is line 1.
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Whether a cell is a missing value (`NA`, empty, `.`).
pub fn is_missing(v: &str) -> bool {
    v.is_empty() || v.eq_ignore_ascii_case("na") || v == "." || v.eq_ignore_ascii_case("nan")
}

impl Table {
    /// Parses CSV text (header line first).
    ///
    /// # Errors
    /// [`Error::CsvFormat`] for an empty file, a row with the wrong number of fields or a
    /// duplicated column name.
    pub fn parse(text: &str, file: &str) -> Result<Table> {
        // The crate's one CSV reader: quotes checked, CRLF-safe line numbers, comments.
        let (headers, rows) = crate::data::csv_io::read_cells(text, file)?;
        Ok(Table {
            file: file.to_string(),
            headers,
            rows,
        })
    }

    /// Reads a file from disk.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, then as [`Table::parse`].
    pub fn read(path: &std::path::Path) -> Result<Table> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Table::parse(&text, &path.display().to_string())
    }

    /// Index of a column (exact name first, then case-insensitive, with `.` and `_`
    /// treated alike).
    pub fn find(&self, name: &str) -> Option<usize> {
        let norm = |s: &str| s.to_ascii_lowercase().replace('_', ".");
        self.headers
            .iter()
            .position(|h| h == name)
            .or_else(|| self.headers.iter().position(|h| norm(h) == norm(name)))
    }

    /// Index of a column that must exist.
    ///
    /// # Errors
    /// [`Error::CsvFormat`] naming the missing column and the columns present.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| Error::CsvFormat {
            at: Location {
                file: self.file.clone(),
                line: Some(1),
                column: None,
            },
            reason: format!("no column `{name}` (columns: {})", self.headers.join(", ")),
        })
    }

    /// A [`Error::CsvValue`] for the cell at `(row, col)`.
    pub fn value_error(&self, row: usize, col: usize, expected: impl Into<String>) -> Error {
        let (line, cells) = &self.rows[row];
        Error::CsvValue {
            at: Location {
                file: self.file.clone(),
                line: Some(*line),
                column: Some(self.headers[col].clone()),
            },
            value: cells[col].clone(),
            expected: expected.into(),
        }
    }

    /// The text of a cell.
    pub fn cell(&self, row: usize, col: usize) -> &str {
        &self.rows[row].1[col]
    }

    /// A finite number, or `None` when missing.
    ///
    /// # Errors
    /// [`Error::CsvValue`] when the cell is neither a number nor missing.
    pub fn number_or_missing(&self, row: usize, col: usize) -> Result<Option<f64>> {
        let v = self.cell(row, col);
        if is_missing(v) {
            return Ok(None);
        }
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.value_error(row, col, "a number")),
        }
    }

    /// A finite number that must be present.
    ///
    /// # Errors
    /// [`Error::CsvValue`] when the cell is missing or not a number.
    pub fn number(&self, row: usize, col: usize) -> Result<f64> {
        self.number_or_missing(row, col)?.ok_or_else(|| {
            self.value_error(row, col, "a number (missing values are not allowed here)")
        })
    }

    /// A 0/1 (or true/false, yes/no) indicator.
    ///
    /// # Errors
    /// [`Error::CsvValue`] for any other value.
    pub fn indicator(&self, row: usize, col: usize) -> Result<bool> {
        match self.cell(row, col).to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "y" | "t" => Ok(true),
            "0" | "false" | "no" | "n" | "f" => Ok(false),
            _ => Err(self.value_error(row, col, "0 or 1")),
        }
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no data rows (never true for a parsed table).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
