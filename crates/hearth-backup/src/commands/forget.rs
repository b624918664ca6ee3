//! `backup forget`: remove snapshots by a retention policy (the data they alone used is freed
//! later by `prune`).
//!
//! Snapshots are grouped by host and paths; each group is judged on its own, newest first. A
//! rule "keep N per period" keeps the newest snapshot of each of the N most recent periods that
//! have one; `within` keeps everything taken within that span of the group's newest snapshot.
//! Periods are calendar periods in UTC (hours, days, ISO weeks, months, years). A snapshot kept
//! by any rule is kept; the reasons are reported.

use std::collections::BTreeMap;

use crate::backend::FileType;
use crate::error::{BackupError, Result};
use crate::lock::LockMode;
use crate::repository::Repository;
use hearth_core::calendar::{civil_from_days, days_from_civil};

use crate::snapshot::{Snapshot, parse_rfc3339};

/// What to keep. Counts of 0 mean "this rule keeps nothing".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepPolicy {
    /// The newest N.
    pub last: u32,
    /// The newest of each of the last N hours that have snapshots.
    pub hourly: u32,
    /// … days.
    pub daily: u32,
    /// … ISO weeks.
    pub weekly: u32,
    /// … months.
    pub monthly: u32,
    /// … years.
    pub yearly: u32,
    /// Everything within this many seconds of the group's newest snapshot.
    pub within_secs: Option<i64>,
    /// Snapshots with any of these tags.
    pub tags: Vec<String>,
}

impl KeepPolicy {
    /// Whether the policy keeps nothing at all (forgetting everything is refused).
    pub fn is_empty(&self) -> bool {
        self.last == 0
            && self.hourly == 0
            && self.daily == 0
            && self.weekly == 0
            && self.monthly == 0
            && self.yearly == 0
            && self.within_secs.is_none()
            && self.tags.is_empty()
    }
}

/// Parse a span like `2y6m`, `30d`, `12h` (y = 365 days, m = 30 days, w, d, h).
pub fn parse_within(s: &str) -> Result<i64> {
    let bad = || BackupError::Invalid(format!("{s:?} is not a span; write e.g. 30d, 6m, 1y2m, 12h (y, m, w, d, h)"));
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let unit = match c {
            'y' => 365 * 86_400,
            'm' => 30 * 86_400,
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            _ => return Err(bad()),
        };
        total = total.checked_add(n.checked_mul(unit).ok_or_else(bad)?).ok_or_else(bad)?;
    }
    if !num.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// A snapshot's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Snapshot name.
    pub name: String,
    /// When it was taken.
    pub time: String,
    /// Why it is kept (empty: it is removed).
    pub reasons: Vec<&'static str>,
}

/// One host + paths group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Host.
    pub host: String,
    /// Paths.
    pub paths: Vec<String>,
    /// Every snapshot of the group, newest first.
    pub decisions: Vec<Decision>,
}

/// What forget did (or would do, in a dry run).
#[derive(Debug, Clone, Default)]
pub struct ForgetReport {
    /// Groups.
    pub groups: Vec<Group>,
    /// Snapshots removed.
    pub removed: usize,
}

/// The calendar buckets of a time: (hour, day, ISO week, month, year) keys.
fn buckets(secs: i64) -> [i64; 5] {
    let days = secs.div_euclid(86_400);
    let (y, m, _) = civil_from_days(days);
    // ISO week: the week's Thursday decides its year; days are counted from Monday.
    let weekday = (days + 3).rem_euclid(7); // 1970-01-01 was a Thursday: 0 = Monday.
    let thursday = days - weekday + 3;
    let (wy, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(wy, 1, 1)) / 7 + 1;
    [secs.div_euclid(3_600), days, wy * 100 + week, y * 100 + i64::from(m), y]
}

/// Decide, for snapshots of one group sorted newest first, which to keep and why.
pub fn apply_policy(snaps: &[(String, Snapshot)], policy: &KeepPolicy) -> Vec<Decision> {
    const NAMES: [&str; 5] = ["hourly", "daily", "weekly", "monthly", "yearly"];
    let limits = [policy.hourly, policy.daily, policy.weekly, policy.monthly, policy.yearly];
    let mut left = limits;
    let mut last_bucket: [Option<i64>; 5] = [None; 5];
    let mut last_left = policy.last;
    let newest = snaps.first().and_then(|(_, s)| parse_rfc3339(&s.time)).unwrap_or(0);
    snaps
        .iter()
        .map(|(name, s)| {
            let t = parse_rfc3339(&s.time).unwrap_or(0);
            let mut reasons = Vec::new();
            if last_left > 0 {
                last_left -= 1;
                reasons.push("last");
            }
            let b = buckets(t);
            for i in 0..5 {
                if left[i] > 0 && last_bucket[i] != Some(b[i]) {
                    left[i] -= 1;
                    last_bucket[i] = Some(b[i]);
                    reasons.push(NAMES[i]);
                }
            }
            if policy.within_secs.is_some_and(|w| newest - t <= w) {
                reasons.push("within");
            }
            if s.tags.iter().any(|tag| policy.tags.contains(tag)) {
                reasons.push("tag");
            }
            Decision { name: name.clone(), time: s.time.clone(), reasons }
        })
        .collect()
}

/// Apply `policy` to every group of snapshots and remove the rest (unless `dry_run`), under an
/// exclusive lock. Removing a snapshot deletes only its snapshot object.
pub fn run(repo: &Repository, policy: &KeepPolicy, dry_run: bool) -> Result<ForgetReport> {
    if policy.is_empty() {
        return Err(BackupError::Invalid(
            "no keep rule given: that would remove every snapshot; give --keep-last, --keep-daily, … or --keep-within".into(),
        ));
    }
    let _lock = if dry_run { None } else { Some(repo.lock(LockMode::Exclusive)?) };
    let (all, damaged) = repo.snapshots()?;
    if let Some(d) = damaged.into_iter().next() {
        // A damaged snapshot cannot be placed in its group; deciding without it could remove the
        // wrong ones. Say what to do instead.
        return Err(BackupError::Invalid(format!("{d}; run `hearth backup check` and remove that snapshot object first")));
    }
    type GroupKey = (String, Vec<String>);
    let mut groups: BTreeMap<GroupKey, Vec<(String, Snapshot)>> = BTreeMap::new();
    for (name, s) in all {
        groups.entry((s.host.clone(), s.paths.clone())).or_default().push((name, s));
    }
    let mut report = ForgetReport::default();
    for ((host, paths), mut snaps) in groups {
        snaps.sort_by(|a, b| b.1.time.cmp(&a.1.time));
        let decisions = apply_policy(&snaps, policy);
        for d in decisions.iter().filter(|d| d.reasons.is_empty()) {
            if !dry_run {
                repo.backend().remove(FileType::Snapshot, &d.name)?;
            }
            report.removed += 1;
        }
        report.groups.push(Group { host, paths, decisions });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::BlobId;
    use crate::snapshot::rfc3339;

    fn snap(secs: i64, tags: &[&str]) -> (String, Snapshot) {
        let s = Snapshot {
            version: 1,
            time: rfc3339(secs, 0),
            host: "h".into(),
            user: "u".into(),
            paths: vec!["/p".into()],
            tags: tags.iter().map(|t| t.to_string()).collect(),
            excludes: vec![],
            tree: BlobId([0; 32]),
            parent: None,
            partial: false,
            errors: vec![],
            summary: Default::default(),
        };
        (format!("{secs}"), s)
    }

    fn kept(snaps: &[(String, Snapshot)], p: &KeepPolicy) -> Vec<String> {
        apply_policy(snaps, p).into_iter().filter(|d| !d.reasons.is_empty()).map(|d| d.time[..13].to_string()).collect()
    }

    // 2026-11-22T00:00:00Z
    const BASE: i64 = 1_795_305_600;

    #[test]
    fn iso_weeks_and_calendar_buckets() {
        // 2026-11-22 is a Sunday in ISO week 47; Monday 2026-11-23 starts week 48.
        assert_eq!(buckets(BASE)[2], 2026 * 100 + 47);
        assert_eq!(buckets(BASE + 86_400)[2], 2026 * 100 + 48);
        // 2027-01-01 (Friday) belongs to ISO week 53 of 2026.
        assert_eq!(buckets(1_798_761_600)[2], 2026 * 100 + 53);
        assert_eq!(buckets(BASE)[3], 2026 * 100 + 11);
        assert_eq!(buckets(BASE)[4], 2026);
    }

    #[test]
    fn daily_weekly_monthly_last_within_and_tags() {
        // Four snapshots a day (every 6 hours) for 60 days, newest first.
        let mut snaps: Vec<_> = (0..240).map(|i| snap(BASE - i * 6 * 3600, &[])).collect();
        snaps[200].1.tags = vec!["keep".into()];
        let p = KeepPolicy { daily: 7, ..Default::default() };
        let k = kept(&snaps, &p);
        assert_eq!(k.len(), 7);
        assert_eq!(k[0], "2026-11-22T00");
        assert_eq!(k[1], "2026-11-21T18", "the newest of each day");
        let p = KeepPolicy { last: 3, weekly: 2, ..Default::default() };
        let k = kept(&snaps, &p);
        assert_eq!(k, ["2026-11-22T00", "2026-11-21T18", "2026-11-21T12", "2026-11-15T18"]);
        let p = KeepPolicy { monthly: 12, ..Default::default() };
        assert_eq!(kept(&snaps, &p), ["2026-11-22T00", "2026-10-31T18", "2026-09-30T18"]);
        let p = KeepPolicy { within_secs: Some(parse_within("1d").expect("span")), tags: vec!["keep".into()], ..Default::default() };
        let k = kept(&snaps, &p);
        assert_eq!(k.len(), 6, "{k:?}: 5 within a day of the newest, one tagged");
        assert!(KeepPolicy::default().is_empty());
    }

    #[test]
    fn spans() {
        assert_eq!(parse_within("1y2m").expect("span"), 365 * 86_400 + 60 * 86_400);
        assert_eq!(parse_within("12h").expect("span"), 43_200);
        for bad in ["", "5", "d", "3x", "99999999999999999999y"] {
            assert!(parse_within(bad).is_err(), "{bad}");
        }
    }
}
