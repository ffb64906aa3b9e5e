//! The LAN benchmark behind `hallq bench --json`: a real hall node on loopback with a SQLite file in a
//! temporary folder, kiosks issuing tickets through the API, window terminals calling, and display
//! walls following the push stream.
//!
//! Figures: tickets issued per second through the API, and the time from a call-next request leaving
//! a window terminal to the call's event arriving at each display (p50, p99). Goals: 1,000 issues/s,
//! p99 under 20 ms. Before the terminals arrive, one kiosk issues tickets one after the other: the
//! latency of each (goal p50 ≤ 0.5 ms) and the server's CPU time per issue (goal ≤ 0.2 ms).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tokio::sync::mpsc;

use super::HallServer;
use super::auth::Role;
use super::client::HallClient;
use crate::clock::ManualClock;
use crate::config::{self, HallSetup, LanConfig, WindowConfig};
use crate::engine;
use crate::queue::{Command, Event};
use crate::store::CommandResult;

/// Wednesday 2026-11-25, 10:00 in the hall (UTC+8): the example hall is open, and the fixed clock keeps
/// the whole run in one business day.
const OPEN_HOUR_MS: i64 = 1_795_572_000_000;
/// Walk-in services that need no ID card, so kiosks can issue them without a card.
const WALK_IN_SERVICES: [&str; 4] = ["SB", "YB", "SCZT", "GJJ"];

#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    pub counters: u16,
    pub displays: usize,
    pub issues: usize,
    /// Requests in flight at once during the issue phase.
    pub concurrency: usize,
    pub calls_per_counter: usize,
    /// Issues one kiosk sends one after the other, for the latency and the server's CPU per issue.
    pub one_client_issues: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            counters: 20,
            displays: 4,
            issues: 2000,
            concurrency: 16,
            calls_per_counter: 10,
            one_client_issues: 1000,
        }
    }
}

/// Runs the benchmark with 20 window terminals and 4 displays.
pub async fn run() -> anyhow::Result<serde_json::Value> {
    run_with(BenchOptions::default()).await
}

pub async fn run_with(options: BenchOptions) -> anyhow::Result<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("hallq-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let measured = measure(&dir, options).await;
    let _ = std::fs::remove_dir_all(&dir);
    measured
}

/// The example hall with `counters` windows, each serving every walk-in service, and no daily caps.
fn bench_hall(counters: u16) -> HallSetup {
    let mut setup = config::example();
    let template = setup.config.windows[0].clone();
    setup.config.windows = (1..=counters)
        .map(|number| WindowConfig {
            number,
            services: WALK_IN_SERVICES.iter().map(|s| s.to_string()).collect(),
            ..template.clone()
        })
        .collect();
    for service in &mut setup.config.services {
        service.daily_cap = None;
    }
    setup
}

async fn measure(
    dir: &std::path::Path,
    options: BenchOptions,
) -> anyhow::Result<serde_json::Value> {
    let setup = Arc::new(bench_hall(options.counters));
    let clock = Arc::new(ManualClock::new(OPEN_HOUR_MS));
    let (engine, writer) = engine::start(setup, &dir.join("hall.db"), clock)?;
    let server = HallServer::start(
        engine.clone(),
        "127.0.0.1:0".parse()?,
        // Over plain HTTP, as the earlier figures were taken; TLS adds its handshake once per
        // connection, not per request.
        &LanConfig {
            tls: false,
            ..LanConfig::default()
        },
    )
    .await?;
    // First, before any terminal follows the push stream: what one issue costs the server.
    let one_client = one_client_issues(&server, options.one_client_issues).await?;
    let pair = |role: Role| {
        let url = server.url();
        let code = server.mint_code(10);
        async move {
            let (client, _) = HallClient::pair(url, &code?, "bench", role).await?;
            anyhow::Ok(client)
        }
    };

    let mut kiosks = Vec::new();
    for _ in 0..options.concurrency {
        kiosks.push(pair(Role::Kiosk).await?);
    }
    let mut counters = Vec::new();
    for window in 1..=options.counters {
        counters.push((window, pair(Role::Counter { window }).await?));
    }
    let (arrivals, mut arrived) = mpsc::unbounded_channel();
    let mut displays = Vec::new();
    for _ in 0..options.displays {
        let display = pair(Role::Display).await?;
        let arrivals = arrivals.clone();
        displays.push(tokio::spawn(async move {
            let mut events = display.follow(0);
            while let Some(event) = events.recv().await {
                if matches!(event.event, Event::TicketCalled { .. })
                    && arrivals.send((event.seq, Instant::now())).is_err()
                {
                    return;
                }
            }
        }));
    }
    drop(arrivals);

    let issues_per_s = issue_tickets(&kiosks, options).await?;

    for (window, counter) in &counters {
        counter
            .execute(Command::sign_in_by_number(
                *window,
                format!("{}", 2000 + window),
            ))
            .await?;
    }
    let sent_at = call_at_every_window(&counters, options.calls_per_counter).await?;

    let expected = sent_at.len() * options.displays;
    let mut latencies_ms = Vec::with_capacity(expected);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while latencies_ms.len() < expected {
        let (seq, at) = tokio::time::timeout_at(deadline, arrived.recv())
            .await
            .context("not every call reached every display within 30 s")?
            .context("a display stream ended")?;
        if let Some(sent) = sent_at.get(&seq) {
            latencies_ms.push(at.duration_since(*sent).as_secs_f64() * 1000.0);
        }
    }
    latencies_ms.sort_by(f64::total_cmp);

    // Displays leave first, so nothing reports a lost link; then the server and the engine stop, and
    // the writer is joined before the caller removes the database.
    for display in displays {
        display.abort();
    }
    server.stop().await;
    drop(engine);
    let joined = tokio::task::spawn_blocking(move || writer.join());
    tokio::time::timeout(Duration::from_secs(10), joined)
        .await
        .context("the engine did not stop within 10 s")??;
    Ok(json!({
        "api_issues_per_s": (issues_per_s * 10.0).round() / 10.0,
        "call_to_display_p50_ms": round3(percentile(&latencies_ms, 0.50)),
        "call_to_display_p99_ms": round3(percentile(&latencies_ms, 0.99)),
        "lan_counters": options.counters,
        "lan_displays": options.displays,
        "lan_issues": options.issues,
        "lan_call_samples": latencies_ms.len(),
        "one_client": one_client,
        "goals": {
            "one_client_issue_p50_ms_max": 0.5,
            "one_client_server_cpu_ms_per_issue_max": 0.2,
            "call_to_display_p99_ms_max": 20.0,
        },
    }))
}

/// CPU time (user and system) used so far by `who`: the process, or the calling thread.
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// `count` issues from one kiosk, one after the other, on a thread of its own: the latency of each, and
/// the CPU time the server spent per issue, which is the process's CPU time less the kiosk thread's.
async fn one_client_issues(server: &HallServer, count: usize) -> anyhow::Result<serde_json::Value> {
    let url = server.url();
    let code = server.mint_code(10)?;
    let measured = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let (kiosk, _) = HallClient::pair(url, &code, "bench kiosk", Role::Kiosk).await?;
            let issue = || Command::IssueTicket {
                service: "SB".into(),
                citizen: None,
                by_staff: false,
            };
            // The connection and the first statements are ready before the clock starts.
            for _ in 0..20 {
                kiosk.execute(issue()).await?;
            }
            let (process_before, thread_before) =
                (cpu_time(libc::RUSAGE_SELF), cpu_time(libc::RUSAGE_THREAD));
            let mut latencies = Vec::with_capacity(count);
            for _ in 0..count {
                let started = Instant::now();
                kiosk.execute(issue()).await?;
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            let process = cpu_time(libc::RUSAGE_SELF) - process_before;
            let kiosk_cpu = cpu_time(libc::RUSAGE_THREAD) - thread_before;
            anyhow::Ok((latencies, process.saturating_sub(kiosk_cpu), kiosk_cpu))
        })
    })
    .await??;
    let (mut latencies, server_cpu, kiosk_cpu) = measured;
    latencies.sort_by(f64::total_cmp);
    let per_issue = |cpu: Duration| round3(cpu.as_secs_f64() * 1000.0 / count as f64);
    Ok(json!({
        "issues": count,
        "issue_p50_ms": round3(percentile(&latencies, 0.50)),
        "issue_p99_ms": round3(percentile(&latencies, 0.99)),
        "server_cpu_ms_per_issue": per_issue(server_cpu),
        "kiosk_cpu_ms_per_issue": per_issue(kiosk_cpu),
    }))
}

/// Issues `options.issues` tickets through the API, `options.concurrency` at a time.
async fn issue_tickets(kiosks: &[HallClient], options: BenchOptions) -> anyhow::Result<f64> {
    let started = Instant::now();
    let per_kiosk = options.issues.div_ceil(kiosks.len());
    let mut tasks = Vec::new();
    for (k, kiosk) in kiosks.iter().enumerate() {
        let kiosk = kiosk.clone();
        let count = per_kiosk.min(options.issues.saturating_sub(k * per_kiosk));
        tasks.push(tokio::spawn(async move {
            for i in 0..count {
                let service = WALK_IN_SERVICES[(k + i) % WALK_IN_SERVICES.len()];
                let issued = kiosk
                    .execute(Command::IssueTicket {
                        service: service.into(),
                        citizen: None,
                        by_staff: false,
                    })
                    .await?;
                if let CommandResult::Refused(refusal) = issued.result {
                    anyhow::bail!("a ticket was refused: {}", refusal.message);
                }
            }
            anyhow::Ok(count)
        }));
    }
    let mut issued = 0;
    for task in tasks {
        issued += task.await??;
    }
    Ok(issued as f64 / started.elapsed().as_secs_f64())
}

/// Every window calls, serves and finishes `calls` tickets, all windows at once. Returns when each call
/// request left, by the sequence of its event.
async fn call_at_every_window(
    counters: &[(u16, HallClient)],
    calls: usize,
) -> anyhow::Result<std::collections::HashMap<u64, Instant>> {
    let mut tasks = Vec::new();
    for (window, counter) in counters {
        let (window, counter) = (*window, counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for _ in 0..calls {
                let at = Instant::now();
                let called = counter.execute(Command::CallNext { window }).await?;
                if let CommandResult::Refused(refusal) = &called.result {
                    anyhow::bail!("window {window} could not call: {}", refusal.message);
                }
                sent.push((called.seq, at));
                counter.execute(Command::StartService { window }).await?;
                counter.execute(Command::Finish { window }).await?;
            }
            anyhow::Ok(sent)
        }));
    }
    let mut sent_at = std::collections::HashMap::new();
    for task in tasks {
        sent_at.extend(task.await??);
    }
    Ok(sent_at)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.50), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn the_bench_hall_has_one_window_per_terminal() {
        let hall = bench_hall(20);
        assert_eq!(hall.config.windows.len(), 20);
        assert!(hall.config.services.iter().all(|s| s.daily_cap.is_none()));
    }
}
