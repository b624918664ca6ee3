//! `Range` headers come from any HTTP client. Parsing never panics, and a part it returns lies
//! inside the resource.
#![no_main]
use hearth_api::byte_range::{Wanted, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (len, text) = match data.split_first() {
        Some((l, rest)) => (u64::from(*l) * 97, rest),
        None => (0, data),
    };
    let text = String::from_utf8_lossy(text);
    if let Wanted::Part { start, end } = parse(&text, len) {
        assert!(start <= end && end < len, "{text:?} on {len} bytes gave {start}-{end}");
    }
});
