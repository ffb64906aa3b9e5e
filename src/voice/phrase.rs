//! What is said for a call, per language, as a list of clip names. "请 A012 号到 3 号窗口办理" is
//! `please A 0 1 2 number to 3 window`; each name is a WAV file in the language's folder of the pack.

use crate::config::Lang;

/// One piece of a sentence template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Word(&'static str),
    /// The ticket number, letter by letter and digit by digit: "A012" is A, 0, 1, 2.
    Ticket,
    /// The window number: in Chinese as a number (十二), elsewhere digit by digit.
    Window,
}

use Part::{Ticket, Window, Word};

fn template(lang: Lang) -> &'static [Part] {
    match lang {
        // 请 A012 号 到 3 号窗口办理
        Lang::Zh => &[
            Word("please"),
            Ticket,
            Word("number"),
            Word("to"),
            Window,
            Word("window"),
        ],
        // A012 نومۇرلۇق، 3 نومۇرلۇق كۆزنەككە كېلىڭ
        Lang::Ug => &[Ticket, Word("number"), Window, Word("window")],
        // A012 нөмірлі, 3 терезеге келіңіз (said in Kazakh; written in Arabic script on screens)
        Lang::Kk => &[Ticket, Word("number"), Window, Word("window")],
        // Number A012, please go to window 3
        Lang::En => &[Word("number"), Ticket, Word("window"), Window],
    }
}

/// The word clips a language's folder must hold, besides digits 0-9, letters A-Z and `chime`.
pub fn words(lang: Lang) -> Vec<&'static str> {
    template(lang)
        .iter()
        .filter_map(|p| match p {
            Word(w) => Some(*w),
            _ => None,
        })
        .collect()
}

/// The text espeak-ng speaks for each word clip, when a pack is generated.
pub fn word_text(lang: Lang, word: &str) -> Option<&'static str> {
    Some(match (lang, word) {
        (Lang::Zh, "please") => "请",
        (Lang::Zh, "number") => "号",
        (Lang::Zh, "to") => "到",
        (Lang::Zh, "window") => "号窗口办理",
        (Lang::Zh, "10") => "十",
        (Lang::Ug, "number") => "نومۇرلۇق",
        (Lang::Ug, "window") => "نومۇرلۇق كۆزنەككە كېلىڭ",
        (Lang::Kk, "number") => "нөмірлі",
        (Lang::Kk, "window") => "терезеге келіңіз",
        (Lang::En, "number") => "Number",
        (Lang::En, "window") => "please go to window",
        _ => return None,
    })
}

/// The text espeak-ng speaks for a digit clip.
pub fn digit_text(lang: Lang, digit: u8) -> &'static str {
    const ZH: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    const UG: [&str; 10] = [
        "نۆل",
        "بىر",
        "ئىككى",
        "ئۈچ",
        "تۆت",
        "بەش",
        "ئالتە",
        "يەتتە",
        "سەككىز",
        "توققۇز",
    ];
    const KK: [&str; 10] = [
        "нөл",
        "бір",
        "екі",
        "үш",
        "төрт",
        "бес",
        "алты",
        "жеті",
        "сегіз",
        "тоғыз",
    ];
    const EN: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let table = match lang {
        Lang::Zh => ZH,
        Lang::Ug => UG,
        Lang::Kk => KK,
        Lang::En => EN,
    };
    table[usize::from(digit % 10)]
}

/// The clips for one call in one language, in speaking order.
pub fn clips(lang: Lang, number: &str, window: u16) -> Vec<String> {
    let mut out = Vec::new();
    for part in template(lang) {
        match part {
            Word(w) => out.push((*w).to_string()),
            Ticket => out.extend(
                number
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .map(|c| c.to_ascii_uppercase().to_string()),
            ),
            Window if lang == Lang::Zh => out.extend(chinese_number(window)),
            Window => out.extend(window.to_string().chars().map(String::from)),
        }
    }
    out
}

/// A window number as Chinese says it, in clips: 3 三, 10 十, 12 十二, 20 二十, 35 三十五. Past 99,
/// digit by digit, as numbers that long are read.
fn chinese_number(n: u16) -> Vec<String> {
    let digit = |d: u16| d.to_string();
    match n {
        0..=9 => vec![digit(n)],
        10..=99 => {
            let (tens, ones) = (n / 10, n % 10);
            let mut clips = Vec::new();
            if tens > 1 {
                clips.push(digit(tens));
            }
            clips.push("10".to_string());
            if ones > 0 {
                clips.push(digit(ones));
            }
            clips
        }
        _ => n.to_string().chars().map(String::from).collect(),
    }
}

/// Clips a language needs beyond digits, letters and its words: Chinese says ten (十).
pub fn extra_clips(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Zh => &["10"],
        _ => &[],
    }
}

/// The whole announcement: a chime, then the call in each language, in the hall's order.
pub fn announcement(languages: &[Lang], number: &str, window: u16) -> Vec<(Lang, String)> {
    let Some(first) = languages.first() else {
        return Vec::new();
    };
    let mut out = vec![(*first, "chime".to_string())];
    for lang in languages {
        out.extend(clips(*lang, number, window).into_iter().map(|c| (*lang, c)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_reads_the_ticket_by_character_and_names_the_window() {
        assert_eq!(
            clips(Lang::Zh, "A012", 3),
            ["please", "A", "0", "1", "2", "number", "to", "3", "window"]
        );
    }

    #[test]
    fn chinese_says_window_numbers_as_numbers() {
        let window = |n| {
            let clips = clips(Lang::Zh, "A1", n);
            clips[5..clips.len() - 1].to_vec()
        };
        assert_eq!(window(3), ["3"]);
        assert_eq!(window(10), ["10"]);
        assert_eq!(window(12), ["10", "2"]);
        assert_eq!(window(20), ["2", "10"]);
        assert_eq!(window(35), ["3", "10", "5"]);
        assert_eq!(window(101), ["1", "0", "1"]);
    }

    #[test]
    fn english_puts_the_window_last_and_reads_two_digit_windows_by_digit() {
        assert_eq!(
            clips(Lang::En, "B105", 12),
            ["number", "B", "1", "0", "5", "window", "1", "2"]
        );
    }

    #[test]
    fn the_announcement_has_one_chime_then_each_language_in_order() {
        let said = announcement(&[Lang::Ug, Lang::Zh], "C001", 5);
        assert_eq!(said[0], (Lang::Ug, "chime".to_string()));
        assert_eq!(said.iter().filter(|(_, c)| c == "chime").count(), 1);
        let first_zh = said.iter().position(|(l, _)| *l == Lang::Zh).unwrap();
        assert!(said[1..first_zh].iter().all(|(l, _)| *l == Lang::Ug));
        assert_eq!(said.last().unwrap(), &(Lang::Zh, "window".to_string()));
    }

    #[test]
    fn every_word_of_every_template_has_text_to_generate() {
        for lang in Lang::ALL {
            for word in words(lang)
                .into_iter()
                .chain(extra_clips(lang).iter().copied())
            {
                assert!(word_text(lang, word).is_some(), "{lang:?} {word}");
            }
        }
    }
}
