//! Pack files (data/): the header plaintext against any pack length, and a whole stored pack.
#![no_main]
use hearth_backup::crypto::{Cipher, Keys};
use hearth_backup::pack::{parse_header, read_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let total = u64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
    let tail = u64::from_le_bytes(data[8..16].try_into().expect("8 bytes"));
    if let Ok(entries) = parse_header("fuzz", &data[16..], total, tail) {
        let end: u64 = entries.iter().map(|e| u64::from(e.length)).sum();
        assert_eq!(end + tail, total);
    }
    let keys = Keys::derive([7; 32], Cipher::ChaCha20Poly1305).expect("keys");
    let _ = read_header("fuzz", data, data.len() as u64, &keys);
});
