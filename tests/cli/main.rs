//! The `hallq` binary end to end: the demo hall runs and records, export and stats read its database.

// The node under the systemd unit's sandbox, and the voice clip packs `hallq voice` makes.
mod systemd_sandbox;
mod voice_pack;
// The platform's reference receiver and its files, made by `hallq platform`.
mod platform_cli;

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
    // Output that is not a console (a pipe here, the journal under systemd) never carries the
    // start-up pairing code.
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(said.contains("a start-up pairing code was made"), "{said}");
    assert!(!said.contains("pair terminals with code"), "{said}");
    assert!(!said.contains("display#code="), "{said}");

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

#[test]
fn under_systemd_the_node_reports_ready_and_feeds_the_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let db = dir.path().join("hall.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hallq"))
        .args([
            "run",
            "--headless",
            "--no-sim",
            "--seconds",
            "2",
            "--db",
            db.to_str().unwrap(),
        ])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .spawn()
        .unwrap();
    // Keep reading until the node has stopped, as systemd would.
    let mut messages = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => messages.push(String::from_utf8_lossy(&buf[..n]).to_string()),
            Err(_) if child.try_wait().unwrap().is_some() => break,
            Err(_) => {}
        }
    }
    assert!(
        messages.first().is_some_and(|m| m.contains("READY=1")),
        "{messages:?}"
    );
    assert!(
        messages.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 3,
        "{messages:?}"
    );
}

/// The example hall, listening on a free loopback port.
fn example_config_in(dir: &std::path::Path) -> String {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/hardware/hall.example.toml"
    ))
    .unwrap();
    let path = dir.join("hall.toml");
    std::fs::write(
        &path,
        format!("{example}\n[lan]\nlisten = \"127.0.0.1:0\"\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_configured_kiosk_without_its_screen_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hall.db");
    let config = example_config_in(dir.path());
    // No role named means every role, the kiosk among them.
    for extra in [
        &["--headless"][..],
        &["--role", "hall,kiosk", "--screens", "display"][..],
    ] {
        let mut args = vec!["run", "--config", &config, "--db", db.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--seconds", "1"]);
        let run = Command::new(env!("CARGO_BIN_EXE_hallq"))
            .args(&args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} started: {stderr}");
        assert!(
            stderr.contains("kiosk role") && stderr.contains("--role hall,counter,display"),
            "{stderr}"
        );
        assert!(!db.exists(), "a refused start leaves no database behind");
    }
}

#[test]
fn a_configured_kiosk_without_a_display_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hall.db");
    let run = Command::new(env!("CARGO_BIN_EXE_hallq"))
        .args([
            "run",
            "--config",
            &example_config_in(dir.path()),
            "--db",
            db.to_str().unwrap(),
        ])
        .args(["--role", "hall,kiosk", "--seconds", "1"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("SLINT_BACKEND")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(stderr.contains("no display"), "{stderr}");
}

#[test]
fn a_headless_hall_node_without_the_kiosk_role_starts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hall.db");
    let run = hallq(&[
        "run",
        "--config",
        &example_config_in(dir.path()),
        "--db",
        db.to_str().unwrap(),
        "--role",
        "hall,counter,display",
        "--headless",
        "--seconds",
        "1",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(db.exists());
}

/// Reads the node's event lines (`seq kind payload`) until `count` have been printed; returns the
/// highest sequence seen.
fn wait_for_events(out: &mut impl std::io::BufRead, count: u64) -> u64 {
    let mut highest = 0;
    let mut line = String::new();
    while highest < count {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the node ended early"
        );
        if let Some(seq) = line.split_whitespace().next().and_then(|s| s.parse().ok()) {
            highest = seq;
        }
    }
    highest
}

#[test]
fn sigterm_stops_the_node_cleanly_with_the_wal_folded_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hall.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hallq"))
        .args(["run", "--headless", "--db", db.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    // The demo hall's simulated citizens and staff are writing.
    let seen = wait_for_events(&mut out, 12);
    let pid = i32::try_from(child.id()).unwrap();
    let sent = std::time::Instant::now();
    // As `systemctl stop` does.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if sent.elapsed() > std::time::Duration::from_secs(15) {
            child.kill().unwrap();
            panic!("the node did not stop within 15 s of SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(0), "a clean stop exits 0: {status:?}");
    assert!(
        took < std::time::Duration::from_secs(5),
        "stopping took {took:?}"
    );
    let wal = dir.path().join("hall.db-wal");
    let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_bytes, 0, "the WAL is folded back into the database");
    // Read the main file alone: every event the node printed is in it.
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let stored: i64 = conn
        .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .unwrap();
    let stored = u64::try_from(stored).unwrap();
    assert!(stored >= seen, "{stored} events stored, {seen} printed");
}

#[test]
fn export_refuses_a_resume_point_past_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hall.db");
    drop(hallq::store::Store::open(&db, "650102-ZWFW-01").unwrap());
    let db = db.to_str().unwrap();
    let ok = hallq(&["export", "--db", db, "--after", "9223372036854775807"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(ok.stdout.is_empty());
    for past in ["9223372036854775808", "18446744073709551615"] {
        let out = hallq(&["export", "--db", db, "--after", past]);
        assert_eq!(out.status.code(), Some(2), "{past}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--after") && stderr.contains("9223372036854775807"),
            "{past}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{past}: nothing exported");
    }
}

/// Runs `hallq` with `stdin` piped in, as a script would feed it a PIN.
fn hallq_with_input(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hallq"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn staff_pins_are_set_listed_unlocked_and_removed_and_a_bad_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hall.db");
    let db = db.to_str().unwrap();
    let set = hallq_with_input(&["staff", "set-pin", "--db", db, "1001"], "482913\n");
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let bad = hallq_with_input(&["staff", "set-pin", "--db", db, "1002"], "48a913\n");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("4 to 8 digits"));
    let bad_number = hallq_with_input(&["staff", "set-pin", "--db", db, "10 02"], "4829\n");
    assert!(!bad_number.status.success());
    let list = hallq(&["staff", "list", "--db", db]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.starts_with("1001\t"), "{listed}");
    assert_eq!(
        listed.lines().count(),
        1,
        "only the good PIN was kept: {listed}"
    );
    assert!(listed.contains("ok"), "{listed}");
    let stored = std::fs::read(dir.path().join("hall.db")).unwrap();
    assert!(
        !stored.windows(6).any(|w| w == b"482913"),
        "the PIN is stored in clear"
    );
    assert!(
        hallq(&["staff", "unlock", "--db", db, "1001"])
            .status
            .success()
    );
    assert!(
        hallq(&["staff", "remove", "--db", db, "1001"])
            .status
            .success()
    );
    let again = hallq(&["staff", "remove", "--db", db, "1001"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("has no PIN"));
    assert!(hallq(&["staff", "list", "--db", db]).stdout.is_empty());
}
