//! Paths inside a WebDAV space: what a request names, checked before any file is touched.
//!
//! A [`DavPath`] is a list of names, each decoded from the URL once, never empty, never `.` or
//! `..`, without `/` or NUL, at most 255 bytes; so joining it to the space's folder can only name
//! something inside it (symbolic links are dealt with where files are opened: `tree`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The longest name a file system here takes (ext4, btrfs: 255 bytes).
pub const MOST_NAME_BYTES: usize = 255;
/// The most names in one path.
pub const MOST_DEPTH: usize = 64;

/// What is left unescaped in the hrefs we write: RFC 3986's unreserved characters and the
/// sub-delimiters that are safe in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// A path below a space's root; empty for the root itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DavPath(Vec<String>);

/// Why a request path cannot name anything here.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    /// A `..`, `.`, NUL, an encoded `/`, or a name too long.
    #[error("{0}")]
    Refused(String),
    /// Not UTF-8 once decoded.
    #[error("the path is not UTF-8 once its %-escapes are decoded")]
    NotUtf8,
}

impl DavPath {
    /// The root.
    pub fn root() -> DavPath {
        DavPath(Vec::new())
    }

    /// The path from the part of a request's path below the space's prefix, still %-encoded
    /// (`a/b%20c/`); empty names from doubled or trailing slashes are skipped.
    pub fn from_encoded(encoded: &str) -> Result<DavPath, PathError> {
        let mut names = Vec::new();
        for raw in encoded.split('/') {
            if raw.is_empty() {
                continue;
            }
            let name = percent_decode_str(raw).decode_utf8().map_err(|_| PathError::NotUtf8)?;
            names.push(Self::check_name(&name)?);
        }
        if names.len() > MOST_DEPTH {
            return Err(PathError::Refused(format!("the path is deeper than {MOST_DEPTH} folders")));
        }
        Ok(DavPath(names))
    }

    /// A name checked as [`DavPath`] requires.
    pub fn check_name(name: &str) -> Result<String, PathError> {
        if name == "." || name == ".." {
            return Err(PathError::Refused(format!("{name:?} is not allowed in a path")));
        }
        if name.contains('/') || name.contains('\0') {
            return Err(PathError::Refused("a name may not contain '/' or NUL".into()));
        }
        if name.len() > MOST_NAME_BYTES {
            return Err(PathError::Refused(format!("a name is longer than {MOST_NAME_BYTES} bytes")));
        }
        if name.is_empty() {
            return Err(PathError::Refused("a name may not be empty".into()));
        }
        Ok(name.to_string())
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The names.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The last name; `None` for the root.
    pub fn name(&self) -> Option<&str> {
        self.0.last().map(String::as_str)
    }

    /// The parent; `None` for the root.
    pub fn parent(&self) -> Option<DavPath> {
        (!self.0.is_empty()).then(|| DavPath(self.0[..self.0.len() - 1].to_vec()))
    }

    /// This path with `name` below it (`name` already checked).
    pub fn child(&self, name: &str) -> Result<DavPath, PathError> {
        let mut names = self.0.clone();
        names.push(Self::check_name(name)?);
        Ok(DavPath(names))
    }

    /// Whether `self` is `other` or inside it.
    pub fn starts_with(&self, other: &DavPath) -> bool {
        self.0.len() >= other.0.len() && self.0[..other.0.len()] == other.0[..]
    }

    /// This path with the prefix `from` swapped for `to` (for what a MOVE or COPY carries along).
    pub fn rebased(&self, from: &DavPath, to: &DavPath) -> DavPath {
        let mut names = to.0.clone();
        names.extend_from_slice(&self.0[from.0.len().min(self.0.len())..]);
        DavPath(names)
    }

    /// The path relative to the space's folder, for the file system.
    pub fn relative(&self) -> std::path::PathBuf {
        self.0.iter().collect()
    }

    /// The key the catalog stores properties under: names joined by `/`, empty for the root.
    pub fn key(&self) -> String {
        self.0.join("/")
    }

    /// The path from a catalog key.
    pub fn from_key(key: &str) -> Result<DavPath, PathError> {
        let mut names = Vec::new();
        for n in key.split('/').filter(|n| !n.is_empty()) {
            names.push(Self::check_name(n)?);
        }
        Ok(DavPath(names))
    }

    /// The %-encoded href under `prefix` (which ends with `/`), with a trailing slash when
    /// `collection`.
    pub fn href(&self, prefix: &str, collection: bool) -> String {
        let mut out = prefix.to_string();
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.extend(utf8_percent_encode(n, SEGMENT));
        }
        if collection && !self.0.is_empty() {
            out.push('/');
        }
        out
    }
}

impl std::fmt::Display for DavPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/{}", self.0.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn paths_are_decoded_once_and_traversal_refused() {
        let p = DavPath::from_encoded("a//b%20c/put%23test/").expect("ok");
        assert_eq!(p.names(), ["a", "b c", "put#test"]);
        assert_eq!(p.href("/dav/files/anna/", false), "/dav/files/anna/a/b%20c/put%23test");
        assert_eq!(DavPath::root().href("/dav/files/anna/", true), "/dav/files/anna/");
        for bad in ["..", "a/../b", "%2e%2e", "a/%2E%2e/b", "a%2fb", "a%00b", ".", "%ff"] {
            assert!(DavPath::from_encoded(bad).is_err(), "{bad}");
        }
        assert!(DavPath::from_encoded(&"x".repeat(256)).is_err());
        assert!(DavPath::from_encoded(&"a/".repeat(MOST_DEPTH + 1)).is_err());
        assert_eq!(DavPath::from_encoded("%e2%82%ac.txt").expect("utf8").names(), ["€.txt"]);
    }

    #[test]
    fn rebasing_and_prefixes() {
        let a = DavPath::from_encoded("a/b/c").expect("ok");
        let from = DavPath::from_encoded("a").expect("ok");
        let to = DavPath::from_encoded("x/y").expect("ok");
        assert!(a.starts_with(&from));
        assert!(!from.starts_with(&a));
        assert!(!DavPath::from_encoded("ab").expect("ok").starts_with(&from));
        assert_eq!(a.rebased(&from, &to).key(), "x/y/b/c");
        assert_eq!(DavPath::from_key(&a.key()).expect("key"), a);
    }

    proptest! {
        #[test]
        fn any_name_survives_an_href_round_trip(names in proptest::collection::vec("[^/\u{0}]{1,40}", 0..5)) {
            prop_assume!(names.iter().all(|n| n != "." && n != ".." && n.len() <= MOST_NAME_BYTES));
            let p = DavPath(names);
            let href = p.href("/p/", false);
            let back = DavPath::from_encoded(&href["/p/".len()..]).expect("decodes");
            prop_assert_eq!(back, p);
        }
    }
}
