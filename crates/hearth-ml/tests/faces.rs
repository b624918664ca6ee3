//! The face pipeline on real photos (face_recognition's test images, fetched pinned by
//! `scripts/sample-photos`) with the pinned models (`scripts/models`): every face found where it
//! is, the same person's faces close, different people's apart, and the grouping into people right
//! on the photos multiplied by crops, flips and brightness changes.

use std::path::{Path, PathBuf};
use std::process::Command;

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
        let store = store();
        let cpu = TractCpu::new(1);
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
    let mut p = Pipeline::new();
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
    println!("cosine distance: same person max {max_same:.3}, different people min {min_other:.3}");
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
