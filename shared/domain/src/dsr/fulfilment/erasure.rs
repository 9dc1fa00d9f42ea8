//! Erasure (GDPR Art. 17, CCPA §1798.105), in runs of bounded work, keeping what a hold or the law keeps.

use super::*;

/// Why the opt-in proof outlives an erasure (kept by design, as the suppression entry).
const EVIDENCE_KEPT: &str = "the proof of your newsletter opt-in, kept 3 years after the subscription ends to demonstrate consent (GDPR Art. 7(1), 17(3)(e)); it holds no address";

impl Fulfilment<'_> {
    /// One run of an erasure, then the reply and the closing of the request
    /// if it is done; otherwise the request stays in progress (recorded once)
    /// and the outbox's next scheduled run goes on ([`Fulfilment::resume`]).
    pub(super) async fn fulfil_erasure(
        &self,
        subject: &SubjectKey,
        mut request: DataSubjectRequest,
        as_read: &AsRead,
        budget: RunBudget,
    ) -> Result<DataSubjectRequest, DsrError> {
        let Some(lines) = self.erase_step(subject, &request, budget).await? else {
            if !request.has_event(RequestEventKind::ErasureContinues) {
                request.events.push(RequestEvent::new(
                    RequestEventKind::ErasureContinues,
                    self.requests.ports.clock.now(),
                    "system",
                    Some(format!(
                        "too many records for one run: erased in runs of at most {ERASURE_WRITES_PER_RUN}, 10 minutes apart"
                    )),
                ));
                self.save(subject, &mut request, as_read).await?;
            }
            return Ok(request);
        };
        let address = request
            .email
            .as_deref()
            .and_then(|email| EmailAddress::parse("email", email).ok());
        if let Some(address) = &address {
            let mail = self.erasure_mail(address, &request, &lines);
            self.requests.outbox().deliver(mail, "dsr_erasure", subject).await?;
        }
        let erased: usize = lines
            .iter()
            .filter(|line| line.kept_because.is_none())
            .map(|l| l.count)
            .sum();
        // Kept under a legal hold or an exemption: complied with in part. The
        // suppression entry, the opt-in proof and the request records are
        // kept by design, whoever asks, and hold no address.
        request.answered_in_part = lines.iter().any(|line| {
            line.kept_because
                .as_deref()
                .is_some_and(|why| ![SUPPRESSION_KEPT, EVIDENCE_KEPT, REQUESTS_KEPT].contains(&why))
        });
        self.close(
            &mut request,
            RequestEventKind::Erased,
            Some(format!("{erased} records erased")),
        );
        // The record of the request is kept to demonstrate compliance, without personal data.
        strip_personal_data(&mut request);
        self.save(subject, &mut request, as_read).await?;
        tracing::info!(request_id = %request.request_id, status = request.status.as_str(), "request fulfilment recorded");
        Ok(request)
    }

    /// Erases every record about the person except what a legal hold covers,
    /// the suppression entry (which keeps an opt-out honoured and holds no
    /// address) and the records of requests (kept without address and name).
    pub async fn erase(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
    ) -> Result<Vec<ErasureLine>, DsrError> {
        let budget = RunBudget {
            writes: ERASURE_WRITES_PER_RUN,
            deadline: Timestamp::MAX,
        };
        loop {
            if let Some(lines) = self.erase_step(subject, request, budget).await? {
                return Ok(lines);
            }
        }
    }

    /// One run of an erasure, within `budget`. When more is left, records
    /// what this run erased on the request's continuation record (which the
    /// outbox's scheduled run follows, see [`Fulfilment::resume`]) and returns
    /// `None`; the last run returns every line of the whole erasure.
    pub async fn erase_step(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
        budget: RunBudget,
    ) -> Result<Option<Vec<ErasureLine>>, DsrError> {
        let continuation = self.continuation(&request.request_id).await?;
        let resumed = continuation.is_some();
        let mut erased: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
        for line in continuation.into_iter().flat_map(|c| c.erased) {
            *erased.entry((line.what, line.kept_because)).or_default() += line.count;
        }
        let plan = self.plan_erasure(subject, request, budget).await?;
        let work = plan.doomed.len() + plan.minimise.len();
        if !plan.complete || work > budget.writes {
            let batch = &plan.doomed[..plan.doomed.len().min(budget.writes)];
            let keys: Vec<RecordKey> = batch.iter().map(|(key, _)| key.clone()).collect();
            self.requests.ports.store.delete_all(&keys).await?;
            for (_, name) in batch {
                *erased.entry((name.clone(), None)).or_default() += 1;
            }
            let mut left = budget.writes.saturating_sub(batch.len());
            let mut minimised = 0;
            for record in &plan.minimise {
                if left == 0 || self.requests.ports.clock.now() >= budget.deadline {
                    break;
                }
                self.minimise(record).await?;
                left -= 1;
                minimised += 1;
            }
            let continuation = Continuation {
                request_id: request.request_id.clone(),
                subject_key: subject.as_str().to_owned(),
                erased: lines_of(erased),
                export: None,
                completion: false,
            };
            let mut record = Record::new(continuation_key(&request.request_id), entity::FULFILMENT_CONTINUATION);
            record.set_body(&continuation);
            store::put(self.requests.ports.store, record, Precondition::None).await?;
            tracing::info!(
                request_id = %request.request_id,
                erased = keys.len(),
                minimised,
                all_consent_histories_read = plan.complete,
                "erasure continues in the next run"
            );
            return Ok(None);
        }
        let mut lines = self.finish_erasure(subject, request, plan).await?;
        // Each run counted what it erased; the last one also what is kept.
        for (line, count) in erased {
            *lines.entry(line).or_default() += count;
        }
        if resumed {
            self.requests
                .ports
                .store
                .delete_all(&[continuation_key(&request.request_id)])
                .await?;
        }
        Ok(Some(lines_of(lines)))
    }

    /// What one run erases, keeps and rewrites: everything indexed under the
    /// person, and the consent histories linked to them until the run's
    /// writes or time are used up (at least one). The records of the
    /// histories not read this run (their link, their state) wait for a later run.
    pub(super) async fn plan_erasure(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
        budget: RunBudget,
    ) -> Result<ErasurePlan, DsrError> {
        let now = self.requests.ports.clock.now();
        let clock = self.requests.ports.clock;
        let read = self
            .read_person(subject, 0, |histories| {
                histories.len() < budget.writes && clock.now() < budget.deadline
            })
            .await?;
        let complete = read.complete;
        let mut records = read.indexed;
        records.extend(read.histories);
        let holds: Vec<LegalHold> = holds_among(&records, now);
        let mut lines: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
        let mut doomed = Vec::new();
        let mut minimise = Vec::new();
        let mut evidence = Vec::new();
        let mut confirmed_subscriber = false;
        for record in &records {
            let category = category_of(record);
            let name = category.map_or_else(
                || record.entity.clone(),
                |c| self.requests.ports.register.category(c).name.clone(),
            );
            let kept = if record.entity == entity::LEGAL_HOLD {
                Some(format!(
                    "a legal hold in force on your data ({})",
                    hold_grounds(category)
                ))
            } else if let Some(hold) = holds.iter().find(|hold| category.is_some_and(|c| hold.covers(c, now))) {
                Some(format!(
                    "legal hold until {}: {} ({})",
                    hold.until,
                    hold.reason,
                    hold_grounds(Some(hold.category))
                ))
            } else if record.entity == entity::SUPPRESSION {
                Some(SUPPRESSION_KEPT.to_owned())
            } else if record.entity == entity::NEWSLETTER_EVIDENCE {
                evidence.push(
                    crate::newsletter::evidence_after_erasure(self.requests.ports.register, record, now)
                        .map_err(|error| DsrError::Corrupt(error.to_string()))?,
                );
                Some(EVIDENCE_KEPT.to_owned())
            } else if record.entity == entity::PROCESSING_RESTRICTION {
                Some("your restriction of processing stays in force until our team has decided on it (GDPR Art. 18(1) and (3))".to_owned())
            } else if record.entity == entity::DSR_REQUEST {
                let personal = ["email", "name", "details", "corrections", "consent_id"]
                    .iter()
                    .any(|field| record.attributes.get(*field).is_some_and(|value| !value.is_null()));
                if record.key != request_key(&request.request_id) && personal {
                    minimise.push(record.clone());
                }
                Some(REQUESTS_KEPT.to_owned())
            } else {
                None
            };
            if kept.is_none()
                && record.entity == entity::NEWSLETTER_SUBSCRIPTION
                && record.attributes.get("status").and_then(Value::as_str) == Some("confirmed")
            {
                confirmed_subscriber = true;
            }
            if kept.is_none() {
                doomed.push((record.key.clone(), name.clone()));
            }
            *lines.entry((name, kept)).or_default() += 1;
        }
        // A consent id's link (and a state that carries the person's key) is
        // how a later run finds its receipts: erased after them, last.
        doomed.sort_by_key(|(key, _)| {
            key.partition.starts_with("CONSENT#") && matches!(key.sort.as_str(), "LINK" | "STATE")
        });
        // Evidence rewrites and the suppression are the last run's few writes.
        Ok(ErasurePlan {
            lines,
            doomed,
            minimise,
            evidence,
            confirmed_subscriber,
            complete,
        })
    }

    /// The last run of an erasure: what is left, the evidence, the suppression.
    pub(super) async fn finish_erasure(
        &self,
        subject: &SubjectKey,
        request: &DataSubjectRequest,
        plan: ErasurePlan,
    ) -> Result<BTreeMap<(String, Option<String>), usize>, DsrError> {
        let ErasurePlan {
            mut lines,
            doomed,
            minimise,
            evidence,
            confirmed_subscriber,
            complete: _,
        } = plan;
        let doomed: Vec<RecordKey> = doomed.into_iter().map(|(key, _)| key).collect();

        // A confirmed subscriber stays suppressed, so that nobody subscribes them
        // again but their own new double opt-in.
        if confirmed_subscriber
            && self
                .newsletter()
                .subscriptions()
                .suppress(subject, SuppressionReason::Erasure)
                .await
                .map_err(|error| DsrError::Corrupt(error.to_string()))?
        {
            let name = self
                .requests
                .ports
                .register
                .category(CategoryId::Suppression)
                .name
                .clone();
            *lines.entry((name, Some(SUPPRESSION_KEPT.to_owned()))).or_default() += 1;
        }
        self.requests.ports.store.delete_all(&doomed).await?;
        for record in evidence {
            let precondition = Precondition::Version(record.version - 1);
            match store::put(self.requests.ports.store, record, precondition).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(error) => return Err(error.into()),
            }
        }
        for record in &minimise {
            self.minimise(record).await?;
        }
        tracing::info!(request_id = %request.request_id, erased = doomed.len(), "erasure carried out");
        Ok(lines)
    }

    /// Rewrites an earlier request's record without personal data.
    pub(super) async fn minimise(&self, record: &Record) -> Result<(), DsrError> {
        let mut earlier = parse_request(record)?;
        strip_personal_data(&mut earlier);
        let mut rewritten = record.clone();
        rewritten.version += 1;
        rewritten.set_body(&earlier);
        match store::put(
            self.requests.ports.store,
            rewritten,
            Precondition::Version(record.version),
        )
        .await
        {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    pub(super) fn erasure_mail(&self, to: &EmailAddress, request: &DataSubjectRequest, lines: &[ErasureLine]) -> Mail {
        let erased: Vec<String> = lines
            .iter()
            .filter(|line| line.kept_because.is_none())
            .map(|line| format!("- {} ({})", line.what, line.count))
            .collect();
        let kept: Vec<String> = lines
            .iter()
            .filter_map(|line| {
                Some(format!(
                    "- {} ({}): {}",
                    line.what,
                    line.count,
                    line.kept_because.as_ref()?
                ))
            })
            .collect();
        let text = format!(
            "Your data is erased (reference {}).\n\nErased:\n{}\n\nKept, and why:\n{}\n{}",
            request.request_id,
            if erased.is_empty() {
                "- nothing was held".to_owned()
            } else {
                erased.join("\n")
            },
            if kept.is_empty() {
                "- nothing".to_owned()
            } else {
                kept.join("\n")
            },
            match self.recipients_line(request).strip_prefix('\n') {
                Some(told) => format!("{told}\n"),
                None => String::new(),
            },
        );
        Mail {
            to: to.clone(),
            subject: "Your data is erased".to_owned(),
            html: format!(
                "<!doctype html><html><body><pre>{}</pre></body></html>",
                escape_html(&text)
            ),
            text,
            list_unsubscribe: None,
            attachments: Vec::new(),
        }
    }
}
