//! An open repository: its keys, config and index, and reading and writing its objects.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::{Backend, FileType};
use crate::blob::{BlobId, BlobType};
use crate::cache::Cache;
use crate::crypto::{Cipher, Keys, object_name};
use crate::error::{BackupError, Result};
use crate::index::{IndexFile, MasterIndex, MasterIndexBuilder, hex32, parse_name};
use crate::keyfile::{Kdf, KeyFile};
use crate::pack::FLAG_ZSTD;
use crate::repo_config::RepoConfig;
use crate::snapshot::Snapshot;
use crate::tree::Tree;

thread_local! {
    /// One zstd decompression context per thread, reused for every blob.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { std::cell::RefCell::new(None) };
}

/// An index file and its object name.
pub type NamedIndexFile = (String, IndexFile);

/// A snapshot and its object name.
pub type NamedSnapshot = (String, Snapshot);

/// An open repository.
pub struct Repository {
    backend: Arc<dyn Backend>,
    /// Keys.
    pub keys: Keys,
    /// Parameters.
    pub config: RepoConfig,
    /// Every blob the index files know.
    pub index: MasterIndex,
    /// The key file this session opened with.
    pub key_name: String,
    /// Delete stale locks found while locking (`--remove-stale-locks`), instead of ignoring them.
    pub remove_stale_locks: bool,
    /// The local metadata cache (network repositories).
    cache: Option<Cache>,
    /// Where a large index table is kept while the repository is open (none: in memory).
    table_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Repository({})", self.backend.location())
    }
}

impl Repository {
    /// Create a repository with one key for `password`.
    pub fn init(backend: Arc<dyn Backend>, password: &[u8], cipher: Cipher, kdf: Kdf) -> Result<Repository> {
        if backend.exists()? {
            return Err(BackupError::AlreadyExists(backend.location()));
        }
        if password.is_empty() {
            return Err(BackupError::Invalid("an empty password protects nothing: choose one".into()));
        }
        backend.create()?;
        let keys = Keys::generate(cipher)?;
        let config = RepoConfig::new()?;
        let kf = KeyFile::wrap(keys.master(), cipher, password, kdf)?.to_bytes()?;
        let key_name = object_name(&kf);
        backend.write(FileType::Key, &key_name, &kf)?;
        // The config last: a repository exists once its config does.
        backend.write(FileType::Config, "config", &config.seal(&keys)?)?;
        Ok(Self::assembled(backend, keys, config, key_name))
    }

    /// An open repository with no index loaded, no cache and no table folder yet.
    fn assembled(backend: Arc<dyn Backend>, keys: Keys, config: RepoConfig, key_name: String) -> Repository {
        Repository {
            backend,
            keys,
            config,
            index: MasterIndex::default(),
            key_name,
            remove_stale_locks: false,
            cache: None,
            table_dir: None,
        }
    }

    /// Open a repository with `password` and load its index.
    pub fn open(backend: Arc<dyn Backend>, password: &[u8]) -> Result<Repository> {
        Self::open_cached(backend, password, None)
    }

    /// Like [`Repository::open`], keeping index files and trees in a local cache under
    /// `cache_base` (see [`crate::cache`]); a cache that cannot be made is logged and skipped.
    pub fn open_cached(backend: Arc<dyn Backend>, password: &[u8], cache_base: Option<&Path>) -> Result<Repository> {
        let mut repo = Self::open_without_index(backend, password)?;
        if let Some(base) = cache_base {
            repo.use_cache(base);
            repo.table_dir = repo.cache.as_ref().map(|c| c.dir().join("tables"));
        }
        repo.load_index()?;
        Ok(repo)
    }

    fn use_cache(&mut self, base: &Path) {
        match Cache::open(base, &self.config.id) {
            Ok(c) => self.cache = Some(c),
            Err(e) => tracing::warn!(error = %e, base = %base.display(), "working without the local backup cache"),
        }
    }

    /// Open with `password` for a long-running service that has a folder of its own: network
    /// repositories cache their index files and trees under `work_dir`, and a large index table
    /// is kept on disk there (for any repository), so memory stays small whatever the size.
    pub fn open_in(backend: Arc<dyn Backend>, password: &[u8], work_dir: &Path) -> Result<Repository> {
        let remote = backend.is_remote();
        let mut repo = Self::open_without_index(backend, password)?;
        repo.table_dir = Some(work_dir.join("index-tables").join(&repo.config.id));
        if remote {
            repo.use_cache(work_dir);
        }
        repo.load_index()?;
        Ok(repo)
    }

    /// Open without reading the index (key management).
    pub fn open_without_index(backend: Arc<dyn Backend>, password: &[u8]) -> Result<Repository> {
        if !backend.exists()? {
            return Err(BackupError::NoRepository(backend.location()));
        }
        let config_bytes = backend.read(FileType::Config, "config")?;
        RepoConfig::peek(&config_bytes)?;
        let mut found = None;
        for name in backend.list(FileType::Key)? {
            let bytes = backend.read(FileType::Key, &name)?;
            let kf = match KeyFile::parse(&name, &bytes) {
                Ok(k) => k,
                Err(e @ BackupError::NewerFormat { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(key = %name, error = %e, "skipping an unreadable key file");
                    continue;
                }
            };
            if let Some((master, cipher)) = kf.unwrap(password)? {
                found = Some((master, cipher, name));
                break;
            }
        }
        let Some((master, cipher, key_name)) = found else { return Err(BackupError::WrongPassword) };
        let keys = Keys::derive(master, cipher)?;
        let config = RepoConfig::open(&config_bytes, &keys)?;
        Ok(Self::assembled(backend, keys, config, key_name))
    }

    /// The storage.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Lock the repository for this session's work (docs/backup-format.md §10).
    pub fn lock(&self, mode: crate::lock::LockMode) -> Result<crate::lock::Lock> {
        crate::lock::acquire(self, mode, self.remove_stale_locks)
    }

    /// The storage, shared (for threads that outlive a borrow, like the lock refresher).
    pub fn backend_arc(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// Read every index file. Damaged ones are skipped and returned (their packs' blobs look
    /// missing until `check`/`prune` repairs the index).
    pub fn load_index(&mut self) -> Result<Vec<BackupError>> {
        // One file in memory at a time: the index is built as they are read.
        let mut damaged = Vec::new();
        let names = self.backend.list(FileType::Index)?;
        if let Some(c) = &self.cache {
            c.retain_index(&names.iter().cloned().collect());
        }
        let mut builder = MasterIndexBuilder::new(self.table_dir.as_deref());
        for name in &names {
            let Some(raw) = parse_name(name) else { continue };
            match self.read_index(name) {
                Ok(f) => builder.add_file(raw, &f)?,
                Err(e @ BackupError::Damaged { .. }) => {
                    tracing::warn!(error = %e, "skipping a damaged index file");
                    damaged.push(e);
                }
                Err(e) => return Err(e),
            }
        }
        self.index = MasterIndex::default();
        self.index = builder.finish()?;
        Ok(damaged)
    }

    /// The names of all index files, those that open (with their contents), and the errors of
    /// the damaged ones.
    pub fn read_index_files(&self) -> Result<(Vec<String>, Vec<NamedIndexFile>, Vec<BackupError>)> {
        let mut damaged = Vec::new();
        let mut files = Vec::new();
        let names = self.backend.list(FileType::Index)?;
        if let Some(c) = &self.cache {
            c.retain_index(&names.iter().cloned().collect());
        }
        for name in &names {
            match self.read_index(name) {
                Ok(f) => files.push((name.clone(), f)),
                Err(e @ BackupError::Damaged { .. }) => {
                    tracing::warn!(error = %e, "skipping a damaged index file");
                    damaged.push(e);
                }
                Err(e) => return Err(e),
            }
        }
        Ok((names, files, damaged))
    }

    /// Make the in-memory index from index files already read; files another one supersedes
    /// are left out.
    pub fn set_index(&mut self, files: &[NamedIndexFile]) -> Result<()> {
        let mut builder = MasterIndexBuilder::new(self.table_dir.as_deref());
        for (name, f) in files {
            let Some(raw) = parse_name(name) else { continue };
            builder.add_file(raw, f)?;
        }
        self.index = MasterIndex::default();
        self.index = builder.finish()?;
        Ok(())
    }

    /// A stored pack's entries, read from its header (two range reads, not the whole pack).
    pub fn read_pack_header(&self, name: &str) -> Result<Vec<crate::pack::PackEntry>> {
        let total = self.backend.size(FileType::Pack, name)?;
        if total < 4 {
            return Err(BackupError::damaged("data", name, "too short for a pack"));
        }
        let len_bytes = self.backend.read_range(FileType::Pack, name, total - 4, 4)?;
        let hlen = u32::from_le_bytes(len_bytes.as_slice().try_into().map_err(|_| BackupError::damaged("data", name, "short read"))?);
        let tail_len = u64::from(hlen) + 4;
        if tail_len > total {
            return Err(BackupError::damaged("data", name, "header larger than the pack"));
        }
        let tail = self.backend.read_range(FileType::Pack, name, total - tail_len, tail_len as u32)?;
        crate::pack::read_header(name, &tail, total, &self.keys)
    }

    /// The packs no loaded index names, with their entries read from their headers (a backup
    /// interrupted between storing packs and their index, or an index file that is damaged);
    /// packs whose header cannot be read are returned as errors.
    pub fn read_unindexed_packs(&self) -> Result<(crate::index::PackList, Vec<(String, BackupError)>)> {
        let mut found = Vec::new();
        let mut damaged = Vec::new();
        for name in self.backend.list(FileType::Pack)? {
            let Some(raw) = parse_name(&name) else { continue };
            if self.index.has_pack(&raw) {
                continue;
            }
            match self.read_pack_header(&name) {
                Ok(entries) => found.push((raw, entries)),
                Err(e @ (BackupError::Damaged { .. } | BackupError::Io { .. })) => damaged.push((name, e)),
                Err(e) => return Err(e),
            }
        }
        Ok((found, damaged))
    }

    /// Index the packs that no index names (see [`Repository::read_unindexed_packs`]): one new
    /// index file lists them, so the next backup reuses what was already uploaded. Damaged ones
    /// are left for `check` to report and `prune` to remove. Returns how many packs were indexed.
    pub fn index_orphan_packs(&mut self) -> Result<usize> {
        let (found, damaged) = self.read_unindexed_packs()?;
        for (pack, e) in &damaged {
            tracing::warn!(%pack, error = %e, "not indexing a damaged pack");
        }
        if found.is_empty() {
            return Ok(0);
        }
        let file = IndexFile { supersedes: Vec::new(), packs: found };
        let name = self.write_index(&file)?;
        let raw = parse_name(&name).ok_or_else(|| BackupError::Invalid("bad index name".into()))?;
        self.index.add(raw, &file);
        tracing::info!(packs = file.packs.len(), index = %name, "indexed packs that no index named");
        Ok(file.packs.len())
    }

    /// Read and verify one index file.
    pub fn read_index(&self, name: &str) -> Result<IndexFile> {
        if let Some(bytes) = self.cache.as_ref().and_then(|c| c.get("index", name)) {
            if object_name(&bytes) == name
                && let Ok(f) = IndexFile::open(name, &bytes, &self.keys)
            {
                return Ok(f);
            }
            if let Some(c) = &self.cache {
                c.remove("index", name);
            }
        }
        let bytes = self.backend.read(FileType::Index, name)?;
        if let Some(c) = &self.cache
            && object_name(&bytes) == name
        {
            c.put("index", name, &bytes);
        }
        if object_name(&bytes) != name {
            return Err(BackupError::damaged("index", name, "content does not match its name"));
        }
        IndexFile::open(name, &bytes, &self.keys)
    }

    /// Store a sealed index file; returns its name.
    pub fn write_index(&self, file: &IndexFile) -> Result<String> {
        let bytes = file.seal(&self.keys)?;
        let name = object_name(&bytes);
        self.backend.write(FileType::Index, &name, &bytes)?;
        if let Some(c) = &self.cache {
            c.put("index", &name, &bytes);
        }
        Ok(name)
    }

    /// A blob's plaintext, verified against its id.
    pub fn read_blob(&self, id: &BlobId) -> Result<Vec<u8>> {
        let loc = self.index.get(id).ok_or_else(|| BackupError::MissingBlob(id.to_hex()))?;
        let pack = hex32(&loc.pack);
        let sealed = self.backend.read_range(FileType::Pack, &pack, loc.offset, loc.length)?;
        decode_blob(&self.keys, &pack, loc.blob_type, loc.flags, loc.raw_length, id, &sealed)
    }

    /// A blob's plaintext written into `out`, using `scratch` for the sealed bytes: no
    /// allocation once the buffers have grown (restore reads a million blobs this way).
    ///
    /// The AEAD tag authenticates the stored bytes together with the blob's type and id (its
    /// associated data), so an authentic blob is the one written under this id; recomputing
    /// the keyed hash of the plaintext (`recheck_id`) additionally guards against a writer that
    /// hashed one buffer and sealed another. `check --read-data` always rechecks; restore does
    /// not, which saves a quarter of its CPU time.
    pub fn read_blob_into(&self, id: &BlobId, scratch: &mut Vec<u8>, out: &mut Vec<u8>, recheck_id: bool) -> Result<()> {
        let loc = self.index.get(id).ok_or_else(|| BackupError::MissingBlob(id.to_hex()))?;
        let pack = hex32(&loc.pack);
        self.backend.read_range_into(FileType::Pack, &pack, loc.offset, loc.length, scratch)?;
        let bad = |d: &str| BackupError::damaged("data", pack.clone(), format!("blob {} {d}", id.to_hex()));
        let range = self.keys.enc.open_in_place(&loc.blob_type.aad(id), scratch).ok_or_else(|| bad("failed authentication"))?;
        out.clear();
        if loc.flags & FLAG_ZSTD != 0 {
            out.reserve(loc.raw_length as usize);
            DECOMPRESSOR
                .with(|d| {
                    let mut d = d.borrow_mut();
                    if d.is_none() {
                        *d = Some(zstd::bulk::Decompressor::new()?);
                    }
                    match d.as_mut() {
                        Some(d) => d.decompress_to_buffer(&scratch[range], out),
                        None => Err(std::io::Error::other("no decompressor")),
                    }
                })
                .map_err(|e| bad(&format!("does not decompress: {e}")))?;
        } else {
            out.extend_from_slice(&scratch[range]);
        }
        if out.len() != loc.raw_length as usize {
            return Err(bad("has the wrong length"));
        }
        if recheck_id && self.keys.blob_id(out) != *id {
            return Err(bad("does not match its id"));
        }
        Ok(())
    }

    /// A tree blob.
    pub fn load_tree(&self, id: &BlobId) -> Result<Tree> {
        let Some(cache) = &self.cache else { return Tree::from_bytes(id, &self.read_blob(id)?) };
        let loc = self.index.get(id).ok_or_else(|| BackupError::MissingBlob(id.to_hex()))?;
        let name = id.to_hex();
        let pack = hex32(&loc.pack);
        if let Some(sealed) = cache.get("trees", &name) {
            if let Ok(plain) = decode_blob(&self.keys, &pack, loc.blob_type, loc.flags, loc.raw_length, id, &sealed) {
                return Tree::from_bytes(id, &plain);
            }
            cache.remove("trees", &name);
        }
        let sealed = self.backend.read_range(FileType::Pack, &pack, loc.offset, loc.length)?;
        let plain = decode_blob(&self.keys, &pack, loc.blob_type, loc.flags, loc.raw_length, id, &sealed)?;
        cache.put("trees", &name, &sealed);
        Tree::from_bytes(id, &plain)
    }

    /// Remember a tree blob the saver just sealed, so the next backup finds it locally.
    pub fn cache_tree(&self, id: &BlobId, sealed: &[u8]) {
        if let Some(c) = &self.cache {
            c.put("trees", &id.to_hex(), sealed);
        }
    }

    /// Whether a local metadata cache is in use.
    pub fn has_cache(&self) -> bool {
        self.cache.is_some()
    }

    /// Every snapshot with its name, oldest first, and the errors of damaged ones.
    pub fn snapshots(&self) -> Result<(Vec<NamedSnapshot>, Vec<BackupError>)> {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for name in self.backend.list(FileType::Snapshot)? {
            match self.read_snapshot(&name) {
                Ok(s) => out.push((name, s)),
                Err(e @ BackupError::Damaged { .. }) => bad.push(e),
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.1.time.cmp(&b.1.time));
        Ok((out, bad))
    }

    /// Read one snapshot.
    pub fn read_snapshot(&self, name: &str) -> Result<Snapshot> {
        let bytes = self.backend.read(FileType::Snapshot, name)?;
        if object_name(&bytes) != name {
            return Err(BackupError::damaged("snapshots", name, "content does not match its name"));
        }
        Snapshot::open(name, &bytes, &self.keys)
    }

    /// Find a snapshot by a unique prefix of its name, or `latest`.
    pub fn find_snapshot(&self, wanted: &str) -> Result<(String, Snapshot)> {
        let (all, _) = self.snapshots()?;
        if wanted == "latest" {
            return all.into_iter().last().ok_or_else(|| BackupError::Invalid("the repository has no snapshots".into()));
        }
        let mut hits: Vec<(String, Snapshot)> = all.into_iter().filter(|(n, _)| n.starts_with(wanted)).collect();
        match hits.len() {
            1 => Ok(hits.remove(0)),
            0 => Err(BackupError::Invalid(format!("no snapshot {wanted:?}"))),
            n => Err(BackupError::Invalid(format!("{wanted:?} matches {n} snapshots; give more characters"))),
        }
    }

    /// Store a snapshot; returns its name.
    pub fn save_snapshot(&self, s: &Snapshot) -> Result<String> {
        let bytes = s.seal(&self.keys)?;
        let name = object_name(&bytes);
        self.backend.write(FileType::Snapshot, &name, &bytes)?;
        Ok(name)
    }
}

/// Open a sealed blob read from `pack`, decompress it and check its id.
pub fn decode_blob(keys: &Keys, pack: &str, t: BlobType, flags: u8, raw_length: u32, id: &BlobId, sealed: &[u8]) -> Result<Vec<u8>> {
    let stored = keys
        .enc
        .open(&t.aad(id), sealed)
        .ok_or_else(|| BackupError::damaged("data", pack, format!("blob {} failed authentication", id.to_hex())))?;
    let plain = if flags & FLAG_ZSTD != 0 {
        zstd::bulk::decompress(&stored, raw_length as usize)
            .map_err(|e| BackupError::damaged("data", pack, format!("blob {} does not decompress: {e}", id.to_hex())))?
    } else {
        stored
    };
    if plain.len() != raw_length as usize || keys.blob_id(&plain) != *id {
        return Err(BackupError::damaged("data", pack, format!("blob {} does not match its id", id.to_hex())));
    }
    Ok(plain)
}
