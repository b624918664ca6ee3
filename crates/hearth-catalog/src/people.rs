//! Faces and people (migration 15, docs/ml.md): the faces the `ml` worker found in each asset,
//! the people they are grouped into per owner, and the changes a family makes by hand (name,
//! hide, merge, move one face). Search finds people's names through triggers on these tables.
//! The grouping rules themselves are `hearth_ml::people`; this module stores their outcome.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::CatalogError;
use crate::assets::Summary;

/// Job kind: find, embed and group the faces of an asset's preview.
pub const FACES_JOB: &str = "faces";

/// The settings key where the `ml` worker says what it runs on and why a model cannot be used
/// (JSON: `{backend, threads, models, problem, guidance}`), for the API to show.
pub const ML_STATUS_KEY: &str = "ml.status";

/// A face to store, its box as fractions of the upright picture.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFace {
    /// Left, top, width, height, each 0–1.
    pub bbox: [f64; 4],
    /// Detector confidence.
    pub score: f64,
    /// 512 bytes: 128 little-endian f32.
    pub embedding: Vec<u8>,
}

/// A stored face as grouping reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupingFace {
    /// Face id.
    pub id: i64,
    /// 512 bytes.
    pub embedding: Vec<u8>,
    /// Its person.
    pub person_id: Option<i64>,
    /// Placed by hand.
    pub pinned: bool,
}

/// A face as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceView {
    /// Face id.
    pub id: i64,
    /// The asset it is in.
    pub asset_id: i64,
    /// Left, top, width, height as fractions of the picture.
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    /// Detector confidence.
    pub score: f64,
    /// Its person.
    pub person_id: Option<i64>,
    /// The person's name.
    pub person_name: Option<String>,
    /// Placed by hand.
    pub pinned: bool,
}

/// A person as lists show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    /// Id.
    pub id: i64,
    /// Name, once given.
    pub name: Option<String>,
    /// Hidden from the people list and from search.
    pub hidden: bool,
    /// How many faces.
    pub faces: i64,
    /// How many assets they are in.
    pub assets: i64,
    /// The face shown for them.
    pub cover: Option<FaceView>,
}

/// Replaces the faces of `asset_id` with `faces`, and marks the asset analysed. Returns the new
/// faces' ids in order.
pub fn record_faces(conn: &Connection, asset_id: i64, faces: &[NewFace], now: i64) -> Result<Vec<i64>, CatalogError> {
    let Some(owner) = crate::assets::owner_of(conn, asset_id)? else { return Err(CatalogError::NotFound(format!("asset {asset_id}"))) };
    conn.prepare_cached("DELETE FROM faces WHERE asset_id = ?1")?.execute([asset_id])?;
    let mut ids = Vec::with_capacity(faces.len());
    let mut insert = conn.prepare_cached(
        "INSERT INTO faces (asset_id, owner_id, x, y, width, height, score, embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
    )?;
    for f in faces {
        let [x, y, w, h] = f.bbox;
        ids.push(insert.query_row(params![asset_id, owner, x, y, w, h, f.score, f.embedding], |r| r.get(0))?);
    }
    conn.prepare_cached("UPDATE assets SET faces_at = ?2, faces_error = NULL WHERE id = ?1")?.execute(params![asset_id, now])?;
    Ok(ids)
}

/// Marks the asset's face analysis failed, with why.
pub fn faces_failed(conn: &Connection, asset_id: i64, why: &str, now: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE assets SET faces_at = ?2, faces_error = ?3 WHERE id = ?1")?.execute(params![asset_id, now, why])?;
    Ok(())
}

/// The owner of an asset.
pub fn owner_of_asset(conn: &Connection, asset_id: i64) -> Result<Option<i64>, CatalogError> {
    Ok(conn.prepare_cached("SELECT owner_id FROM assets WHERE id = ?1")?.query_row([asset_id], |r| r.get(0)).optional()?)
}

/// Every face of `owner_id`, for grouping.
pub fn grouping_faces(conn: &Connection, owner_id: i64) -> Result<Vec<GroupingFace>, CatalogError> {
    let mut st = conn.prepare_cached("SELECT id, embedding, person_id, pinned FROM faces WHERE owner_id = ?1 ORDER BY id")?;
    let rows =
        st.query_map([owner_id], |r| Ok(GroupingFace { id: r.get(0)?, embedding: r.get(1)?, person_id: r.get(2)?, pinned: r.get(3)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The owners that have faces.
pub fn owners_with_faces(conn: &Connection) -> Result<Vec<i64>, CatalogError> {
    let mut st = conn.prepare_cached("SELECT DISTINCT owner_id FROM faces")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A new, unnamed person of `owner_id`.
pub fn create_person(conn: &Connection, owner_id: i64, now: i64) -> Result<i64, CatalogError> {
    Ok(conn
        .prepare_cached("INSERT INTO people (owner_id, created_at, updated_at) VALUES (?1, ?2, ?2) RETURNING id")?
        .query_row(params![owner_id, now], |r| r.get(0))?)
}

/// Puts faces into a person (or none), unless they were placed by hand.
pub fn assign_faces(conn: &Connection, face_ids: &[i64], person_id: Option<i64>) -> Result<(), CatalogError> {
    let mut st = conn.prepare_cached("UPDATE faces SET person_id = ?2 WHERE id = ?1 AND pinned = 0 AND person_id IS NOT ?2")?;
    for &id in face_ids {
        st.execute(params![id, person_id])?;
    }
    Ok(())
}

/// Deletes the people of `owner_id` that have no face left (after a regrouping or a merge),
/// unless they have a name: a named person with no face is kept for their photos to come back.
pub fn remove_empty_people(conn: &Connection, owner_id: i64) -> Result<usize, CatalogError> {
    Ok(conn.execute(
        "DELETE FROM people WHERE owner_id = ?1 AND name IS NULL AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = people.id)",
        [owner_id],
    )?)
}

const FACE_COLUMNS: &str = "f.id, f.asset_id, f.x, f.y, f.width, f.height, f.score, f.person_id, p.name, f.pinned";

fn face_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FaceView> {
    Ok(FaceView {
        id: r.get(0)?,
        asset_id: r.get(1)?,
        bbox: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
        score: r.get(6)?,
        person_id: r.get(7)?,
        person_name: r.get(8)?,
        pinned: r.get(9)?,
    })
}

/// The faces in an asset.
pub fn faces_of_asset(conn: &Connection, asset_id: i64) -> Result<Vec<FaceView>, CatalogError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {FACE_COLUMNS} FROM faces f LEFT JOIN people p ON p.id = f.person_id WHERE f.asset_id = ?1 ORDER BY f.x"
    ))?;
    let rows = st.query_map([asset_id], face_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A page of `person_id`'s faces (one of `owner_id`'s people) in photos not in the trash, by
/// face id, after `after`: what a family looks through to pick the faces that are someone else.
pub fn faces_of_person(
    conn: &Connection,
    owner_id: i64,
    person_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<FaceView>, CatalogError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {FACE_COLUMNS} FROM faces f JOIN people p ON p.id = f.person_id
         JOIN assets a ON a.id = f.asset_id AND a.trashed_at IS NULL
         WHERE f.person_id = ?1 AND p.owner_id = ?2 AND f.id > ?3 ORDER BY f.id LIMIT ?4"
    ))?;
    let rows = st.query_map(params![person_id, owner_id, after.unwrap_or(i64::MIN), limit], face_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A face of `owner_id`.
pub fn face(conn: &Connection, owner_id: i64, face_id: i64) -> Result<Option<FaceView>, CatalogError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {FACE_COLUMNS} FROM faces f LEFT JOIN people p ON p.id = f.person_id WHERE f.id = ?1 AND f.owner_id = ?2"
        ))?
        .query_row(params![face_id, owner_id], face_row)
        .optional()?)
}

fn cover(conn: &Connection, person_id: i64, chosen: Option<i64>) -> Result<Option<FaceView>, CatalogError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {FACE_COLUMNS} FROM faces f LEFT JOIN people p ON p.id = f.person_id
             JOIN assets a ON a.id = f.asset_id AND a.trashed_at IS NULL WHERE f.person_id = ?1
             ORDER BY f.id = ?2 DESC, f.score * f.width * f.height DESC LIMIT 1"
        ))?
        .query_row(params![person_id, chosen], face_row)
        .optional()?)
}

/// The people of `owner_id` with at least one face in a photo not in the trash (named ones
/// first, then by face count); counts leave the trash out.
pub fn list(conn: &Connection, owner_id: i64, include_hidden: bool) -> Result<Vec<Person>, CatalogError> {
    let mut st = conn.prepare_cached(
        "SELECT p.id, p.name, p.hidden, p.cover_face, count(f.id), count(DISTINCT f.asset_id)
         FROM people p JOIN faces f ON f.person_id = p.id JOIN assets a ON a.id = f.asset_id AND a.trashed_at IS NULL
         WHERE p.owner_id = ?1 AND (?2 OR p.hidden = 0)
         GROUP BY p.id ORDER BY p.name IS NULL, count(f.id) DESC, p.id",
    )?;
    let rows = st.query_map(params![owner_id, include_hidden], |r| {
        let person = Person { id: r.get(0)?, name: r.get(1)?, hidden: r.get(2)?, faces: r.get(4)?, assets: r.get(5)?, cover: None };
        Ok((person, r.get::<_, Option<i64>>(3)?))
    })?;
    let rows: Vec<(Person, Option<i64>)> = rows.collect::<Result<_, _>>()?;
    rows.into_iter().map(|(p, chosen)| Ok(Person { cover: cover(conn, p.id, chosen)?, ..p })).collect()
}

/// One person of `owner_id`.
pub fn get(conn: &Connection, owner_id: i64, person_id: i64) -> Result<Option<Person>, CatalogError> {
    let row: Option<(Option<String>, bool, Option<i64>)> = conn
        .prepare_cached("SELECT name, hidden, cover_face FROM people WHERE id = ?1 AND owner_id = ?2")?
        .query_row(params![person_id, owner_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((name, hidden, chosen)) = row else { return Ok(None) };
    let (faces, assets): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), count(DISTINCT f.asset_id) FROM faces f JOIN assets a ON a.id = f.asset_id AND a.trashed_at IS NULL
             WHERE f.person_id = ?1",
        )?
        .query_row([person_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Some(Person { id: person_id, name, hidden, faces, assets, cover: cover(conn, person_id, chosen)? }))
}

/// What a family changes about a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonChange {
    /// A new name (`Some(None)` clears it).
    pub name: Option<Option<String>>,
    /// Hide or show.
    pub hidden: Option<bool>,
    /// The face to show for them (one of theirs).
    pub cover_face: Option<i64>,
}

/// Changes a person of `owner_id`; `NotFound` when there is no such person or cover face.
pub fn change(conn: &Connection, owner_id: i64, person_id: i64, c: &PersonChange, now: i64) -> Result<(), CatalogError> {
    if get(conn, owner_id, person_id)?.is_none() {
        return Err(CatalogError::NotFound(format!("person {person_id}")));
    }
    if let Some(name) = &c.name {
        conn.prepare_cached("UPDATE people SET name = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![person_id, name, now])?;
    }
    if let Some(hidden) = c.hidden {
        conn.prepare_cached("UPDATE people SET hidden = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![person_id, hidden, now])?;
    }
    if let Some(face) = c.cover_face {
        let theirs: bool = conn
            .prepare_cached("SELECT 1 FROM faces WHERE id = ?1 AND person_id = ?2")?
            .query_row(params![face, person_id], |_| Ok(true))
            .optional()?
            .unwrap_or(false);
        if !theirs {
            return Err(CatalogError::NotFound(format!("face {face} of person {person_id}")));
        }
        conn.prepare_cached("UPDATE people SET cover_face = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![person_id, face, now])?;
    }
    Ok(())
}

/// Moves every face of `from` into `into` (both `owner_id`'s), as placed by hand, and deletes
/// `from`. `into` keeps its name, or takes `from`'s when it has none.
pub fn merge(conn: &Connection, owner_id: i64, into: i64, from: &[i64], now: i64) -> Result<(), CatalogError> {
    let Some(target) = get(conn, owner_id, into)? else { return Err(CatalogError::NotFound(format!("person {into}"))) };
    let mut name = target.name;
    for &other in from {
        if other == into {
            continue;
        }
        let Some(source) = get(conn, owner_id, other)? else { return Err(CatalogError::NotFound(format!("person {other}"))) };
        conn.prepare_cached("UPDATE faces SET person_id = ?2, pinned = 1 WHERE person_id = ?1")?.execute(params![other, into])?;
        conn.prepare_cached("DELETE FROM people WHERE id = ?1")?.execute([other])?;
        if name.is_none() {
            name = source.name;
        }
    }
    conn.prepare_cached("UPDATE people SET name = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![into, name, now])?;
    Ok(())
}

/// Splits `faces` (some of `person_id`'s, at least one, not all) off into a new person of
/// `owner_id`, placed by hand so grouping keeps them apart. Returns the new person's id;
/// `NotFound` for an unknown person, `Conflict` for no face, a face that is not theirs, or all of
/// them.
pub fn split(conn: &Connection, owner_id: i64, person_id: i64, faces: &[i64], now: i64) -> Result<i64, CatalogError> {
    if get(conn, owner_id, person_id)?.is_none() {
        return Err(CatalogError::NotFound(format!("person {person_id}")));
    }
    let mut wanted: Vec<i64> = faces.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(CatalogError::Conflict("name at least one face to split off".into()));
    }
    let theirs: i64 = conn.prepare_cached("SELECT count(*) FROM faces WHERE person_id = ?1")?.query_row([person_id], |r| r.get(0))?;
    let mut is_theirs = conn.prepare_cached("SELECT 1 FROM faces WHERE id = ?1 AND person_id = ?2 AND owner_id = ?3")?;
    for &f in &wanted {
        if is_theirs.query_row(params![f, person_id, owner_id], |_| Ok(())).optional()?.is_none() {
            return Err(CatalogError::Conflict(format!("face {f} is not one of this person's")));
        }
    }
    if wanted.len() as i64 >= theirs {
        return Err(CatalogError::Conflict("splitting off every face leaves nobody: rename the person instead".into()));
    }
    let new = create_person(conn, owner_id, now)?;
    let mut put = conn.prepare_cached("UPDATE faces SET person_id = ?2, pinned = 1 WHERE id = ?1")?;
    for &f in &wanted {
        put.execute(params![f, new])?;
    }
    conn.prepare_cached("UPDATE people SET updated_at = ?2 WHERE id = ?1")?.execute(params![person_id, now])?;
    Ok(new)
}

/// Puts one face of `owner_id` into `person` (one of theirs), a new person (`New`), or none, as
/// placed by hand: grouping will not move it again. Returns the face's person afterwards.
pub fn move_face(conn: &Connection, owner_id: i64, face_id: i64, to: FaceTarget, now: i64) -> Result<Option<i64>, CatalogError> {
    if face(conn, owner_id, face_id)?.is_none() {
        return Err(CatalogError::NotFound(format!("face {face_id}")));
    }
    let person = match to {
        FaceTarget::Person(p) => {
            if get(conn, owner_id, p)?.is_none() {
                return Err(CatalogError::NotFound(format!("person {p}")));
            }
            Some(p)
        }
        FaceTarget::New => Some(create_person(conn, owner_id, now)?),
        FaceTarget::Nobody => None,
    };
    conn.prepare_cached("UPDATE faces SET person_id = ?2, pinned = 1 WHERE id = ?1")?.execute(params![face_id, person])?;
    remove_empty_people(conn, owner_id)?;
    Ok(person)
}

/// Where [`move_face`] puts a face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceTarget {
    /// An existing person.
    Person(i64),
    /// A person made for it.
    New,
    /// No person: not a face, or someone the family does not want grouped.
    Nobody,
}

/// A page of `owner_id`'s assets showing `person_id`, newest first, after `cursor` (taken_at, id).
pub fn assets_page(
    conn: &Connection,
    owner_id: i64,
    person_id: i64,
    cursor: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<Summary>, CatalogError> {
    let (after_t, after_id) = cursor.unwrap_or((i64::MAX, i64::MAX));
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM assets a WHERE a.owner_id = ?1 AND a.trashed_at IS NULL
         AND a.id IN (SELECT asset_id FROM faces WHERE person_id = ?2)
         AND (a.taken_at < ?3 OR (a.taken_at = ?3 AND a.id < ?4))
         ORDER BY a.taken_at DESC, a.id DESC LIMIT ?5",
        crate::assets::SUMMARY_COLUMNS
    ))?;
    let rows = st.query_map(params![owner_id, person_id, after_t, after_id, limit], crate::assets::summary_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn embedding(seed: u8) -> Vec<u8> {
        (0..128).flat_map(|i| (if i == usize::from(seed) { 1.0f32 } else { 0.0 }).to_le_bytes()).collect()
    }

    fn asset(catalog: &crate::Catalog, owner: i64, n: i64) -> i64 {
        catalog.write(|tx| crate::assets::insert(tx, &fixtures::asset(owner, n, 1_700_000_000 + n))).expect("asset")
    }

    #[test]
    fn faces_people_and_search_by_name() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let asset = asset(&catalog, owner, 1);
        catalog
            .write(|tx| {
                let ids = record_faces(tx, asset, &[NewFace { bbox: [0.1, 0.1, 0.2, 0.3], score: 0.95, embedding: embedding(1) }], 100)?;
                let person = create_person(tx, owner, 100)?;
                assign_faces(tx, &ids, Some(person))?;
                change(tx, owner, person, &PersonChange { name: Some(Some("Grandma Rose".into())), ..Default::default() }, 101)?;
                Ok(())
            })
            .expect("write");
        let found = catalog
            .read(|r| {
                crate::search::search(r, owner, &crate::search::Query { text: Some("grandma".into()), ..Default::default() }, None, 10)
            })
            .expect("search");
        assert_eq!(found.len(), 1);
        let people = catalog.read(|r| list(r, owner, false)).expect("list");
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].name.as_deref(), Some("Grandma Rose"));
        assert_eq!((people[0].faces, people[0].assets), (1, 1));
        // Hidden: gone from the list and from search.
        let person = people[0].id;
        catalog.write(|tx| change(tx, owner, person, &PersonChange { hidden: Some(true), ..Default::default() }, 102)).expect("hide");
        assert!(catalog.read(|r| list(r, owner, false)).expect("list").is_empty());
        let found = catalog
            .read(|r| crate::search::search(r, owner, &crate::search::Query { text: Some("rose".into()), ..Default::default() }, None, 10))
            .expect("search");
        assert!(found.is_empty());
    }

    #[test]
    fn merging_and_moving_faces_pins_them_and_keeps_a_name() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let a1 = asset(&catalog, owner, 1);
        let a2 = asset(&catalog, owner, 2);
        let (p1, p2, f2) = catalog
            .write(|tx| {
                let f1 = record_faces(tx, a1, &[NewFace { bbox: [0.0, 0.0, 0.5, 0.5], score: 0.9, embedding: embedding(1) }], 1)?;
                let f2 = record_faces(tx, a2, &[NewFace { bbox: [0.0, 0.0, 0.5, 0.5], score: 0.9, embedding: embedding(2) }], 1)?;
                let (p1, p2) = (create_person(tx, owner, 1)?, create_person(tx, owner, 1)?);
                assign_faces(tx, &f1, Some(p1))?;
                assign_faces(tx, &f2, Some(p2))?;
                change(tx, owner, p2, &PersonChange { name: Some(Some("Sam".into())), ..Default::default() }, 2)?;
                Ok((p1, p2, f2[0]))
            })
            .expect("write");
        catalog.write(|tx| merge(tx, owner, p1, &[p2], 3)).expect("merge");
        let people = catalog.read(|r| list(r, owner, false)).expect("list");
        assert_eq!(people.len(), 1);
        assert_eq!((people[0].id, people[0].name.as_deref(), people[0].faces), (p1, Some("Sam"), 2));
        let moved = catalog.write(|tx| move_face(tx, owner, f2, FaceTarget::New, 4)).expect("move");
        let moved_face = catalog.read(|r| face(r, owner, f2)).expect("read").expect("face");
        assert!(moved_face.pinned);
        assert_eq!(moved_face.person_id, moved);
        // A photo in the trash does not count: the person's only photo trashed, they are not listed.
        catalog.write(|tx| crate::assets::set_trashed(tx, owner, a2, Some(5))).expect("trash");
        let moved_person = moved.expect("a new person");
        assert_eq!(catalog.read(|r| get(r, owner, moved_person)).expect("get").map(|p| (p.faces, p.assets)), Some((0, 0)));
        assert!(catalog.read(|r| list(r, owner, true)).expect("list").iter().all(|p| p.id != moved_person));
        catalog.write(|tx| crate::assets::set_trashed(tx, owner, a2, None)).expect("untrash");
        // Pinned faces are not moved by grouping.
        catalog.write(|tx| assign_faces(tx, &[f2], Some(p1))).expect("assign");
        assert_eq!(catalog.read(|r| face(r, owner, f2)).expect("read").expect("face").person_id, moved);
        // Another user's person or face is not found.
        assert!(catalog.write(|tx| merge(tx, owner + 1, p1, &[], 5)).is_err());
    }

    #[test]
    fn splitting_a_person_moves_the_named_faces_to_a_new_one() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let assets: Vec<i64> = (1..=3).map(|n| asset(&catalog, owner, n)).collect();
        let (person, faces) = catalog
            .write(|tx| {
                let mut faces = Vec::new();
                for (i, &a) in assets.iter().enumerate() {
                    let e = embedding(i as u8);
                    faces.extend(record_faces(tx, a, &[NewFace { bbox: [0.0, 0.0, 0.5, 0.5], score: 0.9, embedding: e }], 1)?);
                }
                let p = create_person(tx, owner, 1)?;
                assign_faces(tx, &faces, Some(p))?;
                change(tx, owner, p, &PersonChange { name: Some(Some("Ann".into())), ..Default::default() }, 1)?;
                Ok((p, faces))
            })
            .expect("write");
        let new = catalog.write(|tx| split(tx, owner, person, &[faces[2], faces[2]], 2)).expect("split");
        assert_ne!(new, person);
        let moved = catalog.read(|r| face(r, owner, faces[2])).expect("read").expect("face");
        assert_eq!((moved.person_id, moved.pinned), (Some(new), true));
        let ann = catalog.read(|r| get(r, owner, person)).expect("get").expect("Ann");
        assert_eq!((ann.name.as_deref(), ann.faces), (Some("Ann"), 2), "the name stays with the rest");
        let refused = [
            (person, vec![]),                   // nothing named
            (person, vec![faces[2]]),           // not Ann's any more
            (person, vec![faces[0], faces[1]]), // all of Ann's
        ];
        for (p, f) in refused {
            assert!(matches!(catalog.write(|tx| split(tx, owner, p, &f, 3)), Err(CatalogError::Conflict(_))), "{f:?}");
        }
        assert!(matches!(catalog.write(|tx| split(tx, owner + 1, person, &[faces[0]], 3)), Err(CatalogError::NotFound(_))));
    }

    #[test]
    fn a_persons_faces_come_in_pages_without_the_trash_and_to_their_owner_only() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let assets: Vec<i64> = (1..=5).map(|n| asset(&catalog, owner, n)).collect();
        let (person, faces) = catalog
            .write(|tx| {
                let mut faces = Vec::new();
                for (i, &a) in assets.iter().enumerate() {
                    let e = embedding(i as u8);
                    faces.extend(record_faces(tx, a, &[NewFace { bbox: [0.1, 0.2, 0.3, 0.4], score: 0.9, embedding: e }], 1)?);
                }
                let p = create_person(tx, owner, 1)?;
                assign_faces(tx, &faces, Some(p))?;
                crate::assets::set_trashed(tx, owner, assets[1], Some(2))?;
                Ok((p, faces))
            })
            .expect("write");
        let first = catalog.read(|r| faces_of_person(r, owner, person, None, 2)).expect("page");
        assert_eq!(first.iter().map(|f| f.id).collect::<Vec<_>>(), vec![faces[0], faces[2]], "the trashed photo's face is left out");
        assert_eq!(first[0].bbox, [0.1, 0.2, 0.3, 0.4]);
        let rest = catalog.read(|r| faces_of_person(r, owner, person, Some(faces[2]), 2)).expect("page");
        assert_eq!(rest.iter().map(|f| f.id).collect::<Vec<_>>(), vec![faces[3], faces[4]]);
        assert!(catalog.read(|r| faces_of_person(r, owner, person, Some(faces[4]), 2)).expect("page").is_empty());
        assert!(catalog.read(|r| faces_of_person(r, owner + 1, person, None, 10)).expect("page").is_empty(), "not another's");
    }
}
