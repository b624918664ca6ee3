//! restic's REST protocol (v1 and v2, restic's doc/REST_backend.md) at
//! `/restic/<user>/<repo>/`, so a laptop's stock `restic -r rest:https://…/restic/anna/laptop`
//! backs up to the box, and another Hearth too. Each user's repositories are theirs alone; an
//! app password made for backups only, append-only, cannot delete anything but locks. The
//! storage rules are `hearth_backup::hosting`'s; this is the HTTP around them.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_backup::backend::FileType;
use hearth_backup::hosting::{self, HostedRepository, Object, Refusal, Stored};
use hearth_catalog::tokens::Scope;
use hearth_core::ErrorKind;

use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The most bytes one object may have (restic's packs are 16 MiB by default, 128 MiB at most).
const MOST_BYTES: u64 = 512 << 20;
const V2: &str = "application/vnd.x.restic.rest.v2";

/// Bytes each user's hosted repositories hold, counted from disk the first time a quota needs
/// them and kept up to date by the writes and deletes that go through here. Uploads running at
/// the same moment are each checked against what was stored before them, so together they may
/// pass the quota by what they carry (a few packs).
#[derive(Default)]
pub struct HostedUsage(std::sync::Mutex<std::collections::HashMap<i64, u64>>);

impl std::fmt::Debug for HostedUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostedUsage")
    }
}

impl HostedUsage {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, u64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What `user`'s repositories under `dir` hold.
    async fn of(&self, user: i64, dir: std::path::PathBuf) -> Result<u64, ApiError> {
        if let Some(n) = self.lock().get(&user) {
            return Ok(*n);
        }
        let counted = tokio::task::spawn_blocking(move || {
            let mut n = 0u64;
            for repo in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                n += HostedRepository::new(repo.path(), false).bytes()?;
            }
            Ok::<u64, hearth_backup::error::BackupError>(n)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(storage)?;
        Ok(*self.lock().entry(user).or_insert(counted))
    }

    fn add(&self, user: i64, bytes: u64) {
        if let Some(n) = self.lock().get_mut(&user) {
            *n += bytes;
        }
    }

    fn remove(&self, user: i64, bytes: u64) {
        if let Some(n) = self.lock().get_mut(&user) {
            *n = n.saturating_sub(bytes);
        }
    }
}

/// `GET /api/v1/backups/hosted` body.
#[derive(serde::Serialize)]
pub struct Hosted {
    /// The caller's repositories on this box.
    pub repositories: Vec<hosting::Summary>,
    /// Their bytes together.
    pub used_bytes: u64,
    /// `backup.hosted_quota_mib` in bytes, when set.
    pub quota_bytes: Option<u64>,
    /// The address restic takes, without a password: `/restic/<user>/`.
    pub path: String,
}

/// `GET /api/v1/backups/hosted`: what the caller's computers keep on this box.
pub async fn hosted(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<axum::Json<Hosted>, ApiError> {
    let me = caller.require_user()?.clone();
    let dir = state.data_dir.join("restic").join(me.id.to_string());
    let repositories = blocking(move || hosting::summaries(&dir)).await?;
    let used_bytes = repositories.iter().map(|r| r.bytes).sum();
    Ok(axum::Json(Hosted {
        repositories,
        used_bytes,
        quota_bytes: state.config.backup.hosted_quota_bytes,
        path: format!("/restic/{}/", me.name),
    }))
}

/// What a request path names, below `/restic/<user>/`.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// `<repo>/` (`POST ?create=true`).
    Repository,
    /// `<repo>/<type>/`: a listing.
    Listing(FileType),
    /// `<repo>/config` or `<repo>/<type>/<name>`.
    Object(Object),
}

/// A repository name: 1 to 64 of letters, digits, `.`, `_`, `-`, not starting with a dot.
fn repository_name(name: &str) -> Option<&str> {
    let ok = (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then_some(name)
}

/// `<repo>/…` split into the repository and what it names (the path comes from any client:
/// fuzz target `restic_path`).
pub fn parse(path: &str) -> Result<(&str, Target), ApiError> {
    let (repo, rest) = path.split_once('/').unwrap_or((path, ""));
    let repo = repository_name(repo)
        .ok_or_else(|| ApiError::invalid("a repository name is 1 to 64 letters, digits, '.', '_' or '-', not starting with a dot"))?;
    let target = match rest.trim_end_matches('/') {
        "" => Target::Repository,
        "config" => Target::Object(Object::Config),
        other => {
            let (kind, name) = other.split_once('/').unwrap_or((other, ""));
            let t = hosting::file_type(kind).ok_or_else(|| ApiError::not_found("no such object type"))?;
            if name.is_empty() {
                Target::Listing(t)
            } else {
                Target::Object(Object::named(t, name).map_err(|e| ApiError::invalid(e.to_string()))?)
            }
        }
    };
    Ok((repo, target))
}

fn storage(e: hearth_backup::error::BackupError) -> ApiError {
    use hearth_core::Kinded as _;
    match &e {
        hearth_backup::error::BackupError::Damaged { .. } => ApiError::invalid(e.to_string()),
        _ => ApiError::new(e.kind(), e.to_string()),
    }
}

/// Every method on `/restic/{user}/{*path}`.
pub async fn serve(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((user, path)): Path<(String, String)>,
    request: Request,
) -> Response {
    match handle(&state, &caller, &user, &path, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, caller: &Caller, user: &str, path: &str, request: Request) -> Result<Response, ApiError> {
    let me = caller.require_user()?;
    // Private: the repositories under a name are that user's only.
    if !me.name.eq_ignore_ascii_case(user) {
        return Err(ApiError::forbidden("these backups belong to someone else").with_guidance(format!("use /restic/{}/…", me.name)));
    }
    let (repo, target) = parse(path)?;
    let user_dir = state.data_dir.join("restic").join(me.id.to_string());
    let root = user_dir.join(repo);
    let repository = HostedRepository::new(root, caller.scope == Scope::BackupAppendOnly);
    let method = request.method().clone();
    let create = request.uri().query().is_some_and(|q| q.split('&').any(|kv| kv == "create=true"));
    let v2 = request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains(V2));
    match (method, target) {
        (Method::POST, Target::Repository) if create => {
            let r = repository.clone();
            blocking(move || r.create()).await?;
            Ok(StatusCode::OK.into_response())
        }
        (Method::GET, Target::Listing(t)) => {
            let r = repository.clone();
            let found = blocking(move || r.list(t)).await?;
            let (body, kind) = if v2 {
                let list: Vec<_> = found.iter().map(|(name, size)| serde_json::json!({"name": name, "size": size})).collect();
                (serde_json::to_vec(&list), V2)
            } else {
                (serde_json::to_vec(&found.iter().map(|(name, _)| name).collect::<Vec<_>>()), "application/vnd.x.restic.rest.v1")
            };
            Ok(([(header::CONTENT_TYPE, kind)], body.map_err(ApiError::internal)?).into_response())
        }
        (Method::HEAD, Target::Object(o)) => {
            let r = repository.clone();
            let size = blocking(move || r.size(&o)).await?.ok_or_else(|| ApiError::not_found("no such object"))?;
            Ok((StatusCode::OK, [(header::CONTENT_LENGTH, size.to_string())]).into_response())
        }
        (Method::GET, Target::Object(o)) => read(&repository, o, request.headers()).await,
        (Method::POST, Target::Object(o)) => {
            // Only with a quota is anything counted.
            let quota = match state.config.backup.hosted_quota_bytes {
                Some(q) => Some((q, state.hosted_usage.of(me.id, user_dir).await?)),
                None => None,
            };
            let stored = write(&repository, o, request, quota).await?;
            if let Some(n) = stored {
                state.hosted_usage.add(me.id, n);
            }
            Ok(StatusCode::OK.into_response())
        }
        (Method::DELETE, Target::Object(o)) => {
            let r = repository.clone();
            let (size, deleted) = blocking(move || Ok((r.size(&o)?, r.delete(&o)?))).await?;
            match deleted {
                Ok(true) => {
                    state.hosted_usage.remove(me.id, size.unwrap_or(0));
                    Ok(StatusCode::OK.into_response())
                }
                Ok(false) => Ok(StatusCode::OK.into_response()),
                Err(_) => Err(ApiError::forbidden("this app password may only add backups, not delete them (append-only)")),
            }
        }
        _ => Err(ApiError::new(ErrorKind::InvalidInput, "this method does not apply here (restic's REST protocol)")),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> hearth_backup::error::Result<T> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)?.map_err(storage)
}

async fn read(repository: &HostedRepository, o: Object, headers: &HeaderMap) -> Result<Response, ApiError> {
    let r = repository.clone();
    let file = blocking(move || r.open(&o)).await?.ok_or_else(|| ApiError::not_found("no such object"))?;
    let io = |e: std::io::Error| ApiError::new(ErrorKind::of_io(&e), e.to_string());
    let len = file.metadata().map_err(io)?.len();
    crate::byte_range::respond(headers, file, len, "application/octet-stream").await.map_err(io)
}

/// Store `o` from the request's body; the bytes newly kept (`None` when the object was there).
/// `quota` is the most bytes and what is held already.
async fn write(repository: &HostedRepository, o: Object, request: Request, quota: Option<(u64, u64)>) -> Result<Option<u64>, ApiError> {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MOST_BYTES) {
        return Err(ApiError::new(ErrorKind::TooLarge, format!("an object may have at most {MOST_BYTES} bytes")));
    }
    let over = |n: u64| quota.is_some_and(|(most, used)| used.saturating_add(n) > most);
    let full = || {
        ApiError::new(ErrorKind::StorageFull, "your backups on this box have reached their quota (backup.hosted_quota_mib)")
            .with_guidance("forget and prune old snapshots, or ask the box's admin for a larger quota")
    };
    if over(declared.unwrap_or(0)) {
        return Err(full());
    }
    let r = repository.clone();
    let upload = match blocking(move || r.begin(o)).await? {
        Ok(u) => u,
        Err(Refusal::ConfigExists) => return Err(ApiError::forbidden("this repository has a config already")),
        Err(Refusal::AppendOnly) => return Err(ApiError::forbidden("append-only")),
    };
    // The bytes go to disk on the blocking pool as they arrive; the async side only receives.
    // `None` says the body ended whole; a channel closed without it leaves the upload unfinished,
    // and an unfinished upload removes its temporary.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<axum::body::Bytes>>(4);
    let writer = tokio::task::spawn_blocking(move || -> hearth_backup::error::Result<Option<Stored>> {
        let mut upload = upload;
        while let Some(piece) = rx.blocking_recv() {
            match piece {
                Some(bytes) => upload.append(&bytes)?,
                None => return upload.finish().map(Some),
            }
        }
        Ok(None)
    });
    let mut body: Body = request.into_body();
    let mut total = 0u64;
    let mut cut: Option<ApiError> = None;
    use http_body_util::BodyExt as _;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Some(data) = f.data_ref() {
                    total += data.len() as u64;
                    if total > MOST_BYTES {
                        cut = Some(ApiError::new(ErrorKind::TooLarge, format!("an object may have at most {MOST_BYTES} bytes")));
                        break;
                    }
                    if over(total) {
                        cut = Some(full());
                        break;
                    }
                    if tx.send(Some(data.clone())).await.is_err() {
                        break;
                    }
                }
            }
            Err(e) => {
                cut = Some(ApiError::invalid(format!("the upload was cut off: {e}")));
                break;
            }
        }
    }
    if let Some(e) = cut {
        drop(tx);
        let _ = writer.await;
        return Err(e);
    }
    // A writer that stopped early (a full disk) has its error waiting; the end marker then finds
    // no receiver, which is fine.
    let _ = tx.send(None).await;
    drop(tx);
    match writer.await.map_err(ApiError::internal)?.map_err(storage)? {
        Some(Stored::Written) => Ok(Some(total)),
        Some(Stored::AlreadyThere) => Ok(None),
        None => Err(ApiError::internal("the upload ended without a result")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_repositories_listings_and_objects() {
        let name = "a".repeat(64);
        assert_eq!(parse("laptop/").expect("repo"), ("laptop", Target::Repository));
        assert_eq!(parse("laptop").expect("repo"), ("laptop", Target::Repository));
        assert_eq!(parse("laptop/config").expect("config"), ("laptop", Target::Object(Object::Config)));
        assert_eq!(parse("laptop/data/").expect("list"), ("laptop", Target::Listing(FileType::Pack)));
        assert_eq!(
            parse(&format!("laptop/keys/{name}")).expect("key"),
            ("laptop", Target::Object(Object::Named(FileType::Key, name.clone())))
        );
        for bad in [".hidden/config", "../x/config", "a b/config", "laptop/keys/../../x", "laptop/tmp/", "laptop/keys/XYZ", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
