//! The face pipeline on real photos (face_recognition's test images, fetched pinned by
//! `scripts/sample-photos`) with the pinned models (`scripts/models`): every face found where it
//! is, the same person's faces close, different people's apart, and the grouping into people right
//! on the photos multiplied by crops, flips and brightness changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_core::board::MlArithmetic;
use hearth_ml::backend::tract_cpu::TractCpu;
use hearth_ml::faces::align::aligned;
use hearth_ml::faces::detector::{DetectorLimits, FaceDetector};
use hearth_ml::faces::embedder::{Embedding, FaceEmbedder};
use hearth_ml::image::RgbImage;
use hearth_ml::model_store::ModelStore;
use hearth_ml::people::{GroupedFace, GroupingRules, Regrouped, regroup};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn prepared(script: &str) {
    let status = Command::new(root().join("scripts").join(script)).status().expect(script);
    assert!(status.success(), "scripts/{script} failed");
}

fn store() -> ModelStore {
    prepared("models");
    ModelStore::new(root().join("target/models")).expect("store")
}

fn photo(name: &str) -> RgbImage {
    prepared("sample-photos");
    let bytes = std::fs::read(root().join("target/sample-photos/faces").join(name)).expect(name);
    RgbImage::decode_jpeg(&bytes).expect(name)
}

struct Pipeline {
    detector: FaceDetector,
    embedder: FaceEmbedder,
}

impl Pipeline {
    fn new() -> Pipeline {
        Pipeline::computing(MlArithmetic::F32)
    }

    fn computing(arithmetic: MlArithmetic) -> Pipeline {
        let store = store();
        let cpu = TractCpu::new(1).with_arithmetic(arithmetic);
        Pipeline {
            detector: FaceDetector::load(&store, &cpu, DetectorLimits::default()).expect("YuNet"),
            embedder: FaceEmbedder::load(&store, &cpu).expect("SFace"),
        }
    }

    fn faces(&mut self, image: &RgbImage) -> Vec<(hearth_ml::faces::Face, Embedding)> {
        let faces = self.detector.detect(image).expect("detect");
        faces
            .into_iter()
            .map(|f| {
                let e = self.embedder.embed(&aligned(image, &f).expect("align")).expect("embed");
                (f, e)
            })
            .collect()
    }
}

#[test]
fn each_portrait_has_one_face_with_its_landmarks_inside_it() {
    let mut p = Pipeline::new();
    for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
        let image = photo(name);
        let faces = p.faces(&image);
        assert_eq!(faces.len(), 1, "{name}: {faces:?}");
        let f = &faces[0].0;
        assert!(f.score > 0.8, "{name}: {f:?}");
        assert!(f.size() > image.width.min(image.height) as f32 / 8.0, "{name}: a portrait's face is large: {f:?}");
        for [x, y] in f.landmarks {
            assert!(x > f.x && x < f.x + f.width && y > f.y && y < f.y + f.height, "{name}: landmark outside the face: {f:?}");
        }
        // Eyes above the nose, nose above the mouth, the person's right eye on the image's left.
        let [re, le, nose, rm, lm] = f.landmarks;
        assert!(re[0] < le[0] && rm[0] < lm[0], "{name}: {f:?}");
        assert!(re[1].max(le[1]) < nose[1] && nose[1] < rm[1].min(lm[1]), "{name}: {f:?}");
    }
}

#[test]
fn a_photo_without_faces_has_none() {
    let mut p = Pipeline::new();
    prepared("sample-photos");
    for name in ["coffee.png", "rocket.jpg", "chelsea.png"] {
        let path = root().join("target/sample-photos").join(name);
        let Ok(bytes) = std::fs::read(&path) else { panic!("{name} missing") };
        let image = match name.ends_with(".png") {
            true => png_rgb(&bytes),
            false => RgbImage::decode_jpeg(&bytes).expect(name),
        };
        assert!(p.faces(&image).is_empty(), "{name}");
    }
}

fn png_rgb(bytes: &[u8]) -> RgbImage {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    let px = &buf[..info.buffer_size()];
    let rgb: Vec<u8> = match info.color_type {
        png::ColorType::Rgb => px.to_vec(),
        png::ColorType::Rgba => px.chunks_exact(4).flat_map(|c| [c[0], c[1], c[2]]).collect(),
        png::ColorType::Grayscale => px.iter().flat_map(|&l| [l, l, l]).collect(),
        other => panic!("{other:?}"),
    };
    RgbImage::new(info.width, info.height, rgb).expect("rgb")
}

/// The photo changed as a family's photos of one person differ: cropped, mirrored, darker, brighter.
fn variants(image: &RgbImage) -> Vec<RgbImage> {
    let (w, h) = (image.width, image.height);
    let crop = |x0: u32, y0: u32, cw: u32, ch: u32| {
        let mut px = Vec::with_capacity((cw * ch * 3) as usize);
        for y in y0..y0 + ch {
            let start = ((y * w + x0) * 3) as usize;
            px.extend_from_slice(&image.pixels[start..start + (cw * 3) as usize]);
        }
        RgbImage::new(cw, ch, px).expect("crop")
    };
    let mirrored = {
        let mut px = Vec::with_capacity(image.pixels.len());
        for y in 0..h {
            for x in (0..w).rev() {
                let i = ((y * w + x) * 3) as usize;
                px.extend_from_slice(&image.pixels[i..i + 3]);
            }
        }
        RgbImage::new(w, h, px).expect("mirror")
    };
    let lit = |factor: f32| {
        RgbImage::new(w, h, image.pixels.iter().map(|&v| (f32::from(v) * factor).clamp(0.0, 255.0) as u8).collect()).expect("lit")
    };
    vec![
        image.clone(),
        mirrored,
        lit(0.6),
        lit(1.3),
        crop(w / 10, h / 10, w * 8 / 10, h * 8 / 10),
        crop(0, 0, w * 9 / 10, h * 9 / 10),
        image.resized(w / 2, h / 2).expect("half"),
    ]
}

#[test]
fn the_same_persons_faces_group_together_and_apart_from_others() {
    the_same_persons_faces_group_together(MlArithmetic::F32);
}

/// The same with int8 arithmetic: the gap between people survives its rounding.
#[test]
fn the_same_persons_faces_group_together_in_int8_too() {
    the_same_persons_faces_group_together(MlArithmetic::Int8);
}

fn the_same_persons_faces_group_together(arithmetic: MlArithmetic) {
    let mut p = Pipeline::computing(arithmetic);
    let mut faces: Vec<GroupedFace<u32>> = Vec::new();
    let mut truth = Vec::new();
    for (name, who) in [("obama.jpg", 1), ("obama2.jpg", 1), ("obama3.jpg", 1), ("biden.jpg", 2)] {
        for v in variants(&photo(name)) {
            let found = p.faces(&v);
            assert_eq!(found.len(), 1, "{name}: a variant lost or gained a face");
            faces.push(GroupedFace { embedding: found[0].1.clone(), person: None, pinned: false });
            truth.push(who);
        }
    }
    // Distances measured, printed for docs/ml.md.
    let (mut same, mut other) = (Vec::new(), Vec::new());
    for i in 0..faces.len() {
        for j in i + 1..faces.len() {
            let d = faces[i].embedding.distance(&faces[j].embedding);
            if truth[i] == truth[j] { same.push(d) } else { other.push(d) }
        }
    }
    let max_same = same.iter().cloned().fold(0f32, f32::max);
    let min_other = other.iter().cloned().fold(2f32, f32::min);
    println!("{arithmetic:?}: cosine distance: same person max {max_same:.3}, different people min {min_other:.3}");
    assert!(max_same < min_other, "the two people overlap: same up to {max_same}, different from {min_other}");

    let groups = regroup(&faces, GroupingRules::default());
    let group_of = |i: usize| match &groups[i] {
        Regrouped::New(n) => *n,
        other => panic!("face {i}: {other:?}"),
    };
    for i in 0..faces.len() {
        for j in i + 1..faces.len() {
            assert_eq!(group_of(i) == group_of(j), truth[i] == truth[j], "faces {i} and {j}");
        }
    }
}

/// tract's outputs against onnxruntime's (PyPI, in the test venv) on the same input tensors: the
/// largest difference of any output value, relative to that output's largest magnitude.
#[cfg(target_arch = "x86_64")]
#[test]
fn tract_answers_as_onnxruntime_does() {
    use hearth_ml::ModelId;
    use hearth_ml::backend::{Backend, InputTensor};
    use hearth_ml::image::ChannelOrder;

    let store = store();
    let python = root().join("target/test-venv/bin/python");
    assert!(python.exists(), "the test venv (scripts/test makes it) has no python at {}", python.display());
    let image = photo("obama.jpg");
    let (square, _) = image.letterboxed(640).expect("letterbox");
    let mut detector = FaceDetector::load(&store, &TractCpu::new(1), DetectorLimits::default()).expect("YuNet");
    let face = detector.detect(&image).expect("detect").remove(0);
    let inputs: Vec<(ModelId, InputTensor)> = vec![
        (ModelId::FaceDetector, square.to_tensor(ChannelOrder::Bgr)),
        (ModelId::FaceEmbedder, aligned(&image, &face).expect("align").to_tensor(ChannelOrder::Rgb)),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (id, input) in inputs {
        let model = store.read(id).expect("model");
        let ours = TractCpu::new(1).load(&model, input.shape).expect("load").run(&input).expect("run");
        let raw = dir.path().join("input.f32");
        std::fs::write(&raw, input.data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).expect("write");
        let out = dir.path().join("answer.json");
        let shape = input.shape.map(|d| d.to_string()).join(",");
        let status = Command::new(&python)
            .arg(root().join("crates/hearth-ml/tests/onnxruntime_reference.py"))
            .args([model.path.as_os_str(), raw.as_os_str(), shape.as_ref(), out.as_os_str()])
            .status()
            .expect("python");
        assert!(status.success(), "onnxruntime failed on {id}");
        let theirs: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).expect("answer")).expect("json");
        for o in &ours {
            let reference: Vec<f32> =
                theirs[&o.name]["data"].as_array().expect(&o.name).iter().map(|v| v.as_f64().expect("number") as f32).collect();
            assert_eq!(reference.len(), o.data.len(), "{id} {}", o.name);
            let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
            let worst = o.data.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max) / scale;
            println!("{id} {}: largest difference {:.2e} of the output's range", o.name, worst);
            assert!(worst < 1e-3, "{id} {}: tract and onnxruntime differ by {worst} of the output's range", o.name);
        }
    }
}

/// The answers recorded on x86 (checked there against onnxruntime) come out on every machine the
/// tests run on, aarch64 under qemu-aarch64 among them (`scripts/cross --test`). Record again
/// with `HEARTH_ML_RECORD=1` after a deliberate change.
#[test]
fn the_recorded_answers_come_out_on_this_machine() {
    recorded_answers(MlArithmetic::F32, "obama.json", 1.0, 0.999);
}

/// The same for the int8 arithmetic a board's profile may choose (`ml.arithmetic`), recorded on
/// x86 and checked under qemu-aarch64. The integer sums are exact, but the f32 steps between
/// them (the depthwise convolutions, activations) round a little differently on each machine, and
/// a value that lands on the other side of a quantization step moves by a whole step: the
/// tolerance is the int8 arithmetic's own error against f32 (measured by
/// `int8_arithmetic_finds_the_same_faces_as_f32`), not f32's. The embedding moves the most: it is
/// computed on the face as aligned by landmarks that moved too. Measured under qemu-aarch64:
/// points within 1.4 px, cosine 0.990 (same-person faces are 0.34 apart at most).
#[test]
fn the_recorded_int8_answers_come_out_on_this_machine() {
    recorded_answers(MlArithmetic::Int8, "obama-int8.json", 3.0, 0.98);
}

fn recorded_answers(arithmetic: MlArithmetic, file: &str, pixels: f32, min_cosine: f32) {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file);
    let mut p = Pipeline::computing(arithmetic);
    let found = p.faces(&photo("obama.jpg"));
    assert_eq!(found.len(), 1);
    let (face, embedding) = &found[0];
    let got = serde_json::json!({
        "box": [face.x, face.y, face.width, face.height],
        "landmarks": face.landmarks,
        "embedding": embedding.0.to_vec(),
    });
    if std::env::var_os("HEARTH_ML_RECORD").is_some() {
        std::fs::create_dir_all(golden.parent().expect("dir")).expect("mkdir");
        std::fs::write(&golden, serde_json::to_vec_pretty(&got).expect("json")).expect("record");
    }
    let want: serde_json::Value = serde_json::from_slice(&std::fs::read(&golden).expect("golden file")).expect("json");
    fn numbers(v: &serde_json::Value) -> Vec<f32> {
        match v {
            serde_json::Value::Array(a) => a.iter().flat_map(numbers).collect(),
            n => vec![n.as_f64().expect("number") as f32],
        }
    }
    let mut worst = 0f32;
    for key in ["box", "landmarks"] {
        for (a, b) in numbers(&got[key]).iter().zip(numbers(&want[key])) {
            worst = worst.max((a - b).abs());
        }
    }
    let recorded = Embedding::normalised(&numbers(&want["embedding"])).expect("recorded embedding");
    let cosine = embedding.cosine(&recorded);
    println!("{arithmetic:?} against {file}: points within {worst:.2} px, embedding cosine {cosine:.5}");
    assert!(worst < pixels, "a point moved {worst} px from the recorded one");
    assert!(cosine > min_cosine, "the embedding differs from the recorded one: cosine {cosine}");
}

/// int8 arithmetic against f32 on the same photos (x86 only: the f32 answers are checked against
/// onnxruntime here): the same faces in the same places, embeddings that point the same way, and
/// the grouping of the varied photos still right. Printed for docs/ml.md.
#[cfg(target_arch = "x86_64")]
#[test]
fn int8_arithmetic_finds_the_same_faces_as_f32() {
    let (mut f32s, mut int8s) = (Pipeline::new(), Pipeline::computing(MlArithmetic::Int8));
    let (mut worst_corner, mut worst_cosine) = (0f32, 1f32);
    for name in ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"] {
        let image = photo(name);
        let (a, b) = (f32s.faces(&image), int8s.faces(&image));
        assert_eq!(a.len(), b.len(), "{name}: int8 found {} faces, f32 {}", b.len(), a.len());
        for ((fa, ea), (fb, eb)) in a.iter().zip(&b) {
            for (x, y) in [(fa.x, fb.x), (fa.y, fb.y), (fa.x + fa.width, fb.x + fb.width), (fa.y + fa.height, fb.y + fb.height)] {
                worst_corner = worst_corner.max((x - y).abs());
            }
            worst_cosine = worst_cosine.min(ea.cosine(eb));
        }
    }
    println!("int8 against f32: box corners within {worst_corner:.1} px, embeddings' cosine at least {worst_cosine:.4}");
    assert!(worst_corner < 4.0, "a face's box moved {worst_corner} px");
    assert!(worst_cosine > 0.98, "an embedding turned: cosine {worst_cosine}");
}
