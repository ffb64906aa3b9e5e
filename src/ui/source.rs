//! Where the screens' commands go and their events come from: the engine in this process (the hall
//! node, or the demo hall with every role), or the hall node over the LAN (a terminal board).
//!
//! The screens cannot tell the two apart except through the link: an engine in the process is always
//! there, while the LAN can drop. A terminal keeps its own copy of the hall state, built from the
//! state the hall node sends once and then from the push stream, event by event, with the same
//! `HallState::apply_stored` the engine uses, so both roads show the same hall.

use std::sync::Arc;
use std::time::Duration;

use crate::config::HallSetup;
use crate::engine::{EngineError, EngineHandle};
use crate::lan::client::{ClientError, HallClient, LinkState};
use crate::queue::{Command, HallState, StoredEvent};
use crate::store::Outcome;

/// A terminal's screens wait this long for the hall node before telling the citizen or staff member
/// that a tap did not go through; every retry inside it carries the same command id.
pub const SCREEN_PATIENCE: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub enum HallSource {
    Engine(EngineHandle),
    /// The hall node over the LAN, described by this board's own copy of the hall config.
    Lan {
        client: HallClient,
        setup: Arc<HallSetup>,
    },
}

impl From<EngineHandle> for HallSource {
    fn from(engine: EngineHandle) -> Self {
        HallSource::Engine(engine)
    }
}

/// Why a command from a screen has no outcome.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Lan(#[from] ClientError),
}

impl HallSource {
    /// A terminal's source. Commands are retried with their id for `patience` (a terminal's screens
    /// use [`SCREEN_PATIENCE`]), then given up with [`ClientError::GaveUp`].
    pub fn lan(client: HallClient, setup: Arc<HallSetup>, patience: Duration) -> HallSource {
        let client = client.with_retry(crate::lan::client::Retry {
            patience: Some(patience),
            ..Default::default()
        });
        HallSource::Lan { client, setup }
    }

    pub fn setup(&self) -> &Arc<HallSetup> {
        match self {
            HallSource::Engine(engine) => engine.setup(),
            HallSource::Lan { setup, .. } => setup,
        }
    }

    pub async fn execute(
        &self,
        command_id: String,
        command: Command,
    ) -> Result<Outcome, CommandError> {
        match self {
            HallSource::Engine(engine) => Ok(engine.execute(command_id, command).await?),
            HallSource::Lan { client, .. } => {
                Ok(client.execute_with_id(&command_id, command).await?)
            }
        }
    }
}

/// Follows the hall node over the LAN for a terminal's screens: fetches the state until the hall node
/// answers, then applies the push stream to it. `deliver` receives every new state with the events
/// that made it (none for the first). Runs until its task is aborted, as the screens close.
pub async fn follow_hall_node(
    client: HallClient,
    deliver: impl Fn(HallState, Vec<Arc<StoredEvent>>),
) {
    let mut delay = Duration::from_millis(250);
    let mut state = loop {
        match client.state().await {
            Ok(state) => break state,
            Err(ClientError::Rejected(e)) => {
                tracing::error!("the hall node refuses this terminal: {}", e.message)
            }
            Err(e) => tracing::debug!("hall state not fetched: {e}"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    };
    deliver(state.clone(), Vec::new());
    let mut events = client.follow(state.last_seq);
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while let Ok(event) = events.try_recv() {
            batch.push(event);
        }
        for event in &batch {
            state.apply_stored(event);
        }
        let batch = batch.into_iter().map(Arc::new).collect();
        deliver(state.clone(), batch);
    }
}

/// Calls `deliver` with the link to the hall node now and at every change, until its task is aborted.
pub async fn watch_link(client: HallClient, deliver: impl Fn(LinkState)) {
    let mut link = client.link();
    loop {
        let state = link.borrow_and_update().clone();
        deliver(state);
        if link.changed().await.is_err() {
            return;
        }
    }
}
