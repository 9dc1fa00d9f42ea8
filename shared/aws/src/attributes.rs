//! JSON values to DynamoDB attribute values and back.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

pub fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(flag) => AttributeValue::Bool(*flag),
        Value::Number(number) => AttributeValue::N(number.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attribute).collect()),
        Value::Object(fields) => AttributeValue::M(to_attribute_map(fields)),
    }
}

pub fn to_attribute_map(fields: &Map<String, Value>) -> HashMap<String, AttributeValue> {
    fields
        .iter()
        .map(|(name, value)| (name.clone(), to_attribute(value)))
        .collect()
}

/// The JSON value of an attribute; `None` for the types the product never
/// writes (sets and binary).
pub fn from_attribute(attribute: &AttributeValue) -> Option<Value> {
    Some(match attribute {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(flag) => Value::Bool(*flag),
        AttributeValue::N(text) => Value::Number(parse_number(text)?),
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::L(items) => Value::Array(items.iter().map(from_attribute).collect::<Option<_>>()?),
        AttributeValue::M(fields) => Value::Object(from_attribute_map(fields)?),
        _ => return None,
    })
}

pub fn from_attribute_map(fields: &HashMap<String, AttributeValue>) -> Option<Map<String, Value>> {
    fields
        .iter()
        .map(|(name, attribute)| Some((name.clone(), from_attribute(attribute)?)))
        .collect()
}

fn parse_number(text: &str) -> Option<Number> {
    if let Ok(integer) = text.parse::<i64>() {
        return Some(integer.into());
    }
    if let Ok(integer) = text.parse::<u64>() {
        return Some(integer.into());
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_attributes() {
        let value = serde_json::json!({
            "text": "hej", "empty": "", "count": 42, "big": u64::MAX, "negative": -7, "ratio": 0.5,
            "flag": true, "nothing": null, "list": [1, "two", {"three": 3}], "nested": {"a": {"b": []}}
        });
        let Value::Object(fields) = &value else { unreachable!() };
        assert_eq!(
            Value::Object(from_attribute_map(&to_attribute_map(fields)).unwrap()),
            value
        );
    }

    #[test]
    fn sets_and_binary_are_not_json() {
        assert_eq!(from_attribute(&AttributeValue::Ss(vec!["a".into()])), None);
    }
}
