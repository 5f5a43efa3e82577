#!/usr/bin/env python3
"""A scriptable implementation of the webhook push API (docs/PUSH-WEBHOOK.md)
over real HTTPS, for the tests in tests/unit/push. Python 3 standard library
only.

    webhook_server.py --cert server.pem --key server.key --port 0 \
        --secret-file secret --script script.json \
        [--events-file events.jsonl] [--log requests.log] [--watch-stdin]

Prints "PORT <n>" on the first line of stdout once it listens.

The script (JSON, re-read on every request) decides how each user's
challenges behave:

    {"default": "approve", "users": {"bob": "deny"}, "delay": 0.5,
     "device": "Pixel 8", "slow_seconds": 3, "events_fail_first": 2}

Behaviours: approve, deny, fraud (the answer, given `delay` seconds after
the start), timeout (pending forever), slow (sleeps slow_seconds before
answering the start), nodevice (404 on start), error500 (500 on start),
malformed / badsig / replay / stale / wrong_id (the poll reply is: invalid
JSON correctly signed / wrongly signed / a signed "approved" reply recorded
for an earlier request / signed 120 s in the past / about another
challenge), malformed_start / badsig_start (the same, on the start reply),
flaky (503 to the first two polls, then approve), error500_poll (503 to
every poll).

"rate_limit" (see test_https.py) with path "start" or "poll" answers those
requests, once their signature holds, with an unsigned 429.

POST .../events is the notification sink: the signature is checked and the
event appended as one line to --events-file; the first `events_fail_first`
posts get 503.

GET /test/echo, /test/slow?ms=N, /test/big?bytes=N and /test/redirect are
unsigned helpers for HttpClient tests.

Requests with a missing, stale, replayed or wrong signature get 401.
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_https  # noqa: E402  (the part shared with duo_server.py)

MAX_SKEW = 60
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
POLL_RE = re.compile(r"^(.*)/challenges/([^/]+)$")


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def sign(secret, canonical):
    return "v1=" + hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()


def request_canonical(method, path, timestamp, nonce, body):
    return "elevate-v1\n%s\n%s\n%s\n%s\n%s" % (method, path, timestamp, nonce, sha256_hex(body))


def response_canonical(status, request_nonce, timestamp, body):
    return "elevate-v1-response\n%d\n%s\n%s\n%s" % (status, request_nonce, timestamp, sha256_hex(body))


class State(test_https.State):
    def __init__(self, args):
        super().__init__(args)
        self.secret = open(args.secret_file, "rb").read().rstrip(b"\n")
        self.challenges = {}  # id -> {"user", "started", "polls"}
        self.seen_nonces = {}  # nonce -> time seen (replay protection)
        self.recorded = None  # a signed "approved" reply bound to an old nonce
        self.event_posts = 0

    def script(self):
        try:
            script = self.load_script()
        except (OSError, ValueError):
            return {}
        return script if isinstance(script, dict) else {}

    def behaviour(self, user):
        return self.behaviour_in(self.script(), user)

    def fresh_nonce(self, nonce):
        now = time.time()
        with self.lock:
            for n, t in list(self.seen_nonces.items()):
                if now - t > 2 * MAX_SKEW:
                    del self.seen_nonces[n]
            if nonce in self.seen_nonces:
                return False
            self.seen_nonces[nonce] = now
            return True


class Handler(test_https.Handler):
    server_version = "elevate-test-webhook"

    # --- replies ---------------------------------------------------------

    def reply(self, status, body, request_nonce=None, sign_reply=True, timestamp=None, signature=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if sign_reply:
            ts = str(int(time.time())) if timestamp is None else timestamp
            if signature is None:
                signature = sign(self.state.secret, response_canonical(status, request_nonce or "", ts, body))
            self.send_header("X-Elevate-Timestamp", ts)
            self.send_header("X-Elevate-Signature", signature)
        self.end_headers()
        self.wfile.write(body)

    def signed_reply_headers(self, status, body, request_nonce):
        ts = str(int(time.time()))
        return ts, sign(self.state.secret, response_canonical(status, request_nonce, ts, body))

    # --- request checks --------------------------------------------------

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def verify(self, body):
        """The request's nonce when its signature holds, else None."""
        ts = self.headers.get("X-Elevate-Timestamp", "")
        nonce = self.headers.get("X-Elevate-Nonce", "")
        sig = self.headers.get("X-Elevate-Signature", "")
        if not ts.isdigit() or abs(int(ts) - time.time()) > MAX_SKEW:
            return None
        if not NONCE_RE.match(nonce):
            return None
        expected = sign(self.state.secret, request_canonical(self.command, self.path, ts, nonce, body))
        if not hmac.compare_digest(expected, sig):
            return None
        if not self.state.fresh_nonce(nonce):
            return None
        return nonce

    # --- routes ----------------------------------------------------------

    def do_GET(self):
        self.route(b"")

    def do_POST(self):
        self.route(self.read_body())

    def route(self, body):
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/test/"):
            return self.test_helper(path, body)
        nonce = self.verify(body)
        if nonce is None:
            self.state.log("%s %s - 401" % (self.command, self.path))
            # Signed with the nonce it claimed, so a client can read the reason.
            return self.reply(401, {"error": "bad or stale signature"}, self.headers.get("X-Elevate-Nonce", ""))
        m = POLL_RE.match(path)
        kind = ("start" if self.command == "POST" and path.endswith("/challenges")
                else "poll" if self.command == "GET" and m else None)
        if kind and self.rate_limit(kind, self.state.script(), {"error": "too many requests"}, time.time()):
            self.state.log("%s %s - 429" % (self.command, self.path))
            return None
        if kind == "start":
            return self.start(body, nonce)
        if kind == "poll":
            return self.poll(m.group(2), nonce)
        if self.command == "POST" and path.endswith("/events"):
            return self.event(body, nonce)
        self.reply(404, {"error": "no such endpoint"}, nonce)

    def start(self, body, nonce):
        try:
            c = json.loads(body)
            cid, user = c["challenge_id"], c["user"]
            assert isinstance(cid, str) and isinstance(user, str)
            for key in ("host", "service", "remote_host", "tty", "role", "reason", "nonce"):
                assert isinstance(c[key], str), key
            assert isinstance(c["created"], int) and isinstance(c["expires"], int)
        except (ValueError, KeyError, AssertionError) as e:
            return self.reply(422, {"error": "bad challenge: %s" % e}, nonce)
        behaviour = self.state.behaviour(user)
        self.state.log("POST %s %s" % (self.path, user))
        script = self.state.script()
        if behaviour == "slow":
            time.sleep(float(script.get("slow_seconds", 3)))
        if behaviour == "nodevice":
            return self.reply(404, {"error": "no device enrolled"}, nonce)
        if behaviour == "error500":
            return self.reply(500, "internal error", sign_reply=False)
        with self.state.lock:
            self.state.challenges[cid] = {"user": user, "started": time.time(), "polls": 0}
        answer = {"challenge_id": cid, "status": "pending", "device": script.get("device", "Pixel 8")}
        if behaviour == "replay":
            # What a recording attacker holds: a genuine signed "approved"
            # reply, but bound to this (start) request's nonce.
            recorded = json.dumps({"challenge_id": cid, "status": "approved"}).encode()
            ts, sig = self.signed_reply_headers(200, recorded, nonce)
            with self.state.lock:
                self.state.recorded = (recorded, ts, sig)
        if behaviour == "malformed_start":
            return self.reply(201, b'{"challenge_id": "' + cid.encode() + b'", "status": ', nonce)
        if behaviour == "badsig_start":
            return self.reply(201, answer, nonce, signature="v1=" + "0" * 64)
        self.reply(201, answer, nonce)

    def poll(self, cid, nonce):
        with self.state.lock:
            c = self.state.challenges.get(cid)
            if c:
                c["polls"] += 1
        if not c:
            self.state.log("GET %s -" % self.path)
            return self.reply(404, {"error": "unknown challenge"}, nonce)
        user = c["user"]
        self.state.log("GET %s %s" % (self.path, user))
        behaviour = self.state.behaviour(user)
        script = self.state.script()
        answered = time.time() - c["started"] >= float(script.get("delay", 0))
        status = "pending"
        if answered and behaviour in ("approve", "deny", "fraud"):
            status = {"approve": "approved", "deny": "denied", "fraud": "fraud"}[behaviour]
        if behaviour == "flaky":
            if c["polls"] <= 2:
                return self.reply(503, "try again", sign_reply=False)
            status = "approved"
        if behaviour == "error500_poll":
            return self.reply(503, "unavailable", sign_reply=False)
        if behaviour == "malformed":
            return self.reply(200, "{not json", nonce)
        if behaviour == "badsig":
            return self.reply(200, {"challenge_id": cid, "status": "approved"}, nonce, signature="v1=" + "ab" * 32)
        if behaviour == "replay":
            recorded, ts, sig = self.state.recorded
            return self.reply(200, recorded, nonce, timestamp=ts, signature=sig)
        if behaviour == "stale":
            return self.reply(200, {"challenge_id": cid, "status": "approved"}, nonce,
                              timestamp=str(int(time.time()) - 120))
        if behaviour == "wrong_id":
            return self.reply(200, {"challenge_id": "another-challenge", "status": "approved"}, nonce)
        self.reply(200, {"challenge_id": cid, "status": status}, nonce)

    def event(self, body, nonce):
        fail_first = int(self.state.script().get("events_fail_first", 0))
        with self.state.lock:
            self.state.event_posts += 1
            n = self.state.event_posts
        self.state.log("POST %s -" % self.path)
        if n <= fail_first:
            return self.reply(503, "not now", sign_reply=False)
        try:
            event = json.loads(body)
        except ValueError:
            return self.reply(400, {"error": "event is not JSON"}, nonce)
        if self.server.state.args.events_file:
            with self.state.lock, open(self.state.args.events_file, "a") as f:
                f.write(json.dumps(event, sort_keys=True) + "\n")
        self.reply(200, {"ok": True}, nonce)

    def test_helper(self, path, body):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        self.state.log("%s %s -" % (self.command, self.path))
        if path == "/test/echo":
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = {"method": self.command, "path": self.path, "body": body.decode(errors="replace"),
                      "headers": headers}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Test-Header", "  Some Value  ")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif path == "/test/slow":
            time.sleep(int(query.get("ms", "3000")) / 1000.0)
            self.reply(200, {"slow": True}, sign_reply=False)
        elif path == "/test/big":
            self.reply(200, b"x" * int(query.get("bytes", "0")), sign_reply=False)
        elif path == "/test/redirect":
            self.send_response(302)
            self.send_header("Location", "/test/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.reply(404, {"error": "no such helper"}, sign_reply=False)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    test_https.add_arguments(p)
    p.add_argument("--secret-file", required=True)
    p.add_argument("--events-file")
    args = p.parse_args()
    return test_https.serve(args, Handler, State(args))


if __name__ == "__main__":
    sys.exit(main())
