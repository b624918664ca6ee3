//! CLIP's byte-level BPE tokenizer (the one OpenAI's CLIP and open_clip use), read from its merges
//! file (`bpe_simple_vocab_16e6.txt`, or a Hugging Face CLIP's `merges.txt`: the same merges).
//!
//! The vocabulary is not stored: it follows from the merges. The 256 bytes (each as the printable
//! character CLIP maps it to), the same 256 ending a word (`</w>`), one token per merge in the
//! file's order, then `<|startoftext|>` and `<|endoftext|>`. Text is lower-cased with its
//! whitespace collapsed, split into letter runs, single digits, contractions and runs of other
//! characters, and each piece merged pair by pair, lowest rank first. A query becomes
//! `[start, pieces…, end]` padded with zeros to the model's length (cut to fit, the end kept).

use std::collections::HashMap;

use crate::error::{MlError, Result};
use crate::manifest::ModelId;

/// The largest merges file read (CLIP's is 1.4 MiB).
const MAX_MERGES_BYTES: usize = 16 << 20;

/// The tokenizer, ready.
#[derive(Debug, Clone)]
pub struct ClipTokenizer {
    /// Byte → the character CLIP writes it as.
    byte_chars: [char; 256],
    /// Token text → id.
    ids: HashMap<String, i64>,
    /// A merge's pair → its rank (lower merges first).
    ranks: HashMap<(String, String), usize>,
    start: i64,
    end: i64,
}

/// CLIP's reversible map of bytes to printable characters: the printable Latin-1 bytes stand for
/// themselves, the others are moved up past 255 in order.
fn byte_chars() -> ([char; 256], Vec<u8>) {
    let mut order: Vec<u8> = (b'!'..=b'~').chain(0xA1..=0xAC).chain(0xAE..=0xFF).collect();
    let mut chars = ['\0'; 256];
    for &b in &order {
        chars[b as usize] = char::from(b);
    }
    let mut next = 256u32;
    for b in 0..=255u8 {
        if !order.contains(&b) {
            order.push(b);
            chars[b as usize] = char::from_u32(next).unwrap_or('\u{FFFD}');
            next += 1;
        }
    }
    (chars, order)
}

impl ClipTokenizer {
    /// Reads a merges file's text: one merge a line (`a b`), an optional `#version` line first.
    pub fn from_merges(text: &str) -> Result<ClipTokenizer> {
        let refused = |reason: String| MlError::ModelRefused { model: ModelId::TextEmbedder, reason };
        if text.len() > MAX_MERGES_BYTES {
            return Err(refused(format!("its merges file has {} bytes, more than a tokenizer's", text.len())));
        }
        let (byte_chars, order) = byte_chars();
        let mut vocab: Vec<String> = order.iter().map(|&b| byte_chars[b as usize].to_string()).collect();
        vocab.extend(order.iter().map(|&b| format!("{}</w>", byte_chars[b as usize])));
        let mut ranks = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() || (n == 0 && line.contains("#version")) {
                continue;
            }
            let mut parts = line.split(' ');
            let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(refused(format!("line {} of its merges file is not two symbols: {:?}", n + 1, truncated(line))));
            };
            if a.is_empty() || b.is_empty() {
                return Err(refused(format!("line {} of its merges file is not two symbols: {:?}", n + 1, truncated(line))));
            }
            let rank = ranks.len();
            ranks.entry((a.to_string(), b.to_string())).or_insert(rank);
            vocab.push(format!("{a}{b}"));
        }
        if ranks.is_empty() {
            return Err(refused("its merges file has no merges".into()));
        }
        vocab.push("<|startoftext|>".into());
        vocab.push("<|endoftext|>".into());
        let mut ids = HashMap::with_capacity(vocab.len());
        for (i, token) in vocab.into_iter().enumerate() {
            // A token made twice keeps its first id, as CLIP's dictionary does when built in order.
            ids.entry(token).or_insert(i as i64);
        }
        let start = ids.get("<|startoftext|>").copied().unwrap_or_default();
        let end = ids.get("<|endoftext|>").copied().unwrap_or_default();
        Ok(ClipTokenizer { byte_chars, ids, ranks, start, end })
    }

    /// The ids of the tokens, with neither the start nor the end.
    pub fn encode(&self, text: &str) -> Vec<i64> {
        let clean = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let mut out = Vec::new();
        for piece in pieces(&clean) {
            let symbols: String = piece.bytes().map(|b| self.byte_chars[b as usize]).collect();
            for token in self.merge(&symbols) {
                // Every single byte and every merge has an id, so a miss cannot happen; skipping is
                // the safe answer if a malformed merges file made one.
                if let Some(&id) = self.ids.get(&token) {
                    out.push(id);
                }
            }
        }
        out
    }

    /// `[start, tokens…, end, 0…]`, exactly `length` long (the tokens cut to fit, the end kept).
    pub fn encode_row(&self, text: &str, length: usize) -> Vec<i64> {
        let mut row = Vec::with_capacity(length.max(2));
        row.push(self.start);
        row.extend(self.encode(text).into_iter().take(length.saturating_sub(2)));
        row.push(self.end);
        row.resize(length.max(2), 0);
        row
    }

    /// The byte-level BPE of one piece: its characters, the last ending the word, merged by rank.
    fn merge(&self, piece: &str) -> Vec<String> {
        let mut word: Vec<String> = piece.chars().map(String::from).collect();
        if let Some(last) = word.last_mut() {
            last.push_str("</w>");
        }
        loop {
            let best =
                word.windows(2).enumerate().filter_map(|(i, w)| self.ranks.get(&(w[0].clone(), w[1].clone())).map(|&r| (r, i))).min();
            let Some((rank, _)) = best else { break };
            let mut merged = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                if i + 1 < word.len() && self.ranks.get(&(word[i].clone(), word[i + 1].clone())) == Some(&rank) {
                    merged.push(format!("{}{}", word[i], word[i + 1]));
                    i += 2;
                } else {
                    merged.push(std::mem::take(&mut word[i]));
                    i += 1;
                }
            }
            word = merged;
        }
        word
    }
}

fn truncated(line: &str) -> String {
    line.chars().take(40).collect()
}

/// CLIP's pre-tokenizer: `'s 't 're 've 'm 'll 'd`, runs of letters, single digits, runs of
/// anything else but whitespace.
fn pieces(text: &str) -> Vec<&str> {
    const CONTRACTIONS: [&str; 7] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let len = if let Some(k) = CONTRACTIONS.iter().find(|k| rest.starts_with(**k)) {
            k.len()
        } else if c.is_alphabetic() {
            rest.find(|x: char| !x.is_alphabetic()).unwrap_or(rest.len())
        } else if c.is_numeric() {
            c.len_utf8()
        } else {
            rest.find(|x: char| x.is_whitespace() || x.is_alphabetic() || x.is_numeric()).unwrap_or(rest.len())
        };
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_map_is_clips() {
        let (chars, order) = byte_chars();
        assert_eq!(order.len(), 256);
        assert_eq!(chars[b'a' as usize], 'a');
        // Space is the 33rd byte moved up (after 0–32): CLIP writes it as 'Ġ' (U+0120).
        assert_eq!(chars[b' ' as usize], '\u{120}');
        assert_eq!(chars[0], '\u{100}');
        let mut seen: Vec<char> = chars.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256, "the map is one to one");
    }

    #[test]
    fn pieces_split_as_clips_pattern() {
        assert_eq!(pieces("a dog's 2024 beach!!"), ["a", "dog", "'s", "2", "0", "2", "4", "beach", "!!"]);
        assert_eq!(pieces("  café—été "), ["café", "—", "été"]);
        assert!(pieces("").is_empty());
    }

    #[test]
    fn merges_apply_by_rank_and_ids_follow_the_vocabulary() {
        let t = ClipTokenizer::from_merges("#version: 0.2\nd o\ndo g</w>\nc a\nca t</w>\n").expect("tokenizer");
        // 512 byte tokens, then the merges in order: "do" 512, "dog</w>" 513, "ca" 514, "cat</w>" 515.
        assert_eq!(t.encode("Dog  CAT"), [513, 515]);
        // A word without merges is its bytes, the last ending the word.
        let a = i64::from(b'a' - b'!');
        let b_end = 256 + i64::from(b'b' - b'!');
        assert_eq!(t.encode("ab"), [a, b_end]);
        assert_eq!(t.encode_row("dog", 5), [516, 513, 517, 0, 0]);
        assert_eq!(t.encode_row("dog cat dog", 4), [516, 513, 515, 517], "cut, the end kept");
        assert_eq!(t.encode_row("", 3), [516, 517, 0]);
    }

    #[test]
    fn bad_merges_files_are_refused() {
        assert!(ClipTokenizer::from_merges("").is_err());
        assert!(ClipTokenizer::from_merges("#version: 0.2\n").is_err());
        let err = ClipTokenizer::from_merges("a b c\n").expect_err("three symbols");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    proptest::proptest! {
        /// The merges file and the sentence are outside input (the family's file, the search box):
        /// any of either is refused or tokenized, never a panic, and the row is always whole.
        #[test]
        fn any_merges_file_and_sentence_are_safe(merges in "(\\PC{0,6} \\PC{0,6}\n){0,40}", text in "\\PC{0,200}", length in 0usize..100) {
            if let Ok(t) = ClipTokenizer::from_merges(&merges) {
                let row = t.encode_row(&text, length);
                proptest::prop_assert_eq!(row.len(), length.max(2));
                let vocabulary = 512 + merges.lines().count() as i64 + 2;
                proptest::prop_assert!(row.iter().all(|&id| (0..vocabulary).contains(&id)));
            }
        }
    }

    #[test]
    fn any_text_encodes_without_panicking() {
        let t = ClipTokenizer::from_merges("a b\n").expect("tokenizer");
        for text in ["\u{0}\u{1F600}", "'''", "日本語のテキスト", "x\u{301}y", &"z".repeat(10_000)] {
            let row = t.encode_row(text, 77);
            assert_eq!(row.len(), 77);
        }
    }
}
