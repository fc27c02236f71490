//! Safety end to end: the severe-pain rule, advice worded for the patient's region with its
//! safety net and sources, the contraindication screen that knows what was logged and what was
//! never asked, plans fitted to the screen, and soreness that reaches the therapist after every
//! kind of session.

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, Tokens, on_both_backends};

fn at(instant: &str) -> DateTime<Utc> {
    instant.parse().unwrap()
}

/// A journal entry at 09:00 UTC on a November 2026 day.
fn entry(day: u32, pain: u8, symptoms: &[&str]) -> Value {
    json!({"recorded_at": format!("2026-11-{day:02}T09:00:00Z"), "pain": pain, "symptoms": symptoms})
}

impl TestApp {
    /// A patient with this locale and time zone, signed in.
    async fn patient_with(&self, email: &str, locale: &str, zone: &str) -> Tokens {
        let body =
            json!({"email": email, "password": PASSWORD, "role": "patient", "time_zone": zone, "locale": locale});
        assert_eq!(self.register(&body).await.status(), StatusCode::CREATED, "{body}");
        self.sign_in(email).await
    }

    async fn log_entry(&self, tokens: &Tokens, body: &Value) {
        let response = self.put_entry(&tokens.access, Uuid::new_v4(), body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    }

    async fn open_alerts(&self, tokens: &Tokens) -> Vec<Value> {
        let page = self.json(&tokens.access, "/v1/alerts").await;
        page["items"].as_array().unwrap().iter().filter(|a| a["resolved_at"].is_null()).cloned().collect()
    }

    async fn alert_of(&self, tokens: &Tokens, rule: &str) -> Option<Value> {
        self.open_alerts(tokens).await.into_iter().find(|a| a["rule"] == rule)
    }

    async fn session_of_kind(&self, tokens: &Tokens, started_at: &str, kind: &str) -> Value {
        let body = json!({"started_at": started_at, "duration_minutes": 60, "kind": kind, "regions": ["lower_back"]});
        let response = self.post("/v1/sessions", Some(&tokens.access), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    async fn save_screen(&self, tokens: &Tokens, screen: &Value) {
        let response = self.request(Method::PUT, "/v1/me/health-screen", Some(&tokens.access), Some(screen)).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    }
}

fn step<'a>(view: &'a Value, key: &str) -> &'a Value {
    view["steps"].as_array().unwrap().iter().find(|s| s["key"] == key).unwrap_or_else(|| panic!("no step {key}"))
}

/// Every question answered "no", confirmed on `on`, with some answered "yes".
fn screen(on: &str, yes: &[&str]) -> Value {
    let mut screen = serde_json::Map::new();
    for condition in aftercare::domain::Condition::ALL {
        let name = condition.as_str();
        screen.insert(name.into(), json!({"present": yes.contains(&name), "confirmed_on": on}));
    }
    Value::Object(screen)
}

on_both_backends! {
    async fn severe_pain_on_three_of_seven_days_asks_to_see_a_physiotherapist(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient_with("ana@example.org", "en-GB", "Europe/London").await;
        // Pain 7 (below the threshold) on three days: nothing.
        for day in [15, 17, 19] {
            app.log_entry(&ana, &entry(day, 7, &[])).await;
        }
        assert_eq!(app.alert_of(&ana, "severe_pain").await, None);
        // Two days of 8 (below three days): nothing.
        app.log_entry(&ana, &entry(16, 8, &[])).await;
        app.log_entry(&ana, &entry(18, 9, &[])).await;
        assert_eq!(app.alert_of(&ana, "severe_pain").await, None);
        // An 8 a week before today (outside the window) does not count either.
        app.log_entry(&ana, &entry(14, 8, &[])).await;
        assert_eq!(app.alert_of(&ana, "severe_pain").await, None);
        // The third day at 8 (at the threshold) fires.
        app.log_entry(&ana, &entry(21, 8, &[])).await;
        let alert = app.alert_of(&ana, "severe_pain").await.expect("a severe_pain alert");
        assert_eq!(alert["tier"], "see_physio");
        assert_eq!(alert["evidence"][0], json!({"kind": "days_at_or_above", "from": "2026-11-15", "to": "2026-11-21", "min_daily_max": 8, "days": 3, "logged_days": 6}));
        let explanation = alert["explanation"].as_str().unwrap();
        assert!(explanation.starts_with("Severe pain: your worst pain was 8 or more out of 10 on 3 of the last 7 days (2026-11-16, 2026-11-18 and 2026-11-21)."), "{explanation}");
        // The safety net, with the UK number.
        assert!(explanation.contains("If you get numbness around your bottom or genitals, problems peeing or pooping, or symptoms in both legs, call emergency services on 999 now"), "{explanation}");
        let source = alert["source"].as_str().unwrap();
        assert!(source.contains("https://www.nhs.uk/conditions/back-pain/") && source.contains("MedBridge"), "{source}");
        assert!(alert["advice"].as_str().unwrap().contains("symptoms in both legs"));

        // Days above the threshold (9-10 for 11 days) fire for another patient too.
        let ben = app.patient_with("ben@example.org", "en-US", "America/New_York").await;
        for day in 11..=21 {
            app.log_entry(&ben, &entry(day, 9 + (day % 2) as u8, &[])).await;
        }
        let alert = app.alert_of(&ben, "severe_pain").await.expect("eleven severe days");
        assert!(alert["explanation"].as_str().unwrap().contains("call emergency services on 911 now"));
    }

    async fn the_emergency_number_follows_the_locale_region_then_the_time_zone(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        // (locale, time zone, what the emergency advice says)
        let cases = [
            ("en-GB", "Europe/Berlin", "Call emergency services on 999 or go to A&E now"),
            ("en-IE", "Europe/London", "Call emergency services on 112 or 999 or go to an emergency department now"),
            ("de-DE", "Europe/London", "Call emergency services on 112 or go to the nearest emergency department now"),
            ("en-US", "Europe/London", "Call emergency services on 911 or go to the emergency room now"),
            ("fr-CA", "Europe/Paris", "Call emergency services on 911 or go to the emergency department now"),
            ("en-AU", "Europe/London", "Call emergency services on 000 (112 from a mobile) or go to the emergency department now"),
            ("en-NZ", "Europe/London", "Call emergency services on 111 or go to the emergency department now"),
            ("en", "Europe/London", "Call emergency services on 999 or go to A&E now"),
            ("en", "Pacific/Auckland", "Call emergency services on 111"),
            ("en", "America/Chicago", "Call emergency services on 911"),
            ("en", "Asia/Tokyo", "Call emergency services on 112 or go to the nearest emergency department now"),
        ];
        for (i, (locale, zone, says)) in cases.into_iter().enumerate() {
            let patient = app.patient_with(&format!("p{i}@example.org"), locale, zone).await;
            app.log_entry(&patient, &entry(21, 6, &["saddle_numbness"])).await;
            let alert = app.alert_of(&patient, "cauda_equina_signs").await.expect("an emergency");
            let explanation = alert["explanation"].as_str().unwrap();
            assert!(explanation.contains(says), "{locale} in {zone}: {explanation}");
            assert!(alert["source"].as_str().unwrap().contains("https://www.nhs.uk/conditions/cauda-equina-syndrome/"));
        }
    }

    async fn a_painful_leg_means_medical_help_today_and_emergency_services_with_breathlessness(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient_with("ana@example.org", "en-GB", "Europe/London").await;
        app.log_entry(&ana, &entry(21, 4, &["leg_swelling_redness_warmth"])).await;
        let alert = app.alert_of(&ana, "leg_swelling").await.expect("an urgent alert");
        let explanation = alert["explanation"].as_str().unwrap();
        assert!(explanation.starts_with("A swollen, red, warm or painful leg on 2026-11-21."), "{explanation}");
        assert!(explanation.contains("Get medical help today: contact your GP or call NHS 111. Call emergency services on 999 at once if you become breathless, have chest pain or cough up blood"), "{explanation}");
        assert!(alert["source"].as_str().unwrap().contains("https://www.nhs.uk/conditions/deep-vein-thrombosis/"));
        // One leg tingling is see-physio, with the safety net.
        let ben = app.patient_with("ben@example.org", "en", "Europe/Dublin").await;
        app.log_entry(&ben, &entry(21, 4, &["tingling_left_leg"])).await;
        let alert = app.alert_of(&ben, "neurological").await.expect("a neurological alert");
        assert!(alert["explanation"].as_str().unwrap().contains("symptoms in both legs, call emergency services on 112 or 999 now"));
    }

    async fn a_session_without_a_current_health_screen_lists_the_questions_to_ask(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient_with("ana@example.org", "en-GB", "Europe/London").await;
        // No screen at all: not screened, every question listed, no warnings.
        let view = app.session_of_kind(&ana, "2026-11-21T09:00:00Z", "deep_tissue").await;
        assert_eq!(view["screened"], false);
        let gaps = view["not_screened"].as_array().unwrap();
        assert_eq!(gaps.len(), aftercare::domain::Condition::ALL.len());
        assert!(gaps.iter().all(|g| g["reason"] == "unanswered" && g["confirmed_on"].is_null()));
        assert!(gaps.iter().any(|g| g["condition"] == "arthritis"));
        assert_eq!(view["warnings"], json!([]));
        // Confirmed 91 days ago (above the 90-day default): stale, and said so with its date.
        app.save_screen(&ana, &screen("2026-08-22", &[])).await;
        let view = app.session_of_kind(&ana, "2026-11-21T09:30:00Z", "deep_tissue").await;
        assert_eq!(view["screened"], false);
        let gaps = view["not_screened"].as_array().unwrap();
        assert_eq!(gaps.len(), aftercare::domain::Condition::ALL.len());
        assert_eq!(gaps[0]["reason"], "stale");
        assert_eq!(gaps[0]["confirmed_on"], "2026-08-22");
        // Exactly 90 days ago (at the limit), and 89 days ago (below it): screened.
        for on in ["2026-08-23", "2026-08-24"] {
            app.save_screen(&ana, &screen(on, &[])).await;
            let view = app.session_of_kind(&ana, "2026-11-21T10:00:00Z", "deep_tissue").await;
            assert_eq!((view["screened"].clone(), view["not_screened"].clone()), (json!(true), json!([])), "{on}");
            // The read of the session says the same.
            let id = view["session"]["id"].as_str().unwrap();
            assert_eq!(app.json(&ana.access, &format!("/v1/sessions/{id}")).await["screened"], true);
        }
        // The planned-session screen too.
        let planned = json!({"kind": "swedish", "pressure": "light", "regions": []});
        let result: Value = app.post("/v1/sessions/screen", Some(&ana.access), &planned).await.json().await.unwrap();
        assert_eq!((result["screened"].clone(), result["warnings"].clone()), (json!(true), json!([])));
    }

    async fn a_fever_or_a_swollen_leg_logged_this_week_reaches_the_screen(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient_with("ana@example.org", "en-GB", "Europe/London").await;
        app.save_screen(&ana, &screen("2026-11-20", &[])).await;
        // A fever 7 days ago (outside the week) does not count; 6 days ago it does.
        app.log_entry(&ana, &entry(14, 3, &["fever"])).await;
        let planned = json!({"kind": "swedish", "pressure": "light", "regions": ["lower_back"]});
        let result: Value = app.post("/v1/sessions/screen", Some(&ana.access), &planned).await.json().await.unwrap();
        assert_eq!(result["warnings"], json!([]));
        app.log_entry(&ana, &entry(15, 3, &["fever"])).await;
        let view = app.session_of_kind(&ana, "2026-11-21T09:00:00Z", "swedish").await;
        let warnings = view["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!((warnings[0]["condition"].clone(), warnings[0]["outcome"].clone()), (json!("fever"), json!("avoid")));
        assert!(warnings[0]["reason"].as_str().unwrap().starts_with("You logged a fever on 2026-11-15."));
        // A swollen leg answered at that session's check-in reaches the next one.
        let check_in = step(&view, "soreness_24h");
        let path = format!("/v1/sessions/{}/steps/{}/check-in", view["session"]["id"].as_str().unwrap(), check_in["id"].as_str().unwrap());
        let answer = json!({"soreness": 2, "leg_swelling_redness_warmth": true});
        assert_eq!(app.request(Method::PUT, &path, Some(&ana.access), Some(&answer)).await.status(), StatusCode::OK);
        let result: Value = app.post("/v1/sessions/screen", Some(&ana.access), &planned).await.json().await.unwrap();
        let conditions: Vec<&str> = result["warnings"].as_array().unwrap().iter().map(|w| w["condition"].as_str().unwrap()).collect();
        assert_eq!(conditions, ["blood_clots", "fever"]);
        assert!(result["warnings"][0]["reason"].as_str().unwrap().contains("breathless"));
    }

    async fn the_plan_follows_the_screen_and_says_why(app) {
        app.clock.set(at("2026-11-21T11:00:00Z"));
        let ana = app.patient_with("ana@example.org", "en-GB", "Europe/London").await;
        app.save_screen(&ana, &screen("2026-11-20", &["osteoporosis", "pregnancy"])).await;
        let view = app.session_of_kind(&ana, "2026-11-21T09:00:00Z", "deep_tissue").await;
        let stretches = step(&view, "morning_stretches")["body"].as_str().unwrap();
        assert!(stretches.starts_with("Because you told us about osteoporosis, this plan leaves out stretches that bend your back forward under load, such as knee-to-chest and child's pose."), "{stretches}");
        let bath = step(&view, "warm_bath");
        assert_eq!(bath["title"], "A warm compress");
        assert!(bath["body"].as_str().unwrap().starts_with("Because of your pregnancy, use a warm compress rather than a hot bath"));
        // Arthritis in a flare, where the session works: modify, with its source.
        let mut flare = screen("2026-11-20", &[]);
        flare["arthritis"] = json!({"present": true, "inflammatory_flare": true, "regions": ["lower_back"], "confirmed_on": "2026-11-20"});
        app.save_screen(&ana, &flare).await;
        let view = app.session_of_kind(&ana, "2026-11-21T09:30:00Z", "swedish").await;
        let warning = &view["warnings"][0];
        assert_eq!((warning["condition"].clone(), warning["outcome"].clone()), (json!("arthritis"), json!("modify")));
        assert!(warning["reason"].as_str().unwrap().contains("Versus Arthritis"));
        // Without the conditions, the default texts.
        app.save_screen(&ana, &screen("2026-11-20", &[])).await;
        let view = app.session_of_kind(&ana, "2026-11-21T10:00:00Z", "deep_tissue").await;
        assert!(step(&view, "morning_stretches")["body"].as_str().unwrap().starts_with("Take 5–10 minutes for gentle stretches: knee-to-chest"));
        assert_eq!(step(&view, "warm_bath")["title"], "A warm bath or compress");
    }

    async fn high_soreness_after_a_gentle_massage_reaches_the_therapist(app) {
        app.clock.set(at("2026-11-19T08:00:00Z"));
        let ana = app.patient_with("ana@example.org", "en-GB", "Europe/London").await;
        // A Swedish session ending at 09:00 on the 18th: its plan ends with a 48-hour check-in.
        let view = app.session_of_kind(&ana, "2026-11-18T08:00:00Z", "swedish").await;
        let check_in = step(&view, "soreness_48h");
        assert_eq!(check_in["hours_after"], 48);
        app.clock.set(at("2026-11-20T10:00:00Z"));
        let ana = app.sign_in("ana@example.org").await;
        let path = format!("/v1/sessions/{}/steps/{}/check-in", view["session"]["id"].as_str().unwrap(), check_in["id"].as_str().unwrap());
        // Soreness 6 (below 7, and no pain recorded before): nothing.
        let answer = |soreness: u8| json!({"soreness": soreness, "leg_swelling_redness_warmth": false});
        assert_eq!(app.request(Method::PUT, &path, Some(&ana.access), Some(&answer(6))).await.status(), StatusCode::OK);
        assert_eq!(app.alert_of(&ana, "soreness_after_massage").await, None);
        // Soreness 7 (at the threshold): the therapist follow-up.
        assert_eq!(app.request(Method::PUT, &path, Some(&ana.access), Some(&answer(7))).await.status(), StatusCode::OK);
        let alert = app.alert_of(&ana, "soreness_after_massage").await.expect("a follow-up");
        assert_eq!(alert["tier"], "therapist_followup");
        assert!(alert["source"].as_str().unwrap().contains("https://www.nice.org.uk/guidance/ng59"));
    }
}
