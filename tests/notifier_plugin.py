"""Plugins for tests that run real processes: a notifier and an updater that record to files.

Written as a third party would, with the public API only. Both are loaded into
``siteupdates`` command processes with ``--plugin tests.notifier_plugin:NAME``
and configured through environment variables, so many processes append to one
file and a test counts what reached the outside world.

* :class:`FileNotifier` appends each notice as one JSON line to
  ``$SU_TEST_SENT``. ``$SU_TEST_SLOW`` seconds of delay before sending,
  ``$SU_TEST_DIE_AFTER_SEND=1`` kills its own process right after the first
  send (between send and mark). :class:`LegacyFileNotifier` is the same without
  the ``attempt`` argument (a notifier written for the first release).
* :class:`FencedUpdater` takes ``$SU_TEST_UPDATE_SECONDS`` per update and
  records each performance in ``$SU_TEST_PERFORMED`` with its fencing token,
  refusing, as a real system would, a token lower than one it has seen for the
  request (the runbook pattern of docs/workers.md). :class:`LegacyUpdater` is
  the first release's ``(request, tenant)`` hook, which has no token.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from siteupdates.hookspecs import hookimpl

if TYPE_CHECKING:  # names of this release; the legacy plugins run on the first one too
    from siteupdates.domain import Tenant, UpdateRequest
    from siteupdates.notices import DeliveryAttempt, Notice
    from siteupdates.ports import Fence


def _append(path: str, record: Dict[str, Any]) -> None:
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write of an O_APPEND file: lines never interleave
    finally:
        os.close(fd)


def read_lines(path: str) -> List[Dict[str, Any]]:
    """The JSON lines of ``path`` (none when it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class FileNotifier:
    """Appends each notice to a file; ``fail`` makes it refuse (permanent or temporary)."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.path = path or os.environ["SU_TEST_SENT"]
        self.fail: Optional[str] = None
        self.slow = float(os.environ.get("SU_TEST_SLOW", "0"))
        self.die_after_send = os.environ.get("SU_TEST_DIE_AFTER_SEND") == "1"

    def _send(self, notice: Notice, token: int) -> None:
        if self.fail == "permanent":
            from siteupdates.errors import PermanentDeliveryError

            raise PermanentDeliveryError(f"mailbox {notice.email} unknown")
        if self.fail == "temporary":
            from siteupdates.errors import TemporaryDeliveryError

            raise TemporaryDeliveryError("the channel is busy; try later")
        record = {
            "key": notice.key,
            "to": f"{getattr(notice, 'contact_name', '')} <{notice.email}>",
            "subject": notice.subject,
            "body": notice.body,
            "pid": os.getpid(),
            "token": token,
            "at": time.time(),
        }
        _append(self.path, record)
        if self.die_after_send:
            os.kill(os.getpid(), signal.SIGKILL)

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice, attempt: DeliveryAttempt) -> bool:
        """Send after the fence: a given-up attempt sends nothing."""
        if self.slow:
            time.sleep(self.slow)
        attempt.commit()
        self._send(notice, attempt.token)
        return True


class LegacyFileNotifier(FileNotifier):
    """The same, written for the first release: no ``attempt``, so it cannot be cancelled."""

    @hookimpl
    def siteupdates_deliver_notice(self, notice: Notice) -> bool:  # type: ignore[override]
        """Send, however long it took."""
        if self.slow:
            time.sleep(self.slow)
        self._send(notice, 0)
        return True


class FencedUpdater:
    """An update that takes a while and records itself, refusing stale fencing tokens."""

    def __init__(self) -> None:
        self.path = os.environ["SU_TEST_PERFORMED"]
        self.seconds = float(os.environ.get("SU_TEST_UPDATE_SECONDS", "0.5"))
        self.worker = os.environ.get("SU_TEST_WORKER", str(os.getpid()))

    def _record(self, request_id: str, token: int) -> bool:
        """The system's side: accept the work unless it saw a higher token for the request."""
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            seen = [r["token"] for r in read_lines(self.path) if r["request"] == request_id]
            accepted = not seen or token > max(seen)
            _append(
                self.path,
                {"request": request_id, "token": token, "worker": self.worker,
                 "pid": os.getpid(), "accepted": accepted, "at": time.time()},
            )  # fmt: skip
        return accepted

    @hookimpl
    def siteupdates_perform_update(
        self, request: UpdateRequest, tenant: Tenant, fence: Fence
    ) -> bool:
        """Work, then record with the token (a stale token is refused: the update fails)."""
        time.sleep(self.seconds)
        if not self._record(request.id, fence.token):
            raise RuntimeError(f"stale fencing token {fence.token} for {request.id}")
        return True


class LegacyUpdater(FencedUpdater):
    """The first release's hook: no fencing token, so every call is recorded as accepted."""

    @hookimpl
    def siteupdates_perform_update(  # type: ignore[override]
        self, request: UpdateRequest, tenant: Tenant
    ) -> bool:
        """Work, then record."""
        time.sleep(self.seconds)
        _append(
            self.path,
            {"request": request.id, "token": 0, "worker": self.worker, "pid": os.getpid(),
             "accepted": True, "at": time.time()},
        )  # fmt: skip
        return True
