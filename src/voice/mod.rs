//! Voice announcements on the display wall: a chime, then "请 A012 号到 3 号窗口办理" and its Uyghur,
//! Kazakh and English forms, in the hall's languages and order. Offline only: each announcement is
//! joined from a pack of WAV clips ([`pack`]), played by an external player ([`player`]), one at a
//! time with stale calls collapsed ([`announcer`]).

pub mod announcer;
pub mod pack;
pub mod phrase;
pub mod player;

use std::sync::Arc;
use std::time::Duration;

pub use announcer::{Announcer, CallQueue, Voice};

use crate::config::{Lang, VoiceConfig};
use crate::ports::{Hall, HallNews};
use crate::queue::policy;

/// Starts the announcer the config asks for, or `None` when voice is off. Missing clips are reported
/// once here; the wall runs without them.
pub fn start(config: &VoiceConfig, languages: &[Lang]) -> Option<Announcer> {
    if !config.enabled {
        return None;
    }
    let pack = pack::ClipPack::new(&config.clips);
    let missing = pack.missing(languages);
    if let Some(first) = missing.first() {
        tracing::warn!(
            "voice clip pack at {} lacks {} clips (first: {}); run `hallq voice make-pack --out {}`",
            config.clips,
            missing.len(),
            first.display(),
            config.clips
        );
    }
    let voice = Voice {
        pack,
        languages: languages.to_vec(),
        sink: Arc::new(player::CommandPlayer::new(config.player.clone())),
        scratch: std::env::temp_dir(),
    };
    let queue = CallQueue::new(
        config.max_pending,
        Duration::from_secs(u64::from(config.stale_seconds)),
    );
    Some(Announcer::spawn(voice, queue))
}

/// Announces every call and recall the hall commits from now on.
pub async fn follow_hall(hall: Hall, announcer: Announcer) {
    let is_call = |event: &crate::queue::Event| policy::call_in(event).is_some();
    let follow = hall.follow(
        is_call,
        Arc::new(move |news| {
            let HallNews::State { state, events } = news else {
                return;
            };
            for stored in &events {
                if let Some((ticket, window)) = policy::call_in(&stored.event)
                    && let Some(t) = state.tickets.get(&ticket)
                {
                    announcer.announce(&t.number, window);
                }
            }
        }),
    );
    follow.await
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;
    use std::time::Instant;

    use super::*;

    /// Records when each announcement played, taking `length` per play like a real player.
    struct Recorder {
        length: Duration,
        plays: Mutex<Vec<(Instant, Instant, usize)>>,
    }

    impl player::AudioSink for Recorder {
        fn play(&self, wav: &Path) -> Result<(), String> {
            let start = Instant::now();
            let samples = hound::WavReader::open(wav)
                .map_err(|e| e.to_string())?
                .len();
            std::thread::sleep(self.length);
            self.plays
                .lock()
                .unwrap()
                .push((start, Instant::now(), samples as usize));
            Ok(())
        }
    }

    fn english_pack(root: &Path) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 1000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        std::fs::create_dir_all(root.join("en")).unwrap();
        for clip in pack::ClipPack::clip_names(Lang::En) {
            pack::write_wav(&root.join("en").join(format!("{clip}.wav")), spec, &[1; 10]).unwrap();
        }
    }

    /// An announcer speaking English from a pack of tiny clips, playing into `sink`.
    fn english_announcer(
        dir: &Path,
        sink: Arc<dyn player::AudioSink>,
        max_pending: usize,
    ) -> Announcer {
        english_pack(dir);
        Announcer::spawn(
            Voice {
                pack: pack::ClipPack::new(dir),
                languages: vec![Lang::En],
                sink,
                scratch: dir.to_path_buf(),
            },
            CallQueue::new(max_pending, Duration::from_secs(60)),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn announcements_never_overlap_and_a_burst_collapses_to_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Arc::new(Recorder {
            length: Duration::from_millis(80),
            plays: Mutex::default(),
        });
        let announcer = english_announcer(dir.path(), recorder.clone(), 2);
        announcer.announce("A001", 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        // While A001 plays, five windows call: only the two newest are still worth saying.
        for window in 2..=6 {
            announcer.announce(&format!("A00{window}"), window);
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        let plays = recorder.plays.lock().unwrap().clone();
        assert_eq!(plays.len(), 3, "A001, then A005 and A006");
        for pair in plays.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "one announcement starts after the last ends"
            );
        }
        // "Number A 0 0 1 please-go-to-window 1" after a chime: 8 clips of 10 samples.
        assert!(plays[0].2 >= 80);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_and_recalls_committed_by_the_engine_are_announced() {
        use crate::queue::Command;
        let dir = tempfile::tempdir().unwrap();
        let recorder = Arc::new(Recorder {
            length: Duration::from_millis(20),
            plays: Mutex::default(),
        });
        let announcer = english_announcer(dir.path(), recorder.clone(), 3);
        let setup = Arc::new(crate::config::example());
        let clock = Arc::new(crate::clock::ManualClock::new(1_795_572_000_000));
        let (engine, _writer) =
            crate::engine::start(setup, &dir.path().join("hall.db"), clock).unwrap();
        tokio::spawn(follow_hall(engine.clone().into(), announcer));
        let commands = [
            Command::IssueTicket {
                service: "SB".into(),
                citizen: None,
                by_staff: false,
            },
            Command::sign_in_by_number(1, "1001"),
            Command::CallNext { window: 1 },
            Command::Recall { window: 1 },
        ];
        for (i, command) in commands.into_iter().enumerate() {
            engine.execute(format!("c{i}"), command).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // "Number A 0 0 1 please-go-to-window 1" after a chime, twice: the call and the recall.
        let plays = recorder.plays.lock().unwrap().clone();
        assert_eq!(plays.len(), 2);
        assert!(plays.iter().all(|p| p.2 >= 80));
    }

    /// A board with no sound device: every play fails.
    struct NoDevice(std::sync::atomic::AtomicUsize);

    impl player::AudioSink for NoDevice {
        fn play(&self, _: &Path) -> Result<(), String> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err("aplay: main:831: audio open error: No such file or directory".into())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hall_without_sound_keeps_taking_calls() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(NoDevice(Default::default()));
        let announcer = english_announcer(dir.path(), sink.clone(), 2);
        announcer.announce("A001", 1);
        tokio::time::sleep(Duration::from_millis(200)).await;
        announcer.announce("A002", 2);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            sink.0.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "the second call is still tried"
        );
        assert_eq!(announcer.pending(), 0, "failed plays do not pile up");
    }
}
