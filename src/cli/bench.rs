use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn bench(_args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not written yet")
}
