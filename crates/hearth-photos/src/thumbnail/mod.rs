//! Thumbnails: the grid size ([`GRID`], 250 px on the long edge) and the viewing size ([`VIEW`],
//! 1440 px), orientation applied, as progressive JPEG.
//!
//! A JPEG is decoded at reduced size where the codec allows: the inverse DCT can produce 1/2, 1/4
//! or 1/8 of the stored size directly, so a 4000 × 3000 photo is decoded to 500 × 375 for the grid
//! and 2000 × 1500 for viewing, never at full size. One decode serves every size asked for at
//! once (the largest one's scale). Then a Lanczos-3 resize (SIMD, `fast_image_resize`), the
//! orientation turn on the small image, and the encode. The size is checked against
//! [`crate::metadata::MAX_PIXELS`] from the header, before any pixel buffer exists.
//!
//! PNG is decoded row by row into a box reducer ([`reduce`]), so its size costs no memory; WebP
//! (and interlaced PNG) must be decoded whole, up to [`FULL_DECODE_MAX_PIXELS`]. Transparency is
//! shown over white.
//!
//! Colour: thumbnails are sRGB; an embedded matrix/TRC ICC profile (Display P3 on iPhones, Adobe
//! RGB) is converted ([`icc`]). HEIF/HEIC is decoded by libheif's `heif-convert` in a child process ([`heif`]),
//! from the file on disk ([`make_from_file`]); a video's thumbnails come from a poster frame
//! that `ffmpeg` takes ([`video`]).

use std::path::Path;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::metadata::{self, Format};

/// Long edge of grid thumbnails.
pub const GRID: u32 = 250;
/// Long edge of viewing thumbnails.
pub const VIEW: u32 = 1440;
/// JPEG quality of thumbnails.
pub const QUALITY: u8 = 80;

/// Why no thumbnail could be made. Messages are for the family (shown on the asset).
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    /// The metadata already says why.
    #[error(transparent)]
    Metadata(#[from] metadata::MetadataError),
    /// A container that cannot be decoded from memory (HEIF: use [`make_from_file`]).
    #[error("Hearth makes thumbnails of {0:?} files from the file on disk only")]
    Unsupported(Format),
    /// A photo file too big to read into memory.
    #[error("the file is {megabytes} MB; Hearth makes thumbnails of photos up to {max} MB")]
    FileTooLarge {
        /// Its size.
        megabytes: u64,
        /// The limit.
        max: u64,
    },
    /// Too many pixels for a format that must be decoded whole.
    #[error("Hearth makes thumbnails of {format:?} images up to {max} megapixels; this one has {megapixels}")]
    TooLarge {
        /// The container.
        format: Format,
        /// Its size.
        megapixels: u64,
        /// The limit.
        max: u64,
    },
    /// The pixels are damaged.
    #[error("the photo's pixels cannot be decoded: {0}")]
    Decode(String),
    /// Resizing or encoding failed (a bug, or memory).
    #[error("the thumbnail could not be made: {0}")]
    Encode(String),
}

impl hearth_core::Kinded for ThumbnailError {
    fn kind(&self) -> hearth_core::ErrorKind {
        match self {
            ThumbnailError::Metadata(e) => e.kind(),
            ThumbnailError::Unsupported(_) | ThumbnailError::Decode(_) => hearth_core::ErrorKind::InvalidInput,
            ThumbnailError::TooLarge { .. } | ThumbnailError::FileTooLarge { .. } => hearth_core::ErrorKind::TooLarge,
            ThumbnailError::Encode(_) => hearth_core::ErrorKind::Internal,
        }
    }
}

/// One made thumbnail.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    /// The long edge asked for.
    pub long_edge: u32,
    /// Shown size (orientation applied).
    pub width: u32,
    /// Shown size (orientation applied).
    pub height: u32,
    /// Progressive JPEG.
    pub jpeg: Vec<u8>,
    /// The difference hash of the picture as shown ([`dhash`]), for finding near-duplicates;
    /// made from the smallest size asked for only.
    pub dhash: Option<u64>,
}

pub mod dhash;
mod heif;
pub mod icc;
mod jpeg;
mod png;
mod reduce;
mod video;
mod webp;

/// The largest image decoded whole, for formats that cannot be decoded at reduced size or row by
/// row (WebP, interlaced PNG): 16 MP, 64 MB of RGBA, inside the smallest board's thumbnail budget.
pub const FULL_DECODE_MAX_PIXELS: u64 = 16_777_216;

fn full_decode_allowed(format: Format, width: u32, height: u32) -> Result<(), ThumbnailError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > FULL_DECODE_MAX_PIXELS {
        return Err(ThumbnailError::TooLarge { format, megapixels: pixels / 1_000_000, max: FULL_DECODE_MAX_PIXELS / 1_000_000 });
    }
    Ok(())
}

/// Decoded RGB pixels.
struct Rgb {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// Make a thumbnail for each long edge in `sizes` from a whole photo file. A photo smaller than a
/// size is not enlarged.
/// HEIF needs its file on disk: see [`make_from_file`].
pub fn make(file: &[u8], sizes: &[u32]) -> Result<Vec<Thumbnail>, ThumbnailError> {
    let meta = metadata::read(file)?;
    make_decoded(file, meta.format, meta.orientation, sizes)
}

/// The largest photo file whose pixels are decoded in memory (a 200 MP JPEG is ~100 MB).
pub const MAX_SOURCE_BYTES: u64 = 256 << 20;

/// [`make`] for a file on disk: HEIF too (decoded by libheif in a child process, with `scratch`
/// for its intermediate file), and videos (a poster frame from ffmpeg). Photos of more than
/// [`MAX_SOURCE_BYTES`] are refused; videos are never read here, only by ffmpeg.
pub fn make_from_file(original: &Path, scratch: &Path, sizes: &[u32]) -> Result<Vec<Thumbnail>, ThumbnailError> {
    let unreadable = |e: std::io::Error| ThumbnailError::Decode(format!("the original cannot be read: {e}"));
    let head = {
        let mut head = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(std::fs::File::open(original).map_err(unreadable)?, 64), &mut head)
            .map_err(unreadable)?;
        head
    };
    if Format::sniff(&head).is_none() && crate::video::sniff(&head).is_some() {
        let jpeg = video::poster(original)?;
        return make_decoded(&jpeg, Format::Jpeg, 1, sizes);
    }
    let size = std::fs::metadata(original).map_err(unreadable)?.len();
    if size > MAX_SOURCE_BYTES {
        return Err(ThumbnailError::FileTooLarge { megabytes: size >> 20, max: MAX_SOURCE_BYTES >> 20 });
    }
    let data = std::fs::read(original).map_err(unreadable)?;
    let meta = metadata::read(&data)?;
    if meta.format == Format::Heif {
        drop(data);
        let jpeg = heif::to_jpeg(original, scratch)?;
        // libheif applied the container's transforms: the JPEG is upright whatever its EXIF says.
        return make_decoded(&jpeg, Format::Jpeg, 1, sizes);
    }
    make_decoded(&data, meta.format, meta.orientation, sizes)
}

fn make_decoded(file: &[u8], format: Format, orientation: u16, sizes: &[u32]) -> Result<Vec<Thumbnail>, ThumbnailError> {
    let largest = sizes.iter().copied().max().unwrap_or(GRID);
    let (mut decoded, profile) = match format {
        Format::Jpeg => jpeg::decode(file, largest)?,
        Format::Png => png::decode(file, largest)?,
        Format::Webp => webp::decode(file, largest)?,
        other => return Err(ThumbnailError::Unsupported(other)),
    };
    // On the reduced image, before resizing: a few million pixels at most.
    if let Some(to_srgb) = profile.as_deref().and_then(icc::ToSrgb::from_profile) {
        to_srgb.apply(&mut decoded.pixels);
    }
    let smallest = sizes.iter().copied().min().unwrap_or(GRID);
    sizes.iter().map(|&edge| shrink(&decoded, edge, orientation, edge == smallest)).collect()
}

/// Resize to `long_edge` (never up), turn by `orientation`, encode; the difference hash when `hash`.
fn shrink(src: &Rgb, long_edge: u32, orientation: u16, hash: bool) -> Result<Thumbnail, ThumbnailError> {
    let scale = f64::from(long_edge) / f64::from(src.width.max(src.height));
    let (w, h) = if scale >= 1.0 {
        (src.width, src.height)
    } else {
        (((f64::from(src.width) * scale).round() as u32).max(1), ((f64::from(src.height) * scale).round() as u32).max(1))
    };
    let resized = if (w, h) == (src.width, src.height) {
        src.pixels[..w as usize * h as usize * 3].to_vec()
    } else {
        let from = Image::from_vec_u8(src.width, src.height, src.pixels.clone(), PixelType::U8x3)
            .map_err(|e| ThumbnailError::Encode(e.to_string()))?;
        let mut to = Image::new(w, h, PixelType::U8x3);
        Resizer::new()
            .resize(&from, &mut to, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)))
            .map_err(|e| ThumbnailError::Encode(e.to_string()))?;
        to.into_vec()
    };
    let (pixels, width, height) = orient(&resized, w, h, orientation);
    let dhash = hash.then(|| dhash::dhash(&pixels, width, height));
    let mut jpeg = Vec::with_capacity(pixels.len() / 8);
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, QUALITY);
    enc.set_progressive(true);
    // A picture shown at its own size (an icon, a small graphic) keeps full colour resolution:
    // halving the chroma blurs one-pixel colour detail and shifts the colours of dithers.
    if (w, h) == (src.width, src.height) {
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    }
    let (ew, eh) = (
        u16::try_from(width).map_err(|_| ThumbnailError::Encode("too wide".into()))?,
        u16::try_from(height).map_err(|_| ThumbnailError::Encode("too tall".into()))?,
    );
    enc.encode(&pixels, ew, eh, jpeg_encoder::ColorType::Rgb).map_err(|e| ThumbnailError::Encode(e.to_string()))?;
    Ok(Thumbnail { long_edge, width, height, jpeg, dhash })
}

/// Apply an EXIF orientation (1–8) to RGB pixels: returns the pixels and the new size.
pub fn orient(src: &[u8], w: u32, h: u32, orientation: u16) -> (Vec<u8>, u32, u32) {
    if !(2..=8).contains(&orientation) {
        return (src.to_vec(), w, h);
    }
    let (w, h) = (w as usize, h as usize);
    let swap = orientation >= 5;
    let (ow, oh) = if swap { (h, w) } else { (w, h) };
    let mut out = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            // Where the stored pixel (x, y) goes when shown.
            let (dx, dy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (h - 1 - y, x),
                7 => (h - 1 - y, w - 1 - x),
                _ => (y, w - 1 - x), // 8
            };
            let s = (y * w + x) * 3;
            let d = (dy * ow + dx) * 3;
            out[d..d + 3].copy_from_slice(&src[s..s + 3]);
        }
    }
    (out, ow as u32, oh as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3 × 2 image whose pixels are numbered 0..6 (in the red channel).
    fn numbered() -> Vec<u8> {
        (0..6u8).flat_map(|i| [i, 0, 0]).collect()
    }

    fn reds(p: &[u8]) -> Vec<u8> {
        p.chunks(3).map(|c| c[0]).collect()
    }

    #[test]
    fn orientations_turn_the_way_exif_means() {
        // Stored:  0 1 2
        //          3 4 5
        assert_eq!(orient(&numbered(), 3, 2, 1), (numbered(), 3, 2));
        let (p, w, h) = orient(&numbered(), 3, 2, 6); // shown after a 90° clockwise turn
        assert_eq!((reds(&p), w, h), (vec![3, 0, 4, 1, 5, 2], 2, 3));
        let (p, _, _) = orient(&numbered(), 3, 2, 8); // 90° anticlockwise
        assert_eq!(reds(&p), vec![2, 5, 1, 4, 0, 3]);
        let (p, _, _) = orient(&numbered(), 3, 2, 3);
        assert_eq!(reds(&p), vec![5, 4, 3, 2, 1, 0]);
        let (p, _, _) = orient(&numbered(), 3, 2, 2);
        assert_eq!(reds(&p), vec![2, 1, 0, 5, 4, 3]);
        let (p, w, h) = orient(&numbered(), 3, 2, 5); // transpose
        assert_eq!((reds(&p), w, h), (vec![0, 3, 1, 4, 2, 5], 2, 3));
    }

    #[test]
    fn what_cannot_be_decoded_is_refused_clearly() {
        assert!(matches!(make(b"not a photo", &[GRID]), Err(ThumbnailError::Metadata(metadata::MetadataError::NotAPhoto))));
        // A PNG header with no image data.
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0\0\0\0\0";
        assert!(matches!(make(png, &[GRID]), Err(ThumbnailError::Decode(_))));
    }
}
