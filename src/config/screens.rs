//! `[screens]`: how the kiosk, the window panels and the display wall look and time out.

use serde::{Deserialize, Serialize};

use crate::lang::Localized;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    /// 1080×1920, the usual standing kiosk.
    #[default]
    Portrait,
    /// 1920×1080.
    Landscape,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreensConfig {
    pub kiosk_orientation: Orientation,
    /// How long a ticket or a message stays on the kiosk before it returns home by itself.
    pub kiosk_return_seconds: u32,
    /// How long the rating screen waits before the visit is recorded as unrated.
    pub rating_timeout_seconds: u32,
    /// How many times the wall blinks a new call.
    pub call_blinks: u32,
    /// Recent calls listed on the wall beside the latest one.
    pub recent_calls: u32,
    /// Big halls: one line per window on the wall instead of the recent calls.
    pub per_window_layout: bool,
    /// The wall's scrolling notice; empty means a general notice in the screen's language.
    pub notice: Localized,
}

impl Default for ScreensConfig {
    fn default() -> Self {
        ScreensConfig {
            kiosk_orientation: Orientation::Portrait,
            kiosk_return_seconds: 15,
            rating_timeout_seconds: 30,
            call_blinks: 5,
            recent_calls: 6,
            per_window_layout: false,
            notice: Localized::new(),
        }
    }
}
