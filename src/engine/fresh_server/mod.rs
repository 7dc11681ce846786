//! An empty private database server started for one fresh-server drill (`verify --level
//! drill --fresh-server`, F23), of the source's engine: PostgreSQL (`postgres`) or
//! MariaDB/MySQL (`mariadb`). Each lives in a new 0700 directory under the system's
//! temporary directory, listens on a free loopback port with a generated superuser
//! password, and is stopped and its directory removed when the drill ends — also when it
//! fails, and when it is dropped without [`FreshServer::stop`].

mod mariadb;
mod postgres;

use std::path::{Path, PathBuf};

use dbward_core::Engine;
use dbward_core::secret::SecretString;

pub use mariadb::MariadbServer;
pub use postgres::PostgresServer;

/// The superuser of a fresh server.
pub const FRESH_SUPERUSER: &str = "dbward";

/// Why a fresh server could not be started.
#[derive(Debug, thiserror::Error)]
#[error("fresh-server drill: {0}")]
pub struct FreshServerError(String);

/// A running fresh server of one engine.
#[derive(Debug)]
pub enum FreshServer {
    Postgres(PostgresServer),
    Mariadb(MariadbServer),
}

impl FreshServer {
    /// Starts an empty server for a source of `engine`, with the server programs from
    /// `tool_dir` when set. `major` is the source server's major version: PostgreSQL needs
    /// server tools at least that new; MariaDB/MySQL use the installed server. PostgreSQL is
    /// initialised with `source_locale` (encoding and locale) when this machine has it.
    pub async fn start(
        engine: Engine,
        tool_dir: Option<&Path>,
        major: u32,
        source_locale: Option<&dbward_core::DatabaseSettings>,
    ) -> Result<FreshServer, FreshServerError> {
        Ok(match engine {
            Engine::Postgres => {
                FreshServer::Postgres(PostgresServer::start(tool_dir, major, source_locale).await?)
            }
            Engine::Mysql | Engine::Mariadb => {
                FreshServer::Mariadb(MariadbServer::start(tool_dir).await?)
            }
            other => {
                return Err(FreshServerError(format!(
                    "no fresh server for engine {}: only postgres, mysql and mariadb sources can be rebuilt",
                    other.as_str()
                )));
            }
        })
    }

    pub fn port(&self) -> u16 {
        match self {
            FreshServer::Postgres(s) => s.port,
            FreshServer::Mariadb(s) => s.port,
        }
    }

    /// How the server was initialised (encoding and locale), for the drill's report.
    pub fn locale(&self) -> Option<&str> {
        match self {
            FreshServer::Postgres(s) => Some(&s.locale),
            FreshServer::Mariadb(_) => None,
        }
    }

    pub fn password(&self) -> &SecretString {
        match self {
            FreshServer::Postgres(s) => &s.password,
            FreshServer::Mariadb(s) => &s.password,
        }
    }

    /// Stops the server (abruptly: it holds nothing worth keeping) and removes its directory.
    pub async fn stop(self) {
        match self {
            FreshServer::Postgres(s) => s.stop().await,
            FreshServer::Mariadb(s) => s.stop().await,
        }
    }
}

/// The file in a fresh server's directory that names the dbward process it belongs to.
const OWNER_FILE: &str = "dbward.pid";
/// How fresh servers' directories are named in the temporary directory.
const DIR_PREFIX: &str = "dbward-fresh-";

/// A new 0700 directory `dbward-fresh-<ulid>` in the system's temporary directory: as root,
/// the server's system user must reach it, which it could not under a 0700 state_dir. It
/// names this process in [`OWNER_FILE`]; leftovers of drills whose dbward is gone (killed
/// before it could clean up) are removed first.
fn private_dir() -> Result<PathBuf, FreshServerError> {
    use std::os::unix::fs::DirBuilderExt;
    remove_leftovers(&std::env::temp_dir());
    let dir = std::env::temp_dir().join(format!(
        "{DIR_PREFIX}{}",
        ulid::Ulid::new().to_string().to_lowercase()
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| FreshServerError(format!("cannot create {}: {e}", dir.display())))?;
    std::fs::write(dir.join(OWNER_FILE), std::process::id().to_string())
        .map_err(|e| FreshServerError(format!("cannot write {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Removes the fresh servers' directories under `temp` whose dbward process is gone, first
/// killing any process still running from one (a server started before it died with its
/// dbward). Directories of live dbward processes (drills running now) are left alone.
pub fn remove_leftovers(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let owner = std::fs::read_to_string(dir.join(OWNER_FILE))
            .ok()
            .and_then(|pid| pid.trim().parse::<i32>().ok());
        let Some(owner) = owner else {
            continue; // not (yet) claimed: a drill may be creating it right now
        };
        if process_alive(owner) {
            continue;
        }
        kill_processes_of(&dir);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => tracing::warn!(
                "fresh-server drill: removed {}, left over by a drill whose dbward (pid {owner}) ended without cleaning up",
                dir.display()
            ),
            Err(e) => tracing::warn!(
                "fresh-server drill: cannot remove the leftover {}: {e}",
                dir.display()
            ),
        }
    }
}

/// Whether process `pid` exists.
fn process_alive(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(_) => true, // exists, belongs to someone else
    }
}

/// Kills every process whose command line names `dir` (a leftover server).
fn kill_processes_of(dir: &Path) {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return;
    };
    for process in processes.flatten() {
        let Ok(pid) = process.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(process.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Where `setpriv` (util-linux) may be besides `PATH`.
const SETPRIV_PLACES: &[&str] = &["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/// A command that runs the server `program` as dbward's child that dies with dbward, however
/// dbward dies (`SIGKILL` included): through `setpriv --pdeathsig`, which asks Linux for
/// `signal` on the death of its parent, takes `owner`'s identity first (a later change of
/// user would clear the request) and then becomes the server. `None` without `setpriv`: the
/// caller starts the server as before, and the next drill kills and removes what a killed
/// dbward left ([`remove_leftovers`]).
fn dying_with_dbward(
    program: &Path,
    owner: Option<&nix::unistd::User>,
    signal: &str,
) -> Option<tokio::process::Command> {
    let setpriv = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(SETPRIV_PLACES.iter().map(PathBuf::from))
        .map(|dir| dir.join("setpriv"))
        .find(|path| path.is_file())?;
    let mut command = tokio::process::Command::new(setpriv);
    if let Some(user) = owner {
        command
            .arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.gid))
            .arg("--init-groups");
    }
    command
        .arg(format!("--pdeathsig={signal}"))
        .arg("--")
        .arg(program);
    Some(command)
}

/// A new random superuser password.
fn random_password() -> Result<SecretString, FreshServerError> {
    let mut password_bytes = [0u8; 24];
    getrandom::fill(&mut password_bytes)
        .map_err(|e| FreshServerError(format!("no randomness for its password: {e}")))?;
    Ok(SecretString::from(hex::encode(password_bytes)))
}

/// Removes a fresh server's directory, warning when it cannot.
fn remove_dir(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!("fresh-server drill: cannot remove {}: {e}", dir.display());
    }
}

/// As root, the system user `name` that runs the server; `None` when dbward is not root.
/// `Err(())` when dbward is root and there is no such user.
fn system_user(name: &str) -> Result<Option<nix::unistd::User>, ()> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    nix::unistd::User::from_name(name)
        .ok()
        .flatten()
        .map(Some)
        .ok_or(())
}

/// Gives `path` to `user` (when the server runs as a system user).
fn chown_to(path: &Path, user: Option<&nix::unistd::User>) -> Result<(), FreshServerError> {
    match user {
        Some(user) => nix::unistd::chown(path, Some(user.uid), Some(user.gid)).map_err(|e| {
            FreshServerError(format!("chown {} to {}: {e}", path.display(), user.name))
        }),
        None => Ok(()),
    }
}

/// The last non-empty line of a program's error output.
fn last_line(said: &[u8]) -> String {
    String::from_utf8_lossy(said)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, FreshServerError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| FreshServerError(format!("no free port on 127.0.0.1: {e}")))
}

/// How long a fresh server may take to let its superuser in.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Polls `logs_in` (the superuser's login, closed again) every 100 ms until it succeeds, the
/// server exits, or [`START_TIMEOUT`] passes; the error says which.
async fn wait_for_login<F, Fut>(
    child: &mut tokio::process::Child,
    mut logs_in: F,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status})"));
        }
        if logs_in().await {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "did not let {FRESH_SUPERUSER} log in within {}s",
                START_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
