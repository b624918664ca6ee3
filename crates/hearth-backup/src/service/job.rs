//! What a job backs up and how long snapshots are kept.
//!
//! By default everything on the data partition: users' files and photos, sync identities,
//! settings, TLS keys, the repositories laptops keep here, and the catalog, always as a
//! consistent copy made by SQLite (`DATA/backup/catalog/hearth.db`), never the live file.
//! Left out: the live catalog and its WAL, caches and thumbnails (made again from the photos),
//! uploads in progress, the backup service's own cache and scratch, and a folder target that
//! happens to be inside the data folder.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::commands::forget::KeepPolicy;
use crate::error::{BackupError, Result};

/// Where the catalog copy is made, under the data folder.
pub const CATALOG_COPY: &str = "backup/catalog/hearth.db";

/// Paths under the data folder that a backup leaves out.
pub const LEFT_OUT: &[&str] =
    &["hearth.db", "hearth.db-wal", "hearth.db-shm", "hearthd.sock", "cache", "uploads", "backup/cache", "backup/scratch"];

/// What a job backs up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
    /// The whole data partition (what a new card needs to become this box again).
    Everything,
    /// These folders or files, relative to the data folder (`library/1`, `users/ada/files`);
    /// the catalog copy is always added.
    Paths {
        /// Relative paths.
        paths: Vec<String>,
    },
}

impl Scope {
    /// Check the paths: relative, inside the data folder, at least one.
    pub fn validated(self) -> Result<Scope> {
        if let Scope::Paths { paths } = &self {
            if paths.is_empty() {
                return Err(BackupError::Invalid("choose at least one folder, or back up everything".into()));
            }
            for p in paths {
                let path = Path::new(p);
                let inside = !p.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
                if !inside {
                    return Err(BackupError::Invalid(format!("{p:?}: give folders relative to the data folder, without '..'")));
                }
            }
        }
        Ok(self)
    }
}

/// How many snapshots to keep; the rest are forgotten after each backup and their data pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keep {
    /// The newest N, whatever their dates.
    #[serde(default)]
    pub last: u32,
    /// The newest of each of the last N days.
    #[serde(default)]
    pub daily: u32,
    /// … ISO weeks.
    #[serde(default)]
    pub weekly: u32,
    /// … months.
    #[serde(default)]
    pub monthly: u32,
    /// … years.
    #[serde(default)]
    pub yearly: u32,
}

impl Default for Keep {
    /// 7 daily, 4 weekly, 12 monthly, 3 yearly.
    fn default() -> Self {
        Keep { last: 0, daily: 7, weekly: 4, monthly: 12, yearly: 3 }
    }
}

impl Keep {
    /// At least one snapshot must be kept, and no rule may be absurd.
    pub fn validated(self) -> Result<Keep> {
        let all = [self.last, self.daily, self.weekly, self.monthly, self.yearly];
        if all.iter().all(|&n| n == 0) {
            return Err(BackupError::Invalid("keep at least one snapshot (set a count for days, weeks, months or years)".into()));
        }
        if all.iter().any(|&n| n > 10_000) {
            return Err(BackupError::Invalid("keep counts go up to 10000".into()));
        }
        Ok(self)
    }

    /// The engine's policy.
    pub fn policy(self) -> KeepPolicy {
        KeepPolicy {
            last: self.last,
            daily: self.daily,
            weekly: self.weekly,
            monthly: self.monthly,
            yearly: self.yearly,
            ..KeepPolicy::default()
        }
    }
}

/// The paths handed to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePlan {
    /// What to walk.
    pub paths: Vec<PathBuf>,
    /// What to leave out (exact paths).
    pub exclude_paths: Vec<PathBuf>,
}

/// The engine's paths for `scope` in the data folder `data` (canonical), leaving out a folder
/// target inside it.
pub fn plan(data: &Path, scope: &Scope, target_folder: Option<&Path>) -> SourcePlan {
    let mut exclude_paths: Vec<PathBuf> = LEFT_OUT.iter().map(|p| data.join(p)).collect();
    if let Some(t) = target_folder {
        let t = std::fs::canonicalize(t).unwrap_or_else(|_| t.to_path_buf());
        if t.starts_with(data) {
            exclude_paths.push(t);
        }
    }
    let paths = match scope {
        Scope::Everything => vec![data.to_path_buf()],
        Scope::Paths { paths } => {
            let mut v: Vec<PathBuf> = paths.iter().map(|p| data.join(p)).collect();
            v.push(data.join(CATALOG_COPY));
            v.sort();
            v.dedup();
            v
        }
    };
    SourcePlan { paths, exclude_paths }
}

/// Files and bytes under the plan (for progress and the time left); unreadable parts count as
/// nothing. Stops early, returning `None`, when `stop` says so.
pub fn measure(plan: &SourcePlan, stop: &dyn Fn() -> bool) -> Option<(u64, u64)> {
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut stack: Vec<PathBuf> = plan.paths.clone();
    while let Some(p) = stack.pop() {
        if stop() {
            return None;
        }
        if plan.exclude_paths.contains(&p) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                stack.push(e.path());
            }
        } else if meta.is_file() {
            files += 1;
            bytes += meta.len();
        }
    }
    Some((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_stay_inside_the_data_folder() {
        assert!(Scope::Paths { paths: vec![] }.validated().is_err());
        for bad in ["../etc", "/etc", "", "library/../../x", "./library"] {
            assert!(Scope::Paths { paths: vec![bad.into()] }.validated().is_err(), "{bad:?}");
        }
        assert!(Scope::Paths { paths: vec!["library/1".into(), "users/ada files".into()] }.validated().is_ok());
        let json = serde_json::to_string(&Scope::Everything).expect("json");
        assert_eq!(json, r#"{"what":"everything"}"#);
    }

    #[test]
    fn keeping_nothing_is_refused_and_the_default_is_the_family_default() {
        assert!(Keep { last: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0 }.validated().is_err());
        let d = Keep::default().validated().expect("default");
        assert_eq!((d.daily, d.weekly, d.monthly, d.yearly), (7, 4, 12, 3));
        let parsed: Keep = serde_json::from_str(r#"{"daily":3}"#).expect("partial");
        assert_eq!(parsed.policy().daily, 3);
        assert_eq!(parsed.policy().weekly, 0);
    }

    #[test]
    fn the_plan_leaves_out_caches_the_live_catalog_and_an_inner_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = std::fs::canonicalize(dir.path()).expect("canonical");
        for d in ["cache/thumbs", "library/1", "usb/repo", "backup/catalog"] {
            std::fs::create_dir_all(data.join(d)).expect("mkdir");
        }
        std::fs::write(data.join("hearth.db"), b"live").expect("write");
        std::fs::write(data.join("library/1/a.jpg"), b"12345").expect("write");
        std::fs::write(data.join("cache/thumbs/t.jpg"), b"thumbnail").expect("write");
        std::fs::write(data.join("usb/repo/config"), b"xx").expect("write");
        std::fs::write(data.join(CATALOG_COPY), b"copy").expect("write");
        let plan = plan(&data, &Scope::Everything, Some(&data.join("usb/repo")));
        assert_eq!(plan.paths, vec![data.clone()]);
        assert!(plan.exclude_paths.contains(&data.join("usb/repo")));
        assert_eq!(measure(&plan, &|| false), Some((2, 9)), "a.jpg and the catalog copy");
        assert_eq!(measure(&plan, &|| true), None);
        let some = super::plan(&data, &Scope::Paths { paths: vec!["library".into()] }, None);
        assert_eq!(some.paths, vec![data.join(CATALOG_COPY), data.join("library")]);
    }
}
