//! `[idcard]` table of the hall's TOML config.

use serde::{Deserialize, Serialize};

use super::devices::{ConfigProblem, Problems};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdCardReaderConfig {
    pub port: String,
    pub baud: u32,
    /// Pause between find-card attempts while no card is on the reader.
    pub poll_ms: u64,
    /// Wait for a reply beyond its time on the wire.
    pub reply_timeout_ms: u64,
    /// Attempts at find, select and read before a card is reported unreadable.
    pub retries: u32,
    /// Pause between attempts to reopen a reader that went away.
    pub reconnect_ms: u64,
    /// The same card seen again within this time is the card still lying on the reader.
    pub same_card_quiet_ms: u64,
}

impl Default for IdCardReaderConfig {
    fn default() -> Self {
        Self {
            port: "/dev/ttyUSB1".into(),
            baud: 115_200,
            poll_ms: 300,
            reply_timeout_ms: 500,
            retries: 3,
            reconnect_ms: 1000,
            same_card_quiet_ms: 3000,
        }
    }
}

impl IdCardReaderConfig {
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        problems.serial_port(["idcard.port", "idcard.baud"], &self.port, self.baud);
        problems.range("idcard.poll_ms", self.poll_ms, 50, 10_000);
        problems.range("idcard.reply_timeout_ms", self.reply_timeout_ms, 50, 10_000);
        problems.range("idcard.retries", u64::from(self.retries), 1, 10);
        problems.range("idcard.reconnect_ms", self.reconnect_ms, 100, 60_000);
        problems.range(
            "idcard.same_card_quiet_ms",
            self.same_card_quiet_ms,
            0,
            600_000,
        );
        problems.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_partial_tables_fill_in() {
        IdCardReaderConfig::default().validate().unwrap();
        let cfg: IdCardReaderConfig = toml::from_str("port = \"/dev/ttyS2\"\nbaud = 9600").unwrap();
        assert_eq!(cfg.poll_ms, 300);
        assert!(toml::from_str::<IdCardReaderConfig>("poll = 3").is_err());
    }

    #[test]
    fn out_of_range_values_are_named() {
        let cfg = IdCardReaderConfig {
            baud: 300,
            poll_ms: 1,
            retries: 0,
            ..IdCardReaderConfig::default()
        };
        let fields: Vec<_> = cfg
            .validate()
            .unwrap_err()
            .iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["idcard.baud", "idcard.poll_ms", "idcard.retries"]);
    }
}
