//! The durable engine: issue throughput with 1 and 64 clients, issue and call-next latency, and the
//! database's size per 10,000 tickets. Every figure comes from a fresh SQLite file with full fsync.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{percentiles_ms, round};
use crate::clock::SystemClock;
use crate::config::HallSetup;
use crate::engine::{self, EngineHandle};
use crate::queue::{Command, RatingChannel, RatingInput, Reply};
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
    done(engine, id, command).await.map(drop)
}

async fn done(engine: &EngineHandle, id: String, command: Command) -> anyhow::Result<Reply> {
    match engine.execute(id, command).await?.result {
        CommandResult::Done(reply) => Ok(reply),
        CommandResult::Refused(r) => anyhow::bail!("bench command refused: {}", r.message),
    }
}

/// A command id as the hall's terminals draw them, so stored results and the trail are measured at
/// the size they have in the hall.
fn terminal_command_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Issues `per_client` tickets from each of `clients` concurrent clients; returns tickets per second.
async fn issue_rate(
    engine: &EngineHandle,
    clients: usize,
    per_client: usize,
) -> anyhow::Result<f64> {
    issue_rate_of(engine, clients, per_client, issue).await
}

async fn issue_rate_of(
    engine: &EngineHandle,
    clients: usize,
    per_client: usize,
    issue: fn() -> Command,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                expect_done(&engine, terminal_command_id(), issue()).await?;
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
    let writer_cpu_ns = || engine.counters().writer_cpu_ns.load(Ordering::Relaxed);
    let cpu_before = writer_cpu_ns();
    let single_rate = issue_rate(&engine, 1, 2_000).await?;
    let writer_cpu_ms_per_issue = (writer_cpu_ns() - cpu_before) as f64 / 1e6 / 2_000.0;
    let many_rate = issue_rate(&engine, 64, 100).await?;
    let wal_after_64_clients = wal_bytes(&wal);

    let mut issue_lat = latencies(&engine, 2_000, "lat-issue", |_| issue()).await?;
    let (issue_p50, issue_p99) = percentiles_ms(&mut issue_lat);

    expect_done(
        &engine,
        "lat-signin".into(),
        Command::sign_in_by_number(3, "B1"),
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

    let size = size_per_10k(&setup, &size_db).await?;
    let wal_peak = wal_peak.finish().await;
    Ok(json!({
        "issued_per_s_1_client": round(single_rate, 0),
        "writer_cpu_ms_per_issue_1_client": round(writer_cpu_ms_per_issue, 3),
        "issued_per_s_64_clients": round(many_rate, 0),
        "wal_bytes_after_64_clients": wal_after_64_clients,
        "wal_bytes_peak": wal_peak,
        "wal_bytes_after_stop": wal_after_stop,
        "issue_latency_ms": { "p50": round(issue_p50, 3), "p99": round(issue_p99, 3) },
        "call_next_latency_ms": { "p50": round(call_p50, 3), "p99": round(call_p99, 3) },
        "db_bytes_per_10000_tickets": size.bytes_per_10k,
        "command_result_bytes_per_10000_tickets": size.results_per_10k,
        "store_bytes_per_lifecycle": size.bytes_per_lifecycle,
        "store_bytes_per_lifecycle_by_table": size.per_table,
        "goals": {
            "issued_per_s_64_clients_min": 2000,
            "issue_p99_ms_1_client_max": 5.0,
            "wal_bytes_max": WAL_BYTES_GOAL,
            "store_bytes_per_lifecycle_max": 1024,
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

/// The database size after 10,000 full lifecycles (issued, called, started, finished, rated), after a
/// checkpoint, and the part of it that holds command results (kept for retries, pruned after a day).
async fn size_per_10k(setup: &Arc<HallSetup>, db: &Path) -> anyhow::Result<StoreSize> {
    let (engine, writer) = engine::start(setup.clone(), db, Arc::new(SystemClock::new(true)))?;
    issue_rate(&engine, 64, 10_000 / 64 + 1).await?;
    let before_lifecycle = engine.state().await?.tickets.len();
    expect_done(
        &engine,
        terminal_command_id(),
        Command::sign_in_by_number(3, "B2"),
    )
    .await?;
    for _ in 0..before_lifecycle {
        let Reply::Ticket { ticket, .. } = done(
            &engine,
            terminal_command_id(),
            Command::CallNext { window: 3 },
        )
        .await?
        else {
            anyhow::bail!("a call answered without its ticket");
        };
        expect_done(
            &engine,
            terminal_command_id(),
            Command::StartService { window: 3 },
        )
        .await?;
        expect_done(
            &engine,
            terminal_command_id(),
            Command::Finish { window: 3 },
        )
        .await?;
        expect_done(
            &engine,
            terminal_command_id(),
            Command::Rate {
                number: ticket.number,
                rating: RatingInput::score(5, RatingChannel::WindowTablet),
            },
        )
        .await?;
    }
    drop(engine);
    writer.join();
    let store = Store::open(db, &setup.config.hall.id)?;
    store.checkpoint()?;
    let bytes = std::fs::metadata(db)?.len();
    let tickets = before_lifecycle as u64;
    let per_table = store
        .bytes_per_table()?
        .into_iter()
        .map(|(table, b)| (table, json!(b / tickets)))
        .collect::<serde_json::Map<_, _>>();
    Ok(StoreSize {
        bytes_per_10k: bytes * 10_000 / tickets,
        results_per_10k: store.command_result_bytes()? * 10_000 / tickets,
        bytes_per_lifecycle: bytes / tickets,
        per_table: per_table.into(),
    })
}

struct StoreSize {
    bytes_per_10k: u64,
    results_per_10k: u64,
    bytes_per_lifecycle: u64,
    per_table: serde_json::Value,
}

/// Issue and call-next latency in a hall on a fresh day and in one whose day already holds `fill`
/// tickets, waiting in a service the measured window does not serve: a command's cost must not grow
/// with the day. The two halls run side by side in this process and are measured in turns, each after
/// its WAL was folded back, so a busy moment of the machine or a checkpoint of the fill weighs on one
/// side no more than on the other. Beside each latency, the engine's own CPU time per command, which
/// the disk and the other processes of the machine barely touch. Then what a reader of the whole state
/// costs: a copy of the state (`state()`), and call-next while a follower copies the state after each
/// batch of events, as the screens, voice and kiosk printer do. `samples / 10` of each, at least 2.
pub async fn day_fill(
    dir: &Path,
    fill: usize,
    samples: usize,
) -> anyhow::Result<serde_json::Value> {
    let setup = bench_setup();
    let fresh = DayHall::start(&setup, &dir.join("bench-day-fresh.db"), "fresh").await?;
    let full = DayHall::start(&setup, &dir.join("bench-day-full.db"), "full").await?;
    issue_rate_of(&full.engine, 64, fill.div_ceil(64), || {
        Command::IssueTicket {
            service: "YB".into(),
            citizen: None,
            by_staff: true,
        }
    })
    .await?;
    let day_tickets = full.engine.state().await?.tickets.len();
    fresh.settle().await;
    full.settle().await;

    let halls = [&fresh, &full];
    let mut figures = [Figures::default(), Figures::default()];
    for n in 0..samples {
        for side in in_turn(n) {
            let hall = halls[side];
            let timed = hall
                .timed(format!("{}-issue-{n}", hall.tag), issue())
                .await?;
            figures[side].issue.push(timed);
        }
    }
    for n in 0..samples {
        for side in in_turn(n) {
            let hall = halls[side];
            let call = Command::CallNext { window: 3 };
            let timed = hall.timed(format!("{}-call-{n}", hall.tag), call).await?;
            figures[side].call.push(timed);
            expect_done(
                &hall.engine,
                format!("{}-noshow-{n}", hall.tag),
                Command::NoShow { window: 3 },
            )
            .await?;
        }
    }
    let reader_samples = (samples / 10).max(2);
    for n in 0..reader_samples {
        for side in in_turn(n) {
            let started = Instant::now();
            halls[side].engine.state().await?;
            figures[side].state.push(started.elapsed());
        }
    }
    for hall in halls {
        for n in 0..reader_samples {
            expect_done(
                &hall.engine,
                format!("{}-followed-issue-{n}", hall.tag),
                issue(),
            )
            .await?;
        }
    }
    let followers = halls.map(|hall| tokio::spawn(follow_state(hall.engine.clone())));
    for n in 0..reader_samples {
        for side in in_turn(n) {
            let hall = halls[side];
            let call = Command::CallNext { window: 3 };
            let timed = hall
                .timed(format!("{}-followed-call-{n}", hall.tag), call)
                .await?;
            figures[side].followed_call.push(timed);
            expect_done(
                &hall.engine,
                format!("{}-followed-noshow-{n}", hall.tag),
                Command::NoShow { window: 3 },
            )
            .await?;
        }
    }
    for follower in followers {
        follower.abort();
        let _ = follower.await;
    }
    let [fresh_figures, full_figures] = figures;
    let (at_start, at_fill) = (fresh_figures.json(), full_figures.json());
    for hall in [fresh, full] {
        drop(hall.engine);
        hall.writer.join();
    }
    let ratio = |key: &str, of: &str| {
        round(
            at_fill[key][of].as_f64().unwrap_or(f64::NAN)
                / at_start[key][of].as_f64().unwrap_or(f64::NAN),
            2,
        )
    };
    Ok(json!({
        "day_tickets_at_fill": day_tickets,
        "samples": samples,
        "at_start": at_start,
        "at_fill": at_fill,
        "issue_p99_ratio": ratio("issue_latency_ms", "p99"),
        "call_next_p99_ratio": ratio("call_next_latency_ms", "p99"),
        "issue_engine_cpu_p99_ratio": ratio("issue_engine_cpu_ms", "p99"),
        "call_next_engine_cpu_p99_ratio": ratio("call_next_engine_cpu_ms", "p99"),
        "state_copy_p99_ratio": ratio("state_copy_ms", "p99"),
        "followed_call_next_p99_ratio": ratio("followed_call_next_latency_ms", "p99"),
        "goals": { "p99_ratio_max": 1.2 },
    }))
}

/// A reader of the whole state as `ports::follow_engine` is: after each batch of events, a fresh copy.
async fn follow_state(engine: EngineHandle) {
    let mut events = engine.subscribe();
    loop {
        match events.recv().await {
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
        while events.try_recv().is_ok() {}
        if engine.state().await.is_err() {
            return;
        }
    }
}

/// Which hall goes first in round `n`: each in turn, so neither always follows the other's commit.
fn in_turn(n: usize) -> [usize; 2] {
    if n.is_multiple_of(2) { [0, 1] } else { [1, 0] }
}

/// One of the two halls [`day_fill`] compares, its window 3 signed in.
struct DayHall {
    engine: EngineHandle,
    writer: engine::EngineThread,
    wal: PathBuf,
    tag: &'static str,
}

/// A command's latency and the engine's CPU time for it.
struct Timed {
    latency: Duration,
    engine_cpu: Duration,
}

#[derive(Default)]
struct Figures {
    issue: Vec<Timed>,
    call: Vec<Timed>,
    /// How long `state()` took to answer.
    state: Vec<Duration>,
    /// Call-next while a follower copies the state after each batch.
    followed_call: Vec<Timed>,
}

impl DayHall {
    async fn start(
        setup: &Arc<HallSetup>,
        db: &Path,
        tag: &'static str,
    ) -> anyhow::Result<DayHall> {
        let (engine, writer) = engine::start(setup.clone(), db, Arc::new(SystemClock::new(true)))?;
        expect_done(
            &engine,
            format!("{tag}-signin"),
            Command::sign_in_by_number(3, "B3"),
        )
        .await?;
        Ok(DayHall {
            engine,
            writer,
            wal: wal_path_of(db),
            tag,
        })
    }

    /// Waits until the checkpointer has folded the WAL back, as it does once the hall is quiet (at
    /// most half a minute), so both halls start from the same kind of store.
    async fn settle(&self) {
        let give_up = Instant::now() + Duration::from_secs(30);
        while wal_bytes(&self.wal) > 0 && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `command`, which must succeed, alone on this hall's engine.
    async fn timed(&self, id: String, command: Command) -> anyhow::Result<Timed> {
        let cpu = || self.engine.counters().writer_cpu_ns.load(Ordering::Relaxed);
        let cpu_before = cpu();
        let started = Instant::now();
        expect_done(&self.engine, id, command).await?;
        let latency = started.elapsed();
        Ok(Timed {
            latency,
            engine_cpu: Duration::from_nanos(cpu() - cpu_before),
        })
    }
}

impl Figures {
    fn json(self) -> serde_json::Value {
        let percentiles = |timed: &[Timed], of: fn(&Timed) -> Duration| {
            let mut samples: Vec<Duration> = timed.iter().map(of).collect();
            let (p50, p99) = percentiles_ms(&mut samples);
            json!({ "p50": round(p50, 3), "p99": round(p99, 3) })
        };
        let mut state = self.state;
        let (state_p50, state_p99) = percentiles_ms(&mut state);
        json!({
            "issue_latency_ms": percentiles(&self.issue, |t| t.latency),
            "call_next_latency_ms": percentiles(&self.call, |t| t.latency),
            "issue_engine_cpu_ms": percentiles(&self.issue, |t| t.engine_cpu),
            "call_next_engine_cpu_ms": percentiles(&self.call, |t| t.engine_cpu),
            "state_copy_ms": { "p50": round(state_p50, 3), "p99": round(state_p99, 3) },
            "followed_call_next_latency_ms": percentiles(&self.followed_call, |t| t.latency),
        })
    }
}

/// What encryption at rest costs: the same tickets issued into a plain and an encrypted database,
/// in turns (plain, encrypted, plain, encrypted) so a machine busy for a while weighs on both.
pub async fn encryption_cost(dir: &Path) -> anyhow::Result<serde_json::Value> {
    use crate::store::encryption::{DatabaseKey, use_key};
    let key_file = dir.join("bench-db.key");
    DatabaseKey::create_file(&key_file)?;
    let key = DatabaseKey::load(&key_file)?;
    let mut runs: [Vec<serde_json::Value>; 2] = [Vec::new(), Vec::new()];
    let mut latency: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round_no in 0..2 {
        for (variant, encrypted) in [false, true].into_iter().enumerate() {
            let db = dir.join(format!("bench-cipher-{round_no}-{encrypted}.db"));
            if encrypted {
                use_key(&db, key.clone());
            }
            let (engine, writer) =
                engine::start(bench_setup(), &db, Arc::new(SystemClock::new(true)))?;
            let tag = format!("cipher-{round_no}-{encrypted}");
            let rate = issue_rate(&engine, 64, 50).await?;
            let mut samples = latencies(&engine, 1_000, &tag, |_| issue()).await?;
            drop(engine);
            writer.join();
            let (p50, p99) = percentiles_ms(&mut samples);
            runs[variant].push(json!({ "p50_ms": round(p50, 3), "p99_ms": round(p99, 3),
                                       "issued_per_s_64_clients": round(rate, 0) }));
            latency[variant].extend(samples);
            rates[variant].push(rate);
        }
    }
    let [plain, encrypted] = latency;
    let (mut plain, mut encrypted) = (plain, encrypted);
    let (plain_p50, plain_p99) = percentiles_ms(&mut plain);
    let (cipher_p50, cipher_p99) = percentiles_ms(&mut encrypted);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Ok(json!({
        "plain_issue_ms": { "p50": round(plain_p50, 3), "p99": round(plain_p99, 3) },
        "encrypted_issue_ms": { "p50": round(cipher_p50, 3), "p99": round(cipher_p99, 3) },
        "issue_p50_ratio": round(cipher_p50 / plain_p50, 2),
        "plain_issued_per_s_64_clients": round(mean(&rates[0]), 0),
        "encrypted_issued_per_s_64_clients": round(mean(&rates[1]), 0),
        "runs": { "plain": runs[0], "encrypted": runs[1] },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_day_fill_times_both_commands_in_a_fresh_and_a_full_day() {
        let dir = tempfile::tempdir().unwrap();
        let figures = day_fill(dir.path(), 200, 20).await.unwrap();
        // The fill's 200, rounded up to 64 clients' equal shares, in the full hall alone.
        assert_eq!(figures["day_tickets_at_fill"], 64 * 4, "{figures}");
        for key in [
            "issue_p99_ratio",
            "call_next_p99_ratio",
            "issue_engine_cpu_p99_ratio",
            "call_next_engine_cpu_p99_ratio",
            "state_copy_p99_ratio",
            "followed_call_next_p99_ratio",
        ] {
            assert!(
                figures[key].as_f64().is_some_and(|r| r > 0.0),
                "{key}: {figures}"
            );
        }
        for phase in ["at_start", "at_fill"] {
            for figure in [
                "call_next_latency_ms",
                "call_next_engine_cpu_ms",
                "state_copy_ms",
                "followed_call_next_latency_ms",
            ] {
                let p50 = figures[phase][figure]["p50"].as_f64().unwrap();
                assert!(p50 > 0.0, "{phase} {figure}: {figures}");
            }
        }
    }
}
