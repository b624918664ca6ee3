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
    mut file: tokio::fs::File,
    len: u64,
    content_type: &str,
) -> std::io::Result<axum::response::Response> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse as _;
    use tokio::io::AsyncSeekExt as _;
    let wanted = request.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| parse(r, len)).unwrap_or(Wanted::Whole);
    let (status, start, count) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, len),
        Wanted::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Wanted::Unsatisfiable => {
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{len}"))]).into_response());
        }
    };
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let mut response =
        (status, [(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_LENGTH, count.to_string())], stream(file, count))
            .into_response();
    if status == StatusCode::PARTIAL_CONTENT {
        // A part is never empty: `parse` gives `start <= end`.
        if let Ok(v) = format!("bytes {start}-{}/{len}", start + count - 1).parse() {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(response)
}

/// Bytes read per trip to the blocking pool: larger trips are fewer (a 1 GiB file in 4,096 of
/// them), each still short, so a slow client never holds one of hearthd's 16 blocking threads.
const CHUNK: usize = 256 << 10;

/// `count` bytes of `file` from where it stands, [`CHUNK`] at a time, so a 4 GB video streams
/// without being held in memory.
fn stream(file: tokio::fs::File, count: u64) -> axum::body::Body {
    use tokio::io::AsyncReadExt as _;
    let stream = futures_util::stream::unfold((file.take(count), false), |(mut r, done)| async move {
        if done {
            return None;
        }
        // No more than is left: a 4 KiB file is not read into 256 KiB of zeroes.
        let mut buf = vec![0u8; usize::try_from(r.limit()).map_or(CHUNK, |left| left.clamp(1, CHUNK))];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), (r, false)))
            }
            Err(e) => Some((Err(e), (r, true))),
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
}
