//! What the family can ask of their files' history besides WebDAV (the API's `/api/v1/files/…`):
//! a file's versions and putting one back, the trash and putting back or removing an item. The
//! keeping itself is `versions` and `trash`; this runs it on the blocking pool under the
//! space's commit lock.

use std::sync::Arc;
use std::time::Instant;

use hearth_catalog::dav_trash::{self, TrashId, Trashed};
use hearth_catalog::{Catalog, dav_files};
use http::{HeaderMap, StatusCode};

use crate::methods::{Ask, Dav, DavError, Incoming, Space, blocking};
use crate::path::DavPath;
use crate::versions::Version;

fn no_history() -> DavError {
    DavError::new(StatusCode::NOT_FOUND, "these files keep no versions or trash")
}

/// A path below a family folder as a member sees it in their files (`Family/…`), or one of
/// their own.
pub fn in_files(family_folder: Option<&str>, path: &str) -> String {
    match family_folder {
        Some(name) if path.is_empty() => name.to_string(),
        Some(name) => format!("{name}/{path}"),
        None => path.to_string(),
    }
}

/// An item in a member's trash: from their own files, or from a family folder they may change.
#[derive(Debug, Clone)]
pub struct MemberTrashed {
    /// The family folder it was deleted from; `None` for the member's own files.
    pub family_folder: Option<String>,
    /// The item, its path below its own space.
    pub item: Trashed,
}

impl MemberTrashed {
    /// The path it had in the member's files.
    pub fn path(&self) -> String {
        in_files(self.family_folder.as_deref(), &self.item.path)
    }
}

impl Dav {
    /// The versions of the file at `path` (%-encoded, below the space), newest first.
    pub async fn versions(self: &Arc<Self>, catalog: Arc<Catalog>, space: Space, path: &str) -> Result<Vec<Version>, DavError> {
        let space = self.prepared(space).await?;
        let path = DavPath::from_encoded(path).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        let history = space.history.clone().ok_or_else(no_history)?;
        blocking(move || {
            let Some(entry) = space.tree.stat(&path)? else {
                return Err(DavError::new(StatusCode::NOT_FOUND, format!("{path} does not exist")));
            };
            if entry.is_folder() {
                return Err(DavError::new(StatusCode::BAD_REQUEST, "folders have no versions; their files do"));
            }
            let key = path.key();
            match catalog.read(|c| dav_files::id_of(c, &space.key, &key))? {
                Some(id) => Ok(history.versions.list(id)?),
                None => Ok(Vec::new()),
            }
        })
        .await
    }

    /// Puts version `name` of the file at `path` back: a copy of it takes the file's place like
    /// a PUT, so the file it replaces becomes a version in turn.
    pub async fn restore_version(self: &Arc<Self>, catalog: Arc<Catalog>, space: Space, path: &str, name: u64) -> Result<(), DavError> {
        let space = self.prepared(space).await?;
        let path = DavPath::from_encoded(path).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        let history = space.history.clone().ok_or_else(no_history)?;
        let (tree, key, c) = (space.tree.clone(), path.key(), catalog.clone());
        let skey = space.key.clone();
        let (upload, modified) = blocking(move || {
            let id = c
                .read(|r| dav_files::id_of(r, &skey, &key))?
                .ok_or_else(|| DavError::new(StatusCode::NOT_FOUND, "this file has no versions"))?;
            let mut file = match history.versions.open(id, name) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(DavError::new(StatusCode::NOT_FOUND, format!("there is no version {name} of this file")));
                }
                Err(e) => return Err(e.into()),
            };
            let modified = file.metadata()?.modified().ok();
            let mut upload = tree.begin_upload()?;
            upload.append_file(&mut file)?;
            Ok((upload, modified))
        })
        .await?;
        let headers = HeaderMap::new();
        let ask = Ask { space: &space, path, headers: &headers, host: None, now: Instant::now() };
        self.place(&catalog, &ask, Incoming::File(upload), modified).await.map(|_| ())
    }

    /// Expires the space's versions and trash now (`methods::expire`), under its commit lock;
    /// how many versions and trashed items went.
    pub async fn expire_space(self: &Arc<Self>, catalog: Arc<Catalog>, space: Space) -> Result<(usize, usize), DavError> {
        let space = self.prepared(space).await?;
        let Some(history) = space.history.clone() else { return Ok((0, 0)) };
        let lock = self.commit_lock(&space.key);
        blocking(move || {
            let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
            crate::methods::expire(&catalog, &space, &history, std::time::SystemTime::now())
        })
        .await
    }

    /// The space's trashed items, newest first.
    pub async fn trashed(self: &Arc<Self>, catalog: Arc<Catalog>, space: Space) -> Result<Vec<Trashed>, DavError> {
        let space = self.prepared(space).await?;
        let history = space.history.clone().ok_or_else(no_history)?;
        blocking(move || Ok(history.trash.list(&catalog, &space.key)?)).await
    }

    /// Puts a trashed item back; where it came back (its path below the space).
    pub async fn restore_trashed(self: &Arc<Self>, catalog: Arc<Catalog>, space: Space, id: TrashId) -> Result<DavPath, DavError> {
        let space = self.prepared(space).await?;
        let history = space.history.clone().ok_or_else(no_history)?;
        let lock = self.commit_lock(&space.key);
        let dav = Arc::clone(self);
        let s = space.clone();
        let back = blocking(move || {
            let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
            let back = history.trash.restore(&catalog, &s.key, &s.tree, id)?;
            dav.used_changed(&s, None);
            Ok(back)
        })
        .await?;
        self.marks.changed(&space.key, &back);
        Ok(back)
    }

    /// A member's trash (`files`: their files with the family folders at its root): their own
    /// items and those deleted from the family folders they may change, newest first.
    pub async fn member_trash(self: &Arc<Self>, catalog: Arc<Catalog>, files: Space) -> Result<Vec<MemberTrashed>, DavError> {
        let mut all = Vec::new();
        for (family_folder, space) in files.histories() {
            let listed = self.trashed(catalog.clone(), space).await?;
            all.extend(listed.into_iter().map(|item| MemberTrashed { family_folder: family_folder.clone(), item }));
        }
        all.sort_by(|a, b| b.item.deleted_at.cmp(&a.item.deleted_at).then(b.item.id.0.cmp(&a.item.id.0)));
        Ok(all)
    }

    /// The one of a member's trashes that holds item `id` (ids are the box's), with the family
    /// folder's name; 404 when none of theirs does.
    async fn trash_holding(&self, catalog: &Arc<Catalog>, files: &Space, id: TrashId) -> Result<(Option<String>, Space), DavError> {
        let c = catalog.clone();
        let key = blocking(move || Ok(c.read(|r| dav_trash::space_of(r, id))?)).await?;
        let not_yours = || DavError::new(StatusCode::NOT_FOUND, "there is no such item in your trash");
        let (family_folder, space) = files.reached(&key.ok_or_else(not_yours)?).ok_or_else(not_yours)?;
        space.may_write().map_err(|_| not_yours())?;
        Ok((family_folder, space))
    }

    /// Puts an item of a member's trash back; where it came back in their files.
    pub async fn restore_member_trashed(self: &Arc<Self>, catalog: Arc<Catalog>, files: Space, id: TrashId) -> Result<String, DavError> {
        let (family_folder, space) = self.trash_holding(&catalog, &files, id).await?;
        let back = self.restore_trashed(catalog, space, id).await?;
        Ok(in_files(family_folder.as_deref(), &back.key()))
    }

    /// Removes an item of a member's trash for good.
    pub async fn purge_member_trashed(self: &Arc<Self>, catalog: Arc<Catalog>, files: Space, id: TrashId) -> Result<(), DavError> {
        let (_, space) = self.trash_holding(&catalog, &files, id).await?;
        self.purge_trashed(catalog, space, Some(id)).await
    }

    /// Removes trashed items for good: one, or all (`None`).
    pub async fn purge_trashed(self: &Arc<Self>, catalog: Arc<Catalog>, space: Space, id: Option<TrashId>) -> Result<(), DavError> {
        let space = self.prepared(space).await?;
        let history = space.history.clone().ok_or_else(no_history)?;
        let lock = self.commit_lock(&space.key);
        blocking(move || {
            let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
            match id {
                Some(id) => {
                    if history.trash.list(&catalog, &space.key)?.iter().all(|t| t.id != id) {
                        return Err(DavError::new(StatusCode::NOT_FOUND, "there is no such item in the trash"));
                    }
                    history.trash.purge(&catalog, &space.key, id)?;
                }
                None => {
                    for (item, _) in history.trash.all(&catalog, &space.key)? {
                        history.trash.purge(&catalog, &space.key, item.id)?;
                    }
                }
            }
            Ok(())
        })
        .await
    }
}
