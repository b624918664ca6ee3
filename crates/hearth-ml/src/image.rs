//! The pixels a model sees. The ML jobs read the photo library's 1440-pixel preview (already
//! upright, already decoded from whatever the original was: HEIC, RAW's preview, a video's poster
//! frame), so this decodes JPEG only, and refuses what is not one with an error for that photo.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::backend::InputTensor;
use crate::error::{MlError, Result};

/// The longest edge decoded: a bigger JPEG is decoded at a reduced DCT scale.
const DECODE_EDGE: u16 = 2048;
/// More pixels than this in the frame header is refused before anything is allocated.
const MAX_PIXELS: u64 = 200_000_000;

/// An RGB image, 8 bits per channel, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 3` bytes.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// An image from its pixels; refuses a buffer of the wrong size or an empty image.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<RgbImage> {
        if width == 0 || height == 0 || pixels.len() != width as usize * height as usize * 3 {
            return Err(MlError::Image(format!("{width}×{height} pixels do not match {} bytes", pixels.len())));
        }
        Ok(RgbImage { width, height, pixels })
    }

    /// Decodes a JPEG (grey, colour or CMYK), at a reduced scale when it is large.
    pub fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage> {
        let mut d = jpeg_decoder::Decoder::new(bytes);
        d.read_info().map_err(|e| MlError::Image(e.to_string()))?;
        let info = d.info().ok_or_else(|| MlError::Image("no frame header".into()))?;
        if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
            return Err(MlError::Image(format!("{}×{} pixels is more than allowed", info.width, info.height)));
        }
        let (width, height) = d.scale(DECODE_EDGE, DECODE_EDGE).map_err(|e| MlError::Image(e.to_string()))?;
        let raw = d.decode().map_err(|e| MlError::Image(e.to_string()))?;
        let format = d.info().map(|i| i.pixel_format).ok_or_else(|| MlError::Image("no frame header".into()))?;
        let pixels: Vec<u8> = match format {
            jpeg_decoder::PixelFormat::RGB24 => raw,
            jpeg_decoder::PixelFormat::L8 => raw.iter().flat_map(|&l| [l, l, l]).collect(),
            jpeg_decoder::PixelFormat::L16 => raw.chunks_exact(2).flat_map(|c| [c[0], c[0], c[0]]).collect(),
            // Previews are written as RGB; a CMYK one can only come from elsewhere, and a naive
            // conversion is enough to find faces in it.
            jpeg_decoder::PixelFormat::CMYK32 => raw
                .chunks_exact(4)
                .flat_map(|c| {
                    let k = u16::from(c[3]);
                    [c[0], c[1], c[2]].map(|v| (u16::from(v) * k / 255) as u8)
                })
                .collect(),
        };
        let (width, height) = (u32::from(width), u32::from(height));
        let needed = width as usize * height as usize * 3;
        if pixels.len() < needed {
            return Err(MlError::Image("the decoder returned fewer pixels than the frame has".into()));
        }
        let mut pixels = pixels;
        pixels.truncate(needed);
        RgbImage::new(width, height, pixels)
    }

    /// This image resized to exactly `width × height` (bilinear; aspect not kept).
    pub fn resized(&self, width: u32, height: u32) -> Result<RgbImage> {
        if width == 0 || height == 0 {
            return Err(MlError::Image("cannot resize to an empty image".into()));
        }
        if (width, height) == (self.width, self.height) {
            return Ok(self.clone());
        }
        let src =
            Image::from_vec_u8(self.width, self.height, self.pixels.clone(), PixelType::U8x3).map_err(|e| MlError::Image(e.to_string()))?;
        let mut dst = Image::new(width, height, PixelType::U8x3);
        Resizer::new()
            .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)))
            .map_err(|e| MlError::Image(e.to_string()))?;
        RgbImage::new(width, height, dst.into_vec())
    }

    /// This image scaled to fit in `side × side` with its aspect kept, placed at the top left of
    /// a black square; returns the square and the scale applied (model pixels per image pixel).
    pub fn letterboxed(&self, side: u32) -> Result<(RgbImage, f32)> {
        let scale = side as f32 / self.width.max(self.height) as f32;
        let w = ((self.width as f32 * scale).round() as u32).clamp(1, side);
        let h = ((self.height as f32 * scale).round() as u32).clamp(1, side);
        let fitted = self.resized(w, h)?;
        let mut pixels = vec![0u8; side as usize * side as usize * 3];
        for y in 0..h as usize {
            let from = &fitted.pixels[y * w as usize * 3..(y + 1) * w as usize * 3];
            pixels[y * side as usize * 3..y * side as usize * 3 + from.len()].copy_from_slice(from);
        }
        Ok((RgbImage::new(side, side, pixels)?, scale))
    }

    /// The image as a 1×3×H×W tensor of 0–255 values, channels in `order`.
    pub fn to_tensor(&self, order: ChannelOrder) -> InputTensor {
        let plane = self.width as usize * self.height as usize;
        let mut data = vec![0f32; plane * 3];
        let map = match order {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        for (i, px) in self.pixels.chunks_exact(3).enumerate() {
            for (c, &from) in map.iter().enumerate() {
                data[c * plane + i] = f32::from(px[from]);
            }
        }
        InputTensor { shape: [1, 3, self.height as usize, self.width as usize], data }
    }

    /// The centred square whose side is `fraction` of the shorter side (ImageNet's "resize to 256,
    /// crop the middle 224" is 224/256 of it).
    pub fn centre_square(&self, fraction: f32) -> Result<RgbImage> {
        let short = self.width.min(self.height);
        let side = ((short as f32 * fraction).round() as u32).clamp(1, short);
        let (x0, y0) = ((self.width - side) / 2, (self.height - side) / 2);
        let row = self.width as usize * 3;
        let mut pixels = Vec::with_capacity(side as usize * side as usize * 3);
        for y in y0..y0 + side {
            let start = y as usize * row + x0 as usize * 3;
            pixels.extend_from_slice(&self.pixels[start..start + side as usize * 3]);
        }
        RgbImage::new(side, side, pixels)
    }

    /// The image as a 1×3×H×W tensor normalised as `n` says.
    pub fn to_normalised_tensor(&self, n: &Normalisation) -> InputTensor {
        let mut t = self.to_tensor(n.order);
        let plane = self.width as usize * self.height as usize;
        for (c, values) in t.data.chunks_exact_mut(plane).enumerate() {
            let (mean, std) = (n.mean[c], n.std[c]);
            for v in values {
                *v = (*v * n.scale - mean) / std;
            }
        }
        t
    }

    /// The pixel at (x, y), black outside the image.
    pub fn pixel(&self, x: i64, y: i64) -> [u8; 3] {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return [0; 3];
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }
}

/// The channel order a model was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red (models from OpenCV's world).
    Bgr,
}

/// How a model wants its input: channels in `order`, each value `(v × scale − mean) / std` with
/// `v` the 0–255 pixel value and mean and std per channel, in the model's channel order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalisation {
    /// Channel order.
    pub order: ChannelOrder,
    /// Applied to the 0–255 value first.
    pub scale: f32,
    /// Per channel, subtracted after scaling.
    pub mean: [f32; 3],
    /// Per channel, divided by last.
    pub std: [f32; 3],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterboxing_keeps_the_aspect_and_pads_with_black() {
        let img = RgbImage::new(4, 2, vec![200; 24]).expect("image");
        let (square, scale) = img.letterboxed(8).expect("letterbox");
        assert_eq!((square.width, square.height), (8, 8));
        assert!((scale - 2.0).abs() < 1e-6);
        assert_eq!(square.pixel(7, 3), [200; 3]);
        assert_eq!(square.pixel(0, 4), [0; 3]);
        let t = square.to_tensor(ChannelOrder::Bgr);
        assert_eq!(t.shape, [1, 3, 8, 8]);
        assert_eq!(t.data.len(), 192);
    }

    #[test]
    fn centre_squares_and_normalisation() {
        let mut pixels = Vec::new();
        for y in 0..4u8 {
            for x in 0..8u8 {
                pixels.extend([x, y, 100]);
            }
        }
        let img = RgbImage::new(8, 4, pixels).expect("image");
        let square = img.centre_square(0.5).expect("crop");
        assert_eq!((square.width, square.height), (2, 2));
        assert_eq!(square.pixel(0, 0), [3, 1, 100]);
        assert_eq!(square.pixel(1, 1), [4, 2, 100]);
        let n = Normalisation { order: ChannelOrder::Bgr, scale: 0.5, mean: [10.0, 0.0, 0.0], std: [2.0, 1.0, 1.0] };
        let t = square.to_normalised_tensor(&n);
        // Blue first: (100 × 0.5 − 10) / 2.
        assert_eq!(t.data[0], 20.0);
        assert_eq!(t.data[4], 0.5, "green: 1 × 0.5");
        assert_eq!(t.data[8], 1.5, "red: 3 × 0.5");
    }

    #[test]
    fn garbage_and_wrong_sizes_are_errors() {
        assert!(RgbImage::decode_jpeg(b"").is_err());
        assert!(RgbImage::decode_jpeg(b"\xff\xd8\xff\xe0 not really").is_err());
        assert!(RgbImage::new(2, 2, vec![0; 11]).is_err());
        assert!(RgbImage::new(0, 2, vec![]).is_err());
    }
}
