//! `aftercare demo`: a therapist and a handful of clients with months of journals, made through
//! the same use cases the API calls (so alerts, plans and roll-ups are what the service itself
//! derives), for trying the API, the reports and the therapist's pages without typing data.
//!
//! The history is written with a clock that walks through the past months: every entry, session,
//! aftercare step and check-in answer is stored at the time it describes, and alerts open and
//! resolve as they would have. One client's pain has been persistent for weeks (a
//! "see a physiotherapist" alert), another reported a fever this week (a red flag). The data is
//! the same on every run (a fixed seed).

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::config::Settings;
use crate::domain::body::Region;
use crate::domain::care::{Scope, Scopes};
use crate::domain::journal::{EntryContent, PainQuality, RegionPain, Score, SelfCare, Symptom};
use crate::domain::questionnaires::Peg;
use crate::domain::{
    Discipline, DisplayName, Email, Locale, Password, Pressure, QuietHours, Role, SessionKind, StepKind, TimeZone,
};
use crate::service::AppState;
use crate::service::accounts::Registration;
use crate::service::massage::{SessionDraft, StepOutcome};
use crate::startup::Application;
use crate::store::{Principal, QuestionnaireAnswers, StepRecord, StepState};

/// Every demo account signs in with this password.
pub const PASSWORD: &str = "aftercare-demo";
pub const THERAPIST_EMAIL: &str = "jonas@demo.aftercare.example";
const ZONE: &str = "Europe/Berlin";
/// How far back the journals go.
const HISTORY_DAYS: u64 = 120;

/// One demo account, as printed.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub role: Role,
    pub name: &'static str,
    pub email: String,
    pub id: Uuid,
    pub story: &'static str,
}

/// How a client's pain goes.
#[derive(Debug, Clone, Copy)]
enum Course {
    /// Improving with massage, with a bad week now and then.
    Improving,
    /// Stuck at a moderate to high level for the last weeks.
    Persistent,
    /// Mostly fine; a fever this week.
    FeverThisWeek,
    /// Mild, writes every other day.
    Mild,
}

struct Client {
    name: &'static str,
    email: &'static str,
    course: Course,
    regions: &'static [Region],
    story: &'static str,
}

const CLIENTS: &[Client] = &[
    Client {
        name: "Ana Lindqvist",
        email: "ana@demo.aftercare.example",
        course: Course::Improving,
        regions: &[Region::LowerBack, Region::Glutes],
        story: "lower back pain easing with massage every week or two; good and bad weeks",
    },
    Client {
        name: "Ben Okafor",
        email: "ben@demo.aftercare.example",
        course: Course::Persistent,
        regions: &[Region::LowerBack, Region::LeftLeg],
        story: "pain most days for weeks and not improving: a see-a-physiotherapist alert",
    },
    Client {
        name: "Chiara Romano",
        email: "chiara@demo.aftercare.example",
        course: Course::FeverThisWeek,
        regions: &[Region::Neck, Region::RightShoulder],
        story: "neck and shoulder, mostly fine; reported a fever with back pain this week: a red flag",
    },
    Client {
        name: "Dev Patel",
        email: "dev@demo.aftercare.example",
        course: Course::Mild,
        regions: &[Region::MidBack],
        story: "mild mid-back stiffness, writes every other day",
    },
];

fn principal(id: Uuid, role: Role, time_zone: TimeZone) -> Principal {
    Principal { account_id: id, session_id: Uuid::now_v7(), role, time_zone }
}

fn score(value: u8) -> Score {
    Score::new(i64::from(value.min(10))).expect("a score from 0 to 10")
}

/// Seeds the demo data on the database of `settings` if it is not there yet, and returns the
/// sign-ins. An existing demo is left as it is.
pub async fn seed(settings: &Settings) -> anyhow::Result<Vec<SignIn>> {
    let mut quiet = settings.clone();
    quiet.server.bind = "127.0.0.1:0".parse().expect("a loopback address");
    let now = SystemClock.now();
    let start = now - TimeDelta::days(HISTORY_DAYS as i64);
    let clock = Arc::new(ManualClock::new(start));
    let application = Application::build_with_clock(quiet, clock.clone()).await?;
    let state = application.state().clone();
    let zone = TimeZone::parse(ZONE).map_err(|p| anyhow::anyhow!("{}", p.message))?;

    let therapist_email = Email::parse(THERAPIST_EMAIL).map_err(|p| anyhow::anyhow!("{}", p.message))?;
    if let Some((therapist_id, _)) = state.store.credentials(&therapist_email).await? {
        return existing(&state, therapist_id).await;
    }

    let register = |email: &str, name: &str, role: Role| {
        let email = Email::parse(email).expect("a demo email");
        Registration {
            password: Password::parse(PASSWORD, Some(&email)).expect("the demo password"),
            email,
            role,
            discipline: (role == Role::Therapist).then_some(Discipline::MassageTherapist),
            display_name: Some(DisplayName::parse(name).expect("a demo name")),
            time_zone: zone,
            quiet_hours: QuietHours::default(),
            locale: Locale::parse("en").expect("a locale"),
        }
    };
    let jonas = state.register(register(THERAPIST_EMAIL, "Jonas Weber", Role::Therapist), None).await?;
    let therapist = principal(jonas.id, Role::Therapist, zone);
    let mut sign_ins = vec![SignIn {
        role: Role::Therapist,
        name: "Jonas Weber",
        email: THERAPIST_EMAIL.into(),
        id: jonas.id,
        story: "massage therapist; every client below granted him access",
    }];
    for (n, client) in CLIENTS.iter().enumerate() {
        clock.set(start);
        let account = state.register(register(client.email, client.name, Role::Patient), None).await?;
        let patient = principal(account.id, Role::Patient, zone);
        let scopes =
            Scopes::new([Scope::ReadJournal, Scope::RecordSessions, Scope::ManageAftercare, Scope::ReceiveAlerts])
                .map_err(|p| anyhow::anyhow!("{}", p.message))?;
        let (_, code) = state.create_invite(&patient, scopes, None).await?;
        state.redeem_invite(&therapist, &code, None, None, None).await?;
        let mut rng = StdRng::seed_from_u64(16 + n as u64);
        journal(&state, &clock, &patient, &therapist, client, zone, start, now, &mut rng)
            .await
            .with_context(|| format!("the demo journal of {}", client.name))?;
        sign_ins.push(SignIn {
            role: Role::Patient,
            name: client.name,
            email: client.email.into(),
            id: account.id,
            story: client.story,
        });
    }
    // Bring every client's alerts up to the present.
    clock.set(now);
    for sign_in in sign_ins.iter().filter(|s| s.role == Role::Patient) {
        state.evaluate_alerts(sign_in.id).await?;
    }
    Ok(sign_ins)
}

async fn existing(state: &AppState, therapist_id: Uuid) -> anyhow::Result<Vec<SignIn>> {
    let mut sign_ins = vec![SignIn {
        role: Role::Therapist,
        name: "Jonas Weber",
        email: THERAPIST_EMAIL.into(),
        id: therapist_id,
        story: "massage therapist (demo already seeded)",
    }];
    for client in CLIENTS {
        let email = Email::parse(client.email).map_err(|p| anyhow::anyhow!("{}", p.message))?;
        if let Some((id, _)) = state.store.credentials(&email).await? {
            sign_ins.push(SignIn {
                role: Role::Patient,
                name: client.name,
                email: client.email.into(),
                id,
                story: client.story,
            });
        }
    }
    Ok(sign_ins)
}

/// The instant of `date` at `hour:minute` in the demo's zone.
fn local(zone: TimeZone, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    zone.instant_at(date, NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid time"))
}

/// Today's typical pain for a client `days_ago` days before today.
fn typical_pain(course: Course, days_ago: u64, rng: &mut StdRng) -> u8 {
    let noise: i32 = rng.gen_range(-1..=1);
    let base: i32 = match course {
        Course::Improving => {
            // From about 7 down to about 3, with a bad week every month or so.
            let trend = 2 + (days_ago as i32 * 5 / HISTORY_DAYS as i32);
            let bad_week = (days_ago / 7) % 5 == 2;
            trend + if bad_week { 2 } else { 0 }
        }
        Course::Persistent if days_ago <= 40 => 5,
        Course::Persistent => 3,
        Course::FeverThisWeek => 3,
        Course::Mild => 2,
    };
    (base + noise).clamp(0, 10) as u8
}

#[allow(clippy::too_many_arguments)]
async fn journal(
    state: &AppState,
    clock: &ManualClock,
    patient: &Principal,
    therapist: &Principal,
    client: &Client,
    zone: TimeZone,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let first = zone.local_date(start) + Days::new(1);
    let today = zone.local_date(now);
    let mut pending: Vec<(Uuid, StepRecord)> = Vec::new();
    let mut next_session = first + Days::new(rng.gen_range(2..6));
    let mut date = first;
    while date <= today {
        let days_ago = (today - date).num_days() as u64;
        let pain = typical_pain(client.course, days_ago, rng);
        let times: &[(u32, u32)] = match client.course {
            Course::Mild if days_ago % 2 == 1 => &[],
            Course::Mild => &[(20, 30)],
            _ if rng.gen_bool(0.1) => &[(21, 0)],
            _ => &[(8, 15), (13, 0), (21, 0)],
        };
        for (i, (hour, minute)) in times.iter().enumerate() {
            let at = local(zone, date, *hour, *minute);
            if at > now {
                break;
            }
            clock.set(at + TimeDelta::minutes(2));
            let fever = matches!(client.course, Course::FeverThisWeek) && days_ago == 2 && i == times.len() - 1;
            let content = entry(client, at, pain, zone, fever, days_ago, rng);
            state.put_entry(patient, patient.account_id, Uuid::now_v7(), content, None).await?;
        }
        // Window rules are evaluated after a write, not in it: walk them day by day as the
        // background evaluator would have.
        state.evaluate_due_alerts(Some(patient.account_id)).await?;
        // A weekly PEG on Sundays.
        if date.format("%u").to_string() == "7" && !matches!(client.course, Course::Mild) {
            let at = local(zone, date, 18, 0);
            if at <= now {
                clock.set(at);
                let enjoyment = pain.saturating_sub(1);
                let peg = Peg { pain, enjoyment, activity: pain.min(10) };
                state
                    .submit_questionnaire(patient, patient.account_id, QuestionnaireAnswers::Peg(peg), Some(at), None)
                    .await?;
            }
        }
        // A massage every week or two, recorded by the therapist after it ends.
        if date == next_session && !matches!(client.course, Course::Mild) {
            let started_at = local(zone, date, 17, 0);
            if started_at + TimeDelta::minutes(75) <= now {
                clock.set(started_at + TimeDelta::minutes(65));
                let draft = SessionDraft {
                    started_at,
                    duration_minutes: 60,
                    kind: if rng.gen_bool(0.7) { SessionKind::DeepTissue } else { SessionKind::Sports },
                    techniques: vec!["myofascial release".into(), "trigger point work".into()],
                    regions: client.regions.to_vec(),
                    pressure: Some(if pain >= 6 { Pressure::Medium } else { Pressure::Firm }),
                    pain_before: Some(pain),
                    pain_after: Some(pain.saturating_sub(rng.gen_range(1..=3))),
                    notes: Some(format!(
                        "Worked {}; advised gentle walks.",
                        client.regions[0].as_str().replace('_', " ")
                    )),
                };
                let (view, _) = state.record_session(therapist, patient.account_id, draft, None).await?;
                pending.extend(view.steps.into_iter().map(|s| (view.session.id, s)));
            }
            next_session = date + Days::new(rng.gen_range(7..=14));
        }
        // The aftercare steps that came due today: most done, some skipped, check-ins answered.
        let end_of_day = local(zone, date, 23, 30).min(now);
        let (due, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, s)| s.due_at <= end_of_day);
        pending = later;
        for (session_id, step) in due {
            if step.state != StepState::Pending {
                continue;
            }
            clock.set(step.due_at + TimeDelta::minutes(rng.gen_range(10..90)));
            match step.kind {
                StepKind::SorenessCheckIn { .. } => {
                    let soreness = rng.gen_range(1..=4);
                    state.answer_check_in(patient, patient.account_id, session_id, step.id, soreness, false).await?;
                }
                _ => {
                    let outcome = if rng.gen_bool(0.8) { StepOutcome::Done } else { StepOutcome::Skipped };
                    state.complete_step(patient, patient.account_id, session_id, step.id, outcome).await?;
                }
            }
        }
        date = date + Days::new(1);
    }
    Ok(())
}

fn entry(
    client: &Client,
    at: DateTime<Utc>,
    pain: u8,
    zone: TimeZone,
    fever: bool,
    days_ago: u64,
    rng: &mut StdRng,
) -> EntryContent {
    let regions = client
        .regions
        .iter()
        .enumerate()
        .map(|(i, region)| RegionPain {
            region: *region,
            pain: score(if i == 0 { pain } else { pain.saturating_sub(2) }),
            qualities: if i == 0 { [PainQuality::Aching, PainQuality::Stiffness].into() } else { Default::default() },
        })
        .collect();
    let mut symptoms = std::collections::BTreeSet::new();
    if fever {
        symptoms.insert(Symptom::Fever);
    }
    let mut self_care = std::collections::BTreeSet::new();
    if rng.gen_bool(0.5) {
        self_care.insert(SelfCare::Stretching);
    }
    if rng.gen_bool(0.3) {
        self_care.insert(SelfCare::Walk);
    }
    if pain >= 6 && rng.gen_bool(0.4) {
        self_care.insert(SelfCare::Heat);
    }
    let notes = if fever {
        Some("Feverish since last night, 38.4 °C, and my back aches more than usual.".to_owned())
    } else if pain >= 7 {
        Some(
            [
                "Long day at the desk, stiff by the evening.",
                "Bad night, woke up twice.",
                "Lifted the shopping, twinge again.",
            ][(days_ago % 3) as usize]
                .to_owned(),
        )
    } else {
        None
    };
    EntryContent {
        recorded_at: at,
        pain: score(pain),
        regions,
        symptoms,
        interference_activity: Some(score(pain.saturating_sub(1))),
        interference_enjoyment: Some(score(pain.saturating_sub(2))),
        sleep_quality: Some(score(10u8.saturating_sub(pain))),
        stress: Some(score(rng.gen_range(2..=6))),
        self_care,
        medications: if pain >= 7 { vec!["ibuprofen 400 mg".into()] } else { Vec::new() },
        notes,
        time_zone: Some(zone),
    }
}

/// What `aftercare demo` prints.
pub fn describe(sign_ins: &[SignIn]) -> String {
    let mut text = format!("Demo accounts (password for all: {PASSWORD}):\n");
    for s in sign_ins {
        let role = if s.role == Role::Therapist { "therapist" } else { "patient" };
        text.push_str(&format!("  {role:<9} {:<32} {} ({}) id={}\n", s.email, s.name, s.story, s.id));
    }
    text
}
