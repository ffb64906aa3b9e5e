use std::process::ExitCode;

use super::hall_args::HallArgs;
use crate::clock::SystemClock;
use crate::queue::stats::per_service;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub hall: HallArgs,
    /// The business day (YYYY-MM-DD); today by default.
    #[arg(long)]
    pub day: Option<chrono::NaiveDate>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn stats(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let setup = args.hall.setup()?;
    let path = args.hall.db_path(&setup)?;
    anyhow::ensure!(path.exists(), "no database at {}", path.display());
    let store = Store::open_reader(&path)?;
    let day = match args.day {
        Some(day) => day,
        None => {
            let state = store.load_state()?;
            let clock = SystemClock::new(setup.config.clock.assume_trusted);
            crate::engine::hall_time(&setup, &state, &clock).business_day
        }
    };
    let tickets = store.tickets_of_day(day)?;
    let rows = per_service(&setup, tickets.iter());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "day": day, "services": rows }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let secs = |v: Option<f64>| {
        v.map(|s| format!("{:.0}s", s))
            .unwrap_or_else(|| "-".into())
    };
    println!("business day {day}");
    println!(
        "{:<8} {:>7} {:>7} {:>8} {:>9} {:>9} {:>12}",
        "service", "issued", "served", "waiting", "avg wait", "p90 wait", "avg service"
    );
    for r in rows {
        println!(
            "{:<8} {:>7} {:>7} {:>8} {:>9} {:>9} {:>12}",
            r.service,
            r.issued,
            r.served,
            r.waiting,
            secs(r.avg_wait_s),
            secs(r.p90_wait_s),
            secs(r.avg_service_s)
        );
    }
    Ok(ExitCode::SUCCESS)
}
