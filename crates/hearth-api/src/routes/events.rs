//! `GET /api/v1/events`: the web app's live activity as server-sent events (see [`crate::live`]).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;

use crate::AppState;

/// Each change as `event: activity` with `{jobs, services}` (as `GET /api/v1/jobs` and the
/// services of `GET /api/v1/status`); the current state first; a comment every 15 s keeps
/// proxies from closing a quiet stream. The stream ends when the server stops.
pub async fn stream(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let listener = state.live.listen(&state);
    let events = futures_util::stream::unfold((listener, true), |(mut l, first)| async move {
        loop {
            if *l.closed.borrow() {
                return None;
            }
            if !first || l.latest.borrow().is_none() {
                tokio::select! {
                    changed = l.latest.changed() => changed.ok()?,
                    _ = l.closed.changed() => return None,
                }
            }
            let json = l.latest.borrow_and_update().clone();
            if let Some(json) = json {
                return Some((Ok(Event::default().event("activity").data(&*json)), (l, false)));
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
