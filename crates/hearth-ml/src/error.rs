//! The crate's one error type (the rules: hearth-core's `error` module). A model that cannot be
//! used is refused with what to do about it; a photo that cannot be analysed is an error for that
//! photo alone, never a crash of the worker.

use std::io;
use std::path::PathBuf;

use hearth_core::error::{ErrorKind, Kinded};

use crate::manifest::ModelId;

/// Result with [`MlError`].
pub type Result<T, E = MlError> = std::result::Result<T, E>;

/// Why a model or a photo could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// The embedded models manifest is malformed (a build mistake, caught by the crate's tests).
    #[error("the models manifest: {0}")]
    Manifest(String),
    /// The model file is not where it should be.
    #[error("the {model} model file is missing ({path})")]
    ModelMissing { model: ModelId, path: PathBuf },
    /// The model file is there but not the pinned one (altered, truncated, another version).
    #[error("the {model} model file {path} is not the pinned one (its SHA-256 is {got})")]
    ModelAltered { model: ModelId, path: PathBuf, got: String },
    /// The model's graph is not what its task expects (inputs, outputs, shapes), or the backend
    /// cannot run it.
    #[error("the {model} model cannot be used: {reason}")]
    ModelRefused { model: ModelId, reason: String },
    /// The photo cannot be read as an image.
    #[error("the image cannot be read: {0}")]
    Image(String),
    /// The model ran but its output is unusable (NaN, wrong size).
    #[error("the {model} model gave an unusable answer: {reason}")]
    BadOutput { model: ModelId, reason: String },
    /// The inference took longer than its limit and was stopped.
    #[error("the {model} model took longer than {secs} s on this photo and was stopped")]
    TimedOut { model: ModelId, secs: u64 },
    /// The NPU backend is not usable on this box (library missing, model not converted, …).
    #[error("the NPU cannot be used: {0}")]
    NpuUnavailable(String),
    /// A file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the thing.
        what: String,
        /// The OS error.
        source: io::Error,
    },
}

impl MlError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> MlError {
        let what = what.into();
        move |source| MlError::Io { what, source }
    }

    /// Whether the model (rather than one photo) is at fault: the job should not be retried on
    /// other photos until the model is fixed.
    pub fn is_model_problem(&self) -> bool {
        matches!(self, MlError::Manifest(_) | MlError::ModelMissing { .. } | MlError::ModelAltered { .. } | MlError::ModelRefused { .. })
    }
}

impl Kinded for MlError {
    fn kind(&self) -> ErrorKind {
        match self {
            MlError::ModelMissing { .. } => ErrorKind::NotFound,
            MlError::ModelAltered { .. } => ErrorKind::Corrupt,
            MlError::ModelRefused { .. } | MlError::NpuUnavailable(_) => ErrorKind::Incompatible,
            MlError::Image(_) | MlError::BadOutput { .. } => ErrorKind::InvalidInput,
            MlError::TimedOut { .. } => ErrorKind::Unavailable,
            MlError::Manifest(_) => ErrorKind::Internal,
            MlError::Io { source, .. } => ErrorKind::of_io(source),
        }
    }

    fn guidance(&self) -> Option<String> {
        match self {
            MlError::ModelMissing { .. } | MlError::ModelAltered { .. } => Some(
                "install a Hearth image that carries its models, or on a development machine run scripts/models (it fetches and checks them)"
                    .into(),
            ),
            _ => None,
        }
    }
}
