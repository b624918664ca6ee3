//! Passwords: argon2id with parameters a 2 GB board can afford (19 MiB, 2 passes, 1 lane: the
//! OWASP baseline), verified on the blocking pool so logins never stall the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::ApiError;

const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// The shortest password accepted.
pub const MIN_LEN: usize = 8;
/// The longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_LEN: usize = 1024;

fn hasher() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(ApiError::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Check a new password against the rules; the message says what is allowed.
pub fn check_rules(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(ApiError::invalid(format!("the password is too short: use at least {MIN_LEN} characters")));
    }
    if password.len() > MAX_LEN {
        return Err(ApiError::invalid(format!("the password is too long: at most {MAX_LEN} bytes")));
    }
    Ok(())
}

/// Hash a password into a PHC string.
pub fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let mut salt_bytes = [0u8; 16];
    super::secret::fill_random(&mut salt_bytes)?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(ApiError::internal)?;
    Ok(hasher()?.hash_password(password.as_bytes(), &salt).map_err(ApiError::internal)?.to_string())
}

/// Verify a password against a PHC string. A malformed stored hash never verifies.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    if password.len() > MAX_LEN {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let Ok(h) = hasher() else { return false };
    h.verify_password(password.as_bytes(), &parsed).is_ok()
}

/// Hash on the blocking pool.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Verify on the blocking pool. With `phc == None` (no such user) a dummy hash is verified so
/// the answer takes as long as for a real user and does not reveal which names exist.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            let _ = verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not a real password, only for timing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verify_roundtrip() {
        let h = hash_blocking("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("correct horse", &h));
        assert!(!verify_blocking("wrong horse", &h));
        assert!(!verify_blocking("correct horse", "not a phc string"));
    }

    #[test]
    fn rules() {
        assert!(check_rules("short").is_err());
        assert!(check_rules("long enough").is_ok());
        assert!(check_rules(&"x".repeat(2000)).is_err());
    }
}
