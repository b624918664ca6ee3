//! Index files (index/): the plaintext after authentication, and a sealed file as stored.
#![no_main]
use hearth_backup::crypto::{Cipher, Keys};
use hearth_backup::index::IndexFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = IndexFile::parse("fuzz", data) {
        // What parses re-encodes to the same bytes.
        let keys = Keys::derive([7; 32], Cipher::ChaCha20Poly1305).expect("keys");
        let sealed = f.seal(&keys).expect("seal");
        assert_eq!(IndexFile::open("fuzz", &sealed, &keys).expect("reopen"), f);
    }
    let keys = Keys::derive([7; 32], Cipher::Aes256Gcm).expect("keys");
    let _ = IndexFile::open("fuzz", data, &keys);
});
