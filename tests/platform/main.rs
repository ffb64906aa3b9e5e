//! The platform link over real loopback HTTP: the hall's uploader against the reference receiver,
//! both on real SQLite files, with a stand-in platform in between that fails on cue.

#[path = "../common/mod.rs"]
mod common;
mod platform_support;

mod platform_bookings;
mod platform_clock;
mod platform_delivery;
mod platform_faults;
mod platform_ratings;
mod platform_signatures;
mod platform_tls;
