//! Bad key-population input is refused with an error naming file, line, column and value.

use darkfigure::Error;
use darkfigure::kp::multiplier::ReceiptSurvey;
use darkfigure::kp::nsum::{ArdSurvey, KnownPopulations};
use darkfigure::kp::rds::RdsSample;
use darkfigure::kp::table::Table;
use darkfigure::kp::triangulate::studies_from_table;

fn value_error(e: Error) -> (String, Option<usize>, Option<String>, String) {
    match e {
        Error::CsvValue { at, value, .. } => (at.file, at.line, at.column, value),
        other => panic!("expected a CsvValue error, got {other}"),
    }
}

#[test]
fn unknown_recruiter_id() {
    let t = Table::parse(
        "id,recruiter,degree,y\n1,seed,3,0\n2,1,4,1\n3,9,2,0\n",
        "tree.csv",
    )
    .unwrap();
    let e = RdsSample::from_table(&t, "id", "recruiter", "degree", "y").unwrap_err();
    let msg = e.to_string();
    assert_eq!(
        value_error(e),
        (
            "tree.csv".into(),
            Some(4),
            Some("recruiter".into()),
            "9".into()
        )
    );
    assert!(
        msg.contains("tree.csv, line 4, column `recruiter`"),
        "{msg}"
    );
}

#[test]
fn negative_degree() {
    let t = Table::parse("id,recruiter,degree,y\n1,seed,3,0\n2,1,-4,1\n", "tree.csv").unwrap();
    let e = RdsSample::from_table(&t, "id", "recruiter", "degree", "y").unwrap_err();
    assert_eq!(
        value_error(e),
        (
            "tree.csv".into(),
            Some(3),
            Some("degree".into()),
            "-4".into()
        )
    );
}

#[test]
fn recruitment_cycle() {
    let t = Table::parse(
        "id,recruiter,degree,y\n1,seed,3,0\n2,3,4,1\n3,2,4,1\n",
        "tree.csv",
    )
    .unwrap();
    assert!(RdsSample::from_table(&t, "id", "recruiter", "degree", "y").is_err());
}

#[test]
fn known_population_size_zero() {
    let t = Table::parse("known_popn,size\nteacher,4000\npriest,0\n", "known.csv").unwrap();
    let e = KnownPopulations::from_table(&t).unwrap_err();
    assert_eq!(
        value_error(e),
        ("known.csv".into(), Some(3), Some("size".into()), "0".into())
    );
}

#[test]
fn negative_ard_count() {
    let t = Table::parse("teacher,clients\n1,0\n-2,1\n", "survey.csv").unwrap();
    let e = ArdSurvey::from_table(&t, &["teacher", "clients"], None, None, None).unwrap_err();
    assert_eq!(
        value_error(e),
        (
            "survey.csv".into(),
            Some(3),
            Some("teacher".into()),
            "-2".into()
        )
    );
}

#[test]
fn zero_receivers() {
    let t = Table::parse("received\n0\n0\n0\n", "survey.csv").unwrap();
    let e = ReceiptSurvey::from_table(&t, "received", None, false).unwrap_err();
    let (file, line, col, value) = value_error(e);
    assert_eq!(
        (file.as_str(), line, col.as_deref()),
        ("survey.csv", None, Some("received"))
    );
    assert!(value.contains("0 of 3"));
}

#[test]
fn bad_indicator_and_interval() {
    let t = Table::parse("received\n0\nmaybe\n", "survey.csv").unwrap();
    let e = ReceiptSurvey::from_table(&t, "received", None, false).unwrap_err();
    assert_eq!(value_error(e).3, "maybe");
    let t = Table::parse("name,estimate,lower95,upper95\na,100,120,200\n", "est.csv").unwrap();
    let e = studies_from_table(&t).unwrap_err();
    assert_eq!(
        value_error(e),
        (
            "est.csv".into(),
            Some(2),
            Some("lower95".into()),
            "120".into()
        )
    );
}
