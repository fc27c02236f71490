//! `/v1/patients/{patient_id}/export…`: everything a patient provided and the service derived,
//! to take away (GDPR Art. 15 and 20) or to hand to a clinician: one JSON document, CSV tables
//! (entries, sessions and notes, one file each), and a FHIR R4 `Bundle`.
//!
//! The patient uses their own id; a therapist needs a live grant with `read_journal`. Each
//! export is one line in the patient's access log (`export_journal`). The body is written while
//! the journal is read a page at a time, so a journal of years is never held in memory; a
//! failure half way cuts the download short rather than answering with a problem.

use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, Utc};
use futures::SinkExt;
use futures::channel::mpsc;
use poem::web::Data;
use poem::{Body, IntoResponse, Response};
use poem_openapi::param::Path;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{Example, ToJSON, Type};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use uuid::Uuid;

use super::ApiTags;
use super::accounts::ProfileBody;
use super::alerts::AlertBody;
use super::care::{AccessLogEntryBody, GrantBody, OutcomeBody, PartyBody};
use super::error::{Problems, status};
use super::examples;
use super::journal::{DayBody, EntryBody};
use super::notes::NoteBody;
use super::questionnaires::QuestionnaireBody;
use super::security::BearerAuth;
use super::sessions::{HealthScreenOut, SessionSummaryOut, StepOut, screen_out};
use super::timestamps::{self, Timestamp};
use crate::domain::body::Region;
use crate::domain::fhir;
use crate::domain::journal::Entry;
use crate::domain::notes::Note;
use crate::domain::screening::HealthScreen;
use crate::service::AppState;
use crate::service::export::{EXPORT_PAGE, Export};
use crate::store::{
    EntryPosition, LogPosition, MassageSession, NotePosition, QuestionnaireAnswers, QuestionnairePosition,
    QuestionnaireRecord, SessionPosition, StepRecord, StepState,
};

/// The `format` of the JSON export; `version` changes only when a field is removed or changes
/// its meaning (fields may be added).
pub const EXPORT_FORMAT: &str = "aftercare.journal-export";
pub const EXPORT_VERSION: u32 = 1;

/// The media type of the JSON export: JSON, named apart so the document is streamed as it is.
pub const EXPORT_JSON: &str = "application/vnd.aftercare.export+json";
pub const FHIR_JSON: &str = "application/fhir+json";
pub const CSV: &str = "text/csv";

/// What one export download is: a media type and the schema the API document gives it.
pub trait Media: Send + 'static {
    const CONTENT_TYPE: &'static str;
    fn schema_ref() -> MetaSchemaRef;
    fn register(_registry: &mut Registry) {}
}

/// A streamed download of `M`.
pub struct Download<M> {
    body: Body,
    media: PhantomData<fn() -> M>,
}

impl<M: Media> Download<M> {
    fn new(body: Body) -> Self {
        Self { body, media: PhantomData }
    }
}

impl<M: Media> Payload for Download<M> {
    const CONTENT_TYPE: &'static str = M::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        M::schema_ref()
    }

    fn register(registry: &mut Registry) {
        M::register(registry);
    }
}

impl<M: Media> IntoResponse for Download<M> {
    fn into_response(self) -> Response {
        let content_type = if M::CONTENT_TYPE == CSV { "text/csv; charset=utf-8" } else { M::CONTENT_TYPE };
        Response::builder().content_type(content_type).body(self.body)
    }
}

/// The JSON export's media.
pub struct JsonExport;

impl Media for JsonExport {
    const CONTENT_TYPE: &'static str = EXPORT_JSON;

    fn schema_ref() -> MetaSchemaRef {
        ExportBody::schema_ref()
    }

    fn register(registry: &mut Registry) {
        ExportBody::register(registry);
    }
}

/// The FHIR export's media.
pub struct FhirExport;

impl Media for FhirExport {
    const CONTENT_TYPE: &'static str = FHIR_JSON;

    fn schema_ref() -> MetaSchemaRef {
        FhirBundleBody::schema_ref()
    }

    fn register(registry: &mut Registry) {
        FhirBundleBody::register(registry);
    }
}

/// The CSV tables, by their `CsvExport` parameter.
pub const ENTRIES_TABLE: u8 = 0;
pub const SESSIONS_TABLE: u8 = 1;
pub const NOTES_TABLE: u8 = 2;

/// A CSV table.
pub struct CsvExport<const TABLE: u8>;

impl<const TABLE: u8> Media for CsvExport<TABLE> {
    const CONTENT_TYPE: &'static str = CSV;

    fn schema_ref() -> MetaSchemaRef {
        let (header, description) = match TABLE {
            SESSIONS_TABLE => {
                (SESSION_COLUMNS.join(","), "RFC 4180 CSV in UTF-8, one session per row after the header row.")
            }
            NOTES_TABLE => (NOTE_COLUMNS.join(","), "RFC 4180 CSV in UTF-8, one note per row after the header row."),
            _ => (entry_columns().join(","), "RFC 4180 CSV in UTF-8, one journal entry per row after the header row."),
        };
        let mut schema = MetaSchema::new("string");
        schema.description = Some(description);
        schema.example = Some(Value::String(header));
        MetaSchemaRef::Inline(Box::new(schema))
    }
}

/// A session in the export: its details and its aftercare plan with progress and answers.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ExportSession")]
pub struct ExportSessionBody {
    /// The session's details.
    pub session: SessionSummaryOut,
    /// The aftercare plan in order: which steps were done or skipped, and the check-in answers.
    pub steps: Vec<StepOut>,
}

/// Everything the service holds about a patient, in one document, as of `exported_at`.
///
/// Sent as `application/vnd.aftercare.export+json` (plain JSON). `format` and `version` name
/// the schema: fields may be added, and `version` changes if one is removed or changes meaning.
/// A therapist's export leaves out what their grant does not cover: `alerts` without
/// `receive_alerts`, and always `grants` and `access_log` (the patient's alone); those are
/// `null`, never empty lists.
#[derive(Debug, Clone, Object)]
#[oai(rename = "JournalExport", example)]
pub struct ExportBody {
    /// Always `aftercare.journal-export`.
    pub format: String,
    /// The schema version, `1`.
    #[oai(validator(minimum(value = "1")))]
    pub version: u32,
    /// When the export was made; nothing recorded later is in it.
    pub exported_at: Timestamp,
    /// The patient's account id.
    pub patient_id: Uuid,
    /// The patient's profile.
    pub profile: ProfileBody,
    /// The health screen as last saved (an empty one when never saved).
    pub health_screen: HealthScreenOut,
    /// The patient's therapists and what each may do; `null` in a therapist's export.
    pub grants: Option<Vec<GrantBody>>,
    /// Every journal entry (not deleted ones), newest first.
    pub entries: Vec<EntryBody>,
    /// Daily roll-ups of the entries, oldest first.
    pub days: Vec<DayBody>,
    /// PEG and Roland-Morris responses with their scores, oldest first.
    pub questionnaires: Vec<QuestionnaireBody>,
    /// Massage sessions with their aftercare plans, newest first.
    pub sessions: Vec<ExportSessionBody>,
    /// Notes between the patient and their therapists, newest first (a thread's notes share
    /// `thread_id`): all of the patient's conversations in their own export, only the reader's
    /// own in a therapist's. Added to version 1; absent in exports made before it.
    #[oai(default)]
    pub notes: Vec<NoteBody>,
    /// Alerts with their evidence and advice, open and resolved, newest first; `null` when the
    /// reader may not see them.
    pub alerts: Option<Vec<AlertBody>>,
    /// Who read or tried to read the patient's data, newest first (this export included);
    /// `null` in a therapist's export.
    pub access_log: Option<Vec<AccessLogEntryBody>>,
}

impl Example for ExportBody {
    fn example() -> Self {
        let entry = EntryBody::example();
        let session = super::sessions::SessionOut::example();
        Self {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            exported_at: Timestamp(examples::at("2026-11-25T08:00:00Z")),
            patient_id: examples::id(examples::PATIENT),
            profile: ProfileBody::example(),
            health_screen: HealthScreenOut::example(),
            grants: Some(vec![GrantBody::example()]),
            days: vec![DayBody {
                date: entry.local_date,
                max: entry.pain,
                mean: f64::from(entry.pain),
                last: entry.pain,
                count: 1,
                symptoms: entry.symptoms.clone(),
            }],
            entries: vec![entry],
            questionnaires: vec![QuestionnaireBody::example()],
            sessions: vec![ExportSessionBody { session: session.session, steps: session.steps }],
            notes: vec![NoteBody::example()],
            alerts: Some(vec![AlertBody::example()]),
            access_log: Some(vec![AccessLogEntryBody {
                id: examples::id("0196f7a2-3b4c-7d5e-8f60-7a8b9c0d1e2f"),
                at: Timestamp(examples::at("2026-11-24T12:03:17Z")),
                actor: PartyBody::example_therapist(),
                operation: "export_journal".into(),
                outcome: OutcomeBody::Allowed,
                request_id: Some("9f2c4e1a-7b3d-4c5e-8a6f-1d2e3f4a5b6c".into()),
                share_link_id: None,
                client_address: None,
            }]),
        }
    }
}

/// A FHIR R4 `Bundle` of type `collection` (field names as FHIR writes them).
///
/// Sent as `application/fhir+json`. It holds the `Patient`; each journal entry's pain as an
/// `Observation` (LOINC 72514-3, category `survey`, `valueInteger` 0–10, `effectiveDateTime`),
/// plus one per region with its SNOMED CT `bodySite`; each PEG response as an `Observation`
/// (LOINC 91148-7) with its three items as `component`s; each Roland-Morris score as an
/// `Observation`; each massage session as a `Procedure`; each open alert as an active
/// `Flag`; and each note between the patient and a therapist as a completed `Communication`
/// (`payload.contentString`, `sent`, the patient as `subject` and as sender or recipient by
/// reference, the therapist by `display`; an answer's `inResponseTo` is its thread's first note). Resources keep the ids of what they map, and refer to each other by `urn:uuid:`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "FhirBundle", rename_all = "camelCase", example)]
pub struct FhirBundleBody {
    /// Always `Bundle`.
    pub resource_type: String,
    /// A new id for each export.
    pub id: Uuid,
    /// Always `collection`.
    #[oai(rename = "type")]
    pub kind: String,
    /// When the bundle was made.
    pub timestamp: Timestamp,
    /// The resources, each with its `fullUrl`.
    pub entry: Vec<FhirEntryBody>,
}

/// One resource of the bundle.
#[derive(Debug, Clone, Object)]
#[oai(rename = "FhirBundleEntry", rename_all = "camelCase")]
pub struct FhirEntryBody {
    /// `urn:uuid:` and the resource's id.
    pub full_url: String,
    /// A FHIR R4 resource: `Patient`, `Observation`, `Procedure`, `Flag` or `Communication`, as
    /// FHIR defines it.
    pub resource: Value,
}

impl Example for FhirBundleBody {
    fn example() -> Self {
        let entry = EntryBody::example();
        let observation = serde_json::json!({
            "resourceType": "Observation",
            "id": entry.id,
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey", "display": "Survey"}], "text": "Survey"}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3", "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}], "text": "Pain (0-10)"},
            "subject": {"reference": format!("urn:uuid:{}", examples::PATIENT)},
            "effectiveDateTime": "2026-11-21T19:30:00.000000Z",
            "valueInteger": 6,
        });
        Self {
            resource_type: "Bundle".into(),
            id: examples::id("0196f7e0-1a2b-7c3d-8e4f-5a6b7c8d9e0f"),
            kind: "collection".into(),
            timestamp: Timestamp(examples::at("2026-11-25T08:00:00Z")),
            entry: vec![FhirEntryBody { full_url: format!("urn:uuid:{}", entry.id), resource: observation }],
        }
    }
}

#[derive(ApiResponse)]
pub enum JsonDownload {
    /// The whole export as one JSON document (`JournalExport`).
    #[oai(status = 200)]
    Ok(
        Download<JsonExport>,
        /// `attachment; filename="aftercare-export-<date>.json"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum FhirDownload {
    /// A FHIR R4 `Bundle` of type `collection`.
    #[oai(status = 200)]
    Ok(
        Download<FhirExport>,
        /// `attachment; filename="aftercare-fhir-<date>.json"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum EntriesCsvDownload {
    /// The entries table.
    #[oai(status = 200)]
    Ok(
        Download<CsvExport<ENTRIES_TABLE>>,
        /// `attachment; filename="aftercare-entries-<date>.csv"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum SessionsCsvDownload {
    /// The sessions table.
    #[oai(status = 200)]
    Ok(
        Download<CsvExport<SESSIONS_TABLE>>,
        /// `attachment; filename="aftercare-sessions-<date>.csv"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum NotesCsvDownload {
    /// The notes table.
    #[oai(status = 200)]
    Ok(
        Download<CsvExport<NOTES_TABLE>>,
        /// `attachment; filename="aftercare-notes-<date>.csv"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

type ExportProblems = Problems<{ status::AUTHENTICATED | status::NOT_FOUND }>;

pub struct ExportApi;

#[OpenApi(prefix_path = "/v1/patients", tag = "ApiTags::Export")]
impl ExportApi {
    /// Export everything as JSON
    ///
    /// One document with everything the patient provided and the service derived: profile,
    /// health screen, care team, entries with regions and symptoms, daily roll-ups,
    /// questionnaires with scores, sessions with their aftercare plans, adherence and check-in
    /// answers, notes with therapists, alerts with their evidence, and the access log (schema
    /// `JournalExport`, sent as `application/vnd.aftercare.export+json`). Streamed as it is
    /// read. The patient uses their own id; a therapist needs a live grant with `read_journal`,
    /// and sees alerts only with `receive_alerts`. Each export is one `export_journal` line in
    /// the patient's access log.
    #[oai(path = "/:patient_id/export", method = "get", operation_id = "exportPatientJournal")]
    async fn export_json(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
    ) -> Result<JsonDownload, ExportProblems> {
        let export = state.open_export(&auth.0, patient_id.0).await?;
        let name = file_name("aftercare-export", &export, "json").await?;
        Ok(JsonDownload::Ok(Download::new(stream(export, write_json)), attachment(&name)))
    }

    /// Export the entries as CSV
    ///
    /// One row per journal entry, newest first, after a header row: RFC 4180 (fields with
    /// commas, quotes or line breaks are quoted, quotes doubled), UTF-8, CRLF line ends. Pain by
    /// region has a column per region (`pain_lower_back`, …); lists (symptoms, self-care,
    /// medications, qualities) are joined with `; `. Same access rules and access log line as
    /// the JSON export.
    #[oai(path = "/:patient_id/export/entries.csv", method = "get", operation_id = "exportPatientEntriesCsv")]
    async fn export_entries_csv(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
    ) -> Result<EntriesCsvDownload, ExportProblems> {
        let export = state.open_export(&auth.0, patient_id.0).await?;
        let name = file_name("aftercare-entries", &export, "csv").await?;
        Ok(EntriesCsvDownload::Ok(Download::new(stream(export, write_entries_csv)), attachment(&name)))
    }

    /// Export the sessions as CSV
    ///
    /// One row per massage session, newest first, after a header row, with its aftercare
    /// adherence (steps done, skipped, pending) and soreness check-in answers. RFC 4180, UTF-8,
    /// CRLF line ends. Same access rules and access log line as the JSON export.
    #[oai(path = "/:patient_id/export/sessions.csv", method = "get", operation_id = "exportPatientSessionsCsv")]
    async fn export_sessions_csv(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
    ) -> Result<SessionsCsvDownload, ExportProblems> {
        let export = state.open_export(&auth.0, patient_id.0).await?;
        let name = file_name("aftercare-sessions", &export, "csv").await?;
        Ok(SessionsCsvDownload::Ok(Download::new(stream(export, write_sessions_csv)), attachment(&name)))
    }

    /// Export the notes as CSV
    ///
    /// One row per note between the patient and a therapist, newest first, after a header row:
    /// its thread, what it is about, who wrote it, the therapist, the text, when it was written
    /// and read. A therapist's export holds only her own conversations. RFC 4180, UTF-8, CRLF
    /// line ends. Same access rules and access log line as the JSON export.
    #[oai(path = "/:patient_id/export/notes.csv", method = "get", operation_id = "exportPatientNotesCsv")]
    async fn export_notes_csv(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
    ) -> Result<NotesCsvDownload, ExportProblems> {
        let export = state.open_export(&auth.0, patient_id.0).await?;
        let name = file_name("aftercare-notes", &export, "csv").await?;
        Ok(NotesCsvDownload::Ok(Download::new(stream(export, write_notes_csv)), attachment(&name)))
    }

    /// Export as a FHIR R4 Bundle
    ///
    /// A FHIR R4 `Bundle` of type `collection` for a clinician's system (schema `FhirBundle`,
    /// sent as `application/fhir+json`): the `Patient`, pain ratings as `Observation`s (LOINC
    /// 72514-3, with SNOMED CT body sites for regional pain), PEG (LOINC 91148-7, items as
    /// components) and Roland-Morris scores, massage sessions as `Procedure`s, open alerts as
    /// `Flag`s (those only when the reader may see alerts) and notes with therapists as
    /// `Communication`s. Same access rules and access log
    /// line as the JSON export.
    #[oai(path = "/:patient_id/export/fhir", method = "get", operation_id = "exportPatientFhir")]
    async fn export_fhir(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
    ) -> Result<FhirDownload, ExportProblems> {
        let export = state.open_export(&auth.0, patient_id.0).await?;
        let name = file_name("aftercare-fhir", &export, "json").await?;
        Ok(FhirDownload::Ok(Download::new(stream(export, write_fhir)), attachment(&name)))
    }
}

fn attachment(name: &str) -> String {
    format!("attachment; filename=\"{name}\"")
}

/// `<stem>-<the patient's local date>.<extension>`.
async fn file_name(stem: &str, export: &Export, extension: &str) -> Result<String, crate::service::Error> {
    let date = export.time_zone().await?.local_date(export.exported_at);
    Ok(format!("{stem}-{date}.{extension}"))
}

/// Why writing stopped: the download was abandoned, or a read failed.
#[derive(Debug)]
enum Stop {
    Gone,
    Failed(anyhow::Error),
}

impl From<crate::service::Error> for Stop {
    fn from(error: crate::service::Error) -> Self {
        Stop::Failed(anyhow::anyhow!("{error}"))
    }
}

impl From<serde_json::Error> for Stop {
    fn from(error: serde_json::Error) -> Self {
        Stop::Failed(error.into())
    }
}

impl From<csv::Error> for Stop {
    fn from(error: csv::Error) -> Self {
        Stop::Failed(error.into())
    }
}

/// Chunks on their way to the client; the channel is small, so a slow reader slows the reads.
struct Out {
    sender: mpsc::Sender<std::io::Result<Vec<u8>>>,
    buffer: Vec<u8>,
}

const CHUNK_BYTES: usize = 64 * 1024;

impl Out {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sender.send(Ok(chunk)).await.map_err(|_| Stop::Gone)
    }
}

/// Runs `write` in its own task, handing its output to the response body as it comes.
fn stream<F, Fut>(export: Export, write: F) -> Body
where
    F: FnOnce(Export, Out) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Out, Stop>> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(2);
    let mut failed = sender.clone();
    let out = Out { sender, buffer: Vec::with_capacity(CHUNK_BYTES) };
    tokio::spawn(async move {
        let patient_id = export.patient_id;
        let result = match write(export, out).await {
            Ok(mut out) => out.flush().await,
            Err(stop) => Err(stop),
        };
        match result {
            Ok(()) => metrics::counter!("journal_export_streams_total", "outcome" => "complete").increment(1),
            Err(Stop::Gone) => metrics::counter!("journal_export_streams_total", "outcome" => "abandoned").increment(1),
            Err(Stop::Failed(error)) => {
                metrics::counter!("journal_export_streams_total", "outcome" => "failed").increment(1);
                tracing::error!(%patient_id, error = %error, "an export failed half way; the download is cut short");
                // The client sees a broken download, never a complete-looking one.
                let _ = failed.send(Err(std::io::Error::other("the export failed"))).await;
            }
        }
    });
    Body::from_bytes_stream(receiver)
}

fn json_of<T: ToJSON>(value: &T) -> Result<Vec<u8>, Stop> {
    let value = value.to_json().unwrap_or(Value::Null);
    Ok(serde_json::to_vec(&value)?)
}

/// Writes `"name":` and then `value` as JSON, with the comma before it unless it is the first.
async fn json_field<T: ToJSON>(out: &mut Out, name: &str, value: &T, first: bool) -> Result<(), Stop> {
    let key = format!("{}{}:", if first { "" } else { "," }, serde_json::to_string(name)?);
    out.write(key.as_bytes()).await?;
    out.write(&json_of(value)?).await
}

/// A JSON array written item by item.
struct JsonArray {
    empty: bool,
}

impl JsonArray {
    async fn open(out: &mut Out, name: &str) -> Result<Self, Stop> {
        out.write(format!(",{}:[", serde_json::to_string(name)?).as_bytes()).await?;
        Ok(Self { empty: true })
    }

    async fn push<T: ToJSON>(&mut self, out: &mut Out, item: &T) -> Result<(), Stop> {
        if !self.empty {
            out.write(b",").await?;
        }
        self.empty = false;
        out.write(&json_of(item)?).await
    }

    async fn close(self, out: &mut Out) -> Result<(), Stop> {
        out.write(b"]").await
    }
}

fn health_screen_body(screen: Option<(HealthScreen, DateTime<Utc>)>) -> Result<HealthScreenOut, Stop> {
    let (screen, at) = match screen {
        Some((screen, at)) => (screen, Some(at)),
        None => (HealthScreen::default(), None),
    };
    screen_out(&screen, at).map_err(|e| Stop::Failed(anyhow::anyhow!("the health screen does not convert: {e:?}")))
}

/// The local dates the entries span, gathered while they are written.
#[derive(Default)]
struct Span(Option<(NaiveDate, NaiveDate)>);

impl Span {
    fn add(&mut self, date: NaiveDate) {
        self.0 = Some(match self.0 {
            None => (date, date),
            Some((first, last)) => (first.min(date), last.max(date)),
        });
    }
}

/// Pages of live entries, newest first.
#[derive(Default)]
struct EntryPages {
    after: Option<EntryPosition>,
    done: bool,
}

impl EntryPages {
    async fn next(&mut self, export: &Export) -> Result<Option<Vec<Entry>>, Stop> {
        if self.done {
            return Ok(None);
        }
        let page = export.entries(self.after, EXPORT_PAGE).await?;
        self.done = page.len() < EXPORT_PAGE as usize;
        self.after = page.last().map(|e| EntryPosition { recorded_at: e.content.recorded_at, id: e.id });
        Ok(Some(page))
    }
}

/// Pages of sessions with their steps, newest first.
#[derive(Default)]
struct SessionPages {
    after: Option<SessionPosition>,
    done: bool,
}

impl SessionPages {
    async fn next(&mut self, export: &Export) -> Result<Option<Vec<(MassageSession, Vec<StepRecord>)>>, Stop> {
        if self.done {
            return Ok(None);
        }
        let page = export.sessions(self.after, EXPORT_PAGE).await?;
        self.done = page.len() < EXPORT_PAGE as usize;
        self.after = page.last().map(|(s, _)| SessionPosition { started_at: s.started_at, id: s.id });
        Ok(Some(page))
    }
}

/// Pages of notes, newest first.
#[derive(Default)]
struct NotePages {
    before: Option<NotePosition>,
    done: bool,
}

impl NotePages {
    async fn next(&mut self, export: &Export) -> Result<Option<Vec<Note>>, Stop> {
        if self.done {
            return Ok(None);
        }
        let page = export.notes(self.before, EXPORT_PAGE).await?;
        self.done = page.len() < EXPORT_PAGE as usize;
        self.before = page.last().map(|n| NotePosition { created_at: n.created_at, id: n.id });
        Ok(Some(page))
    }
}

/// Pages of questionnaire responses, oldest first.
#[derive(Default)]
struct QuestionnairePages {
    after: Option<QuestionnairePosition>,
    done: bool,
}

impl QuestionnairePages {
    async fn next(&mut self, export: &Export) -> Result<Option<Vec<QuestionnaireRecord>>, Stop> {
        if self.done {
            return Ok(None);
        }
        let page = export.questionnaires(self.after, EXPORT_PAGE).await?;
        self.done = page.len() < EXPORT_PAGE as usize;
        self.after = page.last().map(|q| QuestionnairePosition { completed_at: q.completed_at, id: q.id });
        Ok(Some(page))
    }
}

async fn write_json(export: Export, mut out: Out) -> Result<Out, Stop> {
    let o = &mut out;
    o.write(b"{").await?;
    json_field(o, "format", &EXPORT_FORMAT.to_owned(), true).await?;
    json_field(o, "version", &EXPORT_VERSION, false).await?;
    json_field(o, "exported_at", &Timestamp(export.exported_at), false).await?;
    json_field(o, "patient_id", &export.patient_id, false).await?;
    json_field(o, "profile", &ProfileBody::from(export.profile().await?), false).await?;
    json_field(o, "health_screen", &health_screen_body(export.health_screen().await?)?, false).await?;
    let grants = export
        .grants()
        .await?
        .map(|grants| grants.into_iter().map(|g| GrantBody::new(g, export.now())).collect::<Vec<_>>());
    json_field(o, "grants", &grants, false).await?;

    let mut span = Span::default();
    let mut entries = JsonArray::open(o, "entries").await?;
    let mut pages = EntryPages::default();
    while let Some(page) = pages.next(&export).await? {
        for entry in page {
            span.add(entry.local_date);
            entries.push(o, &EntryBody::from(entry)).await?;
        }
    }
    entries.close(o).await?;

    let mut days = JsonArray::open(o, "days").await?;
    if let Some((first, last)) = span.0 {
        let mut from = first;
        while from <= last {
            let to = (from + chrono::Days::new(365)).min(last);
            for day in export.days(from, to).await? {
                days.push(o, &DayBody::from(day)).await?;
            }
            from = to + chrono::Days::new(1);
        }
    }
    days.close(o).await?;

    let mut questionnaires = JsonArray::open(o, "questionnaires").await?;
    let mut pages = QuestionnairePages::default();
    while let Some(page) = pages.next(&export).await? {
        for record in page {
            questionnaires.push(o, &QuestionnaireBody::from(record)).await?;
        }
    }
    questionnaires.close(o).await?;

    let mut sessions = JsonArray::open(o, "sessions").await?;
    let mut pages = SessionPages::default();
    while let Some(page) = pages.next(&export).await? {
        for (session, steps) in page {
            let body =
                ExportSessionBody { session: session.into(), steps: steps.into_iter().map(StepOut::from).collect() };
            sessions.push(o, &body).await?;
        }
    }
    sessions.close(o).await?;

    let mut notes = JsonArray::open(o, "notes").await?;
    let mut pages = NotePages::default();
    while let Some(page) = pages.next(&export).await? {
        for note in page {
            notes.push(o, &NoteBody::from(note)).await?;
        }
    }
    notes.close(o).await?;

    if export.alerts_visible {
        let mut alerts = JsonArray::open(o, "alerts").await?;
        let mut before = None;
        while let Some(page) = export.alerts(before, EXPORT_PAGE).await? {
            let done = page.len() < EXPORT_PAGE as usize;
            before = page.last().map(|a| (a.opened_at, a.id));
            for alert in page {
                alerts.push(o, &AlertBody::from(alert)).await?;
            }
            if done {
                break;
            }
        }
        alerts.close(o).await?;
    } else {
        json_field(o, "alerts", &Option::<Vec<AlertBody>>::None, false).await?;
    }

    if export.by_patient {
        let mut log = JsonArray::open(o, "access_log").await?;
        let mut after = None;
        while let Some(page) = export.access_log(after, EXPORT_PAGE).await? {
            let done = page.len() < EXPORT_PAGE as usize;
            after = page.last().map(|l| LogPosition { at: l.at, id: l.id });
            for line in page {
                log.push(o, &AccessLogEntryBody::from(line)).await?;
            }
            if done {
                break;
            }
        }
        log.close(o).await?;
    } else {
        json_field(o, "access_log", &Option::<Vec<AccessLogEntryBody>>::None, false).await?;
    }
    o.write(b"}").await?;
    Ok(out)
}

/// Rows in RFC 4180 CSV (CRLF line ends, quoted where needed).
fn csv_rows<R, F>(rows: impl IntoIterator<Item = R>, mut record: F) -> Result<Vec<u8>, Stop>
where
    F: FnMut(R) -> Vec<String>,
{
    let mut writer =
        csv::WriterBuilder::new().has_headers(false).terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for row in rows {
        writer.write_record(record(row))?;
    }
    writer.into_inner().map_err(|e| Stop::Failed(anyhow::anyhow!("{}", e.error())))
}

fn entry_columns() -> Vec<String> {
    let mut columns: Vec<String> =
        ["id", "local_date", "recorded_at", "time_zone", "pain"].into_iter().map(str::to_owned).collect();
    columns.extend(Region::ALL.iter().map(|r| format!("pain_{}", r.as_str())));
    columns.extend(
        [
            "qualities",
            "symptoms",
            "interference_activity",
            "interference_enjoyment",
            "sleep_quality",
            "stress",
            "self_care",
            "medications",
            "notes",
            "version",
            "created_at",
            "updated_at",
        ]
        .into_iter()
        .map(str::to_owned),
    );
    columns
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn joined<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().collect::<Vec<_>>().join("; ")
}

fn entry_row(entry: &Entry) -> Vec<String> {
    let c = &entry.content;
    let mut row = vec![
        entry.id.to_string(),
        entry.local_date.to_string(),
        timestamps::format(c.recorded_at),
        optional(c.time_zone.map(|z| z.name())),
        c.pain.value().to_string(),
    ];
    row.extend(
        Region::ALL
            .iter()
            .map(|region| optional(c.regions.iter().find(|r| r.region == *region).map(|r| r.pain.value()))),
    );
    let qualities = c
        .regions
        .iter()
        .filter(|r| !r.qualities.is_empty())
        .map(|r| {
            format!("{}: {}", r.region.as_str(), r.qualities.iter().map(|q| q.as_str()).collect::<Vec<_>>().join(", "))
        })
        .collect::<Vec<_>>();
    row.push(qualities.join("; "));
    row.push(joined(c.symptoms.iter().map(|s| s.as_str())));
    for score in [c.interference_activity, c.interference_enjoyment, c.sleep_quality, c.stress] {
        row.push(optional(score.map(|s| s.value())));
    }
    row.push(joined(c.self_care.iter().map(|s| s.as_str())));
    row.push(joined(c.medications.iter().map(String::as_str)));
    row.push(c.notes.clone().unwrap_or_default());
    row.push(entry.version.to_string());
    row.push(timestamps::format(entry.created_at));
    row.push(timestamps::format(entry.updated_at));
    row
}

async fn write_entries_csv(export: Export, mut out: Out) -> Result<Out, Stop> {
    out.write(&csv_rows([entry_columns()], |header| header)?).await?;
    let mut pages = EntryPages::default();
    while let Some(page) = pages.next(&export).await? {
        out.write(&csv_rows(&page, entry_row)?).await?;
    }
    Ok(out)
}

const SESSION_COLUMNS: &[&str] = &[
    "id",
    "started_at",
    "ended_at",
    "duration_minutes",
    "kind",
    "techniques",
    "regions",
    "pressure",
    "pain_before",
    "pain_after",
    "notes",
    "recorded_by",
    "plan_name",
    "steps",
    "steps_done",
    "steps_skipped",
    "steps_pending",
    "check_ins",
    "created_at",
    "updated_at",
];

fn session_row(session: &MassageSession, steps: &[StepRecord]) -> Vec<String> {
    let count = |state: StepState| steps.iter().filter(|s| s.state == state).count().to_string();
    let check_ins = steps
        .iter()
        .filter_map(|step| {
            let answer = step.check_in.as_ref()?;
            let hours = match step.kind {
                crate::domain::StepKind::SorenessCheckIn { hours_after } => format!("{hours_after}h: "),
                _ => String::new(),
            };
            let swelling = if answer.leg_swelling { ", leg swelling" } else { "" };
            Some(format!("{hours}soreness {}/10{swelling}", answer.soreness))
        })
        .collect::<Vec<_>>();
    vec![
        session.id.to_string(),
        timestamps::format(session.started_at),
        timestamps::format(session.ended_at()),
        session.duration_minutes.to_string(),
        session.kind.as_str().to_owned(),
        joined(session.techniques.iter().map(String::as_str)),
        joined(session.regions.iter().map(|r| r.as_str())),
        optional(session.pressure.map(|p| p.as_str())),
        optional(session.pain_before),
        optional(session.pain_after),
        session.notes.clone().unwrap_or_default(),
        optional(session.recorded_by),
        session.template.name.clone(),
        steps.len().to_string(),
        count(StepState::Done),
        count(StepState::Skipped),
        count(StepState::Pending),
        check_ins.join("; "),
        timestamps::format(session.created_at),
        timestamps::format(session.updated_at),
    ]
}

async fn write_sessions_csv(export: Export, mut out: Out) -> Result<Out, Stop> {
    let header: Vec<String> = SESSION_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    out.write(&csv_rows([header], |header| header)?).await?;
    let mut pages = SessionPages::default();
    while let Some(page) = pages.next(&export).await? {
        out.write(&csv_rows(&page, |(session, steps)| session_row(session, steps))?).await?;
    }
    Ok(out)
}

const NOTE_COLUMNS: &[&str] = &[
    "id",
    "thread_id",
    "subject_kind",
    "subject_id",
    "author",
    "therapist_id",
    "therapist_name",
    "body",
    "created_at",
    "read_at",
];

fn note_row(note: &Note) -> Vec<String> {
    vec![
        note.id.to_string(),
        note.thread_id.to_string(),
        note.subject.kind.as_str().to_owned(),
        note.subject.id.to_string(),
        note.author.as_str().to_owned(),
        optional(note.therapist_id),
        note.therapist_name.clone().unwrap_or_default(),
        note.body.clone(),
        timestamps::format(note.created_at),
        optional(note.read_at.map(timestamps::format)),
    ]
}

async fn write_notes_csv(export: Export, mut out: Out) -> Result<Out, Stop> {
    let header: Vec<String> = NOTE_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    out.write(&csv_rows([header], |header| header)?).await?;
    let mut pages = NotePages::default();
    while let Some(page) = pages.next(&export).await? {
        out.write(&csv_rows(&page, note_row)?).await?;
    }
    Ok(out)
}

async fn write_fhir(export: Export, mut out: Out) -> Result<Out, Stop> {
    let o = &mut out;
    o.write(fhir::bundle_start(Uuid::now_v7(), export.exported_at).as_bytes()).await?;
    o.write(&serde_json::to_vec(&fhir::patient(&export.profile().await?))?).await?;
    let mut pages = EntryPages::default();
    while let Some(page) = pages.next(&export).await? {
        for entry in &page {
            for resource in fhir::pain_observations(entry) {
                o.write(b",").await?;
                o.write(&serde_json::to_vec(&resource)?).await?;
            }
        }
    }
    let mut pages = QuestionnairePages::default();
    while let Some(page) = pages.next(&export).await? {
        for record in page {
            let resource = match &record.answers {
                QuestionnaireAnswers::Peg(peg) => fhir::peg(record.id, record.patient_id, record.completed_at, *peg),
                QuestionnaireAnswers::RolandMorris(rm) => {
                    fhir::roland_morris(record.id, record.patient_id, record.completed_at, rm)
                }
            };
            o.write(b",").await?;
            o.write(&serde_json::to_vec(&resource)?).await?;
        }
    }
    let mut pages = SessionPages::default();
    while let Some(page) = pages.next(&export).await? {
        for (s, _) in page {
            let facts = fhir::SessionFacts {
                id: s.id,
                patient_id: s.patient_id,
                started_at: s.started_at,
                ended_at: s.ended_at(),
                kind: s.kind,
                regions: s.regions.clone(),
                pain_before: s.pain_before,
                pain_after: s.pain_after,
                notes: s.notes.clone(),
            };
            o.write(b",").await?;
            o.write(&serde_json::to_vec(&fhir::procedure(&facts))?).await?;
        }
    }
    for alert in export.open_alerts().await? {
        o.write(b",").await?;
        o.write(&serde_json::to_vec(&fhir::flag(&alert))?).await?;
    }
    let mut pages = NotePages::default();
    while let Some(page) = pages.next(&export).await? {
        for note in &page {
            o.write(b",").await?;
            o.write(&serde_json::to_vec(&fhir::communication(note))?).await?;
        }
    }
    o.write(fhir::BUNDLE_END.as_bytes()).await?;
    Ok(out)
}
