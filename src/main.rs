use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "hallq",
    about = "Queue terminals for a government service hall"
)]
enum Cli {
    /// Run a device simulator on a pseudo-terminal.
    Sim {
        #[command(subcommand)]
        device: hallq::devices::sim_cli::SimCommand,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {
        Cli::Sim { device } => hallq::devices::sim_cli::run(device),
    }
}
