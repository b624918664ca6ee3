//! When a job runs: `daily HH:MM`, `weekly DAY HH:MM`, `hourly` or `manual`, in the box's time
//! zone (box settings), so "03:00" stays 03:00 across daylight saving. A time that does not exist
//! on a spring-forward night runs as much later as the clocks jumped (02:30 becomes 03:30, as
//! calendars do it); one that happens twice runs once, the first time.

use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use crate::error::{BackupError, Result};

/// A job's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Only when someone asks.
    Manual,
    /// At the start of every hour.
    Hourly,
    /// Every day at this time.
    Daily {
        /// Hour (0–23).
        hour: i8,
        /// Minute (0–59).
        minute: i8,
    },
    /// Every week on this day at this time.
    Weekly {
        /// The day.
        day: Weekday,
        /// Hour (0–23).
        hour: i8,
        /// Minute (0–59).
        minute: i8,
    },
}

/// The default: nightly, while the family sleeps.
pub const NIGHTLY: Schedule = Schedule::Daily { hour: 3, minute: 0 };

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

fn parse_time(s: &str) -> Option<(i8, i8)> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m) && s.len() <= 5).then_some((h, m))
}

impl Schedule {
    /// Parse `daily 03:00`, `weekly sun 04:30`, `hourly`, `manual`.
    pub fn parse(s: &str) -> Result<Schedule> {
        let bad =
            || BackupError::Invalid(format!("{s:?} is not a schedule; write `daily 03:00`, `weekly sun 04:30`, `hourly` or `manual`"));
        let words: Vec<&str> = s.split_whitespace().collect();
        Ok(match words.as_slice() {
            ["manual"] => Schedule::Manual,
            ["hourly"] => Schedule::Hourly,
            ["daily", t] => {
                let (hour, minute) = parse_time(t).ok_or_else(bad)?;
                Schedule::Daily { hour, minute }
            }
            ["weekly", d, t] => {
                let day = DAYS.iter().find(|(n, _)| d.eq_ignore_ascii_case(n)).map(|(_, w)| *w).ok_or_else(bad)?;
                let (hour, minute) = parse_time(t).ok_or_else(bad)?;
                Schedule::Weekly { day, hour, minute }
            }
            _ => return Err(bad()),
        })
    }

    /// The longest time between two runs (seconds), beyond which a planned run is a sign the
    /// clock went backwards: it is planned again.
    pub fn longest_gap(self) -> Option<i64> {
        match self {
            Schedule::Manual => None,
            Schedule::Hourly => Some(3600 + 60),
            // A daylight saving day is 25 hours long.
            Schedule::Daily { .. } => Some(25 * 3600 + 60),
            Schedule::Weekly { .. } => Some(7 * 86400 + 3600 + 60),
        }
    }

    /// The first run strictly after `now` (Unix seconds); `None` for manual.
    pub fn next_after(self, now: i64, zone: &TimeZone) -> Option<i64> {
        let t = jiff::Timestamp::from_second(now).ok()?;
        match self {
            Schedule::Manual => None,
            Schedule::Hourly => Some(now - now.rem_euclid(3600) + 3600),
            Schedule::Daily { hour, minute } => {
                let today = t.to_zoned(zone.clone()).date();
                (0..3).filter_map(|d| at(today.checked_add(jiff::Span::new().days(d)).ok()?, hour, minute, zone)).find(|&s| s > now)
            }
            Schedule::Weekly { day, hour, minute } => {
                let today = t.to_zoned(zone.clone()).date();
                (0..15)
                    .filter_map(|d| today.checked_add(jiff::Span::new().days(d)).ok())
                    .filter(|d| d.weekday() == day)
                    .filter_map(|d| at(d, hour, minute, zone))
                    .find(|&s| s > now)
            }
        }
    }
}

fn at(date: Date, hour: i8, minute: i8, zone: &TimeZone) -> Option<i64> {
    // jiff's "compatible" rule: a time in a gap moves on by the gap; a repeated time takes its first.
    date.at(hour, minute, 0, 0).to_zoned(zone.clone()).ok().map(|z| z.timestamp().as_second())
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Manual => f.write_str("manual"),
            Schedule::Hourly => f.write_str("hourly"),
            Schedule::Daily { hour, minute } => write!(f, "daily {hour:02}:{minute:02}"),
            Schedule::Weekly { day, hour, minute } => {
                let name = DAYS.iter().find(|(_, w)| w == day).map(|(n, _)| *n).unwrap_or("sun");
                write!(f, "weekly {name} {hour:02}:{minute:02}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        jiff::tz::db().get(name).expect("zone")
    }

    fn ts(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().expect("timestamp").as_second()
    }

    #[test]
    fn parses_and_prints_back() {
        for s in ["manual", "hourly", "daily 03:00", "weekly sun 04:30", "daily 23:59"] {
            assert_eq!(Schedule::parse(s).expect(s).to_string(), s);
        }
        assert_eq!(Schedule::parse("  weekly SUN 4:30 ").expect("loose").to_string(), "weekly sun 04:30");
        for bad in ["", "daily", "daily 24:00", "daily 03:60", "weekly funday 03:00", "daily 03:00 extra", "daily -1:00", "yearly"] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn daily_runs_at_local_time_across_daylight_saving() {
        let berlin = zone("Europe/Berlin");
        let s = Schedule::parse("daily 03:00").expect("parse");
        // Winter: 03:00 CET is 02:00 UTC.
        assert_eq!(s.next_after(ts("2026-01-10T12:00:00Z"), &berlin), Some(ts("2026-01-11T02:00:00Z")));
        assert_eq!(s.next_after(ts("2026-01-11T01:59:59Z"), &berlin), Some(ts("2026-01-11T02:00:00Z")));
        assert_eq!(s.next_after(ts("2026-01-11T02:00:00Z"), &berlin), Some(ts("2026-01-12T02:00:00Z")), "strictly after");
        // Summer: 03:00 CEST is 01:00 UTC.
        assert_eq!(s.next_after(ts("2026-07-01T12:00:00Z"), &berlin), Some(ts("2026-07-02T01:00:00Z")));
        // 2026-03-29: 02:00–03:00 does not exist; 02:30 runs an hour on, 03:30 CEST (01:30 UTC).
        let gap = Schedule::parse("daily 02:30").expect("parse");
        assert_eq!(gap.next_after(ts("2026-03-28T12:00:00Z"), &berlin), Some(ts("2026-03-29T01:30:00Z")));
        // 2026-10-25: 02:30 happens twice; it runs once, the first time (00:30 UTC).
        let twice = gap.next_after(ts("2026-10-24T12:00:00Z"), &berlin).expect("next");
        assert_eq!(twice, ts("2026-10-25T00:30:00Z"));
        assert_eq!(gap.next_after(twice, &berlin), Some(ts("2026-10-26T01:30:00Z")));
    }

    #[test]
    fn weekly_hourly_and_manual() {
        let utc = TimeZone::UTC;
        let w = Schedule::parse("weekly sun 04:00").expect("parse");
        // 2026-12-06 is a Sunday.
        assert_eq!(w.next_after(ts("2026-12-06T03:00:00Z"), &utc), Some(ts("2026-12-06T04:00:00Z")));
        assert_eq!(w.next_after(ts("2026-12-06T04:00:00Z"), &utc), Some(ts("2026-12-13T04:00:00Z")));
        assert_eq!(Schedule::Hourly.next_after(ts("2026-12-06T03:17:00Z"), &utc), Some(ts("2026-12-06T04:00:00Z")));
        assert_eq!(Schedule::Manual.next_after(0, &utc), None);
        let far = zone("Pacific/Kiritimati");
        let d = NIGHTLY.next_after(ts("2026-12-06T00:00:00Z"), &far).expect("next");
        assert!(d > ts("2026-12-06T00:00:00Z") && d - ts("2026-12-06T00:00:00Z") <= 86400);
    }
}
