macro_rules! account_repo {
    ($store:ty, $db:ty) => {
        fn account_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::domain::Account> {
            use sqlx::Row as _;
            use $crate::domain;
            use $crate::store::{StoreError, types::Ts};

            let corrupt = |what: &str| StoreError::Corrupt(format!("accounts.{what}"));
            let text = |column: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(column)?) };
            let (time_zone, quiet_hours) =
                $crate::store::codec::local_time(&text("time_zone")?, &text("quiet_start")?, &text("quiet_end")?)?;
            let discipline: Option<String> = row.try_get("discipline")?;
            let display_name: Option<String> = row.try_get("display_name")?;
            Ok(domain::Account {
                id: row.try_get("id")?,
                email: domain::Email::parse(&text("email")?).map_err(|_| corrupt("email"))?,
                role: domain::Role::from_db(&text("role")?).ok_or_else(|| corrupt("role"))?,
                discipline: discipline
                    .map(|d| domain::Discipline::from_db(&d).ok_or_else(|| corrupt("discipline")))
                    .transpose()?,
                display_name: display_name
                    .map(|n| domain::DisplayName::parse(&n).map_err(|_| corrupt("display_name")))
                    .transpose()?,
                time_zone,
                quiet_hours,
                locale: domain::Locale::parse(&text("locale")?).map_err(|_| corrupt("locale"))?,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                updated_at: row.try_get::<Ts, _>("updated_at")?.0,
            })
        }

        #[async_trait::async_trait]
        impl $crate::store::AccountRepo for $store {
            async fn create_account(&self, new: &$crate::store::NewAccount) -> $crate::store::StoreResult<()> {
                use $crate::domain::time::format_clock_time;
                use $crate::store::types::Ts;
                let a = &new.account;
                sqlx::query(
                    "INSERT INTO accounts (id, email, password_hash, role, discipline, display_name, time_zone,
                                           quiet_start, quiet_end, locale, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(a.id)
                .bind(a.email.as_str())
                .bind(&new.password_hash)
                .bind(a.role.as_str())
                .bind(a.discipline.map(|d| d.as_str()))
                .bind(a.display_name.as_ref().map(|n| n.as_str().to_owned()))
                .bind(a.time_zone.name())
                .bind(format_clock_time(a.quiet_hours.start))
                .bind(format_clock_time(a.quiet_hours.end))
                .bind(a.locale.as_str().to_owned())
                .bind(Ts::from(a.created_at))
                .bind(Ts::from(a.updated_at))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn account(&self, id: uuid::Uuid) -> $crate::store::StoreResult<Option<$crate::domain::Account>> {
                let row =
                    sqlx::query("SELECT * FROM accounts WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(account_from_row).transpose()
            }

            async fn credentials(
                &self,
                email: &$crate::domain::Email,
            ) -> $crate::store::StoreResult<Option<(uuid::Uuid, String)>> {
                Ok(sqlx::query_as("SELECT id, password_hash FROM accounts WHERE email = $1")
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn password_hash(&self, id: uuid::Uuid) -> $crate::store::StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn save_profile(&self, a: &$crate::domain::Account) -> $crate::store::StoreResult<()> {
                use $crate::domain::time::format_clock_time;
                use $crate::store::types::Ts;
                sqlx::query(
                    "UPDATE accounts SET display_name = $2, time_zone = $3, quiet_start = $4, quiet_end = $5,
                                         locale = $6, updated_at = $7
                     WHERE id = $1",
                )
                .bind(a.id)
                .bind(a.display_name.as_ref().map(|n| n.as_str().to_owned()))
                .bind(a.time_zone.name())
                .bind(format_clock_time(a.quiet_hours.start))
                .bind(format_clock_time(a.quiet_hours.end))
                .bind(a.locale.as_str().to_owned())
                .bind(Ts::from(a.updated_at))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn change_password(
                &self,
                id: uuid::Uuid,
                password_hash: &str,
                keep_session: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(password_hash)
                    .bind(Ts::from(now))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE device_sessions SET revoked_at = $3, revoked_reason = 'password_changed'
                     WHERE account_id = $1 AND id <> $2 AND revoked_at IS NULL",
                )
                .bind(id)
                .bind(keep_session)
                .bind(Ts::from(now))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_account(&self, id: uuid::Uuid) -> $crate::store::StoreResult<bool> {
                // Every table that holds an account's data references it with ON DELETE CASCADE.
                let result = sqlx::query("DELETE FROM accounts WHERE id = $1").bind(id).execute(self.writer()).await?;
                Ok(result.rows_affected() > 0)
            }
        }
    };
}
pub(crate) use account_repo;
