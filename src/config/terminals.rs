//! Tables for the hall's terminals: the LAN (`[lan]`), call buttons (`[buttons]`) and voice (`[voice]`).
//! Every key has a default, so a hall that uses none of them writes nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanConfig {
    /// Where the hall node listens for terminals, e.g. "0.0.0.0:8470".
    pub listen: String,
    /// Where terminals on other boards find the hall node, e.g. "http://192.168.10.2:8470".
    pub hall_url: String,
    /// Where a terminal keeps its device token after pairing.
    pub token_file: String,
    /// How long the pairing code printed at start stays valid.
    pub pairing_code_minutes: u32,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// TLS on the hall LAN, with a certificate the hall node makes itself and terminals pin when
    /// they pair (docs/lan.md). Off only for a closed test network: tokens, the kiosks' hall key and
    /// citizens' data then cross in the clear.
    pub tls: bool,
    /// The hall node's certificate and its private key (PEM); beside the database when not given.
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    /// A request's head must arrive within this; it bounds the wait for the next request on an open
    /// connection too, so an idle or slow-writing socket is closed after it.
    pub request_head_timeout_ms: u64,
    /// A request's body must arrive within this (408 after it).
    pub request_body_timeout_ms: u64,
    /// Open connections at most (kept below the process's open-file limit as well).
    pub max_connections: usize,
    /// Of `max_connections`, slots that only connections of paired terminals may hold: a stranger
    /// holding every other slot cannot keep the hall's terminals out.
    pub connections_kept_for_terminals: usize,
}

impl Default for LanConfig {
    fn default() -> Self {
        LanConfig {
            listen: "0.0.0.0:8470".into(),
            hall_url: "https://127.0.0.1:8470".into(),
            token_file: "/var/lib/hallq/device-token".into(),
            pairing_code_minutes: 60,
            max_body_bytes: 16 * 1024,
            tls: true,
            tls_cert_file: None,
            tls_key_file: None,
            request_head_timeout_ms: 15_000,
            request_body_timeout_ms: 15_000,
            max_connections: 512,
            connections_kept_for_terminals: 64,
        }
    }
}

/// Push buttons of a window terminal without a touchscreen, by BCM GPIO pin number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ButtonsConfig {
    /// The window the buttons act for; without it the terminal has no buttons.
    pub window: Option<u16>,
    /// Presses of one button closer together than this count once (contact bounce, double presses).
    pub debounce_ms: u32,
    pub call_next: Option<u8>,
    pub recall: Option<u8>,
    pub finish: Option<u8>,
    pub no_show: Option<u8>,
}

impl Default for ButtonsConfig {
    fn default() -> Self {
        ButtonsConfig {
            window: None,
            debounce_ms: 300,
            call_next: None,
            recall: None,
            finish: None,
            no_show: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    pub enabled: bool,
    /// The clip pack: one folder per language (`zh/`, `ug/`, `kk/`, `en/`) of WAV files.
    pub clips: String,
    /// The program that plays a WAV file; it gets the file's path as its last argument.
    pub player: Vec<String>,
    /// Calls older than this when their turn comes are dropped, not announced late.
    pub stale_seconds: u32,
    /// At most this many calls wait to be announced; older ones are dropped first.
    pub max_pending: usize,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            enabled: true,
            clips: "/usr/share/hallq/voice".into(),
            player: vec!["aplay".into(), "-q".into()],
            stale_seconds: 60,
            max_pending: 3,
        }
    }
}
