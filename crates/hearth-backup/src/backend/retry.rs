//! Retries for network backends: transient failures (connection refused or reset, timeouts, HTTP
//! 408, 429 and 5xx) are retried with exponential backoff; permanent ones (other 4xx, bad
//! answers) fail at once with a message that names the object.

use std::io::Read;
use std::time::Duration;

use crate::error::{BackupError, Result};

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub first_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // About a minute in all: long enough for a router or NAS service to restart.
        RetryPolicy { attempts: 8, first_delay: Duration::from_millis(500), max_delay: Duration::from_secs(16) }
    }
}

/// The outcome of one attempt that failed.
#[derive(Debug)]
pub enum Failure {
    /// Worth another try.
    Transient(String),
    /// Not: report it.
    Permanent(BackupError),
}

/// Run `attempt` until it succeeds, fails permanently, or the attempts run out.
pub fn with_retry<T>(policy: RetryPolicy, what: &str, mut attempt: impl FnMut() -> std::result::Result<T, Failure>) -> Result<T> {
    let mut delay = policy.first_delay;
    let mut last = String::new();
    for n in 0..policy.attempts.max(1) {
        if n > 0 {
            tracing::warn!(what, attempt = n + 1, error = %last, "retrying after a transient error");
            std::thread::sleep(delay);
            delay = (delay * 2).min(policy.max_delay);
        }
        match attempt() {
            Ok(v) => return Ok(v),
            Err(Failure::Permanent(e)) => return Err(e),
            Err(Failure::Transient(msg)) => last = msg,
        }
    }
    Err(BackupError::io(
        what.to_string(),
        std::io::Error::new(std::io::ErrorKind::TimedOut, format!("gave up after {} attempts: {last}", policy.attempts.max(1))),
    ))
}

/// Classify a ureq error for `what` (an object or URL, for messages).
pub fn classify(what: &str, e: ureq::Error) -> Failure {
    match e {
        ureq::Error::Status(code, resp) => {
            let mut body = String::new();
            let _ = resp.into_reader().take(512).read_to_string(&mut body);
            let body = body.trim();
            let msg = if body.is_empty() { format!("HTTP {code}") } else { format!("HTTP {code}: {body}") };
            match code {
                408 | 429 | 500..=599 => Failure::Transient(msg),
                404 => Failure::Permanent(BackupError::io(what.to_string(), std::io::Error::new(std::io::ErrorKind::NotFound, msg))),
                401 | 403 => Failure::Permanent(BackupError::io(
                    what.to_string(),
                    std::io::Error::new(std::io::ErrorKind::PermissionDenied, format!("{msg} (check the server's user and password)")),
                )),
                _ => Failure::Permanent(BackupError::io(what.to_string(), std::io::Error::other(msg))),
            }
        }
        // A certificate that does not verify will not verify on the next try either.
        ureq::Error::Transport(t) if is_tls_refusal(&t) => Failure::Permanent(BackupError::Invalid(format!("{what}: {t}"))),
        ureq::Error::Transport(t) => Failure::Transient(t.to_string()),
    }
}

/// Whether a transport error is TLS refusing the server's certificate (rustls's error, wrapped
/// in an `io::Error` somewhere down the chain).
fn is_tls_refusal(t: &ureq::Transport) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(e) = next {
        let inner = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()).map(|i| i as &(dyn std::error::Error + 'static));
        for candidate in [Some(e), inner].into_iter().flatten() {
            if let Some(r) = candidate.downcast_ref::<rustls::Error>() {
                return matches!(r, rustls::Error::InvalidCertificate(_) | rustls::Error::General(_));
            }
        }
        next = inner.and_then(|i| i.source()).or_else(|| e.source());
    }
    false
}

/// Read a response body into `buf` (cleared first), refusing more than `limit` bytes.
pub fn read_body(what: &str, resp: ureq::Response, buf: &mut Vec<u8>, limit: u64) -> std::result::Result<(), Failure> {
    buf.clear();
    if let Some(n) = resp.header("Content-Length").and_then(|v| v.parse::<u64>().ok()) {
        if n > limit {
            return Err(Failure::Permanent(BackupError::Invalid(format!("{what}: the server sent {n} bytes, more than {limit}"))));
        }
        buf.reserve(n as usize);
    }
    resp.into_reader().take(limit + 1).read_to_end(buf).map_err(|e| Failure::Transient(format!("reading the answer: {e}")))?;
    if buf.len() as u64 > limit {
        return Err(Failure::Permanent(BackupError::Invalid(format!("{what}: the server sent more than {limit} bytes"))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_retried_and_permanent_ones_are_not() {
        let quick = RetryPolicy { attempts: 4, first_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2) };
        let mut n = 0;
        let v = with_retry(quick, "x", || {
            n += 1;
            if n < 3 { Err(Failure::Transient("reset".into())) } else { Ok(n) }
        })
        .expect("third time");
        assert_eq!(v, 3);
        let mut calls = 0;
        let e = with_retry(quick, "x", || -> std::result::Result<(), Failure> {
            calls += 1;
            Err(Failure::Permanent(BackupError::Invalid("no".into())))
        });
        assert!(e.is_err() && calls == 1);
        let e = with_retry(quick, "data/ab", || -> std::result::Result<(), Failure> { Err(Failure::Transient("refused".into())) })
            .expect_err("gives up");
        assert!(e.to_string().contains("gave up after 4 attempts: refused") && e.to_string().contains("data/ab"), "{e}");
    }
}
