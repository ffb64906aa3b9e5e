//! Staff PINs: what a PIN may look like, and its Argon2id hash. Only the hash is ever stored; a PIN
//! lives in memory for the one check, in a buffer wiped when it is dropped.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

/// Fewest and most digits of a PIN: short enough to key in at a window, long enough that the
/// attempt limit leaves a guesser no real chance.
pub const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=8;

/// A PIN as keyed in: digits only, wiped on drop, never shown by `Debug`. It crosses the hall LAN in a
/// sign-in request and is checked as it is read, so a malformed PIN is a bad request.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffPin(Zeroizing<String>);

impl serde::Serialize for StaffPin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for StaffPin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        StaffPin::new(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a staff PIN is {} to {} digits", PIN_DIGITS.start(), PIN_DIGITS.end())]
pub struct BadPin;

impl StaffPin {
    pub fn new(text: &str) -> Result<StaffPin, BadPin> {
        let digits = text.trim();
        if !PIN_DIGITS.contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadPin);
        }
        Ok(StaffPin(Zeroizing::new(digits.to_string())))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for StaffPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffPin(****)")
    }
}

/// Argon2id with the memory and passes OWASP's password guidance gives as its smaller setting
/// (19 MiB, 2 passes): tens of milliseconds on a Raspberry Pi-class board, per check.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("fixed Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string (`$argon2id$v=19$m=…`) of `pin` under a fresh random salt.
pub fn hash_pin(pin: &StaffPin) -> String {
    let salt =
        SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes make a valid salt");
    hasher()
        .hash_password(pin.bytes(), &salt)
        .expect("hashing with valid parameters succeeds")
        .to_string()
}

/// Whether `pin` is the one `stored` was made from. A stored text that is not a PHC string never
/// matches.
pub fn pin_matches(stored: &str, pin: &StaffPin) -> bool {
    PasswordHash::new(stored)
        .map(|hash| hasher().verify_password(pin.bytes(), &hash).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_four_to_eight_digits() {
        for good in ["1234", "12345678", " 0000 "] {
            assert!(StaffPin::new(good).is_ok(), "{good}");
        }
        for bad in ["", "123", "123456789", "12a4", "１２３４", "12 34"] {
            assert_eq!(StaffPin::new(bad).unwrap_err(), BadPin, "{bad}");
        }
    }

    #[test]
    fn the_hash_matches_its_pin_only_and_is_salted() {
        let pin = StaffPin::new("2468").unwrap();
        let stored = hash_pin(&pin);
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!stored.contains("2468"));
        assert!(pin_matches(&stored, &pin));
        assert!(!pin_matches(&stored, &StaffPin::new("2469").unwrap()));
        assert_ne!(stored, hash_pin(&pin), "a fresh salt each time");
        assert!(!pin_matches("not a hash", &pin));
        assert!(!pin_matches("", &pin));
    }

    #[test]
    fn a_pin_is_read_from_json_only_in_its_form() {
        let pin: StaffPin = serde_json::from_str("\"1357\"").unwrap();
        assert_eq!(serde_json::to_string(&pin).unwrap(), "\"1357\"");
        let bad = serde_json::from_str::<StaffPin>("\"13a7\"").unwrap_err();
        assert!(bad.to_string().contains("4 to 8 digits"), "{bad}");
        assert!(
            serde_json::from_str::<StaffPin>("1357").is_err(),
            "a number is not a PIN"
        );
    }

    #[test]
    fn debug_output_hides_the_pin() {
        let pin = StaffPin::new("8642").unwrap();
        assert!(!format!("{pin:?}").contains("8642"));
    }
}
