//! CalDAV and CardDAV in-process (docs/calendars.md): discovery in both styles of address,
//! collections made and refused, items with their preconditions and validation, each report,
//! another member's addresses, and the bodies a client should not send.

use std::sync::Arc;

use bytes::Bytes;
use hearth_catalog::Catalog;
use hearth_catalog::users::{NewUser, Role};
use hearth_dav::DavBody;
use hearth_dav::pim::{self, Member};
use http::StatusCode;
use http_body_util::Full;

struct Box {
    catalog: Arc<Catalog>,
    anna: Member,
    bob: Member,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Box {
    fn new() -> Box {
        let dir = tempfile::tempdir().expect("tmp");
        let (catalog, _) = Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
        let user =
            |name: &str, display: &str, role| NewUser { name: name.into(), display_name: display.into(), role, password_hash: "x".into() };
        let (bob, anna) = catalog
            .write(|tx| {
                let bob = hearth_catalog::users::create(tx, &user("bob", "Bob", Role::Member), 0)?.id;
                Ok((bob, hearth_catalog::users::create(tx, &user("anna", "Anna K.", Role::Owner), 0)?.id))
            })
            .expect("users");
        Box {
            catalog: Arc::new(catalog),
            anna: Member { id: anna, name: "anna".into(), display_name: "Anna K.".into() },
            bob: Member { id: bob, name: "bob".into(), display_name: "Bob".into() },
            _dir: dir,
        }
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        self.send_as(&self.anna, method, path, headers, body).await
    }

    async fn send_as(&self, who: &Member, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut req = http::Request::builder().method(method).uri(path).header("host", "box");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (parts, _) = req.body(()).expect("request").into_parts();
        let r =
            pim::handle(self.catalog.clone(), who.clone(), parts, Full::new(Bytes::copy_from_slice(body.as_bytes())), 1_700_000_000).await;
        let (parts, body) = r.into_parts();
        let body = match body {
            DavBody::Text(t) => t,
            _ => String::new(),
        };
        Answer { status: parts.status, headers: parts.headers, body }
    }
}

const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";

fn event(uid: &str, start: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn prop(names: &str) -> String {
    format!(
        r#"<d:propfind xmlns:d="DAV:" xmlns:c="{CALDAV}" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/"><d:prop>{names}</d:prop></d:propfind>"#
    )
}

#[tokio::test]
async fn discovery_from_the_root_to_the_collections_in_both_styles() {
    let b = Box::new();
    let o = b.send("OPTIONS", "/dav/", &[], "").await;
    assert!(o.headers["dav"].to_str().expect("dav").contains("calendar-access, addressbook"));
    for (root, principal, cal_home, book_home) in [
        ("/dav/", "/dav/principals/anna/", "/dav/calendars/anna/", "/dav/addressbooks/anna/"),
        (
            "/remote.php/dav/",
            "/remote.php/dav/principals/users/anna/",
            "/remote.php/dav/calendars/anna/",
            "/remote.php/dav/addressbooks/users/anna/",
        ),
    ] {
        let r = b.send("PROPFIND", root, &[("depth", "0")], &prop("<d:current-user-principal/>")).await;
        assert_eq!(r.status, StatusCode::MULTI_STATUS);
        assert!(r.body.contains(&format!("<d:href>{principal}</d:href>")), "{}", r.body);
        let r = b
            .send(
                "PROPFIND",
                principal,
                &[("depth", "0")],
                &prop("<c:calendar-home-set/><card:addressbook-home-set/><d:displayname/><c:calendar-user-address-set/>"),
            )
            .await;
        assert!(
            r.body.contains(&format!("<d:href>{cal_home}</d:href>")) && r.body.contains(&format!("<d:href>{book_home}</d:href>")),
            "{}",
            r.body
        );
        assert!(r.body.contains("Anna K.") && r.body.contains("404 Not Found"), "an unknown property in a 404 propstat: {}", r.body);
        let r = b
            .send(
                "PROPFIND",
                cal_home,
                &[("depth", "1")],
                &prop("<d:resourcetype/><cs:getctag/><d:sync-token/><c:supported-calendar-component-set/>"),
            )
            .await;
        assert!(r.body.contains(&format!("<d:href>{cal_home}personal/</d:href>")), "the default calendar: {}", r.body);
        assert!(r.body.contains("calendar xmlns:c") && r.body.contains("name=\"VEVENT\""), "{}", r.body);
        let r = b.send("PROPFIND", book_home, &[("depth", "1")], &prop("<d:resourcetype/><card:supported-address-data/>")).await;
        assert!(r.body.contains(&format!("<d:href>{book_home}contacts/</d:href>")) && r.body.contains("version=\"4.0\""), "{}", r.body);
    }
    assert_eq!(
        b.send("PROPFIND", "/dav/calendars/anna/", &[], &prop("<d:resourcetype/>")).await.status,
        StatusCode::FORBIDDEN,
        "no Depth is infinity"
    );
    for other in ["/dav/calendars/bob/", "/dav/principals/bob/", "/remote.php/dav/addressbooks/users/bob/contacts/x.vcf"] {
        assert_eq!(b.send("PROPFIND", other, &[("depth", "0")], &prop("<d:resourcetype/>")).await.status, StatusCode::FORBIDDEN, "{other}");
    }
}

#[tokio::test]
async fn collections_are_made_with_their_properties_and_refused_when_odd() {
    let b = Box::new();
    let mk = format!(
        r#"<c:mkcalendar xmlns:d="DAV:" xmlns:c="{CALDAV}" xmlns:a="http://apple.com/ns/ical/"><d:set><d:prop><d:displayname>Work ✓</d:displayname><a:calendar-color>#FF0000FF</a:calendar-color><c:supported-calendar-component-set><c:comp name="VTODO"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>"#
    );
    assert_eq!(b.send("MKCALENDAR", "/dav/calendars/anna/work", &[], &mk).await.status, StatusCode::CREATED);
    assert_eq!(b.send("MKCALENDAR", "/dav/calendars/anna/work/", &[], &mk).await.status, StatusCode::METHOD_NOT_ALLOWED, "it exists");
    let r = b
        .send("PROPFIND", "/dav/calendars/anna/work/", &[("depth", "0")], &prop("<d:displayname/><c:supported-calendar-component-set/>"))
        .await;
    assert!(r.body.contains("Work ✓") && r.body.contains("name=\"VTODO\"") && !r.body.contains("VEVENT"), "{}", r.body);
    let r = b.send("PUT", "/dav/calendars/anna/work/e.ics", &[], &event("e", "20240101T100000Z")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a task list takes no events");
    assert!(r.body.contains("supported-calendar-component"), "{}", r.body);

    let book = r#"<d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype><d:displayname>School</d:displayname></d:prop></d:set></d:mkcol>"#;
    assert_eq!(b.send("MKCOL", "/dav/addressbooks/anna/school", &[], book).await.status, StatusCode::CREATED);
    let plain = b.send("MKCOL", "/dav/addressbooks/anna/plain", &[], "").await;
    assert_eq!(plain.status, StatusCode::FORBIDDEN);
    assert!(plain.body.contains("valid-resourcetype"));
    assert_eq!(
        b.send("MKCOL", "/dav/calendars/anna/wrong", &[], book).await.status,
        StatusCode::FORBIDDEN,
        "an address book in the calendar home"
    );
    assert_eq!(b.send("MKCALENDAR", "/dav/addressbooks/anna/cal", &[], "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.send("MKCALENDAR", "/dav/calendars/anna/.hidden", &[], "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.send("MKCALENDAR", "/dav/calendars/anna/", &[], "").await.status, StatusCode::FORBIDDEN, "the home itself");

    // PROPPATCH is all or nothing.
    let patch = |props: &str| {
        format!(r#"<d:propertyupdate xmlns:d="DAV:" xmlns:c="{CALDAV}"><d:set><d:prop>{props}</d:prop></d:set></d:propertyupdate>"#)
    };
    let r = b
        .send("PROPPATCH", "/dav/calendars/anna/work/", &[], &patch("<d:displayname>Office</d:displayname><d:getetag>x</d:getetag>"))
        .await;
    assert!(r.body.contains("403 Forbidden") && r.body.contains("424 Failed Dependency"), "{}", r.body);
    let r = b.send("PROPFIND", "/dav/calendars/anna/work/", &[("depth", "0")], &prop("<d:displayname/>")).await;
    assert!(r.body.contains("Work ✓"), "nothing changed: {}", r.body);
    let r = b
        .send(
            "PROPPATCH",
            "/dav/calendars/anna/work/",
            &[],
            &patch("<d:displayname>Office</d:displayname><c:calendar-description>Shifts</c:calendar-description>"),
        )
        .await;
    assert!(r.body.contains("200 OK") && !r.body.contains("403"), "{}", r.body);
    assert_eq!(b.send("DELETE", "/dav/calendars/anna/work/", &[], "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        b.send("PROPFIND", "/dav/calendars/anna/work/", &[("depth", "0")], &prop("<d:displayname/>")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn items_keep_their_etags_preconditions_and_uids() {
    let b = Box::new();
    let url = "/dav/calendars/anna/personal/a.ics";
    let created = b.send("PUT", url, &[("if-none-match", "*")], &event("a", "20240101T100000Z")).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let etag = created.headers["etag"].to_str().expect("etag").to_string();
    assert_eq!(
        b.send("PUT", url, &[("if-none-match", "*")], &event("a", "20240101T100000Z")).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        b.send("PUT", url, &[("if-match", "\"nope\"")], &event("a", "20240102T100000Z")).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    let got = b.send("GET", url, &[], "").await;
    assert_eq!((got.status, got.headers["etag"].to_str().expect("etag")), (StatusCode::OK, etag.as_str()));
    assert!(got.headers["content-type"].to_str().expect("type").starts_with("text/calendar"));
    let replaced = b.send("PUT", url, &[("if-match", &etag)], &event("a", "20240102T100000Z")).await;
    assert_eq!(replaced.status, StatusCode::NO_CONTENT);
    assert_ne!(replaced.headers["etag"], etag.as_str());
    let r = b.send("PUT", "/dav/calendars/anna/personal/b.ics", &[], &event("a", "20240103T100000Z")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("no-uid-conflict"), "{}", r.body);
    for (bad, condition) in [("BEGIN:VCALENDAR\r\nEND:VCARD\r\n", "valid-calendar-data"), ("hello", "valid-calendar-data")] {
        let r = b.send("PUT", "/dav/calendars/anna/personal/c.ics", &[], bad).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains(condition) && r.body.contains(CALDAV), "{}", r.body);
    }
    let r = b.send("PUT", "/dav/addressbooks/anna/contacts/x.vcf", &[], "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:No UID\r\nEND:VCARD\r\n").await;
    assert!(r.status == StatusCode::FORBIDDEN && r.body.contains("valid-address-data"), "{}", r.body);
    let huge = format!("{}{}", event("h", "20240101T100000Z"), " ".repeat(pim::MOST_ITEM_BYTES));
    assert_eq!(b.send("PUT", "/dav/calendars/anna/personal/h.ics", &[], &huge).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(b.send("PUT", "/dav/calendars/anna/nowhere/a.ics", &[], &event("z", "20240101T100000Z")).await.status, StatusCode::CONFLICT);
    assert_eq!(b.send("DELETE", url, &[("if-match", "\"old\"")], "").await.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(b.send("DELETE", url, &[], "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send("GET", url, &[], "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reports_multiget_sync_collection_and_time_ranges() {
    let b = Box::new();
    let cal = "/dav/calendars/anna/personal/";
    for (name, start) in [("jan", "20240110T100000Z"), ("feb", "20240210T100000Z"), ("mar", "20240310T100000Z")] {
        assert_eq!(b.send("PUT", &format!("{cal}{name}.ics"), &[], &event(name, start)).await.status, StatusCode::CREATED);
    }
    let multiget = format!(
        r#"<c:calendar-multiget xmlns:d="DAV:" xmlns:c="{CALDAV}"><d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{cal}jan.ics</d:href><d:href>http://box{cal}feb.ics</d:href><d:href>{cal}none.ics</d:href><d:href>/dav/calendars/bob/personal/x.ics</d:href></c:calendar-multiget>"#
    );
    let r = b.send("REPORT", cal, &[], &multiget).await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS);
    assert!(r.body.contains("UID:jan&#13;\n") && r.body.contains("UID:feb"), "the text with its carriage returns: {}", r.body);
    assert_eq!(r.body.matches("404 Not Found").count(), 2, "{}", r.body);

    let sync = |token: &str| {
        format!(
            r#"<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#
        )
    };
    let first = b.send("REPORT", cal, &[], &sync("")).await;
    assert_eq!(first.body.matches(".ics</d:href>").count(), 3, "{}", first.body);
    let token = first.body.split("<d:sync-token>").nth(1).and_then(|t| t.split("</d:sync-token>").next()).expect("a token").to_string();
    assert_eq!(b.send("DELETE", &format!("{cal}jan.ics"), &[], "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send("PUT", &format!("{cal}apr.ics"), &[], &event("apr", "20240410T100000Z")).await.status, StatusCode::CREATED);
    let next = b.send("REPORT", cal, &[], &sync(&token)).await;
    assert!(
        next.body.contains("apr.ics</d:href><d:propstat>") && next.body.contains("jan.ics</d:href><d:status>HTTP/1.1 404"),
        "{}",
        next.body
    );
    assert!(!next.body.contains("feb.ics"), "unchanged ones are not listed: {}", next.body);
    for bad in ["https://hearth.local/ns/sync/999/1", "http://other.example/sync/1", "https://hearth.local/ns/sync/1/999999"] {
        let r = b.send("REPORT", cal, &[], &sync(bad)).await;
        assert!(r.status == StatusCode::FORBIDDEN && r.body.contains("valid-sync-token"), "{bad}: {}", r.body);
    }

    let query = |range: &str| {
        format!(
            r#"<c:calendar-query xmlns:d="DAV:" xmlns:c="{CALDAV}"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">{range}</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#
        )
    };
    let r = b.send("REPORT", cal, &[("depth", "1")], &query(r#"<c:time-range start="20240201T000000Z" end="20240401T000000Z"/>"#)).await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS);
    let mut found: Vec<&str> = r.body.split("<d:href>").skip(1).filter_map(|h| h.split("</d:href>").next()).collect();
    found.sort();
    assert_eq!(found, [format!("{cal}feb.ics"), format!("{cal}mar.ics")], "{}", r.body);
    let all = b.send("REPORT", cal, &[("depth", "1")], &query("")).await;
    assert_eq!(all.body.matches(".ics</d:href>").count(), 3);
    let r = b.send("REPORT", cal, &[], &query(r#"<c:prop-filter name="SUMMARY"/>"#)).await;
    assert!(r.status == StatusCode::FORBIDDEN && r.body.contains("supported-filter"), "{}", r.body);
    // A calendar kept in Auckland: an all-day event on 10 May is 10 May there, not 11 May.
    let tz = "BEGIN:VCALENDAR&#13;\nVERSION:2.0&#13;\nBEGIN:VTIMEZONE&#13;\nTZID:Pacific/Auckland&#13;\nEND:VTIMEZONE&#13;\nEND:VCALENDAR&#13;\n";
    let patch = format!(
        r#"<d:propertyupdate xmlns:d="DAV:" xmlns:c="{CALDAV}"><d:set><d:prop><c:calendar-timezone>{tz}</c:calendar-timezone></d:prop></d:set></d:propertyupdate>"#
    );
    let r = b.send("PROPPATCH", cal, &[], &patch).await;
    assert!(r.body.contains("200 OK"), "{}", r.body);
    let day = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:day\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;VALUE=DATE:20240510\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert_eq!(b.send("PUT", &format!("{cal}day.ics"), &[], day).await.status, StatusCode::CREATED);
    let in_auckland = |start: &str, end: &str| query(&format!(r#"<c:time-range start="{start}" end="{end}"/>"#));
    let r = b.send("REPORT", cal, &[("depth", "1")], &in_auckland("20240509T120000Z", "20240510T120000Z")).await;
    assert!(r.body.contains("day.ics"), "{}", r.body);
    let r = b.send("REPORT", cal, &[("depth", "1")], &in_auckland("20240510T120000Z", "20240511T120000Z")).await;
    assert!(!r.body.contains("day.ics"), "11 May in Auckland: {}", r.body);
    let r = b.send("PROPFIND", cal, &[("depth", "0")], &prop("<c:calendar-timezone/>")).await;
    assert!(r.body.contains("TZID:Pacific/Auckland"), "{}", r.body);

    // Contacts found by text, as a phone's search asks.
    let book = "/dav/addressbooks/anna/contacts/";
    for (uid, name) in [("ana", "Ana Lima"), ("bo", "Bo Østergaard")] {
        let card = format!("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{uid}\r\nFN:{name}\r\nEND:VCARD\r\n");
        assert_eq!(b.send("PUT", &format!("{book}{uid}.vcf"), &[], &card).await.status, StatusCode::CREATED);
    }
    let search = r#"<c:addressbook-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:prop><d:getetag/><c:address-data/></d:prop><c:filter><c:prop-filter name="FN"><c:text-match>østER</c:text-match></c:prop-filter></c:filter></c:addressbook-query>"#;
    let r = b.send("REPORT", book, &[("depth", "1")], search).await;
    assert!(r.body.contains("bo.vcf</d:href>") && !r.body.contains("ana.vcf") && r.body.contains("FN:Bo"), "{}", r.body);
    let r = b.send("REPORT", cal, &[], r#"<d:expand-property xmlns:d="DAV:"/>"#).await;
    assert!(r.status == StatusCode::FORBIDDEN && r.body.contains("supported-report"), "{}", r.body);
    let bomb = format!("<!DOCTYPE x [<!ENTITY a \"{}\">]><d:sync-collection xmlns:d=\"DAV:\">&a;&a;</d:sync-collection>", "a".repeat(1000));
    assert_eq!(b.send("REPORT", cal, &[], &bomb).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_calendar_shared_with_the_family_is_read_or_changed_as_its_owner_allows() {
    let b = Box::new();
    assert_eq!(b.send("MKCALENDAR", "/dav/calendars/anna/family/", &[], "").await.status, StatusCode::CREATED);
    let family = b
        .catalog
        .read(|r| hearth_catalog::pim::collection(r, b.anna.id, hearth_catalog::pim::CollectionKind::Calendar, "family"))
        .expect("read")
        .expect("family");
    let share = |access| b.catalog.write(|tx| hearth_catalog::pim::share(tx, family.id, b.bob.id, access)).expect("share");
    share(hearth_catalog::pim::ShareAccess::Write);

    // Bob's home lists his own calendar and Anna's, at anna~family, with what he may do.
    let r = b
        .send_as(
            &b.bob,
            "PROPFIND",
            "/dav/calendars/bob/",
            &[("depth", "1")],
            &prop("<d:resourcetype/><d:current-user-privilege-set/><d:owner/>"),
        )
        .await;
    assert!(
        r.body.contains("<d:href>/dav/calendars/bob/personal/</d:href>")
            && r.body.contains("<d:href>/dav/calendars/bob/anna~family/</d:href>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("/dav/principals/anna/"), "Anna's principal is not for Bob: {}", r.body);
    let shared = "/remote.php/dav/calendars/bob/anna~family/";
    let r = b.send_as(&b.bob, "PUT", &format!("{shared}match.ics"), &[("if-none-match", "*")], &event("match", "20240601T100000Z")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let mine = b.send("GET", "/dav/calendars/anna/family/match.ics", &[], "").await;
    assert_eq!(mine.status, StatusCode::OK, "Anna sees what Bob put in");
    let multiget = format!(
        r#"<c:calendar-multiget xmlns:d="DAV:" xmlns:c="{CALDAV}"><d:prop><d:getetag/></d:prop><d:href>{shared}match.ics</d:href></c:calendar-multiget>"#
    );
    let r = b.send_as(&b.bob, "REPORT", shared, &[], &multiget).await;
    assert!(r.body.contains(&format!("<d:href>{shared}match.ics</d:href><d:propstat>")), "{}", r.body);
    let r = b.send_as(&b.bob, "PROPPATCH", shared, &[], r#"<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>Mine now</d:displayname></d:prop></d:set></d:propertyupdate>"#).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only Anna renames it");

    // Read-only: Bob reads, changes nothing.
    share(hearth_catalog::pim::ShareAccess::Read);
    let r = b.send_as(&b.bob, "PROPFIND", shared, &[("depth", "0")], &prop("<d:current-user-privilege-set/>")).await;
    assert!(r.body.contains("<d:read/>") && !r.body.contains("<d:write-content/>"), "{}", r.body);
    let r = b.send_as(&b.bob, "PUT", &format!("{shared}match.ics"), &[], &event("match", "20240602T100000Z")).await;
    assert!(r.status == StatusCode::FORBIDDEN && r.body.contains("need-privileges"), "{}", r.body);
    assert_eq!(b.send_as(&b.bob, "DELETE", &format!("{shared}match.ics"), &[], "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(b.send_as(&b.bob, "GET", &format!("{shared}match.ics"), &[], "").await.status, StatusCode::OK);

    // Bob deletes it from his list: he leaves it; Anna's calendar and its event stay.
    assert_eq!(b.send_as(&b.bob, "DELETE", shared, &[], "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(b.send_as(&b.bob, "PROPFIND", shared, &[("depth", "0")], &prop("<d:resourcetype/>")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.send("GET", "/dav/calendars/anna/family/match.ics", &[], "").await.status, StatusCode::OK);
    // Nobody reaches a calendar not shared with them by naming it.
    assert_eq!(b.send_as(&b.bob, "GET", "/dav/calendars/bob/anna~personal/x.ics", &[], "").await.status, StatusCode::NOT_FOUND);
}
