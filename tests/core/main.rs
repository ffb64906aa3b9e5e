//! The queue, its store and the engine: lifecycle, policy, business days, replay, power loss, and the
//! hall's configuration. One test binary per area, so the suite links the crate a few times, not once
//! per file.

#[path = "../common/mod.rs"]
mod common;
#[path = "../lan_support/mod.rs"]
mod lan_support;

mod business_day;
mod config_check;
mod crash;
mod encryption;
mod lifecycle;
mod policy;
mod ratings;
mod replay;
mod retention;
mod staff_sign_in;
mod store;
