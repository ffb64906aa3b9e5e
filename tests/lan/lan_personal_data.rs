//! A day with an ID card, followed everywhere its data can land: the hall's database and WAL, the
//! exported log, the printed ticket, the log lines, and every body the platform received. The card's
//! number and its holder's full name are found in none of them; what stands for the citizen is the
//! keyed hash and the masked name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hallq::devices::idcard::sim::TestCard;
use hallq::devices::printer::escpos_ticket::ticket_bytes;
use hallq::devices::printer::{PrinterConfig, TicketTextConfig};
use hallq::devices::ticket_print;
use hallq::identity::CardRead;
use hallq::lan::Role;
use hallq::platform::receiver::{Receiver, ReceiverSettings};
use hallq::platform::signing::PlatformSecret;
use hallq::platform::uplink::{PLATFORM_BACKOFF, Uplink, UplinkSettings};
use hallq::queue::{CardTap, Command, RatingChannel, RatingInput, Reply};
use hallq::store::CommandResult;

use crate::lan_support::{TestHall, sign_in};

/// Log lines of the whole test process, kept to be searched.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cards_number_and_name_are_found_nowhere_in_clear() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        // hallq's own lines at every level; other crates' warnings. The other tests of this binary
        // log into it too, which only widens the search.
        .with_env_filter("hallq=trace,warn")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("no other test of this binary sets the process's logger");

    let hall = TestHall::start_tls().await;
    let hall_id = hall.engine.setup().config.hall.id.clone();
    let secret = PlatformSecret::from_bytes(b"the-hall-secret-for-tests-0123456789").unwrap();
    let receiver = Receiver::start(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        ReceiverSettings {
            db: hall.dir.path().join("platform.db"),
            secrets: HashMap::from([(hall_id.clone(), secret.clone())]),
            max_skew_s: 300,
            clock: hall.engine.clock().clone(),
            tls: None,
            client_ca_pem: None,
        },
    )
    .unwrap();
    let uplink = Uplink::start(
        &hall.engine,
        UplinkSettings {
            url: receiver.url(),
            hall_id: hall_id.clone(),
            secret,
            batch_size: 100,
            timeout: Duration::from_secs(2),
            backoff: PLATFORM_BACKOFF,
            ca_pem: None,
            allow_plain_http: true,
            client_identity: None,
        },
    )
    .unwrap();

    // A citizen lays a card on a kiosk, is called, served and rates the visit.
    let person = TestCard::resident();
    let kiosk = hall.pair(Role::Kiosk).await;
    let window = hall.pair(Role::Counter { window: 3 }).await;
    let card = CardRead::new(
        person.id_number.clone().into(),
        person.chinese_name.clone().into(),
        Some(person.birth),
    )
    .unwrap();
    let tap = CardTap {
        card,
        service: Some("SB".into()),
        expired: false,
    };
    let answer = kiosk.tap_card("tap-1", tap).await.unwrap();
    let CommandResult::Done(Reply::Ticket {
        ticket,
        people_ahead,
        ..
    }) = &answer.outcome.result
    else {
        panic!("{answer:?}");
    };
    sign_in(&window, 3).await;
    for command in [
        Command::CallNext { window: 3 },
        Command::StartService { window: 3 },
        Command::Finish { window: 3 },
    ] {
        window.execute(command).await.unwrap();
    }
    window
        .execute(Command::Rate {
            number: ticket.number.clone(),
            rating: RatingInput::Rated {
                score: 5,
                reasons: vec![],
                comment: None,
                channel: RatingChannel::WindowTablet,
                indicators: Default::default(),
                case_number: None,
            },
        })
        .await
        .unwrap();
    let last = hall.engine.state().await.unwrap().last_seq;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
    while receiver.acked_through(&hall_id).unwrap() < last {
        assert!(tokio::time::Instant::now() < give_up, "not all went up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    uplink.stop().await;

    let setup = hall.engine.setup().clone();
    let printed = ticket_bytes(
        &ticket_print(
            &setup,
            ticket,
            people_ahead.unwrap_or(0),
            hallq::config::Lang::Zh,
        ),
        &TicketTextConfig::default(),
        &PrinterConfig::default(),
    )
    .unwrap();
    let db = hall.dir.path().join("hall.db");
    let exported = std::process::Command::new(env!("CARGO_BIN_EXE_hallq"))
        .args(["export", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    let uploaded: Vec<u8> = receiver
        .events(&hall_id)
        .unwrap()
        .into_iter()
        .flat_map(|(_, _, body)| body.into_bytes())
        .collect();
    let mut stored = std::fs::read(&db).unwrap();
    stored.extend(std::fs::read(hallq::store::wal_path_of(&db)).unwrap_or_default());
    let logged = logs.0.lock().unwrap().clone();

    let hash = hall.engine.hall_key().unwrap().hash(&person.id_number);
    let places: [(&str, &[u8]); 5] = [
        ("the database and its WAL", &stored),
        ("the exported log", &exported.stdout),
        ("the printed ticket", &printed),
        ("the log lines", &logged),
        ("the bodies the platform received", &uploaded),
    ];
    for (place, bytes) in places {
        assert!(!bytes.is_empty(), "{place} holds something to search");
        assert!(!holds(bytes, &person.id_number), "the ID number in {place}");
        assert!(
            !holds(bytes, &person.chinese_name),
            "the full name in {place}"
        );
    }
    // What stands for the citizen did go where it belongs: the search would have found a name.
    assert!(holds(&uploaded, &hash) && holds(&uploaded, "张*三"));
    assert!(holds(&stored, "张*三"));
    assert!(holds(&exported.stdout, &hash));
    receiver.stop().await;
}
