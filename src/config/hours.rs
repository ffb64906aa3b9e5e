//! Times of day and opening hours, parsed from the strings a hall writes in its config.

use std::fmt;

use chrono::{Datelike, NaiveDateTime, Weekday};

/// A text that is not a time of day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a time of day (HH:MM, 24-hour clock)")]
pub struct NotAClockTime(pub String);

/// What is wrong with an entry of the opening hours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error(transparent)]
    Time(#[from] NotAClockTime),
    #[error("\"{0}\" is not a range like 08:30-12:00")]
    NotARange(String),
    #[error("\"{0}\" closes before it opens")]
    ClosesBeforeItOpens(String),
    #[error("{0} overlaps {1}")]
    Overlap(TimeRange, TimeRange),
    #[error("\"{0}\" is not a weekday (mon, tue, wed, thu, fri, sat, sun)")]
    NotAWeekday(String),
    #[error("\"{0}\" runs backwards")]
    DaysRunBackwards(String),
    #[error("{0} is given more than once")]
    DayRepeated(Weekday),
}

/// A time of day to the minute, "08:30".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    minutes: u16,
}

impl ClockTime {
    pub fn from_hm(hour: u16, minute: u16) -> Option<ClockTime> {
        (hour < 24 && minute < 60).then_some(ClockTime {
            minutes: hour * 60 + minute,
        })
    }

    pub fn minutes_since_midnight(self) -> u32 {
        u32::from(self.minutes)
    }

    /// Parses "HH:MM" with a 24-hour clock.
    pub fn parse(text: &str) -> Result<ClockTime, NotAClockTime> {
        let text = text.trim();
        let bad = || NotAClockTime(text.to_string());
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: u16 = h.parse().map_err(|_| bad())?;
        let minute: u16 = m.parse().map_err(|_| bad())?;
        ClockTime::from_hm(hour, minute).ok_or_else(bad)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// A half-open span of a day, open..close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub open: ClockTime,
    pub close: ClockTime,
}

impl TimeRange {
    fn parse(text: &str) -> Result<TimeRange, HoursError> {
        let (open, close) = text
            .split_once('-')
            .ok_or_else(|| HoursError::NotARange(text.trim().to_string()))?;
        let range = TimeRange {
            open: ClockTime::parse(open)?,
            close: ClockTime::parse(close)?,
        };
        if range.open >= range.close {
            return Err(HoursError::ClosesBeforeItOpens(text.trim().to_string()));
        }
        Ok(range)
    }

    fn contains(&self, t: ClockTime) -> bool {
        self.open <= t && t < self.close
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.open, self.close)
    }
}

/// The hall's opening hours for each weekday; a day with no ranges is closed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpeningHours {
    by_weekday: [Vec<TimeRange>; 7],
}

impl OpeningHours {
    /// Adds the ranges of one config entry: `key` is a weekday set ("mon-fri", "sat", "mon,wed"),
    /// `value` a list of ranges ("08:30-12:00, 13:30-17:30") or "closed".
    pub fn add_entry(&mut self, key: &str, value: &str) -> Result<(), HoursError> {
        let days = parse_weekdays(key)?;
        let ranges = if value.trim().eq_ignore_ascii_case("closed") {
            Vec::new()
        } else {
            let mut ranges = value
                .split(',')
                .map(TimeRange::parse)
                .collect::<Result<Vec<_>, _>>()?;
            ranges.sort_by_key(|r| r.open);
            if let Some(pair) = ranges.windows(2).find(|p| p[0].close > p[1].open) {
                return Err(HoursError::Overlap(pair[0], pair[1]));
            }
            ranges
        };
        // Every day is checked before any is filled: a refused entry leaves the hours as they were.
        let mut taken = self.by_weekday.clone().map(|ranges| !ranges.is_empty());
        for day in &days {
            let taken = &mut taken[day.num_days_from_monday() as usize];
            if *taken {
                return Err(HoursError::DayRepeated(*day));
            }
            *taken = !ranges.is_empty();
        }
        for day in days {
            self.by_weekday[day.num_days_from_monday() as usize].extend(ranges.iter().copied());
        }
        Ok(())
    }

    pub fn is_open_at(&self, local: NaiveDateTime) -> bool {
        let t = time_of(local);
        self.ranges(local.weekday()).iter().any(|r| r.contains(t))
    }

    pub fn ranges(&self, day: Weekday) -> &[TimeRange] {
        &self.by_weekday[day.num_days_from_monday() as usize]
    }

    /// The next opening after `local` within a week, for "closed, opens at …" messages.
    pub fn next_opening(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        let now = time_of(local);
        (0..8).find_map(|offset| {
            let date = local.date() + chrono::Days::new(offset);
            self.ranges(date.weekday())
                .iter()
                .map(|r| r.open)
                .find(|open| offset > 0 || *open > now)
                .map(|open| {
                    date.and_hms_opt(
                        open.minutes_since_midnight() / 60,
                        open.minutes_since_midnight() % 60,
                        0,
                    )
                    .expect("valid clock time")
                })
        })
    }
}

fn time_of(local: NaiveDateTime) -> ClockTime {
    use chrono::Timelike;
    ClockTime::from_hm(local.hour() as u16, local.minute() as u16)
        .expect("chrono gives valid times")
}

fn parse_weekday(text: &str) -> Result<Weekday, HoursError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "mon" => Ok(Weekday::Mon),
        "tue" => Ok(Weekday::Tue),
        "wed" => Ok(Weekday::Wed),
        "thu" => Ok(Weekday::Thu),
        "fri" => Ok(Weekday::Fri),
        "sat" => Ok(Weekday::Sat),
        "sun" => Ok(Weekday::Sun),
        other => Err(HoursError::NotAWeekday(other.to_string())),
    }
}

fn parse_weekdays(key: &str) -> Result<Vec<Weekday>, HoursError> {
    let mut days = Vec::new();
    for part in key.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (mut day, last) = (parse_weekday(first)?, parse_weekday(last)?);
                if day.num_days_from_monday() > last.num_days_from_monday() {
                    return Err(HoursError::DaysRunBackwards(part.trim().to_string()));
                }
                days.push(day);
                while day != last {
                    day = day.succ();
                    days.push(day);
                }
            }
            None => days.push(parse_weekday(part)?),
        }
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn clock_times_parse_and_refuse_nonsense() {
        assert_eq!(ClockTime::parse("08:30").unwrap().to_string(), "08:30");
        assert_eq!(ClockTime::parse(" 8:05").unwrap().to_string(), "08:05");
        for bad in ["24:00", "12:60", "1230", "12:3", "ab:cd", "", "-1:00"] {
            assert!(ClockTime::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn opening_hours_cover_weekday_sets_and_lunch_breaks() {
        let mut hours = OpeningHours::default();
        hours
            .add_entry("mon-fri", "08:30-12:00, 13:30-17:30")
            .unwrap();
        hours.add_entry("sat", "09:00-12:00").unwrap();
        // 2026-11-27 is a Friday.
        assert!(hours.is_open_at(at(2026, 11, 27, 8, 30)));
        assert!(!hours.is_open_at(at(2026, 11, 27, 12, 30)));
        assert!(!hours.is_open_at(at(2026, 11, 27, 17, 30)));
        assert!(hours.is_open_at(at(2026, 11, 28, 11, 59)));
        assert!(!hours.is_open_at(at(2026, 11, 29, 10, 0)));
        assert_eq!(
            hours.next_opening(at(2026, 11, 27, 12, 30)),
            Some(at(2026, 11, 27, 13, 30))
        );
        assert_eq!(
            hours.next_opening(at(2026, 11, 28, 12, 30)),
            Some(at(2026, 11, 30, 8, 30))
        );
    }

    #[test]
    fn opening_hours_refuse_overlaps_repeats_and_bad_days() {
        let mut hours = OpeningHours::default();
        assert!(hours.add_entry("mon", "08:00-12:00, 11:00-13:00").is_err());
        assert!(hours.add_entry("fri-mon", "08:00-12:00").is_err());
        assert!(hours.add_entry("funday", "08:00-12:00").is_err());
        assert!(hours.add_entry("tue", "12:00-08:00").is_err());
        hours.add_entry("mon-fri", "08:00-12:00").unwrap();
        assert!(hours.add_entry("wed", "13:00-14:00").is_err());
    }

    #[test]
    fn each_mistake_in_the_hours_says_what_it_is() {
        let mistake = |days: &str, ranges: &str| {
            let mut hours = OpeningHours::default();
            hours.add_entry("sun", "08:00-09:00").unwrap();
            hours.add_entry(days, ranges).unwrap_err().to_string()
        };
        for (days, ranges, message) in [
            (
                "mon",
                "8-12",
                "\"8\" is not a time of day (HH:MM, 24-hour clock)",
            ),
            ("mon", " 0800 ", "\"0800\" is not a range like 08:30-12:00"),
            (
                "mon",
                "12:00-08:00",
                "\"12:00-08:00\" closes before it opens",
            ),
            (
                "mon",
                "08:00-12:00,11:00-13:00",
                "08:00-12:00 overlaps 11:00-13:00",
            ),
            (
                "Funday",
                "08:00-12:00",
                "\"funday\" is not a weekday (mon, tue, wed, thu, fri, sat, sun)",
            ),
            ("fri-mon", "08:00-12:00", "\"fri-mon\" runs backwards"),
            ("sat-sun", "08:00-12:00", "Sun is given more than once"),
        ] {
            assert_eq!(mistake(days, ranges), message, "{days} = {ranges}");
        }
    }

    #[test]
    fn a_refused_entry_leaves_the_hours_as_they_were() {
        let mut hours = OpeningHours::default();
        hours.add_entry("sun", "08:00-09:00").unwrap();
        let before = hours.clone();
        assert!(hours.add_entry("fri-sun", "10:00-11:00").is_err());
        assert!(hours.add_entry("mon,mon", "10:00-11:00").is_err());
        assert_eq!(hours, before);
    }
}
