//! Backup key files (keys/): any bytes give a key file or a clear error, never a panic; a parsed
//! one with cheap KDF parameters is tried with a password (hostile parameters are refused first).
#![no_main]
use hearth_backup::keyfile::KeyFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = KeyFile::parse("fuzz", data) {
        if k.kdf.m_kib <= 64 && k.kdf.t <= 2 {
            let _ = k.unwrap(b"password");
        }
    }
});
