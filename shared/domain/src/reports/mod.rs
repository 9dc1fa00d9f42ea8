//! The privacy team's reports (SPEC 10): consent statistics from the
//! ledger's counters and the request figures of CCPA regulations § 7102.
//! Every report is a Query of a bounded key range, never a Scan, and holds
//! no personal data.
//!
//! Context `reports`: may use `consent`, `dsr` (the requests' report entries), `store` and the kernel (README, "The domain crate's contexts").

pub mod consent;
pub mod monthly;
pub mod requests;

use jiff::civil::Date;
use jiff::ToSpan;

use crate::FieldError;

/// Counts under this are shown as `"<10"`.
pub const SMALL_CELL: u64 = 10;

/// The longest range a consent report covers, in days.
pub const MAX_RANGE_DAYS: i32 = 400;

/// The first and last day a report covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: Date,
    pub to: Date,
}

fn parse_day(field: &str, raw: &str) -> Result<Date, FieldError> {
    let well_formed = raw.len() == 10
        && raw.bytes().enumerate().all(|(at, byte)| {
            if at == 4 || at == 7 {
                byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        });
    well_formed
        .then(|| raw.parse::<Date>().ok())
        .flatten()
        .filter(|day| (2000..=2999).contains(&day.year()))
        .ok_or_else(|| FieldError::invalid(field, "A day like 2026-05-31."))
}

impl DayRange {
    /// `from` and `to` as the query gives them (`YYYY-MM-DD`); a missing
    /// `to` is `today`, a missing `from` the 30 days up to `to`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Self, FieldError> {
        let to = to.map(|raw| parse_day("to", raw)).transpose()?.unwrap_or(today);
        let from = match from {
            Some(raw) => parse_day("from", raw)?,
            None => to.checked_sub(29.days()).unwrap_or(to),
        };
        if from > to {
            return Err(FieldError::invalid("from", "`from` is a day on or before `to`."));
        }
        if (to - from).get_days() + 1 > MAX_RANGE_DAYS {
            return Err(FieldError::invalid("to", "A report covers at most 400 days."));
        }
        Ok(Self { from, to })
    }
}

/// A report's year (`YYYY`), from 2000 through next year.
pub fn parse_year(raw: &str, today: Date) -> Result<i16, FieldError> {
    raw.parse::<i16>()
        .ok()
        .filter(|_| raw.len() == 4 && raw.bytes().all(|byte| byte.is_ascii_digit()))
        .filter(|year| (2000..=today.year() + 1).contains(year))
        .ok_or_else(|| FieldError::invalid("year", "A year like 2026, from 2000 through next year."))
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn ranges_and_years_name_the_field_they_refuse() {
        let today = date(2026, 5, 31);
        let field = |result: Result<DayRange, FieldError>| result.unwrap_err().field;
        assert_eq!(
            DayRange::parse(Some("2026-05-01"), Some("2026-05-31"), today),
            Ok(DayRange {
                from: date(2026, 5, 1),
                to: date(2026, 5, 31)
            })
        );
        assert_eq!(DayRange::parse(None, None, today).unwrap().from, date(2026, 5, 2));
        assert_eq!(
            field(DayRange::parse(Some("2026-06-01"), Some("2026-05-31"), today)).as_deref(),
            Some("from")
        );
        assert_eq!(
            field(DayRange::parse(Some("2026-5-1"), None, today)).as_deref(),
            Some("from")
        );
        assert_eq!(
            field(DayRange::parse(None, Some("2026-02-30"), today)).as_deref(),
            Some("to")
        );
        assert_eq!(
            field(DayRange::parse(None, Some("tomorrow"), today)).as_deref(),
            Some("to")
        );
        // 400 days are allowed, 401 are not.
        assert!(DayRange::parse(Some("2025-04-27"), Some("2026-05-31"), today).is_ok());
        assert_eq!(
            field(DayRange::parse(Some("2025-04-26"), Some("2026-05-31"), today)).as_deref(),
            Some("to")
        );
        assert_eq!(parse_year("2026", today), Ok(2026));
        assert_eq!(parse_year("2027", today), Ok(2027));
        for bad in ["2028", "1999", "26", "+2026", "20261", "year", ""] {
            assert_eq!(
                parse_year(bad, today).unwrap_err().field.as_deref(),
                Some("year"),
                "{bad}"
            );
        }
    }
}
