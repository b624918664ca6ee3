//! Metadata of real files, made here by programs nobody on this project wrote: ImageMagick draws
//! the pictures, exiftool writes the EXIF (dates with offsets, GPS, camera, lens, orientation, both
//! byte orders), libheif's heif-enc makes HEIC the way a phone's encoder would. scripts/test
//! installs them (imagemagick, libimage-exiftool-perl, libheif-examples).

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_photos::metadata::{self, Format, MetadataError};

fn run(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| {
        panic!("{program} is needed ({e}): apt-get install imagemagick libimage-exiftool-perl libheif-examples (scripts/test does)")
    });
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A 64 × 48 picture in `name` (the extension picks the format), with exiftool's `tags` written.
fn photo(dir: &Path, name: &str, extra: &[&str], tags: &[&str]) -> PathBuf {
    let mut args = vec!["-size", "64x48", "gradient:red-blue"];
    args.extend(extra);
    args.push(name);
    run("convert", &args, dir);
    if !tags.is_empty() {
        let mut args = vec!["-q", "-overwrite_original"];
        args.extend(tags);
        args.push(name);
        run("exiftool", &args, dir);
    }
    dir.join(name)
}

fn read(path: &Path) -> metadata::Metadata {
    metadata::read_file(path).expect("read").unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const CAMERA: &[&str] = &[
    "-DateTimeOriginal=2024:07:14 18:03:22",
    "-OffsetTimeOriginal=+02:00",
    "-SubSecTimeOriginal=47",
    "-GPSLatitude=48.8584",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=2.2945",
    "-GPSLongitudeRef=E",
    "-GPSAltitude=35",
    "-GPSAltitudeRef=0",
    "-Make=Canon",
    "-Model=Canon EOS R6",
    "-LensMake=Canon",
    "-LensModel=RF24-105mm F4 L IS USM",
    "-Orientation#=6",
];

fn check_camera(m: &metadata::Metadata) {
    let t = m.taken_at.expect("date");
    assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis), (2024, 7, 14, 18, 3, 22, 470));
    assert_eq!(t.offset_minutes, Some(120));
    assert_eq!(t.unix_seconds(), 1_720_973_002, "16:03:22 UTC");
    assert!((m.latitude.expect("lat") - 48.8584).abs() < 1e-4, "{m:?}");
    assert!((m.longitude.expect("lon") - 2.2945).abs() < 1e-4, "{m:?}");
    assert!((m.altitude.expect("alt") - 35.0).abs() < 1e-6);
    assert_eq!(m.make.as_deref(), Some("Canon"));
    assert_eq!(m.model.as_deref(), Some("Canon EOS R6"));
    assert_eq!(m.lens.as_deref(), Some("Canon RF24-105mm F4 L IS USM"), "the lens maker, then the model");
}

#[test]
fn jpeg_from_a_camera_in_both_byte_orders() {
    let dir = tempfile::tempdir().expect("tempdir");
    for order in ["MM", "II"] {
        let mut tags = CAMERA.to_vec();
        let order_tag = format!("-ExifByteOrder={order}");
        tags.push(&order_tag);
        let path = photo(dir.path(), &format!("{order}.jpg"), &[], &tags);
        let m = read(&path);
        assert_eq!(m.format, Format::Jpeg);
        assert_eq!((m.width, m.height), (64, 48));
        assert_eq!(m.orientation, 6);
        assert_eq!(m.display_size(), (48, 64), "a portrait shot stored sideways");
        check_camera(&m);
    }
}

#[test]
fn png_and_webp_carry_exif_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tags = [
        "-DateTimeOriginal=2023:01:02 03:04:05",
        "-Model=Pixel 8",
        "-GPSLatitude=33.8688",
        "-GPSLatitudeRef=S",
        "-GPSLongitude=151.2093",
        "-GPSLongitudeRef=E",
    ];
    for (name, extra, format) in [
        ("p.png", &[][..], Format::Png),
        ("lossy.webp", &[][..], Format::Webp),
        ("lossless.webp", &["-define", "webp:lossless=true"][..], Format::Webp),
    ] {
        let m = read(&photo(dir.path(), name, extra, &tags));
        assert_eq!(m.format, format, "{name}");
        assert_eq!((m.width, m.height), (64, 48), "{name}");
        assert_eq!(m.model.as_deref(), Some("Pixel 8"), "{name}");
        assert_eq!(m.taken_at.map(|t| (t.year, t.second, t.offset_minutes)), Some((2023, 5, None)), "{name}");
        assert!((m.latitude.expect("lat") + 33.8688).abs() < 1e-4, "south is negative: {name}");
    }
    // WebP without EXIF: the size from each bitstream header.
    for (name, extra) in [("plain.webp", &[][..]), ("plain-lossless.webp", &["-define", "webp:lossless=true"][..])] {
        let m = read(&photo(dir.path(), name, extra, &[]));
        assert_eq!((m.width, m.height, m.taken_at), (64, 48, None), "{name}");
    }
}

#[test]
fn heic_keeps_the_exif_of_the_jpeg_it_was_encoded_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    photo(dir.path(), "src.jpg", &[], CAMERA);
    run("heif-enc", &["-q", "50", "src.jpg", "-o", "photo.heic"], dir.path());
    let m = read(&dir.path().join("photo.heic"));
    assert_eq!(m.format, Format::Heif);
    check_camera(&m);
    // In HEIF the container's transforms (irot) decide which way is up, not EXIF: the size shown
    // must be what libheif's own decoder produces.
    run("heif-convert", &["photo.heic", "decoded.png"], dir.path());
    let decoded = read(&dir.path().join("decoded.png"));
    assert_eq!(m.display_size(), (decoded.width, decoded.height), "{m:?}");
}

#[test]
fn the_gps_clock_gives_the_offset_an_old_camera_did_not_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = read(&photo(
        dir.path(),
        "old.jpg",
        &[],
        &[
            "-DateTimeOriginal=2019:12:31 23:30:00",
            "-GPSDateStamp=2020:01:01",
            "-GPSTimeStamp=04:29:41",
            "-GPSLatitude=40.7",
            "-GPSLongitude=74.0",
            "-GPSLongitudeRef=W",
        ],
    ));
    let t = m.taken_at.expect("date");
    assert_eq!(t.offset_minutes, Some(-300), "New York in winter");
    assert!(m.longitude.expect("lon") < 0.0);
}

#[test]
fn bad_files_get_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "this is a shopping list, not a photo").expect("write");
    assert_eq!(metadata::read_file(&text).expect("read"), Err(MetadataError::NotAPhoto));
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").expect("write");
    assert_eq!(metadata::read_file(&empty).expect("read"), Err(MetadataError::Empty));

    // A real JPEG cut at every length: never a panic; with its frame header, its size.
    let full = std::fs::read(photo(dir.path(), "cut.jpg", &[], CAMERA)).expect("jpeg");
    for n in 0..full.len() {
        let _ = metadata::read(&full[..n]);
    }
    // EXIF with garbage in it: the size still comes from the frame header.
    let mut broken = full.clone();
    let exif_at = broken.windows(6).position(|w| w == b"Exif\0\0").expect("exif") + 6;
    for b in &mut broken[exif_at + 8..exif_at + 200] {
        *b = 0xee;
    }
    let m = metadata::read(&broken).expect("still a photo");
    assert_eq!((m.width, m.height), (64, 48));
}

/// The date a photo is placed at follows the order the photo world uses: when it was captured
/// (EXIF, then XMP, then IPTC) before when it was digitised, and an edit's modify date only
/// when nothing else is known: an edited photo does not jump to its edit's day.
#[test]
fn dates_follow_capture_then_digitised_then_modified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let taken = |name: &str, tags: &[&str]| {
        let file = photo(dir.path(), name, &[], tags);
        metadata::read(&std::fs::read(file).expect("read"))
            .expect("metadata")
            .taken_at
            .map(|t| (t.year, t.month, t.day, t.hour, t.offset_minutes))
    };
    // Edited in a photo editor: IFD0's ModifyDate is the edit, XMP keeps the capture.
    assert_eq!(
        taken("edited.jpg", &["-ModifyDate=2024:01:02 03:04:05", "-XMP-exif:DateTimeOriginal=2019:08:07 06:05:04+02:00"]),
        Some((2019, 8, 7, 6, Some(120)))
    );
    // A press photo: only IPTC's DateCreated and TimeCreated, and a later ModifyDate.
    assert_eq!(
        taken("press.jpg", &["-ModifyDate=2024:01:02 03:04:05", "-IPTC:DateCreated=2018:05:04", "-IPTC:TimeCreated=10:11:12-05:00"]),
        Some((2018, 5, 4, 10, Some(-300)))
    );
    // A scan: DateTimeDigitized beats the later ModifyDate.
    assert_eq!(
        taken("scan.jpg", &["-ModifyDate=2024:01:02 03:04:05", "-DateTimeDigitized=2010:03:04 05:06:07"]),
        Some((2010, 3, 4, 5, None))
    );
    // EXIF's own capture date beats everything.
    assert_eq!(
        taken(
            "camera.jpg",
            &["-DateTimeOriginal=2015:06:07 08:09:10", "-XMP-exif:DateTimeOriginal=2016:01:01 00:00:00", "-IPTC:DateCreated=2017:01:01"]
        ),
        Some((2015, 6, 7, 8, None))
    );
    // Only a modify date: better than nothing (then the file's own time).
    assert_eq!(taken("only-modified.jpg", &["-ModifyDate=2024:01:02 03:04:05"]), Some((2024, 1, 2, 3, None)));
}
