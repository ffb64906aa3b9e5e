//! Playing an assembled announcement. hallq spawns a player program (`aplay` by default) rather than
//! linking ALSA, so the default build needs no libasound and a board without sound still runs.

use std::path::Path;
use std::process::{Command, Stdio};

/// Something that plays a WAV file to the end, blocking until it has.
pub trait AudioSink: Send + Sync + 'static {
    fn play(&self, wav: &Path) -> Result<(), String>;
}

/// Runs `argv` with the file's path as its last argument, e.g. `aplay -q /tmp/call.wav`.
pub struct CommandPlayer {
    argv: Vec<String>,
}

impl CommandPlayer {
    pub fn new(argv: Vec<String>) -> CommandPlayer {
        CommandPlayer { argv }
    }
}

impl AudioSink for CommandPlayer {
    fn play(&self, wav: &Path) -> Result<(), String> {
        let (program, args) = self
            .argv
            .split_first()
            .ok_or_else(|| "no player program configured".to_string())?;
        let output = Command::new(program)
            .args(args)
            .arg(wav)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_player_that_fails_says_why() {
        let player = CommandPlayer::new(vec![
            "sh".into(),
            "-c".into(),
            "echo no device >&2; exit 1".into(),
        ]);
        let err = player.play(Path::new("/nonexistent.wav")).unwrap_err();
        assert!(err.contains("no device"), "{err}");
        let missing = CommandPlayer::new(vec!["hallq-no-such-player".into()]);
        assert!(
            missing
                .play(Path::new("x.wav"))
                .unwrap_err()
                .contains("cannot run")
        );
    }

    #[test]
    fn the_file_is_the_last_argument() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        let player = CommandPlayer::new(vec![
            "sh".into(),
            "-c".into(),
            format!("echo \"$0\" > {}", seen.display()),
        ]);
        player.play(Path::new("/tmp/call.wav")).unwrap();
        assert_eq!(
            std::fs::read_to_string(seen).unwrap().trim(),
            "/tmp/call.wav"
        );
    }
}
