//! `hallq store`: encryption at rest for the hall's database. `new-key` makes the key file that
//! `[store] key_file` names; `encrypt` turns an existing plain database into an encrypted copy, for a
//! hall that switches encryption on after it has started.

use std::path::PathBuf;

use crate::store::encryption::{self, DatabaseKey};

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Write a new random database key to FILE (readable by its owner alone); an existing file is
    /// left alone.
    NewKey { file: PathBuf },
    /// Write an encrypted copy of the plain database DB to OUT, keyed by KEY_FILE. Stop the hall node
    /// first; then move OUT over DB and name KEY_FILE in `[store] key_file`.
    Encrypt {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        key_file: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn store(command: StoreCommand) -> anyhow::Result<()> {
    match command {
        StoreCommand::NewKey { file } => {
            DatabaseKey::create_file(&file)?;
            println!("hallq: a new database key is in {}", file.display());
            Ok(())
        }
        StoreCommand::Encrypt { db, key_file, out } => {
            let key = DatabaseKey::load(&key_file)?;
            encryption::encrypt_copy(&db, &key, &out)?;
            println!(
                "hallq: {} holds {} encrypted; move it over the original and set [store] key_file = \"{}\"",
                out.display(),
                db.display(),
                key_file.display()
            );
            Ok(())
        }
    }
}
