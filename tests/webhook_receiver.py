"""A real webhook receiver on loopback for the tests: verifies every signature it gets.

Each POST is checked with :func:`siteupdates.webhooks.verify` and, where it is
installed (Python 3.10 and later), with the Standard Webhooks reference
implementation too. ``script(webhook_id, nth)`` says how to answer the ``nth``
attempt (1, 2, ...) of a delivery: ``ok`` (204), ``500``, ``hang`` (answer only
after ``hang`` seconds, after the sender gave up), ``close`` (close the
connection without an answer) or ``hold`` (wait until :attr:`release` is set,
signalling :attr:`arrived` first).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from siteupdates.errors import WebhookVerificationError
from siteupdates.webhooks import verify

Webhook: Any
try:
    from standardwebhooks.webhooks import Webhook
except ImportError:  # Python < 3.10: the reference implementation needs 3.10
    Webhook = None


class Receiver:
    def __init__(
        self,
        secrets: Sequence[str],
        script: Callable[[str, int], str] = lambda _id, _n: "ok",
        *,
        hang: float = 3.0,
    ) -> None:
        self.secrets = list(secrets)
        self.script = script
        self.hang = hang
        self.lock = threading.Lock()
        #: Every verified attempt: (webhook-id, body, path).
        self.seen: List[Tuple[str, bytes, str]] = []
        #: Deliveries answered 2xx: webhook-id -> event.
        self.acked: Dict[str, Dict[str, Any]] = {}
        #: Attempts whose signature did not verify.
        self.bad: List[str] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k: v for k, v in h.headers.items()}
        try:
            event = verify(headers, body, self.secrets)
            if Webhook is not None and not any(
                self._reference_ok(s, body, headers) for s in self.secrets
            ):
                raise WebhookVerificationError("the reference implementation refused it")
        except WebhookVerificationError as exc:
            with self.lock:
                self.bad.append(str(exc))
            self._answer(h, 401)
            return
        msg_id = headers.get("webhook-id") or headers.get("Webhook-Id") or ""
        with self.lock:
            self.seen.append((msg_id, body, h.path))
            nth = sum(1 for i, _, _ in self.seen if i == msg_id)
        action = self.script(msg_id, nth)
        if action == "500":
            self._answer(h, 500)
        elif action == "hang":
            time.sleep(self.hang)
            self._answer(h, 204)
        elif action == "close":
            h.close_connection = True
            h.connection.close()
        elif action == "hold":
            self.arrived.set()
            self.release.wait(30)
            self._answer(h, 204)
        else:
            with self.lock:
                self.acked[msg_id] = event
            self._answer(h, 204)

    @staticmethod
    def _reference_ok(secret: str, body: bytes, headers: Dict[str, str]) -> bool:
        assert Webhook is not None
        try:
            Webhook(secret).verify(body, headers)
        except Exception:
            return False
        return True

    @staticmethod
    def _answer(h: BaseHTTPRequestHandler, status: int) -> None:
        try:
            h.send_response(status)
            h.send_header("content-length", "0")
            h.end_headers()
        except OSError:  # the sender is gone (given up, or killed)
            pass

    def ids(self) -> List[str]:
        with self.lock:
            return [i for i, _, _ in self.seen]

    def events(self, path: Optional[str] = None) -> List[Dict[str, Any]]:
        with self.lock:
            return [json.loads(b) for _, b, p in self.seen if path is None or p == path]
