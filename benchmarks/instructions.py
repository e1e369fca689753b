"""Instructions per interactive submit, counted by valgrind: a figure the load cannot move.

    python -m benchmarks.instructions [--submits 300]

On a shared machine a timed figure moves with the neighbours; the number of
user-space instructions a submit executes does not. Each side runs in its own
process under ``valgrind --tool=callgrind``: once with no submit, once with
``--submits`` of them, both after the same warm-up (the first submits load what
the change path imports lazily), and the difference is divided by the count.
The sides are the library's submit through ``Desk`` and the interactive
figure's "own statements" baseline (counter read and three inserts through bare
sqlite3, rows built from plain values). Kernel time (the commit's writes) is not
counted, so the ratio here is larger than the timed one; what it is for is
before and after of one change: ``PYTHONPATH=<other tree>/src python -m
benchmarks.instructions``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence


def _sides(work: Path) -> Dict[str, Callable[[int], None]]:
    from benchmarks.bench_app import T0, build, submitter
    from benchmarks.suite import (
        _HISTORY_COLUMNS,
        _OUTBOX_COLUMNS,
        _REQUEST_COLUMNS,
        _insert,
        _open_bare,
        bare_rows,
    )
    from siteupdates import Desk
    from siteupdates.domain.timeutil import get_zone
    from siteupdates.presets import CAMPUS_HOSTING

    base = work / "base.db"
    build(base, 1, 0)
    local, chicago = datetime(2026, 3, 8, 22), get_zone("America/Chicago")
    shutil.copy(base, work / "lib.db")
    desk = Desk.open(f"sqlite:///{work / 'lib.db'}", clock=lambda: T0, preset=CAMPUS_HOSTING)
    submit = submitter(desk, "ops")
    shutil.copy(base, work / "writes.db")
    con = _open_bare(work / "writes.db")
    ins = [_insert(t, c) for t, c in (("requests", _REQUEST_COLUMNS),
           ("history", _HISTORY_COLUMNS), ("outbox", _OUTBOX_COLUMNS))]  # fmt: skip

    def lib(n: int) -> None:
        for k in range(n):
            submit("t00000", target="production/sandbox" if k % 2 else "staging",
                   version=None, db_refresh=True, at=local)  # fmt: skip

    def writes(n: int) -> None:
        for k in range(n):
            target = "production/sandbox" if k % 2 else "staging"
            rows = bare_rows("t00000", target, local, chicago, "ops", T0)
            con.execute("BEGIN IMMEDIATE")
            con.execute("SELECT n FROM reference_version").fetchall()
            for statement, row in zip(ins, rows):
                con.execute(statement, row)
            con.execute("COMMIT")

    return {"lib": lib, "writes": writes}


def run_side(side: str, n: int) -> None:
    """The body valgrind runs: warm both sides up, then ``n`` of ``side``."""
    with tempfile.TemporaryDirectory() as tmp:
        sides = _sides(Path(tmp))
        for warm in sides.values():
            warm(20)
        if n:
            sides[side](n)


def count(side: str, n: int) -> int:
    """User-space instructions of a process that runs ``n`` of ``side`` (valgrind's Ir)."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-m", "benchmarks.instructions", "--run", side, str(n)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {out.stderr[-400:]}")
    return int(found.group(1))


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    p.add_argument("--submits", type=int, default=300)
    p.add_argument("--run", nargs=2, metavar=("SIDE", "N"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.run:
        run_side(a.run[0], int(a.run[1]))
        return 0
    if shutil.which("valgrind") is None:
        p.error("valgrind is not installed (apt-get install valgrind)")
    per: Dict[str, float] = {}
    lines: List[str] = []
    for side in ("lib", "writes"):
        per[side] = (count(side, a.submits) - count(side, 0)) / a.submits
        lines.append(f"{side:>6}: {per[side]:,.0f} instructions per submit")
    print("\n".join(lines))
    print(f" ratio: {per['lib'] / per['writes']:.2f}x (user space only; see the module's note)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
