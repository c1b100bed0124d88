//! Helpers shared by the test targets that run the `estimate` example binary.

use std::path::PathBuf;
use std::process::Command;

/// The `estimate` binary `cargo test` built for this profile, found relative to the test
/// executable (`target/<profile>/examples/`); running one test target alone (`cargo test
/// --test cli`) does not build the examples, so it is built on demand in the same profile.
#[allow(dead_code)]
pub fn estimate_binary() -> PathBuf {
    example_binary("estimate")
}

/// The example binary `name` (as [`estimate_binary`]), built on demand.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let p = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--example", name]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the example failed");
    }
    assert!(p.exists(), "example binary not built at {}", p.display());
    p
}
