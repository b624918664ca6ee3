//! What a share link to the family's files reads and writes (docs/files.md, "Share links"): a
//! look at the linked file or at a folder below the linked folder, and files given through a
//! folder's link that takes uploads (a drop box for relatives), stored under the name they came
//! with, or with ` (1)`, ` (2)`, … before the extension when that name is taken
//! (`hearth_platform::durable::numbered`, as restores from a backup name theirs). A drop never
//! replaces anything: the name is taken with `RENAME_NOREPLACE` under the space's commit lock.
//!
//! Who may use a link, and which item it opens, is the API's business (`hearth_catalog::sharing`);
//! this module is given the owner's space and paths already resolved inside it.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use hearth_catalog::Catalog;
use hearth_catalog::dav_files::{self, FileId};
use http::StatusCode;
use http_body::Body as HttpBody;

use crate::methods::{Dav, DavError, Space, SpaceKind, blocking, receive};
use crate::path::DavPath;
use crate::tree::{ChangeError, Entry, Expect};

/// The most names tried for one dropped file (`name`, `name (1)`, … `name (999)`).
const MOST_NAMES: u32 = 1000;

/// What is at a path a link opens.
#[derive(Debug)]
pub enum Looked {
    /// Nothing (or something that is neither a file nor a folder).
    Missing,
    /// A file.
    File(Entry),
    /// A folder and its members by name (names WebDAV cannot carry, links and devices left out).
    Folder(Entry, Vec<(String, Entry)>),
}

/// A file given through a drop box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Where it went in the owner's space.
    pub path: DavPath,
    /// Its bytes.
    pub size: u64,
    /// Its file id.
    pub id: Option<FileId>,
}

impl Dav {
    /// What is at `path` in `space`.
    pub async fn look(self: &Arc<Self>, space: Space, path: DavPath) -> Result<Looked, DavError> {
        let space = self.prepared(space).await?;
        blocking(move || {
            Ok(match space.tree.stat(&path)? {
                None => Looked::Missing,
                Some(e) if e.is_folder() => {
                    let members = space.tree.list(&path)?;
                    Looked::Folder(e, members)
                }
                Some(e) => Looked::File(e),
            })
        })
        .await
    }

    /// Stores `body` (its length `declared` when the client said) in the folder `folder` of
    /// `space` as `name`, or the first of `name (1)`, `name (2)`, … that is free; never replaces.
    /// The space's quota and WebDAV locks on the folder hold as for a PUT.
    pub async fn drop_file<B>(
        self: &Arc<Self>,
        catalog: Arc<Catalog>,
        space: Space,
        folder: DavPath,
        name: &str,
        declared: Option<u64>,
        body: B,
    ) -> Result<Dropped, DavError>
    where
        B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        if space.kind != SpaceKind::Files {
            return Err(DavError::new(StatusCode::BAD_REQUEST, "files are dropped into a family member's files"));
        }
        // A family folder whose link's owner may now only read it takes nothing through the link.
        space.may_write()?;
        let name = DavPath::check_name(name).map_err(|e| DavError::new(StatusCode::BAD_REQUEST, format!("the file's name: {e}")))?;
        let space = self.prepared(space).await?;
        {
            // Before the body: a full quota or a missing folder costs the visitor no upload.
            let (dav, space, folder) = (Arc::clone(self), space.clone(), folder.clone());
            blocking(move || {
                if !space.tree.stat(&folder)?.is_some_and(|e| e.is_folder()) {
                    return Err(DavError::new(StatusCode::NOT_FOUND, "the folder this link shares is gone"));
                }
                if let Some(n) = declared {
                    dav.within_quota(&space, n, 0)?;
                }
                Ok(())
            })
            .await?;
        }
        let tree = space.tree.clone();
        let upload = blocking(move || Ok(tree.begin_upload()?)).await?;
        let mut upload = receive(upload, body).await?;
        let space_key = space.key.clone();
        let (dav, lock, key) = (Arc::clone(self), self.commit_lock(&space.key), space.key.clone());
        let dropped = blocking(move || {
            upload.sync()?;
            let size = upload.written();
            let held = lock.lock().unwrap_or_else(|p| p.into_inner());
            let tree = &space.tree;
            if !tree.stat(&folder)?.is_some_and(|e| e.is_folder()) {
                return Err(DavError::new(StatusCode::NOT_FOUND, "the folder this link shares is gone"));
            }
            dav.within_quota(&space, size, 0)?;
            let now = Instant::now();
            dav.locks.may_change(&space.key, &folder, false, &[], now)?;
            for n in 0..MOST_NAMES {
                let candidate = folder
                    .child(&hearth_platform::durable::numbered(&name, n))
                    .map_err(|e| DavError::new(StatusCode::BAD_REQUEST, format!("the file's name: {e}")))?;
                if tree.stat(&candidate)?.is_some() {
                    continue;
                }
                dav.locks.may_change(&space.key, &candidate, false, &[], now)?;
                let placed = match tree.commit_upload(upload, &candidate, Expect::Absent) {
                    Ok(placed) => placed,
                    // Only a writer beside WebDAV can take a name while the commit lock is held.
                    Err(ChangeError::Changed) => {
                        return Err(DavError::new(StatusCode::CONFLICT, "another file took this name at the same moment; send it again"));
                    }
                    Err(ChangeError::Io(e)) => return Err(e.into()),
                };
                dav.used_changed(&space, Some(i128::from(size)));
                // The folder's fsync waits for the disk: not while other writers wait for the lock.
                drop(held);
                placed.durable()?;
                let k = candidate.key();
                let id = catalog.write(|tx| dav_files::assign(tx, &key, std::slice::from_ref(&k)))?.remove(&k);
                return Ok(Dropped { path: candidate, size, id });
            }
            Err(DavError::new(StatusCode::CONFLICT, format!("this folder already has {MOST_NAMES} files of this name; rename the file")))
        })
        .await?;
        self.marks.changed(&space_key, &dropped.path);
        Ok(dropped)
    }
}
