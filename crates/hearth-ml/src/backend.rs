//! Inference backends behind one trait: the CPU through tract everywhere ([`tract_cpu`]), and
//! Rockchip's NPU where the board has one ([`rknn_npu`], with the CPU for what it cannot run). A
//! task (faces, tags) hands a backend a verified model and an input tensor and gets named output
//! tensors back; it never sees the backend's types.

use crate::error::Result;
use crate::manifest::ModelId;
use crate::model_store::VerifiedModel;

pub mod rknn_npu;
pub mod tract_cpu;
pub mod tract_pool;

/// An input image tensor, NCHW, f32.
#[derive(Debug, Clone, PartialEq)]
pub struct InputTensor {
    /// `[batch, channels, height, width]`.
    pub shape: [usize; 4],
    /// `shape`'s product values, row-major.
    pub data: Vec<f32>,
}

/// One output of a model run.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTensor {
    /// The model's name for it (YuNet: `cls_8`, `bbox_16`, …).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

/// A loaded image model, ready to run on inputs of the shape it was loaded for.
pub trait Session: Send {
    /// Runs the model on one input; the outputs come in the model's order.
    fn run(&mut self, input: &InputTensor) -> Result<Vec<OutputTensor>>;
}

/// A loaded text model (a text encoder of an image/text embedding model): its one input is a
/// `[1, tokens]` row of token ids, of the integer type the model declares.
pub trait TextSession: Send {
    /// Runs the model on one row of exactly the loaded number of token ids.
    fn run(&mut self, tokens: &[i64]) -> Result<Vec<OutputTensor>>;
}

/// Something that can load and run models.
pub trait Backend: Send + Sync {
    /// Its name in logs and the API ("cpu", "npu").
    fn name(&self) -> &'static str;

    /// Loads a model for inputs of `input_shape`.
    fn load(&self, model: &VerifiedModel, input_shape: [usize; 4]) -> Result<Box<dyn Session>>;

    /// Loads a text model for rows of `tokens` token ids.
    fn load_text(&self, model: &VerifiedModel, tokens: usize) -> Result<Box<dyn TextSession>>;
}

/// The output called `name`, or an error naming the model.
pub fn output<'a>(outputs: &'a [OutputTensor], model: ModelId, name: &str) -> Result<&'a OutputTensor> {
    outputs
        .iter()
        .find(|o| o.name == name)
        .ok_or_else(|| crate::error::MlError::ModelRefused { model, reason: format!("it has no output called {name}") })
}
