//! Encryption at rest: the hall's database as SQLCipher pages (AES-256 with an HMAC per page), keyed
//! by a file only the service reads (`[store] key_file`). A copied database file, a backup or its WAL
//! then shows nothing of the hall's tickets or citizens without the key.
//!
//! The key is a fact of the database file, not of one connection: the engine, the LAN's register,
//! the checkpointer and the platform link each open their own connection. So the key is registered
//! once per process for the file's path ([`use_key`]), and every connection to that path made through
//! [`connect`] is keyed before its first read. A path with no key registered opens as plain SQLite.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use super::error::StoreError;

/// A raw 256-bit SQLCipher key. SQLCipher takes it as is (no key derivation at each open), which
/// keeps the several connections of a hall node cheap to open.
#[derive(Clone)]
pub struct DatabaseKey(Zeroizing<String>);

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("cannot read the database key {path}: {error}")]
    Unreadable { path: String, error: String },
    #[error(
        "the database key {path} can be read by other users (mode {mode:o}); make it readable by the service alone: chmod 600 {path}"
    )]
    Exposed { path: String, mode: u32 },
    #[error(
        "the database key {path} is not 64 hexadecimal digits (`hallq store new-key FILE` makes one)"
    )]
    Malformed { path: String },
    #[error("cannot write the database key {path}: {error}")]
    Unwritable { path: String, error: String },
}

impl DatabaseKey {
    /// Reads the key from `path`: 64 hex digits, surrounding white space ignored. A file others may
    /// read is refused.
    pub fn load(path: &Path) -> Result<DatabaseKey, KeyError> {
        use crate::identity::PrivateReadError;
        let shown = path.display().to_string();
        let bytes = crate::identity::read_private_file(path).map_err(|e| match e {
            PrivateReadError::Unreadable(e) => KeyError::Unreadable {
                path: shown.clone(),
                error: e.to_string(),
            },
            PrivateReadError::Exposed { mode } => KeyError::Exposed {
                path: shown.clone(),
                mode,
            },
        })?;
        let hex = std::str::from_utf8(&bytes)
            .map_err(|_| KeyError::Malformed {
                path: shown.clone(),
            })?
            .trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::Malformed { path: shown });
        }
        Ok(DatabaseKey(Zeroizing::new(hex.to_ascii_lowercase())))
    }

    /// Writes a new random key to `path`, readable by its owner alone; an existing file is refused.
    pub fn create_file(path: &Path) -> Result<(), KeyError> {
        let bytes: [u8; 32] = rand::random();
        let text = Zeroizing::new(hex::encode(bytes) + "\n");
        crate::identity::create_private_file(path, text.as_bytes()).map_err(|e| {
            KeyError::Unwritable {
                path: path.display().to_string(),
                error: e.to_string(),
            }
        })
    }

    fn pragma(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", self.0.as_str()))
    }
}

fn keys() -> &'static Mutex<HashMap<PathBuf, DatabaseKey>> {
    static KEYS: OnceLock<Mutex<HashMap<PathBuf, DatabaseKey>>> = OnceLock::new();
    KEYS.get_or_init(Mutex::default)
}

/// The path as every opener of the same file names it.
fn canonical(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// From now on, every connection this process makes to the database at `path` is keyed with `key`.
pub fn use_key(path: &Path, key: DatabaseKey) {
    keys()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(canonical(path), key);
}

/// Whether the database at `path` is opened with a key in this process.
pub fn is_encrypted(path: &Path) -> bool {
    keys()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains_key(&canonical(path))
}

/// A connection to the hall's database at `path`, keyed if a key is registered for it, and checked:
/// a wrong key, a key for a plain file or no key for an encrypted one each get a clear error before
/// anything is read or written.
pub fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags)?;
    let key = keys()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&canonical(path))
        .cloned();
    if let Some(key) = &key {
        // A wrong key is reported below, with the file's name; SQLCipher's own lines on stderr would
        // only repeat it without one.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        conn.execute_batch(&key.pragma())?;
    }
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // SQLCipher reads the first page only when asked something; asked here, a mismatch shows now.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(conn),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Err(StoreError::Io(format!(
                "{}: {}",
                path.display(),
                if key.is_some() {
                    "the database is not encrypted with this key (a plain database, or another key)"
                } else {
                    "the database is encrypted (or not a database): name its key in [store] key_file"
                }
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Writes an encrypted copy of the plain database at `plain` to `out` (which must not exist), keyed
/// by `key`, through SQLCipher's own export: every table, index, trigger and the schema version.
pub fn encrypt_copy(plain: &Path, key: &DatabaseKey, out: &Path) -> Result<(), StoreError> {
    if out.exists() {
        return Err(StoreError::Io(format!(
            "{}: exists already; name a new file",
            out.display()
        )));
    }
    let conn = Connection::open_with_flags(plain, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| StoreError::Io(format!("{}: not a plain database: {e}", plain.display())))?;
    // The copy is made private before SQLite writes into it.
    crate::identity::create_private_file(out, b"")
        .map_err(|e| StoreError::Io(format!("{}: {e}", out.display())))?;
    let out_text = out
        .to_str()
        .ok_or_else(|| StoreError::Io(format!("{}: not a UTF-8 path", out.display())))?;
    conn.execute(
        &format!(
            "ATTACH DATABASE ?1 AS encrypted KEY \"x'{}'\"",
            key.0.as_str()
        ),
        [out_text],
    )?;
    let version: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
    conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    conn.execute_batch(&format!(
        "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
    ))?;
    Ok(())
}
