//! `[staff]`: how staff prove who they are when they sign in at a window.

use serde::{Deserialize, Serialize};

/// What a sign-in at a window takes besides the staff number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInBy {
    /// The staff number alone: for a hall that has not yet given its staff PINs.
    #[default]
    Number,
    /// The staff number and the PIN set with `hallq staff set-pin`.
    Pin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffConfig {
    pub sign_in: SignInBy,
    /// Wrong PINs in a row before a staff number is locked.
    pub pin_attempts: u32,
    /// How long a locked staff number stays locked.
    pub lockout_minutes: u32,
}

impl Default for StaffConfig {
    fn default() -> Self {
        StaffConfig {
            sign_in: SignInBy::Number,
            pin_attempts: 5,
            lockout_minutes: 15,
        }
    }
}
