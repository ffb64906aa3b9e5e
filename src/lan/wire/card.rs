//! A card tap as a kiosk sends it (`POST /api/v1/card-taps`) and the hall node answers it. The kiosk
//! sends the ID number and the name the reader decoded, inside TLS only; the hall node hashes the
//! number with the hall key, masks the name, and drops both before it answers. The answer says what
//! the tap came to, and carries nothing of the citizen but what the kiosk shows.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::engine::CardTapOutcome;
use crate::identity::{CardRead, CardReadError};
use crate::queue;
use crate::store::CommandResult;

/// One card laid on a kiosk's reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardTapRequest {
    /// Chosen by the kiosk and kept across retries, as a command's: the same id never issues twice.
    #[schema(min_length = 1, max_length = 51, pattern = "^[!-~]+$")]
    pub command_id: String,
    pub card: CardReadBody,
    /// The service the kiosk waits for a card for; absent for a booking's check-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The card's validity ended before today: a service that takes no expired card refuses it.
    #[serde(default)]
    pub expired: bool,
}

/// The card as the reader decoded it. Never stored, logged or quoted in an error by the hall node.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardReadBody {
    /// 18 characters: 17 digits and the GB 11643 check character (a digit or `X`); or, on a 2017
    /// foreign permanent resident card, 3 letters and 12 digits.
    #[schema(value_type = String, pattern = "^([0-9]{17}[0-9Xx]|[A-Za-z]{3}[0-9]{12})$", example = "11010519491231002X")]
    #[serde(serialize_with = "clear_out", deserialize_with = "clear_in")]
    pub id_number: Zeroizing<String>,
    /// The name as printed on the card; the hall node masks it.
    #[schema(value_type = String, min_length = 1, max_length = 128, example = "张三")]
    #[serde(serialize_with = "clear_out", deserialize_with = "clear_in")]
    pub name: Zeroizing<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
}

impl std::fmt::Debug for CardReadBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardReadBody(<hidden>)")
    }
}

impl CardReadBody {
    pub fn of(card: &CardRead) -> CardReadBody {
        CardReadBody {
            id_number: Zeroizing::new(card.id_number().to_string()),
            name: Zeroizing::new(card.name().to_string()),
            birth_date: card.birth_date,
        }
    }

    /// The read, once its number has the form of an ID number.
    pub fn into_card_read(self) -> Result<CardRead, CardReadError> {
        CardRead::new(self.id_number, self.name, self.birth_date)
    }
}

fn clear_out<S: serde::Serializer>(text: &Zeroizing<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(text)
}

/// Reads a string without ever quoting it: serde's own errors would quote a number sent as one.
fn clear_in<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Zeroizing<String>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(text) => Ok(Zeroizing::new(text)),
        _ => Err(serde::de::Error::custom(
            "the card's id_number and name are strings",
        )),
    }
}

/// What a tap came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Happened {
    /// A walk-in ticket for the service the kiosk waited for.
    TicketIssued,
    /// The card's booking was checked in and its ticket issued.
    CheckedIn,
}

/// 200: the ticket the tap took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardTapDone {
    pub command_id: String,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub seq: u64,
    pub happened: Happened,
    /// The ticket as `/api/v1/state` lists it to a kiosk: its holder's masked name, no ID hash.
    #[schema(value_type = Object)]
    pub ticket: Box<queue::Ticket>,
    /// Waiting tickets of its service ahead of it.
    pub people_ahead: Option<u32>,
}

/// 409: why the tap took no ticket, with what the kiosk needs to say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardTapRefused {
    /// `too_early`, `too_late`, `no_booking`, `already_holds_ticket`, `card_expired`, or another
    /// refusal of the engine (`hall_closed`, `daily_cap_reached`, …).
    #[schema(example = "too_early")]
    pub code: String,
    pub message: String,
    pub command_id: String,
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub seq: u64,
    /// The service the refusal concerns: the one waited for, or the booking's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `already_holds_ticket`: the number the card holds for that service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_ticket: Option<String>,
    /// `too_early`, `too_late`: the card's booked slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<SlotShown>,
}

/// A booked slot in the hall's local time, as the kiosk shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlotShown {
    #[schema(example = "10:00–10:30")]
    pub slot: String,
    #[schema(example = "09:30")]
    pub check_in_from: String,
    #[schema(example = "10:15")]
    pub check_in_until: String,
}

/// A tap's answer as the kiosk reads it: 200 or 409.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardTapAnswer {
    Done(CardTapDone),
    Refused(CardTapRefused),
}

impl CardTapAnswer {
    /// The answer to send for `answer`, with the terminal's own command id. The ticket loses its
    /// holder's ID hash: terminals see masked names only.
    pub fn of(answer: CardTapOutcome, command_id: String) -> CardTapAnswer {
        let CardTapOutcome { outcome, detail } = answer;
        match outcome.result {
            CommandResult::Done(queue::Reply::Ticket {
                ticket,
                people_ahead,
            }) => CardTapAnswer::Done(CardTapDone {
                command_id,
                seq: outcome.seq,
                happened: if ticket.appointment.is_some() {
                    Happened::CheckedIn
                } else {
                    Happened::TicketIssued
                },
                ticket: Box::new(super::ticket_for_terminals(*ticket)),
                people_ahead,
            }),
            CommandResult::Done(_) => unreachable!("a card tap issues a ticket or is refused"),
            CommandResult::Refused(refusal) => CardTapAnswer::Refused(CardTapRefused {
                code: refusal.code,
                message: refusal.message,
                command_id,
                seq: outcome.seq,
                service: detail.service,
                held_ticket: detail.held_ticket,
                slot: detail.slot.map(
                    |queue::SlotWords {
                         slot,
                         check_in_from,
                         check_in_until,
                     }| SlotShown {
                        slot,
                        check_in_from,
                        check_in_until,
                    },
                ),
            }),
        }
    }

    /// The answer as the kiosk's screen reads it.
    pub fn into_outcome(self) -> CardTapOutcome {
        match self {
            CardTapAnswer::Done(done) => CardTapOutcome {
                outcome: crate::store::Outcome {
                    command_id: done.command_id,
                    result: CommandResult::Done(queue::Reply::Ticket {
                        ticket: done.ticket,
                        people_ahead: done.people_ahead,
                    }),
                    seq: done.seq,
                },
                detail: queue::TapDetail::default(),
            },
            CardTapAnswer::Refused(refused) => CardTapOutcome {
                outcome: crate::store::Outcome {
                    command_id: refused.command_id,
                    result: CommandResult::Refused(queue::RefusalWire {
                        code: refused.code,
                        message: refused.message,
                    }),
                    seq: refused.seq,
                },
                detail: queue::TapDetail {
                    service: refused.service,
                    held_ticket: refused.held_ticket,
                    slot: refused.slot.map(
                        |SlotShown {
                             slot,
                             check_in_from,
                             check_in_until,
                         }| queue::SlotWords {
                            slot,
                            check_in_from,
                            check_in_until,
                        },
                    ),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_sent_in_the_wrong_form_is_refused_without_being_quoted() {
        for body in [
            r#"{"command_id": "t1", "card": {"id_number": 110105194912310021, "name": "张三"}}"#,
            r#"{"command_id": "t1", "card": {"id_number": ["110105194912310021"], "name": "张三"}}"#,
        ] {
            let error = serde_json::from_str::<CardTapRequest>(body).unwrap_err();
            assert!(!error.to_string().contains("110105194912310021"), "{error}");
        }
        let body =
            r#"{"command_id": "t1", "card": {"id_number": "110105194912310021", "name": "张三"}}"#;
        let request: CardTapRequest = serde_json::from_str(body).unwrap();
        assert!(!format!("{request:?}").contains("110105194912310021"));
        assert!(!format!("{request:?}").contains("张三"));
        assert_eq!(
            request.card.into_card_read().unwrap_err(),
            CardReadError::BadCheckCharacter
        );
    }
}
