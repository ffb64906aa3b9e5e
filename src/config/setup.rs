//! The hall's file as typed structs, and the setup derived from it once it passed every check.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hours::{ClockTime, OpeningHours};
use super::screens::ScreensConfig;
use super::terminals::{ButtonsConfig, LanConfig, VoiceConfig};
use super::{idcard, printer};
use crate::lang::{Lang, Localized};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub hall: HallConfig,
    pub services: Vec<ServiceConfig>,
    pub windows: Vec<WindowConfig>,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub clock: ClockConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub rating_reasons: Vec<RatingReason>,
    #[serde(default)]
    pub lan: LanConfig,
    #[serde(default)]
    pub buttons: ButtonsConfig,
    #[serde(default)]
    pub voice: VoiceConfig,
    /// How staff prove who they are at a window.
    #[serde(default)]
    pub staff: super::staff::StaffConfig,
    #[serde(default)]
    pub screens: ScreensConfig,
    /// The kiosk's ticket printer: port, baud rate, flow control, encoding.
    #[serde(default)]
    pub printer: printer::PrinterConfig,
    /// What the printed ticket says, per language, and the base of its status link.
    #[serde(default)]
    pub ticket: printer::TicketTextConfig,
    /// The kiosk's ID-card reader.
    #[serde(default)]
    pub idcard: idcard::IdCardReaderConfig,
    /// Where the hall's events go upstream; without it they stay in the hall.
    #[serde(default)]
    pub platform: Option<super::platform::PlatformConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HallConfig {
    /// The platform's identifier of this hall; events are deduplicated upstream on (hall id, sequence).
    pub id: String,
    pub name: Localized,
    /// The languages offered, in the order the voice speaks them. The first is the default screen language.
    #[serde(default = "all_languages")]
    pub languages: Vec<Lang>,
    /// The hall's offset from UTC, e.g. "+08:00". China keeps one offset all year.
    #[serde(default = "default_utc_offset")]
    pub utc_offset: String,
    /// The local time at which one business day ends and the next begins. A queue still open in the
    /// evening keeps its numbers until then.
    #[serde(default = "default_day_starts_at")]
    pub day_starts_at: String,
    /// Opening hours by weekday set, e.g. `mon-fri = "08:30-12:00, 13:30-17:30"`.
    pub hours: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The hall's short code for the service (SB, HJ), by which windows, bookings and the platform
    /// name it.
    pub code: String,
    /// 事项编码: the code the provincial government-service catalogue gives the service, sent with
    /// each rating so the provincial rating system files it under the right item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_code: Option<String>,
    /// The letter that starts this service's ticket numbers (A012).
    pub prefix: String,
    pub name: Localized,
    /// Tickets per business day; `None` means no cap.
    #[serde(default)]
    pub daily_cap: Option<u32>,
    /// Only booked citizens may take a ticket, by checking in.
    #[serde(default)]
    pub appointment_only: bool,
    /// A ticket needs the citizen's ID card on the reader.
    #[serde(default)]
    pub requires_id_card: bool,
    /// Whether a card past its expiry date may take a number here. Renewals come with expired
    /// cards, so services accept them unless the hall says otherwise.
    #[serde(default = "accepts_expired_id_card_by_default")]
    pub accepts_expired_id_card: bool,
}

fn accepts_expired_id_card_by_default() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    pub number: u16,
    pub name: Localized,
    /// The services this window serves, most preferred first. A comprehensive window (一窗分类受理)
    /// lists several.
    pub services: Vec<String>,
}

/// Which waiting ticket a window gets when staff press "call next".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CallOrder {
    /// Earliest issue time across all the window's services.
    #[default]
    FirstCome,
    /// The window's first service empties before its second is called, and so on.
    ServiceOrder,
}

/// What happens to a booked citizen who arrives after the check-in window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LateArrival {
    /// No check-in: the citizen is told their slot and must book again.
    #[default]
    Refuse,
    /// The citizen gets an ordinary walk-in ticket, without appointment priority.
    WalkIn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// How early before the slot start a booked citizen may check in.
    pub checkin_before_minutes: u32,
    /// How late after the slot start a booked citizen may still check in.
    pub checkin_after_minutes: u32,
    pub late_arrival: LateArrival,
    /// Recalls allowed after the first call; past this the ticket can only be marked no-show.
    pub recall_limit: u8,
    /// A no-show citizen who comes back may re-queue once.
    pub noshow_requeue: bool,
    /// A transferred ticket keeps its original issue time for its place in the new queue.
    pub transfer_keeps_place: bool,
    /// No ticket waits longer than this while later ones are called past it; 0 turns the guard off.
    pub max_wait_minutes: u32,
    /// Citizens of this age or older (from the ID card's birth date) get priority; 0 turns it off.
    pub senior_age: u8,
    /// Staff may flag a ticket for the green channel (绿色通道), which gives it priority.
    pub green_channel: bool,
    pub call_order: CallOrder,
    /// A citizen (known by ID card) may hold one open ticket per service at a time.
    pub one_open_ticket_per_service: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            checkin_before_minutes: 30,
            checkin_after_minutes: 15,
            late_arrival: LateArrival::Refuse,
            recall_limit: 2,
            noshow_requeue: true,
            transfer_keeps_place: true,
            max_wait_minutes: 60,
            senior_age: 65,
            green_channel: true,
            call_order: CallOrder::FirstCome,
            one_open_ticket_per_service: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockConfig {
    /// Treat the system clock as right even when the kernel does not report NTP sync (a board with a
    /// battery-backed RTC, or a hall whose time is set by hand).
    pub assume_trusted: bool,
    /// Wall-clock steps larger than this, within one boot, are treated as clock jumps: the business day
    /// follows the monotonic clock instead.
    pub max_step_seconds: u32,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            assume_trusted: false,
            max_step_seconds: 300,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub path: String,
    /// Events the platform has acknowledged leave the hall's database once their business day is
    /// this many days old (1 to 3650); the trail lives on at the platform.
    pub keep_acknowledged_days: u32,
    /// ID hashes and masked names leave acknowledged events and past tickets once their business
    /// day is this many days old (1 to `keep_acknowledged_days`).
    pub personal_data_days: u32,
    /// Encrypt the database at rest (SQLCipher) with the key in this file (64 hex digits, mode 0600;
    /// `hallq store new-key FILE` makes one).
    pub key_file: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: "/var/lib/hallq/hall.db".into(),
            keep_acknowledged_days: 90,
            personal_data_days: 30,
            key_file: None,
        }
    }
}

impl StoreConfig {
    /// Every mistake, as (key, what is wrong).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self
            .key_file
            .as_deref()
            .is_some_and(|f| f.trim().is_empty())
        {
            problems.push((
                "key_file",
                "names no file: leave it out for a plain database".to_string(),
            ));
        }
        if !(1..=3650).contains(&self.keep_acknowledged_days) {
            problems.push((
                "keep_acknowledged_days",
                "must be between 1 and 3650 days".to_string(),
            ));
        }
        if self.personal_data_days == 0 {
            problems.push(("personal_data_days", "must be at least 1 day".to_string()));
        } else if self.personal_data_days > self.keep_acknowledged_days {
            problems.push((
                "personal_data_days",
                format!(
                    "must not exceed keep_acknowledged_days ({}): personal data cannot outlive \
                     the events that hold it",
                    self.keep_acknowledged_days
                ),
            ));
        }
        problems
    }
}

/// A reason code a citizen may pick when rating (好差评), with its text per language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingReason {
    pub code: String,
    pub name: Localized,
}

fn all_languages() -> Vec<Lang> {
    Lang::ALL.to_vec()
}
fn default_utc_offset() -> String {
    "+08:00".into()
}
fn default_day_starts_at() -> String {
    "04:00".into()
}

/// A configuration that parsed and passed every check, with the derived values the domain needs.
#[derive(Debug, Clone, PartialEq)]
pub struct HallSetup {
    pub config: Config,
    pub utc_offset: chrono::FixedOffset,
    pub day_starts_at: ClockTime,
    pub hours: OpeningHours,
}

impl HallSetup {
    /// Open every day 00:00-23:59 with a trusted clock: the demo hall, benchmarks and tests that run
    /// at whatever hour they are started.
    pub fn open_around_the_clock(&mut self) {
        let mut hours = OpeningHours::default();
        hours
            .add_entry("mon-sun", "00:00-23:59")
            .expect("a valid range");
        self.hours = hours;
        self.config.clock.assume_trusted = true;
    }

    pub fn service(&self, code: &str) -> Option<&ServiceConfig> {
        self.config.services.iter().find(|s| s.code == code)
    }

    pub fn window(&self, number: u16) -> Option<&WindowConfig> {
        self.config.windows.iter().find(|w| w.number == number)
    }

    pub fn policy(&self) -> &PolicyConfig {
        &self.config.policy
    }

    /// The windows that serve `service`, by number.
    pub fn windows_serving(&self, service: &str) -> Vec<u16> {
        self.config
            .windows
            .iter()
            .filter(|w| w.services.iter().any(|s| s == service))
            .map(|w| w.number)
            .collect()
    }
}
