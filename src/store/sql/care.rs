/// Grants, invites and the access log. A grant is live while `ended_at IS NULL AND (expires_at IS
/// NULL OR expires_at > now)`: the same rule as `Grant::is_live`, stated here for set-based
/// queries.
macro_rules! care_repo {
    (@grant_select) => {
        "SELECT g.*, p.display_name AS patient_name, p.time_zone AS patient_time_zone,
                t.display_name AS therapist_name, t.discipline AS therapist_discipline
         FROM care_grants g
         JOIN accounts p ON p.id = g.patient_id
         JOIN accounts t ON t.id = g.therapist_id"
    };
    (@live_for_therapist) => {
        " WHERE g.therapist_id = $1 AND g.ended_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $2)"
    };
    ($store:ty, $db:ty, for_update = $for_update:literal) => {
        fn care_corrupt(what: &str) -> $crate::store::StoreError {
            $crate::store::StoreError::Corrupt(what.to_owned())
        }

        fn discipline_column(value: Option<String>, what: &str) -> $crate::store::StoreResult<Option<$crate::domain::Discipline>> {
            value.map(|d| $crate::domain::Discipline::from_db(&d).ok_or_else(|| care_corrupt(what))).transpose()
        }

        fn role_column(value: &str, what: &str) -> $crate::store::StoreResult<$crate::domain::Role> {
            $crate::domain::Role::from_db(value).ok_or_else(|| care_corrupt(what))
        }

        /// Appends one access log line; nothing when `patient_id` is not a patient's account,
        /// since there is nobody to show it to.
        async fn insert_access_line(
            conn: &mut <$db as sqlx::Database>::Connection,
            record: &$crate::store::AccessRecord,
        ) -> Result<bool, sqlx::Error> {
            use $crate::store::types::Ts;
            let result = sqlx::query(
                "INSERT INTO access_log (id, patient_id, actor_id, actor_role, operation, outcome, request_id, at,
                                         share_link_id, client_address)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
                 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2 AND role = 'patient')",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(record.patient_id)
            .bind(record.actor_id)
            .bind(record.actor_role.as_str())
            .bind(record.operation)
            .bind(if record.allowed { "allowed" } else { "denied" })
            .bind(record.request_id.as_deref())
            .bind(Ts::from(record.at))
            .bind(record.share_link.as_ref().map(|(id, _)| *id))
            .bind(record.share_link.as_ref().and_then(|(_, address)| address.as_deref()))
            .execute(&mut *conn)
            .await?;
            Ok(result.rows_affected() > 0)
        }

        impl $store {
            /// The connection for one read of a patient's data: with `audit`, a transaction
            /// that has appended the line and commits with the read ([`Audited::finish`]).
            async fn audited(
                &self,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> Result<$crate::store::Audited<$db>, sqlx::Error> {
                Ok(match audit {
                    None => $crate::store::Audited::Plain(self.pool.acquire().await?),
                    Some(record) => {
                        let mut tx = self.begin_write().await?;
                        insert_access_line(&mut tx, record).await?;
                        $crate::store::Audited::Logged(tx)
                    }
                })
            }

            /// Like [`Self::audited`], for a write of a patient's data: without `audit`, the
            /// writer connection (held until the returned value is dropped).
            async fn audited_write(
                &self,
                audit: Option<&$crate::store::AccessRecord>,
            ) -> Result<$crate::store::Audited<$db>, sqlx::Error> {
                Ok(match audit {
                    None => $crate::store::Audited::Plain(self.writer().acquire().await?),
                    Some(_) => self.audited(audit).await?,
                })
            }
        }

        /// Appends `audit` (if any) inside a write's own transaction.
        async fn log_access_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            audit: Option<&$crate::store::AccessRecord>,
        ) -> Result<(), sqlx::Error> {
            if let Some(record) = audit {
                insert_access_line(tx, record).await?;
            }
            Ok(())
        }

        fn scopes_column(value: &str, what: &str) -> $crate::store::StoreResult<$crate::domain::care::Scopes> {
            $crate::domain::care::Scopes::decode(value).ok_or_else(|| care_corrupt(what))
        }

        fn invite_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::domain::care::Invite> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            Ok($crate::domain::care::Invite {
                id: row.try_get("id")?,
                created_by: row.try_get("created_by")?,
                creator_role: role_column(&row.try_get::<String, _>("creator_role")?, "care_invites.creator_role")?,
                scopes: scopes_column(&row.try_get::<String, _>("scopes")?, "care_invites.scopes")?,
                access_expires_at: row.try_get::<Option<Ts>, _>("access_expires_at")?.map(|t| t.0),
                expires_at: row.try_get::<Ts, _>("expires_at")?.0,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                used_at: row.try_get::<Option<Ts>, _>("used_at")?.map(|t| t.0),
                used_by: row.try_get("used_by")?,
                grant_id: row.try_get("grant_id")?,
            })
        }

        fn grant_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::domain::care::Grant> {
            use sqlx::Row as _;
            use $crate::store::types::Ts;
            Ok($crate::domain::care::Grant {
                id: row.try_get("id")?,
                patient_id: row.try_get("patient_id")?,
                therapist_id: row.try_get("therapist_id")?,
                scopes: scopes_column(&row.try_get::<String, _>("scopes")?, "care_grants.scopes")?,
                created_at: row.try_get::<Ts, _>("created_at")?.0,
                updated_at: row.try_get::<Ts, _>("updated_at")?.0,
                expires_at: row.try_get::<Option<Ts>, _>("expires_at")?.map(|t| t.0),
                ended_at: row.try_get::<Option<Ts>, _>("ended_at")?.map(|t| t.0),
            })
        }

        /// A row of `care_repo!(@grant_select)`.
        fn grant_record_from_row(row: &<$db as sqlx::Database>::Row) -> $crate::store::StoreResult<$crate::store::GrantRecord> {
            use sqlx::Row as _;
            use $crate::domain::Role;
            use $crate::store::Party;
            let grant = grant_from_row(row)?;
            Ok($crate::store::GrantRecord {
                patient: Party {
                    id: grant.patient_id,
                    role: Role::Patient,
                    display_name: row.try_get("patient_name")?,
                    discipline: None,
                },
                therapist: Party {
                    id: grant.therapist_id,
                    role: Role::Therapist,
                    display_name: row.try_get("therapist_name")?,
                    discipline: discipline_column(row.try_get("therapist_discipline")?, "accounts.discipline")?,
                },
                grant,
            })
        }

        async fn grant_record_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            id: uuid::Uuid,
        ) -> $crate::store::StoreResult<$crate::store::GrantRecord> {
            let row = sqlx::query(concat!(care_repo!(@grant_select), " WHERE g.id = $1"))
                .bind(id)
                .fetch_one(&mut **tx)
                .await?;
            grant_record_from_row(&row)
        }

        /// Cancels the scheduled copies of a client's alerts that a therapist no longer has the
        /// consent for, inside the transaction that changed or ended the grant (the dispatcher
        /// checks again when they fall due, for expiry).
        async fn cancel_alert_copies_without_consent_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            grant_id: uuid::Uuid,
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), sqlx::Error> {
            sqlx::query(concat!(
                "UPDATE notifications SET state = 'cancelled'
                 WHERE state = 'scheduled'
                   AND EXISTS (SELECT 1 FROM care_grants c WHERE c.id = $3
                               AND c.therapist_id = notifications.account_id AND c.patient_id = notifications.about_patient_id)
                   AND NOT EXISTS (",
                $crate::store::sql::alert_consent_live!(),
                ")"
            ))
            .bind($crate::store::types::Ts::from(now))
            .bind(format!("%,{},%", $crate::domain::care::Scope::ReceiveAlerts.as_str()))
            .bind(grant_id)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl $crate::store::CareRepo for $store {
            async fn create_invite(&self, new: &$crate::store::NewInvite) -> $crate::store::StoreResult<()> {
                use $crate::store::types::Ts;
                let i = &new.invite;
                sqlx::query(
                    "INSERT INTO care_invites (id, code_hash, created_by, creator_role, scopes, access_expires_at,
                                               expires_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(i.id)
                .bind(&new.code_hash)
                .bind(i.created_by)
                .bind(i.creator_role.as_str())
                .bind(i.scopes.encode())
                .bind(i.access_expires_at.map(Ts::from))
                .bind(Ts::from(i.expires_at))
                .bind(Ts::from(i.created_at))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn pending_invites(
                &self,
                creator: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<$crate::domain::care::Invite>> {
                use $crate::store::types::Ts;
                let rows = sqlx::query(
                    "SELECT * FROM care_invites WHERE created_by = $1 AND used_at IS NULL AND expires_at > $2
                     ORDER BY created_at DESC, id DESC",
                )
                .bind(creator)
                .bind(Ts::from(now))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(invite_from_row).collect()
            }

            async fn delete_invite(&self, creator: uuid::Uuid, id: uuid::Uuid) -> $crate::store::StoreResult<bool> {
                let result = sqlx::query("DELETE FROM care_invites WHERE id = $1 AND created_by = $2 AND used_at IS NULL")
                    .bind(id)
                    .bind(creator)
                    .execute(self.writer())
                    .await?;
                Ok(result.rows_affected() > 0)
            }

            async fn invite_by_code(&self, code_hash: &str) -> $crate::store::StoreResult<Option<$crate::store::InviteRecord>> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "SELECT i.*, a.display_name AS creator_name, a.discipline AS creator_discipline
                     FROM care_invites i JOIN accounts a ON a.id = i.created_by
                     WHERE i.code_hash = $1",
                )
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let invite = invite_from_row(&row)?;
                let creator = $crate::store::Party {
                    id: invite.created_by,
                    role: invite.creator_role,
                    display_name: row.try_get("creator_name")?,
                    discipline: discipline_column(row.try_get("creator_discipline")?, "accounts.discipline")?,
                };
                Ok(Some($crate::store::InviteRecord { invite, creator }))
            }

            async fn redeem_invite(
                &self,
                r: &$crate::store::Redemption<'_>,
            ) -> $crate::store::StoreResult<$crate::store::RedeemOutcome> {
                use $crate::domain::Role;
                use $crate::domain::care::{EndedBy, InviteRefusal};
                use $crate::store::types::Ts;
                use $crate::store::{RedeemOutcome, StoreError};
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(concat!("SELECT * FROM care_invites WHERE code_hash = $1", $for_update))
                    .bind(r.code_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok(RedeemOutcome::NotFound) };
                let invite = invite_from_row(&row)?;
                if invite.used_by == Some(r.redeemer_id) {
                    // A retry of a redemption that went through: answer with its grant while open.
                    if let Some(grant_id) = invite.grant_id {
                        let record = grant_record_in(&mut tx, grant_id).await?;
                        if record.grant.ended_at.is_none() {
                            return Ok(RedeemOutcome::AlreadyRedeemed(record));
                        }
                    }
                    return Ok(RedeemOutcome::Refused(InviteRefusal::Used));
                }
                if let Err(refusal) = invite.check_redemption(r.redeemer_role, r.now) {
                    return Ok(RedeemOutcome::Refused(refusal));
                }
                let (patient_id, therapist_id, scopes, expires_at) = match invite.creator_role {
                    Role::Patient => (invite.created_by, r.redeemer_id, invite.scopes.clone(), invite.access_expires_at),
                    Role::Therapist => (
                        r.redeemer_id,
                        invite.created_by,
                        r.scopes.cloned().unwrap_or_else(|| invite.scopes.clone()),
                        r.access_expires_at,
                    ),
                };
                let open = sqlx::query(concat!(
                    "SELECT * FROM care_grants WHERE patient_id = $1 AND therapist_id = $2 AND ended_at IS NULL",
                    $for_update
                ))
                .bind(patient_id)
                .bind(therapist_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = open {
                    let open = grant_from_row(&row)?;
                    if open.is_live(r.now) {
                        return Ok(RedeemOutcome::AlreadyLinked);
                    }
                    sqlx::query("UPDATE care_grants SET ended_at = $2, ended_by = $3 WHERE id = $1")
                        .bind(open.id)
                        .bind(Ts::from(r.now))
                        .bind(EndedBy::Expired.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                let inserted = sqlx::query(
                    "INSERT INTO care_grants (id, patient_id, therapist_id, scopes, created_at, updated_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $5, $6)",
                )
                .bind(r.grant_id)
                .bind(patient_id)
                .bind(therapist_id)
                .bind(scopes.encode())
                .bind(Ts::from(r.now))
                .bind(expires_at.map(Ts::from))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from);
                match inserted {
                    // Another invite linked the two at the same moment.
                    Err(StoreError::Conflict) => return Ok(RedeemOutcome::AlreadyLinked),
                    other => other?,
                };
                let spent = sqlx::query(
                    "UPDATE care_invites SET used_at = $2, used_by = $3, grant_id = $4 WHERE id = $1 AND used_at IS NULL",
                )
                .bind(invite.id)
                .bind(Ts::from(r.now))
                .bind(r.redeemer_id)
                .bind(r.grant_id)
                .execute(&mut *tx)
                .await?;
                if spent.rows_affected() != 1 {
                    return Ok(RedeemOutcome::Refused(InviteRefusal::Used));
                }
                let record = grant_record_in(&mut tx, r.grant_id).await?;
                tx.commit().await?;
                Ok(RedeemOutcome::Linked(record))
            }

            async fn purge_invites(&self, before: chrono::DateTime<chrono::Utc>) -> $crate::store::StoreResult<u64> {
                use $crate::store::types::Ts;
                Ok(sqlx::query("DELETE FROM care_invites WHERE expires_at < $1")
                    .bind(Ts::from(before))
                    .execute(self.writer())
                    .await?
                    .rows_affected())
            }

            async fn open_grant(
                &self,
                patient_id: uuid::Uuid,
                therapist_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::domain::care::Grant>> {
                let row = sqlx::query(
                    "SELECT * FROM care_grants WHERE patient_id = $1 AND therapist_id = $2 AND ended_at IS NULL",
                )
                .bind(patient_id)
                .bind(therapist_id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(grant_from_row).transpose()
            }

            async fn open_grants(
                &self,
                party: $crate::store::GrantParty,
            ) -> $crate::store::StoreResult<Vec<$crate::store::GrantRecord>> {
                use $crate::store::GrantParty;
                let (query, id) = match party {
                    GrantParty::Patient(id) => (
                        sqlx::query(concat!(
                            care_repo!(@grant_select),
                            " WHERE g.patient_id = $1 AND g.ended_at IS NULL ORDER BY g.created_at, g.id"
                        )),
                        id,
                    ),
                    GrantParty::Therapist(id) => (
                        sqlx::query(concat!(
                            care_repo!(@grant_select),
                            " WHERE g.therapist_id = $1 AND g.ended_at IS NULL ORDER BY g.created_at, g.id"
                        )),
                        id,
                    ),
                };
                let rows = query.bind(id).fetch_all(&self.pool).await?;
                rows.iter().map(grant_record_from_row).collect()
            }

            async fn change_grant(
                &self,
                patient_id: uuid::Uuid,
                grant_id: uuid::Uuid,
                change: &$crate::store::GrantChange,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::GrantRecord>> {
                use $crate::store::types::Ts;
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(concat!(
                    "SELECT * FROM care_grants WHERE id = $1 AND patient_id = $2 AND ended_at IS NULL",
                    $for_update
                ))
                .bind(grant_id)
                .bind(patient_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let current = grant_from_row(&row)?;
                if change.is_empty() {
                    return Ok(Some(grant_record_in(&mut tx, grant_id).await?));
                }
                let scopes = change.scopes.as_ref().unwrap_or(&current.scopes);
                let expires_at = change.expires_at.unwrap_or(current.expires_at);
                sqlx::query("UPDATE care_grants SET scopes = $2, expires_at = $3, updated_at = $4 WHERE id = $1")
                    .bind(grant_id)
                    .bind(scopes.encode())
                    .bind(expires_at.map(Ts::from))
                    .bind(Ts::from(now))
                    .execute(&mut *tx)
                    .await?;
                cancel_alert_copies_without_consent_in(&mut tx, grant_id, now).await?;
                let record = grant_record_in(&mut tx, grant_id).await?;
                tx.commit().await?;
                Ok(Some(record))
            }

            async fn end_grant(
                &self,
                party: $crate::store::GrantParty,
                grant_id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
                by: $crate::domain::care::EndedBy,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::GrantParty;
                use $crate::store::types::Ts;
                let (query, party_id) = match party {
                    GrantParty::Patient(id) => (
                        sqlx::query(
                            "UPDATE care_grants SET ended_at = $3, ended_by = $4
                             WHERE id = $1 AND patient_id = $2 AND ended_at IS NULL",
                        ),
                        id,
                    ),
                    GrantParty::Therapist(id) => (
                        sqlx::query(
                            "UPDATE care_grants SET ended_at = $3, ended_by = $4
                             WHERE id = $1 AND therapist_id = $2 AND ended_at IS NULL",
                        ),
                        id,
                    ),
                };
                let mut tx = self.begin_write().await?;
                let result = query
                    .bind(grant_id)
                    .bind(party_id)
                    .bind(Ts::from(now))
                    .bind(by.as_str())
                    .execute(&mut *tx)
                    .await?;
                if result.rows_affected() == 0 {
                    return Ok(false);
                }
                cancel_alert_copies_without_consent_in(&mut tx, grant_id, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn append_access(&self, record: &$crate::store::AccessRecord) -> $crate::store::StoreResult<bool> {
                let mut conn = self.writer().acquire().await?;
                Ok(insert_access_line(&mut conn, record).await?)
            }

            async fn access_log(
                &self,
                patient_id: uuid::Uuid,
                after: Option<$crate::store::LogPosition>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::AccessLogItem>> {
                use sqlx::Row as _;
                use $crate::store::types::Ts;
                let rows = match after {
                    None => {
                        sqlx::query(
                            "SELECT l.*, a.display_name AS actor_name, a.discipline AS actor_discipline
                             FROM access_log l LEFT JOIN accounts a ON a.id = l.actor_id
                             WHERE l.patient_id = $1
                             ORDER BY l.at DESC, l.id DESC LIMIT $2",
                        )
                        .bind(patient_id)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?
                    }
                    Some(position) => {
                        sqlx::query(
                            "SELECT l.*, a.display_name AS actor_name, a.discipline AS actor_discipline
                             FROM access_log l LEFT JOIN accounts a ON a.id = l.actor_id
                             WHERE l.patient_id = $1 AND (l.at, l.id) < ($3, $4)
                             ORDER BY l.at DESC, l.id DESC LIMIT $2",
                        )
                        .bind(patient_id)
                        .bind(i64::from(limit))
                        .bind(Ts::from(position.at))
                        .bind(position.id)
                        .fetch_all(&self.pool)
                        .await?
                    }
                };
                rows.iter()
                    .map(|row| {
                        let outcome: String = row.try_get("outcome")?;
                        Ok($crate::store::AccessLogItem {
                            id: row.try_get("id")?,
                            actor: $crate::store::Party {
                                id: row.try_get("actor_id")?,
                                role: role_column(&row.try_get::<String, _>("actor_role")?, "access_log.actor_role")?,
                                display_name: row.try_get("actor_name")?,
                                discipline: discipline_column(row.try_get("actor_discipline")?, "accounts.discipline")?,
                            },
                            operation: row.try_get("operation")?,
                            allowed: outcome == "allowed",
                            request_id: row.try_get("request_id")?,
                            at: row.try_get::<Ts, _>("at")?.0,
                            share_link_id: row.try_get("share_link_id")?,
                            client_address: row.try_get("client_address")?,
                        })
                    })
                    .collect()
            }

            async fn caseload(
                &self,
                therapist_id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
                scopes: $crate::store::CaseloadScopes,
                summary_start: $crate::store::SummaryStart<'_>,
                access: $crate::store::CaseloadAccess<'_>,
            ) -> $crate::store::StoreResult<$crate::store::CaseloadRows> {
                use sqlx::Row as _;
                use $crate::domain::rollup::RollupInput;
                use $crate::store::types::Ts;
                use $crate::store::{CaseloadClient, CaseloadRows, StoreError, codec};
                let now_ts = Ts::from(now);
                let journal_pattern = format!("%,{},%", scopes.journal.as_str());
                let alerts_pattern = format!("%,{},%", scopes.alerts.as_str());
                // One transaction: the access log lines name exactly the clients whose data was
                // read, and everything shown is read under them.
                let mut tx = self.begin_write().await?;
                let rows = sqlx::query(concat!(
                    care_repo!(@grant_select),
                    care_repo!(@live_for_therapist),
                    " ORDER BY g.created_at, g.id"
                ))
                .bind(therapist_id)
                .bind(now_ts)
                .fetch_all(&mut *tx)
                .await?;
                let clients = rows
                    .iter()
                    .map(|row| {
                        let zone: String = row.try_get("patient_time_zone")?;
                        Ok(CaseloadClient {
                            grant: grant_record_from_row(row)?,
                            time_zone: $crate::domain::TimeZone::parse(&zone)
                                .map_err(|_| care_corrupt("accounts.time_zone"))?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;

                // Each client's last session: one index lookup per client, whatever their history.
                let session_rows = sqlx::query(concat!(
                    "SELECT s.patient_id, s.id, s.started_at, a.time_zone,
                            (SELECT count(*) FROM aftercare_steps t WHERE t.session_id = s.id AND t.state = 'done') AS done,
                            (SELECT count(*) FROM aftercare_steps t WHERE t.session_id = s.id AND t.state = 'skipped') AS skipped,
                            (SELECT count(*) FROM aftercare_steps t WHERE t.session_id = s.id) AS total,
                            (SELECT c.soreness FROM soreness_check_ins c WHERE c.session_id = s.id AND c.hours_after = 24) AS s24,
                            (SELECT c.soreness FROM soreness_check_ins c WHERE c.session_id = s.id AND c.hours_after = 48) AS s48
                     FROM care_grants g
                     JOIN massage_sessions s ON s.id = (SELECT s2.id FROM massage_sessions s2 WHERE s2.patient_id = g.patient_id
                                                        ORDER BY s2.started_at DESC, s2.id DESC LIMIT 1)
                     JOIN accounts a ON a.id = s.patient_id",
                    care_repo!(@live_for_therapist),
                    " AND g.scopes LIKE $3"
                ))
                .bind(therapist_id)
                .bind(now_ts)
                .bind(&journal_pattern)
                .fetch_all(&mut *tx)
                .await?;
                let count = |row: &<$db as sqlx::Database>::Row, c: &str| -> $crate::store::StoreResult<u32> {
                    Ok(u32::try_from(row.try_get::<i64, _>(c)?).unwrap_or(0))
                };
                let soreness = |row: &<$db as sqlx::Database>::Row, c: &str| -> $crate::store::StoreResult<Option<u8>> {
                    Ok(row.try_get::<Option<i32>, _>(c)?.and_then(|v| u8::try_from(v).ok()))
                };
                let last_sessions = session_rows
                    .iter()
                    .map(|row| {
                        Ok($crate::store::LastSession {
                            patient_id: row.try_get("patient_id")?,
                            session_id: row.try_get("id")?,
                            started_at: row.try_get::<Ts, _>("started_at")?.0,
                            time_zone: row.try_get("time_zone")?,
                            steps_done: count(row, "done")?,
                            steps_skipped: count(row, "skipped")?,
                            steps_total: count(row, "total")?,
                            soreness_24h: soreness(row, "s24")?,
                            soreness_48h: soreness(row, "s48")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;

                // Each client's entries from the day their own summary starts: the window since
                // their last session (or the default one), not their whole journal.
                let sessions: std::collections::HashMap<uuid::Uuid, &$crate::store::LastSession> =
                    last_sessions.iter().map(|s| (s.patient_id, s)).collect();
                let bounds: Vec<(uuid::Uuid, chrono::NaiveDate)> = clients
                    .iter()
                    .filter(|c| c.grant.grant.scopes.contains(scopes.journal))
                    .map(|c| {
                        let patient_id = c.grant.grant.patient_id;
                        (patient_id, summary_start(c, sessions.get(&patient_id).copied()))
                    })
                    .collect();
                let mut entries = Vec::new();
                for chunk in bounds.chunks(400) {
                    let mut query = sqlx::QueryBuilder::<$db>::new("WITH bounds (patient_id, from_date) AS (");
                    query.push_values(chunk, |mut row, (patient_id, from)| {
                        row.push_bind(*patient_id).push_bind(*from);
                    });
                    query.push(
                        ") SELECT e.patient_id, e.local_date, e.recorded_at, e.pain, e.symptoms
                         FROM bounds b JOIN journal_entries e ON e.patient_id = b.patient_id
                         WHERE NOT e.deleted AND e.local_date >= b.from_date",
                    );
                    let rows: Vec<(uuid::Uuid, chrono::NaiveDate, Ts, i16, String)> =
                        query.build_query_as().fetch_all(&mut *tx).await?;
                    for (patient_id, local_date, recorded_at, pain, symptoms) in rows {
                        entries.push((
                            patient_id,
                            RollupInput {
                                local_date,
                                recorded_at: recorded_at.0,
                                pain: u8::try_from(pain).map_err(|_| care_corrupt("journal_entries.pain"))?,
                                symptoms: codec::decode_symptoms(&symptoms)?,
                            },
                        ));
                    }
                }
                // Each maximum is one index lookup per client, however long the journal.
                let last_rows: Vec<(uuid::Uuid, Option<Ts>, Option<chrono::NaiveDate>)> = sqlx::query_as(concat!(
                    "SELECT g.patient_id,
                            (SELECT MAX(e.recorded_at) FROM journal_entries e
                             WHERE e.patient_id = g.patient_id AND NOT e.deleted) AS last_at,
                            (SELECT MAX(e.local_date) FROM journal_entries e
                             WHERE e.patient_id = g.patient_id AND NOT e.deleted) AS last_date
                     FROM care_grants g",
                    care_repo!(@live_for_therapist),
                    " AND g.scopes LIKE $3"
                ))
                .bind(therapist_id)
                .bind(now_ts)
                .bind(&journal_pattern)
                .fetch_all(&mut *tx)
                .await?;
                let last_entries = last_rows
                    .into_iter()
                    .filter_map(|(patient_id, at, date)| Some((patient_id, at?.0, date?)))
                    .collect();
                // Open alerts only where the grant has the alerts scope.
                let open_alert_tiers: Vec<(uuid::Uuid, String)> = sqlx::query_as(concat!(
                    "SELECT a.patient_id, a.tier FROM care_grants g JOIN alerts a ON a.patient_id = g.patient_id",
                    care_repo!(@live_for_therapist),
                    " AND g.scopes LIKE $3 AND a.resolved_at IS NULL"
                ))
                .bind(therapist_id)
                .bind(now_ts)
                .bind(&alerts_pattern)
                .fetch_all(&mut *tx)
                .await?;

                let read: Vec<uuid::Uuid> = clients
                    .iter()
                    .filter(|c| {
                        let scopes_held = &c.grant.grant.scopes;
                        scopes_held.contains(scopes.journal) || scopes_held.contains(scopes.alerts)
                    })
                    .map(|c| c.grant.grant.patient_id)
                    .collect();
                for chunk in read.chunks(500) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO access_log (id, patient_id, actor_id, actor_role, operation, outcome, request_id, at) ",
                    );
                    insert.push_values(chunk, |mut row, patient_id| {
                        row.push_bind(uuid::Uuid::now_v7())
                            .push_bind(*patient_id)
                            .push_bind(therapist_id)
                            .push_bind("therapist")
                            .push_bind(access.operation.to_owned())
                            .push_bind("allowed")
                            .push_bind(access.request_id.map(str::to_owned))
                            .push_bind(now_ts);
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(CaseloadRows { clients, entries, last_entries, last_sessions, open_alert_tiers })
            }
        }
    };
}
pub(crate) use care_repo;
