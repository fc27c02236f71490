macro_rules! session_repo {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::SessionRepo for $store {
            async fn create_session(
                &self,
                session: &$crate::store::NewSession,
                refresh: Option<&$crate::store::NewToken>,
                access: &$crate::store::NewToken,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO device_sessions (id, account_id, device_label, created_at, last_used_at, expires_at)
                     VALUES ($1, $2, $3, $4, $4, $5)",
                )
                .bind(session.id)
                .bind(session.account_id)
                .bind(session.device_label.as_deref())
                .bind(Ts::from(session.created_at))
                .bind(Ts::from(session.expires_at))
                .execute(&mut *tx)
                .await?;
                if let Some(refresh) = refresh {
                    sqlx::query(
                        "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&refresh.hash)
                    .bind(session.id)
                    .bind(Ts::from(session.created_at))
                    .bind(Ts::from(refresh.expires_at.min(session.expires_at)))
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("INSERT INTO access_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(&access.hash)
                    .bind(session.id)
                    .bind(Ts::from(access.expires_at.min(session.expires_at)))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn authenticate(
                &self,
                access_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::Principal>> {
                use $crate::store::{StoreError, types::Ts};
                let row: Option<(uuid::Uuid, uuid::Uuid, String, String)> = sqlx::query_as(
                    "SELECT a.id, s.id, a.role, a.time_zone
                     FROM access_tokens t
                     JOIN device_sessions s ON s.id = t.session_id
                     JOIN accounts a ON a.id = s.account_id
                     WHERE t.token_hash = $1 AND t.expires_at > $2 AND s.revoked_at IS NULL AND s.expires_at > $2",
                )
                .bind(access_hash)
                .bind(Ts::from(now))
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(account_id, session_id, role, zone)| {
                    let role = $crate::domain::Role::from_db(&role).ok_or_else(|| StoreError::Corrupt("accounts.role".into()))?;
                    let time_zone = $crate::domain::TimeZone::parse(&zone).map_err(|_| StoreError::Corrupt("accounts.time_zone".into()))?;
                    Ok($crate::store::Principal { account_id, session_id, role, time_zone })
                })
                .transpose()
            }

            async fn touch_browser_session(
                &self,
                access_hash: &str,
                session_id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
                idle_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE access_tokens SET expires_at = $3 WHERE token_hash = $1 AND session_id = $2")
                    .bind(access_hash)
                    .bind(session_id)
                    .bind(Ts::from(idle_until))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE device_sessions SET last_used_at = $2 WHERE id = $1")
                    .bind(session_id)
                    .bind(Ts::from(now))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn rotate_refresh(
                &self,
                refresh_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
                next_refresh: &$crate::store::NewToken,
                next_access: &$crate::store::NewToken,
            ) -> $crate::store::StoreResult<$crate::store::RefreshOutcome> {
                use $crate::store::{Principal, RefreshOutcome, StoreError, types::Ts};
                let now = Ts::from(now);
                let mut tx = self.begin_write().await?;
                // Spending the token is the conditional update itself, so two concurrent uses of
                // one token cannot both succeed.
                let spent: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "UPDATE refresh_tokens SET used_at = $2
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                     RETURNING session_id",
                )
                .bind(refresh_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((session_id,)) = spent else {
                    let reused: Option<(uuid::Uuid,)> = sqlx::query_as(
                        "SELECT t.session_id FROM refresh_tokens t JOIN device_sessions s ON s.id = t.session_id
                         WHERE t.token_hash = $1 AND t.used_at IS NOT NULL AND s.revoked_at IS NULL",
                    )
                    .bind(refresh_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((session_id,)) = reused else {
                        return Ok(RefreshOutcome::Invalid);
                    };
                    sqlx::query(
                        "UPDATE device_sessions SET revoked_at = $2, revoked_reason = 'refresh_token_reused' WHERE id = $1",
                    )
                    .bind(session_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    return Ok(RefreshOutcome::Reused);
                };
                let session: Option<(uuid::Uuid, String, String, Ts)> = sqlx::query_as(
                    "SELECT a.id, a.role, a.time_zone, s.expires_at FROM device_sessions s JOIN accounts a ON a.id = s.account_id
                     WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
                )
                .bind(session_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((account_id, role, zone, session_expires)) = session else {
                    // Rolling back leaves the token unspent; it stays useless with its session.
                    return Ok(RefreshOutcome::Invalid);
                };
                let role = $crate::domain::Role::from_db(&role).ok_or_else(|| StoreError::Corrupt("accounts.role".into()))?;
                let time_zone = $crate::domain::TimeZone::parse(&zone).map_err(|_| StoreError::Corrupt("accounts.time_zone".into()))?;
                sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(&next_refresh.hash)
                    .bind(session_id)
                    .bind(now)
                    .bind(Ts::from(next_refresh.expires_at).min(session_expires))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO access_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(&next_access.hash)
                    .bind(session_id)
                    .bind(Ts::from(next_access.expires_at).min(session_expires))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE device_sessions SET last_used_at = $2 WHERE id = $1")
                    .bind(session_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(RefreshOutcome::Rotated(Principal { account_id, session_id, role, time_zone }, session_expires.0))
            }

            async fn sessions(
                &self,
                account_id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SessionRecord>> {
                use $crate::store::types::Ts;
                let rows: Vec<(uuid::Uuid, Option<String>, Ts, Ts, Ts)> = sqlx::query_as(
                    // A session counts while a token of it still works: a browser's ends when its
                    // one token idles out, an app's when its last refresh token does.
                    "SELECT s.id, s.device_label, s.created_at, s.last_used_at, s.expires_at FROM device_sessions s
                     WHERE s.account_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
                       AND (EXISTS (SELECT 1 FROM access_tokens t WHERE t.session_id = s.id AND t.expires_at > $2)
                            OR EXISTS (SELECT 1 FROM refresh_tokens r
                                       WHERE r.session_id = s.id AND r.used_at IS NULL AND r.expires_at > $2))
                     ORDER BY s.last_used_at DESC, s.id",
                )
                .bind(account_id)
                .bind(Ts::from(now))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, device_label, created_at, last_used_at, expires_at)| $crate::store::SessionRecord {
                        id,
                        device_label,
                        created_at: created_at.0,
                        last_used_at: last_used_at.0,
                        expires_at: expires_at.0,
                    })
                    .collect())
            }

            async fn revoke_session(
                &self,
                account_id: uuid::Uuid,
                session_id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
                reason: &str,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::types::Ts;
                let result = sqlx::query(
                    "UPDATE device_sessions SET revoked_at = $3, revoked_reason = $4
                     WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL AND expires_at > $3",
                )
                .bind(session_id)
                .bind(account_id)
                .bind(Ts::from(now))
                .bind(reason)
                .execute(self.writer())
                .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn purge_expired(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<u64> {
                use $crate::store::types::Ts;
                let now = Ts::from(now);
                let mut purged = 0;
                // Ended sessions take their tokens with them (ON DELETE CASCADE).
                for statement in [
                    "DELETE FROM device_sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL",
                    "DELETE FROM access_tokens WHERE expires_at <= $1",
                    "DELETE FROM refresh_tokens WHERE expires_at <= $1",
                ] {
                    purged += sqlx::query(statement).bind(now).execute(self.writer()).await?.rows_affected();
                }
                Ok(purged)
            }
        }
    };
}
pub(crate) use session_repo;
