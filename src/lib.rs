//! Aftercare: a pain journal, massage aftercare prompts and care-team alerts for people with back
//! pain, and the therapists who look after them.
//!
//! `api` (HTTP) and `worker` (background jobs) call the use cases in `service`, which combine the
//! pure rules of `domain` with `store` (SQLite or PostgreSQL), `coordination` (Redis or
//! in-process) and `push` (Web Push).

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod coordination;
pub mod demo;
pub mod domain;
pub mod drain;
pub mod push;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod worker;
