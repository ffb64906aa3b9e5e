//! A serial line to a simulator whose flush, once armed, fails after doing its work.
//!
//! On a pty the flush (`tcdrain`) does not fail while the simulator holds the other side, and a
//! simulator that hung up to provoke one would also stop answering the status queries that
//! follow, which is a different fault. So the fault sits here, between the real driver and the
//! real port: the real flush runs first and the bytes reach the simulator exactly as they would,
//! and only the result the driver sees is an error, as with the "flush failed" seen on a board
//! whose printer held the whole ticket.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits, TTYPort};

/// Writes shorter than this are status queries (`DLE EOT n`); the armed fault waits for the
/// flush that follows a ticket.
const LONGEST_STATUS_QUERY: usize = 3;

pub struct FailingFlushPort {
    port: TTYPort,
    unflushed: usize,
    armed: Arc<AtomicBool>,
}

impl FailingFlushPort {
    /// Opens `path` like the printer driver does; the next flush after a ticket fails while
    /// `armed` is set, and clears it.
    pub fn open(path: &str, baud: u32, armed: Arc<AtomicBool>) -> io::Result<Self> {
        let port = serialport::new(path, baud)
            .timeout(Duration::from_millis(300))
            .open_native()?;
        Ok(Self {
            port,
            unflushed: 0,
            armed,
        })
    }
}

impl Read for FailingFlushPort {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.port.read(buf)
    }
}

impl Write for FailingFlushPort {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.port.write(buf)?;
        self.unflushed += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.port.flush()?;
        let after_a_ticket = self.unflushed > LONGEST_STATUS_QUERY;
        self.unflushed = 0;
        if after_a_ticket && self.armed.swap(false, Ordering::SeqCst) {
            return Err(io::Error::other("flush failed"));
        }
        Ok(())
    }
}

impl SerialPort for FailingFlushPort {
    fn name(&self) -> Option<String> {
        self.port.name()
    }
    fn baud_rate(&self) -> serialport::Result<u32> {
        self.port.baud_rate()
    }
    fn data_bits(&self) -> serialport::Result<DataBits> {
        self.port.data_bits()
    }
    fn flow_control(&self) -> serialport::Result<FlowControl> {
        self.port.flow_control()
    }
    fn parity(&self) -> serialport::Result<Parity> {
        self.port.parity()
    }
    fn stop_bits(&self) -> serialport::Result<StopBits> {
        self.port.stop_bits()
    }
    fn timeout(&self) -> Duration {
        self.port.timeout()
    }
    fn set_baud_rate(&mut self, baud_rate: u32) -> serialport::Result<()> {
        self.port.set_baud_rate(baud_rate)
    }
    fn set_data_bits(&mut self, data_bits: DataBits) -> serialport::Result<()> {
        self.port.set_data_bits(data_bits)
    }
    fn set_flow_control(&mut self, flow_control: FlowControl) -> serialport::Result<()> {
        self.port.set_flow_control(flow_control)
    }
    fn set_parity(&mut self, parity: Parity) -> serialport::Result<()> {
        self.port.set_parity(parity)
    }
    fn set_stop_bits(&mut self, stop_bits: StopBits) -> serialport::Result<()> {
        self.port.set_stop_bits(stop_bits)
    }
    fn set_timeout(&mut self, timeout: Duration) -> serialport::Result<()> {
        self.port.set_timeout(timeout)
    }
    fn write_request_to_send(&mut self, level: bool) -> serialport::Result<()> {
        self.port.write_request_to_send(level)
    }
    fn write_data_terminal_ready(&mut self, level: bool) -> serialport::Result<()> {
        self.port.write_data_terminal_ready(level)
    }
    fn read_clear_to_send(&mut self) -> serialport::Result<bool> {
        self.port.read_clear_to_send()
    }
    fn read_data_set_ready(&mut self) -> serialport::Result<bool> {
        self.port.read_data_set_ready()
    }
    fn read_ring_indicator(&mut self) -> serialport::Result<bool> {
        self.port.read_ring_indicator()
    }
    fn read_carrier_detect(&mut self) -> serialport::Result<bool> {
        self.port.read_carrier_detect()
    }
    fn bytes_to_read(&self) -> serialport::Result<u32> {
        self.port.bytes_to_read()
    }
    fn bytes_to_write(&self) -> serialport::Result<u32> {
        self.port.bytes_to_write()
    }
    fn clear(&self, buffer_to_clear: ClearBuffer) -> serialport::Result<()> {
        self.port.clear(buffer_to_clear)
    }
    fn try_clone(&self) -> serialport::Result<Box<dyn SerialPort>> {
        self.port.try_clone()
    }
    fn set_break(&self) -> serialport::Result<()> {
        self.port.set_break()
    }
    fn clear_break(&self) -> serialport::Result<()> {
        self.port.clear_break()
    }
}
