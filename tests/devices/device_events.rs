//! Device reports reach the engine as commands and become the events counters, the display wall
//! and the platform see: the simulators on pty pairs, the real drivers, the real engine.

use crate::common;

use std::time::Duration;

use common::Hall;
use hallq::devices::DeviceReport;
use hallq::devices::idcard::sim::{CardReaderSim, TestCard};
use hallq::devices::idcard::{IdCardReaderConfig, spawn_card_reader};
use hallq::devices::printer::bench::example_ticket;
use hallq::devices::printer::sim::{MidTicketFault, Paper, PrinterSim};
use hallq::devices::printer::{
    PrinterConfig, PrinterService, SerialEscPosPrinter, TicketTextConfig,
};
use hallq::queue::{Command, Event};
use tokio::sync::mpsc;

/// Passes every report that arrives within `quiet` of the last one to the engine, and returns
/// the reports that are not engine commands (cards).
async fn forward(
    hall: &Hall,
    rx: &mut mpsc::Receiver<DeviceReport>,
    quiet: Duration,
) -> Vec<DeviceReport> {
    let mut others = Vec::new();
    while let Ok(Some(report)) = tokio::time::timeout(quiet, rx.recv()).await {
        match report.to_command() {
            Some(command) => {
                hall.ok(command).await;
            }
            None => others.push(report),
        }
    }
    others
}

/// The kinds of events after the business day opened.
fn kinds(hall: &Hall) -> Vec<&'static str> {
    hall.events()
        .iter()
        .map(|e| e.event.kind())
        .filter(|k| *k != "business_day_opened")
        .collect()
}

fn event(hall: &Hall, kind: &str) -> Event {
    hall.events()
        .into_iter()
        .map(|e| e.event)
        .find(|e| e.kind() == kind)
        .unwrap_or_else(|| panic!("no {kind} event"))
}

#[tokio::test(flavor = "multi_thread")]
async fn paper_out_mid_ticket_is_a_failed_print_and_a_fault_never_a_second_ticket() {
    let hall = Hall::new();
    let issued = hall.issue("SB").await;
    let sim = PrinterSim::start(None).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let config = PrinterConfig {
        port: sim.port_path().to_owned(),
        ..PrinterConfig::default()
    };
    let service = PrinterService::new(
        SerialEscPosPrinter::new(config, TicketTextConfig::default()),
        tx,
    );

    sim.update(|s| s.fails_after = Some((100, MidTicketFault::PaperOut)));
    let mut ticket = example_ticket();
    ticket.number = issued.number.clone();
    let printing = service.clone();
    let outcome = tokio::task::spawn_blocking(move || printing.print(&ticket))
        .await
        .unwrap();
    assert!(outcome.is_err());
    forward(&hall, &mut rx, Duration::from_millis(300)).await;

    sim.update(|s| s.paper = Paper::Plenty);
    let checking = service.clone();
    tokio::task::spawn_blocking(move || checking.check())
        .await
        .unwrap();
    forward(&hall, &mut rx, Duration::from_millis(300)).await;

    assert_eq!(
        kinds(&hall),
        [
            "ticket_issued",
            "device_faulted",
            "ticket_print_failed",
            "device_recovered"
        ]
    );
    match event(&hall, "device_faulted") {
        Event::DeviceFaulted { device, fault } => {
            assert_eq!(device, "ticket_printer");
            assert_eq!(fault.code, "paper_out");
            assert_eq!(fault.message, "Kiosk printer: out of paper");
        }
        other => panic!("expected a fault, got {other:?}"),
    }
    match event(&hall, "ticket_print_failed") {
        Event::TicketPrintFailed { detail, .. } => {
            assert_eq!(
                detail.as_deref(),
                Some("printing stopped part-way through the ticket: out of paper")
            )
        }
        other => panic!("expected a failed print, got {other:?}"),
    }
    // Retrying the print record is refused: one ticket, one print outcome.
    let again = hall
        .refused(Command::RecordPrint {
            number: issued.number.clone(),
            printed: true,
            detail: None,
        })
        .await;
    assert!(!again.message.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_read_issues_a_ticket_with_only_the_masked_name_and_unplugging_is_a_fault() {
    let hall = Hall::new();
    let dir = tempfile::tempdir().unwrap();
    let mut sim = CardReaderSim::start(TestCard::examples(), &dir.path().join("idcard")).unwrap();
    let config = IdCardReaderConfig {
        port: sim.port_path(),
        poll_ms: 50,
        reconnect_ms: 100,
        ..IdCardReaderConfig::default()
    };
    let (tx, mut rx) = mpsc::channel(16);
    let _reader = spawn_card_reader(config, tx).unwrap();
    forward(&hall, &mut rx, Duration::from_millis(300)).await;

    sim.place(0);
    let cards = forward(&hall, &mut rx, Duration::from_millis(500)).await;
    let [DeviceReport::Card(facts)] = cards.as_slice() else {
        panic!("expected one card, got {cards:?}");
    };
    // On the hall node's own board the engine hashes the card with the hall key.
    let tap = hallq::queue::CardTap {
        card: facts.card.clone(),
        service: Some("HJ".into()),
        expired: false,
    };
    let answer = hall.engine.tap_card("tap-1", tap).await.unwrap();
    let hallq::store::CommandResult::Done(hallq::queue::Reply::Ticket { ticket, .. }) =
        answer.outcome.result
    else {
        panic!("{answer:?}");
    };
    let citizen = ticket.citizen.expect("the ticket knows its citizen");
    let key = hall.engine.hall_key().unwrap();
    assert_eq!(citizen.id_hash, key.hash(&TestCard::resident().id_number));
    assert_eq!(citizen.masked_name, "张*三");
    assert!(
        citizen.senior,
        "born 1949: senior priority from the card's birth date"
    );
    let log = format!("{:?}", hall.events());
    assert!(!log.contains(&TestCard::resident().id_number));
    assert!(!log.contains("张小三"));

    sim.unplug();
    forward(&hall, &mut rx, Duration::from_millis(500)).await;
    sim.replug().unwrap();
    forward(&hall, &mut rx, Duration::from_millis(500)).await;
    assert_eq!(
        kinds(&hall),
        ["ticket_issued", "device_faulted", "device_recovered"]
    );
    match event(&hall, "device_faulted") {
        Event::DeviceFaulted { device, fault } => {
            assert_eq!(device, "idcard_reader");
            assert_eq!(fault.code, "disconnected");
        }
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issued_ticket_becomes_a_ticket_print_in_hall_time() {
    let hall = Hall::new();
    let ticket = hall.issue("SB").await;
    let print = hallq::devices::ticket_print(&hall.setup, &ticket, 3, hallq::config::Lang::En);
    assert_eq!(print.hall_name, "天山区政务服务中心");
    assert_eq!(print.service_name, "社会保障");
    assert_eq!(print.number, ticket.number);
    assert_eq!(print.people_ahead, 3);
    assert_eq!(
        print.issued_at,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    );
    assert_eq!(print.appointment, None);
    let token = ticket
        .status_token
        .as_deref()
        .expect("an issued ticket has a token");
    assert_eq!(
        print.status_url,
        format!("https://zwfw.example.gov.cn/q/{token}?lang=en")
    );
}

/// A status link must not lead from one ticket to the next: each token is 128 random bits, and
/// neither the number, the day nor the neighbour's token shows in it.
#[tokio::test(flavor = "multi_thread")]
async fn status_tokens_are_random_and_carry_nothing_guessable() {
    let hall = Hall::new();
    let mut tokens = Vec::new();
    for _ in 0..32 {
        let ticket = hall.issue("SB").await;
        let token = ticket
            .status_token
            .clone()
            .expect("an issued ticket has a token");
        assert_eq!(token.len(), 32, "{token}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        assert!(!token.contains("20261127"), "{token}");
        assert_eq!(
            hall.state()
                .await
                .ticket_by_status_token(&token)
                .map(|t| t.number.clone()),
            Some(ticket.number.clone()),
            "the token finds its ticket"
        );
        tokens.push(token);
    }
    // Two consecutive tokens share about as many hex digits in place as chance gives (1 in 16);
    // a counter or a date would share far more.
    for pair in tokens.windows(2) {
        let same = pair[0]
            .bytes()
            .zip(pair[1].bytes())
            .filter(|(a, b)| a == b)
            .count();
        assert!(
            same <= 12,
            "{} and {} share {same} digits",
            pair[0],
            pair[1]
        );
        let common_prefix = pair[0]
            .bytes()
            .zip(pair[1].bytes())
            .take_while(|(a, b)| a == b)
            .count();
        assert!(common_prefix <= 6, "{} and {}", pair[0], pair[1]);
    }
    let distinct: std::collections::BTreeSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), tokens.len());
    // Every bit position takes both values across the tokens: no fixed field hides in them.
    let bits: Vec<u128> = tokens
        .iter()
        .map(|t| u128::from_str_radix(t, 16).unwrap())
        .collect();
    let ones = bits.iter().fold(0u128, |acc, b| acc | b);
    let zeros = bits.iter().fold(0u128, |acc, b| acc | !b);
    assert!(
        ones == u128::MAX && zeros == u128::MAX,
        "a bit never changes"
    );
}

/// Events stored before tokens existed still load, and their tickets simply have none.
#[test]
fn a_ticket_issued_event_without_a_token_still_loads() {
    let stored = r#"{"type":"ticket_issued","ticket":1,"number":"A001","sequence":1,"prefix":"A",
        "service":"SB","channel":"kiosk","citizen":null,"appointment":null,"at_ms":0}"#;
    let event: Event = serde_json::from_str(stored).unwrap();
    assert!(matches!(
        event,
        Event::TicketIssued {
            status_token: None,
            ..
        }
    ));
}

/// A retried issue (same command id) answers with the first ticket and its first token: the token
/// is drawn once, before the first decision, and never again for the same command.
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_issue_answers_with_the_first_token() {
    let hall = Hall::new();
    let issue = Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: false,
    };
    let first = hall.engine.execute("retry-1", issue.clone()).await.unwrap();
    let again = hall.engine.execute("retry-1", issue).await.unwrap();
    assert_eq!(first, again);
    let state = hall.state().await;
    assert_eq!(state.tickets.len(), 1);
    let token = state.tickets.values().next().unwrap().status_token.clone();
    assert!(token.is_some_and(|t| t.len() == 32));
}
