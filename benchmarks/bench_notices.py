"""Notices delivered per second to a local SMTP server, against a bare smtplib loop.

    python -m benchmarks --only notices

The server is aiosmtpd in a process of its own (it accepts and counts every
message), so its CPU is not charged to either side. The library side is a
:class:`~siteupdates.app.outbox.Dispatcher` with the SMTP notifier delivering
``n`` notices from the outbox of a SQLite file (WAL): claim, fenced attempt,
settle and log, per notice. The baseline is what a skeptic would write to mail
the same notices: one ``smtplib.SMTP`` connection and a ``send_message`` loop
over messages with the same headers and body, built in the loop, with no
outbox at all. Both sides are wall-clock time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List

UTC = timezone.utc

SERVER = """
import asyncio, sys
from aiosmtpd.controller import Controller

class Count:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Count.n += 1
        return "250 OK"

c = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """An aiosmtpd server in a child process, stopped when its stdin closes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def seeded(work: Path, n: int) -> Path:
    """A SQLite file with ``n`` notices due in its outbox."""
    from benchmarks.bench_app import T0, build
    from siteupdates import Desk
    from siteupdates.domain import RequestDraft
    from siteupdates.presets import CAMPUS_HOSTING

    path = work / f"notices-{n}.db"
    build(path, 100, 0)
    local = datetime(2026, 3, 8, 22)
    drafts = [
        RequestDraft(f"t{i % 100:05d}", "staging" if (i // 100) % 2 else "production/sandbox",
                     None, True, local)
        for i in range(n)
    ]  # fmt: skip
    with Desk.open(f"sqlite:///{path}", clock=lambda: T0, preset=CAMPUS_HOSTING) as desk:
        desk.submit_many("ops", drafts)
        assert len(desk.storage.outbox()) == n
    return path


def measure(work: Path, rounds: int, n: int = 500) -> Dict[str, List[float]]:
    """Notices per second, by side (``base``, ``lib``), in interleaved rounds."""
    import smtplib
    from email.message import EmailMessage

    from siteupdates.app.outbox import Dispatcher
    from siteupdates.builtin.smtp import SmtpNotifier
    from siteupdates.builtin.sqlite import SqliteStorage
    from siteupdates.domain.messages import Notice
    from siteupdates.plugins import PluginHost

    base_db = seeded(work, n)
    server = Server()
    url = f"smtp://127.0.0.1:{server.port}?from=hosting@provider.example"
    try:
        probe = SqliteStorage(f"sqlite:///{base_db}")
        notices = [Notice.from_payload(o.payload) for o in probe.outbox()]
        probe.close()

        def base() -> float:
            t = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
                for x in notices:
                    msg = EmailMessage()
                    msg["From"] = "hosting@provider.example"
                    msg["To"] = f"{x.contact_name} <{x.email}>"
                    msg["Subject"] = x.subject
                    msg["Message-ID"] = f"<{x.key.replace(':', '.')}@provider.example>"
                    msg["X-Siteupdates-Key"] = x.key
                    msg.set_content(x.body + "\n", charset="utf-8")
                    smtp.send_message(msg)
            return n / (time.perf_counter() - t)

        def lib() -> float:
            copy = work / "notices-lib.db"
            shutil.copy(base_db, copy)
            storage = SqliteStorage(f"sqlite:///{copy}")
            host = PluginHost(
                plugins=[SmtpNotifier(url, timeout=10)], entry_points=False,
                blocked=["siteupdates.notify.log", "siteupdates.notify.smtp"],
            )  # fmt: skip
            now = datetime.now(UTC)
            d = Dispatcher(storage, host, clock=lambda: datetime.now(UTC))
            t = time.perf_counter()
            report = d.run_once()
            took = time.perf_counter() - t
            assert report.delivered == n, report
            assert now <= datetime.now(UTC)
            storage.close()
            return n / took

        sides: Dict[str, Callable[[], float]] = {"base": base, "lib": lib}
        for s in sides.values():  # warm-up: imports, the server's first connection
            s()
        out: Dict[str, List[float]] = {k: [] for k in sides}
        for r in range(rounds):
            for k in sides if r % 2 == 0 else reversed(list(sides)):
                out[k].append(sides[k]())
        return out
    finally:
        server.close()


def main(argv: Any = None) -> int:
    import statistics
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        got = measure(Path(tmp), 5)
    b, lib = statistics.median(got["base"]), statistics.median(got["lib"])
    print(f"bare smtplib loop: {b:.0f}/s; library: {lib:.0f}/s; ratio {lib / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
