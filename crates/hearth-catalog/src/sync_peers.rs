//! Sync peers: paired Syncthing devices and pending ones (devices that dialled in unpaired).

use rusqlite::{Connection, OptionalExtension, params};

use crate::CatalogError;

/// A paired device.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncDevice {
    /// The device id as Syncthing prints it.
    pub device_id: String,
    /// A name for people.
    pub name: String,
    /// `tcp://HOST:PORT` addresses to dial; empty: wait for it (or find it on the LAN).
    pub addresses: Vec<String>,
    /// When it was paired (Unix seconds).
    pub added_at: i64,
}

/// A device that connected without being paired.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PendingDevice {
    /// Its device id.
    pub device_id: String,
    /// The name it gave in its Hello.
    pub name: String,
    /// Where it connected from.
    pub address: String,
    /// Its program and version (`syncthing v1.19.2`).
    pub client: String,
    /// First and last attempt (Unix seconds).
    pub first_seen: i64,
    /// Last attempt.
    pub last_seen: i64,
}

/// A folder a paired device offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PendingFolder {
    /// The offering device.
    pub device_id: String,
    /// The folder id (as the device names it).
    pub folder_id: String,
    /// Its label.
    pub label: String,
    /// First and last offer (Unix seconds).
    pub first_seen: i64,
    /// Last offer.
    pub last_seen: i64,
}

/// Remember (or refresh) a folder offer.
pub fn record_pending_folder(conn: &Connection, f: &PendingFolder) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO sync_pending_folders (device_id, folder_id, label, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (device_id, folder_id) DO UPDATE SET label = excluded.label, last_seen = excluded.last_seen",
        params![f.device_id, f.folder_id, f.label, f.last_seen],
    )?;
    Ok(())
}

/// Folder offers, most recent first.
pub fn list_pending_folders(conn: &Connection) -> Result<Vec<PendingFolder>, CatalogError> {
    let mut stmt = conn.prepare(
        "SELECT device_id, folder_id, label, first_seen, last_seen FROM sync_pending_folders ORDER BY last_seen DESC, folder_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PendingFolder { device_id: r.get(0)?, folder_id: r.get(1)?, label: r.get(2)?, first_seen: r.get(3)?, last_seen: r.get(4)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether `device_id` is paired.
pub fn is_paired(conn: &Connection, device_id: &str) -> Result<bool, CatalogError> {
    Ok(conn.query_row("SELECT 1 FROM sync_devices WHERE device_id = ?1", [device_id], |_| Ok(())).optional()?.is_some())
}

/// Remember (or refresh) a pending device.
pub fn record_pending(conn: &Connection, p: &PendingDevice) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO sync_pending_devices (device_id, name, address, client, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (device_id) DO UPDATE SET name = excluded.name, address = excluded.address,
             client = excluded.client, last_seen = excluded.last_seen",
        params![p.device_id, p.name, p.address, p.client, p.last_seen],
    )?;
    Ok(())
}

/// Pending devices, most recent first.
pub fn list_pending(conn: &Connection) -> Result<Vec<PendingDevice>, CatalogError> {
    let mut stmt = conn.prepare(
        "SELECT device_id, name, address, client, first_seen, last_seen FROM sync_pending_devices ORDER BY last_seen DESC, device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PendingDevice {
            device_id: r.get(0)?,
            name: r.get(1)?,
            address: r.get(2)?,
            client: r.get(3)?,
            first_seen: r.get(4)?,
            last_seen: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Pair a device (and forget it as pending). Pairing again updates name and addresses.
pub fn add_device(conn: &Connection, d: &SyncDevice) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO sync_devices (device_id, name, addresses, added_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device_id) DO UPDATE SET name = excluded.name, addresses = excluded.addresses",
        params![d.device_id, d.name, d.addresses.join(" "), d.added_at],
    )?;
    conn.execute("DELETE FROM sync_pending_devices WHERE device_id = ?1", [&d.device_id])?;
    Ok(())
}

/// A pending device's name, if it is pending.
pub fn pending_name(conn: &Connection, device_id: &str) -> Result<Option<String>, CatalogError> {
    Ok(conn.query_row("SELECT name FROM sync_pending_devices WHERE device_id = ?1", [device_id], |r| r.get(0)).optional()?)
}

/// Paired devices, by name.
pub fn list_devices(conn: &Connection) -> Result<Vec<SyncDevice>, CatalogError> {
    let mut stmt = conn.prepare("SELECT device_id, name, addresses, added_at FROM sync_devices ORDER BY name, device_id")?;
    let rows = stmt.query_map([], |r| {
        let addresses: String = r.get(2)?;
        Ok(SyncDevice {
            device_id: r.get(0)?,
            name: r.get(1)?,
            addresses: addresses.split_whitespace().map(str::to_string).collect(),
            added_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Unpair a device; whether it was paired.
pub fn remove_device(conn: &Connection, device_id: &str) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM sync_devices WHERE device_id = ?1", [device_id])? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_then_paired() {
        let dir = tempfile::tempdir().expect("tmp");
        let (catalog, _) = crate::Catalog::open(&dir.path().join("c.db")).expect("open");
        let p = PendingDevice {
            device_id: "AAA".into(),
            name: "phone".into(),
            address: "192.168.1.5:4000".into(),
            client: "syncthing v1.19.2".into(),
            first_seen: 10,
            last_seen: 10,
        };
        catalog.write(|tx| record_pending(tx, &p)).expect("pending");
        catalog.write(|tx| record_pending(tx, &PendingDevice { last_seen: 20, ..p.clone() })).expect("again");
        let pending = catalog.read(list_pending).expect("list");
        assert_eq!((pending.len(), pending[0].first_seen, pending[0].last_seen), (1, 10, 20));
        assert!(!catalog.read(|c| is_paired(c, "AAA")).expect("paired?"));
        let d =
            SyncDevice { device_id: "AAA".into(), name: "phone".into(), addresses: vec!["tcp://192.168.1.5:22000".into()], added_at: 30 };
        catalog.write(|tx| add_device(tx, &d)).expect("add");
        assert!(catalog.read(|c| is_paired(c, "AAA")).expect("paired?"));
        assert!(catalog.read(list_pending).expect("list").is_empty());
        assert_eq!(catalog.read(list_devices).expect("devices"), vec![d]);
        let offer =
            PendingFolder { device_id: "AAA".into(), folder_id: "camera".into(), label: "Camera".into(), first_seen: 40, last_seen: 40 };
        catalog.write(|tx| record_pending_folder(tx, &offer)).expect("offer");
        catalog.write(|tx| record_pending_folder(tx, &PendingFolder { last_seen: 50, ..offer.clone() })).expect("again");
        assert_eq!(catalog.read(list_pending_folders).expect("offers"), vec![PendingFolder { last_seen: 50, ..offer }]);
        assert!(catalog.write(|tx| remove_device(tx, "AAA")).expect("rm"));
        assert!(!catalog.write(|tx| remove_device(tx, "AAA")).expect("rm again"));
    }
}
