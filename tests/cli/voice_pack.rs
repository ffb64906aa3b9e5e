//! The clip pack generator with the real espeak-ng, and an announcement joined from its clips.
//! Needs the `espeak-ng` package; without it the test says so and passes.

use std::path::Path;

use hallq::config::Lang;
use hallq::voice::pack::{self, ClipPack};
use hallq::voice::phrase;

#[test]
fn a_generated_pack_speaks_a_call_and_keeps_a_halls_own_recordings() {
    if !Path::new("/usr/bin/espeak-ng").exists() {
        println!("SKIPPED: /usr/bin/espeak-ng is missing (apt-get install -y espeak-ng)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let languages = [Lang::Zh, Lang::Ug, Lang::Kk, Lang::En];
    // The hall recorded its own English "A" at espeak-ng's rate: the generator must keep it.
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    let recorded = dir.path().join("en/A.wav");
    pack::write_wav(&recorded, spec, &[7; 2205]).unwrap();

    let written = pack::make_pack(dir.path(), &languages, false).unwrap();
    let per_language = |lang| ClipPack::clip_names(lang).len();
    let all: usize = languages.iter().map(|l| per_language(*l)).sum();
    assert_eq!(written, all - 1, "every clip but the recording");
    let pack = ClipPack::new(dir.path());
    assert!(pack.missing(&languages).is_empty());
    let kept: Vec<i16> = hound::WavReader::open(&recorded)
        .unwrap()
        .into_samples()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kept, vec![7; 2205]);

    let out = dir.path().join("call.wav");
    pack.assemble(&phrase::announcement(&languages, "A012", 3), &out)
        .unwrap();
    let reader = hound::WavReader::open(&out).unwrap();
    let seconds = reader.duration() as f64 / f64::from(reader.spec().sample_rate);
    assert!(
        (4.0..60.0).contains(&seconds),
        "four languages take a few seconds, not {seconds}"
    );
    let loud = reader
        .into_samples::<i16>()
        .filter(|s| s.as_ref().unwrap().abs() > 1000)
        .count();
    assert!(loud > 10_000, "the announcement is not silence");
}

#[test]
fn the_voice_commands_build_a_pack_and_say_a_call() {
    if !Path::new("/usr/bin/espeak-ng").exists() {
        println!("SKIPPED: /usr/bin/espeak-ng is missing (apt-get install -y espeak-ng)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clips = dir.path().join("voice");
    let hallq = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hallq"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let made = hallq(&["voice", "make-pack", "--out", clips.to_str().unwrap()]);
    assert!(made.contains("clips written"), "{made}");
    let again = hallq(&["voice", "make-pack", "--out", clips.to_str().unwrap()]);
    assert!(
        again.starts_with("0 clips written"),
        "a second run keeps the pack: {again}"
    );
    let wav = dir.path().join("call.wav");
    hallq(&[
        "voice",
        "say",
        "A012",
        "12",
        "--clips",
        clips.to_str().unwrap(),
        "--out",
        wav.to_str().unwrap(),
    ]);
    assert!(hound::WavReader::open(&wav).unwrap().duration() > 22050);
}
