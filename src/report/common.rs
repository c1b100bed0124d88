//! Items several report modules share. This module names no sibling module, so any of
//! them may use it without closing an import circle.

/// Models whose meaning depends on the order of the columns: not run on lists.
pub const ORDER_DEPENDENT: &[&str] = &[
    "Bailey",
    "Schnabel",
    "Schumacher-Eschmeyer",
    "Mb",
    "Mbh",
    "Mtb",
];

/// A plain-text table: columns padded to their widest cell, right-aligned where `right`
/// says so, two spaces apart, one line per row (header first).
pub(super) fn aligned<H: AsRef<str>>(
    headers: &[H],
    right: &[bool],
    rows: &[Vec<String>],
) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.as_ref().chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for ((c, w), r) in cells.zip(&widths).zip(right) {
            let pad = " ".repeat(w.saturating_sub(c.chars().count()));
            if *r {
                l.push_str(&pad);
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&pad);
            }
            l.push_str("  ");
        }
        l.trim_end().to_string()
    };
    let mut out = line(&mut headers.iter().map(AsRef::as_ref));
    out.push('\n');
    for r in rows {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
        out.push('\n');
    }
    out
}

/// How the warning that columns read as occasions fit as lists begins
/// (`analyse::add_lists_hint`; the reports show it beside the figure).
pub const LISTS_HINT: &str =
    "The columns were read as occasions in time, and the best model fits poorly.";

/// How the warning that a closed population fits poorly and an open one fits begins
/// (`analyse::add_open_hint`; shown beside the figure like [`LISTS_HINT`]).
pub const OPEN_HINT: &str =
    "The population was taken as closed, and the best closed-population model fits poorly.";

/// How the warning begins that a total sums stratum figures that carry a caution
/// (`analyse::add_parts_caution`).
pub const PARTS_CAUTION: &str = "This total adds stratum figures that carry a caution:";

/// How the warning begins that a figure over strata counts some units more than once: under
/// `--unit-stratum each` a unit recorded in two strata (roles) is in both stratum
/// populations (`headline::add_roles_caution`).
pub const ROLES_TOTAL: &str = "This figure counts roles, not people:";

/// How the warning begins that the models without covariates give more than the
/// covariate models' interval holds (`headline::covariate_check`): catchability varies in
/// ways the covariates do not explain, and the covariate figure may be too low.
pub const COVARIATES_SHORT: &str = "Ignoring the covariates gives more:";

/// Whether a headline warning is a caution shown beside the figure (another reading of
/// the data that fits where this one does not; a total whose parts carry cautions; a
/// covariate figure below what the models without them give; a total that counts a unit
/// in two strata twice).
pub fn is_caution(w: &str) -> bool {
    w.starts_with(LISTS_HINT)
        || w.starts_with(OPEN_HINT)
        || w.starts_with(PARTS_CAUTION)
        || w.starts_with(COVARIATES_SHORT)
        || w.starts_with(ROLES_TOTAL)
}

/// A count for a reader: whole numbers with thousands separators from 100 up, one
/// decimal below; from 10¹⁵ up, scientific notation (no count of people is that large,
/// and a whole number there would pretend to digits the estimate does not have).
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return if x > 0.0 { "∞".into() } else { "-".into() };
    }
    if x.abs() < 100.0 {
        return format!("{x:.1}");
    }
    if x.abs() >= LARGE {
        return format!("{x:.3e}");
    }
    group_thousands(x.round() as i64)
}

/// From here up, [`num`] and the figures' axes write numbers in scientific notation.
pub const LARGE: f64 = 1e15;

/// `1234567` → `1,234,567`.
pub fn group_thousands(v: i64) -> String {
    let s = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    if v < 0 {
        out.push('-');
    }
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_counts() {
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(-12.345), "-12.3");
        assert_eq!(num(1234.5), "1,235");
        assert_eq!(num(-1234.5), "-1,235");
        assert_eq!(num(999_999_999_999_999.0), "999,999,999,999,999");
        // never a saturated integer: 3.8e21 is not 18,446,744,073,709,551,615
        assert_eq!(num(3.8e21), "3.800e21");
        assert_eq!(num(f64::INFINITY), "∞");
        assert_eq!(group_thousands(i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(group_thousands(999), "999");
    }
}
