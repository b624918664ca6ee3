//! Family folders (migration 23): folders of files the family shares, each at the root of its
//! members' files, read-only or read-write per member (docs/files.md, "Family folders"). This
//! module stores them; `hearth_dav` serves them and the API decides who may change them.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::CatalogError;

/// A family folder's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FamilyFolderId(pub i64);

impl std::fmt::Display for FamilyFolderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a member may do in a family folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FolderAccess {
    /// See and download its files.
    Read,
    /// Also add, change, move and delete them.
    Write,
}

impl FolderAccess {
    fn as_str(self) -> &'static str {
        match self {
            FolderAccess::Read => "read",
            FolderAccess::Write => "write",
        }
    }
}

impl ToSql for FolderAccess {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for FolderAccess {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "read" => Ok(FolderAccess::Read),
            "write" => Ok(FolderAccess::Write),
            other => Err(FromSqlError::Other(format!("unknown family folder access {other:?}").into())),
        }
    }
}

/// A member of a family folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Their login name.
    pub name: String,
    /// What they may do.
    pub access: FolderAccess,
}

/// A family folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FamilyFolder {
    /// Id.
    pub id: FamilyFolderId,
    /// Its name at the root of its members' files.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Who sees it, by name.
    pub members: Vec<Member>,
}

/// A family folder as one member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    /// The folder.
    pub id: FamilyFolderId,
    /// Its name.
    pub name: String,
    /// What the member may do.
    pub access: FolderAccess,
}

/// A new family folder called `name` (unique, whatever the case); its id.
pub fn create(conn: &Connection, name: &str, now: i64) -> Result<FamilyFolderId, CatalogError> {
    let taken = conn.prepare_cached("SELECT 1 FROM family_folders WHERE name = ?1")?.query_row([name], |_| Ok(())).optional()?.is_some();
    if taken {
        return Err(CatalogError::Conflict(format!("there is already a family folder called {name}")));
    }
    conn.execute("INSERT INTO family_folders (name, created_at) VALUES (?1, ?2)", params![name, now])?;
    Ok(FamilyFolderId(conn.last_insert_rowid()))
}

/// Gives `user_id` `access` to folder `id` (or changes theirs).
pub fn set_member(conn: &Connection, id: FamilyFolderId, user_id: i64, access: FolderAccess) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO family_folder_members (folder_id, user_id, access) VALUES (?1, ?2, ?3)
         ON CONFLICT (folder_id, user_id) DO UPDATE SET access = excluded.access",
        params![id.0, user_id, access],
    )?;
    Ok(())
}

/// Takes folder `id` away from `user_id`; whether they had it.
pub fn remove_member(conn: &Connection, id: FamilyFolderId, user_id: i64) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM family_folder_members WHERE folder_id = ?1 AND user_id = ?2", params![id.0, user_id])? > 0)
}

/// The WebDAV space a family folder's ids, dead properties and trash are kept under.
pub fn space_key(id: FamilyFolderId) -> String {
    format!("family:{id}")
}

/// The family folder a WebDAV space key names (`family:<id>`), when it names one.
pub fn of_space_key(key: &str) -> Option<FamilyFolderId> {
    key.strip_prefix("family:")?.parse().ok().map(FamilyFolderId)
}

/// Forgets folder `id`, with its files' ids, dead properties and trash rows (its files on disk
/// are the caller's business); whether it existed.
pub fn delete(conn: &Connection, id: FamilyFolderId) -> Result<bool, CatalogError> {
    let space = space_key(id);
    crate::dav_files::delete_tree(conn, &space, "")?;
    crate::dav_properties::delete_tree(conn, &space, "")?;
    conn.execute("DELETE FROM dav_trash WHERE space = ?1", [&space])?;
    Ok(conn.execute("DELETE FROM family_folders WHERE id = ?1", [id.0])? > 0)
}

/// One folder with its members.
pub fn get(conn: &Connection, id: FamilyFolderId) -> Result<Option<FamilyFolder>, CatalogError> {
    Ok(list(conn)?.into_iter().find(|f| f.id == id))
}

/// Every family folder with its members, by name.
pub fn list(conn: &Connection) -> Result<Vec<FamilyFolder>, CatalogError> {
    let mut st = conn.prepare("SELECT id, name, created_at FROM family_folders ORDER BY name COLLATE NOCASE")?;
    let rows = st.query_map([], |r| {
        Ok(FamilyFolder { id: FamilyFolderId(r.get(0)?), name: r.get(1)?, created_at: r.get(2)?, members: Vec::new() })
    })?;
    let mut folders: Vec<FamilyFolder> = rows.collect::<Result<_, _>>()?;
    let mut st =
        conn.prepare("SELECT m.folder_id, u.name, m.access FROM family_folder_members m JOIN users u ON u.id = m.user_id ORDER BY u.name")?;
    let members = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, Member { name: r.get(1)?, access: r.get(2)? })))?;
    for m in members {
        let (folder, member) = m?;
        if let Some(f) = folders.iter_mut().find(|f| f.id.0 == folder) {
            f.members.push(member);
        }
    }
    Ok(folders)
}

/// The family folders `user_id` is a member of, by name.
pub fn of_user(conn: &Connection, user_id: i64) -> Result<Vec<Membership>, CatalogError> {
    let mut st = conn.prepare_cached(
        "SELECT f.id, f.name, m.access FROM family_folder_members m JOIN family_folders f ON f.id = m.folder_id
         WHERE m.user_id = ?1 ORDER BY f.name COLLATE NOCASE",
    )?;
    let rows = st.query_map([user_id], |r| Ok(Membership { id: FamilyFolderId(r.get(0)?), name: r.get(1)?, access: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::Role;
    use crate::{Catalog, fixtures};

    #[test]
    fn folders_have_members_with_their_access_and_unique_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (c, _) = Catalog::open(&dir.path().join("hearth.db")).expect("open");
        c.write(|tx| {
            let (ana, ben) = (fixtures::user(tx, "ana", Role::Owner)?, fixtures::user(tx, "ben", Role::Member)?);
            let id = create(tx, "Family", 1)?;
            assert!(matches!(create(tx, "family", 2), Err(CatalogError::Conflict(_))), "names are unique whatever the case");
            assert!(create(tx, "a/b", 2).is_err() && create(tx, "..", 2).is_err() && create(tx, "", 2).is_err());
            set_member(tx, id, ana, FolderAccess::Write)?;
            set_member(tx, id, ben, FolderAccess::Write)?;
            set_member(tx, id, ben, FolderAccess::Read)?;
            let f = get(tx, id)?.expect("the folder");
            assert_eq!(
                f.members,
                vec![Member { name: "ana".into(), access: FolderAccess::Write }, Member { name: "ben".into(), access: FolderAccess::Read }]
            );
            assert_eq!(of_user(tx, ben)?, vec![Membership { id, name: "Family".into(), access: FolderAccess::Read }]);
            assert!(remove_member(tx, id, ben)?);
            assert!(of_user(tx, ben)?.is_empty());
            crate::dav_files::assign(tx, &space_key(id), &["plan.txt".to_string()])?;
            assert_eq!(of_space_key(&space_key(id)), Some(id));
            assert_eq!(of_space_key("home:1"), None);
            assert_eq!(of_space_key("family:x"), None);
            assert!(delete(tx, id)?);
            assert_eq!(crate::dav_files::id_of(tx, "family:1", "plan.txt")?, None, "its ids go with it");
            assert!(of_user(tx, ana)?.is_empty() && list(tx)?.is_empty());
            Ok(())
        })
        .expect("write");
    }
}
