//! Scheduled (daily): deletes what the register says has expired and no
//! legal hold keeps, removes the fields it says to shed, mails the privacy
//! team the requests falling due, retries failed mail and records the run.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let function = privacy_lambda::sweep::sweep_from_env().await?;
    privacy_lambda::sweep::serve_retention_sweep(function).await
}
