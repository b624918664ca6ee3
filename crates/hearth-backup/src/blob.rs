//! Blob ids and types.

use std::fmt;

use crate::error::{BackupError, Result};

/// A blob id: keyed BLAKE3 of its plaintext.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(pub [u8; 32]);

impl BlobId {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parse 64 hex characters.
    pub fn from_hex(s: &str) -> Result<BlobId> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(BackupError::Invalid(format!("{s:?} is not a blob id")));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hex = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            match (hex(pair[0]), hex(pair[1])) {
                (Some(h), Some(l)) => out[i] = h << 4 | l,
                _ => return Err(BackupError::Invalid(format!("{s:?} is not a blob id"))),
            }
        }
        Ok(BlobId(out))
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.to_hex()[..12])
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl serde::Serialize for BlobId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for BlobId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BlobId::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// What a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlobType {
    /// File content.
    Data,
    /// A directory listing.
    Tree,
}

impl BlobType {
    /// The byte stored in packs and indexes.
    pub fn byte(self) -> u8 {
        match self {
            BlobType::Data => 0,
            BlobType::Tree => 1,
        }
    }

    /// Parse the stored byte.
    pub fn from_byte(b: u8) -> Option<BlobType> {
        match b {
            0 => Some(BlobType::Data),
            1 => Some(BlobType::Tree),
            _ => None,
        }
    }

    /// The AAD of a blob of this type with `id`.
    pub fn aad(self, id: &BlobId) -> Vec<u8> {
        let mut aad = Vec::with_capacity(11 + 1 + 32);
        aad.extend_from_slice(b"hearth-blob");
        aad.push(self.byte());
        aad.extend_from_slice(&id.0);
        aad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_roundtrip_and_refusals() {
        let id = BlobId([0xab; 32]);
        assert_eq!(BlobId::from_hex(&id.to_hex()).expect("parse"), id);
        assert!(BlobId::from_hex("ab").is_err());
        assert!(BlobId::from_hex(&"AB".repeat(32)).is_err());
        assert!(BlobId::from_hex(&"zz".repeat(32)).is_err());
    }
}
