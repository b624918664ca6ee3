//! JPEG: decoded at reduced size by the inverse DCT (1/2, 1/4 or 1/8 of the stored size, the
//! smallest that still covers the largest thumbnail), so a 4000 × 3000 photo is never held at
//! full size. A damaged file (cut short, a misplaced restart marker) is decoded as far as it
//! goes, the rest grey, as libjpeg does; Adobe's inverted CMYK is told from plain CMYK by its
//! APP14 marker.

use super::{Rgb, ThumbnailError};
use crate::metadata::{self, Format};

pub(super) fn decode(file: &[u8], long_edge: u32) -> Result<(Rgb, Option<Vec<u8>>), ThumbnailError> {
    match decode_stream(file, long_edge) {
        Ok(decoded) => Ok(decoded),
        // As lenient as libjpeg: a damaged file still gets a thumbnail, its damaged part grey.
        Err(first) => match repaired(file) {
            Some(fixed) => decode_stream(&fixed, long_edge).map_err(|_| first),
            None => Err(first),
        },
    }
}

/// A damaged JPEG made decodable the way libjpeg copes with it: the entropy data is cut where
/// it goes wrong and an EOI marker follows, so the decoder fills the rest of the scan with
/// zeros (grey), as libjpeg does for "premature end of JPEG file". With a restart interval
/// (DRI) the data is cut at the first restart marker and the interval dropped, since a
/// misplaced restart marker ("no marker found where RST0 was expected") is the other damage
/// libjpeg gets past. Junk between segments is skipped. `None` when there is no scan at all.
fn repaired(file: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(file.len() + 2);
    out.extend_from_slice(file.get(..2)?);
    let mut at = 2;
    let mut restart = false;
    // Header segments up to the first scan.
    loop {
        while file.get(at).is_some_and(|&b| b != 0xff) {
            at += 1;
        }
        while file.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        let marker = *file.get(at + 1)?;
        match marker {
            // Markers without a length where none belongs: passed over.
            0x01 | 0xd0..=0xd8 => {
                at += 2;
                continue;
            }
            0xd9 => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*file.get(at + 2)?, *file.get(at + 3)?]));
        let segment = file.get(at..at + 2 + len)?;
        at += 2 + len;
        match marker {
            0xdd => restart = true,
            0xda => {
                out.extend_from_slice(segment);
                break;
            }
            _ => out.extend_from_slice(segment),
        }
    }
    // Entropy data (and any later scans) up to the damage: a restart marker when the interval
    // was dropped, EOI, or the end of the file.
    let rest = &file[at..];
    let mut end = rest.len();
    let mut i = 0;
    while i + 1 < rest.len() {
        if rest[i] == 0xff {
            match rest[i + 1] {
                0xd0..=0xd7 if restart => {
                    end = i;
                    break;
                }
                0xd9 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        i += 1;
    }
    out.extend_from_slice(&rest[..end]);
    out.extend_from_slice(&[0xff, 0xd9]);
    Some(out)
}

fn decode_stream(file: &[u8], long_edge: u32) -> Result<(Rgb, Option<Vec<u8>>), ThumbnailError> {
    let mut d = jpeg_decoder::Decoder::new(file);
    d.read_info().map_err(|e| ThumbnailError::Decode(e.to_string()))?;
    let info = d.info().ok_or_else(|| ThumbnailError::Decode("no frame header".into()))?;
    metadata::check_pixels(Format::Jpeg, u32::from(info.width), u32::from(info.height))?;
    let edge = u16::try_from(long_edge).unwrap_or(u16::MAX);
    let (width, height) = d.scale(edge, edge).map_err(|e| ThumbnailError::Decode(e.to_string()))?;
    let raw = d.decode().map_err(|e| ThumbnailError::Decode(e.to_string()))?;
    let format = d.info().map(|i| i.pixel_format).ok_or_else(|| ThumbnailError::Decode("no frame header".into()))?;
    let pixels = match format {
        jpeg_decoder::PixelFormat::RGB24 => raw,
        jpeg_decoder::PixelFormat::L8 => raw.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => raw.chunks_exact(2).flat_map(|c| [c[0], c[0], c[0]]).collect(),
        // The decoder gives 255 minus what is stored. Adobe's encoders (APP14) store ink
        // inverted, so there it gives the ink itself; other encoders store the ink, so there it
        // gives 255 minus the ink. A naive CMYK → RGB is close enough for a thumbnail.
        jpeg_decoder::PixelFormat::CMYK32 => {
            let inverted = metadata::jpeg::adobe(file);
            raw.chunks_exact(4)
                .flat_map(|c| {
                    let light = |v: u8| u16::from(if inverted { 255 - v } else { v });
                    let k = light(c[3]);
                    [c[0], c[1], c[2]].map(|v| (light(v) * k / 255) as u8)
                })
                .collect()
        }
    };
    let (width, height) = (u32::from(width), u32::from(height));
    if pixels.len() < width as usize * height as usize * 3 {
        return Err(ThumbnailError::Decode("the decoder returned fewer pixels than the frame has".into()));
    }
    Ok((Rgb { width, height, pixels }, d.icc_profile()))
}
