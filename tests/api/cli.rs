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
