//! Starts and stops the private PostgreSQL and MariaDB servers that `scripts/test.sh` shares
//! with every test process through the `DBWARD_TEST_*` environment variables.
//!
//! ```text
//! dbward-test-servers start --owner-pid PID STATE_DIR   # prints `export VAR=value` lines
//! dbward-test-servers stop STATE_DIR
//! ```
//!
//! The servers are removed when process PID exits (a watchdog polls it every second), or
//! at once by `stop`. STATE_DIR must exist; `start` records the servers' directories there.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dbward_testkit::{MariaServer, PgServer, stop_private_server};

const USAGE: &str = "usage: dbward-test-servers start --owner-pid PID STATE_DIR\n       \
                     dbward-test-servers stop STATE_DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["start", "--owner-pid", pid, state] => match pid.parse() {
            Ok(pid) => start(pid, Path::new(state)),
            Err(e) => Err(format!("--owner-pid {pid}: {e}")),
        },
        ["stop", state] => stop(Path::new(state)),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dbward-test-servers: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dirs_file(state: &Path) -> PathBuf {
    state.join("server-dirs")
}

fn start(owner: u32, state: &Path) -> Result<(), String> {
    if !state.is_dir() {
        return Err(format!("{} is not a directory", state.display()));
    }
    let started = std::time::Instant::now();
    // Both at once: MariaDB's install takes a few seconds, PostgreSQL's about one.
    let maria = std::thread::spawn(move || MariaServer::start_private(owner));
    let pg = PgServer::start_private(owner);
    let maria = maria
        .join()
        .unwrap_or_else(|_| Err("MariaDB start panicked".into()));
    let dirs: Vec<String> = [
        pg.as_ref().ok().and_then(|s| s.private_dir()),
        maria.as_ref().ok().and_then(|s| s.private_dir()),
    ]
    .into_iter()
    .flatten()
    .map(|d| format!("{}\n", d.display()))
    .collect();
    std::fs::write(dirs_file(state), dirs.concat())
        .map_err(|e| format!("write {}: {e}", dirs_file(state).display()))?;
    let pg = pg.map_err(|e| format!("PostgreSQL: {e}"))?;
    let maria = maria.map_err(|e| format!("MariaDB: {e}"))?;
    let vars = [
        ("DBWARD_TEST_PG_PORT", pg.port.to_string()),
        ("DBWARD_TEST_PG_PASSWORD", pg.password.clone()),
        ("DBWARD_TEST_PG_BINDIR", pg.bin_dir.display().to_string()),
        ("DBWARD_TEST_MARIADB_PORT", maria.port.to_string()),
        ("DBWARD_TEST_MARIADB_PASSWORD", maria.password.clone()),
    ];
    for (name, value) in vars {
        println!("export {name}={}", shell_quote(&value));
    }
    eprintln!(
        "dbward-test-servers: PostgreSQL on 127.0.0.1:{}, MariaDB on 127.0.0.1:{} ({:.1} s)",
        pg.port,
        maria.port,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn stop(state: &Path) -> Result<(), String> {
    let dirs = match std::fs::read_to_string(dirs_file(state)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("read {}: {e}", dirs_file(state).display())),
    };
    let errors: Vec<String> = dirs
        .lines()
        .filter(|l| !l.is_empty())
        .filter_map(|dir| stop_private_server(Path::new(dir)).err())
        .collect();
    if errors.is_empty() {
        let _ = std::fs::remove_file(dirs_file(state));
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// `value` in single quotes for `sh`, so `eval` gives it back unchanged.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}
