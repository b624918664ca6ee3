//! XMP: the XML packet photo software writes (Lightroom, digiKam, f-spot, phones' editors),
//! in JPEG's APP1 (`http://ns.adobe.com/xap/1.0/`), PNG's `iTXt` (`XML:com.adobe.xmp`) and WebP's
//! `XMP ` chunk. It fills what EXIF leaves out: the dates (captured: `exif:DateTimeOriginal`, else
//! `photoshop:DateCreated`; digitised: `exif:DateTimeDigitized`, else `xmp:CreateDate`; modified:
//! `xmp:ModifyDate`; each with its offset when written), camera,
//! lens, orientation and GPS (`exif:GPSLatitude` as `48,51.504N`).
//!
//! Not an XML parser: the properties Hearth reads are simple values, written either as an
//! element (`<tiff:Make>PENTAX</tiff:Make>`) or as an attribute of `rdf:Description`
//! (`tiff:Make="PENTAX"`), with the standard prefixes. Anything else is left unknown. Bounded
//! by the packet's size; never panics on any bytes.

use super::exif::{Exif, Gps};
use super::time::TakenAt;

/// What an XMP packet says, in the shape EXIF's values have.
pub fn parse(packet: &[u8]) -> Exif {
    let Ok(xml) = std::str::from_utf8(packet) else {
        // Some writers pad with NULs or other bytes after the packet: take the valid prefix.
        let valid = std::str::from_utf8(&packet[..utf8_prefix(packet)]).unwrap_or("");
        return parse_text(valid);
    };
    parse_text(xml)
}

fn utf8_prefix(b: &[u8]) -> usize {
    match std::str::from_utf8(b) {
        Ok(_) => b.len(),
        Err(e) => e.valid_up_to(),
    }
}

fn parse_text(xml: &str) -> Exif {
    let get = |name: &str| value(xml, name);
    let first_date = |names: &[&str]| names.iter().find_map(|name| get(name).and_then(|v| TakenAt::parse_exif(&v, None, None)));
    let taken_at = first_date(&["exif:DateTimeOriginal", "photoshop:DateCreated"]);
    let digitized_at = first_date(&["exif:DateTimeDigitized", "xmp:CreateDate"]);
    let modified_at = first_date(&["xmp:ModifyDate", "tiff:DateTime"]);
    let orientation = get("tiff:Orientation").and_then(|v| v.parse::<u16>().ok()).filter(|o| (1..=8).contains(o));
    let gps =
        match (get("exif:GPSLatitude").and_then(|v| coordinate(&v, 90.0)), get("exif:GPSLongitude").and_then(|v| coordinate(&v, 180.0))) {
            (Some(latitude), Some(longitude)) if (latitude, longitude) != (0.0, 0.0) => Some(Gps { latitude, longitude, altitude: None }),
            _ => None,
        };
    let lens = get("exifEX:LensModel").or_else(|| get("aux:Lens"));
    Exif {
        make: get("tiff:Make"),
        model: get("tiff:Model"),
        lens,
        orientation,
        taken_at,
        digitized_at,
        modified_at,
        pixels: None,
        gps,
        gps_utc: None,
    }
}

/// The value of property `name`, as an element or an attribute; trimmed, entities decoded,
/// `None` when empty or absent.
fn value(xml: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = xml.get(from..)?.find(name) {
        let at = from + pos;
        from = at + name.len();
        let before = xml[..at].chars().last();
        let rest = &xml[from..];
        let raw = if before == Some('<') {
            // <name>value</name> or <name attr="…">value</name>; not a nested structure.
            let open_end = rest.find('>')?;
            if rest[..open_end].ends_with('/') {
                continue;
            }
            let body = &rest[open_end + 1..];
            let close = body.find("</")?;
            let text = &body[..close];
            if text.contains('<') {
                continue;
            }
            text
        } else if before.is_some_and(char::is_whitespace) {
            // name="value" inside a tag.
            let r = rest.trim_start();
            let Some(r) = r.strip_prefix('=') else { continue };
            let r = r.trim_start();
            let Some(quote) = r.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
            let body = &r[1..];
            let end = body.find(quote)?;
            &body[..end]
        } else {
            continue;
        };
        let v = decode_entities(raw.trim());
        if !v.is_empty() {
            return Some(v);
        }
    }
    None
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// XMP's GPS coordinate, `DDD,MM.mmmk` or `DDD,MM,SSk` (k one of N S E W), to signed degrees.
fn coordinate(v: &str, max: f64) -> Option<f64> {
    let v = v.trim();
    let hemisphere = v.chars().last()?;
    let sign = match hemisphere.to_ascii_uppercase() {
        'N' | 'E' => 1.0,
        'S' | 'W' => -1.0,
        _ => return None,
    };
    let numbers: Vec<f64> =
        v[..v.len() - hemisphere.len_utf8()].split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().ok()?;
    let degrees = match numbers[..] {
        [d, m] => d + m / 60.0,
        [d, m, s] => d + m / 60.0 + s / 3600.0,
        _ => return None,
    };
    (degrees.is_finite() && (0.0..=max).contains(&degrees)).then_some(sign * degrees)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_and_attributes_with_dates_in_order_of_preference() {
        let x = br#"<x:xmpmeta><rdf:RDF><rdf:Description rdf:about="" xmlns:tiff="t" tiff:Make="Canon" tiff:Orientation="6"
            exif:GPSLatitude="48,51.504N" exif:GPSLongitude="2,17.67E">
            <tiff:Model>EOS R6 &amp; co</tiff:Model>
            <xmp:CreateDate>2020-01-01T10:00:00</xmp:CreateDate>
            <photoshop:DateCreated>2019-06-01T08:30:00+02:00</photoshop:DateCreated>
            <dc:title><rdf:Alt><rdf:li xml:lang="x-default">tiff:Lens</rdf:li></rdf:Alt></dc:title>
            </rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let m = parse(x);
        assert_eq!((m.make.as_deref(), m.model.as_deref(), m.orientation), (Some("Canon"), Some("EOS R6 & co"), Some(6)));
        let t = m.taken_at.expect("date");
        assert_eq!((t.year, t.month, t.hour, t.offset_minutes), (2019, 6, 8, Some(120)));
        assert_eq!(m.digitized_at.map(|t| t.year), Some(2020), "xmp:CreateDate is when it was digitised");
        let g = m.gps.expect("gps");
        assert!((g.latitude - 48.8584).abs() < 1e-4 && (g.longitude - 2.2945).abs() < 1e-4);
        assert_eq!(m.lens, None);
    }

    #[test]
    fn odd_packets_leave_facts_unknown() {
        assert_eq!(parse(b""), Exif::default());
        assert_eq!(parse(b"<tiff:Make>"), Exif::default());
        assert_eq!(parse(b"tiff:Make=\"unterminated"), Exif::default());
        assert_eq!(parse(b"<tiff:Make/><tiff:Orientation>9</tiff:Orientation>"), Exif::default());
        assert_eq!(coordinate("91,0N", 90.0), None);
        assert_eq!(coordinate("10,30,36S", 90.0), Some(-10.51));
        assert_eq!(coordinate("E", 180.0), None);
        let mut bad = b"<tiff:Make>Nikon</tiff:Make>".to_vec();
        bad.extend([0xff, 0xfe, 0]);
        assert_eq!(parse(&bad).make.as_deref(), Some("Nikon"));
    }
}
