//! Headline-first output of an SS-PSE fit: the figure to cite and what it rests on, then
//! the diagnostics.

use super::{SizePrior, SspseFit, SspseForm};
use crate::error::{Error, Result};
use std::fmt::Write;

/// Output format of [`SspseFit::report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// JSON (the whole fit, headline first).
    Json,
}

impl std::str::FromStr for ReportFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "text" => Ok(ReportFormat::Text),
            "markdown" | "md" => Ok(ReportFormat::Markdown),
            "json" => Ok(ReportFormat::Json),
            _ => Err(Error::param("format", s, "text, markdown or json")),
        }
    }
}

fn r0(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.0}")
    } else {
        "NA".into()
    }
}

impl SspseFit {
    /// The one-line headline: posterior median and credible interval of N.
    pub fn headline(&self) -> String {
        let e = &self.estimate;
        format!(
            "N ≈ {} ({:.0}% credible interval {}–{}), posterior median of SS-PSE{}{}",
            r0(e.n_hat),
            100.0 * e.interval.level,
            r0(e.interval.lower),
            r0(e.interval.upper),
            match self.form {
                SspseForm::OneSample => "",
                SspseForm::Recapture => " with two surveys",
            },
            if self.params.visibility {
                " with the visibility model"
            } else {
                ""
            }
        )
    }

    /// What the figure rests on, in words for the report: the data used, the prior on N
    /// and the model's assumptions (population closed during the survey, successive
    /// sampling proportional to network size without replacement, degrees reported exactly
    /// or, with the visibility model, with error; for two surveys their independence and
    /// the matching).
    pub fn rests_on(&self) -> Vec<String> {
        let mut v = vec![];
        match self.form {
            SspseForm::OneSample => v.push(format!(
                "{} respondents in recruitment order, their network sizes (capped at K = {})",
                self.n_seen, self.params.k
            )),
            SspseForm::Recapture => v.push(format!(
                "two surveys of {} and {} respondents, {} in both ({} distinct), sizes capped at K = {}",
                self.survey_sizes[0],
                self.survey_sizes[1],
                self.recaptures.unwrap_or(0),
                self.n_seen,
                self.params.k
            )),
        }
        v.push(format!(
            "{} (prior median on its support {}, N < {}): the posterior moves with this prior",
            self.params.prior.label(),
            r0(self.prior_median),
            self.max_n
        ));
        v.push("the population is closed while the survey is in the field".into());
        v.push(
            "recruitment acts as successive sampling: people are drawn without replacement, with probability proportional to their network size (visibility)"
                .into(),
        );
        v.push(format!(
            "network sizes in the population follow a Conway-Maxwell-Poisson law (prior mean {:.2}, s.d. {:.2})",
            self.degree_prior[0], self.degree_prior[1]
        ));
        if self.params.visibility {
            v.push(format!(
                "network sizes are reported with error (sspse's visibility model): reported degree / ω ~ NB(mean u, variance {}·u) × e^(−|d − u|/σ) around the latent visibility u, ω = mean degree / 8{}; visibilities drawn {}",
                self.params.visibility_overdispersion,
                if self.params.visibility_recruitment {
                    ", number of recruits Poisson in log visibility and log rank"
                } else {
                    ""
                },
                if self.params.sspse_compat {
                    "as sspse does (no arrival-time factor, every 20th sweep)"
                } else {
                    "from their exact full conditional"
                }
            ));
        } else {
            v.push("network sizes are reported exactly (no visibility model)".into());
        }
        if self.form == SspseForm::Recapture {
            v.push("the two surveys recruit independently of each other".into());
            v.push(
                "respondents of the second survey are matched to the first without error".into(),
            );
        }
        v
    }

    fn diagnostics(&self) -> Vec<(String, String)> {
        let p = &self.n;
        let mut v = vec![
            ("posterior median".into(), r0(p.median)),
            ("posterior mean".into(), r0(p.mean)),
            ("posterior s.d.".into(), r0(p.sd)),
            (
                "90% equal-tailed".into(),
                format!("{}–{}", r0(p.eq90[0]), r0(p.eq90[1])),
            ),
            (
                "90% HPD".into(),
                format!("{}–{}", r0(p.hpd90[0]), r0(p.hpd90[1])),
            ),
            (
                "95% equal-tailed".into(),
                format!("{}–{}", r0(p.eq95[0]), r0(p.eq95[1])),
            ),
            (
                "95% HPD".into(),
                format!("{}–{}", r0(p.hpd95[0]), r0(p.hpd95[1])),
            ),
            (
                "dark figure (median)".into(),
                r0(p.median - self.n_seen as f64),
            ),
            (
                "mean network size (posterior median)".into(),
                format!("{:.2}", self.mean_degree.median),
            ),
            (
                "chains × draws".into(),
                format!(
                    "{} × {} (warm-up {}, every {}th sweep, seed {})",
                    self.params.chains,
                    self.params.samples,
                    self.params.warmup,
                    self.params.interval,
                    self.params.seed
                ),
            ),
            ("split R̂ of N".into(), format!("{:.3}", p.rhat)),
            ("effective sample size of N".into(), format!("{:.0}", p.ess)),
            (
                "θ acceptance rate".into(),
                format!("{:.2}", self.theta_acceptance),
            ),
        ];
        if let SizePrior::Beta { .. } = self.params.prior {
            v.push((
                "beta prior shapes (α, β)".into(),
                format!("{:.3}, {:.3}", self.prior_shapes[0], self.prior_shapes[1]),
            ));
        }
        v
    }

    /// The report in the given format: headline, what it rests on, warnings, diagnostics.
    ///
    /// # Errors
    /// [`Error::Numerical`] if JSON serialisation fails.
    pub fn report(&self, format: ReportFormat) -> Result<String> {
        let mut s = String::new();
        match format {
            ReportFormat::Json => {
                #[derive(serde::Serialize)]
                struct Fit<'a> {
                    form: super::SspseForm,
                    params: &'a super::SspseParams,
                    n_seen: u64,
                    survey_sizes: &'a [u64],
                    recaptures: Option<u64>,
                    degree_prior: [f64; 2],
                    max_n: u64,
                    prior_median: f64,
                    theta_acceptance: f64,
                }
                #[derive(serde::Serialize)]
                struct Out<'a> {
                    headline: String,
                    estimate: &'a crate::estimate::Estimate,
                    rests_on: Vec<String>,
                    posterior_n: &'a super::PosteriorSummary,
                    posterior_mean_degree: &'a super::PosteriorSummary,
                    fit: Fit<'a>,
                }
                let v = Out {
                    headline: self.headline(),
                    estimate: &self.estimate,
                    rests_on: self.rests_on(),
                    posterior_n: &self.n,
                    posterior_mean_degree: &self.mean_degree,
                    fit: Fit {
                        form: self.form,
                        params: &self.params,
                        n_seen: self.n_seen,
                        survey_sizes: &self.survey_sizes,
                        recaptures: self.recaptures,
                        degree_prior: self.degree_prior,
                        max_n: self.max_n,
                        prior_median: self.prior_median,
                        theta_acceptance: self.theta_acceptance,
                    },
                };
                s = serde_json::to_string_pretty(&v).map_err(|e| Error::Numerical {
                    reason: format!("JSON output failed: {e}"),
                })?;
                s.push('\n');
            }
            ReportFormat::Text => {
                let _ = writeln!(s, "{}", self.headline());
                let _ = writeln!(s, "\nrests on:");
                for r in self.rests_on() {
                    let _ = writeln!(s, "  - {r}");
                }
                for w in &self.estimate.warnings {
                    let _ = writeln!(s, "WARNING: {w}");
                }
                let _ = writeln!(s, "\ndiagnostics:");
                for (k, v) in self.diagnostics() {
                    let _ = writeln!(s, "  {k:<38} {v}");
                }
            }
            ReportFormat::Markdown => {
                let _ = writeln!(s, "**{}**\n", self.headline());
                let _ = writeln!(s, "Rests on:\n");
                for r in self.rests_on() {
                    let _ = writeln!(s, "- {r}");
                }
                for w in &self.estimate.warnings {
                    let _ = writeln!(s, "\n> **Warning:** {w}");
                }
                let _ = writeln!(s, "\n| diagnostic | value |\n|---|---|");
                for (k, v) in self.diagnostics() {
                    let _ = writeln!(s, "| {k} | {v} |");
                }
            }
        }
        Ok(s)
    }
}
