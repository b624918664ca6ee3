//! Calendars and contacts with a client nobody here wrote: Debian's vdirsyncer 0.19 syncing
//! local folders with hearthd over CalDAV and CardDAV (docs/calendars.md), logged in with an app
//! password. Collections are made from both sides, items go both ways, changes and deletions
//! from either side reach the other, a conflict is settled as configured, and names and colours
//! follow (`metasync`). The box's side is checked over HTTP as another client would see it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hearth_tests::daemon::start;
use hearth_tests::http;

const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:choir-weekly\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240321T190000\r\n\
DURATION:PT2H\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Choir ♪\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn event(uid: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240510T100000Z\r\nDTEND:20240510T110000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn card(uid: &str, name: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nTEL;TYPE=CELL:+351 900 000 001\r\nEND:VCARD\r\n")
}

fn vdirsyncer(config: &Path, args: &[&str]) -> (bool, String) {
    let mut child = Command::new("vdirsyncer")
        .arg("-c")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vdirsyncer (scripts/test installs Debian's vdirsyncer)");
    // `discover` asks before making a collection on the other side: yes to each.
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all("y\n".repeat(20).as_bytes());
    }
    let out = child.wait_with_output().expect("vdirsyncer ran");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn sync(config: &Path, args: &[&str]) -> String {
    let (ok, text) = vdirsyncer(config, args);
    assert!(ok, "vdirsyncer {args:?} failed:\n{text}");
    text
}

/// The local items of a collection folder: (file name, text).
fn local(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "ics" || x == "vcf"))
                .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).expect("read")))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn vdirsyncer_syncs_calendars_and_contacts_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = start(&dir.path().join("data"), &[]);
    d.wait_healthy(Duration::from_secs(20));
    let cookie = d.claim("anna", "anna-long-password");
    let token = d.app_password(&cookie, "vdirsyncer");
    let auth = http::basic("anna", &token);
    let base = dir.path().join("local");
    // The family's "family" calendar and "friends" address book exist on the laptop first.
    std::fs::create_dir_all(base.join("cal/family")).expect("mkdir");
    std::fs::create_dir_all(base.join("contacts/friends")).expect("mkdir");
    std::fs::write(base.join("cal/family/choir-weekly.ics"), WEEKLY).expect("write");
    std::fs::write(base.join("cal/family/dentist.ics"), event("dentist", "Dentist")).expect("write");
    std::fs::write(base.join("cal/family/displayname"), "Family").expect("write");
    std::fs::write(base.join("cal/family/color"), "#2E7D32").expect("write");
    std::fs::write(base.join("contacts/friends/ana.vcf"), card("ana", "Ana Lima")).expect("write");
    std::fs::write(base.join("contacts/friends/bo.vcf"), card("bo", "Bo Østergaard")).expect("write");

    let config = dir.path().join("config");
    let url = format!("http://{}/dav/", d.http);
    std::fs::write(
        &config,
        format!(
            r#"[general]
status_path = "{status}"

[pair cal]
a = "box_cal"
b = "local_cal"
collections = ["from a", "from b"]
metadata = ["displayname", "color"]
conflict_resolution = "a wins"

[storage box_cal]
type = "caldav"
url = "{url}"
username = "anna"
password = "{token}"

[storage local_cal]
type = "filesystem"
path = "{cal}"
fileext = ".ics"

[pair contacts]
a = "box_contacts"
b = "local_contacts"
collections = ["from a", "from b"]
conflict_resolution = "a wins"

[storage box_contacts]
type = "carddav"
url = "{url}"
username = "anna"
password = "{token}"

[storage local_contacts]
type = "filesystem"
path = "{contacts}"
fileext = ".vcf"
"#,
            status = dir.path().join("status").display(),
            cal = base.join("cal").display(),
            contacts = base.join("contacts").display(),
        ),
    )
    .expect("config");

    // Discovery makes "family" and "friends" on the box, and the box's own "personal" and
    // "contacts" on the laptop.
    let text = sync(&config, &["discover"]);
    sync(&config, &["sync"]);
    sync(&config, &["metasync"]);
    assert!(base.join("cal/personal").is_dir(), "the box's calendar came down:\n{text}");
    assert!(base.join("contacts/contacts").is_dir(), "the box's address book came down:\n{text}");
    let propfind = |path: &str, depth: &str, body: &str| {
        http::request_bytes(
            d.http,
            "PROPFIND",
            path,
            &[auth.clone(), format!("Depth: {depth}")],
            Some(("application/xml", body.as_bytes())),
        )
        .expect("propfind")
    };
    let listing = propfind("/dav/calendars/anna/family/", "1", r#"<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"#);
    assert_eq!(listing.status, 207);
    assert_eq!(listing.body.matches(".ics</d:href>").count(), 2, "both events on the box: {}", listing.body);
    let props = propfind(
        "/remote.php/dav/calendars/anna/family/",
        "0",
        r#"<d:propfind xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/"><d:prop><d:displayname/><a:calendar-color/></d:prop></d:propfind>"#,
    );
    assert!(props.body.contains(">Family</") && props.body.contains("#2E7D32"), "metasync set the name and colour: {}", props.body);
    let choir =
        http::request(d.http, "GET", "/dav/calendars/anna/family/choir-weekly.ics", std::slice::from_ref(&auth), None).expect("get");
    assert_eq!((choir.status, choir.body.as_str()), (200, WEEKLY), "kept as sent, byte for byte");
    let books =
        propfind("/dav/addressbooks/anna/friends/", "1", r#"<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"#);
    assert_eq!(books.body.matches(".vcf</d:href>").count(), 2, "both contacts on the box: {}", books.body);

    // On the box (as a phone would): one event changed, one added, one contact deleted.
    let etag = |path: &str| {
        http::request(d.http, "HEAD", path, std::slice::from_ref(&auth), None).expect("head").header("etag").expect("an ETag").to_string()
    };
    let dentist = "/dav/calendars/anna/family/dentist.ics";
    let moved = event("dentist", "Dentist, moved");
    let r = http::request_bytes(
        d.http,
        "PUT",
        dentist,
        &[auth.clone(), format!("If-Match: {}", etag(dentist))],
        Some(("text/calendar", moved.as_bytes())),
    )
    .expect("put");
    assert_eq!(r.status, 204, "{}", r.body);
    let picnic = event("picnic", "Picnic");
    let r = http::request_bytes(
        d.http,
        "PUT",
        "/dav/calendars/anna/family/picnic.ics",
        &[auth.clone(), "If-None-Match: *".into()],
        Some(("text/calendar", picnic.as_bytes())),
    )
    .expect("put");
    assert_eq!(r.status, 201, "{}", r.body);
    let bo = "/dav/addressbooks/anna/friends/bo.vcf";
    let r = http::request(d.http, "DELETE", bo, &[auth.clone(), format!("If-Match: {}", etag(bo))], None).expect("delete");
    assert_eq!(r.status, 204, "{}", r.body);
    sync(&config, &["sync"]);
    let family = local(&base.join("cal/family"));
    assert_eq!(family.len(), 3, "{family:?}");
    assert!(family.iter().any(|(_, t)| t.contains("Dentist, moved")), "the change came down: {family:?}");
    assert!(family.iter().any(|(_, t)| t.contains("UID:picnic")), "the new event came down");
    let friends = local(&base.join("contacts/friends"));
    assert_eq!(friends.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["ana.vcf"], "the deletion came down");

    // On the laptop: one contact changed, the picnic deleted, an event added to the box's own
    // calendar.
    std::fs::write(base.join("contacts/friends/ana.vcf"), card("ana", "Ana Lima-Silva")).expect("write");
    let picnic_file = family.iter().find(|(_, t)| t.contains("UID:picnic")).map(|(n, _)| n.clone()).expect("picnic");
    std::fs::remove_file(base.join("cal/family").join(&picnic_file)).expect("rm");
    std::fs::write(base.join("cal/personal/haircut.ics"), event("haircut", "Haircut")).expect("write");
    sync(&config, &["sync"]);
    let ana = http::request(d.http, "GET", "/dav/addressbooks/anna/friends/ana.vcf", std::slice::from_ref(&auth), None).expect("get");
    assert!(ana.body.contains("Ana Lima-Silva"), "the change went up: {}", ana.body);
    let gone =
        http::request(d.http, "GET", &format!("/dav/calendars/anna/family/{picnic_file}"), std::slice::from_ref(&auth), None).expect("get");
    assert_eq!(gone.status, 404, "the deletion went up");
    let personal =
        propfind("/dav/calendars/anna/personal/", "1", r#"<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"#);
    assert_eq!(personal.body.matches(".ics</d:href>").count(), 1, "the new event went up: {}", personal.body);

    // Both sides change the dentist: "a wins" keeps the box's.
    let on_box = event("dentist", "Dentist, the box's");
    let r =
        http::request_bytes(d.http, "PUT", dentist, std::slice::from_ref(&auth), Some(("text/calendar", on_box.as_bytes()))).expect("put");
    assert_eq!(r.status, 204);
    let dentist_file = family.iter().find(|(_, t)| t.contains("UID:dentist")).map(|(n, _)| n.clone()).expect("dentist");
    std::fs::write(base.join("cal/family").join(&dentist_file), event("dentist", "Dentist, the laptop's")).expect("write");
    sync(&config, &["sync"]);
    let here = std::fs::read_to_string(base.join("cal/family").join(&dentist_file)).expect("read");
    assert!(here.contains("Dentist, the box's"), "{here}");

    // Nothing changed: a sync changes nothing on either side.
    let before = (local(&base.join("cal/family")), local(&base.join("contacts/friends")));
    let text = sync(&config, &["sync"]);
    assert_eq!(before, (local(&base.join("cal/family")), local(&base.join("contacts/friends"))), "{text}");
    assert!(d.stop(Duration::from_secs(15)).success());
}
