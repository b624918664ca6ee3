//! Paths under `/restic/<user>/` come from any HTTP client. Parsing never panics, and a
//! repository name it accepts can never leave the user's folder.
#![no_main]
use hearth_api::routes::restic::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok((repo, _)) = parse(&text) {
        assert!(!repo.is_empty() && !repo.starts_with('.') && !repo.contains('/') && !repo.contains('\\'), "{repo:?}");
    }
});
