use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Where the benchmark's database files go (a disk like the one the hall runs on).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// How many tickets the day holds when issue and call-next are timed a second time.
    #[arg(long, default_value_t = 100_000)]
    pub day_tickets: usize,
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let scratch = match &args.dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    // The screens go first, on a thread of their own (Slint's platform is per thread), so the resident
    // memory they report is not inflated by the other sections.
    let screens = std::thread::spawn(crate::bench::screens::frame_times)
        .join()
        .map_err(|_| anyhow::anyhow!("the screen benchmark panicked"))??;
    let runtime = tokio::runtime::Runtime::new()?;
    let engine = runtime.block_on(crate::bench::engine::run(scratch.path()))?;
    let day_fill = runtime.block_on(crate::bench::engine::day_fill(
        scratch.path(),
        args.day_tickets,
        1000,
    ))?;
    let lan = runtime.block_on(crate::lan::bench::run())?;
    let ticket = crate::devices::printer::bench::example_ticket_wire_stats(
        &crate::devices::printer::bench::example_ticket(),
    )?;
    let report = json!({
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) },
        "engine": engine,
        "day_fill": day_fill,
        "lan": lan,
        "ticket": ticket,
        "screens": screens,
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
