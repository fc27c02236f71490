macro_rules! massage_repo {
    ($store:ty, $db:ty) => {
        fn massage_corrupt(what: &str) -> $crate::store::StoreError {
            $crate::store::StoreError::Corrupt(format!("massage.{what}"))
        }

        fn massage_session_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::MassageSession> {
            use sqlx::Row as _;
            use $crate::domain::body::Region;
            use $crate::domain::massage::{Pressure, SessionKind};
            use $crate::store::types::Ts;
            let kind: String = row.try_get("kind")?;
            let pressure: Option<String> = row.try_get("pressure")?;
            let techniques: String = row.try_get("techniques")?;
            let regions: String = row.try_get("regions")?;
            let template: String = row.try_get("template")?;
            let regions: Vec<String> = serde_json::from_str(&regions).map_err(|_| massage_corrupt("regions"))?;
            let small = |c: &str| -> $crate::store::StoreResult<Option<u8>> {
                let v: Option<i32> = row.try_get(c)?;
                v.map(|v| u8::try_from(v).map_err(|_| massage_corrupt(c))).transpose()
            };
            let duration: i32 = row.try_get("duration_minutes")?;
            Ok($crate::store::MassageSession {
                id: row.try_get("id")?,
                patient_id: row.try_get("patient_id")?,
                recorded_by: row.try_get("recorded_by")?,
                started_at: row.try_get::<Ts, _>("started_at")?.0,
                duration_minutes: u16::try_from(duration).map_err(|_| massage_corrupt("duration_minutes"))?,
                kind: SessionKind::parse(&kind).ok_or_else(|| massage_corrupt("kind"))?,
                techniques: serde_json::from_str(&techniques).map_err(|_| massage_corrupt("techniques"))?,
                regions: regions.iter().map(|r| Region::parse(r).ok_or_else(|| massage_corrupt("regions"))).collect::<Result<_, _>>()?,
                pressure: pressure.map(|p| Pressure::parse(&p).ok_or_else(|| massage_corrupt("pressure"))).transpose()?,
                pain_before: small("pain_before")?,
                pain_after: small("pain_after")?,
                notes: row.try_get("notes")?,
                template: serde_json::from_str(&template).map_err(|_| massage_corrupt("template"))?,
                plan_source: $crate::domain::aftercare::PlanSource::parse(&row.try_get::<String, _>("plan_source")?)
                    .ok_or_else(|| massage_corrupt("plan_source"))?,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                updated_at: row.try_get::<Ts, _>("updated_at")?.0,
            })
        }

        /// Cancels a step's notification unless it has been sent, inside the step's transaction.
        async fn cancel_step_notification_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            account_id: uuid::Uuid,
            step_id: uuid::Uuid,
        ) -> Result<(), sqlx::Error> {
            sqlx::query(
                "UPDATE notifications SET state = 'cancelled' WHERE account_id = $1 AND dedupe_key = $2 AND state = 'scheduled'",
            )
            .bind(account_id)
            .bind($crate::domain::aftercare::step_notification_key(step_id))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Writes what becomes of a step's notification inside the step's transaction. A
        /// schedule only takes while the step is pending (a step done meanwhile keeps its prompt
        /// cancelled), moves one still scheduled, and brings back one cancelled when the step was
        /// moved into the past; one already sent is left alone.
        async fn step_notification_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            change: &$crate::store::StepNotification,
        ) -> Result<(), sqlx::Error> {
            use $crate::store::StepNotification;
            match change {
                StepNotification::Schedule { step_id, notification: n } => {
                    let insert = sqlx::query(
                        "INSERT INTO notifications (id, account_id, dedupe_key, kind, title, body, link, ttl_seconds, urgency,
                                                    topic, due_at, subject_date, state, created_at)
                         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'scheduled', $13
                         WHERE EXISTS (SELECT 1 FROM aftercare_steps WHERE id = $14 AND state = 'pending')
                         ON CONFLICT (account_id, dedupe_key) DO UPDATE
                            SET due_at = excluded.due_at, title = excluded.title, body = excluded.body, link = excluded.link,
                                ttl_seconds = excluded.ttl_seconds, urgency = excluded.urgency, state = 'scheduled'
                            WHERE notifications.state IN ('scheduled', 'cancelled')",
                    );
                    $crate::store::sql::bind_new_notification!(insert, n)
                        .bind(step_id)
                    .execute(&mut *conn)
                    .await?;
                }
                StepNotification::Cancel { account_id, step_id } => {
                    cancel_step_notification_in(conn, *account_id, *step_id).await?;
                }
            }
            Ok(())
        }

        /// Inserts a plan step, or updates one already stored: its place always, its kind, text
        /// and time only while it is pending.
        async fn upsert_step_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            patient_id: uuid::Uuid,
            step: &$crate::store::StepRecord,
        ) -> Result<(), sqlx::Error> {
            use $crate::store::types::Ts;
            sqlx::query(
                "INSERT INTO aftercare_steps (id, session_id, patient_id, step_key, position, kind, title, body, due_at, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')
                 ON CONFLICT (id) DO UPDATE SET position = excluded.position,
                    kind = CASE WHEN aftercare_steps.state = 'pending' THEN excluded.kind ELSE aftercare_steps.kind END,
                    title = CASE WHEN aftercare_steps.state = 'pending' THEN excluded.title ELSE aftercare_steps.title END,
                    body = CASE WHEN aftercare_steps.state = 'pending' THEN excluded.body ELSE aftercare_steps.body END,
                    due_at = CASE WHEN aftercare_steps.state = 'pending' THEN excluded.due_at ELSE aftercare_steps.due_at END",
            )
            .bind(step.id)
            .bind(step.session_id)
            .bind(patient_id)
            .bind(&step.key)
            .bind(i32::from(step.position))
            .bind(serde_json::to_string(&step.kind).expect("step kind serialises"))
            .bind(&step.title)
            .bind(&step.body)
            .bind(Ts::from(step.due_at))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// The steps of a patient's sessions started in a time range: the sessions through their
        /// `(patient_id, started_at)` index, each one's steps through `(session_id, step_key)`.
        const STEPS_BETWEEN: &str = "SELECT s.*, c.soreness, c.leg_swelling, c.answered_at, c.answered_on
             FROM massage_sessions m
             JOIN aftercare_steps s ON s.session_id = m.id
             LEFT JOIN soreness_check_ins c ON c.step_id = s.id
             WHERE m.patient_id = $1 AND m.started_at >= $2 AND m.started_at < $3
             ORDER BY s.session_id, s.position";

        /// A session's plan steps in plan order, with check-in answers, on `conn`.
        async fn steps_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            session_id: uuid::Uuid,
        ) -> $crate::store::StoreResult<Vec<$crate::store::StepRecord>> {
            let rows = sqlx::query(
                "SELECT s.*, c.soreness, c.leg_swelling, c.answered_at, c.answered_on
                 FROM aftercare_steps s LEFT JOIN soreness_check_ins c ON c.step_id = s.id
                 WHERE s.session_id = $1 ORDER BY s.position",
            )
            .bind(session_id)
            .fetch_all(&mut *conn)
            .await?;
            step_records(&rows)
        }

        /// The steps (with check-in answers) of the patient's sessions started in `start..end`,
        /// in one statement, grouped by session in plan order.
        async fn steps_between_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            patient_id: uuid::Uuid,
            start: chrono::DateTime<chrono::Utc>,
            end: chrono::DateTime<chrono::Utc>,
        ) -> $crate::store::StoreResult<Vec<$crate::store::StepRecord>> {
            use $crate::store::types::Ts;
            let rows = sqlx::query(STEPS_BETWEEN)
                .bind(patient_id)
                .bind(Ts::from(start))
                .bind(Ts::from(end))
                .fetch_all(&mut *conn)
                .await?;
            step_records(&rows)
        }

        fn step_records(
            rows: &[<$db as sqlx::Database>::Row],
        ) -> $crate::store::StoreResult<Vec<$crate::store::StepRecord>> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            rows.iter()
                .map(|row| {
                    let kind: String = row.try_get("kind")?;
                    let state: String = row.try_get("state")?;
                    let position: i32 = row.try_get("position")?;
                    let soreness: Option<i32> = row.try_get("soreness")?;
                    let check_in = match soreness {
                        Some(soreness) => Some($crate::store::CheckInAnswer {
                            soreness: u8::try_from(soreness).map_err(|_| massage_corrupt("soreness"))?,
                            leg_swelling: row.try_get("leg_swelling")?,
                            answered_at: row.try_get::<Ts, _>("answered_at")?.0,
                            answered_on: row.try_get("answered_on")?,
                        }),
                        None => None,
                    };
                    Ok($crate::store::StepRecord {
                        id: row.try_get("id")?,
                        session_id: row.try_get("session_id")?,
                        key: row.try_get("step_key")?,
                        position: u16::try_from(position).map_err(|_| massage_corrupt("position"))?,
                        kind: serde_json::from_str(&kind).map_err(|_| massage_corrupt("step kind"))?,
                        title: row.try_get("title")?,
                        body: row.try_get("body")?,
                        due_at: row.try_get::<Ts, _>("due_at")?.0,
                        state: $crate::store::StepState::parse(&state).ok_or_else(|| massage_corrupt("state"))?,
                        completed_at: row.try_get::<Option<Ts>, _>("completed_at")?.map(|t| t.0),
                        check_in,
                    })
                })
                .collect()
        }

        /// The patient's session, on `conn`.
        async fn massage_session_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            patient_id: uuid::Uuid,
            id: uuid::Uuid,
        ) -> $crate::store::StoreResult<Option<$crate::store::MassageSession>> {
            let row = sqlx::query("SELECT * FROM massage_sessions WHERE id = $1 AND patient_id = $2")
                .bind(id)
                .bind(patient_id)
                .fetch_optional(&mut *conn)
                .await?;
            row.as_ref().map(massage_session_from_row).transpose()
        }

        /// The patient's health screen and when it was saved, on `conn`.
        async fn health_screen_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            patient_id: uuid::Uuid,
        ) -> $crate::store::StoreResult<Option<($crate::domain::screening::HealthScreen, chrono::DateTime<chrono::Utc>)>> {
            use $crate::store::types::Ts;
            let row: Option<(String, Ts)> =
                sqlx::query_as("SELECT screen, updated_at FROM health_screens WHERE patient_id = $1")
                    .bind(patient_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            row.map(|(screen, at)| Ok((serde_json::from_str(&screen).map_err(|_| massage_corrupt("health_screen"))?, at.0)))
                .transpose()
        }

        fn template_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::TemplateRecord> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            let template: String = row.try_get("template")?;
            Ok($crate::store::TemplateRecord {
                id: row.try_get("id")?,
                therapist_id: row.try_get("therapist_id")?,
                template: serde_json::from_str(&template).map_err(|_| massage_corrupt("template"))?,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                updated_at: row.try_get::<Ts, _>("updated_at")?.0,
            })
        }

        #[async_trait::async_trait]
        impl $crate::store::MassageRepo for $store {
            async fn health_screen(
                &self,
                patient_id: uuid::Uuid,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Option<($crate::domain::screening::HealthScreen, chrono::DateTime<chrono::Utc>)>> {
                let mut conn = self.audited(audit).await?;
                let screen = health_screen_in(conn.conn(), patient_id).await?;
                conn.finish().await?;
                Ok(screen)
            }

            async fn save_health_screen(
                &self,
                patient_id: uuid::Uuid,
                screen: &$crate::domain::screening::HealthScreen,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                sqlx::query(
                    "INSERT INTO health_screens (patient_id, screen, updated_at) VALUES ($1, $2, $3)
                     ON CONFLICT (patient_id) DO UPDATE SET screen = excluded.screen, updated_at = excluded.updated_at",
                )
                .bind(patient_id)
                .bind(serde_json::to_string(screen).expect("health screen serialises"))
                .bind(Ts::from(now))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn create_massage_session(
                &self,
                s: &$crate::store::MassageSession,
                steps: &[$crate::store::StepRecord],
                notifications: &[$crate::store::StepNotification],
                idempotency: Option<(uuid::Uuid, &str)>,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                log_access_in(&mut tx, audit).await?;
                sqlx::query(
                    "INSERT INTO massage_sessions (id, patient_id, recorded_by, started_at, duration_minutes, kind, techniques,
                                                   regions, pressure, pain_before, pain_after, notes, template, plan_source,
                                                   created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $15, $14, $14)",
                )
                .bind(s.id)
                .bind(s.patient_id)
                .bind(s.recorded_by)
                .bind(Ts::from(s.started_at))
                .bind(i32::from(s.duration_minutes))
                .bind(s.kind.as_str())
                .bind(serde_json::to_string(&s.techniques).expect("techniques serialise"))
                .bind(serde_json::to_string(&s.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>()).expect("regions serialise"))
                .bind(s.pressure.map(|p| p.as_str()))
                .bind(s.pain_before.map(i32::from))
                .bind(s.pain_after.map(i32::from))
                .bind(s.notes.as_deref())
                .bind(serde_json::to_string(&s.template).expect("template serialises"))
                .bind(Ts::from(s.created_at))
                .bind(s.plan_source.as_str())
                .execute(&mut *tx)
                .await?;
                for step in steps {
                    upsert_step_in(&mut tx, s.patient_id, step).await?;
                }
                for change in notifications {
                    step_notification_in(&mut tx, change).await?;
                }
                if let Some((account_id, key)) = idempotency {
                    sqlx::query("UPDATE idempotency_keys SET resource_id = $3 WHERE account_id = $1 AND key = $2")
                        .bind(account_id)
                        .bind(key)
                        .bind(s.id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn massage_session(&self, patient_id: uuid::Uuid, id: uuid::Uuid) -> $crate::store::StoreResult<Option<$crate::store::MassageSession>> {
                let mut conn = self.pool.acquire().await?;
                massage_session_in(&mut conn, patient_id, id).await
            }

            async fn massage_sessions(
                &self,
                patient_id: uuid::Uuid,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                after: Option<$crate::store::SessionPosition>,
                limit: u32,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::MassageSession>> {
                use $crate::store::types::Ts;
                let mut conn = self.audited(audit).await?;
                let rows = match after {
                    None => {
                        sqlx::query(
                            "SELECT * FROM massage_sessions WHERE patient_id = $1 AND started_at >= $2 AND started_at < $3
                             ORDER BY started_at DESC, id DESC LIMIT $4",
                        )
                        .bind(patient_id)
                        .bind(Ts::from(from))
                        .bind(Ts::from(to))
                        .bind(i64::from(limit))
                        .fetch_all(conn.conn())
                        .await?
                    }
                    Some(position) => {
                        sqlx::query(
                            "SELECT * FROM massage_sessions WHERE patient_id = $1 AND started_at >= $2 AND started_at < $3
                               AND (started_at, id) < ($5, $6)
                             ORDER BY started_at DESC, id DESC LIMIT $4",
                        )
                        .bind(patient_id)
                        .bind(Ts::from(from))
                        .bind(Ts::from(to))
                        .bind(i64::from(limit))
                        .bind(Ts::from(position.started_at))
                        .bind(position.id)
                        .fetch_all(conn.conn())
                        .await?
                    }
                };
                conn.finish().await?;
                rows.iter().map(massage_session_from_row).collect()
            }

            async fn update_massage_session(
                &self,
                s: &$crate::store::MassageSession,
                changes: &$crate::store::PlanChanges,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                log_access_in(&mut tx, audit).await?;
                // Taking the session's row first keeps a deletion or another change of the same
                // session from interleaving with this one.
                let updated = sqlx::query(
                    "UPDATE massage_sessions SET started_at = $2, duration_minutes = $3, kind = $4, techniques = $5, regions = $6,
                            pressure = $7, pain_before = $8, pain_after = $9, notes = $10, updated_at = $11, template = $12,
                            plan_source = $13
                     WHERE id = $1 AND patient_id = $14",
                )
                .bind(s.id)
                .bind(Ts::from(s.started_at))
                .bind(i32::from(s.duration_minutes))
                .bind(s.kind.as_str())
                .bind(serde_json::to_string(&s.techniques).expect("techniques serialise"))
                .bind(serde_json::to_string(&s.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>()).expect("regions serialise"))
                .bind(s.pressure.map(|p| p.as_str()))
                .bind(s.pain_before.map(i32::from))
                .bind(s.pain_after.map(i32::from))
                .bind(s.notes.as_deref())
                .bind(Ts::from(s.updated_at))
                .bind(serde_json::to_string(&s.template).expect("template serialises"))
                .bind(s.plan_source.as_str())
                .bind(s.patient_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Ok(false);
                }
                for step_id in &changes.removed {
                    sqlx::query("DELETE FROM aftercare_steps WHERE id = $1 AND session_id = $2 AND state = 'pending'")
                        .bind(step_id)
                        .bind(s.id)
                        .execute(&mut *tx)
                        .await?;
                }
                for step in &changes.steps {
                    upsert_step_in(&mut tx, s.patient_id, step).await?;
                }
                for change in &changes.notifications {
                    step_notification_in(&mut tx, change).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_massage_session(&self, patient_id: uuid::Uuid, id: uuid::Uuid, audit: Option<&$crate::store::AccessRecord>) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                log_access_in(&mut tx, audit).await?;
                // Holds the session's row, so no step is added after the steps are read.
                let found = sqlx::query("UPDATE massage_sessions SET updated_at = updated_at WHERE id = $1 AND patient_id = $2")
                    .bind(id)
                    .bind(patient_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if found == 0 {
                    return Ok(false);
                }
                let step_ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM aftercare_steps WHERE session_id = $1")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                for step_id in step_ids {
                    cancel_step_notification_in(&mut tx, patient_id, step_id).await?;
                }
                sqlx::query("DELETE FROM massage_sessions WHERE id = $1").bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn steps(&self, session_id: uuid::Uuid) -> $crate::store::StoreResult<Vec<$crate::store::StepRecord>> {
                let mut conn = self.pool.acquire().await?;
                steps_in(&mut conn, session_id).await
            }

            async fn steps_between(
                &self,
                patient_id: uuid::Uuid,
                start: chrono::DateTime<chrono::Utc>,
                end: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::StepRecord>> {
                let mut conn = self.pool.acquire().await?;
                steps_between_in(&mut conn, patient_id, start, end).await
            }

            async fn massage_session_view(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Option<$crate::store::SessionRead>> {
                // One connection, and for someone else one transaction with the access log line:
                // the session, its steps with their check-in answers, and the health screen its
                // warnings come from are read together, under that one line.
                let mut conn = self.audited(audit).await?;
                let Some(session) = massage_session_in(conn.conn(), patient_id, id).await? else {
                    conn.finish().await?;
                    return Ok(None);
                };
                let steps = steps_in(conn.conn(), id).await?;
                let health_screen = health_screen_in(conn.conn(), patient_id).await?.map(|(h, _)| h);
                conn.finish().await?;
                Ok(Some($crate::store::SessionRead { session, steps, health_screen }))
            }

            async fn set_step_state(
                &self,
                patient_id: uuid::Uuid,
                step_id: uuid::Uuid,
                state: $crate::store::StepState,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let completed = (state != $crate::store::StepState::Pending).then(|| Ts::from(now));
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE aftercare_steps SET state = $2, completed_at = $3 WHERE id = $1 AND patient_id = $4")
                    .bind(step_id)
                    .bind(state.as_str())
                    .bind(completed)
                    .bind(patient_id)
                    .execute(&mut *tx)
                    .await?;
                if state != $crate::store::StepState::Pending {
                    cancel_step_notification_in(&mut tx, patient_id, step_id).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn answer_check_in(
                &self,
                step: &$crate::store::StepRecord,
                patient_id: uuid::Uuid,
                hours_after: u16,
                answer: &$crate::store::CheckInAnswer,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO soreness_check_ins (step_id, session_id, patient_id, hours_after, soreness, leg_swelling,
                                                     answered_at, answered_on)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (step_id) DO UPDATE SET soreness = excluded.soreness, leg_swelling = excluded.leg_swelling,
                            answered_at = excluded.answered_at, answered_on = excluded.answered_on",
                )
                .bind(step.id)
                .bind(step.session_id)
                .bind(patient_id)
                .bind(i32::from(hours_after))
                .bind(i32::from(answer.soreness))
                .bind(answer.leg_swelling)
                .bind(Ts::from(answer.answered_at))
                .bind(answer.answered_on)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE aftercare_steps SET state = 'done', completed_at = COALESCE(completed_at, $2) WHERE id = $1")
                    .bind(step.id)
                    .bind(Ts::from(answer.answered_at))
                    .execute(&mut *tx)
                    .await?;
                cancel_step_notification_in(&mut tx, patient_id, step.id).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_template(&self, record: &$crate::store::TemplateRecord) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                sqlx::query(
                    "INSERT INTO aftercare_templates (id, therapist_id, name, template, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(record.id)
                .bind(record.therapist_id)
                .bind(&record.template.name)
                .bind(serde_json::to_string(&record.template).expect("template serialises"))
                .bind(Ts::from(record.created_at))
                .bind(Ts::from(record.updated_at))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn update_template(&self, record: &$crate::store::TemplateRecord) -> $crate::store::StoreResult<bool> {
                use $crate::store::types::Ts;
                let result = sqlx::query(
                    "UPDATE aftercare_templates SET name = $3, template = $4, updated_at = $5 WHERE id = $1 AND therapist_id = $2",
                )
                .bind(record.id)
                .bind(record.therapist_id)
                .bind(&record.template.name)
                .bind(serde_json::to_string(&record.template).expect("template serialises"))
                .bind(Ts::from(record.updated_at))
                .execute(self.writer())
                .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn template(&self, therapist_id: uuid::Uuid, id: uuid::Uuid) -> $crate::store::StoreResult<Option<$crate::store::TemplateRecord>> {
                let row = sqlx::query("SELECT * FROM aftercare_templates WHERE id = $1 AND therapist_id = $2")
                    .bind(id)
                    .bind(therapist_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(template_from_row).transpose()
            }

            async fn templates(&self, therapist_id: uuid::Uuid) -> $crate::store::StoreResult<Vec<$crate::store::TemplateRecord>> {
                let rows = sqlx::query("SELECT * FROM aftercare_templates WHERE therapist_id = $1 ORDER BY created_at, id")
                    .bind(therapist_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(template_from_row).collect()
            }

            async fn delete_template(&self, therapist_id: uuid::Uuid, id: uuid::Uuid) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query("DELETE FROM aftercare_templates WHERE id = $1 AND therapist_id = $2")
                    .bind(id)
                    .bind(therapist_id)
                    .execute(self.writer())
                    .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn assign_template(
                &self,
                patient_id: uuid::Uuid,
                therapist_id: uuid::Uuid,
                template_id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let mut conn = self.audited_write(audit).await?;
                sqlx::query(
                    "INSERT INTO template_assignments (patient_id, therapist_id, template_id, assigned_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (patient_id, therapist_id) DO UPDATE SET template_id = excluded.template_id,
                            assigned_at = excluded.assigned_at",
                )
                .bind(patient_id)
                .bind(therapist_id)
                .bind(template_id)
                .bind(Ts::from(now))
                .execute(conn.conn())
                .await?;
                conn.finish().await?;
                Ok(())
            }

            async fn assigned_template(
                &self,
                patient_id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::domain::aftercare::Template>> {
                use $crate::store::types::Ts;
                // A grant is live as `care_repo!` states it; a therapist who lost it, or only the
                // scope, no longer shapes the patient's plans.
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT t.template FROM template_assignments a
                     JOIN aftercare_templates t ON t.id = a.template_id AND t.therapist_id = a.therapist_id
                     WHERE a.patient_id = $1
                       AND EXISTS (SELECT 1 FROM care_grants g
                                   WHERE g.patient_id = a.patient_id AND g.therapist_id = a.therapist_id
                                     AND g.ended_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $2)
                                     AND g.scopes LIKE $3)
                     ORDER BY a.assigned_at DESC LIMIT 1",
                )
                .bind(patient_id)
                .bind(Ts::from(now))
                .bind(format!("%,{},%", $crate::domain::care::Scope::ManageAftercare.as_str()))
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(t,)| serde_json::from_str(&t).map_err(|_| massage_corrupt("template"))).transpose()
            }
        }
    };
}
pub(crate) use massage_repo;
