//! Tree blobs: any bytes give a tree or an error; names are checked before use as paths.
#![no_main]
use hearth_backup::blob::BlobId;
use hearth_backup::tree::Tree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Tree::from_bytes(&BlobId([0; 32]), data) {
        for n in &t.nodes {
            if let Ok(name) = n.name_bytes() {
                let b = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str());
                assert!(!b.is_empty() && b != b".." && b != b"." && !b.contains(&b'/') && !b.contains(&0));
            }
            let _ = n.target_bytes();
            let _ = n.sort_key();
        }
    }
});
