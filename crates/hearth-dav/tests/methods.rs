//! The WebDAV methods driven in-process, as a client would, on a space in a temporary folder:
//! what the RFC and the bad-input list of issue 19 ask for, without a server in between.

use std::sync::Arc;

use bytes::Bytes;
use hearth_catalog::Catalog;
use hearth_dav::tree::Tree;
use hearth_dav::{Dav, DavBody, Space, SpaceKind};
use http::StatusCode;
use http_body_util::Full;

struct Box_ {
    dav: Arc<Dav>,
    catalog: Arc<Catalog>,
    dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    text: String,
}

const PREFIX: &str = "/dav/files/anna/";

impl Box_ {
    fn new() -> Box_ {
        let dir = tempfile::tempdir().expect("tmp");
        let (catalog, _) = Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
        Box_ { dav: Arc::new(Dav::default()), catalog: Arc::new(catalog), dir }
    }

    fn space(&self) -> Space {
        let tree = Tree::open(self.dir.path().join("files"), self.dir.path().join("scratch")).expect("tree");
        Space { key: "home:1".into(), kind: SpaceKind::Files, tree, href_prefix: PREFIX.into(), principal: "anna".into() }
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut req = http::Request::builder().method(method).uri(format!("{PREFIX}{path}")).header("host", "box");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (parts, _) = req.body(()).expect("request").into_parts();
        let body = Full::new(Bytes::copy_from_slice(body));
        let r = self.dav.handle(self.catalog.clone(), self.space(), parts, path, body).await;
        let (parts, body) = r.into_parts();
        let text = match body {
            DavBody::Empty => String::new(),
            DavBody::Text(t) => t,
            DavBody::File { file, .. } => {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut { file }, &mut s).expect("read");
                s
            }
        };
        Answer { status: parts.status, headers: parts.headers, text }
    }

    fn file(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.path().join("files").join(rel)).ok()
    }
}

#[tokio::test]
async fn paths_that_try_to_leave_the_space_are_refused() {
    let b = Box_::new();
    std::fs::write(b.dir.path().join("secret"), b"s").expect("write");
    for bad in ["../secret", "%2e%2e/secret", "a/%2E%2E/%2e%2e/secret", "..%2fsecret", "a%00b"] {
        let r = b.send("GET", bad, &[], b"").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        let r = b.send("PUT", bad, &[], b"x").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(std::fs::read(b.dir.path().join("secret")).expect("kept"), b"s");
    // A link made by hand inside the space leads nowhere.
    std::os::unix::fs::symlink(b.dir.path(), b.dir.path().join("files/out")).expect("link");
    assert_eq!(b.send("GET", "out/secret", &[], b"").await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.send("PUT", "out/new", &[], b"x").await.status, StatusCode::CONFLICT);
    assert!(!b.dir.path().join("new").exists());
    // Destinations elsewhere: another host, another user's space, a path outside.
    b.send("PUT", "a.txt", &[], b"a").await;
    for (dest, want) in [
        ("http://elsewhere/dav/files/anna/b.txt", StatusCode::BAD_GATEWAY),
        ("http://box/dav/files/bob/b.txt", StatusCode::BAD_GATEWAY),
        ("/dav/files/anna/../bob/b.txt", StatusCode::BAD_REQUEST),
        ("/dav/files/anna/%2e%2e/b.txt", StatusCode::BAD_REQUEST),
    ] {
        let r = b.send("MOVE", "a.txt", &[("destination", dest)], b"").await;
        assert_eq!(r.status, want, "{dest}: {}", r.text);
    }
    assert_eq!(b.file("a.txt").as_deref(), Some(&b"a"[..]));
}

#[tokio::test]
async fn moves_onto_themselves_or_into_their_children_are_refused() {
    let b = Box_::new();
    assert_eq!(b.send("MKCOL", "c", &[], b"").await.status, StatusCode::CREATED);
    assert_eq!(b.send("MKCOL", "c/d", &[], b"").await.status, StatusCode::CREATED);
    let r = b.send("MOVE", "c", &[("destination", "/dav/files/anna/c")], b"").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.send("MOVE", "c", &[("destination", "/dav/files/anna/c/d/e")], b"").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = b.send("COPY", "c", &[("destination", "/dav/files/anna/c/x")], b"").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = b.send("MOVE", "", &[("destination", "/dav/files/anna/x")], b"").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(b.send("DELETE", "", &[], b"").await.status, StatusCode::FORBIDDEN);
    assert!(b.dir.path().join("files/c/d").is_dir());
}

#[tokio::test]
async fn hostile_xml_bodies_are_refused_cheaply() {
    let b = Box_::new();
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
        <propfind xmlns="DAV:"><prop><x>&b;</x></prop></propfind>"#;
    let r = b.send("PROPFIND", "", &[("depth", "0")], laughs).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let deep = format!("<propfind xmlns=\"DAV:\"><prop>{}</prop></propfind>", "<x>".repeat(100_000));
    assert_eq!(b.send("PROPFIND", "", &[("depth", "0")], deep.as_bytes()).await.status, StatusCode::BAD_REQUEST);
    let huge =
        format!("<propertyupdate xmlns=\"DAV:\"><set><prop><x xmlns=\"urn:x\">{}</x></prop></set></propertyupdate>", "y".repeat(2 << 20));
    assert_eq!(b.send("PROPPATCH", "", &[], huge.as_bytes()).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(b.send("LOCK", "", &[], b"<lockinfo xmlns='DAV:'>").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.send("PROPFIND", "", &[("depth", "infinity")], b"").await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.send("PROPFIND", "", &[("depth", "2")], b"").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.send("PROPFIND", "", &[("depth", "0"), ("if", "(<broken")], b"").await.status, StatusCode::MULTI_STATUS);
    assert_eq!(b.send("PUT", "x", &[("if", "(<broken")], b"x").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.send("BREW", "", &[], b"").await.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn put_get_conditions_and_ranges_as_clients_expect() {
    let b = Box_::new();
    let r = b.send("PUT", "r%C3%A9sum%C3%A9.txt", &[], b"version one").await;
    assert_eq!(r.status, StatusCode::CREATED);
    let etag = r.headers["etag"].to_str().expect("etag").to_string();
    assert_eq!(b.file("résumé.txt").as_deref(), Some(&b"version one"[..]));
    // A stale If-Match is refused and loses nothing; the right one replaces.
    let r = b.send("PUT", "r%C3%A9sum%C3%A9.txt", &[("if-match", "\"stale\"")], b"lost").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = b.send("PUT", "r%C3%A9sum%C3%A9.txt", &[("if-none-match", "*")], b"lost").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = b.send("PUT", "r%C3%A9sum%C3%A9.txt", &[("if-match", &etag)], b"version two").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_ne!(r.headers["etag"], etag.as_str());
    assert_eq!(b.file("résumé.txt").as_deref(), Some(&b"version two"[..]));
    let r = b.send("GET", "r%C3%A9sum%C3%A9.txt", &[("if-none-match", r.headers["etag"].to_str().expect("s"))], b"").await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    // The phone's own modification time (Nextcloud's X-OC-Mtime) is kept and acknowledged.
    let r = b.send("PUT", "phone.jpg", &[("x-oc-mtime", "1700000000.5")], b"jpeg").await;
    assert_eq!(r.headers["x-oc-mtime"], "accepted");
    let t = std::fs::metadata(b.dir.path().join("files/phone.jpg")).and_then(|m| m.modified()).expect("mtime");
    assert_eq!(t, std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500));
    assert_eq!(b.send("PUT", "bad-time.jpg", &[("x-oc-mtime", "yesterday")], b"x").await.status, StatusCode::BAD_REQUEST);
    assert!(b.file("bad-time.jpg").is_none());
    // Empty files, files in missing folders, a folder where a file was asked for.
    assert_eq!(b.send("PUT", "empty", &[], b"").await.status, StatusCode::CREATED);
    assert_eq!(b.file("empty").map(|v| v.len()), Some(0));
    assert_eq!(b.send("PUT", "no/such/folder.txt", &[], b"x").await.status, StatusCode::CONFLICT);
    b.send("MKCOL", "f", &[], b"").await;
    assert_eq!(b.send("PUT", "f", &[], b"x").await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(b.send("PUT", "empty/below", &[], b"x").await.status, StatusCode::CONFLICT);
    assert_eq!(b.send("MKCOL", "f", &[], b"").await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(b.send("MKCOL", "g", &[], b"<x/>").await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(b.send("PUT", "p", &[("content-range", "bytes 0-1/2")], b"xy").await.status, StatusCode::BAD_REQUEST);
    // No temporaries are left behind by any of that.
    assert_eq!(std::fs::read_dir(b.dir.path().join("scratch")).expect("scratch").count(), 0);
}

#[tokio::test]
async fn propfind_lists_members_with_encoded_hrefs_and_dead_properties_follow_moves() {
    let b = Box_::new();
    b.send("MKCOL", "Photos", &[], b"").await;
    b.send("PUT", "Photos/IMG%201%23.jpg", &[], b"jpeg").await;
    let set = br#"<propertyupdate xmlns="DAV:"><set><prop><fav xmlns="urn:x">1</fav></prop></set></propertyupdate>"#;
    assert_eq!(b.send("PROPPATCH", "Photos/IMG%201%23.jpg", &[], set).await.status, StatusCode::MULTI_STATUS);
    let protected =
        br#"<propertyupdate xmlns="DAV:"><set><prop><getetag>"x"</getetag><o xmlns="urn:x">1</o></prop></set></propertyupdate>"#;
    let r = b.send("PROPPATCH", "Photos", &[], protected).await;
    assert!(r.text.contains("403 Forbidden") && r.text.contains("424 Failed Dependency"), "{}", r.text);
    let r = b.send("PROPFIND", "Photos", &[("depth", "1")], b"").await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS);
    assert!(r.text.contains("<d:href>/dav/files/anna/Photos/</d:href>"), "{}", r.text);
    assert!(r.text.contains("<d:href>/dav/files/anna/Photos/IMG%201%23.jpg</d:href>"), "{}", r.text);
    assert!(r.text.contains("<d:getcontenttype>image/jpeg</d:getcontenttype>"), "{}", r.text);
    assert!(r.text.contains("<p:fav xmlns:p=\"urn:x\">1</p:fav>"), "{}", r.text);
    let r = b.send("MOVE", "Photos", &[("destination", "/dav/files/anna/Pictures/")], b"").await;
    assert_eq!(r.status, StatusCode::CREATED);
    let ask = br#"<propfind xmlns="DAV:"><prop><fav xmlns="urn:x"/><nothing xmlns="urn:x"/></prop></propfind>"#;
    let r = b.send("PROPFIND", "Pictures/IMG%201%23.jpg", &[("depth", "0")], ask).await;
    assert!(r.text.contains("<p:fav xmlns:p=\"urn:x\">1</p:fav>") && r.text.contains("404 Not Found"), "{}", r.text);
    // Overwrite: F keeps what is there.
    b.send("PUT", "a", &[], b"a").await;
    b.send("PUT", "b", &[], b"b").await;
    let r = b.send("COPY", "a", &[("destination", "/dav/files/anna/b"), ("overwrite", "F")], b"").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(b.file("b").as_deref(), Some(&b"b"[..]));
    let r = b.send("COPY", "a", &[("destination", "/dav/files/anna/b")], b"").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(b.file("b").as_deref(), Some(&b"a"[..]));
}

#[tokio::test]
async fn two_uploads_of_one_name_at_once_each_land_whole() {
    let b = Arc::new(Box_::new());
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let body = vec![b'a' + i; 64 << 10];
            b.send("PUT", "same.bin", &[], &body).await.status
        }));
    }
    let mut created = 0;
    for t in tasks {
        let s = t.await.expect("task");
        assert!(s == StatusCode::CREATED || s == StatusCode::NO_CONTENT || s == StatusCode::PRECONDITION_FAILED, "{s}");
        created += usize::from(s == StatusCode::CREATED);
    }
    assert_eq!(created, 1, "one upload made the file; the others replaced it or were told it changed");
    let content = b.file("same.bin").expect("there");
    assert_eq!(content.len(), 64 << 10);
    assert!(content.iter().all(|c| *c == content[0]), "the file is one upload's bytes, never a mix");
    assert_eq!(std::fs::read_dir(b.dir.path().join("scratch")).expect("scratch").count(), 0);
}

async fn folder_tags(b: &Box_) -> Vec<String> {
    let ask = br#"<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>"#;
    let mut out = Vec::new();
    for folder in ["", "a", "a/b", "c"] {
        out.push(etag_of(&b.send("PROPFIND", folder, &[("depth", "0")], ask).await.text));
    }
    out
}

fn etag_of(text: &str) -> String {
    let start = text.find("<d:getetag>").expect("an etag") + "<d:getetag>".len();
    let end = start + text[start..].find("</d:getetag>").expect("closed");
    text[start..end].to_string()
}

#[tokio::test]
async fn a_folder_etag_changes_when_anything_beneath_it_changes_and_only_then() {
    let b = Box_::new();
    b.send("MKCOL", "a", &[], b"").await;
    b.send("MKCOL", "a/b", &[], b"").await;
    b.send("MKCOL", "c", &[], b"").await;
    let before = folder_tags(&b).await;
    assert_eq!(folder_tags(&b).await, before, "nothing changed, nothing moves");
    for (change, path, headers, body) in [
        ("PUT", "a/b/new.txt", vec![], &b"one"[..]),
        ("PUT", "a/b/new.txt", vec![], b"two"),
        ("COPY", "a/b/new.txt", vec![("destination", "/dav/files/anna/a/b/copy.txt")], b""),
        ("MOVE", "a/b/copy.txt", vec![("destination", "/dav/files/anna/a/b/moved.txt")], b""),
        ("DELETE", "a/b/moved.txt", vec![], b""),
        ("MKCOL", "a/b/d", vec![], b""),
    ] {
        let before = folder_tags(&b).await;
        let r = b.send(change, path, &headers, body).await;
        assert!(r.status.is_success(), "{change} {path}: {}", r.status);
        let after = folder_tags(&b).await;
        for i in 0..3 {
            assert_ne!(before[i], after[i], "{change} {path} changes the ETag of every folder above it ({i})");
        }
        assert_eq!(before[3], after[3], "{change} {path} leaves the folder beside alone");
    }
    // A GET's ETag of a folder is its PROPFIND ETag.
    let r = b.send("GET", "a", &[], b"").await;
    assert_eq!(r.headers["etag"].to_str().expect("etag"), folder_tags(&b).await[1]);
}
