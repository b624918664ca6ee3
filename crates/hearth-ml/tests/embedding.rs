//! The image/text embedding plumbing (docs/ml.md, "Free-text search") with the colour model built
//! in code (`embedding::tiny_model`): both halves load on tract, pictures and words land where the
//! model puts them, and broken files are refused with the reason.

use hearth_ml::MlError;
use hearth_ml::backend::tract_cpu::TractCpu;
use hearth_ml::embedding::clip::{ClipImageEncoder, ClipTextEncoder};
use hearth_ml::embedding::queries::SentenceVectors;
use hearth_ml::embedding::{ImageEmbedding, TextEmbedding, tiny_model};
use hearth_ml::image::RgbImage;

fn solid(width: u32, height: u32, rgb: [u8; 3]) -> RgbImage {
    RgbImage::new(width, height, rgb.repeat((width * height) as usize)).expect("image")
}

#[test]
fn pictures_and_words_meet_in_the_models_space() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tiny_model::write(dir.path()).expect("tiny model");
    let backend = TractCpu::new(1);
    let mut image = ClipImageEncoder::load(&files.image_model, files.image_side, &backend).expect("image half");
    let mut text = ClipTextEncoder::load(&files, &backend).expect("text half");
    assert_eq!(image.fingerprint().len(), 64);

    // Pictures of any size and shape: the middle square is what the model sees.
    let red = image.embed_image(&solid(300, 200, [230, 20, 20])).expect("red");
    let green = image.embed_image(&solid(64, 97, [20, 220, 30])).expect("green");
    let blue = image.embed_image(&solid(1, 1, [10, 10, 240])).expect("blue");
    for (word, picture) in [("red", &red), ("green", &green), ("blue", &blue)] {
        let v = text.embed_text(word).expect(word);
        let mut scores: Vec<(f32, &str)> =
            [("red", &red), ("green", &green), ("blue", &blue)].iter().map(|(n, p)| (v.cosine(p.values()), *n)).collect();
        scores.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(scores[0].1, word, "{word}: {scores:?}");
        assert!(v.cosine(picture.values()) > 0.5, "{word}: {scores:?}");
    }
    // Case, spacing and words the model does not know do not move a sentence away.
    let sentence = text.embed_text("  A RED   car!! ").expect("sentence");
    assert!((sentence.cosine(text.embed_text("red").expect("red").values()) - 1.0).abs() < 1e-5);
    // A sentence with no word the model knows has no direction: refused, not a NaN.
    let err = text.embed_text("car").expect_err("no known word");
    assert!(matches!(err, MlError::BadOutput { .. }), "{err}");
    // Longer than the model's tokens: cut, still answered.
    assert!(text.embed_text(&"red ".repeat(200)).is_ok());
}

#[test]
fn the_daemons_sentences_load_on_demand_and_unload_when_idle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tiny_model::write(dir.path()).expect("tiny model");
    let image = ClipImageEncoder::load(&files.image_model, files.image_side, &TractCpu::new(1)).expect("image half");
    let sentences = SentenceVectors::new(files, Box::new(TractCpu::new(1)));
    assert!(!sentences.unload_if_idle(std::time::Duration::ZERO), "nothing loaded yet");
    let (fingerprint, vector) = sentences.vector("green").expect("vector");
    assert_eq!(fingerprint, image.fingerprint(), "sentences are compared with this image half's vectors");
    assert_eq!(vector.values().len(), 3);
    assert!(!sentences.unload_if_idle(std::time::Duration::from_secs(3600)));
    assert!(sentences.unload_if_idle(std::time::Duration::ZERO));
    assert!(sentences.vector("blue").is_ok(), "loaded again");
}

#[test]
fn broken_provided_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tiny_model::write(dir.path()).expect("tiny model");
    let backend = TractCpu::new(1);

    // The text half where the image half should be: its input is token ids, not a picture.
    let err = ClipImageEncoder::load(&files.text_model, files.image_side, &backend).err().expect("wrong half");
    assert!(matches!(err, MlError::ModelRefused { .. }), "{err}");
    // The image half as the text half.
    let swapped = hearth_ml::embedding::ProvidedModel { text_model: files.image_model.clone(), ..files.clone() };
    let err = ClipTextEncoder::load(&swapped, &backend).err().expect("wrong half");
    assert!(err.to_string().contains("token ids"), "{err}");
    // A truncated file.
    let bytes = std::fs::read(&files.image_model).expect("read");
    let cut = dir.path().join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = ClipImageEncoder::load(&cut, files.image_side, &backend).err().expect("truncated");
    assert!(matches!(err, MlError::ModelRefused { .. }), "{err}");
    // No merges file, or not a merges file.
    let missing = hearth_ml::embedding::ProvidedModel { merges: dir.path().join("none.txt"), ..files.clone() };
    let err = ClipTextEncoder::load(&missing, &backend).err().expect("missing");
    assert!(matches!(err, MlError::ModelMissing { .. }), "{err}");
    std::fs::write(dir.path().join("bad.txt"), [0xff, 0xfe, 0x00]).expect("write");
    let bad = hearth_ml::embedding::ProvidedModel { merges: dir.path().join("bad.txt"), ..files };
    let err = ClipTextEncoder::load(&bad, &backend).err().expect("not text");
    assert!(err.to_string().contains("UTF-8"), "{err}");
}
