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
}

impl Default for LanConfig {
    fn default() -> Self {
        LanConfig {
            listen: "0.0.0.0:8470".into(),
            hall_url: "http://127.0.0.1:8470".into(),
            token_file: "/var/lib/hallq/device-token".into(),
            pairing_code_minutes: 60,
            max_body_bytes: 16 * 1024,
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

#[cfg(test)]
mod tests {
    use crate::config::{EXAMPLE_HALL_TOML, parse};

    fn with(extra: &str) -> String {
        format!("{EXAMPLE_HALL_TOML}\n{extra}")
    }

    #[test]
    fn the_tables_are_optional_with_defaults() {
        let setup = parse(EXAMPLE_HALL_TOML, "hall.toml").unwrap();
        assert_eq!(setup.config.lan.max_body_bytes, 16 * 1024);
        assert_eq!(setup.config.buttons.window, None);
        assert!(setup.config.voice.enabled);
    }

    #[test]
    fn the_tables_are_read() {
        let text = with(
            "[lan]\nlisten = \"0.0.0.0:9000\"\nhall_url = \"http://10.0.0.2:9000\"\n\
             [buttons]\nwindow = 3\ncall_next = 17\nrecall = 27\n\
             [voice]\nplayer = [\"paplay\"]\nmax_pending = 5\n",
        );
        let setup = parse(&text, "hall.toml").unwrap();
        assert_eq!(setup.config.lan.listen, "0.0.0.0:9000");
        assert_eq!(setup.config.buttons.window, Some(3));
        assert_eq!(setup.config.buttons.recall, Some(27));
        assert_eq!(setup.config.voice.player, ["paplay"]);
    }

    #[test]
    fn mistakes_are_reported_with_their_place_and_line() {
        let text = with(
            "[lan]\nlisten = \"everywhere\"\n\
             [buttons]\nwindow = 42\ncall_next = 17\nrecall = 17\nfinish = 40\n\
             [voice]\nmax_pending = 0\n",
        );
        let errors = parse(&text, "hall.toml").unwrap_err().to_string();
        let base = EXAMPLE_HALL_TOML.lines().count() + 1;
        for (location, line, words) in [
            ("lan.listen", base + 2, "not an address"),
            ("buttons.window", base + 4, "no window 42"),
            ("buttons.recall", base + 6, "already the call_next button"),
            ("buttons.finish", base + 7, "BCM pins are 0 to 27"),
            ("voice.max_pending", base + 9, "at least 1"),
        ] {
            let expected = format!("hall.toml:{line}: {location}: ");
            assert!(
                errors
                    .lines()
                    .any(|l| l.starts_with(&expected) && l.contains(words)),
                "{expected} … {words} missing in:\n{errors}"
            );
        }
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = parse(&with("[lan]\nport = 80\n"), "hall.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `port`"), "{err}");
    }
}
