//! The announcer: one call at a time, never overlapping, and never a backlog of stale calls.
//!
//! Calls wait in a short queue. A newer call of the same window replaces its older one (the citizen
//! of the older call has been recalled or passed over already); past `max_pending` the oldest calls
//! are dropped; and a call that waited longer than `stale_after` is skipped. One worker plays them in
//! turn, so two announcements never sound at once.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::pack::ClipPack;
use super::phrase;
use super::player::AudioSink;
use crate::config::Lang;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub number: String,
    pub window: u16,
    pub at: Instant,
}

#[derive(Debug)]
pub struct CallQueue {
    pending: VecDeque<Call>,
    max_pending: usize,
    stale_after: Duration,
}

impl CallQueue {
    pub fn new(max_pending: usize, stale_after: Duration) -> CallQueue {
        CallQueue {
            pending: VecDeque::new(),
            max_pending: max_pending.max(1),
            stale_after,
        }
    }

    pub fn push(&mut self, call: Call) {
        self.pending.retain(|c| c.window != call.window);
        self.pending.push_back(call);
        while self.pending.len() > self.max_pending {
            if let Some(dropped) = self.pending.pop_front() {
                tracing::debug!(number = %dropped.number, "call dropped unannounced: too many waiting");
            }
        }
    }

    /// The next call still worth announcing at `now`.
    pub fn next(&mut self, now: Instant) -> Option<Call> {
        while let Some(call) = self.pending.pop_front() {
            if now.saturating_duration_since(call.at) <= self.stale_after {
                return Some(call);
            }
            tracing::debug!(number = %call.number, "call dropped unannounced: stale");
        }
        None
    }
}

/// Takes calls and announces them in the background.
#[derive(Clone)]
pub struct Announcer {
    queue: Arc<Mutex<CallQueue>>,
    wake: Arc<Notify>,
}

/// What the worker needs to turn a call into sound.
pub struct Voice {
    pub pack: ClipPack,
    pub languages: Vec<Lang>,
    pub sink: Arc<dyn AudioSink>,
    /// Where assembled announcements are written before playing.
    pub scratch: PathBuf,
}

impl Announcer {
    pub fn spawn(voice: Voice, queue: CallQueue) -> Announcer {
        let announcer = Announcer {
            queue: Arc::new(Mutex::new(queue)),
            wake: Arc::new(Notify::new()),
        };
        let worker = announcer.clone();
        tokio::spawn(async move { worker.work(Arc::new(voice)).await });
        announcer
    }

    /// Calls waiting to be announced.
    pub fn pending(&self) -> usize {
        self.queue
            .lock()
            .expect("no panic holds the lock")
            .pending
            .len()
    }

    pub fn announce(&self, number: &str, window: u16) {
        self.queue
            .lock()
            .expect("no panic holds the lock")
            .push(Call {
                number: number.to_string(),
                window,
                at: Instant::now(),
            });
        self.wake.notify_one();
    }

    async fn work(self, voice: Arc<Voice>) {
        let mut sound_failed = false;
        loop {
            self.wake.notified().await;
            loop {
                let next = self
                    .queue
                    .lock()
                    .expect("no panic holds the lock")
                    .next(Instant::now());
                let Some(call) = next else { break };
                let voice = voice.clone();
                let played = tokio::task::spawn_blocking(move || speak(&voice, &call)).await;
                match played {
                    Ok(Ok(())) => sound_failed = false,
                    // Logged once per outage: the wall keeps showing calls without sound.
                    Ok(Err(e)) if !sound_failed => {
                        tracing::warn!("voice announcements are silent: {e}");
                        sound_failed = true;
                    }
                    Ok(Err(e)) => tracing::debug!("still silent: {e}"),
                    Err(e) => tracing::error!("announcing a call panicked: {e}"),
                }
            }
        }
    }
}

fn speak(voice: &Voice, call: &Call) -> Result<(), String> {
    let clips = phrase::announcement(&voice.languages, &call.number, call.window);
    let wav = voice.scratch.join("hallq-announcement.wav");
    voice
        .pack
        .assemble(&clips, &wav)
        .map_err(|e| e.to_string())?;
    voice.sink.play(&wav)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(number: &str, window: u16, at: Instant) -> Call {
        Call {
            number: number.into(),
            window,
            at,
        }
    }

    #[test]
    fn a_newer_call_of_a_window_replaces_its_older_one() {
        let now = Instant::now();
        let mut queue = CallQueue::new(5, Duration::from_secs(60));
        queue.push(call("A001", 1, now));
        queue.push(call("B001", 2, now));
        queue.push(call("A002", 1, now));
        assert_eq!(queue.next(now).unwrap().number, "B001");
        assert_eq!(queue.next(now).unwrap().number, "A002");
        assert_eq!(queue.next(now), None);
    }

    #[test]
    fn a_long_queue_keeps_only_the_newest_calls() {
        let now = Instant::now();
        let mut queue = CallQueue::new(2, Duration::from_secs(60));
        for window in 1..=5 {
            queue.push(call(&format!("A00{window}"), window, now));
        }
        let numbers: Vec<_> = std::iter::from_fn(|| queue.next(now))
            .map(|c| c.number)
            .collect();
        assert_eq!(numbers, ["A004", "A005"]);
    }

    #[test]
    fn stale_calls_are_skipped() {
        let then = Instant::now();
        let mut queue = CallQueue::new(5, Duration::from_secs(30));
        queue.push(call("A001", 1, then));
        queue.push(call("A002", 2, then + Duration::from_secs(25)));
        let later = then + Duration::from_secs(40);
        assert_eq!(queue.next(later).unwrap().number, "A002");
        assert_eq!(queue.next(later), None);
    }
}
