//! `hallq staff`: give staff numbers their PINs on the hall node, list them, unlock or remove one.
//! A PIN is read without echo from the terminal (twice, to catch a slip), or as one line from a pipe
//! for scripts; it is kept only as its Argon2id hash.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use zeroize::Zeroizing;

use crate::identity::StaffPin;
use crate::store::{StaffBook, Store};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum StaffCommand {
    /// Give a staff number its PIN, or a new one (clears a lock).
    SetPin {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        /// The staff number (工号).
        staff: String,
    },
    /// Let a locked staff number sign in again before its lock runs out.
    Unlock {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        staff: String,
    },
    /// Take a staff number out of the book: it can no longer sign in where PINs are asked for.
    Remove {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        staff: String,
    },
    /// The staff numbers with a PIN, and which are locked.
    List {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
    },
}

pub fn staff(command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::SetPin { hall, staff } => {
            let book = open_book(&hall)?;
            let pin = read_pin()?;
            book.set_pin(&staff, &pin, now_ms())?;
            println!("staff {staff} has a new PIN");
        }
        StaffCommand::Unlock { hall, staff } => {
            if !open_book(&hall)?.unlock(&staff)? {
                anyhow::bail!("staff {staff} has no PIN in this hall's book");
            }
            println!("staff {staff} may sign in again");
        }
        StaffCommand::Remove { hall, staff } => {
            if !open_book(&hall)?.remove(&staff)? {
                anyhow::bail!("staff {staff} has no PIN in this hall's book");
            }
            println!("staff {staff} removed");
        }
        StaffCommand::List { hall } => {
            let now = now_ms();
            for entry in open_book(&hall)?.list()? {
                let set = chrono::DateTime::from_timestamp_millis(entry.set_ms)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                let state = match entry.locked_until_ms {
                    Some(until) if until > now => {
                        format!(
                            "locked for {} more minutes",
                            (until - now + 59_999) / 60_000
                        )
                    }
                    _ if entry.wrong_in_a_row > 0 => {
                        format!("{} wrong PINs in a row", entry.wrong_in_a_row)
                    }
                    _ => "ok".to_string(),
                };
                println!("{}\tPIN set {set}\t{state}", entry.staff);
            }
        }
    }
    Ok(())
}

fn open_book(hall: &super::hall_args::HallArgs) -> anyhow::Result<StaffBook> {
    let setup = hall.setup()?;
    let db = hall.db_path(&setup)?;
    Store::open(&db, &setup.config.hall.id)
        .map(Store::into_staff_book)
        .with_context(|| format!("cannot open the hall's database {}", db.display()))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn read_pin() -> anyhow::Result<StaffPin> {
    if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(rpassword::prompt_password("PIN (4 to 8 digits): ")?);
        let again = Zeroizing::new(rpassword::prompt_password("The same PIN again: ")?);
        if first != again {
            anyhow::bail!("the two PINs differ; nothing changed");
        }
        return Ok(StaffPin::new(&first)?);
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(StaffPin::new(&line)?)
}
