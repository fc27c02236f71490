//! `/v1/questionnaires`: PEG and Roland-Morris, submitted and trended.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Union};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::ApiTags;
use super::error::{ApiError, ProblemField, Problems, status};
use super::examples;
use super::journal::own_journal;
use super::json::JsonBody;
use super::pagination;
use super::security::BearerAuth;
use super::timestamps::Timestamp;
use crate::domain::ValidationErrors;
use crate::domain::questionnaires::{Peg, RolandMorris};
use crate::domain::rollup::is_meaningful_change;
use crate::service::AppState;
use crate::store::{Principal, QuestionnaireAnswers, QuestionnairePosition, QuestionnaireRecord};

/// PEG: three items about the past week, each 0–10.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(rename = "PegSubmission", example)]
#[serde(deny_unknown_fields)]
pub struct PegBody {
    /// Average pain: 0 = no pain, 10 = pain as bad as you can imagine.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub pain: i64,
    /// Interference with enjoyment of life: 0 = none, 10 = complete.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub enjoyment: i64,
    /// Interference with general activity: 0 = none, 10 = complete.
    #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
    pub activity: i64,
    /// When it was filled in (RFC 3339), from 2000-01-01 up to 10 minutes ahead of the server
    /// clock; default: now.
    pub completed_at: Option<Timestamp>,
}

impl Example for PegBody {
    fn example() -> Self {
        Self { pain: 6, enjoyment: 5, activity: 7, completed_at: None }
    }
}

/// Roland-Morris Disability Questionnaire: 24 statements, each ticked (true) or not.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(rename = "RolandMorrisSubmission", example)]
#[serde(deny_unknown_fields)]
pub struct RolandMorrisBody {
    /// The 24 answers in the questionnaire's order.
    #[oai(validator(min_items = 24, max_items = 24))]
    pub answers: Vec<bool>,
    /// When it was filled in (RFC 3339), from 2000-01-01 up to 10 minutes ahead of the server
    /// clock; default: now.
    pub completed_at: Option<Timestamp>,
}

impl Example for RolandMorrisBody {
    /// Statements 2, 3, 8, 11, 13 and 17 ticked: a score of 6.
    fn example() -> Self {
        let ticked = [2, 3, 8, 11, 13, 17];
        Self { answers: (1..=24).map(|n| ticked.contains(&n)).collect(), completed_at: None }
    }
}

/// A completed questionnaire, chosen by `kind`: `peg` or `roland_morris`.
#[derive(Debug, Clone, Union, Deserialize, Serialize)]
#[oai(rename = "QuestionnaireSubmission", discriminator_name = "kind")]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubmissionBody {
    #[oai(mapping = "peg")]
    Peg(PegBody),
    #[oai(mapping = "roland_morris")]
    RolandMorris(RolandMorrisBody),
}

/// Which questionnaire.
///
/// - `peg`: PEG (pain, enjoyment, general activity), LOINC 91148-7; score 0–10, the mean of
///   the three items.
/// - `roland_morris`: Roland-Morris Disability Questionnaire; score 0–24, the number of ticked
///   statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename = "QuestionnaireKind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum KindBody {
    Peg,
    RolandMorris,
}

impl KindBody {
    fn as_str(self) -> &'static str {
        match self {
            KindBody::Peg => "peg",
            KindBody::RolandMorris => "roland_morris",
        }
    }
}

/// The three PEG answers, each 0–10.
#[derive(Debug, Clone, Object)]
#[oai(rename = "PegAnswers")]
pub struct PegAnswersOut {
    /// Average pain in the past week, 0–10.
    #[oai(validator(maximum(value = "10")))]
    pub pain: u8,
    /// Interference with enjoyment of life, 0–10.
    #[oai(validator(maximum(value = "10")))]
    pub enjoyment: u8,
    /// Interference with general activity, 0–10.
    #[oai(validator(maximum(value = "10")))]
    pub activity: u8,
}

/// A stored questionnaire response and its score.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Questionnaire", example)]
pub struct QuestionnaireBody {
    /// The response's id.
    pub id: Uuid,
    /// Which questionnaire.
    pub kind: KindBody,
    /// PEG: 0–10 (mean of the items); Roland-Morris: 0–24 (ticked statements). Higher is worse.
    #[oai(validator(minimum(value = "0"), maximum(value = "24")))]
    pub score: f64,
    /// The highest possible score: 10 for PEG, 24 for Roland-Morris.
    #[oai(validator(minimum(value = "10"), maximum(value = "24")))]
    pub max_score: f64,
    /// When it was filled in (RFC 3339, UTC).
    pub completed_at: Timestamp,
    /// The PEG answers; `null` for other kinds.
    pub peg: Option<PegAnswersOut>,
    /// The 24 Roland-Morris answers in order; `null` for other kinds.
    #[oai(validator(min_items = 24, max_items = 24))]
    pub roland_morris: Option<Vec<bool>>,
}

impl From<QuestionnaireRecord> for QuestionnaireBody {
    fn from(record: QuestionnaireRecord) -> Self {
        let (kind, max_score, peg, roland_morris) = match &record.answers {
            QuestionnaireAnswers::Peg(p) => (
                KindBody::Peg,
                10.0,
                Some(PegAnswersOut { pain: p.pain, enjoyment: p.enjoyment, activity: p.activity }),
                None,
            ),
            QuestionnaireAnswers::RolandMorris(rm) => (KindBody::RolandMorris, 24.0, None, Some(rm.answers().to_vec())),
        };
        Self {
            id: record.id,
            kind,
            score: record.score,
            max_score,
            completed_at: Timestamp(record.completed_at),
            peg,
            roland_morris,
        }
    }
}

impl Example for QuestionnaireBody {
    fn example() -> Self {
        Self {
            id: examples::id("0196f6d3-4a5b-7c6d-8e7f-9a0b1c2d3e4f"),
            kind: KindBody::Peg,
            score: 5.0,
            max_score: 10.0,
            completed_at: Timestamp(examples::at("2026-11-22T18:05:00Z")),
            peg: Some(PegAnswersOut { pain: 6, enjoyment: 4, activity: 5 }),
            roland_morris: None,
        }
    }
}

/// First and latest score of the responses in the range (over every page).
#[derive(Debug, Clone, Object)]
#[oai(rename = "ScoreTrend")]
pub struct TrendBody {
    /// Score of the oldest response in the range.
    #[oai(validator(minimum(value = "0"), maximum(value = "24")))]
    pub first: f64,
    /// Score of the newest response in the range.
    #[oai(validator(minimum(value = "0"), maximum(value = "24")))]
    pub latest: f64,
    /// Latest minus first, in score points; negative is better for both questionnaires.
    #[oai(validator(minimum(value = "-24"), maximum(value = "24")))]
    pub change: f64,
    /// Roland-Morris: 5 points or more; PEG: 2 points or 30% (as for pain ratings).
    pub meaningful: bool,
}

/// Questionnaire responses and, for one kind, their trend.
#[derive(Debug, Clone, Object)]
#[oai(rename = "QuestionnaireList", example)]
pub struct QuestionnaireList {
    /// Oldest first.
    pub items: Vec<QuestionnaireBody>,
    /// With `kind` and at least two responses in the range (on every page); `null` otherwise.
    pub trend: Option<TrendBody>,
    /// Present when more responses follow; pass as `cursor`.
    pub next_cursor: Option<String>,
}

impl Example for QuestionnaireList {
    fn example() -> Self {
        let earlier = QuestionnaireBody {
            id: examples::id("0196f6d3-0f1e-7d2c-9b3a-4f5e6d7c8b9a"),
            score: 7.0,
            completed_at: Timestamp(examples::at("2026-11-15T18:00:00Z")),
            peg: Some(PegAnswersOut { pain: 7, enjoyment: 7, activity: 7 }),
            ..QuestionnaireBody::example()
        };
        Self {
            items: vec![earlier, QuestionnaireBody::example()],
            trend: Some(trend(KindBody::Peg, (7.0, 5.0))),
            next_cursor: None,
        }
    }
}

#[derive(ApiResponse)]
pub enum Submitted {
    /// Stored (or, with a repeated `Idempotency-Key`, the first submission's result).
    #[oai(status = 201)]
    Created(
        Json<QuestionnaireBody>,
        /// Where the stored response can be read: `/v1/questionnaires/{questionnaire_id}`.
        #[oai(header = "Location")]
        String,
    ),
}

fn trend(kind: KindBody, (first, latest): (f64, f64)) -> TrendBody {
    let change = latest - first;
    let meaningful = match kind {
        KindBody::RolandMorris => change.abs() >= f64::from(RolandMorris::MEANINGFUL_CHANGE),
        KindBody::Peg => is_meaningful_change(first, latest),
    };
    TrendBody { first, latest, change, meaningful }
}

/// `GET …/questionnaires` for the patient's own journal and for a therapist's view.
#[allow(clippy::too_many_arguments)]
pub(super) async fn list_questionnaires(
    state: &AppState,
    principal: &Principal,
    patient_id: Uuid,
    kind: Option<KindBody>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<QuestionnaireList, ApiError> {
    let limit = pagination::limit(limit)?;
    let after = pagination::decode_questionnaire_cursor(cursor)?;
    let from = from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let to = to.unwrap_or_else(|| state.clock.now() + crate::domain::journal::FUTURE_TOLERANCE + TimeDelta::seconds(1));
    let (page, more) =
        state.questionnaires(principal, patient_id, kind.map(KindBody::as_str), from, to, after, limit).await?;
    let next_cursor = more.then(|| page.items.last()).flatten().map(|r| {
        pagination::encode_questionnaire_cursor(QuestionnairePosition { completed_at: r.completed_at, id: r.id })
    });
    let trend = kind.zip(page.first_and_latest).map(|(k, ends)| trend(k, ends));
    Ok(QuestionnaireList { items: page.items.into_iter().map(Into::into).collect(), trend, next_cursor })
}

pub struct QuestionnairesApi;

#[OpenApi(prefix_path = "/v1/questionnaires", tag = "ApiTags::Questionnaires")]
impl QuestionnairesApi {
    /// Submit a questionnaire
    ///
    /// Send an `Idempotency-Key` (any unique string, e.g. a UUID) so a retried submission from
    /// a phone that lost its connection is stored once: the retry gets the first result. The
    /// same key with a different body is refused (422); while the first is still running, 409.
    #[oai(path = "/", method = "post", operation_id = "submitQuestionnaire")]
    async fn submit(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Makes the request safe to retry; kept for 7 days.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 100))]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<SubmissionBody>,
    ) -> Result<Submitted, Problems<{ status::AUTHENTICATED | status::BODY | status::FORBIDDEN | status::CONFLICT }>>
    {
        let hash = format!("{:x}", Sha256::digest(serde_json::to_vec(&body.0).unwrap_or_default()));
        let (answers, completed_at) = match body.0 {
            SubmissionBody::Peg(peg) => {
                let answers = Peg::new(peg.pain, peg.enjoyment, peg.activity).map_err(|errors| {
                    ApiError::Validation(
                        errors
                            .into_iter()
                            .map(|(field, p)| ProblemField {
                                field: field.into(),
                                code: p.code.into(),
                                message: p.message,
                            })
                            .collect(),
                    )
                })?;
                (QuestionnaireAnswers::Peg(answers), peg.completed_at)
            }
            SubmissionBody::RolandMorris(rm) => {
                let answers = RolandMorris::new(&rm.answers)
                    .map_err(|p| ApiError::validation(ValidationErrors::single("answers", p.code, p.message)))?;
                (QuestionnaireAnswers::RolandMorris(answers), rm.completed_at)
            }
        };
        let key = idempotency_key.0.as_deref().map(str::trim).filter(|k| !k.is_empty());
        let me = own_journal(&auth.0)?;
        let (record, _) = state
            .submit_questionnaire(
                &auth.0,
                me,
                answers,
                completed_at.map(|t| t.0.trunc_subsecs(6)),
                key.map(|k| (k, hash)),
            )
            .await?;
        let location = format!("/v1/questionnaires/{}", record.id);
        Ok(Submitted::Created(Json(record.into()), location))
    }

    /// List questionnaires
    ///
    /// Responses oldest first, a page at a time; with `kind`, also the change from the first to
    /// the latest score in the range.
    #[oai(path = "/", method = "get", operation_id = "listQuestionnaires")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only this questionnaire; also adds `trend`.
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
    ) -> Result<Json<QuestionnaireList>, super::journal::Read> {
        let me = own_journal(&auth.0)?;
        let list = list_questionnaires(&state, &auth.0, me, kind.0, from.0, to.0, limit.0, cursor.0.as_deref()).await?;
        Ok(Json(list))
    }

    /// Read a questionnaire
    ///
    /// One stored response with its score, as `POST /v1/questionnaires` answered it (its
    /// `Location`).
    #[oai(path = "/:questionnaire_id", method = "get", operation_id = "getQuestionnaire")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The `id` of the response.
        questionnaire_id: Path<Uuid>,
    ) -> Result<Json<QuestionnaireBody>, Problems<{ status::AUTHENTICATED | status::FORBIDDEN | status::NOT_FOUND }>>
    {
        let me = own_journal(&auth.0)?;
        Ok(Json(state.questionnaire(&auth.0, me, questionnaire_id.0).await?.into()))
    }
}
