//! Proof of consent: every receipt a consent id holds, the checkpoint the
//! oldest were folded into, and the verdict of verifying the hash chain, for
//! an auditor or a dispute (GDPR Art. 7(1)).

use serde::Serialize;

use super::{
    linked_consent_ids, verify_chain, ChainBreak, ConsentCheckpoint, ConsentError, ConsentId, ConsentLedger,
    ConsentReceipt, ConsentState,
};
use crate::store::{self, Query};
use crate::subject::SubjectKey;

/// What verifying a chain found, in the words an auditor reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainVerdict {
    /// Whether every receipt held is unaltered, none is missing, each links
    /// to the one before it (or to the checkpoint) and the latest state
    /// points at the last one.
    pub intact: bool,
    /// What breaks the chain: `altered`, `missing`, `unlinked` or `tail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<&'static str>,
    /// The sequence of the receipt that breaks it (absent for `tail`: the
    /// latest state does not point at the last receipt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<u64>,
    /// The verdict as a sentence.
    pub message: String,
}

impl ChainVerdict {
    pub fn of(result: &Result<(), ChainBreak>) -> Self {
        match result {
            Ok(()) => Self {
                intact: true,
                problem: None,
                broken_at: None,
                message: "Every receipt is intact and linked to the one before it.".to_owned(),
            },
            Err(broken) => {
                let (problem, broken_at) = match broken {
                    ChainBreak::Altered { sequence } => ("altered", Some(*sequence)),
                    ChainBreak::Missing { sequence } => ("missing", Some(*sequence)),
                    ChainBreak::Unlinked { sequence } => ("unlinked", Some(*sequence)),
                    ChainBreak::Tail => ("tail", None),
                };
                Self {
                    intact: false,
                    problem: Some(problem),
                    broken_at,
                    message: broken.to_string(),
                }
            }
        }
    }
}

/// A consent id's proof: what is held and whether it verifies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentProof {
    pub consent_id: ConsentId,
    /// The latest state the chain must end on.
    pub state: ConsentState,
    /// Where the receipts kept one by one start, when older ones were folded.
    pub checkpoint: Option<ConsentCheckpoint>,
    /// Every live receipt kept one by one, oldest first.
    pub receipts: Vec<ConsentReceipt>,
    pub verification: ChainVerdict,
}

impl ConsentLedger<'_> {
    /// The proof of a consent id: its state, checkpoint and every receipt
    /// (bounded: at most [`super::RECEIPTS_KEPT`] and what an older history
    /// held before the cap), verified against each other.
    pub async fn proof(&self, consent_id: ConsentId) -> Result<ConsentProof, ConsentError> {
        let state = self.current(consent_id).await?;
        let checkpoint = self.checkpoint(consent_id).await?;
        let receipts = self.receipts(consent_id).await?;
        let verification = ChainVerdict::of(&verify_chain(&state, checkpoint.as_ref(), &receipts));
        Ok(ConsentProof {
            consent_id,
            state,
            checkpoint,
            receipts,
            verification,
        })
    }

    /// The proofs of every consent history linked to a person (when they
    /// confirmed a sign-up or verified a request with its consent id), in
    /// the order of the ids. A linked history that no longer exists (erased,
    /// or expired with its retention) has no proof and is left out.
    pub async fn proofs_of_person(&self, subject: &SubjectKey) -> Result<Vec<ConsentProof>, ConsentError> {
        let now = self.clock.now();
        let indexed: Vec<_> = store::query_all(self.store, &Query::Subject(subject.clone()))
            .await?
            .into_iter()
            .filter(|record| !record.is_expired(now))
            .collect();
        let mut proofs = Vec::new();
        for consent_id in linked_consent_ids(&indexed) {
            match self.proof(consent_id).await {
                Ok(proof) => proofs.push(proof),
                Err(ConsentError::NotFound) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(proofs)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{receipt_key, Categories, ClientContext, ConsentDecision, ConsentSource, PolicyVersion};
    use super::*;
    use crate::store::{Precondition, RecordStore, Write};
    use crate::testing::World;

    fn decision(analytics: bool, consent_id: Option<ConsentId>) -> ConsentDecision {
        ConsentDecision {
            consent_id,
            policy_version: PolicyVersion::parse("policy_version", "2026-01").unwrap(),
            categories: Categories::chosen(analytics, false),
            source: ConsentSource::Banner,
            language: None,
            notice_sha256: None,
        }
    }

    #[tokio::test]
    async fn an_untouched_chain_proves_intact_with_every_receipt() {
        let world = World::at("2026-05-01T08:00:00Z");
        let ledger = world.ports().consent_ledger();
        let client = ClientContext::default();
        let first = ledger.record(decision(true, None), &client).await.unwrap();
        ledger
            .record(decision(false, Some(first.consent_id)), &client)
            .await
            .unwrap();
        ledger.withdraw(first.consent_id, &client).await.unwrap();
        let proof = ledger.proof(first.consent_id).await.unwrap();
        assert_eq!(proof.receipts.len(), 3);
        assert_eq!(proof.state.sequence, 3);
        assert!(proof.verification.intact);
        assert_eq!(proof.verification.broken_at, None);
    }

    #[tokio::test]
    async fn an_altered_or_removed_receipt_is_named() {
        let world = World::at("2026-05-01T08:00:00Z");
        let ledger = world.ports().consent_ledger();
        let client = ClientContext::default();
        let first = ledger.record(decision(true, None), &client).await.unwrap();
        let id = first.consent_id;
        for analytics in [false, true] {
            ledger.record(decision(analytics, Some(id)), &client).await.unwrap();
        }
        // Someone flips the choice on the second receipt.
        let mut second = world.store.get(&receipt_key(&id, 2)).await.unwrap().unwrap();
        second.attributes["categories"]["analytics"] = serde_json::json!(true);
        world
            .store
            .write(vec![Write::Put {
                record: second,
                precondition: Precondition::None,
            }])
            .await
            .unwrap();
        let proof = ledger.proof(id).await.unwrap();
        assert_eq!(
            (
                proof.verification.intact,
                proof.verification.problem,
                proof.verification.broken_at
            ),
            (false, Some("altered"), Some(2))
        );
        // Someone removes it instead.
        world.store.delete_all(&[receipt_key(&id, 2)]).await.unwrap();
        let proof = ledger.proof(id).await.unwrap();
        assert_eq!(proof.receipts.len(), 2);
        assert_eq!(
            (proof.verification.problem, proof.verification.broken_at),
            (Some("missing"), Some(2))
        );
    }

    #[tokio::test]
    async fn a_persons_proofs_are_those_of_the_histories_linked_to_them_and_no_other() {
        let world = World::at("2026-05-01T08:00:00Z");
        let ledger = world.ports().consent_ledger();
        let client = ClientContext::default();
        let ada = world.subject_of("ada@example.com");
        let mut linked = Vec::new();
        for analytics in [true, false] {
            let recorded = ledger.record(decision(analytics, None), &client).await.unwrap();
            ledger.link_subject(recorded.consent_id, &ada).await.unwrap();
            linked.push(recorded.consent_id);
        }
        // Someone else's history, and one linked to nobody.
        let other = ledger.record(decision(true, None), &client).await.unwrap();
        ledger
            .link_subject(other.consent_id, &world.subject_of("bo@example.com"))
            .await
            .unwrap();
        ledger.record(decision(true, None), &client).await.unwrap();

        let proofs = ledger.proofs_of_person(&ada).await.unwrap();
        let mut proven: Vec<ConsentId> = proofs.iter().map(|proof| proof.consent_id).collect();
        proven.sort_by_key(|id| id.0);
        linked.sort_by_key(|id| id.0);
        assert_eq!(proven, linked);
        assert!(proofs
            .iter()
            .all(|proof| proof.verification.intact && proof.receipts.len() == 1));
        let nobody = world.subject_of("nobody@example.com");
        assert!(ledger.proofs_of_person(&nobody).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unknown_consent_id_has_no_proof() {
        let world = World::at("2026-05-01T08:00:00Z");
        let ledger = world.ports().consent_ledger();
        assert!(matches!(
            ledger.proof(ConsentId::generate()).await,
            Err(ConsentError::NotFound)
        ));
    }
}
