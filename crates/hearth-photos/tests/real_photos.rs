//! Real photos as a package ships them (scikit-image's sample images, fetched by
//! `scripts/sample-photos`, pinned by checksum): every one is recognised with the size ImageMagick
//! sees, thumbnailed, and a real camera's XMP (a PENTAX K100D photo) gives its camera and date.

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_photos::metadata::{self, Format};
use hearth_photos::thumbnail::{self, GRID, VIEW};

fn samples() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(root.join("scripts/sample-photos")).status().expect("scripts/sample-photos");
    assert!(status.success(), "scripts/sample-photos failed");
    root.join("target/sample-photos")
}

fn identify(file: &Path) -> (u32, u32) {
    let out = Command::new("identify").args(["-format", "%w %h\n"]).arg(file).output().expect("identify (imagemagick)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.lines().next().unwrap_or("").split(' ').map(|v| v.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[test]
fn every_sample_photo_is_read_and_thumbnailed() {
    let dir = samples();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{} sample photos", files.len());
    for file in &files {
        let data = std::fs::read(file).expect("read");
        let m = metadata::read(&data).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!((m.width, m.height), identify(file), "{}", file.display());
        let thumbs = thumbnail::make(&data, &[GRID, VIEW]).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let long = m.width.max(m.height);
        assert_eq!(thumbs[0].width.max(thumbs[0].height), long.min(GRID), "{}", file.display());
        assert_eq!(thumbs[1].width.max(thumbs[1].height), long.min(VIEW), "{}", file.display());
    }
}

#[test]
fn a_real_cameras_xmp_gives_its_camera_and_date() {
    let m = metadata::read(&std::fs::read(samples().join("chelsea.png")).expect("chelsea")).expect("metadata");
    assert_eq!(m.format, Format::Png);
    assert_eq!((m.make.as_deref(), m.model.as_deref()), (Some("PENTAX Corporation"), Some("PENTAX K100D Super")));
    // photoshop:DateCreated (when it was taken) over xmp:CreateDate (when the file was made).
    let t = m.taken_at.expect("date");
    assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2009, 2, 9, 9, 11, 30));
    assert_eq!(m.orientation, 1);
}
