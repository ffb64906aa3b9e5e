//! A thermal printer on the far end of a pseudo-terminal: it reads the ESC/POS the driver sends,
//! answers DLE EOT from its simulated state, and hands back each ticket at its cut.

pub mod interpret;
pub mod render;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serialport::TTYPort;

use crate::devices::pty::SimPty;
use crate::devices::worker::DeviceThread;
use interpret::{EscPosInterpreter, PrintedTicket, PrinterInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    Plenty,
    NearEnd,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidTicketFault {
    PaperOut,
    /// Power lost or cable pulled.
    Silent,
}

/// What the simulated printer is going through; tests and the sim CLI change it at will.
#[derive(Debug, Clone, Default)]
pub struct SimPrinterState {
    pub paper: Paper,
    pub cover_open: bool,
    /// Powered off or cable pulled: reads nothing, answers nothing.
    pub silent: bool,
    /// A fault that strikes after this many more bytes, to stop a ticket part-way.
    pub fails_after: Option<(usize, MidTicketFault)>,
    pub tickets_spoiled: usize,
}

impl SimPrinterState {
    fn can_print(&self) -> bool {
        self.paper != Paper::Out && !self.cover_open
    }

    /// The one-byte answer to DLE EOT n, in the `0xx1xx10` pattern.
    pub fn status_byte(&self, query: u8) -> u8 {
        let base = 0x12;
        let paper_out = self.paper == Paper::Out;
        match query {
            1 if !self.can_print() => base | 0x08,
            2 => base | if self.cover_open { 0x04 } else { 0 } | if paper_out { 0x20 } else { 0 },
            4 => match self.paper {
                Paper::Plenty => base,
                Paper::NearEnd => base | 0x0C,
                Paper::Out => base | 0x6C,
            },
            _ => base,
        }
    }
}

pub struct PrinterSim {
    state: Arc<Mutex<SimPrinterState>>,
    tickets: mpsc::Receiver<PrintedTicket>,
    path: String,
    link: Option<PathBuf>,
    _thread: DeviceThread,
}

impl PrinterSim {
    /// Opens a pty pair and starts the printer on its master side. With `link`, a symlink to the
    /// slave is made there so a config can name a fixed path.
    pub fn start(link: Option<&Path>) -> io::Result<Self> {
        let pty = SimPty::open(link)?;
        let path = pty.path.clone();
        let state = Arc::new(Mutex::new(SimPrinterState::default()));
        let (sender, tickets) = mpsc::channel();
        let thread_state = Arc::clone(&state);
        let thread = DeviceThread::spawn("printer-sim", move |stop| {
            let mut printer = SimPrinter::new(thread_state, sender);
            pty.pump(&stop, |master, bytes| printer.receive(master, bytes));
        })?;
        Ok(Self {
            state,
            tickets,
            path,
            link: link.map(Path::to_path_buf),
            _thread: thread,
        })
    }

    /// The path the driver should open.
    pub fn port_path(&self) -> &str {
        &self.path
    }

    pub fn update(&self, change: impl FnOnce(&mut SimPrinterState)) {
        change(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Shared access to the state, for code that changes it from another thread.
    pub fn state_handle(&self) -> Arc<Mutex<SimPrinterState>> {
        Arc::clone(&self.state)
    }

    pub fn state(&self) -> SimPrinterState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn next_ticket(&self, timeout: Duration) -> Option<PrintedTicket> {
        self.tickets.recv_timeout(timeout).ok()
    }
}

impl Drop for PrinterSim {
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
        }
    }
}

/// The printer's side of the line: interprets bytes, answers status queries, collects tickets.
struct SimPrinter {
    state: Arc<Mutex<SimPrinterState>>,
    tickets: mpsc::Sender<PrintedTicket>,
    interpreter: EscPosInterpreter,
    /// Part of the ticket in progress arrived while the printer could not print.
    spoiled: bool,
}

impl SimPrinter {
    fn new(state: Arc<Mutex<SimPrinterState>>, tickets: mpsc::Sender<PrintedTicket>) -> Self {
        Self {
            state,
            tickets,
            interpreter: EscPosInterpreter::new(),
            spoiled: false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SimPrinterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn receive(&mut self, master: &mut TTYPort, bytes: &[u8]) {
        // Byte by byte, so a fault can strike at an exact point inside a ticket.
        for &byte in bytes {
            let snapshot = {
                let mut s = self.lock();
                if let Some((left, fault)) = s.fails_after.as_mut() {
                    if *left == 0 {
                        match fault {
                            MidTicketFault::PaperOut => s.paper = Paper::Out,
                            MidTicketFault::Silent => {
                                s.silent = true;
                                s.tickets_spoiled += 1;
                            }
                        }
                        s.fails_after = None;
                    } else {
                        *left -= 1;
                    }
                }
                s.clone()
            };
            if snapshot.silent {
                // Bytes sent to a dead printer are lost, and it wakes with an empty buffer.
                self.interpreter = EscPosInterpreter::new();
                self.spoiled = false;
                continue;
            }
            if !snapshot.can_print() {
                self.spoiled = true;
            }
            for input in self.interpreter.feed(&[byte]) {
                match input {
                    PrinterInput::StatusQuery(query) => {
                        let _ = master.write_all(&[snapshot.status_byte(query)]);
                    }
                    PrinterInput::Cut(_) if self.spoiled => {
                        self.spoiled = false;
                        self.lock().tickets_spoiled += 1;
                    }
                    PrinterInput::Cut(ticket) => {
                        let _ = self.tickets.send(ticket);
                    }
                }
            }
            if self.spoiled && !snapshot.can_print() {
                self.interpreter.discard_ticket();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bytes_follow_the_fixed_pattern() {
        use crate::devices::printer::status::is_status_byte;
        let mut state = SimPrinterState::default();
        for paper in [Paper::Plenty, Paper::NearEnd, Paper::Out] {
            for cover_open in [false, true] {
                state.paper = paper;
                state.cover_open = cover_open;
                for q in 1..=4 {
                    assert!(
                        is_status_byte(state.status_byte(q)),
                        "{paper:?} {cover_open} {q}"
                    );
                }
            }
        }
    }
}
