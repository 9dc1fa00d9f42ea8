//! openapi.yaml read back for tests: its routes, its operations, and a small
//! JSON Schema validator for the subset of JSON Schema the document uses, so
//! that the handlers' real answers can be checked against what it promises.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::aws::workspace_root;

/// The HTTP methods an OpenAPI path item may hold as operations.
const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// openapi.yaml as JSON (every key in it is a string: status codes are quoted).
pub fn document() -> Value {
    let path = workspace_root().join("openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|error| panic!("openapi.yaml is YAML with string keys: {error}"))
}

/// One operation: upper-case method, path template, and its object.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub operation: Value,
    /// Parameters declared on the path item (shared by its operations).
    pub path_item_parameters: Vec<Value>,
}

pub fn operations(document: &Value) -> Vec<Operation> {
    let paths = document["paths"].as_object().expect("openapi.yaml has paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().unwrap_or_else(|| panic!("paths.{path} is an object"));
        for (key, operation) in item {
            if METHODS.contains(&key.as_str()) {
                operations.push(Operation {
                    method: key.to_ascii_uppercase(),
                    path: path.clone(),
                    operation: operation.clone(),
                    path_item_parameters: item
                        .get("parameters")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                });
            }
        }
    }
    operations
}

/// `(METHOD, /path)` of every operation.
pub fn routes() -> BTreeSet<(String, String)> {
    operations(&document())
        .into_iter()
        .map(|operation| (operation.method, operation.path))
        .collect()
}

/// Follows `$ref`s (`#/components/...` only) until a non-reference object.
pub fn resolve<'a>(document: &'a Value, mut value: &'a Value) -> Result<&'a Value, String> {
    for _ in 0..16 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return Ok(value);
        };
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("only local references are supported: {reference}"))?;
        value = document
            .pointer(pointer)
            .ok_or_else(|| format!("{reference} does not resolve"))?;
    }
    Err("a reference cycle".to_owned())
}

/// Every `$ref` anywhere in `value` (to check that they all resolve).
pub fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => found.push(reference.clone()),
                    _ => references(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// The operation at `method path`.
pub fn operation<'a>(document: &'a Value, method: &str, path: &str) -> Result<&'a Value, String> {
    let operation = &document["paths"][path][method.to_ascii_lowercase()];
    if operation.is_null() {
        return Err(format!("openapi.yaml has no {method} {path}"));
    }
    Ok(operation)
}

/// Checks an answer against the operation's documented responses: the status
/// must be documented, the media type one of its contents, and the body valid
/// against that content's schema (JSON) or an HTML document (text/html). A
/// response documented without content must have an empty body.
pub fn check_response(
    document: &Value,
    method: &str,
    path: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), String> {
    let operation = operation(document, method, path)?;
    let response = operation["responses"]
        .get(status.to_string())
        .ok_or_else(|| format!("{method} {path}: status {status} is not documented"))?;
    let response = resolve(document, response)?;
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return if body.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{method} {path} {status}: documented without a body, answered {body}"
            ))
        };
    };
    let media_type = content_type
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .ok_or_else(|| format!("{method} {path} {status}: answered without content-type"))?;
    let media = content.get(&media_type).ok_or_else(|| {
        format!(
            "{method} {path} {status}: answered {media_type}, documented {:?}",
            content.keys().collect::<Vec<_>>()
        )
    })?;
    match media_type.as_str() {
        "application/json" => {
            let instance: Value = serde_json::from_str(body)
                .map_err(|error| format!("{method} {path} {status}: the body is not JSON ({error}): {body}"))?;
            validate(document, &media["schema"], &instance)
                .map_err(|error| format!("{method} {path} {status}: {error}\nbody: {body}"))
        }
        "text/html" if body.starts_with("<!doctype html>") => Ok(()),
        "text/html" => Err(format!("{method} {path} {status}: not an HTML document: {body}")),
        other => Err(format!("{method} {path} {status}: no check for {other}")),
    }
}

/// Checks a request body against the operation's documented request body.
/// Form bodies are given as their fields (every value a string).
pub fn check_request(document: &Value, method: &str, path: &str, media_type: &str, body: &Value) -> Result<(), String> {
    let operation = operation(document, method, path)?;
    let request_body = resolve(document, &operation["requestBody"])?;
    let schema = request_body["content"]
        .get(media_type)
        .map(|media| &media["schema"])
        .ok_or_else(|| format!("{method} {path}: no request body of type {media_type} is documented"))?;
    validate(document, schema, body).map_err(|error| format!("{method} {path} request ({media_type}): {error}"))
}

/// Validates `instance` against `schema`. Supported: `$ref`, `type` (one or a
/// list), `properties`, `required`, `additionalProperties`, `items`, `enum`,
/// `const`, `oneOf`, `minLength`, `maxLength`, `minimum`, and `format`
/// (`date-time`, `date`, `uuid`, `email`, `uri`). `pattern` and annotations
/// are not checked. Any other keyword is an error, so the document cannot
/// promise something this validator silently ignores.
pub fn validate(document: &Value, schema: &Value, instance: &Value) -> Result<(), String> {
    validate_at(document, schema, instance, "$")
}

const ANNOTATIONS: &[&str] = &["description", "examples", "default", "title", "pattern", "$comment"];

fn validate_at(document: &Value, schema: &Value, instance: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(document, schema)?;
    let Some(keywords) = schema.as_object() else {
        return match schema {
            Value::Bool(true) => Ok(()),
            Value::Bool(false) => Err(format!("{at}: nothing is allowed here")),
            other => Err(format!("{at}: a schema must be an object, not {other}")),
        };
    };
    for keyword in keywords.keys() {
        let supported = [
            "type",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "enum",
            "const",
            "oneOf",
            "minLength",
            "maxLength",
            "minimum",
            "format",
        ];
        if !supported.contains(&keyword.as_str()) && !ANNOTATIONS.contains(&keyword.as_str()) {
            return Err(format!(
                "{at}: the schema keyword `{keyword}` is not supported by this validator"
            ));
        }
    }
    if let Some(types) = keywords.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            other => return Err(format!("{at}: `type` is {other}")),
        };
        if !allowed.iter().any(|kind| has_type(instance, kind)) {
            return Err(format!("{at}: expected {allowed:?}, got {instance}"));
        }
    }
    if let Some(options) = keywords.get("enum").and_then(Value::as_array) {
        if !options.contains(instance) {
            return Err(format!("{at}: {instance} is not one of {options:?}"));
        }
    }
    if let Some(constant) = keywords.get("const") {
        if constant != instance {
            return Err(format!("{at}: expected {constant}, got {instance}"));
        }
    }
    if let Some(alternatives) = keywords.get("oneOf").and_then(Value::as_array) {
        let failures: Vec<String> = alternatives
            .iter()
            .filter_map(|alternative| validate_at(document, alternative, instance, at).err())
            .collect();
        let matched = alternatives.len() - failures.len();
        if matched != 1 {
            return Err(format!(
                "{at}: matches {matched} of the oneOf alternatives, not exactly one ({})",
                failures.join("; ")
            ));
        }
    }
    if let Value::String(text) = instance {
        let length = text.chars().count();
        if let Some(min) = keywords.get("minLength").and_then(Value::as_u64) {
            if (length as u64) < min {
                return Err(format!("{at}: shorter than {min} characters"));
            }
        }
        if let Some(max) = keywords.get("maxLength").and_then(Value::as_u64) {
            if length as u64 > max {
                return Err(format!("{at}: longer than {max} characters"));
            }
        }
        if let Some(format) = keywords.get("format").and_then(Value::as_str) {
            check_format(format, text).map_err(|problem| format!("{at}: {text:?} {problem}"))?;
        }
    }
    if let (Some(minimum), Some(number)) = (keywords.get("minimum").and_then(Value::as_f64), instance.as_f64()) {
        if number < minimum {
            return Err(format!("{at}: {number} is below {minimum}"));
        }
    }
    if let Value::Array(items) = instance {
        if let Some(item_schema) = keywords.get("items") {
            for (index, item) in items.iter().enumerate() {
                validate_at(document, item_schema, item, &format!("{at}[{index}]"))?;
            }
        }
    }
    if let Value::Object(fields) = instance {
        check_object(document, keywords, fields, at)?;
    }
    Ok(())
}

fn check_object(
    document: &Value,
    keywords: &Map<String, Value>,
    fields: &Map<String, Value>,
    at: &str,
) -> Result<(), String> {
    for required in keywords.get("required").and_then(Value::as_array).into_iter().flatten() {
        let name = required.as_str().unwrap_or_default();
        if !fields.contains_key(name) {
            return Err(format!("{at}: the required field `{name}` is missing"));
        }
    }
    let properties = keywords.get("properties").and_then(Value::as_object);
    for (name, value) in fields {
        let at = format!("{at}.{name}");
        match (
            properties.and_then(|properties| properties.get(name)),
            keywords.get("additionalProperties"),
        ) {
            (Some(property), _) => validate_at(document, property, value, &at)?,
            (None, Some(Value::Bool(false))) => return Err(format!("{at}: not a documented field")),
            (None, Some(additional)) => validate_at(document, additional, value, &at)?,
            (None, None) => {}
        }
    }
    Ok(())
}

fn has_type(instance: &Value, kind: &str) -> bool {
    match kind {
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "string" => instance.is_string(),
        "boolean" => instance.is_boolean(),
        "null" => instance.is_null(),
        "number" => instance.is_number(),
        "integer" => instance.is_i64() || instance.is_u64(),
        _ => false,
    }
}

fn check_format(format: &str, text: &str) -> Result<(), &'static str> {
    let valid = match format {
        "date-time" => text.parse::<jiff::Timestamp>().is_ok(),
        "date" => text.parse::<jiff::civil::Date>().is_ok() && text.len() == 10,
        "uuid" => uuid::Uuid::try_parse(text).is_ok(),
        "email" => text
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')),
        "uri" => text.starts_with("https://") || text.starts_with("http://"),
        _ => return Err("has a format this validator does not know"),
    };
    if valid {
        Ok(())
    } else {
        Err("does not match the documented format")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_validator_refuses_what_the_schema_does_not_allow() {
        let document = json!({"components": {"schemas": {"Id": {"type": "string", "format": "uuid"}}}});
        let schema = json!({
            "type": "object", "required": ["id"], "additionalProperties": false,
            "properties": {
                "id": {"$ref": "#/components/schemas/Id"},
                "note": {"type": ["string", "null"], "maxLength": 3},
                "kind": {"enum": ["a", "b"]},
                "list": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
            }
        });
        let id = "3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05";
        assert!(validate(&document, &schema, &json!({"id": id, "note": null, "list": [0, 1]})).is_ok());
        for bad in [
            json!({}),
            json!({"id": "x"}),
            json!({"id": id, "extra": 1}),
            json!({"id": id, "note": "long"}),
            json!({"id": id, "kind": "c"}),
            json!({"id": id, "list": [-1]}),
            json!({"id": id, "either": true}),
        ] {
            assert!(validate(&document, &schema, &bad).is_err(), "{bad} should fail");
        }
        assert!(validate(&document, &json!({"anyOf": []}), &json!(1)).is_err());
    }
}
