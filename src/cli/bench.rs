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
    /// Measure only these sections (screens, engine, day_fill, lan, ticket, platform, encryption);
    /// all by default.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// How many tickets the day holds when issue and call-next are timed a second time.
    #[arg(long, default_value_t = 100_000)]
    pub day_tickets: usize,
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let scratch = match &args.dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    const SECTIONS: [&str; 7] = [
        "screens",
        "engine",
        "day_fill",
        "lan",
        "ticket",
        "platform",
        "encryption",
    ];
    if let Some(unknown) = args.only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
        anyhow::bail!(
            "no bench section {unknown}; the sections are {}",
            SECTIONS.join(", ")
        );
    }
    let wanted = |section: &str| args.only.is_empty() || args.only.iter().any(|s| s == section);
    let mut report = serde_json::Map::new();
    report.insert(
        "machine".into(),
        json!({ "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) }),
    );
    // The screens go first, on a thread of their own (Slint's platform is per thread), so the resident
    // memory they report is not inflated by the other sections.
    if wanted("screens") {
        let screens = std::thread::spawn(crate::bench::screens::frame_times)
            .join()
            .map_err(|_| anyhow::anyhow!("the screen benchmark panicked"))??;
        report.insert("screens".into(), screens);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    if wanted("engine") || wanted("lan") {
        let floor = crate::bench::floor::durable_commit(scratch.path(), 2000)?;
        report.insert("durable_commit_floor".into(), floor);
    }
    if wanted("engine") {
        let engine = runtime.block_on(crate::bench::engine::run(scratch.path()))?;
        report.insert("engine".into(), engine);
    }
    if wanted("day_fill") {
        let day_fill = runtime.block_on(crate::bench::engine::day_fill(
            scratch.path(),
            args.day_tickets,
            2000,
        ))?;
        report.insert("day_fill".into(), day_fill);
    }
    if wanted("lan") {
        let lan = runtime.block_on(crate::lan::bench::run())?;
        report.insert("lan".into(), lan);
    }
    if wanted("ticket") {
        let ticket = crate::devices::printer::bench::example_ticket_wire_stats(
            &crate::devices::printer::bench::example_ticket(),
        )?;
        report.insert("ticket".into(), serde_json::to_value(ticket)?);
    }
    if wanted("platform") {
        let platform = runtime.block_on(crate::bench::platform::run(scratch.path()))?;
        report.insert("platform".into(), platform);
    }
    if wanted("encryption") {
        let cost = runtime.block_on(crate::bench::engine::encryption_cost(scratch.path()))?;
        report.insert("encryption".into(), cost);
    }
    let report = serde_json::Value::Object(report);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
