//! Newsletter issues, in process: what the planner's schedule and the
//! sender's queue do in AWS. After each POST and every 15 seconds (for
//! issues whose `send_at` comes later), due issues are planned into an
//! in-memory queue and its batches sent at once; the mails land in the
//! file outbox like every other mail.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use privacy_domain::newsletter::issues::planner::IssuePlanner;
use privacy_domain::newsletter::issues::sender::{IssueSender, Pacer};
use privacy_domain::newsletter::issues::MemoryQueue;
use privacy_domain::newsletter::Links;
use privacy_http::App;

static QUEUE: LazyLock<MemoryQueue> = LazyLock::new(MemoryQueue::new);
/// Locally, mail goes to files: no rate to keep.
static PACER: LazyLock<Pacer> = LazyLock::new(|| Pacer::new(Duration::ZERO));
/// One run at a time: a run takes what the previous one left.
static RUN: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

/// How often scheduled issues are looked at.
pub const TICK: Duration = Duration::from_secs(15);

/// Plans the due issues and sends every queued batch.
pub async fn run(app: &App) {
    let _running = RUN.lock().await;
    let deadline = app.clock.now() + jiff::SignedDuration::from_secs(60);
    let planner = IssuePlanner {
        ports: app.ports(),
        queue: &*QUEUE,
    };
    if let Err(error) = planner.plan_due(deadline).await {
        tracing::error!(%error, "planning newsletter issues failed; the next run retries");
    }
    let Some(token_key) = app.token_key.as_ref() else {
        return;
    };
    let links = Links::new(&app.settings.public_base_url);
    let sender = IssueSender {
        ports: app.ports(),
        token_key,
        links: &links,
        pacer: &PACER,
    };
    for batch in QUEUE.take_all() {
        if let Err(error) = sender.send_batch(&batch, deadline).await {
            tracing::warn!(%error, "a batch of an issue failed; it is queued again");
            let _ = privacy_domain::newsletter::issues::RecipientQueue::enqueue(&*QUEUE, vec![batch]).await;
        }
    }
}

/// Runs [`run`] every [`TICK`] for issues whose time comes later.
pub fn spawn_ticker(app: Arc<App>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        loop {
            interval.tick().await;
            run(&app).await;
        }
    });
}
