//! Custom hierarchical log-linear models (list interactions), as
//! `Rcapture::closedpCI.t(mX = ...)` and `closedpMS.t`.

use super::design::{Heterogeneity, cellwise, observed_cells};
use super::fit::{AbundanceForm, fit_closed};
use super::{ClosedEstimate, ClosedSettings, finish};
use crate::data::CaptureHistories;
use crate::error::{Error, Result};
use crate::glm::PoissonGlm;
use serde::{Deserialize, Serialize};

/// A hierarchical log-linear model: its generating terms (sets of occasions, as bit
/// masks with bit j = occasion j + 1) and an optional heterogeneity column.
///
/// ```text
/// "[12,13,4]"  →  terms c1, c2, c3, c4, c1:c2, c1:c3
/// log E[y_ω] = β₀ + Σ_{terms s} λ_s Π_{j∈s} ω_j  (+ heterogeneity columns of k(ω))
/// ```
/// Columns come in Rcapture's order: by order of interaction, then by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLinearModel {
    /// Number of occasions (lists).
    pub occasions: usize,
    /// Generating terms as given (bit masks).
    pub generators: Vec<u64>,
    /// Heterogeneity column(s), if any.
    pub heterogeneity: Option<Heterogeneity>,
}

fn term_name(m: u64) -> String {
    (0..64)
        .filter(|j| m >> j & 1 == 1)
        .map(|j| char::from(b'1' + j as u8))
        .collect()
}

impl LogLinearModel {
    /// Builds a model from generating terms, each a list of 1-based occasions.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty term or an occasion outside 1..=t.
    pub fn from_terms(occasions: usize, terms: &[Vec<usize>]) -> Result<Self> {
        let mut gens = Vec::new();
        for term in terms {
            let mut m = 0u64;
            if term.is_empty() {
                return Err(Error::param("terms", "[]", "non-empty interaction terms"));
            }
            for &j in term {
                if j == 0 || j > occasions || j > 64 {
                    return Err(Error::param(
                        "terms",
                        j,
                        format!("occasions between 1 and {occasions}"),
                    ));
                }
                m |= 1 << (j - 1);
            }
            gens.push(m);
        }
        Ok(LogLinearModel {
            occasions,
            generators: gens,
            heterogeneity: None,
        })
    }

    /// Parses a hierarchical name such as `"[12,13,4]"` (digits = occasions 1..9).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a malformed name, no term (`"[]"`), a repeated
    /// digit in a term, a term given twice, an occasion beyond t, or a term with every
    /// occasion (the t-way interaction leaves the never-seen cell, hence N, unidentified).
    pub fn parse(name: &str, occasions: usize) -> Result<Self> {
        let s: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        let inner = s
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| Error::param("model", name, "a name like [12,13,4]"))?;
        let mut terms = Vec::new();
        if !inner.is_empty() {
            for part in inner.split(',') {
                let mut term = Vec::new();
                for ch in part.chars() {
                    let d = ch.to_digit(10).filter(|&d| d >= 1).ok_or_else(|| {
                        Error::param("model", name, "terms made of the digits 1-9")
                    })?;
                    if term.contains(&(d as usize)) {
                        return Err(Error::param(
                            "model",
                            name,
                            "no repeated occasion in a term",
                        ));
                    }
                    term.push(d as usize);
                }
                if term.is_empty() {
                    return Err(Error::param("model", name, "no empty term"));
                }
                let mut sorted = term.clone();
                sorted.sort_unstable();
                if terms.iter().any(|t: &Vec<usize>| {
                    let mut u = t.clone();
                    u.sort_unstable();
                    u == sorted
                }) {
                    return Err(Error::param("model", name, "each term once"));
                }
                if occasions >= 1 && term.len() >= occasions && term.iter().all(|&d| d <= occasions)
                {
                    return Err(Error::param(
                        "model",
                        name,
                        format!(
                            "terms with fewer than all {occasions} occasions (the {occasions}-way \
                             interaction leaves the never-seen cell unidentified)"
                        ),
                    ));
                }
                terms.push(term);
            }
        }
        if terms.is_empty() {
            return Err(Error::param(
                "model",
                name,
                "at least one term, e.g. [1,2,3] for the independence model",
            ));
        }
        Self::from_terms(occasions, &terms)
    }

    /// Adds (or removes) a heterogeneity column.
    pub fn with_heterogeneity(mut self, h: Option<Heterogeneity>) -> Self {
        self.heterogeneity = h;
        self
    }

    /// The hierarchical closure of the generators, in Rcapture's column order (by order
    /// of interaction, then by name).
    pub fn terms(&self) -> Vec<u64> {
        let mut all: Vec<u64> = Vec::new();
        for &g in &self.generators {
            // every non-empty subset of g
            let mut sub = g;
            loop {
                if sub != 0 && !all.contains(&sub) {
                    all.push(sub);
                }
                if sub == 0 {
                    break;
                }
                sub = (sub - 1) & g;
            }
        }
        all.sort_by(|a, b| {
            a.count_ones()
                .cmp(&b.count_ones())
                .then(term_name(*a).cmp(&term_name(*b)))
        });
        all
    }

    /// The model's name: `[12,13,4]`, with ` + Chao (LB)` etc. when heterogeneous.
    pub fn name(&self) -> String {
        let base = format!(
            "[{}]",
            self.generators
                .iter()
                .map(|&g| term_name(g))
                .collect::<Vec<_>>()
                .join(",")
        );
        match self.heterogeneity {
            None => base,
            Some(h) => format!("{base} + {}", h.label()),
        }
    }

    fn column_names(&self, terms: &[u64]) -> Vec<String> {
        let mut names = vec!["(Intercept)".to_string()];
        for &m in terms {
            let n = term_name(m);
            names.push(if m.count_ones() == 1 {
                format!("beta{n}")
            } else {
                format!("lambda{n}")
            });
        }
        if let Some(h) = self.heterogeneity {
            names.extend(h.names(self.occasions));
        }
        names
    }

    /// Fits the model with its profile interval (when `settings.profile`).
    ///
    /// # Errors
    /// [`Error::InvalidData`] when the data have another number of occasions;
    /// [`Error::TooFewOccasions`] for heterogeneity with t < 3; as
    /// [`super::fit_standard`] otherwise.
    pub fn fit(&self, h: &CaptureHistories, settings: &ClosedSettings) -> Result<ClosedEstimate> {
        let (fit, design) = self.fit_only(h, settings.neg)?;
        Ok(finish("closedpCI.t", fit, Some(&design), settings))
    }

    /// Fits without the interval: the fitted model and its design.
    pub(crate) fn fit_only(
        &self,
        h: &CaptureHistories,
        neg: bool,
    ) -> Result<(super::ClosedFit, super::design::Design)> {
        let t = h.occasions();
        if t != self.occasions {
            return Err(Error::invalid(format!(
                "the model is for {} occasions, the data have {t}",
                self.occasions
            )));
        }
        if self.heterogeneity.is_some() && t < 3 {
            return Err(Error::TooFewOccasions {
                method: "heterogeneous models (at least 3 capture occasions)".into(),
                needed: 3,
                got: t,
            });
        }
        let terms = self.terms();
        let names = self.column_names(&terms);
        let obs = observed_cells(h);
        let design = cellwise(h, t, &terms, self.heterogeneity, names, &obs)?;
        let (fit, _) = fit_closed(
            &self.name(),
            design.clone(),
            h.observed(),
            AbundanceForm::Standard,
            neg,
            &PoissonGlm::params(),
        )?;
        Ok((fit, design))
    }
}
