//! Nextcloud's own addresses for a user's trash and versions (docs/files.md, "Versions and
//! trash"), which the Nextcloud apps' "Deleted files" and "Versions" views use:
//!
//! - `trashbin/<user>/trash/`: PROPFIND lists the trashed items with `nc:trashbin-filename`,
//!   `nc:trashbin-original-location` and `nc:trashbin-deletion-time`; `MOVE <item>` with a
//!   `Destination` under `trashbin/<user>/restore/` puts it back; `DELETE <item>` removes it
//!   for good, `DELETE trash` empties the trash.
//! - `versions/<user>/versions/<file id>/`: PROPFIND lists the file's versions, GET reads one,
//!   `COPY` or `MOVE` of one to `versions/<user>/restore/…` puts it back.
//!
//! The caller (hearth-api) has checked that `<user>` is the caller and passes what follows it,
//! with the caller's files and the family folders at their root: the trash holds what was
//! deleted from those they may change too (its original location begins with the family
//! folder's name), and a family folder's file id reaches its versions (put back by a member who
//! may change it).

use std::sync::Arc;

use hearth_catalog::dav_files::FileId;
use hearth_catalog::dav_trash::TrashId;
use hearth_catalog::{Catalog, dav_files};
use http::StatusCode;

use crate::methods::{Dav, DavBody, DavError, DavResponse, Space, empty, xml_response};
use crate::properties::{self, MultiStatus};
use crate::xml_tree::escape;

/// Nextcloud's `nc:` namespace.
const NC: &str = properties::NC;

fn not_here() -> DavError {
    DavError::new(StatusCode::NOT_FOUND, "no such item")
}

fn prop_xml(items: &[(&str, &str, String)]) -> String {
    let mut out = String::new();
    for (ns, name, value) in items {
        properties::element(&crate::xml_tree::Name::new(ns, name), value, &mut out);
    }
    out
}

fn http_date(secs: i64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

impl Dav {
    /// A request under `/remote.php/dav/trashbin/<user>/`: `below` is the rest (`trash`,
    /// `trash/<id>`, …), `prefix` the address up to and including `<user>/`.
    pub async fn trashbin(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        files: Space,
        parts: http::request::Parts,
        prefix: &str,
        below: &str,
    ) -> DavResponse {
        let names: Vec<&str> = below.split('/').filter(|n| !n.is_empty()).collect();
        let result = match (parts.method.as_str(), names.as_slice()) {
            ("PROPFIND", []) => Ok(collection_only(prefix)),
            ("PROPFIND", ["trash"]) => self.list_trash(catalog, files, &parts, prefix).await,
            ("PROPFIND", ["restore"]) => Ok(collection_only(&format!("{prefix}restore/"))),
            ("MOVE", ["trash", item]) => match item_id(item) {
                Some(id) => self.restore_member_trashed(catalog, files, id).await.map(|_| empty(StatusCode::CREATED)),
                None => Err(not_here()),
            },
            ("DELETE", ["trash", item]) => match item_id(item) {
                Some(id) => self.purge_member_trashed(catalog, files, id).await.map(|_| empty(StatusCode::NO_CONTENT)),
                None => Err(not_here()),
            },
            // Emptying the trash empties the member's own; a family folder's is the family's.
            ("DELETE", ["trash"]) => self.purge_trashed(catalog, files, None).await.map(|_| empty(StatusCode::NO_CONTENT)),
            ("OPTIONS", _) => Ok(empty(StatusCode::OK)),
            _ => Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "the trash takes PROPFIND, MOVE to restore/ and DELETE")),
        };
        result.unwrap_or_else(DavError::into_response)
    }

    async fn list_trash(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        files: Space,
        parts: &http::request::Parts,
        prefix: &str,
    ) -> Result<DavResponse, DavError> {
        let depth_one = parts.headers.get("depth").and_then(|v| v.to_str().ok()).is_some_and(|d| d.trim() == "1");
        let mut ms = MultiStatus::default();
        ms.response(&format!("{prefix}trash/"), &[(StatusCode::OK, "<d:resourcetype><d:collection/></d:resourcetype>".into())]);
        if depth_one {
            for trashed in self.member_trash(catalog, files).await? {
                let location = trashed.path();
                let item = trashed.item;
                let name = item.path.rsplit('/').next().unwrap_or(&item.path).to_string();
                let props = prop_xml(&[
                    ("DAV:", "resourcetype", if item.folder { "<d:collection/>".into() } else { String::new() }),
                    ("DAV:", "getcontentlength", item.size.to_string()),
                    ("DAV:", "getlastmodified", http_date(item.deleted_at)),
                    (NC, "trashbin-filename", escape(&name)),
                    (NC, "trashbin-original-location", escape(&location)),
                    (NC, "trashbin-deletion-time", item.deleted_at.to_string()),
                ]);
                let href = format!("{prefix}trash/{}.d{}", item.id, item.deleted_at);
                ms.response(&href, &[(StatusCode::OK, props)]);
            }
        }
        Ok(xml_response(StatusCode::MULTI_STATUS, ms.finish()))
    }

    /// A request under `/remote.php/dav/versions/<user>/`: `below` is the rest
    /// (`versions/<file id>[/<version>]`).
    pub async fn versions_dav(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        files: Space,
        parts: http::request::Parts,
        prefix: &str,
        below: &str,
    ) -> DavResponse {
        let names: Vec<&str> = below.split('/').filter(|n| !n.is_empty()).collect();
        let result = match (parts.method.as_str(), names.as_slice()) {
            ("PROPFIND", ["versions", id]) => self.list_versions(catalog, files, &parts, prefix, id).await,
            ("GET" | "HEAD", ["versions", id, version]) => self.read_version(catalog, files, id, version, parts.method == "GET").await,
            ("COPY" | "MOVE", ["versions", id, version]) => match version.parse::<u64>() {
                Ok(v) => match self.file_of(&catalog, &files, id).await {
                    Ok((space, path)) => match space.may_write() {
                        Ok(()) => self.restore_version(catalog, space, &path, v).await.map(|_| empty(StatusCode::NO_CONTENT)),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                },
                Err(_) => Err(not_here()),
            },
            ("PROPFIND", [] | ["versions"] | ["restore"]) => Ok(collection_only(&format!("{prefix}{}", below))),
            ("OPTIONS", _) => Ok(empty(StatusCode::OK)),
            _ => Err(DavError::new(StatusCode::METHOD_NOT_ALLOWED, "versions take PROPFIND, GET and COPY or MOVE to restore/")),
        };
        result.unwrap_or_else(DavError::into_response)
    }

    /// The space (the caller's files, or a family folder at their root) and the path in it
    /// (%-encoded) of the file `id` names, when the caller reaches it.
    async fn file_of(self: &Arc<Self>, catalog: &Arc<Catalog>, files: &Space, id: &str) -> Result<(Space, String), DavError> {
        let id = id.parse::<i64>().map(FileId).map_err(|_| not_here())?;
        let c = catalog.clone();
        let found = crate::methods::blocking(move || Ok(c.read(|r| dav_files::by_id(r, id))?)).await?;
        let (_, space) = files.reached(&found.as_ref().ok_or_else(not_here)?.0).ok_or_else(not_here)?;
        let path = crate::trash::live_path(&space.key, found).map(|p| p.href("", false)).ok_or_else(not_here)?;
        Ok((space, path))
    }

    async fn list_versions(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        files: Space,
        parts: &http::request::Parts,
        prefix: &str,
        id: &str,
    ) -> Result<DavResponse, DavError> {
        let (space, path) = self.file_of(&catalog, &files, id).await?;
        let depth_one = parts.headers.get("depth").and_then(|v| v.to_str().ok()).is_some_and(|d| d.trim() == "1");
        let name = path.rsplit('/').next().unwrap_or("").to_string();
        let mut ms = MultiStatus::default();
        ms.response(&format!("{prefix}versions/{id}/"), &[(StatusCode::OK, "<d:resourcetype><d:collection/></d:resourcetype>".into())]);
        if depth_one {
            let media = crate::content_type::of(&percent_encoding::percent_decode_str(&name).decode_utf8_lossy());
            for v in self.versions(catalog, space, &path).await? {
                let modified = v.modified.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
                let props = prop_xml(&[
                    ("DAV:", "resourcetype", String::new()),
                    ("DAV:", "getcontentlength", v.size.to_string()),
                    ("DAV:", "getlastmodified", http_date(modified)),
                    ("DAV:", "getetag", format!("\"{}-{}\"", v.name, v.size)),
                    ("DAV:", "getcontenttype", escape(media)),
                ]);
                ms.response(&format!("{prefix}versions/{id}/{}", v.name), &[(StatusCode::OK, props)]);
            }
        }
        Ok(xml_response(StatusCode::MULTI_STATUS, ms.finish()))
    }

    async fn read_version(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        files: Space,
        id: &str,
        version: &str,
        with_body: bool,
    ) -> Result<DavResponse, DavError> {
        let (space, path) = self.file_of(&catalog, &files, id).await?;
        let name = version.parse::<u64>().map_err(|_| not_here())?;
        let file_id = id.parse::<i64>().map(FileId).map_err(|_| not_here())?;
        let history = space.history.clone().ok_or_else(not_here)?;
        let file = crate::methods::blocking(move || match history.versions.open(file_id, name) {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_here()),
            Err(e) => Err(e.into()),
        })
        .await?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut r = http::Response::new(if with_body { DavBody::File { file, len } } else { DavBody::Empty });
        let media =
            crate::content_type::of(&percent_encoding::percent_decode_str(path.rsplit('/').next().unwrap_or("")).decode_utf8_lossy());
        if let Ok(v) = http::HeaderValue::from_str(media) {
            r.headers_mut().insert(http::header::CONTENT_TYPE, v);
        }
        Ok(r)
    }
}

/// A trash item's id from its name in the listing (`<id>.d<time>`, or just `<id>`).
fn item_id(name: &str) -> Option<TrashId> {
    name.split('.').next()?.parse().ok().map(TrashId)
}

fn collection_only(href: &str) -> DavResponse {
    let mut ms = MultiStatus::default();
    ms.response(href, &[(StatusCode::OK, "<d:resourcetype><d:collection/></d:resourcetype>".into())]);
    xml_response(StatusCode::MULTI_STATUS, ms.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trash_item_names_carry_their_id() {
        assert_eq!(item_id("42.d1700000000"), Some(TrashId(42)));
        assert_eq!(item_id("42"), Some(TrashId(42)));
        assert_eq!(item_id("notes.txt.d1700000000"), None);
        assert_eq!(item_id(""), None);
    }
}
