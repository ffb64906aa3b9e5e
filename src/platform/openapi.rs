//! The platform protocol for whoever builds the receiving side: generated from the reference
//! receiver's routes and the platform wire types, so `docs/platform-openapi.yaml` says what the hall
//! sends and what it understands. A test fails when the committed file differs from [`yaml`];
//! `HALLQ_UPDATE_OPENAPI=1` rewrites it. The prose around it is `docs/platform.md`.

use utoipa::OpenApi;

const DESCRIPTION: &str = "\
A hall node sends its event log to the platform in batches, each event once per (hall_id, seq),
oldest first. The platform acknowledges the highest seq up to which it holds every event of the hall;
the hall resends from there until acknowledged, so delivery is at least once and storage exactly once.

**Signatures.** Every request carries X-Hallq-Hall, X-Hallq-Timestamp, X-Hallq-Nonce and
X-Hallq-Signature: lowercase hex HMAC-SHA256, keyed by the hall's platform secret, over the lines
`HALLQ-HMAC-SHA256`, the method, the path, the hall id, the timestamp, the nonce and the lowercase hex
SHA-256 of the body, joined by a line feed. Stale timestamps and reused nonces are refused.

**Transport.** HTTPS; the hall trusts only the platform certificate (or CA) it was given, and shows a
certificate of its own when the platform asks (mutual TLS).

**Bookings.** The hall pulls the bookings made through the centre's WeChat official account with
GET /v1/bookings from a cursor of its own (`after`), each change once, in its latest form.

**Personal data.** Of a citizen the platform receives the keyed hash of the ID number and the
masked name, never the number or the whole name.

**Retries.** 429 and 503 with Retry-After (seconds) are honoured; any other failure is retried after an
exponential wait with jitter. The full protocol is in docs/platform.md.
";

#[derive(OpenApi)]
#[openapi(
    info(title = "hallq platform link", version = "1", description = DESCRIPTION),
    servers((url = "https://platform.example:8480")),
    paths(super::receiver::receive, super::receiver::bookings),
)]
pub struct PlatformApi;

/// The description, its routes ungrouped: they form one API for one reader, not one group per Rust
/// module.
pub fn description() -> utoipa::openapi::OpenApi {
    let mut api = PlatformApi::openapi();
    for item in api.paths.paths.values_mut() {
        for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
            operation.tags = None;
        }
    }
    api
}

/// The description as YAML, as committed in `docs/platform-openapi.yaml`.
pub fn yaml() -> String {
    description()
        .to_yaml()
        .expect("the API description is plain data and always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/platform-openapi.yaml");

    #[test]
    fn the_batch_its_events_and_the_answers_are_described() {
        let api = serde_json::to_value(description()).unwrap();
        let post = &api["paths"]["/v1/events"]["post"];
        let batch = &post["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(batch, "#/components/schemas/PlatformBatch");
        for status in ["200", "400", "401", "409", "413", "500"] {
            assert!(post["responses"][status].is_object(), "{status} described");
        }
        let headers: Vec<&str> = post["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            headers,
            [
                "X-Hallq-Hall",
                "X-Hallq-Timestamp",
                "X-Hallq-Nonce",
                "X-Hallq-Signature"
            ]
        );
        let schemas = &api["components"]["schemas"];
        for name in [
            "PlatformEvent",
            "PlatformBody",
            "Citizen",
            "Ack",
            "PlatformError",
        ] {
            assert!(schemas[name].is_object(), "{name} described");
        }
        let citizen: Vec<&String> = schemas["Citizen"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            citizen,
            ["id_hash", "masked_name"],
            "nothing else of a citizen"
        );
    }

    #[test]
    fn docs_platform_openapi_yaml_is_the_one_the_code_generates() {
        let generated = yaml();
        if std::env::var_os("HALLQ_UPDATE_OPENAPI").is_some() {
            std::fs::write(COMMITTED, &generated).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        if committed != generated {
            let first_difference = committed
                .lines()
                .zip(generated.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(committed.lines().count().min(generated.lines().count()));
            panic!(
                "docs/platform-openapi.yaml differs from the protocol the code speaks, from line \
                 {}: run the test again with HALLQ_UPDATE_OPENAPI=1 and commit the file",
                first_difference + 1
            );
        }
    }
}
