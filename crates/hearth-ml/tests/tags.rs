//! Things and scenes on real pictures (scikit-image's sample images, fetched pinned by
//! `scripts/sample-photos`) with the pinned models (`scripts/models`): each picture earns the
//! words a family would search it by, and tract's answers match onnxruntime's.

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_core::board::MlArithmetic;
use hearth_ml::backend::tract_cpu::TractCpu;
use hearth_ml::image::RgbImage;
use hearth_ml::model_store::ModelStore;
use hearth_ml::tags::Tagger;

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

fn picture(name: &str) -> RgbImage {
    prepared("sample-photos");
    let bytes = std::fs::read(root().join("target/sample-photos").join(name)).expect(name);
    if !name.ends_with(".png") {
        return RgbImage::decode_jpeg(&bytes).expect(name);
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    let px = &buf[..info.buffer_size()];
    let rgb: Vec<u8> = match info.color_type {
        png::ColorType::Rgb => px.to_vec(),
        png::ColorType::Rgba => px.chunks_exact(4).flat_map(|c| [c[0], c[1], c[2]]).collect(),
        png::ColorType::Grayscale => px.iter().flat_map(|&l| [l, l, l]).collect(),
        png::ColorType::GrayscaleAlpha => px.chunks_exact(2).flat_map(|c| [c[0], c[0], c[0]]).collect(),
        other => panic!("{name}: {other:?}"),
    };
    RgbImage::new(info.width, info.height, rgb).expect("rgb")
}

#[test]
fn known_pictures_earn_the_words_a_family_would_search_for() {
    known_pictures(MlArithmetic::F32);
}

/// The same words with the int8 arithmetic a board's profile may choose (`ml.arithmetic`).
#[test]
fn known_pictures_earn_the_same_words_in_int8() {
    known_pictures(MlArithmetic::Int8);
}

fn known_pictures(arithmetic: MlArithmetic) {
    let mut tagger = Tagger::load(&store(), &TractCpu::new(1).with_arithmetic(arithmetic)).expect("the taggers");
    for (name, want, not) in [
        ("chelsea.png", "cat", "dog"),
        ("coffee.png", "coffee", "car"),
        ("motorcycle_left.png", "motorcycle", "cat"),
        ("astronaut.png", "person", "dog"),
        ("horse.png", "horse", "boat"),
    ] {
        let words = tagger.words(&picture(name)).expect(name);
        let got: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
        println!("{name}: {:?}", words.iter().map(|w| format!("{} {:.2}", w.word, w.score)).collect::<Vec<_>>());
        assert!(got.contains(&want), "{name} should earn {want:?}: {got:?}");
        assert!(!got.contains(&not), "{name} should not earn {not:?}: {got:?}");
        assert!(words.iter().all(|w| w.score > 0.0 && w.score <= 1.0), "{name}: {words:?}");
    }
}

#[test]
fn odd_pictures_earn_few_or_no_words_and_never_fail() {
    let mut tagger = Tagger::load(&store(), &TractCpu::new(1)).expect("the taggers");
    // One flat grey pixel, a 1×1000 strip, pure noise: scaled up or down to the models' inputs.
    let noise: Vec<u8> = (0..64u32 * 64 * 3).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    for (what, image) in [
        ("one pixel", RgbImage::new(1, 1, vec![128; 3]).expect("pixel")),
        ("a strip", RgbImage::new(1, 1000, vec![30; 3000]).expect("strip")),
        ("noise", RgbImage::new(64, 64, noise).expect("noise")),
    ] {
        let words = tagger.words(&image).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(words.len() <= 3, "{what}: {words:?}");
    }
}

/// tract's outputs against onnxruntime's (PyPI, in the test venv) on the same input tensors.
#[cfg(target_arch = "x86_64")]
#[test]
fn tract_answers_as_onnxruntime_does() {
    use hearth_ml::ModelId;
    use hearth_ml::backend::Backend;

    let store = store();
    let python = root().join("target/test-venv/bin/python");
    assert!(python.exists(), "the test venv (scripts/test makes it) has no python at {}", python.display());
    let image = picture("chelsea.png");
    let dir = tempfile::tempdir().expect("tempdir");
    for (id, side) in [(ModelId::ObjectDetector, 416usize), (ModelId::ImageClassifier, 224)] {
        // Any input of the right shape will do: the picture's pixels as 0–1 values.
        let resized = image.resized(side as u32, side as u32).expect("resize");
        let mut input = resized.to_tensor(hearth_ml::image::ChannelOrder::Rgb);
        input.data.iter_mut().for_each(|v| *v = *v / 127.5 - 1.0);
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
        assert_eq!(theirs.as_object().map(|o| o.len()), Some(ours.len()), "{id}: the same outputs");
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

/// The taggers' answers recorded on x86 (where the test above checks tract against onnxruntime)
/// come out on every machine the tests run on: `scripts/cross --test` runs this under
/// qemu-aarch64, so the int8 weights unpacked and run by tract's ARM kernels earn the same words
/// with the same scores (within 0.02). `HEARTH_ML_RECORD=1` records them again.
#[test]
fn the_recorded_answers_come_out_on_this_machine() {
    recorded_answers(MlArithmetic::F32, "tags.json", 0.02);
}

/// The same for the int8 arithmetic (`ml.arithmetic`), recorded on x86; the scores within 0.05,
/// since a value crossing a quantization step on one machine and not the other moves a whole
/// step (tests/faces.rs says more).
#[test]
fn the_recorded_int8_answers_come_out_on_this_machine() {
    recorded_answers(MlArithmetic::Int8, "tags-int8.json", 0.05);
}

fn recorded_answers(arithmetic: MlArithmetic, file: &str, tolerance: f64) {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(file);
    let mut tagger = Tagger::load(&store(), &TractCpu::new(1).with_arithmetic(arithmetic)).expect("the taggers");
    let mut got = serde_json::Map::new();
    // One picture: both models run on it (a cat the detector and the classifier both see, and the
    // detector's "person"), and under qemu-aarch64 each picture costs about 45 s.
    let name = "chelsea.png";
    let words: serde_json::Map<String, serde_json::Value> =
        tagger.words(&picture(name)).expect(name).into_iter().map(|w| (w.word, serde_json::json!(w.score))).collect();
    got.insert(name.to_string(), words.into());
    if std::env::var_os("HEARTH_ML_RECORD").is_some() {
        std::fs::write(&golden, serde_json::to_vec_pretty(&got).expect("json")).expect("record");
    }
    let want: serde_json::Value = serde_json::from_slice(&std::fs::read(&golden).expect("golden file")).expect("json");
    for (name, words) in &got {
        let (words, recorded) = (words.as_object().expect("words"), want[name].as_object().expect(name));
        let mut here: Vec<&String> = words.keys().collect();
        let mut there: Vec<&String> = recorded.keys().collect();
        here.sort();
        there.sort();
        assert_eq!(here, there, "{name}: the words differ from the recorded ones");
        for (word, score) in words {
            let (a, b) = (score.as_f64().expect("score"), recorded[word].as_f64().expect("recorded score"));
            println!("{arithmetic:?}: {name}: {word} scored {a:.4} here, {b:.4} recorded");
            assert!((a - b).abs() < tolerance, "{name}: {word} scored {a} here, {b} recorded");
        }
    }
}
