"""What the HTTPS test servers in this directory share (webhook_server.py,
duo_server.py; Python 3 standard library only).

The contract with the tests (tests/unit/push/test_server.cpp, ScriptServer):

  SERVER.py --cert server.pem --key server.key [--port 0] --script script.json
            [--log requests.log] [--watch-stdin] ...

- listens on 127.0.0.1 (--port 0: a port chosen by the kernel) and prints
  "PORT <n>" as the first line of stdout once it does;
- the script (JSON) is re-read on every request, so a test can change it
  while the server runs;
- every request it answers is appended to --log as one line;
- with --watch-stdin it exits as soon as stdin reaches EOF: the test process
  that holds the other end of the pipe is gone, even if it died by SIGKILL;
- a script's "rate_limit" makes it answer HTTP 429 (Handler.rate_limit):

    "rate_limit": {"path": P, "count": 2, "retry_after": 1, "form": "seconds",
                   "header": "Retry-After"}

  the first `count` requests to P (-1: all of them) get a 429, with the
  wait in `header` (Retry-After or X-Retry-After) as delta-seconds
  ("seconds"), as an HTTP-date ("date"), or not at all ("none"). What P
  names is the server's choice (a path, or "start" / "poll").

A server imports this module from its own directory (it puts that directory
first on sys.path, and writes no bytecode into the source tree), subclasses
State and Handler, and calls serve().
"""

import email.utils
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def add_arguments(parser):
    """The command-line options every test server takes."""
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--script", required=True)
    parser.add_argument("--log")
    parser.add_argument("--watch-stdin", action="store_true",
                        help="exit when stdin reaches EOF (the test process that holds the pipe died)")


class State:
    """A server's arguments, one lock for its shared data, the script and the
    request log."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.rate_limited = {}  # rate_limit path -> 429s sent

    def load_script(self):
        """The script as it is now; OSError or ValueError when unreadable."""
        with open(self.args.script) as f:
            return json.load(f)

    @staticmethod
    def behaviour_in(script, user):
        """How the script says `user` behaves: users.USER, else default."""
        return script.get("users", {}).get(user, script.get("default", "approve"))

    def log(self, line):
        if not self.args.log:
            return
        with self.lock, open(self.args.log, "a") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY the
    # second waits for the client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    timeout = 30

    # TLS is set up here, in the connection's own thread: a handshake done in
    # accept() would serialise every client behind the slowest one.
    def setup(self):
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            pass  # client went away (timeouts, wrong-certificate tests)

    def log_message(self, fmt, *args):  # quiet: the test reads our stdout
        pass

    @property
    def state(self):
        return self.server.state

    def rate_limit(self, path, script, body, now):
        """Answers 429 with `body` (JSON) when the script's rate_limit says so
        for `path`; True if it did. `now` is the server's clock."""
        rule = script.get("rate_limit")
        if not isinstance(rule, dict) or rule.get("path") != path:
            return False
        with self.state.lock:
            sent = self.state.rate_limited.get(path, 0)
            count = rule.get("count", -1)
            if 0 <= count <= sent:
                return False
            self.state.rate_limited[path] = sent + 1
        wait = rule.get("retry_after", 1)
        form = rule.get("form", "seconds")
        data = json.dumps(body).encode()
        self.send_response(429)
        if form == "seconds":
            self.send_header(rule.get("header", "Retry-After"), str(wait))
        elif form == "date":
            self.send_header(rule.get("header", "Retry-After"), email.utils.formatdate(now + wait, usegmt=True))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 100+ clients connect at once in the load tests

    def handle_error(self, request, client_address):
        # Handshakes the client aborts (wrong-certificate and pinning tests)
        # are expected; anything else is printed for the test's stderr file.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def watch_stdin():
    """Exits the process when stdin reaches EOF."""
    def watch():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def serve(args, handler, state):
    """Listens with TLS, prints "PORT <n>" and serves until interrupted."""
    if args.watch_stdin:
        watch_stdin()

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(args.cert, args.key)

    server = Server(("127.0.0.1", args.port), handler)
    server.tls = tls
    server.state = state
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
