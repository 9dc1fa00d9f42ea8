//! The recipient queue on SQS: the planner's batches of readers, one message
//! each (subject keys only, no address), sent ten to a `SendMessageBatch`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;
use privacy_domain::newsletter::issues::{QueueError, RecipientBatch, RecipientQueue};

/// SQS takes at most ten messages per `SendMessageBatch`.
const MESSAGES_PER_CALL: usize = 10;
const ATTEMPTS: u32 = 6;

#[derive(Debug, Clone)]
pub struct SqsRecipientQueue {
    client: Client,
    queue_url: String,
}

impl SqsRecipientQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl RecipientQueue for SqsRecipientQueue {
    async fn enqueue(&self, batches: Vec<RecipientBatch>) -> Result<(), QueueError> {
        for chunk in batches.chunks(MESSAGES_PER_CALL) {
            let mut entries = chunk
                .iter()
                .enumerate()
                .map(|(index, batch)| {
                    let body = serde_json::to_string(batch).map_err(|error| QueueError(error.to_string()))?;
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|error| QueueError(error.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut attempt = 0;
            while !entries.is_empty() {
                if attempt == ATTEMPTS {
                    return Err(QueueError("SQS left messages unsent".to_owned()));
                }
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                attempt += 1;
                let output = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(entries.clone()))
                    .send()
                    .await
                    .map_err(|error| QueueError(format!("SQS: {}", error.code().unwrap_or("no error code"))))?;
                let failed: Vec<String> = output.failed.iter().map(|entry| entry.id.clone()).collect();
                entries.retain(|entry| failed.contains(&entry.id));
            }
        }
        Ok(())
    }
}
