//! EXIF: a TIFF structure (byte order, then linked IFDs of 12-byte entries) as cameras, phones
//! and exiftool write it. Only the tags the library shows are read: date taken with its sub-second
//! and offset, camera, lens, orientation, pixel size, GPS position and GPS time.
//!
//! Every offset is checked against the buffer; IFDs are visited once each (a loop in the chain
//! ends the walk) and at most [`MAX_ENTRIES`] entries are read, so malformed EXIF costs little
//! and yields what could be read.

use super::time::TakenAt;

/// Entries read across all IFDs, at most.
pub const MAX_ENTRIES: usize = 4096;

/// What the EXIF block says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exif {
    /// Camera maker (`Make`), trimmed.
    pub make: Option<String>,
    /// Camera model (`Model`), trimmed.
    pub model: Option<String>,
    /// Lens (`LensModel`, with `LensMake` when the model does not already name it).
    pub lens: Option<String>,
    /// 1–8 as in TIFF: 1 upright, 6 needs a 90° clockwise turn, …
    pub orientation: Option<u16>,
    /// When it was captured: `DateTimeOriginal`, with `SubSecTimeOriginal` and
    /// `OffsetTimeOriginal` when present.
    pub taken_at: Option<TakenAt>,
    /// When it was digitised (`DateTimeDigitized`: a scan's date, or the capture again).
    pub digitized_at: Option<TakenAt>,
    /// When the file was last changed (`DateTime` in IFD0, "ModifyDate"): an edit's date, used
    /// only when nothing says when the photo was taken.
    pub modified_at: Option<TakenAt>,
    /// `PixelXDimension` × `PixelYDimension` (or the TIFF image size).
    pub pixels: Option<(u32, u32)>,
    /// Latitude and longitude in degrees (south and west negative), altitude in metres.
    pub gps: Option<Gps>,
    /// The GPS receiver's UTC time, as Unix seconds.
    pub gps_utc: Option<i64>,
}

/// A position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gps {
    /// Degrees north (negative: south).
    pub latitude: f64,
    /// Degrees east (negative: west).
    pub longitude: f64,
    /// Metres above sea level, when recorded.
    pub altitude: Option<f64>,
}

#[derive(Clone, Copy)]
struct Tiff<'a> {
    data: &'a [u8],
    big_endian: bool,
}

impl<'a> Tiff<'a> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at.checked_add(2)?)?;
        Some(if self.big_endian { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.data.get(at..at.checked_add(4)?)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if self.big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    }
}

/// One IFD entry, with its value's bytes located.
#[derive(Clone, Copy)]
struct Entry<'a> {
    tag: u16,
    kind: u16,
    count: u32,
    value: &'a [u8],
    tiff: Tiff<'a>,
}

fn type_size(kind: u16) -> Option<usize> {
    Some(match kind {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 => 4,
        5 | 10 | 12 => 8,
        _ => return None,
    })
}

impl<'a> Entry<'a> {
    fn text(&self) -> Option<String> {
        if self.kind != 2 && self.kind != 7 {
            return None;
        }
        let raw = self.value.split(|b| *b == 0).next().unwrap_or(&[]);
        let text = String::from_utf8_lossy(raw).trim().to_string();
        (!text.is_empty()).then_some(text)
    }

    fn uint(&self, i: usize) -> Option<u32> {
        let t = Tiff { data: self.value, big_endian: self.tiff.big_endian };
        match self.kind {
            1 | 7 => self.value.get(i).map(|b| u32::from(*b)),
            3 => t.u16_at(i * 2).map(u32::from),
            4 => t.u32_at(i * 4),
            _ => None,
        }
    }

    fn rational(&self, i: usize) -> Option<f64> {
        let t = Tiff { data: self.value, big_endian: self.tiff.big_endian };
        let (n, d) = (t.u32_at(i * 8)?, t.u32_at(i * 8 + 4)?);
        match self.kind {
            5 if d != 0 => Some(f64::from(n) / f64::from(d)),
            10 if d != 0 => Some(f64::from(n as i32) / f64::from(d as i32)),
            _ => None,
        }
    }
}

/// Walk one IFD, calling `f` for each entry; returns the next IFD's offset.
fn walk<'a>(tiff: Tiff<'a>, offset: usize, budget: &mut usize, mut f: impl FnMut(Entry<'a>)) -> Option<usize> {
    let count = usize::from(tiff.u16_at(offset)?);
    for i in 0..count {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        let at = offset + 2 + i * 12;
        let (Some(tag), Some(kind), Some(n)) = (tiff.u16_at(at), tiff.u16_at(at + 2), tiff.u32_at(at + 4)) else { return None };
        let Some(size) = type_size(kind).and_then(|s| s.checked_mul(n as usize)) else { continue };
        let value = if size <= 4 {
            tiff.data.get(at + 8..at + 8 + size)
        } else {
            tiff.u32_at(at + 8).and_then(|o| tiff.data.get(o as usize..(o as usize).checked_add(size)?))
        };
        if let Some(value) = value {
            f(Entry { tag, kind, count: n, value, tiff });
        }
    }
    tiff.u32_at(offset + 2 + count * 12).map(|n| n as usize).filter(|n| *n != 0)
}

/// Parse a TIFF/EXIF block (starting at the `II*\0` or `MM\0*` header). `None` when it is not one.
pub fn parse(data: &[u8]) -> Option<Exif> {
    let big_endian = match data.get(..4)? {
        [b'I', b'I', 42, 0] => false,
        [b'M', b'M', 0, 42] => true,
        _ => return None,
    };
    let tiff = Tiff { data, big_endian };
    let mut exif = Exif::default();
    let mut budget = MAX_ENTRIES;
    let mut visited = Vec::new();
    let (mut exif_ifd, mut gps_ifd) = (None, None);
    let (mut date_time, mut lens_make) = (None, None);
    let mut tiff_size = (None, None);

    // IFD0 and the chain after it (IFD1 is the thumbnail's: only pointers are taken from it).
    let mut next = tiff.u32_at(4).map(|o| o as usize);
    let mut first = true;
    while let Some(offset) = next {
        if visited.contains(&offset) || visited.len() > 8 {
            break;
        }
        visited.push(offset);
        let is_first = first;
        next = walk(tiff, offset, &mut budget, |e| match e.tag {
            0x010f if is_first => exif.make = e.text(),
            0x0110 if is_first => exif.model = e.text(),
            0x0112 if is_first => exif.orientation = e.uint(0).and_then(|o| u16::try_from(o).ok()).filter(|o| (1..=8).contains(o)),
            0x0132 if is_first => date_time = e.text(),
            0x0100 if is_first => tiff_size.0 = e.uint(0),
            0x0101 if is_first => tiff_size.1 = e.uint(0),
            0x8769 => exif_ifd = exif_ifd.or(e.uint(0).map(|o| o as usize)),
            0x8825 => gps_ifd = gps_ifd.or(e.uint(0).map(|o| o as usize)),
            _ => {}
        });
        first = false;
    }

    // The Exif IFD.
    let (mut original, mut digitized, mut offset_original, mut offset_digitized, mut offset_any) = (None, None, None, None, None);
    let (mut subsec_original, mut subsec_digitized, mut subsec_any) = (None, None, None);
    let mut pixels = (None, None);
    if let Some(offset) = exif_ifd.filter(|o| !visited.contains(o)) {
        visited.push(offset);
        walk(tiff, offset, &mut budget, |e| match e.tag {
            0x9003 => original = e.text(),
            0x9004 => digitized = e.text(),
            0x9011 => offset_original = e.text(),
            0x9012 => offset_digitized = e.text(),
            0x9010 => offset_any = e.text(),
            0x9291 => subsec_original = e.text(),
            0x9292 => subsec_digitized = e.text(),
            0x9290 => subsec_any = e.text(),
            0xa002 => pixels.0 = e.uint(0),
            0xa003 => pixels.1 = e.uint(0),
            0xa434 => exif.lens = e.text(),
            0xa433 => lens_make = e.text(),
            _ => {}
        });
    }
    if let (Some(lens), Some(maker)) = (&exif.lens, &lens_make)
        && !lens.to_lowercase().contains(&maker.to_lowercase())
    {
        exif.lens = Some(format!("{maker} {lens}"));
    }
    // Each date with its own sub-second and offset tags; a camera that wrote only the plain
    // OffsetTime meant it for all three.
    let offset = |own: &Option<String>| own.as_deref().or(offset_any.as_deref()).and_then(super::time::parse_offset);
    let date = |text: Option<String>, subsec: &Option<String>, own_offset: &Option<String>| {
        TakenAt::parse_exif(&text?, subsec.as_deref().or(subsec_any.as_deref()), offset(own_offset))
    };
    exif.taken_at = date(original, &subsec_original, &offset_original);
    exif.digitized_at = date(digitized, &subsec_digitized, &offset_digitized);
    exif.modified_at = date(date_time, &subsec_any, &offset_any);
    exif.pixels = match (pixels, tiff_size) {
        ((Some(w), Some(h)), _) | (_, (Some(w), Some(h))) if w > 0 && h > 0 => Some((w, h)),
        _ => None,
    };

    // The GPS IFD.
    if let Some(offset) = gps_ifd.filter(|o| !visited.contains(o)) {
        let mut lat_ref = None;
        let mut lon_ref = None;
        let (mut lat, mut lon, mut alt, mut alt_below, mut time, mut date) = (None, None, None, false, None, None);
        let dms = |e: &Entry<'_>| -> Option<f64> {
            if e.count < 3 {
                return None;
            }
            Some(e.rational(0)? + e.rational(1)? / 60.0 + e.rational(2)? / 3600.0)
        };
        walk(tiff, offset, &mut budget, |e| match e.tag {
            1 => lat_ref = e.text(),
            2 => lat = dms(&e),
            3 => lon_ref = e.text(),
            4 => lon = dms(&e),
            5 => alt_below = e.uint(0) == Some(1),
            6 => alt = e.rational(0),
            7 if e.count >= 3 => time = (|| Some((e.rational(0)?, e.rational(1)?, e.rational(2)?)))(),
            0x1d => date = e.text(),
            _ => {}
        });
        if let (Some(lat), Some(lon)) = (lat, lon) {
            let lat = if lat_ref.as_deref() == Some("S") { -lat } else { lat };
            let lon = if lon_ref.as_deref() == Some("W") { -lon } else { lon };
            // 0,0 is what a phone writes before it has a fix.
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && !(lat == 0.0 && lon == 0.0) {
                exif.gps = Some(Gps { latitude: lat, longitude: lon, altitude: alt.map(|a| if alt_below { -a } else { a }) });
            }
        }
        if let (Some(date), Some((h, m, s))) = (date, time) {
            exif.gps_utc = super::time::gps_utc(&date, h, m, s);
        }
    }
    Some(exif)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian TIFF with the given IFD0 entries (values inline or after the IFD).
    pub(crate) fn tiff(entries: &[(u16, u16, u32, Vec<u8>)]) -> Vec<u8> {
        let mut out = b"II*\0".to_vec();
        out.extend(8u32.to_le_bytes());
        let ifd_len = 2 + entries.len() * 12 + 4;
        let mut extra: Vec<u8> = Vec::new();
        out.extend((entries.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(count.to_le_bytes());
            if value.len() <= 4 {
                let mut v = value.clone();
                v.resize(4, 0);
                out.extend(v);
            } else {
                out.extend(((8 + ifd_len + extra.len()) as u32).to_le_bytes());
                extra.extend(value);
            }
        }
        out.extend(0u32.to_le_bytes());
        out.extend(extra);
        out
    }

    #[test]
    fn reads_ifd0_text_and_orientation() {
        let t =
            tiff(&[(0x010f, 2, 6, b"Canon\0".to_vec()), (0x0110, 2, 4, b"EOS\0".to_vec()), (0x0112, 3, 1, 6u16.to_le_bytes().to_vec())]);
        let e = parse(&t).expect("tiff");
        assert_eq!(e.make.as_deref(), Some("Canon"));
        assert_eq!(e.model.as_deref(), Some("EOS"));
        assert_eq!(e.orientation, Some(6));
    }

    #[test]
    fn malformed_input_yields_what_it_can() {
        assert_eq!(parse(b"nope"), None);
        assert_eq!(parse(b"II*\0"), Some(Exif::default()));
        // An IFD pointing at itself: visited once.
        let mut t = tiff(&[(0x010f, 2, 2, b"A\0".to_vec())]);
        let n = t.len();
        t[n - 4..].copy_from_slice(&8u32.to_le_bytes());
        assert_eq!(parse(&t).expect("tiff").make.as_deref(), Some("A"));
        // A value offset past the end, a count that overflows.
        let t = tiff(&[(0x010f, 2, 100, vec![0xff, 0xff, 0, 0]), (0x0110, 5, u32::MAX, vec![0; 4])]);
        assert_eq!(parse(&t).expect("tiff").make, None);
    }
}
