//! The floor under every command: one small row committed durably (WAL, `synchronous=FULL`), with
//! nothing of hallq's around it. Printed beside the engine's and the LAN's figures, so they can be read
//! against what the disk they ran on allows: no command that keeps its result through a power cut can
//! cost less. Measured twice: into a WAL that already has its size, as the engine keeps it, and into a
//! WAL growing from nothing, as a WAL truncated after every pause would be.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::json;

use super::{percentiles_ms, round};
use crate::clock::thread_cpu_time;
use crate::store::Store;

pub fn durable_commit(dir: &Path, commits: usize) -> anyhow::Result<serde_json::Value> {
    let path = dir.join("bench-floor.db");
    let mut store = Store::open(&path, "bench-floor")?;
    let conn = Connection::open(&path)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.execute_batch("CREATE TABLE floor (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")?;
    store.presize_wal()?;
    let sized = commits_timed(&conn, commits)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let growing = commits_timed(&conn, commits)?;
    drop(conn);
    drop(store);
    Ok(json!({
        "commits": commits,
        "into_a_wal_with_its_size": sized,
        "into_a_growing_wal": growing,
    }))
}

fn commits_timed(conn: &Connection, commits: usize) -> anyhow::Result<serde_json::Value> {
    let row = [7u8; 120];
    let commit = || -> rusqlite::Result<Duration> {
        let started = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.prepare_cached("INSERT INTO floor (data) VALUES (?1)")?
            .execute([row.as_slice()])?;
        conn.execute_batch("COMMIT")?;
        Ok(started.elapsed())
    };
    let cpu_before = thread_cpu_time();
    let mut samples = (0..commits)
        .map(|_| commit())
        .collect::<Result<Vec<_>, _>>()?;
    let cpu = thread_cpu_time() - cpu_before;
    let (p50, p99) = percentiles_ms(&mut samples);
    Ok(json!({
        "commit_p50_ms": round(p50, 3),
        "commit_p99_ms": round(p99, 3),
        "cpu_ms_per_commit": round(cpu.as_secs_f64() * 1000.0 / commits as f64, 3),
    }))
}
