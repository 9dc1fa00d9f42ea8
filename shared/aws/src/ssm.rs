//! Secrets from SecureString SSM parameters, read in one `GetParameters`
//! call at start-up (up to ten names: a function needs three at most).

use std::collections::HashMap;

use aws_sdk_ssm::error::ProvideErrorMetadata;

/// Why the parameters could not be read: the error code, or the names SSM
/// does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParameterError {
    #[error("{0}")]
    Call(String),
    #[error("no such parameter: {0}")]
    Invalid(String),
}

/// The decrypted values of `names` (duplicates read once), by name.
pub async fn get_parameters(
    client: &aws_sdk_ssm::Client,
    names: &[String],
) -> Result<HashMap<String, String>, ParameterError> {
    let mut unique: Vec<String> = names.to_vec();
    unique.sort();
    unique.dedup();
    if unique.is_empty() {
        return Ok(HashMap::new());
    }
    let output = client
        .get_parameters()
        .set_names(Some(unique))
        .with_decryption(true)
        .send()
        .await
        .map_err(|error| ParameterError::Call(error.code().unwrap_or("no error code").to_owned()))?;
    if let Some(invalid) = output.invalid_parameters().first() {
        return Err(ParameterError::Invalid(invalid.clone()));
    }
    Ok(output
        .parameters()
        .iter()
        .filter_map(|parameter| Some((parameter.name()?.to_owned(), parameter.value()?.to_owned())))
        .collect())
}
