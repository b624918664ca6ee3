//! `.stignore` files arrive like any other file (sync, WebDAV), so any text must parse to
//! patterns or a clear refusal, never a panic or a blow-up. The input is the file's text, then a
//! NUL, then names to judge (one per line). What the scanner relies on is checked too: without
//! `!` patterns, everything inside an ignored directory is ignored (so it may skip the directory).
#![no_main]
use hearth_sync::ignore::Ignores;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, names) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let text = String::from_utf8_lossy(text);
    // A root without files: `#include` lines name files that are not there.
    let root = std::path::Path::new("/nonexistent-hearth-fuzz-root");
    let Ok(ignores) = Ignores::parse(root, &text) else { return };
    for name in String::from_utf8_lossy(names).lines().take(64) {
        let verdict = ignores.verdict(name);
        assert_eq!(ignores.ignored(name), verdict != hearth_sync::ignore::Verdict::Synced);
        if ignores.skip_ignored_dirs() && ignores.ignored(name) {
            let inside = format!("{name}/x");
            assert!(ignores.ignored(&inside), "{name:?} is ignored but {inside:?} is not");
        }
    }
});
