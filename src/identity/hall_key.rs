//! The hall key: the secret ID numbers are hashed with, so that bookings and per-person limits match
//! a citizen without any board keeping the number. The hall node makes it on first start; kiosk
//! boards receive it when they pair and keep it beside their device token.

use std::path::{Path, PathBuf};

use anyhow::Context;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::private_file::{create_private_file, replace_private_file};

/// Bytes of a hall key made on first start.
const KEY_BYTES: usize = 32;
/// The hall key's file name.
const KEY_FILE: &str = "idcard.key";

/// Why there is no usable hall key. Messages never quote the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HallKeyError {
    #[error("hall key must be at least {min} bytes, got {len}", min = HallKey::MIN_LEN)]
    TooShort { len: usize },
    #[error("hall key is not hex: {0}")]
    NotHex(String),
    /// A kiosk board that never received the key, or lost it.
    #[error("this kiosk has no hall card key at {}; pair it again with `hallq pair join`", .path.display())]
    NotPaired { path: PathBuf },
    #[error("the hall card key at {} is unusable ({why}); pair this kiosk again with `hallq pair join`", .path.display())]
    Unusable {
        path: PathBuf,
        why: Box<HallKeyError>,
    },
    #[error("cannot read the hall card key {}: {why}", .path.display())]
    Unreadable { path: PathBuf, why: String },
}

/// The hall's secret for hashing ID numbers. Its `Debug` hides the bytes.
#[derive(Clone)]
pub struct HallKey(Vec<u8>);

impl HallKey {
    pub const MIN_LEN: usize = 16;

    pub fn new(bytes: Vec<u8>) -> Result<Self, HallKeyError> {
        if bytes.len() < Self::MIN_LEN {
            return Err(HallKeyError::TooShort { len: bytes.len() });
        }
        Ok(Self(bytes))
    }

    pub fn from_hex(text: &str) -> Result<Self, HallKeyError> {
        let bytes = hex::decode(text.trim()).map_err(|e| HallKeyError::NotHex(e.to_string()))?;
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
            create_private_file(path, &bytes)?;
            Ok(HallKey::new(bytes)?)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// The hall key a kiosk board received at pairing, or why it has none to use.
pub fn load_paired_key(path: &Path) -> Result<HallKey, HallKeyError> {
    let path_buf = || path.to_path_buf();
    match std::fs::read(path) {
        Ok(bytes) => HallKey::new(bytes).map_err(|e| HallKeyError::Unusable {
            path: path_buf(),
            why: Box::new(e),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(HallKeyError::NotPaired { path: path_buf() })
        }
        Err(e) => Err(HallKeyError::Unreadable {
            path: path_buf(),
            why: e.to_string(),
        }),
    }
}

/// Keeps the hall key a kiosk board received at pairing, replacing any key it had: every kiosk of a
/// hall must hash a card the same way. Written aside and renamed, so a crash leaves the old key or
/// the new one, never half of one.
pub fn store_key(path: &Path, key: &HallKey) -> anyhow::Result<()> {
    replace_private_file(path, key.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kiosk_without_a_usable_key_is_told_why_and_how_to_mend_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path_beside(&dir.path().join("device.token"));
        let missing = load_paired_key(&path).unwrap_err();
        assert_eq!(missing, HallKeyError::NotPaired { path: path.clone() });
        assert!(
            missing
                .to_string()
                .contains("pair it again with `hallq pair join`")
        );

        std::fs::write(&path, [1u8; 8]).unwrap();
        let short = load_paired_key(&path).unwrap_err();
        assert_eq!(
            short.to_string(),
            format!(
                "the hall card key at {} is unusable (hall key must be at least 16 bytes, got 8); \
                 pair this kiosk again with `hallq pair join`",
                path.display()
            )
        );
        assert_eq!(
            HallKey::from_hex("zz").unwrap_err(),
            HallKeyError::NotHex("Invalid character 'z' at position 0".into())
        );

        store_key(&path, &HallKey::new(vec![9; 16]).unwrap()).unwrap();
        assert_eq!(load_paired_key(&path).unwrap().as_bytes(), [9; 16]);
    }
}
