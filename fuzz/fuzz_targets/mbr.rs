//! The boot card's first sector and the first bytes of its data partition come from a card that
//! may hold anything (a family may put in the wrong one). Parsing and classifying never panic;
//! growing a parsed table keeps every other partition as it was, and never makes partitions overlap.
#![no_main]
use hearth_platform::block_device::Contents;
use hearth_platform::mbr::Mbr;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Contents::of(data);
    let Ok(mut mbr) = Mbr::parse(data) else { return };
    let before = mbr.partitions();
    // The disk size comes from the tail of the input, so growth is exercised too.
    let disk = data.get(512..520).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).unwrap_or(1 << 24);
    for p in &before {
        if let Ok(Some(sectors)) = mbr.grown_size(p.number, disk, 2048) {
            assert!(sectors > p.sectors);
            mbr.set_sectors(p.number, sectors).expect("a partition that exists can be resized");
            let again = Mbr::parse(mbr.bytes()).expect("a grown table still parses");
            for q in again.partitions() {
                if q.number != p.number {
                    assert!(before.contains(&q), "partition {} changed", q.number);
                }
            }
        }
    }
});
