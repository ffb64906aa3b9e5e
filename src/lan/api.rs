//! The HTTP API of the hall node: pairing, commands, state, the display view. `docs/openapi.yaml`
//! documents it for terminal makers.
//!
//! Every request but pairing and the static page carries a device token. The order of checks is fixed
//! so that nothing reaches the engine unless it passed all of them: declared body size (413, before
//! anything else, so that no body is asked for), token (401), content type (415), body size (413), JSON
//! shape (400/422), role (403); only then the engine decides (200, or 409 with its refusal).

use super::auth::{Device, PairingError, Role};
use super::error::ApiError;
pub use super::extract::{CommandScope, MAX_TERMINAL_COMMAND_ID, Terminal};
use super::shared::Hall;
use super::wire::card::{CardTapAnswer, CardTapDone, CardTapRefused, CardTapRequest};
use super::wire::{
    self, CommandDone, CommandRequest, PairRequest, PairResponse, RatingRequestBody,
    RefusedResponse,
};
use super::{display, metrics, push, web};
use crate::engine::EngineError;
use crate::identity::{CardReadError, StaffPin};
use crate::queue::CardTap;
use crate::queue::{Command, HallState};
use crate::store::{CommandResult, Outcome};
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};

pub fn router(hall: Hall) -> Router {
    let body_limit = axum::extract::DefaultBodyLimit::max(hall.max_body_bytes);
    Router::new()
        .route("/api/v1/pair", routing::post(pair))
        .route("/api/v1/commands", routing::post(execute))
        .route(
            "/api/v1/windows/{window}/rating-requests",
            routing::post(request_rating),
        )
        .route("/api/v1/card-taps", routing::post(tap_card))
        .route("/api/v1/state", routing::get(state))
        .route("/api/v1/display", routing::get(display_view))
        .route("/api/v1/events", routing::get(push::events))
        .route("/metrics", routing::get(metrics::metrics))
        .route("/healthz", routing::get(metrics::healthz))
        .route("/display", routing::get(web::display_page))
        .fallback(not_found)
        .layer(body_limit)
        .layer(axum::middleware::from_fn_with_state(
            hall.max_body_bytes,
            declared_length_within_limit,
        ))
        .with_state(hall)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Refuses, before any of its body is read (so `Expect: 100-continue` gets no "100 Continue"), a
/// request whose declared length is over the limit.
async fn declared_length_within_limit(
    State(max_body_bytes): State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > max_body_bytes as u64 => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is {length} bytes; at most {max_body_bytes} are taken"),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// Parses a JSON body already limited in size, with errors a terminal maker can act on. A body that
/// does not say it is JSON is refused before it is read.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = json_bytes(headers, body)?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::from_json(&e))
}

/// The body of a request that says it is JSON, read within its limits.
fn json_bytes(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            if content_type.is_empty() {
                "send the body as JSON with \"Content-Type: application/json\"".to_string()
            } else {
                format!(
                    "the body must be JSON (\"Content-Type: application/json\"), not \"{}\"",
                    content_type.chars().take(80).collect::<String>()
                )
            },
        ));
    }
    let bytes = body.map_err(|rejection| {
        let timed_out =
            std::iter::successors(Some(&rejection as &dyn std::error::Error), |e| e.source())
                .any(|e| e.is::<tower_http::timeout::TimeoutError>());
        if timed_out {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the body did not arrive in time",
            );
        }
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "bad_body"
        };
        ApiError::new(status, code, rejection.body_text())
    })?;
    Ok(bytes)
}

/// Pair a terminal with a one-time code.
#[utoipa::path(
    post,
    path = "/api/v1/pair",
    security(()),
    request_body = PairRequest,
    responses(
        (status = 201, description = "Paired; keep the token, it is not shown again.", body = PairResponse),
        (status = 400, description = "Not JSON.", body = ApiError),
        (status = 403, description = "The code is wrong, used, expired, or minted for another role.", body = ApiError),
        (status = 408, description = "The body did not arrive within `[lan] request_body_timeout_ms` (`body_timeout`).", body = ApiError),
        (status = 413, description = "The body, or the length it declares, is over the limit (`body_too_large`); a request that expects `100 Continue` gets this instead.", body = ApiError),
        (status = 415, description = "The body is not declared as `application/json` (`unsupported_media_type`).", body = ApiError),
        (status = 422, description = "Not a pairing request, or a window the hall lacks.", body = ApiError),
        (status = 429, description = "Ten wrong codes from this address in the last minute; pairing pauses for it until the oldest is a minute old.", body = ApiError),
        (status = 503, description = "The hall node cannot pair now: its database cannot be read. The code is not spent.", body = ApiError),
    )
)]
pub(super) async fn pair(
    State(hall): State<Hall>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PairResponse>), ApiError> {
    if hall
        .pairing_guard
        .paused(peer.ip(), std::time::Instant::now())
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "pairing_paused",
            "too many wrong pairing codes: wait a minute",
        ));
    }
    let request: PairRequest = json_body(&headers, body)?;
    let invalid = |message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    };
    let (code, name, role) = request.parts();
    if let Role::Counter { window } = role
        && hall.engine.setup().window(window).is_none()
    {
        return Err(invalid(format!("there is no window {window}")));
    }
    let name = name.checked().map_err(invalid)?.to_string();
    // A browser (the web display) may send the whole code as shown; its certificate part is for the
    // terminal to check the hall node by, and means nothing here.
    let code = match super::tls::split_pairing_code(code) {
        Ok((secret, _)) => secret,
        Err(_) => code.to_string(),
    };
    let registry = hall.registry.clone();
    let device = Device { name, role };
    let paired = {
        let device = device.clone();
        // A kiosk gets its token and nothing more: it sends cards to this node to hash.
        tokio::task::spawn_blocking(move || registry.pair(&code, &device.name, role))
            .await
            .map_err(|_| ApiError::unavailable("pairing was interrupted"))?
    };
    match paired {
        Ok(token) => {
            tracing::info!(device = %device.name, role = role.name(), "terminal paired");
            Ok((
                StatusCode::CREATED,
                Json(PairResponse::new(token, device.name, role)),
            ))
        }
        Err(PairingError::Store(e)) => Err(ApiError::unavailable(e.to_string())),
        Err(refused) => {
            hall.metrics.count_auth_failure();
            hall.pairing_guard
                .failed(peer.ip(), std::time::Instant::now());
            Err(ApiError::forbidden(refused.to_string()))
        }
    }
}

/// Execute one command, once.
#[utoipa::path(
    post,
    path = "/api/v1/commands",
    request_body(content = CommandRequest, example = json!({"command_id": "0193a7c4-2f7e-7cc1-9a51-2f0c1f6b9e10", "command": {"command": "call_next", "window": 3}})),
    responses(
        (status = 200, description = "Done.", body = CommandDone),
        (status = 400, description = "Not JSON.", body = ApiError),
        (status = 401, description = "No token, or one the hall node does not know.", body = ApiError),
        (status = 403, description = "The terminal's role may not send this command, or a window terminal rates a visit another window served (a kiosk rates none).", body = ApiError),
        (status = 408, description = "The body did not arrive within `[lan] request_body_timeout_ms` (`body_timeout`).", body = ApiError),
        (status = 409, description = "The engine refused the command (e.g. `queue_empty`, `window_paused`, `recall_limit`), or the command id was used before for another command (`command_id_reused`, without `seq`).", body = wire::Conflict),
        (status = 413, description = "The body, or the length it declares, is over the limit (`body_too_large`); a request that expects `100 Continue` gets this instead.", body = ApiError),
        (status = 415, description = "The body is not declared as `application/json` (`unsupported_media_type`).", body = ApiError),
        (status = 422, description = "Not a command request, or a value outside its limits (`invalid_request`, `bad_command_id`); a command as kiosks of earlier versions sent it (`issue_ticket` with a `citizen`, even `null`, or `check_in`): `card_tap_required`.", body = ApiError),
        (status = 503, description = "The engine cannot answer now, or the token cannot be checked; retry with the same id.", body = ApiError),
    )
)]
pub(super) async fn execute(
    State(hall): State<Hall>,
    Terminal(device, scope, _): Terminal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = json_bytes(&headers, body)?;
    let request: CommandRequest = serde_json::from_slice(&bytes)
        .map_err(|e| refuse_card_command(&bytes).unwrap_or_else(|| ApiError::from_json(&e)))?;
    let pin = match &request.command {
        wire::Command::SignIn { pin, .. } => pin.clone(),
        _ => None,
    };
    let command = Command::from(request.command);
    run_command(&hall, &device, &scope, &request.command_id, command, pin).await
}

/// Runs a terminal's command once its role allows it: the role table, the visit a rating is for,
/// the kiosk a rating request names; then the engine, in the terminal's own command-id space.
async fn run_command(
    hall: &Hall,
    device: &Device,
    scope: &CommandScope,
    command_id: &str,
    command: Command,
    pin: Option<StaffPin>,
) -> Result<Response, ApiError> {
    if let Some(why) = device.role.refuses(&command) {
        hall.metrics.count_auth_failure();
        return Err(ApiError::forbidden(why));
    }
    if let Command::Rate { number, .. } = &command
        && matches!(device.role, Role::Counter { .. } | Role::Kiosk)
    {
        let state = hall.engine.state().await.map_err(engine_error)?;
        let refused = match state.ticket_by_number(number) {
            Some(ticket) => device.role.refuses_rating(&device.name, ticket),
            // A window hears of an unknown ticket from the engine, which names the refusal; a kiosk
            // has no rating open for it.
            None if device.role == Role::Kiosk => Some(format!(
                "a kiosk rates a visit only when the window's business system opened the rating on it; {number} has no rating open at this kiosk"
            )),
            None => None,
        };
        if let Some(why) = refused {
            hall.metrics.count_auth_failure();
            return Err(ApiError::forbidden(why));
        }
    }
    if let Command::RequestRating {
        kiosk: Some(kiosk), ..
    } = &command
    {
        kiosk_is_paired(hall, kiosk).await?;
    }
    let engine_id = scope.engine_id(command_id)?;
    let executed = match command {
        // A sign-in goes through the staff book, which checks the PIN and keeps only the verdict.
        Command::SignIn { window, staff, .. } => {
            hall.engine.sign_in(engine_id, window, staff, pin).await
        }
        command => hall.engine.execute(engine_id, command).await,
    };
    let mut outcome = executed.map_err(engine_error)?;
    hall.metrics.count_command(&outcome);
    outcome.command_id = scope.terminal_id(&outcome.command_id);
    Ok(outcome_response(outcome))
}

/// A rating request may send the rating to a kiosk only by the name a paired kiosk has.
async fn kiosk_is_paired(hall: &Hall, name: &str) -> Result<(), ApiError> {
    let registry = hall.registry.clone();
    let devices = tokio::task::spawn_blocking(move || registry.list())
        .await
        .map_err(|_| ApiError::unavailable("the paired devices could not be read"))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let paired = devices
        .iter()
        .any(|d| d.role == Role::Kiosk && d.revoked_ms.is_none() && d.name == name);
    if paired {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!(
                "no paired kiosk is named \"{}\"",
                name.chars().take(64).collect::<String>()
            ),
        ))
    }
}

/// Open the rating screen for a case a window finished (好差评).
///
/// The window's business system calls this when it finishes a case: the window's evaluator (or
/// the kiosk named) opens for the visit, and the rating given there carries the case number. Sent
/// with the token of the window's own terminal (or an admin's).
#[utoipa::path(
    post,
    path = "/api/v1/windows/{window}/rating-requests",
    params(("window" = u16, Path, description = "The window that handled the case.", minimum = 1)),
    request_body(content = RatingRequestBody, example = json!({"request_id": "case-330102-2026-000123", "case_number": "330102-2026-000123", "ticket": "A012"})),
    responses(
        (status = 200, description = "The rating screen is open for the visit (or already was, for the same request).", body = CommandDone),
        (status = 401, description = "No token, or one the hall node does not know.", body = ApiError),
        (status = 403, description = "The token is not the terminal of this window (nor an admin's).", body = ApiError),
        (status = 404, description = "The hall has no such window (`unknown_window`).", body = ApiError),
        (status = 409, description = "The engine refused: the case number is malformed (`invalid`), the ticket was served at another window (`not_served_here`), is not finished (`wrong_state`) or is rated (`already_rated`), or the window has no finished visit to rate (`nothing_to_rate`).", body = wire::Conflict),
        (status = 415, description = "The body is not declared as `application/json` (`unsupported_media_type`).", body = ApiError),
        (status = 422, description = "Not a rating request, or a kiosk no paired kiosk is named (`invalid_request`).", body = ApiError),
        (status = 503, description = "The engine cannot answer now, or the token cannot be checked; retry with the same `request_id`.", body = ApiError),
    )
)]
pub(super) async fn request_rating(
    State(hall): State<Hall>,
    Terminal(device, scope, _): Terminal,
    Path(window): Path<u16>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if hall.engine.setup().window(window).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_window",
            format!("there is no window {window}"),
        ));
    }
    let request: RatingRequestBody = json_body(&headers, body)?;
    let RatingRequestBody {
        request_id,
        case_number,
        ticket,
        kiosk,
    } = request;
    let command = Command::RequestRating {
        window,
        case_number,
        ticket,
        kiosk,
    };
    let request_id = request_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    run_command(&hall, &device, &scope, &request_id, command, None).await
}

/// A command as kiosks of earlier versions sent it: a check-in or a ticket with a `citizen` (an ID
/// hash the kiosk made itself, or `null` for a walk-in). Refused with a code of its own, so an old
/// kiosk's log says what to do. Nothing of it is quoted.
fn refuse_card_command(body: &[u8]) -> Option<ApiError> {
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let command = request.get("command")?;
    let is_card = command.get("command").and_then(|c| c.as_str()) == Some("check_in")
        || command.get("citizen").is_some();
    is_card.then(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_tap_required",
            "this hall node hashes ID cards itself and takes no citizen or id_hash from a \
             terminal: a kiosk sends a card to POST /api/v1/card-taps inside TLS, and a walk-in \
             ticket without \"citizen\" (update the kiosk's hallq)",
        )
    })
}

/// Take a ticket or check a booking in with an ID card laid on a kiosk's reader.
#[utoipa::path(
    post,
    path = "/api/v1/card-taps",
    request_body(content = CardTapRequest, example = json!({"command_id": "0193a7c4-2f7e-7cc1-9a51-2f0c1f6b9e11", "card": {"id_number": "11010519491231002X", "name": "张三", "birth_date": "1949-12-31"}, "service": "HJ", "expired": false})),
    responses(
        (status = 200, description = "The tap took a ticket: `ticket_issued` for the service waited for, `checked_in` for a booking.", body = CardTapDone),
        (status = 400, description = "Not JSON.", body = ApiError),
        (status = 401, description = "No token, or one the hall node does not know.", body = ApiError),
        (status = 403, description = "Not a kiosk (or admin) (`forbidden`), or the request came over plain HTTP (`tls_required`): an ID number crosses the LAN inside TLS only.", body = ApiError),
        (status = 409, description = "The tap took no ticket: too early or too late for the booking, no booking, a ticket already held, an expired card the service does not take, or another refusal; or the command id was used before for another command (`command_id_reused`).", body = CardTapRefused),
        (status = 413, description = "The body is over the limit (`body_too_large`).", body = ApiError),
        (status = 415, description = "The body is not declared as `application/json` (`unsupported_media_type`).", body = ApiError),
        (status = 422, description = "Not a card tap (`invalid_request`, `bad_command_id`), or the ID number or name is not in a card's form (`bad_id_number`, `bad_name`). Nothing is recorded and the number is not quoted.", body = ApiError),
        (status = 503, description = "The engine or the hall key cannot answer now; retry with the same id.", body = ApiError),
    )
)]
pub(super) async fn tap_card(
    State(hall): State<Hall>,
    Terminal(device, scope, _): Terminal,
    axum::Extension(transport): axum::Extension<super::serve::Transport>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if transport != super::serve::Transport::Tls {
        hall.metrics.count_auth_failure();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "tls_required",
            "an ID number crosses the LAN inside TLS only: this hall node runs its LAN without TLS",
        ));
    }
    let request: CardTapRequest = json_body(&headers, body)?;
    if !matches!(device.role, Role::Kiosk | Role::Admin) {
        hall.metrics.count_auth_failure();
        return Err(ApiError::forbidden(format!(
            "a {} does not read ID cards",
            device.role.name()
        )));
    }
    let CardTapRequest {
        command_id,
        card,
        service,
        expired,
    } = request;
    let card = card.into_card_read().map_err(|e| {
        let code = match e {
            CardReadError::BadName => "bad_name",
            _ => "bad_id_number",
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
    })?;
    let engine_id = scope.engine_id(&command_id)?;
    let tap = CardTap {
        card,
        service,
        expired,
    };
    let answer = hall
        .engine
        .tap_card(engine_id, tap)
        .await
        .map_err(engine_error)?;
    hall.metrics.count_command(&answer.outcome);
    Ok(match CardTapAnswer::of(answer, command_id) {
        CardTapAnswer::Done(done) => (StatusCode::OK, Json(done)).into_response(),
        CardTapAnswer::Refused(refused) => (StatusCode::CONFLICT, Json(refused)).into_response(),
    })
}

fn outcome_response(outcome: Outcome) -> Response {
    match outcome.result {
        CommandResult::Done(reply) => (
            StatusCode::OK,
            Json(CommandDone::new(outcome.command_id, reply, outcome.seq)),
        )
            .into_response(),
        CommandResult::Refused(refusal) => (
            StatusCode::CONFLICT,
            Json(RefusedResponse {
                code: refusal.code,
                message: refusal.message,
                command_id: outcome.command_id,
                seq: outcome.seq,
            }),
        )
            .into_response(),
    }
}

fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::BadCommandId => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_command_id",
            e.to_string(),
        ),
        EngineError::CommandIdReused(_) => {
            ApiError::new(StatusCode::CONFLICT, "command_id_reused", e.to_string())
        }
        EngineError::Stopped | EngineError::Storage(_) | EngineError::HallKey(_) => {
            ApiError::unavailable(e.to_string())
        }
    }
}

/// The hall's live state: the business day's tickets, windows, appointments, faults.
#[utoipa::path(
    get,
    path = "/api/v1/state",
    responses(
        (status = 200, description = "The state as of `last_seq`. A display's has no citizens.", body = Object),
        (status = 401, description = "No token, or one the hall node does not know.", body = ApiError),
        (status = 503, description = "The engine cannot answer now, or the token cannot be checked.", body = ApiError),
    )
)]
pub(super) async fn state(
    State(hall): State<Hall>,
    Terminal(device, ..): Terminal,
) -> Result<Json<HallState>, ApiError> {
    let state = hall.engine.state().await.map_err(engine_error)?;
    Ok(Json(wire::state_for(state, wire::audience_of(device.role))))
}

/// What a display wall shows.
#[utoipa::path(
    get,
    path = "/api/v1/display",
    responses(
        (status = 200, description = "Standing calls, newest first, and waiting counts per service.", body = display::DisplayView),
        (status = 401, description = "No token, or one the hall node does not know.", body = ApiError),
        (status = 503, description = "The engine cannot answer now, or the token cannot be checked.", body = ApiError),
    )
)]
pub(super) async fn display_view(
    State(hall): State<Hall>,
    Terminal(..): Terminal,
) -> Result<Json<display::DisplayView>, ApiError> {
    let state = hall.engine.state().await.map_err(engine_error)?;
    Ok(Json(display::DisplayView::of(hall.engine.setup(), &state)))
}
