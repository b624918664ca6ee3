//! What a photo file says about itself, from its first bytes.
//!
//! [`Format::sniff`] recognises the container by its magic bytes (a text file named `.jpg` is
//! refused as not a photo); one module per container finds the pixel size and the EXIF block;
//! [`exif`] reads the tags, [`xmp`] the XML packet that fills what EXIF leaves out, `iptc` the
//! press date in JPEG's APP13; [`time`] turns camera clock readings into moments. [`read`] puts it
//! together. The caller passes the head of the file ([`HEAD_BYTES`] is enough for every camera
//! and phone file we know: EXIF sits before the pixels), so nothing here reads pixel data, and a
//! header announcing 60,000 × 60,000 pixels is refused by [`check_pixels`] before any decoder
//! allocates for it.

pub mod exif;
mod heif;
mod iptc;
pub(crate) mod jpeg;
mod png;
pub mod time;
mod webp;
pub mod xmp;

use std::io::Read;
use std::path::Path;

use serde::Serialize;

pub use exif::{Exif, Gps};
pub use time::TakenAt;

/// How much of a file [`read_file`] looks at.
pub const HEAD_BYTES: usize = 1 << 20;

/// The largest image Hearth decodes: 200 megapixels (a 16-bit 20000 × 10000 panorama). Bigger
/// images keep their metadata but get no thumbnail.
pub const MAX_PIXELS: u64 = 200_000_000;

/// A photo container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JPEG (JFIF or EXIF).
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy, lossless or extended).
    Webp,
    /// HEIF: HEIC from iPhones, also AVIF.
    Heif,
}

impl Format {
    /// The container of a file, from its first bytes.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(Format::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(Format::Webp)
        } else if head.len() >= 12 && &head[4..8] == b"ftyp" && heif::is_heif_brand(head) {
            Some(Format::Heif)
        } else {
            None
        }
    }
}

/// What [`read`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metadata {
    /// The container.
    pub format: Format,
    /// Stored pixel size (before orientation is applied).
    pub width: u32,
    /// Stored pixel size (before orientation is applied).
    pub height: u32,
    /// 1–8 as in EXIF; for HEIF the container's rotation turned into the same numbers.
    pub orientation: u16,
    /// When it was taken, when the file says.
    pub taken_at: Option<TakenAt>,
    /// Where.
    pub latitude: Option<f64>,
    /// Where.
    pub longitude: Option<f64>,
    /// Metres above sea level.
    pub altitude: Option<f64>,
    /// Camera maker.
    pub make: Option<String>,
    /// Camera model.
    pub model: Option<String>,
    /// Lens.
    pub lens: Option<String>,
}

impl Metadata {
    /// The size as the photo is shown, orientation applied (5–8 swap the sides).
    pub fn display_size(&self) -> (u32, u32) {
        if self.orientation >= 5 { (self.height, self.width) } else { (self.width, self.height) }
    }
}

/// Why a file's metadata cannot be read. The messages are for the family (shown on the asset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Empty.
    #[error("the file is empty")]
    Empty,
    /// Not a container we know.
    #[error("this is not a photo or video Hearth can read (JPEG, PNG, WebP, HEIC, MP4, MOV)")]
    NotAPhoto,
    /// The container ends before its size is given.
    #[error("the {0:?} file is cut short or damaged: its image size is missing")]
    NoSize(Format),
    /// Zero or absurd dimensions.
    #[error("the {format:?} file claims {width} × {height} pixels, more than Hearth decodes ({max} megapixels)")]
    TooLarge {
        /// The container.
        format: Format,
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
        /// The limit in megapixels.
        max: u64,
    },
}

impl hearth_core::Kinded for MetadataError {
    fn kind(&self) -> hearth_core::ErrorKind {
        match self {
            MetadataError::TooLarge { .. } => hearth_core::ErrorKind::TooLarge,
            _ => hearth_core::ErrorKind::InvalidInput,
        }
    }
}

/// Refuse a pixel size no decoder should allocate for.
pub fn check_pixels(format: Format, width: u32, height: u32) -> Result<(), MetadataError> {
    if width == 0 || height == 0 {
        return Err(MetadataError::NoSize(format));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MetadataError::TooLarge { format, width, height, max: MAX_PIXELS / 1_000_000 });
    }
    Ok(())
}

/// The pieces a container module finds.
#[derive(Default)]
struct Found<'a> {
    size: Option<(u32, u32)>,
    exif: Option<&'a [u8]>,
    /// The XMP packet.
    xmp: Option<&'a [u8]>,
    /// HEIF's own rotation, as an EXIF orientation.
    orientation: Option<u16>,
    /// IPTC datasets (JPEG's APP13), one slice per segment.
    iptc: Vec<&'a [u8]>,
}

/// Read the metadata from the first bytes of a file.
pub fn read(head: &[u8]) -> Result<Metadata, MetadataError> {
    if head.is_empty() {
        return Err(MetadataError::Empty);
    }
    let format = Format::sniff(head).ok_or(MetadataError::NotAPhoto)?;
    let found = match format {
        Format::Jpeg => jpeg::scan(head),
        Format::Png => png::scan(head),
        Format::Webp => webp::scan(head),
        Format::Heif => heif::scan(head),
    };
    let exif = found.exif.and_then(exif::parse).unwrap_or_default();
    // XMP fills what EXIF leaves out (PNGs from photo managers often carry only XMP).
    let xmp = found.xmp.map(xmp::parse).unwrap_or_default();
    let iptc = (!found.iptc.is_empty()).then(|| iptc::date_created(&found.iptc.concat())).flatten();
    // The date the photo world trusts, best first: when it was captured (EXIF, XMP, IPTC), then
    // when it was digitised, and only then when the file was last modified (an edited photo
    // must not jump to its edit's date).
    let taken_at = [exif.taken_at, xmp.taken_at, iptc, exif.digitized_at, xmp.digitized_at, exif.modified_at, xmp.modified_at]
        .into_iter()
        .flatten()
        .next();
    let exif = Exif {
        make: exif.make.or(xmp.make),
        model: exif.model.or(xmp.model),
        lens: exif.lens.or(xmp.lens),
        orientation: exif.orientation.or(xmp.orientation),
        taken_at,
        digitized_at: None,
        modified_at: None,
        pixels: exif.pixels,
        gps: exif.gps.or(xmp.gps),
        gps_utc: exif.gps_utc,
    };
    let (width, height) = found.size.or(exif.pixels).ok_or(MetadataError::NoSize(format))?;
    check_pixels(format, width, height)?;
    let taken_at = exif.taken_at.map(|t| t.with_gps_offset(exif.gps_utc));
    Ok(Metadata {
        format,
        width,
        height,
        // HEIF decoders apply the container's rotation, and the EXIF orientation is informative
        // there; everywhere else EXIF says which way is up.
        orientation: found.orientation.or(if format == Format::Heif { None } else { exif.orientation }).unwrap_or(1),
        taken_at,
        latitude: exif.gps.map(|g| g.latitude),
        longitude: exif.gps.map(|g| g.longitude),
        altitude: exif.gps.and_then(|g| g.altitude),
        make: exif.make,
        model: exif.model,
        lens: exif.lens,
    })
}

/// Read the metadata of a file (its first [`HEAD_BYTES`]).
pub fn read_file(path: &Path) -> std::io::Result<Result<Metadata, MetadataError>> {
    let mut head = Vec::with_capacity(64 << 10);
    std::fs::File::open(path)?.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    Ok(read(&head))
}

/// Big-endian integers at an offset, `None` past the end.
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_photo() {
        assert_eq!(read(b""), Err(MetadataError::Empty));
        assert_eq!(read(b"hello, this is a text file named photo.jpg"), Err(MetadataError::NotAPhoto));
        assert_eq!(read(&[0xff, 0xd8, 0xff, 0xe0]), Err(MetadataError::NoSize(Format::Jpeg)));
    }

    #[test]
    fn refuses_60000_squared_before_decoding() {
        // A JPEG whose SOF0 announces 60,000 × 60,000.
        let mut j = vec![0xff, 0xd8, 0xff, 0xc0, 0, 11, 8];
        j.extend(60000u16.to_be_bytes());
        j.extend(60000u16.to_be_bytes());
        j.extend([1, 1, 0x11, 0]);
        let e = read(&j).expect_err("too large");
        assert!(matches!(e, MetadataError::TooLarge { width: 60000, height: 60000, .. }), "{e}");
        assert!(e.to_string().contains("60000 × 60000"));
    }
}
