//! Newsletter double opt-in (SPEC 3.2): `POST /newsletter/subscribe` (JSON or
//! a plain form), `GET /newsletter/confirm?token=` (the page) and `POST /newsletter/confirm` (its button).

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
    privacy_lambda::serve_http(app, &[Area::Newsletter]).await
}
