//! WebDAV's request headers (RFC 4918 §10): `Depth`, `Overwrite`, `Timeout`, `Destination` and
//! `If`, parsed into types; a value that does not parse is the client's error (400), never
//! guessed at.

/// `Depth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The resource only.
    Zero,
    /// The resource and its members.
    One,
    /// The resource and everything below.
    Infinity,
}

/// A header value this server cannot take.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct HeaderError(pub String);

fn bad(message: impl Into<String>) -> HeaderError {
    HeaderError(message.into())
}

/// `Depth`: `None` when the header is absent.
pub fn depth(value: Option<&str>) -> Result<Option<Depth>, HeaderError> {
    let Some(v) = value else { return Ok(None) };
    match v.trim().to_ascii_lowercase().as_str() {
        "0" => Ok(Some(Depth::Zero)),
        "1" => Ok(Some(Depth::One)),
        "infinity" => Ok(Some(Depth::Infinity)),
        other => Err(bad(format!("Depth is 0, 1 or infinity, not {other:?}"))),
    }
}

/// `Overwrite`: true unless `F` (RFC 4918 §10.6: absent means T).
pub fn overwrite(value: Option<&str>) -> Result<bool, HeaderError> {
    match value.map(str::trim) {
        None => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("t") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("f") => Ok(false),
        Some(v) => Err(bad(format!("Overwrite is T or F, not {v:?}"))),
    }
}

/// The longest lock this server grants, whatever a client asks (a lock outlives its client only
/// this long).
pub const MOST_LOCK_SECONDS: u64 = 24 * 3600;
/// A lock's length when the client does not say.
pub const DEFAULT_LOCK_SECONDS: u64 = 3600;

/// `Timeout`: the seconds granted, the first value understood counting (`Second-N`,
/// `Infinite`), capped at [`MOST_LOCK_SECONDS`].
pub fn timeout(value: Option<&str>) -> u64 {
    let Some(v) = value else { return DEFAULT_LOCK_SECONDS };
    for part in v.split(',').map(str::trim) {
        if part.eq_ignore_ascii_case("infinite") {
            return MOST_LOCK_SECONDS;
        }
        if let Some(n) = part.strip_prefix("Second-").or_else(|| part.strip_prefix("second-"))
            && let Ok(n) = n.parse::<u64>()
        {
            return n.clamp(1, MOST_LOCK_SECONDS);
        }
    }
    DEFAULT_LOCK_SECONDS
}

/// The path of a `Destination` (or a resource tag of `If`): an absolute URI on this host, or an
/// absolute path. Returns the path, still %-encoded, without query or fragment.
pub fn same_host_path<'a>(value: &'a str, host: Option<&str>) -> Result<&'a str, HeaderError> {
    let v = value.trim();
    let path = if let Some(rest) = v.strip_prefix("http://").or_else(|| v.strip_prefix("https://")) {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some(host) = host
            && !authority.eq_ignore_ascii_case(host)
        {
            return Err(bad(format!("the destination {authority:?} is another server; this one is {host:?}")));
        }
        path
    } else if v.starts_with('/') {
        v
    } else {
        return Err(bad("a destination is an absolute URI or path"));
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        return Ok("/");
    }
    Ok(path)
}

/// A time in seconds since 1970, maybe with a fraction (`X-OC-Mtime: 1700000000.25`), within
/// what a file system keeps (1970 to 9999).
pub fn unix_time(value: &str) -> Result<std::time::SystemTime, HeaderError> {
    let v = value.trim();
    let (secs, frac) = v.split_once('.').map_or((v, None), |(s, f)| (s, Some(f)));
    let digits = |s: &str, most: usize| !s.is_empty() && s.len() <= most && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs, 12) || frac.is_some_and(|f| !digits(f, 9)) {
        return Err(bad(format!("a time is seconds since 1970, not {v:?}")));
    }
    let secs: u64 = secs.parse().map_err(|_| bad("the time is out of range"))?;
    if secs > 253_402_300_799 {
        return Err(bad("the time is after the year 9999"));
    }
    let nanos: u32 = match frac {
        None => 0,
        Some(f) => format!("{f:0<9}").parse().map_err(|_| bad("bad fraction"))?,
    };
    Ok(std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos))
}

/// One condition of an `If` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A state token (a lock token, or any URI that names no lock such as `DAV:no-lock`).
    Token(String),
    /// An entity tag, quotes included (`"abc"`, `W/"abc"`).
    ETag(String),
}

/// A list of conditions, all of which must hold, about the resource its tag names (or the
/// request's resource when untagged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfList {
    /// The resource tag, as sent (absolute URI or path), when tagged.
    pub resource: Option<String>,
    /// `(negated, condition)` pairs.
    pub conditions: Vec<(bool, Condition)>,
}

/// An `If` header: true when any of its lists holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IfHeader {
    /// The lists, in order.
    pub lists: Vec<IfList>,
}

impl IfHeader {
    /// Every state token in the header: the lock tokens the client submits (RFC 4918 §10.4.1).
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.lists.iter().flat_map(|l| l.conditions.iter()).filter_map(|(_, c)| match c {
            Condition::Token(t) => Some(t.as_str()),
            Condition::ETag(_) => None,
        })
    }
}

/// The most bytes of an `If` header taken.
const MOST_IF_BYTES: usize = 16 * 1024;

/// Parses an `If` header (RFC 4918 §10.4).
pub fn if_header(value: &str) -> Result<IfHeader, HeaderError> {
    if value.len() > MOST_IF_BYTES {
        return Err(bad("the If header is too long"));
    }
    let mut rest = value.trim_start();
    let mut lists = Vec::new();
    let mut tagged: Option<bool> = None;
    let mut resource: Option<String> = None;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('<') {
            let end = r.find('>').ok_or_else(|| bad("a resource tag in If is not closed by '>'"))?;
            if tagged == Some(false) {
                return Err(bad("an If header mixes tagged and untagged lists"));
            }
            tagged = Some(true);
            resource = Some(r[..end].to_string());
            rest = r[end + 1..].trim_start();
            if !rest.starts_with('(') {
                return Err(bad("a resource tag in If is followed by a list"));
            }
            continue;
        }
        let r = rest.strip_prefix('(').ok_or_else(|| bad(format!("an If header list starts with '(': {rest:?}")))?;
        if tagged.is_none() {
            tagged = Some(false);
        }
        let (conditions, after) = list(r)?;
        lists.push(IfList { resource: resource.clone(), conditions });
        rest = after.trim_start();
    }
    if lists.is_empty() {
        return Err(bad("an If header has at least one list"));
    }
    Ok(IfHeader { lists })
}

/// `(negated, condition)` pairs of one list.
type Conditions = Vec<(bool, Condition)>;

fn list(mut rest: &str) -> Result<(Conditions, &str), HeaderError> {
    let mut conditions = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix(')') {
            if conditions.is_empty() {
                return Err(bad("an If list has at least one condition"));
            }
            return Ok((conditions, r));
        }
        let mut not = false;
        if rest.get(..3).is_some_and(|w| w.eq_ignore_ascii_case("not")) {
            not = true;
            rest = rest[3..].trim_start();
        }
        if let Some(r) = rest.strip_prefix('<') {
            let end = r.find('>').ok_or_else(|| bad("a state token in If is not closed by '>'"))?;
            conditions.push((not, Condition::Token(r[..end].to_string())));
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| bad("an entity tag in If is not closed by ']'"))?;
            conditions.push((not, Condition::ETag(r[..end].trim().to_string())));
            rest = &r[end + 1..];
        } else {
            return Err(bad(format!("an If condition is <state-token> or [etag]: {rest:?}")));
        }
    }
}

/// Whether two entity tags are the same resource state (weak comparison: `W/` ignored, as
/// RFC 4918's If header and `If-None-Match` use).
pub fn etag_matches(a: &str, b: &str) -> bool {
    a.trim().trim_start_matches("W/") == b.trim().trim_start_matches("W/")
}

/// Whether an `If-Match` / `If-None-Match` value lists `etag` (`*` matching any existing one).
pub fn etag_list_matches(value: &str, etag: Option<&str>) -> bool {
    let Some(etag) = etag else { return false };
    value.split(',').map(str::trim).any(|v| v == "*" || etag_matches(v, etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_headers() {
        assert_eq!(depth(None), Ok(None));
        assert_eq!(depth(Some("Infinity")), Ok(Some(Depth::Infinity)));
        assert!(depth(Some("2")).is_err());
        assert_eq!(overwrite(Some("F")), Ok(false));
        assert_eq!(overwrite(None), Ok(true));
        assert!(overwrite(Some("yes")).is_err());
        assert_eq!(timeout(Some("Second-600")), 600);
        assert_eq!(timeout(Some("Infinite, Second-4100000000")), MOST_LOCK_SECONDS);
        assert_eq!(timeout(Some("Second-4100000000")), MOST_LOCK_SECONDS);
        assert_eq!(timeout(Some("junk")), DEFAULT_LOCK_SECONDS);
        assert_eq!(unix_time("1700000000.25"), Ok(std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 250_000_000)));
        assert_eq!(unix_time(" 0 "), Ok(std::time::UNIX_EPOCH));
        for bad in ["", "-1", "1e9", "1.", ".5", "99999999999999", "1.0000000001", "x"] {
            assert!(unix_time(bad).is_err(), "{bad}");
        }
        assert_eq!(same_host_path("http://h:8080/dav/a%20b?x#y", Some("h:8080")), Ok("/dav/a%20b"));
        assert!(same_host_path("http://other/dav/a", Some("h:8080")).is_err());
        assert_eq!(same_host_path("/dav/a", Some("h")), Ok("/dav/a"));
        assert!(same_host_path("dav/a", None).is_err());
    }

    #[test]
    fn if_headers_of_litmus_and_the_rfc() {
        let h = if_header("(<opaquelocktoken:abc> [\"e1\"]) (Not <DAV:no-lock> [\"e1\"])").expect("ok");
        assert_eq!(h.lists.len(), 2);
        assert_eq!(h.lists[1].conditions[0], (true, Condition::Token("DAV:no-lock".into())));
        assert_eq!(h.tokens().collect::<Vec<_>>(), ["opaquelocktoken:abc", "DAV:no-lock"]);
        let t = if_header("<http://h/a> (<urn:uuid:1>) <http://h/b> ([W/\"x\"])").expect("tagged");
        assert_eq!(t.lists[0].resource.as_deref(), Some("http://h/a"));
        assert_eq!(t.lists[1].conditions[0], (false, Condition::ETag("W/\"x\"".into())));
        // "(é" once sliced a character in two (found by the dav_request fuzz target).
        for bad in ["", "(", "()", "(<a>", "([x)", "(x)", "<a>", "(<a>) <b> (<c>)", "(\u{e9}\u{e9})", "(\u{fffd}", "<b> (<c>) (<d>)"] {
            // The last one is valid (a tag's lists continue until the next tag); check it apart.
            if bad.starts_with("<b>") {
                assert!(if_header(bad).is_ok());
                continue;
            }
            assert!(if_header(bad).is_err(), "{bad}");
        }
        assert!(etag_matches("W/\"a\"", "\"a\""));
        assert!(etag_list_matches("\"x\", *", Some("\"y\"")));
        assert!(!etag_list_matches("*", None));
    }
}
