//! The 256-byte card text in its four layouts, parsed straight into [`CardFacts`]: the clear ID
//! number and name leave [`parse_card_text`] only inside a [`CardRead`], which the kiosk sends to the
//! hall node and which wipes them when dropped; every other copy is wiped before it returns. Each
//! field is decoded into a buffer sized for it up front and trimmed in place, so no growing or
//! copying leaves a piece of card text in freed memory.

use chrono::NaiveDate;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::identity::{CardRead, CardReadError, id_check_character};

pub const TEXT_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// 居民身份证.
    Resident,
    /// 港澳台居民居住证 (`J`).
    HkMacaoTaiwanPermit,
    /// 外国人永久居留身份证, 2017 layout (`I`).
    ForeignPermanent2017,
    /// 外国人永久居留身份证, 2023 layout (`Y`).
    ForeignPermanent2023,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
    Unspecified,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidTo {
    Date(NaiveDate),
    /// 长期: no expiry.
    LongTerm,
}

/// What the reader tells the kiosk about a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardFacts {
    pub kind: CardKind,
    /// The ID (or permit) number and the name, for the hall node to hash and mask: never shown by
    /// `Debug`, never serialized, wiped when dropped.
    #[serde(skip)]
    pub card: CardRead,
    /// For senior priority.
    pub birth_date: Option<NaiveDate>,
    pub sex: Sex,
    pub valid_to: ValidTo,
    /// ISO 3166 alpha-3 code on foreign permanent resident cards.
    pub nationality: Option<String>,
}

impl CardFacts {
    pub fn is_expired_on(&self, day: NaiveDate) -> bool {
        matches!(self.valid_to, ValidTo::Date(end) if end < day)
    }
}

/// Why a card text was refused. Messages never quote the ID number or the name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum CardTextError {
    #[error("card text is {0} bytes, expected {TEXT_LEN}")]
    WrongSize(usize),
    #[error("unknown card layout marker {0:?}")]
    UnknownLayout(String),
    #[error("field {field} is not valid UCS-2 text")]
    NotText { field: &'static str },
    #[error("field {field} is empty")]
    Missing { field: &'static str },
    #[error("field {field} is not a date (YYYYMMDD)")]
    BadDate { field: &'static str },
    #[error("sex code is neither 1 nor 2")]
    BadSex,
    #[error("ID number has the wrong shape")]
    BadIdShape,
    #[error("ID number's check character is wrong")]
    BadCheckCharacter,
    #[error("birth date in the ID number differs from the birth field")]
    BirthMismatch,
}

struct Field {
    name: &'static str,
    at: usize,
    len: usize,
}

const fn field(name: &'static str, at: usize, len: usize) -> Field {
    Field { name, at, len }
}

/// Card text, wiped when dropped.
type Secret = Zeroizing<String>;

fn read(text: &[u8], f: Field) -> Result<Secret, CardTextError> {
    let units = text[f.at..f.at + f.len]
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]));
    // A UCS-2 unit takes at most three bytes of UTF-8 (a surrogate pair, four for two units).
    let mut decoded = Zeroizing::new(String::with_capacity(f.len / 2 * 3));
    for c in char::decode_utf16(units) {
        decoded.push(c.map_err(|_| CardTextError::NotText { field: f.name })?);
    }
    let padding = |c: char| c == ' ' || c == '\0' || c == '\u{3000}';
    let end = decoded.trim_end_matches(padding).len();
    decoded.truncate(end);
    let start = decoded.len() - decoded.trim_start_matches(padding).len();
    decoded.drain(..start);
    Ok(decoded)
}

fn required(text: &[u8], f: Field) -> Result<Secret, CardTextError> {
    let name = f.name;
    let value = read(text, f)?;
    if value.is_empty() {
        return Err(CardTextError::Missing { field: name });
    }
    Ok(value)
}

fn date(text: &[u8], f: Field) -> Result<NaiveDate, CardTextError> {
    let name = f.name;
    let value = required(text, f)?;
    parse_date(&value).ok_or(CardTextError::BadDate { field: name })
}

fn parse_date(value: &str) -> Option<NaiveDate> {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(value, "%Y%m%d").ok()
}

fn valid_to(text: &[u8], f: Field) -> Result<ValidTo, CardTextError> {
    let name = f.name;
    let value = required(text, f)?;
    if value.starts_with("长期") {
        return Ok(ValidTo::LongTerm);
    }
    parse_date(&value)
        .map(ValidTo::Date)
        .ok_or(CardTextError::BadDate { field: name })
}

fn sex(text: &[u8], f: Field) -> Result<Sex, CardTextError> {
    match read(text, f)?.as_str() {
        "1" => Ok(Sex::Male),
        "2" => Ok(Sex::Female),
        "0" | "9" => Ok(Sex::Unspecified),
        _ => Err(CardTextError::BadSex),
    }
}

/// Checks an 18-character number and its embedded birth date; returns it upper-cased.
fn checked_id18(mut number: Secret, birth: NaiveDate) -> Result<Secret, CardTextError> {
    number.make_ascii_uppercase();
    let bytes = number.as_bytes();
    if bytes.len() != 18 {
        return Err(CardTextError::BadIdShape);
    }
    let check = id_check_character(&bytes[..17]).ok_or(CardTextError::BadIdShape)?;
    if char::from(bytes[17]) != check {
        return Err(CardTextError::BadCheckCharacter);
    }
    if parse_date(&number[6..14]) != Some(birth) {
        return Err(CardTextError::BirthMismatch);
    }
    Ok(number)
}

/// 2017 foreign permanent resident cards: three letters of nationality and twelve digits.
fn checked_permit15(mut number: Secret) -> Result<Secret, CardTextError> {
    number.make_ascii_uppercase();
    let b = number.as_bytes();
    let ok = b.len() == 15
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(number)
    } else {
        Err(CardTextError::BadIdShape)
    }
}

fn kind_of(text: &[u8]) -> Result<CardKind, CardTextError> {
    match read(text, field("card type", 248, 2))?.as_str() {
        "" => Ok(CardKind::Resident),
        "J" => Ok(CardKind::HkMacaoTaiwanPermit),
        "I" => Ok(CardKind::ForeignPermanent2017),
        "Y" => Ok(CardKind::ForeignPermanent2023),
        other => Err(CardTextError::UnknownLayout(
            other.chars().take(4).collect(),
        )),
    }
}

/// Parses a card text and derives the facts the engine may keep.
pub fn parse_card_text(text: &[u8]) -> Result<CardFacts, CardTextError> {
    if text.len() != TEXT_LEN {
        return Err(CardTextError::WrongSize(text.len()));
    }
    let kind = kind_of(text)?;
    let valid_to = valid_to(text, field("valid to", 204, 16))?;
    let (name, sex, birth, number, nationality) = match kind {
        CardKind::Resident | CardKind::HkMacaoTaiwanPermit => {
            let birth = date(text, field("birth", 36, 16))?;
            let number = checked_id18(required(text, field("ID number", 122, 36))?, birth)?;
            let name = required(text, field("name", 0, 30))?;
            (name, sex(text, field("sex", 30, 2))?, birth, number, None)
        }
        CardKind::ForeignPermanent2017 => {
            let birth = date(text, field("birth", 220, 16))?;
            let number = checked_permit15(required(text, field("permit number", 122, 30))?)?;
            let chinese = read(text, field("Chinese name", 158, 30))?;
            let name = if chinese.is_empty() {
                required(text, field("English name", 0, 120))?
            } else {
                chinese
            };
            let nationality = required(text, field("nationality", 152, 6))?;
            (
                name,
                sex(text, field("sex", 120, 2))?,
                birth,
                number,
                Some(nationality.to_string()),
            )
        }
        CardKind::ForeignPermanent2023 => {
            let birth = date(text, field("birth", 36, 16))?;
            let number = checked_id18(required(text, field("ID number", 122, 36))?, birth)?;
            let chinese = read(text, field("Chinese name", 0, 30))?;
            let name = if chinese.is_empty() {
                let first = read(text, field("English name", 52, 70))?;
                let rest = read(text, field("English name part 2", 220, 22))?;
                let mut joined = Zeroizing::new(String::with_capacity(first.len() + rest.len()));
                joined.push_str(&first);
                joined.push_str(&rest);
                if joined.trim().is_empty() {
                    return Err(CardTextError::Missing { field: "name" });
                }
                joined
            } else {
                chinese
            };
            let nationality = required(text, field("nationality", 242, 6))?;
            (
                name,
                sex(text, field("sex", 30, 2))?,
                birth,
                number,
                Some(nationality.to_string()),
            )
        }
    };
    let card = CardRead::new(number, name, Some(birth)).map_err(|e| match e {
        CardReadError::BadName => CardTextError::Missing { field: "name" },
        CardReadError::BadCheckCharacter => CardTextError::BadCheckCharacter,
        CardReadError::BadShape | CardReadError::BadBirthDate => CardTextError::BadIdShape,
    })?;
    Ok(CardFacts {
        kind,
        card,
        birth_date: Some(birth),
        sex,
        valid_to,
        nationality,
    })
}

#[cfg(test)]
mod tests {
    use crate::identity::{HallKey, id_check_character};

    #[test]
    fn check_character_matches_known_numbers() {
        // Published sample numbers of GB 11643.
        assert_eq!(id_check_character(b"11010519491231002"), Some('X'));
        assert_eq!(id_check_character(b"44052418800101001"), Some('4'));
        assert_eq!(id_check_character(b"1101051949123100"), None);
        assert_eq!(id_check_character(b"1101051949123100A"), None);
    }

    #[test]
    fn id_hash_is_hmac_sha256() {
        // RFC 4231, test case 1.
        let key = HallKey::new(vec![0x0b; 20]).unwrap();
        assert_eq!(
            key.hash("Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }
}
