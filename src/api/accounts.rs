//! `/v1/accounts` and `/v1/me`: registering, the profile, the password, erasing the account.

use poem::Request;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use super::ApiTags;
use super::error::{ApiError, Problems, status};
use super::json::JsonBody;
use super::security::{BearerAuth, client_address};
use super::timestamps::Timestamp;
use crate::domain::{self, Account, ProfileChanges, ValidationErrors, time};
use crate::service::AppState;
use crate::service::accounts::Registration;

/// What the account is for.
///
/// - `patient`: keeps a pain journal, gets aftercare prompts and alerts, and decides which
///   therapists may read it.
/// - `therapist`: follows the patients who granted access; keeps no journal of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename = "Role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RoleBody {
    /// Keeps a pain journal and receives aftercare prompts.
    Patient,
    /// Follows the patients who granted access.
    Therapist,
}

/// A therapist's profession.
///
/// - `massage_therapist`: massage therapist.
/// - `physiotherapist`: physiotherapist (the one patients are sent to when pain persists).
/// - `other`: another profession, e.g. osteopath or chiropractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename = "Discipline", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DisciplineBody {
    MassageTherapist,
    Physiotherapist,
    Other,
}

impl From<domain::Role> for RoleBody {
    fn from(role: domain::Role) -> Self {
        match role {
            domain::Role::Patient => RoleBody::Patient,
            domain::Role::Therapist => RoleBody::Therapist,
        }
    }
}

impl From<domain::Discipline> for DisciplineBody {
    fn from(discipline: domain::Discipline) -> Self {
        match discipline {
            domain::Discipline::MassageTherapist => DisciplineBody::MassageTherapist,
            domain::Discipline::Physiotherapist => DisciplineBody::Physiotherapist,
            domain::Discipline::Other => DisciplineBody::Other,
        }
    }
}

/// A daily window in local time when only urgent alerts are sent; it may span midnight.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "QuietHours")]
#[serde(deny_unknown_fields)]
pub struct QuietHoursBody {
    /// Local start, 24-hour `HH:MM`.
    #[oai(validator(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: String,
    /// Local end, 24-hour `HH:MM`; must differ from `start`.
    #[oai(validator(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub end: String,
}

/// A new account. Patients leave out `discipline`; therapists must give it.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "Registration", example)]
#[serde(deny_unknown_fields)]
pub struct RegistrationBody {
    /// Email address used to sign in (at most 254 characters); compared without regard to case
    /// and stored in lower case.
    #[oai(validator(min_length = 3, max_length = 254))]
    pub email: String,
    /// 10 to 1024 characters, and not the email address.
    #[oai(validator(min_length = 10, max_length = 1024))]
    pub password: String,
    /// Patient or therapist; cannot be changed later.
    pub role: RoleBody,
    /// Required for therapists; must be absent for patients.
    pub discipline: Option<DisciplineBody>,
    /// Name shown in the app and to the patient's therapists: 1–80 characters, not blank, no
    /// control characters; surrounding spaces are dropped.
    #[oai(validator(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    ))]
    pub display_name: Option<String>,
    /// IANA time zone of the person, e.g. `Europe/Berlin`; reminders and journal days follow it.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub time_zone: String,
    /// When only urgent alerts may be sent. Defaults to 21:30–08:00.
    pub quiet_hours: Option<QuietHoursBody>,
    /// BCP 47 language tag for notification texts, e.g. `en-GB`; defaults to `en`.
    #[oai(validator(max_length = 35, pattern = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"))]
    pub locale: Option<String>,
}

impl Example for RegistrationBody {
    fn example() -> Self {
        Self {
            email: "ana.silva@example.org".into(),
            password: "correct horse battery staple".into(),
            role: RoleBody::Patient,
            discipline: None,
            display_name: Some("Ana".into()),
            time_zone: "Europe/Lisbon".into(),
            quiet_hours: None,
            locale: Some("pt-PT".into()),
        }
    }
}

impl RegistrationBody {
    /// Checks every field and reports all problems together.
    fn parse(self) -> Result<Registration, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", domain::Email::parse(&self.email));
        let password = errors.check("password", domain::Password::parse(&self.password, email.as_ref()));
        let role = match self.role {
            RoleBody::Patient => domain::Role::Patient,
            RoleBody::Therapist => domain::Role::Therapist,
        };
        let discipline = self.discipline.map(|d| match d {
            DisciplineBody::MassageTherapist => domain::Discipline::MassageTherapist,
            DisciplineBody::Physiotherapist => domain::Discipline::Physiotherapist,
            DisciplineBody::Other => domain::Discipline::Other,
        });
        match (role, discipline) {
            (domain::Role::Therapist, None) => errors.add("discipline", "required", "is required for therapists"),
            (domain::Role::Patient, Some(_)) => errors.add("discipline", "not_allowed", "is only for therapists"),
            _ => {}
        }
        let display_name = self.display_name.and_then(|n| errors.check("display_name", domain::DisplayName::parse(&n)));
        let time_zone = errors.check("time_zone", domain::TimeZone::parse(&self.time_zone));
        let quiet_hours = match self.quiet_hours {
            Some(body) => parse_quiet_hours(body, &mut errors),
            None => Some(domain::QuietHours::default()),
        };
        let locale = match self.locale {
            Some(raw) => errors.check("locale", domain::Locale::parse(&raw)),
            None => Some(domain::Locale::default()),
        };
        match (email, password, time_zone, quiet_hours, locale) {
            (Some(email), Some(password), Some(time_zone), Some(quiet_hours), Some(locale)) if errors.is_empty() => {
                Ok(Registration { email, password, role, discipline, display_name, time_zone, quiet_hours, locale })
            }
            _ => Err(errors),
        }
    }
}

fn parse_quiet_hours(body: QuietHoursBody, errors: &mut ValidationErrors) -> Option<domain::QuietHours> {
    let start = errors.check("quiet_hours.start", time::parse_clock_time(&body.start));
    let end = errors.check("quiet_hours.end", time::parse_clock_time(&body.end));
    errors.check("quiet_hours", domain::QuietHours::new(start?, end?))
}

/// Changes to the profile; fields left out stay as they are.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "ProfileUpdate", example)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdateBody {
    /// New display name (1–80 characters, not blank, no control characters), or `null` to
    /// remove it.
    #[oai(validator(
        min_length = 1,
        max_length = 80,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    ))]
    #[serde(default)]
    pub display_name: MaybeUndefined<String>,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub time_zone: Option<String>,
    /// New quiet hours.
    pub quiet_hours: Option<QuietHoursBody>,
    /// BCP 47 language tag, e.g. `en-GB`.
    #[oai(validator(max_length = 35, pattern = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"))]
    pub locale: Option<String>,
}

impl Example for ProfileUpdateBody {
    fn example() -> Self {
        Self {
            display_name: MaybeUndefined::Undefined,
            time_zone: Some("Europe/Madrid".into()),
            quiet_hours: Some(QuietHoursBody { start: "22:00".into(), end: "07:30".into() }),
            locale: None,
        }
    }
}

impl Example for AccountDeletionBody {
    fn example() -> Self {
        Self { password: "correct horse battery staple".into() }
    }
}

impl Example for PasswordChangeBody {
    fn example() -> Self {
        Self {
            current_password: "correct horse battery staple".into(),
            new_password: "a longer passphrase for winter".into(),
        }
    }
}

impl ProfileUpdateBody {
    fn parse(self) -> Result<ProfileChanges, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let display_name = match self.display_name {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(raw) => errors.check("display_name", domain::DisplayName::parse(&raw)).map(Some),
        };
        let changes = ProfileChanges {
            display_name,
            time_zone: self.time_zone.and_then(|raw| errors.check("time_zone", domain::TimeZone::parse(&raw))),
            quiet_hours: self.quiet_hours.and_then(|body| parse_quiet_hours(body, &mut errors)),
            locale: self.locale.and_then(|raw| errors.check("locale", domain::Locale::parse(&raw))),
        };
        errors.finish(|| changes)
    }
}

/// The signed-in person's account.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Profile", example)]
pub struct ProfileBody {
    /// The account id.
    pub id: Uuid,
    /// Sign-in email address, normalised to lower case.
    pub email: String,
    /// Patient or therapist.
    pub role: RoleBody,
    /// The therapist's profession; `null` for patients.
    pub discipline: Option<DisciplineBody>,
    /// Name shown in the app and to the patient's therapists; `null` when not set.
    pub display_name: Option<String>,
    /// IANA time zone name; reminders and journal days follow it.
    pub time_zone: String,
    /// When only urgent alerts are sent.
    pub quiet_hours: QuietHoursBody,
    /// BCP 47 language tag of notification texts.
    pub locale: String,
    /// When the account was registered (RFC 3339, UTC).
    pub created_at: Timestamp,
    /// When the profile last changed (RFC 3339, UTC).
    pub updated_at: Timestamp,
}

impl Example for ProfileBody {
    fn example() -> Self {
        let at = "2026-11-21T09:15:00Z".parse().expect("valid instant");
        Self {
            id: "0196f6b1-1d3c-7a4e-9b2a-5f1e2d3c4b5a".parse().expect("valid uuid"),
            email: "ana.silva@example.org".into(),
            role: RoleBody::Patient,
            discipline: None,
            display_name: Some("Ana".into()),
            time_zone: "Europe/Lisbon".into(),
            quiet_hours: QuietHoursBody { start: "21:30".into(), end: "08:00".into() },
            locale: "pt-PT".into(),
            created_at: at,
            updated_at: at,
        }
    }
}

impl From<Account> for ProfileBody {
    fn from(account: Account) -> Self {
        Self {
            id: account.id,
            email: account.email.to_string(),
            role: account.role.into(),
            discipline: account.discipline.map(Into::into),
            display_name: account.display_name.map(|n| n.as_str().to_owned()),
            time_zone: account.time_zone.name().to_owned(),
            quiet_hours: QuietHoursBody {
                start: time::format_clock_time(account.quiet_hours.start),
                end: time::format_clock_time(account.quiet_hours.end),
            },
            locale: account.locale.as_str().to_owned(),
            created_at: Timestamp(account.created_at),
            updated_at: Timestamp(account.updated_at),
        }
    }
}

/// A new password, proven by the current one.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "PasswordChange", example)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeBody {
    /// The password in use now; a wrong one is refused (422, field `current_password`).
    #[oai(validator(max_length = 1024))]
    pub current_password: String,
    /// 10 to 1024 characters, and not the email address.
    #[oai(validator(min_length = 10, max_length = 1024))]
    pub new_password: String,
}

/// The password, proving that whoever holds the access token may erase the account.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "AccountDeletion", example)]
#[serde(deny_unknown_fields)]
pub struct AccountDeletionBody {
    /// The account's password; a wrong one is refused (422, field `password`) and counts as a
    /// failed sign-in.
    #[oai(validator(max_length = 1024))]
    pub password: String,
}

#[derive(ApiResponse)]
pub enum Registered {
    /// The account was created. Sign in with `POST /v1/auth/token`.
    #[oai(status = 201)]
    Created(
        Json<ProfileBody>,
        /// Where the new account's profile is read once signed in: `/v1/me`.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done; nothing to return.
    #[oai(status = 204)]
    NoContent,
}

pub struct AccountsApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Register
    ///
    /// Creates a patient or therapist account. Rate-limited per client address.
    #[oai(path = "/accounts", method = "post", operation_id = "register")]
    async fn register(
        &self,
        state: Data<&AppState>,
        request: &Request,
        body: JsonBody<RegistrationBody>,
    ) -> Result<Registered, Problems<{ status::ALWAYS | status::BODY | status::CONFLICT | status::TOO_MANY_REQUESTS }>>
    {
        let registration = body.0.parse().map_err(ApiError::validation)?;
        let client = client_address(request, state.settings.server.trust_forwarded_for);
        let account = state.register(registration, client).await?;
        Ok(Registered::Created(Json(account.into()), "/v1/me".into()))
    }

    /// Read my profile
    ///
    /// The signed-in account: role, display name, time zone, quiet hours and locale.
    #[oai(path = "/me", method = "get", operation_id = "getProfile")]
    async fn profile(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<ProfileBody>, Problems<{ status::AUTHENTICATED }>> {
        Ok(Json(state.profile(&auth.0).await?.into()))
    }

    /// Update my profile
    ///
    /// Changes the display name, time zone, quiet hours or locale. Fields left out are kept.
    #[oai(path = "/me", method = "patch", operation_id = "updateProfile")]
    async fn update_profile(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<ProfileUpdateBody>,
    ) -> Result<Json<ProfileBody>, Problems<{ status::AUTHENTICATED | status::BODY }>> {
        let changes = body.0.parse().map_err(ApiError::validation)?;
        Ok(Json(state.update_profile(&auth.0, changes).await?.into()))
    }

    /// Delete my account
    ///
    /// Erases the account and everything tied to it, and ends every session. This cannot be undone.
    /// Needs the password, like a password change: wrong passwords count as failed sign-ins of
    /// the account, and are limited alike (429 with `Retry-After`).
    #[oai(path = "/me", method = "delete", operation_id = "deleteAccount")]
    async fn delete_account(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<AccountDeletionBody>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::BODY | status::TOO_MANY_REQUESTS }>> {
        state.delete_account(&auth.0, &body.0.password).await?;
        Ok(Done::NoContent)
    }

    /// Change my password
    ///
    /// Needs the current password. Every other device session is ended; this one stays signed in.
    /// Wrong current passwords count as failed sign-ins of the account, and are limited alike
    /// (429 with `Retry-After`).
    #[oai(path = "/me/password", method = "post", operation_id = "changePassword")]
    async fn change_password(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<PasswordChangeBody>,
    ) -> Result<Done, Problems<{ status::AUTHENTICATED | status::BODY | status::TOO_MANY_REQUESTS }>> {
        state.change_password(&auth.0, &body.0.current_password, &body.0.new_password).await?;
        Ok(Done::NoContent)
    }
}
