//! How device reports reach the hall and cards reach the kiosk.
//!
//! The drivers put [`DeviceReport`]s on a channel; here they become commands for a [`CommandSink`]
//! (the engine on the hall node's own board, or the hall node over the LAN from a kiosk board), and
//! card reads go to the kiosk screen when one runs. A board without a kiosk screen has the devices
//! stand in for it: a card takes a ticket by itself and, next to the engine, every issued ticket is
//! printed.

use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;

use super::printer::{PrinterService, TicketPrinter, TicketTextConfig};
use super::{DeviceReport, ticket_print};
use crate::config::{HallSetup, Lang};
use crate::engine::EngineHandle;
use crate::queue::{Command, Event, policy};
use crate::sink::CommandSink;
use crate::ui::CardReaderHandle;

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
pub struct KioskLink(Arc<OnceLock<CardReaderHandle>>);

impl KioskLink {
    /// The callback the screens call once the kiosk is bound (`ScreenOptions::on_kiosk`).
    pub fn on_kiosk(&self) -> Arc<dyn Fn(CardReaderHandle) + Send + Sync> {
        let slot = Arc::clone(&self.0);
        Arc::new(move |handle| {
            let _ = slot.set(handle);
        })
    }

    fn kiosk(&self) -> Option<&CardReaderHandle> {
        self.0.get()
    }
}

/// Joins the drivers to the engine in this process: their reports become commands, and without a
/// kiosk screen every issued ticket is printed. Call inside the tokio runtime.
pub fn join<P>(
    engine: EngineHandle,
    printer: PrinterService<P>,
    reports: mpsc::Receiver<DeviceReport>,
    presence: KioskPresence,
) where
    P: TicketPrinter + 'static,
{
    if matches!(presence, KioskPresence::Headless) {
        tokio::spawn(print_issued_tickets(engine.clone(), printer));
    }
    let setup = Arc::clone(engine.setup());
    tokio::spawn(forward_reports(engine, setup, reports, presence));
}

/// Turns device reports into commands for `sink` until the drivers stop. Commands go one at a time
/// in report order, so a fault and its recovery reach the hall in the order they happened.
pub async fn forward_reports<S: CommandSink>(
    sink: S,
    setup: Arc<HallSetup>,
    mut reports: mpsc::Receiver<DeviceReport>,
    presence: KioskPresence,
) {
    while let Some(report) = reports.recv().await {
        let Some(command) = command_for(&report, &setup, &presence) else {
            continue;
        };
        let name = command.name();
        match sink.send(command).await {
            Ok(outcome) => {
                if let crate::store::CommandResult::Refused(refusal) = &outcome.result {
                    tracing::warn!("device report {name} refused: {}", refusal.message);
                }
            }
            Err(e) => tracing::warn!("device report {name} not delivered: {e}"),
        }
    }
}

/// The command a report stands for, after handing a card to the kiosk screen if one runs.
fn command_for(
    report: &DeviceReport,
    setup: &HallSetup,
    presence: &KioskPresence,
) -> Option<Command> {
    match (report, presence) {
        (DeviceReport::Card(facts), KioskPresence::Screen(link)) => {
            match link.kiosk() {
                Some(kiosk) => kiosk.card_tapped(facts.citizen_card()),
                None => tracing::info!("card read before the kiosk screen opened; ignored"),
            }
            None
        }
        (DeviceReport::Card(facts), KioskPresence::Headless) => setup
            .config
            .services
            .iter()
            .find(|s| s.requires_id_card && !s.appointment_only)
            .map(|s| Command::IssueTicket {
                service: s.code.clone(),
                citizen: Some(facts.citizen_card()),
                by_staff: false,
            }),
        (DeviceReport::CardRejected(e), _) => {
            tracing::info!("card not read: {e}");
            None
        }
        (other, _) => other.to_command(),
    }
}

/// Prints every ticket the engine issues, as it is issued. Only a board running the engine sees its
/// events this way.
async fn print_issued_tickets<P>(engine: EngineHandle, printer: PrinterService<P>)
where
    P: TicketPrinter + 'static,
{
    let mut events = engine.subscribe();
    let texts = TicketTextConfig::default();
    while let Ok(stored) = events.recv().await {
        let Event::TicketIssued { ticket, .. } = &stored.event else {
            continue;
        };
        let Ok(state) = engine.state().await else {
            return;
        };
        let Some(ticket) = state.tickets.get(ticket) else {
            continue;
        };
        let setup = engine.setup();
        let ahead = policy::people_ahead(
            setup,
            stored.recorded.hall_ms,
            ticket,
            state.tickets.values(),
        );
        let print = ticket_print(setup, ticket, ahead, Lang::Zh, &texts);
        let printer = printer.clone();
        let _ = tokio::task::spawn_blocking(move || printer.print(&print)).await;
    }
}
