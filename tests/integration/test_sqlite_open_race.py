"""Processes opening one new SQLite file at once: every one opens it, none sees a stranger."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from siteupdates.builtin.sqlite import SqliteStorage
from siteupdates.sql import MIGRATIONS

CTX = mp.get_context("spawn")


def _open(url: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        s = SqliteStorage(url)
        results.put(s.schema_version())
        s.close()
    except Exception as exc:  # reported, not raised: the parent says which round failed
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    rounds, k = 12, 3
    for r in range(rounds):
        url = f"sqlite:///{tmp_path / f'new-{r}.db'}"
        barrier, results = CTX.Barrier(k), CTX.Queue()
        procs = [CTX.Process(target=_open, args=(url, barrier, results)) for _ in range(k)]
        for p in procs:
            p.start()
        got = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        assert got == [len(MIGRATIONS)] * k, f"round {r}: {got}"
