//! Opening the catalog and running work on it.
//!
//! One writer connection and a few reader connections (WAL lets readers run beside the writer).
//! Callers are synchronous closures; async code runs them with `spawn_blocking`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use rusqlite::{Connection, Transaction};
use rusqlite::{OpenFlags, TransactionBehavior};

use crate::{CatalogError, migrations};

const READERS: usize = 2;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The open catalog.
#[derive(Debug)]
pub struct Catalog {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// How an open went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenReport {
    /// Schema version found in the file (0 for a new catalog).
    pub from_version: i64,
    /// Schema version after migrations.
    pub to_version: i64,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves the connection usable (SQLite rolls back the
    // transaction when the Transaction guard drops), so poisoning is not fatal.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Catalog {
    /// Open (creating if missing) the catalog at `path`, check it, and apply pending migrations.
    ///
    /// Refuses, without writing anything, a file that is not a SQLite database, fails
    /// `quick_check`, or has a newer schema than this build knows.
    pub fn open(path: &Path) -> Result<(Catalog, OpenReport), CatalogError> {
        Self::open_up_to(path, migrations::latest())
    }

    /// Like [`Catalog::open`] but migrating only up to `target` (tests of older schemas).
    pub fn open_up_to(path: &Path, target: i64) -> Result<(Catalog, OpenReport), CatalogError> {
        check_header(path)?;
        let open_err = |source| CatalogError::Open { path: path.to_path_buf(), source };
        let mut writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        writer.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let corrupt = |detail: String| CatalogError::Corrupt { path: path.to_path_buf(), detail };
        let found = match migrations::version(&writer) {
            Ok(v) => v,
            Err(CatalogError::Sqlite(e)) if is_corruption(&e) => return Err(corrupt(e.to_string())),
            Err(e) => return Err(e),
        };
        if found > migrations::latest() {
            return Err(CatalogError::TooNew { path: path.to_path_buf(), found, known: migrations::latest() });
        }
        if found > 0 {
            let result: Result<String, _> = writer.query_row("PRAGMA quick_check", [], |r| r.get(0));
            match result {
                Ok(ok) if ok == "ok" => {}
                Ok(problem) => return Err(corrupt(problem)),
                Err(e) if is_corruption(&e) => return Err(corrupt(e.to_string())),
                Err(e) => return Err(e.into()),
            }
        }
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| if is_corruption(&e) { corrupt(e.to_string()) } else { CatalogError::from(e) })?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "the catalog's filesystem does not support WAL; using {mode}");
        }
        // FULL: a committed change survives a power cut (the catalog is small; safety first).
        writer.pragma_update(None, "synchronous", "FULL")?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        let (from_version, to_version) = migrations::apply_up_to(&mut writer, target)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r =
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(open_err)?;
            r.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
            r.pragma_update(None, "foreign_keys", "ON")?;
            readers.push(Mutex::new(r));
        }
        let catalog = Catalog { path: path.to_path_buf(), writer: Mutex::new(writer), readers, next_reader: AtomicUsize::new(0) };
        Ok((catalog, OpenReport { from_version, to_version }))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on a reader connection (sees the last committed state).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, CatalogError>) -> Result<T, CatalogError> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        // Prefer an idle reader; wait on one when all are busy.
        for i in 0..self.readers.len() {
            if let Ok(conn) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return f(&conn);
            }
        }
        let conn = lock(&self.readers[start % self.readers.len()]);
        f(&conn)
    }

    /// Run `f` in one write transaction (BEGIN IMMEDIATE); it commits when `f` returns `Ok`.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, CatalogError>) -> Result<T, CatalogError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// The current schema version.
    pub fn schema_version(&self) -> Result<i64, CatalogError> {
        migrations::version(&lock(&self.writer))
    }

    /// Write the WAL back into the database file (on shutdown, so the file alone is complete).
    pub fn checkpoint(&self) -> Result<(), CatalogError> {
        let conn = lock(&self.writer);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// A consistent copy of the database as of one moment, into `dest` (which must not exist),
    /// made from a read transaction so writers carry on (`VACUUM INTO`: SQLite's own copy, never
    /// a copy of the live file, which could catch it half-written). The copy is flushed to disk.
    pub fn copy_to(&self, dest: &Path) -> Result<(), CatalogError> {
        let text = dest.to_str().ok_or_else(|| CatalogError::Conflict(format!("{} is not a UTF-8 path", dest.display())))?;
        self.read(|r| {
            r.execute("VACUUM INTO ?1", [text])?;
            Ok(())
        })?;
        let file = std::fs::File::open(dest).and_then(|f| f.sync_all());
        file.map_err(|e| CatalogError::Open { path: dest.to_path_buf(), source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)) })
    }

    /// Limit the database to `pages` pages (tests simulate a full disk with it).
    pub fn set_max_pages(&self, pages: u64) -> Result<(), CatalogError> {
        let conn = lock(&self.writer);
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        Ok(())
    }
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase))
}

/// A non-empty file must start with SQLite's magic; otherwise SQLite could be asked to treat
/// it as a database and we could end up writing into somebody's file.
fn check_header(path: &Path) -> Result<(), CatalogError> {
    let Ok(mut f) = std::fs::File::open(path) else { return Ok(()) };
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                return Err(CatalogError::Corrupt { path: path.to_path_buf(), detail: format!("unreadable: {e}") });
            }
        }
    }
    if n == 0 || &head[..n] == b"SQLite format 3\0" {
        return Ok(());
    }
    Err(CatalogError::Corrupt { path: path.to_path_buf(), detail: "the file is not a SQLite database".into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{self, NewUser, Role};
    use hearth_core::{ErrorKind, Kinded};

    fn new_user(name: &str) -> NewUser {
        NewUser { name: name.into(), display_name: name.into(), role: Role::Member, password_hash: "x".into() }
    }

    #[test]
    fn new_catalog_is_at_latest_with_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cat, report) = Catalog::open(&dir.path().join("hearth.db")).expect("open");
        assert_eq!(report, OpenReport { from_version: 0, to_version: migrations::latest() });
        let (mode, fk): (String, i64) = cat
            .read(|c| {
                let mode = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                let fk = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
                Ok((mode, fk))
            })
            .expect("pragmas");
        assert_eq!(mode, "wal");
        assert_eq!(fk, 1);
    }

    #[test]
    fn a_copy_holds_what_was_committed_and_opens_on_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cat, _) = Catalog::open(&dir.path().join("hearth.db")).expect("open");
        cat.write(|tx| users::create(tx, &new_user("ada"), 1)).expect("user");
        let copy = dir.path().join("copy.db");
        cat.copy_to(&copy).expect("copy");
        assert!(cat.copy_to(&copy).is_err(), "an existing file is never overwritten");
        cat.write(|tx| users::create(tx, &new_user("bob"), 1)).expect("user after the copy");
        let (c2, report) = Catalog::open(&copy).expect("open the copy");
        assert_eq!(report.from_version, migrations::latest());
        assert!(c2.read(|c| users::by_name(c, "ada")).expect("read").is_some());
        assert!(c2.read(|c| users::by_name(c, "bob")).expect("read").is_none());
    }

    /// Every earlier schema, with data in it, migrates to the latest and keeps the data.
    #[test]
    fn migrates_from_every_earlier_schema() {
        for start in 1..migrations::latest() {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("hearth.db");
            {
                let (cat, _) = Catalog::open_up_to(&path, start).expect("old schema");
                assert_eq!(cat.schema_version().expect("v"), start);
                // As that schema's code wrote it: today's `users::create` reads back columns
                // later migrations add.
                cat.write(|tx| {
                    tx.execute(
                        "INSERT INTO users (name, display_name, role, password_hash, created_at, password_changed_at)
                         VALUES ('ada', 'Ada', 'member', 'x', 1, 1)",
                        [],
                    )?;
                    Ok(())
                })
                .expect("user");
            }
            let (cat, report) = Catalog::open(&path).expect("migrate");
            assert_eq!(report, OpenReport { from_version: start, to_version: migrations::latest() });
            let u = cat.read(|c| users::by_name(c, "ada")).expect("read");
            assert!(u.is_some(), "data survives migration from {start}");
        }
    }

    #[test]
    fn refuses_newer_schema_without_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hearth.db");
        {
            let (cat, _) = Catalog::open(&path).expect("open");
            cat.write(|tx| Ok(tx.pragma_update(None, "user_version", 99)?)).expect("bump");
            cat.checkpoint().expect("ckpt");
        }
        let before = std::fs::read(&path).expect("read");
        let err = Catalog::open(&path).expect_err("too new");
        assert_eq!(err.kind(), ErrorKind::Incompatible);
        assert!(err.to_string().contains("schema 99"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before, "not touched");
    }

    #[test]
    fn refuses_a_file_that_is_not_sqlite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hearth.db");
        std::fs::write(&path, b"family photos list, not a database\n").expect("write");
        let err = Catalog::open(&path).expect_err("corrupt");
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(err.guidance().expect("guidance").contains("restore"));
        assert_eq!(std::fs::read(&path).expect("read"), b"family photos list, not a database\n");
    }

    #[test]
    fn refuses_a_damaged_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hearth.db");
        {
            let (cat, _) = Catalog::open(&path).expect("open");
            for i in 0..300 {
                cat.write(|tx| users::create(tx, &new_user(&format!("user{i}")), 1)).expect("user");
            }
            cat.checkpoint().expect("ckpt");
        }
        // Scribble over the middle of the file, leaving the header intact.
        let mut bytes = std::fs::read(&path).expect("read");
        assert!(bytes.len() > 3 * 4096, "database has several pages");
        for b in &mut bytes[4096 + 100..2 * 4096 + 3000] {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).expect("write");
        let err = Catalog::open(&path).expect_err("corrupt");
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), bytes, "not repaired");
    }

    #[test]
    fn disk_full_is_a_clear_error_and_loses_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cat, _) = Catalog::open(&dir.path().join("hearth.db")).expect("open");
        cat.write(|tx| users::create(tx, &new_user("kept"), 1)).expect("user");
        let pages: u64 = cat.read(|c| Ok(c.query_row("PRAGMA page_count", [], |r| r.get(0))?)).expect("pages");
        cat.set_max_pages(pages).expect("limit");
        let mut failed = None;
        for i in 0..2000 {
            let big = NewUser { display_name: "x".repeat(2000), ..new_user(&format!("filler{i}")) };
            if let Err(e) = cat.write(|tx| users::create(tx, &big, 1)) {
                failed = Some(e);
                break;
            }
        }
        let err = failed.expect("the disk fills up");
        assert_eq!(err.kind(), ErrorKind::StorageFull, "{err}");
        assert!(cat.read(|c| users::by_name(c, "kept")).expect("read").is_some());
    }
}
