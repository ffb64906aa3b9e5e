//! The terminal side of the LAN: a kiosk, window terminal or display wall talking to the hall node.
//!
//! Two promises. A command keeps its id across every retry, so when a reply is lost and the link comes
//! back, the retry gets the first result instead of acting twice. And the event follower resumes from
//! the last sequence it handed on, so a terminal that loses the hall node misses nothing. While the link
//! is down the client says so through [`HallClient::link`], for the screen to show.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use super::auth::Role;
use super::tls::{self, CertificatePin, Fingerprint, split_pairing_code};
use super::wire::card::{CardReadBody, CardTapAnswer, CardTapRequest};
use super::wire::{
    self, ApiError, CommandDone, CommandRequest, DisplayView, KEEP_ALIVE, PairRequest,
    PairResponse, RefusedResponse, TerminalEvent,
};
use crate::engine::CardTapOutcome;
use crate::identity::StaffPin;
use crate::queue::{CardTap, Command, Event, StoredEvent, TicketId};
use crate::retry::Backoff;
use crate::store::Outcome;
use rustls::pki_types::CertificateDer;

/// The HTTP client of a terminal: over TLS it trusts only the pinned certificate.
fn http_client(pin: Option<CertificatePin>) -> reqwest::Client {
    let pinned = pin.is_some();
    tls::lan_http_builder(pin)
        .expect("ring supports the default TLS versions")
        .connect_timeout(Duration::from_secs(3))
        // Below the hall node's default request-head limit (15 s), which closes idle connections:
        // the client drops one first rather than send on a closing socket.
        .pool_idle_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        // Pairing reads the certificate the hall node showed, to pin it.
        .tls_info(pinned)
        .build()
        .expect("an HTTP client with a TLS setup of its own always builds")
}

/// An error with its causes: reqwest's own text hides why a connection failed (a refused
/// certificate among them).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// One attempt may take this long before the client tries again with the same id.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// No byte at all (not even a keep-alive) for this long means the link is gone.
const STREAM_SILENCE: Duration = Duration::from_secs(KEEP_ALIVE.as_secs() * 3);

pub use crate::ports::LinkState;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The hall node answered and said no (bad token, wrong role, bad request): retrying cannot help.
    #[error("the hall node refused the request ({status}): {message}", status = .0.status, message = .0.message)]
    Rejected(ApiError),
    /// The hall node stayed out of reach for the whole patience; the command may or may not have been
    /// executed, and sending it again with the same id finds out without acting twice.
    #[error("the hall node was not reached in time (command {command_id}): {last_error}")]
    GaveUp {
        command_id: String,
        last_error: String,
    },
    #[error("cannot reach the hall node: {0}")]
    Unreachable(String),
    /// Refused here, before anything was sent: an ID number over plain HTTP, or a command with an
    /// ID hash.
    #[error("not sent: {0}")]
    NotSent(String),
}

/// How a command is retried, and the push stream reconnected, while the hall node is out of reach.
/// The waits follow [`Backoff`]: each between half of its step and its step, the steps doubling from
/// `first_delay` up to `max_delay`.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Give up after this long; `None` retries until the hall node answers.
    pub patience: Option<Duration>,
}

impl Retry {
    pub fn backoff(self) -> Backoff {
        Backoff {
            first: self.first_delay,
            cap: self.max_delay,
        }
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            patience: None,
        }
    }
}

#[derive(Clone)]
pub struct HallClient {
    base: String,
    token: String,
    http: reqwest::Client,
    /// The hall node's certificate, where the hall LAN runs TLS.
    certificate: Option<Fingerprint>,
    retry: Retry,
    link: watch::Sender<LinkState>,
}

impl HallClient {
    /// A client for a terminal already paired, holding `token`, over plain HTTP.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> HallClient {
        HallClient::with_http(base.into(), token.into(), None, http_client(None))
    }

    /// A client for a terminal already paired, holding `token`, that talks to the hall node at an
    /// `https://` address only if it shows the certificate with `fingerprint`.
    pub fn pinned(
        base: impl Into<String>,
        token: impl Into<String>,
        fingerprint: Fingerprint,
    ) -> HallClient {
        let http = http_client(Some(CertificatePin::Full(fingerprint)));
        HallClient::with_http(base.into(), token.into(), Some(fingerprint), http)
    }

    fn with_http(
        base: String,
        token: String,
        certificate: Option<Fingerprint>,
        http: reqwest::Client,
    ) -> HallClient {
        HallClient {
            base: base.trim_end_matches('/').to_string(),
            token,
            http,
            certificate,
            retry: Retry::default(),
            link: watch::Sender::new(LinkState::Unknown),
        }
    }

    pub fn with_retry(mut self, retry: Retry) -> HallClient {
        self.retry = retry;
        self
    }

    /// Pairs this terminal with the hall node using a one-time `code`. A code with a certificate part
    /// pairs over TLS only with the hall node whose certificate it names, and the client returned is
    /// pinned to that certificate's whole fingerprint ([`HallClient::certificate`]), for the terminal
    /// to keep.
    pub async fn pair(
        base: impl Into<String>,
        code: &str,
        name: &str,
        role: Role,
    ) -> Result<(HallClient, PairResponse), ClientError> {
        let base = base.into();
        let bad_code = |message: String| {
            ClientError::Rejected(ApiError {
                status: 400,
                code: "bad_pairing_code".into(),
                message,
            })
        };
        let (secret, pin) = split_pairing_code(code).map_err(|e| bad_code(e.to_string()))?;
        if pin.is_none() && base.starts_with("https://") {
            return Err(bad_code(
                "the hall LAN runs TLS: use the whole pairing code, with its certificate part"
                    .into(),
            ));
        }
        let unpaired = HallClient::with_http(base, String::new(), None, http_client(pin));
        let request = PairRequest::new(&secret, name, role);
        let response = unpaired
            .http
            .post(format!("{}/api/v1/pair", unpaired.base))
            .json(&request)
            .timeout(ATTEMPT_TIMEOUT)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
        let seen = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(|der| Fingerprint::of(&CertificateDer::from(der.to_vec())));
        let paired: PairResponse = read_json(response).await?;
        let client = match seen {
            Some(fingerprint) => {
                HallClient::pinned(unpaired.base, paired.token.clone(), fingerprint)
            }
            None => HallClient::new(unpaired.base, paired.token.clone()),
        };
        Ok((client, paired))
    }

    /// The hall node's certificate this client is pinned to, when the hall LAN runs TLS.
    pub fn certificate(&self) -> Option<Fingerprint> {
        self.certificate
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Follows whether the hall node is reachable.
    pub fn link(&self) -> watch::Receiver<LinkState> {
        self.link.subscribe()
    }

    fn set_link(&self, state: LinkState) {
        self.link.send_if_modified(|now| {
            let changed = *now != state;
            if changed {
                match &state {
                    LinkState::Lost { reason } => {
                        tracing::warn!("lost the hall node: {reason}; retrying")
                    }
                    LinkState::Unpaired { reason } => {
                        tracing::error!("the hall node refuses this terminal's token: {reason}")
                    }
                    LinkState::Connected => tracing::info!("connected to the hall node"),
                    LinkState::Unknown => {}
                }
                *now = state.clone();
            }
            changed
        });
    }

    /// Sends `command` with a fresh id.
    pub async fn execute(&self, command: Command) -> Result<Outcome, ClientError> {
        self.execute_with_id(&uuid::Uuid::now_v7().to_string(), command)
            .await
    }

    /// Sends `command` as `command_id`, retrying with the same id until the hall node answers.
    pub async fn execute_with_id(
        &self,
        command_id: &str,
        command: Command,
    ) -> Result<Outcome, ClientError> {
        let command =
            wire::Command::try_from(command).map_err(|e| ClientError::NotSent(e.to_string()))?;
        self.send_until_answered(command_id, command).await
    }

    /// Sends a card tap as `command_id`, retrying with the same id until the hall node answers. The
    /// card's number goes inside TLS only: to a hall node reached over plain HTTP it is not sent.
    pub async fn tap_card(
        &self,
        command_id: &str,
        tap: CardTap,
    ) -> Result<CardTapOutcome, ClientError> {
        if self.certificate.is_none() || !self.base.starts_with("https://") {
            return Err(ClientError::NotSent(
                "an ID number goes to the hall node inside TLS only, and this terminal reaches it \
                 over plain HTTP"
                    .into(),
            ));
        }
        let request = CardTapRequest {
            command_id: command_id.to_string(),
            card: CardReadBody::of(&tap.card),
            service: tap.service,
            expired: tap.expired,
        };
        drop(tap.card);
        self.until_answered(command_id, || self.send_card_tap(&request))
            .await
            .map(CardTapAnswer::into_outcome)
    }

    async fn send_card_tap(&self, request: &CardTapRequest) -> Result<CardTapAnswer, Attempt> {
        Ok(match self.post_once("/api/v1/card-taps", request).await? {
            Ok(done) => CardTapAnswer::Done(done),
            Err(refused) => CardTapAnswer::Refused(refused),
        })
    }

    /// Signs `staff` in at `window` with a fresh id; the PIN travels to the hall node, which checks it.
    pub async fn sign_in(
        &self,
        window: u16,
        staff: String,
        pin: Option<StaffPin>,
    ) -> Result<Outcome, ClientError> {
        let command = wire::Command::SignIn { window, staff, pin };
        self.send_until_answered(&uuid::Uuid::now_v7().to_string(), command)
            .await
    }

    async fn send_until_answered(
        &self,
        command_id: &str,
        command: wire::Command,
    ) -> Result<Outcome, ClientError> {
        let request = CommandRequest {
            command_id: command_id.to_string(),
            command,
        };
        self.until_answered(command_id, || self.send_command(&request))
            .await
    }

    /// Tries `attempt` until the hall node answers, within the patience, keeping the link's state.
    async fn until_answered<T, Fut>(
        &self,
        command_id: &str,
        attempt: impl Fn() -> Fut,
    ) -> Result<T, ClientError>
    where
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        let started = tokio::time::Instant::now();
        let mut delays = self.retry.backoff().delays();
        loop {
            let last_error = match attempt().await {
                Ok(outcome) => {
                    self.set_link(LinkState::Connected);
                    return Ok(outcome);
                }
                Err(Attempt::Final(e)) => {
                    self.set_link(link_after_refusal(&e));
                    return Err(ClientError::Rejected(e));
                }
                Err(Attempt::Retry(reason)) => reason,
            };
            self.set_link(LinkState::Lost {
                reason: last_error.clone(),
            });
            let delay = delays.next_delay();
            if self
                .retry
                .patience
                .is_some_and(|patience| started.elapsed() + delay > patience)
            {
                return Err(ClientError::GaveUp {
                    command_id: command_id.to_string(),
                    last_error,
                });
            }
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_command(&self, request: &CommandRequest) -> Result<Outcome, Attempt> {
        Ok(
            match self
                .post_once::<CommandDone, RefusedResponse>("/api/v1/commands", request)
                .await?
            {
                Ok(done) => done.into_outcome(),
                Err(refused) => refused.into_outcome(),
            },
        )
    }

    /// POSTs `request` to `path` once: the hall node's answer (`D`), its refusal as a 409 says it
    /// (`R`), or whether the same request may be sent again.
    async fn post_once<D: DeserializeOwned, R: DeserializeOwned>(
        &self,
        path: &str,
        request: &impl serde::Serialize,
    ) -> Result<Result<D, R>, Attempt> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(request)
            .timeout(ATTEMPT_TIMEOUT)
            .send()
            .await
            .map_err(|e| Attempt::Retry(e.to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| Attempt::Retry(format!("reply cut off: {e}")))?;
        if status == StatusCode::OK {
            return serde_json::from_slice(&body)
                .map(Ok)
                .map_err(|e| Attempt::Retry(format!("unreadable reply: {e}")));
        }
        if status == StatusCode::CONFLICT
            && let Ok(refused) = serde_json::from_slice::<R>(&body)
        {
            return Ok(Err(refused));
        }
        let error = api_error(status, &body);
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(Attempt::Retry(error.message))
        } else {
            Err(Attempt::Final(error))
        }
    }

    /// What the display wall shows now.
    pub async fn display_view(&self) -> Result<DisplayView, ClientError> {
        self.get_json("/api/v1/display").await
    }

    pub async fn state(&self) -> Result<crate::queue::HallState, ClientError> {
        self.get_json("/api/v1/state").await
    }

    /// The hall node's `/healthz`. Asked now and then beside the push stream, it leaves the link's
    /// state to the stream, which notices a lost hall node sooner.
    pub async fn health(&self) -> Result<super::wire::Health, ClientError> {
        let response = self
            .http
            .get(format!("{}/healthz", self.base))
            .timeout(ATTEMPT_TIMEOUT)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        read_json(response).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(ATTEMPT_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                self.set_link(LinkState::Lost {
                    reason: e.to_string(),
                });
                ClientError::Unreachable(e.to_string())
            })?;
        let read = read_json(response).await;
        match &read {
            Err(ClientError::Rejected(e)) => self.set_link(link_after_refusal(e)),
            _ => self.set_link(LinkState::Connected),
        }
        read
    }

    /// Follows the event log from after `after`, reconnecting for as long as the receiver is kept.
    /// Every event arrives once, in order, across any number of reconnects.
    pub fn follow(&self, after: u64) -> mpsc::Receiver<StoredEvent> {
        let (sender, receiver) = mpsc::channel(1024);
        let client = self.clone();
        tokio::spawn(async move { client.follow_loop(after, sender).await });
        receiver
    }

    async fn follow_loop(&self, mut after: u64, sender: mpsc::Sender<StoredEvent>) {
        let mut delays = self.retry.backoff().delays();
        while !sender.is_closed() {
            match self.stream_once(&mut after, &sender).await {
                Ok(()) => return,
                Err(link) => {
                    self.set_link(link);
                    tokio::select! {
                        _ = tokio::time::sleep(delays.next_delay()) => {}
                        _ = sender.closed() => return,
                    }
                }
            }
        }
    }

    /// Follows the push stream and calls `on_call(number, window)` for every call and recall, until the
    /// stream's receiver side is dropped. Numbers come from the stream's issue events, or from the
    /// display view for tickets issued before `after`.
    pub async fn follow_calls(&self, after: u64, mut on_call: impl FnMut(&str, u16)) {
        let mut numbers: HashMap<TicketId, String> = HashMap::new();
        let mut events = self.follow(after);
        while let Some(StoredEvent { event, .. }) = events.recv().await {
            if let Event::TicketIssued { ticket, number, .. } = &event {
                numbers.insert(*ticket, number.clone());
            }
            let Some((ticket, window)) = crate::queue::policy::call_in(&event) else {
                continue;
            };
            if !numbers.contains_key(&ticket)
                && let Ok(view) = self.display_view().await
            {
                numbers.extend(view.calls.into_iter().map(|c| (c.ticket, c.number)));
            }
            if let Some(number) = numbers.get(&ticket) {
                on_call(number, window);
            }
        }
    }

    /// One connection of the push stream. `Ok` means the receiver was dropped; `Err` is the link
    /// state it broke with.
    async fn stream_once(
        &self,
        after: &mut u64,
        sender: &mpsc::Sender<StoredEvent>,
    ) -> Result<(), LinkState> {
        let lost = |reason: String| LinkState::Lost { reason };
        let mut response = self
            .http
            .get(format!("{}/api/v1/events?after={after}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| lost(e.to_string()))?;
        if response.status() != StatusCode::OK {
            let status = response.status();
            let body = response.bytes().await.unwrap_or_default();
            let error = api_error(status, &body);
            return Err(match link_after_refusal(&error) {
                unpaired @ LinkState::Unpaired { .. } => unpaired,
                _ => lost(error.message),
            });
        }
        self.set_link(LinkState::Connected);
        let mut parser = SseParser::default();
        loop {
            let chunk = tokio::select! {
                chunk = tokio::time::timeout(STREAM_SILENCE, response.chunk()) => chunk,
                _ = sender.closed() => return Ok(()),
            };
            let chunk = match chunk {
                Err(_) => return Err(lost("the hall node went silent".into())),
                Ok(Err(e)) => return Err(lost(e.to_string())),
                Ok(Ok(None)) => return Err(lost("the hall node closed the stream".into())),
                Ok(Ok(Some(chunk))) => chunk,
            };
            for message in parser.push(&chunk) {
                let event = serde_json::from_str::<TerminalEvent>(&message.data)
                    .map_err(|e| lost(format!("unreadable event: {e}")))?
                    .into_stored();
                if event.seq <= *after {
                    continue;
                }
                if sender.send(event.clone()).await.is_err() {
                    return Ok(());
                }
                *after = event.seq;
            }
        }
    }
}

enum Attempt {
    Retry(String),
    Final(ApiError),
}

/// The hall node answered with `error`: a 401 means it no longer knows this terminal, a 5xx that it
/// cannot serve now; anything else (a refused command, a bad request) still shows a working link.
fn link_after_refusal(error: &ApiError) -> LinkState {
    if error.status == StatusCode::UNAUTHORIZED.as_u16() {
        LinkState::Unpaired {
            reason: error.message.clone(),
        }
    } else if error.status >= 500 {
        LinkState::Lost {
            reason: error.message.clone(),
        }
    } else {
        LinkState::Connected
    }
}

fn api_error(status: StatusCode, body: &[u8]) -> ApiError {
    let mut error = serde_json::from_slice::<ApiError>(body).unwrap_or_else(|_| ApiError {
        status: 0,
        code: "http_error".into(),
        message: String::from_utf8_lossy(body).trim().to_string(),
    });
    error.status = status.as_u16();
    error
}

async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| ClientError::Unreachable(e.to_string()))?;
    if !status.is_success() {
        return Err(ClientError::Rejected(api_error(status, &body)));
    }
    serde_json::from_slice(&body)
        .map_err(|e| ClientError::Unreachable(format!("unreadable reply: {e}")))
}

/// One Server-Sent Events message with data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// Splits a byte stream into SSE messages; chunks may end anywhere, even inside a UTF-8 character.
#[derive(Default)]
pub struct SseParser {
    pending: Vec<u8>,
}

impl SseParser {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseMessage> {
        self.pending.extend_from_slice(chunk);
        let mut messages = Vec::new();
        while let Some(end) = find_blank_line(&self.pending) {
            let block: Vec<u8> = self.pending.drain(..end.0).collect();
            self.pending.drain(..end.1 - end.0);
            let text = String::from_utf8_lossy(&block);
            let mut message = SseMessage {
                id: None,
                event: None,
                data: String::new(),
            };
            let mut has_data = false;
            for line in text.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => message.id = Some(value.to_string()),
                    "event" => message.event = Some(value.to_string()),
                    "data" => {
                        if has_data {
                            message.data.push('\n');
                        }
                        message.data.push_str(value);
                        has_data = true;
                    }
                    // Comments (keep-alives) and unknown fields.
                    _ => {}
                }
            }
            if has_data {
                messages.push(message);
            }
        }
        messages
    }
}

/// Where the first blank line is: (end of the block, start of what follows).
fn find_blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let lf = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_messages_split_across_chunks_are_joined() {
        let mut parser = SseParser::default();
        assert!(
            parser
                .push(b": keep-alive\n\nid: 7\nevent: ticket_")
                .is_empty()
        );
        let messages = parser.push("called\ndata: {\"n\":\"号\"}\n\n".as_bytes());
        assert_eq!(
            messages,
            vec![SseMessage {
                id: Some("7".into()),
                event: Some("ticket_called".into()),
                data: "{\"n\":\"号\"}".into()
            }]
        );
    }

    #[test]
    fn a_character_cut_between_chunks_survives() {
        let mut parser = SseParser::default();
        let text = "data: 号\n\n".as_bytes();
        assert!(parser.push(&text[..7]).is_empty());
        assert_eq!(parser.push(&text[7..])[0].data, "号");
    }

    #[test]
    fn crlf_and_multi_line_data() {
        let mut parser = SseParser::default();
        let messages = parser.push(b"data: a\r\ndata: b\r\n\r\n");
        assert_eq!(messages[0].data, "a\nb");
    }
}
