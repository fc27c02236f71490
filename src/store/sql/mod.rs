//! Repository code whose SQL reads the same on SQLite and PostgreSQL (`$n` placeholders,
//! `ON CONFLICT`, `RETURNING`). Each macro expands to an impl for one adapter, with the
//! adapter's concrete pool and row types, so nothing goes through sqlx's `Any` driver.
//!
//! An adapter using these macros provides `self.pool` (for reads), `self.writer()` (the pool every
//! write goes through; on SQLite a single connection) and `self.begin_write()` (a transaction on
//! it). Code holding a writer connection or transaction must not ask for another one.

mod accounts;
mod alerts;
mod care;
mod journal;
mod massage;
mod notes;
mod notifications;
mod rate_limits;
mod sessions;
mod share_links;

pub(crate) use accounts::account_repo;
pub(crate) use alerts::alert_repo;
pub(crate) use care::care_repo;
pub(crate) use journal::journal_repo;
pub(crate) use massage::massage_repo;
pub(crate) use notes::note_repo;
pub(crate) use notifications::{bind_new_notification, notification_repo};
pub(crate) use rate_limits::rate_limit_repo;
pub(crate) use sessions::session_repo;
pub(crate) use share_links::share_link_repo;

/// The condition under which a therapist's copy of a client's alert may go out, as a subquery
/// over the `notifications` row: a live grant (not ended, not expired at `$1`) from that client
/// whose scopes match `$2` (the `receive_alerts` pattern). The same rule as `care_repo!`'s.
macro_rules! alert_consent_live {
    () => {
        "SELECT 1 FROM care_grants g
         WHERE g.therapist_id = notifications.account_id AND g.patient_id = notifications.about_patient_id
           AND g.ended_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $1) AND g.scopes LIKE $2"
    };
}
pub(crate) use alert_consent_live;
