//! The error body every failure answers with:
//! `{"error": {"code", "message", "field"}}`.

use privacy_domain::FieldError;
use serde_json::json;

use crate::message::ApiResponse;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same error, naming the request field it is about.
    pub fn on_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// A failure of ours. What went wrong is logged (without personal data);
    /// the client learns only that it was not its fault.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            500,
            "internal_error",
            "Something went wrong on our side. Please try again later.",
        )
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self {
            status: 400,
            code: error.code,
            message: error.message,
            field: error.field,
        }
    }
}

impl From<ApiError> for ApiResponse {
    fn from(error: ApiError) -> Self {
        let body = json!({
            "error": { "code": error.code, "message": error.message, "field": error.field }
        });
        ApiResponse::json(error.status, &body)
    }
}
