//! What a bundle carries (docs/update-bundle.md §2): parsed raw from the signed JSON, then
//! validated into [`Manifest`], whose store is in first-use order and whose image adds up.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::chunker::ChunkerParams;
use crate::error::{OtaError, Result};
use crate::version::Version;

/// The format this code reads and writes.
pub const FORMAT: u32 = 1;
/// The one image of a v1 bundle.
pub const ROOT_IMAGE: &str = "root";
/// The largest image (16 GiB).
pub const MAX_IMAGE: u64 = 16 << 30;
/// The longest release notes.
pub const MAX_NOTES: usize = 64 * 1024;

/// How a stored chunk is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// One zstd frame.
    Zstd,
    /// As is.
    None,
}

/// A distinct chunk of the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreEntry {
    /// BLAKE3 of its bytes.
    pub hash: blake3::Hash,
    /// Its length.
    pub size: u32,
    /// Its length in the payload.
    pub stored_size: u32,
    /// How it is kept.
    pub compression: Compression,
}

/// The slot image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its length.
    pub size: u64,
    /// BLAKE3 of all of it.
    pub hash: blake3::Hash,
    /// Indexes into the store, in image order.
    pub chunks: Vec<u32>,
}

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The system's version.
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
    /// How the image was cut.
    pub chunker: ChunkerParams,
    /// The distinct chunks, in payload order.
    pub store: Vec<StoreEntry>,
    /// The root image.
    pub image: Image,
}

#[derive(Serialize, Deserialize)]
struct RawStore {
    hash: String,
    size: u32,
    stored_size: u32,
    compression: Compression,
}

#[derive(Serialize, Deserialize)]
struct RawImage {
    name: String,
    size: u64,
    hash: String,
    chunks: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
struct RawManifest {
    format: u32,
    version: Version,
    min_version: Version,
    boards: Vec<String>,
    created: i64,
    #[serde(default)]
    commit: String,
    #[serde(default)]
    notes: String,
    chunker: ChunkerParams,
    store: Vec<RawStore>,
    images: Vec<RawImage>,
}

fn invalid(why: impl Into<String>) -> OtaError {
    OtaError::InvalidManifest(why.into())
}

fn hash(hex: &str) -> Result<blake3::Hash> {
    blake3::Hash::from_hex(hex).map_err(|_| invalid("a hash is not 64 hex digits"))
}

impl Manifest {
    /// Parse and validate the manifest's JSON.
    pub fn parse(json: &[u8]) -> Result<Manifest> {
        let raw: RawManifest = serde_json::from_slice(json).map_err(|e| invalid(e.to_string()))?;
        if raw.format != FORMAT {
            return Err(OtaError::UnknownFormat(raw.format));
        }
        let [image]: [RawImage; 1] = raw.images.try_into().map_err(|_| invalid("a v1 bundle carries exactly one image"))?;
        if image.name != ROOT_IMAGE {
            return Err(invalid(format!("unknown image {:?}", image.name.chars().take(32).collect::<String>())));
        }
        let store = raw
            .store
            .iter()
            .map(|s| Ok(StoreEntry { hash: hash(&s.hash)?, size: s.size, stored_size: s.stored_size, compression: s.compression }))
            .collect::<Result<Vec<_>>>()?;
        let manifest = Manifest {
            version: raw.version,
            min_version: raw.min_version,
            boards: raw.boards,
            created: raw.created,
            commit: raw.commit,
            notes: raw.notes,
            chunker: raw.chunker,
            store,
            image: Image { size: image.size, hash: hash(&image.hash)?, chunks: image.chunks },
        };
        manifest.validate()?;
        Ok(manifest)
    }

    /// The rules of docs/update-bundle.md §2.
    pub fn validate(&self) -> Result<()> {
        self.chunker.validate()?;
        if self.boards.is_empty() || self.boards.iter().any(|b| b.is_empty() || b.len() > 64) {
            return Err(invalid("the board list is empty or has an empty or overlong name"));
        }
        if self.notes.len() > MAX_NOTES || self.commit.len() > 256 {
            return Err(invalid("the notes or commit are too long"));
        }
        if self.min_version > self.version {
            return Err(invalid("its minimum version is newer than itself"));
        }
        let mut seen = HashSet::with_capacity(self.store.len());
        for (i, s) in self.store.iter().enumerate() {
            if !seen.insert(*s.hash.as_bytes()) {
                return Err(invalid(format!("store entry {i} repeats a chunk")));
            }
            if s.size == 0 || s.size > self.chunker.max {
                return Err(invalid(format!("store entry {i} has a size out of range")));
            }
            let stored_ok = match s.compression {
                Compression::None => s.stored_size == s.size,
                Compression::Zstd => s.stored_size > 0 && u64::from(s.stored_size) <= u64::from(s.size) + 1024,
            };
            if !stored_ok {
                return Err(invalid(format!("store entry {i} has a stored size that does not fit its compression")));
            }
        }
        let img = &self.image;
        if img.size == 0 || img.size > MAX_IMAGE || !img.size.is_multiple_of(512) {
            return Err(invalid("the image size is out of range"));
        }
        let mut next_new = 0usize;
        let mut total = 0u64;
        for &c in &img.chunks {
            let c = c as usize;
            if c >= self.store.len() {
                return Err(invalid("an image chunk is not in the store"));
            }
            if c == next_new {
                next_new += 1;
            } else if c > next_new {
                return Err(invalid("the store is not in first-use order"));
            }
            total += u64::from(self.store[c].size);
            if total > img.size {
                return Err(invalid("the chunks are longer than the image"));
            }
        }
        if next_new != self.store.len() {
            return Err(invalid("the store holds chunks the image does not use"));
        }
        if total != img.size {
            return Err(invalid("the chunks do not add up to the image"));
        }
        Ok(())
    }

    /// The JSON to sign.
    pub fn to_json(&self) -> Vec<u8> {
        let raw = RawManifest {
            format: FORMAT,
            version: self.version.clone(),
            min_version: self.min_version.clone(),
            boards: self.boards.clone(),
            created: self.created,
            commit: self.commit.clone(),
            notes: self.notes.clone(),
            chunker: self.chunker,
            store: self
                .store
                .iter()
                .map(|s| RawStore {
                    hash: s.hash.to_hex().to_string(),
                    size: s.size,
                    stored_size: s.stored_size,
                    compression: s.compression,
                })
                .collect(),
            images: vec![RawImage {
                name: ROOT_IMAGE.into(),
                size: self.image.size,
                hash: self.image.hash.to_hex().to_string(),
                chunks: self.image.chunks.clone(),
            }],
        };
        serde_json::to_vec(&raw).unwrap_or_default()
    }

    /// The payload's length.
    pub fn payload_len(&self) -> u64 {
        self.store.iter().map(|s| u64::from(s.stored_size)).sum()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Manifest {
        let h = |b: u8| blake3::hash(&[b]);
        Manifest {
            version: "0.2.0".parse().expect("v"),
            min_version: "0.1.0".parse().expect("v"),
            boards: vec!["qemu-aarch64".into()],
            created: 1,
            commit: "abc".into(),
            notes: "notes".into(),
            chunker: ChunkerParams::default(),
            store: vec![
                StoreEntry { hash: h(1), size: 1024, stored_size: 1024, compression: Compression::None },
                StoreEntry { hash: h(2), size: 512, stored_size: 20, compression: Compression::Zstd },
            ],
            image: Image { size: 2048, hash: h(3), chunks: vec![0, 1, 1] },
        }
    }

    #[test]
    fn round_trips_and_checks_the_rules() {
        let m = sample();
        assert_eq!(Manifest::parse(&m.to_json()).expect("parse"), m);
        let mut out_of_order = m.clone();
        out_of_order.image.chunks = vec![1, 0, 1];
        let mut unused = m.clone();
        unused.image.chunks = vec![0, 0];
        unused.image.size = 2048;
        let mut short = m.clone();
        short.image.size = 2560;
        let mut dup = m.clone();
        dup.store[1].hash = dup.store[0].hash;
        let mut stored = m.clone();
        stored.store[0].stored_size = 10;
        let mut min = m.clone();
        min.min_version = "0.3.0".parse().expect("v");
        let mut boards = m.clone();
        boards.boards.clear();
        for bad in [out_of_order, unused, short, dup, stored, min, boards] {
            assert!(matches!(Manifest::parse(&bad.to_json()), Err(OtaError::InvalidManifest(_))), "{bad:?}");
        }
        let text = String::from_utf8(m.to_json()).expect("utf8").replace("\"format\":1", "\"format\":2");
        assert!(matches!(Manifest::parse(text.as_bytes()), Err(OtaError::UnknownFormat(2))));
        assert!(Manifest::parse(b"{").is_err());
    }
}
