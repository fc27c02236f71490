use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, Tokens, assert_problem, on_both_backends};

static THREE_FAILURES_PER_ADDRESS: std::sync::LazyLock<[(&str, serde_json::Value); 1]> =
    std::sync::LazyLock::new(|| [("rate_limit.login_failures_per_address", json!(3))]);

on_both_backends! {
    async fn token_lifecycle_sign_in_refresh_logout(app) {
        app.register_patient("ana@example.org").await;
        let response = app.password_grant("ana@example.org", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        let expires_in = body["expires_in"].as_i64().unwrap();
        assert!((3590..=3600).contains(&expires_in), "about an hour: {expires_in}");
        let first = Tokens::from_json(&body);
        assert_eq!(app.get("/v1/me", &first.access).await.status(), StatusCode::OK);

        // Refreshing rotates both tokens within the same device session.
        let response = app.refresh_grant(&first.refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        let second = Tokens::from_json(&response.json().await.unwrap());
        assert_ne!(second.access, first.access);
        assert_ne!(second.refresh, first.refresh);
        assert_eq!(second.session_id, first.session_id);
        assert_eq!(app.get("/v1/me", &second.access).await.status(), StatusCode::OK);

        let response = app.request(Method::POST, "/v1/auth/logout", Some(&second.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get("/v1/me", &second.access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert_problem(app.get("/v1/me", &first.access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert_problem(app.refresh_grant(&second.refresh).await, StatusCode::UNAUTHORIZED, "invalid_grant").await;
    }

    async fn reusing_a_spent_refresh_token_revokes_the_family(app) {
        let first = app.patient("ana@example.org").await;
        let elsewhere = app.sign_in("ana@example.org").await;
        let second = Tokens::from_json(&app.refresh_grant(&first.refresh).await.json().await.unwrap());

        // Someone replays the spent token (a thief, or a confused client).
        let body = assert_problem(app.refresh_grant(&first.refresh).await, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
        assert!(body["detail"].as_str().unwrap().contains("Sign in again"));

        // The whole family is gone: the newest refresh token and its access token too.
        assert_problem(app.refresh_grant(&second.refresh).await, StatusCode::UNAUTHORIZED, "invalid_grant").await;
        assert_problem(app.get("/v1/me", &second.access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        // Another device's session is a different family and keeps working.
        assert_eq!(app.get("/v1/me", &elsewhere.access).await.status(), StatusCode::OK);
        assert_eq!(app.refresh_grant(&elsewhere.refresh).await.status(), StatusCode::OK);
    }

    async fn access_tokens_expire_after_an_hour_and_sessions_at_their_absolute_end(app) {
        let tokens = app.patient("ana@example.org").await;
        app.clock.advance(TimeDelta::minutes(59));
        assert_eq!(app.get("/v1/me", &tokens.access).await.status(), StatusCode::OK);
        app.clock.advance(TimeDelta::minutes(2));
        assert_problem(app.get("/v1/me", &tokens.access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;

        // Refresh keeps the session going while it is used at least every 30 days ...
        let mut current = tokens;
        for _ in 0..3 {
            app.clock.advance(TimeDelta::days(29));
            let response = app.refresh_grant(&current.refresh).await;
            assert_eq!(response.status(), StatusCode::OK);
            current = Tokens::from_json(&response.json().await.unwrap());
        }
        // ... but never past 90 days from sign-in (87 days have passed; tokens end with the session).
        app.clock.advance(TimeDelta::days(3));
        assert_problem(app.get("/v1/me", &current.access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert_problem(app.refresh_grant(&current.refresh).await, StatusCode::UNAUTHORIZED, "invalid_grant").await;
    }

    async fn an_idle_refresh_token_expires(app) {
        let tokens = app.patient("ana@example.org").await;
        app.clock.advance(TimeDelta::days(31));
        assert_problem(app.refresh_grant(&tokens.refresh).await, StatusCode::UNAUTHORIZED, "invalid_grant").await;
    }

    async fn password_change_ends_other_sessions(app) {
        let phone = app.patient("ana@example.org").await;
        let tablet = app.sign_in("ana@example.org").await;

        let wrong = app
            .post("/v1/me/password", Some(&phone.access), &json!({"current_password": "not my password", "new_password": "a brand new password"}))
            .await;
        let body = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "current_password");
        let weak = app
            .post("/v1/me/password", Some(&phone.access), &json!({"current_password": PASSWORD, "new_password": "short"}))
            .await;
        let body = assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "new_password");
        assert_eq!(app.get("/v1/me", &tablet.access).await.status(), StatusCode::OK, "failed attempts change nothing");

        let response = app
            .post("/v1/me/password", Some(&phone.access), &json!({"current_password": PASSWORD, "new_password": "a brand new password"}))
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/me", &phone.access).await.status(), StatusCode::OK, "this device stays signed in");
        assert_problem(app.get("/v1/me", &tablet.access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert_problem(app.refresh_grant(&tablet.refresh).await, StatusCode::UNAUTHORIZED, "invalid_grant").await;
        assert_problem(app.password_grant("ana@example.org", PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        assert_eq!(app.password_grant("ana@example.org", "a brand new password").await.status(), StatusCode::OK);
    }

    async fn device_sessions_can_be_listed_and_revoked(app) {
        let phone = app.patient("ana@example.org").await;
        let tablet = app.sign_in("ana@example.org").await;
        let bob = app.patient("bob@example.org").await;

        let list: serde_json::Value = app.get("/v1/me/sessions", &phone.access).await.json().await.unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let current: Vec<_> = items.iter().filter(|s| s["current"] == true).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["id"], phone.session_id.as_str());
        assert_eq!(current[0]["device_label"], "test phone");

        // Someone else's session id is simply not found.
        let response = app.request(Method::DELETE, &format!("/v1/me/sessions/{}", bob.session_id), Some(&phone.access), None).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(app.get("/v1/me", &bob.access).await.status(), StatusCode::OK);

        let response = app.request(Method::DELETE, &format!("/v1/me/sessions/{}", tablet.session_id), Some(&phone.access), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get("/v1/me", &tablet.access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        let list: serde_json::Value = app.get("/v1/me/sessions", &phone.access).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 1);

        let response = app.request(Method::DELETE, &format!("/v1/me/sessions/{}", tablet.session_id), Some(&phone.access), None).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.request(Method::DELETE, "/v1/me/sessions/not-a-uuid", Some(&phone.access), None).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }

    async fn missing_and_forged_tokens_are_rejected(app) {
        let response = app.request(Method::GET, "/v1/me", None, None).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"aftercare\"");
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
        for forged in ["nonsense", "aca_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            assert_problem(app.get("/v1/me", forged).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        }
        // A refresh token is not an access token.
        let tokens = app.patient("ana@example.org").await;
        assert_problem(app.get("/v1/me", &tokens.refresh).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        // Tokens are stored only as hashes.
        let stored = app.count(&format!("SELECT count(*) FROM access_tokens WHERE token_hash = '{}'", tokens.access), None).await;
        assert_eq!(stored, 0);
    }

    async fn the_eleventh_failed_sign_in_is_rate_limited(app) {
        app.register_patient("ana@example.org").await;
        for attempt in 1..=10 {
            let response = app.password_grant("ana@example.org", "wrong password!").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        let response = app.password_grant("ana@example.org", "wrong password!").await;
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        // Even the right password waits: otherwise the limit would tell a guesser when they won.
        assert_problem(app.password_grant("ana@example.org", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        // Other accounts are not locked out by it.
        app.patient("bob@example.org").await;
    }

    async fn parallel_wrong_sign_ins_cannot_exceed_the_limit(app) {
        app.register_patient("ana@example.org").await;
        // Each attempt is charged before its password is checked, so twenty at once get exactly
        // the ten failures the account allows, however they interleave.
        let guesses = (0..20).map(|i| {
            let app = &app;
            async move { app.password_grant("ana@example.org", &format!("wrong password {i}")).await }
        });
        let mut statuses: Vec<StatusCode> =
            futures::future::join_all(guesses).await.into_iter().map(|r| r.status()).collect();
        statuses.sort();
        let unauthorized = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((unauthorized, limited), (10, 10), "{statuses:?}");
        assert_problem(app.password_grant("ana@example.org", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }

    async fn successful_sign_ins_use_up_no_window(app) with THREE_FAILURES_PER_ADDRESS {
        app.register_patient("ana@example.org").await;
        // Four times more successes than the address may fail: each is given back.
        for attempt in 1..=12 {
            assert_eq!(app.password_grant("ana@example.org", PASSWORD).await.status(), StatusCode::OK, "sign-in {attempt}");
        }
        for attempt in 1..=3 {
            let response = app.password_grant("ana@example.org", "wrong password!").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
        assert_problem(app.password_grant("ana@example.org", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }

    async fn concurrent_correct_sign_ins_are_never_refused(app) {
        // Sixteen devices at once, more than the account may fail (10): every attempt is charged
        // before its password is checked, and none of those charges is a failure.
        app.patient("ana@example.org").await;
        let attempts = (0..16).map(|_| app.password_grant("ana@example.org", PASSWORD));
        let statuses: Vec<StatusCode> = futures::future::join_all(attempts).await.iter().map(|r| r.status()).collect();
        assert_eq!(statuses, vec![StatusCode::OK; 16]);
    }

    async fn concurrent_wrong_guesses_stay_within_the_limit(app) {
        app.patient("ana@example.org").await;
        let attempts = (0..16).map(|_| app.password_grant("ana@example.org", "wrong password!"));
        let statuses: Vec<StatusCode> = futures::future::join_all(attempts).await.iter().map(|r| r.status()).collect();
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((checked, limited), (10, 6), "{statuses:?}");
        assert_problem(app.password_grant("ana@example.org", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }

    async fn guessing_the_current_password_is_limited_like_sign_in(app) {
        let ana = app.patient("ana@example.org").await;
        let hash_before = {
            let me: serde_json::Value = app.get("/v1/me", &ana.access).await.json().await.unwrap();
            app.state.store.password_hash(me["id"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap()
        };
        let change = |current: &'static str| {
            let (app, token) = (&app, ana.access.clone());
            async move {
                let body = json!({"current_password": current, "new_password": "a whole new passphrase"});
                app.post("/v1/me/password", Some(&token), &body).await
            }
        };
        for attempt in 1..=10 {
            let problem = assert_problem(change("wrong password!").await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(crate::helpers::problem_fields(&problem), ["current_password"], "attempt {attempt}");
        }
        let limited = change(PASSWORD).await;
        assert!(limited.headers().contains_key("retry-after"));
        assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        // The guesses count against signing in too.
        assert_problem(app.password_grant("ana@example.org", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        // The password was never changed.
        let me: serde_json::Value = app.get("/v1/me", &ana.access).await.json().await.unwrap();
        let id: uuid::Uuid = me["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(app.state.store.password_hash(id).await.unwrap(), Some(hash_before));
    }
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_client_address_across_accounts() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        &[("rate_limit.login_failures_per_address", json!(3))],
    )
    .await
    .unwrap();
    for n in 0..3 {
        let response = app.password_grant(&format!("nobody{n}@example.org"), "wrong password!").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_problem(
        app.password_grant("someone@example.org", "wrong password!").await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn registrations_are_limited_per_client_address() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        &[("rate_limit.registrations_per_address", json!(2))],
    )
    .await
    .unwrap();
    app.register_patient("a@example.org").await;
    app.register_patient("b@example.org").await;
    let response = app
        .register(&json!({"email": "c@example.org", "password": PASSWORD, "role": "patient", "time_zone": "UTC"}))
        .await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
