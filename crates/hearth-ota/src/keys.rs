//! ed25519 keys (docs/update-bundle.md §5): the keys an image trusts, and the key a bundle is
//! signed with. Key ids are the first 8 bytes of BLAKE3 of the public key: they pick which
//! trusted key to try, they prove nothing.

use std::fmt;
use std::path::Path;

use ring::signature::{self, Ed25519KeyPair, KeyPair};

use crate::error::{OtaError, Result};

/// A key's short id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

/// An ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; 32],
    /// What the key file says about it (such as "Hearth development key").
    pub comment: String,
}

impl PublicKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32], comment: impl Into<String>) -> PublicKey {
        PublicKey { bytes, comment: comment.into() }
    }

    /// Its id.
    pub fn id(&self) -> KeyId {
        let hash = blake3::hash(&self.bytes);
        let mut id = [0u8; 8];
        id.copy_from_slice(&hash.as_bytes()[..8]);
        KeyId(id)
    }

    /// Parse a public key file: `ed25519 <64 hex digits> [comment]`, `#` lines ignored.
    pub fn parse(text: &str) -> Result<PublicKey> {
        let bad = |why: &str| OtaError::InvalidManifest(format!("a public key file: {why}"));
        let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).ok_or_else(|| bad("it is empty"))?;
        let mut words = line.splitn(3, char::is_whitespace);
        if words.next() != Some("ed25519") {
            return Err(bad("it does not start with \"ed25519\""));
        }
        let hex_key = words.next().ok_or_else(|| bad("it has no key"))?;
        let bytes: [u8; 32] = unhex(hex_key).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("the key is not 64 hex digits"))?;
        Ok(PublicKey { bytes, comment: words.next().unwrap_or("").trim().to_string() })
    }

    /// Its file text.
    pub fn to_file_text(&self) -> String {
        format!("ed25519 {} {}\n", hex(&self.bytes), self.comment)
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.bytes).verify(message, sig).is_ok()
    }
}

/// The keys an image trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// These keys.
    pub fn new(keys: Vec<PublicKey>) -> TrustedKeys {
        TrustedKeys { keys }
    }

    /// Every `*.pub` file in `dir` (the image's `/usr/share/hearth/update-keys`). A file that is
    /// not a key is an error: an image must not quietly trust fewer keys than it was built with.
    pub fn load_dir(dir: &Path) -> Result<TrustedKeys> {
        let mut keys = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(OtaError::io(format!("the trusted update keys in {}", dir.display())))?;
        for entry in entries {
            let path = entry.map_err(OtaError::io(format!("the trusted update keys in {}", dir.display())))?.path();
            if path.extension().is_some_and(|e| e == "pub") {
                let text = std::fs::read_to_string(&path).map_err(OtaError::io(format!("the update key {}", path.display())))?;
                keys.push(PublicKey::parse(&text)?);
            }
        }
        Ok(TrustedKeys { keys })
    }

    /// The keys.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Check `sig` over `message` with the trusted key `id`.
    pub fn verify(&self, id: KeyId, message: &[u8], sig: &[u8]) -> Result<&PublicKey> {
        let key = self.keys.iter().find(|k| k.id() == id).ok_or_else(|| OtaError::UnknownKey(id.to_string()))?;
        if key.verify(message, sig) { Ok(key) } else { Err(OtaError::BadSignature) }
    }
}

/// A private signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    comment: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public().id())
    }
}

impl SigningKey {
    /// A new random key and its private key file text.
    pub fn generate(comment: &str) -> Result<(SigningKey, String)> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| OtaError::io("making a key")(std::io::Error::other("no randomness")))?;
        let text = format!("# {comment}\n{}\n", hex(pkcs8.as_ref()));
        Ok((SigningKey::parse(&text, comment)?, text))
    }

    /// Parse a private key file (PKCS#8 v2 in hex on the first line that is not a `#` comment).
    pub fn parse(text: &str, comment: &str) -> Result<SigningKey> {
        let bad = || OtaError::InvalidManifest("the signing key file is not a PKCS#8 ed25519 key in hex".into());
        let line = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).ok_or_else(bad)?;
        let der = unhex(line).ok_or_else(bad)?;
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| bad())?;
        Ok(SigningKey { pair, comment: comment.to_string() })
    }

    /// Read a private key file.
    pub fn load(path: &Path) -> Result<SigningKey> {
        let text = std::fs::read_to_string(path).map_err(OtaError::io(format!("the signing key {}", path.display())))?;
        let comment = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        SigningKey::parse(&text, &comment)
    }

    /// Its public key.
    pub fn public(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey { bytes, comment: self.comment.clone() }
    }

    /// Sign `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut sig = [0u8; 64];
        sig.copy_from_slice(self.pair.sign(message).as_ref());
        sig
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_signs_and_only_its_trusted_public_key_verifies() {
        let (key, text) = SigningKey::generate("test key").expect("key");
        let again = SigningKey::parse(&text, "test key").expect("parse");
        assert_eq!(again.public(), key.public());
        let public = PublicKey::parse(&key.public().to_file_text()).expect("public");
        assert_eq!(public.comment, "test key");
        let trusted = TrustedKeys::new(vec![public]);
        let sig = key.sign(b"hello");
        trusted.verify(key.public().id(), b"hello", &sig).expect("verifies");
        assert!(matches!(trusted.verify(key.public().id(), b"hellO", &sig), Err(OtaError::BadSignature)));
        let (other, _) = SigningKey::generate("other").expect("key");
        assert!(matches!(trusted.verify(other.public().id(), b"hello", &other.sign(b"hello")), Err(OtaError::UnknownKey(_))));
    }

    #[test]
    fn refuses_malformed_key_files() {
        for bad in ["", "# only a comment", "rsa 00", "ed25519", "ed25519 zz", "ed25519 0011"] {
            assert!(PublicKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SigningKey::parse("not hex", "x").is_err());
        assert!(SigningKey::parse("0011", "x").is_err());
    }
}
