//! The DynamoDB/SES emulator (moto in server mode) the tests run against.
//!
//! `infra/test` starts moto on a free loopback port and exports
//! `AWS_ENDPOINT_URL`; every test gets its own table, created from the table
//! resource in template.yaml so that tests and deployment share one schema.

use std::path::PathBuf;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;

/// The emulator's endpoint. Refuses to run against anything but loopback, so a
/// test can never touch a real AWS account.
pub fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: these tests need the DynamoDB/SES emulator; run them with `infra/test`")
    });
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL must point at the local emulator, not {endpoint}"
    );
    endpoint
}

/// The environment a Lambda binary needs to reach the emulator.
pub fn lambda_environment(table: &str) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL".to_owned(), endpoint()),
        ("AWS_REGION".to_owned(), "eu-north-1".to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "test".to_owned()),
        ("TABLE_NAME".to_owned(), table.to_owned()),
        ("RUST_LOG".to_owned(), "info".to_owned()),
    ]
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("eu-north-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config().await)
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// The `Properties` of the `AWS::DynamoDB::Table` resource in template.yaml.
pub fn table_properties() -> Value {
    let path = workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let template: Value = serde_yaml::from_str(&text).expect("template.yaml is YAML");
    let resources = template["Resources"].as_mapping().expect("template.yaml has Resources");
    let tables: Vec<&Value> = resources
        .values()
        .filter(|resource| resource["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .collect();
    assert_eq!(tables.len(), 1, "the design is a single table");
    tables[0]["Properties"].clone()
}

fn text(value: &Value, what: &str) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is a plain string in template.yaml"))
        .to_owned()
}

fn key_schema(value: &Value) -> Vec<KeySchemaElement> {
    value
        .as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .map(|element| {
            KeySchemaElement::builder()
                .attribute_name(text(&element["AttributeName"], "AttributeName"))
                .key_type(KeyType::from(text(&element["KeyType"], "KeyType").as_str()))
                .build()
                .expect("a key schema element")
        })
        .collect()
}

/// Creates a fresh table with the schema of template.yaml and returns its name.
pub async fn create_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = format!("privacy-test-{}", uuid::Uuid::new_v4().simple());
    create_table_named(client, &name)
        .await
        .unwrap_or_else(|error| panic!("create the test table in the emulator: {error}"));
    name
}

/// Creates the table `name` with the schema of template.yaml: its attributes,
/// keys, global secondary indexes, billing mode and TTL attribute.
pub async fn create_table_named(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), String> {
    use aws_sdk_dynamodb::error::DisplayErrorContext;
    let properties = table_properties();
    let attributes = properties["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions is a list")
        .iter()
        .map(|definition| {
            AttributeDefinition::builder()
                .attribute_name(text(&definition["AttributeName"], "AttributeName"))
                .attribute_type(ScalarAttributeType::from(
                    text(&definition["AttributeType"], "AttributeType").as_str(),
                ))
                .build()
                .expect("an attribute definition")
        })
        .collect();
    let indexes = properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("GlobalSecondaryIndexes is a list")
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(text(&index["IndexName"], "IndexName"))
                .set_key_schema(Some(key_schema(&index["KeySchema"])))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            text(&index["Projection"]["ProjectionType"], "ProjectionType").as_str(),
                        ))
                        .build(),
                )
                .build()
                .expect("a global secondary index")
        })
        .collect();
    assert_eq!(text(&properties["BillingMode"], "BillingMode"), "PAY_PER_REQUEST");
    client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&properties["KeySchema"])))
        .set_global_secondary_indexes(Some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|error| format!("create table {name}: {}", DisplayErrorContext(&error)))?;
    let ttl_attribute = text(
        &properties["TimeToLiveSpecification"]["AttributeName"],
        "TimeToLiveSpecification.AttributeName",
    );
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(ttl_attribute)
                .enabled(true)
                .build()
                .expect("a TTL specification"),
        )
        .send()
        .await
        .map_err(|error| format!("enable TTL on {name}: {}", DisplayErrorContext(&error)))?;
    Ok(())
}

/// An item as text, its maps (nested too) in attribute-name order.
fn canonical_item(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    fn value(attribute: &AttributeValue) -> String {
        match attribute {
            AttributeValue::M(map) => canonical_item(map),
            AttributeValue::L(list) => format!("[{}]", list.iter().map(value).collect::<Vec<_>>().join(", ")),
            other => format!("{other:?}"),
        }
    }
    let sorted: std::collections::BTreeMap<&String, String> =
        item.iter().map(|(name, attribute)| (name, value(attribute))).collect();
    format!("{sorted:?}")
}

/// Every item of a table, as text per item with its attributes in name
/// order (for "is this anywhere?" checks and before/after comparisons).
pub async fn scan_text(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the test table");
        items.extend(
            output
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|item| canonical_item(&item)),
        );
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return items,
        }
    }
}

/// Moves the expiry of the token record a link points at into the past, as
/// if its time had run out before TTL deleted it.
/// Empties the record of verification mails sent to `address`, as if the
/// pacing window (one link mail per 10 minutes, 5 per day) had passed: for
/// tests that file several requests for one address in a few seconds.
pub async fn forget_link_mails(table: &str, address: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let subject = crate::newsletter::subject_of(address);
    let result = dynamodb()
        .await
        .update_item()
        .table_name(table)
        .key("PK", AttributeValue::S(format!("DSR_INTAKE#{}", subject.as_str())))
        .key("SK", AttributeValue::S("LIMITS".into()))
        .update_expression("SET verification_mails = :none")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
        .send()
        .await;
    if let Err(error) = result {
        let conditional = error
            .as_service_error()
            .is_some_and(|error| error.is_conditional_check_failed_exception());
        assert!(conditional, "forget the link mails: {error:?}");
    }
}

pub async fn expire_token(table: &str, token: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let digest = privacy_domain::tokens::token_digest(token);
    dynamodb()
        .await
        .update_item()
        .table_name(table)
        .key("PK", AttributeValue::S(format!("TOKEN#{digest}")))
        .key("SK", AttributeValue::S("TOKEN".into()))
        .update_expression("SET expires_at = :past")
        .expression_attribute_values(":past", AttributeValue::N("1700000000".into()))
        .send()
        .await
        .expect("expire the token record");
}
