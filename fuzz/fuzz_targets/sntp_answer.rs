//! An NTP server's answer comes from the network (any machine on the LAN can send one). Reading
//! it never panics, and what it accepts is a server's answer to the request it was given.
#![no_main]
use std::time::{Duration, UNIX_EPOCH};

use hearth_platform::sntp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The clock readings come from the input's tail, so 1970 boards and far futures are tried.
    let at = |i: usize| data.get(i..i + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).unwrap_or(0) % (1 << 34);
    let sent = UNIX_EPOCH + Duration::from_nanos(at(48).saturating_mul(1_000_000_000) / 7);
    let received = sent + Duration::from_micros(at(56) % 10_000_000);
    if let Ok(a) = sntp::read_answer(data, sent, received) {
        assert_eq!(data[0] & 7, 4, "only a server's answer is taken");
        assert!(a.offset.is_finite() && a.delay >= 0.0 && (1..=15).contains(&a.stratum));
    }
});
