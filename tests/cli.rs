//! The `hallq` binary end to end: the demo hall runs and records, export and stats read its database.

use std::process::Command;

fn hallq(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hallq"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn demo_hall_runs_then_export_and_stats_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db = db.to_str().unwrap();
    let run = hallq(&["run", "--db", db, "--seconds", "4", "--headless"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let export = hallq(&["export", "--db", db]);
    assert!(export.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.len() >= 9,
        "day opening and eight sign-ins at least, got {}",
        lines.len()
    );
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], i as u64 + 1);
        assert_eq!(line["hall_id"], "650102-ZWFW-01");
        assert!(
            line["recorded"]["boot_id"]
                .as_str()
                .is_some_and(|b| !b.is_empty())
        );
    }
    assert_eq!(lines[0]["event"]["type"], "business_day_opened");
    let after = hallq(&["export", "--db", db, "--after", "5"]);
    let first_after: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&after.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first_after["seq"], 6);

    let stats = hallq(&["stats", "--db", db, "--json"]);
    assert!(
        stats.status.success(),
        "{}",
        String::from_utf8_lossy(&stats.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    let services = stats["services"].as_array().unwrap();
    assert_eq!(services.len(), 7);
    let issued: u64 = services.iter().map(|s| s["issued"].as_u64().unwrap()).sum();
    let issued_events = lines
        .iter()
        .filter(|l| l["event"]["type"] == "ticket_issued")
        .count() as u64;
    assert_eq!(issued, issued_events);
    let table = hallq(&["stats", "--db", db]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("p90 wait"));
}

#[test]
fn export_and_stats_refuse_a_missing_database() {
    for sub in ["export", "stats"] {
        let out = hallq(&[sub, "--db", "/nonexistent/hall.db"]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no database at /nonexistent/hall.db")
        );
    }
}
