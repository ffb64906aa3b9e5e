//! The hall key: the secret ID numbers are hashed with, so that bookings and per-person limits match
//! a citizen without any board keeping the number. The hall node makes it on first start; kiosk
//! boards receive it when they pair and keep it beside their device token.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Bytes of a hall key made on first start.
const KEY_BYTES: usize = 32;
/// The hall key's file name.
const KEY_FILE: &str = "idcard.key";

/// The hall's secret for hashing ID numbers. Its `Debug` hides the bytes.
#[derive(Clone)]
pub struct HallKey(Vec<u8>);

impl HallKey {
    pub const MIN_LEN: usize = 16;

    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < Self::MIN_LEN {
            return Err(format!(
                "hall key must be at least {} bytes, got {}",
                Self::MIN_LEN,
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }

    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim()).map_err(|e| format!("hall key is not hex: {e}"))?;
        Self::new(bytes)
    }

    /// The key as the hall node hands it to a kiosk board at pairing.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn hash(&self, id_number: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(id_number.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for HallKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HallKey(<{} bytes>)", self.0.len())
    }
}

/// Where the hall key lives: beside the hall node's database, or beside a kiosk board's device token.
pub fn key_path_beside(file: &Path) -> PathBuf {
    file.with_file_name(KEY_FILE)
}

/// The hall's secret for hashing ID numbers (appointments and per-person limits match on the hash):
/// made once from the system's random source, readable by hallq alone, and kept across restarts so
/// hashes stay comparable. Kiosk boards get the hall node's key when they pair.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<HallKey> {
    match std::fs::read(path) {
        Ok(bytes) => HallKey::new(bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}; remove it to make a new one", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = vec![0u8; KEY_BYTES];
            rand::rng().fill_bytes(&mut bytes);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            HallKey::new(bytes).map_err(anyhow::Error::msg)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// The hall key a kiosk board received at pairing, or why it has none to use.
pub fn load_paired_key(path: &Path) -> Result<HallKey, String> {
    match std::fs::read(path) {
        Ok(bytes) => HallKey::new(bytes).map_err(|e| {
            format!(
                "the hall card key at {} is unusable ({e}); pair this kiosk again with `hallq pair join`",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "this kiosk has no hall card key at {}; pair it again with `hallq pair join`",
            path.display()
        )),
        Err(e) => Err(format!("cannot read the hall card key {}: {e}", path.display())),
    }
}

/// Keeps the hall key a kiosk board received at pairing, replacing any key it had: every kiosk of a
/// hall must hash a card the same way. Written aside and renamed, so a crash leaves the old key or
/// the new one, never half of one.
pub fn store_key(path: &Path, key: &HallKey) -> anyhow::Result<()> {
    let aside = path.with_extension("key.new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&aside)
        .with_context(|| format!("writing {}", aside.display()))?;
    file.write_all(key.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&aside, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
