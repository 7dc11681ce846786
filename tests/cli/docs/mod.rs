//! The documentation is the user's contract, and these tests keep it true to the code: every
//! config example in docs/config.md and README.md loads through the real config loader; every
//! key the parser accepts is documented in docs/config.md and every documented key is
//! accepted; every command and long flag is in docs/cli.md and every one documented exists;
//! every test docs/failure-modes.md cites exists; no file cites a failure mode id that
//! docs/failure-modes.md does not define, or a document outside the repo; links between the
//! docs reach their headings; every manifest field is documented; and contrib/ parses and uses
//! only documented metrics. The conventions are stated in an HTML comment at the top of
//! docs/config.md; each failure names the file, the line or heading, and what is
//! undocumented or unknown.

mod cli;
mod config;
mod contrib;
mod markdown;
mod references;

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(relative: &str) -> String {
    std::fs::read_to_string(repo().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Fails with every problem on its own line, so one run says everything that is out of step.
pub fn report(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what} ({} problems):\n  - {}\n",
        problems.len(),
        problems.join("\n  - ")
    );
}
