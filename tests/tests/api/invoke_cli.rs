//! `infra/invoke` and `infra/emulator seed`, the Docker-free twin of
//! `sam local invoke`: every sample event through the command line against
//! the emulator, with the outcome events/README.md gives it, and the
//! command's errors.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use privacy_tests::aws::{self, workspace_root};
use privacy_tests::events::{sample, sample_names};
use privacy_tests::newsletter::{PEPPER, TOKEN_KEY};
use privacy_tests::template;
use serde_json::{json, Value};

/// What an event must give, from the table in events/README.md.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    Ok,
    Error,
}

struct Expected {
    function: String,
    outcome: Outcome,
}

/// The rows of the table in events/README.md: event → (function, outcome).
fn expected_outcomes() -> BTreeMap<String, Expected> {
    let path = workspace_root().join("events").join("README.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() < 3 || cells[0] == "event" || cells[0].starts_with("---") || !line.starts_with('|') {
            continue;
        }
        let outcome = match cells[2] {
            "ok" => Outcome::Ok,
            "error" => Outcome::Error,
            status => Outcome::Status(
                status
                    .parse()
                    .unwrap_or_else(|_| panic!("events/README.md: `{status}` is not an outcome ({line})")),
            ),
        };
        let previous = rows.insert(
            cells[0].to_owned(),
            Expected {
                function: cells[1].to_owned(),
                outcome,
            },
        );
        assert!(previous.is_none(), "events/README.md lists {} twice", cells[0]);
    }
    rows
}

fn script(name: &str) -> Command {
    let mut command = Command::new(workspace_root().join("infra").join(name));
    command.current_dir(workspace_root());
    command
}

/// `infra/invoke LOGICAL_ID EVENT` with `stdin` fed when EVENT is `-`.
fn invoke(logical_id: &str, event: &str, stdin: Option<&str>, endpoint: Option<&str>) -> Output {
    let mut command = script("invoke");
    command.args([logical_id, event]);
    match endpoint {
        Some(endpoint) => command.env("AWS_ENDPOINT_URL", endpoint),
        None => command.env_remove("AWS_ENDPOINT_URL"),
    };
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run infra/invoke");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("write the event to infra/invoke");
    }
    child.wait_with_output().expect("wait for infra/invoke")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The functions template.yaml wires `event` to: by route for HTTP events;
/// for a scheduled event, the function its rule's ARN names; else every
/// function with a trigger of that type (SNS, Schedule, DynamoDB).
fn wired_functions(event: &Value) -> BTreeSet<String> {
    let functions = template::functions();
    if let Some(route_key) = event["routeKey"].as_str() {
        return functions
            .iter()
            .filter(|function| {
                function
                    .routes
                    .iter()
                    .any(|(method, path)| format!("{method} {path}") == route_key)
            })
            .map(|function| function.logical_id.clone())
            .collect();
    }
    let kind = if event["Records"][0]["EventSource"] == "aws:sns" {
        "SNS"
    } else if event["Records"][0]["eventSource"] == "aws:dynamodb" {
        "DynamoDB"
    } else if event["Records"][0]["eventSource"] == "aws:sqs" {
        "SQS"
    } else if event["detail-type"] == "Scheduled Event" || event.get("now").is_some() {
        "Schedule"
    } else {
        panic!("an event of unknown shape: {event}")
    };
    let rule = event["resources"][0].as_str().unwrap_or_default();
    let candidates: BTreeSet<String> = functions
        .iter()
        .filter(|function| function.other_events.iter().any(|other| other == kind))
        .map(|function| function.logical_id.clone())
        .collect();
    // A scheduled event's rule ARN names its function (SAM: <Function><Event>).
    let owners: BTreeSet<String> = candidates
        .iter()
        .filter(|id| !rule.is_empty() && rule.contains(id.as_str()))
        .cloned()
        .collect();
    if owners.is_empty() {
        candidates
    } else {
        owners
    }
}

#[test]
fn the_outcome_table_covers_every_event_and_every_route_and_trigger() {
    let expected = expected_outcomes();
    let files: BTreeSet<String> = sample_names().into_iter().collect();
    let listed: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(files, listed, "events/*.json vs the table in events/README.md");

    for (name, row) in &expected {
        let wired = wired_functions(&sample(name));
        assert!(
            wired.contains(&row.function),
            "events/README.md runs {name} with {}, but template.yaml wires it to {wired:?}",
            row.function
        );
    }

    let route_keys: BTreeSet<String> = files
        .iter()
        .filter_map(|name| sample(name)["routeKey"].as_str().map(str::to_owned))
        .collect();
    for function in template::functions() {
        for (method, path) in &function.routes {
            let key = format!("{method} {path}");
            assert!(
                route_keys.contains(&key),
                "no sample event in events/ for the route {key}"
            );
        }
        for kind in &function.other_events {
            assert!(
                expected.iter().any(|(name, row)| row.function == function.logical_id
                    && !matches!(row.outcome, Outcome::Status(_))
                    && wired_functions(&sample(name)).contains(&function.logical_id)),
                "no sample event in events/ for the {kind} trigger of {}",
                function.logical_id
            );
        }
    }
}

#[test]
fn every_sample_event_gives_its_outcome_through_infra_invoke() {
    let started = Instant::now();
    let endpoint = aws::endpoint();

    // Seeded like the README says, with the tests' secrets (the unsubscribe
    // events carry a token signed with them). A second seed keeps everything.
    let seed = || {
        script("emulator")
            .arg("seed")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("SUBJECT_PEPPER", PEPPER)
            .env("TOKEN_KEY", TOKEN_KEY)
            .output()
            .expect("run infra/emulator seed")
    };
    let seeded = seed();
    let printed = text(&seeded.stdout);
    assert!(
        seeded.status.success(),
        "infra/emulator seed: {printed}{}",
        text(&seeded.stderr)
    );
    for made in [
        "table privacy-local: created (indexes subject, due, audience; TTL on expires_at)",
        "SES identity privacy@example.com: verified",
        "SES configuration set privacy-local: created",
        "SQS queue privacy-local-recipients: ready",
        "SSM parameter /privacy/local/subject-pepper: created (SecureString, the value of $SUBJECT_PEPPER)",
        "SSM parameter /privacy/local/token-key: created (SecureString, the value of $TOKEN_KEY)",
    ] {
        assert!(
            printed.lines().any(|line| line == made),
            "seed did not print `{made}`:\n{printed}"
        );
    }
    let again = text(&seed().stdout);
    assert!(
        again.contains("table privacy-local: exists") && again.contains("/privacy/local/token-key: exists (kept)"),
        "a second seed keeps what exists:\n{again}"
    );

    // The consent events read and withdraw the sample consent id: record it,
    // through the command line, from stdin.
    let mut first = sample("consent-post");
    let mut body: Value = serde_json::from_str(first["body"].as_str().expect("a body")).expect("a JSON body");
    body["consent_id"] = json!("3f8a7c2e-5b1d-4e9a-8c6f-2d4b7e1a9c05");
    first["body"] = json!(body.to_string());
    first["headers"]["content-length"] = json!(body.to_string().len().to_string());
    let recorded = invoke("ConsentCaptureFunction", "-", Some(&first.to_string()), Some(&endpoint));
    let response: Value = serde_json::from_slice(&recorded.stdout).expect("a JSON response on stdout");
    assert_eq!(response["statusCode"], 201, "{}", text(&recorded.stderr));

    let mut timings = Vec::new();
    let mut logged = 0;
    for (name, row) in expected_outcomes() {
        let file = format!("events/{name}.json");
        let one = Instant::now();
        let output = invoke(&row.function, &file, None, Some(&endpoint));
        timings.push((name.clone(), one.elapsed()));
        let stdout = text(&output.stdout);
        let stderr = text(&output.stderr);
        let response: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|error| panic!("{file}: stdout is not one JSON value ({error}):\n{stdout}\n{stderr}"));
        let got = match (output.status.code(), response["statusCode"].as_u64()) {
            (Some(0), Some(status)) => Outcome::Status(status as u16),
            (Some(0), None) => Outcome::Ok,
            (Some(1), _) if response["errorType"].is_string() => Outcome::Error,
            (code, _) => panic!("{file}: exit {code:?}\n{stdout}\n{stderr}"),
        };
        assert_eq!(got, row.outcome, "{file} with {}: {stdout}\n{stderr}", row.function);

        // What `sam local invoke` prints around the response.
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(
            lines.first().is_some_and(|line| line.starts_with("START RequestId: ")),
            "{file}: {stderr}"
        );
        let report = lines.last().copied().unwrap_or_default();
        assert!(
            report.starts_with("REPORT RequestId: ") && report.contains("\tDuration: ") && report.contains(" ms\t"),
            "{file}: the last line is not a REPORT line: {report}"
        );
        let peak: u64 = report
            .split("Max Memory Used: ")
            .nth(1)
            .and_then(|rest| rest.split(" MB").next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("{file}: no peak memory in {report}"));
        assert!((1..=128).contains(&peak), "{file}: peak memory {peak} MB");
        // The function's own JSON log lines are passed through.
        if lines
            .iter()
            .any(|line| line.starts_with('{') && line.contains("\"level\""))
        {
            logged += 1;
        }
        for personal in ["203.0.113.77", "ada@example.com", "grace@example.com"] {
            assert!(
                !stderr.contains(personal),
                "{file}: `{personal}` reached the logs:\n{stderr}"
            );
        }
    }
    assert!(logged >= 5, "only {logged} events showed the function's log lines");
    let slowest = timings.iter().max_by_key(|(_, took)| *took).expect("events");
    eprintln!(
        "every sample event through infra/invoke: {} events in {:.1} s (slowest {} {:.2} s)",
        timings.len(),
        started.elapsed().as_secs_f64(),
        slowest.0,
        slowest.1.as_secs_f64()
    );
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

fn assert_one_line_error(output: &Output, names: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "exit code 2 expected: {stderr}");
    assert!(output.stdout.is_empty(), "nothing on stdout: {}", text(&output.stdout));
    assert_eq!(stderr.lines().count(), 1, "one line expected:\n{stderr}");
    assert!(stderr.contains(names), "the message names `{names}`: {stderr}");
}

fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("invoke-cli-{}-{name}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, contents).expect("write a scratch event");
    path
}

#[test]
fn an_unknown_function_is_named_and_exits_2() {
    let down = format!("http://127.0.0.1:{}", closed_port());
    let output = invoke("ConsentFunction", "events/consent-post.json", None, Some(&down));
    assert_one_line_error(&output, "no function `ConsentFunction` in template.yaml");
    assert!(
        text(&output.stderr).contains("ConsentCaptureFunction"),
        "it lists the functions"
    );
}

#[test]
fn an_event_that_is_not_json_is_named_and_exits_2() {
    let down = format!("http://127.0.0.1:{}", closed_port());
    let bad = scratch_file("bad.json", "{\"routeKey\": \"POST /consent\",");
    let output = invoke("ConsentCaptureFunction", &bad.display().to_string(), None, Some(&down));
    assert_one_line_error(&output, &format!("the event {} is not JSON", bad.display()));
    let _ = std::fs::remove_file(bad);

    let output = invoke("ConsentCaptureFunction", "-", Some("not json"), Some(&down));
    assert_one_line_error(&output, "the event from stdin is not JSON");
}

#[test]
fn an_unreadable_event_is_named_and_exits_2() {
    let down = format!("http://127.0.0.1:{}", closed_port());
    let output = invoke("ConsentCaptureFunction", "events/no-such-event.json", None, Some(&down));
    assert_one_line_error(&output, "cannot read the event events/no-such-event.json");
}

#[test]
fn no_emulator_running_is_named_and_exits_2() {
    let down = format!("http://127.0.0.1:{}", closed_port());
    let output = invoke("ConsentCaptureFunction", "events/consent-post.json", None, Some(&down));
    assert_one_line_error(&output, &format!("no emulator at {down}"));
    assert!(
        text(&output.stderr).contains("infra/emulator start"),
        "it says how to start one"
    );

    let seeded = script("emulator")
        .arg("seed")
        .env("AWS_ENDPOINT_URL", &down)
        .output()
        .expect("run infra/emulator seed");
    assert_one_line_error(&seeded, &format!("no emulator at {down}"));
}

#[test]
fn a_remote_endpoint_is_refused_and_exits_2() {
    let output = invoke(
        "ConsentCaptureFunction",
        "events/consent-post.json",
        None,
        Some("https://dynamodb.eu-north-1.amazonaws.com"),
    );
    assert_one_line_error(&output, "AWS_ENDPOINT_URL must be a local http:// URL");
}

#[test]
fn a_wrong_number_of_arguments_prints_the_usage_and_exits_2() {
    let output = script("invoke")
        .arg("ConsentCaptureFunction")
        .output()
        .expect("run infra/invoke");
    assert_one_line_error(&output, "usage: infra/invoke <LogicalId> <event.json | ->");
}
