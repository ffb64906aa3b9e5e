//! One request to the platform and how it fails, the same for both directions of the link: the
//! uploader's batches and the puller's pages of bookings.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::http::response::Parts;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;

use super::wire::PlatformError;
use crate::ports::PlatformFailure;
use crate::store::StoreError;

/// An HTTP client for the platform: HTTP/1.1 inside TLS (`uplink::platform_client` makes it).
pub(super) type PlatformClient = HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A failed try, and how long the platform asked the hall to wait, if it did.
#[derive(Debug)]
pub(super) struct Failed {
    pub kind: PlatformFailure,
    pub retry_after: Option<Duration>,
    pub why: String,
    /// For a `409 gap`: the platform holds the hall's events only up to here.
    pub platform_holds: Option<u64>,
}

impl Failed {
    pub fn new(kind: PlatformFailure, why: impl Into<String>) -> Failed {
        Failed {
            kind,
            retry_after: None,
            why: why.into(),
            platform_holds: None,
        }
    }
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Failed {
        Failed::new(PlatformFailure::Store, e.to_string())
    }
}

/// Sends `request` and reads its answer, at most `max_bytes` of it, all within `timeout`: a
/// platform that answers slowly or without end counts as a failed try.
pub(super) async fn exchange(
    client: &PlatformClient,
    request: hyper::Request<Full<Bytes>>,
    timeout: Duration,
    max_bytes: usize,
) -> Result<(Parts, Bytes), Failed> {
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| Failed::new(PlatformFailure::Connect, format!("{e:?}")))?;
        let (parts, body) = response.into_parts();
        let bytes = Limited::new(body, max_bytes)
            .collect()
            .await
            .map_err(|e| Failed::new(PlatformFailure::Connect, e.to_string()))?
            .to_bytes();
        Ok::<_, Failed>((parts, bytes))
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| {
        Failed::new(
            PlatformFailure::Timeout,
            format!("no whole answer within {timeout:?}"),
        )
    })?
}

/// The failure an answer other than a success stands for: throttled (429, 503, with the
/// `Retry-After` it asked for), a server error (5xx), or refused; with what the platform said.
pub(super) fn refusal(parts: &Parts, bytes: &Bytes) -> Failed {
    let status = parts.status;
    let error = serde_json::from_slice::<PlatformError>(bytes).ok();
    let platform_holds = error
        .as_ref()
        .filter(|e| status == hyper::StatusCode::CONFLICT && e.code == "gap")
        .and_then(|e| e.acked_through);
    let said = error
        .map(|e| format!("{}: {}", e.code, e.message))
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).chars().take(200).collect());
    let kind = match status.as_u16() {
        429 | 503 => PlatformFailure::Throttled,
        500..=599 => PlatformFailure::ServerError,
        _ => PlatformFailure::Refused,
    };
    let retry_after = parts
        .headers
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .filter(|_| kind == PlatformFailure::Throttled);
    Failed {
        kind,
        retry_after,
        why: format!("{status}: {said}"),
        platform_holds,
    }
}
