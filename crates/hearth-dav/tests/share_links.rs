//! Files dropped through a folder's share link, in-process: never replacing, numbered names,
//! the quota and WebDAV locks holding, twenty visitors sending the same name at once.

use std::sync::Arc;

use bytes::Bytes;
use hearth_catalog::Catalog;
use hearth_dav::path::DavPath;
use hearth_dav::share_links::Looked;
use hearth_dav::tree::Tree;
use hearth_dav::{Dav, Space, SpaceKind};
use http::StatusCode;
use http_body_util::Full;

fn space(dir: &std::path::Path, quota: Option<u64>) -> Space {
    Space {
        key: "home:1".into(),
        kind: SpaceKind::Files,
        tree: Tree::open(dir.join("files"), dir.join("scratch")).expect("tree"),
        href_prefix: "/dav/files/anna/".into(),
        principal: "anna".into(),
        quota,
        history: None,
        access: hearth_dav::Access::Own,
        mounts: Vec::new(),
    }
}

fn body(bytes: &[u8]) -> Full<Bytes> {
    Full::new(Bytes::copy_from_slice(bytes))
}

#[tokio::test]
async fn a_drop_takes_a_free_name_and_never_replaces() {
    let dir = tempfile::tempdir().expect("tmp");
    let (catalog, _) = Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
    let (dav, catalog) = (Arc::new(Dav::default()), Arc::new(catalog));
    std::fs::create_dir_all(dir.path().join("files/Drop")).expect("mkdir");
    std::fs::write(dir.path().join("files/Drop/photo.jpg"), b"the family's own").expect("write");
    let folder = DavPath::from_key("Drop").expect("path");
    let first =
        dav.drop_file(catalog.clone(), space(dir.path(), None), folder.clone(), "photo.jpg", Some(5), body(b"guest")).await.expect("drop");
    assert_eq!(first.path.key(), "Drop/photo (1).jpg");
    assert_eq!(first.size, 5);
    assert!(first.id.is_some(), "a dropped file has an id");
    assert_eq!(std::fs::read(dir.path().join("files/Drop/photo.jpg")).expect("read"), b"the family's own");
    assert_eq!(std::fs::read(dir.path().join("files/Drop/photo (1).jpg")).expect("read"), b"guest");

    // Twenty visitors with the same name at once: twenty files, none lost.
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let (dav, catalog, sp, folder) = (dav.clone(), catalog.clone(), space(dir.path(), None), folder.clone());
        tasks.push(tokio::spawn(async move { dav.drop_file(catalog, sp, folder, "same.txt", None, body(&[b'a' + i])).await }));
    }
    let mut names = std::collections::BTreeSet::new();
    for t in tasks {
        names.insert(t.await.expect("task").expect("drop").path.key());
    }
    assert_eq!(names.len(), 20);
    let mut contents: Vec<Vec<u8>> = names.iter().map(|n| std::fs::read(dir.path().join("files").join(n)).expect("read")).collect();
    contents.sort();
    assert_eq!(contents, (0..20u8).map(|i| vec![b'a' + i]).collect::<Vec<_>>(), "each visitor's bytes under one name");

    let Looked::Folder(_, members) = dav.look(space(dir.path(), None), folder.clone()).await.expect("look") else {
        panic!("the folder is a folder")
    };
    assert_eq!(members.len(), 22);
    assert!(matches!(dav.look(space(dir.path(), None), first.path.clone()).await.expect("look"), Looked::File(e) if e.size == 5));
    let gone = DavPath::from_key("Drop/none").expect("path");
    assert!(matches!(dav.look(space(dir.path(), None), gone).await.expect("look"), Looked::Missing));
}

#[tokio::test]
async fn a_drop_is_refused_past_the_quota_into_a_missing_folder_or_with_a_bad_name() {
    let dir = tempfile::tempdir().expect("tmp");
    let (catalog, _) = Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
    let (dav, catalog) = (Arc::new(Dav::default()), Arc::new(catalog));
    std::fs::create_dir_all(dir.path().join("files/Drop")).expect("mkdir");
    let folder = DavPath::from_key("Drop").expect("path");
    // Announced too big, and sent without a length: both 507, nothing left behind.
    let e = dav
        .drop_file(catalog.clone(), space(dir.path(), Some(10)), folder.clone(), "big.bin", Some(11), body(&[0; 11]))
        .await
        .expect_err("over the quota");
    assert_eq!(e.status(), StatusCode::INSUFFICIENT_STORAGE);
    let e = dav
        .drop_file(catalog.clone(), space(dir.path(), Some(10)), folder.clone(), "big.bin", None, body(&[0; 11]))
        .await
        .expect_err("over the quota");
    assert_eq!(e.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(std::fs::read_dir(dir.path().join("files/Drop")).expect("list").count(), 0);
    assert_eq!(std::fs::read_dir(dir.path().join("scratch")).expect("list").count(), 0, "no temporary left");
    for bad in ["..", "a/b", "", "nul\0"] {
        let e =
            dav.drop_file(catalog.clone(), space(dir.path(), None), folder.clone(), bad, None, body(b"x")).await.expect_err("a bad name");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
    let missing = DavPath::from_key("Gone").expect("path");
    let e = dav.drop_file(catalog.clone(), space(dir.path(), None), missing, "a.txt", None, body(b"x")).await.expect_err("gone");
    assert_eq!(e.status(), StatusCode::NOT_FOUND);
}
