//! How device reports reach the hall and cards reach the kiosk.
//!
//! The drivers put [`DeviceReport`]s on a channel; here they become commands for the [`Hall`] port
//! (the engine on the hall node's own board, or the hall node over the LAN from a kiosk board), and
//! card reads go to the kiosk screen when one runs. A board without a kiosk screen has the devices
//! stand in for it: a card takes a ticket by itself and, next to the engine, every issued ticket is
//! printed.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use tokio::sync::mpsc;

use super::bridge::ticket_print;
use super::idcard::ReaderError;
use super::printer::{PrinterService, TicketPrinter};
use super::report::DeviceReport;
use crate::config::{HallSetup, Lang};
use crate::ports::{CARD_COUNTERS, CardInput, Hall, HallNews, OnKioskBound};
use crate::queue::{CardTap, Command, Event, policy};

/// Whether a kiosk screen runs beside the devices, which decides who prints and who takes cards.
#[derive(Clone)]
pub enum KioskPresence {
    /// The kiosk prints its own tickets and asks the citizen what a card is for, so the devices only
    /// hand it the cards.
    Screen(KioskLink),
    /// No kiosk screen: a card takes a ticket for the first service that needs the ID card, and
    /// (with the engine in this process) the devices print every issued ticket.
    Headless,
}

/// Where the kiosk takes card reads. The devices start before the screens, so the kiosk's handle
/// arrives later; cards read before it does are dropped.
#[derive(Clone, Default)]
pub struct KioskLink(Arc<OnceLock<Arc<dyn CardInput>>>);

impl KioskLink {
    /// The callback the screens call once the kiosk is bound (`ScreenOptions::on_kiosk`).
    pub fn on_kiosk(&self) -> OnKioskBound {
        let slot = Arc::clone(&self.0);
        Arc::new(move |handle| {
            let _ = slot.set(handle);
        })
    }

    fn kiosk(&self) -> Option<&Arc<dyn CardInput>> {
        self.0.get()
    }
}

/// Joins the drivers to the hall: their reports become commands, and without a kiosk screen every
/// issued ticket is printed. Call inside the tokio runtime.
pub fn join<P>(
    hall: Hall,
    printer: PrinterService<P>,
    reports: mpsc::Receiver<DeviceReport>,
    presence: KioskPresence,
) where
    P: TicketPrinter + 'static,
{
    if matches!(presence, KioskPresence::Headless) {
        tokio::spawn(print_issued_tickets(hall.clone(), printer));
    }
    tokio::spawn(forward_reports(hall, reports, presence));
}

/// Turns device reports into commands for the hall until the drivers stop. Commands go one at a
/// time in report order, so a fault and its recovery reach the hall in the order they happened.
pub async fn forward_reports(
    hall: Hall,
    mut reports: mpsc::Receiver<DeviceReport>,
    presence: KioskPresence,
) {
    let setup = Arc::clone(hall.setup());
    let mut unread = UnreadCardFilter::default();
    let quiet = Duration::from_millis(setup.config.idcard.same_card_quiet_ms);
    while let Some(report) = reports.recv().await {
        if let DeviceReport::CardRejected(error) = &report {
            if unread.is_new_placement(Instant::now(), quiet) {
                tell_card_unreadable(error, &presence);
            }
            continue;
        }
        let command = match action_for(report, &setup, &presence) {
            Action::Nothing => continue,
            Action::Tap(tap) => {
                take_card_headless(&hall, tap).await;
                continue;
            }
            Action::Command(command) => command,
        };
        let name = command.name();
        match hall.send(command).await {
            Ok(outcome) => {
                if let crate::store::CommandResult::Refused(refusal) = &outcome.result {
                    tracing::warn!("device report {name} refused: {}", refusal.message);
                }
            }
            Err(e) => tracing::warn!("device report {name} not delivered: {e}"),
        }
    }
}

/// Tells one card placement the reader could not read: counted for `/metrics`, logged, and put
/// before the citizen when a kiosk screen runs.
fn tell_card_unreadable(error: &ReaderError, presence: &KioskPresence) {
    CARD_COUNTERS.unreadable.fetch_add(1, Ordering::Relaxed);
    tracing::info!("ID card on the reader could not be read: {error}");
    if let KioskPresence::Screen(link) = presence
        && let Some(kiosk) = link.kiosk()
    {
        kiosk.card_unreadable();
    }
}

/// Tells apart a new placement of an unreadable card from the same card still lying there: the
/// reader retries it on every poll, a few times a second, and the citizen is to be told once.
#[derive(Debug, Default)]
pub struct UnreadCardFilter {
    last: Option<Instant>,
}

impl UnreadCardFilter {
    /// Whether a rejection at `now` starts a new placement: none came within `quiet` before it.
    /// Each rejection pushes the quiet spell on, so a card left lying is told once however long it
    /// lies there.
    pub fn is_new_placement(&mut self, now: Instant, quiet: Duration) -> bool {
        let repeat = self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < quiet);
        self.last = Some(now);
        !repeat
    }
}

/// The hall's local date by the board's wall clock, for the expiry printed on a card.
fn local_today(setup: &HallSetup) -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&setup.utc_offset)
        .date_naive()
}

/// Whether `service` turns away a card that expired before today (`accepts_expired_id_card`).
fn refuses_expired(setup: &HallSetup, service: &str, expired: bool) -> bool {
    expired
        && setup
            .service(service)
            .is_some_and(|s| !s.accepts_expired_id_card)
}

/// What a report calls for.
enum Action {
    Nothing,
    Command(Command),
    /// A card for the hall node to hash and take a ticket with.
    Tap(CardTap),
}

/// What a report calls for, after handing a card to the kiosk screen if one runs.
fn action_for(report: DeviceReport, setup: &HallSetup, presence: &KioskPresence) -> Action {
    match (report, presence) {
        (DeviceReport::Card(facts), KioskPresence::Screen(link)) => {
            let expired = facts.is_expired_on(local_today(setup));
            match link.kiosk() {
                Some(kiosk) => kiosk.card_read(facts.card, expired),
                None => tracing::info!("card read before the kiosk screen opened; ignored"),
            }
            Action::Nothing
        }
        (DeviceReport::Card(facts), KioskPresence::Headless) => {
            let Some(service) = setup
                .config
                .services
                .iter()
                .find(|s| s.requires_id_card && !s.appointment_only)
            else {
                return Action::Nothing;
            };
            let expired = facts.is_expired_on(local_today(setup));
            if refuses_expired(setup, &service.code, expired) {
                tracing::info!(
                    service = %service.code,
                    "an expired ID card was refused: the service does not accept one"
                );
                return Action::Nothing;
            }
            Action::Tap(CardTap {
                card: facts.card,
                service: Some(service.code.clone()),
                expired,
            })
        }
        (DeviceReport::CardRejected(_), _) => Action::Nothing,
        (other, _) => other.to_command().map_or(Action::Nothing, Action::Command),
    }
}

/// Takes a ticket with a card where no kiosk screen asks what it is for.
async fn take_card_headless(hall: &Hall, tap: CardTap) {
    let command_id = uuid::Uuid::now_v7().to_string();
    match hall.tap_card(command_id, tap).await {
        Ok(answer) => {
            if let crate::store::CommandResult::Refused(refusal) = &answer.outcome.result {
                tracing::info!("a card took no ticket: {}", refusal.message);
            }
        }
        Err(e) => tracing::warn!("a card tap did not reach the hall: {e}"),
    }
}

/// Prints every ticket the hall issues, as it is issued, one after the other.
async fn print_issued_tickets<P>(hall: Hall, printer: PrinterService<P>)
where
    P: TicketPrinter + 'static,
{
    let (prints, mut queue) = mpsc::unbounded_channel();
    let setup = Arc::clone(hall.setup());
    let is_issue = |event: &Event| matches!(event, Event::TicketIssued { .. });
    let follow = hall.follow(
        is_issue,
        Arc::new(move |news| {
            let HallNews::State { state, events } = news else {
                return;
            };
            for stored in events {
                let Event::TicketIssued { ticket, .. } = &stored.event else {
                    continue;
                };
                let Some(ticket) = state.tickets.get(ticket) else {
                    continue;
                };
                let ahead = policy::people_ahead(
                    &setup,
                    stored.recorded.hall_ms,
                    ticket,
                    state.tickets.values(),
                );
                let _ = prints.send(ticket_print(&setup, ticket, ahead, Lang::Zh));
            }
        }),
    );
    let print = async move {
        while let Some(ticket) = queue.recv().await {
            let printer = printer.clone();
            let _ = tokio::task::spawn_blocking(move || printer.print(&ticket)).await;
        }
    };
    tokio::join!(follow, print);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_card_lying_on_the_reader_is_one_placement() {
        let quiet = Duration::from_secs(3);
        let t0 = Instant::now();
        let mut filter = UnreadCardFilter::default();
        assert!(filter.is_new_placement(t0, quiet));
        // The poller retries the card about three times a second while it lies there.
        for tick in 1..=60 {
            let at = t0 + Duration::from_millis(300 * tick);
            assert!(!filter.is_new_placement(at, quiet), "poll {tick}");
        }
        // Lifted, and placed again after a while: a new placement, told again.
        assert!(filter.is_new_placement(t0 + Duration::from_secs(25), quiet));
    }

    #[test]
    fn only_a_service_that_says_so_refuses_an_expired_card() {
        let mut setup = crate::config::example();
        assert!(
            setup
                .config
                .services
                .iter()
                .any(|s| s.code == "HJ" && s.accepts_expired_id_card),
            "renewals come with expired cards, so services accept them unless told not to"
        );
        assert!(!refuses_expired(&setup, "HJ", true));
        for service in &mut setup.config.services {
            service.accepts_expired_id_card = false;
        }
        assert!(refuses_expired(&setup, "HJ", true));
        assert!(!refuses_expired(&setup, "HJ", false));
    }
}
