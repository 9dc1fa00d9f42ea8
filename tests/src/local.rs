//! Running a function of template.yaml on this machine, as `sam local invoke`
//! does but without Docker: the environment template.yaml gives it (overridden
//! by `infra/local-env.json`, the file `sam local invoke --env-vars` reads),
//! the built binary under the Lambda Runtime API emulator, against the
//! DynamoDB/SES/SSM emulator. Also seeds that emulator with what the
//! functions' environments name. Used by `infra/invoke` and `infra/emulator
//! seed` (the `local-lambda` binary) and by the tests of both.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use crate::lambda_emulator::{Invocation, LambdaProcess};

/// Where `infra/emulator start` serves, and so where functions look unless
/// `AWS_ENDPOINT_URL` says otherwise.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:5005";
/// The region every local function runs in (the template deploys to eu-north-1).
pub const REGION: &str = "eu-north-1";

/// A problem with the command line, the template, the event or the emulator:
/// printed as one line, exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("no function `{0}` in template.yaml (functions: {1})")]
    UnknownFunction(String, String),
    #[error("cannot read the event {0}: {1}")]
    UnreadableEvent(String, String),
    #[error("the event {0} is not JSON: {1}")]
    BadEvent(String, String),
    #[error("no emulator at {0} ({1}): start it with `infra/emulator start && infra/emulator seed`")]
    NoEmulator(String, String),
    #[error("AWS_ENDPOINT_URL must be a local http:// URL, not {0}")]
    NotLocal(String),
    #[error("cannot read {0}: {1}")]
    Config(String, String),
    #[error("{function}: the variable {variable} has no local value ({why}): give it one in infra/local-env.json")]
    Unresolved {
        function: String,
        variable: String,
        why: String,
    },
    #[error("cannot build {0}: {1}")]
    Build(String, String),
    #[error("cannot start {0}: {1}")]
    Start(String, String),
    #[error("seeding the emulator failed: {0}")]
    Seed(String),
}

/// A function of template.yaml, with what running it locally needs.
#[derive(Debug, Clone)]
pub struct LocalFunction {
    pub logical_id: String,
    pub binary: String,
    /// MemorySize (MB), as the template (or its Globals) gives it.
    pub memory_mb: u64,
    /// Timeout, as the template (or its Globals) gives it.
    pub timeout: Duration,
    /// Every variable the template declares for the function, resolved.
    pub environment: BTreeMap<String, String>,
}

fn template_at(root: &Path) -> Result<Yaml, LocalError> {
    let path = root.join("template.yaml");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| LocalError::Config(path.display().to_string(), error.to_string()))?;
    serde_yaml::from_str(&text).map_err(|error| LocalError::Config(path.display().to_string(), error.to_string()))
}

/// `infra/local-env.json`: `{"Parameters": {VAR: value}, "<LogicalId>": {VAR: value}}`,
/// SAM CLI's `--env-vars` format.
pub fn local_env_file(root: &Path) -> Result<Json, LocalError> {
    let path = root.join("infra").join("local-env.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| LocalError::Config(path.display().to_string(), error.to_string()))?;
    let value: Json = serde_json::from_str(&text)
        .map_err(|error| LocalError::Config(path.display().to_string(), error.to_string()))?;
    if !value
        .as_object()
        .is_some_and(|sections| sections.values().all(Json::is_object))
    {
        return Err(LocalError::Config(
            path.display().to_string(),
            "every section must be an object of variables".to_owned(),
        ));
    }
    Ok(value)
}

/// A template value as SAM CLI resolves it for `sam local`: literals as
/// they are, `!Ref` to a parameter as its default, `!Ref` to a resource as
/// its logical id, `!Join` of those; anything else is unresolved (`Err`).
fn resolve(template: &Yaml, value: &Yaml) -> Result<String, String> {
    match value {
        Yaml::String(text) => Ok(text.clone()),
        Yaml::Number(number) => Ok(number.to_string()),
        Yaml::Bool(flag) => Ok(flag.to_string()),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            match (tag.trim_start_matches('!'), &tagged.value) {
                ("Ref", Yaml::String(name)) => resolve_ref(template, name),
                ("Join", Yaml::Sequence(parts)) if parts.len() == 2 => {
                    let separator = parts[0].as_str().ok_or("a !Join separator that is not a string")?;
                    let items: Vec<String> = match &parts[1] {
                        Yaml::Sequence(items) => items
                            .iter()
                            .map(|item| resolve(template, item))
                            .collect::<Result<_, _>>()?,
                        // `!Join [",", !Ref AList]`: the list parameter's items.
                        list => vec![resolve(template, list)?],
                    };
                    Ok(items.join(separator))
                }
                (other, _) => Err(format!("the template gives it with !{other}")),
            }
        }
        _ => Err("the template gives it a value that is not a string".to_owned()),
    }
}

fn resolve_ref(template: &Yaml, name: &str) -> Result<String, String> {
    match name {
        // Declared but never deployed: empty, as under `sam local`.
        "AWS::NoValue" => return Ok(String::new()),
        "AWS::Region" => return Ok(REGION.to_owned()),
        "AWS::AccountId" => return Ok(crate::lambda_emulator::ACCOUNT_ID.to_owned()),
        "AWS::Partition" => return Ok("aws".to_owned()),
        _ => {}
    }
    if let Some(parameter) = template["Parameters"].get(name) {
        return match parameter.get("Default") {
            Some(default) => resolve(template, default),
            None => Err(format!("the template parameter {name} has no default")),
        };
    }
    if template["Resources"].get(name).is_some() {
        return Ok(name.to_owned());
    }
    Err(format!("!Ref {name} names nothing in the template"))
}

fn function_names(template: &Yaml) -> Vec<String> {
    template["Resources"]
        .as_mapping()
        .map(|resources| {
            resources
                .iter()
                .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
                .filter_map(|(id, _)| id.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every function logical id of template.yaml, in template order.
pub fn functions(root: &Path) -> Result<Vec<String>, LocalError> {
    Ok(function_names(&template_at(root)?))
}

/// The function `logical_id` of template.yaml with its environment: the
/// variables the template declares (Globals, then the function's own),
/// their values as `sam local` resolves them, overridden by
/// `infra/local-env.json` (its `Parameters` section, then the function's
/// section) — like SAM CLI, only variables the template declares.
pub fn function(root: &Path, logical_id: &str) -> Result<LocalFunction, LocalError> {
    let template = template_at(root)?;
    let resource = &template["Resources"][logical_id];
    if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
        return Err(LocalError::UnknownFunction(
            logical_id.to_owned(),
            function_names(&template).join(", "),
        ));
    }
    let globals = &template["Globals"]["Function"];
    let properties = &resource["Properties"];
    let setting = |name: &str| properties.get(name).or_else(|| globals.get(name));
    let binary = resource["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .ok_or_else(|| {
            LocalError::Config(
                "template.yaml".to_owned(),
                format!("{logical_id} names no binary in Metadata.BuildProperties.Binary"),
            )
        })?
        .to_owned();
    let memory_mb = setting("MemorySize").and_then(Yaml::as_u64).unwrap_or(128);
    let timeout = Duration::from_secs(setting("Timeout").and_then(Yaml::as_u64).unwrap_or(3));

    let overrides = local_env_file(root)?;
    let mut declared: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    for variables in [
        &globals["Environment"]["Variables"],
        &properties["Environment"]["Variables"],
    ] {
        if let Some(variables) = variables.as_mapping() {
            for (name, value) in variables {
                if let Some(name) = name.as_str() {
                    declared.insert(name.to_owned(), resolve(&template, value));
                }
            }
        }
    }
    let mut environment = BTreeMap::new();
    for (name, value) in declared {
        let overridden = [&overrides[logical_id], &overrides["Parameters"]]
            .into_iter()
            .find_map(|section| section.get(&name))
            .map(|value| match value {
                Json::String(text) => text.clone(),
                other => other.to_string(),
            });
        let value = match (overridden, value) {
            (Some(value), _) | (None, Ok(value)) => value,
            (None, Err(why)) => {
                return Err(LocalError::Unresolved {
                    function: logical_id.to_owned(),
                    variable: name,
                    why,
                })
            }
        };
        environment.insert(name, value);
    }
    if globals["LoggingConfig"]["LogFormat"].as_str() == Some("JSON")
        || properties["LoggingConfig"]["LogFormat"].as_str() == Some("JSON")
    {
        // What Lambda sets for LoggingConfig.LogFormat: JSON.
        environment.insert("AWS_LAMBDA_LOG_FORMAT".to_owned(), "JSON".to_owned());
    }
    Ok(LocalFunction {
        logical_id: logical_id.to_owned(),
        binary,
        memory_mb,
        timeout,
        environment,
    })
}

/// The emulator the functions talk to: `AWS_ENDPOINT_URL` when set (the
/// tests' emulator), else [`DEFAULT_ENDPOINT`]. Only loopback addresses, so a
/// local run can never reach a real AWS account.
pub fn endpoint() -> Result<String, LocalError> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
    let host = endpoint
        .strip_prefix("http://")
        .map(|rest| rest.split('/').next().unwrap_or_default())
        .unwrap_or_default();
    let host_name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    if !matches!(host_name, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(LocalError::NotLocal(endpoint));
    }
    Ok(endpoint)
}

/// Fails unless something accepts connections at `endpoint` within a second.
pub fn check_emulator(endpoint: &str) -> Result<(), LocalError> {
    let host = endpoint
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    let addresses = host
        .to_socket_addrs()
        .map_err(|error| LocalError::NoEmulator(endpoint.to_owned(), error.to_string()))?;
    let mut last = "no address".to_owned();
    for address in addresses {
        match TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
            Ok(_) => return Ok(()),
            Err(error) => last = error.to_string(),
        }
    }
    Err(LocalError::NoEmulator(endpoint.to_owned(), last))
}

/// Reads an event: a file, or stdin for `-`.
pub fn read_event(source: &str) -> Result<Json, LocalError> {
    let (name, text) = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|error| LocalError::UnreadableEvent("from stdin".to_owned(), error.to_string()))?;
        ("from stdin".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(source)
            .map_err(|error| LocalError::UnreadableEvent(source.to_owned(), error.to_string()))?;
        (source.to_owned(), text)
    };
    serde_json::from_str(&text).map_err(|error| LocalError::BadEvent(name, error.to_string()))
}

/// `target/debug/<binary>` (or under `CARGO_TARGET_DIR`), built with cargo if
/// it is missing.
pub fn built_binary(root: &Path, binary: &str) -> Result<PathBuf, LocalError> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| if dir.is_relative() { root.join(dir) } else { dir })
        .unwrap_or_else(|| root.join("target"));
    let path = target
        .join("debug")
        .join(format!("{binary}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        return Ok(path);
    }
    eprintln!("local-lambda: {} is not built; building it", path.display());
    let status = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["build", "--quiet", "--bin", binary])
        .status()
        .map_err(|error| LocalError::Build(binary.to_owned(), error.to_string()))?;
    if !status.success() || !path.is_file() {
        return Err(LocalError::Build(
            binary.to_owned(),
            format!("cargo build ended with {status}"),
        ));
    }
    Ok(path)
}

/// What one local invocation gave, as `sam local invoke` reports it.
pub struct Report {
    pub invocation: Invocation,
    pub request_id: Option<String>,
    /// The function's own output (stdout and stderr).
    pub logs: String,
    /// From handing the event over to the answer.
    pub duration: Duration,
    /// From spawning the process to its first `/invocation/next`.
    pub init_duration: Option<Duration>,
    /// The process's peak resident set (VmHWM), where /proc has it.
    pub max_memory_kib: Option<u64>,
    pub memory_mb: u64,
}

impl Report {
    /// The `REPORT RequestId: …` line Lambda writes after an invocation.
    pub fn line(&self) -> String {
        let millis = self.duration.as_secs_f64() * 1000.0;
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {millis:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {}",
            self.request_id.as_deref().unwrap_or("-"),
            millis.ceil() as u64,
            self.memory_mb,
            self.max_memory_kib
                .map_or_else(|| "unknown".to_owned(), |kib| format!("{} MB", kib.div_ceil(1024))),
        );
        if let Some(init) = self.init_duration {
            line.push_str(&format!("\tInit Duration: {:.2} ms", init.as_secs_f64() * 1000.0));
        }
        line
    }
}

/// Runs `function` once with `event` against the emulator at `endpoint`.
pub async fn invoke(
    function: &LocalFunction,
    binary: &Path,
    endpoint: &str,
    event: Json,
) -> Result<Report, LocalError> {
    let mut environment = function.environment.clone();
    environment.insert("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned());
    for (name, value) in [
        ("AWS_REGION", REGION),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_LAMBDA_FUNCTION_TIMEOUT", &function.timeout.as_secs().to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &function.memory_mb.to_string()),
    ] {
        environment.insert(name.to_owned(), value.to_owned());
    }
    let pairs: Vec<(&str, &str)> = environment
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let process = LambdaProcess::try_start(binary, &pairs)
        .await
        .map_err(|error| LocalError::Start(binary.display().to_string(), error.to_string()))?;
    let invocation = process.invoke_with_timeout(event, function.timeout).await;
    let answered_at = Instant::now();
    let dispatch = process.last_dispatch();
    let max_memory_kib = process.pid().and_then(peak_rss_kib);
    let started_at = process.started_at();
    let logs = process.stop().await;
    // The emulator's note that it killed the process after the invocation.
    let logs: String = logs
        .lines()
        .filter(|line| !line.starts_with("[lambda-emulator] process exited: signal: 9"))
        .map(|line| format!("{line}\n"))
        .collect();
    Ok(Report {
        invocation,
        request_id: dispatch.as_ref().map(|(id, _)| id.clone()),
        logs,
        duration: dispatch.as_ref().map_or(Duration::ZERO, |(_, at)| answered_at - *at),
        init_duration: dispatch.map(|(_, at)| at - started_at),
        max_memory_kib,
        memory_mb: function.memory_mb,
    })
}

/// Peak resident set size of a running process, from /proc (Linux).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What `infra/emulator seed` creates, read from every function's resolved
/// environment: the table `TABLE_NAME` (schema, indexes and TTL from
/// template.yaml), the SES identity `SENDER_ADDRESS` and configuration set
/// `SES_CONFIGURATION_SET`, and the SecureString parameters named by
/// `*_PARAMETER` (each a generated 64-character secret, or `$SUBJECT_PEPPER`
/// / `$TOKEN_KEY` when set). Existing things are left as they are. Returns
/// one line per thing.
pub async fn seed(root: &Path, endpoint: &str) -> Result<Vec<String>, LocalError> {
    check_emulator(endpoint)?;
    let mut tables = std::collections::BTreeSet::new();
    let mut senders = std::collections::BTreeSet::new();
    let mut configuration_sets = std::collections::BTreeSet::new();
    let mut parameters = BTreeMap::new();
    let mut queues = std::collections::BTreeSet::new();
    for logical_id in functions(root)? {
        for (name, value) in function(root, &logical_id)?.environment {
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                "TABLE_NAME" => {
                    tables.insert(value);
                }
                "SENDER_ADDRESS" => {
                    senders.insert(value);
                }
                "SES_CONFIGURATION_SET" => {
                    configuration_sets.insert(value);
                }
                // The queue is named by the URL's last segment.
                name if name.ends_with("_QUEUE_URL") => {
                    if let Some(queue) = value.rsplit('/').next().filter(|queue| !queue.is_empty()) {
                        queues.insert(queue.to_owned());
                    }
                }
                _ => {
                    if let Some(secret) = name.strip_suffix("_PARAMETER") {
                        parameters.insert(value, secret.to_owned());
                    }
                }
            }
        }
    }

    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "local",
        ))
        .load()
        .await;
    let failed = |what: String| move |error: String| LocalError::Seed(format!("{what}: {error}"));
    let mut made = Vec::new();

    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let existing = dynamodb
        .list_tables()
        .send()
        .await
        .map_err(|error| failed("list tables".into())(sdk_error(&error)))?
        .table_names
        .unwrap_or_default();
    let properties = crate::aws::table_properties();
    let indexes: Vec<&str> = properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .map(|list| list.iter().filter_map(|index| index["IndexName"].as_str()).collect())
        .unwrap_or_default();
    let ttl = properties["TimeToLiveSpecification"]["AttributeName"]
        .as_str()
        .unwrap_or("-");
    for table in tables {
        if existing.contains(&table) {
            made.push(format!("table {table}: exists"));
            continue;
        }
        crate::aws::create_table_named(&dynamodb, &table)
            .await
            .map_err(failed(format!("table {table}")))?;
        made.push(format!(
            "table {table}: created (indexes {}; TTL on {ttl})",
            indexes.join(", ")
        ));
    }

    let ses = aws_sdk_ses::Client::new(&sdk);
    for sender in senders {
        ses.verify_email_identity()
            .email_address(&sender)
            .send()
            .await
            .map_err(|error| failed(format!("SES identity {sender}"))(sdk_error(&error)))?;
        made.push(format!("SES identity {sender}: verified"));
    }
    for set in configuration_sets {
        let exists = ses
            .describe_configuration_set()
            .configuration_set_name(&set)
            .send()
            .await
            .is_ok();
        if exists {
            made.push(format!("SES configuration set {set}: exists"));
            continue;
        }
        ses.create_configuration_set()
            .configuration_set(
                aws_sdk_ses::types::ConfigurationSet::builder()
                    .name(&set)
                    .build()
                    .map_err(|error| failed(format!("SES configuration set {set}"))(error.to_string()))?,
            )
            .send()
            .await
            .map_err(|error| failed(format!("SES configuration set {set}"))(sdk_error(&error)))?;
        made.push(format!("SES configuration set {set}: created"));
    }

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for queue in queues {
        // CreateQueue is idempotent for a queue with the same attributes.
        sqs.create_queue()
            .queue_name(&queue)
            .send()
            .await
            .map_err(|error| failed(format!("SQS queue {queue}"))(sdk_error(&error)))?;
        made.push(format!("SQS queue {queue}: ready"));
    }

    let ssm = aws_sdk_ssm::Client::new(&sdk);
    for (name, secret) in parameters {
        let exists = ssm.get_parameter().name(&name).send().await.is_ok();
        if exists {
            made.push(format!("SSM parameter {name}: exists (kept)"));
            continue;
        }
        let (value, source) = match std::env::var(&secret).ok().filter(|value| !value.is_empty()) {
            Some(value) => (value, format!("the value of ${secret}")),
            None => (
                format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()),
                "a generated 64-character secret".to_owned(),
            ),
        };
        ssm.put_parameter()
            .name(&name)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .value(value)
            .send()
            .await
            .map_err(|error| failed(format!("SSM parameter {name}"))(sdk_error(&error)))?;
        made.push(format!("SSM parameter {name}: created (SecureString, {source})"));
    }
    Ok(made)
}

fn sdk_error<E: std::error::Error>(error: &E) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string()
}
