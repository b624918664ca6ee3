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
    quota: Option<u64>,
    history: Option<hearth_dav::History>,
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
        Box_ { dav: Arc::new(Dav::default()), catalog: Arc::new(catalog), dir, quota: None, history: None }
    }

    fn space(&self) -> Space {
        let tree = Tree::open(self.dir.path().join("files"), self.dir.path().join("scratch")).expect("tree");
        Space {
            key: "home:1".into(),
            kind: SpaceKind::Files,
            tree,
            href_prefix: PREFIX.into(),
            principal: "anna".into(),
            quota: self.quota,
            history: self.history.clone(),
            access: hearth_dav::Access::Own,
            mounts: Vec::new(),
        }
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
            DavBody::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
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

const UPLOADS: &str = "/remote.php/dav/uploads/anna/";

impl Box_ {
    fn uploads(&self) -> Space {
        let tree = Tree::new(self.dir.path().join("uploads"), self.dir.path().join("scratch"));
        Space {
            key: "uploads:1".into(),
            kind: SpaceKind::Uploads,
            tree,
            href_prefix: UPLOADS.into(),
            principal: "anna".into(),
            quota: None,
            history: None,
            access: hearth_dav::Access::Own,
            mounts: Vec::new(),
        }
    }

    async fn upload(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut req = http::Request::builder().method(method).uri(format!("{UPLOADS}{path}")).header("host", "box");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (parts, _) = req.body(()).expect("request").into_parts();
        let r = self.dav.handle(self.catalog.clone(), self.uploads(), parts, path, Full::new(Bytes::copy_from_slice(body))).await;
        let (parts, body) = r.into_parts();
        let text = match body {
            DavBody::Text(t) => t,
            _ => String::new(),
        };
        Answer { status: parts.status, headers: parts.headers, text }
    }

    async fn finish(&self, upload: &str, destination: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = http::Request::builder().method("MOVE").uri(format!("{UPLOADS}{upload}/.file")).header("host", "box");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (parts, _) = req.body(()).expect("request").into_parts();
        let r = self.dav.finish_chunked(self.catalog.clone(), self.uploads(), upload, self.space(), parts, destination).await;
        let (parts, body) = r.into_parts();
        let text = match body {
            DavBody::Text(t) => t,
            _ => String::new(),
        };
        Answer { status: parts.status, headers: parts.headers, text }
    }
}

#[tokio::test]
async fn chunks_in_any_order_make_the_file_and_bad_sets_are_refused_and_kept() {
    let b = Box_::new();
    assert_eq!(b.upload("MKCOL", "u1", &[], b"").await.status, StatusCode::CREATED);
    // Sent out of order; "10" sorts after "9" by number, not by text.
    for n in [10u32, 2, 1, 9, 3, 4, 5, 6, 7, 8] {
        let r = b.upload("PUT", &format!("u1/{n}"), &[], format!("<{n:02}>").as_bytes()).await;
        assert_eq!(r.status, StatusCode::CREATED, "chunk {n}: {}", r.text);
    }
    // The wrong total: refused, the chunks stay for another try.
    let r = b.finish("u1", "video.mp4", &[("oc-total-length", "41")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("announced 41"), "{}", r.text);
    let listed = b.upload("PROPFIND", "u1", &[("depth", "1")], b"").await;
    assert_eq!(listed.text.matches("<d:response>").count(), 11, "the folder and its ten chunks: {}", listed.text);
    let r = b.finish("u1", "video.mp4", &[("oc-total-length", "40"), ("x-oc-mtime", "1557000000")]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.headers.contains_key("oc-fileid") && r.headers.contains_key("etag"));
    assert_eq!(r.headers.get("x-oc-mtime").map(|v| v.as_bytes()), Some(&b"accepted"[..]));
    assert_eq!(b.file("video.mp4").expect("assembled"), b"<01><02><03><04><05><06><07><08><09><10>");
    assert_eq!(b.upload("PROPFIND", "u1", &[("depth", "0")], b"").await.status, StatusCode::NOT_FOUND, "the upload's folder went");

    // A missing chunk and a duplicated one are named; nothing is written.
    b.upload("MKCOL", "u2", &[], b"").await;
    for n in ["1", "2", "4"] {
        b.upload("PUT", &format!("u2/{n}"), &[], b"x").await;
    }
    let r = b.finish("u2", "gap.bin", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("missing before &quot;4&quot;"), "{}", r.text);
    b.upload("PUT", "u2/3", &[], b"x").await;
    b.upload("PUT", "u2/0003", &[], b"x").await;
    let r = b.finish("u2", "gap.bin", &[]).await;
    assert!(r.status == StatusCode::BAD_REQUEST && r.text.contains("same number"), "{}", r.text);
    assert!(b.file("gap.bin").is_none());
    // Abandoning an upload removes it.
    assert_eq!(b.upload("DELETE", "u2", &[], b"").await.status, StatusCode::NO_CONTENT);

    // What is not how chunked uploads work is refused.
    assert_eq!(b.upload("PUT", "u3/1", &[], b"x").await.status, StatusCode::CONFLICT, "no such upload yet");
    b.upload("MKCOL", "u3", &[], b"").await;
    assert_eq!(b.upload("PUT", "u3/notes.txt", &[], b"x").await.status, StatusCode::BAD_REQUEST, "not a chunk's name");
    assert_eq!(b.upload("PUT", "u3", &[], b"x").await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(b.upload("MKCOL", "u3/deeper", &[], b"").await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(b.upload("LOCK", "u3", &[], b"").await.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(b.finish("nope", "x.bin", &[]).await.status, StatusCode::NOT_FOUND);
    // An upload announced larger than the disk is refused at once.
    let r = b.upload("MKCOL", "u4", &[("oc-total-length", &u64::MAX.to_string())], b"").await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.text);
}

#[tokio::test]
async fn a_file_keeps_its_id_when_overwritten_and_moved_and_a_copy_gets_another() {
    let b = Box_::new();
    let ask = br#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:fileid/><oc:permissions/><oc:size/></d:prop></d:propfind>"#;
    let id_of = |text: &str| -> String {
        let start =
            text.find("fileid xmlns:p=\"http://owncloud.org/ns\">").expect("a fileid") + "fileid xmlns:p=\"http://owncloud.org/ns\">".len();
        text[start..].split('<').next().expect("number").to_string()
    };
    let put = b.send("PUT", "Docs/a.txt", &[("x-nc-webdav-automkcol", "1")], b"one").await;
    assert_eq!(put.status, StatusCode::CREATED, "AutoMkcol made Docs: {}", put.text);
    let header_id = put.headers.get("oc-fileid").expect("OC-FileId").to_str().expect("ascii").to_string();
    let first = id_of(&b.send("PROPFIND", "Docs/a.txt", &[("depth", "0")], ask).await.text);
    assert!(header_id.starts_with(&format!("{first:0>8}")), "{header_id} against {first}");
    assert_eq!(b.send("PUT", "Docs/a.txt", &[], b"two").await.status, StatusCode::NO_CONTENT);
    assert_eq!(id_of(&b.send("PROPFIND", "Docs/a.txt", &[("depth", "0")], ask).await.text), first, "overwritten, same id");
    b.send("MOVE", "Docs", &[("destination", "/dav/files/anna/Papers")], b"").await;
    assert_eq!(id_of(&b.send("PROPFIND", "Papers/a.txt", &[("depth", "0")], ask).await.text), first, "moved, same id");
    b.send("COPY", "Papers/a.txt", &[("destination", "/dav/files/anna/Papers/b.txt")], b"").await;
    assert_ne!(id_of(&b.send("PROPFIND", "Papers/b.txt", &[("depth", "0")], ask).await.text), first, "a copy is another file");
    let folder = b.send("PROPFIND", "Papers", &[("depth", "0")], ask).await.text;
    assert!(folder.contains(">GDNVCK<") && folder.contains(">6<"), "a folder's permissions and the size beneath: {folder}");
    let root = b.send("PROPFIND", "", &[("depth", "0")], ask).await.text;
    assert!(root.contains(">GCK<"), "the root cannot be deleted or moved: {root}");
    // A file in the way of AutoMkcol is a conflict, and nothing is written.
    let r = b.send("PUT", "Papers/a.txt/c.txt", &[("x-nc-webdav-auto-mkcol", "1")], b"x").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}

#[tokio::test]
async fn a_quota_refuses_what_would_pass_it_and_keeps_what_was_there() {
    let mut b = Box_::new();
    b.quota = Some(1000);
    assert_eq!(b.send("PUT", "a.bin", &[], &[1u8; 600]).await.status, StatusCode::CREATED);
    let r = b.send("PUT", "b.bin", &[], &[2u8; 500]).await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.text);
    assert!(r.text.contains("quota-not-exceeded") && r.text.contains("quota is 1000 bytes"), "{}", r.text);
    assert!(b.file("b.bin").is_none());
    // Replacing a file counts what goes: 900 in place of 600 fits.
    assert_eq!(b.send("PUT", "a.bin", &[], &[3u8; 900]).await.status, StatusCode::NO_CONTENT);
    let r = b.send("COPY", "a.bin", &[("destination", "/dav/files/anna/c.bin")], b"").await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "a copy counts too: {}", r.text);
    let ask =
        br#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:quota-available-bytes/><d:quota-used-bytes/></d:prop></d:propfind>"#;
    let r = b.send("PROPFIND", "", &[("depth", "0")], ask).await;
    assert!(r.text.contains("<d:quota-available-bytes>100</d:quota-available-bytes>"), "{}", r.text);
    assert!(r.text.contains("<d:quota-used-bytes>900</d:quota-used-bytes>"), "{}", r.text);
    // Deleting gives the room back.
    assert_eq!(b.send("DELETE", "a.bin", &[], b"").await.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send("PUT", "b.bin", &[], &[2u8; 500]).await.status, StatusCode::CREATED);
    // A declared body past the quota is refused before it is read.
    let r = b.send("PUT", "big.bin", &[("content-length", "5000")], b"").await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE);
}

#[tokio::test]
async fn an_overwrite_keeps_the_old_file_and_a_delete_goes_to_the_trash() {
    let mut b = Box_::new();
    b.history = Some(hearth_dav::History {
        versions: hearth_dav::versions::Versions::new(b.dir.path().join("versions")),
        trash: hearth_dav::trash::Trash::new(b.dir.path().join("trash")),
    });
    assert_eq!(b.send("PUT", "report.txt", &[("x-oc-mtime", "1000")], b"first draft").await.status, StatusCode::CREATED);
    assert_eq!(b.send("PUT", "report.txt", &[("x-oc-mtime", "2000")], b"second draft").await.status, StatusCode::NO_CONTENT);
    let versions = b.dav.versions(b.catalog.clone(), b.space(), "report.txt").await.expect("versions");
    assert_eq!(versions.iter().map(|v| (v.name, v.size)).collect::<Vec<_>>(), [(1000, 11)]);
    // Putting the first draft back keeps the second as a version in turn.
    b.dav.restore_version(b.catalog.clone(), b.space(), "report.txt", 1000).await.expect("restore");
    assert_eq!(b.file("report.txt").expect("current"), b"first draft");
    let names: Vec<u64> =
        b.dav.versions(b.catalog.clone(), b.space(), "report.txt").await.expect("versions").iter().map(|v| v.name).collect();
    assert_eq!(names, [2000, 1000]);
    let missing = b.dav.restore_version(b.catalog.clone(), b.space(), "report.txt", 5).await.expect_err("no such version");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // A deleted folder waits in the trash and comes back whole, its file with its versions.
    b.send("MKCOL", "School", &[], b"").await;
    b.send("MOVE", "report.txt", &[("destination", "/dav/files/anna/School/report.txt")], b"").await;
    assert_eq!(b.send("DELETE", "School", &[], b"").await.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send("GET", "School/report.txt", &[], b"").await.status, StatusCode::NOT_FOUND, "gone for every client");
    let trashed = b.dav.trashed(b.catalog.clone(), b.space()).await.expect("trash");
    assert_eq!((trashed.len(), trashed[0].path.as_str(), trashed[0].folder), (1, "School", true));
    let back = b.dav.restore_trashed(b.catalog.clone(), b.space(), trashed[0].id).await.expect("restore");
    assert_eq!(back.key(), "School");
    assert_eq!(b.file("School/report.txt").expect("back"), b"first draft");
    assert_eq!(
        b.dav.versions(b.catalog.clone(), b.space(), "School/report.txt").await.expect("versions").len(),
        2,
        "its versions came back with it"
    );
    // Removed for good: one item, then everything.
    b.send("DELETE", "School/report.txt", &[], b"").await;
    b.send("PUT", "old.txt", &[], b"x").await;
    b.send("DELETE", "old.txt", &[], b"").await;
    let trashed = b.dav.trashed(b.catalog.clone(), b.space()).await.expect("trash");
    assert_eq!(trashed.len(), 2);
    b.dav.purge_trashed(b.catalog.clone(), b.space(), Some(trashed[0].id)).await.expect("purge one");
    assert_eq!(b.dav.trashed(b.catalog.clone(), b.space()).await.expect("trash").len(), 1);
    b.dav.purge_trashed(b.catalog.clone(), b.space(), None).await.expect("empty");
    assert!(b.dav.trashed(b.catalog.clone(), b.space()).await.expect("trash").is_empty());
    assert_eq!(std::fs::read_dir(b.dir.path().join("trash")).expect("trash").count(), 0);
}

#[tokio::test]
async fn versions_and_trash_go_after_thirty_days() {
    let mut b = Box_::new();
    let history = hearth_dav::History {
        versions: hearth_dav::versions::Versions::new(b.dir.path().join("versions")),
        trash: hearth_dav::trash::Trash::new(b.dir.path().join("trash")),
    };
    b.history = Some(history.clone());
    b.send("PUT", "a.txt", &[], b"one").await;
    b.send("PUT", "a.txt", &[], b"two").await;
    b.send("PUT", "b.txt", &[], b"gone").await;
    b.send("DELETE", "b.txt", &[], b"").await;
    let now = std::time::SystemTime::now();
    assert_eq!(hearth_dav::methods::expire(&b.catalog, &b.space(), &history, now).expect("expire"), (0, 0), "young ones stay");
    let later = now + std::time::Duration::from_secs(31 * 24 * 3600);
    assert_eq!(hearth_dav::methods::expire(&b.catalog, &b.space(), &history, later).expect("expire"), (1, 1));
    assert!(b.dav.trashed(b.catalog.clone(), b.space()).await.expect("trash").is_empty());
    assert!(b.dav.versions(b.catalog.clone(), b.space(), "a.txt").await.expect("versions").is_empty());
    assert_eq!(b.file("a.txt").expect("current"), b"two", "the current file is never touched");
}
