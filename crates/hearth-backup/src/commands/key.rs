//! `backup key list|add|remove|passwd`: the passwords that open a repository
//! (docs/backup-format.md §4). Each password is one key file wrapping the same master key, so
//! adding or removing one never touches the data.

use crate::backend::FileType;
use crate::crypto::object_name;
use crate::error::{BackupError, Result};
use crate::keyfile::{Kdf, KeyFile};
use crate::lock::LockMode;
use crate::repository::Repository;

/// One key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// Object name.
    pub name: String,
    /// When it was made.
    pub created: String,
    /// Where.
    pub host: String,
    /// By whom.
    pub user: String,
    /// Whether this session opened the repository with it.
    pub current: bool,
}

/// Every key file (damaged ones are listed with what is wrong in `host`).
pub fn list(repo: &Repository) -> Result<Vec<KeyEntry>> {
    let mut out = Vec::new();
    for name in repo.backend().list(FileType::Key)? {
        let current = name == repo.key_name;
        let entry = match repo.backend().read(FileType::Key, &name).and_then(|b| KeyFile::parse(&name, &b)) {
            Ok(k) => KeyEntry { name, created: k.created, host: k.host, user: k.user, current },
            Err(e) => KeyEntry { name, created: String::new(), host: format!("(unreadable: {e})"), user: String::new(), current },
        };
        out.push(entry);
    }
    out.sort_by(|a, b| a.created.cmp(&b.created));
    Ok(out)
}

/// Add a key for `password`; returns its name.
pub fn add(repo: &Repository, password: &[u8], kdf: Kdf) -> Result<String> {
    if password.is_empty() {
        return Err(BackupError::Invalid("an empty password protects nothing: choose one".into()));
    }
    let bytes = KeyFile::wrap(repo.keys.master(), repo.keys.cipher, password, kdf)?.to_bytes()?;
    let name = object_name(&bytes);
    repo.backend().write(FileType::Key, &name, &bytes)?;
    Ok(name)
}

fn find(repo: &Repository, prefix: &str) -> Result<String> {
    let mut hits: Vec<String> = repo.backend().list(FileType::Key)?.into_iter().filter(|n| n.starts_with(prefix)).collect();
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(BackupError::Invalid(format!("no key {prefix:?}; `hearth backup key list` shows them"))),
        n => Err(BackupError::Invalid(format!("{prefix:?} matches {n} keys; give more characters"))),
    }
}

/// Remove the key named by a unique prefix. The key this session opened with cannot be
/// removed (use `passwd`), so at least one known password always remains.
pub fn remove(repo: &Repository, prefix: &str) -> Result<String> {
    let _lock = repo.lock(LockMode::Exclusive)?;
    let name = find(repo, prefix)?;
    if name == repo.key_name {
        return Err(BackupError::Invalid(
            "that is the key this password opened; open with another password to remove it, or use `key passwd` to change it".into(),
        ));
    }
    repo.backend().remove(FileType::Key, &name)?;
    Ok(name)
}

/// Replace this session's password: add a key for `new_password`, then remove the old one. If
/// interrupted in between, both passwords work.
pub fn passwd(repo: &mut Repository, new_password: &[u8], kdf: Kdf) -> Result<String> {
    let _lock = repo.lock(LockMode::Exclusive)?;
    let name = add(repo, new_password, kdf)?;
    repo.backend().remove(FileType::Key, &repo.key_name)?;
    repo.key_name = name.clone();
    Ok(name)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backend::local::Local;
    use crate::crypto::Cipher;

    #[test]
    fn add_remove_passwd() {
        let dir = tempfile::tempdir().expect("tmp");
        let backend = Arc::new(Local::new(dir.path().join("r")));
        let kdf = || Kdf::for_tests().expect("kdf");
        let repo = Repository::init(backend.clone(), b"first", Cipher::Aes256Gcm, kdf()).expect("init");
        let second = add(&repo, b"second", kdf()).expect("add");
        assert_eq!(list(&repo).expect("list").len(), 2);
        assert!(remove(&repo, &repo.key_name.clone()).is_err(), "the current key stays");
        let mut by_second = Repository::open(backend.clone(), b"second").expect("second opens");
        assert_eq!(by_second.key_name, second);
        assert_eq!(by_second.config.id, repo.config.id);
        remove(&by_second, &repo.key_name[..10]).expect("remove first");
        assert!(matches!(Repository::open(backend.clone(), b"first"), Err(BackupError::WrongPassword)));
        let new = passwd(&mut by_second, b"third", kdf()).expect("passwd");
        let keys = list(&by_second).expect("list");
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert!(keys[0].current && keys[0].name == new);
        assert!(Repository::open(backend.clone(), b"third").is_ok());
        assert!(matches!(Repository::open(backend.clone(), b"second"), Err(BackupError::WrongPassword)));
        assert!(add(&repo, b"", kdf()).is_err());
    }
}
