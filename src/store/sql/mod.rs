//! Repository code whose SQL reads the same on SQLite and PostgreSQL (`$n` placeholders,
//! `ON CONFLICT`, `RETURNING`). Each macro expands to an impl for one adapter, with the
//! adapter's concrete pool and row types, so nothing goes through sqlx's `Any` driver.
//!
//! An adapter using these macros provides `self.pool` and `self.begin_write()`.

mod accounts;
mod alerts;
mod care;
mod journal;
mod massage;
mod notifications;

mod sessions;

pub(crate) use accounts::account_repo;
pub(crate) use alerts::alert_repo;
pub(crate) use care::care_repo;
pub(crate) use journal::journal_repo;
pub(crate) use massage::massage_repo;
pub(crate) use notifications::{bind_new_notification, notification_repo};
pub(crate) use sessions::session_repo;
