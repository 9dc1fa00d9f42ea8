//! Reading fields out of a JSON object or form body, naming the field on error.

use privacy_domain::FieldError;
use serde_json::{Map, Value};

pub fn optional_text<'a>(body: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, FieldError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(FieldError::invalid(
            field,
            format!("The field `{field}` must be a string."),
        )),
    }
}

pub fn required_text<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, FieldError> {
    optional_text(body, field)?.ok_or_else(|| FieldError::missing(field))
}

/// Refuses the first field not in `known` (JSON bodies only: a typo must not
/// silently drop a value).
pub fn refuse_unknown(body: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), FieldError> {
    match body.keys().find(|name| !known.contains(&name.as_str())) {
        Some(unknown) => {
            let name: String = unknown.chars().take(64).collect();
            Err(FieldError::new(
                name,
                "unknown_field",
                format!("This field is not part of {what}."),
            ))
        }
        None => Ok(()),
    }
}
