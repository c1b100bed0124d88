//! Fitting one closed-population log-linear model: the Poisson regression, Chao's `neg`
//! rule, N̂ and its standard error, the asymptotic bias and Rcapture's warnings.

use super::design::Design;
use crate::error::{Error, Result};
use crate::estimate::Warning;
use crate::glm::{GlmFit, PoissonGlm};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

/// How N̂ is obtained from the coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AbundanceForm {
    /// N̂ = n + exp(intercept).
    Standard,
    /// Rcapture's Mb formula.
    Mb { t: usize },
    /// Rcapture's Mbh formula.
    Mbh { t: usize },
}

/// A fitted closed-population log-linear model (one row of Rcapture's `results` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedFit {
    /// Model label as Rcapture prints it.
    pub model: String,
    /// Units caught at least once.
    pub n: u64,
    /// Poisson-regression estimate of N.
    pub abundance: f64,
    /// Its standard error (delta method, as Rcapture).
    pub stderr: f64,
    /// Deviance.
    pub deviance: f64,
    /// Residual degrees of freedom.
    pub df: i64,
    /// AIC = −2 log L + 2 rank.
    pub aic: f64,
    /// BIC = −2 log L + ln(n) rank, n = units caught (Rcapture's convention).
    pub bic: f64,
    /// Asymptotic bias of N̂ (Rcapture's `bias`), when the design has full rank.
    pub bias: Option<f64>,
    /// Coefficient names and values (NaN for aliased ones).
    pub coefficients: Vec<(String, f64)>,
    /// Chao eta parameters dropped because they were negative (Rcapture's `neg.eta`).
    pub dropped_eta: Vec<String>,
    /// Warnings, in Rcapture's `infoFit` categories.
    pub warnings: Vec<Warning>,
    /// Iterations of the final fit.
    pub iterations: usize,
    /// The fitted mean of each group's cells (in the design's group order).
    #[serde(skip)]
    pub fitted: Vec<f64>,
}

impl ClosedFit {
    /// Rcapture's `infoFit` code for these warnings: 0 none, 1 questionable fit
    /// (non-convergence, large bias), 2 rank deficiency, 3 other (fitted rates 0);
    /// digits concatenate (13 = 1 and 3).
    pub fn info_code(&self) -> i64 {
        info_code(&self.warnings)
    }
}

/// Rcapture's `infoFit`/`infoCI` code of a list of warnings.
pub fn info_code(w: &[Warning]) -> i64 {
    let mut codes: Vec<i64> = w
        .iter()
        .map(|w| match w {
            Warning::NotConverged { .. } | Warning::LargeBias { .. } => 1,
            Warning::RankDeficient { .. } => 2,
            Warning::LowerLimitClipped { .. } => 5,
            Warning::IntervalSearchLimit { .. } => 6,
            _ => 3,
        })
        .collect();
    codes.sort();
    codes.dedup();
    codes.iter().fold(0, |acc, c| acc * 10 + c)
}

pub(crate) const FITTED_ZERO: &str = "fitted rates numerically 0 occurred";

/// The result of fitting a design with the `neg` rule applied.
pub(crate) struct DesignFit {
    pub design: Design,
    pub glm: GlmFit,
    pub dropped: Vec<String>,
    pub warnings: Vec<Warning>,
}

pub(crate) fn glm_warnings_pub(f: &GlmFit, names: &[String]) -> Vec<Warning> {
    let mut w = Vec::new();
    if !f.stop.converged() {
        w.push(Warning::NotConverged {
            iterations: f.stop.iterations(),
        });
    }
    if f.fitted_zero {
        w.push(Warning::Boundary {
            parameter: FITTED_ZERO.into(),
        });
    }
    if !f.aliased.is_empty() {
        w.push(Warning::RankDeficient {
            dropped: f.aliased.iter().map(|&j| names[j].clone()).collect(),
        });
    }
    w
}

/// Fits a design along R's path and applies Chao's `neg` rule (drop the first negative
/// eta, refit, repeat) when the design has Chao columns and `neg` is set.
pub(crate) fn fit_design(design: Design, neg: bool, glm: &PoissonGlm) -> Result<DesignFit> {
    let mut design = design;
    let p = design.names.len();
    let glm_first;
    let glm = if glm.start.as_ref().is_some_and(|s| s.len() != p) {
        glm_first = PoissonGlm {
            start: None,
            ..glm.clone()
        };
        &glm_first
    } else {
        glm
    };
    let mut f = design.fit(glm)?;
    let glm_refit = PoissonGlm {
        start: None,
        ..glm.clone()
    };
    let glm = &glm_refit;
    let mut warnings = glm_warnings_pub(&f, &design.names);
    let mut dropped = Vec::new();
    if let (Some(nca), true) = (design.chao_nca, neg) {
        loop {
            let neg_pos = (nca..f.coefficients.len()).find(|&j| {
                let c = f.coefficients[j];
                !c.is_nan() && c < 0.0
            });
            let Some(j) = neg_pos else { break };
            let mut d2 = design.clone();
            let name = d2.names[j].clone();
            d2.drop_column(j);
            match d2.fit(glm) {
                Ok(f2) => {
                    // Rcapture keeps the warnings of every fit of the sequence.
                    for w in glm_warnings_pub(&f2, &d2.names) {
                        if !warnings.contains(&w) {
                            warnings.push(w);
                        }
                    }
                    design = d2;
                    f = f2;
                    dropped.push(name);
                }
                Err(e) => {
                    warnings.push(Warning::Other {
                        message: format!("the negative eta parameter {name} was not removed: refitting without it failed ({e})"),
                    });
                    break;
                }
            }
        }
    }
    Ok(DesignFit {
        design,
        glm: f,
        dropped,
        warnings,
    })
}

/// Asymptotic bias of N̂ = n + exp(β₀) (Rcapture, after Rivest & Lévesque 2001):
///
/// ```text
/// ξ_i = −½ x_iᵀ V x_i,  ψ = −2 Σ_i μ_i x_i ξ_i − e₁,  bias = ½ exp(β₀) · (−V ψ)₁
/// ```
pub(crate) fn asymptotic_bias(d: &Design, f: &GlmFit) -> Option<f64> {
    if !f.aliased.is_empty() {
        return None;
    }
    if let Some(pc) = &d.product {
        return pc.bias(f);
    }
    let x = &d.counts.x;
    let (g, p) = x.shape();
    let v = &f.covariance;
    let mut psi = DVector::zeros(p);
    let mut xi = DVector::zeros(p);
    for i in 0..g {
        let m = d.counts.cells[i] * f.fitted[i];
        if m == 0.0 {
            continue;
        }
        for j in 0..p {
            xi[j] = x[(i, j)];
        }
        let q = (v * &xi).dot(&xi);
        psi.axpy(m * q, &xi, 1.0);
    }
    psi[0] -= 1.0;
    let vec1 = -(v * psi);
    let b = 0.5 * f.coefficients[0].exp() * vec1[0];
    b.is_finite().then_some(b)
}

/// N̂ and its standard error from a fit.
pub(crate) fn abundance(form: AbundanceForm, n: f64, f: &GlmFit) -> (f64, f64) {
    let c = &f.coefficients;
    let v = &f.covariance;
    match form {
        AbundanceForm::Standard => {
            let e = c[0].exp();
            (n + e, (e + e * e * v[(0, 0)]).sqrt())
        }
        AbundanceForm::Mb { t } => {
            let (e1, e2, e3) = (c[0].exp(), c[1].exp(), c[2].exp());
            let tt = t as f64;
            let den = 1.0 + e3 - e2;
            let nn = e1 * (1.0 + e3).powf(tt) / den;
            let g = [1.0, e2 / den, tt * e3 / (1.0 + e3) - e3 / den];
            let gv: Vec<f64> = g.iter().map(|x| nn * x).collect();
            (nn, (quad(&gv, v) - nn).sqrt())
        }
        AbundanceForm::Mbh { t } => {
            let tt = t as f64;
            let (e1, e23, e3, e4) = (c[0].exp(), (c[1] + c[2]).exp(), c[2].exp(), c[3].exp());
            let den = 1.0 + e4 - e3;
            let base = e1 * (1.0 + e4).powf(tt - 1.0);
            let nn = base * (1.0 + e23 / den);
            let v1 = 1.0 + e23 / den;
            let v2 = e23 / den;
            let v3 = e23 / den + (c[1] + 2.0 * c[2]).exp() / (den * den);
            let v4 = (tt - 1.0) * e4 / (1.0 + e4) - (c[1] + c[2] + c[3]).exp() / (den * den);
            let gv: Vec<f64> = [v1, v2, v3, v4].iter().map(|x| base * x).collect();
            (nn, (quad(&gv, v) - nn).sqrt())
        }
    }
}

fn quad(g: &[f64], v: &nalgebra::DMatrix<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..g.len() {
        for j in 0..g.len() {
            s += g[i] * v[(i, j)] * g[j];
        }
    }
    s
}

/// Fits a design into a [`ClosedFit`].
pub(crate) fn fit_closed(
    label: &str,
    design: Design,
    n: u64,
    form: AbundanceForm,
    neg: bool,
    glm: &PoissonGlm,
) -> Result<(ClosedFit, DesignFit)> {
    let df = fit_design(design, neg, glm)?;
    let f = &df.glm;
    let nn = n as f64;
    if f.coefficients[0].is_nan() {
        return Err(Error::no_estimate(format!(
            "{label}: the intercept is not estimable"
        )));
    }
    let (abundance, stderr) = abundance(form, nn, f);
    if !(abundance.is_finite() && stderr.is_finite()) {
        return Err(Error::no_estimate(format!(
            "{label}: N̂ = {abundance:.4e} with standard error {stderr:.4e} (the fit ran to the boundary{})",
            if f.stop.converged() {
                ""
            } else {
                " and did not converge"
            }
        )));
    }
    let bias = asymptotic_bias(&df.design, f);
    let mut warnings = df.warnings.clone();
    if let Some(b) = bias
        && b.abs() > 0.1 * abundance
    {
        warnings.push(Warning::LargeBias { bias: b });
    }
    let aic = f.aic();
    let bic = aic + (nn.ln() - 2.0) * f.rank as f64;
    let fit = ClosedFit {
        model: label.to_string(),
        n,
        abundance,
        stderr,
        deviance: f.deviance,
        df: f.df_residual,
        aic,
        bic,
        bias,
        coefficients: df
            .design
            .names
            .iter()
            .cloned()
            .zip(f.coefficients.iter().copied())
            .collect(),
        dropped_eta: df.dropped.clone(),
        warnings,
        iterations: f.stop.iterations(),
        fitted: f.fitted.clone(),
    };
    Ok((fit, df))
}

impl std::fmt::Display for ClosedFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::estimate::fmt_num;
        write!(
            f,
            "{:<16} N̂ {} (SE {}), deviance {:.3} on {} df, AIC {:.3}, BIC {:.3}, infoFit {}",
            self.model,
            fmt_num(self.abundance),
            fmt_num(self.stderr),
            self.deviance,
            self.df,
            self.aic,
            self.bic,
            self.info_code()
        )?;
        if !self.dropped_eta.is_empty() {
            write!(f, " (dropped {})", self.dropped_eta.join(", "))?;
        }
        Ok(())
    }
}
