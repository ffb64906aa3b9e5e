//! Every visible string of the screens is translated, and every character they can show — the
//! translations and the hall's own names — has a glyph in the embedded fonts. Slint drops a glyph that
//! no font has without a trace, so this is the check that catches it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hallq::config::{Lang, Localized};

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui")
}

fn slint_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            slint_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "slint") {
            found.push(path);
        }
    }
}

/// Reads a string literal starting at the opening quote; returns its value and the rest.
fn string_literal(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, escaped) = chars.next()?;
                value.push(match escaped {
                    'n' => '\n',
                    other => other,
                });
            }
            '"' => return Some((value, &text[i + 2..])),
            other => value.push(other),
        }
    }
    None
}

/// Every `@tr("…")` message of the `.slint` files.
fn slint_messages() -> BTreeSet<String> {
    let mut files = Vec::new();
    slint_files(&ui_dir(), &mut files);
    let mut messages = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("@tr(") {
            let after = rest[at + 4..].trim_start();
            let (message, tail) = string_literal(after)
                .unwrap_or_else(|| panic!("{}: @tr without a string literal", file.display()));
            assert!(
                !tail.trim_start().starts_with("=>"),
                "{}: hallq's .po files have no context; drop the context of {message:?}",
                file.display()
            );
            messages.insert(message);
            rest = tail;
        }
    }
    messages
}

/// The msgid → msgstr pairs of a `.po` file (single-line entries, as hallq writes them).
fn po_entries(lang: Lang) -> BTreeMap<String, String> {
    let path = ui_dir().join(format!("lang/{}/LC_MESSAGES/hallq.po", lang.code()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut entries = BTreeMap::new();
    let mut msgid: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("msgid ") {
            msgid = Some(string_literal(rest).expect("a quoted msgid").0);
        } else if let Some(rest) = line.strip_prefix("msgstr ") {
            let value = string_literal(rest).expect("a quoted msgstr").0;
            if let Some(id) = msgid.take().filter(|id| !id.is_empty()) {
                entries.insert(id, value);
            }
        }
    }
    entries
}

#[test]
fn every_screen_string_has_a_translation_in_every_language() {
    let messages = slint_messages();
    assert!(
        messages.len() > 50,
        "the extractor found the screens' strings"
    );
    let mut missing = Vec::new();
    for lang in Lang::ALL {
        let entries = po_entries(lang);
        for message in &messages {
            match entries.get(message) {
                Some(text) if !text.trim().is_empty() => {}
                _ => missing.push(format!("{}: {message:?}", lang.code())),
            }
        }
        let stale: Vec<&String> = entries.keys().filter(|k| !messages.contains(*k)).collect();
        assert!(
            stale.is_empty(),
            "{}: entries no screen uses: {stale:?}",
            lang.code()
        );
    }
    assert!(missing.is_empty(), "untranslated:\n{}", missing.join("\n"));
}

#[test]
fn translations_keep_their_placeholders() {
    for lang in Lang::ALL {
        for (id, text) in po_entries(lang) {
            for placeholder in ["{0}", "{1}"] {
                assert_eq!(
                    id.contains(placeholder),
                    text.contains(placeholder),
                    "{}: {placeholder} in {id:?} → {text:?}",
                    lang.code()
                );
            }
        }
    }
}

#[test]
fn uyghur_and_kazakh_translations_are_in_arabic_script() {
    let arabic = |c: char| ('\u{0600}'..='\u{06ff}').contains(&c);
    for lang in [Lang::Ug, Lang::Kk] {
        for (id, text) in po_entries(lang) {
            // The language names stay in their own script on every screen.
            if ["中文", "English"].contains(&id.as_str()) {
                continue;
            }
            assert!(
                text.chars().any(arabic),
                "{}: {text:?} for {id:?}",
                lang.code()
            );
        }
    }
}

/// One embedded font file.
struct Font {
    name: &'static str,
    bytes: Vec<u8>,
}

/// The screens' two families. Each must draw every character alone: a character one family lacks
/// would be drawn with whatever font the board has installed.
const FAMILIES: [(&str, &str); 3] = [
    ("Hallq Sans", "HallqSans-Regular.ttf"),
    ("Hallq Sans Arabic", "HallqSansArabic-Regular.ttf"),
    ("Hallq Sans Arabic", "HallqSansArabic-Bold.ttf"),
];

fn embedded_fonts() -> Vec<Font> {
    FAMILIES
        .iter()
        .map(|(_, file)| Font {
            name: file,
            bytes: std::fs::read(ui_dir().join("fonts").join(file)).unwrap(),
        })
        .collect()
}

impl Font {
    fn has_glyph(&self, c: char) -> bool {
        use skrifa::MetadataProvider;
        skrifa::FontRef::new(&self.bytes).is_ok_and(|font| font.charmap().map(c).is_some())
    }

    fn family(&self) -> String {
        use skrifa::MetadataProvider;
        use skrifa::raw::types::NameId;
        let font = skrifa::FontRef::new(&self.bytes).unwrap();
        font.localized_strings(NameId::FAMILY_NAME)
            .english_or_first()
            .map(|s| s.to_string())
            .unwrap_or_default()
    }
}

/// The characters of `text` that `font` has no glyph for.
fn uncovered(font: &Font, text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        // Bidi and joining controls shape text; they have no glyph of their own.
        .filter(|c| !('\u{200b}'..='\u{200f}').contains(c))
        .filter(|c| !font.has_glyph(*c))
        .collect()
}

#[test]
fn each_embedded_font_draws_every_character_of_every_translation() {
    for font in embedded_fonts() {
        for lang in Lang::ALL {
            for (id, text) in po_entries(lang) {
                let missing = uncovered(&font, &text);
                assert!(
                    missing.is_empty(),
                    "{}: {}: no glyph for {missing:?} in {text:?} ({id:?})",
                    font.name,
                    lang.code()
                );
            }
        }
    }
}

#[test]
fn each_embedded_font_draws_every_name_of_the_example_hall() {
    let config = hallq::config::example().config;
    let mut names: Vec<&Localized> = vec![&config.hall.name];
    names.extend(config.services.iter().map(|s| &s.name));
    names.extend(config.windows.iter().map(|w| &w.name));
    names.extend(config.rating_reasons.iter().map(|r| &r.name));
    for font in embedded_fonts() {
        for name in &names {
            for text in name.values() {
                let missing = uncovered(&font, text);
                assert!(
                    missing.is_empty(),
                    "{}: no glyph for {missing:?} in {text:?}",
                    font.name
                );
            }
        }
    }
}

#[test]
fn the_embedded_fonts_carry_the_family_names_the_screens_ask_for() {
    for (font, (family, _)) in embedded_fonts().iter().zip(FAMILIES) {
        assert_eq!(font.family(), family, "{}", font.name);
    }
}

#[test]
fn the_screens_name_only_the_embedded_families() {
    let mut files = Vec::new();
    slint_files(&ui_dir(), &mut files);
    let families: BTreeSet<&str> = FAMILIES.iter().map(|(family, _)| *family).collect();
    let mut imported = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("import \"") {
                if rest.contains("fonts/") {
                    imported.insert(
                        rest.trim_end_matches("\";")
                            .rsplit('/')
                            .next()
                            .unwrap()
                            .to_string(),
                    );
                }
                continue;
            }
            // Every quoted string on a font line names a family; a family outside the embedded
            // ones would be looked up among the board's fonts.
            if line.contains("font-family") || line.contains("font:") || line.contains("-font:") {
                let mut rest = line;
                while let Some(start) = rest.find('"') {
                    let (value, tail) = string_literal(&rest[start..]).expect("a closed string");
                    assert!(
                        families.contains(value.as_str()),
                        "{}: font {value:?} is not embedded",
                        file.display()
                    );
                    rest = tail;
                }
            }
        }
    }
    let files: BTreeSet<String> = FAMILIES.iter().map(|(_, f)| f.to_string()).collect();
    assert_eq!(imported, files, "the fonts the screens import");
}

#[test]
fn the_glyph_check_notices_a_character_no_font_has() {
    // Tibetan is in neither family: the check must report it rather than pass it by.
    for font in embedded_fonts() {
        assert_eq!(uncovered(&font, "A ཀ"), vec!['ཀ'], "{}", font.name);
    }
}
