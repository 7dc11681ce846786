//! Who may use the web dashboard and the HTTP API: users (argon2id password hashes), API
//! tokens and sessions (only their sha256 is stored), and the audit log of actions. The
//! `user` and `token` commands and the web front end call these; none of them sees SQL.

use chrono::{DateTime, Duration, Utc};
use dbward_core::secret::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{Context, UsageError};
use crate::catalog::{ActionRecord, ActorKind, Role, SessionRecord, TokenRecord, UserRecord};

/// The shortest password `user add` takes, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// What every token starts with, so that a leaked one is easy to recognise in a scan.
pub const TOKEN_PREFIX: &str = "dbward_";

/// A role named on the command line or in the API.
pub fn parse_role(text: &str) -> Result<Role, UsageError> {
    Role::parse(text)
        .ok_or_else(|| UsageError(format!("role {text:?}: expected viewer or operator")))
}

/// User and token names: 1 to 64 letters, digits, `-`, `_`, `.` or `@`.
fn check_name(what: &str, name: &str) -> Result<(), UsageError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if valid {
        Ok(())
    } else {
        Err(UsageError(format!(
            "{what} name {name:?}: expected 1 to 64 letters, digits, '-', '_', '.' or '@'"
        )))
    }
}

/// The sha256 (hex) under which a token or session id is stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `bytes` random bytes as hex, from the operating system's generator.
pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(hex::encode(buf))
}

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes), on a blocking
/// thread because it is meant to be slow.
async fn hash_password(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
    })
    .await?
}

/// Whether `password` matches the stored hash; an unreadable hash matches nothing.
async fn password_matches(hash: String, password: SecretString) -> anyhow::Result<bool> {
    Ok(tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await?)
}

/// `dbward user add`.
pub async fn add_user(
    ctx: &Context,
    name: &str,
    role: Role,
    password: SecretString,
) -> anyhow::Result<()> {
    check_name("user", name)?;
    let length = password.expose_secret().chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(UsageError(format!(
            "the password has {length} characters; use at least {MIN_PASSWORD_CHARS}"
        ))
        .into());
    }
    let hash = hash_password(password).await?;
    if !ctx.catalog.add_user(name, role, &hash, Utc::now()).await? {
        return Err(UsageError(format!(
            "a user named {name:?} exists; remove it first (`dbward user remove {name}`)"
        ))
        .into());
    }
    Ok(())
}

/// `dbward user list`.
pub async fn users(ctx: &Context) -> anyhow::Result<Vec<UserRecord>> {
    Ok(ctx.catalog.users().await?)
}

/// `dbward user remove`: the user and its sessions.
pub async fn remove_user(ctx: &Context, name: &str) -> anyhow::Result<()> {
    if !ctx.catalog.remove_user(name).await? {
        return Err(UsageError(format!("no user named {name:?} (see `dbward user list`)")).into());
    }
    Ok(())
}

/// `dbward token create`: returns the token, which is shown once and stored only as its
/// sha256.
pub async fn create_token(ctx: &Context, name: &str, role: Role) -> anyhow::Result<SecretString> {
    check_name("token", name)?;
    let token = format!("{TOKEN_PREFIX}{}", random_hex(32)?);
    if !ctx
        .catalog
        .add_token(name, role, &secret_hash(&token), Utc::now())
        .await?
    {
        return Err(UsageError(format!(
            "a token named {name:?} exists; revoke it first (`dbward token revoke {name}`)"
        ))
        .into());
    }
    Ok(SecretString::from(token))
}

/// `dbward token list`.
pub async fn tokens(ctx: &Context) -> anyhow::Result<Vec<TokenRecord>> {
    Ok(ctx.catalog.tokens().await?)
}

/// `dbward token revoke`.
pub async fn revoke_token(ctx: &Context, name: &str) -> anyhow::Result<()> {
    if !ctx.catalog.revoke_token(name).await? {
        return Err(
            UsageError(format!("no token named {name:?} (see `dbward token list`)")).into(),
        );
    }
    Ok(())
}

/// The token a request presented, if it is one the catalog knows.
pub async fn token(ctx: &Context, presented: &str) -> anyhow::Result<Option<TokenRecord>> {
    Ok(ctx.catalog.token_by_hash(&secret_hash(presented)).await?)
}

/// A new login: the session id for the cookie (stored only as its sha256) and its CSRF token.
#[derive(Debug)]
pub struct Login {
    pub session_id: SecretString,
    pub session: SessionRecord,
}

/// Checks a user's password and opens a session; `None` when the name or password is wrong
/// (which one is not told). An unknown name costs the same hash as a known one, so timing
/// does not tell either.
pub async fn login(
    ctx: &Context,
    name: &str,
    password: SecretString,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Login>> {
    let credentials = ctx.catalog.user_credentials(name).await?;
    let (role, hash) = match credentials {
        Some((role, hash)) => (Some(role), hash),
        None => (None, hash_password(SecretString::from("not a user")).await?),
    };
    let matches = password_matches(hash, password).await?;
    let Some(role) = role.filter(|_| matches) else {
        return Ok(None);
    };
    ctx.catalog.forget_sessions(now).await?;
    let session_id = random_hex(32)?;
    let session = SessionRecord {
        user: name.to_string(),
        role,
        csrf_token: random_hex(32)?,
        expires_at: now + SESSION_LIFETIME,
    };
    ctx.catalog
        .create_session(&crate::catalog::NewSession {
            id_sha256: &secret_hash(&session_id),
            user: name,
            csrf_token: &session.csrf_token,
            created_at: now,
            expires_at: session.expires_at,
        })
        .await?;
    Ok(Some(Login {
        session_id: SecretString::from(session_id),
        session,
    }))
}

/// The live session a cookie names.
pub async fn session(
    ctx: &Context,
    session_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SessionRecord>> {
    Ok(ctx.catalog.session(&secret_hash(session_id), now).await?)
}

/// Ends the session a cookie names.
pub async fn logout(ctx: &Context, session_id: &str) -> anyhow::Result<()> {
    Ok(ctx.catalog.end_session(&secret_hash(session_id)).await?)
}

/// Appends `action` on `target` by `actor` to the audit log.
pub async fn record(
    ctx: &Context,
    actor_kind: ActorKind,
    actor: &str,
    action: &str,
    target: &str,
) -> anyhow::Result<()> {
    let entry = ActionRecord {
        id: ulid::Ulid::new().to_string(),
        at: Utc::now(),
        actor_kind,
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
    };
    Ok(ctx.catalog.record_action(&entry).await?)
}

/// The newest entries of the audit log.
pub async fn audit_log(ctx: &Context, limit: u32) -> anyhow::Result<Vec<ActionRecord>> {
    Ok(ctx.catalog.actions(limit).await?)
}

/// Whether anyone can log in or call the API (the web refuses other hosts until then).
pub async fn has_credentials(ctx: &Context) -> anyhow::Result<bool> {
    Ok(ctx.catalog.has_credentials().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        for good in ["alice", "ci-bot", "a.b_c@example.org"] {
            assert!(check_name("user", good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "x/y", "<script>", &"a".repeat(65)] {
            assert!(check_name("user", bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_hash_matches_its_password_only() {
        let hash = hash_password(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(
            password_matches(hash.clone(), SecretString::from("correct horse battery"))
                .await
                .unwrap()
        );
        assert!(
            !password_matches(hash, SecretString::from("correct horse batterY"))
                .await
                .unwrap()
        );
        assert!(
            !password_matches("garbage".into(), SecretString::from("x"))
                .await
                .unwrap()
        );
    }
}
