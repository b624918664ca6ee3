//! The daemon's requests to the privileged helper carry no arguments on the wire: what a request
//! is about (a disk's serial, whether to erase it) goes in a small JSON file under the daemon's
//! data folder, which the helper reads, bounded, and checks again against what it sees as root.

use std::path::{Path, PathBuf};

/// The longest request file read (the daemon, unprivileged, writes it; root reads it).
const MAX_REQUEST: u64 = 64 << 10;

/// Where a request file is, under the data folder.
pub fn path(data: &Path, name: &str) -> PathBuf {
    data.join("system/disks").join(name)
}

/// The daemon's side: write `request` whole (renamed into place).
pub fn write<T: serde::Serialize>(data: &Path, name: &str, request: &T) -> Result<(), String> {
    let file = path(data, name);
    let json = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let written =
        file.parent().map(std::fs::create_dir_all).transpose().and_then(|_| hearth_platform::durable::write_atomic(&file, &json, 0o644));
    written.map_err(|e| format!("{}: {e}", file.display()))
}

/// The helper's side: read it, at most [`MAX_REQUEST`] bytes.
pub fn read<T: serde::de::DeserializeOwned>(data: &Path, name: &str) -> Result<T, String> {
    let file = path(data, name);
    let mut bytes = Vec::new();
    std::fs::File::open(&file)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_REQUEST), &mut bytes))
        .map_err(|e| format!("the request {} cannot be read: {e}", file.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the request {} is not understood: {e}", file.display()))
}

/// The helper's side, once done: the request is not acted on twice.
pub fn remove(data: &Path, name: &str) {
    let _ = std::fs::remove_file(path(data, name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Ask {
        serial: String,
    }

    #[test]
    fn a_request_goes_through_and_a_bad_one_is_said() {
        let dir = tempfile::tempdir().expect("test fixture");
        write(dir.path(), "ask.json", &Ask { serial: "S1".into() }).expect("test fixture");
        assert_eq!(read::<Ask>(dir.path(), "ask.json").expect("test fixture"), Ask { serial: "S1".into() });
        remove(dir.path(), "ask.json");
        assert!(read::<Ask>(dir.path(), "ask.json").expect_err("refused").contains("cannot be read"));
        std::fs::write(path(dir.path(), "ask.json"), b"{\"serial\": 3}").expect("test fixture");
        assert!(read::<Ask>(dir.path(), "ask.json").expect_err("refused").contains("not understood"));
        std::fs::write(path(dir.path(), "ask.json"), vec![b' '; 70 << 10]).expect("test fixture");
        assert!(read::<Ask>(dir.path(), "ask.json").is_err());
    }
}
