//! A QEMU Machine Protocol client (QEMU's `docs/interop/qmp-spec`): one JSON object per line
//! over the socket `qemu/run --qmp` opens. Commands answer with `return` or `error`; events
//! (`DEVICE_DELETED`, …) arrive between answers and are kept for [`Qmp::wait_event`].

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A connected QMP session, capabilities negotiated.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    events: Vec<Value>,
}

impl Qmp {
    /// Connects to `socket` (waiting up to `limit` for QEMU to create it) and leaves the
    /// capabilities negotiation mode.
    pub fn connect(socket: &Path, limit: Duration) -> Qmp {
        let started = Instant::now();
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(s) => break s,
                Err(e) if started.elapsed() < limit => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("QMP socket {}: {e}", socket.display()),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        let writer = stream.try_clone().expect("clone");
        let mut qmp = Qmp { reader: BufReader::new(stream), writer, events: Vec::new() };
        let greeting = qmp.line();
        assert!(greeting.get("QMP").is_some(), "not a QMP greeting: {greeting}");
        qmp.execute("qmp_capabilities", json!({}));
        qmp
    }

    fn line(&mut self) -> Value {
        let mut text = String::new();
        let n = self.reader.read_line(&mut text).expect("QMP read");
        assert!(n > 0, "QEMU closed the QMP socket");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("QMP sent {text:?}: {e}"))
    }

    /// Runs `command` with `arguments`; its `return` value. Panics on an `error` answer.
    pub fn execute(&mut self, command: &str, arguments: Value) -> Value {
        let request = json!({"execute": command, "arguments": arguments});
        writeln!(self.writer, "{request}").expect("QMP write");
        loop {
            let v = self.line();
            if let Some(r) = v.get("return") {
                return r.clone();
            }
            if let Some(e) = v.get("error") {
                panic!("QMP {command} {arguments}: {e}");
            }
            if v.get("event").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Waits for the event called `name` (one already received counts).
    pub fn wait_event(&mut self, name: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
            return self.events.remove(i);
        }
        loop {
            let v = self.line();
            if v["event"] == name {
                return v;
            }
            if v.get("event").is_some() {
                self.events.push(v);
            }
        }
    }
}
