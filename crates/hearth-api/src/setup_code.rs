//! The one-time setup code. While the box has no users, anyone on its LAN may claim it (the
//! family plugging it in); from anywhere else the claim also needs this code, which is printed to
//! the console/log and written to `DATA/setup-code` (owner-only). It is removed once claimed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::auth::secret;

/// Letters and digits that cannot be mistaken for one another when read off a console.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";

/// The code and its file.
#[derive(Debug)]
pub struct SetupCode {
    path: PathBuf,
    code: Mutex<Option<String>>,
}

impl SetupCode {
    /// Load the code from `DATA/setup-code`, or make and store a new one when `unclaimed`.
    /// When the box is claimed, any leftover file is removed.
    pub fn prepare(data_dir: &Path, unclaimed: bool) -> std::io::Result<SetupCode> {
        let path = data_dir.join("setup-code");
        if !unclaimed {
            let _ = std::fs::remove_file(&path);
            return Ok(SetupCode { path, code: Mutex::new(None) });
        }
        let existing = std::fs::read_to_string(&path).ok().map(|s| s.trim().to_string()).filter(|s| valid(s));
        let code = match existing {
            Some(c) => c,
            None => {
                let c = generate().map_err(|e| std::io::Error::other(e.message))?;
                hearth_platform::durable::write_atomic(&path, format!("{c}\n").as_bytes(), 0o600)?;
                c
            }
        };
        Ok(SetupCode { path, code: Mutex::new(Some(code)) })
    }

    /// The code while unclaimed.
    pub fn current(&self) -> Option<String> {
        self.code.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether `given` is the code (case and dashes ignored), in constant time.
    pub fn matches(&self, given: &str) -> bool {
        let Some(code) = self.current() else { return false };
        let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect::<String>();
        secret::constant_time_eq(norm(&code).as_bytes(), norm(given).as_bytes())
    }

    /// The box has been claimed: forget the code and remove its file.
    pub fn consume(&self) {
        *self.code.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

fn valid(s: &str) -> bool {
    s.len() == 9 && s.as_bytes()[4] == b'-' && s.bytes().enumerate().all(|(i, b)| i == 4 || ALPHABET.contains(&b))
}

fn generate() -> Result<String, crate::ApiError> {
    let mut raw = [0u8; 8];
    secret::fill_random(&mut raw)?;
    // 30 symbols: the modulo bias (256 % 30 = 16) is irrelevant for a throttled one-time code.
    let chars: String = raw.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_persists_until_consumed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = SetupCode::prepare(dir.path(), true).expect("prepare");
        let code = a.current().expect("code");
        assert!(valid(&code), "{code}");
        let b = SetupCode::prepare(dir.path(), true).expect("prepare again");
        assert_eq!(b.current(), Some(code.clone()), "a restart keeps the printed code valid");
        assert!(b.matches(&code.to_lowercase().replace('-', "")));
        assert!(!b.matches("AAAA-AAAA"));
        b.consume();
        assert!(!b.matches(&code));
        assert!(!dir.path().join("setup-code").exists());
    }
}
