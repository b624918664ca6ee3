//! The CPU backend: tract, pure Rust, the same on x86 and ARM. Quantized weights are unpacked to
//! f32 at load (`onnx_graph`); the graph is then typed for the fixed input shape and optimized
//! once (with `tract_pool`'s max pool where it fits), so a run allocates only its activations.
//! On a board whose profile says int8, the convolutions compute in integers
//! (`onnx_graph::int8_convolutions`); everything else stays f32.

use std::sync::Arc;

use hearth_core::board::MlArithmetic;

use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::runtime::RunOptions;

use tract_onnx::pb::tensor_proto::DataType;

use crate::backend::{Backend, InputTensor, OutputTensor, Session, TextSession, tract_pool};
use crate::error::{MlError, Result};
use crate::manifest::ModelId;
use crate::model_store::VerifiedModel;
use crate::onnx_graph;

/// tract on this machine's CPU, on `threads` threads.
#[derive(Debug, Clone)]
pub struct TractCpu {
    threads: usize,
    arithmetic: MlArithmetic,
}

impl TractCpu {
    /// A backend running each model on `threads` threads (at least one), in f32.
    pub fn new(threads: usize) -> TractCpu {
        TractCpu { threads: threads.max(1), arithmetic: MlArithmetic::F32 }
    }

    /// The same backend computing convolutions as the board's profile says.
    pub fn with_arithmetic(self, arithmetic: MlArithmetic) -> TractCpu {
        TractCpu { arithmetic, ..self }
    }
}

struct TractSession {
    model: ModelId,
    plan: Arc<TypedRunnableModel>,
    shape: [usize; 4],
    outputs: Vec<String>,
}

/// A loaded text model.
struct TractTextSession {
    model: ModelId,
    plan: Arc<TypedRunnableModel>,
    tokens: usize,
    /// The integer type of the model's input (ONNX CLIP exports use int64, some int32).
    wide: bool,
    outputs: Vec<String>,
}

/// The optimized tract model of the ONNX file `bytes` (the `model`'s) for an input of `shape`:
/// quantized weights unpacked (and the convolutions made integer for [`MlArithmetic::Int8`]), f32
/// for an image, the integer type the graph declares for text, tract's optimisations and
/// `tract_pool`'s; with the output names and whether the text input is int64. Public for
/// `examples/profile_model.rs`, which times this model's nodes.
pub fn optimized(
    model: ModelId,
    bytes: &[u8],
    shape: &[usize],
    text: bool,
    arithmetic: MlArithmetic,
) -> Result<(TypedModel, Vec<String>, bool)> {
    let refused = |e: &dyn std::fmt::Display| MlError::ModelRefused { model, reason: e.to_string() };
    let onnx = tract_onnx::onnx();
    let mut proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(|e| refused(&e))?;
    onnx_graph::unpack_constant_weights(&mut proto).map_err(|e| refused(&e.0))?;
    if arithmetic == MlArithmetic::Int8 {
        let done = onnx_graph::int8_convolutions(&mut proto).map_err(|e| refused(&e.0))?;
        tracing::debug!(model = model.as_str(), converted = done.converted, left = done.left, "convolutions in int8");
    }
    let graph = proto.graph.as_ref().ok_or_else(|| refused(&"no graph"))?;
    if graph.input.len() != 1 {
        let what = if text { "one row of token ids" } else { "one image" };
        return Err(refused(&format!("it takes {} inputs, not {what}", graph.input.len())));
    }
    let outputs: Vec<String> = graph.output.iter().map(|o| o.name.clone()).collect();
    let declared = graph.input[0].r#type.as_ref().and_then(|t| match &t.value {
        Some(tract_onnx::pb::type_proto::Value::TensorType(t)) => Some(t.elem_type),
        _ => None,
    });
    let (fact, wide) = if text {
        match declared {
            Some(x) if x == DataType::Int64 as i32 => (i64::fact(shape).into(), true),
            Some(x) if x == DataType::Int32 as i32 => (i32::fact(shape).into(), false),
            _ => return Err(refused(&"its input is not a row of int64 or int32 token ids")),
        }
    } else {
        match declared {
            Some(x) if x != DataType::Float as i32 => return Err(refused(&"its input is not an f32 picture")),
            _ => (f32::fact(shape).into(), false),
        }
    };
    let mut typed = onnx
        .model_for_proto_model(&proto)
        .and_then(|m| m.with_input_fact(0, fact))
        .and_then(|m| m.into_optimized())
        .map_err(|e| refused(&format!("{e:#}")))?;
    tract_pool::replace_max_pools(&mut typed).map_err(|e| refused(&format!("{e:#}")))?;
    Ok((typed, outputs, wide))
}

impl TractCpu {
    /// The plan of `verified` for an input of `shape` (see [`optimized`]), on this backend's
    /// threads.
    fn plan(&self, verified: &VerifiedModel, shape: &[usize], text: bool) -> Result<(Arc<TypedRunnableModel>, Vec<String>, bool)> {
        let (typed, outputs, wide) = optimized(verified.id, &verified.bytes, shape, text, self.arithmetic)?;
        let options = RunOptions {
            executor: (self.threads > 1).then(|| Executor::multithread_with_name(self.threads, "hearth-ml")),
            ..Default::default()
        };
        let plan = typed
            .into_runnable_with_options(&options)
            .map_err(|e| MlError::ModelRefused { model: verified.id, reason: format!("{e:#}") })?;
        Ok((plan, outputs, wide))
    }
}

impl Backend for TractCpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn load(&self, verified: &VerifiedModel, input_shape: [usize; 4]) -> Result<Box<dyn Session>> {
        let (plan, outputs, _) = self.plan(verified, &input_shape, false)?;
        Ok(Box::new(TractSession { model: verified.id, plan, shape: input_shape, outputs }))
    }

    fn load_text(&self, verified: &VerifiedModel, tokens: usize) -> Result<Box<dyn TextSession>> {
        let (plan, outputs, wide) = self.plan(verified, &[1, tokens], true)?;
        Ok(Box::new(TractTextSession { model: verified.id, plan, tokens, wide, outputs }))
    }
}

/// The plan's results as named f32 outputs.
fn collect_outputs(model: ModelId, names: &[String], results: TVec<TValue>) -> Result<Vec<OutputTensor>> {
    let mut out = Vec::with_capacity(results.len());
    for (i, value) in results.iter().enumerate() {
        let view = value.to_plain_array_view::<f32>().map_err(|e| MlError::BadOutput { model, reason: e.to_string() })?;
        out.push(OutputTensor {
            name: names.get(i).cloned().unwrap_or_else(|| format!("output{i}")),
            shape: view.shape().to_vec(),
            data: view.iter().copied().collect(),
        });
    }
    Ok(out)
}

impl TextSession for TractTextSession {
    fn run(&mut self, tokens: &[i64]) -> Result<Vec<OutputTensor>> {
        let model = self.model;
        if tokens.len() != self.tokens {
            return Err(MlError::BadOutput { model, reason: format!("{} token ids, loaded for {}", tokens.len(), self.tokens) });
        }
        let bad = |e: &dyn std::fmt::Display| MlError::BadOutput { model, reason: e.to_string() };
        let tensor: Tensor = if self.wide {
            tract_ndarray::Array2::from_shape_vec([1, self.tokens], tokens.to_vec()).map_err(|e| bad(&e))?.into()
        } else {
            let narrow: Vec<i32> = tokens
                .iter()
                .map(|&t| i32::try_from(t).map_err(|_| bad(&format!("token id {t} does not fit the model's int32 input"))))
                .collect::<Result<_>>()?;
            tract_ndarray::Array2::from_shape_vec([1, self.tokens], narrow).map_err(|e| bad(&e))?.into()
        };
        let results = self.plan.run(tvec!(tensor.into())).map_err(|e| bad(&format!("{e:#}")))?;
        collect_outputs(model, &self.outputs, results)
    }
}

impl Session for TractSession {
    fn run(&mut self, input: &InputTensor) -> Result<Vec<OutputTensor>> {
        let model = self.model;
        if input.shape != self.shape || input.data.len() != input.shape.iter().product::<usize>() {
            return Err(MlError::BadOutput { model, reason: format!("input of shape {:?}, loaded for {:?}", input.shape, self.shape) });
        }
        let tensor = tract_ndarray::Array4::from_shape_vec(self.shape, input.data.clone())
            .map_err(|e| MlError::BadOutput { model, reason: e.to_string() })?;
        let results =
            self.plan.run(tvec!(Tensor::from(tensor).into())).map_err(|e| MlError::BadOutput { model, reason: format!("{e:#}") })?;
        collect_outputs(model, &self.outputs, results)
    }
}
