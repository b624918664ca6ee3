//! PNG: chunks after the signature. IHDR gives the size; `eXIf` (PNG 1.5 / 2022) holds the TIFF
//! block; some writers put it in a `zTXt`/`tEXt` "Raw profile type exif" instead, which is not
//! read. An uncompressed `iTXt` `XML:com.adobe.xmp` holds XMP. Chunks after the head are not seen: writers put eXIf before IDAT as the spec asks.

use super::{Found, be32};

pub(super) fn scan(b: &[u8]) -> Found<'_> {
    let mut found = Found::default();
    let mut at = 8;
    while let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) {
        let len = len as usize;
        let Some(data) = b.get(at + 8..(at + 8).saturating_add(len)) else { break };
        match kind {
            b"IHDR" => {
                if let (Some(w), Some(h)) = (be32(data, 0), be32(data, 4)) {
                    found.size = Some((w, h));
                }
            }
            b"eXIf" => found.exif = Some(data.strip_prefix(b"Exif\0\0").unwrap_or(data)),
            // keyword \0, compression flag, method, language \0, translated keyword \0, text;
            // a compressed packet is not read.
            b"iTXt" if found.xmp.is_none() => {
                if let Some(rest) = data.strip_prefix(b"XML:com.adobe.xmp\0")
                    && rest.first() == Some(&0)
                {
                    let mut fields = rest.get(2..).unwrap_or(&[]).splitn(3, |b| *b == 0);
                    let (_, _, text) = (fields.next(), fields.next(), fields.next());
                    found.xmp = text;
                }
            }
            b"IEND" => break,
            _ => {}
        }
        at = at.saturating_add(12).saturating_add(len);
    }
    found
}
