//! The words photos are tagged with (`vocabulary.toml` beside this crate, embedded at build
//! time): for each word, the object detector's COCO classes and the scene classifier's ImageNet
//! classes that earn it, and the other words search should find it by. Parsed raw, then
//! validated against the two models' classes.

use serde::Deserialize;

use crate::error::{MlError, Result};
use crate::tags::objects::COCO_CLASSES;
use crate::tags::scenes;

const PINNED: &str = include_str!("../../vocabulary.toml");

/// One word and what earns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// Shown and searched.
    pub word: String,
    /// Searched too, not shown.
    pub also: Vec<String>,
    /// Indices into [`COCO_CLASSES`].
    pub coco: Vec<usize>,
    /// ImageNet class indices.
    pub imagenet: Vec<usize>,
}

/// The validated vocabulary.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// The words, in the file's order.
    pub words: Vec<Word>,
    /// A COCO class's best score must reach this.
    pub min_object: f32,
    /// A word's ImageNet probabilities must add up to this.
    pub min_scene: f32,
}

/// A word earned by a photo, and how sure the models are (0–1).
#[derive(Debug, Clone, PartialEq)]
pub struct EarnedWord {
    /// The word.
    pub word: String,
    /// Searched too.
    pub also: Vec<String>,
    /// The stronger of its object score and its summed scene probability.
    pub score: f32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVocabulary {
    format: u32,
    min_object: f32,
    min_scene: f32,
    word: Vec<RawWord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWord {
    word: String,
    #[serde(default)]
    also: Vec<String>,
    #[serde(default)]
    coco: Vec<String>,
    #[serde(default)]
    imagenet: Vec<String>,
}

impl Vocabulary {
    /// The vocabulary this build carries.
    pub fn pinned() -> Result<Vocabulary> {
        Vocabulary::parse(PINNED)
    }

    /// Parses and validates a vocabulary's text.
    pub fn parse(text: &str) -> Result<Vocabulary> {
        let bad = |m: String| MlError::Manifest(format!("vocabulary: {m}"));
        let raw: RawVocabulary = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.format != 1 {
            return Err(bad(format!("format {} is not 1", raw.format)));
        }
        for (name, v) in [("min_object", raw.min_object), ("min_scene", raw.min_scene)] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(bad(format!("{name} {v} is not in (0, 1]")));
            }
        }
        let mut words: Vec<Word> = Vec::with_capacity(raw.word.len());
        for w in raw.word {
            let word = w.word.trim().to_lowercase();
            if word.is_empty() || words.iter().any(|x| x.word == word) {
                return Err(bad(format!("the word {:?} is empty or listed twice", w.word)));
            }
            let coco = w
                .coco
                .iter()
                .map(|c| COCO_CLASSES.iter().position(|k| k == c).ok_or_else(|| bad(format!("{word}: {c:?} is not a COCO class"))))
                .collect::<Result<Vec<_>>>()?;
            let mut imagenet = Vec::new();
            for r in &w.imagenet {
                let (first, last) = r.split_once('-').unwrap_or((r, r));
                let parse = |s: &str| s.trim().parse::<usize>().ok().filter(|&i| i < scenes::CLASSES);
                let (Some(first), Some(last)) = (parse(first), parse(last)) else {
                    return Err(bad(format!("{word}: {r:?} is not an ImageNet class or range")));
                };
                if first > last {
                    return Err(bad(format!("{word}: the range {r:?} runs backwards")));
                }
                imagenet.extend(first..=last);
            }
            if coco.is_empty() && imagenet.is_empty() {
                return Err(bad(format!("{word}: no class earns it")));
            }
            let also = w.also.iter().map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty() && *a != word).collect();
            words.push(Word { word, also, coco, imagenet });
        }
        Ok(Vocabulary { words, min_object: raw.min_object, min_scene: raw.min_scene })
    }

    /// The words a photo earns from its COCO class scores and ImageNet probabilities, surest first.
    pub fn words_for(&self, objects: &[f32; 80], scenes: &[f32]) -> Vec<EarnedWord> {
        let mut out: Vec<EarnedWord> = self
            .words
            .iter()
            .filter_map(|w| {
                let object = w.coco.iter().map(|&c| objects[c]).fold(0.0f32, f32::max);
                let scene: f32 = w.imagenet.iter().filter_map(|&i| scenes.get(i)).sum();
                let earned = (object >= self.min_object).then_some(object).into_iter().chain((scene >= self.min_scene).then_some(scene));
                let score = earned.fold(None, |a: Option<f32>, s| Some(a.map_or(s, |a| a.max(s))))?;
                Some(EarnedWord { word: w.word.clone(), also: w.also.clone(), score: score.min(1.0) })
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.word.cmp(&b.word)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_vocabulary_is_valid() {
        let v = Vocabulary::pinned().expect("vocabulary.toml");
        assert!(v.words.len() >= 40);
        let dog = v.words.iter().find(|w| w.word == "dog").expect("dog");
        assert_eq!(dog.coco, vec![16]);
        assert_eq!(dog.imagenet.len(), 118, "ImageNet's dog breeds, 151–268");
    }

    #[test]
    fn words_come_from_objects_or_from_scenes_summed() {
        let v = Vocabulary::pinned().expect("vocabulary.toml");
        let mut objects = [0f32; 80];
        objects[16] = 0.9; // dog
        objects[15] = 0.2; // cat, below min_object
        let mut scenes = vec![0f32; 1000];
        scenes[977] = 0.2; // sandbar
        scenes[978] = 0.25; // seashore: beach adds up to 0.45
        scenes[970] = 0.1; // alp alone is not enough for mountain
        let words: Vec<String> = v.words_for(&objects, &scenes).into_iter().map(|w| w.word).collect();
        assert_eq!(words, vec!["dog", "beach"]);
    }

    #[test]
    fn bad_vocabularies_are_refused() {
        let good = "format = 1\nmin_object = 0.5\nmin_scene = 0.3\n[[word]]\nword = \"dog\"\ncoco = [\"dog\"]\nimagenet = [\"151-268\"]\n";
        assert!(Vocabulary::parse(good).is_ok());
        for (bad, why) in [
            (good.replace("\"dog\"]", "\"wolfhound\"]"), "not a COCO class"),
            (good.replace("151-268", "268-151"), "backwards"),
            (good.replace("151-268", "1000"), "past ImageNet"),
            (good.replace("151-268", "x"), "not a number"),
            (good.replace("min_scene = 0.3", "min_scene = 0"), "a threshold of 0"),
            (format!("{good}[[word]]\nword = \"Dog\"\ncoco = [\"cat\"]\n"), "twice"),
            (format!("{good}[[word]]\nword = \"tree\"\n"), "nothing earns it"),
            (good.replace("word = \"dog\"", "word = \"dog\"\ncolour = \"brown\""), "unknown field"),
        ] {
            assert!(Vocabulary::parse(&bad).is_err(), "{why}");
        }
    }
}
