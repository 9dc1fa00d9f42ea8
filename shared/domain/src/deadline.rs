//! When a data subject request must be answered (SPEC §3.3).
//!
//! Deadlines are calendar dates in the controller's time zone
//! ([`Register::time_zone`](crate::register::Register::time_zone), default
//! Europe/Stockholm) and run from the day of receipt, however long
//! verification takes: a request received at 23:30 UTC on 31 January is
//! received on 1 February in Stockholm. The day of receipt itself is not
//! counted (as in Regulation (EEC, Euratom) No 1182/71 on periods, dates and
//! time limits, Art. 3(1)).
//!
//! - **GDPR** Art. 12(3): one calendar month from the day of receipt — the same
//!   date next month, or that month's last day where there is no such date
//!   (31 January → 28 February, or 29 February in a leap year). Extendable
//!   once by two further months, with notice and reasons sent before the
//!   first deadline has passed. The extended date is three calendar months
//!   from the day of receipt, clamped the same way (31 January → 30 April, not
//!   28 February + 2 months = 28 April).
//! - **CCPA** (11 CCR § 7021): 45 calendar days from the day of receipt,
//!   extendable once by 45 more (90 from receipt) with notice before the first
//!   deadline; receipt must be confirmed within 10 business days
//!   ([`Deadline::acknowledge_by`]).
//!
//! A deadline that falls on a weekend or a public holiday is *not* moved to
//! the next working day (which Regulation 1182/71 Art. 3(4) and the EDPB would
//! allow for the GDPR): the earlier date is always compliant and needs no
//! holiday calendar.
//!
//! A deadline ends with its due day: an act at any instant of the due day, in
//! the controller's time zone, is in time. [`Deadline::due_at`] is the first
//! instant after it.
//!
//! Pure domain: no clock is read here; callers pass `now` (from
//! [`Clock`](crate::clock::Clock)) and the register's time zone.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// The law a request is handled under; it decides the periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    /// GDPR Art. 12(3): one month, extendable by two further months.
    Gdpr,
    /// CCPA, 11 CCR § 7021: 45 days, extendable by 45 more; acknowledgement
    /// within 10 business days.
    Ccpa,
}

impl Jurisdiction {
    /// The wire name (`"gdpr"`, `"ccpa"`), as in `POST /dsr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Jurisdiction::Gdpr => "gdpr",
            Jurisdiction::Ccpa => "ccpa",
        }
    }

    /// The due date counted from the day of receipt, first or extended.
    /// Saturates at [`Date::MAX`] rather than failing near year 9999.
    fn due(self, received_on: Date, extended: bool) -> Date {
        match (self, extended) {
            // Month arithmetic in jiff clamps to the month's last day.
            (Jurisdiction::Gdpr, false) => received_on.saturating_add(1.month()),
            (Jurisdiction::Gdpr, true) => received_on.saturating_add(3.months()),
            (Jurisdiction::Ccpa, false) => received_on.saturating_add(45.days()),
            (Jurisdiction::Ccpa, true) => received_on.saturating_add(90.days()),
        }
    }
}

/// Business days within which a CCPA request's receipt must be confirmed
/// (11 CCR § 7021(a)).
const CCPA_ACKNOWLEDGE_BUSINESS_DAYS: u8 = 10;

/// Why a deadline could not be extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionRefused {
    /// The law allows one extension only.
    #[error("the deadline has already been extended once")]
    AlreadyExtended,
    /// The notice must be sent before the first deadline has passed.
    #[error("the deadline of {due_on} has passed; it can no longer be extended")]
    TooLate { due_on: Date },
}

/// The deadline of one data subject request.
///
/// `due_on` always follows from the other three fields; build values with
/// [`Deadline::for_request`] or [`Deadline::on`] (e.g. from a stored
/// `received_on` and extension flag) and [`Deadline::extend`], not by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    pub jurisdiction: Jurisdiction,
    /// The day of receipt, in the controller's time zone.
    pub received_on: Date,
    /// The last day on which the request may be answered.
    pub due_on: Date,
    /// Whether the one extension allowed has been taken.
    pub extended: bool,
}

impl Deadline {
    /// The deadline of a request received at `received_at`, in the
    /// controller's time zone `tz`.
    pub fn for_request(jurisdiction: Jurisdiction, received_at: Timestamp, tz: &TimeZone) -> Self {
        Self::on(jurisdiction, local_date(received_at, tz), false)
    }

    /// The deadline of a request received on the calendar day `received_on`
    /// (already in the controller's time zone), extended or not.
    pub fn on(jurisdiction: Jurisdiction, received_on: Date, extended: bool) -> Self {
        Self {
            jurisdiction,
            received_on,
            due_on: jurisdiction.due(received_on, extended),
            extended,
        }
    }

    /// The deadline extended once, decided (and its notice sent) at
    /// `decided_at`. Allowed up to the last instant of the first due day in
    /// `tz`; refused after it, and refused for a deadline already extended.
    pub fn extend(&self, decided_at: Timestamp, tz: &TimeZone) -> Result<Deadline, ExtensionRefused> {
        if self.extended {
            return Err(ExtensionRefused::AlreadyExtended);
        }
        if local_date(decided_at, tz) > self.due_on {
            return Err(ExtensionRefused::TooLate { due_on: self.due_on });
        }
        Ok(Self::on(self.jurisdiction, self.received_on, true))
    }

    /// The due date without extension (the last day on which an extension
    /// could be decided), whether or not this deadline has been extended.
    pub fn first_due_on(&self) -> Date {
        self.jurisdiction.due(self.received_on, false)
    }

    /// The last day on which an extension may still be decided: `None` once
    /// the one extension has been taken.
    pub fn extendable_until(&self) -> Option<Date> {
        (!self.extended).then_some(self.due_on)
    }

    /// Whole calendar days from today (in `tz`) to the due day: positive
    /// before it, 0 on the due day itself, negative when overdue.
    pub fn days_left(&self, now: Timestamp, tz: &TimeZone) -> i32 {
        let today = local_date(now, tz);
        // Civil dates: every day is 24 hours here, whatever DST does.
        let days = self.due_on.duration_since(today).as_hours() / 24;
        i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX })
    }

    /// The end of the due day in `tz`: the first instant of the following day
    /// (midnight, or the first instant after a gap where midnight is skipped).
    /// An answer strictly before this instant is in time. For RFC 3339 on
    /// the wire (`due_at`).
    pub fn due_at(&self, tz: &TimeZone) -> Timestamp {
        self.due_on
            .tomorrow()
            .ok()
            .and_then(|next| next.to_zoned_datetime(tz.clone()).ok())
            .map(|start| start.timestamp())
            .unwrap_or(Timestamp::MAX)
    }

    /// The last day on which receipt must be confirmed.
    ///
    /// - CCPA: the 10th business day after the day of receipt. Business days
    ///   are Monday to Friday; **public holidays are ignored** (counted as
    ///   business days), which can only make the date earlier, never late.
    ///   The day of receipt is not counted, so a request received on a
    ///   Friday is due to be confirmed on the Friday two weeks later; one
    ///   received on a Saturday or Sunday counts from the Monday as business
    ///   day 1, so it also falls on the Friday 13 or 12 days later (the
    ///   earlier of the two plausible readings — "count from Monday as day 0"
    ///   would give the Monday after).
    /// - GDPR: `None`. The GDPR sets no separate acknowledgement period (only
    ///   the answer's one month); inventing one would show the requester a
    ///   legal date that does not exist. The product confirms every verified
    ///   request at once anyway (SPEC §3.3).
    pub fn acknowledge_by(&self) -> Option<Date> {
        match self.jurisdiction {
            Jurisdiction::Gdpr => None,
            Jurisdiction::Ccpa => Some(add_business_days(self.received_on, CCPA_ACKNOWLEDGE_BUSINESS_DAYS)),
        }
    }
}

/// The calendar date of `at` in `tz`.
fn local_date(at: Timestamp, tz: &TimeZone) -> Date {
    at.to_zoned_datetime(tz.clone()).date()
}

/// The `n`-th Monday-to-Friday day after `from` (`from` itself not counted).
/// Saturates at [`Date::MAX`].
fn add_business_days(from: Date, n: u8) -> Date {
    let mut day = from;
    let mut left = n;
    while left > 0 {
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => return day,
        }
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn stockholm() -> TimeZone {
        TimeZone::get("Europe/Stockholm").unwrap()
    }

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn d(text: &str) -> Date {
        text.parse().unwrap()
    }

    /// A request received at noon UTC on `received_on` (the same day in
    /// Stockholm, winter or summer).
    fn received_on(jurisdiction: Jurisdiction, received_on: &str) -> Deadline {
        Deadline::for_request(jurisdiction, ts(&format!("{received_on}T12:00:00Z")), &stockholm())
    }

    // ----- GDPR: one calendar month, extension to three -----------------

    /// (received on, first due, extended due)
    const GDPR_TABLE: &[(&str, &str, &str)] = &[
        // 31 January: clamped to February's last day, common and leap year.
        ("2026-01-31", "2026-02-28", "2026-04-30"),
        ("2024-01-31", "2024-02-29", "2024-04-30"),
        ("2100-01-31", "2100-02-28", "2100-04-30"), // 2100 is not a leap year
        ("2000-01-31", "2000-02-29", "2000-04-30"), // 2000 is
        // 30 and 29 January.
        ("2026-01-30", "2026-02-28", "2026-04-30"),
        ("2024-01-30", "2024-02-29", "2024-04-30"),
        ("2026-01-29", "2026-02-28", "2026-04-29"),
        ("2024-01-29", "2024-02-29", "2024-04-29"),
        ("2026-01-28", "2026-02-28", "2026-04-28"),
        // February.
        ("2024-02-29", "2024-03-29", "2024-05-29"),
        ("2024-02-28", "2024-03-28", "2024-05-28"),
        ("2026-02-28", "2026-03-28", "2026-05-28"),
        ("2026-02-01", "2026-03-01", "2026-05-01"),
        // 31-day month into a 30-day month and back.
        ("2026-03-31", "2026-04-30", "2026-06-30"),
        ("2026-05-31", "2026-06-30", "2026-08-31"),
        ("2026-08-31", "2026-09-30", "2026-11-30"),
        ("2026-10-31", "2026-11-30", "2027-01-31"),
        ("2026-04-30", "2026-05-30", "2026-07-30"),
        ("2026-06-30", "2026-07-30", "2026-09-30"),
        ("2026-07-31", "2026-08-31", "2026-10-31"),
        ("2026-03-15", "2026-04-15", "2026-06-15"),
        // Year end.
        ("2026-12-15", "2027-01-15", "2027-03-15"),
        ("2026-12-31", "2027-01-31", "2027-03-31"),
        ("2026-11-30", "2026-12-30", "2027-02-28"),
        ("2027-11-30", "2027-12-30", "2028-02-29"),
        ("2026-12-01", "2027-01-01", "2027-03-01"),
        ("2026-10-30", "2026-11-30", "2027-01-30"),
        // The DST change days in Stockholm (29 March, 25 October 2026).
        ("2026-03-29", "2026-04-29", "2026-06-29"),
        ("2026-10-25", "2026-11-25", "2027-01-25"),
    ];

    #[test]
    fn gdpr_table() {
        let tz = stockholm();
        for &(received, due, extended_due) in GDPR_TABLE {
            let deadline = received_on(Jurisdiction::Gdpr, received);
            assert_eq!(deadline.received_on, d(received), "received {received}");
            assert_eq!(deadline.due_on, d(due), "due for {received}");
            assert!(!deadline.extended);
            assert_eq!(deadline.first_due_on(), d(due));
            assert_eq!(deadline.extendable_until(), Some(d(due)));

            let extended = deadline.extend(ts(&format!("{received}T13:00:00Z")), &tz).unwrap();
            assert_eq!(extended.due_on, d(extended_due), "extended due for {received}");
            assert!(extended.extended);
            assert_eq!(extended.received_on, d(received));
            assert_eq!(extended.jurisdiction, Jurisdiction::Gdpr);
            assert_eq!(extended.first_due_on(), d(due));
            assert_eq!(extended.extendable_until(), None);

            assert_eq!(Deadline::on(Jurisdiction::Gdpr, d(received), false), deadline);
            assert_eq!(Deadline::on(Jurisdiction::Gdpr, d(received), true), extended);
        }
    }

    #[test]
    fn gdpr_extension_is_three_months_from_receipt_not_two_from_the_clamped_due_date() {
        let deadline = received_on(Jurisdiction::Gdpr, "2026-01-31");
        assert_eq!(deadline.due_on, d("2026-02-28"));
        let extended = deadline.extend(ts("2026-02-01T09:00:00Z"), &stockholm()).unwrap();
        assert_eq!(extended.due_on, d("2026-04-30")); // not 28 April
    }

    /// Every receipt day of six years: the due date is the same day of the
    /// next month (third month when extended), or that month's last day.
    #[test]
    fn gdpr_every_day_of_six_years() {
        let mut day = d("2023-01-01");
        while day <= d("2028-12-31") {
            for (months, extended) in [(1, false), (3, true)] {
                let due = Deadline::on(Jurisdiction::Gdpr, day, extended).due_on;
                let month_index = i32::from(day.year()) * 12 + i32::from(day.month()) - 1 + months;
                let year = i16::try_from(month_index.div_euclid(12)).unwrap();
                let month = i8::try_from(month_index.rem_euclid(12) + 1).unwrap();
                let last = date(year, month, 1).days_in_month();
                assert_eq!(due, date(year, month, day.day().min(last)), "{day} + {months} months");
            }
            day = day.tomorrow().unwrap();
        }
    }

    // ----- CCPA: 45 days, extension to 90 -------------------------------

    /// (received on, first due, extended due)
    const CCPA_TABLE: &[(&str, &str, &str)] = &[
        ("2026-01-01", "2026-02-15", "2026-04-01"),
        ("2026-01-31", "2026-03-17", "2026-05-01"),
        // Across the year end.
        ("2026-12-01", "2027-01-15", "2027-03-01"),
        ("2026-11-20", "2027-01-04", "2027-02-18"),
        ("2024-12-31", "2025-02-14", "2025-03-31"),
        ("2027-12-31", "2028-02-14", "2028-03-30"), // extension across a leap day
        // Across a leap day, and the same dates in a common year.
        ("2024-01-20", "2024-03-05", "2024-04-19"),
        ("2026-01-20", "2026-03-06", "2026-04-20"),
        ("2024-01-16", "2024-03-01", "2024-04-15"),
        ("2024-02-15", "2024-03-31", "2024-05-15"),
        ("2023-02-15", "2023-04-01", "2023-05-16"),
        // Received on the leap day, and on 28 February.
        ("2024-02-29", "2024-04-14", "2024-05-29"),
        ("2026-02-28", "2026-04-14", "2026-05-29"),
    ];

    #[test]
    fn ccpa_table() {
        let tz = stockholm();
        for &(received, due, extended_due) in CCPA_TABLE {
            let deadline = received_on(Jurisdiction::Ccpa, received);
            assert_eq!(deadline.received_on, d(received), "received {received}");
            assert_eq!(deadline.due_on, d(due), "due for {received}");
            assert!(!deadline.extended);

            let extended = deadline.extend(ts(&format!("{received}T13:00:00Z")), &tz).unwrap();
            assert_eq!(extended.due_on, d(extended_due), "extended due for {received}");
            assert!(extended.extended);
            assert_eq!(extended.first_due_on(), d(due));
        }
    }

    #[test]
    fn ccpa_every_day_of_six_years_is_45_and_90_days() {
        let mut day = d("2023-01-01");
        while day <= d("2028-12-31") {
            let first = Deadline::on(Jurisdiction::Ccpa, day, false);
            let extended = Deadline::on(Jurisdiction::Ccpa, day, true);
            assert_eq!(day.until(first.due_on).unwrap().get_days(), 45, "{day}");
            assert_eq!(day.until(extended.due_on).unwrap().get_days(), 90, "{day}");
            day = day.tomorrow().unwrap();
        }
    }

    // ----- The day of receipt in the controller's time zone -------------

    /// (received at, time zone, received on, GDPR due)
    #[test]
    fn receipt_day_is_the_date_in_the_controllers_time_zone() {
        let cases: &[(&str, TimeZone, &str, &str)] = &[
            // The SPEC's example: 23:30 UTC on 31 January is 00:30 on 1 February (UTC+1).
            ("2026-01-31T23:30:00Z", stockholm(), "2026-02-01", "2026-03-01"),
            ("2026-01-31T23:30:00Z", utc(), "2026-01-31", "2026-02-28"),
            // Winter, UTC+1: midnight in Stockholm is 23:00 UTC.
            ("2026-01-31T22:59:59Z", stockholm(), "2026-01-31", "2026-02-28"),
            ("2026-01-31T23:00:00Z", stockholm(), "2026-02-01", "2026-03-01"),
            ("2024-01-31T23:30:00Z", stockholm(), "2024-02-01", "2024-03-01"),
            ("2026-12-31T23:30:00Z", stockholm(), "2027-01-01", "2027-02-01"),
            ("2026-12-31T22:30:00Z", stockholm(), "2026-12-31", "2027-01-31"),
            // Summer, UTC+2: midnight in Stockholm is 22:00 UTC.
            ("2026-06-30T22:30:00Z", stockholm(), "2026-07-01", "2026-08-01"),
            ("2026-06-30T21:59:59Z", stockholm(), "2026-06-30", "2026-07-30"),
            ("2026-06-30T22:00:00Z", stockholm(), "2026-07-01", "2026-08-01"),
            ("2026-07-31T22:15:00Z", stockholm(), "2026-08-01", "2026-09-01"),
            ("2026-05-31T22:30:00Z", stockholm(), "2026-06-01", "2026-07-01"),
            // Spring forward, 29 March 2026 (02:00 → 03:00, 23-hour day).
            ("2026-03-28T22:59:59Z", stockholm(), "2026-03-28", "2026-04-28"),
            ("2026-03-28T23:30:00Z", stockholm(), "2026-03-29", "2026-04-29"),
            ("2026-03-29T00:59:59Z", stockholm(), "2026-03-29", "2026-04-29"), // 01:59:59 +01
            ("2026-03-29T01:00:00Z", stockholm(), "2026-03-29", "2026-04-29"), // 03:00 +02
            ("2026-03-29T21:59:59Z", stockholm(), "2026-03-29", "2026-04-29"),
            ("2026-03-29T22:00:00Z", stockholm(), "2026-03-30", "2026-04-30"),
            // Fall back, 25 October 2026 (03:00 → 02:00, 25-hour day).
            ("2026-10-24T21:59:59Z", stockholm(), "2026-10-24", "2026-11-24"),
            ("2026-10-24T22:00:00Z", stockholm(), "2026-10-25", "2026-11-25"),
            ("2026-10-25T00:30:00Z", stockholm(), "2026-10-25", "2026-11-25"), // 02:30 +02
            ("2026-10-25T01:30:00Z", stockholm(), "2026-10-25", "2026-11-25"), // 02:30 +01
            ("2026-10-25T22:59:59Z", stockholm(), "2026-10-25", "2026-11-25"),
            ("2026-10-25T23:00:00Z", stockholm(), "2026-10-26", "2026-11-26"),
            // Another controller zone: Los Angeles is behind UTC.
            (
                "2026-02-01T07:30:00Z",
                TimeZone::get("America/Los_Angeles").unwrap(),
                "2026-01-31",
                "2026-02-28",
            ),
        ];
        for (at, tz, received, due) in cases {
            let gdpr = Deadline::for_request(Jurisdiction::Gdpr, ts(at), tz);
            assert_eq!(gdpr.received_on, d(received), "received at {at}");
            assert_eq!(gdpr.due_on, d(due), "due for {at}");
            let ccpa = Deadline::for_request(Jurisdiction::Ccpa, ts(at), tz);
            assert_eq!(ccpa.received_on, d(received), "received at {at}");
            assert_eq!(ccpa.due_on, d(received).checked_add(45.days()).unwrap());
        }
    }

    #[test]
    fn ccpa_receipt_late_evening_utc_crosses_into_the_next_day() {
        // 23:30 UTC on 31 January is 1 February in Stockholm: 45 days from 1 February.
        let deadline = Deadline::for_request(Jurisdiction::Ccpa, ts("2026-01-31T23:30:00Z"), &stockholm());
        assert_eq!(deadline.received_on, d("2026-02-01"));
        assert_eq!(deadline.due_on, d("2026-03-18"));
        // In UTC it is still 31 January.
        let deadline = Deadline::for_request(Jurisdiction::Ccpa, ts("2026-01-31T23:30:00Z"), &utc());
        assert_eq!(deadline.due_on, d("2026-03-17"));
    }

    // ----- Extension ----------------------------------------------------

    #[test]
    fn extension_up_to_the_last_instant_of_the_due_day() {
        let tz = stockholm();
        // Due 28 February 2026, which ends at 23:00 UTC (midnight, UTC+1).
        let deadline = received_on(Jurisdiction::Gdpr, "2026-01-31");
        assert_eq!(deadline.due_on, d("2026-02-28"));
        let allowed = [
            "2026-01-31T12:00:01Z", // the day of receipt
            "2026-02-10T09:00:00Z",
            "2026-02-28T00:00:00Z",
            "2026-02-28T12:00:00Z", // on the due day
            "2026-02-28T22:59:59.999999999Z",
        ];
        for at in allowed {
            let extended = deadline.extend(ts(at), &tz).unwrap();
            assert_eq!(extended.due_on, d("2026-04-30"), "decided at {at}");
        }
        let refused = [
            "2026-02-28T23:00:00Z", // midnight in Stockholm
            "2026-02-28T23:30:00Z",
            "2026-03-01T09:00:00Z", // the day after
            "2026-04-01T09:00:00Z",
        ];
        for at in refused {
            assert_eq!(
                deadline.extend(ts(at), &tz),
                Err(ExtensionRefused::TooLate {
                    due_on: d("2026-02-28")
                }),
                "decided at {at}"
            );
        }
    }

    #[test]
    fn extension_deadline_follows_the_time_zone() {
        let deadline = Deadline::on(Jurisdiction::Gdpr, d("2026-01-31"), false);
        let at = ts("2026-02-28T23:30:00Z");
        // Already 1 March in Stockholm; still 28 February in UTC.
        assert!(matches!(
            deadline.extend(at, &stockholm()),
            Err(ExtensionRefused::TooLate { .. })
        ));
        assert!(deadline.extend(at, &utc()).is_ok());
        // Summer: the due day ends at 22:00 UTC.
        let deadline = Deadline::on(Jurisdiction::Gdpr, d("2026-05-31"), false);
        assert_eq!(deadline.due_on, d("2026-06-30"));
        assert!(deadline.extend(ts("2026-06-30T21:59:59Z"), &stockholm()).is_ok());
        assert!(deadline.extend(ts("2026-06-30T22:00:00Z"), &stockholm()).is_err());
    }

    #[test]
    fn second_extension_refused() {
        let tz = stockholm();
        for jurisdiction in [Jurisdiction::Gdpr, Jurisdiction::Ccpa] {
            let extended = received_on(jurisdiction, "2026-01-31")
                .extend(ts("2026-02-02T10:00:00Z"), &tz)
                .unwrap();
            // Early, on the extended due day, and late: always AlreadyExtended.
            for at in ["2026-02-03T10:00:00Z", "2026-04-30T10:00:00Z", "2026-12-01T10:00:00Z"] {
                assert_eq!(
                    extended.extend(ts(at), &tz),
                    Err(ExtensionRefused::AlreadyExtended),
                    "{jurisdiction:?} at {at}"
                );
            }
            assert_eq!(
                Deadline::on(jurisdiction, d("2026-01-31"), true).extend(ts("2026-02-01T10:00:00Z"), &tz),
                Err(ExtensionRefused::AlreadyExtended)
            );
        }
    }

    #[test]
    fn ccpa_extension_on_the_due_day_allowed_the_day_after_refused() {
        let tz = stockholm();
        let deadline = received_on(Jurisdiction::Ccpa, "2026-01-01");
        assert_eq!(deadline.due_on, d("2026-02-15"));
        let extended = deadline.extend(ts("2026-02-15T22:59:59Z"), &tz).unwrap();
        assert_eq!(extended.due_on, d("2026-04-01"));
        assert_eq!(
            deadline.extend(ts("2026-02-15T23:00:00Z"), &tz),
            Err(ExtensionRefused::TooLate {
                due_on: d("2026-02-15")
            })
        );
        assert_eq!(
            deadline.extend(ts("2026-02-16T12:00:00Z"), &tz),
            Err(ExtensionRefused::TooLate {
                due_on: d("2026-02-15")
            })
        );
    }

    #[test]
    fn extension_refusals_read_as_sentences() {
        assert_eq!(
            ExtensionRefused::AlreadyExtended.to_string(),
            "the deadline has already been extended once"
        );
        assert_eq!(
            ExtensionRefused::TooLate {
                due_on: d("2026-02-28")
            }
            .to_string(),
            "the deadline of 2026-02-28 has passed; it can no longer be extended"
        );
    }

    // ----- days_left ----------------------------------------------------

    #[test]
    fn days_left_positive_zero_negative() {
        let tz = stockholm();
        // Received 31 January 2026, due 28 February 2026.
        let deadline = received_on(Jurisdiction::Gdpr, "2026-01-31");
        let cases = [
            ("2026-01-31T12:00:00Z", 28), // the moment of receipt
            ("2026-02-01T10:00:00Z", 27),
            ("2026-02-27T12:00:00Z", 1),
            ("2026-02-27T22:59:59Z", 1),
            ("2026-02-27T23:00:00Z", 0), // midnight in Stockholm: the due day
            ("2026-02-28T12:00:00Z", 0),
            ("2026-02-28T22:59:59Z", 0),
            ("2026-02-28T23:00:00Z", -1), // overdue from midnight
            ("2026-03-01T12:00:00Z", -1),
            ("2026-03-10T12:00:00Z", -10),
            ("2027-02-28T12:00:00Z", -365),
        ];
        for (now, expected) in cases {
            assert_eq!(deadline.days_left(ts(now), &tz), expected, "now {now}");
        }
        // The same instant is still 27 February in UTC.
        assert_eq!(deadline.days_left(ts("2026-02-27T23:30:00Z"), &utc()), 1);
    }

    #[test]
    fn days_left_counts_days_not_hours_across_dst() {
        let tz = stockholm();
        // CCPA received 1 March 2026, due 15 April 2026; spring forward on 29 March.
        let deadline = received_on(Jurisdiction::Ccpa, "2026-03-01");
        assert_eq!(deadline.due_on, d("2026-04-15"));
        assert_eq!(deadline.days_left(ts("2026-03-28T12:00:00Z"), &tz), 18);
        assert_eq!(deadline.days_left(ts("2026-03-29T12:00:00Z"), &tz), 17);
        assert_eq!(deadline.days_left(ts("2026-03-29T21:59:59Z"), &tz), 17);
        assert_eq!(deadline.days_left(ts("2026-03-29T22:00:00Z"), &tz), 16);
        assert_eq!(deadline.days_left(ts("2026-04-15T21:59:59Z"), &tz), 0);
        assert_eq!(deadline.days_left(ts("2026-04-15T22:00:00Z"), &tz), -1);
        // GDPR received 1 October 2026, due 1 November; fall back on 25 October.
        let deadline = received_on(Jurisdiction::Gdpr, "2026-10-01");
        assert_eq!(deadline.due_on, d("2026-11-01"));
        assert_eq!(deadline.days_left(ts("2026-10-24T12:00:00Z"), &tz), 8);
        assert_eq!(deadline.days_left(ts("2026-10-25T12:00:00Z"), &tz), 7);
        assert_eq!(deadline.days_left(ts("2026-10-25T22:59:59Z"), &tz), 7);
        assert_eq!(deadline.days_left(ts("2026-10-25T23:00:00Z"), &tz), 6);
    }

    #[test]
    fn days_left_follows_an_extension() {
        let tz = stockholm();
        let deadline = received_on(Jurisdiction::Gdpr, "2026-01-31");
        let now = ts("2026-03-01T12:00:00Z");
        assert_eq!(deadline.days_left(now, &tz), -1);
        let extended = deadline.extend(ts("2026-02-20T12:00:00Z"), &tz).unwrap();
        assert_eq!(extended.days_left(now, &tz), 60); // 1 March → 30 April
        let ccpa = received_on(Jurisdiction::Ccpa, "2026-01-01")
            .extend(ts("2026-01-02T12:00:00Z"), &tz)
            .unwrap();
        assert_eq!(ccpa.days_left(ts("2026-01-01T12:00:00Z"), &tz), 90);
    }

    // ----- due_at -------------------------------------------------------

    #[test]
    fn due_at_is_the_first_instant_after_the_due_day() {
        let havana = TimeZone::get("America/Havana").unwrap();
        let cases: &[(&str, TimeZone, &str)] = &[
            // Winter, UTC+1.
            ("2026-02-28", stockholm(), "2026-02-28T23:00:00Z"),
            ("2027-01-31", stockholm(), "2027-01-31T23:00:00Z"),
            ("2026-12-31", stockholm(), "2026-12-31T23:00:00Z"),
            // Summer, UTC+2.
            ("2026-07-30", stockholm(), "2026-07-30T22:00:00Z"),
            // The day before spring forward ends at midnight UTC+1; the
            // change day itself (23 hours) at midnight UTC+2.
            ("2026-03-28", stockholm(), "2026-03-28T23:00:00Z"),
            ("2026-03-29", stockholm(), "2026-03-29T22:00:00Z"),
            // Fall back: the day before ends at UTC+2, the 25-hour day at UTC+1.
            ("2026-10-24", stockholm(), "2026-10-24T22:00:00Z"),
            ("2026-10-25", stockholm(), "2026-10-25T23:00:00Z"),
            ("2026-02-28", utc(), "2026-03-01T00:00:00Z"),
            // Cuba skips midnight (00:00 → 01:00) on 8 March 2026: the
            // day starts at 01:00 CDT, 05:00 UTC.
            ("2026-03-07", havana.clone(), "2026-03-08T05:00:00Z"),
        ];
        for (due, tz, expected) in cases {
            let deadline = Deadline {
                jurisdiction: Jurisdiction::Gdpr,
                received_on: d(due).checked_sub(1.month()).unwrap(),
                due_on: d(due),
                extended: false,
            };
            let at = deadline.due_at(tz);
            assert_eq!(at, ts(expected), "due {due} in {:?}", tz.iana_name());
            assert_eq!(deadline.days_left(at, tz), -1);
            assert_eq!(
                deadline.days_left(at.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap(), tz),
                0
            );
        }
        assert_eq!(
            ts("2026-03-08T05:00:00Z").to_zoned_datetime(havana).datetime(),
            date(2026, 3, 8).at(1, 0, 0, 0)
        );
    }

    /// For every due day of four years in Stockholm: the instant before
    /// `due_at` is on the due day, `due_at` is midnight of the next day,
    /// and an extension is allowed exactly before `due_at`.
    #[test]
    fn due_at_every_day_of_four_years_in_stockholm() {
        let tz = stockholm();
        let mut received = d("2024-01-01");
        while received <= d("2027-12-31") {
            for jurisdiction in [Jurisdiction::Gdpr, Jurisdiction::Ccpa] {
                let deadline = Deadline::on(jurisdiction, received, false);
                let at = deadline.due_at(&tz);
                let just_before = at.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap();
                assert_eq!(just_before.to_zoned_datetime(tz.clone()).date(), deadline.due_on);
                let zoned = at.to_zoned_datetime(tz.clone());
                assert_eq!(zoned.date(), deadline.due_on.tomorrow().unwrap());
                assert_eq!(zoned.datetime().time(), jiff::civil::time(0, 0, 0, 0));
                assert!(deadline.extend(just_before, &tz).is_ok());
                assert!(deadline.extend(at, &tz).is_err());
            }
            received = received.tomorrow().unwrap();
        }
    }

    // ----- Acknowledgement ----------------------------------------------

    #[test]
    fn ccpa_acknowledgement_ten_business_days() {
        // (received on, weekday, acknowledge by, weekday)
        let cases = [
            ("2026-01-26", Weekday::Monday, "2026-02-09", Weekday::Monday),
            ("2026-01-28", Weekday::Wednesday, "2026-02-11", Weekday::Wednesday),
            ("2026-01-29", Weekday::Thursday, "2026-02-12", Weekday::Thursday),
            // Friday: the Friday two weeks later.
            ("2026-01-30", Weekday::Friday, "2026-02-13", Weekday::Friday),
            // Saturday and Sunday: Monday is business day 1, so the same Friday.
            ("2026-01-31", Weekday::Saturday, "2026-02-13", Weekday::Friday),
            ("2026-02-01", Weekday::Sunday, "2026-02-13", Weekday::Friday),
            ("2026-02-02", Weekday::Monday, "2026-02-16", Weekday::Monday),
            // Across the year end; holidays (25 Dec, 1 Jan, 6 Jan) count as business days.
            ("2026-12-24", Weekday::Thursday, "2027-01-07", Weekday::Thursday),
            ("2026-12-25", Weekday::Friday, "2027-01-08", Weekday::Friday),
            ("2026-12-26", Weekday::Saturday, "2027-01-08", Weekday::Friday),
            // Across a leap day.
            ("2024-02-23", Weekday::Friday, "2024-03-08", Weekday::Friday),
            ("2024-02-29", Weekday::Thursday, "2024-03-14", Weekday::Thursday),
        ];
        for (received, received_weekday, by, by_weekday) in cases {
            assert_eq!(d(received).weekday(), received_weekday, "{received}");
            assert_eq!(d(by).weekday(), by_weekday, "{by}");
            let deadline = received_on(Jurisdiction::Ccpa, received);
            assert_eq!(deadline.acknowledge_by(), Some(d(by)), "received {received}");
            // An extension does not move it.
            let extended = deadline
                .extend(ts(&format!("{received}T13:00:00Z")), &stockholm())
                .unwrap();
            assert_eq!(extended.acknowledge_by(), Some(d(by)));
        }
    }

    #[test]
    fn ccpa_acknowledgement_counts_from_the_local_receipt_day() {
        // Sunday 23:30 UTC is Monday 00:30 in Stockholm: Monday two weeks later,
        // not the Friday a Sunday receipt would give.
        let deadline = Deadline::for_request(Jurisdiction::Ccpa, ts("2026-02-01T23:30:00Z"), &stockholm());
        assert_eq!(deadline.received_on, d("2026-02-02"));
        assert_eq!(deadline.acknowledge_by(), Some(d("2026-02-16")));
        let deadline = Deadline::for_request(Jurisdiction::Ccpa, ts("2026-02-01T23:30:00Z"), &utc());
        assert_eq!(deadline.acknowledge_by(), Some(d("2026-02-13")));
    }

    #[test]
    fn ccpa_acknowledgement_every_day_of_two_years() {
        let mut day = d("2026-01-01");
        while day <= d("2027-12-31") {
            let by = Deadline::on(Jurisdiction::Ccpa, day, false).acknowledge_by().unwrap();
            assert!(!matches!(by.weekday(), Weekday::Saturday | Weekday::Sunday), "{day}");
            let span = day.until(by).unwrap().get_days();
            assert!((12..=14).contains(&span), "{day} → {by}");
            let mut weekdays = 0;
            let mut cursor = day;
            while cursor < by {
                cursor = cursor.tomorrow().unwrap();
                if !matches!(cursor.weekday(), Weekday::Saturday | Weekday::Sunday) {
                    weekdays += 1;
                }
            }
            assert_eq!(weekdays, 10, "{day} → {by}");
            day = day.tomorrow().unwrap();
        }
    }

    #[test]
    fn gdpr_has_no_acknowledgement_deadline() {
        assert_eq!(received_on(Jurisdiction::Gdpr, "2026-01-30").acknowledge_by(), None);
        assert_eq!(
            Deadline::on(Jurisdiction::Gdpr, d("2026-01-30"), true).acknowledge_by(),
            None
        );
    }

    // ----- Edges ----------------------------------------------------------

    #[test]
    fn near_the_end_of_time_saturates_instead_of_panicking() {
        let tz = stockholm();
        for jurisdiction in [Jurisdiction::Gdpr, Jurisdiction::Ccpa] {
            let deadline = Deadline::on(jurisdiction, d("9999-12-20"), false);
            assert_eq!(deadline.due_on, Date::MAX);
            assert_eq!(deadline.due_at(&tz), Timestamp::MAX);
            let _ = deadline.acknowledge_by();
            let _ = deadline.days_left(Timestamp::MIN, &tz);
            let _ = deadline.extend(Timestamp::MAX, &tz);
            let deadline = Deadline::for_request(jurisdiction, Timestamp::MAX, &tz);
            let _ = deadline.days_left(Timestamp::MAX, &tz);
        }
        assert_eq!(
            Deadline::on(Jurisdiction::Ccpa, d("9999-12-30"), false).acknowledge_by(),
            Some(Date::MAX)
        );
    }

    #[test]
    fn jurisdiction_wire_names() {
        for (jurisdiction, name) in [(Jurisdiction::Gdpr, "gdpr"), (Jurisdiction::Ccpa, "ccpa")] {
            assert_eq!(jurisdiction.as_str(), name);
            assert_eq!(serde_json::to_string(&jurisdiction).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<Jurisdiction>(&format!("\"{name}\"")).unwrap(),
                jurisdiction
            );
        }
        assert!(serde_json::from_str::<Jurisdiction>("\"GDPR\"").is_err());
        assert!(serde_json::from_str::<Jurisdiction>("\"lgpd\"").is_err());
    }
}
