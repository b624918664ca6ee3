//! Hearth's thumbnailer against `vipsthumbnail` (libvips-tools), in one run, on the same JPEGs:
//! 4000 × 3000, quality 90, made by ImageMagick (fractal plasma with noise, so they compress like
//! photos, about 3–5 MB) with camera EXIF from exiftool. Cached under target/bench-photos.
//!
//! 1. One core (`taskset -c 0`, `VIPS_CONCURRENCY=1`): per-image time for `-s 250` and
//!    `-s 1440`. vipsthumbnail gets every file in one invocation, so its start-up is shared;
//!    Hearth's side runs in a child process pinned the same way. Best of 3 rounds each.
//! 2. Ingest on every core: metadata plus both thumbnails per photo, photos per second, against
//!    two vipsthumbnail runs (250 and 1440) over the same files, one process per core.
//!
//! `cargo bench -p hearth-photos --bench thumbnails` (or scripts/bench-photos).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use hearth_photos::{metadata, thumbnail};

const PHOTOS: usize = 8;

fn sh(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (apt-get install imagemagick libimage-exiftool-perl libvips-tools)"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn photos() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-photos");
    std::fs::create_dir_all(&dir).expect("dir");
    (0..PHOTOS)
        .map(|i| {
            let p = dir.join(format!("photo-{i}.jpg"));
            if !p.exists() {
                let tmp = dir.join(format!("tmp-{i}.jpg"));
                let seed = (i + 1).to_string();
                let t = tmp.to_string_lossy().into_owned();
                sh(
                    "convert",
                    &[
                        "-seed",
                        &seed,
                        "-size",
                        "4000x3000",
                        "plasma:fractal",
                        "-attenuate",
                        "0.3",
                        "+noise",
                        "Gaussian",
                        "-quality",
                        "90",
                        "-sampling-factor",
                        "2x2",
                        &t,
                    ],
                );
                sh(
                    "exiftool",
                    &[
                        "-q",
                        "-overwrite_original",
                        "-Make=Canon",
                        "-Model=Canon EOS R6",
                        "-DateTimeOriginal=2024:07:14 18:03:22",
                        "-OffsetTimeOriginal=+02:00",
                        "-GPSLatitude=48.85",
                        "-GPSLongitude=2.29",
                        &t,
                    ],
                );
                std::fs::rename(&tmp, &p).expect("rename");
            }
            p
        })
        .collect()
}

/// Seconds per image for `vipsthumbnail -s SIZE` over every file, one core, best of 3.
fn vips_per_image(files: &[PathBuf], size: u32, out: &Path) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0", "vipsthumbnail", "-s", &size.to_string(), "-o"])
            .arg(out.join("%s_vips.jpg"))
            .args(files)
            .env("VIPS_CONCURRENCY", "1");
        let st = cmd.status().expect("vipsthumbnail");
        assert!(st.success());
        best = best.min(t.elapsed().as_secs_f64());
    }
    best / files.len() as f64
}

/// The child: Hearth's per-image seconds for one size over every file, best of 3, printed.
fn hearth_child(size: u32, files: &[PathBuf]) {
    let data: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).expect("read")).collect();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for d in &data {
            let thumbs = thumbnail::make(d, &[size]).expect("thumbnail");
            std::hint::black_box(thumbs);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{}", best / data.len() as f64);
}

fn hearth_per_image(files: &[PathBuf], size: u32) -> f64 {
    let exe = std::env::current_exe().expect("exe");
    let out = Command::new("taskset").args(["-c", "0"]).arg(exe).arg("--child").arg(size.to_string()).args(files).output().expect("child");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("seconds")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let size = args[i + 1].parse().expect("size");
        let files: Vec<PathBuf> = args[i + 2..].iter().map(PathBuf::from).collect();
        return hearth_child(size, &files);
    }
    let files = photos();
    let out = tempfile::tempdir().expect("tempdir");
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();
    println!("{PHOTOS} JPEGs 4000 × 3000, {:.1} MB each on average", bytes as f64 / PHOTOS as f64 / 1e6);
    println!();
    println!("| one core, per image | vipsthumbnail ms | Hearth ms | Hearth / vips |");
    println!("|---|---:|---:|---:|");
    for size in [thumbnail::GRID, thumbnail::VIEW] {
        let v = vips_per_image(&files, size, out.path());
        let h = hearth_per_image(&files, size);
        println!("| -s {size} | {:.1} | {:.1} | {:.2} |", v * 1e3, h * 1e3, h / v);
    }

    // Ingest on every core.
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let t = Instant::now();
    std::thread::scope(|s| {
        for c in 0..cores {
            let files = &files;
            s.spawn(move || {
                for f in files.iter().skip(c).step_by(cores) {
                    let data = std::fs::read(f).expect("read");
                    let meta = metadata::read(&data).expect("metadata");
                    let thumbs = thumbnail::make(&data, &[thumbnail::GRID, thumbnail::VIEW]).expect("thumbnails");
                    std::hint::black_box((meta, thumbs));
                }
            });
        }
    });
    let hearth = files.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let children: Vec<_> = (0..cores)
        .map(|c| {
            let mine: Vec<PathBuf> = files.iter().skip(c).step_by(cores).cloned().collect();
            let out = out.path().to_path_buf();
            std::thread::spawn(move || {
                for size in [thumbnail::GRID, thumbnail::VIEW] {
                    let st = Command::new("vipsthumbnail")
                        .args(["-s", &size.to_string(), "-o"])
                        .arg(out.join(format!("%s_{size}.jpg")))
                        .args(&mine)
                        .env("VIPS_CONCURRENCY", "1")
                        .status()
                        .expect("vipsthumbnail");
                    assert!(st.success());
                }
            })
        })
        .collect();
    for c in children {
        c.join().expect("vips thread");
    }
    let vips = files.len() as f64 / t.elapsed().as_secs_f64();
    println!();
    println!("| ingest on {cores} cores (metadata + 250 + 1440) | photos/s |");
    println!("|---|---:|");
    println!("| vipsthumbnail (both sizes, one process per core) | {vips:.1} |");
    println!("| Hearth | {hearth:.1} |");
    println!("| Hearth / vips | {:.2} |", hearth / vips);
}
