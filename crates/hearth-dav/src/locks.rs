//! WebDAV write locks (RFC 4918 §6, §7), kept in memory: a restart of the daemon forgets them,
//! which the RFC allows and clients survive (Finder and Windows take a new lock when theirs is
//! refused). A lock is honoured by its token: a request that changes a locked resource must
//! submit the token in its `If` header, whoever sends it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::path::DavPath;
use crate::request_body::LockScope;

/// The most locks kept for one space; more is a client gone wrong.
pub const MOST_LOCKS: usize = 10_000;

/// One lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// `urn:uuid:…`.
    pub token: String,
    /// The resource locked.
    pub root: DavPath,
    /// Whether it covers everything below a collection (`Depth: infinity`).
    pub infinite: bool,
    /// Exclusive or shared.
    pub scope: LockScope,
    /// The client's owner element, as XML.
    pub owner: Option<String>,
    /// The seconds granted at the last refresh.
    pub timeout_secs: u64,
    /// When it lapses.
    pub expires: Instant,
    /// Who took it (the user's name).
    pub principal: String,
}

impl Lock {
    /// Whether the lock covers `path`.
    pub fn covers(&self, path: &DavPath) -> bool {
        *path == self.root || (self.infinite && path.starts_with(&self.root))
    }

    /// Seconds left.
    pub fn seconds_left(&self, now: Instant) -> u64 {
        self.expires.saturating_duration_since(now).as_secs()
    }
}

/// Why a lock cannot be had or a change may not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LockError {
    /// Another lock is in the way (423), on this path.
    #[error("{0} is locked")]
    Locked(DavPath),
    /// No such lock on that resource (409 for UNLOCK, 412 for a refresh).
    #[error("no lock with that token covers this resource")]
    NoSuchLock,
    /// Too many locks held.
    #[error("too many locks are held; unlock some first")]
    TooMany,
}

/// Every space's locks.
#[derive(Debug, Default)]
pub struct LockTable(Mutex<HashMap<String, Vec<Lock>>>);

impl LockTable {
    fn with<R>(&self, space: &str, now: Instant, f: impl FnOnce(&mut Vec<Lock>) -> R) -> R {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let locks = map.entry(space.to_string()).or_default();
        locks.retain(|l| l.expires > now);
        f(locks)
    }

    /// The live locks covering `path`.
    pub fn covering(&self, space: &str, path: &DavPath, now: Instant) -> Vec<Lock> {
        self.with(space, now, |locks| locks.iter().filter(|l| l.covers(path)).cloned().collect())
    }

    /// The live locks whose resource is `path` or below it.
    pub fn below(&self, space: &str, path: &DavPath, now: Instant) -> Vec<Lock> {
        self.with(space, now, |locks| locks.iter().filter(|l| l.root.starts_with(path)).cloned().collect())
    }

    /// The lock with `token`, if live.
    pub fn by_token(&self, space: &str, token: &str, now: Instant) -> Option<Lock> {
        self.with(space, now, |locks| locks.iter().find(|l| l.token == token).cloned())
    }

    /// Takes a new lock on `root`. It conflicts with an exclusive lock that covers it or lies
    /// below it (when `infinite`), and, when exclusive itself, with any such lock.
    #[allow(clippy::too_many_arguments)]
    pub fn lock(
        &self,
        space: &str,
        root: &DavPath,
        infinite: bool,
        scope: LockScope,
        owner: Option<String>,
        timeout_secs: u64,
        principal: &str,
        now: Instant,
    ) -> Result<Lock, LockError> {
        self.with(space, now, |locks| {
            if locks.len() >= MOST_LOCKS {
                return Err(LockError::TooMany);
            }
            for l in locks.iter() {
                let overlaps = l.covers(root) || (infinite && l.root.starts_with(root));
                if overlaps && (scope == LockScope::Exclusive || l.scope == LockScope::Exclusive) {
                    return Err(LockError::Locked(l.root.clone()));
                }
            }
            let lock = Lock {
                token: format!("urn:uuid:{}", new_uuid()),
                root: root.clone(),
                infinite,
                scope,
                owner,
                timeout_secs,
                expires: now + Duration::from_secs(timeout_secs),
                principal: principal.to_string(),
            };
            locks.push(lock.clone());
            Ok(lock)
        })
    }

    /// Refreshes the lock with `token`, which must cover `path`.
    pub fn refresh(&self, space: &str, path: &DavPath, token: &str, timeout_secs: u64, now: Instant) -> Result<Lock, LockError> {
        self.with(space, now, |locks| {
            let l = locks.iter_mut().find(|l| l.token == token && l.covers(path)).ok_or(LockError::NoSuchLock)?;
            l.timeout_secs = timeout_secs;
            l.expires = now + Duration::from_secs(timeout_secs);
            Ok(l.clone())
        })
    }

    /// Removes the lock with `token`, which must cover `path`.
    pub fn unlock(&self, space: &str, path: &DavPath, token: &str, now: Instant) -> Result<(), LockError> {
        self.with(space, now, |locks| {
            let i = locks.iter().position(|l| l.token == token && l.covers(path)).ok_or(LockError::NoSuchLock)?;
            locks.remove(i);
            Ok(())
        })
    }

    /// Forgets the locks on `path` and below (it was deleted or moved away).
    pub fn forget_below(&self, space: &str, path: &DavPath, now: Instant) {
        self.with(space, now, |locks| locks.retain(|l| !l.root.starts_with(path)));
    }

    /// Whether a change to `path` (and, when `deep`, to everything below it) may go ahead with the
    /// `submitted` tokens: every lock covering it, or below it when `deep`, must be submitted.
    pub fn may_change(&self, space: &str, path: &DavPath, deep: bool, submitted: &[&str], now: Instant) -> Result<(), LockError> {
        self.with(space, now, |locks| {
            for l in locks.iter() {
                let affected = l.covers(path) || (deep && l.root.starts_with(path));
                if affected && !submitted.contains(&l.token.as_str()) {
                    return Err(LockError::Locked(l.root.clone()));
                }
            }
            Ok(())
        })
    }
}

/// `N` random bytes from the system's source; should it fail, the clock's nanoseconds (lock
/// tokens and ETag epochs need to be unique, not secret).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use ring::rand::SecureRandom;
    let mut b = [0u8; N];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        for (x, y) in b.iter_mut().zip(t.to_le_bytes().iter().cycle()) {
            *x = *y;
        }
    }
    b
}

/// A random (version 4) UUID.
pub fn new_uuid() -> String {
    let mut b: [u8; 16] = random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DavPath {
        DavPath::from_encoded(s).expect("path")
    }

    #[test]
    fn exclusive_and_shared_locks_conflict_as_the_rfc_says() {
        let t = LockTable::default();
        let now = Instant::now();
        let a = t.lock("s", &p("f"), false, LockScope::Shared, None, 60, "anna", now).expect("shared");
        let b = t.lock("s", &p("f"), false, LockScope::Shared, None, 60, "bob", now).expect("second shared");
        assert_eq!(t.lock("s", &p("f"), false, LockScope::Exclusive, None, 60, "anna", now), Err(LockError::Locked(p("f"))));
        assert!(t.may_change("s", &p("f"), false, &[], now).is_err());
        assert!(t.may_change("s", &p("f"), false, &[&a.token], now).is_err(), "every lock's token is needed");
        assert!(t.may_change("s", &p("f"), false, &[&a.token, &b.token], now).is_ok());
        assert!(t.may_change("other", &p("f"), false, &[], now).is_ok());
        t.unlock("s", &p("f"), &a.token, now).expect("unlock");
        assert_eq!(t.unlock("s", &p("f"), &a.token, now), Err(LockError::NoSuchLock));
        assert!(new_uuid() != new_uuid());
    }

    #[test]
    fn deep_locks_cover_what_is_below_and_lapse() {
        let t = LockTable::default();
        let now = Instant::now();
        let l = t.lock("s", &p("c"), true, LockScope::Exclusive, None, 60, "anna", now).expect("lock");
        assert!(t.may_change("s", &p("c/x/y"), false, &[], now).is_err());
        assert!(t.may_change("s", &p("c/x/y"), false, &[&l.token], now).is_ok());
        assert!(t.may_change("s", &p("d"), false, &[], now).is_ok());
        // The parent's deletion would take the locked folder with it.
        assert!(t.may_change("s", &DavPath::root(), true, &[], now).is_err());
        assert!(t.lock("s", &DavPath::root(), true, LockScope::Shared, None, 60, "bob", now).is_err());
        assert!(t.refresh("s", &p("c/x"), &l.token, 120, now).is_ok());
        let later = now + Duration::from_secs(121);
        assert!(t.may_change("s", &p("c/x"), false, &[], later).is_ok());
        assert!(t.by_token("s", &l.token, later).is_none());
    }
}
