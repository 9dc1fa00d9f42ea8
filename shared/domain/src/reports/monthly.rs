//! Requests per month by outcome, and the on-time rate over the last 12
//! months (SPEC 10: the console's dashboard and its chart). Read from the
//! requests' report entries ([`crate::dsr::report_entry`]) like the yearly
//! report: a Query of each year's partition the window touches, never a
//! Scan; no personal data.
//!
//! - The window is twelve calendar months ending with `through` (the
//!   current month unless asked), on the controller's calendar.
//! - Per month, the requests received in it, with the outcome they have now
//!   (as the yearly report counts them): complied with in whole, in part,
//!   denied (the team's rejections and requests that expired unverified),
//!   and open.
//! - On time: of the requests responded to (completed or rejected) within
//!   the window, whatever month they were received in, those responded to
//!   on or before their due day (the deadline as extended, on the
//!   controller's calendar). A request that expired unverified was never
//!   responded to and is not counted. An entry written before entries
//!   carried the day of response and the due day (and not yet rewritten by
//!   the backfill) is counted as `undated`, outside the rate.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::dsr::report_entry::{Outcome, ReportEntry};
use crate::reports::requests::entries_of;
use crate::store::{RecordStore, StoreError};
use crate::FieldError;

/// How many months the window holds.
pub const MONTHS: i32 = 12;

/// One month's requests by outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    pub received: u64,
    pub complied_in_whole: u64,
    pub complied_in_part: u64,
    pub denied: u64,
    pub open: u64,
}

/// The on-time figures of the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnTime {
    /// Requests responded to within the window (with a known due day).
    pub responded: u64,
    /// Of those, responded to on or before their due day.
    pub on_time: u64,
    /// `on_time / responded`, to three decimals; `None` when nothing was responded to.
    pub rate: Option<f64>,
    /// Responded to within the window, but from an entry without the days (see the module's doc).
    pub undated: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyReport {
    /// The first month of the window, `YYYY-MM`.
    pub from: String,
    /// The last month of the window, `YYYY-MM`.
    pub through: String,
    /// The calendar the days are read in.
    pub time_zone: String,
    /// The twelve months, oldest first.
    pub months: Vec<MonthRow>,
    pub on_time: OnTime,
}

/// The first day of the month `raw` (`YYYY-MM`) names, when it is no later
/// than the month of `today`; the refusal names `field`.
pub fn parse_month(field: &str, raw: &str, today: Date) -> Result<Date, FieldError> {
    let refused = || FieldError::invalid(field, "A month like 2026-11, no later than this month.");
    let (year, month) = raw.split_once('-').ok_or_else(refused)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(refused());
    }
    let year: i16 = year.parse().map_err(|_| refused())?;
    let month: i8 = month.parse().map_err(|_| refused())?;
    let first = Date::new(year, month, 1).map_err(|_| refused())?;
    if year < 2000 || first > today.first_of_month() {
        return Err(refused());
    }
    Ok(first)
}

fn month_label(first: Date) -> String {
    format!("{:04}-{:02}", first.year(), first.month())
}

/// The figures of the window of twelve months ending with the month that
/// starts on `through` (a first day), from `entries`.
pub fn monthly_figures(through: Date, time_zone: &str, entries: &[ReportEntry]) -> MonthlyReport {
    let through = through.first_of_month();
    let from = through
        .checked_sub((MONTHS - 1).months())
        .unwrap_or(through)
        .first_of_month();
    let end = through.last_of_month();
    let months = (0..MONTHS)
        .filter_map(|offset| from.checked_add(offset.months()).ok())
        .map(|first| {
            let last = first.last_of_month();
            let of_month: Vec<&ReportEntry> = entries
                .iter()
                .filter(|entry| entry.received_on >= first && entry.received_on <= last)
                .collect();
            let count =
                |outcome: Outcome| of_month.iter().filter(|entry| entry.outcome == Some(outcome)).count() as u64;
            MonthRow {
                month: month_label(first),
                received: of_month.len() as u64,
                complied_in_whole: count(Outcome::Whole),
                complied_in_part: count(Outcome::Part),
                denied: count(Outcome::Denied),
                open: of_month.iter().filter(|entry| entry.outcome.is_none()).count() as u64,
            }
        })
        .collect();
    let mut on_time = OnTime {
        responded: 0,
        on_time: 0,
        rate: None,
        undated: 0,
    };
    for entry in entries {
        if entry.days_to_respond.is_none() {
            continue;
        }
        match (entry.responded_on, entry.due_on) {
            (Some(responded_on), Some(due_on)) if responded_on >= from && responded_on <= end => {
                on_time.responded += 1;
                if responded_on <= due_on {
                    on_time.on_time += 1;
                }
            }
            // Without the day of response, only the receipt says whether it may be in the window.
            (None, _) | (_, None) if entry.received_on >= from && entry.received_on <= end => {
                on_time.undated += 1;
            }
            _ => {}
        }
    }
    if on_time.responded > 0 {
        let rate = on_time.on_time as f64 / on_time.responded as f64;
        on_time.rate = Some((rate * 1000.0).round() / 1000.0);
    }
    MonthlyReport {
        from: month_label(from),
        through: month_label(through),
        time_zone: time_zone.to_owned(),
        months,
        on_time,
    }
}

/// The report of the twelve months ending with the month starting `through`.
/// Reads the partitions of every year from four months before the window
/// (a request answered in the window may have been received up to three
/// months and a few days before it) through `through`'s year.
pub async fn monthly_report(
    store: &dyn RecordStore,
    through: Date,
    time_zone: &str,
    now: Timestamp,
) -> Result<MonthlyReport, StoreError> {
    let through = through.first_of_month();
    let earliest = through.checked_sub((MONTHS - 1 + 4).months()).unwrap_or(through);
    let mut entries = Vec::new();
    for year in earliest.year()..=through.year() {
        entries.extend(entries_of(store, year, now).await?);
    }
    Ok(monthly_figures(through, time_zone, &entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsr::deadline::Jurisdiction;
    use crate::dsr::report_entry::DenialReason;
    use crate::dsr::{RequestStatus, RequestType};

    fn day(text: &str) -> Date {
        text.parse().unwrap()
    }

    /// An entry received on `received`, answered `outcome` on `responded` (due on `due`).
    fn entry(received: &str, outcome: Option<Outcome>, responded: Option<&str>, due: &str) -> ReportEntry {
        let received_on = day(received);
        let responded_on = responded.map(day);
        ReportEntry {
            request_id: uuid::Uuid::new_v4().to_string(),
            request_type: RequestType::Access,
            jurisdiction: Jurisdiction::Gdpr,
            received_on,
            status: match outcome {
                None => RequestStatus::InProgress,
                Some(Outcome::Denied) => RequestStatus::Rejected,
                Some(_) => RequestStatus::Completed,
            },
            outcome,
            reason_code: (outcome == Some(Outcome::Denied)).then_some(DenialReason::Other),
            days_to_respond: responded_on.map(|on| (on - received_on).get_days()),
            due_on: Some(day(due)),
            responded_on,
        }
    }

    #[test]
    fn months_by_outcome_and_the_on_time_rate_as_counted_by_hand() {
        let entries = vec![
            // Received in the window's first month, answered on time.
            entry("2025-12-03", Some(Outcome::Whole), Some("2025-12-20"), "2026-01-03"),
            // Received before the window, answered inside it, late.
            entry("2025-10-20", Some(Outcome::Part), Some("2025-12-02"), "2025-11-20"),
            // Received before the window, answered before it: not counted at all.
            entry("2025-09-01", Some(Outcome::Whole), Some("2025-09-10"), "2025-10-01"),
            // March: one denied on time, one open, one whole late (on the day after its due day).
            entry("2026-03-02", Some(Outcome::Denied), Some("2026-03-05"), "2026-04-02"),
            entry("2026-03-15", None, None, "2026-04-15"),
            entry("2026-03-20", Some(Outcome::Whole), Some("2026-04-21"), "2026-04-20"),
            // Answered on its due day: on time.
            entry("2026-11-01", Some(Outcome::Whole), Some("2026-12-01"), "2026-12-01"),
            // Expired unverified: denied, never responded to.
            ReportEntry {
                days_to_respond: None,
                responded_on: None,
                status: RequestStatus::Expired,
                reason_code: Some(DenialReason::Unverified),
                ..entry("2026-06-10", Some(Outcome::Denied), None, "2026-07-10")
            },
        ];
        let report = monthly_figures(day("2026-11-01"), "Europe/Stockholm", &entries);
        assert_eq!((report.from.as_str(), report.through.as_str()), ("2025-12", "2026-11"));
        assert_eq!(report.months.len(), 12);
        let month = |label: &str| report.months.iter().find(|row| row.month == label).unwrap().clone();
        assert_eq!(
            month("2025-12"),
            MonthRow {
                month: "2025-12".into(),
                received: 1,
                complied_in_whole: 1,
                complied_in_part: 0,
                denied: 0,
                open: 0
            }
        );
        assert_eq!(
            month("2026-03"),
            MonthRow {
                month: "2026-03".into(),
                received: 3,
                complied_in_whole: 1,
                complied_in_part: 0,
                denied: 1,
                open: 1
            }
        );
        assert_eq!((month("2026-06").received, month("2026-06").denied), (1, 1));
        assert_eq!(month("2026-11").received, 1);
        assert_eq!(report.months.iter().map(|row| row.received).sum::<u64>(), 6);
        // Responded in the window: 2025-12-20 (on time), 2025-12-02 (late),
        // 2026-03-05 (on time), 2026-04-21 (late), 2026-12-01 (outside: December).
        assert_eq!((report.on_time.responded, report.on_time.on_time), (4, 2));
        assert_eq!(report.on_time.rate, Some(0.5));
        assert_eq!(report.on_time.undated, 0);
        // Through December the answer on its due day counts, on time; the Dec-2025 ones leave.
        let december = monthly_figures(day("2026-12-01"), "Europe/Stockholm", &entries);
        assert_eq!((december.on_time.responded, december.on_time.on_time), (3, 2));
        assert_eq!(december.on_time.rate, Some(0.667));
    }

    #[test]
    fn entries_without_the_days_are_counted_apart_and_an_empty_window_has_no_rate() {
        let undated = ReportEntry {
            due_on: None,
            responded_on: None,
            ..entry("2026-05-01", Some(Outcome::Whole), Some("2026-05-03"), "2026-06-01")
        };
        let report = monthly_figures(day("2026-11-01"), "UTC", &[undated]);
        assert_eq!(report.on_time.responded, 0);
        assert_eq!(report.on_time.undated, 1);
        assert_eq!(report.on_time.rate, None);
    }

    #[test]
    fn a_month_is_refused_naming_its_field() {
        let today = day("2026-11-15");
        assert_eq!(parse_month("through", "2026-11", today).unwrap(), day("2026-11-01"));
        assert_eq!(parse_month("through", "2025-02", today).unwrap(), day("2025-02-01"));
        for bad in ["2026-12", "2026-13", "2026-1", "26-01", "2026/01", "x", "", "1999-12"] {
            assert_eq!(
                parse_month("through", bad, today).unwrap_err().field.as_deref(),
                Some("through"),
                "{bad}"
            );
        }
    }
}
