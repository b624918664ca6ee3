//! The photo library (issue 5).
//!
//! - [`metadata`]: the container formats (JPEG, PNG, WebP, HEIF/HEIC) recognised by their bytes,
//!   not their names; their dimensions; and the EXIF and XMP inside them: when it was taken (with
//!   its UTC offset when the camera or the GPS says it), where, with which camera and lens, and
//!   which way up. Everything here reads bytes from outside: it never panics and never allocates
//!   in proportion to what a header claims (fuzz target `photo_metadata`).
//! - [`thumbnail`]: the 250 px grid and 1440 px viewing thumbnails of JPEG, PNG, WebP, HEIC and
//!   video posters, decoded at reduced size where the codec allows, converted to sRGB, resized,
//!   turned upright, encoded as progressive JPEG; with a difference hash for near-duplicates.
//! - [`ingest`]: one photo or video into the library: checksum, duplicate, move or in-place
//!   change, metadata, place name, the asset row (`hearth_catalog::assets`) and its thumbnail job
//!   (`hearth_catalog::jobs`).
//! - [`thumbnail_jobs`]: what the thumbnail worker process does with a job: both sizes into the
//!   content-addressed cache, the outcome on the asset; recovery after a worker crash.
//! - [`libraries`]: folders watched in place (external libraries, users' Photos folders, camera
//!   folders): scans that take in new files, follow moves, and trash (and restore) vanished ones.
//! - [`duplicates`]: near-identical pictures grouped by their difference hashes (multi-index
//!   hashing over four 16-bit bands).
//! - [`places`]: offline reverse geocoding: the town within 50 km, its region and country,
//!   from the GeoNames data `scripts/geodata` prepares (docs/places-format.md).
//! - [`video`]: MP4, MOV and Matroska recognised by their bytes and described by ffprobe (in a
//!   child process under limits): duration, shown size, when, where, which phone.
//! - [`trash`]: the trash's 30-day expiry: uploaded files and unshared thumbnails removed.

pub mod duplicates;
pub mod ingest;
pub mod libraries;
pub mod metadata;
pub mod places;
pub mod thumbnail;
pub mod thumbnail_jobs;
pub mod trash;
pub mod video;
