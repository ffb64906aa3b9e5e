//! The serial devices: the real drivers against the simulators over pty pairs, their reports as the
//! engine's events, a kiosk board's devices over the LAN, and the byte parsers under proptest.

#[path = "../common/mod.rs"]
mod common;
#[path = "../device_support/mod.rs"]
mod device_support;
#[path = "../lan_support/mod.rs"]
mod lan_support;

mod device_events;
mod idcard_pty;
mod kiosk_devices;
mod parsers_prop;
mod printer_pty;
