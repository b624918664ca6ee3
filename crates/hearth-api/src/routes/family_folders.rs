//! Family folders (docs/files.md, "Family folders"): the owner or an admin makes a folder the
//! family shares and says who may read it and who may also change it; it then stands at the root
//! of each member's files, over WebDAV and on the Files page. Thin: `hearth_catalog::family_folders`
//! keeps them, `hearth_dav` serves them (`Space::mounts`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_catalog::CatalogError;
use hearth_catalog::audit::{self, Outcome};
use hearth_catalog::family_folders::{self, FamilyFolder, FamilyFolderId, FolderAccess};
use hearth_dav::path::DavPath;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::admin::{address, admin_entry};
use super::dav::family_folder_base;
use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::{ApiError, AppState};

/// Each member's family folders, as every WebDAV request of theirs needs them, kept between
/// changes: the routes below forget them all at each change. A read that began before a change
/// is not kept (the generation moved), so a stale list never outlives the change.
#[derive(Debug, Default)]
pub struct Memberships {
    kept: std::sync::Mutex<(u64, std::collections::HashMap<i64, Vec<family_folders::Membership>>)>,
}

impl Memberships {
    /// `user`'s family folders.
    pub async fn of(&self, state: &AppState, user: i64) -> Result<Vec<family_folders::Membership>, ApiError> {
        let generation = {
            let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(list) = kept.1.get(&user) {
                return Ok(list.clone());
            }
            kept.0
        };
        let list = state.read(move |r| family_folders::of_user(r, user)).await?;
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.0 == generation {
            kept.1.insert(user, list.clone());
        }
        Ok(list)
    }

    /// Forgets every member's list (a folder or a membership changed).
    pub fn changed(&self) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.0 += 1;
        kept.1.clear();
    }
}

/// `GET /api/v1/family-folders` answer.
#[derive(Serialize)]
pub struct Folders {
    /// Every family folder with its members, by name.
    pub folders: Vec<FamilyFolder>,
}

/// `GET /api/v1/family-folders`
pub async fn list(State(state): State<AppState>) -> Result<Json<Folders>, ApiError> {
    Ok(Json(Folders { folders: state.read(family_folders::list).await? }))
}

/// A member and their access, in a request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAccess {
    /// Login name.
    pub name: String,
    /// `read` or `write`.
    pub access: FolderAccess,
}

/// `POST /api/v1/family-folders` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFolder {
    /// Its name at the root of its members' files.
    pub name: String,
    /// Who sees it.
    #[serde(default)]
    pub members: Vec<MemberAccess>,
}

/// Refuses a member whose own files already have `name` at their root (whatever its case): the
/// family folder would hide it.
fn free_in_files(state: &AppState, member: &str, name: &str) -> Result<(), ApiError> {
    let (files, _) = super::dav::home_folders(&state.data_dir, member);
    let Ok(entries) = std::fs::read_dir(&files) else { return Ok(()) };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().to_lowercase() == name.to_lowercase() {
            return Err(ApiError::new(
                hearth_core::ErrorKind::Conflict,
                format!(
                    "{member}'s files already have {:?} at the top; rename it, or choose another name",
                    e.file_name().to_string_lossy()
                ),
            ));
        }
    }
    Ok(())
}

/// `POST /api/v1/family-folders` → 201: the folder, made on the disk, with its members.
pub async fn create(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<NewFolder>,
) -> Result<(StatusCode, Json<FamilyFolder>), ApiError> {
    let name = DavPath::check_name(body.name.trim()).map_err(|e| ApiError::invalid(format!("name: {e}")))?;
    for m in &body.members {
        free_in_files(&state, &m.name, &name)?;
    }
    let (now, addr) = (state.now(), address(&peer));
    let folder = state
        .write(move |tx| {
            let id = family_folders::create(tx, &name, now)?;
            for m in &body.members {
                let user =
                    hearth_catalog::users::by_name(tx, &m.name)?.ok_or_else(|| CatalogError::NotFound(format!("user {}", m.name)))?;
                family_folders::set_member(tx, id, user.id, m.access)?;
            }
            audit::append(tx, &admin_entry(&caller, addr.as_deref(), "files.family_folder.create", &name, None), Outcome::Ok, now)?;
            family_folders::get(tx, id)?.ok_or_else(|| CatalogError::NotFound("the new folder".into()))
        })
        .await?;
    state.memberships.changed();
    let files = family_folder_base(&state.data_dir, folder.id).join("files");
    tokio::fs::create_dir_all(&files).await.map_err(|e| ApiError::internal(format!("{}: {e}", files.display())))?;
    Ok((StatusCode::CREATED, Json(folder)))
}

/// `PUT /api/v1/family-folders/{id}/members/{user}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAccess {
    /// `read` or `write`.
    pub access: FolderAccess,
}

/// `PUT /api/v1/family-folders/{id}/members/{user}`: gives a member the folder, or changes
/// what they may do in it.
pub async fn set_member(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path((id, user)): Path<(i64, String)>,
    JsonBody(body): JsonBody<SetAccess>,
) -> Result<Json<FamilyFolder>, ApiError> {
    let id = FamilyFolderId(id);
    let folder = state.read(move |r| family_folders::get(r, id)).await?.ok_or_else(|| ApiError::not_found("no such family folder"))?;
    if !folder.members.iter().any(|m| m.name.eq_ignore_ascii_case(&user)) {
        free_in_files(&state, &user, &folder.name)?;
    }
    let (now, addr) = (state.now(), address(&peer));
    let folder = state
        .write(move |tx| {
            let member = hearth_catalog::users::by_name(tx, &user)?.ok_or_else(|| CatalogError::NotFound(format!("user {user}")))?;
            family_folders::set_member(tx, id, member.id, body.access)?;
            let detail = format!("{} may {}", member.name, if body.access == FolderAccess::Write { "change it" } else { "read it" });
            audit::append(
                tx,
                &admin_entry(&caller, addr.as_deref(), "files.family_folder.member", &folder.name, Some(&detail)),
                Outcome::Ok,
                now,
            )?;
            family_folders::get(tx, id)?.ok_or_else(|| CatalogError::NotFound("family folder".into()))
        })
        .await?;
    state.memberships.changed();
    Ok(Json(folder))
}

/// `DELETE /api/v1/family-folders/{id}/members/{user}` → 204: the folder leaves their files
/// (its files stay in it).
pub async fn remove_member(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path((id, user)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    let id = FamilyFolderId(id);
    let (now, addr) = (state.now(), address(&peer));
    let removed = state
        .write(move |tx| {
            let Some(member) = hearth_catalog::users::by_name(tx, &user)? else { return Ok(false) };
            let removed = family_folders::remove_member(tx, id, member.id)?;
            if removed {
                let target = format!("family folder {id}");
                let detail = format!("{} no longer sees it", member.name);
                audit::append(
                    tx,
                    &admin_entry(&caller, addr.as_deref(), "files.family_folder.member", &target, Some(&detail)),
                    Outcome::Ok,
                    now,
                )?;
            }
            Ok(removed)
        })
        .await?;
    state.memberships.changed();
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("no such member of this family folder")) }
}

/// `DELETE /api/v1/family-folders/{id}` → 204, when the folder is empty (its files are the
/// family's: they are moved out or deleted first, through WebDAV or the Files page). What its
/// versions and trash still hold goes with it: deleting an emptied folder is the owner's
/// explicit decision.
pub async fn delete(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let id = FamilyFolderId(id);
    let folder = state.read(move |r| family_folders::get(r, id)).await?.ok_or_else(|| ApiError::not_found("no such family folder"))?;
    let base = family_folder_base(&state.data_dir, id);
    let files = base.join("files");
    let empty = match std::fs::read_dir(&files) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(ApiError::internal(format!("{}: {e}", files.display()))),
    };
    if !empty {
        return Err(ApiError::new(
            hearth_core::ErrorKind::Conflict,
            format!("{} still holds files; move or delete them first", folder.name),
        ));
    }
    let (now, addr) = (state.now(), address(&peer));
    state
        .write(move |tx| {
            family_folders::delete(tx, id)?;
            audit::append(tx, &admin_entry(&caller, addr.as_deref(), "files.family_folder.delete", &folder.name, None), Outcome::Ok, now)
        })
        .await?;
    state.memberships.changed();
    // What its versions and trash still held goes with it.
    if let Err(e) = tokio::fs::remove_dir_all(&base).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(folder = %base.display(), error = %e, "a deleted family folder's own folders could not be removed");
    }
    Ok(StatusCode::NO_CONTENT)
}
