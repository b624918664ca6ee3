//! Ingest of one photo file: content checksum (BLAKE3), metadata, both thumbnails into the
//! sharded cache, and the asset row. The sources (camera sync folders, uploads, external
//! libraries, users' Photos folders) and the job queue that calls this are still to come.
//!
//! - The same content already in the owner's library is a [`Outcome::Duplicate`]: a phone
//!   uploading its whole roll again costs a checksum per photo and nothing else.
//! - A file that is not a photo at all is refused ([`IngestError::NotAPhoto`]); a photo whose
//!   metadata or pixels are damaged still becomes an asset, with the reason in `metadata_error`,
//!   so the family sees it and can act, and the next file goes on.
//! - Thumbnails are named by content (`cache/thumbs/ab/<checksum>-250.jpg`), written atomically,
//!   and shared by every copy of the same photo.

use std::path::{Path, PathBuf};

use hearth_catalog::assets::{self, NewAsset, Source};
use hearth_catalog::{Catalog, CatalogError};

use crate::metadata::{self, MetadataError};
use crate::thumbnail::{self, GRID, VIEW};

/// What became of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new asset.
    Added {
        /// Its id.
        id: i64,
        /// Why its metadata or thumbnails are missing, when they are.
        problem: Option<String>,
    },
    /// The owner already has this content.
    Duplicate {
        /// The asset that has it.
        id: i64,
    },
}

/// Why a file was not ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not a photo (text, empty, a format Hearth does not know).
    #[error("{path}: {reason}")]
    NotAPhoto {
        /// The file.
        path: String,
        /// What it is not.
        reason: MetadataError,
    },
    /// Reading the file or writing a thumbnail failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The catalog refused.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl hearth_core::Kinded for IngestError {
    fn kind(&self) -> hearth_core::ErrorKind {
        match self {
            IngestError::NotAPhoto { .. } => hearth_core::ErrorKind::InvalidInput,
            IngestError::Io { source, .. } => hearth_core::ErrorKind::of_io(source),
            IngestError::Catalog(e) => e.kind(),
        }
    }
}

/// The largest photo file whose pixels are decoded for thumbnails (a 200 MP JPEG is ~100 MB).
pub const MAX_THUMBNAIL_SOURCE: u64 = 256 << 20;

/// The content checksum assets are known by (BLAKE3).
pub fn checksum(data: &[u8]) -> [u8; 32] {
    blake3::hash(data).into()
}

/// Where the thumbnail of `checksum` at `edge` px lives under `cache`.
pub fn thumbnail_path(cache: &Path, checksum: &[u8; 32], edge: u32) -> PathBuf {
    let hex: String = checksum.iter().map(|b| format!("{b:02x}")).collect();
    cache.join("thumbs").join(&hex[..2]).join(format!("{hex}-{edge}.jpg"))
}

/// The file to ingest and where it belongs.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The user whose library gets it.
    pub owner_id: i64,
    /// Where it came from.
    pub source: Source,
    /// The file on disk.
    pub file: &'a Path,
    /// How the catalog names it (relative to the data folder, or absolute for external libraries).
    pub stored_path: String,
    /// The thumbnail cache folder (`DATA/cache`).
    pub cache: &'a Path,
    /// Now, Unix seconds.
    pub now: i64,
}

/// Ingest one file.
pub fn ingest(catalog: &Catalog, req: &Request<'_>) -> Result<Outcome, IngestError> {
    let io = |source| IngestError::Io { path: req.file.display().to_string(), source };
    // The checksum streams; only a photo's head is read before we know it is one, so a video or
    // a disk image never sits in memory.
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(req.file).map_err(io)?).map_err(io)?;
    let checksum: [u8; 32] = hasher.finalize().into();
    let owner = req.owner_id;
    if let Some(id) = catalog.read(move |r| assets::by_checksum(r, owner, &checksum))? {
        return Ok(Outcome::Duplicate { id });
    }
    let size = std::fs::metadata(req.file).map_err(io)?.len();
    let mut head = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(req.file).map_err(io)?, metadata::HEAD_BYTES as u64),
        &mut head,
    )
    .map_err(io)?;
    let (meta, mut problem) = match metadata::read(&head) {
        Ok(m) => (Some(m), None),
        Err(reason @ (MetadataError::Empty | MetadataError::NotAPhoto)) => {
            return Err(IngestError::NotAPhoto { path: req.file.display().to_string(), reason });
        }
        Err(e) => (None, Some(e.to_string())),
    };
    if problem.is_none() && size > MAX_THUMBNAIL_SOURCE {
        problem = Some(format!("the file is {} MB; Hearth makes thumbnails of photos up to {} MB", size >> 20, MAX_THUMBNAIL_SOURCE >> 20));
    }
    let data = if problem.is_none() { std::fs::read(req.file).map_err(io)? } else { Vec::new() };
    if problem.is_none() {
        match thumbnail::make(&data, &[GRID, VIEW]) {
            Ok(thumbs) => {
                for t in thumbs {
                    let path = thumbnail_path(req.cache, &checksum, t.long_edge);
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir).map_err(io)?;
                    }
                    hearth_platform::durable::write_atomic(&path, &t.jpeg, 0o600).map_err(io)?;
                }
            }
            Err(e) => problem = Some(e.to_string()),
        }
    }
    // Without a date in the file, the file's own time; without that, now.
    let file_time = std::fs::metadata(req.file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(req.now);
    let taken = meta.as_ref().and_then(|m| m.taken_at);
    let shown = meta.as_ref().map(|m| m.display_size());
    let asset = NewAsset {
        owner_id: owner,
        source: req.source,
        path: req.stored_path.clone(),
        checksum,
        video: false,
        format: meta.as_ref().map(|m| format!("{:?}", m.format).to_lowercase()),
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        width: shown.map(|s| i64::from(s.0)),
        height: shown.map(|s| i64::from(s.1)),
        taken_at: taken.map(|t| t.unix_seconds()).unwrap_or(file_time),
        taken_offset: taken.and_then(|t| t.offset_minutes).map(i64::from),
        latitude: meta.as_ref().and_then(|m| m.latitude),
        longitude: meta.as_ref().and_then(|m| m.longitude),
        make: meta.as_ref().and_then(|m| m.make.clone()),
        model: meta.as_ref().and_then(|m| m.model.clone()),
        lens: meta.as_ref().and_then(|m| m.lens.clone()),
        duration_ms: None,
        metadata_error: problem.clone(),
        added_at: req.now,
    };
    let id = catalog.write(move |tx| assets::insert(tx, &asset))?;
    Ok(Outcome::Added { id, problem })
}

/// Ingest every photo under `root` (a camera folder just marked, or one whose events were missed),
/// skipping Syncthing's own folders and what is already in the library at the same path. Returns
/// (added, duplicates, refused). One bad file never stops the walk.
pub fn ingest_tree(catalog: &Catalog, owner_id: i64, source: Source, root: &Path, data_dir: &Path, now: i64) -> (usize, usize, usize) {
    let cache = data_dir.join("cache");
    let (mut added, mut duplicates, mut refused) = (0, 0, 0);
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".st") || name.starts_with(".syncthing.") || name.starts_with('~') {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let stored = stored_path(&path, data_dir);
            let at = stored.clone();
            if catalog.read(move |r| assets::exists_at(r, owner_id, &at)).unwrap_or(false) {
                continue;
            }
            match ingest(catalog, &Request { owner_id, source, file: &path, stored_path: stored, cache: &cache, now }) {
                Ok(Outcome::Added { .. }) => added += 1,
                Ok(Outcome::Duplicate { .. }) => duplicates += 1,
                Err(IngestError::NotAPhoto { .. }) => refused += 1,
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "a photo could not be ingested");
                    refused += 1;
                }
            }
        }
    }
    (added, duplicates, refused)
}

/// How the catalog names a file: relative to the data folder when inside it.
pub fn stored_path(file: &Path, data_dir: &Path) -> String {
    file.strip_prefix(data_dir).unwrap_or(file).display().to_string()
}
