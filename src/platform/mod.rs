//! The link to the prefecture's government-service platform: the hall's events go up, each exactly
//! once, in order, signed (docs/platform.md).
//!
//! `wire` holds the types the platform receives, built from domain events by a function that leaves
//! out by type what the platform must not get; `signing` signs and checks requests; `tls` pins the platform's certificate; `uplink` is the
//! hall's uploader; `downlink` pulls the hall's bookings (their types in `booking_wire`); `receiver` is
//! the reference receiver of the platform's side; `openapi` describes the protocol
//! (`docs/platform-openapi.yaml`).

pub mod booking_wire;
pub mod downlink;
mod exchange;
pub mod openapi;
pub mod receiver;
pub mod signing;
pub mod tls;
pub mod uplink;
pub mod wire;
