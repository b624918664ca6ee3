//! WebP: a RIFF file of chunks. `VP8X` (extended) gives the canvas size and says EXIF follows;
//! plain `VP8 ` (lossy) and `VP8L` (lossless) carry the size in their bitstream headers; `EXIF`
//! holds the TIFF block (some writers keep the `Exif\0\0` prefix).

use super::{Found, le32};

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

pub(super) fn scan(b: &[u8]) -> Found<'_> {
    let mut found = Found::default();
    let mut at = 12;
    while let (Some(kind), Some(len)) = (b.get(at..at + 4), le32(b, at + 4)) {
        let len = len as usize;
        let data = b.get(at + 8..(at + 8).saturating_add(len).min(b.len())).unwrap_or(&[]);
        match kind {
            b"VP8X" => {
                if let (Some(w), Some(h)) = (le24(data, 4), le24(data, 7)) {
                    found.size = Some((w + 1, h + 1));
                }
            }
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
            b"VP8 " if found.size.is_none() && data.get(3..6) == Some(&[0x9d, 0x01, 0x2a]) => {
                if let (Some(w), Some(h)) = (data.get(6..8), data.get(8..10)) {
                    let w = u32::from(u16::from_le_bytes([w[0], w[1]]) & 0x3fff);
                    let h = u32::from(u16::from_le_bytes([h[0], h[1]]) & 0x3fff);
                    found.size = Some((w, h));
                }
            }
            // Signature 0x2f, then 14 bits width-1 and 14 bits height-1.
            b"VP8L" if found.size.is_none() && data.first() == Some(&0x2f) => {
                if let Some(bits) = le32(data, 1) {
                    found.size = Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1));
                }
            }
            b"EXIF" => found.exif = Some(data.strip_prefix(b"Exif\0\0").unwrap_or(data)),
            b"XMP " => found.xmp = Some(data),
            _ => {}
        }
        // Chunks are padded to an even length.
        at = at.saturating_add(8).saturating_add(len).saturating_add(len & 1);
    }
    found
}
