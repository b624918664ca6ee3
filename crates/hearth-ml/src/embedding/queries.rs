//! The daemon's side of free-text search: a sentence's vector from the provided model's text half,
//! loaded on the first search and dropped after a while without one (it is as large as the image
//! half, and a family searches now and then). One search at a time uses it; others wait.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::clip::ClipTextEncoder;
use super::{ProvidedModel, TextEmbedding, Vector, fingerprint_of};
use crate::backend::Backend;
use crate::error::Result;

/// A provided model's text half, on demand.
pub struct SentenceVectors {
    files: ProvidedModel,
    backend: Box<dyn Backend>,
    loaded: Mutex<Option<Loaded>>,
}

struct Loaded {
    encoder: ClipTextEncoder,
    /// The SHA-256 of the image half whose stored vectors the sentences are compared with.
    fingerprint: String,
    used: Instant,
}

impl SentenceVectors {
    /// Nothing is read until the first sentence.
    pub fn new(files: ProvidedModel, backend: Box<dyn Backend>) -> SentenceVectors {
        SentenceVectors { files, backend, loaded: Mutex::new(None) }
    }

    /// The sentence's vector, and the SHA-256 of the image model it belongs with. Blocking (the
    /// first call loads the model): run it off the async threads.
    pub fn vector(&self, sentence: &str) -> Result<(String, Vector)> {
        let mut slot = self.loaded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let loaded = match slot.take() {
            Some(loaded) => slot.insert(loaded),
            None => {
                let started = Instant::now();
                let fingerprint = fingerprint_of(&self.files.image_model)?;
                let encoder = ClipTextEncoder::load(&self.files, self.backend.as_ref())?;
                tracing::info!(ms = started.elapsed().as_millis() as u64, "the image/text model's text half is loaded");
                slot.insert(Loaded { encoder, fingerprint, used: Instant::now() })
            }
        };
        loaded.used = Instant::now();
        let vector = loaded.encoder.embed_text(sentence)?;
        Ok((loaded.fingerprint.clone(), vector))
    }

    /// Drops the text half when no sentence came for `idle`; whether it did.
    pub fn unload_if_idle(&self, idle: Duration) -> bool {
        let mut slot = self.loaded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.as_ref().is_some_and(|l| l.used.elapsed() >= idle) {
            *slot = None;
            tracing::info!("no search for a while: the image/text model's text half is unloaded");
            return true;
        }
        false
    }
}
