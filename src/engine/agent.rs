//! This process as an agent of the catalog: the stable id of its state directory (a ULID kept
//! in `<state_dir>/agent_id`, made on first use), its host name, its version, and whether it is
//! a one-off command or the daemon. Rows it records and leases it holds carry that identity.

use std::io::Write;
use std::path::Path;

use dbward_catalog::{AgentInfo, AgentKind, AgentRef};

/// The file that keeps the agent id of a state directory.
const AGENT_ID_FILE: &str = "agent_id";

/// This process's identity. A state directory whose id cannot be read or kept (read-only,
/// say) gives a new id for this process alone, with a warning.
pub fn identity(state_dir: &Path, kind: AgentKind, labels: Vec<String>) -> AgentInfo {
    let id = match stable_id(state_dir) {
        Ok(id) => id,
        Err(e) => {
            let id = ulid::Ulid::new().to_string();
            tracing::warn!(
                "cannot keep the agent id in {}: {e}; this process is agent {id}",
                state_dir.join(AGENT_ID_FILE).display()
            );
            id
        }
    };
    AgentInfo {
        agent: AgentRef {
            id,
            host: super::host_name(),
        },
        version: env!("CARGO_PKG_VERSION").to_string(),
        kind,
        labels,
        pid: std::process::id(),
    }
}

fn stable_id(state_dir: &Path) -> std::io::Result<String> {
    let path = state_dir.join(AGENT_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if ulid::Ulid::from_string(text.trim()).is_ok() => return Ok(text.trim().into()),
        Ok(text) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{text:?} is not an agent id (a ULID); remove the file to make a new one"),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    crate::catalog::create_private_dir(state_dir)?;
    let id = ulid::Ulid::new().to_string();
    // Written aside and linked into place: two first commands at once agree on one id.
    let staged = state_dir.join(format!(".{AGENT_ID_FILE}.{id}"));
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&staged)?;
        file.write_all(id.as_bytes())?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&staged, &path);
    let _ = std::fs::remove_file(&staged);
    match linked {
        Ok(()) => Ok(id),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => stable_id(state_dir),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_directory_keeps_one_agent_id() {
        let dir = tempfile::tempdir().unwrap();
        let first = identity(dir.path(), AgentKind::Cli, Vec::new());
        let second = identity(dir.path(), AgentKind::Daemon, vec!["eu".into()]);
        assert_eq!(first.agent.id, second.agent.id);
        assert_eq!(second.labels, ["eu"]);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            identity(other.path(), AgentKind::Cli, Vec::new()).agent.id,
            first.agent.id
        );
    }

    #[test]
    fn a_damaged_agent_id_file_is_not_trusted_nor_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(AGENT_ID_FILE), "not an id").unwrap();
        let err = stable_id(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not an agent id"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(AGENT_ID_FILE)).unwrap(),
            "not an id"
        );
    }
}
