//! `[printer]` and `[ticket]` tables of the hall's TOML config.

use serde::{Deserialize, Serialize};

use super::devices::{ConfigProblem, FlowControl, Problems};
use crate::lang::Lang;

/// How Chinese text goes to the printer. Most kiosk printers only know GBK; GB18030 adds four-byte
/// sequences (Uyghur and Kazakh letters among them) that only some printers can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrinterEncoding {
    #[default]
    Gbk,
    Gb18030,
}

impl PrinterEncoding {
    pub fn codec(self) -> &'static encoding_rs::Encoding {
        match self {
            PrinterEncoding::Gbk => encoding_rs::GBK,
            PrinterEncoding::Gb18030 => encoding_rs::GB18030,
        }
    }

    pub fn can_encode(self, text: &str) -> bool {
        !self.codec().encode(text).2
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterConfig {
    /// Serial device, e.g. `/dev/ttyUSB0` or a stable `/dev/serial/by-id/...` link.
    pub port: String,
    pub baud: u32,
    pub flow_control: FlowControl,
    pub encoding: PrinterEncoding,
    /// How often the monitor asks the printer for its status between tickets.
    pub status_poll_seconds: u64,
    /// How long to wait for each DLE EOT answer before calling the printer silent.
    pub status_timeout_ms: u64,
    /// Dot width of the QR code's modules (1-16).
    pub qr_module_size: u8,
    /// Blank lines fed below the footer (`ESC d n`) before the partial cut; the cut itself first
    /// feeds the last printed line to the blade.
    pub feed_before_cut: u8,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        Self {
            port: "/dev/ttyUSB0".into(),
            baud: 9600,
            flow_control: FlowControl::None,
            encoding: PrinterEncoding::Gbk,
            status_poll_seconds: 5,
            status_timeout_ms: 300,
            qr_module_size: 5,
            feed_before_cut: 3,
        }
    }
}

impl PrinterConfig {
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        problems.serial_port(["printer.port", "printer.baud"], &self.port, self.baud);
        problems.range(
            "printer.status_poll_seconds",
            self.status_poll_seconds,
            1,
            3600,
        );
        problems.range(
            "printer.status_timeout_ms",
            self.status_timeout_ms,
            20,
            5000,
        );
        problems.range("printer.qr_module_size", self.qr_module_size.into(), 1, 16);
        problems.range(
            "printer.feed_before_cut",
            self.feed_before_cut.into(),
            0,
            20,
        );
        problems.finish()
    }
}

/// The fixed wording of a ticket in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketTexts {
    pub header: String,
    pub footer: String,
    /// A short line such as "please watch the display wall"; keep it short, every byte costs.
    pub notice: String,
}

/// `[ticket]`: wording per language (`[ticket.zh]`, `[ticket.ug]`, `[ticket.kk]`, `[ticket.en]`)
/// and where the QR code points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketTextConfig {
    /// Base of the status link; the ticket's token is appended.
    pub status_base_url: String,
    pub zh: TicketTexts,
    pub ug: Option<TicketTexts>,
    pub kk: Option<TicketTexts>,
    pub en: Option<TicketTexts>,
}

impl Default for TicketTextConfig {
    fn default() -> Self {
        Self {
            status_base_url: "https://zwfw.example.gov.cn/q/".into(),
            zh: TicketTexts {
                header: "欢迎光临".into(),
                footer: "过号请重新取号".into(),
                notice: "请留意叫号屏幕和语音提示".into(),
            },
            ug: Some(TicketTexts {
                header: "خۇش كەلدىڭىز".into(),
                footer: "نومۇرىڭىز ئۆتۈپ كەتسە قايتا ئېلىڭ".into(),
                notice: "ئېكران ۋە ئاۋازلىق ئۇقتۇرۇشقا دىققەت قىلىڭ".into(),
            }),
            kk: Some(TicketTexts {
                header: "قوش كەلدىڭىز".into(),
                footer: "كەزەگىڭىز ٶتىپ كەتسە قايتا الىڭىز".into(),
                notice: "ەكرانعا نازار اۋدارىڭىز".into(),
            }),
            en: Some(TicketTexts {
                header: "Welcome".into(),
                footer: "Missed your call? Take a new number".into(),
                notice: "Watch the display for your number".into(),
            }),
        }
    }
}

impl TicketTextConfig {
    /// The wording for `language`, falling back to Chinese when the language has none or the
    /// printer cannot print its script (the status page behind the QR code is still in that
    /// language).
    pub fn texts_for(&self, language: Lang, encoding: PrinterEncoding) -> &TicketTexts {
        let chosen = match language {
            Lang::Zh => None,
            Lang::Ug => self.ug.as_ref(),
            Lang::Kk => self.kk.as_ref(),
            Lang::En => self.en.as_ref(),
        };
        chosen
            .filter(|t| {
                [&t.header, &t.footer, &t.notice]
                    .iter()
                    .all(|s| encoding.can_encode(s))
            })
            .unwrap_or(&self.zh)
    }

    /// The status link for a ticket token issued by the engine.
    pub fn status_url(&self, token: &str, language: Lang) -> String {
        format!("{}{token}?lang={}", self.status_base_url, language.code())
    }

    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let url = &self.status_base_url;
        problems.unless(
            url.starts_with("https://") || url.starts_with("http://"),
            "ticket.status_base_url",
            format!("{url:?} must start with https:// or http://"),
        );
        problems.unless(
            url.is_ascii() && url.len() <= 120,
            "ticket.status_base_url",
            "must be ASCII and at most 120 characters: it goes into a QR code",
        );
        let langs = [
            ("ticket.zh", Some(&self.zh)),
            ("ticket.ug", self.ug.as_ref()),
            ("ticket.kk", self.kk.as_ref()),
            ("ticket.en", self.en.as_ref()),
        ];
        for (field, texts) in langs {
            for text in texts.iter().flat_map(|t| [&t.header, &t.footer, &t.notice]) {
                problems.unless(
                    text.chars().count() <= 48,
                    field,
                    format!("{text:?} is longer than 48 characters; a ticket must stay small"),
                );
            }
        }
        // The Chinese wording is the one every printer falls back to, so it must fit GBK.
        for text in [&self.zh.header, &self.zh.footer, &self.zh.notice] {
            problems.unless(
                PrinterEncoding::Gbk.can_encode(text),
                "ticket.zh",
                format!("{text:?} has characters outside GBK that printers cannot print"),
            );
        }
        problems.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        PrinterConfig::default().validate().unwrap();
        TicketTextConfig::default().validate().unwrap();
    }

    #[test]
    fn printer_table_parses_and_rejects_unknown_keys() {
        let cfg: PrinterConfig = toml::from_str(
            "port = \"/dev/ttyS1\"\nbaud = 115200\nflow_control = \"software\"\nencoding = \"gb18030\"",
        )
        .unwrap();
        assert_eq!(cfg.baud, 115200);
        assert_eq!(cfg.flow_control, FlowControl::Software);
        assert_eq!(cfg.status_poll_seconds, 5);
        let err = toml::from_str::<PrinterConfig>("prot = \"/dev/ttyS1\"").unwrap_err();
        assert!(err.to_string().contains("unknown field `prot`"), "{err}");
    }

    #[test]
    fn bad_printer_values_are_named() {
        let cfg = PrinterConfig {
            port: " ".into(),
            baud: 12345,
            status_poll_seconds: 0,
            qr_module_size: 17,
            ..PrinterConfig::default()
        };
        let fields: Vec<_> = cfg
            .validate()
            .unwrap_err()
            .iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "printer.port",
                "printer.baud",
                "printer.status_poll_seconds",
                "printer.qr_module_size"
            ]
        );
    }

    #[test]
    fn ticket_table_rejects_non_url_long_text_and_non_gbk_chinese() {
        let mut cfg = TicketTextConfig {
            status_base_url: "ftp://x".into(),
            ..TicketTextConfig::default()
        };
        cfg.zh.notice = "请".repeat(49);
        cfg.zh.footer = "ئېكران".into();
        let problems = cfg.validate().unwrap_err();
        let text = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains("ticket.status_base_url"), "{text}");
        assert!(text.contains("longer than 48"), "{text}");
        assert!(text.contains("outside GBK"), "{text}");
    }

    #[test]
    fn uyghur_falls_back_to_chinese_on_a_gbk_printer_only() {
        let cfg = TicketTextConfig::default();
        assert_eq!(cfg.texts_for(Lang::Ug, PrinterEncoding::Gbk), &cfg.zh);
        assert_eq!(
            cfg.texts_for(Lang::Ug, PrinterEncoding::Gb18030),
            cfg.ug.as_ref().unwrap()
        );
        assert_eq!(
            cfg.texts_for(Lang::En, PrinterEncoding::Gbk),
            cfg.en.as_ref().unwrap()
        );
    }

    #[test]
    fn status_url_carries_token_and_language() {
        let cfg = TicketTextConfig::default();
        assert_eq!(
            cfg.status_url("A012-7f3k", Lang::Kk),
            "https://zwfw.example.gov.cn/q/A012-7f3k?lang=kk"
        );
    }
}
