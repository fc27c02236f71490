/// Notes between a patient and a therapist, and the notifications that announce them.
macro_rules! note_repo {
    ($store:ty, $db:ty) => {
        const NOTE_SELECT: &str = "SELECT n.id, n.patient_id, n.therapist_id, t.display_name AS therapist_name,
                                          n.thread_id, n.author_role, n.subject_kind, n.subject_id, n.body,
                                          n.created_at, n.read_at
                                   FROM notes n LEFT JOIN accounts t ON t.id = n.therapist_id";

        fn note_corrupt(what: &str) -> $crate::store::StoreError {
            $crate::store::StoreError::Corrupt(format!("notes.{what}"))
        }

        fn note_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::domain::notes::Note> {
            use sqlx::Row as _;
            use $crate::domain::notes::{Note, Subject, SubjectKind};
            use $crate::store::types::Ts;
            let author: String = row.try_get("author_role")?;
            let kind: String = row.try_get("subject_kind")?;
            Ok(Note {
                id: row.try_get("id")?,
                patient_id: row.try_get("patient_id")?,
                therapist_id: row.try_get("therapist_id")?,
                therapist_name: row.try_get("therapist_name")?,
                thread_id: row.try_get("thread_id")?,
                author: $crate::domain::Role::from_db(&author).ok_or_else(|| note_corrupt("author_role"))?,
                subject: Subject {
                    kind: SubjectKind::parse(&kind).ok_or_else(|| note_corrupt("subject_kind"))?,
                    id: row.try_get("subject_id")?,
                },
                body: row.try_get("body")?,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                read_at: row.try_get::<Option<Ts>, _>("read_at")?.map(|t| t.0),
            })
        }

        /// One note of the patient's threads (of `therapist`'s, when given).
        async fn note_on(
            conn: &mut <$db as sqlx::Database>::Connection,
            patient_id: uuid::Uuid,
            therapist: Option<uuid::Uuid>,
            id: uuid::Uuid,
        ) -> $crate::store::StoreResult<Option<$crate::domain::notes::Note>> {
            let row = match therapist {
                None => {
                    sqlx::query(sqlx::AssertSqlSafe(format!("{NOTE_SELECT} WHERE n.id = $1 AND n.patient_id = $2")))
                        .bind(id)
                        .bind(patient_id)
                        .fetch_optional(&mut *conn)
                        .await?
                }
                Some(therapist_id) => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "{NOTE_SELECT} WHERE n.id = $1 AND n.patient_id = $2 AND n.therapist_id = $3"
                    )))
                    .bind(id)
                    .bind(patient_id)
                    .bind(therapist_id)
                    .fetch_optional(&mut *conn)
                    .await?
                }
            };
            row.as_ref().map(note_from_row).transpose()
        }

        #[async_trait::async_trait]
        impl $crate::store::NoteRepo for $store {
            async fn add_note(
                &self,
                note: &$crate::store::NewNote,
                notification: Option<&$crate::store::NewNotification>,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<$crate::store::NoteWrite> {
                use $crate::domain::notes::SubjectKind;
                use $crate::store::types::Ts;
                use $crate::store::{NoteTarget, NoteWrite};
                let mut tx = self.begin_write().await?;
                log_access_in(&mut tx, audit).await?;
                let (thread_id, subject, therapist_id) = match note.target {
                    NoteTarget::Subject(subject) => {
                        let exists = match subject.kind {
                            SubjectKind::Entry => {
                                "SELECT count(*) FROM journal_entries WHERE id = $1 AND patient_id = $2 AND NOT deleted"
                            }
                            SubjectKind::Session => "SELECT count(*) FROM massage_sessions WHERE id = $1 AND patient_id = $2",
                            SubjectKind::Alert => "SELECT count(*) FROM alerts WHERE id = $1 AND patient_id = $2",
                        };
                        let found: i64 =
                            sqlx::query_scalar(exists).bind(subject.id).bind(note.patient_id).fetch_one(&mut *tx).await?;
                        if found == 0 {
                            tx.commit().await?;
                            return Ok(NoteWrite::NoSubject);
                        }
                        (note.id, subject, note.therapist_id)
                    }
                    NoteTarget::ReplyTo(to) => {
                        let Some(thread) = note_on(&mut tx, note.patient_id, note.therapist_id, to).await? else {
                            tx.commit().await?;
                            return Ok(NoteWrite::NoThread);
                        };
                        (thread.thread_id, thread.subject, thread.therapist_id)
                    }
                };
                sqlx::query(
                    "INSERT INTO notes (id, patient_id, therapist_id, thread_id, author_role, subject_kind, subject_id, body,
                                        created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(note.id)
                .bind(note.patient_id)
                .bind(therapist_id)
                .bind(thread_id)
                .bind(note.author.as_str())
                .bind(subject.kind.as_str())
                .bind(subject.id)
                .bind(&note.body)
                .bind(Ts::from(note.created_at))
                .execute(&mut *tx)
                .await?;
                if let Some(n) = notification {
                    $crate::store::sql::bind_new_notification!(
                        sqlx::query(
                            "INSERT INTO notifications (id, account_id, dedupe_key, kind, title, body, link, ttl_seconds,
                                                        urgency, topic, due_at, subject_date, state, created_at, note_id)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'scheduled', $13, $14)
                             ON CONFLICT (account_id, dedupe_key) DO NOTHING"
                        ),
                        n
                    )
                    .bind(note.id)
                    .execute(&mut *tx)
                    .await?;
                }
                let stored = note_on(&mut tx, note.patient_id, None, note.id).await?;
                tx.commit().await?;
                stored.map(NoteWrite::Added).ok_or_else(|| note_corrupt("id"))
            }

            async fn notes(
                &self,
                patient_id: uuid::Uuid,
                therapist: Option<uuid::Uuid>,
                before: Option<$crate::store::NotePosition>,
                limit: u32,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::notes::Note>> {
                use $crate::store::types::Ts;
                let mut sql = format!("{NOTE_SELECT} WHERE n.patient_id = $1");
                let mut next = 3;
                if therapist.is_some() {
                    sql.push_str(&format!(" AND n.therapist_id = ${next}"));
                    next += 1;
                }
                if before.is_some() {
                    sql.push_str(&format!(" AND (n.created_at, n.id) < (${next}, ${})", next + 1));
                }
                sql.push_str(" ORDER BY n.created_at DESC, n.id DESC LIMIT $2");
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(patient_id).bind(i64::from(limit));
                if let Some(therapist_id) = therapist {
                    query = query.bind(therapist_id);
                }
                if let Some(position) = before {
                    query = query.bind(Ts::from(position.created_at)).bind(position.id);
                }
                let mut conn = self.audited(audit).await?;
                let rows = query.fetch_all(conn.conn()).await?;
                let notes = rows.iter().map(note_from_row).collect::<Result<Vec<_>, _>>()?;
                conn.finish().await?;
                Ok(notes)
            }

            async fn note(
                &self,
                patient_id: uuid::Uuid,
                therapist: Option<uuid::Uuid>,
                id: uuid::Uuid,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Option<$crate::domain::notes::Note>> {
                let mut conn = self.audited(audit).await?;
                let note = note_on(conn.conn(), patient_id, therapist, id).await?;
                conn.finish().await?;
                Ok(note)
            }

            async fn mark_note_read(
                &self,
                patient_id: uuid::Uuid,
                therapist: Option<uuid::Uuid>,
                id: uuid::Uuid,
                reader: $crate::domain::Role,
                now: chrono::DateTime<chrono::Utc>,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> $crate::store::StoreResult<Option<$crate::domain::notes::Note>> {
                use $crate::store::types::Ts;
                let mut conn = self.audited_write(audit).await?;
                let Some(note) = note_on(conn.conn(), patient_id, therapist, id).await? else {
                    conn.finish().await?;
                    return Ok(None);
                };
                if note.is_for(reader) && note.read_at.is_none() {
                    sqlx::query("UPDATE notes SET read_at = $2 WHERE id = $1 AND read_at IS NULL")
                        .bind(id)
                        .bind(Ts::from(now))
                        .execute(conn.conn())
                        .await?;
                }
                let note = note_on(conn.conn(), patient_id, therapist, id).await?;
                conn.finish().await?;
                Ok(note)
            }
        }
    };
}
pub(crate) use note_repo;
