//! Photos arrive from phones, uploads and old disks: any bytes at all. Reading their metadata never
//! panics, and what it returns is sane: a size within the decoding limit, an orientation 1–8, a
//! real date, a position on Earth.
#![no_main]
use hearth_photos::metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = metadata::read(data) else { return };
    assert!(m.width > 0 && m.height > 0);
    assert!(u64::from(m.width) * u64::from(m.height) <= metadata::MAX_PIXELS);
    assert!((1..=8).contains(&m.orientation));
    if let Some(t) = m.taken_at {
        assert!((1..=12).contains(&t.month) && (1..=31).contains(&t.day) && t.hour < 24 && t.minute < 60 && t.millis < 1000);
        let _ = t.unix_seconds();
    }
    if let (Some(lat), Some(lon)) = (m.latitude, m.longitude) {
        assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
    }
});
