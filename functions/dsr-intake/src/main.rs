//! Data subject requests (SPEC 3.3): `POST /dsr`, `GET /dsr/verify?token=` (the page) and
//! `POST /dsr/verify` (its button), `GET /dsr/{id}?token=`; and the register of processing (SPEC 3.4):
//! `GET /privacy/register`; the systems of record's signed answers (SPEC 8): `POST /systems/tasks/{task_id}`.

use privacy_http::Area;
use privacy_lambda::Needs;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let app = privacy_lambda::app_from_env(Needs {
        pepper: true,
        token_key: true,
        mail: true,
        systems: true,
    })
    .await?;
    privacy_lambda::serve_http(app, &[Area::Requests, Area::Register, Area::Systems]).await
}
