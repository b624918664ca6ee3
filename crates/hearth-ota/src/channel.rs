//! Update channels (docs/updates.md, "Channels"): a static JSON index beside the bundles, on any
//! web server; no update server of ours. The index only says where to look: what gets installed
//! is decided by the bundle's signed manifest, which must agree with the index entry.
//!
//! Downloads are HTTP `Range` requests: the bundle's start, then only the runs of chunks the
//! running slot does not hold ([`DeltaSource`]). A server that ignores `Range` gets the whole
//! bundle read front to back instead.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;

use crate::bundle::payload;
use crate::bundle::{HEADER_LEN, SIGNATURE_LEN, head};
use crate::chunker::ChunkerParams;
use crate::error::{OtaError, Result};
use crate::keys::TrustedKeys;
use crate::manifest::StoreEntry;
use crate::slot::ChunkSource;
use crate::version::Version;

/// The longest index read.
pub const MAX_INDEX: u64 = 1 << 20;
/// Tries of one ranged request before the download fails.
const TRIES: u32 = 4;

/// One update an index offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Its version.
    pub version: Version,
    /// The boards it is for.
    pub boards: Vec<String>,
    /// The bundle's address (resolved against the index's).
    pub bundle: url::Url,
    /// The bundle's length, when the index says.
    pub size: Option<u64>,
    /// Release notes, when the index has them.
    pub notes: String,
}

#[derive(Deserialize)]
struct RawIndex {
    format: u32,
    updates: Vec<RawOffer>,
}

#[derive(Deserialize)]
struct RawOffer {
    version: String,
    boards: Vec<String>,
    bundle: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    notes: String,
}

/// A channel's address, checked: `http://` or `https://`, no credentials in it.
pub fn channel_url(text: &str) -> Result<url::Url> {
    let url = url::Url::parse(text).map_err(|_| OtaError::Channel(format!("{:?} is not an address", clip(text))))?;
    check_url(&url)?;
    Ok(url)
}

fn check_url(url: &url::Url) -> Result<()> {
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(OtaError::Channel(format!("{} is not an http:// or https:// address", clip(url.as_str()))));
    }
    if !url.username().is_empty() || url.password().is_some() || url.host_str().is_none() {
        return Err(OtaError::Channel(format!("{} carries credentials or no host", clip(url.as_str()))));
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Parse an index fetched from `base`.
pub fn parse_index(base: &url::Url, bytes: &[u8]) -> Result<Vec<Offer>> {
    let raw: RawIndex = serde_json::from_slice(bytes).map_err(|e| OtaError::Channel(format!("the index is not valid: {e}")))?;
    if raw.format != 1 {
        return Err(OtaError::Channel(format!("the index has format {}; this system reads format 1", raw.format)));
    }
    if raw.updates.len() > 1000 {
        return Err(OtaError::Channel("the index lists more than 1000 updates".into()));
    }
    raw.updates
        .into_iter()
        .map(|o| {
            let version = o.version.parse().map_err(|e| OtaError::Channel(format!("the index: {e}")))?;
            let bundle =
                base.join(&o.bundle).map_err(|_| OtaError::Channel(format!("the index names a bundle at {:?}", clip(&o.bundle))))?;
            check_url(&bundle)?;
            if o.notes.len() > crate::manifest::MAX_NOTES || o.boards.iter().any(|b| b.len() > 64) {
                return Err(OtaError::Channel("the index has overlong notes or board names".into()));
            }
            Ok(Offer { version, boards: o.boards, bundle, size: o.size, notes: o.notes })
        })
        .collect()
}

/// The newest offer for `board` that is newer than `running`.
pub fn newest_for<'a>(offers: &'a [Offer], board: &str, running: &Version) -> Option<&'a Offer> {
    offers.iter().filter(|o| o.boards.iter().any(|b| b == board) && o.version > *running).max_by(|a, b| a.version.cmp(&b.version))
}

/// An HTTP client for channels.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("channel::Client")
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

/// What a ranged request got.
enum Ranged {
    /// 206: the range asked for.
    Part(Box<dyn Read + Send>),
    /// 200: the server sent the whole file from its start.
    Whole(Box<dyn Read + Send>),
}

fn download_error(url: &url::Url, e: ureq::Error) -> OtaError {
    match e {
        ureq::Error::Status(code, _) => OtaError::Download(format!("{} answered {code}", clip(url.as_str()))),
        ureq::Error::Transport(t) => OtaError::Download(format!("{}: {}", clip(url.as_str()), t.kind())),
    }
}

impl Client {
    /// A client with the timeouts a slow line needs.
    pub fn new() -> Client {
        Client {
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(15))
                .timeout_read(Duration::from_secs(60))
                .redirects(3)
                .build(),
        }
    }

    /// The offers of the index at `url`.
    pub fn index(&self, url: &url::Url) -> Result<Vec<Offer>> {
        let r = self.agent.request_url("GET", url).call().map_err(|e| download_error(url, e))?;
        let mut bytes = Vec::new();
        r.into_reader().take(MAX_INDEX + 1).read_to_end(&mut bytes).map_err(|e| OtaError::Download(format!("the index: {e}")))?;
        if bytes.len() as u64 > MAX_INDEX {
            return Err(OtaError::Channel("the index is larger than 1 MiB".into()));
        }
        parse_index(url, &bytes)
    }

    fn range(&self, url: &url::Url, start: u64, end_inclusive: u64) -> Result<Ranged> {
        let r = self
            .agent
            .request_url("GET", url)
            .set("Range", &format!("bytes={start}-{end_inclusive}"))
            .call()
            .map_err(|e| download_error(url, e))?;
        match r.status() {
            206 => {
                let expect = format!("bytes {start}-{end_inclusive}/");
                if !r.header("Content-Range").is_some_and(|c| c.starts_with(&expect)) {
                    return Err(OtaError::Download(format!("{} sent another range than asked", clip(url.as_str()))));
                }
                Ok(Ranged::Part(Box::new(r.into_reader().take(end_inclusive - start + 1))))
            }
            200 => Ok(Ranged::Whole(Box::new(r.into_reader()))),
            other => Err(OtaError::Download(format!("{} answered {other}", clip(url.as_str())))),
        }
    }

    /// `len` bytes at `start`, with the server's whole-file answer cut to them.
    fn bytes_at(&self, url: &url::Url, start: u64, len: u64) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len as usize];
        match self.range(url, start, start + len - 1)? {
            Ranged::Part(mut r) => head::read_exact(&mut r, &mut buf, start, start + len)?,
            Ranged::Whole(mut r) => {
                std::io::copy(&mut (&mut r).take(start), &mut std::io::sink()).map_err(|e| OtaError::Download(e.to_string()))?;
                head::read_exact(&mut r, &mut buf, start, start + len)?;
            }
        }
        Ok(buf)
    }

    /// Fetch and check a bundle's start (header, manifest, signature) from `url`.
    pub fn head(&self, url: &url::Url, keys: &TrustedKeys) -> Result<head::Head> {
        let header: [u8; HEADER_LEN] =
            self.bytes_at(url, 0, HEADER_LEN as u64)?.try_into().map_err(|_| OtaError::Truncated { expected: 16, got: 0 })?;
        let len = u64::from(head::manifest_len(&header)?);
        let rest = self.bytes_at(url, HEADER_LEN as u64, len + SIGNATURE_LEN as u64)?;
        let (manifest, sig) = rest.split_at(len as usize);
        let sig: [u8; SIGNATURE_LEN] = sig.try_into().map_err(|_| OtaError::Truncated { expected: 0, got: 0 })?;
        head::verify(&header, manifest, &sig, keys)
    }
}

/// Chunks held by the running slot: hash → (offset, length) in `file`.
pub struct LocalChunks {
    file: File,
    at: HashMap<[u8; 32], (u64, u32)>,
}

impl LocalChunks {
    /// Cut `file` (the running slot) with `params`, calling `progress(bytes read)`.
    pub fn cut(file: File, params: &ChunkerParams, cancel: &AtomicBool, progress: &mut dyn FnMut(u64)) -> Result<LocalChunks> {
        let mut at = HashMap::new();
        let reader = std::io::BufReader::with_capacity(1 << 20, file.try_clone().map_err(OtaError::io("reading the running slot"))?);
        params.cut(reader, |offset, bytes, hash| {
            if cancel.load(Ordering::Relaxed) {
                return Err(OtaError::Cancelled);
            }
            at.entry(*hash.as_bytes()).or_insert((offset, bytes.len() as u32));
            progress(offset + bytes.len() as u64);
            Ok(())
        })?;
        Ok(LocalChunks { file, at })
    }

    /// Whether the running slot holds `entry`.
    pub fn holds(&self, entry: &StoreEntry) -> bool {
        self.at.get(entry.hash.as_bytes()).is_some_and(|&(_, len)| len == entry.size)
    }

    fn read(&self, index: usize, entry: &StoreEntry) -> Result<Option<Vec<u8>>> {
        let Some(&(offset, len)) = self.at.get(entry.hash.as_bytes()) else { return Ok(None) };
        let mut bytes = vec![0u8; len as usize];
        self.file.read_exact_at(&mut bytes, offset).map_err(OtaError::io("reading the running slot"))?;
        // The running slot changing under us would be a bug; a failing card is not: fetch then.
        Ok(payload::check(index, entry, &bytes).ok().map(|()| bytes))
    }
}

/// Store entries from the running slot when it holds them, else fetched by ranges: runs of
/// consecutive missing entries as one request, resumed where it broke off when a connection
/// drops.
pub struct DeltaSource<'a> {
    client: &'a Client,
    url: url::Url,
    head: &'a head::Head,
    offsets: Vec<u64>,
    local: Option<&'a LocalChunks>,
    /// The open run: the next index it yields and the index after its last, and the reader.
    open: Option<(usize, usize, Box<dyn Read + Send>)>,
    fetched: &'a AtomicU64,
    requests: u64,
}

impl<'a> DeltaSource<'a> {
    /// Fetch from `url` what `local` does not hold (everything, without `local`), counting the
    /// payload bytes fetched in `fetched`.
    pub fn new(
        client: &'a Client,
        url: url::Url,
        head: &'a head::Head,
        local: Option<&'a LocalChunks>,
        fetched: &'a AtomicU64,
    ) -> DeltaSource<'a> {
        DeltaSource { client, url, head, offsets: head.store_offsets(), local, open: None, fetched, requests: 0 }
    }

    /// The payload bytes that will be fetched (store entries the running slot lacks).
    pub fn to_fetch(head: &head::Head, local: Option<&LocalChunks>) -> u64 {
        head.manifest.store.iter().filter(|e| !local.is_some_and(|l| l.holds(e))).map(|e| u64::from(e.stored_size)).sum()
    }

    /// Ranged requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    fn missing(&self, i: usize) -> bool {
        !self.local.is_some_and(|l| l.holds(&self.head.manifest.store[i]))
    }

    fn open_run(&mut self, from: usize) -> Result<()> {
        let store = &self.head.manifest.store;
        let mut to = from;
        while to < store.len() && self.missing(to) {
            to += 1;
        }
        let start = self.offsets[from];
        let end = self.offsets[to - 1] + u64::from(store[to - 1].stored_size) - 1;
        self.requests += 1;
        let reader = match self.client.range(&self.url, start, end)? {
            Ranged::Part(r) => r,
            Ranged::Whole(mut r) => {
                std::io::copy(&mut (&mut r).take(start), &mut std::io::sink()).map_err(|e| OtaError::Download(e.to_string()))?;
                Box::new(r.take(end - start + 1))
            }
        };
        self.open = Some((from, to, reader));
        Ok(())
    }

    fn fetch(&mut self, index: usize, entry: &StoreEntry) -> Result<Vec<u8>> {
        let mut failures = 0;
        loop {
            if !matches!(&self.open, Some((next, _, _)) if *next == index) {
                self.open = None;
                match self.open_run(index) {
                    Ok(()) => {}
                    Err(OtaError::Download(why)) if failures + 1 < TRIES => {
                        failures += 1;
                        tracing::warn!(%why, "update download: trying again");
                        std::thread::sleep(Duration::from_secs(1 << failures));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let Some((next, end, reader)) = self.open.as_mut() else { continue };
            let mut stored = vec![0u8; entry.stored_size as usize];
            let at = self.offsets[index];
            match head::read_exact(reader, &mut stored, at, self.head.bundle_len()) {
                Ok(()) => {
                    *next += 1;
                    if *next == *end {
                        self.open = None;
                    }
                    self.fetched.fetch_add(stored.len() as u64, Ordering::Relaxed);
                    return payload::decode(index, entry, &stored);
                }
                // A connection cut short: ask again from this chunk.
                Err(OtaError::Truncated { .. } | OtaError::Io { .. }) if failures + 1 < TRIES => {
                    failures += 1;
                    self.open = None;
                    tracing::warn!(index, "update download broke off: resuming");
                }
                Err(OtaError::Truncated { .. } | OtaError::Io { .. }) => {
                    return Err(OtaError::Download("the connection kept breaking off".into()));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl ChunkSource for DeltaSource<'_> {
    fn next(&mut self, index: usize, entry: &StoreEntry) -> Result<Vec<u8>> {
        if let Some(local) = self.local
            && let Some(bytes) = local.read(index, entry)?
        {
            return Ok(bytes);
        }
        self.fetch(index, entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_index_and_picks_the_newest_for_the_board() {
        let base = channel_url("http://updates.example/hearth/stable/index.json").expect("url");
        let text = br#"{"format":1,"updates":[
            {"version":"0.2.0","boards":["qemu-aarch64","rpi4"],"bundle":"hearth-0.2.0.hup","size":10},
            {"version":"0.3.0","boards":["rpi4"],"bundle":"https://cdn.example/hearth-0.3.0.hup"},
            {"version":"0.1.0","boards":["qemu-aarch64"],"bundle":"old.hup"}]}"#;
        let offers = parse_index(&base, text).expect("index");
        let pick = newest_for(&offers, "qemu-aarch64", &"0.1.0".parse().expect("v")).expect("offer");
        assert_eq!(pick.version.to_string(), "0.2.0");
        assert_eq!(pick.bundle.as_str(), "http://updates.example/hearth/stable/hearth-0.2.0.hup");
        assert!(newest_for(&offers, "qemu-aarch64", &"0.2.0".parse().expect("v")).is_none());
        assert_eq!(newest_for(&offers, "rpi4", &"0.1.0".parse().expect("v")).map(|o| o.version.to_string()), Some("0.3.0".into()));
    }

    #[test]
    fn refuses_malformed_indexes_and_other_schemes() {
        let base = channel_url("http://u.example/i.json").expect("url");
        for bad in [
            &b"not json"[..],
            br#"{"format":2,"updates":[]}"#,
            br#"{"format":1,"updates":[{"version":"x","boards":[],"bundle":"a"}]}"#,
            br#"{"format":1,"updates":[{"version":"1.0.0","boards":[],"bundle":"file:///etc/shadow"}]}"#,
            br#"{"format":1,"updates":[{"version":"1.0.0","boards":[],"bundle":"http://user:pw@x.example/a"}]}"#,
        ] {
            assert!(matches!(parse_index(&base, bad), Err(OtaError::Channel(_))), "{}", String::from_utf8_lossy(bad));
        }
        assert!(channel_url("ftp://x.example/").is_err());
        assert!(channel_url("nonsense").is_err());
    }
}
