//! The languages hallq speaks and texts given once per language: a leaf every layer may use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A language the hall's screens, tickets and voice can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    Ug,
    Kk,
    En,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::Zh, Lang::Ug, Lang::Kk, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::Ug => "ug",
            Lang::Kk => "kk",
            Lang::En => "en",
        }
    }

    /// Uyghur and Kazakh (as written in Xinjiang) use the Arabic script, right to left.
    pub fn is_right_to_left(self) -> bool {
        matches!(self, Lang::Ug | Lang::Kk)
    }
}

/// A text given once per language, e.g. `name = { zh = "社保", en = "Social insurance" }`.
pub type Localized = BTreeMap<Lang, String>;

/// Picks the text in `lang`, falling back to Chinese, then to any language present.
pub fn localized(text: &Localized, lang: Lang) -> &str {
    text.get(&lang)
        .or_else(|| text.get(&Lang::Zh))
        .or_else(|| text.values().next())
        .map(String::as_str)
        .unwrap_or("")
}
