//! A repository in an S3-compatible bucket: `s3:http(s)://host[:port]/bucket[/prefix]` (or
//! restic's `s3:host/bucket/prefix`, which means https). Requests are signed with AWS SigV4 as
//! presigned URLs (rusty-s3) and sent with the same blocking HTTP client as the REST backend.
//!
//! Objects are `prefix/config`, `prefix/{type}/{name}` (packs too, without restic's two-hex
//! subfolders: object stores have no folder limits). Credentials come from `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`); the region from `AWS_DEFAULT_REGION` or
//! `AWS_REGION` (default `us-east-1`). A PUT counts as done when S3 answered 200 (S3 stores
//! durably before it answers).

use std::time::Duration;

use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use super::retry::{Failure, RetryPolicy, classify, read_body, with_retry};
use super::{Backend, FileType};
use crate::error::{BackupError, Result};

const MAX_OBJECT: u64 = 512 << 20;
/// How long a presigned URL is valid: it is used at once, retries included.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);

/// An S3 bucket (and prefix).
pub struct S3 {
    bucket: Bucket,
    creds: Credentials,
    prefix: String,
    shown: String,
    agent: ureq::Agent,
    retry: RetryPolicy,
}

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3({})", self.shown)
    }
}

impl S3 {
    /// Parse the part after `s3:`; credentials from the environment.
    pub fn new(spec: &str) -> Result<S3> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) else {
            return Err(BackupError::Invalid(
                "an s3: repository needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment".into(),
            ));
        };
        let creds = match env("AWS_SESSION_TOKEN") {
            Some(t) => Credentials::new_with_token(key, secret, t),
            None => Credentials::new(key, secret),
        };
        let region = env("AWS_DEFAULT_REGION").or_else(|| env("AWS_REGION")).unwrap_or_else(|| "us-east-1".into());
        S3::with_credentials(spec, creds, region)
    }

    /// Parse the part after `s3:` with explicit credentials.
    pub fn with_credentials(spec: &str, creds: Credentials, region: String) -> Result<S3> {
        let full = if spec.starts_with("http://") || spec.starts_with("https://") { spec.to_string() } else { format!("https://{spec}") };
        let bad = |why: &str| BackupError::Invalid(format!("s3:{spec}: {why}; write s3:https://HOST[:PORT]/BUCKET[/PREFIX]"));
        let url = url::Url::parse(&full).map_err(|e| bad(&e.to_string()))?;
        let mut parts = url.path().trim_matches('/').splitn(2, '/');
        let bucket_name = parts.next().filter(|b| !b.is_empty()).ok_or_else(|| bad("no bucket"))?.to_string();
        let prefix = parts.next().map(|p| format!("{}/", p.trim_matches('/'))).filter(|p| p != "/").unwrap_or_default();
        let mut endpoint = url.clone();
        endpoint.set_path("/");
        let bucket = Bucket::new(endpoint, UrlStyle::Path, bucket_name.clone(), region).map_err(|e| bad(&e.to_string()))?;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(120))
            .timeout_write(Duration::from_secs(120))
            .build();
        let shown = format!("s3:{}://{}/{bucket_name}/{prefix}", url.scheme(), url.host_str().unwrap_or(""));
        Ok(S3 { bucket, creds, prefix, shown, agent, retry: RetryPolicy::default() })
    }

    /// Use another retry policy (tests).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn key(&self, t: FileType, name: &str) -> Result<String> {
        if t == FileType::Config {
            return Ok(format!("{}config", self.prefix));
        }
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BackupError::Invalid(format!("{name:?} is not an object name")));
        }
        Ok(format!("{}{}/{name}", self.prefix, t.dir()))
    }

    fn what(t: FileType, name: &str) -> String {
        if t == FileType::Config { "config".into() } else { format!("{}/{name}", t.dir()) }
    }
}

impl Backend for S3 {
    fn location(&self) -> String {
        self.shown.clone()
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn exists(&self) -> Result<bool> {
        let key = self.key(FileType::Config, "")?;
        with_retry(self.retry, "config", || {
            let url = self.bucket.head_object(Some(&self.creds), &key).sign(SIGNED_FOR);
            match self.agent.head(url.as_str()).call() {
                Ok(_) => Ok(true),
                Err(ureq::Error::Status(404, _)) => Ok(false),
                Err(e) => Err(classify("config", e)),
            }
        })
    }

    fn create(&self) -> Result<()> {
        let what = format!("bucket {}", self.bucket.name());
        let exists = with_retry(self.retry, &what, || {
            let url = self.bucket.head_bucket(Some(&self.creds)).sign(SIGNED_FOR);
            match self.agent.head(url.as_str()).call() {
                Ok(_) => Ok(true),
                Err(ureq::Error::Status(404, _)) => Ok(false),
                Err(e) => Err(classify(&what, e)),
            }
        })?;
        if exists {
            return Ok(());
        }
        with_retry(self.retry, &what, || {
            let url = self.bucket.create_bucket(&self.creds).sign(SIGNED_FOR);
            match self.agent.put(url.as_str()).send_bytes(&[]) {
                // Made by a retried request whose first answer was lost: fine.
                Ok(_) | Err(ureq::Error::Status(409, _)) => Ok(()),
                Err(e) => Err(classify(&what, e)),
            }
        })
    }

    fn list(&self, t: FileType) -> Result<Vec<String>> {
        let prefix = format!("{}{}/", self.prefix, t.dir());
        let what = format!("the list of {}/", t.dir());
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        let mut body = Vec::new();
        loop {
            with_retry(self.retry, &what, || {
                let mut action = self.bucket.list_objects_v2(Some(&self.creds));
                action.with_prefix(prefix.as_str());
                if let Some(t) = &token {
                    action.with_continuation_token(t.as_str());
                }
                let url = action.sign(SIGNED_FOR);
                match self.agent.get(url.as_str()).call() {
                    Ok(r) => read_body(&what, r, &mut body, 64 << 20),
                    Err(e) => Err(classify(&what, e)),
                }
            })?;
            let page = ListObjectsV2::parse_response(&body)
                .map_err(|e| BackupError::Invalid(format!("{}: {what} is not a valid answer: {e}", self.shown)))?;
            for c in page.contents {
                if let Some(name) = c.key.strip_prefix(&prefix)
                    && name.len() == 64
                    && name.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    names.push(name.to_string());
                }
            }
            match page.next_continuation_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        Ok(names)
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let key = self.key(t, name)?;
        let what = Self::what(t, name);
        let mut buf = Vec::new();
        with_retry(self.retry, &what, || {
            let url = self.bucket.get_object(Some(&self.creds), &key).sign(SIGNED_FOR);
            match self.agent.get(url.as_str()).call() {
                Ok(r) => read_body(&what, r, &mut buf, MAX_OBJECT),
                Err(e) => Err(classify(&what, e)),
            }
        })?;
        Ok(buf)
    }

    fn read_range(&self, t: FileType, name: &str, offset: u64, length: u32) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_range_into(t, name, offset, length, &mut buf)?;
        Ok(buf)
    }

    fn read_range_into(&self, t: FileType, name: &str, offset: u64, length: u32, buf: &mut Vec<u8>) -> Result<()> {
        let key = self.key(t, name)?;
        let what = Self::what(t, name);
        buf.clear();
        if length == 0 {
            return Ok(());
        }
        let range = format!("bytes={}-{}", offset, offset + u64::from(length) - 1);
        with_retry(self.retry, &what, || {
            let url = self.bucket.get_object(Some(&self.creds), &key).sign(SIGNED_FOR);
            match self.agent.get(url.as_str()).set("Range", &range).call() {
                Ok(r) if r.status() == 206 => read_body(&what, r, buf, u64::from(length)),
                Ok(_) => Err(Failure::Permanent(BackupError::Invalid(format!("{what}: the server ignored the byte range")))),
                Err(e) => Err(classify(&what, e)),
            }
        })?;
        if buf.len() != length as usize {
            return Err(BackupError::damaged(t.dir(), name, format!("short read: {} of {length} bytes at {offset}", buf.len())));
        }
        Ok(())
    }

    fn size(&self, t: FileType, name: &str) -> Result<u64> {
        let key = self.key(t, name)?;
        let what = Self::what(t, name);
        with_retry(self.retry, &what, || {
            let url = self.bucket.head_object(Some(&self.creds), &key).sign(SIGNED_FOR);
            match self.agent.head(url.as_str()).call() {
                Ok(r) => r
                    .header("Content-Length")
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| Failure::Permanent(BackupError::Invalid(format!("{what}: no Content-Length")))),
                Err(e) => Err(classify(&what, e)),
            }
        })
    }

    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> Result<()> {
        let key = self.key(t, name)?;
        let what = Self::what(t, name);
        with_retry(self.retry, &what, || {
            let url = self.bucket.put_object(Some(&self.creds), &key).sign(SIGNED_FOR);
            self.agent.put(url.as_str()).send_bytes(bytes).map(|_| ()).map_err(|e| classify(&what, e))
        })
    }

    fn remove(&self, t: FileType, name: &str) -> Result<()> {
        let key = self.key(t, name)?;
        let what = Self::what(t, name);
        with_retry(self.retry, &what, || {
            let url = self.bucket.delete_object(Some(&self.creds), &key).sign(SIGNED_FOR);
            match self.agent.delete(url.as_str()).call() {
                Ok(_) | Err(ureq::Error::Status(404, _)) => Ok(()),
                Err(e) => Err(classify(&what, e)),
            }
        })
    }
}
