//! The pain chart, the clinician report and share links, end to end: data seeded through the API,
//! the chart parsed as XML, the report read by the patient, by a therapist with and without
//! `read_journal`, and through a share link in a plain browser request (no bearer) that stops
//! working when revoked or expired; every access in the access log.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::care::Who;
use crate::helpers::{TestApp, on_both_backends};

/// The patient's local "today" (Europe/Berlin), from the test clock.
fn today(app: &TestApp) -> NaiveDate {
    app.clock_now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

/// Noon in Berlin on `date`, as the API writes instants.
fn noon(date: NaiveDate) -> String {
    let local = date.and_hms_opt(12, 0, 0).unwrap().and_local_timezone(chrono_tz::Europe::Berlin).unwrap();
    local.with_timezone(&Utc).to_rfc3339()
}

/// A month of journal (two entries a day, worst pain falling from 7 to 3, a symptom on three
/// days), a massage with pain before and after and its aftercare answered, and two PEGs.
async fn seed_month(app: &TestApp, ana: &Who) -> (NaiveDate, NaiveDate) {
    let to = today(app) - Days::new(1);
    let from = to - Days::new(29);
    for (i, date) in from.iter_days().take(30).enumerate() {
        let worst = 7 - (i as i64 * 4 / 29);
        let morning = date.and_hms_opt(8, 0, 0).unwrap().and_local_timezone(chrono_tz::Europe::Berlin).unwrap();
        let evening = morning + TimeDelta::hours(12);
        let symptoms: Vec<&str> = if i % 10 == 3 { vec!["tingling_left_leg"] } else { vec![] };
        for (at, pain) in [(morning.with_timezone(&Utc), worst), (evening.with_timezone(&Utc), worst - 2)] {
            let body = json!({"recorded_at": at.to_rfc3339(), "pain": pain, "symptoms": symptoms});
            assert_eq!(app.put_entry(ana.token(), Uuid::new_v4(), &body).await.status(), StatusCode::CREATED);
        }
    }
    let session_day = from + Days::new(10);
    let session = json!({"started_at": noon(session_day), "duration_minutes": 60, "kind": "deep_tissue",
                         "pain_before": 6, "pain_after": 3});
    let response = app.post("/v1/sessions", Some(ana.token()), &session).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let recorded: Value = response.json().await.unwrap();
    let session_id = recorded["session"]["id"].as_str().unwrap().to_owned();
    for step in recorded["steps"].as_array().unwrap() {
        let step_id = step["id"].as_str().unwrap();
        if step["kind"] == "soreness_check_in" {
            let path = format!("/v1/sessions/{session_id}/steps/{step_id}/check-in");
            let answer = json!({"soreness": 4, "leg_swelling_redness_warmth": false});
            assert_eq!(app.send(Method::PUT, &path, ana, Some(&answer)).await.status(), StatusCode::OK);
        } else {
            let path = format!("/v1/sessions/{session_id}/steps/{step_id}/completion");
            let done = json!({"outcome": "done"});
            assert_eq!(app.send(Method::PUT, &path, ana, Some(&done)).await.status(), StatusCode::OK);
        }
    }
    for (day, pain) in [(1, 7), (22, 4)] {
        let peg = json!({"kind": "peg", "pain": pain, "enjoyment": pain, "activity": pain,
                         "completed_at": noon(from + Days::new(day))});
        assert_eq!(app.post("/v1/questionnaires", Some(ana.token()), &peg).await.status(), StatusCode::CREATED);
    }
    (from, to)
}

/// A year of journal, one entry a day with good and bad weeks, a massage every three weeks
/// (aftercare left unanswered), a monthly PEG, pins and needles now and then and a fever
/// yesterday (an open red-flag alert).
async fn seed_year(app: &TestApp, ana: &Who) -> NaiveDate {
    let to = today(app) - Days::new(1);
    let from = to - Days::new(364);
    for (i, date) in from.iter_days().take(365).enumerate() {
        let pain = 2 + ((i / 7) % 5) as i64 + (i % 3) as i64;
        let mut symptoms: Vec<&str> = if i % 17 == 5 { vec!["tingling_left_leg"] } else { vec![] };
        if date == to {
            symptoms.push("fever");
        }
        let body = json!({"recorded_at": noon(date), "pain": pain, "symptoms": symptoms});
        assert_eq!(app.put_entry(ana.token(), Uuid::new_v4(), &body).await.status(), StatusCode::CREATED);
        if i % 21 == 10 {
            let session = json!({"started_at": noon(date), "duration_minutes": 45, "kind": "swedish",
                                 "pain_before": pain, "pain_after": (pain - 2).max(0)});
            assert_eq!(app.post("/v1/sessions", Some(ana.token()), &session).await.status(), StatusCode::CREATED);
        }
        if i % 30 == 0 {
            let peg = json!({"kind": "peg", "pain": pain, "enjoyment": 5, "activity": 4, "completed_at": noon(date)});
            assert_eq!(app.post("/v1/questionnaires", Some(ana.token()), &peg).await.status(), StatusCode::CREATED);
        }
    }
    to
}

/// Keeps a PDF for the independent checks in CI (contract/pdf/check.sh).
fn keep_pdf(app: &TestApp, name: &str, bytes: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pdf-report");
    std::fs::create_dir_all(&dir).unwrap();
    let backend = if app.backend == crate::helpers::Backend::Sqlite { "sqlite" } else { "postgres" };
    std::fs::write(dir.join(format!("{backend}-{name}.pdf")), bytes).unwrap();
}

async fn pdf(response: reqwest::Response) -> Vec<u8> {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("inline; filename=\"aftercare-report-") && disposition.ends_with(".pdf\""),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    assert!(bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n"), "a whole PDF");
    bytes
}

/// Parses the SVG as XML and returns its title and description.
fn parse_svg(svg: &str) -> (String, String) {
    let document = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("the chart is not well-formed XML: {e}"));
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    assert_eq!(root.attribute("role"), Some("img"));
    let text = |name: &str| {
        root.children().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).unwrap_or_default().to_owned()
    };
    (text("title"), text("desc"))
}

fn count(svg: &str, class: &str) -> usize {
    svg.matches(&format!("class=\"{class}\"")).count()
}

impl TestApp {
    async fn operations_logged(&self, who: &Who) -> Vec<(String, String)> {
        self.access_log(who, 200)
            .await
            .iter()
            .map(|l| (l["operation"].as_str().unwrap().to_owned(), l["outcome"].as_str().unwrap().to_owned()))
            .collect()
    }
}

on_both_backends! {
    async fn the_chart_adapts_to_three_days_a_month_and_three_years(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let (from, to) = seed_month(&app, &ana).await;

        let chart = app.json(ana.token(), &format!("/v1/journal/chart?from={from}&to={to}")).await;
        assert_eq!(chart["aggregation"], "daily");
        let svg = chart["svg"].as_str().unwrap();
        let (title, desc) = parse_svg(svg);
        assert!(title.starts_with("Pain from "), "{title}");
        assert!(desc.contains("30 of 30 days logged"), "{desc}");
        assert!(desc.contains("1 massage session"), "{desc}");
        assert_eq!(count(svg, "worst-point"), 30);
        assert_eq!(count(svg, "session"), 1);

        // The same chart as a PNG, twice the drawing's size.
        let png = app.send(Method::GET, &format!("/v1/journal/chart?from={from}&to={to}&format=png"), &ana, None).await;
        assert_eq!(png.status(), StatusCode::OK);
        assert_eq!(png.headers()["content-type"], "image/png");
        let png = png.bytes().await.unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!((u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap())), (1280, 672));

        let three_days = app.json(ana.token(), &format!("/v1/journal/chart?from={}&to={to}", to - Days::new(2))).await;
        assert_eq!(three_days["aggregation"], "daily");
        assert_eq!(count(three_days["svg"].as_str().unwrap(), "worst-point"), 3);
        parse_svg(three_days["svg"].as_str().unwrap());

        let years = app.json(ana.token(), &format!("/v1/journal/chart?from={}&to={to}", to - Days::new(3 * 365))).await;
        assert_eq!(years["aggregation"], "monthly");
        let svg = years["svg"].as_str().unwrap();
        parse_svg(svg);
        // A month of entries falls into one or two calendar months.
        assert!((1..=2).contains(&count(svg, "worst-point")), "{}", count(svg, "worst-point"));

        // Default: the 30 days up to today.
        let default = app.json(ana.token(), "/v1/journal/chart").await;
        assert_eq!(default["to"], today(&app).to_string());

        // Ranges are checked.
        let response = app.get(&format!("/v1/journal/chart?from={to}&to={from}"), ana.token()).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let response = app.get(&format!("/v1/journal/chart?from={}&to={to}", to - Days::new(6 * 366)), ana.token()).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn the_report_for_the_patient_and_for_therapists_with_and_without_the_scope(app) {
        let ana = app.named_patient("ana@example.org", "Ana Example").await;
        let tom = app.therapist("tom@example.org", "Tom Physio").await;
        let sam = app.therapist("sam@example.org", "Sam").await;
        app.link(&ana, &tom, &["read_journal"]).await;
        app.link(&ana, &sam, &["record_sessions", "receive_alerts"]).await;
        let (from, to) = seed_month(&app, &ana).await;
        let range = format!("from={from}&to={to}");

        let report = app.json(ana.token(), &format!("/v1/journal/report?{range}")).await;
        assert_eq!(report["summary"]["logged_days"], 30);
        assert!(report["summary"]["trend_per_week"].as_f64().unwrap() < 0.0, "pain falls over the month");
        let html = report["html"].as_str().unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        for expected in [
            "Back pain report: Ana Example",
            "Prepared by the patient",
            "Deep tissue",
            "6 → 3",
            "100%)",
            "24 h: 4/10",
            "PEG (pain, enjoyment, activity; 0–10)",
            "Pins and needles in the left leg",
            "<svg",
            "@media print",
        ] {
            assert!(html.contains(expected), "the report lacks {expected:?}");
        }
        // The chart inside is the same well-formed SVG.
        let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap() + 6];
        parse_svg(svg);
        let own = app.operations_logged(&ana).await;
        assert!(!own.iter().any(|(op, _)| op == "read_report"), "the patient's own reads are not logged: {own:?}");

        // A therapist with read_journal: the report names them, and the read is logged.
        let path = format!("/v1/patients/{}/report?{range}", ana.id);
        let theirs = app.json(tom.token(), &path).await;
        assert!(theirs["html"].as_str().unwrap().contains("Prepared for Tom Physio"));
        let chart_path = format!("/v1/patients/{}/journal/chart?{range}", ana.id);
        assert_eq!(app.json(tom.token(), &chart_path).await["aggregation"], "daily");
        // Without the scope: not found, and the attempt is logged too.
        assert_eq!(app.get(&path, sam.token()).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.get(&chart_path, sam.token()).await.status(), StatusCode::NOT_FOUND);
        let log = app.operations_logged(&ana).await;
        let lines = |outcome: &str| log.iter().filter(|(op, o)| op == "read_report" && o == outcome).count();
        assert_eq!((lines("allowed"), lines("denied")), (2, 2), "{log:?}");
        // Therapists keep no journal of their own.
        assert_eq!(app.get("/v1/journal/report", tom.token()).await.status(), StatusCode::FORBIDDEN);
    }

    async fn share_links_open_in_a_browser_until_revoked_or_expired(app) {
        let ana = app.named_patient("ana@example.org", "Ana Example").await;
        let (from, to) = seed_month(&app, &ana).await;
        let response = app.post("/v1/me/share-links", Some(ana.token()),
                                &json!({"from": from, "to": to, "label": "Dr Patel (physio)"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let made: Value = response.json().await.unwrap();
        let link_id = made["link"]["id"].as_str().unwrap().to_owned();
        assert_eq!(location, format!("/v1/me/share-links/{link_id}"));
        let token = made["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("acs_") && token.len() >= 40, "{token}");
        assert_eq!(made["path"], format!("/r/{token}"));
        let expires: DateTime<Utc> = made["link"]["expires_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(expires - app.clock_now(), TimeDelta::days(7), "a week by default");
        // Only a hash is stored.
        assert_eq!(app.count(&format!("SELECT count(*) FROM share_links WHERE token_hash = '{token}'"), None).await, 0);

        // A plain browser request: no bearer token, an HTML page.
        let page = app.client.get(app.url(&format!("/r/{token}"))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        assert_eq!(page.headers()["cache-control"], "no-store");
        let html = page.text().await.unwrap();
        assert!(html.contains("Back pain report: Ana Example") && html.contains("Shared by the patient"));

        // The open is in the access log with the link and the client address.
        let log = app.access_log(&ana, 50).await;
        assert_eq!(log.len(), 1);
        assert_eq!((log[0]["operation"].as_str(), log[0]["outcome"].as_str()), (Some("open_share_link"), Some("allowed")));
        assert_eq!(log[0]["share_link_id"], link_id.as_str());
        assert_eq!(log[0]["client_address"], "127.0.0.1");
        let listed = app.json(ana.token(), "/v1/me/share-links").await;
        assert_eq!(listed["items"][0]["open_count"], 1);
        assert_eq!(listed["items"][0]["state"], "active");
        assert_eq!(listed["items"][0]["label"], "Dr Patel (physio)");

        // Revoked: gone, and the refused open is logged.
        assert_eq!(app.send(Method::DELETE, &location, &ana, None).await.status(), StatusCode::NO_CONTENT);
        let page = app.client.get(app.url(&format!("/r/{token}"))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::GONE);
        assert!(page.text().await.unwrap().contains("withdrawn"));
        let log = app.access_log(&ana, 50).await;
        assert_eq!((log.len(), log[0]["outcome"].as_str()), (2, Some("denied")));
        assert_eq!(app.json(ana.token(), "/v1/me/share-links").await["items"][0]["state"], "revoked");

        // Expired: a one-day link a day and a second later.
        let made: Value = app.post("/v1/me/share-links", Some(ana.token()),
                                   &json!({"from": from, "to": to, "expires_in_days": 1})).await.json().await.unwrap();
        let short = made["token"].as_str().unwrap().to_owned();
        assert_eq!(app.client.get(app.url(&format!("/r/{short}"))).send().await.unwrap().status(), StatusCode::OK);
        app.clock.advance(TimeDelta::days(1) + TimeDelta::seconds(1));
        let page = app.client.get(app.url(&format!("/r/{short}"))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::GONE);
        assert!(page.text().await.unwrap().contains("expired"));
        let ana = app.again(&ana, "ana@example.org").await;
        let states: Vec<String> = app.json(ana.token(), "/v1/me/share-links").await["items"].as_array().unwrap()
            .iter().map(|l| l["state"].as_str().unwrap().to_owned()).collect();
        assert_eq!(states, ["expired", "revoked"], "newest first");

        // Unknown tokens: a plain not-found page, nothing logged.
        let before = app.access_log(&ana, 50).await.len();
        for bogus in ["acs_nothing", "nonsense", &"x".repeat(300)] {
            let page = app.client.get(app.url(&format!("/r/{bogus}"))).send().await.unwrap();
            assert_eq!(page.status(), StatusCode::NOT_FOUND);
            assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        }
        assert_eq!(app.access_log(&ana, 50).await.len(), before);

        // Limits: at most 90 days; patients only.
        let response = app.post("/v1/me/share-links", Some(ana.token()),
                                &json!({"from": from, "to": to, "expires_in_days": 91})).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let response = app.post("/v1/me/share-links", Some(ana.token()),
                                &json!({"from": to, "to": from})).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let made: Value = app.post("/v1/me/share-links", Some(ana.token()),
                                   &json!({"from": from, "to": to, "expires_in_days": 90})).await.json().await.unwrap();
        let expires: DateTime<Utc> = made["link"]["expires_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(expires - app.clock_now(), TimeDelta::days(90));
        let tom = app.therapist("tom@example.org", "Tom").await;
        let response = app.post("/v1/me/share-links", Some(tom.token()), &json!({"from": from, "to": to})).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        // Someone else's link cannot be revoked (or found).
        let ben = app.named_patient("ben@example.org", "Ben").await;
        let path = format!("/v1/me/share-links/{}", made["link"]["id"].as_str().unwrap());
        assert_eq!(app.send(Method::DELETE, &path, &ben, None).await.status(), StatusCode::NOT_FOUND);
    }

    async fn the_report_as_pdf_for_three_days_a_month_and_a_year(app) {
        let ana = app.named_patient("ana@example.org", "Ana Example").await;
        let to = seed_year(&app, &ana).await;
        for (name, days) in [("3-days", 3), ("month", 30), ("year", 365)] {
            let from = to - Days::new(days - 1);
            let path = format!("/v1/journal/report?from={from}&to={to}&format=pdf");
            let bytes = pdf(app.send(Method::GET, &path, &ana, None).await).await;
            keep_pdf(&app, name, &bytes);
        }
        // Asked for by the Accept header; format=json wins over it.
        let tom = app.therapist("tom@example.org", "Tom").await;
        app.link(&ana, &tom, &["read_journal"]).await;
        let path = format!("/v1/patients/{}/report?from={}&to={to}", ana.id, to - Days::new(29));
        let accept = |path: &str| {
            app.client.get(app.url(path)).bearer_auth(tom.token()).header("Accept", "application/pdf, */*;q=0.5").send()
        };
        pdf(accept(&path).await.unwrap()).await;
        let json = accept(&format!("{path}&format=json")).await.unwrap();
        assert_eq!(json.status(), StatusCode::OK);
        assert!(json.json::<Value>().await.unwrap()["html"].as_str().unwrap().contains("Back pain report"));
        // Each read is in the access log, as for the HTML report.
        let reads: Vec<(String, String)> =
            app.operations_logged(&ana).await.into_iter().filter(|(op, _)| op == "read_report").collect();
        assert_eq!(reads.len(), 2, "{reads:?}");

        // A share link: the page offers the PDF, and the PDF opens without an account, logged.
        let made: Value = app.post("/v1/me/share-links", Some(ana.token()),
                                   &json!({"from": to - Days::new(29), "to": to})).await.json().await.unwrap();
        let token = made["token"].as_str().unwrap().to_owned();
        let html = app.client.get(app.url(&format!("/r/{token}"))).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("href=\"?format=pdf\"") && html.contains("Download PDF"), "{html}");
        let shared = pdf(app.client.get(app.url(&format!("/r/{token}?format=pdf"))).send().await.unwrap()).await;
        keep_pdf(&app, "shared-month", &shared);
        let opens = app.operations_logged(&ana).await.into_iter().filter(|(op, _)| op == "open_share_link").count();
        assert_eq!(opens, 2);
        // A revoked link gives no PDF either.
        let location = format!("/v1/me/share-links/{}", made["link"]["id"].as_str().unwrap());
        assert_eq!(app.send(Method::DELETE, &location, &ana, None).await.status(), StatusCode::NO_CONTENT);
        let gone = app.client.get(app.url(&format!("/r/{token}?format=pdf"))).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::GONE);
        assert!(gone.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    }

    async fn a_see_physio_alert_offers_a_report(app) {
        let ana = app.named_patient("ana@example.org", "Ana").await;
        let entry = json!({"recorded_at": app.clock_now().to_rfc3339(), "pain": 5, "symptoms": ["numbness_left_leg"]});
        assert_eq!(app.put_entry(ana.token(), Uuid::new_v4(), &entry).await.status(), StatusCode::CREATED);
        let alerts = app.json(ana.token(), "/v1/alerts").await;
        let alert = alerts["items"].as_array().unwrap().iter().find(|a| a["tier"] == "see_physio").expect("a see_physio alert");
        let offer = &alert["report_offer"];
        assert!(offer["text"].as_str().unwrap().starts_with("Make a report for your physiotherapist"));
        assert_eq!(offer["share_link_path"], "/v1/me/share-links");
        // The offer's own dates make a working link.
        let response = app.post("/v1/me/share-links", Some(ana.token()),
                                &json!({"from": offer["from"], "to": offer["to"]})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let report = app.json(ana.token(), offer["report_path"].as_str().unwrap()).await;
        assert!(report["html"].as_str().unwrap().contains("Open alerts"));
        // Other tiers carry no offer.
        let red = json!({"recorded_at": app.clock_now().to_rfc3339(), "pain": 7, "symptoms": ["fever"]});
        assert_eq!(app.put_entry(ana.token(), Uuid::new_v4(), &red).await.status(), StatusCode::CREATED);
        let alerts = app.json(ana.token(), "/v1/alerts").await;
        let urgent = alerts["items"].as_array().unwrap().iter().find(|a| a["tier"] == "urgent").expect("an urgent alert");
        assert!(urgent["report_offer"].is_null());
    }
}
