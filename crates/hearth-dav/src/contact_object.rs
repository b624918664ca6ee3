//! What a CardDAV client PUTs, checked as RFC 6352 5.1 and 6.3.2 ask: one vCard, version 3.0
//! or 4.0, with a UID (unique in its address book: the catalog checks that). Parsing is
//! calcard's.

use calcard::vcard::{VCardProperty, VCardVersion};
use calcard::{Entry, Parser};

use crate::calendar_object::balanced;

/// A contact that may be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactObject {
    /// Its UID.
    pub uid: String,
}

/// Why a body is not a contact we store (`valid-address-data`, RFC 6352 6.3.2.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid vCard: {0}")]
pub struct ContactObjectError(pub String);

impl ContactObjectError {
    /// The precondition element (CardDAV namespace).
    pub fn condition(&self) -> &'static str {
        "valid-address-data"
    }
}

/// Checks `text` as one vCard 3.0 or 4.0 with a UID.
pub fn parse(text: &str) -> Result<ContactObject, ContactObjectError> {
    balanced(text, "VCARD").map_err(ContactObjectError)?;
    let mut parser = Parser::new(text);
    let card = match parser.entry() {
        Entry::VCard(c) => c,
        Entry::ICalendar(_) => return Err(ContactObjectError("it is iCalendar".into())),
        Entry::Eof => return Err(ContactObjectError("it is empty".into())),
        _ => return Err(ContactObjectError("it is not a vCard".into())),
    };
    if !matches!(parser.entry(), Entry::Eof) {
        return Err(ContactObjectError("something follows END:VCARD".into()));
    }
    match card.version() {
        Some(VCardVersion::V3_0 | VCardVersion::V4_0) => {}
        Some(v) => return Err(ContactObjectError(format!("version {:.1} (3.0 or 4.0 are taken)", f64::from(v as u8) / 10.0))),
        None => return Err(ContactObjectError("it has no VERSION".into())),
    }
    let uid = card
        .property(&VCardProperty::Uid)
        .and_then(|e| e.values.first())
        .and_then(|v| v.clone().into_uri())
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ContactObjectError("it has no UID".into()))?;
    Ok(ContactObject { uid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcards_3_and_4_with_a_uid_are_taken() {
        let v3 =
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana Lima\r\nN:Lima;Ana;;;\r\nUID:ana-1\r\nTEL;TYPE=CELL:+351 900 000 000\r\nEND:VCARD\r\n";
        assert_eq!(parse(v3).expect("3.0").uid, "ana-1");
        let v4 = "BEGIN:VCARD\nVERSION:4.0\nFN:Bo\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\nEND:VCARD\n";
        assert_eq!(parse(v4).expect("4.0").uid, "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1");
    }

    #[test]
    fn what_is_not_one_vcard_with_a_uid_is_refused() {
        for text in [
            "",
            "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n",
            "BEGIN:VCARD\r\nFN:A\r\nUID:a\r\nEND:VCARD\r\n",
            "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:A\r\nUID:a\r\nEND:VCARD\r\n",
            "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:a\r\n",
            "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:a\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nUID:b\r\nEND:VCARD\r\n",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(e.condition(), "valid-address-data");
        }
    }
}
