//! MobileNetV2 with torchvision's ImageNet weights: 1,000 classes of things and places. A 224×224
//! RGB image in (the middle of the picture, as ImageNet's evaluation crops it), scaled to 0–1 and
//! normalised by ImageNet's mean and deviation; out, 1,000 logits, turned into probabilities here.

use crate::backend::{Backend, Session};
use crate::error::{MlError, Result};
use crate::image::{ChannelOrder, Normalisation, RgbImage};
use crate::manifest::ModelId;
use crate::model_store::ModelStore;

/// The model's fixed input side.
pub const INPUT_SIDE: u32 = 224;
/// ImageNet's classes.
pub const CLASSES: usize = 1000;
/// The share of the shorter side the crop keeps: ImageNet's resize to 256, then the middle 224.
const CROP: f32 = 224.0 / 256.0;

const NORMALISATION: Normalisation =
    Normalisation { order: ChannelOrder::Rgb, scale: 1.0 / 255.0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/// MobileNetV2, loaded.
pub struct SceneClassifier {
    session: Box<dyn Session>,
}

impl SceneClassifier {
    /// Loads the pinned MobileNetV2 from `store` onto `backend`.
    pub fn load(store: &ModelStore, backend: &dyn Backend) -> Result<SceneClassifier> {
        let model = store.read(ModelId::ImageClassifier)?;
        let side = INPUT_SIDE as usize;
        Ok(SceneClassifier { session: backend.load(&model, [1, 3, side, side])? })
    }

    /// The probability of each ImageNet class for `image` (they add up to 1).
    pub fn probabilities(&mut self, image: &RgbImage) -> Result<Vec<f32>> {
        let input = image.centre_square(CROP)?.resized(INPUT_SIDE, INPUT_SIDE)?.to_normalised_tensor(&NORMALISATION);
        let outputs = self.session.run(&input)?;
        let bad = |reason: String| MlError::BadOutput { model: ModelId::ImageClassifier, reason };
        let logits = outputs.first().ok_or_else(|| bad("no output".into()))?;
        if logits.data.len() != CLASSES {
            return Err(bad(format!("{} logits, not {CLASSES}", logits.data.len())));
        }
        softmax(&logits.data).ok_or_else(|| bad("the logits are not finite".into()))
    }
}

/// Probabilities from logits; `None` when one is not finite.
fn softmax(logits: &[f32]) -> Option<Vec<f32>> {
    if logits.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    Some(exp.into_iter().map(|v| v / sum).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_adds_up_to_one_and_refuses_nan() {
        let p = softmax(&[1.0, 2.0, 3.0, 1000.0]).expect("finite");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p[3] > 0.99);
        assert!(softmax(&[1.0, f32::NAN]).is_none());
        assert!(softmax(&[f32::INFINITY]).is_none());
    }
}
