//! Any bytes sent to the printer simulator's ESC/POS interpreter.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hallq::devices::printer::sim::interpret::interpret_untrusted(data);
});
