//! The reader loop: find, select and read with retries; one report per card laid on the reader;
//! reconnects when the reader is unplugged and plugged back.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::card_text::CardFacts;
use super::reader::{ReaderError, SamReader};
use crate::config::idcard::IdCardReaderConfig;
use crate::devices::fault::DeviceFault;
use crate::devices::report::{DeviceKind, DeviceReport, HealthTracker};
use crate::devices::worker::{DeviceThread, StopFlag};
use crate::identity::HallKey;

/// Why a poll came to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollFailure {
    /// The reader itself is in trouble: a health fault.
    Reader(ReaderError),
    /// A card was there but could not be read: tell the citizen.
    Card(ReaderError),
}

fn fault_of(error: &ReaderError) -> DeviceFault {
    match error {
        ReaderError::Port(detail) => DeviceFault::Disconnected(detail.clone()),
        ReaderError::NoReply(_) => DeviceFault::NoAnswer,
        ReaderError::Status { status, .. } if status.is_sam_fault() => {
            DeviceFault::SamFailure(status.to_string())
        }
        other => DeviceFault::DeviceError(other.to_string()),
    }
}

/// One find-select-read cycle, retried as a card sliding into the field needs.
pub fn poll_once(reader: &mut SamReader, retries: u32) -> Result<Option<CardFacts>, PollFailure> {
    let mut card_seen = false;
    let mut last_error = None;
    for _ in 0..retries.max(1) {
        let found = match reader.find_card() {
            Ok(found) => found,
            Err(e) if e.is_reader_fault() => return Err(PollFailure::Reader(e)),
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        if !found {
            // A card that vanishes between attempts was pulled away mid-read.
            return match (card_seen, last_error) {
                (true, Some(e)) => Err(PollFailure::Card(e)),
                _ => Ok(None),
            };
        }
        card_seen = true;
        match reader.select_card().and_then(|()| reader.read_card()) {
            Ok(facts) => return Ok(Some(facts)),
            // A reader that answered the find is alive: a lost reply now is a glitch to retry.
            Err(e @ ReaderError::NoReply(_)) => last_error = Some(e),
            Err(e) if e.is_reader_fault() => return Err(PollFailure::Reader(e)),
            Err(ReaderError::CardText(e)) => {
                return Err(PollFailure::Card(ReaderError::CardText(e)));
            }
            Err(e) => last_error = Some(e),
        }
    }
    let error = last_error.expect("every failed attempt records its error");
    Err(if card_seen {
        PollFailure::Card(error)
    } else {
        PollFailure::Reader(error)
    })
}

/// Remembers the last card so one lying on the reader is reported once. It keeps not the number
/// but its hash under a key drawn for this process alone, which matches nothing anywhere else.
#[derive(Debug)]
pub struct SameCardFilter {
    key: HallKey,
    last: Option<(String, Instant)>,
}

impl Default for SameCardFilter {
    fn default() -> Self {
        let key = HallKey::new(rand::random::<[u8; 32]>().to_vec()).expect("32 bytes is enough");
        SameCardFilter { key, last: None }
    }
}

impl SameCardFilter {
    /// Whether `facts` is news. A repeat sighting within `quiet` refreshes the timer, so a card
    /// left on a reader that keeps finding it is never reported twice.
    pub fn is_new(&mut self, facts: &CardFacts, quiet: Duration, now: Instant) -> bool {
        let seen_as = facts.card.id_hash(&self.key);
        let repeat = matches!(&self.last, Some((last, seen)) if *last == seen_as && now.duration_since(*seen) < quiet);
        self.last = Some((seen_as, now));
        !repeat
    }
}

/// Runs the reader loop on its own thread until the handle is dropped or the channel closes.
pub fn spawn_card_reader(
    config: IdCardReaderConfig,
    reports: Sender<DeviceReport>,
) -> std::io::Result<DeviceThread> {
    DeviceThread::spawn("idcard-reader", move |stop| run(&config, &reports, &stop))
}

/// Opens the reader and makes sure its security module works, resetting it once if not (a SAM
/// can hang after a power dip while the USB side stays up).
fn connect(config: &IdCardReaderConfig) -> Result<SamReader, ReaderError> {
    let mut reader = SamReader::open(config)?;
    if reader.sam_status().is_err() {
        reader.reset_sam()?;
        reader.sam_status()?;
    }
    match reader.sam_id() {
        Ok(id) => tracing::info!(sam_id = %id, port = %config.port, "ID-card reader ready"),
        Err(e) => tracing::warn!("ID-card reader ready, but its SAM id is unreadable: {e}"),
    }
    Ok(reader)
}

fn run(config: &IdCardReaderConfig, reports: &Sender<DeviceReport>, stop: &StopFlag) {
    let health = HealthTracker::new(DeviceKind::IdCardReader);
    let mut filter = SameCardFilter::default();
    let mut reader: Option<SamReader> = None;
    let poll = Duration::from_millis(config.poll_ms);
    let reconnect = Duration::from_millis(config.reconnect_ms);
    let quiet = Duration::from_millis(config.same_card_quiet_ms);
    while !stop.is_set() && !reports.is_closed() {
        let current = match reader.as_mut() {
            Some(current) => current,
            None => match connect(config) {
                Ok(fresh) => reader.insert(fresh),
                Err(e) => {
                    health.observe_and_send(Some(fault_of(&e)), reports);
                    stop.sleep(reconnect);
                    continue;
                }
            },
        };
        match poll_once(current, config.retries) {
            Ok(card) => {
                health.observe_and_send(None, reports);
                if let Some(facts) = card.filter(|f| filter.is_new(f, quiet, Instant::now())) {
                    let _ = reports.blocking_send(DeviceReport::Card(facts));
                }
                stop.sleep(poll);
            }
            Err(PollFailure::Card(e)) => {
                health.observe_and_send(None, reports);
                let _ = reports.blocking_send(DeviceReport::CardRejected(e));
                stop.sleep(poll);
            }
            Err(PollFailure::Reader(e)) => {
                health.observe_and_send(Some(fault_of(&e)), reports);
                if matches!(e, ReaderError::Port(_)) {
                    reader = None;
                }
                stop.sleep(reconnect);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::idcard::card_text::{CardKind, Sex, ValidTo};

    fn facts(who: &str) -> CardFacts {
        let number = match who {
            "a" => "11010519491231002X",
            _ => "440524188001010014",
        };
        let card = crate::identity::CardRead::new(
            number.to_string().into(),
            "张三".to_string().into(),
            None,
        )
        .unwrap();
        CardFacts {
            kind: CardKind::Resident,
            card,
            birth_date: None,
            sex: Sex::Male,
            valid_to: ValidTo::LongTerm,
            nationality: None,
        }
    }

    #[test]
    fn same_card_is_news_again_only_after_a_quiet_spell() {
        let quiet = Duration::from_secs(3);
        let t0 = Instant::now();
        let mut filter = SameCardFilter::default();
        assert!(filter.is_new(&facts("a"), quiet, t0));
        assert!(!filter.is_new(&facts("a"), quiet, t0 + Duration::from_secs(2)));
        // Still lying there: each sighting pushes the quiet spell on.
        assert!(!filter.is_new(&facts("a"), quiet, t0 + Duration::from_secs(4)));
        assert!(filter.is_new(&facts("b"), quiet, t0 + Duration::from_secs(5)));
        assert!(filter.is_new(&facts("a"), quiet, t0 + Duration::from_secs(6)));
        assert!(filter.is_new(&facts("a"), quiet, t0 + Duration::from_secs(10)));
    }

    #[test]
    fn faults_name_their_cause() {
        assert_eq!(
            fault_of(&ReaderError::Port("gone".into())),
            DeviceFault::Disconnected("gone".into())
        );
        assert_eq!(
            fault_of(&ReaderError::NoReply("find card")),
            DeviceFault::NoAnswer
        );
    }
}
