//! Checkpointing beside the writer. The engine's connection never checkpoints on its own
//! (`wal_autocheckpoint=0`): copying the WAL back into the database costs several writes and an fsync of
//! the main file, and a command that happened to trigger it would wait for all of that. This thread does
//! it instead, with PASSIVE checkpoints that never block the writer.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

const PERIOD: Duration = Duration::from_secs(2);

pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(1))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("hallq-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    std::thread::park_timeout(PERIOD);
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!("checkpoint failed: {e}");
                    }
                }
            })
            .expect("the checkpoint thread starts");
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }

    /// Runs a last checkpoint and waits for the thread to end.
    pub fn stop(mut self) {
        if let Some(thread) = self.signal_stop() {
            let _ = thread.join();
        }
    }

    fn signal_stop(&mut self) -> Option<JoinHandle<()>> {
        self.stop.store(true, Ordering::Release);
        let thread = self.thread.take()?;
        thread.thread().unpark();
        Some(thread)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
