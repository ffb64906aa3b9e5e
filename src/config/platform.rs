//! The `[platform]` table: where the hall's events go upstream. Without it the hall sends nothing.

use serde::{Deserialize, Serialize};

/// The most events one request may carry; the reference receiver takes no more.
pub const MAX_PLATFORM_BATCH: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    /// The platform's base URL; batches go to `{url}/v1/events`.
    pub url: String,
    /// The hall's platform secret (mode 0600, at least 32 bytes; `hallq platform new-secret` makes
    /// one). Not the LAN pairing key.
    pub secret_file: String,
    /// The platform's certificate, or its CA's (PEM): the only ones trusted for https://.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Events per request, 1 to 1000.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// One request, from connecting to the last byte of the answer.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How far the platform's clock may be from the hall's; only the receiver uses it.
    #[serde(default = "default_max_skew_s")]
    pub max_skew_s: u32,
    /// Plain HTTP, for the demo and tests on loopback only.
    #[serde(default)]
    pub insecure_http_for_tests: bool,
    /// The hall's own certificate (PEM), for a platform that wants mutual TLS; with `client_key_file`.
    #[serde(default)]
    pub client_cert_file: Option<String>,
    /// That certificate's private key (PEM, readable by the service alone).
    #[serde(default)]
    pub client_key_file: Option<String>,
    /// How often the hall asks the platform for bookings changed since its last pull, in seconds.
    #[serde(default = "default_bookings_pull_s")]
    pub bookings_pull_s: u32,
    /// After this long without a successful pull the hall's list of bookings counts as stale: the
    /// kiosk tells staff, and `stale_bookings` applies.
    #[serde(default = "default_bookings_stale_after_minutes")]
    pub bookings_stale_after_minutes: u32,
    /// What a citizen of an appointment-only service gets while the list is stale.
    #[serde(default, deserialize_with = "stale_bookings")]
    pub stale_bookings: StaleBookings,
    /// The window panels show a mark once the platform has not acknowledged for this long while
    /// events wait, 1 to 1440.
    #[serde(default = "default_offline_mark_after_minutes")]
    pub offline_mark_after_minutes: u32,
}

/// The fallback while the hall's list of bookings is stale: a booking made since the last pull is
/// not known, so a card without a booking may belong to a citizen who has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaleBookings {
    /// The kiosk refuses politely and sends the citizen to staff; a window issues the ticket.
    #[default]
    StaffCheckIn,
    /// An appointment-only service gives a card without a booking a walk-in ticket.
    WalkIn,
}

/// Reads the fallback, naming the key and both choices when the value is neither.
fn stale_bookings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<StaleBookings, D::Error> {
    let text = String::deserialize(d)?;
    match text.as_str() {
        "walk_in" => Ok(StaleBookings::WalkIn),
        "staff_check_in" => Ok(StaleBookings::StaffCheckIn),
        other => Err(serde::de::Error::custom(format!(
            "stale_bookings is \"{other}\"; it is \"walk_in\" (an appointment-only service gives a \
             card without a booking a walk-in ticket) or \"staff_check_in\" (the kiosk sends the \
             citizen to a window)"
        ))),
    }
}

fn default_bookings_pull_s() -> u32 {
    60
}

fn default_bookings_stale_after_minutes() -> u32 {
    30
}

fn default_offline_mark_after_minutes() -> u32 {
    10
}

fn default_batch_size() -> usize {
    500
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_max_skew_s() -> u32 {
    300
}

impl PlatformConfig {
    /// A link to `url` with the secret in `secret_file` and every other key at its default.
    pub fn new(url: impl Into<String>, secret_file: impl Into<String>) -> PlatformConfig {
        PlatformConfig {
            url: url.into(),
            secret_file: secret_file.into(),
            ca_file: None,
            batch_size: default_batch_size(),
            timeout_ms: default_timeout_ms(),
            max_skew_s: default_max_skew_s(),
            insecure_http_for_tests: false,
            client_cert_file: None,
            client_key_file: None,
            bookings_pull_s: default_bookings_pull_s(),
            bookings_stale_after_minutes: default_bookings_stale_after_minutes(),
            stale_bookings: StaleBookings::default(),
            offline_mark_after_minutes: default_offline_mark_after_minutes(),
        }
    }

    /// Every mistake, as (key, what is wrong).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if let Some(rest) = self.url.strip_prefix("http://") {
            if !self.insecure_http_for_tests {
                problems.push((
                    "url",
                    "plain http:// would send citizens' data in clear; it is allowed only with \
                     insecure_http_for_tests = true (demo and tests on loopback)"
                        .to_string(),
                ));
            }
            if rest.is_empty() || rest.starts_with('/') {
                problems.push(("url", format!("\"{}\" names no host", self.url)));
            }
        } else if self.url.starts_with("https://") {
            if self.ca_file.as_deref().is_none_or(|f| f.trim().is_empty()) {
                problems.push((
                    "ca_file",
                    "https:// needs the platform's certificate (or its CA's) in a PEM file: \
                     only it is trusted"
                        .to_string(),
                ));
            }
        } else {
            problems.push((
                "url",
                format!("\"{}\" is not a URL like http://127.0.0.1:8480", self.url),
            ));
        }
        let named = |file: &Option<String>| file.as_deref().is_some_and(|f| !f.trim().is_empty());
        match (named(&self.client_cert_file), named(&self.client_key_file)) {
            (true, false) => problems.push((
                "client_key_file",
                "client_cert_file needs its key: name both or neither".to_string(),
            )),
            (false, true) => problems.push((
                "client_cert_file",
                "client_key_file needs its certificate: name both or neither".to_string(),
            )),
            _ => {}
        }
        if named(&self.client_cert_file) && !self.url.starts_with("https://") {
            problems.push((
                "client_cert_file",
                "a client certificate is shown only inside TLS: the url must be https://"
                    .to_string(),
            ));
        }
        if self.secret_file.trim().is_empty() {
            problems.push(("secret_file", "names no file".to_string()));
        }
        if !(1..=MAX_PLATFORM_BATCH).contains(&self.batch_size) {
            problems.push((
                "batch_size",
                format!("must be between 1 and {MAX_PLATFORM_BATCH}"),
            ));
        }
        if !(100..=300_000).contains(&self.timeout_ms) {
            problems.push(("timeout_ms", "must be between 100 and 300000".to_string()));
        }
        if !(1..=86_400).contains(&self.max_skew_s) {
            problems.push(("max_skew_s", "must be between 1 and 86400".to_string()));
        }
        if !(1..=3600).contains(&self.bookings_pull_s) {
            problems.push(("bookings_pull_s", "must be between 1 and 3600".to_string()));
        }
        if !(1..=10_080).contains(&self.bookings_stale_after_minutes) {
            problems.push((
                "bookings_stale_after_minutes",
                "must be between 1 and 10080 (a week)".to_string(),
            ));
        } else if u64::from(self.bookings_stale_after_minutes) * 60
            < 2 * u64::from(self.bookings_pull_s)
        {
            problems.push((
                "bookings_stale_after_minutes",
                format!(
                    "must cover at least two pulls ({} s each): one missed pull is not yet stale",
                    self.bookings_pull_s
                ),
            ));
        }
        if !(1..=1440).contains(&self.offline_mark_after_minutes) {
            problems.push((
                "offline_mark_after_minutes",
                "must be between 1 and 1440 (a day)".to_string(),
            ));
        }
        problems
    }
}
