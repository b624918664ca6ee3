//! PNG: decoded row by row into the box reducer (any size up to the pixel limit in little
//! memory); interlaced files must be decoded whole, so they are limited to
//! [`super::FULL_DECODE_MAX_PIXELS`]. 16-bit and palette images are normalised to 8-bit; the
//! first frame of an animated PNG is the photo. A file gamma (gAMA without sRGB or iCCP) is
//! turned into the display's.

use std::io::Cursor;

use super::reduce::BoxReducer;
use super::{Rgb, ThumbnailError, full_decode_allowed};
use crate::metadata::{self, Format};

/// What the decoder itself may allocate (its line buffers, text chunks; not our image).
const DECODER_BYTES: usize = 64 << 20;

pub(super) fn decode(file: &[u8], long_edge: u32) -> Result<(Rgb, Option<Vec<u8>>), ThumbnailError> {
    let err = |e: png::DecodingError| ThumbnailError::Decode(e.to_string());
    let mut d = png::Decoder::new_with_limits(Cursor::new(file), png::Limits { bytes: DECODER_BYTES });
    d.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = d.read_info().map_err(err)?;
    let (width, height, interlaced, icc, gamma) = {
        let info = reader.info();
        // A gamma of its own counts only where no sRGB or ICC chunk says better.
        let gamma = if info.srgb.is_none() && info.icc_profile.is_none() { info.gama_chunk.map(|g| g.into_value()) } else { None };
        (info.width, info.height, info.interlaced, info.icc_profile.as_ref().map(|p| p.to_vec()), gamma)
    };
    metadata::check_pixels(Format::Png, width, height)?;
    let channels = match reader.output_color_type().0 {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        // Palettes are expanded by the transformation; Indexed cannot come out of it.
        png::ColorType::Rgba | png::ColorType::Indexed => 4,
    };
    let mut reducer = BoxReducer::new(width, height, channels, BoxReducer::factor_for(width, height, long_edge));
    if interlaced {
        full_decode_allowed(Format::Png, width, height)?;
        let size = reader.output_buffer_size().ok_or_else(|| ThumbnailError::Decode("the image is too large".into()))?;
        let mut buf = vec![0; size];
        let frame = reader.next_frame(&mut buf).map_err(err)?;
        for row in buf.chunks(frame.line_size).take(height as usize) {
            reducer.push(row);
        }
    } else {
        let mut rows = 0;
        while let Some(row) = reader.next_row().map_err(err)? {
            reducer.push(row.data());
            rows += 1;
        }
        if rows < height {
            return Err(ThumbnailError::Decode(format!("the image data ends after {rows} of {height} rows")));
        }
    }
    let mut rgb = reducer.finish();
    if let Some(g) = gamma {
        to_display_gamma(&mut rgb.pixels, g);
    }
    Ok((rgb, icc))
}

/// Samples stored with gamma `g` (gAMA: sample = linear^g) re-encoded for an sRGB display
/// (about linear^(1/2.2)), as browsers and ImageMagick show them. The usual 1/2.2 changes
/// nothing; a linear file (g = 1) is brightened.
fn to_display_gamma(pixels: &mut [u8], g: f32) {
    let exponent = 1.0 / (f64::from(g) * 2.2);
    if !(g > 0.0 && exponent.is_finite()) || (exponent - 1.0).abs() < 0.02 {
        return;
    }
    let lut: Vec<u8> = (0..=255u32).map(|v| (255.0 * (f64::from(v) / 255.0).powf(exponent)).round().clamp(0.0, 255.0) as u8).collect();
    for p in pixels {
        *p = lut[usize::from(*p)];
    }
}
