//! A repository on a restic REST server (restic's doc/REST_backend.md, protocol v2), such as
//! `rest-server` or `rclone serve restic`: `rest:http(s)://[user:pass@]host:port/path`.
//!
//! Objects are `/{type}/{name}` (`/config` for the config); `POST` stores, `GET` (with `Range`)
//! reads, `HEAD` gives the size, `DELETE` removes, `GET /{type}/` lists, `POST /?create=true`
//! creates the repository. A write counts as done when the server answered 200: servers that
//! follow the protocol have synced the file by then.

use std::time::Duration;

use super::retry::{Failure, RetryPolicy, classify, read_body, with_retry};
use super::{Backend, FileType};
use crate::crypto::base64_encode;
use crate::error::{BackupError, Result};

/// The most bytes accepted for one object (packs are 16 MiB; config-limited to far less than this).
const MAX_OBJECT: u64 = 512 << 20;
const V2: &str = "application/vnd.x.restic.rest.v2";

/// A REST server repository.
pub struct Rest {
    base: String,
    shown: String,
    auth: Option<String>,
    agent: ureq::Agent,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rest({})", self.shown)
    }
}

fn agent(tls: Option<std::sync::Arc<rustls::ClientConfig>>) -> ureq::Agent {
    let mut b = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(120))
        .timeout_write(Duration::from_secs(120));
    if let Some(tls) = tls {
        b = b.tls_config(tls);
    }
    b.build()
}

impl Rest {
    /// Parse `http(s)://[user:pass@]host[:port]/path` (the part after `rest:`).
    pub fn new(url: &str) -> Result<Rest> {
        let mut u = url::Url::parse(url).map_err(|e| BackupError::Invalid(format!("rest:{url}: not a URL ({e})")))?;
        if u.scheme() != "http" && u.scheme() != "https" {
            return Err(BackupError::Invalid(format!("rest:{url}: the URL must start with http:// or https://")));
        }
        let auth = if u.username().is_empty() {
            None
        } else {
            let user = percent_decode(u.username());
            let pass = percent_decode(u.password().unwrap_or(""));
            Some(format!("Basic {}", base64_encode(format!("{user}:{pass}").as_bytes())))
        };
        let _ = u.set_username("");
        let _ = u.set_password(None);
        let mut base = u.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Rest { shown: format!("rest:{base}"), base, auth, agent: agent(None), retry: RetryPolicy::default() })
    }

    /// Authenticate with these credentials (instead of any in the URL).
    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.auth = Some(format!("Basic {}", base64_encode(format!("{user}:{password}").as_bytes())));
        self
    }

    /// Connect with this TLS configuration (another Hearth's pinned certificate) instead of the
    /// web's certificate authorities.
    pub fn with_tls(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.agent = agent(Some(tls));
        self
    }

    /// Use another retry policy (tests).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn url(&self, t: FileType, name: &str) -> Result<String> {
        if t == FileType::Config {
            return Ok(format!("{}config", self.base));
        }
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BackupError::Invalid(format!("{name:?} is not an object name")));
        }
        Ok(format!("{}{}/{name}", self.base, t.dir()))
    }

    fn req(&self, method: &str, url: &str) -> ureq::Request {
        let r = self.agent.request(method, url);
        match &self.auth {
            Some(a) => r.set("Authorization", a),
            None => r,
        }
    }

    fn what(t: FileType, name: &str) -> String {
        if t == FileType::Config { "config".into() } else { format!("{}/{name}", t.dir()) }
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

impl Backend for Rest {
    fn location(&self) -> String {
        self.shown.clone()
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn exists(&self) -> Result<bool> {
        let url = self.url(FileType::Config, "")?;
        with_retry(self.retry, "config", || match self.req("HEAD", &url).call() {
            Ok(_) => Ok(true),
            Err(ureq::Error::Status(404, _)) => Ok(false),
            Err(e) => Err(classify("config", e)),
        })
    }

    fn create(&self) -> Result<()> {
        let url = format!("{}?create=true", self.base);
        with_retry(self.retry, &self.shown, || self.req("POST", &url).send_bytes(&[]).map(|_| ()).map_err(|e| classify(&self.shown, e)))
    }

    fn list(&self, t: FileType) -> Result<Vec<String>> {
        let url = format!("{}{}/", self.base, t.dir());
        let what = format!("the list of {}/", t.dir());
        let mut body = Vec::new();
        with_retry(self.retry, &what, || {
            let resp = self.req("GET", &url).set("Accept", V2).call();
            match resp {
                Ok(r) => read_body(&what, r, &mut body, MAX_OBJECT),
                // A folder that was never written to is an empty list on some servers.
                Err(ureq::Error::Status(404, _)) => {
                    body = b"[]".to_vec();
                    Ok(())
                }
                Err(e) => Err(classify(&what, e)),
            }
        })?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| BackupError::Invalid(format!("{}: {what} is not JSON: {e}", self.shown)))?;
        let items = v.as_array().ok_or_else(|| BackupError::Invalid(format!("{}: {what} is not a list", self.shown)))?;
        // v2 gives {"name", "size"}; v1 plain names.
        Ok(items
            .iter()
            .filter_map(|i| i.get("name").and_then(|n| n.as_str()).or_else(|| i.as_str()))
            .filter(|n| t != FileType::Config && n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string)
            .collect())
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let url = self.url(t, name)?;
        let what = Self::what(t, name);
        let mut buf = Vec::new();
        with_retry(self.retry, &what, || match self.req("GET", &url).call() {
            Ok(r) => read_body(&what, r, &mut buf, MAX_OBJECT),
            Err(e) => Err(classify(&what, e)),
        })?;
        Ok(buf)
    }

    fn read_range(&self, t: FileType, name: &str, offset: u64, length: u32) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_range_into(t, name, offset, length, &mut buf)?;
        Ok(buf)
    }

    fn read_range_into(&self, t: FileType, name: &str, offset: u64, length: u32, buf: &mut Vec<u8>) -> Result<()> {
        let url = self.url(t, name)?;
        let what = Self::what(t, name);
        if length == 0 {
            buf.clear();
            return Ok(());
        }
        let range = format!("bytes={}-{}", offset, offset + u64::from(length) - 1);
        with_retry(self.retry, &what, || match self.req("GET", &url).set("Range", &range).call() {
            Ok(r) => {
                let partial = r.status() == 206;
                read_body(&what, r, buf, if partial { u64::from(length) } else { MAX_OBJECT })?;
                if !partial {
                    // A server that ignores Range sends the whole object.
                    let end = (offset + u64::from(length)).min(buf.len() as u64) as usize;
                    let start = (offset as usize).min(end);
                    buf.truncate(end);
                    buf.drain(..start);
                }
                Ok(())
            }
            Err(e) => Err(classify(&what, e)),
        })?;
        if buf.len() != length as usize {
            return Err(BackupError::damaged(t.dir(), name, format!("short read: {} of {length} bytes at {offset}", buf.len())));
        }
        Ok(())
    }

    fn size(&self, t: FileType, name: &str) -> Result<u64> {
        let url = self.url(t, name)?;
        let what = Self::what(t, name);
        with_retry(self.retry, &what, || match self.req("HEAD", &url).call() {
            Ok(r) => r
                .header("Content-Length")
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| Failure::Permanent(BackupError::Invalid(format!("{what}: the server gave no Content-Length")))),
            Err(e) => Err(classify(&what, e)),
        })
    }

    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> Result<()> {
        let url = self.url(t, name)?;
        let what = Self::what(t, name);
        with_retry(self.retry, &what, || {
            self.req("POST", &url)
                .set("Content-Type", "application/octet-stream")
                .send_bytes(bytes)
                .map(|_| ())
                .map_err(|e| classify(&what, e))
        })
    }

    fn remove(&self, t: FileType, name: &str) -> Result<()> {
        let url = self.url(t, name)?;
        let what = Self::what(t, name);
        with_retry(self.retry, &what, || match self.req("DELETE", &url).call() {
            // Gone already (a retried delete whose first answer was lost): done.
            Ok(_) | Err(ureq::Error::Status(404, _)) => Ok(()),
            Err(e) => Err(classify(&what, e)),
        })
    }
}
