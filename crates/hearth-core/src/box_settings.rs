//! What the family chooses about the box itself, from the web app rather than `hearth.toml`: its
//! name (what phones and the LAN see), its time zone (what "today" and "at night" mean for it) and
//! where the map's tiles come from, if anywhere.
//!
//! Each value is a type that can only hold something valid; text from outside goes through
//! `parse`, which says what is wrong in words a family member can act on.

use std::fmt;

/// A box name: 1 to 63 characters once trimmed, no control characters. 63 because it is also an
/// mDNS instance label.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct BoxName(String);

/// An IANA time zone name (`Europe/Paris`, `UTC`), one the box's embedded time zone database knows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

/// A map tile address template: `http://` or `https://`, with `{z}`, `{x}` and `{y}` (and
/// optionally `{s}` or `{r}`, as Leaflet understands them), no other braces.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct TileUrl(String);

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoxSettingError {
    /// The name is empty, too long or has control characters.
    #[error("the box's name must be 1 to 63 characters without line breaks or tabs")]
    Name,
    /// Not a time zone the box knows.
    #[error("\"{0}\" is not a time zone this box knows; use a name such as Europe/Paris or America/New_York")]
    TimeZone(String),
    /// Not a tile template.
    #[error("the map tile address must start with http:// or https:// and hold {{z}}, {{x}} and {{y}}")]
    TileUrl,
}

impl crate::Kinded for BoxSettingError {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::InvalidInput
    }
}

impl BoxName {
    /// The name as the family typed it, trimmed.
    pub fn parse(text: &str) -> Result<Self, BoxSettingError> {
        let name = text.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > 63 || name.chars().any(char::is_control) {
            return Err(BoxSettingError::Name);
        }
        Ok(Self(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TimeZoneName {
    /// `UTC`, the zone of a box nobody has told otherwise.
    pub fn utc() -> Self {
        Self("UTC".into())
    }

    /// A name the embedded database knows (case as the database spells it).
    pub fn parse(text: &str) -> Result<Self, BoxSettingError> {
        let name = text.trim();
        let refused = || BoxSettingError::TimeZone(name.chars().take(64).collect());
        if name.is_empty() || name.len() > 64 {
            return Err(refused());
        }
        let zone = jiff::tz::db().get(name).map_err(|_| refused())?;
        Ok(Self(zone.iana_name().unwrap_or(name).to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone's rules.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        // Parsed names are in the database, which is embedded and does not change while running.
        jiff::tz::db().get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// The civil date (year, month, day) at Unix second `at` in this zone.
    pub fn date_at(&self, at: i64) -> (i32, u8, u8) {
        match jiff::Timestamp::from_second(at) {
            Ok(t) => {
                let d = t.to_zoned(self.zone()).date();
                (i32::from(d.year()), d.month() as u8, d.day() as u8)
            }
            Err(_) => {
                let (y, m, d) = crate::calendar::civil_from_days(at.div_euclid(86_400));
                (y as i32, m as u8, d as u8)
            }
        }
    }

    /// The offset from UTC in seconds at Unix second `at`.
    pub fn offset_at(&self, at: i64) -> i32 {
        jiff::Timestamp::from_second(at).map(|t| self.zone().to_offset(t).seconds()).unwrap_or(0)
    }
}

impl TileUrl {
    /// A template Leaflet can fill in.
    pub fn parse(text: &str) -> Result<Self, BoxSettingError> {
        let url = text.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let host_ok = url.split("://").nth(1).and_then(|rest| rest.split('/').next()).is_some_and(|h| !h.is_empty());
        let has_all = ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p));
        let mut rest = url.to_string();
        for p in ["{z}", "{x}", "{y}", "{s}", "{r}"] {
            rest = rest.replace(p, "");
        }
        let clean = !rest.contains(['{', '}', '"', '\'', '<', '>', ' ', '\\']) && !url.chars().any(char::is_control);
        if !(scheme_ok && host_ok && has_all && clean) || url.len() > 512 {
            return Err(BoxSettingError::TileUrl);
        }
        Ok(Self(url.to_string()))
    }

    /// The template.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]` of the tiles, for the page's content security policy. `{s}` in the
    /// host stands for any subdomain.
    pub fn origin(&self) -> String {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("https", &self.0));
        let host = rest.split('/').next().unwrap_or_default();
        format!("{scheme}://{}", host.replace("{s}", "*").replace("{r}", ""))
    }
}

impl fmt::Display for BoxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything the family set about the box.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoxSettings {
    /// What phones and the LAN call the box.
    pub name: BoxName,
    /// Where the box is.
    pub time_zone: TimeZoneName,
    /// Map tiles, when the family wants them (otherwise the map draws the embedded outline).
    pub map_tiles: Option<TileUrl>,
}

impl BoxSettings {
    /// A box nobody has set anything on: named as `hearth.toml` says, in UTC, no tiles.
    pub fn defaults(name: BoxName) -> Self {
        Self { name, time_zone: TimeZoneName::utc(), map_tiles: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(BoxName::parse("  The Smiths' box 🏠 ").map(|n| n.0), Ok("The Smiths' box 🏠".into()));
        assert_eq!(BoxName::parse("صندوق العائلة").map(|n| n.0), Ok("صندوق العائلة".into()));
        assert_eq!(BoxName::parse("   "), Err(BoxSettingError::Name));
        assert_eq!(BoxName::parse("a\nb"), Err(BoxSettingError::Name));
        assert!(BoxName::parse(&"é".repeat(63)).is_ok());
        assert_eq!(BoxName::parse(&"é".repeat(64)), Err(BoxSettingError::Name));
    }

    #[test]
    fn time_zones_come_from_the_embedded_database() {
        assert_eq!(TimeZoneName::parse("Europe/Paris").map(|z| z.0), Ok("Europe/Paris".into()));
        assert_eq!(TimeZoneName::parse("UTC").map(|z| z.0), Ok("UTC".into()));
        assert!(matches!(TimeZoneName::parse("Mars/Olympus"), Err(BoxSettingError::TimeZone(_))));
        assert!(matches!(TimeZoneName::parse(""), Err(BoxSettingError::TimeZone(_))));
        assert!(matches!(TimeZoneName::parse("../../etc/passwd"), Err(BoxSettingError::TimeZone(_))));
        // 2026-07-01 00:30 UTC is still June 30 in New York and already July 1 in Tokyo.
        let at = 1_782_865_800;
        assert_eq!(TimeZoneName::parse("America/New_York").expect("zone").date_at(at), (2026, 6, 30));
        assert_eq!(TimeZoneName::parse("Asia/Tokyo").expect("zone").date_at(at), (2026, 7, 1));
        assert_eq!(TimeZoneName::parse("Europe/Paris").expect("zone").offset_at(at), 7200);
        assert_eq!(TimeZoneName::utc().date_at(at), (2026, 7, 1));
    }

    #[test]
    fn tile_templates_need_their_placeholders_and_nothing_else() {
        let osm = TileUrl::parse("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png").expect("osm");
        assert_eq!(osm.origin(), "https://*.tile.openstreetmap.org");
        assert_eq!(TileUrl::parse("http://192.168.1.5:8080/tiles/{z}/{x}/{y}.png").expect("lan").origin(), "http://192.168.1.5:8080");
        for bad in [
            "ftp://x/{z}/{x}/{y}",
            "https://x/{z}/{x}.png",
            "https:///{z}/{x}/{y}",
            "https://x/{z}/{x}/{y}?k={key}",
            "https://x/{z}/{x}/{y}\" onerror=\"",
            "javascript:alert(1)//{z}{x}{y}",
        ] {
            assert_eq!(TileUrl::parse(bad), Err(BoxSettingError::TileUrl), "{bad}");
        }
    }
}
