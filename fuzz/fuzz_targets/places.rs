//! The place names file comes from the card, which can be damaged. The fuzzer's bytes get a valid
//! checksum appended (otherwise nearly every input would stop there), so the structure itself is
//! explored: parsing never panics or over-allocates, and lookups in what parses stay sane.
#![no_main]
use hearth_photos::places::Places;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = b"HRTHPLC1".to_vec();
    file.extend_from_slice(data);
    let sum = ring::digest::digest(&ring::digest::SHA256, &file);
    file.extend_from_slice(sum.as_ref());
    let Ok(places) = Places::parse(&file) else { return };
    for (lat, lon) in [(0.0, 0.0), (48.85, 2.35), (-89.9, 179.9), (89.9, -179.9)] {
        if let Some(p) = places.lookup(lat, lon) {
            let _ = (p.city.len(), p.region, p.country.len());
        }
    }
});
