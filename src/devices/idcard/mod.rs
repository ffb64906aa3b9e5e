//! The second-generation ID-card reader: SAM serial frames, card text layouts, a polling reader
//! and a simulator. Only [`CardFacts`] leave this module: the photo never does, and the ID number
//! and name only inside the [`crate::identity::CardRead`] the kiosk sends to the hall node.

pub mod card_text;
pub mod frame;
pub mod poller;
pub mod reader;
#[cfg(feature = "sim")]
pub mod sim;

pub use crate::config::idcard::IdCardReaderConfig;
pub use card_text::{CardFacts, CardKind, CardTextError, Sex, ValidTo};
pub use poller::spawn_card_reader;
pub use reader::{ReaderError, SamReader};

/// Fuzz and property-test entry point: any bytes through the frame decoder and the card-text
/// parser. Returns how many frames were decoded; must never panic.
pub fn parse_untrusted(bytes: &[u8]) -> usize {
    let mut decoder = frame::FrameDecoder::new();
    let mut frames = 0;
    for chunk in bytes.chunks(97) {
        decoder.push(chunk);
        while let Some(result) = decoder.next_frame() {
            if let Ok(body) = result {
                frames += 1;
                let _ = frame::Reply::from_body(body);
            }
        }
        assert!(decoder.buffered() <= frame::MAX_FRAME + 97);
    }
    for text in bytes.chunks(card_text::TEXT_LEN) {
        let _ = card_text::parse_card_text(text);
    }
    frames
}
