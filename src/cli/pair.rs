//! `hallq pair`: mint a pairing code on the hall node, or pair a terminal board with one; list the
//! paired terminals and revoke a lost one. Everything on the hall node's side works on its database
//! while the node runs.

use std::path::PathBuf;

use anyhow::Context;
use unicode_width::UnicodeWidthStr;

use crate::config::HallSetup;
use crate::lan::auth::{PairedDevice, Registry, Role};
use crate::lan::client::HallClient;

/// `hallq pair`: mint a code on the hall node, or pair this terminal board with one.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PairCommand {
    /// On the hall node: mint a one-time pairing code.
    Code {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        /// Tie the code to one role (kiosk, counter, display, admin); any role when left out.
        #[arg(long)]
        role: Option<String>,
        /// The window, for a counter.
        #[arg(long)]
        window: Option<u16>,
        #[arg(long, default_value_t = 15)]
        minutes: u32,
    },
    /// On a terminal board: pair with the hall node and keep the token in `[lan] token_file`.
    Join {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        #[arg(long)]
        code: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        window: Option<u16>,
        /// How staff will recognise this terminal.
        #[arg(long)]
        name: String,
        /// Where the token goes; overrides `[lan] token_file`.
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// On the hall node: list the paired terminals, revoked ones included.
    List {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        /// One JSON array instead of a table, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// On the hall node: revoke a lost or stolen terminal; its token is refused from its next request.
    Revoke {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        /// The device's id from `hallq pair list`, or its name when no other device has it.
        device: String,
    },
}

pub fn pair(command: PairCommand) -> anyhow::Result<()> {
    match command {
        PairCommand::Code {
            hall,
            role,
            window,
            minutes,
        } => {
            let setup = hall.setup()?;
            let db = hall.db_path(&setup)?;
            let role = role.map(|r| Role::from_parts(&r, window)).transpose()?;
            // Opening the store brings its schema up to date, pairing tables included.
            crate::store::Store::open(&db, &setup.config.hall.id)?;
            let code = Registry::open(&db)?.mint_code(role, minutes)?;
            // Over TLS the code carries the certificate part terminals pin; the node started later
            // serves the same certificate, made here if it does not exist yet.
            let certificate = match setup.config.lan.tls {
                true => {
                    Some(crate::lan::tls::hall_certificate(&setup.config.lan, &db)?.fingerprint())
                }
                false => None,
            };
            println!(
                "{}",
                crate::lan::tls::with_certificate_part(code, certificate.as_ref())
            );
            Ok(())
        }
        PairCommand::Join {
            hall,
            code,
            role,
            window,
            name,
            token_file,
        } => {
            let setup = hall.setup()?;
            let role = Role::from_parts(&role, window)?;
            let path = token_file.unwrap_or_else(|| PathBuf::from(&setup.config.lan.token_file));
            let runtime = tokio::runtime::Runtime::new()?;
            let (client, _) = runtime.block_on(HallClient::pair(
                &setup.config.lan.hall_url,
                &code,
                &name,
                role,
            ))?;
            write_token(&path, client.token())?;
            let pin_path = crate::lan::tls::pin_path_beside(&path);
            match client.certificate() {
                Some(fingerprint) => {
                    crate::lan::tls::store_pin(&pin_path, &fingerprint)?;
                    println!(
                        "the hall node's certificate pinned in {}",
                        pin_path.display()
                    );
                }
                // A pin of an earlier pairing over TLS must not outlive it.
                None => {
                    let _ = std::fs::remove_file(&pin_path);
                }
            }
            // Kiosks of earlier versions kept the hall key beside their token. It is not removed
            // here: on a board that is also the hall node the same path holds the hall's own key.
            let old_key = crate::identity::key_path_beside(&path);
            if old_key.exists() {
                println!(
                    "note: {} is the hall's ID-hashing key; a kiosk no longer needs it: unless this \
                     board is the hall node, delete it",
                    old_key.display()
                );
            }
            println!(
                "paired as {}; token kept in {}",
                role.name(),
                path.display()
            );
            Ok(())
        }
        PairCommand::List { hall, json } => {
            let setup = hall.setup()?;
            let devices = existing_registry(&hall, &setup)?.list()?;
            let text = if json {
                serde_json::to_string_pretty(&devices)? + "\n"
            } else {
                device_table(&setup, &devices)
            };
            use std::io::Write;
            match std::io::stdout().lock().write_all(text.as_bytes()) {
                // `hallq pair list | head` has read all it wants.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                written => Ok(written?),
            }
        }
        PairCommand::Revoke { hall, device } => {
            let setup = hall.setup()?;
            let revoked = existing_registry(&hall, &setup)?.revoke(&device)?;
            println!(
                "revoked device {} \"{}\" ({}); pair it again with a new code to bring it back",
                revoked.id,
                revoked.name,
                role_text(revoked.role)
            );
            Ok(())
        }
    }
}

/// The register in the hall's existing database: a mistyped `--db` must not make a new, empty hall.
fn existing_registry(
    hall: &super::hall_args::HallArgs,
    setup: &HallSetup,
) -> anyhow::Result<Registry> {
    let db = hall.db_path(setup)?;
    if !db.exists() {
        anyhow::bail!(
            "no hall database at {}; give the hall node's with --db",
            db.display()
        );
    }
    // Opening the store brings an older database's schema up to date first.
    crate::store::Store::open(&db, &setup.config.hall.id)?;
    Ok(Registry::open(&db)?)
}

fn role_text(role: Role) -> String {
    match role {
        Role::Counter { window } => format!("counter {window}"),
        other => other.name().to_string(),
    }
}

/// One line per device, times in the hall's own time zone.
fn device_table(setup: &HallSetup, devices: &[PairedDevice]) -> String {
    if devices.is_empty() {
        return "no terminals are paired\n".to_string();
    }
    let time = |ms: i64| {
        crate::queue::day::local_time(setup, ms)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let rows: Vec<[String; 6]> = devices
        .iter()
        .map(|d| {
            [
                d.id.to_string(),
                d.name.clone(),
                role_text(d.role),
                time(d.paired_ms),
                d.last_seen_ms.map(time).unwrap_or_else(|| "never".into()),
                match d.revoked_ms {
                    Some(ms) => format!("revoked {}", time(ms)),
                    None => "active".into(),
                },
            ]
        })
        .collect();
    let header = ["ID", "NAME", "ROLE", "PAIRED", "LAST SEEN", "STATUS"].map(String::from);
    let mut widths = header.each_ref().map(|h| h.width());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - cell.width())))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The token file is readable by its owner only: it is the terminal's credential.
fn write_token(path: &std::path::Path, token: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::identity::replace_private_file(path, format!("{token}\n").as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
