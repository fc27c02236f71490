//! HTTP: one module per resource. Handlers parse, call a use case in `service`, and map the
//! result; errors all become problem+json in `middleware`.

pub mod accounts;
pub mod alerts;
pub mod auth;
pub mod care;
pub mod error;
pub mod examples;
pub mod export;
pub mod journal;
pub mod json;
pub mod middleware;
pub mod names;
pub mod notes;
pub mod notifications;
pub mod ops;
pub mod outage;
pub mod pagination;
pub mod patients;
pub mod questionnaires;
pub mod report_page;
pub mod report_pdf;
pub mod reports;
pub mod security;
pub mod sessions;
pub mod spec;
pub mod spec_normalize;
pub mod timestamps;

use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::PrometheusHandle;
use poem::endpoint::make_sync;
use poem::middleware::CatchPanic;
use poem::web::{Data, Html};
use poem::{Endpoint, EndpointExt, Response, Route, get, handler};
use poem_openapi::{ExtraHeader, OpenApiService, Tags};

use crate::service::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// Registering, the profile, and erasing an account.
    Accounts,
    /// When pain or symptoms call for a physiotherapist, a doctor today or emergency services
    /// now: alerts with their evidence, acknowledged and resolved.
    Alerts,
    /// Signing in, refreshing tokens, signing out and device sessions.
    Auth,
    /// The care team: invite codes that link a patient and a therapist, grants of access, the
    /// therapist's caseload, and the patient's log of who viewed their data.
    Care,
    /// The patient's pain journal: entries written offline and synced, daily roll-ups, summaries.
    Journal,
    /// Notes between a patient and a therapist about an entry, a session or an alert: the
    /// therapist writes, the patient reads and answers.
    Notes,
    /// Web Push devices, the notification inbox and reminder settings.
    Notifications,
    /// Everything a patient's journal holds, to take away or hand to a clinician: JSON, CSV
    /// and FHIR R4.
    Export,
    /// Probes for orchestrators and load balancers.
    Operations,
    /// A patient's journal as the therapists they granted access see it (read only).
    Patients,
    /// PEG and Roland-Morris questionnaires and their score trends.
    Questionnaires,
    /// The pain chart, the one-page clinician report, and share links that open the report in
    /// a browser for a clinician without an account.
    Reports,
    /// Massage sessions, the health screen and contraindication warnings, aftercare plans,
    /// soreness check-ins and therapists' plan templates.
    Sessions,
}

pub type Apis = (
    ops::OpsApi,
    accounts::AccountsApi,
    auth::AuthApi,
    journal::JournalApi,
    questionnaires::QuestionnairesApi,
    notifications::NotificationsApi,
    sessions::SessionsApi,
    care::CareApi,
    patients::PatientsApi,
    alerts::AlertsApi,
    notes::NotesApi,
    reports::ReportsApi,
    export::ExportApi,
);

const DESCRIPTION: &str = "\
Aftercare keeps a pain journal for people with back pain, sends them aftercare prompts after \
massage sessions, tells them (and their therapists) when to see a physiotherapist or get urgent \
care, and lets therapists read the journals of clients who granted access.

Conventions: JSON in `snake_case`; UUID ids; RFC 3339 timestamps in UTC, always with six fractional digits (`2026-03-01T10:00:00.000000Z`). Every error is an \
RFC 9457 `application/problem+json` document with a `code` and a `request_id` (also sent as the \
`x-request-id` header); 422 lists every rejected field in `errors`. Unknown fields are rejected. \
Authenticated responses carry `Cache-Control: no-store`.";

/// The OpenAPI description of every operation; also what `aftercare openapi` prints.
pub fn openapi() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            ops::OpsApi,
            accounts::AccountsApi,
            auth::AuthApi,
            journal::JournalApi,
            questionnaires::QuestionnairesApi,
            notifications::NotificationsApi,
            sessions::SessionsApi,
            care::CareApi,
            patients::PatientsApi,
            alerts::AlertsApi,
            notes::NotesApi,
            reports::ReportsApi,
            export::ExportApi,
        ),
        "Aftercare API",
        env!("CARGO_PKG_VERSION"),
    )
    .summary("Pain journal, massage aftercare and care-team alerts for back pain")
    .description(DESCRIPTION)
    .extra_response_header::<String, _>(ExtraHeader::new("X-Request-Id").description(
        "Identifies the request in the service's logs: the client's own `X-Request-Id` when it sent a \
         short plain one (letters, digits, `-`, `_`; at most 64), otherwise a new UUID.",
    ))
}

#[handler]
fn metrics(handle: Data<&PrometheusHandle>) -> Response {
    Response::builder().content_type("text/plain; version=0.0.4").body(handle.render())
}

/// What the service serves of its API document: the document in both encodings, the docs page
/// that shows it, and each path's methods (for 405 answers).
struct Served {
    json: String,
    yaml: String,
    docs: String,
    allowed: Arc<middleware::AllowedMethods>,
}

/// The published document and the docs page that shows it. Both are fixed for the life of the
/// process, so they are made once: every instance in one process (tests start several at once)
/// shares them instead of spending seconds of a debug build regenerating them at start-up. The
/// parsed document is dropped once the methods are read off it: as a tree of values it holds
/// several times the memory of its text, for the whole life of the process.
fn published() -> &'static Served {
    static PUBLISHED: OnceLock<Served> = OnceLock::new();
    PUBLISHED.get_or_init(|| {
        let api = openapi();
        let spec::Published { document, json, yaml } = spec::Published::new();
        let allowed = Arc::new(middleware::AllowedMethods::from_document(&document));
        drop(document);
        // Swagger UI embeds the generated document; show the published one instead.
        let docs = api.swagger_ui_html().replace(&api.spec(), &json);
        Served { json, yaml, docs, allowed }
    })
}

/// The whole HTTP application.
pub fn app(state: AppState, metrics_handle: PrometheusHandle) -> impl Endpoint {
    let api = openapi();
    let served = published();
    let allowed = served.allowed.clone();
    let (json, yaml, docs) = (served.json.as_str(), served.yaml.as_str(), served.docs.as_str());
    let max_body_bytes = state.settings.server.max_body_bytes;
    let outage = outage::DatabaseOutage::new(
        state.store.clone(),
        std::time::Duration::from_millis(state.settings.database.outage_probe_ms),
    );
    let gate = outage.clone();
    let shared = get(reports::open_share_link).with(CatchPanic::new()).data(state.clone());
    let desk = crate::web::routes(state.clone()).with(CatchPanic::new());
    let service = Route::new()
        .nest("/", api)
        .at("/openapi.json", get(make_sync(move |_| Response::builder().content_type("application/json").body(json))))
        .at(
            "/openapi.yaml",
            get(make_sync(move |_| {
                Response::builder()
                    .content_type("application/yaml")
                    .header("Content-Disposition", "inline; filename=\"openapi.yaml\"")
                    .body(yaml)
            })),
        )
        .at("/docs", get(make_sync(move |_| Html(docs))))
        .at("/metrics", get(metrics))
        .with(CatchPanic::new())
        .around(move |inner, request| outage::gate(gate.clone(), inner, request))
        .with(middleware::Observe { max_body_bytes, allowed })
        .data(state)
        .data(outage)
        .data(metrics_handle);
    // Share links open as plain web pages for clinicians without an account: HTML answers
    // (also for a link that does not open), outside the JSON API and its problem documents.
    // The therapist's desk: server-rendered pages with their own cookie session and headers.
    Route::new().at("/r/:token", shared).nest("/desk", desk).nest("/", service)
}
