use std::io::Write;
use std::process::ExitCode;

use super::hall_args::HallArgs;
use crate::store::{MAX_SEQ, Store};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub hall: HallArgs,
    /// Only events after this sequence number.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=MAX_SEQ))]
    pub after: u64,
}

/// Writes the event log as JSON lines on stdout, reading beside a running engine.
pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let setup = args.hall.setup()?;
    let path = args.hall.db_path(&setup)?;
    anyhow::ensure!(path.exists(), "no database at {}", path.display());
    let store = Store::open_reader(&path)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut after = args.after;
    loop {
        let page = store.events_after(after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            serde_json::to_writer(&mut out, event)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
