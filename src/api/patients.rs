//! `/v1/patients/{patient_id}`: a patient's journal as the therapists they granted see it, read
//! only. The patient may use these too (their own id); anyone else gets 404, exactly as for an
//! id that does not exist. Every read by someone other than the patient, and every refused
//! attempt, is written to the patient's access log.

use chrono::{DateTime, NaiveDate, Utc};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use super::ApiTags;
use super::alerts;
use super::error::{Problems, status};
use super::journal::{self, DaysPage, EntryBody, EntryPage, Read, SummaryBody};
use super::questionnaires::{self, KindBody, QuestionnaireList};
use super::security::BearerAuth;
use super::sessions;
use crate::service::AppState;

pub struct PatientsApi;

#[OpenApi(prefix_path = "/v1/patients", tag = "ApiTags::Patients")]
impl PatientsApi {
    /// List a patient's entries
    ///
    /// Entries with `from <= recorded_at < to`, newest first, a page at a time. Needs a live
    /// grant with the `read_journal` scope.
    #[oai(path = "/:patient_id/journal/entries", method = "get", operation_id = "listPatientJournalEntries")]
    #[allow(clippy::too_many_arguments)]
    async fn list_entries(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// Earliest `recorded_at` (inclusive); default: the beginning.
        from: Query<Option<DateTime<Utc>>>,
        /// Latest `recorded_at` (exclusive); default: now (plus the 10-minute clock tolerance).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<EntryPage>, Read> {
        let page =
            journal::list_entries(&state, &auth.0, patient_id.0, from.0, to.0, limit.0, cursor.0.as_deref()).await?;
        Ok(Json(page))
    }

    /// Read a patient's entry
    ///
    /// Needs a live grant with the `read_journal` scope.
    #[oai(path = "/:patient_id/journal/entries/:entry_id", method = "get", operation_id = "getPatientJournalEntry")]
    async fn get_entry(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// The entry's id.
        entry_id: Path<Uuid>,
    ) -> Result<Json<EntryBody>, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        Ok(Json(journal::read_entry(&state, &auth.0, patient_id.0, entry_id.0).await?))
    }

    /// A patient's daily roll-ups
    ///
    /// Per local date (in the patient's time zone) with entries: highest, mean and last pain,
    /// number of entries, symptoms. At most 366 days per request. Needs a live grant with the
    /// `read_journal` scope.
    #[oai(path = "/:patient_id/journal/days", method = "get", operation_id = "listPatientJournalDays")]
    async fn days(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// First local date (inclusive); default: 29 days before `to`.
        from: Query<Option<NaiveDate>>,
        /// Last local date (inclusive); default: today in the patient's time zone.
        to: Query<Option<NaiveDate>>,
    ) -> Result<Json<DaysPage>, Read> {
        Ok(Json(journal::list_days(&state, &auth.0, patient_id.0, from.0, to.0).await?))
    }

    /// A patient's summary
    ///
    /// As `GET /v1/journal/summary`, for the patient: mean, median, weekly trend, best and worst
    /// day, and the change against the window before. Needs a live grant with the
    /// `read_journal` scope.
    #[oai(path = "/:patient_id/journal/summary", method = "get", operation_id = "getPatientJournalSummary")]
    async fn summary(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// 7, 30 or 90 days ending today; ignored when `from` is given.
        days: Query<Option<journal::SummaryDays>>,
        /// First local date (inclusive).
        from: Query<Option<NaiveDate>>,
        /// Last local date (inclusive); default: today in the patient's time zone.
        to: Query<Option<NaiveDate>>,
    ) -> Result<Json<SummaryBody>, Read> {
        Ok(Json(journal::read_summary(&state, &auth.0, patient_id.0, days.0.map(|d| d.0), from.0, to.0).await?))
    }

    /// A patient's questionnaires
    ///
    /// PEG and Roland-Morris responses oldest first, a page at a time; with `kind`, also the
    /// change from the first to the latest score in the range. Needs a live grant with the `read_journal` scope.
    #[oai(path = "/:patient_id/questionnaires", method = "get", operation_id = "listPatientQuestionnaires")]
    #[allow(clippy::too_many_arguments)]
    async fn questionnaires(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// Only this questionnaire; also gives the score trend.
        kind: Query<Option<KindBody>>,
        /// Earliest `completed_at` (inclusive).
        from: Query<Option<DateTime<Utc>>>,
        /// Latest `completed_at` (exclusive); default: now.
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(max_length = 200))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<QuestionnaireList>, Read> {
        let (limit, cursor) = (limit.0, cursor.0.as_deref());
        let list =
            questionnaires::list_questionnaires(&state, &auth.0, patient_id.0, kind.0, from.0, to.0, limit, cursor)
                .await?;
        Ok(Json(list))
    }

    /// A client's sessions
    ///
    /// Needs the client's grant with the `read_journal` scope. Sessions with
    /// `from <= started_at < to`, newest first, a page at a time.
    #[oai(path = "/:patient_id/sessions", method = "get", operation_id = "listPatientSessions")]
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The client's account id.
        patient_id: Path<Uuid>,
        /// Earliest start (inclusive); default: the beginning.
        from: Query<Option<DateTime<Utc>>>,
        /// Latest start (exclusive); default: a day from now.
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(max_length = 200))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<sessions::SessionList>, Read> {
        let list =
            sessions::list_sessions(&state, &auth.0, patient_id.0, from.0, to.0, limit.0, cursor.0.as_deref()).await?;
        Ok(Json(list))
    }

    /// A client's session with its aftercare plan
    ///
    /// Adherence (steps done or skipped) and soreness check-in answers included. Needs the
    /// `read_journal` scope.
    #[oai(path = "/:patient_id/sessions/:session_id", method = "get", operation_id = "getPatientSession")]
    async fn session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The client's account id.
        patient_id: Path<Uuid>,
        /// The session's id.
        session_id: Path<Uuid>,
    ) -> Result<Json<sessions::SessionOut>, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        Ok(Json(state.massage_session(&auth.0, patient_id.0, session_id.0).await?.into()))
    }

    /// Record a session for a client
    ///
    /// Needs the `record_sessions` scope. The client's aftercare plan is scheduled as if they
    /// had recorded it, with the template assigned to them if there is one.
    #[oai(path = "/:patient_id/sessions", method = "post", operation_id = "recordPatientSession")]
    async fn record_session(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The client's account id.
        patient_id: Path<Uuid>,
        body: super::json::JsonBody<sessions::SessionBody>,
    ) -> Result<sessions::SessionRecorded, Problems<{ status::AUTHENTICATED | status::BODY | status::NOT_FOUND }>> {
        let draft = body.0.parse().map_err(super::error::ApiError::validation)?;
        let (view, _) = state.record_session(&auth.0, patient_id.0, draft, None).await?;
        let location = format!("/v1/patients/{}/sessions/{}", patient_id.0, view.session.id);
        Ok(sessions::SessionRecorded::Created(Json(view.into()), location))
    }

    /// A client's health screen
    ///
    /// What the client reported about conditions that matter for massage. Needs the
    /// `read_journal` scope.
    #[oai(path = "/:patient_id/health-screen", method = "get", operation_id = "getPatientHealthScreen")]
    async fn health_screen(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The client's account id.
        patient_id: Path<Uuid>,
    ) -> Result<Json<sessions::HealthScreenOut>, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        Ok(Json(sessions::health_screen_state(&state, &auth.0, patient_id.0).await?))
    }

    /// A client's alerts
    ///
    /// Newest first. Needs the client's grant with the `receive_alerts` scope.
    #[oai(path = "/:patient_id/alerts", method = "get", operation_id = "listPatientAlerts")]
    async fn alerts(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The client.
        patient_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<alerts::AlertPage>, Read> {
        let limit = super::pagination::limit(limit.0)?;
        let before = super::pagination::decode_entry_cursor(cursor.0.as_deref())?.map(|p| (p.recorded_at, p.id));
        let (items, more) =
            state.alerts(&auth.0, patient_id.0, crate::store::AlertFilter::default(), before, limit).await?;
        let next_cursor = more.then(|| items.last()).flatten().map(|a| {
            super::pagination::encode_entry_cursor(crate::store::EntryPosition { recorded_at: a.opened_at, id: a.id })
        });
        Ok(Json(alerts::AlertPage { items: items.into_iter().map(Into::into).collect(), next_cursor }))
    }

    /// A client's alert
    ///
    /// One alert with its evidence and advice, as the client sees it; where a therapist's alert
    /// notification links to. Needs the client's grant with the `receive_alerts` scope.
    #[oai(path = "/:patient_id/alerts/:alert_id", method = "get", operation_id = "getPatientAlert")]
    async fn alert(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The client.
        patient_id: Path<Uuid>,
        /// The alert.
        alert_id: Path<Uuid>,
    ) -> Result<Json<alerts::AlertBody>, Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>> {
        Ok(Json(state.alert(&auth.0, patient_id.0, alert_id.0).await?.into()))
    }

    /// Acknowledge a client's alert
    ///
    /// Tells the client and the other therapists that you have seen it. It does not silence the
    /// client: only their own acknowledgement stops the repeats.
    /// Needs the `receive_alerts` scope.
    #[oai(
        path = "/:patient_id/alerts/:alert_id/acknowledge",
        method = "post",
        operation_id = "acknowledgePatientAlert"
    )]
    async fn acknowledge_alert(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The client.
        patient_id: Path<Uuid>,
        /// The alert.
        alert_id: Path<Uuid>,
    ) -> Result<Json<alerts::AlertBody>, Problems<{ status::AUTHENTICATED | status::NOT_FOUND | status::CONFLICT }>>
    {
        Ok(Json(state.acknowledge_alert(&auth.0, patient_id.0, alert_id.0).await?.into()))
    }
}
