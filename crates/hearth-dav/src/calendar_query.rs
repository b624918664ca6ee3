//! The filter of a `calendar-query` REPORT (RFC 4791 9.7) as far as clients use it to sync:
//! the component kind, and a time range that an event's instances must overlap (9.9), checked
//! by expanding recurrences in their own time zones. Property, parameter and text filters are
//! refused as not supported rather than answered wrongly.

use calcard::common::timezone::Tz;
use calcard::icalendar::dates::TimeOrDelta;
use calcard::{Entry, Parser};

use crate::pim::CALDAV;
use crate::xml_tree::Element;

/// Instances expanded per event when checking a range; an event with more is taken to match a
/// range after its last expanded instance (more rather than fewer: a client shows what it gets).
const MOST_INSTANCES: usize = 3000;

/// Why a filter is not answered (a calendar-query's or an addressbook-query's: CalDAV and
/// CardDAV name the two preconditions alike).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Not a filter RFC 4791 describes.
    #[error("the filter is not valid: {0}")]
    Invalid(String),
    /// A filter this server does not answer yet.
    #[error("this filter is not supported here: {0}")]
    Unsupported(String),
}

impl FilterError {
    /// The precondition element (in the CalDAV or CardDAV namespace, as the report's).
    pub fn condition(&self) -> &'static str {
        match self {
            FilterError::Invalid(_) => "valid-filter",
            FilterError::Unsupported(_) => "supported-filter",
        }
    }
}

/// A time range's start and end (Unix seconds, UTC), either open.
pub type TimeRange = (Option<i64>, Option<i64>);

/// A calendar-query's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// `VEVENT`, `VTODO` or `VJOURNAL`; `None`: every item.
    component: Option<String>,
    /// The time range.
    range: Option<TimeRange>,
    /// The query's `timezone` (RFC 4791 9.8: a VCALENDAR with one VTIMEZONE), for floating times.
    zone: Option<String>,
}

/// The time zone a `calendar-timezone` or a query's `timezone` names (a VCALENDAR with a
/// VTIMEZONE, known by its TZID or by the names Outlook and libical add); `None` when it names
/// none that is known.
pub fn zone_of(vcalendar: &str) -> Option<Tz> {
    let Entry::ICalendar(calendar) = Parser::new(vcalendar).entry() else { return None };
    calendar.timezones().find_map(|c| c.timezone()).map(|(_, tz)| tz)
}

impl Filter {
    /// The filter of a `calendar-query` element.
    pub fn read(query: &Element) -> Result<Filter, FilterError> {
        let filter =
            query.children_named(CALDAV, "filter").next().ok_or_else(|| FilterError::Invalid("a calendar-query has a filter".into()))?;
        let mut comps = filter.children_named(CALDAV, "comp-filter");
        let calendar = comps.next().ok_or_else(|| FilterError::Invalid("the filter has a comp-filter".into()))?;
        if comps.next().is_some() || !calendar.attribute("name").is_some_and(|n| n.eq_ignore_ascii_case("VCALENDAR")) {
            return Err(FilterError::Invalid("the filter's comp-filter is VCALENDAR, once".into()));
        }
        refuse_others(calendar, &["comp-filter"])?;
        let zone = query.children_named(CALDAV, "timezone").next().map(Element::text);
        let mut inner = calendar.children_named(CALDAV, "comp-filter");
        let Some(component) = inner.next() else { return Ok(Filter { component: None, range: None, zone }) };
        if inner.next().is_some() {
            return Err(FilterError::Unsupported("more than one component filter".into()));
        }
        let name = component.attribute("name").ok_or_else(|| FilterError::Invalid("a comp-filter has a name".into()))?.to_ascii_uppercase();
        refuse_others(component, &["time-range"])?;
        let range = match component.children_named(CALDAV, "time-range").next() {
            None => None,
            Some(t) => {
                let start = t.attribute("start").map(utc_time).transpose()?;
                let end = t.attribute("end").map(utc_time).transpose()?;
                if start.is_none() && end.is_none() {
                    return Err(FilterError::Invalid("a time-range has a start or an end".into()));
                }
                if let (Some(s), Some(e)) = (start, end)
                    && e <= s
                {
                    return Err(FilterError::Invalid("a time-range ends after it starts".into()));
                }
                Some((start, end))
            }
        };
        Ok(Filter { component: Some(name), range, zone })
    }

    /// The component kind asked for.
    pub fn component(&self) -> Option<&str> {
        self.component.as_deref()
    }

    /// The time range asked for.
    pub fn window(&self) -> Option<TimeRange> {
        self.range
    }

    /// The query's own time zone, as sent (see [`zone_of`]).
    pub fn zone(&self) -> Option<&str> {
        self.zone.as_deref()
    }

    /// Whether a stored item (already of the right kind, its window overlapping) matches, its
    /// floating times and dates read in `zone` (UTC when `None`).
    pub fn matches(&self, body: &str, zone: Option<Tz>) -> bool {
        let Some((start, end)) = self.range else { return true };
        // Tasks and journal entries: their window decided (RFC 4791 9.9's table for them is
        // approximated by where their dates fall; an undated task matches every range).
        if self.component.as_deref() != Some("VEVENT") {
            return true;
        }
        let Entry::ICalendar(calendar) = Parser::new(body).entry() else { return false };
        let expanded = calendar.expand_dates(zone.unwrap_or(Tz::UTC), MOST_INSTANCES);
        let (qs, qe) = (start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX));
        let mut last_start = i64::MIN;
        for event in &expanded.events {
            let s = event.start.timestamp();
            let e = match &event.end {
                TimeOrDelta::Time(t) => t.timestamp(),
                TimeOrDelta::Delta(d) => s.saturating_add(d.num_seconds()),
            };
            last_start = last_start.max(s);
            let overlaps = if e > s { s < qe && e > qs } else { s >= qs && s < qe };
            if overlaps {
                return true;
            }
        }
        expanded.events.len() >= MOST_INSTANCES && last_start < qe
    }
}

/// Refuses what a filter element holds besides `allowed` children.
fn refuse_others(e: &Element, allowed: &[&str]) -> Result<(), FilterError> {
    for c in e.elements() {
        if !(c.name.namespace == CALDAV && allowed.contains(&c.name.local.as_str())) {
            return Err(FilterError::Unsupported(format!("{} in a {}", c.name.local, e.name.local)));
        }
    }
    Ok(())
}

/// `YYYYMMDDTHHMMSSZ` (RFC 4791 9.9: a date with UTC time) as Unix seconds.
pub fn utc_time(value: &str) -> Result<i64, FilterError> {
    let bad = || FilterError::Invalid(format!("{value:?} is not a UTC date-time like 20240101T000000Z"));
    let b = value.trim().as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, FilterError> {
        std::str::from_utf8(&b[r]).ok().filter(|s| s.bytes().all(|c| c.is_ascii_digit())).and_then(|s| s.parse().ok()).ok_or_else(bad)
    };
    let (y, m, d, hh, mm, ss) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return Err(bad());
    }
    // Days from 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(inner: &str) -> Element {
        let xml = format!(
            "<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"{CALDAV}\"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\">{inner}</c:comp-filter></c:filter></c:calendar-query>"
        );
        crate::xml_tree::parse(xml.as_bytes()).expect("xml")
    }

    fn range(start: &str, end: &str) -> Filter {
        Filter::read(&query(&format!("<c:comp-filter name=\"VEVENT\"><c:time-range start=\"{start}\" end=\"{end}\"/></c:comp-filter>")))
            .expect("filter")
    }

    fn calendar(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n")
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_time("19700101T000000Z"), Ok(0));
        assert_eq!(utc_time("20240229T123456Z"), Ok(1_709_210_096));
        for bad in ["20240229", "20241301T000000Z", "2024022XT000000Z", "20240229T000000"] {
            assert!(utc_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_read_and_refused() {
        let f = Filter::read(&query("")).expect("all");
        assert_eq!((f.component(), f.window()), (None, None));
        let f = range("20240101T000000Z", "20240201T000000Z");
        assert_eq!(f.component(), Some("VEVENT"));
        assert_eq!(f.window(), Some((Some(1_704_067_200), Some(1_706_745_600))));
        let unsupported = query(
            "<c:comp-filter name=\"VEVENT\"><c:prop-filter name=\"SUMMARY\"><c:text-match>x</c:text-match></c:prop-filter></c:comp-filter>",
        );
        assert_eq!(Filter::read(&unsupported).map_err(|e| e.condition()), Err("supported-filter"));
        let backwards =
            query("<c:comp-filter name=\"VEVENT\"><c:time-range start=\"20240201T000000Z\" end=\"20240101T000000Z\"/></c:comp-filter>");
        assert_eq!(Filter::read(&backwards).map_err(|e| e.condition()), Err("valid-filter"));
    }

    /// A weekly meeting at 09:00 in Berlin: 08:00 UTC in winter, 07:00 UTC from the last Sunday
    /// of March. A range that only the summer time instance falls in finds it.
    #[test]
    fn recurring_events_are_matched_across_a_dst_change() {
        let weekly = calendar(concat!(
            "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n",
            "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n",
            "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n",
            "END:VTIMEZONE\r\n",
            "BEGIN:VEVENT\r\nUID:m\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240321T090000\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n",
        ));
        // 4 April 2024: summer time, so 07:00-07:30 UTC.
        assert!(range("20240404T070000Z", "20240404T071000Z").matches(&weekly, None));
        assert!(!range("20240404T080000Z", "20240404T083000Z").matches(&weekly, None), "08:00 UTC would be winter time");
        // 21 March: winter time, 08:00 UTC.
        assert!(range("20240321T080000Z", "20240321T081000Z").matches(&weekly, None));
        assert!(!range("20240322T000000Z", "20240327T000000Z").matches(&weekly, None), "no instance that week");
    }

    /// An all-day event on 10 May in a calendar kept in Auckland (UTC+12 then): 10 May there
    /// is 9 May 12:00 to 10 May 12:00 UTC; read as UTC it would also cover a query for 11 May
    /// in Auckland.
    #[test]
    fn an_all_day_event_is_read_in_the_calendars_time_zone() {
        let day = calendar("BEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;VALUE=DATE:20240510\r\nEND:VEVENT\r\n");
        let auckland = zone_of(&calendar("BEGIN:VTIMEZONE\r\nTZID:Pacific/Auckland\r\nEND:VTIMEZONE\r\n"));
        assert!(auckland.is_some());
        let may_10_there = range("20240509T120000Z", "20240510T120000Z");
        let may_11_there = range("20240510T120000Z", "20240511T120000Z");
        assert!(may_10_there.matches(&day, auckland));
        assert!(!may_11_there.matches(&day, auckland));
        assert!(may_11_there.matches(&day, None), "read as UTC it spills into the next day there");
        assert!(zone_of("not a calendar").is_none());
        // A query may name its own zone (RFC 4791 9.8).
        let xml = format!(
            "<c:calendar-query xmlns:c=\"{CALDAV}\"><c:filter><c:comp-filter name=\"VCALENDAR\"/></c:filter><c:timezone>BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Pacific/Auckland\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n</c:timezone></c:calendar-query>"
        );
        let f = Filter::read(&crate::xml_tree::parse(xml.as_bytes()).expect("xml")).expect("filter");
        assert!(f.zone().and_then(zone_of).is_some(), "{f:?}");
    }

    #[test]
    fn an_all_day_event_covers_its_day_and_a_changed_instance_moves() {
        let day = calendar("BEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;VALUE=DATE:20240510\r\nEND:VEVENT\r\n");
        assert!(range("20240510T120000Z", "20240510T130000Z").matches(&day, None));
        assert!(!range("20240511T010000Z", "20240512T000000Z").matches(&day, None));
        let moved = calendar(concat!(
            "BEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20240101T000000Z\r\nRECURRENCE-ID:20240102T100000Z\r\nDTSTART:20240102T150000Z\r\nDTEND:20240102T160000Z\r\nEND:VEVENT\r\n",
        ));
        assert!(range("20240102T150000Z", "20240102T153000Z").matches(&moved, None));
        assert!(!range("20240102T100000Z", "20240102T103000Z").matches(&moved, None), "the instance moved away");
    }
}
