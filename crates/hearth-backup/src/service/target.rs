//! Backup targets: where a job's repository lives, as the owner describes it, checked before it
//! is saved. Four kinds: a folder on a disk the box has mounted (a USB disk), another Hearth
//! (its restic REST endpoints over HTTPS, an app password, its certificate pinned), S3-compatible
//! storage, and any restic REST server. What is secret (passwords, keys) is kept apart in
//! [`TargetSecret`] and stored sealed ([`super::credentials`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::backup_key::BackupPassword;
use super::pinned_tls;
use crate::backend::retry::RetryPolicy;
use crate::backend::{Backend, local::Local, rest::Rest, s3::S3};

/// Retries while someone waits for a connection test.
const CONNECTION_TEST: RetryPolicy =
    RetryPolicy { attempts: 3, first_delay: std::time::Duration::from_millis(250), max_delay: std::time::Duration::from_secs(1) };
use crate::crypto::{Cipher, cpu_has_aes};
use crate::error::{BackupError, Result};
use crate::keyfile::Kdf;
use crate::repository::Repository;
use hearth_catalog::backups::TargetKind;

/// Where a repository is, without secrets (stored as the target's `spec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum TargetSpec {
    /// A folder (made if missing) on a mounted disk.
    Folder {
        /// Absolute path of the repository folder.
        path: PathBuf,
    },
    /// A restic REST server: `http(s)://host[:port]/path`.
    Rest {
        /// The repository's URL, without credentials.
        url: String,
        /// The user name, when the server asks for one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
    /// Another Hearth.
    Hearth {
        /// The other box's address: `https://name.local[:port]`.
        address: String,
        /// The account on the other box whose app password this box uses.
        user: String,
        /// The repository's name under that account (`/restic/<user>/<repository>/`).
        repository: String,
        /// The pinned certificate (hex SHA-256, as the other box's Box page shows it).
        cert_sha256: String,
    },
    /// S3-compatible storage.
    S3 {
        /// `https://host[:port]` of the service.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// A folder inside the bucket (may be empty).
        #[serde(default)]
        prefix: String,
        /// The region (`us-east-1` when the service does not care).
        #[serde(default = "default_region")]
        region: String,
        /// The access key id.
        access_key_id: String,
    },
}

fn default_region() -> String {
    "us-east-1".into()
}

/// The secret half of a target (sealed in the catalog; never returned by the API).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSecret {
    /// The REST server's or the other Hearth's (app) password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The S3 secret access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for TargetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TargetSecret(..)")
    }
}

fn check_url(what: &str, url: &str, https_only: bool) -> Result<url::Url> {
    let u = url::Url::parse(url).map_err(|e| BackupError::Invalid(format!("{what} {url:?} is not a URL ({e})")))?;
    let ok_scheme = u.scheme() == "https" || (!https_only && u.scheme() == "http");
    if !ok_scheme || u.host_str().is_none_or(str::is_empty) {
        let want = if https_only { "https://" } else { "http:// or https://" };
        return Err(BackupError::Invalid(format!("{what} {url:?} must start with {want} and name a host")));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(BackupError::Invalid(format!("{what}: give the user and password in their own fields, not in the URL")));
    }
    Ok(u)
}

fn path_segment(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty() && s.len() <= 64 && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok { Ok(()) } else { Err(BackupError::Invalid(format!("{what} {s:?}: use 1 to 64 letters, digits, '.', '_' or '-'"))) }
}

/// A certificate digest as people copy it (`AB:CD:…` or `abcd…`), as 64 lowercase hex digits.
pub fn normalize_fingerprint(s: &str) -> Result<String> {
    let hex: String = s.chars().filter(|c| !matches!(c, ':' | ' ' | '-')).collect::<String>().to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(BackupError::Invalid(format!("{s:?} is not a certificate fingerprint (64 hex digits, SHA-256)")))
    }
}

impl TargetSpec {
    /// The catalog's kind.
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetSpec::Folder { .. } => TargetKind::Folder,
            TargetSpec::Rest { .. } => TargetKind::Rest,
            TargetSpec::Hearth { .. } => TargetKind::Hearth,
            TargetSpec::S3 { .. } => TargetKind::S3,
        }
    }

    /// Check the fields (not the connection) and put them in their canonical form.
    pub fn validated(self, secret: &TargetSecret) -> Result<TargetSpec> {
        Ok(match self {
            TargetSpec::Folder { path } => {
                if !path.is_absolute() {
                    return Err(BackupError::Invalid(format!("the folder {} must be an absolute path", path.display())));
                }
                TargetSpec::Folder { path }
            }
            TargetSpec::Rest { url, user } => {
                check_url("the REST server's URL", &url, false)?;
                if user.is_some() != secret.password.is_some() {
                    return Err(BackupError::Invalid("a REST server's user and password go together: give both or neither".into()));
                }
                TargetSpec::Rest { url, user: user.filter(|u| !u.is_empty()) }
            }
            TargetSpec::Hearth { address, user, repository, cert_sha256 } => {
                let u = check_url("the other box's address", &address, true)?;
                path_segment("the user", &user)?;
                path_segment("the repository name", &repository)?;
                if secret.password.as_deref().is_none_or(str::is_empty) {
                    return Err(BackupError::Invalid("another Hearth needs an app password of that user (made on its Family page)".into()));
                }
                let origin = u.origin().ascii_serialization();
                TargetSpec::Hearth { address: origin, user, repository, cert_sha256: normalize_fingerprint(&cert_sha256)? }
            }
            TargetSpec::S3 { endpoint, bucket, prefix, region, access_key_id } => {
                check_url("the S3 endpoint", &endpoint, false)?;
                let bucket_ok = (3..=63).contains(&bucket.len())
                    && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
                if !bucket_ok {
                    return Err(BackupError::Invalid(format!("{bucket:?} is not a bucket name (3 to 63 of a-z, 0-9, '-', '.')")));
                }
                let prefix = prefix.trim_matches('/').to_string();
                if prefix.split('/').any(|p| p == ".." || p == ".") {
                    return Err(BackupError::Invalid(format!("the prefix {prefix:?} may not contain . or ..")));
                }
                if access_key_id.is_empty() || secret.secret_access_key.as_deref().is_none_or(str::is_empty) {
                    return Err(BackupError::Invalid("S3 needs an access key id and its secret key".into()));
                }
                TargetSpec::S3 { endpoint: endpoint.trim_end_matches('/').to_string(), bucket, prefix, region, access_key_id }
            }
        })
    }

    /// Where, for people (no secrets).
    pub fn location(&self) -> String {
        match self {
            TargetSpec::Folder { path } => path.display().to_string(),
            TargetSpec::Rest { url, .. } => url.clone(),
            TargetSpec::Hearth { address, user, repository, .. } => format!("{address}/restic/{user}/{repository}/"),
            TargetSpec::S3 { endpoint, bucket, prefix, .. } => format!("{endpoint}/{bucket}/{prefix}"),
        }
    }

    /// The folder of a folder target (a backup of the box leaves it out).
    pub fn local_path(&self) -> Option<&Path> {
        match self {
            TargetSpec::Folder { path } => Some(path),
            _ => None,
        }
    }

    /// The storage, ready to use, retrying network failures for about a minute.
    pub fn open(&self, secret: &TargetSecret) -> Result<Arc<dyn Backend>> {
        self.open_with(secret, RetryPolicy::default())
    }

    /// The storage, retrying network failures by `retry`.
    pub fn open_with(&self, secret: &TargetSecret, retry: RetryPolicy) -> Result<Arc<dyn Backend>> {
        Ok(match self {
            TargetSpec::Folder { path } => Arc::new(Local::new(path.clone())),
            TargetSpec::Rest { url, user } => {
                let mut r = Rest::new(url)?;
                if let (Some(u), Some(p)) = (user, &secret.password) {
                    r = r.with_credentials(u, p);
                }
                Arc::new(r.with_retry(retry))
            }
            TargetSpec::Hearth { address, user, repository, cert_sha256 } => {
                let url = format!("{address}/restic/{user}/{repository}/");
                let password = secret.password.as_deref().unwrap_or("");
                Arc::new(
                    Rest::new(&url)?.with_credentials(user, password).with_tls(pinned_tls::pinned_config(cert_sha256)).with_retry(retry),
                )
            }
            TargetSpec::S3 { endpoint, bucket, prefix, region, access_key_id } => {
                let creds = rusty_s3::Credentials::new(access_key_id.clone(), secret.secret_access_key.clone().unwrap_or_default());
                let spec = if prefix.is_empty() { format!("{endpoint}/{bucket}") } else { format!("{endpoint}/{bucket}/{prefix}") };
                Arc::new(S3::with_credentials(&spec, creds, region.clone())?.with_retry(retry))
            }
        })
    }
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepositoryState {
    /// Nothing there yet: saving the target makes the repository.
    Empty,
    /// A repository this box's backup password opens (a box restored onto a new card finds its
    /// old backups this way).
    Opens,
}

/// Learn the certificate another Hearth presents at `address`, without sending anything secret:
/// the owner compares it with the fingerprint on the other box's Box page before pinning it.
pub fn observe_certificate(address: &str) -> Result<String> {
    let u = check_url("the other box's address", address, true)?;
    let (tls, seen) = pinned_tls::observing_config();
    let agent = ureq::AgentBuilder::new()
        .tls_config(tls)
        .timeout_connect(std::time::Duration::from_secs(10))
        .timeout_read(std::time::Duration::from_secs(20))
        .build();
    let url = format!("{}/api/health", u.origin().ascii_serialization());
    match agent.get(&url).call() {
        Ok(_) | Err(ureq::Error::Status(..)) => {}
        Err(e) => return Err(BackupError::io(url.clone(), std::io::Error::other(format!("cannot reach the other box: {e}")))),
    }
    seen.observed().ok_or_else(|| BackupError::Invalid(format!("{url} presented no certificate")))
}

/// Connect, and open the repository there with `password` if there is one. A repository that
/// the password does not open is refused: it belongs to someone else (or another key).
pub fn probe(spec: &TargetSpec, secret: &TargetSecret, password: &BackupPassword) -> Result<RepositoryState> {
    if let TargetSpec::Folder { path } = spec {
        check_folder(path)?;
    }
    // Someone is waiting for the answer: a few quick tries, not a minute of them.
    let backend = spec.open_with(secret, CONNECTION_TEST)?;
    if !backend.exists()? {
        // Listing proves the credentials before anything is written.
        match backend.list(crate::backend::FileType::Key) {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
        return Ok(RepositoryState::Empty);
    }
    match Repository::open_without_index(backend, password.as_bytes()) {
        Ok(_) => Ok(RepositoryState::Opens),
        Err(BackupError::WrongPassword) => Err(BackupError::Invalid(format!(
            "{} holds a backup repository that this box's backup password does not open; choose another place",
            spec.location()
        ))),
        Err(e) => Err(e),
    }
}

fn is_not_found(e: &BackupError) -> bool {
    matches!(e, BackupError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
        || matches!(e, BackupError::NoRepository(_))
}

/// A folder target's disk must be there: its parent folder exists (the repository folder itself
/// is made), so a USB disk that is not mounted is not silently replaced by the card.
fn check_folder(path: &Path) -> Result<()> {
    let parent = path.parent().unwrap_or(path);
    let meta = std::fs::metadata(parent).map_err(|e| BackupError::io(parent.display().to_string(), e))?;
    if !meta.is_dir() {
        return Err(BackupError::Invalid(format!("{} is not a folder", parent.display())));
    }
    Ok(())
}

/// Make the repository if the target is empty (its key wrapped with `kdf`, [`Kdf::standard`]
/// outside tests); open it otherwise. The new repository's cipher
/// suits this CPU (AES-256-GCM with AES instructions, ChaCha20-Poly1305 without).
pub fn ensure_repository(spec: &TargetSpec, secret: &TargetSecret, password: &BackupPassword, kdf: Kdf) -> Result<RepositoryState> {
    let state = probe(spec, secret, password)?;
    if state == RepositoryState::Empty {
        let backend = spec.open(secret)?;
        match Repository::init(backend, password.as_bytes(), Cipher::for_cpu(cpu_has_aes()), kdf) {
            Ok(_) => {}
            // Made by a second request at the same moment: it must open with our password.
            Err(BackupError::AlreadyExists(_)) => {
                probe(spec, secret, password)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(pw: &str) -> TargetSecret {
        TargetSecret { password: Some(pw.into()), secret_access_key: None }
    }

    #[test]
    fn specs_are_checked_and_made_canonical() {
        let none = TargetSecret::default();
        assert!(TargetSpec::Folder { path: "relative".into() }.validated(&none).is_err());
        assert!(TargetSpec::Rest { url: "ftp://x/".into(), user: None }.validated(&none).is_err());
        assert!(TargetSpec::Rest { url: "http://u:p@x/".into(), user: None }.validated(&none).is_err());
        assert!(TargetSpec::Rest { url: "http://x/".into(), user: Some("u".into()) }.validated(&none).is_err());
        let hearth = |address: &str, repository: &str| TargetSpec::Hearth {
            address: address.into(),
            user: "ada".into(),
            repository: repository.into(),
            cert_sha256: "AB:".repeat(31) + "AB",
        };
        let h = hearth("https://other.local:8443/some/path", "hearth-box");
        let ok = h.clone().validated(&secret("app-pass")).expect("valid");
        let TargetSpec::Hearth { address, cert_sha256, .. } = &ok else { panic!("kind") };
        assert_eq!(address, "https://other.local:8443");
        assert_eq!(cert_sha256, &"ab".repeat(32));
        assert_eq!(ok.location(), "https://other.local:8443/restic/ada/hearth-box/");
        assert!(h.validated(&none).is_err(), "needs the app password");
        assert!(hearth("http://other.local", "hearth-box").validated(&secret("p")).is_err(), "https only");
        assert!(hearth("https://other.local", "../x").validated(&secret("p")).is_err());
        let s3 = TargetSpec::S3 {
            endpoint: "http://127.0.0.1:9000/".into(),
            bucket: "Bad_Bucket".into(),
            prefix: String::new(),
            region: default_region(),
            access_key_id: "k".into(),
        };
        let s3_secret = TargetSecret { password: None, secret_access_key: Some("s".into()) };
        assert!(s3.clone().validated(&s3_secret).is_err());
        let s3 = TargetSpec::S3 {
            endpoint: "http://127.0.0.1:9000/".into(),
            bucket: "family".into(),
            prefix: "/box/".into(),
            region: default_region(),
            access_key_id: "k".into(),
        };
        let TargetSpec::S3 { endpoint, prefix, .. } = s3.validated(&s3_secret).expect("valid") else { panic!("kind") };
        assert_eq!((endpoint.as_str(), prefix.as_str()), ("http://127.0.0.1:9000", "box"));
    }

    #[test]
    fn the_spec_json_round_trips_and_refuses_unknown_fields() {
        let spec = TargetSpec::Folder { path: "/mnt/usb/hearth".into() };
        let json = serde_json::to_string(&spec).expect("json");
        assert_eq!(json, r#"{"kind":"folder","path":"/mnt/usb/hearth"}"#);
        assert_eq!(serde_json::from_str::<TargetSpec>(&json).expect("back"), spec);
        assert!(serde_json::from_str::<TargetSpec>(r#"{"kind":"folder","path":"/x","password":"p"}"#).is_err());
    }

    #[test]
    fn a_folder_target_is_made_once_and_a_foreign_repository_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = TargetSpec::Folder { path: dir.path().join("repo") };
        let none = TargetSecret::default();
        let pw = BackupPassword::chosen("correct horse battery").expect("pw");
        assert_eq!(probe(&spec, &none, &pw).expect("probe"), RepositoryState::Empty);
        assert_eq!(ensure_repository(&spec, &none, &pw, Kdf::for_tests().expect("kdf")).expect("make"), RepositoryState::Empty);
        assert_eq!(ensure_repository(&spec, &none, &pw, Kdf::for_tests().expect("kdf")).expect("again"), RepositoryState::Opens);
        let other = BackupPassword::chosen("another long password").expect("pw");
        let e = probe(&spec, &none, &other).expect_err("foreign");
        assert!(e.to_string().contains("does not open"), "{e}");
        let unmounted = TargetSpec::Folder { path: dir.path().join("not-mounted/repo") };
        assert!(probe(&unmounted, &none, &pw).is_err(), "a missing disk is not replaced by a new folder");
    }
}
