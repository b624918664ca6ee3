//! Content-defined chunking: FastCDC (2020 variant, normalization level 1) with the
//! repository's secret seed XOR-ed into the gear tables (docs/backup-format.md §6).

use std::io::{self, Read};

use fastcdc::v2020::{MASKS, cut_gear, get_gear_with_seed};

use crate::error::{BackupError, Result};

/// Chunk sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkerParams {
    /// Always `fastcdc-v2020`.
    pub algorithm: FastCdcV2020,
    /// Smallest chunk (except a file's last).
    pub min: u32,
    /// Average chunk (a power of two).
    pub avg: u32,
    /// Largest chunk.
    pub max: u32,
    /// FastCDC normalization level (1).
    pub normalization: u32,
}

/// The chunker algorithm; `fastcdc-v2020` is the only one, stored by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FastCdcV2020;

impl serde::Serialize for FastCdcV2020 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str("fastcdc-v2020")
    }
}

impl<'de> serde::Deserialize<'de> for FastCdcV2020 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s == "fastcdc-v2020" { Ok(FastCdcV2020) } else { Err(serde::de::Error::custom(format!("unknown chunker {s:?}"))) }
    }
}

impl Default for ChunkerParams {
    /// 512 KiB / 1 MiB / 8 MiB (why: docs/backup-format.md §6).
    fn default() -> Self {
        ChunkerParams { algorithm: FastCdcV2020, min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024, normalization: 1 }
    }
}

impl ChunkerParams {
    /// Check the bounds the format allows (a hostile config must not reach FastCDC's asserts).
    pub fn validate(&self) -> Result<()> {
        let ok = (64..=1_048_576).contains(&self.min)
            && (256..=4_194_304).contains(&self.avg)
            && self.avg.is_power_of_two()
            && (1024..=16_777_216).contains(&self.max)
            && self.min < self.avg
            && self.avg < self.max
            && self.normalization == 1;
        if ok { Ok(()) } else { Err(BackupError::Invalid(format!("chunker sizes out of range: {self:?}"))) }
    }
}

/// Finds chunk boundaries.
pub struct Chunker {
    params: ChunkerParams,
    gear: Box<[u64; 256]>,
    gear_ls: Box<[u64; 256]>,
    mask_s: u64,
    mask_l: u64,
}

impl Chunker {
    /// A chunker with `params` and the repository's `seed`.
    pub fn new(params: ChunkerParams, seed: u64) -> Result<Chunker> {
        params.validate()?;
        let bits = params.avg.trailing_zeros() as usize;
        let (gear, gear_ls) = get_gear_with_seed(seed);
        Ok(Chunker { params, gear, gear_ls, mask_s: MASKS[bits + 1], mask_l: MASKS[bits - 1] })
    }

    /// The sizes.
    pub fn params(&self) -> ChunkerParams {
        self.params
    }

    /// The length of the chunk that starts at `data[0]`. `data` must hold at least `max` bytes
    /// unless it is the end of the input.
    pub fn cut(&self, data: &[u8]) -> usize {
        let (_, len) = cut_gear(
            data,
            self.params.min as usize,
            self.params.avg as usize,
            self.params.max as usize,
            self.mask_s,
            self.mask_l,
            self.mask_s << 1,
            self.mask_l << 1,
            &self.gear,
            &self.gear_ls,
        );
        len.max(1).min(data.len())
    }

    /// Chunks of a reader. `buf` is reused across files (it grows to twice the maximum chunk
    /// size once, and is never zero-filled): small files cost no more than their own bytes.
    pub fn chunks<'a, R: Read>(&'a self, reader: R, buf: &'a mut Vec<u8>) -> Chunks<'a, R> {
        buf.clear();
        Chunks { chunker: self, reader, buf, start: 0, eof: false }
    }
}

/// Iterator over a reader's chunks.
pub struct Chunks<'a, R> {
    chunker: &'a Chunker,
    reader: R,
    buf: &'a mut Vec<u8>,
    start: usize,
    eof: bool,
}

impl<R: Read> Chunks<'_, R> {
    /// The next chunk, `None` at the end.
    pub fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        Ok(self.next_chunk_into(&mut out)?.then_some(out))
    }

    /// The next chunk into `out` (cleared first, so a pooled buffer can be reused); `false` at
    /// the end.
    pub fn next_chunk_into(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        let max = self.chunker.params.max as usize;
        if self.buf.len() - self.start < max && !self.eof {
            // Move the unread tail to the front, then top up to two maximum chunks.
            self.buf.drain(..self.start);
            self.start = 0;
            let want = (2 * max - self.buf.len()) as u64;
            let got = (&mut self.reader).take(want).read_to_end(self.buf)? as u64;
            if got < want {
                self.eof = true;
            }
        }
        let rest = &self.buf[self.start..];
        if rest.is_empty() {
            return Ok(false);
        }
        let len = self.chunker.cut(rest);
        out.clear();
        out.extend_from_slice(&rest[..len]);
        self.start += len;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn small() -> ChunkerParams {
        ChunkerParams { min: 256, avg: 1024, max: 4096, ..ChunkerParams::default() }
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn all_chunks(c: &Chunker, data: &[u8]) -> Vec<Vec<u8>> {
        let mut buf = Vec::new();
        let mut it = c.chunks(data, &mut buf);
        let mut out = Vec::new();
        while let Some(ch) = it.next_chunk().expect("read") {
            out.push(ch);
        }
        out
    }

    #[test]
    fn default_sizes_are_valid_and_bad_ones_refused() {
        ChunkerParams::default().validate().expect("default");
        assert!(ChunkerParams { avg: 1000, ..small() }.validate().is_err(), "power of two");
        assert!(ChunkerParams { min: 8192, ..small() }.validate().is_err(), "min < avg");
        assert!(ChunkerParams { max: 64 << 20, ..ChunkerParams::default() }.validate().is_err());
        assert!(Chunker::new(ChunkerParams { min: 0, ..small() }, 0).is_err());
    }

    #[test]
    fn seed_changes_boundaries() {
        let data = pseudo_random(200_000, 7);
        let a: Vec<usize> = all_chunks(&Chunker::new(small(), 1).expect("c"), &data).iter().map(Vec::len).collect();
        let b: Vec<usize> = all_chunks(&Chunker::new(small(), 2).expect("c"), &data).iter().map(Vec::len).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn an_insertion_changes_few_chunks() {
        let c = Chunker::new(small(), 42).expect("c");
        let data = pseudo_random(400_000, 3);
        let mut edited = data.clone();
        edited.splice(200_000..200_000, b"a few inserted bytes".iter().copied());
        let before: std::collections::HashSet<Vec<u8>> = all_chunks(&c, &data).into_iter().collect();
        let after = all_chunks(&c, &edited);
        let new = after.iter().filter(|ch| !before.contains(*ch)).count();
        assert!(new <= 3, "{new} of {} chunks changed", after.len());
    }

    proptest! {
        #[test]
        fn chunks_reassemble_and_respect_bounds(len in 0usize..60_000, seed in any::<u64>(), data_seed in any::<u64>()) {
            let c = Chunker::new(small(), seed).expect("c");
            let data = pseudo_random(len, data_seed);
            let chunks = all_chunks(&c, &data);
            prop_assert_eq!(chunks.concat(), data);
            for (i, ch) in chunks.iter().enumerate() {
                prop_assert!(ch.len() <= 4096);
                if i + 1 < chunks.len() {
                    prop_assert!(ch.len() >= 256, "only the last chunk may be short");
                }
            }
        }

        #[test]
        fn chunking_does_not_depend_on_read_sizes(len in 0usize..40_000, step in 1usize..5000) {
            struct Trickle<'a>(&'a [u8], usize);
            impl std::io::Read for Trickle<'_> {
                fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                    let n = self.1.min(buf.len()).min(self.0.len());
                    buf[..n].copy_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                    Ok(n)
                }
            }
            let c = Chunker::new(small(), 9).expect("c");
            let data = pseudo_random(len, 11);
            let whole = all_chunks(&c, &data);
            let mut buf = vec![1, 2, 3];
            let mut it = c.chunks(Trickle(&data, step), &mut buf);
            let mut trickled = Vec::new();
            while let Some(ch) = it.next_chunk().expect("read") { trickled.push(ch); }
            prop_assert_eq!(whole, trickled);
        }
    }
}
