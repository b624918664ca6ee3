//! Every photo that arrives (sync, uploads, share links) is decoded by the thumbnail worker:
//! JPEG (with the repair of damaged files), PNG (palette, 16-bit, gamma, interlaced) and WebP
//! from any bytes. Decoding never panics; a thumbnail it makes is a JPEG of the size asked for.
//! Pictures the header says are over 4 megapixels are left out so each run stays small.
#![no_main]
use hearth_photos::{metadata, thumbnail};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = metadata::read(data)
        && u64::from(m.width) * u64::from(m.height) > 4_000_000
    {
        return;
    }
    if let Ok(thumbs) = thumbnail::make(data, &[64]) {
        for t in thumbs {
            assert!(t.width.max(t.height) <= 64 && t.width > 0 && t.height > 0);
            assert!(t.jpeg.starts_with(&[0xff, 0xd8]));
        }
    }
});
