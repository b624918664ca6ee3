//! WebDAV request bodies (PROPFIND, PROPPATCH, LOCK) come from any client. Parsing never panics
//! and stays within its limits, and a property value kept from a PROPPATCH, written out on its
//! own as PROPFIND answers carry it, reads back as the same XML.
#![no_main]
use hearth_dav::request_body::{self, PropertyChange};
use hearth_dav::xml_tree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = request_body::propfind(data);
    let _ = request_body::lockinfo(data);
    if let Ok(changes) = request_body::proppatch(data) {
        for c in changes {
            if let PropertyChange::Set(_, value) = c {
                let wrapped = format!("<w>{value}</w>");
                let again = xml_tree::parse(wrapped.as_bytes()).expect("a kept value is well-formed XML");
                assert_eq!(again.children_xml(), value, "a kept value reads back as itself");
            }
        }
    }
});
