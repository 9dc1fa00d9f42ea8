//! The audience index: a confirmed subscription carries the key
//! `AUDIENCE#<list>#<shard>` (the sparse `audience` GSI), and loses it when
//! it ends, so that an issue's planner reads exactly a list's confirmed
//! readers by Query, shard by shard, and never Scans.
//!
//! The shard is the first hex digit of the subject key: sign-ups spread
//! over [`AUDIENCE_SHARDS`] index partitions, none of them hot.

use super::{ListId, Subscription, SubscriptionStatus};
use crate::subject::SubjectKey;

/// How many index partitions a list's audience is spread over.
pub const AUDIENCE_SHARDS: u8 = 16;

/// The shard of a person's subscriptions: the first hex digit of the subject key.
pub fn audience_shard(subject: &SubjectKey) -> u8 {
    subject
        .as_str()
        .chars()
        .next()
        .and_then(|digit| digit.to_digit(16))
        .and_then(|digit| u8::try_from(digit).ok())
        .unwrap_or(0)
        % AUDIENCE_SHARDS
}

/// The audience key of one shard of a list.
pub fn audience_key(list: &ListId, shard: u8) -> String {
    format!("AUDIENCE#{}#{shard:02}", list.as_str())
}

/// The audience key a subscription record carries: only a confirmed one has it.
pub fn audience_of(subject: &SubjectKey, subscription: &Subscription) -> Option<String> {
    (subscription.status == SubscriptionStatus::Confirmed)
        .then(|| audience_key(&subscription.list, audience_shard(subject)))
}
