//! COPY and MOVE: within one space, and between two (a member's own files and a family folder at
//! their root, or two family folders; docs/files.md, "Family folders"). Between two, both spaces'
//! trees, catalog rows, locks and quotas take part, so the request is checked against both and
//! both commit locks are held, always taken in the order of the spaces' keys so two requests
//! crossing in opposite directions never wait on each other.

use std::sync::Arc;
use std::time::Instant;

use hearth_catalog::{Catalog, dav_files, dav_properties};
use http::{HeaderMap, StatusCode, header};

use crate::methods::{Ask, Dav, DavError, DavResponse, OwnedAsk, Result, Space, blocking, empty, set_aside};
use crate::path::DavPath;

/// A COPY or MOVE whose source and destination are in different spaces.
#[derive(Debug)]
pub(crate) struct Across {
    /// The space the request's path is in, and the path in it.
    pub source: (Space, DavPath),
    /// The space the `Destination` is in, and the path in it.
    pub dest: (Space, DavPath),
}

/// Where a COPY or MOVE on `path` of `outer` (a member's files with their family folders) goes,
/// when that is another space than its source's; `None` for one space (answered by `methods`,
/// which also answers a missing or foreign `Destination`).
pub(crate) fn across(outer: &Space, path: &DavPath, headers: &HeaderMap) -> Option<Across> {
    if outer.mounts.is_empty() {
        return None;
    }
    let destination = headers.get("destination")?.to_str().ok()?;
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let to = Dav::path_below(outer, host, destination).ok()??;
    let source = outer.mounted(path).unwrap_or_else(|| (outer.clone(), path.clone()));
    let dest = outer.mounted(&to).unwrap_or_else(|| (outer.clone(), to));
    (source.0.key != dest.0.key).then_some(Across { source, dest })
}

impl Dav {
    /// Answers a COPY (`moving` false) or MOVE between two spaces: the source must be readable
    /// (and changeable for a MOVE), the destination changeable.
    pub(crate) async fn copy_or_move_across(
        self: &Arc<Self>,
        catalog: &Arc<Catalog>,
        headers: &HeaderMap,
        across: Across,
        moving: bool,
    ) -> Result<DavResponse> {
        let Across { source: (source, from), dest: (dest, to) } = across;
        dest.may_write()?;
        if moving {
            source.may_write()?;
        }
        let (source, dest) = (self.prepared(source).await?, self.prepared(dest).await?);
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_string);
        let ask = Ask { space: &source, path: from, headers, host, now: Instant::now() };
        let (overwrite, deep) = Self::transfer_options(&ask, &to, moving)?;
        self.transfer(catalog, &ask, dest, to, Transfer { moving, overwrite, deep }).await
    }

    /// Copies or moves `ask.path` of `ask.space` to `to` in `dest` (the same space, or another):
    /// the source's conditions and the locks in the way hold, the destination's folder is there,
    /// what the destination had goes to its trash (as a DELETE would send it), the destination's
    /// quota holds for what it gains, and the catalog rows follow the files. A moved file keeps
    /// its id, dead properties and versions. The commit lock of each space is held, taken in the
    /// order of the spaces' keys.
    pub(crate) async fn transfer(
        self: &Arc<Self>,
        catalog: &Arc<Catalog>,
        ask: &Ask<'_>,
        dest: Space,
        to: DavPath,
        how: Transfer,
    ) -> Result<DavResponse> {
        let Transfer { moving, overwrite, deep } = how;
        let same = ask.space.key == dest.key;
        let mut locks = vec![self.commit_lock(&ask.space.key)];
        if !same {
            locks.push(self.commit_lock(&dest.key));
            if dest.key < ask.space.key {
                locks.reverse();
            }
        }
        let owned = OwnedAsk::of(ask);
        let (catalog, dav, dest_space, to_path) = (catalog.clone(), Arc::clone(self), dest.clone(), to.clone());
        let replaced = blocking(move || {
            let _held: Vec<_> = locks.iter().map(|l| l.lock().unwrap_or_else(|p| p.into_inner())).collect();
            let ask = owned.ask();
            let (source, from, now) = (&owned.space, &ask.path, owned.now);
            let Some(entry) = source.tree.stat(from)? else {
                return Err(DavError::new(StatusCode::NOT_FOUND, format!("{from} does not exist")));
            };
            Self::http_conditions(&ask, Some(&entry), false)?;
            if !dest.tree.stat(&to.parent().unwrap_or_default())?.is_some_and(|e| e.is_folder()) {
                return Err(DavError::new(StatusCode::CONFLICT, "the destination's folder does not exist"));
            }
            let existing = dest.tree.stat(&to)?;
            if existing.is_some() && !overwrite {
                return Err(DavError::new(StatusCode::PRECONDITION_FAILED, "the destination exists and Overwrite is F"));
            }
            // The If header speaks of the request's resource; the destination's locks are
            // passed by the tokens it submits.
            let tokens = dav.if_checked(&ask)?;
            if moving {
                dav.locks_allow(&source.key, from, true, true, &tokens, now)?;
            }
            dav.locks_allow(&dest.key, &to, true, existing.is_none(), &tokens, now)?;
            // A move within one space adds nothing to it.
            if dest.quota.is_some() && !(moving && same) {
                let adding = match (entry.is_folder(), deep) {
                    (true, true) => source.tree.size_beneath(from)?,
                    (true, false) => 0,
                    (false, _) => entry.size,
                };
                let replacing = match &existing {
                    Some(e) if e.is_folder() => dest.tree.size_beneath(&to).unwrap_or(0),
                    Some(e) => e.size,
                    None => 0,
                };
                dav.within_quota(&dest, adding, replacing)?;
            }
            if existing.is_some() {
                set_aside(&catalog, &dest, &dest.tree, &to)?;
                dav.locks.forget_below(&dest.key, &to, now);
            }
            let (f, t) = (from.key(), to.key());
            if moving {
                source.tree.move_to(from, &dest.tree, &to)?;
                let ids = catalog.write(|tx| {
                    dav_properties::move_tree_to(tx, &source.key, &f, &dest.key, &t)?;
                    dav_files::move_tree_to(tx, &source.key, &f, &dest.key, &t)
                })?;
                if !same && let (Some(mine), Some(theirs)) = (&source.history, &dest.history) {
                    for id in ids {
                        if let Err(e) = mine.versions.hand_over(id, &theirs.versions) {
                            tracing::warn!(file = %id, error = %e, "WebDAV: a moved file's versions stayed behind");
                        }
                    }
                }
                dav.locks.forget_below(&source.key, from, now);
            } else {
                source.tree.copy_to(from, &dest.tree, &to, deep)?;
                catalog.write(|tx| {
                    if deep || !entry.is_folder() {
                        dav_properties::copy_tree_to(tx, &source.key, &f, &dest.key, &t)?;
                    } else {
                        for p in dav_properties::of(tx, &source.key, &f)? {
                            dav_properties::set(tx, &dest.key, &t, &p.namespace, &p.name, &p.value)?;
                        }
                    }
                    Ok(())
                })?;
            }
            // Measured again at the next check, now that the change is whole.
            if !same && moving {
                dav.used_changed(source, None);
            }
            if existing.is_some() || !moving || !same {
                dav.used_changed(&dest, None);
            }
            Ok(existing.is_some())
        })
        .await?;
        self.marks.changed(&dest_space.key, &to_path);
        if moving {
            self.marks.changed(&ask.space.key, &ask.path);
        }
        Ok(empty(if replaced { StatusCode::NO_CONTENT } else { StatusCode::CREATED }))
    }
}

/// What a COPY or MOVE asks besides its source and destination.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transfer {
    /// A MOVE (else a COPY).
    pub moving: bool,
    /// `Overwrite: T`.
    pub overwrite: bool,
    /// A folder with its members (a COPY's `Depth: 0` copies the folder alone).
    pub deep: bool,
}
