//! The `--bayes` section of a report: dga model averaging and the LCMCR latent-class
//! sampler on the list table of closed capture histories.

use super::{POOLED, Row, Section};
use crate::bayes::{self, DgaParams, LcmcrParams};
use crate::data::{CaptureHistories, DataSet, ListTable};
use crate::error::Result;

/// Settings of the LCMCR run in a report: K = 10, LCMCR's `a_alpha = b_alpha = 0.25`,
/// burn-in 10,000, 4 chains of 1,000 draws thinned by 100 (LCMCR's documented example), seed 1;
/// while the chains have not mixed they continue, 1,000 draws at a time, up to 4,000 draws
/// each (a report should not print a posterior that is not one yet).
pub fn report_lcmcr_params(level: f64) -> LcmcrParams {
    LcmcrParams {
        k: 10,
        burnin: 10_000,
        samples: 1_000,
        thinning: 100,
        max_samples: 4_000,
        chains: 4,
        seed: 1,
        level,
        ..Default::default()
    }
}

/// Most lists dga model averaging runs on in a report (18,154 graphs at 6 lists).
pub const REPORT_DGA_MAX_LISTS: usize = 6;

/// The Bayesian section for closed capture histories (all strata pooled when the data
/// are stratified); nothing for counts.
///
/// # Errors
/// None of its own: an estimator that fails is listed among the section's failures.
pub fn bayes_sections(data: &DataSet, level: f64) -> Result<Vec<Section>> {
    let DataSet::Histories { data: h, .. } = data else {
        return Ok(Vec::new());
    };
    let stratum = h.strata().map(|_| POOLED.to_string());
    Ok(vec![section(h, stratum, level)])
}

fn section(h: &CaptureHistories, stratum: Option<String>, level: f64) -> Section {
    let mut s = Section::new(
        "Bayesian multiple-systems estimation",
        stratum,
        h.observed(),
    );
    let table = match ListTable::from_histories(h) {
        Ok(t) => t,
        Err(e) => {
            s.push("dga / LCMCR", Err(e));
            return s;
        }
    };
    if table.n_lists() <= REPORT_DGA_MAX_LISTS {
        let p = DgaParams {
            level,
            ..Default::default()
        };
        let r = bayes::bma(&table, None, &p).map(|f| {
            let top: Vec<String> = f
                .top_models(3)
                .iter()
                .map(|m| format!("{} ({:.3})", m.cliques, m.probability))
                .collect();
            s.notes.push(format!(
                "dga: δ = {}, grid N ≤ {}; most probable graphs {}",
                f.delta,
                f.n_grid.last().copied().unwrap_or(f64::NAN),
                top.join(", ")
            ));
            Row {
                posterior: Some(f.posterior.clone()),
                ..Row::from(f.estimate)
            }
        });
        s.push_row("dga BMA", r);
    } else {
        s.notes.push(format!(
            "dga model averaging skipped: {} lists (at most {REPORT_DGA_MAX_LISTS})",
            table.n_lists()
        ));
    }
    let p = report_lcmcr_params(level);
    let r = bayes::lcmcr(&table, &p).map(|f| {
        if let Some(d) = &f.posterior.diagnostics {
            let extended = if d.draws_per_chain > p.samples {
                format!(", continued from {} until mixed", p.samples)
            } else {
                String::new()
            };
            s.notes.push(format!(
                "LCMCR: {} chains × {} draws (burn-in {}, thinning {}, seed {}{extended}); N: \
                 R̂ {:.3}, bulk ESS {:.0}, tail ESS {:.0}",
                d.chains,
                d.draws_per_chain,
                p.burnin,
                p.thinning,
                p.seed,
                d.n.rhat,
                d.n.ess_bulk,
                d.n.ess_tail
            ));
        }
        Row {
            posterior: Some(f.posterior.clone()),
            ..Row::from(f.estimate)
        }
    });
    s.push_row("LCMCR", r);
    s.notes
        .push("credible intervals are posterior quantiles; N̂ is the posterior median".to_string());
    s
}
