//! What ffprobe reports comes from the video file: any text at all in its tags. Reading its JSON
//! never panics, and what comes out is sane: a position on Earth, a real date, sizes above zero.
#![no_main]
use hearth_photos::video;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Some((lat, lon)) = video::parse_iso6709(text)
    {
        assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
    }
    let Ok(m) = video::parse_probe(data) else { return };
    assert!(m.width.is_none_or(|w| w > 0) && m.height.is_none_or(|h| h > 0));
    assert!(m.duration_ms.is_none_or(|d| d >= 0));
    if let Some(t) = m.taken_at {
        assert!((1..=12).contains(&t.month) && (1..=31).contains(&t.day) && t.hour < 24);
        let _ = t.unix_seconds();
    }
    if let (Some(lat), Some(lon)) = (m.latitude, m.longitude) {
        assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
    }
});
