//! SAM frames: `AA AA AA 96 69 | LEN_H LEN_L | body | CHK`, LEN counting body and CHK, CHK the XOR
//! of LEN_H through the body. The decoder finds frames in a byte stream, skipping garbage, and
//! never holds more than one frame's worth of bytes.
//!
//! A read reply carries the card text (name, ID number, dates) and the face image, so every
//! buffer here is wiped before it is freed: the decoder's own as it grows and when it is dropped,
//! and each frame body and reply as it is dropped.

use zeroize::{Zeroize, Zeroizing};

pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
/// Largest LEN accepted: a text + photo + fingerprint reply (3 + 6 + 256 + 1024 + 1024 + 1)
/// with room to spare. Anything longer is a corrupt length.
pub const MAX_LEN: usize = 2400;
/// The smallest useful LEN: CMD PARA and CHK.
pub const MIN_LEN: usize = 3;
pub const MAX_FRAME: usize = PREAMBLE.len() + 2 + MAX_LEN;

/// Builds a frame around `body`. Panics only if the caller builds a body over [`MAX_LEN`].
pub fn encode(body: &[u8]) -> Vec<u8> {
    let len = body.len() + 1;
    assert!(len <= MAX_LEN, "SAM frame body of {} bytes", body.len());
    let mut frame = Vec::with_capacity(PREAMBLE.len() + 2 + len);
    frame.extend_from_slice(&PREAMBLE);
    frame.extend_from_slice(&(len as u16).to_be_bytes());
    frame.extend_from_slice(body);
    let chk = checksum(&frame[PREAMBLE.len()..]);
    frame.push(chk);
    frame
}

pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
pub enum FrameError {
    #[error("frame checksum {found:#04x} does not match {expected:#04x}")]
    BadChecksum { expected: u8, found: u8 },
    #[error("frame length {0} is out of range ({MIN_LEN}..={MAX_LEN})")]
    BadLength(usize),
}

/// Finds frames in whatever the serial port delivers.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    skipped: usize,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes; call [`next_frame`](Self::next_frame) until it returns `None` after each push.
    /// Grows into a fresh allocation and wipes the old one: a plain `extend` would leave a copy of
    /// whatever card text it held in freed memory.
    pub fn push(&mut self, bytes: &[u8]) {
        let needed = self.buf.len() + bytes.len();
        if needed > self.buf.capacity() {
            let mut grown = Vec::with_capacity(needed.max(2 * self.buf.capacity()));
            grown.extend_from_slice(&self.buf);
            self.buf.zeroize();
            self.buf = grown;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held, waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Garbage bytes thrown away so far while looking for a preamble.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Clears and overwrites the whole allocation, past its length too: after a card read it held
    /// the card text and the face image.
    pub fn wipe(&mut self) {
        self.buf.zeroize();
    }

    /// The next frame's body, an error for a broken frame (whose preamble is then skipped, so
    /// the search goes on just after it), or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Zeroizing<Vec<u8>>, FrameError>> {
        let start = match find_preamble(&self.buf) {
            Some(start) => start,
            None => {
                // Keep a tail that could be the start of a preamble split across reads.
                let keep = partial_preamble_suffix(&self.buf);
                self.drop_front(self.buf.len() - keep, true);
                return None;
            }
        };
        self.drop_front(start, true);
        let header = PREAMBLE.len() + 2;
        if self.buf.len() < header {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([self.buf[5], self.buf[6]]));
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            self.drop_front(1, false);
            return Some(Err(FrameError::BadLength(len)));
        }
        if self.buf.len() < header + len {
            return None;
        }
        let expected = checksum(&self.buf[PREAMBLE.len()..header + len - 1]);
        let found = self.buf[header + len - 1];
        if expected != found {
            self.drop_front(1, false);
            return Some(Err(FrameError::BadChecksum { expected, found }));
        }
        let body = Zeroizing::new(self.buf[header..header + len - 1].to_vec());
        self.drop_front(header + len, false);
        Some(Ok(body))
    }

    fn drop_front(&mut self, n: usize, garbage: bool) {
        if garbage {
            self.skipped += n;
        }
        self.buf.drain(..n);
    }
}

impl Drop for FrameDecoder {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

fn find_preamble(buf: &[u8]) -> Option<usize> {
    buf.windows(PREAMBLE.len()).position(|w| w == PREAMBLE)
}

fn partial_preamble_suffix(buf: &[u8]) -> usize {
    (1..PREAMBLE.len())
        .rev()
        .find(|&n| buf.len() >= n && buf[buf.len() - n..] == PREAMBLE[..n])
        .unwrap_or(0)
}

/// Commands the reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    ResetSam,
    SamStatus,
    SamId,
    FindCard,
    SelectCard,
    ReadTextPhoto,
    ReadExtraAddress,
    ReadTextPhotoFingerprint,
}

impl Command {
    pub const ALL: [Command; 8] = [
        Command::ResetSam,
        Command::SamStatus,
        Command::SamId,
        Command::FindCard,
        Command::SelectCard,
        Command::ReadTextPhoto,
        Command::ReadExtraAddress,
        Command::ReadTextPhotoFingerprint,
    ];

    pub fn code(self) -> [u8; 2] {
        match self {
            Command::ResetSam => [0x10, 0xFF],
            Command::SamStatus => [0x11, 0xFF],
            Command::SamId => [0x12, 0xFF],
            Command::FindCard => [0x20, 0x01],
            Command::SelectCard => [0x20, 0x02],
            Command::ReadTextPhoto => [0x30, 0x01],
            Command::ReadExtraAddress => [0x30, 0x03],
            Command::ReadTextPhotoFingerprint => [0x30, 0x10],
        }
    }

    pub fn from_code(code: [u8; 2]) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn frame(self) -> Vec<u8> {
        encode(&self.code())
    }

    /// The status byte that means success for this command.
    pub fn success(self) -> u8 {
        match self {
            Command::FindCard => 0x9F,
            _ => 0x90,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Command::ResetSam => "reset SAM",
            Command::SamStatus => "SAM status",
            Command::SamId => "read SAM id",
            Command::FindCard => "find card",
            Command::SelectCard => "select card",
            Command::ReadTextPhoto => "read text and photo",
            Command::ReadExtraAddress => "read extra address",
            Command::ReadTextPhotoFingerprint => "read text, photo and fingerprint",
        }
    }
}

/// The security module's id, as readers and host programs print it:
/// `05.01-20101028-0000123456-1234567890`. Its 16 bytes are two 16-bit numbers and three 32-bit
/// numbers, all little-endian; the first 32-bit number is a date written as the decimal YYYYMMDD.
/// This is the layout public host programs read, e.g. `SAMSerial.ExtractSafeModuleNumber` in
/// HslCommunication (github.com/dathlin/HslCommunication, `Profinet/IDCard/SAMSerial.cs`), which
/// prints the same five fields from the same offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamId {
    pub head: [u16; 2],
    pub date: u32,
    pub numbers: [u32; 2],
}

impl SamId {
    pub const LEN: usize = 16;

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; Self::LEN] = bytes.try_into().ok()?;
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Some(Self {
            head: [u16_at(0), u16_at(2)],
            date: u32_at(4),
            numbers: [u32_at(8), u32_at(12)],
        })
    }

    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let mut bytes = [0u8; Self::LEN];
        bytes[0..2].copy_from_slice(&self.head[0].to_le_bytes());
        bytes[2..4].copy_from_slice(&self.head[1].to_le_bytes());
        bytes[4..8].copy_from_slice(&self.date.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.numbers[0].to_le_bytes());
        bytes[12..16].copy_from_slice(&self.numbers[1].to_le_bytes());
        bytes
    }
}

impl std::fmt::Display for SamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}.{:02}-{:08}-{:010}-{:010}",
            self.head[0], self.head[1], self.date, self.numbers[0], self.numbers[1]
        )
    }
}

/// The SW3 status byte of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, thiserror::Error)]
pub enum SamStatus {
    #[error("success")]
    Ok,
    #[error("card found")]
    FindOk,
    #[error("no such content on the card")]
    NoContent,
    #[error("no card on the reader")]
    NoCard,
    #[error("the card could not be selected")]
    SelectFailed,
    #[error("the card operation failed; was the card moved away?")]
    CardOperationFailed,
    #[error("unknown card type")]
    UnknownCardType,
    #[error("the card did not accept the security module")]
    CardAuthenticationFailed,
    #[error("the security module did not accept the card")]
    SamAuthenticationFailed,
    #[error("the card's data failed its check")]
    DataCheckFailed,
    #[error("the card's random number could not be read")]
    RandomNumberFailed,
    #[error("the security module failed its self-test")]
    SamSelfTestFailed,
    #[error("the security module is not authorised")]
    SamNotAuthorised,
    #[error("the reader saw a bad checksum in our command")]
    ChecksumError,
    #[error("the reader saw a bad length in our command")]
    LengthError,
    #[error("the reader does not know the command")]
    CommandError,
    #[error("the command is not permitted")]
    NotPermitted,
    #[error("the reader reports an unknown error")]
    UnknownError,
    #[error("unrecognised status byte {0:#04x}")]
    Unrecognised(u8),
}

impl SamStatus {
    pub fn from_byte(byte: u8) -> Self {
        match byte {
            0x90 => SamStatus::Ok,
            0x9F => SamStatus::FindOk,
            0x91 => SamStatus::NoContent,
            0x80 => SamStatus::NoCard,
            0x81 => SamStatus::SelectFailed,
            0x41 => SamStatus::CardOperationFailed,
            0x40 => SamStatus::UnknownCardType,
            0x31 => SamStatus::CardAuthenticationFailed,
            0x32 => SamStatus::SamAuthenticationFailed,
            0x33 => SamStatus::DataCheckFailed,
            0x47 => SamStatus::RandomNumberFailed,
            0x60 => SamStatus::SamSelfTestFailed,
            0x66 => SamStatus::SamNotAuthorised,
            0x10 => SamStatus::ChecksumError,
            0x11 => SamStatus::LengthError,
            0x21 => SamStatus::CommandError,
            0x23 => SamStatus::NotPermitted,
            0x24 => SamStatus::UnknownError,
            other => SamStatus::Unrecognised(other),
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            SamStatus::Ok => 0x90,
            SamStatus::FindOk => 0x9F,
            SamStatus::NoContent => 0x91,
            SamStatus::NoCard => 0x80,
            SamStatus::SelectFailed => 0x81,
            SamStatus::CardOperationFailed => 0x41,
            SamStatus::UnknownCardType => 0x40,
            SamStatus::CardAuthenticationFailed => 0x31,
            SamStatus::SamAuthenticationFailed => 0x32,
            SamStatus::DataCheckFailed => 0x33,
            SamStatus::RandomNumberFailed => 0x47,
            SamStatus::SamSelfTestFailed => 0x60,
            SamStatus::SamNotAuthorised => 0x66,
            SamStatus::ChecksumError => 0x10,
            SamStatus::LengthError => 0x11,
            SamStatus::CommandError => 0x21,
            SamStatus::NotPermitted => 0x23,
            SamStatus::UnknownError => 0x24,
            SamStatus::Unrecognised(other) => other,
        }
    }

    /// Faults of the reader itself rather than of the card on it.
    pub fn is_sam_fault(self) -> bool {
        matches!(
            self,
            SamStatus::SamSelfTestFailed | SamStatus::SamNotAuthorised
        )
    }
}

/// A reply: `SW1 SW2 SW3 [data]`. Its data is wiped when the reply is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub sw1: u8,
    pub sw2: u8,
    pub status: SamStatus,
    pub data: Zeroizing<Vec<u8>>,
}

impl Reply {
    pub fn from_body(body: Zeroizing<Vec<u8>>) -> Result<Self, FrameError> {
        if body.len() < 3 {
            return Err(FrameError::BadLength(body.len() + 1));
        }
        let (sw1, sw2, sw3) = (body[0], body[1], body[2]);
        // The data stays in the frame's own allocation (no copy), so wiping it wipes all of it.
        let mut data = body;
        data.copy_within(3.., 0);
        let len = data.len() - 3;
        data.truncate(len);
        Ok(Self {
            sw1,
            sw2,
            status: SamStatus::from_byte(sw3),
            data,
        })
    }

    pub fn encode(status: SamStatus, data: &[u8]) -> Vec<u8> {
        let mut body = vec![0x00, 0x00, status.byte()];
        body.extend_from_slice(data);
        encode(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_frames_match_the_protocol_table() {
        let table: [(Command, [u8; 5]); 8] = [
            (Command::ResetSam, [0x00, 0x03, 0x10, 0xFF, 0xEC]),
            (Command::SamStatus, [0x00, 0x03, 0x11, 0xFF, 0xED]),
            (Command::SamId, [0x00, 0x03, 0x12, 0xFF, 0xEE]),
            (Command::FindCard, [0x00, 0x03, 0x20, 0x01, 0x22]),
            (Command::SelectCard, [0x00, 0x03, 0x20, 0x02, 0x21]),
            (Command::ReadTextPhoto, [0x00, 0x03, 0x30, 0x01, 0x32]),
            (Command::ReadExtraAddress, [0x00, 0x03, 0x30, 0x03, 0x30]),
            (
                Command::ReadTextPhotoFingerprint,
                [0x00, 0x03, 0x30, 0x10, 0x23],
            ),
        ];
        for (command, tail) in table {
            let mut expected = PREAMBLE.to_vec();
            expected.extend(tail);
            assert_eq!(command.frame(), expected, "{}", command.name());
        }
    }

    #[test]
    fn captured_replies_decode() {
        let find_ok = [
            0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x08, 0x00, 0x00, 0x9F, 0x00, 0x00, 0x00, 0x00,
            0x97,
        ];
        let no_card = [
            0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04, 0x00, 0x00, 0x80, 0x84,
        ];
        let mut decoder = FrameDecoder::new();
        decoder.push(&find_ok);
        decoder.push(&no_card);
        let first = Reply::from_body(decoder.next_frame().unwrap().unwrap()).unwrap();
        assert_eq!(first.status, SamStatus::FindOk);
        assert_eq!(*first.data, [0, 0, 0, 0]);
        let second = Reply::from_body(decoder.next_frame().unwrap().unwrap()).unwrap();
        assert_eq!(second.status, SamStatus::NoCard);
        assert!(decoder.next_frame().is_none());
        assert_eq!(decoder.buffered(), 0);
        assert_eq!(Reply::encode(SamStatus::NoCard, &[]), no_card);
        assert_eq!(Reply::encode(SamStatus::FindOk, &[0; 4]), find_ok);
    }

    #[test]
    fn resynchronises_after_garbage_and_a_split_preamble() {
        let frame = Reply::encode(SamStatus::Ok, &[1, 2, 3]);
        let mut decoder = FrameDecoder::new();
        decoder.push(&[0x00, 0xAA, 0x13, 0xAA, 0xAA]);
        assert!(decoder.next_frame().is_none());
        decoder.push(&[0xAA, 0xAA]);
        assert!(decoder.next_frame().is_none());
        assert!(decoder.buffered() <= 4);
        decoder.push(&frame[..3]);
        assert!(decoder.next_frame().is_none());
        decoder.push(&frame[3..]);
        let body = decoder.next_frame().unwrap().unwrap();
        assert_eq!(*Reply::from_body(body).unwrap().data, [1, 2, 3]);
        assert_eq!(decoder.skipped(), 7);
    }

    #[test]
    fn bad_checksum_is_reported_and_the_next_frame_still_found() {
        let mut broken = Reply::encode(SamStatus::Ok, &[9]);
        *broken.last_mut().unwrap() ^= 0xFF;
        let good = Reply::encode(SamStatus::NoCard, &[]);
        let mut decoder = FrameDecoder::new();
        decoder.push(&broken);
        decoder.push(&good);
        assert!(matches!(
            decoder.next_frame(),
            Some(Err(FrameError::BadChecksum { .. }))
        ));
        let body = decoder.next_frame().unwrap().unwrap();
        assert_eq!(Reply::from_body(body).unwrap().status, SamStatus::NoCard);
    }

    #[test]
    fn impossible_lengths_are_rejected_without_waiting() {
        for len in [[0x00, 0x00], [0x00, 0x02], [0xFF, 0xFF]] {
            let mut decoder = FrameDecoder::new();
            decoder.push(&PREAMBLE);
            decoder.push(&len);
            assert!(matches!(
                decoder.next_frame(),
                Some(Err(FrameError::BadLength(_)))
            ));
            assert!(decoder.next_frame().is_none());
        }
    }

    #[test]
    fn truncated_frame_waits_for_more() {
        let frame = Reply::encode(SamStatus::Ok, &[0; 100]);
        let mut decoder = FrameDecoder::new();
        decoder.push(&frame[..50]);
        assert!(decoder.next_frame().is_none());
        assert_eq!(decoder.buffered(), 50);
    }

    #[test]
    fn every_status_byte_round_trips_with_a_message() {
        for byte in 0..=255u8 {
            let status = SamStatus::from_byte(byte);
            assert_eq!(status.byte(), byte);
            assert!(!status.to_string().is_empty());
        }
        assert_eq!(
            SamStatus::from_byte(0x66).to_string(),
            "the security module is not authorised"
        );
    }

    #[test]
    fn sam_id_reads_in_the_host_programs_layout() {
        let bytes = [
            0x05, 0x00, 0x01, 0x00, 0xA4, 0xB7, 0x32, 0x01, 0x40, 0xE2, 0x01, 0x00, 0xD2, 0x02,
            0x96, 0x49,
        ];
        let id = SamId::from_bytes(&bytes).unwrap();
        assert_eq!(id.to_string(), "05.01-20101028-0000123456-1234567890");
        assert_eq!(id.to_bytes(), bytes);
        assert_eq!(SamId::from_bytes(&bytes[..15]), None);
    }

    #[test]
    fn reply_shorter_than_its_status_words_is_an_error() {
        assert!(Reply::from_body(Zeroizing::new(vec![0, 0])).is_err());
    }
}
