//! Helpers shared by the test targets that run the example binaries.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Example binaries already brought up to date by this test process.
static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The `estimate` binary for this profile (see [`example_binary`]).
#[allow(dead_code)]
pub fn estimate_binary() -> PathBuf {
    example_binary("estimate")
}

/// The example binary `name` of this profile (`target/<profile>/examples/`, found
/// relative to the test executable), brought up to date by `cargo build --example` once
/// per test process: a binary left over from older sources is rebuilt, never run (cargo
/// does nothing when it is fresh, as after `cargo test`, which builds the examples; running
/// one test target alone, `cargo test --test cli`, does not).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let p = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.contains(name) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the example {name} failed");
        built.insert(name.to_string());
    }
    assert!(p.exists(), "example binary not built at {}", p.display());
    p
}
