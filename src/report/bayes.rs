//! The `--bayes` section of a report: dga model averaging and the LCMCR latent-class
//! sampler on the list table of closed capture histories.

use super::headline::BAYES_SECTION;
use super::{Row, SUMMED, Section};
use crate::bayes::{self, DgaParams, LcmcrParams};
use crate::data::{CaptureHistories, DataSet, ListTable};
use crate::error::Result;
use crate::estimate::{Estimate, Interval, IntervalMethod};

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

/// The Bayesian sections for closed capture histories: one for the data, or with strata
/// one per stratum (each on its own random stream) and one for the total over strata, the
/// posterior of the sum of the strata's N ([`bayes::dga_total`], [`bayes::lcmcr_total`]),
/// set beside the total of the headline; nothing for counts.
///
/// # Errors
/// None of its own: an estimator that fails is listed among the section's failures.
pub fn bayes_sections(data: &DataSet, level: f64) -> Result<Vec<Section>> {
    let DataSet::Histories { data: h, .. } = data else {
        return Ok(Vec::new());
    };
    let strata = h.split_by_stratum();
    if strata.is_empty() {
        return Ok(vec![section(h, None, level, report_lcmcr_params(level)).0]);
    }
    let mut out = Vec::new();
    let mut fits = Vec::new();
    for (i, (name, part)) in strata.iter().enumerate() {
        let mut p = report_lcmcr_params(level);
        p.seed += i as u64; // seeds 1, 2, ...: LCMCR mixes each with the chain index
        let (s, dga, lc) = section(part, Some(name.clone()), level, p);
        out.push(s);
        fits.push((name.clone(), dga, lc));
    }
    out.push(total_section(&fits, h.observed(), level));
    Ok(out)
}

/// The section of the total over strata: each method's posterior of the sum, or why there
/// is none (a stratum without that posterior).
fn total_section(
    fits: &[(String, Option<bayes::DgaFit>, Option<bayes::LcmcrFit>)],
    observed: u64,
    level: f64,
) -> Section {
    let mut s = Section::new(BAYES_SECTION, Some(SUMMED.to_string()), observed);
    let missing = |method: &str, has: &dyn Fn(usize) -> bool| -> Option<crate::Error> {
        let names: Vec<&str> = (0..fits.len())
            .filter(|&i| !has(i))
            .map(|i| fits[i].0.as_str())
            .collect();
        (!names.is_empty()).then(|| {
            crate::Error::no_estimate(format!(
                "no {method} posterior in {}: the total needs one in every stratum",
                names.join(", ")
            ))
        })
    };
    // One row of the total: the posterior of the sum with its credible interval.
    let row = |method: &str,
               what: &str,
               post: bayes::Posterior,
               (lower, upper): (f64, f64),
               assumptions: &[crate::estimate::Assumption]| {
        let interval = Interval {
            lower,
            upper,
            level,
            method: IntervalMethod::Credible,
        };
        let e = Estimate::new(
            method,
            format!("sum of the {} strata's {what} posteriors", fits.len()),
            post.median,
            post.sd,
            interval,
            observed,
        )
        .with_assumptions(assumptions);
        Row {
            posterior: Some(post),
            ..Row::from(e)
        }
    };
    let dgas: Vec<&bayes::DgaFit> = fits.iter().filter_map(|f| f.1.as_ref()).collect();
    if !dgas.is_empty() {
        let r = match missing("dga", &|i| fits[i].1.is_some()) {
            Some(e) => Err(e),
            None => bayes::dga_total(&dgas, level)
                .map(|(post, ends)| row("dga", "BMA", post, ends, &dgas[0].estimate.assumptions)),
        };
        s.push_row("dga BMA", r);
    }
    let lcs: Vec<&bayes::LcmcrFit> = fits.iter().filter_map(|f| f.2.as_ref()).collect();
    let r = match missing("LCMCR", &|i| fits[i].2.is_some()) {
        Some(e) => Err(e),
        None => bayes::lcmcr_total(&lcs, level).map(|post| {
            let at = |q: f64| {
                post.quantiles
                    .iter()
                    .find(|(p, _)| (p - q).abs() < 1e-12)
                    .map_or(f64::NAN, |&(_, v)| v)
            };
            let ends = (at((1.0 - level) / 2.0), at((1.0 + level) / 2.0));
            row("lcmcr", "LCMCR", post, ends, &lcs[0].estimate.assumptions)
        }),
    };
    s.push_row("LCMCR", r);
    s.notes.push(
        "the total's posterior is that of the sum of the strata's N, the strata taken as \
         independent: dga's posteriors convolved, LCMCR's draws added draw by draw (each \
         stratum on its own random stream); its diagnostics are the worst of the strata's"
            .to_string(),
    );
    s
}

/// The section of one population (the data, or one stratum), with the fits the total
/// over strata is made from.
fn section(
    h: &CaptureHistories,
    stratum: Option<String>,
    level: f64,
    p: LcmcrParams,
) -> (Section, Option<bayes::DgaFit>, Option<bayes::LcmcrFit>) {
    let mut s = Section::new(BAYES_SECTION, stratum, h.observed());
    let table = match ListTable::from_histories(h) {
        Ok(t) => t,
        Err(e) => {
            s.push("dga / LCMCR", Err(e));
            return (s, None, None);
        }
    };
    let (mut dga_fit, mut lcmcr_fit) = (None, None);
    if table.n_lists() <= REPORT_DGA_MAX_LISTS {
        let dp = DgaParams {
            level,
            ..Default::default()
        };
        let r = bayes::bma(&table, None, &dp).map(|f| {
            dga_fit = Some(f.clone());
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
        let row = Row {
            posterior: Some(f.posterior.clone()),
            ..Row::from(f.estimate.clone())
        };
        lcmcr_fit = Some(f);
        row
    });
    s.push_row("LCMCR", r);
    s.notes
        .push("credible intervals are posterior quantiles; N̂ is the posterior median".to_string());
    (s, dga_fit, lcmcr_fit)
}
