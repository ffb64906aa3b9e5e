//! Every ticket transition and every refusal, through the real engine on a real SQLite file.

use crate::common;

use common::*;
use hallq::queue::*;

#[tokio::test]
async fn numbers_are_per_service_and_zero_padded() {
    let hall = Hall::new();
    assert_eq!(hall.issue("SB").await.number, "A001");
    assert_eq!(hall.issue("SB").await.number, "A002");
    assert_eq!(hall.issue("YB").await.number, "B001");
    assert_eq!(hall.issue("SB").await.number, "A003");
}

#[tokio::test]
async fn full_lifecycle_waiting_called_serving_finished_rated() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    let t = hall.issue("SB").await;
    assert_eq!(t.state, TicketState::Waiting);
    let called = hall.call(3).await;
    assert_eq!(
        (called.number.as_str(), called.state, called.window),
        ("A001", TicketState::Called, Some(3))
    );
    hall.clock.advance(MINUTE);
    let serving = hall.ticket(Command::StartService { window: 3 }).await;
    assert_eq!(serving.state, TicketState::Serving);
    hall.clock.advance(5 * MINUTE);
    let done = hall.ticket(Command::Finish { window: 3 }).await;
    assert_eq!(done.state, TicketState::Finished);
    assert_eq!(
        done.finished_ms.unwrap() - done.started_ms.unwrap(),
        5 * MINUTE
    );
    assert_eq!(done.rating, None, "unrated until the citizen rates");
    let rated = hall
        .ticket(Command::Rate {
            number: "A001".into(),
            rating: RatingInput::Rated {
                score: 5,
                reasons: vec!["01".into()],
                comment: None,
                channel: RatingChannel::WindowTablet,
                indicators: Default::default(),
                case_number: None,
            },
        })
        .await;
    assert!(matches!(
        rated.rating,
        Some(Rating::Rated {
            level: SatisfactionLevel::VerySatisfied,
            ..
        })
    ));
    let again = hall
        .refused(Command::Rate {
            number: "A001".into(),
            rating: RatingInput::Unrated {
                why: UnratedWhy::TimedOut,
            },
        })
        .await;
    assert_eq!(again.code, "already_rated");
}

#[tokio::test]
async fn rating_timeout_records_unrated_never_a_score() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.issue("SB").await;
    hall.call(3).await;
    hall.ok(Command::StartService { window: 3 }).await;
    hall.ok(Command::Finish { window: 3 }).await;
    let t = hall
        .ticket(Command::Rate {
            number: "A001".into(),
            rating: RatingInput::Unrated {
                why: UnratedWhy::TimedOut,
            },
        })
        .await;
    assert_eq!(
        t.rating,
        Some(Rating::Unrated {
            why: UnratedWhy::TimedOut
        })
    );
}

#[tokio::test]
async fn bad_ratings_are_refused_and_change_nothing() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.issue("SB").await;
    let rate = |score, reasons: Vec<&str>, comment: Option<String>| Command::Rate {
        number: "A001".into(),
        rating: RatingInput::Rated {
            score,
            reasons: reasons.into_iter().map(String::from).collect(),
            comment,
            channel: RatingChannel::QrCode,
            indicators: Default::default(),
            case_number: None,
        },
    };
    assert_eq!(
        hall.refused(rate(5, vec![], None)).await.code,
        "wrong_state",
        "not finished yet"
    );
    hall.call(3).await;
    hall.ok(Command::StartService { window: 3 }).await;
    hall.ok(Command::Finish { window: 3 }).await;
    let before = hall.events().len();
    assert_eq!(hall.refused(rate(0, vec![], None)).await.code, "invalid");
    assert_eq!(hall.refused(rate(6, vec![], None)).await.code, "invalid");
    assert_eq!(
        hall.refused(rate(4, vec!["99"], None)).await.code,
        "invalid"
    );
    assert_eq!(
        hall.refused(rate(4, vec![], Some("很".repeat(201))))
            .await
            .code,
        "invalid"
    );
    assert_eq!(
        hall.refused(rate(4, vec![], None).clone_with_number("Z999"))
            .await
            .code,
        "unknown_ticket"
    );
    assert_eq!(hall.events().len(), before);
    assert_eq!(
        hall.state().await.ticket_by_number("A001").unwrap().rating,
        None
    );
}

trait WithNumber {
    fn clone_with_number(&self, number: &str) -> Command;
}
impl WithNumber for Command {
    fn clone_with_number(&self, number: &str) -> Command {
        match self.clone() {
            Command::Rate { rating, .. } => Command::Rate {
                number: number.into(),
                rating,
            },
            other => other,
        }
    }
}

#[tokio::test]
async fn window_actions_need_signed_in_staff() {
    let hall = Hall::new();
    hall.issue("SB").await;
    for command in [
        Command::CallNext { window: 3 },
        Command::Recall { window: 3 },
        Command::StartService { window: 3 },
        Command::Finish { window: 3 },
        Command::NoShow { window: 3 },
        Command::Pause { window: 3 },
    ] {
        assert_eq!(hall.refused(command).await.code, "not_signed_in");
    }
    assert_eq!(
        hall.refused(Command::CallNext { window: 42 }).await.code,
        "unknown_window"
    );
    assert_eq!(
        hall.refused(Command::sign_in_by_number(3, "")).await.code,
        "invalid"
    );
    assert_eq!(
        hall.refused(Command::sign_in_by_number(3, "12 34"))
            .await
            .code,
        "invalid"
    );
    hall.sign_in(3).await;
    assert_eq!(
        hall.refused(Command::sign_in_by_number(3, "77")).await.code,
        "already_signed_in"
    );
    assert_eq!(
        hall.refused(Command::sign_in_by_number(4, "S3")).await.code,
        "staff_at_another_window"
    );
}

#[tokio::test]
async fn misclick_guard_refuses_call_next_while_a_citizen_is_at_the_window() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.issue("SB").await;
    hall.issue("SB").await;
    hall.call(3).await;
    let r = hall.refused(Command::CallNext { window: 3 }).await;
    assert_eq!(r.code, "window_busy");
    assert!(r.message.contains("A001"), "{}", r.message);
    hall.ok(Command::StartService { window: 3 }).await;
    assert_eq!(
        hall.refused(Command::CallNext { window: 3 }).await.code,
        "window_busy"
    );
    assert_eq!(
        hall.refused(Command::SignOut { window: 3 }).await.code,
        "window_busy"
    );
    hall.ok(Command::Finish { window: 3 }).await;
    assert_eq!(hall.call(3).await.number, "A002");
}

#[tokio::test]
async fn recall_is_counted_and_limited_then_no_show() {
    let hall = Hall::with_policy(|p| p.recall_limit = 2);
    hall.sign_in(3).await;
    hall.issue("SB").await;
    assert_eq!(hall.call(3).await.calls, 1);
    assert_eq!(hall.ticket(Command::Recall { window: 3 }).await.calls, 2);
    assert_eq!(hall.ticket(Command::Recall { window: 3 }).await.calls, 3);
    let r = hall.refused(Command::Recall { window: 3 }).await;
    assert_eq!(r.code, "recall_limit");
    let t = hall.ticket(Command::NoShow { window: 3 }).await;
    assert_eq!(t.state, TicketState::NoShow);
    assert_eq!(hall.state().await.window(3).unwrap().current, None);
    assert_eq!(
        hall.refused(Command::Recall { window: 3 }).await.code,
        "no_current_ticket"
    );
}

#[tokio::test]
async fn no_show_may_requeue_once_at_the_back() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.issue("SB").await;
    hall.issue("SB").await;
    hall.call(3).await;
    assert_eq!(
        hall.refused(Command::Requeue {
            number: "A001".into()
        })
        .await
        .code,
        "wrong_state"
    );
    hall.ok(Command::NoShow { window: 3 }).await;
    hall.clock.advance(MINUTE);
    let back = hall
        .ticket(Command::Requeue {
            number: "A001".into(),
        })
        .await;
    assert_eq!(
        (back.state, back.requeued, back.calls),
        (TicketState::Waiting, true, 0)
    );
    // Behind A002, which was issued earlier than the re-queue.
    assert_eq!(hall.call(3).await.number, "A002");
    hall.ok(Command::NoShow { window: 3 }).await;
    assert_eq!(hall.call(3).await.number, "A001");
    hall.ok(Command::NoShow { window: 3 }).await;
    assert_eq!(
        hall.refused(Command::Requeue {
            number: "A001".into()
        })
        .await
        .code,
        "already_requeued"
    );
}

#[tokio::test]
async fn requeue_can_be_turned_off() {
    let hall = Hall::with_policy(|p| p.noshow_requeue = false);
    hall.sign_in(3).await;
    hall.issue("SB").await;
    hall.call(3).await;
    hall.ok(Command::NoShow { window: 3 }).await;
    assert_eq!(
        hall.refused(Command::Requeue {
            number: "A001".into()
        })
        .await
        .code,
        "requeue_off"
    );
}

#[tokio::test]
async fn transfer_to_a_service_keeps_the_original_place() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.sign_in(4).await;
    let first = hall.issue("SB").await;
    hall.clock.advance(MINUTE);
    hall.issue("YB").await; // B001, issued after A001
    hall.call(3).await;
    hall.ok(Command::StartService { window: 3 }).await;
    let moved = hall
        .ticket(Command::Transfer {
            window: 3,
            to: TransferTarget::Service("YB".into()),
        })
        .await;
    assert_eq!(
        (moved.number.as_str(), moved.service.as_str(), moved.state),
        ("A001", "YB", TicketState::Waiting)
    );
    assert_eq!(moved.queue_ms, first.issued_ms, "keeps its issue time");
    assert_eq!(
        hall.call(4).await.number,
        "A001",
        "ahead of B001 thanks to its original place"
    );
}

#[tokio::test]
async fn transfer_without_keeping_place_goes_to_the_back() {
    let hall = Hall::with_policy(|p| p.transfer_keeps_place = false);
    hall.sign_in(3).await;
    hall.sign_in(4).await;
    hall.issue("SB").await;
    hall.issue("YB").await;
    hall.call(3).await;
    hall.clock.advance(MINUTE);
    hall.ok(Command::Transfer {
        window: 3,
        to: TransferTarget::Service("YB".into()),
    })
    .await;
    assert_eq!(hall.call(4).await.number, "B001");
}

#[tokio::test]
async fn transfer_to_a_window_only_that_window_may_call_it() {
    let hall = Hall::new();
    hall.sign_in(1).await;
    hall.sign_in(3).await;
    hall.issue("SB").await;
    hall.call(3).await;
    hall.ok(Command::Transfer {
        window: 3,
        to: TransferTarget::Window(6),
    })
    .await;
    assert_eq!(
        hall.refused(Command::CallNext { window: 1 }).await.code,
        "queue_empty",
        "window 1 serves SB but not this ticket"
    );
    hall.sign_in(6).await;
    assert_eq!(
        hall.call(6).await.number,
        "A001",
        "window 6 serves BDC only, yet gets its transferred ticket"
    );
    assert_eq!(
        hall.refused(Command::Transfer {
            window: 6,
            to: TransferTarget::Window(6)
        })
        .await
        .code,
        "invalid"
    );
    assert_eq!(
        hall.refused(Command::Transfer {
            window: 6,
            to: TransferTarget::Window(99)
        })
        .await
        .code,
        "unknown_window"
    );
    assert_eq!(
        hall.refused(Command::Transfer {
            window: 6,
            to: TransferTarget::Service("XX".into())
        })
        .await
        .code,
        "unknown_service"
    );
}

#[tokio::test]
async fn pause_blocks_calls_until_resume() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.issue("SB").await;
    assert_eq!(
        hall.refused(Command::Resume { window: 3 }).await.code,
        "window_not_paused"
    );
    hall.ok(Command::Pause { window: 3 }).await;
    assert_eq!(
        hall.refused(Command::Pause { window: 3 }).await.code,
        "window_paused"
    );
    assert_eq!(
        hall.refused(Command::CallNext { window: 3 }).await.code,
        "window_paused"
    );
    hall.ok(Command::Resume { window: 3 }).await;
    assert_eq!(hall.call(3).await.number, "A001");
}

#[tokio::test]
async fn illegal_transitions_are_refused_and_change_nothing() {
    let hall = Hall::new();
    hall.sign_in(3).await;
    hall.issue("SB").await;
    assert_eq!(
        hall.refused(Command::StartService { window: 3 }).await.code,
        "no_current_ticket"
    );
    assert_eq!(
        hall.refused(Command::Finish { window: 3 }).await.code,
        "no_current_ticket"
    );
    hall.call(3).await;
    let before_state = hall.state().await;
    let before_events = hall.events().len();
    assert_eq!(
        hall.refused(Command::Finish { window: 3 }).await.code,
        "wrong_state",
        "finish before start"
    );
    hall.ok(Command::StartService { window: 3 }).await;
    let after_start = hall.state().await;
    assert_eq!(
        hall.refused(Command::StartService { window: 3 }).await.code,
        "wrong_state"
    );
    assert_eq!(
        hall.refused(Command::NoShow { window: 3 }).await.code,
        "wrong_state"
    );
    assert_eq!(
        hall.refused(Command::Recall { window: 3 }).await.code,
        "wrong_state"
    );
    assert_eq!(hall.state().await, after_start);
    assert_eq!(hall.events().len(), before_events + 1);
    assert_ne!(before_state, after_start);
}

#[tokio::test]
async fn issue_refusals_cap_id_card_appointment_only_unknown_and_closed() {
    let mut setup = hallq::config::example();
    setup.config.services[0].daily_cap = Some(2);
    let hall = Hall::with_setup(setup);
    hall.issue("SB").await;
    hall.issue("SB").await;
    let cap = hall
        .refused(Command::IssueTicket {
            service: "SB".into(),
            citizen: None,
            by_staff: false,
        })
        .await;
    assert_eq!(cap.code, "daily_cap_reached");
    let id = hall
        .refused(Command::IssueTicket {
            service: "HJ".into(),
            citizen: None,
            by_staff: false,
        })
        .await;
    assert_eq!(id.code, "id_card_required");
    assert_eq!(
        hall.issue_for("HJ", card(1))
            .await
            .citizen
            .unwrap()
            .masked_name,
        "张*三"
    );
    let appt = hall
        .refused(Command::IssueTicket {
            service: "CRJ".into(),
            citizen: Some(card(2)),
            by_staff: false,
        })
        .await;
    assert_eq!(appt.code, "appointment_only");
    assert_eq!(
        hall.refused(Command::IssueTicket {
            service: "ZZ".into(),
            citizen: None,
            by_staff: false
        })
        .await
        .code,
        "unknown_service"
    );
    let bad_card = CitizenCard {
        id_hash: "not hex".into(),
        ..card(3)
    };
    assert_eq!(
        hall.refused(Command::IssueTicket {
            service: "HJ".into(),
            citizen: Some(bad_card),
            by_staff: false
        })
        .await
        .code,
        "invalid"
    );
    // 14:00 on Friday is the lunch break in the example hall.
    hall.clock.advance(4 * HOUR);
    let closed = hall
        .refused(Command::IssueTicket {
            service: "YB".into(),
            citizen: None,
            by_staff: false,
        })
        .await;
    assert_eq!(closed.code, "hall_closed");
    assert!(closed.message.contains("15:30"), "{}", closed.message);
    // Staff may still issue at the desk.
    hall.ticket(Command::IssueTicket {
        service: "YB".into(),
        citizen: None,
        by_staff: true,
    })
    .await;
}

#[tokio::test]
async fn one_open_ticket_per_person_and_service() {
    let hall = Hall::new();
    hall.issue_for("HJ", card(7)).await;
    let r = hall
        .refused(Command::IssueTicket {
            service: "HJ".into(),
            citizen: Some(card(7)),
            by_staff: false,
        })
        .await;
    assert_eq!(r.code, "already_holds_ticket");
    assert!(r.message.contains("C001"));
    hall.issue_for("BDC", card(7)).await;
}

#[tokio::test]
async fn green_channel_flag_and_print_outcomes() {
    let hall = Hall::new();
    hall.issue("SB").await;
    hall.ok(Command::FlagGreenChannel {
        number: "A001".into(),
    })
    .await;
    assert_eq!(
        hall.refused(Command::FlagGreenChannel {
            number: "A001".into()
        })
        .await
        .code,
        "already_green"
    );
    hall.ok(Command::RecordPrint {
        number: "A001".into(),
        printed: false,
        detail: Some("paper out".into()),
    })
    .await;
    assert_eq!(
        hall.state().await.ticket_by_number("A001").unwrap().print,
        PrintState::Failed
    );
    let again = hall
        .refused(Command::RecordPrint {
            number: "A001".into(),
            printed: true,
            detail: None,
        })
        .await;
    assert_eq!(again.code, "print_already_recorded");
    assert_eq!(
        hall.state().await.tickets.len(),
        1,
        "a failed print never makes a second ticket"
    );
}

#[tokio::test]
async fn a_print_failure_reported_with_empty_detail_is_recorded_without_one() {
    let hall = Hall::new();
    hall.issue("SB").await;
    hall.ok(Command::RecordPrint {
        number: "A001".into(),
        printed: false,
        detail: Some(String::new()),
    })
    .await;
    let last = hall.events().pop().unwrap().event;
    assert_eq!(
        last,
        Event::TicketPrintFailed {
            ticket: 1,
            detail: None
        }
    );
}

#[tokio::test]
async fn device_faults_become_events_only_on_change() {
    let hall = Hall::new();
    let fault = DeviceFault {
        code: "paper_out".into(),
        message: "Kiosk printer: out of paper".into(),
    };
    hall.ok(Command::ReportDevice {
        device: "printer".into(),
        fault: Some(fault.clone()),
    })
    .await;
    hall.ok(Command::ReportDevice {
        device: "printer".into(),
        fault: Some(fault.clone()),
    })
    .await;
    hall.ok(Command::ReportDevice {
        device: "printer".into(),
        fault: None,
    })
    .await;
    hall.ok(Command::ReportDevice {
        device: "printer".into(),
        fault: None,
    })
    .await;
    let kinds: Vec<_> = hall.events().iter().map(|e| e.event.kind()).collect();
    assert_eq!(
        kinds,
        ["business_day_opened", "device_faulted", "device_recovered"]
    );
    assert!(hall.state().await.faults.is_empty());
    assert_eq!(
        hall.refused(Command::ReportDevice {
            device: "".into(),
            fault: None
        })
        .await
        .code,
        "invalid"
    );
}

/// What must never be stored for good in the event log: an ID number, a digest shorter than the hall
/// key's, a name that is not masked.
fn unmasked_cards() -> Vec<(&'static str, CitizenCard)> {
    vec![
        (
            "a plain ID number",
            CitizenCard {
                id_hash: "110105194912310021".into(),
                ..card(1)
            },
        ),
        (
            "16 hex digits",
            CitizenCard {
                id_hash: "feedfacecafebeef".into(),
                ..card(1)
            },
        ),
        (
            "upper-case hex",
            CitizenCard {
                id_hash: card(1).id_hash.to_uppercase().replace('0', "A"),
                ..card(1)
            },
        ),
        (
            "a full name",
            CitizenCard {
                masked_name: "张小三".into(),
                ..card(1)
            },
        ),
        (
            "an ID number as the name",
            CitizenCard {
                masked_name: "110105194912310021".into(),
                ..card(1)
            },
        ),
    ]
}

#[tokio::test]
async fn an_unmasked_id_or_name_is_refused_and_nothing_is_stored() {
    let hall = Hall::new();
    let before = hall.events().len();
    for (what, bad) in unmasked_cards() {
        let refused = hall
            .refused(Command::IssueTicket {
                service: "HJ".into(),
                citizen: Some(bad.clone()),
                by_staff: false,
            })
            .await;
        assert_eq!(refused.code, "invalid", "{what}");
        assert!(!refused.message.contains(&bad.id_hash), "{what} echoed");
        assert!(!refused.message.contains(&bad.masked_name), "{what} echoed");
        let refused = hall
            .refused(Command::Book {
                booking: Booking {
                    id: format!("BK-{what}"),
                    service: "CRJ".into(),
                    day: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
                    start: "15:00".into(),
                    end: "15:30".into(),
                    id_hash: bad.id_hash.clone(),
                    masked_name: bad.masked_name.clone(),
                    version: 1,
                },
            })
            .await;
        assert_eq!(refused.code, "invalid", "{what}");
        assert!(
            refused.message.contains("digest") || refused.message.contains("not masked"),
            "{what}: {}",
            refused.message
        );
        assert_eq!(hall.events().len(), before, "{what} was stored");
    }
    // The same card, masked and hashed as the kiosk does it, is taken.
    let ticket = hall.issue_for("HJ", card(1)).await;
    assert_eq!(ticket.citizen.unwrap().masked_name, "张*三");
}
