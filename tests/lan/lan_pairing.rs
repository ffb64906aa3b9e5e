//! Staff list paired terminals and revoke a lost one with `hallq pair`, on the hall node's database
//! while the node runs; the revoked token is refused from its next request on.

use crate::lan_support;

use std::path::Path;
use std::time::Duration;

use hallq::lan::Role;
use hallq::lan::auth::PairedDevice;
use hallq::lan::client::ClientError;
use lan_support::{TestHall, issue};

/// Runs `hallq pair <args>` and returns its exit success, stdout and stderr.
async fn hallq_pair(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hallq"))
        .arg("pair")
        .args(args)
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `hallq pair <args> --db <db>`, on the hall node's side.
async fn pair_cli(db: &Path, args: &[&str]) -> (bool, String, String) {
    let db = db.to_str().unwrap();
    hallq_pair(&[args, &["--db", db]].concat()).await
}

async fn listed(db: &Path) -> Vec<PairedDevice> {
    let (ok, out, err) = pair_cli(db, &["list", "--json"]).await;
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_revoked_from_the_command_line_is_refused_on_its_next_request() {
    let hall = TestHall::start().await;
    let db = hall.dir.path().join("hall.db");
    let kiosk = hall.pair(Role::Kiosk).await;
    let _display = hall.pair(Role::Display).await;
    kiosk.execute(issue("SB")).await.unwrap();
    // Its push stream is open when it is revoked.
    let mut stream = reqwest::Client::new()
        .get(format!("{}/api/v1/events?after=0", hall.url()))
        .bearer_auth(kiosk.token())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    let (ok, table, err) = pair_cli(&db, &["list"]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ID  NAME"), "{table}");
    assert!(
        lines[1].starts_with("1   Kiosk    kiosk") && lines[1].ends_with("active"),
        "{table}"
    );
    assert!(lines[2].starts_with("2   Display  display"), "{table}");
    assert!(
        !lines[1].contains("never"),
        "the kiosk's requests are seen: {table}"
    );

    let (ok, out, err) = pair_cli(&db, &["revoke", "Kiosk"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("revoked device 1 \"Kiosk\""), "{out}");

    let tickets = hall.engine.state().await.unwrap().tickets.len();
    let refused = kiosk.execute(issue("SB")).await.unwrap_err();
    let ClientError::Rejected(error) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(error.status, 401, "{error:?}");
    assert_eq!(
        hall.engine.state().await.unwrap().tickets.len(),
        tickets,
        "the refused command changed nothing"
    );
    let again = reqwest::Client::new()
        .get(format!("{}/api/v1/events", hall.url()))
        .bearer_auth(kiosk.token())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);

    // The open stream ends on its own instead of feeding a revoked terminal.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while stream.chunk().await.ok().flatten().is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the revoked device's push stream stays open");

    let devices = listed(&db).await;
    assert!(devices[0].revoked_ms.is_some(), "{devices:?}");
    assert!(devices[1].revoked_ms.is_none(), "{devices:?}");
    let (ok, table, _) = pair_cli(&db, &["list"]).await;
    assert!(ok);
    assert!(
        table.lines().nth(1).unwrap().contains("revoked "),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_unknown_device_fails_clearly_and_changes_nothing() {
    let hall = TestHall::start().await;
    let db = hall.dir.path().join("hall.db");
    let kiosk = hall.pair(Role::Kiosk).await;
    let before = listed(&db).await;

    let (ok, out, err) = pair_cli(&db, &["revoke", "kiosk-7"]).await;
    assert!(!ok, "{out}");
    assert!(
        err.contains("no paired device has the id or name \"kiosk-7\""),
        "{err}"
    );
    let (ok, _, err) = pair_cli(&db, &["revoke", "9"]).await;
    assert!(!ok);
    assert!(err.contains("\"9\""), "{err}");

    assert_eq!(listed(&db).await, before);
    kiosk.execute(issue("SB")).await.unwrap();

    let missing = hall.dir.path().join("elsewhere.db");
    let (ok, _, err) = pair_cli(&missing, &["revoke", "Kiosk"]).await;
    assert!(!ok);
    assert!(err.contains("no hall database"), "{err}");
    assert!(!missing.exists(), "a mistyped path makes no new database");
}

/// Runs `hallq pair join` as a terminal board whose token goes to `dir/token`.
async fn join_cli(hall: &TestHall, dir: &Path, code: &str, role: &[&str]) -> (bool, String) {
    let config = dir.join("terminal.toml");
    let text = format!(
        "{}\n[lan]\ntls = false\nhall_url = \"{}\"\ntoken_file = \"{}\"\n",
        hallq::config::EXAMPLE_HALL_TOML,
        hall.url(),
        dir.join("token").display()
    );
    std::fs::write(&config, text).unwrap();
    let config = config.to_str().unwrap();
    let join = [
        "join", "--config", config, "--code", code, "--name", "board",
    ];
    let (ok, _, err) = hallq_pair(&[&join[..], role].concat()).await;
    (ok, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_board_receives_the_halls_id_card_key_when_it_pairs() {
    let hall = TestHall::start().await;
    let boards: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let roles: [&[&str]; 2] = [
        &["--role", "kiosk"],
        &["--role", "counter", "--window", "1"],
    ];
    for (board, role) in boards.iter().zip(roles) {
        let code = hall.server().mint_code(10).unwrap();
        let (ok, err) = join_cli(&hall, board.path(), &code, role).await;
        assert!(ok, "{err}");
        assert!(
            !board.path().join("idcard.key").exists(),
            "a kiosk sends cards to the hall node to hash and keeps no key"
        );
    }
    // Even a hall key the hall node cannot read does not stop a kiosk pairing: it is not handed out.
    std::fs::write(hall.dir.path().join("idcard.key"), b"short").unwrap();
    let code = hall.server().mint_code(10).unwrap();
    let (_, paired) =
        hallq::lan::client::HallClient::pair(hall.url(), &code, "kiosk-2", Role::Kiosk)
            .await
            .unwrap();
    assert_eq!(paired.name, "kiosk-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_whose_role_and_window_disagree_fails_clearly_and_spends_no_code() {
    let hall = TestHall::start().await;
    let board = tempfile::tempdir().unwrap();
    let code = hall.server().mint_code(10).unwrap();
    let (ok, err) = join_cli(&hall, board.path(), &code, &["--role", "counter"]).await;
    assert!(!ok);
    assert!(
        err.contains("a counter is paired for one window: give \"window\""),
        "{err}"
    );
    let (ok, err) = join_cli(
        &hall,
        board.path(),
        &code,
        &["--role", "kiosk", "--window", "2"],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("a kiosk is not tied to a window: leave out \"window\""),
        "{err}"
    );
    assert!(listed(&hall.dir.path().join("hall.db")).await.is_empty());
    let (ok, err) = join_cli(
        &hall,
        board.path(),
        &code,
        &["--role", "counter", "--window", "2"],
    )
    .await;
    assert!(ok, "the code was not spent: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_be_checked_gets_unavailable_not_unknown_and_changes_nothing() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    kiosk.execute(issue("SB")).await.unwrap();
    let send = || {
        reqwest::Client::new()
            .post(format!("{}/api/v1/commands", hall.url()))
            .bearer_auth(kiosk.token())
            .json(&serde_json::json!({
                "command_id": "unreadable-1",
                "command": {"command": "issue_ticket", "service": "SB"}
            }))
            .send()
    };
    // Staff's tools hold the registry's table away for a moment, as a damaged or locked file would.
    let staff = rusqlite::Connection::open(hall.dir.path().join("hall.db")).unwrap();
    staff
        .execute_batch("ALTER TABLE lan_devices RENAME TO lan_devices_away")
        .unwrap();
    let tickets = hall.engine.state().await.unwrap().tickets.len();
    let refused = send().await.unwrap();
    assert_eq!(
        refused.status(),
        503,
        "a terminal is not told its token is unknown when it could not be checked"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "unavailable", "{body}");
    assert_eq!(hall.engine.state().await.unwrap().tickets.len(), tickets);

    staff
        .execute_batch("ALTER TABLE lan_devices_away RENAME TO lan_devices")
        .unwrap();
    assert_eq!(send().await.unwrap().status(), 200, "the retry is served");
    assert_eq!(
        hall.engine.state().await.unwrap().tickets.len(),
        tickets + 1
    );
}
