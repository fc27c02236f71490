//! Values the API document's examples share, so the ids and times in one example match those in
//! the next: the patient Ana, her therapist Jonas, and a session on 21 November 2026.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

pub const PATIENT: &str = "0196f6b1-1d3c-7a4e-9b2a-5f1e2d3c4b5a";
pub const THERAPIST: &str = "0196f6b1-5e2a-7c11-8d40-3a9b8c7d6e5f";
pub const ENTRY: &str = "0196f6c2-7a10-7b3e-a1c4-2d9e8f7a6b5c";
pub const SESSION: &str = "0196f6a0-3b21-7d45-9e8f-1a2b3c4d5e6f";
pub const GRANT: &str = "0196f6b4-8c02-7f19-b2d3-4e5f6a7b8c9d";
pub const ALERT: &str = "0196f7d1-2e3f-7a40-8b51-6c7d8e9f0a1b";
pub const TEMPLATE: &str = "0196f6b9-0a1b-7c2d-9e3f-4a5b6c7d8e9f";

pub fn id(text: &str) -> Uuid {
    text.parse().expect("example ids are valid")
}

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("example instants are valid")
}

pub fn date(text: &str) -> NaiveDate {
    text.parse().expect("example dates are valid")
}

pub const NOTE: &str = "0196f7e2-4a1b-7c3d-8e5f-6a7b8c9d0e1f";
pub const NOTE_ANSWER: &str = "0196f7f0-9b8a-7d6c-a5e4-3f2a1b0c9d8e";
