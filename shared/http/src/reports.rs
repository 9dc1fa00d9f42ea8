//! SPEC 10: the privacy team's reports and the proof of consent. Behind the
//! same authoriser as every `/admin` route (`lib.rs` answers 401/403 first).

use crate::consent::{consent_error, consent_id};
use crate::{ApiError, ApiRequest, ApiResponse, App, PathParams};

/// `GET /admin/consent/{consent_id}/proof`: every receipt, the checkpoint
/// and the verdict of verifying the hash chain.
pub async fn consent_proof(app: &App, params: &PathParams, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let consent_id = consent_id(params)?;
    let proof = app
        .ports()
        .consent_ledger()
        .proof(consent_id)
        .await
        .map_err(consent_error)?;
    let principal = request
        .principal
        .as_ref()
        .map_or("", |principal| principal.sub.as_str());
    tracing::info!(
        principal,
        intact = proof.verification.intact,
        receipts = proof.receipts.len(),
        "proof of consent read by the privacy team"
    );
    Ok(ApiResponse::json(200, &proof))
}
