//! The job queue (migration 9): work on an asset that follows its ingest and runs in a worker
//! process — thumbnails now, video posters and recognition later.
//!
//! The life of a job: [`enqueue`] (queued) → [`claim`] (running) → [`begin`] (one more attempt,
//! counted just before the risky work starts) → [`finish`] (done) or [`fail`] (failed: the input
//! is bad, retrying cannot help). A job still running when its worker died is found by
//! [`recover`] when the worker starts again: queued once more, and quarantined if that was
//! already its second begun attempt, so one poisoned photo cannot crash a worker forever.
//!
//! A worker runs several jobs at once, so when it dies every job in hand is a suspect. A job that
//! has been begun before ([`Job::attempts`] > 0) is therefore run alone (the worker's business),
//! and a job claimed but not yet begun when the worker died loses nothing: only begun attempts
//! count. An innocent photo that was in hand during a crash is retried alone and succeeds; the
//! poisoned one crashes alone, and is set aside.
//! [`progress`] reports counts, the rate and the time left; [`retry`] lets an admin try failed
//! and quarantined jobs again (after an update that fixes the decoder, say).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::CatalogError;

/// Job kind: the 250 and 1440 px thumbnails of a photo.
pub const THUMBNAILS: &str = "thumbnails";

/// Priorities (higher first).
pub mod priority {
    /// A folder being walked, an import.
    pub const BULK: i64 = 0;
    /// A file that just arrived by sync or upload.
    pub const NEW: i64 = 10;
    /// Someone is looking at the asset right now.
    pub const WAITING: i64 = 20;
}

/// Begun attempts after which a job that was running when its worker died is quarantined.
pub const CRASHES_BEFORE_QUARANTINE: i64 = 2;

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// The asset it works on.
    pub asset_id: i64,
    /// Attempts begun before this claim: 0 normally; more after a worker died during the job,
    /// and then it is run alone.
    pub attempts: i64,
}

/// Queue `kind` for `asset_id`. A job already queued keeps its place, with the higher of the two
/// priorities; a finished one is left alone (use [`retry`] to do it again).
pub fn enqueue(conn: &Connection, kind: &str, asset_id: i64, priority: i64, now: i64) -> Result<(), CatalogError> {
    conn.prepare_cached(
        "INSERT INTO jobs (kind, asset_id, priority, queued_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, asset_id) DO UPDATE SET priority = max(priority, excluded.priority) WHERE state = 'queued'",
    )?
    .execute(params![kind, asset_id, priority, now])?;
    Ok(())
}

/// Queue `kind` for `asset_id` again from scratch (its content changed), whatever state its job
/// was in.
pub fn requeue(conn: &Connection, kind: &str, asset_id: i64, priority: i64, now: i64) -> Result<(), CatalogError> {
    conn.prepare_cached(
        "INSERT INTO jobs (kind, asset_id, priority, queued_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, asset_id) DO UPDATE SET state = 'queued', attempts = 0, error = NULL, priority = excluded.priority,
             queued_at = excluded.queued_at, started_at = NULL, finished_at = NULL",
    )?
    .execute(params![kind, asset_id, priority, now])?;
    Ok(())
}

/// Raise a queued job to at least `priority`; whether one was queued.
pub fn hurry(conn: &Connection, kind: &str, asset_id: i64, priority: i64) -> Result<bool, CatalogError> {
    Ok(conn.execute(
        "UPDATE jobs SET priority = ?3 WHERE kind = ?1 AND asset_id = ?2 AND state = 'queued' AND priority < ?3",
        params![kind, asset_id, priority],
    )? > 0)
}

/// Whether `kind` has a queued job (a read: idle workers look before they claim).
pub fn has_queued(conn: &Connection, kind: &str) -> Result<bool, CatalogError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM jobs WHERE kind = ?1 AND state = 'queued' LIMIT 1")?
        .query_row([kind], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Take the next job of `kind` (highest priority, then oldest), marking it running.
pub fn claim(conn: &Connection, kind: &str, now: i64) -> Result<Option<Job>, CatalogError> {
    Ok(conn
        .prepare_cached(
            "UPDATE jobs SET state = 'running', started_at = ?2
             WHERE id = (SELECT id FROM jobs WHERE kind = ?1 AND state = 'queued' ORDER BY priority DESC, id LIMIT 1)
             RETURNING id, kind, asset_id, attempts",
        )?
        .query_row(params![kind, now], |r| Ok(Job { id: r.get(0)?, kind: r.get(1)?, asset_id: r.get(2)?, attempts: r.get(3)? }))
        .optional()?)
}

/// Count an attempt of a claimed job: call right before the work that could take the worker down.
pub fn begin(conn: &Connection, id: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE jobs SET attempts = attempts + 1 WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Give a claimed job back to the queue without counting its attempt (the worker could not do
/// it for a reason of its own, like a full disk: not the input's fault).
pub fn release(conn: &Connection, id: i64) -> Result<(), CatalogError> {
    conn.prepare_cached(
        "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), started_at = NULL WHERE id = ?1 AND state = 'running'",
    )?
    .execute([id])?;
    Ok(())
}

/// The job succeeded.
pub fn finish(conn: &Connection, id: i64, now: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE jobs SET state = 'done', error = NULL, finished_at = ?2 WHERE id = ?1")?.execute(params![id, now])?;
    Ok(())
}

/// The job cannot succeed on this input; `error` is for the family.
pub fn fail(conn: &Connection, id: i64, error: &str, now: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE jobs SET state = 'failed', error = ?2, finished_at = ?3 WHERE id = ?1")?
        .execute(params![id, error, now])?;
    Ok(())
}

/// What [`recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Jobs queued again for their retry.
    pub requeued: usize,
    /// Assets whose job was quarantined.
    pub quarantined: Vec<i64>,
}

/// Call when the (only) worker of `kind` starts: every job of that kind still marked running was
/// interrupted by the worker's death. Each goes back to the queue, except one whose attempt then
/// was already its second: that one is quarantined with `reason`.
pub fn recover(conn: &Connection, kind: &str, reason: &str, now: i64) -> Result<Recovered, CatalogError> {
    let mut quarantined = Vec::new();
    {
        let mut st = conn.prepare(
            "UPDATE jobs SET state = 'quarantined', error = ?3, finished_at = ?4
             WHERE kind = ?1 AND state = 'running' AND attempts >= ?2 RETURNING asset_id",
        )?;
        let rows = st.query_map(params![kind, CRASHES_BEFORE_QUARANTINE, reason, now], |r| r.get(0))?;
        for r in rows {
            quarantined.push(r?);
        }
    }
    let requeued = conn.execute("UPDATE jobs SET state = 'queued', started_at = NULL WHERE kind = ?1 AND state = 'running'", [kind])?;
    Ok(Recovered { requeued, quarantined })
}

/// Queue failed and quarantined jobs of `kind` again, from a fresh count of attempts; how many.
pub fn retry(conn: &Connection, kind: &str, now: i64) -> Result<usize, CatalogError> {
    Ok(conn.execute(
        "UPDATE jobs SET state = 'queued', attempts = 0, error = NULL, queued_at = ?2, started_at = NULL, finished_at = NULL
         WHERE kind = ?1 AND state IN ('failed', 'quarantined')",
        params![kind, now],
    )?)
}

/// Remove done jobs finished before `before` (their work is in the assets); how many.
pub fn purge_done(conn: &Connection, before: i64) -> Result<usize, CatalogError> {
    Ok(conn.execute("DELETE FROM jobs WHERE state = 'done' AND finished_at < ?1", [before])?)
}

/// The seconds over which [`progress`] measures the rate.
pub const RATE_WINDOW: i64 = 60;

/// How far the jobs of one kind are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The kind.
    pub kind: String,
    /// Waiting.
    pub queued: i64,
    /// Being worked on.
    pub running: i64,
    /// Done (kept until maintenance tidies them away).
    pub done: i64,
    /// Bad input.
    pub failed: i64,
    /// Crashed the worker twice; set aside.
    pub quarantined: i64,
    /// Jobs per second over the last minute (or since the first of them started).
    pub rate_per_second: f64,
    /// Seconds until the queue is empty at that rate; `None` when idle or not started.
    pub eta_seconds: Option<i64>,
}

/// The progress of every kind that has jobs.
pub fn progress(conn: &Connection, now: i64) -> Result<Vec<Progress>, CatalogError> {
    let mut out: Vec<Progress> = Vec::new();
    {
        let mut st = conn.prepare_cached("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state ORDER BY kind")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
        for row in rows {
            let (kind, state, n) = row?;
            if out.last().map(|p| p.kind != kind).unwrap_or(true) {
                out.push(Progress {
                    kind: kind.clone(),
                    queued: 0,
                    running: 0,
                    done: 0,
                    failed: 0,
                    quarantined: 0,
                    rate_per_second: 0.0,
                    eta_seconds: None,
                });
            }
            if let Some(p) = out.last_mut() {
                match state.as_str() {
                    "queued" => p.queued = n,
                    "running" => p.running = n,
                    "done" => p.done = n,
                    "failed" => p.failed = n,
                    _ => p.quarantined = n,
                }
            }
        }
    }
    for p in &mut out {
        let (recent, first_start): (i64, Option<i64>) = conn
            .prepare_cached("SELECT count(*), min(started_at) FROM jobs WHERE kind = ?1 AND state = 'done' AND finished_at >= ?2")?
            .query_row(params![p.kind, now - RATE_WINDOW], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let window = first_start.map(|s| (now - s).clamp(1, RATE_WINDOW)).unwrap_or(RATE_WINDOW);
        p.rate_per_second = recent as f64 / window as f64;
        let left = p.queued + p.running;
        if left > 0 && p.rate_per_second > 0.0 {
            p.eta_seconds = Some((left as f64 / p.rate_per_second).ceil() as i64);
        }
    }
    Ok(out)
}

/// The state of the `kind` job of an asset and its error, if it has one.
pub fn state_of(conn: &Connection, kind: &str, asset_id: i64) -> Result<Option<(String, Option<String>)>, CatalogError> {
    Ok(conn
        .query_row("SELECT state, error FROM jobs WHERE kind = ?1 AND asset_id = ?2", params![kind, asset_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, assets, fixtures};

    fn setup(n: i64) -> (tempfile::TempDir, Catalog, i64, Vec<i64>) {
        let (dir, catalog, owner) = fixtures::catalog();
        let ids = catalog.write(|tx| (0..n).map(|i| assets::insert(tx, &fixtures::asset(owner, i, 0))).collect()).expect("assets");
        (dir, catalog, owner, ids)
    }

    #[test]
    fn jobs_come_out_by_priority_then_age_and_once() {
        let (_d, c, _, ids) = setup(4);
        c.write(|tx| {
            enqueue(tx, THUMBNAILS, ids[0], priority::BULK, 1)?;
            enqueue(tx, THUMBNAILS, ids[1], priority::BULK, 2)?;
            enqueue(tx, THUMBNAILS, ids[2], priority::NEW, 3)?;
            enqueue(tx, THUMBNAILS, ids[3], priority::BULK, 4)?;
            // Enqueued again at a lower priority: keeps its place and priority.
            enqueue(tx, THUMBNAILS, ids[2], priority::BULK, 5)?;
            assert!(hurry(tx, THUMBNAILS, ids[3], priority::WAITING)?);
            Ok(())
        })
        .expect("enqueue");
        let order: Vec<i64> = std::iter::from_fn(|| c.write(|tx| claim(tx, THUMBNAILS, 10)).expect("claim")).map(|j| j.asset_id).collect();
        assert_eq!(order, vec![ids[3], ids[2], ids[0], ids[1]]);
        // Another kind is a separate queue.
        assert_eq!(c.write(|tx| claim(tx, "posters", 10)).expect("claim"), None);
    }

    #[test]
    fn a_job_that_crashes_its_worker_twice_is_quarantined() {
        let (_d, c, _, ids) = setup(3);
        c.write(|tx| {
            enqueue(tx, THUMBNAILS, ids[0], priority::NEW, 1)?;
            enqueue(tx, THUMBNAILS, ids[1], priority::NEW, 1)
        })
        .expect("enqueue");
        // Both are begun when the worker dies.
        let first = c.write(|tx| claim(tx, THUMBNAILS, 2)).expect("claim").expect("job");
        let second = c.write(|tx| claim(tx, THUMBNAILS, 2)).expect("claim").expect("job");
        assert_eq!((first.attempts, second.attempts), (0, 0));
        c.write(|tx| begin(tx, first.id)).expect("begin");
        c.write(|tx| begin(tx, second.id)).expect("begin");
        let r = c.write(|tx| recover(tx, THUMBNAILS, "crashed", 3)).expect("recover");
        assert_eq!(r, Recovered { requeued: 2, quarantined: vec![] });
        // The retries come back marked as suspects (run alone): the innocent one finishes, the
        // poisoned one kills the worker again, while a third job is claimed but not begun.
        let a = c.write(|tx| claim(tx, THUMBNAILS, 4)).expect("claim").expect("job");
        assert_eq!(a.attempts, 1);
        c.write(|tx| begin(tx, a.id)).expect("begin");
        c.write(|tx| finish(tx, a.id, 5)).expect("finish");
        let b = c.write(|tx| claim(tx, THUMBNAILS, 5)).expect("claim").expect("job");
        assert_eq!(b.attempts, 1);
        c.write(|tx| begin(tx, b.id)).expect("begin");
        c.write(|tx| enqueue(tx, THUMBNAILS, ids[2], priority::NEW, 5)).expect("enqueue");
        let bystander = c.write(|tx| claim(tx, THUMBNAILS, 5)).expect("claim").expect("job");
        let r = c.write(|tx| recover(tx, THUMBNAILS, "crashed the worker twice", 6)).expect("recover");
        assert_eq!(r, Recovered { requeued: 1, quarantined: vec![b.asset_id] });
        // The bystander lost nothing: it was never begun.
        assert_eq!(c.write(|tx| claim(tx, THUMBNAILS, 7)).expect("claim").map(|j| (j.id, j.attempts)), Some((bystander.id, 0)));
        assert_eq!(c.write(|tx| claim(tx, THUMBNAILS, 7)).expect("claim"), None);
        assert_eq!(
            c.read(|r| state_of(r, THUMBNAILS, b.asset_id)).expect("state"),
            Some(("quarantined".into(), Some("crashed the worker twice".into())))
        );
        // An admin retries it: queued with a fresh count.
        assert_eq!(c.write(|tx| retry(tx, THUMBNAILS, 8)).expect("retry"), 1);
        assert_eq!(c.write(|tx| claim(tx, THUMBNAILS, 9)).expect("claim").map(|j| (j.asset_id, j.attempts)), Some((b.asset_id, 0)));
    }

    #[test]
    fn a_job_given_back_by_its_worker_is_not_held_against_the_photo() {
        let (_d, c, _, ids) = setup(1);
        c.write(|tx| enqueue(tx, THUMBNAILS, ids[0], priority::NEW, 1)).expect("enqueue");
        // Twice begun and given back (the disk was full both times): still not a suspect.
        for _ in 0..2 {
            let j = c.write(|tx| claim(tx, THUMBNAILS, 2)).expect("claim").expect("job");
            assert_eq!(j.attempts, 0);
            c.write(|tx| begin(tx, j.id)).expect("begin");
            c.write(|tx| release(tx, j.id)).expect("release");
        }
        let j = c.write(|tx| claim(tx, THUMBNAILS, 3)).expect("claim").expect("job");
        assert_eq!(j.attempts, 0);
        c.write(|tx| begin(tx, j.id)).expect("begin");
        assert_eq!(c.write(|tx| recover(tx, THUMBNAILS, "crashed", 4)).expect("recover"), Recovered { requeued: 1, quarantined: vec![] });
    }

    #[test]
    fn progress_counts_states_and_estimates_the_time_left() {
        let (_d, c, owner, ids) = setup(10);
        c.write(|tx| {
            for &id in &ids {
                enqueue(tx, THUMBNAILS, id, priority::BULK, 0)?;
            }
            Ok(())
        })
        .expect("enqueue");
        // Four done between t=100 and t=110 (2.5 s each), one failed, one running.
        for t in [102, 104, 107, 110] {
            let j = c.write(|tx| claim(tx, THUMBNAILS, t - 2)).expect("claim").expect("job");
            c.write(|tx| finish(tx, j.id, t)).expect("finish");
        }
        let j = c.write(|tx| claim(tx, THUMBNAILS, 110)).expect("claim").expect("job");
        c.write(|tx| fail(tx, j.id, "not a photo", 110)).expect("fail");
        c.write(|tx| claim(tx, THUMBNAILS, 110)).expect("claim").expect("job");
        let p = c.read(|r| progress(r, 110)).expect("progress");
        assert_eq!(p.len(), 1);
        let p = &p[0];
        assert_eq!((p.queued, p.running, p.done, p.failed, p.quarantined), (4, 1, 4, 1, 0));
        // 4 jobs in the 10 s since the first of them started: 0.4/s, 5 left: 13 s.
        assert!((p.rate_per_second - 0.4).abs() < 1e-9, "{}", p.rate_per_second);
        assert_eq!(p.eta_seconds, Some(13));
        // A minute and more later with nothing finished: no rate, no estimate.
        let p = c.read(|r| progress(r, 1000)).expect("progress");
        assert_eq!((p[0].rate_per_second, p[0].eta_seconds), (0.0, None));
        // Maintenance removes old done jobs; deleting an asset removes its jobs.
        assert_eq!(c.write(|tx| purge_done(tx, 108)).expect("purge"), 3);
        c.write(|tx| assets::delete(tx, owner, ids[9])).expect("delete");
        let p = c.read(|r| progress(r, 1000)).expect("progress");
        assert_eq!(p[0].queued, 3);
    }
}
