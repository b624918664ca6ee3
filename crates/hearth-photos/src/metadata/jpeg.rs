//! JPEG: markers from SOI up to the start of scan. The frame header (SOFn) gives the size; the
//! APP1 segment that starts with `Exif\0\0` holds the TIFF block, the one that starts with
//! Adobe's namespace the XMP packet; APP13 (`Photoshop 3.0`) segments hold IPTC; APP14
//! (`Adobe`) says the encoder was Adobe's, which stores CMYK inverted.

use super::{Found, be16};

const EXIF: &[u8] = b"Exif\0\0";
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// The marker segments before the first scan: (marker, body). The last one may be cut short by
/// the end of `b` (its body is then what there is).
fn segments(b: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut at = 2;
    let mut done = false;
    std::iter::from_fn(move || {
        loop {
            if done {
                return None;
            }
            // Bytes that are not a marker (an encoder's stray padding) are skipped up to the
            // next 0xff, as libjpeg does ("extraneous bytes before marker").
            while b.get(at).is_some_and(|&x| x != 0xff) {
                at += 1;
            }
            // Markers may be padded with any number of 0xff bytes.
            while b.get(at) == Some(&0xff) && b.get(at + 1) == Some(&0xff) {
                at += 1;
            }
            let (Some(0xff), Some(&marker)) = (b.get(at), b.get(at + 1)) else { return None };
            at += 2;
            match marker {
                0x01 | 0xd0..=0xd7 => continue,
                0xd9 | 0xda => return None,
                _ => {}
            }
            let len = be16(b, at).map(usize::from).filter(|l| *l >= 2)?;
            let body = match b.get(at + 2..at + len) {
                Some(body) => body,
                None => {
                    done = true;
                    b.get(at + 2..)?
                }
            };
            at += len;
            return Some((marker, body));
        }
    })
}

pub(super) fn scan(b: &[u8]) -> Found<'_> {
    let mut found = Found::default();
    for (marker, body) in segments(b) {
        match marker {
            // SOF0–SOF15 except DHT (c4), JPG (c8) and DAC (cc).
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                if let (Some(h), Some(w)) = (be16(body, 1), be16(body, 3)) {
                    found.size.get_or_insert((u32::from(w), u32::from(h)));
                }
            }
            // A segment cut off by the head: its start may still hold what we need.
            0xe1 if found.exif.is_none() && body.starts_with(EXIF) => found.exif = body.strip_prefix(EXIF),
            0xe1 if found.xmp.is_none() && body.starts_with(XMP) => found.xmp = body.strip_prefix(XMP),
            0xed => {
                if let Some(iptc) = body.strip_prefix(super::iptc::PHOTOSHOP).and_then(super::iptc::iptc_resource) {
                    found.iptc.push(iptc);
                }
            }
            _ => {}
        }
    }
    found
}

/// Whether an APP14 `Adobe` segment is there: Adobe's encoders store CMYK and YCCK inverted.
pub(crate) fn adobe(b: &[u8]) -> bool {
    segments(b).any(|(marker, body)| marker == 0xee && body.starts_with(b"Adobe"))
}
