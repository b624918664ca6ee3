//! Stored chunks back into bytes: decompressed within their stated size and checked against
//! their signed hash before anything else sees them.

use crate::error::{OtaError, Result};
use crate::manifest::{Compression, StoreEntry};

/// The bytes of store entry `index`, kept as `stored`.
pub fn decode(index: usize, entry: &StoreEntry, stored: &[u8]) -> Result<Vec<u8>> {
    if stored.len() != entry.stored_size as usize {
        return Err(OtaError::ChunkMismatch { index });
    }
    let bytes = match entry.compression {
        Compression::None => stored.to_vec(),
        Compression::Zstd => zstd::bulk::decompress(stored, entry.size as usize).map_err(|_| OtaError::ChunkMismatch { index })?,
    };
    check(index, entry, &bytes)?;
    Ok(bytes)
}

/// Whether `bytes` are store entry `index`.
pub fn check(index: usize, entry: &StoreEntry, bytes: &[u8]) -> Result<()> {
    if bytes.len() == entry.size as usize && blake3::hash(bytes) == entry.hash { Ok(()) } else { Err(OtaError::ChunkMismatch { index }) }
}

/// Keep `bytes` as well as zstd does (level `level`), or as they are when that is not smaller.
pub fn encode(bytes: &[u8], level: i32) -> Result<(Vec<u8>, Compression)> {
    let packed = zstd::bulk::compress(bytes, level).map_err(OtaError::io("compressing a chunk"))?;
    if packed.len() < bytes.len() { Ok((packed, Compression::Zstd)) } else { Ok((bytes.to_vec(), Compression::None)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_it_encoded_and_refuses_altered_bytes() {
        let bytes = vec![7u8; 5000];
        let (stored, compression) = encode(&bytes, 3).expect("encode");
        assert_eq!(compression, Compression::Zstd);
        let entry = StoreEntry { hash: blake3::hash(&bytes), size: 5000, stored_size: stored.len() as u32, compression };
        assert_eq!(decode(0, &entry, &stored).expect("decode"), bytes);
        let mut altered = stored.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(decode(3, &entry, &altered).is_err());
        // A frame that would grow past the stated size is refused, not allocated.
        let big = vec![0u8; 1 << 20];
        let (bomb, _) = encode(&big, 3).expect("encode");
        let small = StoreEntry { hash: blake3::hash(&big), size: 4096, stored_size: bomb.len() as u32, compression: Compression::Zstd };
        assert!(matches!(decode(1, &small, &bomb), Err(OtaError::ChunkMismatch { index: 1 })));
    }
}
