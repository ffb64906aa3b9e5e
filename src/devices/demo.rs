//! The demo hall's devices: both simulators on pty pairs behind the real drivers, so `hallq run`
//! without a config prints tickets (as PNG files), reads a test card now and then, and shows a
//! printer running out of paper and being refilled. They join the hall as a configured kiosk's
//! devices do ([`super::link`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::idcard::card_text::parse_card_text;
use super::idcard::sim::{CardReaderSim, TestCard};
use super::idcard::{IdCardReaderConfig, spawn_card_reader};
use super::link::{KioskPresence, join};
use super::printer::sim::render::load_font;
use super::printer::sim::{MidTicketFault, Paper, PrinterSim};
use super::printer::{PrinterConfig, PrinterService, SerialEscPosPrinter, TicketTextConfig};
use super::worker::DeviceThread;
use crate::identity::CardRead;
use crate::ports::{Hall, TicketOutput};

/// Every this many printed tickets the demo printer's paper runs out mid-ticket.
const PAPER_ROLL_TICKETS: u64 = 25;
const REFILL_AFTER: Duration = Duration::from_secs(10);
const CARD_EVERY: Duration = Duration::from_secs(20);

/// Keeps the demo devices running; dropping it stops them.
pub struct DemoDevices {
    _threads: Vec<DeviceThread>,
    reader_sim: Arc<std::sync::Mutex<CardReaderSim>>,
    paper: Arc<std::sync::Mutex<super::printer::sim::SimPrinterState>>,
    printer: PrinterService<SerialEscPosPrinter>,
    pub tickets_dir: PathBuf,
}

/// The first of the simulated reader's test cards, as the reader decodes it: the card the demo's
/// booking is made for.
pub fn first_demo_card() -> CardRead {
    let card = &TestCard::examples()[0];
    parse_card_text(&card.text())
        .expect("the simulator's test cards are valid")
        .card
}

impl DemoDevices {
    /// Starts the simulators, the drivers and the tasks joining them to `hall`. Call inside
    /// the tokio runtime.
    pub fn start(hall: Hall, tickets_dir: &Path, presence: KioskPresence) -> anyhow::Result<Self> {
        std::fs::create_dir_all(tickets_dir)?;
        let font = load_font()?;
        let printer_sim = PrinterSim::start(None)?;
        let sim_state = printer_sim.state_handle();
        let paper = Arc::clone(&sim_state);
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

        join(hall, printer.clone(), reports, presence);
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
            reader_sim,
            paper,
            printer,
            tickets_dir: tickets_dir.to_path_buf(),
        })
    }
}

impl DemoDevices {
    /// Lays test card `index` (of the simulator's examples, wrapping round) on the simulated reader.
    pub fn place_card(&self, index: usize) {
        if let Ok(sim) = self.reader_sim.lock() {
            sim.place(index % TestCard::examples().len());
        }
    }

    /// Whether the simulated printer has run out of paper.
    pub fn paper_out(&self) -> bool {
        self.paper.lock().is_ok_and(|s| s.paper == Paper::Out)
    }

    /// Takes the simulated printer's paper away, or refills it; the driver notices at its next poll.
    pub fn toggle_paper(&self) {
        if let Ok(mut s) = self.paper.lock() {
            s.paper = if s.paper == Paper::Out {
                Paper::Plenty
            } else {
                Paper::Out
            };
        }
    }

    /// The simulated serial printer, for the kiosk to print on.
    pub fn kiosk_printer(&self) -> Arc<dyn TicketOutput> {
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
