//! The RK3588's NPU through Rockchip's runtime (`librknnrt.so`, loaded at run time by
//! `hearth_platform::rknn`). The NPU does not run ONNX: each model needs a file converted for it
//! by Rockchip's rknn-toolkit2 on a PC, `<model file's stem>.rknn` beside the ONNX file. A model
//! without one, or one the runtime refuses, runs on the CPU, and [`NpuFirst`] keeps why, for the
//! worker to report (never a silent fallback).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hearth_platform::rknn::{Layout, RknnError, RknnLibrary, RknnModel};

use crate::backend::tract_cpu::TractCpu;
use crate::backend::{Backend, InputTensor, OutputTensor, Session, TextSession};
use crate::error::{MlError, Result};
use crate::manifest::ModelId;
use crate::model_store::VerifiedModel;

/// The largest converted model read.
const MAX_RKNN_BYTES: u64 = 512 << 20;

/// The NPU, its runtime loaded.
#[derive(Debug, Clone)]
pub struct RknnNpu {
    library: Arc<RknnLibrary>,
}

impl RknnNpu {
    /// Loads the runtime at `library`. The error's reason (`NpuUnavailable`) names the library
    /// and what dlopen said.
    pub fn open(library: &Path) -> Result<RknnNpu> {
        Ok(RknnNpu { library: RknnLibrary::open(library).map_err(|e| MlError::NpuUnavailable(e.to_string()))? })
    }

    /// Where the converted form of `model` is looked for.
    pub fn converted_path(model: &Path) -> PathBuf {
        model.with_extension("rknn")
    }
}

struct RknnSession {
    model: ModelId,
    rknn: RknnModel,
    shape: [usize; 4],
}

fn unavailable(model: ModelId, e: impl std::fmt::Display) -> MlError {
    MlError::NpuUnavailable(format!("{model}: {e}"))
}

/// Why the NPU was not used (its runtime, or a model), without the error's own preamble.
pub fn reason(e: &MlError) -> String {
    match e {
        MlError::NpuUnavailable(why) => why.clone(),
        other => other.to_string(),
    }
}

impl Backend for RknnNpu {
    fn name(&self) -> &'static str {
        "npu"
    }

    fn load(&self, verified: &VerifiedModel, input_shape: [usize; 4]) -> Result<Box<dyn Session>> {
        let model = verified.id;
        let path = RknnNpu::converted_path(&verified.path);
        let bytes = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(unavailable(
                    model,
                    format!("no converted model {} (rknn-toolkit2 makes it from the ONNX file)", path.display()),
                ));
            }
            Err(e) => return Err(unavailable(model, format!("{}: {e}", path.display()))),
            Ok(meta) if meta.len() > MAX_RKNN_BYTES => return Err(unavailable(model, format!("{} is too large", path.display()))),
            Ok(_) => std::fs::read(&path).map_err(|e| unavailable(model, format!("{}: {e}", path.display())))?,
        };
        let rknn = RknnModel::load(&self.library, bytes).map_err(|e| unavailable(model, format!("{}: {e}", path.display())))?;
        let [inputs] = rknn.inputs() else {
            return Err(unavailable(model, format!("{} takes {} inputs, not one image", path.display(), rknn.inputs().len())));
        };
        let [n, c, h, w] = input_shape.map(|d| d as u32);
        let fits = match inputs.layout {
            Layout::Nchw => inputs.dims == [n, c, h, w],
            Layout::Nhwc => inputs.dims == [n, h, w, c],
            Layout::Other(_) => false,
        };
        if !fits {
            return Err(unavailable(
                model,
                format!("{} takes {:?} ({:?}), not {input_shape:?}", path.display(), inputs.dims, inputs.layout),
            ));
        }
        Ok(Box::new(RknnSession { model, rknn, shape: input_shape }))
    }

    fn load_text(&self, verified: &VerifiedModel, _tokens: usize) -> Result<Box<dyn TextSession>> {
        Err(unavailable(verified.id, "text models run on the CPU"))
    }
}

impl Session for RknnSession {
    fn run(&mut self, input: &InputTensor) -> Result<Vec<OutputTensor>> {
        let model = self.model;
        if input.shape != self.shape || input.data.len() != input.shape.iter().product::<usize>() {
            return Err(MlError::BadOutput { model, reason: format!("input of shape {:?}, loaded for {:?}", input.shape, self.shape) });
        }
        let values =
            self.rknn.run_f32(&input.data, Layout::Nchw).map_err(|e: RknnError| MlError::BadOutput { model, reason: e.to_string() })?;
        Ok(values
            .into_iter()
            .zip(self.rknn.outputs())
            .map(|(data, info)| OutputTensor { name: info.name.clone(), shape: info.dims.iter().map(|&d| d as usize).collect(), data })
            .collect())
    }
}

/// The NPU for every model it can run, the CPU (tract) for the others, with why each of those is
/// on the CPU.
pub struct NpuFirst {
    npu: RknnNpu,
    cpu: TractCpu,
    on_cpu: Mutex<BTreeMap<ModelId, String>>,
}

impl NpuFirst {
    /// Both backends; `cpu` runs what the NPU cannot.
    pub fn new(npu: RknnNpu, cpu: TractCpu) -> NpuFirst {
        NpuFirst { npu, cpu, on_cpu: Mutex::new(BTreeMap::new()) }
    }

    /// The models last loaded on the CPU, and why not on the NPU ("face-detector: no converted
    /// model …").
    pub fn on_cpu(&self) -> BTreeMap<ModelId, String> {
        self.on_cpu.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn note(&self, model: ModelId, why: Option<String>) {
        let mut on_cpu = self.on_cpu.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match why {
            Some(why) => on_cpu.insert(model, why),
            None => on_cpu.remove(&model),
        };
    }
}

impl Backend for NpuFirst {
    fn name(&self) -> &'static str {
        "npu"
    }

    fn load(&self, verified: &VerifiedModel, input_shape: [usize; 4]) -> Result<Box<dyn Session>> {
        match self.npu.load(verified, input_shape) {
            Ok(session) => {
                self.note(verified.id, None);
                Ok(session)
            }
            Err(e) => {
                tracing::warn!(model = %verified.id, reason = %e, "this model runs on the CPU, not the NPU");
                self.note(verified.id, Some(reason(&e)));
                self.cpu.load(verified, input_shape)
            }
        }
    }

    fn load_text(&self, verified: &VerifiedModel, tokens: usize) -> Result<Box<dyn TextSession>> {
        self.cpu.load_text(verified, tokens)
    }
}
