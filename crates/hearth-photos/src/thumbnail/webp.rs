//! WebP (lossy, lossless, with alpha; the first frame of an animation): the decoder has no
//! reduced-size output, so the whole frame is decoded, within [`super::FULL_DECODE_MAX_PIXELS`].

use std::io::Cursor;

use super::reduce::BoxReducer;
use super::{Rgb, ThumbnailError, full_decode_allowed};
use crate::metadata::{self, Format};

pub(super) fn decode(file: &[u8], long_edge: u32) -> Result<(Rgb, Option<Vec<u8>>), ThumbnailError> {
    let err = |e: image_webp::DecodingError| ThumbnailError::Decode(e.to_string());
    let mut d = image_webp::WebPDecoder::new(Cursor::new(file)).map_err(err)?;
    let (width, height) = d.dimensions();
    let icc = d.icc_profile().ok().flatten();
    metadata::check_pixels(Format::Webp, width, height)?;
    full_decode_allowed(Format::Webp, width, height)?;
    let channels = if d.has_alpha() { 4 } else { 3 };
    let size = d.output_buffer_size().ok_or_else(|| ThumbnailError::Decode("the image is too large".into()))?;
    let mut buf = vec![0; size];
    d.read_image(&mut buf).map_err(err)?;
    let mut reducer = BoxReducer::new(width, height, channels, BoxReducer::factor_for(width, height, long_edge));
    for row in buf.chunks(width as usize * channels) {
        reducer.push(row);
    }
    Ok((reducer.finish(), icc))
}
