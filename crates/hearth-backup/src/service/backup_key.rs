//! The box's backup password: every repository this box writes opens with it. At setup the
//! owner chooses one, or Hearth makes a recovery key, shows it once, and never again: without it
//! an off-site backup of a lost box cannot be read by anyone. The box keeps it sealed in the
//! catalog (settings `backup.password`, [`super::credentials`]) to run backups unattended.

use rusqlite::Connection;

use super::credentials::{CredentialKey, Purpose};
use crate::crypto::{base64_decode, base64_encode, random};
use crate::error::{BackupError, Result};

const SETTING: &str = "backup.password";
const KIND_SETTING: &str = "backup.password_kind";
/// The fewest characters of a password the owner chooses.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Crockford's base32: no I, L, O, U, so what is read aloud or typed back is unambiguous.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const GROUPS: usize = 6;
const GROUP_LEN: usize = 5;

/// The password repositories open with. Its `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupPassword(String);

impl std::fmt::Debug for BackupPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupPassword(..)")
    }
}

impl BackupPassword {
    /// The bytes a repository's key file is opened with.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// A password the owner chose: at least [`MIN_PASSWORD_CHARS`] characters.
    pub fn chosen(text: &str) -> Result<BackupPassword> {
        if text.chars().count() < MIN_PASSWORD_CHARS {
            return Err(BackupError::Invalid(format!(
                "a backup password needs at least {MIN_PASSWORD_CHARS} characters (or let Hearth make a recovery key)"
            )));
        }
        Ok(BackupPassword(text.to_string()))
    }

    /// A recovery key as someone typed it back: case, spaces and dashes do not matter, and
    /// the letters O, I and L read as 0, 1 and 1.
    pub fn recovery_key(typed: &str) -> Result<BackupPassword> {
        let mut norm = String::new();
        for c in typed.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' | '\t' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return Err(BackupError::Invalid(format!("{c:?} is not in a recovery key (digits and letters without I, L, O, U)")));
            }
            norm.push(c);
        }
        if norm.len() != GROUPS * GROUP_LEN {
            return Err(BackupError::Invalid(format!("a recovery key has {} characters; this has {}", GROUPS * GROUP_LEN, norm.len())));
        }
        Ok(BackupPassword(norm))
    }
}

/// A new recovery key (150 random bits): the password, and how it is shown (`7K2QX-…`).
pub fn generate_recovery_key() -> Result<(BackupPassword, String)> {
    let mut raw = [0u8; GROUPS * GROUP_LEN];
    random(&mut raw)?;
    let text: String = raw.iter().map(|b| ALPHABET[usize::from(b & 31)] as char).collect();
    let shown = text.as_bytes().chunks(GROUP_LEN).map(|g| String::from_utf8_lossy(g).into_owned()).collect::<Vec<_>>().join("-");
    Ok((BackupPassword(text), shown))
}

/// How the password was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Hearth made a recovery key.
    RecoveryKey,
    /// The owner chose a password.
    Password,
}

/// The stored password, if one was set up.
pub fn stored(conn: &Connection, key: &CredentialKey) -> Result<Option<BackupPassword>> {
    let Some(b64) = hearth_catalog::settings::get(conn, SETTING)? else { return Ok(None) };
    let sealed = base64_decode(&b64).ok_or_else(|| BackupError::Invalid(format!("the setting {SETTING} is damaged")))?;
    let plain = key.open(Purpose::BackupPassword, &sealed)?;
    let text = String::from_utf8(plain).map_err(|_| BackupError::Invalid(format!("the setting {SETTING} is damaged")))?;
    Ok(Some(BackupPassword(text)))
}

/// How the stored password was made, if one was set up.
pub fn kind(conn: &Connection) -> Result<Option<KeyKind>> {
    Ok(match hearth_catalog::settings::get(conn, KIND_SETTING)?.as_deref() {
        Some("recovery_key") => Some(KeyKind::RecoveryKey),
        Some(_) => Some(KeyKind::Password),
        None => None,
    })
}

/// Keep `password` as the box's backup password. Refused when one is set: repositories already
/// written open only with the old one.
pub fn store(conn: &Connection, key: &CredentialKey, password: &BackupPassword, kind: KeyKind) -> Result<()> {
    if hearth_catalog::settings::get(conn, SETTING)?.is_some() {
        return Err(BackupError::AlreadyExists("the backup password of this box (it was set up before)".into()));
    }
    let sealed = key.seal(Purpose::BackupPassword, password.as_bytes())?;
    hearth_catalog::settings::set(conn, SETTING, &base64_encode(&sealed))?;
    let kind_text = match kind {
        KeyKind::RecoveryKey => "recovery_key",
        KeyKind::Password => "password",
    };
    hearth_catalog::settings::set(conn, KIND_SETTING, kind_text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_key_reads_back_however_it_is_typed() {
        let (pw, shown) = generate_recovery_key().expect("key");
        assert_eq!(shown.len(), GROUPS * GROUP_LEN + GROUPS - 1);
        assert_eq!(BackupPassword::recovery_key(&shown).expect("as shown"), pw);
        let sloppy = shown.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
        assert_eq!(BackupPassword::recovery_key(&sloppy).expect("sloppy"), pw);
        assert!(BackupPassword::recovery_key(&shown[..10]).is_err());
        assert!(BackupPassword::recovery_key(&shown.replace(|c: char| c.is_ascii_digit(), "U")).is_err());
        let (other, _) = generate_recovery_key().expect("key");
        assert_ne!(other, pw);
    }

    #[test]
    fn short_chosen_passwords_are_refused() {
        assert!(BackupPassword::chosen("short").is_err());
        assert!(BackupPassword::chosen("correct horse battery").is_ok());
    }

    #[test]
    fn the_password_is_stored_sealed_and_only_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cat, _) = hearth_catalog::Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
        let key = CredentialKey::load_or_create(dir.path()).expect("key");
        let pw = BackupPassword::chosen("correct horse battery").expect("pw");
        assert!(cat.read(|r| Ok(stored(r, &key))).expect("read").expect("stored").is_none());
        cat.write(|tx| Ok(store(tx, &key, &pw, KeyKind::Password))).expect("tx").expect("store");
        let raw = cat.read(|r| hearth_catalog::settings::get(r, SETTING)).expect("raw").expect("set");
        assert!(!raw.contains("horse"));
        assert_eq!(cat.read(|r| Ok(stored(r, &key))).expect("read").expect("stored"), Some(pw.clone()));
        assert_eq!(cat.read(|r| Ok(kind(r))).expect("read").expect("kind"), Some(KeyKind::Password));
        let again = cat.write(|tx| Ok(store(tx, &key, &pw, KeyKind::Password))).expect("tx");
        assert!(matches!(again, Err(BackupError::AlreadyExists(_))));
    }
}
