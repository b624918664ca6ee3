//! The index at scale: a synthetic repository of many blobs (default 10 million; its index files
//! only, as a 10 TB backup would have, 16 blobs per pack) opened three ways, each in a process of
//! its own so the memory figures are its own:
//!
//! - `hashmap`: what the index was before (a hash map from blob id to location, with the set of
//!   packs, plus the saver's set of every known id that a backup built at its start);
//! - `memory`: the compact sorted table in memory (50 bytes a blob);
//! - `disk`: the table in a file beside the repository's cache, with only block boundaries and a
//!   Bloom filter in memory (how hearthd's backup worker opens repositories).
//!
//! For each: resident memory added (after opening, and the peak), bytes per blob, the time to
//! open, and lookups per second of blobs that are there and of blobs that are not (a backup's
//! new chunks). Prints one JSON line per way and a table.
//!
//!     cargo bench -p hearth-backup --bench index_scale            # 10,000,000 blobs
//!     HEARTH_BENCH_BLOBS=1000000 cargo bench -p hearth-backup --bench index_scale
//!
//! The repository is made once under target/bench-index/<blobs>/ and kept for the next run.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use hearth_backup::Repository;
use hearth_backup::backend::local::Local;
use hearth_backup::blob::{BlobId, BlobType};
use hearth_backup::crypto::Cipher;
use hearth_backup::index::{IndexFile, Location};
use hearth_backup::keyfile::Kdf;
use hearth_backup::pack::PackEntry;

const PASSWORD: &[u8] = b"bench-index-password";
const BLOBS_PER_PACK: u64 = 16;
const PACKS_PER_FILE: u64 = 8192;
const LOOKUPS: u64 = 1_000_000;

fn id(i: u64) -> BlobId {
    BlobId(*blake3::hash(&i.to_le_bytes()).as_bytes())
}

fn pack(p: u64) -> [u8; 32] {
    *blake3::hash(format!("pack {p}").as_bytes()).as_bytes()
}

fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .unwrap_or(0)
}

fn make(dir: &Path, blobs: u64) {
    let stamp = dir.join(".complete");
    if stamp.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("mkdir");
    let backend = Arc::new(Local::new(dir.join("repo")));
    let repo = Repository::init(backend, PASSWORD, Cipher::ChaCha20Poly1305, Kdf::for_tests().expect("kdf")).expect("init");
    let packs = blobs.div_ceil(BLOBS_PER_PACK);
    let mut file = IndexFile::default();
    for p in 0..packs {
        let entries: Vec<PackEntry> = (p * BLOBS_PER_PACK..((p + 1) * BLOBS_PER_PACK).min(blobs))
            .enumerate()
            .map(|(k, i)| PackEntry {
                blob_type: if i % 50 == 0 { BlobType::Tree } else { BlobType::Data },
                flags: 0,
                id: id(i),
                offset: k as u64 * 1_048_576,
                length: 1_048_592,
                raw_length: 1_048_576,
            })
            .collect();
        file.packs.push((pack(p), entries));
        if file.packs.len() as u64 == PACKS_PER_FILE || p + 1 == packs {
            repo.write_index(&file).expect("index file");
            file = IndexFile::default();
        }
    }
    std::fs::write(stamp, b"").expect("stamp");
}

/// The index before: blob → location, the packs, and the saver's set of known ids.
type OldIndex = (HashMap<BlobId, Location>, HashSet<[u8; 32]>, HashSet<BlobId>);

/// One way, in this process: prints a JSON line.
fn child(mode: &str, dir: &Path, blobs: u64) {
    // As hearthd and its workers do: freed large blocks go back to the kernel.
    hearth_platform::memory::pin_allocator_thresholds();
    let before = status("VmRSS:");
    let started = Instant::now();
    let mut old: Option<OldIndex> = None;
    let mut repo = None;
    match mode {
        "hashmap" => {
            let (mut map, mut packs, mut known) = (HashMap::new(), HashSet::new(), HashSet::new());
            for i in 0..blobs {
                let p = pack(i / BLOBS_PER_PACK);
                packs.insert(p);
                map.insert(
                    id(i),
                    Location {
                        pack: p,
                        blob_type: BlobType::Data,
                        flags: 0,
                        offset: (i % BLOBS_PER_PACK) * 1_048_576,
                        length: 1_048_592,
                        raw_length: 1_048_576,
                    },
                );
                known.insert(id(i));
            }
            old = Some((map, packs, known));
        }
        "memory" => repo = Some(Repository::open(Arc::new(Local::new(dir.join("repo"))), PASSWORD).expect("open")),
        _ => {
            let work = dir.join("work");
            repo = Some(Repository::open_in(Arc::new(Local::new(dir.join("repo"))), PASSWORD, &work).expect("open"));
        }
    }
    let open_s = started.elapsed().as_secs_f64();
    let after = status("VmRSS:");
    let peak = status("VmHWM:");
    let lookup = |i: u64| -> bool {
        match (&old, &repo) {
            (Some((map, _, _)), _) => map.contains_key(&id(i)),
            (_, Some(r)) => r.index.contains(&id(i)),
            _ => false,
        }
    };
    // Spread over the whole table: the same stride through hits and misses.
    let step = 0x9e37_79b9_7f4a_7c15u64;
    let t = Instant::now();
    let mut found = 0u64;
    for k in 0..LOOKUPS {
        if lookup(k.wrapping_mul(step) % blobs) {
            found += 1;
        }
    }
    let hits_per_s = LOOKUPS as f64 / t.elapsed().as_secs_f64();
    assert_eq!(found, LOOKUPS, "every present blob is found");
    let t = Instant::now();
    let mut wrong = 0u64;
    for k in 0..LOOKUPS {
        if lookup(blobs + k) {
            wrong += 1;
        }
    }
    let misses_per_s = LOOKUPS as f64 / t.elapsed().as_secs_f64();
    assert_eq!(wrong, 0, "no absent blob is found");
    let on_disk = repo.as_ref().is_some_and(|r| r.index.on_disk());
    let held = repo.as_ref().map(|r| r.index.memory_bytes()).unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "mode": mode, "blobs": blobs, "on_disk": on_disk, "open_s": open_s,
            "rss_added": after.saturating_sub(before), "peak": peak, "index_bytes": held,
            "bytes_per_blob": after.saturating_sub(before) as f64 / blobs as f64,
            "hits_per_s": hits_per_s, "misses_per_s": misses_per_s,
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let (mode, dir, blobs) = (&args[at + 1], PathBuf::from(&args[at + 2]), args[at + 3].parse().expect("blobs"));
        child(mode, &dir, blobs);
        return;
    }
    let blobs: u64 = std::env::var("HEARTH_BENCH_BLOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-index").join(blobs.to_string());
    let t = Instant::now();
    make(&root, blobs);
    eprintln!("repository of {blobs} blobs ready in {:.1} s at {}", t.elapsed().as_secs_f64(), root.display());
    let exe = std::env::current_exe().expect("exe");
    let mut rows = Vec::new();
    for mode in ["hashmap", "memory", "disk"] {
        let out = std::process::Command::new(&exe).args(["--child", mode]).arg(&root).arg(blobs.to_string()).output().expect("child");
        assert!(out.status.success(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
        let line = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").to_string();
        println!("{line}");
        rows.push(serde_json::from_str::<serde_json::Value>(&line).expect("json"));
    }
    let base = rows[0]["bytes_per_blob"].as_f64().unwrap_or(1.0);
    println!("\n| index ({blobs} blobs) | bytes per blob | resident added | peak RSS | open | hits/s | misses/s | bytes vs before |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.0} MiB | {:.0} MiB | {:.1} s | {:.0} | {:.0} | {:.2}× |",
            r["mode"].as_str().unwrap_or(""),
            r["bytes_per_blob"].as_f64().unwrap_or(0.0),
            r["rss_added"].as_f64().unwrap_or(0.0) / 1048576.0,
            r["peak"].as_f64().unwrap_or(0.0) / 1048576.0,
            r["open_s"].as_f64().unwrap_or(0.0),
            r["hits_per_s"].as_f64().unwrap_or(0.0),
            r["misses_per_s"].as_f64().unwrap_or(0.0),
            r["bytes_per_blob"].as_f64().unwrap_or(0.0) / base,
        );
    }
}
