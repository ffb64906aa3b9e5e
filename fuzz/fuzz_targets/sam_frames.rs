//! Any bytes from an ID-card reader: frame decoder, reply parsing and the card-text layouts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hallq::devices::idcard::parse_untrusted(data);
});
