//! IPTC-IIM, as Photoshop and press tools write it into JPEG's APP13 (`Photoshop 3.0\0`, then
//! 8BIM image resources; resource 0x0404 holds the IPTC datasets). Only the capture date is
//! read: record 2, DateCreated (dataset 55, `CCYYMMDD`) with TimeCreated (dataset 60,
//! `HHMMSS±HHMM`). A photo may carry several APP13 segments; the datasets of all are read in
//! order. Every length is checked against the bytes; never panics on any input.

use super::time::{TakenAt, parse_offset};

/// The signature APP13 starts with.
pub(super) const PHOTOSHOP: &[u8] = b"Photoshop 3.0\0";

/// The IPTC-NAA resource's bytes among the 8BIM resources of an APP13 body (after
/// [`PHOTOSHOP`]).
pub(super) fn iptc_resource(mut b: &[u8]) -> Option<&[u8]> {
    // 8BIM, id (2), Pascal name padded to an even length, size (4), data padded to even.
    while b.len() >= 12 && &b[..4] == b"8BIM" {
        let id = u16::from_be_bytes([b[4], b[5]]);
        let name_len = usize::from(b[6]);
        let name_field = (1 + name_len + 1) & !1;
        let at = 6 + name_field;
        let size = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        let data = b.get(at + 4..(at + 4).checked_add(size)?)?;
        if id == 0x0404 {
            return Some(data);
        }
        b = b.get(at + 4 + ((size + 1) & !1)..)?;
    }
    None
}

/// The capture date of IPTC datasets (the concatenated IPTC resources of a file).
pub(super) fn date_created(datasets: &[u8]) -> Option<TakenAt> {
    let (mut date, mut time) = (None, None);
    let mut at = 0;
    while let (Some(&0x1c), Some(&record), Some(&dataset)) = (datasets.get(at), datasets.get(at + 1), datasets.get(at + 2)) {
        let len = u16::from_be_bytes([*datasets.get(at + 3)?, *datasets.get(at + 4)?]);
        // A set high bit announces an extended length: no date is that long; stop reading.
        if len & 0x8000 != 0 {
            break;
        }
        let value = datasets.get(at + 5..at + 5 + usize::from(len))?;
        match (record, dataset) {
            (2, 55) if date.is_none() => date = std::str::from_utf8(value).ok(),
            (2, 60) if time.is_none() => time = std::str::from_utf8(value).ok(),
            _ => {}
        }
        at += 5 + usize::from(len);
    }
    let date = date?.trim();
    let digits = |s: &str| s.len() >= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if date.len() != 8 || !digits(date) {
        return None;
    }
    // Without a time the photo is placed at noon of its day, as photo managers do.
    let (clock, offset) = match time.map(str::trim) {
        Some(t) if t.len() >= 6 && digits(&t[..6]) => (format!("{}:{}:{}", &t[..2], &t[2..4], &t[4..6]), parse_offset(&t[6..])),
        _ => ("12:00:00".to_string(), None),
    };
    TakenAt::parse_exif(&format!("{}:{}:{} {clock}", &date[..4], &date[4..6], &date[6..8]), None, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(record: u8, number: u8, value: &[u8]) -> Vec<u8> {
        let mut d = vec![0x1c, record, number];
        d.extend((value.len() as u16).to_be_bytes());
        d.extend(value);
        d
    }

    fn resources(iptc: &[u8]) -> Vec<u8> {
        let mut b = b"8BIM\x04\x25\x00\x00".to_vec(); // another resource first (a digest), empty name
        b.extend(16u32.to_be_bytes());
        b.extend([7u8; 16]);
        b.extend(b"8BIM\x04\x04\x03abc"); // an odd-length name, padded to even with its length byte
        b.extend((iptc.len() as u32).to_be_bytes());
        b.extend(iptc);
        b
    }

    #[test]
    fn date_and_time_created_with_offset() {
        let mut iptc = dataset(2, 0, &[0, 4]);
        iptc.extend(dataset(2, 55, b"20191014"));
        iptc.extend(dataset(2, 60, b"150020+0200"));
        let all = resources(&iptc);
        let found = iptc_resource(&all).expect("resource");
        let t = date_created(found).expect("date");
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second, t.offset_minutes), (2019, 10, 14, 15, 0, 20, Some(120)));
    }

    #[test]
    fn a_date_alone_is_noon_and_broken_datasets_give_nothing() {
        let t = date_created(&dataset(2, 55, b"20000229")).expect("date");
        assert_eq!((t.month, t.day, t.hour, t.offset_minutes), (2, 29, 12, None));
        assert_eq!(date_created(&dataset(2, 55, b"20010229")), None, "no 29 February in 2001");
        assert_eq!(date_created(&dataset(2, 55, b"2019")), None);
        assert_eq!(date_created(&[0x1c, 2, 55, 0xff]), None);
        assert_eq!(date_created(&[0x1c, 2, 55, 0x80, 4, 0, 0, 0, 8]), None);
        assert_eq!(iptc_resource(b"8BIM\x04\x04\x00\x00\xff\xff\xff\xff"), None);
        assert_eq!(iptc_resource(b""), None);
    }
}
