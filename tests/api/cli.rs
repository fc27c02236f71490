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
