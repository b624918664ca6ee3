//! Block hashes (SHA-256, as BEP requires), computed the faster way for this CPU.
//!
//! [`BlockHasher`] picks the faster way for this CPU: a single stream (ring, with SHA
//! instructions where the CPU has them) or eight blocks at once in SIMD lanes
//! ([`hearth_platform::sha256_lanes`], where the CPU has AVX2 but no SHA instructions).

use hearth_platform::sha256_lanes;

/// A block's SHA-256.
pub type Digest = [u8; 32];

/// One SHA-256 the single-stream way.
pub fn sha256(data: &[u8]) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

/// How blocks are hashed on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockHasher {
    /// One block at a time (ring; SHA instructions where the CPU has them).
    Single,
    /// Equal-length blocks eight at a time.
    Lanes,
}

impl BlockHasher {
    /// The faster way on this CPU.
    pub fn for_this_cpu() -> Self {
        if sha256_lanes::fast_here() { BlockHasher::Lanes } else { BlockHasher::Single }
    }

    /// The SHA-256 of each block, in order. Blocks of equal length go through the lanes
    /// together (when this hasher uses lanes); the rest one by one.
    pub fn digest_all(self, blocks: &[&[u8]]) -> Vec<Digest> {
        let mut out = vec![[0u8; 32]; blocks.len()];
        let mut done = vec![false; blocks.len()];
        if self == BlockHasher::Lanes {
            // Group the indexes by length, eight at a time; a short group fills its spare lanes
            // with copies of its first block (wasted lanes cost less than single streams).
            let mut by_len: Vec<usize> = (0..blocks.len()).collect();
            by_len.sort_by_key(|&i| blocks[i].len());
            for group in by_len.chunk_by(|&a, &b| blocks[a].len() == blocks[b].len()) {
                for eight in group.chunks(sha256_lanes::LANES) {
                    if eight.len() < 2 {
                        continue;
                    }
                    let lanes: [&[u8]; sha256_lanes::LANES] = std::array::from_fn(|l| blocks[eight[l.min(eight.len() - 1)]]);
                    let digests = sha256_lanes::digest(&lanes);
                    for (l, &i) in eight.iter().enumerate() {
                        out[i] = digests[l];
                        done[i] = true;
                    }
                }
            }
        }
        for (i, block) in blocks.iter().enumerate() {
            if !done[i] {
                out[i] = sha256(block);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_hashers_agree_on_mixed_lengths() {
        let data: Vec<Vec<u8>> = (0..21).map(|i| vec![i as u8; [100, 100, 5000, 64, 100][i % 5] + i / 10]).collect();
        let blocks: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let single = BlockHasher::Single.digest_all(&blocks);
        assert_eq!(BlockHasher::Lanes.digest_all(&blocks), single);
        for (b, d) in blocks.iter().zip(&single) {
            assert_eq!(&sha256(b), d);
        }
    }
}
