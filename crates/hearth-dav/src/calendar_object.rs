//! What a CalDAV client PUTs, checked as RFC 4791 4.1 and 5.3.2 ask: one iCalendar object
//! (`VCALENDAR`), its time zones, and one or more components of one kind (`VEVENT`, `VTODO`,
//! `VJOURNAL`) sharing one UID (a recurring event and its changed instances). Parsing is
//! calcard's; the window is where every instance falls, for time-range queries to narrow by
//! before expanding recurrences exactly.

use calcard::icalendar::{ICalendar, ICalendarComponentType};
use calcard::{Entry, Parser};

/// Instances expanded to find an item's window; a rule with more is taken to have no end.
const WINDOW_INSTANCES: usize = 3000;

/// Floating times and dates (no time zone) are somewhere between UTC−12 and UTC+14: the window
/// is widened by that, so a query in any zone finds them.
const FLOATING_SLACK: i64 = 14 * 3600;

/// A calendar object that may be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarObject {
    /// The UID all its components share.
    pub uid: String,
    /// `VEVENT`, `VTODO` or `VJOURNAL`.
    pub component: &'static str,
    /// Unix seconds (UTC) between which every instance falls, `None` at the end when it
    /// recurs without end; `None` for an item with no dates at all (a task without any).
    pub window: Option<(i64, Option<i64>)>,
}

/// Why a body is not a calendar object we store, with the precondition RFC 4791 names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarObjectError {
    /// Not iCalendar, or not one object (`valid-calendar-data`).
    #[error("not a valid iCalendar object: {0}")]
    Invalid(String),
    /// Not a valid calendar object resource: several UIDs or kinds, no UID, a method
    /// (`valid-calendar-object-resource`).
    #[error("not one calendar object: {0}")]
    NotOneObject(String),
    /// A kind the calendar does not take (`supported-calendar-component`).
    #[error("this calendar does not take {0} components")]
    Unsupported(String),
}

impl CalendarObjectError {
    /// The precondition element (CalDAV namespace) for the 403 or 409 body.
    pub fn condition(&self) -> &'static str {
        match self {
            CalendarObjectError::Invalid(_) => "valid-calendar-data",
            CalendarObjectError::NotOneObject(_) => "valid-calendar-object-resource",
            CalendarObjectError::Unsupported(_) => "supported-calendar-component",
        }
    }
}

/// Checks `text` as a calendar object for a calendar that takes `accepted` components.
pub fn parse(text: &str, accepted: &[String]) -> Result<CalendarObject, CalendarObjectError> {
    let calendar = one_calendar(text)?;
    let root = calendar.components.first().ok_or_else(|| CalendarObjectError::Invalid("it is empty".into()))?;
    if root.component_type != ICalendarComponentType::VCalendar {
        return Err(CalendarObjectError::Invalid("it does not begin with BEGIN:VCALENDAR".into()));
    }
    if root.entries.iter().any(|e| e.name.as_str().eq_ignore_ascii_case("METHOD")) {
        return Err(CalendarObjectError::NotOneObject("a stored object has no METHOD (that is for invitations)".into()));
    }
    let mut kind: Option<&'static str> = None;
    let mut uid: Option<String> = None;
    for &id in &root.component_ids {
        let Some(c) = calendar.component_by_id(id) else { continue };
        let this = match c.component_type {
            ICalendarComponentType::VTimezone => continue,
            ICalendarComponentType::VEvent => "VEVENT",
            ICalendarComponentType::VTodo => "VTODO",
            ICalendarComponentType::VJournal => "VJOURNAL",
            ref other => {
                return Err(CalendarObjectError::NotOneObject(format!("{} is not an event, task or journal entry", other.as_str())));
            }
        };
        if kind.is_some_and(|k| k != this) {
            return Err(CalendarObjectError::NotOneObject("it mixes kinds of component".into()));
        }
        kind = Some(this);
        let Some(this_uid) = c.uid().map(str::trim).filter(|u| !u.is_empty()) else {
            return Err(CalendarObjectError::NotOneObject(format!("a {this} has no UID")));
        };
        if uid.as_deref().is_some_and(|u| u != this_uid) {
            return Err(CalendarObjectError::NotOneObject("its components have different UIDs".into()));
        }
        uid = Some(this_uid.to_string());
    }
    let (Some(kind), Some(uid)) = (kind, uid) else {
        return Err(CalendarObjectError::NotOneObject("it holds no event, task or journal entry".into()));
    };
    if !accepted.iter().any(|a| a.eq_ignore_ascii_case(kind)) {
        return Err(CalendarObjectError::Unsupported(kind.to_string()));
    }
    Ok(CalendarObject { uid, component: kind, window: window(&calendar) })
}

/// Checks that every `BEGIN:` has its `END:` in order and that the text is one `outer`
/// component with nothing but blank lines after it: calcard's parser is forgiving (it closes
/// what is left open), and what we store must be whole.
pub(crate) fn balanced(text: &str, outer: &str) -> Result<(), String> {
    let mut open: Vec<String> = Vec::new();
    let mut closed = false;
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.trim().is_empty() {
            continue;
        }
        if closed {
            return Err(format!("something follows END:{outer}"));
        }
        let upper = line.to_ascii_uppercase();
        if let Some(name) = upper.strip_prefix("BEGIN:") {
            if open.is_empty() && name.trim() != outer {
                return Err(format!("it does not begin with BEGIN:{outer}"));
            }
            open.push(name.trim().to_string());
        } else if let Some(name) = upper.strip_prefix("END:") {
            match open.pop() {
                Some(o) if o == name.trim() => closed = open.is_empty(),
                Some(o) => return Err(format!("END:{} where END:{o} was due", clipped(name.trim()))),
                None => return Err(format!("END:{} with nothing open", clipped(name.trim()))),
            }
        } else if open.is_empty() {
            return Err(format!("it does not begin with BEGIN:{outer}"));
        }
    }
    match open.last() {
        Some(o) => Err(format!("{o} is never ended")),
        None if !closed => Err("it is empty".into()),
        None => Ok(()),
    }
}

/// Exactly one iCalendar object, nothing after it.
fn one_calendar(text: &str) -> Result<ICalendar, CalendarObjectError> {
    balanced(text, "VCALENDAR").map_err(CalendarObjectError::Invalid)?;
    let mut parser = Parser::new(text);
    let calendar = match parser.entry() {
        Entry::ICalendar(c) => c,
        Entry::VCard(_) => return Err(CalendarObjectError::Invalid("it is a vCard".into())),
        Entry::InvalidLine(line) => return Err(CalendarObjectError::Invalid(format!("a line is not iCalendar: {}", clipped(&line)))),
        Entry::UnexpectedComponentEnd { expected, found } => {
            return Err(CalendarObjectError::Invalid(format!("END:{} where END:{} was due", found.as_str(), expected.as_str())));
        }
        Entry::UnterminatedComponent(c) => return Err(CalendarObjectError::Invalid(format!("{c} is never ended"))),
        Entry::TooManyComponents => return Err(CalendarObjectError::Invalid("it nests too many components".into())),
        Entry::Eof => return Err(CalendarObjectError::Invalid("it is empty".into())),
        _ => return Err(CalendarObjectError::Invalid("it is not iCalendar".into())),
    };
    match parser.entry() {
        Entry::Eof => Ok(calendar),
        _ => Err(CalendarObjectError::Invalid("something follows END:VCALENDAR".into())),
    }
}

/// Where every instance falls: expanded in the object's own time zones, floating ones widened.
fn window(calendar: &ICalendar) -> Option<(i64, Option<i64>)> {
    let expanded = calendar.expand_dates(calcard::common::timezone::Tz::UTC, WINDOW_INSTANCES);
    let endless = expanded.events.len() >= WINDOW_INSTANCES;
    let mut first: Option<i64> = None;
    let mut last: Option<i64> = None;
    for event in &expanded.events {
        let start = event.start.timestamp();
        let end = match &event.end {
            calcard::icalendar::dates::TimeOrDelta::Time(t) => t.timestamp(),
            calcard::icalendar::dates::TimeOrDelta::Delta(d) => start.saturating_add(d.num_seconds()),
        };
        first = Some(first.map_or(start, |f| f.min(start)));
        last = Some(last.map_or(end.max(start), |l| l.max(end).max(start)));
    }
    let first = first?.saturating_sub(FLOATING_SLACK);
    Some((first, if endless { None } else { last.map(|l| l.saturating_add(FLOATING_SLACK)) }))
}

fn clipped(line: &str) -> String {
    line.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<String> {
        ["VEVENT", "VTODO", "VJOURNAL"].map(String::from).to_vec()
    }

    fn event(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n")
    }

    #[test]
    fn an_event_gives_its_uid_kind_and_window() {
        let text = event(
            "BEGIN:VEVENT\r\nUID:abc@x\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240310T090000Z\r\nDTEND:20240310T100000Z\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\n",
        );
        let o = parse(&text, &all()).expect("valid");
        assert_eq!((o.uid.as_str(), o.component), ("abc@x", "VEVENT"));
        let (s, e) = o.window.expect("dated");
        assert_eq!(s, 1_710_061_200 - FLOATING_SLACK);
        assert_eq!(e, Some(1_710_064_800 + FLOATING_SLACK));
    }

    #[test]
    fn a_weekly_event_without_end_has_no_end_and_one_with_a_count_has_one() {
        let forever = event(
            "BEGIN:VEVENT\r\nUID:w\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240101T180000\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n",
        );
        let o = parse(&forever, &all()).expect("valid");
        assert_eq!(o.window.expect("dated").1, None);
        let counted = forever.replace("FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=3");
        let (s, e) = parse(&counted, &all()).expect("valid").window.expect("dated");
        // 1 January 2024 18:00 in Berlin is 17:00 UTC; the third is 15 January, ending 18:00 UTC.
        assert_eq!(s + FLOATING_SLACK, 1_704_128_400);
        assert_eq!(e.map(|e| e - FLOATING_SLACK), Some(1_705_341_600));
    }

    #[test]
    fn a_recurring_event_with_a_changed_instance_is_one_object() {
        let text = event(concat!(
            "BEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20240101T000000Z\r\nRECURRENCE-ID:20240102T100000Z\r\nDTSTART:20240102T120000Z\r\nEND:VEVENT\r\n",
        ));
        assert_eq!(parse(&text, &all()).expect("valid").uid, "r");
    }

    #[test]
    fn what_is_not_one_calendar_object_is_refused_with_its_condition() {
        let cases = [
            ("", "valid-calendar-data"),
            ("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n", "valid-calendar-data"),
            ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VCALENDAR\r\n", "valid-calendar-data"),
            (&event("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n")[..], ""),
            (&event("BEGIN:VEVENT\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n")[..], "valid-calendar-object-resource"),
            (
                &event("BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\n")[..],
                "valid-calendar-object-resource",
            ),
            (&event("BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:a\r\nEND:VTODO\r\n")[..], "valid-calendar-object-resource"),
            (&event("BEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n")[..], "valid-calendar-object-resource"),
            (&event("METHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n")[..], "valid-calendar-object-resource"),
        ];
        for (text, condition) in cases {
            match parse(text, &all()) {
                Ok(_) => assert_eq!(condition, "", "{text:?} was taken"),
                Err(e) => assert_eq!(e.condition(), condition, "{text:?}: {e}"),
            }
        }
        let two = format!("{}{}", event("BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n"), event("BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n"));
        assert_eq!(parse(&two, &all()).map_err(|e| e.condition()), Err("valid-calendar-data"), "two objects in one body");
        let todo = event("BEGIN:VTODO\r\nUID:t\r\nSUMMARY:Milk\r\nEND:VTODO\r\n");
        assert_eq!(parse(&todo, &["VEVENT".into()]).map_err(|e| e.condition()), Err("supported-calendar-component"));
        let o = parse(&todo, &all()).expect("a task");
        assert_eq!((o.component, o.window), ("VTODO", None), "a task without dates has no window");
    }
}
