//! Videos (MP4, MOV, and Matroska/WebM): recognised by their first bytes, then described by
//! Debian's `ffprobe` in a child process under time and address-space limits
//! ([`hearth_platform::child`]): duration, the size as shown (the display matrix's rotation
//! applied), when it was filmed, where, and with which phone.
//!
//! When: iPhones write `com.apple.quicktime.creationdate` with the local time and its offset,
//! which is the best; otherwise the container's `creation_time`, which MP4 defines as UTC (the
//! moment is right, the local offset unknown). Where: the ISO 6709 string that iPhones
//! (`com.apple.quicktime.location.ISO6709`) and Android (`location`) write.
//!
//! ffprobe's JSON is parsed field by field with every field optional: what it reports comes from
//! the file, and a missing or odd value leaves that fact unknown rather than failing the video.

use std::path::Path;
use std::time::Duration;

use hearth_platform::child::{self, ChildError, Limits};
use serde::Deserialize;

use crate::metadata::TakenAt;

/// The prober.
pub const FFPROBE: &str = "ffprobe";
/// Its limits: probing reads headers only and takes well under a second.
pub const PROBE_LIMITS: Limits = Limits { time: Duration::from_secs(30), address_space: 1 << 30 };

/// A video container, from the first bytes of a file; `None` when it is not one we take.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"qt  " => Some("mov"),
            // Audio-only MPEG-4 files are not videos.
            b"M4A " | b"M4B " | b"M4P " => None,
            _ => Some("mp4"),
        };
    }
    if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return Some("matroska");
    }
    None
}

/// What ffprobe found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VideoMeta {
    /// Length.
    pub duration_ms: Option<i64>,
    /// Size as shown (rotation applied).
    pub width: Option<u32>,
    /// Size as shown (rotation applied).
    pub height: Option<u32>,
    /// When it was filmed.
    pub taken_at: Option<TakenAt>,
    /// Where.
    pub latitude: Option<f64>,
    /// Where.
    pub longitude: Option<f64>,
    /// The phone or camera.
    pub make: Option<String>,
    /// The phone or camera.
    pub model: Option<String>,
}

/// Why a video could not be described. Messages are for the family.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// No video stream (an audio file in an MP4 box, say).
    #[error("the file has no video in it")]
    NoVideo,
    /// ffprobe refused the file, hung, or is missing.
    #[error("the video cannot be read: {0}")]
    Probe(String),
}

/// Describe the video at `path` with ffprobe.
pub fn probe(path: &Path) -> Result<VideoMeta, VideoError> {
    let args = [
        "-v".as_ref(),
        "error".as_ref(),
        "-print_format".as_ref(),
        "json".as_ref(),
        "-show_format".as_ref(),
        "-show_streams".as_ref(),
        path.as_os_str(),
    ];
    let out = child::run::<&std::ffi::OsStr>(FFPROBE, &args, PROBE_LIMITS).map_err(|e| match e {
        ChildError::Missing { .. } => VideoError::Probe(format!("{FFPROBE} (Debian package ffmpeg) is not installed")),
        ChildError::Failed { stderr, .. } => VideoError::Probe(stderr.lines().last().unwrap_or("ffprobe failed").to_string()),
        other => VideoError::Probe(other.to_string()),
    })?;
    parse_probe(&out.stdout)
}

#[derive(Deserialize, Default)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
    #[serde(default)]
    format: Format,
}

#[derive(Deserialize, Default)]
struct Stream {
    codec_type: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    duration: Option<String>,
    #[serde(default)]
    tags: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    side_data_list: Vec<serde_json::Value>,
    disposition: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct Format {
    duration: Option<String>,
    #[serde(default)]
    tags: serde_json::Map<String, serde_json::Value>,
}

/// ffprobe's JSON (`-show_format -show_streams`) to what Hearth keeps.
pub fn parse_probe(json: &[u8]) -> Result<VideoMeta, VideoError> {
    let p: Probe = serde_json::from_slice(json).map_err(|e| VideoError::Probe(format!("ffprobe's answer is not JSON: {e}")))?;
    // The first video stream that is not a cover picture.
    let attached = |s: &Stream| s.disposition.as_ref().and_then(|d| d.get("attached_pic")).and_then(|v| v.as_i64()) == Some(1);
    let video = p.streams.iter().find(|s| s.codec_type.as_deref() == Some("video") && !attached(s)).ok_or(VideoError::NoVideo)?;
    let tag = |key: &str| -> Option<String> {
        let get = |m: &serde_json::Map<String, serde_json::Value>| m.get(key).and_then(|v| v.as_str()).map(str::to_string);
        get(&p.format.tags).or_else(|| get(&video.tags))
    };
    let seconds = |s: &Option<String>| s.as_deref().and_then(|d| d.trim().parse::<f64>().ok()).filter(|d| d.is_finite() && *d >= 0.0);
    let duration_ms = seconds(&p.format.duration).or_else(|| seconds(&video.duration)).map(|d| (d * 1000.0).round() as i64);
    let rotation = video
        .side_data_list
        .iter()
        .find_map(|d| d.get("rotation").and_then(|r| r.as_f64()))
        .or_else(|| video.tags.get("rotate").and_then(|r| r.as_str()).and_then(|r| r.parse().ok()))
        .unwrap_or(0.0);
    let quarter_turns = ((rotation / 90.0).round() as i64).rem_euclid(4);
    let (width, height) = match (video.width.filter(|w| *w > 0), video.height.filter(|h| *h > 0)) {
        (Some(w), Some(h)) if quarter_turns % 2 == 1 => (Some(h), Some(w)),
        (w, h) => (w, h),
    };
    let taken_at = tag("com.apple.quicktime.creationdate")
        .and_then(|t| TakenAt::parse_exif(&t, None, None))
        .or_else(|| {
            // UTC by definition: the moment is right, the local offset is not known.
            tag("creation_time").and_then(|t| TakenAt::parse_exif(&t, None, None)).map(|t| TakenAt { offset_minutes: None, ..t })
        })
        // Muxers write 1904-01-01 or 1970 when they have no date.
        .filter(|t| t.year > 1971);
    let (latitude, longitude) = tag("com.apple.quicktime.location.ISO6709")
        .or_else(|| tag("location"))
        .and_then(|l| parse_iso6709(&l))
        .map_or((None, None), |(a, b)| (Some(a), Some(b)));
    let make = tag("com.apple.quicktime.make").or_else(|| tag("com.android.manufacturer")).or_else(|| tag("make"));
    let model = tag("com.apple.quicktime.model").or_else(|| tag("com.android.model")).or_else(|| tag("model"));
    Ok(VideoMeta { duration_ms, width, height, taken_at, latitude, longitude, make, model })
}

/// `+48.8584+002.2945+035.000/` (ISO 6709, decimal degrees) → (latitude, longitude); `None` for
/// anything else, out-of-range values, and 0,0 (a phone without a fix).
pub fn parse_iso6709(text: &str) -> Option<(f64, f64)> {
    let t = text.trim().trim_end_matches('/');
    let mut numbers = Vec::new();
    let mut start = None;
    for (i, c) in t.char_indices() {
        if c == '+' || c == '-' {
            if let Some(s) = start {
                numbers.push(&t[s..i]);
            }
            start = Some(i);
        } else if !(c.is_ascii_digit() || c == '.') {
            return None;
        }
    }
    numbers.push(&t[start?..]);
    let lat: f64 = numbers.first()?.parse().ok()?;
    let lon: f64 = numbers.get(1)?.parse().ok()?;
    let valid = lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0 && (lat, lon) != (0.0, 0.0);
    valid.then_some((lat, lon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_told_apart_by_their_bytes() {
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\x02\0"), Some("mp4"));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\x02\0"), Some("mov"));
        assert_eq!(sniff(b"\0\0\0\x18ftypM4A \0\0\x02\0"), None);
        assert_eq!(sniff(&[0x1a, 0x45, 0xdf, 0xa3, 1, 0, 0, 0]), Some("matroska"));
        assert_eq!(sniff(b"hello"), None);
    }

    #[test]
    fn iso6709_positions() {
        assert_eq!(parse_iso6709("+48.8584+002.2945+035.000/"), Some((48.8584, 2.2945)));
        assert_eq!(parse_iso6709("-33.8688+151.2093/"), Some((-33.8688, 151.2093)));
        assert_eq!(parse_iso6709("+40.7128-074.0060/"), Some((40.7128, -74.006)));
        assert_eq!(parse_iso6709("+00.0000+000.0000/"), None);
        assert_eq!(parse_iso6709("+91.0+000.0/"), None);
        assert_eq!(parse_iso6709("north pole"), None);
        assert_eq!(parse_iso6709(""), None);
    }

    #[test]
    fn probe_json_with_odd_or_missing_fields_leaves_facts_unknown() {
        assert!(matches!(parse_probe(b"{}"), Err(VideoError::NoVideo)));
        assert!(matches!(parse_probe(b"not json"), Err(VideoError::Probe(_))));
        let m = parse_probe(br#"{"streams":[{"codec_type":"video","width":"wide","height":-3}],"format":{"duration":"NaN"}}"#);
        assert!(matches!(m, Err(VideoError::Probe(_))), "a width that is not a number is refused as a whole");
        let m = parse_probe(
            br#"{"streams":[{"codec_type":"audio"},{"codec_type":"video","width":1920,"height":1080,
                "side_data_list":[{"rotation":-90}]}],
                "format":{"duration":"12.5","tags":{"creation_time":"1904-01-01T00:00:00.000000Z","location":"+1+2/"}}}"#,
        )
        .expect("parse");
        assert_eq!((m.width, m.height, m.duration_ms), (Some(1080), Some(1920), Some(12500)));
        assert_eq!(m.taken_at, None, "the muxer's blank date");
        assert_eq!((m.latitude, m.longitude), (Some(1.0), Some(2.0)));
    }
}
