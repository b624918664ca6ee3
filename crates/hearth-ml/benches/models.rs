//! The ML benchmark (`scripts/bench-ml`), in one run on one machine: per model, tract's time per
//! image on one thread and on every core against onnxruntime's (PyPI, the same model file, the
//! same threads), and the ratio; tract in int8 against tract in f32 (a board profile's
//! `ml.arithmetic`); then the whole pipeline per photo on every core (faces: detect,
//! align, embed; tags: both taggers and the vocabulary), photos per hour, and the peak RSS of each
//! task's models as the `ml` worker holds them (one task at a time; measured in a child process
//! each, since a process's peak never goes down).
//! Medians of 20 runs after 3 warm-up runs, in three rounds taking turns between tract and
//! onnxruntime. Absolute times drift on shared machines; the ratios are what to compare.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use hearth_core::board::MlArithmetic;
use hearth_ml::ModelId;
use hearth_ml::backend::tract_cpu::TractCpu;
use hearth_ml::backend::{Backend, InputTensor};
use hearth_ml::face_jobs::{FaceModels, analyse};
use hearth_ml::faces::align::aligned;
use hearth_ml::faces::detector::{DetectorLimits, FaceDetector, INPUT_SIDE};
use hearth_ml::faces::embedder::FaceEmbedder;
use hearth_ml::image::{ChannelOrder, RgbImage};
use hearth_ml::model_store::ModelStore;
use hearth_ml::tags::Tagger;

const WARMUP: usize = 3;
const RUNS: usize = 20;
/// Rounds of tract then onnxruntime per model and thread count.
const ROUNDS: usize = 3;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_ms(mut f: impl FnMut()) -> f64 {
    for _ in 0..WARMUP {
        f();
    }
    median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
}

/// Two timings compared in rounds taking turns.
struct Turns {
    /// The median ms of the first.
    a: f64,
    /// The median ms of the second.
    b: f64,
    /// The median of the rounds' `a / b`, and its range `(low, high)`.
    ratio: f64,
    range: (f64, f64),
}

/// Rounds taking turns between `a` and `b` (each giving its ms), so that a machine slowing down
/// or speeding up for a while (shared hosts do) falls on both; each round's ratio, and the median
/// of them.
fn turns(mut a: impl FnMut() -> f64, mut b: impl FnMut() -> f64) -> Turns {
    let (mut first, mut second, mut ratios) = (vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        let (x, y) = (a(), b());
        first.push(x);
        second.push(y);
        ratios.push(x / y);
    }
    let range = ratios.iter().fold((f64::MAX, 0f64), |(l, h), &r| (l.min(r), h.max(r)));
    Turns { a: median(first), b: median(second), ratio: median(ratios), range }
}

impl Turns {
    /// A table row: `first ms | second ms | ratio (range)`.
    fn row(&self, label: &str, threads: usize, first: f64, second: f64) -> String {
        let (low, high) = self.range;
        format!("| {label} | {threads} | {first:.1} | {second:.1} | {:.2} ({low:.2}–{high:.2}) |", self.ratio)
    }
}

fn onnxruntime_ms(model: &Path, input: &InputTensor, threads: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("input.f32");
    std::fs::write(&raw, input.data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).expect("write");
    let out = Command::new(root().join("target/test-venv/bin/python"))
        .arg(root().join("crates/hearth-ml/benches/onnxruntime_bench.py"))
        .arg(model)
        .arg(&raw)
        .arg(input.shape.map(|d| d.to_string()).join(","))
        .args([threads.to_string(), WARMUP.to_string(), RUNS.to_string()])
        .output()
        .expect("python (scripts/test makes target/test-venv with onnxruntime)");
    assert!(out.status.success(), "onnxruntime: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("ms")
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn photo(name: &str) -> RgbImage {
    RgbImage::decode_jpeg(&std::fs::read(root().join("target/sample-photos/faces").join(name)).expect(name)).expect(name)
}

fn png_rgb(name: &str) -> RgbImage {
    let bytes = std::fs::read(root().join("target/sample-photos").join(name)).expect(name);
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    let px = &buf[..info.buffer_size()];
    let rgb: Vec<u8> = match info.color_type {
        png::ColorType::Rgb => px.to_vec(),
        png::ColorType::Rgba => px.chunks_exact(4).flat_map(|c| [c[0], c[1], c[2]]).collect(),
        other => panic!("{name}: {other:?}"),
    };
    RgbImage::new(info.width, info.height, rgb).expect("rgb")
}

/// In a child process (`models.rs --rss faces|tags`): load one task's models, run them on a
/// photo, print the peak RSS in MiB.
fn rss_child(task: &str) {
    let store = ModelStore::new(root().join("target/models")).expect("store");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = TractCpu::new(cores);
    let image = photo("obama.jpg");
    match task {
        "faces" => {
            let mut models = FaceModels {
                detector: FaceDetector::load(&store, &cpu, DetectorLimits::default()).expect("YuNet"),
                embedder: FaceEmbedder::load(&store, &cpu).expect("SFace"),
            };
            analyse(&mut models, &image).expect("analyse");
        }
        _ => {
            let mut tagger = Tagger::load(&store, &cpu).expect("taggers");
            tagger.words(&image).expect("words");
        }
    }
    println!("{:.0}", peak_rss_mib());
}

fn child_rss(task: &str) -> String {
    let out = Command::new(std::env::current_exe().expect("exe")).args(["--rss", task]).output().expect("child");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss") {
        rss_child(args.get(i + 1).map_or("faces", String::as_str));
        return;
    }
    for script in ["models", "sample-photos"] {
        assert!(Command::new(root().join("scripts").join(script)).status().expect(script).success(), "scripts/{script}");
    }
    let store = ModelStore::new(root().join("target/models")).expect("store");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let image = photo("obama.jpg");
    let (square, _) = image.letterboxed(INPUT_SIDE).expect("letterbox");
    let mut detector = FaceDetector::load(&store, &TractCpu::new(1), DetectorLimits::default()).expect("YuNet");
    let face = detector.detect(&image).expect("detect").remove(0);
    let cat = png_rgb("chelsea.png");
    let inputs = [
        (ModelId::FaceDetector, "YuNet 2023mar 640×640", square.to_tensor(ChannelOrder::Bgr)),
        (ModelId::FaceEmbedder, "SFace 2021dec 112×112", aligned(&image, &face).expect("align").to_tensor(ChannelOrder::Rgb)),
        (ModelId::ObjectDetector, "NanoDet-g 416×416", cat.resized(416, 416).expect("resize").to_tensor(ChannelOrder::Bgr)),
        (ModelId::ImageClassifier, "MobileNetV2 224×224", cat.resized(224, 224).expect("resize").to_tensor(ChannelOrder::Rgb)),
    ];
    println!(
        "hearth-ml models: median ms per image ({RUNS} runs after {WARMUP}; the median of {ROUNDS} rounds taking turns), tract 0.23 against onnxruntime 1.32, {cores} cores"
    );
    println!("| model | threads | tract ms | onnxruntime ms | tract / onnxruntime (the rounds' range) |");
    println!("|---|---|---|---|---|");
    for (id, label, input) in &inputs {
        let model = store.read(*id).expect("model");
        for threads in [1, cores] {
            let mut session = TractCpu::new(threads).load(&model, input.shape).expect("load");
            let tract = || {
                time_ms(|| {
                    session.run(input).expect("run");
                })
            };
            let t = turns(tract, || onnxruntime_ms(&model.path, input, threads));
            println!("{}", t.row(label, threads, t.a, t.b));
        }
    }
    // The board profile's choice (`ml.arithmetic`): tract in int8 against tract in f32, the same
    // way (docs/ml.md, "Arithmetic").
    println!();
    println!("| model | threads | tract f32 ms | tract int8 ms | int8 / f32 (the rounds' range) |");
    println!("|---|---|---|---|---|");
    for (id, label, input) in &inputs {
        let model = store.read(*id).expect("model");
        for threads in [1, cores] {
            let mut f32s = TractCpu::new(threads).load(&model, input.shape).expect("load");
            let mut int8s = TractCpu::new(threads).with_arithmetic(MlArithmetic::Int8).load(&model, input.shape).expect("load int8");
            let int8 = || {
                time_ms(|| {
                    int8s.run(input).expect("run int8");
                })
            };
            let f32 = || {
                time_ms(|| {
                    f32s.run(input).expect("run");
                })
            };
            // The ratio is int8 / f32; the row reads f32 first.
            let t = turns(int8, f32);
            println!("{}", t.row(label, threads, t.b, t.a));
        }
    }
    let cpu = TractCpu::new(cores);
    let mut models = FaceModels {
        detector: FaceDetector::load(&store, &cpu, DetectorLimits::default()).expect("YuNet"),
        embedder: FaceEmbedder::load(&store, &cpu).expect("SFace"),
    };
    let mut tagger = Tagger::load(&store, &cpu).expect("taggers");
    let photos: Vec<RgbImage> = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"].iter().map(|n| photo(n)).collect();
    let faces_ms = time_ms(|| {
        for p in &photos {
            analyse(&mut models, p).expect("analyse");
        }
    }) / photos.len() as f64;
    let tags_ms = time_ms(|| {
        for p in &photos {
            tagger.words(p).expect("words");
        }
    }) / photos.len() as f64;
    let whole = faces_ms + tags_ms;
    println!();
    println!("| pipeline per photo (decode excluded), {cores} threads | value |");
    println!("|---|---|");
    println!("| faces: detect + align + embed every face, ms | {faces_ms:.1} |");
    println!("| tags: NanoDet + MobileNetV2 + vocabulary, ms | {tags_ms:.1} |");
    println!("| whole pipeline, ms (target ≤ 300) | {whole:.1} |");
    println!("| photos per hour | {:.0} |", 3_600_000.0 / whole);
    println!("| peak RSS, faces models loaded and run (a child process), MiB | {} |", child_rss("faces"));
    println!("| peak RSS, tag models loaded and run (a child process), MiB (target ≤ 400) | {} |", child_rss("tags"));
}
