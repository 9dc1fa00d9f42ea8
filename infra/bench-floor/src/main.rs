//! The floor infra/bench measures the functions against (SPEC 11): the
//! smallest function that answers after one DynamoDB round trip. The SDK is
//! configured from the environment like the functions' (`AWS_ENDPOINT_URL`).

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let table = std::env::var("TABLE_NAME")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let (client, table) = (&client, table.as_str());
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let item = client
            .get_item()
            .table_name(table)
            .key("PK", AttributeValue::S("FLOOR".to_owned()))
            .key("SK", AttributeValue::S("FLOOR".to_owned()))
            .send()
            .await?;
        Ok::<_, lambda_runtime::Error>(json!({"statusCode": 200, "body": item.item.is_some().to_string()}))
    }))
    .await
}
