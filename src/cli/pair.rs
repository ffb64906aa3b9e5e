//! `hallq pair`: mint a pairing code on the hall node, or pair a terminal board with one.

use std::path::PathBuf;

use anyhow::Context;

use crate::hall::auth::{Registry, Role};
use crate::hall::client::HallClient;

/// `hallq pair`: mint a code on the hall node, or pair this terminal board with one.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PairCommand {
    /// On the hall node: mint a one-time pairing code.
    Code {
        #[command(flatten)]
        hall: super::HallArgs,
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
        hall: super::HallArgs,
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
            let db = hall.db_path(&setup);
            let role = role
                .map(|r| Role::from_parts(&r, window))
                .transpose()
                .map_err(|e| anyhow::anyhow!(e))?;
            // Opening the store brings its schema up to date, pairing tables included.
            crate::store::Store::open(&db, &setup.config.hall.id)?;
            let code = Registry::open(&db)?.mint_code(role, minutes)?;
            println!("{code}");
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
            let role = Role::from_parts(&role, window).map_err(|e| anyhow::anyhow!(e))?;
            let path = token_file.unwrap_or_else(|| PathBuf::from(&setup.config.lan.token_file));
            let runtime = tokio::runtime::Runtime::new()?;
            let (client, _) = runtime.block_on(HallClient::pair(
                &setup.config.lan.hall_url,
                &code,
                &name,
                role,
            ))?;
            write_token(&path, client.token())?;
            println!(
                "paired as {}; token kept in {}",
                role.name(),
                path.display()
            );
            Ok(())
        }
    }
}

/// The token file is readable by its owner only: it is the terminal's credential.
fn write_token(path: &std::path::Path, token: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{token}")?;
    Ok(())
}
