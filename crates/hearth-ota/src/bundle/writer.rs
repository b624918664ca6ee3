//! Building a bundle: cut the slot image, keep each distinct chunk once (compressed when that
//! helps) in first-use order, sign the manifest. Used by `hearth ota bundle`, which
//! `qemu/build-image` and buildroot's post-image step run.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use crate::bundle::{HEADER_LEN, MAGIC, MAX_MANIFEST, head, payload};
use crate::chunker::ChunkerParams;
use crate::error::{OtaError, Result};
use crate::keys::SigningKey;
use crate::manifest::{FORMAT, Image, Manifest, StoreEntry};
use crate::version::Version;

/// What the bundle says about the system in it.
#[derive(Debug, Clone)]
pub struct Release {
    /// Its version.
    pub version: Version,
    /// The oldest version that may install it.
    pub min_version: Version,
    /// The boards it runs on.
    pub boards: Vec<String>,
    /// Unix seconds when it was built.
    pub created: i64,
    /// The source it was built from.
    pub commit: String,
    /// Release notes.
    pub notes: String,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The bundle's length.
    pub bundle_len: u64,
    /// The image's length.
    pub image_size: u64,
    /// Chunks in the image.
    pub chunks: usize,
    /// Distinct chunks (stored once each).
    pub distinct: usize,
}

/// Write a bundle of the slot image `image` to `out`, signed with `key`, chunks compressed with
/// zstd level `level`.
pub fn write(release: &Release, image: &Path, key: &SigningKey, out: &Path, level: i32) -> Result<Written> {
    let file = File::open(image).map_err(OtaError::io(format!("the image {}", image.display())))?;
    let image_size = file.metadata().map_err(OtaError::io(format!("the image {}", image.display())))?.len();
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut stored = tempfile::tempfile_in(dir).map_err(OtaError::io(format!("a temporary file in {}", dir.display())))?;
    let chunker = ChunkerParams::default();
    let mut store: Vec<StoreEntry> = Vec::new();
    let mut index: HashMap<[u8; 32], u32> = HashMap::new();
    let mut chunks = Vec::new();
    let mut whole = blake3::Hasher::new();
    {
        let mut sink = BufWriter::new(&mut stored);
        chunker.cut(BufReader::new(file), |_, bytes, hash| {
            whole.update(bytes);
            let i = match index.get(hash.as_bytes()) {
                Some(&i) => i,
                None => {
                    let (kept, compression) = payload::encode(bytes, level)?;
                    sink.write_all(&kept).map_err(OtaError::io("writing the bundle"))?;
                    let i = store.len() as u32;
                    store.push(StoreEntry { hash, size: bytes.len() as u32, stored_size: kept.len() as u32, compression });
                    index.insert(*hash.as_bytes(), i);
                    i
                }
            };
            chunks.push(i);
            Ok(())
        })?;
        sink.flush().map_err(OtaError::io("writing the bundle"))?;
    }
    let manifest = Manifest {
        version: release.version.clone(),
        min_version: release.min_version.clone(),
        boards: release.boards.clone(),
        created: release.created,
        commit: release.commit.clone(),
        notes: release.notes.clone(),
        chunker,
        store,
        image: Image { size: image_size, hash: whole.finalize(), chunks },
    };
    manifest.validate()?;
    let json = manifest.to_json();
    let len = u32::try_from(json.len()).ok().filter(|&l| l <= MAX_MANIFEST).ok_or(OtaError::ManifestTooLarge(json.len() as u64))?;
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&FORMAT.to_le_bytes());
    header[12..].copy_from_slice(&len.to_le_bytes());
    let signature = key.sign(&head::signed_message(&header, &json));

    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(OtaError::io(format!("a temporary file in {}", dir.display())))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        let io = OtaError::io(format!("writing {}", out.display()));
        let result = (|| {
            w.write_all(&header)?;
            w.write_all(&json)?;
            w.write_all(&key.public().id().0)?;
            w.write_all(&signature)?;
            stored.seek(SeekFrom::Start(0))?;
            std::io::copy(&mut stored, &mut w)?;
            w.flush()
        })();
        result.map_err(io)?;
    }
    // A bundle is published, not secret (tempfile makes it 0600).
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(OtaError::io(format!("writing {}", out.display())))?;
    }
    tmp.as_file().sync_all().map_err(OtaError::io(format!("writing {}", out.display())))?;
    let bundle_len = tmp.as_file().metadata().map_err(OtaError::io(format!("writing {}", out.display())))?.len();
    // The output is the file the builder named: replacing an older bundle there is the point.
    tmp.persist(out).map_err(|e| OtaError::io(format!("writing {}", out.display()))(e.error))?;
    Ok(Written { bundle_len, image_size, chunks: manifest.image.chunks.len(), distinct: manifest.store.len() })
}
