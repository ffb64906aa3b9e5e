//! Who a request comes from: the paired device behind its token, and the part of the engine's
//! command-id space that belongs to it.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::auth::{Device, TokenHash};
use super::error::ApiError;
use super::shared::Hall;

/// The paired device a request comes from. The token travels as `Authorization: Bearer …`, or as
/// `?access_token=…` on reads for browsers' EventSource, which cannot set headers. The token's hash stays with
/// it for a push stream to check later that the device has not been revoked.
pub struct Terminal(pub Device, pub CommandScope, pub TokenHash);

/// The part of the engine's command-id space that belongs to one paired device. Terminals choose their
/// own command ids, so two terminals may pick the same one; scoping keeps their retries apart and keeps
/// one terminal from reading another's answers by guessing its ids.
pub struct CommandScope(String);

/// Hex digits of the token's hash that name a device's scope: enough to keep paired devices apart.
const SCOPE_CHARS: usize = 12;
/// The longest command id a terminal may choose: the engine's limit less the scope and its separator.
/// `docs/openapi.yaml` states the same figure (a test holds the two together).
pub const MAX_TERMINAL_COMMAND_ID: usize = crate::engine::MAX_COMMAND_ID_LEN - SCOPE_CHARS - 1;

impl CommandScope {
    fn of_token(token: &str) -> CommandScope {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(
            format!("command-scope:{token}").as_bytes(),
        ));
        CommandScope(digest[..SCOPE_CHARS].to_string())
    }

    /// The engine's id for a terminal's command id.
    pub(super) fn engine_id(&self, command_id: &str) -> Result<String, ApiError> {
        // Checked here in full, so the terminal hears its own limit rather than the engine's.
        if command_id.len() > MAX_TERMINAL_COMMAND_ID
            || !crate::engine::valid_command_id(command_id)
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_command_id",
                format!(
                    "a command id is 1 to {MAX_TERMINAL_COMMAND_ID} printable ASCII characters"
                ),
            ));
        }
        Ok(format!("{}:{command_id}", self.0))
    }

    /// The terminal's own id back from the engine's.
    pub(super) fn terminal_id(&self, engine_id: &str) -> String {
        engine_id
            .strip_prefix(&self.0)
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(engine_id)
            .to_string()
    }
}

impl FromRequestParts<Hall> for Terminal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, hall: &Hall) -> Result<Terminal, ApiError> {
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let from_header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token);
        // Only reads take the token from the address: EventSource needs it, while a token in the
        // address of a command would end up in proxies' and browsers' logs.
        let from_query = (parts.method == axum::http::Method::GET)
            .then(|| parts.uri.query())
            .flatten()
            .and_then(|q| {
                q.split('&')
                    .find_map(|pair| pair.strip_prefix("access_token="))
            });
        let Some(token) = from_header.or(from_query) else {
            hall.metrics.count_auth_failure();
            return Err(ApiError::unauthorized(
                "pair this terminal first, then send its token as \"Authorization: Bearer <token>\"",
            ));
        };
        let token = token.trim();
        let scope = CommandScope::of_token(token);
        let hash = TokenHash::of(token);
        // On this thread: a hop to a blocking thread and back cost more than the read itself.
        let found = hall.registry.lookup(&hash).map_err(|e| {
            tracing::error!("reading paired devices: {e}");
            ApiError::unavailable("the paired devices cannot be read now; retry")
        })?;
        match found {
            Some((device, seen)) => {
                if let Some(connection) = parts.extensions.get::<super::serve::ConnectionSlot>() {
                    connection.mark_paired();
                }
                // The answer does not wait for the last-seen write.
                if let Some(seen) = seen {
                    let registry = hall.registry.clone();
                    tokio::task::spawn_blocking(move || registry.note_seen(seen));
                }
                Ok(Terminal(device, scope, hash))
            }
            None => {
                hall.metrics.count_auth_failure();
                Err(ApiError::unauthorized("unknown device token"))
            }
        }
    }
}
