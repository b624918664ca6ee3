//! Hearth's SNTP client against a real NTP server nobody here wrote: Debian's chrony, on the
//! loopback, told never to touch this machine's clock (`-x`). The answer is taken, the offset is
//! this machine's (about zero: both read the same clock) and the stratum chrony serves.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hearth_platform::sntp;

struct Chrony(Child);

impl Drop for Chrony {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chronyd serving its (this machine's) time at stratum 8 on 127.0.0.1:`port`.
fn chrony(dir: &std::path::Path, port: u16) -> Chrony {
    let conf = dir.join("chrony.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\ncmdport 0\nbindcmdaddress /\npidfile {0}/chronyd.pid\ndriftfile {0}/drift\n",
            dir.display()
        ),
    )
    .expect("chrony.conf");
    let log = std::fs::File::create(dir.join("chronyd.log")).expect("log");
    let child = Command::new("chronyd")
        .arg("-f")
        .arg(&conf)
        .args(["-x", "-d", "-u", "root"])
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("chronyd is installed by scripts/test (Debian package chrony)");
    Chrony(child)
}

#[test]
fn chrony_answers_hearths_sntp_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A free UDP port on the loopback.
    let port = std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("port").port();
    let _chrony = chrony(dir.path(), port);
    let server: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        match sntp::query(server, Duration::from_secs(1)) {
            Ok(a) => break a,
            Err(e) => {
                let log = std::fs::read_to_string(dir.path().join("chronyd.log")).unwrap_or_default();
                assert!(Instant::now() < deadline, "no answer from chronyd: {e}\n{log}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    };
    assert_eq!(answer.stratum, 8, "the stratum chrony was told to serve: {answer:?}");
    assert!(answer.offset.abs() < 0.5, "both read this machine's clock: {answer:?}");
    assert!(answer.delay < 1.0, "{answer:?}");
    // A port where nothing answers: an error within the timeout, not a hang.
    let silent: SocketAddr =
        ([127, 0, 0, 1], std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("port").port()).into();
    assert!(sntp::query(silent, Duration::from_millis(300)).is_err());
}
