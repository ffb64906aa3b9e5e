//! ID cards over the hall LAN on real loopback sockets: a kiosk sends the card's number and name to
//! the hall node inside TLS, the hall node alone hashes the number with the hall key, and no
//! terminal ever holds the key or receives an ID hash.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hallq::devices::idcard::sim::{CardReaderSim, TestCard};
use hallq::devices::idcard::{IdCardReaderConfig, spawn_card_reader};
use hallq::devices::link::{KioskPresence, forward_reports};
use hallq::identity::CardRead;
use hallq::lan::Role;
use hallq::lan::client::{ClientError, HallClient};
use hallq::lan::terminal::LanHall;
use hallq::lan::tls::{CertificatePin, client_config, load_pin, pin_path_beside};
use hallq::queue::{Booking, CardTap, Command, Reply};
use hallq::store::CommandResult;

use crate::lan_support::TestHall;

/// An HTTP client that trusts the test hall node's certificate alone, for raw requests.
fn pinned_http(hall: &TestHall) -> reqwest::Client {
    let pin = CertificatePin::Full(hall.server().certificate.expect("the hall LAN runs TLS"));
    reqwest::Client::builder()
        .use_preconfigured_tls(client_config(pin).unwrap())
        .build()
        .unwrap()
}

/// The simulator's resident card as the kiosk's reader decodes it.
fn card() -> CardRead {
    let card = TestCard::resident();
    CardRead::new(
        card.id_number.into(),
        card.chinese_name.into(),
        Some(card.birth),
    )
    .unwrap()
}

fn tap(service: Option<&str>) -> CardTap {
    CardTap {
        card: card(),
        service: service.map(str::to_string),
        expired: false,
    }
}

/// Books `service` today at `start`–`end` for the resident card, as the platform sends a booking:
/// with the hash the hall key makes of its number.
async fn book(hall: &TestHall, id: &str, start: &str, end: &str) {
    let key = hall.engine.hall_key().unwrap();
    let booking = Booking {
        id: id.into(),
        service: "CRJ".into(),
        day: "2026-11-25".parse().unwrap(),
        start: start.into(),
        end: end.into(),
        id_hash: key.hash(&TestCard::resident().id_number),
        masked_name: "张*三".into(),
        version: 1,
    };
    let outcome = hall
        .engine
        .execute(format!("book-{id}"), Command::Book { booking })
        .await
        .unwrap();
    assert!(
        matches!(outcome.result, CommandResult::Done(_)),
        "{outcome:?}"
    );
}

/// Everything the push stream sends `client`'s token up to the first `ticket_issued` event.
async fn stream_until_a_ticket(hall: &TestHall, token: &str) -> String {
    let mut response = pinned_http(hall)
        .get(format!("{}/api/v1/events?after=0", hall.url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("event: ticket_issued") || !text.ends_with("\n\n") {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("the ticket's event comes")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosks_pairing_reply_carries_no_key() {
    let hall = TestHall::start_tls().await;
    let key = hall.engine.hall_key().unwrap();
    let code = hall.server().mint_code(10).unwrap();
    let reply: serde_json::Value = pinned_http(&hall)
        .post(format!("{}/api/v1/pair", hall.url()))
        .json(&serde_json::json!({"role": "kiosk", "code": code, "name": "kiosk-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fields: Vec<&str> = reply
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["name", "role", "token"], "{reply}");
    let key_file = std::fs::read(hall.dir.path().join("idcard.key")).unwrap();
    assert!(!reply.to_string().contains(&hex::encode(&key_file)));
    assert_eq!(
        key.hash("x"),
        hallq::identity::HallKey::new(key_file).unwrap().hash("x")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_tap_over_tls_issues_a_ticket_and_no_terminal_receives_its_id_hash() {
    let hall = TestHall::start_tls().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let counter = hall.pair(Role::Counter { window: 1 }).await;
    let answer = kiosk.tap_card("tap-1", tap(Some("HJ"))).await.unwrap();
    let CommandResult::Done(Reply::Ticket { ticket, .. }) = &answer.outcome.result else {
        panic!("{answer:?}");
    };
    assert_eq!(ticket.number, "C001");
    let citizen = ticket.citizen.as_ref().unwrap();
    assert_eq!(
        (citizen.masked_name.as_str(), citizen.id_hash.as_str()),
        ("张*三", "")
    );
    assert!(
        citizen.senior,
        "born 1949: the birth date reached the hall node"
    );

    // The hall node hashed the number with its own key and keeps only that.
    let number = TestCard::resident().id_number;
    let hash = hall.engine.hall_key().unwrap().hash(&number);
    let kept = hall.engine.state().await.unwrap();
    assert_eq!(
        kept.ticket_by_number("C001")
            .unwrap()
            .citizen
            .as_ref()
            .unwrap()
            .id_hash,
        hash
    );

    // A retried tap acts once.
    let again = kiosk.tap_card("tap-1", tap(Some("HJ"))).await.unwrap();
    assert_eq!(again, answer);
    assert_eq!(hall.engine.state().await.unwrap().tickets.len(), 1);

    for terminal in [&kiosk, &counter] {
        let streamed = stream_until_a_ticket(&hall, terminal.token()).await;
        assert!(
            streamed.contains("张*三"),
            "the masked name is sent: {streamed}"
        );
        assert!(
            !streamed.contains(&hash) && !streamed.contains("id_hash"),
            "{streamed}"
        );
        assert!(!streamed.contains(&number), "{streamed}");
        let state = serde_json::to_string(&terminal.state().await.unwrap()).unwrap();
        assert!(state.contains("张*三") && !state.contains(&hash), "{state}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tap_answers_what_happened_checked_in_early_or_already_holding() {
    let hall = TestHall::start_tls().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    // It is 10:00; check-in opens 30 minutes before a slot.
    book(&hall, "BK-late-morning", "11:00", "11:30").await;
    let early = kiosk.tap_card("t1", tap(None)).await.unwrap();
    let CommandResult::Refused(refusal) = &early.outcome.result else {
        panic!("{early:?}");
    };
    assert_eq!(refusal.code, "too_early");
    let slot = early.detail.slot.clone().unwrap();
    assert_eq!(
        (slot.slot.as_str(), slot.check_in_from.as_str()),
        ("11:00–11:30", "10:30")
    );

    book(&hall, "BK-now", "10:00", "10:30").await;
    let checked_in = kiosk.tap_card("t2", tap(None)).await.unwrap();
    let CommandResult::Done(Reply::Ticket { ticket, .. }) = &checked_in.outcome.result else {
        panic!("{checked_in:?}");
    };
    assert_eq!(
        ticket
            .appointment
            .as_ref()
            .map(|a| a.appointment_id.as_str()),
        Some("BK-now")
    );

    kiosk.tap_card("t3", tap(Some("HJ"))).await.unwrap();
    let twice = kiosk.tap_card("t4", tap(Some("HJ"))).await.unwrap();
    let CommandResult::Refused(refusal) = &twice.outcome.result else {
        panic!("{twice:?}");
    };
    assert_eq!(refusal.code, "already_holds_ticket");
    assert_eq!(twice.detail.held_ticket.as_deref(), Some("C001"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_is_never_sent_or_taken_over_plain_http() {
    let hall = TestHall::start().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let before = hall.last_seq().await;
    let refused = kiosk.tap_card("t1", tap(Some("HJ"))).await.unwrap_err();
    assert!(matches!(refused, ClientError::NotSent(_)), "{refused}");
    assert!(refused.to_string().contains("inside TLS only"), "{refused}");

    // A kiosk that sends one all the same is refused, and nothing changes.
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/card-taps", hall.url()))
        .bearer_auth(kiosk.token())
        .json(&serde_json::json!({"command_id": "t2", "service": "HJ",
            "card": {"id_number": TestCard::resident().id_number, "name": "张小三"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["code"], "tls_required", "{error}");
    assert!(!error.to_string().contains(&TestCard::resident().id_number));
    assert_eq!(hall.last_seq().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_id_number_gets_a_clear_error_and_changes_nothing() {
    let hall = TestHall::start_tls().await;
    let kiosk = hall.pair(Role::Kiosk).await;
    let counter = hall.pair(Role::Counter { window: 1 }).await;
    let before = hall.last_seq().await;
    let good = TestCard::resident().id_number;
    let mut wrong_check = good.clone();
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == '0' { '1' } else { '0' });
    let cases = [
        (
            kiosk.token(),
            serde_json::json!(wrong_check),
            422,
            "bad_id_number",
        ),
        (
            kiosk.token(),
            serde_json::json!("1101051949"),
            422,
            "bad_id_number",
        ),
        (
            kiosk.token(),
            serde_json::json!(110105194912310021_u64),
            422,
            "invalid_request",
        ),
        // A window terminal reads no cards.
        (counter.token(), serde_json::json!(good), 403, "forbidden"),
    ];
    for (token, number, status, code) in cases {
        let response = pinned_http(&hall)
            .post(format!("{}/api/v1/card-taps", hall.url()))
            .bearer_auth(token)
            .json(&serde_json::json!({"command_id": "bad-1", "service": "HJ",
                "card": {"id_number": number, "name": "张小三"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{number}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["code"], code, "{number}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(!message.is_empty());
        assert!(
            !message.contains(&wrong_check) && !message.contains(&good),
            "{message}"
        );
        assert!(!message.contains("110105194912310021"), "{message}");
        assert!(!message.contains("张小三"), "{message}");
    }
    assert_eq!(
        hall.last_seq().await,
        before,
        "no refused tap changed the hall"
    );
}

/// Every regular file under `dir` (the simulator's device link is a symbolic link, not the board's).
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            found.push(entry.path());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_boards_state_directory_holds_neither_the_key_nor_a_card_number() {
    let hall = TestHall::start_tls().await;
    let staff = hall.pair(Role::Admin).await;
    let board = tempfile::tempdir().unwrap();
    let state_dir = board.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let token_file = state_dir.join("device-token");

    // Paired as an installer would: `hallq pair join` writes the token and the certificate pin.
    let config = board.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[lan]\nhall_url = \"{}\"\ntoken_file = \"{}\"\n",
            hallq::config::EXAMPLE_HALL_TOML,
            hall.url(),
            token_file.display()
        ),
    )
    .unwrap();
    let code = hall.server().mint_code(10).unwrap();
    let joined = tokio::process::Command::new(env!("CARGO_BIN_EXE_hallq"))
        .args(["pair", "join", "--config", config.to_str().unwrap()])
        .args(["--code", &code, "--name", "kiosk-board", "--role", "kiosk"])
        .output()
        .await
        .unwrap();
    assert!(
        joined.status.success(),
        "{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    let token = std::fs::read_to_string(&token_file).unwrap();
    let pin = load_pin(&pin_path_beside(&token_file)).unwrap();
    let client = HallClient::pinned(hall.url(), token.trim(), pin);

    // The board's reader takes a card without a kiosk screen: a ticket, through the hall node.
    let reader_sim =
        CardReaderSim::start(TestCard::examples(), &board.path().join("idcard")).unwrap();
    let (reports_tx, reports) = tokio::sync::mpsc::channel(16);
    let reader_config = IdCardReaderConfig {
        port: reader_sim.port_path(),
        poll_ms: 50,
        ..IdCardReaderConfig::default()
    };
    let _reader = spawn_card_reader(reader_config, reports_tx).unwrap();
    let setup = Arc::new(hallq::config::example());
    tokio::spawn(forward_reports(
        Arc::new(LanHall::new(client, setup, None)),
        reports,
        KioskPresence::Headless,
    ));
    reader_sim.place(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while staff.state().await.unwrap().tickets.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the card took no ticket"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let key = std::fs::read(hall.dir.path().join("idcard.key")).unwrap();
    let number = TestCard::resident().id_number;
    let ucs2: Vec<u8> = number.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let written = files_under(board.path());
    assert!(written.len() >= 3, "token, pin and config: {written:?}");
    for file in written {
        let bytes = std::fs::read(&file).unwrap();
        let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(!holds(&key), "{} holds the hall key", file.display());
        assert!(
            !holds(hex::encode(&key).as_bytes()),
            "{} holds the hall key",
            file.display()
        );
        assert!(
            !holds(number.as_bytes()),
            "{} holds the card's number",
            file.display()
        );
        assert!(!holds(&ucs2), "{} holds the card's number", file.display());
    }
}
