//! CalDAV (RFC 4791) and CardDAV (RFC 6352) over the catalog (docs/calendars.md): discovery
//! (`current-user-principal`, the home sets), collections made with MKCALENDAR or extended
//! MKCOL (RFC 5689) and their properties, items written with ETag preconditions, and the
//! reports clients sync and search with (`calendar-multiget`, `addressbook-multiget`,
//! `calendar-query`, `addressbook-query`, `sync-collection`, RFC 6578). The caller (hearth-api)
//! authenticates; this module answers for the member it is given, with their own collections and
//! those other members share with them.

use std::sync::Arc;

use bytes::Bytes;
use hearth_catalog::Catalog;
use hearth_catalog::pim::{
    self, Collection, CollectionKind, CollectionProps, DeleteOutcome, ItemMeta, NewItem, Precondition, PutOutcome, ShareAccess,
};
use http::{HeaderValue, StatusCode, header};
use http_body::Body as HttpBody;

use crate::headers::{self, Depth};
use crate::methods::{DavBody, DavError, DavResponse, blocking, empty, read_body, read_small_body, xml_response};
use crate::pim_path::{self, Hrefs, Target};
use crate::properties::{MultiStatus, element};
use crate::xml_tree::{self, Element, Name, escape_into};

/// CalDAV's namespace.
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// CardDAV's namespace.
pub const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
/// CalendarServer's (`getctag`).
pub const CALENDARSERVER: &str = "http://calendarserver.org/ns/";
/// Apple's iCal namespace (`calendar-color`, `calendar-order`).
pub const APPLE_ICAL: &str = "http://apple.com/ns/ical/";

/// The largest event, task or contact taken (`max-resource-size`).
pub const MOST_ITEM_BYTES: usize = 1 << 20;

/// What `OPTIONS` says is spoken here.
const DAV_CLASSES: &str = "1, 3, calendar-access, addressbook, extended-mkcol";
const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT, MKCOL, MKCALENDAR";

/// Sync tokens are URIs (RFC 6578 3.2): this, the collection's id, `/`, its change number.
const SYNC_TOKEN_PREFIX: &str = "https://hearth.local/ns/sync/";

/// The member asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Their user id.
    pub id: i64,
    /// Their name (in addresses).
    pub name: String,
    /// Their name as shown.
    pub display_name: String,
}

type Result<T> = std::result::Result<T, DavError>;

/// Answers one CalDAV or CardDAV request at `parts`' path (below `/dav/` or `/remote.php/dav/`)
/// for `member`; `now` in Unix seconds.
pub async fn handle<B>(catalog: Arc<Catalog>, member: Member, parts: http::request::Parts, body: B, now: i64) -> DavResponse
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    match answer(catalog, member, parts, body, now).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// What a request is about, with what the catalog knows of it.
struct Ask {
    catalog: Arc<Catalog>,
    member: Member,
    hrefs: Hrefs,
    target: Target,
    now: i64,
}

async fn answer<B>(catalog: Arc<Catalog>, member: Member, parts: http::request::Parts, body: B, now: i64) -> Result<DavResponse>
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let (style, target) = pim_path::parse(parts.uri.path(), &member.name)?;
    let hrefs = Hrefs::new(style, &member.name);
    let ask = Arc::new(Ask { catalog, member, hrefs, target, now });
    if let Some(kind) = kind_of(&ask.target) {
        ask.ensure_default(kind).await?;
    }
    let method = parts.method.as_str().to_ascii_uppercase();
    match method.as_str() {
        "OPTIONS" => Ok(options()),
        "PROPFIND" => {
            let depth = headers::depth(header_str(&parts, "depth"))?;
            let asked = crate::request_body::propfind(&read_small_body(body).await?)?;
            propfind(ask, depth, asked).await
        }
        "PROPPATCH" => proppatch(ask, read_small_body(body).await?).await,
        "MKCALENDAR" | "MKCOL" => make_collection(ask, &method, read_small_body(body).await?).await,
        "GET" | "HEAD" => get(ask, method == "HEAD").await,
        "PUT" => {
            let pre = precondition(&parts)?;
            let ns = if kind_of(&ask.target) == Some(CollectionKind::AddressBook) { CARDDAV } else { CALDAV };
            put(ask, pre, read_body(body, MOST_ITEM_BYTES).await.map_err(|e| too_large(e, ns))?).await
        }
        "DELETE" => delete(ask, precondition(&parts)?).await,
        "REPORT" => report(ask, read_small_body(body).await?).await,
        _ => Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not for calendars and address books"))),
    }
}

fn kind_of(target: &Target) -> Option<CollectionKind> {
    match target {
        Target::Root | Target::Principal => None,
        Target::Home(k) | Target::Collection(k, _) | Target::Item(k, _, _) => Some(*k),
    }
}

fn header_str<'a>(parts: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A body past [`MOST_ITEM_BYTES`] as CalDAV and CardDAV say it (`max-resource-size` in `ns`).
fn too_large(e: DavError, ns: &'static str) -> DavError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        DavError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("an event, task or contact is at most {MOST_ITEM_BYTES} bytes"))
            .with_condition_in(ns, "max-resource-size")
    } else {
        e
    }
}

/// `If-Match` / `If-None-Match` as a write's condition on the item there.
fn precondition(parts: &http::request::Parts) -> Result<Precondition> {
    let tags = |v: &str| v.split(',').map(|t| t.trim().trim_start_matches("W/").to_string()).filter(|t| !t.is_empty()).collect::<Vec<_>>();
    match (header_str(parts, "if-match"), header_str(parts, "if-none-match")) {
        (Some(_), Some(_)) => Err(DavError::new(StatusCode::BAD_REQUEST, "If-Match and If-None-Match together are not taken")),
        (Some(m), None) if m.trim() == "*" => Ok(Precondition::Present),
        (Some(m), None) => Ok(Precondition::EtagIn(tags(m))),
        (None, Some(n)) if n.trim() == "*" => Ok(Precondition::Absent),
        (None, Some(_)) => Err(DavError::new(StatusCode::BAD_REQUEST, "If-None-Match takes * here")),
        (None, None) => Ok(Precondition::Any),
    }
}

fn options() -> DavResponse {
    let mut r = empty(StatusCode::OK);
    r.headers_mut().insert("dav", HeaderValue::from_static(DAV_CLASSES));
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    r
}

/// An item's strong ETag: the first 16 bytes of its text's SHA-256, in hex, quoted.
pub fn etag_of(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let hex: String = digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn sync_token(c: &Collection) -> String {
    format!("{SYNC_TOKEN_PREFIX}{}/{}", c.id.0, c.sync_seq)
}

/// The change number in a token this collection gave; `None` for any other text.
fn token_seq(token: &str, c: &Collection) -> Option<i64> {
    let rest = token.trim().strip_prefix(SYNC_TOKEN_PREFIX)?;
    let (id, seq) = rest.split_once('/')?;
    (id.parse::<i64>().ok()? == c.id.0).then_some(())?;
    seq.parse().ok()
}

fn no_collection() -> DavError {
    DavError::new(StatusCode::NOT_FOUND, "no calendar or address book of that name")
}

/// What the one asking may do in a collection they reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Theirs.
    Own,
    /// Shared with them to change.
    Write,
    /// Shared with them to read.
    Read,
}

/// A collection as the one asking reached it: theirs (at its name in their home) or shared
/// with them by another member (at `<owner>~<name>`: a name of their own never holds `~`).
/// It reads as the collection it is.
#[derive(Debug, Clone)]
struct Reached {
    collection: Collection,
    /// Its path segment in the asker's home.
    segment: String,
    access: Access,
}

impl std::ops::Deref for Reached {
    type Target = Collection;
    fn deref(&self) -> &Collection {
        &self.collection
    }
}

impl Reached {
    fn own(collection: Collection) -> Reached {
        Reached { segment: collection.name.clone(), collection, access: Access::Own }
    }

    fn shared(s: pim::Shared) -> Reached {
        let access = match s.access {
            ShareAccess::Write => Access::Write,
            ShareAccess::Read => Access::Read,
        };
        Reached { segment: s.segment(), collection: s.collection, access }
    }

    /// Refuses a change of what is in it to a member who may only read it.
    fn may_change_items(&self) -> Result<()> {
        if self.access == Access::Read {
            return Err(DavError::new(StatusCode::FORBIDDEN, "this is shared with you to read; ask its owner to let you change it")
                .with_condition_in("DAV:", "need-privileges"));
        }
        Ok(())
    }
}

/// The collection at `segment` of `member`'s home of `kind`: their own, or one shared with them.
fn reach(
    r: &hearth_catalog::store::Connection,
    member: i64,
    kind: CollectionKind,
    segment: &str,
) -> std::result::Result<Option<Reached>, hearth_catalog::CatalogError> {
    match segment.split_once('~') {
        Some((owner, name)) => Ok(pim::shared_collection(r, member, kind, owner, name)?.map(Reached::shared)),
        None => Ok(pim::collection(r, member, kind, segment)?.map(Reached::own)),
    }
}

impl Ask {
    /// Makes the member's default collection of `kind` the first time (a read first, so the
    /// usual request writes nothing).
    async fn ensure_default(self: &Arc<Self>, kind: CollectionKind) -> Result<()> {
        let me = self.clone();
        blocking(move || {
            if !me.catalog.read(|r| pim::has_any(r, me.member.id, kind))? {
                me.catalog.write(|tx| pim::ensure_default(tx, me.member.id, kind, me.now))?;
            }
            Ok(())
        })
        .await
    }

    /// The collection the target names (404 when there is none).
    async fn collection(self: &Arc<Self>) -> Result<Reached> {
        let (kind, name) = match &self.target {
            Target::Collection(k, n) | Target::Item(k, n, _) => (*k, n.clone()),
            _ => return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "this is not a calendar or address book")),
        };
        let me = self.clone();
        blocking(move || me.catalog.read(|r| reach(r, me.member.id, kind, &name))?.ok_or_else(no_collection)).await
    }
}

// ---- properties ------------------------------------------------------------------------------

/// A resource whose properties are asked for.
enum Resource {
    Root,
    Principal,
    Home(CollectionKind),
    Collection(Reached),
    Item { collection: Reached, meta: ItemMeta, body: Option<String> },
}

impl Resource {
    fn href(&self, hrefs: &Hrefs) -> String {
        match self {
            Resource::Root => hrefs.root().to_string(),
            Resource::Principal => hrefs.principal(),
            Resource::Home(kind) => hrefs.home(*kind),
            Resource::Collection(c) => hrefs.collection(c.kind, &c.segment),
            Resource::Item { collection, meta, .. } => hrefs.item(collection.kind, &collection.segment, &meta.name),
        }
    }
}

/// The properties `allprop` gives (RFC 4918 9.1: not the expensive or large ones).
fn allprop_names() -> Vec<Name> {
    let dav = |l: &str| Name::new("DAV:", l);
    vec![dav("resourcetype"), dav("displayname"), dav("getetag"), dav("getcontenttype"), dav("getcontentlength")]
}

fn href_element(href: &str) -> String {
    let mut out = String::from("<d:href>");
    escape_into(href, &mut out);
    out.push_str("</d:href>");
    out
}

fn text(value: &str) -> String {
    let mut out = String::new();
    // A carriage return written as itself would be read back as a line feed (XML's line-end
    // rule): written as a reference, the text the client gets is the text it stored.
    for piece in value.split_inclusive('\r') {
        match piece.strip_suffix('\r') {
            Some(p) => {
                escape_into(p, &mut out);
                out.push_str("&#13;");
            }
            None => escape_into(piece, &mut out),
        }
    }
    out
}

/// The value of `name` on `res`, or `None` when it has no such property.
fn value(name: &Name, res: &Resource, ask: &Ask) -> Option<String> {
    let hrefs = &ask.hrefs;
    let principal = || href_element(&hrefs.principal());
    let ns = name.namespace.as_str();
    let local = name.local.as_str();
    match (ns, local, res) {
        ("DAV:", "resourcetype", Resource::Root | Resource::Home(_)) => Some("<d:collection/>".into()),
        ("DAV:", "resourcetype", Resource::Principal) => Some("<d:collection/><d:principal/>".into()),
        ("DAV:", "resourcetype", Resource::Collection(c)) => Some(match c.kind {
            CollectionKind::Calendar => format!("<d:collection/><c:calendar xmlns:c=\"{CALDAV}\"/>"),
            CollectionKind::AddressBook => format!("<d:collection/><c:addressbook xmlns:c=\"{CARDDAV}\"/>"),
        }),
        ("DAV:", "resourcetype", Resource::Item { .. }) => Some(String::new()),
        ("DAV:", "current-user-principal", _) => Some(principal()),
        ("DAV:", "principal-URL", Resource::Principal) => Some(principal()),
        ("DAV:", "owner", Resource::Home(_)) => Some(principal()),
        // Another member's principal is not for the one asking to reach: only their own is named.
        ("DAV:", "owner", Resource::Collection(c) | Resource::Item { collection: c, .. }) if c.access == Access::Own => Some(principal()),
        ("DAV:", "displayname", Resource::Principal) => Some(text(&ask.member.display_name)),
        ("DAV:", "displayname", Resource::Home(CollectionKind::Calendar)) => Some("Calendars".into()),
        ("DAV:", "displayname", Resource::Home(CollectionKind::AddressBook)) => Some("Address books".into()),
        // Only once set: a name made up from the address would read as the family's choice.
        ("DAV:", "displayname", Resource::Collection(c)) => c.display_name.as_deref().map(text),
        ("DAV:", "getetag", Resource::Collection(c)) => Some(format!("\"{}\"", c.sync_seq)),
        ("DAV:", "getetag", Resource::Item { meta, .. }) => Some(text(&meta.etag)),
        ("DAV:", "getcontenttype", Resource::Item { meta, .. }) => Some(match meta.component.as_str() {
            "VCARD" => "text/vcard; charset=utf-8".into(),
            other => format!("text/calendar; charset=utf-8; component={}", other.to_ascii_lowercase()),
        }),
        ("DAV:", "getcontentlength", Resource::Item { meta, .. }) => Some(meta.size.to_string()),
        ("DAV:", "sync-token", Resource::Collection(c)) => Some(text(&sync_token(c))),
        ("DAV:", "supported-report-set", Resource::Collection(c)) => {
            let reports: &[(&str, &str)] = match c.kind {
                CollectionKind::Calendar => &[(CALDAV, "calendar-multiget"), (CALDAV, "calendar-query"), ("DAV:", "sync-collection")],
                CollectionKind::AddressBook => {
                    &[(CARDDAV, "addressbook-multiget"), (CARDDAV, "addressbook-query"), ("DAV:", "sync-collection")]
                }
            };
            Some(
                reports
                    .iter()
                    .map(|(ns, r)| format!("<d:supported-report><d:report><r:{r} xmlns:r=\"{ns}\"/></d:report></d:supported-report>"))
                    .collect(),
            )
        }
        ("DAV:", "current-user-privilege-set", Resource::Home(_) | Resource::Collection(_) | Resource::Item { .. }) => {
            let access = match res {
                Resource::Collection(c) | Resource::Item { collection: c, .. } => c.access,
                _ => Access::Own,
            };
            let privileges: &[&str] = match access {
                Access::Own => {
                    &["all", "read", "write", "write-properties", "write-content", "bind", "unbind", "read-current-user-privilege-set"]
                }
                Access::Write => &["read", "write-content", "bind", "unbind", "read-current-user-privilege-set"],
                Access::Read => &["read", "read-current-user-privilege-set"],
            };
            Some(privileges.iter().map(|p| format!("<d:privilege><d:{p}/></d:privilege>")).collect())
        }
        (CALDAV, "calendar-home-set", Resource::Root | Resource::Principal | Resource::Home(_)) => {
            Some(href_element(&hrefs.home(CollectionKind::Calendar)))
        }
        (CARDDAV, "addressbook-home-set", Resource::Root | Resource::Principal | Resource::Home(_)) => {
            Some(href_element(&hrefs.home(CollectionKind::AddressBook)))
        }
        (CALDAV, "supported-calendar-component-set", Resource::Collection(c)) if c.kind == CollectionKind::Calendar => {
            Some(c.components.iter().map(|comp| format!("<c:comp xmlns:c=\"{CALDAV}\" name=\"{}\"/>", xml_tree::escape(comp))).collect())
        }
        (CALDAV, "supported-calendar-data", Resource::Collection(c)) if c.kind == CollectionKind::Calendar => {
            Some(format!("<c:calendar-data xmlns:c=\"{CALDAV}\" content-type=\"text/calendar\" version=\"2.0\"/>"))
        }
        (CARDDAV, "supported-address-data", Resource::Collection(c)) if c.kind == CollectionKind::AddressBook => Some(format!(
            "<c:address-data-type xmlns:c=\"{CARDDAV}\" content-type=\"text/vcard\" version=\"3.0\"/><c:address-data-type xmlns:c=\"{CARDDAV}\" content-type=\"text/vcard\" version=\"4.0\"/>"
        )),
        (CALDAV, "max-resource-size", Resource::Collection(c)) if c.kind == CollectionKind::Calendar => Some(MOST_ITEM_BYTES.to_string()),
        (CARDDAV, "max-resource-size", Resource::Collection(c)) if c.kind == CollectionKind::AddressBook => {
            Some(MOST_ITEM_BYTES.to_string())
        }
        (CALDAV, "calendar-description", Resource::Collection(c)) if c.kind == CollectionKind::Calendar => {
            c.description.as_deref().map(text)
        }
        (CARDDAV, "addressbook-description", Resource::Collection(c)) if c.kind == CollectionKind::AddressBook => {
            c.description.as_deref().map(text)
        }
        (CALDAV, "calendar-timezone", Resource::Collection(c)) if c.kind == CollectionKind::Calendar => c.timezone.as_deref().map(text),
        (APPLE_ICAL, "calendar-color", Resource::Collection(c)) if c.kind == CollectionKind::Calendar => c.color.as_deref().map(text),
        (APPLE_ICAL, "calendar-order", Resource::Collection(c)) if c.kind == CollectionKind::Calendar => c.sort_order.as_deref().map(text),
        (CALENDARSERVER, "getctag", Resource::Collection(c)) => Some(c.sync_seq.to_string()),
        (CALDAV, "calendar-data", Resource::Item { collection, body: Some(b), .. }) if collection.kind == CollectionKind::Calendar => {
            Some(text(b))
        }
        (CARDDAV, "address-data", Resource::Item { collection, body: Some(b), .. }) if collection.kind == CollectionKind::AddressBook => {
            Some(text(b))
        }
        _ => None,
    }
}

/// Whether answering `names` needs the items' text.
fn wants_body(names: &[Name]) -> bool {
    names.iter().any(|n| (n.namespace == CALDAV && n.local == "calendar-data") || (n.namespace == CARDDAV && n.local == "address-data"))
}

/// One resource's `response`: found properties in a 200 propstat, the others in a 404 one.
fn respond(out: &mut MultiStatus, res: &Resource, names: &[Name], ask: &Ask) {
    let (mut found, mut missing) = (String::new(), String::new());
    for name in names {
        match value(name, res, ask) {
            Some(v) => element(name, &v, &mut found),
            None => element(name, "", &mut missing),
        }
    }
    out.response(&res.href(&ask.hrefs), &crate::properties::found_and_missing(found, missing));
}

fn multistatus(body: String) -> DavResponse {
    xml_response(StatusCode::MULTI_STATUS, body)
}

// ---- methods ---------------------------------------------------------------------------------

async fn propfind(ask: Arc<Ask>, depth: Option<Depth>, asked: crate::request_body::Propfind) -> Result<DavResponse> {
    use crate::request_body::Propfind;
    let (names, names_only) = match asked {
        Propfind::Prop(names) => (names, false),
        Propfind::AllProp { include } => {
            let mut names = allprop_names();
            names.extend(include);
            (names, false)
        }
        Propfind::PropName => (allprop_names(), true),
    };
    // No Depth is infinity (RFC 4918 10.2): the same as 1 below a collection, refused above.
    let members = match (&ask.target, depth) {
        (_, Some(Depth::Zero)) => false,
        (Target::Home(_), None | Some(Depth::Infinity)) => {
            return Err(DavError::new(StatusCode::FORBIDDEN, "PROPFIND with Depth: infinity is not answered here; use Depth: 1")
                .with_condition_in("DAV:", "propfind-finite-depth"));
        }
        (Target::Home(_) | Target::Collection(..), _) => true,
        _ => false,
    };
    let me = ask.clone();
    let with_body = wants_body(&names);
    let resources = blocking(move || me.resources(members, with_body)).await?;
    let mut out = MultiStatus::default();
    for res in &resources {
        if names_only {
            let mut listed = String::new();
            for n in names.iter().filter(|n| value(n, res, &ask).is_some()) {
                element(n, "", &mut listed);
            }
            out.response(&res.href(&ask.hrefs), &[(StatusCode::OK, listed)]);
        } else {
            respond(&mut out, res, &names, &ask);
        }
    }
    Ok(multistatus(out.finish()))
}

impl Ask {
    /// The target and, when `members`, what is in it (on the blocking pool).
    fn resources(&self, members: bool, with_body: bool) -> Result<Vec<Resource>> {
        let uid = self.member.id;
        self.catalog
            .read(|r| {
                let mut out = Vec::new();
                match &self.target {
                    Target::Root => out.push(Resource::Root),
                    Target::Principal => out.push(Resource::Principal),
                    Target::Home(kind) => {
                        out.push(Resource::Home(*kind));
                        if members {
                            out.extend(pim::collections(r, uid, *kind)?.into_iter().map(|c| Resource::Collection(Reached::own(c))));
                            out.extend(pim::shared_with(r, uid, *kind)?.into_iter().map(|s| Resource::Collection(Reached::shared(s))));
                        }
                    }
                    Target::Collection(kind, name) => {
                        let Some(c) = reach(r, uid, *kind, name)? else { return Ok(None) };
                        // With their text in one query when it is asked for, else without it.
                        let items: Vec<(ItemMeta, Option<String>)> = match (members, with_body) {
                            (false, _) => Vec::new(),
                            (true, true) => {
                                pim::items_in_window(r, c.id, None, None)?.into_iter().map(|i| (i.meta, Some(i.body))).collect()
                            }
                            (true, false) => pim::items(r, c.id)?.into_iter().map(|m| (m, None)).collect(),
                        };
                        out.push(Resource::Collection(c.clone()));
                        for (meta, body) in items {
                            out.push(Resource::Item { collection: c.clone(), meta, body });
                        }
                    }
                    Target::Item(kind, cname, name) => {
                        let Some(c) = reach(r, uid, *kind, cname)? else { return Ok(None) };
                        let Some(item) = pim::item(r, c.id, name)? else { return Ok(None) };
                        out.push(Resource::Item { collection: c, meta: item.meta, body: with_body.then_some(item.body) });
                    }
                }
                Ok(Some(out))
            })?
            .ok_or_else(|| DavError::new(StatusCode::NOT_FOUND, "nothing is at this address"))
    }
}

/// The properties a client may set on a collection, from a PROPPATCH, MKCALENDAR or MKCOL body.
enum Settable {
    DisplayName,
    Description,
    Color,
    Order,
    /// `calendar-timezone`.
    Timezone,
    /// Only when the collection is made.
    Components,
    /// Only when the collection is made.
    ResourceType,
}

fn settable(name: &Name, kind: CollectionKind) -> Option<Settable> {
    match (name.namespace.as_str(), name.local.as_str(), kind) {
        ("DAV:", "displayname", _) => Some(Settable::DisplayName),
        ("DAV:", "resourcetype", _) => Some(Settable::ResourceType),
        (CALDAV, "calendar-description", CollectionKind::Calendar) | (CARDDAV, "addressbook-description", CollectionKind::AddressBook) => {
            Some(Settable::Description)
        }
        (APPLE_ICAL, "calendar-color", CollectionKind::Calendar) => Some(Settable::Color),
        (APPLE_ICAL, "calendar-order", CollectionKind::Calendar) => Some(Settable::Order),
        (CALDAV, "calendar-timezone", CollectionKind::Calendar) => Some(Settable::Timezone),
        (CALDAV, "supported-calendar-component-set", CollectionKind::Calendar) => Some(Settable::Components),
        _ => None,
    }
}

/// At most this many characters in a collection's name, description, colour or order.
const MOST_PROPERTY_CHARS: usize = 1000;

fn property_text(e: &Element) -> Result<String> {
    let t = e.text().trim().to_string();
    if t.chars().count() > MOST_PROPERTY_CHARS || t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(DavError::new(StatusCode::FORBIDDEN, format!("{} is at most {MOST_PROPERTY_CHARS} characters of text", e.name.local)));
    }
    Ok(t)
}

/// A `calendar-timezone` value: iCalendar text of at most 64 KiB (a VTIMEZONE with its rules).
fn zone_text(e: &Element) -> Result<String> {
    let t = e.text();
    if t.len() > 64 << 10 || !t.trim_start().to_ascii_uppercase().starts_with("BEGIN:VCALENDAR") {
        return Err(DavError::new(StatusCode::FORBIDDEN, "calendar-timezone is a VCALENDAR with one VTIMEZONE, at most 64 KiB")
            .with_condition_in(CALDAV, "valid-calendar-data"));
    }
    Ok(t)
}

async fn proppatch(ask: Arc<Ask>, body: Vec<u8>) -> Result<DavResponse> {
    let Target::Collection(kind, _) = ask.target.clone() else {
        return Err(DavError::new(StatusCode::FORBIDDEN, "only a calendar's or address book's properties may be changed"));
    };
    let root = xml_tree::parse(&body).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    if !root.name.is_dav("propertyupdate") {
        return Err(DavError::new(StatusCode::BAD_REQUEST, "a PROPPATCH body is a DAV:propertyupdate element"));
    }
    let collection = ask.collection().await?;
    if collection.access != Access::Own {
        return Err(DavError::new(StatusCode::FORBIDDEN, "only its owner changes a shared calendar's or address book's name and colour")
            .with_condition_in("DAV:", "need-privileges"));
    }
    let mut props = CollectionProps::default();
    let mut refused = Vec::new();
    let mut accepted = Vec::new();
    for (set, p) in crate::request_body::property_updates(&root) {
        let which = settable(&p.name, kind);
        let value = match (set, &which) {
            (false, _) => None,
            (true, Some(Settable::Timezone)) => Some(zone_text(p)?),
            (true, _) => Some(property_text(p)?).filter(|v| !v.is_empty()),
        };
        match which {
            Some(Settable::DisplayName) => props.display_name = Some(value),
            Some(Settable::Description) => props.description = Some(value),
            Some(Settable::Color) => props.color = Some(value),
            Some(Settable::Order) => props.sort_order = Some(value),
            Some(Settable::Timezone) => props.timezone = Some(value),
            _ => {
                refused.push(p.name.clone());
                continue;
            }
        }
        accepted.push(p.name.clone());
    }
    // All or nothing (RFC 4918 9.2): one refused property leaves the others unset too.
    if refused.is_empty() {
        let me = ask.clone();
        blocking(move || Ok(me.catalog.write(|tx| pim::change_collection(tx, collection.id, &props))?)).await?;
    }
    let group = |names: &[Name]| {
        let mut s = String::new();
        for n in names {
            element(n, "", &mut s);
        }
        s
    };
    let mut groups = Vec::new();
    if refused.is_empty() {
        groups.push((StatusCode::OK, group(&accepted)));
    } else {
        groups.push((StatusCode::FORBIDDEN, group(&refused)));
        if !accepted.is_empty() {
            groups.push((StatusCode::FAILED_DEPENDENCY, group(&accepted)));
        }
    }
    let mut out = MultiStatus::default();
    out.response(&ask.hrefs.of(&ask.target), &groups);
    Ok(multistatus(out.finish()))
}

async fn make_collection(ask: Arc<Ask>, method: &str, body: Vec<u8>) -> Result<DavResponse> {
    let Target::Collection(kind, name) = ask.target.clone() else {
        return Err(DavError::new(StatusCode::FORBIDDEN, "calendars and address books are made in their home, one level down"));
    };
    if method == "MKCALENDAR" && kind != CollectionKind::Calendar {
        return Err(DavError::new(StatusCode::FORBIDDEN, "MKCALENDAR makes calendars, in the calendar home")
            .with_condition_in(CALDAV, "calendar-collection-location-ok"));
    }
    if !pim_path::valid_collection_name(&name) {
        return Err(DavError::new(
            StatusCode::FORBIDDEN,
            "a calendar's or address book's name is letters, digits, -, _, . and @, at most 100 bytes, not starting with a dot",
        ));
    }
    let mut props = CollectionProps::default();
    let mut components = kind.default_components();
    let mut typed = method == "MKCALENDAR";
    if !body.iter().all(u8::is_ascii_whitespace) {
        let root = xml_tree::parse(&body).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        let expected = if method == "MKCALENDAR" { (CALDAV, "mkcalendar") } else { ("DAV:", "mkcol") };
        if root.name.namespace != expected.0 || root.name.local != expected.1 {
            return Err(DavError::new(StatusCode::BAD_REQUEST, format!("a {method} body is a {} element", expected.1)));
        }
        // RFC 5689 sets properties only; a `remove` here means nothing.
        for p in crate::request_body::property_updates(&root).filter_map(|(set, p)| set.then_some(p)) {
            match settable(&p.name, kind) {
                Some(Settable::DisplayName) => props.display_name = Some(Some(property_text(p)?)),
                Some(Settable::Description) => props.description = Some(Some(property_text(p)?)),
                Some(Settable::Color) => props.color = Some(Some(property_text(p)?)),
                Some(Settable::Order) => props.sort_order = Some(Some(property_text(p)?)),
                Some(Settable::Timezone) => props.timezone = Some(Some(zone_text(p)?)),
                Some(Settable::Components) => {
                    components = p
                        .children_named(CALDAV, "comp")
                        .filter_map(|c| c.attribute("name").map(str::to_ascii_uppercase))
                        .filter(|c| matches!(c.as_str(), "VEVENT" | "VTODO" | "VJOURNAL"))
                        .collect();
                    if components.is_empty() {
                        return Err(DavError::new(StatusCode::FORBIDDEN, "a calendar takes VEVENT, VTODO or VJOURNAL components")
                            .with_condition_in(CALDAV, "supported-calendar-component"));
                    }
                }
                Some(Settable::ResourceType) => {
                    let (ns, local) = match kind {
                        CollectionKind::Calendar => (CALDAV, "calendar"),
                        CollectionKind::AddressBook => (CARDDAV, "addressbook"),
                    };
                    if p.children_named(ns, local).next().is_none() {
                        return Err(DavError::new(StatusCode::FORBIDDEN, format!("only {local} collections are made here"))
                            .with_condition_in("DAV:", "valid-resourcetype"));
                    }
                    typed = true;
                }
                // Others (a time zone, a client's own) are not kept; the collection is made all the same.
                None => {}
            }
        }
    }
    if !typed {
        return Err(DavError::new(StatusCode::FORBIDDEN, "only calendars and address books are made here: say which resourcetype")
            .with_condition_in("DAV:", "valid-resourcetype"));
    }
    let me = ask.clone();
    let made =
        blocking(move || match me.catalog.write(|tx| pim::create_collection(tx, me.member.id, kind, &name, &components, &props, me.now)) {
            Ok(_) => Ok(true),
            Err(hearth_catalog::CatalogError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        })
        .await?;
    if !made {
        return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "a calendar or address book of that name exists"));
    }
    let mut r = empty(StatusCode::CREATED);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

async fn get(ask: Arc<Ask>, head: bool) -> Result<DavResponse> {
    let Target::Item(_, _, name) = ask.target.clone() else {
        return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "GET is for one event, task or contact; list them with PROPFIND"));
    };
    let collection = ask.collection().await?;
    let me = ask.clone();
    let item = blocking(move || Ok(me.catalog.read(|r| pim::item(r, collection.id, &name))?))
        .await?
        .ok_or_else(|| DavError::new(StatusCode::NOT_FOUND, "no such event, task or contact"))?;
    let content_type = match item.meta.component.as_str() {
        "VCARD" => "text/vcard; charset=utf-8".to_string(),
        other => format!("text/calendar; charset=utf-8; component={}", other.to_ascii_lowercase()),
    };
    let mut r = http::Response::new(if head { DavBody::Empty } else { DavBody::Text(item.body) });
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&item.meta.etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&item.meta.size.to_string()) {
        r.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
    Ok(r)
}

async fn put(ask: Arc<Ask>, pre: Precondition, body: Vec<u8>) -> Result<DavResponse> {
    let Target::Item(kind, _, name) = ask.target.clone() else {
        return Err(DavError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "PUT writes one event, task or contact inside a calendar or address book",
        ));
    };
    if !pim_path::valid_item_name(&name) {
        return Err(DavError::new(StatusCode::BAD_REQUEST, "an item's name is at most 255 bytes and not . or .."));
    }
    let collection = ask.collection().await.map_err(|e| {
        if e.status() == StatusCode::NOT_FOUND {
            DavError::new(StatusCode::CONFLICT, "no calendar or address book of that name to put it in")
        } else {
            e
        }
    })?;
    collection.may_change_items()?;
    let text = String::from_utf8(body).map_err(|_| match kind {
        CollectionKind::Calendar => {
            DavError::new(StatusCode::FORBIDDEN, "iCalendar is UTF-8 text").with_condition_in(CALDAV, "valid-calendar-data")
        }
        CollectionKind::AddressBook => {
            DavError::new(StatusCode::FORBIDDEN, "a vCard is UTF-8 text").with_condition_in(CARDDAV, "valid-address-data")
        }
    })?;
    let (uid, component, window) = match kind {
        CollectionKind::Calendar => {
            let o = crate::calendar_object::parse(&text, &collection.components).map_err(|e| {
                let condition = e.condition();
                DavError::new(StatusCode::FORBIDDEN, e.to_string()).with_condition_in(CALDAV, condition)
            })?;
            (o.uid, o.component, o.window)
        }
        CollectionKind::AddressBook => {
            let o = crate::contact_object::parse(&text)
                .map_err(|e| DavError::new(StatusCode::FORBIDDEN, e.to_string()).with_condition_in(CARDDAV, e.condition()))?;
            (o.uid, "VCARD", None)
        }
    };
    let etag = etag_of(&text);
    let me = ask.clone();
    let tag = etag.clone();
    let outcome = blocking(move || {
        let new = NewItem { name: &name, uid: &uid, component, body: &text, etag: &tag, window };
        Ok(me.catalog.write(|tx| pim::put_item(tx, collection.id, &new, &pre, me.now))?)
    })
    .await?;
    let status = match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::Replaced => StatusCode::NO_CONTENT,
        PutOutcome::PreconditionFailed => {
            return Err(DavError::new(StatusCode::PRECONDITION_FAILED, "the item changed or exists: fetch it again"));
        }
        PutOutcome::UidTaken(other) => {
            let ns = if kind == CollectionKind::Calendar { CALDAV } else { CARDDAV };
            return Err(DavError::new(StatusCode::CONFLICT, format!("{other} in this collection has the same UID"))
                .with_condition_in(ns, "no-uid-conflict"));
        }
    };
    let mut r = empty(status);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}

async fn delete(ask: Arc<Ask>, pre: Precondition) -> Result<DavResponse> {
    match ask.target.clone() {
        Target::Item(_, _, name) => {
            let collection = ask.collection().await?;
            collection.may_change_items()?;
            let me = ask.clone();
            let outcome = blocking(move || Ok(me.catalog.write(|tx| pim::delete_item(tx, collection.id, &name, &pre, me.now))?)).await?;
            match outcome {
                DeleteOutcome::Deleted => Ok(empty(StatusCode::NO_CONTENT)),
                DeleteOutcome::NotFound => Err(DavError::new(StatusCode::NOT_FOUND, "no such event, task or contact")),
                DeleteOutcome::PreconditionFailed => {
                    Err(DavError::new(StatusCode::PRECONDITION_FAILED, "the item changed: fetch it again"))
                }
            }
        }
        Target::Collection(..) => {
            let collection = ask.collection().await?;
            let me = ask.clone();
            // A member deleting what is shared with them leaves it, as a Nextcloud does; its
            // owner's copy and everyone else's share stay.
            let own = collection.access == Access::Own;
            blocking(move || {
                me.catalog.write(|tx| {
                    if own { pim::delete_collection(tx, collection.id) } else { pim::unshare(tx, collection.id, me.member.id).map(|_| ()) }
                })?;
                Ok(())
            })
            .await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        _ => Err(DavError::new(StatusCode::FORBIDDEN, "only calendars, address books and what is in them are deleted")),
    }
}

// ---- reports ---------------------------------------------------------------------------------

async fn report(ask: Arc<Ask>, body: Vec<u8>) -> Result<DavResponse> {
    let root = xml_tree::parse(&body).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let collection = match &ask.target {
        Target::Collection(..) => ask.collection().await?,
        _ => {
            return Err(DavError::new(StatusCode::FORBIDDEN, "reports are asked of a calendar or address book")
                .with_condition_in("DAV:", "supported-report"));
        }
    };
    let names: Vec<Name> = root.dav_child("prop").map(|p| p.elements().map(|e| e.name.clone()).collect()).unwrap_or_else(allprop_names);
    match (root.name.namespace.as_str(), root.name.local.as_str(), collection.kind) {
        (CALDAV, "calendar-multiget", CollectionKind::Calendar) | (CARDDAV, "addressbook-multiget", CollectionKind::AddressBook) => {
            let hrefs: Vec<String> = root.elements().filter(|e| e.name.is_dav("href")).map(|e| e.text().trim().to_string()).collect();
            multiget(ask, collection, hrefs, names).await
        }
        ("DAV:", "sync-collection", _) => {
            let token = root.dav_child("sync-token").map(|t| t.text()).unwrap_or_default();
            if root.dav_child("sync-level").is_some_and(|l| l.text().trim() != "1") {
                return Err(DavError::new(StatusCode::FORBIDDEN, "sync-level 1 only: a collection here holds no collections")
                    .with_condition_in("DAV:", "supported-report"));
            }
            sync_collection(ask, collection, token, names).await
        }
        (CALDAV, "calendar-query", CollectionKind::Calendar) => {
            let filter = crate::calendar_query::Filter::read(&root).map_err(|e| {
                let condition = e.condition();
                DavError::new(StatusCode::FORBIDDEN, e.to_string()).with_condition_in(CALDAV, condition)
            })?;
            let narrow = (filter.component().map(str::to_string), filter.window());
            // Floating times are read in the query's zone, else the calendar's, else UTC.
            let zone = filter.zone().or(collection.timezone.as_deref()).and_then(crate::calendar_query::zone_of);
            query(ask, collection, narrow, move |body| filter.matches(body, zone), names).await
        }
        (CARDDAV, "addressbook-query", CollectionKind::AddressBook) => {
            let filter = crate::contact_query::Filter::read(&root).map_err(|e| {
                let condition = e.condition();
                DavError::new(StatusCode::FORBIDDEN, e.to_string()).with_condition_in(CARDDAV, condition)
            })?;
            query(ask, collection, (None, None), move |body| filter.matches(body), names).await
        }
        (ns, local, _) => {
            Err(DavError::new(StatusCode::FORBIDDEN, format!("the {local} report ({ns}) is not answered for this collection"))
                .with_condition_in("DAV:", "supported-report"))
        }
    }
}

async fn multiget(ask: Arc<Ask>, collection: Reached, hrefs: Vec<String>, names: Vec<Name>) -> Result<DavResponse> {
    let with_body = wants_body(&names);
    let me = ask.clone();
    let c = collection.clone();
    let found = blocking(move || {
        let mut found = Vec::new();
        for href in hrefs {
            // An href names an item of this collection (by path, maybe a whole URL): anything else is 404.
            let path = href.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string())).unwrap_or(href.clone());
            let item = match pim_path::parse(&path, &me.member.name) {
                Ok((_, Target::Item(kind, cname, name))) if kind == c.kind && cname == c.segment => {
                    me.catalog.read(|r| pim::item(r, c.id, &name))?
                }
                _ => None,
            };
            found.push((href, item));
        }
        Ok(found)
    })
    .await?;
    let mut out = MultiStatus::default();
    for (href, item) in found {
        match item {
            Some(i) => {
                let res = Resource::Item { collection: collection.clone(), meta: i.meta, body: with_body.then_some(i.body) };
                respond(&mut out, &res, &names, &ask);
            }
            None => out.status(&href, StatusCode::NOT_FOUND),
        }
    }
    Ok(multistatus(out.finish()))
}

async fn sync_collection(ask: Arc<Ask>, collection: Reached, token: String, names: Vec<Name>) -> Result<DavResponse> {
    let token = token.trim().to_string();
    let since = if token.is_empty() {
        0
    } else {
        token_seq(&token, &collection).ok_or_else(|| {
            DavError::new(StatusCode::FORBIDDEN, "this sync token is not one this collection gave")
                .with_condition_in("DAV:", "valid-sync-token")
        })?
    };
    let with_body = wants_body(&names);
    let me = ask.clone();
    let c = collection.clone();
    let (changes, bodies) = blocking(move || {
        me.catalog
            .read(|r| {
                let Some(changes) = pim::changes_since(r, &c, since)? else { return Ok(None) };
                let mut bodies = Vec::new();
                if with_body {
                    for m in &changes.changed {
                        bodies.push(pim::item(r, c.id, &m.name)?.map(|i| i.body));
                    }
                }
                Ok(Some((changes, bodies)))
            })?
            .ok_or_else(|| {
                DavError::new(StatusCode::FORBIDDEN, "this sync token is too old: sync again from the start")
                    .with_condition_in("DAV:", "valid-sync-token")
            })
    })
    .await?;
    let mut out = MultiStatus::default();
    let mut bodies = bodies.into_iter();
    for meta in changes.changed {
        let body = bodies.next().flatten();
        let res = Resource::Item { collection: collection.clone(), meta, body };
        respond(&mut out, &res, &names, &ask);
    }
    // A token from the start needs no deletions: the client has nothing yet.
    if since > 0 {
        for name in changes.deleted {
            out.status(&ask.hrefs.item(collection.kind, &collection.segment, &name), StatusCode::NOT_FOUND);
        }
    }
    let now = Collection { sync_seq: changes.now, ..collection.collection };
    Ok(multistatus(out.finish_with_sync_token(&sync_token(&now))))
}

/// A query's answer: the candidates `component` and `range` narrow to in the catalog, those
/// `keep` takes (on the blocking pool: it may expand recurrences), each with `names`.
async fn query(
    ask: Arc<Ask>,
    collection: Reached,
    narrow: (Option<String>, Option<crate::calendar_query::TimeRange>),
    keep: impl Fn(&str) -> bool + Send + 'static,
    names: Vec<Name>,
) -> Result<DavResponse> {
    let with_body = wants_body(&names);
    let me = ask.clone();
    let c = collection.clone();
    let matched = blocking(move || {
        let (component, range) = narrow;
        let candidates = me.catalog.read(|r| pim::items_in_window(r, c.id, component.as_deref(), range))?;
        Ok(candidates.into_iter().filter(|item| keep(&item.body)).collect::<Vec<_>>())
    })
    .await?;
    let mut out = MultiStatus::default();
    for item in matched {
        let res = Resource::Item { collection: collection.clone(), meta: item.meta, body: with_body.then_some(item.body) };
        respond(&mut out, &res, &names, &ask);
    }
    Ok(multistatus(out.finish()))
}
