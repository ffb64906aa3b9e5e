//! Pairing and device tokens.
//!
//! A terminal is paired once with a one-time code, gets a device token, and from then on its role
//! decides what it may send:
//!
//! - [`roles`]: the role table, what each kind of terminal may send;
//! - [`registry`]: the terminal registry in the hall's database (pairing codes, hashed device tokens,
//!   listing and revoking);
//! - [`limiter`]: pairing pauses after a run of wrong codes.

pub mod limiter;
pub mod registry;
pub mod roles;

pub use limiter::PairingGuard;
pub use registry::{Device, PairedDevice, PairingError, Registry, RevokeError, Seen, TokenHash};
pub use roles::{Role, RoleError};
