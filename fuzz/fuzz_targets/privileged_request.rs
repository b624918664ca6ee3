//! The privileged helper's requests come from the daemon, which faces the network: whatever it
//! sends, the helper answers each whole line once, does only what is in the request set, and
//! never panics.
#![no_main]
use hearth_platform::privileged_helper::{Request, serve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut done = Vec::new();
    let mut out = Vec::new();
    serve(data, &mut out, &mut |r| {
        done.push(r);
        Ok(())
    })
    .expect("in-memory input and output do not fail");
    let answers = out.iter().filter(|b| **b == b'\n').count();
    assert!(answers <= data.iter().filter(|b| **b == b'\n').count(), "one answer per line at most");
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let asked = lines.iter().filter(|l| Request::parse(l).is_ok()).count();
    assert!(done.len() <= asked, "only requests in the set are done");
    for r in done {
        assert!(lines.contains(&r.wire().as_bytes()), "{r:?} was done without being asked for word for word");
    }
});
