//! The privacy team's API (SPEC 4), behind API Gateway's JWT authoriser:
//! the request queue, decisions, legal holds, customer subscriptions.

use privacy_http::Area;
use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        pepper: true,
        token_key: true,
        mail: true,
        systems: false,
    })
    .await?;
    privacy_lambda::serve_http(app, &[Area::Admin]).await
}
