/// Share links (`store::ShareLinkRepo`). Needs `insert_access_line` from `care_repo!` in the
/// same module.
macro_rules! share_link_repo {
    ($store:ty, $db:ty) => {
        fn share_link_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> $crate::store::StoreResult<$crate::domain::share::ShareLink> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            Ok($crate::domain::share::ShareLink {
                id: row.try_get("id")?,
                patient_id: row.try_get("patient_id")?,
                label: row.try_get("label")?,
                from: row.try_get("from_date")?,
                to: row.try_get("to_date")?,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                expires_at: row.try_get::<Ts, _>("expires_at")?.0,
                revoked_at: row.try_get::<Option<Ts>, _>("revoked_at")?.map(|t| t.0),
                open_count: row.try_get::<i64, _>("open_count")?.max(0) as u64,
                last_opened_at: row.try_get::<Option<Ts>, _>("last_opened_at")?.map(|t| t.0),
            })
        }

        #[async_trait::async_trait]
        impl $crate::store::ShareLinkRepo for $store {
            async fn create_share_link(
                &self,
                link: &$crate::domain::share::ShareLink,
                token_hash: &str,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                sqlx::query(
                    "INSERT INTO share_links (id, patient_id, token_hash, label, from_date, to_date, created_at,
                                              expires_at, revoked_at, open_count, last_opened_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, 0, NULL)",
                )
                .bind(link.id)
                .bind(link.patient_id)
                .bind(token_hash)
                .bind(link.label.as_deref())
                .bind(link.from)
                .bind(link.to)
                .bind(Ts::from(link.created_at))
                .bind(Ts::from(link.expires_at))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn share_links(
                &self,
                patient_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::share::ShareLink>> {
                let rows =
                    sqlx::query("SELECT * FROM share_links WHERE patient_id = $1 ORDER BY created_at DESC, id DESC")
                        .bind(patient_id)
                        .fetch_all(&self.pool)
                        .await?;
                rows.iter().map(share_link_from_row).collect()
            }

            async fn revoke_share_link(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::types::Ts;
                let result = sqlx::query(
                    "UPDATE share_links SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND patient_id = $2",
                )
                .bind(id)
                .bind(patient_id)
                .bind(Ts::from(now))
                .execute(self.writer())
                .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn share_link_by_token_hash(
                &self,
                token_hash: &str,
            ) -> $crate::store::StoreResult<Option<$crate::domain::share::ShareLink>> {
                let row = sqlx::query("SELECT * FROM share_links WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(share_link_from_row).transpose()
            }

            async fn record_share_link_open(
                &self,
                link_id: uuid::Uuid,
                audit: &$crate::store::AccessRecord,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                insert_access_line(&mut tx, audit).await?;
                if audit.allowed {
                    sqlx::query(
                        "UPDATE share_links SET open_count = open_count + 1, last_opened_at = $2 WHERE id = $1",
                    )
                    .bind(link_id)
                    .bind(Ts::from(audit.at))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use share_link_repo;
