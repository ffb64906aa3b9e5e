//! `hallq platform`: the reference receiver of the platform link, and making a hall's secret.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::platform::receiver::{Receiver, ReceiverSettings};
use crate::platform::signing::{DEFAULT_MAX_SKEW_S, PlatformSecret};

#[derive(Debug, clap::Subcommand)]
pub enum PlatformCommand {
    /// Run the reference receiver: verifies each hall's signatures and keeps its events once per
    /// (hall, sequence) in its own database.
    Serve(ServeArgs),
    /// Write a new random platform secret to FILE (readable by its owner alone); an existing file is
    /// left alone. The hall's `[platform] secret_file` and the receiver's `--secret-file` take it.
    NewSecret { file: PathBuf },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The receiver's own database (created if missing).
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub listen: SocketAddr,
    /// The hall this receiver takes events from.
    #[arg(long)]
    pub hall: String,
    /// That hall's platform secret (mode 0600).
    #[arg(long)]
    pub secret_file: PathBuf,
    /// How far a request's timestamp may be from this machine's clock, in seconds.
    #[arg(long, default_value_t = DEFAULT_MAX_SKEW_S)]
    pub max_skew_s: i64,
}

pub fn platform(command: PlatformCommand) -> anyhow::Result<()> {
    match command {
        PlatformCommand::NewSecret { file } => {
            PlatformSecret::create_file(&file)?;
            println!("hallq: a new platform secret is in {}", file.display());
            Ok(())
        }
        PlatformCommand::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let secret = PlatformSecret::load(&args.secret_file)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let receiver = Receiver::start(
            listener,
            ReceiverSettings {
                db: args.db.clone(),
                secrets: HashMap::from([(args.hall.clone(), secret)]),
                max_skew_s: args.max_skew_s,
                clock: Arc::new(SystemClock::new(true)),
            },
        )?;
        println!(
            "hallq: platform receiver for hall {} on {}, events in {}",
            args.hall,
            receiver.url(),
            args.db.display()
        );
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            stopped = tokio::signal::ctrl_c() => stopped?,
            _ = terminate.recv() => {}
        }
        receiver.stop().await;
        anyhow::Ok(())
    })
}
