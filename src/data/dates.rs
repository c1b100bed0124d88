//! Occasion labels that are calendar dates (long layout): `2024-03-01`, `2024/03/01`,
//! `2024-03`, `01.03.2024`, `1/3/2024` or `3/1/2024`, each with an optional time of day
//! (`2024-03-01T14:30`, `2024-03-01 14:30:05`, a trailing `Z`, `3/1/2024 2:30 PM` on a
//! 12-hour clock), put in calendar order.
//!
//! Year-first labels are read one way only. Year-last labels with `.` are day-first (the
//! European form). With `/` or `-` the file decides: a first field above 12 makes the labels
//! day-first, a second field above 12 month-first; when every field could be either, the
//! labels are dates only if both readings put them in the same order, and otherwise
//! [`DateLabels::Ambiguous`]. Two-digit years, time-zone offsets and month names are not
//! read as dates.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Calendar periods that group a long file's dated records into occasions, shortest
/// first (the order compares their lengths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccasionPeriod {
    /// A calendar day (records with a time of day on one day are one occasion):
    /// `2024-03-01`.
    Day,
    /// An ISO 8601 week, Monday to Sunday, numbered within the year that holds its
    /// Thursday: `2024-W09`.
    Week,
    /// A calendar month: `2024-03`.
    Month,
    /// A quarter of the year: `2024-Q1`.
    Quarter,
    /// A calendar year: `2024`.
    Year,
}

impl OccasionPeriod {
    /// Every period, shortest first.
    pub const ALL: [OccasionPeriod; 5] = [
        OccasionPeriod::Day,
        OccasionPeriod::Week,
        OccasionPeriod::Month,
        OccasionPeriod::Quarter,
        OccasionPeriod::Year,
    ];

    /// Lower-case name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OccasionPeriod::Day => "day",
            OccasionPeriod::Week => "week",
            OccasionPeriod::Month => "month",
            OccasionPeriod::Quarter => "quarter",
            OccasionPeriod::Year => "year",
        }
    }
}

impl std::str::FromStr for OccasionPeriod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let l = s.to_ascii_lowercase();
        OccasionPeriod::ALL
            .into_iter()
            .find(|p| p.name() == l.trim_end_matches('s'))
            .ok_or_else(|| {
                Error::param(
                    "occasion_period",
                    s,
                    "one of day, week, month, quarter, year",
                )
            })
    }
}

/// A point in time from a label: sorts in calendar order. A label that gives a month only
/// has day 0 (before the month's first day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct When {
    year: u16,
    month: u8,
    day: u8,
    /// Milliseconds since midnight.
    ms: u32,
}

/// What a set of distinct labels are, read as dates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DateLabels {
    /// Every label is a date: one point in time per label, in the labels' order.
    Dates(Vec<When>),
    /// Every label is a year-last date with day and month both at most 12, and the two
    /// readings (day first, month first) order them differently.
    Ambiguous,
    /// At least one label is not a date of a form read here.
    NotDates,
}

/// Reads distinct labels as dates (see the module documentation).
pub(crate) fn read_dates(labels: &[&str]) -> DateLabels {
    if labels.is_empty() {
        return DateLabels::NotDates;
    }
    if let Some(v) = labels.iter().map(|l| year_first(l)).collect() {
        return DateLabels::Dates(v);
    }
    let Some(raw): Option<Vec<YearLast>> = labels.iter().map(|l| year_last(l)).collect() else {
        return DateLabels::NotDates;
    };
    let day_first: Option<Vec<When>> = raw.iter().map(|r| r.reading(true)).collect();
    if raw.iter().any(|r| r.dots) {
        return day_first.map_or(DateLabels::NotDates, DateLabels::Dates);
    }
    let month_first: Option<Vec<When>> = raw.iter().map(|r| r.reading(false)).collect();
    match (day_first, month_first) {
        (Some(d), None) => DateLabels::Dates(d),
        (None, Some(m)) => DateLabels::Dates(m),
        (None, None) => DateLabels::NotDates,
        (Some(d), Some(m)) => {
            if rank(&d) == rank(&m) {
                DateLabels::Dates(d)
            } else {
                DateLabels::Ambiguous
            }
        }
    }
}

/// Positions of the labels in sorted order (ties keep their order).
fn rank(w: &[When]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..w.len()).collect();
    idx.sort_by_key(|&i| w[i]);
    idx
}

/// `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYY.MM.DD` (one separator), each with an optional
/// time; or `YYYY-MM`.
fn year_first(s: &str) -> Option<When> {
    let (date, time) = split_time(s)?;
    let sep = date.chars().nth(4)?;
    if !matches!(sep, '-' | '/' | '.') {
        return None;
    }
    let parts: Vec<&str> = date.split(sep).collect();
    let year = four_digits(parts[0])?;
    match parts.len() {
        2 if sep == '-' && time.is_none() => {
            let month = small(parts[1])?;
            (1..=12).contains(&month).then_some(When {
                year,
                month,
                day: 0,
                ms: 0,
            })
        }
        3 => make(year, small(parts[1])?, small(parts[2])?, time.unwrap_or(0)),
        _ => None,
    }
}

/// A year-last date before its day and month are told apart.
struct YearLast {
    a: u8,
    b: u8,
    year: u16,
    ms: u32,
    /// `.` separators: day first.
    dots: bool,
}

impl YearLast {
    fn reading(&self, day_first: bool) -> Option<When> {
        let (d, m) = if day_first {
            (self.a, self.b)
        } else {
            (self.b, self.a)
        };
        make(self.year, m, d, self.ms)
    }
}

/// `D/M/YYYY`, `D-M-YYYY` or `D.M.YYYY` (one or two digits for D and M, one separator),
/// with an optional time.
fn year_last(s: &str) -> Option<YearLast> {
    let (date, time) = split_time(s)?;
    let sep = date.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(sep, '-' | '/' | '.') {
        return None;
    }
    let parts: Vec<&str> = date.split(sep).collect();
    if parts.len() != 3 {
        return None;
    }
    Some(YearLast {
        a: small(parts[0])?,
        b: small(parts[1])?,
        year: four_digits(parts[2])?,
        ms: time.unwrap_or(0),
        dots: sep == '.',
    })
}

/// Splits `DATE[T| ]HH:MM[:SS[.fff]][Z]`, or the time on a 12-hour clock (`2:30 PM`), into
/// the date and the time in milliseconds.
fn split_time(s: &str) -> Option<(&str, Option<u32>)> {
    let s = s.trim();
    let Some(at) = s.find(['T', ' ']) else {
        return Some((s, None));
    };
    let (date, rest) = (&s[..at], &s[at + 1..]);
    let rest = rest.strip_suffix('Z').unwrap_or(rest);
    // a 12-hour clock, as spreadsheets in English export it: `2:30:00 PM`
    let upper = rest.to_ascii_uppercase();
    let (rest, pm) = match (upper.strip_suffix("AM"), upper.strip_suffix("PM")) {
        (Some(_), _) => (rest[..rest.len() - 2].trim_end(), Some(false)),
        (_, Some(_)) => (rest[..rest.len() - 2].trim_end(), Some(true)),
        _ => (rest, None),
    };
    let mut hms = rest.split(':');
    let h = small(hms.next()?)?;
    let h = match pm {
        None => h,
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(false) => h % 12,
        Some(true) => h % 12 + 12,
    };
    let m = two_digits(hms.next()?)?;
    let sec_ms = match hms.next() {
        None => 0,
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let secs = two_digits(whole)?;
            if secs > 60 || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let ms: u32 = frac
                .bytes()
                .chain(std::iter::repeat(b'0'))
                .take(3)
                .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'));
            u32::from(secs) * 1000 + ms
        }
    };
    if hms.next().is_some() || h > 23 || m > 59 {
        return None;
    }
    Some((
        date,
        Some((u32::from(h) * 60 + u32::from(m)) * 60_000 + sec_ms),
    ))
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(year: u16, month: u8, day: u8) -> i64 {
    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl When {
    /// The calendar period holding this time: a key that sorts the periods in time, and
    /// the period's label (`2024-03-01`, `2024-W09`, `2024-03`, `2024-Q1`, `2024`).
    /// `None` for a label that gives a month only, asked for its day or week.
    pub(crate) fn period(self, p: OccasionPeriod) -> Option<(u32, String)> {
        let (y, m, d) = (self.year, self.month, self.day);
        let q = (m - 1) / 3 + 1;
        match p {
            OccasionPeriod::Year => Some((u32::from(y), format!("{y}"))),
            OccasionPeriod::Quarter => {
                Some((u32::from(y) * 10 + u32::from(q), format!("{y}-Q{q}")))
            }
            OccasionPeriod::Month => {
                Some((u32::from(y) * 100 + u32::from(m), format!("{y}-{m:02}")))
            }
            _ if d == 0 => None,
            OccasionPeriod::Day => Some((
                (u32::from(y) * 100 + u32::from(m)) * 100 + u32::from(d),
                format!("{y}-{m:02}-{d:02}"),
            )),
            OccasionPeriod::Week => {
                // ISO 8601: weeks start on Monday; week 1 holds the year's first Thursday
                let days = days_from_civil(y, m, d);
                let weekday = (days + 3).rem_euclid(7); // Monday 0 (1970-01-01 was a Thursday)
                let thursday = days - weekday + 3;
                let wy = if thursday >= days_from_civil(y + 1, 1, 1) {
                    y + 1
                } else if thursday < days_from_civil(y, 1, 1) {
                    y - 1
                } else {
                    y
                };
                let week = (thursday - days_from_civil(wy, 1, 1)) / 7 + 1;
                Some((
                    u32::from(wy) * 100 + week as u32,
                    format!("{wy}-W{week:02}"),
                ))
            }
        }
    }
}

fn make(year: u16, month: u8, day: u8, ms: u32) -> Option<When> {
    ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(When {
        year,
        month,
        day,
        ms,
    })
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// One or two ASCII digits.
fn small(s: &str) -> Option<u8> {
    (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Exactly two ASCII digits.
fn two_digits(s: &str) -> Option<u8> {
    (s.len() == 2).then(|| small(s)).flatten()
}

/// A four-digit year from 1000.
fn four_digits(s: &str) -> Option<u16> {
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|&y| y >= 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(labels: &[&str]) -> Option<Vec<usize>> {
        match read_dates(labels) {
            DateLabels::Dates(w) => Some(rank(&w)),
            _ => None,
        }
    }

    #[test]
    fn year_first_dates_sort_by_calendar() {
        assert_eq!(
            order(&["2024-03-01", "2024-01-15", "2023-12-31"]),
            Some(vec![2, 1, 0])
        );
        assert_eq!(
            order(&["2024/3/1", "2024/1/15", "2024/02/29"]),
            Some(vec![1, 2, 0])
        );
        assert_eq!(
            order(&["2024-01-15T14:30", "2024-01-15 09:05:30.5Z", "2024-01-15"]),
            Some(vec![2, 1, 0])
        );
        assert_eq!(
            order(&["2024-11", "2024-02", "2023-12"]),
            Some(vec![2, 1, 0])
        );
        // a 12-hour clock: midnight, noon, and the afternoon after the morning
        assert_eq!(
            order(&[
                "3/1/2024 2:30:00 PM",
                "3/1/2024 12:05 AM",
                "3/1/2024 12:00 pm",
                "3/1/2024 11:59 AM"
            ]),
            Some(vec![1, 3, 2, 0])
        );
        assert_eq!(
            read_dates(&["3/1/2024 13:30 PM", "3/1/2024"]),
            DateLabels::NotDates
        );
    }

    #[test]
    fn impossible_dates_and_other_forms_are_not_dates() {
        for bad in [
            ["2023-02-29", "2024-01-01"],
            ["2024-13-01", "2024-01-01"],
            ["24-03-01", "24-01-01"],
            ["2024-01-01T24:00", "2024-01-01"],
            ["2024-01-01+01:00", "2024-01-01"],
            ["March 2024", "April 2024"],
            ["2024-01-01", "spring"],
            ["0999-01-01", "2024-01-01"],
        ] {
            assert_eq!(read_dates(&bad), DateLabels::NotDates, "{bad:?}");
        }
    }

    #[test]
    fn periods_follow_the_calendar_and_iso_weeks() {
        let label = |s: &str, p| match read_dates(&[s]) {
            DateLabels::Dates(w) => w[0].period(p).map(|x| x.1),
            other => panic!("{s}: {other:?}"),
        };
        use OccasionPeriod::*;
        for (date, week) in [
            ("2024-03-01", "2024-W09"),
            ("2021-01-03", "2020-W53"),
            ("2020-12-31", "2020-W53"),
            ("2024-12-30", "2025-W01"),
            ("2026-01-01", "2026-W01"),
            ("2027-01-01", "2026-W53"),
            ("2024-01-01T23:59", "2024-W01"),
        ] {
            assert_eq!(label(date, Week).as_deref(), Some(week), "{date}");
        }
        assert_eq!(label("29.02.2024", Day).as_deref(), Some("2024-02-29"));
        assert_eq!(label("2024-08-15 10:00", Month).as_deref(), Some("2024-08"));
        assert_eq!(label("2024-08-15", Quarter).as_deref(), Some("2024-Q3"));
        assert_eq!(label("12/31/2023", Year).as_deref(), Some("2023"));
        // a month-only label has no day or week
        assert_eq!(label("2024-03", Week), None);
        assert_eq!(label("2024-03", Quarter).as_deref(), Some("2024-Q1"));
        // keys sort as time: the last days of a year before the next year's first week
        let key = |s: &str, p| match read_dates(&[s]) {
            DateLabels::Dates(w) => w[0].period(p).unwrap().0,
            _ => unreachable!(),
        };
        assert!(key("2020-12-31", Week) < key("2021-01-04", Week));
        assert!(key("2024-12-31", Day) < key("2025-01-01", Day));
        assert!(key("2024-12-31", Quarter) < key("2025-01-01", Quarter));
    }

    #[test]
    fn year_last_dates_are_told_apart_by_the_file() {
        // A first field above 12: day first.
        assert_eq!(
            order(&["15/01/2024", "03/02/2024", "01/01/2024"]),
            Some(vec![2, 0, 1])
        );
        // A second field above 12: month first.
        assert_eq!(
            order(&["1/15/2024", "2/3/2024", "1/1/2024"]),
            Some(vec![2, 0, 1])
        );
        // Dots: day first.
        assert_eq!(order(&["03.02.2024", "01.03.2024"]), Some(vec![0, 1]));
        // Either reading, same order: dates.
        assert_eq!(order(&["01/02/2024", "01/03/2024"]), Some(vec![0, 1]));
        // Either reading, different orders: ambiguous.
        assert_eq!(
            read_dates(&["03/04/2024", "04/03/2024"]),
            DateLabels::Ambiguous
        );
        // Neither reading holds for all.
        assert_eq!(
            read_dates(&["15/01/2024", "01/15/2024"]),
            DateLabels::NotDates
        );
    }
}
