//! The pain chart, the clinician report, and share links.
//!
//! The chart and the report are JSON answers carrying the SVG and the HTML page, so the phone app
//! and clinic integrations read them like every other answer (with the summary numbers beside
//! them). The report is also a PDF (`format=pdf`, or `Accept: application/pdf`), laid out and
//! written in-process. A share link opens the report as a plain web page at `/r/{token}` (and as
//! the PDF at `/r/{token}?format=pdf`), for a clinician with no account and no app; those are not
//! part of the JSON API, and so not in the OpenAPI document.

use chrono::{DateTime, NaiveDate, Utc};
use poem::http::StatusCode;
use poem::web::{Data, Path as PoemPath};
use poem::{IntoResponse, Request, Response, handler};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, ResponseContent};
use serde::Deserialize;
use uuid::Uuid;

use super::timestamps::Timestamp;

use super::ApiTags;
use super::accounts::Done;
use super::error::{ApiError, Problems, status};
use super::examples;
use super::journal::{Read, SummaryBody, own_journal};
use super::json::JsonBody;
use super::report_page;
use super::report_pdf::{self, PDF};
use super::security::{BearerAuth, client_address};
use crate::domain::chart::Aggregation;
use crate::domain::report::Report;
use crate::domain::share::{DEFAULT_DAYS, LinkState, ShareLink};
use crate::service::AppState;
use crate::service::reports::{ClosedLink, PainChart};

/// How the chart groups days into points.
///
/// - `daily`: one point per day (ranges up to 92 days).
/// - `weekly`: one point per Monday-to-Sunday week (up to 731 days).
/// - `monthly`: one point per calendar month (longer ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ChartAggregation", rename_all = "snake_case")]
pub enum AggregationBody {
    /// One point per day (ranges up to 92 days).
    Daily,
    /// One point per Monday-to-Sunday week (up to 731 days).
    Weekly,
    /// One point per calendar month (longer ranges).
    Monthly,
}

impl From<Aggregation> for AggregationBody {
    fn from(value: Aggregation) -> Self {
        match value {
            Aggregation::Daily => AggregationBody::Daily,
            Aggregation::Weekly => AggregationBody::Weekly,
            Aggregation::Monthly => AggregationBody::Monthly,
        }
    }
}

/// The pain chart of a date range as SVG.
#[derive(Debug, Clone, Object)]
#[oai(rename = "PainChart", example)]
pub struct PainChartBody {
    /// First local date (inclusive).
    pub from: NaiveDate,
    /// Last local date (inclusive).
    pub to: NaiveDate,
    /// How days are grouped into points; follows the length of the range.
    pub aggregation: AggregationBody,
    /// A standalone SVG document (`image/svg+xml`), scalable to any width: worst pain of each
    /// day as a solid line with dots (for a week or a month, the average of its days' worst),
    /// mean pain dashed, the patient's usual range as a band, massage sessions as triangles
    /// along the bottom, alerts as diamonds along the top; the legend says what a point is. Its
    /// `<title>` and `<desc>` say what it shows for screen readers.
    pub svg: String,
}

impl From<PainChart> for PainChartBody {
    fn from(chart: PainChart) -> Self {
        Self { from: chart.from, to: chart.to, aggregation: chart.aggregation.into(), svg: chart.svg }
    }
}

impl Example for PainChartBody {
    fn example() -> Self {
        use crate::domain::chart::{ChartInput, render_svg};
        use crate::domain::rollup::DailyRollup;
        let from = examples::date("2026-11-21");
        let to = examples::date("2026-11-23");
        let days: Vec<DailyRollup> = [(from, 6, 4.5), (to, 4, 3.0)]
            .into_iter()
            .map(|(date, max, mean)| DailyRollup { date, max, mean, last: max, count: 2, symptoms: Default::default() })
            .collect();
        let svg = render_svg(&ChartInput { from, to, days: &days, sessions: &[], alerts: &[], baseline: None });
        Self { from, to, aggregation: AggregationBody::Daily, svg }
    }
}

/// The one-page clinician report of a date range.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ClinicianReport", example)]
pub struct ReportBody {
    /// First local date (inclusive).
    pub from: NaiveDate,
    /// Last local date (inclusive).
    pub to: NaiveDate,
    /// When it was made (RFC 3339, UTC).
    pub generated_at: Timestamp,
    /// The summary numbers the report shows.
    pub summary: SummaryBody,
    /// The report as a complete HTML document (`text/html; charset=utf-8`) with print styles:
    /// who and when, summary numbers, the pain chart, open alerts with their evidence and
    /// advice, sessions with pain before and after and aftercare adherence, soreness check-ins,
    /// questionnaire scores over time and symptoms reported. One A4 or Letter page for a month.
    pub html: String,
}

impl Example for ReportBody {
    fn example() -> Self {
        Self {
            from: examples::date("2026-11-10"),
            to: examples::date("2026-11-23"),
            generated_at: Timestamp(examples::at("2026-11-23T18:00:00Z")),
            summary: SummaryBody::example(),
            html: "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Pain report: Ana, 10 Nov \
                   2026 – 23 Nov 2026 (14 days)</title></head><body>…</body></html>"
                .to_owned(),
        }
    }
}

/// How the chart is sent.
///
/// - `json`: a `PainChart` with the SVG.
/// - `png`: the chart as a PNG image, 1280 × 672 pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ChartFormat", rename_all = "snake_case")]
pub enum ChartFormat {
    /// A `PainChart` with the SVG.
    Json,
    /// The chart as a PNG image, 1280 × 672 pixels.
    Png,
}

/// A PNG image.
pub struct PngFile(pub Vec<u8>);

impl Payload for PngFile {
    const CONTENT_TYPE: &'static str = "image/png";

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new_with_format("string", "binary");
        schema.description = Some("The pain chart as a PNG image, 1280 × 672 pixels (twice the SVG's own size).");
        MetaSchemaRef::Inline(Box::new(schema))
    }
}

impl IntoResponse for PngFile {
    fn into_response(self) -> Response {
        Response::builder().content_type("image/png").body(self.0)
    }
}

/// The chart as JSON with its SVG, or as a PNG.
#[derive(ResponseContent)]
pub enum ChartContent {
    Json(Json<PainChartBody>),
    Png(PngFile),
}

#[derive(ApiResponse)]
pub enum ChartAnswer {
    /// The chart: a `PainChart` with the SVG, or a PNG image with `format=png`.
    #[oai(status = 200)]
    Ok(ChartContent),
}

/// The PNG's scale over the SVG's own size: sharp on a phone's screen.
const PNG_SCALE: f32 = 2.0;

async fn chart_answer(chart: PainChart, format: Option<ChartFormat>) -> Result<ChartAnswer, crate::service::Error> {
    if format == Some(ChartFormat::Png) {
        let svg = chart.svg;
        let png = tokio::task::spawn_blocking(move || report_pdf::chart_png(&svg, PNG_SCALE))
            .await
            .map_err(|e| crate::service::Error::Internal(anyhow::anyhow!("the PNG task failed: {e}")))?
            .map_err(crate::service::Error::Internal)?;
        Ok(ChartAnswer::Ok(ChartContent::Png(PngFile(png))))
    } else {
        Ok(ChartAnswer::Ok(ChartContent::Json(Json(chart.into()))))
    }
}

/// How the report is sent.
///
/// - `json`: a `ClinicianReport` with the HTML page and the summary numbers.
/// - `pdf`: the report as an A4 PDF (`application/pdf`), fonts embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ReportFormat", rename_all = "snake_case")]
pub enum ReportFormat {
    /// A `ClinicianReport` with the HTML page and the summary numbers.
    Json,
    /// The report as an A4 PDF, fonts embedded.
    Pdf,
}

/// A PDF document.
pub struct PdfFile(pub Vec<u8>);

impl Payload for PdfFile {
    const CONTENT_TYPE: &'static str = PDF;

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new_with_format("string", "binary");
        schema.description = Some(
            "The clinician report as a PDF (A4): the same content as the HTML page, fonts embedded; one page for a \
             month, more for longer ranges.",
        );
        MetaSchemaRef::Inline(Box::new(schema))
    }
}

impl IntoResponse for PdfFile {
    fn into_response(self) -> Response {
        Response::builder().content_type(PDF).body(self.0)
    }
}

/// The report as JSON, or as a PDF.
#[derive(ResponseContent)]
pub enum ReportContent {
    Json(Json<ReportBody>),
    Pdf(PdfFile),
}

#[derive(ApiResponse)]
pub enum ReportAnswer {
    /// The report: a `ClinicianReport` (JSON), or the PDF when asked for with `format=pdf` or
    /// `Accept: application/pdf`.
    #[oai(status = 200)]
    Ok(
        ReportContent,
        /// For the PDF: `inline; filename="aftercare-report-<from>-<to>.pdf"`.
        #[oai(header = "Content-Disposition")]
        Option<String>,
    ),
}

/// Whether the caller asked for the PDF: `format=pdf`, or, without `format`, an `Accept` header
/// naming `application/pdf`.
fn wants_pdf(request: &Request, format: Option<ReportFormat>) -> bool {
    match format {
        Some(format) => format == ReportFormat::Pdf,
        None => request
            .headers()
            .get_all(poem::http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(PDF))),
    }
}

/// `aftercare-report-<from>-<to>.pdf`.
pub fn pdf_name(report: &Report) -> String {
    format!("aftercare-report-{}-{}.pdf", report.from, report.to)
}

/// Lays out and writes the PDF off the async threads (a year's report takes a moment).
pub async fn pdf_of(report: Report) -> Result<Vec<u8>, crate::service::Error> {
    tokio::task::spawn_blocking(move || report_pdf::render(&report))
        .await
        .map_err(|e| crate::service::Error::Internal(anyhow::anyhow!("the PDF task failed: {e}")))?
        .map_err(crate::service::Error::Internal)
}

async fn report_answer(report: Report, pdf: bool) -> Result<ReportAnswer, crate::service::Error> {
    if pdf {
        let name = pdf_name(&report);
        let bytes = pdf_of(report).await?;
        Ok(ReportAnswer::Ok(ReportContent::Pdf(PdfFile(bytes)), Some(format!("inline; filename=\"{name}\""))))
    } else {
        Ok(ReportAnswer::Ok(ReportContent::Json(Json(report_body(report))), None))
    }
}

/// A share link for a report: a clinician without an account opens it in a browser.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "ShareLinkCreate", example)]
#[serde(deny_unknown_fields)]
pub struct ShareLinkCreateBody {
    /// First local date of the report (inclusive).
    pub from: NaiveDate,
    /// Last local date of the report (inclusive); at most five years after `from`.
    pub to: NaiveDate,
    /// Who it is for, in the patient's words, e.g. "Dr Patel (physio)"; at most 100 characters,
    /// no control characters.
    #[oai(validator(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"))]
    pub label: Option<String>,
    /// Days until the link stops working, 1–90 (default 7).
    #[oai(validator(minimum(value = "1"), maximum(value = "90")))]
    pub expires_in_days: Option<u32>,
}

impl Example for ShareLinkCreateBody {
    fn example() -> Self {
        Self {
            from: examples::date("2026-10-25"),
            to: examples::date("2026-11-23"),
            label: Some("Dr Patel (physio)".into()),
            expires_in_days: Some(DEFAULT_DAYS),
        }
    }
}

/// Where a share link stands.
///
/// - `active`: opens the report.
/// - `expired`: its time ran out.
/// - `revoked`: the patient revoked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ShareLinkState", rename_all = "snake_case")]
pub enum LinkStateBody {
    /// Opens the report.
    Active,
    /// Its time ran out.
    Expired,
    /// The patient revoked it.
    Revoked,
}

impl From<LinkState> for LinkStateBody {
    fn from(value: LinkState) -> Self {
        match value {
            LinkState::Active => LinkStateBody::Active,
            LinkState::Expired => LinkStateBody::Expired,
            LinkState::Revoked => LinkStateBody::Revoked,
        }
    }
}

/// A share link as the patient's settings list it (never its token).
#[derive(Debug, Clone, Object)]
#[oai(rename = "ShareLink", example)]
pub struct ShareLinkBody {
    /// Identifies the link, e.g. to revoke it.
    pub id: Uuid,
    /// Who it is for, in the patient's words.
    pub label: Option<String>,
    /// First local date of the report.
    pub from: NaiveDate,
    /// Last local date of the report.
    pub to: NaiveDate,
    /// Active, expired or revoked.
    pub state: LinkStateBody,
    /// When it was made.
    pub created_at: Timestamp,
    /// It stops working at this instant.
    pub expires_at: Timestamp,
    /// When the patient revoked it; `null` unless revoked.
    pub revoked_at: Option<Timestamp>,
    /// How many times the report was opened through it (each open is in the access log).
    pub open_count: u64,
    /// The latest open; `null` before the first.
    pub last_opened_at: Option<Timestamp>,
}

impl ShareLinkBody {
    fn new(link: ShareLink, now: DateTime<Utc>) -> Self {
        Self {
            id: link.id,
            state: link.state(now).into(),
            label: link.label,
            from: link.from,
            to: link.to,
            created_at: Timestamp(link.created_at),
            expires_at: Timestamp(link.expires_at),
            revoked_at: link.revoked_at.map(Timestamp),
            open_count: link.open_count,
            last_opened_at: link.last_opened_at.map(Timestamp),
        }
    }
}

impl Example for ShareLinkBody {
    fn example() -> Self {
        Self {
            id: examples::id(SHARE_LINK),
            label: Some("Dr Patel (physio)".into()),
            from: examples::date("2026-10-25"),
            to: examples::date("2026-11-23"),
            state: LinkStateBody::Active,
            created_at: Timestamp(examples::at("2026-11-23T18:00:00Z")),
            expires_at: Timestamp(examples::at("2026-11-30T18:00:00Z")),
            revoked_at: None,
            open_count: 1,
            last_opened_at: Some(Timestamp(examples::at("2026-11-24T09:12:00Z"))),
        }
    }
}

const SHARE_LINK: &str = "0196f7e2-4a5b-7c6d-8e9f-0a1b2c3d4e5f";

/// A new share link with its address, shown only this once.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ShareLinkCreated", example)]
pub struct ShareLinkCreatedBody {
    /// The link's path on this service, `/r/{token}`: prefix it with the service's public
    /// address to give it to the clinician. Only a hash of the token is stored, so it cannot be
    /// shown again.
    pub path: String,
    /// The token alone.
    pub token: String,
    /// The link as it is listed.
    pub link: ShareLinkBody,
}

impl Example for ShareLinkCreatedBody {
    fn example() -> Self {
        let token = "acs_Hq3vQm2c8Yt0bXo4P1sWn7dKf5LgJ9aRzE6uC2iMhTy".to_owned();
        Self {
            path: format!("/r/{token}"),
            token,
            link: ShareLinkBody { open_count: 0, last_opened_at: None, ..ShareLinkBody::example() },
        }
    }
}

/// The patient's share links, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ShareLinkList", example)]
pub struct ShareLinkListBody {
    /// Every link the patient made, active or not, newest first.
    pub items: Vec<ShareLinkBody>,
}

impl Example for ShareLinkListBody {
    fn example() -> Self {
        Self { items: vec![ShareLinkBody::example()] }
    }
}

#[derive(ApiResponse)]
pub enum ShareLinkMade {
    /// Made; the token is in this answer only.
    #[oai(status = 201)]
    Created(
        Json<ShareLinkCreatedBody>,
        /// The link in the patient's list: `/v1/me/share-links/{link_id}`.
        #[oai(header = "Location")]
        String,
    ),
}

type PatientsOnly = Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND }>;

pub struct ReportsApi;

#[OpenApi(tag = "ApiTags::Reports")]
impl ReportsApi {
    /// My pain chart
    ///
    /// Worst and mean pain over `from`–`to` (default: the 30 days up to today) as SVG, with
    /// massage sessions, alerts and the usual range marked (or, with `format=png`, the same
    /// chart as a PNG image). Daily points up to 92 days, weekly up to two years, monthly
    /// beyond; at most five years.
    #[oai(path = "/v1/journal/chart", method = "get", operation_id = "getJournalChart")]
    async fn my_chart(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// First local date (inclusive); default: 29 days before `to`.
        from: Query<Option<NaiveDate>>,
        /// Last local date (inclusive); default: today.
        to: Query<Option<NaiveDate>>,
        /// `json` (default, with the SVG) or `png`.
        format: Query<Option<ChartFormat>>,
    ) -> Result<ChartAnswer, Read> {
        let me = own_journal(&auth.0)?;
        Ok(chart_answer(state.pain_chart(&auth.0, me, from.0, to.0).await?, format.0).await?)
    }

    /// My clinician report
    ///
    /// The one-page report of `from`–`to` (default: the 30 days up to today) as an HTML
    /// document, with its summary numbers; or, with `format=pdf` or `Accept: application/pdf`,
    /// as an A4 PDF with the same content (fonts embedded; one page for a month, more for longer
    /// ranges). To give it to a clinician without an account, make a share link
    /// (`POST /v1/me/share-links`).
    #[oai(path = "/v1/journal/report", method = "get", operation_id = "getJournalReport")]
    async fn my_report(
        &self,
        request: &Request,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// First local date (inclusive); default: 29 days before `to`.
        from: Query<Option<NaiveDate>>,
        /// Last local date (inclusive); default: today.
        to: Query<Option<NaiveDate>>,
        /// `json` (default) or `pdf`; without it, `Accept: application/pdf` asks for the PDF.
        format: Query<Option<ReportFormat>>,
    ) -> Result<ReportAnswer, Read> {
        let me = own_journal(&auth.0)?;
        let report = state.clinician_report(&auth.0, me, from.0, to.0).await?;
        Ok(report_answer(report, wants_pdf(request, format.0)).await?)
    }

    /// A patient's pain chart
    ///
    /// As `GET /v1/journal/chart` (SVG in JSON, or a PNG), for the patient. Needs a live grant
    /// with the `read_journal` scope; the read is written to the patient's access log.
    #[oai(path = "/v1/patients/:patient_id/journal/chart", method = "get", operation_id = "getPatientJournalChart")]
    async fn patient_chart(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// First local date (inclusive); default: 29 days before `to`.
        from: Query<Option<NaiveDate>>,
        /// Last local date (inclusive); default: today in the patient's time zone.
        to: Query<Option<NaiveDate>>,
        /// `json` (default, with the SVG) or `png`.
        format: Query<Option<ChartFormat>>,
    ) -> Result<ChartAnswer, Read> {
        Ok(chart_answer(state.pain_chart(&auth.0, patient_id.0, from.0, to.0).await?, format.0).await?)
    }

    /// A patient's clinician report
    ///
    /// As `GET /v1/journal/report` (HTML in JSON, or the PDF), for the patient, naming the
    /// therapist it was prepared for. Needs a live grant with the `read_journal` scope; the read
    /// is written to the patient's access log, whichever the format.
    #[oai(path = "/v1/patients/:patient_id/report", method = "get", operation_id = "getPatientReport")]
    #[allow(clippy::too_many_arguments)]
    async fn patient_report(
        &self,
        request: &Request,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The patient's account id.
        patient_id: Path<Uuid>,
        /// First local date (inclusive); default: 29 days before `to`.
        from: Query<Option<NaiveDate>>,
        /// Last local date (inclusive); default: today in the patient's time zone.
        to: Query<Option<NaiveDate>>,
        /// `json` (default) or `pdf`; without it, `Accept: application/pdf` asks for the PDF.
        format: Query<Option<ReportFormat>>,
    ) -> Result<ReportAnswer, Read> {
        let report = state.clinician_report(&auth.0, patient_id.0, from.0, to.0).await?;
        Ok(report_answer(report, wants_pdf(request, format.0)).await?)
    }

    /// Make a share link
    ///
    /// A link to the clinician report of `from`–`to` for a clinician without an account: it
    /// opens in any browser at `/r/{token}`, expires after `expires_in_days` (default 7, at most
    /// 90), can be revoked, and every open is written to the access log with the time and the
    /// client address. Patients only (403 for therapists).
    #[oai(path = "/v1/me/share-links", method = "post", operation_id = "createShareLink")]
    async fn create_share_link(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<ShareLinkCreateBody>,
    ) -> Result<ShareLinkMade, Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::BODY }>> {
        let body = body.0;
        let made = state.create_share_link(&auth.0, body.from, body.to, body.label, body.expires_in_days).await?;
        let location = format!("/v1/me/share-links/{}", made.link.id);
        let now = state.clock.now();
        Ok(ShareLinkMade::Created(
            Json(ShareLinkCreatedBody {
                path: format!("/r/{}", made.token),
                token: made.token,
                link: ShareLinkBody::new(made.link, now),
            }),
            location,
        ))
    }

    /// My share links
    ///
    /// Every share link the patient made, newest first, with its state and how often it was
    /// opened. Patients only (403 for therapists).
    #[oai(path = "/v1/me/share-links", method = "get", operation_id = "listShareLinks")]
    async fn share_links(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<ShareLinkListBody>, Problems<{ status::AUTHENTICATED | status::FORBIDDEN }>> {
        let now = state.clock.now();
        let links = state.share_links(&auth.0).await?;
        Ok(Json(ShareLinkListBody { items: links.into_iter().map(|l| ShareLinkBody::new(l, now)).collect() }))
    }

    /// Revoke a share link
    ///
    /// The link stops working at once; later opens are refused and still logged. Revoking a
    /// revoked link changes nothing. Patients only.
    #[oai(path = "/v1/me/share-links/:link_id", method = "delete", operation_id = "revokeShareLink")]
    async fn revoke_share_link(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The link's id.
        link_id: Path<Uuid>,
    ) -> Result<Done, PatientsOnly> {
        state.revoke_share_link(&auth.0, link_id.0).await?;
        Ok(Done::NoContent)
    }
}

fn report_body(report: crate::domain::report::Report) -> ReportBody {
    ReportBody {
        from: report.from,
        to: report.to,
        generated_at: Timestamp(report.generated_at),
        html: report_page::render(&report),
        summary: report.summary.into(),
    }
}

/// Upper bound on what the public page accepts as a token, before any lookup.
const MAX_TOKEN_CHARS: usize = 100;

/// `GET /r/{token}`: the report behind a share link, as a web page (with a link to its PDF), or
/// with `?format=pdf` as the PDF. No account, no app; every open is logged either way.
#[handler]
pub async fn open_share_link(request: &Request, state: Data<&AppState>, PoemPath(token): PoemPath<String>) -> Response {
    let pdf = request.uri().query().is_some_and(|q| q.split('&').any(|pair| pair == "format=pdf"));
    let client = client_address(request, state.settings.server.trust_forwarded_for).map(|ip| ip.to_string());
    let request_id = Uuid::now_v7().to_string();
    let token = if token.len() > MAX_TOKEN_CHARS { String::new() } else { token };
    let opened =
        crate::service::context::with_request_id(request_id.clone(), state.open_share_link(&token, client)).await;
    if pdf && let Ok(Ok(report)) = opened {
        let name = pdf_name(&report);
        return match pdf_of(report).await {
            Ok(bytes) => Response::builder()
                .status(StatusCode::OK)
                .content_type(PDF)
                .header("Content-Disposition", format!("inline; filename=\"{name}\""))
                .header("Cache-Control", "no-store")
                .header("Referrer-Policy", "no-referrer")
                .header("X-Robots-Tag", "noindex, nofollow")
                .header("X-Content-Type-Options", "nosniff")
                .header("X-Request-Id", request_id)
                .body(bytes),
            Err(error) => {
                tracing::warn!(%request_id, error = %error, "writing a shared report's PDF failed");
                page_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    report_page::closed("The report cannot be shown just now. Please try again in a minute."),
                    request_id,
                )
            }
        };
    }
    let (status, body) = match opened {
        Ok(Ok(report)) => (StatusCode::OK, report_page::render_with_pdf(&report, "?format=pdf")),
        Ok(Err(ClosedLink::Unknown)) => {
            (StatusCode::NOT_FOUND, report_page::closed("There is no report at this address. Check the link."))
        }
        Ok(Err(ClosedLink::Expired)) => (StatusCode::GONE, report_page::closed("This link has expired.")),
        Ok(Err(ClosedLink::Revoked)) => (StatusCode::GONE, report_page::closed("The patient has withdrawn this link.")),
        Err(error) => {
            tracing::warn!(%request_id, error = %error, "opening a share link failed");
            let status = ApiError::from(error).status();
            (status, report_page::closed("The report cannot be shown just now. Please try again in a minute."))
        }
    };
    page_response(status, body, request_id)
}

fn page_response(status: StatusCode, body: String, request_id: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("Cache-Control", "no-store")
        .header("Referrer-Policy", "no-referrer")
        .header("X-Robots-Tag", "noindex, nofollow")
        .header("X-Content-Type-Options", "nosniff")
        .header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
        )
        .header("X-Request-Id", request_id)
        .body(body)
}
