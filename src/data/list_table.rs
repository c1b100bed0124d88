//! The multiple-systems view: counts for each combination of k lists.

use super::histories::{CaptureHistories, history_string};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Largest number of lists a dense [`ListTable`] holds (2^26 cells = 512 MiB of counts).
pub const MAX_LISTS: usize = 26;

/// Counts of cases for each combination of k lists, stored densely by bit code
/// (bit j set = on list j + 1). Cell 0, the cases on no list, is the unknown dark
/// figure and is always 0 here.
///
/// # Examples
/// ```
/// use darkfigure::data::ListTable;
/// // Two lists: 781 only on A, 254 only on B, 167 on both.
/// let t = ListTable::new(vec!["A".into(), "B".into()], vec![0, 781, 254, 167]).unwrap();
/// assert_eq!(t.observed(), 1202);
/// assert_eq!(t.list_total(0), 948);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListTable {
    names: Vec<String>,
    counts: Vec<u64>,
}

impl ListTable {
    /// Builds a table from list names and `2^k` counts indexed by bit code.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for fewer than 2 or more than [`MAX_LISTS`] lists, a wrong
    /// number of cells, a positive count in cell 0, or an empty table.
    pub fn new(names: Vec<String>, counts: Vec<u64>) -> Result<Self> {
        let k = names.len();
        if !(2..=MAX_LISTS).contains(&k) {
            return Err(Error::invalid(format!(
                "{k} lists: between 2 and {MAX_LISTS} are supported"
            )));
        }
        if counts.len() != 1usize << k {
            return Err(Error::invalid(format!(
                "{} cells for {k} lists: expected 2^{k} = {}",
                counts.len(),
                1usize << k
            )));
        }
        if counts[0] != 0 {
            return Err(Error::invalid_row(
                0,
                "the cell of cases on no list must be 0 (it is what is estimated)",
            ));
        }
        if counts.iter().all(|&c| c == 0) {
            return Err(Error::invalid("every cell is 0: no case was listed"));
        }
        Ok(ListTable { names, counts })
    }

    /// Builds the table from capture histories (occasion names become list names).
    ///
    /// # Errors
    /// As [`ListTable::new`].
    pub fn from_histories(h: &CaptureHistories) -> Result<Self> {
        Self::new(h.occasion_names().to_vec(), h.cell_counts()?)
    }

    /// Back to capture histories, one row per non-empty cell.
    ///
    /// # Errors
    /// Never in practice (the table was validated); kept for symmetry.
    pub fn to_histories(&self) -> Result<CaptureHistories> {
        CaptureHistories::from_cell_counts(self.n_lists(), &self.counts)?
            .with_occasion_names(self.names.clone())
    }

    /// Number of lists k.
    pub fn n_lists(&self) -> usize {
        self.names.len()
    }

    /// List names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// All 2^k counts by bit code.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Count of one cell.
    pub fn count(&self, code: usize) -> u64 {
        self.counts[code]
    }

    /// Cases on at least one list.
    pub fn observed(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Cases on list `j` (0-based).
    pub fn list_total(&self, j: usize) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .filter(|(c, _)| c >> j & 1 == 1)
            .map(|(_, &v)| v)
            .sum()
    }

    /// Cells as `(history string, count)` pairs, skipping empty cells.
    pub fn nonzero_cells(&self) -> Vec<(String, u64)> {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| (history_string(i as u64, self.n_lists()), c))
            .collect()
    }
}
