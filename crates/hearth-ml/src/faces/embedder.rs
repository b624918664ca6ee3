//! SFace (2021dec): an aligned 112×112 RGB face (0–255; the model subtracts and scales itself) in,
//! 128 numbers out, normalised here to unit length so the cosine of two faces is their dot product.

use crate::backend::{Backend, Session};
use crate::error::{MlError, Result};
use crate::faces::align::ALIGNED_SIDE;
use crate::image::{ChannelOrder, RgbImage};
use crate::manifest::ModelId;
use crate::model_store::ModelStore;

/// The length of an embedding.
pub const EMBEDDING_LEN: usize = 128;

/// A face's embedding, unit length.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding(pub [f32; EMBEDDING_LEN]);

impl Embedding {
    /// A unit-length embedding from raw values; `None` when they are not finite or all zero.
    pub fn normalised(values: &[f32]) -> Option<Embedding> {
        if values.len() != EMBEDDING_LEN || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm.is_nan() || norm <= 1e-12 {
            return None;
        }
        let mut out = [0f32; EMBEDDING_LEN];
        for (o, v) in out.iter_mut().zip(values) {
            *o = v / norm;
        }
        Some(Embedding(out))
    }

    /// Cosine similarity, −1 to 1.
    pub fn cosine(&self, other: &Embedding) -> f32 {
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum()
    }

    /// Cosine distance, 0 (same) to 2 (opposite).
    pub fn distance(&self, other: &Embedding) -> f32 {
        1.0 - self.cosine(other)
    }

    /// The values as little-endian bytes (how the catalog stores them).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Back from [`Embedding::to_bytes`]; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Embedding> {
        if bytes.len() != EMBEDDING_LEN * 4 {
            return None;
        }
        let values: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Embedding::normalised(&values)
    }
}

/// SFace, loaded.
pub struct FaceEmbedder {
    session: Box<dyn Session>,
}

impl FaceEmbedder {
    /// Loads the pinned SFace from `store` onto `backend`.
    pub fn load(store: &ModelStore, backend: &dyn Backend) -> Result<FaceEmbedder> {
        let model = store.read(ModelId::FaceEmbedder)?;
        let side = ALIGNED_SIDE as usize;
        Ok(FaceEmbedder { session: backend.load(&model, [1, 3, side, side])? })
    }

    /// The embedding of an aligned face.
    pub fn embed(&mut self, aligned: &RgbImage) -> Result<Embedding> {
        if (aligned.width, aligned.height) != (ALIGNED_SIDE, ALIGNED_SIDE) {
            return Err(MlError::Image(format!(
                "an aligned face is {ALIGNED_SIDE}×{ALIGNED_SIDE}, not {}×{}",
                aligned.width, aligned.height
            )));
        }
        let outputs = self.session.run(&aligned.to_tensor(ChannelOrder::Rgb))?;
        let first = outputs.first().ok_or_else(|| MlError::BadOutput { model: ModelId::FaceEmbedder, reason: "no output".into() })?;
        Embedding::normalised(&first.data)
            .ok_or_else(|| MlError::BadOutput { model: ModelId::FaceEmbedder, reason: "the embedding is not 128 finite numbers".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_unit_length_and_round_trip() {
        let e = Embedding::normalised(&[3.0; EMBEDDING_LEN]).expect("finite");
        assert!((e.cosine(&e) - 1.0).abs() < 1e-5);
        assert_eq!(Embedding::from_bytes(&e.to_bytes()), Some(e));
        assert!(Embedding::normalised(&[0.0; EMBEDDING_LEN]).is_none());
        let mut nan = [1.0; EMBEDDING_LEN];
        nan[5] = f32::NAN;
        assert!(Embedding::normalised(&nan).is_none());
        assert!(Embedding::from_bytes(&[0; 12]).is_none());
    }
}
