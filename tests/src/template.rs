//! What template.yaml deploys, read back for tests: functions, their binaries and routes.

use serde_yaml::Value;

use crate::aws::workspace_root;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedFunction {
    pub logical_id: String,
    pub binary: String,
    /// The directory `sam build` builds the function in (`CodeUri`).
    pub code_uri: String,
    /// `(METHOD, /path)` of every HttpApi event.
    pub routes: Vec<(String, String)>,
    /// Types of the other events (`Schedule`, `SNS`, …).
    pub other_events: Vec<String>,
}

pub fn template() -> Value {
    let path = workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    serde_yaml::from_str(&text).expect("template.yaml is YAML")
}

pub fn functions() -> Vec<DeployedFunction> {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let mut functions = Vec::new();
    for (logical_id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let logical_id = logical_id.as_str().expect("a logical id").to_owned();
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{logical_id} names its binary in Metadata.BuildProperties.Binary"))
            .to_owned();
        let code_uri = resource["Properties"]["CodeUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{logical_id} has a CodeUri"))
            .to_owned();
        let mut routes = Vec::new();
        let mut other_events = Vec::new();
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for event in events.values() {
                let kind = event["Type"].as_str().expect("an event type").to_owned();
                if kind == "HttpApi" {
                    let method = event["Properties"]["Method"]
                        .as_str()
                        .expect("a method")
                        .to_ascii_uppercase();
                    let path = event["Properties"]["Path"].as_str().expect("a path").to_owned();
                    routes.push((method, path));
                } else {
                    other_events.push(kind);
                }
            }
        }
        functions.push(DeployedFunction {
            logical_id,
            binary,
            code_uri,
            routes,
            other_events,
        });
    }
    functions
}

/// The `Timeout` template.yaml gives the function built from `binary` (its
/// own, else the Globals'), or `None` for a binary it does not deploy.
pub fn timeout_of(binary: &str) -> Option<std::time::Duration> {
    let template = template();
    let resources = template["Resources"].as_mapping()?;
    let resource = resources
        .values()
        .find(|resource| resource["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))?;
    let seconds = resource["Properties"]["Timeout"]
        .as_u64()
        .or_else(|| template["Globals"]["Function"]["Timeout"].as_u64())?;
    Some(std::time::Duration::from_secs(seconds))
}
