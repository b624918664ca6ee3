//! Videos made by Debian's ffmpeg, with the tags phones write put in by exiftool (an iPhone's
//! QuickTime keys: creation date with offset, ISO 6709 position, make, model, rotation):
//! described by ffprobe, posters taken by ffmpeg, through ingest and the thumbnail job.

use std::path::Path;
use std::process::Command;

use hearth_catalog::assets::{self, Source};
use hearth_catalog::jobs;
use hearth_photos::ingest::{self, IngestError, Outcome, Request};
use hearth_photos::thumbnail::{self, GRID, VIEW};
use hearth_photos::thumbnail_jobs::{self, Ended};
use hearth_photos::video;

fn run(program: &str, args: &[&str], dir: &Path) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed ({e}): apt-get install ffmpeg libimage-exiftool-perl (scripts/test does)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A test pattern video of `seconds` at `size`, H.264 in MP4 or MOV by the name's extension.
fn clip(dir: &Path, name: &str, size: &str, seconds: &str, extra: &[&str]) {
    let src = format!("testsrc=size={size}:rate=30:duration={seconds}");
    let mut args = vec!["-v", "error", "-f", "lavfi", "-i", &src, "-c:v", "libx264", "-pix_fmt", "yuv420p"];
    args.extend_from_slice(extra);
    args.push(name);
    run("ffmpeg", &args, dir);
}

#[test]
fn ffprobe_reads_what_android_and_iphone_videos_say() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Android style: the container's UTC creation time and an ISO 6709 location.
    clip(
        dir.path(),
        "android.mp4",
        "1280x720",
        "3",
        &["-metadata", "creation_time=2024-07-14T16:03:22Z", "-metadata", "location=+48.8584+002.2945/"],
    );
    let m = video::probe(&dir.path().join("android.mp4")).expect("probe");
    assert_eq!((m.width, m.height, m.duration_ms), (Some(1280), Some(720), Some(3000)));
    let t = m.taken_at.expect("date");
    assert_eq!((t.unix_seconds(), t.offset_minutes), (1_720_973_002, None), "UTC, local offset unknown");
    assert!((m.latitude.expect("lat") - 48.8584).abs() < 1e-6 && (m.longitude.expect("lon") - 2.2945).abs() < 1e-6);

    // iPhone style, filmed upright: local time with its offset, position, phone, a 90° display matrix.
    clip(dir.path(), "iphone.mov", "1280x720", "2", &[]);
    run(
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            "-QuickTime:CreationDate=2024:07:14 18:03:22+02:00",
            "-Keys:GPSCoordinates=-33.8688, 151.2093, 35",
            "-Keys:Make=Apple",
            "-Keys:Model=iPhone 15",
            "-Rotation=90",
            "iphone.mov",
        ],
        dir.path(),
    );
    let m = video::probe(&dir.path().join("iphone.mov")).expect("probe");
    assert_eq!((m.width, m.height), (Some(720), Some(1280)), "shown upright");
    let t = m.taken_at.expect("date");
    assert_eq!((t.unix_seconds(), t.offset_minutes), (1_720_973_002, Some(120)));
    assert_eq!((m.make.as_deref(), m.model.as_deref()), (Some("Apple"), Some("iPhone 15")));
    assert!((m.latitude.expect("lat") + 33.8688).abs() < 1e-6);

    // The poster: upright, fitted, never enlarged; a clip shorter than the seek still has one.
    let scratch = dir.path().join("scratch");
    let thumbs = thumbnail::make_from_file(&dir.path().join("iphone.mov"), &scratch, &[GRID, VIEW]).expect("poster");
    assert_eq!(thumbs.iter().map(|t| (t.width, t.height)).collect::<Vec<_>>(), vec![(141, 250), (720, 1280)]);
    clip(dir.path(), "short.mp4", "640x360", "0.4", &[]);
    let thumbs = thumbnail::make_from_file(&dir.path().join("short.mp4"), &scratch, &[GRID]).expect("poster");
    assert_eq!((thumbs[0].width, thumbs[0].height), (250, 141));
}

#[test]
fn videos_are_ingested_with_posters_and_bad_ones_are_kept_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
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
    clip(data, "beach.mp4", "1920x1080", "2", &["-metadata", "creation_time=2023-08-01T10:00:00Z"]);
    let add = |name: &str| {
        ingest::ingest(
            &catalog,
            &Request {
                owner_id: owner,
                source: Source::Upload,
                file: &data.join(name),
                stored_path: name.to_string(),
                now: 1_800_000_000,
                priority: jobs::priority::NEW,
                data_dir: data,
            },
        )
    };
    let Outcome::Added { id, problem: None } = add("beach.mp4").expect("ingest") else { panic!("not added cleanly") };
    let d = catalog.read(move |r| assets::details(r, owner, id)).expect("read").expect("asset");
    assert_eq!(
        (d.kind.as_str(), d.format.as_deref(), d.duration_ms, d.width, d.height),
        ("video", Some("mp4"), Some(2000), Some(1920), Some(1080))
    );
    assert_eq!(d.taken_at, 1_690_884_000);
    let job = catalog.write(|tx| jobs::claim(tx, jobs::THUMBNAILS, 1)).expect("claim").expect("job");
    assert_eq!(thumbnail_jobs::run(&catalog, data, &job, || 2).expect("run"), Ended::Made);
    let d = catalog.read(move |r| assets::details(r, owner, id)).expect("read").expect("asset");
    assert_eq!(d.thumbnails, "ready");

    // An MP4 cut short (its index is at the end): kept, with ffprobe's reason, no job.
    let file = std::fs::read(data.join("beach.mp4")).expect("read");
    std::fs::write(data.join("cut.mp4"), &file[..file.len() / 2]).expect("write");
    match add("cut.mp4").expect("ingest") {
        Outcome::Added { problem: Some(p), .. } => assert!(p.contains("cannot be read"), "{p}"),
        other => panic!("{other:?}"),
    }
    // Sound only, in an MPEG-4 box: not a video.
    run("ffmpeg", &["-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", "song.m4a"], data);
    assert!(matches!(add("song.m4a"), Err(IngestError::NotAPhoto { .. })));
    assert_eq!(catalog.write(|tx| jobs::claim(tx, jobs::THUMBNAILS, 3)).expect("claim"), None);
}
