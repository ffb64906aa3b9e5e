//! Ratings in the national form (政务服务"好差评"): the five levels, the offline indicators, the case
//! number a window's business system gives, and the evaluator a rating request opens.

use serde::{Deserialize, Serialize};

/// The five levels of the national rating, best first. Stored as the 1-5 score the hall's events have
/// always carried (5 = 非常满意), so events recorded before the levels had a type read unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum SatisfactionLevel {
    VeryDissatisfied,
    Dissatisfied,
    BasicallySatisfied,
    Satisfied,
    VerySatisfied,
}

impl SatisfactionLevel {
    pub const ALL: [SatisfactionLevel; 5] = [
        SatisfactionLevel::VerySatisfied,
        SatisfactionLevel::Satisfied,
        SatisfactionLevel::BasicallySatisfied,
        SatisfactionLevel::Dissatisfied,
        SatisfactionLevel::VeryDissatisfied,
    ];

    /// The level of a 1-5 score (one star to five); anything else is no level.
    pub fn from_score(score: u8) -> Option<SatisfactionLevel> {
        match score {
            5 => Some(SatisfactionLevel::VerySatisfied),
            4 => Some(SatisfactionLevel::Satisfied),
            3 => Some(SatisfactionLevel::BasicallySatisfied),
            2 => Some(SatisfactionLevel::Dissatisfied),
            1 => Some(SatisfactionLevel::VeryDissatisfied),
            _ => None,
        }
    }

    /// 5 for 非常满意 down to 1 for 非常不满意: the number of stars, and the level's code in the
    /// provincial systems' interface.
    pub fn score(self) -> u8 {
        match self {
            SatisfactionLevel::VerySatisfied => 5,
            SatisfactionLevel::Satisfied => 4,
            SatisfactionLevel::BasicallySatisfied => 3,
            SatisfactionLevel::Dissatisfied => 2,
            SatisfactionLevel::VeryDissatisfied => 1,
        }
    }

    /// The level's name as the national standard writes it.
    pub fn name_zh(self) -> &'static str {
        match self {
            SatisfactionLevel::VerySatisfied => "非常满意",
            SatisfactionLevel::Satisfied => "满意",
            SatisfactionLevel::BasicallySatisfied => "基本满意",
            SatisfactionLevel::Dissatisfied => "不满意",
            SatisfactionLevel::VeryDissatisfied => "非常不满意",
        }
    }
}

impl TryFrom<u8> for SatisfactionLevel {
    type Error = String;

    fn try_from(score: u8) -> Result<SatisfactionLevel, String> {
        SatisfactionLevel::from_score(score)
            .ok_or_else(|| format!("a rating level is 1 to 5, not {score}"))
    }
}

impl From<SatisfactionLevel> for u8 {
    fn from(level: SatisfactionLevel) -> u8 {
        level.score()
    }
}

/// The indicators of an offline (in the hall) rating, each rated on the same five levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Indicator {
    /// 整体满意度
    Overall,
    /// 服务效率
    Efficiency,
    /// 服务水平
    Competence,
    /// 服务态度
    Attitude,
}

impl Indicator {
    pub const ALL: [Indicator; 4] = [
        Indicator::Overall,
        Indicator::Efficiency,
        Indicator::Competence,
        Indicator::Attitude,
    ];

    /// The indicator's key in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Indicator::Overall => "overall",
            Indicator::Efficiency => "efficiency",
            Indicator::Competence => "competence",
            Indicator::Attitude => "attitude",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Indicator::Overall => "整体满意度",
            Indicator::Efficiency => "服务效率",
            Indicator::Competence => "服务水平",
            Indicator::Attitude => "服务态度",
        }
    }
}

/// The indicators a citizen rated. One left out stays out: it is not rated, and never gets the
/// overall level or any other default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall: Option<SatisfactionLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<SatisfactionLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competence: Option<SatisfactionLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attitude: Option<SatisfactionLevel>,
}

impl Indicators {
    pub fn is_empty(&self) -> bool {
        self.given().next().is_none()
    }

    pub fn get(&self, indicator: Indicator) -> Option<SatisfactionLevel> {
        match indicator {
            Indicator::Overall => self.overall,
            Indicator::Efficiency => self.efficiency,
            Indicator::Competence => self.competence,
            Indicator::Attitude => self.attitude,
        }
    }

    pub fn set(&mut self, indicator: Indicator, level: Option<SatisfactionLevel>) {
        let slot = match indicator {
            Indicator::Overall => &mut self.overall,
            Indicator::Efficiency => &mut self.efficiency,
            Indicator::Competence => &mut self.competence,
            Indicator::Attitude => &mut self.attitude,
        };
        *slot = level;
    }

    /// The indicators the citizen rated, in the standard's order.
    pub fn given(&self) -> impl Iterator<Item = (Indicator, SatisfactionLevel)> + '_ {
        Indicator::ALL
            .into_iter()
            .filter_map(|i| self.get(i).map(|level| (i, level)))
    }
}

/// The longest case number taken. Provincial case numbers run to about 40 characters.
pub const MAX_CASE_NUMBER_CHARS: usize = 64;

/// 办件编号: the number a window's business system gives the case it handled, which the provincial
/// system files the rating under. Checked before it is kept, because stored events are kept for good.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseNumber(String);

/// Why a text is not a case number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseNumberError {
    #[error("the case number is empty")]
    Empty,
    #[error("a case number is at most {MAX_CASE_NUMBER_CHARS} characters, not {0}")]
    TooLong(usize),
    #[error("a case number has no spaces before or after it")]
    Padded,
    #[error("a case number holds printable characters only")]
    NotPrintable,
}

impl CaseNumber {
    pub fn parse(text: &str) -> Result<CaseNumber, CaseNumberError> {
        if text.trim().is_empty() {
            return Err(CaseNumberError::Empty);
        }
        let chars = text.chars().count();
        if chars > MAX_CASE_NUMBER_CHARS {
            return Err(CaseNumberError::TooLong(chars));
        }
        if text.trim() != text {
            return Err(CaseNumberError::Padded);
        }
        // Control and format characters (a newline, a bidi override, a zero-width space) would let
        // the number print or compare as something else.
        if text
            .chars()
            .any(|c| c.is_control() || is_invisible_format(c))
        {
            return Err(CaseNumberError::NotPrintable);
        }
        Ok(CaseNumber(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

impl std::fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest kiosk name a rating request may name: the LAN's limit on a terminal's name.
pub const MAX_EVALUATOR_NAME_CHARS: usize = 64;

/// Where a rating request opens the rating screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case", deny_unknown_fields)]
pub enum Evaluator {
    /// The window's own evaluator, facing the citizen at the counter.
    Window,
    /// A self-service terminal (a kiosk) in the hall, by the name it was paired under.
    Kiosk { name: String },
}

/// A rating the window's business system asked for and the citizen has not yet given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRequest {
    pub window: u16,
    pub case_number: CaseNumber,
    pub evaluator: Evaluator,
}

/// The visit a rating is about, as it stood when the rating was recorded: what the provincial
/// system files it under besides the level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatedVisit {
    /// The window that served it.
    pub window: Option<u16>,
    /// 工号 of the staff member who served it.
    pub staff: Option<String>,
    pub service: String,
    /// 事项编码 of the service, from `[[services]] item_code`, when the hall set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_code: Option<String>,
    /// 办件编号, when the business system asked for this rating with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<CaseNumber>,
    /// The hall's time of the rating.
    pub at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_levels_map_from_the_score_and_back_with_their_national_names() {
        let names: Vec<(u8, &str)> = SatisfactionLevel::ALL
            .iter()
            .map(|l| (l.score(), l.name_zh()))
            .collect();
        assert_eq!(
            names,
            [
                (5, "非常满意"),
                (4, "满意"),
                (3, "基本满意"),
                (2, "不满意"),
                (1, "非常不满意")
            ]
        );
        for level in SatisfactionLevel::ALL {
            assert_eq!(SatisfactionLevel::from_score(level.score()), Some(level));
            assert_eq!(
                serde_json::to_string(&level).unwrap(),
                level.score().to_string()
            );
        }
        for score in [0, 6, 255] {
            assert_eq!(SatisfactionLevel::from_score(score), None);
            assert!(serde_json::from_str::<SatisfactionLevel>(&score.to_string()).is_err());
        }
        assert!(SatisfactionLevel::VerySatisfied > SatisfactionLevel::Dissatisfied);
    }

    #[test]
    fn indicators_hold_only_what_the_citizen_rated() {
        let none = Indicators::default();
        assert!(none.is_empty());
        assert_eq!(serde_json::to_string(&none).unwrap(), "{}");
        let some: Indicators = serde_json::from_str(r#"{"efficiency": 2, "attitude": 5}"#).unwrap();
        assert_eq!(
            some.given().collect::<Vec<_>>(),
            [
                (Indicator::Efficiency, SatisfactionLevel::Dissatisfied),
                (Indicator::Attitude, SatisfactionLevel::VerySatisfied)
            ]
        );
        assert_eq!(some.overall, None, "an indicator left out is not rated");
        assert_eq!(some.competence, None);
        let names: Vec<&str> = Indicator::ALL.iter().map(|i| i.name_zh()).collect();
        assert_eq!(names, ["整体满意度", "服务效率", "服务水平", "服务态度"]);
        for bad in [r#"{"overall": 0}"#, r#"{"overall": 6}"#, r#"{"speed": 3}"#] {
            assert!(serde_json::from_str::<Indicators>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_case_number_is_bounded_printable_and_not_blank() {
        assert_eq!(
            CaseNumber::parse("330102-2026-000123").unwrap().as_str(),
            "330102-2026-000123"
        );
        assert!(CaseNumber::parse("办件2026第12号").is_ok());
        assert!(CaseNumber::parse(&"9".repeat(MAX_CASE_NUMBER_CHARS)).is_ok());
        let refused = |text: &str| CaseNumber::parse(text).unwrap_err();
        assert_eq!(refused(""), CaseNumberError::Empty);
        assert_eq!(refused("   "), CaseNumberError::Empty);
        assert_eq!(refused("\u{3000}"), CaseNumberError::Empty);
        assert_eq!(
            refused(&"9".repeat(MAX_CASE_NUMBER_CHARS + 1)),
            CaseNumberError::TooLong(MAX_CASE_NUMBER_CHARS + 1)
        );
        assert_eq!(refused(" A1"), CaseNumberError::Padded);
        assert_eq!(refused("A1\n"), CaseNumberError::Padded);
        assert_eq!(refused("A\u{0}1"), CaseNumberError::NotPrintable);
        assert_eq!(refused("A\u{202E}1"), CaseNumberError::NotPrintable);
        assert_eq!(refused("A\u{200B}1"), CaseNumberError::NotPrintable);
        assert_eq!(
            refused("").to_string(),
            "the case number is empty",
            "the message says what is wrong"
        );
    }
}
