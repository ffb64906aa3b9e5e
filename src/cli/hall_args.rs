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

    /// The database file, its key (`[store] key_file`) registered for every connection to it.
    pub fn db_path(&self, setup: &HallSetup) -> anyhow::Result<PathBuf> {
        let path = self
            .db
            .clone()
            .unwrap_or_else(|| PathBuf::from(&setup.config.store.path));
        if let Some(file) = &setup.config.store.key_file {
            let key = crate::store::encryption::DatabaseKey::load(std::path::Path::new(file))?;
            crate::store::encryption::use_key(&path, key);
        }
        Ok(path)
    }
}
