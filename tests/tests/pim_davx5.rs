//! DAVx⁵'s requests replayed against hearthd, written from davx5-ose's source
//! (`servicedetection/DavResourceFinder.kt`, `CalendarSyncManager.kt`, `ContactsSyncManager.kt`)
//! and the bodies dav4jvm sends: service detection from the box's plain address through the
//! well-known redirects (credentials asked for with 401, then sent), the OPTIONS check of the
//! principal, the home sets and their collections, then a calendar synced the way DAVx⁵ does by
//! default (a calendar-query of the last 90 days with no end, then calendar-multiget) and an
//! address book by sync-collection, with a vCard 4 sent as DAVx⁵ sends one when the box says it
//! takes them. "Login with Nextcloud" starts at `/remote.php/dav` instead: the same answers.

use std::time::Duration;

use hearth_tests::daemon::start;
use hearth_tests::http::{self, Response};

const CARDDAV_DETECT: &str = r#"<?xml version="1.0" encoding="UTF-8"?><propfind xmlns="DAV:" xmlns:CARD="urn:ietf:params:xml:ns:carddav"><prop><resourcetype/><displayname/><CARD:addressbook-description/><CARD:addressbook-home-set/><current-user-principal/></prop></propfind>"#;
const CALDAV_DETECT: &str = r#"<?xml version="1.0" encoding="UTF-8"?><propfind xmlns="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:caldav" xmlns:ICAL="http://apple.com/ns/ical/"><prop><resourcetype/><displayname/><ICAL:calendar-color/><CAL:calendar-description/><CAL:calendar-timezone/><current-user-privilege-set/><CAL:supported-calendar-component-set/><CAL:calendar-home-set/><current-user-principal/></prop></propfind>"#;
const HOMES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><propfind xmlns="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:caldav" xmlns:CARD="urn:ietf:params:xml:ns:carddav"><prop><CAL:calendar-home-set/><CARD:addressbook-home-set/><displayname/><group-membership/></prop></propfind>"#;
const COLLECTIONS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><propfind xmlns="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:caldav" xmlns:CARD="urn:ietf:params:xml:ns:carddav" xmlns:ICAL="http://apple.com/ns/ical/" xmlns:CS="http://calendarserver.org/ns/"><prop><current-user-privilege-set/><displayname/><owner/><CARD:addressbook-description/><CAL:calendar-description/><ICAL:calendar-color/><CAL:supported-calendar-component-set/><resourcetype/><CS:source/><CAL:calendar-timezone/></prop></propfind>"#;
const CAPABILITIES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><propfind xmlns="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:caldav" xmlns:CARD="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"><prop><CAL:max-resource-size/><CARD:supported-address-data/><supported-report-set/><CS:getctag/><sync-token/></prop></propfind>"#;

fn event(uid: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:DAVx5/4.4 ical4j/3.2\r\nBEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\nUID:{uid}\r\nSUMMARY:{summary}\r\nDTSTART;TZID=Europe/Lisbon:20261210T180000\r\nDTEND;TZID=Europe/Lisbon:20261210T193000\r\nEND:VEVENT\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Lisbon\r\nBEGIN:STANDARD\r\nTZNAME:WET\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\nDTSTART:19701025T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"
    )
}

struct Phone {
    addr: std::net::SocketAddr,
    auth: String,
}

impl Phone {
    fn dav(&self, method: &str, path: &str, headers: &[&str], body: Option<(&str, &str)>, with_auth: bool) -> Response {
        let mut extra: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        if with_auth {
            extra.push(self.auth.clone());
        }
        http::request_bytes(self.addr, method, path, &extra, body.map(|(t, b)| (t, b.as_bytes()))).expect("request")
    }

    /// OkHttp's way: without credentials first; on 401 with a Basic challenge, again with them;
    /// a 301 followed with the same method and body (PROPFIND is not turned into GET).
    fn propfind(&self, path: &str, depth: &str, body: &str) -> (String, Response) {
        let mut path = path.to_string();
        for _ in 0..5 {
            let depth = format!("Depth: {depth}");
            let mut r = self.dav("PROPFIND", &path, &[&depth], Some(("application/xml; charset=utf-8", body)), false);
            if r.status == 401 {
                assert!(r.header("www-authenticate").is_some_and(|c| c.starts_with("Basic")), "a Basic challenge at {path}");
                r = self.dav("PROPFIND", &path, &[&depth], Some(("application/xml; charset=utf-8", body)), true);
            }
            if r.status == 301 || r.status == 302 || r.status == 307 || r.status == 308 {
                path = r.header("location").expect("Location").to_string();
                continue;
            }
            return (path, r);
        }
        panic!("too many redirects from {path}");
    }
}

/// The first `<d:href>` inside `element` of a 207 body.
fn href_in(body: &str, element: &str) -> Option<String> {
    let at = body.find(element)?;
    let rest = &body[at..];
    let start = rest.find("<d:href>")? + "<d:href>".len();
    Some(rest[start..start + rest[start..].find("</d:href>")?].to_string())
}

fn token_of(body: &str) -> String {
    body.split("<d:sync-token>").last().and_then(|t| t.split("</d:sync-token>").next()).expect("a sync token").to_string()
}

#[test]
fn davx5_finds_the_box_and_syncs_a_calendar_and_an_address_book() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "DAVx5 on Pixel 8");
    let phone = Phone { addr: d.http, auth: http::basic("anna", &token) };

    // Service detection from the address the family typed: "/" is no DAV resource, so the
    // well-known addresses are tried; each leads to the principal, which says what it serves.
    let mut principals = Vec::new();
    for (service, body, capability) in [("carddav", CARDDAV_DETECT, "addressbook"), ("caldav", CALDAV_DETECT, "calendar-access")] {
        let (_, at_root) = phone.propfind("/", "0", body);
        assert_ne!(at_root.status, 207, "the web page is not a DAV resource");
        let (found_at, r) = phone.propfind(&format!("/.well-known/{service}"), "0", body);
        assert_eq!((found_at.as_str(), r.status), ("/dav/", 207), "{}", r.body);
        let principal = href_in(&r.body, "current-user-principal").expect("current-user-principal");
        let options = phone.dav("OPTIONS", &principal, &[], None, true);
        assert!(options.header("dav").is_some_and(|v| v.contains(capability)), "{service} at {principal}: {:?}", options.header("dav"));
        principals.push(principal);
    }
    assert_eq!(principals[0], principals[1]);
    let principal = &principals[0];
    let (_, r) = phone.propfind(
        principal,
        "0",
        r#"<propfind xmlns="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:caldav"><prop><CAL:calendar-user-address-set/></prop></propfind>"#,
    );
    assert_eq!(r.status, 207, "no e-mail address is known: a 404 property, not an error");

    // "Login with Nextcloud" starts at /remote.php/dav and finds the same, in Nextcloud's style.
    let (_, r) = phone.propfind("/remote.php/dav", "0", CALDAV_DETECT);
    assert_eq!(href_in(&r.body, "current-user-principal").as_deref(), Some("/remote.php/dav/principals/users/anna/"), "{}", r.body);

    // The home sets, then what is in them.
    let (_, r) = phone.propfind(principal, "0", HOMES);
    let calendar_home = href_in(&r.body, "calendar-home-set").expect("calendar-home-set");
    let book_home = href_in(&r.body, "addressbook-home-set").expect("addressbook-home-set");
    let (_, r) = phone.propfind(&calendar_home, "1", COLLECTIONS);
    let calendar = format!("{calendar_home}personal/");
    assert!(
        r.body.contains(&format!("<d:href>{calendar}</d:href>")) && r.body.contains("<d:write/>"),
        "a calendar DAVx⁵ may write: {}",
        r.body
    );
    let (_, r) = phone.propfind(&book_home, "1", COLLECTIONS);
    let book = format!("{book_home}contacts/");
    assert!(r.body.contains(&format!("<d:href>{book}</d:href>")) && r.body.contains("addressbook"), "{}", r.body);

    // The calendar, synced as DAVx⁵ does by default: capabilities, an event written, then the
    // events of the last 90 days (no end) listed and fetched.
    let (_, caps) = phone.propfind(&calendar, "0", CAPABILITIES);
    assert!(caps.body.contains("1048576") && caps.body.contains("getctag") && caps.body.contains("sync-collection"), "{}", caps.body);
    let uid = "9d5a3f7e-3b0c-4c1b-8d6e-5a1b2c3d4e5f";
    let url = format!("{calendar}{uid}.ics");
    let r = phone.dav("PUT", &url, &["If-None-Match: *"], Some(("text/calendar; charset=utf-8", &event(uid, "Parents' evening"))), true);
    assert_eq!(r.status, 201, "{}", r.body);
    let etag = r.header("etag").expect("ETag").to_string();
    let query = r#"<?xml version="1.0" encoding="UTF-8"?><CAL:calendar-query xmlns="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:caldav"><prop><getetag/></prop><CAL:filter><CAL:comp-filter name="VCALENDAR"><CAL:comp-filter name="VEVENT"><CAL:time-range start="20260908T000000Z"/></CAL:comp-filter></CAL:comp-filter></CAL:filter></CAL:calendar-query>"#;
    let r = phone.dav("REPORT", &calendar, &["Depth: 1"], Some(("application/xml; charset=utf-8", query)), true);
    assert!(
        r.status == 207 && r.body.contains(&format!("<d:href>{url}</d:href>")) && r.body.contains(&etag.replace('"', "&quot;")),
        "{}",
        r.body
    );
    let multiget = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><CAL:calendar-multiget xmlns="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:caldav"><prop><getcontenttype/><getetag/><CAL:schedule-tag/><CAL:calendar-data/></prop><href>{url}</href></CAL:calendar-multiget>"#
    );
    let r = phone.dav("REPORT", &calendar, &["Depth: 0"], Some(("application/xml; charset=utf-8", &multiget)), true);
    assert!(r.body.contains("Parents&apos; evening") && r.body.contains("text/calendar"), "{}", r.body);
    let r = phone.dav(
        "PUT",
        &url,
        &[&format!("If-Match: {etag}")],
        Some(("text/calendar; charset=utf-8", &event(uid, "Parents' evening (room 4)"))),
        true,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r =
        phone.dav("PUT", &url, &[&format!("If-Match: {etag}")], Some(("text/calendar; charset=utf-8", &event(uid, "A stale edit"))), true);
    assert_eq!(r.status, 412, "an edit from an old copy is refused");
    let (_, caps2) = phone.propfind(&calendar, "0", CAPABILITIES);
    assert_ne!(caps.body, caps2.body, "the ctag and sync token moved");

    // The address book by sync-collection, a vCard 4 as DAVx⁵ sends it when the box takes them.
    let (_, caps) = phone.propfind(&book, "0", CAPABILITIES);
    assert!(caps.body.contains("version=\"4.0\"") && caps.body.contains("sync-collection"), "{}", caps.body);
    let sync = |token: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sync-collection xmlns="DAV:"><sync-token>{token}</sync-token><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"#
        )
    };
    let r = phone.dav("REPORT", &book, &["Depth: 0"], Some(("application/xml; charset=utf-8", &sync(""))), true);
    assert_eq!(r.status, 207);
    let first = token_of(&r.body);
    let card = "BEGIN:VCARD\r\nVERSION:4.0\r\nPRODID:DAVx5/4.4 ez-vcard/0.12\r\nUID:urn:uuid:0f3e2d1c-aaaa-4bbb-8ccc-123456789abc\r\nFN:Grandma Rosa\r\nN:Rosa;Grandma;;;\r\nTEL;TYPE=cell:+351900000002\r\nREV:20261201T120000Z\r\nEND:VCARD\r\n";
    let card_url = format!("{book}0f3e2d1c-aaaa-4bbb-8ccc-123456789abc.vcf");
    let r = phone.dav("PUT", &card_url, &["If-None-Match: *"], Some(("text/vcard; version=4.0; charset=utf-8", card)), true);
    assert_eq!(r.status, 201, "{}", r.body);
    let r = phone.dav("REPORT", &book, &["Depth: 0"], Some(("application/xml; charset=utf-8", &sync(&first))), true);
    assert!(r.body.contains(&format!("<d:href>{card_url}</d:href>")) && token_of(&r.body) != first, "{}", r.body);
    let multiget = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><CARD:addressbook-multiget xmlns="DAV:" xmlns:CARD="urn:ietf:params:xml:ns:carddav"><prop><getcontenttype/><getetag/><CARD:address-data/></prop><href>{card_url}</href></CARD:addressbook-multiget>"#
    );
    let r = phone.dav("REPORT", &book, &["Depth: 0"], Some(("application/xml; charset=utf-8", &multiget)), true);
    assert!(r.body.contains("FN:Grandma Rosa") && r.body.contains("text/vcard"), "{}", r.body);

    // Deleted on the phone: gone from the box, and the next sync-collection says so.
    let (_, now) = phone.propfind(&book, "0", CAPABILITIES);
    let before = token_of(&now.body);
    let r = phone.dav("DELETE", &card_url, &[], None, true);
    assert_eq!(r.status, 204);
    let r = phone.dav("REPORT", &book, &["Depth: 0"], Some(("application/xml; charset=utf-8", &sync(&before))), true);
    assert!(r.body.contains(&format!("<d:href>{card_url}</d:href><d:status>HTTP/1.1 404")), "{}", r.body);
    assert!(d.stop(Duration::from_secs(15)).success());
}
