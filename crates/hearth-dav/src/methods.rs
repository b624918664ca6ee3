//! The WebDAV methods (RFC 4918 §9) over one [`Space`]: the request's headers and body in, a
//! response out. HTTP framing, authentication and deciding which space a URL names are the
//! caller's (hearth-api); the file system and catalog work runs on the blocking pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use hearth_catalog::{Catalog, CatalogError, dav_files, dav_properties};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body::Body as HttpBody;
use http_body_util::BodyExt as _;

use crate::headers::{self, Condition, Depth, IfHeader};
use crate::locks::{LockError, LockTable};
use crate::path::DavPath;
use crate::properties::{self, Facts, MultiStatus};
use crate::request_body::{self, PropertyChange, Propfind};
use crate::tree::{ChangeError, Entry, Expect, Tree};
use crate::xml_tree::{Name, escape};

/// The methods a space answers, for `Allow`.
pub const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK";

/// What a space holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceKind {
    /// A family member's files.
    Files,
    /// Nextcloud's chunked uploads in progress: a folder per upload, numbered chunks in it
    /// (`chunked`).
    Uploads,
}

/// Who a space's files are for, as the one asking sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Their own files.
    Own,
    /// A family folder they may change.
    FamilyWrite,
    /// A family folder they may only read.
    FamilyRead,
}

/// A family folder at the root of a member's files (docs/files.md, "Family folders"): a request
/// below its name is the family folder's own, answered on its space.
#[derive(Debug, Clone)]
pub struct Mount {
    /// Its name at the root of the member's files.
    pub name: String,
    /// Its space: key `family:<id>`, served under the member's prefix and the name, with the
    /// member's access.
    pub space: Space,
}

/// A folder of files seen through WebDAV: a user's home or a family folder.
#[derive(Debug, Clone)]
pub struct Space {
    /// Its key in the catalog and the lock table (`home:<user id>`, `uploads:<user id>`).
    pub key: String,
    /// What it holds.
    pub kind: SpaceKind,
    /// Its files.
    pub tree: Tree,
    /// The href prefix it is served under, ending in `/` (`/dav/files/anna/`).
    pub href_prefix: String,
    /// Who is asking (lock owners are recorded by name).
    pub principal: String,
    /// The most bytes the space's files may take (`None`: the disk is the limit); a write that
    /// would pass it is 507.
    pub quota: Option<u64>,
    /// Where replaced files and deleted ones are kept (`None`: they are removed at once).
    pub history: Option<History>,
    /// Whose files these are to the one asking, and what they may do.
    pub access: Access,
    /// Family folders at its root (none below a family folder's own root).
    pub mounts: Vec<Mount>,
}

impl Space {
    /// The family folder `path` is in and the path inside it, when it is in one.
    pub fn mounted(&self, path: &DavPath) -> Option<(Space, DavPath)> {
        let first = path.names().first()?;
        let mount = self.mounts.iter().find(|m| m.name == *first)?;
        let base = DavPath::root().child(first).ok()?;
        Some((mount.space.clone(), path.rebased(&base, &DavPath::root())))
    }

    /// The spaces whose versions and trash a member acts on through these files: their own,
    /// then each family folder at its root they may change, with the family folder's name.
    pub fn histories(&self) -> Vec<(Option<String>, Space)> {
        let mut all = vec![(None, Space { mounts: Vec::new(), ..self.clone() })];
        all.extend(self.mounts.iter().filter(|m| m.space.may_write().is_ok()).map(|m| (Some(m.name.clone()), m.space.clone())));
        all
    }

    /// This space or the family folder at its root whose key is `key`, with the family folder's
    /// name.
    pub fn reached(&self, key: &str) -> Option<(Option<String>, Space)> {
        if self.key == key {
            return Some((None, Space { mounts: Vec::new(), ..self.clone() }));
        }
        self.mounts.iter().find(|m| m.space.key == key).map(|m| (Some(m.name.clone()), m.space.clone()))
    }

    /// Refuses a change to a family folder the one asking may only read.
    pub fn may_write(&self) -> std::result::Result<(), DavError> {
        if self.access == Access::FamilyRead {
            return Err(DavError::new(StatusCode::FORBIDDEN, "this family folder is read-only for you; ask the box's owner"));
        }
        Ok(())
    }
}

/// Where a space keeps what overwrites replaced and what DELETE removed (`versions`, `trash`).
#[derive(Debug, Clone)]
pub struct History {
    /// Earlier versions of files.
    pub versions: crate::versions::Versions,
    /// Deleted files and folders.
    pub trash: crate::trash::Trash,
}

impl From<crate::trash::TrashError> for DavError {
    fn from(e: crate::trash::TrashError) -> DavError {
        match e {
            crate::trash::TrashError::NotFound => DavError::new(StatusCode::NOT_FOUND, e.to_string()),
            crate::trash::TrashError::Catalog(c) => c.into(),
            crate::trash::TrashError::Io(io) => io.into(),
        }
    }
}

/// A folder's size as measured, for the ETag it had then.
#[derive(Debug)]
struct MeasuredSize {
    etag: String,
    at: Instant,
    bytes: u64,
}

/// What a response carries.
#[derive(Debug)]
pub enum DavBody {
    /// Nothing.
    Empty,
    /// Text (XML or HTML), with its media type in the headers.
    Text(String),
    /// A small file's whole content, read in the same trip to the disk as its facts; sent whole
    /// or by the request's `Range`, as a file is.
    Bytes(Bytes),
    /// A file, to be sent whole or by the request's `Range` (the caller's byte-range code).
    File {
        /// The open file.
        file: std::fs::File,
        /// Its length.
        len: u64,
    },
}

/// A response.
pub type DavResponse = http::Response<DavBody>;

/// A refusal: status, message and the RFC's precondition element when there is one.
#[derive(Debug)]
pub struct DavError {
    status: StatusCode,
    message: String,
    /// The precondition element: its namespace and local name.
    condition: Option<(&'static str, &'static str)>,
}

impl std::fmt::Display for DavError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for DavError {}

impl DavError {
    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What it says.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> DavError {
        DavError { status, message: message.into(), condition: None }
    }

    fn with_condition(self, element: &'static str) -> DavError {
        self.with_condition_in("DAV:", element)
    }

    /// With a precondition element of another namespace (CalDAV's, CardDAV's).
    pub(crate) fn with_condition_in(mut self, namespace: &'static str, element: &'static str) -> DavError {
        self.condition = Some((namespace, element));
        self
    }

    pub(crate) fn into_response(self) -> DavResponse {
        let body = match self.condition {
            Some(("DAV:", c)) => format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\"><d:{c}/><d:message>{}</d:message></d:error>\n",
                escape(&self.message)
            ),
            Some((ns, c)) => format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\" xmlns:c=\"{ns}\"><c:{c}/><d:message>{}</d:message></d:error>\n",
                escape(&self.message)
            ),
            None => format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error xmlns:d=\"DAV:\"><d:message>{}</d:message></d:error>\n",
                escape(&self.message)
            ),
        };
        xml_response(self.status, body)
    }
}

impl From<std::io::Error> for DavError {
    fn from(e: std::io::Error) -> DavError {
        use std::io::ErrorKind::*;
        match e.kind() {
            NotFound => DavError::new(StatusCode::NOT_FOUND, "not found"),
            AlreadyExists => DavError::new(StatusCode::PRECONDITION_FAILED, "the destination exists"),
            StorageFull | QuotaExceeded => DavError::new(StatusCode::INSUFFICIENT_STORAGE, "the box's disk is full"),
            PermissionDenied => DavError::new(StatusCode::FORBIDDEN, "the box may not change this file"),
            NotADirectory => DavError::new(StatusCode::CONFLICT, "a folder on the way is a file"),
            _ if e.raw_os_error() == Some(nix::libc::ENAMETOOLONG) => DavError::new(StatusCode::BAD_REQUEST, "the name is too long"),
            _ if e.raw_os_error() == Some(nix::libc::EILSEQ) => {
                DavError::new(StatusCode::BAD_REQUEST, "the file system does not take this name")
            }
            _ => {
                tracing::warn!(error = %e, "WebDAV: file system error");
                DavError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the box could not do that: {e}"))
            }
        }
    }
}

impl From<CatalogError> for DavError {
    fn from(e: CatalogError) -> DavError {
        tracing::warn!(error = %e, "WebDAV: catalog error");
        DavError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the catalog could not do that: {e}"))
    }
}

impl From<LockError> for DavError {
    fn from(e: LockError) -> DavError {
        match e {
            LockError::Locked(_) => DavError::new(StatusCode::LOCKED, e.to_string()).with_condition("lock-token-submitted"),
            LockError::NoSuchLock => DavError::new(StatusCode::CONFLICT, e.to_string()).with_condition("lock-token-matches-request-uri"),
            LockError::TooMany => DavError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    }
}

impl From<headers::HeaderError> for DavError {
    fn from(e: headers::HeaderError) -> DavError {
        DavError::new(StatusCode::BAD_REQUEST, e.0)
    }
}

impl From<request_body::BodyError> for DavError {
    fn from(e: request_body::BodyError) -> DavError {
        DavError::new(StatusCode::BAD_REQUEST, e.to_string())
    }
}

pub(crate) fn xml_response(status: StatusCode, body: String) -> DavResponse {
    let mut r = http::Response::new(DavBody::Text(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"));
    r
}

pub(crate) fn empty(status: StatusCode) -> DavResponse {
    let mut r = http::Response::new(DavBody::Empty);
    *r.status_mut() = status;
    r
}

pub(crate) type Result<T> = std::result::Result<T, DavError>;

pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DavError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("a worker thread failed: {e}")))?
}

/// The WebDAV service: the lock table and each space's commit lock.
#[derive(Debug)]
pub struct Dav {
    /// The box's instance id (`oc:id`'s suffix).
    instance: String,
    /// Folder sizes lately computed, by space and path, with the ETag they were computed for.
    sizes: Mutex<HashMap<(String, String), MeasuredSize>>,
    /// Bytes each space with a quota uses: measured, then kept up to date by its writes.
    usage: Mutex<HashMap<String, (u64, Instant)>>,
    /// When each space's versions and trash were last looked at for expiry.
    expired: Mutex<HashMap<String, Instant>>,
    pub(crate) locks: LockTable,
    pub(crate) marks: Arc<crate::marks::FolderMarks>,
    commits: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Spaces whose folders this process has made and whose scratch folder it has cleaned.
    prepared: Mutex<std::collections::HashSet<String>>,
    /// Turns for folder archives being written (`archive`).
    pub(crate) archives: Arc<tokio::sync::Semaphore>,
}

/// The largest file a GET reads whole in the trip that finds it (larger ones stream).
const SMALL_FILE: u64 = 64 * 1024;

/// How old a temporary file must be before it counts as left by a crash (uploads running now
/// are younger: an upload that takes a day is cut).
const LEFT_BEHIND: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A request's facts every method needs.
pub(crate) struct Ask<'a> {
    pub(crate) space: &'a Space,
    pub(crate) path: DavPath,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) host: Option<String>,
    pub(crate) now: Instant,
}

/// [`Ask`]'s facts owned, for a closure on the blocking pool.
pub(crate) struct OwnedAsk {
    pub(crate) space: Space,
    path: DavPath,
    headers: HeaderMap,
    host: Option<String>,
    pub(crate) now: Instant,
}

impl OwnedAsk {
    pub(crate) fn of(ask: &Ask<'_>) -> OwnedAsk {
        OwnedAsk { space: ask.space.clone(), path: ask.path.clone(), headers: ask.headers.clone(), host: ask.host.clone(), now: ask.now }
    }

    pub(crate) fn ask(&self) -> Ask<'_> {
        Ask { space: &self.space, path: self.path.clone(), headers: &self.headers, host: self.host.clone(), now: self.now }
    }
}

impl Ask<'_> {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Default for Dav {
    fn default() -> Dav {
        Dav::for_instance("ochearth")
    }
}

/// How long a folder's computed size is trusted while its ETag stays (changes made beside
/// WebDAV, by sync or the photo library, do not change the ETag).
const SIZE_TRUSTED: std::time::Duration = std::time::Duration::from_secs(60);

/// How long versions and trashed items are kept.
pub const KEPT_FOR: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Versions and trashed items may take at most this share of the disk's free space (as a
/// Nextcloud's versions do); past it the oldest go first.
pub const KEPT_SHARE_OF_FREE: f64 = 0.5;

/// How often a space's versions and trash are looked at for expiry.
const EXPIRE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// How long a space's measured usage is kept up to date by its writes before it is measured again.
const USAGE_TRUSTED: std::time::Duration = std::time::Duration::from_secs(300);

impl Dav {
    /// `space` ready for a request: at its first request in this process its folders are made
    /// and what a crash left in its scratch folder is removed (tried again by the next request
    /// when that fails); its folders' ETags follow the marks.
    pub(crate) async fn prepared(self: &Arc<Self>, space: Space) -> Result<Space> {
        let first_use = self.prepared.lock().unwrap_or_else(|p| p.into_inner()).insert(space.key.clone());
        if first_use {
            let tree = space.tree.clone();
            let prepared = blocking(move || {
                tree.prepare()?;
                Ok(tree.clean_scratch(LEFT_BEHIND)?)
            })
            .await;
            match prepared {
                Ok(0) => {}
                Ok(n) => tracing::info!(space = %space.key, files = n, "WebDAV: removed temporaries left by interrupted uploads"),
                Err(e) => {
                    self.prepared.lock().unwrap_or_else(|p| p.into_inner()).remove(&space.key);
                    return Err(e);
                }
            }
        }
        Ok(Space { tree: space.tree.marked(self.marks.clone(), &space.key), ..space })
    }

    /// Before a chunked upload's folder is made: abandoned uploads are removed, and an upload
    /// announced larger than the free space is refused now rather than at its last chunk.
    async fn begin_chunked(self: &Arc<Self>, uploads: &Space, headers: &HeaderMap) -> Result<()> {
        let announced = headers.get("oc-total-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let tree = uploads.tree.clone();
        let free = blocking(move || {
            let removed = crate::chunked::remove_abandoned(&tree, std::time::SystemTime::now())?;
            if removed > 0 {
                tracing::info!(uploads = removed, "WebDAV: removed chunked uploads untouched for a day");
            }
            Ok(tree.space().ok().map(|(free, _)| free))
        })
        .await?;
        if let (Some(announced), Some(free)) = (announced, free)
            && announced > free
        {
            return Err(DavError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                format!("the upload needs {announced} bytes; the box has {free} free"),
            ));
        }
        Ok(())
    }

    /// Places a file assembled from chunks at `destination` in `files`, with the finishing
    /// request's conditions and headers (`chunked`).
    pub(crate) async fn place_assembled(
        self: &Arc<Self>,
        catalog: &Arc<Catalog>,
        files: Space,
        parts: http::request::Parts,
        destination: DavPath,
        assembled: crate::tree::Upload,
    ) -> Result<DavResponse> {
        let (files, destination) = files.mounted(&destination).unwrap_or((files, destination));
        files.may_write()?;
        if destination.is_root() {
            return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "a family folder itself cannot be replaced"));
        }
        let files = self.prepared(files).await?;
        let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_string);
        let ask = Ask { space: &files, path: destination, headers: &parts.headers, host, now: Instant::now() };
        let mtime = Self::client_mtime(&ask)?;
        self.auto_mkcol(&ask).await?;
        self.place(catalog, &ask, Incoming::File(assembled), mtime).await
    }

    /// The bytes a space's files take: measured by walking them (on the blocking pool) when not
    /// known or measured more than [`USAGE_TRUSTED`] ago, and kept up to date by writes through
    /// WebDAV in between (changes made beside WebDAV are seen at the next measure).
    fn used(&self, space: &Space) -> std::io::Result<u64> {
        if let Some((used, at)) = self.usage.lock().unwrap_or_else(|p| p.into_inner()).get(&space.key)
            && at.elapsed() < USAGE_TRUSTED
        {
            return Ok(*used);
        }
        let used = space.tree.size_beneath(&DavPath::root())?;
        self.usage.lock().unwrap_or_else(|p| p.into_inner()).insert(space.key.clone(), (used, Instant::now()));
        Ok(used)
    }

    /// A write changed a space's bytes by `delta`; `None`: by an amount not known (measured again).
    pub(crate) fn used_changed(&self, space: &Space, delta: Option<i128>) {
        if space.quota.is_none() {
            return;
        }
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        match (delta, usage.get_mut(&space.key)) {
            (Some(d), Some((used, _))) => *used = u64::try_from((*used as i128 + d).max(0)).unwrap_or(u64::MAX),
            _ => {
                usage.remove(&space.key);
            }
        }
    }

    /// Refuses a write that would take `space` past its quota: `adding` bytes in, `replacing`
    /// bytes going.
    pub(crate) fn within_quota(&self, space: &Space, adding: u64, replacing: u64) -> Result<()> {
        let Some(quota) = space.quota else { return Ok(()) };
        let used = self.used(space)?;
        let after = used.saturating_sub(replacing).saturating_add(adding);
        if after > quota {
            return Err(DavError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                format!("this would take your files to {after} bytes; your quota is {quota} bytes (ask the box's owner for more)"),
            )
            .with_condition("quota-not-exceeded"));
        }
        Ok(())
    }

    /// The bytes free for a space: the disk's, and no more than what its quota leaves.
    fn available(&self, space: &Space) -> Option<u64> {
        let free = space.tree.space().ok().map(|(free, _)| free)?;
        match space.quota {
            Some(quota) => Some(free.min(quota.saturating_sub(self.used(space).ok()?))),
            None => Some(free),
        }
    }

    /// Expires a space's versions and trash at its first write in this process and then at
    /// most every [`EXPIRE_EVERY`] (blocking; called by writers after their change). Expiry runs
    /// under the space's commit lock: `commit` is that lock when the caller does not hold it.
    pub(crate) fn expire_now_and_then(&self, catalog: &Catalog, space: &Space, commit: Option<&Mutex<()>>) {
        let Some(history) = &space.history else { return };
        {
            let mut expired = self.expired.lock().unwrap_or_else(|p| p.into_inner());
            if expired.get(&space.key).is_some_and(|at| at.elapsed() < EXPIRE_EVERY) {
                return;
            }
            expired.insert(space.key.clone(), Instant::now());
        }
        let _held = commit.map(|m| m.lock().unwrap_or_else(|p| p.into_inner()));
        match expire(catalog, space, history, std::time::SystemTime::now()) {
            Ok((0, 0)) => {}
            Ok((versions, trashed)) => tracing::info!(space = %space.key, versions, trashed, "WebDAV: old versions and trash removed"),
            Err(e) => tracing::warn!(space = %space.key, error = %e, "WebDAV: versions and trash could not be expired"),
        }
    }

    /// The bytes a space's files take and the bytes free on its disk (for quotas).
    pub async fn usage(self: &Arc<Self>, space: Space) -> std::result::Result<(u64, u64), DavError> {
        let space = self.prepared(space).await?;
        let dav = Arc::clone(self);
        blocking(move || {
            let root = DavPath::root();
            let entry = space.tree.stat(&root)?.ok_or_else(|| DavError::new(StatusCode::NOT_FOUND, "the files' folder is missing"))?;
            let used = dav.folder_size(&space.tree, &space.key, &root, &entry);
            let free = dav.available(&space).unwrap_or(0);
            Ok((used, free))
        })
        .await
    }

    /// The service for a box whose Nextcloud instance id is `instance` (letters and digits).
    pub fn for_instance(instance: &str) -> Dav {
        Dav {
            instance: instance.chars().filter(char::is_ascii_alphanumeric).take(20).collect(),
            sizes: Mutex::default(),
            usage: Mutex::default(),
            expired: Mutex::default(),
            locks: LockTable::default(),
            marks: Arc::default(),
            commits: Mutex::default(),
            prepared: Mutex::default(),
            archives: Arc::new(tokio::sync::Semaphore::new(crate::archive::MOST_AT_ONCE)),
        }
    }

    /// The bytes beneath a folder, from the cache while its ETag stays (for a minute).
    fn folder_size(&self, tree: &Tree, space: &str, path: &DavPath, entry: &Entry) -> u64 {
        let key = (space.to_string(), path.key());
        let etag = entry.etag();
        if let Some(m) = self.sizes.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
            && m.etag == etag
            && m.at.elapsed() < SIZE_TRUSTED
        {
            return m.bytes;
        }
        let size = tree.size_beneath(path).unwrap_or(0);
        let mut sizes = self.sizes.lock().unwrap_or_else(|p| p.into_inner());
        if sizes.len() >= 4096 {
            sizes.clear();
        }
        sizes.insert(key, MeasuredSize { etag, at: Instant::now(), bytes: size });
        size
    }

    pub(crate) fn commit_lock(&self, space: &str) -> Arc<Mutex<()>> {
        let mut map = self.commits.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(space.to_string()).or_default().clone()
    }

    /// Answers one request on `space` for the resource `encoded_path` (the request path below
    /// the space's prefix, still %-encoded).
    pub async fn handle<B>(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        space: Space,
        parts: http::request::Parts,
        encoded_path: &str,
        body: B,
    ) -> DavResponse
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        let path = match DavPath::from_encoded(encoded_path) {
            Ok(p) => p,
            Err(e) => return DavError::new(StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        };
        // Between a member's files and a family folder, a COPY or MOVE is two spaces'.
        if matches!(parts.method.as_str(), "COPY" | "MOVE")
            && let Some(across) = crate::transfer::across(&space, &path, &parts.headers)
        {
            let moving = parts.method.as_str() == "MOVE";
            return self.copy_or_move_across(&catalog, &parts.headers, across, moving).await.unwrap_or_else(DavError::into_response);
        }
        // Below a family folder's name the request is the family folder's.
        let (space, path) = space.mounted(&path).unwrap_or((space, path));
        let writes = !matches!(parts.method.as_str(), "OPTIONS" | "GET" | "HEAD" | "PROPFIND" | "UNLOCK");
        if writes && let Err(e) = space.may_write() {
            return e.into_response();
        }
        let space = match self.prepared(space).await {
            Ok(s) => s,
            Err(e) => return e.into_response(),
        };
        if space.kind == SpaceKind::Uploads {
            if let Err(e) = crate::chunked::allowed(parts.method.as_str(), &path) {
                return e.into_response();
            }
            if parts.method.as_str() == "MKCOL"
                && let Err(e) = self.begin_chunked(&space, &parts.headers).await
            {
                return e.into_response();
            }
        }
        let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_string);
        let ask = Ask { space: &space, path, headers: &parts.headers, host, now: Instant::now() };
        let result = match parts.method.as_str() {
            "OPTIONS" => Ok(options()),
            "GET" => self.get(ask, true).await,
            "HEAD" => self.get(ask, false).await,
            "PUT" => self.put(&catalog, ask, body).await,
            "MKCOL" => self.mkcol(&catalog, ask, body).await,
            "DELETE" => self.delete(&catalog, ask).await,
            "COPY" => self.copy_or_move(&catalog, ask, false).await,
            "MOVE" => self.copy_or_move(&catalog, ask, true).await,
            "PROPFIND" => self.propfind(&catalog, ask, body).await,
            "PROPPATCH" => self.proppatch(&catalog, ask, body).await,
            "LOCK" => self.lock(ask, body).await,
            "UNLOCK" => self.unlock(ask),
            _ => Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{} is not a WebDAV method here", parts.method))),
        };
        let mut response = result.unwrap_or_else(DavError::into_response);
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(ALLOW));
        }
        response
    }

    // ---- conditions ---------------------------------------------------------------------------

    /// The `If` header, parsed; `None` when absent.
    fn if_header(ask: &Ask<'_>) -> Result<Option<IfHeader>> {
        ask.header("if").map(headers::if_header).transpose().map_err(DavError::from)
    }

    /// The path a resource tag or destination names, when it is in this space.
    fn path_in_space(ask: &Ask<'_>, value: &str) -> Result<Option<DavPath>> {
        let inside = Self::path_below(ask.space, ask.host.as_deref(), value)?;
        // A family folder is a space of its own: a path into it is not in this one.
        Ok(inside.filter(|p| ask.space.mounted(p).is_none()))
    }

    /// The path below `space`'s prefix that a URL (a `Destination`, a resource tag) names, its
    /// family folders' paths included; `None` when it is elsewhere on this server.
    pub(crate) fn path_below(space: &Space, host: Option<&str>, value: &str) -> Result<Option<DavPath>> {
        let full = headers::same_host_path(value, host)?;
        let full = DavPath::from_encoded(full).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        let prefix = DavPath::from_encoded(&space.href_prefix).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        Ok(full.starts_with(&prefix).then(|| full.rebased(&prefix, &DavPath::root())))
    }

    /// Whether the `If` header holds (RFC 4918 §10.4): any list, each about its tagged
    /// resource or the request's, all of whose conditions hold. Called under the commit lock.
    fn if_holds(&self, ask: &Ask<'_>, header: &IfHeader) -> Result<bool> {
        for list in &header.lists {
            let path = match &list.resource {
                None => Some(ask.path.clone()),
                Some(tag) => Self::path_in_space(ask, tag).unwrap_or(None),
            };
            let Some(path) = path else { continue };
            let entry = ask.space.tree.stat(&path)?;
            let holds = list.conditions.iter().all(|(not, c)| {
                let truth = match c {
                    Condition::Token(t) => self.locks.by_token(&ask.space.key, t, ask.now).is_some_and(|l| l.covers(&path)),
                    Condition::ETag(e) => entry.as_ref().is_some_and(|en| headers::etag_matches(e, &en.etag())),
                };
                truth != *not
            });
            if holds {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The checks before a change to `path` (deep: and everything below it; `membership`: the
    /// parent's member list changes too): `If` holds, and every lock in the way is submitted.
    pub(crate) fn may_change(&self, ask: &Ask<'_>, path: &DavPath, deep: bool, membership: bool) -> Result<()> {
        let tokens = self.if_checked(ask)?;
        self.locks_allow(&ask.space.key, path, deep, membership, &tokens, ask.now)
    }

    /// The `If` header checked (412 when none of its lists holds) and the lock tokens it submits.
    pub(crate) fn if_checked(&self, ask: &Ask<'_>) -> Result<Vec<String>> {
        let header = Self::if_header(ask)?;
        if let Some(h) = &header
            && !self.if_holds(ask, h)?
        {
            return Err(DavError::new(StatusCode::PRECONDITION_FAILED, "the If header's conditions do not hold"));
        }
        Ok(header.as_ref().map(|h| h.tokens().map(str::to_string).collect()).unwrap_or_default())
    }

    /// Every lock in `space` in the way of a change to `path` is among `tokens`.
    pub(crate) fn locks_allow(
        &self,
        space: &str,
        path: &DavPath,
        deep: bool,
        membership: bool,
        tokens: &[String],
        now: Instant,
    ) -> Result<()> {
        let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
        self.locks.may_change(space, path, deep, &tokens, now)?;
        if membership && let Some(parent) = path.parent() {
            self.locks.may_change(space, &parent, false, &tokens, now)?;
        }
        Ok(())
    }

    /// `If-Match` and `If-None-Match` against what `entry` is.
    pub(crate) fn http_conditions(ask: &Ask<'_>, entry: Option<&Entry>, reading: bool) -> Result<()> {
        let etag = entry.map(Entry::etag);
        if let Some(v) = ask.header("if-match")
            && !headers::etag_list_matches(v, etag.as_deref())
        {
            return Err(DavError::new(StatusCode::PRECONDITION_FAILED, "If-Match does not match the resource"));
        }
        if let Some(v) = ask.header("if-none-match")
            && headers::etag_list_matches(v, etag.as_deref())
        {
            let status = if reading { StatusCode::NOT_MODIFIED } else { StatusCode::PRECONDITION_FAILED };
            return Err(DavError::new(status, "If-None-Match matches the resource"));
        }
        Ok(())
    }

    // ---- reading ------------------------------------------------------------------------------

    async fn get(self: &Arc<Self>, ask: Ask<'_>, with_body: bool) -> Result<DavResponse> {
        // One trip to the blocking pool: what is there, and the file opened or the folder listed.
        enum Found {
            Nothing,
            File(std::fs::File, Entry),
            Small(Bytes, Entry),
            Folder(Entry, Vec<(String, Entry)>),
        }
        let (tree, path) = (ask.space.tree.clone(), ask.path.clone());
        let found = blocking(move || {
            Ok(match tree.stat(&path)? {
                None => Found::Nothing,
                Some(e) if e.is_folder() => Found::Folder(e, if with_body { tree.list(&path)? } else { Vec::new() }),
                Some(_) => {
                    let (mut f, e) = tree.open_file(&path)?;
                    if with_body && e.size <= SMALL_FILE {
                        // Read now: a second and third trip (seek, read) would cost more than the bytes.
                        let mut content = Vec::with_capacity(e.size as usize);
                        std::io::Read::read_to_end(&mut std::io::Read::take(&mut f, SMALL_FILE), &mut content)?;
                        Found::Small(Bytes::from(content), e)
                    } else {
                        Found::File(f, e)
                    }
                }
            })
        })
        .await?;
        let entry = match &found {
            Found::Nothing => return Err(DavError::new(StatusCode::NOT_FOUND, format!("{} does not exist", ask.path))),
            Found::File(_, e) | Found::Small(_, e) | Found::Folder(e, _) => e.clone(),
        };
        if let Err(e) = Self::http_conditions(&ask, Some(&entry), true) {
            if e.status == StatusCode::NOT_MODIFIED {
                let mut r = empty(StatusCode::NOT_MODIFIED);
                set_etag(&mut r, &entry);
                return Ok(r);
            }
            return Err(e);
        }
        match found {
            Found::Nothing => Err(DavError::new(StatusCode::NOT_FOUND, format!("{} does not exist", ask.path))),
            Found::Folder(entry, members) => {
                let path = &ask.path;
                let mut html =
                    format!("<!doctype html><meta charset=\"utf-8\"><title>{0}</title><h1>{0}</h1><ul>", escape(&path.to_string()));
                for (name, e) in members {
                    let child = path.child(&name).map_err(|e| DavError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
                    html.push_str(&format!(
                        "<li><a href=\"{}\">{}</a></li>",
                        escape(&child.href(&ask.space.href_prefix, e.is_folder())),
                        escape(&name)
                    ));
                }
                html.push_str("</ul>\n");
                let mut r = http::Response::new(if with_body { DavBody::Text(html) } else { DavBody::Empty });
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
                set_etag(&mut r, &entry);
                Ok(r)
            }
            Found::File(..) | Found::Small(..) => {
                let body = match found {
                    Found::Small(bytes, _) => DavBody::Bytes(bytes),
                    Found::File(file, _) => DavBody::File { file, len: entry.size },
                    _ => DavBody::Empty,
                };
                let mut r = http::Response::new(body);
                if let Ok(v) = HeaderValue::from_str(crate::content_type::of(ask.path.name().unwrap_or(""))) {
                    r.headers_mut().insert(header::CONTENT_TYPE, v);
                }
                r.headers_mut().insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
                set_etag(&mut r, &entry);
                Ok(r)
            }
        }
    }

    async fn propfind<B>(self: &Arc<Self>, catalog: &Arc<Catalog>, ask: Ask<'_>, body: B) -> Result<DavResponse>
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        let depth = headers::depth(ask.header("depth"))?.unwrap_or(Depth::Infinity);
        if depth == Depth::Infinity {
            return Err(DavError::new(
                StatusCode::FORBIDDEN,
                "PROPFIND with Depth: infinity is not served; ask with Depth: 1, folder by folder",
            )
            .with_condition("propfind-finite-depth"));
        }
        let bytes = read_small_body(body).await?;
        let request = request_body::propfind(&bytes)?;
        let asked = |f: fn(&Name) -> bool| match &request {
            Propfind::Prop(names) => names.iter().any(f),
            Propfind::AllProp { include } => include.iter().any(f),
            Propfind::PropName => false,
        };
        let (want_ids, want_sizes) = (asked(properties::needs_file_id), asked(properties::needs_size_beneath));
        let tree = ask.space.tree.clone();
        let path = ask.path.clone();
        let dav = Arc::clone(self);
        let key = ask.space.key.clone();
        let space = ask.space.clone();
        let (entry, members, available, sizes) = blocking(move || {
            let Some(entry) = tree.stat(&path)? else { return Ok((None, Vec::new(), None, HashMap::new())) };
            let members = if depth == Depth::One && entry.is_folder() { tree.list(&path)? } else { Vec::new() };
            let available = dav.available(&space);
            let mut sizes = HashMap::new();
            if want_sizes {
                let folders = std::iter::once((path.clone(), &entry))
                    .chain(members.iter().filter_map(|(name, e)| path.child(name).ok().map(|p| (p, e))))
                    .filter(|(_, e)| e.is_folder());
                for (p, e) in folders {
                    sizes.insert(p.key(), dav.folder_size(&tree, &key, &p, e));
                }
            }
            Ok((Some(entry), members, available, sizes))
        })
        .await?;
        let Some(entry) = entry else { return Err(DavError::new(StatusCode::NOT_FOUND, format!("{} does not exist", ask.path))) };
        let mut resources = vec![(ask.path.clone(), entry)];
        for (name, e) in members {
            // A family folder of the same name stands in its place (made before the folder
            // was, it is not reachable over WebDAV until renamed on the box).
            if ask.path.is_root() && ask.space.mounts.iter().any(|m| m.name == name) {
                continue;
            }
            if let Ok(p) = ask.path.child(&name) {
                resources.push((p, e));
            }
        }
        // Dead properties (and file ids, when asked for) of the resource and its members, in one
        // query; the ids of resources that have none yet are handed out in one transaction.
        let (key, folder) = (ask.space.key.clone(), ask.path.key());
        let one = depth == Depth::Zero;
        let paths: Vec<String> = if want_ids { resources.iter().map(|(p, _)| p.key()).collect() } else { Vec::new() };
        let (mut dead, ids) = {
            let catalog = catalog.clone();
            blocking(move || {
                let (dead, mut ids) = catalog.read(|c| {
                    let dead = if one {
                        HashMap::from([(folder.clone(), dav_properties::of(c, &key, &folder)?)])
                    } else {
                        dav_properties::of_folder_and_members(c, &key, &folder)?
                    };
                    let ids = if want_ids { dav_files::of_folder_and_members(c, &key, &folder)? } else { HashMap::new() };
                    Ok((dead, ids))
                })?;
                let missing: Vec<String> = paths.into_iter().filter(|p| !ids.contains_key(p)).collect();
                if !missing.is_empty() {
                    ids.extend(catalog.write(|tx| dav_files::assign(tx, &key, &missing))?);
                }
                Ok((dead, ids))
            })
            .await?
        };
        let mut ms = MultiStatus::default();
        for (path, entry) in &resources {
            let k = path.key();
            let dead = dead.remove(&k).unwrap_or_default();
            let locks = self.locks.covering(&ask.space.key, path, ask.now);
            let facts = Facts {
                entry,
                locks: &locks,
                href_prefix: &ask.space.href_prefix,
                available,
                now: ask.now,
                file_id: ids.get(&k).copied(),
                instance: &self.instance,
                owner: &ask.space.principal,
                size_beneath: sizes.get(&k).copied(),
                is_root: path.is_root(),
                access: ask.space.access,
            };
            let groups = describe(&request, path, &facts, &dead);
            ms.response(&properties::href(&ask.space.href_prefix, path, entry), &groups);
        }
        if ask.path.is_root() && depth == Depth::One {
            for mount in &ask.space.mounts {
                self.describe_mount(catalog, mount, &request, (want_ids, want_sizes), ask.now, &mut ms).await?;
            }
        }
        Ok(xml_response(StatusCode::MULTI_STATUS, ms.finish()))
    }

    /// A family folder as a member of the root of a member's files: its own root's properties
    /// (its ETag, id, size and dead properties are the family folder's), at its href there.
    async fn describe_mount(
        self: &Arc<Self>,
        catalog: &Arc<Catalog>,
        mount: &Mount,
        request: &Propfind,
        (want_id, want_size): (bool, bool),
        now: Instant,
        ms: &mut MultiStatus,
    ) -> Result<()> {
        let space = self.prepared(mount.space.clone()).await?;
        let (dav, inner, catalog) = (Arc::clone(self), space.clone(), catalog.clone());
        let found = blocking(move || {
            let root = DavPath::root();
            let Some(entry) = inner.tree.stat(&root)? else { return Ok(None) };
            let available = dav.available(&inner);
            let size = want_size.then(|| dav.folder_size(&inner.tree, &inner.key, &root, &entry));
            let dead = catalog.read(|c| dav_properties::of(c, &inner.key, ""))?;
            let id = if want_id { catalog.write(|tx| dav_files::assign(tx, &inner.key, &[String::new()]))?.remove("") } else { None };
            Ok(Some((entry, available, size, dead, id)))
        })
        .await?;
        let Some((entry, available, size, dead, id)) = found else { return Ok(()) };
        let locks = self.locks.covering(&space.key, &DavPath::root(), now);
        let facts = Facts {
            entry: &entry,
            locks: &locks,
            href_prefix: &space.href_prefix,
            available,
            now,
            file_id: id,
            instance: &self.instance,
            owner: &space.principal,
            size_beneath: size,
            is_root: true,
            access: space.access,
        };
        let named = DavPath::root().child(&mount.name).map_err(|e| DavError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let groups = describe(request, &named, &facts, &dead);
        ms.response(&properties::href(&space.href_prefix, &DavPath::root(), &entry), &groups);
        Ok(())
    }

    // ---- changing -----------------------------------------------------------------------------

    async fn put<B>(self: &Arc<Self>, catalog: &Arc<Catalog>, ask: Ask<'_>, body: B) -> Result<DavResponse>
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        if ask.path.is_root() {
            return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "the root is a folder"));
        }
        if ask.headers.contains_key(header::CONTENT_RANGE) {
            return Err(DavError::new(StatusCode::BAD_REQUEST, "PUT with Content-Range (a partial update) is not supported"));
        }
        let mtime = Self::client_mtime(&ask)?;
        self.auto_mkcol(&ask).await?;
        // A small body is read into memory and written with everything else in one trip to the
        // blocking pool. A larger one streams to its temporary as it arrives, after the
        // conditions are checked (so a refused upload costs nothing); they are checked again,
        // under the commit lock, when it takes its name.
        let declared = ask.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        // A chunk's OC-Total-Length is the whole file's.
        if ask.space.kind == SpaceKind::Files
            && let Some(total) = ask.header("oc-total-length").and_then(|v| v.trim().parse::<u64>().ok())
            && declared.is_some_and(|d| d != total)
        {
            return Err(DavError::new(StatusCode::BAD_REQUEST, "OC-Total-Length and Content-Length differ"));
        }
        if ask.space.kind == SpaceKind::Files
            && ask.space.quota.is_some()
            && let Some(n) = declared
        {
            // Before the body: a phone stops its auto-upload at the first 507.
            let (dav, space) = (Arc::clone(self), ask.space.clone());
            blocking(move || dav.within_quota(&space, n, 0)).await?;
        }
        let incoming = if declared.is_some_and(|n| n <= SMALL_BODY) {
            Incoming::Bytes(read_body(body, SMALL_BODY as usize).await?)
        } else {
            let (parent_ok, entry) = self.put_target(&ask).await?;
            if !parent_ok {
                return Err(DavError::new(StatusCode::CONFLICT, "the folder to put this in does not exist"));
            }
            if entry.as_ref().is_some_and(Entry::is_folder) {
                return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "a folder is there; delete it first"));
            }
            Self::http_conditions(&ask, entry.as_ref(), false)?;
            self.may_change(&ask, &ask.path, false, entry.is_none())?;
            let tree = ask.space.tree.clone();
            let upload = blocking(move || Ok(tree.begin_upload()?)).await?;
            Incoming::File(receive(upload, body).await?)
        };
        self.place(catalog, &ask, incoming, mtime).await
    }

    /// The file's own modification time the Nextcloud apps and rclone send (seconds since
    /// 1970, maybe with a fraction), which the file keeps.
    fn client_mtime(ask: &Ask<'_>) -> Result<Option<std::time::SystemTime>> {
        match ask.header("x-oc-mtime") {
            Some(v) => Ok(Some(headers::unix_time(v)?)),
            None => Ok(None),
        }
    }

    /// Nextcloud's `X-NC-WebDAV-AutoMkcol: 1` (the iOS app spells it `Auto-Mkcol`): the folders
    /// above the request's path are made when missing.
    async fn auto_mkcol(self: &Arc<Self>, ask: &Ask<'_>) -> Result<()> {
        let wanted = ["x-nc-webdav-automkcol", "x-nc-webdav-auto-mkcol"].iter().any(|h| ask.header(h).is_some_and(|v| v.trim() == "1"));
        let Some(parent) = ask.path.parent().filter(|p| wanted && !p.is_root()) else { return Ok(()) };
        self.may_change(ask, &parent, false, true)?;
        let tree = ask.space.tree.clone();
        let lock = self.commit_lock(&ask.space.key);
        let at = parent.clone();
        let made = blocking(move || {
            let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
            Ok(tree.make_folders(&at)?)
        })
        .await?;
        if made {
            self.marks.changed(&ask.space.key, &parent);
        }
        Ok(())
    }

    /// Gives a received file the request's name: conditions checked again under the commit
    /// lock, then the atomic placement (`Tree::commit_upload`), the file's id, and the answer
    /// with the headers the Nextcloud clients read.
    pub(crate) async fn place(
        self: &Arc<Self>,
        catalog: &Arc<Catalog>,
        ask: &Ask<'_>,
        incoming: Incoming,
        mtime: Option<std::time::SystemTime>,
    ) -> Result<DavResponse> {
        let tree = ask.space.tree.clone();
        let lock = self.commit_lock(&ask.space.key);
        let path = ask.path.clone();
        let catalog = catalog.clone();
        let outcome = {
            // Re-check and commit on the blocking pool, holding the space's commit lock.
            let owned = OwnedAsk::of(ask);
            let dav = Arc::clone(self);
            blocking(move || {
                let upload = match incoming {
                    Incoming::File(u) => u,
                    Incoming::Bytes(bytes) => {
                        let mut u = tree.begin_upload()?;
                        u.append(&bytes)?;
                        u
                    }
                };
                let mut upload = upload;
                if let Some(t) = mtime {
                    upload.set_modified(t)?;
                }
                upload.sync()?;
                let held = lock.lock().unwrap_or_else(|p| p.into_inner());
                let ask = owned.ask();
                let parent = path.parent().unwrap_or_default();
                if !tree.stat(&parent)?.is_some_and(|e| e.is_folder()) {
                    return Err(DavError::new(StatusCode::CONFLICT, "the folder to put this in does not exist"));
                }
                let entry = tree.stat(&path)?;
                if entry.as_ref().is_some_and(Entry::is_folder) {
                    return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "a folder is there; delete it first"));
                }
                Self::http_conditions(&ask, entry.as_ref(), false)?;
                dav.may_change(&ask, &path, false, entry.is_none())?;
                let (adding, replacing) = (upload.written(), entry.as_ref().map_or(0, |e| e.size));
                if owned.space.kind == SpaceKind::Files {
                    dav.within_quota(&owned.space, adding, replacing)?;
                }
                let expect = entry.as_ref().map_or(Expect::Absent, |e| Expect::File(e.inode));
                let placed = match tree.commit_upload(upload, &path, expect) {
                    Ok(placed) => placed,
                    Err(ChangeError::Changed) => {
                        return Err(DavError::new(
                            StatusCode::PRECONDITION_FAILED,
                            "the file changed while it was being uploaded; try again",
                        ));
                    }
                    Err(ChangeError::Io(e)) => return Err(e.into()),
                };
                let entry = tree.stat(&path)?;
                dav.used_changed(&owned.space, Some(i128::from(adding) - i128::from(replacing)));
                // The folder's fsync waits for the disk: not while other uploads wait for the lock.
                drop(held);
                let (created, replaced) = placed.durable_keeping()?;
                // An overwritten file keeps its id; a new one is given one now.
                let (space, k) = (&owned.space.key, path.key());
                if owned.space.kind != SpaceKind::Files {
                    return Ok((created, entry, None));
                }
                let id = match catalog.read(|c| dav_files::id_of(c, space, &k))? {
                    Some(id) => Some(id),
                    None => catalog.write(|tx| dav_files::assign(tx, space, std::slice::from_ref(&k)))?.remove(&k),
                };
                // The file it replaced becomes a version (when keeping it fails, the new file
                // stands and the old one goes: the answer is about the new one).
                if let (Some(old), Some(h), Some(id)) = (replaced, &owned.space.history, id) {
                    if let Err(e) = h.versions.keep(id, old) {
                        tracing::warn!(error = %e, "WebDAV: a replaced file could not be kept as a version");
                    }
                    dav.expire_now_and_then(&catalog, &owned.space, Some(&lock));
                }
                Ok((created, entry, id))
            })
            .await?
        };
        let (created, entry, id) = outcome;
        self.marks.changed(&ask.space.key, &ask.path);
        let mut r = empty(if created { StatusCode::CREATED } else { StatusCode::NO_CONTENT });
        if let Some(e) = entry {
            set_etag(&mut r, &e);
            if let Ok(v) = HeaderValue::from_str(&e.etag()) {
                r.headers_mut().insert("oc-etag", v);
            }
        }
        if let Some(id) = id
            && let Ok(v) = HeaderValue::from_str(&format!("{:08}{}", id.0, self.instance))
        {
            r.headers_mut().insert("oc-fileid", v);
        }
        if mtime.is_some() {
            r.headers_mut().insert("x-oc-mtime", HeaderValue::from_static("accepted"));
        }
        Ok(r)
    }

    /// Whether the parent of the request's path is a folder, and what is at the path.
    async fn put_target(self: &Arc<Self>, ask: &Ask<'_>) -> Result<(bool, Option<Entry>)> {
        let tree = ask.space.tree.clone();
        let path = ask.path.clone();
        blocking(move || {
            let parent = path.parent().unwrap_or_default();
            let parent_ok = tree.stat(&parent)?.is_some_and(|e| e.is_folder());
            Ok((parent_ok, if parent_ok { tree.stat(&path)? } else { None }))
        })
        .await
    }

    async fn mkcol<B>(self: &Arc<Self>, catalog: &Arc<Catalog>, ask: Ask<'_>, body: B) -> Result<DavResponse>
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        if !read_small_body(body).await?.is_empty() {
            return Err(DavError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "MKCOL with a body is not supported"));
        }
        if ask.path.is_root() {
            return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "the root exists"));
        }
        let (parent_ok, entry) = self.put_target(&ask).await?;
        if entry.is_some() {
            return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{} exists", ask.path)));
        }
        if !parent_ok {
            return Err(DavError::new(StatusCode::CONFLICT, "the folder to make this in does not exist"));
        }
        self.may_change(&ask, &ask.path, false, true)?;
        let tree = ask.space.tree.clone();
        let path = ask.path.clone();
        let lock = self.commit_lock(&ask.space.key);
        let (catalog, key, kind) = (catalog.clone(), ask.space.key.clone(), ask.space.kind);
        let id = blocking(move || {
            let held = lock.lock().unwrap_or_else(|p| p.into_inner());
            match tree.make_folder(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{path} exists")));
                }
                Err(e) => return Err(e.into()),
            }
            drop(held);
            // The Nextcloud clients read the new folder's id from the answer.
            if kind != SpaceKind::Files {
                return Ok(None);
            }
            let k = path.key();
            let ids = catalog.write(|tx| dav_files::assign(tx, &key, std::slice::from_ref(&k)))?;
            Ok(ids.get(&k).copied())
        })
        .await?;
        self.marks.changed(&ask.space.key, &ask.path);
        let mut r = empty(StatusCode::CREATED);
        if let Some(id) = id
            && let Ok(v) = HeaderValue::from_str(&format!("{:08}{}", id.0, self.instance))
        {
            r.headers_mut().insert("oc-fileid", v);
        }
        Ok(r)
    }

    async fn delete(self: &Arc<Self>, catalog: &Arc<Catalog>, ask: Ask<'_>) -> Result<DavResponse> {
        if ask.path.is_root() {
            return Err(DavError::new(StatusCode::FORBIDDEN, "the root of your files cannot be deleted"));
        }
        let tree = ask.space.tree.clone();
        let lock = self.commit_lock(&ask.space.key);
        let catalog = catalog.clone();
        let owned = OwnedAsk::of(&ask);
        let dav = Arc::clone(self);
        blocking(move || {
            let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
            let ask = owned.ask();
            let (space, path, now) = (&owned.space, owned.path.clone(), owned.now);
            let Some(entry) = tree.stat(&path)? else { return Err(DavError::new(StatusCode::NOT_FOUND, format!("{path} does not exist"))) };
            Self::http_conditions(&ask, Some(&entry), false)?;
            dav.may_change(&ask, &path, true, true)?;
            set_aside(&catalog, space, &tree, &path)?;
            dav.used_changed(space, (!entry.is_folder()).then(|| -i128::from(entry.size)));
            dav.locks.forget_below(&space.key, &path, now);
            dav.expire_now_and_then(&catalog, space, None);
            Ok(())
        })
        .await?;
        self.marks.changed(&ask.space.key, &ask.path);
        Ok(empty(StatusCode::NO_CONTENT))
    }

    /// A COPY's or MOVE's `Overwrite` and depth (whether a folder goes with its members), and
    /// the refusals of the root as its source or destination.
    pub(crate) fn transfer_options(ask: &Ask<'_>, to: &DavPath, moving: bool) -> Result<(bool, bool)> {
        let what = if moving { "MOVE" } else { "COPY" };
        let overwrite = headers::overwrite(ask.header("overwrite"))?;
        let deep = match (moving, headers::depth(ask.header("depth"))?) {
            (_, None | Some(Depth::Infinity)) => true,
            (false, Some(Depth::Zero)) => false,
            _ => return Err(DavError::new(StatusCode::BAD_REQUEST, format!("{what} takes Depth: 0 (COPY only) or infinity"))),
        };
        if ask.path.is_root() {
            return Err(DavError::new(StatusCode::FORBIDDEN, format!("the root of your files cannot be the source of {what}")));
        }
        if to.is_root() {
            return Err(DavError::new(StatusCode::FORBIDDEN, "the root of your files cannot be replaced"));
        }
        Ok((overwrite, deep))
    }

    async fn copy_or_move(self: &Arc<Self>, catalog: &Arc<Catalog>, ask: Ask<'_>, moving: bool) -> Result<DavResponse> {
        let what = if moving { "MOVE" } else { "COPY" };
        let dest = ask
            .header("destination")
            .ok_or_else(|| DavError::new(StatusCode::BAD_REQUEST, format!("{what} needs a Destination header")))?;
        let to = match Self::path_in_space(&ask, dest) {
            Ok(Some(p)) => p,
            Ok(None) => return Err(DavError::new(StatusCode::BAD_GATEWAY, "the destination is outside this folder of files")),
            Err(e) if e.status == StatusCode::BAD_REQUEST && e.message.contains("another server") => {
                return Err(DavError::new(StatusCode::BAD_GATEWAY, e.message));
            }
            Err(e) => return Err(e),
        };
        let (overwrite, deep) = Self::transfer_options(&ask, &to, moving)?;
        if to == ask.path {
            return Err(DavError::new(StatusCode::FORBIDDEN, "the source and the destination are the same"));
        }
        if to.starts_with(&ask.path) {
            return Err(DavError::new(StatusCode::CONFLICT, format!("a folder cannot be put inside itself by {what}")));
        }
        let dest = ask.space.clone();
        self.transfer(catalog, &ask, dest, to, crate::transfer::Transfer { moving, overwrite, deep }).await
    }

    async fn proppatch<B>(self: &Arc<Self>, catalog: &Arc<Catalog>, ask: Ask<'_>, body: B) -> Result<DavResponse>
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        let bytes = read_small_body(body).await?;
        let changes = request_body::proppatch(&bytes)?;
        let tree = ask.space.tree.clone();
        let lock = self.commit_lock(&ask.space.key);
        let catalog = catalog.clone();
        let owned = OwnedAsk::of(&ask);
        let dav = Arc::clone(self);
        let (entry, groups) = blocking(move || {
            let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
            let ask = owned.ask();
            let (space, path) = (&owned.space, owned.path.clone());
            let Some(entry) = tree.stat(&path)? else { return Err(DavError::new(StatusCode::NOT_FOUND, format!("{path} does not exist"))) };
            dav.may_change(&ask, &path, false, false)?;
            // All or nothing (RFC 4918 §9.2): a protected property fails the whole request.
            let protected: Vec<&Name> = changes
                .iter()
                .map(|c| match c {
                    PropertyChange::Set(n, _) | PropertyChange::Remove(n) => n,
                })
                .filter(|n| properties::is_live(n))
                .collect();
            let mut groups: Vec<(StatusCode, String)> = Vec::new();
            let names_xml = |filter: &dyn Fn(&Name) -> bool| {
                let mut out = String::new();
                let mut seen = std::collections::BTreeSet::new();
                for c in &changes {
                    let (PropertyChange::Set(n, _) | PropertyChange::Remove(n)) = c;
                    if filter(n) && seen.insert(n.clone()) {
                        properties::element(n, "", &mut out);
                    }
                }
                out
            };
            if !protected.is_empty() {
                groups.push((StatusCode::FORBIDDEN, names_xml(&|n| properties::is_live(n))));
                let rest = names_xml(&|n| !properties::is_live(n));
                if !rest.is_empty() {
                    groups.push((StatusCode::FAILED_DEPENDENCY, rest));
                }
                return Ok((entry, groups));
            }
            catalog.write(|tx| {
                let k = path.key();
                for c in &changes {
                    match c {
                        PropertyChange::Set(n, v) => dav_properties::set(tx, &space.key, &k, &n.namespace, &n.local, v)?,
                        PropertyChange::Remove(n) => dav_properties::remove(tx, &space.key, &k, &n.namespace, &n.local)?,
                    }
                }
                Ok(())
            })?;
            groups.push((StatusCode::OK, names_xml(&|_| true)));
            Ok((entry, groups))
        })
        .await?;
        let mut ms = MultiStatus::default();
        ms.response(&properties::href(&ask.space.href_prefix, &ask.path, &entry), &groups);
        Ok(xml_response(StatusCode::MULTI_STATUS, ms.finish()))
    }

    // ---- locks --------------------------------------------------------------------------------

    async fn lock<B>(self: &Arc<Self>, ask: Ask<'_>, body: B) -> Result<DavResponse>
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        let bytes = read_small_body(body).await?;
        let info = request_body::lockinfo(&bytes)?;
        let timeout = headers::timeout(ask.header("timeout"));
        let Some(info) = info else {
            // A refresh: the lock's token comes in the If header.
            let header = Self::if_header(&ask)?
                .ok_or_else(|| DavError::new(StatusCode::BAD_REQUEST, "a LOCK refresh names its lock in an If header"))?;
            let token = header
                .tokens()
                .next()
                .ok_or_else(|| DavError::new(StatusCode::BAD_REQUEST, "the If header names no lock token"))?
                .to_string();
            let lock = self.locks.refresh(&ask.space.key, &ask.path, &token, timeout, ask.now).map_err(|_| {
                DavError::new(StatusCode::PRECONDITION_FAILED, "no lock with that token covers this resource")
                    .with_condition("lock-token-matches-request-uri")
            })?;
            return Ok(lock_response(StatusCode::OK, &lock, &ask));
        };
        let infinite = match headers::depth(ask.header("depth"))? {
            None | Some(Depth::Infinity) => true,
            Some(Depth::Zero) => false,
            Some(Depth::One) => return Err(DavError::new(StatusCode::BAD_REQUEST, "LOCK takes Depth: 0 or infinity")),
        };
        let tree = ask.space.tree.clone();
        let lock = self.commit_lock(&ask.space.key);
        let owned = OwnedAsk::of(&ask);
        let dav = Arc::clone(self);
        let (created, lock) = blocking(move || {
            let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
            let ask = owned.ask();
            let (space, path, now) = (&owned.space, owned.path.clone(), owned.now);
            let entry = tree.stat(&path)?;
            let d = &dav;
            if let Some(h) = Self::if_header(&ask)?
                && !d.if_holds(&ask, &h)?
            {
                return Err(DavError::new(StatusCode::PRECONDITION_FAILED, "the If header's conditions do not hold"));
            }
            let created = entry.is_none();
            if created {
                // A LOCK on an unmapped URL makes an empty file (RFC 4918 §7.3).
                let parent = path.parent().unwrap_or_default();
                if !tree.stat(&parent)?.is_some_and(|e| e.is_folder()) {
                    return Err(DavError::new(StatusCode::CONFLICT, "the folder to lock this in does not exist"));
                }
            }
            let lock = d.locks.lock(
                &space.key,
                &path,
                infinite && entry.as_ref().is_none_or(Entry::is_folder),
                info.scope,
                info.owner.clone(),
                timeout,
                &space.principal,
                now,
            )?;
            if created {
                let made = tree.begin_upload().map_err(DavError::from).and_then(|u| match tree.commit_upload(u, &path, Expect::Absent) {
                    Ok(placed) => placed.durable().map(|_| ()).map_err(DavError::from),
                    Err(ChangeError::Changed) => Err(DavError::new(StatusCode::CONFLICT, "the resource appeared meanwhile")),
                    Err(ChangeError::Io(e)) => Err(e.into()),
                });
                if let Err(e) = made {
                    let _ = d.locks.unlock(&space.key, &path, &lock.token, now);
                    return Err(e);
                }
            }
            Ok((created, lock))
        })
        .await?;
        if created {
            self.marks.changed(&ask.space.key, &ask.path);
        }
        let mut r = lock_response(if created { StatusCode::CREATED } else { StatusCode::OK }, &lock, &ask);
        if let Ok(v) = HeaderValue::from_str(&format!("<{}>", lock.token)) {
            r.headers_mut().insert("lock-token", v);
        }
        Ok(r)
    }

    fn unlock(&self, ask: Ask<'_>) -> Result<DavResponse> {
        let raw = ask.header("lock-token").ok_or_else(|| DavError::new(StatusCode::BAD_REQUEST, "UNLOCK needs a Lock-Token header"))?;
        let token = raw.trim().trim_start_matches('<').trim_end_matches('>');
        self.locks.unlock(&ask.space.key, &ask.path, token, ask.now)?;
        Ok(empty(StatusCode::NO_CONTENT))
    }
}

fn lock_response(status: StatusCode, lock: &crate::locks::Lock, ask: &Ask<'_>) -> DavResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:prop xmlns:d=\"DAV:\"><d:lockdiscovery>{}</d:lockdiscovery></d:prop>\n",
        properties::active_lock(lock, &ask.space.href_prefix, ask.now)
    );
    xml_response(status, body)
}

fn options() -> DavResponse {
    let mut r = empty(StatusCode::OK);
    let h = r.headers_mut();
    h.insert("dav", HeaderValue::from_static("1, 2"));
    h.insert(header::ALLOW, HeaderValue::from_static(ALLOW));
    h.insert("ms-author-via", HeaderValue::from_static("DAV"));
    r
}

/// Takes what is at `path` out of the space: to its trash when it keeps one, else removed with
/// its properties and ids. The caller holds the commit lock.
pub(crate) fn set_aside(catalog: &Catalog, space: &Space, tree: &Tree, path: &DavPath) -> Result<()> {
    match &space.history {
        Some(h) => {
            h.trash.put(catalog, &space.key, tree, path, unix_now())?;
        }
        None => {
            tree.remove(path)?;
            catalog.write(|tx| {
                dav_properties::delete_tree(tx, &space.key, &path.key())?;
                dav_files::delete_tree(tx, &space.key, &path.key())
            })?;
        }
    }
    Ok(())
}

fn set_etag(r: &mut DavResponse, e: &Entry) {
    if let Ok(v) = HeaderValue::from_str(&e.etag()) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(e.modified)) {
        r.headers_mut().insert(header::LAST_MODIFIED, v);
    }
}

/// The property groups of one resource for a PROPFIND.
fn describe(request: &Propfind, path: &DavPath, f: &Facts<'_>, dead: &[dav_properties::DeadProperty]) -> Vec<(StatusCode, String)> {
    let mut found = String::new();
    let mut missing = String::new();
    let live = |local: &str| -> Option<String> {
        if local == "getcontenttype" {
            return (!f.entry.is_folder()).then(|| crate::content_type::of(path.name().unwrap_or("")).to_string());
        }
        properties::live_value(local, f)
    };
    let computed = |n: &Name| {
        if n.namespace == "DAV:" {
            live(&n.local)
        } else if n.namespace == properties::NC && n.local == "has-preview" {
            // Pictures and videos: the preview comes from the photo library when the file is in
            // it (`/index.php/core/preview`), else the app shows its icon.
            let media = crate::content_type::of(path.name().unwrap_or(""));
            Some((!f.entry.is_folder() && (media.starts_with("image/") || media.starts_with("video/"))).to_string())
        } else {
            properties::nextcloud_value(n, f)
        }
    };
    let dead_value = |n: &Name| dead.iter().find(|d| d.namespace == n.namespace && d.name == n.local).map(|d| d.value.clone());
    match request {
        Propfind::PropName => {
            for local in properties::LIVE {
                if live(local).is_some() {
                    properties::element(&Name::new("DAV:", local), "", &mut found);
                }
            }
            for d in dead {
                properties::element(&Name::new(&d.namespace, &d.name), "", &mut found);
            }
        }
        Propfind::AllProp { include } => {
            for local in properties::allprop_live() {
                if let Some(v) = live(local) {
                    properties::element(&Name::new("DAV:", local), &v, &mut found);
                }
            }
            for d in dead {
                properties::element(&Name::new(&d.namespace, &d.name), &d.value, &mut found);
            }
            for n in include {
                if properties::is_live(n) && !(n.namespace == "DAV:" && properties::allprop_live().contains(&n.local.as_str())) {
                    match computed(n) {
                        Some(v) => properties::element(n, &v, &mut found),
                        None => properties::element(n, "", &mut missing),
                    }
                }
            }
        }
        Propfind::Prop(names) => {
            for n in names {
                let value = if properties::is_live(n) { computed(n) } else { dead_value(n) };
                match value {
                    Some(v) => properties::element(n, &v, &mut found),
                    None => properties::element(n, "", &mut missing),
                }
            }
        }
    }
    properties::found_and_missing(found, missing)
}

/// Reads an XML body of at most [`request_body::MOST_BODY_BYTES`].
pub(crate) async fn read_small_body<B>(body: B) -> Result<Vec<u8>>
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    read_body(body, request_body::MOST_BODY_BYTES).await
}

/// Reads a body of at most `most` bytes into memory (413 past it).
pub(crate) async fn read_body<B>(mut body: B, most: usize) -> Result<Vec<u8>>
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| DavError::new(StatusCode::BAD_REQUEST, format!("the request body was cut off: {e}")))?;
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > most {
                return Err(DavError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {most} bytes")));
            }
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}

/// A PUT's body: in memory when small, else already in its temporary.
pub(crate) enum Incoming {
    Bytes(Vec<u8>),
    File(crate::tree::Upload),
}

/// Bodies up to this size (by their `Content-Length`) are read into memory before writing.
const SMALL_BODY: u64 = 256 << 10;

/// The most bytes of an upload read and dropped after its file could not take more.
const MOST_DRAINED: u64 = 16 << 20;

/// Streams `body` into `upload` on the blocking pool; the upload is returned whole or, on a cut
/// or a write error, dropped (which removes its temporary).
pub(crate) async fn receive<B>(upload: crate::tree::Upload, mut body: B) -> Result<crate::tree::Upload>
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<crate::tree::Upload> {
        let mut upload = upload;
        while let Some(piece) = rx.blocking_recv() {
            upload.append(&piece)?;
        }
        Ok(upload)
    });
    let mut cut = None;
    // Once the writer has stopped (a full disk), the rest of the body is read and dropped, up to
    // a bound, so the client is there to read the answer instead of meeting a closed connection.
    let mut stopped = false;
    let mut dropped = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Some(data) = f.data_ref() {
                    if stopped {
                        dropped += data.len() as u64;
                        if dropped > MOST_DRAINED {
                            break;
                        }
                    } else if tx.send(data.clone()).await.is_err() {
                        stopped = true;
                    }
                }
            }
            Err(e) => {
                cut = Some(DavError::new(StatusCode::BAD_REQUEST, format!("the upload was cut off: {e}")));
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await.map_err(|e| DavError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the writer failed: {e}")))?;
    if let Some(e) = cut {
        return Err(e);
    }
    Ok(written?)
}

/// Removes versions and trashed items kept longer than [`KEPT_FOR`], then, while what is kept
/// takes more than [`KEPT_SHARE_OF_FREE`] of the disk's free space, the oldest of the rest; how
/// many of each went.
pub fn expire(
    catalog: &Catalog,
    space: &Space,
    history: &History,
    now: std::time::SystemTime,
) -> std::result::Result<(usize, usize), DavError> {
    let limit = now.checked_sub(KEPT_FOR).unwrap_or(std::time::UNIX_EPOCH);
    let limit_secs = limit.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (mut versions_gone, mut trash_gone) = (0, 0);
    // What is left after the age rule, oldest first: (when, bytes, a version's path or a trash id).
    enum Kept {
        Version(std::path::PathBuf),
        Trashed(hearth_catalog::dav_trash::TrashId),
    }
    let mut left: Vec<(i64, u64, Kept)> = Vec::new();
    for (path, size, kept) in history.versions.all()? {
        if kept < limit {
            history.versions.remove(&path)?;
            versions_gone += 1;
        } else {
            left.push((kept.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0), size, Kept::Version(path)));
        }
    }
    for (item, there) in history.trash.all(catalog, &space.key)? {
        if !there || item.deleted_at < limit_secs {
            history.trash.purge(catalog, &space.key, item.id)?;
            trash_gone += usize::from(there);
        } else {
            left.push((item.deleted_at, item.size, Kept::Trashed(item.id)));
        }
    }
    left.sort_by_key(|(when, _, _)| *when);
    let (mut free, _) = space.tree.space()?;
    let mut kept: u64 = left.iter().map(|(_, size, _)| *size).sum();
    for (_, size, item) in left {
        if kept as f64 <= free as f64 * KEPT_SHARE_OF_FREE {
            break;
        }
        match item {
            Kept::Version(path) => {
                history.versions.remove(&path)?;
                versions_gone += 1;
            }
            Kept::Trashed(id) => {
                history.trash.purge(catalog, &space.key, id)?;
                trash_gone += 1;
            }
        }
        kept = kept.saturating_sub(size);
        free = free.saturating_add(size);
    }
    Ok((versions_gone, trash_gone))
}
