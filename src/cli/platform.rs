//! `hallq platform`: the reference receiver of the platform link, and making a hall's secret.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::platform::receiver::{Receiver, ReceiverSettings};
use crate::platform::signing::{DEFAULT_MAX_SKEW_S, PlatformSecret};
use crate::platform::tls::TlsIdentity;

#[derive(Debug, clap::Subcommand)]
pub enum PlatformCommand {
    /// Run the reference receiver: verifies each hall's signatures and keeps its events once per
    /// (hall, sequence) in its own database.
    Serve(ServeArgs),
    /// Write a new random platform secret to FILE (readable by its owner alone); an existing file is
    /// left alone. The hall's `[platform] secret_file` and the receiver's `--secret-file` take it.
    NewSecret { file: PathBuf },
    /// Write a new self-signed certificate and its key (PEM) for the receiver's HTTPS. The hall pins
    /// the certificate file as its `[platform] ca_file`.
    NewCert {
        /// The certificate's host names or IP addresses, e.g. `platform.example.gov.cn 10.0.0.5`.
        #[arg(required = true)]
        names: Vec<String>,
        #[arg(long)]
        cert: PathBuf,
        /// Written readable by its owner alone.
        #[arg(long)]
        key: PathBuf,
    },
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
    /// Serve HTTPS with this certificate (PEM); without it, plain HTTP for tests on loopback.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: the certificates (PEM) a hall's client certificate must chain to: each hall's own
    /// (`hallq platform new-cert`), or the CA that issued them. A hall without one is refused.
    #[arg(long, requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
}

pub fn platform(command: PlatformCommand) -> anyhow::Result<()> {
    match command {
        PlatformCommand::NewSecret { file } => {
            PlatformSecret::create_file(&file)?;
            println!("hallq: a new platform secret is in {}", file.display());
            Ok(())
        }
        PlatformCommand::Serve(args) => serve(args),
        PlatformCommand::NewCert { names, cert, key } => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let identity = TlsIdentity::self_signed(&names)?;
            write_new(&key, identity.key_pem.as_bytes(), 0o600)?;
            write_new(&cert, identity.cert_pem.as_bytes(), 0o644)?;
            println!(
                "hallq: certificate in {}, its key in {}",
                cert.display(),
                key.display()
            );
            Ok(())
        }
    }
}

/// Writes a file that must not exist yet, with `mode`.
fn write_new(path: &std::path::Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    file.write_all(bytes)?;
    Ok(file.sync_all()?)
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let secret = PlatformSecret::load(&args.secret_file)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsIdentity {
            cert_pem: std::fs::read_to_string(cert)
                .map_err(|e| anyhow::anyhow!("{}: {e}", cert.display()))?,
            key_pem: zeroize::Zeroizing::new(
                std::fs::read_to_string(key)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?,
            ),
        }),
        _ => None,
    };
    let client_ca_pem = match &args.client_ca {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
        ),
        None => None,
    };
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
                tls,
                client_ca_pem,
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
