//! Random secrets and their hashes.

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use crate::ApiError;

/// Fill `buf` from the OS's CSPRNG.
pub fn fill_random(buf: &mut [u8]) -> Result<(), ApiError> {
    SystemRandom::new().fill(buf).map_err(|_| ApiError::internal("the system random generator failed"))
}

/// A new secret of 32 random bytes as URL-safe base64 (43 characters).
pub fn new_secret() -> Result<String, ApiError> {
    let mut b = [0u8; 32];
    fill_random(&mut b)?;
    Ok(base64url(&b))
}

/// SHA-256 of a secret, as stored in the catalog.
pub fn sha256(secret: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, secret.as_bytes()).as_ref().to_vec()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    hearth_core::hex::lower(bytes)
}

/// Constant-time equality for secrets compared in memory.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// URL-safe base64 without padding.
pub fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc4648_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn secrets_are_unique_and_long() {
        let a = new_secret().expect("rng");
        let b = new_secret().expect("rng");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
    }
}
