//! A card as the reader decoded it: the ID number and the name in clear, on their way to the one
//! board that holds the hall key (the hall node), which hashes the number, masks the name and drops
//! both. Both are wiped from memory when the read is dropped, and neither is ever shown by `Debug`.

use chrono::NaiveDate;
use zeroize::Zeroizing;

use super::hall_key::HallKey;
use super::id_number::{MAX_MASKED_NAME_CHARS, id_check_character, mask_name};

/// Why an ID number or a name is not taken. Messages never quote either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardReadError {
    #[error(
        "an ID number is 18 characters (17 digits and a check digit or X) or, on a 2017 foreign \
         permanent resident card, 3 letters and 12 digits"
    )]
    BadShape,
    #[error("the ID number's check character does not match its first 17 digits")]
    BadCheckCharacter,
    #[error("the ID number's birth date (characters 7 to 14) is not a date")]
    BadBirthDate,
    #[error("the name on the card is empty or longer than {MAX_MASKED_NAME_CHARS} characters")]
    BadName,
}

/// The ID number and name of one card read, in clear. Only the hall node turns it into what the
/// hall keeps ([`CardRead::id_hash`], [`CardRead::masked_name`]).
#[derive(Clone, PartialEq, Eq)]
pub struct CardRead {
    id_number: Zeroizing<String>,
    name: Zeroizing<String>,
    pub birth_date: Option<NaiveDate>,
}

impl CardRead {
    /// A read whose number has the form of a resident ID (or permit) number, upper-cased.
    pub fn new(
        mut id_number: Zeroizing<String>,
        name: Zeroizing<String>,
        birth_date: Option<NaiveDate>,
    ) -> Result<CardRead, CardReadError> {
        id_number.make_ascii_uppercase();
        check_id_number(&id_number)?;
        let chars = name.chars().count();
        if name.trim().is_empty() || chars > MAX_MASKED_NAME_CHARS {
            return Err(CardReadError::BadName);
        }
        Ok(CardRead {
            id_number,
            name,
            birth_date,
        })
    }

    /// The number, for the kiosk to send to the hall node inside TLS.
    pub fn id_number(&self) -> &str {
        &self.id_number
    }

    /// The name as printed on the card, for the kiosk to send beside the number.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as screens may show it (张*三).
    pub fn masked_name(&self) -> String {
        mask_name(&self.name)
    }

    /// The hall key's hash of the number: what bookings and the one-ticket rule match on.
    pub fn id_hash(&self, key: &HallKey) -> String {
        key.hash(&self.id_number)
    }
}

impl std::fmt::Debug for CardRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardRead")
            .field("id_number", &"<hidden>")
            .field("name", &"<hidden>")
            .field("birth_date", &self.birth_date)
            .finish()
    }
}

/// Whether `number` has the form of an ID number: 18 characters whose last is the GB 11643 check
/// character of the first 17 and whose characters 7 to 14 are a birth date (resident cards, the
/// Hong Kong, Macao and Taiwan residence permit, the 2023 foreign permanent resident card), or the
/// 2017 foreign permanent resident card's 3 letters and 12 digits. Upper case only.
pub fn check_id_number(number: &str) -> Result<(), CardReadError> {
    let bytes = number.as_bytes();
    match bytes.len() {
        18 => {
            let check = id_check_character(&bytes[..17]).ok_or(CardReadError::BadShape)?;
            if !matches!(bytes[17], b'0'..=b'9' | b'X') {
                return Err(CardReadError::BadShape);
            }
            if char::from(bytes[17]) != check {
                return Err(CardReadError::BadCheckCharacter);
            }
            NaiveDate::parse_from_str(&number[6..14], "%Y%m%d")
                .map(drop)
                .map_err(|_| CardReadError::BadBirthDate)
        }
        15 if bytes[..3].iter().all(u8::is_ascii_uppercase)
            && bytes[3..].iter().all(u8::is_ascii_digit) =>
        {
            Ok(())
        }
        _ => Err(CardReadError::BadShape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(number: &str, name: &str) -> Result<CardRead, CardReadError> {
        CardRead::new(
            Zeroizing::new(number.into()),
            Zeroizing::new(name.into()),
            None,
        )
    }

    #[test]
    fn only_well_formed_numbers_are_taken_and_errors_quote_nothing() {
        // GB 11643-1999's worked example, in either case of its X.
        assert_eq!(
            read("11010519491231002x", "张三").unwrap().id_number(),
            "11010519491231002X"
        );
        assert!(read("USA330075086001", "ANN LEE").is_ok());
        for (number, why) in [
            ("110105194912310021", CardReadError::BadCheckCharacter),
            ("1101051949123100", CardReadError::BadShape),
            ("11010519491231002Y", CardReadError::BadShape),
            ("1101051949A231002X", CardReadError::BadShape),
            ("US1330075086001", CardReadError::BadShape),
            ("", CardReadError::BadShape),
        ] {
            let error = read(number, "张三").unwrap_err();
            assert_eq!(error, why, "{number}");
            assert!(number.is_empty() || !error.to_string().contains(number));
        }
        let first17 = "11010519491331002";
        let no_such_day = format!(
            "{first17}{}",
            id_check_character(first17.as_bytes()).unwrap()
        );
        assert_eq!(
            read(&no_such_day, "张三").unwrap_err(),
            CardReadError::BadBirthDate
        );
        assert_eq!(
            read("11010519491231002X", " ").unwrap_err(),
            CardReadError::BadName
        );
    }

    #[test]
    fn a_read_shows_neither_number_nor_name_and_hashes_as_the_hall_key_does() {
        let card = read("11010519491231002X", "张小三").unwrap();
        let shown = format!("{card:?}");
        assert!(!shown.contains("11010519491231002X") && !shown.contains("张小三"));
        assert_eq!(card.masked_name(), "张*三");
        let key = HallKey::new(vec![7; 32]).unwrap();
        assert_eq!(card.id_hash(&key), key.hash("11010519491231002X"));
    }
}
