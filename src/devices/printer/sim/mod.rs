//! A thermal printer on the far end of a pseudo-terminal: it reads the ESC/POS the driver sends,
//! answers DLE EOT from its simulated state, and hands back each ticket at its cut.

pub mod interpret;
pub mod render;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use crate::devices::worker::{DeviceThread, StopFlag};
use interpret::{EscPosInterpreter, PrintedTicket, PrinterInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    Plenty,
    NearEnd,
    Out,
}

/// What the simulated printer is going through; tests and the sim CLI change it at will.
#[derive(Debug, Clone, Default)]
pub struct SimPrinterState {
    pub paper: Paper,
    pub cover_open: bool,
    /// Powered off or cable pulled: reads nothing, answers nothing.
    pub silent: bool,
    /// Paper runs out after this many more bytes, to stop a ticket part-way.
    pub paper_left_bytes: Option<usize>,
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
        let (master, slave) = TTYPort::pair().map_err(io::Error::other)?;
        let slave_path = slave
            .name()
            .ok_or_else(|| io::Error::other("pty slave has no name"))?;
        let path = match link {
            Some(link) => {
                let _ = std::fs::remove_file(link);
                std::os::unix::fs::symlink(&slave_path, link)?;
                link.to_string_lossy().into_owned()
            }
            None => slave_path,
        };
        let state = Arc::new(Mutex::new(SimPrinterState::default()));
        let (sender, tickets) = mpsc::channel();
        let thread_state = Arc::clone(&state);
        let thread = DeviceThread::spawn("printer-sim", move |stop| {
            // The sim keeps the slave open so the master never sees a hang-up while no driver
            // has the port open.
            let _slave = slave;
            serve(master, &thread_state, &sender, &stop);
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

fn serve(
    mut master: TTYPort,
    state: &Mutex<SimPrinterState>,
    tickets: &mpsc::Sender<PrintedTicket>,
    stop: &StopFlag,
) {
    let _ = master.set_timeout(Duration::from_millis(50));
    let mut interpreter = EscPosInterpreter::new();
    let mut spoiled = false;
    let mut buf = [0u8; 512];
    while !stop.is_set() {
        let n = match master.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
            Err(_) => {
                stop.sleep(Duration::from_millis(50));
                continue;
            }
        };
        if state.lock().map(|s| s.silent).unwrap_or(false) {
            // Bytes sent to a dead printer are lost.
            continue;
        }
        for &byte in &buf[..n] {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(left) = s.paper_left_bytes.as_mut() {
                if *left == 0 {
                    s.paper = Paper::Out;
                    s.paper_left_bytes = None;
                } else {
                    *left -= 1;
                }
            }
            if !s.can_print() {
                spoiled = true;
            }
            let snapshot = s.clone();
            drop(s);
            for input in interpreter.feed(&[byte]) {
                match input {
                    PrinterInput::StatusQuery(query) => {
                        let _ = master.write_all(&[snapshot.status_byte(query)]);
                    }
                    PrinterInput::Cut(ticket) if spoiled => {
                        drop(ticket);
                        spoiled = false;
                        state
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .tickets_spoiled += 1;
                    }
                    PrinterInput::Cut(ticket) => {
                        let _ = tickets.send(ticket);
                    }
                }
            }
            if spoiled && !snapshot.can_print() {
                interpreter.discard_ticket();
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
