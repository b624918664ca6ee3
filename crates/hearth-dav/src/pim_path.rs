//! The addresses of calendars and address books (docs/calendars.md, "Addresses"): the box's own
//! below `/dav/` and Nextcloud's below `/remote.php/dav/`, read into a [`Target`] and written
//! back as hrefs in the style the client used.

use hearth_catalog::pim::CollectionKind;
use http::StatusCode;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::DavError;

/// The most bytes of a collection's name.
pub const MOST_COLLECTION_NAME: usize = 100;
/// The most bytes of an item's name.
pub const MOST_ITEM_NAME: usize = 255;

/// What hrefs keep as they are: what vdirsyncer's normalisation (Python's `quote(x, "/@")`)
/// keeps, so the hrefs we give are the ones it compares with.
const HREF_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'@');

/// Which addresses the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `/dav/…`.
    Hearth,
    /// `/remote.php/dav/…`.
    Nextcloud,
}

/// What a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The DAV root: it tells who is asking (`current-user-principal`).
    Root,
    /// The member's principal.
    Principal,
    /// Their calendars or address books.
    Home(CollectionKind),
    /// One calendar or address book, by name.
    Collection(CollectionKind, String),
    /// An event, task or contact: the collection's name, then the item's.
    Item(CollectionKind, String, String),
}

/// The hrefs of one member's resources in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hrefs {
    /// Which addresses.
    pub style: Style,
    /// The member's name, encoded.
    user: String,
}

impl Hrefs {
    /// Hrefs for `user` in `style`.
    pub fn new(style: Style, user: &str) -> Hrefs {
        Hrefs { style, user: encode(user) }
    }

    /// The DAV root.
    pub fn root(&self) -> &'static str {
        match self.style {
            Style::Hearth => "/dav/",
            Style::Nextcloud => "/remote.php/dav/",
        }
    }

    /// The member's principal.
    pub fn principal(&self) -> String {
        match self.style {
            Style::Hearth => format!("/dav/principals/{}/", self.user),
            Style::Nextcloud => format!("/remote.php/dav/principals/users/{}/", self.user),
        }
    }

    /// Their home of `kind`.
    pub fn home(&self, kind: CollectionKind) -> String {
        match (self.style, kind) {
            (Style::Hearth, CollectionKind::Calendar) => format!("/dav/calendars/{}/", self.user),
            (Style::Hearth, CollectionKind::AddressBook) => format!("/dav/addressbooks/{}/", self.user),
            (Style::Nextcloud, CollectionKind::Calendar) => format!("/remote.php/dav/calendars/{}/", self.user),
            (Style::Nextcloud, CollectionKind::AddressBook) => format!("/remote.php/dav/addressbooks/users/{}/", self.user),
        }
    }

    /// A collection.
    pub fn collection(&self, kind: CollectionKind, name: &str) -> String {
        format!("{}{}/", self.home(kind), encode(name))
    }

    /// An item.
    pub fn item(&self, kind: CollectionKind, collection: &str, name: &str) -> String {
        format!("{}{}", self.collection(kind, collection), encode(name))
    }

    /// The href of `target`.
    pub fn of(&self, target: &Target) -> String {
        match target {
            Target::Root => self.root().to_string(),
            Target::Principal => self.principal(),
            Target::Home(kind) => self.home(*kind),
            Target::Collection(kind, name) => self.collection(*kind, name),
            Target::Item(kind, c, name) => self.item(*kind, c, name),
        }
    }
}

fn encode(segment: &str) -> String {
    utf8_percent_encode(segment, HREF_SEGMENT).to_string()
}

fn forbidden(message: &str) -> DavError {
    DavError::new(StatusCode::FORBIDDEN, message)
}

fn not_found() -> DavError {
    DavError::new(StatusCode::NOT_FOUND, "there is nothing at this address")
}

/// One decoded path segment; 400 for one that is not UTF-8 or holds a slash or a control
/// character.
fn decode(segment: &str) -> Result<String, DavError> {
    let s =
        percent_decode_str(segment).decode_utf8().map_err(|_| DavError::new(StatusCode::BAD_REQUEST, "a name in the path is not UTF-8"))?;
    if s.contains('/') || s.chars().any(char::is_control) {
        return Err(DavError::new(StatusCode::BAD_REQUEST, "a name in the path holds a slash or a control character"));
    }
    Ok(s.into_owned())
}

/// Whether `name` may name a new collection: one segment of letters, digits, `-`, `_`, `.`, `@`,
/// not starting with a dot, at most [`MOST_COLLECTION_NAME`] bytes.
pub fn valid_collection_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MOST_COLLECTION_NAME
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

/// Whether `name` may name an item: not empty, not `.` or `..`, at most [`MOST_ITEM_NAME`]
/// bytes (slashes and control characters are already refused).
pub fn valid_item_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MOST_ITEM_NAME && name != "." && name != ".."
}

/// Reads a request path (still percent-encoded) below `/dav/` or `/remote.php/dav/` for the
/// member `me`: 403 for another member's resources, 404 for an address that names nothing.
pub fn parse(path: &str, me: &str) -> Result<(Style, Target), DavError> {
    let (style, rest) = if let Some(rest) = path.strip_prefix("/remote.php/dav") {
        (Style::Nextcloud, rest)
    } else if let Some(rest) = path.strip_prefix("/dav") {
        (Style::Hearth, rest)
    } else {
        return Err(not_found());
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Err(not_found());
    }
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let Some((&first, rest)) = segments.split_first() else { return Ok((style, Target::Root)) };
    // Nextcloud puts `users/` before the name in principals and address books.
    let (kind, rest) = match (first, style) {
        ("principals", Style::Hearth) => (None, rest),
        ("principals", Style::Nextcloud) => (None, rest.strip_prefix(&["users"][..]).ok_or_else(not_found)?),
        ("calendars", _) => (Some(CollectionKind::Calendar), rest),
        ("addressbooks", Style::Hearth) => (Some(CollectionKind::AddressBook), rest),
        ("addressbooks", Style::Nextcloud) => (Some(CollectionKind::AddressBook), rest.strip_prefix(&["users"][..]).ok_or_else(not_found)?),
        _ => return Err(not_found()),
    };
    let Some((&user, rest)) = rest.split_first() else { return Err(not_found()) };
    if decode(user)? != me {
        return Err(forbidden("these are another member's; each member reaches only their own"));
    }
    let target = match (kind, rest) {
        (None, []) => Target::Principal,
        (None, _) => return Err(not_found()),
        (Some(kind), []) => Target::Home(kind),
        (Some(kind), [c]) => Target::Collection(kind, decode(c)?),
        (Some(kind), [c, item]) => Target::Item(kind, decode(c)?, decode(item)?),
        (Some(_), _) => return Err(not_found()),
    };
    Ok((style, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_styles_of_address_name_the_same_things() {
        let cal = CollectionKind::Calendar;
        let book = CollectionKind::AddressBook;
        let cases = [
            ("/dav", Style::Hearth, Target::Root),
            ("/dav/", Style::Hearth, Target::Root),
            ("/remote.php/dav/", Style::Nextcloud, Target::Root),
            ("/dav/principals/anna/", Style::Hearth, Target::Principal),
            ("/remote.php/dav/principals/users/anna", Style::Nextcloud, Target::Principal),
            ("/dav/calendars/anna/", Style::Hearth, Target::Home(cal)),
            ("/remote.php/dav/calendars/anna/work", Style::Nextcloud, Target::Collection(cal, "work".into())),
            ("/dav/addressbooks/anna/contacts/", Style::Hearth, Target::Collection(book, "contacts".into())),
            (
                "/remote.php/dav/addressbooks/users/anna/contacts/a%20b%40c.vcf",
                Style::Nextcloud,
                Target::Item(book, "contacts".into(), "a b@c.vcf".into()),
            ),
        ];
        for (path, style, target) in cases {
            let (s, t) = parse(path, "anna").unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!((s, &t), (style, &target), "{path}");
            // Written back in the same style, then read again: the same thing.
            let href = Hrefs::new(style, "anna").of(&t);
            assert_eq!(parse(&href, "anna").expect("again"), (style, target), "{href}");
        }
    }

    #[test]
    fn others_addresses_and_odd_ones_are_refused() {
        let status = |path: &str| parse(path, "anna").expect_err(path).status();
        assert_eq!(status("/dav/calendars/bob/"), StatusCode::FORBIDDEN);
        assert_eq!(status("/remote.php/dav/principals/users/bob/"), StatusCode::FORBIDDEN);
        assert_eq!(status("/dav/principals/anna/x"), StatusCode::NOT_FOUND);
        assert_eq!(status("/dav/addressbooks/users/anna/"), StatusCode::FORBIDDEN, "'users' is a member's name here");
        assert_eq!(status("/remote.php/dav/addressbooks/anna/"), StatusCode::NOT_FOUND);
        assert_eq!(status("/dav/calendars/anna/a/b/c"), StatusCode::NOT_FOUND);
        assert_eq!(status("/dav/calendars/anna/a/b%2Fc"), StatusCode::BAD_REQUEST);
        assert_eq!(status("/dav/calendars/anna/a/%FF"), StatusCode::BAD_REQUEST);
        assert_eq!(status("/davx/calendars/anna/"), StatusCode::NOT_FOUND);
        assert_eq!(status("/dav/files/anna/"), StatusCode::NOT_FOUND);
    }

    #[test]
    fn names() {
        assert!(valid_collection_name("work-2024_ä"));
        for bad in ["", ".hidden", "a b", &"x".repeat(101)] {
            assert!(!valid_collection_name(bad), "{bad:?}");
        }
        assert!(valid_item_name("4fbe8971-0bc3.ics"));
        assert!(!valid_item_name(".."));
    }
}
