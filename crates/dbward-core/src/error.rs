//! The error type shared by sources and destinations: each variant renders as one line that
//! names the cause, because that line becomes a backup's recorded `error`.

use std::path::PathBuf;

/// A failure in a source, a destination or a child tool.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The dump or restore tool is not installed where dbward looked.
    #[error("{tool} not found (looked in {searched}); {hint}")]
    ToolMissing {
        tool: String,
        searched: String,
        hint: String,
    },
    /// The installed tool cannot handle the server's version.
    #[error("{tool} {tool_version} is older than the server ({server_version}); {hint}")]
    ToolTooOld {
        tool: String,
        tool_version: String,
        server_version: String,
        hint: String,
    },
    /// The server could not be reached or refused the login.
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    /// A selected database is not on the server (any more).
    #[error("database {database:?} does not exist on source {source_name}")]
    DatabaseMissing {
        source_name: String,
        database: String,
    },
    /// The dump failed one of the gates; the text says which and why.
    #[error("{0}")]
    Dump(String),
    /// A destination refused or lost a write, read or listing.
    #[error("destination {destination}: {reason}")]
    Destination { destination: String, reason: String },
    /// A delete the store refused because the object is kept on purpose (S3 Object Lock
    /// retention or legal hold): the object is hidden (a delete marker) but its data stays
    /// until the retention passes. Callers that prune report it rather than fail on it.
    #[error("destination {destination}: {key} is retained by the store ({reason})")]
    Retained {
        destination: String,
        key: String,
        /// Until when and why, as far as the store said.
        reason: String,
        /// When the retention ends, where the store said.
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// A local file operation failed.
    #[error("{context} {}: {err}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        err: std::io::Error,
    },
    /// A query against the source failed.
    #[error("{0}")]
    Query(String),
    /// A restore's database name exists already; nothing was created or changed.
    #[error("database {database:?} exists on {target}; nothing was changed")]
    NameTaken { target: String, database: String },
    /// A database name the target would not keep exactly as given (truncated, case-folded,
    /// or a SQLite file name that would leave its folder); refused before anything is
    /// created or deleted.
    #[error("target {target}: database name {name:?} is refused: {reason}; nothing was changed")]
    InvalidName {
        target: String,
        name: String,
        reason: String,
    },
}

impl Error {
    /// `NameTaken` when `self` says (through `marker`, the engine's words for it) that
    /// `database` exists on `target`, else `self` as it is: a creation or rename that failed
    /// on an existing name must never lead to dropping that database.
    pub fn taken_if(self, marker: &str, target: &str, database: &str) -> Self {
        if self.to_string().contains(marker) {
            Error::NameTaken {
                target: target.to_string(),
                database: database.to_string(),
            }
        } else {
            self
        }
    }

    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(context: &'static str, path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        Error::Io {
            context,
            path: path.into(),
            err,
        }
    }
}

/// Result with the shared error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
