//! The retention sweep (SPEC 5): what the register says must go, goes; what
//! it says must shrink, shrinks; and the privacy team hears what is due.
//!
//! # One run
//!
//! 1. **Sweep.** The due index is read one UTC day at a time, from the day
//!    after the checkpoint up to today (never a Scan: the cost grows with what
//!    falls due, not with the table). For each record found:
//!    - expired (`expires_at <= now`) and not covered by a legal hold in force
//!      for its category: deleted, in `BatchWriteItem`s of 25
//!      ([`RecordStore::delete_all`]). Deleting a record that TTL already
//!      removed is a no-op, so "already gone" is "done";
//!    - expired but held: kept, and its due day moves to the hold's end or
//!      [`HELD_RECHECK_DAYS`] from today, whichever is sooner (so a hold that
//!      is lifted early releases the record within a week, and the
//!      checkpoint can move on);
//!    - not expired, and its category's minimisation (the register's
//!      `minimise` rule: the fields to remove some period after an event
//!      recorded as `<event>_at`) is due: those fields are removed (a write
//!      conditional on the version) and the record is re-stamped to its
//!      expiry day; a request never verified becomes `expired` then
//!      ([`expire_unverified`]). A hold in force blocks minimisation too;
//!    - otherwise: due later today (left for the next run), or re-stamped to
//!      the day it next needs attention.
//! 2. **Digest.** One mail to the privacy team listing the requests in the
//!    queue (every shard `DSR_QUEUE#0` … `DSR_QUEUE#3`, and `DSR_QUEUE` of
//!    the entries written before the sharding) that are open and due within
//!    [`DIGEST_HORIZON_DAYS`] days or overdue, soonest first, with days left;
//!    nothing when nothing is due; at most one per calendar day
//!    (a `DIGEST#<date>` marker written before the mail is handed to the
//!    durable outbox).
//! 3. **Outbox.** Mail that failed earlier is retried ([`Outbox::retry`]).
//! 4. **Run record.** `SWEEP` / `RUN#<started_at>#<run id>`: counts per
//!    category, items read, deleted, minimised, held, duration. No personal
//!    data. It expires [`RUN_RECORD_RETENTION_DAYS`] days after the run (a
//!    year of daily runs to compare, plus a margin). Holding no personal data,
//!    it is left to TTL (no due day), like the once-a-day digest marker, so
//!    the sweep's counts are about data only.
//!
//! # Checkpoint, resumption and concurrency
//!
//! `SWEEP` / `CHECKPOINT` holds the last fully swept day, a cursor into the
//! next day's partition, and a lease. A run takes the lease (a write
//! conditional on the checkpoint's version) until its deadline plus a
//! minute; a second run that finds the lease taken sweeps nothing (it still
//! sends the digest, at most once a day, and retries the outbox). Every
//! checkpoint write is conditional on the version the run last wrote, so a
//! run whose lease was taken over stops instead of overwriting.
//!
//! A run stops cleanly at its deadline (or page limit) between pages and
//! saves where it was; the next run continues from there. Today is never
//! recorded as fully swept (records due today may expire later today), and a
//! cursor is saved only for a past day, whose records have all expired, so a
//! resumed run skips nothing.
//!
//! The very first run (no checkpoint) starts at [`FIRST_DAY`], the first day
//! anything this product writes can fall due; walking empty days costs one
//! Query each, once. A table holding older data is swept from further back
//! by writing a checkpoint with an earlier `swept_through` before the first
//! run (see [`SweepCheckpoint::starting_after`]).
//!
//! # What a run reads, and known limits
//!
//! Items read = the records due up to today + for each person with an
//! expired (or minimisable) record, that person's records on the subject
//! index, once per run (legal holds live there) + the checkpoint + the queue
//! entries due within the digest horizon + queued mail. Nothing grows with
//! the size of the table. A subject-index Query restricted to the `HOLD#`
//! sort-key prefix (not in the store port yet) would cut the hold check to
//! the holds themselves.
//!
//! Deletes are `BatchWriteItem`s, which take no condition: a record written
//! anew at the same key between the due-index read and the delete (a new
//! sign-up for an address whose pending sign-up expired a moment ago) would
//! be deleted with the old one. The window is one page's processing time;
//! conditional deletes would close it at twice the write cost.
//!
//! Context `retention`: may use `dsr` (the queue for the digest), `holds`, `mail`, `ports`, `register`, `store` and the kernel (README, "The domain crate's contexts").

mod decide;
mod digest;
mod reads;

use decide::{restamped, Decision};
use reads::Stores;

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dsr::expire_unverified;
use crate::dsr::report_entry::entry_write_of_record;
use crate::email::EmailAddress;
pub use crate::holds::keeping::next_due_day;
use crate::holds::keeping::pending_minimisation;
use crate::holds::{holds_among, LegalHold};
use crate::mail::outbox::{Delivery, RetryReport};
use crate::mail::{escape_html, Mail};
use crate::ports::Ports;
use crate::register::category_of;
use crate::register::{entity, CategoryId, Register};
use crate::store::{self, Cursor, Page, Precondition, Query, Record, RecordKey, RecordStore, StoreError, Write};
use crate::subject::SubjectKey;

/// The partition of the sweep's own bookkeeping (no personal data).
pub const SWEEP_PARTITION: &str = "SWEEP";
pub const CHECKPOINT_SORT: &str = "CHECKPOINT";
/// Run records sort under `RUN#<started_at>#<run id>`.
pub const RUN_SORT_PREFIX: &str = "RUN#";
const DIGEST_SORT_PREFIX: &str = "DIGEST#";

/// The outbox template name of the deadline digest.
pub const DIGEST_TEMPLATE: &str = "retention_digest";

/// Where the very first run starts: nothing this product writes can fall due earlier.
pub const FIRST_DAY: Date = jiff::civil::date(2026, 1, 1);
/// How long run records are kept.
pub const RUN_RECORD_RETENTION_DAYS: i64 = 400;
/// A held record is looked at again after at most this many days.
pub const HELD_RECHECK_DAYS: i64 = 7;
/// The digest lists requests due within this many days (and overdue ones).
pub const DIGEST_HORIZON_DAYS: i64 = 7;
/// How long a digest marker (once a day) is kept.
const DIGEST_MARKER_DAYS: i64 = 30;
/// A lease outlives the run's deadline by this much (the invocation's own margin).
const LEASE_GRACE: SignedDuration = SignedDuration::from_secs(60);
/// While walking empty days, the checkpoint is saved at least this often.
const EMPTY_DAYS_BETWEEN_CHECKPOINTS: u32 = 31;
/// Attempts at a conditional write that keeps meeting newer versions.
const CONFLICT_ATTEMPTS: usize = 3;

/// The privacy team's mailbox: where the digest goes, and the key its mail
/// log is kept under.
#[derive(Debug, Clone)]
pub struct PrivacyTeam {
    pub address: EmailAddress,
    pub subject: SubjectKey,
}

/// How much one run may do besides its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepLimits {
    /// Stop after this many pages of the due index (tests cut runs short with it).
    pub max_pages: Option<u32>,
    /// Records per page of the due index.
    pub page_size: usize,
}

impl Default for SweepLimits {
    fn default() -> Self {
        Self {
            max_pages: None,
            page_size: store::PAGE_SIZE,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepOutcome {
    /// Everything due up to now was dealt with.
    Completed,
    /// The time budget ran out; the next run continues from the checkpoint.
    StoppedAtDeadline,
    /// The page limit was reached; the next run continues from the checkpoint.
    StoppedAtPageLimit,
    /// Another run holds the lease: this one swept nothing.
    AnotherRunInProgress,
    /// Another run took over the checkpoint while this one worked (this one
    /// had outlived its lease); it stopped without saving.
    LostLease,
}

/// Counts of one register category (or `uncategorised`: the product's own bookkeeping).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCounts {
    pub read: u64,
    pub deleted: u64,
    pub minimised: u64,
    pub held: u64,
}

/// Items the store returned, by what they were read for. Each is the
/// number of items DynamoDB returned (no filter expressions are used).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsRead {
    /// Query on the due index: the records that fell due.
    pub due_index: u64,
    /// Query on the subject index: legal-hold checks, once per person per run.
    pub holds: u64,
    /// Query of the request queue for the digest.
    pub queue: u64,
    /// The outbox retry.
    pub outbox: u64,
    /// GetItem: the checkpoint, and re-reads after a conditional write met a newer version.
    pub bookkeeping: u64,
}

impl ItemsRead {
    pub fn total(&self) -> u64 {
        self.due_index + self.holds + self.queue + self.outbox + self.bookkeeping
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestStatus {
    /// No open request is due within the horizon: no mail.
    #[default]
    NothingDue,
    /// The mail service took the digest.
    Sent,
    /// Stored in the outbox; it will be retried.
    Queued,
    /// The mail service refused it for good (logged).
    Rejected,
    /// Today's digest went out in an earlier run.
    AlreadySent,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestReport {
    pub status: DigestStatus,
    /// Requests listed (due within the horizon or overdue).
    pub entries: usize,
    pub overdue: usize,
}

/// What one run did: the content of the run record and of the metrics.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRun {
    pub run_id: Uuid,
    /// Wall-clock start and end (the clock port).
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub duration_ms: u64,
    /// The "now" retention was judged at (the clock's, unless a test set it).
    pub now: Timestamp,
    pub outcome: SweepOutcome,
    /// The first day this run looked at (none when it swept nothing).
    pub swept_from: Option<Date>,
    /// The last fully swept day, as the checkpoint says after the run.
    pub swept_through: Option<Date>,
    /// Pages of the due index read.
    pub pages: u32,
    /// Every item the store returned to this run (`reads.total()`).
    pub items_read: u64,
    pub reads: ItemsRead,
    pub deleted: u64,
    pub minimised: u64,
    pub held: u64,
    /// Records a conditional write found already deleted.
    pub already_gone: u64,
    /// Records not due yet whose due day moved to when they next need attention.
    pub rescheduled: u64,
    /// Records due today that expire later today (the next run sees them again).
    pub due_later_today: u64,
    /// Records that kept changing under the sweep; the checkpoint stays before their day.
    pub contended: u64,
    /// By register category id (`uncategorised` for the product's own bookkeeping).
    pub categories: BTreeMap<String, CategoryCounts>,
    pub digest: DigestReport,
    pub outbox: RetryReport,
}

/// Where the sweep is (`SWEEP` / `CHECKPOINT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepCheckpoint {
    /// The last day whose due records have all been dealt with.
    pub swept_through: Date,
    /// Where the sweep left off in the partition of the day after `swept_through`.
    pub cursor: Option<String>,
    /// The run holding the lease, and until when.
    pub lease_run: Option<Uuid>,
    pub lease_until: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl SweepCheckpoint {
    pub fn key() -> RecordKey {
        RecordKey::new(SWEEP_PARTITION, CHECKPOINT_SORT)
    }

    /// A checkpoint from which the next run sweeps the day after `swept_through`.
    pub fn starting_after(swept_through: Date, updated_at: Timestamp) -> Self {
        Self {
            swept_through,
            cursor: None,
            lease_run: None,
            lease_until: None,
            updated_at,
        }
    }

    pub fn to_record(&self, version: u64) -> Record {
        let mut record = Record::new(Self::key(), entity::SWEEP_CHECKPOINT);
        record.version = version;
        record.set_body(self);
        record
    }

    pub fn from_record(record: &Record) -> Option<Self> {
        record.body().ok()
    }
}

/// The retention sweep use case.
pub struct RetentionSweep<'a> {
    /// The clock is wall-clock time: deadlines, leases, durations and the outbox.
    pub ports: Ports<'a>,
    pub privacy_team: &'a PrivacyTeam,
}

impl RetentionSweep<'_> {
    /// One run judged at `now`, sweeping until `deadline` (wall-clock time).
    pub async fn run(&self, now: Timestamp, deadline: Timestamp) -> Result<SweepRun, StoreError> {
        self.run_with_limits(now, deadline, SweepLimits::default()).await
    }

    pub async fn run_with_limits(
        &self,
        now: Timestamp,
        deadline: Timestamp,
        limits: SweepLimits,
    ) -> Result<SweepRun, StoreError> {
        let started_at = self.ports.clock.now();
        let run_id = Uuid::new_v4();
        let stores = Stores::new(self.ports.store);
        let mut tally = Tally::new(now);

        let outcome = match self.acquire(&stores, run_id, deadline).await? {
            None => {
                tracing::info!(%run_id, "another sweep holds the lease; this run sweeps nothing");
                SweepOutcome::AnotherRunInProgress
            }
            Some(lease) => self.sweep(&stores, &mut tally, lease, deadline, limits).await?,
        };
        let digest = self.digest(&stores, now, run_id).await?;
        let outbox = self.ports.with_store(&stores.outbox).outbox().retry(deadline).await?;

        let finished_at = self.ports.clock.now();
        let reads = stores.reads();
        let run = SweepRun {
            run_id,
            started_at,
            finished_at,
            duration_ms: u64::try_from(finished_at.duration_since(started_at).as_millis()).unwrap_or(0),
            now,
            outcome,
            swept_from: tally.swept_from,
            swept_through: tally.swept_through,
            pages: tally.pages,
            items_read: reads.total(),
            reads,
            deleted: tally.deleted,
            minimised: tally.minimised,
            held: tally.held,
            already_gone: tally.already_gone,
            rescheduled: tally.rescheduled,
            due_later_today: tally.due_later_today,
            contended: tally.contended,
            categories: tally.categories,
            digest,
            outbox,
        };
        self.write_run_record(&run).await?;
        tracing::info!(
            %run_id,
            outcome = ?run.outcome,
            items_read = run.items_read,
            deleted = run.deleted,
            minimised = run.minimised,
            held = run.held,
            pages = run.pages,
            duration_ms = run.duration_ms,
            "retention sweep finished"
        );
        Ok(run)
    }

    /// Takes the lease on the checkpoint, creating it on the very first run.
    async fn acquire(
        &self,
        stores: &Stores<'_>,
        run_id: Uuid,
        deadline: Timestamp,
    ) -> Result<Option<Lease>, StoreError> {
        let wall = self.ports.clock.now();
        let (mut checkpoint, precondition, version) = match stores.bookkeeping.get(&SweepCheckpoint::key()).await? {
            Some(record) => {
                let checkpoint = SweepCheckpoint::from_record(&record).unwrap_or_else(|| {
                    tracing::error!("the sweep checkpoint is unreadable; sweeping again from the first day");
                    SweepCheckpoint::starting_after(day_before(FIRST_DAY), wall)
                });
                if checkpoint.lease_run.is_some() && checkpoint.lease_until.is_some_and(|until| until > wall) {
                    return Ok(None);
                }
                (checkpoint, Precondition::Version(record.version), record.version)
            }
            None => (
                SweepCheckpoint::starting_after(day_before(FIRST_DAY), wall),
                Precondition::Absent,
                0,
            ),
        };
        checkpoint.lease_run = Some(run_id);
        checkpoint.lease_until = Some(deadline.checked_add(LEASE_GRACE).unwrap_or(deadline));
        checkpoint.updated_at = wall;
        match store::put(&stores.bookkeeping, checkpoint.to_record(version + 1), precondition).await {
            Ok(()) => Ok(Some(Lease {
                checkpoint,
                version: version + 1,
            })),
            Err(StoreError::Conflict) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Writes the checkpoint if this run still holds it. `false`: it does not.
    async fn save(&self, stores: &Stores<'_>, lease: &mut Lease) -> Result<bool, StoreError> {
        lease.checkpoint.updated_at = self.ports.clock.now();
        let record = lease.checkpoint.to_record(lease.version + 1);
        match store::put(&stores.bookkeeping, record, Precondition::Version(lease.version)).await {
            Ok(()) => {
                lease.version += 1;
                Ok(true)
            }
            Err(StoreError::Conflict) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn sweep(
        &self,
        stores: &Stores<'_>,
        tally: &mut Tally,
        mut lease: Lease,
        deadline: Timestamp,
        limits: SweepLimits,
    ) -> Result<SweepOutcome, StoreError> {
        let result = self.sweep_days(stores, tally, &mut lease, deadline, limits).await;
        let outcome = match result {
            Ok(SweepOutcome::LostLease) => return Ok(SweepOutcome::LostLease),
            Ok(outcome) => outcome,
            Err(error) => {
                // Save the progress up to the last page dealt with, and free the
                // lease for the next run (a failed page is simply read again).
                lease.checkpoint.lease_run = None;
                lease.checkpoint.lease_until = None;
                if let Err(release) = self.save(stores, &mut lease).await {
                    tracing::warn!(%release, "the sweep lease could not be released after a failure");
                }
                return Err(error);
            }
        };
        lease.checkpoint.lease_run = None;
        lease.checkpoint.lease_until = None;
        if !self.save(stores, &mut lease).await? {
            return Ok(SweepOutcome::LostLease);
        }
        tally.swept_through = Some(lease.checkpoint.swept_through);
        Ok(outcome)
    }

    /// Walks the due index from the checkpoint up to today. Progress is in `lease.checkpoint`.
    async fn sweep_days(
        &self,
        stores: &Stores<'_>,
        tally: &mut Tally,
        lease: &mut Lease,
        deadline: Timestamp,
        limits: SweepLimits,
    ) -> Result<SweepOutcome, StoreError> {
        let today = tally.today;
        let mut day = day_after(lease.checkpoint.swept_through);
        let mut cursor = lease.checkpoint.cursor.clone().map(Cursor);
        let mut unsaved_days = 0u32;
        if day <= today {
            tally.swept_from = Some(day);
        }
        tally.swept_through = Some(lease.checkpoint.swept_through);
        loop {
            if day > today {
                return Ok(SweepOutcome::Completed);
            }
            if self.ports.clock.now() >= deadline {
                return Ok(SweepOutcome::StoppedAtDeadline);
            }
            if limits.max_pages.is_some_and(|max| tally.pages >= max) {
                return Ok(SweepOutcome::StoppedAtPageLimit);
            }
            let page: Page = stores
                .due
                .query(&Query::DueOn(day), limits.page_size.max(1), cursor.clone())
                .await?;
            tally.pages += 1;
            let had_records = !page.records.is_empty();
            self.sweep_page(stores, tally, day, page.records).await?;
            match page.next {
                Some(next) => cursor = Some(next),
                None if day == today => {
                    // Today is never recorded as swept: records may still expire later today.
                    lease.checkpoint.cursor = None;
                    return Ok(SweepOutcome::Completed);
                }
                None => {
                    cursor = None;
                    if !tally.blocked {
                        lease.checkpoint.swept_through = day;
                    }
                    day = day_after(day);
                    unsaved_days += 1;
                }
            }
            // A cursor is kept only within a past day whose records have all
            // been dealt with up to it; anything else restarts the day.
            lease.checkpoint.cursor = match &cursor {
                Some(cursor) if !tally.blocked && day < today => Some(cursor.0.clone()),
                _ => None,
            };
            if had_records || unsaved_days >= EMPTY_DAYS_BETWEEN_CHECKPOINTS {
                if !self.save(stores, lease).await? {
                    return Ok(SweepOutcome::LostLease);
                }
                unsaved_days = 0;
            }
        }
    }

    /// Deals with one page of due records: deletions in batches at the end.
    async fn sweep_page(
        &self,
        stores: &Stores<'_>,
        tally: &mut Tally,
        day: Date,
        records: Vec<Record>,
    ) -> Result<(), StoreError> {
        let mut deletions = Vec::new();
        for record in records {
            if !tally.seen.insert(record.key.clone()) {
                continue;
            }
            tally.category(category_of(&record)).read += 1;
            self.handle(stores, tally, day, record, &mut deletions).await?;
        }
        if !deletions.is_empty() {
            self.ports.store.delete_all(&deletions).await?;
        }
        Ok(())
    }

    async fn handle(
        &self,
        stores: &Stores<'_>,
        tally: &mut Tally,
        day: Date,
        record: Record,
        deletions: &mut Vec<RecordKey>,
    ) -> Result<(), StoreError> {
        let mut current = record;
        for _ in 0..CONFLICT_ATTEMPTS {
            let category = category_of(&current);
            let decision = self.decide(stores, tally, day, &current).await?;
            // A request that expires unverified changes status: its report entry too.
            let mut report_entry = None;
            let write = match decision {
                Decision::Delete => {
                    deletions.push(current.key.clone());
                    tally.deleted += 1;
                    tally.category(category).deleted += 1;
                    return Ok(());
                }
                Decision::DueLaterToday => {
                    tally.due_later_today += 1;
                    return Ok(());
                }
                Decision::Held { until } => {
                    let recheck = tally.today.saturating_add(HELD_RECHECK_DAYS.days());
                    let due = utc_date(until).min(recheck);
                    if current.due == Some(due) {
                        tally.held += 1;
                        tally.category(category).held += 1;
                        return Ok(());
                    }
                    restamped(&current, Some(due))
                }
                Decision::Minimise { ref remove } => {
                    let mut minimised = current.clone();
                    for field in remove {
                        minimised.attributes.remove(field);
                    }
                    expire_unverified(&mut minimised, tally.now);
                    if minimised.attributes.get("status") != current.attributes.get("status") {
                        report_entry = entry_write_of_record(&minimised, self.ports.register);
                    }
                    let due = next_due_day(self.ports.register, &minimised);
                    restamped(&minimised, due)
                }
                Decision::Reschedule(due) => restamped(&current, due),
            };
            let mut writes = vec![Write::Put {
                record: write,
                precondition: Precondition::Version(current.version),
            }];
            writes.extend(report_entry);
            match self.ports.store.write(writes).await {
                Ok(()) => {
                    let counts = tally.category(category);
                    match decision {
                        Decision::Held { .. } => {
                            counts.held += 1;
                            tally.held += 1;
                        }
                        Decision::Minimise { .. } => {
                            counts.minimised += 1;
                            tally.minimised += 1;
                        }
                        _ => tally.rescheduled += 1,
                    }
                    return Ok(());
                }
                Err(StoreError::Conflict) => match stores.bookkeeping.get(&current.key).await? {
                    None => {
                        tally.already_gone += 1;
                        return Ok(());
                    }
                    // Someone else moved it meanwhile: it is where it belongs now.
                    Some(fresh) if fresh.due != Some(day) => return Ok(()),
                    Some(fresh) => current = fresh,
                },
                Err(error) => return Err(error),
            }
        }
        tracing::warn!(entity = %current.entity, %day, "a due record kept changing under the sweep; the next run retries it");
        tally.contended += 1;
        tally.blocked = true;
        Ok(())
    }

    async fn write_run_record(&self, run: &SweepRun) -> Result<(), StoreError> {
        let mut record = Record::new(
            RecordKey::new(
                SWEEP_PARTITION,
                format!("{RUN_SORT_PREFIX}{}#{}", run.started_at, run.run_id),
            ),
            entity::SWEEP_RUN,
        );
        record.set_body(run);
        let expires_at = whole_second(
            run.now
                .checked_add(SignedDuration::from_hours(24 * RUN_RECORD_RETENTION_DAYS))
                .unwrap_or(Timestamp::MAX),
        );
        record.expires_at = Some(expires_at);
        store::put(self.ports.store, record, Precondition::Absent).await
    }
}

struct Lease {
    checkpoint: SweepCheckpoint,
    version: u64,
}

/// What one run has counted so far.
struct Tally {
    now: Timestamp,
    today: Date,
    swept_from: Option<Date>,
    swept_through: Option<Date>,
    pages: u32,
    deleted: u64,
    minimised: u64,
    held: u64,
    already_gone: u64,
    rescheduled: u64,
    due_later_today: u64,
    contended: u64,
    categories: BTreeMap<String, CategoryCounts>,
    /// Holds in force per person, read once per run.
    holds: HashMap<SubjectKey, Vec<LegalHold>>,
    /// People whose processing is restricted, among those looked up.
    restricted: HashSet<SubjectKey>,
    /// Records already dealt with in this run (a held record moved to a later day is not counted twice).
    seen: HashSet<RecordKey>,
    /// A record could not be dealt with: the checkpoint does not move past its day.
    blocked: bool,
}

impl Tally {
    fn new(now: Timestamp) -> Self {
        Self {
            now,
            today: utc_date(now),
            swept_from: None,
            swept_through: None,
            pages: 0,
            deleted: 0,
            minimised: 0,
            held: 0,
            already_gone: 0,
            rescheduled: 0,
            due_later_today: 0,
            contended: 0,
            categories: BTreeMap::new(),
            holds: HashMap::new(),
            restricted: HashSet::new(),
            seen: HashSet::new(),
            blocked: false,
        }
    }

    fn category(&mut self, category: Option<CategoryId>) -> &mut CategoryCounts {
        self.categories.entry(category_name(category)).or_default()
    }
}

/// A category's id as the register writes it (`mail_log`), or `uncategorised`.
pub fn category_name(category: Option<CategoryId>) -> String {
    category
        .and_then(|id| serde_json::to_value(id).ok())
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| "uncategorised".to_owned())
}

fn utc_date(at: Timestamp) -> Date {
    at.to_zoned_datetime(TimeZone::UTC).date()
}

fn whole_second(at: Timestamp) -> Timestamp {
    let whole = at.as_second() + i64::from(at.subsec_nanosecond() > 0);
    Timestamp::from_second(whole).unwrap_or(Timestamp::MAX)
}

fn day_after(day: Date) -> Date {
    day.tomorrow().unwrap_or(day)
}

fn day_before(day: Date) -> Date {
    day.yesterday().unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use std::sync::atomic::Ordering;

    use async_trait::async_trait;

    use super::digest::days_left_phrase;
    use crate::dsr::{queue_key, QUEUE_PARTITION};
    use serde_json::json;

    use super::*;
    use crate::clock::Clock;
    use crate::store::memory::MemoryStore;
    use crate::store::RecordStore;
    use crate::testing::World;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn day(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn subject(n: u8) -> SubjectKey {
        SubjectKey::try_from(format!("{n:02x}").repeat(32)).unwrap()
    }

    fn team() -> PrivacyTeam {
        PrivacyTeam {
            address: EmailAddress::parse("to", "privacy-team@example.com").unwrap(),
            subject: subject(0xee),
        }
    }

    /// Everything a sweep needs, on the memory store, with the wall clock at `wall`.
    /// The test world and the team the digest goes to.
    struct Fixture {
        world: World,
        team: PrivacyTeam,
    }

    impl std::ops::Deref for Fixture {
        type Target = World;

        fn deref(&self) -> &World {
            &self.world
        }
    }

    impl Fixture {
        fn new(wall: &str) -> Self {
            Self::with_register(wall, Register::standard().unwrap())
        }

        fn with_register(wall: &str, register: Register) -> Self {
            Self {
                world: World::at(wall).with_register(register),
                team: team(),
            }
        }

        fn sweep(&self) -> RetentionSweep<'_> {
            self.world.sweep(&self.team)
        }

        fn sweep_on<'a>(&'a self, store: &'a dyn RecordStore) -> RetentionSweep<'a> {
            RetentionSweep {
                ports: self.ports().with_store(store),
                privacy_team: &self.team,
            }
        }

        /// A run judged at `now` with an hour of budget.
        async fn run(&self, now: Timestamp) -> SweepRun {
            self.run_limited(now, SweepLimits::default()).await
        }

        async fn run_limited(&self, now: Timestamp, limits: SweepLimits) -> SweepRun {
            let deadline = self.clock.now() + SignedDuration::from_hours(1);
            self.sweep().run_with_limits(now, deadline, limits).await.unwrap()
        }

        async fn put(&self, record: Record) {
            store::put(&self.store, record, Precondition::Absent).await.unwrap();
        }

        async fn set_checkpoint(&self, swept_through: &str) {
            let checkpoint = SweepCheckpoint::starting_after(day(swept_through), self.clock.now());
            store::put(&self.store, checkpoint.to_record(1), Precondition::None)
                .await
                .unwrap();
        }

        async fn exists(&self, key: &RecordKey) -> bool {
            self.store.get(key).await.unwrap().is_some()
        }

        async fn checkpoint(&self) -> SweepCheckpoint {
            let record = self.store.get(&SweepCheckpoint::key()).await.unwrap().unwrap();
            SweepCheckpoint::from_record(&record).unwrap()
        }

        /// Every record outside the sweep's own partition.
        fn data(&self) -> Vec<Record> {
            self.store
                .snapshot()
                .into_iter()
                .filter(|record| record.key.partition != SWEEP_PARTITION)
                .collect()
        }

        fn run_records(&self) -> Vec<Record> {
            self.store
                .snapshot()
                .into_iter()
                .filter(|record| record.entity == entity::SWEEP_RUN)
                .collect()
        }
    }

    /// A record with an explicit expiry (due on its UTC day).
    fn expiring(partition: &str, entity: &str, expires_at: &str) -> Record {
        let mut record = Record::new(RecordKey::new(partition, "ITEM"), entity);
        record.expires_at = Some(at(expires_at));
        record.due = Some(utc_date(at(expires_at)));
        record
    }

    /// A record of `category` whose retention started at `event_at`, stamped by the register.
    fn of_category(register: &Register, category: CategoryId, partition: &str, event_at: Timestamp) -> Record {
        let (entity, status) = match category {
            CategoryId::ConsentRecords => ("consent_receipt", None),
            CategoryId::NewsletterPending => ("newsletter_subscription", Some("pending")),
            CategoryId::NewsletterSubscribed => ("newsletter_subscription", Some("unsubscribed")),
            CategoryId::Suppression => ("suppression", None),
            CategoryId::RequestsUnverified => ("dsr_request", Some("awaiting_verification")),
            CategoryId::RequestsClosed => ("dsr_request", Some("completed")),
            CategoryId::MailLog => ("mail_log", None),
            CategoryId::Invoicing => ("legal_hold", None),
        };
        let mut record = Record::new(RecordKey::new(partition, "ITEM"), entity);
        record.subject = Some(subject(7));
        if let Some(status) = status {
            record.attributes.insert("status".into(), json!(status));
        }
        if category == CategoryId::Invoicing {
            record.attributes.insert("category".into(), json!("invoicing"));
        }
        register.stamp(&mut record, category, event_at);
        record
    }

    /// A closed request: expires three years after closing, due when its address and name go.
    fn closed_request(register: &Register, request_id: &str, closed_at: Timestamp) -> Record {
        let mut record = Record::new(RecordKey::new(format!("DSR#{request_id}"), "REQUEST"), "dsr_request");
        record.subject = Some(subject(9));
        record.set_body(&json!({
            "request_id": request_id,
            "type": "access",
            "status": "completed",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "received_at": "2026-01-10T09:00:00Z",
            "closed_at": closed_at,
            "due_on": "2026-02-10",
        }));
        register.stamp(&mut record, CategoryId::RequestsClosed, closed_at);
        record.due = next_due_day(register, &record);
        record
    }

    fn queue_entry(due_on: &str, request_id: &str, kind: &str, status: &str) -> Record {
        let mut record = Record::new(queue_key(day(due_on), request_id), "dsr_queue_entry");
        record.set_body(&json!({
            "request_id": request_id,
            "type": kind,
            "status": status,
            "due_on": due_on,
            "received_at": "2026-05-20T08:00:00Z",
        }));
        record
    }

    #[tokio::test]
    async fn deletes_what_expired_keeps_the_rest_and_reads_only_what_is_due() {
        let fixture = Fixture::new("2026-06-10T12:00:00Z");
        fixture.set_checkpoint("2026-05-31").await;
        let past = expiring("A", "mail_log", "2026-06-01T10:00:00Z");
        let earlier_today = expiring("B", "mail_log", "2026-06-10T11:00:00Z");
        let later_today = expiring("C", "mail_log", "2026-06-10T13:00:00Z");
        let future = expiring("D", "mail_log", "2026-06-20T10:00:00Z");
        let mut forever = Record::new(RecordKey::new("E", "ITEM"), "suppression");
        forever.subject = Some(subject(1));
        for record in [&past, &earlier_today, &later_today, &future, &forever] {
            fixture.put(record.clone()).await;
        }

        let run = fixture.run(at("2026-06-10T12:00:00Z")).await;
        assert_eq!(run.outcome, SweepOutcome::Completed);
        assert!(!fixture.exists(&past.key).await);
        assert!(!fixture.exists(&earlier_today.key).await);
        for kept in [&later_today, &future, &forever] {
            assert!(fixture.exists(&kept.key).await, "{:?}", kept.key);
        }
        assert_eq!((run.deleted, run.due_later_today), (2, 1));
        assert_eq!(run.reads.due_index, 3, "only the records due up to today were read");
        assert_eq!(run.reads.bookkeeping, 1, "the checkpoint");
        assert_eq!(run.items_read, 4);
        assert_eq!(run.swept_from, Some(day("2026-06-01")));
        assert_eq!(
            run.swept_through,
            Some(day("2026-06-09")),
            "today is never recorded as swept"
        );
        assert_eq!(run.categories["mail_log"].read, 3);
        assert_eq!(run.categories["mail_log"].deleted, 2);
        let checkpoint = fixture.checkpoint().await;
        assert_eq!(checkpoint.swept_through, day("2026-06-09"));
        assert_eq!((checkpoint.cursor, checkpoint.lease_run), (None, None));

        // Later the same day: only today's partition is read again.
        let run = fixture.run(at("2026-06-10T13:00:01Z")).await;
        assert!(!fixture.exists(&later_today.key).await);
        assert_eq!((run.deleted, run.reads.due_index), (1, 1));
        assert!(fixture.exists(&future.key).await);
    }

    #[tokio::test]
    async fn each_category_goes_exactly_when_the_register_says() {
        let fixture = Fixture::new("2026-12-01T00:00:00Z");
        let register = &fixture.register;
        // A day apart, so that no two categories share a boundary.
        let event_at = |n: usize| at("2027-02-15T10:30:00Z") + SignedDuration::from_hours(24 * n as i64);
        let mut boundaries = Vec::new();
        for (n, category) in CategoryId::ALL.into_iter().enumerate() {
            if category == CategoryId::RequestsClosed {
                continue; // below, with the fields it sheds
            }
            let record = of_category(register, category, &format!("R{n}"), event_at(n));
            boundaries.push((record.expires_at, record.key.clone(), category));
            fixture.put(record).await;
        }
        let closed = closed_request(register, "closed-1", event_at(5));
        boundaries.push((closed.expires_at, closed.key.clone(), CategoryId::RequestsClosed));
        fixture.put(closed).await;
        boundaries.sort_by_key(|(expires_at, _, _)| *expires_at);

        for (expires_at, key, category) in &boundaries {
            let Some(expires_at) = expires_at else {
                assert_eq!(*category, CategoryId::Suppression);
                continue;
            };
            fixture.run(*expires_at - SignedDuration::from_secs(1)).await;
            assert!(fixture.exists(key).await, "{category:?} is kept until {expires_at}");
            let run = fixture.run(*expires_at + SignedDuration::from_secs(1)).await;
            assert!(!fixture.exists(key).await, "{category:?} is gone after {expires_at}");
            assert_eq!(
                run.categories[&category_name(Some(*category))].deleted,
                1,
                "{category:?}"
            );
        }
        let expected: Vec<(CategoryId, &str)> = vec![
            (CategoryId::NewsletterPending, "2027-02-23T10:30:00Z"),
            (CategoryId::NewsletterSubscribed, "2027-03-19T10:30:00Z"),
            // 90 days on the Stockholm calendar: summer time began meanwhile.
            (CategoryId::MailLog, "2027-05-22T09:30:00Z"),
            // Minimised at 30 days, then kept 24 months (CCPA regulations § 7101).
            (CategoryId::RequestsUnverified, "2029-03-21T10:30:00Z"),
            (CategoryId::ConsentRecords, "2030-02-15T10:30:00Z"),
            (CategoryId::RequestsClosed, "2030-02-20T10:30:00Z"),
            // Fiscal year closed in 2027: kept through 2034, gone at midnight in Stockholm.
            (CategoryId::Invoicing, "2034-12-31T23:00:00Z"),
        ];
        for (category, expires) in expected {
            let found = boundaries.iter().find(|(_, _, c)| *c == category).unwrap();
            assert_eq!(found.0, Some(at(expires)), "{category:?}");
        }
        let suppression = boundaries
            .iter()
            .find(|(_, _, c)| *c == CategoryId::Suppression)
            .unwrap();
        assert!(
            fixture.exists(&suppression.1).await,
            "suppression entries are kept indefinitely"
        );
    }

    #[tokio::test]
    async fn closed_requests_lose_address_and_name_thirty_days_after_closing() {
        let fixture = Fixture::new("2026-12-01T00:00:00Z");
        let closed_at = at("2027-03-01T09:00:00Z");
        let request = closed_request(&fixture.register, "r-1", closed_at);
        assert_eq!(request.due, Some(day("2027-03-31")));
        fixture.put(request.clone()).await;

        fixture.run(at("2027-03-31T07:59:59Z")).await;
        let kept = fixture.store.get(&request.key).await.unwrap().unwrap();
        assert_eq!(kept.attributes["email"], json!("ada@example.com"), "not a second early");

        let run = fixture.run(at("2027-03-31T08:00:01Z")).await;
        assert_eq!((run.minimised, run.deleted), (1, 0));
        assert_eq!(run.categories["requests_closed"].minimised, 1);
        let minimised = fixture.store.get(&request.key).await.unwrap().unwrap();
        assert!(!minimised.attributes.contains_key("email"));
        assert!(!minimised.attributes.contains_key("name"));
        assert_eq!(minimised.attributes["type"], json!("access"), "the rest is kept");
        assert_eq!(minimised.expires_at, request.expires_at);
        assert_eq!(minimised.due, Some(day("2030-03-01")), "re-stamped to its expiry day");
        assert_eq!(minimised.version, request.version + 1);

        // Nothing more happens until it expires, then it goes.
        let run = fixture.run(at("2029-06-01T00:00:00Z")).await;
        assert_eq!((run.minimised, run.deleted, run.reads.due_index), (0, 0, 0));
        fixture.run(at("2030-03-01T09:00:01Z")).await;
        assert!(!fixture.exists(&request.key).await);
    }

    #[tokio::test]
    async fn a_changed_register_changes_what_the_sweep_does() {
        let mut document: Value = serde_json::from_str(include_str!("../../register.json")).unwrap();
        for category in document["categories"].as_array_mut().unwrap() {
            if category["id"] == "mail_log" {
                category["retention"]["period"] = json!("P10D");
            }
            if category["id"] == "requests_closed" {
                category["minimise"]["period"] = json!("P5D");
            }
        }
        let register = Register::from_json(&document.to_string()).unwrap();
        let fixture = Fixture::with_register("2026-12-01T00:00:00Z", register);
        let queued = at("2027-01-10T12:00:00Z");
        let log = of_category(&fixture.register, CategoryId::MailLog, "LOG", queued);
        assert_eq!(log.expires_at, Some(at("2027-01-20T12:00:00Z")));
        let request = closed_request(&fixture.register, "r-2", queued);
        assert_eq!(request.due, Some(day("2027-01-15")));
        fixture.put(log.clone()).await;
        fixture.put(request.clone()).await;

        fixture.run(at("2027-01-15T11:59:59Z")).await;
        assert!(fixture
            .store
            .get(&request.key)
            .await
            .unwrap()
            .unwrap()
            .attributes
            .contains_key("email"));
        fixture.run(at("2027-01-15T12:00:01Z")).await;
        assert!(!fixture
            .store
            .get(&request.key)
            .await
            .unwrap()
            .unwrap()
            .attributes
            .contains_key("email"));
        fixture.run(at("2027-01-20T11:59:59Z")).await;
        assert!(fixture.exists(&log.key).await);
        fixture.run(at("2027-01-20T12:00:01Z")).await;
        assert!(
            !fixture.exists(&log.key).await,
            "10 days, as the changed register says (not 90)"
        );
    }

    #[tokio::test]
    async fn a_hold_keeps_a_record_until_it_ends_and_only_for_its_category() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        let person = subject(7);
        let holds = fixture.ports().legal_holds();
        let hold_ends = at("2027-04-20T12:00:00Z");
        holds
            .place(
                &person,
                CategoryId::MailLog,
                hold_ends,
                "Bokföringslagen 7:2".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();
        holds
            .place(
                &person,
                CategoryId::ConsentRecords,
                at("2028-01-01T00:00:00Z"),
                "dispute".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();
        let mut held = expiring("HELD", "mail_log", "2027-02-01T10:00:00Z");
        held.subject = Some(person.clone());
        let mut other_person = expiring("FREE", "mail_log", "2027-02-01T10:00:00Z");
        other_person.subject = Some(subject(8));
        let mut other_category = expiring("OTHER", "newsletter_subscription", "2027-02-01T10:00:00Z");
        other_category.subject = Some(person.clone());
        other_category.attributes.insert("status".into(), json!("pending"));
        for record in [&held, &other_person, &other_category] {
            fixture.put(record.clone()).await;
        }
        fixture.set_checkpoint("2027-01-31").await;

        let run = fixture.run(at("2027-02-01T10:00:01Z")).await;
        assert!(fixture.exists(&held.key).await, "held");
        assert!(
            !fixture.exists(&other_person.key).await,
            "a hold covers its own person only"
        );
        assert!(
            !fixture.exists(&other_category.key).await,
            "a hold covers its own category only"
        );
        assert_eq!((run.held, run.deleted), (1, 2));
        assert_eq!(run.categories["mail_log"].held, 1);
        assert_eq!(
            run.reads.holds,
            4 + 1,
            "one subject-index query per person: 2 holds + 2 records, and 1 record"
        );
        let moved = fixture.store.get(&held.key).await.unwrap().unwrap();
        assert_eq!(moved.due, Some(day("2027-02-08")), "looked at again within a week");

        // Every week until the hold ends it stays; then it goes, with the hold itself.
        let run = fixture.run(at("2027-02-08T10:00:00Z")).await;
        assert_eq!(run.held, 1);
        fixture.run(at("2027-04-20T11:59:59Z")).await;
        assert!(fixture.exists(&held.key).await, "kept until the hold ends");
        let moved = fixture.store.get(&held.key).await.unwrap().unwrap();
        assert_eq!(moved.due, Some(day("2027-04-20")), "the week is cut to the hold's end");
        let run = fixture.run(at("2027-04-20T12:00:01Z")).await;
        assert!(!fixture.exists(&held.key).await, "gone once the hold has ended");
        assert_eq!(run.held, 0);
        assert!(
            fixture
                .data()
                .iter()
                .all(|record| record.entity != "legal_hold" || record.attributes["category"] != "mail_log"),
            "the ended hold is swept as well"
        );
    }

    #[tokio::test]
    async fn a_hold_blocks_minimisation_too() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        let request = closed_request(&fixture.register, "r-3", at("2027-03-01T09:00:00Z"));
        fixture
            .ports()
            .legal_holds()
            .place(
                &subject(9),
                CategoryId::RequestsClosed,
                at("2027-05-01T00:00:00Z"),
                "litigation".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();
        fixture.put(request.clone()).await;
        let run = fixture.run(at("2027-03-31T09:00:00Z")).await;
        assert_eq!((run.held, run.minimised), (1, 0));
        assert!(fixture
            .store
            .get(&request.key)
            .await
            .unwrap()
            .unwrap()
            .attributes
            .contains_key("email"));
        fixture.run(at("2027-05-01T00:00:01Z")).await;
        let after = fixture.store.get(&request.key).await.unwrap().unwrap();
        assert!(
            !after.attributes.contains_key("email"),
            "minimised once the hold has ended"
        );
    }

    #[tokio::test]
    async fn a_restricted_persons_expired_records_are_kept_while_restricted() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        let restricted = subject(7);
        // Written past the hold-aware store (as before restrictions re-stamped records): still due.
        let mut kept = expiring("LOG#restricted", "mail_log", "2027-02-01T10:00:00Z");
        kept.subject = Some(restricted.clone());
        let mut gone = expiring("LOG#free", "mail_log", "2027-02-01T10:00:00Z");
        gone.subject = Some(subject(8));
        let mut restriction = Record::new(
            crate::holds::keeping::restriction_key(&restricted),
            entity::PROCESSING_RESTRICTION,
        );
        restriction.subject = Some(restricted.clone());
        for record in [kept.clone(), gone.clone(), restriction.clone()] {
            fixture.put(record).await;
        }
        fixture.set_checkpoint("2027-01-31").await;

        let run = fixture.run(at("2027-02-02T12:00:00Z")).await;
        assert!(
            fixture.exists(&kept.key).await,
            "not deleted while restricted (Art. 18(1)(b)-(c))"
        );
        assert!(!fixture.exists(&gone.key).await, "everyone else's is");
        assert_eq!((run.deleted, run.held), (1, 1));
        let moved = fixture.store.get(&kept.key).await.unwrap().unwrap();
        assert_eq!(moved.due, Some(day("2027-02-09")), "looked at again within a week");

        // Once the restriction is lifted, the next look deletes it.
        fixture.store.delete_all(&[restriction.key]).await.unwrap();
        fixture.run(at("2027-02-09T12:00:00Z")).await;
        assert!(!fixture.exists(&kept.key).await);
    }

    /// Records with the random hold ids made equal.
    fn comparable(records: Vec<Record>) -> Vec<Record> {
        records
            .into_iter()
            .map(|mut record| {
                if record.entity == entity::LEGAL_HOLD {
                    record.key.partition = "HOLD#*".to_owned();
                    record.attributes.remove("hold_id");
                }
                if let Some(Value::Array(holds)) = record.attributes.get_mut("holds") {
                    for hold in holds.iter_mut().filter_map(Value::as_object_mut) {
                        hold.remove("hold_id");
                    }
                }
                record
            })
            .collect()
    }

    /// 250 mail logs due over two days, some held, some minimisable, some not due yet.
    /// The hold is placed first and the logs written past the hold-aware store, as
    /// records stamped before holds re-stamped them were: the sweep still keeps them.
    async fn mixed_fixture(fixture: &Fixture) {
        fixture
            .ports()
            .legal_holds()
            .place(
                &subject(3),
                CategoryId::MailLog,
                at("2027-03-01T00:00:00Z"),
                "audit".to_owned(),
                "team-member-1",
            )
            .await
            .unwrap();
        for n in 0..250u32 {
            let dayn = if n < 140 { "2027-02-01" } else { "2027-02-02" };
            let mut record = expiring(
                &format!("LOG#{n:03}"),
                "mail_log",
                &format!("{dayn}T0{}:00:00Z", n % 10),
            );
            record.subject = Some(subject((n % 5) as u8));
            fixture.put(record).await;
        }
        fixture
            .put(closed_request(&fixture.register, "r-4", at("2027-01-02T10:00:00Z")))
            .await;
        fixture.put(expiring("LATER", "mail_log", "2027-02-03T23:00:00Z")).await;
        fixture.set_checkpoint("2027-01-31").await;
    }

    #[tokio::test]
    async fn a_run_cut_short_and_resumed_ends_like_an_uninterrupted_run() {
        let now = at("2027-02-03T12:00:00Z");
        let whole = Fixture::new("2027-01-01T00:00:00Z");
        mixed_fixture(&whole).await;
        let run = whole.run(now).await;
        assert_eq!(run.outcome, SweepOutcome::Completed);
        assert_eq!((run.deleted, run.held, run.minimised), (200, 50, 1));

        let cut = Fixture::new("2027-01-01T00:00:00Z");
        mixed_fixture(&cut).await;
        let first = cut
            .run_limited(
                now,
                SweepLimits {
                    max_pages: Some(1),
                    ..SweepLimits::default()
                },
            )
            .await;
        assert_eq!(first.outcome, SweepOutcome::StoppedAtPageLimit);
        assert_eq!(first.pages, 1);
        assert_eq!(first.reads.due_index, 100);
        let checkpoint = cut.checkpoint().await;
        assert_eq!(checkpoint.swept_through, day("2027-01-31"));
        assert!(checkpoint.cursor.is_some(), "the cursor into 2027-02-01 is kept");
        assert_eq!(checkpoint.lease_run, None, "the lease is released");
        let second = cut.run(now).await;
        assert_eq!(second.outcome, SweepOutcome::Completed);
        assert_eq!(first.deleted + second.deleted, 200);
        assert_eq!(first.held + second.held, 50);
        assert_eq!(
            comparable(cut.data()),
            comparable(whole.data()),
            "the same table either way"
        );
        assert_eq!(
            cut.checkpoint().await.swept_through,
            whole.checkpoint().await.swept_through
        );
    }

    #[tokio::test]
    async fn a_second_run_at_the_same_time_sweeps_nothing() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        mixed_fixture(&fixture).await;
        let before = fixture.data();
        // A run is under way: it holds the lease until its deadline.
        let mut checkpoint = fixture.checkpoint().await;
        checkpoint.lease_run = Some(Uuid::new_v4());
        checkpoint.lease_until = Some(at("2027-01-01T00:05:00Z"));
        store::put(&fixture.store, checkpoint.to_record(2), Precondition::None)
            .await
            .unwrap();

        let run = fixture.run(at("2027-02-03T12:00:00Z")).await;
        assert_eq!(run.outcome, SweepOutcome::AnotherRunInProgress);
        assert_eq!((run.deleted, run.reads.due_index, run.pages), (0, 0, 0));
        assert_eq!(fixture.data(), before);
        assert_eq!(fixture.run_records().len(), 1, "it still records its run");

        // Once that run's lease has run out (it died), the next run takes over.
        fixture.clock.set(at("2027-01-01T00:05:01Z"));
        let run = fixture.run(at("2027-02-03T12:00:00Z")).await;
        assert_eq!(run.outcome, SweepOutcome::Completed);
        assert_eq!(run.deleted, 200);
    }

    #[tokio::test]
    async fn a_run_that_loses_its_checkpoint_stops_without_overwriting_it() {
        /// A store on which another run rewrites the checkpoint after the first page.
        struct Interfering<'a> {
            inner: &'a MemoryStore,
            pages: std::sync::atomic::AtomicU32,
        }
        #[async_trait]
        impl RecordStore for Interfering<'_> {
            async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
                self.inner.get(key).await
            }
            async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
                self.inner.write(writes).await
            }
            async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
                let page = self.inner.query(query, limit, cursor).await?;
                if matches!(query, Query::DueOn(_)) && self.pages.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut record = self.inner.get(&SweepCheckpoint::key()).await?.unwrap();
                    record.version += 10;
                    self.inner
                        .write(vec![Write::Put {
                            record,
                            precondition: Precondition::None,
                        }])
                        .await?;
                }
                Ok(page)
            }
            async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
                self.inner.delete_all(keys).await
            }
        }
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        mixed_fixture(&fixture).await;
        let store = Interfering {
            inner: &fixture.store,
            pages: std::sync::atomic::AtomicU32::new(0),
        };
        let deadline = fixture.clock.now() + SignedDuration::from_hours(1);
        let run = fixture
            .sweep_on(&store)
            .run(at("2027-02-03T12:00:00Z"), deadline)
            .await
            .unwrap();
        assert_eq!(run.outcome, SweepOutcome::LostLease);
        assert_eq!(
            run.pages, 1,
            "it stopped after the page during which it lost the checkpoint"
        );
    }

    #[tokio::test]
    async fn a_run_past_its_deadline_sweeps_nothing_and_keeps_its_place() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        mixed_fixture(&fixture).await;
        let before = fixture.data();
        let deadline = fixture.clock.now();
        let run = fixture.sweep().run(at("2027-02-03T12:00:00Z"), deadline).await.unwrap();
        assert_eq!(run.outcome, SweepOutcome::StoppedAtDeadline);
        assert_eq!((run.pages, run.deleted), (0, 0));
        assert_eq!(fixture.data(), before);
        assert_eq!(fixture.checkpoint().await.swept_through, day("2027-01-31"));
    }

    #[tokio::test]
    async fn a_record_that_keeps_changing_holds_the_checkpoint_back() {
        /// Another writer changes the closed request just before each of the sweep's writes.
        struct Busy<'a> {
            inner: &'a MemoryStore,
        }
        #[async_trait]
        impl RecordStore for Busy<'_> {
            async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
                self.inner.get(key).await
            }
            async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
                if let [Write::Put { record, .. }] = writes.as_slice() {
                    if record.entity == "dsr_request" {
                        let mut other = self.inner.get(&record.key).await?.unwrap();
                        other.version += 1;
                        store::put(self.inner, other, Precondition::None).await?;
                    }
                }
                self.inner.write(writes).await
            }
            async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
                self.inner.query(query, limit, cursor).await
            }
            async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
                self.inner.delete_all(keys).await
            }
        }
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        fixture.set_checkpoint("2027-03-29").await;
        let request = closed_request(&fixture.register, "busy", at("2027-03-01T09:00:00Z"));
        fixture.put(request.clone()).await;
        let later = expiring("LATER", "mail_log", "2027-04-01T01:00:00Z");
        fixture.put(later.clone()).await;
        let store = Busy { inner: &fixture.store };
        let deadline = fixture.clock.now() + SignedDuration::from_hours(1);
        let run = fixture
            .sweep_on(&store)
            .run(at("2027-04-02T12:00:00Z"), deadline)
            .await
            .unwrap();
        assert_eq!((run.contended, run.minimised), (1, 0));
        assert_eq!(run.deleted, 1, "later days are still swept");
        assert!(!fixture.exists(&later.key).await);
        assert_eq!(
            fixture.checkpoint().await.swept_through,
            day("2027-03-30"),
            "the checkpoint stays before the day of the record it could not deal with"
        );
        // Once the other writer is done, the next run deals with it.
        let run = fixture.run(at("2027-04-02T13:00:00Z")).await;
        assert_eq!((run.contended, run.minimised), (0, 1));
        assert_eq!(fixture.checkpoint().await.swept_through, day("2027-04-01"));
    }

    #[tokio::test]
    async fn records_already_gone_are_done() {
        /// A due index that still lists records the table no longer has (TTL, erasure).
        struct StaleIndex<'a> {
            inner: &'a MemoryStore,
            ghosts: Vec<Record>,
        }
        #[async_trait]
        impl RecordStore for StaleIndex<'_> {
            async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
                self.inner.get(key).await
            }
            async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
                self.inner.write(writes).await
            }
            async fn query(&self, query: &Query, limit: usize, cursor: Option<Cursor>) -> Result<Page, StoreError> {
                let mut page = self.inner.query(query, limit, cursor.clone()).await?;
                if let (Query::DueOn(day), None) = (query, cursor) {
                    page.records
                        .extend(self.ghosts.iter().filter(|ghost| ghost.due == Some(*day)).cloned());
                }
                Ok(page)
            }
            async fn delete_all(&self, keys: &[RecordKey]) -> Result<(), StoreError> {
                self.inner.delete_all(keys).await
            }
        }
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        fixture.set_checkpoint("2027-03-30").await;
        let expired_ghost = expiring("GONE1", "mail_log", "2027-03-31T01:00:00Z");
        let minimisable_ghost = closed_request(&fixture.register, "gone-2", at("2027-03-01T09:00:00Z"));
        let store = StaleIndex {
            inner: &fixture.store,
            ghosts: vec![expired_ghost, minimisable_ghost],
        };
        let deadline = fixture.clock.now() + SignedDuration::from_hours(1);
        let run = fixture
            .sweep_on(&store)
            .run(at("2027-03-31T12:00:00Z"), deadline)
            .await
            .unwrap();
        assert_eq!(run.outcome, SweepOutcome::Completed);
        assert_eq!(run.already_gone, 1, "the conditional minimisation found it gone");
        assert_eq!(run.minimised, 0);
        assert!(fixture.data().is_empty(), "nothing was resurrected");
    }

    #[tokio::test]
    async fn the_first_run_starts_at_the_first_day() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        let first = expiring("FIRST", "mail_log", "2026-01-01T05:00:00Z");
        fixture.put(first.clone()).await;
        let run = fixture.run(at("2026-03-01T00:00:00Z")).await;
        assert_eq!(run.swept_from, Some(FIRST_DAY));
        assert_eq!(run.swept_through, Some(day("2026-02-28")));
        assert!(!fixture.exists(&first.key).await);
        assert_eq!(run.pages, 60, "one query per day, 1 January to 1 March");
        assert_eq!(fixture.checkpoint().await.swept_through, day("2026-02-28"));
    }

    #[tokio::test]
    async fn the_digest_lists_open_requests_due_within_a_week_soonest_first_once_a_day() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        fixture.set_checkpoint("2027-03-09").await;
        for entry in [
            queue_entry("2027-03-01", "req-old-done", "access", "completed"),
            queue_entry("2027-03-08", "req-overdue", "erasure", "awaiting_team"),
            queue_entry("2027-03-10", "req-today", "access", "in_progress"),
            queue_entry("2027-03-12", "req-rejected", "access", "rejected"),
            queue_entry("2027-03-13", "req-b", "ccpa_know", "verified"),
            queue_entry("2027-03-13", "req-a", "portability", "awaiting_verification"),
            queue_entry("2027-03-14", "req-expired", "access", "expired"),
            queue_entry("2027-03-17", "req-horizon", "rectification", "verified"),
            queue_entry("2027-03-18", "req-too-late", "access", "verified"),
        ] {
            fixture.put(entry).await;
        }
        // An entry written before the queue was sharded, in its single partition.
        let mut legacy = queue_entry("2027-03-16", "req-legacy", "access", "in_progress");
        legacy.key.partition = QUEUE_PARTITION.to_owned();
        fixture.put(legacy).await;
        // 23:30 UTC on 9 March is 10 March in Stockholm.
        let now = at("2027-03-09T23:30:00Z");
        let run = fixture.run(now).await;
        assert_eq!(run.digest.status, DigestStatus::Sent);
        assert_eq!((run.digest.entries, run.digest.overdue), (5, 1));
        let mails = fixture.mailer.sent_to(&team().address);
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert!(
            mail.subject.contains("5 due within 7 days, 1 overdue"),
            "{}",
            mail.subject
        );
        let listed: Vec<&str> = mail
            .text
            .lines()
            .filter_map(|line| line.split("request ").nth(1))
            .collect();
        // Never an unverified or expired request (entries an earlier version wrote at intake).
        assert_eq!(
            listed,
            ["req-overdue", "req-today", "req-b", "req-legacy", "req-horizon"]
        );
        let line = |id: &str| mail.text.lines().find(|line| line.ends_with(id)).unwrap().to_owned();
        assert!(
            line("req-overdue").contains("2 days overdue"),
            "{}",
            line("req-overdue")
        );
        assert!(line("req-today").contains("due today"));
        assert!(line("req-b").contains("3 days left"));
        assert!(line("req-horizon").contains("7 days left"));
        assert!(mail.html.contains("<td>req-overdue</td>"));
        assert!(!mail.text.contains("req-too-late") && !mail.text.contains("req-rejected"));
        assert!(!mail.text.contains("req-a") && !mail.text.contains("req-expired"));

        // One digest a day, however many runs.
        let again = fixture.run(now + SignedDuration::from_hours(3)).await;
        assert_eq!(again.digest.status, DigestStatus::AlreadySent);
        assert_eq!(fixture.mailer.sent_to(&team().address).len(), 1);
        let next_day = fixture.run(at("2027-03-11T06:00:00Z")).await;
        assert_eq!(next_day.digest.status, DigestStatus::Sent);
        assert_eq!(fixture.mailer.sent_to(&team().address).len(), 2);
    }

    #[tokio::test]
    async fn the_digest_shows_dates_on_the_controllers_calendar() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        fixture.set_checkpoint("2027-03-01").await;
        let mut entry = queue_entry("2027-03-02", "req-late-evening", "access", "verified");
        // Received at 00:30 on 2 February in Stockholm (23:30 UTC on 1 February).
        entry
            .attributes
            .insert("received_at".into(), json!("2027-02-01T23:30:00Z"));
        fixture.put(entry).await;
        // 23:30 UTC on 1 March is 2 March in Stockholm: the request is due today, not tomorrow.
        fixture.run(at("2027-03-01T23:30:00Z")).await;
        let mails = fixture.mailer.sent_to(&team().address);
        let mail = mails.first().expect("a digest");
        assert!(mail.subject.contains("(2027-03-02)"), "{}", mail.subject);
        assert!(
            mail.text.contains("as of 2027-03-02 (Europe/Stockholm)"),
            "{}",
            mail.text
        );
        let line = mail
            .text
            .lines()
            .find(|line| line.ends_with("req-late-evening"))
            .unwrap();
        assert!(line.contains("due today"), "{line}");
        assert!(line.contains("received 2027-02-02"), "{line}");
        assert!(mail.html.contains("<td>2027-02-02</td>"), "{}", mail.html);
    }

    #[tokio::test]
    async fn no_digest_when_nothing_is_due() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        fixture.set_checkpoint("2027-03-09").await;
        fixture
            .put(queue_entry("2027-03-08", "req-done", "access", "completed"))
            .await;
        fixture
            .put(queue_entry("2027-04-30", "req-later", "access", "verified"))
            .await;
        let run = fixture.run(at("2027-03-10T06:00:00Z")).await;
        assert_eq!(run.digest, DigestReport::default());
        assert!(fixture.mailer.sent().is_empty());
        assert_eq!(
            run.reads.queue, 2,
            "the queue is read up to the first entry past the horizon"
        );
    }

    #[tokio::test]
    async fn a_digest_that_could_not_be_sent_at_once_is_retried() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        fixture.set_checkpoint("2027-03-09").await;
        fixture
            .put(queue_entry("2027-03-12", "req-1", "access", "verified"))
            .await;
        // The first attempt and the same run's outbox retry both fail.
        fixture.mailer.fail_next(2);
        let run = fixture.run(at("2027-03-10T06:00:00Z")).await;
        assert_eq!(run.digest.status, DigestStatus::Queued);
        assert_eq!((run.outbox.sent, run.outbox.still_queued), (0, 1));
        assert!(fixture.mailer.sent().is_empty());
        fixture.clock.advance(SignedDuration::from_mins(3));
        let run = fixture.run(at("2027-03-10T06:03:00Z")).await;
        assert_eq!(run.digest.status, DigestStatus::AlreadySent);
        assert_eq!(run.outbox.sent, 1);
        assert_eq!(run.reads.outbox, 1);
        assert_eq!(fixture.mailer.sent_to(&team().address).len(), 1);
    }

    #[tokio::test]
    async fn the_run_record_holds_counts_and_no_personal_data() {
        let fixture = Fixture::new("2027-01-01T00:00:00Z");
        fixture.set_checkpoint("2027-03-30").await;
        fixture
            .put(closed_request(&fixture.register, "r-9", at("2027-03-01T09:00:00Z")))
            .await;
        fixture.put(expiring("LOG", "mail_log", "2027-03-31T01:00:00Z")).await;
        let run = fixture.run(at("2027-03-31T12:00:00Z")).await;
        let records = fixture.run_records();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert!(record.key.sort.starts_with(&format!("RUN#{}#", run.started_at)));
        assert_eq!(record.expires_at, Some(at("2028-05-04T12:00:00Z")), "400 days");
        assert_eq!(
            record.due, None,
            "TTL removes it: no personal data, so its lag does no harm"
        );
        let text = serde_json::to_string(&record.attributes).unwrap();
        assert!(!text.contains("ada@example.com") && !text.contains("Ada"), "{text}");
        assert_eq!(record.attributes["deleted"], json!(1));
        assert_eq!(record.attributes["minimised"], json!(1));
        assert_eq!(record.attributes["items_read"], json!(run.items_read));
        assert_eq!(
            record.attributes["categories"]["requests_closed"]["minimised"],
            json!(1)
        );
        assert_eq!(record.attributes["outcome"], json!("completed"));
    }

    #[test]
    fn days_left_reads_naturally() {
        assert_eq!(days_left_phrase(3), "3 days left");
        assert_eq!(days_left_phrase(1), "1 day left");
        assert_eq!(days_left_phrase(0), "due today");
        assert_eq!(days_left_phrase(-1), "1 day overdue");
        assert_eq!(days_left_phrase(-4), "4 days overdue");
    }

    #[test]
    fn overdue_tasks_of_other_systems_head_the_digest() {
        use crate::dsr::queue::DueRequest;
        use crate::dsr::tasks::{TaskKind, TaskStatus, TaskSummary};
        let world = World::at("2027-04-05T09:00:00Z");
        let task = TaskSummary {
            task_id: "8c1c2f3e-1111-4a4a-9b9b-0123456789ab.crm".to_owned(),
            system: "crm".to_owned(),
            kind: TaskKind::Act,
            status: TaskStatus::Sent,
            due_on: day("2027-04-03"),
            reason: None,
        };
        let entry = |id: &str, overdue_tasks: Vec<TaskSummary>| DueRequest {
            request_id: id.to_owned(),
            request_type: "erasure".to_owned(),
            status: "in_progress".to_owned(),
            due_on: day("2027-04-10"),
            received_on: Some(day("2027-03-10")),
            days_left: 5,
            overdue_tasks,
        };
        let entries = [entry("first", Vec::new()), entry("second", vec![task])];
        let mail = super::digest::digest_mail(&world.team, day("2027-04-05"), &world.register, &entries);
        let tasks_at = mail
            .text
            .find("Overdue tasks of other systems")
            .expect("the tasks' section");
        let task_at = mail
            .text
            .find("task 8c1c2f3e-1111-4a4a-9b9b-0123456789ab.crm  system crm  sent  due 2027-04-03")
            .expect("the task");
        let requests_at = mail.text.find("- 2027-04-10").unwrap();
        assert!(tasks_at < task_at && task_at < requests_at, "{}", mail.text);
        assert!(mail.html.starts_with("<p>Overdue tasks of other systems"));
        let none = super::digest::digest_mail(&world.team, day("2027-04-05"), &world.register, &entries[..1]);
        assert!(!none.text.contains("Overdue tasks"));
    }
}
