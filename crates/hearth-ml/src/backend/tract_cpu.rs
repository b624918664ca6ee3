//! The CPU backend: tract, pure Rust, the same on x86 and ARM. Quantized weights are unpacked to
//! f32 at load (`onnx_graph`); the graph is then typed for the fixed input shape and optimized
//! once, so a run allocates only its activations.

use std::sync::Arc;

use tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::runtime::RunOptions;

use crate::backend::{Backend, InputTensor, OutputTensor, Session};
use crate::error::{MlError, Result};
use crate::manifest::ModelId;
use crate::model_store::VerifiedModel;
use crate::onnx_graph;

/// tract on this machine's CPU, on `threads` threads.
#[derive(Debug, Clone)]
pub struct TractCpu {
    threads: usize,
}

impl TractCpu {
    /// A backend running each model on `threads` threads (at least one).
    pub fn new(threads: usize) -> TractCpu {
        TractCpu { threads: threads.max(1) }
    }
}

struct TractSession {
    model: ModelId,
    plan: Arc<TypedRunnableModel>,
    shape: [usize; 4],
    outputs: Vec<String>,
}

impl Backend for TractCpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn load(&self, verified: &VerifiedModel, input_shape: [usize; 4]) -> Result<Box<dyn Session>> {
        let model = verified.id;
        let refused = |e: &dyn std::fmt::Display| MlError::ModelRefused { model, reason: e.to_string() };
        let onnx = tract_onnx::onnx();
        let mut proto = onnx.proto_model_for_read(&mut &verified.bytes[..]).map_err(|e| refused(&e))?;
        onnx_graph::unpack_constant_weights(&mut proto).map_err(|e| refused(&e.0))?;
        let graph = proto.graph.as_ref().ok_or_else(|| refused(&"no graph"))?;
        if graph.input.len() != 1 {
            return Err(refused(&format!("it takes {} inputs, not one image", graph.input.len())));
        }
        let outputs: Vec<String> = graph.output.iter().map(|o| o.name.clone()).collect();
        let typed = onnx
            .model_for_proto_model(&proto)
            .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
            .and_then(|m| m.into_optimized())
            .map_err(|e| refused(&format!("{e:#}")))?;
        let options = RunOptions {
            executor: (self.threads > 1).then(|| Executor::multithread_with_name(self.threads, "hearth-ml")),
            ..Default::default()
        };
        let plan = typed.into_runnable_with_options(&options).map_err(|e| refused(&format!("{e:#}")))?;
        Ok(Box::new(TractSession { model, plan, shape: input_shape, outputs }))
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
        let mut out = Vec::with_capacity(results.len());
        for (i, value) in results.iter().enumerate() {
            let view = value.to_plain_array_view::<f32>().map_err(|e| MlError::BadOutput { model, reason: e.to_string() })?;
            out.push(OutputTensor {
                name: self.outputs.get(i).cloned().unwrap_or_else(|| format!("output{i}")),
                shape: view.shape().to_vec(),
                data: view.iter().copied().collect(),
            });
        }
        Ok(out)
    }
}
