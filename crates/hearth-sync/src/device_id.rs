//! Device ids (BEP "Device ID"): the SHA-256 of a device's certificate (DER), shown as 52
//! base32 characters (RFC 4648 alphabet, no padding) cut into four groups of 13, each followed by
//! a check character, then grouped by seven with dashes:
//! `MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD`.
//!
//! The check character is Syncthing's "Luhn mod 32", which walks the characters left to right
//! starting with factor 1 (not the textbook right-to-left order); it is what every Syncthing
//! device computes, so it is what Hearth computes.

use std::fmt;
use std::str::FromStr;

use crate::error::SyncError;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A device id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub [u8; 32]);

impl DeviceId {
    /// The id of the device whose certificate is `der`.
    pub fn from_certificate(der: &[u8]) -> DeviceId {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut id = [0u8; 32];
        id.copy_from_slice(digest.as_ref());
        DeviceId(id)
    }

    /// The short id: the first 8 bytes, big-endian (version vectors and `modified_by` use it).
    pub fn short(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }

    /// From the 32 raw bytes of a BEP `Device.id` field.
    pub fn from_bytes(b: &[u8]) -> Option<DeviceId> {
        b.try_into().ok().map(DeviceId)
    }
}

/// How Syncthing prints a short id (in conflict names): the first 7 base32 characters of its
/// 8 bytes, which are also the first 7 characters of the device id.
pub fn short_text(short: u64) -> String {
    if short == 0 {
        return String::new();
    }
    base32(&short.to_be_bytes()).chars().take(7).collect()
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn unbase32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Syncthing's check character for a group of base32 characters.
fn luhn32(group: &str) -> Option<char> {
    let (mut factor, mut sum) = (1u32, 0u32);
    for c in group.bytes() {
        let code = ALPHABET.iter().position(|&a| a == c)? as u32;
        let addend = factor * code;
        factor = if factor == 2 { 1 } else { 2 };
        sum += addend / 32 + addend % 32;
    }
    Some(ALPHABET[((32 - sum % 32) % 32) as usize] as char)
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = base32(&self.0); // 52 characters
        let mut with_checks = String::with_capacity(56);
        for i in 0..4 {
            let group = &plain[i * 13..(i + 1) * 13];
            with_checks.push_str(group);
            with_checks.push(luhn32(group).ok_or(fmt::Error)?);
        }
        for (i, chunk) in with_checks.as_bytes().chunks(7).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl FromStr for DeviceId {
    type Err = SyncError;

    /// Accepts the usual form, with or without dashes or spaces, in any case; the check
    /// characters must be right (a mistyped id is refused, not paired).
    fn from_str(s: &str) -> Result<DeviceId, SyncError> {
        let bad = |why| SyncError::BadDeviceId(s.to_string(), why);
        let clean: String = s.chars().filter(|c| *c != '-' && *c != ' ').map(|c| c.to_ascii_uppercase()).collect();
        if clean.len() != 56 {
            return Err(bad("it must have 56 characters (without dashes)"));
        }
        let mut plain = String::with_capacity(52);
        for i in 0..4 {
            let group = &clean[i * 14..i * 14 + 13];
            let check = clean.as_bytes()[i * 14 + 13] as char;
            if luhn32(group).ok_or_else(|| bad("it may contain only A-Z and 2-7"))? != check {
                return Err(bad("a check character is wrong (mistyped?)"));
            }
            plain.push_str(group);
        }
        let bytes = unbase32(&plain).ok_or_else(|| bad("it may contain only A-Z and 2-7"))?;
        let id: [u8; 32] = bytes.get(..32).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("wrong length"))?;
        Ok(DeviceId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parses_and_refuses_typos() {
        let id = DeviceId::from_certificate(b"not really a certificate");
        let text = id.to_string();
        assert_eq!(text.len(), 63);
        assert_eq!(text.matches('-').count(), 7);
        assert_eq!(text.parse::<DeviceId>().expect("parse"), id);
        assert_eq!(text.to_lowercase().replace('-', "").parse::<DeviceId>().expect("parse"), id);
        // One character changed: a check character catches it.
        let mut typo = text.clone().into_bytes();
        typo[2] = if typo[2] == b'A' { b'B' } else { b'A' };
        assert!(String::from_utf8(typo).expect("ascii").parse::<DeviceId>().is_err());
        for bad in ["", "ABC", &format!("{}B", "A".repeat(55)), &"1".repeat(56)] {
            assert!(bad.parse::<DeviceId>().is_err(), "{bad}");
        }
        assert_eq!(id.short(), u64::from_be_bytes(id.0[..8].try_into().expect("8")));
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(unbase32("MZXW6YTBOI").expect("decode"), b"foobar");
    }

    proptest::proptest! {
        #[test]
        fn any_id_roundtrips(bytes in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let id = DeviceId(bytes);
            proptest::prop_assert_eq!(id.to_string().parse::<DeviceId>().expect("parse"), id);
        }
    }
}
