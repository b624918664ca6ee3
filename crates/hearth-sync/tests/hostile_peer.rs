//! A peer that lies: names that leave the folder, block lists that do not add up, data that does
//! not match its hash, an unknown message type. Hearth refuses each with a reason, writes only
//! the honest file, leaves no temporary files, touches nothing outside the folder, and ends the
//! connection on the protocol violation.

use std::time::Duration;

use hearth_sync::SyncError;
use hearth_sync::connection::{accept, connect, server_config};
use hearth_sync::engine::{Engine, NewFolder};
use hearth_sync::events::SyncEvent;
use hearth_sync::folder::FolderType;
use hearth_sync::identity::Identity;
use hearth_sync::protocol::frame::{read_message, write_message};
use hearth_sync::protocol::messages::*;
use tokio::io::AsyncWriteExt;

fn block(data: &[u8]) -> BlockInfo {
    BlockInfo {
        offset: 0,
        size: data.len() as i32,
        hash: ring::digest::digest(&ring::digest::SHA256, data).as_ref().to_vec(),
        weak_hash: 0,
    }
}

fn file(name: &str, data: &[u8]) -> FileInfo {
    FileInfo {
        name: name.into(),
        size: data.len() as i64,
        permissions: 0o644,
        modified_s: 1_795_000_000,
        version: Some(Vector { counters: vec![Counter { id: 7, value: 1 }] }),
        sequence: 1,
        blocks: vec![block(data)],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_peer_gets_nothing_but_the_honest_file_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("nas/folder");
    let (hearth, liar) = (Identity::generate().expect("id"), Identity::generate().expect("id"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let cfg = server_config(&liar).expect("cfg");
    let (catalog, _) = hearth_catalog::Catalog::open(&dir.path().join("catalog.db")).expect("catalog");
    let catalog = std::sync::Arc::new(catalog);
    let device = hearth_catalog::sync_peers::SyncDevice {
        device_id: liar.device_id.to_string(),
        name: "liar".into(),
        addresses: vec![],
        added_at: 0,
    };
    catalog.write(|tx| hearth_catalog::sync_peers::add_device(tx, &device)).expect("pair");
    let engine = Engine::new(catalog, hearth.clone(), "nas".into());
    let mut events = engine.subscribe();
    let new = NewFolder {
        id: "f".into(),
        label: "F".into(),
        path: root.clone(),
        kind: FolderType::ReceiveOnly,
        devices: vec![liar.device_id],
        keep_days: 30,
        staggered: false,
    };
    engine.add_folder(new).await.expect("folder");
    let (hearth_id, liar_id) = (hearth.device_id.0.to_vec(), liar.device_id.0.to_vec());
    let peer = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut c = accept(tcp, cfg, &Hello { device_name: "liar".into(), ..Default::default() }).await.expect("handshake");
        let honest = b"an honest photo".to_vec();
        let mut liar_file = file("liar.bin", b"0123456789");
        liar_file.size = 100; // blocks add up to 10
        let files = vec![
            file("../escape.txt", b"out"),
            file("/etc/evil", b"out"),
            file("sub/../../escape2.txt", b"out"),
            file(".stfolder", b"marker"),
            file("good.jpg", &honest),
            liar_file,
            file("tampered.jpg", b"the real bytes"),
        ];
        let shared = Folder {
            id: "f".into(),
            devices: vec![Device { id: liar_id, ..Default::default() }, Device { id: hearth_id, ..Default::default() }],
            ..Default::default()
        };
        write_message(&mut c.stream, &Message::ClusterConfig(ClusterConfig { folders: vec![shared] }), true).await.expect("cc");
        write_message(&mut c.stream, &Message::Index(Index { folder: "f".into(), files }), true).await.expect("index");
        let mut requested = Vec::new();
        loop {
            match read_message(&mut c.stream).await.expect("read") {
                Message::Request(r) => {
                    requested.push(r.name.clone());
                    let data = if r.name == "good.jpg" { honest.clone() } else { b"other bytes!!!".to_vec() };
                    let resp = Response { id: r.id, data: data.into(), code: 0 };
                    write_message(&mut c.stream, &Message::Response(resp), false).await.expect("resp");
                }
                Message::IndexUpdate(u) if !u.files.is_empty() => {
                    let names: Vec<String> = u.files.iter().map(|f| f.name.clone()).collect();
                    // Then a frame of an unknown type.
                    let header = [0x08u8, 99];
                    let mut frame = (header.len() as u16).to_be_bytes().to_vec();
                    frame.extend_from_slice(&header);
                    frame.extend_from_slice(&0u32.to_be_bytes());
                    c.stream.write_all(&frame).await.expect("garbage");
                    c.stream.flush().await.expect("flush");
                    return (requested, names);
                }
                _ => {}
            }
        }
    });
    let conn =
        connect(addr, &hearth, Some(liar.device_id), &Hello { device_name: "nas".into(), ..Default::default() }).await.expect("connect");
    let result = tokio::time::timeout(Duration::from_secs(30), engine.serve(conn, addr.to_string(), true)).await.expect("ends");
    assert!(matches!(result, Err(SyncError::Protocol(ref m)) if m.contains("unknown message type 99")), "{result:?}");
    let (mut requested, announced) = peer.await.expect("peer");
    requested.sort();
    requested.dedup();
    assert_eq!(requested, ["good.jpg", "tampered.jpg"], "bad names and bad block lists are never requested");
    assert_eq!(announced, ["good.jpg"], "only the honest file is announced as held");
    assert_eq!(std::fs::read(root.join("good.jpg")).expect("good"), b"an honest photo");
    assert!(!root.join("tampered.jpg").exists() && !root.join("liar.bin").exists());
    assert!(
        !dir.path().join("nas/escape.txt").exists()
            && !dir.path().join("escape.txt").exists()
            && !dir.path().join("nas/escape2.txt").exists()
    );
    let mut leftovers: Vec<_> = std::fs::read_dir(&root).expect("ls").map(|e| e.expect("e").file_name()).collect();
    leftovers.sort();
    assert_eq!(leftovers, [".stfolder", "good.jpg"], "no temporary files; the marker is the NAS's own");
    let mut arrived = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let SyncEvent::FileVersioned { name, .. } = &e {
            panic!("nothing was replaced, yet {name} was versioned");
        }
        if let SyncEvent::FileArrived { name, .. } = e {
            arrived.push(name);
        }
    }
    assert_eq!(arrived, ["good.jpg"]);
}
