//! Operator task after a change of a retention period in the register:
//! re-computes the expiry of records already written (new writes follow the
//! register at once).
//!
//! ```sh
//! TABLE_NAME=privacy-backend-prod-PrivacyTable-… AWS_REGION=eu-north-1 \
//!   cargo run --release -p retention-sweep --bin restamp -- consent_records [FROM] [THROUGH]
//! ```
//!
//! `FROM` and `THROUGH` bound the due days walked (default: today to ten years
//! ahead). It reads the due index day by day and rewrites only what changes,
//! conditionally; running it twice does nothing the second time.

use jiff::civil::Date;
use jiff::ToSpan;
use privacy_domain::register::CategoryId;
use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: restamp CATEGORY [FROM yyyy-mm-dd] [THROUGH yyyy-mm-dd]";
    let category: CategoryId = serde_json::from_value(serde_json::Value::String(args.next().ok_or(usage)?))
        .map_err(|_| format!("not a register category; {usage}"))?;
    let today = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let from: Date = args.next().map(|day| day.parse()).transpose()?.unwrap_or(today);
    let through: Date = args
        .next()
        .map(|day| day.parse())
        .transpose()?
        .unwrap_or(today.checked_add(10.years())?);
    let app = privacy_lambda::app_from_env(Needs {
        pepper: false,
        token_key: false,
        mail: false,
        systems: false,
    })
    .await?;
    let report = privacy_domain::holds::keeping::restamp(
        app.store.as_ref(),
        &app.register,
        category,
        from,
        through,
        jiff::Timestamp::now(),
    )
    .await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
