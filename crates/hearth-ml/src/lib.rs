//! Photo ML on the box (docs/ml.md): faces found, aligned and embedded, grouped into people; things
//! and scenes as search words; all inside the board's RAM, with pinned models and no network.
//!
//! Module map:
//! - [`manifest`]: the pinned models (`models.toml`), parsed raw then validated.
//! - [`model_store`]: the models folder; a model file read only when its checksum is the pinned one.
//! - [`onnx_graph`]: block-quantized weights unpacked to f32 at load (tract does not take them as shipped).
//! - [`backend`]: the inference backends behind one trait; [`backend::tract_cpu`] on the CPU
//!   (with [`backend::tract_pool`]'s faster 2×2 stride-2 max pool in its plans).
//! - [`image`]: decoding the photo's preview into RGB and resizing it for a model.
//! - [`faces`]: YuNet detection with five landmarks, alignment to 112×112, SFace embeddings.
//! - [`people`]: grouping face embeddings into people, incrementally and from scratch.
//! - [`tags`]: things (NanoDet) and scenes (MobileNetV2) turned into search words by a vocabulary.
//! - [`face_jobs`]: the `faces` jobs of the photo library's queue, run by the `ml` worker, and the
//!   daily regrouping.
//! - [`embedding`]: free-text search with an image/text model the family provides (CLIP-like);
//!   [`embedding_jobs`]: its `embeddings` jobs, last in the worker's order.
//! - [`tag_jobs`]: the `tags` jobs, run by the same worker after the faces; `preview_job`: the part
//!   of a job both share (the asset, its preview, failures).

pub mod backend;
pub mod embedding;
pub mod embedding_jobs;
mod error;
pub mod face_jobs;
pub mod faces;
pub mod image;
pub mod manifest;
pub mod model_store;
pub mod onnx_graph;
pub mod people;
mod preview_job;
pub mod tag_jobs;
pub mod tags;

pub use error::{MlError, Result};
pub use manifest::ModelId;
