use std::path::PathBuf;

use crate::config::{self, HallSetup};

/// Options shared by the commands that open a hall's database.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct HallArgs {
    /// The hall's TOML file; without it, the embedded example hall.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The database file; overrides `[store] path`.
    #[arg(long)]
    pub db: Option<PathBuf>,
}

impl HallArgs {
    pub fn setup(&self) -> anyhow::Result<HallSetup> {
        match &self.config {
            Some(path) => config::load(path).map_err(|e| anyhow::anyhow!("{e}")),
            None => Ok(config::example()),
        }
    }

    pub fn db_path(&self, setup: &HallSetup) -> PathBuf {
        self.db
            .clone()
            .unwrap_or_else(|| PathBuf::from(&setup.config.store.path))
    }
}
