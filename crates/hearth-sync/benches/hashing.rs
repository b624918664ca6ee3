//! Block hashing speed on this machine, single stream (ring) against eight lanes:
//!
//!     cargo bench -p hearth-sync --bench hashing
//!
//! Each way hashes 64 MiB as 1 MiB blocks (Syncthing's block size for a 1 GiB file) and as
//! 128 KiB blocks, best of five; prints MB/s (10^6 bytes) and the ratio lanes / single.

use std::time::Instant;

use hearth_sync::hashing::BlockHasher;

fn speed(bytes: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    bytes as f64 / best / 1e6
}

fn main() {
    let total = 64usize << 20;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..total)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    println!("this CPU hashes blocks with: {:?}", BlockHasher::for_this_cpu());
    println!("| block | single MB/s | lanes MB/s | lanes / single |");
    println!("|---|---:|---:|---:|");
    for block in [1usize << 20, 128 << 10] {
        let blocks: Vec<&[u8]> = data.chunks(block).collect();
        let single = speed(total, || {
            std::hint::black_box(BlockHasher::Single.digest_all(&blocks));
        });
        let lanes = speed(total, || {
            std::hint::black_box(BlockHasher::Lanes.digest_all(&blocks));
        });
        println!("| {} KiB | {single:.0} | {lanes:.0} | {:.2} |", block >> 10, lanes / single);
    }
}
