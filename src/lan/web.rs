//! The display wall as a web page, for smart TVs and LED controllers that cannot run hallq. The page is
//! compiled into the binary so a hall node serves it with no files to install.

use axum::http::header;
use axum::response::IntoResponse;

const DISPLAY_PAGE: &str = include_str!("web/display.html");

pub async fn display_page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DISPLAY_PAGE,
    )
}
