//! The API description for terminal makers, generated from the routes and the wire types: what the
//! hall node checks is what `docs/openapi.yaml` says. A test fails when the committed file differs
//! from [`yaml`]; `HALLQ_UPDATE_OPENAPI=1` rewrites it.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::wire;

const DESCRIPTION: &str = "\
The hall node owns the queue. Kiosks, window terminals and display walls on the hall LAN send
commands over HTTP with JSON and follow the event log as Server-Sent Events. This description is
generated from the hall node's code.

**Pairing.** A terminal is paired once with a one-time code shown on the hall node (printed at
start, or `hallq pair code [--role R --window N]`). It gets a device token, shown only once; the hall
node stores only its SHA-256 hash. Every other request carries the token as
`Authorization: Bearer <token>` (or `?access_token=` for browsers' EventSource).

**Roles.** `kiosk`: issue_ticket, record_print, report_device, and card taps. `counter` (one
window): commands for its own window, plus rate, requeue, flag_green_channel, report_device, and
issue_ticket as staff only (`by_staff`). `display`: read only, and it receives no personal data (no citizen in the state, no `personal` in
events). `admin`: every command. No terminal sends or receives an ID hash: staff terminals see a
citizen's masked name, and the ticket or booking is their reference to the citizen.

**ID cards.** A card laid on a kiosk's reader is one request, `POST /api/v1/card-taps`, with the
ID number and name the reader decoded, over TLS only. The hall node hashes the number with the
hall's key, masks the name and keeps neither; the answer says what the tap came to (a ticket
issued, a booking checked in, or why not). Kiosks never hold the hall's key.

**Order of checks.** token (401), body size (413, 16 KiB by default), JSON (400 malformed,
422 wrong shape, unknown field or a value outside the limits below), role (403); only then the
engine decides (200, or 409 with its refusal, e.g. an unknown service or window). A refused request
changes nothing.

**Retries.** Every command carries a `command_id` chosen by the terminal (1-51 printable ASCII
characters, e.g. a UUIDv7). Sending the same id again returns the first answer and never acts twice;
keep the id across retries after a lost reply. The same id with a different command is refused
(409 `command_id_reused`).

**Nulls.** A field typed with `null` may be sent as `null` or left out, with the same meaning.
";

#[derive(OpenApi)]
#[openapi(
    info(title = "hallq hall node LAN API", version = "1", description = DESCRIPTION),
    servers((url = "http://hall-node:8470")),
    paths(
        super::api::pair,
        super::api::execute,
        super::api::request_rating,
        super::api::tap_card,
        super::api::state,
        super::api::display_view,
        super::push::events,
        super::metrics::metrics,
        super::metrics::healthz,
        super::web::display_page,
    ),
    components(schemas(wire::TerminalEvent)),
    modifiers(&DeviceToken, &Untagged, &OptionalHeaders, &ClosedRequests),
    security(("deviceToken" = [])),
)]
pub struct HallApi;

struct DeviceToken;

impl Modify for DeviceToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "deviceToken",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes form one API for one reader: no grouping by the Rust module they live in.
struct Untagged;

impl Modify for Untagged {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                operation.tags = None;
            }
        }
    }
}

/// A header is present or absent, never `null`: the routes declare it as a plain value, and here it
/// becomes optional.
struct OptionalHeaders;

impl Modify for OptionalHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{RefOr, Required};
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let RefOr::T(parameter) = parameter
                        && parameter.parameter_in == ParameterIn::Header
                    {
                        parameter.required = Required::False;
                    }
                }
            }
        }
    }
}

/// The request bodies whose types refuse unknown fields (`#[serde(deny_unknown_fields)]`), down to
/// each variant of a tagged enum, which the derive does not mark.
const CLOSED_REQUESTS: [&str; 10] = [
    "PairRequest",
    "CommandRequest",
    "RatingRequestBody",
    "Indicators",
    "Command",
    "CardTapRequest",
    "CardReadBody",
    "RatingInput",
    "Booking",
    "TransferTarget",
];

struct ClosedRequests;

impl Modify for ClosedRequests {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{AdditionalProperties, Schema};
        fn close(schema: &mut Schema) {
            match schema {
                Schema::Object(object) => {
                    object.additional_properties =
                        Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
                Schema::OneOf(one_of) => {
                    for item in &mut one_of.items {
                        if let RefOr::T(item) = item {
                            close(item);
                        }
                    }
                }
                _ => {}
            }
        }
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for name in CLOSED_REQUESTS {
            match components.schemas.get_mut(name) {
                Some(RefOr::T(schema)) => close(schema),
                _ => panic!("the API description has no schema {name}"),
            }
        }
    }
}

/// The description as `docs/openapi.yaml` holds it.
pub fn yaml() -> String {
    HallApi::openapi()
        .to_yaml()
        .expect("the API description is plain data and always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml");

    #[test]
    fn the_event_stream_is_described_as_server_sent_terminal_events() {
        let api = serde_json::to_value(HallApi::openapi()).unwrap();
        let ok = &api["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"];
        assert!(ok["text/event-stream"].is_object(), "{ok}");
        let event = &api["components"]["schemas"]["TerminalEvent"];
        assert_eq!(event["properties"]["v"]["minimum"], wire::EVENT_VERSION);
        assert!(event["properties"]["event"].is_object());
        let pairing = &api["paths"]["/api/v1/pair"]["post"]["responses"];
        assert!(
            pairing["503"].is_object(),
            "a pairing that cannot be served now"
        );
    }

    #[test]
    fn docs_openapi_yaml_is_the_one_the_code_generates() {
        let generated = yaml();
        if std::env::var_os("HALLQ_UPDATE_OPENAPI").is_some() {
            std::fs::write(COMMITTED, &generated).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap();
        if committed != generated {
            let first_difference = committed
                .lines()
                .zip(generated.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(committed.lines().count().min(generated.lines().count()));
            panic!(
                "docs/openapi.yaml differs from the API the code serves, from line {}: \
                 run the test again with HALLQ_UPDATE_OPENAPI=1 and commit the file",
                first_difference + 1
            );
        }
    }
}
