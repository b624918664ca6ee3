//! JPEG: markers from SOI up to the start of scan. The frame header (SOFn) gives the size; the
//! APP1 segment that starts with `Exif\0\0` holds the TIFF block, the one that starts with
//! Adobe's namespace the XMP packet.

use super::{Found, be16};

const EXIF: &[u8] = b"Exif\0\0";
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

pub(super) fn scan(b: &[u8]) -> Found<'_> {
    let mut found = Found::default();
    let mut at = 2;
    loop {
        // Markers may be padded with any number of 0xff bytes.
        while b.get(at) == Some(&0xff) && b.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        let (Some(0xff), Some(&marker)) = (b.get(at), b.get(at + 1)) else { break };
        at += 2;
        match marker {
            0x01 | 0xd0..=0xd7 => continue,
            0xd9 | 0xda => break,
            _ => {}
        }
        let Some(len) = be16(b, at).map(usize::from).filter(|l| *l >= 2) else { break };
        let Some(body) = b.get(at + 2..at + len) else {
            // A segment cut off by the head: its start may still hold what we need.
            if marker == 0xe1 && found.exif.is_none() {
                found.exif = b.get(at + 2..).and_then(|s| s.strip_prefix(EXIF));
            }
            break;
        };
        match marker {
            // SOF0–SOF15 except DHT (c4), JPG (c8) and DAC (cc).
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                if let (Some(h), Some(w)) = (be16(body, 1), be16(body, 3)) {
                    found.size.get_or_insert((u32::from(w), u32::from(h)));
                }
            }
            0xe1 if found.exif.is_none() && body.starts_with(EXIF) => found.exif = body.strip_prefix(EXIF),
            0xe1 if found.xmp.is_none() && body.starts_with(XMP) => found.xmp = body.strip_prefix(XMP),
            _ => {}
        }
        at += len;
    }
    found
}
