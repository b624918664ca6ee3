//! The parts of a WebDAV request that name things come from any client: the path below a
//! space, `Destination`, `If`, `Depth`, `Timeout`, the names of a chunked upload's chunks; and
//! from a share link's visitor: a path below the linked folder, a dropped file's name.
//! Parsing never panics; a path it accepts has only names that stay inside the space, and its
//! href reads back as the same path; chunks put in order are every chunk, once; a dropped
//! file's numbered name is a name a path takes, or refused.
#![no_main]
use hearth_dav::headers;
use hearth_dav::path::DavPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = DavPath::from_encoded(&text) {
        for n in p.names() {
            assert!(!n.is_empty() && n != "." && n != ".." && !n.contains('/') && !n.contains('\0'), "{n:?}");
        }
        let href = p.href("/dav/files/anna/", false);
        let back = DavPath::from_encoded(&href["/dav/files/anna/".len()..]).expect("an href we wrote reads back");
        assert_eq!(back, p);
    }
    // A share link's visitor names a path below the linked folder in plain names.
    if let Ok(p) = DavPath::from_key(&text) {
        let linked = DavPath::from_key("Shared/Trip").expect("a path");
        let below = p.rebased(&DavPath::root(), &linked);
        assert!(below.starts_with(&linked));
        assert_eq!(DavPath::from_key(&below.key()).expect("a key we wrote reads back"), below);
    }
    for n in [0, 1, 999] {
        let name = hearth_platform::durable::numbered(&text, n);
        if let Ok(checked) = DavPath::check_name(&name) {
            assert!(DavPath::root().child(&checked).is_ok());
        }
    }
    if let Ok(h) = headers::if_header(&text) {
        assert!(!h.lists.is_empty());
        let _ = h.tokens().count();
    }
    let _ = headers::same_host_path(&text, Some("box:8080"));
    let _ = headers::depth(Some(&text));
    let _ = headers::overwrite(Some(&text));
    assert!(headers::timeout(Some(&text)) <= headers::MOST_LOCK_SECONDS);
    let _ = headers::unix_time(&text);
    // The text's lines as the members of an upload folder, each with its length as a size.
    let members: Vec<(String, u64)> = text.lines().map(|l| (l.to_string(), l.len() as u64)).collect();
    let _ = hearth_dav::chunked::chunk_number(&text);
    if let Ok(ordered) = hearth_dav::chunked::order(members.clone(), None) {
        assert_eq!(ordered.len(), members.len());
        let numbers: Vec<u64> = ordered.iter().map(|c| hearth_dav::chunked::chunk_number(&c.name).expect("a chunk")).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    }
});
