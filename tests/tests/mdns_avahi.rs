//! mDNS interop with a real avahi: hearthd runs in one network namespace, avahi-daemon and
//! avahi-browse in another, joined by a veth pair. avahi already owns `hearth.local` there, so
//! hearthd must pick `hearth-XXXX.local`; avahi must see `_hearth._tcp` and `_http._tcp` with the
//! right TXT, and see them leave when hearthd gets SIGTERM. Needs root (namespaces), like CI.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hearth_tests::avahi::Avahi;
use hearth_tests::netns::{ADDR_A, NetnsPair};
use hearth_tests::{daemon, poll};

#[test]
fn avahi_sees_hearth_with_its_txt_and_sees_it_leave() {
    let dir = tempfile::tempdir().expect("tempdir");
    let net = NetnsPair::new("m");
    // avahi already owns hearth.local in this network.
    let lab = Avahi::start(dir.path(), &net.b, &net.dev_b, "hearth");

    let data = dir.path().join("data");
    let hearthd_log = std::fs::File::create(dir.path().join("hearthd.log")).expect("log");
    let mut hearthd = Command::new("ip")
        .args(["netns", "exec", &net.a])
        .arg(daemon::hearthd())
        .args([
            "--data",
            data.to_str().expect("utf8"),
            "--listen",
            &format!("{ADDR_A}:8080"),
            "--https-listen",
            &format!("{ADDR_A}:8443"),
            "--name",
            "Test Hearth",
            "--board",
            "rpi4-2gb",
        ])
        .env("HEARTH_LOG", std::env::var("HEARTH_TEST_LOG").unwrap_or_else(|_| "info".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(hearthd_log)
        .spawn()
        .expect("hearthd");

    // Identity of the box, over its socket (the filesystem is shared between namespaces).
    let status = poll::until(Duration::from_secs(20), "hearthd's socket", || {
        let out = daemon::cli_at(&data, &["--json", "status"], "");
        out.status.success().then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok()).flatten()
    });
    let device = &status["device"];
    let id = device["id"].as_str().expect("id");
    let fp = device["cert_sha256"].as_str().expect("fingerprint");
    let expected_host = format!("hearth-{}.local", &id[..4]);

    let log = || std::fs::read_to_string(dir.path().join("hearthd.log")).unwrap_or_default();
    // Wait for the entry on the fallback host name: when mdns-sd's probe finds the conflict
    // after a first announcement, avahi may briefly list the old record until its goodbye.
    let entry = poll::until(Duration::from_secs(30), "_hearth._tcp on the fallback host name in avahi-browse", || {
        lab.browse("_hearth._tcp").into_iter().find(|f| {
            f.get(3).is_some_and(|n| n.contains("Test")) && f.get(2).is_some_and(|p| p == "IPv4") && f.get(6) == Some(&expected_host)
        })
    });
    // =;iface;IPv4;name;type;domain;host;address;port;txt
    assert_eq!(entry[4], "_hearth._tcp");
    assert_eq!(entry[6], expected_host, "avahi owns hearth.local in this network, so hearthd must use {expected_host}; log:\n{}", log());
    assert_eq!(entry[7], ADDR_A);
    assert_eq!(entry[8], "8080");
    let txt = &entry[9];
    for want in [
        format!("\"version={}\"", env!("CARGO_PKG_VERSION")),
        "\"board=rpi4-2gb\"".to_string(),
        "\"device=Test Hearth\"".to_string(),
        "\"https_port=8443\"".to_string(),
        format!("\"cert_sha256={fp}\""),
        format!("\"id={id}\""),
    ] {
        assert!(txt.contains(&want), "TXT {txt} lacks {want}");
    }
    let http = lab.browse("_http._tcp");
    assert!(http.iter().any(|f| f.get(3).is_some_and(|n| n.contains("Test")) && f.get(8).is_some_and(|p| p == "8080")), "{http:?}");
    let resolved = lab.run(&["avahi-resolve-host-name", "-4", &expected_host]);
    assert!(resolved.contains(ADDR_A), "{expected_host} resolves: {resolved:?}");
    // Laptops find where to back up (restic's REST protocol, over HTTPS).
    let restic = poll::until(Duration::from_secs(30), "_restic._tcp in avahi-browse", || {
        lab.browse("_restic._tcp")
            .into_iter()
            .find(|f| f.get(3).is_some_and(|n| n.contains("Test")) && f.get(2).is_some_and(|p| p == "IPv4"))
    });
    assert_eq!(restic[8], "8443");
    assert!(restic[9].contains("\"path=/restic/\"") && restic[9].contains("\"scheme=https\""), "TXT {}", restic[9]);
    // File managers find the family's files, over HTTP and over TLS.
    for (kind, port) in [("_webdav._tcp", "8080"), ("_webdavs._tcp", "8443")] {
        let found = poll::until(Duration::from_secs(30), &format!("{kind} in avahi-browse"), || {
            lab.browse(kind).into_iter().find(|f| f.get(3).is_some_and(|n| n.contains("Test")) && f.get(2).is_some_and(|p| p == "IPv4"))
        });
        assert_eq!(found[8], port, "{kind}");
        assert!(found[9].contains("\"path=/remote.php/dav/files/\""), "{kind} TXT {}", found[9]);
    }
    // Calendar and contact apps find the DAV root (RFC 6764), over HTTP and over TLS.
    for (kind, port) in [("_caldav._tcp", "8080"), ("_carddav._tcp", "8080"), ("_caldavs._tcp", "8443"), ("_carddavs._tcp", "8443")] {
        let found = poll::until(Duration::from_secs(30), &format!("{kind} in avahi-browse"), || {
            lab.browse(kind).into_iter().find(|f| f.get(3).is_some_and(|n| n.contains("Test")) && f.get(2).is_some_and(|p| p == "IPv4"))
        });
        assert_eq!(found[8], port, "{kind}");
        assert!(found[9].contains("\"path=/dav/\""), "{kind} TXT {}", found[9]);
    }

    // The family renames the box: the LAN sees the new name at once, the old one goes
    // (avahi-browse -p writes the space as \\032, so the names are matched by a word).
    let renamed = daemon::cli_at(&data, &["box", "--name", "Les Martin"], "");
    assert!(renamed.status.success(), "{}", String::from_utf8_lossy(&renamed.stderr));
    poll::until(Duration::from_secs(30), "the new name in avahi-browse, the old one gone", || {
        let now = lab.browse("_hearth._tcp");
        let new = now.iter().any(|f| f.get(3).is_some_and(|n| n.contains("Martin")));
        let old = now.iter().any(|f| f.get(3).is_some_and(|n| n.contains("Test")));
        (new && !old).then_some(())
    });

    // SIGTERM: the goodbye removes the services long before their TTL would.
    hearth_platform::process::terminate(hearthd.id());
    let exit = poll::until(Duration::from_secs(20), "hearthd to exit", || hearthd.try_wait().ok().flatten());
    assert!(exit.success(), "hearthd exit: {exit}: {}", std::fs::read_to_string(dir.path().join("hearthd.log")).unwrap_or_default());
    let gone_at = Instant::now();
    poll::until(Duration::from_secs(10), "_hearth._tcp to disappear after SIGTERM", || {
        (!lab.browse("_hearth._tcp").iter().any(|f| f.get(3).is_some_and(|n| n.contains("Martin")))).then_some(())
    });
    assert!(gone_at.elapsed() < Duration::from_secs(10), "removed by goodbye, not by TTL expiry (120 s)");
}
