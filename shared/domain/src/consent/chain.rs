//! Verifying a consent id's hash chain of receipts.

use super::{ConsentCheckpoint, ConsentReceipt, ConsentState};

/// Where a chain of receipts fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("receipt {sequence} was altered: its digest does not match its content")]
    Altered { sequence: u64 },
    #[error("receipt {sequence} is missing")]
    Missing { sequence: u64 },
    #[error("receipt {sequence} does not link to the receipt before it")]
    Unlinked { sequence: u64 },
    #[error("the latest state does not point at the last receipt")]
    Tail,
}

/// Checks a consent id's receipts, oldest first, against each other, the
/// checkpoint the oldest ones were folded into, and the latest state.
///
/// Receipts older than the register's retention are deleted, so without a
/// (live) checkpoint the chain is checked from the oldest receipt still held;
/// with one, the first receipt held must be the one right after the
/// checkpoint and link to the digest it carries. From there on, any altered,
/// removed or reordered receipt is found.
pub fn verify_chain(
    state: &ConsentState,
    checkpoint: Option<&ConsentCheckpoint>,
    receipts: &[ConsentReceipt],
) -> Result<(), ChainBreak> {
    let mut previous: Option<(u64, &str)> = checkpoint.map(|c| (c.through_sequence, c.last_receipt_sha256.as_str()));
    for receipt in receipts {
        if receipt.digest() != receipt.receipt_sha256 {
            return Err(ChainBreak::Altered {
                sequence: receipt.sequence,
            });
        }
        match previous {
            None if receipt.sequence == 1 && receipt.previous_receipt_sha256.is_some() => {
                return Err(ChainBreak::Unlinked { sequence: 1 });
            }
            None => {}
            Some((sequence, digest)) => {
                if receipt.sequence != sequence + 1 {
                    return Err(ChainBreak::Missing { sequence: sequence + 1 });
                }
                if receipt.previous_receipt_sha256.as_deref() != Some(digest) {
                    return Err(ChainBreak::Unlinked {
                        sequence: receipt.sequence,
                    });
                }
            }
        }
        previous = Some((receipt.sequence, receipt.receipt_sha256.as_str()));
    }
    match previous {
        Some((sequence, digest)) if sequence == state.sequence && digest == state.last_receipt_sha256 => Ok(()),
        Some((sequence, _)) if sequence < state.sequence => Err(ChainBreak::Missing { sequence: sequence + 1 }),
        _ => Err(ChainBreak::Tail),
    }
}
