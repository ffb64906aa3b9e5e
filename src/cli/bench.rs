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
    let lan = runtime.block_on(crate::lan::bench::run())?;
    let ticket = crate::devices::printer::bench::example_ticket_wire_stats(
        &crate::devices::printer::bench::example_ticket(),
    )?;
    let report = json!({
        "machine": { "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) },
        "engine": engine,
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
