//! The far side of a simulated device: a pseudo-terminal pair whose slave any serial code opens
//! like a real port, and a loop that feeds what arrives on the master to the simulator.

use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use super::worker::StopFlag;

/// A pty pair and the path the driver should open: `link` when given (a symlink to the slave,
/// replacing a stale one), else the slave's own `/dev/pts/N`.
pub struct SimPty {
    pub master: TTYPort,
    /// Held open by the simulator so the master never sees a hang-up while no driver has the
    /// port open.
    pub slave: TTYPort,
    pub path: String,
}

impl SimPty {
    pub fn open(link: Option<&Path>) -> io::Result<Self> {
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
        Ok(Self {
            master,
            slave,
            path,
        })
    }

    /// Hands each batch of received bytes to `handle` (which may answer on the master) until
    /// `stop` is set.
    pub fn pump(self, stop: &StopFlag, mut handle: impl FnMut(&mut TTYPort, &[u8])) {
        let Self {
            mut master,
            slave: _slave,
            ..
        } = self;
        let _ = master.set_timeout(Duration::from_millis(50));
        let mut buf = [0u8; 512];
        while !stop.is_set() {
            match master.read(&mut buf) {
                Ok(n) => handle(&mut master, &buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(_) => stop.sleep(Duration::from_millis(50)),
            }
        }
    }
}
