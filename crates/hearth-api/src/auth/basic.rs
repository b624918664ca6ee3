//! HTTP Basic credentials (`Authorization: Basic base64(name:password)`), which restic and the
//! WebDAV and Nextcloud apps send: the password is an app password (checked like a bearer one)
//! or the account's own.
//!
//! An account password costs an argon2id run (a quarter of a second and 19 MiB on a Pi 4), and
//! restic makes hundreds of requests per backup, so a password that verified is remembered for a
//! few minutes: by the SHA-256 of name, password and the stored hash together, so a changed
//! password or a changed hash forgets it at once, and nothing in memory reveals the password.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a verified account password is remembered.
const REMEMBERED: Duration = Duration::from_secs(300);
/// How many verified passwords are remembered at most.
const MOST: usize = 256;

/// The name and password of a `Basic` Authorization value, or `None` when it is not one.
pub fn parse(authorization: &str) -> Option<(String, String)> {
    let (scheme, encoded) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 1024 {
        return None;
    }
    let decoded = hearth_backup::crypto::base64_decode(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    (!name.is_empty()).then(|| (name.to_string(), password.to_string()))
}

/// Account passwords verified lately.
#[derive(Default)]
pub struct VerifiedPasswords(Mutex<HashMap<Vec<u8>, Instant>>);

impl std::fmt::Debug for VerifiedPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifiedPasswords")
    }
}

fn key(name: &str, password: &str, stored_hash: &str) -> Vec<u8> {
    super::secret::sha256(&format!("{name}\0{password}\0{stored_hash}"))
}

impl VerifiedPasswords {
    /// Whether this password verified against this stored hash lately.
    pub fn remembers(&self, name: &str, password: &str, stored_hash: &str) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let k = key(name, password, stored_hash);
        match map.get(&k) {
            Some(at) if at.elapsed() < REMEMBERED => true,
            Some(_) => {
                map.remove(&k);
                false
            }
            None => false,
        }
    }

    /// Remember a password that just verified.
    pub fn remember(&self, name: &str, password: &str, stored_hash: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MOST {
            map.retain(|_, at| at.elapsed() < REMEMBERED);
            if let Some(oldest) = map.iter().min_by_key(|(_, at)| **at).map(|(k, _)| k.clone()).filter(|_| map.len() >= MOST) {
                map.remove(&oldest);
            }
        }
        map.insert(key(name, password, stored_hash), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_values_are_parsed_and_anything_else_is_not() {
        // "anna:pass:word" — the password may hold colons, the name may not.
        assert_eq!(parse("Basic YW5uYTpwYXNzOndvcmQ="), Some(("anna".into(), "pass:word".into())));
        assert_eq!(parse("basic  YW5uYTo= "), Some(("anna".into(), String::new())));
        for bad in ["Bearer YW5uYTpw", "Basic", "Basic !!!", "Basic OnBhc3M=", "Basic YW5uYQ==", "Basic /w==", ""] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_changed_password_or_hash_is_not_remembered() {
        let v = VerifiedPasswords::default();
        v.remember("anna", "secret-one", "$argon2id$one");
        assert!(v.remembers("anna", "secret-one", "$argon2id$one"));
        assert!(!v.remembers("anna", "secret-two", "$argon2id$one"));
        assert!(!v.remembers("anna", "secret-one", "$argon2id$two"));
        assert!(!v.remembers("bob", "secret-one", "$argon2id$one"));
        for i in 0..MOST + 10 {
            v.remember(&format!("u{i}"), "p", "h");
        }
        assert!(v.0.lock().expect("lock").len() <= MOST);
    }
}
