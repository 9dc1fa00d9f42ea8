//! One-click unsubscribe (SPEC 3.2, RFC 8058): `GET /newsletter/unsubscribe?token=`
//! shows a button and changes nothing; `POST` unsubscribes and suppresses.

use privacy_http::Area;
use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        pepper: false,
        token_key: true,
        mail: false,
        systems: false,
    })
    .await?;
    privacy_lambda::serve_http(app, &[Area::Unsubscribe]).await
}
