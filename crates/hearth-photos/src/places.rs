//! Offline reverse geocoding: a position becomes the town or city it is in or near (the nearest
//! within 50 km, unless a much bigger one is nearly as near: distance over population^¼), its
//! region and its country, from the place names file (`places.bin`, docs/places-format.md: the
//! GeoNames `cities1000` data that `scripts/geodata` prepares). Nothing leaves the box.
//!
//! Places are indexed by 1° cells when the file is loaded (about 155,000 places, 5 MB in
//! memory); a lookup reads the cells that can hold a place within reach (9 of them at most
//! latitudes, more towards the poles where degrees of longitude narrow), not the table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Farther than this from every place: no name (at sea, in the wilderness).
pub const MAX_DISTANCE_KM: f64 = 50.0;
const EARTH_RADIUS_KM: f64 = 6371.0;
const MAGIC: &[u8; 8] = b"HRTHPLC1";
const NO_REGION: u32 = u32::MAX;

/// The names of a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The town or city.
    pub city: String,
    /// The region (state, province), when GeoNames has one.
    pub region: Option<String>,
    /// The country.
    pub country: String,
}

/// Why a places file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the place names file is damaged: {0}")]
pub struct PlacesError(String);

struct Entry {
    lat: f32,
    lon: f32,
    name: u32,
    region: u32,
    country: u16,
    /// The fourth root of the population (at least 1): what a distance is divided by.
    weight: f32,
}

/// The loaded place names.
pub struct Places {
    /// Every name, back to back (one allocation, not 140,000), and where each starts and ends.
    text: String,
    spans: Vec<(u32, u32)>,
    countries: Vec<u32>,
    entries: Vec<Entry>,
    /// (floor(lat), floor(lon)) → indexes into `entries`.
    cells: HashMap<(i16, i16), Vec<u32>>,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PlacesError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.b.len()).ok_or_else(|| PlacesError("it ends early".into()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, PlacesError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, PlacesError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    /// A count of items at least `each` bytes long that must fit in what is left.
    fn count(&mut self, each: usize) -> Result<usize, PlacesError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(each) > self.b.len() - self.at {
            return Err(PlacesError(format!("it claims {n} items that cannot fit")));
        }
        Ok(n)
    }
}

impl Places {
    /// Parse and index a places file, checking everything docs/places-format.md lists.
    pub fn parse(file: &[u8]) -> Result<Places, PlacesError> {
        if file.len() < MAGIC.len() + 4 + 32 || &file[..8] != MAGIC {
            return Err(PlacesError("it is not a Hearth places file".into()));
        }
        let (body, sum) = file.split_at(file.len() - 32);
        if ring::digest::digest(&ring::digest::SHA256, body).as_ref() != sum {
            return Err(PlacesError("its checksum does not match".into()));
        }
        let mut r = Reader { b: body, at: 8 };
        let version = r.u32()?;
        if version != 1 {
            return Err(PlacesError(format!("version {version} is not known (1 is)")));
        }
        let n = r.count(2)?;
        let (mut text, mut spans) = (String::new(), Vec::with_capacity(n));
        for _ in 0..n {
            let len = usize::from(r.u16()?);
            let s = std::str::from_utf8(r.take(len)?).map_err(|_| PlacesError("a name is not UTF-8".into()))?;
            spans.push((text.len() as u32, (text.len() + s.len()) as u32));
            text.push_str(s);
        }
        text.shrink_to_fit();
        let string = |i: u32| (i as usize) < spans.len();
        let n = r.count(6)?;
        let mut countries = Vec::with_capacity(n);
        for _ in 0..n {
            r.take(2)?;
            let name = r.u32()?;
            if !string(name) {
                return Err(PlacesError("a country's name is out of range".into()));
            }
            countries.push(name);
        }
        let n = r.count(22)?;
        let mut entries = Vec::with_capacity(n);
        let mut cells: HashMap<(i16, i16), Vec<u32>> = HashMap::new();
        for i in 0..n {
            let lat = r.u32()? as i32;
            let lon = r.u32()? as i32;
            let (name, region, country, population) = (r.u32()?, r.u32()?, r.u16()?, r.u32()?);
            let (lat, lon) = (f64::from(lat) / 1e5, f64::from(lon) / 1e5);
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(PlacesError("a place is off the Earth".into()));
            }
            if !string(name) || (region != NO_REGION && !string(region)) || usize::from(country) >= countries.len() {
                return Err(PlacesError("a place's name, region or country is out of range".into()));
            }
            cells.entry(cell(lat, lon)).or_default().push(i as u32);
            let weight = (f64::from(population).powf(0.25) as f32).max(1.0);
            entries.push(Entry { lat: lat as f32, lon: lon as f32, name, region, country, weight });
        }
        if r.at != body.len() {
            return Err(PlacesError("there are bytes after the places".into()));
        }
        Ok(Places { text, spans, countries, entries, cells })
    }

    /// How many places.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The nearest place to a position, within [`MAX_DISTANCE_KM`].
    pub fn lookup(&self, latitude: f64, longitude: f64) -> Option<Place> {
        if !latitude.is_finite() || !longitude.is_finite() || latitude.abs() > 90.0 || longitude.abs() > 180.0 {
            return None;
        }
        let (clat, clon) = cell(latitude, longitude);
        // Every cell that can hold a place within reach: one cell of latitude either way (a
        // degree is 111 km), and as many of longitude as reach needs where degrees are narrowest.
        let widest_lat = (latitude.abs() + 1.0).min(90.0);
        let km_per_lon_degree = 111.32 * widest_lat.to_radians().cos();
        let lon_cells = if km_per_lon_degree < 1.0 { 180 } else { ((MAX_DISTANCE_KM / km_per_lon_degree).ceil() as i16).clamp(1, 180) };
        // (score, distance, index): the smallest distance / population^¼ within reach.
        let mut best: Option<(f64, f64, u32)> = None;
        for dlat in -1..=1i16 {
            for dlon in -lon_cells..=lon_cells {
                let lon_cell = (clon + dlon + 180).rem_euclid(360) - 180;
                let Some(list) = self.cells.get(&(clat + dlat, lon_cell)) else { continue };
                for &i in list {
                    let e = &self.entries[i as usize];
                    let d = distance_km(latitude, longitude, f64::from(e.lat), f64::from(e.lon));
                    let score = d / f64::from(e.weight);
                    if d <= MAX_DISTANCE_KM && best.is_none_or(|(b, _, _)| score < b) {
                        best = Some((score, d, i));
                    }
                }
            }
        }
        let (_, _, i) = best?;
        let e = &self.entries[i as usize];
        Some(Place {
            city: self.name(e.name),
            region: (e.region != NO_REGION).then(|| self.name(e.region)),
            country: self.name(self.countries[usize::from(e.country)]),
        })
    }

    fn name(&self, i: u32) -> String {
        let (a, b) = self.spans.get(i as usize).copied().unwrap_or((0, 0));
        self.text.get(a as usize..b as usize).unwrap_or_default().to_string()
    }
}

fn cell(lat: f64, lon: f64) -> (i16, i16) {
    (lat.floor() as i16, (lon.floor() as i16).clamp(-180, 179))
}

/// Equirectangular distance: within 1% of the great circle at tens of kilometres.
fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let mut dlon = (lon2 - lon1).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    let x = dlon.to_radians() * ((lat1 + lat2) / 2.0).to_radians().cos();
    let y = (lat2 - lat1).to_radians();
    (x * x + y * y).sqrt() * EARTH_RADIUS_KM
}

/// Where hearthd looks for the file: the image's place, then `../geodata/places.bin` next to its
/// own program (a development build in `target/debug/` finds `target/geodata/places.bin`).
pub fn default_paths() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("/usr/share/hearth/places.bin")];
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        paths.push(dir.join("../geodata/places.bin"));
    }
    paths
}

/// The place names from the first of [`default_paths`] that exists, loaded once; `None` (and a
/// log line, once) when there is none or it is damaged.
pub fn global() -> Option<&'static Places> {
    static PLACES: OnceLock<Option<Places>> = OnceLock::new();
    PLACES
        .get_or_init(|| {
            let paths = default_paths();
            let Some(path) = paths.iter().find(|p| p.exists()) else {
                tracing::warn!(looked_in = ?paths, "no place names file: photos keep their positions but get no place names (scripts/geodata makes it)");
                return None;
            };
            match std::fs::read(path).map_err(|e| PlacesError(e.to_string())).and_then(|b| Places::parse(&b)) {
                Ok(p) => {
                    tracing::info!(file = %path.display(), places = p.len(), "place names loaded");
                    Some(p)
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "photos get no place names");
                    None
                }
            }
        })
        .as_ref()
}

/// Name the places of every located asset that has no names yet (photos added before the place
/// names file was there, or with an older one); how many got names. In batches, so the catalog
/// is never held for long.
pub fn backfill(catalog: &hearth_catalog::Catalog, places: &Places) -> Result<usize, hearth_catalog::CatalogError> {
    let (mut after, mut named) = (0, 0);
    loop {
        let batch = catalog.read(move |r| hearth_catalog::assets::unplaced(r, after, 500))?;
        let Some(&(last, _, _)) = batch.last() else { return Ok(named) };
        after = last;
        let found: Vec<(i64, Place)> = batch.into_iter().filter_map(|(id, lat, lon)| places.lookup(lat, lon).map(|p| (id, p))).collect();
        named += found.len();
        catalog.write(move |tx| {
            for (id, p) in &found {
                hearth_catalog::assets::set_place(tx, *id, &p.city, p.region.as_deref(), &p.country)?;
            }
            Ok(())
        })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A places file with the given (lat, lon, city, region, country) rows.
    fn file(rows: &[(f64, f64, &str, Option<&str>, &str)]) -> Vec<u8> {
        let mut strings: Vec<String> = Vec::new();
        let mut intern = |s: &str| -> u32 {
            if let Some(i) = strings.iter().position(|x| x == s) {
                return i as u32;
            }
            strings.push(s.to_string());
            (strings.len() - 1) as u32
        };
        let mut countries: Vec<(String, u32)> = Vec::new();
        let mut places = Vec::new();
        for &(lat, lon, city, region, country) in rows {
            let c = match countries.iter().position(|(n, _)| n == country) {
                Some(i) => i,
                None => {
                    let name = intern(country);
                    countries.push((country.to_string(), name));
                    countries.len() - 1
                }
            };
            let (name, region) = (intern(city), region.map(&mut intern).unwrap_or(NO_REGION));
            places.push(((lat * 1e5).round() as i32, (lon * 1e5).round() as i32, name, region, c as u16));
        }
        let mut b = MAGIC.to_vec();
        b.extend(1u32.to_le_bytes());
        b.extend((strings.len() as u32).to_le_bytes());
        for s in &strings {
            b.extend((s.len() as u16).to_le_bytes());
            b.extend(s.as_bytes());
        }
        b.extend((countries.len() as u32).to_le_bytes());
        for (_, name) in &countries {
            b.extend(b"XX");
            b.extend(name.to_le_bytes());
        }
        b.extend((places.len() as u32).to_le_bytes());
        for (lat, lon, name, region, c) in places {
            b.extend(lat.to_le_bytes());
            b.extend(lon.to_le_bytes());
            b.extend(name.to_le_bytes());
            b.extend(region.to_le_bytes());
            b.extend(c.to_le_bytes());
            b.extend(1000u32.to_le_bytes());
        }
        let sum = ring::digest::digest(&ring::digest::SHA256, &b);
        b.extend(sum.as_ref());
        b
    }

    #[test]
    fn nearest_place_within_reach_across_cells_and_the_date_line() {
        let p = Places::parse(&file(&[
            (48.8566, 2.3522, "Paris", Some("Île-de-France"), "France"),
            (48.8049, 2.1204, "Versailles", Some("Île-de-France"), "France"),
            (-16.4667, 179.95, "Labasa", None, "Fiji"),
            (51.0, -0.999, "Westside", None, "United Kingdom"),
        ]))
        .expect("parse");
        let eiffel = p.lookup(48.8584, 2.2945).expect("Paris");
        assert_eq!((eiffel.city.as_str(), eiffel.region.as_deref(), eiffel.country.as_str()), ("Paris", Some("Île-de-France"), "France"));
        assert_eq!(p.lookup(48.81, 2.13).map(|p| p.city), Some("Versailles".into()));
        // Across the 180° meridian, and across a cell edge.
        assert_eq!(p.lookup(-16.47, -179.98).map(|p| p.city), Some("Labasa".into()));
        assert_eq!(p.lookup(51.0, -1.001).map(|p| p.city), Some("Westside".into()));
        // Mid-Atlantic: nothing within 50 km.
        assert_eq!(p.lookup(40.0, -35.0), None);
        assert_eq!(p.lookup(f64::NAN, 0.0), None);
    }

    #[test]
    fn damaged_files_are_refused() {
        let good = file(&[(1.0, 2.0, "A", None, "B")]);
        assert!(Places::parse(&good).is_ok());
        let mut flipped = good.clone();
        flipped[20] ^= 1;
        assert!(Places::parse(&flipped).is_err(), "checksum");
        assert!(Places::parse(&good[..good.len() - 1]).is_err());
        assert!(Places::parse(b"HRTHPLC1").is_err());
        assert!(Places::parse(&file(&[(91.0, 0.0, "Up", None, "Sky")])).is_err(), "off the Earth");
    }
}
