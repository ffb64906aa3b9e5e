//! The hall key: the secret ID numbers are hashed with, so that bookings and per-person limits match
//! a citizen without any board keeping the number. Only the hall node (and the platform) hold it:
//! the hall node makes it on first start, and a kiosk board sends the card's number to the hall
//! node inside TLS instead of hashing it (docs/security.md).

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::private_file::create_private_file;

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

    /// The ID hash of `id_number`: lower-case hex of its HMAC-SHA256 under the key. Only the hall
    /// node and the platform call it.
    pub fn hash(&self, id_number: &str) -> String {
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

/// Where the hall key lives: beside the hall node's database. (Kiosk boards of earlier versions
/// kept a copy beside their device token; `hallq pair join` removes it.)
pub fn key_path_beside(file: &Path) -> PathBuf {
    file.with_file_name(KEY_FILE)
}

/// The hall's secret for hashing ID numbers (appointments and per-person limits match on the hash):
/// made once from the system's random source, readable by hallq alone, and kept across restarts so
/// hashes stay comparable. No other board of the hall receives it.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_too_short_or_not_hex_is_refused_without_quoting_it() {
        assert_eq!(
            HallKey::new(vec![1; 8]).unwrap_err().to_string(),
            "hall key must be at least 16 bytes, got 8"
        );
        assert_eq!(
            HallKey::from_hex("zz").unwrap_err(),
            HallKeyError::NotHex("Invalid character 'z' at position 0".into())
        );
        let dir = tempfile::tempdir().unwrap();
        let path = key_path_beside(&dir.path().join("hall.db"));
        let made = load_or_create_key(&path).unwrap();
        assert_eq!(load_or_create_key(&path).unwrap().hash("x"), made.hash("x"));
    }
}
