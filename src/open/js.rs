//! Classical Jolly-Seber moment estimators from the m-array (Jolly 1965; Seber 1965, 1982).

use super::{Figure, OpenJson, PeriodJson, TotalJson};
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The summary statistics of a Jolly-Seber analysis, one entry per occasion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsInput {
    /// n_i: caught on occasion i.
    pub n: Vec<f64>,
    /// m_i: marked (caught before) among them.
    pub m: Vec<f64>,
    /// R_i: released after occasion i (n_i minus losses on capture).
    pub released: Vec<f64>,
    /// r_i: of the R_i released, caught again later.
    pub r: Vec<f64>,
    /// z_i: marked before i, not caught at i, caught after i.
    pub z: Vec<f64>,
}

impl JsInput {
    /// Summary statistics from capture histories via the m-array (every capture released).
    pub fn from_histories(h: &CaptureHistories) -> Self {
        let s = h.summary();
        let t = s.occasions;
        let mm = &s.m_array.m;
        let m: Vec<f64> = (0..t)
            .map(|j| (0..j).map(|i| mm[i][j] as f64).sum())
            .collect();
        let r: Vec<f64> = (0..t)
            .map(|i| (i + 1..t).map(|j| mm[i][j] as f64).sum())
            .collect();
        let z: Vec<f64> = (0..t)
            .map(|i| {
                (0..i)
                    .map(|hh| (i + 1..t).map(|j| mm[hh][j] as f64).sum::<f64>())
                    .sum()
            })
            .collect();
        let n: Vec<f64> = s.n_j.iter().map(|&v| v as f64).collect();
        // (+ 0.0 turns the −0.0 of an empty float sum into 0.)
        let fix = |v: Vec<f64>| v.into_iter().map(|x| x + 0.0).collect::<Vec<f64>>();
        JsInput {
            released: n.clone(),
            n,
            m: fix(m),
            r: fix(r),
            z: fix(z),
        }
    }

    /// Summary statistics from an m-array given as `m[i][j]` (released at i, next caught
    /// at j > i), with the numbers caught `n` and released `released` per occasion.
    ///
    /// # Errors
    /// [`Error::InvalidData`] for inconsistent lengths or negative counts.
    pub fn from_m_array(m_array: &[Vec<f64>], n: &[f64], released: &[f64]) -> Result<Self> {
        let t = n.len();
        if released.len() != t
            || m_array.len() < t.saturating_sub(1)
            || m_array.iter().any(|r| r.len() < t)
        {
            return Err(Error::invalid(format!(
                "m-array and counts disagree on the number of occasions ({t})"
            )));
        }
        if n.iter()
            .chain(released)
            .chain(m_array.iter().flatten())
            .any(|v| !(v.is_finite() && *v >= 0.0))
        {
            return Err(Error::invalid(
                "m-array and counts must be non-negative numbers",
            ));
        }
        let cell = |i: usize, j: usize| {
            if i < m_array.len() && j > i {
                m_array[i][j]
            } else {
                0.0
            }
        };
        Ok(JsInput {
            n: n.to_vec(),
            m: (0..t).map(|j| (0..j).map(|i| cell(i, j)).sum()).collect(),
            released: released.to_vec(),
            r: (0..t)
                .map(|i| (i + 1..t).map(|j| cell(i, j)).sum())
                .collect(),
            z: (0..t)
                .map(|i| {
                    (0..i)
                        .map(|hh| (i + 1..t).map(|j| cell(hh, j)).sum::<f64>())
                        .sum()
                })
                .collect(),
        })
    }
}

/// Which form of the Jolly-Seber moment estimators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum JsVariant {
    /// Jolly (1965) / Seber (1982, §5.1.2): M̂ = m + R z / r, N̂ = n M̂ / m.
    #[default]
    Original,
    /// The bias-adjusted forms (Seber 1982, p. 204; Pollock et al. 1990):
    /// M̂ = m + (R + 1) z / (r + 1), N̂ = (n + 1) M̂ / (m + 1).
    BiasAdjusted,
}

/// One occasion of a Jolly-Seber table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsRow {
    /// 1-based occasion.
    pub occasion: usize,
    /// n_i.
    pub n: f64,
    /// m_i.
    pub m: f64,
    /// R_i.
    pub released: f64,
    /// r_i.
    pub r: f64,
    /// z_i.
    pub z: f64,
    /// Marked animals at risk M̂_i (occasions 2..k−1).
    pub marked: Figure,
    /// Population size N̂_i (occasions 2..k−1).
    pub n_hat: Figure,
    /// Survival φ̂_i from i to i + 1 (occasions 1..k−2).
    pub phi: Figure,
    /// Additions B̂_i between i and i + 1 (occasions 2..k−2).
    pub births: Figure,
}

/// A classical Jolly-Seber table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsTable {
    /// Form of the estimators.
    pub variant: JsVariant,
    /// One row per occasion.
    pub rows: Vec<JsRow>,
}

/// Classical Jolly-Seber estimates from capture histories (every capture released),
/// [`JsVariant::Original`] form.
///
/// # Errors
/// As [`jolly_seber_from`].
///
/// # Examples
/// ```
/// use darkfigure::data::CaptureHistories;
/// use darkfigure::open::jolly_seber;
/// let h = CaptureHistories::from_strings(&[
///     ("1110", 20), ("1100", 30), ("0111", 25), ("0110", 40), ("1011", 10),
///     ("0011", 30), ("1000", 60), ("0100", 50), ("0010", 45), ("0001", 40)]).unwrap();
/// let js = jolly_seber(&h).unwrap();
/// // occasion 2: m = 50, R = n = 165, r = 85, z = 10;  M_2 = m + R z / r
/// assert!((js.rows[1].marked.estimate.unwrap() - (50.0 + 165.0 * 10.0 / 85.0)).abs() < 1e-9);
/// ```
pub fn jolly_seber(h: &CaptureHistories) -> Result<JsTable> {
    jolly_seber_from(&JsInput::from_histories(h), JsVariant::Original)
}

/// Classical Jolly-Seber estimates from the summary statistics.
///
/// ```text
/// M̂_i = m_i + R_i z_i / r_i                       (i = 2..k−1)
/// N̂_i = n_i M̂_i / m_i
/// φ̂_i = M̂_{i+1} / (M̂_i − m_i + R_i)               (i = 1..k−2, M̂_1 = 0)
/// B̂_i = N̂_{i+1} − φ̂_i (N̂_i − n_i + R_i)           (i = 2..k−2)
/// Var(M̂_i) = (M̂_i − m_i)(M̂_i − m_i + R_i)(1/r_i − 1/R_i)
/// Var(N̂_i) = N̂_i (N̂_i − n_i) [ (M̂_i − m_i + R_i)/M̂_i (1/r_i − 1/R_i) + (N̂_i − M̂_i)/(N̂_i m_i) ]
/// Var(φ̂_i) = φ̂_i² [ (M̂_{i+1} − m_{i+1})(M̂_{i+1} − m_{i+1} + R_{i+1})/M̂²_{i+1} (1/r_{i+1} − 1/R_{i+1})
///             + (M̂_i − m_i)/(M̂_i − m_i + R_i) (1/r_i − 1/R_i) ] + φ̂_i (1 − φ̂_i)/(M̂_i − m_i + R_i)
/// Var(B̂_i): Jolly's (1965) five-term expression (Pollock et al. 1990, eq. 4.16)
/// ```
/// (bias-adjusted variant: R + 1, r + 1 in M̂ and n + 1, m + 1 in N̂.)
/// Figures that need r_i = 0, m_i = 0 or an undefined neighbour are `None`.
///
/// # Errors
/// [`Error::TooFewOccasions`] for fewer than 3 occasions; [`Error::InvalidData`] for
/// vectors of different lengths.
///
/// # References
/// Jolly (1965) *Biometrika* 52, 225-247; Seber (1965) *Biometrika* 52, 249-259;
/// Seber (1982) *The Estimation of Animal Abundance*, 2nd ed., §5.1; Pollock, Nichols,
/// Brownie & Hines (1990) *Wildlife Monographs* 107. Matches `FSA::mrOpen` (bias-adjusted)
/// and Program JOLLY model A.
pub fn jolly_seber_from(input: &JsInput, variant: JsVariant) -> Result<JsTable> {
    let k = input.n.len();
    if k < 3 {
        return Err(Error::TooFewOccasions {
            method: "Jolly-Seber".into(),
            needed: 3,
            got: k,
        });
    }
    if [&input.m, &input.released, &input.r, &input.z]
        .iter()
        .any(|v| v.len() != k)
    {
        return Err(Error::invalid(
            "Jolly-Seber summary vectors have different lengths",
        ));
    }
    let (n, m, rr, r, z) = (&input.n, &input.m, &input.released, &input.r, &input.z);
    let adj = if variant == JsVariant::BiasAdjusted {
        1.0
    } else {
        0.0
    };
    let nan = f64::NAN;
    let ok = |v: f64| if v.is_finite() { v } else { nan };
    // M_i and N_i for i = 2..k-1 (0-based 1..k-2).
    let mut big_m = vec![nan; k];
    let mut big_n = vec![nan; k];
    let mut se_m = vec![nan; k];
    let mut se_n = vec![nan; k];
    for i in 1..k - 1 {
        if r[i] + adj > 0.0 {
            big_m[i] = m[i] + (rr[i] + adj) * z[i] / (r[i] + adj);
            se_m[i] = ok(((big_m[i] - m[i])
                * (big_m[i] - m[i] + rr[i])
                * (1.0 / r[i] - 1.0 / rr[i]))
                .sqrt());
        }
        if m[i] + adj > 0.0 {
            big_n[i] = (n[i] + adj) * big_m[i] / (m[i] + adj);
            let (bn, bm) = (big_n[i], big_m[i]);
            let v = bn
                * (bn - n[i])
                * ((bm - m[i] + rr[i]) / bm * (1.0 / r[i] - 1.0 / rr[i]) + (bn - bm) / (bn * m[i]));
            se_n[i] = ok(v.sqrt());
        }
    }
    // phi_i for i = 1..k-2 (0-based 0..k-3); M_1 = 0.
    let mm = |i: usize| if i == 0 { 0.0 } else { big_m[i] };
    let mut phi = vec![nan; k];
    let mut se_phi = vec![nan; k];
    for i in 0..k - 2 {
        let at_risk = mm(i) - m[i] + rr[i];
        phi[i] = big_m[i + 1] / at_risk;
        let a = big_m[i + 1] - m[i + 1];
        let t1 = a * (a + rr[i + 1]) / (big_m[i + 1] * big_m[i + 1])
            * (1.0 / r[i + 1] - 1.0 / rr[i + 1]);
        let t2 = if i == 0 {
            0.0
        } else {
            (mm(i) - m[i]) / at_risk * (1.0 / r[i] - 1.0 / rr[i])
        };
        let v = phi[i] * phi[i] * (t1 + t2) + phi[i] * (1.0 - phi[i]) / at_risk;
        se_phi[i] = ok(v.sqrt());
    }
    // B_i for i = 2..k-2 (0-based 1..k-3).
    let mut b = vec![nan; k];
    let mut se_b = vec![nan; k];
    for i in 1..k - 2 {
        b[i] = big_n[i + 1] - phi[i] * (big_n[i] - n[i] + rr[i]);
        let (m1, n1, m2, n2) = (big_m[i], big_n[i], big_m[i + 1], big_n[i + 1]);
        let a2 = m2 - m[i + 1];
        let t1 =
            b[i] * b[i] * a2 * (a2 + rr[i + 1]) / (m2 * m2) * (1.0 / r[i + 1] - 1.0 / rr[i + 1]);
        let t2 = (m1 - m[i]) / (m1 - m[i] + rr[i]) * (phi[i] * rr[i] * (n1 - m1)).powi(2)
            / (m1 * m1)
            * (1.0 / r[i] - 1.0 / rr[i]);
        let t3 =
            (n1 - n[i]) * (n2 - b[i]) * (n1 - m1) * (1.0 - phi[i]) / (n1 * (m1 - m[i] + rr[i]));
        let t4 = n2 * (n2 - n[i + 1]) * (n2 - m2) / (n2 * m[i + 1]);
        let t5 = phi[i] * phi[i] * n1 * (n1 - n[i]) * (n1 - m1) / (n1 * m[i]);
        se_b[i] = ok((t1 + t2 + t3 + t4 + t5).sqrt());
    }
    let rows = (0..k)
        .map(|i| JsRow {
            occasion: i + 1,
            n: n[i],
            m: m[i],
            released: rr[i],
            r: r[i],
            z: z[i],
            marked: Figure::new(big_m[i], se_m[i]),
            n_hat: Figure::new(big_n[i], se_n[i]),
            phi: Figure::new(phi[i], se_phi[i]),
            births: Figure::new(b[i], se_b[i]),
        })
        .collect();
    Ok(JsTable { variant, rows })
}

impl JsTable {
    /// The JSON-ready shape (`null` where not estimable; capture probability n_i/N̂_i).
    pub fn to_json(&self) -> OpenJson {
        OpenJson {
            model: match self.variant {
                JsVariant::Original => "Jolly-Seber".into(),
                JsVariant::BiasAdjusted => "Jolly-Seber (bias-adjusted)".into(),
            },
            periods: self
                .rows
                .iter()
                .map(|r| PeriodJson {
                    period: r.occasion,
                    n_hat: r.n_hat.estimate,
                    se: r.n_hat.se,
                    capture_p: r.n_hat.estimate.map(|nh| r.n / nh),
                    survival: r.phi.estimate,
                    births: r.births.estimate,
                })
                .collect(),
            total: TotalJson {
                n_hat: None,
                se: None,
            },
            fit: serde_json::json!({}),
        }
    }
}

impl fmt::Display for JsTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Jolly-Seber ({:?})", self.variant)?;
        writeln!(
            f,
            "{:>4} {:>6} {:>6} {:>6} {:>6} {:>6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
            "i", "n", "m", "R", "r", "z", "M", "se", "N", "se", "phi", "se", "B", "se"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:>4} {:>6} {:>6} {:>6} {:>6} {:>6} {} {} {} {}",
                r.occasion, r.n, r.m, r.released, r.r, r.z, r.marked, r.n_hat, r.phi, r.births
            )?;
        }
        Ok(())
    }
}
