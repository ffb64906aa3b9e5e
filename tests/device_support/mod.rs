//! Helpers shared by the device integration tests.

use std::path::Path;
use std::time::Duration;

use hallq::devices::DeviceReport;
use tokio::sync::mpsc;

/// The next report, or `None` if none arrives within `wait`.
pub fn recv(rx: &mut mpsc::Receiver<DeviceReport>, wait: Duration) -> Option<DeviceReport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async { tokio::time::timeout(wait, rx.recv()).await.ok().flatten() })
}

/// Waits for a path a simulator process creates.
pub fn wait_for(path: &Path) {
    for _ in 0..100 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

/// A `hallq sim` process, killed when dropped so a failing test leaves nothing running.
pub struct SimProcess(std::process::Child);

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `hallq sim <args> --link <link>` with stdin held open, as an operator's terminal would,
/// and waits for its port to appear.
pub fn spawn_sim(args: &[&str], link: &Path) -> SimProcess {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_hallq"))
        .arg("sim")
        .args(args)
        .arg("--link")
        .arg(link)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("hallq sim starts");
    let process = SimProcess(child);
    wait_for(link);
    process
}
