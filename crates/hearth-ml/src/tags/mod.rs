//! Things and scenes as words (docs/ml.md): the object detector ([`objects`], NanoDet, COCO's 80
//! classes) and the scene classifier ([`scenes`], MobileNetV2, ImageNet's 1,000) score a photo,
//! and the [`vocabulary`] turns the scores into the words a family searches for.

pub mod objects;
pub mod scenes;
pub mod vocabulary;

use crate::backend::Backend;
use crate::error::Result;
use crate::image::RgbImage;
use crate::model_store::ModelStore;

pub use vocabulary::{EarnedWord, Vocabulary};

/// The two taggers and the vocabulary, loaded.
pub struct Tagger {
    objects: objects::ObjectDetector,
    scenes: scenes::SceneClassifier,
    vocabulary: Vocabulary,
}

impl Tagger {
    /// Loads both models from `store` onto `backend`, with the pinned vocabulary.
    pub fn load(store: &ModelStore, backend: &dyn Backend) -> Result<Tagger> {
        Ok(Tagger {
            objects: objects::ObjectDetector::load(store, backend)?,
            scenes: scenes::SceneClassifier::load(store, backend)?,
            vocabulary: Vocabulary::pinned()?,
        })
    }

    /// The words `image` earns, surest first.
    pub fn words(&mut self, image: &RgbImage) -> Result<Vec<EarnedWord>> {
        let objects = self.objects.class_scores(image)?;
        let scenes = self.scenes.probabilities(image)?;
        Ok(self.vocabulary.words_for(&objects, &scenes))
    }
}
