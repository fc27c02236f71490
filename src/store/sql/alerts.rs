macro_rules! alert_repo {
    ($store:ty, $db:ty) => {
        fn alert_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::domain::alerts::Alert> {
            use sqlx::Row as _;
            use $crate::domain::alerts::{Acknowledged, Alert, Resolution, Resolved, RuleId, Tier};
            use $crate::store::StoreError;
            use $crate::store::types::Ts;
            let corrupt = |what: &str| StoreError::Corrupt(format!("alerts.{what}"));
            let rule: String = row.try_get("rule")?;
            let tier: String = row.try_get("tier")?;
            let evidence: String = row.try_get("evidence")?;
            let count: i64 = row.try_get::<i64, _>("notification_count").or_else(|_| row.try_get::<i32, _>("notification_count").map(i64::from))?;
            let acknowledged = row
                .try_get::<Option<Ts>, _>("acknowledged_at")?
                .map(|at| -> $crate::store::StoreResult<Acknowledged> { Ok(Acknowledged { at: at.0, by: row.try_get("acknowledged_by")? }) })
                .transpose()?;
            let reason = row
                .try_get::<Option<String>, _>("resolved_reason")?
                .map(|r| $crate::domain::alerts::ResolutionReason::parse(&r).ok_or_else(|| corrupt("resolved_reason")))
                .transpose()?;
            let resolved = match (row.try_get::<Option<Ts>, _>("resolved_at")?, row.try_get::<Option<String>, _>("resolved_how")?) {
                (Some(at), Some(how)) => Some(Resolved {
                    at: at.0,
                    how: Resolution::parse(&how).ok_or_else(|| corrupt("resolved_how"))?,
                    by: row.try_get("resolved_by")?,
                    reason,
                }),
                (None, None) => None,
                _ => return Err(corrupt("resolved_at")),
            };
            let evidence = $crate::store::codec::decode_evidence(&evidence)?;
            let count = u32::try_from(count).map_err(|_| corrupt("notification_count"))?;
            // Alerts notified before the facts were kept told of their evidence as it was.
            let notified_facts = match row.try_get::<Option<String>, _>("notified_facts")? {
                Some(text) => serde_json::from_str(&text).map_err(|_| corrupt("notified_facts"))?,
                None if count > 0 => $crate::domain::alerts::lifecycle::facts(&evidence),
                None => Vec::new(),
            };
            let acks: String = row.try_get("therapist_acknowledgements")?;
            let therapist_acknowledgements = decode_acknowledgements(&acks).ok_or_else(|| corrupt("therapist_acknowledgements"))?;
            Ok(Alert {
                id: row.try_get("id")?,
                patient_id: row.try_get("patient_id")?,
                rule: RuleId::parse(&rule).ok_or_else(|| corrupt("rule"))?,
                tier: Tier::parse(&tier).ok_or_else(|| corrupt("tier"))?,
                evidence,
                explanation: row.try_get("explanation")?,
                source: row.try_get("source")?,
                opened_at: row.try_get::<Ts, _>("opened_at")?.0,
                last_seen_at: row.try_get::<Ts, _>("last_seen_at")?.0,
                acknowledged,
                resolved,
                notified_at: row.try_get::<Option<Ts>, _>("notified_at")?.map(|t| t.0),
                notification_count: count,
                notified_facts,
                therapist_acknowledgements,
            })
        }

        /// Therapists' acknowledgements as stored: `[{"by": <id>, "at": <instant>}]`.
        #[derive(serde::Serialize, serde::Deserialize)]
        struct StoredAcknowledgement {
            by: uuid::Uuid,
            at: chrono::DateTime<chrono::Utc>,
        }

        fn decode_acknowledgements(text: &str) -> Option<Vec<$crate::domain::alerts::Acknowledged>> {
            let stored: Vec<StoredAcknowledgement> = serde_json::from_str(text).ok()?;
            Some(stored.into_iter().map(|a| $crate::domain::alerts::Acknowledged { at: a.at, by: Some(a.by) }).collect())
        }

        fn encode_acknowledgements(acks: &[$crate::domain::alerts::Acknowledged]) -> String {
            let stored: Vec<StoredAcknowledgement> =
                acks.iter().filter_map(|a| Some(StoredAcknowledgement { by: a.by?, at: a.at })).collect();
            serde_json::to_string(&stored).expect("acknowledgements serialise")
        }

        /// The condition on `column` that picks `patients`. A list is also bounded by its least
        /// and greatest id on PostgreSQL, so the plan stays on the index whatever the statistics
        /// (a list alone is costed as one descent per id and can lose to a scan of a table that
        /// looks small); SQLite probes its index once per id of the list.
        fn push_patients(query: &mut sqlx::QueryBuilder<$db>, column: &str, patients: $crate::store::Patients<'_>) {
            let (first, last) = patients.bounds();
            let range = |query: &mut sqlx::QueryBuilder<$db>| {
                query.push(column).push(" >= ").push_bind(first).push(" AND ").push(column).push(" <= ").push_bind(last);
            };
            match patients {
                $crate::store::Patients::Between(..) => range(query),
                $crate::store::Patients::Only(ids) => {
                    if <$db as sqlx::Database>::NAME != "SQLite" {
                        range(query);
                        query.push(" AND ");
                    }
                    query.push(column).push(" IN (");
                    let mut list = query.separated(", ");
                    for id in ids {
                        list.push_bind(*id);
                    }
                    query.push(")");
                }
            }
        }

        /// One of the patient's alerts, read on `conn` (so a write on the same transaction shows).
        async fn alert_on(
            conn: &mut <$db as sqlx::Database>::Connection,
            patient_id: uuid::Uuid,
            id: uuid::Uuid,
        ) -> $crate::store::StoreResult<Option<$crate::domain::alerts::Alert>> {
            let row = sqlx::query("SELECT * FROM alerts WHERE id = $1 AND patient_id = $2")
                .bind(id)
                .bind(patient_id)
                .fetch_optional(conn)
                .await?;
            row.as_ref().map(alert_from_row).transpose()
        }

        #[async_trait::async_trait]
        impl $crate::store::AlertRepo for $store {
            async fn alert_sweep_targets(
                &self,
                since: chrono::NaiveDate,
                after: uuid::Uuid,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Recipient>> {
                // Walks patients in id order; each EXISTS is one probe of an index that starts
                // with the patient id, so a page costs its patients, not the whole journal.
                let rows: Vec<(uuid::Uuid, String, String, String, String)> = sqlx::query_as(
                    "SELECT a.id, a.time_zone, a.quiet_start, a.quiet_end, a.locale FROM accounts a
                     WHERE a.role = 'patient' AND a.id > $1
                       AND (EXISTS (SELECT 1 FROM journal_entries e
                                    WHERE e.patient_id = a.id AND NOT e.deleted AND e.local_date >= $2)
                            OR EXISTS (SELECT 1 FROM soreness_check_ins c WHERE c.patient_id = a.id AND c.answered_on >= $2)
                            OR EXISTS (SELECT 1 FROM alerts x WHERE x.patient_id = a.id AND x.resolved_at IS NULL))
                     ORDER BY a.id LIMIT $3",
                )
                .bind(after)
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map($crate::store::codec::recipient).collect()
            }

            async fn claim_due_evaluations(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: u32,
                patient: Option<uuid::Uuid>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::DueEvaluation>> {
                use $crate::store::types::Ts;
                // PostgreSQL: evaluators of other instances skip the rows one is claiming.
                // SQLite has one writer, so the claim is atomic as it is.
                let skip_locked = if <$db as sqlx::Database>::NAME == "PostgreSQL" { " FOR UPDATE SKIP LOCKED" } else { "" };
                let sql = format!(
                    "UPDATE alert_evaluations_due SET claimed_until = $1
                     WHERE patient_id IN (
                         SELECT patient_id FROM alert_evaluations_due
                         WHERE (claimed_until IS NULL OR claimed_until <= $2) AND ($4 IS NULL OR patient_id = $4)
                         ORDER BY patient_id LIMIT $3{skip_locked})
                     RETURNING patient_id, generation"
                );
                let mut claimed: Vec<(uuid::Uuid, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(Ts::from(lease_until))
                    .bind(Ts::from(now))
                    .bind(i64::from(limit))
                    .bind(patient)
                    .fetch_all(self.writer())
                    .await?;
                claimed.sort();
                Ok(claimed
                    .into_iter()
                    .map(|(patient_id, generation)| $crate::store::DueEvaluation { patient_id, generation })
                    .collect())
            }

            async fn finish_due_evaluations(&self, done: &[$crate::store::DueEvaluation]) -> $crate::store::StoreResult<()> {
                /// Marks per statement: two parameters each.
                const CHUNK: usize = 500;
                for chunk in done.chunks(CHUNK) {
                    let mut delete = sqlx::QueryBuilder::<$db>::new(
                        "DELETE FROM alert_evaluations_due WHERE (patient_id, generation) IN (VALUES ",
                    );
                    let mut rows = delete.separated(", ");
                    for due in chunk {
                        rows.push("(").push_bind_unseparated(due.patient_id).push_unseparated(", ");
                        rows.push_bind_unseparated(due.generation).push_unseparated(")");
                    }
                    delete.push(")");
                    delete.build().execute(self.writer()).await?;
                }
                Ok(())
            }

            async fn patient_recipients(
                &self,
                ids: &[uuid::Uuid],
            ) -> $crate::store::StoreResult<Vec<$crate::store::Recipient>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT id, time_zone, quiet_start, quiet_end, locale FROM accounts WHERE role = 'patient' AND ",
                );
                push_patients(&mut query, "id", $crate::store::Patients::Only(ids));
                query.push(" ORDER BY id");
                let rows: Vec<(uuid::Uuid, String, String, String, String)> =
                    query.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map($crate::store::codec::recipient).collect()
            }

            async fn rollup_inputs_between(
                &self,
                patients: $crate::store::Patients<'_>,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> $crate::store::StoreResult<Vec<(uuid::Uuid, $crate::domain::rollup::RollupInput)>> {
                use $crate::store::types::Ts;
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT patient_id, local_date, recorded_at, pain, symptoms FROM journal_entries WHERE ",
                );
                push_patients(&mut query, "patient_id", patients);
                query.push(" AND NOT deleted AND local_date >= ").push_bind(from).push(" AND local_date <= ").push_bind(to);
                let rows: Vec<(uuid::Uuid, chrono::NaiveDate, Ts, i16, String)> =
                    query.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter()
                    .map(|(patient_id, local_date, recorded_at, pain, symptoms)| {
                        Ok((patient_id, $crate::store::codec::rollup_input(local_date, recorded_at.0, pain, &symptoms)?))
                    })
                    .collect()
            }

            async fn check_ins_between(
                &self,
                patients: $crate::store::Patients<'_>,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> $crate::store::StoreResult<Vec<(uuid::Uuid, $crate::domain::alerts::CheckIn)>> {
                use sqlx::Row as _;
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "SELECT c.patient_id, c.session_id, c.hours_after, c.soreness, c.leg_swelling, c.answered_on, s.pain_before
                     FROM soreness_check_ins c JOIN massage_sessions s ON s.id = c.session_id WHERE ",
                );
                push_patients(&mut query, "c.patient_id", patients);
                query.push(" AND c.answered_on >= ").push_bind(from).push(" AND c.answered_on <= ").push_bind(to);
                let rows = query.build().fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|row| {
                        let corrupt = |what: &str| $crate::store::StoreError::Corrupt(format!("soreness_check_ins.{what}"));
                        let int = |column: &str| -> $crate::store::StoreResult<Option<i64>> {
                            Ok(row.try_get::<Option<i64>, _>(column).or_else(|_| row.try_get::<Option<i32>, _>(column).map(|v| v.map(i64::from)))?)
                        };
                        let small = |column: &str| -> $crate::store::StoreResult<Option<u8>> {
                            int(column)?.map(|v| u8::try_from(v).map_err(|_| corrupt(column))).transpose()
                        };
                        Ok((
                            row.try_get("patient_id")?,
                            $crate::domain::alerts::CheckIn {
                                session_id: row.try_get("session_id")?,
                                hours_after: small("hours_after")?.ok_or_else(|| corrupt("hours_after"))?,
                                soreness: small("soreness")?.ok_or_else(|| corrupt("soreness"))?,
                                leg_swelling_redness_warmth: row.try_get("leg_swelling")?,
                                answered_on: row.try_get("answered_on")?,
                                pain_before: small("pain_before")?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn alerts_under_review(
                &self,
                patients: $crate::store::Patients<'_>,
                resolved_since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::alerts::Alert>> {
                use $crate::store::types::Ts;
                let mut query = sqlx::QueryBuilder::<$db>::new("SELECT * FROM alerts WHERE ");
                push_patients(&mut query, "patient_id", patients);
                query.push(" AND (resolved_at IS NULL OR resolved_at >= ").push_bind(Ts::from(resolved_since)).push(")");
                let rows = query.build().fetch_all(&self.pool).await?;
                rows.iter().map(alert_from_row).collect()
            }

            async fn record_alert_evaluation(
                &self,
                upserts: &[$crate::store::AlertUpsert],
                resolve: &[$crate::domain::alerts::lifecycle::AutoResolve],
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::RecordedEvaluation> {
                use $crate::store::types::Ts;
                /// Rows per INSERT: 9 parameters each keeps a statement far below SQLite's limit.
                const CHUNK: usize = 500;
                let mut recorded = $crate::store::RecordedEvaluation::default();
                if upserts.is_empty() && resolve.is_empty() {
                    return Ok(recorded);
                }
                let now = Ts::from(now);
                let mut tx = self.begin_write().await?;
                for resolution in resolve {
                    // Unchanged since it was read: an evaluation that found it firing since wins.
                    let resolved = sqlx::query(
                        "UPDATE alerts SET resolved_at = $2, resolved_how = 'auto', resolved_reason = $4
                         WHERE id = $1 AND resolved_at IS NULL AND last_seen_at = $3",
                    )
                    .bind(resolution.id)
                    .bind(now)
                    .bind(Ts::from(resolution.last_seen_at))
                    .bind(resolution.reason.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    recorded.resolved += resolved;
                    if resolved > 0 && resolution.reason == $crate::domain::alerts::ResolutionReason::Withdrawn {
                        // Its notifications still waiting (for the settling delay or quiet hours)
                        // never go out: the patient's and every therapist's copy.
                        let key = format!("alert:{}:", resolution.id);
                        sqlx::query(
                            "UPDATE notifications SET state = 'cancelled'
                             WHERE state = 'scheduled' AND substr(dedupe_key, 1, length($2)) = $2
                               AND (account_id = (SELECT patient_id FROM alerts WHERE id = $1)
                                    OR about_patient_id = (SELECT patient_id FROM alerts WHERE id = $1))",
                        )
                        .bind(resolution.id)
                        .bind(key)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                // One order for every writer, so concurrent evaluations lock rows alike.
                let mut upserts: Vec<&$crate::store::AlertUpsert> = upserts.iter().collect();
                upserts.sort_by_key(|u| (u.patient_id, u.finding.rule));
                for chunk in upserts.chunks(CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO alerts (id, patient_id, rule, tier, evidence, explanation, source, opened_at, last_seen_at,
                                             notification_count) ",
                    );
                    insert.push_values(chunk, |mut row, upsert| {
                        let finding = &upsert.finding;
                        row.push_bind(upsert.id)
                            .push_bind(upsert.patient_id)
                            .push_bind(finding.rule.as_str())
                            .push_bind(finding.tier.as_str())
                            .push_bind($crate::store::codec::encode_evidence(&finding.evidence))
                            .push_bind(finding.explanation.clone())
                            .push_bind(finding.source)
                            .push_bind(now)
                            .push_bind(now)
                            .push("0");
                    });
                    insert.push(
                        " ON CONFLICT (patient_id, rule) WHERE resolved_at IS NULL DO UPDATE
                            SET evidence = excluded.evidence, explanation = excluded.explanation, source = excluded.source,
                                last_seen_at = excluded.last_seen_at
                          RETURNING *",
                    );
                    let rows = insert.build().fetch_all(&mut *tx).await?;
                    // A row that kept the id it was offered was inserted; the others were there.
                    let offered: std::collections::HashSet<uuid::Uuid> = chunk.iter().map(|u| u.id).collect();
                    for row in &rows {
                        let alert = alert_from_row(row)?;
                        let opened = offered.contains(&alert.id);
                        recorded.alerts.push((alert, opened));
                    }
                }
                tx.commit().await?;
                Ok(recorded)
            }

            async fn mark_alert_notified(
                &self,
                id: uuid::Uuid,
                number: u32,
                at: chrono::DateTime<chrono::Utc>,
                facts: &[String],
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::types::Ts;
                let result = sqlx::query(
                    "UPDATE alerts SET notification_count = $2, notified_at = $3, notified_facts = $5
                     WHERE id = $1 AND notification_count = $4",
                )
                .bind(id)
                .bind(i64::from(number))
                .bind(Ts::from(at))
                .bind(i64::from(number) - 1)
                .bind(serde_json::to_string(facts).expect("facts serialise"))
                .execute(self.writer())
                .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn alerts(
                &self,
                patient_id: uuid::Uuid,
                filter: $crate::store::AlertFilter,
                before: Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>,
                limit: u32,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::alerts::Alert>> {
                use $crate::store::types::Ts;
                let mut conn = self.audited(audit).await?;
                let (before_at, before_id) = before.map_or((None, None), |(at, id)| (Some(Ts::from(at)), Some(id)));
                let rows = sqlx::query(
                    "SELECT * FROM alerts
                     WHERE patient_id = $1
                       AND ($2 IS NULL OR $2 = CASE WHEN resolved_at IS NOT NULL THEN 'resolved'
                                                    WHEN acknowledged_at IS NOT NULL THEN 'acknowledged'
                                                    ELSE 'open' END)
                       AND ($3 IS NULL OR tier = $3)
                       AND ($4 IS NULL OR (opened_at, id) < ($4, $5))
                     ORDER BY opened_at DESC, id DESC LIMIT $6",
                )
                .bind(patient_id)
                .bind(filter.status.map(|s| s.as_str()))
                .bind(filter.tier.map(|t| t.as_str()))
                .bind(before_at)
                .bind(before_id)
                .bind(i64::from(limit))
                .fetch_all(conn.conn())
                .await?;
                conn.finish().await?;
                rows.iter().map(alert_from_row).collect()
            }

            async fn alert(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Option<$crate::domain::alerts::Alert>> {
                let mut conn = self.audited(audit).await?;
                let alert = alert_on(conn.conn(), patient_id, id).await?;
                conn.finish().await?;
                Ok(alert)
            }

            async fn acknowledge_alert(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                by: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Option<$crate::domain::alerts::Alert>> {
                use $crate::store::types::Ts;
                let mut conn = self.audited_write(audit).await?;
                if by == patient_id {
                    sqlx::query(
                        "UPDATE alerts SET acknowledged_at = $3, acknowledged_by = $4
                         WHERE id = $1 AND patient_id = $2 AND acknowledged_at IS NULL AND resolved_at IS NULL",
                    )
                    .bind(id)
                    .bind(patient_id)
                    .bind(Ts::from(now))
                    .bind(by)
                    .execute(conn.conn())
                    .await?;
                } else {
                    // Compare-and-set on the list as read, so two therapists acknowledging at
                    // once both stay on it.
                    for _ in 0..8 {
                        let Some(alert) = alert_on(conn.conn(), patient_id, id).await? else { break };
                        if alert.resolved.is_some() || alert.therapist_acknowledgements.iter().any(|a| a.by == Some(by)) {
                            break;
                        }
                        let row: Option<(String,)> =
                            sqlx::query_as("SELECT therapist_acknowledgements FROM alerts WHERE id = $1")
                                .bind(id)
                                .fetch_optional(conn.conn())
                                .await?;
                        let Some((before,)) = row else { break };
                        let mut acks = alert.therapist_acknowledgements;
                        acks.push($crate::domain::alerts::Acknowledged { at: now, by: Some(by) });
                        let written = sqlx::query(
                            "UPDATE alerts SET therapist_acknowledgements = $3
                             WHERE id = $1 AND patient_id = $2 AND resolved_at IS NULL AND therapist_acknowledgements = $4",
                        )
                        .bind(id)
                        .bind(patient_id)
                        .bind(encode_acknowledgements(&acks))
                        .bind(before)
                        .execute(conn.conn())
                        .await?
                        .rows_affected();
                        if written > 0 {
                            break;
                        }
                    }
                }
                // Read back on the same connection: the answer is what this write left.
                let alert = alert_on(conn.conn(), patient_id, id).await?;
                conn.finish().await?;
                Ok(alert)
            }

            async fn resolve_alert(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                by: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Option<$crate::domain::alerts::Alert>> {
                use $crate::store::types::Ts;
                let mut conn = self.audited_write(audit).await?;
                sqlx::query(
                    "UPDATE alerts SET resolved_at = $3, resolved_how = 'manual', resolved_by = $4
                     WHERE id = $1 AND patient_id = $2 AND resolved_at IS NULL",
                )
                .bind(id)
                .bind(patient_id)
                .bind(Ts::from(now))
                .bind(by)
                .execute(conn.conn())
                .await?;
                // Read back on the same connection: the answer is what this write left.
                let alert = alert_on(conn.conn(), patient_id, id).await?;
                conn.finish().await?;
                Ok(alert)
            }
        }
    };
}
pub(crate) use alert_repo;
