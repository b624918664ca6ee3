//! The timeline at a million assets (issue 5's scale target): a synthetic catalog of 1,000,000
//! photos for one user over 20 years (and 100,000 for a second user), then the two timeline reads
//! a phone makes, through `Catalog::read` as the API does: the month list, and one month's first
//! page of 200 and the page after it (target p99 under 20 ms), and map markers for the whole world
//! and closer views (target under 100 ms); search by file name, place and dates, and "on this day".
//! p50 and p99 over many runs.
//!
//! `cargo bench -p hearth-catalog --bench timeline` (the catalog is built in a temporary folder,
//! about 400 MB, in a minute or two).

use std::time::Instant;

use hearth_catalog::Catalog;
use hearth_catalog::assets::{self, Bounds, NewAsset, Source};
use hearth_catalog::search::{self, Query};

const ASSETS: i64 = 1_000_000;
const BATCH: i64 = 10_000;

fn asset(owner: i64, n: i64, rng: &mut u64) -> NewAsset {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let start = 1_104_537_600; // 2005-01-01
    let taken_at = start + (*rng % (20 * 365 * 86400)) as i64;
    let mut checksum = [0u8; 32];
    checksum[..8].copy_from_slice(&n.to_le_bytes());
    checksum[8..16].copy_from_slice(&owner.to_le_bytes());
    NewAsset {
        owner_id: owner,
        source: Source::Sync,
        path: format!("sync/camera/IMG_{n:07}.jpg"),
        checksum,
        video: n % 20 == 0,
        format: Some("jpeg".into()),
        size_bytes: 3_000_000 + (*rng % 2_000_000) as i64,
        width: Some(4032),
        height: Some(3024),
        taken_at,
        taken_offset: Some(60),
        // Half at home (around Paris), the rest anywhere between 60° S and 70° N; 1 in 10 unlocated.
        latitude: (n % 10 != 0)
            .then(|| if n % 2 == 0 { 48.5 + (*rng % 1000) as f64 / 1000.0 } else { -60.0 + (*rng % 130_000) as f64 / 1000.0 }),
        longitude: (n % 10 != 0)
            .then(|| if n % 2 == 0 { 2.0 + (*rng % 997) as f64 / 1000.0 } else { -180.0 + (*rng >> 20) as f64 % 360.0 }),
        make: Some("Apple".into()),
        model: Some("iPhone 15".into()),
        lens: None,
        duration_ms: None,
        metadata_error: None,
        added_at: taken_at,
    }
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    (ms[ms.len() / 2], ms[(ms.len() * 99 / 100).min(ms.len() - 1)])
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, _) = Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
    let owners: Vec<i64> = catalog
        .write(|tx| {
            let mut ids = Vec::new();
            for name in ["ada", "bob"] {
                tx.execute(
                    "INSERT INTO users (name, display_name, role, password_hash, created_at, password_changed_at) VALUES (?1, ?1, 'member', 'x', 0, 0)",
                    [name],
                )?;
                ids.push(tx.last_insert_rowid());
            }
            Ok(ids)
        })
        .expect("users");
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let t = Instant::now();
    for (owner, total) in [(owners[0], ASSETS), (owners[1], ASSETS / 10)] {
        let mut n = 0;
        while n < total {
            let batch: Vec<NewAsset> = (n..(n + BATCH).min(total)).map(|i| asset(owner, i, &mut rng)).collect();
            catalog
                .write(move |tx| {
                    batch.iter().try_for_each(|a| {
                        let id = assets::insert(tx, a)?;
                        // The photos taken around home are named as the place-name lookup would.
                        if a.latitude.is_some_and(|l| (48.5..49.5).contains(&l)) && a.longitude.is_some_and(|l| (2.0..3.0).contains(&l)) {
                            assets::set_place(tx, id, "Paris", Some("Île-de-France"), "France")?;
                        }
                        Ok(())
                    })
                })
                .expect("insert");
            n += BATCH;
        }
    }
    let insert_s = t.elapsed().as_secs_f64();
    let owner = owners[0];

    let mut month_list = Vec::new();
    let mut months = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        months = catalog.read(move |r| assets::months(r, owner)).expect("months");
        month_list.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut first = Vec::new();
    let mut second = Vec::new();
    for i in 0..1000 {
        let month = months[(i * 7919) % months.len()].month;
        let t = Instant::now();
        let page = catalog.read(move |r| assets::month_page(r, owner, month, None, 200)).expect("page");
        first.push(t.elapsed().as_secs_f64() * 1e3);
        let cursor = page.last().map(|s| (s.taken_at, s.id));
        let t = Instant::now();
        let next = catalog.read(move |r| assets::month_page(r, owner, month, cursor, 200)).expect("page");
        second.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(next);
    }
    let mut map = Vec::new();
    for (zoom, bounds) in [
        (0, Bounds::WORLD),
        (3, Bounds::WORLD),
        (6, Bounds::WORLD),
        (9, Bounds { south: 40.0, west: -10.0, north: 55.0, east: 15.0 }),
        (15, Bounds { south: 48.85, west: 2.33, north: 48.87, east: 2.36 }),
    ] {
        let mut ms = Vec::new();
        let mut markers = 0;
        for _ in 0..50 {
            let t = Instant::now();
            markers = catalog.read(move |r| assets::map_markers(r, owner, zoom, bounds, 2000)).expect("map").len();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        map.push((zoom, markers, percentiles(ms)));
    }
    let mut searches = Vec::new();
    for (what, q) in [
        ("a file name (1 match)", Query { text: Some("IMG_0123457".into()), ..Query::default() }),
        ("a place (about 450,000 matches)", Query { text: Some("paris".into()), ..Query::default() }),
        ("a year (about 50,000)", Query { from: Some(1_262_304_000), to: Some(1_293_840_000), ..Query::default() }),
        ("a place in a year", Query { text: Some("paris".into()), from: Some(1_262_304_000), to: Some(1_293_840_000), ..Query::default() }),
    ] {
        let mut ms = Vec::new();
        let mut found = 0;
        for _ in 0..20 {
            let q = q.clone();
            let t = Instant::now();
            found = catalog.read(move |r| search::search(r, owner, &q, None, 200)).expect("search").len();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        searches.push((what, found, percentiles(ms)));
    }
    let mut memories = Vec::new();
    for i in 0..100 {
        let (month, day) = (1 + i % 12, 1 + (i * 7) % 28);
        let t = Instant::now();
        std::hint::black_box(catalog.read(move |r| search::on_this_day(r, owner, 2026, month, day, 24)).expect("memories"));
        memories.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let total: i64 = months.iter().map(|m| m.count).sum();
    assert_eq!(total, ASSETS, "the month counts add up to every asset");
    println!(
        "catalog: {ASSETS} assets for one user ({} months) and {} for another; inserted in {insert_s:.0} s ({:.0}/s)",
        months.len(),
        ASSETS / 10,
        (ASSETS + ASSETS / 10) as f64 / insert_s
    );
    println!();
    println!("| read | p50 ms | p99 ms | target p99 |");
    println!("|---|---:|---:|---:|");
    for (name, v) in [("month list", month_list), ("a month's first 200", first), ("the next 200 (cursor)", second)] {
        let (p50, p99) = percentiles(v);
        println!("| {name} | {p50:.2} | {p99:.2} | < 20 ms |");
    }
    println!();
    println!("| map view | markers | p50 ms | p99 ms | target |");
    println!("|---|---:|---:|---:|---:|");
    for (zoom, markers, (p50, p99)) in map {
        let what = match zoom {
            0 | 3 | 6 => format!("whole world, zoom {zoom}"),
            9 => "western Europe, zoom 9".to_string(),
            _ => format!("a few streets, zoom {zoom}"),
        };
        println!("| {what} | {markers} | {p50:.2} | {p99:.2} | < 100 ms |");
    }
    println!();
    println!("| search (first page of 200) | found | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    for (what, found, (p50, p99)) in searches {
        println!("| {what} | {found} | {p50:.2} | {p99:.2} |");
    }
    let (p50, p99) = percentiles(memories);
    println!("| on this day, 20 years of photos | | {p50:.2} | {p99:.2} |");
}
