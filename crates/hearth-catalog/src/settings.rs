//! The box's own settings as key/value text (device id, claim time, what the family set about
//! the box).

use rusqlite::{Connection, OptionalExtension, params};

use hearth_core::box_settings::{BoxName, BoxSettings, TileUrl, TimeZoneName};

use crate::CatalogError;

/// Read a setting.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>, CatalogError> {
    Ok(conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// Write a setting.
pub fn set(conn: &Connection, key: &str, value: &str) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

const BOX_NAME: &str = "box.name";
const BOX_TIME_ZONE: &str = "box.time_zone";
const BOX_MAP_TILES: &str = "box.map_tiles";

/// What the family set about the box; `name` where they never named it. A stored value the
/// current rules refuse (written by hand, or a zone the embedded database dropped) reads as unset.
pub fn box_settings(conn: &Connection, name: BoxName) -> Result<BoxSettings, CatalogError> {
    let mut s = BoxSettings::defaults(name);
    if let Some(n) = get(conn, BOX_NAME)?.and_then(|v| BoxName::parse(&v).ok()) {
        s.name = n;
    }
    if let Some(z) = get(conn, BOX_TIME_ZONE)?.and_then(|v| TimeZoneName::parse(&v).ok()) {
        s.time_zone = z;
    }
    s.map_tiles = get(conn, BOX_MAP_TILES)?.and_then(|v| TileUrl::parse(&v).ok());
    Ok(s)
}

/// The box's time zone, when the family set one.
pub fn time_zone(conn: &Connection) -> Result<Option<TimeZoneName>, CatalogError> {
    Ok(get(conn, BOX_TIME_ZONE)?.and_then(|v| TimeZoneName::parse(&v).ok()))
}

/// Keep the box's settings (in the caller's transaction).
pub fn set_box_settings(conn: &Connection, s: &BoxSettings) -> Result<(), CatalogError> {
    set(conn, BOX_NAME, s.name.as_str())?;
    set(conn, BOX_TIME_ZONE, s.time_zone.as_str())?;
    match &s.map_tiles {
        Some(t) => set(conn, BOX_MAP_TILES, t.as_str())?,
        None => {
            conn.execute("DELETE FROM settings WHERE key = ?1", [BOX_MAP_TILES])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_settings_round_trip_and_unreadable_values_read_as_unset() {
        let (_dir, catalog, _) = crate::fixtures::catalog();
        catalog
            .write(|tx| {
                let default = BoxName::parse("Hearth").expect("name");
                assert_eq!(box_settings(tx, default.clone()).expect("read"), BoxSettings::defaults(default.clone()));
                let chosen = BoxSettings {
                    name: BoxName::parse("Les Martin").expect("name"),
                    time_zone: TimeZoneName::parse("Europe/Paris").expect("zone"),
                    map_tiles: Some(TileUrl::parse("https://tiles.example/{z}/{x}/{y}.png").expect("tiles")),
                };
                set_box_settings(tx, &chosen).expect("write");
                assert_eq!(box_settings(tx, default.clone()).expect("read"), chosen);
                set_box_settings(tx, &BoxSettings { map_tiles: None, ..chosen.clone() }).expect("write");
                set(tx, BOX_TIME_ZONE, "Atlantis/Capital").expect("write");
                let read = box_settings(tx, default).expect("read");
                assert_eq!((read.time_zone, read.map_tiles), (TimeZoneName::utc(), None));
                Ok(())
            })
            .expect("catalog");
    }
}
