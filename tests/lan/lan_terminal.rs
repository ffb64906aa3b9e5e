//! A terminal board as its own `hallq` process: paired with `hallq pair join`, then run with
//! `--role counter,display`, talking to a hall node over loopback.

use crate::lan_support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use hallq::lan::Role;
use hallq::lan::client::HallClient;
use hallq::queue::TicketState;
use lan_support::{TestHall, issue_tickets, sign_in};

fn terminal_config(dir: &Path, hall_url: &str) -> std::path::PathBuf {
    let path = dir.join("terminal.toml");
    let text = format!(
        "{}\n[lan]\ntls = false\nhall_url = \"{hall_url}\"\ntoken_file = \"{}\"\n\
         [buttons]\nwindow = 1\ndebounce_ms = 50\n[voice]\nenabled = false\n",
        hallq::config::EXAMPLE_HALL_TOML,
        dir.join("token").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn hallq(args: &[&str]) -> std::process::Output {
    Process::new(env!("CARGO_BIN_EXE_hallq"))
        .args(args)
        .env("HALLQ_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paired_window_terminal_calls_with_its_buttons_and_shows_the_call() {
    let hall = TestHall::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = terminal_config(dir.path(), &hall.url());
    let config = config.to_str().unwrap();

    // The code is minted by a second process on the hall node's database, as staff would.
    let minted = hallq(&[
        "pair",
        "code",
        "--config",
        config,
        "--db",
        hall.dir.path().join("hall.db").to_str().unwrap(),
        "--role",
        "counter",
        "--window",
        "1",
    ]);
    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let code = String::from_utf8(minted.stdout).unwrap().trim().to_string();
    let joined = hallq(&[
        "pair", "join", "--config", config, "--code", &code, "--role", "counter", "--window", "1",
        "--name", "window-1",
    ]);
    assert!(
        joined.status.success(),
        "{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    let token_file = dir.path().join("token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token is its owner's only");

    let kiosk = hall.pair(Role::Kiosk).await;
    issue_tickets(&kiosk, "SB", 1).await;
    let token = std::fs::read_to_string(&token_file).unwrap();
    sign_in(&HallClient::new(hall.url(), token.trim()), 1).await;

    let mut terminal = Process::new(env!("CARGO_BIN_EXE_hallq"))
        .args([
            "run",
            "--config",
            config,
            "--role",
            "counter,display",
            "--seconds",
            "4",
        ])
        .env("HALLQ_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    terminal.stdin.as_mut().unwrap().write_all(b"n\n").unwrap();
    let output = tokio::task::spawn_blocking(move || terminal.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("call A001 -> window 1"), "{stdout}");
    let state = hall.engine.state().await.unwrap();
    assert_eq!(
        state.ticket_by_number("A001").unwrap().state,
        TicketState::Called
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_without_its_hall_node_says_so_and_keeps_trying() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = terminal_config(dir.path(), &format!("http://127.0.0.1:{port}"));
    std::fs::write(dir.path().join("token"), "0123abcd\n").unwrap();
    let output = hallq(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--role",
        "display",
        "--seconds",
        "3",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("hall node unreachable"), "{stderr}");
}

#[test]
fn an_unpaired_terminal_is_told_how_to_pair() {
    let dir = tempfile::tempdir().unwrap();
    let config = terminal_config(dir.path(), "http://127.0.0.1:9");
    let output = hallq(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--role",
        "kiosk",
        "--seconds",
        "1",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hallq pair join"), "{stderr}");
}
