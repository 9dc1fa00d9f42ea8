//! Deciding, per due record, what the sweep does: delete it, shrink it,
//! keep it under a hold or restriction, or look again later.

use super::*;

impl RetentionSweep<'_> {
    pub(super) async fn decide(
        &self,
        stores: &Stores<'_>,
        tally: &mut Tally,
        day: Date,
        record: &Record,
    ) -> Result<Decision, StoreError> {
        let now = tally.now;
        let category = category_of(record);
        if record.is_expired(now) {
            // A hold's own expiry is its end: nothing holds a hold.
            if record.entity != entity::LEGAL_HOLD {
                if let Some(until) = self.held_until(stores, tally, record, category).await? {
                    return Ok(Decision::Held { until });
                }
            }
            return Ok(Decision::Delete);
        }
        if let Some(remove) = minimisation_now(self.ports.register, record, now) {
            if let Some(until) = self.held_until(stores, tally, record, category).await? {
                return Ok(Decision::Held { until });
            }
            return Ok(Decision::Minimise { remove });
        }
        let next = next_due_day(self.ports.register, record);
        Ok(if next == Some(day) {
            Decision::DueLaterToday
        } else {
            Decision::Reschedule(next)
        })
    }

    /// The end of the latest hold in force on the record's subject for its category
    /// (`Timestamp::MAX` while the person's processing is restricted).
    async fn held_until(
        &self,
        stores: &Stores<'_>,
        tally: &mut Tally,
        record: &Record,
        category: Option<CategoryId>,
    ) -> Result<Option<Timestamp>, StoreError> {
        let (Some(subject), Some(category)) = (&record.subject, category) else {
            return Ok(None);
        };
        if !tally.holds.contains_key(subject) {
            let records = store::query_all(&stores.holds, &Query::Subject(subject.clone())).await?;
            tally.holds.insert(subject.clone(), holds_among(&records, tally.now));
            // A restricted person's data is not deleted while restricted (GDPR Art. 18(1)(b)-(c)).
            if records
                .iter()
                .any(|record| record.entity == entity::PROCESSING_RESTRICTION && !record.is_expired(tally.now))
            {
                tally.restricted.insert(subject.clone());
            }
        }
        if tally.restricted.contains(subject) {
            return Ok(Some(Timestamp::MAX));
        }
        Ok(tally.holds.get(subject).and_then(|holds| {
            holds
                .iter()
                .filter(|hold| hold.covers(category, tally.now))
                .map(|hold| hold.until)
                .max()
        }))
    }
}

pub(super) enum Decision {
    Delete,
    Held { until: Timestamp },
    Minimise { remove: Vec<String> },
    Reschedule(Option<Date>),
    DueLaterToday,
}

/// The fields to remove now, if the record's minimisation is due.
pub(super) fn minimisation_now(register: &Register, record: &Record, now: Timestamp) -> Option<Vec<String>> {
    let due_at = pending_minimisation(register, record)?;
    if due_at > now {
        return None;
    }
    let category = category_of(record)?;
    let rule = register.category(category).minimise.as_ref()?;
    Some(
        rule.remove
            .iter()
            .filter(|field| record.attributes.contains_key(field.as_str()))
            .cloned()
            .collect(),
    )
}

pub(super) fn restamped(record: &Record, due: Option<Date>) -> Record {
    let mut record = record.clone();
    record.due = due;
    record.version += 1;
    record
}
