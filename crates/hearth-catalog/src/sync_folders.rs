//! Sync folders: which folders the box shares, with whom, and the box's own index of each (the
//! entries are opaque bytes here; `hearth-sync` encodes them).

use rusqlite::{Connection, OptionalExtension, params};

use crate::CatalogError;

/// A shared folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncFolder {
    /// The folder id, the same on every device sharing it.
    pub folder_id: String,
    /// A name for people.
    pub label: String,
    /// Where its files are on the NAS.
    pub path: String,
    /// `send-receive`, `send-only` or `receive-only`.
    pub kind: String,
    /// `trashcan` or `staggered`.
    pub versioning: String,
    /// Versions older than this many days are removed (0: kept forever).
    pub keep_days: i64,
    /// Paired devices it is shared with (device ids).
    pub devices: Vec<String>,
    /// When it was added (Unix seconds).
    pub added_at: i64,
}

/// A folder's index identity: which index this is and how far its sequence numbers have gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexHead {
    /// Random, made when the folder is added; a new one tells peers to forget what they know.
    pub index_id: u64,
    /// The highest sequence number handed out.
    pub max_sequence: i64,
}

/// Add a folder (an error if its id or path is taken) and forget offers of it.
pub fn add_folder(conn: &Connection, f: &SyncFolder, index_id: u64) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO sync_folders (folder_id, label, path, kind, versioning, keep_days, index_id, added_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![f.folder_id, f.label, f.path, f.kind, f.versioning, f.keep_days, index_id as i64, f.added_at],
    )?;
    for d in &f.devices {
        share(conn, &f.folder_id, d)?;
    }
    conn.execute("DELETE FROM sync_pending_folders WHERE folder_id = ?1", [&f.folder_id])?;
    Ok(())
}

/// Share a folder with a paired device; whether it was new.
pub fn share(conn: &Connection, folder_id: &str, device_id: &str) -> Result<bool, CatalogError> {
    let n =
        conn.execute("INSERT OR IGNORE INTO sync_folder_devices (folder_id, device_id) VALUES (?1, ?2)", params![folder_id, device_id])?;
    conn.execute("DELETE FROM sync_pending_folders WHERE folder_id = ?1 AND device_id = ?2", params![folder_id, device_id])?;
    Ok(n > 0)
}

/// Stop sharing a folder with a device; whether it was shared.
pub fn unshare(conn: &Connection, folder_id: &str, device_id: &str) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM sync_folder_devices WHERE folder_id = ?1 AND device_id = ?2", params![folder_id, device_id])? > 0)
}

/// Remove a folder and its index (its files stay on disk); whether it existed.
pub fn remove_folder(conn: &Connection, folder_id: &str) -> Result<bool, CatalogError> {
    conn.execute("DELETE FROM sync_files WHERE folder_id = ?1", [folder_id])?;
    conn.execute("DELETE FROM sync_folder_devices WHERE folder_id = ?1", [folder_id])?;
    Ok(conn.execute("DELETE FROM sync_folders WHERE folder_id = ?1", [folder_id])? > 0)
}

/// Every folder, by label.
pub fn list_folders(conn: &Connection) -> Result<Vec<SyncFolder>, CatalogError> {
    let mut stmt =
        conn.prepare("SELECT folder_id, label, path, kind, versioning, keep_days, added_at FROM sync_folders ORDER BY label, folder_id")?;
    let mut folders = stmt
        .query_map([], |r| {
            Ok(SyncFolder {
                folder_id: r.get(0)?,
                label: r.get(1)?,
                path: r.get(2)?,
                kind: r.get(3)?,
                versioning: r.get(4)?,
                keep_days: r.get(5)?,
                devices: Vec::new(),
                added_at: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut devices = conn.prepare("SELECT device_id FROM sync_folder_devices WHERE folder_id = ?1 ORDER BY device_id")?;
    for f in &mut folders {
        f.devices = devices.query_map([&f.folder_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    }
    Ok(folders)
}

/// One folder.
pub fn get_folder(conn: &Connection, folder_id: &str) -> Result<Option<SyncFolder>, CatalogError> {
    Ok(list_folders(conn)?.into_iter().find(|f| f.folder_id == folder_id))
}

/// A folder's index identity.
pub fn index_head(conn: &Connection, folder_id: &str) -> Result<Option<IndexHead>, CatalogError> {
    Ok(conn
        .query_row("SELECT index_id, max_sequence FROM sync_folders WHERE folder_id = ?1", [folder_id], |r| {
            Ok(IndexHead { index_id: r.get::<_, i64>(0)? as u64, max_sequence: r.get(1)? })
        })
        .optional()?)
}

/// Every entry of a folder's index as `(name, sequence, entry)`, in sequence order.
pub fn load_entries(conn: &Connection, folder_id: &str) -> Result<Vec<(String, i64, Vec<u8>)>, CatalogError> {
    let mut stmt = conn.prepare("SELECT name, sequence, entry FROM sync_files WHERE folder_id = ?1 ORDER BY sequence")?;
    let rows = stmt.query_map([folder_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Store changed entries `(name, sequence, entry)` and the new highest sequence, in the caller's
/// transaction so the index and its head never disagree.
pub fn store_entries(
    conn: &Connection,
    folder_id: &str,
    entries: &[(String, i64, Vec<u8>)],
    max_sequence: i64,
) -> Result<(), CatalogError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO sync_files (folder_id, name, sequence, entry) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (folder_id, name) DO UPDATE SET sequence = excluded.sequence, entry = excluded.entry",
    )?;
    for (name, sequence, entry) in entries {
        stmt.execute(params![folder_id, name, sequence, entry])?;
    }
    conn.execute("UPDATE sync_folders SET max_sequence = max(max_sequence, ?2) WHERE folder_id = ?1", params![folder_id, max_sequence])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync_peers::{PendingFolder, SyncDevice, add_device, list_pending_folders, record_pending_folder};

    #[test]
    fn folders_devices_and_index() {
        let dir = tempfile::tempdir().expect("tmp");
        let (catalog, _) = crate::Catalog::open(&dir.path().join("c.db")).expect("open");
        let phone = SyncDevice { device_id: "PHONE".into(), name: "phone".into(), addresses: vec![], added_at: 1 };
        catalog.write(|tx| add_device(tx, &phone)).expect("device");
        let offer =
            PendingFolder { device_id: "PHONE".into(), folder_id: "cam".into(), label: "Camera".into(), first_seen: 2, last_seen: 2 };
        catalog.write(|tx| record_pending_folder(tx, &offer)).expect("offer");
        let f = SyncFolder {
            folder_id: "cam".into(),
            label: "Camera".into(),
            path: "/data/cam".into(),
            kind: "receive-only".into(),
            versioning: "trashcan".into(),
            keep_days: 30,
            devices: vec!["PHONE".into()],
            added_at: 3,
        };
        catalog.write(|tx| add_folder(tx, &f, u64::MAX - 5)).expect("add");
        assert!(catalog.read(list_pending_folders).expect("offers").is_empty(), "accepting clears the offer");
        assert_eq!(catalog.read(list_folders).expect("list"), vec![f.clone()]);
        assert!(catalog.write(|tx| add_folder(tx, &SyncFolder { folder_id: "other".into(), ..f.clone() }, 1)).is_err(), "same path");
        assert!(catalog.write(|tx| share(tx, "cam", "NOT-PAIRED")).is_err(), "only paired devices");

        let entries = vec![("a.jpg".to_string(), 1, vec![1u8, 2]), ("b.jpg".to_string(), 2, vec![3u8])];
        catalog.write(|tx| store_entries(tx, "cam", &entries, 2)).expect("store");
        catalog.write(|tx| store_entries(tx, "cam", &[("a.jpg".to_string(), 3, vec![9u8])], 3)).expect("update");
        let loaded = catalog.read(|c| load_entries(c, "cam")).expect("load");
        assert_eq!(loaded, vec![("b.jpg".to_string(), 2, vec![3u8]), ("a.jpg".to_string(), 3, vec![9u8])]);
        assert_eq!(catalog.read(|c| index_head(c, "cam")).expect("head"), Some(IndexHead { index_id: u64::MAX - 5, max_sequence: 3 }));

        // Unpairing the device unshares the folder; removing the folder drops its index.
        catalog.write(|tx| crate::sync_peers::remove_device(tx, "PHONE")).expect("unpair");
        assert!(catalog.read(|c| get_folder(c, "cam")).expect("get").expect("still there").devices.is_empty());
        assert!(catalog.write(|tx| remove_folder(tx, "cam")).expect("rm"));
        assert!(catalog.read(|c| load_entries(c, "cam")).expect("load").is_empty());
    }
}
