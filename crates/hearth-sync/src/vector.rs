//! Version vectors: how two versions of an entry relate, and which of two concurrent versions
//! wins. Counters are kept sorted by device short id, as Syncthing keeps them, because its
//! comparison walks both vectors in that order.

use std::cmp::Ordering as Cmp;

use crate::protocol::messages::{Counter, FileInfo, Vector};

/// How version `a` relates to version `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The same version.
    Equal,
    /// `a` descends from `b`: it includes every change `b` knows of, and more.
    Newer,
    /// `b` descends from `a`.
    Older,
    /// Each has a change the other lacks: a conflict.
    Concurrent,
}

fn value(v: &Vector, id: u64) -> u64 {
    v.counters.iter().find(|c| c.id == id).map_or(0, |c| c.value)
}

/// Compare two version vectors (missing counters count as zero).
pub fn relate(a: &Vector, b: &Vector) -> Relation {
    let (mut a_ahead, mut b_ahead) = (false, false);
    for id in a.counters.iter().chain(&b.counters).map(|c| c.id) {
        match value(a, id).cmp(&value(b, id)) {
            Cmp::Greater => a_ahead = true,
            Cmp::Less => b_ahead = true,
            Cmp::Equal => {}
        }
    }
    match (a_ahead, b_ahead) {
        (false, false) => Relation::Equal,
        (true, false) => Relation::Newer,
        (false, true) => Relation::Older,
        (true, true) => Relation::Concurrent,
    }
}

/// A version vector after device `short_id` changed the entry: its counter becomes
/// max(old + 1, now in seconds), as Syncthing does, so counters also roughly order concurrent
/// edits; the counters stay sorted by id.
pub fn bump(version: Option<&Vector>, short_id: u64, now_s: u64) -> Vector {
    let mut v = version.cloned().unwrap_or_default();
    match v.counters.iter_mut().find(|c| c.id == short_id) {
        Some(c) => c.value = (c.value + 1).max(now_s),
        None => v.counters.push(Counter { id: short_id, value: now_s.max(1) }),
    }
    v.counters.sort_by_key(|c| c.id);
    v
}

/// Every change either vector knows of (the counter-wise maximum), sorted by id.
pub fn merge(a: &Vector, b: &Vector) -> Vector {
    let mut out: Vec<Counter> = a.counters.clone();
    for c in &b.counters {
        match out.iter_mut().find(|o| o.id == c.id) {
            Some(o) => o.value = o.value.max(c.value),
            None => out.push(c.clone()),
        }
    }
    out.sort_by_key(|c| c.id);
    Vector { counters: out }
}

fn version(f: &FileInfo) -> Vector {
    f.version.clone().unwrap_or_default()
}

/// Whether `a` should be everyone's version when it conflicts with `b`, by Syncthing's rules: a
/// valid entry beats an invalid one, a modification beats a deletion, then the newer
/// modification time wins; equal times fall back to an order on the vectors so that every device
/// picks the same winner.
pub fn wins_conflict(a: &FileInfo, b: &FileInfo) -> bool {
    if a.invalid != b.invalid {
        return !a.invalid;
    }
    if a.deleted != b.deleted {
        return !a.deleted;
    }
    match (a.modified_s, a.modified_ns).cmp(&(b.modified_s, b.modified_ns)) {
        Cmp::Greater => true,
        Cmp::Less => false,
        Cmp::Equal => {
            let key = |v: Vector| {
                let mut c: Vec<(u64, u64)> = v.counters.iter().map(|c| (c.value, c.id)).collect();
                c.sort_unstable_by(|x, y| y.cmp(x));
                c
            };
            key(version(a)) > key(version(b))
        }
    }
}

/// Whether `a` is a better candidate than `b` for the version every device should have.
pub fn supersedes(a: &FileInfo, b: &FileInfo) -> bool {
    match relate(&version(a), &version(b)) {
        Relation::Newer => true,
        Relation::Older | Relation::Equal => false,
        Relation::Concurrent => wins_conflict(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(c: &[(u64, u64)]) -> Vector {
        Vector { counters: c.iter().map(|&(id, value)| Counter { id, value }).collect() }
    }

    #[test]
    fn relations() {
        assert_eq!(relate(&v(&[(1, 5)]), &v(&[(1, 5), (2, 0)])), Relation::Equal);
        assert_eq!(relate(&v(&[(1, 6)]), &v(&[(1, 5)])), Relation::Newer);
        assert_eq!(relate(&v(&[(1, 5)]), &v(&[(1, 5), (2, 1)])), Relation::Older);
        assert_eq!(relate(&v(&[(1, 6)]), &v(&[(1, 5), (2, 1)])), Relation::Concurrent);
        assert_eq!(relate(&v(&[]), &v(&[])), Relation::Equal);
    }

    #[test]
    fn bump_keeps_counters_sorted_and_moves_forward() {
        let a = bump(Some(&v(&[(9, 3)])), 4, 100);
        assert_eq!(a, v(&[(4, 100), (9, 3)]));
        assert_eq!(bump(Some(&a), 4, 50), v(&[(4, 101), (9, 3)]));
        assert_eq!(merge(&v(&[(9, 3), (1, 1)]), &v(&[(1, 4), (5, 2)])), v(&[(1, 4), (5, 2), (9, 3)]));
    }

    #[test]
    fn conflicts_follow_syncthing_rules() {
        let f = |deleted, s, ver: Vector| FileInfo { name: "a".into(), deleted, modified_s: s, version: Some(ver), ..Default::default() };
        let (left, right) = (v(&[(1, 10)]), v(&[(2, 10)]));
        // Modification beats deletion, whatever the times.
        assert!(wins_conflict(&f(false, 1, left.clone()), &f(true, 99, right.clone())));
        // Otherwise the newer time wins.
        assert!(wins_conflict(&f(false, 5, left.clone()), &f(false, 4, right.clone())));
        // Equal times: both sides agree on one winner.
        let (a, b) = (f(false, 5, left), f(false, 5, right));
        assert_ne!(wins_conflict(&a, &b), wins_conflict(&b, &a));
        // A descendant supersedes regardless of time.
        assert!(supersedes(&f(false, 1, v(&[(1, 11)])), &f(false, 9, v(&[(1, 10)]))));
    }
}
