//! When a photo was taken. EXIF stores the camera's wall-clock time (`2024:07:14 18:03:22`)
//! and, since EXIF 2.31, its offset from UTC (`+02:00`). Older cameras give no offset; a phone's
//! GPS time then tells it (the difference, rounded to a quarter hour). Without either, the wall
//! time is kept as it is and the timeline treats it as UTC, so a photo never moves to another day.

use serde::Serialize;

/// A moment as the camera's clock showed it, with its UTC offset when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TakenAt {
    /// Year (1800–9999).
    pub year: i32,
    /// 1–12.
    pub month: u8,
    /// 1–31 (checked against the month).
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–60 (a leap second is kept).
    pub second: u8,
    /// 0–999.
    pub millis: u16,
    /// Minutes east of UTC, when known.
    pub offset_minutes: Option<i16>,
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    hearth_core::calendar::days_from_civil(i64::from(year), i64::from(month), i64::from(day))
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// `+02:00`, `-0530`, `Z` → minutes east of UTC (at most ±14 h).
pub fn parse_offset(text: &str) -> Option<i16> {
    let t = text.trim();
    if t == "Z" {
        return Some(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let rest = rest.replace(':', "");
    if rest.len() != 4 || !rest.is_ascii() {
        return None;
    }
    let (h, m) = (digits(&rest[..2])?, digits(&rest[2..])?);
    let minutes = (h * 60 + m) as i16;
    (h <= 14 && m < 60 && minutes <= 14 * 60).then_some(sign * minutes)
}

impl TakenAt {
    /// Parse EXIF's `YYYY:MM:DD HH:MM:SS` (also with `-` in the date, a `T`, or a trailing
    /// offset as XMP writes). `None` for blanks (`0000:00:00 00:00:00`) and impossible dates.
    pub fn parse_exif(text: &str, subsec: Option<&str>, offset: Option<i16>) -> Option<TakenAt> {
        let t = text.trim().trim_end_matches('\0');
        if t.len() < 19 || !t.is_char_boundary(19) {
            return None;
        }
        let (main, tail) = t.split_at(19);
        let b = main.as_bytes();
        if !matches!(b[4], b':' | b'-') || !matches!(b[7], b':' | b'-') || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let year = digits(&main[0..4])? as i32;
        let month = digits(&main[5..7])? as u8;
        let day = digits(&main[8..10])? as u8;
        let hour = digits(&main[11..13])? as u8;
        let minute = digits(&main[14..16])? as u8;
        let second = digits(&main[17..19])? as u8;
        if !(1800..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        // XMP style: fraction and offset after the seconds.
        let (mut frac, mut tail_offset) = (None, None);
        let mut rest = tail;
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            frac = Some(&r[..end]);
            rest = &r[end..];
        }
        if !rest.is_empty() {
            tail_offset = parse_offset(rest);
        }
        let frac = subsec.map(str::trim).or(frac).filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
        let millis = frac.map(|f| {
            let mut s: String = f.chars().take(3).collect();
            while s.len() < 3 {
                s.push('0');
            }
            s.parse::<u16>().unwrap_or(0)
        });
        Some(TakenAt { year, month, day, hour, minute, second, millis: millis.unwrap_or(0), offset_minutes: offset.or(tail_offset) })
    }

    /// The wall time as if it were UTC, in Unix seconds.
    pub fn wall_seconds(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// Unix seconds: exact when the offset is known, the wall time read as UTC otherwise.
    pub fn unix_seconds(&self) -> i64 {
        self.wall_seconds() - i64::from(self.offset_minutes.unwrap_or(0)) * 60
    }

    /// Take the offset from the GPS clock when the camera gave none: the difference between the
    /// wall time and GPS UTC, rounded to 15 minutes, when it is a real zone offset (±14 h).
    pub fn with_gps_offset(mut self, gps_utc: Option<i64>) -> TakenAt {
        if self.offset_minutes.is_none()
            && let Some(utc) = gps_utc
        {
            let diff_min = (self.wall_seconds() - utc) as f64 / 60.0;
            let rounded = (diff_min / 15.0).round() * 15.0;
            // A GPS fix minutes before the shot is normal; a day apart is a stale fix.
            if rounded.abs() <= 14.0 * 60.0 && (diff_min - rounded).abs() <= 5.0 {
                self.offset_minutes = Some(rounded as i16);
            }
        }
        self
    }
}

/// GPS date (`YYYY:MM:DD`) and time of day (h, m, s rationals) → Unix seconds.
pub fn gps_utc(date: &str, h: f64, m: f64, s: f64) -> Option<i64> {
    let at = TakenAt::parse_exif(&format!("{} 00:00:00", date.trim()), None, Some(0))?;
    if !(0.0..24.0).contains(&h) || !(0.0..60.0).contains(&m) || !(0.0..61.0).contains(&s) {
        return None;
    }
    Some(at.wall_seconds() + (h * 3600.0 + m * 60.0 + s) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(days_from_civil(2024, 2, 29), 19782);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn exif_dates() {
        let t = TakenAt::parse_exif("2024:07:14 18:03:22", Some("47"), parse_offset("+02:00")).expect("date");
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis), (2024, 7, 14, 18, 3, 22, 470));
        assert_eq!(t.offset_minutes, Some(120));
        assert_eq!(t.unix_seconds(), 1_720_973_002);
        assert_eq!(TakenAt::parse_exif("0000:00:00 00:00:00", None, None), None);
        assert_eq!(TakenAt::parse_exif("2023:02:29 10:00:00", None, None), None, "not a leap year");
        assert_eq!(TakenAt::parse_exif("2024:07:14", None, None), None);
        assert_eq!(TakenAt::parse_exif("2024:07:14 1é:03:22", None, None), None);
        let x = TakenAt::parse_exif("2024-07-14T18:03:22.5-05:30", None, None).expect("xmp");
        assert_eq!((x.millis, x.offset_minutes), (500, Some(-330)));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+02:00"), Some(120));
        assert_eq!(parse_offset("-0930"), Some(-570));
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("+15:00"), None);
        assert_eq!(parse_offset("   :  "), None);
        assert_eq!(parse_offset("+2"), None);
    }

    #[test]
    fn offset_from_the_gps_clock() {
        let t = TakenAt::parse_exif("2024:07:14 18:03:22", None, None).expect("date");
        let gps = gps_utc("2024:07:14", 16.0, 2.0, 50.0);
        assert_eq!(t.with_gps_offset(gps).offset_minutes, Some(120));
        let stale = gps_utc("2024:07:10", 16.0, 2.0, 50.0);
        assert_eq!(t.with_gps_offset(stale).offset_minutes, None);
        let t = TakenAt::parse_exif("2024:07:14 18:03:22", None, Some(60)).expect("date");
        assert_eq!(t.with_gps_offset(gps).offset_minutes, Some(60), "the camera's own offset wins");
    }
}
