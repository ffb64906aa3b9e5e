//! The checks serde cannot make, each reported with the place in the file it comes from.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::IgnoredAny;
use toml::de::{DeTable, DeValue};

use super::hours::{ClockTime, OpeningHours};
use super::setup::{Config, HallSetup};
use crate::lang::{Lang, Localized};

/// One mistake in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the user named it.
    pub source: String,
    /// The dotted path of the offending value, e.g. `windows[2].services[1]`.
    pub location: String,
    /// The 1-based line of that value, when the file has it.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.location.is_empty() {
            write!(f, ": {}", self.location)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every mistake found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn single(error: ConfigError) -> ConfigErrors {
        ConfigErrors(vec![error])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// One step of a path into the TOML document.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

struct Checker<'a> {
    source: &'a str,
    text: &'a str,
    document: Option<toml::Spanned<DeTable<'a>>>,
    errors: Vec<ConfigError>,
}

impl<'a> Checker<'a> {
    fn report(&mut self, path: &[Step], message: impl Into<String>) {
        let location = path.iter().fold(String::new(), |mut out, step| {
            match step {
                Step::Key(k) if out.is_empty() => out.push_str(k),
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
            out
        });
        let line = self.line_of(path);
        self.errors.push(ConfigError {
            source: self.source.to_string(),
            location,
            line,
            message: message.into(),
        });
    }

    /// The line of the deepest part of `path` that the document has (a missing key points at its table).
    fn line_of(&self, path: &[Step]) -> Option<usize> {
        let document = self.document.as_ref()?;
        let mut span = document.span();
        let mut value: Option<&DeValue> = None;
        for step in path {
            let next = match (step, value) {
                (Step::Key(k), None) => document.get_ref().get(k.as_str()),
                (Step::Key(k), Some(v)) => v.get(k.as_str()),
                (Step::Index(i), Some(v)) => v.get(*i),
                (Step::Index(_), None) => None,
            };
            match next {
                Some(spanned) => {
                    span = spanned.span();
                    value = Some(spanned.get_ref());
                }
                None => break,
            }
        }
        Some(
            self.text[..span.start.min(self.text.len())]
                .matches('\n')
                .count()
                + 1,
        )
    }

    fn check_names(&mut self, path: &[Step], names: &Localized, languages: &[Lang], what: &str) {
        for lang in languages {
            if names.get(lang).is_none_or(|n| n.trim().is_empty()) {
                let mut p = path.to_vec();
                p.push(key(lang.code()));
                self.report(&p, format!("{what} has no {} name", language_name(*lang)));
            }
        }
    }
}

fn language_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "Chinese (zh)",
        Lang::Ug => "Uyghur (ug)",
        Lang::Kk => "Kazakh (kk)",
        Lang::En => "English (en)",
    }
}

pub(super) fn parse_and_validate(text: &str, source: &str) -> Result<HallSetup, ConfigErrors> {
    let parse_error = |e: toml::de::Error| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        ConfigErrors::single(ConfigError {
            source: source.to_string(),
            location: String::new(),
            line,
            message: e.message().trim().to_string(),
        })
    };
    // Syntax first, so a broken file is reported as such rather than as a missing field.
    toml::from_str::<IgnoredAny>(text).map_err(parse_error)?;
    let config: Config = toml::from_str(text).map_err(parse_error)?;
    let mut checker = Checker {
        source,
        text,
        document: DeTable::parse(text).ok(),
        errors: Vec::new(),
    };
    let setup = check(&mut checker, config);
    match setup {
        Some(setup) if checker.errors.is_empty() => Ok(setup),
        _ => Err(ConfigErrors(checker.errors)),
    }
}

fn check(c: &mut Checker, config: Config) -> Option<HallSetup> {
    let hall = &config.hall;
    let languages = hall.languages.clone();
    if hall.id.trim().is_empty() {
        c.report(&[key("hall"), key("id")], "the hall id is empty");
    }
    if languages.is_empty() {
        c.report(
            &[key("hall"), key("languages")],
            "at least one language is needed",
        );
    }
    let mut seen_langs = HashSet::new();
    for (i, lang) in languages.iter().enumerate() {
        if !seen_langs.insert(*lang) {
            c.report(
                &[key("hall"), key("languages"), Step::Index(i)],
                format!("{} is listed twice", lang.code()),
            );
        }
    }
    c.check_names(
        &[key("hall"), key("name")],
        &hall.name,
        &languages,
        "the hall",
    );

    let utc_offset = match parse_utc_offset(&hall.utc_offset) {
        Ok(offset) => Some(offset),
        Err(message) => {
            c.report(&[key("hall"), key("utc_offset")], message);
            None
        }
    };
    let day_starts_at = match ClockTime::parse(&hall.day_starts_at) {
        Ok(t) if t.minutes_since_midnight() <= 6 * 60 => Some(t),
        Ok(t) => {
            c.report(
                &[key("hall"), key("day_starts_at")],
                format!("the business day must start between 00:00 and 06:00, not {t}"),
            );
            None
        }
        Err(message) => {
            c.report(&[key("hall"), key("day_starts_at")], message.to_string());
            None
        }
    };
    let mut hours = OpeningHours::default();
    for (days, ranges) in &hall.hours {
        if let Err(message) = hours.add_entry(days, ranges) {
            c.report(&[key("hall"), key("hours"), key(days)], message.to_string());
        }
    }

    let mut codes: HashMap<&str, usize> = HashMap::new();
    let mut prefixes: HashMap<&str, usize> = HashMap::new();
    if config.services.is_empty() {
        c.report(&[key("services")], "the hall has no services");
    }
    for (i, service) in config.services.iter().enumerate() {
        let at = |field: &str| vec![key("services"), Step::Index(i), key(field)];
        if service.code.trim().is_empty() {
            c.report(&at("code"), "the service code is empty");
        } else if let Some(first) = codes.insert(&service.code, i) {
            c.report(
                &at("code"),
                format!(
                    "service code \"{}\" is already used by services[{first}]",
                    service.code
                ),
            );
        }
        let prefix_ok =
            service.prefix.len() == 1 && service.prefix.chars().all(|ch| ch.is_ascii_uppercase());
        if !prefix_ok {
            c.report(
                &at("prefix"),
                format!(
                    "the ticket prefix must be one capital letter A-Z, not \"{}\"",
                    service.prefix
                ),
            );
        } else if let Some(first) = prefixes.insert(&service.prefix, i) {
            c.report(
                &at("prefix"),
                format!(
                    "prefix \"{}\" is already used by services[{first}] ({}): two services would print the same numbers",
                    service.prefix, config.services[first].code
                ),
            );
        }
        if service.daily_cap == Some(0) {
            c.report(
                &at("daily_cap"),
                "a daily cap of 0 closes the service: remove it from the hall instead",
            );
        }
        if service.daily_cap.is_some_and(|cap| cap > 999) {
            c.report(
                &at("daily_cap"),
                "ticket numbers have three digits: the cap can be at most 999",
            );
        }
        c.check_names(
            &[key("services"), Step::Index(i), key("name")],
            &service.name,
            &languages,
            &format!("service {}", service.code),
        );
    }

    let mut numbers: HashMap<u16, usize> = HashMap::new();
    if config.windows.is_empty() {
        c.report(&[key("windows")], "the hall has no windows");
    }
    for (i, window) in config.windows.iter().enumerate() {
        let at = |field: &str| vec![key("windows"), Step::Index(i), key(field)];
        if window.number == 0 {
            c.report(&at("number"), "window numbers start at 1");
        } else if let Some(first) = numbers.insert(window.number, i) {
            c.report(
                &at("number"),
                format!(
                    "window {} is already defined by windows[{first}]",
                    window.number
                ),
            );
        }
        if window.services.is_empty() {
            c.report(
                &at("services"),
                format!("window {} serves no service", window.number),
            );
        }
        let mut listed = HashSet::new();
        for (j, code) in window.services.iter().enumerate() {
            let path = [
                key("windows"),
                Step::Index(i),
                key("services"),
                Step::Index(j),
            ];
            if !codes.contains_key(code.as_str()) {
                c.report(
                    &path,
                    format!("unknown service \"{code}\" (not in [[services]])"),
                );
            } else if !listed.insert(code) {
                c.report(&path, format!("service \"{code}\" is listed twice"));
            }
        }
        c.check_names(
            &[key("windows"), Step::Index(i), key("name")],
            &window.name,
            &languages,
            &format!("window {}", window.number),
        );
    }
    for (i, service) in config.services.iter().enumerate() {
        if !config
            .windows
            .iter()
            .any(|w| w.services.contains(&service.code))
        {
            c.report(
                &[key("services"), Step::Index(i), key("code")],
                format!(
                    "no window serves {}: its tickets would never be called",
                    service.code
                ),
            );
        }
    }

    let policy = &config.policy;
    if policy.checkin_before_minutes > 24 * 60 || policy.checkin_after_minutes > 24 * 60 {
        c.report(
            &[key("policy")],
            "check-in minutes must be under a day (1440)",
        );
    }
    let mut reason_codes = HashSet::new();
    for (i, reason) in config.rating_reasons.iter().enumerate() {
        if !reason_codes.insert(reason.code.as_str()) {
            c.report(
                &[key("rating_reasons"), Step::Index(i), key("code")],
                format!("reason code \"{}\" is listed twice", reason.code),
            );
        }
        c.check_names(
            &[key("rating_reasons"), Step::Index(i), key("name")],
            &reason.name,
            &languages,
            &format!("rating reason {}", reason.code),
        );
    }
    if config.clock.max_step_seconds == 0 {
        c.report(
            &[key("clock"), key("max_step_seconds")],
            "must be at least 1 second",
        );
    }

    check_terminals(c, &config);
    check_devices(c, &config);
    if config
        .store
        .key_file
        .as_deref()
        .is_some_and(|f| f.trim().is_empty())
    {
        c.report(
            &[key("store"), key("key_file")],
            "names no file: leave it out for a plain database".to_string(),
        );
    }
    if let Some(platform) = &config.platform {
        for (field, problem) in platform.problems() {
            c.report(&[key("platform"), key(field)], problem);
        }
    }

    Some(HallSetup {
        utc_offset: utc_offset?,
        day_starts_at: day_starts_at?,
        hours,
        config,
    })
}

/// The `[printer]`, `[ticket]` and `[idcard]` tables, checked by the device drivers that read them.
fn check_devices(c: &mut Checker, config: &Config) {
    let problems = [
        config.printer.validate(),
        config.ticket.validate(),
        config.idcard.validate(),
    ];
    for problem in problems.into_iter().filter_map(Result::err).flatten() {
        let path: Vec<Step> = problem.field.split('.').map(key).collect();
        c.report(&path, problem.problem);
    }
}

/// The `[lan]`, `[buttons]` and `[voice]` tables.
fn check_terminals(c: &mut Checker, config: &Config) {
    let lan = &config.lan;
    if lan.listen.parse::<std::net::SocketAddr>().is_err() {
        c.report(
            &[key("lan"), key("listen")],
            format!(
                "\"{}\" is not an address and port like 0.0.0.0:8470",
                lan.listen
            ),
        );
    }
    if !lan.hall_url.starts_with("http://") && !lan.hall_url.starts_with("https://") {
        c.report(
            &[key("lan"), key("hall_url")],
            format!(
                "\"{}\" is not a URL like http://192.168.10.2:8470",
                lan.hall_url
            ),
        );
    }
    if lan.tls_cert_file.is_some() != lan.tls_key_file.is_some() {
        c.report(
            &[key("lan"), key("tls_key_file")],
            "give both tls_cert_file and tls_key_file, or neither (then both live beside the database)",
        );
    }
    let scheme_wanted = if lan.tls { "https://" } else { "http://" };
    if (lan.hall_url.starts_with("http://") || lan.hall_url.starts_with("https://"))
        && !lan.hall_url.starts_with(scheme_wanted)
    {
        c.report(
            &[key("lan"), key("hall_url")],
            format!(
                "with tls = {} the hall node is reached at {scheme_wanted}…, not \"{}\"",
                lan.tls, lan.hall_url
            ),
        );
    }
    if !(1024..=1024 * 1024).contains(&lan.max_body_bytes) {
        c.report(
            &[key("lan"), key("max_body_bytes")],
            "must be between 1024 and 1048576",
        );
    }
    for (name, ms) in [
        ("request_head_timeout_ms", lan.request_head_timeout_ms),
        ("request_body_timeout_ms", lan.request_body_timeout_ms),
    ] {
        if !(100..=600_000).contains(&ms) {
            c.report(&[key("lan"), key(name)], "must be between 100 and 600000");
        }
    }
    if !(16..=65_536).contains(&lan.max_connections) {
        c.report(
            &[key("lan"), key("max_connections")],
            "must be between 16 and 65536",
        );
    }
    if lan.connections_kept_for_terminals == 0
        || lan.connections_kept_for_terminals >= lan.max_connections
    {
        c.report(
            &[key("lan"), key("connections_kept_for_terminals")],
            "must be at least 1 and below max_connections",
        );
    }
    let buttons = &config.buttons;
    if let Some(window) = buttons.window
        && !config.windows.iter().any(|w| w.number == window)
    {
        c.report(
            &[key("buttons"), key("window")],
            format!("there is no window {window} in [[windows]]"),
        );
    }
    let mut pins = HashMap::new();
    for (name, pin) in [
        ("call_next", buttons.call_next),
        ("recall", buttons.recall),
        ("finish", buttons.finish),
        ("no_show", buttons.no_show),
    ] {
        let Some(pin) = pin else { continue };
        if pin > 27 {
            c.report(
                &[key("buttons"), key(name)],
                format!("GPIO {pin} is not on the header: BCM pins are 0 to 27"),
            );
        } else if let Some(first) = pins.insert(pin, name) {
            c.report(
                &[key("buttons"), key(name)],
                format!("GPIO {pin} is already the {first} button"),
            );
        }
    }
    if config.voice.player.is_empty() {
        c.report(
            &[key("voice"), key("player")],
            "name the program that plays a WAV file",
        );
    }
    if config.voice.max_pending == 0 {
        c.report(&[key("voice"), key("max_pending")], "must be at least 1");
    }
    if !(1..=20).contains(&config.staff.pin_attempts) {
        c.report(
            &[key("staff"), key("pin_attempts")],
            "must be between 1 and 20",
        );
    }
    if !(1..=24 * 60).contains(&config.staff.lockout_minutes) {
        c.report(
            &[key("staff"), key("lockout_minutes")],
            "must be between 1 and 1440 (a day)",
        );
    }
}

fn parse_utc_offset(text: &str) -> Result<chrono::FixedOffset, String> {
    let bad = || format!("\"{text}\" is not a UTC offset like +08:00");
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(bad()),
    };
    let time = ClockTime::parse(rest).map_err(|_| bad())?;
    let seconds = sign * time.minutes_since_midnight() as i32 * 60;
    if time.minutes_since_midnight() > 14 * 60 {
        return Err(bad());
    }
    chrono::FixedOffset::east_opt(seconds).ok_or_else(bad)
}
