//! Capture histories: units × occasions (or lists), 0/1, bit-packed.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The largest number of occasions a [`CaptureHistories`] can hold (one bit each in a
/// `u64`).
pub const MAX_OCCASIONS: usize = 64;

/// Capture histories of the units seen at least once.
///
/// Each row is one history (bit `j` set when the unit was caught on occasion `j + 1`)
/// with a frequency weight (1 for one-row-per-unit data) and, optionally, a stratum
/// label (buyer / seller, district...) and an identifier. Rows with frequency 0 are
/// allowed and kept (Rcapture ships them); a never-seen history (all zeros) with a
/// positive frequency is refused: a unit that was never seen cannot be in the data.
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// // Seber (1982, p. 107): 167 caught twice, 781 only first, 254 only second.
/// let h = CaptureHistories::from_strings(&[("11", 167), ("10", 781), ("01", 254)]).unwrap();
/// assert_eq!(h.observed(), 1202);
/// let s = h.summary();
/// assert_eq!(s.n_j, vec![948, 421]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HistoriesFields")]
pub struct CaptureHistories {
    occasions: usize,
    occasion_names: Vec<String>,
    histories: Vec<u64>,
    freq: Vec<u64>,
    strata: Option<Strata>,
    ids: Option<Vec<String>>,
    /// The columns are unordered sources (agency lists), not occasions ordered in time.
    #[serde(default)]
    lists: bool,
}

/// The serialised fields of [`CaptureHistories`], validated on the way in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoriesFields {
    occasions: usize,
    occasion_names: Vec<String>,
    histories: Vec<u64>,
    freq: Vec<u64>,
    strata: Option<Strata>,
    ids: Option<Vec<String>>,
    #[serde(default)]
    lists: bool,
}

impl TryFrom<HistoriesFields> for CaptureHistories {
    type Error = Error;
    fn try_from(f: HistoriesFields) -> Result<Self> {
        let mut h = CaptureHistories::new(f.occasions, f.histories, f.freq)?
            .with_occasion_names(f.occasion_names)?
            .with_lists(f.lists);
        if let Some(s) = f.strata {
            if s.codes.len() != h.histories.len() {
                return Err(Error::invalid(format!(
                    "{} stratum codes for {} rows",
                    s.codes.len(),
                    h.histories.len()
                )));
            }
            if let Some(i) = s.codes.iter().position(|&c| c as usize >= s.names.len()) {
                return Err(Error::invalid_row(
                    i,
                    format!(
                        "stratum code {} but only {} strata",
                        s.codes[i],
                        s.names.len()
                    ),
                ));
            }
            h.strata = Some(s);
        }
        if let Some(ids) = f.ids {
            h = h.with_ids(ids)?;
        }
        Ok(h)
    }
}

/// Stratum labels of the rows: `codes[row]` indexes `names`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strata {
    /// Distinct stratum names, in order of first appearance.
    pub names: Vec<String>,
    /// Per row, the index into `names`.
    pub codes: Vec<u32>,
}

impl Strata {
    /// Builds strata from one label per row.
    pub fn from_labels<S: AsRef<str>>(labels: &[S]) -> Self {
        let mut names: Vec<String> = Vec::new();
        let codes = labels
            .iter()
            .map(|l| {
                let l = l.as_ref();
                match names.iter().position(|n| n == l) {
                    Some(i) => i as u32,
                    None => {
                        names.push(l.to_string());
                        (names.len() - 1) as u32
                    }
                }
            })
            .collect();
        Strata { names, codes }
    }
}

/// Default occasion names `c1..ct` (as Rcapture's exported data).
pub fn default_occasion_names(t: usize) -> Vec<String> {
    (1..=t).map(|j| format!("c{j}")).collect()
}

fn mask(t: usize) -> u64 {
    if t >= 64 { u64::MAX } else { (1u64 << t) - 1 }
}

impl CaptureHistories {
    /// Builds histories from bit-packed codes (bit `j` = caught on occasion `j + 1`) and
    /// frequencies.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when `occasions` is 0 or above 64, the lengths differ, a
    /// code has bits beyond `occasions`, a never-seen history has a positive frequency,
    /// the frequencies add up to more than [`crate::data::MAX_UNITS`], or no unit was
    /// seen at all.
    pub fn new(occasions: usize, histories: Vec<u64>, freq: Vec<u64>) -> Result<Self> {
        if occasions == 0 || occasions > MAX_OCCASIONS {
            return Err(Error::invalid(format!(
                "{occasions} occasions: between 1 and {MAX_OCCASIONS} are supported"
            )));
        }
        if histories.len() != freq.len() {
            return Err(Error::invalid(format!(
                "{} histories but {} frequencies",
                histories.len(),
                freq.len()
            )));
        }
        let m = mask(occasions);
        for (i, (&h, &f)) in histories.iter().zip(&freq).enumerate() {
            if h & !m != 0 {
                return Err(Error::invalid_row(
                    i,
                    format!("history has captures beyond occasion {occasions}"),
                ));
            }
            if h == 0 && f > 0 {
                return Err(Error::invalid_row(
                    i,
                    format!(
                        "a never-seen history (all zeros) has frequency {f}: units that were never seen cannot be in the data"
                    ),
                ));
            }
        }
        crate::data::counts::checked_total(&freq)?;
        if freq.iter().all(|&f| f == 0) {
            return Err(Error::invalid("no unit was seen: the data are empty"));
        }
        Ok(CaptureHistories {
            occasions,
            occasion_names: default_occasion_names(occasions),
            histories,
            freq,
            strata: None,
            ids: None,
            lists: false,
        })
    }

    /// Builds one-row-per-unit histories from 0/1 rows (units × occasions).
    ///
    /// # Errors
    /// As [`CaptureHistories::new`], plus rows of unequal length or values other than 0/1.
    pub fn from_rows<R: AsRef<[u8]>>(rows: &[R]) -> Result<Self> {
        let t = rows.first().map(|r| r.as_ref().len()).unwrap_or(0);
        let mut hist = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != t {
                return Err(Error::invalid_row(
                    i,
                    format!("{} occasions, the first row has {t}", r.len()),
                ));
            }
            let mut code = 0u64;
            for (j, &v) in r.iter().enumerate() {
                match v {
                    0 => {}
                    1 => code |= 1 << j,
                    _ => {
                        return Err(Error::invalid_row(
                            i,
                            format!("occasion {} has value {v}, expected 0 or 1", j + 1),
                        ));
                    }
                }
            }
            hist.push(code);
        }
        let n = hist.len();
        Self::new(t, hist, vec![1; n])
    }

    /// Builds histories from strings such as `"0110"` (first character = first occasion)
    /// with their frequencies.
    ///
    /// # Errors
    /// As [`CaptureHistories::new`], plus strings of unequal length or characters other
    /// than `0`/`1`.
    pub fn from_strings<S: AsRef<str>>(rows: &[(S, u64)]) -> Result<Self> {
        let t = rows.first().map(|r| r.0.as_ref().len()).unwrap_or(0);
        let mut hist = Vec::with_capacity(rows.len());
        let mut freq = Vec::with_capacity(rows.len());
        for (i, (s, f)) in rows.iter().enumerate() {
            let code =
                parse_history(s.as_ref(), t).map_err(|reason| Error::invalid_row(i, reason))?;
            hist.push(code);
            freq.push(*f);
        }
        Self::new(t, hist, freq)
    }

    /// Builds histories from dense cell counts indexed by bit code (`counts[0]`, the
    /// unobserved cell, must be 0).
    ///
    /// # Errors
    /// As [`CaptureHistories::new`]; `counts.len()` must be `2^occasions`.
    pub fn from_cell_counts(occasions: usize, counts: &[u64]) -> Result<Self> {
        if occasions > 30 || counts.len() != 1usize << occasions {
            return Err(Error::invalid(format!(
                "{} cell counts for {occasions} occasions: expected 2^{occasions}",
                counts.len()
            )));
        }
        let (h, f): (Vec<u64>, Vec<u64>) = counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| (i as u64, c))
            .unzip();
        if counts[0] > 0 {
            return Err(Error::invalid_row(
                0,
                "the never-seen cell has a positive count",
            ));
        }
        Self::new(occasions, h, f)
    }

    /// Attaches one stratum label per row.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the number of labels differs from the number of rows.
    pub fn with_strata<S: AsRef<str>>(mut self, labels: &[S]) -> Result<Self> {
        if labels.len() != self.histories.len() {
            return Err(Error::invalid(format!(
                "{} stratum labels for {} rows",
                labels.len(),
                self.histories.len()
            )));
        }
        self.strata = Some(Strata::from_labels(labels));
        Ok(self)
    }

    /// Puts the strata in the order their names first appear in `file_order` (a file's
    /// stratum column, where a unit placed in the stratum of a later record would
    /// otherwise reorder them); names it does not hold keep their place after those.
    pub(crate) fn order_strata<'a>(&mut self, file_order: impl Iterator<Item = &'a str>) {
        let Some(st) = self.strata.as_mut() else {
            return;
        };
        let mut names: Vec<String> = Vec::with_capacity(st.names.len());
        for l in file_order {
            if names.len() == st.names.len() {
                break;
            }
            if st.names.iter().any(|n| n == l) && !names.iter().any(|n| n == l) {
                names.push(l.to_string());
            }
        }
        for n in &st.names {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let to: Vec<u32> = st
            .names
            .iter()
            .map(|n| names.iter().position(|m| m == n).unwrap_or(0) as u32)
            .collect();
        for c in &mut st.codes {
            *c = to[*c as usize];
        }
        st.names = names;
    }

    /// Attaches one identifier per row.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the number of identifiers differs from the number of rows.
    pub fn with_ids(mut self, ids: Vec<String>) -> Result<Self> {
        if ids.len() != self.histories.len() {
            return Err(Error::invalid(format!(
                "{} identifiers for {} rows",
                ids.len(),
                self.histories.len()
            )));
        }
        self.ids = Some(ids);
        Ok(self)
    }

    /// Names the occasions (or lists).
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the number of names differs from the number of occasions.
    pub fn with_occasion_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.occasions {
            return Err(Error::invalid(format!(
                "{} occasion names for {} occasions",
                names.len(),
                self.occasions
            )));
        }
        self.occasion_names = names;
        Ok(self)
    }

    /// Declares the columns unordered sources (agency lists) rather than occasions
    /// ordered in time, or the reverse. On lists, models whose meaning depends on the order
    /// of the columns (Mb, Mbh, Mtb, Schnabel, Schumacher-Eschmeyer, Bailey, the robust
    /// design and open models) are not run.
    pub fn with_lists(mut self, lists: bool) -> Self {
        self.lists = lists;
        self
    }

    /// Whether the columns are unordered lists (see [`CaptureHistories::with_lists`]).
    pub fn is_lists(&self) -> bool {
        self.lists
    }

    /// Number of occasions (or lists) t.
    pub fn occasions(&self) -> usize {
        self.occasions
    }

    /// Occasion (list) names.
    pub fn occasion_names(&self) -> &[String] {
        &self.occasion_names
    }

    /// Number of rows (histories as stored, including zero-frequency rows).
    pub fn n_rows(&self) -> usize {
        self.histories.len()
    }

    /// Bit-packed histories, one per row.
    pub fn histories(&self) -> &[u64] {
        &self.histories
    }

    /// Frequencies, one per row.
    pub fn frequencies(&self) -> &[u64] {
        &self.freq
    }

    /// Stratum labels, if any.
    pub fn strata(&self) -> Option<&Strata> {
        self.strata.as_ref()
    }

    /// Identifiers, if any.
    pub fn ids(&self) -> Option<&[String]> {
        self.ids.as_deref()
    }

    /// Number of distinct units seen: n = Σ frequencies.
    pub fn observed(&self) -> u64 {
        self.freq.iter().sum()
    }

    /// Whether unit row `row` was caught on occasion `j` (0-based).
    pub fn caught(&self, row: usize, j: usize) -> bool {
        self.histories[row] >> j & 1 == 1
    }

    /// Iterates over `(history, frequency)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.histories
            .iter()
            .copied()
            .zip(self.freq.iter().copied())
    }

    /// The histories of one stratum, or `None` if there is no such stratum.
    pub fn stratum(&self, name: &str) -> Option<CaptureHistories> {
        Some(self.subset_rows(&self.stratum_rows(name)?))
    }

    /// The rows of one stratum, or `None` if there is no such stratum.
    pub(crate) fn stratum_rows(&self, name: &str) -> Option<Vec<usize>> {
        let s = self.strata.as_ref()?;
        let code = s.names.iter().position(|n| n == name)? as u32;
        Some((0..self.n_rows()).filter(|&i| s.codes[i] == code).collect())
    }

    /// Splits the data by stratum: `(name, histories)` per stratum, in order of first
    /// appearance. Empty when the data have no strata.
    pub fn split_by_stratum(&self) -> Vec<(String, CaptureHistories)> {
        match &self.strata {
            None => Vec::new(),
            Some(s) => s
                .names
                .iter()
                .filter_map(|n| self.stratum(n).map(|h| (n.clone(), h)))
                .collect(),
        }
    }

    pub(crate) fn subset_rows(&self, keep: &[usize]) -> CaptureHistories {
        CaptureHistories {
            occasions: self.occasions,
            occasion_names: self.occasion_names.clone(),
            histories: keep.iter().map(|&i| self.histories[i]).collect(),
            freq: keep.iter().map(|&i| self.freq[i]).collect(),
            strata: self.strata.as_ref().map(|s| Strata {
                names: s.names.clone(),
                codes: keep.iter().map(|&i| s.codes[i]).collect(),
            }),
            ids: self
                .ids
                .as_ref()
                .map(|ids| keep.iter().map(|&i| ids[i].clone()).collect()),
            lists: self.lists,
        }
    }

    /// Dense cell counts indexed by bit code, length 2^t (cell 0, never seen, is 0).
    ///
    /// # Errors
    /// [`Error::InvalidData`] when t > 30 (the dense table would not fit in memory).
    pub fn cell_counts(&self) -> Result<Vec<u64>> {
        if self.occasions > 30 {
            return Err(Error::invalid(format!(
                "{} occasions: a dense table of 2^{} cells is too large",
                self.occasions, self.occasions
            )));
        }
        let mut c = vec![0u64; 1usize << self.occasions];
        for (h, f) in self.iter() {
            c[h as usize] += f;
        }
        Ok(c)
    }

    /// Frequencies of the 2^t − 1 observable histories in Rcapture's canonical order
    /// (`histpos.t`): read each history as a binary number with occasion 1 as the most
    /// significant digit; the order is descending, from `11…1` to `0…01`.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when t > 30.
    pub fn canonical_frequencies(&self) -> Result<Vec<u64>> {
        let cells = self.cell_counts()?;
        let t = self.occasions;
        Ok((0..(1usize << t) - 1)
            .map(|i| cells[canonical_history(t, i) as usize])
            .collect())
    }

    /// Aggregates identical histories: one row per distinct observed history (within
    /// stratum when there are strata), sorted by code; identifiers are dropped.
    pub fn aggregated(&self) -> CaptureHistories {
        use std::collections::BTreeMap;
        let mut map: BTreeMap<(u32, u64), u64> = BTreeMap::new();
        for i in 0..self.n_rows() {
            if self.freq[i] == 0 {
                continue;
            }
            let s = self.strata.as_ref().map(|s| s.codes[i]).unwrap_or(0);
            *map.entry((s, self.histories[i])).or_default() += self.freq[i];
        }
        let histories = map.keys().map(|k| k.1).collect();
        let freq = map.values().copied().collect();
        let strata = self.strata.as_ref().map(|s| Strata {
            names: s.names.clone(),
            codes: map.keys().map(|k| k.0).collect(),
        });
        CaptureHistories {
            occasions: self.occasions,
            occasion_names: self.occasion_names.clone(),
            histories,
            freq,
            strata,
            ids: None,
            lists: self.lists,
        }
    }

    /// The same rows without their strata.
    pub(crate) fn without_strata(mut self) -> CaptureHistories {
        self.strata = None;
        self
    }

    /// The strata pooled: strata and identifiers dropped, identical histories merged
    /// (one row per distinct observed history, sorted by code).
    pub fn pooled(&self) -> CaptureHistories {
        let mut out = self.clone();
        out.strata = None;
        out.ids = None;
        out.aggregated()
    }

    /// The numbers of captures as single-source counts: one row per distinct number of
    /// captures k ≥ 1 with the number of units caught exactly k times (f_k), so that
    /// the count estimators (Chao, Zelterman, zero-truncated models) run on capture
    /// histories.
    ///
    /// # Errors
    /// Never in practice (validated histories have at least one unit seen).
    pub fn capture_counts(&self) -> Result<crate::data::CountData> {
        let f = self.summary().f_k;
        let table: Vec<(u64, u64)> = f
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(k, &n)| (k as u64 + 1, n))
            .collect();
        crate::data::CountData::from_frequency_table(&table)
    }

    /// Collapses consecutive occasions into periods, a unit counting as caught in a
    /// period when caught on any of its occasions (Rcapture's `periodhist`). `lengths`
    /// gives the number of occasions per period and must sum to t.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the lengths do not sum to t or one is zero.
    pub fn collapse_periods(&self, lengths: &[usize]) -> Result<CaptureHistories> {
        let total = lengths
            .iter()
            .try_fold(0usize, |acc, &l| acc.checked_add(l));
        if total != Some(self.occasions) || lengths.contains(&0) {
            return Err(Error::param(
                "periods",
                format!("{lengths:?}"),
                format!("positive lengths summing to {}", self.occasions),
            ));
        }
        let mut out = self.clone();
        for h in out.histories.iter_mut() {
            let mut start = 0;
            let mut code = 0u64;
            for (p, &len) in lengths.iter().enumerate() {
                if (*h >> start) & mask(len) != 0 {
                    code |= 1 << p;
                }
                start += len;
            }
            *h = code;
        }
        out.occasions = lengths.len();
        out.occasion_names = default_occasion_names(lengths.len());
        Ok(out)
    }

    /// Keeps only occasions `from..to` (0-based, half-open); units not seen there are
    /// dropped.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty or out-of-range window;
    /// [`Error::InvalidData`] when nobody was seen in it.
    pub fn window(&self, from: usize, to: usize) -> Result<CaptureHistories> {
        if from >= to || to > self.occasions {
            return Err(Error::param(
                "window",
                format!("{from}..{to}"),
                format!("a non-empty range within 0..{}", self.occasions),
            ));
        }
        let m = mask(to - from);
        let keep: Vec<usize> = (0..self.n_rows())
            .filter(|&i| (self.histories[i] >> from) & m != 0)
            .collect();
        let mut out = self.subset_rows(&keep);
        for h in out.histories.iter_mut() {
            *h = (*h >> from) & m;
        }
        out.occasions = to - from;
        out.occasion_names = self.occasion_names[from..to].to_vec();
        if out.observed() == 0 {
            return Err(Error::invalid("no unit was seen in the window"));
        }
        Ok(out)
    }
}

/// The bit code (bit j = occasion j + 1) of the i-th history (0-based) in Rcapture's
/// canonical order for t occasions (see [`CaptureHistories::canonical_frequencies`]).
pub fn canonical_history(t: usize, i: usize) -> u64 {
    let msb_code = ((1u64 << t) - 1) - i as u64;
    reverse_bits(msb_code, t)
}

/// Position of a history (bit code) in Rcapture's canonical order.
pub fn canonical_index(t: usize, code: u64) -> usize {
    (((1u64 << t) - 1) - reverse_bits(code, t)) as usize
}

fn reverse_bits(code: u64, t: usize) -> u64 {
    if t == 0 {
        0
    } else {
        code.reverse_bits() >> (64 - t)
    }
}

/// Formats a history as a 0/1 string, first occasion first.
pub fn history_string(code: u64, t: usize) -> String {
    (0..t)
        .map(|j| if code >> j & 1 == 1 { '1' } else { '0' })
        .collect()
}

/// Parses a 0/1 history string of length `t` (first character = first occasion).
pub(crate) fn parse_history(s: &str, t: usize) -> std::result::Result<u64, String> {
    let s = s.trim();
    if s.len() != t {
        return Err(format!(
            "history `{s}` has {} occasions, expected {t}",
            s.len()
        ));
    }
    if t > MAX_OCCASIONS {
        return Err(format!(
            "{t} occasions: at most {MAX_OCCASIONS} are supported"
        ));
    }
    let mut code = 0u64;
    for (j, ch) in s.chars().enumerate() {
        match ch {
            '0' => {}
            '1' => code |= 1 << j,
            _ => return Err(format!("history `{s}` has `{ch}`, expected only 0 and 1")),
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_matches_histpos() {
        // histpos.t(3): 111 110 101 100 011 010 001
        let want = ["111", "110", "101", "100", "011", "010", "001"];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(history_string(canonical_history(3, i), 3), *w);
            assert_eq!(canonical_index(3, canonical_history(3, i)), i);
        }
    }

    #[test]
    fn never_seen_unit_is_refused() {
        let e = CaptureHistories::from_strings(&[("00", 3), ("11", 1)]).unwrap_err();
        assert!(e.to_string().contains("never-seen"), "{e}");
    }

    #[test]
    fn collapse_and_window() {
        let h = CaptureHistories::from_strings(&[("100001", 1), ("010000", 2)]).unwrap();
        let c = h.collapse_periods(&[3, 3]).unwrap();
        assert_eq!(c.histories(), &[0b11, 0b01]);
        let w = h.window(3, 6).unwrap();
        assert_eq!(w.observed(), 1);
        assert_eq!(history_string(w.histories()[0], 3), "001");
    }
}
