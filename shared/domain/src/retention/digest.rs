//! The privacy team's daily digest: the open requests due within a week.

use super::*;
use crate::dsr::queue::{due_requests, DueRequest};

impl RetentionSweep<'_> {
    /// Sends the deadline digest, at most once per calendar day.
    pub(super) async fn digest(
        &self,
        stores: &Stores<'_>,
        now: Timestamp,
        run_id: Uuid,
    ) -> Result<DigestReport, StoreError> {
        let today = now.to_zoned_datetime(self.ports.register.time_zone().clone()).date();
        let through = today.saturating_add(DIGEST_HORIZON_DAYS.days());
        let entries = due_requests(&stores.queue, now, today, through, self.ports.register.time_zone()).await?;
        let mut report = DigestReport {
            status: DigestStatus::NothingDue,
            entries: entries.len(),
            overdue: entries.iter().filter(|entry| entry.days_left < 0).count(),
        };
        if entries.is_empty() {
            return Ok(report);
        }
        let mut marker = Record::new(
            RecordKey::new(SWEEP_PARTITION, format!("{DIGEST_SORT_PREFIX}{today}")),
            entity::SWEEP_DIGEST,
        );
        marker.set_body(&serde_json::json!({
            "date": today,
            "entries": entries.len(),
            "run_id": run_id,
        }));
        let expires_at = whole_second(
            now.checked_add(SignedDuration::from_hours(24 * DIGEST_MARKER_DAYS))
                .unwrap_or(now),
        );
        marker.expires_at = Some(expires_at);
        match store::put(self.ports.store, marker.clone(), Precondition::Absent).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                report.status = DigestStatus::AlreadySent;
                return Ok(report);
            }
            Err(error) => return Err(error),
        }
        let mail = digest_mail(&self.privacy_team.address, today, self.ports.register, &entries);
        let outbox = self.ports.outbox();
        match outbox.deliver(mail, DIGEST_TEMPLATE, &self.privacy_team.subject).await {
            Ok(delivery) => {
                report.status = match delivery {
                    Delivery::Sent => DigestStatus::Sent,
                    Delivery::Queued => DigestStatus::Queued,
                    Delivery::Rejected => DigestStatus::Rejected,
                };
                Ok(report)
            }
            Err(error) => {
                // Nothing was promised: let the next run send today's digest.
                let undo = Write::Delete {
                    key: marker.key,
                    precondition: Precondition::Present,
                };
                if let Err(undo) = self.ports.store.write(vec![undo]).await {
                    tracing::warn!(%undo, "the digest marker could not be removed after a failed delivery");
                }
                Err(error)
            }
        }
    }
}

/// "3 days left", "due today", "2 days overdue".
pub fn days_left_phrase(days_left: i64) -> String {
    let plural = |n: i64| if n == 1 { "day" } else { "days" };
    match days_left {
        0 => "due today".to_owned(),
        n if n > 0 => format!("{n} {} left", plural(n)),
        n => format!("{} {} overdue", -n, plural(-n)),
    }
}

/// The digest mail. It holds no personal data: request ids, types, statuses and dates.
pub fn digest_mail(to: &EmailAddress, today: Date, register: &Register, entries: &[DueRequest]) -> Mail {
    let zone = register.time_zone().iana_name().unwrap_or("UTC").to_owned();
    let overdue = entries.iter().filter(|entry| entry.days_left < 0).count();
    let subject = format!(
        "Privacy requests: {} due within {DIGEST_HORIZON_DAYS} days, {overdue} overdue ({today})",
        entries.len()
    );
    let mut text = format!(
        "Data subject requests due within {DIGEST_HORIZON_DAYS} days or overdue, as of {today} ({zone}), soonest first:\n\n"
    );
    let mut rows = String::new();
    // Tasks of other systems past their own due day head the digest.
    let overdue_tasks: Vec<(&DueRequest, &crate::dsr::tasks::TaskSummary)> = entries
        .iter()
        .flat_map(|entry| entry.overdue_tasks.iter().map(move |task| (entry, task)))
        .collect();
    let mut task_rows = String::new();
    if !overdue_tasks.is_empty() {
        text.insert_str(
            0,
            "Overdue tasks of other systems (answer them, or record an exemption with its reason):\n\n",
        );
        let mut lines = String::new();
        for (entry, task) in &overdue_tasks {
            lines.push_str(&format!(
                "- task {id}  system {system}  {status}  due {due}  (request due {request_due})\n",
                id = task.task_id,
                system = task.system,
                status = task.status.as_str(),
                due = task.due_on,
                request_due = entry.due_on,
            ));
            task_rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape_html(&task.task_id),
                escape_html(&task.system),
                task.status.as_str(),
                task.due_on,
            ));
        }
        lines.push('\n');
        let at = text.find("\n\n").map_or(0, |at| at + 2);
        text.insert_str(at, &lines);
    }
    for entry in entries {
        let received = entry
            .received_on
            .map(|day| day.to_string())
            .unwrap_or_else(|| "-".to_owned());
        text.push_str(&format!(
            "- {due}  {phrase:<16}  {kind:<13}  {status:<21}  received {received}  request {id}\n",
            due = entry.due_on,
            phrase = days_left_phrase(entry.days_left),
            kind = entry.request_type,
            status = entry.status,
            id = entry.request_id,
        ));
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            entry.due_on,
            escape_html(&days_left_phrase(entry.days_left)),
            escape_html(&entry.request_type),
            escape_html(&entry.status),
            received,
            escape_html(&entry.request_id),
        ));
    }
    text.push_str(&format!(
        "\nDeadlines are calendar dates in {zone}. The queue: GET /admin/dsr.\nSent once a day by the retention sweep.\n"
    ));
    let task_table = if task_rows.is_empty() {
        String::new()
    } else {
        format!(
            "<p>Overdue tasks of other systems:</p>\n<table>\n<tr><th>task</th><th>system</th><th>status</th><th>due</th></tr>\n{task_rows}</table>\n"
        )
    };
    let html = format!(
        "{task_table}<p>Data subject requests due within {DIGEST_HORIZON_DAYS} days or overdue, as of {today} ({zone}), soonest first:</p>\n\
         <table>\n<tr><th>due</th><th>days left</th><th>type</th><th>status</th><th>received</th><th>request</th></tr>\n\
         {rows}</table>\n<p>Deadlines are calendar dates in {zone}. The queue: GET /admin/dsr.</p>\n",
        zone = escape_html(&zone),
    );
    Mail {
        to: to.clone(),
        subject,
        text,
        html,
        list_unsubscribe: None,
        attachments: Vec::new(),
    }
}
