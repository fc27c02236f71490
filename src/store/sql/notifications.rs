macro_rules! notification_repo {
    ($store:ty, $db:ty, new_uuid = $new_uuid:literal, claim = $claim:literal, claim_due_lock = $claim_due_lock:literal) => {
        /// Due notifications turned into deliveries per transaction.
        const FAN_OUT_BATCH: usize = 500;

        /// `$first, $first+1, …`: one placeholder per id of a claimed batch.
        fn id_placeholders(first: usize, count: usize) -> String {
            (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
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
                    .fetch_optional(&self.pool)
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
                .execute(&self.pool)
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
                        // Only rows whose time or text moved are touched, so a steady-state pass
                        // writes next to nothing.
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
                    changed += insert.build().execute(&self.pool).await?.rows_affected();
                }
                Ok(changed)
            }

            async fn cancel_scheduled_of(&self, account_ids: &[uuid::Uuid], prefix: &str) -> $crate::store::StoreResult<u64> {
                const CHUNK: usize = 500;
                let mut cancelled = 0;
                for chunk in account_ids.chunks(CHUNK) {
                    let mut update = sqlx::QueryBuilder::<$db>::new("UPDATE notifications SET state = 'cancelled' WHERE state = 'scheduled' AND substr(dedupe_key, 1, length(");
                    update.push_bind(prefix.to_owned()).push(")) = ").push_bind(prefix.to_owned()).push(" AND account_id IN (");
                    let mut ids = update.separated(", ");
                    for id in chunk {
                        ids.push_bind(*id);
                    }
                    update.push(")");
                    cancelled += update.build().execute(&self.pool).await?.rows_affected();
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
                .execute(&self.pool)
                .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn fan_out_due(&self, now: chrono::DateTime<chrono::Utc>, vapid_key: &str) -> $crate::store::StoreResult<u64> {
                use $crate::store::types::Ts;
                let now = Ts::from(now);
                let mut dispatched = 0;
                loop {
                    let mut tx = self.begin_write().await?;
                    // First the exact set this round turns into deliveries, locked: what a
                    // producer commits meanwhile stays scheduled for the next round instead of
                    // being marked dispatched without deliveries, and dispatchers fanning out at
                    // the same time take disjoint sets.
                    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(concat!(
                        "SELECT id FROM notifications WHERE state = 'scheduled' AND due_at <= $1
                         ORDER BY due_at, id LIMIT $2",
                        $claim_due_lock
                    ))
                    .bind(now)
                    .bind(FAN_OUT_BATCH as i64)
                    .fetch_all(&mut *tx)
                    .await?;
                    if ids.is_empty() {
                        tx.commit().await?;
                        return Ok(dispatched);
                    }
                    let bind_ids = |query: sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments>| {
                        ids.iter().fold(query, |query, id| query.bind(*id))
                    };
                    // A daily reminder whose day the patient has logged is not sent.
                    let cancel = format!(
                        "UPDATE notifications SET state = 'cancelled'
                         WHERE id IN ({}) AND kind = 'daily_reminder'
                           AND EXISTS (SELECT 1 FROM journal_entries e
                                       WHERE e.patient_id = notifications.account_id AND e.local_date = notifications.subject_date
                                         AND NOT e.deleted)",
                        id_placeholders(1, ids.len())
                    );
                    bind_ids(sqlx::query(sqlx::AssertSqlSafe(cancel))).execute(&mut *tx).await?;
                    // A therapist's copy of a client's alert goes out only under the consent in
                    // force now: revoked, ended, expired or without `receive_alerts`, it is not sent.
                    let withdrawn = format!(
                        "UPDATE notifications SET state = 'cancelled'
                         WHERE id IN ({}) AND about_patient_id IS NOT NULL
                           AND NOT EXISTS ({})",
                        id_placeholders(3, ids.len()),
                        $crate::store::sql::alert_consent_live!()
                    );
                    bind_ids(
                        sqlx::query(sqlx::AssertSqlSafe(withdrawn))
                            .bind(now)
                            .bind(format!("%,{},%", $crate::domain::care::Scope::ReceiveAlerts.as_str())),
                    )
                    .execute(&mut *tx)
                    .await?;
                    let deliveries = format!(
                        concat!(
                            "INSERT INTO push_deliveries (id, notification_id, subscription_id, state, attempts, next_attempt_at, updated_at)
                             SELECT ", $new_uuid, ", n.id, s.id, 'pending', 0, $1, $1
                             FROM notifications n JOIN push_subscriptions s ON s.account_id = n.account_id
                             WHERE n.id IN ({}) AND n.state = 'scheduled' AND s.vapid_key = $2
                               AND (s.expires_at IS NULL OR s.expires_at > $1)
                             ON CONFLICT (notification_id, subscription_id) DO NOTHING"
                        ),
                        id_placeholders(3, ids.len())
                    );
                    bind_ids(sqlx::query(sqlx::AssertSqlSafe(deliveries)).bind(now).bind(vapid_key.to_owned()))
                        .execute(&mut *tx)
                        .await?;
                    let mark = format!(
                        "UPDATE notifications SET state = 'dispatched', dispatched_at = $1 WHERE id IN ({}) AND state = 'scheduled'",
                        id_placeholders(2, ids.len())
                    );
                    dispatched += bind_ids(sqlx::query(sqlx::AssertSqlSafe(mark)).bind(now))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    if ids.len() < FAN_OUT_BATCH {
                        return Ok(dispatched);
                    }
                }
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
                use $crate::domain::notifications::{Kind, Urgency};
                use $crate::store::types::Ts;
                // A token of this claim alone, to read back exactly the rows it leased.
                let token = format!("{owner}:{}", uuid::Uuid::new_v4().simple());
                // Deliveries of a therapist's copy made before the consent went (waiting for a
                // retry, say) are given up on rather than sent.
                sqlx::query(concat!(
                    "UPDATE push_deliveries SET state = 'dead', last_error = 'consent withdrawn', updated_at = $1
                     WHERE state = 'pending' AND next_attempt_at <= $1
                       AND notification_id IN (SELECT notifications.id FROM notifications
                                               WHERE notifications.about_patient_id IS NOT NULL
                                                 AND NOT EXISTS (",
                    $crate::store::sql::alert_consent_live!(),
                    "))"
                ))
                .bind(Ts::from(now))
                .bind(format!("%,{},%", $crate::domain::care::Scope::ReceiveAlerts.as_str()))
                .execute(&self.pool)
                .await?;
                let claimed = sqlx::query($claim)
                    .bind(Ts::from(now))
                    .bind(Ts::from(lease_until))
                    .bind(&token)
                    .bind(i64::from(limit))
                    .bind(serde_json::to_string(skip).unwrap_or_else(|_| "[]".into()))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                if claimed == 0 {
                    return Ok(Vec::new());
                }
                let rows = sqlx::query(
                    "SELECT d.id, d.attempts, d.notification_id, d.subscription_id, n.kind, n.title, n.body, n.link,
                            n.ttl_seconds, n.urgency, n.topic, s.endpoint, s.p256dh, s.auth
                     FROM push_deliveries d
                     JOIN notifications n ON n.id = d.notification_id
                     JOIN push_subscriptions s ON s.id = d.subscription_id
                     WHERE d.state = 'leased' AND d.lease_owner = $1",
                )
                .bind(&token)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let kind: String = row.try_get("kind")?;
                        let urgency: String = row.try_get("urgency")?;
                        let ttl: i64 = row.try_get::<i64, _>("ttl_seconds").or_else(|_| row.try_get::<i32, _>("ttl_seconds").map(i64::from))?;
                        let attempts: i64 = row.try_get::<i64, _>("attempts").or_else(|_| row.try_get::<i32, _>("attempts").map(i64::from))?;
                        Ok($crate::store::ClaimedDelivery {
                            id: row.try_get("id")?,
                            lease_owner: token.clone(),
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
                        })
                    })
                    .collect()
            }

            async fn complete_delivery(
                &self,
                delivery: &$crate::store::ClaimedDelivery,
                result: &$crate::store::DeliveryResult,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::DeliveryResult;
                use $crate::store::types::Ts;
                let now = Ts::from(now);
                let recorded = match result {
                    DeliveryResult::Sent { status } => {
                        let mut tx = self.begin_write().await?;
                        // The push service took the message: that also settles a delivery that
                        // was taken back after this lease ran out and waits for another attempt.
                        let recorded = sqlx::query(
                            "UPDATE push_deliveries SET state = 'sent', last_status = $2, last_error = NULL,
                                    lease_until = NULL, lease_owner = NULL, updated_at = $3
                             WHERE id = $1 AND ((state = 'leased' AND lease_owner = $4) OR state = 'pending')",
                        )
                        .bind(delivery.id)
                        .bind(i32::from(*status))
                        .bind(now)
                        .bind(&delivery.lease_owner)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            > 0;
                        sqlx::query("UPDATE push_subscriptions SET last_sent_at = $2 WHERE id = $1")
                            .bind(delivery.subscription_id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        recorded
                    }
                    DeliveryResult::Retry { at, status, error } => {
                        sqlx::query(
                            "UPDATE push_deliveries SET state = 'pending', next_attempt_at = $2, last_status = $3, last_error = $4,
                                    lease_until = NULL, lease_owner = NULL, updated_at = $5
                             WHERE id = $1 AND state = 'leased' AND lease_owner = $6",
                        )
                        .bind(delivery.id)
                        .bind(Ts::from(*at))
                        .bind(status.map(i32::from))
                        .bind(error)
                        .bind(now)
                        .bind(&delivery.lease_owner)
                        .execute(&self.pool)
                        .await?
                        .rows_affected()
                            > 0
                    }
                    DeliveryResult::Dead { status, error } => {
                        sqlx::query(
                            "UPDATE push_deliveries SET state = 'dead', last_status = $2, last_error = $3,
                                    lease_until = NULL, lease_owner = NULL, updated_at = $4
                             WHERE id = $1 AND state = 'leased' AND lease_owner = $5",
                        )
                        .bind(delivery.id)
                        .bind(status.map(i32::from))
                        .bind(error)
                        .bind(now)
                        .bind(&delivery.lease_owner)
                        .execute(&self.pool)
                        .await?
                        .rows_affected()
                            > 0
                    }
                    DeliveryResult::Gone { .. } => {
                        // The push service says the subscription no longer exists, whoever asked;
                        // its deliveries go with it.
                        sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
                            .bind(delivery.subscription_id)
                            .execute(&self.pool)
                            .await?;
                        true
                    }
                };
                Ok(recorded)
            }

            async fn release_delivery(&self, delivery: &$crate::store::ClaimedDelivery) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query(
                    "UPDATE push_deliveries SET state = 'pending', attempts = attempts - 1, lease_until = NULL, lease_owner = NULL
                     WHERE id = $1 AND state = 'leased' AND lease_owner = $2",
                )
                .bind(delivery.id)
                .bind(&delivery.lease_owner)
                .execute(&self.pool)
                .await?
                .rows_affected()
                    > 0)
            }

            async fn rescue_expired_leases(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<u64> {
                use $crate::store::types::Ts;
                Ok(sqlx::query(
                    "UPDATE push_deliveries SET state = 'pending', next_attempt_at = $1, lease_until = NULL, lease_owner = NULL,
                            updated_at = $1
                     WHERE state = 'leased' AND lease_until < $1",
                )
                .bind(Ts::from(now))
                .execute(&self.pool)
                .await?
                .rows_affected())
            }

            async fn release_leases(&self, owner_prefix: &str) -> $crate::store::StoreResult<u64> {
                // Not attempted: give the attempt back.
                Ok(sqlx::query(
                    "UPDATE push_deliveries SET state = 'pending', attempts = attempts - 1, lease_until = NULL, lease_owner = NULL
                     WHERE state = 'leased' AND substr(lease_owner, 1, length($1)) = $1",
                )
                .bind(owner_prefix)
                .execute(&self.pool)
                .await?
                .rows_affected())
            }

            async fn next_wake(&self) -> $crate::store::StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
                use $crate::store::types::Ts;
                let times: (Option<Ts>, Option<Ts>, Option<Ts>) = sqlx::query_as(
                    "SELECT (SELECT min(due_at) FROM notifications WHERE state = 'scheduled'),
                            (SELECT min(next_attempt_at) FROM push_deliveries WHERE state = 'pending'),
                            (SELECT min(lease_until) FROM push_deliveries WHERE state = 'leased')",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok([times.0, times.1, times.2].into_iter().flatten().min().map(|t| t.0))
            }

            async fn queue_stats(&self) -> $crate::store::StoreResult<$crate::store::QueueStats> {
                use $crate::store::types::Ts;
                let (depth, oldest): (i64, Option<Ts>) = sqlx::query_as(
                    "SELECT count(*), min(CASE WHEN state = 'pending' THEN next_attempt_at END)
                     FROM push_deliveries WHERE state IN ('pending', 'leased')",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::store::QueueStats { depth: u64::try_from(depth).unwrap_or(0), oldest_due: oldest.map(|t| t.0) })
            }

            async fn shared_vapid_key(&self, candidate: &str, now: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<String> {
                use $crate::store::types::Ts;
                // Instances starting together race here; the primary key lets one insert, and
                // the others wait for it and read its key.
                sqlx::query("INSERT INTO vapid_keys (id, private_key, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING")
                    .bind(candidate)
                    .bind(Ts::from(now))
                    .execute(&self.pool)
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
                    .execute(&self.pool)
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
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn reminder_targets(
                &self,
                after: uuid::Uuid,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ReminderTarget>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT a.id, a.time_zone, a.quiet_start, a.quiet_end,
                            r.daily_enabled, r.daily_time, r.weekly_peg_enabled, r.weekly_peg_weekday, r.weekly_peg_time
                     FROM accounts a LEFT JOIN reminder_settings r ON r.account_id = a.id
                     WHERE a.role = 'patient' AND a.id > $1
                     ORDER BY a.id LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let text = |c: &str| -> $crate::store::StoreResult<String> { Ok(row.try_get::<String, _>(c)?) };
                        let settings = if row.try_get::<Option<bool>, _>("daily_enabled")?.is_some() {
                            reminder_settings_from_row(row)?
                        } else {
                            $crate::domain::notifications::ReminderSettings::default()
                        };
                        let (time_zone, quiet_hours) =
                            $crate::store::codec::local_time(&text("time_zone")?, &text("quiet_start")?, &text("quiet_end")?)?;
                        Ok($crate::store::ReminderTarget { account_id: row.try_get("id")?, time_zone, quiet_hours, settings })
                    })
                    .collect()
            }
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
