#!/usr/bin/env python3
"""A Duo Auth API v2 stand-in for elevate's tests (Python 3 stdlib only).

Serves HTTPS on 127.0.0.1 and checks every request's signature the way Duo
does: the date from X-Duo-Date (or Date), the canonical string
"date\\nMETHOD\\nhost\\npath\\nparams" (params URL-encoded with RFC 3986
unreserved characters kept, sorted), HMAC-SHA1 or HMAC-SHA512 with the
secret key, HTTP Basic "ikey:hexsig". A bad signature gets Duo's 401
{"stat":"FAIL","code":40103,...}.

  duo_server.py --cert server.pem --key server.key --port 0 \\
      --ikey DIXXXXXXXXXXXXXXXXXX --skey-file skey --script script.json \\
      [--log requests.log] [--watch-stdin]

The first line on stdout is "PORT <n>" (test_https.py has what the test
servers share). The script (re-read on every request) says how each user
behaves:

  {"default": "approve", "users": {"bob": "deny"},
   "device": "iOS (XXX-XXX-1234)", "slow_ms": 1500}

Script keys besides the behaviours:

  "rate_limit": {"path": "/auth/v2/preauth", "count": 2, "retry_after": 1}
      HTTP 429 (after the signature check) on that endpoint; see
      test_https.py;
  "clock_offset": S
      this server's clock runs S seconds off: its Date header, and the
      window the request's signed date must fall in.

Behaviours: approve, deny, fraud, timeout (always "waiting"), slow (every
answer delayed by slow_ms, then approve), malformed (preauth body is not
JSON), malformed_status (auth_status result is nonsense), duo_timeout
(Duo's own push timeout: deny/timeout), nodevice (no
push-capable device), enroll, error500, bypass (preauth "allow"), locked
(preauth "deny").

Each request is appended to --log as "METHOD PATH USERNAME".
"""

import argparse
import base64
import email.utils
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.parse
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_https  # noqa: E402  (the part shared with webhook_server.py)

DEVICE_ID = "DPFZRS9FB0D46QFTM899"
# How far the signed date may be from our clock. Duo refuses stale
# requests too; the exact window and code are this server's choice.
MAX_SKEW = 300


def canon_params(pairs):
    """Duo's parameter canonicalization (same as OAuth 1.0, RFC 5849 3.4.1.3.2)."""
    encoded = sorted(
        (urllib.parse.quote(k, safe="~"), urllib.parse.quote(v, safe="~")) for k, v in pairs
    )
    return "&".join("%s=%s" % kv for kv in encoded)


def canonical(date, method, host, path, pairs):
    return "\n".join([date, method.upper(), host.lower(), path, canon_params(pairs)])


class State(test_https.State):
    def __init__(self, args):
        super().__init__(args)
        with open(args.skey_file, "rb") as f:
            self.skey = f.read().strip()
        self.txids = {}  # txid -> {"user", "behaviour", "polls"}
        self.clock_offset = 0  # from the script, for date_time_string()

    def now(self):
        return time.time() + self.clock_offset


class Handler(test_https.Handler):
    server_version = "duo-test"

    # -- replies ---------------------------------------------------------
    def date_time_string(self, timestamp=None):
        # The Date header of every reply, from this server's (offset) clock.
        return email.utils.formatdate(self.state.now() if timestamp is None else timestamp, usegmt=True)

    def send_raw(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def ok(self, response):
        self.send_raw(200, json.dumps({"stat": "OK", "response": response}))

    def fail(self, status, code, message):
        self.send_raw(status, json.dumps({"stat": "FAIL", "code": code, "message": message}))

    # -- request ---------------------------------------------------------
    def do_GET(self):
        self.handle_api("GET")

    def do_POST(self):
        self.handle_api("POST")

    def read_params(self, method):
        url = urllib.parse.urlsplit(self.path)
        if method == "GET":
            raw = url.query
        else:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8")
            ctype = self.headers.get("Content-Type", "")
            if raw and not ctype.startswith("application/x-www-form-urlencoded"):
                raise ValueError("POST body must be application/x-www-form-urlencoded")
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw), errors="strict")
        return url.path, pairs

    def signature_ok(self, method, path, pairs):
        """None when the request is signed by our ikey/skey, else (code, message)."""
        auth = self.headers.get("Authorization", "")
        date = self.headers.get("X-Duo-Date") or self.headers.get("Date")
        if not auth.startswith("Basic ") or not date:
            return (40101, "Missing request credentials")
        try:
            ikey, sig = base64.b64decode(auth[6:], validate=True).decode().split(":", 1)
        except (ValueError, UnicodeDecodeError):
            return (40102, "Invalid integration key in request credentials")
        if not hmac.compare_digest(ikey.encode(), self.state.args.ikey.encode()):
            return (40102, "Invalid integration key in request credentials")
        parsed = email.utils.parsedate_tz(date)
        if parsed is None or abs(email.utils.mktime_tz(parsed) - self.state.now()) > MAX_SKEW:
            return (40105, "Request date is missing, malformed or too far from the server's clock")
        # As Duo (and duo_client_python, which signs the host it connects
        # to, never the port): the Host header's name, without any port,
        # lower-cased.
        host = urllib.parse.urlsplit("//" + self.headers.get("Host", "")).hostname or ""
        canon = canonical(date, method, host, path, pairs).encode()
        digest = {40: hashlib.sha1, 128: hashlib.sha512}.get(len(sig))
        if digest is None:
            return (40103, "Invalid signature in request credentials")
        expected = hmac.new(self.state.skey, canon, digest).hexdigest()
        if not hmac.compare_digest(expected.encode(), sig.lower().encode()):
            return (40103, "Invalid signature in request credentials")
        return None

    def handle_api(self, method):
        state = self.state
        try:
            path, pairs = self.read_params(method)
        except (ValueError, UnicodeDecodeError):
            self.fail(400, 40002, "Invalid request parameters")
            return
        params = dict(pairs)
        user = params.get("username")
        if path == "/auth/v2/auth_status":
            with state.lock:
                user = state.txids.get(params.get("txid", ""), {}).get("user")
        state.log("%s %s %s" % (method, path, user or "-"))

        routes = {
            ("POST", "/auth/v2/preauth"): self.preauth,
            ("POST", "/auth/v2/auth"): self.auth,
            ("GET", "/auth/v2/auth_status"): self.auth_status,
        }
        route = routes.get((method, path))
        if route is None:
            self.fail(404, 40401, "Resource not found")
            return
        try:
            script = state.load_script()
        except (OSError, ValueError) as e:
            self.fail(500, 50000, "test script unreadable: %s" % e)
            return
        state.clock_offset = script.get("clock_offset", 0)
        bad = self.signature_ok(method, path, pairs)
        if bad:
            self.fail(401, bad[0], bad[1])
            return
        if self.rate_limit(path, script, {"stat": "FAIL", "code": 42901, "message": "Too Many Requests"},
                           self.state.now()):
            return
        route(params, script)

    # -- endpoints -------------------------------------------------------
    def delay(self, script, behaviour):
        if behaviour == "slow":
            time.sleep(script.get("slow_ms", 1500) / 1000.0)

    def preauth(self, params, script):
        user = params.get("username", "")
        if not user:
            self.fail(400, 40002, "Invalid request parameters")
            return
        b = self.state.behaviour_in(script, user)
        self.delay(script, b)
        if b == "error500":
            self.fail(500, 50000, "Internal server error")
        elif b == "malformed":
            self.send_raw(200, "<html>this is not Duo</html>", "text/html")
        elif b == "enroll":
            self.ok({"result": "enroll", "status_msg": "Enroll an authentication device to proceed",
                     "enroll_portal_url": "https://api-xxxxxxxx.duosecurity.com/portal?12345"})
        elif b == "bypass":
            self.ok({"result": "allow", "status_msg": "Allowing unknown user"})
        elif b == "locked":
            self.ok({"result": "deny", "status_msg": "Your account is disabled."})
        else:
            caps = ["sms", "phone"] if b == "nodevice" else ["auto", "push", "sms", "phone", "mobile_otp"]
            devices = [
                {"device": "DPHONEONLY0000000000", "type": "phone", "number": "XXX-XXX-0000",
                 "name": "desk", "display_name": "Landline (XXX-XXX-0000)", "capabilities": ["phone"]},
                {"device": DEVICE_ID, "type": "phone", "number": "XXX-XXX-1234", "name": "",
                 "display_name": script.get("device", "iOS (XXX-XXX-1234)"), "capabilities": caps},
            ]
            self.ok({"result": "auth", "status_msg": "Account is active", "devices": devices})

    def auth(self, params, script):
        user = params.get("username", "")
        info = urllib.parse.parse_qs(params.get("pushinfo", ""), keep_blank_values=True)
        if (not user or params.get("factor") != "push" or params.get("device") != DEVICE_ID
                or params.get("async") != "1" or "host" not in info or "service" not in info):
            self.fail(400, 40002, "Invalid request parameters")
            return
        b = self.state.behaviour_in(script, user)
        self.delay(script, b)
        txid = str(uuid.uuid4())
        with self.state.lock:
            self.state.txids[txid] = {"user": user, "behaviour": b, "polls": 0}
        self.ok({"txid": txid})

    def auth_status(self, params, script):
        with self.state.lock:
            tx = self.state.txids.get(params.get("txid", ""))
            if tx:
                tx["polls"] += 1
        if not tx:
            self.fail(400, 40002, "Invalid request parameters")
            return
        b = tx["behaviour"]
        self.delay(script, b)
        waiting = {"result": "waiting", "status": "pushed",
                   "status_msg": "Pushed a login request to your device..."}
        if b == "timeout" or tx["polls"] < 2:  # the first poll always waits
            self.ok(waiting)
        elif b == "deny":
            self.ok({"result": "deny", "status": "deny", "status_msg": "Login request denied."})
        elif b == "fraud":
            self.ok({"result": "deny", "status": "fraud", "status_msg": "Login request reported as fraudulent."})
        elif b == "duo_timeout":
            self.ok({"result": "deny", "status": "timeout", "status_msg": "Login timed out."})
        elif b == "malformed_status":
            self.ok({"result": "perhaps"})
        else:
            self.ok({"result": "allow", "status": "allow", "status_msg": "Success. Logging you in..."})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    test_https.add_arguments(p)
    p.add_argument("--ikey", required=True)
    p.add_argument("--skey-file", required=True)
    args = p.parse_args()
    return test_https.serve(args, Handler, State(args))


if __name__ == "__main__":
    sys.exit(main())
