//! Content-defined chunks of a slot image (docs/update-bundle.md §2, §3): FastCDC 2020 with
//! normalization level 1 and FastCDC's own gear table (no seed, unlike the backup repository's:
//! an update's chunks must cut the same on every box, so a box can find in its running slot the
//! chunks a new bundle shares with it). Hashes are BLAKE3.

use std::io::Read;

use fastcdc::v2020::StreamCDC;

use crate::error::{OtaError, Result};

/// The algorithm's name in a manifest.
pub const ALGORITHM: &str = "fastcdc-v2020";

/// Chunk sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkerParams {
    /// Always [`ALGORITHM`].
    pub algorithm: Algorithm,
    /// Smallest chunk (except the last).
    pub min: u32,
    /// Average chunk, a power of two.
    pub avg: u32,
    /// Largest chunk.
    pub max: u32,
}

/// The algorithm name, checked when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Algorithm;

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(ALGORITHM)
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s == ALGORITHM { Ok(Algorithm) } else { Err(serde::de::Error::custom(format!("unknown chunker {s:?}"))) }
    }
}

impl Default for ChunkerParams {
    /// 16 KiB / 64 KiB / 256 KiB: small enough that a changed program costs about its own size,
    /// large enough that a 160 MiB slot is a few thousand chunks (a manifest of a few hundred KiB).
    fn default() -> ChunkerParams {
        ChunkerParams { algorithm: Algorithm, min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }
    }
}

impl ChunkerParams {
    /// The bounds the format allows (a hostile manifest must not reach FastCDC's asserts; a
    /// signed one is not hostile, but a bug in the tool that made it may be).
    pub fn validate(&self) -> Result<()> {
        let ok = (4096..=1_048_576).contains(&self.min)
            && self.avg.is_power_of_two()
            && self.max <= 4 * 1024 * 1024
            && self.min < self.avg
            && self.avg < self.max;
        if ok {
            Ok(())
        } else {
            Err(OtaError::InvalidManifest(format!("chunk sizes out of range: {}/{}/{}", self.min, self.avg, self.max)))
        }
    }

    /// Cut `source` into chunks, calling `each(offset, bytes, hash)` in order.
    pub fn cut<R: Read>(&self, source: R, mut each: impl FnMut(u64, &[u8], blake3::Hash) -> Result<()>) -> Result<()> {
        self.validate()?;
        for chunk in StreamCDC::new(source, self.min, self.avg, self.max) {
            let chunk = chunk.map_err(|e| match e {
                fastcdc::v2020::Error::IoError(e) => OtaError::io("reading the image")(e),
                other => OtaError::io("reading the image")(std::io::Error::other(other.to_string())),
            })?;
            each(chunk.offset, &chunk.data, blake3::hash(&chunk.data))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_bytes_cut_the_same_after_an_insertion() {
        let mut data = vec![0u8; 2 << 20];
        let mut x = 7u32;
        for b in &mut data {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *b = (x >> 16) as u8;
        }
        let p = ChunkerParams::default();
        let cut = |bytes: &[u8]| {
            let mut v = Vec::new();
            p.cut(bytes, |_, c, h| {
                v.push((c.len(), h));
                Ok(())
            })
            .expect("cut");
            v
        };
        let a = cut(&data);
        let mut changed = data.clone();
        changed.splice(100_000..100_000, [1, 2, 3]);
        let b = cut(&changed);
        let common = b.iter().filter(|c| a.contains(c)).count();
        assert!(common + 3 >= a.len(), "an insertion changes only the chunks around it: {common} of {}", a.len());
        assert_eq!(a.iter().map(|c| c.0).sum::<usize>(), data.len());
    }

    #[test]
    fn refuses_sizes_out_of_range() {
        for (min, avg, max) in [(0, 65536, 262144), (16384, 65535, 262144), (16384, 65536, 8 << 20), (65536, 65536, 262144)] {
            let p = ChunkerParams { algorithm: Algorithm, min, avg, max };
            assert!(p.validate().is_err(), "{min}/{avg}/{max}");
        }
    }
}
