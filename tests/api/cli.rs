//! The binary's subcommands.

use std::process::Command;

#[test]
fn vapid_keygen_prints_a_usable_pair() {
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare")).arg("vapid-keygen").output().expect("run vapid-keygen");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .to_owned()
    };
    let keys = aftercare::push::vapid::VapidKeys::from_base64url(&value("private_key")).unwrap();
    assert_eq!(keys.public_key_base64url(), value("public_key"));
}

#[test]
fn a_bad_setting_stops_start_up_naming_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("migrate")
        .env("AFTERCARE__DATABASE__MAX_CONNECTIONS", "lots")
        .output()
        .expect("run aftercare");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_connections"), "{stderr}");
}

/// `aftercare serve` with nothing but a data directory: it answers `/healthz`, and SIGTERM stops it
/// cleanly.
#[test]
fn serve_answers_health_checks_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("serve")
        .current_dir(data.path())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("AFTERCARE__SERVER__BIND", "127.0.0.1:0")
        .env("AFTERCARE__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start aftercare serve");
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = log
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let event: serde_json::Value = serde_json::from_str(&line).ok()?;
            (event["message"] == "aftercare ready").then(|| event["address"].as_str().unwrap().to_owned())
        })
        .expect("the ready line names the address");
    assert!(data.path().join("data/aftercare.db").exists(), "the embedded database is created under ./data");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async { reqwest::get(format!("http://{address}/healthz")).await.unwrap().status() });
    assert_eq!(status, reqwest::StatusCode::OK);

    let killed = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(killed.success());
    let rest: Vec<String> = log.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}; log: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("aftercare stopped")), "{rest:?}");
}

/// `aftercare demo` on a fresh SQLite database: a therapist and clients with months of journals
/// made through the use cases, one persistent-pain alert and one red flag open; run again, it
/// reuses what is there.
#[test]
fn demo_seeds_a_fresh_database_with_months_of_journals() {
    let data = tempfile::tempdir().unwrap();
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_aftercare"))
            .args(["demo", "--seed-only"])
            .current_dir(data.path())
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("AFTERCARE__LOG__LEVEL", "warn")
            .output()
            .expect("run aftercare demo");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let printed = run();
    assert!(printed.contains(&format!("password for all: {}", aftercare::demo::PASSWORD)), "{printed}");
    let ids: Vec<&str> = printed.lines().filter_map(|l| l.split("id=").nth(1)).collect();
    assert_eq!(ids.len(), 5, "a therapist and four clients: {printed}");
    assert!(printed.contains(aftercare::demo::THERAPIST_EMAIL));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let url = format!("sqlite:{}", data.path().join("data/aftercare.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
        };
        assert_eq!(count("SELECT COUNT(*) FROM care_grants").await, 4);
        assert!(count("SELECT COUNT(*) FROM journal_entries").await > 500, "months of entries");
        assert!(count("SELECT COUNT(DISTINCT local_date) FROM journal_entries").await >= 90);
        assert!(count("SELECT COUNT(*) FROM massage_sessions").await >= 15, "a massage every week or two");
        assert!(count("SELECT COUNT(*) FROM soreness_check_ins").await > 0, "aftercare answers");
        assert!(count("SELECT COUNT(*) FROM aftercare_steps WHERE state = 'done'").await > 0);
        assert!(count("SELECT COUNT(*) FROM questionnaire_responses").await > 0);
        let open: Vec<(String, String)> =
            sqlx::query_as("SELECT rule, tier FROM alerts WHERE resolved_at IS NULL ORDER BY rule")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            open,
            [("fever".to_owned(), "urgent".to_owned()), ("persistent".to_owned(), "see_physio".to_owned())],
            "one red flag and one persistent-pain alert"
        );
        pool.close().await;
    });

    let again = run();
    let ids_again: Vec<&str> = again.lines().filter_map(|l| l.split("id=").nth(1)).collect();
    assert_eq!(ids_again, ids, "a second run reuses the demo");
}
