//! Every `cargo run ... --example estimate -- ...` command line shown in the README's code
//! blocks runs as written, from the repository root, and exits 0 (a report file a command
//! asks for is written to a temporary folder instead of the repository).
//!
//! The binary is the one `cargo test` built for this profile, found relative to the test
//! executable (as in `tests/cli.rs`); running this target alone builds it on demand.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn binary() -> PathBuf {
    common::estimate_binary()
}

/// Splits a command line as a POSIX shell would for the simple cases the README uses:
/// whitespace-separated words, double or single quotes, a `#` comment after whitespace.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '"' | '\'' => {
                    quote = Some(c);
                    in_word = true;
                }
                '#' if !in_word => break,
                c if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                c => {
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    assert!(quote.is_none(), "unbalanced quote in README line: {line}");
    if in_word {
        words.push(cur);
    }
    words
}

/// The arguments of every `estimate` command line in the README's code blocks.
fn readme_commands(readme: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let t = line.trim();
        if !in_block || !t.starts_with("cargo run") {
            continue;
        }
        let words = shell_words(t);
        let Some(pos) = words
            .windows(2)
            .position(|w| w == ["--example", "estimate"])
        else {
            continue;
        };
        let args: Vec<String> = match words[pos + 2..].iter().position(|w| w == "--") {
            Some(d) => words[pos + 2 + d + 1..].to_vec(),
            None => Vec::new(),
        };
        out.push((t.to_string(), args));
    }
    out
}

#[test]
fn shell_words_split_like_a_shell() {
    assert_eq!(
        shell_words(r#"cargo run -- a.csv --model "[12,3]" --x 'y z'   # comment"#),
        vec![
            "cargo", "run", "--", "a.csv", "--model", "[12,3]", "--x", "y z"
        ]
    );
}

#[test]
fn every_readme_estimate_command_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let commands = readme_commands(&readme);
    // The README shows the embedded run, the file examples and the report examples.
    assert!(
        commands.len() >= 12,
        "found only {} estimate commands in the README",
        commands.len()
    );
    let out_dir = common::Scratch::new("readme");
    let bin = binary();
    let mut failures = Vec::new();
    for (line, args) in &commands {
        let mut args = args.clone();
        // A report goes to the temporary folder, not into the repository.
        if let Some(i) = args.iter().position(|a| a == "--report") {
            let name = Path::new(&args[i + 1])
                .file_name()
                .expect("a report file name")
                .to_owned();
            args[i + 1] = out_dir.join(name).display().to_string();
        }
        let o = Command::new(&bin)
            .args(&args)
            .current_dir(root)
            .output()
            .expect("binary runs");
        if !o.status.success() {
            failures.push(format!(
                "{line}\n  exit {:?}: {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        } else if o.stdout.is_empty() {
            failures.push(format!("{line}\n  printed nothing"));
        }
    }
    assert!(
        failures.is_empty(),
        "README commands failed:\n{}",
        failures.join("\n")
    );
    // The report commands wrote their files.
    assert!(out_dir.join("police.html").exists());
    assert!(out_dir.join("kosovo.md").exists());
}
