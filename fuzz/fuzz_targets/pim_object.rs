//! What CalDAV and CardDAV clients send: iCalendar and vCard bodies of a PUT, the filters of a
//! calendar-query and an addressbook-query, and the addresses themselves. Parsing never panics (a recurrence that would expand
//! forever is bounded), and what is taken is what storage expects: a UID, a window that ends
//! after it starts.
#![no_main]
use hearth_dav::{calendar_object, calendar_query, contact_object, contact_query, pim_path, xml_tree};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let kinds = ["VEVENT".to_string(), "VTODO".to_string(), "VJOURNAL".to_string()];
    if let Ok(o) = calendar_object::parse(text, &kinds) {
        assert!(!o.uid.trim().is_empty(), "a stored calendar object has a UID");
        if let Some((start, Some(end))) = o.window {
            assert!(end >= start, "a window ends after it starts: {start} {end}");
        }
    }
    if let Ok(c) = contact_object::parse(text) {
        assert!(!c.uid.is_empty(), "a stored contact has a UID");
    }
    if let Ok(root) = xml_tree::parse(data) {
        if let Ok(filter) = calendar_query::Filter::read(&root) {
            let zone = filter.zone().and_then(calendar_query::zone_of);
            let _ = filter.matches(text, zone);
        }
        if let Ok(filter) = contact_query::Filter::read(&root) {
            let _ = filter.matches(text);
        }
    }
    let _ = calendar_query::utc_time(text);
    let _ = calendar_query::zone_of(text);
    let _ = pim_path::parse(text, "anna");
});
