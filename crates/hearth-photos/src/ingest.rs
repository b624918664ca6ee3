//! Ingest of one photo or video file: content checksum (BLAKE3), metadata (a video's from
//! ffprobe, [`crate::video`]), the asset row, and its thumbnail job (made by a worker process: [`crate::thumbnail_jobs`]). Called by the upload API
//! and for camera folders.
//!
//! - The same content already in the owner's library is a [`Outcome::Duplicate`]: a phone
//!   uploading its whole roll again costs a checksum per photo and nothing else.
//! - A file that is not a photo at all is refused ([`IngestError::NotAPhoto`]); a photo whose
//!   metadata or pixels are damaged still becomes an asset, with the reason in `metadata_error`,
//!   so the family sees it and can act, and the next file goes on.
//! - Only the head of a file (its metadata) is parsed here, in the daemon, so the photo is in the
//!   timeline at once with its date and place; decoding pixels, where a hostile file can do the
//!   most harm, happens in the thumbnail worker.

use std::path::Path;

use hearth_catalog::assets::{self, NewAsset, Source};
use hearth_catalog::{Catalog, CatalogError, jobs};

use crate::metadata::{self, Metadata, MetadataError, TakenAt};
use crate::places;
use crate::video::{self, VideoError, VideoMeta};

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
    /// The owner already has this content (at this path, or at another whose file is still there).
    Duplicate {
        /// The asset that has it.
        id: i64,
    },
    /// An asset whose file had vanished: this is it, moved or renamed. Same asset, new path.
    Moved {
        /// The asset.
        id: i64,
    },
    /// The file at an asset's path now holds other content; the asset was read again.
    Replaced {
        /// The asset.
        id: i64,
        /// Why its metadata is missing, when it is.
        problem: Option<String>,
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

impl IngestError {
    /// What to tell the person who sent the file: the reason, without the server's paths (the
    /// `Display` form, with the path, is for the log).
    pub fn user_message(&self) -> String {
        match self {
            IngestError::NotAPhoto { reason, .. } => reason.to_string(),
            IngestError::Io { source, .. } => format!("the file could not be read on the box: {source}"),
            IngestError::Catalog(e) => e.to_string(),
        }
    }
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

/// The content checksum assets are known by (BLAKE3).
pub fn checksum(data: &[u8]) -> [u8; 32] {
    blake3::hash(data).into()
}

/// What a file says about itself, photo or video.
#[derive(Debug, Default)]
struct Facts {
    video: bool,
    format: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    taken: Option<TakenAt>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    make: Option<String>,
    model: Option<String>,
    lens: Option<String>,
    duration_ms: Option<i64>,
    problem: Option<String>,
}

impl Facts {
    fn photo(m: &Metadata) -> Facts {
        let (w, h) = m.display_size();
        Facts {
            video: false,
            format: Some(format!("{:?}", m.format).to_lowercase()),
            width: Some(w),
            height: Some(h),
            taken: m.taken_at,
            latitude: m.latitude,
            longitude: m.longitude,
            make: m.make.clone(),
            model: m.model.clone(),
            lens: m.lens.clone(),
            duration_ms: None,
            problem: None,
        }
    }

    fn video(container: &str, v: VideoMeta) -> Facts {
        Facts {
            video: true,
            format: Some(container.to_string()),
            width: v.width,
            height: v.height,
            taken: v.taken_at,
            latitude: v.latitude,
            longitude: v.longitude,
            make: v.make,
            model: v.model,
            lens: None,
            duration_ms: v.duration_ms,
            problem: None,
        }
    }
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
    /// Now, Unix seconds.
    pub now: i64,
    /// The priority of its thumbnail job ([`jobs::priority`]).
    pub priority: i64,
    /// The data folder (stored paths are relative to it).
    pub data_dir: &'a Path,
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
    let stored = req.stored_path.clone();
    let (here, same_content) =
        catalog.read(move |r| Ok((assets::at_path(r, owner, &stored)?, assets::by_checksum(r, owner, &checksum)?)))?;
    // What is at this path already, unchanged (a folder walked again): nothing to do.
    if let Some((id, sum)) = here
        && sum == checksum
    {
        return Ok(Outcome::Duplicate { id });
    }
    if here.is_none()
        && let Some(id) = same_content
    {
        // The same content elsewhere in the library. If that file is gone, this is it, moved or
        // renamed: the asset follows it, keeping its albums, favourites and id.
        let old = catalog.read(move |r| assets::file_by_id(r, id))?;
        let gone = old.is_some_and(|f| !req.data_dir.join(&f.path).exists());
        if gone {
            let (path, source) = (req.stored_path.clone(), req.source);
            catalog.write(move |tx| assets::move_to(tx, id, &path, source))?;
            return Ok(Outcome::Moved { id });
        }
        return Ok(Outcome::Duplicate { id });
    }
    let stat = std::fs::metadata(req.file).map_err(io)?;
    let size = stat.len();
    let mut head = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(req.file).map_err(io)?, metadata::HEAD_BYTES as u64),
        &mut head,
    )
    .map_err(io)?;
    let facts = match metadata::read(&head) {
        Ok(m) => Facts::photo(&m),
        Err(MetadataError::NotAPhoto) if video::sniff(&head).is_some() => {
            let container = video::sniff(&head).unwrap_or("mp4");
            match video::probe(req.file) {
                Ok(v) => Facts::video(container, v),
                Err(VideoError::NoVideo) => {
                    return Err(IngestError::NotAPhoto { path: req.file.display().to_string(), reason: MetadataError::NotAPhoto });
                }
                // A video ffprobe cannot read is kept, with the reason, like a damaged photo.
                Err(e) => Facts { video: true, format: Some(container.to_string()), problem: Some(e.to_string()), ..Facts::default() },
            }
        }
        Err(reason @ (MetadataError::Empty | MetadataError::NotAPhoto)) => {
            return Err(IngestError::NotAPhoto { path: req.file.display().to_string(), reason });
        }
        Err(e) => Facts { problem: Some(e.to_string()), ..Facts::default() },
    };
    // Without a date in the file, the file's own time; without that, now.
    let file_time =
        stat.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_secs() as i64).unwrap_or(req.now);
    let problem = facts.problem.clone();
    let asset = NewAsset {
        owner_id: owner,
        source: req.source,
        path: req.stored_path.clone(),
        checksum,
        video: facts.video,
        format: facts.format,
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        width: facts.width.map(i64::from),
        height: facts.height.map(i64::from),
        taken_at: facts.taken.map(|t| t.unix_seconds()).unwrap_or(file_time),
        taken_offset: facts.taken.and_then(|t| t.offset_minutes).map(i64::from),
        latitude: facts.latitude,
        longitude: facts.longitude,
        make: facts.make,
        model: facts.model,
        lens: facts.lens,
        duration_ms: facts.duration_ms,
        metadata_error: facts.problem,
        added_at: req.now,
    };
    let place = match (asset.latitude, asset.longitude) {
        (Some(lat), Some(lon)) => places::global().and_then(|p| p.lookup(lat, lon)),
        _ => None,
    };
    let (now, priority) = (req.now, req.priority);
    let replacing = here.map(|(id, _)| id);
    let stored = req.stored_path.clone();
    let written = catalog.write(move |tx| {
        let id = match replacing {
            // The file at this path now holds other content (edited in place, replaced by sync).
            Some(id) => {
                assets::replace_content(tx, id, &asset)?;
                id
            }
            None => assets::insert(tx, &asset)?,
        };
        if let Some(p) = &place {
            assets::set_place(tx, id, &p.city, p.region.as_deref(), &p.country)?;
        }
        if asset.metadata_error.is_none() {
            jobs::requeue(tx, jobs::THUMBNAILS, id, priority, now)?;
        }
        Ok(id)
    });
    let id = match written {
        Ok(id) => id,
        // Two ingests of one new file at once (a sync event and a folder scan): the other one
        // added it first.
        Err(CatalogError::Conflict(_)) if replacing.is_none() => {
            let found = catalog.read(move |r| assets::at_path(r, owner, &stored))?;
            return match found {
                Some((id, _)) => Ok(Outcome::Duplicate { id }),
                None => Err(IngestError::Catalog(CatalogError::Conflict(format!("{} was added and removed at once", req.stored_path)))),
            };
        }
        Err(e) => return Err(e.into()),
    };
    Ok(match replacing {
        Some(_) => Outcome::Replaced { id, problem },
        None => Outcome::Added { id, problem },
    })
}

/// Ingest every photo under `root` (a camera folder just marked, or one whose events were missed),
/// skipping Syncthing's own folders and what is already in the library at the same path. Returns
/// (added, duplicates, refused). One bad file never stops the walk. Their thumbnails are queued
/// at bulk priority, after anything a person is waiting for.
pub fn ingest_tree(catalog: &Catalog, owner_id: i64, source: Source, root: &Path, data_dir: &Path, now: i64) -> (usize, usize, usize) {
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
            match ingest(
                catalog,
                &Request { owner_id, source, file: &path, stored_path: stored, now, priority: jobs::priority::BULK, data_dir },
            ) {
                Ok(Outcome::Added { .. } | Outcome::Moved { .. } | Outcome::Replaced { .. }) => added += 1,
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
