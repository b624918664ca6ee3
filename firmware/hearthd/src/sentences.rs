//! Free-text search's glue (docs/ml.md): the API asks for a sentence's vector and the provided
//! image/text model's text half answers (hearth-ml); the `sentences` service drops that half from
//! memory after [`IDLE`] without a search.

use std::sync::Arc;
use std::time::Duration;

use hearth_api::ApiError;
use hearth_core::config::EmbeddingConfig;
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hearth_core::{ErrorKind, Shutdown};
use hearth_ml::MlError;
use hearth_ml::backend::tract_cpu::TractCpu;
use hearth_ml::embedding::ProvidedModel;
use hearth_ml::embedding::queries::SentenceVectors;

/// The text half is dropped after this long without a search.
const IDLE: Duration = Duration::from_secs(5 * 60);

/// The provided model's text half, for the API.
pub struct ProvidedSentences(SentenceVectors);

impl ProvidedSentences {
    /// The configured model's text half, on `threads` threads; nothing is read before a search.
    pub fn new(config: &EmbeddingConfig, threads: usize) -> ProvidedSentences {
        let files = ProvidedModel {
            image_model: config.image_model.clone(),
            text_model: config.text_model.clone(),
            merges: config.merges.clone(),
            image_side: config.image_side,
            text_tokens: config.text_tokens,
        };
        ProvidedSentences(SentenceVectors::new(files, Box::new(TractCpu::new(threads))))
    }
}

impl hearth_api::state::SentenceVectors for ProvidedSentences {
    fn vector(&self, sentence: &str) -> Result<(String, Vec<f32>), ApiError> {
        let (fingerprint, vector) = self.0.vector(sentence).map_err(|e| {
            tracing::warn!(error = %e, "free-text search: the image/text model failed");
            api_error(&e)
        })?;
        Ok((fingerprint, vector.values().to_vec()))
    }
}

/// A model that cannot be used makes search unavailable (with what to check); a sentence the
/// model gives no usable vector (all its words unknown to a small model, say) is that sentence's
/// problem.
fn api_error(e: &MlError) -> ApiError {
    if let MlError::BadOutput { .. } = e {
        return ApiError::new(ErrorKind::InvalidInput, format!("the image/text model cannot place this sentence: {e}"));
    }
    let kind = if e.is_model_problem() || matches!(e, MlError::Io { .. }) { ErrorKind::Unavailable } else { ErrorKind::Internal };
    // Not the pinned models' guidance (scripts/models): these files are the family's.
    ApiError::new(kind, format!("free-text search cannot be used: {e}"))
        .with_guidance("check the files named in hearth.toml's [ml.embedding] (docs/ml.md)")
}

/// The service that unloads the text half when idle.
pub struct SentencesKeeper(pub Arc<ProvidedSentences>);

impl Service for SentencesKeeper {
    fn name(&self) -> &'static str {
        "sentences"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            ready.ready();
            loop {
                tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                }
                let sentences = self.0.clone();
                let _ = tokio::task::spawn_blocking(move || sentences.0.unload_if_idle(IDLE)).await;
            }
        })
    }
}
