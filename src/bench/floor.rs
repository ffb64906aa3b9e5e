//! The floor under every command: one small row committed durably (WAL, `synchronous=FULL`) into a WAL
//! that already has its size, with nothing of hallq's around it. Printed beside the engine's and the
//! LAN's figures, so they can be read against what the disk they ran on allows: no command that keeps
//! its result through a power cut can cost less.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{percentiles_ms, round};
use crate::clock::thread_cpu_time;
use crate::store::Store;

pub fn durable_commit(dir: &Path, commits: usize) -> anyhow::Result<serde_json::Value> {
    let path = dir.join("bench-floor.db");
    // A hall's database, its WAL given its size as the engine gives it.
    let mut store = Store::open(&path, "bench-floor")?;
    store.presize_wal()?;
    let conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.execute_batch("CREATE TABLE floor (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")?;
    let row = [7u8; 120];
    let commit = || -> rusqlite::Result<Duration> {
        let started = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.prepare_cached("INSERT INTO floor (data) VALUES (?1)")?
            .execute([row.as_slice()])?;
        conn.execute_batch("COMMIT")?;
        Ok(started.elapsed())
    };
    for _ in 0..20 {
        commit()?;
    }
    let cpu_before = thread_cpu_time();
    let mut samples = (0..commits)
        .map(|_| commit())
        .collect::<Result<Vec<_>, _>>()?;
    let cpu = thread_cpu_time() - cpu_before;
    let (p50, p99) = percentiles_ms(&mut samples);
    drop(conn);
    drop(store);
    Ok(json!({
        "commits": commits,
        "commit_p50_ms": round(p50, 3),
        "commit_p99_ms": round(p99, 3),
        "cpu_ms_per_commit": round(cpu.as_secs_f64() * 1000.0 / commits as f64, 3),
    }))
}
