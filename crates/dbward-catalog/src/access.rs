//! Who may use the web dashboard and the HTTP API, and what they did there — the [`Access`]
//! part of the catalog port: users (an argon2id hash of the password, made by the caller),
//! API tokens and sessions (only the sha256 of the secret is stored, so a copy of the catalog
//! lets nobody in), and the audit log of actions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

crate::model::text_enum! {
    /// What a user or token may do.
    Role {
        /// Reads every page and API document.
        Viewer => "viewer",
        /// Also acts: starts a backup now.
        Operator => "operator",
    }
}

crate::model::text_enum! {
    /// Who acted: a user (through a session) or an API token.
    ActorKind {
        User => "user",
        Token => "token",
    }
}

/// A user as `dbward user list` shows it (never its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// An API token as `dbward token list` shows it (never the token or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A session to record: `id_sha256` is the sha256 (hex) of the id in the browser's cookie.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id_sha256: &'a str,
    pub user: &'a str,
    pub csrf_token: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live session: whose it is, the user's role now, and its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionRecord {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_kind: ActorKind,
    pub actor: String,
    /// What was done, e.g. `backup`.
    pub action: String,
    /// What it was done to, e.g. `source/database`.
    pub target: String,
}

/// The catalog's part in access control and the audit log.
#[async_trait]
pub trait Access: Send + Sync {
    /// Records a user; `false` when the name is taken (nothing changes).
    async fn add_user(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;

    /// Every user, by name.
    async fn users(&self) -> Result<Vec<UserRecord>>;

    /// A user's role and password hash, for a login.
    async fn user_credentials(&self, name: &str) -> Result<Option<(Role, String)>>;

    /// Removes a user and ends its sessions; `false` when there was none.
    async fn remove_user(&self, name: &str) -> Result<bool>;

    /// Records a token by the sha256 (hex) of its secret; `false` when the name is taken.
    async fn add_token(
        &self,
        name: &str,
        role: Role,
        sha256: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;

    /// Every token, by name.
    async fn tokens(&self) -> Result<Vec<TokenRecord>>;

    /// The token whose secret has this sha256 (hex).
    async fn token_by_hash(&self, sha256: &str) -> Result<Option<TokenRecord>>;

    /// Deletes a token: it lets nobody in any more. `false` when there was none.
    async fn revoke_token(&self, name: &str) -> Result<bool>;

    /// Whether any user or token exists (the web refuses other hosts until one does).
    async fn has_credentials(&self) -> Result<bool>;

    /// Records a session.
    async fn create_session(&self, session: &NewSession<'_>) -> Result<()>;

    /// The session whose id has this sha256, when it has not expired at `now` and its user
    /// still exists.
    async fn session(&self, id_sha256: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>>;

    /// Ends a session (logout). Ending an unknown one does nothing.
    async fn end_session(&self, id_sha256: &str) -> Result<()>;

    /// Forgets sessions expired before `before`; returns how many went.
    async fn forget_sessions(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Appends an entry to the audit log.
    async fn record_action(&self, action: &ActionRecord) -> Result<()>;

    /// The newest `limit` entries of the audit log, newest first.
    async fn actions(&self, limit: u32) -> Result<Vec<ActionRecord>>;
}
