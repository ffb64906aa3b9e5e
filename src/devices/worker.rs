//! Device threads: serial I/O blocks, so each device loop owns a thread that stops on request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Tells a device loop to stop; its sleeps wake up early when it is set.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Sleeps for `period` or until the flag is set, whichever comes first.
    pub fn sleep(&self, period: Duration) {
        let step = Duration::from_millis(20);
        let mut slept = Duration::ZERO;
        while slept < period && !self.is_set() {
            let nap = step.min(period - slept);
            std::thread::sleep(nap);
            slept += nap;
        }
    }
}

/// A running device loop; dropping it stops the loop and waits for it.
#[derive(Debug)]
pub struct DeviceThread {
    stop: StopFlag,
    thread: Option<JoinHandle<()>>,
}

impl DeviceThread {
    pub fn spawn(
        name: &str,
        body: impl FnOnce(StopFlag) + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = StopFlag::default();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.set();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for DeviceThread {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn stopping_wakes_a_long_sleep() {
        let started = Instant::now();
        let thread =
            DeviceThread::spawn("test", |stop| stop.sleep(Duration::from_secs(30))).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        thread.stop();
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
