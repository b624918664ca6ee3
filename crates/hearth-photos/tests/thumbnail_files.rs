//! Thumbnails of real JPEGs made by ImageMagick with EXIF from exiftool, checked by ImageMagick
//! (`identify`): their size, that they are progressive, and that they are upright.

use std::path::Path;
use std::process::Command;

use hearth_catalog::jobs;
use hearth_photos::thumbnail::{self, GRID, VIEW};
use hearth_photos::thumbnail_jobs::{self, Ended};

fn run(program: &str, args: &[&str], dir: &Path) -> String {
    let out =
        Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| {
            panic!("{program} is needed ({e}): apt-get install imagemagick libimage-exiftool-perl (scripts/test does)")
        });
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A 1600 × 1200 camera JPEG, grey with a red block in the stored top-left corner.
fn grey_with_a_red_corner(dir: &Path, name: &str) {
    // ImageMagick 6.9.11-60+deb12u16 keeps xc:gray50 in the Gray colourspace and draws the red
    // block grey into it: ask for an RGB canvas and an RGB file explicitly.
    let draw = ["-colorspace", "sRGB", "-fill", "red", "-draw", "rectangle 0,0 399,299", "-type", "TrueColor"];
    let mut args = vec!["-size", "1600x1200", "xc:gray50"];
    args.extend(draw);
    args.extend(["-quality", "92", name]);
    run("convert", &args, dir);
}

#[test]
fn a_sideways_camera_jpeg_gets_upright_progressive_thumbnails() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 1600 × 1200 stored, grey, with a red block in the stored top-left corner; the camera was held
    // upright, so EXIF says "turn 90° clockwise" (6): shown 1200 × 1600 with red at the top right.
    grey_with_a_red_corner(dir.path(), "cam.jpg");
    run("exiftool", &["-q", "-overwrite_original", "-Orientation#=6", "cam.jpg"], dir.path());
    let file = std::fs::read(dir.path().join("cam.jpg")).expect("jpeg");
    let thumbs = thumbnail::make(&file, &[GRID, VIEW]).expect("thumbnails");
    assert_eq!(thumbs.iter().map(|t| (t.width, t.height)).collect::<Vec<_>>(), vec![(188, 250), (1080, 1440)]);
    for t in &thumbs {
        let name = format!("t{}.jpg", t.long_edge);
        std::fs::write(dir.path().join(&name), &t.jpeg).expect("write");
        let info = run("identify", &["-format", "%w %h %[interlace]", &name], dir.path());
        assert_eq!(info, format!("{} {} JPEG", t.width, t.height), "{name}");
        let px = |x: u32, y: u32| {
            run(
                "convert",
                &[&name, "-format", &format!("%[fx:int(255*p{{{x},{y}}}.r)] %[fx:int(255*p{{{x},{y}}}.g)]"), "info:"],
                dir.path(),
            )
        };
        let rg = |x: u32, y: u32| -> (u32, u32) {
            let v: Vec<u32> = px(x, y).split(' ').filter_map(|v| v.parse().ok()).collect();
            (v.first().copied().unwrap_or(0), v.get(1).copied().unwrap_or(0))
        };
        let (r, g) = rg(t.width - 5, 5);
        assert!(r > 200 && g < 60, "{name}: red at the top right, got {r} {g}");
        let (r, g) = rg(5, 5);
        assert!(r.abs_diff(g) < 20, "{name}: grey at the top left, got {r} {g}");
    }
}

/// (red, green, blue) of pixel (x, y) of an image file, 0–255, read by ImageMagick.
fn rgb_at(dir: &Path, name: &str, x: u32, y: u32) -> [u32; 3] {
    let f = format!("%[fx:int(255*p{{{x},{y}}}.r)] %[fx:int(255*p{{{x},{y}}}.g)] %[fx:int(255*p{{{x},{y}}}.b)]");
    let v: Vec<u32> = run("convert", &[name, "-format", &f, "info:"], dir).split(' ').filter_map(|v| v.parse().ok()).collect();
    [v.first().copied().unwrap_or(0), v.get(1).copied().unwrap_or(0), v.get(2).copied().unwrap_or(0)]
}

fn close(a: [u32; 3], b: [u32; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 24)
}

/// PNG (8- and 16-bit, palette, interlaced, with transparency) and WebP (lossy, lossless with
/// alpha), made by ImageMagick: right size, right colours where the source has a red block and
/// where it is transparent (shown over white).
#[test]
fn png_and_webp_photos_get_thumbnails_with_transparency_over_white() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 2400 × 1600: blue, a red block at the top left, the right quarter fully transparent.
    let source = [
        "-size",
        "2400x1600",
        "xc:blue",
        "-fill",
        "red",
        "-draw",
        "rectangle 0,0 599,399",
        "-alpha",
        "set",
        "-region",
        "600x1600+1800+0",
        "-alpha",
        "transparent",
        "+region",
    ];
    let cases: [(&str, &[&str]); 6] = [
        ("rgba8.png", &["-depth", "8", "PNG32:rgba8.png"]),
        ("rgba16.png", &["-depth", "16", "PNG64:rgba16.png"]),
        ("palette.png", &["PNG8:palette.png"]),
        ("interlaced.png", &["-interlace", "PNG", "PNG32:interlaced.png"]),
        ("lossy.webp", &["-quality", "85", "lossy.webp"]),
        ("lossless.webp", &["-define", "webp:lossless=true", "lossless.webp"]),
    ];
    for (name, output) in cases {
        let mut args: Vec<&str> = source.to_vec();
        args.extend_from_slice(output);
        run("convert", &args, dir.path());
        let file = std::fs::read(dir.path().join(name)).expect("read");
        let thumbs = thumbnail::make(&file, &[GRID, VIEW]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(thumbs.iter().map(|t| (t.width, t.height)).collect::<Vec<_>>(), vec![(250, 167), (1440, 960)], "{name}");
        for t in &thumbs {
            let out = format!("{name}-{}.jpg", t.long_edge);
            std::fs::write(dir.path().join(&out), &t.jpeg).expect("write");
            let (w, h) = (t.width, t.height);
            let red = rgb_at(dir.path(), &out, w / 10, h / 10);
            let blue = rgb_at(dir.path(), &out, w / 2, h / 2);
            let clear = rgb_at(dir.path(), &out, w - w / 20, h / 2);
            assert!(close(red, [255, 0, 0]), "{out}: red at the top left, got {red:?}");
            assert!(close(blue, [0, 0, 255]), "{out}: blue in the middle, got {blue:?}");
            assert!(close(clear, [255, 255, 255]), "{out}: white where transparent, got {clear:?}");
        }
    }
}

/// An HEIC made by libheif's encoder from a camera JPEG: decoded by heif-convert, the thumbnail
/// the size and way up the metadata says it is shown (libheif's transforms, never the EXIF
/// orientation the HEIC carries along); a cut HEIC is an error from libheif, not a crash.
#[test]
fn heic_photos_get_thumbnails_through_libheif() {
    let dir = tempfile::tempdir().expect("tempdir");
    grey_with_a_red_corner(dir.path(), "src.jpg");
    run("exiftool", &["-q", "-overwrite_original", "-Orientation#=6", "src.jpg"], dir.path());
    run("heif-enc", &["-q", "80", "src.jpg", "-o", "photo.heic"], dir.path());
    let heic = dir.path().join("photo.heic");
    let meta = hearth_photos::metadata::read(&std::fs::read(&heic).expect("read")).expect("metadata");
    assert_eq!(meta.display_size(), (1600, 1200));
    let scratch = dir.path().join("scratch");
    let thumbs = thumbnail::make_from_file(&heic, &scratch, &[GRID, VIEW]).expect("thumbnails");
    assert_eq!(thumbs.iter().map(|t| (t.width, t.height)).collect::<Vec<_>>(), vec![(250, 188), (1440, 1080)]);
    std::fs::write(dir.path().join("t.jpg"), &thumbs[1].jpeg).expect("write");
    let red = rgb_at(dir.path(), "t.jpg", 100, 100);
    assert!(close(red, [255, 0, 0]), "red at the top left, got {red:?}");
    assert_eq!(std::fs::read_dir(&scratch).expect("scratch").count(), 0, "the intermediate file is gone");
    // From memory, HEIF is refused with the reason.
    assert!(thumbnail::make(&std::fs::read(&heic).expect("read"), &[GRID]).is_err());
    let file = std::fs::read(&heic).expect("read");
    std::fs::write(dir.path().join("cut.heic"), &file[..file.len() * 2 / 3]).expect("write");
    let e = thumbnail::make_from_file(&dir.path().join("cut.heic"), &scratch, &[GRID]).expect_err("cut");
    assert!(!e.to_string().is_empty());
}

/// Colour profiles from Debian's colord-data: a photo stored with a profile that swaps red and
/// green shows red where its pixels say green; Adobe RGB stripes come back to the sRGB colours
/// they were converted from (ImageMagick converting the same file is the reference); PNG and
/// WebP carry profiles too.
#[test]
fn embedded_colour_profiles_are_converted_to_srgb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let icc = Path::new("/usr/share/color/icc/colord");
    assert!(icc.join("AdobeRGB1998.icc").exists(), "colord-data is needed (scripts/test installs it)");
    let swapped = icc.join("SwappedRedAndGreen.icc");
    run("convert", &["-size", "300x200", "xc:rgb(0,255,0)", "-profile", swapped.to_str().expect("utf8"), "swapped.jpg"], dir.path());
    let t = thumbnail::make(&std::fs::read(dir.path().join("swapped.jpg")).expect("read"), &[GRID]).expect("thumbnail");
    std::fs::write(dir.path().join("t.jpg"), &t[0].jpeg).expect("write");
    let shown = rgb_at(dir.path(), "t.jpg", 50, 50);
    assert!(close(shown, [255, 0, 0]), "the profile says these green pixels are red: {shown:?}");

    // Saturated sRGB stripes converted to Adobe RGB by ImageMagick (the stored values change).
    let srgb = icc.join("sRGB.icc");
    let adobe = icc.join("AdobeRGB1998.icc");
    for (name, out) in [("adobe.jpg", "adobe.jpg"), ("adobe.png", "PNG24:adobe.png"), ("adobe.webp", "adobe.webp")] {
        run(
            "convert",
            &[
                "-size",
                "120x200",
                "xc:rgb(230,20,20)",
                "xc:rgb(20,200,40)",
                "xc:rgb(30,40,220)",
                "+append",
                "-profile",
                srgb.to_str().expect("utf8"),
                "-profile",
                adobe.to_str().expect("utf8"),
                "-quality",
                "95",
                out,
            ],
            dir.path(),
        );
        let stored = rgb_at(dir.path(), name, 180, 100);
        assert!(!close(stored, [20, 200, 40]), "{name}: Adobe RGB stores other numbers: {stored:?}");
        let t = thumbnail::make(&std::fs::read(dir.path().join(name)).expect("read"), &[GRID]).expect("thumbnail");
        let thumb = format!("{name}-t.jpg");
        std::fs::write(dir.path().join(&thumb), &t[0].jpeg).expect("write");
        let (w, h) = (t[0].width, t[0].height);
        for (x, expected) in [(w / 6, [230, 20, 20]), (w / 2, [20, 200, 40]), (w * 5 / 6, [30, 40, 220])] {
            let got = rgb_at(dir.path(), &thumb, x, h / 2);
            assert!(close(got, expected), "{name} at x={x}: {got:?}, expected about {expected:?}");
        }
    }
}

/// A PNG too tall to ever hold in memory decodes row by row (it fits the pixel limit); a WebP or
/// interlaced PNG beyond the whole-image limit is refused with a clear reason, before decoding.
#[test]
fn big_pngs_stream_and_big_webps_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    run("convert", &["-size", "2000x12000", "gradient:white-black", "PNG24:tall.png"], dir.path());
    let file = std::fs::read(dir.path().join("tall.png")).expect("read");
    let thumbs = thumbnail::make(&file, &[GRID]).expect("thumbnail");
    assert_eq!((thumbs[0].width, thumbs[0].height), (42, 250));
    run("convert", &["-size", "5000x4000", "xc:green", "-quality", "50", "big.webp"], dir.path());
    let file = std::fs::read(dir.path().join("big.webp")).expect("read");
    let e = thumbnail::make(&file, &[GRID]).expect_err("too big to decode whole");
    assert!(e.to_string().contains("up to 16 megapixels"), "{e}");
    run("convert", &["-size", "5000x4000", "xc:green", "-interlace", "PNG", "PNG24:big.png"], dir.path());
    let file = std::fs::read(dir.path().join("big.png")).expect("read");
    assert!(thumbnail::make(&file, &[GRID]).is_err());
}

#[test]
fn a_small_photo_is_not_enlarged_and_a_cut_one_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    run("convert", &["-size", "200x100", "gradient:blue-yellow", "small.jpg"], dir.path());
    let file = std::fs::read(dir.path().join("small.jpg")).expect("jpeg");
    let thumbs = thumbnail::make(&file, &[GRID, VIEW]).expect("thumbnails");
    assert!(thumbs.iter().all(|t| (t.width, t.height) == (200, 100)));
    let cut = &file[..file.len() / 2];
    let _ = thumbnail::make(cut, &[GRID]);
    let e = thumbnail::make(&file[..40], &[GRID]).expect_err("no frame");
    assert!(!e.to_string().is_empty());
}

#[test]
fn ingest_adds_a_photo_once_keeps_a_damaged_one_and_refuses_a_text_file() {
    use hearth_catalog::assets::{self, Source};
    use hearth_photos::ingest::{self, IngestError, Outcome, Request};

    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, _) = hearth_catalog::Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
    let owner = catalog
        .write(|tx| {
            tx.execute("INSERT INTO users (name, display_name, role, password_hash, created_at, password_changed_at) VALUES ('ada', 'Ada', 'owner', 'x', 0, 0)", [])?;
            Ok(tx.last_insert_rowid())
        })
        .expect("user");
    let cache = dir.path().join("cache");
    run("convert", &["-size", "1600x1200", "plasma:fractal", "photo.jpg"], dir.path());
    run(
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            "-DateTimeOriginal=2024:07:14 18:03:22",
            "-OffsetTimeOriginal=+02:00",
            "-GPSLatitude=48.8584",
            "-GPSLongitude=2.2945",
            "-Orientation#=6",
            "photo.jpg",
        ],
        dir.path(),
    );
    let add = |name: &str| {
        let file = dir.path().join(name);
        ingest::ingest(
            &catalog,
            &Request {
                owner_id: owner,
                source: Source::Upload,
                file: &file,
                stored_path: name.to_string(),
                now: 1_800_000_000,
                priority: jobs::priority::NEW,
                data_dir: dir.path(),
            },
        )
    };

    let Outcome::Added { id, problem: None } = add("photo.jpg").expect("ingest") else { panic!("not added cleanly") };
    assert_eq!(work_the_queue(&catalog, dir.path()), vec![Ended::Made]);
    let months = catalog.read(move |r| assets::months(r, owner)).expect("months");
    assert_eq!(months, vec![assets::Month { month: 202407, count: 1 }]);
    let page = catalog.read(move |r| assets::month_page(r, owner, 202407, None, 10)).expect("page");
    assert_eq!(
        (page[0].id, page[0].taken_at, page[0].taken_offset, page[0].width, page[0].height),
        (id, 1_720_973_002, Some(120), Some(1200), Some(1600))
    );
    let file = std::fs::read(dir.path().join("photo.jpg")).expect("read");
    let checksum = ingest::checksum(&file);
    for edge in [GRID, VIEW] {
        let t = thumbnail_jobs::thumbnail_path(&cache, &checksum, edge);
        let size = run("identify", &["-format", "%w %h", t.to_str().expect("utf8")], dir.path());
        assert_eq!(size, if edge == GRID { "188 250" } else { "1080 1440" });
    }

    // The same photo again, under another name: nothing new.
    std::fs::copy(dir.path().join("photo.jpg"), dir.path().join("again.jpg")).expect("copy");
    assert_eq!(add("again.jpg").expect("ingest"), Outcome::Duplicate { id });

    // A JPEG cut in half (a transfer that broke off): as with libjpeg, the half that arrived is
    // shown and the rest is grey.
    std::fs::write(dir.path().join("half.jpg"), &file[..file.len() / 2]).expect("write");
    let Outcome::Added { .. } = add("half.jpg").expect("ingest") else { panic!("not added") };
    match &work_the_queue(&catalog, dir.path())[..] {
        [Ended::Made] => {}
        other => panic!("{other:?}"),
    }
    // A JPEG cut before its pixels begin: its header reads, there are no pixels. The asset
    // stays, with the reason, so the family sees it.
    let scan = file.windows(2).position(|w| w == [0xff, 0xda]).expect("a scan");
    std::fs::write(dir.path().join("cut.jpg"), &file[..scan]).expect("write");
    let Outcome::Added { id: cut, problem: None } = add("cut.jpg").expect("ingest") else { panic!("not added") };
    match &work_the_queue(&catalog, dir.path())[..] {
        [Ended::Failed(p)] => assert!(p.contains("decoded"), "{p}"),
        other => panic!("{other:?}"),
    }
    let details = catalog.read(move |r| assets::details(r, owner, cut)).expect("read").expect("asset");
    assert_eq!(details.thumbnails, "failed");
    assert!(details.metadata_error.as_deref().unwrap_or("").contains("decoded"), "{details:?}");
    // A text file named .jpg: refused, nothing added.
    std::fs::write(dir.path().join("list.jpg"), "eggs, milk").expect("write");
    assert!(matches!(add("list.jpg"), Err(IngestError::NotAPhoto { .. })));
    let months = catalog.read(move |r| assets::months(r, owner)).expect("months");
    assert_eq!(months.iter().map(|m| m.count).sum::<i64>(), 3);
}

#[test]
fn the_trash_expires_after_30_days_with_uploaded_files_and_unshared_thumbnails() {
    use hearth_catalog::assets::{self, Source};
    use hearth_photos::ingest::{self, Outcome, Request};

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("library/1")).expect("mkdir");
    let (catalog, _) = hearth_catalog::Catalog::open(&data.join("hearth.db")).expect("catalog");
    let owner = catalog
        .write(|tx| {
            tx.execute("INSERT INTO users (name, display_name, role, password_hash, created_at, password_changed_at) VALUES ('ada', 'Ada', 'owner', 'x', 0, 0)", [])?;
            Ok(tx.last_insert_rowid())
        })
        .expect("user");
    run("convert", &["-size", "800x600", "plasma:fractal", "library/1/old.jpg"], &data);
    run("convert", &["-size", "800x600", "gradient:red-blue", "library/1/recent.jpg"], &data);
    let now = 1_800_000_000;
    let cache = data.join("cache");
    let add = |name: &str| {
        let file = data.join("library/1").join(name);
        match ingest::ingest(
            &catalog,
            &Request {
                owner_id: owner,
                source: Source::Upload,
                file: &file,
                stored_path: format!("library/1/{name}"),
                now,
                priority: jobs::priority::NEW,
                data_dir: &data,
            },
        )
        .expect("ingest")
        {
            Outcome::Added { id, .. } => id,
            other => panic!("{other:?}"),
        }
    };
    let (old, recent) = (add("old.jpg"), add("recent.jpg"));
    assert_eq!(work_the_queue(&catalog, &data), vec![Ended::Made, Ended::Made]);
    catalog.write(move |tx| assets::set_trashed(tx, owner, old, Some(now - 31 * 86400))).expect("trash");
    catalog.write(move |tx| assets::set_trashed(tx, owner, recent, Some(now - 10 * 86400))).expect("trash");
    let old_sum = ingest::checksum(&std::fs::read(data.join("library/1/old.jpg")).expect("read"));

    assert_eq!(hearth_photos::trash::expire(&catalog, &data, now).expect("expire"), 1);
    assert!(!data.join("library/1/old.jpg").exists(), "the uploaded file went with its asset");
    assert!(!thumbnail_jobs::thumbnail_path(&cache, &old_sum, GRID).exists(), "and its thumbnails");
    assert!(data.join("library/1/recent.jpg").exists(), "ten days in the trash: still restorable");
    assert!(catalog.write(move |tx| assets::set_trashed(tx, owner, recent, None)).expect("restore"));
    assert_eq!(hearth_photos::trash::expire(&catalog, &data, now).expect("expire"), 0);
}

/// Do every queued thumbnail job, as the worker would; how each ended.
fn work_the_queue(catalog: &hearth_catalog::Catalog, data: &Path) -> Vec<Ended> {
    let mut ended = Vec::new();
    while let Some(job) = catalog.write(|tx| jobs::claim(tx, jobs::THUMBNAILS, 1_800_000_000)).expect("claim") {
        ended.push(thumbnail_jobs::run(catalog, data, &job, || 1_800_000_000).expect("run"));
    }
    ended
}

/// A sync event and a folder scan may take in the same new file at the same moment: one adds it,
/// the other finds it there; neither fails. Two threads race over thirty files.
#[test]
fn two_ingests_of_one_file_at_once_add_it_once() {
    use hearth_catalog::assets::Source;
    use hearth_photos::ingest::{self, Outcome, Request};

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_path_buf();
    let (catalog, _) = hearth_catalog::Catalog::open(&data.join("hearth.db")).expect("catalog");
    let owner = catalog
        .write(|tx| {
            let u = hearth_catalog::users::NewUser {
                name: "ada".into(),
                display_name: "Ada".into(),
                role: hearth_catalog::users::Role::Owner,
                password_hash: "x".into(),
            };
            Ok(hearth_catalog::users::create(tx, &u, 0)?.id)
        })
        .expect("user");
    run("convert", &["-size", "64x48", "gradient:red-blue", "base.jpg"], &data);
    let base = std::fs::read(data.join("base.jpg")).expect("read");
    let names: Vec<String> = (0..30).map(|i| format!("IMG_{i:04}.jpg")).collect();
    for (i, name) in names.iter().enumerate() {
        // The same picture with a different trailing byte: thirty distinct contents.
        let mut bytes = base.clone();
        bytes.push(i as u8);
        std::fs::write(data.join(name), bytes).expect("write");
    }
    let catalog = std::sync::Arc::new(catalog);
    let run_all = |catalog: std::sync::Arc<hearth_catalog::Catalog>, data: std::path::PathBuf, names: Vec<String>| {
        std::thread::spawn(move || {
            names
                .iter()
                .map(|name| {
                    let req = Request {
                        owner_id: owner,
                        source: Source::Sync,
                        file: &data.join(name),
                        stored_path: name.clone(),
                        now: 1_800_000_000,
                        priority: jobs::priority::NEW,
                        data_dir: &data,
                    };
                    ingest::ingest(&catalog, &req).unwrap_or_else(|e| panic!("{name}: {e}"))
                })
                .collect::<Vec<Outcome>>()
        })
    };
    let a = run_all(catalog.clone(), data.clone(), names.clone());
    let b = run_all(catalog.clone(), data.clone(), names.clone());
    let (a, b) = (a.join().expect("thread"), b.join().expect("thread"));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let added = [x, y].iter().filter(|o| matches!(o, Outcome::Added { .. })).count();
        let dup = [x, y].iter().filter(|o| matches!(o, Outcome::Duplicate { .. })).count();
        assert_eq!((added, dup), (1, 1), "file {i}: {x:?} {y:?}");
    }
    let months = catalog.read(move |r| hearth_catalog::assets::months(r, owner)).expect("months");
    assert_eq!(months.iter().map(|m| m.count).sum::<i64>(), 30);
}
