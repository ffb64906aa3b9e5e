//! Opening serial ports the same way for every device, so the config's flow control and timeouts
//! mean one thing everywhere.

use std::io;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

pub use crate::config::devices::{COMMON_BAUD_RATES, FlowControl};

impl From<FlowControl> for serialport::FlowControl {
    fn from(value: FlowControl) -> Self {
        match value {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Software => serialport::FlowControl::Software,
            FlowControl::Hardware => serialport::FlowControl::Hardware,
        }
    }
}

/// Opens `path` as 8N1 at `baud`. `timeout` bounds each read and write.
pub fn open_port(
    path: &str,
    baud: u32,
    flow: FlowControl,
    timeout: Duration,
) -> serialport::Result<TTYPort> {
    serialport::new(path, baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(flow.into())
        .timeout(timeout)
        .open_native()
}

/// Milliseconds `bytes` take on an 8N1 line: ten bit times per byte.
pub fn wire_millis(bytes: usize, baud: u32) -> f64 {
    bytes as f64 * 10.0 * 1000.0 / f64::from(baud)
}

/// Reads exactly `buf.len()` bytes or fails once `deadline` passes. A serial read returns as soon as
/// some bytes arrive, so a reply that trickles in needs several reads.
pub fn read_exact_until(
    port: &mut dyn SerialPort,
    buf: &mut [u8],
    deadline: Instant,
) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let now = Instant::now();
        if now >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no reply in time"));
        }
        port.set_timeout(deadline - now).map_err(io::Error::other)?;
        match port.read(&mut buf[filled..]) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::BrokenPipe, "port closed")),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn wire_time_counts_ten_bits_per_byte() {
        assert!((wire_millis(960, 9600) - 1000.0).abs() < 1e-9);
        assert!((wire_millis(1, 115200) - 0.086_805).abs() < 1e-5);
    }

    #[test]
    fn read_exact_until_collects_a_split_reply_and_times_out_on_silence() {
        let (mut master, slave) = TTYPort::pair().unwrap();
        let path = slave.name().unwrap();
        let mut port =
            open_port(&path, 9600, FlowControl::None, Duration::from_millis(50)).unwrap();
        master.write_all(&[1, 2]).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(80));
            master.write_all(&[3]).unwrap();
            master
        });
        let mut buf = [0u8; 3];
        read_exact_until(&mut port, &mut buf, Instant::now() + Duration::from_secs(2)).unwrap();
        assert_eq!(buf, [1, 2, 3]);
        let _master = writer.join().unwrap();
        let err = read_exact_until(
            &mut port,
            &mut buf,
            Instant::now() + Duration::from_millis(100),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(slave);
    }
}
