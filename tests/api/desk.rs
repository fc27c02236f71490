//! The therapist's desk in a browser's shoes: the cookie session (a device session like the
//! app's), forms refused without this session's CSRF value or from another site, and pages that
//! read through the same use cases as the API (consent, access log).

use std::sync::LazyLock;

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::care::Who;
use crate::helpers::{PASSWORD, TestApp, on_both_backends};

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const REFUSED: &str = "This form has expired or came from another site";

async fn account(app: &TestApp, email: &str, role: &str, name: &str) -> Who {
    let mut body =
        json!({"email": email, "password": PASSWORD, "role": role, "display_name": name, "time_zone": "Etc/UTC"});
    if role == "therapist" {
        body["discipline"] = json!("massage_therapist");
    }
    let response = app.register(&body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "registering {email}");
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    Who { tokens: app.sign_in(email).await, id }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        body.append_pair(name, value);
    }
    body.finish()
}

/// A browser at the desk: its session cookie.
struct Browser {
    cookie: String,
}

async fn post_sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/desk/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("email", email), ("password", password)]))
        .send()
        .await
        .unwrap()
}

fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

async fn desk(app: &TestApp, email: &str) -> Browser {
    let response = post_sign_in(app, email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signing in at the desk");
    assert_eq!(response.headers()["location"], "/desk/caseload");
    Browser { cookie: cookie_value(&response, "aftercare_desk").expect("a session cookie") }
}

impl Browser {
    async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        app.client.get(app.url(path)).header("cookie", &self.cookie).send().await.unwrap()
    }

    async fn page(&self, app: &TestApp, path: &str) -> String {
        let response = self.get(app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// The form value of this session, as its pages carry it.
    async fn csrf(&self, app: &TestApp) -> String {
        let page = self.page(app, "/desk/caseload").await;
        let start = page.find("name=\"csrf\" value=\"").expect("a form with a csrf value") + 19;
        page[start..].split('"').next().unwrap().to_owned()
    }

    async fn post(
        &self,
        app: &TestApp,
        path: &str,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = app
            .client
            .post(app.url(path))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// A form post as the page itself sends it.
    async fn submit(&self, app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf(app).await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        let origin = app.url("");
        self.post(app, path, &all, &[("origin", origin.as_str()), ("sec-fetch-site", "same-origin")]).await
    }
}

fn see_other(response: &reqwest::Response, location: &str) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], location);
}

async fn entry(app: &TestApp, patient: &Who, pain: u8, symptoms: &[&str], notes: &str) -> Uuid {
    let id = Uuid::new_v4();
    let body = json!({"recorded_at": (app.clock_now() - TimeDelta::hours(1)).to_rfc3339(), "pain": pain,
                      "regions": [{"region": "lower_back", "pain": pain}], "symptoms": symptoms, "notes": notes});
    assert_eq!(app.put_entry(patient.token(), id, &body).await.status(), StatusCode::CREATED);
    id
}

on_both_backends! {
    async fn only_therapists_sign_in_and_the_cookie_is_strict(app) {
        let tom = account(&app, "tom@example.org", "therapist", "Tom Berg").await;
        account(&app, "ana@example.org", "patient", "Ana").await;

        let page = app.client.get(app.url("/desk/sign-in")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["content-security-policy"], CSP);
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        assert_eq!(page.headers()["referrer-policy"], "same-origin");
        assert_eq!(page.headers()["cache-control"], "no-store");
        let text = page.text().await.unwrap();
        assert!(text.contains("<h1>Sign in</h1>") && text.contains("type=\"password\""));
        assert!(!text.contains("style=") && !text.contains("<script") && !text.contains("<style"));

        // A wrong password and a patient's right one read alike.
        for (email, password) in [("tom@example.org", "not the password"), ("ana@example.org", PASSWORD), ("nobody@example.org", PASSWORD)] {
            let refused = post_sign_in(&app, email, password).await;
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{email}");
            assert!(cookie_value(&refused, "aftercare_desk").is_none());
            let text = refused.text().await.unwrap();
            assert!(text.contains("role=\"alert\">Wrong email or password.<"), "{text}");
        }

        let response = post_sign_in(&app, "tom@example.org", PASSWORD).await;
        see_other(&response, "/desk/caseload");
        let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set_cookie.starts_with("aftercare_desk=acw_"), "{set_cookie}");
        for attribute in ["; HttpOnly", "; SameSite=Strict", "; Path=/desk", "; Max-Age=43200"] {
            assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
        }
        // Plain HTTP on loopback: a Secure cookie would never come back (see the unit test of the rule).
        assert!(!set_cookie.contains("Secure"));
        let browser = Browser { cookie: set_cookie.split(';').next().unwrap().to_owned() };
        // Only the hash of the token is stored.
        let token = browser.cookie.trim_start_matches("aftercare_desk=");
        let hash = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
        assert_eq!(app.count(&format!("SELECT count(*) FROM access_tokens WHERE token_hash = '{hash}'"), None).await, 1);
        assert_eq!(app.count(&format!("SELECT count(*) FROM access_tokens WHERE token_hash = '{token}'"), None).await, 0);

        see_other(&browser.get(&app, "/desk").await, "/desk/caseload");
        see_other(&app.client.get(app.url("/desk/caseload")).send().await.unwrap(), "/desk/sign-in");
        // The cookie is no bearer token for the API.
        assert_eq!(app.get("/v1/me", token).await.status(), StatusCode::UNAUTHORIZED);

        let caseload = browser.get(&app, "/desk/caseload").await;
        assert_eq!(caseload.headers()["content-security-policy"], CSP);
        let text = caseload.text().await.unwrap();
        assert!(text.contains("<h1>Caseload</h1>") && text.contains("Tom Berg"));
        for link in ["Caseload", "Invite codes", "Signed-in devices"] {
            assert!(text.contains(&format!(">{link}</a>")), "{link}");
        }

        // The desk is a device of the account: the app lists it, and the desk lists the app.
        let sessions: Value = app.get("/v1/me/sessions", tom.token()).await.json().await.unwrap();
        let labels: Vec<&str> = sessions["items"].as_array().unwrap().iter().filter_map(|s| s["device_label"].as_str()).collect();
        assert!(labels.contains(&"Web dashboard (browser)"), "{sessions}");
        let devices = browser.page(&app, "/desk/devices").await;
        assert!(devices.contains("This browser") && devices.contains("test phone"), "{devices}");

        let css = app.client.get(app.url("/desk/assets/desk.css")).send().await.unwrap();
        assert_eq!(css.status(), StatusCode::OK);
        assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
        assert!(css.headers()["cache-control"].to_str().unwrap().contains("max-age=31536000"));
    }

    async fn sign_in_shares_the_apis_limits(app) with LOW_LIMITS {
        account(&app, "tom@example.org", "therapist", "Tom").await;
        for _ in 0..2 {
            assert_eq!(post_sign_in(&app, "tom@example.org", "wrong password").await.status(), StatusCode::UNAUTHORIZED);
        }
        let limited = post_sign_in(&app, "tom@example.org", PASSWORD).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.headers().get("retry-after").is_some());
        assert!(limited.text().await.unwrap().contains("Too many attempts"));
        // The same counter as the API's password grant.
        assert_eq!(app.password_grant("tom@example.org", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    async fn forms_need_this_sessions_value_and_this_site(app) {
        let tom = account(&app, "tom@example.org", "therapist", "Tom").await;
        let browser = desk(&app, "tom@example.org").await;
        let csrf = browser.csrf(&app).await;
        let origin = app.url("");

        let refusals = [
            browser.post(&app, "/desk/invites", &[], &[]).await,
            browser.post(&app, "/desk/invites", &[("csrf", "forged")], &[]).await,
            browser.post(&app, "/desk/invites", &[("csrf", &csrf)], &[("origin", "https://elsewhere.example")]).await,
            browser.post(&app, "/desk/invites", &[("csrf", &csrf)], &[("origin", "null")]).await,
            browser.post(&app, "/desk/invites", &[("csrf", &csrf)], &[("sec-fetch-site", "cross-site")]).await,
            // Another session's value is no good either.
            desk(&app, "tom@example.org").await.post(&app, "/desk/invites", &[("csrf", &csrf)], &[]).await,
        ];
        for (i, refused) in refusals.into_iter().enumerate() {
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "refusal {i}");
            assert_eq!(refused.headers()["content-security-policy"], CSP);
            assert!(refused.text().await.unwrap().contains(REFUSED), "refusal {i}");
        }
        let invites: Value = app.get("/v1/care/invites", tom.token()).await.json().await.unwrap();
        assert_eq!(invites["items"].as_array().unwrap().len(), 0, "nothing was made");

        // Made from the page: the code is shown once, then listed as pending, then revoked.
        let made = browser.post(&app, "/desk/invites", &[("csrf", &csrf)], &[("origin", &origin)]).await;
        see_other(&made, "/desk/invites");
        let code_cookie = cookie_value(&made, "aftercare_desk_code").expect("the new code for the next page");
        let page = app
            .client
            .get(app.url("/desk/invites"))
            .header("cookie", format!("{}; {code_cookie}", browser.cookie))
            .send()
            .await
            .unwrap();
        assert!(page.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "shown once");
        let page = page.text().await.unwrap();
        let code = code_cookie.trim_start_matches("aftercare_desk_code=");
        assert!(page.contains(&format!("<p class=\"code\">{code}</p>")), "{page}");
        assert!(page.contains(">Revoke<"));
        let invites: Value = app.get("/v1/care/invites", tom.token()).await.json().await.unwrap();
        let invite_id = invites["items"][0]["id"].as_str().expect("a pending invite").to_owned();
        // The code works in the app.
        let ana = account(&app, "ana@example.org", "patient", "Ana").await;
        let looked_up = app.post("/v1/care/invites/lookup", Some(ana.token()), &json!({"code": code})).await;
        assert_eq!(looked_up.status(), StatusCode::OK);

        see_other(&browser.submit(&app, &format!("/desk/invites/{invite_id}/revoke"), &[]).await, "/desk/invites");
        let invites: Value = app.get("/v1/care/invites", tom.token()).await.json().await.unwrap();
        assert_eq!(invites["items"].as_array().unwrap().len(), 0);
        assert!(!browser.page(&app, "/desk/invites").await.contains(">Revoke<"));
    }

    async fn signing_out_ends_the_session_everywhere(app) {
        let tom = account(&app, "tom@example.org", "therapist", "Tom").await;
        let browser = desk(&app, "tom@example.org").await;
        let response = browser.submit(&app, "/desk/sign-out", &[]).await;
        see_other(&response, "/desk/sign-in");
        assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        see_other(&browser.get(&app, "/desk/caseload").await, "/desk/sign-in");
        assert_eq!(browser.post(&app, "/desk/sign-out", &[], &[]).await.status(), StatusCode::FORBIDDEN);

        // Signed out from the app, the desk session ends too.
        let browser = desk(&app, "tom@example.org").await;
        let sessions: Value = app.get("/v1/me/sessions", tom.token()).await.json().await.unwrap();
        let desk_session = sessions["items"].as_array().unwrap().iter()
            .find(|s| s["device_label"] == "Web dashboard (browser)").expect("the desk's session")["id"].as_str().unwrap().to_owned();
        let revoked = app.request(Method::DELETE, &format!("/v1/me/sessions/{desk_session}"), Some(tom.token()), None).await;
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        see_other(&browser.get(&app, "/desk/caseload").await, "/desk/sign-in");

        // And the desk signs the app out.
        let browser = desk(&app, "tom@example.org").await;
        let phone = tom.tokens.session_id.clone();
        see_other(&browser.submit(&app, &format!("/desk/devices/{phone}/revoke"), &[]).await, "/desk/devices");
        assert_eq!(app.get("/v1/me", tom.token()).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn a_desk_left_alone_signs_out_and_none_outlasts_twelve_hours(app) {
        account(&app, "tom@example.org", "therapist", "Tom").await;
        let desk_sessions = |sessions: Value| {
            sessions["items"].as_array().unwrap().iter().filter(|s| s["device_label"] == "Web dashboard (browser)").count()
        };

        // Each page keeps it alive for another hour...
        let browser = desk(&app, "tom@example.org").await;
        for _ in 0..3 {
            app.clock.advance(TimeDelta::minutes(50));
            browser.page(&app, "/desk/caseload").await;
        }
        // ...and an hour without one ends it; the app no longer lists it.
        app.clock.advance(TimeDelta::minutes(61));
        see_other(&browser.get(&app, "/desk/caseload").await, "/desk/sign-in");
        let tokens = app.sign_in("tom@example.org").await;
        assert_eq!(desk_sessions(app.get("/v1/me/sessions", &tokens.access).await.json().await.unwrap()), 0);

        // However busy, twelve hours after signing in it is over.
        let browser = desk(&app, "tom@example.org").await;
        let mut pages = 0;
        for _ in 0..24 {
            app.clock.advance(TimeDelta::minutes(30));
            let response = browser.get(&app, "/desk/caseload").await;
            if response.status() == StatusCode::OK {
                pages += 1;
            } else {
                see_other(&response, "/desk/sign-in");
            }
        }
        assert_eq!(pages, 23, "every half hour up to the twelfth");
    }

    async fn the_caseload_and_a_clients_page_follow_consent(app) {
        let tom = account(&app, "tom@example.org", "therapist", "Tom").await;
        let ana = account(&app, "ana@example.org", "patient", "Ana Lindqvist").await;
        let ben = account(&app, "ben@example.org", "patient", "Ben Okafor").await;
        let cleo = account(&app, "cleo@example.org", "patient", "Cleo Never-Granted").await;
        let scopes = ["read_journal", "receive_alerts"];
        let ana_grant = app.link(&ana, &tom, &scopes).await;
        app.link(&ben, &tom, &scopes).await;
        entry(&app, &ana, 3, &[], "Stiff after gardening").await;
        // Ben reports a fever: an urgent alert puts him first.
        let fever = entry(&app, &ben, 6, &["fever"], "Feverish since last night").await;

        let browser = desk(&app, "tom@example.org").await;
        let caseload: Value = app.get("/v1/caseload", tom.token()).await.json().await.unwrap();
        let api_order: Vec<String> = caseload["items"].as_array().unwrap().iter().map(|c| c["patient"]["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(api_order, [ben.id.clone(), ana.id.clone()]);
        let page = browser.page(&app, "/desk/caseload").await;
        let positions: Vec<usize> = api_order.iter().map(|id| page.find(&format!("href=\"/desk/clients/{id}\"")).expect("a card per client")).collect();
        assert!(positions[0] < positions[1], "the API's order");
        assert_eq!(page.matches("<article").count(), 2);
        assert!(page.contains("1 open alert · Urgent: see a doctor today"), "{page}");
        assert!(!page.contains("Cleo"));

        // Ben's page: every section, the alert to acknowledge, the entry; the read is logged.
        let path = format!("/desk/clients/{}", ben.id);
        let page = browser.page(&app, &path).await;
        assert!(page.contains("<h1>Ben Okafor</h1>"));
        for section in ["Pain chart", "Alerts", "Notes", "Entries", "Sessions", "Health screen"] {
            assert!(page.contains(&format!("\">{section}</h2>")), "{section}");
        }
        assert!(page.contains("<svg") && page.contains("Feverish since last night") && page.contains("lower back"));
        assert!(page.contains(&format!("href=\"/desk/clients/{}/report\">Printable report<", ben.id)));
        let log = app.access_log(&ben, 100).await;
        let reads: Vec<&str> = log.iter().filter(|l| l["actor"]["id"] == tom.id.as_str()).map(|l| l["operation"].as_str().unwrap()).collect();
        for operation in ["read_report", "read_alerts", "read_notes", "list_journal_entries"] {
            assert!(reads.contains(&operation), "{operation} in {reads:?}");
        }
        let report = browser.get(&app, &format!("/desk/clients/{}/report", ben.id)).await;
        assert_eq!(report.status(), StatusCode::OK);
        assert!(report.headers()["content-security-policy"].to_str().unwrap().contains("style-src 'self' 'sha256-"));

        // Acknowledging from the page; the API shows it, the log has it.
        let alert_id = page.split("/alerts/").nth(1).and_then(|rest| rest.split('/').next()).expect("an alert form").to_owned();
        let acknowledged = browser.submit(&app, &format!("{path}/alerts/{alert_id}/acknowledge"), &[]).await;
        see_other(&acknowledged, &path);
        let alert: Value = app.get(&format!("/v1/patients/{}/alerts/{alert_id}", ben.id), tom.token()).await.json().await.unwrap();
        assert_eq!(alert["seen_by_therapists"][0]["therapist_id"], tom.id.as_str(), "{alert}");
        assert!(browser.page(&app, &path).await.contains("You acknowledged this"));
        let log = app.access_log(&ben, 100).await;
        assert!(log.iter().any(|l| l["actor"]["id"] == tom.id.as_str() && l["operation"] == "acknowledge_alerts"));

        // A note from the desk reaches Ben's app; his answer through the API shows on the page.
        let about = format!("entry:{fever}");
        let sent = browser.submit(&app, &format!("{path}/notes"), &[("about", &about), ("body", "How is the fever today?")]).await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
        let notes: Value = app.get("/v1/notes", ben.token()).await.json().await.unwrap();
        assert_eq!(notes["items"][0]["body"], "How is the fever today?");
        assert_eq!(notes["items"][0]["subject"], json!({"kind": "entry", "id": fever}));
        let note_id = notes["items"][0]["id"].as_str().unwrap().to_owned();
        let reply = app.post(&format!("/v1/notes/{note_id}/replies"), Some(ben.token()), &json!({"body": "Gone since this morning."})).await;
        assert_eq!(reply.status(), StatusCode::CREATED);
        let page = browser.page(&app, &path).await;
        assert!(page.contains("How is the fever today?") && page.contains("Gone since this morning."));
        // Tom answers in the same thread from the page.
        let answered = browser.submit(&app, &format!("{path}/notes/{}/replies", reply.json::<Value>().await.unwrap()["id"].as_str().unwrap()), &[("body", "Good. See you Thursday.")]).await;
        assert_eq!(answered.status(), StatusCode::SEE_OTHER);
        let notes: Value = app.get("/v1/notes", ben.token()).await.json().await.unwrap();
        assert_eq!(notes["items"][0]["body"], "Good. See you Thursday.");
        assert_eq!(notes["items"][0]["thread_id"], note_id.as_str());
        assert!(browser.page(&app, &path).await.contains("Good. See you Thursday."));
        // A blank note, or one about nothing, is not sent.
        assert_eq!(browser.submit(&app, &format!("{path}/notes"), &[("about", &about), ("body", "  ")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(browser.submit(&app, &format!("{path}/notes"), &[("about", "nothing"), ("body", "Hello")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Without this session's value, no note.
        assert_eq!(browser.post(&app, &format!("{path}/notes"), &[("about", &about), ("body", "x")], &[]).await.status(), StatusCode::FORBIDDEN);

        // Never granted, or granted and ended: 404 with nothing of the client, on the next load.
        for id in [cleo.id.as_str(), &Uuid::new_v4().to_string(), "not-a-uuid"] {
            let response = browser.get(&app, &format!("/desk/clients/{id}")).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
            assert!(!response.text().await.unwrap().contains("Cleo"));
        }
        let ana_path = format!("/desk/clients/{}", ana.id);
        assert!(browser.page(&app, &ana_path).await.contains("Stiff after gardening"));
        let grant_id = ana_grant["id"].as_str().unwrap();
        let ended = app.request(Method::DELETE, &format!("/v1/care/grants/{grant_id}"), Some(ana.token()), None).await;
        assert_eq!(ended.status(), StatusCode::NO_CONTENT);
        let gone = browser.get(&app, &ana_path).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        assert!(!gone.text().await.unwrap().contains("Stiff after gardening"));
        assert!(!browser.page(&app, "/desk/caseload").await.contains("Ana Lindqvist"));
        let denied = app.access_log(&ana, 100).await;
        assert!(denied.iter().any(|l| l["actor"]["id"] == tom.id.as_str() && l["outcome"] == "denied"), "the refused read is logged like the API's");
    }
}

/// Two failed sign-ins of an account are all its window allows.
static LOW_LIMITS: LazyLock<[(&str, Value); 1]> =
    LazyLock::new(|| [("rate_limit.login_failures_per_account", json!(2))]);
