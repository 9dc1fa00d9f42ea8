"""A stand-in for SES that answers at SES's speed and keeps count of the mails.

The newsletter issue benchmark (infra/bench-issue) sends every mail through
the real SES adapter (the SDK, `SendRawEmail`) to this server, reached by
`AWS_ENDPOINT_URL_SES`, while DynamoDB and SQS stay on moto. moto's SES
answers at moto's speed (single-threaded Python behind four DynamoDB calls a
mail), so a rate measured against it is moto's; this stub answers each call
after a configured latency, in its own thread, so the rate it observes is the
sender's.

It speaks SES v1's query protocol: `SendRawEmail` (recipients from
`Destinations.member.N`, else the message's To header) and `SendEmail`
(`Destination.ToAddresses.member.N`), answered with a message id. Like SES, it
has a maximum send rate: a token bucket holding one second of the rate, and a
call finding it empty is answered `Throttling` ("Maximum sending rate
exceeded.", HTTP 400) and counted, so a sender that outruns its configured
rate is seen doing so. Every mail sent is counted per recipient, so
duplicates are counted here and not only by the sender's send records.

    GET  /stats  -> JSON: mails, recipients, duplicates, throttled, other_calls,
                    first/last (seconds since the stub started), rate (mails
                    per second from the first mail to the last), max_per_second
                    (the most mails in any one-second window), latency_ms
    POST /reset  -> forgets every mail and count (between phases of a run)

Keeps no address anywhere but in memory, and logs none.

Usage: python3 ses-stub.py PORT_FILE [--rate MAILS_PER_SECOND] [--latency-ms MS]
(binds 127.0.0.1 on a free port and writes the port to PORT_FILE once it listens).
"""

import argparse
import base64
import bisect
import collections
import email.parser
import email.utils
import json
import random
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAMESPACE = "http://ses.amazonaws.com/doc/2010-12-01/"


class Ledger:
    """What the stub was asked to send, and when."""

    def __init__(self, rate, latency_ms):
        self.lock = threading.Lock()
        self.rate = rate
        self.latency_ms = latency_ms
        self.started = time.monotonic()
        self.reset()

    def reset(self):
        with self.lock:
            self.per_recipient = collections.Counter()
            self.times = []
            self.throttled = 0
            self.other_calls = 0
            self.tokens = self.rate
            self.refilled = time.monotonic()

    def admit(self):
        """Takes a token from the bucket (one second of the rate): False when empty."""
        with self.lock:
            if self.rate <= 0:
                return True
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.refilled) * self.rate)
            self.refilled = now
            if self.tokens < 1.0:
                self.throttled += 1
                return False
            self.tokens -= 1.0
            return True

    def sent(self, recipients):
        with self.lock:
            bisect.insort(self.times, time.monotonic() - self.started)
            for recipient in recipients:
                self.per_recipient[recipient.lower()] += 1

    def other(self):
        with self.lock:
            self.other_calls += 1

    def stats(self):
        with self.lock:
            times = list(self.times)
            mails = len(times)
            recipients = len(self.per_recipient)
            duplicates = sum(count - 1 for count in self.per_recipient.values())
            throttled, other_calls = self.throttled, self.other_calls
        most, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            most = max(most, end - start + 1)
        span = times[-1] - times[0] if mails > 1 else 0.0
        return {
            "mails": mails,
            "recipients": recipients,
            "duplicates": duplicates,
            "throttled": throttled,
            "other_calls": other_calls,
            "first": round(times[0], 3) if times else None,
            "last": round(times[-1], 3) if times else None,
            "rate": round((mails - 1) / span, 2) if span > 0 else None,
            "max_per_second": most,
            "configured_rate": self.rate,
            "latency_ms": self.latency_ms,
        }


def recipients_of(form):
    listed = [value for key, value in form.items() if key.startswith("Destinations.member.")]
    listed += [value for key, value in form.items() if key.startswith("Destination.ToAddresses.member.")]
    if listed:
        return listed
    raw = form.get("RawMessage.Data")
    if not raw:
        return []
    headers = email.parser.BytesHeaderParser().parsebytes(base64.b64decode(raw))
    return [address for _, address in email.utils.getaddresses(headers.get_all("To", []))]


def make_handler(ledger):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def answer(self, status, body, content_type="text/xml"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/stats":
                self.answer(200, json.dumps(ledger.stats()), "application/json")
            else:
                self.answer(404, "{}", "application/json")

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path == "/reset":
                ledger.reset()
                self.answer(200, "{}", "application/json")
                return
            form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
            action = form.get("Action", "")
            # Counted on arrival, as SES's rate limit sees a call; answered
            # after SES's latency, ±20 %, with a tail: one call in ten up to 2×.
            if action in ("SendRawEmail", "SendEmail"):
                admitted = ledger.admit()
                if admitted:
                    ledger.sent(recipients_of(form))
            else:
                ledger.other()
            latency = ledger.latency_ms * random.uniform(0.8, 1.2)
            if random.random() < 0.1:
                latency *= random.uniform(1.0, 2.0)
            time.sleep(latency / 1000.0)
            if action in ("SendRawEmail", "SendEmail"):
                if not admitted:
                    self.answer(
                        400,
                        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type>'
                        "<Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message>"
                        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
                    )
                    return
                self.answer(
                    200,
                    f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>'
                    f"<MessageId>{uuid.uuid4()}</MessageId></{action}Result>"
                    f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                    f"</{action}Response>",
                )
                return
            self.answer(
                200,
                f'<{action}Response xmlns="{NAMESPACE}"><{action}Result/>'
                f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                f"</{action}Response>",
            )

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port_file")
    parser.add_argument("--rate", type=float, default=14.0, help="SES's maximum send rate; 0: none")
    parser.add_argument("--latency-ms", type=float, default=60.0)
    args = parser.parse_args()
    ledger = Ledger(args.rate, args.latency_ms)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(ledger))
    server.daemon_threads = True
    with open(args.port_file, "w", encoding="utf-8") as out:
        out.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
