//! When a data subject request must be answered (SPEC §3.3, "Which law sets
//! the date").
//!
//! **Which laws apply.** The controller is established in Sweden, so the GDPR
//! applies to every request of every person, wherever they live (Art. 3(1)).
//! A request's `jurisdiction` of `ccpa` or `nevada` *adds* that law
//! ([`ApplicableLaws`]); it never replaces the GDPR. Each applicable law gives
//! a due date, and the request is due on the **earliest** of them: another
//! law can only make the date earlier, never later. The same holds for the
//! extended date.
//!
//! **The periods**, each counted from that law's day of receipt, the day of
//! receipt itself not counted (as in Regulation (EEC, Euratom) No 1182/71,
//! Art. 3(1)):
//!
//! - **GDPR** Art. 12(3): one calendar month — the same date next month, or
//!   that month's last day where there is no such date (31 January → 28
//!   February, or 29 February in a leap year). Extendable once by two further
//!   months, added to the first due date (31 January → 28 February → 28
//!   April), with notice and reasons before the first due date has passed.
//!   Day of receipt: the calendar date in the controller's time zone
//!   ([`Register::time_zone`](crate::register::Register::time_zone), default
//!   Europe/Stockholm): 23:30 UTC on 31 January is 1 February.
//! - **CCPA** (11 CCR § 7021): 45 calendar days, extendable once by 45 more
//!   with notice; receipt confirmed within 10 business days
//!   ([`Deadline::acknowledge_by`]).
//! - **Nevada** (NRS 603A.345): 60 calendar days, extendable once by 30 more
//!   with notice.
//!
//! Under CCPA and Nevada the day of receipt is never later than the calendar
//! date in California (America/Los_Angeles): 23:30 UTC on 31 January is
//! already 1 February in Stockholm but still 31 January in California, so
//! those laws count from 31 January.
//!
//! **Extension.** One only. It may be decided (and its notice sent) up to the
//! end of the first due day — the combined one, the earliest of the laws —
//! and it moves the due date to the earliest of the applicable laws'
//! extended dates.
//!
//! A deadline that falls on a weekend or a public holiday is *not* moved to
//! the next working day (which Regulation 1182/71 Art. 3(4) would allow for
//! the GDPR): the earlier date is always compliant and needs no holiday
//! calendar.
//!
//! A due date is a calendar date in the controller's time zone, and a
//! deadline ends with its due day there: an act at any instant of the due
//! day is in time. [`Deadline::due_at`] is the first instant after it. (A
//! California date read in Stockholm ends 9 hours earlier than in
//! California: never late.)
//!
//! Pure domain: no clock is read here; callers pass `now` (from
//! [`Clock`](crate::clock::Clock)) and the register's time zone.

use std::sync::LazyLock;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// The calendar of the CCPA's and Nevada's day of receipt.
static CALIFORNIA: LazyLock<TimeZone> = LazyLock::new(|| {
    TimeZone::get("America/Los_Angeles")
        .unwrap_or_else(|_| unreachable!("the time zone database is bundled (jiff's tzdb-bundle-always)"))
});

/// A law that sets the periods of a request. As the request's
/// `jurisdiction` (`POST /dsr`), the law the requester invoked, in addition
/// to the GDPR that always applies ([`Jurisdiction::applicable_laws`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    /// GDPR Art. 12(3): one month, extendable by two further months.
    Gdpr,
    /// CCPA, 11 CCR § 7021: 45 days, extendable by 45 more; acknowledgement
    /// within 10 business days.
    Ccpa,
    /// NRS 603A.345: 60 days, extendable by 30 more.
    Nevada,
}

impl Jurisdiction {
    pub const ALL: [Jurisdiction; 3] = [Jurisdiction::Gdpr, Jurisdiction::Ccpa, Jurisdiction::Nevada];

    /// The wire name (`"gdpr"`, `"ccpa"`, `"nevada"`), as in `POST /dsr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Jurisdiction::Gdpr => "gdpr",
            Jurisdiction::Ccpa => "ccpa",
            Jurisdiction::Nevada => "nevada",
        }
    }

    /// The jurisdiction named `raw` on the wire; an unknown name is an error
    /// of `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|law| law.as_str() == raw)
            .ok_or_else(|| FieldError::invalid(field, "The jurisdiction is `gdpr`, `ccpa` or `nevada`."))
    }

    /// The laws whose periods bind a request made under this jurisdiction.
    pub fn applicable_laws(self) -> ApplicableLaws {
        ApplicableLaws { invoked: self }
    }

    /// This law's day of receipt of a request received at `received_at`:
    /// the date in the controller's time zone, and for the CCPA and Nevada
    /// never later than the date in California.
    fn received_on(self, received_at: Timestamp, controller: &TimeZone) -> Date {
        let local = local_date(received_at, controller);
        match self {
            Jurisdiction::Gdpr => local,
            Jurisdiction::Ccpa | Jurisdiction::Nevada => local.min(local_date(received_at, &CALIFORNIA)),
        }
    }

    /// The period from the day of receipt to the first due date.
    fn period(self) -> Span {
        match self {
            Jurisdiction::Gdpr => 1.month(),
            Jurisdiction::Ccpa => 45.days(),
            Jurisdiction::Nevada => 60.days(),
        }
    }

    /// The one extension, added to the first due date.
    fn extension(self) -> Span {
        match self {
            Jurisdiction::Gdpr => 2.months(),
            Jurisdiction::Ccpa => 45.days(),
            Jurisdiction::Nevada => 30.days(),
        }
    }

    /// This law's dates for a request received at `received_at`. Month
    /// arithmetic in jiff clamps to the month's last day; the dates saturate
    /// at [`Date::MAX`] rather than failing near year 9999.
    pub fn periods(self, received_at: Timestamp, controller: &TimeZone) -> LawPeriods {
        let received_on = self.received_on(received_at, controller);
        let first_due_on = received_on.saturating_add(self.period());
        LawPeriods {
            law: self,
            received_on,
            first_due_on,
            extended_due_on: first_due_on.saturating_add(self.extension()),
        }
    }
}

/// The laws that apply to one request: always the GDPR (Art. 3(1): the
/// controller is established in the EU), plus the law the requester invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApplicableLaws {
    invoked: Jurisdiction,
}

impl ApplicableLaws {
    /// Each applicable law once, the GDPR first.
    pub fn iter(self) -> impl Iterator<Item = Jurisdiction> {
        std::iter::once(Jurisdiction::Gdpr).chain((self.invoked != Jurisdiction::Gdpr).then_some(self.invoked))
    }

    pub fn contains(self, law: Jurisdiction) -> bool {
        self.iter().any(|applicable| applicable == law)
    }
}

/// One law's dates for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LawPeriods {
    pub law: Jurisdiction,
    /// This law's day of receipt.
    pub received_on: Date,
    pub first_due_on: Date,
    pub extended_due_on: Date,
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

/// The deadline of one data subject request: built from the moment of
/// receipt, the jurisdiction and whether the one extension was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    jurisdiction: Jurisdiction,
    received_at: Timestamp,
    received_on: Date,
    first_due_on: Date,
    extended_due_on: Date,
    extended: bool,
    acknowledge_by: Option<Date>,
}

impl Deadline {
    /// The deadline of a request received at `received_at`, not extended;
    /// `tz` is the controller's time zone.
    pub fn for_request(jurisdiction: Jurisdiction, received_at: Timestamp, tz: &TimeZone) -> Self {
        let laws: Vec<LawPeriods> = jurisdiction
            .applicable_laws()
            .iter()
            .map(|law| law.periods(received_at, tz))
            .collect();
        let earliest = |date: fn(&LawPeriods) -> Date| laws.iter().map(date).min().unwrap_or(Date::MAX);
        Self {
            jurisdiction,
            received_at,
            received_on: local_date(received_at, tz),
            first_due_on: earliest(|law| law.first_due_on),
            extended_due_on: earliest(|law| law.extended_due_on),
            extended: false,
            acknowledge_by: match jurisdiction {
                Jurisdiction::Gdpr | Jurisdiction::Nevada => None,
                Jurisdiction::Ccpa => Some(add_business_days(
                    Jurisdiction::Ccpa.received_on(received_at, tz),
                    CCPA_ACKNOWLEDGE_BUSINESS_DAYS,
                )),
            },
        }
    }

    /// The deadline of a stored request: received at `received_at`, and
    /// extended or not.
    pub fn of_request(jurisdiction: Jurisdiction, received_at: Timestamp, extended: bool, tz: &TimeZone) -> Self {
        Self {
            extended,
            ..Self::for_request(jurisdiction, received_at, tz)
        }
    }

    pub fn jurisdiction(&self) -> Jurisdiction {
        self.jurisdiction
    }

    pub fn received_at(&self) -> Timestamp {
        self.received_at
    }

    /// The day of receipt in the controller's time zone.
    pub fn received_on(&self) -> Date {
        self.received_on
    }

    /// The last day on which the request may be answered: the earliest that
    /// any applicable law gives, extended or not.
    pub fn due_on(&self) -> Date {
        if self.extended {
            self.extended_due_on
        } else {
            self.first_due_on
        }
    }

    /// The due date without extension (the last day on which an extension
    /// could be decided), whether or not this deadline has been extended.
    pub fn first_due_on(&self) -> Date {
        self.first_due_on
    }

    /// Whether the one extension allowed has been taken.
    pub fn extended(&self) -> bool {
        self.extended
    }

    /// The laws that set this deadline.
    pub fn applicable_laws(&self) -> ApplicableLaws {
        self.jurisdiction.applicable_laws()
    }

    /// The deadline extended once, decided (and its notice sent) at
    /// `decided_at`. Allowed up to the last instant of the first due day in
    /// `tz`; refused after it, and refused for a deadline already extended.
    pub fn extend(&self, decided_at: Timestamp, tz: &TimeZone) -> Result<Deadline, ExtensionRefused> {
        if self.extended {
            return Err(ExtensionRefused::AlreadyExtended);
        }
        if local_date(decided_at, tz) > self.first_due_on {
            return Err(ExtensionRefused::TooLate {
                due_on: self.first_due_on,
            });
        }
        Ok(Self {
            extended: true,
            ..*self
        })
    }

    /// The last day on which an extension may still be decided: `None` once
    /// the one extension has been taken.
    pub fn extendable_until(&self) -> Option<Date> {
        (!self.extended).then_some(self.first_due_on)
    }

    /// Whole calendar days from today (in `tz`) to the due day: positive
    /// before it, 0 on the due day itself, negative when overdue.
    pub fn days_left(&self, now: Timestamp, tz: &TimeZone) -> i32 {
        let today = local_date(now, tz);
        // Civil dates: every day is 24 hours here, whatever DST does.
        let days = self.due_on().duration_since(today).as_hours() / 24;
        i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX })
    }

    /// The end of the due day in `tz`: the first instant of the following day
    /// (midnight, or the first instant after a gap where midnight is skipped).
    /// An answer strictly before this instant is in time. For RFC 3339 on
    /// the wire (`due_at`).
    pub fn due_at(&self, tz: &TimeZone) -> Timestamp {
        self.due_on()
            .tomorrow()
            .ok()
            .and_then(|next| next.to_zoned_datetime(tz.clone()).ok())
            .map(|start| start.timestamp())
            .unwrap_or(Timestamp::MAX)
    }

    /// The last day on which receipt must be confirmed.
    ///
    /// - CCPA: the 10th business day after the CCPA's day of receipt (the
    ///   California date). Business days are Monday to Friday; **public
    ///   holidays are ignored** (counted as business days), which can only
    ///   make the date earlier, never late. The day of receipt is not
    ///   counted, so a request received on a Friday is due to be confirmed on
    ///   the Friday two weeks later; one received on a Saturday or Sunday
    ///   counts from the Monday as business day 1, so it also falls on the
    ///   Friday 13 or 12 days later (the earlier of the two plausible
    ///   readings).
    /// - GDPR and Nevada: `None`. Neither sets an acknowledgement period
    ///   (only the answer's); inventing one would show the requester a legal
    ///   date that does not exist. The product confirms every verified
    ///   request at once anyway (SPEC §3.3).
    pub fn acknowledge_by(&self) -> Option<Date> {
        self.acknowledge_by
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
    use Jurisdiction::{Ccpa, Gdpr, Nevada};

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

    /// A request received at noon UTC on `day`: the same date in Stockholm
    /// and in California, winter or summer.
    fn at_noon(jurisdiction: Jurisdiction, day: Date) -> Deadline {
        Deadline::for_request(jurisdiction, ts(&format!("{day}T12:00:00Z")), &stockholm())
    }

    // ----- The statute table ----------------------------------------------

    /// One vector: a request under `jurisdiction` received at `received_at`
    /// (controller in Stockholm) is received on `received_on` there, due on
    /// `first_due`, and on `extended_due` once extended. Every date here is
    /// derived from the statutes by hand, not from the code.
    struct Vector {
        jurisdiction: Jurisdiction,
        received_at: &'static str,
        received_on: &'static str,
        first_due: &'static str,
        extended_due: &'static str,
    }

    const fn v(
        jurisdiction: Jurisdiction,
        received_at: &'static str,
        received_on: &'static str,
        first_due: &'static str,
        extended_due: &'static str,
    ) -> Vector {
        Vector {
            jurisdiction,
            received_at,
            received_on,
            first_due,
            extended_due,
        }
    }

    const STATUTE_TABLE: &[Vector] = &[
        // --- GDPR Art. 12(3) alone ---
        // Month end: one month from 31 Jan has no 31st, so February's last day; the two
        // months are added to that first due date (28 Feb → 28 Apr), not to the receipt (30 Apr).
        v(Gdpr, "2027-01-31T12:00:00Z", "2027-01-31", "2027-02-28", "2027-04-28"),
        // 29 February: in a leap year the month from 31 Jan ends on 29 Feb; +2 months → 29 Apr.
        v(Gdpr, "2028-01-31T12:00:00Z", "2028-01-31", "2028-02-29", "2028-04-29"),
        // 29 February as the day of receipt: the same date next month exists (29 Mar).
        v(Gdpr, "2028-02-29T12:00:00Z", "2028-02-29", "2028-03-29", "2028-05-29"),
        // Month end into a 30-day month (31 Mar → 30 Apr), extension keeps the 30th (30 Jun).
        v(Gdpr, "2027-03-31T10:00:00Z", "2027-03-31", "2027-04-30", "2027-06-30"),
        // Two months after a clamped first date stay clamped: 31 May → 30 Jun → 30 Aug, not 31 Aug.
        v(Gdpr, "2027-05-31T12:00:00Z", "2027-05-31", "2027-06-30", "2027-08-30"),
        // The same across the year end: 31 Oct → 30 Nov → 30 Jan, not 31 Jan.
        v(Gdpr, "2027-10-31T12:00:00Z", "2027-10-31", "2027-11-30", "2028-01-30"),
        // Year end: 31 Dec → 31 Jan → 31 Mar.
        v(Gdpr, "2026-12-31T12:00:00Z", "2026-12-31", "2027-01-31", "2027-03-31"),
        // Extension into a leap February: 30 Dec + 2 months has no 30 Feb → 29 Feb 2028.
        v(Gdpr, "2027-11-30T12:00:00Z", "2027-11-30", "2027-12-30", "2028-02-29"),
        // Receipt late in the UTC evening: 23:30 UTC on 31 Jan is 00:30 on 1 Feb in Stockholm (UTC+1).
        v(Gdpr, "2027-01-31T23:30:00Z", "2027-02-01", "2027-03-01", "2027-05-01"),
        // Stockholm spring forward (28 Mar 2027): 23:30 UTC on 27 Mar is 00:30 on the change day.
        v(Gdpr, "2027-03-27T23:30:00Z", "2027-03-28", "2027-04-28", "2027-06-28"),
        // Summer time from then on: 22:30 UTC on 28 Mar is 00:30 on 29 Mar (UTC+2).
        v(Gdpr, "2027-03-28T22:30:00Z", "2027-03-29", "2027-04-29", "2027-06-29"),
        // Stockholm fall back (31 Oct 2027): 22:30 UTC on 30 Oct is 00:30 on 31 Oct (still UTC+2).
        v(Gdpr, "2027-10-30T22:30:00Z", "2027-10-31", "2027-11-30", "2028-01-30"),
        // ... and 22:30 UTC on 31 Oct is 23:30 the same day (UTC+1 again): still 31 Oct.
        v(Gdpr, "2027-10-31T22:30:00Z", "2027-10-31", "2027-11-30", "2028-01-30"),
        // Weekend: the month from 30 Jan ends on Sunday 28 Feb and is not moved to Monday.
        v(Gdpr, "2027-01-30T12:00:00Z", "2027-01-30", "2027-02-28", "2027-04-28"),
        // --- CCPA (11 CCR § 7021) with the GDPR ---
        // The SPEC's example: 1 Feb in Stockholm, 31 Jan in California. CCPA 31 Jan + 45 = 17 Mar;
        // GDPR 1 Mar is earlier and wins. Extended: GDPR 1 Mar + 2 months = 1 May, CCPA 31 Jan + 90 = 1 May.
        v(Ccpa, "2027-01-31T23:30:00Z", "2027-02-01", "2027-03-01", "2027-05-01"),
        // CCPA's 90 days are shorter than three months over Nov–Jan (92 days): GDPR 15 Dec first,
        // then CCPA's 15 Nov + 90 = 13 Feb beats GDPR's 15 Feb.
        v(Ccpa, "2026-11-15T12:00:00Z", "2026-11-15", "2026-12-15", "2027-02-13"),
        // Year end into a leap year: CCPA 31 Dec + 90 = 30 Mar 2028 (29 days in Feb) beats GDPR 31 Mar.
        v(Ccpa, "2027-12-31T12:00:00Z", "2027-12-31", "2028-01-31", "2028-03-30"),
        // The same in a common year: CCPA 31 Dec + 90 = 31 Mar = GDPR 31 Jan + 2 months (a tie).
        v(Ccpa, "2026-12-31T12:00:00Z", "2026-12-31", "2027-01-31", "2027-03-31"),
        // California spring forward (14 Mar 2027, 10:00 UTC): 07:30 UTC is 23:30 PST on 13 Mar, so CCPA
        // counts from 13 Mar: 13 Mar + 90 = 11 Jun, earlier than GDPR's 14 Jun from Stockholm's 14 Mar.
        v(Ccpa, "2027-03-14T07:30:00Z", "2027-03-14", "2027-04-14", "2027-06-11"),
        // After the change, 10:30 UTC is 03:30 PDT on 14 Mar: 14 Mar + 90 = 12 Jun.
        v(Ccpa, "2027-03-14T10:30:00Z", "2027-03-14", "2027-04-14", "2027-06-12"),
        // California fall back (7 Nov 2027, 09:00 UTC): 08:30 UTC is 01:30 PDT on 7 Nov; 7 Nov + 90 = 5 Feb.
        v(Ccpa, "2027-11-07T08:30:00Z", "2027-11-07", "2027-12-07", "2028-02-05"),
        // 07:30 UTC on 8 Nov is 23:30 PST on 7 Nov: CCPA from 7 Nov (5 Feb), GDPR from 8 Nov (8 Dec, 8 Feb).
        v(Ccpa, "2027-11-08T07:30:00Z", "2027-11-08", "2027-12-08", "2028-02-05"),
        // 29 February: CCPA 29 Feb + 90 = 29 May = GDPR 29 Mar + 2 months.
        v(Ccpa, "2028-02-29T12:00:00Z", "2028-02-29", "2028-03-29", "2028-05-29"),
        // Year end late in the UTC evening: 1 Jan 2028 in Stockholm (GDPR 1 Feb, 1 Apr) but 31 Dec 2027
        // in California (CCPA 14 Feb, 30 Mar): first due GDPR's, extended due CCPA's.
        v(Ccpa, "2027-12-31T23:30:00Z", "2028-01-01", "2028-02-01", "2028-03-30"),
        // Weekend: GDPR's Saturday 6 Mar stands (not moved to Monday); extended GDPR 6 May < CCPA 7 May.
        v(Ccpa, "2027-02-06T12:00:00Z", "2027-02-06", "2027-03-06", "2027-05-06"),
        // --- Nevada (NRS 603A.345: 60 days, +30) with the GDPR ---
        // Nevada 31 Jan + 60 = 1 Apr, +30 = 1 May; GDPR 28 Feb, 28 Apr are earlier.
        v(Nevada, "2027-01-31T12:00:00Z", "2027-01-31", "2027-02-28", "2027-04-28"),
        // Nevada's 90 days beat three months over Nov–Jan: 15 Nov + 60 = 14 Jan, +30 = 13 Feb < 15 Feb.
        v(Nevada, "2026-11-15T12:00:00Z", "2026-11-15", "2026-12-15", "2027-02-13"),
        // Late UTC evening: Nevada counts from California's 31 Jan (1 Apr, 1 May), GDPR from 1 Feb (1 Mar, 1 May).
        v(Nevada, "2027-01-31T23:30:00Z", "2027-02-01", "2027-03-01", "2027-05-01"),
        // Year end and 29 February: 05:00 UTC on 1 Jan 2028 is 21:00 on 31 Dec in California;
        // Nevada 31 Dec + 60 = 29 Feb 2028, +30 = 30 Mar; GDPR from 1 Jan: 1 Feb, 1 Apr.
        v(Nevada, "2028-01-01T05:00:00Z", "2028-01-01", "2028-02-01", "2028-03-30"),
        // Summer (both zones on summer time): Nevada 15 Jul + 60 = 13 Sep, +30 = 13 Oct < GDPR's 15 Oct;
        // the first due, GDPR's Sunday 15 Aug, is not moved.
        v(Nevada, "2027-07-15T12:00:00Z", "2027-07-15", "2027-08-15", "2027-10-13"),
    ];

    #[test]
    fn statute_table() {
        let tz = stockholm();
        assert!(STATUTE_TABLE.len() >= 30);
        for row in STATUTE_TABLE {
            let at = ts(row.received_at);
            let context = format!("{:?} received at {}", row.jurisdiction, row.received_at);
            let deadline = Deadline::for_request(row.jurisdiction, at, &tz);
            assert_eq!(deadline.received_on(), d(row.received_on), "{context}: received on");
            assert_eq!(deadline.due_on(), d(row.first_due), "{context}: first due");
            assert_eq!(deadline.first_due_on(), d(row.first_due), "{context}");
            assert_eq!(deadline.extendable_until(), Some(d(row.first_due)), "{context}");
            assert!(!deadline.extended(), "{context}");

            // Decided at the moment of receipt: always in time.
            let extended = deadline.extend(at, &tz).unwrap();
            assert_eq!(extended.due_on(), d(row.extended_due), "{context}: extended due");
            assert_eq!(extended.first_due_on(), d(row.first_due), "{context}");
            assert_eq!(extended.extendable_until(), None, "{context}");
            assert!(extended.extended(), "{context}");

            // The stored record (receipt, jurisdiction, extension flag) gives back the same deadline.
            assert_eq!(
                Deadline::of_request(row.jurisdiction, at, false, &tz),
                deadline,
                "{context}"
            );
            assert_eq!(
                Deadline::of_request(row.jurisdiction, at, true, &tz),
                extended,
                "{context}"
            );
        }
    }

    /// (jurisdiction, received at, extension decided at, Ok(extended due) or
    /// Err(the first due date that has passed))
    const EXTENSION_TABLE: &[(Jurisdiction, &str, &str, Result<&str, &str>)] = &[
        // GDPR Art. 12(3): the notice must go before the first due date ends: the last
        // nanosecond of 28 Feb in Stockholm (23:00 UTC, winter) is in time...
        (
            Gdpr,
            "2027-01-31T12:00:00Z",
            "2027-02-28T22:59:59.999999999Z",
            Ok("2027-04-28"),
        ),
        // ... midnight in Stockholm is too late, though it is still 28 Feb in UTC.
        (Gdpr, "2027-01-31T12:00:00Z", "2027-02-28T23:00:00Z", Err("2027-02-28")),
        // A week after the first due date: too late.
        (Gdpr, "2027-01-31T12:00:00Z", "2027-03-07T12:00:00Z", Err("2027-02-28")),
        // The due day is Stockholm's spring-forward day (28 Mar 2027, 23 hours): it ends at 22:00 UTC.
        (Gdpr, "2027-02-28T12:00:00Z", "2027-03-28T21:59:59Z", Ok("2027-05-28")),
        (Gdpr, "2027-02-28T12:00:00Z", "2027-03-28T22:00:00Z", Err("2027-03-28")),
        // CCPA with the GDPR: the combined first due date (GDPR's 1 Mar) bounds the extension, not
        // CCPA's own 17 Mar: on 1 Mar in time, on 10 Mar too late.
        (Ccpa, "2027-01-31T23:30:00Z", "2027-03-01T22:59:59Z", Ok("2027-05-01")),
        (Ccpa, "2027-01-31T23:30:00Z", "2027-03-10T12:00:00Z", Err("2027-03-01")),
        // Nevada with the GDPR: up to the end of GDPR's 15 Dec, not Nevada's 14 Jan.
        (Nevada, "2026-11-15T12:00:00Z", "2026-12-15T22:59:59Z", Ok("2027-02-13")),
        (
            Nevada,
            "2026-11-15T12:00:00Z",
            "2026-12-16T00:00:00Z",
            Err("2026-12-15"),
        ),
        (
            Nevada,
            "2026-11-15T12:00:00Z",
            "2027-01-10T12:00:00Z",
            Err("2026-12-15"),
        ),
    ];

    #[test]
    fn extension_table() {
        let tz = stockholm();
        for &(jurisdiction, received_at, decided_at, expected) in EXTENSION_TABLE {
            let deadline = Deadline::for_request(jurisdiction, ts(received_at), &tz);
            let outcome = deadline.extend(ts(decided_at), &tz).map(|extended| extended.due_on());
            let expected = expected
                .map(d)
                .map_err(|due_on| ExtensionRefused::TooLate { due_on: d(due_on) });
            assert_eq!(
                outcome, expected,
                "{jurisdiction:?} received {received_at}, decided {decided_at}"
            );
        }
    }

    // ----- Each law's own dates -------------------------------------------

    #[test]
    fn each_law_counts_from_its_own_day_of_receipt() {
        let tz = stockholm();
        let at = ts("2027-01-31T23:30:00Z");
        let periods = |law: Jurisdiction| law.periods(at, &tz);
        assert_eq!(
            periods(Gdpr),
            LawPeriods {
                law: Gdpr,
                received_on: d("2027-02-01"),
                first_due_on: d("2027-03-01"),
                extended_due_on: d("2027-05-01"),
            }
        );
        assert_eq!(
            periods(Ccpa),
            LawPeriods {
                law: Ccpa,
                received_on: d("2027-01-31"),
                first_due_on: d("2027-03-17"),
                extended_due_on: d("2027-05-01"),
            }
        );
        assert_eq!(
            periods(Nevada),
            LawPeriods {
                law: Nevada,
                received_on: d("2027-01-31"),
                first_due_on: d("2027-04-01"),
                extended_due_on: d("2027-05-01"),
            }
        );
        // A controller west of California: the CCPA date is never later than the controller's.
        let honolulu = TimeZone::get("Pacific/Honolulu").unwrap();
        let at = ts("2027-02-01T09:30:00Z"); // 01:30 in California, 23:30 on 31 Jan in Honolulu
        assert_eq!(Ccpa.periods(at, &honolulu).received_on, d("2027-01-31"));
        assert_eq!(Ccpa.periods(at, &stockholm()).received_on, d("2027-02-01"));
    }

    #[test]
    fn the_gdpr_applies_to_every_request() {
        let laws = |j: Jurisdiction| j.applicable_laws().iter().collect::<Vec<_>>();
        assert_eq!(laws(Gdpr), vec![Gdpr]);
        assert_eq!(laws(Ccpa), vec![Gdpr, Ccpa]);
        assert_eq!(laws(Nevada), vec![Gdpr, Nevada]);
        assert!(Ccpa.applicable_laws().contains(Gdpr));
        assert!(!Ccpa.applicable_laws().contains(Nevada));
    }

    /// Every receipt day of six years, for each jurisdiction: the GDPR's month
    /// and its two further months bound every request, another law only
    /// makes the dates earlier, and CCPA/Nevada's own periods bound theirs.
    #[test]
    fn every_day_of_six_years() {
        let gdpr_month = |day: Date, months: i32| {
            let index = i32::from(day.year()) * 12 + i32::from(day.month()) - 1 + months;
            let year = i16::try_from(index.div_euclid(12)).unwrap();
            let month = i8::try_from(index.rem_euclid(12) + 1).unwrap();
            date(year, month, day.day().min(date(year, month, 1).days_in_month()))
        };
        let mut day = d("2023-01-01");
        while day <= d("2028-12-31") {
            let first = gdpr_month(day, 1);
            let extended = gdpr_month(first, 2);
            let gdpr = at_noon(Gdpr, day);
            assert_eq!(
                (
                    gdpr.due_on(),
                    gdpr.extend(ts(&format!("{day}T12:00:00Z")), &stockholm())
                        .unwrap()
                        .due_on()
                ),
                (first, extended),
                "{day}"
            );
            for (law, period, extension) in [(Ccpa, 45, 45), (Nevada, 60, 30)] {
                let deadline = at_noon(law, day);
                let ext = Deadline::of_request(law, ts(&format!("{day}T12:00:00Z")), true, &stockholm());
                assert_eq!(
                    deadline.due_on(),
                    first.min(day.saturating_add(period.days())),
                    "{law:?} {day}"
                );
                assert_eq!(deadline.due_on(), first, "a month is always shorter: {law:?} {day}");
                assert_eq!(
                    ext.due_on(),
                    extended.min(day.saturating_add((period + extension).days())),
                    "{law:?} {day}"
                );
            }
            day = day.tomorrow().unwrap();
        }
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

    #[test]
    fn second_extension_refused() {
        let tz = stockholm();
        for jurisdiction in Jurisdiction::ALL {
            let received = ts("2026-01-31T12:00:00Z");
            let extended = Deadline::for_request(jurisdiction, received, &tz)
                .extend(ts("2026-02-02T10:00:00Z"), &tz)
                .unwrap();
            // Early, on the extended due day, and late: always AlreadyExtended.
            for at in ["2026-02-03T10:00:00Z", "2026-04-28T10:00:00Z", "2026-12-01T10:00:00Z"] {
                assert_eq!(
                    extended.extend(ts(at), &tz),
                    Err(ExtensionRefused::AlreadyExtended),
                    "{jurisdiction:?} at {at}"
                );
            }
            assert_eq!(
                Deadline::of_request(jurisdiction, received, true, &tz).extend(ts("2026-02-01T10:00:00Z"), &tz),
                Err(ExtensionRefused::AlreadyExtended)
            );
        }
    }

    #[test]
    fn extension_deadline_follows_the_time_zone() {
        let received = ts("2026-01-31T12:00:00Z");
        let at = ts("2026-02-28T23:30:00Z");
        // Already 1 March in Stockholm; still 28 February in UTC.
        let deadline = Deadline::for_request(Gdpr, received, &stockholm());
        assert!(matches!(
            deadline.extend(at, &stockholm()),
            Err(ExtensionRefused::TooLate { .. })
        ));
        let deadline = Deadline::for_request(Gdpr, received, &utc());
        assert!(deadline.extend(at, &utc()).is_ok());
        // Summer: the due day ends at 22:00 UTC.
        let deadline = Deadline::for_request(Gdpr, ts("2026-05-31T12:00:00Z"), &stockholm());
        assert_eq!(deadline.due_on(), d("2026-06-30"));
        assert!(deadline.extend(ts("2026-06-30T21:59:59Z"), &stockholm()).is_ok());
        assert!(deadline.extend(ts("2026-06-30T22:00:00Z"), &stockholm()).is_err());
    }

    // ----- days_left ----------------------------------------------------

    #[test]
    fn days_left_positive_zero_negative() {
        let tz = stockholm();
        // Received 31 January 2026, due 28 February 2026.
        let deadline = at_noon(Gdpr, d("2026-01-31"));
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
        // Received 1 March 2026, due 1 April 2026; spring forward on 29 March.
        let deadline = at_noon(Ccpa, d("2026-03-01"));
        assert_eq!(deadline.due_on(), d("2026-04-01"));
        assert_eq!(deadline.days_left(ts("2026-03-28T12:00:00Z"), &tz), 4);
        assert_eq!(deadline.days_left(ts("2026-03-29T12:00:00Z"), &tz), 3);
        assert_eq!(deadline.days_left(ts("2026-03-29T21:59:59Z"), &tz), 3);
        assert_eq!(deadline.days_left(ts("2026-03-29T22:00:00Z"), &tz), 2);
        assert_eq!(deadline.days_left(ts("2026-04-01T21:59:59Z"), &tz), 0);
        assert_eq!(deadline.days_left(ts("2026-04-01T22:00:00Z"), &tz), -1);
        // GDPR received 1 October 2026, due 1 November; fall back on 25 October.
        let deadline = at_noon(Gdpr, d("2026-10-01"));
        assert_eq!(deadline.due_on(), d("2026-11-01"));
        assert_eq!(deadline.days_left(ts("2026-10-24T12:00:00Z"), &tz), 8);
        assert_eq!(deadline.days_left(ts("2026-10-25T12:00:00Z"), &tz), 7);
        assert_eq!(deadline.days_left(ts("2026-10-25T22:59:59Z"), &tz), 7);
        assert_eq!(deadline.days_left(ts("2026-10-25T23:00:00Z"), &tz), 6);
    }

    #[test]
    fn days_left_follows_an_extension() {
        let tz = stockholm();
        let deadline = at_noon(Gdpr, d("2026-01-31"));
        let now = ts("2026-03-01T12:00:00Z");
        assert_eq!(deadline.days_left(now, &tz), -1);
        let extended = deadline.extend(ts("2026-02-20T12:00:00Z"), &tz).unwrap();
        assert_eq!(extended.days_left(now, &tz), 58); // 1 March → 28 April
    }

    // ----- due_at -------------------------------------------------------

    #[test]
    fn due_at_is_the_first_instant_after_the_due_day() {
        let havana = TimeZone::get("America/Havana").unwrap();
        // (received at noon UTC on, time zone, due on, due at)
        let cases: &[(&str, TimeZone, &str, &str)] = &[
            // Winter, UTC+1.
            ("2026-01-28", stockholm(), "2026-02-28", "2026-02-28T23:00:00Z"),
            ("2026-12-31", stockholm(), "2027-01-31", "2027-01-31T23:00:00Z"),
            ("2026-11-30", stockholm(), "2026-12-30", "2026-12-30T23:00:00Z"),
            // Summer, UTC+2.
            ("2026-06-30", stockholm(), "2026-07-30", "2026-07-30T22:00:00Z"),
            // The day before spring forward (28 March 2027) ends at midnight
            // UTC+1; the change day itself (23 hours) at midnight UTC+2.
            ("2027-02-27", stockholm(), "2027-03-27", "2027-03-27T23:00:00Z"),
            ("2027-02-28", stockholm(), "2027-03-28", "2027-03-28T22:00:00Z"),
            // Fall back: the day before ends at UTC+2, the 25-hour day at UTC+1.
            ("2026-09-24", stockholm(), "2026-10-24", "2026-10-24T22:00:00Z"),
            ("2026-09-25", stockholm(), "2026-10-25", "2026-10-25T23:00:00Z"),
            ("2026-01-28", utc(), "2026-02-28", "2026-03-01T00:00:00Z"),
            // Cuba skips midnight (00:00 → 01:00) on 8 March 2026: the
            // day starts at 01:00 CDT, 05:00 UTC.
            ("2026-02-07", havana.clone(), "2026-03-07", "2026-03-08T05:00:00Z"),
        ];
        for (received, tz, due, expected) in cases {
            let deadline = Deadline::for_request(Gdpr, ts(&format!("{received}T12:00:00Z")), tz);
            assert_eq!(deadline.due_on(), d(due), "received {received}");
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

    /// For every receipt day of four years in Stockholm and every
    /// jurisdiction: the instant before `due_at` is on the due day, `due_at`
    /// is midnight of the next day, and an extension is allowed exactly
    /// before `due_at`.
    #[test]
    fn due_at_every_day_of_four_years_in_stockholm() {
        let tz = stockholm();
        let mut received = d("2024-01-01");
        while received <= d("2027-12-31") {
            for jurisdiction in Jurisdiction::ALL {
                let deadline = at_noon(jurisdiction, received);
                let at = deadline.due_at(&tz);
                let just_before = at.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap();
                assert_eq!(just_before.to_zoned_datetime(tz.clone()).date(), deadline.due_on());
                let zoned = at.to_zoned_datetime(tz.clone());
                assert_eq!(zoned.date(), deadline.due_on().tomorrow().unwrap());
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
            let deadline = at_noon(Ccpa, d(received));
            assert_eq!(deadline.acknowledge_by(), Some(d(by)), "received {received}");
            // An extension does not move it.
            let extended = deadline
                .extend(ts(&format!("{received}T13:00:00Z")), &stockholm())
                .unwrap();
            assert_eq!(extended.acknowledge_by(), Some(d(by)));
        }
    }

    #[test]
    fn ccpa_acknowledgement_counts_from_the_california_receipt_day() {
        // Sunday 23:30 UTC is Monday 00:30 in Stockholm but still Sunday in
        // California: business day 1 is Monday, so the Friday 12 days later.
        let deadline = Deadline::for_request(Ccpa, ts("2026-02-01T23:30:00Z"), &stockholm());
        assert_eq!(deadline.received_on(), d("2026-02-02"));
        assert_eq!(deadline.acknowledge_by(), Some(d("2026-02-13")));
        // Monday 09:00 UTC is Monday 01:00 in California: the Monday two weeks later.
        let deadline = Deadline::for_request(Ccpa, ts("2026-02-02T09:00:00Z"), &stockholm());
        assert_eq!(deadline.acknowledge_by(), Some(d("2026-02-16")));
    }

    #[test]
    fn ccpa_acknowledgement_every_day_of_two_years() {
        let mut day = d("2026-01-01");
        while day <= d("2027-12-31") {
            let by = at_noon(Ccpa, day).acknowledge_by().unwrap();
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
    fn only_the_ccpa_sets_an_acknowledgement_deadline() {
        assert_eq!(at_noon(Gdpr, d("2026-01-30")).acknowledge_by(), None);
        assert_eq!(at_noon(Nevada, d("2026-01-30")).acknowledge_by(), None);
    }

    // ----- Edges ----------------------------------------------------------

    #[test]
    fn near_the_end_of_time_saturates_instead_of_panicking() {
        let tz = stockholm();
        for jurisdiction in Jurisdiction::ALL {
            let deadline = Deadline::for_request(jurisdiction, ts("9999-12-20T12:00:00Z"), &tz);
            assert_eq!(deadline.due_on(), Date::MAX);
            assert_eq!(deadline.due_at(&tz), Timestamp::MAX);
            let _ = deadline.acknowledge_by();
            let _ = deadline.days_left(Timestamp::MIN, &tz);
            let _ = deadline.extend(Timestamp::MAX, &tz);
            let deadline = Deadline::for_request(jurisdiction, Timestamp::MAX, &tz);
            let _ = deadline.days_left(Timestamp::MAX, &tz);
            let deadline = Deadline::for_request(jurisdiction, Timestamp::MIN, &tz);
            let _ = deadline.due_at(&tz);
        }
        assert_eq!(
            Deadline::for_request(Ccpa, ts("9999-12-30T12:00:00Z"), &tz).acknowledge_by(),
            Some(Date::MAX)
        );
    }

    #[test]
    fn jurisdiction_wire_names() {
        for (jurisdiction, name) in [(Gdpr, "gdpr"), (Ccpa, "ccpa"), (Nevada, "nevada")] {
            assert_eq!(jurisdiction.as_str(), name);
            assert_eq!(Jurisdiction::parse("jurisdiction", name).unwrap(), jurisdiction);
            assert_eq!(serde_json::to_string(&jurisdiction).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<Jurisdiction>(&format!("\"{name}\"")).unwrap(),
                jurisdiction
            );
        }
        for unknown in ["GDPR", "lgpd", "", "california"] {
            let error = Jurisdiction::parse("jurisdiction", unknown).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("jurisdiction"));
            assert!(serde_json::from_str::<Jurisdiction>(&format!("\"{unknown}\"")).is_err());
        }
    }
}
