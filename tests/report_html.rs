//! `estimate --report FILE.html` (and `.md`) on the police example, hare, Kosovo (`--lists`),
//! the Dutch immigrants (counts with covariates) and bunting (`--open`): the HTML parses, the
//! headline figures are exactly the JSON's, there are at least three SVG figures and each
//! parses as XML with the marks its data imply, the provenance carries the input's SHA-256,
//! and two runs give the same bytes.

mod common;

use scraper::{Html, Selector};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn binary() -> PathBuf {
    common::estimate_binary()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir(name: &str) -> common::Scratch {
    common::Scratch::new(&format!("report-{name}"))
}

/// Runs `estimate ARGS --format json --report OUT`; returns the JSON and the report text.
fn run(args: &[&str], out: &Path) -> (serde_json::Value, String) {
    let o = Command::new(binary())
        .args(args)
        .args(["--format", "json", "--report"])
        .arg(out)
        .current_dir(root())
        .output()
        .expect("binary runs");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON output");
    let text = std::fs::read_to_string(out).expect("report written");
    (json, text)
}

fn sha256(path: &str) -> String {
    let bytes = std::fs::read(root().join(path)).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

/// Every `<svg>…</svg>` of the document, as written.
fn svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<svg") {
        let j = rest[i..].find("</svg>").expect("closed svg") + i + "</svg>".len();
        out.push(&rest[i..j]);
        rest = &rest[j..];
    }
    out
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// Interval marks of a forest plot: polylines in the included or excluded colour.
fn interval_marks(svg: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).expect("SVG parses as XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter(|n| {
            n.attribute("stroke").is_some_and(|s| {
                s.eq_ignore_ascii_case("#1F4E79") || s.eq_ignore_ascii_case("#999999")
            })
        })
        .count()
}

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    input: &'static str,
    figures: &'static [&'static str],
}

fn check(case: &Case) {
    let dir = out_dir(case.name);
    let (json, html) = run(case.args, &dir.join("a.html"));
    let (json2, html2) = run(case.args, &dir.join("b.html"));
    assert_eq!(json, json2);
    assert!(html == html2, "{}: two runs differ", case.name);

    let doc = Html::parse_document(&html);
    assert!(
        doc.errors.is_empty(),
        "{}: HTML parse errors {:?}",
        case.name,
        doc.errors
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "{}: nothing fetched from the network",
        case.name
    );

    // Headline figures exactly as the JSON gives them.
    let headlines = json["headline"].as_array().expect("headline array");
    assert!(!headlines.is_empty(), "{}: no headline", case.name);
    let cards: Vec<_> = doc.select(&sel("section.headline")).collect();
    assert_eq!(cards.len(), headlines.len(), "{}", case.name);
    for (card, h) in cards.iter().zip(headlines) {
        for (class, value) in [
            ("n-hat", &h["n_hat"]),
            ("lower", &h["interval"]["lower"]),
            ("upper", &h["interval"]["upper"]),
            ("dark-figure", &h["dark_figure"]),
        ] {
            let el = card
                .select(&sel(&format!("data.{class}")))
                .next()
                .unwrap_or_else(|| panic!("{}: no data.{class}", case.name));
            assert_eq!(
                el.value().attr("value"),
                Some(value.to_string().as_str()),
                "{}: {class}",
                case.name
            );
            let shown: String = el.text().collect();
            let expected = match value.as_f64() {
                Some(v) => darkfigure::report::count_words(v),
                None => "∞".to_string(),
            };
            assert_eq!(shown, expected, "{}: {class} as shown", case.name);
        }
    }

    // A candidate whose N̂ is impossible or absurd is never printed
    // as a number: its cell says DEGENERATE (as in the text and Markdown tables).
    let unprintable = headlines
        .iter()
        .flat_map(|h| h["candidates"].as_array().into_iter().flatten())
        .filter(|c| c["excluded"].as_str().is_some_and(|r| r.contains("N̂")))
        .count();
    assert!(
        html.matches(">DEGENERATE<").count() >= unprintable,
        "{}: {unprintable} degenerate candidates",
        case.name
    );
    assert!(!html.contains("9,223,372,036,854,775,807"), "{}", case.name);

    // Figures: at least three, each valid XML with its marks.
    let all = svgs(&html);
    assert!(all.len() >= 3, "{}: {} figures", case.name, all.len());
    assert_eq!(all.len(), doc.select(&sel("figure svg")).count());
    for svg in &all {
        let x = roxmltree::Document::parse(svg)
            .unwrap_or_else(|e| panic!("{}: SVG is not XML: {e}", case.name));
        assert_eq!(x.root_element().tag_name().name(), "svg");
        assert!(
            x.descendants().any(|n| n.has_tag_name("text")),
            "{}: a figure without text",
            case.name
        );
    }
    for id in case.figures {
        assert!(
            html.contains(&format!("<figure id=\"{id}\"")),
            "{}: no figure {id}",
            case.name
        );
    }
    // One interval mark per candidate with an estimate in each forest plot.
    for h in headlines {
        let stratum = h["stratum"].as_str().unwrap_or("all");
        let id = format!("forest_{}", slug(stratum));
        let Some(start) = html.find(&format!("<figure id=\"{id}\"")) else {
            assert!(
                h["candidates"].as_array().is_none_or(|c| c.is_empty()),
                "{}: no forest plot for {stratum}",
                case.name
            );
            continue;
        };
        let svg = svgs(&html[start..])[0];
        let finite = h["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["n_hat"].is_number() && !c["excluded"].as_str().is_some_and(|r| r.contains("N̂"))
            })
            .count()
            .min(darkfigure::report::MAX_FOREST_ROWS);
        assert_eq!(interval_marks(svg), finite, "{}: {stratum}", case.name);
    }

    // Provenance: the input's SHA-256, the version and the options.
    let prov = html.find("<h2>Provenance</h2>").expect("provenance");
    let tail = &html[prov..];
    assert!(
        tail.contains(&format!("Input SHA-256: {}", sha256(case.input))),
        "{}",
        case.name
    );
    assert!(tail.contains(concat!("darkfigure ", env!("CARGO_PKG_VERSION"))));
    assert!(
        !tail.contains("a.html"),
        "the report's own name is not an option"
    );
    assert!(html.contains("<h2>How to cite</h2>"));
}

#[test]
fn police_report() {
    check(&Case {
        name: "police",
        args: &[],
        input: "examples/data/police_operations.csv",
        figures: &["forest_buyer", "fk_buyer", "profile_buyer", "forest_seller"],
    });
}

#[test]
fn hare_report() {
    check(&Case {
        name: "hare",
        args: &["examples/data/hare.csv"],
        input: "examples/data/hare.csv",
        figures: &["forest_all", "fk_all", "profile_all"],
    });
}

#[test]
fn kosovo_lists_report() {
    check(&Case {
        name: "kosovo",
        args: &["examples/data/kosovo.csv", "--lists"],
        input: "examples/data/kosovo.csv",
        figures: &["forest_all", "fk_all"],
    });
}

#[test]
fn immigrants_counts_report() {
    check(&Case {
        name: "immigrants",
        args: &[
            "examples/data/netherlandsimmigrant.csv",
            "--count",
            "capture",
        ],
        input: "examples/data/netherlandsimmigrant.csv",
        figures: &["forest_all", "fk_all", "rootogram_all"],
    });
}

#[test]
fn bunting_open_report() {
    check(&Case {
        name: "bunting",
        args: &["examples/data/bunting.csv", "--open"],
        input: "examples/data/bunting.csv",
        figures: &["forest_all", "open_n", "open_survival", "open_births"],
    });
}

#[test]
fn markdown_report_writes_its_figures_beside_it() {
    let dir = out_dir("md");
    let out = dir.join("police.md");
    let o = Command::new(binary())
        .arg("--report")
        .arg(&out)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(&out).unwrap();
    let names: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("![").and_then(|l| l.split_once("](")))
        .map(|(_, rest)| rest.trim_end_matches(')'))
        .collect();
    assert!(names.len() >= 3, "{md}");
    for n in names {
        let svg = std::fs::read_to_string(dir.join(n)).unwrap();
        roxmltree::Document::parse(&svg).expect("SVG parses as XML");
    }
    assert!(md.contains("## Provenance") && md.contains("## How to cite"));
}

#[test]
fn report_needs_html_or_md() {
    let o = Command::new(binary())
        .args(["--report", "x.pdf"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains(".html or .md"));
}

/// Counts reaching k = 47 (farm submissions) keep the page's width: the f_k table comes in
/// pieces of at most 20 values of k, which together list every k from 1 to the largest
/// count, with the counts adding up to the units seen.
#[test]
fn long_fk_table_is_split_to_fit_the_page() {
    let dir = out_dir("farm");
    let out = dir.join("farm.html");
    let (json, html) = run(&["tests/fixtures/counts/farmsubmission.csv"], &out);
    let doc = Html::parse_document(&html);
    let mut ks: Vec<u64> = Vec::new();
    let mut seen = 0u64;
    for t in doc.select(&sel("table")) {
        let caption: String = t
            .select(&sel("caption"))
            .flat_map(|c| c.text())
            .collect::<String>();
        if !(caption.starts_with("Individuals recorded exactly k times")
            || caption.starts_with("f_k, continued"))
        {
            continue;
        }
        let th: Vec<String> = t.select(&sel("th")).map(|h| h.text().collect()).collect();
        assert!(th.len() <= 21, "{caption}: {} columns", th.len());
        ks.extend(th[1..].iter().map(|k| k.parse::<u64>().unwrap()));
        let td: Vec<String> = t.select(&sel("td")).map(|d| d.text().collect()).collect();
        seen += td[1..]
            .iter()
            .map(|f| f.replace(',', "").parse::<u64>().unwrap())
            .sum::<u64>();
    }
    assert_eq!(ks, (1..=47).collect::<Vec<u64>>());
    assert_eq!(
        Some(seen),
        json["data"]["observed"].as_u64(),
        "{}",
        json["data"]
    );
}
