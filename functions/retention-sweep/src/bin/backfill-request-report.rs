//! Operator task, once after the request report's entries were deployed:
//! writes the report entry of every request stored before (requests created
//! or changed since have theirs already).
//!
//! ```sh
//! TABLE_NAME=privacy-backend-prod-PrivacyTable-… AWS_REGION=eu-north-1 \
//!   cargo run --release -p retention-sweep --bin backfill-request-report -- [FROM] [THROUGH]
//! ```
//!
//! Verified requests are found through the team's queue partition (one
//! Query, paged); the others (never verified, expired, closed) through the
//! due index, day by day from `FROM` through `THROUGH` (default: 30 days ago,
//! for anything a late sweep has not reached yet, through today plus the
//! longest retention of request records, plus a day; records a legal hold
//! keeps longer need a later `THROUGH`). Never a Scan. An entry is written
//! only where none exists: a second or concurrent run writes nothing again.

use jiff::civil::Date;
use jiff::ToSpan;
use privacy_domain::dsr::report_entry;
use privacy_domain::register::CategoryId;
use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let app = privacy_lambda::app_from_env(Needs {
        pepper: false,
        token_key: false,
        mail: false,
        systems: false,
    })
    .await?;
    let now = jiff::Timestamp::now();
    let utc_day = |at: jiff::Timestamp| at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let today = utc_day(now);
    let retained = [CategoryId::RequestsClosed, CategoryId::RequestsUnverified]
        .into_iter()
        .filter_map(|category| app.register.expiry(category, now))
        .max()
        .map(utc_day)
        .unwrap_or(today.checked_add(10.years())?);
    let from: Date = args
        .next()
        .map(|day| day.parse())
        .transpose()?
        .unwrap_or(today.checked_sub(30.days())?);
    let through: Date = args
        .next()
        .map(|day| day.parse())
        .transpose()?
        .unwrap_or(retained.checked_add(1.day())?);
    let report = report_entry::backfill(app.store.as_ref(), &app.register, from, through).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
