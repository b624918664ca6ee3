//! Pictures' vectors for free-text search with an image/text model the family provides
//! (docs/ml.md, migration 17). The `embeddings` jobs of the `ml` worker store one unit vector per
//! asset under the model file's SHA-256; a search compares a sentence's vector with every stored
//! vector of that model (a scan: a family's library of 100,000 photos is 100,000 dot products).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rusqlite::{OptionalExtension, params};

use crate::assets::{SUMMARY_COLUMNS, Summary, summary_row};
use crate::error::CatalogError;
use crate::store::Connection;

/// The job kind of making an asset's vector (the photo library's queue).
pub const EMBEDDINGS_JOB: &str = "embeddings";

/// The setting holding the SHA-256 of the image model whose vectors are stored.
pub const MODEL_KEY: &str = "ml.embedding_model";

/// The most dimensions a stored vector may have (CLIP's largest are 1,024).
pub const MAX_DIMENSIONS: usize = 4096;

/// Makes `model` the one whose vectors are kept: when another was, its vectors and jobs go.
/// Returns whether it changed.
pub fn use_model(conn: &Connection, model: &str) -> Result<bool, CatalogError> {
    if crate::settings::get(conn, MODEL_KEY)?.as_deref() == Some(model) {
        return Ok(false);
    }
    conn.prepare_cached("DELETE FROM asset_embeddings WHERE model <> ?1")?.execute([model])?;
    conn.prepare_cached("DELETE FROM jobs WHERE kind = ?1")?.execute([EMBEDDINGS_JOB])?;
    crate::settings::set(conn, MODEL_KEY, model)?;
    Ok(true)
}

/// The image model whose vectors are stored, if any.
pub fn model_in_use(conn: &Connection) -> Result<Option<String>, CatalogError> {
    crate::settings::get(conn, MODEL_KEY)
}

/// Queues a job for every asset with a preview and no vector of `model` (below new photos);
/// a done job whose vector is gone (the photo changed) is queued again. Failed and quarantined
/// jobs stay as they are. Returns the jobs queued.
pub fn queue_missing(conn: &Connection, model: &str, now: i64) -> Result<usize, CatalogError> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO jobs (kind, asset_id, priority, queued_at)
             SELECT ?1, a.id, 0, ?3 FROM assets a
             WHERE a.thumbnails = 'ready' AND a.trashed_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM asset_embeddings e WHERE e.asset_id = a.id AND e.model = ?2)
             ON CONFLICT (kind, asset_id) DO UPDATE SET state = 'queued', attempts = 0, error = NULL,
                 queued_at = excluded.queued_at, started_at = NULL, finished_at = NULL
             WHERE state = 'done'",
        )?
        .execute(params![EMBEDDINGS_JOB, model, now])?)
}

/// Stores the asset's vector made by `model`. Errors when the asset is gone or the vector is
/// empty or too long.
pub fn record(conn: &Connection, asset_id: i64, model: &str, vector: &[f32], now: i64) -> Result<(), CatalogError> {
    if vector.is_empty() || vector.len() > MAX_DIMENSIONS {
        return Err(CatalogError::Invalid(format!("a vector of {} dimensions (1 to {MAX_DIMENSIONS})", vector.len())));
    }
    if crate::assets::owner_of(conn, asset_id)?.is_none() {
        return Err(CatalogError::NotFound(format!("asset {asset_id}")));
    }
    let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
    conn.prepare_cached(
        "INSERT INTO asset_embeddings (asset_id, model, vector, made_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (asset_id) DO UPDATE SET model = excluded.model, vector = excluded.vector, made_at = excluded.made_at",
    )?
    .execute(params![asset_id, model, bytes, now])?;
    Ok(())
}

/// Forgets the asset's vector (its picture changed; [`queue_missing`] makes it again).
pub fn forget(conn: &Connection, asset_id: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("DELETE FROM asset_embeddings WHERE asset_id = ?1")?.execute([asset_id])?;
    Ok(())
}

/// How many of `owner_id`'s visible assets have a vector of `model`, and how many will have one
/// (all but those whose preview cannot be made).
pub fn coverage(conn: &Connection, owner_id: i64, model: &str) -> Result<(i64, i64), CatalogError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(e.asset_id), count(*) FROM assets a
         LEFT JOIN asset_embeddings e ON e.asset_id = a.id AND e.model = ?2
         WHERE a.owner_id = ?1 AND a.trashed_at IS NULL AND a.archived = 0 AND a.thumbnails <> 'failed'",
        )?
        .query_row(params![owner_id, model], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// An asset and how near its picture is to the sentence (cosine similarity, −1 to 1).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Nearest {
    /// The asset.
    #[serde(flatten)]
    pub asset: Summary,
    /// Cosine similarity.
    pub score: f32,
}

/// `owner_id`'s visible (not trashed, not archived) assets whose vectors of `model` lie nearest to
/// `query` (unit length), nearest first, at most `limit`.
pub fn nearest(conn: &Connection, owner_id: i64, model: &str, query: &[f32], limit: usize) -> Result<Vec<Nearest>, CatalogError> {
    /// A min-heap entry: the worst kept result on top.
    struct Kept(f32, i64);
    impl PartialEq for Kept {
        fn eq(&self, other: &Self) -> bool {
            self.cmp(other) == Ordering::Equal
        }
    }
    impl Eq for Kept {}
    impl PartialOrd for Kept {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Kept {
        fn cmp(&self, other: &Self) -> Ordering {
            // Reversed: the heap's top is the lowest score (then the older id).
            other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
        }
    }
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut heap: BinaryHeap<Kept> = BinaryHeap::with_capacity(limit + 1);
    let mut st = conn.prepare_cached(
        "SELECT e.asset_id, e.vector FROM asset_embeddings e JOIN assets a ON a.id = e.asset_id
         WHERE e.model = ?2 AND a.owner_id = ?1 AND a.trashed_at IS NULL AND a.archived = 0",
    )?;
    let mut rows = st.query(params![owner_id, model])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let bytes = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        if bytes.len() != query.len() * 4 {
            continue;
        }
        let score: f32 = bytes.chunks_exact(4).zip(query).map(|(b, q)| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * q).sum();
        if !score.is_finite() {
            continue;
        }
        heap.push(Kept(score, id));
        if heap.len() > limit {
            heap.pop();
        }
    }
    let mut kept = heap.into_vec();
    kept.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    let mut summary = conn.prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM assets a WHERE a.id = ?1"))?;
    let mut out = Vec::with_capacity(kept.len());
    for Kept(score, id) in kept {
        if let Some(asset) = summary.query_row([id], summary_row).optional()? {
            out.push(Nearest { asset, score });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn ready(catalog: &crate::Catalog, owner: i64, n: i64) -> i64 {
        catalog
            .write(|tx| {
                let id = crate::assets::insert(tx, &fixtures::asset(owner, n, 1_700_000_000 + n))?;
                tx.execute("UPDATE assets SET thumbnails = 'ready' WHERE id = ?1", [id])?;
                Ok(id)
            })
            .expect("asset")
    }

    #[test]
    fn nearest_ranks_the_owners_visible_vectors_of_the_model() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let (red, green, blue, archived) =
            (ready(&catalog, owner, 1), ready(&catalog, owner, 2), ready(&catalog, owner, 3), ready(&catalog, owner, 4));
        catalog
            .write(|tx| {
                record(tx, red, "m", &[1.0, 0.0, 0.0], 1)?;
                record(tx, green, "m", &[0.0, 1.0, 0.0], 1)?;
                record(tx, blue, "other", &[0.0, 0.0, 1.0], 1)?;
                record(tx, archived, "m", &[1.0, 0.0, 0.0], 1)?;
                tx.execute("UPDATE assets SET archived = 1 WHERE id = ?1", [archived])?;
                Ok(())
            })
            .expect("record");
        let found = catalog.read(|r| nearest(r, owner, "m", &[0.8, 0.6, 0.0], 10)).expect("nearest");
        let ids: Vec<i64> = found.iter().map(|n| n.asset.id).collect();
        assert_eq!(ids, [red, green], "another model's vector and the archived photo are not compared");
        assert!((found[0].score - 0.8).abs() < 1e-6);
        assert_eq!(catalog.read(|r| nearest(r, owner, "m", &[0.0, 1.0, 0.0], 1)).expect("one")[0].asset.id, green);
        assert!(catalog.read(|r| nearest(r, owner + 1, "m", &[1.0, 0.0, 0.0], 10)).expect("other owner").is_empty());
        assert!(catalog.read(|r| nearest(r, owner, "m", &[1.0, 0.0], 10)).expect("other length").is_empty());
        assert_eq!(catalog.read(|r| coverage(r, owner, "m")).expect("coverage"), (2, 3));
    }

    #[test]
    fn jobs_are_queued_for_what_has_no_vector_and_a_new_model_starts_over() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let (a, b) = (ready(&catalog, owner, 1), ready(&catalog, owner, 2));
        let queued = catalog
            .write(|tx| {
                assert!(use_model(tx, "m")?);
                assert!(!use_model(tx, "m")?, "the same model again changes nothing");
                record(tx, a, "m", &[1.0], 1)?;
                queue_missing(tx, "m", 5)
            })
            .expect("queue");
        assert_eq!(queued, 1, "only the photo without a vector");
        // b's job is done, then its picture changes: the vector is forgotten and the job comes back.
        catalog
            .write(|tx| {
                let job = crate::jobs::claim(tx, EMBEDDINGS_JOB, 6)?.expect("job");
                assert_eq!(job.asset_id, b);
                record(tx, b, "m", &[1.0], 6)?;
                crate::jobs::finish(tx, job.id, 6)?;
                assert_eq!(queue_missing(tx, "m", 7)?, 0);
                forget(tx, b)?;
                assert_eq!(queue_missing(tx, "m", 8)?, 1);
                assert!(use_model(tx, "n")?);
                let left: i64 = tx.query_row("SELECT count(*) FROM asset_embeddings", [], |r| r.get(0))?;
                assert_eq!(left, 0, "the old model's vectors go");
                assert_eq!(queue_missing(tx, "n", 9)?, 2);
                Ok(())
            })
            .expect("again");
        let err = catalog.write(|tx| record(tx, a + 100, "n", &[1.0], 1)).expect_err("gone");
        assert!(matches!(err, CatalogError::NotFound(_)));
        let err = catalog.write(|tx| record(tx, a, "n", &[], 1)).expect_err("empty");
        assert!(matches!(err, CatalogError::Invalid(_)));
    }
}
