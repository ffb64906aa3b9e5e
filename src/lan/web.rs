//! The display wall as a web page, for smart TVs and LED controllers that cannot run hallq. The page is
//! compiled into the binary so a hall node serves it with no files to install.

use axum::http::header;
use axum::response::IntoResponse;

const DISPLAY_PAGE: &str = include_str!("web/display.html");

/// The display wall as a web page (smart TVs, LED controllers, any browser).
///
/// Open `/display#code=<pairing code>` once: the page pairs as a display and keeps its token in the
/// browser. It follows `/api/v1/events` and shows a banner while the link is down.
#[utoipa::path(
    get,
    path = "/display",
    security(()),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String))
)]
pub async fn display_page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DISPLAY_PAGE,
    )
}
