//! HEIF/HEIC (what iPhones shoot): decoded by libheif's `heif-convert` in a child process, under
//! time and address-space limits ([`hearth_platform::child`]), into a full-size JPEG in the
//! scratch folder, which then takes the JPEG path (reduced-size decode). HEVC tiles, grids and
//! the container's transforms (`irot`, `imir`) are libheif's business; the JPEG it writes is
//! upright, so its copied EXIF orientation is ignored. A crash of libheif on a hostile file ends
//! that child, not the worker.
//!
//! Debian's libheif is 1.15 (the maintained Rust bindings need 1.17 or newer), which is why the
//! program, not the library: `libheif-examples` on the host, the image's rootfs on the board.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hearth_platform::child::{self, ChildError, Limits};

use super::ThumbnailError;

/// The converter.
pub const PROGRAM: &str = "heif-convert";
/// Its limits: a 48 MP HEIC decodes in a few seconds and well under this memory.
pub const LIMITS: Limits = Limits { time: Duration::from_secs(120), address_space: 1 << 30 };
/// Quality of the intermediate JPEG (it is shrunk at least 2× afterwards for a 12 MP photo).
const QUALITY: &str = "92";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The photo in `original` as an upright JPEG; `scratch` is a folder for the intermediate file.
pub(super) fn to_jpeg(original: &Path, scratch: &Path) -> Result<Vec<u8>, ThumbnailError> {
    std::fs::create_dir_all(scratch).map_err(|e| ThumbnailError::Encode(format!("scratch folder: {e}")))?;
    let stem = format!("heif-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let out = scratch.join(format!("{stem}.jpg"));
    let result = child::run(PROGRAM, &[std::ffi::OsStr::new("-q"), QUALITY.as_ref(), original.as_os_str(), out.as_os_str()], LIMITS);
    // A file with several top-level images is written as STEM-1.jpg, STEM-2.jpg…; the first is
    // the primary one. Auxiliary images (depth, alpha) may come along; all of them go.
    let read = std::fs::read(&out).or_else(|_| std::fs::read(scratch.join(format!("{stem}-1.jpg"))));
    if let Ok(entries) = std::fs::read_dir(scratch) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&stem) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    match result {
        Ok(_) => read.map_err(|_| ThumbnailError::Decode(format!("{PROGRAM} wrote no image"))),
        Err(ChildError::Missing { .. }) => {
            Err(ThumbnailError::Decode(format!("HEIC photos need {PROGRAM} (Debian package libheif-examples), which is not installed")))
        }
        Err(ChildError::Failed { stderr, .. }) => {
            Err(ThumbnailError::Decode(stderr.lines().last().unwrap_or("libheif failed").to_string()))
        }
        Err(e) => Err(ThumbnailError::Decode(e.to_string())),
    }
}
