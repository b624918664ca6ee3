//! Waiting for something another process does, with a limit (tests never depend on how fast it
//! happens, only that it happens within a generous time).

use std::time::{Duration, Instant};

/// Call `f` every 250 ms until it returns a value; panic naming `what` after `limit`.
pub fn until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
