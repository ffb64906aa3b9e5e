//! Command-line entry points. Each subcommand lives in its own file; this one only parses and dispatches.

mod bench;
mod check_config;
mod export;
mod hall_args;
mod pair;
mod platform;
mod run;
mod staff;
mod store;

mod stats;
mod voice;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use hall_args::HallArgs;

#[derive(Debug, Parser)]
#[command(
    name = "hallq",
    version,
    about = "Queue terminals for a government service hall"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Commands>,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Run the hall (the demo hall with simulated devices when no config is given).
    Run(run::RunArgs),
    /// Check a configuration file and report every mistake with its line.
    CheckConfig { file: PathBuf },
    /// Print the event log as JSON lines.
    Export(export::ExportArgs),
    /// Today's figures per service.
    Stats(stats::StatsArgs),
    /// Measure the engine on this machine.
    Bench(bench::BenchArgs),
    /// Pair terminals with the hall node.
    #[command(subcommand)]
    Pair(pair::PairCommand),
    /// Staff PINs for signing in at a window: set, unlock, remove, list.
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// The platform link: the reference receiver, a hall's secret.
    #[command(subcommand)]
    Platform(platform::PlatformCommand),
    /// The hall's database at rest: a key to encrypt it, or an existing database encrypted.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Voice announcements: build or check a clip pack.
    #[command(subcommand)]
    Voice(voice::VoiceCommand),
    /// Run a device simulator on a pseudo-terminal (printer or ID-card reader).
    #[cfg(feature = "sim")]
    Sim {
        #[command(subcommand)]
        device: crate::devices::sim_cli::SimCommand,
    },
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HALLQ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli
        .command
        .unwrap_or(Commands::Run(run::RunArgs::default()))
    {
        Commands::Run(args) => run::run(args),
        Commands::CheckConfig { file } => check_config::check_config(&file),
        Commands::Export(args) => export::export(args),
        Commands::Stats(args) => stats::stats(args),
        Commands::Bench(args) => bench::bench(args),
        Commands::Pair(command) => pair::pair(command).map(|()| ExitCode::SUCCESS),
        Commands::Store(command) => store::store(command).map(|()| ExitCode::SUCCESS),
        Commands::Staff(command) => staff::staff(command).map(|()| ExitCode::SUCCESS),
        Commands::Platform(command) => platform::platform(command).map(|()| ExitCode::SUCCESS),
        Commands::Voice(command) => voice::voice_command(command).map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "sim")]
        Commands::Sim { device } => {
            crate::devices::sim_cli::run(device).map(|()| ExitCode::SUCCESS)
        }
    }
}

/// A board build has no simulators, so `hallq` alone (the demo hall) must say what to run instead
/// rather than start a hall with no devices. `cargo test --no-default-features --lib cli::` runs it.
#[cfg(all(test, not(feature = "sim")))]
mod tests {
    use super::*;

    #[test]
    fn without_the_simulators_the_demo_hall_refuses_to_start_and_names_the_config() {
        let error = dispatch(Cli { command: None }).expect_err("no demo hall in this build");
        let message = error.to_string();
        assert!(message.contains("no demo hall"), "{message}");
        assert!(message.contains("--config"), "{message}");
    }
}
