//! An ID-card reader on the far end of a pseudo-terminal, answering SAM frames for a set of test
//! cards, with faults to inject: garbage, truncated replies, bad checksums, a card pulled away
//! mid-read, silence, and the whole reader unplugged.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::card_text::{CardKind, TEXT_LEN};
use super::frame::{Command, FrameDecoder, FrameError, Reply, SamId, SamStatus};
use crate::devices::pty::SimPty;
use crate::devices::worker::DeviceThread;
use crate::identity::id_check_character;

pub const PHOTO_LEN: usize = 1024;

/// The simulated security module's id, in the real 16-byte layout ([`SamId`]), so independent
/// host programs print it as `05.01-20261127-0000000042-0000010017`.
pub const SIM_SAM_ID: SamId = SamId {
    head: [5, 1],
    date: 20261127,
    numbers: [42, 10017],
};

/// A made-up card holder. The numbers are synthetic, with valid check characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCard {
    pub label: &'static str,
    pub kind: CardKind,
    pub chinese_name: String,
    pub english_name: String,
    /// "1" male, "2" female.
    pub sex: &'static str,
    pub birth: NaiveDate,
    pub id_number: String,
    pub valid_from: NaiveDate,
    /// `None` is 长期.
    pub valid_to: Option<NaiveDate>,
    pub nationality: &'static str,
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn id18(first17: &str) -> String {
    let check = id_check_character(first17.as_bytes()).expect("17 digits");
    format!("{first17}{check}")
}

impl TestCard {
    pub fn resident() -> Self {
        Self {
            label: "resident",
            kind: CardKind::Resident,
            chinese_name: "张小三".into(),
            english_name: String::new(),
            sex: "1",
            birth: day(1949, 12, 31),
            id_number: id18("11010519491231002"),
            valid_from: day(2016, 5, 1),
            valid_to: None,
            nationality: "",
        }
    }

    pub fn hk_macao_taiwan_permit() -> Self {
        Self {
            label: "j",
            kind: CardKind::HkMacaoTaiwanPermit,
            chinese_name: "陈美玲".into(),
            english_name: String::new(),
            sex: "2",
            birth: day(1990, 1, 1),
            id_number: id18("81000019900101123"),
            valid_from: day(2021, 3, 1),
            valid_to: Some(day(2026, 3, 1)),
            nationality: "",
        }
    }

    pub fn foreign_2017() -> Self {
        Self {
            label: "i",
            kind: CardKind::ForeignPermanent2017,
            chinese_name: String::new(),
            english_name: "SMITH, JOHN".into(),
            sex: "1",
            birth: day(1975, 6, 1),
            id_number: "USA310075060101".into(),
            valid_from: day(2018, 2, 1),
            valid_to: Some(day(2028, 2, 1)),
            nationality: "USA",
        }
    }

    pub fn foreign_2023() -> Self {
        Self {
            label: "y",
            kind: CardKind::ForeignPermanent2023,
            chinese_name: "玛丽".into(),
            english_name: "MARTIN MARIE".into(),
            sex: "2",
            birth: day(1985, 3, 15),
            id_number: id18("93125019850315001"),
            valid_from: day(2024, 1, 10),
            valid_to: Some(day(2034, 1, 10)),
            nationality: "FRA",
        }
    }

    /// One card of each layout.
    pub fn examples() -> Vec<Self> {
        vec![
            Self::resident(),
            Self::hk_macao_taiwan_permit(),
            Self::foreign_2017(),
            Self::foreign_2023(),
        ]
    }

    pub fn by_label(label: &str) -> Option<Self> {
        Self::examples().into_iter().find(|c| c.label == label)
    }

    /// The name a screen would show before masking.
    pub fn display_name(&self) -> String {
        if self.chinese_name.is_empty() {
            self.english_name.clone()
        } else {
            self.chinese_name.clone()
        }
    }

    /// The 256-byte card text in this card's layout.
    pub fn text(&self) -> [u8; TEXT_LEN] {
        let mut text = [0u8; TEXT_LEN];
        put(&mut text, 0, TEXT_LEN, "");
        let valid_to = self
            .valid_to
            .map_or_else(|| "长期".to_owned(), |d| d.format("%Y%m%d").to_string());
        let birth = self.birth.format("%Y%m%d").to_string();
        let from = self.valid_from.format("%Y%m%d").to_string();
        put(&mut text, 188, 16, &from);
        put(&mut text, 204, 16, &valid_to);
        match self.kind {
            CardKind::Resident | CardKind::HkMacaoTaiwanPermit => {
                put(&mut text, 0, 30, &self.chinese_name);
                put(&mut text, 30, 2, self.sex);
                put(&mut text, 36, 16, &birth);
                put(&mut text, 52, 70, "北京市东城区某某街道1号");
                put(&mut text, 122, 36, &self.id_number);
                put(&mut text, 158, 30, "某某市公安局某某分局");
                if self.kind == CardKind::Resident {
                    put(&mut text, 32, 4, "01");
                } else {
                    put(&mut text, 220, 18, "H12345678");
                    put(&mut text, 238, 4, "01");
                    put(&mut text, 248, 2, "J");
                }
            }
            CardKind::ForeignPermanent2017 => {
                put(&mut text, 0, 120, &self.english_name);
                put(&mut text, 120, 2, self.sex);
                put(&mut text, 122, 30, &self.id_number);
                put(&mut text, 152, 6, self.nationality);
                put(&mut text, 158, 30, &self.chinese_name);
                put(&mut text, 220, 16, &birth);
                put(&mut text, 236, 4, "20");
                put(&mut text, 240, 8, "1500");
                put(&mut text, 248, 2, "I");
            }
            CardKind::ForeignPermanent2023 => {
                let (first, rest) = split_at_char(&self.english_name, 35);
                put(&mut text, 0, 30, &self.chinese_name);
                put(&mut text, 30, 2, self.sex);
                put(&mut text, 32, 4, "00");
                put(&mut text, 36, 16, &birth);
                put(&mut text, 52, 70, first);
                put(&mut text, 122, 36, &self.id_number);
                put(&mut text, 220, 22, rest);
                put(&mut text, 242, 6, self.nationality);
                put(&mut text, 248, 2, "Y");
            }
        }
        text
    }
}

fn split_at_char(text: &str, chars: usize) -> (&str, &str) {
    let at = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i);
    text.split_at(at)
}

/// Writes `value` as space-padded UCS-2LE into `len` bytes at `at`.
fn put(text: &mut [u8], at: usize, len: usize, value: &str) {
    let units: Vec<u16> = value.encode_utf16().collect();
    for i in 0..len / 2 {
        let unit = units.get(i).copied().unwrap_or(0x0020);
        text[at + 2 * i..at + 2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
}

/// A fault applied to the simulator's next reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderFault {
    /// Line noise before the reply.
    Garbage,
    /// Only the first half of the reply.
    Truncate,
    BadChecksum,
    /// The card leaves the field during the next read command.
    CardRemovedMidRead,
    /// No reply at all.
    Silence,
}

#[derive(Debug, Clone, Default)]
pub struct SimReaderState {
    pub cards: Vec<TestCard>,
    /// Index into `cards` of the card lying on the reader.
    pub on_reader: Option<usize>,
    /// Real readers stop finding a card once it has been read, until it leaves the field.
    pub read_since_placed: bool,
    /// Some readers keep finding a card that was already read; the driver must not read it twice.
    pub finds_read_cards: bool,
    pub faults: VecDeque<ReaderFault>,
    /// Finds that fail before the card is seen, as with a card still sliding into the field.
    pub failing_finds: u32,
    /// When set, SAM commands answer with this status (e.g. not authorised).
    pub sam_fault: Option<SamStatus>,
    /// The SAM fails its self-test until it is reset.
    pub sam_hung: bool,
    pub commands_seen: Vec<Command>,
}

impl SimReaderState {
    fn card(&self) -> Option<&TestCard> {
        self.on_reader.and_then(|i| self.cards.get(i))
    }

    /// The reply frame to one request body, before faults.
    fn answer(&mut self, body: &[u8]) -> Vec<u8> {
        let Some(command) = body
            .get(..2)
            .and_then(|code| Command::from_code([code[0], code[1]]))
        else {
            return Reply::encode(SamStatus::CommandError, &[]);
        };
        if self.commands_seen.len() < 1000 {
            self.commands_seen.push(command);
        }
        match command {
            Command::ResetSam if self.sam_fault.is_none() => {
                self.sam_hung = false;
                Reply::encode(SamStatus::Ok, &[])
            }
            Command::SamStatus if self.sam_hung => Reply::encode(SamStatus::SamSelfTestFailed, &[]),
            Command::ResetSam | Command::SamStatus => {
                Reply::encode(self.sam_fault.unwrap_or(SamStatus::Ok), &[])
            }
            Command::SamId => match self.sam_fault {
                Some(status) => Reply::encode(status, &[]),
                None => Reply::encode(SamStatus::Ok, &SIM_SAM_ID.to_bytes()),
            },
            Command::FindCard => {
                if self.card().is_none() || (self.read_since_placed && !self.finds_read_cards) {
                    Reply::encode(SamStatus::NoCard, &[])
                } else if self.failing_finds > 0 {
                    self.failing_finds -= 1;
                    Reply::encode(SamStatus::NoCard, &[])
                } else {
                    Reply::encode(SamStatus::FindOk, &[0; 4])
                }
            }
            Command::SelectCard => match self.card() {
                Some(_) => Reply::encode(SamStatus::Ok, &[0; 8]),
                None => Reply::encode(SamStatus::SelectFailed, &[]),
            },
            Command::ReadTextPhoto | Command::ReadTextPhotoFingerprint => {
                if self.faults.front() == Some(&ReaderFault::CardRemovedMidRead) {
                    self.faults.pop_front();
                    self.on_reader = None;
                    return Reply::encode(SamStatus::CardOperationFailed, &[]);
                }
                let Some(card) = self.card() else {
                    return Reply::encode(SamStatus::CardOperationFailed, &[]);
                };
                let text = card.text();
                let mut data = Vec::with_capacity(6 + TEXT_LEN + 2 * PHOTO_LEN);
                data.extend((TEXT_LEN as u16).to_be_bytes());
                data.extend((PHOTO_LEN as u16).to_be_bytes());
                if command == Command::ReadTextPhotoFingerprint {
                    data.extend((PHOTO_LEN as u16).to_be_bytes());
                }
                data.extend(text);
                // A stand-in for the WLT face image: any bytes will do, it is never decoded.
                data.extend((0..PHOTO_LEN).map(|i| (i * 7) as u8));
                if command == Command::ReadTextPhotoFingerprint {
                    data.extend(std::iter::repeat_n(0x5A, PHOTO_LEN));
                }
                self.read_since_placed = true;
                Reply::encode(SamStatus::Ok, &data)
            }
            Command::ReadExtraAddress => match self.card() {
                Some(_) => Reply::encode(SamStatus::NoContent, &[]),
                None => Reply::encode(SamStatus::CardOperationFailed, &[]),
            },
        }
    }

    /// The bytes actually sent: the reply with the next fault applied.
    fn respond(&mut self, body: &[u8]) -> Vec<u8> {
        let fault = match self.faults.front() {
            Some(ReaderFault::CardRemovedMidRead) => None,
            Some(_) => self.faults.pop_front(),
            None => None,
        };
        let mut reply = self.answer(body);
        match fault {
            None => reply,
            Some(ReaderFault::Garbage) => {
                let mut noisy = vec![0x00, 0xAA, 0xAA, 0x13, 0x96, 0xFF, 0x69];
                noisy.append(&mut reply);
                noisy
            }
            Some(ReaderFault::Truncate) => {
                reply.truncate(reply.len() / 2);
                reply
            }
            Some(ReaderFault::BadChecksum) => {
                if let Some(last) = reply.last_mut() {
                    *last ^= 0x5A;
                }
                reply
            }
            Some(ReaderFault::Silence) | Some(ReaderFault::CardRemovedMidRead) => Vec::new(),
        }
    }
}

struct Plugged {
    _thread: DeviceThread,
}

/// The simulated reader. `unplug` and `replug` make its port vanish and come back at the same
/// path, as a USB-serial adapter does.
pub struct CardReaderSim {
    state: Arc<Mutex<SimReaderState>>,
    link: PathBuf,
    plugged: Option<Plugged>,
}

impl CardReaderSim {
    /// Starts the reader with `cards` available (none on the reader yet). The port appears as
    /// a symlink at `link`.
    pub fn start(cards: Vec<TestCard>, link: &Path) -> io::Result<Self> {
        let state = Arc::new(Mutex::new(SimReaderState {
            cards,
            ..SimReaderState::default()
        }));
        let mut sim = Self {
            state,
            link: link.to_path_buf(),
            plugged: None,
        };
        sim.replug()?;
        Ok(sim)
    }

    pub fn port_path(&self) -> String {
        self.link.to_string_lossy().into_owned()
    }

    pub fn update<T>(&self, change: impl FnOnce(&mut SimReaderState) -> T) -> T {
        change(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Lays card `index` on the reader.
    pub fn place(&self, index: usize) {
        self.update(|s| {
            s.on_reader = Some(index);
            s.read_since_placed = false;
        });
    }

    pub fn remove_card(&self) {
        self.update(|s| s.on_reader = None);
    }

    pub fn inject(&self, fault: ReaderFault) {
        self.update(|s| s.faults.push_back(fault));
    }

    /// Closes the pty: the driver's next read or write fails as with a pulled cable.
    pub fn unplug(&mut self) {
        self.plugged = None;
        let _ = std::fs::remove_file(&self.link);
    }

    /// A fresh pty pair behind the same path.
    pub fn replug(&mut self) -> io::Result<()> {
        self.unplug();
        let pty = SimPty::open(Some(&self.link))?;
        let state = Arc::clone(&self.state);
        let thread = DeviceThread::spawn("idcard-sim", move |stop| {
            let mut decoder = FrameDecoder::new();
            pty.pump(&stop, |master, bytes| {
                decoder.push(bytes);
                while let Some(frame) = decoder.next_frame() {
                    let reply = match frame {
                        Ok(body) => state
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .respond(&body),
                        Err(FrameError::BadChecksum { .. }) => {
                            Reply::encode(SamStatus::ChecksumError, &[])
                        }
                        Err(FrameError::BadLength(_)) => Reply::encode(SamStatus::LengthError, &[]),
                    };
                    let _ = master.write_all(&reply);
                }
            });
        })?;
        self.plugged = Some(Plugged { _thread: thread });
        Ok(())
    }
}

impl Drop for CardReaderSim {
    fn drop(&mut self) {
        self.unplug();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_texts_carry_their_layout_marker() {
        let markers: Vec<[u8; 2]> = TestCard::examples()
            .iter()
            .map(|c| {
                let t = c.text();
                [t[248], t[249]]
            })
            .collect();
        assert_eq!(markers, [[0x20, 0], [b'J', 0], [b'I', 0], [b'Y', 0]]);
    }

    #[test]
    fn sam_id_reply_carries_the_real_sixteen_byte_layout() {
        let mut state = SimReaderState::default();
        let mut decoder = FrameDecoder::new();
        decoder.push(&state.respond(&Command::SamId.code()));
        let reply = Reply::from_body(decoder.next_frame().unwrap().unwrap()).unwrap();
        // 5 and 1 as 16-bit, then 20261127, 42 and 10017 as 32-bit numbers, little-endian.
        assert_eq!(
            *reply.data,
            [
                0x05, 0x00, 0x01, 0x00, 0x07, 0x29, 0x35, 0x01, 0x2A, 0x00, 0x00, 0x00, 0x21, 0x27,
                0x00, 0x00
            ]
        );
    }

    #[test]
    fn find_stops_succeeding_after_a_read_until_the_card_is_laid_again() {
        let mut state = SimReaderState {
            cards: TestCard::examples(),
            on_reader: Some(0),
            ..SimReaderState::default()
        };
        let status = |frame: Vec<u8>| {
            let mut d = FrameDecoder::new();
            d.push(&frame);
            Reply::from_body(d.next_frame().unwrap().unwrap())
                .unwrap()
                .status
        };
        assert_eq!(
            status(state.respond(&Command::FindCard.code())),
            SamStatus::FindOk
        );
        assert_eq!(
            status(state.respond(&Command::ReadTextPhoto.code())),
            SamStatus::Ok
        );
        assert_eq!(
            status(state.respond(&Command::FindCard.code())),
            SamStatus::NoCard
        );
        assert_eq!(
            status(state.respond(&[0x77, 0x01])),
            SamStatus::CommandError
        );
    }
}

/// The card-text parser read against this simulator's cards, which follow the reader manual's layouts.
#[cfg(test)]
mod card_text_tests {
    use chrono::NaiveDate;

    use super::TestCard;
    use crate::devices::idcard::card_text::*;
    use crate::identity::mask_name;

    #[test]
    fn parses_each_layout() {
        for card in TestCard::examples() {
            let facts = parse_card_text(&card.text()).unwrap();
            assert_eq!(facts.kind, card.kind, "{}", card.label);
            assert_eq!(facts.card.id_number(), card.id_number);
            assert_eq!(facts.birth_date, Some(card.birth));
            assert_eq!(facts.card.masked_name(), mask_name(&card.display_name()));
        }
    }

    #[test]
    fn resident_card_details() {
        let card = TestCard::resident();
        let facts = parse_card_text(&card.text()).unwrap();
        assert_eq!(facts.card.masked_name(), "张*三");
        assert_eq!(facts.sex, Sex::Male);
        assert_eq!(facts.valid_to, ValidTo::LongTerm);
        assert_eq!(facts.nationality, None);
        assert!(!facts.is_expired_on(NaiveDate::from_ymd_opt(2099, 1, 1).unwrap()));
    }

    #[test]
    fn facts_never_carry_the_number_or_name() {
        for card in TestCard::examples() {
            let facts = parse_card_text(&card.text()).unwrap();
            let shown = format!("{facts:?}{}", serde_json::to_string(&facts).unwrap());
            assert!(!shown.contains(&card.id_number), "{}", card.label);
            assert!(!shown.contains(&card.display_name()), "{}", card.label);
        }
    }

    fn put(text: &mut [u8], at: usize, len: usize, value: &str) {
        let units: Vec<u16> = value.encode_utf16().collect();
        for i in 0..len / 2 {
            let unit = units.get(i).copied().unwrap_or(0x20);
            text[at + 2 * i..at + 2 * i + 2].copy_from_slice(&unit.to_le_bytes());
        }
    }

    #[test]
    fn wrong_check_character_is_refused() {
        let mut text = TestCard::resident().text();
        let mut number = TestCard::resident().id_number;
        let last = if number.ends_with('0') { "1" } else { "0" };
        number.replace_range(17.., last);
        put(&mut text, 122, 36, &number);
        assert_eq!(
            parse_card_text(&text),
            Err(CardTextError::BadCheckCharacter)
        );
    }

    #[test]
    fn each_bad_field_has_its_error() {
        let good = TestCard::resident().text();
        let cases: [(usize, usize, &str, CardTextError); 6] = [
            (
                36,
                16,
                "19901399",
                CardTextError::BadDate { field: "birth" },
            ),
            (30, 2, "5", CardTextError::BadSex),
            (0, 30, "", CardTextError::Missing { field: "name" }),
            (
                204,
                16,
                "someday",
                CardTextError::BadDate { field: "valid to" },
            ),
            (122, 36, "12345", CardTextError::BadIdShape),
            (248, 2, "Q", CardTextError::UnknownLayout("Q".into())),
        ];
        for (at, len, value, expected) in cases {
            let mut text = good;
            put(&mut text, at, len, value);
            assert_eq!(parse_card_text(&text), Err(expected));
        }
        assert_eq!(
            parse_card_text(&good[..255]),
            Err(CardTextError::WrongSize(255))
        );
        let mut lone_surrogate = good;
        lone_surrogate[0..2].copy_from_slice(&0xD800u16.to_le_bytes());
        assert_eq!(
            parse_card_text(&lone_surrogate),
            Err(CardTextError::NotText { field: "name" })
        );
    }

    #[test]
    fn birth_field_must_match_the_number() {
        let mut text = TestCard::resident().text();
        put(&mut text, 36, 16, "19900102");
        assert_eq!(parse_card_text(&text), Err(CardTextError::BirthMismatch));
    }

    #[test]
    fn a_foreign_card_is_never_read_with_the_resident_layout() {
        let card = TestCard::foreign_2017();
        let facts = parse_card_text(&card.text()).unwrap();
        assert_eq!(facts.kind, CardKind::ForeignPermanent2017);
        assert_eq!(facts.nationality.as_deref(), Some("USA"));
        let mut as_resident = card.text();
        put(&mut as_resident, 248, 2, "");
        assert!(parse_card_text(&as_resident).is_err());
    }
}
