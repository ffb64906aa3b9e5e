//! Property tests of the two byte-stream parsers, through the same entry points as the cargo-fuzz
//! targets in `fuzz/`: no input makes them panic or grow their buffers without bound.

use hallq::devices::idcard::card_text::{TEXT_LEN, parse_card_text};
use hallq::devices::idcard::frame::{FrameDecoder, MAX_LEN, encode};
use hallq::devices::idcard::parse_untrusted;
use hallq::devices::idcard::sim::TestCard;
use hallq::devices::printer::bench::example_ticket;
use hallq::devices::printer::escpos_ticket::ticket_bytes;
use hallq::devices::printer::sim::interpret::{
    EscPosInterpreter, PrinterInput, interpret_untrusted,
};
use hallq::devices::printer::{PrinterConfig, TicketTextConfig};
use proptest::prelude::*;

fn decode_all(chunks: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut decoder = FrameDecoder::new();
    let mut bodies = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(frame) = decoder.next_frame() {
            if let Ok(body) = frame {
                bodies.push(body.to_vec());
            }
        }
    }
    bodies
}

proptest! {
    #[test]
    fn sam_parser_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..6000)) {
        parse_untrusted(&bytes);
    }

    #[test]
    fn sam_frames_survive_garbage_and_any_split(
        garbage in proptest::collection::vec(any::<u8>().prop_filter("no preamble byte", |b| *b != 0xAA), 0..64),
        body in proptest::collection::vec(any::<u8>(), 2..MAX_LEN),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut stream = garbage;
        stream.extend(encode(&body));
        let at = cut.index(stream.len() + 1);
        let chunks = vec![stream[..at].to_vec(), stream[at..].to_vec()];
        prop_assert_eq!(decode_all(&chunks), vec![body]);
    }

    #[test]
    fn card_text_parser_never_panics_on_mutated_cards(
        which in 0usize..4,
        flips in proptest::collection::vec((0usize..TEXT_LEN, any::<u8>()), 0..12),
    ) {
        let mut text = TestCard::examples()[which].text();
        for (at, byte) in flips {
            text[at] = byte;
        }
        if let Ok(facts) = parse_card_text(&text) {
            // Whatever passes has the form the hall node takes.
            prop_assert!(hallq::identity::check_id_number(facts.card.id_number()).is_ok());
        }
    }

    #[test]
    fn escpos_interpreter_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..12000)) {
        interpret_untrusted(&bytes);
    }

    #[test]
    fn escpos_ticket_reads_the_same_however_it_is_split(cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let bytes = ticket_bytes(&example_ticket(), &TicketTextConfig::default(), &PrinterConfig::default()).unwrap();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len())).collect();
        points.sort_unstable();
        let mut interpreter = EscPosInterpreter::new();
        let mut tickets = Vec::new();
        let mut start = 0;
        for end in points.into_iter().chain([bytes.len()]) {
            tickets.extend(interpreter.feed(&bytes[start..end]));
            start = end;
        }
        let whole = EscPosInterpreter::new().feed(&bytes);
        prop_assert_eq!(tickets, whole);
        prop_assert!(matches!(EscPosInterpreter::new().feed(&bytes).as_slice(), [PrinterInput::Cut(_)]));
    }
}

/// Found beyond libFuzzer's default 4,096-byte inputs: a Chinese-mode line of bytes GB18030
/// rejects was never wrapped, grew without bound and broke the interpreter's buffer bound.
#[test]
fn escpos_regression_long_chinese_line_of_rejected_bytes() {
    let mut bytes = vec![0x1C, 0x26];
    bytes.extend(std::iter::repeat_n(0xFF, 7671));
    interpret_untrusted(&bytes);
}
