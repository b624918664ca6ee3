//! Words for what is in a picture (docs/ml.md): the `tags` jobs of the `ml` worker store the
//! vocabulary's words an asset earned, with the best score behind each; the full-text index reads
//! them through `asset_search_source` (migration 0015), so search finds "dog beach".

use rusqlite::{OptionalExtension, params};

use crate::error::CatalogError;
use crate::store::Connection;

/// The job kind of tagging an asset (the photo library's queue).
pub const TAGS_JOB: &str = "tags";

/// A word for an asset and how sure the models were (0–1).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Tag {
    /// The word, lower case.
    pub tag: String,
    /// The best score of the classes behind it.
    pub score: f64,
    /// Shown to the family; `false` for the other words search finds it by ("puppy" for "dog").
    pub shown: bool,
}

/// Replaces the asset's tags with `tags` and marks its tagging done. Errors when the asset is gone.
pub fn record_tags(conn: &Connection, asset_id: i64, tags: &[Tag], now: i64) -> Result<(), CatalogError> {
    if crate::assets::owner_of(conn, asset_id)?.is_none() {
        return Err(CatalogError::NotFound(format!("asset {asset_id}")));
    }
    conn.prepare_cached("DELETE FROM asset_tags WHERE asset_id = ?1")?.execute([asset_id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO asset_tags (asset_id, tag, score, shown) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (asset_id, tag) DO UPDATE SET score = max(score, excluded.score), shown = max(shown, excluded.shown)",
    )?;
    for t in tags {
        insert.execute(params![asset_id, t.tag, t.score, t.shown])?;
    }
    conn.prepare_cached("UPDATE assets SET tags_at = ?2, tags_error = NULL WHERE id = ?1")?.execute(params![asset_id, now])?;
    Ok(())
}

/// Marks the asset's tagging failed, with why (its earlier tags stay).
pub fn tags_failed(conn: &Connection, asset_id: i64, why: &str, now: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE assets SET tags_at = ?2, tags_error = ?3 WHERE id = ?1")?.execute(params![asset_id, now, why])?;
    Ok(())
}

/// The asset's shown tags, the surest first.
pub fn tags_of_asset(conn: &Connection, asset_id: i64) -> Result<Vec<Tag>, CatalogError> {
    let mut st =
        conn.prepare_cached("SELECT tag, score, shown FROM asset_tags WHERE asset_id = ?1 AND shown = 1 ORDER BY score DESC, tag")?;
    let rows = st.query_map([asset_id], |r| Ok(Tag { tag: r.get(0)?, score: r.get(1)?, shown: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the asset's tagging ended and why it failed, if it has ended.
pub fn tagging_state(conn: &Connection, asset_id: i64) -> Result<Option<(i64, Option<String>)>, CatalogError> {
    Ok(conn
        .prepare_cached("SELECT tags_at, tags_error FROM assets WHERE id = ?1 AND tags_at IS NOT NULL")?
        .query_row([asset_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn tags_replace_the_earlier_ones_and_search_finds_them() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let asset = catalog.write(|tx| crate::assets::insert(tx, &fixtures::asset(owner, 1, 1_700_000_000))).expect("asset");
        catalog
            .write(|tx| {
                let t = |tag: &str, score: f64, shown: bool| Tag { tag: tag.into(), score, shown };
                record_tags(tx, asset, &[t("cat", 0.4, true), t("kitten", 0.4, false), t("sofa", 0.7, true)], 100)
            })
            .expect("record");
        let found = |q: &str| -> Vec<i64> {
            let query = crate::search::Query { text: Some(q.into()), ..Default::default() };
            catalog.read(|r| crate::search::search(r, owner, &query, None, 10)).expect("search").iter().map(|s| s.id).collect()
        };
        assert_eq!(found("cat"), vec![asset]);
        assert_eq!(found("kitten"), vec![asset], "a word's other words are found too");
        let shown: Vec<String> = catalog.read(|r| tags_of_asset(r, asset)).expect("tags").into_iter().map(|t| t.tag).collect();
        assert_eq!(shown, vec!["sofa", "cat"], "only shown words, surest first");
        // Tagged again (a better model, or the same twice): the old words go, a repeated word keeps its best score.
        catalog
            .write(|tx| {
                let t = |score: f64, shown: bool| Tag { tag: "dog".into(), score, shown };
                record_tags(tx, asset, &[t(0.5, true), t(0.9, false)], 200)
            })
            .expect("record again");
        assert!(found("cat").is_empty());
        assert_eq!(found("dog"), vec![asset]);
        let tags = catalog.read(|r| tags_of_asset(r, asset)).expect("tags");
        assert_eq!(tags, vec![Tag { tag: "dog".into(), score: 0.9, shown: true }], "best score; shown when either row is");
        assert_eq!(catalog.read(|r| tagging_state(r, asset)).expect("state"), Some((200, None)));
        catalog.write(|tx| tags_failed(tx, asset, "the preview cannot be read", 300)).expect("failed");
        assert_eq!(catalog.read(|r| tagging_state(r, asset)).expect("state"), Some((300, Some("the preview cannot be read".into()))));
        assert_eq!(catalog.read(|r| tags_of_asset(r, asset)).expect("tags").len(), 1, "a failure keeps the earlier tags");
        assert!(catalog.write(|tx| record_tags(tx, asset + 1000, &[], 1)).is_err(), "a deleted asset");
    }
}
