//! The display wall web page in headless Chromium: a call made through the API shows on the page,
//! over plain HTTP and inside the hall node's TLS for a browser told to trust the hall's key.
//! Needs the `chromium` package; without /usr/bin/chromium the test says so and passes.

use crate::lan_support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hallq::lan::Role;
use hallq::queue::Command;
use hallq::store::CommandResult;
use lan_support::{TestHall, issue, sign_in};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless Chromium driven over the DevTools protocol, so a test can wait for the page to show
/// something instead of guessing how long its scripts take.
struct Browser {
    _process: tokio::process::Child,
    page: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn open(url: &str) -> Browser {
        Browser::open_with(url, &[]).await
    }

    /// Opens `url` with Chromium's `extra` flags.
    async fn open_with(url: &str, extra: &[String]) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut process = tokio::process::Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--remote-debugging-port=0",
            ])
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");
        // Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…" once ready.
        let mut lines = BufReader::new(process.stderr.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                    return rest.split('/').next().unwrap().to_string();
                }
            }
            panic!("chromium exited without a DevTools port");
        })
        .await
        .expect("chromium opens its DevTools port");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let targets: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page_url = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("chromium has a page open")
            .to_string();
        let (page, _) = tokio_tungstenite::connect_async(page_url).await.unwrap();
        Browser {
            _process: process,
            page,
            next_id: 0,
            _profile: profile,
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    async fn eval(&mut self, expression: &str) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({"id": id, "method": "Runtime.evaluate",
                             "params": {"expression": expression, "returnByValue": true}});
        self.page
            .send(Message::text(request.to_string()))
            .await
            .unwrap();
        while let Some(message) = self.page.next().await {
            let Ok(Message::Text(text)) = message else {
                continue;
            };
            let reply: serde_json::Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                return reply["result"]["result"]["value"].clone();
            }
        }
        panic!("the DevTools connection closed");
    }

    /// Waits until `expression` evaluates to `expected`, or fails after ten seconds with the last value.
    async fn wait_for(&mut self, expression: &str, expected: serde_json::Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let value = self.eval(expression).await;
            if value == expected {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{expression} is {value}, expected {expected}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn text_of(id: &str) -> String {
    format!("(document.getElementById('{id}') || {{}}).textContent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_display_shows_a_call_made_through_the_api() {
    if !Path::new(CHROMIUM).exists() {
        println!("SKIPPED: {CHROMIUM} is missing (apt-get install -y chromium)");
        return;
    }
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let window3 = hall.pair(Role::Counter { window: 3 }).await;
    let display = hall.pair(Role::Display).await;
    kiosk.execute(issue("SB")).await.unwrap();
    sign_in(&window3, 3).await;
    window3
        .execute(Command::CallNext { window: 3 })
        .await
        .unwrap();

    let url = format!("{}/display#token={}", hall.url(), display.token());
    let mut browser = Browser::open(&url).await;
    browser
        .wait_for(&text_of("latest-number"), json!("A001"))
        .await;
    browser
        .wait_for(
            &format!("{}.includes('3 号窗口')", text_of("latest-window")),
            json!(true),
        )
        .await;
    browser
        .wait_for(&text_of("hall-name"), json!("天山区政务服务中心"))
        .await;

    // A call made while the page is open arrives through the push stream.
    kiosk.execute(issue("SB")).await.unwrap();
    for command in [
        Command::StartService { window: 3 },
        Command::Finish { window: 3 },
        Command::CallNext { window: 3 },
    ] {
        let outcome = window3.execute(command).await.unwrap();
        assert!(
            matches!(outcome.result, CommandResult::Done(_)),
            "{outcome:?}"
        );
    }
    browser
        .wait_for(&text_of("latest-number"), json!("A002"))
        .await;
    browser
        .wait_for(
            "document.querySelectorAll('#calls tr.call').length",
            json!(1),
        )
        .await;
    browser
        .wait_for(
            "document.getElementById('link').classList.contains('lost')",
            json!(false),
        )
        .await;

    // Names take turns in the hall's languages; Uyghur and Kazakh read right to left.
    let uyghur = browser
        .eval(
            "langTurn = 1; render(lastView); \
             [...document.querySelectorAll('#waiting td')].slice(0, 1).map(td => [td.dir, td.textContent])",
        )
        .await;
    assert_eq!(uyghur, json!([["rtl", "ئىجتىمائىي كاپالەت"]]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaired_browser_is_asked_for_a_pairing_code_and_shown_no_calls() {
    if !Path::new(CHROMIUM).exists() {
        println!("SKIPPED: {CHROMIUM} is missing (apt-get install -y chromium)");
        return;
    }
    let hall = TestHall::start().await;
    let mut browser = Browser::open(&format!("{}/display", hall.url())).await;
    browser
        .wait_for("document.getElementById('pair').hidden", json!(false))
        .await;
    browser
        .wait_for("document.getElementById('board').hidden", json!(true))
        .await;
    assert_eq!(browser.eval(&text_of("latest-number")).await, json!("—"));
}

/// The SHA-256 of the hall certificate's public key (its SubjectPublicKeyInfo), base64: what a
/// Chromium-based signage browser takes in `--ignore-certificate-errors-spki-list` to trust the hall
/// node's own certificate and no other (docs/lan.md).
fn hall_key_pin(hall: &TestHall) -> String {
    use base64::Engine;
    use rcgen::PublicKeyData;
    use sha2::Digest;
    let key_pem = std::fs::read_to_string(hall.dir.path().join("hall-key.pem")).unwrap();
    let key = rcgen::KeyPair::from_pem(&key_pem).unwrap();
    base64::engine::general_purpose::STANDARD
        .encode(sha2::Sha256::digest(key.subject_public_key_info()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_display_works_inside_tls_for_a_browser_that_trusts_the_hall_key_alone() {
    if !Path::new(CHROMIUM).exists() {
        println!("SKIPPED: {CHROMIUM} is missing (apt-get install -y chromium)");
        return;
    }
    let hall = TestHall::start_tls().await;
    assert!(hall.url().starts_with("https://"));
    let kiosk = hall.pair(Role::Kiosk).await;
    let window3 = hall.pair(Role::Counter { window: 3 }).await;
    let display = hall.pair(Role::Display).await;
    kiosk.execute(issue("SB")).await.unwrap();
    sign_in(&window3, 3).await;
    window3
        .execute(Command::CallNext { window: 3 })
        .await
        .unwrap();
    let url = format!("{}/display#token={}", hall.url(), display.token());

    let trusting = format!(
        "--ignore-certificate-errors-spki-list={}",
        hall_key_pin(&hall)
    );
    let mut browser = Browser::open_with(&url, &[trusting]).await;
    browser
        .wait_for(&text_of("latest-number"), json!("A001"))
        .await;
    // The push stream runs inside TLS too: a call made now reaches the open page.
    kiosk.execute(issue("SB")).await.unwrap();
    for command in [
        Command::StartService { window: 3 },
        Command::Finish { window: 3 },
        Command::CallNext { window: 3 },
    ] {
        window3.execute(command).await.unwrap();
    }
    browser
        .wait_for(&text_of("latest-number"), json!("A002"))
        .await;
    browser.wait_for("location.protocol", json!("https:")).await;

    // A browser told to trust another key gets Chromium's certificate error page, never the board.
    let stranger = rcgen::KeyPair::generate().unwrap();
    let other_pin = {
        use base64::Engine;
        use rcgen::PublicKeyData;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(stranger.subject_public_key_info()))
    };
    let mut misled = Browser::open_with(
        &url,
        &[format!("--ignore-certificate-errors-spki-list={other_pin}")],
    )
    .await;
    misled
        .wait_for("location.href.startsWith('chrome-error://')", json!(true))
        .await;
    assert_eq!(
        misled
            .eval("document.getElementById('latest-number') === null")
            .await,
        json!(true)
    );
}
