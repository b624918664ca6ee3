//! The `Range` request header (RFC 9110 §14), for streaming originals: one range of bytes.
//! Several ranges in one request (multipart answers) are not served: the whole file is, which the
//! RFC allows. The header comes from outside: parsing never panics (fuzz target `byte_range`).

/// What to send for a `Range` header on a resource of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The whole resource (no usable range: other units, several ranges, syntax we ignore).
    Whole,
    /// Bytes `start..=end`.
    Part {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// A range that starts past the end: 416.
    Unsatisfiable,
}

/// The answer to a GET of `file` (`len` bytes of `content_type`): the whole file (200), the one
/// range the request's `Range` header asks for (206 with `Content-Range`), or 416 for a range past
/// the end. The caller adds its own headers (ETag, caching) to whichever it is.
pub async fn respond(
    request: &axum::http::HeaderMap,
    file: std::fs::File,
    len: u64,
    content_type: &str,
) -> std::io::Result<axum::response::Response> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse as _;
    let wanted = request.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| parse(r, len)).unwrap_or(Wanted::Whole);
    let (status, start, count) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, len),
        Wanted::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Wanted::Unsatisfiable => {
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{len}"))]).into_response());
        }
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_LENGTH, count.to_string())],
        stream(file, start, count),
    )
        .into_response();
    if status == StatusCode::PARTIAL_CONTENT {
        // A part is never empty: `parse` gives `start <= end`.
        if let Ok(v) = format!("bytes {start}-{}/{len}", start + count - 1).parse() {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(response)
}

/// [`respond`] for content already in memory (a small file read whole).
pub fn respond_bytes(request: &axum::http::HeaderMap, bytes: axum::body::Bytes, content_type: &str) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse as _;
    let len = bytes.len() as u64;
    let wanted = request.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| parse(r, len)).unwrap_or(Wanted::Whole);
    let (status, part) = match wanted {
        Wanted::Whole => (StatusCode::OK, bytes),
        Wanted::Part { start, end } => (StatusCode::PARTIAL_CONTENT, bytes.slice(start as usize..=end as usize)),
        Wanted::Unsatisfiable => {
            return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{len}"))]).into_response();
        }
    };
    let count = part.len() as u64;
    let mut response =
        (status, [(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_LENGTH, count.to_string())], part).into_response();
    if let Wanted::Part { start, end } = wanted
        && let Ok(v) = format!("bytes {start}-{end}/{len}").parse()
    {
        response.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    response
}

/// Bytes read per trip to the blocking pool: each trip short, so a slow client never holds one
/// of hearthd's blocking threads while it reads; and below the allocator's mmap threshold
/// (`hearth_platform::memory`), so each chunk's buffer comes from memory the process already
/// has rather than from fresh pages the kernel must fault in and zero. scripts/bench-dav's
/// 1 GiB GET against rclone: 256 KiB zeroed chunks 0.74×, 1 MiB chunks 0.63×, these 0.96×.
const CHUNK: usize = 120 * 1024;

/// `count` bytes of `file` from `start`, [`CHUNK`] at a time, so a 4 GB video streams without
/// being held in memory. Each trip reads straight into the buffer it sends (no zeroing, no
/// second copy through an async file's own buffer).
fn stream(file: std::fs::File, start: u64, count: u64) -> axum::body::Body {
    let file = std::sync::Arc::new(file);
    let stream = futures_util::stream::unfold((file, start, count, start == 0), |(file, at, left, placed)| async move {
        if left == 0 {
            return None;
        }
        // No more than is left: a 4 KiB file is not given a whole chunk's buffer.
        let want = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
        let f = std::sync::Arc::clone(&file);
        let read = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            use std::io::{Read as _, Seek as _};
            let mut reader: &std::fs::File = &f;
            if !placed {
                reader.seek(std::io::SeekFrom::Start(at))?;
            }
            let mut buf = Vec::with_capacity(want);
            reader.take(want as u64).read_to_end(&mut buf)?;
            Ok(buf)
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(format!("a reading thread failed: {e}"))));
        match read {
            // The file got shorter than its length said: the body ends short (the client sees it).
            Ok(buf) if buf.is_empty() => None,
            Ok(buf) => {
                let n = buf.len() as u64;
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), (file, at + n, left - n, true)))
            }
            Err(e) => Some((Err(e), (file, at, 0, true))),
        }
    });
    axum::body::Body::from_stream(stream)
}

/// Read a `Range` header value against a resource of `len` bytes.
pub fn parse(header: &str, len: u64) -> Wanted {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Wanted::Whole };
    let spec = spec.trim();
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else { return Wanted::Whole };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> { (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok()).flatten() };
    match (a.is_empty(), b.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match num(b) {
            Some(0) => Wanted::Unsatisfiable,
            Some(_) if len == 0 => Wanted::Unsatisfiable,
            Some(n) => Wanted::Part { start: len.saturating_sub(n), end: len - 1 },
            None => Wanted::Whole,
        },
        // bytes=S- : from S to the end.
        (false, true) => match num(a) {
            Some(s) if s >= len => Wanted::Unsatisfiable,
            Some(s) => Wanted::Part { start: s, end: len - 1 },
            None => Wanted::Whole,
        },
        (false, false) => match (num(a), num(b)) {
            (Some(s), Some(e)) if s > e => Wanted::Whole,
            (Some(s), Some(_)) if s >= len => Wanted::Unsatisfiable,
            (Some(s), Some(e)) => Wanted::Part { start: s, end: e.min(len - 1) },
            _ => Wanted::Whole,
        },
        (true, true) => Wanted::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse("bytes=0-99", 1000), Wanted::Part { start: 0, end: 99 });
        assert_eq!(parse("bytes=900-", 1000), Wanted::Part { start: 900, end: 999 });
        assert_eq!(parse("bytes=-100", 1000), Wanted::Part { start: 900, end: 999 });
        assert_eq!(parse("bytes=-5000", 1000), Wanted::Part { start: 0, end: 999 });
        assert_eq!(parse("bytes=990-5000", 1000), Wanted::Part { start: 990, end: 999 });
        assert_eq!(parse("bytes=1000-", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=-1", 0), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=5-1", 1000), Wanted::Whole, "invalid: ignored");
        assert_eq!(parse("bytes=0-1,5-9", 1000), Wanted::Whole);
        assert_eq!(parse("items=0-1", 1000), Wanted::Whole);
        assert_eq!(parse("bytes=x-1", 1000), Wanted::Whole);
        assert_eq!(parse("bytes=+1-2", 1000), Wanted::Whole);
        assert_eq!(parse("bytes=99999999999999999999999-", 1000), Wanted::Whole);
    }

    #[tokio::test]
    async fn content_in_memory_is_sent_whole_or_by_range() {
        use axum::http::{HeaderMap, header};
        let bytes = axum::body::Bytes::from_static(b"0123456789");
        let ask = |range: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(r) = range {
                h.insert(header::RANGE, r.parse().expect("header"));
            }
            h
        };
        let body = |r: axum::response::Response| async move {
            let status = r.status().as_u16();
            let range = r.headers().get(header::CONTENT_RANGE).map(|v| v.to_str().unwrap_or("").to_string());
            let b = axum::body::to_bytes(r.into_body(), 100).await.expect("body");
            (status, range, String::from_utf8_lossy(&b).into_owned())
        };
        assert_eq!(body(respond_bytes(&ask(None), bytes.clone(), "text/plain")).await, (200, None, "0123456789".into()));
        let part = body(respond_bytes(&ask(Some("bytes=2-4")), bytes.clone(), "text/plain")).await;
        assert_eq!(part, (206, Some("bytes 2-4/10".into()), "234".into()));
        let tail = body(respond_bytes(&ask(Some("bytes=-3")), bytes.clone(), "text/plain")).await;
        assert_eq!(tail, (206, Some("bytes 7-9/10".into()), "789".into()));
        assert_eq!(body(respond_bytes(&ask(Some("bytes=10-")), bytes, "text/plain")).await.0, 416);
    }
}
