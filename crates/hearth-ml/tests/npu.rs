//! The NPU backend through the dlopen path, end to end, with a stand-in for Rockchip's runtime
//! that this test builds (tests/rknn_standin/librknnrt.c: RKNPU2's functions and struct layouts,
//! returning tensors the test predicts). On a real RK3588 the same code loads the vendor's
//! library; here it proves the binding, the layouts and the fallback to the CPU with its reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_ml::MlError;
use hearth_ml::backend::rknn_npu::{NpuFirst, RknnNpu};
use hearth_ml::backend::tract_cpu::TractCpu;
use hearth_ml::backend::{Backend, InputTensor};
use hearth_ml::manifest::ModelId;
use hearth_ml::model_store::VerifiedModel;

/// Builds the stand-in runtime into `dir`.
fn standin(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rknn_standin/librknnrt.c");
    let library = dir.join("librknnrt.so");
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o"])
        .arg(&library)
        .arg(&source)
        .output()
        .expect("cc (the C compiler Rust links with)");
    assert!(out.status.success(), "building the stand-in runtime: {}", String::from_utf8_lossy(&out.stderr));
    library
}

/// A model whose ONNX file is the tiny colour model's image half (32×32, so tract can run it)
/// and whose converted form is `rknn` (absent when `None`).
fn model(dir: &Path, name: &str, rknn: Option<&str>) -> VerifiedModel {
    let files = hearth_ml::embedding::tiny_model::write(dir).expect("tiny model");
    let onnx = dir.join(format!("{name}.onnx"));
    std::fs::copy(&files.image_model, &onnx).expect("copy");
    if let Some(text) = rknn {
        std::fs::write(dir.join(format!("{name}.rknn")), text).expect("rknn");
    }
    VerifiedModel { id: ModelId::FaceDetector, bytes: std::fs::read(&onnx).expect("read"), path: onnx }
}

#[test]
fn a_converted_model_runs_through_the_runtime_and_the_rest_on_the_cpu_with_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let library = standin(dir.path());
    let npu = NpuFirst::new(RknnNpu::open(&library).expect("the stand-in runtime"), TractCpu::new(1));
    let input = InputTensor { shape: [1, 3, 32, 32], data: vec![2.0; 3 * 32 * 32] };

    // Converted: the runtime's tensors, with the model's output names and shapes.
    let converted = model(dir.path(), "converted", Some("HEARTH-STANDIN-RKNN\ninput 1 3 32 32\noutput scores 1 2\noutput boxes 1 3\n"));
    let outputs = npu.load(&converted, [1, 3, 32, 32]).expect("load").run(&input).expect("run");
    assert_eq!(outputs.len(), 2);
    assert_eq!(
        (outputs[0].name.as_str(), outputs[0].shape.as_slice(), outputs[0].data.as_slice()),
        ("scores", &[1, 2][..], &[2.0, 3.0][..])
    );
    assert_eq!(
        (outputs[1].name.as_str(), outputs[1].shape.as_slice(), outputs[1].data.as_slice()),
        ("boxes", &[1, 3][..], &[4.0, 5.0, 6.0][..])
    );
    assert!(npu.on_cpu().is_empty(), "{:?}", npu.on_cpu());

    // Not converted: tract runs it (the colour model's three means), and the reason is kept.
    let plain = model(dir.path(), "plain", None);
    let outputs = npu.load(&plain, [1, 3, 32, 32]).expect("on the CPU").run(&input).expect("run");
    assert_eq!(outputs[0].data, [2.0, 2.0, 2.0]);
    let why = npu.on_cpu().remove(&ModelId::FaceDetector).expect("a reason");
    assert!(why.contains("no converted model") && why.contains("plain.rknn"), "{why}");

    // A converted file the runtime refuses, or one made for another input size.
    let npu_only = RknnNpu::open(&library).expect("runtime");
    let broken = model(dir.path(), "broken", Some("not a model"));
    let err = npu_only.load(&broken, [1, 3, 32, 32]).err().expect("refused");
    assert!(matches!(&err, MlError::NpuUnavailable(why) if why.contains("rknn_init failed with code -6")), "{err}");
    let other = model(dir.path(), "other", Some("HEARTH-STANDIN-RKNN\ninput 1 3 64 64\noutput scores 1 2\n"));
    let err = npu_only.load(&other, [1, 3, 32, 32]).err().expect("another size");
    assert!(err.to_string().contains("[1, 3, 64, 64]"), "{err}");
    // And the CPU loads it after all, still saying why.
    assert!(npu.load(&broken, [1, 3, 32, 32]).is_ok());
    assert!(npu.on_cpu()[&ModelId::FaceDetector].contains("code -6"));
    // Text models are the CPU's.
    assert!(npu_only.load_text(&broken, 16).is_err());
}

#[test]
fn no_runtime_is_a_reason_not_a_crash() {
    let err = RknnNpu::open(Path::new("/nonexistent/librknnrt.so")).expect_err("missing");
    assert!(matches!(&err, MlError::NpuUnavailable(why) if why.contains("/nonexistent/librknnrt.so")), "{err}");
}
