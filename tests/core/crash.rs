//! Power loss: a child process issuing and calling tickets is killed with SIGKILL at random points, many
//! times over one database. After each reopen every acknowledged ticket is there, no number repeats
//! within a day, the event sequence has no gap, and replaying the log gives the stored state.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallq::clock::SystemClock;
use hallq::queue::{Command, HallState, Reply};
use hallq::store::{CommandResult, Store};
use rand::{Rng, SeedableRng};

const CHILD_ENV: &str = "HALLQ_CRASH_CHILD_DB";

fn setup() -> hallq::config::HallSetup {
    let mut setup = hallq::config::example();
    setup.open_around_the_clock();
    setup
}

/// The child's body: runs only when the parent starts this test binary with the database path set.
#[test]
fn crash_child() {
    let Ok(db) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let setup = Arc::new(setup());
        let clock = Arc::new(SystemClock::new(true));
        let (engine, _thread) = hallq::engine::start(setup.clone(), Path::new(&db), clock).unwrap();
        let run = std::process::id();
        for w in &setup.config.windows {
            let _ = engine
                .execute(
                    format!("{run}-sign-{}", w.number),
                    Command::SignOut { window: w.number },
                )
                .await;
            let _ = engine
                .execute(
                    format!("{run}-sign-in-{}", w.number),
                    Command::sign_in_by_number(w.number, format!("S{}", w.number)),
                )
                .await;
        }
        // Many clients at once, so batches hold several commands when the kill lands.
        let mut tasks = Vec::new();
        for client in 0..8u16 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                let window = client + 1;
                for n in 0u64.. {
                    let id = format!("{run}-{client}-{n}");
                    let command = match n % 3 {
                        0 | 1 => Command::IssueTicket {
                            service: "SB".into(),
                            citizen: None,
                            by_staff: true,
                        },
                        _ => {
                            let _ = engine
                                .execute(format!("{id}-noshow"), Command::NoShow { window })
                                .await;
                            Command::CallNext { window }
                        }
                    };
                    let issuing = matches!(command, Command::IssueTicket { .. });
                    let outcome = engine.execute(id.clone(), command).await.unwrap();
                    if let (true, CommandResult::Done(Reply::Ticket { ticket, .. })) =
                        (issuing, &outcome.result)
                    {
                        println!("ACK {id} {} {}", ticket.business_day, ticket.number);
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// The child test's name as the harness knows it: its module path without the test binary's name,
/// since this file is one module of a larger test binary.
fn crash_child_name() -> String {
    match module_path!().split_once("::") {
        Some((_binary, module)) => format!("{module}::crash_child"),
        None => "crash_child".to_owned(),
    }
}

fn run_child_and_kill(db: &Path, after: Duration) -> Vec<(String, String, String)> {
    let mut child = Process::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &crash_child_name(),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| {
                let mut parts = line.strip_prefix("ACK ")?.split(' ');
                Some((
                    parts.next()?.to_string(),
                    parts.next()?.to_string(),
                    parts.next()?.to_string(),
                ))
            })
            .collect::<Vec<_>>()
    });
    std::thread::sleep(after);
    // SIGKILL: no destructor, no flush, no graceful close.
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn acknowledged_tickets_survive_sigkill_at_random_points() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = dir.path().join("hall.db");
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut acked_total = 0;
    let started = Instant::now();
    let rounds = 30;
    for round in 0..rounds {
        let acked = run_child_and_kill(&db, Duration::from_millis(rng.random_range(150..900)));
        acked_total += acked.len();
        let store = Store::open(&db, &setup().config.hall.id).unwrap();
        let events = store.events_after(0, usize::MAX >> 1).unwrap();
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..=events.len() as u64).collect::<Vec<_>>(),
            "round {round}: gap in the sequence"
        );
        let mut by_day: HashMap<String, HashSet<String>> = HashMap::new();
        for e in &events {
            if let hallq::queue::Event::TicketIssued { number, .. } = &e.event {
                let fresh = by_day
                    .entry(e.recorded.business_day.to_string())
                    .or_default()
                    .insert(number.clone());
                assert!(
                    fresh,
                    "round {round}: {number} issued twice on {}",
                    e.recorded.business_day
                );
            }
        }
        let issued_by_command: HashSet<&str> = events
            .iter()
            .filter_map(|e| e.command_id.as_deref())
            .collect();
        for (id, day, number) in &acked {
            assert!(
                issued_by_command.contains(id.as_str()),
                "round {round}: acknowledged command {id} lost"
            );
            assert!(
                by_day.get(day).is_some_and(|n| n.contains(number)),
                "round {round}: acknowledged {number} lost"
            );
        }
        assert_eq!(
            HallState::replay(&events),
            store.load_state().unwrap(),
            "round {round}: replay differs from stored state"
        );
    }
    assert!(
        acked_total > rounds * 5,
        "the child acknowledged only {acked_total} tickets in all"
    );
    eprintln!(
        "{rounds} kills, {acked_total} acknowledged tickets checked in {:?}",
        started.elapsed()
    );
}
