//! `hallq check-config`: every mistake reported with its line and a plain message.

use std::process::Command as Process;

use hallq::config::{self, EXAMPLE_HALL_TOML};

fn errors_of(text: &str) -> Vec<String> {
    match config::parse(text, "hall.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in text")
        + 1
}

#[test]
fn the_example_hall_is_valid_and_realistic() {
    let setup = config::parse(EXAMPLE_HALL_TOML, "hall.example.toml").unwrap();
    assert!(setup.config.services.len() >= 6);
    assert!(setup.config.windows.len() >= 8);
    let comprehensive = setup
        .config
        .windows
        .iter()
        .filter(|w| w.services.len() > 1)
        .count();
    assert!(comprehensive >= 2);
    let on_disk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/hardware/hall.example.toml"
    ))
    .unwrap();
    assert_eq!(on_disk, EXAMPLE_HALL_TOML);
}

#[test]
fn unknown_service_on_a_window_is_reported_at_its_line() {
    let text = EXAMPLE_HALL_TOML.replace(
        r#"services = ["HJ", "BDC", "SCZT", "SB"]"#,
        r#"services = ["HJ", "BDC", "XX", "SB"]"#,
    );
    let errors = errors_of(&text);
    let line = line_of(&text, r#""XX""#);
    assert_eq!(
        errors,
        [format!(
            r#"hall.toml:{line}: windows[1].services[2]: unknown service "XX" (not in [[services]])"#
        )]
    );
}

#[test]
fn duplicate_prefix_is_reported_with_both_services() {
    let text = EXAMPLE_HALL_TOML.replacen(r#"prefix = "B""#, r#"prefix = "A""#, 1);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let line = line_of(&text, r#"code = "YB""#) + 1;
    assert!(
        errors[0].starts_with(&format!(
            "hall.toml:{line}: services[1].prefix: prefix \"A\" is already used by services[0] (SB)"
        )),
        "{}",
        errors[0]
    );
}

#[test]
fn bad_times_are_reported() {
    let text = EXAMPLE_HALL_TOML
        .replace(r#"sat = "10:00-14:00""#, r#"sat = "10:00-25:00""#)
        .replace(r#"day_starts_at = "04:00""#, r#"day_starts_at = "4h""#)
        .replace(r#"utc_offset = "+08:00""#, r#"utc_offset = "Beijing""#);
    let errors = errors_of(&text).join("\n");
    assert!(
        errors.contains(&format!(
            "hall.toml:{}: hall.hours.sat: \"25:00\" is not a time of day",
            line_of(&text, "sat =")
        )),
        "{errors}"
    );
    assert!(
        errors.contains("hall.day_starts_at: \"4h\" is not a time of day"),
        "{errors}"
    );
    assert!(
        errors.contains("hall.utc_offset: \"Beijing\" is not a UTC offset like +08:00"),
        "{errors}"
    );
}

#[test]
fn missing_names_are_reported_per_language() {
    let text = EXAMPLE_HALL_TOML.replacen(r#", en = "Social insurance" }"#, " }", 1);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].ends_with("services[0].name.en: service SB has no English (en) name"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].starts_with(&format!(
            "hall.toml:{}:",
            line_of(&text, r#"zh = "社会保障""#)
        )),
        "{}",
        errors[0]
    );
}

#[test]
fn every_mistake_is_reported_at_once() {
    let text = EXAMPLE_HALL_TOML
        .replace("number = 8", "number = 7")
        .replace(r#"services = ["CRJ"]"#, r#"services = ["CRJ", "CRJ"]"#)
        .replacen(r#"prefix = "C""#, r#"prefix = "cc""#, 1);
    let errors = errors_of(&text).join("\n");
    for expected in [
        "windows[7].number: window 7 is already defined by windows[6]",
        "windows[7].services[1]: service \"CRJ\" is listed twice",
        "services[2].prefix: the ticket prefix must be one capital letter A-Z, not \"cc\"",
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in\n{errors}"
        );
    }
}

#[test]
fn syntax_errors_unknown_keys_and_wrong_types_have_lines() {
    let broken = format!("{EXAMPLE_HALL_TOML}\n[policy\n");
    let e = errors_of(&broken);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(&format!("hall.toml:{}", broken.lines().count())),
        "{}",
        e[0]
    );

    let unknown = EXAMPLE_HALL_TOML.replace("recall_limit = 2", "recall_limt = 2");
    let e = errors_of(&unknown);
    assert!(
        e[0].contains(&format!(":{}", line_of(&unknown, "recall_limt")))
            && e[0].contains("unknown field `recall_limt`"),
        "{}",
        e[0]
    );

    let wrong_type = EXAMPLE_HALL_TOML.replace("daily_cap = 400", r#"daily_cap = "lots""#);
    let e = errors_of(&wrong_type);
    assert!(
        e[0].contains(&format!(":{}", line_of(&wrong_type, "lots"))),
        "{}",
        e[0]
    );
}

#[test]
fn an_item_code_is_kept_for_ratings_and_a_malformed_one_is_reported_at_its_line() {
    let setup = config::parse(EXAMPLE_HALL_TOML, "hall.toml").unwrap();
    assert_eq!(
        setup.service("SB").unwrap().item_code.as_deref(),
        Some("330100-000117001000")
    );
    assert_eq!(setup.service("YB").unwrap().item_code, None, "optional");
    for bad in ["", "3301 000117", "事项0001", &"9".repeat(65)] {
        let text = EXAMPLE_HALL_TOML.replace(
            r#"item_code = "330100-000117001000""#,
            &format!(r#"item_code = "{bad}""#),
        );
        let line = line_of(&text, "item_code = ");
        assert_eq!(
            errors_of(&text),
            [format!(
                "hall.toml:{line}: services[0].item_code: the item code (事项编码) is 1 to 64 ASCII letters, digits or '-', not \"{}\"",
                bad
            )],
            "{bad:?}"
        );
    }
}

#[test]
fn a_service_no_window_serves_is_reported() {
    let text = EXAMPLE_HALL_TOML.replace(r#"services = ["CRJ"]"#, r#"services = ["SB"]"#);
    let errors = errors_of(&text).join("\n");
    assert!(
        errors.contains("no window serves CRJ: its tickets would never be called"),
        "{errors}"
    );
}

#[test]
fn check_config_command_exits_nonzero_and_prints_each_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, EXAMPLE_HALL_TOML).unwrap();
    let out = Process::new(env!("CARGO_BIN_EXE_hallq"))
        .args(["check-config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("ok — hall 650102-ZWFW-01, 7 services, 8 windows")
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        EXAMPLE_HALL_TOML.replace(r#""SCZT", "GJJ""#, r#""SCZT", "NOPE""#),
    )
    .unwrap();
    let out = Process::new(env!("CARGO_BIN_EXE_hallq"))
        .args(["check-config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("windows[6].services[1]: unknown service \"NOPE\""),
        "{stderr}"
    );
    assert!(stderr.contains("1 mistake(s) found"), "{stderr}");

    let missing = Process::new(env!("CARGO_BIN_EXE_hallq"))
        .args(["check-config", "/nonexistent/hall.toml"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the file"));
}

#[test]
fn device_tables_are_checked_with_their_lines() {
    let text = format!("{EXAMPLE_HALL_TOML}\n[printer]\nport = \"/dev/ttyUSB0\"\nbaud = 12345\n");
    let errors = errors_of(&text).join("\n");
    let line = text
        .lines()
        .position(|l| l.starts_with("baud = 12345"))
        .unwrap()
        + 1;
    assert!(
        errors.contains(&format!("hall.toml:{line}: printer.baud:")),
        "{errors}"
    );
    let unknown = format!("{EXAMPLE_HALL_TOML}\n[idcard]\nbaud_rate = 115200\n");
    assert!(errors_of(&unknown)[0].contains("unknown field `baud_rate`"));
    let fine = format!(
        "{EXAMPLE_HALL_TOML}\n[printer]\nport = \"/dev/ttyUSB0\"\nbaud = 19200\nflow_control = \"hardware\"\n"
    );
    let setup = config::parse(&fine, "hall.toml").unwrap();
    assert_eq!(setup.config.printer.baud, 19200);
}

#[test]
fn retention_days_out_of_range_are_refused_with_their_keys() {
    let with_store = |keys: &str| {
        EXAMPLE_HALL_TOML
            .replace("keep_acknowledged_days = 90\n", "")
            .replace("personal_data_days = 30\n", "")
            .replace(
                "path = \"/var/lib/hallq/hall.db\"\n",
                &format!("path = \"/var/lib/hallq/hall.db\"\n{keys}\n"),
            )
    };
    let errors = errors_of(&with_store(
        "keep_acknowledged_days = 0\npersonal_data_days = 0",
    ));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("store.keep_acknowledged_days: must be between 1 and 3650 days"));
    assert!(errors[1].contains("store.personal_data_days: must be at least 1 day"));
    let errors = errors_of(&with_store(
        "keep_acknowledged_days = 30\npersonal_data_days = 60",
    ));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("store.personal_data_days: must not exceed keep_acknowledged_days (30)"),
        "{errors:?}"
    );
    assert!(
        errors_of(&with_store(
            "keep_acknowledged_days = 30\npersonal_data_days = 7"
        ))
        .is_empty()
    );
}

#[test]
fn an_offline_mark_limit_out_of_range_is_refused() {
    let text = format!(
        "{EXAMPLE_HALL_TOML}\n[platform]\nurl = \"http://127.0.0.1:8480\"\nsecret_file = \"/k\"\n\
         insecure_http_for_tests = true\noffline_mark_after_minutes = 0\n"
    );
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("platform.offline_mark_after_minutes: must be between 1 and 1440"),
        "{errors:?}"
    );
}
