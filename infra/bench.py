"""infra/bench's measuring half (see infra/bench): runs each built function
through a minimal Lambda Runtime API against moto and prints one table."""

import http.server
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

import boto3
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
X86_DIR = os.environ["BENCH_X86_DIR"]
ARM_DIR = os.environ["BENCH_ARM_DIR"]
RUNS = int(os.environ.get("RUNS", "11"))
WARM = int(os.environ.get("WARM", "20"))
ONLY = set(sys.argv[1:])
FLOOR = "bench-floor"

# The event each function is measured with and the status it must answer:
# its common path (the same events as infra/measure-cold-start).
EVENTS = {
    "consent-capture": ("consent-post", 201),
    "newsletter-subscribe": ("newsletter-subscribe", 202),
    "newsletter-unsubscribe": ("newsletter-unsubscribe-post", 200),
    "ses-feedback": ("ses-bounce-permanent", None),
    "mail-outbox": ("mail-outbox-schedule", None),
    "dsr-intake": ("dsr-submit", 202),
    "dsr-admin": ("admin-dsr-queue", 200),
    "retention-sweep": ("retention-sweep-schedule", None),
    "newsletter-planner": ("newsletter-planner-schedule", None),
    "newsletter-sender": ("newsletter-sender-sqs", None),
}
# The keys tests/src/newsletter.rs signs the sample unsubscribe token with.
PEPPER = "test-subject-pepper-0123456789abcdef012345"
TOKEN_KEY = "test-token-key-0123456789abcdef0123456789"
SENDER = "privacy@measure.example"


class AnyTag(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (!Ref, !Sub, …) as plain values."""


AnyTag.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)
    ),
)


def functions(template):
    default_memory = template["Globals"]["Function"].get("MemorySize", 128)
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        yield logical_id, binary, resource["Properties"].get("MemorySize", default_memory)


class RuntimeApi:
    """The Lambda Runtime API, as much of it as a function uses."""

    def __init__(self):
        self.events = queue.Queue()
        self.results = queue.Queue()
        self.first_next = None
        self.delivered = None
        self.closing = False
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404, b"{}")
                if api.first_next is None:
                    api.first_next = time.perf_counter_ns()
                while True:
                    try:
                        request_id, event = api.events.get(timeout=0.5)
                        break
                    except queue.Empty:
                        if api.closing:
                            return
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-north-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                api.delivered = time.perf_counter_ns()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.perf_counter_ns()
                self.reply(202, b"{}")
                api.results.put(("response" if self.path.endswith("/response") else "error", now, body))

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, event, timeout=60):
        self.events.put((str(uuid.uuid4()), event))
        return self.results.get(timeout=timeout)

    def close(self):
        self.closing = True
        self.server.shutdown()
        self.server.server_close()


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def aws_calls(log_path):
    """The `aws calls` lines of a run, in order: (calls, capacity units)."""
    calls = []
    with open(log_path, errors="replace") as log:
        for line in log:
            if "aws calls" not in line:
                continue
            try:
                fields = json.loads(line)["fields"]
            except (ValueError, KeyError):
                continue
            if fields.get("message") == "aws calls":
                calls.append((fields.get("aws_calls", 0), fields.get("capacity_units", 0.0)))
    return calls


def varied(event, n):
    """The sample event as the n-th person sends it, from a network of their
    own: each invocation of a run takes the common path, as the first does
    (the same address again takes a repeat's shorter path; many from one
    network, the intake limits')."""
    text = json.dumps(event).replace("ada@example.com", f"person{n}@example.com")
    return json.loads(text.replace("203.0.113.77", f"10.{n // 256}.{n % 256}.77"))


def run_once(binary, logical_id, memory, event, expected, environment, table):
    api = RuntimeApi()
    env = dict(environment)
    env.update(
        TABLE_NAME=table,
        AWS_LAMBDA_RUNTIME_API=api.address,
        AWS_LAMBDA_FUNCTION_NAME=logical_id,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(memory),
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
    )
    log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)
    started = time.perf_counter_ns()
    process = subprocess.Popen([os.path.join(X86_DIR, binary, "bootstrap")], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        kind, first_response, body = api.invoke(varied(event, 0))
        if kind != "response":
            raise RuntimeError(f"{binary}: the first invocation failed: {body[:300]!r}")
        if expected is not None and json.loads(body).get("statusCode") != expected:
            raise RuntimeError(f"{binary}: expected {expected}: {body[:300]!r}")
        warm = []
        for n in range(1, WARM + 1):
            kind, at, body = api.invoke(varied(event, n))
            if kind != "response":
                raise RuntimeError(f"{binary}: a warm invocation failed: {body[:300]!r}")
            warm.append((at - api.delivered) / 1e6)
        peak = peak_rss_kib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        api.close()
        log.close()
    calls = aws_calls(log.name)
    os.unlink(log.name)
    return {
        "init_ms": (api.first_next - started) / 1e6,
        "cold_ms": (first_response - started) / 1e6,
        "warm": warm,
        "rss_mib": peak / 1024,
        "calls": calls[1:],  # the warm invocations'
    }


def start_emulator():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The tests' emulator (infra/moto-server.py): moto, one request at a
    # time, without the per-item table copies of its TransactWriteItems that
    # DynamoDB does not make, and with two of its per-request helpers memoised.
    moto = subprocess.Popen(
        [os.path.join(ROOT, ".venv-test/bin/python"), os.path.join(ROOT, "infra/moto-server.py"), "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json?service=ses", timeout=1)
            return moto, endpoint
        except OSError:
            time.sleep(0.1)
    moto.kill()
    raise RuntimeError("the emulator did not start")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def size_mib(binary):
    for directory in (ARM_DIR, X86_DIR):
        path = os.path.join(directory, binary, "bootstrap")
        if os.path.exists(path):
            return os.path.getsize(path) / 1048576, "arm64" if directory == ARM_DIR else "x86_64"
    return float("nan"), "?"


def main():
    with open(os.path.join(ROOT, "template.yaml")) as handle:
        template = yaml.load(handle, Loader=AnyTag)
    moto, endpoint = start_emulator()
    try:
        aws = dict(endpoint_url=endpoint, region_name="eu-north-1", aws_access_key_id="test", aws_secret_access_key="test")
        boto3.client("ses", **aws).verify_email_identity(EmailAddress=SENDER)
        ssm = boto3.client("ssm", **aws)
        for name, value in (("/privacy/bench/subject-pepper", PEPPER), ("/privacy/bench/token-key", TOKEN_KEY)):
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        # The planner's queue of recipients (the schedule finds no issue due in a fresh table).
        recipients = boto3.client("sqs", **aws).create_queue(QueueName="bench-recipients")["QueueUrl"]
        dynamodb = boto3.client("dynamodb", **aws)
        table = template["Resources"]["PrivacyTable"]["Properties"]

        def new_table():
            # One per process: moto answers a Query by looking at every item.
            name = f"bench-{uuid.uuid4().hex[:12]}"
            dynamodb.create_table(
                TableName=name,
                AttributeDefinitions=table["AttributeDefinitions"],
                KeySchema=table["KeySchema"],
                GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
                BillingMode=table["BillingMode"],
            )
            return name

        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "RUST_LOG": "info",
            "SENDER_ADDRESS": SENDER,
            "PRIVACY_TEAM_ADDRESS": "privacy-team@measure.example",
            "SUBJECT_PEPPER_PARAMETER": "/privacy/bench/subject-pepper",
            "TOKEN_KEY_PARAMETER": "/privacy/bench/token-key",
            "PUBLIC_BASE_URL": "https://privacy.example.com",
            "ALLOWED_ORIGINS": "https://www.example.com",
            "NEWSLETTER_THANK_YOU_URL": "https://www.example.com/newsletter/thanks",
            "DSR_THANK_YOU_URL": "https://www.example.com/privacy/request-received",
            "RECIPIENT_QUEUE_URL": recipients,
        }
        todo = [("BenchFloor", FLOOR, 128, {}, None, "{}")]
        for logical_id, binary, memory in functions(template):
            if ONLY and binary not in ONLY:
                continue
            event_name, expected = EVENTS[binary]
            with open(os.path.join(ROOT, "events", f"{event_name}.json")) as handle:
                todo.append((logical_id, binary, memory, json.load(handle), expected, event_name))
        for entry in todo:
            if not os.path.exists(os.path.join(X86_DIR, entry[1], "bootstrap")):
                print(f"{entry[1]}: not built, skipped", file=sys.stderr)
        todo = [entry for entry in todo if os.path.exists(os.path.join(X86_DIR, entry[1], "bootstrap"))]
        # Round by round, each function (the floor too) runs once per round:
        # the machine's drift over a run then falls on every function alike.
        runs = {entry[1]: [] for entry in todo}
        for round_number in range(RUNS):
            for logical_id, binary, memory, event, expected, _ in todo:
                runs[binary].append(run_once(binary, logical_id, memory, event, expected, environment, new_table()))
            print(f"round {round_number + 1}/{RUNS} done", file=sys.stderr, flush=True)
        floor_cold = statistics.median(run["cold_ms"] for run in runs[FLOOR])
        floor_init = statistics.median(run["init_ms"] for run in runs[FLOOR])
        rows = []
        for logical_id, binary, memory, event, expected, event_name in todo:
            cold = statistics.median(run["cold_ms"] for run in runs[binary])
            init = statistics.median(run["init_ms"] for run in runs[binary])
            warm = [ms for run in runs[binary] for ms in run["warm"]]
            p50 = percentile(warm, 0.5) if warm else float("nan")
            # The first request: from the first /next to its response; what
            # it takes beyond the same request warm is first-use set-up
            # (connections, lazy statics), apart from the request's own calls.
            first = statistics.median(run["cold_ms"] - run["init_ms"] for run in runs[binary])
            calls = [c for run in runs[binary] for c in run["calls"]]
            row = {
                "binary": binary,
                "event": event_name,
                "size": size_mib(binary),
                "init": init,
                "init_ratio": init / floor_init,
                "first": first,
                "set_up": first - p50,
                "cold": cold,
                "ratio": cold / floor_cold,
                "http": expected is not None,
                "p50": p50,
                "p99": percentile(warm, 0.99) if warm else float("nan"),
                "rss": max(run["rss_mib"] for run in runs[binary]),
                "calls": statistics.median(c for c, _ in calls) if calls else None,
                "units": statistics.median(u for _, u in calls) if calls else None,
            }
            rows.append(row)
        print()
        print(f"RUNS={RUNS} fresh processes per function, WARM={WARM} invocations each; moto (infra/moto-server.py) on this machine.")
        print()
        print("| function | event | size MiB | init ms | init × floor | first request ms | of which beyond warm p50 ms | cold start ms | × floor | warm p50 ms | warm p99 ms | peak RSS MiB | AWS calls / invocation | capacity units |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            size, arch = row["size"]
            calls = "–" if row["calls"] is None else f"{row['calls']:g}"
            units = "–" if row["units"] is None else f"{row['units']:g}"
            name = f"{row['binary']} (floor)" if row["binary"] == FLOOR else row["binary"]
            print(
                f"| {name} | {row['event']} | {size:.2f}{'' if arch == 'arm64' else ' (' + arch + ')'} | {row['init']:.1f} "
                f"| {row['init_ratio']:.2f} | {row['first']:.1f} | {row['set_up']:.1f} | {row['cold']:.1f} | {row['ratio']:.2f} | {row['p50']:.1f} | {row['p99']:.1f} | {row['rss']:.1f} | {calls} | {units} |"
            )
        # The cold-start budget is the HTTP functions' (a person waits on
        # their first response); the others' first response is a whole
        # batch (a drain, a sweep), shown for comparison. Size: every one.
        over = [
            row["binary"]
            for row in rows
            if row["size"][0] > 8 or (row["http"] and row["ratio"] > 2)
        ]
        print(f"\nSPEC 11's budgets: every binary ≤ 8 MiB; every HTTP function's cold start ≤ 2× the floor's ({', '.join(row['binary'] for row in rows if row['http'])}).")
        print(f"over budget: {', '.join(over)}" if over else "within budget: every function.")
    finally:
        moto.terminate()
        moto.wait()


signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
main()
