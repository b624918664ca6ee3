//! YuNet (2023mar): a 640×640 BGR image in, for each of three strides (8, 16, 32) and each grid
//! cell a class and an objectness score (already through a sigmoid), a box as offsets from the
//! cell (centre in cells, size as log of cells) and five landmarks as offsets from the cell. The
//! photo is letterboxed into the square, so faces keep their shape; boxes come back in the photo's
//! pixels. Decoding follows OpenCV's `FaceDetectorYN` for this model.

use crate::backend::{Backend, Session, output};
use crate::error::{MlError, Result};
use crate::faces::Face;
use crate::image::{ChannelOrder, RgbImage};
use crate::manifest::ModelId;
use crate::model_store::ModelStore;

/// The model's fixed input side.
pub const INPUT_SIDE: u32 = 640;
const STRIDES: [usize; 3] = [8, 16, 32];
/// Boxes overlapping more than this are one face (OpenCV's default).
const NMS_IOU: f32 = 0.3;
/// At most this many candidates go into suppression.
const TOP_K: usize = 5000;

/// What a detection must reach to count as a face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorLimits {
    /// Minimum confidence (0–1).
    pub min_score: f32,
    /// Minimum shorter side of the box, in the analysed image's pixels.
    pub min_size: f32,
    /// At most this many faces per photo, the most confident first.
    pub max_faces: usize,
}

impl Default for DetectorLimits {
    fn default() -> Self {
        // docs/ml.md says how these were chosen.
        DetectorLimits { min_score: 0.8, min_size: 24.0, max_faces: 200 }
    }
}

/// YuNet, loaded.
pub struct FaceDetector {
    session: Box<dyn Session>,
    limits: DetectorLimits,
}

impl FaceDetector {
    /// Loads the pinned YuNet from `store` onto `backend`.
    pub fn load(store: &ModelStore, backend: &dyn Backend, limits: DetectorLimits) -> Result<FaceDetector> {
        let model = store.read(ModelId::FaceDetector)?;
        let side = INPUT_SIDE as usize;
        let session = backend.load(&model, [1, 3, side, side])?;
        Ok(FaceDetector { session, limits })
    }

    /// The faces in `image`, most confident first.
    pub fn detect(&mut self, image: &RgbImage) -> Result<Vec<Face>> {
        let (square, scale) = image.letterboxed(INPUT_SIDE)?;
        let outputs = self.session.run(&square.to_tensor(ChannelOrder::Bgr))?;
        let mut candidates = Vec::new();
        for stride in STRIDES {
            let grid = INPUT_SIDE as usize / stride;
            let cells = grid * grid;
            let get = |kind: &str, per_cell: usize| -> Result<&[f32]> {
                let o = output(&outputs, ModelId::FaceDetector, &format!("{kind}_{stride}"))?;
                if o.data.len() != cells * per_cell {
                    return Err(MlError::BadOutput {
                        model: ModelId::FaceDetector,
                        reason: format!("{} has {} values, not {}", o.name, o.data.len(), cells * per_cell),
                    });
                }
                Ok(&o.data)
            };
            let (cls, obj, bbox, kps) = (get("cls", 1)?, get("obj", 1)?, get("bbox", 4)?, get("kps", 10)?);
            let s = stride as f32;
            for i in 0..cells {
                let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
                if score.is_nan() {
                    return Err(MlError::BadOutput { model: ModelId::FaceDetector, reason: "a score is not a number".into() });
                }
                if score < self.limits.min_score {
                    continue;
                }
                let (col, row) = ((i % grid) as f32, (i / grid) as f32);
                let b = &bbox[i * 4..i * 4 + 4];
                let cx = (col + b[0]) * s;
                let cy = (row + b[1]) * s;
                let w = b[2].min(20.0).exp() * s;
                let h = b[3].min(20.0).exp() * s;
                let k = &kps[i * 10..i * 10 + 10];
                let mut landmarks = [[0f32; 2]; 5];
                for (n, point) in landmarks.iter_mut().enumerate() {
                    *point = [(k[2 * n] + col) * s / scale, (k[2 * n + 1] + row) * s / scale];
                }
                let face =
                    Face { x: (cx - w / 2.0) / scale, y: (cy - h / 2.0) / scale, width: w / scale, height: h / scale, score, landmarks };
                if face.x.is_finite() && face.y.is_finite() && face.width.is_finite() && face.height.is_finite() {
                    candidates.push(face);
                }
            }
        }
        Ok(self.keep(candidates, image))
    }

    /// Suppression of overlapping boxes, then the size limit, boxes clipped to the image.
    fn keep(&self, mut candidates: Vec<Face>, image: &RgbImage) -> Vec<Face> {
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        candidates.truncate(TOP_K);
        let mut kept: Vec<Face> = Vec::new();
        for face in candidates {
            if kept.iter().all(|k| k.iou(&face) <= NMS_IOU) {
                kept.push(face);
            }
        }
        let (w, h) = (image.width as f32, image.height as f32);
        kept.into_iter()
            .filter_map(|mut f| {
                let x2 = (f.x + f.width).min(w);
                let y2 = (f.y + f.height).min(h);
                f.x = f.x.max(0.0);
                f.y = f.y.max(0.0);
                f.width = x2 - f.x;
                f.height = y2 - f.y;
                (f.size() >= self.limits.min_size).then_some(f)
            })
            .take(self.limits.max_faces)
            .collect()
    }
}
