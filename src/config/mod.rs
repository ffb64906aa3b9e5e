//! The hall's one TOML file: the hall, its services, its windows and the queue policy.
//!
//! Loading is two steps. Serde turns the text into typed structs (a missing field, a wrong type or an
//! unknown key is a parse error with its line); then [`validate`] checks what serde cannot — a window
//! naming an unknown service, two services sharing a prefix, a bad time — and reports every mistake at
//! once, each with the place in the file it comes from.

pub mod devices;
mod hours;
pub mod idcard;
mod platform;
pub mod printer;
mod roles;
mod screens;
mod setup;
mod staff;
mod terminals;
mod validate;

use std::path::Path;

pub use crate::lang::{Lang, Localized, localized};
pub use hours::{ClockTime, HoursError, NotAClockTime, OpeningHours, TimeRange};
pub use platform::{MAX_PLATFORM_BATCH, PlatformConfig, StaleBookings};
pub use roles::{NodeRole, has_role, is_hall_node};
pub use screens::{Orientation, ScreensConfig};
pub use setup::{
    CallOrder, ClockConfig, Config, HallConfig, HallSetup, LateArrival, PolicyConfig, RatingReason,
    ServiceConfig, StoreConfig, WindowConfig,
};
pub use staff::{SignInBy, StaffConfig};
pub use terminals::{ButtonsConfig, LanConfig, VoiceConfig};
pub use validate::{ConfigError, ConfigErrors};

/// The demo hall, compiled in so `hallq run` works without any file.
pub const EXAMPLE_HALL_TOML: &str = include_str!("../../hardware/hall.example.toml");

/// Parses and validates a configuration text. `source` names the file in error messages.
pub fn parse(text: &str, source: &str) -> Result<HallSetup, ConfigErrors> {
    validate::parse_and_validate(text, source)
}

pub fn load(path: &Path) -> Result<HallSetup, ConfigErrors> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors::single(ConfigError {
            source: source.clone(),
            location: String::new(),
            line: None,
            message: format!("cannot read the file: {e}"),
        })
    })?;
    parse(&text, &source)
}

/// The embedded demo hall.
pub fn example() -> HallSetup {
    parse(EXAMPLE_HALL_TOML, "hall.example.toml").expect("the embedded example hall is valid")
}

#[cfg(test)]
/// The terminals' tables ([lan], [buttons], [voice]) as the whole file is parsed.
mod terminal_tables {
    use super::{EXAMPLE_HALL_TOML, parse};

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
            "[lan]\nlisten = \"0.0.0.0:9000\"\nhall_url = \"https://10.0.0.2:9000\"\n\
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
    fn the_hall_url_follows_tls_and_certificate_files_come_in_pairs() {
        let defaults = parse(EXAMPLE_HALL_TOML, "hall.toml").unwrap().config.lan;
        assert!(defaults.tls, "TLS unless a hall turns it off");
        assert!(defaults.hall_url.starts_with("https://"));
        for (table, words) in [
            (
                "[lan]\nhall_url = \"http://10.0.0.2:8470\"\n",
                "with tls = true",
            ),
            (
                "[lan]\ntls = false\nhall_url = \"https://10.0.0.2:8470\"\n",
                "with tls = false",
            ),
            (
                "[lan]\ntls_cert_file = \"/etc/hallq/cert.pem\"\n",
                "give both",
            ),
        ] {
            let errors = parse(&with(table), "hall.toml").unwrap_err().to_string();
            assert!(errors.contains(words), "{table}: {errors}");
        }
        let plain = with("[lan]\ntls = false\nhall_url = \"http://10.0.0.2:8470\"\n");
        assert!(!parse(&plain, "hall.toml").unwrap().config.lan.tls);
    }

    #[test]
    fn connection_limits_that_leave_terminals_no_room_are_refused() {
        let text = with(
            "[lan]\nrequest_head_timeout_ms = 0\nmax_connections = 64\n\
             connections_kept_for_terminals = 64\n",
        );
        let errors = parse(&text, "hall.toml").unwrap_err().to_string();
        assert!(
            errors.contains("lan.request_head_timeout_ms: must be between 100 and 600000"),
            "{errors}"
        );
        assert!(
            errors.contains("lan.connections_kept_for_terminals: must be at least 1 and below"),
            "{errors}"
        );
        let fine = with("[lan]\nmax_connections = 64\nconnections_kept_for_terminals = 8\n");
        assert_eq!(
            parse(&fine, "hall.toml")
                .unwrap()
                .config
                .lan
                .max_connections,
            64
        );
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = parse(&with("[lan]\nport = 80\n"), "hall.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `port`"), "{err}");
    }
}

#[cfg(test)]
/// The `[platform]` table as the whole file is parsed.
mod platform_table {
    use super::{EXAMPLE_HALL_TOML, parse};

    #[test]
    fn without_the_table_the_hall_sends_nothing() {
        assert_eq!(
            parse(EXAMPLE_HALL_TOML, "hall.toml")
                .unwrap()
                .config
                .platform,
            None
        );
    }

    #[test]
    fn the_table_is_read_with_defaults() {
        let text = format!(
            "{EXAMPLE_HALL_TOML}\n[platform]\nurl = \"http://127.0.0.1:8480\"\n\
             secret_file = \"/var/lib/hallq/platform.key\"\ninsecure_http_for_tests = true\n"
        );
        let platform = parse(&text, "hall.toml").unwrap().config.platform.unwrap();
        assert_eq!(platform.batch_size, 500);
        assert_eq!(platform.timeout_ms, 10_000);
        assert_eq!(platform.secret_file, "/var/lib/hallq/platform.key");
        assert_eq!(platform.bookings_pull_s, 60);
        assert_eq!(platform.bookings_stale_after_minutes, 30);
        assert_eq!(
            platform.stale_bookings,
            crate::config::StaleBookings::StaffCheckIn
        );
    }

    #[test]
    fn the_stale_bookings_fallback_is_one_of_two_names() {
        let table =
            "[platform]\nurl = \"http://h\"\nsecret_file = \"k\"\ninsecure_http_for_tests = true\n";
        let walk_in = format!("{EXAMPLE_HALL_TOML}\n{table}stale_bookings = \"walk_in\"\n");
        let platform = parse(&walk_in, "hall.toml")
            .unwrap()
            .config
            .platform
            .unwrap();
        assert_eq!(
            platform.stale_bookings,
            crate::config::StaleBookings::WalkIn
        );
        let wrong = format!("{EXAMPLE_HALL_TOML}\n{table}stale_bookings = \"queue\"\n");
        let errors = parse(&wrong, "hall.toml").unwrap_err().to_string();
        assert!(
            errors.contains("stale_bookings")
                && errors.contains("walk_in")
                && errors.contains("staff_check_in"),
            "{errors}"
        );
        let too_soon = format!(
            "{EXAMPLE_HALL_TOML}\n{table}bookings_pull_s = 600\nbookings_stale_after_minutes = 15\n"
        );
        let errors = parse(&too_soon, "hall.toml").unwrap_err().to_string();
        assert!(
            errors.contains("platform.bookings_stale_after_minutes")
                && errors.contains("two pulls"),
            "{errors}"
        );
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        let base = EXAMPLE_HALL_TOML.lines().count() + 1;
        for (table, location, line, words) in [
            (
                "url = \"http://127.0.0.1:8480\"\nsecret_file = \"k\"\n",
                "platform.url",
                base + 2,
                "insecure_http_for_tests",
            ),
            (
                "url = \"https://platform.example\"\nsecret_file = \"k\"\n",
                "platform.ca_file",
                base + 1,
                "certificate",
            ),
            (
                "url = \"ftp://x\"\nsecret_file = \"k\"\n",
                "platform.url",
                base + 2,
                "not a URL",
            ),
            (
                "url = \"http://h\"\nsecret_file = \"k\"\ninsecure_http_for_tests = true\nbatch_size = 0\n",
                "platform.batch_size",
                base + 5,
                "between 1 and 1000",
            ),
            (
                "url = \"http://h\"\nsecret_file = \" \"\ninsecure_http_for_tests = true\ntimeout_ms = 5\n",
                "platform.timeout_ms",
                base + 5,
                "between 100",
            ),
            (
                "url = \"https://p\"\nsecret_file = \"k\"\nca_file = \"c\"\nclient_cert_file = \"x\"\n",
                "platform.client_key_file",
                base + 1,
                "name both or neither",
            ),
            (
                "url = \"http://h\"\nsecret_file = \"k\"\ninsecure_http_for_tests = true\n\
                 client_cert_file = \"x\"\nclient_key_file = \"y\"\n",
                "platform.client_cert_file",
                base + 5,
                "https://",
            ),
        ] {
            let text = format!("{EXAMPLE_HALL_TOML}\n[platform]\n{table}");
            let errors = parse(&text, "hall.toml").unwrap_err().to_string();
            let expected = format!("hall.toml:{line}: {location}: ");
            assert!(
                errors
                    .lines()
                    .any(|l| l.starts_with(&expected) && l.contains(words)),
                "{expected} … {words} missing in:\n{errors}"
            );
        }
        let unknown = format!(
            "{EXAMPLE_HALL_TOML}\n[platform]\nurl = \"http://h\"\nsecret_file = \"k\"\nport = 1\n"
        );
        assert!(
            parse(&unknown, "hall.toml")
                .unwrap_err()
                .to_string()
                .contains("unknown field `port`")
        );
    }
}
