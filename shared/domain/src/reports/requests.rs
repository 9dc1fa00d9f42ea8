//! The request report (SPEC 10, CCPA regulations § 7102(a)): for the
//! requests received in a calendar year, per request type, how many were
//! received, complied with in whole, in part, denied (by reason), and the
//! median and mean days to respond. Read from the requests' report entries
//! ([`crate::dsr::report_entry`]): one Query of the year's partition, never a
//! Scan; no personal data.
//!
//! - A request counts in the year of its day of receipt, with the outcome it
//!   has now (one received in December and answered in January is in
//!   December's year, answered).
//! - `open` counts requests not yet answered (awaiting verification or the
//!   team); they count as received only.
//! - Days to respond count completions and rejections only (a request that
//!   expired unverified was never answered). The median of an even count is
//!   the mean of the two middle values (so a whole day or a half); the mean
//!   is rounded half away from zero to one decimal.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::dsr::report_entry::{report_partition, DenialReason, Outcome, ReportEntry};
use crate::dsr::RequestType;
use crate::register::entity;
use crate::store::{Query, RecordStore, StoreError, PAGE_SIZE};

/// One request type's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestTypeRow {
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub received: u64,
    pub complied_in_whole: u64,
    pub complied_in_part: u64,
    pub denied: u64,
    /// Every reason, zero included, in [`DenialReason::ALL`]'s order.
    pub denied_by_reason: BTreeMap<&'static str, u64>,
    /// Received and not yet answered.
    pub open: u64,
    /// Completions and rejections whose days to respond are counted.
    pub responded: u64,
    pub median_days: Option<f64>,
    pub mean_days: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestReport {
    pub year: i16,
    /// The calendar days are counted in (the register's controller time zone).
    pub time_zone: String,
    /// One row per request type, every type, in [`RequestType::ALL`]'s order.
    pub rows: Vec<RequestTypeRow>,
}

/// The median: the middle value, or the mean of the two middle ones.
pub fn median(days: &[i32]) -> Option<f64> {
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(f64::from(sorted[n / 2])),
        _ => Some((f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0),
    }
}

/// The mean, rounded half away from zero to one decimal.
pub fn mean(days: &[i32]) -> Option<f64> {
    if days.is_empty() {
        return None;
    }
    let sum: i64 = days.iter().map(|day| i64::from(*day)).sum();
    let mean = sum as f64 / days.len() as f64;
    Some((mean * 10.0).round() / 10.0)
}

/// The figures of `entries` (the requests received in `year`).
pub fn figures(year: i16, time_zone: &str, entries: &[ReportEntry]) -> RequestReport {
    let rows = RequestType::ALL
        .into_iter()
        .map(|request_type| {
            let of_type: Vec<&ReportEntry> = entries
                .iter()
                .filter(|entry| entry.request_type == request_type)
                .collect();
            let count = |outcome: Outcome| of_type.iter().filter(|entry| entry.outcome == Some(outcome)).count() as u64;
            let denied_by_reason = DenialReason::ALL
                .into_iter()
                .map(|reason| {
                    let denied = of_type
                        .iter()
                        .filter(|entry| entry.outcome == Some(Outcome::Denied))
                        .filter(|entry| entry.reason_code.unwrap_or(DenialReason::Other) == reason)
                        .count() as u64;
                    (reason.as_str(), denied)
                })
                .collect();
            let days: Vec<i32> = of_type.iter().filter_map(|entry| entry.days_to_respond).collect();
            RequestTypeRow {
                request_type,
                received: of_type.len() as u64,
                complied_in_whole: count(Outcome::Whole),
                complied_in_part: count(Outcome::Part),
                denied: count(Outcome::Denied),
                denied_by_reason,
                open: of_type.iter().filter(|entry| entry.outcome.is_none()).count() as u64,
                responded: days.len() as u64,
                median_days: median(&days),
                mean_days: mean(&days),
            }
        })
        .collect();
    RequestReport {
        year,
        time_zone: time_zone.to_owned(),
        rows,
    }
}

/// The entries of the requests received in `year`: one Query of its
/// partition, page by page. Entries past their expiry are left out.
pub async fn entries_of(store: &dyn RecordStore, year: i16, now: Timestamp) -> Result<Vec<ReportEntry>, StoreError> {
    let query = Query::Partition {
        partition: report_partition(year),
        sort_prefix: String::new(),
    };
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(&query, PAGE_SIZE, cursor).await?;
        for record in page.records {
            if record.entity == entity::DSR_REPORT_ENTRY && !record.is_expired(now) {
                entries.push(record.body()?);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(entries),
        }
    }
}

/// The report of `year`.
pub async fn request_report(
    store: &dyn RecordStore,
    year: i16,
    time_zone: &str,
    now: Timestamp,
) -> Result<RequestReport, StoreError> {
    let entries = entries_of(store, year, now).await?;
    Ok(figures(year, time_zone, &entries))
}

/// The columns of the CSV, in order: the denial reasons are columns
/// (`denied_<reason>`), so that there is one row per request type.
pub fn csv_header() -> Vec<String> {
    let mut columns: Vec<String> = ["type", "received", "complied_in_whole", "complied_in_part", "denied"]
        .map(str::to_owned)
        .to_vec();
    columns.extend(
        DenialReason::ALL
            .into_iter()
            .map(|reason| format!("denied_{}", reason.as_str())),
    );
    columns.extend(["open", "responded", "median_days", "mean_days"].map(str::to_owned));
    columns
}

fn number(value: Option<f64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// The report as CSV (RFC 4180): a header row, then one row per request
/// type; CRLF line ends; an empty cell where there is no median or mean.
/// No field needs quoting (names and numbers only).
pub fn to_csv(report: &RequestReport) -> String {
    let mut lines = vec![csv_header().join(",")];
    for row in &report.rows {
        let mut cells = vec![
            row.request_type.as_str().to_owned(),
            row.received.to_string(),
            row.complied_in_whole.to_string(),
            row.complied_in_part.to_string(),
            row.denied.to_string(),
        ];
        cells.extend(DenialReason::ALL.into_iter().map(|reason| {
            row.denied_by_reason
                .get(reason.as_str())
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        cells.extend([
            row.open.to_string(),
            row.responded.to_string(),
            number(row.median_days),
            number(row.mean_days),
        ]);
        lines.push(cells.join(","));
    }
    let mut csv = lines.join("\r\n");
    csv.push_str("\r\n");
    csv
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::dsr::report_entry::{backfill, report_key};
    use crate::dsr::{parse_request, request_key, RequestStatus, Submission};
    use crate::register::CategoryId;
    use crate::retention::{PrivacyTeam, RetentionSweep};
    use crate::store::RecordStore;
    use crate::testing::{email, World};

    fn submission(kind: RequestType, address: &str) -> Submission {
        crate::testing::submission(kind, address)
    }

    /// Submits and verifies `kind` for `address`; the request id.
    async fn verified(world: &World, kind: RequestType, address: &str) -> String {
        // What the stream sent after earlier writes is out; then this link.
        world.drain_outbox().await;
        let id = world
            .requests()
            .submit(submission(kind, address))
            .await
            .unwrap()
            .request_id;
        world.drain_outbox().await;
        let mail = world.mailer.sent_to(&email(address)).pop().unwrap();
        let token = crate::testing::verification_token(&mail);
        world.requests().verify(&token).await.unwrap();
        id
    }

    async fn report(world: &World, year: i16) -> RequestReport {
        request_report(&world.store, year, "Europe/Stockholm", world.now())
            .await
            .unwrap()
    }

    fn row(report: &RequestReport, kind: RequestType) -> &RequestTypeRow {
        report.rows.iter().find(|row| row.request_type == kind).unwrap()
    }

    fn days(n: i64) -> SignedDuration {
        SignedDuration::from_hours(24 * n)
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[10, 2, 7, 3]), Some(5.0));
        assert_eq!(median(&[1, 2]), Some(1.5));
        assert_eq!(median(&[9, 1, 4]), Some(4.0));
        assert_eq!(median(&[]), None);
        // 22 / 3 = 7.33… → 7.3; 2.25 → 2.3 (half away from zero); 2.45 → 2.5.
        assert_eq!(mean(&[1, 7, 14]), Some(7.3));
        assert_eq!(mean(&[1, 2, 3, 3]), Some(2.3));
        assert_eq!(mean(&[]), None);
    }

    #[tokio::test]
    async fn denials_count_by_reason_and_an_expired_request_is_denied_unverified() {
        // 10:00 in Stockholm on 2 March 2026.
        let world = World::at("2026-03-02T09:00:00Z");
        let kind = RequestType::Restriction;
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(verified(&world, kind, &format!("person{n}@example.com")).await);
        }
        let requests = world.requests();
        requests
            .reject_for(&ids[0], "could not confirm", DenialReason::IdentityNotVerified, "t")
            .await
            .unwrap();
        requests
            .reject_for(&ids[1], "third this month", DenialReason::Excessive, "t")
            .await
            .unwrap();
        world.clock.advance(days(3));
        requests
            .reject_for(&ids[2], "fourth this month", DenialReason::Excessive, "t")
            .await
            .unwrap();
        // Without a code: `other`.
        requests.reject(&ids[3], "no grounds", "t").await.unwrap();
        // ids[4] stays open. An erasure nobody verifies expires after 30 days.
        requests
            .submit(submission(RequestType::Erasure, "silent@example.com"))
            .await
            .unwrap();
        let team = PrivacyTeam {
            address: world.team.clone(),
            subject: world.subject_of("team@example.com"),
        };
        let sweep = RetentionSweep {
            ports: world.ports(),
            privacy_team: &team,
        };
        world.clock.advance(days(35));
        let far = world.now() + days(400);
        let run = sweep.run(world.now(), far).await.unwrap();
        assert_eq!(run.minimised, 1, "{run:?}");

        let report = report(&world, 2026).await;
        assert_eq!(report.rows.len(), RequestType::ALL.len(), "one row per type");
        let restrictions = row(&report, kind);
        assert_eq!(
            (
                restrictions.received,
                restrictions.complied_in_whole,
                restrictions.complied_in_part,
                restrictions.denied,
                restrictions.open
            ),
            (5, 0, 0, 4, 1)
        );
        let by_reason = |row: &RequestTypeRow, reason: &str| row.denied_by_reason[reason];
        assert_eq!(by_reason(restrictions, "identity_not_verified"), 1);
        assert_eq!(by_reason(restrictions, "excessive"), 2);
        assert_eq!(by_reason(restrictions, "other"), 1);
        assert_eq!(by_reason(restrictions, "unverified"), 0);
        // Days to respond: 0, 0, 3, 3 → median 1.5, mean 1.5.
        assert_eq!(restrictions.responded, 4);
        assert_eq!(restrictions.median_days, Some(1.5));
        assert_eq!(restrictions.mean_days, Some(1.5));

        let erasures = row(&report, RequestType::Erasure);
        assert_eq!((erasures.received, erasures.denied, erasures.open), (1, 1, 0));
        assert_eq!(by_reason(erasures, "unverified"), 1);
        assert_eq!(erasures.responded, 0, "never answered: no days to respond");
        assert_eq!(erasures.median_days, None);
        assert_eq!(row(&report, RequestType::Access).received, 0);
        // Another year holds none of them.
        assert!(report_of_2025_is_empty(&world).await);
    }

    async fn report_of_2025_is_empty(world: &World) -> bool {
        report(world, 2025).await.rows.iter().all(|row| row.received == 0)
    }

    #[tokio::test]
    async fn a_median_with_an_even_count_over_four_completions() {
        let world = World::at("2026-05-04T08:00:00Z");
        let mut ids = Vec::new();
        for n in 0..4 {
            ids.push(verified(&world, RequestType::Restriction, &format!("p{n}@example.com")).await);
        }
        // Completed 2, 3, 7 and 10 days after receipt.
        let mut elapsed = 0;
        for (id, after) in ids.iter().zip([2, 3, 7, 10]) {
            world.clock.advance(days(after - elapsed));
            elapsed = after;
            world.requests().complete(id, "done", "t").await.unwrap();
        }
        let report = report(&world, 2026).await;
        let restrictions = row(&report, RequestType::Restriction);
        assert_eq!((restrictions.received, restrictions.complied_in_whole), (4, 4));
        assert_eq!(restrictions.median_days, Some(5.0), "(3 + 7) / 2");
        assert_eq!(restrictions.mean_days, Some(5.5), "22 / 4");
        let csv = to_csv(&report);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], csv_header().join(","));
        assert_eq!(
            lines.len(),
            RequestType::ALL.len() + 2,
            "header, one per type, final CRLF"
        );
        assert!(lines.contains(&"restriction,4,4,0,0,0,0,0,0,0,0,0,4,5,5.5"), "{csv}");
        assert!(lines.contains(&"access,0,0,0,0,0,0,0,0,0,0,0,0,,"), "{csv}");
    }

    #[tokio::test]
    async fn days_to_respond_count_calendar_days_in_the_controllers_time_zone() {
        // 23:30 UTC on 31 January is 1 February in Stockholm; completed at
        // 00:30 UTC on 2 February (2 February there): one day.
        let world = World::at("2027-01-31T23:30:00Z");
        let id = verified(&world, RequestType::Restriction, "ada@example.com").await;
        world.clock.advance(SignedDuration::from_hours(25));
        world.requests().complete(&id, "done", "t").await.unwrap();
        let report = report(&world, 2027).await;
        assert_eq!(row(&report, RequestType::Restriction).median_days, Some(1.0));
    }

    #[tokio::test]
    async fn an_erasure_under_a_legal_hold_is_complied_with_in_part_and_opt_outs_in_whole() {
        let world = World::at("2026-06-01T08:00:00Z");
        let ada = email("ada@example.com");
        let name = crate::person::PersonName::parse("name", "Ada Lovelace").unwrap();
        world
            .newsletter()
            .subscribe_customer(&ada, Some(name), &crate::newsletter::ListId::default_list())
            .await
            .unwrap();
        world
            .ports()
            .legal_holds()
            .place(
                &world.subject_of("ada@example.com"),
                CategoryId::NewsletterSubscribed,
                "2030-01-01T00:00:00Z".parse().unwrap(),
                "a dispute".to_owned(),
                "t",
            )
            .await
            .unwrap();
        let held = verified(&world, RequestType::Erasure, "ada@example.com").await;
        // Nothing held for Grace: the suppression entry and the request
        // records kept by design leave it whole.
        world
            .newsletter()
            .subscribe_customer(
                &email("grace@example.com"),
                None,
                &crate::newsletter::ListId::default_list(),
            )
            .await
            .unwrap();
        let plain = verified(&world, RequestType::Erasure, "grace@example.com").await;
        for (id, in_part) in [(&held, true), (&plain, false)] {
            let request = parse_request(&world.store.get(&request_key(id)).await.unwrap().unwrap()).unwrap();
            assert_eq!(request.status, RequestStatus::Completed);
            assert_eq!(request.answered_in_part, in_part, "{id}");
        }
        // An opt-out acted on at once: complied with in whole, the same day.
        world
            .requests()
            .submit(submission(RequestType::CcpaOptOut, "linus@example.com"))
            .await
            .unwrap();
        let report = report(&world, 2026).await;
        let erasures = row(&report, RequestType::Erasure);
        assert_eq!(
            (erasures.received, erasures.complied_in_whole, erasures.complied_in_part),
            (2, 1, 1)
        );
        let opt_outs = row(&report, RequestType::CcpaOptOut);
        assert_eq!((opt_outs.received, opt_outs.complied_in_whole), (1, 1));
        assert_eq!(opt_outs.median_days, Some(0.0));
    }

    #[tokio::test]
    async fn the_backfill_writes_missing_entries_once_and_keeps_those_written_live() {
        let world = World::at("2026-06-01T08:00:00Z");
        let open = verified(&world, RequestType::Restriction, "ada@example.com").await;
        let unverified = world
            .requests()
            .submit(submission(RequestType::Access, "grace@example.com"))
            .await
            .unwrap()
            .request_id;
        let closed = verified(&world, RequestType::Restriction, "linus@example.com").await;
        world
            .requests()
            .reject_for(&closed, "no", DenialReason::LegalExemption, "t")
            .await
            .unwrap();
        let before = report(&world, 2026).await;
        // As if stored before entries existed: every entry gone.
        let day = jiff::civil::date(2026, 6, 1);
        let keys: Vec<_> = [&open, &unverified, &closed]
            .iter()
            .map(|id| report_key(day, id))
            .collect();
        world.store.delete_all(&keys).await.unwrap();
        assert_eq!(
            report(&world, 2026)
                .await
                .rows
                .iter()
                .map(|row| row.received)
                .sum::<u64>(),
            0
        );

        let through = day.checked_add(jiff::ToSpan::years(4)).unwrap();
        let first = backfill(&world.store, &world.register, day, through).await.unwrap();
        assert_eq!((first.requests, first.written, first.already), (3, 3, 0));
        assert_eq!(report(&world, 2026).await, before);
        let second = backfill(&world.store, &world.register, day, through).await.unwrap();
        assert_eq!((second.requests, second.written, second.already), (3, 0, 3));
        assert_eq!(report(&world, 2026).await, before);
    }

    #[tokio::test]
    async fn the_backfill_dates_entries_written_before_they_carried_their_days() {
        let world = World::at("2026-06-01T08:00:00Z");
        let closed = verified(&world, RequestType::Restriction, "ada@example.com").await;
        world
            .requests()
            .reject_for(&closed, "no", DenialReason::Other, "t")
            .await
            .unwrap();
        let day = jiff::civil::date(2026, 6, 1);
        let key = report_key(day, &closed);
        let live = world.store.get(&key).await.unwrap().unwrap();
        assert_eq!(live.attributes["responded_on"], "2026-06-01");
        assert_eq!(live.attributes["due_on"], "2026-07-01");
        // As written before entries carried the days.
        let mut old = live.clone();
        old.attributes.remove("due_on");
        old.attributes.remove("responded_on");
        crate::store::put(&world.store, old, crate::store::Precondition::None)
            .await
            .unwrap();
        let through = day.checked_add(jiff::ToSpan::years(4)).unwrap();
        let run = backfill(&world.store, &world.register, day, through).await.unwrap();
        assert_eq!((run.requests, run.written, run.dated, run.already), (1, 0, 1, 0));
        let dated = world.store.get(&key).await.unwrap().unwrap();
        assert_eq!(dated.attributes["responded_on"], "2026-06-01");
        assert_eq!(dated.attributes["due_on"], "2026-07-01");
        let again = backfill(&world.store, &world.register, day, through).await.unwrap();
        assert_eq!((again.dated, again.already), (0, 1));
        let monthly = crate::reports::monthly::monthly_report(&world.store, day, "Europe/Stockholm", world.now())
            .await
            .unwrap();
        assert_eq!((monthly.on_time.responded, monthly.on_time.on_time), (1, 1));
        assert_eq!(monthly.months.last().unwrap().denied, 1);
    }
}
