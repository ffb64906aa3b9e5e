//! Clip packs: one folder per language of 16-bit WAV clips (digits, letters, words, a chime), joined
//! into one WAV per announcement. The generator speaks each clip with espeak-ng; a hall may replace
//! any clip with a recording of its own, in the same format.

use std::f32::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};

use super::phrase;
use crate::config::Lang;

/// Silence after the chime and between languages, and between clips of one sentence.
const PAUSE_BETWEEN_LANGUAGES_MS: u32 = 350;
const PAUSE_BETWEEN_CLIPS_MS: u32 = 40;

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("clip {path}: {message}")]
    Clip { path: PathBuf, message: String },
    #[error(
        "clip {path} is {found}, the pack is {expected}: convert it (e.g. sox in.wav -r {rate} -c 1 -b 16 out.wav)"
    )]
    Format {
        path: PathBuf,
        found: String,
        expected: String,
        rate: u32,
    },
    #[error("writing {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("espeak-ng failed for {path}: {message}")]
    Espeak { path: PathBuf, message: String },
}

fn describe(spec: &WavSpec) -> String {
    format!(
        "{} Hz, {} channel(s), {}-bit {:?}",
        spec.sample_rate, spec.channels, spec.bits_per_sample, spec.sample_format
    )
}

#[derive(Debug, Clone)]
pub struct ClipPack {
    root: PathBuf,
}

impl ClipPack {
    pub fn new(root: impl Into<PathBuf>) -> ClipPack {
        ClipPack { root: root.into() }
    }

    pub fn clip_path(&self, lang: Lang, clip: &str) -> PathBuf {
        self.root.join(lang.code()).join(format!("{clip}.wav"))
    }

    /// Every clip a language needs: digits, letters, its words and the chime.
    pub fn clip_names(lang: Lang) -> Vec<String> {
        let mut names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        names.extend(('A'..='Z').map(String::from));
        names.extend(phrase::words(lang).into_iter().map(String::from));
        names.extend(phrase::extra_clips(lang).iter().map(|c| c.to_string()));
        names.push("chime".into());
        names
    }

    /// Clips the pack lacks for `languages`, so a hall learns at start rather than at the first call.
    pub fn missing(&self, languages: &[Lang]) -> Vec<PathBuf> {
        languages
            .iter()
            .flat_map(|lang| {
                ClipPack::clip_names(*lang)
                    .into_iter()
                    .map(|c| self.clip_path(*lang, &c))
            })
            .filter(|p| !p.exists())
            .collect()
    }

    /// Joins `clips` into one WAV at `out`, with short pauses, all in the first clip's format.
    pub fn assemble(&self, clips: &[(Lang, String)], out: &Path) -> Result<(), PackError> {
        let mut spec: Option<WavSpec> = None;
        let mut samples: Vec<i16> = Vec::new();
        let mut previous: Option<Lang> = None;
        for (lang, clip) in clips {
            let path = self.clip_path(*lang, clip);
            let (clip_spec, clip_samples) = read_clip(&path)?;
            let spec = *spec.get_or_insert(clip_spec);
            if clip_spec != spec {
                return Err(PackError::Format {
                    path,
                    found: describe(&clip_spec),
                    expected: describe(&spec),
                    rate: spec.sample_rate,
                });
            }
            if previous.is_some() {
                let pause = if clip == "chime" || previous != Some(*lang) {
                    PAUSE_BETWEEN_LANGUAGES_MS
                } else {
                    PAUSE_BETWEEN_CLIPS_MS
                };
                let frames = spec.sample_rate * pause / 1000;
                samples.extend(std::iter::repeat_n(
                    0,
                    (frames * u32::from(spec.channels)) as usize,
                ));
            }
            samples.extend(clip_samples);
            // The chime stands apart from the first language.
            previous = if clip == "chime" { None } else { Some(*lang) };
            if clip == "chime" {
                let frames = spec.sample_rate * PAUSE_BETWEEN_LANGUAGES_MS / 1000;
                samples.extend(std::iter::repeat_n(
                    0,
                    (frames * u32::from(spec.channels)) as usize,
                ));
            }
        }
        let Some(spec) = spec else {
            return Ok(());
        };
        write_wav(out, spec, &samples)
    }
}

fn read_clip(path: &Path) -> Result<(WavSpec, Vec<i16>), PackError> {
    let fail = |message: String| PackError::Clip {
        path: path.to_path_buf(),
        message,
    };
    let reader = WavReader::open(path).map_err(|e| fail(e.to_string()))?;
    let spec = reader.spec();
    if spec.bits_per_sample != 16 || spec.sample_format != SampleFormat::Int {
        return Err(fail(format!(
            "is {}; clips are 16-bit PCM",
            describe(&spec)
        )));
    }
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    Ok((spec, samples))
}

pub fn write_wav(path: &Path, spec: WavSpec, samples: &[i16]) -> Result<(), PackError> {
    let fail = |e: hound::Error| PackError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut writer = WavWriter::create(path, spec).map_err(fail)?;
    for s in samples {
        writer.write_sample(*s).map_err(fail)?;
    }
    writer.finalize().map_err(fail)
}

/// A two-note chime (E5, then C5), faded in and out so it does not click.
pub fn chime(sample_rate: u32) -> Vec<i16> {
    let note = |freq: f32| {
        let len = sample_rate as usize * 3 / 10;
        (0..len).map(move |i| {
            let t = i as f32 / sample_rate as f32;
            let fade = (i.min(len - i) as f32 / (sample_rate as f32 * 0.02)).min(1.0);
            let decay = (-3.0 * t).exp();
            (0.4 * fade * decay * (2.0 * PI * freq * t).sin() * f32::from(i16::MAX)) as i16
        })
    };
    note(659.25).chain(note(523.25)).collect()
}

/// The espeak-ng voice for each language (Debian's espeak-ng has all four).
pub fn espeak_voice(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "cmn",
        Lang::Ug => "ug",
        Lang::Kk => "kk",
        Lang::En => "en",
    }
}

/// Generates the clips `languages` need under `root`, keeping any clip already there (a hall's own
/// recording) unless `replace` is set. Returns how many clips were written.
pub fn make_pack(root: &Path, languages: &[Lang], replace: bool) -> Result<usize, PackError> {
    let pack = ClipPack::new(root);
    let mut written = 0;
    for lang in languages {
        let dir = root.join(lang.code());
        std::fs::create_dir_all(&dir).map_err(|e| PackError::Write {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        let mut rate = None;
        for name in ClipPack::clip_names(*lang) {
            let path = pack.clip_path(*lang, &name);
            if path.exists() && !replace {
                continue;
            }
            if name == "chime" {
                continue;
            }
            let text = match name.as_str() {
                d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => {
                    phrase::digit_text(*lang, d.as_bytes()[0] - b'0').to_string()
                }
                letter if letter.len() == 1 => letter.to_string(),
                word => phrase::word_text(*lang, word).unwrap_or(word).to_string(),
            };
            speak(espeak_voice(*lang), &text, &path)?;
            rate = Some(read_clip(&path)?.0.sample_rate);
            written += 1;
        }
        let chime_path = pack.clip_path(*lang, "chime");
        if !chime_path.exists() || replace {
            let rate = match rate {
                Some(rate) => rate,
                None => read_clip(&pack.clip_path(*lang, "0"))?.0.sample_rate,
            };
            let spec = WavSpec {
                channels: 1,
                sample_rate: rate,
                bits_per_sample: 16,
                sample_format: SampleFormat::Int,
            };
            write_wav(&chime_path, spec, &chime(rate))?;
            written += 1;
        }
    }
    Ok(written)
}

fn speak(voice: &str, text: &str, out: &Path) -> Result<(), PackError> {
    let fail = |message: String| PackError::Espeak {
        path: out.to_path_buf(),
        message,
    };
    let result = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "140", "-w"])
        .arg(out)
        .arg(text)
        .output()
        .map_err(|e| {
            fail(format!(
                "cannot run espeak-ng ({e}); apt-get install espeak-ng"
            ))
        })?;
    if !result.status.success() {
        return Err(fail(
            String::from_utf8_lossy(&result.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rate: u32) -> WavSpec {
        WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        }
    }

    fn put(root: &Path, lang: Lang, clip: &str, rate: u32, samples: &[i16]) {
        std::fs::create_dir_all(root.join(lang.code())).unwrap();
        write_wav(
            &root.join(lang.code()).join(format!("{clip}.wav")),
            spec(rate),
            samples,
        )
        .unwrap();
    }

    #[test]
    fn clips_are_joined_in_order_with_pauses() {
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), Lang::En, "chime", 1000, &[9; 10]);
        put(dir.path(), Lang::En, "A", 1000, &[1; 5]);
        put(dir.path(), Lang::En, "1", 1000, &[2; 5]);
        let pack = ClipPack::new(dir.path());
        let out = dir.path().join("out.wav");
        let clips = [
            (Lang::En, "chime".to_string()),
            (Lang::En, "A".to_string()),
            (Lang::En, "1".to_string()),
        ];
        pack.assemble(&clips, &out).unwrap();
        let samples: Vec<i16> = WavReader::open(&out)
            .unwrap()
            .into_samples()
            .map(Result::unwrap)
            .collect();
        // chime, 350 ms after it, A, 40 ms, 1 (at 1000 Hz a millisecond is a sample).
        assert_eq!(samples.len(), 10 + 350 + 5 + 40 + 5);
        assert_eq!(&samples[..10], &[9; 10]);
        assert_eq!(&samples[360..365], &[1; 5]);
        assert_eq!(&samples[405..], &[2; 5]);
    }

    #[test]
    fn a_clip_in_another_format_is_named_with_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), Lang::Zh, "please", 22050, &[1; 5]);
        put(dir.path(), Lang::Zh, "A", 44100, &[1; 5]);
        let err = ClipPack::new(dir.path())
            .assemble(
                &[(Lang::Zh, "please".into()), (Lang::Zh, "A".into())],
                &dir.path().join("out.wav"),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("zh/A.wav") && err.contains("44100 Hz") && err.contains("sox"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_clip_is_reported_before_any_call() {
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), Lang::En, "A", 1000, &[1]);
        let missing = ClipPack::new(dir.path()).missing(&[Lang::En]);
        assert!(missing.iter().any(|p| p.ends_with("en/chime.wav")));
        assert!(!missing.iter().any(|p| p.ends_with("en/A.wav")));
    }

    #[test]
    fn the_chime_is_two_notes_within_range() {
        let samples = chime(8000);
        assert_eq!(samples.len(), 2 * 2400);
        assert!(samples.iter().any(|s| *s > 5000));
        assert_eq!(samples[0], 0, "fades in");
    }
}
