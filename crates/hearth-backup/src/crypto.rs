//! Keys, sealing and blob ids (docs/backup-format.md §3).

use ring::aead::{self, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::blob::BlobId;
use crate::error::{BackupError, Result};

/// Nonce length.
pub const NONCE_LEN: usize = 12;
/// Tag length.
pub const TAG_LEN: usize = 16;
/// What sealing adds to a plaintext.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// The AEAD of a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// AES-256-GCM (fast with AES instructions).
    Aes256Gcm,
    /// ChaCha20-Poly1305 (fast without them).
    ChaCha20Poly1305,
}

impl Cipher {
    /// The name stored in config and key files.
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes256Gcm => "aes-256-gcm",
            Cipher::ChaCha20Poly1305 => "chacha20-poly1305",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Result<Cipher> {
        match s {
            "aes-256-gcm" => Ok(Cipher::Aes256Gcm),
            "chacha20-poly1305" => Ok(Cipher::ChaCha20Poly1305),
            other => Err(BackupError::Invalid(format!("unknown cipher {other:?}"))),
        }
    }

    /// The cipher for a CPU with (`true`) or without AES instructions.
    pub fn for_cpu(has_aes: bool) -> Cipher {
        if has_aes { Cipher::Aes256Gcm } else { Cipher::ChaCha20Poly1305 }
    }

    fn algorithm(self) -> &'static aead::Algorithm {
        match self {
            Cipher::Aes256Gcm => &AES_256_GCM,
            Cipher::ChaCha20Poly1305 => &CHACHA20_POLY1305,
        }
    }
}

/// Whether this CPU has AES instructions (x86 AES-NI, ARMv8 Crypto Extensions).
pub fn cpu_has_aes() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes") && std::arch::is_aarch64_feature_detected!("pmull")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Fill `buf` with random bytes.
pub fn random(buf: &mut [u8]) -> Result<()> {
    SystemRandom::new().fill(buf).map_err(|_| BackupError::Invalid("the system random generator failed".into()))
}

/// An AEAD key.
pub struct SealKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// A key for `cipher` from 32 bytes.
    pub fn new(cipher: Cipher, bytes: &[u8; 32]) -> Result<SealKey> {
        let unbound = UnboundKey::new(cipher.algorithm(), bytes).map_err(|_| BackupError::Invalid("bad key length".into()))?;
        Ok(SealKey { key: LessSafeKey::new(unbound) })
    }

    /// `nonce ‖ ciphertext ‖ tag` of `plain` with associated data `aad`.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(plain.len() + OVERHEAD);
        self.seal_into(aad, plain, &mut out)?;
        Ok(out)
    }

    /// Like [`SealKey::seal`], into `out` (cleared first), so buffers can be reused.
    pub fn seal_into(&self, aad: &[u8], plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        out.clear();
        out.reserve(plain.len() + OVERHEAD);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut out[NONCE_LEN..])
            .map_err(|_| BackupError::Invalid("sealing failed".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Open sealed data; `None` when it is not authentic (wrong key, altered, truncated).
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let mut buf = sealed.to_vec();
        let range = self.open_in_place(aad, &mut buf)?;
        buf.truncate(range.end);
        buf.drain(..range.start);
        Some(buf)
    }

    /// Open `buf` (sealed) in place; returns where the plaintext is in `buf`.
    pub fn open_in_place(&self, aad: &[u8], buf: &mut [u8]) -> Option<std::ops::Range<usize>> {
        if buf.len() < OVERHEAD {
            return None;
        }
        let (nonce, rest) = buf.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let n = self.key.open_in_place(nonce, Aad::from(aad), rest).ok()?.len();
        Some(NONCE_LEN..NONCE_LEN + n)
    }
}

/// The master key and everything derived from it.
pub struct Keys {
    master: [u8; 32],
    /// Seals everything in the repository.
    pub enc: SealKey,
    id_key: [u8; 32],
    /// The chunker's gear seed.
    pub chunker_seed: u64,
    /// The repository's cipher.
    pub cipher: Cipher,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({})", self.cipher.name())
    }
}

const CTX_ENC: &str = "hearth-backup v1 2026-11 encryption";
const CTX_ID: &str = "hearth-backup v1 2026-11 blob id";
const CTX_SEED: &str = "hearth-backup v1 2026-11 chunker seed";

impl Keys {
    /// Derive the keys of master key `master` for `cipher`.
    pub fn derive(master: [u8; 32], cipher: Cipher) -> Result<Keys> {
        let enc = blake3::derive_key(CTX_ENC, &master);
        let id_key = blake3::derive_key(CTX_ID, &master);
        let seed_bytes = blake3::derive_key(CTX_SEED, &master);
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&seed_bytes[..8]);
        Ok(Keys { master, enc: SealKey::new(cipher, &enc)?, id_key, chunker_seed: u64::from_le_bytes(seed), cipher })
    }

    /// A new random master key.
    pub fn generate(cipher: Cipher) -> Result<Keys> {
        let mut master = [0u8; 32];
        random(&mut master)?;
        Keys::derive(master, cipher)
    }

    /// The master key (to wrap it in a key file).
    pub fn master(&self) -> &[u8; 32] {
        &self.master
    }

    /// The id of a blob with plaintext `data`.
    pub fn blob_id(&self, data: &[u8]) -> BlobId {
        BlobId(*blake3::keyed_hash(&self.id_key, data).as_bytes())
    }
}

/// Hex BLAKE3 of stored bytes: the name of a stored object.
pub fn object_name(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Standard base64 with padding (key files and config).
pub fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard base64 (padding optional); `None` on any invalid character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_tamper_detection() {
        for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
            let keys = Keys::generate(cipher).expect("keys");
            let sealed = keys.enc.seal(b"ctx", b"family photos").expect("seal");
            assert_eq!(sealed.len(), 13 + OVERHEAD);
            assert_eq!(keys.enc.open(b"ctx", &sealed).as_deref(), Some(&b"family photos"[..]));
            assert!(keys.enc.open(b"other", &sealed).is_none(), "AAD is bound");
            let mut bad = sealed.clone();
            bad[15] ^= 1;
            assert!(keys.enc.open(b"ctx", &bad).is_none());
            assert!(keys.enc.open(b"ctx", &sealed[..sealed.len() - 1]).is_none());
            assert!(keys.enc.open(b"ctx", &[]).is_none());
        }
    }

    #[test]
    fn blob_ids_are_keyed() {
        let a = Keys::generate(Cipher::Aes256Gcm).expect("keys");
        let b = Keys::generate(Cipher::Aes256Gcm).expect("keys");
        assert_eq!(a.blob_id(b"x"), a.blob_id(b"x"));
        assert_ne!(a.blob_id(b"x"), b.blob_id(b"x"));
        assert_ne!(a.blob_id(b"x").0, *blake3::hash(b"x").as_bytes());
    }

    #[test]
    fn base64_roundtrip() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let enc = base64_encode(&data);
            assert_eq!(enc.len() % 4, 0);
            assert_eq!(base64_decode(&enc), Some(data));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm8="), Some(b"fo".to_vec()));
        assert_eq!(base64_decode("Z!8="), None);
    }
}
