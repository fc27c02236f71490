//! Seeding shared by the API tests (`tests/api`), the benchmark harness (`benches/service.rs`) and
//! the bench tool (`examples/bench.rs`), each of which includes this file as a module: patients
//! and journal entries written straight to the store, without hashing a password or going
//! through HTTP. None of it is part of the library.
#![allow(dead_code)]

use std::sync::Arc;

use aftercare::domain::journal::{EntryContent, Score, Symptom};
use aftercare::domain::{Account, DisplayName, Email, Locale, QuietHours, Role, TimeZone};
use aftercare::store::{NewAccount, Store};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use uuid::Uuid;

/// The zones seeded populations rotate through.
pub const ZONES: [&str; 3] = ["Europe/Berlin", "America/New_York", "Asia/Tokyo"];

/// A patient account as sign-up makes it, with a password hash no password matches.
pub fn patient(email: &str, time_zone: TimeZone, display_name: Option<&str>, now: DateTime<Utc>) -> NewAccount {
    let account = Account {
        id: Uuid::now_v7(),
        email: Email::parse(email).expect("a valid email"),
        role: Role::Patient,
        discipline: None,
        display_name: display_name.map(|name| DisplayName::parse(name).expect("a valid name")),
        time_zone,
        quiet_hours: QuietHours::default(),
        locale: Locale::default(),
        created_at: now,
        updated_at: now,
    };
    NewAccount { account, password_hash: "unused".into() }
}

/// Writes a patient straight to the store; returns their id.
pub async fn create_patient(
    store: &dyn Store,
    email: &str,
    time_zone: TimeZone,
    display_name: Option<&str>,
    now: DateTime<Utc>,
) -> Uuid {
    let new = patient(email, time_zone, display_name, now);
    store.create_account(&new).await.expect("a new patient");
    new.account.id
}

/// Patients `{prefix}{n}@example.org` for `n` in `0..count`, in the zones of [`ZONES`] in turn,
/// 16 written at once; their ids in the order of `n`.
pub async fn patients(store: &Arc<dyn Store>, count: usize, prefix: &str, now: DateTime<Utc>) -> Vec<Uuid> {
    futures::stream::iter(0..count)
        .map(|n| {
            let store = store.clone();
            async move {
                let zone = TimeZone::parse(ZONES[n % ZONES.len()]).expect("a known zone");
                create_patient(store.as_ref(), &format!("{prefix}{n}@example.org"), zone, None, now).await
            }
        })
        .buffered(16)
        .collect()
        .await
}

/// A journal entry of a pain score and symptoms, nothing else.
pub fn entry(recorded_at: DateTime<Utc>, pain: i64, symptoms: impl IntoIterator<Item = Symptom>) -> EntryContent {
    EntryContent {
        recorded_at,
        pain: Score::new(pain).expect("pain on the 0-10 scale"),
        regions: vec![],
        symptoms: symptoms.into_iter().collect(),
        interference_activity: None,
        interference_enjoyment: None,
        sleep_quality: None,
        stress: None,
        self_care: Default::default(),
        medications: vec![],
        notes: None,
        time_zone: None,
    }
}
