//! Who a citizen is, as hallq may know it: never the ID number itself, but its keyed hash
//! ([`HallKey`], on the hall node only), the masked name ([`mask_name`]), and the random token of a
//! ticket's status link; a card read in clear ([`CardRead`]) only on its way to the hall node;
//! and how staff prove who they are ([`StaffPin`], kept only as its Argon2id hash).
//! The card reader, pairing, the LAN and the platform link all take these from here, so there is
//! one place that decides what personal data becomes.

mod card_read;
mod hall_key;
mod id_number;
mod private_file;
mod staff_pin;

pub use card_read::{CardRead, CardReadError, check_id_number};
pub use hall_key::{HallKey, HallKeyError, key_path_beside, load_or_create_key};
pub use id_number::{MAX_MASKED_NAME_CHARS, id_check_character, mask_name};
pub use private_file::{
    PrivateReadError, create_private_file, read_private_file, replace_private_file,
};
pub use staff_pin::{BadPin, PIN_DIGITS, StaffPin, hash_pin, pin_matches};

/// Hex digits of an ID hash: the hall key's HMAC-SHA256 of the number, in lower case
/// ([`HallKey`]). Nothing else is taken as one, so a number or a shorter digest is never stored.
pub const ID_HASH_HEX_DIGITS: usize = 64;

/// Whether `text` has the form of an ID hash as a [`HallKey`] makes it.
pub fn is_id_hash(text: &str) -> bool {
    text.len() == ID_HASH_HEX_DIGITS && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `text` is a name as [`mask_name`] leaves it: masking it again changes nothing (张*三,
/// Z**** S**), so a full name or an ID number is never taken for a masked one.
pub fn is_masked_name(text: &str) -> bool {
    text.chars().count() <= MAX_MASKED_NAME_CHARS && mask_name(text) == text
}

/// Bytes of randomness in a ticket's status token: enough that no one guesses another's link.
pub const STATUS_TOKEN_BYTES: usize = 16;

/// A fresh status token for a ticket's link, from the system's random source.
pub fn draw_status_token() -> String {
    hex::encode(rand::random::<[u8; STATUS_TOKEN_BYTES]>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_hall_keys_digest_is_an_id_hash() {
        let key = super::HallKey::new(vec![7; 32]).unwrap();
        assert!(super::is_id_hash(&key.hash("11010519491231002X")));
        for not_a_hash in [
            "11010519491231002X",
            "110105194912310021",
            "feedfacecafebeef",
            &"A".repeat(64),
            &"a".repeat(63),
            &"a".repeat(65),
            "",
        ] {
            assert!(!super::is_id_hash(not_a_hash), "{not_a_hash}");
        }
    }

    #[test]
    fn only_what_mask_name_leaves_is_a_masked_name() {
        for name in [
            "张三",
            "张小三",
            "欧阳娜娜",
            "李",
            "ZHANG SAN",
            "O'BRIEN, ANN",
            "ئابدۇرېھىم",
        ] {
            let masked = super::mask_name(name);
            assert!(super::is_masked_name(&masked), "{masked}");
            assert!(!super::is_masked_name(name), "{name}");
        }
        for not_masked in [
            "110105194912310021",
            "feedfacecafebeef",
            "张*三四",
            "Z**** SAN",
        ] {
            assert!(!super::is_masked_name(not_masked), "{not_masked}");
        }
        assert!(!super::is_masked_name(&format!("张{}三", "*".repeat(130))));
    }

    #[test]
    fn status_tokens_are_long_and_fresh() {
        let a = super::draw_status_token();
        let b = super::draw_status_token();
        assert_eq!(a.len(), 2 * super::STATUS_TOKEN_BYTES);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
