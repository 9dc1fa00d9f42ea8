//! Operator task, once after the consent report's counters were deployed:
//! counts the consent receipts recorded before (new decisions are counted as
//! they are recorded).
//!
//! ```sh
//! TABLE_NAME=privacy-backend-prod-PrivacyTable-… AWS_REGION=eu-north-1 \
//!   cargo run --release -p retention-sweep --bin backfill-consent-report -- [FROM] [THROUGH]
//! ```
//!
//! `FROM` and `THROUGH` bound the due days walked (default: today through
//! the consent records' retention from now, plus a day; receipts a legal hold
//! keeps longer need a later `THROUGH`). It reads the due index day by day,
//! never a Scan. Each receipt is counted in one transaction that also marks
//! it counted, conditionally: a second run counts nothing again.

use jiff::civil::Date;
use jiff::ToSpan;
use privacy_domain::consent::tally;
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
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let retained = app
        .register
        .expiry(CategoryId::ConsentRecords, now)
        .map(|at| at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
        .unwrap_or(today.checked_add(10.years())?);
    let from: Date = args.next().map(|day| day.parse()).transpose()?.unwrap_or(today);
    let through: Date = args
        .next()
        .map(|day| day.parse())
        .transpose()?
        .unwrap_or(retained.checked_add(1.day())?);
    let report = tally::backfill(app.store.as_ref(), &app.register, from, through, now).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
