//! Checkpointing beside the writer. The engine's connection never checkpoints on its own
//! (`wal_autocheckpoint=0`): copying the WAL back into the database costs several writes and an fsync of
//! the main file, and a command that happened to trigger it would wait for all of that. This thread does
//! it instead, with PASSIVE checkpoints that never block the writer, so that the writer's own fold when
//! the WAL passes its limit (`Store::keep_wal_bounded`) finds little left to copy.
//!
//! Once the hall has been quiet for a moment, the WAL is folded back in full, so the database file alone
//! holds everything, and the next commit starts it again from the beginning. The file keeps its size
//! (see `Store::presize_wal`): a commit after a pause writes into blocks it already has rather than
//! growing it. When the node stops, the WAL is folded back and truncated to nothing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::error::StoreError;

const PERIOD: Duration = Duration::from_secs(1);
/// Quiet this long, the hall is idle: the WAL is folded back in full.
const IDLE: Duration = Duration::from_secs(2);

pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A checkpoint in `mode` (PASSIVE, RESTART, TRUNCATE); true when it copied every frame.
fn checkpoint(conn: &Connection, mode: &str) -> bool {
    match conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(busy) => busy == 0,
        Err(e) => {
            tracing::warn!("{mode} checkpoint failed: {e}");
            false
        }
    }
}

/// Changes whenever another connection (the engine's) has committed since the last call.
fn data_version(conn: &Connection) -> Option<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0)).ok()
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = super::encryption::connect(path, rusqlite::OpenFlags::default())?;
        conn.busy_timeout(Duration::from_secs(1))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("hallq-checkpoint".into())
            .spawn(move || {
                let mut seen = data_version(&conn);
                let mut last_write = Instant::now();
                // Not known to be folded back: the node may have started on a WAL left by a power cut.
                let mut folded = false;
                while !flag.load(Ordering::Acquire) {
                    std::thread::park_timeout(PERIOD);
                    if flag.load(Ordering::Acquire) {
                        break;
                    }
                    let version = data_version(&conn);
                    if version != seen {
                        seen = version;
                        last_write = Instant::now();
                        folded = false;
                        checkpoint(&conn, "PASSIVE");
                    } else if !folded && last_write.elapsed() >= IDLE {
                        folded = checkpoint(&conn, "RESTART");
                    }
                }
                // The last word: everything in the main file, the WAL empty.
                if !checkpoint(&conn, "TRUNCATE") {
                    tracing::warn!("the WAL could not be folded back at stop");
                }
            })
            .expect("the checkpoint thread starts");
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }

    /// Folds the WAL back into the main file, truncates it, and waits for the thread to end.
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
