//! The versions folder: whatever a peer's change would delete or overwrite on the NAS is moved
//! here first, never destroyed (DESIGN goal 1, beyond Syncthing's default). Layout as Syncthing's
//! versioners write it; conflict copies are named as Syncthing names them ([`conflict_name`]), so people and tools already know it:
//! `FOLDER/.stversions/DIR/NAME~YYYYMMDD-HHMMSS.EXT`. Pruning by age (30 days by default) and the
//! `hearth sync versions` command come with the folder settings.

use std::path::{Path, PathBuf};

use crate::error::{Result, SyncError};

/// The versions folder of a folder root.
pub fn versions_dir(root: &Path) -> PathBuf {
    root.join(".stversions")
}

/// `NAME~STAMP.EXT` (the stamp before the extension, so the version still opens as its type).
fn versioned_name(name: &str, stamp: &str) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}~{stamp}{}", &name[..dot], &name[dot..]),
        _ => format!("{name}~{stamp}"),
    }
}

/// `YYYYMMDD-HHMMSS` in UTC, as version and conflict names carry it.
pub fn stamp(secs: i64) -> String {
    let (y, m, d) = hearth_core::calendar::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The name Syncthing gives the losing side of a conflict:
/// `NAME.sync-conflict-YYYYMMDD-HHMMSS-SHORTID.EXT`, SHORTID naming who last changed it.
pub fn conflict_name(name: &str, now_s: i64, modified_by: u64) -> String {
    let (dir, base) = match name.rfind('/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => ("", name),
    };
    let (stem, ext) = match base.rfind('.') {
        Some(dot) if dot > 0 => (&base[..dot], &base[dot..]),
        _ => (base, ""),
    };
    format!("{dir}{stem}.sync-conflict-{}-{}{ext}", stamp(now_s), crate::device_id::short_text(modified_by))
}

/// Move the file at `path` (named `name` in the folder at `root`) into the versions folder.
/// Returns where it went; `None` when there was nothing to keep.
pub fn keep(root: &Path, name: &str, path: &Path, now_s: i64) -> Result<Option<PathBuf>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SyncError::io(path.display().to_string(), e)),
    };
    if meta.is_dir() {
        return Ok(None);
    }
    let rel = Path::new(name);
    let base = rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = versions_dir(root).join(rel.parent().unwrap_or(Path::new("")));
    std::fs::create_dir_all(&dir).map_err(|e| SyncError::io(dir.display().to_string(), e))?;
    // Two versions of one name kept in the same second get -1, -2, …: the name is claimed by a
    // move that never replaces, so neither is lost even when both happen at once.
    for n in 0..10_000 {
        let dest = match n {
            0 => dir.join(versioned_name(&base, &stamp(now_s))),
            n => dir.join(versioned_name(&base, &format!("{}-{n}", stamp(now_s)))),
        };
        match hearth_platform::durable::rename_noreplace(path, &dest) {
            Ok(()) => return Ok(Some(dest)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !path.exists() => return Ok(None),
            Err(e) => return Err(SyncError::io(format!("keeping {} as a version", path.display()), e)),
        }
    }
    Err(SyncError::io(
        format!("keeping {} as a version", path.display()),
        std::io::Error::new(std::io::ErrorKind::AlreadyExists, "10,000 versions of it were kept in this second"),
    ))
}

/// Put the file `from` at `dest` (named `name` in the folder at `root`) without destroying
/// anything: what is at `dest` is kept as a version first, and the move never replaces, so a
/// file that appears at `dest` in between (a local write) is kept as a version too.
pub fn replace_keeping(root: &Path, name: &str, from: &Path, dest: &Path, now_s: i64) -> Result<()> {
    for _ in 0..100 {
        if std::fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir()) {
            return Err(SyncError::io(
                dest.display().to_string(),
                std::io::Error::new(std::io::ErrorKind::IsADirectory, "a folder has this name on the NAS"),
            ));
        }
        keep(root, name, dest, now_s)?;
        match hearth_platform::durable::rename_noreplace(from, dest) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(SyncError::io(dest.display().to_string(), e)),
        }
    }
    Err(SyncError::io(
        dest.display().to_string(),
        std::io::Error::new(std::io::ErrorKind::AlreadyExists, "something keeps writing this name"),
    ))
}

/// A kept version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Version {
    /// The file's name in the folder.
    pub name: String,
    /// Where the version is, relative to the versions folder (what `restore` takes).
    pub version: String,
    /// When it was kept (Unix seconds).
    pub kept_at: i64,
    /// Bytes.
    pub size: u64,
}

/// Split `NAME~YYYYMMDD-HHMMSS[-N].EXT` into the original name and the time it was kept.
fn parse_versioned(base: &str) -> Option<(String, i64)> {
    let tilde = base.rfind('~')?;
    let (stem, rest) = (&base[..tilde], &base[tilde + 1..]);
    let stamp_text = rest.get(..15)?;
    let after = &rest[15..];
    let ext = match after.find('.') {
        Some(dot) => {
            let between = &after[..dot];
            if !(between.is_empty() || between.starts_with('-') && between[1..].bytes().all(|b| b.is_ascii_digit())) {
                return None;
            }
            &after[dot..]
        }
        None if after.is_empty() || after.starts_with('-') && after[1..].bytes().all(|b| b.is_ascii_digit()) => "",
        None => return None,
    };
    let b = stamp_text.as_bytes();
    if b.len() != 15 || b[8] != b'-' || !b[..8].iter().chain(&b[9..]).all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| stamp_text[r].parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = hearth_core::calendar::days_from_civil(y, mo, d);
    Some((format!("{stem}{ext}"), days * 86_400 + h * 3600 + mi * 60 + se))
}

/// Every version kept in the folder at `root`, newest first.
pub fn list(root: &Path) -> Result<Vec<Version>> {
    let base = versions_dir(root);
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = base.join(&rel);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(SyncError::io(dir.display().to_string(), e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| SyncError::io(dir.display().to_string(), e))?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(rel.join(&name));
            } else if let Some((original, kept_at)) = parse_versioned(&name) {
                let version = rel.join(&name).to_string_lossy().into_owned();
                let name = rel.join(original).to_string_lossy().into_owned();
                out.push(Version { name, version, kept_at, size: meta.len() });
            }
        }
    }
    out.sort_by(|a, b| b.kept_at.cmp(&a.kept_at).then_with(|| a.version.cmp(&b.version)));
    Ok(out)
}

/// Put a version back under its name. Whatever is there now is kept as a version first, so a
/// restore never loses anything either. Returns the restored path.
pub fn restore(root: &Path, version: &str, now_s: i64) -> Result<PathBuf> {
    let source = crate::paths::safe_path(&versions_dir(root), version)
        .map_err(|_| SyncError::Invalid(format!("{version:?} is not a version in this folder")))?;
    let base = Path::new(version).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (original, _) = parse_versioned(&base).ok_or_else(|| SyncError::Invalid(format!("{version:?} is not a version name")))?;
    let name = match Path::new(version).parent() {
        Some(p) if !p.as_os_str().is_empty() => format!("{}/{original}", p.to_string_lossy()),
        _ => original,
    };
    if !source.is_file() {
        return Err(SyncError::Invalid(format!("no version {version:?}")));
    }
    let dest = crate::paths::safe_path(root, &name)?;
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| SyncError::io(dir.display().to_string(), e))?;
    }
    replace_keeping(root, &name, &source, &dest, now_s)?;
    if let Some(dir) = dest.parent() {
        hearth_platform::durable::sync_dir(dir).map_err(|e| SyncError::io(dir.display().to_string(), e))?;
    }
    Ok(dest)
}

/// Remove versions kept longer than `keep_days` (0: keep forever). Returns how many went.
pub fn clean(root: &Path, keep_days: i64, now_s: i64) -> Result<usize> {
    if keep_days <= 0 {
        return Ok(0);
    }
    let mut n = 0;
    for v in list(root)? {
        if now_s - v.kept_at > keep_days * 86_400 {
            let path = versions_dir(root).join(&v.version);
            match std::fs::remove_file(&path) {
                Ok(()) => n += 1,
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot remove an expired version"),
            }
        }
    }
    Ok(n)
}

/// Staggered versioning (Syncthing's scheme): of each file's versions keep, by age, at most one
/// per 30 seconds for the first hour, one per hour for the first day, one per day for the first
/// 30 days, then one per week until `keep_days` (0: forever). Returns how many went.
pub fn thin(root: &Path, keep_days: i64, now_s: i64) -> Result<usize> {
    let mut by_file: std::collections::BTreeMap<String, Vec<Version>> = std::collections::BTreeMap::new();
    for v in list(root)? {
        by_file.entry(v.name.clone()).or_default().push(v);
    }
    let mut n = 0;
    for versions in by_file.values_mut() {
        for v in thinned(versions, keep_days, now_s) {
            let path = versions_dir(root).join(&v.version);
            match std::fs::remove_file(&path) {
                Ok(()) => n += 1,
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot remove a thinned version"),
            }
        }
    }
    Ok(n)
}

/// The versions of one file that staggered versioning removes.
fn thinned(versions: &mut [Version], keep_days: i64, now_s: i64) -> Vec<Version> {
    /// (age up to, one version per) in seconds.
    const BRACKETS: [(i64, i64); 3] = [(3600, 30), (86_400, 3600), (30 * 86_400, 86_400)];
    const LATER: i64 = 7 * 86_400;
    // Oldest first: within an interval, the oldest version stays (it has lasted longest).
    versions.sort_by_key(|v| v.kept_at);
    let mut gone = Vec::new();
    let mut last: Option<(i64, i64)> = None;
    for v in versions.iter() {
        let age = now_s - v.kept_at;
        if keep_days > 0 && age > keep_days * 86_400 {
            gone.push(v.clone());
            continue;
        }
        let interval = BRACKETS.iter().find(|(upto, _)| age <= *upto).map_or(LATER, |(_, every)| *every);
        match last {
            Some((kept_at, every)) if every == interval && v.kept_at - kept_at < interval => gone.push(v.clone()),
            _ => last = Some((v.kept_at, interval)),
        }
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_content_is_moved_not_destroyed() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::create_dir_all(root.join("DCIM")).expect("mkdir");
        std::fs::write(root.join("DCIM/IMG_1.jpg"), b"first").expect("write");
        let kept = keep(root, "DCIM/IMG_1.jpg", &root.join("DCIM/IMG_1.jpg"), 1_795_305_600).expect("keep").expect("moved");
        assert_eq!(kept, root.join(".stversions/DCIM/IMG_1~20261122-000000.jpg"));
        assert_eq!(std::fs::read(&kept).expect("read"), b"first");
        std::fs::write(root.join("DCIM/IMG_1.jpg"), b"second").expect("write");
        let again = keep(root, "DCIM/IMG_1.jpg", &root.join("DCIM/IMG_1.jpg"), 1_795_305_600).expect("keep").expect("moved");
        assert_ne!(again, kept, "same second, still two versions");
        assert_eq!(keep(root, "none", &root.join("none"), 0).expect("nothing"), None);
        assert_eq!(versioned_name("README", "S"), "README~S");
        assert_eq!(versioned_name(".hidden", "S"), ".hidden~S");
        let id: crate::DeviceId = "MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-BONSGYY-LTMRWAD".parse().expect("id");
        assert_eq!(conflict_name("DCIM/a.b.jpg", 1_795_305_600, id.short()), "DCIM/a.b.sync-conflict-20261122-000000-MFZWI3D.jpg");
        assert_eq!(conflict_name("notes", 0, 0), "notes.sync-conflict-19700101-000000-");
    }

    #[test]
    fn many_versions_of_one_name_kept_at_once_are_all_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        let sources: Vec<_> = (0..16)
            .map(|i| {
                let p = root.join(format!("copy-{i}"));
                std::fs::write(&p, format!("content {i}")).expect("write");
                p
            })
            .collect();
        std::thread::scope(|s| {
            for p in &sources {
                s.spawn(move || keep(root, "DCIM/a.jpg", p, 1_795_305_600).expect("keep").expect("moved"));
            }
        });
        let mut kept: Vec<Vec<u8>> =
            list(root).expect("list").iter().map(|v| std::fs::read(versions_dir(root).join(&v.version)).expect("read")).collect();
        kept.sort();
        let mut want: Vec<Vec<u8>> = (0..16).map(|i| format!("content {i}").into_bytes()).collect();
        want.sort();
        assert_eq!(kept, want, "no version replaced another");
    }

    #[test]
    fn replacing_keeps_what_appeared_at_the_name_meanwhile() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::write(root.join("a.txt"), b"local edit").expect("write");
        std::fs::write(root.join("incoming"), b"from the peer").expect("write");
        replace_keeping(root, "a.txt", &root.join("incoming"), &root.join("a.txt"), 1_795_305_600).expect("replace");
        assert_eq!(std::fs::read(root.join("a.txt")).expect("read"), b"from the peer");
        let kept = list(root).expect("list");
        assert_eq!(kept.len(), 1);
        assert_eq!(std::fs::read(versions_dir(root).join(&kept[0].version)).expect("read"), b"local edit");
    }

    #[test]
    fn list_restore_and_clean() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::create_dir_all(root.join("DCIM")).expect("mkdir");
        let day = 86_400;
        std::fs::write(root.join("DCIM/a.jpg"), b"one").expect("write");
        keep(root, "DCIM/a.jpg", &root.join("DCIM/a.jpg"), 100 * day).expect("keep");
        std::fs::write(root.join("DCIM/a.jpg"), b"two").expect("write");
        keep(root, "DCIM/a.jpg", &root.join("DCIM/a.jpg"), 100 * day).expect("keep");
        std::fs::write(root.join("notes"), b"n").expect("write");
        keep(root, "notes", &root.join("notes"), 140 * day).expect("keep");
        std::fs::write(root.join("DCIM/a.jpg"), b"three").expect("write");
        let all = list(root).expect("list");
        assert_eq!(
            all.iter().map(|v| (v.name.as_str(), v.kept_at / day)).collect::<Vec<_>>(),
            [("notes", 140), ("DCIM/a.jpg", 100), ("DCIM/a.jpg", 100)]
        );
        // Restoring keeps what is there now as a version too.
        let first = all.iter().find(|v| v.version.ends_with("000000.jpg")).expect("first");
        restore(root, &first.version, 150 * day).expect("restore");
        assert_eq!(std::fs::read(root.join("DCIM/a.jpg")).expect("read"), b"one");
        assert_eq!(list(root).expect("list").len(), 3);
        assert!(restore(root, "../../etc/passwd", 0).is_err());
        assert!(restore(root, "DCIM/none~20260101-000000.jpg", 0).is_err());
        // On day 165, keeping 30 days: the day-100 version goes, the day-140 and day-150 ones stay.
        assert_eq!(clean(root, 30, 165 * day).expect("clean"), 1);
        assert_eq!(list(root).expect("list").len(), 2);
        assert_eq!(clean(root, 0, i64::MAX / 2).expect("forever"), 0);
    }

    #[test]
    fn staggered_versions_thin_out_with_age() {
        let now = 2_000_000_000;
        let v = |ago: i64| Version { name: "a.jpg".into(), version: format!("v{ago}"), kept_at: now - ago, size: 1 };
        let day = 86_400;
        let mut versions =
            vec![v(100), v(110), v(120), v(200), v(7200), v(7260), v(40 * day), v(40 * day + 3600), v(50 * day), v(400 * day)];
        let mut gone: Vec<String> = thinned(&mut versions, 365, now).into_iter().map(|g| g.version).collect();
        gone.sort();
        // First hour, one per 30 s: 200 and 120 s ago stay, 110 and 100 go. First day, one per
        // hour: 7260 stays, 7200 goes. Later, one per week: 50 days and 40 days + 1 hour stay,
        // 40 days goes. Past the 365-day limit: 400 days goes.
        assert_eq!(gone, ["v100", "v110", "v3456000", "v34560000", "v7200"]);
        let mut forever = vec![v(400 * day)];
        assert!(thinned(&mut forever, 0, now).is_empty(), "0 keeps forever");
    }
}
