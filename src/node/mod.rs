//! The composition root: reads a board's roles and assembles it (engine or LAN client, screens,
//! devices, buttons, voice, watchdog, shutdown). Nothing else wires parts together.
//!
//! - [`run`]: `hallq run`, from the settings the command line gives;
//! - [`hall`]: the hall node's LAN server, a terminal's LAN client, buttons and voice;
//! - [`platform`]: the platform link (and the demo's own receiver);
//! - [`demo`]: the demo hall, one more assembly with simulated devices and citizens;
//! - [`watchdog`]: systemd readiness and liveness.

pub mod demo;
pub mod hall;
pub mod platform;
pub mod run;
pub mod watchdog;
