//! Regression tests for the hostile-input defects of issue 15: each test is named after
//! the class of input that used to lose data, hang, panic or print a wrong number.

use darkfigure::Error;
use darkfigure::data::csv_io::{self, read_str};
use darkfigure::data::{CaptureHistories, CountData, CovariateValues, DataSet, ReadOptions};
use darkfigure::report::{self, AnalysisOptions, Format, Occasions};
use std::time::{Duration, Instant};

mod common;

const POLICE: &str = include_str!("../examples/data/police_operations.csv");
const HARE: &str = include_str!("../examples/data/hare.csv");

fn opts() -> ReadOptions {
    ReadOptions::default()
}

fn format_reason(e: &Error) -> (Option<usize>, String) {
    match e {
        Error::CsvFormat { at, reason } => (at.line, reason.clone()),
        Error::CsvValue {
            at,
            value,
            expected,
        } => (at.line, format!("{value}: {expected}")),
        other => panic!("expected a CSV error, got {other}"),
    }
}

fn histories(d: DataSet) -> CaptureHistories {
    match d {
        DataSet::Histories { data, .. } => data,
        DataSet::Counts { .. } => panic!("expected histories"),
    }
}

// ---------------------------------------------------------------- data loss

#[test]
fn unterminated_quote_in_a_stratum_field_names_its_line() {
    // One `"` opening the stratum of line 6 used to swallow the rest of the register.
    let mut lines: Vec<String> = POLICE.lines().map(str::to_string).collect();
    assert!(lines.len() > 600);
    lines[5] = lines[5]
        .replace(",buyer", ",\"buyer")
        .replace(",seller", ",\"seller");
    assert!(lines[5].contains('"'));
    let text = lines.join("\n") + "\n";
    let e = read_str(&text, "police.csv", &opts()).unwrap_err();
    let (line, reason) = format_reason(&e);
    assert_eq!(line, Some(6), "{e}");
    assert!(reason.contains("quoted field"), "{reason}");
    assert!(e.to_string().contains("police.csv"), "{e}");
}

#[test]
fn quoted_field_running_over_a_line_end_is_refused() {
    let text = "id,occasion\n\"a,1\nb,2\nc\",3\n";
    let e = read_str(text, "x.csv", &opts()).unwrap_err();
    assert_eq!(format_reason(&e).0, Some(2), "{e}");
}

#[test]
fn well_formed_quotes_are_still_read() {
    let text = "id,occasion\n\"a\",1\n\"b \"\"x\"\"\",2\n\"a\",2\n";
    let h = histories(read_str(text, "x.csv", &opts()).unwrap());
    assert_eq!(h.observed(), 2);
}

// ------------------------------------------------------------ wrong numbers

#[test]
fn long_layout_numbered_from_zero_equals_numbered_from_one() {
    // Text order put occasion 10 between 1 and 2.
    let mut from1 = String::from("id,occasion\n");
    let mut from0 = String::from("id,occasion\n");
    for u in 0..40u32 {
        for j in 1..=11u32 {
            if (u * 7 + j * 3) % 4 == 0 || j == u % 11 + 1 {
                from1.push_str(&format!("u{u},{j}\n"));
                from0.push_str(&format!("u{u},{}\n", j - 1));
            }
        }
    }
    let a = read_str(&from1, "a.csv", &opts()).unwrap();
    let b = read_str(&from0, "b.csv", &opts()).unwrap();
    assert!(
        a.layout_label().contains("numeric order"),
        "{}",
        a.layout_label()
    );
    let (ha, hb) = (histories(a), histories(b));
    assert_eq!(ha.occasions(), 11);
    assert_eq!(hb.occasions(), 11);
    assert_eq!(ha.histories(), hb.histories());
    assert_eq!(hb.occasion_names()[10], "occasion 10");
}

#[test]
fn long_layout_report_says_how_occasions_were_ordered() {
    let d = read_str(POLICE, "police.csv", &opts()).unwrap();
    let r = report::analyse(&d, &AnalysisOptions::default()).unwrap();
    assert!(
        r.render_with(Format::Text, true)
            .contains("long layout: occasions in numeric order of their labels")
    );
}

#[test]
fn long_layout_date_labels_sort_by_calendar() {
    // ISO dates met out of order in the file used to keep that order (2024-03-01 first).
    let rows = [
        ("a", "2024-03-01"),
        ("b", "2024-01-15"),
        ("a", "2024-01-15"),
        ("c", "2024-02-10"),
        ("b", "2024-02-10"),
        ("d", "2024-3-1"),
    ];
    let text: String = std::iter::once("id,occasion\n".to_string())
        .chain(rows.iter().map(|(i, o)| format!("{i},{o}\n")))
        .collect();
    let d = read_str(&text, "x.csv", &opts()).unwrap();
    assert!(
        d.layout_label().contains("calendar order"),
        "{}",
        d.layout_label()
    );
    let h = histories(d.clone());
    // `2024-3-1` and `2024-03-01` are one occasion, named as first met.
    assert_eq!(
        h.occasion_names(),
        &["2024-01-15", "2024-02-10", "2024-03-01"]
    );
    // a: seen on 15 Jan and 1 Mar (bits 0 and 2).
    let code = |caught: [bool; 3]| {
        (0..h.n_rows())
            .filter(|&i| (0..3).all(|j| h.caught(i, j) == caught[j]))
            .map(|i| h.frequencies()[i])
            .sum::<u64>()
    };
    assert_eq!(code([true, false, true]), 1);
    assert_eq!(code([true, true, false]), 1);
    assert_eq!(code([false, true, false]), 1);
    assert_eq!(code([false, false, true]), 1);
    let r = report::analyse(&d, &AnalysisOptions::default()).unwrap();
    let text = r.render_with(Format::Text, false);
    assert!(
        text.contains("3 occasions (in calendar order, 2024-01-15 to 2024-03-01)"),
        "{text}"
    );
    // Day first (a first field above 12), with times.
    let text = "id,occasion\na,15/01/2024 18:00\nb,03/01/2024 09:30\na,03/01/2024 09:30\nc,15/01/2024 08:00\n";
    assert_eq!(
        histories(read_str(text, "x.csv", &opts()).unwrap()).occasion_names(),
        &["03/01/2024 09:30", "15/01/2024 08:00", "15/01/2024 18:00"]
    );
}

#[test]
fn long_layout_dates_whose_day_and_month_cannot_be_told_apart_say_so() {
    // 03/04 and 04/03: day first, 3 April comes second; month first, it comes first.
    let text = "id,occasion\na,04/03/2024\nb,03/04/2024\na,03/04/2024\nc,04/03/2024\n";
    let d = read_str(text, "x.csv", &opts()).unwrap();
    assert_eq!(
        histories(d.clone()).occasion_names(),
        &["04/03/2024", "03/04/2024"]
    );
    let r = report::analyse(&d, &AnalysisOptions::default()).unwrap();
    let out = r.render_with(Format::Text, false);
    assert!(
        out.contains("day and month cannot be told apart, so set the order with --occasion-order"),
        "{out}"
    );
    let json = r.render_with(Format::Json, false);
    assert!(
        json.contains("\"occasion_order\": \"ambiguous_dates\""),
        "{json}"
    );
}

#[test]
fn long_layout_years_are_occasions_from_the_first_year() {
    // Occasions labelled by year used to be counted from 1 (2,021 occasions: refused).
    let text = "id,occasion\na,2019\nb,2019\na,2020\nc,2020\nd,2021\nb,2021\ne,2019\n";
    let d = read_str(text, "x.csv", &opts()).unwrap();
    let h = histories(d.clone());
    assert_eq!(
        h.occasion_names(),
        &["occasion 2019", "occasion 2020", "occasion 2021"]
    );
    assert_eq!(h.observed(), 5);
    let out = report::analyse(&d, &AnalysisOptions::default())
        .unwrap()
        .render_with(Format::Text, false);
    assert!(
        out.contains("3 occasions (numbered 2019 to 2021: none before 2019 is counted)"),
        "{out}"
    );
}

#[test]
fn an_occasion_without_captures_is_named_in_the_data_line() {
    // Occasion 3 of a long file numbered 1, 2, 4: kept, and said.
    let long = "id,occasion\na,1\nb,1\na,2\nc,2\nd,4\nb,4\ne,1\nf,2\ng,4\n";
    let d = read_str(long, "x.csv", &opts()).unwrap();
    assert_eq!(histories(d.clone()).occasions(), 4);
    let out = report::analyse(&d, &AnalysisOptions::default())
        .unwrap()
        .render_with(Format::Text, false);
    assert!(
        out.contains("4 occasions; nobody was recorded on occasion 3, which counts as an occasion without captures (if no one was looking then, renumber the occasions or set --occasion-order)"),
        "{out}"
    );
    // A wide file's column of zeros: drop the column.
    let wide = "c1,c2,c3\n1,0,0\n1,1,0\n0,1,0\n1,0,0\n0,1,0\n1,1,0\n";
    let d = read_str(wide, "w.csv", &opts()).unwrap();
    let r = report::analyse(&d, &AnalysisOptions::default()).unwrap();
    let out = r.render_with(Format::Text, false);
    assert!(
        out.contains("nobody was recorded on occasion c3, which counts as an occasion without captures (if no one was looking then, drop its column)"),
        "{out}"
    );
    assert!(
        r.render_with(Format::Json, false)
            .contains("\"empty_occasions\": [\n      \"c3\"\n    ]")
    );
}

#[test]
fn long_layout_decimal_labels_sort_numerically() {
    let text = "id,occasion\na,10.5\na,2.5\nb,2.5\nc,9\n";
    let h = histories(read_str(text, "x.csv", &opts()).unwrap());
    assert_eq!(h.occasion_names(), &["2.5", "9", "10.5"]);
}

#[test]
fn long_layout_text_labels_keep_first_appearance_or_the_given_order() {
    let text = "id,occasion\na,spring\na,autumn\nb,summer\nc,autumn\n";
    let d = read_str(text, "x.csv", &opts()).unwrap();
    assert!(d.layout_label().contains("first appearance"));
    assert_eq!(
        histories(d).occasion_names(),
        &["spring", "autumn", "summer"]
    );
    let given = ReadOptions {
        occasion_order: Some(vec!["spring".into(), "summer".into(), "autumn".into()]),
        ..opts()
    };
    let d = read_str(text, "x.csv", &given).unwrap();
    assert!(d.layout_label().contains("order given"));
    assert_eq!(
        histories(d).occasion_names(),
        &["spring", "summer", "autumn"]
    );
    let missing = ReadOptions {
        occasion_order: Some(vec!["spring".into(), "summer".into()]),
        ..opts()
    };
    let e = read_str(text, "x.csv", &missing).unwrap_err();
    assert_eq!(format_reason(&e).0, Some(3), "{e}");
}

#[test]
fn frequencies_that_overflow_are_refused_at_their_row() {
    let text = "A,B,freq\n1,0,18446744073709551615\n0,1,10\n1,1,9\n";
    let e = read_str(text, "x.csv", &opts()).unwrap_err();
    let (line, reason) = format_reason(&e);
    assert!(line == Some(2) || line == Some(3), "{e}");
    assert!(reason.contains("add up"), "{reason}");
    let e = CaptureHistories::new(2, vec![1, 2], vec![u64::MAX, 10]).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e}");
    let e = CountData::with_frequencies(vec![1, 2], vec![u64::MAX, 10]).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e}");
}

#[test]
fn missing_value_code_in_a_numeric_covariate_is_refused() {
    // `NA` used to turn the column into a categorical covariate (N̂ 8e11).
    let text = "nbcap,age\n1,23\n2,41\n1,NA\n3,35\n";
    let e = read_str(text, "x.csv", &opts()).unwrap_err();
    let (line, reason) = format_reason(&e);
    assert_eq!(line, Some(4));
    assert!(reason.contains("missing"), "{reason}");
}

#[test]
fn column_n_is_a_frequency_in_counts_files_as_in_wide_files() {
    let text = "nbcap,n\n1,1645\n2,183\n3,37\n";
    match read_str(text, "x.csv", &opts()).unwrap() {
        DataSet::Counts { data, .. } => {
            assert_eq!(data.observed(), 1865);
            assert!(data.covariates().is_empty());
        }
        _ => panic!("counts expected"),
    }
}

#[test]
fn pipe_in_a_column_name_is_escaped_in_markdown() {
    let text = "nbcap,freq,a|b\n1,50,x\n2,10,y\n3,3,x\n1,40,y\n2,9,x\n";
    let d = read_str(text, "x.csv", &opts()).unwrap();
    let r = report::analyse(&d, &AnalysisOptions::default()).unwrap();
    let md = r.render_with(Format::Markdown, true);
    assert!(md.contains("a\\|b"), "{md}");
    assert!(!md.contains(" a|b "), "{md}");
}

#[test]
fn one_hierarchical_term_with_every_occasion_is_refused() {
    use darkfigure::closed::LogLinearModel;
    assert!(LogLinearModel::parse("[]", 3).is_err());
    assert!(LogLinearModel::parse("[1,1]", 3).is_err());
    assert!(LogLinearModel::parse("[12,21]", 3).is_err());
    assert!(LogLinearModel::parse("[123]", 3).is_err());
    assert!(LogLinearModel::parse("[1]", 1).is_err());
    assert!(LogLinearModel::parse("[12,3]", 3).is_ok());
}

// ------------------------------------------------------- misleading messages

#[test]
fn non_utf8_file_names_the_line() {
    let scratch = common::Scratch::new("hardening");
    let mut bytes = b"nbcap,town\n1,Paris\n2,Z".to_vec();
    bytes.push(0xfc); // ü in Latin-1
    bytes.extend_from_slice(b"rich\n");
    let path = scratch.file("latin1.csv", &bytes);
    let e = csv_io::read_path(&path, &opts()).unwrap_err();
    let (line, reason) = format_reason(&e);
    assert_eq!(line, Some(3));
    assert!(reason.contains("UTF-8"), "{reason}");
}

#[test]
fn semicolon_and_tab_delimited_files_are_read_and_pipes_get_a_hint() {
    // Spreadsheets where the comma is the decimal mark write `;` and decimal commas.
    let comma = read_str("A,B,freq\n1,0,5\n0,1,4\n1,1,2\n", "x.csv", &opts()).unwrap();
    for text in [
        "A;B;freq\n1;0;5\n0;1;4\n1;1;2\n",
        "\u{feff}A;B;freq\r\n1;0;5\r\n0;1;4\r\n1;1;2\r\n",
        "A\tB\tfreq\n1\t0\t5\n0\t1\t4\n1\t1\t2\n",
    ] {
        let d = read_str(text, "x.csv", &opts()).unwrap();
        match (&comma, &d) {
            (DataSet::Histories { data: a, .. }, DataSet::Histories { data: b, .. }) => {
                assert_eq!(
                    a.cell_counts().unwrap(),
                    b.cell_counts().unwrap(),
                    "{text:?}"
                );
            }
            _ => panic!("{text:?}"),
        }
    }
    // A decimal comma in a `;` file is a number, not a category.
    let counts = |text: &str| match read_str(text, "x.csv", &opts()).unwrap() {
        DataSet::Counts { data, .. } => data,
        _ => panic!("{text}"),
    };
    let points = counts("count,w\n1,1.5\n2,0.25\n1,-2.0\n3,1\n");
    let commas = counts("count;w\n1;1,5\n2;0,25\n1;-2,0\n3;1\n");
    assert_eq!(points.counts(), commas.counts());
    assert!(matches!(
        &commas.covariate("w").unwrap().values,
        CovariateValues::Numeric(v) if v == &[1.5, 0.25, -2.0, 1.0]
    ));
    // A broken quote is still found in a `;` file.
    let e = read_str("A;B\n\"1;0\n0;1\n", "x.csv", &opts()).unwrap_err();
    assert!(format_reason(&e).1.contains("quoted field"), "{e}");
    let e = read_str("A|B|freq\n1|0|5\n0|1|4\n", "x.csv", &opts()).unwrap_err();
    assert!(format_reason(&e).1.contains("`|`"), "{e}");
}

#[test]
fn named_frequency_column_that_does_not_exist_is_refused() {
    // `--freq nosuch` used to turn the real `freq` column into an occasion.
    let o = ReadOptions {
        freq_column: Some("nosuch".into()),
        ..opts()
    };
    let e = read_str("A,B,freq\n1,0,5\n0,1,4\n1,1,3\n", "x.csv", &o).unwrap_err();
    assert!(format_reason(&e).1.contains("nosuch"), "{e}");
}

#[test]
fn one_occasion_data_is_an_error_not_an_empty_report() {
    let d = read_str("A\n1\n1\n1\n", "x.csv", &opts()).unwrap();
    let e = report::analyse(&d, &AnalysisOptions::default()).unwrap_err();
    assert!(matches!(e, Error::TooFewOccasions { got: 1, .. }), "{e}");
}

#[test]
fn counts_all_ones_do_not_quote_an_unset_t0() {
    let e = darkfigure::closed::closedp_0(&[25], None, None, 0.95).unwrap_err();
    assert!(!e.to_string().contains("t0"), "{e}");
    assert!(e.to_string().contains("once"), "{e}");
}

#[test]
fn unknown_key_in_a_simulation_study_is_refused() {
    let good = include_str!("../examples/data/grid.json");
    assert!(darkfigure::sim::Study::from_json(good).is_ok());
    let bad = good.replacen("\"replicates\"", "\"replicate\"", 1);
    assert_ne!(bad, good);
    let e = darkfigure::sim::Study::from_json(&bad).unwrap_err();
    assert!(e.to_string().contains("replicate"), "{e}");
}

#[test]
fn options_that_do_not_apply_to_the_data_are_refused_not_ignored() {
    let counts = read_str("count,sex\n1,f\n2,m\n1,m\n3,f\n", "c.csv", &opts()).unwrap();
    let hist = read_str(HARE, "hare.csv", &opts()).unwrap();
    let refused = |d: &DataSet, o: AnalysisOptions, name: &str| {
        let e = report::analyse(d, &o).unwrap_err();
        match &e {
            Error::InvalidParameter { name: n, .. } => assert_eq!(*n, name, "{e}"),
            other => panic!("expected InvalidParameter for {name}, got {other}"),
        }
    };
    let base = AnalysisOptions::default;
    // Options of capture histories on single-source counts.
    let on_counts = [
        (
            AnalysisOptions {
                model: Some("M0".into()),
                ..base()
            },
            "model",
        ),
        (
            AnalysisOptions {
                select: Some(report::Selection::Aic),
                ..base()
            },
            "select",
        ),
        (
            AnalysisOptions {
                open: true,
                ..base()
            },
            "open",
        ),
        (
            AnalysisOptions {
                open: true,
                periods: Some(vec![2, 2]),
                ..base()
            },
            "periods",
        ),
        (
            AnalysisOptions {
                bayes: true,
                ..base()
            },
            "bayes",
        ),
    ];
    for (o, name) in on_counts {
        refused(&counts, o, name);
    }
    // Options of counts on capture histories, closed or open.
    for open in [false, true] {
        let on_hist = [
            (
                AnalysisOptions {
                    by: Some("sex".into()),
                    open,
                    ..base()
                },
                "by",
            ),
            (
                AnalysisOptions {
                    t0: Some(3),
                    open,
                    ..base()
                },
                "t0",
            ),
            (
                AnalysisOptions {
                    occasions: Some(Occasions::Continuous),
                    open,
                    ..base()
                },
                "occasions",
            ),
        ];
        for (o, name) in on_hist {
            refused(&hist, o, name);
        }
    }
    // Options of closed populations on an open-population run.
    refused(
        &hist,
        AnalysisOptions {
            open: true,
            model: Some("[1,2]".into()),
            ..base()
        },
        "model",
    );
    refused(
        &hist,
        AnalysisOptions {
            open: true,
            bayes: true,
            ..base()
        },
        "bayes",
    );
    // The options that apply still run.
    assert!(
        report::analyse(
            &counts,
            &AnalysisOptions {
                t0: Some(2),
                ..base()
            }
        )
        .is_ok()
    );
    assert!(
        report::analyse(
            &hist,
            &AnalysisOptions {
                open: true,
                ..base()
            }
        )
        .is_ok()
    );
}

#[test]
fn single_source_file_without_a_count_column_is_read_as_counts() {
    // singleRcapture's netherlandsimmigrant names its counts `capture`.
    let text = include_str!("../examples/data/netherlandsimmigrant.csv");
    let d = read_str(text, "ni.csv", &opts()).unwrap();
    let DataSet::Counts { data, count_column } = &d else {
        panic!("expected counts");
    };
    assert_eq!(count_column, "capture");
    let independent: usize = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(data.observed(), independent as u64);
    let r = report::analyse(&d, &AnalysisOptions::default()).unwrap();
    assert_eq!(r.data.count_column.as_deref(), Some("capture"));
    let out = r.render(Format::Text);
    assert!(out.contains("counts in column `capture`"), "{out}");
    // An identifier (every value distinct) is not a count of captures, nor is a column
    // beside two 0/1 occasion columns.
    let ids = "respondent,weight\n1,0.5\n2,1.5\n3,2.5\n4,0.7\n";
    assert!(read_str(ids, "ids.csv", &opts()).is_err());
    let hist = "a,b,k,weight\n1,0,2,0.5\n0,1,2,1.5\n1,1,3,2.5\n1,0,2,0.7\n";
    assert!(matches!(
        read_str(hist, "h.csv", &opts()),
        Err(Error::CsvValue { .. })
    ));
}

#[test]
fn covariates_beside_occasion_columns_get_a_covariates_hint() {
    let text = "c1,c2,c3,age,weight\n1,0,1,y,12.5\n0,1,1,a,14.0\n";
    let e = read_str(text, "deermice.csv", &opts()).unwrap_err();
    let (line, reason) = format_reason(&e);
    assert_eq!(line, Some(2), "{e}");
    assert!(reason.contains("--covariates age,weight"), "{reason}");
    assert!(reason.contains("--count"), "{reason}");
}

/// A unique-object survey (one 0/1 `received_object` column and RDS weights, as
/// RDSpopsize's FSW data) points to `keypop multiplier` with its columns named; a table of
/// known population sizes (as networkreporting's) to `keypop nsum`, not to `--count`.
#[test]
fn survey_side_tables_get_a_keypop_hint() {
    let fsw = "respondent,received_object,weight\n1,0,5.06\n2,1,4.68\n3,0,1.2\n";
    let e = read_str(fsw, "fsw.csv", &opts()).unwrap_err();
    let (line, reason) = format_reason(&e);
    assert_eq!(line, Some(2), "{e}");
    assert!(
        reason.contains(
            "`keypop multiplier FILE --objects M --received received_object --weight weight`"
        ),
        "{reason}"
    );
    let known = "known_popn,size\nwidower,36147\nnurse.or.doctor,7807\n";
    let e = read_str(known, "known.csv", &opts()).unwrap_err();
    let (line, reason) = format_reason(&e);
    assert_eq!(line, Some(2), "{e}");
    assert!(
        reason.contains("known population sizes (`known_popn`, `size`)")
            && reason.contains("keypop nsum SURVEY FILE --total N")
            && !reason.contains("--count"),
        "{reason}"
    );
}

// ------------------------------------------------------------ panics, aborts

#[test]
fn long_layout_forced_on_a_file_without_id_is_an_error() {
    let o = ReadOptions {
        layout: Some(darkfigure::data::Layout::Long),
        ..opts()
    };
    let e = read_str("label,occasion\na,1\n", "x.csv", &o).unwrap_err();
    assert!(format_reason(&e).1.contains("`id`"), "{e}");
    // A name that reads as an identifier is taken as one (and said).
    let d = read_str("unit,occasion\na,1\n", "x.csv", &o).unwrap();
    assert_eq!(histories(d).observed(), 1);
}

#[test]
fn huge_numeric_options_are_bounded() {
    assert!("1000000000".parse::<Occasions>().is_err());
    assert!("100000".parse::<Occasions>().is_ok());
    let f = [1645u64, 183, 37, 13, 1, 1];
    let e = darkfigure::closed::closedp_0(&f, Some(300), Some(10_000_000), 0.95).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParameter { name: "t0", .. }),
        "{e}"
    );
    // t = 300 without t0 runs quickly (t0 capped, with a note).
    let start = Instant::now();
    let d =
        CountData::from_frequency_table(&[(1, 1645), (2, 183), (3, 37), (4, 13), (5, 1), (6, 1)])
            .unwrap();
    let r = report::analyse(
        &DataSet::Counts {
            data: d,
            count_column: "nbcap".into(),
        },
        &AnalysisOptions {
            occasions: Some(Occasions::Finite(300)),
            ..AnalysisOptions::default()
        },
    )
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    let note = format!("t0 = {}", darkfigure::closed::ZERO_T0_AUTO);
    assert!(r.render_with(Format::Text, true).contains(&note));
}

#[test]
fn period_lengths_that_overflow_are_refused() {
    let h = CaptureHistories::from_strings(&[("110", 5), ("011", 4), ("101", 3)]).unwrap();
    let e = h.collapse_periods(&[usize::MAX, 1, 3]).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
}

#[test]
fn huge_count_is_refused_not_allocated() {
    let e = CountData::new(vec![1, 2, 1_000_000_000_000]).unwrap_err();
    assert!(matches!(e, Error::InvalidData { row: Some(2), .. }), "{e}");
    let e = read_str("nbcap\n1\n1000000000000\n", "x.csv", &opts()).unwrap_err();
    assert_eq!(format_reason(&e).0, Some(3));
}

#[test]
fn unit_recorded_a_million_times_beside_a_continuous_covariate_runs_in_seconds() {
    // 2,000 distinct covariate rows and one count of 10⁶ took over 5 minutes: the table
    // of fitted frequencies ran to the largest count for every row and every model.
    let mut text = String::from("count,x\n");
    for i in 0..2000u64 {
        text.push_str(&format!(
            "{},{}\n",
            1 + i % 3,
            (i * 7919 % 2000) as f64 / 2000.0
        ));
    }
    text.push_str("1000000,0.5\n");
    let d = read_str(&text, "big.csv", &opts()).unwrap();
    let start = Instant::now();
    let r = report::analyse(&d, &AnalysisOptions::default()).unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert_eq!(r.data.observed, 2001);
}

#[test]
fn unit_recorded_thousands_of_times_runs_in_seconds() {
    // One person recorded 200 times took 517 s; 10⁴ times took 2.35 GB.
    for big in [200u64, 10_000] {
        let mut table: Vec<(u64, u64)> = vec![(1, 50), (2, 10), (3, 1)];
        table.push((big, 1));
        let d = CountData::from_frequency_table(&table).unwrap();
        let start = Instant::now();
        let r = report::analyse(
            &DataSet::Counts {
                data: d,
                count_column: "nbcap".into(),
            },
            &AnalysisOptions::default(),
        )
        .unwrap();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(10), "{big}: {took:?}");
        assert!(
            r.render_with(Format::Text, true)
                .contains("chosen automatically"),
            "{big}"
        );
    }
}

#[test]
fn interval_with_an_impossible_level_is_nan_not_a_panic() {
    let i = darkfigure::ci::log_normal(120.0, 10.0, 100.0, 2.0);
    assert!(i.lower.is_nan() && i.upper.is_nan());
    let i = darkfigure::ci::wald(120.0, 10.0, 100.0, f64::NAN);
    assert!(i.lower.is_nan() || i.upper.is_nan());
    assert!(darkfigure::ci::chi2_quantile(1.5, 3.0).is_nan());
    let b = darkfigure::ci::bootstrap::bca(1.0, &[], 0.0, 0.95);
    assert!(b.lower.is_nan());
}

#[test]
fn categorical_covariate_without_levels_is_refused() {
    let d = CountData::new(vec![1, 2]).unwrap();
    let e = d
        .clone()
        .with_covariate(
            "x",
            CovariateValues::Categorical {
                levels: vec![],
                codes: vec![0, 0],
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }), "{e}");
    let e = d
        .with_covariate(
            "x",
            CovariateValues::Categorical {
                levels: vec!["a".into()],
                codes: vec![0, 3],
            },
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidData { row: Some(1), .. }), "{e}");
}

#[test]
fn deserialised_data_go_through_the_validating_constructors() {
    let bad_counts = r#"{"counts":[0,2],"freq":[1,1],"covariates":[]}"#;
    assert!(serde_json::from_str::<CountData>(bad_counts).is_err());
    let bad_cov = r#"{"counts":[1,2],"freq":[1,1],"covariates":[{"name":"x","values":{"Categorical":{"levels":[],"codes":[0,0]}}}]}"#;
    assert!(serde_json::from_str::<CountData>(bad_cov).is_err());
    let good = CountData::new(vec![1, 2, 2]).unwrap();
    let back: CountData = serde_json::from_str(&serde_json::to_string(&good).unwrap()).unwrap();
    assert_eq!(back, good);

    let h = CaptureHistories::from_strings(&[("11", 3), ("10", 2)])
        .unwrap()
        .with_strata(&["a", "b"])
        .unwrap();
    let json = serde_json::to_string(&h).unwrap();
    let back: CaptureHistories = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h);
    let never_seen = json.replace("\"histories\":[3,1]", "\"histories\":[3,0]");
    assert_ne!(never_seen, json);
    assert!(serde_json::from_str::<CaptureHistories>(&never_seen).is_err());
    let bad_stratum = json.replace("\"codes\":[0,1]", "\"codes\":[0,7]");
    assert_ne!(bad_stratum, json);
    assert!(serde_json::from_str::<CaptureHistories>(&bad_stratum).is_err());
}

// ------------------------------------------------- runaway bootstrap replicates

#[test]
fn runaway_bootstrap_replicates_are_reported_not_averaged() {
    use darkfigure::counts::{self, BootType, Bootstrap, CountModel, Family};
    let text = include_str!("fixtures/counts/netherlandsimmigrant.csv");
    let o = ReadOptions {
        count_column: Some("capture".into()),
        ..opts()
    };
    let d = csv_io::read_counts_str(text, "netherlandsimmigrant", &o).unwrap();
    let fit = CountModel::params(Family::ZtPoisson)
        .covariates(&["gender", "age", "nation"])
        .fit(&d)
        .unwrap();
    let b = counts::bootstrap(&fit, &Bootstrap::new(BootType::NonParametric, 200, 7)).unwrap();
    let limit = counts::RUNAWAY_FACTOR * 1880.0;
    let independent = b.replicates.iter().filter(|&&v| v > limit).count();
    assert_eq!(b.runaway, independent);
    assert!(b.runaway > 0, "expected runaway replicates");
    assert!(b.lost_share() > counts::MAX_RUNAWAY_SHARE);
    assert!(b.estimate.se.is_nan());
    assert!(b.estimate.interval.lower.is_nan() && b.estimate.interval.upper.is_nan());
    assert!(
        b.estimate
            .warnings
            .iter()
            .any(|w| w.to_string().contains("not available")),
        "{:?}",
        b.estimate.warnings
    );
    // The intercept-only model has no runaway replicate: its interval stays.
    let fit0 = CountModel::params(Family::ZtPoisson).fit(&d).unwrap();
    let b0 = counts::bootstrap(&fit0, &Bootstrap::new(BootType::NonParametric, 200, 7)).unwrap();
    assert_eq!(b0.runaway, 0);
    assert!(b0.estimate.se.is_finite() && b0.estimate.interval.lower.is_finite());
}

#[test]
fn read_csv_at_the_crate_root_detects_everything() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/seber1982_t2.csv"
    );
    let d = darkfigure::read_csv(path).unwrap();
    // Seber (1982): 167 + 781 + 254 units seen.
    assert_eq!(histories(d).observed(), 1202);
}

#[test]
fn large_t0_on_counts_runs_in_seconds() {
    // `--t0 1000` on the Dutch immigrants ran for minutes.
    let d =
        CountData::from_frequency_table(&[(1, 1645), (2, 183), (3, 37), (4, 13), (5, 1), (6, 1)])
            .unwrap();
    for (t, t0) in [(None, 1000), (Some(Occasions::Finite(300)), 1000)] {
        let start = Instant::now();
        let r = report::analyse(
            &DataSet::Counts {
                data: d.clone(),
                count_column: "nbcap".into(),
            },
            &AnalysisOptions {
                occasions: t,
                t0: Some(t0),
                ..AnalysisOptions::default()
            },
        )
        .unwrap();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(10), "{t:?}, t0 {t0}: {took:?}");
        assert!(!r.headline.is_empty());
    }
}

#[test]
fn runaway_simulation_replicates_are_counted_and_reported() {
    use darkfigure::estimate::{Estimate, Interval, IntervalMethod};
    use darkfigure::sim::{self, DataFn, RunOptions, SimData, SimEstimator, Study};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let study = Study::from_json(
        r#"{"name": "runaway", "replicates": 60, "seed": 3, "scenarios": [{"name": "M0",
            "model": {"kind": "closed", "occasions": 3, "strata": [{"n": 400, "p": 0.3}]}}]}"#,
    )
    .unwrap();
    // An estimator that runs away (N̂ = 10¹²) on every data set whose n is a multiple of 3.
    let wild = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&wild);
    let est = move |d: &SimData| -> Vec<(String, darkfigure::Result<Estimate>)> {
        let n = d.histories().unwrap().observed();
        let n_hat = if n.is_multiple_of(3) {
            counter.fetch_add(1, Ordering::Relaxed);
            1e12
        } else {
            n as f64 * 1.2
        };
        let i = Interval {
            lower: n as f64,
            upper: n_hat * 2.0,
            level: 0.95,
            method: IntervalMethod::Wald,
        };
        vec![(
            "wild".into(),
            Ok(Estimate::new("test", "wild", n_hat, 1.0, i, n)),
        )]
    };
    let e: Vec<Box<dyn SimEstimator>> = vec![Box::new(DataFn::new("wild", est))];
    let table = sim::run(&study, &e, &RunOptions::default())
        .unwrap()
        .metrics();
    let row = table.row("M0", "all", "wild").unwrap();
    let ran_away = wild.load(Ordering::Relaxed);
    assert!(ran_away > 0 && ran_away < 60, "{ran_away}");
    assert!((row.runaway_share - ran_away as f64 / 60.0).abs() < 1e-12);
    let text = darkfigure::sim::report::to_text(&table);
    assert!(text.contains("ran away"), "{text}");
}

/// The known-size file (`--truth`) goes through the shared reader: semicolons, comment
/// lines, and errors at the file's true line.
#[test]
fn truth_file_is_read_like_the_data() {
    let t = report::truth_from_csv("# sizes\nstratum;N\nbuyer;420\n", "t.csv", true).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].n, 420);
    let e = report::truth_from_csv("# sizes\nstratum,N\nbuyer,420\nseller,x\n", "t.csv", true)
        .unwrap_err();
    let (line, _) = format_reason(&e);
    assert_eq!(line, Some(4), "{e}");
}
