macro_rules! notification_repo {
    ($store:ty, $db:ty, new_uuid = $new_uuid:literal, claim = $claim:literal, claim_reads_back = $claim_reads_back:literal,
     claim_due_lock = $claim_due_lock:literal) => {
        /// Due notifications turned into deliveries per transaction.
        const FAN_OUT_BATCH: usize = 500;

        /// `$first, $first+1, …`: one placeholder per id of a claimed batch.
        fn id_placeholders(first: usize, count: usize) -> String {
            (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
        }

        /// `($first, …), (…), …`: `rows` rows of `width` numbered placeholders, for a VALUES list.
        fn row_placeholders(first: usize, rows: usize, width: usize) -> String {
            (0..rows)
                .map(|row| format!("({})", id_placeholders(first + row * width, width)))
                .collect::<Vec<_>>()
                .join(", ")
        }

        type Query<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>;

        /// What the dispatcher reads about each delivery it claimed (aliases d, n and s).
        const CLAIMED_COLUMNS: &str = "d.id, d.attempts, d.notification_id, d.subscription_id, n.kind, n.title, n.body, n.link,
                 n.ttl_seconds, n.urgency, n.topic, n.about_patient_id, s.endpoint, s.p256dh, s.auth";

        /// The claim's read-back where the claim itself returns only ids: the claimed rows by
        /// primary key, with their notification and subscription, in due order.
        fn read_back_query<'q>(prefix: &str, ids: &[uuid::Uuid]) -> Query<'q> {
            let sql = format!(
                "{prefix}SELECT {CLAIMED_COLUMNS}
                 FROM push_deliveries d
                 JOIN notifications n ON n.id = d.notification_id
                 JOIN push_subscriptions s ON s.id = d.subscription_id
                 WHERE d.id IN ({}) ORDER BY d.next_attempt_at, d.id",
                id_placeholders(1, ids.len())
            );
            ids.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false), |q, id| q.bind(*id))
        }

        /// One statement records every outcome of a batch but the gone subscriptions: `$1` is
        /// now, then (id, lease owner, result, retry time, status, error) for each. Only the
        /// lease's holder's outcome counts, except that an accepted message also completes a
        /// delivery that was taken back and waits for a retry.
        fn completion_query<'q>(
            prefix: &str,
            outcomes: &'q [($crate::store::ClaimedDelivery, $crate::store::DeliveryResult)],
            now: $crate::store::types::Ts,
        ) -> Option<Query<'q>> {
            use $crate::store::DeliveryResult;
            use $crate::store::types::Ts;
            let rows: Vec<_> =
                outcomes.iter().filter(|(_, result)| !matches!(result, DeliveryResult::Gone { .. })).collect();
            if rows.is_empty() {
                return None;
            }
            let sql = format!(
                "{prefix}WITH v (id, owner, result, at, status, error) AS (VALUES {})
                 UPDATE push_deliveries
                    SET state = CASE v.result WHEN 'sent' THEN 'sent' WHEN 'retry' THEN 'pending' ELSE 'dead' END,
                        next_attempt_at = CASE WHEN v.result = 'retry' THEN v.at ELSE push_deliveries.next_attempt_at END,
                        last_status = v.status, last_error = v.error, lease_until = NULL, lease_owner = NULL, updated_at = $1
                 FROM v
                 WHERE push_deliveries.id = v.id
                   AND ((push_deliveries.state = 'leased' AND push_deliveries.lease_owner = v.owner)
                        OR (v.result = 'sent' AND push_deliveries.state = 'pending'))
                 RETURNING push_deliveries.id",
                row_placeholders(2, rows.len(), 6)
            );
            let query = rows.into_iter().fold(
                sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false).bind(now),
                |q, (delivery, result)| {
                    let (kind, at, status, error): (&str, Option<Ts>, Option<i32>, Option<&'q str>) = match result {
                        DeliveryResult::Sent { status } => ("sent", None, Some(i32::from(*status)), None),
                        DeliveryResult::Retry { at, status, error } => {
                            ("retry", Some(Ts::from(*at)), status.map(i32::from), Some(error.as_str()))
                        }
                        DeliveryResult::Dead { status, error } => ("dead", None, status.map(i32::from), Some(error.as_str())),
                        DeliveryResult::Gone { status } => ("gone", None, Some(i32::from(*status)), None),
                    };
                    q.bind(delivery.id).bind(delivery.lease_owner.as_str()).bind(kind).bind(at).bind(status).bind(error)
                },
            );
            Some(query)
        }

        /// Hands leased deliveries back unsent (the attempt given back, the due time kept): the
        /// (id, lease owner) of each, from `$1` on.
        fn release_query<'q>(prefix: &str, deliveries: &'q [$crate::store::ClaimedDelivery]) -> Query<'q> {
            let sql = format!(
                "{prefix}WITH v (id, owner) AS (VALUES {})
                 UPDATE push_deliveries
                    SET state = 'pending', attempts = push_deliveries.attempts - 1, lease_until = NULL, lease_owner = NULL
                 FROM v
                 WHERE push_deliveries.id = v.id AND push_deliveries.state = 'leased' AND push_deliveries.lease_owner = v.owner",
                row_placeholders(1, deliveries.len(), 2)
            );
            deliveries
                .iter()
                .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false), |q, d| q.bind(d.id).bind(d.lease_owner.as_str()))
        }

        /// Records as dead the therapists' copies among leased deliveries whose consent is not in
        /// force at `$1`: (id, lease owner) of each from `$3` on.
        fn consent_query<'q>(
            prefix: &str,
            deliveries: &[&'q $crate::store::ClaimedDelivery],
            now: $crate::store::types::Ts,
        ) -> Query<'q> {
            let sql = format!(
                concat!(
                    "{}WITH v (id, owner) AS (VALUES {})
                     UPDATE push_deliveries
                        SET state = 'dead', last_error = 'consent withdrawn', lease_until = NULL, lease_owner = NULL,
                            updated_at = $1
                     FROM v
                     WHERE push_deliveries.id = v.id AND push_deliveries.state = 'leased' AND push_deliveries.lease_owner = v.owner
                       AND EXISTS (SELECT 1 FROM notifications
                                   WHERE notifications.id = push_deliveries.notification_id
                                     AND notifications.about_patient_id IS NOT NULL
                                     AND NOT EXISTS (",
                    $crate::store::sql::alert_consent_live!(),
                    "))
                     RETURNING push_deliveries.id"
                ),
                prefix,
                row_placeholders(3, deliveries.len(), 2)
            );
            deliveries.iter().fold(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .persistent(false)
                    .bind(now)
                    .bind(format!("%,{},%", $crate::domain::care::Scope::ReceiveAlerts.as_str())),
                |q, d| q.bind(d.id).bind(d.lease_owner.as_str()),
            )
        }

        const RESCUE_SQL: &str = "UPDATE push_deliveries SET state = 'pending', next_attempt_at = $1, lease_until = NULL, lease_owner = NULL,
                    updated_at = $1
             WHERE state = 'leased' AND lease_until < $1";

        const NEXT_WAKE_SQL: &str = "SELECT (SELECT min(due_at) FROM notifications WHERE state = 'scheduled'),
                    (SELECT min(next_attempt_at) FROM push_deliveries WHERE state = 'pending' AND next_attempt_at > $1),
                    (SELECT min(lease_until) FROM push_deliveries WHERE state = 'leased')";

        // Each count on its own partial index: the queue, not the table's history.
        const QUEUE_STATS_SQL: &str = "SELECT (SELECT count(*) FROM push_deliveries WHERE state = 'pending'),
                    (SELECT count(*) FROM push_deliveries WHERE state = 'leased'),
                    (SELECT min(next_attempt_at) FROM push_deliveries WHERE state = 'pending')";

        const FAN_OUT_SELECT_SQL: &str = concat!(
            "SELECT id FROM notifications WHERE state = 'scheduled' AND due_at <= $1
             ORDER BY due_at, id LIMIT $2",
            $claim_due_lock
        );

        /// A daily reminder whose day the patient has logged is not sent.
        fn fan_out_cancel_sql(prefix: &str, count: usize) -> String {
            format!(
                "{prefix}UPDATE notifications SET state = 'cancelled'
                 WHERE id IN ({}) AND kind = 'daily_reminder'
                   AND EXISTS (SELECT 1 FROM journal_entries e
                               WHERE e.patient_id = notifications.account_id AND e.local_date = notifications.subject_date
                                 AND NOT e.deleted)",
                id_placeholders(1, count)
            )
        }

        /// A therapist's copy of a client's alert goes out only under the consent in force now:
        /// revoked, ended, expired or without `receive_alerts`, it is not sent.
        fn fan_out_withdrawn_sql(prefix: &str, count: usize) -> String {
            format!(
                "{prefix}UPDATE notifications SET state = 'cancelled'
                 WHERE id IN ({}) AND about_patient_id IS NOT NULL
                   AND NOT EXISTS ({})",
                id_placeholders(3, count),
                $crate::store::sql::alert_consent_live!()
            )
        }

        fn fan_out_insert_sql(prefix: &str, count: usize) -> String {
            format!(
                concat!(
                    "{}INSERT INTO push_deliveries (id, notification_id, subscription_id, state, attempts, next_attempt_at, updated_at)
                     SELECT ", $new_uuid, ", n.id, s.id, 'pending', 0, $1, $1
                     FROM notifications n JOIN push_subscriptions s ON s.account_id = n.account_id
                     WHERE n.id IN ({}) AND n.state = 'scheduled' AND s.vapid_key = $2
                       AND (s.expires_at IS NULL OR s.expires_at > $1)
                     ON CONFLICT (notification_id, subscription_id) DO NOTHING"
                ),
                prefix,
                id_placeholders(3, count)
            )
        }

        fn fan_out_mark_sql(prefix: &str, count: usize) -> String {
            format!(
                "{prefix}UPDATE notifications SET state = 'dispatched', dispatched_at = $1 WHERE id IN ({}) AND state = 'scheduled'",
                id_placeholders(2, count)
            )
        }

        fn claimed_from_row(
            row: &<$db as sqlx::Database>::Row,
            token: &str,
        ) -> $crate::store::StoreResult<$crate::store::ClaimedDelivery> {
            use sqlx::Row as _;
            use $crate::domain::notifications::{Kind, Urgency};
            let kind: String = row.try_get("kind")?;
            let urgency: String = row.try_get("urgency")?;
            let ttl: i64 = row.try_get::<i64, _>("ttl_seconds").or_else(|_| row.try_get::<i32, _>("ttl_seconds").map(i64::from))?;
            let attempts: i64 = row.try_get::<i64, _>("attempts").or_else(|_| row.try_get::<i32, _>("attempts").map(i64::from))?;
            Ok($crate::store::ClaimedDelivery {
                id: row.try_get("id")?,
                lease_owner: token.to_owned(),
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                notification_id: row.try_get("notification_id")?,
                kind: Kind::parse(&kind).ok_or_else(|| corrupt_notification("kind"))?,
                title: row.try_get("title")?,
                body: row.try_get("body")?,
                link: row.try_get("link")?,
                ttl: std::time::Duration::from_secs(u64::try_from(ttl).unwrap_or(0)),
                urgency: urgency.parse::<Urgency>().map_err(|_| corrupt_notification("urgency"))?,
                topic: row.try_get("topic")?,
                subscription_id: row.try_get("subscription_id")?,
                endpoint: row.try_get("endpoint")?,
                p256dh: row.try_get("p256dh")?,
                auth: row.try_get("auth")?,
                about_patient_id: row.try_get("about_patient_id")?,
            })
        }

        fn corrupt_notification(what: &str) -> $crate::store::StoreError {
            $crate::store::StoreError::Corrupt(format!("notifications.{what}"))
        }

        fn subscription_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::SubscriptionRecord> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            Ok($crate::store::SubscriptionRecord {
                id: row.try_get("id")?,
                endpoint: row.try_get("endpoint")?,
                device_label: row.try_get("device_label")?,
                expires_at: row.try_get::<Option<Ts>, _>("expires_at")?.map(|t| t.0),
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                updated_at: row.try_get::<Ts, _>("updated_at")?.0,
                last_sent_at: row.try_get::<Option<Ts>, _>("last_sent_at")?.map(|t| t.0),
            })
        }

        #[async_trait::async_trait]
        impl $crate::store::NotificationRepo for $store {
            async fn schedule(&self, n: &$crate::store::NewNotification, reschedule: bool) -> $crate::store::StoreResult<bool> {
                let sql = if reschedule {
                    "INSERT INTO notifications (id, account_id, dedupe_key, kind, title, body, link, ttl_seconds, urgency, topic,
                                                due_at, subject_date, state, created_at, about_patient_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'scheduled', $13, $14)
                     ON CONFLICT (account_id, dedupe_key) DO UPDATE
                        SET due_at = excluded.due_at, title = excluded.title, body = excluded.body, link = excluded.link,
                            ttl_seconds = excluded.ttl_seconds, urgency = excluded.urgency
                        WHERE notifications.state = 'scheduled'
                     RETURNING id"
                } else {
                    "INSERT INTO notifications (id, account_id, dedupe_key, kind, title, body, link, ttl_seconds, urgency, topic,
                                                due_at, subject_date, state, created_at, about_patient_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'scheduled', $13, $14)
                     ON CONFLICT (account_id, dedupe_key) DO NOTHING
                     RETURNING id"
                };
                let id: Option<uuid::Uuid> = $crate::store::sql::bind_new_notification!(sqlx::query_scalar(sql), n)
                    .bind(n.about_patient_id)
                    .fetch_optional(self.writer())
                    .await?;
                Ok(id == Some(n.id))
            }

            async fn cancel_scheduled(&self, account_id: uuid::Uuid, prefix: &str) -> $crate::store::StoreResult<u64> {
                Ok(sqlx::query(
                    "UPDATE notifications SET state = 'cancelled'
                     WHERE account_id = $1 AND state = 'scheduled' AND substr(dedupe_key, 1, length($2)) = $2",
                )
                .bind(account_id)
                .bind(prefix)
                .execute(self.writer())
                .await?
                .rows_affected())
            }

            async fn schedule_many(
                &self,
                notifications: &[$crate::store::NewNotification],
                reschedule: bool,
            ) -> $crate::store::StoreResult<u64> {
                use $crate::store::types::Ts;
                // 15 parameters a row stays far below both databases' limit on parameters.
                const CHUNK: usize = 500;
                let mut changed = 0;
                for chunk in notifications.chunks(CHUNK) {
                    let chunk: Vec<&$crate::store::NewNotification> = if reschedule {
                        changed_reminders(&self.pool, chunk).await?
                    } else {
                        chunk.iter().collect()
                    };
                    if chunk.is_empty() {
                        continue;
                    }
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO notifications (id, account_id, dedupe_key, kind, title, body, link, ttl_seconds, urgency,
                                                    topic, due_at, subject_date, state, created_at, about_patient_id) ",
                    );
                    insert.push_values(chunk, |mut row, n| {
                        row.push_bind(n.id)
                            .push_bind(n.account_id)
                            .push_bind(n.dedupe_key.clone())
                            .push_bind(n.kind.as_str())
                            .push_bind(n.title.clone())
                            .push_bind(n.body.clone())
                            .push_bind(n.link.clone())
                            .push_bind(i64::try_from(n.ttl.as_secs()).unwrap_or(i64::MAX))
                            .push_bind(n.urgency.as_str())
                            .push_bind(n.topic.clone())
                            .push_bind(Ts::from(n.due_at))
                            .push_bind(n.subject_date)
                            .push("'scheduled'")
                            .push_bind(Ts::from(n.created_at))
                            .push_bind(n.about_patient_id);
                    });
                    insert.push(if reschedule {
                        // Unchanged rows were left out above; the condition still holds for a row
                        // another pass wrote meanwhile.
                        " ON CONFLICT (account_id, dedupe_key) DO UPDATE
                            SET due_at = excluded.due_at, title = excluded.title, body = excluded.body, link = excluded.link,
                                ttl_seconds = excluded.ttl_seconds, urgency = excluded.urgency
                            WHERE notifications.state = 'scheduled'
                              AND (notifications.due_at <> excluded.due_at OR notifications.title <> excluded.title
                                   OR notifications.body <> excluded.body OR notifications.link <> excluded.link
                                   OR notifications.ttl_seconds <> excluded.ttl_seconds
                                   OR notifications.urgency <> excluded.urgency)"
                    } else {
                        " ON CONFLICT (account_id, dedupe_key) DO NOTHING"
                    });
                    changed += insert.build().execute(self.writer()).await?.rows_affected();
                }
                Ok(changed)
            }

            async fn cancel_scheduled_of(&self, account_ids: &[uuid::Uuid], prefix: &str) -> $crate::store::StoreResult<u64> {
                const CHUNK: usize = 500;
                let mut cancelled = 0;
                for chunk in account_ids.chunks(CHUNK) {
                    let mut update = cancellation_query("", chunk, prefix);
                    cancelled += update.build().execute(self.writer()).await?.rows_affected();
                }
                Ok(cancelled)
            }

            async fn inbox(
                &self,
                account_id: uuid::Uuid,
                before: Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::NotificationRecord>> {
                use sqlx::Row as _;
                use $crate::domain::notifications::Kind;
                use $crate::store::NotificationStatus;
                use $crate::store::types::Ts;
                let (before_at, before_id) = before.map_or((None, None), |(at, id)| (Some(Ts::from(at)), Some(id)));
                let rows = sqlx::query(
                    "SELECT n.id, n.kind, n.title, n.body, n.link, n.due_at, n.state, n.read_at, n.created_at,
                            (SELECT count(*) FROM push_deliveries d WHERE d.notification_id = n.id AND d.state = 'sent') AS sent,
                            (SELECT count(*) FROM push_deliveries d WHERE d.notification_id = n.id AND d.state IN ('pending', 'leased')) AS waiting,
                            (SELECT count(*) FROM push_deliveries d WHERE d.notification_id = n.id AND d.state = 'dead') AS dead
                     FROM notifications n
                     WHERE n.account_id = $1 AND n.state <> 'cancelled'
                       AND ($2 IS NULL OR (n.due_at, n.id) < ($2, $3))
                     ORDER BY n.due_at DESC, n.id DESC LIMIT $4",
                )
                .bind(account_id)
                .bind(before_at)
                .bind(before_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let state: String = row.try_get("state")?;
                        let (sent, waiting, dead): (i64, i64, i64) = (row.try_get("sent")?, row.try_get("waiting")?, row.try_get("dead")?);
                        let status = match state.as_str() {
                            "scheduled" => NotificationStatus::Scheduled,
                            _ if sent > 0 => NotificationStatus::Sent,
                            _ if waiting > 0 => NotificationStatus::Sending,
                            _ if dead > 0 => NotificationStatus::Failed,
                            _ => NotificationStatus::InboxOnly,
                        };
                        let kind: String = row.try_get("kind")?;
                        Ok($crate::store::NotificationRecord {
                            id: row.try_get("id")?,
                            kind: Kind::parse(&kind).ok_or_else(|| corrupt_notification("kind"))?,
                            title: row.try_get("title")?,
                            body: row.try_get("body")?,
                            link: row.try_get("link")?,
                            due_at: row.try_get::<Ts, _>("due_at")?.0,
                            status,
                            read_at: row.try_get::<Option<Ts>, _>("read_at")?.map(|t| t.0),
                            created_at: row.try_get::<Ts, _>("created_at")?.0,
                        })
                    })
                    .collect()
            }

            async fn mark_read(&self, account_id: uuid::Uuid, id: uuid::Uuid, now: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<bool> {
                use $crate::store::types::Ts;
                let result = sqlx::query(
                    "UPDATE notifications SET read_at = COALESCE(read_at, $3)
                     WHERE id = $1 AND account_id = $2 AND state <> 'cancelled'",
                )
                .bind(id)
                .bind(account_id)
                .bind(Ts::from(now))
                .execute(self.writer())
                .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn fan_out_due_batch(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                vapid_key: &str,
            ) -> $crate::store::StoreResult<(u64, bool)> {
                use $crate::store::types::Ts;
                let now = Ts::from(now);
                let mut tx = self.begin_write().await?;
                // First the exact set this round turns into deliveries, locked: what a
                // producer commits meanwhile stays scheduled for the next round instead of
                // being marked dispatched without deliveries, and dispatchers fanning out at
                // the same time take disjoint sets.
                let ids: Vec<uuid::Uuid> = sqlx::query_scalar(FAN_OUT_SELECT_SQL)
                    .bind(now)
                    .bind(FAN_OUT_BATCH as i64)
                    .fetch_all(&mut *tx)
                    .await?;
                if ids.is_empty() {
                    tx.commit().await?;
                    return Ok((0, false));
                }
                let bind_ids = |query: Query<'static>| ids.iter().fold(query.persistent(false), |query, id| query.bind(*id));
                let sql = |text: String| sqlx::query(sqlx::AssertSqlSafe(text));
                bind_ids(sql(fan_out_cancel_sql("", ids.len()))).execute(&mut *tx).await?;
                bind_ids(
                    sql(fan_out_withdrawn_sql("", ids.len()))
                        .bind(now)
                        .bind(format!("%,{},%", $crate::domain::care::Scope::ReceiveAlerts.as_str())),
                )
                .execute(&mut *tx)
                .await?;
                bind_ids(sql(fan_out_insert_sql("", ids.len())).bind(now).bind(vapid_key.to_owned()))
                    .execute(&mut *tx)
                    .await?;
                let dispatched = bind_ids(sql(fan_out_mark_sql("", ids.len())).bind(now))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok((dispatched, ids.len() == FAN_OUT_BATCH))
            }

            async fn claim_deliveries_except(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                owner: &str,
                limit: u32,
                skip: &[String],
            ) -> $crate::store::StoreResult<Vec<$crate::store::ClaimedDelivery>> {
                use sqlx::Row as _;
                use $crate::store::types::Ts;
                if limit == 0 {
                    return Ok(Vec::new());
                }
                // A token of this claim alone: only its holder may record an outcome.
                let token = format!("{owner}:{}", uuid::Uuid::new_v4().simple());
                let rows = sqlx::query($claim)
                    .bind(Ts::from(now))
                    .bind(Ts::from(lease_until))
                    .bind(&token)
                    .bind(i64::from(limit))
                    .bind(serde_json::to_string(skip).unwrap_or_else(|_| "[]".into()))
                    .fetch_all(self.writer())
                    .await?;
                let rows = if $claim_reads_back || rows.is_empty() {
                    rows
                } else {
                    let ids = rows.iter().map(|row| row.try_get("id")).collect::<Result<Vec<uuid::Uuid>, _>>()?;
                    read_back_query("", &ids).fetch_all(&self.pool).await?
                };
                rows.iter().map(|row| claimed_from_row(row, &token)).collect()
            }

            async fn complete_deliveries(
                &self,
                outcomes: &[($crate::store::ClaimedDelivery, $crate::store::DeliveryResult)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<bool>> {
                use sqlx::Row as _;
                use $crate::store::DeliveryResult;
                use $crate::store::types::Ts;
                if outcomes.is_empty() {
                    return Ok(Vec::new());
                }
                let now = Ts::from(now);
                let mut tx = self.begin_write().await?;
                let recorded: std::collections::HashSet<uuid::Uuid> = match completion_query("", outcomes, now) {
                    Some(query) => query
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|row| row.try_get::<uuid::Uuid, _>(0))
                        .collect::<Result<_, _>>()?,
                    None => Default::default(),
                };
                let mut sent: Vec<uuid::Uuid> = outcomes
                    .iter()
                    .filter(|(_, result)| matches!(result, DeliveryResult::Sent { .. }))
                    .map(|(delivery, _)| delivery.subscription_id)
                    .collect();
                sent.sort_unstable();
                sent.dedup();
                if !sent.is_empty() {
                    let sql = format!("UPDATE push_subscriptions SET last_sent_at = $1 WHERE id IN ({})", id_placeholders(2, sent.len()));
                    sent.iter()
                        .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false).bind(now), |q, id| q.bind(*id))
                        .execute(&mut *tx)
                        .await?;
                }
                // The push service says the subscription no longer exists, whoever asked; its
                // deliveries go with it.
                let gone: Vec<uuid::Uuid> = outcomes
                    .iter()
                    .filter(|(_, result)| matches!(result, DeliveryResult::Gone { .. }))
                    .map(|(delivery, _)| delivery.subscription_id)
                    .collect();
                if !gone.is_empty() {
                    let sql = format!("DELETE FROM push_subscriptions WHERE id IN ({})", id_placeholders(1, gone.len()));
                    gone.iter()
                        .fold(sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false), |q, id| q.bind(*id))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(outcomes
                    .iter()
                    .map(|(delivery, result)| matches!(result, DeliveryResult::Gone { .. }) || recorded.contains(&delivery.id))
                    .collect())
            }

            async fn release_deliveries(&self, deliveries: &[$crate::store::ClaimedDelivery]) -> $crate::store::StoreResult<u64> {
                if deliveries.is_empty() {
                    return Ok(0);
                }
                Ok(release_query("", deliveries).execute(self.writer()).await?.rows_affected())
            }

            async fn drop_alert_copies_without_consent(
                &self,
                deliveries: &[$crate::store::ClaimedDelivery],
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<uuid::Uuid>> {
                use sqlx::Row as _;
                let copies: Vec<&$crate::store::ClaimedDelivery> =
                    deliveries.iter().filter(|d| d.about_patient_id.is_some()).collect();
                if copies.is_empty() {
                    return Ok(Vec::new());
                }
                consent_query("", &copies, $crate::store::types::Ts::from(now))
                    .fetch_all(self.writer())
                    .await?
                    .iter()
                    .map(|row| Ok(row.try_get::<uuid::Uuid, _>(0)?))
                    .collect()
            }

            async fn rescue_expired_leases(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<u64> {
                use $crate::store::types::Ts;
                Ok(sqlx::query(RESCUE_SQL).bind(Ts::from(now)).execute(self.writer()).await?.rows_affected())
            }

            async fn release_leases(&self, owner_prefix: &str) -> $crate::store::StoreResult<u64> {
                // Not attempted: give the attempt back.
                Ok(sqlx::query(
                    "UPDATE push_deliveries SET state = 'pending', attempts = attempts - 1, lease_until = NULL, lease_owner = NULL
                     WHERE state = 'leased' AND substr(lease_owner, 1, length($1)) = $1",
                )
                .bind(owner_prefix)
                .execute(self.writer())
                .await?
                .rows_affected())
            }

            async fn next_wake(&self, after: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
                use $crate::store::types::Ts;
                let times: (Option<Ts>, Option<Ts>, Option<Ts>) =
                    sqlx::query_as(NEXT_WAKE_SQL).bind(Ts::from(after)).fetch_one(&self.pool).await?;
                Ok([times.0, times.1, times.2].into_iter().flatten().min().map(|t| t.0))
            }

            async fn queue_stats(&self) -> $crate::store::StoreResult<$crate::store::QueueStats> {
                use $crate::store::types::Ts;
                let (pending, leased, oldest): (i64, i64, Option<Ts>) = sqlx::query_as(QUEUE_STATS_SQL).fetch_one(&self.pool).await?;
                Ok($crate::store::QueueStats {
                    depth: u64::try_from(pending + leased).unwrap_or(0),
                    oldest_due: oldest.map(|t| t.0),
                })
            }

            async fn dispatcher_query_plans(&self) -> $crate::store::StoreResult<Vec<(String, String)>> {
                use sqlx::Row as _;
                use $crate::domain::notifications::{Kind, Urgency};
                use $crate::store::DeliveryResult;
                use $crate::store::types::Ts;
                let sqlite = <$db as sqlx::Database>::NAME == "SQLite";
                let prefix = if sqlite { "EXPLAIN QUERY PLAN " } else { "EXPLAIN (FORMAT JSON) " };
                let now = chrono::Utc::now();
                let ids: Vec<uuid::Uuid> = (0..3).map(|_| uuid::Uuid::new_v4()).collect();
                let delivery = |id: uuid::Uuid, about: Option<uuid::Uuid>| $crate::store::ClaimedDelivery {
                    id,
                    lease_owner: "dispatcher-x:1".into(),
                    attempts: 1,
                    notification_id: uuid::Uuid::new_v4(),
                    kind: Kind::Test,
                    title: String::new(),
                    body: String::new(),
                    link: String::new(),
                    ttl: std::time::Duration::from_secs(60),
                    urgency: Urgency::Normal,
                    topic: String::new(),
                    subscription_id: uuid::Uuid::new_v4(),
                    endpoint: String::new(),
                    p256dh: String::new(),
                    auth: String::new(),
                    about_patient_id: about,
                };
                let deliveries: Vec<_> = ids.iter().map(|id| delivery(*id, Some(uuid::Uuid::new_v4()))).collect();
                let copies: Vec<&$crate::store::ClaimedDelivery> = deliveries.iter().collect();
                let outcomes = vec![
                    (deliveries[0].clone(), DeliveryResult::Sent { status: 201 }),
                    (deliveries[1].clone(), DeliveryResult::Retry { at: now, status: Some(503), error: "x".into() }),
                    (deliveries[2].clone(), DeliveryResult::Dead { status: Some(400), error: "x".into() }),
                ];
                let ts = Ts::from(now);
                let pattern = format!("%,{},%", $crate::domain::care::Scope::ReceiveAlerts.as_str());
                let with_prefix = |sql: &str| format!("{prefix}{sql}");
                let bind_ids = |query: Query<'static>, ids: &[uuid::Uuid]| ids.iter().fold(query, |q, id| q.bind(*id));
                let text = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
                let mut queries: Vec<(&str, Query<'_>)> = vec![
                    (
                        "claim",
                        text(with_prefix($claim))
                            .bind(ts)
                            .bind(ts)
                            .bind("dispatcher-x:1")
                            .bind(100i64)
                            .bind(r#"["https://push.example"]"#),
                    ),
                    ("completion", completion_query(prefix, &outcomes, ts).expect("outcomes to record")),
                    ("hand-back", release_query(prefix, &deliveries)),
                    ("consent check", consent_query(prefix, &copies, ts)),
                    ("fan-out: due", text(with_prefix(FAN_OUT_SELECT_SQL)).bind(ts).bind(FAN_OUT_BATCH as i64)),
                    ("fan-out: logged days", bind_ids(text(fan_out_cancel_sql(prefix, ids.len())), &ids)),
                    ("fan-out: consent", bind_ids(text(fan_out_withdrawn_sql(prefix, ids.len())).bind(ts).bind(pattern.clone()), &ids)),
                    ("fan-out: deliveries", bind_ids(text(fan_out_insert_sql(prefix, ids.len())).bind(ts).bind("key"), &ids)),
                    ("fan-out: mark", bind_ids(text(fan_out_mark_sql(prefix, ids.len())).bind(ts), &ids)),
                    ("rescue", text(with_prefix(RESCUE_SQL)).bind(ts)),
                    ("next wake", text(with_prefix(NEXT_WAKE_SQL)).bind(ts)),
                    ("queue stats", text(with_prefix(QUEUE_STATS_SQL))),
                ];
                if !$claim_reads_back {
                    queries.insert(1, ("claim read-back", read_back_query(prefix, &ids)));
                }
                let mut conn = self.pool.acquire().await?;
                if !sqlite {
                    // Only a plan with no index to use still scans the table then.
                    sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await?;
                }
                let mut plans = Vec::new();
                for (name, query) in queries {
                    let rows = query.fetch_all(&mut *conn).await;
                    let rows = match rows {
                        Ok(rows) => rows,
                        Err(error) => {
                            if !sqlite {
                                let _ = sqlx::query("RESET enable_seqscan").execute(&mut *conn).await;
                            }
                            return Err(error.into());
                        }
                    };
                    let plan = if sqlite {
                        rows.iter().map(|row| row.try_get::<String, _>("detail")).collect::<Result<Vec<_>, _>>()?.join("\n")
                    } else {
                        rows.iter().map(|row| row.try_get_unchecked::<String, _>(0)).collect::<Result<Vec<_>, _>>()?.join("\n")
                    };
                    plans.push((name.to_owned(), plan));
                }
                if !sqlite {
                    sqlx::query("RESET enable_seqscan").execute(&mut *conn).await?;
                }
                Ok(plans)
            }

            async fn shared_vapid_key(&self, candidate: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<String> {
                use $crate::store::types::Ts;
                // Instances starting together race here; the primary key lets one insert, and
                // the others wait for it and read its key.
                sqlx::query("INSERT INTO vapid_keys (id, private_key, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING")
                    .bind(candidate)
                    .bind(Ts::from(now))
                    .execute(self.writer())
                    .await?;
                Ok(sqlx::query_scalar("SELECT private_key FROM vapid_keys WHERE id = 1").fetch_one(&self.pool).await?)
            }

            async fn upsert_subscription(
                &self,
                s: &$crate::store::NewSubscription,
            ) -> $crate::store::StoreResult<($crate::store::SubscriptionRecord, bool)> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(
                    "INSERT INTO push_subscriptions (id, account_id, endpoint, p256dh, auth, device_label, expires_at, vapid_key,
                                                     created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
                     ON CONFLICT (endpoint) DO UPDATE
                        SET account_id = excluded.account_id, p256dh = excluded.p256dh, auth = excluded.auth,
                            device_label = excluded.device_label, expires_at = excluded.expires_at,
                            vapid_key = excluded.vapid_key, updated_at = excluded.updated_at
                     RETURNING *",
                )
                .bind(s.id)
                .bind(s.account_id)
                .bind(&s.endpoint)
                .bind(&s.p256dh)
                .bind(&s.auth)
                .bind(s.device_label.as_deref())
                .bind(s.expires_at.map(Ts::from))
                .bind(&s.vapid_key)
                .bind(Ts::from(s.now))
                .fetch_one(&mut *tx)
                .await?;
                let record = subscription_from_row(&row)?;
                // A browser now signed in as someone else must not receive the previous
                // account's notifications.
                sqlx::query(
                    "DELETE FROM push_deliveries WHERE subscription_id = $1
                       AND notification_id IN (SELECT id FROM notifications WHERE account_id <> $2)",
                )
                .bind(record.id)
                .bind(s.account_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                let created = record.id == s.id;
                Ok((record, created))
            }

            async fn subscriptions(&self, account_id: uuid::Uuid) -> $crate::store::StoreResult<Vec<$crate::store::SubscriptionRecord>> {
                let rows = sqlx::query("SELECT * FROM push_subscriptions WHERE account_id = $1 ORDER BY created_at, id")
                    .bind(account_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(subscription_from_row).collect()
            }

            async fn delete_subscription(&self, account_id: uuid::Uuid, id: uuid::Uuid) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account_id)
                    .execute(self.writer())
                    .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn reminder_settings(
                &self,
                account_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::domain::notifications::ReminderSettings>> {
                let row = sqlx::query(
                    "SELECT daily_enabled, daily_time, weekly_peg_enabled, weekly_peg_weekday, weekly_peg_time
                     FROM reminder_settings WHERE account_id = $1",
                )
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(reminder_settings_from_row).transpose()
            }

            async fn save_reminder_settings(
                &self,
                account_id: uuid::Uuid,
                settings: &$crate::domain::notifications::ReminderSettings,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::domain::time::format_clock_time;
                use $crate::store::types::Ts;
                sqlx::query(
                    "INSERT INTO reminder_settings (account_id, daily_enabled, daily_time, weekly_peg_enabled, weekly_peg_weekday,
                                                    weekly_peg_time, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (account_id) DO UPDATE
                        SET daily_enabled = excluded.daily_enabled, daily_time = excluded.daily_time,
                            weekly_peg_enabled = excluded.weekly_peg_enabled, weekly_peg_weekday = excluded.weekly_peg_weekday,
                            weekly_peg_time = excluded.weekly_peg_time, updated_at = excluded.updated_at",
                )
                .bind(account_id)
                .bind(settings.daily_enabled)
                .bind(format_clock_time(settings.daily_time))
                .bind(settings.weekly_peg_enabled)
                .bind(settings.weekly_peg_weekday.number_from_monday() as i32)
                .bind(format_clock_time(settings.weekly_peg_time))
                .bind(Ts::from(now))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn reminder_targets(
                &self,
                after: uuid::Uuid,
                limit: u32,
            ) -> $crate::store::StoreResult<$crate::store::ReminderPage> {
                use sqlx::Row as _;
                let accounts = sqlx::query(sqlx::AssertSqlSafe(accounts_walk_sql("", limit)))
                    .bind(after)
                    .fetch_all(&self.pool)
                    .await?;
                let next = if accounts.len() == limit as usize {
                    accounts.last().map(|row| row.try_get::<uuid::Uuid, _>("id")).transpose()?
                } else {
                    None
                };
                let mut patients = Vec::with_capacity(accounts.len());
                for row in &accounts {
                    if row.try_get::<String, _>("role")? == "patient" {
                        patients.push(row);
                    }
                }
                let ids: Vec<uuid::Uuid> =
                    patients.iter().map(|row| row.try_get("id")).collect::<Result<_, _>>()?;
                let mut settings = std::collections::HashMap::with_capacity(ids.len());
                if !ids.is_empty() {
                    for row in settings_read("", &ids).build().fetch_all(&self.pool).await? {
                        settings.insert(row.try_get::<uuid::Uuid, _>("account_id")?, reminder_settings_from_row(&row)?);
                    }
                }
                let targets = patients
                    .into_iter()
                    .map(|row| {
                        let text = |c: &str| -> $crate::store::StoreResult<String> { Ok(row.try_get::<String, _>(c)?) };
                        let account_id: uuid::Uuid = row.try_get("id")?;
                        let (time_zone, quiet_hours) =
                            $crate::store::codec::local_time(&text("time_zone")?, &text("quiet_start")?, &text("quiet_end")?)?;
                        let settings = settings.remove(&account_id).unwrap_or_default();
                        Ok($crate::store::ReminderTarget { account_id, time_zone, quiet_hours, settings })
                    })
                    .collect::<$crate::store::StoreResult<Vec<_>>>()?;
                Ok($crate::store::ReminderPage { targets, next })
            }

            async fn planner_query_plans(&self) -> $crate::store::StoreResult<Vec<(String, String)>> {
                use sqlx::Row as _;
                let sqlite = <$db as sqlx::Database>::NAME == "SQLite";
                let prefix = if sqlite { "EXPLAIN QUERY PLAN " } else { "EXPLAIN (FORMAT JSON) " };
                let ids: Vec<uuid::Uuid> = (0..500).map(|_| uuid::Uuid::new_v4()).collect();
                let keys = ["daily:2026-03-10".to_owned(), "daily:2026-03-11".to_owned(), "weekly_peg:2026-03-15".to_owned()];
                let mut settings = settings_read(prefix, &ids);
                let mut existing = existing_reminders_read(prefix, &ids, &keys);
                let mut cancellation = cancellation_query(prefix, &ids, "weekly_peg:");
                let statements: Vec<(&str, Query<'_>)> = vec![
                    (
                        "accounts walk",
                        sqlx::query(sqlx::AssertSqlSafe(accounts_walk_sql(prefix, 500))).persistent(false).bind(uuid::Uuid::nil()),
                    ),
                    ("reminder settings", settings.build().persistent(false)),
                    ("existing reminders", existing.build().persistent(false)),
                    ("cancellations", cancellation.build().persistent(false)),
                ];
                let mut plans = Vec::new();
                for (name, statement) in statements {
                    let rows = statement.fetch_all(&self.pool).await?;
                    let plan = if sqlite {
                        rows.iter().map(|row| row.try_get::<String, _>("detail")).collect::<Result<Vec<_>, _>>()?.join("\n")
                    } else {
                        rows.iter().map(|row| row.try_get_unchecked::<String, _>(0)).collect::<Result<Vec<_>, _>>()?.join("\n")
                    };
                    plans.push((name.to_owned(), plan));
                }
                Ok(plans)
            }
        }

        /// The planner's walk over the accounts, `limit` at a time by primary key from `$1`. Every
        /// role is read (the caller keeps the patients) and the limit is part of the text, so that
        /// neither an estimate of the patients' share nor a generic limit can make a full scan and
        /// a sort look cheaper than the first `limit` entries of the key, whatever the statistics.
        fn accounts_walk_sql(prefix: &str, limit: u32) -> String {
            format!(
                "{prefix}SELECT id, role, time_zone, quiet_start, quiet_end FROM accounts WHERE id > $1 ORDER BY id LIMIT {limit}"
            )
        }

        /// The accounts of a batch. On PostgreSQL `account_id` between the least and the greatest
        /// of them: a batch of the walk is a run of the key, and the caller keeps the rows it asked
        /// for. A range keeps the plan on the index whatever the statistics; a list of the ids is
        /// costed there as one index descent per id and loses to a scan of every row of a table
        /// that looks small. SQLite probes an index for each id of a list, and a list lets it use
        /// the (account, key) index for both columns.
        fn push_accounts(query: &mut sqlx::QueryBuilder<$db>, account_ids: &[uuid::Uuid]) {
            if <$db as sqlx::Database>::NAME == "SQLite" {
                query.push("account_id IN (");
                let mut list = query.separated(", ");
                for id in account_ids {
                    list.push_bind(*id);
                }
                query.push(")");
            } else {
                let least = account_ids.iter().min().copied().unwrap_or_default();
                let greatest = account_ids.iter().max().copied().unwrap_or_default();
                query.push("account_id >= ").push_bind(least).push(" AND account_id <= ").push_bind(greatest);
            }
        }

        /// Cancels the scheduled notifications of `account_ids` whose dedupe key starts with
        /// `prefix`. On PostgreSQL the key range of the accounts picks the rows by index and the
        /// list only filters them (`IS TRUE` keeps it out of the index condition, where it would be
        /// costed as one descent per id and lose to a scan of the whole table).
        fn cancellation_query(prefix_sql: &str, account_ids: &[uuid::Uuid], prefix: &str) -> sqlx::QueryBuilder<$db> {
            let mut update = sqlx::QueryBuilder::<$db>::new(format!(
                "{prefix_sql}UPDATE notifications SET state = 'cancelled' WHERE state = 'scheduled' AND substr(dedupe_key, 1, length("
            ));
            update.push_bind(prefix.to_owned()).push(")) = ").push_bind(prefix.to_owned()).push(" AND ");
            let sqlite = <$db as sqlx::Database>::NAME == "SQLite";
            if !sqlite {
                push_accounts(&mut update, account_ids);
                update.push(" AND (");
            }
            update.push("account_id IN (");
            let mut ids = update.separated(", ");
            for id in account_ids {
                ids.push_bind(*id);
            }
            update.push(if sqlite { ")" } else { ")) IS TRUE" });
            update
        }

        /// The reminder settings of a batch of accounts (on PostgreSQL, also of any other
        /// account in its range), by primary key.
        fn settings_read(prefix: &str, account_ids: &[uuid::Uuid]) -> sqlx::QueryBuilder<$db> {
            let mut query = sqlx::QueryBuilder::<$db>::new(format!(
                "{prefix}SELECT account_id, daily_enabled, daily_time, weekly_peg_enabled, weekly_peg_weekday, weekly_peg_time
                 FROM reminder_settings WHERE "
            ));
            push_accounts(&mut query, account_ids);
            query
        }

        /// The notifications a batch of reminders would write over: those of its accounts (on
        /// PostgreSQL, also of any other account in its range) with one of its dedupe keys, by the
        /// (account, key) index.
        fn existing_reminders_read(prefix: &str, account_ids: &[uuid::Uuid], keys: &[String]) -> sqlx::QueryBuilder<$db> {
            let mut query = sqlx::QueryBuilder::<$db>::new(format!(
                "{prefix}SELECT account_id, dedupe_key, state, due_at, title, body, link, ttl_seconds, urgency
                 FROM notifications WHERE "
            ));
            push_accounts(&mut query, account_ids);
            query.push(" AND dedupe_key IN (");
            let mut list = query.separated(", ");
            for key in keys {
                list.push_bind(key.clone());
            }
            query.push(")");
            query
        }

        /// The reminders of `chunk` a reschedule would change: new ones, and scheduled ones whose
        /// time or text moved. Those left out are written by nobody, so a steady pass neither
        /// writes nor locks them. The existing rows are read by the range of the chunk's accounts,
        /// which is narrow for the planner's batches (runs of the account key) and for one account.
        async fn changed_reminders<'n>(
            pool: &sqlx::Pool<$db>,
            chunk: &'n [$crate::store::NewNotification],
        ) -> $crate::store::StoreResult<Vec<&'n $crate::store::NewNotification>> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            let mut ids: Vec<uuid::Uuid> = chunk.iter().map(|n| n.account_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut keys: Vec<String> = chunk.iter().map(|n| n.dedupe_key.clone()).collect();
            keys.sort_unstable();
            keys.dedup();
            let mut existing = std::collections::HashMap::new();
            for row in existing_reminders_read("", &ids, &keys).build().persistent(false).fetch_all(pool).await? {
                let ttl: i64 =
                    row.try_get::<i64, _>("ttl_seconds").or_else(|_| row.try_get::<i32, _>("ttl_seconds").map(i64::from))?;
                // One already dispatched or cancelled is never rewritten by a reschedule.
                let settled = row.try_get::<String, _>("state")? != "scheduled";
                existing.insert(
                    (row.try_get::<uuid::Uuid, _>("account_id")?, row.try_get::<String, _>("dedupe_key")?),
                    (
                        settled,
                        row.try_get::<Ts, _>("due_at")?.0,
                        row.try_get::<String, _>("title")?,
                        row.try_get::<String, _>("body")?,
                        row.try_get::<String, _>("link")?,
                        ttl,
                        row.try_get::<String, _>("urgency")?,
                    ),
                );
            }
            Ok(chunk
                .iter()
                .filter(|n| match existing.get(&(n.account_id, n.dedupe_key.clone())) {
                    None => true,
                    Some((settled, due_at, title, body, link, ttl, urgency)) => {
                        !*settled
                            && (*due_at != n.due_at
                                || *title != n.title
                                || *body != n.body
                                || *link != n.link
                                || *ttl != i64::try_from(n.ttl.as_secs()).unwrap_or(i64::MAX)
                                || urgency != n.urgency.as_str())
                    }
                })
                .collect())
        }

        fn reminder_settings_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> $crate::store::StoreResult<$crate::domain::notifications::ReminderSettings> {
            use sqlx::Row as _;
            use $crate::domain::time::parse_clock_time;
            let corrupt = |what: &str| $crate::store::StoreError::Corrupt(format!("reminder_settings.{what}"));
            let weekday: i32 = row.try_get::<i32, _>("weekly_peg_weekday").or_else(|_| row.try_get::<i64, _>("weekly_peg_weekday").map(|v| v as i32))?;
            Ok($crate::domain::notifications::ReminderSettings {
                daily_enabled: row.try_get("daily_enabled")?,
                daily_time: parse_clock_time(&row.try_get::<String, _>("daily_time")?).map_err(|_| corrupt("daily_time"))?,
                weekly_peg_enabled: row.try_get("weekly_peg_enabled")?,
                weekly_peg_weekday: chrono::Weekday::try_from(u8::try_from(weekday - 1).map_err(|_| corrupt("weekly_peg_weekday"))?)
                    .map_err(|_| corrupt("weekly_peg_weekday"))?,
                weekly_peg_time: parse_clock_time(&row.try_get::<String, _>("weekly_peg_time")?).map_err(|_| corrupt("weekly_peg_time"))?,
            })
        }
    };
}
pub(crate) use notification_repo;

/// Binds a new notification's columns as `$1`…`$13` in the order every insert lists them:
/// id, account_id, dedupe_key, kind, title, body, link, ttl_seconds, urgency, topic, due_at,
/// subject_date, created_at.
macro_rules! bind_new_notification {
    ($query:expr, $notification:expr) => {{
        let n: &$crate::store::NewNotification = $notification;
        $query
            .bind(n.id)
            .bind(n.account_id)
            .bind(&n.dedupe_key)
            .bind(n.kind.as_str())
            .bind(&n.title)
            .bind(&n.body)
            .bind(&n.link)
            .bind(i64::try_from(n.ttl.as_secs()).unwrap_or(i64::MAX))
            .bind(n.urgency.as_str())
            .bind(&n.topic)
            .bind($crate::store::types::Ts::from(n.due_at))
            .bind(n.subject_date)
            .bind($crate::store::types::Ts::from(n.created_at))
    }};
}

pub(crate) use bind_new_notification;
