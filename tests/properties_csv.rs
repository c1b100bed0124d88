//! Property tests of the CSV reader on hostile input (issue 15): arbitrary bytes, and
//! well-formed tables with hostile names, quoting, line ends, huge and zero frequencies
//! and occasion labels in any order. The reader never panics; it returns either a typed
//! CSV error naming the file (and the line where one applies) or data whose units seen
//! equal an independent count.
//!
//! The seed is fixed and the case counts modest, so that CI is reproducible and the file
//! runs in seconds: `cargo test --release --test properties_csv`.

use darkfigure::Error;
use darkfigure::data::csv_io::{decode_utf8, read_str};
use darkfigure::data::{CaptureHistories, DataSet, MAX_COUNT, MAX_UNITS, ReadOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use std::collections::{BTreeMap, BTreeSet};

const FILE: &str = "p.csv";

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(15),
        failure_persistence: None,
        ..Config::default()
    }
}

/// The error is a CSV error naming the file; returns its line.
fn csv_error(e: &Error) -> Result<Option<usize>, TestCaseError> {
    match e {
        Error::CsvFormat { at, .. } | Error::CsvValue { at, .. } => {
            prop_assert_eq!(&at.file, FILE, "{}", e);
            Ok(at.line)
        }
        other => Err(TestCaseError::fail(format!("not a CSV error: {other:?}"))),
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn histories(d: DataSet) -> CaptureHistories {
    match d {
        DataSet::Histories { data, .. } => data,
        DataSet::Counts { .. } => panic!("expected histories"),
    }
}

/// Bytes drawn mostly from the characters that matter to a CSV reader.
fn csvish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let b = prop_oneof![
        8 => prop::sample::select(b"01,\"\n\r;\t| aAnbcapfreqidoccasionhistory".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(b, 0..200)
}

fn freq_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..5,
        3 => 0u64..100_000,
        1 => Just(MAX_UNITS),
        1 => (MAX_UNITS / 2)..MAX_UNITS,
        1 => Just(u64::MAX),
    ]
}

const HOSTILE: [&str; 7] = ["", " a|b", " \"q\"", ",x", " é", " 1;2", "\tz"];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_give_data_or_a_csv_error(bytes in prop_oneof![
        csvish_bytes(),
        prop::collection::vec(any::<u8>(), 0..200),
    ]) {
        let r = decode_utf8(bytes, FILE).and_then(|t| read_str(&t, FILE, &ReadOptions::default()));
        match r {
            Ok(DataSet::Histories { data, .. }) => prop_assert!(data.observed() > 0),
            Ok(DataSet::Counts { data, .. }) => prop_assert!(data.observed() > 0),
            Err(e) => {
                csv_error(&e)?;
            }
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Wide tables delimited by commas, semicolons or tabs, with hostile names, quoted
    /// values, CRLF line ends and huge or zero frequencies: units seen equal the sum of the frequencies, or the error names the
    /// first row that breaks a rule (a total beyond 2⁵³, a never-seen row with a
    /// positive frequency).
    #[test]
    fn wide_tables_count_their_units(
        t in 1usize..6,
        suffixes in prop::collection::vec(prop::sample::select(HOSTILE.to_vec()), 6),
        rows in prop::collection::vec((prop::collection::vec(any::<bool>(), 6), freq_value(), any::<bool>()), 1..12),
        crlf in any::<bool>(),
        sep in prop::sample::select(vec![",", ";", "\t"]),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        let names: Vec<String> = (0..t).map(|j| format!("op{j}{}", suffixes[j])).collect();
        let header: Vec<String> = names.iter().map(|n| quote(n)).collect();
        text.push_str(&header.join(sep));
        text.push_str(sep);
        text.push_str("freq");
        text.push_str(eol);
        let mut expected: Result<u128, usize> = Ok(0);
        for (i, (bits, f, quoted)) in rows.iter().enumerate() {
            let cells: Vec<String> = (0..t)
                .map(|j| {
                    let v = if bits[j] { "1" } else { "0" };
                    if *quoted { quote(v) } else { v.to_string() }
                })
                .collect();
            text.push_str(&cells.join(sep));
            text.push_str(&format!("{sep}{f}{eol}"));
            if let Ok(total) = expected {
                let seen = bits[..t].iter().any(|&b| b);
                let next = total + *f as u128;
                expected = if next > MAX_UNITS as u128 || (!seen && *f > 0) {
                    Err(i + 2)
                } else {
                    Ok(next)
                };
            }
        }
        match (read_str(&text, FILE, &ReadOptions::default()), expected) {
            (Ok(d), Ok(total)) => {
                let h = histories(d);
                prop_assert_eq!(h.observed() as u128, total);
                prop_assert_eq!(h.occasion_names(), &names[..]);
            }
            (Err(e), Ok(0)) => {
                csv_error(&e)?;
            }
            (Err(e), Err(line)) => {
                prop_assert_eq!(csv_error(&e)?, Some(line), "{}", e);
            }
            (r, want) => prop_assert!(false, "{:?} but expected {:?}\n{}", r.map(|d| d.layout()), want, text),
        }
    }

    /// Long tables whose occasion labels are numbers (from 0 or 1, rows in any order),
    /// words or dates (ISO or day-first with dots): units seen equal the distinct
    /// identifiers, and each occasion holds the units recorded under its label, in numeric
    /// order for numbers, in calendar order for dates and in order of first appearance for
    /// words.
    #[test]
    fn long_tables_order_occasions_and_count_units(
        records in prop::collection::vec((0u8..15, 0usize..12), 1..60),
        from_zero in any::<bool>(),
        style in 0u8..4,
    ) {
        const WORDS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
        let label = |k: usize| match style {
            0 => WORDS[k].to_string(),
            1 => format!("2024-{:02}-{:02}", 12 - k, k + 1),
            2 => format!("{:02}.{:02}.2023", k + 1, 12 - k),
            _ if from_zero => k.to_string(),
            _ => (k + 1).to_string(),
        };
        // Position of a label in time (the dates run backwards with k).
        let time = |name: &str| -> i64 {
            let n = name.trim_start_matches("occasion ");
            match style {
                0 => 0,
                1 | 2 => -((0..12).position(|k| label(k) == n).unwrap() as i64),
                _ => n.parse().unwrap(),
            }
        };
        let mut text = String::from("id,occasion\n");
        let mut by_label: BTreeMap<String, BTreeSet<u8>> = BTreeMap::new();
        let mut ids = BTreeSet::new();
        let mut first: Vec<String> = Vec::new();
        for &(id, k) in &records {
            let l = label(k);
            text.push_str(&format!("u{id},{l}\n"));
            by_label.entry(l.clone()).or_default().insert(id);
            ids.insert(id);
            if !first.contains(&l) {
                first.push(l);
            }
        }
        let h = histories(read_str(&text, FILE, &ReadOptions::default()).unwrap());
        prop_assert_eq!(h.observed(), ids.len() as u64);
        let names = h.occasion_names().to_vec();
        match style {
            0 => prop_assert_eq!(&names, &first),
            1 | 2 => {
                prop_assert_eq!(names.len(), first.len());
                prop_assert!(names.windows(2).all(|w| time(&w[1]) > time(&w[0])), "{:?}", names);
            }
            _ => prop_assert!(names.windows(2).all(|w| time(&w[1]) == time(&w[0]) + 1), "{:?}", names),
        }
        for (j, name) in names.iter().enumerate() {
            let key = name.trim_start_matches("occasion ").to_string();
            let want = by_label.get(&key).map_or(0, |s| s.len()) as u64;
            let got: u64 = (0..h.n_rows()).filter(|&i| h.caught(i, j)).map(|i| h.frequencies()[i]).sum();
            prop_assert_eq!(got, want, "occasion {}", name);
        }
    }

    /// Counts with huge counts and frequencies: units seen equal the sum of the
    /// frequencies, or the error names the first offending row.
    #[test]
    fn count_tables_count_their_units(
        rows in prop::collection::vec((prop_oneof![4 => 1u64..20, 1 => 1u64..=MAX_COUNT + 10, 1 => Just(u64::MAX)], freq_value()), 1..10),
    ) {
        let mut text = String::from("nbcap,freq\n");
        let mut expected: Result<u128, usize> = Ok(0);
        for (i, (c, f)) in rows.iter().enumerate() {
            text.push_str(&format!("{c},{f}\n"));
            if let Ok(total) = expected {
                let next = total + *f as u128;
                expected = if *c > MAX_COUNT || next > MAX_UNITS as u128 {
                    Err(i + 2)
                } else {
                    Ok(next)
                };
            }
        }
        match (read_str(&text, FILE, &ReadOptions::default()), expected) {
            (Ok(DataSet::Counts { data, .. }), Ok(total)) => {
                prop_assert_eq!(data.observed() as u128, total);
            }
            (Err(e), Ok(0)) => {
                csv_error(&e)?;
            }
            (Err(e), Err(line)) => {
                prop_assert_eq!(csv_error(&e)?, Some(line), "{}", e);
            }
            (r, want) => prop_assert!(false, "{:?} but expected {:?}\n{}", r.map(|d| d.layout()), want, text),
        }
    }
}
