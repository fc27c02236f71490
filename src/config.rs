//! Settings: `config/default.toml` (compiled in) < an optional file < environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::ValidationErrors;
use crate::domain::alerts::AlertThresholds;

pub const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub log: LogSettings,
    pub maintenance: MaintenanceSettings,
    pub push: PushSettings,
    pub dispatcher: DispatcherSettings,
    pub care: CareSettings,
    pub alerts: AlertsSettings,
    pub screening: ScreeningSettings,
}

/// The health screen behind the contraindication screen and the aftercare plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningSettings {
    /// An answer confirmed longer ago than this many days no longer counts: the session
    /// response lists it as stale, to be asked again.
    pub answer_max_age_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    pub shutdown_grace_seconds: u64,
    pub shutdown_drain_ms: u64,
    pub trust_forwarded_for: bool,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_seconds: u64,
    pub outage_probe_ms: u64,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: String,
    pub key_prefix: String,
    pub response_timeout_ms: u64,
    pub connection_timeout_ms: u64,
    /// PEM file of the CA that signed the Redis server's certificate (`rediss://` only); empty:
    /// the system's trust store.
    pub ca_cert_file: String,
    pub retry_after_failure_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub access_token_ttl_seconds: u64,
    pub refresh_token_idle_days: u64,
    pub session_max_days: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub login_failures_per_account: u32,
    pub login_failures_per_address: u32,
    pub login_window_seconds: u64,
    pub registrations_per_address: u32,
    pub registration_window_seconds: u64,
    pub invite_failures_per_account: u32,
    pub invite_failures_per_address: u32,
    pub invite_window_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSettings {
    pub purge_interval_seconds: u64,
}

/// Web Push sending. The defaults suit the embedded deployment except `vapid_subject`, which
/// must name a real contact before notifications reach Apple devices.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushSettings {
    pub vapid_private_key: String,
    pub vapid_private_key_file: PathBuf,
    pub vapid_subject: String,
    pub allowed_hosts: Vec<String>,
    pub allow_loopback: bool,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub max_attempts: u32,
    pub backoff_base_seconds: u64,
    pub backoff_max_seconds: u64,
}

impl PushSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

impl std::fmt::Debug for PushSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = if self.vapid_private_key.is_empty() { "" } else { "***" };
        f.debug_struct("PushSettings")
            .field("vapid_private_key", &key)
            .field("vapid_private_key_file", &self.vapid_private_key_file)
            .field("vapid_subject", &self.vapid_subject)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allow_loopback", &self.allow_loopback)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base_seconds", &self.backoff_base_seconds)
            .field("backoff_max_seconds", &self.backoff_max_seconds)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatcherSettings {
    pub enabled: bool,
    pub batch_size: u32,
    pub max_in_flight: usize,
    pub lease_seconds: u64,
    pub idle_poll_seconds: u64,
    pub planner_interval_seconds: u64,
    pub shutdown_grace_seconds: u64,
    pub origin_share_percent: u64,
    pub origin_breaker_timeouts: u32,
    pub origin_breaker_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareSettings {
    pub invite_ttl_days: u64,
    pub caseload_window_days: u32,
}

/// The alert sweep, and the thresholds of the alert rules and their lifecycle: every key of
/// [`AlertThresholds`], in the same `[alerts]` section (see `config/default.toml` for what each
/// means).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSettings {
    pub sweep_interval_seconds: u64,
    /// Journal changes without a red-flag symptom are evaluated by the background evaluator.
    pub background_evaluation: bool,
    /// How often the background evaluator looks for marks it was not woken for.
    pub evaluation_poll_seconds: u64,
    pub symptom_lookback_days: u32,
    pub persistent_window_days: u32,
    pub persistent_min_logged_days: u32,
    pub persistent_min_daily_max: u8,
    pub persistent_min_share_percent: u8,
    pub persistent_improvement_points: u8,
    pub persistent_improvement_percent: u8,
    pub worsening_min_rise_points: u8,
    pub worsening_min_logged_days_per_week: u32,
    pub severe_window_days: u32,
    pub severe_min_days: u32,
    pub severe_min_daily_max: u8,
    pub followup_min_hours_after: u8,
    pub followup_min_soreness: u8,
    pub followup_soreness_above_pain_before: u8,
    pub auto_resolve_clear_days: u32,
    pub renotify_cooldown_days: u32,
    pub min_logged_days_per_week: u32,
    pub emergency_repeat_hours: Vec<u32>,
    /// How long a push service keeps a patient's emergency or urgent push (and a therapist's
    /// copy) for a phone that is off: the clinical window, not an hour.
    pub red_flag_ttl_hours: u32,
    /// Other alerts' notifications wait this long (and for the end of quiet hours), so that an
    /// alert that later-synced entries cancel is withdrawn before anyone is told.
    pub notify_settle_minutes: u32,
    /// A client with an open alert or recent pain at `no_entries_min_pain` or more who has not
    /// written for this many days is flagged in their therapists' caseload.
    pub no_entries_flag_days: u32,
    pub no_entries_min_pain: u8,
}

impl AlertsSettings {
    pub fn thresholds(&self) -> AlertThresholds {
        AlertThresholds {
            symptom_lookback_days: self.symptom_lookback_days,
            persistent_window_days: self.persistent_window_days,
            persistent_min_logged_days: self.persistent_min_logged_days,
            persistent_min_daily_max: self.persistent_min_daily_max,
            persistent_min_share_percent: self.persistent_min_share_percent,
            persistent_improvement_points: self.persistent_improvement_points,
            persistent_improvement_percent: self.persistent_improvement_percent,
            worsening_min_rise_points: self.worsening_min_rise_points,
            worsening_min_logged_days_per_week: self.worsening_min_logged_days_per_week,
            severe_window_days: self.severe_window_days,
            severe_min_days: self.severe_min_days,
            severe_min_daily_max: self.severe_min_daily_max,
            followup_min_hours_after: self.followup_min_hours_after,
            followup_min_soreness: self.followup_min_soreness,
            followup_soreness_above_pain_before: self.followup_soreness_above_pain_before,
            auto_resolve_clear_days: self.auto_resolve_clear_days,
            renotify_cooldown_days: self.renotify_cooldown_days,
            min_logged_days_per_week: self.min_logged_days_per_week,
            emergency_repeat_hours: self.emergency_repeat_hours.clone(),
        }
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_seconds)
    }

    pub fn evaluation_poll(&self) -> Duration {
        Duration::from_secs(self.evaluation_poll_seconds)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {}", describe(.0))]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: setting `{setting}` {problem}")]
    Invalid { setting: &'static str, problem: String },
    /// Alert thresholds that would make a rule fire always, never, or on overlapping weeks.
    #[error("configuration: {}", describe_alerts(.0))]
    Alerts(ValidationErrors),
}

fn describe_alerts(errors: &ValidationErrors) -> String {
    let problems = errors.errors().iter().map(|e| format!("setting `alerts.{}` {}", e.field, e.message));
    problems.collect::<Vec<_>>().join("; ")
}

/// One line per bad setting, naming it the way config/default.toml does, and where it came from.
fn describe(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|e| {
            let setting = e.path.join(".").to_lowercase();
            let source = e.metadata.as_ref().map(|m| format!(" (from {})", m.name)).unwrap_or_default();
            if setting.is_empty() {
                format!("{}{source}", e.kind)
            } else {
                format!("setting `{setting}`: {}{source}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Settings {
    /// Only the compiled-in defaults, ignoring the environment.
    pub fn defaults() -> Figment {
        Figment::from(Toml::string(DEFAULTS))
    }

    /// The layered sources, before extraction; tests merge their own values on top.
    pub fn figment(config_file: Option<PathBuf>) -> Figment {
        let mut figment = Self::defaults();
        if let Some(path) = config_file.or_else(|| std::env::var_os("AFTERCARE_CONFIG").map(PathBuf::from)) {
            figment = figment.merge(Toml::file_exact(path));
        }
        for (var, key) in [("DATABASE_URL", "database.url"), ("REDIS_URL", "redis.url")] {
            if let Ok(value) = std::env::var(var) {
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        figment.merge(Env::prefixed("AFTERCARE__").split("__"))
    }

    pub fn load(config_file: Option<PathBuf>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(config_file))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let positive: Vec<(&'static str, u64)> = vec![
            ("dispatcher.batch_size", self.dispatcher.batch_size.into()),
            ("dispatcher.max_in_flight", self.dispatcher.max_in_flight as u64),
            ("dispatcher.lease_seconds", self.dispatcher.lease_seconds),
            ("dispatcher.idle_poll_seconds", self.dispatcher.idle_poll_seconds),
            ("dispatcher.planner_interval_seconds", self.dispatcher.planner_interval_seconds),
            ("server.max_body_bytes", self.server.max_body_bytes as u64),
            ("database.max_connections", self.database.max_connections.into()),
            ("database.acquire_timeout_seconds", self.database.acquire_timeout_seconds),
            ("auth.access_token_ttl_seconds", self.auth.access_token_ttl_seconds),
            ("auth.refresh_token_idle_days", self.auth.refresh_token_idle_days),
            ("auth.session_max_days", self.auth.session_max_days),
            ("rate_limit.login_window_seconds", self.rate_limit.login_window_seconds),
            ("rate_limit.registration_window_seconds", self.rate_limit.registration_window_seconds),
            ("maintenance.purge_interval_seconds", self.maintenance.purge_interval_seconds),
            ("auth.argon2_iterations", self.auth.argon2_iterations.into()),
            ("push.connect_timeout_ms", self.push.connect_timeout_ms),
            ("push.request_timeout_ms", self.push.request_timeout_ms),
            ("push.max_attempts", self.push.max_attempts.into()),
            ("push.backoff_base_seconds", self.push.backoff_base_seconds),
            ("push.backoff_max_seconds", self.push.backoff_max_seconds),
            ("rate_limit.invite_window_seconds", self.rate_limit.invite_window_seconds),
            ("care.invite_ttl_days", self.care.invite_ttl_days),
            ("care.caseload_window_days", self.care.caseload_window_days.into()),
            ("alerts.sweep_interval_seconds", self.alerts.sweep_interval_seconds),
            ("alerts.evaluation_poll_seconds", self.alerts.evaluation_poll_seconds),
            ("screening.answer_max_age_days", self.screening.answer_max_age_days.into()),
            // A push that expires at once never reaches a phone that is off.
            ("alerts.red_flag_ttl_hours", self.alerts.red_flag_ttl_hours.into()),
            ("alerts.no_entries_flag_days", self.alerts.no_entries_flag_days.into()),
            // A limit of 0 would refuse every sign-in, registration or invite for everyone.
            ("rate_limit.login_failures_per_account", self.rate_limit.login_failures_per_account.into()),
            ("rate_limit.login_failures_per_address", self.rate_limit.login_failures_per_address.into()),
            ("rate_limit.registrations_per_address", self.rate_limit.registrations_per_address.into()),
            ("rate_limit.invite_failures_per_account", self.rate_limit.invite_failures_per_account.into()),
            ("rate_limit.invite_failures_per_address", self.rate_limit.invite_failures_per_address.into()),
            // A zero time-out would fail every Redis call, which silently turns rate limits off.
            ("redis.response_timeout_ms", self.redis.response_timeout_ms),
            ("redis.connection_timeout_ms", self.redis.connection_timeout_ms),
            ("redis.retry_after_failure_ms", self.redis.retry_after_failure_ms),
            ("database.outage_probe_ms", self.database.outage_probe_ms),
            ("dispatcher.origin_share_percent", self.dispatcher.origin_share_percent),
            ("dispatcher.origin_breaker_timeouts", self.dispatcher.origin_breaker_timeouts.into()),
            ("dispatcher.origin_breaker_seconds", self.dispatcher.origin_breaker_seconds),
        ];
        for (setting, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid { setting, problem: "must be greater than zero".into() });
            }
        }
        // Lifetimes far beyond any sensible value would overflow the date arithmetic at sign-in.
        let at_most: [(&'static str, u64, u64); 5] = [
            ("auth.access_token_ttl_seconds", self.auth.access_token_ttl_seconds, 86_400),
            ("auth.refresh_token_idle_days", self.auth.refresh_token_idle_days, 3650),
            ("auth.session_max_days", self.auth.session_max_days, 3650),
            ("server.shutdown_grace_seconds", self.server.shutdown_grace_seconds, 3600),
            ("dispatcher.origin_share_percent", self.dispatcher.origin_share_percent, 100),
        ];
        for (setting, value, limit) in at_most {
            if value > limit {
                return Err(ConfigError::Invalid { setting, problem: format!("must be at most {limit}") });
            }
        }
        if self.care.caseload_window_days > 366 {
            return Err(ConfigError::Invalid {
                setting: "care.caseload_window_days",
                problem: "must be at most 366".into(),
            });
        }
        if self.care.invite_ttl_days > 365 {
            return Err(ConfigError::Invalid {
                setting: "care.invite_ttl_days",
                problem: "must be at most 365".into(),
            });
        }
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid {
                setting: "database.url",
                problem: "must start with sqlite:, postgres:// or postgresql://".into(),
            });
        }
        let redis = &self.redis.url;
        if !(redis.is_empty() || redis.starts_with("redis://") || redis.starts_with("rediss://")) {
            return Err(ConfigError::Invalid {
                setting: "redis.url",
                problem: "must be empty or start with redis:// or rediss://".into(),
            });
        }
        if !self.redis.ca_cert_file.is_empty() && !redis.starts_with("rediss://") {
            return Err(ConfigError::Invalid {
                setting: "redis.ca_cert_file",
                problem: "needs a rediss:// redis.url (the certificate is only used for TLS)".into(),
            });
        }
        if argon2::Params::new(
            self.auth.argon2_memory_kib,
            self.auth.argon2_iterations,
            self.auth.argon2_parallelism,
            None,
        )
        .is_err()
        {
            return Err(ConfigError::Invalid {
                setting: "auth.argon2_memory_kib",
                problem: "with argon2_iterations and argon2_parallelism is not a valid Argon2 cost".into(),
            });
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(ConfigError::Invalid { setting: "log.level", problem: "is not a valid log filter".into() });
        }
        self.validate_push()?;
        self.alerts.thresholds().validate().map_err(ConfigError::Alerts)
    }

    fn validate_push(&self) -> Result<(), ConfigError> {
        let push = &self.push;
        let invalid = |setting, problem: String| Err(ConfigError::Invalid { setting, problem });
        if push.vapid_private_key.is_empty() {
            if push.vapid_private_key_file.as_os_str().is_empty() {
                return invalid(
                    "push.vapid_private_key_file",
                    "must be set when push.vapid_private_key is empty".into(),
                );
            }
        } else if let Err(problem) = crate::push::VapidKeys::parse(&push.vapid_private_key) {
            return invalid(
                "push.vapid_private_key",
                format!(
                    "is not a P-256 private key ({problem}): give it as base64url (from `aftercare vapid-keygen`) \
                     or as PKCS#8 or SEC1 PEM"
                ),
            );
        }
        if let Err(problem) = crate::push::VapidSubject::parse(&push.vapid_subject) {
            return invalid("push.vapid_subject", problem);
        }
        if push.allowed_hosts.is_empty() {
            return invalid("push.allowed_hosts", "must list at least one push service host".into());
        }
        if let Err(problem) = crate::push::EndpointPolicy::new(&push.allowed_hosts, push.allow_loopback) {
            return invalid("push.allowed_hosts", problem);
        }
        if push.backoff_max_seconds < push.backoff_base_seconds {
            return invalid("push.backoff_max_seconds", "must not be less than push.backoff_base_seconds".into());
        }
        let longest_send_ms = push.connect_timeout_ms.saturating_add(push.request_timeout_ms);
        if self.dispatcher.lease_seconds.saturating_mul(1000) <= longest_send_ms {
            return invalid(
                "dispatcher.lease_seconds",
                format!(
                    "must be longer than push.connect_timeout_ms + push.request_timeout_ms ({longest_send_ms} ms): \
                     a send still waiting on its push service would be taken over by another dispatcher and sent twice"
                ),
            );
        }
        Ok(())
    }

    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.auth.access_token_ttl_seconds)
    }
}

/// Shows a connection URL with its password replaced, fit for logs: in the user part and in a
/// `password` query parameter (which sqlx also accepts).
/// Connections that would carry health data or credentials in the clear over a network: a
/// PostgreSQL URL off this machine without `sslmode=require`, `verify-ca` or `verify-full`, and
/// a `redis://` URL off this machine. Warned about at start-up; loopback is left alone.
pub fn plaintext_connections(settings: &Settings) -> Vec<&'static str> {
    let mut found = Vec::new();
    let off_machine = |url: &url::Url| match url.host() {
        // Hosts of non-special schemes (postgres:, redis:) stay text, addresses included.
        Some(url::Host::Domain(name)) => match name.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
            Ok(ip) => !ip.is_loopback(),
            Err(_) => !name.eq_ignore_ascii_case("localhost"),
        },
        Some(url::Host::Ipv4(ip)) => !ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => !ip.is_loopback(),
        // A Unix socket.
        None => false,
    };
    if let Ok(url) = url::Url::parse(&settings.database.url)
        && matches!(url.scheme(), "postgres" | "postgresql")
        && off_machine(&url)
    {
        let mode =
            url.query_pairs().find(|(key, _)| key == "sslmode" || key == "ssl-mode").map(|(_, v)| v.into_owned());
        if !matches!(mode.as_deref(), Some("require" | "verify-ca" | "verify-full")) {
            found.push("database.url");
        }
    }
    if let Ok(url) = url::Url::parse(&settings.redis.url)
        && url.scheme() == "redis"
        && off_machine(&url)
    {
        found.push("redis.url");
    }
    found
}

pub fn redact_url(raw: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(raw) else { return "<unparseable url>".to_owned() };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(key, _)| key.eq_ignore_ascii_case("password")) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key.eq_ignore_ascii_case("password") { "***".to_owned() } else { value.into_owned() };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_seconds", &self.acquire_timeout_seconds)
            .finish()
    }
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("ca_cert_file", &self.ca_cert_file)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its large error type
mod tests {
    use super::*;

    fn with(key: &str, value: impl Serialize) -> Result<Settings, ConfigError> {
        Settings::from_figment(Settings::defaults().merge(Serialized::default(key, value)))
    }

    #[test]
    fn plaintext_connections_off_this_machine_are_named() {
        let both = |db: &str, redis: &str| {
            let settings = Settings::from_figment(
                Settings::defaults()
                    .merge(Serialized::default("database.url", db))
                    .merge(Serialized::default("redis.url", redis)),
            )
            .unwrap();
            plaintext_connections(&settings)
        };
        assert_eq!(both("postgres://db.internal/app", "redis://cache.internal"), ["database.url", "redis.url"]);
        assert_eq!(both("postgres://db.internal/app?sslmode=prefer", ""), ["database.url"]);
        assert!(both("postgres://db.internal/app?sslmode=verify-full", "rediss://cache.internal").is_empty());
        assert!(both("postgres://db.internal/app?sslmode=require", "").is_empty());
        assert!(both("postgres://127.0.0.1/app", "redis://localhost:6379").is_empty());
        assert!(both("sqlite://data/aftercare.db", "redis://[::1]:6379").is_empty());
    }

    #[test]
    fn a_redis_ca_needs_a_tls_url() {
        let err = with("redis.ca_cert_file", "/etc/ssl/redis-ca.pem").unwrap_err().to_string();
        assert!(err.contains("redis.ca_cert_file"), "{err}");
        let settings = Settings::from_figment(
            Settings::defaults()
                .merge(Serialized::default("redis.url", "rediss://cache.internal:6380"))
                .merge(Serialized::default("redis.ca_cert_file", "/etc/ssl/redis-ca.pem")),
        );
        assert!(settings.is_ok());
    }

    #[test]
    fn defaults_file_holds_every_setting() {
        // deny_unknown_fields and no serde defaults: the file and the struct must match exactly.
        let settings = Settings::from_figment(Settings::defaults()).unwrap();
        assert_eq!(settings.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database.url, "sqlite://data/aftercare.db");
        assert_eq!(settings.auth.access_token_ttl_seconds, 3600);
        assert!(!settings.push.allow_loopback);
        assert_eq!(settings.push.allowed_hosts, crate::push::DEFAULT_ALLOWED_HOSTS, "one list of push services");
    }

    #[test]
    fn the_alert_thresholds_in_the_file_are_the_rules_defaults() {
        let settings = Settings::from_figment(Settings::defaults()).unwrap();
        assert_eq!(settings.alerts.thresholds(), AlertThresholds::default());
        assert_eq!(settings.alerts.sweep_interval_seconds, 900);
        // Every key of the thresholds is written out in the file, none left to a default.
        let section = Settings::defaults().find_value("alerts").unwrap();
        let mut written: Vec<&str> = section.as_dict().unwrap().keys().map(String::as_str).collect();
        let mut expected: Vec<String> = match serde_json::to_value(AlertThresholds::default()).unwrap() {
            serde_json::Value::Object(keys) => keys.into_iter().map(|(k, _)| k).collect(),
            other => panic!("{other}"),
        };
        for delivery in [
            "sweep_interval_seconds",
            "background_evaluation",
            "evaluation_poll_seconds",
            "red_flag_ttl_hours",
            "notify_settle_minutes",
            "no_entries_flag_days",
            "no_entries_min_pain",
        ] {
            expected.push(delivery.into());
        }
        written.sort_unstable();
        expected.sort_unstable();
        assert_eq!(written, expected);
    }

    #[test]
    fn alert_settings_are_checked_and_named() {
        let err = with("alerts.persistent_window_days", 10).unwrap_err().to_string();
        assert!(err.contains("setting `alerts.persistent_window_days` must be from 14 to 366"), "{err}");
        let err = with("alerts.followup_min_soreness", 11).unwrap_err().to_string();
        assert!(err.contains("alerts.followup_min_soreness"), "{err}");
        let err = with("alerts.sweep_interval_seconds", 0).unwrap_err().to_string();
        assert!(err.contains("alerts.sweep_interval_seconds"), "{err}");
        let err = with("alerts.renotify_cooldown_day", 3).unwrap_err().to_string();
        assert!(err.contains("renotify_cooldown_day"), "{err}");
        let err = with("alerts.auto_resolve_clear_days", "a week").unwrap_err().to_string();
        assert!(err.contains("alerts.auto_resolve_clear_days"), "{err}");
        let settings = with("alerts.renotify_cooldown_days", 3).unwrap();
        assert_eq!(settings.alerts.thresholds().renotify_cooldown_days, 3);
    }

    #[test]
    fn push_settings_are_checked_and_named() {
        let cases: [(&str, serde_json::Value); 9] = [
            ("push.vapid_subject", "support@aftercare.example".into()),
            ("push.vapid_subject", "mailto:support@aftercare.invalid".into()),
            ("push.vapid_subject", "http://aftercare.example/contact".into()),
            ("push.vapid_private_key", "not-a-key".into()),
            ("push.allowed_hosts", serde_json::json!([])),
            ("push.allowed_hosts", serde_json::json!(["*.com"])),
            ("push.allowed_hosts", serde_json::json!(["10.0.0.1"])),
            ("push.request_timeout_ms", 0.into()),
            ("push.max_attempts", 0.into()),
        ];
        for (setting, value) in cases {
            let err = with(setting, &value).unwrap_err().to_string();
            assert!(err.contains(setting), "{setting} = {value}: {err}");
        }
        let settings = Settings::from_figment(
            Settings::defaults()
                .merge(Serialized::default("push.backoff_base_seconds", 60))
                .merge(Serialized::default("push.backoff_max_seconds", 30)),
        );
        assert!(settings.unwrap_err().to_string().contains("push.backoff_max_seconds"));
        assert!(with("push.vapid_subject", "https://aftercare.example/contact").is_ok());
    }

    #[test]
    fn the_vapid_private_key_may_be_pem_and_a_bad_one_is_named() {
        let keys = crate::push::VapidKeys::generate();
        let pem = {
            use p256::pkcs8::EncodePrivateKey as _;
            let secret = p256::SecretKey::from_slice(
                &base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    keys.private_key_base64url(),
                )
                .unwrap(),
            )
            .unwrap();
            secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap().to_string()
        };
        assert!(with("push.vapid_private_key", &pem).is_ok());
        let damaged = pem.replacen("MIGHAgEA", "MIGHAgEF", 1);
        let err = with("push.vapid_private_key", &damaged).unwrap_err().to_string();
        assert!(err.contains("setting `push.vapid_private_key`") && err.contains("PKCS#8"), "{err}");
        assert!(!err.contains(pem.lines().nth(1).unwrap()), "the key is not echoed: {err}");
        let err = with("push.vapid_private_key", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
            .unwrap_err()
            .to_string();
        assert!(err.contains("setting `push.vapid_private_key`") && err.contains("SEC1"), "{err}");
    }

    #[test]
    fn a_lease_must_outlast_the_longest_send() {
        let settings = |lease: u64, connect: u64, request: u64| {
            Settings::from_figment(
                Settings::defaults()
                    .merge(Serialized::default("dispatcher.lease_seconds", lease))
                    .merge(Serialized::default("push.connect_timeout_ms", connect))
                    .merge(Serialized::default("push.request_timeout_ms", request)),
            )
        };
        let err = settings(20, 5000, 15000).unwrap_err().to_string();
        assert!(err.contains("setting `dispatcher.lease_seconds`") && err.contains("20000 ms"), "{err}");
        let err = settings(120, 5000, 120_000).unwrap_err().to_string();
        assert!(err.contains("dispatcher.lease_seconds"), "{err}");
        assert!(settings(21, 5000, 15000).is_ok());
        assert!(settings(120, 5000, 15000).is_ok(), "the defaults");
    }

    #[test]
    fn the_vapid_private_key_stays_out_of_logs() {
        let key = crate::push::VapidKeys::generate().private_key_base64url();
        let settings = with("push.vapid_private_key", &key).unwrap();
        assert!(!format!("{settings:?}").contains(&key));
    }

    #[test]
    fn a_bad_value_names_the_setting() {
        let err = with("auth.access_token_ttl_seconds", "soon").unwrap_err().to_string();
        assert!(err.contains("access_token_ttl_seconds"), "{err}");
        let err = with("server.bind", "not an address").unwrap_err().to_string();
        assert!(err.contains("server.bind"), "{err}");
        let err = with("database.url", "mysql://x").unwrap_err().to_string();
        assert!(err.contains("database.url"), "{err}");
        let err = with("log.format", "xml").unwrap_err().to_string();
        assert!(err.contains("log.format"), "{err}");
        let err = with("auth.session_max_days", 0).unwrap_err().to_string();
        assert!(err.contains("auth.session_max_days"), "{err}");
        let err = with("auth.session_max_days", 1_000_000_000_u64).unwrap_err().to_string();
        assert!(err.contains("auth.session_max_days"), "{err}");
        let err = with("rate_limit.login_failures_per_account", 0).unwrap_err().to_string();
        assert!(err.contains("rate_limit.login_failures_per_account"), "{err}");
        let err = with("redis.response_timeout_ms", 0).unwrap_err().to_string();
        assert!(err.contains("redis.response_timeout_ms"), "{err}");
    }

    #[test]
    fn the_environment_overrides_the_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AFTERCARE__SERVER__BIND", "0.0.0.0:9000");
            jail.set_env("AFTERCARE__AUTH__ACCESS_TOKEN_TTL_SECONDS", "600");
            jail.set_env("DATABASE_URL", "postgres://db.internal/aftercare");
            jail.set_env("REDIS_URL", "redis://cache.internal:6379/0");
            let settings = Settings::load(None).expect("valid settings");
            assert_eq!(settings.server.bind.to_string(), "0.0.0.0:9000");
            assert_eq!(settings.auth.access_token_ttl_seconds, 600);
            assert_eq!(settings.database.url, "postgres://db.internal/aftercare");
            assert_eq!(settings.redis.url, "redis://cache.internal:6379/0");

            // The prefixed variable is more specific and wins over DATABASE_URL.
            jail.set_env("AFTERCARE__DATABASE__URL", "sqlite://other.db");
            assert_eq!(Settings::load(None).unwrap().database.url, "sqlite://other.db");

            jail.set_env("AFTERCARE__AUTH__ACCESS_TOKEN_TTL_SECONDS", "soon");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("access_token_ttl_seconds"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_config_file_overrides_the_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("site.toml", "[server]\nmax_body_bytes = 1024\n")?;
            let settings = Settings::load(Some("site.toml".into())).expect("valid settings");
            assert_eq!(settings.server.max_body_bytes, 1024);
            assert!(Settings::load(Some("missing.toml".into())).is_err());
            Ok(())
        });
    }

    #[test]
    fn an_unknown_setting_is_refused() {
        let err = with("auth.sesion_max_days", 3).unwrap_err().to_string();
        assert!(err.contains("sesion_max_days"), "{err}");
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        let shown = redact_url("postgres://app:hunter2hunter2@db.internal:5432/aftercare");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
        let settings = with("database.url", "postgres://app:s3cret-pass@db/aftercare").unwrap();
        assert!(!format!("{settings:?}").contains("s3cret-pass"));
        let shown = redact_url("postgres://db.internal/aftercare?user=app&password=hunter2hunter2&sslmode=require");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("sslmode=require") && shown.contains("user=app"), "{shown}");
        let settings = with("redis.url", "redis://:r3dis-secret@cache:6379/0").unwrap();
        assert!(!format!("{settings:?}").contains("r3dis-secret"));
    }
}
