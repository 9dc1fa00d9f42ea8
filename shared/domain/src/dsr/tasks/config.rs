//! Where the systems of record are reached, and the secrets that sign what
//! passes between them and this product: deployment configuration, never
//! register data (SPEC 8). A SecureString SSM parameter (named by
//! `SYSTEMS_PARAMETER`) in AWS, the `SYSTEMS_CONFIG` environment variable
//! locally, both holding this JSON:
//!
//! ```json
//! {"systems": {
//!   "service":      {"secret": "<at least 32 bytes>", "bus": "optional-bus-name"},
//!   "support_desk": {"secret": "<at least 32 bytes>", "url": "https://desk.example/privacy-tasks"}
//! }}
//! ```
//!
//! Every `event` and `webhook` system of the register has an entry: its
//! `secret` signs the webhook POSTs it receives and checks the answers it
//! posts to `POST /systems/tasks/{task_id}`. A `webhook` system has an
//! `https` URL (`http` only to a loopback address, for local runs); an
//! `event` system may name a bus other than the deployment's. Anything else
//! (an id the register does not know, a `manual` system, an unknown field, a
//! short secret) is refused, so that a function never starts half-configured.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::register::{Register, SystemAccess};

/// The fewest bytes of a system's secret.
pub const MIN_SECRET_BYTES: usize = 32;

/// A system's shared secret (never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct SystemSecret(Vec<u8>);

impl SystemSecret {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SystemSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SystemSecret(..)")
    }
}

/// How one system is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An event on `bus`, or on the deployment's own bus when `None`.
    Event { bus: Option<String> },
    /// A signed POST to this URL.
    Webhook { url: String },
}

/// One system's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemEndpoint {
    pub endpoint: Endpoint,
    /// Signs the webhook POSTs and checks the system's answers.
    pub secret: SystemSecret,
}

/// Every connected system's configuration, checked against the register.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SystemsConfig {
    systems: BTreeMap<String, SystemEndpoint>,
}

/// Why a systems configuration was refused. The messages name system ids
/// and fields, never a secret or a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SystemsConfigError {
    #[error("it is not valid JSON of the documented shape ({0})")]
    Malformed(String),
    #[error("the system `{0}` is not in the register")]
    UnknownSystem(String),
    #[error("the system `{0}` is not reached by event or webhook and takes no configuration")]
    NotConnected(String),
    #[error("the {kind} system `{id}` has no entry (it needs {needs})")]
    MissingSystem {
        id: String,
        kind: &'static str,
        needs: &'static str,
    },
    #[error("the webhook system `{0}` has no url")]
    MissingUrl(String),
    #[error("the url of the webhook system `{0}` is not an https URL")]
    InsecureUrl(String),
    #[error("the event system `{0}` has a url; only webhook systems do")]
    UnexpectedUrl(String),
    #[error("the webhook system `{0}` has a bus; only event systems do")]
    UnexpectedBus(String),
    #[error("the secret of the system `{0}` is missing or shorter than 32 bytes")]
    WeakSecret(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    systems: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    bus: Option<String>,
}

impl SystemsConfig {
    /// Reads and checks the JSON against the register's systems.
    pub fn parse(json: &str, register: &Register) -> Result<Self, SystemsConfigError> {
        let document: Document = serde_json::from_str(json).map_err(|error| {
            // Line and column only: serde's own message may quote a value (a secret).
            SystemsConfigError::Malformed(format!(
                "{:?} error at line {} column {}",
                error.classify(),
                error.line(),
                error.column()
            ))
        })?;
        let registered = &register.document().systems;
        let mut systems = BTreeMap::new();
        for (id, entry) in document.systems {
            let system = registered
                .iter()
                .find(|system| system.id == id)
                .ok_or_else(|| SystemsConfigError::UnknownSystem(id.clone()))?;
            let secret = entry
                .secret
                .filter(|secret| secret.len() >= MIN_SECRET_BYTES)
                .ok_or_else(|| SystemsConfigError::WeakSecret(id.clone()))?;
            let endpoint = match &system.access {
                SystemAccess::Event => {
                    if entry.url.is_some() {
                        return Err(SystemsConfigError::UnexpectedUrl(id));
                    }
                    Endpoint::Event {
                        bus: entry.bus.filter(|bus| !bus.trim().is_empty()),
                    }
                }
                SystemAccess::Webhook => {
                    if entry.bus.is_some() {
                        return Err(SystemsConfigError::UnexpectedBus(id));
                    }
                    let url = entry.url.ok_or_else(|| SystemsConfigError::MissingUrl(id.clone()))?;
                    if !acceptable_url(&url) {
                        return Err(SystemsConfigError::InsecureUrl(id));
                    }
                    Endpoint::Webhook { url }
                }
                SystemAccess::ThisProduct | SystemAccess::Manual { .. } => {
                    return Err(SystemsConfigError::NotConnected(id))
                }
            };
            systems.insert(
                id,
                SystemEndpoint {
                    endpoint,
                    secret: SystemSecret(secret.into_bytes()),
                },
            );
        }
        for system in registered {
            let (kind, needs) = match system.access {
                SystemAccess::Event => ("event", "a secret"),
                SystemAccess::Webhook => ("webhook", "a url and a secret"),
                _ => continue,
            };
            if !systems.contains_key(&system.id) {
                return Err(SystemsConfigError::MissingSystem {
                    id: system.id.clone(),
                    kind,
                    needs,
                });
            }
        }
        Ok(Self { systems })
    }

    /// The configuration of a connected system.
    pub fn get(&self, system: &str) -> Option<&SystemEndpoint> {
        self.systems.get(system)
    }

    /// The secret a system signs its answers with.
    pub fn secret(&self, system: &str) -> Option<&SystemSecret> {
        self.get(system).map(|entry| &entry.secret)
    }
}

/// `https://host/...`, or `http://` to a loopback host (a local receiver).
fn acceptable_url(url: &str) -> bool {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let host_of = |rest: &str| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return None;
        }
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
            None => authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host)
                .to_owned(),
        };
        (!host.is_empty()).then_some(host)
    };
    if let Some(rest) = url.strip_prefix("https://") {
        return host_of(rest).is_some();
    }
    if let Some(rest) = url.strip_prefix("http://") {
        return host_of(rest).is_some_and(|host| matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1"));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn register() -> Register {
        Register::standard().unwrap()
    }

    fn full(extra: &str) -> String {
        format!(
            r#"{{"systems": {{
                "service": {{"secret": "{SECRET}"}},
                "support_desk": {{"secret": "{SECRET}", "url": "https://desk.example/tasks"}},
                "crm": {{"secret": "{SECRET}", "url": "http://127.0.0.1:9000/hook"}}{extra}
            }}}}"#
        )
    }

    #[test]
    fn every_connected_system_of_the_register_is_configured() {
        let config = SystemsConfig::parse(&full(""), &register()).unwrap();
        assert_eq!(config.get("service").unwrap().endpoint, Endpoint::Event { bus: None });
        assert_eq!(
            config.get("support_desk").unwrap().endpoint,
            Endpoint::Webhook {
                url: "https://desk.example/tasks".to_owned()
            }
        );
        assert_eq!(config.secret("crm").unwrap().as_bytes(), SECRET.as_bytes());
        assert!(config.get("bookkeeping").is_none());
        assert!(!format!("{config:?}").contains(SECRET), "secrets are never printed");
    }

    #[test]
    fn refusals_name_the_system_and_never_the_secret() {
        let register = register();
        let cases = [
            (
                full(r#", "payroll": {"secret": "0123456789abcdef0123456789abcdef"}"#),
                "`payroll` is not in the register",
            ),
            (
                full(r#", "bookkeeping": {"secret": "0123456789abcdef0123456789abcdef"}"#),
                "`bookkeeping` is not reached",
            ),
            (
                full("").replace(r#", "url": "https://desk.example/tasks""#, ""),
                "`support_desk` has no url",
            ),
            (
                full("").replace("https://desk.example", "http://desk.example"),
                "`support_desk` is not an https URL",
            ),
            (
                full("").replace("http://127.0.0.1:9000", "http://127.0.0.1.evil.example"),
                "`crm` is not an https URL",
            ),
            (
                full("").replace(
                    r#""secret": "0123456789abcdef0123456789abcdef"}"#,
                    r#""secret": "short"}"#,
                ),
                "secret of the system `service`",
            ),
            (
                format!(r#"{{"systems": {{"service": {{"secret": "{SECRET}"}}}}}}"#),
                "webhook system `support_desk` has no entry",
            ),
            (
                r#"{"systems": {"service": {"secret": "p4ssw0rd-that-is-long-enough-000000", "scret": 1}}}"#.to_owned(),
                "not valid JSON",
            ),
            ("{not json".to_owned(), "not valid JSON"),
        ];
        for (json, expected) in cases {
            let error = SystemsConfig::parse(&json, &register).unwrap_err().to_string();
            assert!(error.contains(expected), "{error} / {expected}");
            assert!(!error.contains("p4ssw0rd") && !error.contains(SECRET), "{error}");
        }
    }

    #[test]
    fn only_https_or_loopback_http_urls_are_accepted() {
        for url in [
            "https://desk.example/x",
            "https://desk.example:8443",
            "http://localhost:3000/h",
            "http://[::1]:1/h",
        ] {
            assert!(acceptable_url(url), "{url}");
        }
        for url in [
            "http://desk.example/x",
            "ftp://x",
            "https://",
            "https://a b",
            "http://127.0.0.1@evil.example/",
        ] {
            assert!(!acceptable_url(url), "{url}");
        }
    }
}
