//! openapi.yaml read back for tests: its routes, its operations, and a small
//! JSON Schema validator for the subset of JSON Schema the document uses, so
//! that the handlers' real answers can be checked against what it promises.

use std::collections::BTreeSet;

use serde_json::Value;

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
        "text/csv" => {
            check_csv(media, body).map_err(|error| format!("{method} {path} {status}: {error}\nbody: {body}"))
        }
        other => Err(format!("{method} {path} {status}: no check for {other}")),
    }
}

/// RFC 4180 as the API writes it (no quoted fields): CRLF after every
/// record, every record as many fields as the header, and the header the
/// documented example's first line when there is one.
fn check_csv(media: &Value, body: &str) -> Result<(), String> {
    let records = body
        .strip_suffix("\r\n")
        .ok_or("the last record does not end with CRLF")?;
    let rows: Vec<&str> = records.split("\r\n").collect();
    if rows.iter().any(|row| row.contains('\n') || row.contains('\r')) {
        return Err("a bare line break".to_owned());
    }
    let width = rows[0].split(',').count();
    if let Some(row) = rows.iter().find(|row| row.split(',').count() != width) {
        return Err(format!("a record of another width than the header: {row}"));
    }
    if let Some(example) = media.get("example").and_then(Value::as_str) {
        let documented = example.lines().next().unwrap_or_default();
        if documented != rows[0] {
            return Err(format!("the header is not the documented one: {documented}"));
        }
    }
    Ok(())
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

/// Validates `instance` against `schema` (JSON Schema 2020-12, as OpenAPI
/// 3.1 writes it, with `format` asserted and `pattern` checked), resolving
/// `$ref`s into the document's `components`.
pub fn validate(document: &Value, schema: &Value, instance: &Value) -> Result<(), String> {
    let root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document.get("components").cloned().unwrap_or(Value::Null),
        "allOf": [schema],
    });
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .map_err(|error| format!("the schema does not compile: {error}"))?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
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
        let either = json!({"anyOf": [{"type": "string"}, {"const": 1}]});
        assert!(validate(&document, &either, &json!(1)).is_ok());
        assert!(validate(&document, &either, &json!(2)).is_err());
        let patterned = json!({"type": "string", "pattern": "^[a-z]+$"});
        assert!(validate(&document, &patterned, &json!("abc")).is_ok());
        assert!(
            validate(&document, &patterned, &json!("ABC")).is_err(),
            "a pattern is checked"
        );
    }
}
