//! NanoDet-g: COCO's 80 kinds of thing. A 416×416 BGR image in (the photo stretched, as NanoDet
//! was trained), normalised by its mean and deviation; out, for each of three strides (8, 16, 32)
//! and each grid cell, 80 class scores (already through a sigmoid) and a box as four distances,
//! each a distribution over 11 bins. Tagging needs only which things are in the picture and how
//! sure the model is: each class's best score over every cell. Outputs are told apart by shape,
//! not name (the converted graph keeps TensorFlow's names).

use crate::backend::{Backend, Session};
use crate::error::{MlError, Result};
use crate::image::{ChannelOrder, Normalisation, RgbImage};
use crate::manifest::ModelId;
use crate::model_store::ModelStore;

/// The model's fixed input side.
pub const INPUT_SIDE: u32 = 416;
const STRIDES: [usize; 3] = [8, 16, 32];
/// Values per cell of a box output: 4 sides × 11 bins.
const BOX_VALUES: usize = 44;

const NORMALISATION: Normalisation =
    Normalisation { order: ChannelOrder::Bgr, scale: 1.0, mean: [103.53, 116.28, 123.675], std: [57.375, 57.12, 58.395] };

/// COCO's classes in the model's order.
pub const COCO_CLASSES: [&str; 80] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// NanoDet, loaded.
pub struct ObjectDetector {
    session: Box<dyn Session>,
}

impl ObjectDetector {
    /// Loads the pinned NanoDet from `store` onto `backend`.
    pub fn load(store: &ModelStore, backend: &dyn Backend) -> Result<ObjectDetector> {
        let model = store.read(ModelId::ObjectDetector)?;
        let side = INPUT_SIDE as usize;
        Ok(ObjectDetector { session: backend.load(&model, [1, 3, side, side])? })
    }

    /// Each COCO class's best score anywhere in `image` (indexed as [`COCO_CLASSES`]).
    pub fn class_scores(&mut self, image: &RgbImage) -> Result<[f32; 80]> {
        let input = image.resized(INPUT_SIDE, INPUT_SIDE)?.to_normalised_tensor(&NORMALISATION);
        let outputs = self.session.run(&input)?;
        let bad = |reason: String| MlError::BadOutput { model: ModelId::ObjectDetector, reason };
        let mut best = [0f32; 80];
        let mut strides_seen = Vec::new();
        for o in &outputs {
            let per_cell = *o.shape.last().unwrap_or(&0);
            let cells = o.data.len().checked_div(per_cell).unwrap_or(0);
            let Some(&stride) = STRIDES.iter().find(|&&s| (INPUT_SIDE as usize / s).pow(2) == cells) else {
                return Err(bad(format!("an output of shape {:?} fits no stride", o.shape)));
            };
            match per_cell {
                80 => {
                    strides_seen.push(stride);
                    for cell in o.data.chunks_exact(80) {
                        for (b, &v) in best.iter_mut().zip(cell) {
                            if v.is_nan() {
                                return Err(bad("a score is not a number".into()));
                            }
                            *b = b.max(v.clamp(0.0, 1.0));
                        }
                    }
                }
                BOX_VALUES => {}
                n => return Err(bad(format!("an output has {n} values per cell, neither 80 scores nor {BOX_VALUES} box bins"))),
            }
        }
        strides_seen.sort_unstable();
        if strides_seen != STRIDES {
            return Err(bad(format!("class scores came for strides {strides_seen:?}, not {STRIDES:?}")));
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_names_are_cocos_eighty_once_each() {
        let mut names = COCO_CLASSES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 80);
        assert_eq!(COCO_CLASSES[0], "person");
        assert_eq!(COCO_CLASSES[79], "toothbrush");
    }
}
