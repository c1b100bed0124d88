//! Bad input: every malformed CSV gets an error that names the file, the line, the
//! column and the value, never a panic or a NaN.

use darkfigure::Error;
use darkfigure::data::csv_io::{ReadOptions, read_str};
use darkfigure::data::{DataSet, Layout};

fn err(text: &str) -> Error {
    read_str(text, "ops.csv", &ReadOptions::default()).expect_err("input must be refused")
}

fn assert_value_error(e: &Error, line: usize, column: &str, value: &str) {
    match e {
        Error::CsvValue { at, value: v, .. } => {
            assert_eq!(at.file, "ops.csv");
            assert_eq!(at.line, Some(line), "{e}");
            assert_eq!(at.column.as_deref(), Some(column), "{e}");
            assert_eq!(v, value, "{e}");
        }
        other => panic!("expected a value error, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("ops.csv") && msg.contains(&format!("line {line}")),
        "{msg}"
    );
}

#[test]
fn value_not_zero_or_one() {
    let e = err("op1,op2,op3\n1,0,1\n0,1,x\n");
    assert_value_error(&e, 3, "op3", "x");
    assert!(e.to_string().contains("0 or 1"));
    // An empty cell: say what to write.
    let e = err("op1,op2,op3\n1,0,1\n0,1,\n");
    assert_value_error(&e, 3, "op3", "");
    assert!(e.to_string().contains("not an empty cell (write 0"), "{e}");
}

#[test]
fn true_false_are_captures() {
    // R's write.csv writes logical columns as TRUE/FALSE.
    let ones = "op1,op2,op3\n1,0,1\n0,1,1\n1,1,0\n1,0,0\n";
    let words = "op1,op2,op3\nTRUE,FALSE,TRUE\nfalse,true,True\nTRUE,TRUE,FALSE\n1,0,0\n";
    let a = read_str(ones, "ops.csv", &ReadOptions::default()).unwrap();
    let b = read_str(words, "ops.csv", &ReadOptions::default()).unwrap();
    assert_eq!(b.layout(), Layout::Wide);
    assert_eq!(histories_of(a), histories_of(b));
    // yes/no is an attribute more often than a list: refused, not read as an occasion.
    let e = err("op1,op2,minor\n1,0,no\n0,1,yes\n");
    assert_value_error(&e, 2, "minor", "no");
}

/// A 0/1 column named like a trait of the units (`female`, `is_minor`, `AgeGroup`) beside
/// the occasions of a wide file used to become one more occasion (a true 300 estimated at
/// 191, interval 188 to 203); it is refused with the options that use it, and each
/// option takes it out of the occasions.
#[test]
fn a_trait_column_in_a_wide_file_is_not_an_occasion() {
    let text = "op1,op2,op3,female\n1,0,1,1\n0,1,1,0\n1,1,0,0\n1,0,0,1\n0,0,1,1\n";
    let e = err(text);
    match &e {
        Error::CsvFormat { at, reason } => {
            assert_eq!(at.column.as_deref(), Some("female"), "{e}");
            for hint in [
                "--subgroup female",
                "--stratum female",
                "--covariates female",
            ] {
                assert!(reason.contains(hint), "{reason}");
            }
        }
        other => panic!("{other:?}"),
    }
    for name in [
        "is_minor",
        "AgeGroup",
        "Sex",
        "nationality",
        "gang_member",
        "HIV_status",
        "is_homeless",
    ] {
        let t = text.replace("female", name);
        assert!(
            read_str(&t, "ops.csv", &ReadOptions::default()).is_err(),
            "{name} read as an occasion"
        );
    }
    // Lists named after the people they hold, or anything else, are still lists.
    for name in [
        "op4",
        "female_list",
        "shelter",
        "police",
        "status",
        "hiv_clinic",
    ] {
        let t = text.replace("female", name);
        let h = histories_of(read_str(&t, "ops.csv", &ReadOptions::default()).unwrap());
        assert_eq!(h.occasions(), 4, "{name}");
    }
    // A subgroup or a stratum is not an occasion.
    let sub = ReadOptions {
        subgroup_column: Some("female".into()),
        ..ReadOptions::default()
    };
    let h = histories_of(read_str(text, "ops.csv", &sub).unwrap());
    assert_eq!(h.occasions(), 3);
    assert_eq!(h.observed(), 5);
    let strat = ReadOptions {
        stratum_column: Some("female".into()),
        ..ReadOptions::default()
    };
    let h = histories_of(read_str(text, "ops.csv", &strat).unwrap());
    assert_eq!(h.occasions(), 3);
    // A trait column holding other values than 0/1 keeps the covariate hint.
    let e = err("op1,op2,sex\n1,0,m\n0,1,f\n");
    assert_value_error(&e, 2, "sex", "m");
}

#[test]
fn wrong_column_count() {
    let e = err("op1,op2,op3\n1,0,1\n0,1\n");
    match &e {
        Error::CsvFormat { at, reason } => {
            assert_eq!(at.line, Some(3));
            assert!(
                reason.contains("2 fields") && reason.contains("has 3"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn negative_frequency() {
    let e = err("op1,op2,freq\n1,0,4\n1,1,-2\n");
    assert_value_error(&e, 3, "freq", "-2");
    assert!(e.to_string().contains("non-negative whole number"));
}

#[test]
fn fractional_frequency() {
    let e = err("op1,op2,freq\n1,0,2.5\n");
    assert_value_error(&e, 2, "freq", "2.5");
}

#[test]
fn empty_file() {
    for text in ["", "\n"] {
        match err(text) {
            Error::CsvFormat { at, reason } => {
                assert_eq!(at.file, "ops.csv");
                assert!(reason.contains("empty"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn header_without_data_rows() {
    match err("op1,op2\n") {
        Error::CsvFormat { reason, .. } => assert!(reason.contains("no data rows"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn header_with_no_occasion_columns() {
    match err("id,stratum,freq\na,buyer,1\n") {
        Error::CsvFormat { at, reason } => {
            assert_eq!(at.line, Some(1));
            assert!(reason.contains("no occasion columns"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn more_than_64_occasions() {
    let header: Vec<String> = (1..=65).map(|j| format!("op{j}")).collect();
    let row: Vec<&str> = (1..=65).map(|j| if j == 1 { "1" } else { "0" }).collect();
    let text = format!("{}\n{}\n", header.join(","), row.join(","));
    match err(&text) {
        Error::CsvFormat { reason, .. } => {
            assert!(reason.contains("65 occasion columns"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Long layout: an occasion number above 64.
    let e = err("id,occasion\na,1\nb,65\n");
    assert_value_error(&e, 3, "occasion", "65");
}

#[test]
fn never_seen_unit_with_positive_frequency() {
    let e = err("op1,op2,freq\n1,1,3\n0,0,5\n");
    assert_value_error(&e, 3, "freq", "5");
    assert!(e.to_string().contains("never seen"), "{e}");
    // One row per unit: a row of zeros is a unit that was never seen.
    let e = err("op1,op2\n1,1\n0,0\n");
    assert!(matches!(e, Error::CsvValue { .. }), "{e:?}");
    // Aggregated layout.
    let e = err("history,freq\n011,2\n000,1\n");
    assert_value_error(&e, 3, "history", "000");
    // A zero frequency on the never-seen row is harmless.
    assert!(
        read_str(
            "op1,op2,freq\n1,1,3\n0,0,0\n",
            "ops.csv",
            &ReadOptions::default()
        )
        .is_ok()
    );
}

#[test]
fn aggregated_history_of_wrong_length_or_characters() {
    let e = err("history,freq\n0110,2\n011,1\n");
    assert_value_error(&e, 3, "history", "011");
    let e = err("history,freq\n0110,2\n01x0,1\n");
    assert_value_error(&e, 3, "history", "01x0");
}

#[test]
fn long_layout_inconsistent_stratum() {
    let e = err("id,occasion,stratum\nB1,1,buyer\nB1,3,seller\n");
    assert_value_error(&e, 3, "stratum", "seller");
}

#[test]
fn counts_zero_and_bad_values() {
    let e = err("count,age\n1,30\n0,41\n");
    assert_value_error(&e, 3, "count", "0");
    let e = err("count,age\n1,30\n2.5,41\n");
    assert_value_error(&e, 3, "count", "2.5");
    let e = err("count,age\n1,30\n2,\n");
    assert_value_error(&e, 3, "age", "");
}

#[test]
fn duplicate_column() {
    assert!(matches!(err("op1,op1\n1,0\n"), Error::CsvFormat { .. }));
}

/// Two exports joined with `cat` leave the second header among the rows, where it read
/// as a unit `id` seen on an occasion `occasion` in a stratum `stratum`.
#[test]
fn a_repeated_header_row_is_refused() {
    for text in [
        "id,occasion,stratum\na,1,x\nb,2,x\nid,occasion,stratum\nc,1,y\n",
        "op1,op2\n1,0\n0,1\nOP1, op2\n1,1\n",
    ] {
        match err(text) {
            Error::CsvFormat { at, reason } => {
                assert_eq!(at.line, Some(4), "{reason}");
                assert!(reason.contains("repeats the header"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn layouts_are_detected() {
    let cases = [
        ("op1,op2,op3\n1,0,1\n0,1,1\n", Layout::Wide),
        ("A,B,count\n1,0,54\n0,1,10\n1,1,3\n", Layout::Wide),
        (
            "id,occasion,stratum\nB1,1,buyer\nB1,3,buyer\nS4,2,seller\n",
            Layout::Long,
        ),
        ("history,freq\n0110,2\n1000,5\n", Layout::Aggregated),
        ("count,sex\n1,m\n3,f\n", Layout::Counts),
        ("nbcap,freq\n1,1645\n2,183\n", Layout::Counts),
    ];
    for (text, want) in cases {
        let d = read_str(text, "x.csv", &ReadOptions::default()).unwrap();
        assert_eq!(d.layout(), want, "{text}");
    }
    let d = read_str(
        "A,B,count\n1,0,54\n0,1,10\n1,1,3\n",
        "x.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    match d {
        DataSet::Histories { data, .. } => {
            assert_eq!(data.observed(), 67);
            assert_eq!(data.occasion_names(), &["A".to_string(), "B".to_string()]);
        }
        _ => panic!(),
    }
}

/// A table of published estimates with interval limits (triangulator's input, Okal et
/// al.'s Nairobi figures) points to `keypop triangulate`, not to `--count`.
#[test]
fn estimates_table_points_to_triangulate() {
    for text in [
        "name,estimate,lower95,upper95,design_confidence_pct\n3S-CRC,2000,1000,3000,90\n\
         Service Multiplier,1000,250,2500,20\n",
        "population,point_estimate,lower_plausible,upper_plausible\nMSM,11042,10000,22222\n",
    ] {
        let msg = err(text).to_string();
        assert!(msg.contains("keypop triangulate FILE"), "{msg}");
        assert!(!msg.contains("--count"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }
}

/// A survey of respondents (many numeric answers per row, a `cluster` column of small
/// whole numbers) is not read as single-source counts with `cluster` as the count: the
/// error points to the `keypop` example.
#[test]
fn survey_file_is_not_counts_by_its_cluster_column() {
    let text = "id,cluster,region,widower,nurse,teacher,priest,judge\n\
                1.1.1,1,Kigali,3,2,1,5,0\n\
                1.1.2,1,Kigali,0,2,4,5,0\n\
                1.2.1,2,Kigali,1,0,0,2,2\n\
                1.2.2,2,Kigali,2,1,0,1,0\n";
    let e = err(text);
    let msg = e.to_string();
    assert!(msg.contains("keypop nsum"), "{msg}");
    assert!(!msg.contains("`cluster`"), "{msg}");
    // a grouping column beside a real count column is still a covariate
    let d = read_str(
        "count,cluster\n1,1\n3,1\n2,2\n1,2\n",
        "x.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(d.layout(), Layout::Counts);
}

// ------------------------------------------------- columns under other names

fn histories_of(d: DataSet) -> darkfigure::data::CaptureHistories {
    match d {
        DataSet::Histories { data, .. } => data,
        DataSet::Counts { .. } => panic!("expected histories"),
    }
}

fn notes_of(d: &DataSet) -> Vec<String> {
    match d {
        DataSet::Histories { notes, .. } => notes.clone(),
        DataSet::Counts { .. } => Vec::new(),
    }
}

#[test]
fn long_register_under_other_column_names_is_read_and_said() {
    // `person_id` and `operation` used to be read as a counts table (`operation` the count).
    let text = "person_id,operation\n1,1\n2,1\n1,2\n3,2\n4,2\n4,1\n";
    let d = read_str(text, "ops.csv", &ReadOptions::default()).unwrap();
    assert_eq!(d.layout(), Layout::Long);
    assert_eq!(
        notes_of(&d),
        [
            "read `person_id` as the unit identifier and `operation` as the occasion of each \
          record (name the columns with --id and --occasion to change this)"
        ]
    );
    let h = histories_of(d);
    assert_eq!((h.observed(), h.occasions()), (4, 2));
    // A count column named by the user keeps the counts layout: nothing is guessed.
    let counts = ReadOptions {
        count_column: Some("operation".into()),
        ..ReadOptions::default()
    };
    assert_eq!(
        read_str(text, "ops.csv", &counts).unwrap().layout(),
        Layout::Counts
    );
    // Camel case too.
    let text = "CaseID,SurveyWave\na,1\nb,1\na,2\n";
    let d = read_str(text, "ops.csv", &ReadOptions::default()).unwrap();
    assert_eq!(d.layout(), Layout::Long);
    assert_eq!(histories_of(d).observed(), 2);
}

#[test]
fn one_row_per_unit_beside_a_year_column_is_not_a_register() {
    // Unique identifiers: `year` is a covariate of single-source counts, not an occasion.
    let text = "id,count,year\n1,1,2019\n2,3,2020\n3,1,2019\n4,2,2020\n";
    let d = read_str(text, "ops.csv", &ReadOptions::default()).unwrap();
    assert_eq!(d.layout(), Layout::Counts);
}

#[test]
fn id_occasion_and_stratum_columns_can_be_named() {
    let text = "who,when,role,note\n1,1,buyer,x\n2,1,seller,y\n1,2,buyer,z\n3,2,seller,\n5,1,seller,\n5,2,seller,\n";
    let opts = ReadOptions {
        id_column: Some("who".into()),
        occasion_column: Some("WHEN".into()),
        stratum_column: Some("role".into()),
        ..ReadOptions::default()
    };
    let d = read_str(text, "ops.csv", &opts).unwrap();
    assert_eq!(d.layout(), Layout::Long);
    assert_eq!(notes_of(&d), ["column `note` is not used"]);
    let h = histories_of(d);
    assert_eq!(h.observed(), 4);
    assert_eq!(h.strata().unwrap().names, ["buyer", "seller"]);
    // Without --stratum the unused columns are named, with the option that would use them.
    let opts = ReadOptions {
        id_column: Some("who".into()),
        occasion_column: Some("when".into()),
        ..ReadOptions::default()
    };
    let d = read_str(text, "ops.csv", &opts).unwrap();
    assert_eq!(
        notes_of(&d),
        ["columns `role`, `note` are not used (--stratum role would give estimates by its values)"]
    );
    // A yes/no column points to --subgroup, unless it is the subgroup's column.
    let marked = "id,occasion,minor\n1,1,0\n2,1,1\n1,2,0\n";
    let d = read_str(marked, "ops.csv", &ReadOptions::default()).unwrap();
    assert_eq!(
        notes_of(&d),
        [
            "column `minor` is not used (--subgroup minor would add estimates for the units it marks)"
        ]
    );
    let opts = ReadOptions {
        subgroup_column: Some("minor".into()),
        ..ReadOptions::default()
    };
    assert!(notes_of(&read_str(marked, "ops.csv", &opts).unwrap()).is_empty());
    // A column named that is not in the file.
    let opts = ReadOptions {
        id_column: Some("nosuch".into()),
        ..ReadOptions::default()
    };
    let e = read_str(text, "ops.csv", &opts).unwrap_err();
    assert!(
        e.to_string().contains(
            "no column named `nosuch` for the id (id_column; the columns are who, when, role, note)"
        ),
        "{e}"
    );
    // One column in two roles.
    let opts = ReadOptions {
        id_column: Some("who".into()),
        occasion_column: Some("who".into()),
        ..ReadOptions::default()
    };
    assert!(read_str(text, "ops.csv", &opts).is_err());
}

#[test]
fn histories_that_lost_their_leading_zeros_are_refused_with_the_reason() {
    // A spreadsheet read `0101` as the number 101.
    let e = err("history,freq\n101,3\n1100,2\n11,4\n1111,1\n1,5\n");
    assert_value_error(&e, 2, "history", "101");
    assert!(e.to_string().contains("drops leading zeros"), "{e}");
    // One history too long among many of 4: the odd one is named, by the common length.
    let e = err("history,freq\n0101,3\n1100,2\n00111,4\n1111,1\n0001,5\n");
    assert_value_error(&e, 4, "history", "00111");
    assert!(e.to_string().contains("expected 4"), "{e}");
}

/// Two list extracts stacked in one wide file, one row per list entry: the rows of one
/// identifier are one unit (they used to count as two, raising N̂), and the note says so.
#[test]
fn wide_rows_sharing_an_identifier_are_one_unit() {
    let stacked = "id,A,B\na,1,0\nb,1,0\nc,1,0\na,0,1\nd,0,1\nc,0,1\n";
    let merged = "id,A,B\na,1,1\nb,1,0\nc,1,1\nd,0,1\n";
    let d = read_str(stacked, "ops.csv", &ReadOptions::default()).unwrap();
    let notes = notes_of(&d);
    assert!(
        notes.iter().any(|n| n.contains(
            "identifier `a` is on more than one row (lines 2 and 5), as are 1 other identifier"
        ) && n.contains("4 rows into 2 units")),
        "{notes:?}"
    );
    let DataSet::Histories { file_rows, .. } = &d else {
        panic!("histories")
    };
    assert_eq!(*file_rows, Some(6));
    let m = read_str(merged, "ops.csv", &ReadOptions::default()).unwrap();
    let (a, b) = (histories_of(d), histories_of(m));
    assert_eq!(a.observed(), 4);
    assert_eq!(a.cell_counts().unwrap(), b.cell_counts().unwrap());
    // With a frequency column each row counts units: a repeat cannot be merged.
    let e = err("id,A,B,freq\na,1,0,1\na,0,1,1\n");
    assert_value_error(&e, 3, "id", "a");
    // Rows of one identifier in two strata contradict each other.
    let e = err("id,A,B,stratum\na,1,0,x\nb,1,1,x\na,0,1,y\n");
    assert_value_error(&e, 4, "stratum", "y");
}

/// Matching slips a reader should see: identifiers that differ only in case (counted as
/// two units), and a unit recorded twice on one occasion (counted once).
#[test]
fn identifier_slips_are_noted() {
    let d = read_str(
        "id,occasion\nA12,1\na12,2\nb,1\nb,2\nb,2\nc,2\n",
        "ops.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    let notes = notes_of(&d).join("\n");
    assert!(
        notes.contains("identifiers `A12` and `a12` differ only in upper and lower case"),
        "{notes}"
    );
    assert!(
        notes.contains("1 record repeats an identifier on the same occasion (first: `b` on `2`, line 6) and counts once"),
        "{notes}"
    );
    let h = histories_of(d);
    assert_eq!(h.observed(), 4);
    let d = read_str("id,A,B\nx,1,0\nX,0,1\n", "ops.csv", &ReadOptions::default()).unwrap();
    assert!(notes_of(&d).iter().any(|n| n.contains("`x` and `X`")));
    // Nothing to say about clean identifiers.
    let d = read_str(
        "id,occasion\na,1\nb,1\na,2\n",
        "ops.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    assert!(notes_of(&d).is_empty(), "{:?}", notes_of(&d));
}

/// Per unit in file order: (identifier, stratum, history code).
fn units_by_stratum(d: DataSet) -> Vec<(String, String, u64)> {
    let h = histories_of(d);
    let st = h.strata().expect("strata");
    let ids = h.ids().expect("ids");
    (0..ids.len())
        .map(|i| {
            (
                ids[i].clone(),
                st.names[st.codes[i] as usize].clone(),
                h.histories()[i],
            )
        })
        .collect()
}

#[test]
fn a_unit_in_two_strata_is_refused_or_placed_by_its_first_or_last_occasion() {
    use darkfigure::data::UnitStratum;
    // `a` is arrested as a buyer on operations 1 and 3 and supported as a seller on 2
    // (rows out of time order); `b` only ever a seller; `c` seller, later buyer.
    let text = "id,occasion,stratum\na,3,buyer\na,2,seller\nb,1,seller\na,1,buyer\nc,1,seller\nc,3,buyer\n";
    let e = err(text);
    assert_value_error(&e, 3, "stratum", "seller");
    assert!(
        e.to_string().contains("--unit-stratum first or last"),
        "{e}"
    );
    let read = |rule| {
        let o = ReadOptions {
            unit_stratum: rule,
            ..Default::default()
        };
        read_str(text, "ops.csv", &o).unwrap()
    };
    let first = read(UnitStratum::First);
    let note = notes_of(&first).join("\n");
    assert!(
        note.contains("2 units recorded in more than one stratum are counted in the stratum of their first occasion")
            && note.contains("first: `a`, recorded as `buyer` and `seller`, counted as `buyer`"),
        "{note}"
    );
    // every capture stays with the unit; strata keep the order of the file
    let strata_of = |d: DataSet| {
        let h = histories_of(d.clone());
        let names = h.strata().unwrap().names.clone();
        (names, units_by_stratum(d))
    };
    let (names, units) = strata_of(first);
    assert_eq!(names, ["buyer", "seller"]);
    let s = |x: &str| x.to_string();
    assert_eq!(
        units,
        [
            (s("a"), s("buyer"), 0b111),
            (s("b"), s("seller"), 0b001),
            (s("c"), s("seller"), 0b101)
        ]
    );
    let (names, units) = strata_of(read(UnitStratum::Last));
    assert_eq!(names, ["buyer", "seller"]);
    assert_eq!(
        units.iter().map(|u| u.1.as_str()).collect::<Vec<_>>(),
        ["buyer", "seller", "buyer"]
    );
    // two strata on the occasion the rule goes by: no choice, refused at the second row
    let tie = "id,occasion,stratum\na,1,buyer\na,1,seller\na,2,buyer\n";
    let o = ReadOptions {
        unit_stratum: UnitStratum::First,
        ..Default::default()
    };
    let e = read_str(tie, "ops.csv", &o).unwrap_err();
    assert_value_error(&e, 3, "stratum", "seller");
    assert!(
        e.to_string()
            .contains("is in two strata on its first occasion `1`"),
        "{e}"
    );
    let o = ReadOptions {
        unit_stratum: UnitStratum::Last,
        ..Default::default()
    };
    let d = read_str(tie, "ops.csv", &o).unwrap();
    assert_eq!(units_by_stratum(d)[0].1, "buyer");
    // a unit whose strata agree says nothing
    let d = read_str("id,occasion,stratum\na,1,x\na,2,x\n", "ops.csv", &o).unwrap();
    assert!(notes_of(&d).is_empty(), "{:?}", notes_of(&d));
}

#[test]
fn wide_rows_of_one_unit_in_two_strata_follow_the_same_rule() {
    use darkfigure::data::UnitStratum;
    // `x` on A as a buyer, on B and C as a seller (stacked extracts)
    let text = "id,A,B,C,stratum\nx,1,0,0,buyer\ny,1,1,0,seller\nx,0,1,1,seller\n";
    let e = err(text);
    assert_value_error(&e, 4, "stratum", "seller");
    for (rule, want) in [(UnitStratum::First, "buyer"), (UnitStratum::Last, "seller")] {
        let o = ReadOptions {
            unit_stratum: rule,
            ..Default::default()
        };
        let units = units_by_stratum(read_str(text, "ops.csv", &o).unwrap());
        assert_eq!(units[0], ("x".into(), want.into(), 0b111), "{rule:?}");
        assert_eq!(units.len(), 2);
    }
}

#[test]
fn under_each_a_unit_in_two_strata_is_a_unit_of_each_with_the_captures_recorded_there() {
    use darkfigure::data::UnitStratum;
    let each = ReadOptions {
        unit_stratum: UnitStratum::Each,
        ..Default::default()
    };
    let s = |x: &str| x.to_string();
    // long: `a` a buyer on 1 and 3, a seller on 2; `c` a seller on 1, a buyer on 3
    let long = "id,occasion,stratum\na,3,buyer\na,2,seller\nb,1,seller\na,1,buyer\nc,1,seller\nc,3,buyer\n";
    let d = read_str(long, "ops.csv", &each).unwrap();
    let note = notes_of(&d).join("\n");
    assert!(
        note.contains("2 units recorded in more than one stratum are counted in each, with the captures recorded there")
            && note.contains("first: `a`, in `buyer` and `seller`"),
        "{note}"
    );
    let mut units = units_by_stratum(d);
    units.sort();
    assert_eq!(
        units,
        [
            (s("a"), s("buyer"), 0b101),
            (s("a"), s("seller"), 0b010),
            (s("b"), s("seller"), 0b001),
            (s("c"), s("buyer"), 0b100),
            (s("c"), s("seller"), 0b001),
        ]
    );
    // wide, the same people as stacked extracts: the same units
    let wide = "id,1,2,3,stratum\na,1,0,1,buyer\nb,1,0,0,seller\na,0,1,0,seller\nc,1,0,0,seller\nc,0,0,1,buyer\n";
    let mut w = units_by_stratum(read_str(wide, "ops.csv", &each).unwrap());
    w.sort();
    assert_eq!(w, units);
    // rows of one identifier in one stratum are still merged into one unit
    let stacked = "id,1,2,3,stratum\na,1,0,0,buyer\na,0,0,1,buyer\na,0,1,0,seller\n";
    let mut w = units_by_stratum(read_str(stacked, "ops.csv", &each).unwrap());
    w.sort();
    assert_eq!(
        w,
        [(s("a"), s("buyer"), 0b101), (s("a"), s("seller"), 0b010)]
    );
    // every unit in one stratum: no note, and the same units as by default
    let one = "id,occasion,stratum\na,1,x\na,2,x\nb,2,y\n";
    let d = read_str(one, "ops.csv", &each).unwrap();
    assert!(notes_of(&d).is_empty(), "{:?}", notes_of(&d));
    assert_eq!(
        units_by_stratum(d),
        units_by_stratum(read_str(one, "ops.csv", &ReadOptions::default()).unwrap())
    );
    // the refusal names the option
    assert!(err(long).to_string().contains("--unit-stratum each"));
    assert_eq!("each".parse::<UnitStratum>().unwrap(), UnitStratum::Each);
}

#[test]
fn repeated_records_are_counted_on_the_occasion_not_the_label() {
    // `1` and `01` are one occasion: the second record of `a` on it is a repeat
    let d = read_str(
        "id,occasion\na,1\na,01\nb,2\n",
        "ops.csv",
        &ReadOptions::default(),
    )
    .unwrap();
    let notes = notes_of(&d).join("\n");
    assert!(
        notes.contains(
            "1 record repeats an identifier on the same occasion (first: `a` on `01`, line 3)"
        ),
        "{notes}"
    );
}

#[test]
fn dated_records_are_grouped_into_periods_or_refused_with_the_periods_that_fit() {
    use darkfigure::data::csv_io::OccasionPeriod;
    // 70 days of a register: one date an occasion is too many
    let mut text = String::from("id,occasion\n");
    for d in 0..70 {
        let (m, day) = match d {
            0..31 => (1, d + 1),
            31..60 => (2, d - 30),
            _ => (3, d - 59),
        };
        text += &format!(
            "p{},2024-{m:02}-{day:02}\np{},2024-{m:02}-{day:02}\n",
            d % 9,
            d % 13
        );
    }
    let e = err(&text);
    let msg = e.to_string();
    assert!(
        msg.contains("70 distinct dates (2024-01-01 to 2024-03-10): at most 64 occasions")
            && msg.contains("--occasion-period: week (10 occasions), month (3 occasions)")
            && !msg.contains("year ("),
        "{msg}"
    );
    let read = |p: OccasionPeriod, text: &str| {
        let o = ReadOptions {
            occasion_period: Some(p),
            ..Default::default()
        };
        read_str(text, "ops.csv", &o)
    };
    let d = read(OccasionPeriod::Month, &text).unwrap();
    let notes = notes_of(&d).join("\n");
    assert!(
        notes.contains(
            "dates grouped by month: 70 distinct dates into 3 occasions (2024-01 to 2024-03)"
        ),
        "{notes}"
    );
    assert!(!notes.contains("repeat"), "{notes}");
    let h = histories_of(d);
    assert_eq!(h.occasion_names(), ["2024-01", "2024-02", "2024-03"]);
    // every unit was recorded in January: each one is seen on the first occasion
    assert_eq!(h.observed(), 13);
    assert!(h.histories().iter().all(|&c| c & 1 == 1));
    // against an independent count: units seen in February
    let feb: std::collections::BTreeSet<usize> = (31..60).flat_map(|d| [d % 9, d % 13]).collect();
    let on_feb = h.histories().iter().filter(|&&c| c & 2 == 2).count();
    assert_eq!(on_feb, feb.len());
    // weeks: ISO weeks of 2024 (Monday 1 January is in week 1)
    let h = histories_of(read(OccasionPeriod::Week, &text).unwrap());
    assert_eq!(h.occasions(), 10);
    assert_eq!(h.occasion_names()[0], "2024-W01");
    // numbers and labels are not dates
    let e = read(OccasionPeriod::Month, "id,occasion\na,1\nb,2\n").unwrap_err();
    assert_value_error(&e, 2, "occasion", "1");
    let e = read(
        OccasionPeriod::Week,
        "id,occasion\na,2024-03-01\nb,spring\n",
    )
    .unwrap_err();
    assert_value_error(&e, 3, "occasion", "spring");
    // a month-only label has no week
    let e = read(
        OccasionPeriod::Week,
        "id,occasion\na,2024-03-01\nb,2024-04\n",
    )
    .unwrap_err();
    assert_value_error(&e, 3, "occasion", "2024-04");
    // beside an explicit order: one or the other
    let o = ReadOptions {
        occasion_period: Some(OccasionPeriod::Month),
        occasion_order: Some(vec!["2024-03-01".into()]),
        ..Default::default()
    };
    assert!(read_str("id,occasion\na,2024-03-01\n", "ops.csv", &o).is_err());
}

#[test]
fn a_blank_stratum_is_refused_at_its_line_in_every_layout() {
    // A row with no stratum would form a stratum named "" (printed as `==  ==`).
    let wide = "c1,c2,stratum\n1,0,a\n0,1,\n1,1,b\n1,0,\n";
    let e = err(wide);
    assert_value_error(&e, 3, "stratum", "");
    assert!(e.to_string().contains("2 rows have none"), "{e}");
    let long = "id,occasion,stratum\nA,1,x\nA,2,x\nB,1, \n";
    assert_value_error(&err(long), 4, "stratum", "");
    let aggregated = "history,freq,stratum\n10,3,x\n01,2,\n";
    let e = err(aggregated);
    assert_value_error(&e, 3, "stratum", "");
    assert!(e.to_string().contains("1 row has none"), "{e}");
    // and with covariates
    let e = darkfigure::data::read_covariate_histories_str(
        "c1,c2,sex,stratum\n1,0,m,a\n0,1,f,\n",
        "ops.csv",
        &["sex".to_string()],
    )
    .unwrap_err();
    assert_value_error(&e, 3, "stratum", "");
}
