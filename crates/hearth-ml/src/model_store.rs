//! The folder the prepared model files are in, and reading one with its checksum checked: a
//! missing, truncated or altered file is refused here, before any parser sees its bytes.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{MlError, Result};
use crate::manifest::{Manifest, ModelId, PinnedModel, hex};

/// The largest model file read (the biggest pinned one is a few tens of MiB).
const MAX_MODEL_BYTES: u64 = 256 << 20;

/// Where the image puts the models (qemu/build-image, buildroot's post-build step).
pub const IMAGE_MODELS_DIR: &str = "/usr/share/hearth/models";

/// A model file's bytes, checked against the manifest.
#[derive(Debug)]
pub struct VerifiedModel {
    /// Which model.
    pub id: ModelId,
    /// The file it was read from.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The models folder.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
    manifest: Manifest,
}

impl ModelStore {
    /// The models in `dir`, checked against the pinned manifest.
    pub fn new(dir: impl Into<PathBuf>) -> Result<ModelStore> {
        Ok(ModelStore { dir: dir.into(), manifest: Manifest::pinned()? })
    }

    /// The folder hearthd uses when none is configured: the image's, else `../models` next to its
    /// own program (a development build in `target/debug/` finds `target/models`, which
    /// `scripts/models` fills).
    pub fn default_dir() -> PathBuf {
        let image = PathBuf::from(IMAGE_MODELS_DIR);
        if image.is_dir() {
            return image;
        }
        if let Some(dir) = std::env::current_exe().ok().as_deref().and_then(Path::parent) {
            let dev = dir.join("../models");
            if dev.is_dir() {
                return dev;
            }
        }
        image
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest entry of a model.
    pub fn pinned(&self, id: ModelId) -> Result<&PinnedModel> {
        self.manifest.model(id)
    }

    /// Reads a model file and checks it is the pinned one.
    pub fn read(&self, id: ModelId) -> Result<VerifiedModel> {
        let entry = self.manifest.model(id)?;
        let path = self.dir.join(&entry.file);
        let bytes = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(MlError::ModelMissing { model: id, path }),
            Err(e) => return Err(MlError::io(format!("reading {}", path.display()))(e)),
            Ok(meta) if meta.len() > MAX_MODEL_BYTES => {
                return Err(MlError::ModelAltered { model: id, path, got: format!("not computed: {} bytes is too large", meta.len()) });
            }
            Ok(_) => std::fs::read(&path).map_err(MlError::io(format!("reading {}", path.display())))?,
        };
        let got: [u8; 32] = Sha256::digest(&bytes).into();
        if got != entry.sha256 {
            return Err(MlError::ModelAltered { model: id, path, got: hex(&got) });
        }
        Ok(VerifiedModel { id, path, bytes })
    }

    /// Which models are present and intact, and why each other one is not.
    pub fn check_all(&self) -> Vec<(ModelId, Result<()>)> {
        ModelId::ALL.iter().map(|&id| (id, self.read(id).map(|_| ()))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_altered_files_are_refused_with_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ModelStore::new(dir.path()).expect("store");
        let err = store.read(ModelId::FaceDetector).expect_err("missing");
        assert!(matches!(err, MlError::ModelMissing { .. }), "{err}");
        let guidance = hearth_core::error::Kinded::guidance(&err).expect("guidance");
        assert!(guidance.contains("scripts/models"), "{guidance}");

        let file = dir.path().join(&store.pinned(ModelId::FaceDetector).expect("entry").file);
        std::fs::write(&file, b"not a model").expect("write");
        let err = store.read(ModelId::FaceDetector).expect_err("altered");
        assert!(matches!(err, MlError::ModelAltered { .. }), "{err}");
        assert!(err.is_model_problem());
    }
}
