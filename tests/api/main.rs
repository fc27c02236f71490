//! End-to-end API tests: the real HTTP stack on a real database, on SQLite always and on
//! PostgreSQL (with Redis) when TEST_DATABASE_URL / TEST_REDIS_URL are set.

mod helpers;
mod push_receiver;
#[path = "../support/seed.rs"]
mod seed;

mod accounts;
mod alerts;
mod auth;
mod care;
mod cli;
mod contract;
mod coordination;
mod desk;
mod errors;
mod escalation;
mod export;
mod journal;
mod notes;
mod notifications;
mod openapi;
mod ops;
mod outages;
mod push;
mod push_origins;
mod reports;
mod safety;
mod sessions;
mod shutdown;
mod storage;
mod text;
mod tls;
