//! The demo hall's devices: both simulators on pty pairs behind the real drivers, so `hallq run`
//! without a config prints tickets (as PNG files), reads a test card now and then, and shows a
//! printer running out of paper and being refilled. With the kiosk screen open the kiosk prints
//! its own tickets on the simulated printer and takes the cards; headless, every issued ticket is
//! printed here and a card takes a ticket by itself.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;

use super::idcard::sim::{CardReaderSim, TestCard};
use super::idcard::{HallKey, IdCardReaderConfig, spawn_card_reader};
use super::printer::sim::render::load_font;
use super::printer::sim::{MidTicketFault, Paper, PrinterSim};
use super::printer::{PrinterConfig, PrinterService, SerialEscPosPrinter, TicketTextConfig};
use super::worker::DeviceThread;
use super::{DeviceReport, ticket_print};
use crate::config::Lang;
use crate::engine::EngineHandle;
use crate::queue::{Command, Event, policy};
use crate::ui::{CardReaderHandle, KioskPrinter};

/// Every this many printed tickets the demo printer's paper runs out mid-ticket.
const PAPER_ROLL_TICKETS: u64 = 25;
const REFILL_AFTER: Duration = Duration::from_secs(10);
const CARD_EVERY: Duration = Duration::from_secs(20);

/// Whether the kiosk screen runs in this process, which decides who prints and who takes cards.
#[derive(Clone)]
pub enum DemoMode {
    /// No kiosk screen: the devices print every issued ticket, and a card takes a ticket for the
    /// first service that needs the ID card.
    Headless,
    /// The kiosk prints its own tickets (on [`DemoDevices::kiosk_printer`]) and asks the citizen
    /// what a card is for, so the devices only hand it the cards.
    WithKiosk(KioskLink),
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

/// Keeps the demo devices running; dropping it stops them.
pub struct DemoDevices {
    _threads: Vec<DeviceThread>,
    _reader_sim: Arc<std::sync::Mutex<CardReaderSim>>,
    printer: PrinterService<SerialEscPosPrinter>,
    pub tickets_dir: PathBuf,
}

impl DemoDevices {
    /// Starts the simulators, the drivers and the tasks joining them to `engine`. Call inside
    /// the tokio runtime.
    pub fn start(engine: EngineHandle, tickets_dir: &Path, mode: DemoMode) -> anyhow::Result<Self> {
        std::fs::create_dir_all(tickets_dir)?;
        let font = load_font()?;
        let printer_sim = PrinterSim::start(None)?;
        let sim_state = printer_sim.state_handle();
        let reader_link =
            std::env::temp_dir().join(format!("hallq-demo-idcard-{}", std::process::id()));
        let reader_sim = Arc::new(std::sync::Mutex::new(CardReaderSim::start(
            TestCard::examples(),
            &reader_link,
        )?));

        let (reports_tx, reports) = mpsc::channel(64);
        let printer = PrinterService::new(
            SerialEscPosPrinter::new(
                PrinterConfig {
                    port: printer_sim.port_path().to_owned(),
                    ..PrinterConfig::default()
                },
                TicketTextConfig::default(),
            ),
            reports_tx.clone(),
        );
        let monitor = printer.spawn_monitor(Duration::from_secs(2))?;
        let reader = spawn_card_reader(
            IdCardReaderConfig {
                port: reader_link.to_string_lossy().into_owned(),
                ..IdCardReaderConfig::default()
            },
            HallKey::new(b"hallq demo hall key, not a secret".to_vec())
                .map_err(anyhow::Error::msg)?,
            reports_tx,
        )?;
        let dir = tickets_dir.to_path_buf();
        let saver = DeviceThread::spawn("demo-ticket-saver", move |stop| {
            let mut count = 0u64;
            while !stop.is_set() {
                let Some(ticket) = printer_sim.next_ticket(Duration::from_millis(200)) else {
                    continue;
                };
                count += 1;
                let base = dir.join(format!("ticket-{count:04}"));
                if let Err(e) = crate::devices::sim_cli::save_ticket(&ticket, &font, &base) {
                    tracing::warn!("demo ticket {count} not saved: {e:#}");
                }
                if count.is_multiple_of(PAPER_ROLL_TICKETS) {
                    printer_sim_run_out(&sim_state);
                }
            }
        })?;

        join(engine, printer.clone(), reports, mode);
        let cards = Arc::clone(&reader_sim);
        tokio::spawn(async move {
            let examples = TestCard::examples().len();
            for round in 0usize.. {
                tokio::time::sleep(CARD_EVERY).await;
                if let Ok(sim) = cards.lock() {
                    sim.place(round % examples);
                }
            }
        });
        Ok(Self {
            _threads: vec![saver, monitor, reader],
            _reader_sim: reader_sim,
            printer,
            tickets_dir: tickets_dir.to_path_buf(),
        })
    }
}

impl DemoDevices {
    /// The simulated serial printer, for the kiosk to print on.
    pub fn kiosk_printer(&self) -> Arc<dyn KioskPrinter> {
        Arc::new(self.printer.clone())
    }
}

/// The next ticket stops part-way for lack of paper; a member of staff refills it a little later.
fn printer_sim_run_out(state: &Arc<std::sync::Mutex<super::printer::sim::SimPrinterState>>) {
    if let Ok(mut s) = state.lock() {
        s.fails_after = Some((80, MidTicketFault::PaperOut));
    }
    let state = Arc::clone(state);
    std::thread::spawn(move || {
        std::thread::sleep(REFILL_AFTER);
        if let Ok(mut s) = state.lock() {
            s.paper = Paper::Plenty;
        }
    });
}

/// Joins the drivers to the engine: their reports become commands (cards go to the kiosk when there
/// is one), and without a kiosk screen every issued ticket is printed. Call inside the tokio runtime.
pub fn join<P>(
    engine: EngineHandle,
    printer: PrinterService<P>,
    reports: mpsc::Receiver<DeviceReport>,
    mode: DemoMode,
) where
    P: super::printer::TicketPrinter + 'static,
{
    if matches!(mode, DemoMode::Headless) {
        tokio::spawn(print_issued_tickets(engine.clone(), printer));
    }
    tokio::spawn(forward_reports(engine, reports, mode));
}

async fn forward_reports(
    engine: EngineHandle,
    mut reports: mpsc::Receiver<DeviceReport>,
    mode: DemoMode,
) {
    let mut n = 0u64;
    let run = uuid::Uuid::now_v7().simple().to_string();
    while let Some(report) = reports.recv().await {
        n += 1;
        let command = match (&report, &mode) {
            (DeviceReport::Card(facts), DemoMode::WithKiosk(link)) => {
                match link.kiosk() {
                    Some(kiosk) => kiosk.card_tapped(facts.citizen_card()),
                    None => tracing::info!("card read before the kiosk screen opened; ignored"),
                }
                None
            }
            // Without a kiosk screen, a card takes a ticket for the first service that needs one.
            (DeviceReport::Card(facts), DemoMode::Headless) => engine
                .setup()
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
        };
        if let Some(command) = command {
            let _ = engine
                .execute(format!("demo-device-{run}-{n}"), command)
                .await;
        }
    }
}

async fn print_issued_tickets<P>(engine: EngineHandle, printer: PrinterService<P>)
where
    P: super::printer::TicketPrinter + 'static,
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
