//! `hallq voice`: build a clip pack, or write one announcement to check it by ear.

use std::path::PathBuf;

use crate::voice;

/// `hallq voice`: the clip pack.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum VoiceCommand {
    /// Generate a clip pack with espeak-ng (keeps clips already there, e.g. a hall's recordings).
    MakePack {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        /// The pack's folder; defaults to `[voice] clips`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace clips already there.
        #[arg(long)]
        replace: bool,
    },
    /// Write the announcement of one call to a WAV file, to check a pack by ear.
    Say {
        #[command(flatten)]
        hall: super::hall_args::HallArgs,
        number: String,
        window: u16,
        #[arg(long)]
        out: PathBuf,
        /// The pack's folder; defaults to `[voice] clips`.
        #[arg(long)]
        clips: Option<PathBuf>,
    },
}

pub fn voice_command(command: VoiceCommand) -> anyhow::Result<()> {
    match command {
        VoiceCommand::MakePack { hall, out, replace } => {
            let setup = hall.setup()?;
            let out = out.unwrap_or_else(|| PathBuf::from(&setup.config.voice.clips));
            let written = voice::pack::make_pack(&out, &setup.config.hall.languages, replace)?;
            println!("{written} clips written to {}", out.display());
            Ok(())
        }
        VoiceCommand::Say {
            hall,
            number,
            window,
            out,
            clips,
        } => {
            let setup = hall.setup()?;
            let clips_dir = clips.unwrap_or_else(|| PathBuf::from(&setup.config.voice.clips));
            let pack = voice::pack::ClipPack::new(clips_dir);
            let clips = voice::phrase::announcement(&setup.config.hall.languages, &number, window);
            pack.assemble(&clips, &out)?;
            println!("{}", out.display());
            Ok(())
        }
    }
}
