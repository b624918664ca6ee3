//! `Authorization: Basic …` values come from any HTTP client. Parsing never panics, and what it
//! returns is a non-empty name without a colon and the rest as the password.
#![no_main]
use hearth_api::auth::basic::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some((name, password)) = parse(&text) {
        assert!(!name.is_empty() && !name.contains(':'), "{name:?}");
        assert!(name.len() + password.len() < text.len(), "decoded from base64, so shorter");
    }
});
