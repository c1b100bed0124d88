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

/// A scratch directory of its own under the system's temporary directory, removed with
/// everything in it when dropped (also when the test fails), so that test runs leave no
/// files behind.
#[allow(dead_code)]
pub struct Scratch(PathBuf);

#[allow(dead_code)]
impl Scratch {
    /// A new, empty directory named after `tag`, the process and a counter.
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("darkfigure-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// Writes `text` to the file `name` in the directory; returns its path.
    pub fn file(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("scratch file");
        p
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
