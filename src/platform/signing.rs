//! Signing the hall's requests to the platform, and checking them on the receiving side.
//!
//! Each request carries the hall's id, a timestamp, a fresh nonce and an HMAC-SHA256 over
//!
//! ```text
//! HALLQ-HMAC-SHA256\n{METHOD}\n{path}\n{hall id}\n{timestamp}\n{nonce}\n{hex SHA-256 of the body}
//! ```
//!
//! keyed by the hall's platform secret: a secret of its own, in a file only the service user reads,
//! and never the LAN's pairing key, so a terminal's compromise does not let anyone speak for the hall
//! upstream. The receiver refuses a timestamp further than the allowed skew from its clock, a nonce
//! it has seen inside that window, and a wrong signature, each under its own code (docs/platform.md).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const HALL_HEADER: &str = "x-hallq-hall";
/// Seconds since the Unix epoch.
pub const TIMESTAMP_HEADER: &str = "x-hallq-timestamp";
pub const NONCE_HEADER: &str = "x-hallq-nonce";
/// Lowercase hex of the HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "x-hallq-signature";

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// How far a request's timestamp may lie from the receiver's clock, by default.
pub const DEFAULT_MAX_SKEW_S: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// The hall's secret for the platform link; wiped from memory when dropped.
#[derive(Clone)]
pub struct PlatformSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for PlatformSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformSecret(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("cannot read the platform secret {path}: {error}")]
    Unreadable { path: String, error: String },
    #[error(
        "the platform secret {path} can be read by other users (mode {mode:o}); make it readable by the service alone: chmod 600 {path}"
    )]
    Exposed { path: String, mode: u32 },
    #[error(
        "the platform secret {path} holds {len} bytes; at least {MIN_SECRET_BYTES} are needed (`hallq platform new-secret` makes one)"
    )]
    TooShort { path: String, len: usize },
    #[error("cannot write the platform secret {path}: {error}")]
    Unwritable { path: String, error: String },
}

impl PlatformSecret {
    /// The secret's bytes as given; at least [`MIN_SECRET_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Option<PlatformSecret> {
        (bytes.len() >= MIN_SECRET_BYTES).then(|| PlatformSecret(Zeroizing::new(bytes.to_vec())))
    }

    /// Reads the secret from `path`: its text with surrounding white space removed. A file that
    /// others may read is refused, as is a short secret.
    pub fn load(path: &Path) -> Result<PlatformSecret, SecretError> {
        use crate::identity::PrivateReadError;
        let shown = path.display().to_string();
        let text = crate::identity::read_private_file(path).map_err(|e| match e {
            PrivateReadError::Unreadable(e) => SecretError::Unreadable {
                path: shown.clone(),
                error: e.to_string(),
            },
            PrivateReadError::Exposed { mode } => SecretError::Exposed {
                path: shown.clone(),
                mode,
            },
        })?;
        let trimmed = text.trim_ascii();
        PlatformSecret::from_bytes(trimmed).ok_or(SecretError::TooShort {
            path: shown,
            len: trimmed.len(),
        })
    }

    /// Writes a new random secret (64 hex digits) to `path`, readable by its owner alone; an existing
    /// file is left as it is and refused.
    pub fn create_file(path: &Path) -> Result<(), SecretError> {
        let unwritable = |e: std::io::Error| SecretError::Unwritable {
            path: path.display().to_string(),
            error: e.to_string(),
        };
        let bytes: [u8; 32] = rand::random();
        let text = Zeroizing::new(hex::encode(bytes) + "\n");
        crate::identity::create_private_file(path, text.as_bytes()).map_err(unwritable)
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length")
    }
}

/// The four headers of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub hall_id: String,
    pub timestamp_s: i64,
    pub nonce: String,
    /// Lowercase hex.
    pub signature: String,
}

impl Signature {
    /// The headers as (name, value) pairs.
    pub fn headers(&self) -> [(&'static str, String); 4] {
        [
            (HALL_HEADER, self.hall_id.clone()),
            (TIMESTAMP_HEADER, self.timestamp_s.to_string()),
            (NONCE_HEADER, self.nonce.clone()),
            (SIGNATURE_HEADER, self.signature.clone()),
        ]
    }
}

/// What is signed; see the module's comment.
fn signed_text(
    method: &str,
    path: &str,
    hall_id: &str,
    timestamp_s: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    format!(
        "HALLQ-HMAC-SHA256\n{}\n{path}\n{hall_id}\n{timestamp_s}\n{nonce}\n{body_hash}",
        method.to_ascii_uppercase()
    )
}

/// Signs one request of hall `hall_id` at `timestamp_s` with a fresh nonce.
pub fn sign(
    secret: &PlatformSecret,
    method: &str,
    path: &str,
    hall_id: &str,
    timestamp_s: i64,
    body: &[u8],
) -> Signature {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    sign_with_nonce(secret, method, path, hall_id, timestamp_s, &nonce, body)
}

/// [`sign`] with the nonce given.
pub fn sign_with_nonce(
    secret: &PlatformSecret,
    method: &str,
    path: &str,
    hall_id: &str,
    timestamp_s: i64,
    nonce: &str,
    body: &[u8],
) -> Signature {
    let mut mac = secret.mac();
    mac.update(signed_text(method, path, hall_id, timestamp_s, nonce, body).as_bytes());
    Signature {
        hall_id: hall_id.to_string(),
        timestamp_s,
        nonce: nonce.to_string(),
        signature: hex::encode(mac.finalize().into_bytes()),
    }
}

/// Why the receiver refused a request's signature. Each is answered 401 with its own code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request lacks a valid {0} header")]
    MissingHeader(&'static str),
    #[error("no secret is known for hall {0}")]
    UnknownHall(String),
    #[error(
        "the timestamp is {off_s} s away from the platform's clock; at most {max_skew_s} s are allowed"
    )]
    StaleTimestamp { off_s: i64, max_skew_s: i64 },
    #[error("this nonce was already used")]
    NonceReused,
    #[error("the signature does not match the request")]
    BadSignature,
}

impl Refusal {
    /// The code the refusal is answered with.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::MissingHeader(_) => "missing_signature",
            Refusal::UnknownHall(_) => "unknown_hall",
            Refusal::StaleTimestamp { .. } => "stale_timestamp",
            Refusal::NonceReused => "nonce_reused",
            Refusal::BadSignature => "bad_signature",
        }
    }
}

/// Checks signed requests for the halls whose secrets it holds, and remembers the nonces it has seen
/// for as long as their timestamps would still pass.
pub struct Verifier {
    secrets: HashMap<String, PlatformSecret>,
    max_skew_s: i64,
    /// (hall, nonce) → the second after which the nonce's timestamp no longer passes anyway.
    seen: Mutex<HashMap<(String, String), i64>>,
}

impl Verifier {
    pub fn new(secrets: HashMap<String, PlatformSecret>, max_skew_s: i64) -> Verifier {
        Verifier {
            secrets,
            max_skew_s: max_skew_s.max(1),
            seen: Mutex::default(),
        }
    }

    /// Checks one request; `header` looks a header up by its lowercase name. Returns the hall id.
    /// A nonce is remembered only once the signature holds: forged requests cannot use up nonces.
    pub fn verify<'h>(
        &self,
        method: &str,
        path: &str,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
        now_ms: i64,
    ) -> Result<String, Refusal> {
        let hall_id = header(HALL_HEADER)
            .filter(|h| !h.is_empty())
            .ok_or(Refusal::MissingHeader(HALL_HEADER))?;
        let timestamp_s: i64 = header(TIMESTAMP_HEADER)
            .and_then(|t| t.parse().ok())
            .ok_or(Refusal::MissingHeader(TIMESTAMP_HEADER))?;
        let nonce = header(NONCE_HEADER)
            .filter(|n| {
                (16..=64).contains(&n.len())
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .ok_or(Refusal::MissingHeader(NONCE_HEADER))?;
        let presented = header(SIGNATURE_HEADER)
            .and_then(|s| hex::decode(s).ok())
            .ok_or(Refusal::MissingHeader(SIGNATURE_HEADER))?;
        let secret = self
            .secrets
            .get(hall_id)
            .ok_or_else(|| Refusal::UnknownHall(hall_id.to_string()))?;
        let now_s = now_ms.div_euclid(1000);
        let off_s = timestamp_s.saturating_sub(now_s);
        if off_s.abs() > self.max_skew_s {
            return Err(Refusal::StaleTimestamp {
                off_s,
                max_skew_s: self.max_skew_s,
            });
        }
        let mut mac = secret.mac();
        mac.update(signed_text(method, path, hall_id, timestamp_s, nonce, body).as_bytes());
        mac.verify_slice(&presented)
            .map_err(|_| Refusal::BadSignature)?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, forget_after| *forget_after >= now_s);
        let key = (hall_id.to_string(), nonce.to_string());
        if seen.contains_key(&key) {
            return Err(Refusal::NonceReused);
        }
        seen.insert(key, timestamp_s.saturating_add(self.max_skew_s));
        Ok(hall_id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_795_744_800_000;

    fn secret(fill: u8) -> PlatformSecret {
        PlatformSecret::from_bytes(&[fill; 32]).unwrap()
    }

    fn verifier() -> Verifier {
        Verifier::new(HashMap::from([("hall-1".to_string(), secret(7))]), 300)
    }

    fn check(verifier: &Verifier, signature: &Signature, body: &[u8]) -> Result<String, Refusal> {
        let headers: HashMap<&str, String> = signature.headers().into_iter().collect();
        verifier.verify(
            "POST",
            "/v1/events",
            |name| headers.get(name).map(String::as_str),
            body,
            NOW_MS,
        )
    }

    fn signed(key: &PlatformSecret, timestamp_s: i64, body: &[u8]) -> Signature {
        sign(key, "POST", "/v1/events", "hall-1", timestamp_s, body)
    }

    #[test]
    fn a_signed_request_passes_once() {
        let verifier = verifier();
        let signature = signed(&secret(7), NOW_MS / 1000 - 299, b"{}");
        assert_eq!(check(&verifier, &signature, b"{}"), Ok("hall-1".into()));
        assert_eq!(
            check(&verifier, &signature, b"{}"),
            Err(Refusal::NonceReused)
        );
        assert_eq!(Refusal::NonceReused.code(), "nonce_reused");
    }

    #[test]
    fn a_wrong_key_a_changed_body_path_or_hall_is_a_bad_signature() {
        let verifier = verifier();
        let now_s = NOW_MS / 1000;
        let forged = signed(&secret(8), now_s, b"{}");
        assert_eq!(check(&verifier, &forged, b"{}"), Err(Refusal::BadSignature));
        let signature = signed(&secret(7), now_s, b"{\"events\":[]}");
        assert_eq!(
            check(&verifier, &signature, b"{\"events\":[1]}"),
            Err(Refusal::BadSignature)
        );
        let other_path = sign(&secret(7), "POST", "/v1/other", "hall-1", now_s, b"{}");
        assert_eq!(
            check(&verifier, &other_path, b"{}"),
            Err(Refusal::BadSignature)
        );
        // The forged tries used no nonce up: the genuine request with the same nonce still passes.
        let genuine = sign_with_nonce(
            &secret(7),
            "POST",
            "/v1/events",
            "hall-1",
            now_s,
            &forged.nonce,
            b"{}",
        );
        assert!(check(&verifier, &genuine, b"{}").is_ok());
        assert_eq!(Refusal::BadSignature.code(), "bad_signature");
    }

    #[test]
    fn a_timestamp_beyond_the_skew_is_stale_either_way() {
        let verifier = verifier();
        for off_s in [-301, 301] {
            let signature = signed(&secret(7), NOW_MS / 1000 + off_s, b"{}");
            assert_eq!(
                check(&verifier, &signature, b"{}"),
                Err(Refusal::StaleTimestamp {
                    off_s,
                    max_skew_s: 300
                })
            );
        }
        assert_eq!(
            Refusal::StaleTimestamp {
                off_s: 1,
                max_skew_s: 1
            }
            .code(),
            "stale_timestamp"
        );
    }

    #[test]
    fn missing_headers_and_unknown_halls_are_named() {
        let verifier = verifier();
        let signature = signed(&secret(7), NOW_MS / 1000, b"{}");
        for missing in [
            HALL_HEADER,
            TIMESTAMP_HEADER,
            NONCE_HEADER,
            SIGNATURE_HEADER,
        ] {
            let headers: HashMap<&str, String> = signature
                .headers()
                .into_iter()
                .filter(|(name, _)| *name != missing)
                .collect();
            let result = verifier.verify(
                "POST",
                "/v1/events",
                |name| headers.get(name).map(String::as_str),
                b"{}",
                NOW_MS,
            );
            assert_eq!(result, Err(Refusal::MissingHeader(missing)));
        }
        let stranger = sign(
            &secret(7),
            "POST",
            "/v1/events",
            "hall-9",
            NOW_MS / 1000,
            b"{}",
        );
        assert_eq!(
            check(&verifier, &stranger, b"{}"),
            Err(Refusal::UnknownHall("hall-9".into()))
        );
    }

    #[test]
    fn a_secret_file_must_be_private_and_long_enough() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("platform.key");
        PlatformSecret::create_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(PlatformSecret::load(&path).is_ok());
        assert!(matches!(
            PlatformSecret::create_file(&path),
            Err(SecretError::Unwritable { .. })
        ));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let exposed = PlatformSecret::load(&path).unwrap_err();
        assert!(exposed.to_string().contains("chmod 600"), "{exposed}");

        let short = dir.path().join("short.key");
        std::fs::write(&short, "too short\n").unwrap();
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            PlatformSecret::load(&short).unwrap_err(),
            SecretError::TooShort {
                path: short.display().to_string(),
                len: 9
            }
        );
    }
}
