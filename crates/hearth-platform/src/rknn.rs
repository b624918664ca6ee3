//! Rockchip's NPU runtime (`librknnrt.so`, RKNPU2's C API), loaded at run time: the library is
//! the board vendor's, not ours, so it is looked for where the image or the family puts it and a
//! box without it runs its models on the CPU (the caller says why, docs/ml.md). Only the handful
//! of calls one synchronous inference needs are bound: `rknn_init`, `rknn_query` (input/output
//! counts and attributes), `rknn_inputs_set`, `rknn_run`, `rknn_outputs_get`,
//! `rknn_outputs_release`, `rknn_destroy`.
//!
//! The layouts below are RKNPU2's `rknn_api.h` on 64-bit Linux (`rknn_context` is a `uint64_t`
//! there; C enums are `int`). A library whose symbols are missing is refused by name at open.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::Path;
use std::sync::Arc;

/// Where the image (and Rockchip's board support packages) put the runtime.
pub const DEFAULT_LIBRARY: &str = "/usr/lib/librknnrt.so";

const MAX_DIMS: usize = 16;
const MAX_NAME_LEN: usize = 256;
const QUERY_IN_OUT_NUM: c_int = 0;
const QUERY_INPUT_ATTR: c_int = 1;
const QUERY_OUTPUT_ATTR: c_int = 2;
const TENSOR_FLOAT32: c_int = 0;
const TENSOR_NCHW: c_int = 0;
const TENSOR_NHWC: c_int = 1;
/// The most inputs or outputs a model may declare (ours have one input, at most a dozen outputs).
const MAX_TENSORS: u32 = 64;

/// Why the runtime or a model cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RknnError {
    /// The library is not there, or not a library for this machine.
    #[error("the NPU runtime {path} cannot be loaded: {reason}")]
    Library {
        /// The library file.
        path: String,
        /// dlopen's or dlsym's words.
        reason: String,
    },
    /// A call returned an error code.
    #[error("{call} failed with code {code}")]
    Call {
        /// Which function.
        call: &'static str,
        /// Its return value (RKNN_ERR_…).
        code: i32,
    },
    /// The model or the call's input is not what this binding handles.
    #[error("{0}")]
    Unsupported(String),
}

type Context = u64;
type InitFn = unsafe extern "C" fn(*mut Context, *mut c_void, u32, u32, *mut c_void) -> c_int;
type DestroyFn = unsafe extern "C" fn(Context) -> c_int;
type QueryFn = unsafe extern "C" fn(Context, c_int, *mut c_void, u32) -> c_int;
type InputsSetFn = unsafe extern "C" fn(Context, u32, *mut RawInput) -> c_int;
type RunFn = unsafe extern "C" fn(Context, *mut c_void) -> c_int;
type OutputsGetFn = unsafe extern "C" fn(Context, u32, *mut RawOutput, *mut c_void) -> c_int;
type OutputsReleaseFn = unsafe extern "C" fn(Context, u32, *mut RawOutput) -> c_int;

#[repr(C)]
#[derive(Default)]
struct InOutNum {
    n_input: u32,
    n_output: u32,
}

#[repr(C)]
struct RawTensorAttr {
    index: u32,
    n_dims: u32,
    dims: [u32; MAX_DIMS],
    name: [c_char; MAX_NAME_LEN],
    n_elems: u32,
    size: u32,
    fmt: c_int,
    kind: c_int,
    qnt_type: c_int,
    fl: i8,
    zp: i32,
    scale: f32,
    w_stride: u32,
    size_with_stride: u32,
    pass_through: u8,
    h_stride: u32,
}

#[repr(C)]
struct RawInput {
    index: u32,
    buf: *mut c_void,
    size: u32,
    pass_through: u8,
    kind: c_int,
    fmt: c_int,
}

#[repr(C)]
struct RawOutput {
    want_float: u8,
    is_prealloc: u8,
    index: u32,
    buf: *mut c_void,
    size: u32,
}

/// The loaded runtime.
pub struct RknnLibrary {
    handle: *mut c_void,
    init: InitFn,
    destroy: DestroyFn,
    query: QueryFn,
    inputs_set: InputsSetFn,
    run: RunFn,
    outputs_get: OutputsGetFn,
    outputs_release: OutputsReleaseFn,
}

// SAFETY: the handle and the function pointers are plain addresses that stay valid until
// `dlclose` in Drop; RKNPU2's functions may be called from any thread (one context is used by one
// thread at a time, which `RknnModel`'s `&mut self` methods ensure).
#[allow(unsafe_code)]
unsafe impl Send for RknnLibrary {}
// SAFETY: as above; the library itself holds no state this type mutates.
#[allow(unsafe_code)]
unsafe impl Sync for RknnLibrary {}

impl std::fmt::Debug for RknnLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RknnLibrary")
    }
}

fn dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated string owned by libc, valid until the next
    // dl* call on this thread; it is copied at once.
    #[allow(unsafe_code)]
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        return "unknown error".into();
    }
    // SAFETY: non-null and NUL-terminated, per dlerror's contract.
    #[allow(unsafe_code)]
    unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
}

impl RknnLibrary {
    /// Loads the runtime at `path` and finds every function this binding calls.
    pub fn open(path: &Path) -> Result<Arc<RknnLibrary>, RknnError> {
        let shown = path.display().to_string();
        let library = |reason: String| RknnError::Library { path: shown.clone(), reason };
        let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| library("the path has a NUL byte".into()))?;
        // SAFETY: dlopen with a valid NUL-terminated path; the library's constructors run, which
        // is what loading a vendor's runtime means. RTLD_LOCAL keeps its symbols to itself.
        #[allow(unsafe_code)]
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(library(dl_error()));
        }
        let symbol = |name: &str| -> Result<*mut c_void, RknnError> {
            let c_name = CString::new(name).map_err(|_| library(format!("{name}: a NUL byte")))?;
            // SAFETY: handle is a live dlopen handle; the name is NUL-terminated.
            #[allow(unsafe_code)]
            let address = unsafe { libc::dlsym(handle, c_name.as_ptr()) };
            if address.is_null() { Err(library(format!("it has no {name}"))) } else { Ok(address) }
        };
        let found = (|| {
            Ok::<_, RknnError>((
                symbol("rknn_init")?,
                symbol("rknn_destroy")?,
                symbol("rknn_query")?,
                symbol("rknn_inputs_set")?,
                symbol("rknn_run")?,
                symbol("rknn_outputs_get")?,
                symbol("rknn_outputs_release")?,
            ))
        })();
        let (init, destroy, query, inputs_set, run, outputs_get, outputs_release) = match found {
            Ok(f) => f,
            Err(e) => {
                // SAFETY: the handle came from dlopen above and nothing from it is kept.
                #[allow(unsafe_code)]
                unsafe {
                    libc::dlclose(handle);
                }
                return Err(e);
            }
        };
        // SAFETY: each address is the named function of RKNPU2's C API, whose signature is the
        // type it is cast to (rknn_api.h); a data pointer and a function pointer have the same
        // size and representation on the platforms Hearth runs on.
        #[allow(unsafe_code)]
        let library = unsafe {
            RknnLibrary {
                handle,
                init: std::mem::transmute::<*mut c_void, InitFn>(init),
                destroy: std::mem::transmute::<*mut c_void, DestroyFn>(destroy),
                query: std::mem::transmute::<*mut c_void, QueryFn>(query),
                inputs_set: std::mem::transmute::<*mut c_void, InputsSetFn>(inputs_set),
                run: std::mem::transmute::<*mut c_void, RunFn>(run),
                outputs_get: std::mem::transmute::<*mut c_void, OutputsGetFn>(outputs_get),
                outputs_release: std::mem::transmute::<*mut c_void, OutputsReleaseFn>(outputs_release),
            }
        };
        Ok(Arc::new(library))
    }
}

impl Drop for RknnLibrary {
    fn drop(&mut self) {
        // SAFETY: every RknnModel holds an Arc of this library, so no context is alive any more.
        #[allow(unsafe_code)]
        unsafe {
            libc::dlclose(self.handle);
        }
    }
}

/// The memory order of a tensor the runtime reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Channels first.
    Nchw,
    /// Channels last.
    Nhwc,
    /// Another of the runtime's layouts (its number).
    Other(i32),
}

/// What the runtime says of one input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Its name in the model.
    pub name: String,
    /// Its dimensions.
    pub dims: Vec<u32>,
    /// Its element count.
    pub elements: u32,
    /// Its memory order.
    pub layout: Layout,
}

/// A converted model (`.rknn`) loaded into the runtime: one context.
pub struct RknnModel {
    library: Arc<RknnLibrary>,
    context: Context,
    /// The model's bytes, kept for the context's life (rknn_init takes a mutable pointer).
    _model: Vec<u8>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
}

impl std::fmt::Debug for RknnModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RknnModel").field("inputs", &self.inputs).field("outputs", &self.outputs).finish()
    }
}

fn check(call: &'static str, code: c_int) -> Result<(), RknnError> {
    if code == 0 { Ok(()) } else { Err(RknnError::Call { call, code }) }
}

impl RknnModel {
    /// Loads a converted model's bytes and reads its inputs and outputs.
    pub fn load(library: &Arc<RknnLibrary>, model: Vec<u8>) -> Result<RknnModel, RknnError> {
        let mut model = model;
        let size = u32::try_from(model.len()).map_err(|_| RknnError::Unsupported("the model is larger than 4 GiB".into()))?;
        let mut context: Context = 0;
        // SAFETY: context points to a live u64; model points to `size` readable bytes that stay
        // alive (moved into the returned value) for the context's life; no extension struct.
        #[allow(unsafe_code)]
        let code = unsafe { (library.init)(&mut context, model.as_mut_ptr().cast(), size, 0, std::ptr::null_mut()) };
        check("rknn_init", code)?;
        let mut loaded = RknnModel { library: library.clone(), context, _model: model, inputs: Vec::new(), outputs: Vec::new() };
        let mut counts = InOutNum::default();
        loaded.query(QUERY_IN_OUT_NUM, &mut counts)?;
        if counts.n_input > MAX_TENSORS || counts.n_output > MAX_TENSORS {
            return Err(RknnError::Unsupported(format!("{} inputs and {} outputs", counts.n_input, counts.n_output)));
        }
        loaded.inputs = (0..counts.n_input).map(|i| loaded.attr(QUERY_INPUT_ATTR, i)).collect::<Result<_, _>>()?;
        loaded.outputs = (0..counts.n_output).map(|i| loaded.attr(QUERY_OUTPUT_ATTR, i)).collect::<Result<_, _>>()?;
        Ok(loaded)
    }

    fn query<T>(&self, command: c_int, info: &mut T) -> Result<(), RknnError> {
        let size = u32::try_from(std::mem::size_of::<T>()).unwrap_or(u32::MAX);
        // SAFETY: info points to a live, writable value of exactly `size` bytes whose layout is
        // the one the command fills (InOutNum for IN_OUT_NUM, RawTensorAttr for the attributes).
        #[allow(unsafe_code)]
        let code = unsafe { (self.library.query)(self.context, command, (info as *mut T).cast(), size) };
        check("rknn_query", code)
    }

    fn attr(&self, command: c_int, index: u32) -> Result<TensorInfo, RknnError> {
        // SAFETY: RawTensorAttr is plain old data (integers, floats, a char array): all zeros is
        // a valid value of it.
        #[allow(unsafe_code)]
        let mut raw: RawTensorAttr = unsafe { std::mem::zeroed() };
        raw.index = index;
        self.query(command, &mut raw)?;
        let n = (raw.n_dims as usize).min(MAX_DIMS);
        let name_bytes: Vec<u8> = raw.name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        Ok(TensorInfo {
            name: String::from_utf8_lossy(&name_bytes).into_owned(),
            dims: raw.dims[..n].to_vec(),
            elements: raw.n_elems,
            layout: match raw.fmt {
                TENSOR_NCHW => Layout::Nchw,
                TENSOR_NHWC => Layout::Nhwc,
                other => Layout::Other(other),
            },
        })
    }

    /// The model's inputs.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The model's outputs.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Runs the model on one f32 input in `layout` order (the runtime converts it to what the
    /// model takes); each output comes back as f32, in the model's order.
    pub fn run_f32(&mut self, input: &[f32], layout: Layout) -> Result<Vec<Vec<f32>>, RknnError> {
        if self.inputs.len() != 1 {
            return Err(RknnError::Unsupported(format!("the model takes {} inputs, not one", self.inputs.len())));
        }
        let fmt = match layout {
            Layout::Nchw => TENSOR_NCHW,
            Layout::Nhwc => TENSOR_NHWC,
            Layout::Other(_) => return Err(RknnError::Unsupported("inputs are given as NCHW or NHWC".into())),
        };
        let bytes =
            u32::try_from(std::mem::size_of_val(input)).map_err(|_| RknnError::Unsupported("the input is larger than 4 GiB".into()))?;
        let mut data = input.to_vec();
        let mut raw = RawInput { index: 0, buf: data.as_mut_ptr().cast(), size: bytes, pass_through: 0, kind: TENSOR_FLOAT32, fmt };
        // SAFETY: one input struct whose buffer holds `bytes` readable bytes, alive during the call.
        #[allow(unsafe_code)]
        let code = unsafe { (self.library.inputs_set)(self.context, 1, &mut raw) };
        check("rknn_inputs_set", code)?;
        // SAFETY: a live context with its inputs set; no extension struct.
        #[allow(unsafe_code)]
        let code = unsafe { (self.library.run)(self.context, std::ptr::null_mut()) };
        check("rknn_run", code)?;
        let count = self.outputs.len();
        let mut raw: Vec<RawOutput> =
            (0..count).map(|i| RawOutput { want_float: 1, is_prealloc: 0, index: i as u32, buf: std::ptr::null_mut(), size: 0 }).collect();
        // SAFETY: `count` output structs, which the runtime fills with buffers it owns until
        // rknn_outputs_release below.
        #[allow(unsafe_code)]
        let code = unsafe { (self.library.outputs_get)(self.context, count as u32, raw.as_mut_ptr(), std::ptr::null_mut()) };
        check("rknn_outputs_get", code)?;
        let mut out = Vec::with_capacity(count);
        let mut problem = None;
        for (o, info) in raw.iter().zip(&self.outputs) {
            let floats = o.size as usize / std::mem::size_of::<f32>();
            if o.buf.is_null() || floats != info.elements as usize {
                problem = Some(RknnError::Unsupported(format!(
                    "output {} came back with {} bytes, not {} floats",
                    info.name, o.size, info.elements
                )));
                break;
            }
            // SAFETY: the runtime's buffer holds `o.size` bytes of f32 (want_float) and stays
            // valid until rknn_outputs_release; it is copied byte-wise before that, so its
            // alignment does not matter.
            #[allow(unsafe_code)]
            let bytes = unsafe { std::slice::from_raw_parts(o.buf.cast::<u8>(), floats * 4) };
            out.push(bytes.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect());
        }
        // SAFETY: releases exactly the outputs rknn_outputs_get filled.
        #[allow(unsafe_code)]
        let code = unsafe { (self.library.outputs_release)(self.context, count as u32, raw.as_mut_ptr()) };
        if let Some(e) = problem {
            return Err(e);
        }
        check("rknn_outputs_release", code)?;
        Ok(out)
    }
}

impl Drop for RknnModel {
    fn drop(&mut self) {
        // SAFETY: the context came from rknn_init and is destroyed once, here.
        #[allow(unsafe_code)]
        let _ = unsafe { (self.library.destroy)(self.context) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_wrong_library_is_refused_with_the_reason() {
        let err = RknnLibrary::open(Path::new("/nonexistent/librknnrt.so")).expect_err("missing");
        assert!(matches!(&err, RknnError::Library { reason, .. } if reason.contains("No such file")), "{err}");
        // A real library without RKNPU2's functions: refused, naming the first one missing.
        let libc_path = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib/libc.so.6"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        if let Some(libc_path) = libc_path {
            let err = RknnLibrary::open(Path::new(libc_path)).expect_err("not the runtime");
            assert!(err.to_string().contains("rknn_init"), "{err}");
        }
    }

    #[test]
    fn the_layouts_are_rknn_apis() {
        // rknn_api.h on 64-bit Linux: the sizes the runtime copies into these structs.
        assert_eq!(std::mem::size_of::<RawTensorAttr>(), 376);
        assert_eq!(std::mem::size_of::<RawInput>(), 32);
        assert_eq!(std::mem::size_of::<RawOutput>(), 24);
    }
}
