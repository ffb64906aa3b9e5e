//! hallq: the firmware of a government service hall's queue terminals.
//!
//! The crate is laid out as the architecture: `queue` is the pure domain (no I/O), `store` persists
//! the event log and state in SQLite, `engine` is the single writer that turns commands into events,
//! and `devices` holds the serial hardware behind small traits, each with a simulator twin.

pub mod bench;
pub mod buttons;
pub mod cli;
pub mod clock;
pub mod config;
pub mod devices;
pub mod engine;
pub mod identity;
pub mod lan;
pub mod lang;
pub mod node;
pub mod platform;
pub mod ports;
pub mod queue;
pub mod retry;
pub mod store;
pub mod ui;
pub mod voice;
