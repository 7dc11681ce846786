//! [`Access`](crate::Access) for both SQL backends, written once like `sql.rs`: the same
//! portable, parameterised statements, decoded with `try_get`.

/// Implements `Access` for `$ty { pool }`, whose rows are `$row`.
macro_rules! sql_access {
    ($ty:ident, $row:ty) => {
        mod access_queries {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::$ty;
            use $crate::{
                Access, ActionRecord, ActorKind, CatalogError, NewSession, Result, Role,
                SessionRecord, TokenRecord, UserRecord, parse_time, timestamp,
            };

            type DbRow = $row;

            fn role(row: &DbRow) -> Result<Role> {
                let text: String = row.try_get("role")?;
                Role::parse(&text).ok_or_else(|| CatalogError::Invalid(format!("role {text:?}")))
            }

            fn time(row: &DbRow, column: &str) -> Result<DateTime<Utc>> {
                parse_time(&row.try_get::<String, _>(column)?)
            }

            fn token_from_row(row: &DbRow) -> Result<TokenRecord> {
                Ok(TokenRecord {
                    name: row.try_get("name")?,
                    role: role(row)?,
                    created_at: time(row, "created_at")?,
                })
            }

            #[async_trait]
            impl Access for $ty {
                async fn add_user(
                    &self,
                    name: &str,
                    role: Role,
                    password_hash: &str,
                    at: DateTime<Utc>,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "INSERT INTO users (name, role, password_hash, created_at)
                         VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(role.as_str())
                    .bind(password_hash)
                    .bind(timestamp(at))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn users(&self) -> Result<Vec<UserRecord>> {
                    let rows =
                        sqlx::query("SELECT name, role, created_at FROM users ORDER BY name")
                            .fetch_all(&self.pool)
                            .await?;
                    rows.iter()
                        .map(|row| {
                            Ok(UserRecord {
                                name: row.try_get("name")?,
                                role: role(row)?,
                                created_at: time(row, "created_at")?,
                            })
                        })
                        .collect()
                }

                async fn user_credentials(&self, name: &str) -> Result<Option<(Role, String)>> {
                    let row = sqlx::query("SELECT role, password_hash FROM users WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|row| Ok((role(&row)?, row.try_get("password_hash")?)))
                        .transpose()
                }

                async fn remove_user(&self, name: &str) -> Result<bool> {
                    let mut tx = self.pool.begin().await?;
                    sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                    let done = sqlx::query("DELETE FROM users WHERE name = $1")
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn add_token(
                    &self,
                    name: &str,
                    role: Role,
                    sha256: &str,
                    at: DateTime<Utc>,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "INSERT INTO api_tokens (name, role, sha256, created_at)
                         VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(role.as_str())
                    .bind(sha256)
                    .bind(timestamp(at))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn tokens(&self) -> Result<Vec<TokenRecord>> {
                    let rows =
                        sqlx::query("SELECT name, role, created_at FROM api_tokens ORDER BY name")
                            .fetch_all(&self.pool)
                            .await?;
                    rows.iter().map(token_from_row).collect()
                }

                async fn token_by_hash(&self, sha256: &str) -> Result<Option<TokenRecord>> {
                    let row = sqlx::query(
                        "SELECT name, role, created_at FROM api_tokens WHERE sha256 = $1",
                    )
                    .bind(sha256)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.as_ref().map(token_from_row).transpose()
                }

                async fn revoke_token(&self, name: &str) -> Result<bool> {
                    let done = sqlx::query("DELETE FROM api_tokens WHERE name = $1")
                        .bind(name)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn has_credentials(&self) -> Result<bool> {
                    let row = sqlx::query(
                        "SELECT (SELECT COUNT(*) FROM users)
                              + (SELECT COUNT(*) FROM api_tokens) AS n",
                    )
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(row.try_get::<i64, _>("n")? > 0)
                }

                async fn create_session(&self, s: &NewSession<'_>) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO sessions
                             (id_sha256, user_name, csrf_token, created_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(s.id_sha256)
                    .bind(s.user)
                    .bind(s.csrf_token)
                    .bind(timestamp(s.created_at))
                    .bind(timestamp(s.expires_at))
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn session(
                    &self,
                    id_sha256: &str,
                    now: DateTime<Utc>,
                ) -> Result<Option<SessionRecord>> {
                    let row = sqlx::query(
                        "SELECT s.user_name, u.role, s.csrf_token, s.expires_at
                         FROM sessions s JOIN users u ON u.name = s.user_name
                         WHERE s.id_sha256 = $1 AND s.expires_at > $2",
                    )
                    .bind(id_sha256)
                    .bind(timestamp(now))
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|row| {
                        Ok(SessionRecord {
                            user: row.try_get("user_name")?,
                            role: role(&row)?,
                            csrf_token: row.try_get("csrf_token")?,
                            expires_at: time(&row, "expires_at")?,
                        })
                    })
                    .transpose()
                }

                async fn end_session(&self, id_sha256: &str) -> Result<()> {
                    sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
                        .bind(id_sha256)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn forget_sessions(&self, before: DateTime<Utc>) -> Result<u64> {
                    let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                        .bind(timestamp(before))
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn record_action(&self, a: &ActionRecord) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO audit_log (id, at, actor_kind, actor, action, target)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&a.id)
                    .bind(timestamp(a.at))
                    .bind(a.actor_kind.as_str())
                    .bind(&a.actor)
                    .bind(&a.action)
                    .bind(&a.target)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn actions(&self, limit: u32) -> Result<Vec<ActionRecord>> {
                    let rows = sqlx::query(
                        "SELECT id, at, actor_kind, actor, action, target FROM audit_log
                         ORDER BY at DESC, id DESC LIMIT $1",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let kind: String = row.try_get("actor_kind")?;
                            Ok(ActionRecord {
                                id: row.try_get("id")?,
                                at: time(row, "at")?,
                                actor_kind: ActorKind::parse(&kind).ok_or_else(|| {
                                    CatalogError::Invalid(format!("actor kind {kind:?}"))
                                })?,
                                actor: row.try_get("actor")?,
                                action: row.try_get("action")?,
                                target: row.try_get("target")?,
                            })
                        })
                        .collect()
                }
            }
        }
    };
}

pub(crate) use sql_access;
