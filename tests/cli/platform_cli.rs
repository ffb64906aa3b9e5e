//! `hallq platform`: a secret and certificates made on the command line, the reference receiver
//! serving HTTPS with them and asking for the hall's certificate (mutual TLS), and a hall sending to
//! it from its `[platform]` settings with the platform's certificate pinned.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallq::config::PlatformConfig;
use hallq::platform::signing::PlatformSecret;
use hallq::platform::uplink::{PLATFORM_BACKOFF, Uplink, UplinkSettings};
use hallq::queue::Command as HallCommand;

fn hallq(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hallq"))
        .args(args)
        .output()
        .unwrap()
}

/// Stops the receiver however the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_reference_receiver_serves_https_with_the_files_the_cli_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let made = hallq(&["platform", "new-secret", &path("platform.key")]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let again = hallq(&["platform", "new-secret", &path("platform.key")]);
    assert!(
        !again.status.success(),
        "an existing secret is never overwritten"
    );
    let made = hallq(&[
        "platform",
        "new-cert",
        "127.0.0.1",
        "--cert",
        &path("platform.pem"),
        "--key",
        &path("platform-key.pem"),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let setup = hallq::config::example();
    let hall_id = setup.config.hall.id.clone();
    // With a client CA the receiver takes a hall's requests only on a certificate naming that hall.
    let made = hallq(&[
        "platform",
        "new-cert",
        &hall_id,
        "--cert",
        &path("hall.pem"),
        "--key",
        &path("hall-key.pem"),
    ]);
    assert!(made.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut receiver = Child(
        Command::new(env!("CARGO_BIN_EXE_hallq"))
            .args([
                "platform",
                "serve",
                "--db",
                &path("platform.db"),
                "--listen",
                &listen,
            ])
            .args(["--hall", &hall_id, "--secret-file", &path("platform.key")])
            .args(["--tls-cert", &path("platform.pem")])
            .args(["--tls-key", &path("platform-key.pem")])
            .args(["--client-ca", &path("hall.pem")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut said = String::new();
    std::io::BufReader::new(receiver.0.stdout.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    assert!(said.contains(&format!("https://{listen}")), "{said}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut setup = setup;
        setup.open_around_the_clock();
        let clock = Arc::new(hallq::clock::SystemClock::new(true));
        let (engine, _writer) =
            hallq::engine::start(Arc::new(setup), &dir.path().join("hall.db"), clock).unwrap();
        let mut config = PlatformConfig::new(format!("https://{listen}"), path("platform.key"));
        config.ca_file = Some(path("platform.pem"));
        config.client_cert_file = Some(path("hall.pem"));
        config.client_key_file = Some(path("hall-key.pem"));
        assert_eq!(config.problems(), vec![]);
        let mut settings = UplinkSettings::from_config(&config, &hall_id).unwrap();
        settings.timeout = Duration::from_secs(2);
        settings.backoff = PLATFORM_BACKOFF;
        assert!(settings.client_identity.is_some());
        let uplink = Uplink::start(&engine, settings).unwrap();
        let outcome = engine
            .execute(
                "cli-1",
                HallCommand::IssueTicket {
                    service: "SB".into(),
                    citizen: None,
                    by_staff: true,
                },
            )
            .await
            .unwrap();
        let give_up = Instant::now() + Duration::from_secs(5);
        while uplink
            .status()
            .acked_seq
            .load(std::sync::atomic::Ordering::Relaxed)
            < outcome.seq
        {
            assert!(Instant::now() < give_up, "not acknowledged");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let stored: i64 = rusqlite::Connection::open(dir.path().join("platform.db"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM platform_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 2, "the day's opening and the ticket");
}

#[test]
fn a_secret_others_can_read_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("platform.key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef0123\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = hallq(&[
        "platform",
        "serve",
        "--db",
        dir.path().join("p.db").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--hall",
        "h",
        "--secret-file",
        key.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(!dir.path().join("p.db").exists(), "nothing started");
}

#[test]
fn test_bookings_are_added_changed_and_cancelled_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("platform.db");
    let db = db.to_str().unwrap();
    let hash = "ab".repeat(32);
    let booking = |action: &[&str]| {
        let mut args = vec!["platform", "booking", "--db", db, "--hall", "hall-001"];
        args.extend_from_slice(action);
        hallq(&args)
    };
    let slot = |start: &'static str, end: &'static str| {
        [
            "--service",
            "SB",
            "--day",
            "2026-11-27",
            "--start",
            start,
            "--end",
            end,
        ]
    };
    let mut add = vec!["add", "WX1"];
    add.extend(slot("10:00", "10:30"));
    add.extend(["--id-hash", &hash, "--masked-name", "张*三"]);
    let added = booking(&add);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(
        String::from_utf8_lossy(&added.stdout).contains("WX1 of hall hall-001 added (change 1)")
    );
    let mut change = vec!["change", "WX1"];
    change.extend(slot("10:15", "10:45"));
    assert!(booking(&change).status.success());
    assert!(booking(&["cancel", "WX1"]).status.success());
    let again = booking(&["cancel", "WX1"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("cancelled"));

    // An ID number is never taken for a hash, nor a full name for a masked one.
    for (id_hash, name) in [("11010519491231002X", "张*三"), (hash.as_str(), "张三丰")] {
        let mut add = vec!["add", "WX2"];
        add.extend(slot("10:00", "10:30"));
        add.extend(["--id-hash", id_hash, "--masked-name", name]);
        let refused = booking(&add);
        assert!(!refused.status.success());
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !said.contains("11010519491231002X") && !said.contains("张三丰"),
            "{said}"
        );
    }
    let store =
        hallq::platform::receiver::store::ReceiverStore::open(std::path::Path::new(db)).unwrap();
    let (changes, more) = store.booking_changes("hall-001", 0, 10).unwrap();
    assert_eq!((changes.len(), more), (1, false));
    assert_eq!((changes[0].version, changes[0].change_seq), (3, 3));
}

/// Starts `hallq run` as the hall node of `config` on `db`, headless, for a minute at most.
fn hall_node(config: &std::path::Path, db: &std::path::Path) -> Child {
    Child(
        Command::new(env!("CARGO_BIN_EXE_hallq"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .arg("--db")
            .arg(db)
            .args(["--role", "hall", "--headless", "--seconds", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn a_hall_node_killed_while_it_uploads_sends_again_from_its_cursor_and_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    PlatformSecret::create_file(&path("platform.key")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let platform = format!("http://{}", listener.local_addr().unwrap());
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/hardware/hall.example.toml"
    ))
    .unwrap();
    std::fs::write(
        path("hall.toml"),
        format!(
            "{example}\n[lan]\nlisten = \"127.0.0.1:0\"\ntls = false\nhall_url = \"http://127.0.0.1:8470\"\n\
             [platform]\nurl = \"{platform}\"\nsecret_file = \"{}\"\ninsecure_http_for_tests = true\n\
             batch_size = 5\n",
            path("platform.key").display()
        ),
    )
    .unwrap();
    let mut setup = hallq::config::load(&path("hall.toml")).unwrap();
    let hall_id = setup.config.hall.id.clone();

    // A day's backlog, recorded while the platform was out of reach.
    setup.open_around_the_clock();
    for service in &mut setup.config.services {
        service.daily_cap = None;
    }
    let clock = Arc::new(hallq::clock::SystemClock::new(true));
    let (engine, writer) =
        hallq::engine::start(Arc::new(setup), &path("hall.db"), clock.clone()).unwrap();
    runtime.block_on(async {
        for n in 0..600 {
            engine
                .execute(
                    format!("backlog-{n}"),
                    HallCommand::IssueTicket {
                        service: "SB".into(),
                        citizen: None,
                        by_staff: true,
                    },
                )
                .await
                .unwrap();
        }
    });
    drop(engine);
    writer.join();
    let log = hallq::store::Store::open_reader(&path("hall.db"))
        .unwrap()
        .events_after(0, 10_000)
        .unwrap();
    let last = log.last().unwrap().seq;

    let _guard = runtime.enter();
    let receiver = hallq::platform::receiver::Receiver::start(
        listener,
        hallq::platform::receiver::ReceiverSettings {
            db: path("platform.db"),
            secrets: std::collections::HashMap::from([(
                hall_id.clone(),
                PlatformSecret::load(&path("platform.key")).unwrap(),
            )]),
            max_skew_s: 300,
            clock,
            tls: None,
            client_ca_pem: None,
        },
    )
    .unwrap();
    let acked = || receiver.acked_through(&hall_id).unwrap();
    let wait_for = |done: &dyn Fn(u64) -> bool, limit: Duration| {
        let give_up = Instant::now() + limit;
        while !done(acked()) {
            assert!(Instant::now() < give_up, "acknowledged through {}", acked());
            std::thread::sleep(Duration::from_millis(2));
        }
    };

    // SIGKILL while batches are going up: no destructor, no flush, no goodbye to the platform.
    let node = hall_node(&path("hall.toml"), &path("hall.db"));
    wait_for(&|seq| seq > 0, Duration::from_secs(30));
    drop(node);
    let at_kill = acked();
    assert!(at_kill < last, "killed before the backlog was through");

    let node = hall_node(&path("hall.toml"), &path("hall.db"));
    wait_for(&|seq| seq >= last, Duration::from_secs(30));
    drop(node);
    let held = receiver.events(&hall_id).unwrap();
    let held_ids: Vec<(u64, String)> = held.iter().map(|(s, id, _)| (*s, id.clone())).collect();
    let log_ids: Vec<(u64, String)> = log
        .iter()
        .map(|e| (e.seq, e.event_id.to_string()))
        .collect();
    assert_eq!(
        &held_ids[..log_ids.len()],
        &log_ids[..],
        "every event of the backlog once, in order"
    );
    runtime.block_on(receiver.stop());
}
