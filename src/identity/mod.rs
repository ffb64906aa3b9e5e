//! Who a citizen is, as hallq may know it: never the ID number itself, but its keyed hash
//! ([`HallKey`]), the masked name ([`mask_name`]), and the random token of a ticket's status link;
//! and how staff prove who they are ([`StaffPin`], kept only as its Argon2id hash).
//! The card reader, pairing, the LAN and the platform link all take these from here, so there is
//! one place that decides what personal data becomes.

mod hall_key;
mod id_number;
mod staff_pin;

pub use hall_key::{
    HallKey, HallKeyError, key_path_beside, load_or_create_key, load_paired_key, store_key,
};
pub use id_number::{id_check_character, mask_name};
pub use staff_pin::{BadPin, PIN_DIGITS, StaffPin, hash_pin, pin_matches};

/// Bytes of randomness in a ticket's status token: enough that no one guesses another's link.
pub const STATUS_TOKEN_BYTES: usize = 16;

/// A fresh status token for a ticket's link, from the system's random source.
pub fn draw_status_token() -> String {
    hex::encode(rand::random::<[u8; STATUS_TOKEN_BYTES]>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_tokens_are_long_and_fresh() {
        let a = super::draw_status_token();
        let b = super::draw_status_token();
        assert_eq!(a.len(), 2 * super::STATUS_TOKEN_BYTES);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
