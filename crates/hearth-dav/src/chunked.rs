//! Nextcloud's chunked uploads (v1 and v2; docs/files.md): a client makes a folder under
//! `/remote.php/dav/uploads/<user>/`, PUTs numbered chunks into it, may list them to resume
//! after a cut, and finally MOVEs `<folder>/.file` onto the file's name, which assembles the
//! chunks in numeric order into a temporary and places it like a PUT. DELETE of the folder
//! abandons the upload; a folder untouched for a day is removed.
//!
//! Chunk names are numbers: the Android app counts `000001, 000002…`, the iOS app `1, 2…`,
//! nextcloudcmd names each chunk by its byte offset in 16 digits, and v1 clients by
//! `<first byte>-<last byte>`. All are ordered by their number; the chunks must then either
//! count up by one or each start where the last ended, and add up to `OC-Total-Length` when the
//! client sends it. Anything else is refused with the reason, and the chunks stay for a retry.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hearth_catalog::Catalog;
use http::StatusCode;

use crate::methods::{Dav, DavError, DavResponse, Space};
use crate::path::DavPath;

/// How long an upload folder may sit untouched before it is removed (Nextcloud's rule).
pub const ABANDONED: Duration = Duration::from_secs(24 * 3600);

/// The most chunks one upload may have (Nextcloud v2's limit).
pub const MOST_CHUNKS: usize = 10_000;

/// The number a chunk's name stands for; `None` when the name is not a chunk's.
pub fn chunk_number(name: &str) -> Option<u64> {
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    match name.split_once('-') {
        None if digits(name) => name.parse().ok(),
        Some((first, last)) if digits(first) && digits(last) => first.parse().ok(),
        _ => None,
    }
}

/// One chunk, in assembly order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Its name in the upload folder.
    pub name: String,
    /// Its bytes.
    pub size: u64,
}

/// Why an upload's chunks do not make a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssemblyError {
    /// Something in the folder is not a chunk.
    #[error("{0:?} is not a chunk (chunks are named by numbers)")]
    NotAChunk(String),
    /// Two chunks have the same number (`1` and `01`).
    #[error("chunks {0:?} and {1:?} have the same number")]
    Duplicate(String, String),
    /// The numbers neither count up by one nor follow the chunks' offsets.
    #[error("a chunk is missing before {0:?}")]
    Missing(String),
    /// The chunks add up to another length than the client announced.
    #[error("the chunks hold {held} bytes, but the upload announced {announced} (OC-Total-Length)")]
    WrongLength {
        /// What the chunks hold.
        held: u64,
        /// `OC-Total-Length`.
        announced: u64,
    },
    /// More chunks than an upload may have.
    #[error("an upload has at most {MOST_CHUNKS} chunks")]
    TooMany,
}

/// The chunks of an upload (name and size of each member of its folder) in the order they
/// make the file, checked as the module docs say.
pub fn order(members: Vec<(String, u64)>, announced: Option<u64>) -> Result<Vec<Chunk>, AssemblyError> {
    if members.len() > MOST_CHUNKS {
        return Err(AssemblyError::TooMany);
    }
    let mut numbered = Vec::with_capacity(members.len());
    for (name, size) in members {
        let n = chunk_number(&name).ok_or_else(|| AssemblyError::NotAChunk(name.clone()))?;
        numbered.push((n, Chunk { name, size }));
    }
    numbered.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    for w in numbered.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(AssemblyError::Duplicate(w[0].1.name.clone(), w[1].1.name.clone()));
        }
    }
    let counts_up = numbered.first().is_none_or(|(first, _)| *first <= 1) && numbered.windows(2).all(|w| w[1].0 == w[0].0 + 1);
    let mut offset = 0u64;
    let mut follows_offsets = true;
    for (n, c) in &numbered {
        follows_offsets &= *n == offset;
        offset = offset.saturating_add(c.size);
    }
    if !counts_up && !follows_offsets {
        // Name the first chunk after a gap, by either reading.
        let after_gap = numbered
            .windows(2)
            .find(|w| w[1].0 != w[0].0 + 1)
            .map(|w| w[1].1.name.clone())
            .or_else(|| numbered.first().map(|(_, c)| c.name.clone()))
            .unwrap_or_default();
        return Err(AssemblyError::Missing(after_gap));
    }
    let held = offset;
    if let Some(announced) = announced
        && announced != held
    {
        return Err(AssemblyError::WrongLength { held, announced });
    }
    Ok(numbered.into_iter().map(|(_, c)| c).collect())
}

/// What a request may do in an uploads space: list it, make and remove an upload's folder,
/// and put, read and remove chunks in one. (Finishing is [`Dav::finish_chunked`].)
pub fn allowed(method: &str, path: &DavPath) -> Result<(), DavError> {
    let depth = path.names().len();
    let ok = match method {
        "OPTIONS" | "PROPFIND" => depth <= 2,
        "MKCOL" => depth == 1,
        "DELETE" => depth == 1 || depth == 2,
        "PUT" => depth == 2,
        "GET" | "HEAD" => depth == 2,
        _ => false,
    };
    if !ok {
        return Err(DavError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not how chunked uploads work here (docs/files.md, \"Chunked uploads\")"),
        ));
    }
    if method == "PUT"
        && let Some(name) = path.name()
        && chunk_number(name).is_none()
    {
        return Err(DavError::new(StatusCode::BAD_REQUEST, format!("{name:?} is not a chunk's name; name chunks by numbers")));
    }
    Ok(())
}

/// Removes the upload folders of `uploads` untouched for [`ABANDONED`]; returns how many.
pub fn remove_abandoned(uploads: &crate::tree::Tree, now: SystemTime) -> std::io::Result<usize> {
    let mut removed = 0;
    for (name, entry) in uploads.list(&DavPath::root())? {
        let old = now.duration_since(entry.modified).is_ok_and(|age| age > ABANDONED);
        if old && let Ok(p) = DavPath::root().child(&name) {
            uploads.remove(&p)?;
            removed += 1;
        }
    }
    Ok(removed)
}

impl Dav {
    /// `MOVE <upload>/.file` with `Destination` naming `destination` in `files`: the chunks of
    /// `upload` (a path in `uploads`) assembled and placed there like a PUT, with the MOVE's
    /// conditions (`If`, `If-Match`) and `X-OC-Mtime`; the upload's folder is removed after.
    pub async fn finish_chunked(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        uploads: Space,
        upload: &str,
        files: Space,
        parts: http::request::Parts,
        destination: &str,
    ) -> DavResponse {
        match self.assemble_and_place(catalog, uploads, upload, files, parts, destination).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        }
    }

    async fn assemble_and_place(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        uploads: Space,
        upload: &str,
        files: Space,
        parts: http::request::Parts,
        destination: &str,
    ) -> Result<DavResponse, DavError> {
        let bad_path = |e: crate::path::PathError| DavError::new(StatusCode::BAD_REQUEST, e.to_string());
        let upload = DavPath::from_encoded(upload).map_err(bad_path)?;
        let destination = DavPath::from_encoded(destination).map_err(bad_path)?;
        if upload.names().len() != 1 {
            return Err(DavError::new(StatusCode::NOT_FOUND, "MOVE …/<upload>/.file finishes an upload; this names none"));
        }
        if destination.is_root() {
            return Err(DavError::new(StatusCode::FORBIDDEN, "the root of your files cannot be replaced"));
        }
        let announced = match parts.headers.get("oc-total-length").and_then(|v| v.to_str().ok()) {
            Some(v) => {
                Some(v.trim().parse::<u64>().map_err(|_| DavError::new(StatusCode::BAD_REQUEST, "OC-Total-Length is not a number"))?)
            }
            None => None,
        };
        let (upload_tree, files_tree) = (uploads.tree.clone(), files.tree.clone());
        let folder = upload.clone();
        let assembled = crate::methods::blocking(move || {
            let Some(entry) = upload_tree.stat(&folder)? else {
                return Err(DavError::new(StatusCode::NOT_FOUND, format!("there is no upload {folder}")));
            };
            if !entry.is_folder() {
                return Err(DavError::new(StatusCode::NOT_FOUND, format!("there is no upload {folder}")));
            }
            let members = upload_tree.list(&folder)?.into_iter().map(|(name, e)| (name, e.size)).collect();
            let chunks = order(members, announced).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
            let mut assembled = files_tree.begin_upload()?;
            for c in &chunks {
                let p = folder.child(&c.name).map_err(bad_path)?;
                let (mut f, _) = upload_tree.open_file(&p)?;
                assembled.append_file(&mut f)?;
            }
            let held: u64 = chunks.iter().map(|c| c.size).sum();
            if assembled.written() != held {
                return Err(DavError::new(StatusCode::CONFLICT, "a chunk changed while the upload was being assembled; try again"));
            }
            Ok(assembled)
        })
        .await?;
        let response = self.place_assembled(&catalog, files, parts, destination, assembled).await?;
        let (tree, folder) = (uploads.tree.clone(), upload.clone());
        if let Err(e) = crate::methods::blocking(move || Ok(tree.remove(&folder)?)).await {
            // The file is in place; the folder goes with the abandoned ones a day later.
            tracing::warn!(error = ?e, "WebDAV: a finished upload's chunks could not be removed");
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    }

    fn names(chunks: &[Chunk]) -> Vec<&str> {
        chunks.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn every_client_s_naming_is_assembled_in_numeric_order() {
        // iOS: 1, 2, … (10 sorts after 9, not after 1).
        let ios: Vec<(String, u64)> = (1..=11).rev().map(|i| (i.to_string(), 5)).collect();
        let ordered = order(ios, Some(55)).expect("ios");
        assert_eq!(names(&ordered)[..3], ["1", "2", "3"]);
        assert_eq!(names(&ordered)[10], "11");
        // Android: 000001, 000002, …
        assert_eq!(names(&order(members(&[("000002", 3), ("000001", 5)]), Some(8)).expect("android")), ["000001", "000002"]);
        // nextcloudcmd: byte offsets in 16 digits.
        let desktop = members(&[("0000000000000010", 4), ("0000000000000000", 10)]);
        assert_eq!(names(&order(desktop, Some(14)).expect("desktop")), ["0000000000000000", "0000000000000010"]);
        // v1: first-last byte.
        let v1 = members(&[("000000000000010-000000000000019", 10), ("000000000000000-000000000000009", 10)]);
        assert_eq!(order(v1, None).expect("v1").len(), 2);
        // Nothing yet: an empty file.
        assert!(order(Vec::new(), Some(0)).expect("empty").is_empty());
    }

    #[test]
    fn missing_duplicated_foreign_and_miscounted_chunks_are_refused() {
        assert_eq!(order(members(&[("1", 5), ("3", 5)]), None), Err(AssemblyError::Missing("3".into())));
        assert_eq!(order(members(&[("2", 5), ("3", 5)]), None), Err(AssemblyError::Missing("2".into())));
        assert_eq!(
            order(members(&[("0000000000000000", 10), ("0000000000000011", 4)]), None),
            Err(AssemblyError::Missing("0000000000000011".into()))
        );
        assert_eq!(order(members(&[("1", 5), ("01", 5)]), None), Err(AssemblyError::Duplicate("01".into(), "1".into())));
        assert_eq!(order(members(&[("1", 5), (".file", 5)]), None), Err(AssemblyError::NotAChunk(".file".into())));
        assert_eq!(order(members(&[("1", 5), ("2", 5)]), Some(11)), Err(AssemblyError::WrongLength { held: 10, announced: 11 }));
        let many: Vec<(String, u64)> = (1..=MOST_CHUNKS as u64 + 1).map(|i| (i.to_string(), 1)).collect();
        assert_eq!(order(many, None), Err(AssemblyError::TooMany));
    }

    #[test]
    fn chunk_names_are_numbers() {
        assert_eq!(chunk_number("000001"), Some(1));
        assert_eq!(chunk_number("10-19"), Some(10));
        for bad in ["", ".file", "1a", "-1", "1-", "a-b", "123456789012345678901", "1-2-3", "+1"] {
            assert_eq!(chunk_number(bad), None, "{bad:?}");
        }
    }
}
