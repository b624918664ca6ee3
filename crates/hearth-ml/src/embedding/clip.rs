//! CLIP-shaped ONNX files (docs/ml.md, "Free-text search"): the image half takes the middle square
//! of the picture at `image_side`, scaled to 0–1 and normalised by CLIP's mean and deviation; the
//! text half takes `[start, tokens…, end, 0…]` from [`ClipTokenizer`]. Each gives one vector (its
//! first output), made unit length here.

use std::path::Path;

use super::clip_tokenizer::ClipTokenizer;
use super::{ImageEmbedding, ProvidedModel, TextEmbedding, Vector, read_provided};
use crate::backend::{Backend, Session, TextSession};
use crate::error::{MlError, Result};
use crate::image::{ChannelOrder, Normalisation, RgbImage};
use crate::manifest::ModelId;

/// CLIP's preprocessing (OpenAI's, kept by open_clip).
const NORMALISATION: Normalisation = Normalisation {
    order: ChannelOrder::Rgb,
    scale: 1.0 / 255.0,
    mean: [0.481_454_66, 0.457_827_5, 0.408_210_73],
    std: [0.268_629_54, 0.261_302_6, 0.275_777_1],
};

/// The image half, loaded.
pub struct ClipImageEncoder {
    session: Box<dyn Session>,
    side: u32,
    fingerprint: String,
}

impl ClipImageEncoder {
    /// Loads the image half at `path`, which takes pictures `side` pixels square, onto `backend`.
    pub fn load(path: &Path, side: u32, backend: &dyn Backend) -> Result<ClipImageEncoder> {
        let (model, fingerprint) = read_provided(ModelId::ImageEmbedder, path)?;
        let session = backend.load(&model, [1, 3, side as usize, side as usize])?;
        Ok(ClipImageEncoder { session, side, fingerprint })
    }

    /// The SHA-256 of the image model file: the vectors it makes are stored under it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

impl ImageEmbedding for ClipImageEncoder {
    fn embed_image(&mut self, image: &RgbImage) -> Result<Vector> {
        let input = image.centre_square(1.0)?.resized(self.side, self.side)?.to_normalised_tensor(&NORMALISATION);
        let outputs = self.session.run(&input)?;
        first_vector(ModelId::ImageEmbedder, &outputs)
    }
}

/// The text half and its tokenizer, loaded.
pub struct ClipTextEncoder {
    session: Box<dyn TextSession>,
    tokenizer: ClipTokenizer,
    tokens: usize,
}

impl ClipTextEncoder {
    /// Loads `files.text_model` and `files.merges` onto `backend`.
    pub fn load(files: &ProvidedModel, backend: &dyn Backend) -> Result<ClipTextEncoder> {
        let tokenizer = read_merges(&files.merges)?;
        let (model, _) = read_provided(ModelId::TextEmbedder, &files.text_model)?;
        let session = backend.load_text(&model, files.text_tokens)?;
        Ok(ClipTextEncoder { session, tokenizer, tokens: files.text_tokens })
    }
}

impl TextEmbedding for ClipTextEncoder {
    fn embed_text(&mut self, text: &str) -> Result<Vector> {
        let row = self.tokenizer.encode_row(text, self.tokens);
        let outputs = self.session.run(&row)?;
        first_vector(ModelId::TextEmbedder, &outputs)
    }
}

fn read_merges(path: &Path) -> Result<ClipTokenizer> {
    let bytes = match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(MlError::ModelMissing { model: ModelId::TextEmbedder, path: path.into() });
        }
        other => other.map_err(MlError::io(format!("reading {}", path.display())))?,
    };
    let text = String::from_utf8(bytes).map_err(|_| MlError::ModelRefused {
        model: ModelId::TextEmbedder,
        reason: format!("its merges file {} is not UTF-8 text", path.display()),
    })?;
    ClipTokenizer::from_merges(&text)
}

/// The first output as a unit vector: `[1, D]` or `[D]`.
fn first_vector(model: ModelId, outputs: &[crate::backend::OutputTensor]) -> Result<Vector> {
    let first = outputs.first().ok_or_else(|| MlError::BadOutput { model, reason: "no output".into() })?;
    if !matches!(first.shape.as_slice(), [_] | [1, _]) {
        return Err(MlError::BadOutput { model, reason: format!("its output has shape {:?}, not one vector", first.shape) });
    }
    Vector::normalised(&first.data).ok_or_else(|| MlError::BadOutput { model, reason: "its vector is zero or not finite".into() })
}
