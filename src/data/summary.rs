//! Descriptive summaries of capture histories, as `Rcapture::descriptive`.

use super::histories::CaptureHistories;
use serde::{Deserialize, Serialize};

/// The summaries every later model needs (Rcapture's `descriptive`, `base.freq` and
/// `m.array`). Vectors are indexed from occasion 1 (index 0).
///
/// ```text
/// n      units seen at least once
/// n_j    units caught on occasion j
/// f_k    units caught exactly k times (k = 1..t)
/// u_j    units first caught on occasion j
/// v_j    units last caught on occasion j
/// m_ij   units caught on occasion i whose next capture is on occasion j (i < j)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptive {
    /// Number of occasions t.
    pub occasions: usize,
    /// Units seen at least once.
    pub n: u64,
    /// Units caught on each occasion.
    pub n_j: Vec<u64>,
    /// `f_k[k-1]`: units caught exactly k times, k = 1..t.
    pub f_k: Vec<u64>,
    /// Units first caught on each occasion.
    pub u_j: Vec<u64>,
    /// Units last caught on each occasion.
    pub v_j: Vec<u64>,
    /// The m-array.
    pub m_array: MArray,
}

/// The m-array of a capture-history table (Burnham et al. 1987; Rcapture `m.array`).
///
/// Row i (occasion i + 1, for i = 0..t−2) has `released[i]` = units caught on occasion
/// i + 1, `m[i][j]` = those next recaptured on occasion j + 1 (j > i, zero otherwise) and
/// `never[i]` = those never recaptured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MArray {
    /// Units released on each occasion (all captures are assumed released).
    pub released: Vec<u64>,
    /// `m[i][j]`: released at i, next recaptured at j.
    pub m: Vec<Vec<u64>>,
    /// Released at i and never seen again.
    pub never: Vec<u64>,
}

impl CaptureHistories {
    /// Computes the descriptive summaries (as `Rcapture::descriptive`).
    ///
    /// # Examples
    /// ```
    /// use darkfigure::data::CaptureHistories;
    /// let h = CaptureHistories::from_strings(&[("110", 2), ("011", 1), ("100", 4)]).unwrap();
    /// let d = h.summary();
    /// assert_eq!(d.f_k, vec![4, 3, 0]);
    /// assert_eq!(d.u_j, vec![6, 1, 0]);
    /// assert_eq!(d.m_array.m[0][1], 2);
    /// ```
    pub fn summary(&self) -> Descriptive {
        let t = self.occasions();
        let mut n_j = vec![0u64; t];
        let mut f_k = vec![0u64; t];
        let mut u_j = vec![0u64; t];
        let mut v_j = vec![0u64; t];
        let mut m = vec![vec![0u64; t]; t];
        let mut never = vec![0u64; t];
        let mut n = 0u64;
        for (h, f) in self.iter() {
            if f == 0 || h == 0 {
                continue;
            }
            n += f;
            f_k[h.count_ones() as usize - 1] += f;
            u_j[h.trailing_zeros() as usize] += f;
            v_j[63 - h.leading_zeros() as usize] += f;
            let mut prev: Option<usize> = None;
            for (j, nj) in n_j.iter_mut().enumerate() {
                if h >> j & 1 == 1 {
                    *nj += f;
                    if let Some(p) = prev {
                        m[p][j] += f;
                    }
                    prev = Some(j);
                }
            }
            if let Some(p) = prev {
                never[p] += f;
            }
        }
        Descriptive {
            occasions: t,
            n,
            n_j: n_j.clone(),
            f_k,
            u_j,
            v_j,
            m_array: MArray {
                released: n_j,
                m,
                never,
            },
        }
    }
}
