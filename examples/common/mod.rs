//! What the example programs share.

use std::io::Write;
use std::process::ExitCode;

/// Writes a program's output to stdout. A reader that stops early (`| head`) closes the
/// pipe: that ends the program quietly with success, not a panic. Any other write error
/// (a full disk) is reported and the program fails.
pub fn emit(out: &str) -> ExitCode {
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::FAILURE
        }
    }
}
