//! Family folders at the root of a member's files, in-process: listed with the member's own
//! folders, each answering for itself (its files, its permissions), read-only for a reader,
//! moved and copied into and out of, never deleted or replaced through a member's files.

use std::sync::Arc;

use bytes::Bytes;
use hearth_catalog::Catalog;
use hearth_dav::tree::Tree;
use hearth_dav::{Access, Dav, DavBody, Mount, Space, SpaceKind};
use http::StatusCode;
use http_body_util::Full;

const PREFIX: &str = "/dav/files/anna/";

fn space(dir: &std::path::Path, key: &str, folder: &str, prefix: String, access: Access, mounts: Vec<Mount>) -> Space {
    Space {
        key: key.into(),
        kind: SpaceKind::Files,
        tree: Tree::open(dir.join(folder), dir.join(format!("{folder}-scratch"))).expect("tree"),
        href_prefix: prefix,
        principal: "anna".into(),
        quota: None,
        history: None,
        access,
        mounts,
    }
}

fn home(dir: &std::path::Path) -> Space {
    let family = space(dir, "family:1", "family-1", format!("{PREFIX}Family/"), Access::FamilyWrite, Vec::new());
    let recipes = space(dir, "family:2", "family-2", format!("{PREFIX}Recipes/"), Access::FamilyRead, Vec::new());
    let mounts = vec![Mount { name: "Family".into(), space: family }, Mount { name: "Recipes".into(), space: recipes }];
    space(dir, "home:1", "home", PREFIX.into(), Access::Own, mounts)
}

async fn send(
    dav: &Arc<Dav>,
    catalog: &Arc<Catalog>,
    dir: &std::path::Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (StatusCode, String) {
    let mut req = http::Request::builder().method(method).uri(format!("{PREFIX}{path}")).header("host", "box");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (parts, _) = req.body(()).expect("request").into_parts();
    let r = dav.handle(catalog.clone(), home(dir), parts, path, Full::new(Bytes::copy_from_slice(body))).await;
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
    (parts.status, text)
}

const PERMISSIONS: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><d:resourcetype/><oc:permissions/><oc:fileid/></d:prop></d:propfind>"#;

#[tokio::test]
async fn family_folders_answer_for_themselves_inside_a_members_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let (catalog, _) = Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
    let (dav, catalog) = (Arc::new(Dav::default()), Arc::new(catalog));
    std::fs::create_dir_all(dir.path().join("family-2")).expect("mkdir");
    std::fs::write(dir.path().join("family-2/soup.txt"), b"leeks").expect("write");
    // A folder of Anna's own named like a family folder: the family folder stands in its place.
    std::fs::create_dir_all(dir.path().join("home/Family")).expect("mkdir");
    let s = |m: &'static str, p: &'static str, h: &[(&str, &str)], b: &'static [u8]| {
        let (dav, catalog, d) = (dav.clone(), catalog.clone(), dir.path().to_path_buf());
        let h: Vec<(String, String)> = h.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            send(&dav, &catalog, &d, m, p, &h, b).await
        }
    };
    assert_eq!(s("MKCOL", "Docs/", &[], b"").await.0, StatusCode::CREATED);

    // The root lists both family folders once, with their permissions.
    let (status, xml) = s("PROPFIND", "", &[("depth", "1")], PERMISSIONS.as_bytes()).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(xml.matches("<d:href>/dav/files/anna/Family/</d:href>").count(), 1, "{xml}");
    assert!(xml.contains("<d:href>/dav/files/anna/Recipes/</d:href>"), "{xml}");
    assert!(xml.contains(">SGCK</p:permissions>"), "{xml}");
    assert!(xml.contains(">SG</p:permissions>"), "{xml}");
    assert!(xml.contains(">GDNVCK</p:permissions>"), "Docs is Anna's own: {xml}");

    // A writer's family folder takes files, in the family folder's own place.
    assert_eq!(s("PUT", "Family/plan.txt", &[], b"picnic").await.0, StatusCode::CREATED);
    assert_eq!(std::fs::read(dir.path().join("family-1/plan.txt")).expect("read"), b"picnic");
    assert!(!dir.path().join("home/Family/plan.txt").exists());
    assert_eq!(s("GET", "Family/plan.txt", &[], b"").await, (StatusCode::OK, "picnic".into()));
    let (_, xml) = s("PROPFIND", "Family/", &[("depth", "1")], PERMISSIONS.as_bytes()).await;
    assert!(xml.contains("<d:href>/dav/files/anna/Family/plan.txt</d:href>"), "{xml}");
    assert!(xml.contains(">SGDNVW</p:permissions>"), "{xml}");
    assert_eq!(
        s("MOVE", "Family/plan.txt", &[("destination", "http://box/dav/files/anna/Family/picnic.txt")], b"").await.0,
        StatusCode::CREATED
    );

    // A reader's: read only.
    assert_eq!(s("GET", "Recipes/soup.txt", &[], b"").await, (StatusCode::OK, "leeks".into()));
    for (method, path) in [
        ("PUT", "Recipes/new.txt"),
        ("MKCOL", "Recipes/Cakes/"),
        ("DELETE", "Recipes/soup.txt"),
        ("PROPPATCH", "Recipes/soup.txt"),
        ("LOCK", "Recipes/soup.txt"),
    ] {
        assert_eq!(s(method, path, &[], b"").await.0, StatusCode::FORBIDDEN, "{method} {path}");
    }
    assert_eq!(std::fs::read(dir.path().join("family-2/soup.txt")).expect("read"), b"leeks");

    // Never deleted or replaced from a member's files.
    assert_eq!(s("DELETE", "Family/", &[], b"").await.0, StatusCode::FORBIDDEN);
    assert_eq!(s("PUT", "Family", &[], b"x").await.0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(s("MKCOL", "Family/", &[], b"").await.0, StatusCode::METHOD_NOT_ALLOWED);
    let into = |to: &'static str| [("destination", to)];
    for (method, from, to) in [
        ("MOVE", "Family/", "http://box/dav/files/anna/Docs/Family/"),
        ("COPY", "Family/", "http://box/dav/files/anna/Docs/Family/"),
        ("MOVE", "Docs/", "http://box/dav/files/anna/Family/"),
        ("MOVE", "Docs/", "http://box/dav/files/anna/Recipes/"),
    ] {
        assert_eq!(s(method, from, &into(to), b"").await.0, StatusCode::FORBIDDEN, "{method} {from} → {to}");
    }

    // Moved and copied between Anna's files and a family folder: the bytes, the file's id and
    // its properties go along; a reader copies out but neither moves out nor in.
    assert_eq!(s("PUT", "Docs/a.txt", &[], b"mine").await.0, StatusCode::CREATED);
    let fileid = |xml: &str| xml.split("fileid>").nth(1).map(|v| v.trim_end_matches("</p:").to_string()).unwrap_or_default();
    let before = fileid(&s("PROPFIND", "Docs/a.txt", &[("depth", "0")], PERMISSIONS.as_bytes()).await.1);
    assert!(!before.is_empty());
    assert_eq!(s("MOVE", "Docs/a.txt", &into("http://box/dav/files/anna/Family/a.txt"), b"").await.0, StatusCode::CREATED);
    assert_eq!(std::fs::read(dir.path().join("family-1/a.txt")).expect("moved"), b"mine");
    assert!(!dir.path().join("home/Docs/a.txt").exists());
    let after = fileid(&s("PROPFIND", "Family/a.txt", &[("depth", "0")], PERMISSIONS.as_bytes()).await.1);
    assert_eq!(after, before, "a moved file keeps its id");
    assert_eq!(s("COPY", "Family/picnic.txt", &into("http://box/dav/files/anna/Docs/p.txt"), b"").await.0, StatusCode::CREATED);
    assert_eq!(std::fs::read(dir.path().join("home/Docs/p.txt")).expect("copied"), b"picnic");
    assert!(dir.path().join("family-1/picnic.txt").exists());
    assert_eq!(
        s("MOVE", "Family/picnic.txt", &[("destination", "http://box/dav/files/anna/Docs/p.txt"), ("overwrite", "F")], b"").await.0,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(s("COPY", "Recipes/soup.txt", &into("http://box/dav/files/anna/Docs/soup.txt"), b"").await.0, StatusCode::CREATED);
    assert_eq!(s("MOVE", "Recipes/soup.txt", &into("http://box/dav/files/anna/Docs/soup2.txt"), b"").await.0, StatusCode::FORBIDDEN);
    assert_eq!(s("MOVE", "Docs/p.txt", &into("http://box/dav/files/anna/Recipes/p.txt"), b"").await.0, StatusCode::FORBIDDEN);
    assert!(dir.path().join("family-2/soup.txt").exists() && !dir.path().join("family-2/p.txt").exists());
    assert_eq!(s("COPY", "Docs/p.txt", &into("http://box/dav/files/anna/Family/No/p.txt"), b"").await.0, StatusCode::CONFLICT);
    // A whole folder, into a family folder and on into another.
    assert_eq!(s("MOVE", "Docs/", &into("http://box/dav/files/anna/Family/Docs/"), b"").await.0, StatusCode::CREATED);
    assert!(!dir.path().join("home/Docs").exists());
    assert_eq!(std::fs::read(dir.path().join("family-1/Docs/soup.txt")).expect("moved along"), b"leeks");
    // What the destination had goes (to its trash when it keeps one), as within one space.
    assert_eq!(s("PUT", "Family/b.txt", &[], b"old").await.0, StatusCode::CREATED);
    assert_eq!(s("PUT", "b.txt", &[], b"new").await.0, StatusCode::CREATED);
    assert_eq!(s("MOVE", "b.txt", &into("http://box/dav/files/anna/Family/b.txt"), b"").await.0, StatusCode::NO_CONTENT);
    assert_eq!(std::fs::read(dir.path().join("family-1/b.txt")).expect("replaced"), b"new");
}
