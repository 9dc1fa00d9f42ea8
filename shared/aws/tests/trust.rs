//! The SDK clients' HTTPS trusts the roots of Amazon Trust Services, not the
//! machine's root store (`privacy_aws::https_client`): a server whose
//! certificate an authority in the machine's store signed is refused; in
//! the China and the isolated regions, where the machine's store is kept,
//! it is accepted.

use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::retry::RetryConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// A server on 127.0.0.1 with a certificate a fresh authority signed, which
/// answers every request with an empty DynamoDB answer; the authority's
/// certificate in PEM.
async fn server_of_a_test_authority() -> (String, String) {
    let authority_key = rcgen::KeyPair::generate().expect("a key");
    let mut authority = rcgen::CertificateParams::new(Vec::<String>::new()).expect("parameters");
    authority.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    authority
        .distinguished_name
        .push(rcgen::DnType::CommonName, "privacy-aws test authority");
    let authority = authority
        .self_signed(&authority_key)
        .expect("the authority's certificate");
    let key = rcgen::KeyPair::generate().expect("a key");
    let certificate = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("parameters")
        .signed_by(&key, &authority, &authority_key)
        .expect("the server's certificate");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("a server configuration");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let endpoint = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().expect("an address").port()
    );
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = vec![0; 16 * 1024];
                let _ = tls.read(&mut request).await;
                let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (endpoint, authority.pem())
}

async fn get_item(endpoint: &str, region: &'static str) -> Result<(), String> {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(privacy_aws::https_client(Some(region)))
        .region(Region::new(region))
        .credentials_provider(Credentials::for_tests())
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
        .get_item()
        .table_name("privacy")
        .key("PK", AttributeValue::S("a".to_owned()))
        .key("SK", AttributeValue::S("b".to_owned()))
        .send()
        .await
        .map(|_| ())
        .map_err(|error| DisplayErrorContext(&error).to_string())
}

#[test]
fn the_sdk_trusts_amazon_trust_services_and_not_the_machines_root_store() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (endpoint, authority) = runtime.block_on(server_of_a_test_authority());
    // The machine's root store is this one authority (rustls-native-certs
    // reads SSL_CERT_FILE); nothing has read it yet in this process.
    let store = std::env::temp_dir().join(format!("privacy-aws-trust-{}.pem", std::process::id()));
    std::fs::write(&store, authority).expect("the store written");
    std::env::set_var("SSL_CERT_FILE", &store);
    std::env::set_var(
        "SSL_CERT_DIR",
        std::env::temp_dir().join("privacy-aws-no-such-directory"),
    );

    for region in ["eu-north-1", "us-east-1", "us-gov-west-1"] {
        let refused = runtime.block_on(get_item(&endpoint, region));
        let error = refused.expect_err("a server certified by an authority outside Amazon Trust Services is refused");
        assert!(
            error.contains("UnknownIssuer"),
            "{region}: refused for its issuer: {error}"
        );
    }
    for region in [
        "cn-north-1",
        "cn-northwest-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
    ] {
        runtime
            .block_on(get_item(&endpoint, region))
            .unwrap_or_else(|error| panic!("{region}: the machine's store is trusted: {error}"));
    }
    std::fs::remove_file(&store).ok();
}
