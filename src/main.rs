//! The `hallq` command: one binary for every role in the hall.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hallq::cli::Cli::parse();
    hallq::cli::init_logging();
    // Every HTTPS client and server of the process (the hall LAN, the platform link) uses ring.
    hallq::lan::tls::install_default_provider();
    match hallq::cli::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hallq: {e:#}");
            ExitCode::FAILURE
        }
    }
}
