//! `hallq platform`: the reference receiver of the platform link, its test bookings, and making a
//! hall's secret.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::platform::receiver::store::ReceiverStore;
use crate::platform::receiver::{BookingInput, Receiver, ReceiverSettings};
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
    /// Add, change or cancel a test booking in the receiver's database; the hall pulls it at its
    /// next pull. Works while the receiver runs.
    Booking {
        /// The receiver's database.
        #[arg(long)]
        db: PathBuf,
        /// The hall the booking is at.
        #[arg(long)]
        hall: String,
        #[command(subcommand)]
        action: BookingAction,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum BookingAction {
    /// A new booking.
    Add {
        id: String,
        #[command(flatten)]
        slot: SlotArgs,
        /// The hall key's HMAC-SHA256 of the citizen's ID number: 64 lower-case hex digits. An ID
        /// number is never taken.
        #[arg(long)]
        id_hash: String,
        /// The name masked as the kiosk masks it, e.g. 张*三.
        #[arg(long)]
        masked_name: String,
    },
    /// Move a booking to another service, day or slot.
    Change {
        id: String,
        #[command(flatten)]
        slot: SlotArgs,
    },
    Cancel {
        id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct SlotArgs {
    /// The service's code in the hall's file.
    #[arg(long)]
    pub service: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    pub day: chrono::NaiveDate,
    /// HH:MM, the hall's local time.
    #[arg(long)]
    pub start: String,
    #[arg(long)]
    pub end: String,
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
    /// (`hallq platform new-cert HALL-ID`), or the CA that issued them. A hall without one is
    /// refused, and so is a request for a hall its certificate does not name (as a DNS name).
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
        PlatformCommand::Booking { db, hall, action } => booking(&db, &hall, action),
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

fn booking(db: &std::path::Path, hall: &str, action: BookingAction) -> anyhow::Result<()> {
    let mut store =
        ReceiverStore::open(db).map_err(|e| anyhow::anyhow!("{}: {e}", db.display()))?;
    let (id, what, change) = match action {
        BookingAction::Add {
            id,
            slot,
            id_hash,
            masked_name,
        } => {
            let booking = BookingInput {
                id: id.clone(),
                service: slot.service,
                day: slot.day,
                start: slot.start,
                end: slot.end,
                id_hash,
                masked_name,
            };
            (id, "added", store.add_booking(hall, &booking)?)
        }
        BookingAction::Change { id, slot } => {
            let change =
                store.change_booking(hall, &id, &slot.service, slot.day, &slot.start, &slot.end)?;
            (id, "changed", change)
        }
        BookingAction::Cancel { id } => {
            let change = store.cancel_booking(hall, &id)?;
            (id, "cancelled", change)
        }
    };
    println!("hallq: booking {id} of hall {hall} {what} (change {change})");
    Ok(())
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
