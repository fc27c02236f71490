macro_rules! rate_limit_repo {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::RateLimitRepo for $store {
            async fn count_event(
                &self,
                key: &str,
                now_ms: i64,
                window_ms: i64,
            ) -> $crate::store::StoreResult<$crate::store::RateWindow> {
                let (count, ends_at_ms): (i64, i64) = sqlx::query_as(
                    "INSERT INTO rate_limit_windows (key, count, ends_at_ms) VALUES ($1, 1, $2 + $3)
                     ON CONFLICT (key) DO UPDATE SET
                        count = CASE WHEN rate_limit_windows.ends_at_ms <= $2 THEN 1
                                     ELSE rate_limit_windows.count + 1 END,
                        ends_at_ms = CASE WHEN rate_limit_windows.ends_at_ms <= $2 THEN $2 + $3
                                          ELSE rate_limit_windows.ends_at_ms END
                     RETURNING count, ends_at_ms",
                )
                .bind(key)
                .bind(now_ms)
                .bind(window_ms)
                .fetch_one(self.writer())
                .await?;
                Ok($crate::store::RateWindow { count, ends_at_ms })
            }

            async fn uncount_event(&self, key: &str, now_ms: i64) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE rate_limit_windows SET count = count - 1 WHERE key = $1 AND count > 0 AND ends_at_ms > $2",
                )
                .bind(key)
                .bind(now_ms)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn event_window(
                &self,
                key: &str,
                now_ms: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::RateWindow>> {
                let row: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT count, ends_at_ms FROM rate_limit_windows WHERE key = $1 AND ends_at_ms > $2",
                )
                .bind(key)
                .bind(now_ms)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(count, ends_at_ms)| $crate::store::RateWindow { count, ends_at_ms }))
            }

            async fn forget_events(&self, key: &str) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM rate_limit_windows WHERE key = $1").bind(key).execute(self.writer()).await?;
                Ok(())
            }

            async fn purge_rate_windows(&self, now_ms: i64) -> $crate::store::StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM rate_limit_windows WHERE ends_at_ms <= $1")
                    .bind(now_ms)
                    .execute(self.writer())
                    .await?
                    .rows_affected())
            }
        }
    };
}
pub(crate) use rate_limit_repo;
