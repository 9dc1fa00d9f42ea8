//! Cookie consent capture (SPEC 3.1): `POST /consent`, `GET /consent/{id}`,
//! `GET /consent/{id}/receipts`, `DELETE /consent/{id}`.

use privacy_http::Area;
use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        pepper: false,
        token_key: false,
        mail: false,
        systems: false,
    })
    .await?;
    privacy_lambda::serve_http(app, &[Area::Consent]).await
}
