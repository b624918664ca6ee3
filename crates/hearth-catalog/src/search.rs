//! Search (migration 11) and "on this day" memories over a user's library.
//!
//! Search combines words (matched as prefixes, every word required, diacritics folded) against
//! the full-text index of file paths, place names and cameras, with a date range, the kind, and
//! favourites. Results come newest first, in pages with a cursor like the timeline's.
//! Memories are the photos taken on today's month and day in earlier years, by the photos' own
//! local date.

use rusqlite::{Connection, params_from_iter, types::Value};
use serde::Serialize;

use crate::CatalogError;
use crate::assets::{SUMMARY_COLUMNS, Summary, summary_row};

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Words, each matched as a prefix in the path, place or camera ("paris", "img_20", "pixel").
    pub text: Option<String>,
    /// Taken at or after (Unix seconds).
    pub from: Option<i64>,
    /// Taken before (Unix seconds).
    pub to: Option<i64>,
    /// `photo` or `video`.
    pub kind: Option<String>,
    /// Only favourites.
    pub favourite: bool,
    /// Archived assets too (the timeline hides them; search finds them when asked).
    pub include_archived: bool,
}

/// The FTS5 expression for free text: each space-separated term a quoted phrase of its words
/// with a prefix match on the last (`IMG_12` finds IMG_1234.jpg, not every path with a 12 in
/// it); nothing the user types is read as FTS syntax. `None` when there is no word in it.
pub fn match_expression(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .filter_map(|term| {
            let words: Vec<String> = term.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
            (!words.is_empty()).then(|| format!("\"{}\"*", words.join(" ")))
        })
        .take(16)
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// A page of `owner_id`'s assets matching `q`, newest first, after `cursor` (taken_at, id).
pub fn search(conn: &Connection, owner_id: i64, q: &Query, cursor: Option<(i64, i64)>, limit: i64) -> Result<Vec<Summary>, CatalogError> {
    let (after_t, after_id) = cursor.unwrap_or((i64::MAX, i64::MAX));
    let mut sql = format!("SELECT {SUMMARY_COLUMNS} FROM assets a");
    let mut args: Vec<Value> = Vec::new();
    let mut conditions = vec!["a.owner_id = ?".to_string(), "a.trashed_at IS NULL".to_string()];
    args.push(owner_id.into());
    if let Some(expr) = q.text.as_deref().and_then(match_expression) {
        // The words pick the rows (CROSS JOIN keeps SQLite from walking the whole library in date
        // order and asking the full-text index about each photo), then the newest are kept.
        sql = format!("SELECT {SUMMARY_COLUMNS} FROM asset_search s CROSS JOIN assets a ON a.id = s.rowid");
        conditions.push("asset_search MATCH ?".into());
        args.push(expr.into());
    }
    if !q.include_archived {
        conditions.push("a.archived = 0".into());
    }
    if let Some(f) = q.from {
        conditions.push("a.taken_at >= ?".into());
        args.push(f.into());
    }
    if let Some(t) = q.to {
        conditions.push("a.taken_at < ?".into());
        args.push(t.into());
    }
    if let Some(k) = &q.kind {
        conditions.push("a.kind = ?".into());
        args.push(k.clone().into());
    }
    if q.favourite {
        conditions.push("a.favourite = 1".into());
    }
    conditions.push("(a.taken_at < ? OR (a.taken_at = ? AND a.id < ?))".into());
    args.extend([after_t.into(), after_t.into(), after_id.into()]);
    sql.push_str(&format!(" WHERE {} ORDER BY a.taken_at DESC, a.id DESC LIMIT ?", conditions.join(" AND ")));
    args.push(limit.into());
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args), summary_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What a suggestion names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuggestionKind {
    /// A town, region or country.
    Place,
    /// A camera or phone.
    Camera,
}

/// A word to search for, and how many of the owner's photos it would find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// The text to search for.
    pub text: String,
    /// Place or camera.
    pub kind: SuggestionKind,
    /// Photos with it.
    pub count: i64,
}

/// Places and cameras of `owner_id`'s visible photos that start with `prefix` (case does not
/// matter for ASCII letters), the most photographed first, at most `limit`.
pub fn suggestions(conn: &Connection, owner_id: i64, prefix: &str, limit: i64) -> Result<Vec<Suggestion>, CatalogError> {
    // LIKE's own wildcards in what the user typed are literal.
    let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let mut st = conn.prepare_cached(
        "SELECT text, kind, count(*) AS n FROM (
             SELECT city AS text, 'place' AS kind FROM assets WHERE owner_id = ?1 AND trashed_at IS NULL AND city LIKE ?2 ESCAPE '\\'
             UNION ALL
             SELECT region, 'place' FROM assets WHERE owner_id = ?1 AND trashed_at IS NULL AND region LIKE ?2 ESCAPE '\\'
             UNION ALL
             SELECT country, 'place' FROM assets WHERE owner_id = ?1 AND trashed_at IS NULL AND country LIKE ?2 ESCAPE '\\'
             UNION ALL
             SELECT model, 'camera' FROM assets WHERE owner_id = ?1 AND trashed_at IS NULL AND model LIKE ?2 ESCAPE '\\'
             UNION ALL
             SELECT make, 'camera' FROM assets WHERE owner_id = ?1 AND trashed_at IS NULL AND make LIKE ?2 ESCAPE '\\'
         ) GROUP BY text, kind ORDER BY n DESC, text LIMIT ?3",
    )?;
    let rows = st.query_map(rusqlite::params![owner_id, pattern, limit], |r| {
        let kind: String = r.get(1)?;
        Ok(Suggestion {
            text: r.get(0)?,
            kind: if kind == "camera" { SuggestionKind::Camera } else { SuggestionKind::Place },
            count: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The photos of one earlier year on today's date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Memory {
    /// The year they were taken.
    pub year: i64,
    /// How long ago.
    pub years_ago: i64,
    /// The first few, in the order they were taken.
    pub assets: Vec<Summary>,
}

/// Photos taken on `month`-`day` (their own local date) in the years before `year`, newest year
/// first, at most `per_year` each.
pub fn on_this_day(conn: &Connection, owner_id: i64, year: i64, month: i64, day: i64, per_year: i64) -> Result<Vec<Memory>, CatalogError> {
    let mut years: Vec<i64> = {
        let mut st = conn.prepare_cached(
            "SELECT month / 100 FROM asset_months WHERE owner_id = ?1 AND month % 100 = ?2 AND month / 100 < ?3 AND count > 0 ORDER BY month DESC",
        )?;
        let rows = st.query_map(rusqlite::params![owner_id, month, year], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    years.dedup();
    let mut out = Vec::new();
    for y in years {
        let Some(start) = civil_day(y, month, day) else { continue };
        // The day's instants at any offset (±14 h) come from the date index; then the photo's own
        // local date decides.
        let (from, to) = (start * 86400 - 14 * 3600, (start + 1) * 86400 + 14 * 3600);
        let mut st = conn.prepare_cached(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM assets a
             WHERE a.owner_id = ?1 AND a.trashed_at IS NULL AND a.taken_at >= ?2 AND a.taken_at < ?3 AND a.archived = 0
               AND (a.taken_at + coalesce(a.taken_offset, 0) * 60) / 86400 = ?4
             ORDER BY a.taken_at, a.id LIMIT ?5"
        ))?;
        let rows = st.query_map(rusqlite::params![owner_id, from, to, start, per_year], summary_row)?;
        let assets: Vec<Summary> = rows.collect::<Result<_, _>>()?;
        if !assets.is_empty() {
            out.push(Memory { year: y, years_ago: year - y, assets });
        }
    }
    Ok(out)
}

/// Days since 1970-01-01 of a date that exists (29 February only in leap years).
fn civil_day(year: i64, month: i64, day: i64) -> Option<i64> {
    let days = hearth_core::calendar::days_from_civil(year, month, day);
    let (y, m, d) = hearth_core::calendar::civil_from_days(days);
    (y == year && i64::from(m) == month && i64::from(d) == day).then_some(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::{self, NewAsset};
    use crate::users::Role;
    use crate::{CatalogError, fixtures};

    fn asset(owner: i64, n: u8, path: &str, taken_at: i64, offset: Option<i64>) -> NewAsset {
        NewAsset {
            path: path.into(),
            taken_offset: offset,
            make: Some("Google".into()),
            model: Some(if n.is_multiple_of(2) { "Pixel 8" } else { "iPhone 15" }.into()),
            ..fixtures::asset(owner, i64::from(n), taken_at)
        }
    }

    #[test]
    fn suggestions_are_the_owners_places_and_cameras_most_photographed_first() {
        let (_dir, c, _) = fixtures::catalog();
        let (ana, bob) = c
            .write(|tx| {
                let ana = fixtures::user(tx, "ana", Role::Member)?;
                let bob = fixtures::user(tx, "bob", Role::Member)?;
                for n in 0..3u8 {
                    let id = assets::insert(tx, &asset(ana, n, &format!("library/1/IMG_{n}.jpg"), 1_700_000_000 + i64::from(n), None))?;
                    assets::set_place(tx, id, if n == 0 { "Parma" } else { "Paris" }, Some("Île-de-France"), "France")?;
                }
                let theirs = assets::insert(tx, &asset(bob, 9, "library/2/IMG_9.jpg", 1_700_000_000, None))?;
                assets::set_place(tx, theirs, "Pamplona", None, "Spain")?;
                Ok((ana, bob))
            })
            .expect("write");
        let got = c.read(|r| suggestions(r, ana, "pa", 10)).expect("read");
        let texts: Vec<(&str, i64)> = got.iter().map(|s| (s.text.as_str(), s.count)).collect();
        assert_eq!(texts, [("Paris", 2), ("Parma", 1)], "another user's places are not suggested");
        assert_eq!(got[0].kind, SuggestionKind::Place);
        let cameras = c.read(|r| suggestions(r, ana, "PIX", 10)).expect("read");
        assert_eq!(cameras.iter().map(|s| (s.text.as_str(), s.kind)).collect::<Vec<_>>(), [("Pixel 8", SuggestionKind::Camera)]);
        assert!(c.read(|r| suggestions(r, ana, "%", 10)).expect("read").is_empty(), "LIKE's wildcards are literal");
        assert!(c.read(|r| suggestions(r, bob, "pa", 10)).expect("read").iter().any(|s| s.text == "Pamplona"));
    }

    #[test]
    fn words_dates_and_places_find_the_right_photos() {
        let (_dir, c, _) = fixtures::catalog();
        let (owner, ids) = c
            .write(|tx| {
                let owner = fixtures::user(tx, "ana", Role::Member)?;
                let mut ids = Vec::new();
                // 14 July 2022, 2023, 2024 at 23:30 in Paris (+02:00): 21:30 UTC, the local date is the 14th.
                for (n, year_start) in [(0u8, 1_657_756_800i64), (1, 1_689_292_800), (2, 1_720_915_200)] {
                    let id = assets::insert(tx, &asset(owner, n, &format!("library/1/IMG_{n}.jpg"), year_start + 77_400, Some(120)))?;
                    assets::set_place(tx, id, "Paris", Some("Île-de-France"), "France")?;
                    ids.push(id);
                }
                ids.push(assets::insert(tx, &asset(owner, 3, "sync/cam/PXL_20240801.jpg", 1_722_470_400, None))?);
                // 15 July 2021 at 00:30 in Paris: still the 14th in UTC.
                ids.push(assets::insert(tx, &asset(owner, 5, "library/1/late.jpg", 1_626_220_800 + 81_000, Some(120)))?);
                Ok((owner, ids))
            })
            .map_err(|e: CatalogError| e)
            .expect("setup");
        let find = |q: Query| c.read(move |r| search(r, owner, &q, None, 50)).expect("search").iter().map(|s| s.id).collect::<Vec<_>>();
        let text = |t: &str| Query { text: Some(t.into()), ..Query::default() };
        assert_eq!(find(text("paris")), vec![ids[2], ids[1], ids[0]]);
        assert_eq!(find(text("ile de fra")), vec![ids[2], ids[1], ids[0]], "diacritics folded, prefixes");
        assert_eq!(find(text("IMG_1")), vec![ids[1]]);
        assert_eq!(find(text("pxl")), vec![ids[3]]);
        assert_eq!(find(text("iphone paris")), vec![ids[1]], "every word");
        assert_eq!(
            find(text("\"*) (- ::")),
            vec![ids[3], ids[2], ids[1], ids[0], ids[4]],
            "no words: no text filter, and no FTS syntax error"
        );
        assert!(find(text("paris OR NOT")).is_empty(), "OR and NOT are words here, not operators");
        assert_eq!(find(Query { from: Some(1_700_000_000), ..Query::default() }), vec![ids[3], ids[2]]);
        assert_eq!(find(Query { from: Some(1_700_000_000), to: Some(1_722_000_000), ..text("paris") }), vec![ids[2]]);
        // A renamed place is found under its new name.
        c.write(|tx| assets::set_place(tx, ids[0], "Versailles", None, "France")).expect("place");
        assert_eq!(find(text("versailles")), vec![ids[0]]);
        // Archived: only when asked; trashed: never.
        c.write(|tx| assets::set_archived(tx, owner, ids[1], true)).expect("archive");
        assert_eq!(find(text("paris")), vec![ids[2]]);
        assert_eq!(find(Query { include_archived: true, ..text("paris") }), vec![ids[2], ids[1]]);
        c.write(|tx| assets::set_trashed(tx, owner, ids[2], Some(1))).expect("trash");
        assert_eq!(find(Query { include_archived: true, ..text("paris") }), vec![ids[1]]);
        // Deleting removes it from the index.
        c.write(|tx| assets::delete(tx, owner, ids[3])).expect("delete");
        assert!(find(text("pxl")).is_empty());

        // On 14 July 2025: 2023 (2022's is in Versailles now, still 14 July; 2024's trashed; archived 2023 hidden).
        c.write(|tx| assets::set_archived(tx, owner, ids[1], false)).expect("unarchive");
        let m = c.read(move |r| on_this_day(r, owner, 2025, 7, 14, 10)).expect("memories");
        assert_eq!(m.iter().map(|m| (m.year, m.years_ago, m.assets[0].id)).collect::<Vec<_>>(), vec![(2023, 2, ids[1]), (2022, 3, ids[0])]);
        let m = c.read(move |r| on_this_day(r, owner, 2025, 7, 15, 10)).expect("memories");
        assert_eq!(m.iter().map(|m| (m.year, m.assets[0].id)).collect::<Vec<_>>(), vec![(2021, ids[4])], "the local date, not UTC");
        assert_eq!(civil_day(2024, 2, 30), None);
        assert_eq!(civil_day(1970, 1, 1), Some(0));
        assert_eq!(civil_day(2024, 7, 14), Some(19918));
    }
}
