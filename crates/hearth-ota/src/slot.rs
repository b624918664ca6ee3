//! Writing an image into a root slot front to back, and reading it back.
//!
//! The payload arrives in first-use order (docs/update-bundle.md §2), so each chunk is either
//! the next new one, taken from a [`ChunkSource`], or one already written, copied from where it
//! went (and checked again on the way). Nothing is kept but the current chunk: a bundle is never
//! unpacked on the card.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::bundle::payload;
use crate::error::{OtaError, Result};
use crate::manifest::{Manifest, StoreEntry};

/// Where new chunks come from, in store order.
pub trait ChunkSource {
    /// The checked bytes of store entry `index`; called once per entry, in order.
    fn next(&mut self, index: usize, entry: &StoreEntry) -> Result<Vec<u8>>;
}

/// Write the manifest's image into `target` from offset 0, calling `progress(bytes written)`
/// after each chunk, and stopping with [`OtaError::Cancelled`] when `cancel` is set.
pub fn write_image(
    manifest: &Manifest,
    source: &mut dyn ChunkSource,
    target: &File,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let mut first_at = vec![0u64; manifest.store.len()];
    let mut next_new = 0usize;
    let mut pos = 0u64;
    for &c in &manifest.image.chunks {
        if cancel.load(Ordering::Relaxed) {
            return Err(OtaError::Cancelled);
        }
        let c = c as usize;
        let entry = &manifest.store[c];
        let bytes = if c == next_new {
            next_new += 1;
            first_at[c] = pos;
            source.next(c, entry)?
        } else {
            let mut bytes = vec![0u8; entry.size as usize];
            target.read_exact_at(&mut bytes, first_at[c]).map_err(OtaError::io("reading back the slot being written"))?;
            payload::check(c, entry, &bytes).map_err(|_| OtaError::ReadBack { slot: "being written".into() })?;
            bytes
        };
        target.write_all_at(&bytes, pos).map_err(OtaError::io("writing the slot"))?;
        pos += bytes.len() as u64;
        progress(pos);
    }
    target.sync_all().map_err(OtaError::io("writing the slot"))?;
    Ok(())
}

/// Read the first `image.size` bytes of `target` from the device (not the page cache) and check
/// them against the image's hash; `progress(bytes read)` as it goes.
pub fn read_back(manifest: &Manifest, target: &File, slot: &str, cancel: &AtomicBool, progress: &mut dyn FnMut(u64)) -> Result<()> {
    // What was just written is in the page cache; dropping it makes the check read the card.
    let _ = nix::fcntl::posix_fadvise(target, 0, 0, nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED);
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    let size = manifest.image.size;
    while pos < size {
        if cancel.load(Ordering::Relaxed) {
            return Err(OtaError::Cancelled);
        }
        let n = (size - pos).min(buf.len() as u64) as usize;
        target.read_exact_at(&mut buf[..n], pos).map_err(OtaError::io(format!("reading back root slot {slot}")))?;
        hasher.update(&buf[..n]);
        pos += n as u64;
        progress(pos);
    }
    if hasher.finalize() == manifest.image.hash { Ok(()) } else { Err(OtaError::ReadBack { slot: slot.to_string() }) }
}
