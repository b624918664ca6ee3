//! JPEG: decoded at reduced size by the inverse DCT (1/2, 1/4 or 1/8 of the stored size, the
//! smallest that still covers the largest thumbnail), so a 4000 × 3000 photo is never held at
//! full size.

use super::{Rgb, ThumbnailError};
use crate::metadata::{self, Format};

pub(super) fn decode(file: &[u8], long_edge: u32) -> Result<(Rgb, Option<Vec<u8>>), ThumbnailError> {
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
        // The decoder has already undone Adobe's inversion; a naive CMYK → RGB is close enough
        // for a thumbnail of a rare file.
        jpeg_decoder::PixelFormat::CMYK32 => raw
            .chunks_exact(4)
            .flat_map(|c| {
                let k = u16::from(c[3]);
                [c[0], c[1], c[2]].map(|v| (u16::from(v) * k / 255) as u8)
            })
            .collect(),
    };
    let (width, height) = (u32::from(width), u32::from(height));
    if pixels.len() < width as usize * height as usize * 3 {
        return Err(ThumbnailError::Decode("the decoder returned fewer pixels than the frame has".into()));
    }
    Ok((Rgb { width, height, pixels }, d.icc_profile()))
}
