//! The durable engine: issue throughput with 1 and 64 clients, issue and call-next latency, and the
//! database's size per 10,000 tickets. Every figure comes from a fresh SQLite file with full fsync.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{percentiles_ms, round};
use crate::clock::SystemClock;
use crate::config::HallSetup;
use crate::engine::{self, EngineHandle};
use crate::queue::Command;
use crate::store::{CommandResult, Store, wal_path_of};

/// The example hall, open around the clock and without daily caps, so the bench measures the engine.
pub(super) fn bench_setup() -> Arc<HallSetup> {
    let mut setup = crate::config::example();
    setup.open_around_the_clock();
    for service in &mut setup.config.services {
        service.daily_cap = None;
    }
    Arc::new(setup)
}

fn issue() -> Command {
    Command::IssueTicket {
        service: "SB".into(),
        citizen: None,
        by_staff: true,
    }
}

async fn expect_done(engine: &EngineHandle, id: String, command: Command) -> anyhow::Result<()> {
    match engine.execute(id, command).await?.result {
        CommandResult::Done(_) => Ok(()),
        CommandResult::Refused(r) => anyhow::bail!("bench command refused: {}", r.message),
    }
}

/// Issues `per_client` tickets from each of `clients` concurrent clients; returns tickets per second.
async fn issue_rate(
    engine: &EngineHandle,
    clients: usize,
    per_client: usize,
    tag: &str,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let engine = engine.clone();
        let tag = tag.to_string();
        tasks.push(tokio::spawn(async move {
            for n in 0..per_client {
                expect_done(&engine, format!("{tag}-{c}-{n}"), issue()).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((clients * per_client) as f64 / started.elapsed().as_secs_f64())
}

async fn latencies(
    engine: &EngineHandle,
    count: usize,
    tag: &str,
    mut command: impl FnMut(usize) -> Command,
) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(count);
    for n in 0..count {
        let c = command(n);
        let started = Instant::now();
        expect_done(engine, format!("{tag}-{n}"), c).await?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

pub async fn run(dir: &Path) -> anyhow::Result<serde_json::Value> {
    let setup = bench_setup();
    let db = dir.join("bench-engine.db");
    let (engine, writer) = engine::start(setup.clone(), &db, Arc::new(SystemClock::new(true)))?;

    let size_db = dir.join("bench-size.db");
    let wal = wal_path_of(&db);
    let wal_peak = WalPeak::watch(&[wal.clone(), wal_path_of(&size_db)]);
    let single_rate = issue_rate(&engine, 1, 2_000, "rate1").await?;
    let many_rate = issue_rate(&engine, 64, 100, "rate64").await?;
    let wal_after_64_clients = wal_bytes(&wal);

    let mut issue_lat = latencies(&engine, 2_000, "lat-issue", |_| issue()).await?;
    let (issue_p50, issue_p99) = percentiles_ms(&mut issue_lat);

    expect_done(
        &engine,
        "lat-signin".into(),
        Command::SignIn {
            window: 3,
            staff: "B1".into(),
            proof: crate::queue::StaffProof::NumberOnly,
        },
    )
    .await?;
    let mut call_lat = Vec::new();
    for n in 0..2_000 {
        let started = Instant::now();
        expect_done(
            &engine,
            format!("lat-call-{n}"),
            Command::CallNext { window: 3 },
        )
        .await?;
        call_lat.push(started.elapsed());
        expect_done(
            &engine,
            format!("lat-noshow-{n}"),
            Command::NoShow { window: 3 },
        )
        .await?;
    }
    let (call_p50, call_p99) = percentiles_ms(&mut call_lat);
    drop(engine);
    writer.join();

    let wal_after_stop = wal_bytes(&wal);

    let (bytes_per_10k, results_per_10k) = size_per_10k(&setup, &size_db).await?;
    let wal_peak = wal_peak.finish().await;
    Ok(json!({
        "issued_per_s_1_client": round(single_rate, 0),
        "issued_per_s_64_clients": round(many_rate, 0),
        "wal_bytes_after_64_clients": wal_after_64_clients,
        "wal_bytes_peak": wal_peak,
        "wal_bytes_after_stop": wal_after_stop,
        "issue_latency_ms": { "p50": round(issue_p50, 3), "p99": round(issue_p99, 3) },
        "call_next_latency_ms": { "p50": round(call_p50, 3), "p99": round(call_p99, 3) },
        "db_bytes_per_10000_tickets": bytes_per_10k,
        "command_result_bytes_per_10000_tickets": results_per_10k,
        "goals": {
            "issued_per_s_64_clients_min": 2000,
            "issue_p99_ms_1_client_max": 5.0,
            "wal_bytes_max": WAL_BYTES_GOAL,
        },
    }))
}

/// The WAL on the board's SD card must stay small, whatever the burst.
const WAL_BYTES_GOAL: u64 = 64 * 1024 * 1024;

/// The WAL file's size now; 0 when there is none.
fn wal_bytes(wal: &Path) -> u64 {
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// The largest size the watched WAL files reach while the bench runs, sampled every 10 ms.
struct WalPeak {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<u64>,
}

impl WalPeak {
    fn watch(wals: &[PathBuf]) -> WalPeak {
        let wals = wals.to_vec();
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut peak = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            loop {
                peak = wals.iter().map(|w| wal_bytes(w)).fold(peak, u64::max);
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stopped => return peak,
                }
            }
        });
        WalPeak { stop, task }
    }

    async fn finish(self) -> u64 {
        let _ = self.stop.send(());
        self.task.await.unwrap_or(0)
    }
}

/// The database size after 10,000 tickets were issued, called and finished, and the part of it that
/// holds command results (kept for retries, pruned after a day).
async fn size_per_10k(setup: &Arc<HallSetup>, db: &Path) -> anyhow::Result<(u64, u64)> {
    let (engine, writer) = engine::start(setup.clone(), db, Arc::new(SystemClock::new(true)))?;
    issue_rate(&engine, 64, 10_000 / 64 + 1, "size").await?;
    let before_lifecycle = engine.state().await?.tickets.len();
    expect_done(
        &engine,
        "size-signin".into(),
        Command::SignIn {
            window: 3,
            staff: "B2".into(),
            proof: crate::queue::StaffProof::NumberOnly,
        },
    )
    .await?;
    for n in 0..before_lifecycle {
        expect_done(
            &engine,
            format!("size-call-{n}"),
            Command::CallNext { window: 3 },
        )
        .await?;
        expect_done(
            &engine,
            format!("size-start-{n}"),
            Command::StartService { window: 3 },
        )
        .await?;
        expect_done(
            &engine,
            format!("size-finish-{n}"),
            Command::Finish { window: 3 },
        )
        .await?;
    }
    drop(engine);
    writer.join();
    let store = Store::open(db, &setup.config.hall.id)?;
    store.checkpoint()?;
    let bytes = std::fs::metadata(db)?.len();
    let results = store.command_result_bytes()?;
    let per_10k = |b: u64| b * 10_000 / before_lifecycle as u64;
    Ok((per_10k(bytes), per_10k(results)))
}
