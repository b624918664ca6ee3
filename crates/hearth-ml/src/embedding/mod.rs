//! Free-text search with an image/text embedding model the family provides (docs/ml.md): a
//! CLIP-like model puts pictures and sentences in one space, so "a red car in the snow" finds the
//! photos whose picture vectors lie nearest to that sentence's. No such model ships with Hearth
//! (none small enough is in the packages the box's models come from); the family names the files
//! in `ml.embedding` and the plumbing here does the rest.
//!
//! The interface is two traits, [`ImageEmbedding`] (run by the `ml` worker on each photo's
//! preview) and [`TextEmbedding`] (run by the daemon on a search), one implementation of each
//! per model family: [`clip`] for ONNX files shaped as CLIP's are, with [`clip_tokenizer`];
//! [`queries`] keeps the text half for the daemon's searches.
//! [`tiny_model`] builds a three-dimensional colour model of that shape in code, for the tests.

pub mod clip;
pub mod clip_tokenizer;
pub mod queries;
pub mod tiny_model;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{MlError, Result};
use crate::image::RgbImage;
use crate::manifest::{ModelId, hex};
use crate::model_store::VerifiedModel;

/// The largest provided model file read (CLIP ViT-B/32's image half is about 350 MB in f32).
const MAX_PROVIDED_BYTES: u64 = 1 << 30;

/// A unit-length vector in a model's space.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector(Vec<f32>);

impl Vector {
    /// A unit-length vector from a model's raw output; `None` when it is empty, not finite or zero.
    pub fn normalised(values: &[f32]) -> Option<Vector> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let norm = values.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>().sqrt();
        if !norm.is_finite() || norm <= 1e-12 {
            return None;
        }
        Some(Vector(values.iter().map(|v| (f64::from(*v) / norm) as f32).collect()))
    }

    /// Its values.
    pub fn values(&self) -> &[f32] {
        &self.0
    }

    /// Cosine similarity with another unit vector of the same length (−1 to 1; 0 when the
    /// lengths differ, which a model change would cause).
    pub fn cosine(&self, other: &[f32]) -> f32 {
        if other.len() != self.0.len() {
            return 0.0;
        }
        self.0.iter().zip(other).map(|(a, b)| a * b).sum()
    }
}

/// Something that turns a picture into a vector.
pub trait ImageEmbedding: Send {
    /// The picture's vector.
    fn embed_image(&mut self, image: &RgbImage) -> Result<Vector>;
}

/// Something that turns a sentence into a vector in the same space as its pictures'.
pub trait TextEmbedding: Send {
    /// The sentence's vector.
    fn embed_text(&mut self, text: &str) -> Result<Vector>;
}

/// The files of a provided model (`ml.embedding`) and the input sizes it was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvidedModel {
    /// The image half, ONNX: one `[1, 3, side, side]` f32 input (RGB, CLIP's normalisation), one
    /// `[1, D]` output.
    pub image_model: PathBuf,
    /// The text half, ONNX: one `[1, tokens]` int64 or int32 input of token ids, one `[1, D]` output.
    pub text_model: PathBuf,
    /// CLIP's BPE merges file.
    pub merges: PathBuf,
    /// The image side the image half takes (CLIP: 224).
    pub image_side: u32,
    /// The token ids the text half takes (CLIP: 77).
    pub text_tokens: usize,
}

/// Reads a provided model file. It has no pinned checksum: its SHA-256 becomes its fingerprint,
/// so vectors made by another file are never compared with this one's.
pub fn read_provided(id: ModelId, path: &Path) -> Result<(VerifiedModel, String)> {
    let bytes = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(MlError::ModelMissing { model: id, path: path.into() }),
        Err(e) => return Err(MlError::io(format!("reading {}", path.display()))(e)),
        Ok(meta) if !meta.is_file() => {
            return Err(MlError::ModelRefused { model: id, reason: format!("{} is not a file", path.display()) });
        }
        Ok(meta) if meta.len() > MAX_PROVIDED_BYTES => {
            return Err(MlError::ModelRefused {
                model: id,
                reason: format!("{} has {} bytes, more than the 1 GiB read", path.display(), meta.len()),
            });
        }
        Ok(_) => std::fs::read(path).map_err(MlError::io(format!("reading {}", path.display())))?,
    };
    let fingerprint = hex(&Sha256::digest(&bytes));
    Ok((VerifiedModel { id, path: path.into(), bytes }, fingerprint))
}

/// The SHA-256 of a provided image model, without keeping its bytes: the daemon reads it to
/// know which stored vectors its text half may be compared with.
pub fn fingerprint_of(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MlError::ModelMissing { model: ModelId::ImageEmbedder, path: path.into() },
        _ => MlError::io(format!("reading {}", path.display()))(e),
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(MlError::io(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// A provided image model's SHA-256, hashed again only when the file's size or modification time
/// changes: the worker asks every idle minute, and hashing a few hundred MB each time would cost a
/// board without SHA instructions seconds of CPU.
#[derive(Debug)]
pub struct Fingerprints {
    path: PathBuf,
    known: Option<(u64, std::time::SystemTime, String)>,
}

impl Fingerprints {
    /// For the file at `path`; nothing is read yet.
    pub fn new(path: impl Into<PathBuf>) -> Fingerprints {
        Fingerprints { path: path.into(), known: None }
    }

    /// The file's SHA-256 now.
    pub fn current(&mut self) -> Result<String> {
        let meta = std::fs::metadata(&self.path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => MlError::ModelMissing { model: ModelId::ImageEmbedder, path: self.path.clone() },
            _ => MlError::io(format!("reading {}", self.path.display()))(e),
        })?;
        let at = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        if let Some((len, known_at, fingerprint)) = &self.known
            && *len == meta.len()
            && *known_at == at
        {
            return Ok(fingerprint.clone());
        }
        let fingerprint = fingerprint_of(&self.path)?;
        self.known = Some((meta.len(), at, fingerprint.clone()));
        Ok(fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_length_or_refused() {
        let v = Vector::normalised(&[3.0, 4.0]).expect("vector");
        assert!((v.values()[0] - 0.6).abs() < 1e-6 && (v.values()[1] - 0.8).abs() < 1e-6);
        assert!((v.cosine(v.values()) - 1.0).abs() < 1e-6);
        assert_eq!(v.cosine(&[1.0]), 0.0, "another length");
        assert!(Vector::normalised(&[]).is_none());
        assert!(Vector::normalised(&[0.0, 0.0]).is_none());
        assert!(Vector::normalised(&[f32::NAN, 1.0]).is_none());
        assert!(Vector::normalised(&[f32::MAX, f32::MAX]).is_some(), "no overflow");
    }

    #[test]
    fn provided_files_that_are_not_there_say_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_provided(ModelId::ImageEmbedder, &dir.path().join("none.onnx")).expect_err("missing");
        assert!(matches!(err, MlError::ModelMissing { .. }), "{err}");
        let err = read_provided(ModelId::ImageEmbedder, dir.path()).expect_err("a folder");
        assert!(err.to_string().contains("is not a file"), "{err}");
        let file = dir.path().join("m.onnx");
        std::fs::write(&file, b"abc").expect("write");
        let (_, fingerprint) = read_provided(ModelId::ImageEmbedder, &file).expect("read");
        assert_eq!(fingerprint, fingerprint_of(&file).expect("fingerprint"));
        assert_eq!(fingerprint, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let mut known = Fingerprints::new(&file);
        assert_eq!(known.current().expect("first"), fingerprint);
        std::fs::write(&file, b"abcd").expect("write");
        assert_ne!(known.current().expect("changed"), fingerprint, "a new size is hashed again");
        std::fs::remove_file(&file).expect("remove");
        assert!(matches!(known.current(), Err(MlError::ModelMissing { .. })));
    }
}
