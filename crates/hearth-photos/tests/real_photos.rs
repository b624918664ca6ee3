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

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

/// The orientation (1–8) of every file under `dir` as exiftool reads it (EXIF, else XMP's
/// `tiff:Orientation`, which ImageMagick does not apply to PNGs by itself), in one run.
fn orientations(dir: &Path) -> std::collections::HashMap<PathBuf, u16> {
    let out = Command::new("exiftool")
        .args(["-q", "-q", "-m", "-r", "-T", "-n", "-filepath", "-orientation"])
        .arg(dir)
        .output()
        .expect("exiftool");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (path, o) = l.rsplit_once('\t')?;
            Some((PathBuf::from(path), o.trim().parse().ok().filter(|o| (1..=8).contains(o))?))
        })
        .collect()
}

/// A rendering of a picture by ImageMagick, the reference.
struct Rendered {
    /// First frame, upright, embedded colour profile applied, transparency over white, shrunk
    /// to 16 × 16 RGB.
    rgb: Vec<u8>,
    /// ImageMagick (libjpeg, libpng) said the data is damaged: how the damaged part looks is up
    /// to each decoder.
    damaged: bool,
}

/// `None` when ImageMagick cannot read the file.
fn rendered_16(file: &Path, orientation: Option<u16>) -> Option<Rendered> {
    let srgb = "/usr/share/color/icc/colord/sRGB.icc";
    let shrink =
        ["-background", "white", "-alpha", "remove", "-alpha", "off", "-colorspace", "sRGB", "-resize", "16x16!", "-depth", "8", "rgb:-"];
    let input = format!("{}[0]", file.display());
    let names = ["TopLeft", "TopRight", "BottomRight", "BottomLeft", "LeftTop", "RightTop", "RightBottom", "LeftBottom"];
    for profile in [true, false] {
        let mut cmd = Command::new("convert");
        cmd.arg(&input);
        if let Some(o) = orientation {
            cmd.args(["-orient", names[usize::from(o) - 1]]);
        }
        cmd.arg("-auto-orient");
        if profile {
            cmd.args(["-profile", srgb]);
        }
        let out = cmd.args(shrink).output().expect("convert (imagemagick)");
        if out.status.success() && out.stdout.len() == 16 * 16 * 3 {
            let warnings = String::from_utf8_lossy(&out.stderr).to_lowercase();
            let damaged =
                ["corrupt", "premature end", "crc error", "extraneous", "truncated", "bad huffman"].iter().any(|w| warnings.contains(w));
            return Some(Rendered { rgb: out.stdout, damaged });
        }
    }
    None
}

/// Pillow's own test images (fetched pinned by `scripts/sample-photos`: real-world and broken
/// JPEG, PNG and WebP files nobody here made) each rendered by Hearth and by ImageMagick, the
/// reference: where ImageMagick renders a picture, Hearth's thumbnail looks the same (mean
/// difference of a 16 × 16 rendering of each), and where either refuses, it is an error, never a
/// panic. Metadata reading never panics either.
#[test]
fn pillows_test_images_render_as_imagemagick_renders_them() {
    const MEAN_LIMIT: f64 = 12.0;
    // Absolute, as exiftool names the files.
    let corpus = samples().join("pillow").canonicalize().expect("Pillow's corpus");
    let files = files_under(&corpus);
    assert!(files.len() >= 400, "{} files in Pillow's corpus", files.len());
    let scratch = tempfile::tempdir().expect("tempdir");
    let oriented = orientations(&corpus);
    let (mut compared, mut damaged, mut too_small, mut refused_by_both, mut only_hearth) = (0, 0, 0, 0, 0);
    let mut wrong = Vec::new();
    for file in &files {
        let name = file.strip_prefix(&corpus).unwrap_or(file).display().to_string();
        let data = std::fs::read(file).expect("read");
        let meta = std::panic::catch_unwind(|| metadata::read(&data));
        let ours = std::panic::catch_unwind(|| thumbnail::make(&data, &[GRID]));
        let (Ok(meta), Ok(ours)) = (meta, ours) else {
            wrong.push(format!("{name}: Hearth panicked"));
            continue;
        };
        let reference = rendered_16(file, oriented.get(file).copied());
        // Pictures under 16 pixels a side would be enlarged for the comparison, which measures
        // how each decoder upsamples chroma, not what it shows: they only need a thumbnail.
        let tiny = meta.as_ref().is_ok_and(|m| m.width < 16 || m.height < 16);
        match (reference, ours) {
            (Some(_), Ok(_)) if tiny => too_small += 1,
            // Damaged data: a thumbnail is what counts (libjpeg and Hearth both fill in grey).
            (Some(want), Ok(_)) if want.damaged => damaged += 1,
            (Some(want), Ok(thumbs)) => {
                let want = want.rgb;
                let thumb = scratch.path().join("t.jpg");
                std::fs::write(&thumb, &thumbs[0].jpeg).expect("write");
                // For a person to look at: HEARTH_CORPUS_OUT=DIR keeps every thumbnail.
                if let Some(out) = std::env::var_os("HEARTH_CORPUS_OUT") {
                    let _ = std::fs::write(Path::new(&out).join(name.replace('/', "_") + ".jpg"), &thumbs[0].jpeg);
                }
                let got = rendered_16(&thumb, None).expect("ImageMagick reads Hearth's thumbnail").rgb;
                let mean = got.iter().zip(&want).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>() / want.len() as f64;
                if mean > MEAN_LIMIT {
                    wrong.push(format!("{name}: looks different from ImageMagick's rendering (mean difference {mean:.1})"));
                }
                compared += 1;
            }
            // Formats Hearth does not take (GIF inside a .png, say) and pictures too large for
            // the pixel limit are refused by design; anything else ImageMagick shows must show.
            (Some(_), Err(e)) => {
                let by_design = matches!(meta, Err(metadata::MetadataError::NotAPhoto | metadata::MetadataError::TooLarge { .. }));
                if !by_design {
                    wrong.push(format!("{name}: ImageMagick renders it, Hearth: {e}"));
                }
            }
            (None, Ok(_)) => only_hearth += 1,
            (None, Err(_)) => refused_by_both += 1,
        }
    }
    eprintln!(
        "{compared} compared with ImageMagick, {damaged} damaged and {too_small} tiny files thumbnailed, {refused_by_both} refused by both, {only_hearth} read by Hearth only"
    );
    assert!(compared >= 300, "only {compared} files compared");
    assert!(wrong.is_empty(), "{} of {} files:\n{}", wrong.len(), files.len(), wrong.join("\n"));
}

/// Dates in Pillow's test files, as exiftool reads them: IPTC in two APP13 segments, and
/// Photoshop's XMP CreateDate (with offset) ranked above IFD0's ModifyDate.
#[test]
fn dates_in_pillows_files() {
    let corpus = samples().join("pillow");
    let taken = |name: &str| {
        let m = metadata::read(&std::fs::read(corpus.join(name)).expect("read")).expect("metadata");
        m.taken_at.map(|t| (t.year, t.month, t.day, t.hour, t.minute, t.second, t.offset_minutes))
    };
    assert_eq!(taken("app13-multiple.jpg"), Some((2019, 10, 14, 15, 0, 20, Some(0))));
    assert_eq!(taken("photoshop-200dpi.jpg"), Some((2017, 3, 13, 23, 3, 9, Some(-420))));
    assert_eq!(taken("iptc.jpg"), Some((2006, 7, 8, 21, 14, 45, None)));
}
