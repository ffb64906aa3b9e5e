//! Staff sign in with a PIN where the hall asks for one: checked against the staff book on the hall's
//! real database, with Argon2id, and only the verdict reaches the engine and its log.

use hallq::config::SignInBy;
use hallq::identity::StaffPin;
use hallq::queue::{Command, StaffProof};
use hallq::store::{CommandResult, Outcome, Store};

use crate::common::{Hall, MINUTE};

fn pin_hall() -> Hall {
    let mut setup = hallq::config::example();
    setup.open_around_the_clock();
    setup.config.staff.sign_in = SignInBy::Pin;
    setup.config.staff.pin_attempts = 3;
    setup.config.staff.lockout_minutes = 10;
    Hall::with_setup(setup)
}

fn give_pin(hall: &Hall, staff: &str, pin: &str) {
    Store::open(&hall.db_path(), &hall.setup.config.hall.id)
        .unwrap()
        .into_staff_book()
        .set_pin(staff, &StaffPin::new(pin).unwrap(), 0)
        .unwrap();
}

async fn sign_in(hall: &Hall, staff: &str, pin: Option<&str>) -> Outcome {
    let pin = pin.map(|p| StaffPin::new(p).unwrap());
    hall.engine
        .sign_in(hall.fresh_id(), 1, staff.into(), pin)
        .await
        .unwrap()
}

fn refusal_code(outcome: &Outcome) -> Option<&str> {
    match &outcome.result {
        CommandResult::Refused(r) => Some(r.code.as_str()),
        CommandResult::Done(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_pin_signs_in_and_only_the_verdict_is_kept() {
    let hall = pin_hall();
    give_pin(&hall, "1001", "482913");
    let outcome = sign_in(&hall, "1001", Some("482913")).await;
    assert_eq!(refusal_code(&outcome), None, "{outcome:?}");
    assert_eq!(
        hall.state().await.windows[&1].staff.as_deref(),
        Some("1001")
    );
    hall.engine.state().await.unwrap();
    let mut seen = Vec::new();
    for path in [hall.db_path(), hallq::store::wal_path_of(&hall.db_path())] {
        seen.extend(std::fs::read(path).unwrap_or_default());
    }
    assert!(
        !seen.windows(6).any(|w| w == b"482913"),
        "the PIN is in the database or its WAL"
    );
    let signed_in = hall.events().into_iter().find_map(|e| match e.event {
        hallq::queue::Event::StaffSignedIn { with_pin, .. } => Some(with_pin),
        _ => None,
    });
    assert_eq!(signed_in, Some(true), "the trail says the PIN was checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_hall_refuses_the_number_alone_and_a_wrong_pin() {
    let hall = pin_hall();
    give_pin(&hall, "1001", "1234");
    let alone = sign_in(&hall, "1001", None).await;
    assert_eq!(refusal_code(&alone), Some("staff_pin_required"));
    let wrong = sign_in(&hall, "1001", Some("4321")).await;
    assert_eq!(refusal_code(&wrong), Some("wrong_staff_pin"));
    let unknown = sign_in(&hall, "2002", Some("1234")).await;
    assert_eq!(
        refusal_code(&unknown),
        Some("wrong_staff_pin"),
        "a number without a PIN looks like a wrong PIN"
    );
    let window = hall.state().await.windows.get(&1).cloned();
    assert_eq!(window.and_then(|w| w.staff), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pins_in_a_row_lock_the_number_until_the_lockout_has_passed() {
    let hall = pin_hall();
    give_pin(&hall, "1001", "1234");
    for _ in 0..2 {
        let outcome = sign_in(&hall, "1001", Some("0000")).await;
        assert_eq!(refusal_code(&outcome), Some("wrong_staff_pin"));
    }
    let third = sign_in(&hall, "1001", Some("0000")).await;
    assert_eq!(refusal_code(&third), Some("staff_locked"));
    let CommandResult::Refused(refusal) = &third.result else {
        unreachable!()
    };
    assert!(
        refusal.message.contains("10 minutes"),
        "{}",
        refusal.message
    );
    let right_but_locked = sign_in(&hall, "1001", Some("1234")).await;
    assert_eq!(refusal_code(&right_but_locked), Some("staff_locked"));
    hall.clock.advance(10 * MINUTE);
    let after = sign_in(&hall, "1001", Some("1234")).await;
    assert_eq!(refusal_code(&after), None, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_hall_signs_in_by_number_and_still_honours_a_verdict() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    for (proof, code) in [
        (StaffProof::WrongPin, "wrong_staff_pin"),
        (StaffProof::Locked, "staff_locked"),
    ] {
        let outcome = hall
            .exec(Command::SignIn {
                window: 4,
                staff: "S4".into(),
                proof,
            })
            .await;
        assert_eq!(refusal_code(&outcome), Some(code));
    }
    let outcome = hall
        .exec(Command::SignIn {
            window: 4,
            staff: "S4".into(),
            proof: StaffProof::Pin,
        })
        .await;
    assert_eq!(refusal_code(&outcome), None);
}

#[test]
fn a_staff_table_is_checked_as_the_file_is_read() {
    let table = "[staff]\nsign_in = \"number\"\npin_attempts = 5\nlockout_minutes = 15\n";
    assert!(hallq::config::EXAMPLE_HALL_TOML.contains(table));
    let base = hallq::config::EXAMPLE_HALL_TOML.replace(table, "");
    let good =
        format!("{base}\n[staff]\nsign_in = \"pin\"\npin_attempts = 4\nlockout_minutes = 30\n");
    let setup = hallq::config::parse(&good, "hall.toml").unwrap();
    assert_eq!(setup.config.staff.sign_in, SignInBy::Pin);
    assert_eq!(setup.config.staff.pin_attempts, 4);
    for (bad, says) in [
        (
            "sign_in = \"card\"",
            "unknown variant `card`, expected `number` or `pin`",
        ),
        ("pin_attempts = 0", "staff.pin_attempts"),
        ("lockout_minutes = 0", "staff.lockout_minutes"),
        ("lockout_minutes = 2000", "staff.lockout_minutes"),
        ("pin = \"1234\"", "pin"),
    ] {
        let text = format!("{base}\n[staff]\n{bad}\n");
        let err = hallq::config::parse(&text, "hall.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
    assert_eq!(
        hallq::config::example().config.staff.sign_in,
        SignInBy::Number,
        "a hall without [staff] signs in by number"
    );
}
