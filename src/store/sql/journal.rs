macro_rules! journal_repo {
    ($store:ty, $db:ty, for_update = $for_update:literal) => {
        fn entry_state_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::EntryState> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            use $crate::store::{EntryState, Tombstone, codec};
            let id: uuid::Uuid = row.try_get("id")?;
            let version: i64 = row.try_get("version")?;
            let updated_at = row.try_get::<Ts, _>("updated_at")?.0;
            if row.try_get::<bool, _>("deleted")? {
                return Ok(EntryState::Deleted(Tombstone { id, version, deleted_at: updated_at }));
            }
            let recorded_at = row.try_get::<Ts, _>("recorded_at")?.0;
            let pain: i16 = row.try_get("pain")?;
            let symptoms: String = row.try_get("symptoms")?;
            let content: String = row.try_get("content")?;
            Ok(EntryState::Live($crate::domain::journal::Entry {
                id,
                patient_id: row.try_get("patient_id")?,
                content: codec::decode_content(recorded_at, pain.into(), &symptoms, &content)?,
                local_date: row.try_get("local_date")?,
                version,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                updated_at,
            }))
        }

        fn live_entry(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::domain::journal::Entry> {
            match entry_state_from_row(row)? {
                $crate::store::EntryState::Live(entry) => Ok(entry),
                $crate::store::EntryState::Deleted(_) => Err($crate::store::StoreError::Corrupt("expected a live entry".into())),
            }
        }

        fn questionnaire_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::QuestionnaireRecord> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            let kind: String = row.try_get("kind")?;
            let answers: String = row.try_get("answers")?;
            Ok($crate::store::QuestionnaireRecord {
                id: row.try_get("id")?,
                patient_id: row.try_get("patient_id")?,
                answers: $crate::store::codec::decode_answers(&kind, &answers)?,
                score: row.try_get("score")?,
                completed_at: row.try_get::<Ts, _>("completed_at")?.0,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
            })
        }

        /// Takes the patient's next change number; the row lock it leaves orders concurrent
        /// writers of one journal.
        async fn next_change_seq(
            tx: &mut sqlx::Transaction<'static, $db>,
            patient_id: uuid::Uuid,
        ) -> Result<i64, sqlx::Error> {
            sqlx::query_scalar(
                "INSERT INTO journal_heads (patient_id, last_seq) VALUES ($1, 1)
                 ON CONFLICT (patient_id) DO UPDATE SET last_seq = journal_heads.last_seq + 1
                 RETURNING last_seq",
            )
            .bind(patient_id)
            .fetch_one(&mut **tx)
            .await
        }

        impl $store {
            /// The common write, a new entry, in one statement (its own transaction): PostgreSQL
            /// moves the head and inserts in one writing CTE; SQLite, which has none, inserts
            /// with the head's next number and a trigger moves the head (SQLite has one writer,
            /// so nobody takes the same number). The head moves only while no entry has the id,
            /// so a replay or an update leaves no gap in the change numbers. None when the id is
            /// taken: the caller goes the long way.
            async fn try_create_entry(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                content: &$crate::domain::journal::EntryContent,
                local_date: chrono::NaiveDate,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::domain::journal::Entry>> {
                use $crate::store::types::Ts;
                use $crate::store::codec;
                macro_rules! bind_entry {
                    ($query:expr) => {
                        $query
                            .bind(id)
                            .bind(patient_id)
                            .bind(Ts::from(content.recorded_at))
                            .bind(local_date)
                            .bind(i16::from(content.pain.value()))
                            .bind(codec::encode_symptoms(&content.symptoms))
                            .bind(codec::encode_content(content))
                            .bind(Ts::from(now))
                    };
                }
                let row = if <$db as sqlx::Database>::NAME == "PostgreSQL" {
                    bind_entry!(sqlx::query(
                        "WITH head AS (
                             INSERT INTO journal_heads (patient_id, last_seq)
                             SELECT $2, 1 WHERE NOT EXISTS (SELECT 1 FROM journal_entries WHERE id = $1)
                             ON CONFLICT (patient_id) DO UPDATE SET last_seq = journal_heads.last_seq + 1
                             RETURNING last_seq)
                         INSERT INTO journal_entries (id, patient_id, recorded_at, local_date, pain, symptoms, content,
                                                      version, change_seq, deleted, created_at, updated_at)
                         SELECT $1, $2, $3, $4, $5, $6, $7, 1, head.last_seq, FALSE, $8, $8 FROM head WHERE TRUE
                         ON CONFLICT (id) DO NOTHING
                         RETURNING *",
                    ))
                    .fetch_optional(self.writer())
                    .await?
                } else {
                    // One statement, so the write lock is held for it alone: the change number is
                    // the head's next, and a trigger (migration 0014) moves the head with it.
                    bind_entry!(sqlx::query(
                        "INSERT INTO journal_entries (id, patient_id, recorded_at, local_date, pain, symptoms, content,
                                                      version, change_seq, deleted, created_at, updated_at)
                         SELECT $1, $2, $3, $4, $5, $6, $7, 1,
                                COALESCE((SELECT last_seq FROM journal_heads WHERE patient_id = $2), 0) + 1,
                                FALSE, $8, $8
                         WHERE TRUE
                         ON CONFLICT (id) DO NOTHING
                         RETURNING *",
                    ))
                    .fetch_optional(self.writer())
                    .await?
                };
                row.map(|row| live_entry(&row)).transpose()
            }

            async fn try_write_entry(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                content: &$crate::domain::journal::EntryContent,
                local_date: chrono::NaiveDate,
                base_version: Option<i64>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::EntryWrite> {
                use $crate::store::types::Ts;
                use $crate::store::{EntryState, EntryWrite, codec};
                if base_version.is_none()
                    && let Some(entry) = self.try_create_entry(patient_id, id, content, local_date, now).await?
                {
                    return Ok(EntryWrite::Created(entry));
                }
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query(concat!("SELECT * FROM journal_entries WHERE id = $1", $for_update))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let version = match existing {
                    Some(row) => {
                        use sqlx::Row as _;
                        if row.try_get::<uuid::Uuid, _>("patient_id")? != patient_id {
                            return Ok(EntryWrite::NotFound);
                        }
                        match entry_state_from_row(&row)? {
                            EntryState::Deleted(tombstone) => return Ok(EntryWrite::Stale(EntryState::Deleted(tombstone))),
                            EntryState::Live(current) if current.content == *content => {
                                let raised: String = row.try_get("raised_alerts")?;
                                let raised = raised
                                    .split(',')
                                    .filter(|id| !id.is_empty())
                                    .map(|id| id.parse().map_err(|_| $crate::store::StoreError::Corrupt("journal_entries.raised_alerts".into())))
                                    .collect::<Result<_, _>>()?;
                                return Ok(EntryWrite::Unchanged(current, raised));
                            }
                            EntryState::Live(current) if base_version != Some(current.version) => {
                                return Ok(EntryWrite::Stale(EntryState::Live(current)));
                            }
                            EntryState::Live(current) => {
                                Some((current.version, $crate::domain::journal::journal_date_on_update(&current, content, local_date)))
                            }
                        }
                    }
                    None => None,
                };
                let seq = next_change_seq(&mut tx, patient_id).await?;
                let symptoms = codec::encode_symptoms(&content.symptoms);
                let stored = codec::encode_content(content);
                let row = match version {
                    None => {
                        sqlx::query(
                            "INSERT INTO journal_entries (id, patient_id, recorded_at, local_date, pain, symptoms, content,
                                                          version, change_seq, deleted, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, FALSE, $9, $9)
                             RETURNING *",
                        )
                        .bind(id)
                        .bind(patient_id)
                        .bind(Ts::from(content.recorded_at))
                        .bind(local_date)
                        .bind(i16::from(content.pain.value()))
                        .bind(symptoms)
                        .bind(stored)
                        .bind(seq)
                        .bind(Ts::from(now))
                        .fetch_one(&mut *tx)
                        .await?
                    }
                    Some((current, local_date)) => {
                        sqlx::query(
                            "UPDATE journal_entries SET recorded_at = $2, local_date = $3, pain = $4, symptoms = $5,
                                    content = $6, version = $7, change_seq = $8, updated_at = $9, raised_alerts = ''
                             WHERE id = $1 RETURNING *",
                        )
                        .bind(id)
                        .bind(Ts::from(content.recorded_at))
                        .bind(local_date)
                        .bind(i16::from(content.pain.value()))
                        .bind(symptoms)
                        .bind(stored)
                        .bind(current + 1)
                        .bind(seq)
                        .bind(Ts::from(now))
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
                let entry = live_entry(&row)?;
                tx.commit().await?;
                Ok(if version.is_none() { EntryWrite::Created(entry) } else { EntryWrite::Updated(entry) })
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::JournalRepo for $store {
            async fn write_entry(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                content: &$crate::domain::journal::EntryContent,
                local_date: chrono::NaiveDate,
                base_version: Option<i64>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::EntryWrite> {
                match self.try_write_entry(patient_id, id, content, local_date, base_version, now).await {
                    // Two devices created the same id at once: the loser sees the winner's row.
                    Err($crate::store::StoreError::Conflict) => {
                        self.try_write_entry(patient_id, id, content, local_date, base_version, now).await
                    }
                    other => other,
                }
            }

            async fn record_raised_alerts(&self, id: uuid::Uuid, alert_ids: &[uuid::Uuid]) -> $crate::store::StoreResult<()> {
                let ids: Vec<String> = alert_ids.iter().map(ToString::to_string).collect();
                sqlx::query("UPDATE journal_entries SET raised_alerts = $2 WHERE id = $1")
                    .bind(id)
                    .bind(ids.join(","))
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn delete_entry(
                &self,
                patient_id: uuid::Uuid,
                id: uuid::Uuid,
                base_version: Option<i64>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::EntryDeletion> {
                use sqlx::Row as _;
                use $crate::store::types::Ts;
                use $crate::store::{EntryDeletion, EntryState, Tombstone};
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query(concat!("SELECT * FROM journal_entries WHERE id = $1", $for_update))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = existing else { return Ok(EntryDeletion::NotFound) };
                if row.try_get::<uuid::Uuid, _>("patient_id")? != patient_id {
                    return Ok(EntryDeletion::NotFound);
                }
                let current = match entry_state_from_row(&row)? {
                    EntryState::Deleted(tombstone) => return Ok(EntryDeletion::AlreadyDeleted(tombstone)),
                    EntryState::Live(current) => current,
                };
                if base_version.is_some_and(|v| v != current.version) {
                    return Ok(EntryDeletion::Stale(current));
                }
                let seq = next_change_seq(&mut tx, patient_id).await?;
                // The tombstone keeps only what sync needs; the content is erased.
                sqlx::query(
                    "UPDATE journal_entries SET deleted = TRUE, pain = 0, symptoms = '', content = '{}',
                            version = version + 1, change_seq = $2, updated_at = $3
                     WHERE id = $1",
                )
                .bind(id)
                .bind(seq)
                .bind(Ts::from(now))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(EntryDeletion::Deleted(Tombstone { id, version: current.version + 1, deleted_at: Ts::from(now).0 }))
            }

            async fn entry(&self, patient_id: uuid::Uuid, id: uuid::Uuid, audit: Option<&$crate::store::AccessRecord>) -> $crate::store::StoreResult<Option<$crate::store::EntryState>> {
                let mut conn = self.audited(audit).await?;
                let row = sqlx::query("SELECT * FROM journal_entries WHERE id = $1 AND patient_id = $2")
                    .bind(id)
                    .bind(patient_id)
                    .fetch_optional(conn.conn())
                    .await?;
                conn.finish().await?;
                row.as_ref().map(entry_state_from_row).transpose()
            }

            async fn entries(
                &self,
                patient_id: uuid::Uuid,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                after: Option<$crate::store::EntryPosition>,
                limit: u32,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::journal::Entry>> {
                use $crate::store::types::Ts;
                let mut conn = self.audited(audit).await?;
                let rows = match after {
                    None => {
                        sqlx::query(
                            "SELECT * FROM journal_entries
                             WHERE patient_id = $1 AND NOT deleted AND recorded_at >= $2 AND recorded_at < $3
                             ORDER BY recorded_at DESC, id DESC LIMIT $4",
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
                            "SELECT * FROM journal_entries
                             WHERE patient_id = $1 AND NOT deleted AND recorded_at >= $2 AND recorded_at < $3
                               AND (recorded_at, id) < ($5, $6)
                             ORDER BY recorded_at DESC, id DESC LIMIT $4",
                        )
                        .bind(patient_id)
                        .bind(Ts::from(from))
                        .bind(Ts::from(to))
                        .bind(i64::from(limit))
                        .bind(Ts::from(position.recorded_at))
                        .bind(position.id)
                        .fetch_all(conn.conn())
                        .await?
                    }
                };
                conn.finish().await?;
                rows.iter().map(live_entry).collect()
            }

            async fn changes(&self, patient_id: uuid::Uuid, since: i64, limit: u32, audit: Option<&$crate::store::AccessRecord>) -> $crate::store::StoreResult<Vec<$crate::store::Change>> {
                use sqlx::Row as _;
                let mut conn = self.audited(audit).await?;
                let rows = sqlx::query(
                    "SELECT * FROM journal_entries WHERE patient_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3",
                )
                .bind(patient_id)
                .bind(since)
                .bind(i64::from(limit))
                .fetch_all(conn.conn())
                .await?;
                conn.finish().await?;
                rows.iter()
                    .map(|row| Ok($crate::store::Change { seq: row.try_get("change_seq")?, state: entry_state_from_row(row)? }))
                    .collect()
            }

            async fn rollup_inputs(
                &self,
                patient_id: uuid::Uuid,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::rollup::RollupInput>> {
                use $crate::store::types::Ts;
                let mut conn = self.audited(audit).await?;
                let rows: Vec<(chrono::NaiveDate, Ts, i16, String)> = sqlx::query_as(
                    "SELECT local_date, recorded_at, pain, symptoms FROM journal_entries
                     WHERE patient_id = $1 AND NOT deleted AND local_date >= $2 AND local_date <= $3
                     ORDER BY local_date, recorded_at, id",
                )
                .bind(patient_id)
                .bind(from)
                .bind(to)
                .fetch_all(conn.conn())
                .await?;
                conn.finish().await?;
                rows.into_iter()
                    .map(|(local_date, recorded_at, pain, symptoms)| {
                        $crate::store::codec::rollup_input(local_date, recorded_at.0, pain, &symptoms)
                    })
                    .collect()
            }

            async fn add_questionnaire(&self, record: &$crate::store::QuestionnaireRecord) -> $crate::store::StoreResult<()> {
                use $crate::store::codec;
                use $crate::store::types::Ts;
                sqlx::query(
                    "INSERT INTO questionnaire_responses (id, patient_id, kind, answers, score, completed_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(record.id)
                .bind(record.patient_id)
                .bind(codec::questionnaire_kind(&record.answers))
                .bind(codec::encode_answers(&record.answers))
                .bind(record.score)
                .bind(Ts::from(record.completed_at))
                .bind(Ts::from(record.created_at))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn questionnaire(&self, patient_id: uuid::Uuid, id: uuid::Uuid, audit: Option<&$crate::store::AccessRecord>) -> $crate::store::StoreResult<Option<$crate::store::QuestionnaireRecord>> {
                let mut conn = self.audited(audit).await?;
                let row = sqlx::query("SELECT * FROM questionnaire_responses WHERE id = $1 AND patient_id = $2")
                    .bind(id)
                    .bind(patient_id)
                    .fetch_optional(conn.conn())
                    .await?;
                conn.finish().await?;
                row.as_ref().map(questionnaire_from_row).transpose()
            }

            async fn questionnaires(
                &self,
                patient_id: uuid::Uuid,
                kind: Option<&str>,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                after: Option<$crate::store::QuestionnairePosition>,
                limit: u32,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<$crate::store::QuestionnairePage> {
                use $crate::store::types::Ts;
                let mut conn = self.audited(audit).await?;
                let rows = sqlx::query(
                    "SELECT * FROM questionnaire_responses
                     WHERE patient_id = $1 AND ($2 IS NULL OR kind = $2) AND completed_at >= $3 AND completed_at < $4
                       AND ($5 IS NULL OR completed_at > $5 OR (completed_at = $5 AND id > $6))
                     ORDER BY completed_at, id LIMIT $7",
                )
                .bind(patient_id)
                .bind(kind)
                .bind(Ts::from(from))
                .bind(Ts::from(to))
                .bind(after.map(|p| Ts::from(p.completed_at)))
                .bind(after.map(|p| p.id))
                .bind(i64::from(limit))
                .fetch_all(conn.conn())
                .await?;
                // The trend spans the whole range, whichever page this is.
                let first_and_latest = match kind {
                    None => None,
                    Some(kind) => {
                        let mut ends = Vec::with_capacity(2);
                        for sql in [
                            "SELECT id, score FROM questionnaire_responses
                             WHERE patient_id = $1 AND kind = $2 AND completed_at >= $3 AND completed_at < $4
                             ORDER BY completed_at, id LIMIT 1",
                            "SELECT id, score FROM questionnaire_responses
                             WHERE patient_id = $1 AND kind = $2 AND completed_at >= $3 AND completed_at < $4
                             ORDER BY completed_at DESC, id DESC LIMIT 1",
                        ] {
                            let end: Option<(uuid::Uuid, f64)> = sqlx::query_as(sql)
                                .bind(patient_id)
                                .bind(kind)
                                .bind(Ts::from(from))
                                .bind(Ts::from(to))
                                .fetch_optional(conn.conn())
                                .await?;
                            ends.extend(end);
                        }
                        match ends.as_slice() {
                            [(first_id, first), (latest_id, latest)] if first_id != latest_id => Some((*first, *latest)),
                            _ => None,
                        }
                    }
                };
                conn.finish().await?;
                Ok($crate::store::QuestionnairePage {
                    items: rows.iter().map(questionnaire_from_row).collect::<Result<_, _>>()?,
                    first_and_latest,
                })
            }

            async fn claim_idempotency(
                &self,
                account_id: uuid::Uuid,
                key: &str,
                operation: &str,
                request_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::IdempotencyClaim> {
                use $crate::store::IdempotencyClaim;
                use $crate::store::types::Ts;
                // An unfinished claim older than the timeout belonged to a request that died:
                // take it over.
                let inserted = sqlx::query(
                    "INSERT INTO idempotency_keys (account_id, key, operation, request_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (account_id, key) DO UPDATE
                        SET operation = excluded.operation, request_hash = excluded.request_hash,
                            created_at = excluded.created_at
                        WHERE idempotency_keys.resource_id IS NULL AND idempotency_keys.created_at < $6",
                )
                .bind(account_id)
                .bind(key)
                .bind(operation)
                .bind(request_hash)
                .bind(Ts::from(now))
                .bind(Ts::from(now - $crate::store::IDEMPOTENCY_CLAIM_TIMEOUT))
                .execute(self.writer())
                .await?
                .rows_affected();
                if inserted == 1 {
                    return Ok(IdempotencyClaim::Claimed);
                }
                let existing: Option<(String, String, Option<uuid::Uuid>)> = sqlx::query_as(
                    "SELECT operation, request_hash, resource_id FROM idempotency_keys WHERE account_id = $1 AND key = $2",
                )
                .bind(account_id)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
                Ok(match existing {
                    // Released between our insert and read: the client may try again.
                    None => IdempotencyClaim::InProgress,
                    Some((op, hash, _)) if op != operation || hash != request_hash => IdempotencyClaim::Mismatch,
                    Some((_, _, Some(resource_id))) => IdempotencyClaim::Done { resource_id },
                    Some((_, _, None)) => IdempotencyClaim::InProgress,
                })
            }

            async fn finish_idempotency(&self, account_id: uuid::Uuid, key: &str, resource_id: uuid::Uuid) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE idempotency_keys SET resource_id = $3 WHERE account_id = $1 AND key = $2")
                    .bind(account_id)
                    .bind(key)
                    .bind(resource_id)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn release_idempotency(&self, account_id: uuid::Uuid, key: &str) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND resource_id IS NULL")
                    .bind(account_id)
                    .bind(key)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn purge_idempotency(&self, older_than: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<u64> {
                use $crate::store::types::Ts;
                Ok(sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(Ts::from(older_than))
                    .execute(self.writer())
                    .await?
                    .rows_affected())
            }
        }

    };
}
pub(crate) use journal_repo;
