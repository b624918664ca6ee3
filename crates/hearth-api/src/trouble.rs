//! The trouble page: what the box serves when it cannot run normally on the image (no data
//! partition, a partition holding something else, a damaged catalog, a full disk).
//!
//! The family only has a browser: instead of a silent restart loop, the box answers every page
//! with what is wrong and what to do, and `GET /api/health` with status `trouble` (HTTP 503), so a
//! phone app or monitoring can tell it apart from a box that is down. Nothing here writes to the
//! data partition.

use std::net::TcpListener;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use hearth_core::Shutdown;
use serde::{Deserialize, Serialize};

/// What is wrong, in words for the family.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Problem {
    /// A stable word for programs: `missing`, `foreign`, `damaged`, `start`.
    pub kind: String,
    /// What happened.
    pub problem: String,
    /// What the family can do.
    pub what_to_do: String,
}

/// The body of `GET /api/health` in trouble mode.
#[derive(Serialize)]
struct TroubleHealth<'a> {
    status: &'static str,
    version: &'a str,
    board: &'a str,
    setup_required: bool,
    problem: &'a Problem,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The HTML page.
pub fn page(problem: &Problem) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>Hearth needs attention</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}}\
         h1{{color:#a33}}pre{{white-space:pre-wrap;background:#f4f4f4;padding:1em}}</style></head>\n\
         <body><h1>Hearth needs attention</h1>\n<p>Your photos and files are not being served right now, \
         and nothing on the disk has been changed.</p>\n<h2>What is wrong</h2>\n<pre>{}</pre>\n\
         <h2>What to do</h2>\n<p>{}</p>\n</body></html>\n",
        escape(&problem.problem),
        escape(&problem.what_to_do)
    )
}

/// Serve the trouble page on `listener` until `shutdown` fires.
pub async fn run(listener: TcpListener, problem: Problem, version: String, board: String, shutdown: Shutdown) -> std::io::Result<()> {
    let health_body = serde_json::to_string(&TroubleHealth {
        status: "trouble",
        version: &version,
        board: &board,
        setup_required: false,
        problem: &problem,
    })
    .map_err(std::io::Error::other)?;
    let html = page(&problem);
    let app = Router::new()
        .route(
            "/api/health",
            get(move || {
                let body = health_body.clone();
                async move { (StatusCode::SERVICE_UNAVAILABLE, [("content-type", "application/json")], body) }
            }),
        )
        .fallback(move || {
            let html = html.clone();
            async move { (StatusCode::SERVICE_UNAVAILABLE, Html(html)).into_response() }
        });
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.wait().await }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_it_quotes() {
        let p = Problem { kind: "start".into(), problem: "<script>x</script> & more".into(), what_to_do: "restart".into() };
        let html = page(&p);
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt; &amp; more"), "{html}");
        assert!(!html.contains("<script>"));
    }
}
